/* hm-interpose.c — the interposed functions: malloc & co., exec, dlopen.
 *
 * Each hook forwards to glibc and, when tracing, records one event.  A free is
 * recorded before the real free and an allocation after the real malloc
 * returns, so another thread reusing the address always logs after us.
 *
 * The exported functions open with sampling mode's fast path (see
 * hm-sampler-private.h): while the thread's byte countdown stays above zero
 * an allocation is the C library's with no event, and a free is one range
 * compare.  Everything else — a sample, tracing every call, lifetime
 * analysis, profiles, another allocator — is in the *_slow functions.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hm-pool-private.h"
#include "hm-profile-private.h"
#include "hm-sampler-private.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* The return address into the program, in an exported hook. */
#define CALLER ((uintptr_t) __builtin_return_address (0))
/* The first allocation may come before our constructor (another library's
 * constructor, the loader): hm_tracing_here decides there, so none is missed. */
#define tracing_here hm_watching_here

/* A block came from an allocation function: its event (when tracing) and
 * its entry in the lifetime table (when analysing), with one stack. */
__attribute__ ((noinline)) void
hm_watch_alloc (HmAllocFn fn, HmLifetimeStrategy strategy, void *p, size_t size)
{
  hm_guard++;
  if (hm_lifetime_active)
    hm_lifetime_prefetch (p);          /* overlaps the stack's capture */
  uint32_t stack = hm_stack_capture ();
  if (hm_agent.tracing)
    hm_emit_alloc_fn (fn, (uintptr_t) p, size, stack);
  if (hm_lifetime_active)
    hm_lifetime_note_alloc (p, size, strategy, stack);
  hm_guard--;
}

/* A block is being freed: lifetime analysis may find the call bad (drop
 * it) or hold the block in quarantine; otherwise its event is recorded
 * before the real free.  Returns whether the C library frees it now.
 *
 * The event's time is read first: once in quarantine, the block may be
 * evicted and its address handed to another thread by frees elsewhere
 * while this one is preempted, and that thread's allocation must not be
 * stamped before this free. */
__attribute__ ((noinline)) bool
hm_watch_free (HmAllocFn fn, HmLifetimeStrategy strategy, void *p, const char *function)
{
  HmFreeVerdict verdict = HM_FREE_PASS;
  bool tracing = hm_agent.tracing;
  uint64_t tsc = tracing ? hm_tsc () : 0;
  if (hm_lifetime_active)
    verdict = hm_lifetime_check_free (p, strategy, function, NULL);
  if (verdict == HM_FREE_DROP)
    return false;
  if (tracing)
    {
      hm_guard++;
      hm_emit_free_at (fn, (uintptr_t) p, tsc);
      hm_guard--;
    }
  return verdict == HM_FREE_PASS;
}

/* Under lifetime analysis, a reallocation by another allocator's function
 * is done as malloc, copy and a quarantined free, as checked_realloc does
 * for glibc's, so that pointers to the old block are seen dangling.  The
 * caller made the new block p (by the same allocator); old_size is what the
 * analysis knows of old. */
void
hm_watch_moved (HmAllocFn fn, uint64_t tsc, void *old, size_t old_size, void *p, size_t size)
{
  memcpy (p, old, old_size < size ? old_size : size);
  hm_guard++;
  uint32_t stack = hm_stack_capture ();
  if (hm_agent.tracing)
    hm_emit_realloc_fn (fn, tsc, (uintptr_t) old, 0, (uintptr_t) p, size, stack);
  hm_lifetime_note_alloc (p, size, HM_LIFETIME_MALLOC, stack);
  hm_guard--;
  if (hm_lifetime_check_free (old, HM_LIFETIME_MALLOC, "realloc", NULL) == HM_FREE_PASS)
    hm_program_free (old);
}

static inline void
record_alloc (HmAllocFn fn, void *p, size_t size)
{
  hm_watch_alloc (fn, HM_LIFETIME_MALLOC, p, size);
}

/* --- with profiling or an applied profile (hm-profile-private.h) ---------------
 *
 * A site is the return address of the call: free to get, no unwinding.  The
 * profile may have given the site a pool; its objects come back through free,
 * which tells them from the C library's blocks by the pools' slab map. */

/* Everything but a pool's fast path: recording, tracing, the C library. */
static __attribute__ ((noinline)) void *
profiled_alloc_general (HmAllocFn fn, size_t size, int zero, uintptr_t ret)
{
  HmProfileThread *t = hm_profile_self;
  void *p = NULL;

  if (HM_UNLIKELY (t == NULL))
    {
      hm_guard++;
      t = hm_profile_thread_register ();
      hm_guard--;
      if (t == NULL)
        goto plain;
    }
  uint32_t site = hm_profile_site (t, ret);
  if (HM_UNLIKELY (site == HM_PROFILE_NO_SITE))
    goto plain;
  HmProfileSiteInfo *g = &hm_profile_sites[site];
  if (g->pool != NULL && size <= g->pool_size && size != 0)
    {
      p = hm_pool_malloc_get (g->pool);
      if (p != NULL && zero)
        memset (p, 0, size);
    }
  if (p == NULL)
    p = zero ? __libc_calloc (1, size) : __libc_malloc (size);
  if (HM_UNLIKELY (p == NULL))
    return NULL;
  if (hm_profile_recording)
    hm_profile_note_alloc (t, site, p, size);
  if (HM_UNLIKELY (hm_agent.tracing | hm_lifetime_active))
    record_alloc (fn, p, size);
  return p;

plain:
  p = zero ? __libc_calloc (1, size) : __libc_malloc (size);
  if (p != NULL && tracing_here ())
    record_alloc (fn, p, size);
  return p;
}

