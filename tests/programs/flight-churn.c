/* flight-churn.c — a long-running allocating program for the flight
 * recorder's benchmark and its bounded-memory test:
 *   flight-churn --seconds S [--threads T]   run for S seconds
 *   flight-churn --ops N [--threads T]       N operations per thread, then exit
 * Each thread keeps 20 000 slots; an operation frees a random slot's block
 * (if any) and allocates a new one of 16..4111 bytes from one of four sites
 * (malloc, calloc, realloc of the old block, aligned_alloc), so the live set
 * stays about 20 000 blocks (~40 MB) per thread while millions of events
 * pass.  With --seconds, batches of 2 000 operations are separated by a
 * 200 µs sleep, so a long run does not starve the machine; --ops runs flat
 * out (for timing).  Prints "ops N" and the longest a batch of 2 000
 * operations took (how long the program was held up at worst) at the end.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 20000

static double seconds;
static long ops_per_thread;
static double longest_batch;   /* the longest 2 000 operations took, in s */

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static __attribute__((noinline)) void *
site_malloc (size_t n)
{
  return malloc (n);
}

static __attribute__((noinline)) void *
site_calloc (size_t n)
{
  return calloc (1, n);
}

static __attribute__((noinline)) void *
site_aligned (size_t n)
{
  return aligned_alloc (64, (n + 63) & ~(size_t) 63);
}

static void *
churn (void *arg)
{
  void **slots = calloc (SLOTS, sizeof *slots);
  uint64_t x = 0x9e3779b97f4a7c15ull * (uintptr_t) (arg ? arg : &x);
  long done = 0;
  double end = now () + seconds;

  for (;;)
    {
      double batch_start = now ();
      for (int i = 0; i < 2000; i++, done++)
        {
          x ^= x << 13, x ^= x >> 7, x ^= x << 17;
          size_t k = x % SLOTS, size = 16 + (x >> 20) % 4096;
          switch ((x >> 40) & 3)
            {
            case 0:
              free (slots[k]);
              slots[k] = site_malloc (size);
              break;
            case 1:
              free (slots[k]);
              slots[k] = site_calloc (size);
              break;
            case 2:
              slots[k] = realloc (slots[k], size);
              break;
            default:
              free (slots[k]);
              slots[k] = site_aligned (size);
              break;
            }
          if (slots[k] != NULL)
            memset (slots[k], 1, 8);
        }
      double took = now () - batch_start;
      if (took > longest_batch)
        longest_batch = took;      /* a race between threads only loses a maximum */
      if (ops_per_thread > 0)
        {
          if (done >= ops_per_thread)
            break;
          continue;          /* timed runs measure: no pause */
        }
      if (now () >= end)
        break;
      struct timespec pause = { 0, 200000 };
      nanosleep (&pause, NULL);
    }
  for (size_t k = 0; k < SLOTS; k++)
    free (slots[k]);
  free (slots);
  return (void *) done;
}

int
main (int argc, char **argv)
{
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2)
    {
      if (strcmp (argv[i], "--seconds") == 0)
        seconds = atof (argv[i + 1]);
      else if (strcmp (argv[i], "--ops") == 0)
        ops_per_thread = atol (argv[i + 1]);
      else if (strcmp (argv[i], "--threads") == 0)
        threads = atoi (argv[i + 1]);
      else
        return 2;
    }
  if ((seconds <= 0 && ops_per_thread <= 0) || threads < 1 || threads > 64)
    return 2;
  pthread_t t[64];
  long total = 0;
  for (int i = 0; i < threads; i++)
    pthread_create (&t[i], NULL, churn, (void *) (uintptr_t) (i + 1));
  for (int i = 0; i < threads; i++)
    {
      void *r;
      pthread_join (t[i], &r);
      total += (long) r;
    }
  printf ("ops %ld\nlongest batch %.1f ms\n", total, longest_batch * 1000);
  return 0;
}
