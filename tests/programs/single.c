/* single.c — one thread through every allocation entry point, with exact counts.
 *
 * The program prints nothing and uses no stdio, so the only allocations in the
 * process are the ones below (checked against count-preload.c as an oracle).
 * Lines marked SITE: are looked up by the test driver to check file:line; the
 * five failing calls are marked too (calloc-overflow, realloc-huge,
 * malloc-huge, posix_memalign-einval, reallocarray-overflow): no site may
 * point at them.
 * It exits 90+n if one of its own assumptions about glibc did not hold.
 *
 * Expected counts (tests/test-record.c encodes the same numbers):
 *
 *   function           allocations  bytes         frees  leaked blocks / bytes
 *   make_small_blocks  600          41 616        540    60 / 4 320
 *   make_large_blocks  400          294 400       390    10 / 7 040
 *   make_peak_block    1            1 048 576     1      0 / 0
 *   exercise_calloc    2            420           1      1 / 300
 *   exercise_realloc   7            5 348         4      1 / 5 000
 *   exercise_aligned   7            1 796 + PAGE  6      0 / 0
 *   total              1 017        1 392 156 + PAGE  942  72 / 16 660
 *
 *   PAGE is sysconf(_SC_PAGESIZE): bytes_allocated is 1 396 252 on 4 KiB pages.
 *   peak_bytes = 41 616 + 294 400 + 1 048 576 = 1 384 592 (in make_peak_block)
 *   by entry point: malloc 1 005, calloc 2, realloc 3, reallocarray 2,
 *                   memalign 1, posix_memalign 1, aligned_alloc 1, valloc 1,
 *                   pvalloc 1
 *   realloc(p, 0) is one of exercise_realloc's frees, not an allocation.
 *   failed calls (count nothing): malloc(huge), calloc overflow,
 *   realloc(p, huge), posix_memalign with alignment 3, reallocarray overflow;
 *   free(NULL) counts nothing.
 *   glibc 2.36's reallocarray calls realloc through the PLT, so a hook on both
 *   must count the call once (1 019 allocations would mean it did not).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_SMALL 600
#define N_LARGE 400
#define NOINLINE __attribute__((noinline))

static void *small_blocks[N_SMALL];
static void *large_blocks[N_LARGE];

/* A size the allocator cannot serve; volatile so the compiler cannot see it. */
static volatile size_t huge_size = SIZE_MAX - 4096;

static size_t small_size (int i) { return 8 + (size_t) (i % 32) * 4; }
static size_t large_size (int i) { return 256 + (size_t) (i % 16) * 64; }

static NOINLINE void
make_small_blocks (void)
{
  for (int i = 0; i < N_SMALL; i++)
    {
      small_blocks[i] = malloc (small_size (i)); /* SITE: small */
      memset (small_blocks[i], i & 0xff, small_size (i));
    }
}

static NOINLINE void
make_large_blocks (void)
{
  for (int i = 0; i < N_LARGE; i++)
    {
      large_blocks[i] = malloc (large_size (i)); /* SITE: large */
      memset (large_blocks[i], i & 0xff, large_size (i));
    }
}

/* While all 1 000 blocks are live: the process-wide peak of live bytes. */
static NOINLINE void
make_peak_block (void)
{
  char *block = malloc (1 << 20); /* SITE: peak */
  block[0] = 1;
  free (block);
}

/* Frees every even block, then all but the leaked ones:
 * small i % 10 == 1 (60 blocks), large i % 40 == 3 (10 blocks). */
static NOINLINE void
free_most_blocks (void)
{
  for (int i = 0; i < N_SMALL; i += 2)
    free (small_blocks[i]);
  for (int i = 0; i < N_LARGE; i += 2)
    free (large_blocks[i]);
  for (int i = 1; i < N_SMALL; i += 2)
    if (i % 10 != 1)
      free (small_blocks[i]);
  for (int i = 1; i < N_LARGE; i += 2)
    if (i % 40 != 3)
      free (large_blocks[i]);
}

static void *leaked_calloc;

static NOINLINE void
exercise_calloc (void)
{
  void *a = calloc (10, 12);                 /* SITE: calloc-freed */
  leaked_calloc = calloc (3, 100);           /* SITE: calloc-leaked */
  if (calloc (huge_size, 16) != NULL)        /* SITE: calloc-overflow */
    _exit (91);
  free (a);
}

static void *leaked_realloc;

static NOINLINE void
exercise_realloc (void)
{
  char *r = realloc (NULL, 100);             /* SITE: realloc-null */
  char *fence = malloc (32);                 /* SITE: realloc-fence */
  uintptr_t before_move;

  r = realloc (r, 104);                      /* SITE: realloc-in-place */
  before_move = (uintptr_t) r;
  /* The fence sits right after r, so growing to 5000 must move it. */
  r = realloc (r, 5000);                     /* SITE: realloc-move */
  if ((uintptr_t) r == before_move)
    _exit (92);
  r[4999] = 1;
  leaked_realloc = r;

  char *zero = malloc (48);                  /* SITE: realloc-zero */
  if (realloc (zero, 0) != NULL)             /* frees zero, glibc returns NULL */
    _exit (93);

  char *keep = malloc (64);                  /* SITE: realloc-fail */
  if (realloc (keep, huge_size) != NULL)     /* SITE: realloc-huge */
    _exit (94);
  free (keep);

  void *empty = malloc (0);                  /* SITE: malloc-zero */
  free (empty);
  if (malloc (huge_size) != NULL)            /* SITE: malloc-huge */
    _exit (95);
  free (NULL);
  free (fence);
}

static NOINLINE void
exercise_aligned (void)
{
  size_t page = (size_t) sysconf (_SC_PAGESIZE);
  void *p = NULL;

  if (posix_memalign (&p, 64, 200) != 0)     /* SITE: posix_memalign */
    _exit (96);
  free (p);
  if (posix_memalign (&p, 3, 200) != EINVAL) /* SITE: posix_memalign-einval */
    _exit (97);

  p = aligned_alloc (128, 256);              /* SITE: aligned_alloc */
  free (p);
  p = memalign (32, 100);                    /* SITE: memalign */
  free (p);
  p = valloc (1000);                         /* SITE: valloc */
  free (p);
  /* One page exactly, so "requested" and "rounded up" sizes agree. */
  p = pvalloc (page);                        /* SITE: pvalloc */
  free (p);

  long *array = reallocarray (NULL, 10, 8);  /* SITE: reallocarray-null */
  array = reallocarray (array, 20, 8);       /* SITE: reallocarray-grow */
  if (reallocarray (array, huge_size, 16) != NULL) /* SITE: reallocarray-overflow */
    _exit (98);
  free (array);
}

int
main (void)
{
  make_small_blocks ();
  make_large_blocks ();
  make_peak_block ();
  free_most_blocks ();
  exercise_calloc ();
  exercise_realloc ();
  exercise_aligned ();
  return 0;
}
