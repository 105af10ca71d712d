/* test-gc.c — the garbage collector (agent/hm-gc.c) in the process itself.
 *
 * An object the collector wrongly frees is found by its contents: it is
 * filled with a pattern, a collection runs, and then enough objects of the
 * same size are allocated (and held) to take every free slot of that size —
 * hm_gc_alloc returns zeroed memory, so a freed object would lose its pattern.
 * Pointers are kept in exactly one place per test (a stack local of another
 * thread, a global, a malloc'd block, an interior address), and the helpers
 * that made them are not inlined, so no stray copy in this frame keeps the
 * object alive for the wrong reason.
 */
#include <hybridmem.h>

#include <glib.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__ ((noinline))

/* --- helpers ------------------------------------------------------------------- */

static NOINLINE void *
new_patterned (size_t size, guint8 seed)
{
  guint8 *p = hm_gc_alloc (size);
  g_assert_nonnull (p);
  for (size_t i = 0; i < size; i++)
    {
      g_assert_cmpuint (p[i], ==, 0);
      p[i] = (guint8) (seed + i * 7);
    }
  return p;
}

static gboolean
has_pattern (const void *object, size_t size, guint8 seed)
{
  const guint8 *p = object;
  for (size_t i = 0; i < size; i++)
    if (p[i] != (guint8) (seed + i * 7))
      return FALSE;
  return TRUE;
}

/* Overwrites the dead part of the stack below us, where the helpers' frames
 * left copies of pointers. */
static NOINLINE void
clear_stack (void)
{
  char junk[64 * 1024];
  memset (junk, 0, sizeof junk);
  __asm__ volatile ("" : : "r" (junk) : "memory");   /* not a dead store */
}

/* Takes every free slot of this size (the objects stay reachable from a
 * malloc'd array while they are checked), then lets them go.  Every one must
 * be zero. */
static NOINLINE void
churn (size_t size, size_t count)
{
  void **held = g_new0 (void *, count);
  for (size_t i = 0; i < count; i++)
    {
      guint8 *p = hm_gc_alloc (size);
      g_assert_nonnull (p);
      for (size_t j = 0; j < size; j += 8)
        if (p[j] != 0)
          g_error ("hm_gc_alloc (%zu) returned memory that is not zeroed", size);
      memset (p, 0xa5, size);
      held[i] = p;
    }
  memset (held, 0, count * sizeof *held);
  g_free (held);
}

static NOINLINE size_t
collect_clean (void)
{
  clear_stack ();
  return hm_gc_collect ();
}

/* --- reachability ------------------------------------------------------------ */

static void *volatile global_object;

static void
test_from_global (void)
{
  global_object = new_patterned (200, 11);
  collect_clean ();
  churn (200, 40000);
  g_assert_true (has_pattern (global_object, 200, 11));
  global_object = NULL;
}

static NOINLINE void
check_local (void *volatile *slot)
{
  collect_clean ();
  churn (96, 40000);
  g_assert_true (has_pattern (*slot, 96, 22));
}

static void
test_from_stack_local (void)
{
  void *volatile local = new_patterned (96, 22);
  check_local (&local);
  local = NULL;
}

typedef struct {
  void *object;
} Holder;

static Holder *volatile global_holder;

static void
test_from_malloc_block (void)
{
  /* global -> malloc'd block -> GC object: the malloc heap is scanned */
  global_holder = malloc (sizeof (Holder));
  global_holder->object = new_patterned (48, 33);
  collect_clean ();
  churn (48, 60000);
  g_assert_true (has_pattern (global_holder->object, 48, 33));
  /* and a big malloc block, which glibc serves from an mmap of its own */
  Holder *big = malloc (4u << 20);
  memset (big, 0, 4u << 20);
  big[100000].object = new_patterned (48, 34);
  free (global_holder);
  global_holder = big;
  collect_clean ();
  churn (48, 60000);
  g_assert_true (has_pattern (global_holder[100000].object, 48, 34));
  free (global_holder);
  global_holder = NULL;
}

