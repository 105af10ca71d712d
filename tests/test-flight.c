/* test-flight.c — the flight recorder (HM_FLIGHT_RECORDER): dumps by signal,
 * by `hmtrace dump PID` and at a crash hold exactly the blocks live at the
 * window's start and only the window's events; memory stays bounded; an
 * unwritable dump costs a message, not the program.
 *
 * programs/flight-target.c says what it holds: 100 blocks of hold_early
 * (made, with churn_early's 1000 freed blocks, long before the window), 10
 * of them freed in the window, 50 blocks of window_alloc made in it.  It
 * prints the byte counts it allocated; the dump must agree with them.
 * programs/flight-manager.c does the same for a region, a pool and the GC
 * heap made before the window.
 */
#include <errno.h>
#include <gio/gio.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hm-attach.h"
#include "hm-test-util.h"

#define WINDOW_S "3"
#define WAIT_MS "5500"     /* the early blocks are 2.5 s older than the window by then,
                              * and the window's events 3 s from falling out */

typedef struct {
  GSubprocess *process;
  GDataInputStream *out;
  gchar *dir;
  gchar *base;             /* HM_FLIGHT_OUTPUT */
  guint64 early_n, early_bytes, window_n, window_bytes, freed_n;
} Target;

static GSubprocessLauncher *
launcher_with (const gchar *const *extra_env)
{
  GSubprocessLauncher *l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
                                                      | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                      | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (l, "LD_PRELOAD", g_getenv ("HM_AGENT_PATH"), TRUE);
  for (gsize i = 0; extra_env != NULL && extra_env[i] != NULL; i++)
    {
      const gchar *eq = strchr (extra_env[i], '=');
      g_autofree gchar *name = g_strndup (extra_env[i], eq - extra_env[i]);
      g_subprocess_launcher_setenv (l, name, eq + 1, TRUE);
    }
  return l;
}

/* Starts flight-target with the recorder on and reads its lines up to
 * "ready": it is in its window then. */
static gboolean
target_start (Target *t, const gchar *end, const gchar *output_base)
{
  g_autofree gchar *path = hm_test_program_path ("flight-target");
  g_autoptr(GError) error = NULL;

  memset (t, 0, sizeof *t);
  t->dir = hm_test_make_tmp_dir ();
  t->base = output_base ? g_strdup (output_base) : g_build_filename (t->dir, "t.hmt", NULL);
  g_autofree gchar *output_env = g_strdup_printf ("HM_FLIGHT_OUTPUT=%s", t->base);
  const gchar *env[] = { "HM_FLIGHT_RECORDER=" WINDOW_S, output_env, NULL };
  g_autoptr(GSubprocessLauncher) l = launcher_with (env);
  t->process = g_subprocess_launcher_spawn (l, &error, path, WAIT_MS, end, NULL);
  if (t->process == NULL)
    g_error ("could not run %s: %s", path, error->message);
  t->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (t->process));
  for (;;)
    {
      g_autofree gchar *line = g_data_input_stream_read_line (t->out, NULL, NULL, NULL);
      if (line == NULL)
        {
          hm_test_fail ("flight-target ended before it was ready");
          return FALSE;
        }
      if (sscanf (line, "early %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, &t->early_n,
                  &t->early_bytes) == 2)
        continue;
      if (sscanf (line, "window %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
                  &t->window_n, &t->window_bytes, &t->freed_n) == 3)
        continue;
      if (strcmp (line, "ready") == 0)
        break;
    }
  g_assert_cmpuint (t->early_n, >, 0);
  g_assert_cmpuint (t->window_n, >, 0);
  return TRUE;
}

static gchar *
read_all (GInputStream *in)
{
  GString *text = g_string_new (NULL);
  char buf[4096];
  gssize n;
  while (in != NULL && (n = g_input_stream_read (in, buf, sizeof buf, NULL, NULL)) > 0)
    g_string_append_len (text, buf, n);
  return g_string_free (text, FALSE);
}

/* Closes its stdin (it exits) and checks it ended as expected; returns its
 * stderr. */
