/* hm-dbg-application.c — the command line, the application-wide actions and
 * shortcuts, and the style sheet.
 *
 *   hybridmem-debugger [TRACE.hmt…]
 *   hybridmem-debugger --record -- PROGRAM [ARGS…]
 *   hybridmem-debugger --attach PID
 *   hybridmem-debugger --diff BEFORE.hmt AFTER.hmt
 *
 * A second invocation hands its command line to the running instance, which
 * opens a window for it (paths and the program resolve in the caller's
 * directory).
 */
#include <glib/gi18n.h>

#include "hm-dbg-application.h"

#include "hm-dbg-window.h"

struct _HmDbgApplication
{
  GtkApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (HmDbgApplication, hm_dbg_application, GTK_TYPE_APPLICATION)

/* An empty window with nothing to show yet is reused for a trace. */
static HmDbgWindow *
get_window_for_trace (HmDbgApplication *self)
{
  GtkWindow *active = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (HM_DBG_IS_WINDOW (active) && hm_dbg_window_get_trace (HM_DBG_WINDOW (active)) == NULL
      && !hm_dbg_window_is_loading (HM_DBG_WINDOW (active)))
    return HM_DBG_WINDOW (active);
  return hm_dbg_window_new (GTK_APPLICATION (self));
}

static void
hm_dbg_application_activate (GApplication *application)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (application));

  if (window == NULL)
    window = GTK_WINDOW (hm_dbg_window_new (GTK_APPLICATION (application)));
  gtk_window_present (window);
}

static void
hm_dbg_application_open (GApplication  *application,
                         GFile        **files,
                         int            n_files,
                         const char    *hint)
{
  HmDbgApplication *self = HM_DBG_APPLICATION (application);

  for (int i = 0; i < n_files; i++)
    {
      HmDbgWindow *window = get_window_for_trace (self);

      hm_dbg_window_open (window, files[i]);
      gtk_window_present (GTK_WINDOW (window));
    }
}

static int
hm_dbg_application_command_line (GApplication            *application,
                                 GApplicationCommandLine *command_line)
{
  HmDbgApplication *self = HM_DBG_APPLICATION (application);
  GVariantDict *options = g_application_command_line_get_options_dict (command_line);
  g_autofree const char **remaining = NULL;
  gboolean record = FALSE;
  gboolean diff = FALSE;
  int attach_pid = 0;

  g_variant_dict_lookup (options, "record", "b", &record);
  g_variant_dict_lookup (options, "diff", "b", &diff);
  g_variant_dict_lookup (options, "attach", "i", &attach_pid);
  g_variant_dict_lookup (options, G_OPTION_REMAINING, "^a&ay", &remaining);

  if (diff)
    {
      HmDbgWindow *window;
      g_autoptr(GFile) before = NULL;
      g_autoptr(GFile) after = NULL;

      if (record || attach_pid != 0 || remaining == NULL || remaining[0] == NULL
          || remaining[1] == NULL || remaining[2] != NULL)
        {
          g_application_command_line_printerr (command_line, "%s\n",
                                               _("hybridmem-debugger: --diff needs two traces: "
                                                 "hybridmem-debugger --diff BEFORE.hmt AFTER.hmt"));
          return 2;
        }
      before = g_application_command_line_create_file_for_arg (command_line, remaining[0]);
      after = g_application_command_line_create_file_for_arg (command_line, remaining[1]);
      window = get_window_for_trace (self);
      gtk_window_present (GTK_WINDOW (window));
      hm_dbg_window_open_diff (window, before, after);
      return 0;
    }

  if (attach_pid != 0)
    {
      HmDbgWindow *window;

      if (attach_pid < 0 || record)
        {
          g_application_command_line_printerr (command_line, "%s\n",
                                               _("hybridmem-debugger: --attach needs a process id, "
                                                 "and no --record"));
          return 2;
        }
      window = get_window_for_trace (self);
      gtk_window_present (GTK_WINDOW (window));
      return hm_dbg_window_attach (window, attach_pid) ? 0 : 1;
    }

  if (record)
    {
      HmDbgWindow *window;

      if (remaining == NULL || remaining[0] == NULL)
        {
          g_application_command_line_printerr (command_line, "%s\n",
                                               _("hybridmem-debugger: --record needs a program: "
                                                 "hybridmem-debugger --record -- PROGRAM [ARGS…]"));
          return 2;
        }
      window = get_window_for_trace (self);
      gtk_window_present (GTK_WINDOW (window));
      hm_dbg_window_record (window, remaining, g_application_command_line_get_cwd (command_line));
      return 0;
    }

  if (remaining != NULL && remaining[0] != NULL)
    {
      g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; remaining[i] != NULL; i++)
        g_ptr_array_add (files, g_application_command_line_create_file_for_arg (command_line,
                                                                                remaining[i]));
      g_application_open (application, (GFile **) files->pdata, (int) files->len, "");
      return 0;
    }

  g_application_activate (application);
  return 0;
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  GtkApplication *application = user_data;
  const char *developers[] = { _("The hybridmem developers"), NULL };

  gtk_show_about_dialog (gtk_application_get_active_window (application),
                         "program-name", _("hybridmem Debugger"),
                         "logo-icon-name", "io.github.hybridmem.Debugger",
                         "version", HM_VERSION,
                         "comments", _("See where a program’s memory goes: the heap over time, "
                                       "allocation sites, regions, pools and lifetime warnings."),
                         "license-type", GTK_LICENSE_LGPL_2_1,
                         "authors", developers,
                         "translator-credits", _("translator-credits"),
                         NULL);
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  GtkApplication *application = user_data;
  GList *windows = gtk_application_get_windows (application);

  /* Closing, not destroying: windows stop what they recorded. */
  while (windows != NULL)
    {
      GList *next = windows->next;
      gtk_window_close (windows->data);
      windows = next;
    }
}

