/* hm-dbg-sites-view.h — the allocation sites of a trace: a sortable,
 * searchable column view, and the selected site's stack below it.
 */
#pragma once

#include <gtk/gtk.h>

#include "hm-dbg-trace.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_SITES_VIEW (hm_dbg_sites_view_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgSitesView, hm_dbg_sites_view, HM_DBG, SITES_VIEW, GtkWidget)

GtkWidget          *hm_dbg_sites_view_new            (void);
HmDbgTrace         *hm_dbg_sites_view_get_trace      (HmDbgSitesView *self);
void                hm_dbg_sites_view_set_trace      (HmDbgSitesView *self,
                                                      HmDbgTrace     *trace);
/* The rows as shown: filtered by the search, sorted by the column view. */
GtkSelectionModel  *hm_dbg_sites_view_get_model      (HmDbgSitesView *self);
void                hm_dbg_sites_view_focus_search   (HmDbgSitesView *self);
/* Says that the numbers are the whole trace's when a range is selected. */
void                hm_dbg_sites_view_set_time_range (HmDbgSitesView *self,
                                                      gboolean        has_range,
                                                      guint64         start_ns,
                                                      guint64         end_ns);

G_END_DECLS
