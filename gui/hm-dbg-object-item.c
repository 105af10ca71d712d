/* hm-dbg-object-item.c — a row of the Regions & Pools view.
 *
 * Regions and pools share one list, so the columns mean the same for both:
 * allocations are region allocations or pool gets, bytes are what was
 * handed out, live and peak are bytes (pool objects times their size).
 */
#include <glib/gi18n.h>

#include "hm-dbg-object-item.h"

#include "hm-dbg-format.h"

struct _HmDbgObjectItem
{
  GObject parent_instance;

  HmDbgTrace *trace;          /* keeps the model, and so the stats, alive */
  HmObjectKind kind;
  const HmRegionStats *region;
  const HmPoolStats *pool;
  /* diff mode (hm_dbg_object_item_set_diff): the numbers show the change */
  gboolean diff;
  gboolean gone;              /* the baseline's object, this run has none like it */
  HmDbgObjectItem *base;      /* the baseline's object like it, or NULL */
};

G_DEFINE_FINAL_TYPE (HmDbgObjectItem, hm_dbg_object_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_KIND_TEXT,
  PROP_NAME,
  PROP_CREATED_TEXT,
  PROP_ALLOCATIONS_TEXT,
  PROP_BYTES_TEXT,
  PROP_LIVE_TEXT,
  PROP_PEAK_TEXT,
  PROP_DETAILS_TEXT,
  PROP_STATUS_TEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static guint64
live_bytes (HmDbgObjectItem *self)
{
  if (self->region != NULL)
    return self->region->live_bytes;
  if (self->pool->annotated)
    return self->pool->live_bytes;
  return self->pool->live_objects * self->pool->object_size;
}

static char *
dup_details_text (HmDbgObjectItem *self)
{
  if (self->region != NULL)
    {
      g_autofree char *resets = hm_dbg_format_count (self->region->resets);
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s reset", "%s resets",
                                           self->region->resets),
                              resets);
    }
  else if (self->pool->annotated)
    {
      /* Translators: a pool the program announced with Valgrind's
       * VALGRIND_CREATE_MEMPOOL; its objects have any size */
      return g_strdup (_("Valgrind mempool, objects of any size"));
    }
  else
    {
      g_autofree char *size = hm_dbg_format_size (self->pool->object_size, FALSE);
      g_autofree char *capacity = hm_dbg_format_count (self->pool->capacity);
      /* Translators: a pool's object size and how many objects it holds */
      return g_strdup_printf (_("%s objects, capacity %s"), size, capacity);
    }
}

static char *
dup_status_text (HmDbgObjectItem *self)
{
  /* Translators: diff mode, an object only the baseline run had */
  if (self->diff && self->gone)
    return g_strdup (_("gone (baseline only)"));
  /* Translators: diff mode, an object the baseline run had not */
  if (self->diff && self->base == NULL)
    return g_strdup (_("new"));
  if (self->region != NULL && self->region->freed)
    {
      g_autofree char *when = hm_dbg_format_time (self->region->freed_ts);
      return g_strdup_printf (_("freed at %s"), when);
    }
  if (self->pool != NULL && self->pool->freed)
    return g_strdup (_("freed"));
  return g_strdup (_("alive"));
}

/* Diff mode: value's change from the baseline's object to this one. */
static char *
dup_change (HmDbgObjectItem *self,
            guint64        (*get) (HmDbgObjectItem *),
            gboolean         counted)
{
  guint64 value = get (self);
  guint64 before = self->gone ? value : self->base != NULL ? get (self->base) : 0;
  guint64 after = self->gone ? 0 : value;

  return counted ? hm_dbg_format_count_delta (before, after)
                 : hm_dbg_format_size_delta (before, after);
}

static guint64
get_live_bytes (HmDbgObjectItem *self)
{
  return live_bytes (self);
}

