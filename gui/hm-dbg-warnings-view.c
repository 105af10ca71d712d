/* hm-dbg-warnings-view.c — the warnings list, a kind filter that counts
 * each kind, and the stacks of the selected warning.
 *
 * "Show in Timeline" is the window's win.show-time action with the
 * warning's time as its target, so this view needs no signal of its own.
 */
#include <glib/gi18n.h>
#include <string.h>

#include "hm-dbg-warnings-view.h"

#include "hm-dbg-format.h"
#include "hm-dbg-stack-view.h"
#include "hm-diff.h"
#include "hm-dbg-warning-item.h"

struct _HmDbgWarningsView
{
  GtkWidget parent_instance;

  GtkStack *content_stack;
  GtkDropDown *kind_dropdown;
  GtkLabel *count_label;
  GtkColumnView *column_view;
  GtkColumnViewColumn *kind_column;
  GtkColumnViewColumn *change_column;
  GtkColumnViewColumn *time_column;
  GtkColumnViewColumn *function_column;
  GtkButton *show_button;
  HmDbgStackView *stack_view;
  HmDbgStackView *alloc_stack_view;
  HmDbgStackView *free_stack_view;

  HmDbgTrace *trace;
  gulong changed_handler;
  gboolean diff;              /* rows compare the trace with its baseline */
  guint change_counts[HM_DBG_WARNING_FIXED + 1];

  GListStore *store;
  GtkStringList *kind_names;
  GArray *kind_values;        /* HmWarningKind per dropdown row, 0: all */
  guint kind_counts[HM_WARNING_N];
  HmWarningKind shown_kind;   /* 0: all */

  GtkCustomFilter *filter;
  GtkFilterListModel *filter_model;
  GtkSortListModel *sort_model;
  GtkSingleSelection *selection;

  gboolean has_range;
  guint64 range_start;
  guint64 range_end;
};

