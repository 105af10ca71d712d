/* hm-dbg-profile-view.c — the profile editor (see the header).
 *
 * The profile is core's HmProfile (hm-profile.h): every edit goes through
 * hm_profile_set(), which validates it, so the table can never hold what
 * the agent would refuse; fields this editor does not know stay in the file.
 * Rows are small objects naming a site by its index in the profile; cells
 * read the site when they are bound.
 */
#include <glib/gi18n.h>

#include "hm-dbg-profile-view.h"
#include "hm-dbg-format.h"

/* ---- one row ---------------------------------------------------------------- */

#define HM_DBG_TYPE_PROFILE_ROW (hm_dbg_profile_row_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgProfileRow, hm_dbg_profile_row, HM_DBG, PROFILE_ROW, GObject)

struct _HmDbgProfileRow
{
  GObject parent_instance;
  guint index;
  char *error;               /* the last refused edit's reason */
  char *refused_field;       /* and its field */
  char *refused_value;       /* and its text, kept in the cell */
};

G_DEFINE_FINAL_TYPE (HmDbgProfileRow, hm_dbg_profile_row, G_TYPE_OBJECT)

static void
hm_dbg_profile_row_finalize (GObject *object)
{
  HmDbgProfileRow *self = HM_DBG_PROFILE_ROW (object);
  g_free (self->error);
  g_free (self->refused_field);
  g_free (self->refused_value);
  G_OBJECT_CLASS (hm_dbg_profile_row_parent_class)->finalize (object);
}

static void
hm_dbg_profile_row_class_init (HmDbgProfileRowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hm_dbg_profile_row_finalize;
}

static void
hm_dbg_profile_row_init (HmDbgProfileRow *self)
{
}

/* ---- the view ----------------------------------------------------------------- */

static const char *const strategies[] = {
  "none", "minimize-memory", "maximize-performance", "balanced", "adaptive", NULL,
};
/* a site's choices: the global strategy, or one of its own */
static const char *const site_strategies[] = {
  N_("default"), "none", "minimize-memory", "maximize-performance", "balanced", "adaptive", NULL,
};

struct _HmDbgProfileView
{
  GtkWidget parent_instance;

  GtkLabel *title_label;
  GtkLabel *message_label;
  GtkDropDown *strategy_dropdown;
  GtkButton *from_trace_button;
  GtkButton *save_button;
  GtkColumnView *column_view;
  GListStore *rows;

  HmDbgTrace *trace;
  HmProfile *profile;
  GFile *file;               /* where it was opened from or saved to; NULL: nowhere yet */
  gboolean modified;
  gboolean updating;         /* cells being bound: their changes are not edits */
};

G_DEFINE_FINAL_TYPE (HmDbgProfileView, hm_dbg_profile_view, GTK_TYPE_WIDGET)

static void
say (HmDbgProfileView *self, const char *message, gboolean is_error)
{
  gtk_label_set_text (self->message_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->message_label), message != NULL);
  if (is_error)
    gtk_widget_add_css_class (GTK_WIDGET (self->message_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->message_label), "error");
}

static void
update_title (HmDbgProfileView *self)
{
  g_autofree char *name = self->file ? g_file_get_basename (self->file) : NULL;
  g_autofree char *text = NULL;

  if (self->profile == NULL)
    text = g_strdup (_("No profile: open memory_profile.json, or build one from the trace"));
  else
    text = g_strdup_printf (g_dngettext (NULL, "%s%s — %u site", "%s%s — %u sites",
                                         hm_profile_get_n_sites (self->profile)),
                            self->modified ? "*" : "", name ? name : _("New profile"),
                            hm_profile_get_n_sites (self->profile));
  gtk_label_set_text (self->title_label, text);
  gtk_widget_set_sensitive (GTK_WIDGET (self->save_button), self->profile != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->strategy_dropdown), self->profile != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->from_trace_button),
                            self->trace != NULL && hm_dbg_trace_get_model (self->trace) != NULL);
}

