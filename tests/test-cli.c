/* test-cli.c — hmtrace on bad input: programs that cannot run, outputs that
 * cannot be written, files that are not traces, traces cut short, from a
 * newer format, or with corrupt bytes.
 *
 * The contract: bad input gives a non-zero exit and one clear line on stderr;
 * a trace cut after its header reads up to the cut, says "truncated": true and
 * exits 0; nothing crashes or hangs.
 */
#include "hm-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* core/hm-trace-format.h: a 64-byte header, the major version at bytes 8..9. */
#define TRACE_HEADER_SIZE 64
#define TRACE_MAJOR_OFFSET 8

static gchar *tmp_dir;
static gchar *good_trace;          /* single.c, recorded once */
static GBytes *good_bytes;

static gchar *
tmp_path (const gchar *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* The recorded trace of single.c, or NULL (and the test failed or skipped). */
static GBytes *
good_trace_bytes (void)
{
  static gboolean tried;

  if (!hm_test_require_hmtrace ())
    return NULL;
  if (!tried)
    {
      g_autofree gchar *program = hm_test_program_path ("single");
      const gchar *argv[] = { program, NULL };
      gchar *contents = NULL;
      gsize length = 0;

      tried = TRUE;
      good_trace = tmp_path ("single.hmt");
      if (hm_test_record (good_trace, argv, 0)
          && g_file_get_contents (good_trace, &contents, &length, NULL))
        good_bytes = g_bytes_new_take (contents, length);
    }
  if (good_bytes == NULL)
    hm_test_fail ("could not record single.c to get a trace to damage");
  return good_bytes;
}

static gchar *
write_tmp_file (const gchar *name, const void *data, gsize length)
{
  gchar *path = tmp_path (name);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, (gssize) length, &error);
  g_assert_no_error (error);
  return path;
}

static void
run_report (const gchar *trace, gboolean json, HmTestRun *run)
{
  const gchar *argv[] = { hm_test_hmtrace_path (), "report", json ? "--json" : trace,
                          json ? trace : NULL, NULL };
  hm_test_spawn (argv, NULL, run);
}

/* ---- record ---- */

static void
test_record_missing_program (void)
{
  g_autofree gchar *trace = NULL;
  g_auto(HmTestRun) run = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  trace = tmp_path ("missing-program.hmt");
  const gchar *argv[] = { hm_test_hmtrace_path (), "record", "-o", trace, "--",
                          "/nonexistent/no-such-program", NULL };
  hm_test_spawn (argv, NULL, &run);
  hm_test_assert_clean_failure (&run, "no-such-program");
}

static void
test_record_not_executable (void)
{
  g_autofree gchar *script = NULL;
  g_autofree gchar *trace = NULL;
  g_auto(HmTestRun) run = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  script = write_tmp_file ("not-executable.sh", "#!/bin/sh\nexit 0\n", 17);
  g_chmod (script, 0644);
  trace = tmp_path ("not-executable.hmt");
  const gchar *argv[] = { hm_test_hmtrace_path (), "record", "-o", trace, "--", script, NULL };
  hm_test_spawn (argv, NULL, &run);
  hm_test_assert_clean_failure (&run, "not-executable.sh");
}

/* A symlink planted where the trace goes is never followed: neither by
 * hmtrace record nor by the agent given HM_TRACE, and what it points to is
 * left as it was. */
