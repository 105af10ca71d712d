/* hybridmem.h — the public API of libhybridmem.
 *
 * One manager, several ways to get memory, side by side in one program:
 *
 *   manual     hm_alloc / hm_free                  like malloc, but the manager
 *                                                  may serve hot sizes from pools
 *   regions    hm_region_new / _alloc / _reset / _free
 *                                                  everything freed at once
 *   pools      hm_pool_new / _get / _return / _free
 *                                                  fixed-size objects of one type
 *   automatic  hm_gc_alloc / hm_gc_collect         garbage-collected, never freed
 *                                                  by hand
 *   and plain malloc & co., which the library traces when a trace is asked for.
 *
 * Link with `pkg-config --cflags --libs hybridmem`, or preload the library
 * (LD_PRELOAD=libhybridmem.so) into an unmodified program: the same options
 * then come from HM_* environment variables (see HmOptions).
 *
 * Attaching: a process with the library that is not traced from its start
 * listens for a debugger (`hmtrace attach PID`) on a socket of its own in a
 * private directory ($XDG_RUNTIME_DIR/hybridmem/ or /tmp/hybridmem-UID/), with
 * one thread that blocks every signal and sleeps until one connects.
 * HM_LISTEN=0 turns that off; HM_LISTEN=1 says on stderr why it cannot listen.
 * While a debugger is attached every call is traced; afterwards the inline
 * fast paths below run again.
 *
 * Threads: every function may be called from any thread.  Regions and pools
 * are shared objects: each thread takes 8 KiB pieces of a region (one
 * compare-and-swap each) and bumps objects of up to 1 KiB off its piece with
 * no atomic; bigger objects take a compare-and-swap each; the region's mutex
 * is taken only to add a chunk; a pool keeps a per-thread cache of up to 128 free
 * objects, so get and return take no lock until that cache runs empty or
 * full (then one mutex for a batch).  Those common cases are inline in this
 * header (see the end of it).  Resetting or freeing a region while
 * another thread still allocates from it is a race in the program.  The GC
 * heap is shared, each thread allocating from its own blocks without a lock;
 * a collection stops every thread of the process (with a real-time signal)
 * for the mark phase, so a blocking call such as poll() or epoll_wait() may
 * return EINTR then, as with other conservative collectors.  A thread that
 * blocks every signal is scanned without being stopped: it must not touch GC
 * memory.  hm_gc_alloc is not async-signal-safe.
 *
 * Lifetime analysis (hm_analyze) stops the world the same way.
 *
 * Misuse — allocating from a freed region, returning an object to the wrong
 * pool or twice, and (with lifetime analysis) a double, invalid or mismatched
 * free — never crashes
 * the program: the call is ignored (or, for a freed region, served from the
 * heap) and a warning with the call's stack goes to the trace and, unless
 * HM_QUIET=1, one line to stderr.
 */
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(HM_BUILDING_AGENT)
#define HM_API __attribute__ ((visibility ("default")))
#else
#define HM_API
#endif

#define HYBRIDMEM_VERSION_MAJOR 0
#define HYBRIDMEM_VERSION_MINOR 1

/* --- options ------------------------------------------------------------------ */

typedef enum {
  HM_STRATEGY_NONE = 0,              /* record only: every call does what it says */
  HM_STRATEGY_MINIMIZE_MEMORY,       /* pack tightly, give memory back to the OS early */
  HM_STRATEGY_MAXIMIZE_PERFORMANCE,  /* serve hot fixed-size sites from pools, keep memory */
  HM_STRATEGY_BALANCED,              /* between the two */
  HM_STRATEGY_ADAPTIVE,              /* decide per site from its recorded statistics */
} HmStrategy;

/* Every field has an environment variable of the same meaning, used when the
 * program does not call hm_init() (a preloaded agent) or passes NULL:
 *
 *   enable_profiling          HM_ENABLE_PROFILING=0|1
 *   profile_save_interval     HM_PROFILE_SAVE_INTERVAL=SECONDS
 *   profile_path              HM_PROFILE_PATH=FILE        (memory_profile.json)
 *   enable_lifetime_analysis  HM_LIFETIME_ANALYSIS=0|1
 *   enable_regions            HM_REGIONS=0|1
 *   enable_pooling            HM_POOLING=0|1
 *   strategy                  HM_STRATEGY=none|minimize-memory|maximize-performance|
 *                                         balanced|adaptive
 *   gc_threshold_bytes        HM_GC_THRESHOLD=BYTES
 *
 * A bad value prints one line on stderr and the default is used. */
