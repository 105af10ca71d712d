/* hm-dbg-histogram-view.c — bars of a power-of-two histogram (see the header). */
#include <glib/gi18n.h>
#include <string.h>

#include "hm-dbg-histogram-view.h"

#include "hm-dbg-format.h"

#define MAX_BUCKETS 64
#define PAD 6
#define BAR_GAP 2

struct _HmDbgHistogramView
{
  GtkWidget parent_instance;

  char *title;
  guint64 buckets[MAX_BUCKETS];
  guint n_buckets;
  gboolean times;
};

G_DEFINE_FINAL_TYPE (HmDbgHistogramView, hm_dbg_histogram_view, GTK_TYPE_WIDGET)

static guint
bucket_of (guint64 value, guint n)
{
  guint b = value == 0 ? 0 : (guint) (64 - __builtin_clzll (value));
  return MIN (b, n - 1);
}

static guint64
bucket_low (guint i)
{
  return i == 0 ? 0 : (guint64) 1 << (i - 1);
}

/* The non-empty span: [first, last]; FALSE when all are empty. */
static gboolean
span (HmDbgHistogramView *self, guint *first, guint *last, guint64 *most)
{
  gboolean any = FALSE;

  *most = 0;
  for (guint i = 0; i < self->n_buckets; i++)
    if (self->buckets[i] > 0)
      {
        if (!any)
          *first = i;
        *last = i;
        any = TRUE;
        *most = MAX (*most, self->buckets[i]);
      }
  return any;
}

static char *
label_for (HmDbgHistogramView *self, guint64 value)
{
  return self->times ? hm_dbg_format_time (value) : hm_dbg_format_size (value, FALSE);
}

typedef struct {
  graphene_rect_t plot;
  double text_height;
} Layout;

static void
compute_layout (HmDbgHistogramView *self, Layout *layout)
{
  g_autoptr(PangoLayout) probe = gtk_widget_create_pango_layout (GTK_WIDGET (self), "1.0 KiB");
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  int text_height;

  pango_layout_get_pixel_size (probe, NULL, &text_height);
  layout->text_height = text_height;
  graphene_rect_init (&layout->plot, PAD, text_height + 2 * PAD, MAX (1, width - 2 * PAD),
                      MAX (1, height - 2 * text_height - 4 * PAD));
}

static gboolean
bar_rect (HmDbgHistogramView *self, const Layout *layout, guint i, graphene_rect_t *bar)
{
  guint first = 0, last = 0;
  guint64 most;

  if (!span (self, &first, &last, &most) || i < first || i > last || self->buckets[i] == 0)
    return FALSE;
  double slot = layout->plot.size.width / (last - first + 1);
  double h = MAX (1.0, (double) self->buckets[i] / (double) most * layout->plot.size.height);
  graphene_rect_init (bar, (float) (layout->plot.origin.x + (i - first) * slot + BAR_GAP / 2.0),
                      (float) (layout->plot.origin.y + layout->plot.size.height - h),
                      (float) MAX (1.0, slot - BAR_GAP), (float) h);
  return TRUE;
}

static void
hm_dbg_histogram_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  HmDbgHistogramView *self = HM_DBG_HISTOGRAM_VIEW (widget);
  GdkRGBA fg, bar_color, dim;
  Layout layout;
  guint first = 0, last = 0;
  guint64 most = 0;

  /* gtk_widget_get_color() is GTK 4.10; this is the 4.8 way. */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  gdk_rgba_parse (&bar_color, "#3584e4");
  dim = fg;
  dim.alpha *= 0.65f;
  compute_layout (self, &layout);

  if (self->title != NULL)
    {
      g_autoptr(PangoLayout) title = gtk_widget_create_pango_layout (widget, NULL);
      g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>", self->title);
      pango_layout_set_markup (title, markup, -1);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (PAD, PAD / 2.0f));
      gtk_snapshot_append_layout (snapshot, title, &fg);
      gtk_snapshot_restore (snapshot);
    }

  if (!span (self, &first, &last, &most))
    {
      g_autoptr(PangoLayout) text = gtk_widget_create_pango_layout (widget, _("Nothing to count"));
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (PAD, (float) layout.plot.origin.y));
      gtk_snapshot_append_layout (snapshot, text, &dim);
      gtk_snapshot_restore (snapshot);
      return;
    }

  for (guint i = first; i <= last; i++)
    {
      graphene_rect_t bar;
      if (bar_rect (self, &layout, i, &bar))
        gtk_snapshot_append_color (snapshot, &bar_color, &bar);
    }

  /* the baseline, and the low ends of the first, middle and last buckets */
  gtk_snapshot_append_color (snapshot, &dim,
                             &GRAPHENE_RECT_INIT (layout.plot.origin.x,
                                                  layout.plot.origin.y + layout.plot.size.height,
                                                  layout.plot.size.width, 1));
  guint marks[3] = { first, first + (last - first) / 2, last };
  double slot = layout.plot.size.width / (last - first + 1);
  double right_edge = PAD;
  for (guint m = 0; m < G_N_ELEMENTS (marks); m++)
    {
      if (m > 0 && marks[m] == marks[m - 1])
        continue;
      g_autofree char *text = label_for (self, bucket_low (marks[m]));
      g_autoptr(PangoLayout) label = gtk_widget_create_pango_layout (widget, text);
      int width;
      pango_layout_get_pixel_size (label, &width, NULL);
      double x = layout.plot.origin.x + (marks[m] - first) * slot;
      x = CLAMP (x, right_edge, gtk_widget_get_width (widget) - PAD - width);
      if (x < right_edge)
        continue;
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot,
                              &GRAPHENE_POINT_INIT ((float) x, (float) (layout.plot.origin.y
                                                                         + layout.plot.size.height
                                                                         + PAD / 2.0)));
      gtk_snapshot_append_layout (snapshot, label, &dim);
      gtk_snapshot_restore (snapshot);
      right_edge = x + width + PAD;
    }
}

