/* hm-dbg-timeline-view.c — draws the model's timeline buckets as stacked
 * areas, one colour per strategy, with markers under them and axes around.
 *
 * The model keeps at most 2048 buckets whatever the trace's length, so a
 * redraw walks at most that many plus the visible markers: cheap enough to
 * redo on every frame.  Where a pixel column covers several buckets it shows
 * the fullest one, so zooming out never hides a peak.
 */
#include <glib/gi18n.h>
#include <math.h>

#include "hm-dbg-timeline-view.h"

#include "hm-dbg-format.h"

#define PAD 8
#define MARKER_STRIP_HEIGHT 12
#define LEGEND_SWATCH 10
#define MIN_BUCKETS_VISIBLE 4
#define ZOOM_STEP 1.5
#define DRAG_THRESHOLD 3.0

struct _HmDbgTimelineView
{
  GtkWidget parent_instance;

  HmDbgTrace *trace;
  gulong changed_handler;

  /* What is visible, in ns since the trace started. */
  double view_start;
  double view_span;
  gboolean fit;                /* follow the whole trace as it grows */

  guint64 selection_start;
  guint64 selection_end;
  gboolean has_selection;
  GArray *highlight;           /* guint64 live bytes per highlight_ns, or NULL */
  guint64 highlight_ns;

  gint64 cursor_time;
  double hover_x;              /* -1 outside */
  gboolean show_rss;           /* the RSS line, and the axis scaled to it */

  /* drags */
  double drag_x;
  double drag_view_start;
  gboolean selecting;
};

