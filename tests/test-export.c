/* test-export.c — `hmtrace export` read back by the tools it writes for.
 *
 * demo.c is recorded once; its export in each format must agree with
 * `hmtrace report --json` of the same trace:
 *   collapsed  the values sum to the report's totals, for each cost
 *   pprof      decoded by protoc with the documented profile.proto: one
 *              sample per site, alloc_space summing to bytes_allocated
 *   massif     ms_print reads it, and its detailed snapshot names the
 *              functions that leak
 */
#include <math.h>

#include "hm-test-util.h"

#include <string.h>
#include <sys/wait.h>

static gchar *tmp_dir;
static gchar *trace;
static json_t *report;

static gboolean
have (const gchar *program)
{
  g_autofree gchar *path = g_find_program_in_path (program);
  return path != NULL;
}

static gchar *
export (const gchar *format, const gchar *cost, const gchar *output)
{
  g_auto(HmTestRun) run = { 0 };
  const gchar *argv[] = { hm_test_hmtrace_path (), "export", "--format", format,
                          "--cost", cost ? cost : "bytes", output ? "-o" : trace,
                          output ? output : NULL, output ? trace : NULL, NULL };
  hm_test_spawn (argv, NULL, &run);
  if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != 0)
    g_error ("hmtrace export --format %s failed: %s", format, run.stderr_text);
  return g_steal_pointer (&run.stdout_text);
}

static guint64
sum_sites (const gchar *key)
{
  guint64 sum = 0;
  json_t *sites = json_object_get (report, "sites");
  for (gsize i = 0; i < json_array_size (sites); i++)
    sum += hm_test_json_uint (json_array_get (sites, i), key);
  return sum;
}

static void
test_collapsed (void)
{
  static const struct { const char *cost; const char *site_key; } costs[] = {
    { "bytes", "bytes" }, { "allocations", "allocations" }, { "leaked", "leaked_bytes" },
    { "peak", "peak_live_bytes" }, { "temporary", "temporary" },
  };

  for (guint c = 0; c < G_N_ELEMENTS (costs); c++)
    {
      g_autofree gchar *text = export ("collapsed", costs[c].cost, NULL);
      g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
      guint64 sum = 0;
      guint n = 0;
      gboolean leaker_seen = FALSE;
      for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
        {
          const gchar *space = strrchr (lines[i], ' ');
          g_assert_nonnull (space);
          sum += g_ascii_strtoull (space + 1, NULL, 10);
          /* outermost first: the allocating function ends the stack */
          g_assert_true (g_str_has_prefix (lines[i], "_start;") || strstr (lines[i], "main"));
          leaker_seen |= strstr (lines[i], "main;sort_words_by_count ") != NULL;
          n++;
        }
      g_assert_cmpuint (sum, ==, sum_sites (costs[c].site_key));
      if (g_str_equal (costs[c].cost, "leaked"))
        {
          g_assert_cmpuint (sum, ==, hm_test_json_uint (report, "leaked_bytes"));
          g_assert_true (leaker_seen);
        }
      if (g_str_equal (costs[c].cost, "bytes"))
        g_assert_cmpuint (sum, ==, hm_test_json_uint (report, "bytes_allocated"));
      hm_test_message ("collapsed, %s: %u stacks summing to %" G_GUINT64_FORMAT, costs[c].cost,
                       n, sum);
    }
}

