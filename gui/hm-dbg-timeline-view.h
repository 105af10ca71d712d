/* hm-dbg-timeline-view.h — the heap over time, stacked by strategy.
 *
 * Zoom with Ctrl+scroll or +/-, pan with scroll, the arrow keys or a
 * middle-button drag, select a time range with a drag (selection-start,
 * selection-end), hover for the exact values at a moment.
 */
#pragma once

#include <gtk/gtk.h>

#include "hm-dbg-trace.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_TIMELINE_VIEW (hm_dbg_timeline_view_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgTimelineView, hm_dbg_timeline_view, HM_DBG, TIMELINE_VIEW, GtkWidget)

GtkWidget  *hm_dbg_timeline_view_new               (void);
HmDbgTrace *hm_dbg_timeline_view_get_trace         (HmDbgTimelineView *self);
void        hm_dbg_timeline_view_set_trace         (HmDbgTimelineView *self,
                                                    HmDbgTrace        *trace);

void        hm_dbg_timeline_view_zoom_in           (HmDbgTimelineView *self);
void        hm_dbg_timeline_view_zoom_out          (HmDbgTimelineView *self);
void        hm_dbg_timeline_view_zoom_to_fit       (HmDbgTimelineView *self);
void        hm_dbg_timeline_view_get_visible_range (HmDbgTimelineView *self,
                                                    guint64           *start_ns,
                                                    guint64           *end_ns);
void        hm_dbg_timeline_view_set_visible_range (HmDbgTimelineView *self,
                                                    guint64            start_ns,
                                                    guint64            end_ns);

gboolean    hm_dbg_timeline_view_get_selection     (HmDbgTimelineView *self,
                                                    guint64           *start_ns,
                                                    guint64           *end_ns);
void        hm_dbg_timeline_view_set_selection     (HmDbgTimelineView *self,
                                                    guint64            start_ns,
                                                    guint64            end_ns);
void        hm_dbg_timeline_view_clear_selection   (HmDbgTimelineView *self);

/* A vertical line at a moment (a warning's time); -1 hides it.  Scrolls the
 * moment into view when it is outside. */
void        hm_dbg_timeline_view_set_cursor_time   (HmDbgTimelineView *self,
                                                    gint64             ns);

/* Draws one site's live bytes over the areas (the selected site's share);
 * series: guint64 per bucket of bucket_ns from the start, or NULL to hide. */
void        hm_dbg_timeline_view_set_highlight    (HmDbgTimelineView *self,
                                                   GArray            *series,
                                                   guint64            bucket_ns);
gboolean    hm_dbg_timeline_view_has_highlight    (HmDbgTimelineView *self);

/* The timeline as drawn now, as a PNG file (the view must be shown). */
gboolean    hm_dbg_timeline_view_save_png         (HmDbgTimelineView *self,
                                                   const char        *path,
                                                   GError           **error);

/* The colour each strategy is drawn in. */
/* The colour of the RSS line. */
void        hm_dbg_timeline_view_get_rss_color      (GdkRGBA          *color);
void        hm_dbg_timeline_view_get_strategy_color (HmStrategyKind    kind,
                                                     GdkRGBA          *color);
/* Where the stacked areas are drawn, in widget coordinates (for tests). */
void        hm_dbg_timeline_view_get_plot_area     (HmDbgTimelineView *self,
                                                    graphene_rect_t   *area);

G_END_DECLS
