/* hm-dbg-flame-view.c — the flame graph (see the header).
 *
 * The tree is built from the model's sites: each site's frames, outermost
 * first, are a path from the root, and siblings of the same function are
 * one box.  Boxes are laid out anew at every draw (the tree is small next
 * to the trace) and remembered for clicks, tooltips and tests.
 */
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "hm-dbg-flame-view.h"
#include "hm-dbg-format.h"
#include "hm-dbg-rebuild.h"
#include "hm-call-tree.h"

#define ROW_HEIGHT 18.0

typedef struct {
  graphene_rect_t rect;      /* in the canvas' coordinates */
  HmCallNode *node;
  gboolean ancestor;         /* drawn full width below the zoomed box */
} Box;

struct _HmDbgFlameView
{
  GtkWidget parent_instance;

  GtkDropDown *cost_dropdown;
  GtkSearchEntry *search_entry;
  GtkLabel *matched_label;
  GtkToggleButton *icicle_button;
  GtkCheckButton *recursion_check;
  GtkWidget *scroller;
  GtkDrawingArea *canvas;

  HmDbgTrace *trace;
  gulong changed_handler;
  HmDbgRebuild rebuilder;   /* when to rebuild (hm-dbg-rebuild.h) */
  HmCost cost;
  gboolean icicle;
  gboolean merge_recursion;
  char *search;              /* casefolded, or NULL */
  HmCallNode *root;
  gboolean diff;             /* root built against a baseline (hm_call_tree_build_diff) */
  HmCallNode *zoom;           /* the box shown full width; the root when not zoomed */
  guint max_depth;
  GArray *boxes;             /* Box, as last drawn */
};

G_DEFINE_FINAL_TYPE (HmDbgFlameView, hm_dbg_flame_view, GTK_TYPE_WIDGET)

/* ---- the tree ---------------------------------------------------------- */

static guint64
cost_of (HmDbgFlameView *self, const HmCallNode *node)
{
  switch (self->cost)
    {
    case HM_COST_BYTES: return node->bytes;
    case HM_COST_ALLOCATIONS: return node->allocations;
    case HM_COST_PEAK: return node->peak_bytes;
    case HM_COST_LEAKED: return node->leaked_bytes;
    case HM_COST_TEMPORARY: return node->temporary;
    }
  return 0;
}

/* Diff mode: the baseline's cost of the same node. */
static guint64
base_cost_of (HmDbgFlameView *self, const HmCallNode *node)
{
  switch (self->cost)
    {
    case HM_COST_BYTES: return node->base_bytes;
    case HM_COST_ALLOCATIONS: return node->base_allocations;
    case HM_COST_PEAK: return node->base_peak_bytes;
    case HM_COST_LEAKED: return node->base_leaked_bytes;
    case HM_COST_TEMPORARY: return node->base_temporary;
    }
  return 0;
}

/* How wide a box is drawn: its cost; in diff mode the larger of the two
 * runs', so that what went away is seen as well as what came (a
 * differential flame graph: the colour says which way it changed). */
static guint64
width_of (HmDbgFlameView *self, const HmCallNode *node)
{
  guint64 cost = cost_of (self, node);

  return self->diff ? MAX (cost, base_cost_of (self, node)) : cost;
}

/* The depth of the deepest node with a cost. */
static guint
deepest (HmDbgFlameView *self, const HmCallNode *node)
{
  guint depth = width_of (self, node) > 0 ? node->depth : 0;
  for (guint i = 0; node->children != NULL && i < node->children->len; i++)
    depth = MAX (depth, deepest (self, g_ptr_array_index (node->children, i)));
  return depth;
}

static void
rebuild (HmDbgFlameView *self)
{
  HmCallTreeOptions options = { HM_CALL_TREE_TOP_DOWN, self->merge_recursion, NULL };

  hm_dbg_rebuild_started (&self->rebuilder);
  g_clear_pointer (&self->root, hm_call_node_free);
  self->diff = FALSE;
  if (self->trace != NULL)
    self->root = hm_dbg_trace_build_call_tree (self->trace, &options, &self->diff);
  if (self->root == NULL)
    self->root = g_new0 (HmCallNode, 1);
  self->root->function = _("all");
  self->zoom = self->root;
  self->max_depth = deepest (self, self->root);
  g_array_set_size (self->boxes, 0);
  gtk_drawing_area_set_content_height (self->canvas,
                                       (int) ((self->max_depth + 1) * ROW_HEIGHT) + 4);
  gtk_widget_queue_draw (GTK_WIDGET (self->canvas));
}

