/* test-regions.c — regions hand out aligned memory that no other object
 * overlaps, across chunks and threads; reset and free end it all at once; and
 * misuse is a warning on stderr, never a crash.
 *
 * Cases that need other options (HM_REGIONS, HM_STRATEGY) or that misuse the
 * API run in a subprocess: options are read once per process.
 */
#include <glib.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hybridmem.h"

static gboolean
is_aligned (const void *p, size_t alignment)
{
  return ((uintptr_t) p & (alignment - 1)) == 0;
}

/* Fills an object with a pattern that names it, and checks it back. */
static void
fill (void *p, size_t size, guint32 tag)
{
  guint8 *b = p;
  for (size_t i = 0; i < size; i++)
    b[i] = (guint8) (tag * 31u + i);
}

static gboolean
check (const void *p, size_t size, guint32 tag)
{
  const guint8 *b = p;
  for (size_t i = 0; i < size; i++)
    if (b[i] != (guint8) (tag * 31u + i))
      return FALSE;
  return TRUE;
}

static void
test_alignment (void)
{
  HmRegion *region = hm_region_new ("alignment");

  for (size_t size = 0; size < 300; size++)
    {
      void *p = hm_region_alloc (region, size);
      g_assert_nonnull (p);
      g_assert_true (is_aligned (p, 16));
    }
  for (size_t alignment = 1; alignment <= 8192; alignment *= 2)
    for (size_t size = 1; size < 100; size += 33)
      {
        void *p = hm_region_alloc_aligned (region, size, alignment);
        g_assert_nonnull (p);
        g_assert_true (is_aligned (p, alignment < 16 ? 16 : alignment));
        memset (p, 0xab, size);
      }
  /* not a power of two: the next one up */
  g_assert_true (is_aligned (hm_region_alloc_aligned (region, 10, 48), 64));
  g_assert_true (is_aligned (hm_region_alloc_aligned (region, 10, 0), 16));

  typedef struct { double x, y; long double z; } Wide;
  Wide *w = HM_REGION_NEW (region, Wide, 7);
  g_assert_true (is_aligned (w, _Alignof (Wide)));
  hm_region_free (region);
}

static void
test_used_and_reset (void)
{
  HmRegion *region = hm_region_new ("reset");
  void *first, *again;

  g_assert_cmpuint (hm_region_used (region), ==, 0);
  first = hm_region_alloc (region, 10);
  for (int i = 0; i < 9; i++)
    hm_region_alloc (region, 16);
  g_assert_cmpuint (hm_region_used (region), ==, 160);
  hm_region_alloc (region, 17);
  g_assert_cmpuint (hm_region_used (region), ==, 192);

  /* past the first chunk, then back to its start */
  for (int i = 0; i < 20000; i++)
    hm_region_alloc (region, 48);
  g_assert_cmpuint (hm_region_used (region), ==, 192 + 20000 * 48);
  hm_region_reset (region);
  g_assert_cmpuint (hm_region_used (region), ==, 0);
  again = hm_region_alloc (region, 10);
  g_assert_true (again == first);

  /* the chunks kept from the first round serve the second */
  for (int round = 0; round < 5; round++)
    {
      hm_region_reset (region);
      for (int i = 0; i < 20000; i++)
        {
          guint32 *p = hm_region_alloc (region, 48);
          p[0] = (guint32) i;
        }
      g_assert_cmpuint (hm_region_used (region), ==, 20000 * 48);
    }
  hm_region_free (region);
}

static void
test_zeroed (void)
{
  typedef struct { int a; char name[20]; void *next; } Node;
  HmRegion *region = hm_region_new ("zeroed");
  Node *dirty = HM_REGION_NEW (region, Node, 100);

  memset (dirty, 0xff, 100 * sizeof (Node));
  hm_region_reset (region);
  Node *clean = HM_REGION_NEW (region, Node, 100);
  g_assert_true ((void *) clean == (void *) dirty);
  for (int i = 0; i < 100; i++)
    {
      g_assert_cmpint (clean[i].a, ==, 0);
      g_assert_null (clean[i].next);
    }
  /* size * count overflows: NULL, not a short block */
  g_assert_null (hm_region_alloc_zeroed (region, SIZE_MAX / 2, 3, 8));
  hm_region_free (region);
}

typedef struct {
  void *p;
  size_t size;
} Object;

static gint
compare_objects (gconstpointer a, gconstpointer b)
{
  uintptr_t x = (uintptr_t) ((const Object *) a)->p, y = (uintptr_t) ((const Object *) b)->p;
  return x < y ? -1 : x > y;
}

