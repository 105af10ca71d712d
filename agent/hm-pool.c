/* hm-pool.c — pools: fixed-size objects of one type, on free-list slabs.
 *
 * Objects live in slabs: mappings aligned to their own size (64 KiB, more
 * for big objects) whose header records the pool and, one byte per object,
 * whether the object is out with the program.  That byte makes a double
 * return exact; a global map from each 64 KiB of address space to its slab
 * tells a pool object from any other pointer without reading memory that may
 * not be mapped, so a return to the wrong pool, or of a pointer that is not a
 * pool object at all, is a warning and never a fault.
 *
 * Each thread keeps a small cache of free objects per pool (up to 128), so get
 * and return touch only that cache, the object's slab byte and, when
 * tracing, the thread's event ring; the pool's shared free list and its mutex
 * are used a batch at a time.  capacity objects are mapped at creation; the
 * pool grows by whole slabs after that.
 *
 * With enable_pooling == 0 every object is a __libc_malloc block, still
 * tracked so that wrong and double returns are caught.  Pool headers, like
 * region headers, are never reused, so a freed pool stays recognisable.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hm-pool-private.h"
#include "hm-profile-private.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

/* The calling thread's caches, of pools and of regions.  Exported, with the
 * layout in its name: the inline fast paths of hybridmem.h read it (see
 * there); hm-pool-private.h calls it hm_pool_thread. */
HM_EXPORT __thread HmPoolThread *hm__thread_v1 HM_TLS;

static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;     /* pool headers */
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;     /* slab map, recycled slabs */
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER; /* thread caches */
static HmPool *all_pools;
static uint8_t *header_cur, *header_end;
static uint32_t last_pool_id;
static HmPoolThread *all_threads;
static HmSlab *recycled_slabs;  /* 64 KiB slabs of freed pools, header cleared */
static pthread_key_t thread_key;

/* address >> 32 -> 65536 slab pointers, one per 64 KiB (user space is 47 bits) */
HmSlab **hm_pool_slab_map[HM_SLAB_MAP_TOP];

