/* test-attach.c — `hmtrace attach` on running processes: with the agent
 * preloaded (its socket), without it (injected by ptrace), twice in a row,
 * sampled (--sample-bytes, the agent preloaded), and every refusal, which
 * must leave the process running.
 *
 * The target is programs/attach-target.c: four threads allocating for a few
 * seconds, then one deterministic line; observed or not, it must print the
 * same, and the traces must hold its allocations.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hm-test-util.h"

#define ROUNDS "50"   /* about 2.5 s */
#define HOLDER_ROUNDS "250"   /* attach-holder: about 3 s */

typedef struct {
  GPid pid;
  FILE *out;
  gchar *first_line;
} Target;

/* Starts a program with its stdout on a pipe and reads its first line, so
 * that it is past its start (in main) when this returns. */
static void
target_start_args (Target *t, const gchar *program, const gchar *rounds,
                   const gchar *const *extra_env)
{
  g_autofree gchar *path = hm_test_program_path (program);
  const gchar *argv[] = { path, rounds, NULL };
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;
  gint out_fd;
  char line[256];

  for (gsize i = 0; extra_env != NULL && extra_env[i] != NULL; i++)
    {
      const gchar *eq = strchr (extra_env[i], '=');
      g_autofree gchar *name = g_strndup (extra_env[i], eq - extra_env[i]);
      envp = g_environ_setenv (envp, name, eq + 1, TRUE);
    }
  memset (t, 0, sizeof *t);
  if (!g_spawn_async_with_pipes (NULL, (gchar **) argv, envp,
                                 G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL, NULL,
                                 NULL, &t->pid, NULL, &out_fd, NULL, &error))
    g_error ("could not run %s: %s", path, error->message);
  t->out = fdopen (out_fd, "r");
  t->first_line = g_strdup (fgets (line, sizeof line, t->out) ? line : "");
}

static void
target_start (Target *t, const gchar *program, const gchar *const *extra_env)
{
  target_start_args (t, program, ROUNDS, extra_env);
}

/* Waits for the target; its whole stdout, or NULL (test failed) if it did
 * not exit with 0. */
static gchar *
target_finish (Target *t)
{
  GString *text = g_string_new (t->first_line);
  char buf[4096];
  size_t n;
  int status;

  while ((n = fread (buf, 1, sizeof buf, t->out)) > 0)
    g_string_append_len (text, buf, (gssize) n);
  fclose (t->out);
  while (waitpid (t->pid, &status, 0) < 0 && errno == EINTR)
    ;
  g_free (t->first_line);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      hm_test_fail ("the target ended with wait status 0x%x; its output:\n%s", status, text->str);
      g_string_free (text, TRUE);
      return NULL;
    }
  return g_string_free (text, FALSE);
}


/* --- where the target's GOT entry for malloc points ------------------------- */

/* The offset (from the load address) of exe's GOT entry for symbol: a
 * JUMP_SLOT or GLOB_DAT relocation; 0 if none.  *is_pie says whether the
 * offset is relative to where the file is mapped. */
static guint64
got_entry (const gchar *exe, const gchar *symbol, gboolean *is_pie)
{
  g_autofree gchar *data = NULL;
  gsize size = 0;
  guint64 found = 0;

  if (!g_file_get_contents (exe, &data, &size, NULL) || size < sizeof (Elf64_Ehdr))
    return 0;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *) data;
  *is_pie = eh->e_type == ET_DYN;
  if (eh->e_shoff + (guint64) eh->e_shnum * sizeof (Elf64_Shdr) > size)
    return 0;
  const Elf64_Shdr *sh = (const Elf64_Shdr *) (data + eh->e_shoff);
  for (int i = 0; i < eh->e_shnum && found == 0; i++)
    {
      if (sh[i].sh_type != SHT_RELA || sh[i].sh_link >= eh->e_shnum)
        continue;
      const Elf64_Shdr *symtab = &sh[sh[i].sh_link];
      const Elf64_Shdr *strtab = &sh[symtab->sh_link];
      const Elf64_Rela *r = (const Elf64_Rela *) (data + sh[i].sh_offset);
      for (guint64 j = 0; j < sh[i].sh_size / sizeof *r; j++)
        {
          guint type = ELF64_R_TYPE (r[j].r_info);
          if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
            continue;
          const Elf64_Sym *sym = (const Elf64_Sym *) (data + symtab->sh_offset) + ELF64_R_SYM (r[j].r_info);
          if (strcmp (data + strtab->sh_offset + sym->st_name, symbol) == 0)
            found = r[j].r_offset;
        }
    }
  return found;
}

