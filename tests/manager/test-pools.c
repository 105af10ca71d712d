/* test-pools.c — pools hand out aligned, distinct objects and take them back
 * from any thread; they grow past their capacity; a double return, a return
 * to the wrong pool and the use of a freed pool are warnings on stderr, never
 * crashes, and leave the pool working.
 *
 * Cases that misuse the API or need other options (HM_POOLING) run in a
 * subprocess: options are read once per process.
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hybridmem.h"

typedef struct {
  double position[3];
  double velocity[3];
  float life;
  int kind;
} Particle;

static gboolean
is_aligned (const void *p, size_t alignment)
{
  return ((uintptr_t) p & (alignment - 1)) == 0;
}

static void
test_reuse (void)
{
  HmPool *pool = HM_POOL_NEW (Particle, 16);
  Particle *a, *b;

  g_assert_cmpuint (hm_pool_object_size (pool), ==, sizeof (Particle));
  a = hm_pool_get (pool);
  g_assert_nonnull (a);
  g_assert_cmpuint (hm_pool_live_objects (pool), ==, 1);
  hm_pool_return (pool, a);
  g_assert_cmpuint (hm_pool_live_objects (pool), ==, 0);
  b = hm_pool_get (pool);
  g_assert_true (a == b);   /* the most recently returned comes back first */
  hm_pool_return (pool, b);
  hm_pool_return (pool, NULL);   /* like free (NULL) */
  hm_pool_free (pool);
  hm_pool_free (NULL);
}

static void
test_alignment (void)
{
  static const size_t sizes[] = { 1, 2, 3, 4, 7, 8, 12, 16, 24, 40, 48, 100, 4000, 5000, 70000 };

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      size_t size = sizes[s], alignment = 16;
      HmPool *pool = hm_pool_new ("sized", size, 10);
      void *objects[300];

      while (alignment / 2 >= size && alignment > 8)
        alignment /= 2;
      for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
        {
          objects[i] = hm_pool_get (pool);
          g_assert_nonnull (objects[i]);
          g_assert_true (is_aligned (objects[i], alignment));
          memset (objects[i], (int) i, size);
        }
      for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
        {
          const guint8 *b = objects[i];
          g_assert_cmpuint (b[0], ==, (guint8) i);
          g_assert_cmpuint (b[size - 1], ==, (guint8) i);
        }
      g_assert_cmpuint (hm_pool_live_objects (pool), ==, G_N_ELEMENTS (objects));
      for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
        hm_pool_return (pool, objects[i]);
      g_assert_cmpuint (hm_pool_live_objects (pool), ==, 0);
      hm_pool_free (pool);
    }
}

static void
test_growth (void)
{
  HmPool *pool = hm_pool_new ("Grows", 40, 10);
  const guint n = 100000;
  g_autofree guint32 **objects = g_new (guint32 *, n);
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);

  for (guint round = 0; round < 3; round++)
    {
      for (guint i = 0; i < n; i++)
        {
          objects[i] = hm_pool_get (pool);
          g_assert_nonnull (objects[i]);
          for (guint k = 0; k < 10; k++)
            objects[i][k] = i + k;
          g_assert_true (g_hash_table_add (seen, objects[i]));
        }
      g_assert_cmpuint (hm_pool_live_objects (pool), ==, n);
      for (guint i = 0; i < n; i++)
        for (guint k = 0; k < 10; k++)
          g_assert_cmpuint (objects[i][k], ==, i + k);
      /* half back in order, half in reverse */
      for (guint i = 0; i < n / 2; i++)
        hm_pool_return (pool, objects[i]);
      for (guint i = n; i-- > n / 2;)
        hm_pool_return (pool, objects[i]);
      g_assert_cmpuint (hm_pool_live_objects (pool), ==, 0);
      g_hash_table_remove_all (seen);
    }
  hm_pool_free (pool);
}

#define N_THREADS 8
#define ROUNDS 200
#define BATCH 300

typedef struct {
  HmPool *pool;
  guint index;
  GAsyncQueue *handoff;   /* objects this thread gets and another returns */
  GAsyncQueue *inbox;
} Worker;

/* Gets batches, stamps each object with its owner, checks no other thread
 * wrote it meanwhile, returns them; and passes some to the next thread,
 * which returns them from there. */