static gchar *
target_finish (Target *t, int expected_signal)
{
  g_autofree gchar *err_text = NULL;

  if (expected_signal == 0)
    g_output_stream_close (g_subprocess_get_stdin_pipe (t->process), NULL, NULL);
  g_free (read_all (G_INPUT_STREAM (t->out)));
  err_text = read_all (g_subprocess_get_stderr_pipe (t->process));
  g_subprocess_wait (t->process, NULL, NULL);
  if (expected_signal == 0)
    {
      if (!g_subprocess_get_if_exited (t->process) || g_subprocess_get_exit_status (t->process) != 0)
        hm_test_fail ("flight-target did not exit with 0 (stderr: %s)", err_text);
    }
  else if (!g_subprocess_get_if_signaled (t->process)
           || g_subprocess_get_term_sig (t->process) != expected_signal)
    hm_test_fail ("flight-target was not killed by signal %d (stderr: %s)", expected_signal,
                  err_text);
  return g_steal_pointer (&err_text);
}

static void
target_clear (Target *t)
{
  g_clear_object (&t->out);
  g_clear_object (&t->process);
  if (t->dir != NULL && g_getenv ("HM_TEST_KEEP_FILES") == NULL)
    hm_test_remove_dir (t->dir);
  g_clear_pointer (&t->dir, g_free);
  g_clear_pointer (&t->base, g_free);
}

static const gchar *
target_pid (Target *t)
{
  return g_subprocess_get_identifier (t->process);
}

/* Waits until path holds a whole trace (an END read back by hmtrace
 * report), for a dump the writer thread makes after a signal. */
static json_t *
wait_for_dump (const gchar *path, const gchar *reason)
{
  for (int i = 0; i < 300; i++)
    {
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        {
          const gchar *argv[] = { hm_test_hmtrace_path (), "report", "--json", path, NULL };
          g_auto(HmTestRun) run = { 0 };
          hm_test_spawn (argv, NULL, &run);
          if (WIFEXITED (run.exit_status) && WEXITSTATUS (run.exit_status) == 0
              && strstr (run.stdout_text, reason) != NULL)
            return hm_test_report_json (path);
        }
      g_usleep (100000);
    }
  hm_test_fail ("no whole dump at %s after 30 s", path);
  return NULL;
}

/* What every dump of flight-target must hold. */
static void
check_window (json_t *report, Target *t, const gchar *expected_reason, const gchar *expected_dump)
{
  HmSiteSums early = { 0 }, window = { 0 }, churn = { 0 };
  guint64 freed_bytes = 0;

  for (guint64 i = 0; i < t->freed_n; i++)
    freed_bytes += 1000 + i;    /* flight-target.c frees the first ones */
  hm_test_sum_sites (report, "hold_early", NULL, 0, &early);
  hm_test_sum_sites (report, "window_alloc", NULL, 0, &window);
  hm_test_sum_sites (report, "churn_early", NULL, 0, &churn);
  json_t *exit_info = json_object_get (report, "exit");
  const char *reason = json_string_value (json_object_get (exit_info, "reason"));

  if (g_strcmp0 (reason, expected_reason) != 0)
    hm_test_fail ("the dump ended with \"%s\", not \"%s\"", reason ? reason : "(none)",
                  expected_reason);
  /* the blocks live at the window's start, synthesized: exactly those */
  if (early.allocations != t->early_n || early.bytes != t->early_bytes
      || early.leaked_blocks != t->early_n - t->freed_n
      || early.leaked_bytes != t->early_bytes - freed_bytes)
    {
      g_autofree gchar *sites = hm_test_describe_sites (report, "hold_early");
      hm_test_fail ("hold_early in the dump: %" G_GUINT64_FORMAT " blocks, %" G_GUINT64_FORMAT
                    " bytes, %" G_GUINT64_FORMAT " still live; the program held %"
                    G_GUINT64_FORMAT " blocks of %" G_GUINT64_FORMAT " bytes and freed %"
                    G_GUINT64_FORMAT "\n%s", early.allocations, early.bytes, early.leaked_blocks,
                    t->early_n, t->early_bytes, t->freed_n, sites);
    }
  if (window.allocations != t->window_n || window.bytes != t->window_bytes
      || window.leaked_blocks != t->window_n)
    hm_test_fail ("window_alloc in the dump: %" G_GUINT64_FORMAT " blocks, %" G_GUINT64_FORMAT
                  " bytes; the program made %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT,
                  window.allocations, window.bytes, t->window_n, t->window_bytes);
  /* only the window's events: the churn happened long before it */
  if (churn.allocations != 0)
    hm_test_fail ("churn_early, freed before the window, is in the dump (%" G_GUINT64_FORMAT
                  " allocations)", churn.allocations);
  /* the report says it is a dump, and what asked for it */
  json_t *flight = json_object_get (report, "flight_recorder");
  const char *window_text = json_string_value (json_object_get (flight, "window"));
  const char *dump_text = json_string_value (json_object_get (flight, "dump"));
  if (window_text == NULL || strstr (window_text, "live at its start") == NULL
      || g_strcmp0 (dump_text, expected_dump) != 0)
    hm_test_fail ("the report's flight_recorder: window \"%s\", dump \"%s\" (expected \"%s\")",
                  window_text ? window_text : "(none)", dump_text ? dump_text : "(none)",
                  expected_dump);
  guint64 duration = hm_test_json_uint (report, "duration_ns");
  if (duration > 4000000000u)
    hm_test_fail ("the dump spans %.2f s, longer than its 3 s window and a round",
                  duration / 1e9);
}