typedef struct {
  int enable_profiling;             /* default 0 */
  unsigned profile_save_interval;   /* seconds; 0: only at exit.  default 0 */
  const char *profile_path;         /* default "memory_profile.json" */
  int enable_lifetime_analysis;     /* default 0 */
  int enable_regions;               /* default 1; 0: region objects are malloc blocks */
  int enable_pooling;               /* default 1; 0: pool objects are malloc blocks */
  HmStrategy strategy;              /* default HM_STRATEGY_NONE */
  size_t gc_threshold_bytes;        /* collect after this much GC allocation (or a share
                                     * of the live heap, if more); 0: only hm_gc_collect.
                                     * default 8 MiB */
} HmOptions;

/* Fills options with the defaults, then with what the environment says. */
HM_API void hm_options_init (HmOptions *options);

/* Starts the manager with these options (NULL: hm_options_init's).  Call it
 * once, early; a second call changes nothing and returns -1.  Returns 0.
 * Calling it is optional: the first use of any function below starts the
 * manager with the environment's options. */
HM_API int hm_init (const HmOptions *options);

/* The options in force. */
HM_API const HmOptions *hm_get_options (void);

/* --- manual ------------------------------------------------------------------- */

HM_API void *hm_alloc (size_t size);
HM_API void hm_free (void *ptr);

/* --- regions: a bump allocator, everything freed at once ------------------------ */

typedef struct HmRegion HmRegion;

/* name is copied; it names the region in traces and reports. */
HM_API HmRegion *hm_region_new (const char *name);
/* 16-byte aligned memory that lives until the region is reset or freed.
 * Never NULL unless the system is out of memory. */
HM_API void *hm_region_alloc (HmRegion *region, size_t size);
/* alignment: a power of two. */
HM_API void *hm_region_alloc_aligned (HmRegion *region, size_t size, size_t alignment);
/* Ends every object of the region at once; keeps its first chunk for reuse. */
HM_API void hm_region_reset (HmRegion *region);
HM_API void hm_region_free (HmRegion *region);
/* Bytes handed out since the last reset, rounding to 16 and alignment
 * padding included. */
HM_API size_t hm_region_used (const HmRegion *region);

/* count objects of Type, zeroed. */
#define HM_REGION_NEW(region, Type, count) \
  ((Type *) hm_region_alloc_zeroed ((region), sizeof (Type), (count), _Alignof (Type)))
HM_API void *hm_region_alloc_zeroed (HmRegion *region, size_t size, size_t count, size_t alignment);

/* --- pools: fixed-size objects of one type ---------------------------------------- */

typedef struct HmPool HmPool;

/* capacity objects are reserved up front; the pool grows past it rather
 * than fail.  type_name is copied. */
HM_API HmPool *hm_pool_new (const char *type_name, size_t object_size, size_t capacity);
/* An object of object_size bytes, 16-byte aligned (or the object's size
 * rounded to a power of two, if smaller).  Its content is undefined. */
HM_API void *hm_pool_get (HmPool *pool);
HM_API void hm_pool_return (HmPool *pool, void *object);
/* Ends the pool and every object still out of it. */
HM_API void hm_pool_free (HmPool *pool);
HM_API size_t hm_pool_object_size (const HmPool *pool);
HM_API size_t hm_pool_live_objects (const HmPool *pool);

#define HM_POOL_NEW(Type, capacity) hm_pool_new (#Type, sizeof (Type), (capacity))

/* --- automatic: garbage-collected memory ------------------------------------------- */

/* Zeroed memory that lives as long as something points to it: a word on any
 * thread's stack or registers, in TLS, in the writable data of any loaded
 * object, in a malloc'd block reachable from those, or in a reachable GC
 * object.  Pointers into the middle of an object keep it alive. */
HM_API void *hm_gc_alloc (size_t size);
/* Runs a full collection now; returns the bytes freed. */
HM_API size_t hm_gc_collect (void);

typedef struct {
  size_t collections;
  size_t heap_bytes;         /* the GC heap's size */
  size_t live_bytes;         /* after the last collection, plus allocated since */
  size_t freed_bytes;        /* in all collections */
  unsigned long long total_pause_ns;
  unsigned long long last_pause_ns;
} HmGcStats;
HM_API void hm_gc_get_stats (HmGcStats *stats);

/* --- profiles --------------------------------------------------------------------- */

/* Writes the profile recorded so far (enable_profiling) to path, atomically:
 * a temporary file beside it, then renamed over it.  The agent also writes
 * profile_path every profile_save_interval seconds and at exit.  Returns 0,
 * or -1 with errno set (EINVAL: profiling is off or path is empty).
 *
 * A run whose profile_path names an existing profile applies it: the strategy
 * (options, or the file's "strategy" when the options say none) decides per
 * site whether a pool, the C library, or the C library with memory given back
 * to the OS eagerly serves it.  A file that is not a valid profile costs one
 * line on stderr; the program then runs with the defaults.  The format:
 * data/memory-profile.schema.json; `hmtrace profile` shows and edits it. */
