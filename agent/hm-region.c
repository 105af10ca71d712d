/* hm-region.c — regions: chunked bump allocators, everything freed at once.
 *
 * A region is a list of mmap'd chunks (64 KiB first, doubling up to 4 MiB);
 * each thread takes an 8 KiB piece of the current chunk with one
 * compare-and-swap and bumps its small objects off it with no atomic (inline,
 * in hybridmem.h); bigger objects are taken from the chunk with a CAS each,
 * and only a full chunk takes the region's mutex, to add or reuse the next.
 * Objects bigger than HM_REGION_BIG_OBJECT get a chunk of their own.  What a
 * reset does with the chunks past the first follows the strategy:
 *
 *   minimize-memory       unmapped at once
 *   maximize-performance  kept as they are, reused in order
 *   none, balanced, adaptive
 *                         kept mapped for reuse, their pages given to the
 *                         kernel with MADV_FREE (taken back if memory is short)
 *
 * With enable_regions == 0 every object is a __libc_malloc block that the
 * region remembers and frees at reset, so ASan or valgrind see each object.
 *
 * Region headers come from mmap'd slabs that are never unmapped or reused: a
 * freed region keeps its header (marked freed), so a call on it afterwards is
 * a warning and not a crash.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hm-pool-private.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#define HM_REGION_MAGIC_LIVE   0x4e4f4947u
#define HM_REGION_MAGIC_FREED  0x44454552u

#define HM_REGION_FIRST_CHUNK  (64u * 1024u)
#define HM_REGION_MAX_CHUNK    (4u * 1024u * 1024u)
/* Bigger objects get a chunk of their own; smaller ones never leave more
 * than this much of a chunk unused. */
#define HM_REGION_BIG_OBJECT   (256u * 1024u)
#define HM_REGION_ALIGN        16u
#define HM_REGION_NAME_BYTES   48u

typedef struct HmChunk HmChunk;
struct HmChunk {
  size_t offset;              /* bytes of data handed out; advanced by CAS */
  size_t data_bytes;          /* usable bytes after the header */
  size_t map_bytes;           /* the whole mapping, header included */
  HmChunk *next;
  uint8_t data[] __attribute__ ((aligned (64)));
};

struct HmRegion {
  /* what an allocation reads, on one line */
  HmChunk *current;           /* atomic: the chunk being bumped */
  uint32_t fast;              /* 1: live and bump-allocating */
  uint32_t id;
  uint32_t epoch;             /* +1 at each reset and at the free: threads'
                               * pieces of an older epoch are stale */
  uint32_t magic;
  uint8_t bump;               /* enable_regions at creation */
  uint8_t strategy;           /* HmStrategy at creation */
  /* the rest changes under lock */
  pthread_mutex_t lock __attribute__ ((aligned (64)));
  HmChunk *chunks;            /* in order; the first is kept until the region is freed */
  HmChunk *tail;
  HmChunk *big;               /* chunks of one big object each */
  size_t big_bytes;           /* handed out from them */
  size_t abandoned;           /* atomic: tails of threads' pieces left unused
                               * in this epoch (not handed out) */
  size_t next_chunk_bytes;
  void **blocks;              /* enable_regions == 0: the objects */
  size_t n_blocks;
  size_t blocks_allocated;
  size_t block_bytes;
  HmRegion *next_all;         /* every region ever made, for fork */
  char name[HM_REGION_NAME_BYTES];
};

/* Objects up to this size come from the calling thread's piece of the
 * region (HM_REGION_SEGMENT bytes, claimed with one CAS), bumped with no
 * atomic at all; bigger ones are taken from the chunk with a CAS each. */
#define HM_REGION_INLINE_MAX   1024u
#define HM_REGION_SEGMENT      (8u * 1024u)

/* hybridmem.h's inline hm_region_alloc reads these fields. */
_Static_assert (offsetof (HmRegion, id) == offsetof (struct hm__region_v1, id)
                && offsetof (HmRegion, epoch) == offsetof (struct hm__region_v1, epoch)
                && HM__REGION_INLINE_MAX_V1 == HM_REGION_INLINE_MAX
                && HM_REGION_SEGMENT <= HM_REGION_FIRST_CHUNK / 4,
                "the inline fast path's view of a region");

