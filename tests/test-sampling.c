/* test-sampling.c — sampling mode (HM_SAMPLE_BYTES, hmtrace record
 * --sample-bytes): estimates against a full trace of the same deterministic
 * program (programs/sample-sites.c), frees of sampled blocks matched and
 * unsampled ones silent, sampled blocks that realloc, report their usable
 * size and keep their alignment, the report saying "estimates", bad values,
 * lifetime analysis turned off, fork.
 */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hm-test-util.h"

/* The sites of sample-sites.c above 1% of its bytes. */
static const char *const big_sites[] = {
  "alloc_small", "alloc_medium", "alloc_large", "alloc_huge", "grow_buffer",
};
/* All of its sites. */
static const char *const own_sites[] = {
  "alloc_small", "alloc_medium", "alloc_large", "alloc_huge", "grow_buffer",
  "alloc_tiny", "alloc_aligned",
};

typedef struct {
  gchar *dir;
  gchar *full;                 /* the full trace of sample-sites 10, made once */
} Fixture;

static Fixture shared;

/* hmtrace record [-q] [--sample-bytes N] -o trace -- sample-sites scale,
 * with extra_env; returns the run (stderr is kept for the checks). */
static gboolean
record_sites (const gchar *trace, const gchar *sample_bytes, const gchar *scale,
              const gchar *const *extra_env, HmTestRun *run)
{
  g_autofree gchar *program = hm_test_program_path ("sample-sites");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer) hm_test_hmtrace_path ());
  g_ptr_array_add (argv, (gpointer) "record");
  if (sample_bytes != NULL)
    {
      g_ptr_array_add (argv, (gpointer) "--sample-bytes");
      g_ptr_array_add (argv, (gpointer) sample_bytes);
    }
  else
    g_ptr_array_add (argv, (gpointer) "--no-lifetime");
  g_ptr_array_add (argv, (gpointer) "-o");
  g_ptr_array_add (argv, (gpointer) trace);
  g_ptr_array_add (argv, (gpointer) "--");
  g_ptr_array_add (argv, program);
  g_ptr_array_add (argv, (gpointer) scale);
  g_ptr_array_add (argv, NULL);
  hm_test_spawn ((const gchar *const *) argv->pdata, extra_env, run);
  if (!WIFEXITED (run->exit_status) || WEXITSTATUS (run->exit_status) != 0)
    {
      hm_test_fail ("hmtrace record %s -- sample-sites %s: wait status 0x%x (sample-sites "
                    "exits 3: realloc lost data, 4: usable size too small, 5: misaligned); "
                    "stderr:\n%s", sample_bytes ? sample_bytes : "(full)", scale,
                    run->exit_status, run->stderr_text);
      return FALSE;
    }
  return TRUE;
}

static const gchar *
full_trace (void)
{
  if (shared.full == NULL)
    {
      g_auto(HmTestRun) run = { 0 };
      gchar *path = g_build_filename (shared.dir, "full.hmt", NULL);
      if (!record_sites (path, NULL, "10", NULL, &run))
        {
          g_free (path);
          return NULL;
        }
      shared.full = path;
    }
  return shared.full;
}

static json_t *
sampled_report (const gchar *name, const gchar *sample_bytes, const gchar *scale)
{
  g_autofree gchar *trace = g_build_filename (shared.dir, name, NULL);
  g_auto(HmTestRun) run = { 0 };
  const gchar *env[] = { "HM_SAMPLE_SEED=1", NULL };

  if (!record_sites (trace, sample_bytes, scale, env, &run))
    return NULL;
  return hm_test_report_json (trace);
}

static gboolean
within (const gchar *what, const gchar *site, double estimate, double exact, double tolerance)
{
  double error = exact > 0 ? (estimate - exact) / exact : 1.0;
  hm_test_message ("%s of %s: estimate %.0f, exact %.0f (%+.2f%%)", what, site, estimate, exact,
                   100.0 * error);
  if (error > tolerance || error < -tolerance)
    {
      hm_test_fail ("%s of %s: the estimate %.0f is %+.2f%% off the full trace's %.0f "
                    "(tolerance %.0f%%)", what, site, estimate, 100.0 * error, exact,
                    100.0 * tolerance);
      return FALSE;
    }
  return TRUE;
}

