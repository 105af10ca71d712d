/* test-record.c — records each test program with `hmtrace record` and checks
 * `hmtrace report --json` against counts known in advance.
 *
 * Three kinds of check per program:
 *   own-sites      the sites whose stacks hold the program's own functions sum
 *                  to the exact numbers in the program's header comment, and
 *                  each SITE: marker line is the file:line of a frame;
 *   matches-oracle whole-process totals equal those of count-preload.c, an
 *                  independent interposer, on the same program;
 *   exact-totals   for programs that allocate nothing but their own blocks,
 *                  the totals equal the hand-computed numbers.
 * Plus: functions that only ran in a child process are absent, the report has
 * the documented shape, and hmtrace passes stdout, stderr and the exit status
 * through.  The /oracle/ paths check the programs' tables with count-preload.c
 * alone and need no hmtrace.
 */
#include "hm-test-util.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNCHECKED G_MAXUINT64

typedef struct
{
  const gchar *function;
  const gchar *marker;          /* a SITE: marker in the source, or NULL */
  guint64 allocations;          /* 0: no site may exist at the marker */
  guint64 bytes;
  guint64 leaked_bytes;
  guint64 peak_live_bytes;      /* of the one site at the marker, or UNCHECKED */
  gboolean plus_page_size;      /* bytes (and peak) add sysconf(_SC_PAGESIZE) */
} SiteExpectation;

typedef struct
{
  guint64 allocations;
  guint64 frees;
  guint64 bytes_allocated;
  guint64 peak_bytes;
  guint64 leaked_bytes;
  guint64 leaked_blocks;
} Totals;

typedef struct
{
  const gchar *name;            /* the test path component */
  const gchar *program;         /* in HM_TEST_PROGRAMS_DIR */
  const gchar *argument;        /* argv[1]; "@name" is a built file's path */
  const gchar *source;          /* where its SITE: markers are */
  gboolean peak_is_deterministic;
  gboolean has_exact_totals;
  Totals totals;
  gboolean totals_plus_page_size;
  const SiteExpectation *sites; /* ends with function == NULL */
  const gchar *const *absent_functions;
  const gchar *module;          /* basename of the module its sites are in */
  /* Sites under this function are glibc's callocs of thread DTVs, whose size
   * depends on how many modules with TLS are loaded: the agent's process has
   * more than the oracle's.  Their bytes are compared apart. */
  const gchar *dtv_function;
} ProgramCase;

typedef struct
{
  gboolean recorded;
  json_t *report;               /* NULL if recording or reporting failed */
  gboolean oracle_ran;
  gboolean oracle_ok;
  HmOracleCounts oracle;
} ProgramState;

static gchar *tmp_dir;
static GHashTable *states;      /* name → ProgramState */

/* ---- the programs and what they must show (see each program's header) ---- */

static const SiteExpectation single_sites[] = {
  { "make_small_blocks", "small", 600, 41616, 4320, 41616 },
  { "make_large_blocks", "large", 400, 294400, 7040, 294400 },
  { "make_peak_block", "peak", 1, 1048576, 0, 1048576 },
  { "exercise_calloc", "calloc-freed", 1, 120, 0, 120 },
  { "exercise_calloc", "calloc-leaked", 1, 300, 300, 300 },
  { "exercise_calloc", "calloc-overflow", 0, 0, 0, UNCHECKED },
  { "exercise_realloc", "realloc-null", 1, 100, 0, 100 },
  { "exercise_realloc", "realloc-fence", 1, 32, 0, 32 },
  { "exercise_realloc", "realloc-in-place", 1, 104, 0, 104 },
  { "exercise_realloc", "realloc-move", 1, 5000, 5000, 5000 },
  { "exercise_realloc", "realloc-zero", 1, 48, 0, 48 },
  { "exercise_realloc", "realloc-fail", 1, 64, 0, 64 },
  { "exercise_realloc", "realloc-huge", 0, 0, 0, UNCHECKED },
  { "exercise_realloc", "malloc-zero", 1, 0, 0, 0 },
  { "exercise_realloc", "malloc-huge", 0, 0, 0, UNCHECKED },
  { "exercise_aligned", "posix_memalign", 1, 200, 0, 200 },
  { "exercise_aligned", "posix_memalign-einval", 0, 0, 0, UNCHECKED },
  { "exercise_aligned", "aligned_alloc", 1, 256, 0, 256 },
  { "exercise_aligned", "memalign", 1, 100, 0, 100 },
  { "exercise_aligned", "valloc", 1, 1000, 0, 1000 },
  { "exercise_aligned", "pvalloc", 1, 0, 0, 0, TRUE },
  { "exercise_aligned", "reallocarray-null", 1, 80, 0, 80 },
  { "exercise_aligned", "reallocarray-grow", 1, 160, 0, 160 },
  { "exercise_aligned", "reallocarray-overflow", 0, 0, 0, UNCHECKED },
  /* Whole functions, any line. */
  { "exercise_calloc", NULL, 2, 420, 300, UNCHECKED },
  { "exercise_realloc", NULL, 7, 5348, 5000, UNCHECKED },
  { "exercise_aligned", NULL, 7, 1796, 0, UNCHECKED, TRUE },
  { "main", NULL, 1017, 1392156, 16660, UNCHECKED, TRUE },
  { NULL }
};

