/* test-allocators.c — every allocator seen: programs linked with jemalloc
 * and mimalloc, anonymous mmap, a custom allocator annotated for heaptrack,
 * and the RSS series.
 *
 * Each program states its own calls in its header; the trace must hold
 * exactly those (counted by function, and for malloc by call sites in the
 * program's own code), the program's output must be the same as without
 * the agent, and it must still run on its own allocator.
 */
#include "hm-heap-model.h"
#include "hm-test-util.h"

#include <string.h>

/* HM_ALLOCATORS_DIR/name, or NULL (skipping the test) when it was not built. */
static gchar *
program (const gchar *name)
{
  const gchar *dir = g_getenv ("HM_ALLOCATORS_DIR");
  g_autofree gchar *path = dir ? g_build_filename (dir, name, NULL) : NULL;
  if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_autofree gchar *why = g_strdup_printf ("%s was not built (its library's -dev package "
                                               "is missing)", name);
      g_test_skip (why);
      return NULL;
    }
  return g_steal_pointer (&path);
}

/* Runs argv plainly and under hmtrace record; checks the output is the
 * same; returns the model of the trace. */
static HmHeapModel *
record (const gchar *const *argv, gchar **stdout_out)
{
  g_auto(HmTestRun) plain = { 0 };
  g_auto(HmTestRun) traced = { 0 };
  g_autofree gchar *dir = hm_test_make_tmp_dir ();
  g_autofree gchar *trace = g_build_filename (dir, "run.hmt", NULL);
  g_autoptr(GPtrArray) full = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;

  hm_test_spawn (argv, NULL, &plain);
  g_ptr_array_add (full, (gpointer) hm_test_hmtrace_path ());
  g_ptr_array_add (full, (gpointer) "record");
  g_ptr_array_add (full, (gpointer) "-o");
  g_ptr_array_add (full, trace);
  g_ptr_array_add (full, (gpointer) "--");
  for (gsize i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (full, (gpointer) argv[i]);
  g_ptr_array_add (full, NULL);
  hm_test_spawn ((const gchar *const *) full->pdata, NULL, &traced);
  if (!WIFEXITED (traced.exit_status) || WEXITSTATUS (traced.exit_status) != 0)
    {
      hm_test_fail ("hmtrace record -- %s failed; stderr:\n%s", argv[0], traced.stderr_text);
      hm_test_remove_dir (dir);
      return NULL;
    }
  g_assert_cmpstr (traced.stdout_text, ==, plain.stdout_text);
  HmHeapModel *model = hm_heap_model_load_file (trace, &error);
  g_assert_no_error (error);
  g_assert_nonnull (model);
  if (stdout_out)
    *stdout_out = g_strdup (plain.stdout_text);
  if (g_getenv ("HM_TEST_KEEP_FILES") == NULL)
    hm_test_remove_dir (dir);
  else
    g_test_message ("trace kept: %s", trace);
  return model;
}

/* The 1-based line of "SITE: marker" in HM_ALLOCATORS_SOURCE_DIR/source. */
static guint
site_line (const gchar *source, const gchar *marker)
{
  g_autofree gchar *path = g_build_filename (g_getenv ("HM_ALLOCATORS_SOURCE_DIR"), source, NULL);
  g_autofree gchar *text = NULL;
  g_autofree gchar *needle = g_strconcat ("SITE: ", marker, NULL);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], needle) != NULL)
      return i + 1;
  g_error ("no %s in %s", needle, path);
}

static guint64
sites_in (json_t *report, const gchar *function)
{
  HmSiteSums sums = { 0 };
  hm_test_sum_sites (report, function, NULL, 0, &sums);
  return sums.allocations;
}

static json_t *
report_of (const gchar *const *argv)
{
  g_autofree gchar *dir = hm_test_make_tmp_dir ();
  g_autofree gchar *trace = g_build_filename (dir, "run.hmt", NULL);
  if (!hm_test_record (trace, argv, 0))
    return NULL;
  json_t *report = hm_test_report_json (trace);
  hm_test_remove_dir (dir);
  return report;
}