/* Each big site's bytes and calls, estimated from one sample per 4 KiB, are
 * close to the full trace's (about 160 MB a site: the bytes' standard
 * deviation is about 0.5%). */
static void
test_estimates (void)
{
  if (!hm_test_require_hmtrace () || full_trace () == NULL)
    return;
  g_autoptr(json_t) full = hm_test_report_json (full_trace ());
  g_autoptr(json_t) sampled = sampled_report ("estimates.hmt", "4096", "10");
  if (full == NULL || sampled == NULL)
    return;

  guint64 total = hm_test_json_uint (full, "bytes_allocated");
  for (guint i = 0; i < G_N_ELEMENTS (big_sites); i++)
    {
      HmSiteSums exact, estimate;
      hm_test_sum_sites (full, big_sites[i], NULL, 0, &exact);
      hm_test_sum_sites (sampled, big_sites[i], NULL, 0, &estimate);
      if (exact.n_sites == 0 || exact.bytes * 100 < total)
        {
          hm_test_fail ("%s is not above 1%% of the full trace's bytes (%" G_GUINT64_FORMAT
                        " of %" G_GUINT64_FORMAT ")", big_sites[i], exact.bytes, total);
          continue;
        }
      within ("bytes", big_sites[i], (double) estimate.bytes, (double) exact.bytes, 0.03);
      within ("calls", big_sites[i], (double) estimate.allocations, (double) exact.allocations,
              0.05);
    }
  within ("bytes", "the whole process", (double) hm_test_json_uint (sampled, "bytes_allocated"),
          (double) total, 0.03);
}

/* Every free in a sampled trace is of a sampled block: none is unknown, and
 * what the program frees is not left as a leak. */
static void
test_frees_matched (void)
{
  if (!hm_test_require_hmtrace ())
    return;
  g_autoptr(json_t) sampled = sampled_report ("frees.hmt", "4096", "10");
  if (sampled == NULL)
    return;

  g_assert_cmpuint (hm_test_json_uint (sampled, "unknown_frees"), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (own_sites); i++)
    {
      HmSiteSums sums;
      hm_test_sum_sites (sampled, own_sites[i], NULL, 0, &sums);
      if (sums.leaked_bytes != 0 || sums.leaked_blocks != 0)
        {
          g_autofree gchar *dump = hm_test_describe_sites (sampled, own_sites[i]);
          hm_test_fail ("%s frees everything, yet the sampled report leaks %" G_GUINT64_FORMAT
                        " bytes in %" G_GUINT64_FORMAT " blocks:\n%s", own_sites[i],
                        sums.leaked_bytes, sums.leaked_blocks, dump);
        }
    }
}

/* Unsampled allocations and frees write nothing: the trace at one sample
 * per MiB is a small fraction of the full one, and still has no unknown
 * free (an unsampled free written would be one). */
static void
test_unsampled_silent (void)
{
  if (!hm_test_require_hmtrace () || full_trace () == NULL)
    return;
  g_autofree gchar *trace = g_build_filename (shared.dir, "silent.hmt", NULL);
  g_auto(HmTestRun) run = { 0 };
  struct stat full_st, sampled_st;

  if (!record_sites (trace, "1M", "10", NULL, &run))
    return;
  g_assert_cmpint (stat (full_trace (), &full_st), ==, 0);
  g_assert_cmpint (stat (trace, &sampled_st), ==, 0);
  hm_test_message ("full trace %jd bytes, sampled at 1M %jd bytes", (intmax_t) full_st.st_size,
                   (intmax_t) sampled_st.st_size);
  /* about 780 samples of 9 MB of events */
  g_assert_cmpint (sampled_st.st_size * 50, <, full_st.st_size);
  g_autoptr(json_t) report = hm_test_report_json (trace);
  if (report != NULL)
    g_assert_cmpuint (hm_test_json_uint (report, "unknown_frees"), ==, 0);
}

/* One sample per 64 bytes: nearly every block is the arena's.  The program
 * checks realloc's copies, malloc_usable_size and posix_memalign's
 * alignment itself (its exit status), and the estimates are then nearly
 * exact. */