static void
test_pprof (void)
{
  g_autofree gchar *profile = g_build_filename (tmp_dir, "demo.pb.gz", NULL);
  g_autofree gchar *source_dir = g_path_get_dirname (g_getenv ("HM_TEST_EXPORT_PROTO"));
  g_autofree gchar *command = NULL;
  g_autofree gchar *decoded = NULL, *errors = NULL;
  g_autoptr(GError) error = NULL;
  gint status = 0;

  if (!have ("protoc") || !have ("gzip"))
    {
      g_test_skip ("protoc (protobuf-compiler) is not installed");
      return;
    }
  g_free (export ("pprof", NULL, profile));
  command = g_strdup_printf ("sh -c 'gzip -dc \"%s\" | protoc --decode=hybridmem.test.Profile "
                             "-I \"%s\" \"%s\"'", profile, source_dir,
                             g_getenv ("HM_TEST_EXPORT_PROTO"));
  g_assert_true (g_spawn_command_line_sync (command, &decoded, &errors, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);

  /* sample { ... value: a value: b ... }: five values, alloc_space second */
  guint n_samples = 0, value_index = 0;
  guint64 alloc_space = 0, inuse_space = 0;
  g_auto(GStrv) lines = g_strsplit (decoded, "\n", -1);
  gboolean in_sample = FALSE;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const gchar *l = g_strstrip (lines[i]);
      if (g_str_equal (l, "sample {"))
        {
          in_sample = TRUE;
          value_index = 0;
          n_samples++;
        }
      else if (in_sample && g_str_has_prefix (l, "value: "))
        {
          guint64 v = g_ascii_strtoull (l + 7, NULL, 10);
          if (value_index == 1)
            alloc_space += v;
          if (value_index == 3)
            inuse_space += v;
          value_index++;
        }
      else if (g_str_equal (l, "}"))
        in_sample = FALSE;
    }
  g_assert_cmpuint (n_samples, ==, json_array_size (json_object_get (report, "sites")));
  g_assert_cmpuint (alloc_space, ==, hm_test_json_uint (report, "bytes_allocated"));
  g_assert_cmpuint (inuse_space, ==, hm_test_json_uint (report, "leaked_bytes"));
  g_assert_nonnull (strstr (decoded, "string_table: \"alloc_space\""));
  g_assert_nonnull (strstr (decoded, "string_table: \"sort_words_by_count\""));
  hm_test_message ("pprof: protoc decoded %u samples, alloc_space %" G_GUINT64_FORMAT
                   ", inuse_space %" G_GUINT64_FORMAT, n_samples, alloc_space, inuse_space);
}

static void
test_massif (void)
{
  g_autofree gchar *file = g_build_filename (tmp_dir, "demo.massif", NULL);
  g_autofree gchar *printed = NULL, *errors = NULL;
  g_autoptr(GError) error = NULL;
  gint status = 0;

  if (!have ("ms_print"))
    {
      g_test_skip ("ms_print (valgrind) is not installed");
      return;
    }
  g_free (export ("massif", NULL, file));
  const gchar *argv[] = { "ms_print", file, NULL };
  g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &printed, &errors, &status, &error));
  g_assert_no_error (error);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_error ("ms_print failed: %s", errors);
  /* the leaked bytes are the detailed snapshot's total, and the leakers are in it */
  g_autofree gchar *leaked = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                              hm_test_json_uint (report, "leaked_bytes"));
  g_assert_nonnull (strstr (printed, "sort_words_by_count"));
  g_assert_nonnull (strstr (printed, "summarize_top_words"));
  g_assert_nonnull (strstr (printed, "Detailed snapshots"));
  hm_test_message ("massif: ms_print read %zu bytes of output; leaked %s bytes",
                   strlen (printed), leaked);
}

static json_t *
diff_json (const gchar *a, const gchar *b)
{
  g_auto(HmTestRun) run = { 0 };
  json_error_t json_error;
  const gchar *argv[] = { hm_test_hmtrace_path (), "report", "--diff", "--json", a, b, NULL };
  hm_test_spawn (argv, NULL, &run);
  g_assert_true (WIFEXITED (run.exit_status) && WEXITSTATUS (run.exit_status) == 0);
  json_t *diff = json_loads (run.stdout_text, 0, &json_error);
  g_assert_nonnull (diff);
  return diff;
}

/* Two builds of demo.c, before and after its 'z' leak is fixed (two
 * executables, so every address differs): the diff shows exactly the fixed
 * site, and a trace against itself shows nothing. */
