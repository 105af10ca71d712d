/* hm-dbg-trace.h — one trace as the debugger holds it: the heap model, its
 * symbolizer and where it came from, loaded from a file in a worker thread or
 * fed live from a recording.  Every view reads the same HmDbgTrace.
 */
#pragma once

#include <gio/gio.h>

#include "hm-call-tree.h"
#include "hm-heap-model.h"
#include "hm-symbolizer.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_TRACE (hm_dbg_trace_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgTrace, hm_dbg_trace, HM_DBG, TRACE, GObject)

/* What the views need of a time range, computed from the timeline buckets:
 * as exact as the bucket width. */
typedef struct {
  guint64 start_ns;
  guint64 end_ns;
  guint64 peak_bytes;
  guint64 allocations;
  guint64 frees;
} HmDbgRangeStats;

/* A trace of a file: empty until hm_dbg_trace_load_async() has finished. */
HmDbgTrace    *hm_dbg_trace_new_for_file      (GFile                *file);
/* Reads the whole file in a worker thread; the model appears at the end. */
void           hm_dbg_trace_load_async        (HmDbgTrace           *self,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
gboolean       hm_dbg_trace_load_finish       (HmDbgTrace           *self,
                                               GAsyncResult         *result,
                                               GError              **error);
/* How far a running load has got, 0..1. */
double         hm_dbg_trace_get_load_fraction (HmDbgTrace           *self);

HmDbgTrace    *hm_dbg_trace_new_live          (const char           *title);
void           hm_dbg_trace_feed              (HmDbgTrace           *self,
                                               const void           *data,
                                               gsize                 len);
void           hm_dbg_trace_feed_eof          (HmDbgTrace           *self);

const char    *hm_dbg_trace_get_title         (HmDbgTrace           *self);
GFile         *hm_dbg_trace_get_file          (HmDbgTrace           *self);
gboolean       hm_dbg_trace_is_live           (HmDbgTrace           *self);
gboolean       hm_dbg_trace_is_finished       (HmDbgTrace           *self);
HmHeapModel   *hm_dbg_trace_get_model         (HmDbgTrace           *self);
HmSymbolizer  *hm_dbg_trace_get_symbolizer    (HmDbgTrace           *self);
guint64        hm_dbg_trace_get_size          (HmDbgTrace           *self);
/* The error that stopped reading early (a corrupt chunk), or NULL. */
const GError  *hm_dbg_trace_get_error         (HmDbgTrace           *self);
/* The duration the views show: the last event's time, at least 1 ns. */
guint64        hm_dbg_trace_get_duration      (HmDbgTrace           *self);

/* The innermost frame of a stack node, for one-line labels: the function
 * and "file.c:123" (or "module+0x1f"); strings belong to the trace. */
void           hm_dbg_trace_describe_node     (HmDbgTrace           *self,
                                               guint64               node,
                                               const char          **function,
                                               const char          **location);
gboolean       hm_dbg_trace_get_range_stats   (HmDbgTrace           *self,
                                               guint64               start_ns,
                                               guint64               end_ns,
                                               HmDbgRangeStats      *stats);

void           hm_dbg_trace_set_baseline      (HmDbgTrace           *self,
                                               HmDbgTrace           *baseline);
HmDbgTrace    *hm_dbg_trace_get_baseline      (HmDbgTrace           *self);
HmCallNode    *hm_dbg_trace_build_call_tree   (HmDbgTrace           *self,
                                               const HmCallTreeOptions *options,
                                               gboolean             *diff);

G_END_DECLS
