/* attach-regions.c — a program that allocates from regions all the time
 * through hybridmem.h's inline path, to attach to (test-attach.c,
 * /attach/regions).
 *
 * Two threads, each with its own region: a round takes OBJECTS objects of
 * 32 bytes from it, writes them, resets it, and pauses 2 ms; ROUNDS
 * (argv[1], default 600) rounds.  So every reset of a region that a trace
 * sees whole follows exactly OBJECTS allocations, whether the objects came
 * from the thread's piece (inline, untraced) or through the library
 * (traced).  Prints one line at the start and a checksum that does not
 * depend on being observed:
 *   attach-regions: 2 threads, ROUNDS rounds
 *   checksum C
 */
#include <hybridmem.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N_THREADS 2
#define OBJECTS 64

static int rounds = 600;

static void *
worker (void *data)
{
  int thread = (int) (intptr_t) data;
  char name[32];
  snprintf (name, sizeof name, "worker-%d", thread);
  HmRegion *region = hm_region_new (name);
  struct timespec pause = { 0, 2 * 1000 * 1000 };
  uint64_t *sum = malloc (sizeof *sum);

  *sum = 0;
  for (int round = 0; round < rounds; round++)
    {
      for (int i = 0; i < OBJECTS; i++)
        {
          uint64_t *object = hm_region_alloc (region, 32);
          object[0] = (uint64_t) (round * OBJECTS + i);
          *sum += object[0] % 7;
        }
      hm_region_reset (region);
      nanosleep (&pause, NULL);
    }
  hm_region_free (region);
  return sum;
}

int
main (int argc, char **argv)
{
  pthread_t threads[N_THREADS];
  uint64_t total = 0;

  if (argc > 1)
    rounds = atoi (argv[1]);
  printf ("attach-regions: %d threads, %d rounds\n", N_THREADS, rounds);
  fflush (stdout);
  for (int t = 0; t < N_THREADS; t++)
    pthread_create (&threads[t], NULL, worker, (void *) (intptr_t) t);
  for (int t = 0; t < N_THREADS; t++)
    {
      void *sum;
      pthread_join (threads[t], &sum);
      total += *(uint64_t *) sum;
      free (sum);
    }
  printf ("checksum %llu\n", (unsigned long long) total);
  return 0;
}