/* The common case, inline in the hooks: a site this thread has seen, no
 * trace and no lifetime analysis to feed.  Its pool (if the profile gave it
 * one) or the C library serves it, and the thread counts it. */
static inline void *
profiled_alloc (HmAllocFn fn, size_t size, int zero, uintptr_t ret)
{
  HmProfileThread *t = hm_profile_self;
  if (HM_LIKELY (t != NULL) && !(hm_agent.tracing | hm_lifetime_active))
    {
      const HmProfileCacheEntry *e = &((const HmProfileCacheEntry *) t)[hm_profile_cache_index (ret)];
      uint32_t site = e->index;
      if (HM_LIKELY (e->ip == ret && site != HM_PROFILE_NO_SITE))
        {
          HmProfileSiteInfo *g = &hm_profile_sites[site];
          void *p;
          if (g->pool != NULL && size - 1 < g->pool_size
              && (p = hm_pool_malloc_get_inline (g->pool)) != NULL)
            {
              if (zero)
                memset (p, 0, size);
            }
          else
            {
              p = zero ? __libc_calloc (1, size) : __libc_malloc (size);
              if (HM_UNLIKELY (p == NULL))
                return NULL;
            }
          if (hm_profile_recording)
            hm_profile_note_alloc (t, site, p, size);
          return p;
        }
    }
  return profiled_alloc_general (fn, size, zero, ret);
}

/* A free with tracing or lifetime analysis to see to. */
static __attribute__ ((noinline)) void
profiled_free_watched (void *p)
{
  HmPool *pool = hm_profile_pools_active ? hm_pool_serving_malloc (p) : NULL;
  if (!hm_watch_free (HM_FN_FREE, HM_LIFETIME_MALLOC, p, "free"))
    return;
  if (pool != NULL)
    {
      hm_pool_malloc_return (pool, p);
      return;
    }
  if (hm_profile_trimming)
    hm_profile_trim_note_free (hm_profile_self, p);
  __libc_free (p);
}

static inline void
profiled_free (void *p)
{
  if (hm_profile_recording)
    hm_profile_note_free (hm_profile_self, p);
  if (HM_UNLIKELY (hm_agent.tracing | hm_lifetime_active))
    {
      profiled_free_watched (p);
      return;
    }
  if (hm_profile_pools_active && hm_pool_malloc_free_inline (p))
    return;
  if (HM_UNLIKELY (hm_profile_trimming))
    hm_profile_trim_note_free (hm_profile_self, p);
  __libc_free (p);
}

/* realloc of a pool object: a C library block takes its place. */
static void *
pool_realloc (HmPool *pool, void *old, size_t size)
{
  size_t old_size = hm_pool_object_size (pool);
  if (size == 0)
    {
      free (old);
      return NULL;
    }
  uint64_t tsc = hm_tsc ();
  void *p = __libc_malloc (size);
  if (p == NULL)
    return NULL;
  memcpy (p, old, old_size < size ? old_size : size);
  if (HM_UNLIKELY (hm_agent.tracing) && hm_guard == 0)
    {
      hm_guard++;
      hm_emit_realloc (tsc, (uintptr_t) old, (uintptr_t) p, size, hm_stack_capture ());
      hm_guard--;
    }
  hm_pool_malloc_return (pool, old);
  return p;
}

/* --- another allocator: jemalloc, mimalloc ------------------------------------
 *
 * A program linked with jemalloc or mimalloc gets its malloc from that
 * library; preloaded, we come first, and forwarding to glibc would swap
 * the program's allocator for glibc's behind its back.  At the first hook
 * call we ask the loader who defines malloc after us: if it is not the C
 * library, every hook forwards to that object's functions (and a block's
 * free goes where its malloc went).  The lookup (dlsym, dladdr) does not
 * allocate when it succeeds; a call that comes back into a hook while this
 * thread is deciding is served by glibc, as before the decision.
 *
 * Calls into the other allocator run with the guard up: what it does
 * inside (its own mmap, munmap, a mi_malloc behind malloc) is its business,
 * not an event of the program's.  With another allocator, an applied
 * profile's pools are not used, and realloc under lifetime analysis is
 * the allocator's own (not malloc, copy and quarantine). */

int hm_next_kind HM_HIDDEN;

static struct {
  void *(*malloc) (size_t);
  void (*free) (void *);
  void *(*calloc) (size_t, size_t);
  void *(*realloc) (void *, size_t);
  int (*posix_memalign) (void **, size_t, size_t);
  void *(*memalign) (size_t, size_t);
  void *(*aligned_alloc) (size_t, size_t);
  void *(*valloc) (size_t);
  void *(*pvalloc) (size_t);
  char path[256];
} next;

static __thread int deciding_next HM_TLS;

void *
hm_next_symbol (const char *name)
{
  hm_guard++;
  /* injected, we are not in the global scope: the first definition is the one */
  void *sym = dlsym (hm_agent.injected ? RTLD_DEFAULT : RTLD_NEXT, name);
  hm_guard--;
  return sym;
}

