/* test-profile.c — memory_profile.json: the loader on good and hostile
 * files, edits that keep unknown fields, `hmtrace profile` end to end, and a
 * profile built from a recorded trace of tests/programs/profile-sites.c.
 */
#include "hm-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hm-profile.h"

static gchar *tmp_dir;

static gchar *
write_file (const gchar *name, const gchar *text)
{
  gchar *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  return path;
}

static const gchar *good_profile =
  "{\n"
  "  \"version\": 1,\n"
  "  \"strategy\": \"adaptive\",\n"
  "  \"my_note\": \"kept by every tool\",\n"
  "  \"sites\": [\n"
  "    { \"module\": \"prog\", \"module_offset\": 4660, \"symbol\": \"push\", \"file\": \"q.c\",\n"
  "      \"line\": 12, \"count\": 1000, \"bytes\": 48000, \"min_size\": 48, \"max_size\": 48,\n"
  "      \"size_histogram\": [0, 0, 0, 0, 0, 0, 1000], \"peak_live_count\": 100,\n"
  "      \"peak_live_bytes\": 4800, \"threads\": 1, \"x-team\": { \"owner\": \"ana\" } },\n"
  "    { \"address\": \"0x7f0012ab\", \"count\": 3 }\n"
  "  ]\n"
  "}\n";

/* ---- the loader ---- */

static void
test_load_good (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HmProfile) profile = hm_profile_load_data (good_profile, strlen (good_profile),
                                                       "good.json", &error);
  HmProfileSite site;

  g_assert_no_error (error);
  g_assert_cmpstr (hm_profile_get_strategy (profile), ==, "adaptive");
  g_assert_cmpuint (hm_profile_get_n_sites (profile), ==, 2);
  g_assert_true (hm_profile_get_site (profile, 0, &site));
  g_assert_cmpstr (site.module, ==, "prog");
  g_assert_cmpint (site.module_offset, ==, 4660);
  g_assert_cmpint (site.count, ==, 1000);
  g_assert_cmpint (site.peak_live_count, ==, 100);
  g_autofree char *key = hm_profile_site_key (&site);
  g_assert_cmpstr (key, ==, "prog+0x1234");
  g_assert_cmpint (hm_profile_find_site (profile, "prog+0x1234"), ==, 0);
  g_assert_cmpint (hm_profile_find_site (profile, "0x7f0012ab"), ==, 1);
  g_assert_cmpint (hm_profile_find_site (profile, "2"), ==, 1);
  g_assert_cmpint (hm_profile_find_site (profile, "3"), ==, -1);
}

/* Each hostile input: refused with an error that says what and where. */
static void
expect_refused (const gchar *text, gint code, const gchar *must_mention)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HmProfile) profile = hm_profile_load_data (text, strlen (text), "p.json", &error);

  g_assert_null (profile);
  g_assert_error (error, HM_PROFILE_ERROR, code);
  if (strstr (error->message, must_mention) == NULL)
    hm_test_fail ("error “%s” does not mention “%s”", error->message, must_mention);
}

static void
test_load_hostile (void)
{
  /* syntax: line and column from the parser */
  expect_refused ("{\n  \"version\": 1,\n  \"sites\": [,]\n}", HM_PROFILE_ERROR_SYNTAX,
                  "p.json:3:");
  expect_refused ("", HM_PROFILE_ERROR_SYNTAX, "p.json:1:");
  /* wrong types: the path and where the value is */
  expect_refused ("{\"version\": 1,\n \"sites\": [\n  {\"module\": \"a\", \"module_offset\": 1,\n"
                  "   \"count\": \"many\"}]}", HM_PROFILE_ERROR_INVALID,
                  "p.json:4:13: sites[0].count: must be a whole number");
  expect_refused ("{\"version\": 1, \"sites\": {}}", HM_PROFILE_ERROR_INVALID, "sites: must be a list");
  expect_refused ("[1, 2]", HM_PROFILE_ERROR_INVALID, "a profile is a JSON object");
  expect_refused ("{\"version\": 1, \"strategy\": \"fast\", \"sites\": []}",
                  HM_PROFILE_ERROR_INVALID, "strategy: must be one of");
  expect_refused ("{\"version\": 1, \"sites\": [{\"address\": \"0x1\", \"pool_capacity\": -4}]}",
                  HM_PROFILE_ERROR_INVALID, "sites[0].pool_capacity: -4 is out of range");
  expect_refused ("{\"version\": 1, \"sites\": [{\"address\": \"main\"}]}",
                  HM_PROFILE_ERROR_INVALID, "hexadecimal");
  expect_refused ("{\"version\": 1, \"sites\": [{\"symbol\": \"f\"}]}",
                  HM_PROFILE_ERROR_INVALID, "needs a \"module\"");
  expect_refused ("{\"version\": 1, \"sites\": [{\"address\": \"0x1\", \"size_histogram\": [1, 2.5]}]}",
                  HM_PROFILE_ERROR_INVALID, "sites[0].size_histogram[1]");
  /* versions */
  expect_refused ("{\"version\": 2, \"sites\": []}", HM_PROFILE_ERROR_VERSION, "newer");
  expect_refused ("{\"sites\": []}", HM_PROFILE_ERROR_VERSION, "\"version\" is missing");
  /* huge numbers: beyond 64 bits the parser refuses, beyond 2^53 the schema */
  expect_refused ("{\"version\": 1, \"sites\": [{\"address\": \"0x1\", \"count\": 99999999999999999999999}]}",
                  HM_PROFILE_ERROR_SYNTAX, "p.json:1:");
  expect_refused ("{\"version\": 1, \"sites\": [{\"address\": \"0x1\", \"bytes\": 9007199254740993}]}",
                  HM_PROFILE_ERROR_INVALID, "out of range");
  expect_refused ("{\"version\": 1, \"version\": 1, \"sites\": []}", HM_PROFILE_ERROR_SYNTAX,
                  "duplicate");
  /* deep nesting: refused, no stack overflow */
  g_autofree gchar *deep = g_strnfill (100000, '[');
  expect_refused (deep, HM_PROFILE_ERROR_SYNTAX, "p.json:1:");
}