static void
rebuild_widget (GtkWidget *widget)
{
  rebuild ((HmDbgFlameView *) widget);
}

static void
trace_changed_cb (HmDbgFlameView *self)
{
  hm_dbg_rebuild_trace_changed (&self->rebuilder, self->trace);
}

/* ---- search -------------------------------------------------------------- */

static gboolean
matches (HmDbgFlameView *self, const HmCallNode *node)
{
  if (self->search == NULL || node == self->root)
    return FALSE;
  g_autofree char *folded = g_utf8_casefold (node->function, -1);
  return strstr (folded, self->search) != NULL;
}

static guint64
matched_cost (HmDbgFlameView *self, const HmCallNode *node)
{
  if (matches (self, node))
    return cost_of (self, node);
  guint64 sum = 0;
  for (guint i = 0; node->children != NULL && i < node->children->len; i++)
    sum += matched_cost (self, g_ptr_array_index (node->children, i));
  return sum;
}

double
hm_dbg_flame_view_get_matched_share (HmDbgFlameView *self)
{
  g_return_val_if_fail (HM_DBG_IS_FLAME_VIEW (self), 0);
  if (self->root == NULL || cost_of (self, self->root) == 0 || self->search == NULL)
    return 0;
  return (double) matched_cost (self, self->root) / (double) cost_of (self, self->root);
}

static void
update_matched_label (HmDbgFlameView *self)
{
  if (self->search == NULL)
    {
      gtk_label_set_text (self->matched_label, "");
      return;
    }
  g_autofree char *text = g_strdup_printf (_("matched: %.1f%%"),
                                           100.0 * hm_dbg_flame_view_get_matched_share (self));
  gtk_label_set_text (self->matched_label, text);
}

/* ---- drawing ------------------------------------------------------------- */

static void
color_of (HmDbgFlameView *self, const HmCallNode *node, gboolean ancestor, GdkRGBA *rgba)
{
  /* warm hues, stable per function name */
  guint h = g_str_hash (node->function);
  double r = 0.85 + (h % 15) / 100.0;
  double g = 0.35 + ((h >> 4) % 45) / 100.0;
  double b = 0.10 + ((h >> 9) % 15) / 100.0;

  if (self->diff)
    {
      /* red grew, blue shrank, the stronger the more it changed against
       * the larger of the two; near white when unchanged */
      guint64 after = cost_of (self, node), before = base_cost_of (self, node);
      guint64 larger = MAX (after, before);
      double change = larger > 0 ? ((double) after - (double) before) / (double) larger : 0;
      double fade = 1.0 - 0.8 * MIN (fabs (change) * 1.5, 1.0);
      if (change > 0)
        r = 0.95, g = b = 0.25 + 0.7 * fade;
      else if (change < 0)
        b = 0.95, r = g = 0.25 + 0.7 * fade;
      else
        r = g = b = 0.93;
    }

  if (self->search != NULL)
    {
      if (matches (self, node))
        r = 0.80, g = 0.20, b = 0.75;
      else
        r = g = b = (r + g + b) / 3.0 * 0.9 + 0.2;
    }
  if (ancestor)
    {
      r = r * 0.5 + 0.45;
      g = g * 0.5 + 0.45;
      b = b * 0.5 + 0.45;
    }
  rgba->red = (float) MIN (r, 1.0);
  rgba->green = (float) MIN (g, 1.0);
  rgba->blue = (float) MIN (b, 1.0);
  rgba->alpha = 1;
}

static double
row_y (HmDbgFlameView *self, guint row, int height)
{
  return self->icicle ? row * ROW_HEIGHT : height - (row + 1) * ROW_HEIGHT;
}