/* Whether the target's own calls of malloc go to the agent right now. */
static gboolean
malloc_goes_to_agent (GPid pid)
{
  g_autofree gchar *exe = hm_test_program_path ("attach-target");
  g_autofree gchar *maps_path = g_strdup_printf ("/proc/%d/maps", (int) pid);
  g_autofree gchar *mem_path = g_strdup_printf ("/proc/%d/mem", (int) pid);
  g_autofree gchar *maps = NULL;
  g_auto(GStrv) lines = NULL;
  gboolean is_pie = FALSE;
  guint64 offset = got_entry (exe, "malloc", &is_pie), base = G_MAXUINT64, value = 0;
  gboolean in_agent = FALSE;

  g_assert_cmpuint (offset, !=, 0);
  g_assert_true (g_file_get_contents (maps_path, &maps, NULL, NULL));
  lines = g_strsplit (maps, "\n", -1);
  for (gchar **l = lines; *l != NULL; l++)
    if (g_str_has_suffix (*l, "/attach-target"))
      base = MIN (base, g_ascii_strtoull (*l, NULL, 16));
  int fd = open (mem_path, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pread (fd, &value, sizeof value, (off_t) ((is_pie ? base : 0) + offset)), ==,
                   sizeof value);
  close (fd);
  for (gchar **l = lines; *l != NULL; l++)
    {
      gchar *dash;
      guint64 start = g_ascii_strtoull (*l, &dash, 16);
      guint64 end = *dash == '-' ? g_ascii_strtoull (dash + 1, NULL, 16) : 0;
      if (value >= start && value < end && strstr (*l, "libhybridmem") != NULL)
        in_agent = TRUE;
    }
  return in_agent;
}

/* What attach-target prints when nobody looks. */
static const gchar *
unobserved_output (void)
{
  static gchar *expected;
  if (expected == NULL)
    {
      Target t;
      target_start (&t, "attach-target", NULL);
      expected = target_finish (&t);
      g_assert_nonnull (expected);
      g_assert_true (g_str_has_prefix (expected, "attach-target: 4 threads"));
    }
  return expected;
}

static void
run_attach (GPid pid, const gchar *trace, const gchar *duration, HmTestRun *run)
{
  g_autofree gchar *pid_text = g_strdup_printf ("%d", (int) pid);
  const gchar *argv[] = { hm_test_hmtrace_path (), "attach", "-o", trace, "--duration", duration,
                          pid_text, NULL };
  if (duration == NULL)
    {
      argv[4] = pid_text;
      argv[5] = NULL;
    }
  hm_test_spawn (argv, NULL, run);
}

/* The trace is whole, holds the target's allocations from its threads, and
 * no frees of blocks from before the attach are called bad. */
static json_t *
check_trace (const gchar *trace, const gchar *expected_end)
{
  json_t *report = hm_test_report_json (trace);
  HmSiteSums sums;

  if (report == NULL)
    return NULL;
  if (json_is_true (json_object_get (report, "truncated")))
    hm_test_fail ("%s is cut", trace);
  json_t *exit = json_object_get (report, "exit");
  const char *reason = json_string_value (json_object_get (exit, "reason"));
  if (reason == NULL || strcmp (reason, expected_end) != 0)
    hm_test_fail ("%s ends with %s, not %s", trace, reason ? reason : "no END", expected_end);
  hm_test_sum_sites (report, "one_round", "attach-target.c",
                     hm_test_site_line ("attach-target.c", "round-alloc"), &sums);
  /* at least a round of one thread (100 blocks, half by malloc, half calloc) */
  if (sums.allocations < 100)
    {
      g_autofree gchar *sites = hm_test_describe_sites (report, "one_round");
      hm_test_fail ("%s holds %" G_GUINT64_FORMAT " allocations of one_round; sites:\n%s", trace,
                    sums.allocations, sites);
    }
  if (hm_test_json_uint (report, "threads") < 2)
    hm_test_fail ("%s saw fewer than two threads", trace);
  if (json_array_size (json_object_get (report, "warnings")) != 0)
    hm_test_fail ("%s has warnings: frees of blocks from before the attach are not bad", trace);
  return report;
}

