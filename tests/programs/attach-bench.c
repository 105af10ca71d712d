/* attach-bench.c — the target of tests/bench/bench-attach.sh.
 *
 * Prints "ready" once it runs, waits for a line on stdin (the benchmark
 * attaches and detaches meanwhile, or not), then times ITERATIONS (argv[1],
 * default 2 000 000) malloc/free pairs in each of two threads and prints the
 * process's CPU time for them and the elapsed wall time, in nanoseconds: the
 * program's speed after a detach, compared with one never attached to.  (CPU
 * time is what the benchmark compares: on a shared machine, wall time
 * measures the neighbours.)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long iterations = 2000000;

static void *
work (void *data)
{
  uintptr_t sum = 0;
  void *keep[16] = { 0 };

  (void) data;
  for (long i = 0; i < iterations; i++)
    {
      size_t size = 16 + (size_t) (i * 7 % 240);
      void *p = malloc (size);
      ((volatile char *) p)[0] = (char) i;
      sum += (uintptr_t) p & 0xff;
      free (keep[i & 15]);
      keep[i & 15] = p;
    }
  for (int i = 0; i < 16; i++)
    free (keep[i]);
  return (void *) sum;
}

int
main (int argc, char **argv)
{
  char line[64];
  pthread_t threads[2];
  struct timespec t0, t1, c0, c1;

  if (argc > 1)
    iterations = atol (argv[1]);
  printf ("ready\n");
  fflush (stdout);
  if (fgets (line, sizeof line, stdin) == NULL)
    return 1;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &c0);
  for (int i = 0; i < 2; i++)
    pthread_create (&threads[i], NULL, work, NULL);
  for (int i = 0; i < 2; i++)
    pthread_join (threads[i], NULL);
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &c1);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  printf ("%lld %lld\n", (long long) (c1.tv_sec - c0.tv_sec) * 1000000000ll + (c1.tv_nsec - c0.tv_nsec),
          (long long) (t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec));
  return 0;
}
