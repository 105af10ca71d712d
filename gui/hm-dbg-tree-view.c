/* hm-dbg-tree-view.c — the call tree (see the header).
 *
 * The tree comes from core (hm_call_tree_build); rows are made as they are
 * expanded, by a GtkTreeListModel over items that point into it.  Items hold
 * a reference on the tree they point into, so a rebuilt tree (another
 * direction, a filter, a live trace that grew) frees the old one only when
 * its last row is gone.
 */
#include <glib/gi18n.h>

#include "hm-dbg-tree-view.h"
#include "hm-dbg-format.h"
#include "hm-dbg-rebuild.h"


/* ---- a shared tree, and one node of it as a list item ------------------- */

typedef struct {
  HmCallNode *root;
  gboolean diff;             /* built against a baseline: cells show the change */
} Tree;

static void
tree_clear (Tree *tree)
{
  hm_call_node_free (tree->root);
}

static void
tree_unref (Tree *tree)
{
  g_rc_box_release_full (tree, (GDestroyNotify) tree_clear);
}

#define HM_DBG_TYPE_CALL_ITEM (hm_dbg_call_item_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgCallItem, hm_dbg_call_item, HM_DBG, CALL_ITEM, GObject)

struct _HmDbgCallItem
{
  GObject parent_instance;
  Tree *tree;
  HmCallNode *node;
};

G_DEFINE_FINAL_TYPE (HmDbgCallItem, hm_dbg_call_item, G_TYPE_OBJECT)

static void
hm_dbg_call_item_finalize (GObject *object)
{
  HmDbgCallItem *self = HM_DBG_CALL_ITEM (object);
  tree_unref (self->tree);
  G_OBJECT_CLASS (hm_dbg_call_item_parent_class)->finalize (object);
}

static void
hm_dbg_call_item_class_init (HmDbgCallItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = hm_dbg_call_item_finalize;
}

static void
hm_dbg_call_item_init (HmDbgCallItem *self)
{
}

static HmDbgCallItem *
call_item_new (Tree *tree, HmCallNode *node)
{
  HmDbgCallItem *item = g_object_new (HM_DBG_TYPE_CALL_ITEM, NULL);
  item->tree = g_rc_box_acquire (tree);
  item->node = node;
  return item;
}

static GListModel *
children_of (gpointer item, gpointer data)
{
  HmDbgCallItem *parent = item;
  if (parent->node->children == NULL || parent->node->children->len == 0)
    return NULL;
  GListStore *store = g_list_store_new (HM_DBG_TYPE_CALL_ITEM);
  for (guint i = 0; i < parent->node->children->len; i++)
    {
      g_autoptr(HmDbgCallItem) child = call_item_new (parent->tree,
                                                      g_ptr_array_index (parent->node->children, i));
      g_list_store_append (store, child);
    }
  return G_LIST_MODEL (store);
}

/* ---- the view ---------------------------------------------------------------- */

typedef enum {
  COL_FUNCTION,
  COL_BYTES,
  COL_ALLOCATIONS,
  COL_PEAK,
  COL_LEAKED,
  COL_TEMPORARY,
  N_COLUMNS
} Column;

struct _HmDbgTreeView
{
  GtkWidget parent_instance;

  GtkDropDown *direction_dropdown;
  GtkSearchEntry *filter_entry;
  GtkCheckButton *recursion_check;
  GtkColumnView *column_view;
  GtkColumnViewColumn *columns[N_COLUMNS];
  GtkSortListModel *sort_model;
  GtkSingleSelection *selection;

  HmDbgTrace *trace;
  gulong changed_handler;
  HmDbgRebuild rebuilder;   /* when to rebuild (hm-dbg-rebuild.h) */
  HmCallTreeDirection direction;
  gboolean merge_recursion;
  char *filter;
};

G_DEFINE_FINAL_TYPE (HmDbgTreeView, hm_dbg_tree_view, GTK_TYPE_WIDGET)

static guint64
value_of (const HmCallNode *node, Column column)
{
  switch (column)
    {
    case COL_BYTES: return node->bytes;
    case COL_ALLOCATIONS: return node->allocations;
    case COL_PEAK: return node->peak_bytes;
    case COL_LEAKED: return node->leaked_bytes;
    case COL_TEMPORARY: return node->temporary;
    default: return 0;
    }
}

static guint64
base_value_of (const HmCallNode *node, Column column)
{
  switch (column)
    {
    case COL_BYTES: return node->base_bytes;
    case COL_ALLOCATIONS: return node->base_allocations;
    case COL_PEAK: return node->base_peak_bytes;
    case COL_LEAKED: return node->base_leaked_bytes;
    case COL_TEMPORARY: return node->base_temporary;
    default: return 0;
    }
}