G_DEFINE_FINAL_TYPE (HmDbgTimelineView, hm_dbg_timeline_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TRACE,
  PROP_SELECTION_START,
  PROP_SELECTION_END,
  PROP_HAS_SELECTION,
  PROP_CURSOR_TIME,
  PROP_SHOW_RSS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *const strategy_colors[HM_STRATEGY_KIND_N] = {
  [HM_STRATEGY_KIND_MALLOC] = "#3584e4",
  [HM_STRATEGY_KIND_MANUAL] = "#2ec27e",
  [HM_STRATEGY_KIND_GC] = "#9141ac",
  [HM_STRATEGY_KIND_REGIONS] = "#e66100",
  [HM_STRATEGY_KIND_POOLS] = "#f5c211",
  [HM_STRATEGY_KIND_MMAP] = "#865e3c",
  [HM_STRATEGY_KIND_CUSTOM] = "#dc8add",
};

/* The resident set: a line over the areas, not one of them. */
#define RSS_COLOR "#a51d2d"
#define RSS_LINE_WIDTH 2.0

static const char *const marker_colors[] = {
  [HM_MARKER_REGION_FREE] = "#c64600",
  [HM_MARKER_REGION_RESET] = "#ffa348",
  [HM_MARKER_GC] = "#c061cb",
  [HM_MARKER_WARNING] = "#e01b24",
  [HM_MARKER_MARK] = "#77767b",
};

void
hm_dbg_timeline_view_get_rss_color (GdkRGBA *color)
{
  g_return_if_fail (color != NULL);
  gdk_rgba_parse (color, RSS_COLOR);
}

void
hm_dbg_timeline_view_get_strategy_color (HmStrategyKind  kind,
                                         GdkRGBA        *color)
{
  g_return_if_fail (kind < HM_STRATEGY_KIND_N);
  g_return_if_fail (color != NULL);

  gdk_rgba_parse (color, strategy_colors[kind]);
}

static const char *
marker_label (HmMarkerKind kind)
{
  switch (kind)
    {
    case HM_MARKER_REGION_FREE:
      return _("region freed");
    case HM_MARKER_REGION_RESET:
      return _("region reset");
    case HM_MARKER_GC:
      return _("GC collection");
    case HM_MARKER_WARNING:
      return _("warning");
    case HM_MARKER_MARK:
      return _("mark");
    default:
      return "?";
    }
}

/* ---- geometry ---------------------------------------------------------- */

typedef struct {
  graphene_rect_t plot;
  double legend_height;
  double text_height;
} Layout;

static void
compute_layout (HmDbgTimelineView *self,
                Layout            *layout)
{
  g_autoptr(PangoLayout) probe = gtk_widget_create_pango_layout (GTK_WIDGET (self), "1023.9 MiB");
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  int text_width, text_height;
  double left, top, bottom;

  pango_layout_get_pixel_size (probe, &text_width, &text_height);
  layout->text_height = text_height;
  layout->legend_height = text_height + 2 * PAD;

  left = PAD + text_width + PAD;
  top = layout->legend_height + text_height / 2.0;
  bottom = MARKER_STRIP_HEIGHT + text_height + 2 * PAD;
  graphene_rect_init (&layout->plot, left, top,
                      MAX (1.0, width - left - 2 * PAD),
                      MAX (1.0, height - top - bottom));
}

void
hm_dbg_timeline_view_get_plot_area (HmDbgTimelineView *self,
                                    graphene_rect_t   *area)
{
  Layout layout;

  g_return_if_fail (HM_DBG_IS_TIMELINE_VIEW (self));
  g_return_if_fail (area != NULL);

  compute_layout (self, &layout);
  *area = layout.plot;
}

static HmHeapModel *
get_model (HmDbgTimelineView *self)
{
  return self->trace != NULL ? hm_dbg_trace_get_model (self->trace) : NULL;
}

/* Diff mode: the run this one is compared with, drawn as a line. */
static HmHeapModel *
get_baseline_model (HmDbgTimelineView *self)
{
  HmDbgTrace *baseline = self->trace != NULL ? hm_dbg_trace_get_baseline (self->trace) : NULL;

  return baseline != NULL ? hm_dbg_trace_get_model (baseline) : NULL;
}

/* In diff mode, long enough for both runs. */
static double
get_duration (HmDbgTimelineView *self)
{
  HmDbgTrace *baseline;
  guint64 duration;

  if (self->trace == NULL)
    return 1.0;
  duration = hm_dbg_trace_get_duration (self->trace);
  baseline = hm_dbg_trace_get_baseline (self->trace);
  if (baseline != NULL)
    duration = MAX (duration, hm_dbg_trace_get_duration (baseline));
  return (double) duration;
}

/* The baseline's highest heap total in [t0, t1), or G_MAXUINT64 when the
 * baseline has no bucket there. */
static guint64
baseline_peak_between (HmHeapModel *baseline,
                       double       t0,
                       double       t1)
{
  guint n_buckets = 0;
  guint64 bucket_ns = 0;
  const HmTimelineBucket *buckets = hm_heap_model_get_timeline (baseline, &n_buckets, &bucket_ns);
  guint64 best = G_MAXUINT64;

  if (buckets == NULL || n_buckets == 0 || bucket_ns == 0 || t1 <= 0
      || t0 >= (double) n_buckets * bucket_ns)
    return G_MAXUINT64;
  t0 = MAX (t0, 0);
  for (guint i = (guint) MIN (t0 / bucket_ns, n_buckets - 1);
       i <= (guint) MIN (MAX (t1 - 1, t0) / bucket_ns, n_buckets - 1); i++)
    if (best == G_MAXUINT64 || buckets[i].peak_total_bytes > best)
      best = buckets[i].peak_total_bytes;
  return best;
}



static double
get_min_span (HmDbgTimelineView *self)
{
  HmHeapModel *model = get_model (self);
  guint64 bucket_ns = 1;

  if (model != NULL)
    hm_heap_model_get_timeline (model, NULL, &bucket_ns);
  /* Zooming further would only magnify one bucket. */
  return MIN (get_duration (self), MAX (100.0, (double) bucket_ns * MIN_BUCKETS_VISIBLE));
}

static double
time_to_x (HmDbgTimelineView     *self,
           const graphene_rect_t *plot,
           double                 ns)
{
  return plot->origin.x + (ns - self->view_start) * plot->size.width / self->view_span;
}

static double
x_to_time (HmDbgTimelineView     *self,
           const graphene_rect_t *plot,
           double                 x)
{
  return self->view_start + (x - plot->origin.x) * self->view_span / plot->size.width;
}

static void
clamp_view (HmDbgTimelineView *self)
{
  double duration = get_duration (self);

  self->view_span = CLAMP (self->view_span, get_min_span (self), duration);
  self->view_start = CLAMP (self->view_start, 0.0, duration - self->view_span);
  if (self->view_span >= duration)
    self->fit = TRUE;
}

static void
zoom_around (HmDbgTimelineView *self,
             double             factor,
             double             anchor_ns)
{
  double span = self->view_span / factor;

  span = CLAMP (span, get_min_span (self), get_duration (self));
  self->view_start = anchor_ns - (anchor_ns - self->view_start) * span / self->view_span;
  self->view_span = span;
  self->fit = FALSE;
  clamp_view (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static double
anchor_time (HmDbgTimelineView *self)
{
  Layout layout;

  compute_layout (self, &layout);
  if (self->hover_x >= layout.plot.origin.x
      && self->hover_x <= layout.plot.origin.x + layout.plot.size.width)
    return x_to_time (self, &layout.plot, self->hover_x);
  if (self->has_selection)
    return (self->selection_start + self->selection_end) / 2.0;
  return self->view_start + self->view_span / 2.0;
}

void
hm_dbg_timeline_view_zoom_in (HmDbgTimelineView *self)
{
  g_return_if_fail (HM_DBG_IS_TIMELINE_VIEW (self));

  zoom_around (self, ZOOM_STEP, anchor_time (self));
}

void
hm_dbg_timeline_view_zoom_out (HmDbgTimelineView *self)
{
  g_return_if_fail (HM_DBG_IS_TIMELINE_VIEW (self));

  zoom_around (self, 1.0 / ZOOM_STEP, anchor_time (self));
}

void
hm_dbg_timeline_view_zoom_to_fit (HmDbgTimelineView *self)
{
  g_return_if_fail (HM_DBG_IS_TIMELINE_VIEW (self));

  self->fit = TRUE;
  self->view_start = 0;
  self->view_span = get_duration (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
pan_by (HmDbgTimelineView *self,
        double             ns)
{
  self->view_start += ns;
  self->fit = FALSE;
  clamp_view (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
hm_dbg_timeline_view_get_visible_range (HmDbgTimelineView *self,
                                        guint64           *start_ns,
                                        guint64           *end_ns)
{
  g_return_if_fail (HM_DBG_IS_TIMELINE_VIEW (self));

  if (start_ns != NULL)
    *start_ns = (guint64) self->view_start;
  if (end_ns != NULL)
    *end_ns = (guint64) (self->view_start + self->view_span);
}

void
hm_dbg_timeline_view_set_visible_range (HmDbgTimelineView *self,
                                        guint64            start_ns,
                                        guint64            end_ns)
{
  g_return_if_fail (HM_DBG_IS_TIMELINE_VIEW (self));
  g_return_if_fail (end_ns > start_ns);

  self->view_start = start_ns;
  self->view_span = end_ns - start_ns;
  self->fit = FALSE;
  clamp_view (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- selection and cursor ---------------------------------------------- */

gboolean
hm_dbg_timeline_view_get_selection (HmDbgTimelineView *self,
                                    guint64           *start_ns,
                                    guint64           *end_ns)
{
  g_return_val_if_fail (HM_DBG_IS_TIMELINE_VIEW (self), FALSE);

  if (start_ns != NULL)
    *start_ns = self->selection_start;
  if (end_ns != NULL)
    *end_ns = self->selection_end;
  return self->has_selection;
}

static void
set_selection_internal (HmDbgTimelineView *self,
                        gboolean           has_selection,
                        guint64            start_ns,
                        guint64            end_ns)
{
  GObject *object = G_OBJECT (self);

  if (!has_selection)
    start_ns = end_ns = 0;

  g_object_freeze_notify (object);
  if (self->selection_start != start_ns)
    {
      self->selection_start = start_ns;
      g_object_notify_by_pspec (object, properties[PROP_SELECTION_START]);
    }
  if (self->selection_end != end_ns)
    {
      self->selection_end = end_ns;
      g_object_notify_by_pspec (object, properties[PROP_SELECTION_END]);
    }
  if (self->has_selection != has_selection)
    {
      self->has_selection = has_selection;
      g_object_notify_by_pspec (object, properties[PROP_HAS_SELECTION]);
    }
  g_object_thaw_notify (object);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "timeline.clear-selection", has_selection);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "timeline.zoom-to-selection", has_selection);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
hm_dbg_timeline_view_set_selection (HmDbgTimelineView *self,
                                    guint64            start_ns,
                                    guint64            end_ns)
{
  g_return_if_fail (HM_DBG_IS_TIMELINE_VIEW (self));
  g_return_if_fail (end_ns >= start_ns);

  set_selection_internal (self, TRUE, start_ns, end_ns);
}

void
hm_dbg_timeline_view_clear_selection (HmDbgTimelineView *self)
{
  g_return_if_fail (HM_DBG_IS_TIMELINE_VIEW (self));

  set_selection_internal (self, FALSE, 0, 0);
  g_clear_pointer (&self->highlight, g_array_unref);
}

void
hm_dbg_timeline_view_set_cursor_time (HmDbgTimelineView *self,
                                      gint64             ns)
{
  g_return_if_fail (HM_DBG_IS_TIMELINE_VIEW (self));

  if (self->cursor_time == ns)
    return;

  self->cursor_time = ns;
  if (ns >= 0 && (ns < self->view_start || ns > self->view_start + self->view_span))
    {
      self->view_start = ns - self->view_span / 2.0;
      self->fit = FALSE;
      clamp_view (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CURSOR_TIME]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- the trace --------------------------------------------------------- */

static void
trace_changed_cb (HmDbgTimelineView *self,
                  HmDbgTrace        *trace)
{
  if (self->fit)
    {
      self->view_start = 0;
      self->view_span = get_duration (self);
    }
  else
    clamp_view (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

HmDbgTrace *
hm_dbg_timeline_view_get_trace (HmDbgTimelineView *self)
{
  g_return_val_if_fail (HM_DBG_IS_TIMELINE_VIEW (self), NULL);

  return self->trace;
}

void
hm_dbg_timeline_view_set_trace (HmDbgTimelineView *self,
                                HmDbgTrace        *trace)
{
  g_return_if_fail (HM_DBG_IS_TIMELINE_VIEW (self));
  g_return_if_fail (trace == NULL || HM_DBG_IS_TRACE (trace));

  if (self->trace == trace)
    return;

  if (self->trace != NULL)
    g_clear_signal_handler (&self->changed_handler, self->trace);
  g_set_object (&self->trace, trace);
  if (self->trace != NULL)
    self->changed_handler = g_signal_connect_object (self->trace, "changed",
                                                     G_CALLBACK (trace_changed_cb), self,
                                                     G_CONNECT_SWAPPED);

  self->cursor_time = -1;
  set_selection_internal (self, FALSE, 0, 0);
  hm_dbg_timeline_view_zoom_to_fit (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRACE]);
}

/* ---- drawing ----------------------------------------------------------- */

/* A step of 1, 2 or 5 times a power of ten (times) or 1, 2 or 5 times a
 * power of ten times a power of 1024 (sizes), so labels read round. */
static double
nice_step (double range,
           int    max_ticks,
           double unit_base)
{
  static const double multipliers[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500 };
  double unit = 1;

  if (range <= 0 || max_ticks < 1)
    return 1;
  for (;;)
    {
      for (guint i = 0; i < G_N_ELEMENTS (multipliers); i++)
        {
          double step = multipliers[i] * unit;
          if (range / step <= max_ticks)
            return step;
        }
      unit *= unit_base;
    }
}

static char *
format_number (double value)
{
  if (fabs (value - round (value)) < 1e-6)
    return g_strdup_printf ("%.0f", value);
  return g_strdup_printf ("%.1f", value);
}

static char *
format_size_tick (double bytes)
{
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  guint unit = 0;
  g_autofree char *number = NULL;

  while (bytes >= 1024 && unit + 1 < G_N_ELEMENTS (units))
    {
      bytes /= 1024;
      unit++;
    }
  number = format_number (bytes);
  return g_strdup_printf ("%s %s", number, units[unit]);
}

static char *
format_time_tick (double ns,
                  double step)
{
  const char *unit = "ns";
  double scale = 1;
  g_autofree char *number = NULL;

  if (step >= 1e9)
    {
      unit = "s";
      scale = 1e9;
    }
  else if (step >= 1e6)
    {
      unit = "ms";
      scale = 1e6;
    }
  else if (step >= 1e3)
    {
      unit = "µs";
      scale = 1e3;
    }
  number = format_number (ns / scale);
  return g_strdup_printf ("%s %s", number, unit);
}

static void
append_text (GtkSnapshot   *snapshot,
             GtkWidget     *widget,
             const char    *text,
             double         x,
             double         y,
             double         xalign,
             const GdkRGBA *color)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, text);
  int width, height;

  pango_layout_get_pixel_size (layout, &width, &height);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (round (x - xalign * width), round (y)));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}

static void
get_foreground (GtkWidget *widget,
                GdkRGBA   *color)
{
  /* gtk_widget_get_color() is GTK 4.10; this is the 4.8 way. */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), color);
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static GdkRGBA
with_alpha (const GdkRGBA *color,
            float          alpha)
{
  GdkRGBA result = *color;

  result.alpha *= alpha;
  return result;
}

static void
snapshot_legend (HmDbgTimelineView *self,
                 GtkSnapshot       *snapshot,
                 const Layout      *layout,
                 const GdkRGBA     *fg)
{
  GtkWidget *widget = GTK_WIDGET (self);
  double x = layout->plot.origin.x;
  double y = PAD;
  GdkRGBA dim = with_alpha (fg, 0.7f);

  HmHeapModel *model = get_model (self);

  for (guint kind = 0; kind < HM_STRATEGY_KIND_N; kind++)
    {
      g_autoptr(PangoLayout) text = NULL;
      GdkRGBA color;
      int width, height;

      /* memory that is not malloc's has an entry when the trace has some */
      if (kind >= HM_STRATEGY_KIND_MMAP
          && (model == NULL || hm_heap_model_get_strategy (model, kind)->allocations == 0))
        continue;
      text = gtk_widget_create_pango_layout (widget, hm_dbg_strategy_label (kind));
      hm_dbg_timeline_view_get_strategy_color (kind, &color);
      pango_layout_get_pixel_size (text, &width, &height);
      gtk_snapshot_append_color (snapshot, &color,
                                 &GRAPHENE_RECT_INIT (x, y + (height - LEGEND_SWATCH) / 2.0,
                                                      LEGEND_SWATCH, LEGEND_SWATCH));
      x += LEGEND_SWATCH + PAD / 2;
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y));
      gtk_snapshot_append_layout (snapshot, text, fg);
      gtk_snapshot_restore (snapshot);
      x += width + 2 * PAD;
    }

  if (self->show_rss && model != NULL && hm_heap_model_get_rss (model)->len > 0)
    {
      /* Translators: resident set size, the memory the process holds */
      g_autoptr(PangoLayout) text = gtk_widget_create_pango_layout (widget, _("RSS"));
      GdkRGBA color;
      int width, height;

      hm_dbg_timeline_view_get_rss_color (&color);
      pango_layout_get_pixel_size (text, &width, &height);
      gtk_snapshot_append_color (snapshot, &color,
                                 &GRAPHENE_RECT_INIT (x, y + height / 2.0 - RSS_LINE_WIDTH / 2,
                                                      2 * LEGEND_SWATCH, RSS_LINE_WIDTH));
      x += 2 * LEGEND_SWATCH + PAD / 2;
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y));
      gtk_snapshot_append_layout (snapshot, text, fg);
      gtk_snapshot_restore (snapshot);
      x += width + 2 * PAD;
    }

  /* Diff mode: the baseline's line, after the strategies. */
  if (get_baseline_model (self) != NULL)
    {
      HmDbgTrace *baseline = hm_dbg_trace_get_baseline (self->trace);
      /* Translators: the legend of the compared run's heap line in diff mode */
      g_autofree char *label = g_strdup_printf (_("baseline: %s"), hm_dbg_trace_get_title (baseline));
      g_autoptr(PangoLayout) text = gtk_widget_create_pango_layout (widget, label);
      int width, height;

      pango_layout_get_pixel_size (text, &width, &height);
      for (int dash = 0; dash < 3; dash++)
        gtk_snapshot_append_color (snapshot, fg,
                                   &GRAPHENE_RECT_INIT (x + dash * 5, y + height / 2.0 - 1, 3, 2));
      x += 15 + PAD / 2;
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y));
      gtk_snapshot_append_layout (snapshot, text, fg);
      gtk_snapshot_restore (snapshot);
    }

  /* The markers' colours, from the right edge. */
  x = gtk_widget_get_width (widget) - 2 * PAD;
  for (int kind = G_N_ELEMENTS (marker_colors) - 1; kind >= 0; kind--)
    {
      g_autoptr(PangoLayout) text = gtk_widget_create_pango_layout (widget, marker_label (kind));
      GdkRGBA color;
      int width, height;

      gdk_rgba_parse (&color, marker_colors[kind]);
      pango_layout_get_pixel_size (text, &width, &height);
      x -= width;
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y));
      gtk_snapshot_append_layout (snapshot, text, &dim);
      gtk_snapshot_restore (snapshot);
      x -= PAD / 2 + 2;
      gtk_snapshot_append_color (snapshot, &color,
                                 &GRAPHENE_RECT_INIT (x, y + (height - LEGEND_SWATCH) / 2.0, 2,
                                                      LEGEND_SWATCH));
      x -= 2 * PAD;
    }
}

