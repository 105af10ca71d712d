/* attach-target.c — a long-running multi-threaded program to attach to.
 *
 * Four threads run ROUNDS rounds (argv[1], default 60) of about 50 ms each;
 * in a round a thread allocates 100 blocks (malloc, calloc, then realloc),
 * fills and sums them, and frees them all.  Before the threads start, main
 * allocates 64 blocks that it frees only at the end: freed while a debugger
 * may be attached, they were allocated before it, so a trace sees unknown
 * frees, never bad ones.  Per round and thread: 100 allocations, 50
 * reallocs, 100 frees.  Prints one line at the start and the same checksum
 * whether observed or not:
 *   attach-target: 4 threads, ROUNDS rounds
 *   checksum C, blocks B
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_THREADS 4
#define N_BLOCKS 100

static int rounds = 60;

static uint64_t
one_round (int thread, int round)
{
  unsigned char *blocks[N_BLOCKS];
  uint64_t sum = 0;

  for (int i = 0; i < N_BLOCKS; i++)
    {
      size_t size = 16 + (size_t) ((i * 37 + round * 11 + thread * 5) % 500);
      blocks[i] = i % 2 ? calloc (1, size) : malloc (size); /* SITE: round-alloc */
      if (blocks[i] == NULL)
        abort ();
      memset (blocks[i], (i + round + thread) & 0xff, size);
      if (i % 2 == 0)
        {
          unsigned char *bigger = realloc (blocks[i], size * 2); /* SITE: round-realloc */
          if (bigger == NULL)
            abort ();
          memset (bigger + size, 1, size);
          blocks[i] = bigger;
          size *= 2;
        }
      for (size_t j = 0; j < size; j += 7)
        sum += blocks[i][j];
    }
  for (int i = 0; i < N_BLOCKS; i++)
    free (blocks[i]);
  return sum;
}

static void *
worker (void *data)
{
  int thread = (int) (intptr_t) data;
  uint64_t *sum = malloc (sizeof *sum);
  struct timespec pause = { 0, 50 * 1000 * 1000 };

  *sum = 0;
  for (int round = 0; round < rounds; round++)
    {
      *sum += one_round (thread, round);
      nanosleep (&pause, NULL);
    }
  return sum;
}

int
main (int argc, char **argv)
{
  pthread_t threads[N_THREADS];
  char *early[64];
  uint64_t checksum = 0;
  unsigned long blocks = 0;

  if (argc > 1)
    rounds = atoi (argv[1]);
  for (int i = 0; i < 64; i++)
    early[i] = malloc (100 + (size_t) i);  /* SITE: early */
  printf ("attach-target: %d threads, %d rounds\n", N_THREADS, rounds);
  fflush (stdout);
  for (int t = 0; t < N_THREADS; t++)
    pthread_create (&threads[t], NULL, worker, (void *) (intptr_t) t);
  for (int t = 0; t < N_THREADS; t++)
    {
      uint64_t *sum;
      pthread_join (threads[t], (void **) &sum);
      checksum += *sum;
      free (sum);
    }
  for (int i = 0; i < 64; i++)
    {
      blocks++;
      free (early[i]);
    }
  blocks += (unsigned long) rounds * N_THREADS * N_BLOCKS;
  printf ("checksum %llu, blocks %lu\n", (unsigned long long) checksum, blocks);
  return 0;
}