static HmDbgCallItem *
item_of_row (gpointer row)
{
  return HM_DBG_CALL_ITEM (gtk_tree_list_row_get_item (GTK_TREE_LIST_ROW (row)));
}

const HmCallNode *
hm_dbg_tree_view_row_node (GtkTreeListRow *row)
{
  g_autoptr(HmDbgCallItem) item = item_of_row (row);
  return item != NULL ? item->node : NULL;
}

static const char *const column_titles[N_COLUMNS] = {
  N_("Function"), N_("Allocated"), N_("Allocations"), N_("Peak live"), N_("Leaked"),
  N_("Temporary"),
};

/* Translators: diff mode column titles, "Δ" for the change from the baseline */
static const char *const diff_column_titles[N_COLUMNS] = {
  N_("Function"), N_("Δ Allocated"), N_("Δ Allocations"), N_("Δ Peak live"), N_("Δ Leaked"),
  N_("Δ Temporary"),
};

static void
update_titles (HmDbgTreeView *self,
               gboolean       diff)
{
  for (guint c = 0; c < N_COLUMNS; c++)
    if (self->columns[c] != NULL)
      gtk_column_view_column_set_title (self->columns[c],
                                        _(diff ? diff_column_titles[c] : column_titles[c]));
}

static void
rebuild (HmDbgTreeView *self)
{
  HmCallTreeOptions options = { self->direction, self->merge_recursion, self->filter };
  GListStore *roots = g_list_store_new (HM_DBG_TYPE_CALL_ITEM);
  gboolean diff = FALSE;
  HmCallNode *root = self->trace ? hm_dbg_trace_build_call_tree (self->trace, &options, &diff)
                                 : NULL;

  hm_dbg_rebuild_started (&self->rebuilder);
  update_titles (self, diff);
  if (root != NULL)
    {
      Tree *tree = g_rc_box_new0 (Tree);
      tree->diff = diff;
      tree->root = root;
      /* the root's children are the rows: "all" says nothing */
      for (guint i = 0; tree->root->children != NULL && i < tree->root->children->len; i++)
        {
          g_autoptr(HmDbgCallItem) item = call_item_new (tree,
                                                         g_ptr_array_index (tree->root->children, i));
          g_list_store_append (roots, item);
        }
      tree_unref (tree);
    }
  GtkTreeListModel *tree_model = gtk_tree_list_model_new (G_LIST_MODEL (roots), FALSE, FALSE,
                                                          children_of, NULL, NULL);
  gtk_sort_list_model_set_model (self->sort_model, G_LIST_MODEL (tree_model));
  g_object_unref (tree_model);
}

static void
rebuild_widget (GtkWidget *widget)
{
  rebuild ((HmDbgTreeView *) widget);
}

static void
trace_changed_cb (HmDbgTreeView *self)
{
  hm_dbg_rebuild_trace_changed (&self->rebuilder, self->trace);
}

/* ---- cells -------------------------------------------------------------------- */

static void
setup_function (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer data)
{
  GtkWidget *expander = gtk_tree_expander_new ();
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_tree_expander_set_child (GTK_TREE_EXPANDER (expander), label);
  gtk_list_item_set_child (list_item, expander);
}

static void
bind_function (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer data)
{
  GtkTreeListRow *row = gtk_list_item_get_item (list_item);
  GtkTreeExpander *expander = GTK_TREE_EXPANDER (gtk_list_item_get_child (list_item));
  g_autoptr(HmDbgCallItem) item = item_of_row (row);
  const HmCallNode *node = item->node;
  g_autofree char *base = node->file ? g_path_get_basename (node->file)
                                     : node->module ? g_path_get_basename (node->module) : NULL;
  g_autofree char *escaped_fn = g_markup_escape_text (node->function, -1);
  g_autofree char *escaped_base = base ? g_markup_escape_text (base, -1) : NULL;
  g_autofree char *markup = escaped_base
    ? g_strdup_printf ("%s  <span alpha=\"60%%\">%s</span>", escaped_fn, escaped_base)
    : g_strdup (escaped_fn);

  gtk_tree_expander_set_list_row (expander, row);
  gtk_label_set_markup (GTK_LABEL (gtk_tree_expander_get_child (expander)), markup);
}

static void
setup_number (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer data)
{
  GtkWidget *label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 1);
  gtk_widget_add_css_class (label, "numeric");
  gtk_list_item_set_child (list_item, label);
}

