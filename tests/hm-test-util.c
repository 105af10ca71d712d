/* hm-test-util.c — running hmtrace, the test programs and the oracle for the
 * test drivers, and reading the JSON report.  See hm-test-util.h.
 */
#include "hm-test-util.h"

#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>

void
hm_test_run_clear (HmTestRun *run)
{
  g_clear_pointer (&run->stdout_text, g_free);
  g_clear_pointer (&run->stderr_text, g_free);
}

static gchar *
tap_safe_vprintf (const gchar *format, va_list args)
{
  g_autofree gchar *text = g_strdup_vprintf (format, args);
  g_auto(GStrv) lines = g_strsplit (g_strchomp (text), "\n", -1);
  return g_strjoinv ("\n# ", lines);
}

void
hm_test_fail (const gchar *format, ...)
{
  va_list args;
  g_autofree gchar *text = NULL;

  va_start (args, format);
  text = tap_safe_vprintf (format, args);
  va_end (args);
  g_test_fail_printf ("%s", text);
}

void
hm_test_message (const gchar *format, ...)
{
  va_list args;
  g_autofree gchar *text = NULL;

  va_start (args, format);
  text = tap_safe_vprintf (format, args);
  va_end (args);
  g_test_message ("%s", text);
}

static const gchar *
env_or_null (const gchar *name)
{
  const gchar *value = g_getenv (name);
  return value != NULL && value[0] != '\0' ? value : NULL;
}

gboolean
hm_test_require_hmtrace (void)
{
  if (env_or_null ("HMTRACE") == NULL || env_or_null ("HM_AGENT_PATH") == NULL)
    {
      g_test_skip ("HMTRACE and HM_AGENT_PATH are not set (run through meson test)");
      return FALSE;
    }
  return TRUE;
}

const gchar *
hm_test_hmtrace_path (void)
{
  const gchar *path = env_or_null ("HMTRACE");
  g_assert_nonnull (path);
  return path;
}

gchar *
hm_test_program_path (const gchar *name)
{
  const gchar *dir = env_or_null ("HM_TEST_PROGRAMS_DIR");
  if (dir == NULL)
    g_error ("HM_TEST_PROGRAMS_DIR is not set");
  return g_build_filename (dir, name, NULL);
}

gchar *
hm_test_make_tmp_dir (void)
{
  g_autoptr(GError) error = NULL;
  gchar *path = g_dir_make_tmp ("hmtest-XXXXXX", &error);
  g_assert_no_error (error);
  return path;
}

void
hm_test_remove_dir (const gchar *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const gchar *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR)
          && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        hm_test_remove_dir (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

void
hm_test_spawn (const gchar *const *argv, const gchar *const *extra_env,
               HmTestRun *run)
{
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; extra_env != NULL && extra_env[i] != NULL; i++)
    {
      const gchar *eq = strchr (extra_env[i], '=');
      g_autofree gchar *name = g_strndup (extra_env[i], eq - extra_env[i]);
      g_assert_nonnull (eq);
      envp = g_environ_setenv (envp, name, eq + 1, TRUE);
    }

  memset (run, 0, sizeof *run);
  if (!g_spawn_sync (NULL, (gchar **) argv, envp,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL,
                     NULL, NULL, &run->stdout_text, &run->stderr_text,
                     &run->exit_status, &error))
    g_error ("could not run %s: %s", argv[0], error->message);
}

static gchar *
describe_status (gint wait_status)
{
  if (WIFEXITED (wait_status))
    return g_strdup_printf ("exit status %d", WEXITSTATUS (wait_status));
  if (WIFSIGNALED (wait_status))
    return g_strdup_printf ("killed by signal %d", WTERMSIG (wait_status));
  return g_strdup_printf ("wait status 0x%x", wait_status);
}