static void
test_trace_never_through_symlink (void)
{
  g_autofree gchar *target = tmp_path ("precious.txt");
  g_autofree gchar *link = tmp_path ("planted.hmt");
  g_autofree gchar *program = hm_test_program_path ("single");
  g_autofree gchar *content = NULL;
  g_auto(HmTestRun) run = { 0 };
  g_auto(HmTestRun) preloaded = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  g_assert_true (g_file_set_contents (target, "keep me\n", -1, NULL));
  g_assert_no_errno (symlink (target, link));

  const gchar *argv[] = { hm_test_hmtrace_path (), "record", "-o", link, "--", program, NULL };
  hm_test_spawn (argv, NULL, &run);
  hm_test_assert_clean_failure (&run, link);

  g_autofree gchar *preload = g_strdup_printf ("LD_PRELOAD=%s", g_getenv ("HM_AGENT_PATH"));
  g_autofree gchar *trace = g_strdup_printf ("HM_TRACE=%s", link);
  const gchar *env[] = { preload, trace, NULL };
  const gchar *plain[] = { program, NULL };
  hm_test_spawn (plain, env, &preloaded);
  g_assert_true (WIFEXITED (preloaded.exit_status) && WEXITSTATUS (preloaded.exit_status) == 0);
  g_assert_nonnull (strstr (preloaded.stderr_text, "symbolic link"));

  g_assert_true (g_file_get_contents (target, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "keep me\n");
}

/* Without -o the trace is hmtrace.PROGRAM.PID.hmt in the current directory,
 * PID the program's own (the file is made before the program starts, under
 * a name of hmtrace's, and renamed once the pid is known): one file, whole,
 * and nothing else left behind. */
static void
test_record_default_name (void)
{
  g_autofree gchar *dir = NULL, *program = NULL, *out = NULL, *err = NULL, *expected = NULL;
  g_autoptr(GError) error = NULL;
  gint status;

  if (!hm_test_require_hmtrace ())
    return;
  dir = hm_test_make_tmp_dir ();
  program = hm_test_program_path ("exit3");
  const gchar *argv[] = { hm_test_hmtrace_path (), "record", "-q", "--", program, NULL };
  g_assert_true (g_spawn_sync (dir, (gchar **) argv, NULL, G_SPAWN_STDIN_FROM_DEV_NULL, NULL,
                               NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 3);

  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const gchar *name, *found = NULL;
  guint n = 0;
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      n++;
      found = name;
    }
  g_assert_cmpuint (n, ==, 1);
  g_autofree gchar *path = g_build_filename (dir, found, NULL);
  g_autoptr(json_t) report = hm_test_report_json (path);
  g_assert_nonnull (report);
  expected = g_strdup_printf ("hmtrace.exit3.%" G_GUINT64_FORMAT ".hmt",
                              hm_test_json_uint (report, "pid"));
  g_assert_cmpstr (found, ==, expected);
  hm_test_remove_dir (dir);
}

static void
test_record_unwritable_output (void)
{
  g_auto(HmTestRun) run = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  const gchar *argv[] = { hm_test_hmtrace_path (), "record", "-o", "/nonexistent-dir/x.hmt",
                          "--", "/bin/true", NULL };
  hm_test_spawn (argv, NULL, &run);
  hm_test_assert_clean_failure (&run, "/nonexistent-dir/x.hmt");
}

/* LD_PRELOAD cannot reach a statically linked program: hmtrace must say so
 * rather than record an empty trace. */
static void
test_record_static_program (gconstpointer data)
{
  const gchar *name = data;
  g_autofree gchar *program = NULL;
  g_autofree gchar *trace = NULL;
  g_auto(HmTestRun) run = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  program = hm_test_program_path (name);
  if (!g_file_test (program, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("this toolchain cannot link that kind of static program");
      return;
    }
  trace = tmp_path ("static.hmt");
  const gchar *argv[] = { hm_test_hmtrace_path (), "record", "-o", trace, "--", program, NULL };
  hm_test_spawn (argv, NULL, &run);
  hm_test_assert_clean_failure (&run, "static");
}

/* Usage errors may print the usage, so only the exit status is checked. */
static void
test_record_no_program (void)
{
  g_autofree gchar *trace = NULL;
  g_auto(HmTestRun) run = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  trace = tmp_path ("no-program.hmt");
  const gchar *argv[] = { hm_test_hmtrace_path (), "record", "-o", trace, NULL };
  hm_test_spawn (argv, NULL, &run);
  g_assert_true (WIFEXITED (run.exit_status));
  g_assert_cmpint (WEXITSTATUS (run.exit_status), !=, 0);
  g_assert_cmpstr (g_strstrip (run.stderr_text), !=, "");
}

/* ---- the front: hmtrace runs record with the C library alone ---- */

/* What the recorded program waits for is hmtrace's own start: the front
 * must not pull in GLib, elfutils or jansson again (core/hmtrace.c). */
static void
test_front_needs_only_libc (void)
{
  g_auto(HmTestRun) run = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  const gchar *argv[] = { "readelf", "--dynamic", hm_test_hmtrace_path (), NULL };
  hm_test_spawn (argv, NULL, &run);
  if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != 0)
    {
      g_test_skip ("readelf cannot read hmtrace");
      return;
    }
  g_auto(GStrv) lines = g_strsplit (run.stdout_text, "\n", -1);
  guint needed = 0;
  for (gchar **l = lines; *l != NULL; l++)
    if (strstr (*l, "(NEEDED)") != NULL)
      {
        needed++;
        if (strstr (*l, "[libc.so") == NULL)
          hm_test_fail ("hmtrace needs more than the C library: %s", g_strstrip (*l));
      }
  g_assert_cmpuint (needed, ==, 1);
}

/* The program's arguments are its own, options or not, with or without
 * "--"; ours go before the program's name, in either form. */
static void
test_front_arguments (void)
{
  g_autofree gchar *echo = g_find_program_in_path ("echo");
  g_autofree gchar *trace = tmp_path ("echo.hmt");
  g_autofree gchar *output = g_strdup_printf ("--output=%s", trace);

  if (!hm_test_require_hmtrace ())
    return;
  if (echo == NULL)
    {
      g_test_skip ("no echo in PATH");
      return;
    }
  const gchar *with_dashes[] = { hm_test_hmtrace_path (), "record", "-q", output, "--", echo,
                                 "-o", "x", "--no-lifetime", NULL };
  const gchar *without[] = { hm_test_hmtrace_path (), "record", "-q", "-o", trace, "echo",
                             "--sample-bytes", "1", "--", "y", NULL };
  const gchar *const *cases[] = { with_dashes, without };
  const gchar *expected[] = { "-o x --no-lifetime\n", "--sample-bytes 1 -- y\n" };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(HmTestRun) run = { 0 };
      g_remove (trace);
      hm_test_spawn (cases[i], NULL, &run);
      g_assert_true (WIFEXITED (run.exit_status));
      g_assert_cmpint (WEXITSTATUS (run.exit_status), ==, 0);
      g_assert_cmpstr (run.stdout_text, ==, expected[i]);
      g_assert_true (g_file_test (trace, G_FILE_TEST_IS_REGULAR));
    }
}

