/* test-profile.c — memory_profile.json: the loader on good and hostile
 * files, edits that keep unknown fields, `hmtrace profile` end to end, and a
 * profile built from a recorded trace of tests/programs/profile-sites.c.
 */
#include "hm-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
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
  status = g_test_run ();
  hm_test_remove_dir (tmp_dir);
  return status;
}