static gpointer
get_and_return (gpointer data)
{
  Worker *w = data;
  guint64 *objects[BATCH];
  GRand *rand = g_rand_new_with_seed (w->index);

  for (guint round = 0; round < ROUNDS; round++)
    {
      guint n = (guint) g_rand_int_range (rand, 1, BATCH);
      for (guint i = 0; i < n; i++)
        {
          objects[i] = hm_pool_get (w->pool);
          objects[i][0] = w->index;
          objects[i][1] = round * BATCH + i;
        }
      for (guint i = 0; i < n; i++)
        {
          g_assert_cmpuint (objects[i][0], ==, w->index);
          g_assert_cmpuint (objects[i][1], ==, round * BATCH + i);
        }
      for (guint i = 0; i < n; i++)
        if (i % 4 == 0)
          g_async_queue_push (w->handoff, objects[i]);
        else
          hm_pool_return (w->pool, objects[i]);
      gpointer other;
      while ((other = g_async_queue_try_pop (w->inbox)) != NULL)
        hm_pool_return (w->pool, other);
    }
  g_rand_free (rand);
  return NULL;
}

static void
test_threads (void)
{
  HmPool *pool = hm_pool_new ("Shared", 24, 1000);
  Worker workers[N_THREADS];
  GThread *threads[N_THREADS];
  GAsyncQueue *queues[N_THREADS];

  for (guint t = 0; t < N_THREADS; t++)
    queues[t] = g_async_queue_new ();
  for (guint t = 0; t < N_THREADS; t++)
    {
      workers[t] = (Worker) { pool, t, queues[(t + 1) % N_THREADS], queues[t] };
      threads[t] = g_thread_new ("pool-user", get_and_return, &workers[t]);
    }
  for (guint t = 0; t < N_THREADS; t++)
    g_thread_join (threads[t]);
  /* what was handed over after a thread ended comes back from here */
  for (guint t = 0; t < N_THREADS; t++)
    {
      gpointer other;
      while ((other = g_async_queue_try_pop (queues[t])) != NULL)
        hm_pool_return (pool, other);
      g_async_queue_unref (queues[t]);
    }
  /* the threads' caches went back to the pool when they ended */
  g_assert_cmpuint (hm_pool_live_objects (pool), ==, 0);
  hm_pool_free (pool);
}