/* A command the front hands on, with hmtrace-tool neither beside it nor
 * installed: one line naming what is missing, exit 127. */
static void
test_front_without_tool (void)
{
  g_auto(HmTestRun) run = { 0 };
  g_autofree gchar *copy = tmp_path ("hmtrace");
  g_autofree gchar *contents = NULL;
  gsize length = 0;

  if (!hm_test_require_hmtrace ())
    return;
  g_assert_true (g_file_get_contents (hm_test_hmtrace_path (), &contents, &length, NULL));
  g_assert_true (g_file_set_contents (copy, contents, (gssize) length, NULL));
  g_assert_cmpint (g_chmod (copy, 0755), ==, 0);
  const gchar *argv[] = { copy, "report", "whatever.hmt", NULL };
  hm_test_spawn (argv, NULL, &run);
  if (g_file_test (HM_TEST_TOOL_INSTALLED_PATH, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("hmtrace-tool is installed: the copy runs it");
      return;
    }
  g_assert_true (WIFEXITED (run.exit_status));
  g_assert_cmpint (WEXITSTATUS (run.exit_status), ==, 127);
  g_assert_nonnull (strstr (run.stderr_text, "hmtrace-tool"));
  g_assert_nonnull (strstr (run.stderr_text, "report"));
  /* record needs no tool */
  g_auto(HmTestRun) help = { 0 };
  const gchar *help_argv[] = { copy, "record", "--help", NULL };
  hm_test_spawn (help_argv, NULL, &help);
  g_assert_true (WIFEXITED (help.exit_status));
  g_assert_cmpint (WEXITSTATUS (help.exit_status), ==, 0);
  g_assert_nonnull (strstr (help.stdout_text, "--sample-bytes"));
}

/* ---- report on files that are not (whole) traces ---- */

static void
test_report_missing_file (void)
{
  g_autofree gchar *path = NULL;
  g_auto(HmTestRun) run = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  path = tmp_path ("no-such-trace.hmt");
  run_report (path, TRUE, &run);
  hm_test_assert_clean_failure (&run, "no-such-trace.hmt");
}

static void
test_report_empty_file (void)
{
  g_autofree gchar *path = NULL;
  g_auto(HmTestRun) run = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  path = write_tmp_file ("empty.hmt", "", 0);
  run_report (path, TRUE, &run);
  hm_test_assert_clean_failure (&run, "empty.hmt");
}

static void
test_report_not_a_trace (void)
{
  g_autofree gchar *path = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_auto(HmTestRun) run = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  for (int i = 0; i < 20; i++)
    g_string_append (text, "This is a text file, not a hybridmem trace.\n");
  path = write_tmp_file ("not-a-trace.txt", text->str, text->len);
  run_report (path, TRUE, &run);
  hm_test_assert_clean_failure (&run, "not-a-trace.txt");
}

static void
test_report_directory (void)
{
  g_auto(HmTestRun) run = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  run_report (tmp_dir, TRUE, &run);
  hm_test_assert_clean_failure (&run, NULL);
}

static void
test_report_newer_major_version (void)
{
  GBytes *bytes = good_trace_bytes ();
  g_autofree gchar *path = NULL;
  g_autofree guint8 *data = NULL;
  gsize length;
  g_auto(HmTestRun) run = { 0 };

  if (bytes == NULL)
    return;
  data = g_memdup2 (g_bytes_get_data (bytes, &length), g_bytes_get_size (bytes));
  g_assert_cmpuint (length, >=, TRACE_HEADER_SIZE);
  data[TRACE_MAJOR_OFFSET] = 99;
  data[TRACE_MAJOR_OFFSET + 1] = 0;
  path = write_tmp_file ("version-99.hmt", data, length);
  run_report (path, TRUE, &run);
  hm_test_assert_clean_failure (&run, "version");
}

/* Cut inside the header there is nothing to read: an error, not a crash. */
static void
test_report_cut_inside_header (void)
{
  static const gsize cuts[] = { 1, 8, 10, TRACE_HEADER_SIZE / 2, TRACE_HEADER_SIZE - 1 };
  GBytes *bytes = good_trace_bytes ();

  if (bytes == NULL)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      g_autofree gchar *name = g_strdup_printf ("cut-%zu.hmt", cuts[i]);
      g_autofree gchar *path = write_tmp_file (name, g_bytes_get_data (bytes, NULL), cuts[i]);
      g_auto(HmTestRun) run = { 0 };

      hm_test_message ("cut at byte %zu", cuts[i]);
      run_report (path, TRUE, &run);
      hm_test_assert_clean_failure (&run, NULL);
    }
}