/* SIGUSR2 to a started target: its first dump, read and checked against
 * what the target says it holds (NULL when it did not come). */
static json_t *
dump_by_signal (Target *t)
{
  kill (atoi (target_pid (t)), SIGUSR2);
  g_autofree gchar *dump = g_build_filename (t->dir, "t.flight-1.hmt", NULL);
  json_t *report = wait_for_dump (dump, "\"dump\"");
  if (report != NULL)
    check_window (report, t, "dump", "signal");
  return report;
}

static void
test_dump_by_signal (void)
{
  Target t;
  if (!hm_test_require_hmtrace () || !target_start (&t, "wait", NULL))
    return;
  g_autoptr(json_t) report = dump_by_signal (&t);
  g_autofree gchar *err = target_finish (&t, 0);
  if (strstr (err, "flight recorder: the last 3 s written to") == NULL)
    hm_test_fail ("the signal's dump was not announced on stderr: %s", err);
  target_clear (&t);
}

/* The recorder over samples (HM_SAMPLE_BYTES beside HM_FLIGHT_RECORDER):
 * its dump is a sampled trace.  With a mean of one byte every block is
 * sampled and weighs one, so the window and the blocks live at its start
 * must come out exactly as without sampling. */
static void
test_sampled (void)
{
  Target t;
  if (!hm_test_require_hmtrace ())
    return;
  g_setenv ("HM_SAMPLE_BYTES", "1", TRUE);
  gboolean started = target_start (&t, "wait", NULL);
  g_unsetenv ("HM_SAMPLE_BYTES");
  if (!started)
    return;
  g_autoptr(json_t) report = dump_by_signal (&t);
  if (report != NULL)
    {
      json_t *sampled = json_object_get (report, "sampled");
      if (!json_is_object (sampled) || hm_test_json_uint (sampled, "sample_bytes") != 1)
        hm_test_fail ("the sampled recorder's dump does not say it is sampled at 1 byte");
    }
  g_free (target_finish (&t, 0));
  target_clear (&t);
}

/* An attach to a flight recorder gets no session (the process is recorded
 * already): hmtrace attach says to dump it instead, with or without
 * --sample-bytes, removes the file it made and leaves one that was there
 * as it was; the program runs on. */
