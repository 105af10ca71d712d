/* malloc-loop.c — the cost of one malloc/free pair, robust to a noisy
 * machine: 200 rounds of 100 000 pairs (16–512 bytes, a ring of 256
 * blocks), and the fastest round's nanoseconds per pair are printed.  A
 * neighbour's burst slows some rounds, rarely the best one.
 * (tests/bench/bench-sampling.sh runs it plain and under the agent.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
now_ns (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec * 1e9 + (double) t.tv_nsec;
}

int
main (void)
{
  static void *ring[256];
  double best = 1e30;
  uint32_t state = 1;

  for (int round = 0; round < 200; round++)
    {
      double start = now_ns ();
      for (int i = 0; i < 100000; i++)
        {
          state = state * 1664525u + 1013904223u;
          free (ring[i & 255]);
          ring[i & 255] = malloc (16 + (state >> 8) % 497);
        }
      double per_pair = (now_ns () - start) / 100000;
      if (per_pair < best)
        best = per_pair;
    }
  for (int i = 0; i < 256; i++)
    free (ring[i]);
  printf ("%.2f\n", best);
  return 0;
}