static const SiteExpectation threads_sites[] = {
  { "thread_worker_alloc", "worker", 16000, 1848000, 4920, UNCHECKED },
  { "main_before_threads", "main-before", 100, 4000, 2000, 4000 },
  { "main_between_threads", "main-between", 100, 7200, 0, 7200 },
  { NULL }
};

/* crossfree.c: 16 threads x 20 000 blocks of 16 + (LCG >> 20) % 240 bytes,
 * every one freed, mostly by another thread. */
static const SiteExpectation crossfree_sites[] = {
  { "worker", NULL, 320000, 43247356, 0, UNCHECKED },
  { NULL }
};

static const SiteExpectation forker_sites[] = {
  { "before_fork_alloc", "before", 100, 4999, 2499, 4999 },
  { "after_fork_alloc", "after", 30, 3000, 500, 3000 },
  { "main", NULL, 130, 7999, 2999, UNCHECKED },
  { NULL }
};
static const gchar *const forker_absent[] = { "child_alloc", NULL };

static const SiteExpectation execer_sites[] = {
  { "parent_before_exec", "before", 50, 1600, 960, 1600 },
  { "parent_after_exec", "after", 40, 3200, 0, 3200 },
  { NULL }
};
static const gchar *const execer_absent[] = { "exec_child_alloc", NULL };

static const SiteExpectation cxx_sites[] = {
  { "cxx_new_delete", "new", 100, 2400, 960, 2400 },
  { "cxx_new_array", "new-array", 10, 2000, 0, 200 },
  { "cxx_new_array", "new-array-cookie", 5, 360, 0, 72 },
  { "cxx_vector_growth", NULL, 8, 1020, 0, UNCHECKED },
  { NULL }
};

static const SiteExpectation dlopen_sites[] = {
  { "dl_lib_make_blocks", "lib", 25, 2800, 1195, 2800 },
  { NULL }
};

static const SiteExpectation demo_sites[] = {
  /* The summary string main forgets; the rest of the demo is checked
   * against the oracle. */
  { "summarize_top_words", NULL, 1, 256, 256, UNCHECKED },
  { NULL }
};

static const SiteExpectation bench_sites[] = {
  { "main", NULL, 5000000, 1320076511, 0, UNCHECKED },
  { NULL }
};

