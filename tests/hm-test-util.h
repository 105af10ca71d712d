/* hm-test-util.h — what the test drivers share: running hmtrace and the test
 * programs, reading `hmtrace report --json`, the count-preload.c oracle, and
 * finding SITE: markers in the programs' sources.
 *
 * Paths come from the environment that tests/meson.build sets:
 *   HMTRACE               the hmtrace executable
 *   HM_AGENT_PATH         libhybridmem.so (hmtrace reads it too)
 *   HM_TEST_PROGRAMS_DIR  the built test programs
 *   HM_TEST_SOURCE_DIR    tests/programs/ in the source tree
 *   HM_COUNT_PRELOAD      the count-preload.c oracle (a shared module)
 */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (json_t, json_decref)

typedef struct
{
  gint exit_status;   /* the raw wait status, as from waitpid() */
  gchar *stdout_text;
  gchar *stderr_text;
} HmTestRun;

void hm_test_run_clear (HmTestRun *run);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HmTestRun, hm_test_run_clear)

/* Whole-process counts seen by count-preload.c. */
typedef struct
{
  guint64 allocations;
  guint64 frees;
  guint64 unknown_frees;
  guint64 bytes_allocated;
  guint64 peak_bytes;
  guint64 leaked_bytes;
  guint64 leaked_blocks;
  guint64 memalign_calls;
  guint64 pvalloc_calls;
  guint64 reallocarray_calls;
  guint64 calloc_calls;
  guint64 calloc_bytes;
  guint64 calloc_leaked_bytes;
} HmOracleCounts;

/* Sums over the sites a SiteQuery matches. */
typedef struct
{
  guint n_sites;
  guint64 allocations;
  guint64 bytes;
  guint64 leaked_bytes;
  guint64 leaked_blocks;
  guint64 peak_live_bytes;  /* meaningful when n_sites == 1 */
} HmSiteSums;

/* g_test_fail_printf() and g_test_message() for messages that may span lines
 * (stderr of a program, a dump of sites): each line after the first gets the
 * TAP comment prefix, so meson's TAP parser is not confused. */
void hm_test_fail (const gchar *format, ...) G_GNUC_PRINTF (1, 2);
void hm_test_message (const gchar *format, ...) G_GNUC_PRINTF (1, 2);

/* Skips the current test (and returns FALSE) if HMTRACE or the agent is not
 * configured, so the drivers can run by hand before the build has them. */
gboolean hm_test_require_hmtrace (void);

const gchar *hm_test_hmtrace_path (void);
/* A built test program or module: HM_TEST_PROGRAMS_DIR/name. */
gchar *hm_test_program_path (const gchar *name);
/* A fresh directory for one test's files; hm_test_remove_dir() removes it. */
gchar *hm_test_make_tmp_dir (void);
void hm_test_remove_dir (const gchar *path);

/* Runs argv (NULL-terminated) to completion, with extra_env ("NAME=value",
 * NULL-terminated, may be NULL) added to the environment, stdin from
 * /dev/null.  Fails the test if it cannot be started. */
void hm_test_spawn (const gchar *const *argv, const gchar *const *extra_env,
                    HmTestRun *run);

/* The helpers below that check something mark the test failed with a message
 * (hm_test_fail) and return FALSE or NULL, so a driver can go on to its
 * next test case. */

/* `hmtrace record -o trace_path -- argv...`; checks it exited with
 * expected_status (pass 0 for the usual case) and left a file. */
gboolean hm_test_record (const gchar *trace_path, const gchar *const *argv,
                     gint expected_status);

/* `hmtrace report --json trace_path`; checks exit 0 and valid JSON with an
 * object at the top that has a "sites" array.  Returns a new reference. */
json_t *hm_test_report_json (const gchar *trace_path);

/* Runs argv under count-preload.c; checks exit status 0. */
gboolean hm_test_oracle_counts (const gchar *const *argv, HmOracleCounts *counts);

/* The 1-based line of `SITE: marker` in HM_TEST_SOURCE_DIR/source. */
guint hm_test_site_line (const gchar *source, const gchar *marker);

/* Sums the sites whose stack has a frame in function (and, if source is not
 * NULL, at basename(file) == source and line == line, unless line is 0). */
void hm_test_sum_sites (json_t *report, const gchar *function,
                        const gchar *source, guint line, HmSiteSums *sums);

/* Whether any site's stack has a frame in function. */
gboolean hm_test_report_has_function (json_t *report, const gchar *function);

/* A readable dump of the sites that mention function, for failure messages. */
gchar *hm_test_describe_sites (json_t *report, const gchar *function);

/* An unsigned integer member of the report; fails the test if missing. */
guint64 hm_test_json_uint (json_t *object, const gchar *key);

/* Checks the run failed cleanly: exited (not killed), non-zero status, and
 * exactly one non-empty line on stderr, containing must_mention if that is not
 * NULL (compared case-insensitively). */
void hm_test_assert_clean_failure (const HmTestRun *run, const gchar *must_mention);

G_END_DECLS