static void
test_load_files (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *big = g_build_filename (tmp_dir, "big.json", NULL);
  HmProfile *profile;

  profile = hm_profile_load (tmp_dir, &error);
  g_assert_null (profile);
  g_assert_error (error, HM_PROFILE_ERROR, HM_PROFILE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "is a directory"));
  g_clear_error (&error);

  profile = hm_profile_load ("/nonexistent/memory_profile.json", &error);
  g_assert_null (profile);
  g_assert_error (error, HM_PROFILE_ERROR, HM_PROFILE_ERROR_IO);
  g_clear_error (&error);

  /* a sparse file over the limit is refused before it is read */
  FILE *f = fopen (big, "w");
  g_assert_nonnull (f);
  g_assert_cmpint (ftruncate (fileno (f), (off_t) HM_PROFILE_MAX_BYTES + 1), ==, 0);
  fclose (f);
  profile = hm_profile_load (big, &error);
  g_assert_null (profile);
  g_assert_nonnull (strstr (error->message, "too big"));
}

static void
test_set_keeps_unknown_fields (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *path = write_file ("edit.json", good_profile);
  g_autoptr(HmProfile) profile = hm_profile_load (path, &error);
  HmProfileSite site;

  g_assert_no_error (error);
  g_assert_true (hm_profile_set (profile, 0, "strategy", "maximize-performance", &error));
  g_assert_true (hm_profile_set (profile, 0, "pool_capacity", "4096", &error));
  g_assert_true (hm_profile_set (profile, -1, "strategy", "balanced", &error));
  /* refused: a bad value, a measured field, and nothing changes */
  g_assert_false (hm_profile_set (profile, 0, "pool_capacity", "lots", &error));
  g_clear_error (&error);
  g_assert_false (hm_profile_set (profile, 0, "pool_object_size", "0", &error));
  g_clear_error (&error);
  g_assert_false (hm_profile_set (profile, 0, "count", "5", &error));
  g_assert_nonnull (strstr (error->message, "measured"));
  g_clear_error (&error);
  g_assert_true (hm_profile_write_file (profile, path, &error));

  g_autoptr(HmProfile) again = hm_profile_load (path, &error);
  g_assert_no_error (error);
  hm_profile_get_site (again, 0, &site);
  g_assert_cmpstr (site.strategy, ==, "maximize-performance");
  g_assert_cmpint (site.pool_capacity, ==, 4096);
  g_assert_cmpint (site.count, ==, 1000);
  g_assert_cmpstr (hm_profile_get_strategy (again), ==, "balanced");
  json_t *root = hm_profile_get_json (again);
  g_assert_cmpstr (json_string_value (json_object_get (root, "my_note")), ==, "kept by every tool");
  json_t *team = json_object_get (json_array_get (json_object_get (root, "sites"), 0), "x-team");
  g_assert_cmpstr (json_string_value (json_object_get (team, "owner")), ==, "ana");

  /* "default" takes the override away again */
  g_assert_true (hm_profile_set (again, 0, "strategy", "default", &error));
  hm_profile_get_site (again, 0, &site);
  g_assert_null (site.strategy);
}

