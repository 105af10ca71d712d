/* hm-dbg-attach-dialog.c — the Attach dialog: the user's processes in a
 * list view over a filtered GListStore of HmDbgProcessItem, a search entry
 * matching name, PID and command line, and Attach for the selected row (or
 * a double click / Enter on it).
 */
#include <glib/gi18n.h>

#include "hm-attach.h"
#include "hm-dbg-attach-dialog.h"
#include "hm-dbg-process-item.h"

struct _HmDbgAttachDialog
{
  GtkWindow parent_instance;

  GtkSearchEntry *search_entry;
  GtkListView *list_view;
  GtkLabel *count_label;
  GtkButton *attach_button;
  GtkLabel *note_label;

  GListStore *processes;
  GtkStringFilter *filter;
  GtkFilterListModel *shown;
  GtkSingleSelection *selection;
};

G_DEFINE_FINAL_TYPE (HmDbgAttachDialog, hm_dbg_attach_dialog, GTK_TYPE_WINDOW)

enum {
  ATTACH,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
update_state (HmDbgAttachDialog *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->shown));
  guint total = g_list_model_get_n_items (G_LIST_MODEL (self->processes));
  g_autofree char *text = NULL;

  if (n == total)
    text = g_strdup_printf (ngettext ("%u process", "%u processes", total), total);
  else
    text = g_strdup_printf (_("%u of %u processes"), n, total);
  gtk_label_set_text (self->count_label, text);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "attach.start",
                                 gtk_single_selection_get_selected_item (self->selection) != NULL);
}

void
hm_dbg_attach_dialog_refresh (HmDbgAttachDialog *self)
{
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) items = NULL;

  g_return_if_fail (HM_DBG_IS_ATTACH_DIALOG (self));

  list = hm_attach_list_processes ();
  items = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < list->len; i++)
    {
      HmProcessInfo *info = g_ptr_array_index (list, i);
      g_ptr_array_add (items, hm_dbg_process_item_new (info->pid, info->name, info->cmdline,
                                                       info->has_agent));
    }
  g_list_store_splice (self->processes, 0, g_list_model_get_n_items (G_LIST_MODEL (self->processes)),
                       items->pdata, items->len);
  update_state (self);
}

void
hm_dbg_attach_dialog_set_search (HmDbgAttachDialog *self,
                                 const char        *text)
{
  g_return_if_fail (HM_DBG_IS_ATTACH_DIALOG (self));

  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text != NULL ? text : "");
  /* at once, not after the entry's search delay */
  gtk_string_filter_set_search (self->filter, text);
}

GListModel *
hm_dbg_attach_dialog_get_shown (HmDbgAttachDialog *self)
{
  g_return_val_if_fail (HM_DBG_IS_ATTACH_DIALOG (self), NULL);

  return G_LIST_MODEL (self->shown);
}

gboolean
hm_dbg_attach_dialog_select_pid (HmDbgAttachDialog *self,
                                 int                pid)
{
  g_return_val_if_fail (HM_DBG_IS_ATTACH_DIALOG (self), FALSE);

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->shown)); i++)
    {
      g_autoptr(HmDbgProcessItem) item = g_list_model_get_item (G_LIST_MODEL (self->shown), i);
      if (hm_dbg_process_item_get_pid (item) == pid)
        {
          gtk_single_selection_set_selected (self->selection, i);
          return TRUE;
        }
    }
  return FALSE;
}

static void
search_changed_cb (HmDbgAttachDialog *self,
                   GtkSearchEntry    *entry)
{
  gtk_string_filter_set_search (self->filter, gtk_editable_get_text (GTK_EDITABLE (entry)));
}

static void
emit_attach (HmDbgAttachDialog *self)
{
  HmDbgProcessItem *item = gtk_single_selection_get_selected_item (self->selection);

  if (item == NULL)
    return;
  g_signal_emit (self, signals[ATTACH], 0, hm_dbg_process_item_get_pid (item));
  gtk_window_close (GTK_WINDOW (self));
}

static void
activate_cb (HmDbgAttachDialog *self,
             guint              position,
             GtkListView       *view)
{
  gtk_single_selection_set_selected (self->selection, position);
  emit_attach (self);
}

static void
start_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  emit_attach (HM_DBG_ATTACH_DIALOG (widget));
}

static void
refresh_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  hm_dbg_attach_dialog_refresh (HM_DBG_ATTACH_DIALOG (widget));
}

/* A row: name and command line, PID, and the agent's state. */
static void
setup_row_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              gpointer                  data)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *texts = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name = gtk_label_new (NULL);
  GtkWidget *cmdline = gtk_label_new (NULL);
  GtkWidget *pid = gtk_label_new (NULL);
  GtkWidget *agent = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_xalign (GTK_LABEL (cmdline), 0);
  gtk_label_set_ellipsize (GTK_LABEL (cmdline), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_add_css_class (cmdline, "dim-label");
  gtk_widget_add_css_class (cmdline, "caption");
  gtk_widget_add_css_class (pid, "numeric");
  gtk_widget_set_hexpand (texts, TRUE);
  gtk_label_set_width_chars (GTK_LABEL (pid), 8);
  gtk_label_set_xalign (GTK_LABEL (pid), 1);
  gtk_label_set_width_chars (GTK_LABEL (agent), 14);
  gtk_label_set_xalign (GTK_LABEL (agent), 0);
  gtk_box_append (GTK_BOX (texts), name);
  gtk_box_append (GTK_BOX (texts), cmdline);
  gtk_box_append (GTK_BOX (row), texts);
  gtk_box_append (GTK_BOX (row), pid);
  gtk_box_append (GTK_BOX (row), agent);
  gtk_widget_set_margin_top (row, 4);
  gtk_widget_set_margin_bottom (row, 4);
  gtk_list_item_set_child (list_item, row);
}