gboolean
hm_test_record (const gchar *trace_path, const gchar *const *argv,
                gint expected_status)
{
  g_autoptr(GPtrArray) full = g_ptr_array_new ();
  g_auto(HmTestRun) run = { 0 };

  g_ptr_array_add (full, (gpointer) hm_test_hmtrace_path ());
  g_ptr_array_add (full, (gpointer) "record");
  g_ptr_array_add (full, (gpointer) "-o");
  g_ptr_array_add (full, (gpointer) trace_path);
  g_ptr_array_add (full, (gpointer) "--");
  for (gsize i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (full, (gpointer) argv[i]);
  g_ptr_array_add (full, NULL);

  hm_test_spawn ((const gchar *const *) full->pdata, NULL, &run);
  if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != expected_status)
    {
      g_autofree gchar *status = describe_status (run.exit_status);
      hm_test_fail ("hmtrace record -- %s: %s, expected exit status %d; stderr:\n%s",
                    argv[0], status, expected_status, run.stderr_text);
      return FALSE;
    }
  if (!g_file_test (trace_path, G_FILE_TEST_IS_REGULAR))
    {
      hm_test_fail ("hmtrace record -- %s left no trace at %s", argv[0], trace_path);
      return FALSE;
    }
  return TRUE;
}

json_t *
hm_test_report_json (const gchar *trace_path)
{
  const gchar *argv[] = { hm_test_hmtrace_path (), "report", "--json", trace_path, NULL };
  g_auto(HmTestRun) run = { 0 };
  json_error_t json_error;
  json_t *report;

  hm_test_spawn (argv, NULL, &run);
  if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != 0)
    {
      g_autofree gchar *status = describe_status (run.exit_status);
      hm_test_fail ("hmtrace report --json %s: %s; stderr:\n%s",
                    trace_path, status, run.stderr_text);
      return NULL;
    }
  report = json_loads (run.stdout_text, 0, &json_error);
  if (report == NULL)
    {
      hm_test_fail ("hmtrace report --json %s printed invalid JSON "
                    "(line %d column %d: %s)", trace_path,
                    json_error.line, json_error.column, json_error.text);
      return NULL;
    }
  if (!json_is_object (report) || !json_is_array (json_object_get (report, "sites")))
    {
      hm_test_fail ("hmtrace report --json %s: the top level is not an object "
                    "with a \"sites\" array", trace_path);
      json_decref (report);
      return NULL;
    }
  return report;
}

/* Parses the last line of count-preload.c's output: the top process writes
 * last, because every test program waits for its children. */
static void
parse_oracle_line (const gchar *text, HmOracleCounts *counts)
{
  g_auto(GStrv) lines = g_strsplit (g_strstrip ((gchar *) text), "\n", -1);
  guint n_lines = g_strv_length (lines);
  g_auto(GStrv) fields = NULL;
  g_autoptr(GHashTable) values = g_hash_table_new (g_str_hash, g_str_equal);

  g_assert_cmpuint (n_lines, >, 0);
  fields = g_strsplit (lines[n_lines - 1], " ", -1);
  for (gsize i = 0; fields[i] != NULL; i++)
    {
      gchar *eq = strchr (fields[i], '=');
      if (eq == NULL)
        continue;
      *eq = '\0';
      g_hash_table_insert (values, fields[i], eq + 1);
    }

#define ORACLE_FIELD(member, key) G_STMT_START {                        \
    const gchar *v = g_hash_table_lookup (values, key);                 \
    g_assert_nonnull (v);                                               \
    counts->member = g_ascii_strtoull (v, NULL, 10);                    \
  } G_STMT_END
  ORACLE_FIELD (allocations, "allocations");
  ORACLE_FIELD (frees, "frees");
  ORACLE_FIELD (unknown_frees, "unknown_frees");
  ORACLE_FIELD (bytes_allocated, "bytes_allocated");
  ORACLE_FIELD (peak_bytes, "peak_bytes");
  ORACLE_FIELD (leaked_bytes, "leaked_bytes");
  ORACLE_FIELD (leaked_blocks, "leaked_blocks");
  ORACLE_FIELD (memalign_calls, "memalign");
  ORACLE_FIELD (pvalloc_calls, "pvalloc");
  ORACLE_FIELD (reallocarray_calls, "reallocarray");
  ORACLE_FIELD (calloc_calls, "calloc");
  ORACLE_FIELD (calloc_bytes, "calloc_bytes");
  ORACLE_FIELD (calloc_leaked_bytes, "calloc_leaked_bytes");