static void
test_attach_says_dump (void)
{
  Target t;
  if (!hm_test_require_hmtrace () || !target_start (&t, "wait", NULL))
    return;
  g_autofree gchar *output = g_build_filename (t.dir, "attached.hmt", NULL);
  for (int sampled = 0; sampled <= 1; sampled++)
    {
      const gchar *plain[] = { hm_test_hmtrace_path (), "attach", "--duration", "1", "-o", output,
                               target_pid (&t), NULL };
      const gchar *sample[] = { hm_test_hmtrace_path (), "attach", "--sample-bytes", "4K",
                                "--duration", "1", "-o", output, target_pid (&t), NULL };
      g_auto(HmTestRun) run = { 0 };
      if (sampled)
        g_assert_true (g_file_set_contents (output, "the user's\n", -1, NULL));
      hm_test_spawn (sampled ? sample : plain, NULL, &run);
      hm_test_assert_clean_failure (&run, "flight recorder");
      if (strstr (run.stderr_text, "hmtrace dump") == NULL)
        hm_test_fail ("hmtrace attach did not point to hmtrace dump: %s", run.stderr_text);
      g_autofree gchar *left = NULL;
      gboolean there = g_file_get_contents (output, &left, NULL, NULL);
      if (!sampled && there)
        hm_test_fail ("hmtrace attach left %s behind", output);
      if (sampled && g_strcmp0 (left, "the user's\n") != 0)
        hm_test_fail ("hmtrace attach changed the file that was at %s: \"%s\"", output,
                      there ? left : "(gone)");
    }
  unlink (output);

  /* The attach's opening line (hm_attach_begin) gets the empty stream at
   * once; a client that says nothing waits 2 s for it. */
  g_autoptr(GError) error = NULL;
  int fd = hm_attach_connect (atoi (target_pid (&t)), &error);
  g_assert_no_error (error);
  g_assert_true (hm_attach_begin (fd, 0, &error));
  struct pollfd p = { .fd = fd, .events = POLLIN };
  int ready = poll (&p, 1, 1000);
  char byte;
  if (ready != 1 || recv (fd, &byte, 1, 0) != 0)
    hm_test_fail ("the flight recorder did not close an attach's session at once "
                  "(poll %d, errno %d)", ready, errno);
  close (fd);
  g_free (target_finish (&t, 0));
  target_clear (&t);
}

static void
test_dump_by_request (void)
{
  Target t;
  if (!hm_test_require_hmtrace () || !target_start (&t, "wait", NULL))
    return;
  g_autofree gchar *dump = g_build_filename (t.dir, "asked.hmt", NULL);
  const gchar *argv[] = { hm_test_hmtrace_path (), "dump", "-o", dump, target_pid (&t), NULL };
  g_auto(HmTestRun) run = { 0 };
  hm_test_spawn (argv, NULL, &run);
  if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != 0
      || strstr (run.stdout_text, dump) == NULL)
    hm_test_fail ("hmtrace dump: status %d, stdout %s, stderr %s", run.exit_status,
                  run.stdout_text, run.stderr_text);
  else
    {
      /* written before it answered: whole at once */
      g_autoptr(json_t) report = hm_test_report_json (dump);
      if (report != NULL)
        check_window (report, &t, "dump", "request");
    }
  /* a second one, to the default name, and the recorder's account */
  const gchar *argv2[] = { hm_test_hmtrace_path (), "dump", target_pid (&t), NULL };
  g_auto(HmTestRun) run2 = { 0 };
  hm_test_spawn (argv2, NULL, &run2);
  g_autofree gchar *default_name = g_build_filename (t.dir, "t.flight-1.hmt", NULL);
  if (!g_file_test (default_name, G_FILE_TEST_IS_REGULAR))
    hm_test_fail ("hmtrace dump without -o did not write %s: %s", default_name,
                  run2.stderr_text);
  const gchar *argv3[] = { hm_test_hmtrace_path (), "dump", "--info", target_pid (&t), NULL };
  g_auto(HmTestRun) run3 = { 0 };
  hm_test_spawn (argv3, NULL, &run3);
  if (strstr (run3.stdout_text, "dumps=2") == NULL || strstr (run3.stdout_text, "held_bytes=") == NULL)
    hm_test_fail ("hmtrace dump --info: %s", run3.stdout_text);
  g_autofree gchar *err = target_finish (&t, 0);
  if (err[0] != '\0')
    hm_test_fail ("dumps on request printed something in the program's stderr: %s", err);
  target_clear (&t);
}

static void
test_dump_at_crash (gconstpointer data)
{
  const gchar *how = data;
  int sig = strcmp (how, "segv") == 0 ? SIGSEGV : SIGABRT;
  g_autofree gchar *expected_dump = g_strdup_printf ("crash, signal %d", sig);
  Target t;
  if (!hm_test_require_hmtrace () || !target_start (&t, how, NULL))
    return;
  g_autofree gchar *err = target_finish (&t, sig);
  g_autofree gchar *dump = g_build_filename (t.dir, "t.flight-1.hmt", NULL);
  if (!g_file_test (dump, G_FILE_TEST_IS_REGULAR))
    hm_test_fail ("no dump at %s after the crash; stderr: %s", dump, err);
  else
    {
      g_autoptr(json_t) report = hm_test_report_json (dump);
      if (report != NULL)
        {
          check_window (report, &t, "signal", expected_dump);
          json_t *status = json_object_get (json_object_get (report, "exit"), "status");
          if (json_integer_value (status) != sig)
            hm_test_fail ("the dump's END says signal %d, not %d",
                          (int) json_integer_value (status), sig);
        }
    }
  target_clear (&t);
}