/* The bucket each pixel column shows: the fullest one it covers, or -1. */
static gint *
pick_buckets (HmDbgTimelineView      *self,
              const graphene_rect_t  *plot,
              const HmTimelineBucket *buckets,
              guint                   n_buckets,
              guint64                 bucket_ns,
              guint                  *n_columns)
{
  /* this run's own end: in diff mode the baseline may run longer */
  double duration = self->trace != NULL ? (double) hm_dbg_trace_get_duration (self->trace) : 1.0;
  guint n = (guint) ceil (plot->size.width);
  gint *picked = g_new (gint, n);

  for (guint c = 0; c < n; c++)
    {
      double t0 = x_to_time (self, plot, plot->origin.x + c);
      double t1 = x_to_time (self, plot, plot->origin.x + c + 1);
      guint64 best_total = 0;
      guint i0, i1;

      picked[c] = -1;
      if (t0 >= duration || t1 <= 0)
        continue;
      t0 = MAX (t0, 0);
      i0 = (guint) MIN (t0 / bucket_ns, n_buckets - 1);
      i1 = (guint) MIN (MAX (t1 - 1, t0) / bucket_ns, n_buckets - 1);
      for (guint i = i0; i <= i1; i++)
        {
          guint64 total = 0;
          for (guint k = 0; k < HM_STRATEGY_KIND_N; k++)
            total += buckets[i].live_bytes[k];
          if (picked[c] < 0 || total > best_total)
            {
              picked[c] = (gint) i;
              best_total = total;
            }
        }
    }
  *n_columns = n;
  return picked;
}

