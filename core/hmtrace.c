/* hmtrace.c — the command-line twin of the debugger: dispatches subcommands.
 *
 * Each subcommand lives in its own hmtrace-NAME.c and takes argv from its name on.
 *
 * Built twice.  `hmtrace` (HMTRACE_FRONT) runs `record` itself and hands
 * every other command to `hmtrace-tool` by exec: the program it records
 * waits for it to start, and loading libhmcore with GLib, elfutils, jansson
 * and their libraries cost 1.6 ms of each recorded run, 1.4% of a 0.1 s
 * program (tests/bench/bench-sampling.sh).  So this file and
 * hmtrace-record.c use the C library only.  `hmtrace-tool` (in libexecdir,
 * or beside hmtrace in a build tree) has every command.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libintl.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hmtrace-commands.h"

#define _(text) hmtrace_gettext (text)
#define N_(text) (text)

#ifdef HMTRACE_FRONT
#define IN_TOOL(main) NULL
#else
#define IN_TOOL(main) main
#endif

typedef struct {
  const char *name;
  int (*main) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
  { "record", hmtrace_record_main, N_("Run a program and record its memory use to a trace, with lifetime analysis (leaks, dangling pointers, bad frees; --no-lifetime: without)") },
  { "attach", IN_TOOL (hmtrace_attach_main), N_("Trace a running process from now on (injecting the agent if needed)") },
  { "dump", IN_TOOL (hmtrace_dump_main), N_("Have a process in flight-recorder mode write its last seconds as a trace") },
  { "report", IN_TOOL (hmtrace_report_main), N_("Print what a trace says: totals, top sites, warnings") },
  { "export", IN_TOOL (hmtrace_export_main), N_("Write a trace for other tools: pprof, collapsed stacks, massif") },
  { "profile", IN_TOOL (hmtrace_profile_main), N_("Validate, show, compare, edit or build memory_profile.json") },
};

static void
usage (FILE *out)
{
  fprintf (out, _("Usage: hmtrace COMMAND [OPTIONS…]\n\nCommands:\n"));
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (out, "  %-8s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, _("\nRun “hmtrace COMMAND --help” for the options of one command.\n"));
}

void
hmtrace_messages (void)
{
  static int ready;
  if (ready)
    return;
  ready = 1;
#ifdef HMTRACE_FRONT
  /* messages are all the front prints */
  setlocale (LC_CTYPE, "");
  setlocale (LC_MESSAGES, "");
#else
  setlocale (LC_ALL, "");
#endif
  bindtextdomain (GETTEXT_PACKAGE, HM_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}

const char *
hmtrace_gettext (const char *msgid)
{
  hmtrace_messages ();
  return gettext (msgid);
}

const char *
hmtrace_error_text (int error)
{
  hmtrace_messages ();
  return strerror (error);
}

bool
hmtrace_self_dir (char *out, size_t size)
{
  ssize_t n = size > 0 ? readlink ("/proc/self/exe", out, size - 1) : -1;
  char *slash = n > 0 ? memrchr (out, '/', (size_t) n) : NULL;
  if (slash == NULL)
    {
      if (size > 0)
        out[0] = '\0';
      return false;
    }
  *slash = '\0';
  return true;
}

#ifdef HMTRACE_FRONT
/* hmtrace-tool beside us (a build tree), or the installed one. */
static int
run_tool (char **argv)
{
  static char tool[PATH_MAX + 16];
  if (hmtrace_self_dir (tool, PATH_MAX))
    strcat (tool, "/hmtrace-tool");
  if (access (tool, X_OK) != 0)
    snprintf (tool, sizeof tool, "%s", HM_TOOL_INSTALLED_PATH);
  execv (tool, argv);
  int saved = errno;
  fprintf (stderr, _("hmtrace: cannot run %s (%s): %s; is hybridmem installed completely?\n"),
           tool, argv[1], hmtrace_error_text (saved));
  return saved == ENOENT ? 127 : 126;
}
#endif

int
main (int argc, char **argv)
{
#ifndef HMTRACE_FRONT
  /* the other commands' GLib code translates with gettext directly */
  hmtrace_messages ();
#endif

  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("hmtrace %s\n", HM_VERSION);
      return 0;
    }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      {
#ifdef HMTRACE_FRONT
        if (commands[i].main == NULL)
          return run_tool (argv);
#endif
        return commands[i].main (argc - 1, argv + 1);
      }

  fprintf (stderr, _("hmtrace: “%s” is not a command\n\n"), argv[1]);
  usage (stderr);
  return 2;
}
