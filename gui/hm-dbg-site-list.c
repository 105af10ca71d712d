/* hm-dbg-site-list.c — a GListModel over the model's allocation sites.
 *
 * Rows are HmDbgSite objects made when a view asks for them, never before.
 * The list keeps its own copy of the statistics in list order (the model's
 * array moves while a live trace grows); a live trace refreshes it at most
 * once a second, since a change of values means re-sorting every row.
 */
#include <string.h>

#include "hm-dbg-site-list.h"

#include "hm-dbg-site-private.h"
#include "hm-diff.h"

#define LIVE_REFRESH_INTERVAL_US G_USEC_PER_SEC

struct _HmDbgSiteList
{
  GObject parent_instance;

  HmDbgTrace *trace;
  gulong changed_handler;
  GArray *stats;             /* HmDbgSiteRow, in list order */
  GHashTable *positions;     /* guint64 stack -> position + 1 */
  GPtrArray *items;          /* HmDbgSite or NULL until asked for */
  /* diff mode (the trace has a baseline): one row per site matched across
   * the runs by its frames, whose stack is the trace's or, for a site only
   * the baseline has, the baseline's; NULL otherwise */
  GArray *bases;             /* HmDbgSiteRow, the baseline's, in list order */
  GPtrArray *row_traces;     /* HmDbgTrace *, the run each row's stack belongs to */
  gint64 last_refresh_us;
  guint refresh_source;
  gboolean has_range;        /* rows count only what happened in the range */
  guint64 range_start;
  guint64 range_end;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (HmDbgSiteList, hm_dbg_site_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum {
  PROP_0,
  PROP_TRACE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GType
hm_dbg_site_list_get_item_type (GListModel *model)
{
  return HM_DBG_TYPE_SITE;
}

static guint
hm_dbg_site_list_get_n_items (GListModel *model)
{
  HmDbgSiteList *self = HM_DBG_SITE_LIST (model);

  return self->stats->len;
}

static gpointer
hm_dbg_site_list_get_item (GListModel *model,
                           guint       position)
{
  HmDbgSiteList *self = HM_DBG_SITE_LIST (model);

  if (position >= self->stats->len)
    return NULL;

  if (g_ptr_array_index (self->items, position) == NULL && self->bases != NULL)
    g_ptr_array_index (self->items, position) =
      _hm_dbg_site_new_diff (g_ptr_array_index (self->row_traces, position),
                             &g_array_index (self->stats, HmDbgSiteRow, position),
                             &g_array_index (self->bases, HmDbgSiteRow, position));
  else if (g_ptr_array_index (self->items, position) == NULL)
    g_ptr_array_index (self->items, position) =
      _hm_dbg_site_new (self->trace, &g_array_index (self->stats, HmDbgSiteRow, position));
  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = hm_dbg_site_list_get_item_type;
  iface->get_n_items = hm_dbg_site_list_get_n_items;
  iface->get_item = hm_dbg_site_list_get_item;
}

/* The model's sites as rows; with a range, what each did in the range and
 * what of it was live at its end. */
static GArray *
get_sites (HmDbgSiteList *self,
           HmHeapModel   *model)
{
  g_autoptr(GPtrArray) sites = hm_heap_model_get_sites (model);
  GArray *result = g_array_sized_new (FALSE, FALSE, sizeof (HmDbgSiteRow), sites->len);
  g_autoptr(HmBreakdown) breakdown = self->has_range
    ? hm_heap_model_get_breakdown (model, self->range_start, self->range_end) : NULL;
  g_autoptr(GHashTable) in_range = g_hash_table_new (g_int64_hash, g_int64_equal);

  for (guint i = 0; breakdown != NULL && i < breakdown->entries->len; i++)
    {
      HmBreakdownEntry *e = &g_array_index (breakdown->entries, HmBreakdownEntry, i);
      if (e->kind == HM_BREAKDOWN_SITE)
        g_hash_table_insert (in_range, &e->id, e);
    }
  g_array_set_size (result, sites->len);
  for (guint i = 0; i < sites->len; i++)
    {
      HmDbgSiteRow *row = &g_array_index (result, HmDbgSiteRow, i);
      hm_dbg_site_row_set (row, g_ptr_array_index (sites, i));
      if (breakdown != NULL)
        {
          const HmBreakdownEntry *e = g_hash_table_lookup (in_range, &row->stack);
          row->allocations = e ? e->allocations : 0;
          row->bytes = e ? e->bytes : 0;
          row->live_bytes = e ? e->live_bytes : 0;
          row->live_blocks = e ? e->live_count : 0;
        }
    }
  return result;
}

static void
row_add (HmDbgSiteRow       *sum,
         const HmDbgSiteRow *row)
{
  sum->allocations += row->allocations;
  sum->frees += row->frees;
  sum->bytes += row->bytes;
  sum->live_bytes += row->live_bytes;
  sum->live_blocks += row->live_blocks;
  sum->peak_live_bytes += row->peak_live_bytes;
  sum->lifetime_ns_sum += row->lifetime_ns_sum;
  sum->temporary += row->temporary;
}

/* Diff mode: every row anew, matched by hm_diff_stack_key(). */
static void
refresh_diff (HmDbgSiteList *self,
              HmDbgTrace    *baseline)
{
  HmDbgTrace *runs[2] = { self->trace, baseline };
  g_autoptr(GHashTable) by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint old_n = self->stats->len;
  const HmDbgSiteRow zero = { 0 };

  g_array_set_size (self->stats, 0);
  g_ptr_array_set_size (self->items, 0);
  g_hash_table_remove_all (self->positions);
  if (self->bases == NULL)
    {
      self->bases = g_array_new (FALSE, FALSE, sizeof (HmDbgSiteRow));
      self->row_traces = g_ptr_array_new ();
    }
  g_array_set_size (self->bases, 0);
  g_ptr_array_set_size (self->row_traces, 0);

  for (guint run = 0; run < G_N_ELEMENTS (runs); run++)
    {
      HmHeapModel *model = hm_dbg_trace_get_model (runs[run]);
      HmSymbolizer *symbolizer = hm_dbg_trace_get_symbolizer (runs[run]);
      const char *exe = hm_heap_model_get_info (model, "exe");
      g_autoptr(GArray) sites = get_sites (self, model);

      for (guint i = 0; i < sites->len; i++)
        {
          const HmDbgSiteRow *site = &g_array_index (sites, HmDbgSiteRow, i);
          g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, site->stack);
          g_autofree char *key = hm_diff_stack_key (frames, exe);
          gpointer found = NULL;
          guint position;

          if (g_hash_table_lookup_extended (by_key, key, NULL, &found))
            position = GPOINTER_TO_UINT (found);
          else
            {
              HmDbgSiteRow first = zero;
              first.stack = site->stack;
              position = self->stats->len;
              g_array_append_val (self->stats, first);
              g_array_append_val (self->bases, zero);
              g_ptr_array_add (self->row_traces, runs[run]);
              g_hash_table_insert (by_key, g_steal_pointer (&key), GUINT_TO_POINTER (position));
            }
          row_add (run == 0 ? &g_array_index (self->stats, HmDbgSiteRow, position)
                            : &g_array_index (self->bases, HmDbgSiteRow, position),
                   site);
        }
    }
  g_ptr_array_set_size (self->items, self->stats->len);
  g_list_model_items_changed (G_LIST_MODEL (self), 0, old_n, self->stats->len);
}

static void
refresh (HmDbgSiteList *self)
{
  HmHeapModel *model = hm_dbg_trace_get_model (self->trace);
  HmDbgTrace *baseline = hm_dbg_trace_get_baseline (self->trace);
  g_autoptr(GArray) sites = NULL;
  gboolean values_changed = FALSE;
  guint old_n = self->stats->len;

  g_clear_handle_id (&self->refresh_source, g_source_remove);
  self->last_refresh_us = g_get_monotonic_time ();
  if (model == NULL)
    return;
  if (baseline != NULL && hm_dbg_trace_get_model (baseline) != NULL)
    {
      refresh_diff (self, baseline);
      return;
    }

  if (self->bases != NULL)
    {
      /* out of diff mode: every row anew */
      g_clear_pointer (&self->bases, g_array_unref);
      g_clear_pointer (&self->row_traces, g_ptr_array_unref);
      g_array_set_size (self->stats, 0);
      g_ptr_array_set_size (self->items, 0);
      g_hash_table_remove_all (self->positions);
      values_changed = TRUE;
    }
  sites = get_sites (self, model);
  for (guint i = 0; i < sites->len; i++)
    {
      const HmDbgSiteRow *site = &g_array_index (sites, HmDbgSiteRow, i);
      guint position = GPOINTER_TO_UINT (g_hash_table_lookup (self->positions, &site->stack));

      if (position == 0)
        {
          g_array_append_val (self->stats, *site);
          g_hash_table_insert (self->positions, g_memdup2 (&site->stack, sizeof site->stack),
                               GUINT_TO_POINTER (self->stats->len));
          continue;
        }

      position--;
      if (memcmp (&g_array_index (self->stats, HmDbgSiteRow, position), site, sizeof *site) != 0)
        {
          HmDbgSite *item = g_ptr_array_index (self->items, position);

          g_array_index (self->stats, HmDbgSiteRow, position) = *site;
          if (item != NULL)
            _hm_dbg_site_update (item, site);
          values_changed = TRUE;
        }
    }
  g_ptr_array_set_size (self->items, self->stats->len);

  /* Changed values move rows in a sorted view: let it see them all again. */
  if (values_changed)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, old_n, self->stats->len);
  else if (self->stats->len > old_n)
    g_list_model_items_changed (G_LIST_MODEL (self), old_n, 0, self->stats->len - old_n);
}

static gboolean
refresh_cb (gpointer data)
{
  HmDbgSiteList *self = data;

  self->refresh_source = 0;
  refresh (self);
  return G_SOURCE_REMOVE;
}

static void
trace_changed_cb (HmDbgSiteList *self,
                  HmDbgTrace    *trace)
{
  gint64 since = g_get_monotonic_time () - self->last_refresh_us;

  if (hm_dbg_trace_is_finished (trace) || since >= LIVE_REFRESH_INTERVAL_US)
    refresh (self);
  else if (self->refresh_source == 0)
    self->refresh_source = g_timeout_add ((guint) ((LIVE_REFRESH_INTERVAL_US - since) / 1000) + 1,
                                          refresh_cb, self);
}

static void
hm_dbg_site_list_constructed (GObject *object)
{
  HmDbgSiteList *self = HM_DBG_SITE_LIST (object);

  G_OBJECT_CLASS (hm_dbg_site_list_parent_class)->constructed (object);

  g_assert (HM_DBG_IS_TRACE (self->trace));

  self->changed_handler = g_signal_connect_object (self->trace, "changed",
                                                   G_CALLBACK (trace_changed_cb), self,
                                                   G_CONNECT_SWAPPED);
  refresh (self);
}

static void
hm_dbg_site_list_finalize (GObject *object)
{
  HmDbgSiteList *self = HM_DBG_SITE_LIST (object);

  g_clear_handle_id (&self->refresh_source, g_source_remove);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->positions, g_hash_table_unref);
  g_clear_pointer (&self->stats, g_array_unref);
  g_clear_pointer (&self->bases, g_array_unref);
  g_clear_pointer (&self->row_traces, g_ptr_array_unref);
  g_clear_object (&self->trace);

