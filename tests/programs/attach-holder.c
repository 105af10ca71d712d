/* attach-holder.c — a program that always holds many blocks, to attach to
 * with sampling (test-attach.c, /attach/sampled).
 *
 * Two threads each keep a ring of 1000 blocks: a step frees the oldest
 * block and puts a new one in its place (16..527 bytes, malloc or calloc,
 * every third one grown by realloc).  A round is 100 steps and a 10 ms
 * pause; ROUNDS (argv[1], default 250) rounds, then every block is freed.
 * So at any moment about 2000 blocks are live: an attach begins with
 * blocks from before it (their frees are not its business) and ends with
 * blocks from its time (freed after the detach).  Prints one line at the
 * start and a checksum of the blocks' contents that does not depend on
 * being observed:
 *   attach-holder: 2 threads, ROUNDS rounds
 *   checksum C
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_THREADS 2
#define RING 1000
#define STEPS 100

static int rounds = 250;

static void *
holder (void *data)
{
  int thread = (int) (intptr_t) data;
  unsigned char **ring = calloc (RING, sizeof *ring);
  size_t *sizes = calloc (RING, sizeof *sizes);
  uint64_t *sum = malloc (sizeof *sum);
  struct timespec pause = { 0, 10 * 1000 * 1000 };
  unsigned step = 0;

  *sum = 0;
  for (int round = 0; round < rounds; round++)
    {
      for (int i = 0; i < STEPS; i++, step++)
        {
          unsigned slot = step % RING;
          if (ring[slot] != NULL)
            {
              *sum += ring[slot][sizes[slot] - 1];
              free (ring[slot]);
            }
          size_t size = 16 + (step * 37 + (unsigned) thread * 101) % 512;
          unsigned char *p = step % 2 ? calloc (1, size) : malloc (size); /* SITE: hold */
          if (p == NULL)
            abort ();
          memset (p, (int) ((step + (unsigned) thread) & 0xff), size);
          if (step % 3 == 0)
            {
              unsigned char *q = realloc (p, size * 2);
              if (q == NULL)
                abort ();
              memset (q + size, 7, size);
              p = q;
              size *= 2;
            }
          ring[slot] = p;
          sizes[slot] = size;
        }
      nanosleep (&pause, NULL);
    }
  for (unsigned slot = 0; slot < RING; slot++)
    if (ring[slot] != NULL)
      {
        *sum += ring[slot][0];
        free (ring[slot]);
      }
  free (ring);
  free (sizes);
  return sum;
}

int
main (int argc, char **argv)
{
  pthread_t threads[N_THREADS];
  uint64_t checksum = 0;

  if (argc > 1)
    rounds = atoi (argv[1]);
  printf ("attach-holder: %d threads, %d rounds\n", N_THREADS, rounds);
  fflush (stdout);
  for (int t = 0; t < N_THREADS; t++)
    pthread_create (&threads[t], NULL, holder, (void *) (intptr_t) t);
  for (int t = 0; t < N_THREADS; t++)
    {
      uint64_t *sum;
      pthread_join (threads[t], (void **) &sum);
      checksum += *sum;
      free (sum);
    }
  printf ("checksum %llu\n", (unsigned long long) checksum);
  return 0;
}