/* The schema file says what the code checks: the same strategies, limits. */
static void
test_schema_matches_code (void)
{
  g_autofree gchar *path = g_build_filename (g_getenv ("HM_SCHEMA_PATH"), NULL);
  json_error_t json_error;
  g_autoptr(json_t) schema = json_load_file (path, 0, &json_error);

  g_assert_nonnull (schema);
  json_t *defs = json_object_get (schema, "$defs");
  json_t *names = json_object_get (json_object_get (defs, "strategy"), "enum");
  g_assert_cmpuint (json_array_size (names), ==, HM_PROFILE_N_STRATEGIES);
  for (guint i = 0; i < HM_PROFILE_N_STRATEGIES; i++)
    g_assert_cmpstr (json_string_value (json_array_get (names, i)), ==, hm_profile_strategy_names[i]);
  json_t *version = json_object_get (json_object_get (schema, "properties"), "version");
  g_assert_cmpint (json_integer_value (json_object_get (version, "maximum")), ==, HM_PROFILE_VERSION);
  json_t *props = json_object_get (json_object_get (defs, "site"), "properties");
  g_assert_cmpint (json_integer_value (json_object_get (json_object_get (props, "size_histogram"), "maxItems")),
                   ==, HM_PROFILE_SIZE_BUCKETS);
  g_assert_cmpint (json_integer_value (json_object_get (json_object_get (props, "lifetime_histogram"), "maxItems")),
                   ==, HM_PROFILE_LIFETIME_BUCKETS);
  g_assert_cmpint (json_integer_value (json_object_get (json_object_get (props, "pool_capacity"), "maximum")),
                   ==, HM_PROFILE_MAX_POOL_CAPACITY);
}

/* ---- hmtrace profile ---- */

static void
run_profile (HmTestRun *run, const gchar *a, const gchar *b, const gchar *c, const gchar *d)
{
  const gchar *argv[] = { hm_test_hmtrace_path (), "profile", a, b, c, d, NULL };
  hm_test_spawn (argv, NULL, run);
}

static void
test_cli_validate (void)
{
  g_autofree gchar *good = write_file ("v-good.json", good_profile);
  g_autofree gchar *bad = write_file ("v-bad.json", "{\"version\": 1,\n \"sites\": [\n  {\"address\": 7}]}");
  g_auto(HmTestRun) ok = { 0 };
  g_auto(HmTestRun) broken = { 0 };
  g_auto(HmTestRun) dir = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  run_profile (&ok, "validate", good, NULL, NULL);
  g_assert_true (WIFEXITED (ok.exit_status) && WEXITSTATUS (ok.exit_status) == 0);
  g_assert_nonnull (strstr (ok.stdout_text, "2 sites"));
  run_profile (&broken, "validate", bad, NULL, NULL);
  hm_test_assert_clean_failure (&broken, ":3:15: sites[0].address: must be a string");
  run_profile (&dir, "validate", tmp_dir, NULL, NULL);
  hm_test_assert_clean_failure (&dir, "directory");
}

static void
test_cli_set_show_diff (void)
{
  g_autofree gchar *path = write_file ("s.json", good_profile);
  g_autofree gchar *before = write_file ("s-before.json", good_profile);
  g_auto(HmTestRun) set = { 0 };
  g_auto(HmTestRun) bad = { 0 };
  g_auto(HmTestRun) show = { 0 };
  g_auto(HmTestRun) diff = { 0 };
  g_auto(HmTestRun) nosite = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  run_profile (&set, "set", path, "prog+0x1234", "pool_capacity=512");
  g_assert_cmpint (set.exit_status, ==, 0);
  run_profile (&bad, "set", path, "1", "pool_capacity=-1");
  hm_test_assert_clean_failure (&bad, "out of range");
  run_profile (&nosite, "set", path, "prog+0x9999", "strategy=none");
  hm_test_assert_clean_failure (&nosite, "no site");

  run_profile (&show, "show", path, NULL, NULL);
  g_assert_cmpint (show.exit_status, ==, 0);
  g_assert_nonnull (strstr (show.stdout_text, "prog+0x1234"));
  g_assert_nonnull (strstr (show.stdout_text, "push (q.c:12)"));
  g_assert_nonnull (strstr (show.stdout_text, "0x7f0012ab"));

  run_profile (&diff, "diff", before, path, NULL);
  g_assert_cmpint (diff.exit_status, ==, 0);
  g_assert_nonnull (strstr (diff.stdout_text, "~ prog+0x1234 pool_capacity: (unset) -> 512"));
  /* the unknown field is still in the rewritten file */
  g_autofree gchar *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"owner\": \"ana\""));
}

/* A trace of profile-sites.c becomes a profile whose sites have the
 * program's own numbers. */