static void
test_unwritable (void)
{
  Target t;
  if (!hm_test_require_hmtrace ()
      || !target_start (&t, "wait", "/nonexistent-hybridmem-dir/t.hmt"))
    return;
  kill (atoi (target_pid (&t)), SIGUSR2);
  const gchar *argv[] = { hm_test_hmtrace_path (), "dump", "-o", "/proc/hybridmem-dump.hmt",
                          target_pid (&t), NULL };
  g_auto(HmTestRun) run = { 0 };
  hm_test_spawn (argv, NULL, &run);
  if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != 1
      || strstr (run.stderr_text, "cannot write the dump to /proc/hybridmem-dump.hmt") == NULL)
    hm_test_fail ("hmtrace dump to /proc: status %d, stderr %s", run.exit_status,
                  run.stderr_text);
  g_usleep (500000);
  g_autofree gchar *err = target_finish (&t, 0);
  if (strstr (err, "cannot write the dump to /nonexistent-hybridmem-dir/t.flight-1.hmt "
                   "(no such directory); the program goes on") == NULL)
    hm_test_fail ("the signal's failed dump did not say why: %s", err);
  target_clear (&t);
}

/* The manager's objects made before the window: a dump lists the region
 * and the pool with what they hold, the GC heap's live objects, and not
 * the region and pool freed before it.  flight-manager prints what it
 * holds; the dump must agree. */
static json_t *
object_named (json_t *array, const gchar *name)
{
  for (gsize i = 0; i < json_array_size (array); i++)
    if (g_strcmp0 (json_string_value (json_object_get (json_array_get (array, i), "name")),
                   name) == 0)
      return json_array_get (array, i);
  return NULL;
}

