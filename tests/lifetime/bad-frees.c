/* bad-frees.c — one of each wrong free, planted; the program must reach its
 * end and print "survived" under lifetime analysis, where each bad call is
 * reported and not passed to the C library.  (Without the agent it would
 * abort in glibc: run it only under HM_LIFETIME_ANALYSIS=1.)
 *
 * Planted: 1 double-free, 2 invalid-free (an address no allocation returned,
 * the middle of a block), 1 mismatched-free (free() of hm_alloc memory).
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

int
main (void)
{
  double_free ();
  invalid_frees ();
  mismatched_free ();
  /* a correct program after all that: the heap must still be sound */
  for (int i = 0; i < 10000; i++)
    free (malloc ((size_t) (i % 300) + 1));
  puts ("survived");
  return 0;
}