static void
test_cli_from_trace (void)
{
  g_autofree gchar *program = hm_test_program_path ("profile-sites");
  g_autofree gchar *trace = g_build_filename (tmp_dir, "sites.hmt", NULL);
  g_autofree gchar *out = g_build_filename (tmp_dir, "from-trace.json", NULL);
  const gchar *argv[] = { program, NULL };
  g_auto(HmTestRun) run = { 0 };
  g_autoptr(GError) error = NULL;
  gboolean seen_nodes = FALSE, seen_buffers = FALSE, seen_mixed = FALSE;

  if (!hm_test_require_hmtrace () || !hm_test_record (trace, argv, 0))
    return;
  run_profile (&run, "from-trace", trace, "-o", out);
  g_assert_cmpint (run.exit_status, ==, 0);
  g_autoptr(HmProfile) profile = hm_profile_load (out, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < hm_profile_get_n_sites (profile); i++)
    {
      HmProfileSite s;
      hm_profile_get_site (profile, i, &s);
      if (s.symbol == NULL)
        continue;
      if (strcmp (s.symbol, "make_nodes") == 0)
        {
          seen_nodes = TRUE;
          g_assert_cmpstr (s.module, ==, "profile-sites");
          g_assert_cmpint (s.line, ==, hm_test_site_line ("profile-sites.c", "nodes"));
          g_assert_cmpint (s.count, ==, 3000);
          g_assert_cmpint (s.bytes, ==, 3000 * 48);
          g_assert_cmpint (s.min_size, ==, 48);
          g_assert_cmpint (s.max_size, ==, 48);
          g_assert_cmpint (s.peak_live_count, ==, 100);
          g_assert_cmpint (s.threads, ==, 1);
          g_assert_cmpint (s.lifetime_median_ns, >=, 0);
        }
      else if (strcmp (s.symbol, "make_buffers") == 0)
        {
          seen_buffers = TRUE;
          g_assert_cmpint (s.count, ==, 7);
          g_assert_cmpint (s.peak_live_bytes, ==, 7 * 4096);
        }
      else if (strcmp (s.symbol, "make_mixed") == 0)
        {
          seen_mixed = TRUE;
          g_assert_cmpint (s.count, ==, 200);
          g_assert_cmpint (s.min_size, ==, 8);
          g_assert_cmpint (s.max_size, ==, 207);
          g_assert_cmpint (s.peak_live_count, ==, 1);
        }
    }
  g_assert_true (seen_nodes && seen_buffers && seen_mixed);
}

/* ---- the agent: recording and applying ---- */

static void
run_program (HmTestRun *run, const gchar *const *extra_env, const gchar *a, const gchar *b)
{
  g_autofree gchar *program = hm_test_program_path ("profile-sites");
  const gchar *argv[] = { program, a, b, NULL };
  g_autofree gchar *preload = g_strdup_printf ("LD_PRELOAD=%s", g_getenv ("HM_AGENT_PATH"));
  g_autoptr(GPtrArray) env = g_ptr_array_new ();

  g_ptr_array_add (env, preload);
  for (guint i = 0; extra_env != NULL && extra_env[i] != NULL; i++)
    g_ptr_array_add (env, (gpointer) extra_env[i]);
  g_ptr_array_add (env, NULL);
  hm_test_spawn (argv, (const gchar *const *) env->pdata, run);
}

/* Records bench-malloc's one site with extra_env; returns the file's text. */
static gchar *
record_bench_malloc (const gchar *name, const gchar *extra, HmProfileSite *site)
{
  g_autofree gchar *program = hm_test_program_path ("bench-malloc");
  g_autofree gchar *path = g_build_filename (tmp_dir, name, NULL);
  g_autofree gchar *preload = g_strdup_printf ("LD_PRELOAD=%s", g_getenv ("HM_AGENT_PATH"));
  g_autofree gchar *path_env = g_strdup_printf ("HM_PROFILE_PATH=%s", path);
  const gchar *argv[] = { program, "2000000", NULL };
  const gchar *env[] = { preload, path_env, "HM_ENABLE_PROFILING=1", "HM_SAMPLE_SEED=12345",
                         extra, NULL };
  g_auto(HmTestRun) run = { 0 };
  g_autoptr(GError) error = NULL;
  gchar *text = NULL;

  hm_test_spawn (argv, env, &run);
  g_assert_cmpint (run.exit_status, ==, 0);
  g_assert_cmpstr (run.stderr_text, ==, "");
  g_autoptr(HmProfile) profile = hm_profile_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hm_profile_get_n_sites (profile), ==, 1);
  hm_profile_get_site (profile, 0, site);
  site->module = NULL;     /* owned by the profile */
  site->symbol = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

