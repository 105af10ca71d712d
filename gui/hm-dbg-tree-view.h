/* hm-dbg-tree-view.h — the allocation sites as a call tree, top-down (from
 * main to the allocating functions) or bottom-up (from the allocating
 * functions to their callers), with the bytes, allocations, peak, leaked and
 * temporary allocations of every node, sortable, and a filter by function,
 * file or module.
 */
#pragma once

#include <gtk/gtk.h>

#include "hm-call-tree.h"
#include "hm-dbg-trace.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_TREE_VIEW (hm_dbg_tree_view_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgTreeView, hm_dbg_tree_view, HM_DBG, TREE_VIEW, GtkWidget)

GtkWidget *hm_dbg_tree_view_new            (void);
void       hm_dbg_tree_view_set_trace      (HmDbgTreeView       *self,
                                            HmDbgTrace          *trace);
void       hm_dbg_tree_view_set_direction  (HmDbgTreeView       *self,
                                            HmCallTreeDirection  direction);
void       hm_dbg_tree_view_set_filter     (HmDbgTreeView       *self,
                                            const char          *text);
/* The rows as shown (GtkTreeListRow items), for tests. */
GListModel *hm_dbg_tree_view_get_rows      (HmDbgTreeView       *self);
/* The node a row shows (owned by the view's tree). */
const HmCallNode *hm_dbg_tree_view_row_node (GtkTreeListRow     *row);

G_END_DECLS
