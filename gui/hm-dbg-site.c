/* hm-dbg-site.c — a row of the sites list.
 *
 * It holds a copy of the model's statistics, not a pointer: the model keeps
 * its sites in an array that moves as a live trace grows.  The *-text
 * properties are what the cells show; the numbers are what the sorters use.
 */
#include <glib/gi18n.h>

#include "hm-dbg-site-private.h"

#include "hm-dbg-format.h"

struct _HmDbgSite
{
  GObject parent_instance;

  HmDbgTrace *trace;
  HmDbgSiteRow stats;
  gboolean has_base;         /* diff mode: the text columns show stats - base */
  HmDbgSiteRow base;         /* the same site in the baseline run; zero if absent */
};

G_DEFINE_FINAL_TYPE (HmDbgSite, hm_dbg_site, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_FUNCTION,
  PROP_LOCATION,
  PROP_STACK,
  PROP_ALLOCATIONS,
  PROP_BYTES,
  PROP_PEAK_LIVE_BYTES,
  PROP_LEAKED_BYTES,
  PROP_AVERAGE_LIFETIME,
  PROP_ALLOCATIONS_TEXT,
  PROP_BYTES_TEXT,
  PROP_PEAK_LIVE_TEXT,
  PROP_LEAKED_TEXT,
  PROP_AVERAGE_LIFETIME_TEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
hm_dbg_site_finalize (GObject *object)
{
  HmDbgSite *self = HM_DBG_SITE (object);

  g_clear_object (&self->trace);

  G_OBJECT_CLASS (hm_dbg_site_parent_class)->finalize (object);
}

static char *
dup_average_lifetime_text (HmDbgSite *self)
{
  if (self->stats.frees == 0)
    return g_strdup ("–");
  return hm_dbg_format_time (hm_dbg_site_get_average_lifetime (self));
}

static char *
dup_leaked_text (HmDbgSite *self)
{
  if (self->has_base)
    return hm_dbg_format_size_delta (self->base.live_bytes, self->stats.live_bytes);

  g_autofree char *size = NULL;
  g_autofree char *blocks = NULL;

  if (self->stats.live_blocks == 0)
    return g_strdup ("–");
  size = hm_dbg_format_size (self->stats.live_bytes, FALSE);
  blocks = hm_dbg_format_count (self->stats.live_blocks);
  /* Translators: leaked bytes and the number of blocks, "3.6 KiB in 230" */
  return g_strdup_printf (C_("leaked", "%s in %s"), size, blocks);
}

static void
hm_dbg_site_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  HmDbgSite *self = HM_DBG_SITE (object);

  switch (prop_id)
    {
    case PROP_FUNCTION:
      g_value_set_string (value, hm_dbg_site_get_function (self));
      break;

    case PROP_LOCATION:
      g_value_set_string (value, hm_dbg_site_get_location (self));
      break;

    case PROP_STACK:
      g_value_set_uint64 (value, self->stats.stack);
      break;

    case PROP_ALLOCATIONS:
      g_value_set_uint64 (value, self->stats.allocations);
      break;

    case PROP_BYTES:
      g_value_set_uint64 (value, self->stats.bytes);
      break;

    case PROP_PEAK_LIVE_BYTES:
      g_value_set_uint64 (value, self->stats.peak_live_bytes);
      break;

    case PROP_LEAKED_BYTES:
      g_value_set_uint64 (value, self->stats.live_bytes);
      break;

    case PROP_AVERAGE_LIFETIME:
      g_value_set_uint64 (value, hm_dbg_site_get_average_lifetime (self));
      break;

    case PROP_ALLOCATIONS_TEXT:
      g_value_take_string (value, self->has_base
                                    ? hm_dbg_format_count_delta (self->base.allocations,
                                                                 self->stats.allocations)
                                    : hm_dbg_format_count (self->stats.allocations));
      break;

    case PROP_BYTES_TEXT:
      g_value_take_string (value, self->has_base
                                    ? hm_dbg_format_size_delta (self->base.bytes, self->stats.bytes)
                                    : hm_dbg_format_size (self->stats.bytes, TRUE));
      break;

    case PROP_PEAK_LIVE_TEXT:
      g_value_take_string (value, self->has_base
                                    ? hm_dbg_format_size_delta (self->base.peak_live_bytes,
                                                                self->stats.peak_live_bytes)
                                    : hm_dbg_format_size (self->stats.peak_live_bytes, TRUE));
      break;

    case PROP_LEAKED_TEXT:
      g_value_take_string (value, dup_leaked_text (self));
      break;

    case PROP_AVERAGE_LIFETIME_TEXT:
      g_value_take_string (value, dup_average_lifetime_text (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_site_class_init (HmDbgSiteClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = hm_dbg_site_finalize;
  object_class->get_property = hm_dbg_site_get_property;

  properties[PROP_FUNCTION] = g_param_spec_string ("function", NULL, NULL, NULL, flags);
  properties[PROP_LOCATION] = g_param_spec_string ("location", NULL, NULL, NULL, flags);
  properties[PROP_STACK] = g_param_spec_uint64 ("stack", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_ALLOCATIONS] =
    g_param_spec_uint64 ("allocations", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_BYTES] = g_param_spec_uint64 ("bytes", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_PEAK_LIVE_BYTES] =
    g_param_spec_uint64 ("peak-live-bytes", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_LEAKED_BYTES] =
    g_param_spec_uint64 ("leaked-bytes", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_AVERAGE_LIFETIME] =
    g_param_spec_uint64 ("average-lifetime", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_ALLOCATIONS_TEXT] =
    g_param_spec_string ("allocations-text", NULL, NULL, NULL, flags);
  properties[PROP_BYTES_TEXT] = g_param_spec_string ("bytes-text", NULL, NULL, NULL, flags);
  properties[PROP_PEAK_LIVE_TEXT] = g_param_spec_string ("peak-live-text", NULL, NULL, NULL, flags);
  properties[PROP_LEAKED_TEXT] = g_param_spec_string ("leaked-text", NULL, NULL, NULL, flags);
  properties[PROP_AVERAGE_LIFETIME_TEXT] =
    g_param_spec_string ("average-lifetime-text", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hm_dbg_site_init (HmDbgSite *self)
{
}

HmDbgSite *
_hm_dbg_site_new (HmDbgTrace        *trace,
                  const HmDbgSiteRow *stats)
{
  HmDbgSite *self;

  g_return_val_if_fail (HM_DBG_IS_TRACE (trace), NULL);
  g_return_val_if_fail (stats != NULL, NULL);

  self = g_object_new (HM_DBG_TYPE_SITE, NULL);
  self->trace = g_object_ref (trace);
  self->stats = *stats;
  return self;
}

HmDbgSite *
_hm_dbg_site_new_diff (HmDbgTrace        *trace,
                       const HmDbgSiteRow *stats,
                       const HmDbgSiteRow *base)
{
  HmDbgSite *self = _hm_dbg_site_new (trace, stats);

  g_return_val_if_fail (base != NULL, self);

  self->has_base = TRUE;
  self->base = *base;
  return self;
}

void
_hm_dbg_site_update (HmDbgSite         *self,
                     const HmDbgSiteRow *stats)
{
  HmDbgSiteRow old;

  g_return_if_fail (HM_DBG_IS_SITE (self));
  g_return_if_fail (stats->stack == self->stats.stack);

  old = self->stats;
  self->stats = *stats;

  g_object_freeze_notify (G_OBJECT (self));
  if (old.allocations != stats->allocations)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALLOCATIONS]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALLOCATIONS_TEXT]);
    }
  if (old.bytes != stats->bytes)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_TEXT]);
    }
  if (old.peak_live_bytes != stats->peak_live_bytes)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEAK_LIVE_BYTES]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEAK_LIVE_TEXT]);
    }
  if (old.live_bytes != stats->live_bytes || old.live_blocks != stats->live_blocks)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LEAKED_BYTES]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LEAKED_TEXT]);
    }
  if (old.frees != stats->frees || old.lifetime_ns_sum != stats->lifetime_ns_sum)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AVERAGE_LIFETIME]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AVERAGE_LIFETIME_TEXT]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