HM_API int hm_profile_save (const char *path);
/* --- lifetime analysis ------------------------------------------------------------- */

/* With lifetime analysis on (enable_lifetime_analysis, HM_LIFETIME_ANALYSIS=1;
 * otherwise this does nothing and returns 0): stops every thread, as a
 * collection does, and finds
 *   - leaks: blocks from malloc & co. or hm_alloc that no word reachable
 *     from the roots points to (roots: every thread's stack and registers,
 *     TLS, the writable data of loaded objects, anonymous mappings such as
 *     region chunks and pool slabs; then live blocks and GC objects,
 *     transitively; a pointer into the middle of a block keeps it alive).
 *     As valgrind's "definitely lost": a lost block that only other lost
 *     blocks point to is counted with them, not on its own, and a cycle of
 *     lost blocks is one leak (its lowest-addressed block);
 *   - dangling pointers: a reachable word in a global, on a stack or in a
 *     live block that points into a freed region or a returned pool object
 *     (not into a freed malloc block: C programs leave those in globals and
 *     arrays too often for a warning to mean anything).
 * Each finding is one warning (in the trace when tracing, and one line on
 * stderr unless HM_QUIET=1), reported once: a later call names only new
 * ones.  Blocks allocated before
 * analysis started are not known; pointers kept only in them are missed.
 * Returns the number of new leaks.  Runs by itself at exit when analysis is
 * on.  Safe from any thread; not from a signal handler. */
HM_API size_t hm_analyze (void);

typedef struct {
  size_t n_blocks;              /* live and quarantined blocks known */
  size_t live_bytes;            /* of the live ones */
  size_t scanned_bytes;         /* words looked at: roots and reached blocks */
  unsigned long long pause_ns;  /* the world stood still */
  unsigned long long total_ns;  /* the whole hm_analyze, warnings included */
  size_t n_leaks, n_dangling;   /* new findings */
  int ok;                       /* 0: the world could not be stopped; nothing found */
} HmAnalysisStats;
/* What the last hm_analyze (or the exit scan) measured. */
HM_API void hm_analyze_get_stats (HmAnalysisStats *stats);

/* --- traces ------------------------------------------------------------------------ */

/* Puts a named mark in the trace (a no-op when not tracing). */
HM_API void hm_mark (const char *text);

/* --- inline fast paths ------------------------------------------------------------
 *
 * A call into a shared library goes through the PLT, an indirect jump; with
 * the CPU's branch-speculation defences that jump costs more than a bump
 * pointer or a free-list pop.  So the common case of hm_region_alloc,
 * hm_pool_get and hm_pool_return is compiled into the caller: the library's
 * function is called only for what the fast path does not do (a full chunk,
 * an empty or full per-thread cache, a freed object, tracing, any misuse).
 *
 * The structures below mirror the first fields of the library's own; they are
 * not API.  Their layout is tied to the names hm__fast_v1 and
 * hm__thread_v1: a library with another layout does not define them, so
 * a program built against this header fails to start rather than misread
 * memory.  Define HM_NO_INLINE before including this header to call the
 * library every time (the functions above exist either way). */
#if defined(__GNUC__) && defined(__SIZEOF_INT128__) && defined(__x86_64__)
#define HM__HAVE_FAST_PATHS_V1 1

/* 1 once the manager has started without tracing: the inline pool paths may
 * run.  While it is 0 (not started yet, or every operation is an event),
 * every get and return goes to the library. */
extern int hm__fast_v1;

/* A region's own fields the fast path reads. */
struct hm__region_v1 {
  void *current;
  unsigned fast;                  /* live and bump-allocating */
  unsigned id;
  unsigned epoch;                 /* +1 at every reset and at the free */
};

/* A thread's piece of one region: objects are bumped off it with no atomic.
 * The library fills it only when not tracing. */
struct hm__region_cache_v1 {
  const void *region;
  unsigned long long epoch;
  char *cur;
  char *end;
};
#define HM__REGION_CACHE_SLOTS_V1 64
#define HM__REGION_INLINE_MAX_V1 1024

struct hm__pool_v1 {
  unsigned long long cache_id;    /* 0: no per-thread caching */
  size_t slab_mask;
  unsigned long long reciprocal;  /* index = offset * reciprocal >> 64 */
  unsigned stride;
  unsigned first_offset;
  unsigned cache_max;
  unsigned cache_offset;          /* of the pool's cache in struct hm__thread_v1 */
};

struct hm__slab_v1 {
  unsigned long long magic;
  void *pool;
  void *next;
  size_t slab_bytes;
  unsigned n_objects;
  unsigned n_carved;
  unsigned char out[];            /* 1 while the program has the object */
};

