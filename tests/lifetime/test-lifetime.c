/* test-lifetime.c — lifetime analysis finds exactly the planted bad frees,
 * leaks and dangling pointers, with their stacks, keeps the program alive,
 * says nothing about clean programs, and counts leaks as valgrind memcheck's
 * "definitely lost" does on the same programs.
 */
#include "hm-test-util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static gchar *tmp_dir;

typedef enum {
  ANALYSIS_ENV,          /* HM_LIFETIME_ANALYSIS=1 */
  ANALYSIS_DEFAULT,      /* what hmtrace record does by itself */
  ANALYSIS_OFF,          /* hmtrace record --no-lifetime */
} Analysis;

static json_t *
record_program (const gchar *name, const gchar *const *program_argv, Analysis analysis,
                HmTestRun *run)
{
  g_autofree gchar *trace = g_strdup_printf ("%s/%s.%d.hmt", tmp_dir, name, (int) analysis);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const gchar *env[] = { "HM_LIFETIME_ANALYSIS=1", NULL };

  g_ptr_array_add (argv, (gpointer) hm_test_hmtrace_path ());
  g_ptr_array_add (argv, "record");
  g_ptr_array_add (argv, "-q");
  if (analysis == ANALYSIS_OFF)
    g_ptr_array_add (argv, "--no-lifetime");
  g_ptr_array_add (argv, "-o");
  g_ptr_array_add (argv, trace);
  g_ptr_array_add (argv, "--");
  for (int i = 0; program_argv[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) program_argv[i]);
  g_ptr_array_add (argv, NULL);
  hm_test_spawn ((const gchar *const *) argv->pdata, analysis == ANALYSIS_ENV ? env : NULL, run);
  g_assert_true (WIFEXITED (run->exit_status));
  g_assert_cmpint (WEXITSTATUS (run->exit_status), ==, 0);
  return hm_test_report_json (trace);
}

