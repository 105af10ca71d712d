/* bench-lifetime.c — a live heap for the reachability scan to walk: blocks
 * of 16 to 512 bytes (HM_BENCH_MB megabytes, default 64), each holding a
 * pointer to another, all reachable from one global array, plus two threads
 * blocked in a condition wait, so stopping the world has someone to stop.
 *
 * Built with -DHM_BENCH_ANALYZE (the meson target), it runs hm_analyze()
 * once and prints what it measured:
 *   live_bytes=N blocks=N scanned_bytes=N pause_ns=N total_ns=N leaks=N
 * Built without (bench-lifetime.sh does, with clang -fsanitize=leak), it
 * only builds the heap, and LeakSanitizer checks it at exit.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HM_BENCH_ANALYZE
#include <hybridmem.h>
#endif

/* not static: a static only main uses may live in a register alone */
void **bench_blocks;
#define blocks bench_blocks
static size_t n_blocks;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int done;

static void *
sleeper (void *arg)
{
  (void) arg;
  pthread_mutex_lock (&lock);
  while (!done)
    pthread_cond_wait (&cond, &lock);
  pthread_mutex_unlock (&lock);
  return NULL;
}

int
main (void)
{
  const char *mb_text = getenv ("HM_BENCH_MB");
  size_t target = (size_t) (mb_text ? atof (mb_text) : 64.0) * 1024 * 1024;
  size_t cap = target / 16 + 1, bytes = 0;
  uint64_t seed = 88172645463325252ull;
  pthread_t threads[2];

  blocks = malloc (cap * sizeof *blocks);
  while (bytes < target && n_blocks < cap)
    {
      seed ^= seed << 13;
      seed ^= seed >> 7;
      seed ^= seed << 17;
      size_t size = 16 + (size_t) (seed % 497);
      void **b = malloc (size);
      memset (b, 0, size);
      /* a pointer to an earlier block, not its start: interior pointers too */
      if (n_blocks > 0)
        b[0] = (char *) blocks[seed % n_blocks] + 8;
      blocks[n_blocks++] = b;
      bytes += size;
    }
  for (int i = 0; i < 2; i++)
    pthread_create (&threads[i], NULL, sleeper, NULL);
#ifdef HM_BENCH_ANALYZE
  HmAnalysisStats stats;
  size_t leaks = hm_analyze ();
  hm_analyze_get_stats (&stats);
  printf ("live_bytes=%zu blocks=%zu scanned_bytes=%zu pause_ns=%llu total_ns=%llu leaks=%zu ok=%d\n",
          stats.live_bytes, stats.n_blocks, stats.scanned_bytes, stats.pause_ns, stats.total_ns,
          leaks, stats.ok);
#endif
  pthread_mutex_lock (&lock);
  done = 1;
  pthread_cond_broadcast (&cond);
  pthread_mutex_unlock (&lock);
  for (int i = 0; i < 2; i++)
    pthread_join (threads[i], NULL);
  return 0;
}
