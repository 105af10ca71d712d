/* hmtrace-report.c — `hmtrace report [--json] [--top N] FILE`.
 *
 * Reads a trace into the heap model and prints the report of hm-report.c.
 * A cut trace is normal (a killed process): its report comes with a note and
 * exit status 0.  A corrupt one gives the report of what came before the
 * damage, the error, and exit status 1.
 */
#include <glib.h>
#include <glib/gi18n.h>
#include <inttypes.h>
#include <glib/gstdio.h>
#include <stdio.h>

#include "hm-heap-model.h"
#include "hm-report.h"
#include "hm-symbolizer.h"
#include "hmtrace-commands.h"

static void
print_error (const char *path, const GError *error)
{
  /* The reader's messages usually name the file already. */
  if (g_str_has_prefix (error->message, path))
    fprintf (stderr, "hmtrace: %s\n", error->message);
  else
    fprintf (stderr, "hmtrace: %s: %s\n", path, error->message);
}

/* "1.5s", "250ms", "40us", "40µs", "1000ns", or seconds. */
static gboolean
parse_time (const char *text, guint64 *ns)
{
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);
  double scale = 1e9;

  if (end == text || v < 0 || v != v)
    return FALSE;
  if (*end == '\0' || g_str_equal (end, "s"))
    scale = 1e9;
  else if (g_str_equal (end, "ms"))
    scale = 1e6;
  else if (g_str_equal (end, "us") || g_str_equal (end, "µs"))
    scale = 1e3;
  else if (g_str_equal (end, "ns"))
    scale = 1;
  else
    return FALSE;
  if (v * scale > 1.8e19)
    return FALSE;
  *ns = (guint64) (v * scale);
  return TRUE;
}

static HmHeapModel *
load_or_say (const char *path, int *status)
{
  g_autoptr(GError) error = NULL;
  HmHeapModel *model = hm_heap_model_load_file (path, &error);

  if (model == NULL)
    {
      print_error (path, error);
      *status = 1;
    }
  else if (error != NULL)
    {
      /* damage in the middle: compare what came before it */
      print_error (path, error);
      *status = 1;
    }
  return model;
}

/* hmtrace report --diff A B */
static int
report_diff (char **files, gboolean as_json, int top)
{
  g_autoptr(HmHeapModel) a = NULL;
  g_autoptr(HmHeapModel) b = NULL;
  g_autoptr(HmSymbolizer) symbolizer_a = NULL;
  g_autoptr(HmSymbolizer) symbolizer_b = NULL;
  HmReportOptions options;
  int status = 0;

  if (files == NULL || files[0] == NULL || files[1] == NULL || files[2] != NULL)
    {
      fprintf (stderr, _("hmtrace report: --diff compares two traces; usage: hmtrace report "
                         "--diff [--json] A B\n"));
      return 2;
    }
  if ((a = load_or_say (files[0], &status)) == NULL || (b = load_or_say (files[1], &status)) == NULL)
    return 1;
  symbolizer_a = hm_symbolizer_new_for_model (a);
  symbolizer_b = hm_symbolizer_new_for_model (b);
  hm_report_options_init (&options);
  options.top_sites = (guint) MAX (top, 0);
  if (as_json)
    {
      json_t *report = hm_report_diff_to_json (a, symbolizer_a, b, symbolizer_b);
      json_dumpf (report, stdout, JSON_INDENT (2));
      fputc ('\n', stdout);
      json_decref (report);
    }
  else
    hm_report_print_diff_text (stdout, files[0], a, symbolizer_a, files[1], b, symbolizer_b,
                               &options);
  fflush (stdout);
  return status;
}