/* Records argv with lifetime analysis on; returns the report. */
static json_t *
record_with_analysis (const gchar *name, const gchar *const *program_argv, HmTestRun *run)
{
  return record_program (name, program_argv, ANALYSIS_ENV, run);
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
planted_line_in (const gchar *file, const gchar *text, guint nth)
{
  g_autofree gchar *path = g_build_filename (g_getenv ("HM_TEST_LIFETIME_SOURCE_DIR"),
                                             file, NULL);
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

static guint
planted_line (const gchar *text, guint nth)
{
  return planted_line_in ("bad-frees.c", text, nth);
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

/* The warnings of one kind, in report order. */
static GPtrArray *
warnings_of_kind (json_t *report, const gchar *kind)
{
  GPtrArray *out = g_ptr_array_new ();
  json_t *warnings = json_object_get (report, "warnings");
  for (gsize i = 0; i < json_array_size (warnings); i++)
    {
      json_t *w = json_array_get (warnings, i);
      if (g_strcmp0 (json_string_value (json_object_get (w, "kind")), kind) == 0)
        g_ptr_array_add (out, w);
    }
  return out;
}

/* The leak whose allocation stack starts in function, or NULL. */
static json_t *
leak_from (GPtrArray *leaks, const gchar *function)
{
  for (guint i = 0; i < leaks->len; i++)
    if (g_strcmp0 (top_function (json_object_get (leaks->pdata[i], "stack")), function) == 0)
      return leaks->pdata[i];
  return NULL;
}

static void
check_planted_leaks (json_t *report)
{
  static const struct { const gchar *function; guint size; guint nth; } expected[] = {
    { "lost_pointer", 100, 0 },
    { "leaked_cycle", 48, 1 },
    { "lost_via_freed", 77, 2 },
    { "lost_hm_alloc", 55, 3 },
  };
  g_autoptr(GPtrArray) leaks = warnings_of_kind (report, "leak");
  g_autoptr(GPtrArray) dangling = warnings_of_kind (report, "dangling-pointer");

  /* exactly the planted ones, nothing more */
  g_assert_cmpuint (json_array_size (json_object_get (report, "warnings")), ==,
                    G_N_ELEMENTS (expected) + 3);
  g_assert_cmpuint (leaks->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      json_t *leak = leak_from (leaks, expected[i].function);
      if (leak == NULL)
        hm_test_fail ("no leak allocated in %s", expected[i].function);
      g_assert_nonnull (leak);
      g_assert_cmpuint (hm_test_json_uint (leak, "size"), ==, expected[i].size);
      g_assert_cmpuint (top_line (json_object_get (leak, "stack")), ==,
                        planted_line_in ("leaks.c", "leak", expected[i].nth));
    }

  g_assert_cmpuint (dangling->len, ==, 3);
  json_t *into_region = NULL, *into_pool = NULL, *on_stack = NULL;
  for (guint i = 0; i < dangling->len; i++)
    {
      json_t *location = json_object_get (dangling->pdata[i], "pointer_location");
      g_assert_nonnull (location);
      const gchar *kind = json_string_value (json_object_get (location, "kind"));
      if (g_strcmp0 (kind, "global") == 0)
        into_region = dangling->pdata[i];
      else if (g_strcmp0 (kind, "heap") == 0)
        into_pool = dangling->pdata[i];
      else if (g_strcmp0 (kind, "stack") == 0)
        on_stack = dangling->pdata[i];
    }
  g_assert_nonnull (on_stack);
  /* the local of main: on the main thread's stack, named by its tid */
  json_t *location = json_object_get (on_stack, "pointer_location");
  g_assert_cmpuint (hm_test_json_uint (location, "thread"), ==,
                    hm_test_json_uint (on_stack, "thread"));
  g_autofree gchar *described = g_strdup_printf ("thread stack %" G_GUINT64_FORMAT,
                                                 hm_test_json_uint (location, "thread"));
  g_assert_cmpstr (json_string_value (json_object_get (location, "description")), ==, described);
  g_assert_cmpstr (top_function (json_object_get (on_stack, "free_stack")), ==, "free_region");
  g_assert_cmpuint (top_line (json_object_get (on_stack, "free_stack")), ==,
                    planted_line_in ("leaks.c", "dangling-pointer", 0));
  g_assert_nonnull (into_region);
  g_assert_nonnull (into_pool);
  /* the region pointer: a global, named, and where the region was freed */
  location = json_object_get (into_region, "pointer_location");
  g_assert_true (g_str_has_prefix (json_string_value (json_object_get (location, "description")),
                                   "region_pointer+"));
  json_t *freed_at = json_object_get (into_region, "free_stack");
  g_assert_cmpstr (top_function (freed_at), ==, "dangling_into_region");
  g_assert_cmpuint (top_line (freed_at), ==,
                    planted_line_in ("leaks.c", "dangling-pointer", 1));
  /* the pool pointer: in a live heap block, with that block's stack */
  location = json_object_get (into_pool, "pointer_location");
  g_assert_cmpuint (hm_test_json_uint (location, "block_size"), ==, sizeof (void *));
  g_assert_cmpstr (top_function (json_object_get (location, "stack")), ==, "dangling_into_pool");
  g_assert_cmpuint (hm_test_json_uint (into_pool, "size"), ==, 48);
}

static void
test_planted_leaks (void)
{
  g_auto(HmTestRun) run = { 0 };
  g_autofree gchar *program = hm_test_program_path ("leaks");
  const gchar *argv[] = { program, NULL };
  g_autoptr(json_t) report = NULL;

  if (!hm_test_require_hmtrace ())
    return;
  report = record_with_analysis ("leaks", argv, &run);
  g_assert_nonnull (report);
  /* hm_analyze found three; the second call, and the scan at exit, nothing new */
  g_assert_cmpstr (run.stdout_text, ==, "leaks 4 then 0\n");
  check_planted_leaks (report);
  /* one line on stderr each */
  g_auto(GStrv) lines = g_strsplit (run.stderr_text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 7 + 1);
}

/* hmtrace record turns analysis on by itself; --no-lifetime turns it off. */
static void
test_record_default (void)
{
  g_autofree gchar *program = hm_test_program_path ("leaks");
  const gchar *argv[] = { program, NULL };

  if (!hm_test_require_hmtrace ())
    return;
  {
    g_auto(HmTestRun) run = { 0 };
    g_autoptr(json_t) report = record_program ("leaks", argv, ANALYSIS_DEFAULT, &run);
    g_assert_nonnull (report);
    g_assert_cmpstr (run.stdout_text, ==, "leaks 4 then 0\n");
    check_planted_leaks (report);
  }
  {
    g_auto(HmTestRun) run = { 0 };
    g_autoptr(json_t) report = record_program ("leaks", argv, ANALYSIS_OFF, &run);
    g_assert_nonnull (report);
    g_assert_cmpstr (run.stdout_text, ==, "leaks 0 then 0\n");
    g_assert_cmpuint (json_array_size (json_object_get (report, "warnings")), ==, 0);
    g_assert_cmpstr (run.stderr_text, ==, "");
  }
}

/* Clean programs of this folder: nothing, mid-run or at exit. */
static void
test_clean_lifetime_program (gconstpointer data)
{
  const gchar *name = data;
  g_auto(HmTestRun) run = { 0 };
  g_autofree gchar *program = hm_test_program_path (name);
  const gchar *argv[] = { program, NULL };
  g_autoptr(json_t) report = NULL;

  if (!hm_test_require_hmtrace ())
    return;
  report = record_with_analysis (name, argv, &run);
  g_assert_nonnull (report);
  if (json_array_size (json_object_get (report, "warnings")) != 0)
    hm_test_fail ("%s: %s", name, run.stderr_text);
  g_assert_cmpuint (json_array_size (json_object_get (report, "warnings")), ==, 0);
  g_assert_cmpstr (run.stderr_text, ==, "");
  g_assert_true (g_str_has_prefix (run.stdout_text, "stdio clean")
                 || g_str_has_prefix (run.stdout_text, "clean"));
}

/* --- the same programs under valgrind memcheck ---------------------------------- */

static guint64
parse_count (const gchar *text)
{
  guint64 v = 0;
  for (; *text != '\0'; text++)
    if (*text >= '0' && *text <= '9')
      v = v * 10 + (guint64) (*text - '0');
    else if (*text != ',')
      break;
  return v;
}

/* How long memcheck may take for one program.  Valgrind runs one thread
 * at a time, and its default lock is not fair: under clean-threads, whose
 * workers never stop allocating, the main thread back from wait4() (its
 * forked child a zombie) waited for the lock forever, every run here.
 * --fair-sched=yes hands the lock round in turn (3.5 s instead); should
 * memcheck still not finish, the comparison is skipped, saying so, rather
 * than the whole test timing out. */
#define MEMCHECK_SECONDS "90"

/* memcheck's definitely lost blocks: one size per block where a loss record
 * has one block, the record's average where it has several (same site).
 * NULL if memcheck did not finish in MEMCHECK_SECONDS. */
static GArray *
memcheck_definitely_lost (const gchar *program)
{
  g_auto(HmTestRun) run = { 0 };
  const gchar *argv[] = { "timeout", "--kill-after=5", MEMCHECK_SECONDS, g_getenv ("HM_VALGRIND"),
                          "--leak-check=full", "--show-leak-kinds=definite",
                          "--errors-for-leak-kinds=definite", "--error-exitcode=0",
                          "--fair-sched=yes",
                          "--child-silent-after-fork=yes", program, NULL };
  GArray *sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GRegex) record = g_regex_new (
    "([0-9,]+) (?:\\(([0-9,]+) direct, [0-9,]+ indirect\\) )?bytes in ([0-9,]+) blocks? "
    "(?:is|are) definitely lost", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;

  hm_test_spawn (argv, NULL, &run);
  g_assert_true (WIFEXITED (run.exit_status));
  if (WEXITSTATUS (run.exit_status) == 124 || WEXITSTATUS (run.exit_status) == 137)
    {
      g_array_unref (sizes);
      return NULL;
    }
  for (g_regex_match (record, run.stderr_text, 0, &match); g_match_info_matches (match);
       g_match_info_next (match, NULL))
    {
      g_autofree gchar *total = g_match_info_fetch (match, 1);
      g_autofree gchar *direct = g_match_info_fetch (match, 2);
      g_autofree gchar *blocks = g_match_info_fetch (match, 3);
      guint64 n = parse_count (blocks);
      guint64 bytes = parse_count (direct != NULL && *direct != '\0' ? direct : total);
      for (guint64 i = 0; i < n; i++)
        {
          guint64 each = bytes / n + (i < bytes % n ? 1 : 0);
          g_array_append_val (sizes, each);
        }
    }
  return sizes;
}

static gint
compare_u64 (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

static void
test_leaks_like_memcheck (gconstpointer data)
{
  const gchar *name = data;
  g_auto(HmTestRun) run = { 0 };
  g_autofree gchar *program = NULL;
  g_autoptr(json_t) report = NULL;
  g_autoptr(GArray) ours = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) theirs = NULL;

  if (!hm_test_require_hmtrace ())
    return;
  if (g_getenv ("HM_VALGRIND") == NULL)
    {
      g_test_skip ("valgrind is not installed");
      return;
    }
  if (g_str_equal (name, "demo"))
    {
      g_autofree gchar *dir = g_path_get_dirname (g_getenv ("HM_TEST_PROGRAMS_DIR"));
      program = g_build_filename (dir, "programs", name, NULL);
    }
  else
    program = hm_test_program_path (name);
  const gchar *argv[] = { program, NULL };
  report = record_with_analysis (name, argv, &run);
  g_assert_nonnull (report);
  g_autoptr(GPtrArray) leaks = warnings_of_kind (report, "leak");
  for (guint i = 0; i < leaks->len; i++)
    {
      guint64 size = hm_test_json_uint (leaks->pdata[i], "size");
      g_array_append_val (ours, size);
    }
  theirs = memcheck_definitely_lost (program);
  if (theirs == NULL)
    {
      g_autofree gchar *why = g_strdup_printf ("memcheck did not finish %s in %s s", name,
                                               MEMCHECK_SECONDS);
      g_test_skip (why);
      return;
    }
  g_array_sort (ours, compare_u64);
  g_array_sort (theirs, compare_u64);
  GString *both = g_string_new ("ours:");
  for (guint i = 0; i < ours->len; i++)
    g_string_append_printf (both, " %" G_GUINT64_FORMAT, g_array_index (ours, guint64, i));
  g_string_append (both, "; memcheck:");
  for (guint i = 0; i < theirs->len; i++)
    g_string_append_printf (both, " %" G_GUINT64_FORMAT, g_array_index (theirs, guint64, i));
  g_test_message ("%s: %s", name, both->str);
  if (ours->len != theirs->len
      || memcmp (ours->data, theirs->data, ours->len * sizeof (guint64)) != 0)
    hm_test_fail ("%s: definitely lost differs: %s", name, both->str);
  g_string_free (both, TRUE);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = hm_test_make_tmp_dir ();
  g_test_add_func ("/lifetime/planted-bad-frees", test_planted_bad_frees);
  g_test_add_func ("/lifetime/planted-leaks-and-dangling-pointers", test_planted_leaks);
  g_test_add_func ("/lifetime/on-by-default-under-record", test_record_default);
  /* demo has planted leaks: compared with memcheck below, not here */
  for (const gchar *const *name = (const gchar *const[]) { "single", "threads", "forker", "cxx",
                                                           "crossfree", NULL };
       *name != NULL; name++)
    {
      g_autofree gchar *path = g_strdup_printf ("/lifetime/clean/%s", *name);
      g_test_add_data_func (path, *name, test_clean_program);
    }
  g_auto(GStrv) clean = g_strsplit (g_getenv ("HM_TEST_LIFETIME_CLEAN") ? g_getenv ("HM_TEST_LIFETIME_CLEAN") : "", " ", -1);
  for (guint i = 0; clean[i] != NULL; i++)
    if (*clean[i] != '\0')
      {
        g_autofree gchar *path = g_strdup_printf ("/lifetime/clean/%s", clean[i]);
        g_test_add_data_func (path, clean[i], test_clean_lifetime_program);
      }
  for (const gchar *const *name = (const gchar *const[]) { "leaks", "demo", NULL };
       *name != NULL; name++)
    {
      g_autofree gchar *path = g_strdup_printf ("/lifetime/leaks-like-memcheck/%s", *name);
      g_test_add_data_func (path, *name, test_leaks_like_memcheck);
    }
  for (guint i = 0; clean[i] != NULL; i++)
    if (*clean[i] != '\0')
      {
        g_autofree gchar *path = g_strdup_printf ("/lifetime/leaks-like-memcheck/%s", clean[i]);
        g_test_add_data_func (path, clean[i], test_leaks_like_memcheck);
      }
  status = g_test_run ();
  hm_test_remove_dir (tmp_dir);
  return status;
}