static void
test_diff_before_and_after_a_fix (void)
{
  g_autofree gchar *before = g_build_filename (tmp_dir, "before.hmt", NULL);
  g_autofree gchar *after = g_build_filename (tmp_dir, "after.hmt", NULL);
  g_autofree gchar *program = hm_test_program_path ("demo");
  g_autofree gchar *fixed = hm_test_program_path ("demo-fixed");
  const gchar *argv_before[] = { program, "300000", NULL };
  const gchar *argv_after[] = { fixed, "300000", NULL };
  g_autoptr(json_t) diff = NULL;
  g_autoptr(json_t) same = NULL;

  if (!hm_test_record (before, argv_before, 0) || !hm_test_record (after, argv_after, 0))
    return;
  diff = diff_json (before, after);
  json_t *changed = json_object_get (diff, "changed_sites");
  g_assert_cmpuint (json_array_size (changed), ==, 1);
  json_t *site = json_array_get (changed, 0);
  json_t *leaf = json_array_get (json_object_get (site, "stack"), 0);
  g_assert_cmpstr (json_string_value (json_object_get (leaf, "function")), ==,
                   "sort_words_by_count");
  guint64 leaked_before = hm_test_json_uint (json_object_get (site, "a"), "leaked_bytes");
  g_assert_cmpuint (leaked_before, >, 0);
  g_assert_cmpuint (hm_test_json_uint (json_object_get (site, "b"), "leaked_bytes"), ==, 0);
  g_assert_cmpint (json_integer_value (json_object_get (json_object_get (site, "delta"),
                                                        "leaked_bytes")),
                   ==, -(json_int_t) leaked_before);
  g_assert_cmpint (json_integer_value (json_object_get (json_object_get (site, "delta"),
                                                        "bytes")), ==, 0);
  hm_test_message ("diff: 1 changed site of %" G_GINT64_FORMAT "+1, sort_words_by_count, "
                   "leaked %" G_GUINT64_FORMAT " -> 0 bytes",
                   (gint64) json_integer_value (json_object_get (diff, "unchanged_sites")),
                   leaked_before);

  same = diff_json (before, before);
  g_assert_cmpuint (json_array_size (json_object_get (same, "changed_sites")), ==, 0);
}

/* hmtrace report --suppressions: a suppressed leak leaves "leaks" and says
 * which rule hid it; leaked_bytes still counts everything. */
static void
test_suppressed_report (void)
{
  g_autofree gchar *file = g_build_filename (tmp_dir, "demo.supp", NULL);
  g_auto(HmTestRun) run = { 0 };
  json_error_t json_error;

  g_assert_true (g_file_set_contents (file, "# ours to fix later\nleak:^summarize_top_words$\n",
                                      -1, NULL));
  const gchar *argv[] = { hm_test_hmtrace_path (), "report", "--json",
                          "--no-builtin-suppressions", "--suppressions", file, trace, NULL };
  hm_test_spawn (argv, NULL, &run);
  g_assert_true (WIFEXITED (run.exit_status) && WEXITSTATUS (run.exit_status) == 0);
  g_autoptr(json_t) r = json_loads (run.stdout_text, 0, &json_error);
  g_assert_nonnull (r);
  guint64 hidden = 0;
  json_t *sites = json_object_get (r, "sites");
  for (gsize i = 0; i < json_array_size (sites); i++)
    {
      json_t *site = json_array_get (sites, i);
      const char *by = json_string_value (json_object_get (site, "suppressed_by"));
      const char *leaf = json_string_value (json_object_get (
        json_array_get (json_object_get (site, "stack"), 0), "function"));
      g_assert_cmpint (by != NULL, ==, g_strcmp0 (leaf, "summarize_top_words") == 0);
      if (by != NULL)
        hidden += hm_test_json_uint (site, "leaked_bytes");
    }
  json_t *leaks = json_object_get (r, "leaks");
  g_assert_cmpuint (hidden, >, 0);
  g_assert_cmpuint (hm_test_json_uint (leaks, "suppressed_bytes"), ==, hidden);
  g_assert_cmpuint (hm_test_json_uint (leaks, "bytes"), ==,
                    hm_test_json_uint (r, "leaked_bytes") - hidden);
  json_t *rule = json_array_get (json_object_get (leaks, "suppressions"), 0);
  g_assert_true (g_str_has_suffix (json_string_value (json_object_get (rule, "source")), ":2"));
  g_assert_cmpuint (hm_test_json_uint (rule, "bytes"), ==, hidden);
}

