/* test-heaptrack.c — hmtrace and heaptrack count the same calls in single.c.
 *
 * Skipped when heaptrack is not installed.  Like with like: heaptrack 1.4
 * hooks malloc, calloc, realloc, posix_memalign, aligned_alloc and valloc but
 * not memalign or pvalloc (glibc's reallocarray reaches it through realloc),
 * and it also counts the allocations of its own libraries' start-up (the
 * libstdc++ exception pool, before main).  So the comparison is over stacks
 * that pass through single.c's main, minus the memalign and pvalloc calls
 * (counted by count-preload.c), and per function of single.c.
 */
#include "hm-test-util.h"

#include <string.h>
#include <sys/wait.h>

/* heaptrack_print's flame-graph stacks: "f (file);g (file); COUNT" per line. */
typedef struct
{
  guint64 total;
  guint64 in_main;
  GHashTable *by_function;      /* name → guint64* count of stacks through it */
} HeaptrackCounts;

static gchar *tmp_dir;

static void
heaptrack_counts_clear (HeaptrackCounts *counts)
{
  g_clear_pointer (&counts->by_function, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HeaptrackCounts, heaptrack_counts_clear)

static guint64
heaptrack_count_of (const HeaptrackCounts *counts, const gchar *function)
{
  guint64 *count = g_hash_table_lookup (counts->by_function, function);
  return count != NULL ? *count : 0;
}

static void
parse_flamegraph (const gchar *text, HeaptrackCounts *counts)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  counts->by_function = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (gsize i = 0; lines[i] != NULL; i++)
    {
      gchar *count_text = strrchr (lines[i], ';');
      guint64 count;
      g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

      if (count_text == NULL)
        continue;
      *count_text = '\0';
      count = g_ascii_strtoull (g_strstrip (count_text + 1), NULL, 10);
      counts->total += count;

      g_auto(GStrv) frames = g_strsplit (lines[i], ";", -1);
      for (gsize j = 0; frames[j] != NULL; j++)
        {
          /* "make_small_blocks (single.c)" → "make_small_blocks" */
          gchar *paren = strstr (frames[j], " (");
          g_autofree gchar *name = paren != NULL ? g_strndup (frames[j], paren - frames[j])
                                                 : g_strdup (frames[j]);
          if (name[0] == '\0' || g_hash_table_contains (seen, name))
            continue;           /* count a recursive stack once */
          g_hash_table_add (seen, g_strdup (name));
          if (g_str_equal (name, "main") && paren != NULL
              && g_str_has_prefix (paren, " (single.c)"))
            counts->in_main += count;
          guint64 *slot = g_hash_table_lookup (counts->by_function, name);
          if (slot == NULL)
            {
              slot = g_new0 (guint64, 1);
              g_hash_table_insert (counts->by_function, g_strdup (name), slot);
            }
          *slot += count;
        }
    }
}