/* No two objects overlap: sorted by address, each ends before the next. */
static void
assert_disjoint (Object *objects, guint n)
{
  qsort (objects, n, sizeof *objects, (int (*) (const void *, const void *)) compare_objects);
  for (guint i = 1; i < n; i++)
    g_assert_cmpuint ((uintptr_t) objects[i - 1].p + objects[i - 1].size, <=,
                      (uintptr_t) objects[i].p);
}

static void
test_many_objects (void)
{
  HmRegion *region = hm_region_new ("many");
  const guint n = 100000;
  g_autofree Object *objects = g_new (Object, n);
  GRand *rand = g_rand_new_with_seed (7);
  size_t total = 0;

  for (guint i = 0; i < n; i++)
    {
      objects[i].size = (size_t) g_rand_int_range (rand, 1, 300);
      objects[i].p = hm_region_alloc (region, objects[i].size);
      g_assert_true (is_aligned (objects[i].p, 16));
      fill (objects[i].p, objects[i].size, i);
      total += (objects[i].size + 15) & ~(size_t) 15;
    }
  /* many chunks' worth */
  g_assert_cmpuint (total, >, 8u << 20);
  g_assert_cmpuint (hm_region_used (region), ==, total);
  for (guint i = 0; i < n; i++)
    g_assert_true (check (objects[i].p, objects[i].size, i));
  assert_disjoint (objects, n);
  g_rand_free (rand);
  hm_region_free (region);
}

static void
test_big_objects (void)
{
  HmRegion *region = hm_region_new ("big");
  size_t sizes[] = { 200 * 1024, 300 * 1024, 1u << 20, 5u << 20, 17u << 20, 64 };
  void *p[G_N_ELEMENTS (sizes)];
  size_t used = 0;

  for (guint round = 0; round < 3; round++)
    {
      used = 0;
      for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
        {
          p[i] = hm_region_alloc (region, sizes[i]);
          g_assert_nonnull (p[i]);
          fill (p[i], sizes[i], i);
          used += sizes[i];
        }
      g_assert_cmpuint (hm_region_used (region), ==, used);
      /* alignment padding counts as used */
      void *aligned = hm_region_alloc_aligned (region, 3u << 20, 1u << 20);
      g_assert_true (is_aligned (aligned, 1u << 20));
      memset (aligned, 1, 3u << 20);
      used += 3u << 20;
      for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
        g_assert_true (check (p[i], sizes[i], i));
      g_assert_cmpuint (hm_region_used (region), >=, used);
      g_assert_cmpuint (hm_region_used (region), <, used + (1u << 20));
      hm_region_reset (region);
    }
  hm_region_free (region);
}

#define N_THREADS 8
#define PER_THREAD 20000

typedef struct {
  HmRegion *region;
  guint index;
  Object objects[PER_THREAD];
} Worker;

static gpointer
allocate_concurrently (gpointer data)
{
  Worker *w = data;
  GRand *rand = g_rand_new_with_seed (w->index);

  for (guint i = 0; i < PER_THREAD; i++)
    {
      Object *o = &w->objects[i];
      o->size = (size_t) g_rand_int_range (rand, 1, 200);
      if (i % 1000 == 999)
        o->size = 100000;   /* some take a chunk switch */
      o->p = i % 7 == 0 ? hm_region_alloc_aligned (w->region, o->size, 64)
                        : hm_region_alloc (w->region, o->size);
      fill (o->p, o->size, w->index * PER_THREAD + i);
    }
  g_rand_free (rand);
  return NULL;
}

static void
test_threads (void)
{
  HmRegion *region = hm_region_new ("threads");
  Worker *workers = g_new0 (Worker, N_THREADS);
  GThread *threads[N_THREADS];
  g_autofree Object *all = g_new (Object, N_THREADS * PER_THREAD);

  for (guint round = 0; round < 2; round++)
    {
      for (guint t = 0; t < N_THREADS; t++)
        {
          workers[t].region = region;
          workers[t].index = t;
          threads[t] = g_thread_new ("allocator", allocate_concurrently, &workers[t]);
        }
      for (guint t = 0; t < N_THREADS; t++)
        g_thread_join (threads[t]);
      for (guint t = 0; t < N_THREADS; t++)
        for (guint i = 0; i < PER_THREAD; i++)
          {
            Object *o = &workers[t].objects[i];
            g_assert_true (check (o->p, o->size, t * PER_THREAD + i));
            all[t * PER_THREAD + i] = *o;
          }
      assert_disjoint (all, N_THREADS * PER_THREAD);
      hm_region_reset (region);
    }
  hm_region_free (region);
  g_free (workers);
}

typedef struct {
  HmRegion *region;
  guint count;
} Exact;