#define HM__POOL_CACHE_SLOTS_V1 64
#define HM__POOL_CACHE_MAX_V1 128
struct hm__pool_cache_v1 {
  unsigned long long id;
  void *pool;
  size_t known_slab;
  unsigned count;
  void *objects[HM__POOL_CACHE_MAX_V1];
};

/* What each thread keeps of the manager's shared objects. */
struct hm__thread_v1 {
  struct hm__pool_cache_v1 pools[HM__POOL_CACHE_SLOTS_V1];
  struct hm__region_cache_v1 regions[HM__REGION_CACHE_SLOTS_V1];
};

#if !defined(HM_NO_INLINE) && !defined(HM_BUILDING_AGENT)

/* The calling thread's caches (the library's HmManagerThread starts so). */
extern __thread struct hm__thread_v1 *hm__thread_v1
    __attribute__ ((tls_model ("initial-exec")));

static inline void *
hm__region_alloc_inline (HmRegion *region, size_t size)
{
  struct hm__thread_v1 *t = hm__thread_v1;
  const struct hm__region_v1 *r = (const struct hm__region_v1 *) region;
  if (__builtin_expect (t != NULL && region != NULL && size - 1 < HM__REGION_INLINE_MAX_V1, 1))
    {
      struct hm__region_cache_v1 *c = &t->regions[r->id & (HM__REGION_CACHE_SLOTS_V1 - 1)];
      size_t need = (size + 15) & ~(size_t) 15;
      if (__builtin_expect (c->region == region
                            && c->epoch == __atomic_load_n (&r->epoch, __ATOMIC_RELAXED)
                            && (size_t) (c->end - c->cur) >= need, 1))
        {
          char *p = c->cur;
          c->cur = p + need;
          return p;
        }
    }
  return (hm_region_alloc) (region, size);
}
#define hm_region_alloc(region, size) hm__region_alloc_inline ((region), (size))


static inline unsigned char *
hm__pool_out_v1 (const struct hm__pool_v1 *p, size_t slab, size_t object)
{
  unsigned long long offset = object - slab - p->first_offset;
  size_t i = (size_t) (((unsigned __int128) offset * p->reciprocal) >> 64);
  return &((struct hm__slab_v1 *) slab)->out[i];
}

static inline void *
hm__pool_get_inline (HmPool *pool)
{
  struct hm__thread_v1 *t = hm__thread_v1;
  const struct hm__pool_v1 *p = (const struct hm__pool_v1 *) pool;
  if (__builtin_expect (t != NULL && pool != NULL && hm__fast_v1, 1))
    {
      unsigned long long id = p->cache_id;
      struct hm__pool_cache_v1 *c = (struct hm__pool_cache_v1 *) ((char *) t + p->cache_offset);
      unsigned count = c->count;
      if (__builtin_expect (c->id == id && count != 0, 1))
        {
          void *object = c->objects[count - 1];
          __atomic_store_n (&c->count, count - 1, __ATOMIC_RELAXED);
          *hm__pool_out_v1 (p, (size_t) object & p->slab_mask, (size_t) object) = 1;
          return object;
        }
    }
  return (hm_pool_get) (pool);
}
#define hm_pool_get(pool) hm__pool_get_inline ((pool))

static inline void
hm__pool_return_inline (HmPool *pool, void *object)
{
  struct hm__thread_v1 *t = hm__thread_v1;
  const struct hm__pool_v1 *p = (const struct hm__pool_v1 *) pool;
  if (__builtin_expect (t != NULL && pool != NULL && hm__fast_v1, 1))
    {
      unsigned long long id = p->cache_id;
      struct hm__pool_cache_v1 *c = (struct hm__pool_cache_v1 *) ((char *) t + p->cache_offset);
      unsigned count = c->count;
      size_t a = (size_t) object, slab = a & p->slab_mask;
      /* only an object of a slab this cache has seen: a live pool keeps its
       * slabs, and a freed pool's id matches no cache */
      if (__builtin_expect (c->id == id && count < p->cache_max && slab == c->known_slab, 1))
        {
          const struct hm__slab_v1 *s = (const struct hm__slab_v1 *) slab;
          unsigned long long offset = a - slab - p->first_offset;
          size_t i = (size_t) (((unsigned __int128) offset * p->reciprocal) >> 64);
          if (__builtin_expect (i < s->n_carved
                                && slab + p->first_offset + i * p->stride == a
                                && s->out[i] == 1, 1))
            {
              ((struct hm__slab_v1 *) slab)->out[i] = 0;
              c->objects[count] = object;
              __atomic_store_n (&c->count, count + 1, __ATOMIC_RELAXED);
              return;
            }
        }
    }
  (hm_pool_return) (pool, object);
}
#define hm_pool_return(pool, object) hm__pool_return_inline ((pool), (object))

#endif /* !HM_NO_INLINE */
#endif /* fast paths */

#ifdef __cplusplus
}
#endif