/* Runs heaptrack on argv and fills counts; FALSE (test failed) on error. */
static gboolean
run_heaptrack (const gchar *program, HeaptrackCounts *counts)
{
  g_autofree gchar *output = g_build_filename (tmp_dir, "single", NULL);
  g_autofree gchar *zst = g_strconcat (output, ".zst", NULL);
  g_autofree gchar *gz = g_strconcat (output, ".gz", NULL);
  g_autofree gchar *stacks = g_build_filename (tmp_dir, "stacks.txt", NULL);
  g_autofree gchar *text = NULL;
  g_auto(HmTestRun) run = { 0 };
  g_auto(HmTestRun) print = { 0 };
  const gchar *data;

  const gchar *argv[] = { "heaptrack", "-o", output, program, NULL };
  hm_test_spawn (argv, NULL, &run);
  if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != 0)
    {
      hm_test_fail ("heaptrack %s failed (wait status 0x%x): %s%s", program,
                    run.exit_status, run.stdout_text, run.stderr_text);
      return FALSE;
    }
  data = g_file_test (zst, G_FILE_TEST_EXISTS) ? zst : gz;

  const gchar *print_argv[] = { "heaptrack_print", "--flamegraph-cost-type", "allocations",
                                "-F", stacks, data, NULL };
  hm_test_spawn (print_argv, NULL, &print);
  if (!WIFEXITED (print.exit_status) || WEXITSTATUS (print.exit_status) != 0
      || !g_file_get_contents (stacks, &text, NULL, NULL))
    {
      hm_test_fail ("heaptrack_print %s failed: %s", data, print.stderr_text);
      return FALSE;
    }
  parse_flamegraph (text, counts);

  /* The summary line must agree with the stacks. */
  const gchar *line = strstr (print.stdout_text, "calls to allocation functions: ");
  if (line == NULL)
    {
      hm_test_fail ("heaptrack_print printed no \"calls to allocation functions\" line");
      return FALSE;
    }
  guint64 summary = g_ascii_strtoull (line + strlen ("calls to allocation functions: "),
                                      NULL, 10);
  g_assert_cmpuint (summary, ==, counts->total);
  return TRUE;
}

static void
test_single_matches_heaptrack (void)
{
  static const gchar *const same_calls[] = {
    "make_small_blocks", "make_large_blocks", "make_peak_block",
    "exercise_calloc", "exercise_realloc",
  };
  g_autofree gchar *heaptrack = g_find_program_in_path ("heaptrack");
  g_autofree gchar *heaptrack_print = g_find_program_in_path ("heaptrack_print");
  g_autofree gchar *program = NULL;
  g_autofree gchar *trace = NULL;
  g_auto(HeaptrackCounts) ht = { 0 };
  HmOracleCounts oracle;
  json_t *report;
  guint64 ours;

  if (heaptrack == NULL || heaptrack_print == NULL)
    {
      g_test_skip ("heaptrack and heaptrack_print are not installed");
      return;
    }
  if (!hm_test_require_hmtrace ())
    return;
  program = hm_test_program_path ("single");
  trace = g_build_filename (tmp_dir, "single.hmt", NULL);
  const gchar *argv[] = { program, NULL };

  if (!hm_test_record (trace, argv, 0) || (report = hm_test_report_json (trace)) == NULL)
    return;
  if (!hm_test_oracle_counts (argv, &oracle) || !run_heaptrack (program, &ht))
    {
      json_decref (report);
      return;
    }

  ours = hm_test_json_uint (report, "allocations");
  hm_test_message ("hmtrace: %" G_GUINT64_FORMAT " allocations; heaptrack: %" G_GUINT64_FORMAT
                   " in total, %" G_GUINT64_FORMAT " under main (the rest is its own start-up); "
                   "memalign %" G_GUINT64_FORMAT " + pvalloc %" G_GUINT64_FORMAT
                   " calls heaptrack does not hook",
                   ours, ht.total, ht.in_main, oracle.memalign_calls, oracle.pvalloc_calls);
  g_assert_cmpuint (ht.in_main, ==, ours - oracle.memalign_calls - oracle.pvalloc_calls);

  for (gsize i = 0; i < G_N_ELEMENTS (same_calls); i++)
    {
      HmSiteSums sums;
      hm_test_sum_sites (report, same_calls[i], NULL, 0, &sums);
      hm_test_message ("%s: hmtrace %" G_GUINT64_FORMAT ", heaptrack %" G_GUINT64_FORMAT,
                       same_calls[i], sums.allocations, heaptrack_count_of (&ht, same_calls[i]));
      g_assert_cmpuint (sums.allocations, ==, heaptrack_count_of (&ht, same_calls[i]));
    }
  json_decref (report);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();
  tmp_dir = hm_test_make_tmp_dir ();
  g_test_add_func ("/heaptrack/single/same-allocation-calls", test_single_matches_heaptrack);
  status = g_test_run ();
  hm_test_remove_dir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
