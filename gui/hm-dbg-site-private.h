/* hm-dbg-site-private.h — what HmDbgSiteList needs to make and refresh rows. */
#pragma once

#include "hm-dbg-site.h"

G_BEGIN_DECLS

HmDbgSite *_hm_dbg_site_new    (HmDbgTrace        *trace,
                                const HmDbgSiteRow *stats);
/* Diff mode: trace is the run the stack belongs to (the baseline's for a
 * site only it has); base is the site in the baseline run. */
HmDbgSite *_hm_dbg_site_new_diff (HmDbgTrace        *trace,
                                  const HmDbgSiteRow *stats,
                                  const HmDbgSiteRow *base);
/* New statistics for the same stack, from a live trace. */
void       _hm_dbg_site_update (HmDbgSite         *self,
                                const HmDbgSiteRow *stats);

G_END_DECLS