static void
add_box (HmDbgFlameView *self, HmCallNode *node, double x, double width, guint row, int height,
         gboolean ancestor)
{
  Box box = { GRAPHENE_RECT_INIT ((float) x, (float) row_y (self, row, height), (float) width,
                                  (float) ROW_HEIGHT - 1), node, ancestor };
  g_array_append_val (self->boxes, box);
}

static void
layout_children (HmDbgFlameView *self, HmCallNode *node, double x, double width, guint row,
                 int height)
{
  if (node->children == NULL || width_of (self, node) == 0)
    return;
  /* in diff mode the children's larger costs may add up to more than
   * the parent's larger cost: they share its width then */
  guint64 total = width_of (self, node), children = 0;
  for (guint i = 0; self->diff && i < node->children->len; i++)
    children += width_of (self, g_ptr_array_index (node->children, i));
  double scale = width / (double) MAX (total, children);
  for (guint i = 0; i < node->children->len; i++)
    {
      HmCallNode *c = g_ptr_array_index (node->children, i);
      double w = (double) width_of (self, c) * scale;
      if (w >= 1.0)
        {
          add_box (self, c, x, w, row, height, FALSE);
          layout_children (self, c, x, w, row + 1, height);
        }
      x += w;
    }
}

static void
layout (HmDbgFlameView *self, int width, int height)
{
  g_array_set_size (self->boxes, 0);
  if (self->root == NULL)
    return;
  /* the zoomed box's callers: full width, one row each */
  guint row = 0;
  g_autoptr(GPtrArray) chain = g_ptr_array_new ();
  for (HmCallNode *n = self->zoom; n != NULL; n = n->parent)
    g_ptr_array_insert (chain, 0, n);
  for (guint i = 0; i < chain->len; i++)
    add_box (self, g_ptr_array_index (chain, i), 0, width, row++, height,
             i + 1 < chain->len);
  layout_children (self, self->zoom, 0, width, row, height);
}

static void
draw_canvas (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  HmDbgFlameView *self = data;
  PangoLayout *text = gtk_widget_create_pango_layout (GTK_WIDGET (area), NULL);
  GdkRGBA ink = { 0.1f, 0.1f, 0.1f, 1.0f };

  layout (self, width, height);
  pango_layout_set_ellipsize (text, PANGO_ELLIPSIZE_END);
  for (guint i = 0; i < self->boxes->len; i++)
    {
      const Box *b = &g_array_index (self->boxes, Box, i);
      GdkRGBA fill;
      color_of (self, b->node, b->ancestor, &fill);
      gdk_cairo_set_source_rgba (cr, &fill);
      cairo_rectangle (cr, b->rect.origin.x, b->rect.origin.y,
                       MAX (b->rect.size.width - 1, 1), b->rect.size.height);
      cairo_fill (cr);
      if (b->rect.size.width > 30)
        {
          pango_layout_set_text (text, b->node->function, -1);
          pango_layout_set_width (text, (int) ((b->rect.size.width - 6) * PANGO_SCALE));
          gdk_cairo_set_source_rgba (cr, &ink);
          cairo_move_to (cr, b->rect.origin.x + 3, b->rect.origin.y + 1);
          pango_cairo_show_layout (cr, text);
        }
    }
  g_object_unref (text);
}

static const Box *
box_at (HmDbgFlameView *self, double x, double y)
{
  for (guint i = 0; i < self->boxes->len; i++)
    {
      const Box *b = &g_array_index (self->boxes, Box, i);
      if (graphene_rect_contains_point (&b->rect, &GRAPHENE_POINT_INIT ((float) x, (float) y)))
        return b;
    }
  return NULL;
}

static void
zoom_to (HmDbgFlameView *self, HmCallNode *node)
{
  self->zoom = node != NULL ? node : self->root;
  gtk_widget_queue_draw (GTK_WIDGET (self->canvas));
}

static void
pressed_cb (GtkGestureClick *gesture, int n_press, double x, double y, HmDbgFlameView *self)
{
  const Box *b = box_at (self, x, y);
  zoom_to (self, b != NULL ? b->node : NULL);
}