/* The symbol, when it is defined by the object that defines malloc. */
static void *
next_in (const char *name, const void *base)
{
  void *sym = hm_next_symbol (name);
  if (sym == NULL || hm_object_base (sym) != (uintptr_t) base)
    return NULL;
  return sym;
}

static void
decide_next (void)
{
  int kind = HM_NEXT_LIBC;

  deciding_next = 1;
  void *m = hm_next_symbol ("malloc");
  uintptr_t m_base = m != NULL ? hm_object_base (m) : 0;
  if (m_base != 0 && m_base != hm_object_base ((void *) __libc_malloc))
    {
      const void *base = (const void *) m_base;
      Dl_info other;
      next.malloc = m;
      next.free = next_in ("free", base);
      next.calloc = next_in ("calloc", base);
      next.realloc = next_in ("realloc", base);
      next.posix_memalign = next_in ("posix_memalign", base);
      next.memalign = next_in ("memalign", base);
      next.aligned_alloc = next_in ("aligned_alloc", base);
      next.valloc = next_in ("valloc", base);
      next.pvalloc = next_in ("pvalloc", base);
      /* without its own free, calloc, realloc and an aligned allocation it
       * is not an allocator we can forward to as a whole: leave it be */
      if (next.free && next.calloc && next.realloc && next.posix_memalign)
        {
          kind = HM_NEXT_FOREIGN;
          if (dladdr (m, &other) && other.dli_fname != NULL)
            strncpy (next.path, other.dli_fname, sizeof next.path - 1);
        }
    }
  deciding_next = 0;
  __atomic_store_n (&hm_next_kind, kind, __ATOMIC_RELEASE);
  hm_hooks_refresh ();
}

/* Whether the hooks forward to another allocator; decides on first use. */
static __attribute__ ((noinline)) bool
next_is_foreign (void)
{
  int kind = __atomic_load_n (&hm_next_kind, __ATOMIC_ACQUIRE);
  if (kind == HM_NEXT_UNDECIDED)
    {
      if (deciding_next)
        return false;
      decide_next ();
      kind = hm_next_kind;
    }
  return kind == HM_NEXT_FOREIGN;
}

#define FOREIGN() (HM_UNLIKELY (hm_next_kind != HM_NEXT_LIBC) && next_is_foreign ())

bool
hm_next_is_foreign (void)
{
  return next_is_foreign ();
}

const char *
hm_next_allocator_path (void)
{
  return hm_next_kind == HM_NEXT_FOREIGN ? next.path : NULL;
}

void
hm_program_free (void *p)
{
  if (hm_next_kind == HM_NEXT_FOREIGN)
    next.free (p);
  else
    __libc_free (p);
}

static void *
next_aligned (size_t alignment, size_t size)
{
  void *p = NULL;
  if (next.memalign != NULL)
    return next.memalign (alignment, size);
  if (alignment < sizeof (void *))
    alignment = sizeof (void *);
  return next.posix_memalign (&p, alignment, size) == 0 ? p : NULL;
}

static __attribute__ ((noinline)) void *
foreign_alloc (HmAllocFn fn, size_t alignment, size_t n, size_t size)
{
  void *p;
  hm_guard++;
  switch (fn)
    {
    case HM_FN_CALLOC:
      p = next.calloc (n, size);
      size *= n;
      break;
    case HM_FN_MEMALIGN:
      p = next_aligned (alignment, size);
      break;
    case HM_FN_ALIGNED_ALLOC:
      p = next.aligned_alloc ? next.aligned_alloc (alignment, size)
                             : next_aligned (alignment, size);
      break;
    case HM_FN_VALLOC:
      p = next.valloc ? next.valloc (size) : next_aligned ((size_t) getpagesize (), size);
      break;
    case HM_FN_PVALLOC:
      {
        size_t page = (size_t) getpagesize ();
        size_t rounded = (size + page - 1) & ~(page - 1);
        p = next.pvalloc ? next.pvalloc (size) : next_aligned (page, rounded ? rounded : page);
      }
      break;
    default:
      p = next.malloc (size);
      break;
    }
  hm_guard--;
  if (p != NULL && tracing_here ())
    record_alloc (fn, p, size);
  return p;
}

static __attribute__ ((noinline)) void
foreign_free (void *p)
{
  if (tracing_here () && !hm_watch_free (HM_FN_FREE, HM_LIFETIME_MALLOC, p, "free"))
    return;
  hm_guard++;
  next.free (p);
  hm_guard--;
}

static __attribute__ ((noinline)) void *
foreign_realloc (HmAllocFn fn, void *old, size_t size)
{
  void *p;
  if (old == NULL)
    {
      hm_guard++;
      p = next.realloc (NULL, size);
      hm_guard--;
      if (p != NULL && tracing_here ())
        record_alloc (fn, p, size);
      return p;
    }
  bool watching = tracing_here ();
  if (size == 0)
    {
      /* a free (mimalloc hands back a new small block: an allocation) */
      if (watching && !hm_watch_free (HM_FN_REALLOC, HM_LIFETIME_MALLOC, old, "realloc"))
        return NULL;
      hm_guard++;
      p = next.realloc (old, 0);
      hm_guard--;
      if (p != NULL && watching)
        record_alloc (fn, p, 0);
      return p;
    }
  uint64_t tsc = hm_tsc ();
  if (watching && hm_lifetime_active)
    {
      int known;
      size_t old_size = hm_lifetime_block_size (old, &known);
      if (known)
        {
          hm_guard++;
          p = next.malloc (size);
          hm_guard--;
          if (p != NULL)
            hm_watch_moved (fn, tsc, old, old_size, p, size);
          return p;
        }
    }
  hm_guard++;
  p = next.realloc (old, size);
  hm_guard--;
  if (p != NULL && watching && hm_agent.tracing)
    {
      hm_guard++;
      hm_emit_realloc (tsc, (uintptr_t) old, (uintptr_t) p, size, hm_stack_capture ());
      hm_guard--;
    }
  return p;
}

