/* hm-sampler-private.h — sampling mode (HM_SAMPLE_BYTES=N): which
 * allocations are recorded, and where sampled blocks live.
 *
 * Byte-weighted Poisson sampling, as tcmalloc's and jemalloc's heap
 * profilers do it: each thread counts down a number of bytes drawn from an
 * exponential distribution with mean N; the allocation that takes the count
 * to zero or below is sampled (its event and stack go into the trace) and a
 * new count is drawn.  A block of s bytes is so sampled with probability
 * 1 - exp(-s/N), and the reader weighs it by the inverse (core/trace-format.md).
 *
 * Why sampled blocks live in an arena of our own: the free of an unsampled
 * block must cost next to nothing, and must write nothing.  A table of
 * sampled addresses would cost every free a hash and a likely cache miss;
 * a header or tag in glibc's blocks cannot be told from program data.  So,
 * as GWP-ASan does, sampled blocks come from one range of address space the
 * agent reserved, and free() knows a sampled block by one unsigned compare
 * of the pointer against that range (hm_sampled_block).  Sampled blocks are
 * rare (one per N bytes on average), so the arena's allocator may be simple
 * and take a lock.
 */
#pragma once

#include "hm-agent-private.h"

typedef struct {
  /* read by every free and by the hooks' slow paths: one cache line */
  uintptr_t free_direct_below __attribute__ ((aligned (64)));
                               /* free() gives a block below this address straight
                                * to the C library (hm_hooks_refresh keeps it) */
  uintptr_t free_watch_start;
  uintptr_t free_watch_size;   /* of the others, free() sends [start, start + size)
                                * to its slow path: every address unless sampling,
                                * the arena while */
  uintptr_t arena_start;
  uintptr_t arena_size;        /* 0: no arena (sampling is off) */
  int on;                      /* sampling mode: only sampled blocks are recorded */
  uint64_t mean_bytes;         /* N */
  int to_profile;              /* the samples feed a profile's estimates (hm-profiler.c) */
} HmSampler;

extern HmSampler hm_sampler HM_HIDDEN;

/* Bytes the calling thread may still allocate before its next sample; 0 in
 * a thread that has not drawn one yet, and always 0 without sampling, so
 * that the hooks' one test (bytes left after this call > 0) sends every
 * call of an unsampled run, and a new thread's first, to the slow path. */
extern __thread int64_t hm_sample_left HM_TLS HM_HIDDEN;

/* The hooks' fast path: true, and the bytes counted, when this allocation
 * does not reach the thread's next sample.  Compared unsigned, so that a
 * size no allocator can serve (malloc (SIZE_MAX)) is never taken for a
 * negative one.  On false the count is as it was.
 *
 * On x86-64 the count and the test are one subtraction from the
 * thread-local count in place and a branch on its flags (below or equal:
 * it borrowed or reached zero, i.e. size >= left unsigned), which is what
 * an allocation that is not sampled costs besides the jump to the C
 * library; the slow way gives the bytes back.  C cannot say "subtract in
 * memory and branch on the flags": compilers load, compare, subtract and
 * store, three more instructions on every malloc (bench-sampling counts
 * them with callgrind: glibc's own malloc/free pair is about 190). */
static inline bool
hm_sample_skip (size_t size)
{
#if HAVE_ASM_GOTO_X86_64
  __asm__ goto ("subq %1, %0\n\tjbe %l[reached]"
                : /* no outputs: GCC 12 drops the label's path of an asm goto
                   * with a "+m" output (it jumped into the next function) */
                : "m" (hm_sample_left), "r" (size) : "cc", "memory" : reached);
  return true;
reached:
  hm_sample_left += (int64_t) size;
  return false;
#else
  int64_t left = hm_sample_left;
  if (HM_LIKELY ((uint64_t) size < (uint64_t) left))
    {
      hm_sample_left = left - (int64_t) size;
      return true;
    }
  return false;
#endif
}

static inline bool
hm_sampled_block (const void *p)
{
  return (uintptr_t) p - hm_sampler.arena_start < hm_sampler.arena_size;
}

/* free()'s first test, one compare: true for a block that is surely the C
 * library's and has nothing to record.  While sampling the bound is the
 * arena's start: the arena is reserved at the agent's start, and as the
 * kernel hands out address space from the top down, the C library's heap,
 * its mmapped blocks and the threads' arenas come to lie below it.  What
 * lies above (the loaded objects, an early mapping, a block that found a
 * hole up there) takes the exact test next, a few instructions more.
 * Everything when the hooks are idle (no arena then); nothing otherwise. */
static inline bool
hm_free_direct (const void *p)
{
  return (uintptr_t) p < hm_sampler.free_direct_below;
}

/* free()'s exact test: false only for a block that is surely the C
 * library's and has nothing to record (sampling, not in the arena). */