/* A debugger asks a running process for a leak scan (issue 4's "on request
 * from a live debugger session"): the process started with lifetime
 * analysis, lost 10 blocks of 4242 bytes and keeps 10 of 3131 in a global;
 * the attached trace holds exactly the 10 lost ones as leak warnings, and a
 * mark saying what was done. */
static void
test_analyze_on_request (void)
{
  g_autofree gchar *dir = hm_test_make_tmp_dir ();
  g_autofree gchar *trace = g_build_filename (dir, "analyzed.hmt", NULL);
  g_autofree gchar *preload = g_strdup_printf ("LD_PRELOAD=%s", g_getenv ("HM_AGENT_PATH"));
  g_autofree gchar *pid_text = NULL;
  g_autofree gchar *output = NULL;
  g_auto(HmTestRun) run = { 0 };
  const gchar *env[] = { preload, "HM_LIFETIME_ANALYSIS=1", "HM_QUIET=1", NULL };
  Target t;

  if (!hm_test_require_hmtrace ())
    return;
  target_start (&t, "attach-leaker", env);
  g_assert_cmpstr (t.first_line, ==, "attach-leaker: ready\n");
  pid_text = g_strdup_printf ("%d", (int) t.pid);
  const gchar *argv[] = { hm_test_hmtrace_path (), "attach", "--analyze", "--duration", "0.3",
                          "-o", trace, pid_text, NULL };
  hm_test_spawn (argv, NULL, &run);
  output = target_finish (&t);
  if (run.exit_status != 0)
    {
      hm_test_fail ("hmtrace attach --analyze failed: %s", run.stderr_text);
      return;
    }
  g_autoptr(json_t) report = hm_test_report_json (trace);
  g_assert_nonnull (report);
  json_t *warnings = json_object_get (report, "warnings");
  guint leaks = 0;
  for (gsize i = 0; i < json_array_size (warnings); i++)
    {
      json_t *w = json_array_get (warnings, i);
      if (g_strcmp0 (json_string_value (json_object_get (w, "kind")), "leak") != 0)
        continue;
      leaks++;
      g_assert_cmpuint (hm_test_json_uint (w, "size"), ==, 4242);
    }
  hm_test_message ("analyze on request: %u leak warnings in the attached trace", leaks);
  g_assert_cmpuint (leaks, ==, 10);
  g_assert_nonnull (output);
  hm_test_remove_dir (dir);
}

static void
test_agent_present (void)
{
  g_autofree gchar *dir = NULL, *trace = NULL, *output = NULL;
  g_auto(HmTestRun) run = { 0 };
  g_autofree gchar *preload = NULL;
  Target t;

  if (!hm_test_require_hmtrace ())
    return;
  const gchar *expected = unobserved_output ();
  dir = hm_test_make_tmp_dir ();
  trace = g_build_filename (dir, "present.hmt", NULL);
  preload = g_strdup_printf ("LD_PRELOAD=%s", g_getenv ("HM_AGENT_PATH"));
  const gchar *env[] = { preload, NULL };
  target_start (&t, "attach-target", env);
  /* until the process exits: its END, and the early blocks freed at the end */
  run_attach (t.pid, trace, NULL, &run);
  output = target_finish (&t);
  if (run.exit_status != 0)
    hm_test_fail ("hmtrace attach failed: %s", run.stderr_text);
  else if (!strstr (run.stderr_text, "agent injected"))
    {
      g_autoptr(json_t) report = check_trace (trace, "exit");
      if (report != NULL && hm_test_json_uint (report, "unknown_frees") < 64)
        hm_test_fail ("the 64 blocks main allocated before the attach were not freed as "
                      "unknown blocks (%" G_GUINT64_FORMAT ")",
                      hm_test_json_uint (report, "unknown_frees"));
    }
  else
    hm_test_fail ("the agent was preloaded, yet hmtrace injected it: %s", run.stderr_text);
  g_assert_cmpstr (output, ==, expected);
  hm_test_remove_dir (dir);
}