/* Markers are in time order: the index of the first at or after ns. */
static guint
first_marker_at (GArray *markers,
                 double  ns)
{
  guint lo = 0, hi = markers->len;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (g_array_index (markers, HmMarker, mid).ts < ns)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

static void
snapshot_markers (HmDbgTimelineView     *self,
                  GtkSnapshot           *snapshot,
                  const graphene_rect_t *plot,
                  HmHeapModel           *model)
{
  GArray *markers = hm_heap_model_get_markers (model);
  double view_end = self->view_start + self->view_span;
  double strip_top = plot->origin.y + plot->size.height + 2;
  g_autofree guint8 *drawn = NULL;
  guint n_columns = (guint) ceil (plot->size.width) + 1;
  guint lo;
  GdkRGBA colors[G_N_ELEMENTS (marker_colors)];

  if (markers == NULL || markers->len == 0)
    return;

  for (guint k = 0; k < G_N_ELEMENTS (marker_colors); k++)
    gdk_rgba_parse (&colors[k], marker_colors[k]);

  lo = first_marker_at (markers, self->view_start);

  /* One tick per kind and pixel column, however many markers share it. */
  drawn = g_new0 (guint8, n_columns);
  for (guint i = lo; i < markers->len; i++)
    {
      const HmMarker *marker = &g_array_index (markers, HmMarker, i);
      double x;
      guint column;
      double height;

      if (marker->ts > view_end)
        break;
      if (marker->kind >= G_N_ELEMENTS (marker_colors))
        continue;
      x = floor (time_to_x (self, plot, marker->ts));
      column = (guint) CLAMP (x - plot->origin.x, 0, n_columns - 1);
      if (drawn[column] & (1u << marker->kind))
        continue;
      drawn[column] |= 1u << marker->kind;

      /* Warnings stand out; resets are the most frequent and the least loud. */
      height = marker->kind == HM_MARKER_WARNING ? MARKER_STRIP_HEIGHT
               : marker->kind == HM_MARKER_REGION_RESET ? MARKER_STRIP_HEIGHT * 0.5
               : MARKER_STRIP_HEIGHT * 0.75;
      gtk_snapshot_append_color (snapshot, &colors[marker->kind],
                                 &GRAPHENE_RECT_INIT (x - 1, strip_top + MARKER_STRIP_HEIGHT - height,
                                                      2, height));
    }
}

/* The RSS at time ns: the last sample at or before it; FALSE before the
 * first sample or without samples. */
static gboolean
rss_at (GArray  *rss,
        double   ns,
        guint64 *bytes)
{
  guint lo = 0, hi = rss != NULL ? rss->len : 0;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if ((double) g_array_index (rss, HmRssSample, mid).ts <= ns)
        lo = mid + 1;
      else
        hi = mid;
    }
  if (lo == 0)
    return FALSE;
  *bytes = g_array_index (rss, HmRssSample, lo - 1).rss_bytes;
  return TRUE;
}

