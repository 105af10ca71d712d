/* hm-export.h — a trace's allocation sites in the formats other tools read.
 *
 *   collapsed  one line per stack, "outer;…;inner VALUE": flamegraph.pl,
 *              speedscope, inferno
 *   pprof      profile.proto, gzipped: go tool pprof, Pyroscope, Parca
 *   massif     valgrind massif's output: ms_print, massif-visualizer
 *   svg        the timeline chart, for documents
 *
 * All are built from the same model and symbolizer as the reports, without
 * the agent's own frames.
 */
#pragma once

#include <glib.h>

#include "hm-heap-model.h"
#include "hm-symbolizer.h"

G_BEGIN_DECLS

/* What a site is weighed by. */
typedef enum {
  HM_COST_BYTES = 0,       /* allocated in all */
  HM_COST_ALLOCATIONS,     /* calls */
  HM_COST_PEAK,            /* the site's highest live bytes */
  HM_COST_LEAKED,          /* live bytes at the end */
  HM_COST_TEMPORARY,       /* temporary allocations (see HmHeapTotals) */
} HmCost;

/* "bytes", "allocations", "peak", "leaked", "temporary". */
gboolean hm_cost_from_string (const char *name, HmCost *cost);
const char *hm_cost_name (HmCost cost);
guint64 hm_site_cost (const HmSiteStats *site, HmCost cost);

/* Collapsed stacks: for every site of non-zero cost, its frames outermost
 * first joined by ';', a space and the cost.  Frames are function names
 * (inlined calls included); ';' in a name becomes ':'. */
GBytes *hm_export_collapsed (HmHeapModel *model, HmSymbolizer *symbolizer, HmCost cost);

/* A pprof profile: sample types alloc_objects, alloc_space, inuse_objects,
 * inuse_space (at the end of the trace: what leaked) and peak_space, one
 * sample per site, locations with their inlined lines, a mapping per module.
 * gzip: compressed, as pprof files usually are (pprof reads both). */
GBytes *hm_export_pprof (HmHeapModel *model, HmSymbolizer *symbolizer, gboolean gzip,
                         GError **error);

/* Valgrind massif's format: the heap over time (from the model's timeline)
 * and, at the end, a detailed tree of what is still live, allocation points
 * first, then their callers. */
GBytes *hm_export_massif (HmHeapModel *model, HmSymbolizer *symbolizer);

/* The heap over time, stacked by strategy, as an SVG image of width x
 * height pixels (the debugger's timeline, for documents and reports). */
GBytes *hm_export_timeline_svg (HmHeapModel *model, guint width, guint height);

G_END_DECLS