/* The first call of all decides whether to trace and sample (never with
 * another allocator: hm_agent_decide asks first). */
static inline bool
sampling_now (void)
{
  if (HM_UNLIKELY (!hm_agent.decided))
    hm_agent_decide ();
  bool on = __atomic_load_n (&hm_sampler.on, __ATOMIC_ACQUIRE);
  /* a countdown left by an attach that sampled: it would let this thread's
   * small allocations skip the hooks */
  if (HM_UNLIKELY (!on && hm_sample_left != 0))
    hm_sampler_thread_disarm ();
  return on;
}

static __attribute__ ((noinline)) void *
malloc_slow (size_t size, uintptr_t ret)
{
  if (FOREIGN ())
    return foreign_alloc (HM_FN_MALLOC, 0, 1, size);
  if (sampling_now ())
    {
      void *p = hm_sample_alloc (HM_FN_MALLOC, size, 0, 0, ret);
      return p != NULL ? p : __libc_malloc (size);
    }
  if (HM_UNLIKELY (hm_profile_active) && hm_guard == 0)
    return profiled_alloc (HM_FN_MALLOC, size, 0, ret);
  void *p = __libc_malloc (size);
  if (tracing_here () && p != NULL)
    record_alloc (HM_FN_MALLOC, p, size);
  return p;
}

/* Nothing watches the program's blocks: the agent has decided, the malloc
 * is glibc's, and no trace, sample, profile or lifetime analysis is on (a
 * linked program that only uses the manager, or a process after a
 * debugger detached).  Then the hooks are a handful of loads before glibc,
 * as the slow paths would do the same in fifty instructions.  One flag,
 * kept by hm_hooks_refresh wherever one of its inputs changes: the six
 * loads it stands for made a linked program's every malloc 14% slower. */
int hm_hooks_idle_now HM_HIDDEN;

void
hm_hooks_refresh (void)
{
  int idle = __atomic_load_n (&hm_next_kind, __ATOMIC_ACQUIRE) == HM_NEXT_LIBC
             && __atomic_load_n (&hm_agent.decided, __ATOMIC_ACQUIRE)
             && !(__atomic_load_n (&hm_agent.tracing, __ATOMIC_ACQUIRE)
                  | __atomic_load_n (&hm_lifetime_active, __ATOMIC_ACQUIRE)
                  | __atomic_load_n (&hm_profile_active, __ATOMIC_ACQUIRE)
                  | __atomic_load_n (&hm_sampler.on, __ATOMIC_ACQUIRE))
             /* sampled blocks, even after sampling, are freed by free_slow */
             && __atomic_load_n (&hm_sampler.arena_size, __ATOMIC_ACQUIRE) == 0;
  __atomic_store_n (&hm_hooks_idle_now, idle, __ATOMIC_RELEASE);
  /* idle: no arena, nothing to watch; else the watched range's start,
   * which is 0 (everything) unless sampling (hm_free_direct) */
  __atomic_store_n (&hm_sampler.free_direct_below,
                    idle ? UINTPTR_MAX
                         : __atomic_load_n (&hm_sampler.free_watch_start, __ATOMIC_ACQUIRE),
                    __ATOMIC_RELEASE);
}

static inline bool
hooks_idle (void)
{
  return HM_LIKELY (__atomic_load_n (&hm_hooks_idle_now, __ATOMIC_RELAXED));
}

HM_EXPORT void *
malloc (size_t size)
{
  /* hm_sample_left is positive only while sampling, and only until this
   * thread's next sample (hm-sampler-private.h) */
  if (hm_sample_skip (size) || hooks_idle ())
    return __libc_malloc (size);
  /* profiling (never while sampling, nor with another allocator) */
  if (HM_UNLIKELY (hm_profile_active) && hm_guard == 0 && hm_next_kind == HM_NEXT_LIBC)
    return profiled_alloc (HM_FN_MALLOC, size, 0, CALLER);
  return malloc_slow (size, CALLER);
}

static __attribute__ ((noinline)) void
free_slow (void *p)
{
  /* free() has given the arena's blocks back already */
  if (p == NULL)
    return;
  if (hm_sampler.on)
    {
      __libc_free (p);
      return;
    }
  if (FOREIGN ())
    {
      foreign_free (p);
      return;
    }
  if (HM_UNLIKELY (hm_profile_active) && hm_guard == 0)
    {
      profiled_free (p);
      return;
    }
  if (tracing_here () && !hm_watch_free (HM_FN_FREE, HM_LIFETIME_MALLOC, p, "free"))
    return;
  __libc_free (p);
}