/* hmtrace report --tree: bottom-up, the top level sums to what was
 * allocated; the filter keeps only the stacks through a function. */
static void
test_call_tree (void)
{
  g_auto(HmTestRun) run = { 0 };
  g_auto(HmTestRun) filtered = { 0 };
  json_error_t json_error;
  const gchar *argv[] = { hm_test_hmtrace_path (), "report", "--json", "--tree", "bottom-up",
                          trace, NULL };
  const gchar *filter_argv[] = { hm_test_hmtrace_path (), "report", "--json", "--tree",
                                 "top-down", "--filter", "SORT_WORDS", trace, NULL };

  hm_test_spawn (argv, NULL, &run);
  g_assert_true (WIFEXITED (run.exit_status) && WEXITSTATUS (run.exit_status) == 0);
  g_autoptr(json_t) root = json_loads (run.stdout_text, 0, &json_error);
  g_assert_nonnull (root);
  g_assert_cmpuint (hm_test_json_uint (root, "bytes"), ==,
                    hm_test_json_uint (report, "bytes_allocated"));
  json_t *children = json_object_get (root, "children");
  guint64 sum = 0;
  for (gsize i = 0; i < json_array_size (children); i++)
    sum += hm_test_json_uint (json_array_get (children, i), "bytes");
  /* what is left out is only what falls under the 0.1% cut */
  guint64 total = hm_test_json_uint (report, "bytes_allocated");
  g_assert_cmpuint (sum, <=, total);
  g_assert_cmpuint (total - sum, <, total / 100);

  hm_test_spawn (filter_argv, NULL, &filtered);
  g_assert_true (WIFEXITED (filtered.exit_status) && WEXITSTATUS (filtered.exit_status) == 0);
  g_autoptr(json_t) only = json_loads (filtered.stdout_text, 0, &json_error);
  g_assert_nonnull (only);
  guint64 site_bytes = 0;
  json_t *sites = json_object_get (report, "sites");
  for (gsize i = 0; i < json_array_size (sites); i++)
    {
      json_t *site = json_array_get (sites, i);
      json_t *leaf = json_array_get (json_object_get (site, "stack"), 0);
      if (g_strcmp0 (json_string_value (json_object_get (leaf, "function")),
                     "sort_words_by_count") == 0)
        site_bytes += hm_test_json_uint (site, "bytes");
    }
  g_assert_cmpuint (site_bytes, >, 0);
  g_assert_cmpuint (hm_test_json_uint (only, "bytes"), ==, site_bytes);
}

/* --tree callers:F and callees:F: one root, F, holding every stack through
 * it; its callees' bytes are what the model's sites through F allocated. */
