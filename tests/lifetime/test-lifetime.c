/* test-lifetime.c — lifetime analysis finds exactly the planted bad frees,
 * with their stacks, keeps the program alive, and says nothing about clean
 * programs.
 */
#include "hm-test-util.h"

#include <string.h>
#include <sys/wait.h>

static gchar *tmp_dir;

/* Records argv with lifetime analysis on; returns the report. */
static json_t *
record_with_analysis (const gchar *name, const gchar *const *program_argv, HmTestRun *run)
{
  g_autofree gchar *trace = g_strdup_printf ("%s/%s.hmt", tmp_dir, name);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const gchar *env[] = { "HM_LIFETIME_ANALYSIS=1", NULL };

  g_ptr_array_add (argv, (gpointer) hm_test_hmtrace_path ());
  g_ptr_array_add (argv, "record");
  g_ptr_array_add (argv, "-q");
  g_ptr_array_add (argv, "-o");
  g_ptr_array_add (argv, trace);
  g_ptr_array_add (argv, "--");
  for (int i = 0; program_argv[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) program_argv[i]);
  g_ptr_array_add (argv, NULL);
  hm_test_spawn ((const gchar *const *) argv->pdata, env, run);
  g_assert_true (WIFEXITED (run->exit_status));
  g_assert_cmpint (WEXITSTATUS (run->exit_status), ==, 0);
  return hm_test_report_json (trace);
}

static const gchar *
top_function (json_t *stack)
{
  return json_string_value (json_object_get (json_array_get (stack, 0), "function"));
}

static guint
top_line (json_t *stack)
{
  return (guint) json_integer_value (json_object_get (json_array_get (stack, 0), "line"));
}

static guint
planted_line (const gchar *text, guint nth)
{
  g_autofree gchar *path = g_build_filename (g_getenv ("HM_TEST_LIFETIME_SOURCE_DIR"),
                                             "bad-frees.c", NULL);
  g_autofree gchar *source = NULL;
  g_auto(GStrv) lines = NULL;
  guint seen = 0;

  g_assert_true (g_file_get_contents (path, &source, NULL, NULL));
  lines = g_strsplit (source, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], text) != NULL && strstr (lines[i], "PLANTED") != NULL && seen++ == nth)
      return i + 1;
  g_assert_not_reached ();
}

static void
test_planted_bad_frees (void)
{
  g_auto(HmTestRun) run = { 0 };
  g_autofree gchar *program = hm_test_program_path ("bad-frees");
  const gchar *argv[] = { program, NULL };
  g_autoptr(json_t) report = NULL;
  json_t *warnings;
  static const struct { const gchar *kind, *function, *marker; guint nth; } expected[] = {
    { "double-free", "double_free", "double-free", 0 },
    { "invalid-free", "invalid_frees", "invalid-free", 0 },
    { "invalid-free", "invalid_frees", "invalid-free", 1 },
    { "mismatched-free", "mismatched_free", "mismatched-free", 0 },
    { "mismatched-free", "other_strategies_freed", "mismatched-free", 1 },
    { "mismatched-free", "other_strategies_freed", "mismatched-free", 2 },
  };

  if (!hm_test_require_hmtrace ())
    return;
  report = record_with_analysis ("bad-frees", argv, &run);
  g_assert_nonnull (report);
  /* the program reached its end: the bad calls were not passed on */
  g_assert_cmpstr (run.stdout_text, ==, "survived\n");
  warnings = json_object_get (report, "warnings");
  g_assert_cmpuint (json_array_size (warnings), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      json_t *w = json_array_get (warnings, i);
      json_t *bad_call = json_object_get (w, "bad_call_stack");
      g_assert_cmpstr (json_string_value (json_object_get (w, "kind")), ==, expected[i].kind);
      g_assert_cmpstr (top_function (bad_call), ==, expected[i].function);
      g_assert_cmpuint (top_line (bad_call), ==, planted_line (expected[i].marker, expected[i].nth));
    }
  /* the double free names where the block came from and where it was freed */
  json_t *dbl = json_array_get (warnings, 0);
  g_assert_cmpstr (top_function (json_object_get (dbl, "stack")), ==, "double_free");
  g_assert_cmpuint (hm_test_json_uint (dbl, "size"), ==, 40);
  g_assert_nonnull (json_object_get (dbl, "free_stack"));
  g_assert_cmpuint (top_line (json_object_get (dbl, "free_stack")), ==,
                    planted_line ("double-free", 0) - 1);
  /* one line each on stderr */
  g_autofree gchar **lines = g_strsplit (run.stderr_text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (expected) + 1);
}

/* Clean programs: threads, fork, C++ containers, stdio — not one warning. */
static void
test_clean_program (gconstpointer data)
{
  const gchar *name = data;
  g_auto(HmTestRun) run = { 0 };
  g_autofree gchar *program = NULL;
  g_autofree gchar *dir = g_path_get_dirname (g_getenv ("HM_TEST_PROGRAMS_DIR"));
  g_autoptr(json_t) report = NULL;

  if (!hm_test_require_hmtrace ())
    return;
  program = g_build_filename (dir, "programs", name, NULL);
  const gchar *argv[] = { program, NULL };
  report = record_with_analysis (name, argv, &run);
  g_assert_nonnull (report);
  g_assert_cmpuint (json_array_size (json_object_get (report, "warnings")), ==, 0);
  g_assert_cmpstr (run.stderr_text, ==, "");
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = hm_test_make_tmp_dir ();
  g_test_add_func ("/lifetime/planted-bad-frees", test_planted_bad_frees);
  for (const gchar *const *name = (const gchar *const[]) { "single", "threads", "forker", "cxx",
                                                           "crossfree", "demo", NULL };
       *name != NULL; name++)
    {
      g_autofree gchar *path = g_strdup_printf ("/lifetime/clean/%s", *name);
      g_test_add_data_func (path, *name, test_clean_program);
    }
  status = g_test_run ();
  hm_test_remove_dir (tmp_dir);
  return status;
}