#undef ORACLE_FIELD
}

gboolean
hm_test_oracle_counts (const gchar *const *argv, HmOracleCounts *counts)
{
  const gchar *preload = env_or_null ("HM_COUNT_PRELOAD");
  g_autofree gchar *dir = hm_test_make_tmp_dir ();
  g_autofree gchar *count_file = g_build_filename (dir, "counts.txt", NULL);
  g_autofree gchar *preload_env = NULL;
  g_autofree gchar *file_env = NULL;
  g_autofree gchar *text = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(HmTestRun) run = { 0 };

  if (preload == NULL)
    g_error ("HM_COUNT_PRELOAD is not set");
  preload_env = g_strconcat ("LD_PRELOAD=", preload, NULL);
  file_env = g_strconcat ("HM_COUNT_FILE=", count_file, NULL);
  const gchar *extra_env[] = { preload_env, file_env, NULL };

  hm_test_spawn (argv, extra_env, &run);
  if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != 0)
    {
      g_autofree gchar *status = describe_status (run.exit_status);
      hm_test_fail ("%s under count-preload: %s; stderr:\n%s",
                    argv[0], status, run.stderr_text);
      hm_test_remove_dir (dir);
      return FALSE;
    }
  g_file_get_contents (count_file, &text, NULL, &error);
  g_assert_no_error (error);
  parse_oracle_line (text, counts);
  hm_test_remove_dir (dir);
  return TRUE;
}

guint
hm_test_site_line (const gchar *source, const gchar *marker)
{
  const gchar *dir = env_or_null ("HM_TEST_SOURCE_DIR");
  g_autofree gchar *path = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *needle = g_strconcat ("SITE: ", marker, NULL);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;

  if (dir == NULL)
    g_error ("HM_TEST_SOURCE_DIR is not set");
  path = g_build_filename (dir, source, NULL);
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const gchar *hit = strstr (lines[i], needle);
      if (hit == NULL)
        continue;
      gchar after = hit[strlen (needle)];
      if (g_ascii_isalnum (after) || after == '-' || after == '_')
        continue;       /* "SITE: realloc" must not match "SITE: realloc-move" */
      return i + 1;
    }
  g_error ("no \"%s\" marker in %s", needle, path);
  return 0;
}

static const gchar *
json_string_or_empty (json_t *object, const gchar *key)
{
  const gchar *value = json_string_value (json_object_get (object, key));
  return value != NULL ? value : "";
}

/* "f" matches "f" and, for C++ frames, "f(int)". */
static gboolean
function_matches (const gchar *frame_function, const gchar *function)
{
  gsize len = strlen (function);
  return strncmp (frame_function, function, len) == 0
         && (frame_function[len] == '\0' || frame_function[len] == '(');
}

static gboolean
frame_matches (json_t *frame, const gchar *function, const gchar *source, guint line)
{
  if (!function_matches (json_string_or_empty (frame, "function"), function))
    return FALSE;
  if (source == NULL)
    return TRUE;
  g_autofree gchar *base = g_path_get_basename (json_string_or_empty (frame, "file"));
  if (g_strcmp0 (base, source) != 0)
    return FALSE;
  return line == 0 || json_integer_value (json_object_get (frame, "line")) == (json_int_t) line;
}

static gboolean
site_matches (json_t *site, const gchar *function, const gchar *source, guint line)
{
  json_t *stack = json_object_get (site, "stack");
  gsize i;
  json_t *frame;

  json_array_foreach (stack, i, frame)
    if (frame_matches (frame, function, source, line))
      return TRUE;
  return FALSE;
}

static json_t *
report_sites (json_t *report)
{
  /* hm_test_report_json() checked that it is an array. */
  return json_object_get (report, "sites");
}

