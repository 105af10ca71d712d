/* test-manager-traced.c — the region and pool examples run, and under
 * `hmtrace record` their traces count exactly what the programs say they
 * did; every misuse in manager-misuse.c is one warning event with the stack
 * of the call that made it; and the threaded cases of test-regions and
 * test-pools, recorded, add up across threads.
 */
#include "hm-test-util.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static gchar *tmp_dir;

/* Runs a program plainly; checks exit 0 and returns its stdout. */
static gchar *
run_plain (const gchar *name)
{
  g_auto(HmTestRun) run = { 0 };
  g_autofree gchar *path = hm_test_program_path (name);
  const gchar *argv[] = { path, NULL };

  hm_test_spawn (argv, NULL, &run);
  g_assert_true (WIFEXITED (run.exit_status));
  g_assert_cmpint (WEXITSTATUS (run.exit_status), ==, 0);
  return g_steal_pointer (&run.stdout_text);
}

/* Records a program (with up to two arguments) and returns the report, or
 * NULL with the test skipped (no hmtrace, or a report without regions and
 * pools yet) or failed. */
static json_t *
record_with (const gchar *name, const gchar *arg1, const gchar *arg2)
{
  g_autofree gchar *path = hm_test_program_path (name);
  g_autofree gchar *trace = g_strdup_printf ("%s/%s.hmt", tmp_dir, name);
  const gchar *argv[] = { path, arg1, arg2, NULL };
  json_t *report;

  if (!hm_test_require_hmtrace ())
    return NULL;
  /* with lifetime analysis, as hmtrace record does by default: these are
   * clean programs (GLib's, with its slice allocator), so no warnings but
   * the misuse they plant */
  if (!hm_test_record (trace, argv, 0))
    return NULL;
  report = hm_test_report_json (trace);
  if (report != NULL && (!json_is_array (json_object_get (report, "regions"))
                         || !json_is_array (json_object_get (report, "pools"))))
    {
      g_test_skip ("hmtrace report --json has no regions and pools arrays yet");
      json_decref (report);
      return NULL;
    }
  return report;
}

static json_t *
record (const gchar *name)
{
  return record_with (name, NULL, NULL);
}

static const gchar *
json_text (json_t *object, const gchar *key)
{
  json_t *value = json_object_get (object, key);
  g_assert_true (json_is_string (value));
  return json_string_value (value);
}

static gboolean
stack_has_function (json_t *stack, const gchar *function)
{
  size_t i;
  json_t *frame;

  json_array_foreach (stack, i, frame)
    if (g_strcmp0 (json_string_value (json_object_get (frame, "function")), function) == 0)
      return TRUE;
  return FALSE;
}

static void
test_regions (void)
{
  g_autofree gchar *out = run_plain ("example-regions");
  g_autoptr(json_t) report = NULL;
  guint64 expressions = 0, nodes = 0, resets = 0, largest = 0;
  const gchar *summary = strstr (out, "parsed ");
  gchar **lines = g_strsplit (out, "\n", -1);
  json_t *region;

  g_assert_nonnull (summary);
  g_assert_cmpint (sscanf (summary, "parsed %" G_GUINT64_FORMAT " expressions into %"
                           G_GUINT64_FORMAT " nodes in one region, reset %" G_GUINT64_FORMAT,
                           &expressions, &nodes, &resets), ==, 3);
  g_assert_cmpuint (expressions, ==, 5000);
  /* the biggest tree of one line: the region's peak */
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const gchar *bytes = strstr (lines[i], " nodes, ");
      if (bytes != NULL)
        largest = MAX (largest, g_ascii_strtoull (bytes + 8, NULL, 10));
    }
  g_strfreev (lines);
  g_assert_cmpuint (largest, >, 0);

  report = record ("example-regions");
  if (report == NULL)
    return;
  g_assert_cmpuint (json_array_size (json_object_get (report, "regions")), ==, 1);
  region = json_array_get (json_object_get (report, "regions"), 0);
  g_assert_cmpstr (json_text (region, "name"), ==, "expression-ast");
  g_assert_cmpuint (hm_test_json_uint (region, "allocations"), ==, nodes);
  g_assert_cmpuint (hm_test_json_uint (region, "resets"), ==, resets);
  /* a Node is 32 bytes, a multiple of the region's 16: what the program
   * asked for is what hm_region_used counted */
  g_assert_cmpuint (hm_test_json_uint (region, "bytes"), ==, nodes * 32);
  g_assert_cmpuint (hm_test_json_uint (region, "peak_bytes"), ==, largest);
  g_assert_true (json_is_true (json_object_get (region, "freed")));
  g_assert_true (stack_has_function (json_object_get (region, "stack"), "main"));
  g_assert_cmpuint (json_array_size (json_object_get (report, "pools")), ==, 0);
  g_assert_cmpuint (json_array_size (json_object_get (report, "warnings")), ==, 0);
}