static void
test_manager_objects (gconstpointer data)
{
  gboolean by_request = GPOINTER_TO_INT (data);
  guint64 region_n = 0, region_bytes = 0, object_size = 0, capacity = 0, out = 0;
  guint64 gc_n = 0, gc_bytes = 0;
  g_autofree gchar *path = hm_test_program_path ("flight-manager");
  g_autofree gchar *dir = hm_test_make_tmp_dir ();
  g_autofree gchar *base = g_build_filename (dir, "m.hmt", NULL);
  g_autofree gchar *output_env = g_strdup_printf ("HM_FLIGHT_OUTPUT=%s", base);
  const gchar *env[] = { "HM_FLIGHT_RECORDER=" WINDOW_S, output_env, NULL };
  g_autoptr(GError) error = NULL;

  if (!hm_test_require_hmtrace ())
    return;
  g_autoptr(GSubprocessLauncher) l = launcher_with (env);
  g_autoptr(GSubprocess) p = g_subprocess_launcher_spawn (l, &error, path, WAIT_MS, NULL);
  g_assert_no_error (error);
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  for (;;)
    {
      g_autofree gchar *line = g_data_input_stream_read_line (in, NULL, NULL, NULL);
      if (line == NULL || strcmp (line, "ready") == 0)
        break;
      sscanf (line, "region frame-arena %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, &region_n,
              &region_bytes);
      sscanf (line, "pool Particle %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %"
              G_GUINT64_FORMAT, &object_size, &capacity, &out);
      sscanf (line, "gc %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, &gc_n, &gc_bytes);
    }
  g_assert_cmpuint (region_n, >, 100);
  g_assert_cmpuint (out, >, 100);

  g_autofree gchar *dump = NULL;
  g_autoptr(json_t) report = NULL;
  if (by_request)
    {
      dump = g_build_filename (dir, "asked.hmt", NULL);
      const gchar *argv[] = { hm_test_hmtrace_path (), "dump", "-o", dump,
                              g_subprocess_get_identifier (p), NULL };
      g_auto(HmTestRun) run = { 0 };
      hm_test_spawn (argv, NULL, &run);
      if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != 0)
        hm_test_fail ("hmtrace dump: status %d, stderr %s", run.exit_status, run.stderr_text);
      else
        report = hm_test_report_json (dump);
    }
  else
    {
      kill (atoi (g_subprocess_get_identifier (p)), SIGUSR2);
      dump = g_build_filename (dir, "m.flight-1.hmt", NULL);
      report = wait_for_dump (dump, "\"dump\"");
    }
  if (report != NULL)
    {
      json_t *regions = json_object_get (report, "regions");
      json_t *pools = json_object_get (report, "pools");
      json_t *r = object_named (regions, "frame-arena");
      json_t *pl = object_named (pools, "Particle");
      g_autofree gchar *regions_text = json_dumps (regions, JSON_COMPACT);
      g_autofree gchar *pools_text = json_dumps (pools, JSON_COMPACT);
      g_autofree gchar *window = g_strdup (json_string_value (json_object_get (
        json_object_get (report, "flight_recorder"), "window")));

      hm_test_message ("the program: region %" G_GUINT64_FORMAT " allocations, %"
                       G_GUINT64_FORMAT " bytes; pool %" G_GUINT64_FORMAT " out; GC %"
                       G_GUINT64_FORMAT " bytes.  The dump: %s", region_n, region_bytes, out,
                       gc_bytes, window);
      /* only what was live: nothing unnamed (an object the dump never created) */
      if (json_array_size (regions) != 1 || json_array_size (pools) != 1)
        hm_test_fail ("the dump lists other regions or pools than the live ones: %s %s",
                      regions_text, pools_text);
      if (r == NULL
          || hm_test_json_uint (r, "live_bytes") != region_bytes
          || hm_test_json_uint (r, "bytes") != region_bytes
          || hm_test_json_uint (r, "allocations") != region_n
          || json_is_true (json_object_get (r, "freed"))
          || json_array_size (json_object_get (r, "stack")) == 0)
        hm_test_fail ("frame-arena in the dump: %s; the program holds %" G_GUINT64_FORMAT
                      " allocations of %" G_GUINT64_FORMAT " bytes since its reset",
                      regions_text, region_n, region_bytes);
      if (pl == NULL
          || hm_test_json_uint (pl, "live_at_end") != out
          || hm_test_json_uint (pl, "gets") - hm_test_json_uint (pl, "returns") != out
          || hm_test_json_uint (pl, "object_size") != object_size
          || hm_test_json_uint (pl, "capacity") != capacity
          || json_array_size (json_object_get (pl, "stack")) == 0)
        hm_test_fail ("Particle in the dump: %s; the program has %" G_GUINT64_FORMAT
                      " objects of %" G_GUINT64_FORMAT " bytes out (capacity %"
                      G_GUINT64_FORMAT ")", pools_text, out, object_size, capacity);
      /* every return in the window found its get, most of them from before it */
      else if (hm_test_json_uint (pl, "returns") < 100)
        hm_test_fail ("Particle: only %" G_GUINT64_FORMAT " returns in the dump",
                      hm_test_json_uint (pl, "returns"));
      json_t *strategies = json_object_get (report, "strategies");
      guint64 region_live = hm_test_json_uint (json_object_get (strategies, "regions"), "live_bytes");
      guint64 pool_live = hm_test_json_uint (json_object_get (strategies, "pools"), "live_bytes");
      guint64 gc_live = hm_test_json_uint (json_object_get (strategies, "gc"), "live_bytes");
      if (region_live != region_bytes || pool_live != out * object_size || gc_live != gc_bytes)
        hm_test_fail ("live bytes by strategy in the dump: regions %" G_GUINT64_FORMAT
                      ", pools %" G_GUINT64_FORMAT ", gc %" G_GUINT64_FORMAT "; the program: %"
                      G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT,
                      region_live, pool_live, gc_live, region_bytes, out * object_size, gc_bytes);
      if (window == NULL || strstr (window, "1 regions, 1 pools") == NULL)
        hm_test_fail ("the dump's flight-recorder INFO does not count the live objects: %s",
                      window ? window : "(none)");

      /* the text report names them too */
      const gchar *argv[] = { hm_test_hmtrace_path (), "report", dump, NULL };
      g_auto(HmTestRun) run = { 0 };
      hm_test_spawn (argv, NULL, &run);
      if (run.stdout_text == NULL || strstr (run.stdout_text, "frame-arena") == NULL
          || strstr (run.stdout_text, "Particle") == NULL
          || strstr (run.stdout_text, "gone-arena") != NULL
          || strstr (run.stdout_text, "GonePool") != NULL)
        hm_test_fail ("hmtrace report of the dump: %s", run.stdout_text);
    }
  g_output_stream_close (g_subprocess_get_stdin_pipe (p), NULL, NULL);
  g_free (read_all (G_INPUT_STREAM (in)));
  g_autofree gchar *err = read_all (g_subprocess_get_stderr_pipe (p));
  g_subprocess_wait (p, NULL, NULL);
  if (!g_subprocess_get_if_exited (p) || g_subprocess_get_exit_status (p) != 0)
    hm_test_fail ("flight-manager did not exit with 0 (stderr: %s)", err);
  /* a normal exit writes no dump of its own: only the one asked for is there */
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n_files = 0;
  while (d != NULL && g_dir_read_name (d) != NULL)
    n_files++;
  if (n_files != 1)
    hm_test_fail ("%u files in %s after the program's normal exit; only its one dump was "
                  "asked for", n_files, dir);
  if (g_getenv ("HM_TEST_KEEP_FILES") == NULL)
    hm_test_remove_dir (dir);
}