static void
bind_row_cb (GtkSignalListItemFactory *factory,
             GtkListItem              *list_item,
             gpointer                  data)
{
  HmDbgProcessItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *row = gtk_list_item_get_child (list_item);
  GtkWidget *texts = gtk_widget_get_first_child (row);
  GtkWidget *pid = gtk_widget_get_next_sibling (texts);
  GtkWidget *agent = gtk_widget_get_next_sibling (pid);
  g_autofree char *pid_text = g_strdup_printf ("%d", hm_dbg_process_item_get_pid (item));

  gtk_label_set_text (GTK_LABEL (gtk_widget_get_first_child (texts)),
                      hm_dbg_process_item_get_name (item));
  gtk_label_set_text (GTK_LABEL (gtk_widget_get_last_child (texts)),
                      hm_dbg_process_item_get_cmdline (item));
  gtk_label_set_text (GTK_LABEL (pid), pid_text);
  gtk_label_set_text (GTK_LABEL (agent), hm_dbg_process_item_get_has_agent (item)
                                           ? _("agent listening") : _("no agent"));
  if (hm_dbg_process_item_get_has_agent (item))
    gtk_widget_add_css_class (agent, "success");
  else
    gtk_widget_remove_css_class (agent, "success");
}

static void
hm_dbg_attach_dialog_dispose (GObject *object)
{
  HmDbgAttachDialog *self = HM_DBG_ATTACH_DIALOG (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), HM_DBG_TYPE_ATTACH_DIALOG);
  g_clear_object (&self->selection);
  g_clear_object (&self->processes);
  G_OBJECT_CLASS (hm_dbg_attach_dialog_parent_class)->dispose (object);
}

static void
hm_dbg_attach_dialog_class_init (HmDbgAttachDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hm_dbg_attach_dialog_dispose;

  /* The chosen process's PID. */
  signals[ATTACH] =
    g_signal_new ("attach", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/hybridmem/Debugger/ui/hm-dbg-attach-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, HmDbgAttachDialog, search_entry);
  gtk_widget_class_bind_template_child (widget_class, HmDbgAttachDialog, list_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgAttachDialog, count_label);
  gtk_widget_class_bind_template_child (widget_class, HmDbgAttachDialog, attach_button);
  gtk_widget_class_bind_template_child (widget_class, HmDbgAttachDialog, note_label);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, activate_cb);

  gtk_widget_class_install_action (widget_class, "attach.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "attach.refresh", NULL, refresh_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "attach.refresh", NULL);
}

static void
hm_dbg_attach_dialog_init (HmDbgAttachDialog *self)
{
  GtkListItemFactory *factory;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->processes = g_list_store_new (HM_DBG_TYPE_PROCESS_ITEM);
  self->filter = gtk_string_filter_new (gtk_property_expression_new (HM_DBG_TYPE_PROCESS_ITEM, NULL,
                                                                     "search-text"));
  gtk_string_filter_set_ignore_case (self->filter, TRUE);
  gtk_string_filter_set_match_mode (self->filter, GTK_STRING_FILTER_MATCH_MODE_SUBSTRING);
  self->shown = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->processes)),
                                           GTK_FILTER (self->filter));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (self->shown));
  gtk_single_selection_set_autoselect (self->selection, TRUE);
  g_signal_connect_object (self->shown, "items-changed", G_CALLBACK (update_state), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->selection, "notify::selected", G_CALLBACK (update_state), self,
                           G_CONNECT_SWAPPED);

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row_cb), NULL);
  gtk_list_view_set_factory (self->list_view, factory);
  g_object_unref (factory);
  gtk_list_view_set_model (self->list_view, GTK_SELECTION_MODEL (self->selection));

  hm_dbg_attach_dialog_refresh (self);
}

void
hm_dbg_attach_dialog_set_for_dump (HmDbgAttachDialog *self)
{
  g_return_if_fail (HM_DBG_IS_ATTACH_DIALOG (self));

  gtk_window_set_title (GTK_WINDOW (self), _("Dump a Flight Recorder"));
  gtk_button_set_label (self->attach_button, _("_Dump"));
  gtk_label_set_text (self->note_label,
                      _("A process started in flight-recorder mode (hmtrace record "
                        "--flight-recorder, or HM_FLIGHT_RECORDER) writes its last seconds and "
                        "what was live before them as a trace, which opens here.  It goes on "
                        "running."));
}

HmDbgAttachDialog *
hm_dbg_attach_dialog_new (GtkWindow *parent)
{
  return g_object_new (HM_DBG_TYPE_ATTACH_DIALOG,
                       "transient-for", parent,
                       NULL);
}
