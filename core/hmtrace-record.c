/* hmtrace-record.c — `hmtrace record`: run a program under the agent.
 *
 * The recorder creates the trace file itself, so that an unwritable path
 * fails before the program runs, and hands the descriptor to the agent
 * (HM_TRACE_FD).  The program's stdin, stdout and stderr are its own; its
 * exit status becomes ours.  Lifetime analysis (HM_LIFETIME_ANALYSIS: leaks,
 * dangling pointers, bad frees) is on unless --no-lifetime says otherwise or
 * the environment already decides it.
 */
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hmtrace-commands.h"
#include "hm-byte-size.h"

char *
hmtrace_find_agent (void)
{
  const char *env = g_getenv ("HM_AGENT_PATH");
  g_autofree char *self = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *beside = NULL;

  if (env != NULL && *env != '\0')
    return g_strdup (env);

  /* Run from a build tree: the agent is built in ../agent. */
  self = g_file_read_link ("/proc/self/exe", NULL);
  if (self != NULL)
    {
      dir = g_path_get_dirname (self);
      beside = g_build_filename (dir, "..", "agent", "libhybridmem.so", NULL);
      if (g_file_test (beside, G_FILE_TEST_IS_REGULAR))
        return g_canonicalize_filename (beside, NULL);
    }
  return g_strdup (HM_AGENT_INSTALLED_PATH);
}

/* LD_PRELOAD cannot reach a statically linked or setuid program: say so
 * instead of recording an empty trace. */
static gboolean
check_program (const char *path, GError **error)
{
  struct stat st;
  unsigned char ehdr[64];
  int fd;
  ssize_t n;

  if (stat (path, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), _("%s: %s"), path,
                   g_strerror (saved));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR, _("%s: not a regular file"), path);
      return FALSE;
    }
  if (access (path, X_OK) != 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ACCES, _("%s: not executable (permission denied)"),
                   path);
      return FALSE;
    }
  if ((st.st_mode & (S_ISUID | S_ISGID)) && geteuid () != 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_PERM,
                   _("%s: set-user-ID or set-group-ID programs ignore LD_PRELOAD; "
                     "it cannot be recorded"), path);
      return FALSE;
    }

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return TRUE; /* executable but unreadable: let exec decide */
  n = read (fd, ehdr, sizeof ehdr);
  if (n == (ssize_t) sizeof (Elf64_Ehdr) && memcmp (ehdr, ELFMAG, SELFMAG) == 0
      && ehdr[EI_CLASS] == ELFCLASS64)
    {
      Elf64_Ehdr eh;
      gboolean has_interp = FALSE;
      memcpy (&eh, ehdr, sizeof eh);
      for (int i = 0; i < eh.e_phnum && i < 256; i++)
        {
          Elf64_Phdr ph;
          if (pread (fd, &ph, sizeof ph, (off_t) (eh.e_phoff + (Elf64_Off) i * eh.e_phentsize))
              != (ssize_t) sizeof ph)
            break;
          if (ph.p_type == PT_INTERP)
            has_interp = TRUE;
        }
      /* no program interpreter: static, or static-pie (ET_DYN) */
      if (!has_interp && (eh.e_type == ET_EXEC || eh.e_type == ET_DYN))
        {
          close (fd);
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                       _("%s: statically linked; LD_PRELOAD cannot trace it "
                         "(link it dynamically, or link libhybridmem into it)"), path);
          return FALSE;
        }
    }
  close (fd);
  return TRUE;
}

/* hmtrace.PROGRAM.PID.hmt, with pid as given (a number, or %p for the agent
 * to fill in). */
static char *
default_output (const char *program, const char *pid)
{
  g_autofree char *base = g_path_get_basename (program);
  return g_strdup_printf ("hmtrace.%s.%s.hmt", base, pid);
}