static const ProgramCase program_cases[] = {
  { "single", "single", NULL, "single.c", TRUE,
    TRUE, { 1017, 942, 1392156, 1384592, 16660, 72 }, TRUE,
    single_sites, NULL, "single" },
  { "threads", "threads", NULL, "threads.c", FALSE,
    FALSE, { 0 }, FALSE, threads_sites, NULL, "threads", "_dl_allocate_tls" },
  { "crossfree", "crossfree", NULL, "crossfree.c", FALSE,
    FALSE, { 0 }, FALSE, crossfree_sites, NULL, "crossfree", "_dl_allocate_tls" },
  { "forker", "forker", NULL, "forker.c", TRUE,
    TRUE, { 130, 75, 7999, 5499, 2999, 55 }, FALSE,
    forker_sites, forker_absent, "forker" },
  { "execer", "execer", NULL, "execer.c", TRUE,
    TRUE, { 90, 60, 4800, 4160, 960, 30 }, FALSE,
    execer_sites, execer_absent, "execer" },
  { "cxx", "cxx", NULL, "cxx.cc", TRUE,
    FALSE, { 0 }, FALSE, cxx_sites, NULL, "cxx" },
  { "dlopen", "dlopen_main", "@libhmtest-dlopen.so", "dlopen_lib.c", TRUE,
    FALSE, { 0 }, FALSE, dlopen_sites, NULL, "libhmtest-dlopen.so" },
  { "demo", "demo", "200000", "demo.c", TRUE,
    FALSE, { 0 }, FALSE, demo_sites, NULL, "demo" },
  { "bench-malloc", "bench-malloc", NULL, "bench-malloc.c", TRUE,
    TRUE, { 5000000, 5000000, 1320076511, 5343768, 0, 0 }, FALSE,
    bench_sites, NULL, "bench-malloc" },
};

/* ---- running a program once per process, report and oracle cached ---- */

static guint64
page_size (void)
{
  return (guint64) sysconf (_SC_PAGESIZE);
}

static GStrv
program_argv (const ProgramCase *pc)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree gchar *program = hm_test_program_path (pc->program);

  g_strv_builder_add (builder, program);
  if (pc->argument != NULL && pc->argument[0] == '@')
    {
      g_autofree gchar *path = hm_test_program_path (pc->argument + 1);
      g_strv_builder_add (builder, path);
    }
  else if (pc->argument != NULL)
    g_strv_builder_add (builder, pc->argument);
  return g_strv_builder_end (builder);
}

static ProgramState *
program_state (const ProgramCase *pc)
{
  ProgramState *state = g_hash_table_lookup (states, pc->name);
  if (state == NULL)
    {
      state = g_new0 (ProgramState, 1);
      g_hash_table_insert (states, (gpointer) pc->name, state);
    }
  return state;
}

/* The program's report, or NULL (and the test failed or skipped). */
static json_t *
program_report (const ProgramCase *pc)
{
  ProgramState *state = program_state (pc);

  if (!hm_test_require_hmtrace ())
    return NULL;
  if (!state->recorded)
    {
      g_auto(GStrv) argv = program_argv (pc);
      g_autofree gchar *file = g_strconcat (pc->name, ".hmt", NULL);
      g_autofree gchar *trace = g_build_filename (tmp_dir, file, NULL);

      state->recorded = TRUE;
      if (hm_test_record (trace, (const gchar *const *) argv, 0))
        state->report = hm_test_report_json (trace);
      return state->report;
    }
  if (state->report == NULL)
    hm_test_fail ("recording or reporting %s failed in an earlier test case", pc->name);
  return state->report;
}

static const HmOracleCounts *
program_oracle (const ProgramCase *pc)
{
  ProgramState *state = program_state (pc);

  if (!state->oracle_ran)
    {
      g_auto(GStrv) argv = program_argv (pc);
      state->oracle_ran = TRUE;
      state->oracle_ok = hm_test_oracle_counts ((const gchar *const *) argv, &state->oracle);
    }
  else if (!state->oracle_ok)
    hm_test_fail ("%s failed under count-preload in an earlier test case", pc->name);
  return state->oracle_ok ? &state->oracle : NULL;
}

/* ---- the checks ---- */