static void
test_interior_pointer (void)
{
  /* only a pointer into the middle is kept */
  global_object = (char *) new_patterned (256, 44) + 100;
  collect_clean ();
  churn (256, 30000);
  g_assert_true (has_pattern ((char *) global_object - 100, 256, 44));

  /* a big object, by its last byte */
  size_t big = 300 * 1024;
  global_object = (char *) new_patterned (big, 45) + big - 1;
  collect_clean ();
  for (int i = 0; i < 20; i++)
    churn (big, 4);
  g_assert_true (has_pattern ((char *) global_object - (big - 1), big, 45));
  global_object = NULL;
}

typedef struct {
  pthread_barrier_t *barrier;
  gboolean intact;
} ThreadCheck;

static void *
hold_on_stack (void *data)
{
  ThreadCheck *check = data;
  /* the only pointer to the object is this local */
  void *volatile mine = new_patterned (160, 55);
  pthread_barrier_wait (check->barrier);     /* the main thread collects... */
  pthread_barrier_wait (check->barrier);     /* ...and churns */
  /* the object came from this thread's own block, where a wrongly freed
   * object would wait until this thread takes new blocks: churn here too */
  churn (160, 40000);
  check->intact = has_pattern (mine, 160, 55);
  mine = NULL;
  return NULL;
}

static void
test_from_other_thread_stack (void)
{
  pthread_barrier_t barrier;
  ThreadCheck check = { &barrier, FALSE };
  pthread_t thread;

  pthread_barrier_init (&barrier, NULL, 2);
  pthread_create (&thread, NULL, hold_on_stack, &check);
  pthread_barrier_wait (&barrier);
  collect_clean ();
  churn (160, 40000);
  collect_clean ();
  pthread_barrier_wait (&barrier);
  pthread_join (thread, NULL);
  pthread_barrier_destroy (&barrier);
  g_assert_true (check.intact);
}

/* --- freeing --------------------------------------------------------------------- */

typedef struct Link Link;
struct Link {
  Link *next;
  long value;
  char pad[48];
};

static Link *volatile global_list;

static NOINLINE void
build_list (long n)
{
  Link *head = NULL;
  for (long i = 0; i < n; i++)
    {
      Link *l = hm_gc_alloc (sizeof *l);
      g_assert_nonnull (l);
      l->next = head;
      l->value = i;
      head = l;
    }
  global_list = head;
}

static NOINLINE long
check_list (long n)
{
  long count = 0, expect = n - 1;
  for (Link *l = global_list; l != NULL; l = l->next, expect--)
    {
      if (l->value != expect)
        return -1;
      count++;
    }
  return count;
}

static void
test_long_list (void)
{
  build_list (100000);
  collect_clean ();
  churn (sizeof (Link), 20000);
  collect_clean ();
  g_assert_cmpint (check_list (100000), ==, 100000);
  global_list = NULL;
}

/* Objects held only from a malloc'd array: a stray word can keep one of
 * them alive, never a chain (a list would be the worst case for a
 * conservative collector: one stray pointer keeps its whole tail). */
static NOINLINE void
allocate_dropped (long n, size_t size)
{
  void **held = malloc ((size_t) n * sizeof *held);
  for (long i = 0; i < n; i++)
    {
      held[i] = hm_gc_alloc (size);
      g_assert_nonnull (held[i]);
    }
  memset (held, 0, (size_t) n * sizeof *held);
  free (held);
}

static void
test_dropped_are_freed (void)
{
  const long n = 100000;
  const size_t size = 64;
  HmGcStats before, after;

  /* automatic collections may free some on the way: count all of them */
  collect_clean ();
  hm_gc_get_stats (&before);
  allocate_dropped (n, size);
  size_t freed = collect_clean ();
  hm_gc_get_stats (&after);
  g_test_message ("dropped %zu bytes; the last collection freed %zu, all since %zu",
                  (size_t) n * size, freed, after.freed_bytes - before.freed_bytes);
  g_assert_cmpuint (after.freed_bytes - before.freed_bytes, >=, (size_t) n * size * 9 / 10);

  /* big objects too */
  hm_gc_get_stats (&before);
  for (int i = 0; i < 10; i++)
    global_object = new_patterned (1u << 20, (guint8) i);
  global_object = NULL;
  collect_clean ();
  hm_gc_get_stats (&after);
  g_assert_cmpuint (after.freed_bytes - before.freed_bytes, >=, 9u << 20);
}

