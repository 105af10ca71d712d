/* bench-gc.c — hm_gc_alloc against Boehm GC's GC_MALLOC on the same loop.
 *
 * The loop is Boehm's classic GCBench: a long-lived tree and array stay live
 * while trees of growing depth are built top-down and bottom-up and dropped.
 * Each allocator runs in a child process of its own (so neither heap is a
 * root of the other), several times, alternating; the best and the median run
 * are printed with the ratio.  Then each builds a live tree of known size and
 * times full collections on it: pause per MB of live heap.
 *
 * Without libgc-dev at build time (bdw-gc not found) the Boehm half is skipped
 * and only hybridmem's numbers are printed.
 */
#include <hybridmem.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_BOEHM
#include <gc.h>
#endif

typedef struct Node Node;
struct Node {
  Node *left, *right;
  int i, j;
};

enum {
  STRETCH_DEPTH = 18,
  LONG_LIVED_DEPTH = 16,
  ARRAY_SIZE = 500000,
  MIN_DEPTH = 4,
  MAX_DEPTH = 16,
  PAUSE_DEPTH = 19,         /* 2^20 nodes of 32 bytes: a 32 MiB live heap */
  ROUNDS = 5,
};

static uint64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static long
tree_size (int depth)
{
  return (1L << (depth + 1)) - 1;
}

/* One copy of GCBench per allocator, so that both make direct calls. */
#define DEFINE_GCBENCH(prefix, ALLOC)                                          \
  static long prefix##_n_allocs;                                               \
  static Node *prefix##_new_node (Node *l, Node *r)                            \
  {                                                                            \
    Node *n = ALLOC (sizeof (Node));                                           \
    prefix##_n_allocs++;                                                       \
    n->left = l;                                                               \
    n->right = r;                                                              \
    return n;                                                                  \
  }                                                                            \
  static void prefix##_populate (int depth, Node *n)                           \
  {                                                                            \
    if (depth <= 0)                                                            \
      return;                                                                  \
    n->left = prefix##_new_node (NULL, NULL);                                  \
    n->right = prefix##_new_node (NULL, NULL);                                 \
    prefix##_populate (depth - 1, n->left);                                    \
    prefix##_populate (depth - 1, n->right);                                   \
  }                                                                            \
  static Node *prefix##_make_tree (int depth)                                  \
  {                                                                            \
    if (depth <= 0)                                                            \
      return prefix##_new_node (NULL, NULL);                                   \
    return prefix##_new_node (prefix##_make_tree (depth - 1),                  \
                              prefix##_make_tree (depth - 1));                 \
  }                                                                            \
  static void prefix##_gcbench (void)                                          \
  {                                                                            \
    Node *volatile long_lived;                                                 \
    double *volatile array;                                                    \
    (void) prefix##_make_tree (STRETCH_DEPTH);                                 \
    long_lived = prefix##_new_node (NULL, NULL);                               \
    prefix##_populate (LONG_LIVED_DEPTH, long_lived);                          \
    array = ALLOC (sizeof (double) * ARRAY_SIZE);                              \
    prefix##_n_allocs++;                                                       \
    for (int k = 0; k < ARRAY_SIZE / 2; k++)                                   \
      array[k] = 1.0 / k;                                                      \
    for (int d = MIN_DEPTH; d <= MAX_DEPTH; d += 2)                            \
      {                                                                        \
        long iterations = 2 * tree_size (STRETCH_DEPTH) / tree_size (d);       \
        for (long k = 0; k < iterations; k++)                                  \
          {                                                                    \
            Node *t = prefix##_new_node (NULL, NULL);                          \
            prefix##_populate (d, t);                                          \
          }                                                                    \
        for (long k = 0; k < iterations; k++)                                  \
          (void) prefix##_make_tree (d);                                       \
      }                                                                        \
    if (long_lived == NULL || array[1000] != 1.0 / 1000)                       \
      abort ();                                                                \
  }

DEFINE_GCBENCH (hm, hm_gc_alloc)
#ifdef HAVE_BOEHM
DEFINE_GCBENCH (boehm, GC_MALLOC)
#endif

typedef struct {
  double ns_per_alloc;
  double pause_ns_per_mb;
  double collections;
} Result;

/* A collection of a known live heap: the median of 5, per MiB. */
static double
median5 (double *v)
{
  for (int i = 1; i < 5; i++)
    for (int j = i; j > 0 && v[j - 1] > v[j]; j--)
      {
        double t = v[j];
        v[j] = v[j - 1];
        v[j - 1] = t;
      }
  return v[2];
}