static void
hm_dbg_application_startup (GApplication *application)
{
  static const GActionEntry actions[] = {
    { "about", about_action },
    { "quit", quit_action },
  };
  static const struct {
    const char *action;
    const char *accels[3];
  } shortcuts[] = {
    { "app.quit", { "<Control>q", NULL } },
    { "win.open", { "<Control>o", NULL } },
    { "win.save", { "<Control>s", NULL } },
    { "win.record", { "<Control>r", NULL } },
    { "win.attach", { "<Control><Shift>a", NULL } },
    { "win.find", { "<Control>f", NULL } },
    { "win.zoom-in", { "<Control>plus", "<Control>equal", NULL } },
    { "win.zoom-out", { "<Control>minus", NULL } },
    { "win.zoom-fit", { "<Control>0", NULL } },
    { "win.show-view::timeline", { "<Alt>1", NULL } },
    { "win.show-view::sites", { "<Alt>2", NULL } },
    { "win.show-view::objects", { "<Alt>3", NULL } },
    { "win.show-view::warnings", { "<Alt>4", NULL } },
    { "win.show-help-overlay", { "F1", "<Control>question", NULL } },
    { "window.close", { "<Control>w", NULL } },
  };
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();

  G_APPLICATION_CLASS (hm_dbg_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (application), actions, G_N_ELEMENTS (actions),
                                   application);
  for (guint i = 0; i < G_N_ELEMENTS (shortcuts); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (application), shortcuts[i].action,
                                           shortcuts[i].accels);

  gtk_css_provider_load_from_resource (css, "/io/github/hybridmem/Debugger/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  gtk_window_set_default_icon_name ("io.github.hybridmem.Debugger");
}

static void
hm_dbg_application_class_init (HmDbgApplicationClass *klass)
{
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  application_class->activate = hm_dbg_application_activate;
  application_class->open = hm_dbg_application_open;
  application_class->command_line = hm_dbg_application_command_line;
  application_class->startup = hm_dbg_application_startup;
}

static void
hm_dbg_application_init (HmDbgApplication *self)
{
  static const GOptionEntry entries[] = {
    { "record", 'r', G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, NULL,
      N_("Record the program that follows (after --) and show its heap live"), NULL },
    { "attach", 'a', G_OPTION_FLAG_NONE, G_OPTION_ARG_INT, NULL,
      N_("Attach to the running process PID and show its heap live from now on"), N_("PID") },
    { "diff", 'd', G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, NULL,
      N_("Compare two traces, BEFORE and AFTER: every view shows what changed"), NULL },
    { G_OPTION_REMAINING, 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME_ARRAY, NULL, NULL,
      N_("[TRACE.hmt…] | --record -- PROGRAM [ARGS…] | --attach PID | --diff BEFORE AFTER") },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("Explore the memory use of a program: open a trace "
                                              "recorded by hmtrace, record one, or attach to a "
                                              "running process."));
}

HmDbgApplication *
hm_dbg_application_new (GApplicationFlags flags)
{
  return g_object_new (HM_DBG_TYPE_APPLICATION,
                       "application-id", "io.github.hybridmem.Debugger",
                       "flags", flags | G_APPLICATION_HANDLES_OPEN | G_APPLICATION_HANDLES_COMMAND_LINE,
                       "resource-base-path", "/io/github/hybridmem/Debugger",
                       NULL);
}