static void
snapshot_plot (HmDbgTimelineView *self,
               GtkSnapshot       *snapshot,
               const Layout      *layout,
               const GdkRGBA     *fg)
{
  GtkWidget *widget = GTK_WIDGET (self);
  const graphene_rect_t *plot = &layout->plot;
  HmHeapModel *model = get_model (self);
  const HmTimelineBucket *buckets;
  guint n_buckets = 0;
  guint64 bucket_ns = 0;
  g_autofree gint *picked = NULL;
  guint n_columns = 0;
  guint64 max_bytes = 0;
  HmHeapModel *baseline_model;
  g_autofree guint64 *baseline_peaks = NULL;
  double y_step, y_max, x_step;
  GdkRGBA grid = with_alpha (fg, 0.12f);
  GdkRGBA label = with_alpha (fg, 0.7f);
  GdkRGBA colors[HM_STRATEGY_KIND_N];
  cairo_t *cr;
  double bottom = plot->origin.y + plot->size.height;
  GArray *rss;
  g_autofree gint64 *rss_columns = NULL;

  buckets = model != NULL ? hm_heap_model_get_timeline (model, &n_buckets, &bucket_ns) : NULL;
  if (buckets == NULL || n_buckets == 0 || bucket_ns == 0)
    {
      const char *text = self->trace == NULL ? _("No trace")
                         : hm_dbg_trace_is_finished (self->trace) ? _("No allocations in this trace")
                         : _("Waiting for the first allocation…");
      append_text (snapshot, widget, text, plot->origin.x + plot->size.width / 2,
                   plot->origin.y + plot->size.height / 2 - layout->text_height / 2, 0.5, &label);
      return;
    }

  picked = pick_buckets (self, plot, buckets, n_buckets, bucket_ns, &n_columns);
  for (guint c = 0; c < n_columns; c++)
    if (picked[c] >= 0)
      max_bytes = MAX (max_bytes, buckets[picked[c]].peak_total_bytes);
  /* the RSS line shares the axis: it is usually above the heap */
  rss = self->show_rss ? hm_heap_model_get_rss (model) : NULL;
  rss_columns = g_new (gint64, n_columns);
  for (guint c = 0; c < n_columns; c++)
    {
      guint64 v;
      double t = x_to_time (self, plot, plot->origin.x + c + 1);
      rss_columns[c] = -1;
      if (t >= 0 && x_to_time (self, plot, plot->origin.x + c) <= get_duration (self)
          && rss_at (rss, t, &v))
        {
          rss_columns[c] = (gint64) v;
          max_bytes = MAX (max_bytes, v);
        }
    }
  baseline_model = get_baseline_model (self);
  if (baseline_model != NULL)
    {
      baseline_peaks = g_new (guint64, n_columns);
      for (guint c = 0; c < n_columns; c++)
        {
          baseline_peaks[c] = baseline_peak_between (baseline_model,
                                                     x_to_time (self, plot, plot->origin.x + c),
                                                     x_to_time (self, plot, plot->origin.x + c + 1));
          if (baseline_peaks[c] != G_MAXUINT64)
            max_bytes = MAX (max_bytes, baseline_peaks[c]);
        }
    }
  max_bytes = MAX (max_bytes, 1);

  /* The y axis: round sizes, the top tick above the highest peak. */
  y_step = nice_step ((double) max_bytes, MAX (2, (int) (plot->size.height / (3 * layout->text_height))),
                      1024);
  y_max = ceil ((double) max_bytes / y_step) * y_step;
  for (double v = 0; v <= y_max + y_step / 2; v += y_step)
    {
      double y = round (bottom - v / y_max * plot->size.height);
      g_autofree char *text = format_size_tick (v);

      gtk_snapshot_append_color (snapshot, &grid,
                                 &GRAPHENE_RECT_INIT (plot->origin.x, y, plot->size.width, 1));
      append_text (snapshot, widget, text, plot->origin.x - PAD, y - layout->text_height / 2,
                   1.0, &label);
    }

  /* Vertical grid lines at round times, under the areas. */
  x_step = nice_step (self->view_span, MAX (2, (int) (plot->size.width / 110)), 10);
  for (double t = ceil (self->view_start / x_step) * x_step;
       t <= self->view_start + self->view_span + x_step * 1e-6; t += x_step)
    gtk_snapshot_append_color (snapshot, &grid,
                               &GRAPHENE_RECT_INIT (round (time_to_x (self, plot, t)), plot->origin.y,
                                                    1, plot->size.height));

  for (guint k = 0; k < HM_STRATEGY_KIND_N; k++)
    hm_dbg_timeline_view_get_strategy_color (k, &colors[k]);

  /* The stacked areas, as column-wide steps: each strategy's area is filled
   * from the baseline to the sum of it and those under it, topmost first. */
  cr = gtk_snapshot_append_cairo (snapshot, plot);
  cairo_set_antialias (cr, CAIRO_ANTIALIAS_NONE);
  for (int k = HM_STRATEGY_KIND_N - 1; k >= 0; k--)
    {
      gboolean any = FALSE;

      cairo_move_to (cr, plot->origin.x, bottom);
      for (guint c = 0; c < n_columns; c++)
        {
          guint64 sum = 0;
          double y;

          if (picked[c] < 0)
            {
              cairo_line_to (cr, plot->origin.x + c, bottom);
              cairo_line_to (cr, plot->origin.x + c + 1, bottom);
              continue;
            }
          for (int j = 0; j <= k; j++)
            sum += buckets[picked[c]].live_bytes[j];
          any |= buckets[picked[c]].live_bytes[k] > 0;
          y = round (bottom - sum / y_max * plot->size.height);
          cairo_line_to (cr, plot->origin.x + c, y);
          cairo_line_to (cr, plot->origin.x + c + 1, y);
        }
      cairo_line_to (cr, plot->origin.x + n_columns, bottom);
      cairo_close_path (cr);
      if (any)
        {
          gdk_cairo_set_source_rgba (cr, &colors[k]);
          cairo_fill (cr);
        }
      else
        cairo_new_path (cr);
    }

  /* The selected site's share: a darker area from the baseline. */
  if (self->highlight != NULL && self->highlight_ns > 0)
    {
      GdkRGBA shade = { fg->red * 0.2f, fg->green * 0.2f, fg->blue * 0.2f, 0.55f };
      gboolean any = FALSE;
      cairo_move_to (cr, plot->origin.x, bottom);
      for (guint c = 0; c < n_columns; c++)
        {
          double t = x_to_time (self, plot, plot->origin.x + c + 1);
          guint64 index = t > 0 ? (guint64) t / self->highlight_ns : 0;
          guint64 v = picked[c] < 0 ? 0
                      : g_array_index (self->highlight, guint64,
                                       MIN (index, (guint64) self->highlight->len - 1));
          double y = round (bottom - v / y_max * plot->size.height);
          any |= v > 0;
          cairo_line_to (cr, plot->origin.x + c, y);
          cairo_line_to (cr, plot->origin.x + c + 1, y);
        }
      cairo_line_to (cr, plot->origin.x + n_columns, bottom);
      cairo_close_path (cr);
      if (any)
        {
          gdk_cairo_set_source_rgba (cr, &shade);
          cairo_fill (cr);
        }
      else
        cairo_new_path (cr);
    }

  /* The highest total inside each column: the live line only shows the end
   * of a bucket, and a peak between two ends is what people look for. */
  cairo_set_antialias (cr, CAIRO_ANTIALIAS_DEFAULT);
  cairo_set_line_width (cr, 1.0);
  gdk_cairo_set_source_rgba (cr, &(GdkRGBA) { fg->red, fg->green, fg->blue, 0.45f });
  {
    gboolean pen_down = FALSE;

    for (guint c = 0; c < n_columns; c++)
      {
        double y;

        if (picked[c] < 0)
          {
            pen_down = FALSE;
            continue;
          }
        /* past the last bucket (a trace whose last event comes long after
         * its last allocation) the heap stays what it was at the end */
        guint64 peak = buckets[picked[c]].peak_total_bytes;
        if (x_to_time (self, plot, plot->origin.x + c) >= (double) n_buckets * bucket_ns)
          {
            peak = 0;
            for (guint k = 0; k < HM_STRATEGY_KIND_N; k++)
              peak += buckets[picked[c]].live_bytes[k];
          }
        y = round (bottom - peak / y_max * plot->size.height) + 0.5;
        if (!pen_down)
          cairo_move_to (cr, plot->origin.x + c, y);
        cairo_line_to (cr, plot->origin.x + c + 1, y);
        pen_down = TRUE;
      }
    cairo_stroke (cr);
  }

  /* Diff mode: the baseline's heap total, a dashed line over the areas. */
  if (baseline_peaks != NULL)
    {
      gboolean pen_down = FALSE;
      const double dashes[] = { 5.0, 3.0 };

      cairo_set_line_width (cr, 2.0);
      cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
      gdk_cairo_set_source_rgba (cr, fg);
      for (guint c = 0; c < n_columns; c++)
        {
          double y;

          if (baseline_peaks[c] == G_MAXUINT64)
            {
              pen_down = FALSE;
              continue;
            }
          y = round (bottom - baseline_peaks[c] / y_max * plot->size.height);
          if (!pen_down)
            cairo_move_to (cr, plot->origin.x + c, y);
          cairo_line_to (cr, plot->origin.x + c + 1, y);
          pen_down = TRUE;
        }
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
    }
  /* The resident set over the areas: the gap between the two is memory the
   * process holds that no allocation accounts for. */
  {
    GdkRGBA rss_color;
    gboolean pen_down = FALSE;

    hm_dbg_timeline_view_get_rss_color (&rss_color);
    gdk_cairo_set_source_rgba (cr, &rss_color);
    cairo_set_line_width (cr, RSS_LINE_WIDTH);
    for (guint c = 0; c < n_columns; c++)
      {
        double y;

        if (rss_columns[c] < 0)
          {
            pen_down = FALSE;
            continue;
          }
        y = round (bottom - rss_columns[c] / y_max * plot->size.height) + 0.5;
        y = MAX (y, plot->origin.y + RSS_LINE_WIDTH / 2);
        if (!pen_down)
          cairo_move_to (cr, plot->origin.x + c, y);
        cairo_line_to (cr, plot->origin.x + c + 1, y);
        pen_down = TRUE;
      }
    cairo_stroke (cr);
  }
  cairo_destroy (cr);

  /* Time labels under the marker strip, kept inside the widget. */
  for (double t = ceil (self->view_start / x_step) * x_step;
       t <= self->view_start + self->view_span + x_step * 1e-6; t += x_step)
    {
      double x = round (time_to_x (self, plot, t));
      g_autofree char *text = format_time_tick (t, x_step);
      g_autoptr(PangoLayout) text_layout = gtk_widget_create_pango_layout (widget, text);
      int text_width;

      pango_layout_get_pixel_size (text_layout, &text_width, NULL);
      x = CLAMP (x - text_width / 2.0, PAD, gtk_widget_get_width (widget) - PAD - text_width);
      append_text (snapshot, widget, text, x, bottom + MARKER_STRIP_HEIGHT + PAD / 2 + 2, 0, &label);
    }

  snapshot_markers (self, snapshot, plot, model);
}