static json_t *
report_of_prefix (GBytes *bytes, gsize length)
{
  g_autofree gchar *name = g_strdup_printf ("cut-%zu.hmt", length);
  g_autofree gchar *path = write_tmp_file (name, g_bytes_get_data (bytes, NULL), length);
  hm_test_message ("cut at byte %zu of %zu", length, g_bytes_get_size (bytes));
  return hm_test_report_json (path);
}

/* Cut after the header: every whole chunk before the cut is read, the report
 * says truncated, and a longer prefix never shows fewer events. */
static void
test_report_cut_after_header (void)
{
  GBytes *bytes = good_trace_bytes ();
  g_autoptr(GArray) cuts = g_array_new (FALSE, FALSE, sizeof (gsize));
  guint64 last_allocations = 0, last_frees = 0;
  json_t *full;
  gsize length;

  if (bytes == NULL)
    return;
  length = g_bytes_get_size (bytes);
  full = hm_test_report_json (good_trace);
  if (full == NULL)
    return;
  g_assert_true (json_is_false (json_object_get (full, "truncated")));

  const gsize candidates[] = {
    TRACE_HEADER_SIZE, TRACE_HEADER_SIZE + 1, TRACE_HEADER_SIZE + 24,
    length / 4, length / 2, 3 * length / 4, length - 2, length - 1,
  };
  for (gsize i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (candidates[i] >= TRACE_HEADER_SIZE && candidates[i] < length
        && (cuts->len == 0 || candidates[i] > g_array_index (cuts, gsize, cuts->len - 1)))
      g_array_append_val (cuts, candidates[i]);

  for (guint i = 0; i < cuts->len; i++)
    {
      json_t *report = report_of_prefix (bytes, g_array_index (cuts, gsize, i));
      guint64 allocations, frees;

      if (report == NULL)
        continue;
      if (!json_is_true (json_object_get (report, "truncated")))
        hm_test_fail ("cut at byte %zu of %zu: \"truncated\" is not true",
                      g_array_index (cuts, gsize, i), length);
      allocations = hm_test_json_uint (report, "allocations");
      frees = hm_test_json_uint (report, "frees");
      g_assert_cmpuint (allocations, >=, last_allocations);
      g_assert_cmpuint (frees, >=, last_frees);
      g_assert_cmpuint (allocations, <=, hm_test_json_uint (full, "allocations"));
      g_assert_cmpuint (frees, <=, hm_test_json_uint (full, "frees"));
      last_allocations = allocations;
      last_frees = frees;
      json_decref (report);
    }
  json_decref (full);
}

/* Bytes overwritten anywhere after the magic: a report or one error line,
 * never a crash or a hang (each run is limited to 20 s by timeout(1)). */
static void
test_report_corrupt_bytes (void)
{
  GBytes *bytes = good_trace_bytes ();
  g_autofree gchar *timeout = g_find_program_in_path ("timeout");
  guint32 state = 7;
  gsize length;
  guint n_rejected = 0;

  if (bytes == NULL)
    return;
  length = g_bytes_get_size (bytes);
  for (int trial = 0; trial < 48; trial++)
    {
      g_autofree guint8 *data = g_memdup2 (g_bytes_get_data (bytes, NULL), length);
      g_autofree gchar *path = NULL;
      g_auto(HmTestRun) run = { 0 };
      gsize offsets[4];

      /* Four bytes per trial, at deterministic pseudo-random places. */
      for (int k = 0; k < 4; k++)
        {
          state = state * 1664525u + 1013904223u;
          offsets[k] = 8 + (state >> 8) % (length - 8);
          state = state * 1664525u + 1013904223u;
          data[offsets[k]] ^= (guint8) (1 + (state >> 24) % 255);
        }
      path = write_tmp_file ("corrupt.hmt", data, length);
      const gchar *argv[] = { timeout ? timeout : "timeout", "20", hm_test_hmtrace_path (),
                              "report", "--json", path, NULL };
      hm_test_spawn (argv, NULL, &run);

      if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) == 124
          || WEXITSTATUS (run.exit_status) >= 125)
        {
          g_autofree gchar *kept = g_strdup_printf ("crash-%d.hmt", trial);
          g_autofree gchar *kept_path = write_tmp_file (kept, data, length);
          hm_test_fail ("trial %d (bytes %zu, %zu, %zu, %zu changed): hmtrace report "
                        "crashed or hung (wait status 0x%x; the input is %s, kept "
                        "with HM_TEST_KEEP_FILES=1); stderr: %s", trial,
                        offsets[0], offsets[1], offsets[2], offsets[3],
                        run.exit_status, kept_path, run.stderr_text);
          continue;
        }
      if (WEXITSTATUS (run.exit_status) != 0)
        {
          n_rejected++;
          hm_test_assert_clean_failure (&run, NULL);
          continue;
        }
      json_t *report = json_loads (run.stdout_text, 0, NULL);
      if (report == NULL)
        hm_test_fail ("trial %d: exit 0 but invalid JSON", trial);
      json_decref (report);
    }
  hm_test_message ("%u of 48 corrupt traces rejected, the rest read", n_rejected);
}