G_DEFINE_FINAL_TYPE (HmDbgWarningsView, hm_dbg_warnings_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TRACE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- sorting and filtering --------------------------------------------- */

static int
compare_u64 (guint64 a,
             guint64 b)
{
  return a < b ? GTK_ORDERING_SMALLER : a > b ? GTK_ORDERING_LARGER : GTK_ORDERING_EQUAL;
}

static int
compare_time (gconstpointer a,
              gconstpointer b,
              gpointer      user_data)
{
  return compare_u64 (hm_dbg_warning_item_get_time ((HmDbgWarningItem *) a),
                      hm_dbg_warning_item_get_time ((HmDbgWarningItem *) b));
}

static int
compare_kind (gconstpointer a,
              gconstpointer b,
              gpointer      user_data)
{
  int result = compare_u64 (hm_dbg_warning_item_get_kind ((HmDbgWarningItem *) a),
                            hm_dbg_warning_item_get_kind ((HmDbgWarningItem *) b));

  return result != 0 ? result : compare_time (a, b, NULL);
}

static int
compare_function (gconstpointer a,
                  gconstpointer b,
                  gpointer      user_data)
{
  g_autofree char *fa = NULL;
  g_autofree char *fb = NULL;
  int result;

  g_object_get ((gpointer) a, "function", &fa, NULL);
  g_object_get ((gpointer) b, "function", &fb, NULL);
  result = g_strcmp0 (fa, fb);
  return result != 0 ? (result < 0 ? -1 : 1) : compare_time (a, b, NULL);
}

static void
set_column_sorter (GtkColumnViewColumn *column,
                   GCompareDataFunc     compare)
{
  g_autoptr(GtkCustomSorter) sorter = gtk_custom_sorter_new (compare, NULL, NULL);

  gtk_column_view_column_set_sorter (column, GTK_SORTER (sorter));
}

static gboolean
warning_shown (gpointer item,
               gpointer user_data)
{
  HmDbgWarningsView *self = user_data;
  HmDbgWarningItem *warning = item;
  guint64 ts = hm_dbg_warning_item_get_time (warning);

  if (self->shown_kind != 0 && hm_dbg_warning_item_get_kind (warning) != self->shown_kind)
    return FALSE;
  return !self->has_range || (ts >= self->range_start && ts <= self->range_end);
}

/* ---- the kind filter --------------------------------------------------- */

static void
rebuild_kinds (HmDbgWarningsView *self)
{
  guint n_names = g_list_model_get_n_items (G_LIST_MODEL (self->kind_names));
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  guint total = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  guint selected = 0;
  HmWarningKind all = 0;

  g_array_set_size (self->kind_values, 0);
  g_ptr_array_add (names, g_strdup_printf (_("All kinds (%u)"), total));
  g_array_append_val (self->kind_values, all);
  for (guint kind = 1; kind < HM_WARNING_N; kind++)
    {
      if (self->kind_counts[kind] == 0)
        continue;
      if (kind == self->shown_kind)
        selected = self->kind_values->len;
      g_ptr_array_add (names, g_strdup_printf ("%s (%u)", hm_dbg_warning_kind_label (kind),
                                               self->kind_counts[kind]));
      g_array_append_val (self->kind_values, kind);
    }
  g_ptr_array_add (names, NULL);

  g_signal_handlers_block_matched (self->kind_dropdown, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  gtk_string_list_splice (self->kind_names, 0, n_names, (const char * const *) names->pdata);
  gtk_drop_down_set_selected (self->kind_dropdown, selected);
  g_signal_handlers_unblock_matched (self->kind_dropdown, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
}

static void
kind_selected_cb (HmDbgWarningsView *self,
                  GParamSpec        *pspec,
                  GtkDropDown       *dropdown)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  if (selected >= self->kind_values->len)
    return;
  self->shown_kind = g_array_index (self->kind_values, HmWarningKind, selected);
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
}

/* ---- rows -------------------------------------------------------------- */

static void
update_count (HmDbgWarningsView *self)
{
  guint n_all = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  guint n_shown = g_list_model_get_n_items (G_LIST_MODEL (self->filter_model));
  g_autofree char *text = NULL;

  text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u of %u warning shown",
                                       "%u of %u warnings shown", n_all),
                          n_shown, n_all);
  if (self->diff)
    {
      g_autofree char *shown = g_steal_pointer (&text);
      /* Translators: diff mode, after "3 of 9 warnings shown" */
      text = g_strdup_printf (_("%s: %u new, %u fixed, %u unchanged"), shown,
                              self->change_counts[HM_DBG_WARNING_NEW],
                              self->change_counts[HM_DBG_WARNING_FIXED],
                              self->change_counts[HM_DBG_WARNING_UNCHANGED]);
    }
  gtk_label_set_text (self->count_label, text);
  gtk_stack_set_visible_child_name (self->content_stack, n_all > 0 ? "list" : "empty");
}

/* What matches a warning across runs: its kind and the frames of its bad
 * call and of its block's allocation, as hm_diff_stack_key() says them. */
static char *
warning_key (HmDbgTrace      *trace,
             const HmWarning *warning)
{
  HmHeapModel *model = hm_dbg_trace_get_model (trace);
  HmSymbolizer *symbolizer = hm_dbg_trace_get_symbolizer (trace);
  const char *exe = hm_heap_model_get_info (model, "exe");
  guint64 stacks[] = { warning->stack, warning->alloc_stack };
  GString *key = g_string_new (NULL);

  g_string_append_printf (key, "%d\x1e", warning->kind);
  for (guint i = 0; i < G_N_ELEMENTS (stacks); i++)
    {
      guint64 node = stacks[i] != 0 ? hm_heap_model_stack_node (model, stacks[i]) : 0;
      g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, node);
      g_autofree char *frames_key = hm_diff_stack_key (frames, exe);
      g_string_append_printf (key, "%s\x1e", frames_key);
    }
  return g_string_free (key, FALSE);
}