static void
test_many_pools (void)
{
  /* more pools than a thread has cache slots: they share slots and stay apart */
  HmPool *pools[150];
  void *objects[150][20];

  for (guint i = 0; i < G_N_ELEMENTS (pools); i++)
    pools[i] = hm_pool_new ("many", 8 + i, i);
  for (guint round = 0; round < 3; round++)
    {
      for (guint i = 0; i < G_N_ELEMENTS (pools); i++)
        for (guint k = 0; k < 20; k++)
          {
            objects[i][k] = hm_pool_get (pools[i]);
            memset (objects[i][k], (int) i, 8 + i);
          }
      for (guint i = 0; i < G_N_ELEMENTS (pools); i++)
        {
          g_assert_cmpuint (hm_pool_live_objects (pools[i]), ==, 20);
          for (guint k = 0; k < 20; k++)
            {
              g_assert_cmpuint (((guint8 *) objects[i][k])[7 + i], ==, (guint8) i);
              hm_pool_return (pools[i], objects[i][k]);
            }
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (pools); i++)
    {
      g_assert_cmpuint (hm_pool_live_objects (pools[i]), ==, 0);
      hm_pool_free (pools[i]);
    }
}

static gpointer
get_and_exit (gpointer data)
{
  HmPool *pool = data;
  void *objects[50];
  for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
    objects[i] = hm_pool_get (pool);
  for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
    hm_pool_return (pool, objects[i]);
  return NULL;
}

static void
test_thread_exit (void)
{
  HmPool *pool = hm_pool_new ("exits", 64, 0);
  for (guint i = 0; i < 20; i++)
    g_thread_join (g_thread_new ("short-lived", get_and_exit, pool));
  g_assert_cmpuint (hm_pool_live_objects (pool), ==, 0);
  hm_pool_free (pool);
}

typedef struct {
  HmPool *pool;
  GMutex lock;
  GCond cond;
  gboolean cached, done;
} Holder;

/* Leaves objects in its cache and waits, so that the fork below happens
 * while another thread holds some of the pool. */
static gpointer
cache_and_wait (gpointer data)
{
  Holder *h = data;
  void *objects[40];
  for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
    objects[i] = hm_pool_get (h->pool);
  for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
    hm_pool_return (h->pool, objects[i]);
  g_mutex_lock (&h->lock);
  h->cached = TRUE;
  g_cond_broadcast (&h->cond);
  while (!h->done)
    g_cond_wait (&h->cond, &h->lock);
  g_mutex_unlock (&h->lock);
  return NULL;
}

static void
test_fork (void)
{
  Holder h = { .pool = hm_pool_new ("Forked", 32, 0) };
  GThread *thread;
  void *mine = hm_pool_get (h.pool);
  pid_t child;
  int status = 0;

  g_mutex_init (&h.lock);
  g_cond_init (&h.cond);
  thread = g_thread_new ("holder", cache_and_wait, &h);
  g_mutex_lock (&h.lock);
  while (!h.cached)
    g_cond_wait (&h.cond, &h.lock);
  g_mutex_unlock (&h.lock);

  child = fork ();
  if (child == 0)
    {
      /* only this thread is left: the holder's cached objects are the pool's
       * again, and nothing is locked */
      void *objects[100];
      if (hm_pool_live_objects (h.pool) != 1)
        _exit (2);
      for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
        objects[i] = hm_pool_get (h.pool);
      for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
        hm_pool_return (h.pool, objects[i]);
      hm_pool_return (h.pool, mine);
      _exit (hm_pool_live_objects (h.pool) == 0 ? 0 : 3);
    }
  g_assert_cmpint (child, >, 0);
  g_assert_cmpint (waitpid (child, &status, 0), ==, child);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);

  g_mutex_lock (&h.lock);
  h.done = TRUE;
  g_cond_broadcast (&h.cond);
  g_mutex_unlock (&h.lock);
  g_thread_join (thread);
  hm_pool_return (h.pool, mine);
  g_assert_cmpuint (hm_pool_live_objects (h.pool), ==, 0);
  hm_pool_free (h.pool);
  g_mutex_clear (&h.lock);
  g_cond_clear (&h.cond);
}

/* --- misuse, in subprocesses ----------------------------------------------------- */

static void
test_double_return (void)
{
  if (g_test_subprocess ())
    {
      HmPool *pool = HM_POOL_NEW (Particle, 8);
      Particle *p = hm_pool_get (pool), *q = hm_pool_get (pool);
      hm_pool_return (pool, p);
      hm_pool_return (pool, p);
      /* after the object has been through the shared list and back out */
      void *many[500];
      for (guint i = 0; i < G_N_ELEMENTS (many); i++)
        many[i] = hm_pool_get (pool);
      for (guint i = 0; i < G_N_ELEMENTS (many); i++)
        hm_pool_return (pool, many[i]);
      hm_pool_return (pool, many[3]);
      /* the pool still works, and its count is right */
      g_assert_cmpuint (hm_pool_live_objects (pool), ==, 1);
      hm_pool_return (pool, q);
      g_assert_cmpuint (hm_pool_live_objects (pool), ==, 0);
      g_assert_nonnull (hm_pool_get (pool));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*hybridmem: warning: hm_pool_return: 0x* was already returned to "
                             "pool 'Particle' (id *); ignored*already returned*");
}

static void
test_wrong_pool (void)
{
  if (g_test_subprocess ())
    {
      HmPool *particles = HM_POOL_NEW (Particle, 8);
      HmPool *other = hm_pool_new ("Other", sizeof (Particle), 8);
      Particle *p = hm_pool_get (particles);
      Particle on_stack;
      void *heap = g_malloc (sizeof (Particle));
      void *mine = hm_pool_get (other);

      hm_pool_return (other, mine);   /* the thread now knows one slab of other's */
      hm_pool_return (other, p);
      hm_pool_return (particles, &on_stack);
      hm_pool_return (particles, heap);
      hm_pool_return (particles, (char *) p + 8);
      hm_pool_return (particles, (void *) (uintptr_t) 0x10);
      hm_pool_return (particles, (void *) (uintptr_t) -64);
      hm_pool_return (NULL, p);
      /* none of that took p from its pool */
      g_assert_cmpuint (hm_pool_live_objects (particles), ==, 1);
      g_assert_cmpuint (hm_pool_live_objects (other), ==, 0);
      hm_pool_return (particles, p);
      g_assert_cmpuint (hm_pool_live_objects (particles), ==, 0);
      g_free (heap);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*hm_pool_return: 0x* came from pool 'Particle', not pool 'Other'*"
                             "*is not from any pool, returned to pool 'Particle'*"
                             "*is not from any pool*"
                             "*is inside pool 'Particle' (id *) but not an object it gave out*"
                             "*is not from any pool*is not from any pool*"
                             "*hm_pool_return: the pool is NULL*");
}

