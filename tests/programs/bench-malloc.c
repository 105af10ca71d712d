/* bench-malloc.c — the allocation benchmark: 5 000 000 malloc/free pairs of
 * 16–512 bytes through a ring of 20 000 live blocks.
 *
 * Prints nothing.  Sizes come from a fixed LCG, so every run makes the same
 * calls: exactly 5 000 000 allocations and 5 000 000 frees, nothing leaked.
 * An optional argument scales the number of pairs (for quick checks).
 */
#include <stdint.h>
#include <stdlib.h>

#define N_SLOTS 20000

static void *ring[N_SLOTS];

int
main (int argc, char **argv)
{
  long n_pairs = argc > 1 ? atol (argv[1]) : 5000000;
  uint32_t state = 12345;

  for (long i = 0; i < n_pairs; i++)
    {
      long slot = i % N_SLOTS;
      size_t size;
      char *block;

      state = state * 1664525u + 1013904223u;
      size = 16 + (state >> 8) % 497;      /* 16 ... 512 */
      free (ring[slot]);
      block = malloc (size);
      if (block == NULL)
        return 1;
      block[0] = (char) i;
      block[size - 1] = (char) i;
      ring[slot] = block;
    }
  for (long slot = 0; slot < N_SLOTS; slot++)
    free (ring[slot]);
  return 0;
}