static void
snapshot_overlays (HmDbgTimelineView *self,
                   GtkSnapshot       *snapshot,
                   const Layout      *layout,
                   const GdkRGBA     *fg)
{
  const graphene_rect_t *plot = &layout->plot;

  gtk_snapshot_push_clip (snapshot, plot);

  if (self->has_selection)
    {
      GdkRGBA fill = { 0.208f, 0.518f, 0.894f, 0.18f };
      GdkRGBA edge = { 0.208f, 0.518f, 0.894f, 0.8f };
      double x0 = time_to_x (self, plot, self->selection_start);
      double x1 = time_to_x (self, plot, self->selection_end);

      gtk_snapshot_append_color (snapshot, &fill,
                                 &GRAPHENE_RECT_INIT (x0, plot->origin.y, MAX (1, x1 - x0),
                                                      plot->size.height));
      gtk_snapshot_append_color (snapshot, &edge,
                                 &GRAPHENE_RECT_INIT (round (x0), plot->origin.y, 1, plot->size.height));
      gtk_snapshot_append_color (snapshot, &edge,
                                 &GRAPHENE_RECT_INIT (round (x1), plot->origin.y, 1, plot->size.height));
    }

  if (self->cursor_time >= 0)
    {
      GdkRGBA red;

      gdk_rgba_parse (&red, marker_colors[HM_MARKER_WARNING]);
      gtk_snapshot_append_color (snapshot, &red,
                                 &GRAPHENE_RECT_INIT (round (time_to_x (self, plot, self->cursor_time)) - 1,
                                                      plot->origin.y, 2, plot->size.height));
    }

  if (self->hover_x >= plot->origin.x && self->hover_x < plot->origin.x + plot->size.width)
    {
      GdkRGBA line = with_alpha (fg, 0.5f);

      gtk_snapshot_append_color (snapshot, &line,
                                 &GRAPHENE_RECT_INIT (floor (self->hover_x), plot->origin.y, 1,
                                                      plot->size.height));
    }

  gtk_snapshot_pop (snapshot);
}

static void
hm_dbg_timeline_view_snapshot (GtkWidget   *widget,
                               GtkSnapshot *snapshot)
{
  HmDbgTimelineView *self = HM_DBG_TIMELINE_VIEW (widget);
  Layout layout;
  GdkRGBA fg;

  get_foreground (widget, &fg);
  compute_layout (self, &layout);
  if (self->view_span <= 0)
    {
      self->view_start = 0;
      self->view_span = get_duration (self);
    }

  snapshot_legend (self, snapshot, &layout, &fg);
  snapshot_plot (self, snapshot, &layout, &fg);
  snapshot_overlays (self, snapshot, &layout, &fg);
}

/* ---- tooltip ----------------------------------------------------------- */