static void
set_profile (HmDbgProfileView *self, HmProfile *profile, GFile *file, gboolean modified)
{
  g_clear_pointer (&self->profile, hm_profile_free);
  self->profile = profile;
  g_set_object (&self->file, file);
  self->modified = modified;

  g_list_store_remove_all (self->rows);
  for (guint i = 0; profile != NULL && i < hm_profile_get_n_sites (profile); i++)
    {
      g_autoptr(HmDbgProfileRow) row = g_object_new (HM_DBG_TYPE_PROFILE_ROW, NULL);
      row->index = i;
      g_list_store_append (self->rows, row);
    }
  self->updating = TRUE;
  if (profile != NULL)
    {
      const char *global = hm_profile_get_strategy (profile);
      for (guint i = 0; strategies[i] != NULL; i++)
        if (g_strcmp0 (global, strategies[i]) == 0)
          gtk_drop_down_set_selected (self->strategy_dropdown, i);
    }
  self->updating = FALSE;
  update_title (self);
}

static HmDbgProfileRow *
row_at (HmDbgProfileView *self, guint index)
{
  if (index >= g_list_model_get_n_items (G_LIST_MODEL (self->rows)))
    return NULL;
  HmDbgProfileRow *row = g_list_model_get_item (G_LIST_MODEL (self->rows), index);
  g_object_unref (row);   /* the store keeps it */
  return row;
}

/* Makes the table bind the row again (to flag or unflag a cell). */
static void
refresh_row (HmDbgProfileView *self, guint index, HmDbgProfileRow *row)
{
  g_autoptr(HmDbgProfileRow) keep = g_object_ref (row);
  g_list_store_splice (self->rows, index, 1, (gpointer *) &row, 1);
}

gboolean
hm_dbg_profile_view_edit (HmDbgProfileView *self, int row_index, const char *field,
                          const char *value)
{
  g_autoptr(GError) error = NULL;
  HmDbgProfileRow *row = row_index >= 0 ? row_at (self, (guint) row_index) : NULL;

  g_return_val_if_fail (HM_DBG_IS_PROFILE_VIEW (self), FALSE);
  if (self->profile == NULL || (row_index >= 0 && row == NULL))
    return FALSE;
  if (!hm_profile_set (self->profile, row_index, field, value ? value : "", &error))
    {
      if (row != NULL)
        {
          g_free (row->error);
          row->error = g_strdup (error->message);
          g_free (row->refused_field);
          row->refused_field = g_strdup (field);
          g_free (row->refused_value);
          row->refused_value = g_strdup (value);
          refresh_row (self, (guint) row_index, row);
        }
      say (self, error->message, TRUE);
      return FALSE;
    }
  if (row != NULL && row->error != NULL && g_strcmp0 (row->refused_field, field) == 0)
    {
      g_clear_pointer (&row->error, g_free);
      g_clear_pointer (&row->refused_field, g_free);
      g_clear_pointer (&row->refused_value, g_free);
      refresh_row (self, (guint) row_index, row);
    }
  if (row_index < 0)
    {
      /* the global strategy's control shows what the profile now says */
      self->updating = TRUE;
      for (guint i = 0; strategies[i] != NULL; i++)
        if (g_strcmp0 (hm_profile_get_strategy (self->profile), strategies[i]) == 0)
          gtk_drop_down_set_selected (self->strategy_dropdown, i);
      self->updating = FALSE;
    }
  self->modified = TRUE;
  say (self, NULL, FALSE);
  update_title (self);
  return TRUE;
}

/* ---- cells ---------------------------------------------------------------------- */

typedef enum {
  COL_SITE,
  COL_FUNCTION,
  COL_SOURCE,
  COL_COUNT,
  COL_BYTES,
  COL_PEAK,
  COL_LIFETIME,
  COL_STRATEGY,
  COL_POOL_SIZE,
  COL_POOL_CAPACITY,
  N_COLUMNS
} Column;

static gboolean
site_of (HmDbgProfileView *self, GtkListItem *item, HmProfileSite *site, HmDbgProfileRow **row)
{
  *row = gtk_list_item_get_item (item);
  return self->profile != NULL && hm_profile_get_site (self->profile, (*row)->index, site);
}

static void
setup_label (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
  Column column = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (f), "column"));
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), column >= COL_COUNT ? 1 : 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  if (column >= COL_COUNT)
    gtk_widget_add_css_class (label, "numeric");
  gtk_list_item_set_child (item, label);
}