HmDbgTrace *
hm_dbg_site_get_trace (HmDbgSite *self)
{
  g_return_val_if_fail (HM_DBG_IS_SITE (self), NULL);

  return self->trace;
}

guint64
hm_dbg_site_get_stack (HmDbgSite *self)
{
  g_return_val_if_fail (HM_DBG_IS_SITE (self), 0);

  return self->stats.stack;
}

const char *
hm_dbg_site_get_function (HmDbgSite *self)
{
  const char *function = NULL;

  g_return_val_if_fail (HM_DBG_IS_SITE (self), NULL);

  hm_dbg_trace_describe_node (self->trace, self->stats.stack, &function, NULL);
  return function;
}

const char *
hm_dbg_site_get_location (HmDbgSite *self)
{
  const char *location = NULL;

  g_return_val_if_fail (HM_DBG_IS_SITE (self), NULL);

  hm_dbg_trace_describe_node (self->trace, self->stats.stack, NULL, &location);
  return location;
}

guint64
hm_dbg_site_get_allocations (HmDbgSite *self)
{
  g_return_val_if_fail (HM_DBG_IS_SITE (self), 0);

  return self->stats.allocations;
}

guint64
hm_dbg_site_get_bytes (HmDbgSite *self)
{
  g_return_val_if_fail (HM_DBG_IS_SITE (self), 0);

  return self->stats.bytes;
}

