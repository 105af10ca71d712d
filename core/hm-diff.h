/* hm-diff.h — two recordings side by side: which allocation sites changed.
 *
 * Sites are matched by what their frames say in the source — function,
 * file and line, or the module and the offset in it when there is no line —
 * never by address, so that a match survives ASLR and a rebuild of
 * unchanged code.
 */
#pragma once

#include <glib.h>

#include "hm-heap-model.h"
#include "hm-symbolizer.h"

G_BEGIN_DECLS

typedef struct {
  GPtrArray *frames;       /* const HmFrameInfo *, innermost first: B's if B has the site */
  HmSiteStats a;           /* summed over A's sites with these frames; zero if none */
  HmSiteStats b;
  gboolean in_a;
  gboolean in_b;
} HmDiffSite;

/* Every site of either run (HmDiffSite *, free the array only), the most
 * changed first: by |Δ bytes allocated|, then |Δ leaked bytes|, then
 * |Δ allocations|.  The frames belong to the symbolizers. */
GPtrArray *hm_diff_sites (HmHeapModel *a, HmSymbolizer *symbolizer_a,
                          HmHeapModel *b, HmSymbolizer *symbolizer_b);

/* What matches a site across runs: its frames (const HmFrameInfo *,
 * innermost first) as the source names them, one line each; exe is the
 * model's "exe" info, whose frames all count as "<main>". */
char *hm_diff_stack_key (GPtrArray *frames, const char *exe);

/* Adds the counts of s to sum (peaks too: a sum of the sites' peaks). */
void hm_diff_add_stats (HmSiteStats *sum, const HmSiteStats *s);

/* Whether anything counted differs: allocations, bytes, frees, peak live,
 * leaked bytes or blocks, temporary allocations. */
gboolean hm_diff_site_changed (const HmDiffSite *site);

G_END_DECLS