void
hm_test_sum_sites (json_t *report, const gchar *function,
                   const gchar *source, guint line, HmSiteSums *sums)
{
  gsize i;
  json_t *site;

  memset (sums, 0, sizeof *sums);
  json_array_foreach (report_sites (report), i, site)
    {
      if (!site_matches (site, function, source, line))
        continue;
      sums->n_sites++;
      sums->allocations += hm_test_json_uint (site, "allocations");
      sums->bytes += hm_test_json_uint (site, "bytes");
      sums->leaked_bytes += hm_test_json_uint (site, "leaked_bytes");
      sums->leaked_blocks += hm_test_json_uint (site, "leaked_blocks");
      sums->peak_live_bytes += hm_test_json_uint (site, "peak_live_bytes");
    }
}

gboolean
hm_test_report_has_function (json_t *report, const gchar *function)
{
  gsize i;
  json_t *site;

  json_array_foreach (report_sites (report), i, site)
    if (site_matches (site, function, NULL, 0))
      return TRUE;
  return FALSE;
}

gchar *
hm_test_describe_sites (json_t *report, const gchar *function)
{
  GString *text = g_string_new (NULL);
  gsize i, j;
  json_t *site, *frame;

  json_array_foreach (report_sites (report), i, site)
    {
      if (!site_matches (site, function, NULL, 0))
        continue;
      g_string_append_printf (text, "site %zu: %" JSON_INTEGER_FORMAT " allocations, "
                              "%" JSON_INTEGER_FORMAT " bytes, %" JSON_INTEGER_FORMAT " leaked\n", i,
                              json_integer_value (json_object_get (site, "allocations")),
                              json_integer_value (json_object_get (site, "bytes")),
                              json_integer_value (json_object_get (site, "leaked_bytes")));
      json_array_foreach (json_object_get (site, "stack"), j, frame)
        g_string_append_printf (text, "  #%zu %s at %s:%" JSON_INTEGER_FORMAT " in %s\n", j,
                                json_string_or_empty (frame, "function"),
                                json_string_or_empty (frame, "file"),
                                json_integer_value (json_object_get (frame, "line")),
                                json_string_or_empty (frame, "module"));
    }
  if (text->len == 0)
    g_string_append_printf (text, "(no site mentions %s)\n", function);
  return g_string_free (text, FALSE);
}

guint64
hm_test_json_uint (json_t *object, const gchar *key)
{
  json_t *value = json_object_get (object, key);
  if (!json_is_integer (value) || json_integer_value (value) < 0)
    {
      hm_test_fail ("report member \"%s\" is missing or not a non-negative integer", key);
      return 0;
    }
  return (guint64) json_integer_value (value);
}

void
hm_test_assert_clean_failure (const HmTestRun *run, const gchar *must_mention)
{
  g_autofree gchar *status = describe_status (run->exit_status);
  g_autofree gchar *message = g_strstrip (g_strdup (run->stderr_text));

  if (!WIFEXITED (run->exit_status) || WEXITSTATUS (run->exit_status) == 0)
    {
      hm_test_fail ("expected a failure exit, got %s; stderr:\n%s",
                    status, run->stderr_text);
      return;
    }
  if (message[0] == '\0')
    {
      hm_test_fail ("failed (%s) without a message on stderr", status);
      return;
    }
  if (strchr (message, '\n') != NULL)
    {
      hm_test_fail ("expected one line on stderr, got:\n%s", run->stderr_text);
      return;
    }
  if (must_mention != NULL)
    {
      g_autofree gchar *lower_message = g_ascii_strdown (message, -1);
      g_autofree gchar *lower_mention = g_ascii_strdown (must_mention, -1);
      if (strstr (lower_message, lower_mention) == NULL)
        {
          hm_test_fail ("the message does not mention \"%s\": %s",
                        must_mention, message);
          return;
        }
    }
  hm_test_message ("failed as expected (%s): %s", status, message);
}
