/* jemalloc-user.c — a program linked with -ljemalloc: malloc & co. and
 * jemalloc's own API, a known number of times each.
 *
 * Own calls: malloc 10, free 10 (of those), mallocx 7, rallocx 3 (of
 * mallocx blocks), xallocx 2, dallocx 4, sdallocx 3.  Prints whether its
 * malloc really is jemalloc's (thread.allocated grows by a 1 MiB malloc)
 * and a checksum of what it stored, so output can be compared.
 */
#include <jemalloc/jemalloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t
allocated_by_this_thread (void)
{
  uint64_t v = 0;
  size_t len = sizeof v;
  if (mallctl ("thread.allocated", &v, &len, NULL, 0) != 0)
    return 0;
  return v;
}

/* Every counted call is made here (main prints: stdio's buffer is not ours). */
static unsigned
exercise (int *served)
{
  void *blocks[10], *x[7];
  unsigned sum = 0;

  uint64_t before = allocated_by_this_thread ();
  char *big = malloc (1 << 20);                       /* malloc 1 */
  uint64_t after = allocated_by_this_thread ();
  memset (big, 1, 1 << 20);
  *served = after - before >= (1 << 20);
  free (big);                                         /* free 1 */

  for (int i = 0; i < 9; i++)                         /* malloc 2..10 */
    {
      blocks[i] = malloc (16 + i * 8);
      memset (blocks[i], i, 16);
      sum += ((unsigned char *) blocks[i])[3];
    }
  for (int i = 0; i < 9; i++)                         /* free 2..10 */
    free (blocks[i]);

  for (int i = 0; i < 7; i++)                         /* mallocx 7 */
    x[i] = mallocx (64 + i, i == 0 ? MALLOCX_ZERO : MALLOCX_ALIGN (64));
  for (int i = 0; i < 3; i++)                         /* rallocx 3 */
    x[i] = rallocx (x[i], 4096 + i, 0);
  size_t grown = xallocx (x[3], 80, 0, 0);            /* xallocx 2 */
  grown += xallocx (x[4], 72, 0, 0);
  sum += (unsigned) (grown > 0);
  for (int i = 0; i < 4; i++)                         /* dallocx 4 */
    dallocx (x[i], 0);
  for (int i = 4; i < 7; i++)                         /* sdallocx 3 */
    sdallocx (x[i], 64 + i, MALLOCX_ALIGN (64));
  return sum;
}

int
main (void)
{
  int served = 0;
  unsigned sum = exercise (&served);
  printf ("%s serves malloc: %s\n", "jemalloc", served ? "yes" : "no");
  printf ("checksum %u\n", sum);
  return 0;
}
