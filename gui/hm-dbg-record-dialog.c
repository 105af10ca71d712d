/* hm-dbg-record-dialog.c — the Record dialog: a command line, parsed the way
 * a shell would split it, and a file chooser to pick the program.
 */
#include <glib/gi18n.h>

#include "hm-dbg-record-dialog.h"

struct _HmDbgRecordDialog
{
  GtkWindow parent_instance;

  GtkEntry *command_entry;
  GtkLabel *error_label;

  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (HmDbgRecordDialog, hm_dbg_record_dialog, GTK_TYPE_WINDOW)

enum {
  RECORD,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
show_error (HmDbgRecordDialog *self,
            const char        *message)
{
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
command_changed_cb (HmDbgRecordDialog *self,
                    GtkEditable       *editable)
{
  const char *text = gtk_editable_get_text (editable);
  gboolean blank = TRUE;

  for (const char *p = text; p != NULL && *p != '\0' && blank; p++)
    blank = g_ascii_isspace (*p);
  show_error (self, NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "record.start", !blank);
}

static void
start_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  HmDbgRecordDialog *self = HM_DBG_RECORD_DIALOG (widget);
  g_auto(GStrv) argv = NULL;
  g_autoptr(GError) error = NULL;
  int argc;

  if (!g_shell_parse_argv (gtk_editable_get_text (GTK_EDITABLE (self->command_entry)), &argc, &argv,
                           &error))
    {
      g_autofree char *message = g_strdup_printf (_("This is not a command line: %s"), error->message);
      show_error (self, message);
      return;
    }

  g_signal_emit (self, signals[RECORD], 0, argv);
  gtk_window_close (GTK_WINDOW (self));
}

static void
chooser_response_cb (HmDbgRecordDialog    *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = g_file_get_path (file);

      if (path != NULL)
        {
          g_autofree char *quoted = g_shell_quote (path);
          gtk_editable_set_text (GTK_EDITABLE (self->command_entry), quoted);
          gtk_editable_set_position (GTK_EDITABLE (self->command_entry), -1);
        }
    }
  g_clear_object (&self->chooser);
}

static void
choose_program_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  HmDbgRecordDialog *self = HM_DBG_RECORD_DIALOG (widget);

  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_("Choose a Program"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Choose"), NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (chooser_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

const char *
hm_dbg_record_dialog_get_command (HmDbgRecordDialog *self)
{
  g_return_val_if_fail (HM_DBG_IS_RECORD_DIALOG (self), NULL);

  return gtk_editable_get_text (GTK_EDITABLE (self->command_entry));
}

void
hm_dbg_record_dialog_set_command (HmDbgRecordDialog *self,
                                  const char        *command)
{
  g_return_if_fail (HM_DBG_IS_RECORD_DIALOG (self));

  gtk_editable_set_text (GTK_EDITABLE (self->command_entry), command != NULL ? command : "");
  gtk_editable_select_region (GTK_EDITABLE (self->command_entry), 0, -1);
}

static void
hm_dbg_record_dialog_dispose (GObject *object)
{
  HmDbgRecordDialog *self = HM_DBG_RECORD_DIALOG (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), HM_DBG_TYPE_RECORD_DIALOG);

  G_OBJECT_CLASS (hm_dbg_record_dialog_parent_class)->dispose (object);
}

static void
hm_dbg_record_dialog_class_init (HmDbgRecordDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hm_dbg_record_dialog_dispose;

  /* The program's argument vector, argv[0] first. */
  signals[RECORD] =
    g_signal_new ("record", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRV);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/hybridmem/Debugger/ui/hm-dbg-record-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, HmDbgRecordDialog, command_entry);
  gtk_widget_class_bind_template_child (widget_class, HmDbgRecordDialog, error_label);
  gtk_widget_class_bind_template_callback (widget_class, command_changed_cb);

  gtk_widget_class_install_action (widget_class, "record.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "record.choose-program", NULL,
                                   choose_program_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
hm_dbg_record_dialog_init (HmDbgRecordDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "record.start", FALSE);
}

HmDbgRecordDialog *
hm_dbg_record_dialog_new (GtkWindow *parent)
{
  return g_object_new (HM_DBG_TYPE_RECORD_DIALOG,
                       "transient-for", parent,
                       NULL);
}