static gboolean
query_tooltip_cb (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip,
                  HmDbgFlameView *self)
{
  const Box *b = box_at (self, x, y);
  gboolean counted = self->cost == HM_COST_ALLOCATIONS || self->cost == HM_COST_TEMPORARY;
  if (b == NULL || self->root == NULL || width_of (self, self->root) == 0)
    return FALSE;
  if (self->diff)
    {
      guint64 before = base_cost_of (self, b->node), after = cost_of (self, b->node);
      g_autofree char *was = counted ? hm_dbg_format_count (before) : hm_dbg_format_size (before, FALSE);
      g_autofree char *now = counted ? hm_dbg_format_count (after) : hm_dbg_format_size (after, FALSE);
      g_autofree char *delta = counted ? hm_dbg_format_count_delta (before, after)
                                       : hm_dbg_format_size_delta (before, after);
      /* Translators: diff mode flame graph tooltip: function, then
       * "baseline → this run (change)" */
      g_autofree char *text = g_strdup_printf (_("%s\n%s → %s (%s)"), b->node->function, was, now,
                                               delta);
      gtk_tooltip_set_text (tooltip, text);
      return TRUE;
    }
  if (cost_of (self, self->root) == 0)
    return FALSE;
  g_autofree char *value = counted ? hm_dbg_format_count (cost_of (self, b->node))
                                   : hm_dbg_format_size (cost_of (self, b->node), FALSE);
  g_autofree char *text = g_strdup_printf ("%s\n%s (%.1f%%)", b->node->function, value,
                                           100.0 * (double) cost_of (self, b->node)
                                           / (double) cost_of (self, self->root));
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static gboolean
key_pressed_cb (GtkEventControllerKey *key, guint keyval, guint keycode, GdkModifierType state,
                HmDbgFlameView *self)
{
  if (keyval == GDK_KEY_Escape)
    {
      zoom_to (self, NULL);
      return TRUE;
    }
  return FALSE;
}

/* ---- the controls ---------------------------------------------------------- */

static const HmCost cost_order[] = {
  HM_COST_BYTES, HM_COST_ALLOCATIONS, HM_COST_PEAK, HM_COST_LEAKED, HM_COST_TEMPORARY,
};

static void
cost_changed_cb (GtkDropDown *dropdown, GParamSpec *pspec, HmDbgFlameView *self)
{
  guint i = gtk_drop_down_get_selected (dropdown);
  if (i < G_N_ELEMENTS (cost_order))
    hm_dbg_flame_view_set_cost (self, cost_order[i]);
}

static void
search_changed_cb (GtkSearchEntry *entry, HmDbgFlameView *self)
{
  hm_dbg_flame_view_set_search (self, gtk_editable_get_text (GTK_EDITABLE (entry)));
}

static void
icicle_toggled_cb (GtkToggleButton *button, HmDbgFlameView *self)
{
  hm_dbg_flame_view_set_icicle (self, gtk_toggle_button_get_active (button));
}

static void
recursion_toggled_cb (GtkCheckButton *button, HmDbgFlameView *self)
{
  hm_dbg_flame_view_set_merge_recursion (self, gtk_check_button_get_active (button));
}

/* ---- public ----------------------------------------------------------------- */

GtkWidget *
hm_dbg_flame_view_new (void)
{
  return g_object_new (HM_DBG_TYPE_FLAME_VIEW, NULL);
}

void
hm_dbg_flame_view_set_trace (HmDbgFlameView *self, HmDbgTrace *trace)
{
  g_return_if_fail (HM_DBG_IS_FLAME_VIEW (self));

  if (self->trace != NULL)
    g_clear_signal_handler (&self->changed_handler, self->trace);
  if (!g_set_object (&self->trace, trace) && trace != NULL)
    return;
  if (trace != NULL)
    self->changed_handler = g_signal_connect_object (trace, "changed",
                                                     G_CALLBACK (trace_changed_cb), self,
                                                     G_CONNECT_SWAPPED);
  hm_dbg_rebuild_when_shown (&self->rebuilder);
  update_matched_label (self);
}

void
hm_dbg_flame_view_set_cost (HmDbgFlameView *self, HmCost cost)
{
  g_return_if_fail (HM_DBG_IS_FLAME_VIEW (self));
  if (self->cost == cost)
    return;
  self->cost = cost;
  for (guint i = 0; i < G_N_ELEMENTS (cost_order); i++)
    if (cost_order[i] == cost && gtk_drop_down_get_selected (self->cost_dropdown) != i)
      gtk_drop_down_set_selected (self->cost_dropdown, i);
  rebuild (self);
  update_matched_label (self);
}

void
hm_dbg_flame_view_set_icicle (HmDbgFlameView *self, gboolean icicle)
{
  g_return_if_fail (HM_DBG_IS_FLAME_VIEW (self));
  self->icicle = icicle;
  if (gtk_toggle_button_get_active (self->icicle_button) != icicle)
    gtk_toggle_button_set_active (self->icicle_button, icicle);
  gtk_widget_queue_draw (GTK_WIDGET (self->canvas));
}

void
hm_dbg_flame_view_set_merge_recursion (HmDbgFlameView *self, gboolean merge)
{
  g_return_if_fail (HM_DBG_IS_FLAME_VIEW (self));
  if (self->merge_recursion == merge)
    return;
  self->merge_recursion = merge;
  if (gtk_check_button_get_active (self->recursion_check) != merge)
    gtk_check_button_set_active (self->recursion_check, merge);
  rebuild (self);
  update_matched_label (self);
}

void
hm_dbg_flame_view_set_search (HmDbgFlameView *self, const char *text)
{
  g_return_if_fail (HM_DBG_IS_FLAME_VIEW (self));
  g_clear_pointer (&self->search, g_free);
  if (text != NULL && *text != '\0')
    self->search = g_utf8_casefold (text, -1);
  update_matched_label (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->canvas));
}

