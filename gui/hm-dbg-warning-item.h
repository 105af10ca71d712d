/* hm-dbg-warning-item.h — one lifetime-analysis warning as a row of the
 * Warnings view: what went wrong, when, and the three stacks involved.
 */
#pragma once

#include <glib-object.h>

#include "hm-dbg-trace.h"
#include "hm-suppressions.h"

G_BEGIN_DECLS

/* Diff mode: how a warning compares with the baseline's. */
typedef enum {
  HM_DBG_WARNING_NO_DIFF,
  HM_DBG_WARNING_NEW,         /* this run has it, the baseline had not */
  HM_DBG_WARNING_UNCHANGED,   /* both runs have it */
  HM_DBG_WARNING_FIXED,       /* only the baseline had it */
} HmDbgWarningChange;

#define HM_DBG_TYPE_WARNING_ITEM (hm_dbg_warning_item_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgWarningItem, hm_dbg_warning_item, HM_DBG, WARNING_ITEM, GObject)

HmDbgWarningItem *hm_dbg_warning_item_new             (HmDbgTrace       *trace,
                                                       const HmWarning  *warning);
const HmWarning  *hm_dbg_warning_item_get_warning     (HmDbgWarningItem *self);
HmWarningKind     hm_dbg_warning_item_get_kind        (HmDbgWarningItem *self);
guint64           hm_dbg_warning_item_get_time        (HmDbgWarningItem *self);
/* Leaf nodes of the bad call's stack, the block's allocation and its free
 * (0 when not recorded). */
guint64           hm_dbg_warning_item_get_stack_node  (HmDbgWarningItem *self);
guint64           hm_dbg_warning_item_get_alloc_node  (HmDbgWarningItem *self);
guint64           hm_dbg_warning_item_get_free_node   (HmDbgWarningItem *self);

void               hm_dbg_warning_item_set_change (HmDbgWarningItem   *self,
                                                   HmDbgWarningChange  change);
HmDbgWarningChange hm_dbg_warning_item_get_change (HmDbgWarningItem   *self);
HmDbgTrace        *hm_dbg_warning_item_get_trace  (HmDbgWarningItem   *self);
void                 hm_dbg_warning_item_set_suppression (HmDbgWarningItem    *self,
                                                          const HmSuppression *suppression);
const HmSuppression *hm_dbg_warning_item_get_suppression (HmDbgWarningItem    *self);

G_END_DECLS