static void
bind_label (GtkSignalListItemFactory *f, GtkListItem *item, HmDbgProfileView *self)
{
  Column column = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (f), "column"));
  HmProfileSite site;
  HmDbgProfileRow *row;
  g_autofree char *text = NULL;

  if (!site_of (self, item, &site, &row))
    return;
  switch (column)
    {
    case COL_SITE: text = hm_profile_site_key (&site); break;
    case COL_FUNCTION: text = g_strdup (site.symbol ? site.symbol : "??"); break;
    case COL_SOURCE:
      text = site.file ? g_strdup_printf ("%s:%" G_GINT64_FORMAT, site.file, site.line)
                       : g_strdup ("");
      break;
    case COL_COUNT: text = hm_dbg_format_count ((guint64) MAX (site.count, 0)); break;
    case COL_BYTES: text = hm_dbg_format_size ((guint64) MAX (site.bytes, 0), FALSE); break;
    case COL_PEAK: text = hm_dbg_format_size ((guint64) MAX (site.peak_live_bytes, 0), FALSE); break;
    case COL_LIFETIME:
      text = site.lifetime_median_ns >= 0 ? hm_dbg_format_time ((guint64) site.lifetime_median_ns)
                                          : g_strdup ("–");
      break;
    default: break;
    }
  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)), text ? text : "");
}

static void
strategy_selected_cb (GtkDropDown *dropdown, GParamSpec *pspec, HmDbgProfileView *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);
  int row = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (dropdown), "row")) - 1;
  if (self->updating || row < 0 || selected >= G_N_ELEMENTS (site_strategies) - 1)
    return;
  hm_dbg_profile_view_edit (self, row, "strategy", selected == 0 ? "default"
                                                                 : site_strategies[selected]);
}

static void
setup_strategy (GtkSignalListItemFactory *f, GtkListItem *item, HmDbgProfileView *self)
{
  const char *names[G_N_ELEMENTS (site_strategies)];
  for (guint i = 0; i < G_N_ELEMENTS (site_strategies); i++)
    names[i] = site_strategies[i] ? (i == 0 ? _(site_strategies[i]) : site_strategies[i]) : NULL;
  GtkWidget *dropdown = gtk_drop_down_new_from_strings (names);
  g_signal_connect (dropdown, "notify::selected", G_CALLBACK (strategy_selected_cb), self);
  gtk_list_item_set_child (item, dropdown);
}

static void
bind_strategy (GtkSignalListItemFactory *f, GtkListItem *item, HmDbgProfileView *self)
{
  GtkDropDown *dropdown = GTK_DROP_DOWN (gtk_list_item_get_child (item));
  HmProfileSite site;
  HmDbgProfileRow *row;
  guint selected = 0;

  if (!site_of (self, item, &site, &row))
    return;
  for (guint i = 1; site_strategies[i] != NULL; i++)
    if (g_strcmp0 (site.strategy, site_strategies[i]) == 0)
      selected = i;
  self->updating = TRUE;
  g_object_set_data (G_OBJECT (dropdown), "row", GINT_TO_POINTER (row->index + 1));
  gtk_drop_down_set_selected (dropdown, selected);
  self->updating = FALSE;
}

static void
entry_commit (GtkEntry *entry, HmDbgProfileView *self)
{
  int row = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (entry), "row")) - 1;
  const char *field = g_object_get_data (G_OBJECT (entry), "field");
  if (self->updating || row < 0 || field == NULL)
    return;
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  hm_dbg_profile_view_edit (self, row, field, *text ? text : "default");
}

static void
entry_focus_left (GtkEventControllerFocus *focus, HmDbgProfileView *self)
{
  entry_commit (GTK_ENTRY (gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (focus))), self);
}

static void
setup_entry (GtkSignalListItemFactory *f, GtkListItem *item, HmDbgProfileView *self)
{
  GtkWidget *entry = gtk_entry_new ();
  GtkEventController *focus = gtk_event_controller_focus_new ();
  gtk_entry_set_input_purpose (GTK_ENTRY (entry), GTK_INPUT_PURPOSE_DIGITS);
  gtk_editable_set_width_chars (GTK_EDITABLE (entry), 8);
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), _("default"));
  g_object_set_data (G_OBJECT (entry), "field", g_object_get_data (G_OBJECT (f), "field"));
  g_signal_connect (entry, "activate", G_CALLBACK (entry_commit), self);
  g_signal_connect (focus, "leave", G_CALLBACK (entry_focus_left), self);
  gtk_widget_add_controller (entry, focus);
  gtk_list_item_set_child (item, entry);
}

