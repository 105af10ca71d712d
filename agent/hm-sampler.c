/* hm-sampler.c — sampling mode: the per-thread byte countdown, and the
 * arena that sampled blocks are served from (see hm-sampler-private.h for
 * why they live apart from glibc's).
 *
 * The arena is one reservation of address space (64 GiB, less if the
 * system refuses), MAP_NORESERVE, so untouched pages cost nothing.  Blocks
 * carry a 16-byte header just before the pointer the program gets.  Small
 * blocks come from power-of-two classes carved out of 64 KiB slabs; the
 * rest are runs of whole pages, reused by exact page count (or split from a
 * bigger free run) and given back to the system (MADV_DONTNEED) when big.
 * One lock: at one sample per N bytes, it is taken rarely.
 */
#define _GNU_SOURCE
#include "hm-sampler-private.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

HmSampler hm_sampler = { .free_watch_start = 0, .free_watch_size = UINTPTR_MAX };
__thread int64_t hm_sample_left HM_TLS;
static __thread uint64_t rng_state HM_TLS;   /* 0: the thread has no countdown yet */

static uint64_t seed_base;
static int seeded;                           /* HM_SAMPLE_SEED was given */
static uint64_t n_threads_seeded;

/* --- the countdown ------------------------------------------------------------- */

