/* bench-fragment.c — a workload that fragments the heap: many small blocks,
 * most of them freed but every 32nd kept (so the heap cannot shrink from its
 * top), then bigger blocks that do not fit the holes left behind.  Memory
 * the C library keeps in those holes counts in the peak unless it is given
 * back to the OS.
 *
 * Usage: bench-fragment [MIB]   MiB in each phase (default 64).
 * Prints "peak_rss_kib N" (getrusage) and nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define SMALL 1024
#define BIG (100 * 1024)

static void *
allocate_small (size_t size)
{
  char *p = malloc (size);
  if (p == NULL)
    abort ();
  memset (p, 1, size);
  return p;
}

static void *
allocate_big (size_t size)
{
  char *p = malloc (size);
  if (p == NULL)
    abort ();
  memset (p, 2, size);
  return p;
}

int
main (int argc, char **argv)
{
  long mib = argc > 1 ? atol (argv[1]) : 64;
  size_t n_small = (size_t) mib * 1024 * 1024 / SMALL;
  size_t n_big = (size_t) mib * 1024 * 1024 / BIG;
  void **small = calloc (n_small, sizeof *small);
  void **big = calloc (n_big, sizeof *big);
  struct rusage usage;

  for (size_t i = 0; i < n_small; i++)
    small[i] = allocate_small (SMALL);
  for (size_t i = 0; i < n_small; i++)
    if (i % 32 != 0)
      {
        free (small[i]);
        small[i] = NULL;
      }
  for (size_t i = 0; i < n_big; i++)
    big[i] = allocate_big (BIG);

  getrusage (RUSAGE_SELF, &usage);
  printf ("peak_rss_kib %ld\n", usage.ru_maxrss);
  for (size_t i = 0; i < n_big; i++)
    free (big[i]);
  for (size_t i = 0; i < n_small; i++)
    free (small[i]);
  free (small);
  free (big);
  return 0;
}
