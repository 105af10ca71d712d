/* hm-dbg-site.h — one allocation site as a row of the sites list: the
 * model's statistics of one allocation stack and its innermost frame.
 */
#pragma once

#include <glib-object.h>

#include "hm-dbg-trace.h"

G_BEGIN_DECLS

/* What a row shows of a site: the model's HmSiteStats without its
 * histograms, which are most of its size (ask the model for those:
 * hm_dbg_site_get_model_stats()). */
typedef struct {
  guint64 stack;           /* leaf node id */
  guint64 allocations;
  guint64 frees;
  guint64 bytes;
  guint64 live_bytes;
  guint64 live_blocks;
  guint64 peak_live_bytes;
  guint64 lifetime_ns_sum;
  guint64 temporary;
} HmDbgSiteRow;

void hm_dbg_site_row_set (HmDbgSiteRow *row, const HmSiteStats *stats);

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
const HmDbgSiteRow *hm_dbg_site_get_base     (HmDbgSite *self);
const HmDbgSiteRow *hm_dbg_site_get_row      (HmDbgSite *self);
/* The model's statistics of the site's own stack (its histograms too),
 * over the whole run; NULL when its trace has none. */
const HmSiteStats  *hm_dbg_site_get_model_stats (HmDbgSite *self);

G_END_DECLS