static void
test_jemalloc (void)
{
  g_autofree gchar *path = program ("jemalloc-user");
  g_autofree gchar *out = NULL;
  if (path == NULL || !hm_test_require_hmtrace ())
    return;
  const gchar *argv[] = { path, NULL };
  g_autoptr(HmHeapModel) model = record (argv, &out);
  g_assert_nonnull (strstr (out, "jemalloc serves malloc: yes"));
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_JE_MALLOCX), ==, 7);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_JE_RALLOCX), ==, 3);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_JE_XALLOCX), ==, 2);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_JE_DALLOCX), ==, 4);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_JE_SDALLOCX), ==, 3);
  /* malloc: the program's own sites */
  g_autoptr(json_t) report = report_of (argv);
  g_assert_nonnull (report);
  /* exercise: malloc 10 + mallocx 7 + rallocx 3 + xallocx 2 */
  g_assert_cmpuint (sites_in (report, "exercise"), ==, 10 + 7 + 3 + 2);
  json_t *functions = json_object_get (report, "functions");
  g_assert_nonnull (functions);
  g_assert_cmpuint (hm_test_json_uint (functions, "mallocx"), ==, 7);
  g_assert_cmpuint (hm_test_json_uint (functions, "malloc"), >=, 10);
}

static void
test_mimalloc (void)
{
  g_autofree gchar *path = program ("mimalloc-user");
  g_autofree gchar *out = NULL;
  if (path == NULL || !hm_test_require_hmtrace ())
    return;
  const gchar *argv[] = { path, NULL };
  g_autoptr(HmHeapModel) model = record (argv, &out);
  g_assert_nonnull (strstr (out, "mimalloc serves malloc: yes"));
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_MI_MALLOC), ==, 5);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_MI_CALLOC), ==, 2);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_MI_ZALLOC), ==, 1);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_MI_MALLOC_ALIGNED), ==, 2);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_MI_REALLOC), ==, 3);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_MI_FREE), ==, 10);
  g_autoptr(json_t) report = report_of (argv);
  g_assert_nonnull (report);
  /* exercise: malloc 6 + calloc 2 + mi_malloc 5 + mi_calloc 2 + mi_zalloc 1
   * + mi_malloc_aligned 2 + mi_realloc 3 */
  g_assert_cmpuint (sites_in (report, "exercise"), ==, 6 + 2 + 5 + 2 + 1 + 2 + 3);
  /* nothing the program allocated is live at exit */
  HmSiteSums sums = { 0 };
  hm_test_sum_sites (report, "exercise", NULL, 0, &sums);
  g_assert_cmpuint (sums.leaked_blocks, ==, 0);
}

static void
test_mappings (void)
{
  g_autofree gchar *path = program ("mappings");
  if (path == NULL || !hm_test_require_hmtrace ())
    return;
  const guint64 mib = 1024 * 1024;
  const guint touch = 64;
  const gchar *argv[] = { path, "64", NULL };
  g_autoptr(HmHeapModel) model = record (argv, NULL);
  const HmStrategyStats *m = hm_heap_model_get_strategy (model, HM_STRATEGY_KIND_MMAP);

  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_MMAP), ==, 4);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_MUNMAP), ==, 3);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_MREMAP), ==, 1);
  g_assert_cmpuint (m->allocations, ==, 5);
  g_assert_cmpuint (m->bytes, ==, mib + 2 * mib + 64 * 1024 + 128 * 1024 + touch * mib);
  g_assert_cmpuint (m->live_bytes, ==, 128 * 1024 + touch * mib);
  g_assert_cmpuint (m->peak_bytes, ==, 128 * 1024 + touch * mib);

  /* RSS: a series, and a rise of about the touched size */
  GArray *rss = hm_heap_model_get_rss (model);
  guint64 peak = 0, peak_ts = 0;
  g_assert_true (hm_heap_model_get_peak_rss (model, &peak, &peak_ts));
  g_assert_cmpuint (rss->len, >=, 3);
  guint64 low = G_MAXUINT64;
  for (guint i = 0; i < rss->len; i++)
    {
      const HmRssSample *s = &g_array_index (rss, HmRssSample, i);
      if (i > 0)
        g_assert_cmpuint (s->ts, >=, g_array_index (rss, HmRssSample, i - 1).ts);
      if (s->ts < peak_ts)
        low = MIN (low, s->rss_bytes);
    }
  g_assert_cmpuint (low, !=, G_MAXUINT64);
  g_test_message ("RSS from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT " bytes", low, peak);
  g_assert_cmpuint (peak - low, >=, touch * mib * 9 / 10);
  g_assert_cmpuint (peak - low, <=, touch * mib + 16 * mib);
}