static gboolean
hm_dbg_timeline_view_query_tooltip (GtkWidget  *widget,
                                    int         x,
                                    int         y,
                                    gboolean    keyboard_mode,
                                    GtkTooltip *tooltip)
{
  HmDbgTimelineView *self = HM_DBG_TIMELINE_VIEW (widget);
  HmHeapModel *model = get_model (self);
  const HmTimelineBucket *buckets, *bucket;
  guint n_buckets = 0;
  guint64 bucket_ns = 0;
  g_autoptr(GString) text = NULL;
  g_autofree char *when = NULL;
  g_autofree char *total_text = NULL;
  g_autofree char *peak_text = NULL;
  g_autofree char *allocs_text = NULL;
  g_autofree char *frees_text = NULL;
  GArray *markers;
  guint64 total = 0;
  Layout layout;
  double t;

  compute_layout (self, &layout);
  if (model == NULL || keyboard_mode
      || !graphene_rect_contains_point (&layout.plot, &GRAPHENE_POINT_INIT (x, y + 0.0f)))
    return FALSE;
  buckets = hm_heap_model_get_timeline (model, &n_buckets, &bucket_ns);
  t = x_to_time (self, &layout.plot, x);
  if (n_buckets == 0 || bucket_ns == 0 || t < 0 || t >= get_duration (self))
    return FALSE;

  bucket = &buckets[MIN ((guint64) t / bucket_ns, n_buckets - 1)];
  text = g_string_new (NULL);
  when = hm_dbg_format_time ((guint64) t);
  g_string_append_printf (text, "<b>%s</b>", when);
  for (guint k = 0; k < HM_STRATEGY_KIND_N; k++)
    {
      g_autofree char *size = NULL;

      total += bucket->live_bytes[k];
      if (bucket->live_bytes[k] == 0 && k != HM_STRATEGY_KIND_MALLOC)
        continue;
      size = hm_dbg_format_size (bucket->live_bytes[k], FALSE);
      g_string_append_printf (text, "\n<span foreground=\"%s\">■</span> %s: %s",
                              strategy_colors[k], hm_dbg_strategy_label (k), size);
    }
  total_text = hm_dbg_format_size (total, FALSE);
  peak_text = hm_dbg_format_size (bucket->peak_total_bytes, FALSE);
  allocs_text = hm_dbg_format_count (bucket->allocations);
  frees_text = hm_dbg_format_count (bucket->frees);
  g_string_append_printf (text, "\n%s", _("Live in all: "));
  g_string_append_printf (text, "<b>%s</b>", total_text);
  g_string_append_c (text, '\n');
  /* Translators: the highest heap size inside the interval under the pointer */
  g_string_append_printf (text, _("Peak in this interval: %s"), peak_text);
  g_string_append_c (text, '\n');
  g_string_append_printf (text, _("%s allocations, %s frees"), allocs_text, frees_text);
  if (get_baseline_model (self) != NULL)
    {
      guint64 before = baseline_peak_between (get_baseline_model (self), t, t + 1);
      if (before != G_MAXUINT64)
        {
          g_autofree char *before_text = hm_dbg_format_size (before, FALSE);
          g_autofree char *delta_text = hm_dbg_format_size_delta (before, bucket->peak_total_bytes);
          g_string_append_c (text, '\n');
          /* Translators: diff mode, the baseline's heap at that moment and
           * how much higher (+) or lower (−) this run's is */
          g_string_append_printf (text, _("Baseline: %s (this run %s)"), before_text, delta_text);
        }
    }
  {
    guint64 rss = 0;
    if (self->show_rss && rss_at (hm_heap_model_get_rss (model), t, &rss))
      {
        g_autofree char *rss_text = hm_dbg_format_size (rss, FALSE);
        g_string_append_printf (text, "\n<span foreground=\"%s\">━</span> ", RSS_COLOR);
        /* Translators: the process's resident set size at the pointer */
        g_string_append_printf (text, _("RSS: %s"), rss_text);
      }
  }

  /* Markers within a few pixels of the pointer. */
  markers = hm_heap_model_get_markers (model);
  if (markers != NULL)
    {
      double t0 = x_to_time (self, &layout.plot, x - 3);
      double t1 = x_to_time (self, &layout.plot, x + 3);
      guint counts[G_N_ELEMENTS (marker_colors)] = { 0, };

      for (guint i = first_marker_at (markers, t0); i < markers->len; i++)
        {
          const HmMarker *marker = &g_array_index (markers, HmMarker, i);
          if (marker->ts > t1)
            break;
          if (marker->kind < G_N_ELEMENTS (counts))
            counts[marker->kind]++;
        }
      for (guint k = 0; k < G_N_ELEMENTS (counts); k++)
        if (counts[k] > 0)
          g_string_append_printf (text, "\n<span foreground=\"%s\">▮</span> %s × %u",
                                  marker_colors[k], marker_label (k), counts[k]);
    }

  gtk_tooltip_set_markup (tooltip, text->str);
  return TRUE;
}

/* ---- input ------------------------------------------------------------- */

static void
motion_cb (HmDbgTimelineView        *self,
           double                    x,
           double                    y,
           GtkEventControllerMotion *controller)
{
  self->hover_x = x;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
leave_cb (HmDbgTimelineView        *self,
          GtkEventControllerMotion *controller)
{
  self->hover_x = -1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
scroll_cb (HmDbgTimelineView        *self,
           double                    dx,
           double                    dy,
           GtkEventControllerScroll *controller)
{
  GdkModifierType state =
    gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));

  if (get_model (self) == NULL)
    return FALSE;

  if (state & GDK_CONTROL_MASK)
    zoom_around (self, pow (ZOOM_STEP, -dy), anchor_time (self));
  else
    pan_by (self, (dx != 0 ? dx : dy) * self->view_span * 0.1);
  return TRUE;
}

static void
select_drag_begin_cb (HmDbgTimelineView *self,
                      double             x,
                      double             y,
                      GtkGestureDrag    *gesture)
{
  gtk_widget_grab_focus (GTK_WIDGET (self));
  self->drag_x = x;
  self->selecting = FALSE;
}

static void
select_drag_update_cb (HmDbgTimelineView *self,
                       double             offset_x,
                       double             offset_y,
                       GtkGestureDrag    *gesture)
{
  Layout layout;
  double duration = get_duration (self);
  double t0, t1;

  if (get_model (self) == NULL)
    return;
  if (!self->selecting && fabs (offset_x) < DRAG_THRESHOLD)
    return;
  self->selecting = TRUE;

  compute_layout (self, &layout);
  t0 = CLAMP (x_to_time (self, &layout.plot, self->drag_x), 0, duration);
  t1 = CLAMP (x_to_time (self, &layout.plot, self->drag_x + offset_x), 0, duration);
  set_selection_internal (self, TRUE, (guint64) MIN (t0, t1), (guint64) MAX (t0, t1));
}

static void
select_drag_end_cb (HmDbgTimelineView *self,
                    double             offset_x,
                    double             offset_y,
                    GtkGestureDrag    *gesture)
{
  /* A click without a drag clears the selection. */
  if (!self->selecting)
    set_selection_internal (self, FALSE, 0, 0);
  self->selecting = FALSE;
}

static void
pan_drag_begin_cb (HmDbgTimelineView *self,
                   double             x,
                   double             y,
                   GtkGestureDrag    *gesture)
{
  self->drag_view_start = self->view_start;
}

static void
pan_drag_update_cb (HmDbgTimelineView *self,
                    double             offset_x,
                    double             offset_y,
                    GtkGestureDrag    *gesture)
{
  Layout layout;

  compute_layout (self, &layout);
  self->view_start = self->drag_view_start - offset_x * self->view_span / layout.plot.size.width;
  self->fit = FALSE;
  clamp_view (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
zoom_in_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  hm_dbg_timeline_view_zoom_in (HM_DBG_TIMELINE_VIEW (widget));
}

static void
zoom_out_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  hm_dbg_timeline_view_zoom_out (HM_DBG_TIMELINE_VIEW (widget));
}

static void
zoom_fit_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  hm_dbg_timeline_view_zoom_to_fit (HM_DBG_TIMELINE_VIEW (widget));
}

static void
zoom_to_selection_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  HmDbgTimelineView *self = HM_DBG_TIMELINE_VIEW (widget);

  if (self->has_selection && self->selection_end > self->selection_start)
    hm_dbg_timeline_view_set_visible_range (self, self->selection_start, self->selection_end);
}

static void
clear_selection_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  hm_dbg_timeline_view_clear_selection (HM_DBG_TIMELINE_VIEW (widget));
}

static void
pan_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  HmDbgTimelineView *self = HM_DBG_TIMELINE_VIEW (widget);

  pan_by (self, g_variant_get_int32 (parameter) * self->view_span * 0.1);
}