static void
check_site_expectation (const ProgramCase *pc, json_t *report, const SiteExpectation *e)
{
  guint line = e->marker != NULL ? hm_test_site_line (pc->source, e->marker) : 0;
  guint64 extra = e->plus_page_size ? page_size () : 0;
  HmSiteSums sums;

  hm_test_sum_sites (report, e->function, e->marker != NULL ? pc->source : NULL, line, &sums);
  if (e->allocations == 0)
    {
      if (sums.n_sites != 0)
        hm_test_fail ("%s:%u (%s, a failing call) has %u sites; expected none",
                      pc->source, line, e->function, sums.n_sites);
      return;
    }
  if (sums.n_sites == 0
      || sums.allocations != e->allocations
      || sums.bytes != e->bytes + extra
      || sums.leaked_bytes != e->leaked_bytes)
    {
      g_autofree gchar *where = e->marker != NULL
        ? g_strdup_printf ("%s at %s:%u", e->function, pc->source, line)
        : g_strdup_printf ("%s (any line)", e->function);
      g_autofree gchar *dump = hm_test_describe_sites (report, e->function);
      hm_test_fail ("%s: %u sites with %" G_GUINT64_FORMAT " allocations, %"
                    G_GUINT64_FORMAT " bytes, %" G_GUINT64_FORMAT " leaked; expected %"
                    G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                    ".  Sites that mention %s:\n%s",
                    where, sums.n_sites, sums.allocations, sums.bytes, sums.leaked_bytes,
                    e->allocations, e->bytes + extra, e->leaked_bytes, e->function, dump);
      return;
    }
  if (e->peak_live_bytes != UNCHECKED)
    {
      g_assert_cmpuint (sums.n_sites, ==, 1);
      g_assert_cmpuint (sums.peak_live_bytes, ==, e->peak_live_bytes + extra);
    }
}

static void
test_own_sites (gconstpointer data)
{
  const ProgramCase *pc = data;
  json_t *report = program_report (pc);

  if (report == NULL)
    return;
  for (const SiteExpectation *e = pc->sites; e->function != NULL; e++)
    check_site_expectation (pc, report, e);
}

/* The frames of the program's own functions name the module they are in. */
static void
test_own_module (gconstpointer data)
{
  const ProgramCase *pc = data;
  json_t *report = program_report (pc);
  const SiteExpectation *e = pc->sites;
  gsize i, j;
  json_t *site, *frame;
  guint n_frames = 0;

  if (report == NULL)
    return;
  json_array_foreach (json_object_get (report, "sites"), i, site)
    json_array_foreach (json_object_get (site, "stack"), j, frame)
      {
        if (g_strcmp0 (json_string_value (json_object_get (frame, "function")), e->function) != 0)
          continue;
        g_autofree gchar *base = g_path_get_basename (json_string_value (json_object_get (frame, "module")) ?: "");
        n_frames++;
        if (g_strcmp0 (base, pc->module) != 0)
          hm_test_fail ("a frame of %s is in module \"%s\"; expected %s",
                        e->function, base, pc->module);
      }
  g_assert_cmpuint (n_frames, >, 0);
}

static void
test_matches_oracle (gconstpointer data)
{
  const ProgramCase *pc = data;
  json_t *report = program_report (pc);
  const HmOracleCounts *oracle;

  if (report == NULL || (oracle = program_oracle (pc)) == NULL)
    return;
  hm_test_message ("count-preload: %" G_GUINT64_FORMAT " allocations, %" G_GUINT64_FORMAT
                   " frees, %" G_GUINT64_FORMAT " bytes, %" G_GUINT64_FORMAT " leaked in %"
                   G_GUINT64_FORMAT " blocks", oracle->allocations, oracle->frees,
                   oracle->bytes_allocated, oracle->leaked_bytes, oracle->leaked_blocks);
  g_assert_cmpuint (hm_test_json_uint (report, "allocations"), ==, oracle->allocations);
  g_assert_cmpuint (hm_test_json_uint (report, "frees"), ==, oracle->frees);
  g_assert_cmpuint (hm_test_json_uint (report, "leaked_blocks"), ==, oracle->leaked_blocks);
  if (pc->dtv_function != NULL)
    {
      /* The program makes no calloc of its own: the oracle's callocs are
       * exactly the DTVs. */
      HmSiteSums dtv;
      hm_test_sum_sites (report, pc->dtv_function, NULL, 0, &dtv);
      hm_test_message ("DTVs: %" G_GUINT64_FORMAT " callocs of %" G_GUINT64_FORMAT
                       " bytes here, %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                       " bytes under count-preload", dtv.allocations, dtv.bytes,
                       oracle->calloc_calls, oracle->calloc_bytes);
      g_assert_cmpuint (dtv.allocations, ==, oracle->calloc_calls);
      g_assert_cmpuint (hm_test_json_uint (report, "bytes_allocated") - dtv.bytes, ==,
                        oracle->bytes_allocated - oracle->calloc_bytes);
      g_assert_cmpuint (hm_test_json_uint (report, "leaked_bytes") - dtv.leaked_bytes, ==,
                        oracle->leaked_bytes - oracle->calloc_leaked_bytes);
    }
  else
    {
      g_assert_cmpuint (hm_test_json_uint (report, "bytes_allocated"), ==,
                        oracle->bytes_allocated);
      g_assert_cmpuint (hm_test_json_uint (report, "leaked_bytes"), ==, oracle->leaked_bytes);
    }
  if (pc->peak_is_deterministic)
    g_assert_cmpuint (hm_test_json_uint (report, "peak_bytes"), ==, oracle->peak_bytes);
  g_assert_true (json_is_false (json_object_get (report, "truncated")));
}