guint64
hm_dbg_site_get_peak_live_bytes (HmDbgSite *self)
{
  g_return_val_if_fail (HM_DBG_IS_SITE (self), 0);

  return self->stats.peak_live_bytes;
}

guint64
hm_dbg_site_get_leaked_bytes (HmDbgSite *self)
{
  g_return_val_if_fail (HM_DBG_IS_SITE (self), 0);

  return self->stats.live_bytes;
}

guint64
hm_dbg_site_get_leaked_blocks (HmDbgSite *self)
{
  g_return_val_if_fail (HM_DBG_IS_SITE (self), 0);

  return self->stats.live_blocks;
}

guint64
hm_dbg_site_get_average_lifetime (HmDbgSite *self)
{
  g_return_val_if_fail (HM_DBG_IS_SITE (self), 0);

  return self->stats.frees > 0 ? self->stats.lifetime_ns_sum / self->stats.frees : 0;
}

/**
 * hm_dbg_site_get_base:
 *
 * Diff mode: the same site's numbers in the baseline run (zeros when the
 * site is new), or %NULL outside diff mode.
 */
const HmDbgSiteRow *
hm_dbg_site_get_base (HmDbgSite *self)
{
  g_return_val_if_fail (HM_DBG_IS_SITE (self), NULL);

  return self->has_base ? &self->base : NULL;
}

/* What the row counts (the compared run's in diff mode; in a range, the
 * range's). */
const HmDbgSiteRow *
hm_dbg_site_get_row (HmDbgSite *self)
{
  g_return_val_if_fail (HM_DBG_IS_SITE (self), NULL);

  return &self->stats;
}

const HmSiteStats *
hm_dbg_site_get_model_stats (HmDbgSite *self)
{
  HmHeapModel *model;

  g_return_val_if_fail (HM_DBG_IS_SITE (self), NULL);

  model = hm_dbg_trace_get_model (self->trace);
  return model != NULL ? hm_heap_model_get_site (model, self->stats.stack) : NULL;
}

void
hm_dbg_site_row_set (HmDbgSiteRow      *row,
                     const HmSiteStats *stats)
{
  row->stack = stats->stack;
  row->allocations = stats->allocations;
  row->frees = stats->frees;
  row->bytes = stats->bytes;
  row->live_bytes = stats->live_bytes;
  row->live_blocks = stats->live_blocks;
  row->peak_live_bytes = stats->peak_live_bytes;
  row->lifetime_ns_sum = stats->lifetime_ns_sum;
  row->temporary = stats->temporary;
}