int
hmtrace_record_main (int argc, char **argv)
{
  g_autofree char *output = NULL;
  gboolean quiet = FALSE;
  gboolean drop_when_behind = FALSE;
  gboolean no_lifetime = FALSE;
  int flight_seconds = 0;
  g_autofree char *flight_bytes = NULL;
  g_autofree char *sample_text = NULL;
  guint64 sample_bytes = 0;
  g_auto(GStrv) program_argv = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Write the trace to FILE (default: hmtrace.PROGRAM.PID.hmt)"), N_("FILE") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("Print nothing of our own"), NULL },
    { "drop-when-behind", 0, 0, G_OPTION_ARG_NONE, &drop_when_behind,
      N_("When the disk is slower than the program, drop events (the trace counts them) "
         "rather than slow the program down"), NULL },
    { "no-lifetime", 0, 0, G_OPTION_ARG_NONE, &no_lifetime,
      N_("Do not run lifetime analysis (leaks, dangling pointers, bad frees), which is on "
         "by default"), NULL },
    { "flight-recorder", 0, 0, G_OPTION_ARG_INT, &flight_seconds,
      N_("Keep only the last SECONDS of events and the live blocks in memory, and write them "
         "as a trace on demand (SIGUSR2, hmtrace dump PID) and at a crash; -o names the dumps "
         "(FILE.flight-N.hmt); no lifetime analysis unless HM_LIFETIME_ANALYSIS says so"),
      N_("SECONDS") },
    { "flight-recorder-bytes", 0, 0, G_OPTION_ARG_STRING, &flight_bytes,
      N_("Bound the flight recorder's window of events to SIZE (bytes, or with K, M, G; "
         "default 32M)"), N_("SIZE") },
    { "sample-bytes", 0, 0, G_OPTION_ARG_STRING, &sample_text,
      N_("Record a sample of the allocations, one per N bytes allocated on average (512K, "
         "1M…), for estimates at a fraction of the cost; turns lifetime analysis off"),
      N_("N") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &program_argv, NULL,
      N_("-- PROGRAM [ARGS…]") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *program = NULL;
  g_autofree char *agent = NULL;
  g_autofree char *preload = NULL;
  g_autofree char *fd_text = NULL;
  g_autofree char *partial = NULL;
  g_auto(GStrv) envp = NULL;
  int trace_fd = -1;
  pid_t pid;
  int status;
  struct sigaction ignore = { .sa_handler = SIG_IGN }, old_int, old_quit;

  context = g_option_context_new (_("-- PROGRAM [ARGS…]"));
  g_option_context_set_summary (context, _("Run PROGRAM and record every allocation it makes."));
  g_option_context_set_description (
    context, _("Lifetime analysis is on unless --no-lifetime is given or HM_LIFETIME_ANALYSIS is\n"
               "set: bad frees are reported as they happen (and not passed on), leaks and\n"
               "dangling pointers by a scan at exit (and whenever the program calls\n"
               "hm_analyze()); each is a warning in the trace and one line on stderr\n"
               "(HM_QUIET=1: none).  `hmtrace report` lists them."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "hmtrace record: %s\n", error->message);
      return 2;
    }
  if (sample_text != NULL && !hm_parse_byte_size (sample_text, &sample_bytes))
    {
      fprintf (stderr, _("hmtrace record: --sample-bytes %s is not a byte count such as "
                         "524288, 512K or 1M\n"), sample_text);
      return 2;
    }
  if (program_argv == NULL || program_argv[0] == NULL)
    {
      fprintf (stderr, _("hmtrace record: no program given; usage: hmtrace record [-o FILE] -- PROGRAM [ARGS…]\n"));
      return 2;
    }

  if (flight_seconds < 0 || flight_seconds > 86400)
    {
      fprintf (stderr, _("hmtrace record: --flight-recorder takes 1 to 86400 seconds\n"));
      return 2;
    }

  program = strchr (program_argv[0], '/') ? g_strdup (program_argv[0])
                                          : g_find_program_in_path (program_argv[0]);
  if (program == NULL)
    {
      fprintf (stderr, _("hmtrace record: %s: no such program (not found in PATH)\n"),
               program_argv[0]);
      return 127;
    }
  if (!check_program (program, &error))
    {
      fprintf (stderr, "hmtrace record: %s\n", error->message);
      return error->code == G_FILE_ERROR_NOENT ? 127 : 126;
    }

  agent = hmtrace_find_agent ();
  if (!g_file_test (agent, G_FILE_TEST_IS_REGULAR))
    {
      fprintf (stderr, _("hmtrace record: the agent library %s is missing; "
                         "set HM_AGENT_PATH to libhybridmem.so\n"), agent);
      return 1;
    }

  if (output != NULL && flight_seconds > 0)
    {
      /* the dumps are FILE.flight-N.hmt, made by the agent wherever the
       * program has gone: an absolute name */
      char *absolute = g_canonicalize_filename (output, NULL);
      g_free (output);
      output = absolute;
    }
  else if (output != NULL)
    {
      /* The user named the file: replace it, but never through a symlink. */
      trace_fd = open (output, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
      if (trace_fd < 0)
        {
          int saved = errno;
          fprintf (stderr, _("hmtrace record: cannot write the trace to %s: %s\n"), output,
                   g_strerror (saved));
          return 1;
        }
    }

  /* The program's environment, made here: the program is started with
   * posix_spawn (a vfork and an exec, no copy of our address space to make
   * and fault in), so nothing can be done in the child. */
  envp = g_get_environ ();
  preload = g_environ_getenv (envp, "LD_PRELOAD") && *g_environ_getenv (envp, "LD_PRELOAD")
              ? g_strdup_printf ("%s:%s", agent, g_environ_getenv (envp, "LD_PRELOAD"))
              : g_strdup (agent);
  if (flight_seconds > 0)
    {
      g_autofree char *seconds = g_strdup_printf ("%d", flight_seconds);
      g_autofree char *name = default_output (program, "%p");
      /* the agent puts the program's pid for %p */
      g_autofree char *base = output ? g_strdup (output) : g_canonicalize_filename (name, NULL);
      envp = g_environ_setenv (envp, "HM_FLIGHT_RECORDER", seconds, TRUE);
      envp = g_environ_setenv (envp, "HM_FLIGHT_OUTPUT", base, TRUE);
      if (flight_bytes != NULL)
        envp = g_environ_setenv (envp, "HM_FLIGHT_RECORDER_BYTES", flight_bytes, TRUE);
      /* production mode: cheap unless asked otherwise */
      envp = g_environ_setenv (envp, "HM_LIFETIME_ANALYSIS", "0", FALSE);
    }
  else if (trace_fd < 0)
    {
      /* hmtrace.PROGRAM.PID.hmt needs the program's pid: made under a name
       * of ours, renamed as soon as the pid is known */
      g_autofree char *ours = g_strdup_printf ("starting-%d", (int) getpid ());
      partial = default_output (program, ours);
      trace_fd = open (partial, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
      if (trace_fd < 0)
        {
          fprintf (stderr, _("hmtrace record: cannot write the trace to %s: %s\n"), partial,
                   g_strerror (errno));
          return 1;
        }
    }
  envp = g_environ_setenv (envp, "LD_PRELOAD", preload, TRUE);
  if (trace_fd >= 0)
    {
      fd_text = g_strdup_printf ("%d", trace_fd);
      envp = g_environ_setenv (envp, "HM_TRACE_FD", fd_text, TRUE);
    }
  if (drop_when_behind)
    envp = g_environ_setenv (envp, "HM_DROP_WHEN_BEHIND", "1", TRUE);
  envp = g_environ_unsetenv (envp, "HM_TRACE");
  if (sample_bytes != 0)
    {
      g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, sample_bytes);
      envp = g_environ_setenv (envp, "HM_SAMPLE_BYTES", text, TRUE);
    }
  const char *sample_env = g_environ_getenv (envp, "HM_SAMPLE_BYTES");
  if (sample_env != NULL && *sample_env && g_strcmp0 (sample_env, "0") != 0)
    /* lifetime analysis is off while sampling; a caller's
     * HM_LIFETIME_ANALYSIS=1 gets the agent's one line saying so */
    envp = g_environ_setenv (envp, "HM_LIFETIME_ANALYSIS", "0", FALSE);
  if (no_lifetime)
    envp = g_environ_setenv (envp, "HM_LIFETIME_ANALYSIS", "0", TRUE);
  else
    envp = g_environ_setenv (envp, "HM_LIFETIME_ANALYSIS", "1", FALSE);   /* the caller's value wins */
  /* GLib's slice allocator keeps freed objects inside live malloc blocks,
   * where their stale words would look like pointers someone holds (a
   * dangling pointer that is not there).  As valgrind's users do, have it
   * use malloc for each object while lifetime analysis runs, unless the
   * caller chose otherwise. */
  if (g_strcmp0 (g_environ_getenv (envp, "HM_LIFETIME_ANALYSIS"), "0") != 0)
    envp = g_environ_setenv (envp, "G_SLICE", "always-malloc", FALSE);

  sigaction (SIGINT, &ignore, &old_int);
  sigaction (SIGQUIT, &ignore, &old_quit);

  /* The program gets back what we ignore while it runs (a handler of ours
   * would not survive the exec anyway; SIG_IGN would). */
  posix_spawnattr_t attr;
  sigset_t defaults;
  posix_spawnattr_init (&attr);
  sigemptyset (&defaults);
  if (old_int.sa_handler != SIG_IGN)
    sigaddset (&defaults, SIGINT);
  if (old_quit.sa_handler != SIG_IGN)
    sigaddset (&defaults, SIGQUIT);
  posix_spawnattr_setsigdefault (&attr, &defaults);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGDEF);
  int spawn_error = posix_spawn (&pid, program, NULL, &attr, program_argv, envp);
  posix_spawnattr_destroy (&attr);
  if (spawn_error != 0)
    {
      sigaction (SIGINT, &old_int, NULL);
      sigaction (SIGQUIT, &old_quit, NULL);
      fprintf (stderr, _("hmtrace record: cannot run %s: %s\n"), program, g_strerror (spawn_error));
      if (partial != NULL)
        unlink (partial);
      return spawn_error == ENOENT ? 127 : 126;
    }
  if (partial != NULL)
    {
      g_autofree char *pid_text = g_strdup_printf ("%d", (int) pid);
      output = default_output (program, pid_text);
      if (rename (partial, output) != 0)
        {
          fprintf (stderr, _("hmtrace record: the trace stays %s: cannot name it %s: %s\n"),
                   partial, output, g_strerror (errno));
          g_free (output);
          output = g_strdup (partial);
        }
    }

  if (trace_fd >= 0)
    close (trace_fd);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        fprintf (stderr, _("hmtrace record: lost the program: %s\n"), g_strerror (errno));
        return 1;
      }
  sigaction (SIGINT, &old_int, NULL);
  sigaction (SIGQUIT, &old_quit, NULL);

  /* without a flight recorder, output is the trace's name by now */
  if (flight_seconds == 0)
  {
    struct stat st;
    if (stat (output, &st) == 0)
      {
        if (st.st_size == 0)
          fprintf (stderr, _("hmtrace record: %s is empty: the agent did not load into %s\n"),
                   output, program);
        else if (!quiet && isatty (STDERR_FILENO))
          fprintf (stderr, _("hmtrace: trace written to %s; see it with: hmtrace report %s\n"),
                   output, output);
      }
  }

  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    {
      if (!quiet)
        fprintf (stderr, _("hmtrace record: %s was killed by signal %d (%s)\n"), program,
                 WTERMSIG (status), g_strsignal (WTERMSIG (status)));
      return 128 + WTERMSIG (status);
    }
  return 1;
}