static void
test_exact_totals (gconstpointer data)
{
  const ProgramCase *pc = data;
  json_t *report = program_report (pc);
  guint64 extra = pc->totals_plus_page_size ? page_size () : 0;

  if (report == NULL)
    return;
  g_assert_cmpuint (hm_test_json_uint (report, "allocations"), ==, pc->totals.allocations);
  g_assert_cmpuint (hm_test_json_uint (report, "frees"), ==, pc->totals.frees);
  g_assert_cmpuint (hm_test_json_uint (report, "bytes_allocated"), ==,
                    pc->totals.bytes_allocated + extra);
  g_assert_cmpuint (hm_test_json_uint (report, "peak_bytes"), ==, pc->totals.peak_bytes);
  g_assert_cmpuint (hm_test_json_uint (report, "leaked_bytes"), ==, pc->totals.leaked_bytes);
  g_assert_cmpuint (hm_test_json_uint (report, "leaked_blocks"), ==, pc->totals.leaked_blocks);
}

/* The program's own table, checked with count-preload.c alone: if this fails,
 * the program's assumptions about glibc changed, not the agent. */
static void
test_oracle_exact_totals (gconstpointer data)
{
  const ProgramCase *pc = data;
  const HmOracleCounts *oracle = program_oracle (pc);
  guint64 extra = pc->totals_plus_page_size ? page_size () : 0;

  if (oracle == NULL)
    return;
  g_assert_cmpuint (oracle->allocations, ==, pc->totals.allocations);
  g_assert_cmpuint (oracle->frees, ==, pc->totals.frees);
  g_assert_cmpuint (oracle->unknown_frees, ==, 0);
  g_assert_cmpuint (oracle->bytes_allocated, ==, pc->totals.bytes_allocated + extra);
  g_assert_cmpuint (oracle->peak_bytes, ==, pc->totals.peak_bytes);
  g_assert_cmpuint (oracle->leaked_bytes, ==, pc->totals.leaked_bytes);
  g_assert_cmpuint (oracle->leaked_blocks, ==, pc->totals.leaked_blocks);
}

static void
test_absent_functions (gconstpointer data)
{
  const ProgramCase *pc = data;
  json_t *report = program_report (pc);

  if (report == NULL)
    return;
  for (gsize i = 0; pc->absent_functions[i] != NULL; i++)
    if (hm_test_report_has_function (report, pc->absent_functions[i]))
      {
        g_autofree gchar *dump = hm_test_describe_sites (report, pc->absent_functions[i]);
        hm_test_fail ("%s ran only in a child process, but the parent's trace has:\n%s",
                      pc->absent_functions[i], dump);
      }
}

/* single.c's two loops are one site each, not one per size or per call. */
static void
test_single_one_site_per_call (void)
{
  json_t *report = program_report (&program_cases[0]);
  HmSiteSums small, large;

  if (report == NULL)
    return;
  hm_test_sum_sites (report, "make_small_blocks", NULL, 0, &small);
  hm_test_sum_sites (report, "make_large_blocks", NULL, 0, &large);
  g_assert_cmpuint (small.n_sites, ==, 1);
  g_assert_cmpuint (large.n_sites, ==, 1);
}

static void
assert_member_type (json_t *object, const gchar *key, json_type type, gboolean nullable)
{
  json_t *value = json_object_get (object, key);
  if (value == NULL)
    hm_test_fail ("member \"%s\" is missing", key);
  else if (json_typeof (value) != type && !(nullable && json_is_null (value))
           && !(type == JSON_TRUE && json_is_boolean (value)))
    hm_test_fail ("member \"%s\" has JSON type %d, expected %d", key,
                  json_typeof (value), type);
}