static void
bind_entry (GtkSignalListItemFactory *f, GtkListItem *item, HmDbgProfileView *self)
{
  GtkWidget *entry = gtk_list_item_get_child (item);
  const char *field = g_object_get_data (G_OBJECT (f), "field");
  HmProfileSite site;
  HmDbgProfileRow *row;
  g_autofree char *text = NULL;

  if (!site_of (self, item, &site, &row))
    return;
  gint64 v = g_str_equal (field, "pool_capacity") ? site.pool_capacity : site.pool_object_size;
  gboolean refused = row->error != NULL && g_strcmp0 (row->refused_field, field) == 0;
  text = refused ? g_strdup (row->refused_value)
                 : v > 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, v) : g_strdup ("");
  self->updating = TRUE;
  g_object_set_data (G_OBJECT (entry), "row", GINT_TO_POINTER (row->index + 1));
  gtk_editable_set_text (GTK_EDITABLE (entry), text);
  self->updating = FALSE;
  /* a refused value is flagged where it was typed */
  if (refused)
    {
      gtk_widget_add_css_class (entry, "error");
      gtk_widget_set_tooltip_text (entry, row->error);
    }
  else
    {
      gtk_widget_remove_css_class (entry, "error");
      gtk_widget_set_tooltip_text (entry, NULL);
    }
}

static GtkColumnViewColumn *
add_column (HmDbgProfileView *self, const char *title, Column column, GCallback setup,
            GCallback bind, const char *field)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_object_set_data (G_OBJECT (factory), "column", GINT_TO_POINTER (column));
  g_object_set_data (G_OBJECT (factory), "field", (gpointer) field);
  g_signal_connect (factory, "setup", setup, self);
  g_signal_connect (factory, "bind", bind, self);
  GtkColumnViewColumn *c = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_resizable (c, TRUE);
  gtk_column_view_append_column (self->column_view, c);
  g_object_unref (c);
  return c;
}

/* ---- actions --------------------------------------------------------------------- */

gboolean
hm_dbg_profile_view_open (HmDbgProfileView *self, GFile *file, GError **error)
{
  g_autofree char *path = g_file_get_path (file);
  g_autoptr(GError) local = NULL;
  HmProfile *profile;

  g_return_val_if_fail (HM_DBG_IS_PROFILE_VIEW (self), FALSE);
  profile = path ? hm_profile_load (path, &local) : NULL;
  if (profile == NULL)
    {
      say (self, local ? local->message : _("Not a local file"), TRUE);
      if (local != NULL)
        g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  set_profile (self, profile, file, FALSE);
  say (self, NULL, FALSE);
  return TRUE;
}

gboolean
hm_dbg_profile_view_build_from_trace (HmDbgProfileView *self)
{
  HmHeapModel *model = self->trace ? hm_dbg_trace_get_model (self->trace) : NULL;
  g_return_val_if_fail (HM_DBG_IS_PROFILE_VIEW (self), FALSE);
  if (model == NULL)
    return FALSE;
  set_profile (self, hm_profile_new_from_model (model, hm_dbg_trace_get_symbolizer (self->trace)),
               NULL, TRUE);
  say (self, _("Built from the open trace; save it where the program's HM_PROFILE_PATH points."),
       FALSE);
  return TRUE;
}

gboolean
hm_dbg_profile_view_save (HmDbgProfileView *self, GFile *file, GError **error)
{
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (HM_DBG_IS_PROFILE_VIEW (self), FALSE);
  if (file == NULL)
    file = self->file;
  g_autofree char *path = file ? g_file_get_path (file) : NULL;
  if (self->profile == NULL || path == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("Nowhere to save to"));
      return FALSE;
    }
  if (!hm_profile_write_file (self->profile, path, &local))
    {
      say (self, local->message, TRUE);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  g_set_object (&self->file, file);
  self->modified = FALSE;
  update_title (self);
  g_autofree char *text = g_strdup_printf (_("Saved to %s"), path);
  say (self, text, FALSE);
  return TRUE;
}

static void
open_response_cb (GtkNativeDialog *dialog, int response, HmDbgProfileView *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      hm_dbg_profile_view_open (self, file, NULL);
    }
  g_object_unref (dialog);
}

static void
save_as_response_cb (GtkNativeDialog *dialog, int response, HmDbgProfileView *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      hm_dbg_profile_view_save (self, file, NULL);
    }
  g_object_unref (dialog);
}

static GtkWindow *
window_of (HmDbgProfileView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  return GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL;
}