guint64
hm_dbg_flame_view_get_total_cost (HmDbgFlameView *self)
{
  g_return_val_if_fail (HM_DBG_IS_FLAME_VIEW (self), 0);
  return self->root ? cost_of (self, self->root) : 0;
}

guint64
hm_dbg_flame_view_get_zoom_cost (HmDbgFlameView *self)
{
  g_return_val_if_fail (HM_DBG_IS_FLAME_VIEW (self), 0);
  return self->zoom ? cost_of (self, self->zoom) : 0;
}

const char *
hm_dbg_flame_view_get_zoom_function (HmDbgFlameView *self)
{
  g_return_val_if_fail (HM_DBG_IS_FLAME_VIEW (self), NULL);
  return self->zoom != NULL && self->zoom != self->root ? self->zoom->function : NULL;
}

gboolean
hm_dbg_flame_view_get_box (HmDbgFlameView *self, const char *function, graphene_rect_t *box)
{
  g_return_val_if_fail (HM_DBG_IS_FLAME_VIEW (self), FALSE);

  int width = gtk_widget_get_width (GTK_WIDGET (self->canvas));
  int height = gtk_widget_get_height (GTK_WIDGET (self->canvas));
  if (width <= 0 || height <= 0)
    return FALSE;
  layout (self, width, height);
  for (guint i = 0; i < self->boxes->len; i++)
    {
      const Box *b = &g_array_index (self->boxes, Box, i);
      if (g_str_equal (b->node->function, function))
        {
          graphene_point_t p;
          if (!gtk_widget_compute_point (GTK_WIDGET (self->canvas), GTK_WIDGET (self),
                                         &b->rect.origin, &p))
            return FALSE;
          graphene_rect_init (box, p.x, p.y, b->rect.size.width, b->rect.size.height);
          return TRUE;
        }
    }
  return FALSE;
}

/* ---- GObject ------------------------------------------------------------------ */

static void
hm_dbg_flame_view_dispose (GObject *object)
{
  HmDbgFlameView *self = HM_DBG_FLAME_VIEW (object);
  GtkWidget *child;

  if (self->trace != NULL)
    g_clear_signal_handler (&self->changed_handler, self->trace);
  hm_dbg_rebuild_clear (&self->rebuilder);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->trace);
  G_OBJECT_CLASS (hm_dbg_flame_view_parent_class)->dispose (object);
}

static void
hm_dbg_flame_view_finalize (GObject *object)
{
  HmDbgFlameView *self = HM_DBG_FLAME_VIEW (object);

  g_clear_pointer (&self->root, hm_call_node_free);
  g_clear_pointer (&self->boxes, g_array_unref);
  g_free (self->search);
  G_OBJECT_CLASS (hm_dbg_flame_view_parent_class)->finalize (object);
}