static void
test_report_shape (void)
{
  json_t *report = program_report (&program_cases[0]);
  static const gchar *const counts[] = {
    "allocations", "frees", "bytes_allocated", "peak_bytes", "leaked_bytes", "leaked_blocks",
  };
  static const gchar *const site_counts[] = {
    "allocations", "bytes", "peak_live_bytes", "leaked_bytes",
  };
  gsize i, j;
  json_t *site, *frame;

  if (report == NULL)
    return;
  for (i = 0; i < G_N_ELEMENTS (counts); i++)
    assert_member_type (report, counts[i], JSON_INTEGER, FALSE);
  assert_member_type (report, "truncated", JSON_TRUE, FALSE);
  assert_member_type (report, "sites", JSON_ARRAY, FALSE);
  assert_member_type (report, "regions", JSON_ARRAY, FALSE);
  assert_member_type (report, "pools", JSON_ARRAY, FALSE);
  assert_member_type (report, "warnings", JSON_ARRAY, FALSE);
  g_assert_cmpuint (json_array_size (json_object_get (report, "sites")), >, 0);

  json_array_foreach (json_object_get (report, "sites"), i, site)
    {
      for (j = 0; j < G_N_ELEMENTS (site_counts); j++)
        assert_member_type (site, site_counts[j], JSON_INTEGER, FALSE);
      assert_member_type (site, "stack", JSON_ARRAY, FALSE);
      json_array_foreach (json_object_get (site, "stack"), j, frame)
        {
          assert_member_type (frame, "function", JSON_STRING, TRUE);
          assert_member_type (frame, "file", JSON_STRING, TRUE);
          assert_member_type (frame, "line", JSON_INTEGER, TRUE);
          assert_member_type (frame, "module", JSON_STRING, TRUE);
          if (json_object_get (frame, "address") == NULL)
            hm_test_fail ("a frame has no \"address\"");
        }
      if (g_test_failed ())
        return;
    }
}

/* A program's stdout, stderr and exit status pass through hmtrace untouched. */
static void
test_streams_and_status (void)
{
  g_autofree gchar *program = NULL;
  g_autofree gchar *trace = NULL;
  g_auto(HmTestRun) run = { 0 };

  if (!hm_test_require_hmtrace ())
    return;
  program = hm_test_program_path ("exit3");
  trace = g_build_filename (tmp_dir, "exit3.hmt", NULL);
  const gchar *argv[] = { hm_test_hmtrace_path (), "record", "-o", trace, "--", program, NULL };

  hm_test_spawn (argv, NULL, &run);
  g_assert_true (WIFEXITED (run.exit_status));
  g_assert_cmpint (WEXITSTATUS (run.exit_status), ==, 3);
  g_assert_cmpstr (run.stdout_text, ==, "exit3: a line on stdout\n");
  g_assert_cmpstr (run.stderr_text, ==, "exit3: a line on stderr\n");
  g_assert_true (g_file_test (trace, G_FILE_TEST_IS_REGULAR));
}

/* A program that becomes another by exec (a wrapper, as taskset or nice):
 * its trace ends at the exec and says so, the exec'd program runs untraced,
 * and the agent tells the user the trace is the first program's, naming
 * the second, unless HM_QUIET. */
static void
test_exec_ends_trace (void)
{
  g_autofree gchar *program = NULL;
  g_autofree gchar *trace = NULL;
  g_autoptr(json_t) report = NULL;
  HmSiteSums sums;

  if (!hm_test_require_hmtrace ())
    return;
  program = hm_test_program_path ("execer");
  trace = g_build_filename (tmp_dir, "execer-replace.hmt", NULL);
  for (int quiet = 0; quiet <= 1; quiet++)
    {
      const gchar *argv[] = { hm_test_hmtrace_path (), "record", "-o", trace, "--", program,
                              "replace", NULL };
      const gchar *env[] = { quiet ? "HM_QUIET=1" : "HM_QUIET=0", NULL };
      g_auto(HmTestRun) run = { 0 };
      hm_test_spawn (argv, env, &run);
      if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != 0)
        {
          hm_test_fail ("hmtrace record -- execer replace: status %d, stderr %s",
                        run.exit_status, run.stderr_text);
          return;
        }
      gboolean said = strstr (run.stderr_text, "execs /proc/self/exe") != NULL
                      && strstr (run.stderr_text, "not followed") != NULL;
      if (said == quiet)
        hm_test_fail ("with HM_QUIET=%d the agent %s the exec: \"%s\"", quiet,
                      said ? "still spoke of" : "said nothing of", run.stderr_text);
    }
  if ((report = hm_test_report_json (trace)) == NULL)
    return;
  json_t *end = json_object_get (report, "exit");
  g_assert_cmpstr (json_string_value (json_object_get (end, "reason")), ==, "exec");
  hm_test_sum_sites (report, "parent_before_exec", NULL, 0, &sums);
  g_assert_cmpuint (sums.allocations, ==, 50);
  hm_test_sum_sites (report, "exec_child_alloc", NULL, 0, &sums);
  g_assert_cmpuint (sums.allocations, ==, 0);
}