HM_EXPORT void
free (void *p)
{
  /* while sampling, a block outside the arena was not sampled: nothing to
   * write (hm-sampler-private.h) */
  if (HM_LIKELY (hm_free_direct (p)))
    {
      __libc_free (p);
      return;
    }
  if (HM_UNLIKELY (hm_free_watched (p)) && !hooks_idle ())
    {
      /* the arena's blocks come back to it whatever else is on (also after
       * an attach that sampled has gone) */
      if (HM_UNLIKELY (hm_sampled_block (p)))
        {
          hm_sample_free (HM_FN_FREE, p);
          return;
        }
      if (HM_UNLIKELY (hm_profile_active) && hm_guard == 0 && hm_next_kind == HM_NEXT_LIBC
          && p != NULL)
        profiled_free (p);
      else
        free_slow (p);
      return;
    }
  __libc_free (p);
}

static __attribute__ ((noinline)) void *
calloc_slow (size_t n, size_t size, uintptr_t ret)
{
  size_t bytes;
  bool overflow = __builtin_mul_overflow (n, size, &bytes);
  if (FOREIGN ())
    return foreign_alloc (HM_FN_CALLOC, 0, n, size);
  if (sampling_now ())
    {
      void *p = overflow ? NULL : hm_sample_alloc (HM_FN_CALLOC, bytes, 0, 1, ret);
      return p != NULL ? p : __libc_calloc (n, size);
    }
  if (HM_UNLIKELY (hm_profile_active) && hm_guard == 0 && !overflow)
    return profiled_alloc (HM_FN_CALLOC, bytes, 1, ret);
  void *p = __libc_calloc (n, size);
  if (tracing_here () && p != NULL)
    record_alloc (HM_FN_CALLOC, p, n * size);
  return p;
}

HM_EXPORT void *
calloc (size_t n, size_t size)
{
  size_t bytes;
  if (HM_LIKELY (!__builtin_mul_overflow (n, size, &bytes)))
    {
      if (hm_sample_skip (bytes) || hooks_idle ())
        return __libc_calloc (n, size);
    }
  return calloc_slow (n, size, CALLER);
}

/* With lifetime analysis, realloc is malloc, copy and a quarantined free,
 * so that pointers to the old block are seen dangling, not silently valid. */
static void *
checked_realloc (HmAllocFn fn, void *old, size_t size, bool *handled)
{
  int known;
  size_t old_size = hm_lifetime_block_size (old, &known);
  void *p;

  *handled = true;
  if (!known)
    {
      HmFreeVerdict verdict = hm_lifetime_check_free (old, HM_LIFETIME_MALLOC, "realloc", NULL);
      if (verdict == HM_FREE_PASS)
        {
          *handled = false;   /* allocated before analysis: realloc as usual */
          return NULL;
        }
      /* a bad pointer: the program gets a new block, as if it had none */
      p = __libc_malloc (size);
      if (p != NULL)
        record_alloc (fn, p, size);
      return p;
    }
  uint64_t tsc = hm_tsc ();
  p = __libc_malloc (size);
  if (p == NULL)
    return NULL;
  memcpy (p, old, old_size < size ? old_size : size);
  hm_guard++;
  uint32_t stack = hm_stack_capture ();
  if (hm_agent.tracing)
    hm_emit_realloc (tsc, (uintptr_t) old, (uintptr_t) p, size, stack);
  hm_lifetime_note_alloc (p, size, HM_LIFETIME_MALLOC, stack);
  hm_guard--;
  hm_lifetime_check_free (old, HM_LIFETIME_MALLOC, "realloc", NULL);
  return p;
}

static void *
traced_realloc (HmAllocFn fn, void *old, size_t size)
{
  void *p;

  if (HM_UNLIKELY (hm_profile_active) && old != NULL && hm_guard == 0)
    {
      /* the old block ends here, whatever realloc does */
      if (hm_profile_recording)
        hm_profile_note_free (hm_profile_self, old);
      HmPool *pool = hm_profile_pools_active ? hm_pool_serving_malloc (old) : NULL;
      if (pool != NULL)
        return pool_realloc (pool, old, size);
    }

  if (hm_lifetime_active && old != NULL && size != 0)
    {
      bool handled;
      p = checked_realloc (fn, old, size, &handled);
      if (handled)
        return p;
    }

  if (old == NULL)
    {
      p = __libc_realloc (NULL, size);
      if (p != NULL)
        record_alloc (fn, p, size);
      return p;
    }
  if (size == 0)
    {
      /* glibc frees the block and returns NULL */
      if (!hm_watch_free (HM_FN_REALLOC, HM_LIFETIME_MALLOC, old, "realloc"))
        return NULL;
      return __libc_realloc (old, 0);
    }

  /* The old block may be freed inside realloc and its address reused at once
   * by another thread: the event carries the time from before the call. */
  uint64_t tsc = hm_tsc ();
  p = __libc_realloc (old, size);
  if (p != NULL && hm_agent.tracing)
    {
      hm_guard++;
      hm_emit_realloc (tsc, (uintptr_t) old, (uintptr_t) p, size, hm_stack_capture ());
      hm_guard--;
    }
  return p;
}

/* glibc exports no __libc_ name for it: found once at start. */
static size_t (*real_malloc_usable_size) (void *);