/* flight-churn for 6 s with a 2 MiB window: what the recorder holds and
 * the process's RSS stay flat while millions of events pass. */
static void
test_bounded (void)
{
  if (!hm_test_require_hmtrace ())
    return;
  g_autofree gchar *path = hm_test_program_path ("flight-churn");
  g_autofree gchar *dir = hm_test_make_tmp_dir ();
  g_autofree gchar *base = g_build_filename (dir, "c.hmt", NULL);
  g_autofree gchar *output_env = g_strdup_printf ("HM_FLIGHT_OUTPUT=%s", base);
  const gchar *env[] = { "HM_FLIGHT_RECORDER=2", "HM_FLIGHT_RECORDER_BYTES=2M", output_env,
                         NULL };
  g_autoptr(GSubprocessLauncher) l = launcher_with (env);
  g_autoptr(GError) error = NULL;
  g_subprocess_launcher_set_flags (l, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GSubprocess) p = g_subprocess_launcher_spawn (l, &error, path, "--seconds", "8",
                                                          "--threads", "1", NULL);
  g_assert_no_error (error);
  const gchar *pid = g_subprocess_get_identifier (p);
  g_autofree gchar *status_path = g_strdup_printf ("/proc/%s/status", pid);
  guint64 rss_early = 0, rss_late = 0, max_used = 0, n_samples = 0, last_chunks = 0;

  g_usleep (500000);
  for (int i = 0; i < 14; i++)
    {
      g_usleep (500000);
      const gchar *argv[] = { hm_test_hmtrace_path (), "dump", "--info", pid, NULL };
      g_auto(HmTestRun) run = { 0 };
      g_autofree gchar *status = NULL;
      hm_test_spawn (argv, NULL, &run);
      if (!g_file_get_contents (status_path, &status, NULL, NULL) || run.stdout_text == NULL)
        break;
      const char *rss_line = strstr (status, "VmRSS:");
      guint64 rss = rss_line ? g_ascii_strtoull (rss_line + 6, NULL, 10) * 1024 : 0;
      const char *used = strstr (run.stdout_text, "window_used_bytes=");
      const char *cap = strstr (run.stdout_text, "window_cap_bytes=");
      const char *chunks = strstr (run.stdout_text, "window_chunks=");
      if (used == NULL || cap == NULL || chunks == NULL)
        continue;
      guint64 u = g_ascii_strtoull (used + 18, NULL, 10);
      guint64 c = g_ascii_strtoull (cap + 17, NULL, 10);
      last_chunks = g_ascii_strtoull (chunks + 14, NULL, 10);
      if (u > c || c > 2u << 20)
        hm_test_fail ("the window holds %" G_GUINT64_FORMAT " bytes, its bound is %"
                      G_GUINT64_FORMAT, u, c);
      max_used = MAX (max_used, u);
      n_samples++;
      if (i >= 3 && i < 6)
        rss_early = MAX (rss_early, rss);
      if (i >= 10)
        rss_late = MAX (rss_late, rss);
    }
  g_subprocess_wait (p, NULL, NULL);
  hm_test_message ("%" G_GUINT64_FORMAT " samples; window at most %" G_GUINT64_FORMAT
                   " bytes, %" G_GUINT64_FORMAT " chunks at the end; RSS %.1f MB then %.1f MB",
                   n_samples, max_used, last_chunks, rss_early / 1048576.0, rss_late / 1048576.0);
  if (n_samples < 8)
    hm_test_fail ("only %" G_GUINT64_FORMAT " samples of the recorder", n_samples);
  /* a full window: the bound is what limits it, not the 2 s */
  if (max_used < (1u << 20))
    hm_test_fail ("the window never filled (%" G_GUINT64_FORMAT " bytes): no churn?", max_used);
  if (rss_late > rss_early + (4u << 20))
    hm_test_fail ("RSS grew from %.1f MB to %.1f MB while the window was full",
                  rss_early / 1048576.0, rss_late / 1048576.0);
  if (!g_subprocess_get_if_exited (p) || g_subprocess_get_exit_status (p) != 0)
    hm_test_fail ("flight-churn did not exit with 0");
  hm_test_remove_dir (dir);
}