static void
test_zeroed_after_reuse (void)
{
  /* fill a size class with garbage, free it, and take it again */
  for (int i = 0; i < 50000; i++)
    memset (hm_gc_alloc (64), 0xff, 64);
  collect_clean ();
  churn (64, 100000);
}

static void
test_automatic (void)
{
  HmGcStats before, after;

  hm_gc_get_stats (&before);
  /* 256 MiB of garbage, 32 bytes at a time: with the default 8 MiB
   * threshold, collections must start by themselves and keep the heap small */
  for (long i = 0; i < (256L << 20) / 32; i++)
    {
      long *p = hm_gc_alloc (32);
      p[0] = i;
    }
  hm_gc_get_stats (&after);
  g_test_message ("%zu automatic collections, heap %zu KiB", after.collections - before.collections,
                  after.heap_bytes >> 10);
  g_assert_cmpuint (after.collections, >, before.collections + 10);
  g_assert_cmpuint (after.heap_bytes, <, 96u << 20);
  g_assert_cmpuint (after.freed_bytes, >, before.freed_bytes + (128u << 20));
  g_assert_cmpuint (after.total_pause_ns, >, before.total_pause_ns);
  g_assert_cmpuint (after.last_pause_ns, >, 0);
  g_assert_cmpuint (after.live_bytes, <, 64u << 20);
}

/* --- threads and fork ------------------------------------------------------------ */

typedef struct Tree Tree;
struct Tree {
  Tree *left, *right;
  long value;
};

static Tree *
tree_new (int depth, long value)
{
  Tree *t = hm_gc_alloc (sizeof *t);
  g_assert_nonnull (t);
  t->value = value;
  if (depth > 0)
    {
      t->left = tree_new (depth - 1, value * 2);
      t->right = tree_new (depth - 1, value * 2 + 1);
    }
  return t;
}

static gboolean
tree_check (const Tree *t, int depth, long value)
{
  if (t == NULL || t->value != value)
    return FALSE;
  if (depth == 0)
    return t->left == NULL && t->right == NULL;
  return tree_check (t->left, depth - 1, value * 2) && tree_check (t->right, depth - 1, value * 2 + 1);
}

typedef struct {
  int id;
  int rounds;
  gboolean ok;
} Worker;

static void *
worker_main (void *data)
{
  Worker *w = data;
  /* kept in a malloc'd block and on this stack */
  Tree **kept = malloc (4 * sizeof *kept);
  char letter = (char) ('a' + w->id % 26);

  w->ok = TRUE;
  for (int r = 0; r < w->rounds && w->ok; r++)
    {
      kept[r % 4] = tree_new (10, w->id + 1);
      char *text = hm_gc_alloc (3000 + (size_t) (r % 5) * 1000);
      memset (text, letter, 3000);
      /* garbage of many sizes */
      for (int i = 0; i < 2000; i++)
        {
          size_t size = 16 + (size_t) ((i * 37 + r) % 700);
          char *g = hm_gc_alloc (size);
          g[0] = (char) i;
        }
      if (r % 7 == w->id % 7)
        hm_gc_collect ();
      for (int k = 0; k < 4 && k <= r; k++)
        if (!tree_check (kept[k], 10, w->id + 1))
          {
            g_test_message ("thread %d round %d: tree %d lost", w->id, r, k);
            w->ok = FALSE;
          }
      for (int i = 0; i < 3000; i++)
        if (text[i] != letter)
          {
            g_test_message ("thread %d round %d: text lost at %d", w->id, r, i);
            w->ok = FALSE;
            break;
          }
    }
  free (kept);
  return NULL;
}