static void
test_heaptrack_api (void)
{
  g_autofree gchar *path = program ("annotated");
  if (path == NULL || !hm_test_require_hmtrace ())
    return;
  const gchar *argv[] = { path, NULL };
  g_autoptr(HmHeapModel) model = record (argv, NULL);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_HEAPTRACK_ALLOC), ==, 40);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_HEAPTRACK_FREE), ==, 25);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_HEAPTRACK_REALLOC), ==, 1);
  const HmStrategyStats *c = hm_heap_model_get_strategy (model, HM_STRATEGY_KIND_CUSTOM);
  g_assert_cmpuint (c->allocations, ==, 41);
  g_assert_cmpuint (c->live_bytes, ==, 15 * 64);
  /* the stacks: every cell from cell_alloc, at its annotated line */
  g_autoptr(json_t) report = report_of (argv);
  g_assert_nonnull (report);
  HmSiteSums sums = { 0 };
  guint line = site_line ("annotated.c", "cell-alloc");
  hm_test_sum_sites (report, "cell_alloc", "annotated.c", line, &sums);
  g_assert_cmpuint (sums.allocations, ==, 40);
}

static void
test_valgrind_requests (void)
{
  g_autofree gchar *path = program ("vg-annotated");
  if (path == NULL || !hm_test_require_hmtrace ())
    return;
  const gchar *argv[] = { path, NULL };
  g_autoptr(HmHeapModel) model = record (argv, NULL);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_VG_MALLOCLIKE), ==, 30);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_VG_FREELIKE), ==, 30);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_VG_RESIZEINPLACE), ==, 1);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_VG_MEMPOOL_ALLOC), ==, 12);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_VG_MEMPOOL_FREE), ==, 5);
  const HmStrategyStats *c = hm_heap_model_get_strategy (model, HM_STRATEGY_KIND_CUSTOM);
  g_assert_cmpuint (c->allocations, ==, 30 + 1 + 12);
  g_assert_cmpuint (c->live_bytes, ==, 0);
  /* the first cell shares its address with the arena's mapping: the
   * munmap at the end still ends the mapping */
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_MUNMAP), ==, 1);
  g_assert_cmpuint (hm_heap_model_get_strategy (model, HM_STRATEGY_KIND_MMAP)->live_bytes, ==, 0);
  /* the mempool is listed with the pools: 12 out, 5 back, then destroyed */
  GPtrArray *pools = hm_heap_model_get_pools (model);
  guint n_annotated = 0;
  for (guint i = 0; i < pools->len; i++)
    {
      const HmPoolStats *p = g_ptr_array_index (pools, i);
      if (!p->annotated)
        continue;
      n_annotated++;
      g_assert_cmpuint (p->gets, ==, 12);
      g_assert_cmpuint (p->returns, ==, 5);
      g_assert_true (p->freed);
      g_assert_cmpuint (p->create_stack, !=, 0);
    }
  g_assert_cmpuint (n_annotated, ==, 1);
  /* the stacks go through the trap to the annotated lines */
  g_autoptr(json_t) report = report_of (argv);
  g_assert_nonnull (report);
  HmSiteSums sums = { 0 };
  hm_test_sum_sites (report, "cell_alloc", "vg-annotated.c", site_line ("vg-annotated.c", "vg-cell-alloc"),
                     &sums);
  g_assert_cmpuint (sums.allocations, ==, 30);
  memset (&sums, 0, sizeof sums);
  hm_test_sum_sites (report, "pool_alloc", "vg-annotated.c", site_line ("vg-annotated.c", "vg-pool-alloc"),
                     &sums);
  g_assert_cmpuint (sums.allocations, ==, 12);
}

/* The same program under real valgrind: still clean, and memcheck sees the
 * requests (so the macros were not broken by anything of ours). */
static void
test_valgrind_still_works (void)
{
  g_autofree gchar *path = program ("vg-annotated");
  g_autofree gchar *valgrind = g_find_program_in_path ("valgrind");
  g_auto(HmTestRun) run = { 0 };
  if (path == NULL)
    return;
  if (valgrind == NULL)
    {
      g_test_skip ("valgrind is not installed");
      return;
    }
  const gchar *argv[] = { valgrind, "-q", "--leak-check=full", "--error-exitcode=9", path, NULL };
  hm_test_spawn (argv, NULL, &run);
  if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != 0)
    hm_test_fail ("valgrind on vg-annotated: status %d; stderr:\n%s", run.exit_status,
                  run.stderr_text);
  g_assert_nonnull (strstr (run.stdout_text, "running on valgrind: 1"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/allocators/jemalloc", test_jemalloc);
  g_test_add_func ("/allocators/mimalloc", test_mimalloc);
  g_test_add_func ("/allocators/mmap-and-rss", test_mappings);
  g_test_add_func ("/allocators/heaptrack-api", test_heaptrack_api);
  g_test_add_func ("/allocators/valgrind-client-requests", test_valgrind_requests);
  g_test_add_func ("/allocators/valgrind-still-works", test_valgrind_still_works);
  return g_test_run ();
}
