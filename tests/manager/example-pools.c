/* example-pools.c — a pool of particles: many short lives of one type.
 *
 * A particle system spawns and kills thousands of objects of one size every
 * second.  A pool keeps them on slabs of their own: hm_pool_get and
 * hm_pool_return are a few nanoseconds (a per-thread cache, no lock), the
 * objects stay close together in memory, and a particle returned twice or
 * to the wrong pool is reported instead of corrupting the heap.
 *
 *   cc example-pools.c $(pkg-config --cflags --libs hybridmem)
 *   ./a.out                       runs 600 frames
 *   hmtrace record -o t.hmt -- ./a.out && hmtrace report t.hmt
 *                                 the pool section shows "Particle": gets,
 *                                 returns and the most alive at once
 */
#include <stdint.h>
#include <stdio.h>

#include <hybridmem.h>

typedef struct {
  float x, y, z;
  float vx, vy, vz;
  int frames_left;
} Particle;

#define MAX_ALIVE 4096

/* A small deterministic generator, so that every run spawns the same. */
static uint32_t
next_random (uint32_t *state)
{
  *state = *state * 1664525u + 1013904223u;
  return *state >> 8;
}

int
main (void)
{
  /* Room for 1000 particles is mapped up front; a busier scene makes the
   * pool grow by whole slabs rather than fail. */
  HmPool *particles = HM_POOL_NEW (Particle, 1000);
  Particle *alive[MAX_ALIVE];
  size_t n_alive = 0, spawned = 0, peak = 0;
  uint32_t seed = 42;

  for (int frame = 0; frame < 600; frame++)
    {
      /* an explosion every 100 frames, a trickle in between */
      int births = frame % 100 == 0 ? 1500 : (int) (next_random (&seed) % 40);
      for (int i = 0; i < births && n_alive < MAX_ALIVE; i++)
        {
          Particle *p = hm_pool_get (particles);
          p->x = p->y = p->z = 0.0f;
          p->vx = (float) (next_random (&seed) % 200) / 100.0f - 1.0f;
          p->vy = (float) (next_random (&seed) % 200) / 100.0f;
          p->vz = (float) (next_random (&seed) % 200) / 100.0f - 1.0f;
          p->frames_left = 10 + (int) (next_random (&seed) % 120);
          alive[n_alive++] = p;
          spawned++;
        }
      if (n_alive > peak)
        peak = n_alive;

      /* move everything; the dead go back to the pool at once */
      for (size_t i = 0; i < n_alive;)
        {
          Particle *p = alive[i];
          p->x += p->vx;
          p->y += p->vy;
          p->z += p->vz;
          p->vy -= 0.05f;
          if (--p->frames_left > 0)
            {
              i++;
              continue;
            }
          hm_pool_return (particles, p);
          alive[i] = alive[--n_alive];
        }
    }
  while (n_alive > 0)
    hm_pool_return (particles, alive[--n_alive]);

  printf ("spawned %zu particles, at most %zu alive at once, %zu alive at the end\n", spawned,
          peak, hm_pool_live_objects (particles));
  hm_pool_free (particles);
  return 0;
}