static void
test_callers_and_callees (void)
{
  g_auto(HmTestRun) callees = { 0 };
  g_auto(HmTestRun) callers = { 0 };
  json_error_t json_error;
  const gchar *argv_callees[] = { hm_test_hmtrace_path (), "report", "--json", "--tree",
                                  "callees:word_table_count", trace, NULL };
  const gchar *argv_callers[] = { hm_test_hmtrace_path (), "report", "--json", "--tree",
                                  "callers:word_table_grow", trace, NULL };
  guint64 through = 0, grow = 0;

  json_t *sites = json_object_get (report, "sites");
  for (gsize i = 0; i < json_array_size (sites); i++)
    {
      json_t *site = json_array_get (sites, i), *stack = json_object_get (site, "stack");
      for (gsize f = 0; f < json_array_size (stack); f++)
        {
          const char *fn = json_string_value (json_object_get (json_array_get (stack, f),
                                                               "function"));
          if (g_strcmp0 (fn, "word_table_count") == 0)
            {
              through += hm_test_json_uint (site, "bytes");
              break;
            }
        }
      const char *leaf = json_string_value (json_object_get (json_array_get (stack, 0),
                                                             "function"));
      if (g_strcmp0 (leaf, "word_table_grow") == 0)
        grow += hm_test_json_uint (site, "bytes");
    }
  g_assert_cmpuint (through, >, 0);

  hm_test_spawn (argv_callees, NULL, &callees);
  g_assert_true (WIFEXITED (callees.exit_status) && WEXITSTATUS (callees.exit_status) == 0);
  g_autoptr(json_t) down = json_loads (callees.stdout_text, 0, &json_error);
  json_t *focus = json_array_get (json_object_get (down, "children"), 0);
  g_assert_cmpuint (json_array_size (json_object_get (down, "children")), ==, 1);
  g_assert_cmpstr (json_string_value (json_object_get (focus, "function")), ==,
                   "word_table_count");
  g_assert_cmpuint (hm_test_json_uint (focus, "bytes"), ==, through);

  hm_test_spawn (argv_callers, NULL, &callers);
  g_assert_true (WIFEXITED (callers.exit_status) && WEXITSTATUS (callers.exit_status) == 0);
  g_autoptr(json_t) up = json_loads (callers.stdout_text, 0, &json_error);
  focus = json_array_get (json_object_get (up, "children"), 0);
  g_assert_cmpstr (json_string_value (json_object_get (focus, "function")), ==, "word_table_grow");
  g_assert_cmpuint (hm_test_json_uint (focus, "bytes"), ==, grow);
  /* its caller */
  json_t *caller = json_array_get (json_object_get (focus, "children"), 0);
  g_assert_cmpstr (json_string_value (json_object_get (caller, "function")), ==,
                   "word_table_count");
}

/* The timeline as SVG: well-formed (xmllint when there is one), one
 * polygon per strategy used (malloc only, in the demo), inside its plot,
 * reaching up toward the peak. */
