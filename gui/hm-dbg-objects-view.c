/* hm-dbg-objects-view.c — regions and pools in one sortable list.
 *
 * A program makes few regions and pools next to its allocations, so the
 * rows live in a GListStore; a live trace appends the new ones and tells the
 * old ones that their numbers moved.
 */
#include <glib/gi18n.h>

#include "hm-dbg-objects-view.h"

#include "hm-dbg-format.h"
#include "hm-dbg-object-item.h"
#include "hm-dbg-stack-view.h"

struct _HmDbgObjectsView
{
  GtkWidget parent_instance;

  GtkStack *content_stack;
  GtkLabel *count_label;
  GtkColumnView *column_view;
  GtkColumnViewColumn *kind_column;
  GtkColumnViewColumn *name_column;
  GtkColumnViewColumn *created_column;
  GtkColumnViewColumn *allocations_column;
  GtkColumnViewColumn *bytes_column;
  GtkColumnViewColumn *peak_column;
  HmDbgStackView *stack_view;

  HmDbgTrace *trace;
  gulong changed_handler;
  guint n_regions;
  guint n_pools;

  GListStore *store;
  GtkCustomFilter *filter;
  GtkFilterListModel *filter_model;
  GtkSortListModel *sort_model;
  GtkSingleSelection *selection;

  gboolean has_range;
  guint64 range_start;
  guint64 range_end;
};

G_DEFINE_FINAL_TYPE (HmDbgObjectsView, hm_dbg_objects_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TRACE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- sorting ----------------------------------------------------------- */

static int
compare_u64 (guint64 a,
             guint64 b)
{
  return a < b ? GTK_ORDERING_SMALLER : a > b ? GTK_ORDERING_LARGER : GTK_ORDERING_EQUAL;
}

static int
compare_created (gconstpointer a,
                 gconstpointer b,
                 gpointer      user_data)
{
  return compare_u64 (hm_dbg_object_item_get_created ((HmDbgObjectItem *) a),
                      hm_dbg_object_item_get_created ((HmDbgObjectItem *) b));
}

#define DEFINE_COMPARE(name, expression)                                      \
  static int                                                                  \
  name (gconstpointer pa, gconstpointer pb, gpointer user_data)               \
  {                                                                           \
    HmDbgObjectItem *a = (HmDbgObjectItem *) pa, *b = (HmDbgObjectItem *) pb; \
    int result = (expression);                                                \
    return result != 0 ? result : compare_created (pa, pb, NULL);             \
  }

DEFINE_COMPARE (compare_kind, compare_u64 (hm_dbg_object_item_get_kind (a),
                                           hm_dbg_object_item_get_kind (b)))
DEFINE_COMPARE (compare_name, CLAMP (g_strcmp0 (hm_dbg_object_item_get_name (a),
                                                hm_dbg_object_item_get_name (b)), -1, 1))
DEFINE_COMPARE (compare_allocations, compare_u64 (hm_dbg_object_item_get_allocations (a),
                                                  hm_dbg_object_item_get_allocations (b)))
DEFINE_COMPARE (compare_bytes, compare_u64 (hm_dbg_object_item_get_bytes (a),
                                            hm_dbg_object_item_get_bytes (b)))
DEFINE_COMPARE (compare_peak, compare_u64 (hm_dbg_object_item_get_peak_bytes (a),
                                           hm_dbg_object_item_get_peak_bytes (b)))

static void
set_column_sorter (GtkColumnViewColumn *column,
                   GCompareDataFunc     compare)
{
  g_autoptr(GtkCustomSorter) sorter = gtk_custom_sorter_new (compare, NULL, NULL);

  gtk_column_view_column_set_sorter (column, GTK_SORTER (sorter));
}

/* ---- rows -------------------------------------------------------------- */

static gboolean
object_in_range (gpointer item,
                 gpointer user_data)
{
  HmDbgObjectsView *self = user_data;
  HmDbgObjectItem *object = item;

  if (!self->has_range)
    return TRUE;
  return hm_dbg_object_item_get_created (object) <= self->range_end
         && hm_dbg_object_item_get_freed (object) >= self->range_start;
}

static void
update_count (HmDbgObjectsView *self)
{
  guint n_all = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  guint n_shown = g_list_model_get_n_items (G_LIST_MODEL (self->filter_model));
  g_autofree char *text = NULL;

  if (n_shown == n_all)
    text = g_strdup_printf (_("%u regions, %u pools"), self->n_regions, self->n_pools);
  else
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "%u of %u object alive in the selected range",
                                         "%u of %u objects alive in the selected range", n_all),
                            n_shown, n_all);
  gtk_label_set_text (self->count_label, text);
  gtk_stack_set_visible_child_name (self->content_stack, n_all > 0 ? "list" : "empty");
}