static void
bind_number (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer data)
{
  Column column = GPOINTER_TO_INT (data);
  g_autoptr(HmDbgCallItem) item = item_of_row (gtk_list_item_get_item (list_item));
  guint64 v = value_of (item->node, column);
  gboolean counted = column == COL_ALLOCATIONS || column == COL_TEMPORARY;
  guint64 before = base_value_of (item->node, column);
  g_autofree char *text = item->tree->diff
                            ? (counted ? hm_dbg_format_count_delta (before, v)
                                       : hm_dbg_format_size_delta (before, v))
                          : v == 0 ? g_strdup ("–")
                          : counted ? hm_dbg_format_count (v) : hm_dbg_format_size (v, FALSE);
  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (list_item)), text);
}

static int
compare_rows (gconstpointer a, gconstpointer b, gpointer data)
{
  Column column = GPOINTER_TO_INT (data);
  const HmCallNode *x = HM_DBG_CALL_ITEM ((gpointer) a)->node;
  const HmCallNode *y = HM_DBG_CALL_ITEM ((gpointer) b)->node;
  if (column == COL_FUNCTION)
    return g_strcmp0 (x->function, y->function);
  if (HM_DBG_CALL_ITEM ((gpointer) a)->tree->diff)
    {
      gint64 dx = hm_dbg_delta (base_value_of (x, column), value_of (x, column));
      gint64 dy = hm_dbg_delta (base_value_of (y, column), value_of (y, column));
      return dx < dy ? GTK_ORDERING_SMALLER : dx > dy ? GTK_ORDERING_LARGER : GTK_ORDERING_EQUAL;
    }
  guint64 vx = value_of (x, column), vy = value_of (y, column);
  return vx < vy ? GTK_ORDERING_SMALLER : vx > vy ? GTK_ORDERING_LARGER : GTK_ORDERING_EQUAL;
}

/* ---- controls ----------------------------------------------------------------- */

static void
direction_changed_cb (GtkDropDown *dropdown, GParamSpec *pspec, HmDbgTreeView *self)
{
  hm_dbg_tree_view_set_direction (self, gtk_drop_down_get_selected (dropdown) == 1
                                          ? HM_CALL_TREE_BOTTOM_UP : HM_CALL_TREE_TOP_DOWN);
}

static void
filter_changed_cb (GtkSearchEntry *entry, HmDbgTreeView *self)
{
  hm_dbg_tree_view_set_filter (self, gtk_editable_get_text (GTK_EDITABLE (entry)));
}

static void
recursion_toggled_cb (GtkCheckButton *button, HmDbgTreeView *self)
{
  self->merge_recursion = gtk_check_button_get_active (button);
  rebuild (self);
}

/* ---- public ----------------------------------------------------------------- */

GtkWidget *
hm_dbg_tree_view_new (void)
{
  return g_object_new (HM_DBG_TYPE_TREE_VIEW, NULL);
}

void
hm_dbg_tree_view_set_trace (HmDbgTreeView *self, HmDbgTrace *trace)
{
  g_return_if_fail (HM_DBG_IS_TREE_VIEW (self));

  if (self->trace != NULL)
    g_clear_signal_handler (&self->changed_handler, self->trace);
  g_set_object (&self->trace, trace);
  if (trace != NULL)
    self->changed_handler = g_signal_connect_object (trace, "changed",
                                                     G_CALLBACK (trace_changed_cb), self,
                                                     G_CONNECT_SWAPPED);
  hm_dbg_rebuild_when_shown (&self->rebuilder);
}

void
hm_dbg_tree_view_set_direction (HmDbgTreeView *self, HmCallTreeDirection direction)
{
  g_return_if_fail (HM_DBG_IS_TREE_VIEW (self));
  if (self->direction == direction)
    return;
  self->direction = direction;
  guint want = direction == HM_CALL_TREE_BOTTOM_UP ? 1 : 0;
  if (gtk_drop_down_get_selected (self->direction_dropdown) != want)
    gtk_drop_down_set_selected (self->direction_dropdown, want);
  rebuild (self);
}

void
hm_dbg_tree_view_set_filter (HmDbgTreeView *self, const char *text)
{
  g_return_if_fail (HM_DBG_IS_TREE_VIEW (self));
  g_clear_pointer (&self->filter, g_free);
  if (text != NULL && *text != '\0')
    self->filter = g_strdup (text);
  rebuild (self);
}

GListModel *
hm_dbg_tree_view_get_rows (HmDbgTreeView *self)
{
  g_return_val_if_fail (HM_DBG_IS_TREE_VIEW (self), NULL);
  return G_LIST_MODEL (self->selection);
}

/* ---- GObject ------------------------------------------------------------------- */