/* By default a profile counts its sites from byte-weighted samples (cheap:
 * bench-profile); the estimates of bench-malloc's one site (2,000,000
 * blocks of 16-512 bytes, 20,000 live at a time, each freed 20,000 pairs
 * later) agree with the exact counts of HM_PROFILE_SAMPLE_BYTES=0, and the
 * file says which it holds.  About 8,000 samples are drawn (0.5 GB at one per
 * 64 KiB): a count is off by 1.1% (one standard deviation), so 5% fails
 * only for a biased estimate; the seed makes the run repeatable. */
static void
test_agent_samples (void)
{
  HmProfileSite exact, sampled;

  if (!hm_test_require_hmtrace ())
    return;
  g_autofree gchar *exact_text = record_bench_malloc ("exact.json", "HM_PROFILE_SAMPLE_BYTES=0",
                                                      &exact);
  g_autofree gchar *sampled_text = record_bench_malloc ("sampled.json", NULL, &sampled);
  g_assert_nonnull (strstr (exact_text, "\"sample_bytes\": 0,"));
  g_assert_nonnull (strstr (sampled_text, "\"sample_bytes\": 65536,"));
  g_assert_cmpint (exact.count, ==, 2000000);
  g_test_message ("exact: %" G_GINT64_FORMAT " blocks, %" G_GINT64_FORMAT " bytes, peak %"
                  G_GINT64_FORMAT "; sampled: %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                  ", peak %" G_GINT64_FORMAT, exact.count, exact.bytes, exact.peak_live_count,
                  sampled.count, sampled.bytes, sampled.peak_live_count);
  g_assert_cmpfloat (fabs ((double) sampled.count / (double) exact.count - 1), <, 0.05);
  g_assert_cmpfloat (fabs ((double) sampled.bytes / (double) exact.bytes - 1), <, 0.05);
  g_assert_cmpint (sampled.min_size, >=, 16);
  g_assert_cmpint (sampled.max_size, <=, 512);
  g_assert_cmpint (sampled.max_size, >=, 480);
  /* 20,000 live at the peak; the peak of a noisy estimate runs high */
  g_assert_cmpint (sampled.peak_live_count, >=, 10000);
  g_assert_cmpint (sampled.peak_live_count, <=, 50000);
  g_assert_cmpint (sampled.lifetime_median_ns, >, 0);
  g_assert_cmpint (sampled.lifetime_median_ns, <, 4 * exact.lifetime_median_ns + 1000000);
}

/* The site of profile-sites.c at function: by module offset, as a profile
 * built from a trace names it (so the agent's identity is checked too). */
static gint64
offset_from_trace (const gchar *function)
{
  static HmProfile *from_trace;
  g_autoptr(GError) error = NULL;

  if (from_trace == NULL)
    {
      g_autofree gchar *program = hm_test_program_path ("profile-sites");
      g_autofree gchar *trace = g_build_filename (tmp_dir, "identity.hmt", NULL);
      g_autofree gchar *out = g_build_filename (tmp_dir, "identity.json", NULL);
      const gchar *argv[] = { program, NULL };
      g_auto(HmTestRun) run = { 0 };
      if (!hm_test_record (trace, argv, 0))
        return -1;
      run_profile (&run, "from-trace", trace, "-o", out);
      from_trace = hm_profile_load (out, &error);
      g_assert_no_error (error);
    }
  for (guint i = 0; i < hm_profile_get_n_sites (from_trace); i++)
    {
      HmProfileSite s;
      hm_profile_get_site (from_trace, i, &s);
      if (s.symbol != NULL && strcmp (s.symbol, function) == 0)
        return s.module_offset;
    }
  return -1;
}