/* Injected, detached, attached again (now to the agent's socket), detached:
 * the program never notices.  While attached its calls of malloc go to the
 * agent; after the detach, straight to the C library again. */
static void
test_injected_twice (void)
{
  g_autofree gchar *dir = NULL, *first = NULL, *second = NULL, *output = NULL, *pid_text = NULL;
  g_autofree gchar *stderr_text = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(HmTestRun) run2 = { 0 };
  GPid first_pid;
  gint stderr_fd, status;
  Target t;

  if (!hm_test_require_hmtrace ())
    return;
  const gchar *expected = unobserved_output ();
  dir = hm_test_make_tmp_dir ();
  first = g_build_filename (dir, "first.hmt", NULL);
  second = g_build_filename (dir, "second.hmt", NULL);
  target_start (&t, "attach-target", NULL);
  pid_text = g_strdup_printf ("%d", (int) t.pid);
  g_assert_false (malloc_goes_to_agent (t.pid));
  {
    const gchar *argv[] = { hm_test_hmtrace_path (), "attach", "-o", first, "--duration", "0.8",
                            pid_text, NULL };
    g_assert_true (g_spawn_async_with_pipes (NULL, (gchar **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                             NULL, NULL, &first_pid, NULL, NULL, &stderr_fd, &error));
  }
  g_usleep (400000);
  if (!malloc_goes_to_agent (t.pid))
    hm_test_fail ("while attached, the program's GOT entry for malloc does not point at the agent");
  while (waitpid (first_pid, &status, 0) < 0 && errno == EINTR)
    ;
  {
    g_autoptr(GIOChannel) channel = g_io_channel_unix_new (stderr_fd);
    g_io_channel_set_close_on_unref (channel, TRUE);
    g_io_channel_read_to_end (channel, &stderr_text, NULL, NULL);
  }
  if (malloc_goes_to_agent (t.pid))
    hm_test_fail ("after the detach, the program's GOT entry for malloc still points at the agent");
  run_attach (t.pid, second, "0.6", &run2);
  output = target_finish (&t);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0 || !strstr (stderr_text, "agent injected"))
    hm_test_fail ("the first attach did not inject the agent: %s", stderr_text);
  else
    {
      g_autoptr(json_t) report = check_trace (first, "detach");
    }
  if (run2.exit_status != 0 || strstr (run2.stderr_text, "agent injected"))
    hm_test_fail ("the second attach did not reconnect to the agent: %s", run2.stderr_text);
  else
    {
      g_autoptr(json_t) report = check_trace (second, "detach");
    }
  g_assert_cmpstr (output, ==, expected);
  hm_test_remove_dir (dir);
}

/* A second debugger while one is attached gets an empty stream at once, and
 * says so; the first one's trace is whole. */