static void
test_threads (void)
{
  enum { N_THREADS = 8 };
  pthread_t threads[N_THREADS];
  Worker workers[N_THREADS];
  HmGcStats before, after;

  /* test-gc-traced.c asks for fewer rounds: every allocation is an event */
  int rounds = g_getenv ("HM_GC_TEST_ROUNDS") ? atoi (g_getenv ("HM_GC_TEST_ROUNDS")) : 40;

  hm_gc_get_stats (&before);
  for (int i = 0; i < N_THREADS; i++)
    {
      workers[i] = (Worker) { i, rounds, FALSE };
      pthread_create (&threads[i], NULL, worker_main, &workers[i]);
    }
  /* and threads that come and go while the others collect */
  for (int i = 0; i < 20; i++)
    {
      Worker brief = { 100 + i, 2, FALSE };
      pthread_t t;
      pthread_create (&t, NULL, worker_main, &brief);
      pthread_join (t, NULL);
      g_assert_true (brief.ok);
    }
  for (int i = 0; i < N_THREADS; i++)
    {
      pthread_join (threads[i], NULL);
      g_assert_true (workers[i].ok);
    }
  hm_gc_get_stats (&after);
  g_assert_cmpuint (after.collections, >, before.collections);
}

static volatile int fork_stop;

static void *
fork_background (void *data)
{
  (void) data;
  Tree *volatile mine = tree_new (8, 7);
  while (!fork_stop)
    {
      for (int i = 0; i < 1000; i++)
        hm_gc_alloc (40);
      if (!tree_check (mine, 8, 7))
        return (void *) 1;
    }
  return NULL;
}

static void
test_fork (void)
{
  pthread_t threads[2];
  void *result;

  global_list = NULL;
  fork_stop = 0;
  for (int i = 0; i < 2; i++)
    pthread_create (&threads[i], NULL, fork_background, NULL);
  Tree *volatile mine = tree_new (12, 1);
  g_usleep (20000);

  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      /* one thread here; the others' blocks were given back */
      int ok = tree_check (mine, 12, 1);
      hm_gc_collect ();
      Tree *volatile more = tree_new (12, 1);
      for (int i = 0; i < 200000; i++)
        hm_gc_alloc (40);
      hm_gc_collect ();
      ok = ok && tree_check (mine, 12, 1) && tree_check (more, 12, 1);
      _exit (ok ? 0 : 3);
    }
  hm_gc_collect ();
  int status;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  fork_stop = 1;
  for (int i = 0; i < 2; i++)
    {
      pthread_join (threads[i], &result);
      g_assert_null (result);
    }
  g_assert_true (tree_check (mine, 12, 1));
}

static void
test_sizes (void)
{
  /* every size from 0 to 9000: zeroed, writable, distinct, 16-byte aligned */
  char *prev = NULL;
  for (size_t size = 0; size <= 9000; size += 1 + size / 64)
    {
      char *p = hm_gc_alloc (size);
      g_assert_nonnull (p);
      g_assert_cmpuint ((uintptr_t) p % 16, ==, 0);
      g_assert_true (p != prev);
      for (size_t i = 0; i < size; i++)
        g_assert_cmpint (p[i], ==, 0);
      memset (p, 1, size);
      prev = p;
    }
  g_assert_null (hm_gc_alloc (SIZE_MAX / 2));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* one lost object must not hide what the other tests would find */
  g_test_set_nonfatal_assertions ();
  g_test_add_func ("/gc/reachable/from-stack-local", test_from_stack_local);
  g_test_add_func ("/gc/reachable/from-global", test_from_global);
  g_test_add_func ("/gc/reachable/from-malloc-block", test_from_malloc_block);
  g_test_add_func ("/gc/reachable/from-other-thread-stack", test_from_other_thread_stack);
  g_test_add_func ("/gc/reachable/from-interior-pointer", test_interior_pointer);
  g_test_add_func ("/gc/reachable/long-list", test_long_list);
  g_test_add_func ("/gc/dropped-are-freed", test_dropped_are_freed);
  g_test_add_func ("/gc/zeroed-after-reuse", test_zeroed_after_reuse);
  g_test_add_func ("/gc/sizes", test_sizes);
  g_test_add_func ("/gc/automatic-collections", test_automatic);
  g_test_add_func ("/gc/threads", test_threads);
  g_test_add_func ("/gc/fork", test_fork);
  return g_test_run ();
}