static gpointer
allocate_48 (gpointer data)
{
  Exact *e = data;
  for (guint i = 0; i < e->count; i++)
    memset (hm_region_alloc (e->region, 48), 0x5a, 48);
  return NULL;
}

/* Each thread bumps its own piece of the region; the pieces' unused ends
 * (a thread that ended, a piece that could not fit the next object) are not
 * counted as handed out. */
static void
test_threads_used_is_exact (void)
{
  HmRegion *region = hm_region_new ("exact");
  GThread *threads[N_THREADS];
  Exact e = { region, 10007 };

  for (guint t = 0; t < N_THREADS; t++)
    threads[t] = g_thread_new ("allocator", allocate_48, &e);
  for (guint t = 0; t < N_THREADS; t++)
    g_thread_join (threads[t]);
  g_assert_cmpuint (hm_region_used (region), ==, (gsize) N_THREADS * e.count * 48);
  /* and this thread's own piece, half used */
  e.count = 3;
  allocate_48 (&e);
  g_assert_cmpuint (hm_region_used (region), ==, (gsize) N_THREADS * 10007 * 48 + 3 * 48);
  hm_region_reset (region);
  g_assert_cmpuint (hm_region_used (region), ==, 0);
  hm_region_free (region);
}

/* Two regions that share a thread's slot, taking turns: each object is
 * still its own, and the second region's objects come from its chunk. */
static void
test_regions_taking_turns (void)
{
  HmRegion *regions[65];
  guint64 *a[2000], *b[2000];

  for (guint i = 0; i < G_N_ELEMENTS (regions); i++)
    regions[i] = hm_region_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (a); i++)
    {
      a[i] = hm_region_alloc (regions[0], 16);
      b[i] = hm_region_alloc (regions[64], 16);
      *a[i] = i;
      *b[i] = ~(guint64) i;
    }
  for (guint i = 0; i < G_N_ELEMENTS (a); i++)
    {
      g_assert_cmpuint (*a[i], ==, i);
      g_assert_cmpuint (*b[i], ==, ~(guint64) i);
    }
  g_assert_cmpuint (hm_region_used (regions[0]), ==, 2000 * 16);
  g_assert_cmpuint (hm_region_used (regions[64]), ==, 2000 * 16);
  for (guint i = 0; i < G_N_ELEMENTS (regions); i++)
    hm_region_free (regions[i]);
}

static void
test_many_regions (void)
{
  /* each region keeps its own memory; freeing one leaves the others alone */
  HmRegion *regions[200];
  guint32 *first[200];

  for (guint i = 0; i < G_N_ELEMENTS (regions); i++)
    {
      regions[i] = hm_region_new (NULL);
      first[i] = hm_region_alloc (regions[i], 4);
      *first[i] = i;
    }
  for (guint i = 0; i < G_N_ELEMENTS (regions); i += 2)
    hm_region_free (regions[i]);
  for (guint i = 1; i < G_N_ELEMENTS (regions); i += 2)
    {
      g_assert_cmpuint (*first[i], ==, i);
      hm_region_free (regions[i]);
    }
}

/* --- in subprocesses ----------------------------------------------------------- */

static void
use_freed_region (void)
{
  HmRegion *region = hm_region_new ("parser-ast");
  char *p;

  hm_region_alloc (region, 100);
  hm_region_free (region);
  p = hm_region_alloc (region, 64);        /* served from the heap, with a warning */
  g_assert_nonnull (p);
  memset (p, 'x', 64);
  p = hm_region_alloc_aligned (region, 64, 256);
  g_assert_nonnull (p);
  g_assert_true (is_aligned (p, 256));
  hm_region_reset (region);
  hm_region_free (region);
  g_assert_cmpuint (hm_region_used (region), ==, 0);
  g_assert_null (hm_region_alloc (NULL, 8));
}

static void
test_misuse (void)
{
  if (g_test_subprocess ())
    {
      use_freed_region ();
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*hybridmem: warning: hm_region_alloc: region 'parser-ast' (id *) "
                             "was freed; 64 bytes served from the heap instead*");
  g_test_trap_assert_stderr ("*hm_region_reset: region 'parser-ast' (id *) was freed; call ignored*");
  g_test_trap_assert_stderr ("*hm_region_free: region 'parser-ast' (id *) was freed*");
  g_test_trap_assert_stderr ("*hm_region_alloc: the region is NULL*");
}

