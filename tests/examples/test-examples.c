/* test-examples.c — the API examples run, print what they should, and their
 * traces show every strategy they use.
 */
#include "hm-test-util.h"

#include <string.h>
#include <sys/wait.h>

static gchar *tmp_dir;

static void
run_example (const gchar *name, const gchar *must_print, HmTestRun *run)
{
  g_autofree gchar *path = hm_test_program_path (name);
  const gchar *argv[] = { path, NULL };

  hm_test_spawn (argv, NULL, run);
  g_assert_true (WIFEXITED (run->exit_status));
  g_assert_cmpint (WEXITSTATUS (run->exit_status), ==, 0);
  g_assert_nonnull (strstr (run->stdout_text, must_print));
}

static json_t *
record_example (const gchar *name)
{
  g_autofree gchar *path = hm_test_program_path (name);
  g_autofree gchar *trace = g_strdup_printf ("%s/%s.hmt", tmp_dir, name);
  const gchar *argv[] = { path, NULL };

  if (!hm_test_record (trace, argv, 0))
    return NULL;
  return hm_test_report_json (trace);
}

static void
test_manual (void)
{
  g_auto(HmTestRun) run = { 0 };
  g_autoptr(json_t) report = NULL;
  json_t *manual;

  run_example ("example-manual", "best: player-", &run);
  if (!hm_test_require_hmtrace ())
    return;
  report = record_example ("example-manual");
  g_assert_nonnull (report);
  manual = json_object_get (json_object_get (report, "strategies"), "manual");
  g_assert_nonnull (manual);
  g_assert_cmpuint (hm_test_json_uint (manual, "allocations"), ==, 100);
  g_assert_cmpuint (hm_test_json_uint (manual, "bytes"), ==, 100 * 36);
  g_assert_cmpuint (hm_test_json_uint (manual, "live_bytes"), ==, 0);
}

static void
test_traced (void)
{
  g_auto(HmTestRun) run = { 0 };
  g_autoptr(json_t) report = NULL;
  HmSiteSums sums;

  run_example ("example-traced", "first second third", &run);
  if (!hm_test_require_hmtrace ())
    return;
  report = record_example ("example-traced");
  g_assert_nonnull (report);
  hm_test_sum_sites (report, "duplicate_line", NULL, 0, &sums);
  g_assert_cmpuint (sums.allocations, ==, 3);
  g_assert_cmpuint (sums.leaked_bytes, ==, strlen ("third") + 1);
}

static void
test_hybrid (void)
{
  g_auto(HmTestRun) run = { 0 };
  g_autoptr(json_t) report = NULL;
  json_t *strategies, *regions, *pools, *gc;

  run_example ("example-hybrid", "example served 2000 requests; cache head /page/49; "
                                 "gc collections: yes", &run);
  if (!hm_test_require_hmtrace ())
    return;
  report = record_example ("example-hybrid");
  g_assert_nonnull (report);
  strategies = json_object_get (report, "strategies");
  g_assert_cmpuint (hm_test_json_uint (json_object_get (strategies, "manual"), "allocations"), ==, 1);
  /* per request: a 64-byte path and 32 ints */
  g_assert_cmpuint (hm_test_json_uint (json_object_get (strategies, "regions"), "allocations"), ==,
                    2 * 2000);
  g_assert_cmpuint (hm_test_json_uint (json_object_get (strategies, "pools"), "allocations"), ==,
                    2000);
  g_assert_cmpuint (hm_test_json_uint (json_object_get (strategies, "gc"), "allocations"), ==,
                    2 * 2000);

  regions = json_object_get (report, "regions");
  g_assert_cmpuint (json_array_size (regions), ==, 1);
  g_assert_cmpstr (json_string_value (json_object_get (json_array_get (regions, 0), "name")), ==,
                   "request scratch");
  g_assert_cmpuint (hm_test_json_uint (json_array_get (regions, 0), "resets"), ==, 2000);
  g_assert_true (json_is_true (json_object_get (json_array_get (regions, 0), "freed")));

  pools = json_object_get (report, "pools");
  g_assert_cmpuint (json_array_size (pools), ==, 1);
  g_assert_cmpstr (json_string_value (json_object_get (json_array_get (pools, 0), "name")), ==,
                   "Connection");
  g_assert_cmpuint (hm_test_json_uint (json_array_get (pools, 0), "gets"), ==, 2000);
  g_assert_cmpuint (hm_test_json_uint (json_array_get (pools, 0), "returns"), ==, 2000);
  g_assert_cmpuint (hm_test_json_uint (json_array_get (pools, 0), "peak_live"), ==, 1);

  gc = json_object_get (report, "gc");
  g_assert_cmpuint (hm_test_json_uint (gc, "collections"), >=, 1);
  g_assert_cmpuint (hm_test_json_uint (gc, "freed_bytes"), >, 0);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = hm_test_make_tmp_dir ();
  g_test_add_func ("/examples/manual", test_manual);
  g_test_add_func ("/examples/traced", test_traced);
  g_test_add_func ("/examples/hybrid", test_hybrid);
  status = g_test_run ();
  hm_test_remove_dir (tmp_dir);
  return status;
}