/* Every region and pool of one run, in the model's order. */
static GPtrArray *
objects_of (HmDbgTrace *trace)
{
  HmHeapModel *model = hm_dbg_trace_get_model (trace);
  GPtrArray *regions = hm_heap_model_get_regions (model);
  GPtrArray *pools = hm_heap_model_get_pools (model);
  GPtrArray *items = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < regions->len; i++)
    g_ptr_array_add (items, hm_dbg_object_item_new_region (trace, g_ptr_array_index (regions, i)));
  for (guint i = 0; i < pools->len; i++)
    g_ptr_array_add (items, hm_dbg_object_item_new_pool (trace, g_ptr_array_index (pools, i)));
  return items;
}

/* What matches an object across runs: its kind, its name and how many of
 * that kind and name came before it. */
static char *
object_key (HmDbgObjectItem *item,
            GHashTable      *seen)
{
  g_autofree char *name = g_strdup_printf ("%d\x1f%s", hm_dbg_object_item_get_kind (item),
                                           hm_dbg_object_item_get_name (item));
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (seen, name));

  g_hash_table_insert (seen, g_strdup (name), GUINT_TO_POINTER (n + 1));
  return g_strdup_printf ("%s\x1f%u", name, n);
}

/* Diff mode, every row anew: this run's objects with the change from the
 * baseline's like them, then the baseline's that this run has none like. */
static void
rebuild_diff (HmDbgObjectsView *self,
              HmDbgTrace       *trace,
              HmDbgTrace       *baseline)
{
  g_autoptr(GPtrArray) after = objects_of (trace);
  g_autoptr(GPtrArray) before = objects_of (baseline);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < before->len; i++)
    g_hash_table_insert (by_key, object_key (g_ptr_array_index (before, i), seen),
                         g_ptr_array_index (before, i));
  g_hash_table_remove_all (seen);
  for (guint i = 0; i < after->len; i++)
    {
      HmDbgObjectItem *item = g_ptr_array_index (after, i);
      g_autofree char *key = object_key (item, seen);
      HmDbgObjectItem *base = g_hash_table_lookup (by_key, key);

      hm_dbg_object_item_set_diff (item, base, FALSE);
      g_hash_table_remove (by_key, key);
      g_ptr_array_add (rows, g_object_ref (item));
    }
  /* what is left unmatched, in the baseline's order */
  g_autoptr(GHashTable) unmatched = g_hash_table_new (NULL, NULL);
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, by_key);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_hash_table_add (unmatched, value);
  for (guint i = 0; i < before->len; i++)
    {
      HmDbgObjectItem *item = g_ptr_array_index (before, i);
      if (!g_hash_table_contains (unmatched, item))
        continue;
      hm_dbg_object_item_set_diff (item, NULL, TRUE);
      g_ptr_array_add (rows, g_object_ref (item));
    }
  g_list_store_splice (self->store, 0, g_list_model_get_n_items (G_LIST_MODEL (self->store)),
                       rows->pdata, rows->len);
  update_count (self);
}

static void
trace_changed_cb (HmDbgObjectsView *self,
                  HmDbgTrace       *trace)
{
  HmHeapModel *model = hm_dbg_trace_get_model (trace);
  HmDbgTrace *baseline = hm_dbg_trace_get_baseline (trace);
  GPtrArray *regions, *pools;
  guint n_old = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func (g_object_unref);

  if (model == NULL)
    return;
  if (baseline != NULL && hm_dbg_trace_get_model (baseline) != NULL)
    {
      rebuild_diff (self, trace, baseline);
      return;
    }

  /* The numbers of the rows already there moved on a live trace. */
  if (hm_dbg_trace_is_live (trace))
    for (guint i = 0; i < n_old; i++)
      {
        g_autoptr(HmDbgObjectItem) item = g_list_model_get_item (G_LIST_MODEL (self->store), i);
        hm_dbg_object_item_refresh (item);
      }

  regions = hm_heap_model_get_regions (model);
  for (; self->n_regions < regions->len; self->n_regions++)
    g_ptr_array_add (added, hm_dbg_object_item_new_region (trace, g_ptr_array_index (regions,
                                                                                     self->n_regions)));
  pools = hm_heap_model_get_pools (model);
  for (; self->n_pools < pools->len; self->n_pools++)
    g_ptr_array_add (added, hm_dbg_object_item_new_pool (trace, g_ptr_array_index (pools,
                                                                                 self->n_pools)));
  if (added->len > 0)
    g_list_store_splice (self->store, n_old, 0, added->pdata, added->len);
  update_count (self);
}

static void
selection_changed_cb (HmDbgObjectsView   *self,
                      GParamSpec         *pspec,
                      GtkSingleSelection *selection)
{
  HmDbgObjectItem *item = gtk_single_selection_get_selected_item (selection);

  if (item != NULL)
    hm_dbg_stack_view_set_stack (self->stack_view, hm_dbg_object_item_get_trace (item),
                                 hm_dbg_object_item_get_create_node (item));
  else
    hm_dbg_stack_view_set_stack (self->stack_view, NULL, 0);
}

/* ---- public ------------------------------------------------------------ */

HmDbgTrace *
hm_dbg_objects_view_get_trace (HmDbgObjectsView *self)
{
  g_return_val_if_fail (HM_DBG_IS_OBJECTS_VIEW (self), NULL);

  return self->trace;
}

