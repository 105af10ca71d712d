/* hm-pool-private.h — the pools' layout, for the one caller outside
 * hm-pool.c whose every call counts: malloc and free of the sites an applied
 * profile serves from pools (hm-interpose.c).  Everything else goes through
 * hybridmem.h and the functions below.
 */
#pragma once

#include "hm-agent-private.h"

#include <pthread.h>

typedef struct HmPool HmPool;

#define HM_POOL_MAGIC_LIVE   0x4c4f4f50u  /* "POOL" */
#define HM_POOL_MAGIC_FREED  0x44455246u
#define HM_SLAB_MAGIC        0x42414c534d48ull  /* "HMSLAB" */

#define HM_SLAB_GRANULE_SHIFT 16u
#define HM_SLAB_GRANULE      ((size_t) 1 << HM_SLAB_GRANULE_SHIFT)   /* 64 KiB */
#define HM_POOL_CACHE_SLOTS  64u        /* per thread; a power of two */
#define HM_POOL_CACHE_MAX    128u       /* objects a thread keeps per pool, at most */
#define HM_POOL_NAME_BYTES   48u
#define HM_POOL_MAX_OBJECT   ((size_t) 1 << 30)
#define HM_CACHE_EMPTY       UINT64_MAX

typedef struct HmSlab HmSlab;
struct HmSlab {
  uint64_t magic;
  HmPool *pool;
  HmSlab *next;               /* the pool's slabs, or the recycled list */
  size_t slab_bytes;
  uint32_t n_objects;
  uint32_t n_carved;          /* objects [0, n_carved) have been handed to the pool */
  uint8_t out[];              /* per object: 1 while the program has it */
};

/* enable_pooling == 0: what the pool knows of each heap block. */
typedef struct {
  void *block;
  uintptr_t out;              /* 1 out, 0 returned */
} HmPoolBlock;

struct HmPool {
  /* what get and return read, on one line */
  uint64_t cache_id;          /* id while live and slab-backed; 0 otherwise */
  uintptr_t slab_mask;
  uint64_t reciprocal;        /* ceil (2^64 / stride): index = offset * reciprocal >> 64 */
  uint32_t stride;
  uint32_t first_offset;      /* of object 0 in each slab */
  uint32_t cache_max;         /* objects a thread caches */
  uint32_t cache_offset;      /* of its cache in an HmPoolThread */
  uint32_t id;
  uint32_t magic;
  uint8_t pooling;
  uint8_t strategy;
  uint8_t serves_malloc;      /* made by a profile: free() and realloc() take its objects */
  /* the rest under lock */
  pthread_mutex_t lock __attribute__ ((aligned (64)));
  size_t object_size;
  size_t capacity;
  size_t alignment;
  size_t slab_bytes;
  uint32_t objects_per_slab;
  HmSlab *slabs;              /* in order; carving goes front to back */
  HmSlab *slabs_tail;
  HmSlab *carve;              /* the first slab with objects never handed out */
  size_t n_carved;            /* objects handed out of fresh slab space */
  void **free_objects;        /* shared free list (a stack) */
  size_t n_free;
  size_t free_allocated;
  HmPoolBlock *blocks;        /* enable_pooling == 0: open addressing */
  size_t blocks_mask;
  size_t n_blocks;
  size_t n_out;
  HmPool *next_all;
  char name[HM_POOL_NAME_BYTES];
};

typedef struct {
  uint64_t id;                /* the pool's cache_id, or HM_CACHE_EMPTY */
  HmPool *pool;
  uintptr_t known_slab;       /* a slab of the pool, checked in the slab map */
  uint32_t count;
  void *objects[HM_POOL_CACHE_MAX];
} HmPoolCache;

typedef struct HmPoolThread HmPoolThread;
struct HmPoolThread {
  HmPoolCache caches[HM_POOL_CACHE_SLOTS];
  /* see hm-region.c: the first HM_REGION_CACHE_SLOTS are hybridmem.h's
   * (untraced), the next as many the library's own while tracing */
  HmRegionCache regions[2 * HM_REGION_CACHE_SLOTS];
  HmPoolThread *next;         /* registry, push-only */
  int in_use;
};

/* hybridmem.h's inline paths read it under its exported name */
extern __thread HmPoolThread *hm__thread_v1 HM_TLS;
#define hm_pool_thread hm__thread_v1

/* address >> 32 -> 65536 slab pointers, one per 64 KiB (user space is 47 bits) */
#define HM_SLAB_MAP_TOP (1u << 15)
extern HmSlab **hm_pool_slab_map[HM_SLAB_MAP_TOP] HM_HIDDEN;

static inline HmSlab *
hm_pool_slab_lookup (uintptr_t address)
{
  if (HM_UNLIKELY ((address >> 47) != 0))
    return NULL;
  HmSlab **leaf = __atomic_load_n (&hm_pool_slab_map[address >> 32], __ATOMIC_ACQUIRE);
  if (HM_UNLIKELY (leaf == NULL))
    return NULL;
  return __atomic_load_n (&leaf[(address >> HM_SLAB_GRANULE_SHIFT) & 0xffff], __ATOMIC_ACQUIRE);
}

void *hm_pool_malloc_get (HmPool *pool) HM_HIDDEN;
/* What the inline get does when the thread's cache is empty or not this pool's. */
void *hm_pool_malloc_get_slow (HmPool *pool) HM_HIDDEN;
void hm_pool_malloc_return (HmPool *pool, void *object) HM_HIDDEN;

/* The fast paths of the two above: the thread's cache, nothing else. */
static inline void *
hm_pool_malloc_get_inline (HmPool *pool)
{
  HmPoolThread *t = hm_pool_thread;
  if (HM_LIKELY (t != NULL))
    {
      HmPoolCache *c = &t->caches[pool->cache_id & (HM_POOL_CACHE_SLOTS - 1)];
      uint32_t count = c->count;
      if (HM_LIKELY (c->id == pool->cache_id && count != 0))
        {
          __atomic_store_n (&c->count, count - 1, __ATOMIC_RELAXED);
          return c->objects[count - 1];
        }
    }
  return hm_pool_malloc_get_slow (pool);
}

/* free() while a profile's pools serve malloc: true when p was one of their
 * objects and is back in its pool. */
static inline bool
hm_pool_malloc_free_inline (void *p)
{
  HmSlab *s = hm_pool_slab_lookup ((uintptr_t) p);
  if (HM_LIKELY (s == NULL))
    return false;
  HmPool *pool = s->pool;
  if (pool == NULL || !pool->serves_malloc)
    return false;
  HmPoolThread *t = hm_pool_thread;
  if (HM_LIKELY (t != NULL))
    {
      HmPoolCache *c = &t->caches[pool->cache_id & (HM_POOL_CACHE_SLOTS - 1)];
      uint32_t count = c->count;
      if (HM_LIKELY (c->id == pool->cache_id && count < pool->cache_max))
        {
          c->objects[count] = p;
          __atomic_store_n (&c->count, count + 1, __ATOMIC_RELAXED);
          return true;
        }
    }
  hm_pool_malloc_return (pool, p);
  return true;
}