static void
test_quiet (void)
{
  if (g_test_subprocess ())
    {
      g_setenv ("HM_QUIET", "1", TRUE);
      use_freed_region ();
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("");
}

/* HM_REGIONS=0: every object is a heap block of its own. */
static void
test_malloc_mode (void)
{
  if (g_test_subprocess ())
    {
      /* read at the manager's first use, which is below */
      g_setenv ("HM_REGIONS", "0", TRUE);
      HmRegion *region = hm_region_new ("heap-backed");
      g_assert_cmpint (hm_get_options ()->enable_regions, ==, 0);
      for (int round = 0; round < 3; round++)
        {
          Object objects[500];
          for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
            {
              objects[i].size = 1 + i * 7 % 300;
              objects[i].p = i % 5 == 0 ? hm_region_alloc_aligned (region, objects[i].size, 128)
                                        : hm_region_alloc (region, objects[i].size);
              g_assert_true (is_aligned (objects[i].p, i % 5 == 0 ? 128 : 16));
              g_assert_cmpuint (malloc_usable_size (objects[i].p), >=, objects[i].size);
              fill (objects[i].p, objects[i].size, i);
            }
          for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
            g_assert_true (check (objects[i].p, objects[i].size, i));
          assert_disjoint (objects, G_N_ELEMENTS (objects));
          g_assert_cmpuint (hm_region_used (region), >, 0);
          hm_region_reset (region);
          g_assert_cmpuint (hm_region_used (region), ==, 0);
        }
      hm_region_alloc (region, 10);
      hm_region_free (region);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("");
}

/* Resident memory of this process, from /proc/self/statm. */
static size_t
resident_bytes (void)
{
  g_autofree gchar *text = NULL;
  unsigned long pages = 0, resident = 0;

  g_assert_true (g_file_get_contents ("/proc/self/statm", &text, NULL, NULL));
  g_assert_cmpint (sscanf (text, "%lu %lu", &pages, &resident), ==, 2);
  return resident * (size_t) sysconf (_SC_PAGESIZE);
}

/* Each strategy's reset keeps the region working, and chunks it kept are
 * reused; minimize-memory gives them back at once, maximize-performance
 * keeps them.  data: the HM_STRATEGY value. */
static void
test_strategy (gconstpointer data)
{
  if (g_test_subprocess ())
    {
      g_setenv ("HM_STRATEGY", data, TRUE);
      HmRegion *region = hm_region_new ("strategy");
      /* the variable was read: only "none" leaves the default */
      g_assert_true ((hm_get_options ()->strategy == HM_STRATEGY_NONE) == !strcmp (data, "none"));
      for (int round = 0; round < 4; round++)
        {
          Object objects[2000];
          for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
            {
              objects[i].size = 1000 + i % 3000;
              objects[i].p = hm_region_alloc (region, objects[i].size);
              fill (objects[i].p, objects[i].size, i + round);
            }
          for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
            g_assert_true (check (objects[i].p, objects[i].size, i + round));
          hm_region_reset (region);
        }

      /* 48 MiB of touched objects, then a reset */
      for (int i = 0; i < 3072; i++)
        memset (hm_region_alloc (region, 16384), 1, 16384);
      size_t before = resident_bytes ();
      hm_region_reset (region);
      size_t after = resident_bytes ();
      if (!strcmp (data, "minimize-memory"))
        g_assert_cmpuint (before - MIN (before, after), >=, 40u << 20);
      else if (!strcmp (data, "maximize-performance"))
        g_assert_cmpuint (before - MIN (before, after), <, 8u << 20);
      hm_region_free (region);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/region/alignment", test_alignment);
  g_test_add_func ("/region/used-and-reset", test_used_and_reset);
  g_test_add_func ("/region/zeroed", test_zeroed);
  g_test_add_func ("/region/many-objects-across-chunks", test_many_objects);
  g_test_add_func ("/region/big-objects", test_big_objects);
  g_test_add_func ("/region/threads-share-one-region", test_threads);
  g_test_add_func ("/region/many-regions", test_many_regions);
  g_test_add_func ("/region/threads-used-is-exact", test_threads_used_is_exact);
  g_test_add_func ("/region/regions-taking-turns", test_regions_taking_turns);
  g_test_add_func ("/region/misuse-warns", test_misuse);
  g_test_add_func ("/region/misuse-quiet", test_quiet);
  g_test_add_func ("/region/heap-blocks-when-disabled", test_malloc_mode);
  g_test_add_data_func ("/region/strategy/minimize-memory", "minimize-memory", test_strategy);
  g_test_add_data_func ("/region/strategy/maximize-performance", "maximize-performance",
                        test_strategy);
  g_test_add_data_func ("/region/strategy/balanced", "balanced", test_strategy);
  g_test_add_data_func ("/region/strategy/none", "none", test_strategy);
  return g_test_run ();
}