static void
test_everything_sampled (void)
{
  if (!hm_test_require_hmtrace () || full_trace () == NULL)
    return;
  g_autoptr(json_t) full = hm_test_report_json (full_trace ());
  g_autoptr(json_t) sampled = sampled_report ("dense.hmt", "64", "10");
  if (full == NULL || sampled == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (own_sites); i++)
    {
      HmSiteSums exact, estimate;
      hm_test_sum_sites (full, own_sites[i], NULL, 0, &exact);
      hm_test_sum_sites (sampled, own_sites[i], NULL, 0, &estimate);
      /* 16-byte blocks are sampled one in 4.5 (a standard deviation of
       * 0.85% over 50 000); the rest are 64 bytes or more */
      double tolerance = strcmp (own_sites[i], "alloc_tiny") == 0 ? 0.04 : 0.01;
      within ("bytes", own_sites[i], (double) estimate.bytes, (double) exact.bytes, tolerance);
      g_assert_cmpuint (estimate.leaked_bytes, ==, 0);
    }
  g_assert_cmpuint (hm_test_json_uint (sampled, "unknown_frees"), ==, 0);
}

/* The text report and the JSON say the numbers are estimates; a full
 * trace's do not. */
static void
test_report_says_estimates (void)
{
  if (!hm_test_require_hmtrace () || full_trace () == NULL)
    return;
  g_autofree gchar *trace = g_build_filename (shared.dir, "words.hmt", NULL);
  g_auto(HmTestRun) run = { 0 };
  g_auto(HmTestRun) text = { 0 };
  g_auto(HmTestRun) full_text = { 0 };

  if (!record_sites (trace, "512K", "1", NULL, &run))
    return;
  const gchar *report_argv[] = { hm_test_hmtrace_path (), "report", trace, NULL };
  hm_test_spawn (report_argv, NULL, &text);
  g_assert_true (WIFEXITED (text.exit_status) && WEXITSTATUS (text.exit_status) == 0);
  g_assert_nonnull (strstr (text.stdout_text, "one per 524288 bytes; numbers are estimates"));
  g_assert_nonnull (strstr (text.stdout_text, "estimated"));

  g_autoptr(json_t) report = hm_test_report_json (trace);
  g_assert_nonnull (report);
  json_t *sampled = json_object_get (report, "sampled");
  g_assert_true (json_is_object (sampled));
  g_assert_cmpuint (hm_test_json_uint (sampled, "sample_bytes"), ==, 524288);

  const gchar *full_argv[] = { hm_test_hmtrace_path (), "report", full_trace (), NULL };
  hm_test_spawn (full_argv, NULL, &full_text);
  g_assert_null (strstr (full_text.stdout_text, "estimates"));
  g_autoptr(json_t) full = hm_test_report_json (full_trace ());
  g_assert_null (json_object_get (full, "sampled"));
}

/* HM_SAMPLE_BYTES=lots: one line on stderr, every allocation recorded;
 * hmtrace record --sample-bytes lots: refused. */
static void
test_bad_values (void)
{
  if (!hm_test_require_hmtrace ())
    return;
  g_autofree gchar *trace = g_build_filename (shared.dir, "bad.hmt", NULL);
  g_auto(HmTestRun) run = { 0 };
  g_auto(HmTestRun) refused = { 0 };
  const gchar *env[] = { "HM_SAMPLE_BYTES=lots", "HM_LIFETIME_ANALYSIS=0", NULL };

  if (!record_sites (trace, NULL, "1", env, &run))
    return;
  g_auto(GStrv) lines = g_strsplit (g_strstrip (run.stderr_text), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 1);
  g_assert_nonnull (strstr (lines[0], "HM_SAMPLE_BYTES=lots"));
  g_autoptr(json_t) report = hm_test_report_json (trace);
  g_assert_nonnull (report);
  g_assert_null (json_object_get (report, "sampled"));
  g_assert_cmpuint (hm_test_json_uint (report, "allocations"), >=, 81000);

  g_autofree gchar *program = hm_test_program_path ("sample-sites");
  const gchar *argv[] = { hm_test_hmtrace_path (), "record", "--sample-bytes", "lots", "-o",
                          trace, "--", program, "1", NULL };
  hm_test_spawn (argv, NULL, &refused);
  hm_test_assert_clean_failure (&refused, "--sample-bytes");
}