/* ---- GObject ----------------------------------------------------------- */

static void
hm_dbg_timeline_view_dispose (GObject *object)
{
  HmDbgTimelineView *self = HM_DBG_TIMELINE_VIEW (object);

  if (self->trace != NULL)
    g_clear_signal_handler (&self->changed_handler, self->trace);
  g_clear_object (&self->trace);
  g_clear_pointer (&self->highlight, g_array_unref);

  G_OBJECT_CLASS (hm_dbg_timeline_view_parent_class)->dispose (object);
}

static void
hm_dbg_timeline_view_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  HmDbgTimelineView *self = HM_DBG_TIMELINE_VIEW (object);

  switch (prop_id)
    {
    case PROP_TRACE:
      g_value_set_object (value, self->trace);
      break;

    case PROP_SELECTION_START:
      g_value_set_uint64 (value, self->selection_start);
      break;

    case PROP_SELECTION_END:
      g_value_set_uint64 (value, self->selection_end);
      break;

    case PROP_HAS_SELECTION:
      g_value_set_boolean (value, self->has_selection);
      break;

    case PROP_CURSOR_TIME:
      g_value_set_int64 (value, self->cursor_time);
      break;

    case PROP_SHOW_RSS:
      g_value_set_boolean (value, self->show_rss);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_timeline_view_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  HmDbgTimelineView *self = HM_DBG_TIMELINE_VIEW (object);

  switch (prop_id)
    {
    case PROP_TRACE:
      hm_dbg_timeline_view_set_trace (self, g_value_get_object (value));
      break;

    case PROP_CURSOR_TIME:
      hm_dbg_timeline_view_set_cursor_time (self, g_value_get_int64 (value));
      break;

    case PROP_SHOW_RSS:
      if (self->show_rss != g_value_get_boolean (value))
        {
          self->show_rss = g_value_get_boolean (value);
          gtk_widget_queue_draw (GTK_WIDGET (self));
          g_object_notify_by_pspec (object, pspec);
        }
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_timeline_view_class_init (HmDbgTimelineViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hm_dbg_timeline_view_dispose;
  object_class->get_property = hm_dbg_timeline_view_get_property;
  object_class->set_property = hm_dbg_timeline_view_set_property;

  widget_class->snapshot = hm_dbg_timeline_view_snapshot;
  widget_class->query_tooltip = hm_dbg_timeline_view_query_tooltip;

  properties[PROP_TRACE] =
    g_param_spec_object ("trace", NULL, NULL, HM_DBG_TYPE_TRACE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTION_START] =
    g_param_spec_uint64 ("selection-start", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTION_END] =
    g_param_spec_uint64 ("selection-end", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_HAS_SELECTION] =
    g_param_spec_boolean ("has-selection", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CURSOR_TIME] =
    g_param_spec_int64 ("cursor-time", NULL, NULL, -1, G_MAXINT64, -1,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* On by default: the gap between the heap and the RSS is memory the
   * process holds that no allocation accounts for.  Off, the axis is the
   * heap's alone (a small heap in a big process). */
  properties[PROP_SHOW_RSS] =
    g_param_spec_boolean ("show-rss", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_action (widget_class, "timeline.zoom-in", NULL, zoom_in_action);
  gtk_widget_class_install_action (widget_class, "timeline.zoom-out", NULL, zoom_out_action);
  gtk_widget_class_install_action (widget_class, "timeline.zoom-fit", NULL, zoom_fit_action);
  gtk_widget_class_install_action (widget_class, "timeline.zoom-to-selection", NULL,
                                   zoom_to_selection_action);
  gtk_widget_class_install_action (widget_class, "timeline.clear-selection", NULL,
                                   clear_selection_action);
  gtk_widget_class_install_action (widget_class, "timeline.pan", "i", pan_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, 0, "timeline.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, 0, "timeline.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, 0, "timeline.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, 0, "timeline.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, 0, "timeline.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, 0, "timeline.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Home, 0, "timeline.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, 0,
                                       "timeline.zoom-to-selection", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0,
                                       "timeline.clear-selection", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "timeline.pan", "i", -1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "timeline.pan", "i", 1);

  gtk_widget_class_set_css_name (widget_class, "timelineview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
hm_dbg_timeline_view_init (HmDbgTimelineView *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  self->cursor_time = -1;
  self->hover_x = -1;
  self->fit = TRUE;
  self->show_rss = TRUE;

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Heap over time"),
                                  -1);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect_swapped (controller, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect_swapped (controller, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect_swapped (controller, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect_swapped (gesture, "drag-begin", G_CALLBACK (select_drag_begin_cb), self);
  g_signal_connect_swapped (gesture, "drag-update", G_CALLBACK (select_drag_update_cb), self);
  g_signal_connect_swapped (gesture, "drag-end", G_CALLBACK (select_drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_MIDDLE);
  g_signal_connect_swapped (gesture, "drag-begin", G_CALLBACK (pan_drag_begin_cb), self);
  g_signal_connect_swapped (gesture, "drag-update", G_CALLBACK (pan_drag_update_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "timeline.clear-selection", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "timeline.zoom-to-selection", FALSE);
}

GtkWidget *
hm_dbg_timeline_view_new (void)
{
  return g_object_new (HM_DBG_TYPE_TIMELINE_VIEW, NULL);
}

void
hm_dbg_timeline_view_set_highlight (HmDbgTimelineView *self,
                                    GArray            *series,
                                    guint64            bucket_ns)
{
  g_return_if_fail (HM_DBG_IS_TIMELINE_VIEW (self));

  g_clear_pointer (&self->highlight, g_array_unref);
  if (series != NULL && series->len > 0)
    {
      self->highlight = g_array_ref (series);
      self->highlight_ns = bucket_ns;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
hm_dbg_timeline_view_has_highlight (HmDbgTimelineView *self)
{
  g_return_val_if_fail (HM_DBG_IS_TIMELINE_VIEW (self), FALSE);
  return self->highlight != NULL;
}

gboolean
hm_dbg_timeline_view_save_png (HmDbgTimelineView *self,
                               const char        *path,
                               GError           **error)
{
  GtkWidget *widget = GTK_WIDGET (self);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  GtkNative *native = gtk_widget_get_native (widget);

  g_return_val_if_fail (HM_DBG_IS_TIMELINE_VIEW (self), FALSE);
  if (width <= 0 || height <= 0 || native == NULL || !gtk_widget_get_mapped (widget))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("The timeline is not shown"));
      return FALSE;
    }
  /* the chart, not the pointer's hover line */
  double hover_x = self->hover_x;
  self->hover_x = -1;
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
  g_autoptr(GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  self->hover_x = hover_x;
  if (node == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("The timeline has nothing to draw"));
      return FALSE;
    }
  g_autoptr(GdkTexture) texture =
    gsk_renderer_render_texture (gtk_native_get_renderer (native), node,
                                 &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot write %s"), path);
      return FALSE;
    }
  return TRUE;
}