static void
test_one_at_a_time (void)
{
  g_autofree gchar *dir = NULL, *first = NULL, *second = NULL, *output = NULL;
  g_autofree gchar *preload = NULL, *pid_text = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(HmTestRun) run = { 0 };
  GPid first_pid;
  int status;
  Target t;

  if (!hm_test_require_hmtrace ())
    return;
  dir = hm_test_make_tmp_dir ();
  first = g_build_filename (dir, "first.hmt", NULL);
  second = g_build_filename (dir, "second.hmt", NULL);
  preload = g_strdup_printf ("LD_PRELOAD=%s", g_getenv ("HM_AGENT_PATH"));
  target_start (&t, "attach-target", (const gchar *const[]) { preload, NULL });
  pid_text = g_strdup_printf ("%d", (int) t.pid);
  {
    const gchar *argv[] = { hm_test_hmtrace_path (), "attach", "-q", "-o", first, "--duration",
                            "1.2", pid_text, NULL };
    g_assert_true (g_spawn_async (NULL, (gchar **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                  NULL, &first_pid, &error));
  }
  g_usleep (400000);
  run_attach (t.pid, second, "0.3", &run);
  hm_test_assert_clean_failure (&run, "another debugger");
  while (waitpid (first_pid, &status, 0) < 0 && errno == EINTR)
    ;
  output = target_finish (&t);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    hm_test_fail ("the first hmtrace attach failed (wait status 0x%x)", status);
  else
    {
      g_autoptr(json_t) report = check_trace (first, "detach");
    }
  hm_test_remove_dir (dir);
}

/* A refusal: one clean line, and the target finishes as if nothing happened. */
static void
check_refused (const gchar *program, const gchar *must_mention, const gchar *const *env,
               void (*before) (GPid), void (*after) (GPid))
{
  g_autofree gchar *dir = hm_test_make_tmp_dir ();
  g_autofree gchar *trace = g_build_filename (dir, "refused.hmt", NULL);
  g_autofree gchar *output = NULL;
  g_auto(HmTestRun) run = { 0 };
  Target t;

  target_start (&t, program, env);
  if (before)
    before (t.pid);
  run_attach (t.pid, trace, "0.3", &run);
  if (after)
    after (t.pid);
  output = target_finish (&t);
  hm_test_assert_clean_failure (&run, must_mention);
  if (output != NULL && !g_str_has_suffix (output, "\n") )
    hm_test_fail ("the target's output is cut: %s", output);
  if (output != NULL && strstr (output, "checksum") == NULL)
    hm_test_fail ("the target did not finish its work: %s", output);
  hm_test_remove_dir (dir);
}

/* HM_LISTEN=0: no socket, and hmtrace does not inject a second agent. */
static void
test_listen_off (void)
{
  g_autofree gchar *preload = NULL;
  if (!hm_test_require_hmtrace ())
    return;
  preload = g_strdup_printf ("LD_PRELOAD=%s", g_getenv ("HM_AGENT_PATH"));
  check_refused ("attach-target", "does not listen",
                 (const gchar *const[]) { preload, "HM_LISTEN=0", NULL }, NULL, NULL);
}

static void
test_no_such_pid (void)
{
  g_auto(HmTestRun) run = { 0 };
  if (!hm_test_require_hmtrace ())
    return;
  /* above pid_max (at most 4194304 on Linux) */
  const gchar *argv[] = { hm_test_hmtrace_path (), "attach", "--duration", "1", "4194305", NULL };
  hm_test_spawn (argv, NULL, &run);
  hm_test_assert_clean_failure (&run, "no process");
}

static void
test_static (void)
{
  g_autofree gchar *path = hm_test_program_path ("static-attach-target");
  if (!hm_test_require_hmtrace ())
    return;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no static libc to link static-attach-target");
      return;
    }
  check_refused ("static-attach-target", "statically linked", NULL, NULL, NULL);
}

static void
stop_it (GPid pid)
{
  kill (pid, SIGSTOP);
  /* until the kernel says so */
  for (int i = 0; i < 200; i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
      g_autofree gchar *stat = NULL;
      if (g_file_get_contents (path, &stat, NULL, NULL) && strstr (stat, ") T "))
        return;
      g_usleep (5000);
    }
}

static void
continue_it (GPid pid)
{
  kill (pid, SIGCONT);
}

static void
test_stopped (void)
{
  if (!hm_test_require_hmtrace ())
    return;
  check_refused ("attach-target", "stopped", NULL, stop_it, continue_it);
}

static void
trace_it (GPid pid)
{
  if (ptrace (PTRACE_SEIZE, pid, NULL, NULL) != 0)
    g_test_message ("cannot ptrace the target: %s", g_strerror (errno));
}

static void
untrace_it (GPid pid)
{
  int status;
  /* detaching needs a stop */
  if (ptrace (PTRACE_INTERRUPT, pid, NULL, NULL) == 0 && waitpid (pid, &status, __WALL) == pid)
    ptrace (PTRACE_DETACH, pid, NULL, NULL);
}

static void
test_already_traced (void)
{
  if (!hm_test_require_hmtrace ())
    return;
  check_refused ("attach-target", "already traced", NULL, trace_it, untrace_it);
}

