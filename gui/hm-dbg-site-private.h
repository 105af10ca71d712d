/* hm-dbg-site-private.h — what HmDbgSiteList needs to make and refresh rows. */
#pragma once

#include "hm-dbg-site.h"

G_BEGIN_DECLS

HmDbgSite *_hm_dbg_site_new    (HmDbgTrace        *trace,
                                const HmSiteStats *stats);
/* New statistics for the same stack, from a live trace. */
void       _hm_dbg_site_update (HmDbgSite         *self,
                                const HmSiteStats *stats);

G_END_DECLS
