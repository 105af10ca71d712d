/* vg-annotated.c — a custom allocator announced with Valgrind's client
 * requests (valgrind.h, memcheck.h): a free list of 64-byte cells carved
 * from one big mmap'd block, and a mempool of variable-sized pieces.
 *
 * Own requests: VALGRIND_MALLOCLIKE_BLOCK 30 by cell_alloc
 * (marked vg-cell-alloc), VALGRIND_FREELIKE_BLOCK 30 (20, then the other 10
 * at the end),
 * VALGRIND_RESIZEINPLACE_BLOCK 1 (a cell shrunk to 32 bytes);
 * VALGRIND_CREATE_MEMPOOL 1, VALGRIND_MEMPOOL_ALLOC 12 (marked
 * vg-pool-alloc), VALGRIND_MEMPOOL_FREE 5, VALGRIND_DESTROY_MEMPOOL 1 (the
 * other 7 go with it).  Plus mmap 1, munmap 1 of the arena.
 * With an argument N it instead times N MALLOCLIKE/FREELIKE pairs and
 * prints nanoseconds per request, of the fastest of 20 batches (the
 * benchmark).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>

#define CELL 64
#define N_CELLS 256
#define ARENA (CELL * N_CELLS + 8192)

static char *arena;
static void *free_list;

static void *
cell_alloc (void)
{
  void *p = free_list;
  free_list = *(void **) p;
  VALGRIND_MALLOCLIKE_BLOCK (p, CELL, 0, 0);   /* SITE: vg-cell-alloc */
  return p;
}

static void
cell_free (void *p)
{
  VALGRIND_FREELIKE_BLOCK (p, 0);
  VALGRIND_MAKE_MEM_UNDEFINED (p, sizeof (void *));
  *(void **) p = free_list;
  free_list = p;
}

static char *pool_base;
static size_t pool_used;

static void *
pool_alloc (size_t size)
{
  void *p = pool_base + pool_used;
  pool_used += (size + 15) & ~(size_t) 15;
  VALGRIND_MEMPOOL_ALLOC (pool_base, p, size);  /* SITE: vg-pool-alloc */
  return p;
}

static double
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int
main (int argc, char **argv)
{
  void *cells[30], *pieces[12];

  arena = mmap (NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (arena == MAP_FAILED)
    return 1;
  for (int i = N_CELLS - 1; i >= 0; i--)
    {
      *(void **) (arena + i * CELL) = free_list;
      free_list = arena + i * CELL;
    }
  VALGRIND_MAKE_MEM_NOACCESS (arena, CELL * N_CELLS);
  VALGRIND_MAKE_MEM_DEFINED (arena, CELL * N_CELLS);

  if (argc > 1)
    {
      /* the fastest of 20 batches: a shared machine slows some down */
      long n = atol (argv[1]), batch = n / 20 > 0 ? n / 20 : 1;
      double best = 0;
      for (int b = 0; b < 20; b++)
        {
          double start = now_ns ();
          for (long i = 0; i < batch; i++)
            {
              void *p = cell_alloc ();
              cell_free (p);
            }
          double ns = (now_ns () - start) / (2.0 * batch);
          if (b == 0 || ns < best)
            best = ns;
        }
      printf ("%.1f ns per request (fastest of 20 batches)\n", best);
      munmap (arena, ARENA);
      return 0;
    }

  for (int i = 0; i < 30; i++)
    {
      cells[i] = cell_alloc ();
      memset (cells[i], i, CELL);
    }
  for (int i = 0; i < 20; i++)
    cell_free (cells[i]);
  VALGRIND_RESIZEINPLACE_BLOCK (cells[29], CELL, 32, 0);

  pool_base = arena + CELL * N_CELLS;
  VALGRIND_CREATE_MEMPOOL (pool_base, 0, 0);
  for (int i = 0; i < 12; i++)
    {
      pieces[i] = pool_alloc (24 + 8 * i);
      memset (pieces[i], 0, 24);
    }
  for (int i = 0; i < 5; i++)
    VALGRIND_MEMPOOL_FREE (pool_base, pieces[i]);
  VALGRIND_DESTROY_MEMPOOL (pool_base);

  unsigned sum = 0;
  for (int i = 20; i < 30; i++)
    sum += ((unsigned char *) cells[i])[1];
  for (int i = 20; i < 30; i++)
    cell_free (cells[i]);
  printf ("cells %u, running on valgrind: %d\n", sum, RUNNING_ON_VALGRIND ? 1 : 0);
  munmap (arena, ARENA);
  return 0;
}
