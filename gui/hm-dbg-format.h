/* hm-dbg-format.h — numbers, sizes and times as the debugger's views show them.
 * Every function returns a new string: free it with g_free().
 */
#pragma once

#include <glib.h>

#include "hm-heap-model.h"

G_BEGIN_DECLS

/* "306,031": grouped the way the locale groups digits. */
char       *hm_dbg_format_count          (guint64        count);
/* "1.5 MiB" (IEC units), "-" for 0 when dash_for_zero. */
char       *hm_dbg_format_size           (guint64        bytes,
                                          gboolean       dash_for_zero);
/* Differences (diff mode): "+1.5 MiB", "−300", "–" for 0 (U+2212 minus). */
char       *hm_dbg_format_size_delta     (guint64        before,
                                          guint64        after);
char       *hm_dbg_format_count_delta    (guint64        before,
                                          guint64        after);
/* after - before, saturated to the range of gint64 */
gint64      hm_dbg_delta                 (guint64        before,
                                          guint64        after);
/* "12.5 ms" */
char       *hm_dbg_format_time           (guint64        ns);
/* What the user sees for a strategy and a warning kind (translated). */
const char *hm_dbg_strategy_label        (HmStrategyKind kind);
const char *hm_dbg_warning_kind_label    (HmWarningKind  kind);

G_END_DECLS