static gboolean
hm_dbg_histogram_view_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard,
                                     GtkTooltip *tooltip)
{
  HmDbgHistogramView *self = HM_DBG_HISTOGRAM_VIEW (widget);
  Layout layout;
  guint64 total = 0;

  compute_layout (self, &layout);
  for (guint i = 0; i < self->n_buckets; i++)
    total += self->buckets[i];
  for (guint i = 0; i < self->n_buckets; i++)
    {
      graphene_rect_t bar;
      if (!bar_rect (self, &layout, i, &bar))
        continue;
      if (x < bar.origin.x || x >= bar.origin.x + bar.size.width + BAR_GAP)
        continue;
      g_autofree char *low = label_for (self, bucket_low (i));
      g_autofree char *high = i + 1 < self->n_buckets || self->n_buckets == MAX_BUCKETS
                                ? label_for (self, (guint64) 1 << MIN (i, 63)) : NULL;
      g_autofree char *count = hm_dbg_format_count (self->buckets[i]);
      g_autofree char *range = i == 0 ? g_strdup (low)
                               : high != NULL ? g_strdup_printf ("%s – %s", low, high)
                               : g_strdup_printf ("≥ %s", low);
      /* Translators: a histogram bar: its range, how many, their share */
      g_autofree char *text = g_strdup_printf (_("%s: %s (%.1f%%)"), range, count,
                                               100.0 * (double) self->buckets[i] / (double) total);
      gtk_tooltip_set_text (tooltip, text);
      return TRUE;
    }
  return FALSE;
}

static void
hm_dbg_histogram_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                               int *minimum, int *natural, int *minimum_baseline,
                               int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 160 : 90;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 320 : 120;
}

static void
hm_dbg_histogram_view_finalize (GObject *object)
{
  HmDbgHistogramView *self = HM_DBG_HISTOGRAM_VIEW (object);

  g_free (self->title);
  G_OBJECT_CLASS (hm_dbg_histogram_view_parent_class)->finalize (object);
}

static void
hm_dbg_histogram_view_class_init (HmDbgHistogramViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = hm_dbg_histogram_view_finalize;
  widget_class->snapshot = hm_dbg_histogram_view_snapshot;
  widget_class->measure = hm_dbg_histogram_view_measure;
  widget_class->query_tooltip = hm_dbg_histogram_view_query_tooltip;
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
hm_dbg_histogram_view_init (HmDbgHistogramView *self)
{
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
}

GtkWidget *
hm_dbg_histogram_view_new (void)
{
  return g_object_new (HM_DBG_TYPE_HISTOGRAM_VIEW, NULL);
}

void
hm_dbg_histogram_view_set (HmDbgHistogramView *self, const char *title, const guint64 *buckets,
                           guint n_buckets, gboolean times)
{
  g_return_if_fail (HM_DBG_IS_HISTOGRAM_VIEW (self));

  g_free (self->title);
  self->title = g_strdup (title);
  self->n_buckets = buckets != NULL ? MIN (n_buckets, MAX_BUCKETS) : 0;
  memset (self->buckets, 0, sizeof self->buckets);
  if (buckets != NULL)
    memcpy (self->buckets, buckets, self->n_buckets * sizeof *buckets);
  self->times = times;
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  title != NULL ? title : "", -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint64
hm_dbg_histogram_view_get_count (HmDbgHistogramView *self, guint64 value)
{
  g_return_val_if_fail (HM_DBG_IS_HISTOGRAM_VIEW (self), 0);

  return self->n_buckets > 0 ? self->buckets[bucket_of (value, self->n_buckets)] : 0;
}

gboolean
hm_dbg_histogram_view_get_bar (HmDbgHistogramView *self, guint64 value, graphene_rect_t *bar)
{
  Layout layout;

  g_return_val_if_fail (HM_DBG_IS_HISTOGRAM_VIEW (self), FALSE);

  if (self->n_buckets == 0)
    return FALSE;
  compute_layout (self, &layout);
  return bar_rect (self, &layout, bucket_of (value, self->n_buckets), bar);
}
