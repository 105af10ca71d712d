/* hm-dbg-site-list.h — the allocation sites of a trace as a GListModel of
 * HmDbgSite, made on demand; it follows a live trace as it grows.
 */
#pragma once

#include <gio/gio.h>

#include "hm-dbg-trace.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_SITE_LIST (hm_dbg_site_list_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgSiteList, hm_dbg_site_list, HM_DBG, SITE_LIST, GObject)

HmDbgSiteList *hm_dbg_site_list_new       (HmDbgTrace    *trace);
HmDbgTrace    *hm_dbg_site_list_get_trace (HmDbgSiteList *self);
/* Rows count what happened between start and end (to the timeline's
 * resolution): allocations and bytes in the range, "leaked" what was live
 * at its end.  Without a range: the whole trace. */
void           hm_dbg_site_list_set_range (HmDbgSiteList *self,
                                           gboolean       has_range,
                                           guint64        start_ns,
                                           guint64        end_ns);

G_END_DECLS