/* A program killed by a signal: hmtrace exits 128 + the signal like a shell,
 * and the trace reads up to where the program died. */
static void
test_killed_by_signal (gconstpointer data)
{
  const gchar *how = data;
  int signal_number = g_str_equal (how, "abort") ? SIGABRT : SIGKILL;
  g_autofree gchar *program = NULL;
  g_autofree gchar *file = g_strconcat ("crasher-", how, ".hmt", NULL);
  g_autofree gchar *trace = g_build_filename (tmp_dir, file, NULL);
  g_autoptr(json_t) report = NULL;
  HmSiteSums sums;

  if (!hm_test_require_hmtrace ())
    return;
  program = hm_test_program_path ("crasher");
  const gchar *argv[] = { program, how, NULL };
  if (!hm_test_record (trace, argv, 128 + signal_number)
      || (report = hm_test_report_json (trace)) == NULL)
    return;
  hm_test_sum_sites (report, "crash_alloc", NULL, 0, &sums);
  hm_test_message ("%s: the trace shows %" G_GUINT64_FORMAT " of crash_alloc's 100 "
                   "allocations; truncated: %s", how, sums.allocations,
                   json_is_true (json_object_get (report, "truncated")) ? "true" : "false");
  if (signal_number == SIGKILL)
    {
      /* nothing can be written after SIGKILL: the trace stops at its last
       * round, and says it was cut */
      g_assert_cmpuint (sums.allocations, <=, 100);
      g_assert_true (json_is_true (json_object_get (report, "truncated")));
    }
  else
    {
      /* a fatal signal the agent can catch: every allocation, and the end
       * says which signal */
      json_t *end = json_object_get (report, "exit");
      g_assert_cmpuint (sums.allocations, ==, 100);
      g_assert_false (json_is_true (json_object_get (report, "truncated")));
      g_assert_cmpstr (json_string_value (json_object_get (end, "reason")), ==, "signal");
      g_assert_cmpint (json_integer_value (json_object_get (end, "status")), ==, signal_number);
    }
}

/* threads.c recorded several times at once, on a loaded machine: every trace
 * whole and exact, no recording stuck (each is limited to 30 s).  Timing
 * bugs in the agent's per-thread buffers show here rather than in the single
 * recording above. */
#define STRESS_ROUNDS 5
#define STRESS_PARALLEL 4