static void
hm_dbg_object_item_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  HmDbgObjectItem *self = HM_DBG_OBJECT_ITEM (object);

  switch (prop_id)
    {
    case PROP_KIND_TEXT:
      g_value_set_string (value, self->region != NULL ? _("Region") : _("Pool"));
      break;

    case PROP_NAME:
      g_value_set_string (value, hm_dbg_object_item_get_name (self));
      break;

    case PROP_CREATED_TEXT:
      g_value_take_string (value, hm_dbg_format_time (hm_dbg_object_item_get_created (self)));
      break;

    case PROP_ALLOCATIONS_TEXT:
      g_value_take_string (value, self->diff
                                    ? dup_change (self, hm_dbg_object_item_get_allocations, TRUE)
                                    : hm_dbg_format_count (hm_dbg_object_item_get_allocations (self)));
      break;

    case PROP_BYTES_TEXT:
      g_value_take_string (value, self->diff
                                    ? dup_change (self, hm_dbg_object_item_get_bytes, FALSE)
                                    : hm_dbg_format_size (hm_dbg_object_item_get_bytes (self), TRUE));
      break;

    case PROP_LIVE_TEXT:
      g_value_take_string (value, self->diff ? dup_change (self, get_live_bytes, FALSE)
                                             : hm_dbg_format_size (live_bytes (self), TRUE));
      break;

    case PROP_PEAK_TEXT:
      g_value_take_string (value, self->diff
                                    ? dup_change (self, hm_dbg_object_item_get_peak_bytes, FALSE)
                                    : hm_dbg_format_size (hm_dbg_object_item_get_peak_bytes (self),
                                                          TRUE));
      break;

    case PROP_DETAILS_TEXT:
      g_value_take_string (value, dup_details_text (self));
      break;

    case PROP_STATUS_TEXT:
      g_value_take_string (value, dup_status_text (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_object_item_finalize (GObject *object)
{
  HmDbgObjectItem *self = HM_DBG_OBJECT_ITEM (object);

  g_clear_object (&self->base);
  g_clear_object (&self->trace);

  G_OBJECT_CLASS (hm_dbg_object_item_parent_class)->finalize (object);
}

static void
hm_dbg_object_item_class_init (HmDbgObjectItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = hm_dbg_object_item_finalize;
  object_class->get_property = hm_dbg_object_item_get_property;

  properties[PROP_KIND_TEXT] = g_param_spec_string ("kind-text", NULL, NULL, NULL, flags);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  properties[PROP_CREATED_TEXT] = g_param_spec_string ("created-text", NULL, NULL, NULL, flags);
  properties[PROP_ALLOCATIONS_TEXT] =
    g_param_spec_string ("allocations-text", NULL, NULL, NULL, flags);
  properties[PROP_BYTES_TEXT] = g_param_spec_string ("bytes-text", NULL, NULL, NULL, flags);
  properties[PROP_LIVE_TEXT] = g_param_spec_string ("live-text", NULL, NULL, NULL, flags);
  properties[PROP_PEAK_TEXT] = g_param_spec_string ("peak-text", NULL, NULL, NULL, flags);
  properties[PROP_DETAILS_TEXT] = g_param_spec_string ("details-text", NULL, NULL, NULL, flags);
  properties[PROP_STATUS_TEXT] = g_param_spec_string ("status-text", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hm_dbg_object_item_init (HmDbgObjectItem *self)
{
}

HmDbgObjectItem *
hm_dbg_object_item_new_region (HmDbgTrace          *trace,
                               const HmRegionStats *region)
{
  HmDbgObjectItem *self;

  g_return_val_if_fail (HM_DBG_IS_TRACE (trace), NULL);
  g_return_val_if_fail (region != NULL, NULL);

  self = g_object_new (HM_DBG_TYPE_OBJECT_ITEM, NULL);
  self->trace = g_object_ref (trace);
  self->kind = HM_OBJECT_REGION;
  self->region = region;
  return self;
}

HmDbgObjectItem *
hm_dbg_object_item_new_pool (HmDbgTrace        *trace,
                             const HmPoolStats *pool)
{
  HmDbgObjectItem *self;

  g_return_val_if_fail (HM_DBG_IS_TRACE (trace), NULL);
  g_return_val_if_fail (pool != NULL, NULL);

  self = g_object_new (HM_DBG_TYPE_OBJECT_ITEM, NULL);
  self->trace = g_object_ref (trace);
  self->kind = HM_OBJECT_POOL;
  self->pool = pool;
  return self;
}

HmObjectKind
hm_dbg_object_item_get_kind (HmDbgObjectItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_OBJECT_ITEM (self), 0);

  return self->kind;
}

const char *
hm_dbg_object_item_get_name (HmDbgObjectItem *self)
{
  const char *name;

  g_return_val_if_fail (HM_DBG_IS_OBJECT_ITEM (self), NULL);

  name = self->region != NULL ? self->region->name : self->pool->name;
  return name != NULL && name[0] != '\0' ? name : _("(unnamed)");
}

guint64
hm_dbg_object_item_get_created (HmDbgObjectItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_OBJECT_ITEM (self), 0);

  return self->region != NULL ? self->region->create_ts : self->pool->create_ts;
}

guint64
hm_dbg_object_item_get_freed (HmDbgObjectItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_OBJECT_ITEM (self), G_MAXUINT64);

  /* The model does not keep when a pool was freed. */
  if (self->region != NULL && self->region->freed)
    return self->region->freed_ts;
  return G_MAXUINT64;
}

guint64
hm_dbg_object_item_get_allocations (HmDbgObjectItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_OBJECT_ITEM (self), 0);

  return self->region != NULL ? self->region->allocations : self->pool->gets;
}

guint64
hm_dbg_object_item_get_bytes (HmDbgObjectItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_OBJECT_ITEM (self), 0);

  if (self->region != NULL)
    return self->region->bytes;
  return self->pool->annotated ? self->pool->bytes : self->pool->gets * self->pool->object_size;
}

