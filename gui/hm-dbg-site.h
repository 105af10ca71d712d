/* hm-dbg-site.h — one allocation site as a row of the sites list: the
 * model's statistics of one allocation stack and its innermost frame.
 */
#pragma once

#include <glib-object.h>

#include "hm-dbg-trace.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_SITE (hm_dbg_site_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgSite, hm_dbg_site, HM_DBG, SITE, GObject)

HmDbgTrace *hm_dbg_site_get_trace            (HmDbgSite *self);
/* The leaf node of the allocation stack (hm_symbolizer_get_stack() takes it). */
guint64     hm_dbg_site_get_stack            (HmDbgSite *self);
const char *hm_dbg_site_get_function         (HmDbgSite *self);
const char *hm_dbg_site_get_location         (HmDbgSite *self);
guint64     hm_dbg_site_get_allocations      (HmDbgSite *self);
guint64     hm_dbg_site_get_bytes            (HmDbgSite *self);
guint64     hm_dbg_site_get_peak_live_bytes  (HmDbgSite *self);
/* Live at the end of the trace: leaked, or still in use while recording. */
guint64     hm_dbg_site_get_leaked_bytes     (HmDbgSite *self);
guint64     hm_dbg_site_get_leaked_blocks    (HmDbgSite *self);
/* Over the blocks that were freed; 0 when none was. */
guint64     hm_dbg_site_get_average_lifetime (HmDbgSite *self);
const HmSiteStats *hm_dbg_site_get_base      (HmDbgSite *self);
const HmSiteStats *hm_dbg_site_get_stats     (HmDbgSite *self);

G_END_DECLS
