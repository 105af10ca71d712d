/* bad-frees.c — one of each wrong free, planted; the program must reach its
 * end and print "survived" under lifetime analysis, where each bad call is
 * reported and not passed to the C library.  (Without the agent it would
 * abort in glibc: run it only under HM_LIFETIME_ANALYSIS=1.)
 *
 * Planted: 1 double-free, 2 invalid-free (an address no allocation returned,
 * the middle of a block), 3 mismatched-free (free() of hm_alloc memory, of a
 * pool object and of GC memory).
 */
#include <hybridmem.h>
#include <stdio.h>
#include <stdlib.h>

static __attribute__ ((noinline)) void
double_free (void)
{
  char *p = malloc (40);
  free (p);
  free (p);                      /* PLANTED: double-free */
}

static __attribute__ ((noinline)) void
invalid_frees (void)
{
  static char not_heap[64];
  char *block = malloc (64);
  free (not_heap);               /* PLANTED: invalid-free */
  free (block + 16);             /* PLANTED: invalid-free */
  free (block);
}

static __attribute__ ((noinline)) void
mismatched_free (void)
{
  void *p = hm_alloc (24);
  free (p);                      /* PLANTED: mismatched-free */
  hm_free (p);
}

typedef struct {
  int x, y;
} Point;

static __attribute__ ((noinline)) void
other_strategies_freed (void)
{
  HmPool *points = HM_POOL_NEW (Point, 8);
  Point *p = hm_pool_get (points);
  free (p);                      /* PLANTED: mismatched-free */
  hm_pool_return (points, p);
  hm_pool_free (points);
  void *g = hm_gc_alloc (32);
  free (g);                      /* PLANTED: mismatched-free */
}

int
main (void)
{
  double_free ();
  invalid_frees ();
  mismatched_free ();
  other_strategies_freed ();
  /* a correct program after all that: the heap must still be sound */
  for (int i = 0; i < 10000; i++)
    free (malloc ((size_t) (i % 300) + 1));
  puts ("survived");
  return 0;
}