static void
test_pools (void)
{
  g_autofree gchar *out = run_plain ("example-pools");
  g_autoptr(json_t) report = NULL;
  guint64 spawned = 0, peak = 0, at_end = 1;
  json_t *pool;

  g_assert_cmpint (sscanf (out, "spawned %" G_GUINT64_FORMAT " particles, at most %"
                           G_GUINT64_FORMAT " alive at once, %" G_GUINT64_FORMAT,
                           &spawned, &peak, &at_end), ==, 3);
  g_assert_cmpuint (spawned, >, 10000);
  g_assert_cmpuint (peak, >, 1000);   /* past the pool's capacity */
  g_assert_cmpuint (at_end, ==, 0);

  report = record ("example-pools");
  if (report == NULL)
    return;
  g_assert_cmpuint (json_array_size (json_object_get (report, "pools")), ==, 1);
  pool = json_array_get (json_object_get (report, "pools"), 0);
  g_assert_cmpstr (json_text (pool, "name"), ==, "Particle");
  g_assert_cmpuint (hm_test_json_uint (pool, "object_size"), ==, 28);
  g_assert_cmpuint (hm_test_json_uint (pool, "capacity"), ==, 1000);
  g_assert_cmpuint (hm_test_json_uint (pool, "gets"), ==, spawned);
  g_assert_cmpuint (hm_test_json_uint (pool, "returns"), ==, spawned);
  g_assert_cmpuint (hm_test_json_uint (pool, "peak_live"), ==, peak);
  g_assert_cmpuint (hm_test_json_uint (pool, "live_at_end"), ==, 0);
  g_assert_true (json_is_true (json_object_get (pool, "freed")));
  g_assert_cmpuint (json_array_size (json_object_get (report, "regions")), ==, 0);
  g_assert_cmpuint (json_array_size (json_object_get (report, "warnings")), ==, 0);
}

static void
test_misuse (void)
{
  g_autofree gchar *out = run_plain ("manager-misuse");
  g_autoptr(json_t) report = NULL;
  static const struct {
    const gchar *kind;
    const gchar *function;
    guint count;
  } expected[] = {
    { "region-use-after-free", "misuse_region", 1 },
    { "pool-double-return", "misuse_double_return", 1 },
    { "pool-wrong-pool", "misuse_wrong_pool", 2 },
  };
  json_t *warnings, *warning;
  size_t i;

  g_assert_nonnull (strstr (out, "still works\ndone\n"));
  report = record ("manager-misuse");
  if (report == NULL)
    return;
  warnings = json_object_get (report, "warnings");
  g_assert_true (json_is_array (warnings));
  g_assert_cmpuint (json_array_size (warnings), ==, 4);
  for (guint e = 0; e < G_N_ELEMENTS (expected); e++)
    {
      guint n = 0;
      json_array_foreach (warnings, i, warning)
        if (g_strcmp0 (json_string_value (json_object_get (warning, "kind")),
                       expected[e].kind) == 0)
          {
            n++;
            if (!stack_has_function (json_object_get (warning, "stack"), expected[e].function))
              hm_test_fail ("the %s warning's stack does not hold %s", expected[e].kind,
                            expected[e].function);
          }
      g_assert_cmpuint (n, ==, expected[e].count);
    }
  /* the misuse took nothing from the pools' counts */
  json_array_foreach (json_object_get (report, "pools"), i, warning)
    g_assert_cmpuint (hm_test_json_uint (warning, "gets"), ==,
                      hm_test_json_uint (warning, "returns"));
}

/* 8 threads allocate 20 000 objects each from one region, twice, with a
 * reset between (test-regions.c). */
static void
test_region_threads (void)
{
  g_autoptr(json_t) report = record_with ("test-regions", "-p",
                                          "/region/threads-share-one-region");
  json_t *region;

  if (report == NULL)
    return;
  g_assert_cmpuint (json_array_size (json_object_get (report, "regions")), ==, 1);
  region = json_array_get (json_object_get (report, "regions"), 0);
  g_assert_cmpstr (json_text (region, "name"), ==, "threads");
  g_assert_cmpuint (hm_test_json_uint (region, "allocations"), ==, 2 * 8 * 20000);
  g_assert_cmpuint (hm_test_json_uint (region, "resets"), ==, 2);
  g_assert_cmpuint (hm_test_json_uint (region, "live_bytes"), ==, 0);
  g_assert_true (json_is_true (json_object_get (region, "freed")));
  g_assert_cmpuint (json_array_size (json_object_get (report, "warnings")), ==, 0);
}

/* 8 threads get and return, and return each other's objects
 * (test-pools.c): every get meets its return, whichever thread made it. */
static void
test_pool_threads (void)
{
  g_autoptr(json_t) report = record_with ("test-pools", "-p", "/pool/threads-get-and-return");
  json_t *pool;

  if (report == NULL)
    return;
  g_assert_cmpuint (json_array_size (json_object_get (report, "pools")), ==, 1);
  pool = json_array_get (json_object_get (report, "pools"), 0);
  g_assert_cmpstr (json_text (pool, "name"), ==, "Shared");
  g_assert_cmpuint (hm_test_json_uint (pool, "gets"), >, 8 * 200 * 100);
  g_assert_cmpuint (hm_test_json_uint (pool, "returns"), ==, hm_test_json_uint (pool, "gets"));
  g_assert_cmpuint (hm_test_json_uint (pool, "live_at_end"), ==, 0);
  g_assert_cmpuint (hm_test_json_uint (pool, "peak_live"), >=, 300);
  g_assert_true (json_is_true (json_object_get (pool, "freed")));
  g_assert_cmpuint (json_array_size (json_object_get (report, "warnings")), ==, 0);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = hm_test_make_tmp_dir ();
  g_test_add_func ("/manager-traced/regions", test_regions);
  g_test_add_func ("/manager-traced/pools", test_pools);
  g_test_add_func ("/manager-traced/misuse", test_misuse);
  g_test_add_func ("/manager-traced/region-threads", test_region_threads);
  g_test_add_func ("/manager-traced/pool-threads", test_pool_threads);
  status = g_test_run ();
  hm_test_remove_dir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