static void
test_report_text (void)
{
  GBytes *bytes = good_trace_bytes ();
  g_auto(HmTestRun) run = { 0 };

  if (bytes == NULL)
    return;
  run_report (good_trace, FALSE, &run);
  g_assert_true (WIFEXITED (run.exit_status));
  g_assert_cmpint (WEXITSTATUS (run.exit_status), ==, 0);
  g_assert_cmpuint (strlen (run.stdout_text), >, 0);
  /* The text report names the program's allocation functions too. */
  g_assert_nonnull (strstr (run.stdout_text, "make_small_blocks"));
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();
  tmp_dir = hm_test_make_tmp_dir ();

  g_test_add_func ("/cli/record/missing-program", test_record_missing_program);
  g_test_add_func ("/cli/record/not-executable", test_record_not_executable);
  g_test_add_func ("/cli/record/unwritable-output", test_record_unwritable_output);
  g_test_add_func ("/cli/record/default-name", test_record_default_name);
  g_test_add_func ("/cli/record/never-through-symlink", test_trace_never_through_symlink);
  g_test_add_func ("/cli/record/no-program", test_record_no_program);
  g_test_add_func ("/cli/front/needs-only-libc", test_front_needs_only_libc);
  g_test_add_func ("/cli/front/arguments", test_front_arguments);
  g_test_add_func ("/cli/front/without-tool", test_front_without_tool);
  g_test_add_data_func ("/cli/record/static-program", "static-exit3",
                        test_record_static_program);
  g_test_add_data_func ("/cli/record/static-pie-program", "static-pie-exit3",
                        test_record_static_program);
  g_test_add_func ("/cli/report/missing-file", test_report_missing_file);
  g_test_add_func ("/cli/report/empty-file", test_report_empty_file);
  g_test_add_func ("/cli/report/not-a-trace", test_report_not_a_trace);
  g_test_add_func ("/cli/report/directory", test_report_directory);
  g_test_add_func ("/cli/report/text", test_report_text);
  g_test_add_func ("/cli/report/newer-major-version", test_report_newer_major_version);
  g_test_add_func ("/cli/report/cut-inside-header", test_report_cut_inside_header);
  g_test_add_func ("/cli/report/cut-after-header", test_report_cut_after_header);
  g_test_add_func ("/cli/report/corrupt-bytes", test_report_corrupt_bytes);

  status = g_test_run ();
  g_clear_pointer (&good_bytes, g_bytes_unref);
  g_clear_pointer (&good_trace, g_free);
  if (g_getenv ("HM_TEST_KEEP_FILES") == NULL)
    hm_test_remove_dir (tmp_dir);
  else
    g_printerr ("# files kept in %s\n", tmp_dir);
  g_free (tmp_dir);
  return status;
}