guint64
hm_dbg_object_item_get_peak_bytes (HmDbgObjectItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_OBJECT_ITEM (self), 0);

  if (self->region != NULL)
    return self->region->peak_bytes;
  return self->pool->annotated ? self->pool->peak_bytes
                               : self->pool->peak_live_objects * self->pool->object_size;
}

guint64
hm_dbg_object_item_get_create_node (HmDbgObjectItem *self)
{
  HmHeapModel *model;
  guint64 stack;

  g_return_val_if_fail (HM_DBG_IS_OBJECT_ITEM (self), 0);

  model = hm_dbg_trace_get_model (self->trace);
  stack = self->region != NULL ? self->region->create_stack : self->pool->create_stack;
  return model != NULL && stack != 0 ? hm_heap_model_stack_node (model, stack) : 0;
}

void
hm_dbg_object_item_refresh (HmDbgObjectItem *self)
{
  g_return_if_fail (HM_DBG_IS_OBJECT_ITEM (self));

  g_object_freeze_notify (G_OBJECT (self));
  for (guint i = PROP_ALLOCATIONS_TEXT; i < N_PROPS; i++)
    g_object_notify_by_pspec (G_OBJECT (self), properties[i]);
  g_object_thaw_notify (G_OBJECT (self));
}

/**
 * hm_dbg_object_item_set_diff:
 * @base: (nullable): the baseline's object like this one (same kind and
 *   name, in the same order), or %NULL when there is none
 * @gone: this is the baseline's object, and the compared run has none like it
 *
 * Diff mode: the numbers show the change from the baseline.
 */
void
hm_dbg_object_item_set_diff (HmDbgObjectItem *self,
                             HmDbgObjectItem *base,
                             gboolean         gone)
{
  g_return_if_fail (HM_DBG_IS_OBJECT_ITEM (self));
  g_return_if_fail (base == NULL || HM_DBG_IS_OBJECT_ITEM (base));

  self->diff = TRUE;
  self->gone = gone;
  g_set_object (&self->base, base);
}

/* The run the object belongs to: the baseline's for a gone one. */
HmDbgTrace *
hm_dbg_object_item_get_trace (HmDbgObjectItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_OBJECT_ITEM (self), NULL);

  return self->trace;
}