static void
hm_dbg_tree_view_dispose (GObject *object)
{
  HmDbgTreeView *self = HM_DBG_TREE_VIEW (object);
  GtkWidget *child;

  if (self->trace != NULL)
    g_clear_signal_handler (&self->changed_handler, self->trace);
  hm_dbg_rebuild_clear (&self->rebuilder);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->selection);
  g_clear_object (&self->trace);
  g_clear_pointer (&self->filter, g_free);
  G_OBJECT_CLASS (hm_dbg_tree_view_parent_class)->dispose (object);
}

static void
hm_dbg_tree_view_class_init (HmDbgTreeViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hm_dbg_tree_view_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "treeview");
}

static void
hm_dbg_tree_view_init (HmDbgTreeView *self)
{
  static const char *const directions[] = { N_("Top-down: by caller"),
                                            N_("Bottom-up: by allocating function"), NULL };
  const char *translated[G_N_ELEMENTS (directions)];
  GtkWidget *bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *scroller = gtk_scrolled_window_new ();

  hm_dbg_rebuild_init (&self->rebuilder, GTK_WIDGET (self), rebuild_widget);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))),
                                  GTK_ORIENTATION_VERTICAL);
  for (guint i = 0; i < G_N_ELEMENTS (directions); i++)
    translated[i] = directions[i] ? _(directions[i]) : NULL;
  self->direction_dropdown = GTK_DROP_DOWN (gtk_drop_down_new_from_strings (translated));
  self->filter_entry = GTK_SEARCH_ENTRY (gtk_search_entry_new ());
  g_object_set (self->filter_entry, "placeholder-text",
                _("Only stacks through a function, file or module"), NULL);
  gtk_widget_set_hexpand (GTK_WIDGET (self->filter_entry), TRUE);
  self->recursion_check = GTK_CHECK_BUTTON (gtk_check_button_new_with_label (_("Merge recursion")));
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->direction_dropdown));
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->filter_entry));
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->recursion_check));
  gtk_widget_set_margin_start (bar, 6);
  gtk_widget_set_margin_end (bar, 6);
  gtk_widget_set_margin_top (bar, 6);
  gtk_widget_set_margin_bottom (bar, 6);
  gtk_widget_set_parent (bar, GTK_WIDGET (self));

  self->column_view = GTK_COLUMN_VIEW (gtk_column_view_new (NULL));
  gtk_column_view_set_show_column_separators (self->column_view, TRUE);
  for (Column c = 0; c < N_COLUMNS; c++)
    {
      GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
      if (c == COL_FUNCTION)
        {
          g_signal_connect (factory, "setup", G_CALLBACK (setup_function), NULL);
          g_signal_connect (factory, "bind", G_CALLBACK (bind_function), NULL);
        }
      else
        {
          g_signal_connect (factory, "setup", G_CALLBACK (setup_number), NULL);
          g_signal_connect (factory, "bind", G_CALLBACK (bind_number), GINT_TO_POINTER (c));
        }
      self->columns[c] = gtk_column_view_column_new (_(column_titles[c]), factory);
      GtkSorter *sorter = GTK_SORTER (gtk_custom_sorter_new (compare_rows, GINT_TO_POINTER (c),
                                                             NULL));
      gtk_column_view_column_set_sorter (self->columns[c], sorter);
      g_object_unref (sorter);
      if (c == COL_FUNCTION)
        gtk_column_view_column_set_expand (self->columns[c], TRUE);
      gtk_column_view_column_set_resizable (self->columns[c], TRUE);
      gtk_column_view_append_column (self->column_view, self->columns[c]);
      g_object_unref (self->columns[c]);
    }
  /* rows sorted within their parent, by the column view's sorter */
  GtkTreeListRowSorter *row_sorter =
    gtk_tree_list_row_sorter_new (g_object_ref (gtk_column_view_get_sorter (self->column_view)));
  self->sort_model = gtk_sort_list_model_new (NULL, GTK_SORTER (row_sorter));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (self->sort_model));
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
  gtk_column_view_sort_by_column (self->column_view, self->columns[COL_BYTES],
                                  GTK_SORT_DESCENDING);

  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (self->column_view));
  gtk_widget_set_vexpand (scroller, TRUE);
  gtk_widget_set_parent (scroller, GTK_WIDGET (self));

  g_signal_connect (self->direction_dropdown, "notify::selected",
                    G_CALLBACK (direction_changed_cb), self);
  g_signal_connect (self->filter_entry, "search-changed", G_CALLBACK (filter_changed_cb), self);
  g_signal_connect (self->recursion_check, "toggled", G_CALLBACK (recursion_toggled_cb), self);
  rebuild (self);

}