static size_t
libc_usable_size (void *p)
{
  if (real_malloc_usable_size == NULL)
    {
      hm_guard++;
      /* injected, we are not in the global scope: libc's is the first there */
      real_malloc_usable_size = dlsym (hm_agent.injected ? RTLD_DEFAULT : RTLD_NEXT,
                                       "malloc_usable_size");
      hm_guard--;
      if (real_malloc_usable_size == NULL)
        return 0;
    }
  return real_malloc_usable_size (p);
}

/* realloc while sampling.  Whether the new block is sampled is decided as
 * for any allocation of size bytes; a sampled block moves to or from the
 * arena by copy.  Events: a REALLOC when both blocks are sampled, the new
 * block's ALLOC (fn realloc) when only it is, the old one's FREE (fn
 * realloc) when only that one is, none when neither. */
static void *
sampled_realloc (HmAllocFn fn, void *old, size_t size, uintptr_t ret)
{
  if (hm_sampled_block (old))
    {
      if (size == 0)
        {
          hm_sample_free (HM_FN_REALLOC, old);   /* glibc's realloc(p, 0) frees too */
          return NULL;
        }
      size_t old_size = hm_sample_block_size (old);
      size_t n = old_size < size ? old_size : size;
      uint64_t tsc = hm_tsc ();
      /* sampling may be off since (an attach ended): then to the C library */
      bool sampling = __atomic_load_n (&hm_sampler.on, __ATOMIC_ACQUIRE);
      if (sampling && hm_sample_decide (size))
        {
          void *p = hm_sample_arena_alloc (size, 0);
          if (p != NULL)
            {
              memcpy (p, old, n);
              if (hm_sampler.to_profile)
                {
                  hm_profile_sampled_free (old);
                  hm_profile_note_sampled (ret, p, size, hm_sampler.mean_bytes);
                }
              if (hm_agent.tracing)
                {
                  hm_guard++;
                  hm_emit_realloc (tsc, (uintptr_t) old, (uintptr_t) p, size, hm_stack_capture ());
                  hm_guard--;
                }
              hm_sample_arena_free (old);
              if (hm_agent.tracing)
                hm_writer_round_inline (false);
              return p;
            }
        }
      void *p = __libc_malloc (size);
      if (p == NULL)
        return NULL;       /* the old block is left as it was, as realloc does */
      memcpy (p, old, n);
      hm_sample_free (HM_FN_REALLOC, old);
      if (!sampling && tracing_here ())
        record_alloc (fn, p, size);   /* a later session that records every block */
      return p;
    }
  if (size != 0 && hm_sample_decide (size))
    {
      void *p = hm_sample_arena_alloc (size, 0);
      if (p != NULL)
        {
          if (old != NULL)
            {
              size_t n = libc_usable_size (old);
              memcpy (p, old, n < size ? n : size);
              __libc_free (old);
            }
          hm_sample_note_alloc (fn, p, size, ret);
          return p;
        }
    }
  return __libc_realloc (old, size);
}

static __attribute__ ((noinline)) void *
realloc_slow (HmAllocFn fn, void *old, size_t size, uintptr_t ret)
{
  if (FOREIGN ())
    return foreign_realloc (fn, old, size);
  if (sampling_now () || hm_sampled_block (old))
    return sampled_realloc (fn, old, size, ret);
  if (!tracing_here () && !hm_profile_active)
    return __libc_realloc (old, size);
  return traced_realloc (fn, old, size);
}

HM_EXPORT void *
realloc (void *old, size_t size)
{
  if (HM_LIKELY (!hm_sampled_block (old)))
    {
      if (hm_sample_skip (size) || hooks_idle ())
        return __libc_realloc (old, size);
    }
  return realloc_slow (HM_FN_REALLOC, old, size, CALLER);
}

HM_EXPORT void *
reallocarray (void *old, size_t n, size_t size)
{
  size_t bytes;
  if (__builtin_mul_overflow (n, size, &bytes))
    {
      errno = ENOMEM;
      return NULL;
    }
  if (HM_LIKELY (!hm_sampled_block (old)))
    {
      if (hm_sample_skip (bytes))
        return __libc_realloc (old, bytes);
    }
  return realloc_slow (HM_FN_REALLOCARRAY, old, bytes, CALLER);
}

/* The aligned allocators while sampling: a sampled block, or NULL for the
 * C library's.  alignment is a power of two. */
static void *
sample_aligned (HmAllocFn fn, size_t alignment, size_t size, uintptr_t ret)
{
  if (hm_sample_skip (size))
    return NULL;
  return hm_sample_alloc (fn, size, alignment, 0, ret);
}

HM_EXPORT void *
memalign (size_t alignment, size_t size)
{
  if (FOREIGN ())
    return foreign_alloc (HM_FN_MEMALIGN, alignment, 1, size);
  if (sampling_now ())
    {
      /* glibc rounds an alignment that is not a power of two up to one */
      size_t a = 16;
      while (a < alignment && a < ((size_t) 1 << 40))
        a <<= 1;
      void *p = sample_aligned (HM_FN_MEMALIGN, a, size, CALLER);
      return p != NULL ? p : __libc_memalign (alignment, size);
    }
  void *p = __libc_memalign (alignment, size);
  if (tracing_here () && p != NULL)
    record_alloc (HM_FN_MEMALIGN, p, size);
  return p;
}

