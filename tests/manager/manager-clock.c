/* manager-clock.c — a traced program for test-manager-clock.c: the cheap
 * timestamps of region allocations, pool gets and pool returns (see
 * agent/hm-agent-private.h) put to the test.  Run with HM_TRACE=FILE.
 *
 * 1. bursts: two bursts of region allocations 200 ms apart; prints each
 *    burst's CLOCK_MONOTONIC span as "burst START_NS END_NS".
 * 2. region hand-off: regions made in the main thread, allocated from at
 *    once in another (the cheap stamp must not put an allocation before its
 *    region's creation); prints "regions N".
 * 3. pool hand-off: objects got in one thread, returned in another; prints
 *    "pool-objects N".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "hybridmem.h"

static uint64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void
spin (int n)
{
  for (volatile int i = 0; i < n; i++)
    ;
}

/* 20 ms of region allocations, one every few dozen ns.  Also prints how
 * long the last two batches of 256 took: a cheap stamp after the thread was
 * preempted can be early by as long as the preemption, until the thread's
 * next real TSC read (at most 64 events later), so a preemption near the
 * end shows in the last stamp. */
static void
burst (HmRegion *region)
{
  uint64_t start = now_ns (), end = start, batch_start;
  uint64_t last_batches[2] = { 0, 0 };
  do
    {
      batch_start = end;
      for (int i = 0; i < 256; i++)
        {
          char *p = hm_region_alloc (region, 16);
          p[0] = 1;
          spin (8);
        }
      end = now_ns ();
      last_batches[0] = last_batches[1];
      last_batches[1] = end - batch_start;
    }
  while (end - start < 20u * 1000u * 1000u);
  printf ("burst %llu %llu %llu\n", (unsigned long long) start, (unsigned long long) end,
          (unsigned long long) (last_batches[0] + last_batches[1]));
}

/* --- regions handed to another thread ------------------------------------------ */

#define ALLOCS_PER_REGION 8
static HmRegion *handed_region;
static int region_done;

static void *
region_user (void *arg)
{
  (void) arg;
  for (;;)
    {
      HmRegion *r;
      while ((r = __atomic_load_n (&handed_region, __ATOMIC_ACQUIRE)) == NULL)
        ;
      if (r == (HmRegion *) 1)
        return NULL;
      for (int i = 0; i < ALLOCS_PER_REGION; i++)
        ((char *) hm_region_alloc (r, 32))[0] = 1;
      __atomic_store_n (&handed_region, NULL, __ATOMIC_RELAXED);
      __atomic_store_n (&region_done, 1, __ATOMIC_RELEASE);
    }
}

static void
region_hand_off (void)
{
  pthread_t thread;
  HmRegion *busy = hm_region_new ("busy");
  unsigned n = 0;

  pthread_create (&thread, NULL, region_user, NULL);
  uint64_t start = now_ns ();
  while (now_ns () - start < 150u * 1000u * 1000u)
    {
      HmRegion *r = hm_region_new (NULL);
      /* a few cheap events of this thread between creates */
      for (int i = 0; i < 20; i++)
        ((char *) hm_region_alloc (busy, 16))[0] = 1;
      __atomic_store_n (&region_done, 0, __ATOMIC_RELAXED);
      __atomic_store_n (&handed_region, r, __ATOMIC_RELEASE);
      while (!__atomic_load_n (&region_done, __ATOMIC_ACQUIRE))
        ;
      n++;
      if (n % 64 == 0)
        hm_region_reset (busy);
    }
  __atomic_store_n (&handed_region, (HmRegion *) 1, __ATOMIC_RELEASE);
  pthread_join (thread, NULL);
  printf ("regions %u\n", n);
}

/* --- pool objects got in one thread, returned in another ------------------------ */

#define QUEUE 64u
static void *queue[QUEUE];
static uint64_t queue_head, queue_tail;   /* head: producer's, tail: consumer's */
static HmPool *pool;

static void *
pool_returner (void *arg)
{
  uint64_t n = (uint64_t) (uintptr_t) arg;
  for (uint64_t i = 0; i < n; i++)
    {
      while (__atomic_load_n (&queue_head, __ATOMIC_ACQUIRE) == queue_tail)
        ;
      void *object = queue[queue_tail % QUEUE];
      __atomic_store_n (&queue_tail, queue_tail + 1, __ATOMIC_RELEASE);
      hm_pool_return (pool, object);
    }
  return NULL;
}

static void
pool_hand_off (void)
{
  const uint64_t n = 200000;
  pthread_t thread;

  pool = hm_pool_new ("hand-off", 32, 0);
  pthread_create (&thread, NULL, pool_returner, (void *) (uintptr_t) n);
  for (uint64_t i = 0; i < n; i++)
    {
      char *object = hm_pool_get (pool);
      object[0] = 1;
      while (queue_head - __atomic_load_n (&queue_tail, __ATOMIC_ACQUIRE) == QUEUE)
        ;
      queue[queue_head % QUEUE] = object;
      __atomic_store_n (&queue_head, queue_head + 1, __ATOMIC_RELEASE);
    }
  pthread_join (thread, NULL);
  printf ("pool-objects %llu\n", (unsigned long long) n);
}

int
main (void)
{
  HmRegion *region = hm_region_new ("bursts");
  struct timespec pause = { 0, 200 * 1000 * 1000 };

  burst (region);
  nanosleep (&pause, NULL);
  burst (region);
  region_hand_off ();
  pool_hand_off ();
  return 0;
}