/* --- headers that are never reused ------------------------------------------ */

static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static HmRegion *all_regions;
static uint8_t *header_cur, *header_end;
static uint32_t last_region_id;

static void *
map_bytes (size_t bytes)
{
  void *p = mmap (NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void
fork_prepare (void)
{
  pthread_mutex_lock (&all_lock);
  for (HmRegion *r = all_regions; r != NULL; r = r->next_all)
    pthread_mutex_lock (&r->lock);
}

static void
fork_release (void)
{
  for (HmRegion *r = all_regions; r != NULL; r = r->next_all)
    pthread_mutex_unlock (&r->lock);
  pthread_mutex_unlock (&all_lock);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
register_atfork (void)
{
  pthread_atfork (fork_prepare, fork_release, fork_release);
}

/* A zeroed header from a slab that is never unmapped. */
static HmRegion *
new_header (void)
{
  HmRegion *r = NULL;

  pthread_once (&atfork_once, register_atfork);
  pthread_mutex_lock (&all_lock);
  if (header_cur == NULL || header_cur + sizeof (HmRegion) > header_end)
    {
      uint8_t *slab = map_bytes (64u * 1024u);
      if (slab != NULL)
        {
          header_cur = slab;
          header_end = slab + 64u * 1024u;
        }
    }
  if (header_cur != NULL && header_cur + sizeof (HmRegion) <= header_end)
    {
      r = (HmRegion *) header_cur;
      header_cur += (sizeof (HmRegion) + 63u) & ~(size_t) 63u;
      pthread_mutex_init (&r->lock, NULL);
      r->next_all = all_regions;
      all_regions = r;
    }
  pthread_mutex_unlock (&all_lock);
  return r;
}

/* An attach: the trace starts after the regions were made, so their names
 * are said again. */
void
hm_region_name_live_ones (void)
{
  pthread_mutex_lock (&all_lock);
  for (HmRegion *r = all_regions; r != NULL; r = r->next_all)
    if (__atomic_load_n (&r->magic, __ATOMIC_ACQUIRE) == HM_REGION_MAGIC_LIVE)
      hm_trace_name_object (HM_OBJECT_REGION, r->id, r->name);
  pthread_mutex_unlock (&all_lock);
}

/* --- chunks ----------------------------------------------------------------- */

static HmChunk *
chunk_new (size_t map_size)
{
  HmChunk *c = map_bytes (map_size);
  if (c == NULL)
    return NULL;
  c->data_bytes = map_size - offsetof (HmChunk, data);
  c->map_bytes = map_size;
  return c;
}

/* Takes size bytes at alignment from c, or returns NULL if they do not fit.
 * size is a multiple of 16 and small enough that no sum below overflows. */
static inline void *
chunk_take (HmChunk *c, size_t size, size_t alignment)
{
  size_t offset = __atomic_load_n (&c->offset, __ATOMIC_RELAXED);
  for (;;)
    {
      size_t start = offset;
      if (alignment > HM_REGION_ALIGN)
        start = (((uintptr_t) c->data + offset + alignment - 1) & ~(uintptr_t) (alignment - 1))
                - (uintptr_t) c->data;
      if (start + size > c->data_bytes)
        return NULL;
      if (__atomic_compare_exchange_n (&c->offset, &offset, start + size, true,
                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return c->data + start;
    }
}

static inline size_t
chunk_used (const HmChunk *c)
{
  return __atomic_load_n (&c->offset, __ATOMIC_RELAXED);
}

static size_t
round_up (size_t n, size_t to)
{
  return (n + to - 1) & ~(to - 1);
}

/* --- events ----------------------------------------------------------------- */

/* Returns p, so that the fast path can end in a tail call. */
static __attribute__ ((noinline, cold)) void *
record_alloc (const HmRegion *r, void *p, size_t size)
{
  if (hm_guard != 0)
    return p;
  hm_guard++;
  hm_emit_object (HM_EV_REGION_ALLOC, r->id, (uintptr_t) p, size);
  hm_guard--;
  return p;
}

static void
record_id (uint8_t kind, const HmRegion *r)
{
  if (!hm_tracing_here ())
    return;
  hm_guard++;
  hm_emit_ids (kind, r->id, 0, 0, 0);
  hm_guard--;
}

/* --- misuse ----------------------------------------------------------------- */

/* A region that is NULL or freed: warns; for an allocation, serves the
 * program from the heap (never freed: the region that should free it is
 * gone) so it can go on. */
static void *
misuse (const HmRegion *r, const char *function, size_t size, size_t alignment,
        int wants_memory)
{
  void *p = NULL;

  if (r == NULL)
    hm_warn (HM_WARNING_REGION_USE_AFTER_FREE, NULL, size, 0, "%s: the region is NULL",
             function);
  else if (wants_memory)
    hm_warn (HM_WARNING_REGION_USE_AFTER_FREE, NULL, size, r->id,
             "%s: region '%s' (id %llu) was freed; %zu bytes served from the heap instead",
             function, r->name, (unsigned long long) r->id, size);
  else
    hm_warn (HM_WARNING_REGION_USE_AFTER_FREE, NULL, 0, r->id,
             "%s: region '%s' (id %llu) was freed; call ignored", function, r->name,
             (unsigned long long) r->id);
  if (r != NULL && wants_memory)
    {
      hm_guard++;
      p = alignment > HM_REGION_ALIGN ? __libc_memalign (alignment, size ? size : 1)
                                      : __libc_malloc (size ? size : 1);
      hm_guard--;
    }
  return p;
}

static bool
is_live (const HmRegion *r)
{
  return r != NULL && __atomic_load_n (&r->magic, __ATOMIC_ACQUIRE) == HM_REGION_MAGIC_LIVE;
}

/* --- creation --------------------------------------------------------------- */

HmRegion *
hm_region_new (const char *name)
{
  const HmOptions *options = hm_manager_options ();
  bool tracing = hm_tracing_here ();
  uint32_t stack = 0;
  HmRegion *r;

  if (tracing)
    {
      hm_guard++;
      stack = hm_stack_capture ();
      hm_guard--;
    }
  r = new_header ();
  if (r == NULL)
    return NULL;
  r->id = __atomic_add_fetch (&last_region_id, 1, __ATOMIC_RELAXED);
  r->bump = options->enable_regions != 0;
  r->strategy = (uint8_t) options->strategy;
  if (name == NULL || name[0] == '\0')
    {
      /* "region N", without stdio */
      char digits[12];
      int n = 0;
      for (uint32_t v = r->id; v != 0; v /= 10)
        digits[n++] = (char) ('0' + v % 10);
      memcpy (r->name, "region ", 7);
      for (int i = 0; i < n; i++)
        r->name[7 + i] = digits[n - 1 - i];
    }
  else
    {
      size_t len = strnlen (name, HM_REGION_NAME_BYTES - 1);
      memcpy (r->name, name, len);
    }
  if (r->bump)
    {
      r->chunks = r->tail = chunk_new (HM_REGION_FIRST_CHUNK);
      if (r->chunks == NULL)
        {
          /* keep the header: it is never reused anyway */
          r->magic = HM_REGION_MAGIC_FREED;
          errno = ENOMEM;
          return NULL;
        }
      r->next_chunk_bytes = 2 * HM_REGION_FIRST_CHUNK;
      __atomic_store_n (&r->current, r->chunks, __ATOMIC_RELEASE);
    }
  __atomic_store_n (&r->magic, HM_REGION_MAGIC_LIVE, __ATOMIC_RELEASE);
  __atomic_store_n (&r->fast, r->bump, __ATOMIC_RELEASE);

  if (tracing)
    {
      hm_guard++;
      hm_emit_ids (HM_EV_REGION_CREATE, r->id, stack, 0, 0);
      hm_guard--;
      hm_trace_name_object (HM_OBJECT_REGION, r->id,
                            name != NULL && name[0] != '\0' ? name : r->name);
    }
  return r;
}

/* --- allocation ------------------------------------------------------------- */

/* enable_regions == 0: a heap block the region remembers. */
static void *
alloc_block (HmRegion *r, size_t size, size_t alignment)
{
  void *p;

  hm_guard++;
  p = alignment > HM_REGION_ALIGN ? __libc_memalign (alignment, size ? size : 1)
                                  : __libc_malloc (size ? size : 1);
  hm_guard--;
  if (p == NULL)
    return NULL;
  pthread_mutex_lock (&r->lock);
  if (r->n_blocks == r->blocks_allocated)
    {
      size_t n = r->blocks_allocated ? 2 * r->blocks_allocated : 64;
      hm_guard++;
      void **blocks = __libc_realloc (r->blocks, n * sizeof *blocks);
      hm_guard--;
      if (blocks == NULL)
        {
          pthread_mutex_unlock (&r->lock);
          hm_guard++;
          __libc_free (p);
          hm_guard--;
          return NULL;
        }
      r->blocks = blocks;
      r->blocks_allocated = n;
    }
  r->blocks[r->n_blocks++] = p;
  r->block_bytes += size;
  pthread_mutex_unlock (&r->lock);
  return p;
}

/* A chunk of one big object, kept on the region's big list until reset. */
static void *
alloc_big (HmRegion *r, size_t size, size_t alignment)
{
  size_t page = 4096;
  size_t map_size;
  HmChunk *c;

  if (size > ((size_t) 1 << 46) || alignment > ((size_t) 1 << 30))
    return NULL;
  map_size = round_up (offsetof (HmChunk, data) + size
                       + (alignment > 64 ? alignment : 0), page);
  c = chunk_new (map_size);
  if (c == NULL)
    return NULL;
  void *p = chunk_take (c, round_up (size, HM_REGION_ALIGN), alignment);
  pthread_mutex_lock (&r->lock);
  c->next = r->big;
  r->big = c;
  r->big_bytes += chunk_used (c);
  pthread_mutex_unlock (&r->lock);
  return p;
}

/* The current chunk is full: move to the next one (kept from before a reset,
 * or new), under the lock so only one thread maps it. */
static void *
alloc_from_chunks (HmRegion *r, size_t size, size_t alignment)
{
  size_t need = round_up (size ? size : 1, HM_REGION_ALIGN);
  void *p;

  pthread_mutex_lock (&r->lock);
  for (;;)
    {
      HmChunk *c = __atomic_load_n (&r->current, __ATOMIC_ACQUIRE);
      p = chunk_take (c, need, alignment);
      if (p != NULL)
        break;
      HmChunk *next = c->next;
      while (next != NULL && next->data_bytes < need + alignment)
        next = next->next;
      if (next == NULL)
        {
          size_t map_size = r->next_chunk_bytes;
          while (map_size - offsetof (HmChunk, data) < need + alignment)
            map_size *= 2;
          next = chunk_new (map_size);
          if (next == NULL)
            break;
          if (r->next_chunk_bytes < HM_REGION_MAX_CHUNK)
            r->next_chunk_bytes *= 2;
          r->tail->next = next;
          r->tail = next;
        }
      __atomic_store_n (&r->current, next, __ATOMIC_RELEASE);
    }
  pthread_mutex_unlock (&r->lock);
  return p;
}

/* Everything the fast path does not do: a freed or NULL region, heap
 * blocks, big objects, a full chunk; and the event. */
static __attribute__ ((noinline)) void *
alloc_slow (HmRegion *r, size_t size, size_t alignment)
{
  void *p;

  if (HM_UNLIKELY (!is_live (r)))
    return misuse (r, alignment > HM_REGION_ALIGN ? "hm_region_alloc_aligned" : "hm_region_alloc",
                   size, alignment, 1);
  if (alignment < HM_REGION_ALIGN)
    alignment = HM_REGION_ALIGN;
  if (!r->bump)
    p = alloc_block (r, size, alignment);
  else if (size > HM_REGION_BIG_OBJECT || alignment > HM_REGION_FIRST_CHUNK / 4)
    p = alloc_big (r, size, alignment);
  else
    p = alloc_from_chunks (r, size, alignment);
  if (p != NULL && HM_UNLIKELY (hm_agent.tracing))
    record_alloc (r, p, size);
  return p;
}

/* The calling thread's slot missed: a new piece of the region for it, and
 * the object from its start.  NULL when the object should rather come
 * straight from the chunk: the slot holds a live piece of another region
 * (two regions taking turns must not waste a piece each turn), or a big
 * object would throw away much of this region's piece. */
static void *
alloc_from_new_piece (HmRegion *r, HmRegionCache *c, size_t need)
{
  uint32_t epoch = __atomic_load_n (&r->epoch, __ATOMIC_ACQUIRE);
  const HmRegion *holder = c->region;
  bool holder_live = holder != NULL
                     && c->epoch == __atomic_load_n (&holder->epoch, __ATOMIC_RELAXED);
  if (holder_live && (size_t) (c->end - c->cur) >= HM_REGION_SEGMENT / 4
      && (holder != r || need > 256))
    return NULL;

  HmChunk *chunk = __atomic_load_n (&r->current, __ATOMIC_ACQUIRE);
  uint8_t *piece = chunk_take (chunk, HM_REGION_SEGMENT, HM_REGION_ALIGN);
  if (piece == NULL)
    piece = alloc_from_chunks (r, HM_REGION_SEGMENT, HM_REGION_ALIGN);
  if (piece == NULL)
    return NULL;
  hm_region_abandon_piece (c);
  c->region = r;
  c->epoch = epoch;
  c->cur = piece + need;
  c->end = piece + HM_REGION_SEGMENT;
  return piece;
}

/* A thread lets go of its piece (a new one, its end, a fork): what it did
 * not hand out is not "used". */
void
hm_region_abandon_piece (HmRegionCache *c)
{
  HmRegion *holder = (HmRegion *) c->region;
  if (holder != NULL && c->epoch == __atomic_load_n (&holder->epoch, __ATOMIC_RELAXED)
      && c->cur < c->end)
    __atomic_add_fetch (&holder->abandoned, (size_t) (c->end - c->cur), __ATOMIC_RELAXED);
  c->region = NULL;
  c->cur = c->end = NULL;
}

void
hm_region_note_abandoned (const void *region, uint64_t epoch, size_t bytes)
{
  HmRegion *holder = (HmRegion *) region;
  if (bytes > 0 && epoch == __atomic_load_n (&holder->epoch, __ATOMIC_RELAXED))
    __atomic_add_fetch (&holder->abandoned, bytes, __ATOMIC_RELAXED);
}

/* An object of a live region from the calling thread's piece, the shared
 * chunk or the slow path; traced: from the piece of the library's own set,
 * and recorded. */
static inline __attribute__ ((always_inline)) void *
alloc_any (HmRegion *region, size_t size, bool traced)
{
  size_t need = (size + HM_REGION_ALIGN - 1 + (size == 0)) & ~(size_t) (HM_REGION_ALIGN - 1);
  if (HM_LIKELY (region != NULL && __atomic_load_n (&region->fast, __ATOMIC_RELAXED)
                 && size <= HM_REGION_BIG_OBJECT))
    {
      void *p;
      /* small: the thread's piece (the inline path's, untraced); traced, of
       * a slot the inline path does not see, as the event records the object
       * wherever it lies and the shared chunk's compare-and-swap cost more
       * than the event */
      if (need <= HM_REGION_INLINE_MAX && (!traced || hm_guard == 0))
        {
          HmRegionCache *c = hm_region_cache_slot (region->id, traced);
          if (HM_LIKELY (c != NULL))
            {
              if (c->region == region
                  && c->epoch == __atomic_load_n (&region->epoch, __ATOMIC_RELAXED)
                  && (size_t) (c->end - c->cur) >= need)
                {
                  p = c->cur;
                  c->cur += need;
                  goto got;
                }
              p = alloc_from_new_piece (region, c, need);
              if (p != NULL)
                goto got;
            }
        }
      HmChunk *c = __atomic_load_n (&region->current, __ATOMIC_ACQUIRE);
      p = chunk_take (c, need, HM_REGION_ALIGN);
      if (HM_LIKELY (p != NULL))
        {
        got:
          if (traced)
            return record_alloc (region, p, size);
          return p;
        }
    }
  return alloc_slow (region, size, HM_REGION_ALIGN);
}

static __attribute__ ((noinline)) void *
alloc_untraced (HmRegion *region, size_t size)
{
  return alloc_any (region, size, false);
}

static __attribute__ ((noinline)) void *
alloc_traced_slow (HmRegion *region, size_t size)
{
  return alloc_any (region, size, true);
}

/* hm_region_alloc while tracing.  The common case (a small object from the
 * thread's piece, an event that fits the ring's current block) is a leaf
 * function: the object from a slot of the set that hybridmem.h's inline path
 * does not see, and the event written in place. */
static __attribute__ ((noinline)) void *
alloc_traced (HmRegion *region, size_t size)
{
  size_t need = (size + HM_REGION_ALIGN - 1 + (size == 0)) & ~(size_t) (HM_REGION_ALIGN - 1);
  HmPoolThread *t = hm_pool_thread;
  if (HM_LIKELY (t != NULL && region != NULL && need <= HM_REGION_INLINE_MAX))
    {
      HmRegionCache *c = &t->regions[HM_REGION_CACHE_SLOTS
                                     + (region->id & (HM_REGION_CACHE_SLOTS - 1))];
      uint8_t *p = c->cur;
      if (HM_LIKELY (c->region == region
                     && c->epoch == __atomic_load_n (&region->epoch, __ATOMIC_RELAXED)
                     && (size_t) (c->end - p) >= need)
          && HM_LIKELY (hm_emit_object_leaf (HM_EV_REGION_ALLOC, region->id, (uintptr_t) p,
                                             size)))
        {
          c->cur = p + need;
          return p;
        }
    }
  return alloc_traced_slow (region, size);
}

/* Both ways end in a tail call, so that neither pays for the other's
 * saved registers. */
void *
hm_region_alloc (HmRegion *region, size_t size)
{
  if (HM_UNLIKELY (hm_agent.tracing))
    return alloc_traced (region, size);
  return alloc_untraced (region, size);
}

void *
hm_region_alloc_aligned (HmRegion *region, size_t size, size_t alignment)
{
  /* not a power of two: the next one up */
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    {
      size_t a = HM_REGION_ALIGN;
      while (a < alignment && a < ((size_t) 1 << 30))
        a *= 2;
      alignment = a;
    }
  if (alignment <= HM_REGION_ALIGN)
    return hm_region_alloc (region, size);
  if (HM_LIKELY (region != NULL && __atomic_load_n (&region->fast, __ATOMIC_RELAXED)
                 && size <= HM_REGION_BIG_OBJECT && alignment <= HM_REGION_FIRST_CHUNK / 4))
    {
      HmChunk *c = __atomic_load_n (&region->current, __ATOMIC_ACQUIRE);
      void *p = chunk_take (c, round_up (size ? size : 1, HM_REGION_ALIGN), alignment);
      if (HM_LIKELY (p != NULL))
        {
          if (HM_UNLIKELY (hm_agent.tracing))
            return record_alloc (region, p, size);
          return p;
        }
    }
  return alloc_slow (region, size, alignment);
}

void *
hm_region_alloc_zeroed (HmRegion *region, size_t size, size_t count, size_t alignment)
{
  size_t bytes;
  void *p;

  if (__builtin_mul_overflow (size, count, &bytes))
    {
      errno = ENOMEM;
      return NULL;
    }
  p = hm_region_alloc_aligned (region, bytes, alignment);
  if (p != NULL)
    memset (p, 0, bytes);
  return p;
}

/* --- reset and free ----------------------------------------------------------- */

/* A chunk's memory goes back.  Under lifetime analysis its addresses stay
 * reserved for a while (hm_lifetime_retire_range), so that a word pointing
 * into it is known to dangle rather than to point at whatever came next. */
static void
chunk_release (const HmRegion *r, HmChunk *c, uint32_t free_stack)
{
  if (hm_lifetime_active
      && hm_lifetime_retire_range (c, c->map_bytes, r->id, free_stack))
    return;
  munmap (c, c->map_bytes);
}

/* Ends every object; under r->lock.  keep_first: the region lives on. */
static void
release_memory (HmRegion *r, bool keep_first, uint32_t free_stack)
{
  HmChunk *c, *next;

  for (c = r->big; c != NULL; c = next)
    {
      next = c->next;
      chunk_release (r, c, free_stack);
    }
  r->big = NULL;
  r->big_bytes = 0;

  if (r->blocks != NULL)
    {
      hm_guard++;
      for (size_t i = 0; i < r->n_blocks; i++)
        __libc_free (r->blocks[i]);
      if (!keep_first)
        {
          __libc_free (r->blocks);
          r->blocks = NULL;
          r->blocks_allocated = 0;
        }
      hm_guard--;
      r->n_blocks = 0;
      r->block_bytes = 0;
    }

  if (r->chunks == NULL)
    return;
  if (!keep_first)
    {
      for (c = r->chunks; c != NULL; c = next)
        {
          next = c->next;
          chunk_release (r, c, free_stack);
        }
      r->chunks = r->tail = NULL;
      return;
    }

  r->chunks->offset = 0;
  if (r->strategy == HM_STRATEGY_MINIMIZE_MEMORY)
    {
      for (c = r->chunks->next; c != NULL; c = next)
        {
          next = c->next;
          chunk_release (r, c, free_stack);
        }
      r->chunks->next = NULL;
      r->tail = r->chunks;
      r->next_chunk_bytes = 2 * HM_REGION_FIRST_CHUNK;
    }
  else
    {
      for (c = r->chunks->next; c != NULL; c = c->next)
        {
          /* the header stays: it is on the first page, which is kept */
          if (r->strategy != HM_STRATEGY_MAXIMIZE_PERFORMANCE && chunk_used (c) > 4096)
            {
              uint8_t *from = (uint8_t *) c + 4096;
              size_t length = round_up (offsetof (HmChunk, data) + chunk_used (c), 4096) - 4096;
              if (madvise (from, length, MADV_FREE) != 0)
                madvise (from, length, MADV_DONTNEED);
            }
          c->offset = 0;
        }
    }
  __atomic_store_n (&r->current, r->chunks, __ATOMIC_RELEASE);
}

/* Where the memory was given back, for dangling-pointer warnings. */
static uint32_t
region_free_stack (void)
{
  if (!hm_lifetime_active || hm_guard != 0)
    return 0;
  hm_guard++;
  uint32_t stack = hm_stack_capture ();
  hm_guard--;
  return stack;
}

void
hm_region_reset (HmRegion *region)
{
  if (HM_UNLIKELY (!is_live (region)))
    {
      misuse (region, "hm_region_reset", 0, 0, 0);
      return;
    }
  /* before the memory can be handed out again */
  record_id (HM_EV_REGION_RESET, region);
  uint32_t stack = region_free_stack ();
  pthread_mutex_lock (&region->lock);
  /* the threads' pieces are of the old memory */
  __atomic_add_fetch (&region->epoch, 1, __ATOMIC_RELEASE);
  __atomic_store_n (&region->abandoned, 0, __ATOMIC_RELAXED);
  release_memory (region, true, stack);
  pthread_mutex_unlock (&region->lock);
}

void
hm_region_free (HmRegion *region)
{
  if (region == NULL)
    return;
  if (HM_UNLIKELY (!is_live (region)))
    {
      misuse (region, "hm_region_free", 0, 0, 0);
      return;
    }
  record_id (HM_EV_REGION_FREE, region);
  uint32_t stack = region_free_stack ();
  pthread_mutex_lock (&region->lock);
  /* from now on every call takes the slow path and finds the region freed */
  __atomic_store_n (&region->fast, 0, __ATOMIC_RELEASE);
  __atomic_add_fetch (&region->epoch, 1, __ATOMIC_RELEASE);
  __atomic_store_n (&region->magic, HM_REGION_MAGIC_FREED, __ATOMIC_RELEASE);
  release_memory (region, false, stack);
  pthread_mutex_unlock (&region->lock);
}

size_t
hm_region_used (const HmRegion *region)
{
  HmRegion *r = (HmRegion *) region;
  size_t used;

  if (!is_live (r))
    return 0;
  pthread_mutex_lock (&r->lock);
  used = r->big_bytes + r->block_bytes;
  for (HmChunk *c = r->chunks; c != NULL; c = c->next)
    used += chunk_used (c);
  pthread_mutex_unlock (&r->lock);
  /* the threads' pieces count when their objects are handed out */
  size_t unused = hm_region_cached_unused (r, __atomic_load_n (&r->epoch, __ATOMIC_RELAXED))
                  + __atomic_load_n (&r->abandoned, __ATOMIC_RELAXED);
  return unused < used ? used - unused : 0;
}
