/* hmtrace-profile.c — `hmtrace profile validate|show|diff|set|from-trace`.
 *
 * The command-line twin of the debugger's profile editor: everything goes
 * through hm-profile.c, so the rules (schema, editable fields) are the same.
 * Errors are one line on stderr and a non-zero exit: 1 for a bad profile or
 * trace, 2 for a bad command line.
 */
#include <glib.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "hm-heap-model.h"
#include "hm-profile.h"
#include "hm-symbolizer.h"
#include "hmtrace-commands.h"

static void
usage (FILE *out)
{
  fprintf (out, _("Usage: hmtrace profile COMMAND …\n\n"
                  "Read, check and edit memory_profile.json, the file the agent records with\n"
                  "HM_ENABLE_PROFILING=1 and applies on the next run.\n\n"
                  "Commands:\n"
                  "  validate FILE                 check FILE against the schema; errors name the\n"
                  "                                line and column\n"
                  "  show FILE                     the sites as a table\n"
                  "  diff A B                      what changed from A to B, site by site\n"
                  "  set FILE SITE KEY=VALUE       edit one override and rewrite FILE atomically;\n"
                  "                                SITE is a number from `show`, a key such as\n"
                  "                                prog+0x1a2b, or `global`; KEY is strategy,\n"
                  "                                pool_object_size or pool_capacity\n"
                  "                                (VALUE default removes a site's override)\n"
                  "  from-trace TRACE -o FILE      a profile built from a recorded trace\n"));
}

static HmProfile *
load_or_say (const char *path)
{
  g_autoptr(GError) error = NULL;
  HmProfile *profile = hm_profile_load (path, &error);

  if (profile == NULL)
    fprintf (stderr, "hmtrace profile: %s\n", error->message);
  return profile;
}

static int
cmd_validate (int argc, char **argv)
{
  if (argc != 2)
    {
      fprintf (stderr, _("hmtrace profile: usage: hmtrace profile validate FILE\n"));
      return 2;
    }
  g_autoptr(HmProfile) profile = load_or_say (argv[1]);
  if (profile == NULL)
    return 1;
  printf (_("%s: valid profile, version %d, %u sites\n"), argv[1], HM_PROFILE_VERSION,
          hm_profile_get_n_sites (profile));
  return 0;
}

static int
cmd_show (int argc, char **argv)
{
  if (argc != 2)
    {
      fprintf (stderr, _("hmtrace profile: usage: hmtrace profile show FILE\n"));
      return 2;
    }
  g_autoptr(HmProfile) profile = load_or_say (argv[1]);
  if (profile == NULL)
    return 1;
  hm_profile_print_table (stdout, profile);
  return 0;
}

static int
cmd_diff (int argc, char **argv)
{
  if (argc != 3)
    {
      fprintf (stderr, _("hmtrace profile: usage: hmtrace profile diff A B\n"));
      return 2;
    }
  g_autoptr(HmProfile) a = load_or_say (argv[1]);
  if (a == NULL)
    return 1;
  g_autoptr(HmProfile) b = load_or_say (argv[2]);
  if (b == NULL)
    return 1;
  guint n = hm_profile_print_diff (stdout, a, b);
  if (n == 0)
    printf (_("no differences\n"));
  return 0;
}

static int
cmd_set (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  const char *eq;
  int index = -1;

  if (argc != 4 || (eq = strchr (argv[3], '=')) == NULL || eq == argv[3])
    {
      fprintf (stderr, _("hmtrace profile: usage: hmtrace profile set FILE SITE KEY=VALUE\n"));
      return 2;
    }
  g_autoptr(HmProfile) profile = load_or_say (argv[1]);
  if (profile == NULL)
    return 1;
  if (strcmp (argv[2], "global") != 0)
    {
      index = hm_profile_find_site (profile, argv[2]);
      if (index < 0)
        {
          fprintf (stderr, _("hmtrace profile: %s: no site “%s” (give a number from "
                             "`hmtrace profile show` or a key like prog+0x1a2b)\n"),
                   argv[1], argv[2]);
          return 1;
        }
    }
  g_autofree char *key = g_strndup (argv[3], (gsize) (eq - argv[3]));
  if (!hm_profile_set (profile, index, key, eq + 1, &error)
      || !hm_profile_write_file (profile, argv[1], &error))
    {
      fprintf (stderr, "hmtrace profile: %s: %s\n", argv[1], error->message);
      return 1;
    }
  return 0;
}

static int
cmd_from_trace (int argc, char **argv)
{
  g_autofree char *output = NULL;
  g_auto(GStrv) files = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Write the profile to FILE"),
      N_("FILE") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, N_("TRACE") },
    { NULL, },
  };
  g_autoptr(GOptionContext) context = g_option_context_new (_("TRACE -o FILE"));
  g_autoptr(GError) error = NULL;

  g_option_context_set_summary (context, _("Build a profile from a recorded trace: one site "
                                           "per allocation stack, with its statistics."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "hmtrace profile from-trace: %s\n", error->message);
      return 2;
    }
  if (files == NULL || files[0] == NULL || files[1] != NULL || output == NULL)
    {
      fprintf (stderr, _("hmtrace profile: usage: hmtrace profile from-trace TRACE -o FILE\n"));
      return 2;
    }
  g_autoptr(HmHeapModel) model = hm_heap_model_load_file (files[0], &error);
  if (model == NULL)
    {
      fprintf (stderr, "hmtrace profile: %s\n", error->message);
      return 1;
    }
  if (error != NULL)   /* damage in the middle: the profile of what came before */
    fprintf (stderr, "hmtrace profile: %s (using what came before)\n", error->message);
  g_autoptr(HmSymbolizer) symbolizer = hm_symbolizer_new_for_model (model);
  g_autoptr(HmProfile) profile = hm_profile_new_from_model (model, symbolizer);
  g_clear_error (&error);
  if (!hm_profile_write_file (profile, output, &error))
    {
      fprintf (stderr, "hmtrace profile: %s\n", error->message);
      return 1;
    }
  printf (_("%s: %u sites from %s\n"), output, hm_profile_get_n_sites (profile), files[0]);
  return 0;
}

int
hmtrace_profile_main (int argc, char **argv)
{
  static const struct {
    const char *name;
    int (*main) (int argc, char **argv);
  } commands[] = {
    { "validate", cmd_validate },
    { "show", cmd_show },
    { "diff", cmd_diff },
    { "set", cmd_set },
    { "from-trace", cmd_from_trace },
  };

  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].main (argc - 1, argv + 1);
  fprintf (stderr, _("hmtrace profile: “%s” is not a command (validate, show, diff, set, "
                     "from-trace)\n"), argv[1]);
  return 2;
}
