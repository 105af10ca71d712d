/* hmtrace-record.c — `hmtrace record`: run a program under the agent.
 *
 * The recorder creates the trace file itself, so that an unwritable path
 * fails before the program runs, and hands the descriptor to the agent
 * (HM_TRACE_FD).  The program's stdin, stdout and stderr are its own; its
 * exit status becomes ours.  Lifetime analysis (HM_LIFETIME_ANALYSIS: leaks,
 * dangling pointers, bad frees) is on unless --no-lifetime says otherwise or
 * the environment already decides it.
 *
 * The C library only, no GLib: the program being recorded waits for us to
 * start, and loading GLib cost it 0.3 ms (hmtrace.c).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libintl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hmtrace-commands.h"
#include "hm-byte-size.h"

#define _(text) hmtrace_gettext (text)
#define N_(text) (text)

extern char **environ;

/* A string of ours: NULL only when memory ran out, which ends us. */
static char *
xasprintf (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

static char *
xasprintf (const char *format, ...)
{
  va_list args;
  char *out = NULL;
  va_start (args, format);
  int n = vasprintf (&out, format, args);
  va_end (args);
  if (n < 0)
    {
      fputs ("hmtrace: out of memory\n", stderr);
      exit (1);
    }
  return out;
}

/* strsignal in the user's language (hmtrace_messages) */
static const char *
signal_text (int signal_number)
{
  hmtrace_messages ();
  return strsignal (signal_number);
}

/* What record allocates lives until it returns, and is freed then (the
 * sanitizer build checks the front for leaks too): own() keeps it. */
#define MAX_OWNED 64
static void *owned[MAX_OWNED];
static size_t n_owned;

static void *
own (void *p)
{
  if (n_owned < MAX_OWNED)
    owned[n_owned++] = p;
  return p;
}

static void
release_owned (int *scope)
{
  (void) scope;
  while (n_owned > 0)
    free (owned[--n_owned]);
}

static bool
is_regular (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISREG (st.st_mode);
}

char *
hmtrace_find_agent (void)
{
  const char *env = getenv ("HM_AGENT_PATH");
  char self[PATH_MAX];

  if (env != NULL && *env != '\0')
    return xasprintf ("%s", env);

  /* Run from a build tree (BUILD/core/hmtrace): the agent is built in
   * BUILD/agent. */
  char *slash;
  if (hmtrace_self_dir (self, sizeof self) && (slash = strrchr (self, '/')) != NULL)
    {
      *slash = '\0';
      char *beside = xasprintf ("%s/agent/libhybridmem.so", self);
      if (is_regular (beside))
        return beside;
      free (beside);
    }
  return xasprintf ("%s", HM_AGENT_INSTALLED_PATH);
}

/* As execvp finds it: a name with a slash as it is, else the first
 * executable regular file of that name along PATH. */
static char *
find_program (const char *name)
{
  if (strchr (name, '/') != NULL)
    return xasprintf ("%s", name);
  const char *path = getenv ("PATH");
  if (path == NULL)
    path = "/usr/local/bin:/usr/bin:/bin";
  while (*path != '\0')
    {
      const char *colon = strchrnul (path, ':');
      char *candidate = colon == path ? xasprintf ("./%s", name)
                                      : xasprintf ("%.*s/%s", (int) (colon - path), path, name);
      if (is_regular (candidate) && access (candidate, X_OK) == 0)
        return candidate;
      free (candidate);
      path = *colon == ':' ? colon + 1 : colon;
    }
  return NULL;
}

/* PATH made absolute (the agent writes flight dumps wherever the program
 * has gone by then). */
static char *
absolute_path (const char *path)
{
  char cwd[PATH_MAX];
  if (path[0] == '/' || getcwd (cwd, sizeof cwd) == NULL)
    return xasprintf ("%s", path);
  return xasprintf ("%s/%s", cwd, path);
}

/* The program's environment: ours, with VAR=VALUE changes.  Kept as an
 * array we own; entries we did not set point into environ. */
typedef struct {
  char **vars;
  size_t n, cap;
} Env;

static void
env_init (Env *env)
{
  size_t n = 0;
  while (environ[n] != NULL)
    n++;
  env->cap = n + 16;
  env->vars = own (calloc (env->cap, sizeof *env->vars));
  if (env->vars == NULL)
    {
      fputs ("hmtrace: out of memory\n", stderr);
      exit (1);
    }
  memcpy (env->vars, environ, n * sizeof *env->vars);
  env->n = n;
}

static ssize_t
env_find (const Env *env, const char *name)
{
  size_t len = strlen (name);
  for (size_t i = 0; i < env->n; i++)
    if (strncmp (env->vars[i], name, len) == 0 && env->vars[i][len] == '=')
      return (ssize_t) i;
  return -1;
}

static const char *
env_get (const Env *env, const char *name)
{
  ssize_t i = env_find (env, name);
  return i < 0 ? NULL : env->vars[i] + strlen (name) + 1;
}

static void
env_set (Env *env, const char *name, const char *value, bool replace)
{
  ssize_t i = env_find (env, name);
  if (i >= 0 && !replace)
    return;
  char *entry = own (xasprintf ("%s=%s", name, value));
  if (i >= 0)
    env->vars[i] = entry;
  else if (env->n + 1 < env->cap)
    env->vars[env->n++] = entry;
  else
    {
      fputs ("hmtrace: out of memory\n", stderr);
      exit (1);
    }
}

static void
env_unset (Env *env, const char *name)
{
  ssize_t i = env_find (env, name);
  if (i < 0)
    return;
  memmove (&env->vars[i], &env->vars[i + 1], (env->n - (size_t) i) * sizeof *env->vars);
  env->n--;
}

/* LD_PRELOAD cannot reach a statically linked or setuid program: say so
 * instead of recording an empty trace.  Returns 0 when it can be run, or
 * our exit status (127: not there, 126: cannot be run) after the message. */
static int
check_program (const char *path)
{
  struct stat st;
  unsigned char ehdr[64];
  int fd;
  ssize_t n;

  if (stat (path, &st) != 0)
    {
      int saved = errno;
      fprintf (stderr, "hmtrace record: %s: %s\n", path, hmtrace_error_text (saved));
      return saved == ENOENT ? 127 : 126;
    }
  if (!S_ISREG (st.st_mode))
    {
      fprintf (stderr, "hmtrace record: ");
      fprintf (stderr, _("%s: not a regular file"), path);
      fputc ('\n', stderr);
      return 126;
    }
  if (access (path, X_OK) != 0)
    {
      fprintf (stderr, "hmtrace record: ");
      fprintf (stderr, _("%s: not executable (permission denied)"), path);
      fputc ('\n', stderr);
      return 126;
    }
  if ((st.st_mode & (S_ISUID | S_ISGID)) && geteuid () != 0)
    {
      fprintf (stderr, "hmtrace record: ");
      fprintf (stderr, _("%s: set-user-ID or set-group-ID programs ignore LD_PRELOAD; "
                         "it cannot be recorded"), path);
      fputc ('\n', stderr);
      return 126;
    }

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0; /* executable but unreadable: let exec decide */
  n = read (fd, ehdr, sizeof ehdr);
  if (n == (ssize_t) sizeof (Elf64_Ehdr) && memcmp (ehdr, ELFMAG, SELFMAG) == 0
      && ehdr[EI_CLASS] == ELFCLASS64)
    {
      Elf64_Ehdr eh;
      Elf64_Phdr ph[64];
      bool has_interp = false;
      memcpy (&eh, ehdr, sizeof eh);
      /* the program headers in one read (real programs have about a dozen) */
      if (eh.e_phentsize == sizeof ph[0] && eh.e_phnum > 0 && eh.e_phnum <= 64)
        {
          size_t want = (size_t) eh.e_phnum * sizeof ph[0];
          ssize_t got = pread (fd, ph, want, (off_t) eh.e_phoff);
          for (size_t i = 0; got > 0 && i < (size_t) got / sizeof ph[0]; i++)
            if (ph[i].p_type == PT_INTERP)
              has_interp = true;
          if (got != (ssize_t) want)
            has_interp = true;   /* cannot tell: let exec decide */
        }
      else
        has_interp = true;       /* unusual headers: let exec decide */
      /* no program interpreter: static, or static-pie (ET_DYN) */
      if (!has_interp && (eh.e_type == ET_EXEC || eh.e_type == ET_DYN))
        {
          close (fd);
          fprintf (stderr, "hmtrace record: ");
          fprintf (stderr, _("%s: statically linked; LD_PRELOAD cannot trace it "
                             "(link it dynamically, or link libhybridmem into it)"), path);
          fputc ('\n', stderr);
          return 126;
        }
    }
  close (fd);
  return 0;
}

/* hmtrace.PROGRAM.PID.hmt, with pid as given (a number, or %p for the agent
 * to fill in). */
static char *
default_output (const char *program, const char *pid)
{
  const char *slash = strrchr (program, '/');
  return xasprintf ("hmtrace.%s.%s.hmt", slash != NULL ? slash + 1 : program, pid);
}

typedef struct {
  const char *long_name;
  char short_name;
  const char *argument;      /* NULL: a flag */
  const char *description;
} OptionHelp;

static const OptionHelp option_help[] = {
  { "output", 'o', N_("FILE"), N_("Write the trace to FILE (default: hmtrace.PROGRAM.PID.hmt)") },
  { "quiet", 'q', NULL, N_("Print nothing of our own") },
  { "drop-when-behind", 0, NULL,
    N_("When the disk is slower than the program, drop events (the trace counts them) "
       "rather than slow the program down") },
  { "no-lifetime", 0, NULL,
    N_("Do not run lifetime analysis (leaks, dangling pointers, bad frees), which is on "
       "by default") },
  { "flight-recorder", 0, N_("SECONDS"),
    N_("Keep only the last SECONDS of events and the live blocks in memory, and write them "
       "as a trace on demand (SIGUSR2, hmtrace dump PID) and at a crash; -o names the dumps "
       "(FILE.flight-N.hmt); no lifetime analysis unless HM_LIFETIME_ANALYSIS says so") },
  { "flight-recorder-bytes", 0, N_("SIZE"),
    N_("Bound the flight recorder's window of events to SIZE (bytes, or with K, M, G; "
       "default 32M)") },
  { "sample-bytes", 0, N_("N"),
    N_("Record a sample of the allocations, one per N bytes allocated on average (512K, "
       "1M…), for estimates at a fraction of the cost; turns lifetime analysis off") },
};

static void
print_help (void)
{
  printf (_("Usage:\n  hmtrace record [OPTION…] %s\n\n"), _("-- PROGRAM [ARGS…]"));
  printf ("%s\n\n", _("Run PROGRAM and record every allocation it makes."));
  printf (_("Options:\n"));
  printf ("  -h, --help\n      %s\n", _("Show help options"));
  for (size_t i = 0; i < sizeof option_help / sizeof option_help[0]; i++)
    {
      const OptionHelp *o = &option_help[i];
      if (o->short_name)
        printf ("  -%c, --%s", o->short_name, o->long_name);
      else
        printf ("  --%s", o->long_name);
      if (o->argument != NULL)
        printf ("=%s", _(o->argument));
      printf ("\n      %s\n", _(o->description));
    }
  printf ("\n%s\n",
          _("Lifetime analysis is on unless --no-lifetime is given or HM_LIFETIME_ANALYSIS is\n"
            "set: bad frees are reported as they happen (and not passed on), leaks and\n"
            "dangling pointers by a scan at exit (and whenever the program calls\n"
            "hm_analyze()); each is a warning in the trace and one line on stderr\n"
            "(HM_QUIET=1: none).  `hmtrace report` lists them."));
}

enum {
  OPT_DROP_WHEN_BEHIND = 256,
  OPT_NO_LIFETIME,
  OPT_FLIGHT_RECORDER,
  OPT_FLIGHT_RECORDER_BYTES,
  OPT_SAMPLE_BYTES,
};

int
hmtrace_record_main (int argc, char **argv)
{
  __attribute__ ((cleanup (release_owned))) int scope = 0;
  static const struct option options[] = {
    { "help", no_argument, NULL, 'h' },
    { "output", required_argument, NULL, 'o' },
    { "quiet", no_argument, NULL, 'q' },
    { "drop-when-behind", no_argument, NULL, OPT_DROP_WHEN_BEHIND },
    { "no-lifetime", no_argument, NULL, OPT_NO_LIFETIME },
    { "flight-recorder", required_argument, NULL, OPT_FLIGHT_RECORDER },
    { "flight-recorder-bytes", required_argument, NULL, OPT_FLIGHT_RECORDER_BYTES },
    { "sample-bytes", required_argument, NULL, OPT_SAMPLE_BYTES },
    { NULL, 0, NULL, 0 },
  };
  char *output = NULL;
  bool quiet = false;
  bool drop_when_behind = false;
  bool no_lifetime = false;
  long flight_seconds = 0;
  const char *flight_bytes = NULL;
  const char *sample_text = NULL;
  uint64_t sample_bytes = 0;
  char *program = NULL;
  char *agent = NULL;
  char *partial = NULL;
  Env env;
  int trace_fd = -1;
  pid_t pid;
  int status;
  struct sigaction ignore = { .sa_handler = SIG_IGN }, old_int, old_quit;
  int c;

  /* '+': the program's own options are never ours; ':': we say what is wrong */
  opterr = 0;
  optind = 1;
  while ((c = getopt_long (argc, argv, "+:ho:q", options, NULL)) != -1)
    switch (c)
      {
      case 'h':
        print_help ();
        return 0;
      case 'o':
        output = optarg;
        break;
      case 'q':
        quiet = true;
        break;
      case OPT_DROP_WHEN_BEHIND:
        drop_when_behind = true;
        break;
      case OPT_NO_LIFETIME:
        no_lifetime = true;
        break;
      case OPT_FLIGHT_RECORDER:
        {
          char *end;
          errno = 0;
          flight_seconds = strtol (optarg, &end, 10);
          if (errno != 0 || end == optarg || *end != '\0' || flight_seconds < 1
              || flight_seconds > 86400)
            {
              fprintf (stderr, _("hmtrace record: --flight-recorder takes 1 to 86400 seconds\n"));
              return 2;
            }
          break;
        }
      case OPT_FLIGHT_RECORDER_BYTES:
        flight_bytes = optarg;
        break;
      case OPT_SAMPLE_BYTES:
        sample_text = optarg;
        break;
      case ':':
        fprintf (stderr, _("hmtrace record: %s needs a value; see hmtrace record --help\n"),
                 argv[optind - 1]);
        return 2;
      default:
        fprintf (stderr, _("hmtrace record: unknown option %s; see hmtrace record --help\n"),
                 argv[optind - 1]);
        return 2;
      }
  char **program_argv = argv + optind;

  if (sample_text != NULL && !hm_parse_byte_size (sample_text, &sample_bytes))
    {
      fprintf (stderr, _("hmtrace record: --sample-bytes %s is not a byte count such as "
                         "524288, 512K or 1M\n"), sample_text);
      return 2;
    }
  if (program_argv[0] == NULL)
    {
      fprintf (stderr, _("hmtrace record: no program given; usage: hmtrace record [-o FILE] -- PROGRAM [ARGS…]\n"));
      return 2;
    }

  program = own (find_program (program_argv[0]));
  if (program == NULL)
    {
      fprintf (stderr, _("hmtrace record: %s: no such program (not found in PATH)\n"),
               program_argv[0]);
      return 127;
    }
  int unrunnable = check_program (program);
  if (unrunnable != 0)
    return unrunnable;

  agent = own (hmtrace_find_agent ());
  if (!is_regular (agent))
    {
      fprintf (stderr, _("hmtrace record: the agent library %s is missing; "
                         "set HM_AGENT_PATH to libhybridmem.so\n"), agent);
      return 1;
    }

  if (output != NULL && flight_seconds > 0)
    /* the dumps are FILE.flight-N.hmt, made by the agent wherever the
     * program has gone: an absolute name */
    output = own (absolute_path (output));
  else if (output != NULL)
    {
      /* The user named the file: replace it, but never through a symlink. */
      trace_fd = open (output, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
      if (trace_fd < 0)
        {
          int saved = errno;
          fprintf (stderr, _("hmtrace record: cannot write the trace to %s: %s\n"), output,
                   hmtrace_error_text (saved));
          return 1;
        }
    }

  /* The program's environment, made here: the program is started with
   * posix_spawn (a vfork and an exec, no copy of our address space to make
   * and fault in), so nothing can be done in the child. */
  env_init (&env);
  const char *old_preload = env_get (&env, "LD_PRELOAD");
  char *preload = old_preload != NULL && *old_preload != '\0'
                    ? own (xasprintf ("%s:%s", agent, old_preload))
                    : own (xasprintf ("%s", agent));
  if (flight_seconds > 0)
    {
      char *seconds = own (xasprintf ("%ld", flight_seconds));
      /* the agent puts the program's pid for %p */
      char *base = output != NULL ? output
                                  : own (absolute_path (own (default_output (program, "%p"))));
      env_set (&env, "HM_FLIGHT_RECORDER", seconds, true);
      env_set (&env, "HM_FLIGHT_OUTPUT", base, true);
      if (flight_bytes != NULL)
        env_set (&env, "HM_FLIGHT_RECORDER_BYTES", flight_bytes, true);
      /* production mode: cheap unless asked otherwise */
      env_set (&env, "HM_LIFETIME_ANALYSIS", "0", false);
    }
  else if (trace_fd < 0)
    {
      /* hmtrace.PROGRAM.PID.hmt needs the program's pid: made under a name
       * of ours, renamed as soon as the pid is known */
      char *ours = own (xasprintf ("starting-%d", (int) getpid ()));
      partial = own (default_output (program, ours));
      trace_fd = open (partial, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
      if (trace_fd < 0)
        {
          int saved = errno;   /* before _() sets the locale up */
          fprintf (stderr, _("hmtrace record: cannot write the trace to %s: %s\n"), partial,
                   hmtrace_error_text (saved));
          return 1;
        }
    }
  env_set (&env, "LD_PRELOAD", preload, true);
  if (trace_fd >= 0)
    {
      char *fd_text = own (xasprintf ("%d", trace_fd));
      env_set (&env, "HM_TRACE_FD", fd_text, true);
    }
  if (drop_when_behind)
    env_set (&env, "HM_DROP_WHEN_BEHIND", "1", true);
  env_unset (&env, "HM_TRACE");
  if (sample_bytes != 0)
    env_set (&env, "HM_SAMPLE_BYTES", own (xasprintf ("%" PRIu64, sample_bytes)), true);
  const char *sample_env = env_get (&env, "HM_SAMPLE_BYTES");
  if (sample_env != NULL && *sample_env && strcmp (sample_env, "0") != 0)
    /* lifetime analysis is off while sampling; a caller's
     * HM_LIFETIME_ANALYSIS=1 gets the agent's one line saying so */
    env_set (&env, "HM_LIFETIME_ANALYSIS", "0", false);
  if (no_lifetime)
    env_set (&env, "HM_LIFETIME_ANALYSIS", "0", true);
  else
    env_set (&env, "HM_LIFETIME_ANALYSIS", "1", false);   /* the caller's value wins */
  /* GLib's slice allocator keeps freed objects inside live malloc blocks,
   * where their stale words would look like pointers someone holds (a
   * dangling pointer that is not there).  As valgrind's users do, have it
   * use malloc for each object while lifetime analysis runs, unless the
   * caller chose otherwise. */
  const char *lifetime = env_get (&env, "HM_LIFETIME_ANALYSIS");
  if (lifetime == NULL || strcmp (lifetime, "0") != 0)
    env_set (&env, "G_SLICE", "always-malloc", false);

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
  int spawn_error = posix_spawn (&pid, program, NULL, &attr, program_argv, env.vars);
  posix_spawnattr_destroy (&attr);
  if (spawn_error != 0)
    {
      sigaction (SIGINT, &old_int, NULL);
      sigaction (SIGQUIT, &old_quit, NULL);
      fprintf (stderr, _("hmtrace record: cannot run %s: %s\n"), program,
               hmtrace_error_text (spawn_error));
      if (partial != NULL)
        unlink (partial);
      return spawn_error == ENOENT ? 127 : 126;
    }
  if (partial != NULL)
    {
      char *pid_text = own (xasprintf ("%d", (int) pid));
      output = own (default_output (program, pid_text));
      if (rename (partial, output) != 0)
        {
          int saved = errno;
          fprintf (stderr, _("hmtrace record: the trace stays %s: cannot name it %s: %s\n"),
                   partial, output, hmtrace_error_text (saved));
          output = partial;
        }
    }

  if (trace_fd >= 0)
    close (trace_fd);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        int saved = errno;
        fprintf (stderr, _("hmtrace record: lost the program: %s\n"), hmtrace_error_text (saved));
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
                 WTERMSIG (status), signal_text (WTERMSIG (status)));
      return 128 + WTERMSIG (status);
    }
  return 1;
}