static void
test_free_with_objects_out (void)
{
  if (g_test_subprocess ())
    {
      HmPool *pool = hm_pool_new ("Frame", 200, 100);
      void *objects[150];
      for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
        objects[i] = hm_pool_get (pool);
      hm_pool_return (pool, objects[0]);
      hm_pool_free (pool);   /* ends the 149 still out */
      g_assert_cmpuint (hm_pool_live_objects (pool), ==, 0);
      hm_pool_return (pool, objects[1]);
      void *late = hm_pool_get (pool);   /* from the heap, with a warning */
      g_assert_nonnull (late);
      memset (late, 0, 200);
      hm_pool_free (pool);
      /* a new pool may take the memory; the old objects are not its own */
      HmPool *next = hm_pool_new ("Next", 200, 100);
      void *fresh = hm_pool_get (next);
      hm_pool_return (next, fresh);
      g_assert_cmpuint (hm_pool_live_objects (next), ==, 0);
      hm_pool_free (next);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*hm_pool_return: pool 'Frame' (id *) was freed; 0x* ignored*"
                             "*hm_pool_get: pool 'Frame' (id *) was freed; object served from "
                             "the heap instead*"
                             "*hm_pool_free: pool 'Frame' (id *) was freed; call ignored*");
}

/* HM_POOLING=0: heap blocks, still checked. */
static void
test_malloc_mode (void)
{
  if (g_test_subprocess ())
    {
      g_setenv ("HM_POOLING", "0", TRUE);   /* read at the first use below */
      HmPool *pool = HM_POOL_NEW (Particle, 100);
      HmPool *other = HM_POOL_NEW (Particle, 100);
      void *objects[3000];

      g_assert_cmpint (hm_get_options ()->enable_pooling, ==, 0);
      for (guint round = 0; round < 3; round++)
        {
          for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
            {
              objects[i] = hm_pool_get (pool);
              g_assert_true (is_aligned (objects[i], 16));
              memset (objects[i], (int) i, sizeof (Particle));
            }
          g_assert_cmpuint (hm_pool_live_objects (pool), ==, G_N_ELEMENTS (objects));
          for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
            hm_pool_return (pool, objects[i]);
          g_assert_cmpuint (hm_pool_live_objects (pool), ==, 0);
        }
      void *p = hm_pool_get (pool);
      hm_pool_return (other, p);
      hm_pool_return (pool, p);
      hm_pool_return (pool, p);
      g_assert_cmpuint (hm_pool_live_objects (pool), ==, 0);
      hm_pool_get (pool);   /* out when the pool is freed: freed with it */
      hm_pool_free (pool);
      hm_pool_free (other);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*hm_pool_return: 0x* did not come from pool 'Particle'*"
                             "*hm_pool_return: 0x* was already returned to pool 'Particle'*");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pool/get-return-reuse", test_reuse);
  g_test_add_func ("/pool/alignment", test_alignment);
  g_test_add_func ("/pool/grows-past-capacity", test_growth);
  g_test_add_func ("/pool/threads-get-and-return", test_threads);
  g_test_add_func ("/pool/many-pools", test_many_pools);
  g_test_add_func ("/pool/thread-exit-returns-cache", test_thread_exit);
  g_test_add_func ("/pool/fork-with-a-thread-holding-objects", test_fork);
  g_test_add_func ("/pool/double-return-warns", test_double_return);
  g_test_add_func ("/pool/wrong-pool-warns", test_wrong_pool);
  g_test_add_func ("/pool/free-with-objects-out", test_free_with_objects_out);
  g_test_add_func ("/pool/heap-blocks-when-disabled", test_malloc_mode);
  return g_test_run ();
}
