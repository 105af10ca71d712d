/* hm-dbg-flame-view.h — the allocation sites as a flame graph (or an
 * icicle): each box a function, as wide as its share of the chosen cost
 * (bytes allocated, allocations, peak, leaked, temporary), its callers
 * below it.  Click a box to zoom into it, click below the zoomed box (or
 * Escape) to zoom out; search highlights the matching functions and says
 * what share of the cost they hold.
 */
#pragma once

#include <gtk/gtk.h>

#include "hm-dbg-trace.h"
#include "hm-export.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_FLAME_VIEW (hm_dbg_flame_view_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgFlameView, hm_dbg_flame_view, HM_DBG, FLAME_VIEW, GtkWidget)

GtkWidget *hm_dbg_flame_view_new              (void);
void       hm_dbg_flame_view_set_trace        (HmDbgFlameView *self,
                                               HmDbgTrace     *trace);
void       hm_dbg_flame_view_set_cost         (HmDbgFlameView *self,
                                               HmCost          cost);
void       hm_dbg_flame_view_set_icicle       (HmDbgFlameView *self,
                                               gboolean        icicle);
/* Direct recursion (f calling f) drawn as one box. */
void       hm_dbg_flame_view_set_merge_recursion (HmDbgFlameView *self,
                                                  gboolean        merge);
void       hm_dbg_flame_view_set_search       (HmDbgFlameView *self,
                                               const char     *text);
/* The share of the cost in boxes whose function matches the search, 0..1
 * (a box inside a matching box counts once). */
double     hm_dbg_flame_view_get_matched_share (HmDbgFlameView *self);
/* The cost of everything, and of the zoomed box (the whole graph's when
 * not zoomed); the zoomed box's function or NULL. */
guint64    hm_dbg_flame_view_get_total_cost   (HmDbgFlameView *self);
guint64    hm_dbg_flame_view_get_zoom_cost    (HmDbgFlameView *self);
const char *hm_dbg_flame_view_get_zoom_function (HmDbgFlameView *self);
/* Where the first box (breadth first) of function is drawn, in the
 * widget's coordinates; FALSE when it is not visible (for tests). */
gboolean   hm_dbg_flame_view_get_box          (HmDbgFlameView  *self,
                                               const char      *function,
                                               graphene_rect_t *box);

G_END_DECLS