static inline bool
hm_free_watched (const void *p)
{
  return (uintptr_t) p - hm_sampler.free_watch_start < hm_sampler.free_watch_size;
}

/* hm-options.c: HM_SAMPLE_BYTES, or 0 (with one line on stderr for a bad value). */
uint64_t hm_sample_bytes_option (void) HM_HIDDEN;
/* HM_PROFILE_SAMPLE_BYTES, or the default; 0: a profile counts every allocation. */
#define HM_PROFILE_SAMPLE_BYTES_DEFAULT (UINT64_C (64) * 1024u)
uint64_t hm_profile_sample_bytes_option (void) HM_HIDDEN;

/* At the first hook (hm_agent_decide), when tracing starts: reads
 * HM_SAMPLE_BYTES and HM_SAMPLE_SEED and reserves the arena.  Returns
 * whether sampling is on. */
bool hm_sampler_init (void) HM_HIDDEN;

/* A profile's samples (hm-profile-apply.c): the same countdown and arena,
 * with N = HM_PROFILE_SAMPLE_BYTES, feeding the profile instead of (or, once
 * a debugger attaches, besides) a trace.  Returns whether it started. */
bool hm_sampler_start_profile (uint64_t mean_bytes) HM_HIDDEN;
/* An attach that asked for sampling (hm-listener.c), before the session
 * starts: reserves the arena if no earlier session did, and turns sampling
 * on.  False when there is no address space for the arena.  The caller has
 * made sure the agent was preloaded or linked (its hooks stay after the
 * session: the arena's blocks must always come back to it), and that no
 * lifetime analysis, profile or other allocator is in the way. */
bool hm_sampler_start_session (uint64_t mean_bytes) HM_HIDDEN;
/* The session ended (tracing is off): sampling off, every free to the
 * hooks again.  The arena stays, and its blocks go back to it when freed. */
void hm_sampler_end_session (void) HM_HIDDEN;
/* A thread's countdown from a sampled session, found on a slow path while
 * sampling is off: dropped, so that a later session that does not sample
 * sees this thread's allocations (and one that does draws afresh). */
void hm_sampler_thread_disarm (void) HM_HIDDEN;

/* The countdown crossed zero (or the thread had none yet): returns a block
 * from the arena, already recorded (with its stack in a trace, its site ret
 * in a profile), when this allocation is sampled; NULL when the caller
 * should allocate from the C library as usual (not sampled, the agent's own
 * allocation, nothing recording, or no room).  alignment is 0 for malloc's;
 * ret is the return address into the program. */
void *hm_sample_alloc (HmAllocFn fn, size_t size, size_t alignment, int zero,
                       uintptr_t ret) HM_HIDDEN;
/* A sampled block p of size bytes was made (realloc's own paths): records it. */
void hm_sample_note_alloc (HmAllocFn fn, void *p, size_t size, uintptr_t ret) HM_HIDDEN;

/* Whether an allocation of size bytes through realloc is to be sampled:
 * counts down like hm_sample_alloc but allocates nothing. */
bool hm_sample_decide (size_t size) HM_HIDDEN;

/* The arena's allocator.  hm_sample_arena_alloc returns NULL when the
 * arena is full; the block is not recorded. */
void *hm_sample_arena_alloc (size_t size, size_t alignment) HM_HIDDEN;
void hm_sample_arena_free (void *p) HM_HIDDEN;
/* The size asked for, and what may be used (malloc_usable_size). */
size_t hm_sample_block_size (const void *p) HM_HIDDEN;
size_t hm_sample_usable_size (const void *p) HM_HIDDEN;

/* hm-profiler.c: a sampled block for the profile, at the site ret, drawn
 * with mean mean_bytes; and its free. */
void hm_profile_note_sampled (uintptr_t ret, void *p, size_t size, uint64_t mean_bytes) HM_HIDDEN;
void hm_profile_sampled_free (void *p) HM_HIDDEN;

/* free, realloc(p, 0) of a sampled block: its FREE event, then the arena. */
void hm_sample_free (HmAllocFn fn, void *p) HM_HIDDEN;
/* fork: the arena's lock (hm_fork_lock_all takes it last). */
void hm_sampler_fork_lock (void) HM_HIDDEN;
void hm_sampler_fork_unlock (void) HM_HIDDEN;

/* hm-writer.c: while sampling there is no writer thread (see there); the
 * threads that record write a round themselves, when the last is ROUND_NS
 * old, or (must) when their ring is full.  Returns whether it wrote. */
bool hm_writer_round_inline (bool must) HM_HIDDEN;

/* Lifetime analysis and profiles are off while sampling: says so once. */
void hm_sampler_refuse (const char *what) HM_HIDDEN;