static void *
map_bytes (size_t bytes)
{
  void *p = mmap (NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

#define slab_lookup hm_pool_slab_lookup

/* Under map_lock.  slab NULL: unregister. */
static bool
slab_map_set (uintptr_t start, size_t bytes, HmSlab *slab)
{
  for (uintptr_t a = start; a < start + bytes; a += HM_SLAB_GRANULE)
    {
      HmSlab **leaf = hm_pool_slab_map[a >> 32];
      if (leaf == NULL)
        {
          if (slab == NULL)
            continue;
          leaf = map_bytes (sizeof (HmSlab *) << 16);
          if (leaf == NULL)
            return false;
          __atomic_store_n (&hm_pool_slab_map[a >> 32], leaf, __ATOMIC_RELEASE);
        }
      __atomic_store_n (&leaf[(a >> HM_SLAB_GRANULE_SHIFT) & 0xffff], slab, __ATOMIC_RELEASE);
    }
  return true;
}

static inline size_t
object_index (const HmPool *pool, const HmSlab *slab, uintptr_t address)
{
  uint64_t offset = address - (uintptr_t) slab - pool->first_offset;
  return (size_t) (((unsigned __int128) offset * pool->reciprocal) >> 64);
}

/* hybridmem.h's inline hm_pool_get and hm_pool_return read these fields. */
_Static_assert (offsetof (HmPool, cache_id) == offsetof (struct hm__pool_v1, cache_id)
                && offsetof (HmPool, slab_mask) == offsetof (struct hm__pool_v1, slab_mask)
                && offsetof (HmPool, reciprocal) == offsetof (struct hm__pool_v1, reciprocal)
                && offsetof (HmPool, stride) == offsetof (struct hm__pool_v1, stride)
                && offsetof (HmPool, first_offset) == offsetof (struct hm__pool_v1, first_offset)
                && offsetof (HmPool, cache_max) == offsetof (struct hm__pool_v1, cache_max)
                && offsetof (HmPool, cache_offset) == offsetof (struct hm__pool_v1, cache_offset)
                && offsetof (HmSlab, n_carved) == offsetof (struct hm__slab_v1, n_carved)
                && offsetof (HmSlab, out) == offsetof (struct hm__slab_v1, out)
                && offsetof (HmPoolCache, id) == offsetof (struct hm__pool_cache_v1, id)
                && offsetof (HmPoolCache, known_slab)
                   == offsetof (struct hm__pool_cache_v1, known_slab)
                && offsetof (HmPoolCache, count) == offsetof (struct hm__pool_cache_v1, count)
                && offsetof (HmPoolCache, objects) == offsetof (struct hm__pool_cache_v1, objects)
                && sizeof (HmPoolCache) == sizeof (struct hm__pool_cache_v1)
                && offsetof (HmPoolThread, caches) == offsetof (struct hm__thread_v1, pools)
                && offsetof (HmPoolThread, regions) == offsetof (struct hm__thread_v1, regions)
                && sizeof (HmRegionCache) == sizeof (struct hm__region_cache_v1)
                && offsetof (HmRegionCache, cur) == offsetof (struct hm__region_cache_v1, cur)
                && offsetof (HmRegionCache, end) == offsetof (struct hm__region_cache_v1, end)
                && offsetof (HmRegionCache, epoch) == offsetof (struct hm__region_cache_v1, epoch)
                && HM_REGION_CACHE_SLOTS == HM__REGION_CACHE_SLOTS_V1
                && HM_POOL_CACHE_SLOTS == HM__POOL_CACHE_SLOTS_V1
                && HM_POOL_CACHE_MAX == HM__POOL_CACHE_MAX_V1,
                "the inline fast paths' view of a pool");

/* --- fork and threads -------------------------------------------------------- */

static void flush_cache (HmPoolCache *cache);

static void
fork_prepare (void)
{
  pthread_mutex_lock (&all_lock);
  for (HmPool *p = all_pools; p != NULL; p = p->next_all)
    pthread_mutex_lock (&p->lock);
  pthread_mutex_lock (&map_lock);
  pthread_mutex_lock (&threads_lock);
}

static void
fork_parent (void)
{
  pthread_mutex_unlock (&threads_lock);
  pthread_mutex_unlock (&map_lock);
  for (HmPool *p = all_pools; p != NULL; p = p->next_all)
    pthread_mutex_unlock (&p->lock);
  pthread_mutex_unlock (&all_lock);
}

/* Only the forking thread goes on in the child: the objects the other
 * threads had cached go back to their pools. */
static void
fork_child (void)
{
  fork_parent ();
  for (HmPoolThread *t = all_threads; t != NULL; t = t->next)
    if (t->in_use && t != hm_pool_thread)
      {
        for (uint32_t i = 0; i < HM_POOL_CACHE_SLOTS; i++)
          flush_cache (&t->caches[i]);
        for (uint32_t i = 0; i < 2 * HM_REGION_CACHE_SLOTS; i++)
          hm_region_abandon_piece (&t->regions[i]);
        t->in_use = 0;
      }
}

static void
thread_exited (void *data)
{
  HmPoolThread *t = data;
  if (t == NULL)
    return;
  for (uint32_t i = 0; i < HM_POOL_CACHE_SLOTS; i++)
    flush_cache (&t->caches[i]);
  /* what is left of its region pieces is lost until the region's reset */
  for (uint32_t i = 0; i < 2 * HM_REGION_CACHE_SLOTS; i++)
    hm_region_abandon_piece (&t->regions[i]);
  hm_pool_thread = NULL;
  __atomic_store_n (&t->in_use, 0, __ATOMIC_RELEASE);
}

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int have_thread_key;

static void
setup (void)
{
  hm_guard++;
  pthread_atfork (fork_prepare, fork_parent, fork_child);
  have_thread_key = pthread_key_create (&thread_key, thread_exited) == 0;
  hm_guard--;
}

/* The calling thread's caches, made (or taken over from a thread that
 * ended) on first use; NULL if there is no memory for them. */
static HmPoolThread *
thread_caches (void)
{
  HmPoolThread *t = hm_pool_thread;

  if (HM_LIKELY (t != NULL))
    return t;
  pthread_once (&setup_once, setup);
  pthread_mutex_lock (&threads_lock);
  for (t = all_threads; t != NULL; t = t->next)
    if (!t->in_use)
      break;
  if (t == NULL)
    {
      t = map_bytes (sizeof *t);
      if (t != NULL)
        {
          for (uint32_t i = 0; i < HM_POOL_CACHE_SLOTS; i++)
            t->caches[i].id = HM_CACHE_EMPTY;
          t->next = all_threads;
          all_threads = t;
        }
    }
  if (t != NULL)
    t->in_use = 1;
  pthread_mutex_unlock (&threads_lock);
  if (t == NULL)
    return NULL;
  if (have_thread_key)
    {
      hm_guard++;
      pthread_setspecific (thread_key, t);
      hm_guard--;
    }
  hm_pool_thread = t;
  return t;
}

HmRegionCache *
hm_region_cache_slot (uint32_t id, bool traced)
{
  HmPoolThread *t = thread_caches ();
  return t != NULL ? &t->regions[(traced ? HM_REGION_CACHE_SLOTS : 0)
                                 + (id & (HM_REGION_CACHE_SLOTS - 1))]
                   : NULL;
}

size_t
hm_region_cached_unused (const void *region, uint32_t epoch)
{
  size_t unused = 0;

  pthread_mutex_lock (&threads_lock);
  for (HmPoolThread *t = all_threads; t != NULL; t = t->next)
    for (uint32_t i = 0; i < 2 * HM_REGION_CACHE_SLOTS; i++)
      {
        const HmRegionCache *c = &t->regions[i];
        if (__atomic_load_n (&c->region, __ATOMIC_RELAXED) == region
            && __atomic_load_n (&c->epoch, __ATOMIC_RELAXED) == epoch)
          {
            uint8_t *cur = __atomic_load_n (&c->cur, __ATOMIC_RELAXED);
            uint8_t *end = __atomic_load_n (&c->end, __ATOMIC_RELAXED);
            if (cur < end)
              unused += (size_t) (end - cur);
          }
      }
  pthread_mutex_unlock (&threads_lock);
  return unused;
}

void
hm_region_caches_forget (void)
{
  pthread_mutex_lock (&threads_lock);
  for (HmPoolThread *t = all_threads; t != NULL; t = t->next)
    for (uint32_t i = 0; i < HM_REGION_CACHE_SLOTS; i++)
      {
        HmRegionCache *c = &t->regions[i];
        const void *holder = __atomic_load_n (&c->region, __ATOMIC_RELAXED);
        if (holder == NULL)
          continue;
        /* The owner may bump one more object off the piece meanwhile (it
         * was untraced, like everything before the attach); the rest counts
         * as abandoned, as when the owner lets go itself. */
        __atomic_store_n (&c->region, NULL, __ATOMIC_RELEASE);
        uint8_t *cur = __atomic_load_n (&c->cur, __ATOMIC_RELAXED);
        uint8_t *end = __atomic_load_n (&c->end, __ATOMIC_RELAXED);
        hm_region_note_abandoned (holder, c->epoch, cur < end ? (size_t) (end - cur) : 0);
      }
  pthread_mutex_unlock (&threads_lock);
}

/* --- headers that are never reused ------------------------------------------- */

static HmPool *
new_header (void)
{
  HmPool *p = NULL;

  pthread_once (&setup_once, setup);
  pthread_mutex_lock (&all_lock);
  if (header_cur == NULL || header_cur + sizeof (HmPool) > header_end)
    {
      uint8_t *slab = map_bytes (64u * 1024u);
      if (slab != NULL)
        {
          header_cur = slab;
          header_end = slab + 64u * 1024u;
        }
    }
  if (header_cur != NULL && header_cur + sizeof (HmPool) <= header_end)
    {
      p = (HmPool *) header_cur;
      header_cur += (sizeof (HmPool) + 63u) & ~(size_t) 63u;
      pthread_mutex_init (&p->lock, NULL);
      p->next_all = all_pools;
      all_pools = p;
    }
  pthread_mutex_unlock (&all_lock);
  return p;
}

/* An attach: the trace starts after the pools were made, so their names
 * are said again. */
void
hm_pool_name_live_ones (void)
{
  pthread_mutex_lock (&all_lock);
  for (HmPool *p = all_pools; p != NULL; p = p->next_all)
    if (__atomic_load_n (&p->magic, __ATOMIC_ACQUIRE) == HM_POOL_MAGIC_LIVE)
      hm_trace_name_object (HM_OBJECT_POOL, p->id, p->name);
  pthread_mutex_unlock (&all_lock);
}

/* --- slabs ------------------------------------------------------------------- */

static void
slab_init (HmPool *pool, HmSlab *s)
{
  memset (s, 0, offsetof (HmSlab, out) + pool->objects_per_slab);
  s->pool = pool;
  s->slab_bytes = pool->slab_bytes;
  s->n_objects = pool->objects_per_slab;
  s->magic = HM_SLAB_MAGIC;
}

/* Maps n slabs of pool->slab_bytes, each aligned to its size, and links
 * them to the pool.  Under pool->lock.  Returns how many it added. */
static size_t
add_slabs (HmPool *pool, size_t n)
{
  size_t bytes = pool->slab_bytes, added = 0;
  HmSlab *got[64];
  size_t n_got = 0;

  if (n > 64)
    n = 64;
  pthread_mutex_lock (&map_lock);
  /* slabs of freed pools first: their addresses are already in the map's range */
  while (n_got < n && bytes == HM_SLAB_GRANULE && recycled_slabs != NULL)
    {
      got[n_got++] = recycled_slabs;
      recycled_slabs = recycled_slabs->next;
    }
  if (n_got < n)
    {
      size_t want = (n - n_got) * bytes;
      uint8_t *raw = map_bytes (want + bytes);
      if (raw != NULL)
        {
          uintptr_t start = ((uintptr_t) raw + bytes - 1) & ~(uintptr_t) (bytes - 1);
          if (start > (uintptr_t) raw)
            munmap (raw, start - (uintptr_t) raw);
          if ((uintptr_t) raw + want + bytes > start + want)
            munmap ((void *) (start + want), (uintptr_t) raw + want + bytes - (start + want));
          for (size_t i = 0; n_got < n; i++)
            got[n_got++] = (HmSlab *) (start + i * bytes);
        }
    }
  for (size_t i = 0; i < n_got; i++)
    {
      HmSlab *s = got[i];
      slab_init (pool, s);
      if (!slab_map_set ((uintptr_t) s, bytes, s))
        {
          slab_map_set ((uintptr_t) s, bytes, NULL);
          munmap (s, bytes);
          continue;
        }
      if (pool->slabs_tail != NULL)
        pool->slabs_tail->next = s;
      else
        pool->slabs = s;
      pool->slabs_tail = s;
      if (pool->carve == NULL)
        pool->carve = s;
      added++;
    }
  pthread_mutex_unlock (&map_lock);
  return added;
}

/* Under pool->lock: the slabs leave the map, and their memory goes back. */
static void
release_slabs (HmPool *pool)
{
  HmSlab *s, *next;

  pthread_mutex_lock (&map_lock);
  for (s = pool->slabs; s != NULL; s = next)
    {
      next = s->next;
      slab_map_set ((uintptr_t) s, s->slab_bytes, NULL);
      s->magic = 0;
      s->pool = NULL;
      if (s->slab_bytes == HM_SLAB_GRANULE)
        {
          /* Kept mapped: a thread that looked the address up just before
           * can still read the (cleared) header without faulting. */
          size_t page = 4096;
          if (pool->strategy == HM_STRATEGY_MINIMIZE_MEMORY
              || madvise ((uint8_t *) s + page, s->slab_bytes - page, MADV_FREE) != 0)
            madvise ((uint8_t *) s + page, s->slab_bytes - page, MADV_DONTNEED);
          s->next = recycled_slabs;
          recycled_slabs = s;
        }
      else
        munmap (s, s->slab_bytes);
    }
  pool->slabs = pool->slabs_tail = pool->carve = NULL;
  pthread_mutex_unlock (&map_lock);
}

/* --- the shared free list ------------------------------------------------------ */

/* Under pool->lock: up to n free objects into out; grows the pool if it has
 * none.  Returns how many. */
static uint32_t
take_free (HmPool *pool, void **out, uint32_t n)
{
  uint32_t got = 0;

  while (got < n && pool->n_free > 0)
    out[got++] = pool->free_objects[--pool->n_free];
  while (got < n)
    {
      HmSlab *s = pool->carve;
      while (s != NULL && s->n_carved == s->n_objects)
        s = s->next;
      pool->carve = s;
      if (s == NULL)
        {
          if (add_slabs (pool, 1) == 0)
            break;
          continue;
        }
      while (got < n && s->n_carved < s->n_objects)
        {
          out[got++] = (uint8_t *) s + pool->first_offset + (size_t) s->n_carved * pool->stride;
          /* read without the lock by returns, to tell an object from a never-used slot */
          __atomic_store_n (&s->n_carved, s->n_carved + 1, __ATOMIC_RELAXED);
          pool->n_carved++;
        }
    }
  return got;
}

/* Under pool->lock. */
static void
put_free (HmPool *pool, void *const *objects, uint32_t n)
{
  if (pool->n_free + n > pool->free_allocated)
    {
      size_t want = pool->free_allocated ? pool->free_allocated : 256;
      while (want < pool->n_free + n)
        want *= 2;
      hm_guard++;
      void **grown = __libc_realloc (pool->free_objects, want * sizeof *grown);
      hm_guard--;
      if (grown == NULL)
        return;   /* lost to the pool; never to the program */
      pool->free_objects = grown;
      pool->free_allocated = want;
    }
  memcpy (pool->free_objects + pool->n_free, objects, n * sizeof *objects);
  pool->n_free += n;
}

/* Gives a cache's objects back to its pool, unless the pool was freed since
 * (then its slabs are gone and the objects with them). */
static void
flush_cache (HmPoolCache *cache)
{
  HmPool *pool = cache->pool;

  if (pool != NULL && cache->count > 0)
    {
      pthread_mutex_lock (&pool->lock);
      if (pool->cache_id == cache->id)
        put_free (pool, cache->objects, cache->count);
      pthread_mutex_unlock (&pool->lock);
    }
  __atomic_store_n (&cache->count, 0, __ATOMIC_RELAXED);
  __atomic_store_n (&cache->id, HM_CACHE_EMPTY, __ATOMIC_RELAXED);
  cache->pool = NULL;
  cache->known_slab = 0;
}

/* The calling thread's cache for pool, claimed for it if another pool had
 * the slot. */
static HmPoolCache *
cache_for (HmPoolThread *t, HmPool *pool)
{
  HmPoolCache *c = &t->caches[pool->cache_id & (HM_POOL_CACHE_SLOTS - 1)];
  if (c->id != pool->cache_id)
    {
      flush_cache (c);
      c->pool = pool;
      __atomic_store_n (&c->id, pool->cache_id, __ATOMIC_RELAXED);
    }
  return c;
}

/* An object back into the calling thread's cache (into the pool when the
 * thread has no caches); a full cache first gives its older half to the
 * pool, the recently returned stay warm here. */
static void
cache_push (HmPool *pool, void *object)
{
  HmPoolThread *t = thread_caches ();
  if (t == NULL)
    {
      pthread_mutex_lock (&pool->lock);
      put_free (pool, &object, 1);
      pthread_mutex_unlock (&pool->lock);
      return;
    }
  HmPoolCache *c = cache_for (t, pool);
  if (c->count >= pool->cache_max)
    {
      uint32_t half = c->count / 2;
      pthread_mutex_lock (&pool->lock);
      put_free (pool, c->objects, half);
      pthread_mutex_unlock (&pool->lock);
      memmove (c->objects, c->objects + half, (c->count - half) * sizeof (void *));
      c->count -= half;
    }
  c->objects[c->count] = object;
  __atomic_store_n (&c->count, c->count + 1, __ATOMIC_RELAXED);
}

/* --- events and misuse ------------------------------------------------------------ */

/* Returns object, so that a fast path can end in a tail call. */
static __attribute__ ((noinline, cold)) void *
record_object (uint8_t kind, const HmPool *pool, void *object)
{
  if (hm_guard != 0)
    return object;
  hm_guard++;
  hm_emit_object (kind, pool->id, (uintptr_t) object, 0);
  hm_guard--;
  return object;
}

static bool
is_live (const HmPool *pool)
{
  return pool != NULL && __atomic_load_n (&pool->magic, __ATOMIC_ACQUIRE) == HM_POOL_MAGIC_LIVE;
}

/* A NULL or freed pool: warns.  A get is served from the heap (never freed:
 * the pool is gone) so that the program can go on; anything else is ignored. */
static void *
misuse (const HmPool *pool, const char *function, const void *object, bool serve)
{
  void *p = NULL;

  if (pool == NULL)
    {
      hm_warn (HM_WARNING_POOL_WRONG_POOL, object, 0, 0, "%s: the pool is NULL", function);
      return NULL;
    }
  if (serve)
    {
      hm_warn (HM_WARNING_POOL_USE_AFTER_FREE, NULL, pool->object_size, pool->id,
               "%s: pool '%s' (id %llu) was freed; object served from the heap instead",
               function, pool->name, (unsigned long long) pool->id);
      hm_guard++;
      p = __libc_malloc (pool->object_size ? pool->object_size : 1);
      hm_guard--;
    }
  else if (object != NULL)
    hm_warn (HM_WARNING_POOL_USE_AFTER_FREE, object, pool->object_size, pool->id,
             "%s: pool '%s' (id %llu) was freed; %p ignored", function, pool->name,
             (unsigned long long) pool->id, object);
  else
    hm_warn (HM_WARNING_POOL_USE_AFTER_FREE, NULL, 0, pool->id,
             "%s: pool '%s' (id %llu) was freed; call ignored", function, pool->name,
             (unsigned long long) pool->id);
  return p;
}

/* --- creation ------------------------------------------------------------------- */

static size_t
next_power_of_two (size_t n)
{
  size_t p = 1;
  while (p < n)
    p *= 2;
  return p;
}

HmPool *
hm_pool_new (const char *type_name, size_t object_size, size_t capacity)
{
  const HmOptions *options = hm_manager_options ();
  bool tracing = hm_tracing_here ();
  uint32_t stack = 0;
  size_t alignment, stride, header, slab_bytes, n;
  HmPool *pool;

  if (object_size > HM_POOL_MAX_OBJECT)
    {
      errno = ENOMEM;
      return NULL;
    }
  if (tracing)
    {
      hm_guard++;
      stack = hm_stack_capture ();
      hm_guard--;
    }
  pool = new_header ();
  if (pool == NULL)
    {
      errno = ENOMEM;
      return NULL;
    }

  alignment = object_size >= 16 ? 16 : object_size <= 8 ? 8 : next_power_of_two (object_size);
  stride = (object_size + alignment - 1) & ~(alignment - 1);
  if (stride < 8)
    stride = 8;
  header = offsetof (HmSlab, out);
  if (stride <= 4096)
    slab_bytes = HM_SLAB_GRANULE;
  else
    {
      size_t per_slab = stride > ((size_t) 1 << 20) ? 1 : capacity < 1 ? 1 : capacity > 8 ? 8 : capacity;
      slab_bytes = next_power_of_two (header + 64 + per_slab * stride);
      if (slab_bytes < HM_SLAB_GRANULE)
        slab_bytes = HM_SLAB_GRANULE;
    }
  n = (slab_bytes - header) / (stride + 1);
  while (n > 0 && ((header + n + alignment - 1) & ~(alignment - 1)) + n * stride > slab_bytes)
    n--;

  pool->id = __atomic_add_fetch (&last_pool_id, 1, __ATOMIC_RELAXED);
  pool->object_size = object_size;
  pool->capacity = capacity;
  pool->alignment = alignment;
  pool->stride = (uint32_t) stride;
  pool->reciprocal = UINT64_MAX / stride + 1;
  pool->slab_bytes = slab_bytes;
  pool->slab_mask = ~(uintptr_t) (slab_bytes - 1);
  pool->objects_per_slab = (uint32_t) n;
  pool->first_offset = (uint32_t) ((header + n + alignment - 1) & ~(alignment - 1));
  /* a thread holds at most 256 KiB of free objects per pool */
  pool->cache_max = (uint32_t) (stride <= (256u * 1024u) / HM_POOL_CACHE_MAX ? HM_POOL_CACHE_MAX
                                : stride >= 128u * 1024u ? 2 : (256u * 1024u) / stride);
  pool->pooling = options->enable_pooling != 0;
  pool->strategy = (uint8_t) options->strategy;
  if (type_name != NULL && type_name[0] != '\0')
    memcpy (pool->name, type_name, strnlen (type_name, HM_POOL_NAME_BYTES - 1));
  else
    memcpy (pool->name, "(unnamed)", sizeof "(unnamed)");

  if (pool->pooling && capacity > 0)
    {
      size_t slabs = capacity / n + (capacity % n != 0);
      pthread_mutex_lock (&pool->lock);
      while (slabs > 0)
        {
          size_t added = add_slabs (pool, slabs);
          if (added == 0)
            break;   /* reserved what we could; the rest comes on demand */
          slabs -= added;
        }
      pthread_mutex_unlock (&pool->lock);
    }
  __atomic_store_n (&pool->magic, HM_POOL_MAGIC_LIVE, __ATOMIC_RELEASE);
  pool->cache_offset = (uint32_t) offsetof (HmPoolThread, caches[pool->id & (HM_POOL_CACHE_SLOTS - 1)]);
  __atomic_store_n (&pool->cache_id, pool->pooling ? pool->id : 0, __ATOMIC_RELEASE);

  if (tracing)
    {
      hm_guard++;
      hm_emit_ids (HM_EV_POOL_CREATE, pool->id, object_size, capacity, stack);
      hm_guard--;
      hm_trace_name_object (HM_OBJECT_POOL, pool->id,
                            type_name != NULL && type_name[0] != '\0' ? type_name : pool->name);
    }
  return pool;
}

/* --- enable_pooling == 0: heap blocks ------------------------------------------------ */

/* Under pool->lock.  The slot of block, or the empty slot where it goes. */
static HmPoolBlock *
block_slot (HmPool *pool, const void *block)
{
  size_t i = ((uintptr_t) block >> 4) * 0x9e3779b97f4a7c15ull >> 29;
  for (;; i++)
    {
      HmPoolBlock *b = &pool->blocks[i & pool->blocks_mask];
      if (b->block == block || b->block == NULL)
        return b;
    }
}

/* Under pool->lock: room for one more block.  Returned blocks are forgotten
 * when they outnumber the ones out (their addresses are the heap's again). */
static bool
blocks_reserve (HmPool *pool)
{
  size_t size = pool->blocks ? pool->blocks_mask + 1 : 0;
  if (pool->n_blocks + 1 <= size / 2)
    return true;
  size_t want = 64;
  bool drop_returned = pool->n_blocks - pool->n_out > pool->n_out + 1024;
  size_t keep = drop_returned ? pool->n_out : pool->n_blocks;
  while (want < 4 * (keep + 1))
    want *= 2;
  hm_guard++;
  HmPoolBlock *grown = __libc_calloc (want, sizeof *grown);
  hm_guard--;
  if (grown == NULL)
    return false;
  HmPoolBlock *old = pool->blocks;
  pool->blocks = grown;
  pool->blocks_mask = want - 1;
  pool->n_blocks = 0;
  for (size_t i = 0; i < size; i++)
    if (old[i].block != NULL && (old[i].out || !drop_returned))
      {
        *block_slot (pool, old[i].block) = old[i];
        pool->n_blocks++;
      }
  hm_guard++;
  __libc_free (old);
  hm_guard--;
  return true;
}

static void *
get_block (HmPool *pool)
{
  void *p;

  hm_guard++;
  p = __libc_malloc (pool->object_size ? pool->object_size : 1);
  hm_guard--;
  if (p == NULL)
    return NULL;
  pthread_mutex_lock (&pool->lock);
  if (!blocks_reserve (pool))
    {
      pthread_mutex_unlock (&pool->lock);
      hm_guard++;
      __libc_free (p);
      hm_guard--;
      return NULL;
    }
  HmPoolBlock *b = block_slot (pool, p);
  if (b->block == NULL)
    pool->n_blocks++;
  b->block = p;
  b->out = 1;
  pool->n_out++;
  pthread_mutex_unlock (&pool->lock);
  return p;
}

/* --- get and return ------------------------------------------------------------------ */

static __attribute__ ((noinline)) void *
get_slow (HmPool *pool)
{
  HmPoolThread *t;
  HmPoolCache *c;
  void *object;

  if (HM_UNLIKELY (!is_live (pool)))
    return misuse (pool, "hm_pool_get", NULL, true);
  if (!pool->pooling)
    object = get_block (pool);
  else if ((t = thread_caches ()) != NULL)
    {
      c = cache_for (t, pool);
      if (c->count == 0)
        {
          pthread_mutex_lock (&pool->lock);
          c->count = take_free (pool, c->objects, (pool->cache_max + 1) / 2);
          pthread_mutex_unlock (&pool->lock);
          if (c->count == 0)
            return NULL;
        }
      object = c->objects[--c->count];
    }
  else
    {
      /* no memory for a cache: straight from the shared list */
      pthread_mutex_lock (&pool->lock);
      uint32_t got = take_free (pool, &object, 1);
      pthread_mutex_unlock (&pool->lock);
      if (got == 0)
        return NULL;
    }
  if (object == NULL)
    return NULL;
  if (pool->pooling)
    {
      HmSlab *s = (HmSlab *) ((uintptr_t) object & pool->slab_mask);
      s->out[object_index (pool, s, (uintptr_t) object)] = 1;
    }
  if (HM_UNLIKELY (hm_agent.tracing))
    record_object (HM_EV_POOL_GET, pool, object);
  return object;
}

void *
hm_pool_get (HmPool *pool)
{
  HmPoolThread *t = hm_pool_thread;

  if (HM_LIKELY (t != NULL && pool != NULL))
    {
      uint64_t id = pool->cache_id;
      HmPoolCache *c = &t->caches[id & (HM_POOL_CACHE_SLOTS - 1)];
      uint32_t count = c->count;
      if (HM_LIKELY (c->id == id && count != 0))
        {
          void *object = c->objects[count - 1];
          __atomic_store_n (&c->count, count - 1, __ATOMIC_RELAXED);
          HmSlab *s = (HmSlab *) ((uintptr_t) object & pool->slab_mask);
          s->out[object_index (pool, s, (uintptr_t) object)] = 1;
          if (HM_UNLIKELY (hm_agent.tracing)
              && !hm_emit_object_leaf (HM_EV_POOL_GET, pool->id, (uintptr_t) object, 0))
            return record_object (HM_EV_POOL_GET, pool, object);
          return object;
        }
    }
  return get_slow (pool);
}

/* enable_pooling == 0. */
static void
return_block (HmPool *pool, void *object)
{
  pthread_mutex_lock (&pool->lock);
  HmPoolBlock *b = pool->blocks != NULL ? block_slot (pool, object) : NULL;
  int state = b != NULL && b->block == object ? (int) b->out : -1;
  if (state == 1)
    {
      b->out = 0;
      pool->n_out--;
    }
  pthread_mutex_unlock (&pool->lock);
  if (state == 1)
    {
      if (HM_UNLIKELY (hm_agent.tracing))
        record_object (HM_EV_POOL_RETURN, pool, object);
      hm_guard++;
      __libc_free (object);
      hm_guard--;
    }
  else if (state == 0)
    hm_warn (HM_WARNING_POOL_DOUBLE_RETURN, object, pool->object_size, pool->id,
             "hm_pool_return: %p was already returned to pool '%s' (id %llu); ignored", object,
             pool->name, (unsigned long long) pool->id);
  else
    hm_warn (HM_WARNING_POOL_WRONG_POOL, object, pool->object_size, pool->id,
             "hm_pool_return: %p did not come from pool '%s' (id %llu); ignored", object,
             pool->name, (unsigned long long) pool->id);
}

static __attribute__ ((noinline)) void
return_slow (HmPool *pool, void *object)
{
  uintptr_t a = (uintptr_t) object;
  HmSlab *s;
  size_t i;

  if (object == NULL)
    return;
  if (HM_UNLIKELY (!is_live (pool)))
    {
      misuse (pool, "hm_pool_return", object, false);
      return;
    }
  if (!pool->pooling)
    {
      return_block (pool, object);
      return;
    }
  s = slab_lookup (a);
  if (s == NULL || s->pool != pool)
    {
      HmPool *other = s != NULL ? s->pool : NULL;
      if (other != NULL)
        hm_warn (HM_WARNING_POOL_WRONG_POOL, object, pool->object_size, pool->id,
                 "hm_pool_return: %p came from pool '%s', not pool '%s' (id %llu); ignored",
                 object, other->name, pool->name, (unsigned long long) pool->id);
      else
        hm_warn (HM_WARNING_POOL_WRONG_POOL, object, pool->object_size, pool->id,
                 "hm_pool_return: %p is not from any pool, returned to pool '%s' (id %llu); "
                 "ignored", object, pool->name, (unsigned long long) pool->id);
      return;
    }
  i = object_index (pool, s, a);
  if (i >= __atomic_load_n (&s->n_carved, __ATOMIC_RELAXED)
      || (uintptr_t) s + pool->first_offset + i * pool->stride != a)
    {
      hm_warn (HM_WARNING_POOL_WRONG_POOL, object, pool->object_size, pool->id,
               "hm_pool_return: %p is inside pool '%s' (id %llu) but not an object it gave "
               "out; ignored", object, pool->name, (unsigned long long) pool->id);
      return;
    }
  if (__atomic_exchange_n (&s->out[i], 0, __ATOMIC_RELAXED) != 1)
    {
      hm_warn (HM_WARNING_POOL_DOUBLE_RETURN, object, pool->object_size, pool->id,
               "hm_pool_return: %p was already returned to pool '%s' (id %llu); ignored",
               object, pool->name, (unsigned long long) pool->id);
      return;
    }
  /* The event goes first: once in a free list, another thread may get the
   * object and log that. */
  if (HM_UNLIKELY (hm_agent.tracing))
    record_object (HM_EV_POOL_RETURN, pool, object);

  cache_push (pool, object);
}

/* The end of the fast path when tracing: the event goes first, as once the
 * object is free another thread may get it and log that. */
static __attribute__ ((noinline, cold)) void
return_traced (HmPool *pool, void *object, HmPoolCache *c, uint8_t *out)
{
  record_object (HM_EV_POOL_RETURN, pool, object);
  *out = 0;
  c->objects[c->count] = object;
  __atomic_store_n (&c->count, c->count + 1, __ATOMIC_RELAXED);
}

void
hm_pool_return (HmPool *pool, void *object)
{
  HmPoolThread *t = hm_pool_thread;
  uintptr_t a = (uintptr_t) object;

  if (HM_LIKELY (t != NULL && pool != NULL))
    {
      uint64_t id = pool->cache_id;
      HmPoolCache *c = &t->caches[id & (HM_POOL_CACHE_SLOTS - 1)];
      uint32_t count = c->count;
      if (HM_LIKELY (c->id == id && count < pool->cache_max))
        {
          /* A slab seen before needs no look-up: a live pool keeps its slabs
           * (and a freed one's id matches no cache). */
          HmSlab *s = (HmSlab *) (a & pool->slab_mask);
          if (HM_UNLIKELY ((uintptr_t) s != c->known_slab))
            {
              s = slab_lookup (a);
              if (s == NULL || s->pool != pool)
                goto slow;
              c->known_slab = (uintptr_t) s;
            }
          size_t i = object_index (pool, s, a);
          uint8_t *out = &s->out[i];
          if (HM_LIKELY (i < __atomic_load_n (&s->n_carved, __ATOMIC_RELAXED)
                         && (uintptr_t) s + pool->first_offset + i * pool->stride == a
                         && *out == 1))
            {
              if (HM_UNLIKELY (hm_agent.tracing)
                  && !hm_emit_object_leaf (HM_EV_POOL_RETURN, pool->id, a, 0))
                {
                  return_traced (pool, object, c, out);
                  return;
                }
              *out = 0;
              c->objects[count] = object;
              __atomic_store_n (&c->count, count + 1, __ATOMIC_RELAXED);
              return;
            }
        }
    }
slow:
  return_slow (pool, object);
}

/* --- the end of a pool, and questions ----------------------------------------------- */

void
hm_pool_free (HmPool *pool)
{
  if (pool == NULL)
    return;
  if (HM_UNLIKELY (!is_live (pool)))
    {
      misuse (pool, "hm_pool_free", NULL, false);
      return;
    }
  /* before the memory can be anyone else's */
  if (hm_tracing_here ())
    {
      hm_guard++;
      hm_emit_ids (HM_EV_POOL_FREE, pool->id, 0, 0, 0);
      hm_guard--;
    }
  pthread_mutex_lock (&pool->lock);
  /* every cache of this pool is stale from here: its id never matches again */
  __atomic_store_n (&pool->cache_id, 0, __ATOMIC_RELEASE);
  __atomic_store_n (&pool->magic, HM_POOL_MAGIC_FREED, __ATOMIC_RELEASE);
  release_slabs (pool);
  hm_guard++;
  if (pool->blocks != NULL)
    {
      for (size_t i = 0; i <= pool->blocks_mask; i++)
        if (pool->blocks[i].block != NULL && pool->blocks[i].out)
          __libc_free (pool->blocks[i].block);
      __libc_free (pool->blocks);
      pool->blocks = NULL;
    }
  __libc_free (pool->free_objects);
  hm_guard--;
  pool->free_objects = NULL;
  pool->n_free = pool->free_allocated = 0;
  pool->n_blocks = pool->n_out = pool->n_carved = 0;
  pthread_mutex_unlock (&pool->lock);
}

size_t
hm_pool_object_size (const HmPool *pool)
{
  return pool != NULL ? pool->object_size : 0;
}

size_t
hm_pool_live_objects (const HmPool *pool)
{
  HmPool *p = (HmPool *) pool;
  size_t live, cached = 0;
  uint64_t id;

  if (!is_live (p))
    return 0;
  pthread_mutex_lock (&p->lock);
  live = p->pooling ? p->n_carved - p->n_free : p->n_out;
  id = p->cache_id;
  pthread_mutex_unlock (&p->lock);
  if (!p->pooling)
    return live;
  pthread_mutex_lock (&threads_lock);
  for (HmPoolThread *t = all_threads; t != NULL; t = t->next)
    {
      const HmPoolCache *c = &t->caches[id & (HM_POOL_CACHE_SLOTS - 1)];
      if (__atomic_load_n (&t->in_use, __ATOMIC_ACQUIRE)
          && __atomic_load_n (&c->id, __ATOMIC_RELAXED) == id)
        cached += __atomic_load_n (&c->count, __ATOMIC_RELAXED);
    }
  pthread_mutex_unlock (&threads_lock);
  return cached > live ? 0 : live - cached;
}

/* A pool that serves a malloc site (hm-profile-apply.c): its objects are
 * freed with free(), so free asks here first.  Two loads from the slab map
 * when p is not a pool object. */
HmPool *
hm_pool_new_for_malloc (const char *name, size_t object_size, size_t capacity)
{
  HmPool *pool = hm_pool_new (name, object_size, capacity);
  if (pool != NULL)
    pool->serves_malloc = 1;
  return pool;
}

/* The objects of a pool that serves malloc travel between threads (a
 * producer's malloc, a consumer's free): get and return touch only the
 * thread's cache, never the slab's per-object byte, whose cache line would
 * go back and forth between the two at every object.  free() has already
 * found the object in the slab map; a double free of such a block is the C
 * library's business no more (see hm-profile-apply.c). */
__attribute__ ((noinline)) void *
hm_pool_malloc_get_slow (HmPool *pool)
{
  HmPoolThread *t = thread_caches ();
  void *object = NULL;

  if (t == NULL)
    {
      pthread_mutex_lock (&pool->lock);
      uint32_t got = take_free (pool, &object, 1);
      pthread_mutex_unlock (&pool->lock);
      return got ? object : NULL;
    }
  HmPoolCache *c = cache_for (t, pool);
  if (c->count == 0)
    {
      pthread_mutex_lock (&pool->lock);
      c->count = take_free (pool, c->objects, (pool->cache_max + 1) / 2);
      pthread_mutex_unlock (&pool->lock);
      if (c->count == 0)
        return NULL;
    }
  return c->objects[--c->count];
}

void *
hm_pool_malloc_get (HmPool *pool)
{
  return hm_pool_malloc_get_inline (pool);
}

static __attribute__ ((noinline)) void
malloc_return_slow (HmPool *pool, void *object)
{
  cache_push (pool, object);
}

void
hm_pool_malloc_return (HmPool *pool, void *object)
{
  HmPoolThread *t = hm_pool_thread;
  if (HM_LIKELY (t != NULL))
    {
      HmPoolCache *c = &t->caches[pool->cache_id & (HM_POOL_CACHE_SLOTS - 1)];
      uint32_t count = c->count;
      if (HM_LIKELY (c->id == pool->cache_id && count < pool->cache_max))
        {
          c->objects[count] = object;
          __atomic_store_n (&c->count, count + 1, __ATOMIC_RELAXED);
          return;
        }
    }
  malloc_return_slow (pool, object);
}

HmPool *
hm_pool_serving_malloc (const void *p)
{
  HmSlab *s = slab_lookup ((uintptr_t) p);
  if (HM_LIKELY (s == NULL))
    return NULL;
  HmPool *pool = s->pool;
  return pool != NULL && pool->serves_malloc ? pool : NULL;
}

/* For lifetime analysis: free() of a pool object is a mismatched free. */
bool
hm_pool_owns (const void *p)
{
  return slab_lookup ((uintptr_t) p) != NULL;
}

/* For lifetime analysis, with the world stopped (no lock: the slab map is
 * cleared before a slab is unmapped): whether a points into an object of a
 * live pool that the program gave back.  Objects never handed out do not
 * count: nothing of the program's can point at them. */
bool
hm_pool_returned_slot (uintptr_t a, uint32_t *pool_id, size_t *object_size)
{
  HmSlab *s = slab_lookup (a);
  if (s == NULL || s->magic != HM_SLAB_MAGIC)
    return false;
  HmPool *pool = s->pool;
  if (pool == NULL || pool->magic != HM_POOL_MAGIC_LIVE
      || a < (uintptr_t) s + pool->first_offset)
    return false;
  size_t i = object_index (pool, s, a);
  if (i >= s->n_carved || i >= s->n_objects
      || a - ((uintptr_t) s + pool->first_offset + i * pool->stride) >= pool->object_size)
    return false;
  if (__atomic_load_n (&s->out[i], __ATOMIC_RELAXED) != 0)
    return false;
  *pool_id = pool->id;
  *object_size = pool->object_size;
  return true;
}
