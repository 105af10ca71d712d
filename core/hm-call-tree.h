/* hm-call-tree.h — the allocation sites as a tree of calls.
 *
 *   top-down   from the outermost frame (main, a thread's start) to the
 *              functions that allocate: where the memory goes, by caller
 *   bottom-up  from the functions that allocate to their callers: who
 *              allocates, then on whose behalf
 *
 * Sibling frames of the same function are one node, so a node adds up every
 * path through it at that place in the tree.  Each node sums the statistics
 * of the sites below it; "peak" is the sum of those sites' own peaks, as in
 * heaptrack (the sites' peaks need not fall at the same moment).
 */
#pragma once

#include <glib.h>

#include "hm-heap-model.h"
#include "hm-symbolizer.h"

G_BEGIN_DECLS

typedef enum {
  HM_CALL_TREE_TOP_DOWN,
  HM_CALL_TREE_BOTTOM_UP,
  HM_CALL_TREE_CALLEES,    /* from a function (options.focus) to what it calls */
  HM_CALL_TREE_CALLERS,    /* from a function to what calls it */
} HmCallTreeDirection;

typedef struct _HmCallNode HmCallNode;
struct _HmCallNode {
  const char *function;    /* belongs to the symbolizer; "??" when unknown */
  const char *file;        /* of the first frame seen here; may be NULL */
  const char *module;
  guint64 allocations;
  guint64 bytes;
  guint64 peak_bytes;      /* sum of the sites' peaks */
  guint64 leaked_bytes;
  guint64 leaked_blocks;
  guint64 temporary;
  /* hm_call_tree_build_diff(): the same sums over the baseline run (the
   * fields above are then the compared run's); zero otherwise */
  guint64 base_allocations;
  guint64 base_bytes;
  guint64 base_peak_bytes;
  guint64 base_leaked_bytes;
  guint64 base_leaked_blocks;
  guint64 base_temporary;
  guint depth;             /* the root is 0 */
  HmCallNode *parent;
  GPtrArray *children;     /* HmCallNode *, by name; NULL when none */
};

typedef struct {
  HmCallTreeDirection direction;
  gboolean merge_recursion;      /* f calling f directly: one node */
  const char *filter;            /* keep only sites with a frame whose function, file or
                                  * module contains this (case-insensitive); NULL: all */
  const char *focus;             /* CALLEES, CALLERS: the function (exact name); the
                                  * root's only child is it, summing every stack through
                                  * it (its outermost call, when it recurses) */
} HmCallTreeOptions;

/* The tree of every site; the root is "all".  Free with hm_call_node_free(). */
HmCallNode *hm_call_tree_build (HmHeapModel *model, HmSymbolizer *symbolizer,
                                const HmCallTreeOptions *options);
/* Two runs in one tree: nodes are matched by function name along the path,
 * so a node present in only one run has zeros for the other.  The costs
 * are model's; the base_* fields are base's. */
HmCallNode *hm_call_tree_build_diff (HmHeapModel *base, HmSymbolizer *base_symbolizer,
                                     HmHeapModel *model, HmSymbolizer *symbolizer,
                                     const HmCallTreeOptions *options);
void hm_call_node_free (HmCallNode *root);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HmCallNode, hm_call_node_free)

/* The first node (breadth first) of function, or NULL. */
HmCallNode *hm_call_tree_find (HmCallNode *root, const char *function);

G_END_DECLS
