/* test-gc-traced.c — the collector under `hmtrace record`.
 *
 * example-gc.c recorded: the report counts its GC allocations among all
 * allocations, attributes them to the function that made them, and its "gc"
 * object says what the program's own hm_gc_get_stats() said (collections and
 * bytes freed, exactly).  The threaded and fork cases of test-gc recorded:
 * collections stop the world with the agent's writer thread running (it
 * blocks every signal), and the events of many threads add up.
 */
#include "hm-test-util.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static gchar *tmp_dir;

/* Records argv with hmtrace (the program's stdout passes through to
 * stdout_text, if not NULL); returns the report, or NULL with the test
 * skipped (no hmtrace, or no "gc" object in the report yet) or failed. */
static json_t *
record (const gchar *name, const gchar *const *argv, const gchar *const *extra_env,
        gchar **stdout_text)
{
  g_autofree gchar *trace = g_strdup_printf ("%s/%s.hmt", tmp_dir, name);
  g_autoptr(GPtrArray) full = g_ptr_array_new ();
  g_auto(HmTestRun) run = { 0 };
  json_t *report;

  if (!hm_test_require_hmtrace ())
    return NULL;
  g_ptr_array_add (full, (gpointer) hm_test_hmtrace_path ());
  g_ptr_array_add (full, (gpointer) "record");
  g_ptr_array_add (full, (gpointer) "-o");
  g_ptr_array_add (full, trace);
  g_ptr_array_add (full, (gpointer) "--");
  for (gsize i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (full, (gpointer) argv[i]);
  g_ptr_array_add (full, NULL);
  hm_test_spawn ((const gchar *const *) full->pdata, extra_env, &run);
  if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != 0)
    {
      hm_test_fail ("hmtrace record -- %s: wait status %d; stderr:\n%s", argv[0],
                    run.exit_status, run.stderr_text);
      return NULL;
    }
  report = hm_test_report_json (trace);
  if (report != NULL && !json_is_object (json_object_get (report, "gc")))
    {
      g_test_skip ("hmtrace report --json has no \"gc\" object yet");
      json_decref (report);
      return NULL;
    }
  if (stdout_text != NULL)
    *stdout_text = g_steal_pointer (&run.stdout_text);
  return report;
}

static void
test_example (void)
{
  g_autofree gchar *path = hm_test_program_path ("example-gc");
  /* 5 000 keys (7919 and 104729 are primes: still permutations) and
   * 15 000 updates: enough for an automatic collection */
  const gchar *argv[] = { path, "15000", "5000", NULL };
  g_autofree gchar *output = NULL;
  g_autoptr(json_t) report = NULL;
  unsigned long long collections = 0, freed_bytes = 0;

  report = record ("example-gc", argv, NULL, &output);
  if (report == NULL)
    return;

  /* what the program itself said in the traced run */
  const gchar *line = strstr (output, "collections freed");
  g_assert_nonnull (line);
  if (line == NULL)
    return;
  while (line > output && line[-1] != '\n')
    line--;
  g_assert_cmpint (sscanf (line, "%llu collections freed %llu bytes", &collections, &freed_bytes),
                   ==, 2);
  g_assert_cmpuint (collections, >=, 2);   /* one automatic, one asked for */

  json_t *gc = json_object_get (report, "gc");
  guint64 gc_allocations = hm_test_json_uint (gc, "allocations");
  g_test_message ("report: %" G_GUINT64_FORMAT " allocations, %" G_GUINT64_FORMAT
                  " of them GC; %" G_GUINT64_FORMAT " collections",
                  hm_test_json_uint (report, "allocations"), gc_allocations,
                  hm_test_json_uint (gc, "collections"));
  /* every node is one GC allocation: at least one per key and update */
  g_assert_cmpuint (gc_allocations, >=, 20000);
  g_assert_cmpuint (hm_test_json_uint (report, "allocations"), >=, gc_allocations);
  g_assert_cmpuint (hm_test_json_uint (gc, "bytes_allocated"), >=, gc_allocations * 48);
  g_assert_cmpuint (hm_test_json_uint (gc, "collections"), ==, collections);
  g_assert_cmpuint (hm_test_json_uint (gc, "freed_bytes"), ==, freed_bytes);
  g_assert_cmpuint (hm_test_json_uint (gc, "freed_objects"), >, 0);
  g_assert_cmpuint (hm_test_json_uint (report, "frees"), >=,
                    hm_test_json_uint (gc, "freed_objects"));
  g_assert_cmpuint (hm_test_json_uint (gc, "total_pause_ns"), >, 0);
  g_assert_cmpuint (hm_test_json_uint (gc, "live_bytes"), >, 0);
  /* the allocations are attributed to the function that made them */
  if (!hm_test_report_has_function (report, "node_new"))
    {
      g_autofree gchar *sites = hm_test_describe_sites (report, "main");
      hm_test_fail ("no allocation site in node_new; sites in main:\n%s", sites);
    }
}

static void
test_threads_and_fork (void)
{
  g_autofree gchar *path = hm_test_program_path ("test-gc");
  const gchar *argv[] = { path, "-p", "/gc/threads", "-p", "/gc/fork", NULL };
  const gchar *env[] = { "HM_GC_TEST_ROUNDS=12", NULL };
  g_autoptr(json_t) report = record ("test-gc-threads", argv, env, NULL);

  if (report == NULL)
    return;
  json_t *gc = json_object_get (report, "gc");
  g_assert_cmpuint (hm_test_json_uint (gc, "collections"), >, 0);
  g_assert_cmpuint (hm_test_json_uint (gc, "allocations"), >, 100000);
  g_assert_cmpuint (hm_test_json_uint (gc, "freed_objects"), >, 0);
  g_assert_cmpuint (hm_test_json_uint (report, "threads"), >=, 8);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();
  tmp_dir = hm_test_make_tmp_dir ();
  g_test_add_func ("/gc-traced/example", test_example);
  g_test_add_func ("/gc-traced/threads-and-fork", test_threads_and_fork);
  status = g_test_run ();
  hm_test_remove_dir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
