/* mimalloc-user.c — a program linked with -lmimalloc: malloc & co. and
 * mimalloc's own API, a known number of times each.
 *
 * Own calls: malloc 6, calloc 2, free 8 (of those); mi_malloc 5,
 * mi_calloc 2, mi_zalloc 1, mi_malloc_aligned 2, mi_realloc 3 (of
 * mi_malloc blocks), mi_free 10.  Prints whether malloc's block is in
 * mimalloc's heap and a checksum.
 */
#include <mimalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every counted call is made here (main prints: stdio's buffer is not ours). */
static unsigned
exercise (int *served)
{
  void *blocks[8], *m[10];
  unsigned sum = 0;

  for (int i = 0; i < 6; i++)                         /* malloc 6 */
    {
      blocks[i] = malloc (24 + i);
      memset (blocks[i], i + 1, 24);
      sum += ((unsigned char *) blocks[i])[5];
    }
  blocks[6] = calloc (4, 8);                          /* calloc 2 */
  blocks[7] = calloc (2, 100);
  *served = mi_is_in_heap_region (blocks[0]);
  for (int i = 0; i < 8; i++)                         /* free 8 */
    free (blocks[i]);

  for (int i = 0; i < 5; i++)                         /* mi_malloc 5 */
    m[i] = mi_malloc (40 + i);
  m[5] = mi_calloc (3, 16);                           /* mi_calloc 2 */
  m[6] = mi_calloc (1, 500);
  m[7] = mi_zalloc (72);                              /* mi_zalloc 1 */
  m[8] = mi_malloc_aligned (100, 64);                 /* mi_malloc_aligned 2 */
  m[9] = mi_malloc_aligned (200, 128);
  for (int i = 0; i < 3; i++)                         /* mi_realloc 3 */
    m[i] = mi_realloc (m[i], 1000 + i);
  sum += ((unsigned char *) m[7])[10];
  for (int i = 0; i < 10; i++)                        /* mi_free 10 */
    mi_free (m[i]);
  return sum;
}

int
main (void)
{
  int served = 0;
  unsigned sum = exercise (&served);
  printf ("%s serves malloc: %s\n", "mimalloc", served ? "yes" : "no");
  printf ("checksum %u\n", sum);
  return 0;
}