static void
test_svg (void)
{
  g_autofree gchar *file = g_build_filename (tmp_dir, "timeline.svg", NULL);
  g_autofree gchar *svg = NULL;

  g_free (export ("svg", NULL, file));
  g_assert_true (g_file_get_contents (file, &svg, NULL, NULL));
  if (have ("xmllint"))
    {
      gint status = 0;
      const gchar *argv[] = { "xmllint", "--noout", file, NULL };
      g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                   NULL, NULL, &status, NULL));
      g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
  g_assert_nonnull (strstr (svg, "<polygon class=\"malloc\""));
  g_assert_null (strstr (svg, "<polygon class=\"regions\""));
  const char *points = strstr (strstr (svg, "<polygon class=\"malloc\""), "points=\"") + 8;
  double min_y = 1e9, max_y = 0;
  guint n_points = 0;
  for (const char *p = points; *p != '"';)
    {
      char *end;
      double x = g_ascii_strtod (p, &end);
      g_assert_true (*end == ',');
      double y = g_ascii_strtod (end + 1, &end);
      g_assert_cmpfloat (x, >=, 70.0 - 1e-6);
      g_assert_cmpfloat (x, <=, 990.0 + 1e-6);
      min_y = MIN (min_y, y);
      max_y = MAX (max_y, y);
      n_points++;
      p = *end == ' ' ? end + 1 : end;
    }
  g_test_message ("svg: %u points, y from %.1f to %.1f", n_points, min_y, max_y);
  g_assert_cmpuint (n_points, >, 100);
  g_assert_cmpfloat (min_y, >=, 30.0 - 1e-6);      /* the plot's top */
  g_assert_cmpfloat (min_y, <, 30.0 + 340 * 0.2);   /* the heap nearly reaches its peak */
  g_assert_cmpfloat (max_y, <=, 370.0 + 1e-6);     /* the baseline */

  /* every strategy has a colour in the legend */
  g_assert_null (strstr (svg, "(null)"));
  /* the resident set: a line through each sample, its peak in the legend
   * as the report has it (at the top of the plot) */
  guint64 n_rss = hm_test_json_uint (report, "rss_samples");
  if (n_rss == 0)
    {
      g_assert_null (strstr (svg, "class=\"rss\""));
      return;
    }
  const char *rss = strstr (svg, "<polyline class=\"rss\"");
  g_assert_nonnull (rss);
  rss = strstr (rss, "points=\"") + 8;
  guint n_rss_points = 0;
  double top_y = 1e9;
  for (const char *p = rss; *p != '"';)
    {
      char *end;
      double x = g_ascii_strtod (p, &end);
      g_assert_true (*end == ',');
      double y = g_ascii_strtod (end + 1, &end);
      g_assert_cmpfloat (x, >=, 70.0 - 1e-6);
      g_assert_cmpfloat (x, <=, 990.0 + 1e-6);
      g_assert_cmpfloat (y, <=, 370.0 + 1e-6);
      top_y = MIN (top_y, y);
      n_rss_points++;
      p = *end == ' ' ? end + 1 : end;
    }
  g_assert_cmpuint (n_rss_points, ==, n_rss);
  g_assert_cmpfloat (fabs (top_y - 30.0), <, 0.1);
  /* KiB, MiB… with one decimal, as the chart's axis says sizes */
  const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  double v = (double) hm_test_json_uint (report, "peak_rss_bytes");
  guint u = 0;
  while (v >= 1024 && u + 1 < G_N_ELEMENTS (units))
    v /= 1024, u++;
  g_autofree gchar *peak = g_strdup_printf (u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  g_autofree gchar *legend = g_strdup_printf ("RSS (right scale): peak %s at %.3f s", peak,
                                              hm_test_json_uint (report, "peak_rss_time_ns") / 1e9);
  g_test_message ("svg: %u RSS points; %s", n_rss_points, legend);
  g_assert_nonnull (strstr (svg, legend));
}

static void
test_bad_input (void)
{
  g_auto(HmTestRun) run = { 0 };
  g_auto(HmTestRun) unknown = { 0 };
  g_autofree gchar *not_a_trace = g_build_filename (tmp_dir, "not-a-trace", NULL);

  g_assert_true (g_file_set_contents (not_a_trace, "hello\n", -1, NULL));
  const gchar *argv[] = { hm_test_hmtrace_path (), "export", "--format", "collapsed",
                          not_a_trace, NULL };
  hm_test_spawn (argv, NULL, &run);
  hm_test_assert_clean_failure (&run, "not-a-trace");
  const gchar *bad_format[] = { hm_test_hmtrace_path (), "export", "--format", "bmp", trace,
                                NULL };
  hm_test_spawn (bad_format, NULL, &unknown);
  g_assert_true (WIFEXITED (unknown.exit_status) && WEXITSTATUS (unknown.exit_status) == 2);
  g_assert_nonnull (strstr (unknown.stderr_text, "unknown format"));
}

/* Histograms of sizes and lifetimes, per site and overall: each site's
 * buckets count its allocations and its freed blocks, and add up to the
 * overall ones; the text shows them under --histograms. */