static void
test_threads_stress (void)
{
  const ProgramCase *pc = &program_cases[1];
  g_autofree gchar *timeout = g_find_program_in_path ("timeout");
  g_autofree gchar *program = NULL;
  const HmOracleCounts *oracle;
  guint n_bad = 0;

  g_assert_cmpstr (pc->name, ==, "threads");
  if (!hm_test_require_hmtrace () || (oracle = program_oracle (pc)) == NULL)
    return;
  program = hm_test_program_path ("threads");
  for (int round = 0; round < STRESS_ROUNDS; round++)
    {
      GPid pids[STRESS_PARALLEL];
      gchar *traces[STRESS_PARALLEL];

      for (int k = 0; k < STRESS_PARALLEL; k++)
        {
          g_autofree gchar *name = g_strdup_printf ("stress-%d-%d.hmt", round, k);
          g_autoptr(GError) error = NULL;
          traces[k] = g_build_filename (tmp_dir, name, NULL);
          const gchar *argv[] = { timeout ? timeout : "timeout", "-s", "KILL", "30",
                                  hm_test_hmtrace_path (), "record", "-o", traces[k], "--",
                                  program, NULL };
          if (!g_spawn_async (NULL, (gchar **) argv, NULL,
                              G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL
                              | G_SPAWN_STDOUT_TO_DEV_NULL,
                              NULL, NULL, &pids[k], &error))
            g_error ("could not run hmtrace: %s", error->message);
        }
      for (int k = 0; k < STRESS_PARALLEL; k++)
        {
          int status = 0;
          g_autoptr(json_t) report = NULL;

          while (waitpid (pids[k], &status, 0) < 0)
            g_assert_cmpint (errno, ==, EINTR);
          g_spawn_close_pid (pids[k]);
          if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
            {
              hm_test_fail ("recording %s: wait status 0x%x (killed after 30 s: a hang?)",
                            traces[k], status);
              n_bad++;
            }
          else if ((report = hm_test_report_json (traces[k])) == NULL)
            n_bad++;
          else if (hm_test_json_uint (report, "allocations") != oracle->allocations
                   || hm_test_json_uint (report, "frees") != oracle->frees)
            {
              hm_test_fail ("%s: %" G_GUINT64_FORMAT " allocations and %" G_GUINT64_FORMAT
                            " frees; expected %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT,
                            traces[k], hm_test_json_uint (report, "allocations"),
                            hm_test_json_uint (report, "frees"), oracle->allocations,
                            oracle->frees);
              n_bad++;
            }
          g_free (traces[k]);
        }
    }
  hm_test_message ("%u of %d recordings bad", n_bad, STRESS_ROUNDS * STRESS_PARALLEL);
}

static void
add_program_tests (const ProgramCase *pc)
{
  g_autofree gchar *own = g_strdup_printf ("/record/%s/own-sites", pc->name);
  g_autofree gchar *module = g_strdup_printf ("/record/%s/own-module", pc->name);
  g_autofree gchar *oracle = g_strdup_printf ("/record/%s/matches-oracle", pc->name);
  g_autofree gchar *exact = g_strdup_printf ("/record/%s/exact-totals", pc->name);
  g_autofree gchar *absent = g_strdup_printf ("/record/%s/child-absent", pc->name);
  g_autofree gchar *oracle_exact = g_strdup_printf ("/oracle/%s-exact-totals", pc->name);

  g_test_add_data_func (own, pc, test_own_sites);
  g_test_add_data_func (module, pc, test_own_module);
  g_test_add_data_func (oracle, pc, test_matches_oracle);
  if (pc->has_exact_totals)
    {
      g_test_add_data_func (exact, pc, test_exact_totals);
      g_test_add_data_func (oracle_exact, pc, test_oracle_exact_totals);
    }
  if (pc->absent_functions != NULL)
    g_test_add_data_func (absent, pc, test_absent_functions);
}

static void
program_state_free (gpointer data)
{
  ProgramState *state = data;
  g_clear_pointer (&state->report, json_decref);
  g_free (state);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();
  tmp_dir = hm_test_make_tmp_dir ();
  states = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, program_state_free);

  g_test_add_func ("/record/single/report-shape", test_report_shape);
  g_test_add_func ("/record/single/one-site-per-call", test_single_one_site_per_call);
  g_test_add_func ("/record/exit3/streams-and-status", test_streams_and_status);
  g_test_add_func ("/record/execer/exec-ends-trace", test_exec_ends_trace);
  g_test_add_func ("/record/threads-stress/parallel", test_threads_stress);
  g_test_add_data_func ("/record/crasher/abort", "abort", test_killed_by_signal);
  g_test_add_data_func ("/record/crasher/kill", "kill", test_killed_by_signal);
  for (gsize i = 0; i < G_N_ELEMENTS (program_cases); i++)
    add_program_tests (&program_cases[i]);

  status = g_test_run ();
  g_hash_table_unref (states);
  if (g_getenv ("HM_TEST_KEEP_FILES") == NULL)
    hm_test_remove_dir (tmp_dir);
  else
    g_printerr ("# traces kept in %s\n", tmp_dir);
  g_free (tmp_dir);
  return status;
}
