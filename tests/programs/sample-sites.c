/* sample-sites.c — allocation sites of differing sizes and counts, for
 * checking sampled estimates against a full trace (test-sampling.c,
 * tests/bench/bench-sampling.sh).
 *
 * Prints nothing; sizes come from a fixed LCG, so every run makes the same
 * calls.  With the default scale of 100 (the argument), each site below
 * allocates about 1.6 GB in all (the realloc chains 1.3 GB, the tiny one 8 MB), in blocks
 * that live a while in a ring of 64 per site, and everything is freed:
 *
 *   site             function         sizes             calls (scale 100)
 *   small            alloc_small      64–319 B          8 000 000
 *   medium (calloc)  alloc_medium     1–3 KiB             800 000
 *   large            alloc_large      24–40 KiB            50 000
 *   huge             alloc_huge       256 KiB–1 MiB         2 500
 *   growing buffers  grow_buffer      realloc 512 B → 128 KiB     45 000 (9 a chain)
 *   tiny (< 1%)      alloc_tiny       16 B                500 000
 *   aligned (< 1%)   alloc_aligned    posix_memalign 64 B–4 KiB aligned, 100 B–8 KiB   2 500
 *
 * Calls scale linearly with the argument (scale 1: a hundredth).  It checks
 * what a sampled block must still do, and exits with 3 when realloc lost
 * the contents, 4 when malloc_usable_size is less than asked, 5 when a
 * block is not aligned as asked.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RING 64

static uint32_t state = 12345;

static uint32_t
next (void)
{
  state = state * 1664525u + 1013904223u;
  return state >> 8;
}

static void *
touch (char *p, size_t size)
{
  if (p == NULL)
    exit (1);
  if (malloc_usable_size (p) < size)
    exit (4);
  p[0] = 1;
  p[size - 1] = 2;
  return p;
}

/* Each site keeps its last RING blocks and frees the oldest. */
static void
cycle (void **ring, long i, void *block)
{
  free (ring[i % RING]);
  ring[i % RING] = block;
}

static void
drain (void **ring)
{
  for (int i = 0; i < RING; i++)
    {
      free (ring[i]);
      ring[i] = NULL;
    }
}

__attribute__ ((noinline)) static void *
alloc_small (size_t size)
{
  return touch (malloc (size), size);
}

__attribute__ ((noinline)) static void *
alloc_medium (size_t size)
{
  return touch (calloc (1, size), size);
}

__attribute__ ((noinline)) static void *
alloc_large (size_t size)
{
  return touch (malloc (size), size);
}

__attribute__ ((noinline)) static void *
alloc_huge (size_t size)
{
  return touch (malloc (size), size);
}

__attribute__ ((noinline)) static void *
alloc_tiny (void)
{
  return touch (malloc (16), 16);
}

__attribute__ ((noinline)) static void *
grow_buffer (void)
{
  size_t size = 512;
  char *buffer = touch (realloc (NULL, size), size);
  while (size < 128 * 1024)
    {
      size *= 2;
      buffer = realloc (buffer, size);
      if (buffer == NULL || buffer[0] != 1 || buffer[size / 2 - 1] != 2)
        exit (3);
      touch (buffer, size);
    }
  return buffer;
}

__attribute__ ((noinline)) static void *
alloc_aligned (size_t alignment, size_t size)
{
  void *p = NULL;
  if (posix_memalign (&p, alignment, size) != 0)
    exit (1);
  if ((uintptr_t) p % alignment != 0)
    exit (5);
  return touch (p, size);
}

int
main (int argc, char **argv)
{
  long scale = argc > 1 ? atol (argv[1]) : 100;
  static void *small[RING], *medium[RING], *large[RING], *huge[RING], *tiny[RING], *grown[RING],
    *aligned[RING];

  if (scale <= 0)
    return 2;
  /* interleaved, as a program's sites are: each round 3200 small, 320
   * medium, 20 large, 1 huge, two growing chains, 200 tiny */
  for (long round = 0; round < 2500 * scale / 100; round++)
    {
      for (int k = 0; k < 3200; k++)
        cycle (small, round * 3200 + k, alloc_small (64 + next () % 256));
      for (int k = 0; k < 320; k++)
        cycle (medium, round * 320 + k, alloc_medium (1024 + next () % 2048));
      for (int k = 0; k < 20; k++)
        cycle (large, round * 20 + k, alloc_large (24576 + next () % 16384));
      cycle (huge, round, alloc_huge (262144 + next () % 786432));
      for (int k = 0; k < 200; k++)
        cycle (tiny, round * 200 + k, alloc_tiny ());
      cycle (aligned, round, alloc_aligned ((size_t) 64 << next () % 7, 100 + next () % 8092));
      cycle (grown, 2 * round, grow_buffer ());
      cycle (grown, 2 * round + 1, grow_buffer ());
    }
  drain (small);
  drain (medium);
  drain (large);
  drain (huge);
  drain (tiny);
  drain (grown);
  drain (aligned);
  return 0;
}