int
hmtrace_report_main (int argc, char **argv)
{
  gboolean as_json = FALSE;
  gboolean diff = FALSE;
  gboolean no_builtin = FALSE;
  gboolean histograms = FALSE;
  g_autofree char *at_text = NULL, *from_text = NULL, *to_text = NULL;
  g_autofree char *tree_text = NULL, *filter_text = NULL;
  g_auto(GStrv) suppression_files = NULL;
  g_autoptr(HmSuppressions) suppressions = NULL;
  int top = 10;
  g_auto(GStrv) files = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json,
      N_("Print the report as JSON (all sites)"), NULL },
    { "diff", 0, 0, G_OPTION_ARG_NONE, &diff,
      N_("Compare two traces A B: the sites that changed, matched by function, file and line"),
      NULL },
    { "suppressions", 's', 0, G_OPTION_ARG_FILENAME_ARRAY, &suppression_files,
      N_("Leaks not to count, in LeakSanitizer's leak:PATTERN format (may be repeated)"),
      N_("FILE") },
    { "no-builtin-suppressions", 0, 0, G_OPTION_ARG_NONE, &no_builtin,
      N_("Count as leaks what the C library keeps until exit on purpose"), NULL },
    { "tree", 0, 0, G_OPTION_ARG_STRING, &tree_text,
      N_("The call tree: top-down (from main), bottom-up (from the allocating functions), "
         "callers:FUNCTION or callees:FUNCTION"),
      N_("DIRECTION") },
    { "filter", 0, 0, G_OPTION_ARG_STRING, &filter_text,
      N_("With --tree: only stacks through a function, file or module containing TEXT"),
      N_("TEXT") },
    { "at", 0, 0, G_OPTION_ARG_STRING, &at_text,
      N_("What was live at time T since the start (e.g. 1.5s, 250ms, 40us)"), N_("T") },
    { "from", 0, 0, G_OPTION_ARG_STRING, &from_text,
      N_("With --to: what was allocated between A and B"), N_("A") },
    { "to", 0, 0, G_OPTION_ARG_STRING, &to_text, N_("The end of the range"), N_("B") },
    { "histograms", 0, 0, G_OPTION_ARG_NONE, &histograms,
      N_("Show allocation sizes and lifetimes as histograms, overall and for each site"), NULL },
    { "top", 'n', 0, G_OPTION_ARG_INT, &top,
      N_("List the N biggest allocation sites (default 10, 0 for all)"), N_("N") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, N_("FILE") },
    { NULL, },
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HmHeapModel) model = NULL;
  g_autoptr(HmSymbolizer) symbolizer = NULL;
  HmReportOptions options;
  const char *path;

  if (g_get_prgname () == NULL)
    g_set_prgname ("hmtrace report");

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("Print the totals and the top allocation sites of a trace."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "hmtrace report: %s\n", error->message);
      return 2;
    }
  if (diff)
    return report_diff (files, as_json, top);
  suppressions = hm_suppressions_new (!no_builtin);
  for (guint i = 0; suppression_files != NULL && suppression_files[i] != NULL; i++)
    if (!hm_suppressions_load_file (suppressions, suppression_files[i], &error))
      {
        fprintf (stderr, "hmtrace report: %s\n", error->message);
        return 2;
      }
  if (files == NULL || files[0] == NULL || files[1] != NULL)
    {
      fprintf (stderr, _("hmtrace report: give one trace file; usage: hmtrace report [--json] [--top N] FILE\n"));
      return 2;
    }
  if (top < 0)
    {
      fprintf (stderr, _("hmtrace report: --top needs a number of sites, 0 or more\n"));
      return 2;
    }
  path = files[0];

  model = hm_heap_model_load_file (path, &error);
  if (model == NULL)
    {
      print_error (path, error);
      return 1;
    }

  hm_report_options_init (&options);
  options.top_sites = (guint) top;
  options.histograms = histograms;
  options.trace_name = path;
  options.suppressions = suppressions;
  symbolizer = hm_symbolizer_new_for_model (model);

  if (tree_text != NULL)
    {
      HmCallTreeDirection direction;
      const char *focus = NULL;
      if (g_str_equal (tree_text, "bottom-up"))
        direction = HM_CALL_TREE_BOTTOM_UP;
      else if (g_str_equal (tree_text, "top-down"))
        direction = HM_CALL_TREE_TOP_DOWN;
      else if (g_str_has_prefix (tree_text, "callers:") && tree_text[8] != '\0')
        direction = HM_CALL_TREE_CALLERS, focus = tree_text + 8;
      else if (g_str_has_prefix (tree_text, "callees:") && tree_text[8] != '\0')
        direction = HM_CALL_TREE_CALLEES, focus = tree_text + 8;
      else
        {
          fprintf (stderr, _("hmtrace report: --tree is top-down, bottom-up, callers:FUNCTION or "
                             "callees:FUNCTION\n"));
          return 2;
        }
      gboolean bottom_up = direction == HM_CALL_TREE_BOTTOM_UP
                           || direction == HM_CALL_TREE_CALLERS;
      HmCallTreeOptions tree_options = { direction, FALSE, filter_text, focus };
      g_autoptr(HmCallNode) root = hm_call_tree_build (model, symbolizer, &tree_options);
      if (as_json)
        {
          json_t *report = hm_report_call_tree_to_json (root, 0.001);
          json_dumpf (report, stdout, JSON_INDENT (2));
          fputc ('\n', stdout);
          json_decref (report);
        }
      else
        hm_report_print_call_tree (stdout, root, bottom_up, 0.01);
    }
  else if (at_text != NULL || from_text != NULL || to_text != NULL)
    {
      guint64 from = 0, to = 0;
      gboolean range = from_text != NULL || to_text != NULL;
      if ((at_text != NULL && range) || (range && (from_text == NULL || to_text == NULL))
          || (at_text != NULL && !parse_time (at_text, &to))
          || (from_text != NULL && !parse_time (from_text, &from))
          || (to_text != NULL && !parse_time (to_text, &to)) || from > to)
        {
          fprintf (stderr, _("hmtrace report: give --at T, or --from A --to B with A <= B; "
                             "times like 1.5s, 250ms, 40us\n"));
          return 2;
        }
      if (!range)
        from = to;
      g_autoptr(HmBreakdown) breakdown = hm_heap_model_get_breakdown (model, range ? from : 0,
                                                                      to);
      if (as_json)
        {
          json_t *report = hm_report_breakdown_to_json (model, symbolizer, breakdown, range);
          json_dumpf (report, stdout, JSON_INDENT (2));
          fputc ('\n', stdout);
          json_decref (report);
        }
      else
        hm_report_print_breakdown_text (stdout, model, symbolizer, breakdown, range, &options);
    }
  else if (as_json)
    {
      json_t *report = hm_report_to_json (model, symbolizer, &options);

      json_dumpf (report, stdout, JSON_INDENT (2));
      fputc ('\n', stdout);
      json_decref (report);
    }
  else
    hm_report_print_text (stdout, model, symbolizer, &options);
  fflush (stdout);

  if (error != NULL)
    {
      /* Damage in the middle: what came before it was reported above. */
      print_error (path, error);
      return 1;
    }
  if (hm_heap_model_is_truncated (model))
    fprintf (stderr, _("hmtrace: %s: trace is cut at byte %" PRIu64
                       " (the process may have been killed); showing what was recorded before\n"),
             path, hm_heap_model_get_truncated_offset (model));
  return 0;
}