static void
hm_dbg_flame_view_class_init (HmDbgFlameViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hm_dbg_flame_view_dispose;
  object_class->finalize = hm_dbg_flame_view_finalize;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "flameview");
}

static void
hm_dbg_flame_view_init (HmDbgFlameView *self)
{
  static const char *const cost_names[] = {
    N_("Bytes allocated"), N_("Allocations"), N_("Peak live"), N_("Leaked"),
    N_("Temporary allocations"), NULL,
  };
  const char *translated[G_N_ELEMENTS (cost_names)];
  GtkWidget *bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkGesture *click = gtk_gesture_click_new ();
  GtkEventController *key = gtk_event_controller_key_new ();

  hm_dbg_rebuild_init (&self->rebuilder, GTK_WIDGET (self), rebuild_widget);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))),
                                  GTK_ORIENTATION_VERTICAL);
  self->boxes = g_array_new (FALSE, FALSE, sizeof (Box));
  self->cost = HM_COST_BYTES;

  for (guint i = 0; i < G_N_ELEMENTS (cost_names); i++)
    translated[i] = cost_names[i] ? _(cost_names[i]) : NULL;
  self->cost_dropdown = GTK_DROP_DOWN (gtk_drop_down_new_from_strings (translated));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->cost_dropdown), _("What the boxes' widths count"));
  self->search_entry = GTK_SEARCH_ENTRY (gtk_search_entry_new ());
  gtk_widget_set_hexpand (GTK_WIDGET (self->search_entry), TRUE);
  g_object_set (self->search_entry, "placeholder-text", _("Highlight functions"), NULL);
  self->matched_label = GTK_LABEL (gtk_label_new (""));
  gtk_widget_add_css_class (GTK_WIDGET (self->matched_label), "dim-label");
  self->icicle_button = GTK_TOGGLE_BUTTON (gtk_toggle_button_new_with_label (_("Icicle")));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->icicle_button),
                               _("Callers on top, allocating functions below"));
  self->recursion_check = GTK_CHECK_BUTTON (gtk_check_button_new_with_label (_("Merge recursion")));
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->cost_dropdown));
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->search_entry));
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->matched_label));
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->recursion_check));
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->icicle_button));
  gtk_widget_set_margin_start (bar, 6);
  gtk_widget_set_margin_end (bar, 6);
  gtk_widget_set_margin_top (bar, 6);
  gtk_widget_set_margin_bottom (bar, 6);
  gtk_widget_set_parent (bar, GTK_WIDGET (self));

  self->canvas = GTK_DRAWING_AREA (gtk_drawing_area_new ());
  gtk_drawing_area_set_draw_func (self->canvas, draw_canvas, self, NULL);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self->canvas), TRUE);
  gtk_widget_set_focusable (GTK_WIDGET (self->canvas), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self->canvas), TRUE);
  gtk_widget_set_valign (GTK_WIDGET (self->canvas), GTK_ALIGN_FILL);
  g_signal_connect (click, "pressed", G_CALLBACK (pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->canvas), GTK_EVENT_CONTROLLER (click));
  g_signal_connect (key, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), key);
  g_signal_connect (self->canvas, "query-tooltip", G_CALLBACK (query_tooltip_cb), self);
  self->scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (self->scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (self->scroller, TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scroller), GTK_WIDGET (self->canvas));
  gtk_widget_set_parent (self->scroller, GTK_WIDGET (self));

  g_signal_connect (self->cost_dropdown, "notify::selected", G_CALLBACK (cost_changed_cb), self);
  g_signal_connect (self->search_entry, "search-changed", G_CALLBACK (search_changed_cb), self);
  g_signal_connect (self->icicle_button, "toggled", G_CALLBACK (icicle_toggled_cb), self);
  g_signal_connect (self->recursion_check, "toggled", G_CALLBACK (recursion_toggled_cb), self);

  self->root = g_new0 (HmCallNode, 1);
  self->root->function = _("all");
  self->zoom = self->root;

}