static void
run_hm (Result *r)
{
  HmGcStats stats;
  uint64_t t0 = now_ns ();
  hm_gcbench ();
  uint64_t t1 = now_ns ();
  hm_gc_get_stats (&stats);
  r->ns_per_alloc = (double) (t1 - t0) / (double) hm_n_allocs;
  r->collections = (double) stats.collections;

  Node *volatile live = hm_make_tree (PAUSE_DEPTH);
  double live_mb = (double) tree_size (PAUSE_DEPTH) * 32 / (1024.0 * 1024.0);
  double pauses[5];
  hm_gc_collect ();
  for (int i = 0; i < 5; i++)
    {
      hm_gc_collect ();
      hm_gc_get_stats (&stats);
      pauses[i] = (double) stats.last_pause_ns;
    }
  r->pause_ns_per_mb = median5 (pauses) / live_mb;
  if (live == NULL)
    abort ();
}

#ifdef HAVE_BOEHM
static void
run_boehm (Result *r)
{
  GC_INIT ();
  uint64_t t0 = now_ns ();
  boehm_gcbench ();
  uint64_t t1 = now_ns ();
  r->ns_per_alloc = (double) (t1 - t0) / (double) boehm_n_allocs;
  r->collections = (double) GC_get_gc_no ();

  Node *volatile live = boehm_make_tree (PAUSE_DEPTH);
  double live_mb = (double) tree_size (PAUSE_DEPTH) * 32 / (1024.0 * 1024.0);
  double pauses[5];
  GC_gcollect ();
  for (int i = 0; i < 5; i++)
    {
      uint64_t a = now_ns ();
      GC_gcollect ();
      pauses[i] = (double) (now_ns () - a);
    }
  r->pause_ns_per_mb = median5 (pauses) / live_mb;
  if (live == NULL)
    abort ();
}
#endif

/* Runs fn in a child; its Result comes back through a pipe. */
static int
in_child (void (*fn) (Result *), Result *out)
{
  int fds[2];
  if (pipe (fds) != 0)
    return -1;
  pid_t pid = fork ();
  if (pid == 0)
    {
      Result r = { 0 };
      close (fds[0]);
      fn (&r);
      if (write (fds[1], &r, sizeof r) != (ssize_t) sizeof r)
        _exit (2);
      _exit (0);
    }
  close (fds[1]);
  ssize_t n = read (fds[0], out, sizeof *out);
  close (fds[0]);
  int status;
  waitpid (pid, &status, 0);
  return n == (ssize_t) sizeof *out && WIFEXITED (status) && WEXITSTATUS (status) == 0 ? 0 : -1;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

typedef struct {
  double alloc[ROUNDS], pause[ROUNDS], collections;
} Series;

static void
summarise (const char *name, Series *s)
{
  qsort (s->alloc, ROUNDS, sizeof (double), compare_doubles);
  qsort (s->pause, ROUNDS, sizeof (double), compare_doubles);
  printf ("%-10s  %6.1f ns/alloc (best %5.1f)   pause %7.0f us/MB live (best %6.0f)   %3.0f collections\n",
          name, s->alloc[ROUNDS / 2], s->alloc[0], s->pause[ROUNDS / 2] / 1000,
          s->pause[0] / 1000, s->collections);
}

int
main (void)
{
  Series hm = { 0 };
#ifdef HAVE_BOEHM
  Series boehm = { 0 };
#endif

  printf ("GCBench (%d-byte nodes), %d rounds each, alternating, median and best:\n",
          (int) sizeof (Node), ROUNDS);
  for (int round = 0; round < ROUNDS; round++)
    {
      Result r;
      if (in_child (run_hm, &r) != 0)
        {
          fprintf (stderr, "bench-gc: the hybridmem run failed\n");
          return 1;
        }
      hm.alloc[round] = r.ns_per_alloc;
      hm.pause[round] = r.pause_ns_per_mb;
      hm.collections = r.collections;
#ifdef HAVE_BOEHM
      if (in_child (run_boehm, &r) != 0)
        {
          fprintf (stderr, "bench-gc: the Boehm GC run failed\n");
          return 1;
        }
      boehm.alloc[round] = r.ns_per_alloc;
      boehm.pause[round] = r.pause_ns_per_mb;
      boehm.collections = r.collections;
#endif
    }
  summarise ("hybridmem", &hm);
#ifdef HAVE_BOEHM
  summarise ("Boehm GC", &boehm);
  printf ("allocation: hybridmem takes %.2fx Boehm's time (median; best %.2fx)  %s\n",
          hm.alloc[ROUNDS / 2] / boehm.alloc[ROUNDS / 2], hm.alloc[0] / boehm.alloc[0],
          hm.alloc[ROUNDS / 2] <= boehm.alloc[ROUNDS / 2] ? "[at least as fast: ok]"
                                                          : "[slower than Boehm]");
  printf ("pause per MB of live heap: hybridmem %.2fx Boehm's (median)\n",
          hm.pause[ROUNDS / 2] / boehm.pause[ROUNDS / 2]);
#else
  printf ("Boehm GC: skipped (bdw-gc was not found when this was built)\n");
#endif
  return 0;
}