static void
add_item (HmDbgWarningsView  *self,
          GPtrArray          *items,
          HmDbgTrace         *trace,
          const HmWarning    *warning,
          HmDbgWarningChange  change)
{
  HmDbgWarningItem *item = hm_dbg_warning_item_new (trace, warning);

  if (warning->kind > 0 && warning->kind < HM_WARNING_N)
    self->kind_counts[warning->kind]++;
  if (change != HM_DBG_WARNING_NO_DIFF)
    {
      hm_dbg_warning_item_set_change (item, change);
      self->change_counts[change]++;
    }
  g_ptr_array_add (items, item);
}

/* Diff mode, every row anew: the trace's warnings, each new or unchanged
 * (as many of a kind and stacks as the baseline had are unchanged), then
 * the baseline's that this run has no more, fixed. */
static void
rebuild_diff (HmDbgWarningsView *self,
              HmDbgTrace        *baseline)
{
  GArray *after = hm_heap_model_get_warnings (hm_dbg_trace_get_model (self->trace));
  GArray *before = hm_heap_model_get_warnings (hm_dbg_trace_get_model (baseline));
  g_autoptr(GHashTable) in_before = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);

  memset (self->kind_counts, 0, sizeof self->kind_counts);
  memset (self->change_counts, 0, sizeof self->change_counts);
  for (guint i = 0; before != NULL && i < before->len; i++)
    {
      char *key = warning_key (baseline, &g_array_index (before, HmWarning, i));
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (in_before, key));
      g_hash_table_insert (in_before, key, GUINT_TO_POINTER (n + 1));
    }
  for (guint i = 0; after != NULL && i < after->len; i++)
    {
      const HmWarning *warning = &g_array_index (after, HmWarning, i);
      g_autofree char *key = warning_key (self->trace, warning);
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (in_before, key));

      if (n > 0)
        g_hash_table_insert (in_before, g_steal_pointer (&key), GUINT_TO_POINTER (n - 1));
      add_item (self, items, self->trace, warning,
                n > 0 ? HM_DBG_WARNING_UNCHANGED : HM_DBG_WARNING_NEW);
    }
  for (guint i = 0; before != NULL && i < before->len; i++)
    {
      const HmWarning *warning = &g_array_index (before, HmWarning, i);
      g_autofree char *key = warning_key (baseline, warning);
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (in_before, key));

      if (n == 0)
        continue;
      g_hash_table_insert (in_before, g_steal_pointer (&key), GUINT_TO_POINTER (n - 1));
      add_item (self, items, baseline, warning, HM_DBG_WARNING_FIXED);
    }
  g_list_store_splice (self->store, 0, g_list_model_get_n_items (G_LIST_MODEL (self->store)),
                       items->pdata, items->len);
  rebuild_kinds (self);
  update_count (self);
}

static void
trace_changed_cb (HmDbgWarningsView *self,
                  HmDbgTrace        *trace)
{
  HmHeapModel *model = hm_dbg_trace_get_model (trace);
  HmDbgTrace *baseline = hm_dbg_trace_get_baseline (trace);
  guint n_old = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  g_autoptr(GPtrArray) added = NULL;
  GArray *warnings;

  if (model == NULL)
    return;
  self->diff = baseline != NULL && hm_dbg_trace_get_model (baseline) != NULL;
  gtk_column_view_column_set_visible (self->change_column, self->diff);
  if (self->diff)
    {
      rebuild_diff (self, baseline);
      return;
    }

  warnings = hm_heap_model_get_warnings (model);
  if (warnings == NULL || warnings->len <= n_old)
    return;

  added = g_ptr_array_new_full (warnings->len - n_old, g_object_unref);
  for (guint i = n_old; i < warnings->len; i++)
    add_item (self, added, trace, &g_array_index (warnings, HmWarning, i), HM_DBG_WARNING_NO_DIFF);
  g_list_store_splice (self->store, n_old, 0, added->pdata, added->len);
  rebuild_kinds (self);
  update_count (self);
}

