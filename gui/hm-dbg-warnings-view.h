/* hm-dbg-warnings-view.h — the lifetime-analysis warnings, by kind, with
 * the stacks of the bad call, the allocation and the free.
 */
#pragma once

#include <gtk/gtk.h>

#include "hm-dbg-trace.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_WARNINGS_VIEW (hm_dbg_warnings_view_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgWarningsView, hm_dbg_warnings_view, HM_DBG, WARNINGS_VIEW, GtkWidget)

GtkWidget         *hm_dbg_warnings_view_new            (void);
HmDbgTrace        *hm_dbg_warnings_view_get_trace      (HmDbgWarningsView *self);
void               hm_dbg_warnings_view_set_trace      (HmDbgWarningsView *self,
                                                        HmDbgTrace        *trace);
/* The rows as shown (filtered by kind and time range, sorted). */
GtkSelectionModel *hm_dbg_warnings_view_get_model      (HmDbgWarningsView *self);
/* Shows only the warnings inside the range. */
void               hm_dbg_warnings_view_set_time_range (HmDbgWarningsView *self,
                                                        gboolean           has_range,
                                                        guint64            start_ns,
                                                        guint64            end_ns);

gboolean           hm_dbg_warnings_view_load_suppressions        (HmDbgWarningsView  *self,
                                                                  const char         *path,
                                                                  GError            **error);
void               hm_dbg_warnings_view_set_builtin_suppressions (HmDbgWarningsView  *self,
                                                                  gboolean            builtin);
GPtrArray         *hm_dbg_warnings_view_get_suppressions         (HmDbgWarningsView  *self);
guint              hm_dbg_warnings_view_get_n_suppressed         (HmDbgWarningsView  *self);

G_END_DECLS
