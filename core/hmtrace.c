/* hmtrace.c — the command-line twin of the debugger: dispatches subcommands.
 *
 * Each subcommand lives in its own hmtrace-NAME.c and takes argv from its name on.
 */
#include <glib.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "hmtrace-commands.h"

typedef struct {
  const char *name;
  int (*main) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
  { "record", hmtrace_record_main, N_("Run a program and record its memory use to a trace, with lifetime analysis (leaks, dangling pointers, bad frees; --no-lifetime: without)") },
  { "attach", hmtrace_attach_main, N_("Trace a running process from now on (injecting the agent if needed)") },
  { "dump", hmtrace_dump_main, N_("Have a process in flight-recorder mode write its last seconds as a trace") },
  { "report", hmtrace_report_main, N_("Print what a trace says: totals, top sites, warnings") },
  { "export", hmtrace_export_main, N_("Write a trace for other tools: pprof, collapsed stacks, massif") },
  { "profile", hmtrace_profile_main, N_("Validate, show, compare, edit or build memory_profile.json") },
};

static void
usage (FILE *out)
{
  fprintf (out, _("Usage: hmtrace COMMAND [OPTIONS…]\n\nCommands:\n"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-8s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, _("\nRun “hmtrace COMMAND --help” for the options of one command.\n"));
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, HM_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

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
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].main (argc - 1, argv + 1);

  fprintf (stderr, _("hmtrace: “%s” is not a command\n\n"), argv[1]);
  usage (stderr);
  return 2;
}