  G_OBJECT_CLASS (hm_dbg_site_list_parent_class)->finalize (object);
}

static void
hm_dbg_site_list_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  HmDbgSiteList *self = HM_DBG_SITE_LIST (object);

  switch (prop_id)
    {
    case PROP_TRACE:
      g_value_set_object (value, self->trace);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_site_list_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  HmDbgSiteList *self = HM_DBG_SITE_LIST (object);

  switch (prop_id)
    {
    case PROP_TRACE:
      self->trace = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_site_list_class_init (HmDbgSiteListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = hm_dbg_site_list_constructed;
  object_class->finalize = hm_dbg_site_list_finalize;
  object_class->get_property = hm_dbg_site_list_get_property;
  object_class->set_property = hm_dbg_site_list_set_property;

  properties[PROP_TRACE] =
    g_param_spec_object ("trace", NULL, NULL, HM_DBG_TYPE_TRACE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

/* Rows not asked for yet are NULL. */
static void
item_free (gpointer item)
{
  if (item != NULL)
    g_object_unref (item);
}

static void
hm_dbg_site_list_init (HmDbgSiteList *self)
{
  self->stats = g_array_new (FALSE, FALSE, sizeof (HmDbgSiteRow));
  self->positions = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->items = g_ptr_array_new_with_free_func (item_free);
}

HmDbgSiteList *
hm_dbg_site_list_new (HmDbgTrace *trace)
{
  g_return_val_if_fail (HM_DBG_IS_TRACE (trace), NULL);

  return g_object_new (HM_DBG_TYPE_SITE_LIST, "trace", trace, NULL);
}

HmDbgTrace *
hm_dbg_site_list_get_trace (HmDbgSiteList *self)
{
  g_return_val_if_fail (HM_DBG_IS_SITE_LIST (self), NULL);

  return self->trace;
}

void
hm_dbg_site_list_set_range (HmDbgSiteList *self,
                            gboolean       has_range,
                            guint64        start_ns,
                            guint64        end_ns)
{
  g_return_if_fail (HM_DBG_IS_SITE_LIST (self));

  if (self->has_range == has_range && (!has_range || (self->range_start == start_ns
                                                      && self->range_end == end_ns)))
    return;
  self->has_range = has_range;
  self->range_start = start_ns;
  self->range_end = end_ns;
  refresh (self);
}