/* A bad HM_FLIGHT_RECORDER: one line, and the program runs untraced; hmtrace
 * dump on a process that is not a flight recorder says so. */
static void
test_bad_value (void)
{
  if (!hm_test_require_hmtrace ())
    return;
  g_autofree gchar *path = hm_test_program_path ("flight-target");
  const gchar *env[] = { "HM_FLIGHT_RECORDER=ten", NULL };
  g_autoptr(GSubprocessLauncher) l = launcher_with (env);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_launcher_spawn (l, &error, path, "300", "wait", NULL);
  g_assert_no_error (error);
  g_autoptr(GDataInputStream) out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  for (;;)
    {
      g_autofree gchar *line = g_data_input_stream_read_line (out, NULL, NULL, NULL);
      if (line == NULL || strcmp (line, "ready") == 0)
        break;
    }
  const gchar *argv[] = { hm_test_hmtrace_path (), "dump", g_subprocess_get_identifier (p), NULL };
  g_auto(HmTestRun) run = { 0 };
  hm_test_spawn (argv, NULL, &run);
  if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != 1
      || strstr (run.stderr_text, "not in flight-recorder mode") == NULL)
    hm_test_fail ("hmtrace dump on a process without the recorder: status %d, stderr %s",
                  run.exit_status, run.stderr_text);
  g_output_stream_close (g_subprocess_get_stdin_pipe (p), NULL, NULL);
  g_free (read_all (G_INPUT_STREAM (out)));
  g_autofree gchar *err = read_all (g_subprocess_get_stderr_pipe (p));
  g_subprocess_wait (p, NULL, NULL);
  g_auto(GStrv) lines = g_strsplit (g_strchomp (err), "\n", -1);
  if (g_strv_length (lines) != 1
      || strstr (lines[0], "HM_FLIGHT_RECORDER=ten is not a whole number of seconds") == NULL)
    hm_test_fail ("a bad HM_FLIGHT_RECORDER should be one line on stderr: %s", err);
  if (!g_subprocess_get_if_exited (p) || g_subprocess_get_exit_status (p) != 0)
    hm_test_fail ("the program did not run on to its end");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/flight/dump-by-signal", test_dump_by_signal);
  g_test_add_func ("/flight/dump-by-request", test_dump_by_request);
  g_test_add_func ("/flight/sampled", test_sampled);
  g_test_add_func ("/flight/attach-says-dump", test_attach_says_dump);
  g_test_add_data_func ("/flight/dump-at-crash/segv", "segv", test_dump_at_crash);
  g_test_add_data_func ("/flight/dump-at-crash/failed-assert", "abort", test_dump_at_crash);
  g_test_add_data_func ("/flight/manager-objects/signal", GINT_TO_POINTER (FALSE),
                        test_manager_objects);
  g_test_add_data_func ("/flight/manager-objects/request", GINT_TO_POINTER (TRUE),
                        test_manager_objects);
  g_test_add_func ("/flight/unwritable-place", test_unwritable);
  g_test_add_func ("/flight/memory-bounded", test_bounded);
  g_test_add_func ("/flight/bad-value", test_bad_value);
  return g_test_run ();
}
