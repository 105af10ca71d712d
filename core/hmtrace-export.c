/* hmtrace-export.c — `hmtrace export --format FORMAT [-o FILE] TRACE`.
 *
 * Writes a trace's allocation sites as collapsed stacks, a pprof profile or
 * a massif file (see hm-export.h).  The output goes to a temporary file next
 * to FILE, renamed over it when complete, so a failed export never leaves
 * half a file; without -o it goes to stdout.
 */
#include <glib.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <unistd.h>

#include "hm-export.h"
#include "hm-heap-model.h"
#include "hm-symbolizer.h"
#include "hmtrace-commands.h"

int
hmtrace_export_main (int argc, char **argv)
{
  g_autofree char *format = NULL;
  g_autofree char *output = NULL;
  g_autofree char *cost_name = NULL;
  g_auto(GStrv) files = NULL;
  const GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
      N_("pprof (gzipped profile.proto), collapsed (flamegraph.pl), massif (ms_print) or svg "
         "(the timeline chart)"),
      N_("FORMAT") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Write to FILE (default: stdout)"),
      N_("FILE") },
    { "cost", 'c', 0, G_OPTION_ARG_STRING, &cost_name,
      N_("collapsed: weigh sites by bytes (default), allocations, peak, leaked or temporary"),
      N_("COST") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, N_("TRACE") },
    { NULL },
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) read_error = NULL;
  g_autoptr(HmHeapModel) model = NULL;
  g_autoptr(HmSymbolizer) symbolizer = NULL;
  g_autoptr(GBytes) bytes = NULL;
  HmCost cost = HM_COST_BYTES;

  if (g_get_prgname () == NULL)
    g_set_prgname ("hmtrace export");
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _("Write a trace's allocation sites for other tools: "
                                  "go tool pprof, flamegraph.pl, ms_print."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "hmtrace export: %s\n", error->message);
      return 2;
    }
  if (files == NULL || files[0] == NULL || files[1] != NULL || format == NULL)
    {
      fprintf (stderr, _("hmtrace export: usage: hmtrace export --format "
                         "pprof|collapsed|massif|svg [-o FILE] [--cost COST] TRACE\n"));
      return 2;
    }
  if (!g_str_equal (format, "pprof") && !g_str_equal (format, "collapsed")
      && !g_str_equal (format, "massif") && !g_str_equal (format, "svg"))
    {
      fprintf (stderr, _("hmtrace export: unknown format '%s': pprof, collapsed, massif or svg\n"),
               format);
      return 2;
    }
  if (cost_name != NULL && !hm_cost_from_string (cost_name, &cost))
    {
      fprintf (stderr, _("hmtrace export: unknown cost '%s': bytes, allocations, peak, leaked "
                         "or temporary\n"), cost_name);
      return 2;
    }
  if (output == NULL && g_str_equal (format, "pprof") && isatty (STDOUT_FILENO))
    {
      fprintf (stderr, _("hmtrace export: a pprof profile is binary; give -o FILE\n"));
      return 2;
    }

  model = hm_heap_model_load_file (files[0], &read_error);
  if (model == NULL)
    {
      fprintf (stderr, "hmtrace export: %s\n", read_error->message);
      return 1;
    }
  if (read_error != NULL)
    fprintf (stderr, _("hmtrace export: %s; exporting what came before\n"), read_error->message);
  symbolizer = hm_symbolizer_new_for_model (model);

  if (g_str_equal (format, "pprof"))
    bytes = hm_export_pprof (model, symbolizer, TRUE, &error);
  else if (g_str_equal (format, "collapsed"))
    bytes = hm_export_collapsed (model, symbolizer, cost);
  else if (g_str_equal (format, "svg"))
    bytes = hm_export_timeline_svg (model, 1000, 400);
  else
    bytes = hm_export_massif (model, symbolizer);
  if (bytes == NULL)
    {
      fprintf (stderr, "hmtrace export: %s\n", error->message);
      return 1;
    }

  gsize size = 0;
  const char *data = g_bytes_get_data (bytes, &size);
  if (output == NULL)
    {
      if (fwrite (data, 1, size, stdout) != size || fflush (stdout) != 0)
        {
          fprintf (stderr, _("hmtrace export: cannot write to stdout\n"));
          return 1;
        }
      return 0;
    }
  /* written whole, then renamed over the name (never through a symlink:
   * g_file_set_contents replaces the link itself) */
  if (!g_file_set_contents_full (output, data, (gssize) size,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
    {
      fprintf (stderr, "hmtrace export: %s\n", error->message);
      return 1;
    }
  return 0;
}