static void
selection_changed_cb (HmDbgWarningsView  *self,
                      GParamSpec         *pspec,
                      GtkSingleSelection *selection)
{
  HmDbgWarningItem *item = gtk_single_selection_get_selected_item (selection);

  if (item == NULL)
    {
      hm_dbg_stack_view_set_stack (self->stack_view, NULL, 0);
      hm_dbg_stack_view_set_stack (self->alloc_stack_view, NULL, 0);
      hm_dbg_stack_view_set_stack (self->free_stack_view, NULL, 0);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->show_button), NULL);
      gtk_widget_set_sensitive (GTK_WIDGET (self->show_button), FALSE);
      return;
    }

  /* a fixed warning (diff mode) is the baseline's, with its stacks */
  HmDbgTrace *trace = hm_dbg_warning_item_get_trace (item);
  hm_dbg_stack_view_set_stack (self->stack_view, trace, hm_dbg_warning_item_get_stack_node (item));
  hm_dbg_stack_view_set_stack (self->alloc_stack_view, trace,
                               hm_dbg_warning_item_get_alloc_node (item));
  hm_dbg_stack_view_set_stack (self->free_stack_view, trace,
                               hm_dbg_warning_item_get_free_node (item));
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (self->show_button),
                                          g_variant_new_uint64 (hm_dbg_warning_item_get_time (item)));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->show_button), "win.show-time");
  gtk_widget_set_sensitive (GTK_WIDGET (self->show_button), TRUE);
}

/* ---- public ------------------------------------------------------------ */

HmDbgTrace *
hm_dbg_warnings_view_get_trace (HmDbgWarningsView *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNINGS_VIEW (self), NULL);

  return self->trace;
}

void
hm_dbg_warnings_view_set_trace (HmDbgWarningsView *self,
                                HmDbgTrace        *trace)
{
  g_return_if_fail (HM_DBG_IS_WARNINGS_VIEW (self));
  g_return_if_fail (trace == NULL || HM_DBG_IS_TRACE (trace));

  if (self->trace == trace)
    return;

  if (self->trace != NULL)
    g_clear_signal_handler (&self->changed_handler, self->trace);
  g_set_object (&self->trace, trace);
  g_list_store_remove_all (self->store);
  memset (self->kind_counts, 0, sizeof self->kind_counts);
  memset (self->change_counts, 0, sizeof self->change_counts);
  self->shown_kind = 0;
  self->diff = FALSE;
  gtk_column_view_column_set_visible (self->change_column, FALSE);

  if (trace != NULL)
    {
      self->changed_handler = g_signal_connect_object (trace, "changed",
                                                       G_CALLBACK (trace_changed_cb), self,
                                                       G_CONNECT_SWAPPED);
      trace_changed_cb (self, trace);
    }
  rebuild_kinds (self);
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_count (self);
  selection_changed_cb (self, NULL, self->selection);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRACE]);
}

GtkSelectionModel *
hm_dbg_warnings_view_get_model (HmDbgWarningsView *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNINGS_VIEW (self), NULL);

  return GTK_SELECTION_MODEL (self->selection);
}

void
hm_dbg_warnings_view_set_time_range (HmDbgWarningsView *self,
                                     gboolean           has_range,
                                     guint64            start_ns,
                                     guint64            end_ns)
{
  g_return_if_fail (HM_DBG_IS_WARNINGS_VIEW (self));

  if (self->has_range == has_range && self->range_start == start_ns && self->range_end == end_ns)
    return;

  self->has_range = has_range;
  self->range_start = start_ns;
  self->range_end = end_ns;
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_count (self);
}

/* ---- GObject ----------------------------------------------------------- */