static gboolean
find_site (HmProfile *profile, gint64 module_offset, HmProfileSite *site)
{
  for (guint i = 0; i < hm_profile_get_n_sites (profile); i++)
    {
      hm_profile_get_site (profile, i, site);
      if (site->module_offset == module_offset && g_strcmp0 (site->module, "profile-sites") == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_agent_records (void)
{
  g_autofree gchar *path = g_build_filename (tmp_dir, "recorded.json", NULL);
  g_autofree gchar *path_env = g_strdup_printf ("HM_PROFILE_PATH=%s", path);
  /* every allocation counted: the counts below are exact */
  const gchar *env[] = { "HM_ENABLE_PROFILING=1", "HM_PROFILE_SAMPLE_BYTES=0", path_env, NULL };
  g_auto(HmTestRun) run = { 0 };
  g_autoptr(GError) error = NULL;
  HmProfileSite nodes, buffers, mixed;

  if (!hm_test_require_hmtrace ())
    return;
  run_program (&run, env, "20000", NULL);
  g_assert_cmpint (run.exit_status, ==, 0);
  g_assert_cmpstr (run.stderr_text, ==, "");
  /* the program's own file, and no temporary file left beside it */
  g_autoptr(HmProfile) profile = hm_profile_load (path, &error);
  g_assert_no_error (error);
  g_autofree gchar *tmp = g_strdup_printf ("%s.tmp.", path);
  g_autoptr(GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  for (const gchar *name; (name = g_dir_read_name (dir)) != NULL;)
    g_assert_null (strstr (name, ".tmp."));

  g_assert_true (find_site (profile, offset_from_trace ("make_nodes"), &nodes));
  g_assert_cmpint (nodes.count, ==, 20000);
  g_assert_cmpint (nodes.bytes, ==, 20000 * 48);
  g_assert_cmpint (nodes.min_size, ==, 48);
  g_assert_cmpint (nodes.max_size, ==, 48);
  g_assert_cmpint (nodes.threads, ==, 1);
  /* sampled past the first 256 (1 block in 64, weight 64, chosen by address):
   * an estimate.  Of the 100 blocks live at the peak, the sampled ones are
   * binomial (100, 1/64): more than 7 has a chance under 1e-5, so the bounds
   * fail only for a broken estimate, not for an unlucky layout (2 samples,
   * the old bound, was exceeded 7% of the time). */
  g_assert_cmpint (nodes.peak_live_count, >=, 100 - 64);
  g_assert_cmpint (nodes.peak_live_count, <=, 100 + 7 * 64);
  g_assert_cmpint (nodes.lifetime_median_ns, >, 0);
  g_assert_true (find_site (profile, offset_from_trace ("make_buffers"), &buffers));
  g_assert_cmpint (buffers.count, ==, 7);
  g_assert_cmpint (buffers.peak_live_count, ==, 7);
  g_assert_cmpint (buffers.peak_live_bytes, ==, 7 * 4096);
  g_assert_true (find_site (profile, offset_from_trace ("make_mixed"), &mixed));
  g_assert_cmpint (mixed.count, ==, 200);
  g_assert_cmpint (mixed.bytes, ==, 200 * 8 + 199 * 200 / 2);
  g_assert_cmpint (mixed.min_size, ==, 8);
  g_assert_cmpint (mixed.max_size, ==, 207);
  g_assert_cmpint (mixed.peak_live_count, ==, 1);
  json_t *histogram = json_object_get (json_array_get (json_object_get (hm_profile_get_json (profile), "sites"), 0), "size_histogram");
  g_assert_true (json_is_array (histogram));
}

/* A profile that says adaptive makes the hot 48-byte site a pool: its
 * blocks are then pool objects of exactly 48 bytes (the C library's have
 * more), the trace says so, and edits to the file survive the next
 * recording. */
static void
test_agent_applies (void)
{
  g_autofree gchar *path = g_build_filename (tmp_dir, "applied.json", NULL);
  g_autofree gchar *path_env = g_strdup_printf ("HM_PROFILE_PATH=%s", path);
  g_autofree gchar *trace = g_build_filename (tmp_dir, "applied.hmt", NULL);
  const gchar *record_env[] = { "HM_ENABLE_PROFILING=1", "HM_PROFILE_SAMPLE_BYTES=0", path_env,
                                NULL };
  const gchar *apply_env[] = { path_env, NULL };
  const gchar *none_env[] = { "HM_PROFILE_PATH=/nonexistent/p.json", NULL };
  g_auto(HmTestRun) first = { 0 };
  g_auto(HmTestRun) plain = { 0 };
  g_auto(HmTestRun) applied = { 0 };
  g_auto(HmTestRun) set = { 0 };
  g_auto(HmTestRun) again = { 0 };
  g_autoptr(GError) error = NULL;

  if (!hm_test_require_hmtrace ())
    return;
  run_program (&first, record_env, "3000", NULL);
  g_assert_cmpint (first.exit_status, ==, 0);
  run_profile (&set, "set", path, "global", "strategy=adaptive");
  g_assert_cmpint (set.exit_status, ==, 0);
  g_autofree gchar *key = g_strdup_printf ("profile-sites+0x%" G_GINT64_MODIFIER "x",
                                           offset_from_trace ("make_mixed"));
  g_auto(HmTestRun) set_mixed = { 0 };
  run_profile (&set_mixed, "set", path, key, "pool_capacity=33");
  g_assert_cmpint (set_mixed.exit_status, ==, 0);

  run_program (&plain, none_env, "3000", "usable");
  g_assert_cmpint (plain.exit_status, ==, 0);
  g_assert_cmpint (atoi (plain.stdout_text), >, 48);
  run_program (&applied, apply_env, "3000", "usable");
  g_assert_cmpint (applied.exit_status, ==, 0);
  g_assert_cmpstr (applied.stderr_text, ==, "");
  g_assert_cmpint (atoi (applied.stdout_text), ==, 48);

  /* the decisions, in the trace of a run that applies it */
  g_autofree gchar *program = hm_test_program_path ("profile-sites");
  /* without lifetime analysis, which turns pools off (they would hide bad frees) */
  const gchar *argv[] = { hm_test_hmtrace_path (), "record", "-q", "--no-lifetime", "-o", trace,
                          "--", program, NULL };
  g_auto(HmTestRun) recorded = { 0 };
  hm_test_spawn (argv, apply_env, &recorded);
  g_assert_cmpint (recorded.exit_status, ==, 0);
  g_autoptr(json_t) report = hm_test_report_json (trace);
  json_t *decisions = json_object_get (report, "profile_decisions");
  g_assert_cmpuint (json_array_size (decisions), ==, 3);
  g_autofree gchar *nodes_key = g_strdup_printf ("profile-sites+0x%" G_GINT64_MODIFIER "x",
                                                 offset_from_trace ("make_nodes"));
  gboolean pool_seen = FALSE;
  for (gsize i = 0; i < json_array_size (decisions); i++)
    {
      json_t *d = json_array_get (decisions, i);
      const char *site = json_string_value (json_object_get (d, "site"));
      const char *choice = json_string_value (json_object_get (d, "choice"));
      if (g_strcmp0 (site, nodes_key) == 0)
        {
          g_assert_cmpstr (choice, ==, "pool");
          g_assert_nonnull (strstr (json_string_value (json_object_get (d, "why")), "48 bytes"));
          pool_seen = TRUE;
        }
      else
        g_assert_cmpstr (choice, ==, "malloc");
    }
  g_assert_true (pool_seen);
  /* every block of the program, pool-served or not, was freed */
  g_assert_cmpint (hm_test_json_uint (report, "allocations") - hm_test_json_uint (report, "frees"),
                   <=, 3);

  /* recording again over the applied file keeps the person's edits: an
   * override, a note on a site, a site of a library this run never loads */
  {
    g_autoptr(HmProfile) edited = hm_profile_load (path, &error);
    g_assert_no_error (error);
    json_t *sites = json_object_get (hm_profile_get_json (edited), "sites");
    HmProfileSite site;
    for (gsize i = 0; i < json_array_size (sites); i++)
      if (hm_profile_get_site (edited, (guint) i, &site) && site.module_offset == offset_from_trace ("make_nodes"))
        json_object_set_new (json_array_get (sites, i), "owner", json_string ("ana"));
    json_array_append_new (sites, json_pack ("{s:s, s:i, s:i, s:s}", "module", "libgone.so",
                                             "module_offset", 4096, "count", 5, "note", "keep me"));
    g_assert_true (hm_profile_write_file (edited, path, &error));
  }
  run_program (&again, record_env, "3000", NULL);
  g_assert_cmpint (again.exit_status, ==, 0);
  g_autoptr(HmProfile) rewritten = hm_profile_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hm_profile_get_strategy (rewritten), ==, "adaptive");
  HmProfileSite mixed;
  g_assert_true (find_site (rewritten, offset_from_trace ("make_mixed"), &mixed));
  g_assert_cmpint (mixed.pool_capacity, ==, 33);
  g_assert_cmpint (mixed.count, ==, 200);
  g_autofree gchar *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"owner\": \"ana\""));
  g_assert_nonnull (strstr (text, "\"note\": \"keep me\""));
  g_assert_cmpint (hm_profile_find_site (rewritten, "libgone.so+0x1000"), >=, 0);
}

/* Whatever the file holds, the program runs as without it, after one line. */
static void
test_agent_refuses_hostile_profiles (void)
{
  static const struct { const char *name, *text, *mention; } cases[] = {
    { "syntax.json", "{\"version\": 1,\n \"sites\": [}", "line 2, column 12" },
    { "type.json", "{\"version\": 1, \"sites\": [{\"module\": 5}]}", "expected a string" },
    { "newer.json", "{\"version\": 9, \"sites\": []}", "newer" },
    { "huge.json", "{\"version\": 1, \"sites\": [{\"address\": \"0x1\", \"count\": 123456789012345678901234567890}]}", "too big" },
    { "deep.json", NULL, "nested too deeply" },
    { "empty.json", "", "expected '{'" },
    { "capacity.json", "{\"version\": 1, \"sites\": [{\"address\": \"0x1\", \"pool_capacity\": 999999999}]}", "out of range" },
  };

  if (!hm_test_require_hmtrace ())
    return;
  for (guint i = 0; i <= G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *path = NULL;
      const char *mention = "directory";
      if (i < G_N_ELEMENTS (cases))
        {
          g_autofree gchar *deep = NULL;
          const char *text = cases[i].text;
          if (text == NULL)
            {
              g_autofree gchar *brackets = g_strnfill (5000, '[');
              deep = g_strdup_printf ("{\"version\": 1, \"x\": %s", brackets);
              text = deep;
            }
          path = write_file (cases[i].name, text);
          mention = cases[i].mention;
        }
      else
        path = g_strdup (tmp_dir);
      g_autofree gchar *path_env = g_strdup_printf ("HM_PROFILE_PATH=%s", path);
      const gchar *env[] = { path_env, NULL };
      g_auto(HmTestRun) run = { 0 };
      run_program (&run, env, "3000", "usable");
      g_assert_cmpint (run.exit_status, ==, 0);
      g_assert_cmpint (atoi (run.stdout_text), >, 48);   /* defaults: no pool */
      gchar **lines = g_strsplit (g_strchomp (run.stderr_text), "\n", -1);
      g_assert_cmpuint (g_strv_length (lines), ==, 1);
      if (strstr (lines[0], mention) == NULL || strstr (lines[0], "hybridmem: profile") == NULL)
        hm_test_fail ("%s: stderr “%s” does not mention “%s”", path, lines[0], mention);
      g_strfreev (lines);
    }
}

/* A program killed while running leaves the last whole profile written by
 * the periodic save, never half a file. */
static void
test_agent_saves_periodically (void)
{
  g_autofree gchar *path = g_build_filename (tmp_dir, "periodic.json", NULL);
  g_autofree gchar *program = hm_test_program_path ("profile-sites");
  g_autofree gchar *preload = g_strdup_printf ("LD_PRELOAD=%s", g_getenv ("HM_AGENT_PATH"));
  g_autofree gchar *path_env = g_strdup_printf ("HM_PROFILE_PATH=%s", path);
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;
  GPid pid;

  if (!hm_test_require_hmtrace ())
    return;
  envp = g_environ_setenv (envp, "LD_PRELOAD", g_getenv ("HM_AGENT_PATH"), TRUE);
  envp = g_environ_setenv (envp, "HM_PROFILE_PATH", path, TRUE);
  envp = g_environ_setenv (envp, "HM_ENABLE_PROFILING", "1", TRUE);
  envp = g_environ_setenv (envp, "HM_PROFILE_SAVE_INTERVAL", "1", TRUE);
  const gchar *argv[] = { program, "2000000000", NULL };
  g_assert_true (g_spawn_async (NULL, (gchar **) argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                NULL, &pid, &error));
  g_assert_no_error (error);
  /* two saves at least, then a kill in the middle of whatever it does */
  for (int waited = 0; waited < 100 && !g_file_test (path, G_FILE_TEST_EXISTS); waited++)
    g_usleep (50000);
  g_usleep (1200000);
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  g_spawn_close_pid (pid);
  g_autoptr(HmProfile) profile = hm_profile_load (path, &error);
  g_assert_no_error (error);
  HmProfileSite nodes;
  g_assert_true (find_site (profile, offset_from_trace ("make_nodes"), &nodes));
  g_assert_cmpint (nodes.count, >, 1000);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = hm_test_make_tmp_dir ();
  g_test_add_func ("/profile/load/good", test_load_good);
  g_test_add_func ("/profile/load/hostile-bytes-refused-with-line-and-column", test_load_hostile);
  g_test_add_func ("/profile/load/directory-missing-and-huge-files", test_load_files);
  g_test_add_func ("/profile/set/validates-and-keeps-unknown-fields", test_set_keeps_unknown_fields);
  g_test_add_func ("/profile/schema/matches-the-code", test_schema_matches_code);
  g_test_add_func ("/profile/cli/validate", test_cli_validate);
  g_test_add_func ("/profile/cli/set-show-diff", test_cli_set_show_diff);
  g_test_add_func ("/profile/cli/from-trace", test_cli_from_trace);
  g_test_add_func ("/profile/agent/records-sites", test_agent_records);
  g_test_add_func ("/profile/agent/applies-a-pool-and-says-so", test_agent_applies);
  g_test_add_func ("/profile/agent/estimates-from-byte-samples", test_agent_samples);
  g_test_add_func ("/profile/agent/refuses-hostile-profiles", test_agent_refuses_hostile_profiles);
  g_test_add_func ("/profile/agent/saves-periodically-and-atomically", test_agent_saves_periodically);
  status = g_test_run ();
  hm_test_remove_dir (tmp_dir);
  return status;
}
