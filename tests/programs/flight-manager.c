/* flight-manager.c — the manager's objects under the flight recorder:
 * `flight-manager WAIT_MS`, linked with libhybridmem.
 *
 * Before the window: a region and a pool that are freed again ("gone-arena",
 * "GonePool": a dump must not list them); a region "frame-arena" that is
 * used, then reset, then used on; a pool "Particle" (48-byte objects,
 * capacity 64); 40 GC objects of 200 bytes, kept in a global array.
 * Then, every 20 ms for WAIT_MS (longer than the recorder's window), one
 * allocation of 100..149 bytes from the region, two objects from the pool
 * and the oldest one held back to it (so the window returns objects got
 * long before it).  At the end 5 more GC objects.  Then it prints what it
 * holds and "ready", and waits for stdin's end:
 *
 *   region frame-arena N BYTES      allocations and bytes since the reset
 *   pool Particle 48 64 OUT         objects out
 *   gc N BYTES                      GC objects it keeps
 *
 * A dump taken after "ready" of a window shorter than WAIT_MS must show
 * exactly these, though the region, the pool and most GC objects were made
 * before the window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hybridmem.h"

#define N_GC_EARLY 40
#define N_GC_LATE 5
#define GC_SIZE 200
#define MAX_HELD 4096

static void *gc_kept[N_GC_EARLY + N_GC_LATE];
static void *held[MAX_HELD];

static void
sleep_ms (long ms)
{
  struct timespec pause = { ms / 1000, (ms % 1000) * 1000000 };
  while (nanosleep (&pause, &pause) != 0)
    ;
}

static long
now_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    return 2;
  long wait_ms = atol (argv[1]);
  size_t region_n = 0, region_bytes = 0, n_held = 0, first_held = 0;

  HmRegion *gone_region = hm_region_new ("gone-arena");
  for (int i = 0; i < 3; i++)
    memset (hm_region_alloc (gone_region, 64), 1, 64);
  hm_region_free (gone_region);
  HmPool *gone_pool = hm_pool_new ("GonePool", 24, 8);
  hm_pool_get (gone_pool);
  hm_pool_get (gone_pool);
  hm_pool_free (gone_pool);

  HmRegion *region = hm_region_new ("frame-arena");
  for (int i = 0; i < 20; i++)
    hm_region_alloc (region, 1000);
  hm_region_reset (region);
  HmPool *pool = hm_pool_new ("Particle", 48, 64);
  for (int i = 0; i < N_GC_EARLY; i++)
    gc_kept[i] = hm_gc_alloc (GC_SIZE);

  long end = now_ms () + wait_ms;
  for (size_t step = 0; now_ms () < end && n_held + 2 < MAX_HELD; step++)
    {
      size_t size = 100 + step % 50;
      memset (hm_region_alloc (region, size), 2, size);
      region_n++;
      region_bytes += size;
      held[n_held++] = hm_pool_get (pool);
      held[n_held++] = hm_pool_get (pool);
      hm_pool_return (pool, held[first_held]);
      held[first_held++] = NULL;
      sleep_ms (20);
    }
  for (int i = N_GC_EARLY; i < N_GC_EARLY + N_GC_LATE; i++)
    gc_kept[i] = hm_gc_alloc (GC_SIZE);

  printf ("region frame-arena %zu %zu\n", region_n, region_bytes);
  printf ("pool Particle 48 64 %zu\n", hm_pool_live_objects (pool));
  printf ("gc %d %d\n", N_GC_EARLY + N_GC_LATE, (N_GC_EARLY + N_GC_LATE) * GC_SIZE);
  printf ("ready\n");
  fflush (stdout);
  char buf[256];
  while (read (0, buf, sizeof buf) > 0)
    ;
  hm_pool_free (pool);
  hm_region_free (region);
  return 0;
}