void
hm_dbg_objects_view_set_trace (HmDbgObjectsView *self,
                               HmDbgTrace       *trace)
{
  g_return_if_fail (HM_DBG_IS_OBJECTS_VIEW (self));
  g_return_if_fail (trace == NULL || HM_DBG_IS_TRACE (trace));

  if (self->trace == trace)
    return;

  if (self->trace != NULL)
    g_clear_signal_handler (&self->changed_handler, self->trace);
  g_set_object (&self->trace, trace);
  g_list_store_remove_all (self->store);
  self->n_regions = self->n_pools = 0;

  if (trace != NULL)
    {
      self->changed_handler = g_signal_connect_object (trace, "changed",
                                                       G_CALLBACK (trace_changed_cb), self,
                                                       G_CONNECT_SWAPPED);
      trace_changed_cb (self, trace);
    }
  update_count (self);
  selection_changed_cb (self, NULL, self->selection);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRACE]);
}

GtkSelectionModel *
hm_dbg_objects_view_get_model (HmDbgObjectsView *self)
{
  g_return_val_if_fail (HM_DBG_IS_OBJECTS_VIEW (self), NULL);

  return GTK_SELECTION_MODEL (self->selection);
}

void
hm_dbg_objects_view_set_time_range (HmDbgObjectsView *self,
                                    gboolean          has_range,
                                    guint64           start_ns,
                                    guint64           end_ns)
{
  g_return_if_fail (HM_DBG_IS_OBJECTS_VIEW (self));

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
hm_dbg_objects_view_dispose (GObject *object)
{
  HmDbgObjectsView *self = HM_DBG_OBJECTS_VIEW (object);
  GtkWidget *child;

  if (self->trace != NULL)
    g_clear_signal_handler (&self->changed_handler, self->trace);
  /* Tearing the widgets down must not reach back into them. */
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  if (self->filter_model != NULL)
    g_signal_handlers_disconnect_by_data (self->filter_model, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), HM_DBG_TYPE_OBJECTS_VIEW);
  /* The template's root is not bound to a field: unparent it ourselves. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->selection);
  g_clear_object (&self->sort_model);
  g_clear_object (&self->filter_model);
  g_clear_object (&self->filter);
  g_clear_object (&self->store);
  g_clear_object (&self->trace);

  G_OBJECT_CLASS (hm_dbg_objects_view_parent_class)->dispose (object);
}

static void
hm_dbg_objects_view_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  HmDbgObjectsView *self = HM_DBG_OBJECTS_VIEW (object);

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
hm_dbg_objects_view_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  HmDbgObjectsView *self = HM_DBG_OBJECTS_VIEW (object);

  switch (prop_id)
    {
    case PROP_TRACE:
      hm_dbg_objects_view_set_trace (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_objects_view_class_init (HmDbgObjectsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hm_dbg_objects_view_dispose;
  object_class->get_property = hm_dbg_objects_view_get_property;
  object_class->set_property = hm_dbg_objects_view_set_property;

  properties[PROP_TRACE] =
    g_param_spec_object ("trace", NULL, NULL, HM_DBG_TYPE_TRACE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (HM_DBG_TYPE_OBJECT_ITEM);
  g_type_ensure (HM_DBG_TYPE_STACK_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/hybridmem/Debugger/ui/hm-dbg-objects-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HmDbgObjectsView, content_stack);
  gtk_widget_class_bind_template_child (widget_class, HmDbgObjectsView, count_label);
  gtk_widget_class_bind_template_child (widget_class, HmDbgObjectsView, column_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgObjectsView, kind_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgObjectsView, name_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgObjectsView, created_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgObjectsView, allocations_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgObjectsView, bytes_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgObjectsView, peak_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgObjectsView, stack_view);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
hm_dbg_objects_view_init (HmDbgObjectsView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  set_column_sorter (self->kind_column, compare_kind);
  set_column_sorter (self->name_column, compare_name);
  set_column_sorter (self->created_column, compare_created);
  set_column_sorter (self->allocations_column, compare_allocations);
  set_column_sorter (self->bytes_column, compare_bytes);
  set_column_sorter (self->peak_column, compare_peak);

  self->store = g_list_store_new (HM_DBG_TYPE_OBJECT_ITEM);
  self->filter = gtk_custom_filter_new (object_in_range, self, NULL);
  self->filter_model = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->store)),
                                                  GTK_FILTER (g_object_ref (self->filter)));
  self->sort_model = gtk_sort_list_model_new (G_LIST_MODEL (g_object_ref (self->filter_model)),
                                              g_object_ref (gtk_column_view_get_sorter (self->column_view)));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->sort_model)));
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));

  g_signal_connect_object (self->selection, "notify::selected-item",
                           G_CALLBACK (selection_changed_cb), self, G_CONNECT_SWAPPED);

  gtk_column_view_sort_by_column (self->column_view, self->created_column, GTK_SORT_ASCENDING);
  update_count (self);
}

GtkWidget *
hm_dbg_objects_view_new (void)
{
  return g_object_new (HM_DBG_TYPE_OBJECTS_VIEW, NULL);
}