HM_EXPORT int
posix_memalign (void **out, size_t alignment, size_t size)
{
  if (alignment % sizeof (void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0)
    return EINVAL;
  if (FOREIGN ())
    {
      hm_guard++;
      void *q = NULL;
      int err = next.posix_memalign (&q, alignment, size);
      hm_guard--;
      if (err != 0)
        return err;
      *out = q;
      if (tracing_here ())
        record_alloc (HM_FN_POSIX_MEMALIGN, q, size);
      return 0;
    }
  void *p = sampling_now () ? sample_aligned (HM_FN_POSIX_MEMALIGN, alignment, size, CALLER) : NULL;
  if (p != NULL)
    {
      *out = p;
      return 0;
    }
  p = __libc_memalign (alignment, size);
  if (p == NULL)
    return ENOMEM;
  *out = p;
  if (!hm_sampler.on && tracing_here ())
    record_alloc (HM_FN_POSIX_MEMALIGN, p, size);
  return 0;
}

HM_EXPORT void *
aligned_alloc (size_t alignment, size_t size)
{
  /* glibc accepts any power of two; so do we */
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    {
      errno = EINVAL;
      return NULL;
    }
  if (FOREIGN ())
    return foreign_alloc (HM_FN_ALIGNED_ALLOC, alignment, 1, size);
  if (sampling_now ())
    {
      void *p = sample_aligned (HM_FN_ALIGNED_ALLOC, alignment, size, CALLER);
      return p != NULL ? p : __libc_memalign (alignment, size);
    }
  void *p = __libc_memalign (alignment, size);
  if (tracing_here () && p != NULL)
    record_alloc (HM_FN_ALIGNED_ALLOC, p, size);
  return p;
}

HM_EXPORT void *
valloc (size_t size)
{
  if (FOREIGN ())
    return foreign_alloc (HM_FN_VALLOC, 0, 1, size);
  if (sampling_now ())
    {
      void *p = sample_aligned (HM_FN_VALLOC, (size_t) sysconf (_SC_PAGESIZE), size, CALLER);
      return p != NULL ? p : __libc_valloc (size);
    }
  void *p = __libc_valloc (size);
  if (tracing_here () && p != NULL)
    record_alloc (HM_FN_VALLOC, p, size);
  return p;
}

HM_EXPORT void *
pvalloc (size_t size)
{
  if (FOREIGN ())
    return foreign_alloc (HM_FN_VALLOC, 0, 1, size);
  if (sampling_now ())
    {
      /* whole pages, at least one, as glibc's */
      size_t page = (size_t) sysconf (_SC_PAGESIZE);
      size_t rounded = size == 0 ? page : (size + page - 1) & ~(page - 1);
      void *p = rounded >= size ? sample_aligned (HM_FN_PVALLOC, page, rounded, CALLER) : NULL;
      return p != NULL ? p : __libc_pvalloc (size);
    }
  void *p = __libc_pvalloc (size);
  if (tracing_here () && p != NULL)
    record_alloc (HM_FN_PVALLOC, p, size);
  return p;
}

HM_EXPORT size_t
malloc_usable_size (void *p)
{
  if (p == NULL)
    return 0;
  if (HM_UNLIKELY (hm_sampled_block (p)))
    return hm_sample_usable_size (p);
  if (HM_UNLIKELY (hm_profile_pools_active))
    {
      HmPool *pool = hm_pool_serving_malloc (p);
      if (pool != NULL)
        return hm_pool_object_size (pool);
    }
  return libc_usable_size (p);
}

/* For hm-got.c: the functions an injected agent points GOT entries at, by
 * hidden aliases (a reference to "malloc" from inside the library could be
 * bound to libc's).  malloc first. */
#define HOOK(name) \
  extern __typeof (name) hm_hook_##name                                    \
      __attribute__ ((alias (#name), copy (name), visibility ("hidden")));
HOOK (malloc)
HOOK (free)
HOOK (calloc)
HOOK (realloc)
HOOK (reallocarray)
HOOK (memalign)
HOOK (posix_memalign)
HOOK (aligned_alloc)
HOOK (valloc)
HOOK (pvalloc)
HOOK (malloc_usable_size)
#undef HOOK

HM_HIDDEN const char *const hm_hook_names[] = {
  "malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign",
  "aligned_alloc", "valloc", "pvalloc", "malloc_usable_size",
};
HM_HIDDEN void *const hm_hook_functions[] = {
  (void *) hm_hook_malloc, (void *) hm_hook_free, (void *) hm_hook_calloc,
  (void *) hm_hook_realloc, (void *) hm_hook_reallocarray, (void *) hm_hook_memalign,
  (void *) hm_hook_posix_memalign, (void *) hm_hook_aligned_alloc, (void *) hm_hook_valloc,
  (void *) hm_hook_pvalloc, (void *) hm_hook_malloc_usable_size,
};
HM_HIDDEN const unsigned hm_n_hooks = sizeof hm_hook_names / sizeof hm_hook_names[0];

/* --- process lifetime: main's status, exit, exec ------------------------------ */

typedef int (*MainFn) (int, char **, char **);
static MainFn real_main;

static int
wrapped_main (int argc, char **argv, char **envp)
{
  int status = real_main (argc, argv, envp);
  hm_agent_note_exit (status);
  return status;
}

int __libc_start_main (MainFn main_fn, int argc, char **argv, void (*init) (void),
                       void (*fini) (void), void (*rtld_fini) (void), void *stack_end);

/* Wrapping main is the one way to learn the status a program returns from it;
 * exit() called inside libc is not interposable. */
HM_EXPORT int
__libc_start_main (MainFn main_fn, int argc, char **argv, void (*init) (void),
                   void (*fini) (void), void (*rtld_fini) (void), void *stack_end)
{
  int (*real) (MainFn, int, char **, void (*) (void), void (*) (void), void (*) (void), void *);
  hm_guard++;
  real = dlsym (RTLD_NEXT, "__libc_start_main");
  hm_guard--;
  real_main = main_fn;
  return real (wrapped_main, argc, argv, init, fini, rtld_fini, stack_end);
}

HM_EXPORT void
exit (int status)
{
  void (*real) (int) __attribute__ ((noreturn));
  hm_agent_note_exit (status);
  hm_guard++;
  real = dlsym (RTLD_NEXT, "exit");
  hm_guard--;
  real (status);
}

HM_EXPORT void
_exit (int status)
{
  /* no destructors will run: write the trace and the profile now */
  hm_agent_note_exit (status);
  hm_profile_save_at_exit ();
  if (getpid () == hm_agent.pid)
    hm_listener_remove_socket ();
  if (hm_agent.tracing && getpid () == hm_agent.pid)
    {
      hm_writer_flush (HM_END_EXIT, status);
      hm_agent.tracing = 0;
      hm_hooks_refresh ();
    }
  _Exit (status);
}

typedef int (*ExecveFn) (const char *, char *const[], char *const[]);
typedef int (*ExecvpeFn) (const char *, char *const[], char *const[]);
typedef int (*FexecveFn) (int, char *const[], char *const[]);

static void *
next_symbol (const char *name)
{
  hm_guard++;
  void *sym = dlsym (RTLD_NEXT, name);
  hm_guard--;
  return sym;
}

HM_EXPORT int
execve (const char *path, char *const argv[], char *const envp[])
{
  ExecveFn real = next_symbol ("execve");
  hm_agent_before_exec (path);
  int r = real (path, argv, envp);
  hm_agent_exec_failed ();
  return r;
}

HM_EXPORT int
execv (const char *path, char *const argv[])
{
  return execve (path, argv, environ);
}

HM_EXPORT int
execvpe (const char *file, char *const argv[], char *const envp[])
{
  ExecvpeFn real = next_symbol ("execvpe");
  hm_agent_before_exec (file);
  int r = real (file, argv, envp);
  hm_agent_exec_failed ();
  return r;
}

HM_EXPORT int
execvp (const char *file, char *const argv[])
{
  return execvpe (file, argv, environ);
}

HM_EXPORT int
fexecve (int fd, char *const argv[], char *const envp[])
{
  FexecveFn real = next_symbol ("fexecve");
  hm_agent_before_exec (NULL);
  int r = real (fd, argv, envp);
  hm_agent_exec_failed ();
  return r;
}

/* The execl family: argv on the stack, then the execv equivalents. */
#define COLLECT_ARGS(arg0, args, argv, rest)                        \
  size_t n_args = 1;                                               \
  va_list count;                                                   \
  va_copy (count, args);                                           \
  while (va_arg (count, const char *) != NULL)                     \
    n_args++;                                                      \
  va_end (count);                                                  \
  char *argv[n_args + 1];                                          \
  argv[0] = (char *) arg0;                                         \
  for (size_t i = 1; i <= n_args; i++)                             \
    argv[i] = va_arg (args, char *);                               \
  rest

HM_EXPORT int
execl (const char *path, const char *arg0, ...)
{
  va_list args;
  va_start (args, arg0);
  COLLECT_ARGS (arg0, args, argv, va_end (args));
  return execve (path, argv, environ);
}

HM_EXPORT int
execlp (const char *file, const char *arg0, ...)
{
  va_list args;
  va_start (args, arg0);
  COLLECT_ARGS (arg0, args, argv, va_end (args));
  return execvpe (file, argv, environ);
}

HM_EXPORT int
execle (const char *path, const char *arg0, ...)
{
  va_list args;
  va_start (args, arg0);
  COLLECT_ARGS (arg0, args, argv, (void) 0);
  char *const *envp = va_arg (args, char *const *);
  va_end (args);
  return execve (path, argv, envp);
}

/* --- the loader: objects loaded later are recorded too ------------------------- */

HM_EXPORT void *
dlopen (const char *file, int mode)
{
  void *(*real) (const char *, int) = next_symbol ("dlopen");
  /* RTLD_DEEPBIND would bind the object to libc's malloc, past us. */
  if (hm_agent.tracing)
    mode &= ~RTLD_DEEPBIND;
  void *handle = real (file, mode);
  if (handle != NULL && hm_agent.tracing)
    {
      hm_modules_scan ();
      hm_client_requests_scan ();
    }
  return handle;
}

HM_EXPORT int
dlclose (void *handle)
{
  int (*real) (void *) = next_symbol ("dlclose");
  /* Record the object before it goes: its stacks are still to be symbolised. */
  if (hm_agent.tracing)
    hm_modules_scan ();
  int r = real (handle);
  if (hm_agent.tracing)
    hm_modules_scan ();
  return r;
}