static void
test_ptrace_scope (void)
{
  g_autofree gchar *scope = NULL;
  if (!g_file_get_contents ("/proc/sys/kernel/yama/ptrace_scope", &scope, NULL, NULL))
    {
      g_test_skip ("no Yama LSM on this kernel (no /proc/sys/kernel/yama/ptrace_scope)");
      return;
    }
  if (atoi (scope) == 0 || geteuid () == 0)
    {
      g_test_skip ("ptrace_scope is 0, or we are root: ptrace is permitted here");
      return;
    }
  /* the target is not our descendant's tracee-to-be: scope 1 forbids it,
   * unless it is our child, which it is; so the test needs scope >= 2 */
  if (atoi (scope) < 2)
    {
      g_test_skip ("ptrace_scope 1 lets a parent trace its child: cannot provoke a denial");
      return;
    }
  check_refused ("attach-target", "ptrace_scope", NULL, NULL, NULL);
}

/* attach-regions (OBJECTS per round; its checksum, as computed there). */
#define REGION_OBJECTS 64
#define REGION_ROUNDS 1500

/* One trace of attach-regions: each of its two regions was reset many
 * times, and between resets came exactly REGION_OBJECTS allocations, so the
 * count is within one round of resets x REGION_OBJECTS.  Objects that the
 * inline path took without telling the library would leave it far short. */
static void
check_region_trace (const gchar *trace, const HmTestRun *run)
{
  if (run->exit_status != 0)
    {
      hm_test_fail ("hmtrace attach failed: %s", run->stderr_text);
      return;
    }
  g_autoptr(json_t) report = hm_test_report_json (trace);
  json_t *regions = report ? json_object_get (report, "regions") : NULL;
  guint workers = 0;
  for (gsize i = 0; i < json_array_size (regions); i++)
    {
      json_t *r = json_array_get (regions, i);
      const char *name = json_string_value (json_object_get (r, "name"));
      if (name == NULL || !g_str_has_prefix (name, "worker-"))
        continue;
      workers++;
      guint64 allocations = hm_test_json_uint (r, "allocations");
      guint64 resets = hm_test_json_uint (r, "resets");
      hm_test_message ("%s: region %s, %" G_GUINT64_FORMAT " allocations, %" G_GUINT64_FORMAT
                       " resets", trace, name, allocations, resets);
      if (resets < 10 || allocations + REGION_OBJECTS < resets * REGION_OBJECTS
          || allocations > (resets + 1) * REGION_OBJECTS)
        hm_test_fail ("%s: region %s has %" G_GUINT64_FORMAT " allocations for %" G_GUINT64_FORMAT
                      " resets of %d objects each", trace, name, allocations, resets,
                      REGION_OBJECTS);
    }
  if (workers != 2)
    hm_test_fail ("%s names %u of the 2 worker regions", trace, workers);
}

/* Attached twice to a program that allocates from regions through
 * hybridmem.h's inline path: traced, every object is an event (the second
 * time too, when the threads' traced pieces are from the first session),
 * and the program's output does not change. */
static void
test_regions (void)
{
  g_autofree gchar *dir = NULL, *first = NULL, *second = NULL, *output = NULL;
  g_autofree gchar *expected = NULL;
  g_auto(HmTestRun) run1 = { 0 };
  g_auto(HmTestRun) run2 = { 0 };
  guint64 checksum = 0;
  Target t;

  if (!hm_test_require_hmtrace ())
    return;
  for (guint64 k = 0; k < (guint64) REGION_ROUNDS * REGION_OBJECTS; k++)
    checksum += 2 * (k % 7);
  expected = g_strdup_printf ("attach-regions: 2 threads, %d rounds\nchecksum %" G_GUINT64_FORMAT
                              "\n", REGION_ROUNDS, checksum);
  dir = hm_test_make_tmp_dir ();
  first = g_build_filename (dir, "first.hmt", NULL);
  second = g_build_filename (dir, "second.hmt", NULL);
  target_start_args (&t, "attach-regions", G_STRINGIFY (REGION_ROUNDS), NULL);
  g_usleep (200000);         /* the threads' untraced pieces in use */
  run_attach (t.pid, first, "0.5", &run1);
  g_usleep (200000);
  run_attach (t.pid, second, "0.5", &run2);
  output = target_finish (&t);
  check_region_trace (first, &run1);
  check_region_trace (second, &run2);
  g_assert_cmpstr (output, ==, expected);
  hm_test_remove_dir (dir);
}