static uint64_t
splitmix64 (uint64_t x)
{
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static uint64_t
next_random (void)
{
  /* xorshift64*: plenty for drawing sample distances */
  uint64_t x = rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng_state = x;
  return x * 0x2545f4914f6cdd1dull;
}

/* Bytes to the next sample: exponential with mean N. */
static int64_t
draw_distance (void)
{
  double u = (double) ((next_random () >> 11) + 1) * 0x1p-53;   /* (0, 1] */
  double x = -log (u) * (double) hm_sampler.mean_bytes;
  if (x > 0x1p62)
    return INT64_C (1) << 62;
  /* rounded up: an allocation of s bytes is then sampled exactly when
   * x <= s, with the chance 1 - exp(-s/N) that the reader divides by
   * (rounding down would favour small blocks by a byte each) */
  int64_t whole = (int64_t) x;
  if ((double) whole < x)
    whole++;
  return whole < 1 ? 1 : whole;
}

static void
arm_thread (void)
{
  uint64_t seed;
  if (seeded)
    /* deterministic: threads in the order they first allocate */
    seed = splitmix64 (seed_base + __atomic_fetch_add (&n_threads_seeded, 1, __ATOMIC_RELAXED));
  else
    seed = splitmix64 (hm_tsc () ^ ((uint64_t) (uintptr_t) &rng_state << 16)
                       ^ ((uint64_t) getpid () << 40));
  rng_state = seed != 0 ? seed : 0x853c49e6748fea9bull;
  hm_sample_left = draw_distance ();
}

/* Counts size bytes down; true when this allocation is sampled. */
static inline bool
crossed (size_t size)
{
  if (HM_UNLIKELY (rng_state == 0))
    arm_thread ();
  if (hm_sample_skip (size))
    return false;
  /* the exponential has no memory: a fresh draw is as good as the rest */
  hm_sample_left = draw_distance ();
  return true;
}

/* Whether a sample has somewhere to go. */
static inline bool
recording (void)
{
  return hm_agent.tracing | hm_sampler.to_profile;
}

bool
hm_sample_decide (size_t size)
{
  return crossed (size) && hm_guard == 0 && recording ();
}

void
hm_sample_note_alloc (HmAllocFn fn, void *p, size_t size, uintptr_t ret)
{
  if (hm_sampler.to_profile)
    hm_profile_note_sampled (ret, p, size, hm_sampler.mean_bytes);
  if (hm_agent.tracing)
    {
      hm_watch_alloc (fn, HM_LIFETIME_MALLOC, p, size);
      hm_writer_round_inline (false);
    }
}

void *
hm_sample_alloc (HmAllocFn fn, size_t size, size_t alignment, int zero, uintptr_t ret)
{
  if (!crossed (size) || hm_guard != 0 || !recording ())
    return NULL;
  void *p = hm_sample_arena_alloc (size, alignment);
  if (HM_UNLIKELY (p == NULL))
    return NULL;
  if (zero)
    memset (p, 0, size);
  hm_sample_note_alloc (fn, p, size, ret);
  return p;
}

void
hm_sample_free (HmAllocFn fn, void *p)
{
  /* before the block goes back: the address may be handed out at once */
  if (hm_sampler.to_profile)
    hm_profile_sampled_free (p);
  if (hm_agent.tracing)
    {
      hm_guard++;
      hm_emit_free (fn, (uintptr_t) p);
      hm_guard--;
    }
  hm_sample_arena_free (p);
  if (hm_agent.tracing)
    hm_writer_round_inline (false);
}

/* --- the arena ----------------------------------------------------------------- */

typedef struct {
  uint64_t size;               /* as asked for */
  uint32_t offset;             /* from the block's (slab slot's or run's) start to the pointer */
  uint32_t span;               /* a class index, or RUN | the run's pages */
} BlockHeader;

#define RUN 0x80000000u
#define N_CLASSES 8u           /* 32, 64, … 4096 bytes, header included */
#define SLAB_BYTES (64u * 1024u)
#define N_RUN_BINS 64u         /* exact page counts 1..63; bin 0: bigger runs */
#define GIVE_BACK_PAGES 16u    /* runs this big go back to the system when freed */

typedef struct FreeRun FreeRun;
struct FreeRun {
  FreeRun *next;
  size_t pages;
};

static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t arena_bump, arena_end;
static size_t page_size;
static void *class_free[N_CLASSES];
static uint8_t *class_cur[N_CLASSES], *class_end[N_CLASSES];
static FreeRun *run_bins[N_RUN_BINS];
static int arena_full_said;

static void
run_release (uintptr_t start, size_t pages)
{
  FreeRun *r = (FreeRun *) start;
  if (pages >= GIVE_BACK_PAGES)
    madvise ((void *) (start + page_size), (pages - 1) * page_size, MADV_DONTNEED);
  r->pages = pages;
  size_t bin = pages < N_RUN_BINS ? pages : 0;
  r->next = run_bins[bin];
  run_bins[bin] = r;
}

/* With the lock held. */
static uintptr_t
run_take (size_t pages)
{
  if (pages < N_RUN_BINS && run_bins[pages] != NULL)
    {
      FreeRun *r = run_bins[pages];
      run_bins[pages] = r->next;
      return (uintptr_t) r;
    }
  for (FreeRun **link = &run_bins[0]; *link != NULL; link = &(*link)->next)
    {
      FreeRun *r = *link;
      if (r->pages < pages)
        continue;
      *link = r->next;
      if (r->pages > pages)
        run_release ((uintptr_t) r + pages * page_size, r->pages - pages);
      return (uintptr_t) r;
    }
  if (pages > (arena_end - arena_bump) / page_size)
    return 0;
  uintptr_t start = arena_bump;
  arena_bump += pages * page_size;
  return start;
}

void *
hm_sample_arena_alloc (size_t size, size_t alignment)
{
  uint8_t *user = NULL;

  if (alignment < 16)
    alignment = 16;
  if (size > hm_sampler.arena_size || alignment > hm_sampler.arena_size / 2)
    return NULL;
  pthread_mutex_lock (&arena_lock);
  if (alignment == 16 && size <= 4096 - sizeof (BlockHeader))
    {
      unsigned c = 0;
      while ((32u << c) < size + sizeof (BlockHeader))
        c++;
      uint8_t *block = class_free[c];
      if (block != NULL)
        class_free[c] = *(void **) block;
      else
        {
          if (class_cur[c] == class_end[c])
            {
              uintptr_t slab = run_take (SLAB_BYTES / page_size);
              if (slab != 0)
                {
                  class_cur[c] = (uint8_t *) slab;
                  class_end[c] = (uint8_t *) slab + SLAB_BYTES;
                }
            }
          if (class_cur[c] != class_end[c])
            {
              block = class_cur[c];
              class_cur[c] += 32u << c;
            }
        }
      if (block != NULL)
        {
          BlockHeader *h = (BlockHeader *) block;
          h->size = size;
          h->offset = sizeof *h;
          h->span = c;
          user = block + sizeof *h;
        }
    }
  else
    {
      size_t need = size + sizeof (BlockHeader) + (alignment > 16 ? alignment : 0);
      size_t pages = (need + page_size - 1) / page_size;
      uintptr_t run = run_take (pages);
      if (run != 0)
        {
          uintptr_t u = (run + sizeof (BlockHeader) + alignment - 1) & ~(uintptr_t) (alignment - 1);
          BlockHeader *h = (BlockHeader *) (u - sizeof *h);
          h->size = size;
          h->offset = (uint32_t) (u - run);
          h->span = RUN | (uint32_t) pages;
          user = (uint8_t *) u;
        }
    }
  int say = user == NULL && !arena_full_said;
  if (say)
    arena_full_said = 1;
  pthread_mutex_unlock (&arena_lock);
  if (say)
    hm_notice ("the arena of sampled blocks is full; allocations that would be sampled are "
               "not recorded from now on");
  return user;
}

void
hm_sample_arena_free (void *p)
{
  BlockHeader *h = (BlockHeader *) p - 1;
  uint8_t *block = (uint8_t *) p - h->offset;

  pthread_mutex_lock (&arena_lock);
  if (h->span & RUN)
    run_release ((uintptr_t) block, h->span & ~RUN);
  else
    {
      unsigned c = h->span;
      *(void **) block = class_free[c];
      class_free[c] = block;
    }
  pthread_mutex_unlock (&arena_lock);
}

size_t
hm_sample_block_size (const void *p)
{
  return ((const BlockHeader *) p - 1)->size;
}

size_t
hm_sample_usable_size (const void *p)
{
  const BlockHeader *h = (const BlockHeader *) p - 1;
  if (h->span & RUN)
    return (size_t) (h->span & ~RUN) * page_size - h->offset;
  return (32u << h->span) - h->offset;
}

void
hm_sampler_fork_lock (void)
{
  if (hm_sampler.arena_size != 0)
    pthread_mutex_lock (&arena_lock);
}

void
hm_sampler_fork_unlock (void)
{
  if (hm_sampler.arena_size != 0)
    pthread_mutex_unlock (&arena_lock);
}

/* --- start ---------------------------------------------------------------------- */

/* HM_SAMPLE_SEED, for runs that must sample the same blocks again. */
static void
read_seed (void)
{
  const char *seed = getenv ("HM_SAMPLE_SEED");
  if (seed != NULL && *seed != '\0')
    {
      char *end;
      unsigned long long v = strtoull (seed, &end, 0);
      if (*end == '\0' && seed[0] != '-')
        {
          seed_base = v;
          seeded = 1;
        }
      else
        hm_notice ("HM_SAMPLE_SEED=%s is not a whole number; using a random seed", seed);
    }
}

/* Reserves the arena (for good: blocks in it outlive any session). */
static bool
reserve_arena (void)
{
  page_size = (size_t) sysconf (_SC_PAGESIZE);
  for (size_t bytes = (size_t) 64 << 30; bytes >= (size_t) 1 << 30; bytes /= 4)
    {
      void *p = mmap (NULL, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED)
        continue;
      arena_bump = (uintptr_t) p;
      arena_end = arena_bump + bytes;
      hm_sampler.arena_start = (uintptr_t) p;
      __atomic_store_n (&hm_sampler.arena_size, bytes, __ATOMIC_RELEASE);
      return true;
    }
  return false;
}

/* Sampling on: from now on free() looks at the arena alone.  Blocks of the
 * C library that are live now (an attach) are freed by it as before. */
static void
sampling_on (uint64_t mean_bytes)
{
  hm_sampler.mean_bytes = mean_bytes;
  __atomic_store_n (&hm_sampler.on, 1, __ATOMIC_RELEASE);
  /* a free that sees one store and not the other looks at more than the
   * arena, which is only slower */
  __atomic_store_n (&hm_sampler.free_watch_start, hm_sampler.arena_start, __ATOMIC_RELEASE);
  __atomic_store_n (&hm_sampler.free_watch_size, hm_sampler.arena_size, __ATOMIC_RELEASE);
  hm_hooks_refresh ();
}

bool
hm_sampler_start_session (uint64_t mean_bytes)
{
  /* a sampled profile's countdown is already running at its own mean */
  if (hm_sampler.to_profile)
    return false;
  if (hm_sampler.arena_size == 0 && !reserve_arena ())
    return false;
  sampling_on (mean_bytes);
  return true;
}

void
hm_sampler_end_session (void)
{
  /* a sampled profile goes on sampling after the debugger left */
  if (!hm_sampler.on || hm_sampler.to_profile)
    return;
  __atomic_store_n (&hm_sampler.on, 0, __ATOMIC_RELEASE);
  /* every free to the hooks again (the arena's blocks first of all: see
   * free() in hm-interpose.c); the larger size first, so that no moment
   * watches less than before */
  __atomic_store_n (&hm_sampler.free_direct_below, 0, __ATOMIC_RELEASE);
  __atomic_store_n (&hm_sampler.free_watch_size, UINTPTR_MAX, __ATOMIC_RELEASE);
  __atomic_store_n (&hm_sampler.free_watch_start, 0, __ATOMIC_RELEASE);
  hm_hooks_refresh ();
}

void
hm_sampler_thread_disarm (void)
{
  hm_sample_left = 0;
  rng_state = 0;
}

bool
hm_sampler_init (void)
{
  uint64_t n = hm_sample_bytes_option ();
  if (n == 0)
    return false;
  read_seed ();
  if (reserve_arena ())
    {
      sampling_on (n);
      return true;
    }
  hm_notice ("no address space for the sampled blocks' arena; recording every allocation "
             "(HM_SAMPLE_BYTES is ignored)");
  return false;
}

bool
hm_sampler_start_profile (uint64_t n)
{
  if (hm_sampler.arena_size != 0 || hm_next_is_foreign ())
    return false;
  read_seed ();
  if (!reserve_arena ())
    return false;
  hm_sampler.to_profile = 1;
  /* the hooks' slow paths now sample (hm-interpose.c sampling_now) */
  sampling_on (n);
  return true;
}

void
hm_sampler_refuse (const char *what)
{
  static int said_lifetime, said_profile;
  int *said = strcmp (what, "lifetime") == 0 ? &said_lifetime : &said_profile;
  if (__atomic_exchange_n (said, 1, __ATOMIC_ACQ_REL))
    return;
  if (said == &said_lifetime)
    hm_notice ("lifetime analysis is off while sampling (HM_SAMPLE_BYTES): a sampled trace "
               "does not see every block");
  else
    hm_notice ("memory profiles are neither recorded nor applied while sampling "
               "(HM_SAMPLE_BYTES)");
}
