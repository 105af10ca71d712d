/* hm-dbg-objects-view.h — the Regions & Pools view: every region and pool
 * the program made, with its use and whether it is still alive; the
 * selected one's creation stack below.
 */
#pragma once

#include <gtk/gtk.h>

#include "hm-dbg-trace.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_OBJECTS_VIEW (hm_dbg_objects_view_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgObjectsView, hm_dbg_objects_view, HM_DBG, OBJECTS_VIEW, GtkWidget)

GtkWidget         *hm_dbg_objects_view_new            (void);
HmDbgTrace        *hm_dbg_objects_view_get_trace      (HmDbgObjectsView *self);
void               hm_dbg_objects_view_set_trace      (HmDbgObjectsView *self,
                                                       HmDbgTrace       *trace);
/* The rows as shown (filtered by the time range, sorted). */
GtkSelectionModel *hm_dbg_objects_view_get_model      (HmDbgObjectsView *self);
/* Shows only the objects alive at some moment of the range. */
void               hm_dbg_objects_view_set_time_range (HmDbgObjectsView *self,
                                                       gboolean          has_range,
                                                       guint64           start_ns,
                                                       guint64           end_ns);

G_END_DECLS