/* What attach-holder prints when nobody looks. */
static const gchar *
unobserved_holder_output (void)
{
  static gchar *expected;
  if (expected == NULL)
    {
      Target t;
      target_start_args (&t, "attach-holder", HOLDER_ROUNDS, NULL);
      expected = target_finish (&t);
      g_assert_nonnull (expected);
      g_assert_true (g_str_has_prefix (expected, "attach-holder: 2 threads"));
    }
  return expected;
}

/* The sums of attach-holder's one site in a report. */
static void
holder_sums (json_t *report, HmSiteSums *sums)
{
  hm_test_sum_sites (report, "holder", "attach-holder.c",
                     hm_test_site_line ("attach-holder.c", "hold"), sums);
}

/* hmtrace attach --sample-bytes to a process with the agent preloaded
 * (programs/attach-holder.c, which always holds about 2000 blocks): the
 * trace says sample_bytes and its counts are estimates; frees of blocks
 * from before the attach go to the C library unrecorded (no unknown frees,
 * where a full attach sees many); after the detach the program frees and
 * reallocs the sampled blocks it still holds, with nothing traced, and ends
 * with the output it has unobserved.  A second attach, without sampling,
 * records every allocation again.  Into a process without the agent,
 * sampling is refused before anything is injected. */
static void
test_sampled (void)
{
  g_autofree gchar *dir = NULL, *sampled = NULL, *full = NULL, *output = NULL;
  g_autofree gchar *preload = NULL, *pid_text = NULL;
  g_auto(HmTestRun) run = { 0 };
  g_auto(HmTestRun) run2 = { 0 };
  Target t;

  if (!hm_test_require_hmtrace ())
    return;
  const gchar *expected = unobserved_holder_output ();
  dir = hm_test_make_tmp_dir ();
  sampled = g_build_filename (dir, "sampled.hmt", NULL);
  full = g_build_filename (dir, "full.hmt", NULL);
  preload = g_strdup_printf ("LD_PRELOAD=%s", g_getenv ("HM_AGENT_PATH"));
  const gchar *env[] = { preload, NULL };
  target_start_args (&t, "attach-holder", HOLDER_ROUNDS, env);
  g_usleep (300000);         /* its rings full of blocks from before the attach */
  pid_text = g_strdup_printf ("%d", (int) t.pid);
  const gchar *argv[] = { hm_test_hmtrace_path (), "attach", "--sample-bytes", "4K",
                          "--duration", "0.8", "-o", sampled, pid_text, NULL };
  hm_test_spawn (argv, NULL, &run);
  /* the sampled blocks still held are freed now, with nobody attached */
  g_usleep (500000);
  run_attach (t.pid, full, "0.5", &run2);
  output = target_finish (&t);
  if (run.exit_status != 0)
    hm_test_fail ("hmtrace attach --sample-bytes 4K failed: %s", run.stderr_text);
  else
    {
      g_autoptr(json_t) report = hm_test_report_json (sampled);
      json_t *sampling = report ? json_object_get (report, "sampled") : NULL;
      const char *reason = report ? json_string_value (json_object_get (
                                      json_object_get (report, "exit"), "reason")) : NULL;
      HmSiteSums sums = { 0 };
      if (report != NULL)
        holder_sums (report, &sums);
      double seconds = report ? hm_test_json_uint (report, "duration_ns") / 1e9 : 0;
      /* at most 2 threads x 100 steps per 10 ms round; twice that for the
       * estimate's noise */
      double most = 2 * 100 * (seconds / 0.01 + 1) * 2;
      hm_test_message ("sampled attach: %.2f s, attach-holder's allocations estimated at %"
                       G_GUINT64_FORMAT " (at most %.0f possible), %" G_GUINT64_FORMAT
                       " unknown frees", seconds, sums.allocations, most,
                       report ? hm_test_json_uint (report, "unknown_frees") : 0);
      if (report == NULL || g_strcmp0 (reason, "detach") != 0)
        hm_test_fail ("the sampled trace did not end with a detach");
      else if (hm_test_json_uint (sampling, "sample_bytes") != 4096
               || !json_is_true (json_object_get (sampling, "estimates")))
        hm_test_fail ("the attached trace does not say it is sampled at 4096 bytes");
      else if (sums.allocations < 100 || sums.allocations > most)
        hm_test_fail ("attach-holder's allocations estimated at %" G_GUINT64_FORMAT
                      " in %.2f s", sums.allocations, seconds);
      else if (hm_test_json_uint (report, "unknown_frees") != 0
               || json_array_size (json_object_get (report, "warnings")) != 0)
        hm_test_fail ("a sampled trace recorded frees of blocks it never sampled");
    }
  if (run2.exit_status != 0)
    hm_test_fail ("the attach after the sampled one failed: %s", run2.stderr_text);
  else
    {
      g_autoptr(json_t) report = hm_test_report_json (full);
      HmSiteSums sums = { 0 };
      if (report != NULL)
        holder_sums (report, &sums);
      hm_test_message ("full attach after it: %" G_GUINT64_FORMAT " allocations, %"
                       G_GUINT64_FORMAT " unknown frees", sums.allocations,
                       report ? hm_test_json_uint (report, "unknown_frees") : 0);
      if (report == NULL || json_object_get (report, "sampled") != NULL)
        hm_test_fail ("the attach after the sampled one is sampled too");
      /* the ring turns over in about 100 ms: a full trace sees the frees
       * of blocks from before it, which the sampled one left alone */
      else if (sums.allocations < 1000 || hm_test_json_uint (report, "unknown_frees") < 500)
        hm_test_fail ("the full attach saw %" G_GUINT64_FORMAT " allocations and %"
                      G_GUINT64_FORMAT " unknown frees", sums.allocations,
                      hm_test_json_uint (report, "unknown_frees"));
    }
  g_assert_cmpstr (output, ==, expected);

  /* without the agent: refused, nothing injected, the program unharmed */
  Target u;
  g_auto(HmTestRun) run3 = { 0 };
  g_autofree gchar *refused = g_build_filename (dir, "refused.hmt", NULL);
  target_start (&u, "attach-target", NULL);
  g_autofree gchar *pid_u = g_strdup_printf ("%d", (int) u.pid);
  const gchar *argv3[] = { hm_test_hmtrace_path (), "attach", "--sample-bytes", "4K",
                           "--duration", "0.3", "-o", refused, pid_u, NULL };
  hm_test_spawn (argv3, NULL, &run3);
  gboolean injected = malloc_goes_to_agent (u.pid);
  /* injected by a plain attach, the agent listens on: it refuses itself */
  g_auto(HmTestRun) run4 = { 0 };
  g_auto(HmTestRun) run5 = { 0 };
  g_autofree gchar *plain = g_build_filename (dir, "plain.hmt", NULL);
  run_attach (u.pid, plain, "0.2", &run4);
  hm_test_spawn (argv3, NULL, &run5);
  g_autofree gchar *output_u = target_finish (&u);
  hm_test_assert_clean_failure (&run3, "needs the agent");
  if (injected)
    hm_test_fail ("the refused sampled attach left the agent in the process");
  if (run4.exit_status != 0 || !strstr (run4.stderr_text, "agent injected"))
    hm_test_fail ("the plain attach did not inject the agent: %s", run4.stderr_text);
  else
    hm_test_assert_clean_failure (&run5, "an injected agent leaves when it detaches");
  g_assert_cmpstr (output_u, ==, unobserved_output ());
  if (g_file_test (refused, G_FILE_TEST_EXISTS))
    hm_test_fail ("the refused attach wrote %s", refused);
  hm_test_remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/attach/agent-present", test_agent_present);
  g_test_add_func ("/attach/analyze-on-request", test_analyze_on_request);
  g_test_add_func ("/attach/injected-twice", test_injected_twice);
  g_test_add_func ("/attach/sampled", test_sampled);
  g_test_add_func ("/attach/regions", test_regions);
  g_test_add_func ("/attach/one-debugger-at-a-time", test_one_at_a_time);
  g_test_add_func ("/attach/listen-off", test_listen_off);
  g_test_add_func ("/attach/no-such-pid", test_no_such_pid);
  g_test_add_func ("/attach/static", test_static);
  g_test_add_func ("/attach/stopped", test_stopped);
  g_test_add_func ("/attach/already-traced", test_already_traced);
  g_test_add_func ("/attach/ptrace-scope", test_ptrace_scope);
  return g_test_run ();
}