/* Asked for both, lifetime analysis gives way, saying so once. */
static void
test_lifetime_off (void)
{
  if (!hm_test_require_hmtrace ())
    return;
  g_autofree gchar *trace = g_build_filename (shared.dir, "lifetime.hmt", NULL);
  g_auto(HmTestRun) run = { 0 };
  const gchar *env[] = { "HM_LIFETIME_ANALYSIS=1", NULL };

  if (!record_sites (trace, "512K", "1", env, &run))
    return;
  const gchar *say = "lifetime analysis is off while sampling";
  const gchar *first = strstr (run.stderr_text, say);
  g_assert_nonnull (first);
  g_assert_null (strstr (first + 1, say));
}

/* A program that forks and execs, nearly every block sampled: it runs as
 * without us and its trace reads. */
static void
test_fork (void)
{
  if (!hm_test_require_hmtrace ())
    return;
  g_autofree gchar *trace = g_build_filename (shared.dir, "fork.hmt", NULL);
  g_autofree gchar *forker = hm_test_program_path ("forker");
  g_auto(HmTestRun) plain = { 0 };
  g_auto(HmTestRun) run = { 0 };
  const gchar *plain_argv[] = { forker, NULL };
  const gchar *argv[] = { hm_test_hmtrace_path (), "record", "-q", "--sample-bytes", "16",
                          "-o", trace, "--", forker, NULL };

  hm_test_spawn (plain_argv, NULL, &plain);
  hm_test_spawn (argv, NULL, &run);
  g_assert_cmpint (run.exit_status, ==, plain.exit_status);
  g_assert_cmpstr (run.stdout_text, ==, plain.stdout_text);
  g_autoptr(json_t) report = hm_test_report_json (trace);
  g_assert_nonnull (report);
  g_assert_true (json_is_object (json_object_get (report, "sampled")));
  g_assert_cmpuint (hm_test_json_uint (report, "unknown_frees"), ==, 0);
}

/* single.c calls every entry point once or more, with failing calls
 * (malloc (SIZE_MAX - 4096), an odd alignment, an overflowing
 * reallocarray) among them; with one sample per 16 bytes nearly every block
 * is the arena's.  It runs as without us (its own checks of every call's
 * result decide its exit status), its trace has no unknown free, and the
 * estimate of its calls is about right.  (The full-trace side of the huge
 * size, which once made the countdown positive, is record-single's.) */
static void
test_every_entry_point (void)
{
  if (!hm_test_require_hmtrace ())
    return;
  g_autofree gchar *trace = g_build_filename (shared.dir, "single.hmt", NULL);
  g_autofree gchar *single = hm_test_program_path ("single");
  g_auto(HmTestRun) plain = { 0 };
  g_auto(HmTestRun) run = { 0 };
  const gchar *plain_argv[] = { single, NULL };
  const gchar *argv[] = { hm_test_hmtrace_path (), "record", "-q", "--sample-bytes", "16",
                          "-o", trace, "--", single, NULL };

  hm_test_spawn (plain_argv, NULL, &plain);
  hm_test_spawn (argv, NULL, &run);
  g_assert_cmpint (run.exit_status, ==, plain.exit_status);
  g_assert_cmpstr (run.stdout_text, ==, plain.stdout_text);
  g_autoptr(json_t) report = hm_test_report_json (trace);
  g_assert_nonnull (report);
  g_assert_cmpuint (hm_test_json_uint (report, "unknown_frees"), ==, 0);
  /* single.c makes about 1 018 allocations; at one sample per 16 bytes
   * nearly every one is in the trace, weighed close to 1 */
  guint64 n = hm_test_json_uint (report, "allocations");
  g_assert_cmpuint (n, >, 900);
  g_assert_cmpuint (n, <, 1200);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  shared.dir = hm_test_make_tmp_dir ();
  g_test_add_func ("/sampling/estimates", test_estimates);
  g_test_add_func ("/sampling/frees-matched", test_frees_matched);
  g_test_add_func ("/sampling/unsampled-frees-silent", test_unsampled_silent);
  g_test_add_func ("/sampling/everything-sampled", test_everything_sampled);
  g_test_add_func ("/sampling/report-says-estimates", test_report_says_estimates);
  g_test_add_func ("/sampling/bad-values", test_bad_values);
  g_test_add_func ("/sampling/lifetime-off", test_lifetime_off);
  g_test_add_func ("/sampling/fork", test_fork);
  g_test_add_func ("/sampling/every-entry-point", test_every_entry_point);
  status = g_test_run ();
  hm_test_remove_dir (shared.dir);
  g_free (shared.dir);
  g_free (shared.full);
  return status;
}
