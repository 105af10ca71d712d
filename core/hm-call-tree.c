/* hm-call-tree.c — sites as a tree of calls (see the header). */
#include "hm-call-tree.h"

#include <string.h>

void
hm_call_node_free (HmCallNode *node)
{
  if (node == NULL)
    return;
  if (node->children != NULL)
    g_ptr_array_unref (node->children);
  g_free (node);
}

static HmCallNode *
child_of (HmCallNode *parent, const HmFrameInfo *frame)
{
  const char *function = frame->function ? frame->function : "??";

  if (parent->children == NULL)
    parent->children = g_ptr_array_new_with_free_func ((GDestroyNotify) hm_call_node_free);
  /* most nodes have few children; the biggest ones are found early */
  for (guint i = 0; i < parent->children->len; i++)
    {
      HmCallNode *c = g_ptr_array_index (parent->children, i);
      if (c->function == function || g_str_equal (c->function, function))
        return c;
    }
  HmCallNode *c = g_new0 (HmCallNode, 1);
  c->function = function;
  c->file = frame->file;
  c->module = frame->module;
  c->parent = parent;
  c->depth = parent->depth + 1;
  g_ptr_array_add (parent->children, c);
  return c;
}

static void
add_site (HmCallNode *node, const HmSiteStats *site, gboolean base)
{
  if (base)
    {
      node->base_allocations += site->allocations;
      node->base_bytes += site->bytes;
      node->base_peak_bytes += site->peak_live_bytes;
      node->base_leaked_bytes += site->live_bytes;
      node->base_leaked_blocks += site->live_blocks;
      node->base_temporary += site->temporary;
      return;
    }
  node->allocations += site->allocations;
  node->bytes += site->bytes;
  node->peak_bytes += site->peak_live_bytes;
  node->leaked_bytes += site->live_bytes;
  node->leaked_blocks += site->live_blocks;
  node->temporary += site->temporary;
}

static gboolean
contains_folded (const char *text, const char *folded_needle)
{
  if (text == NULL)
    return FALSE;
  g_autofree char *folded = g_utf8_casefold (text, -1);
  return strstr (folded, folded_needle) != NULL;
}

static gint
compare_by_name (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 ((*(HmCallNode *const *) a)->function, (*(HmCallNode *const *) b)->function);
}

static void
sort_tree (HmCallNode *node)
{
  if (node->children == NULL)
    return;
  g_ptr_array_sort (node->children, compare_by_name);
  for (guint i = 0; i < node->children->len; i++)
    sort_tree (g_ptr_array_index (node->children, i));
}

/* Every site of one run into the tree: its costs, or its base costs. */
static void
add_model (HmCallNode *root, HmHeapModel *model, HmSymbolizer *symbolizer,
           const HmCallTreeOptions *options, const char *filter, gboolean base)
{
  g_autoptr(GPtrArray) sites = hm_heap_model_get_sites (model);

  for (guint i = 0; i < sites->len; i++)
    {
      const HmSiteStats *site = g_ptr_array_index (sites, i);
      g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, site->stack);

      if (filter != NULL)
        {
          gboolean keep = FALSE;
          for (guint f = 0; f < frames->len && !keep; f++)
            {
              const HmFrameInfo *frame = g_ptr_array_index (frames, f);
              keep = contains_folded (frame->function, filter)
                     || contains_folded (frame->file, filter)
                     || contains_folded (frame->module, filter);
            }
          if (!keep)
            continue;
        }
      /* the frames to walk, in order: all of them, or from the focus on */
      guint first = 0, count = frames->len;
      gboolean inward = options->direction == HM_CALL_TREE_TOP_DOWN
                        || options->direction == HM_CALL_TREE_CALLEES;
      if (options->direction == HM_CALL_TREE_CALLEES || options->direction == HM_CALL_TREE_CALLERS)
        {
          /* the outermost frame of the focus (frames are innermost first) */
          guint at = G_MAXUINT;
          for (guint f = 0; f < frames->len; f++)
            {
              const HmFrameInfo *frame = g_ptr_array_index (frames, f);
              if (g_strcmp0 (frame->function, options->focus) == 0)
                at = f;
            }
          if (at == G_MAXUINT)
            continue;
          if (options->direction == HM_CALL_TREE_CALLEES)
            count = at + 1;            /* frames [0, at], walked from at inward */
          else
            {
              first = at;              /* frames [at, len), walked from at outward */
              count = frames->len - at;
            }
        }
      HmCallNode *node = root;
      add_site (node, site, base);
      for (guint k = 0; k < count; k++)
        {
          guint f = inward ? first + count - 1 - k : first + k;
          const HmFrameInfo *frame = g_ptr_array_index (frames, f);
          if (options->merge_recursion && node != root && frame->function != NULL
              && g_str_equal (node->function, frame->function))
            continue;
          node = child_of (node, frame);
          add_site (node, site, base);
        }
    }
}

static HmCallNode *
build (HmHeapModel *base, HmSymbolizer *base_symbolizer, HmHeapModel *model,
       HmSymbolizer *symbolizer, const HmCallTreeOptions *options)
{
  HmCallTreeOptions defaults = { HM_CALL_TREE_TOP_DOWN, FALSE, NULL };
  g_autofree char *filter = NULL;
  HmCallNode *root = g_new0 (HmCallNode, 1);

  if (options == NULL)
    options = &defaults;
  if (options->filter != NULL && *options->filter != '\0')
    filter = g_utf8_casefold (options->filter, -1);
  root->function = "all";
  add_model (root, model, symbolizer, options, filter, FALSE);
  if (base != NULL)
    add_model (root, base, base_symbolizer, options, filter, TRUE);
  sort_tree (root);
  return root;
}

HmCallNode *
hm_call_tree_build (HmHeapModel *model, HmSymbolizer *symbolizer,
                    const HmCallTreeOptions *options)
{
  return build (NULL, NULL, model, symbolizer, options);
}

HmCallNode *
hm_call_tree_build_diff (HmHeapModel *base, HmSymbolizer *base_symbolizer, HmHeapModel *model,
                         HmSymbolizer *symbolizer, const HmCallTreeOptions *options)
{
  g_return_val_if_fail (base != NULL && base_symbolizer != NULL, NULL);

  return build (base, base_symbolizer, model, symbolizer, options);
}

HmCallNode *
hm_call_tree_find (HmCallNode *root, const char *function)
{
  g_autoptr(GQueue) queue = g_queue_new ();

  g_queue_push_tail (queue, root);
  while (!g_queue_is_empty (queue))
    {
      HmCallNode *node = g_queue_pop_head (queue);
      if (g_strcmp0 (node->function, function) == 0)
        return node;
      for (guint i = 0; node->children != NULL && i < node->children->len; i++)
        g_queue_push_tail (queue, g_ptr_array_index (node->children, i));
    }
  return NULL;
}
