/* hm-dbg-warning-item.c — a row of the Warnings view: a copy of the model's
 * HmWarning, and the labels its cells show.
 */
#include <glib/gi18n.h>

#include "hm-dbg-warning-item.h"

#include "hm-dbg-format.h"

struct _HmDbgWarningItem
{
  GObject parent_instance;

  HmDbgTrace *trace;
  HmWarning warning;
  HmDbgWarningChange change;
  const HmSuppression *suppression;   /* the rule that hides this leak, or NULL */
};

G_DEFINE_FINAL_TYPE (HmDbgWarningItem, hm_dbg_warning_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_KIND_TEXT,
  PROP_TIME_TEXT,
  PROP_FUNCTION,
  PROP_ADDRESS_TEXT,
  PROP_SIZE_TEXT,
  PROP_OBJECT_TEXT,
  PROP_CHANGE_TEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The region or pool the warning is about, by name when it has one. */
static char *
dup_object_text (HmDbgWarningItem *self)
{
  HmHeapModel *model = hm_dbg_trace_get_model (self->trace);
  gboolean about_pool = self->warning.kind == HM_WARNING_POOL_WRONG_POOL
                        || self->warning.kind == HM_WARNING_POOL_DOUBLE_RETURN
                        || self->warning.kind == HM_WARNING_POOL_USE_AFTER_FREE;
  GPtrArray *objects;

  if (self->warning.object == 0)
    return g_strdup ("–");

  if (model != NULL)
    {
      objects = about_pool ? hm_heap_model_get_pools (model) : hm_heap_model_get_regions (model);
      for (guint i = 0; i < objects->len; i++)
        {
          const char *name = NULL;
          guint64 id;

          if (about_pool)
            {
              const HmPoolStats *pool = g_ptr_array_index (objects, i);
              id = pool->id;
              name = pool->name;
            }
          else
            {
              const HmRegionStats *region = g_ptr_array_index (objects, i);
              id = region->id;
              name = region->name;
            }
          if (id == self->warning.object && name != NULL && name[0] != '\0')
            return g_strdup_printf ("%s (#%" G_GUINT64_FORMAT ")", name, self->warning.object);
        }
    }
  return g_strdup_printf ("#%" G_GUINT64_FORMAT, self->warning.object);
}

static void
hm_dbg_warning_item_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  HmDbgWarningItem *self = HM_DBG_WARNING_ITEM (object);

  switch (prop_id)
    {
    case PROP_KIND_TEXT:
      g_value_set_string (value, hm_dbg_warning_kind_label (self->warning.kind));
      break;

    case PROP_CHANGE_TEXT:
      g_value_set_string (value, self->change == HM_DBG_WARNING_NEW ? _("new")
                                 : self->change == HM_DBG_WARNING_FIXED ? _("fixed")
                                 : self->change == HM_DBG_WARNING_UNCHANGED ? _("unchanged")
                                 : "");
      break;

    case PROP_TIME_TEXT:
      g_value_take_string (value, hm_dbg_format_time (self->warning.ts));
      break;

    case PROP_FUNCTION:
      {
        guint64 node = hm_dbg_warning_item_get_stack_node (self);
        const char *function = NULL;

        /* a leak or a dangling pointer has no bad call: its block's allocator */
        if (node == 0 && self->warning.alloc_stack != 0)
          node = hm_heap_model_stack_node (hm_dbg_trace_get_model (self->trace),
                                           self->warning.alloc_stack);
        if (node != 0)
          hm_dbg_trace_describe_node (self->trace, node, &function, NULL);
        g_value_set_string (value, function != NULL ? function : "–");
      }
      break;

    case PROP_ADDRESS_TEXT:
      if (self->warning.addr != 0)
        g_value_take_string (value, g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", self->warning.addr));
      else
        g_value_set_string (value, "–");
      break;

    case PROP_SIZE_TEXT:
      g_value_take_string (value, hm_dbg_format_size (self->warning.size, TRUE));
      break;

    case PROP_OBJECT_TEXT:
      g_value_take_string (value, dup_object_text (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_warning_item_finalize (GObject *object)
{
  HmDbgWarningItem *self = HM_DBG_WARNING_ITEM (object);

  g_clear_object (&self->trace);

  G_OBJECT_CLASS (hm_dbg_warning_item_parent_class)->finalize (object);
}

static void
hm_dbg_warning_item_class_init (HmDbgWarningItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = hm_dbg_warning_item_finalize;
  object_class->get_property = hm_dbg_warning_item_get_property;

  properties[PROP_KIND_TEXT] = g_param_spec_string ("kind-text", NULL, NULL, NULL, flags);
  properties[PROP_TIME_TEXT] = g_param_spec_string ("time-text", NULL, NULL, NULL, flags);
  properties[PROP_FUNCTION] = g_param_spec_string ("function", NULL, NULL, NULL, flags);
  properties[PROP_ADDRESS_TEXT] = g_param_spec_string ("address-text", NULL, NULL, NULL, flags);
  properties[PROP_SIZE_TEXT] = g_param_spec_string ("size-text", NULL, NULL, NULL, flags);
  properties[PROP_OBJECT_TEXT] = g_param_spec_string ("object-text", NULL, NULL, NULL, flags);
  properties[PROP_CHANGE_TEXT] = g_param_spec_string ("change-text", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hm_dbg_warning_item_init (HmDbgWarningItem *self)
{
}

HmDbgWarningItem *
hm_dbg_warning_item_new (HmDbgTrace      *trace,
                         const HmWarning *warning)
{
  HmDbgWarningItem *self;

  g_return_val_if_fail (HM_DBG_IS_TRACE (trace), NULL);
  g_return_val_if_fail (warning != NULL, NULL);

  self = g_object_new (HM_DBG_TYPE_WARNING_ITEM, NULL);
  self->trace = g_object_ref (trace);
  self->warning = *warning;
  return self;
}

const HmWarning *
hm_dbg_warning_item_get_warning (HmDbgWarningItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNING_ITEM (self), NULL);

  return &self->warning;
}

HmWarningKind
hm_dbg_warning_item_get_kind (HmDbgWarningItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNING_ITEM (self), 0);

  return self->warning.kind;
}

guint64
hm_dbg_warning_item_get_time (HmDbgWarningItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNING_ITEM (self), 0);

  return self->warning.ts;
}

static guint64
node_of (HmDbgWarningItem *self,
         guint64           stack)
{
  HmHeapModel *model = hm_dbg_trace_get_model (self->trace);

  return model != NULL && stack != 0 ? hm_heap_model_stack_node (model, stack) : 0;
}

guint64
hm_dbg_warning_item_get_stack_node (HmDbgWarningItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNING_ITEM (self), 0);

  return node_of (self, self->warning.stack);
}

guint64
hm_dbg_warning_item_get_alloc_node (HmDbgWarningItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNING_ITEM (self), 0);

  return node_of (self, self->warning.alloc_stack);
}

guint64
hm_dbg_warning_item_get_free_node (HmDbgWarningItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNING_ITEM (self), 0);

  return node_of (self, self->warning.free_stack);
}

/* Diff mode: whether the warning is new, gone or in both runs.  A fixed
 * one belongs to the baseline: its item's trace is the baseline. */
void
hm_dbg_warning_item_set_change (HmDbgWarningItem   *self,
                                HmDbgWarningChange  change)
{
  g_return_if_fail (HM_DBG_IS_WARNING_ITEM (self));

  self->change = change;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHANGE_TEXT]);
}

HmDbgWarningChange
hm_dbg_warning_item_get_change (HmDbgWarningItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNING_ITEM (self), HM_DBG_WARNING_NO_DIFF);

  return self->change;
}

HmDbgTrace *
hm_dbg_warning_item_get_trace (HmDbgWarningItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNING_ITEM (self), NULL);

  return self->trace;
}

/* The suppression rule that hides this leak (it belongs to the view's
 * HmSuppressions), or NULL. */
void
hm_dbg_warning_item_set_suppression (HmDbgWarningItem    *self,
                                     const HmSuppression *suppression)
{
  g_return_if_fail (HM_DBG_IS_WARNING_ITEM (self));

  self->suppression = suppression;
}

const HmSuppression *
hm_dbg_warning_item_get_suppression (HmDbgWarningItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNING_ITEM (self), NULL);

  return self->suppression;
}