static guint64
histogram_sum (json_t *histogram, guint64 *weighted_min)
{
  guint64 sum = 0;
  for (gsize i = 0; i < json_array_size (histogram); i++)
    {
      json_t *bucket = json_array_get (histogram, i);
      guint64 count = hm_test_json_uint (bucket, "count");
      g_assert_cmpuint (hm_test_json_uint (bucket, "from"), <, hm_test_json_uint (bucket, "to"));
      sum += count;
      if (weighted_min != NULL)
        *weighted_min += count * hm_test_json_uint (bucket, "from");
    }
  return sum;
}

static void
test_histograms (void)
{
  g_auto(HmTestRun) run = { 0 };
  json_t *sites = json_object_get (report, "sites");
  guint64 all_sizes = 0, all_lifetimes = 0;
  const gchar *argv[] = { hm_test_hmtrace_path (), "report", "--histograms", trace, NULL };

  for (gsize i = 0; i < json_array_size (sites); i++)
    {
      json_t *site = json_array_get (sites, i);
      json_t *histograms = json_object_get (site, "histograms");
      guint64 low_bytes = 0;
      g_assert_nonnull (histograms);
      guint64 sizes = histogram_sum (json_object_get (histograms, "size_bytes"), &low_bytes);
      g_assert_cmpuint (sizes, ==, hm_test_json_uint (site, "allocations"));
      /* each block is at least its bucket's low end */
      g_assert_cmpuint (low_bytes, <=, hm_test_json_uint (site, "bytes"));
      g_assert_cmpuint (histogram_sum (json_object_get (histograms, "lifetime_ns"), NULL), ==,
                        hm_test_json_uint (site, "frees"));
      all_sizes += sizes;
      all_lifetimes += hm_test_json_uint (site, "frees");
    }
  json_t *overall = json_object_get (report, "histograms");
  g_assert_cmpuint (histogram_sum (json_object_get (overall, "size_bytes"), NULL), ==, all_sizes);
  g_assert_cmpuint (histogram_sum (json_object_get (overall, "lifetime_ns"), NULL), ==,
                    all_lifetimes);

  hm_test_spawn (argv, NULL, &run);
  g_assert_true (WIFEXITED (run.exit_status) && WEXITSTATUS (run.exit_status) == 0);
  g_assert_nonnull (strstr (run.stdout_text, "Allocation sizes (all sites):"));
  g_assert_nonnull (strstr (run.stdout_text, "Lifetimes of freed blocks (all sites):"));
  g_assert_nonnull (strstr (run.stdout_text, "sizes: ["));
  hm_test_message ("histograms: %" G_GUINT64_FORMAT " allocations and %" G_GUINT64_FORMAT
                   " lifetimes in the sites' buckets, as overall", all_sizes, all_lifetimes);
}

int
main (int argc, char **argv)
{
  g_autofree gchar *program = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = hm_test_make_tmp_dir ();
  trace = g_build_filename (tmp_dir, "demo.hmt", NULL);
  program = hm_test_program_path ("demo");
  if (hm_test_require_hmtrace ())
    {
      const gchar *record[] = { program, NULL };
      if (!hm_test_record (trace, record, 0) || (report = hm_test_report_json (trace)) == NULL)
        g_error ("could not record demo");
    }
  g_test_add_func ("/export/collapsed", test_collapsed);
  g_test_add_func ("/export/pprof-decoded-by-protoc", test_pprof);
  g_test_add_func ("/export/massif-read-by-ms_print", test_massif);
  g_test_add_func ("/export/bad-input", test_bad_input);
  g_test_add_func ("/export/svg-timeline", test_svg);
  g_test_add_func ("/diff/before-and-after-a-fix", test_diff_before_and_after_a_fix);
  g_test_add_func ("/suppressions/report", test_suppressed_report);
  g_test_add_func ("/tree/bottom-up-and-filter", test_call_tree);
  g_test_add_func ("/tree/callers-and-callees", test_callers_and_callees);
  g_test_add_func ("/report/histograms-per-site-and-overall", test_histograms);
  status = g_test_run ();
  json_decref (report);
  hm_test_remove_dir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