static void
hm_dbg_warnings_view_dispose (GObject *object)
{
  HmDbgWarningsView *self = HM_DBG_WARNINGS_VIEW (object);
  GtkWidget *child;

  if (self->trace != NULL)
    g_clear_signal_handler (&self->changed_handler, self->trace);
  /* Tearing the widgets down must not reach back into them. */
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  if (self->filter_model != NULL)
    g_signal_handlers_disconnect_by_data (self->filter_model, self);
  if (self->kind_dropdown != NULL)
    g_signal_handlers_disconnect_by_data (self->kind_dropdown, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), HM_DBG_TYPE_WARNINGS_VIEW);
  /* The template's root is not bound to a field: unparent it ourselves. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->selection);
  g_clear_object (&self->sort_model);
  g_clear_object (&self->filter_model);
  g_clear_object (&self->filter);
  g_clear_object (&self->store);
  g_clear_object (&self->kind_names);
  g_clear_pointer (&self->kind_values, g_array_unref);
  g_clear_object (&self->trace);

  G_OBJECT_CLASS (hm_dbg_warnings_view_parent_class)->dispose (object);
}

static void
hm_dbg_warnings_view_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  HmDbgWarningsView *self = HM_DBG_WARNINGS_VIEW (object);

  switch (prop_id)
    {
    case PROP_TRACE:
      g_value_set_object (value, self->trace);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_warnings_view_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  HmDbgWarningsView *self = HM_DBG_WARNINGS_VIEW (object);

  switch (prop_id)
    {
    case PROP_TRACE:
      hm_dbg_warnings_view_set_trace (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_warnings_view_class_init (HmDbgWarningsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hm_dbg_warnings_view_dispose;
  object_class->get_property = hm_dbg_warnings_view_get_property;
  object_class->set_property = hm_dbg_warnings_view_set_property;

  properties[PROP_TRACE] =
    g_param_spec_object ("trace", NULL, NULL, HM_DBG_TYPE_TRACE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (HM_DBG_TYPE_WARNING_ITEM);
  g_type_ensure (HM_DBG_TYPE_STACK_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/hybridmem/Debugger/ui/hm-dbg-warnings-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, content_stack);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, kind_dropdown);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, count_label);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, column_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, kind_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, change_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, time_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, function_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, show_button);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, stack_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, alloc_stack_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, free_stack_view);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
hm_dbg_warnings_view_init (HmDbgWarningsView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  set_column_sorter (self->kind_column, compare_kind);
  set_column_sorter (self->time_column, compare_time);
  set_column_sorter (self->function_column, compare_function);

  self->kind_names = gtk_string_list_new (NULL);
  self->kind_values = g_array_new (FALSE, FALSE, sizeof (HmWarningKind));
  gtk_drop_down_set_model (self->kind_dropdown, G_LIST_MODEL (self->kind_names));
  g_signal_connect_object (self->kind_dropdown, "notify::selected",
                           G_CALLBACK (kind_selected_cb), self, G_CONNECT_SWAPPED);

  self->store = g_list_store_new (HM_DBG_TYPE_WARNING_ITEM);
  self->filter = gtk_custom_filter_new (warning_shown, self, NULL);
  self->filter_model = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->store)),
                                                  GTK_FILTER (g_object_ref (self->filter)));
  self->sort_model = gtk_sort_list_model_new (G_LIST_MODEL (g_object_ref (self->filter_model)),
                                              g_object_ref (gtk_column_view_get_sorter (self->column_view)));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->sort_model)));
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));

  g_signal_connect_object (self->filter_model, "items-changed",
                           G_CALLBACK (update_count), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->selection, "notify::selected-item",
                           G_CALLBACK (selection_changed_cb), self, G_CONNECT_SWAPPED);

  gtk_column_view_sort_by_column (self->column_view, self->time_column, GTK_SORT_ASCENDING);
  rebuild_kinds (self);
  update_count (self);
  selection_changed_cb (self, NULL, self->selection);
}

GtkWidget *
hm_dbg_warnings_view_new (void)
{
  return g_object_new (HM_DBG_TYPE_WARNINGS_VIEW, NULL);
}
