/* hmtrace-dump.c — `hmtrace dump PID`: asks a process in flight-recorder
 * mode (HM_FLIGHT_RECORDER, hmtrace record --flight-recorder) to write the
 * last seconds it holds, through its agent's socket (agent/hm-listener.c). */
#include <glib.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>

#include "hm-attach.h"
#include "hmtrace-commands.h"

int
hmtrace_dump_main (int argc, char **argv)
{
  g_autofree char *output = NULL;
  gboolean info = FALSE;
  g_auto(GStrv) rest = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Write the dump to FILE (default: the agent's, hmtrace.PROGRAM.PID.flight-N.hmt where "
         "the program started)"), N_("FILE") },
    { "info", 0, 0, G_OPTION_ARG_NONE, &info,
      N_("Print what the flight recorder holds (window, live blocks, bytes) instead"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest, NULL, NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("PID"));
  g_autoptr(GError) error = NULL;
  g_autofree char *answer = NULL;
  char *end = NULL;
  long pid;

  g_option_context_set_summary (context,
                                _("Have a process in flight-recorder mode write its last "
                                  "seconds as a trace."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "hmtrace dump: %s\n", error->message);
      return 2;
    }
  if (rest == NULL || rest[0] == NULL || rest[1] != NULL
      || (pid = strtol (rest[0], &end, 10), *end != '\0') || pid <= 0 || pid > G_MAXINT)
    {
      fprintf (stderr, _("hmtrace dump: usage: hmtrace dump [-o FILE] PID\n"));
      return 2;
    }
  if (!hm_attach_check_process ((int) pid, &error))
    {
      fprintf (stderr, "hmtrace dump: %s\n", error->message);
      return 1;
    }
  answer = hm_flight_ask ((int) pid, info ? "info" : "dump", info ? NULL : output, &error);
  if (answer == NULL)
    {
      fprintf (stderr, "hmtrace dump: %s\n", error->message);
      return 1;
    }
  if (info)
    printf ("%s\n", answer);
  else
    printf ("%s\n", answer);
  return 0;
}