static void
open_clicked_cb (GtkButton *button, HmDbgProfileView *self)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (_("Open a Memory Profile"),
                                                              window_of (self),
                                                              GTK_FILE_CHOOSER_ACTION_OPEN,
                                                              _("_Open"), _("_Cancel"));
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("Memory profiles"));
  gtk_file_filter_add_pattern (filter, "*.json");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  g_object_unref (filter);
  g_signal_connect (dialog, "response", G_CALLBACK (open_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
save_as_clicked_cb (GtkButton *button, HmDbgProfileView *self)
{
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new (_("Export the Memory Profile"),
                                                              window_of (self),
                                                              GTK_FILE_CHOOSER_ACTION_SAVE,
                                                              _("_Save"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), "memory_profile.json");
  g_signal_connect (dialog, "response", G_CALLBACK (save_as_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
save_clicked_cb (GtkButton *button, HmDbgProfileView *self)
{
  if (self->file == NULL)
    save_as_clicked_cb (button, self);
  else
    hm_dbg_profile_view_save (self, NULL, NULL);
}

static void
from_trace_clicked_cb (GtkButton *button, HmDbgProfileView *self)
{
  hm_dbg_profile_view_build_from_trace (self);
}

static void
global_strategy_cb (GtkDropDown *dropdown, GParamSpec *pspec, HmDbgProfileView *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);
  if (!self->updating && self->profile != NULL && selected < G_N_ELEMENTS (strategies) - 1)
    hm_dbg_profile_view_edit (self, -1, "strategy", strategies[selected]);
}

/* ---- public --------------------------------------------------------------------- */

GtkWidget *
hm_dbg_profile_view_new (void)
{
  return g_object_new (HM_DBG_TYPE_PROFILE_VIEW, NULL);
}

static void
trace_changed_cb (HmDbgProfileView *self)
{
  update_title (self);
}

void
hm_dbg_profile_view_set_trace (HmDbgProfileView *self, HmDbgTrace *trace)
{
  g_return_if_fail (HM_DBG_IS_PROFILE_VIEW (self));
  if (self->trace != NULL)
    g_signal_handlers_disconnect_by_data (self->trace, self);
  g_set_object (&self->trace, trace);
  if (trace != NULL)
    g_signal_connect_object (trace, "changed", G_CALLBACK (trace_changed_cb), self,
                             G_CONNECT_SWAPPED);
  update_title (self);
}

HmProfile *
hm_dbg_profile_view_get_profile (HmDbgProfileView *self)
{
  g_return_val_if_fail (HM_DBG_IS_PROFILE_VIEW (self), NULL);
  return self->profile;
}

gboolean
hm_dbg_profile_view_is_modified (HmDbgProfileView *self)
{
  g_return_val_if_fail (HM_DBG_IS_PROFILE_VIEW (self), FALSE);
  return self->modified;
}

GListModel *
hm_dbg_profile_view_get_rows (HmDbgProfileView *self)
{
  g_return_val_if_fail (HM_DBG_IS_PROFILE_VIEW (self), NULL);
  return G_LIST_MODEL (self->rows);
}

const char *
hm_dbg_profile_view_get_row_error (HmDbgProfileView *self, guint index)
{
  HmDbgProfileRow *row = row_at (self, index);
  return row ? row->error : NULL;
}

/* ---- GObject ------------------------------------------------------------------- */

static void
hm_dbg_profile_view_dispose (GObject *object)
{
  HmDbgProfileView *self = HM_DBG_PROFILE_VIEW (object);
  GtkWidget *child;

  if (self->trace != NULL)
    g_signal_handlers_disconnect_by_data (self->trace, self);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->rows);
  g_clear_object (&self->trace);
  g_clear_object (&self->file);
  g_clear_pointer (&self->profile, hm_profile_free);
  G_OBJECT_CLASS (hm_dbg_profile_view_parent_class)->dispose (object);
}

static void
hm_dbg_profile_view_class_init (HmDbgProfileViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hm_dbg_profile_view_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "profileview");
}

static void
hm_dbg_profile_view_init (HmDbgProfileView *self)
{
  GtkWidget *bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *open = gtk_button_new_with_mnemonic (_("_Open…"));
  GtkWidget *save_as = gtk_button_new_with_mnemonic (_("_Export As…"));
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *global_label = gtk_label_new (_("Strategy of the next run:"));

  gtk_orientable_set_orientation (GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))),
                                  GTK_ORIENTATION_VERTICAL);
  self->rows = g_list_store_new (HM_DBG_TYPE_PROFILE_ROW);

  self->title_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_add_css_class (GTK_WIDGET (self->title_label), "heading");
  gtk_label_set_xalign (self->title_label, 0);
  gtk_widget_set_hexpand (GTK_WIDGET (self->title_label), TRUE);
  gtk_label_set_ellipsize (self->title_label, PANGO_ELLIPSIZE_MIDDLE);
  self->strategy_dropdown = GTK_DROP_DOWN (gtk_drop_down_new_from_strings ((const char *const *) strategies));
  self->from_trace_button = GTK_BUTTON (gtk_button_new_with_mnemonic (_("From _Trace")));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->from_trace_button),
                               _("A new profile of the open trace's allocation sites"));
  self->save_button = GTK_BUTTON (gtk_button_new_with_mnemonic (_("_Save")));
  gtk_widget_add_css_class (GTK_WIDGET (self->save_button), "suggested-action");
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->title_label));
  gtk_box_append (GTK_BOX (bar), global_label);
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->strategy_dropdown));
  gtk_box_append (GTK_BOX (bar), open);
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->from_trace_button));
  gtk_box_append (GTK_BOX (bar), save_as);
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->save_button));
  gtk_widget_set_margin_start (bar, 6);
  gtk_widget_set_margin_end (bar, 6);
  gtk_widget_set_margin_top (bar, 6);
  gtk_widget_set_margin_bottom (bar, 6);
  gtk_widget_set_parent (bar, GTK_WIDGET (self));

  self->message_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->message_label, 0);
  gtk_label_set_wrap (self->message_label, TRUE);
  gtk_widget_set_margin_start (GTK_WIDGET (self->message_label), 8);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self->message_label), 4);
  gtk_widget_set_visible (GTK_WIDGET (self->message_label), FALSE);
  gtk_widget_set_parent (GTK_WIDGET (self->message_label), GTK_WIDGET (self));

  self->column_view = GTK_COLUMN_VIEW (gtk_column_view_new (
    GTK_SELECTION_MODEL (gtk_no_selection_new (G_LIST_MODEL (g_object_ref (self->rows))))));
  gtk_column_view_set_show_column_separators (self->column_view, TRUE);
  add_column (self, _("Site"), COL_SITE, G_CALLBACK (setup_label), G_CALLBACK (bind_label), NULL);
  GtkColumnViewColumn *function =
    add_column (self, _("Function"), COL_FUNCTION, G_CALLBACK (setup_label),
                G_CALLBACK (bind_label), NULL);
  gtk_column_view_column_set_expand (function, TRUE);
  add_column (self, _("Source"), COL_SOURCE, G_CALLBACK (setup_label), G_CALLBACK (bind_label), NULL);
  add_column (self, _("Allocations"), COL_COUNT, G_CALLBACK (setup_label), G_CALLBACK (bind_label), NULL);
  add_column (self, _("Allocated"), COL_BYTES, G_CALLBACK (setup_label), G_CALLBACK (bind_label), NULL);
  add_column (self, _("Peak live"), COL_PEAK, G_CALLBACK (setup_label), G_CALLBACK (bind_label), NULL);
  add_column (self, _("Median lifetime"), COL_LIFETIME, G_CALLBACK (setup_label),
              G_CALLBACK (bind_label), NULL);
  add_column (self, _("Strategy"), COL_STRATEGY, G_CALLBACK (setup_strategy),
              G_CALLBACK (bind_strategy), NULL);
  add_column (self, _("Pool object size"), COL_POOL_SIZE, G_CALLBACK (setup_entry),
              G_CALLBACK (bind_entry), "pool_object_size");
  add_column (self, _("Pool capacity"), COL_POOL_CAPACITY, G_CALLBACK (setup_entry),
              G_CALLBACK (bind_entry), "pool_capacity");
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (self->column_view));
  gtk_widget_set_vexpand (scroller, TRUE);
  gtk_widget_set_parent (scroller, GTK_WIDGET (self));

  g_signal_connect (open, "clicked", G_CALLBACK (open_clicked_cb), self);
  g_signal_connect (save_as, "clicked", G_CALLBACK (save_as_clicked_cb), self);
  g_signal_connect (self->save_button, "clicked", G_CALLBACK (save_clicked_cb), self);
  g_signal_connect (self->from_trace_button, "clicked", G_CALLBACK (from_trace_clicked_cb), self);
  g_signal_connect (self->strategy_dropdown, "notify::selected", G_CALLBACK (global_strategy_cb),
                    self);
  update_title (self);
}
