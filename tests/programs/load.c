/* load.c — sixteen threads allocating and freeing at full speed.
 *
 *   load [OPS_PER_THREAD]        (default 100 000)
 *
 * Each thread runs OPS_PER_THREAD steps; step i frees whatever its slot
 * (i * 7919 % 64) held and puts a new block of 8 + (i * 31 + t) % 500 bytes
 * there, and every 1000th block is also kept for good.  At the end the
 * slots are left full, so what the program still holds is exact and known:
 * it prints it, on one line, as
 *
 *   held BLOCKS BYTES
 *
 * and a trace of it must say the same of load_alloc's blocks: no event lost.
 * Every allocation goes through load_alloc (the site the tests look for).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_THREADS 16
#define N_SLOTS 64
#define KEEP_EVERY 1000

static unsigned long ops = 100000;
static pthread_barrier_t start_line;

typedef struct {
  unsigned index;
  void *slots[N_SLOTS];
  size_t slot_size[N_SLOTS];
  unsigned long held_blocks;
  unsigned long held_bytes;
} Worker;

static Worker workers[N_THREADS];
static void **kept[N_THREADS];

static __attribute__ ((noinline)) void *
load_alloc (size_t size)
{
  void *p = malloc (size);
  if (p == NULL)
    abort ();
  memset (p, 0x5a, size < 16 ? size : 16);
  return p;
}

static void *
worker_main (void *data)
{
  Worker *w = data;
  unsigned long n_kept = 0;

  kept[w->index] = malloc ((ops / KEEP_EVERY + 1) * sizeof (void *));
  pthread_barrier_wait (&start_line);
  for (unsigned long i = 0; i < ops; i++)
    {
      unsigned slot = (unsigned) (i * 7919 % N_SLOTS);
      size_t size = 8 + (i * 31 + w->index) % 500;
      free (w->slots[slot]);
      w->slots[slot] = load_alloc (size);
      w->slot_size[slot] = size;
      if (i % KEEP_EVERY == KEEP_EVERY - 1)
        {
          kept[w->index][n_kept++] = load_alloc (size);
          w->held_blocks++;
          w->held_bytes += size;
        }
    }
  for (unsigned s = 0; s < N_SLOTS; s++)
    if (w->slots[s] != NULL)
      {
        w->held_blocks++;
        w->held_bytes += w->slot_size[s];
      }
  return NULL;
}

int
main (int argc, char **argv)
{
  pthread_t threads[N_THREADS];
  unsigned long blocks = 0, bytes = 0;

  if (argc > 1)
    ops = strtoul (argv[1], NULL, 10);
  pthread_barrier_init (&start_line, NULL, N_THREADS);
  for (unsigned t = 0; t < N_THREADS; t++)
    {
      workers[t].index = t;
      if (pthread_create (&threads[t], NULL, worker_main, &workers[t]) != 0)
        return 1;
    }
  for (unsigned t = 0; t < N_THREADS; t++)
    {
      pthread_join (threads[t], NULL);
      blocks += workers[t].held_blocks;
      bytes += workers[t].held_bytes;
    }
  printf ("held %lu %lu\n", blocks, bytes);
  /* now, not at exit: a test reads it while the trace's reader sleeps */
  fflush (stdout);
  return 0;
}
