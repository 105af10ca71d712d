/* hm-heap-model.c — replays events into the live set, sites and totals.
 *
 * The live set is an open-addressing table keyed by address (millions of
 * live blocks must not cost a GLib allocation each); sites are a dense array
 * indexed by stack node id, which the writer hands out from 1 upwards.
 */
#include "hm-heap-model.h"

#include <string.h>

typedef struct {
  guint64 addr;            /* 0: empty slot */
  guint64 size;
  guint64 ts;
  guint32 stack;           /* leaf node */
  guint32 strategy;        /* HmStrategyKind */
} LiveBlock;

typedef struct {
  LiveBlock *slots;
  gsize mask;              /* capacity - 1 */
  gsize n;
} LiveTable;

struct _HmHeapModel {
  HmTraceHeader header;
  gboolean have_header;
  HmHeapTotals totals;
  gboolean truncated;
  guint64 truncated_offset;
  gboolean has_end;
  HmEndReason end_reason;
  gint64 end_status;

  LiveTable live;
  /* Blocks whose address was allocated again before their free arrived
   * (threads' events can come out of order across rounds); their free is
   * matched by time.  Rare, so a plain list. */
  GArray *displaced;       /* LiveBlock */
  GArray *stacks;          /* stack id -> leaf node (guint64); [0] = 0 */
  GArray *nodes;           /* HmStackNode, index = node id; [0] is the root */
  GArray *sites;           /* HmSiteStats, index = node id, grown lazily */
  GPtrArray *modules;      /* HmModule * */
  GHashTable *info;        /* char * -> char * */
  GHashTable *threads;     /* tid set */
  HmStrategyStats strategies[HM_STRATEGY_KIND_N];
  GPtrArray *regions;      /* HmRegionStats * */
  GHashTable *regions_by_id;
  GPtrArray *pools;        /* HmPoolStats * */
  GHashTable *pools_by_id;
  GHashTable *pool_objects; /* address -> pool id of objects out of a pool */
  HmGcTotals gc;
  GArray *warnings;        /* HmWarning */
  GArray *locations;       /* HmWarningLocation */
  GArray *unmatched_locations; /* indexes of locations whose warning has not come yet */
  HmTimelineBucket *timeline;   /* HM_TIMELINE_MAX_BUCKETS */
  guint n_buckets;
  guint64 bucket_ns;
  GArray *markers;         /* HmMarker */
  guint64 n_bad_events;    /* events that referred to things never defined */
};

/* --- live table ------------------------------------------------------------ */

static inline gsize
hash_addr (guint64 addr)
{
  addr ^= addr >> 33;
  addr *= 0xff51afd7ed558ccdull;
  addr ^= addr >> 33;
  return (gsize) addr;
}

static void
live_init (LiveTable *t)
{
  t->mask = 1023;
  t->slots = g_new0 (LiveBlock, t->mask + 1);
  t->n = 0;
}

static void live_put (LiveTable *t, const LiveBlock *b);

static void
live_grow (LiveTable *t)
{
  LiveBlock *old = t->slots;
  gsize old_cap = t->mask + 1;

  t->mask = old_cap * 2 - 1;
  t->slots = g_new0 (LiveBlock, t->mask + 1);
  t->n = 0;
  for (gsize i = 0; i < old_cap; i++)
    if (old[i].addr != 0)
      live_put (t, &old[i]);
  g_free (old);
}

static LiveBlock *
live_find (LiveTable *t, guint64 addr)
{
  for (gsize i = hash_addr (addr) & t->mask;; i = (i + 1) & t->mask)
    {
      if (t->slots[i].addr == addr)
        return &t->slots[i];
      if (t->slots[i].addr == 0)
        return NULL;
    }
}

/* Inserts or replaces. */
static void
live_put (LiveTable *t, const LiveBlock *b)
{
  if ((t->n + 1) * 4 > (t->mask + 1) * 3)
    live_grow (t);
  for (gsize i = hash_addr (b->addr) & t->mask;; i = (i + 1) & t->mask)
    {
      if (t->slots[i].addr == 0)
        {
          t->slots[i] = *b;
          t->n++;
          return;
        }
      if (t->slots[i].addr == b->addr)
        {
          t->slots[i] = *b;
          return;
        }
    }
}

/* Removes the block by backward-shift deletion (no tombstones). */
static void
live_remove (LiveTable *t, LiveBlock *slot)
{
  gsize i = (gsize) (slot - t->slots);
  gsize j = i;

  for (;;)
    {
      j = (j + 1) & t->mask;
      if (t->slots[j].addr == 0)
        break;
      gsize home = hash_addr (t->slots[j].addr) & t->mask;
      /* Move j back to i when its home is not cyclically in (i, j]. */
      if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j))
        {
          t->slots[i] = t->slots[j];
          i = j;
        }
    }
  t->slots[i].addr = 0;
  t->n--;
}

/* --- model ------------------------------------------------------------------- */

static void
module_free (gpointer data)
{
  HmModule *m = data;
  g_free (m->path);
  g_clear_pointer (&m->build_id, g_bytes_unref);
  g_free (m);
}

static void
region_free (gpointer data)
{
  HmRegionStats *r = data;
  g_free (r->name);
  g_free (r);
}

static void
pool_free (gpointer data)
{
  HmPoolStats *p = data;
  g_free (p->name);
  g_free (p);
}

const char *
hm_strategy_kind_name (HmStrategyKind kind)
{
  static const char *const names[] = { "malloc", "manual", "gc", "regions", "pools" };
  return kind < HM_STRATEGY_KIND_N ? names[kind] : "unknown";
}

const char *
hm_warning_kind_name (HmWarningKind kind)
{
  static const char *const names[] = {
    [HM_WARNING_LEAK] = "leak",
    [HM_WARNING_DANGLING_POINTER] = "dangling-pointer",
    [HM_WARNING_DOUBLE_FREE] = "double-free",
    [HM_WARNING_INVALID_FREE] = "invalid-free",
    [HM_WARNING_MISMATCHED_FREE] = "mismatched-free",
    [HM_WARNING_REGION_USE_AFTER_FREE] = "region-use-after-free",
    [HM_WARNING_POOL_WRONG_POOL] = "pool-wrong-pool",
    [HM_WARNING_POOL_DOUBLE_RETURN] = "pool-double-return",
    [HM_WARNING_POOL_USE_AFTER_FREE] = "pool-use-after-free",
  };
  return kind > 0 && kind < HM_WARNING_N ? names[kind] : "unknown";
}

static HmStrategyKind
strategy_of_fn (HmAllocFn fn)
{
  switch (fn)
    {
    case HM_FN_HM_ALLOC:
    case HM_FN_HM_FREE:
      return HM_STRATEGY_KIND_MANUAL;
    case HM_FN_GC_ALLOC:
    case HM_FN_GC_SWEEP:
      return HM_STRATEGY_KIND_GC;
    default:
      return HM_STRATEGY_KIND_MALLOC;
    }
}

static void
strategy_add (HmHeapModel *model, HmStrategyKind kind, guint64 bytes, gboolean count)
{
  HmStrategyStats *s = &model->strategies[kind];
  if (count)
    s->allocations++;
  s->bytes += bytes;
  s->live_bytes += bytes;
  if (s->live_bytes > s->peak_bytes)
    s->peak_bytes = s->live_bytes;
}

static void
strategy_sub (HmHeapModel *model, HmStrategyKind kind, guint64 bytes)
{
  HmStrategyStats *s = &model->strategies[kind];
  s->live_bytes = s->live_bytes >= bytes ? s->live_bytes - bytes : 0;
}

HmHeapModel *
hm_heap_model_new (void)
{
  HmHeapModel *model = g_new0 (HmHeapModel, 1);
  HmStackNode root = { 0, 0 };

  live_init (&model->live);
  model->displaced = g_array_new (FALSE, FALSE, sizeof (LiveBlock));
  model->stacks = g_array_new (FALSE, TRUE, sizeof (guint64));
  g_array_set_size (model->stacks, 1);
  model->nodes = g_array_new (FALSE, FALSE, sizeof (HmStackNode));
  g_array_append_val (model->nodes, root);
  model->sites = g_array_new (FALSE, TRUE, sizeof (HmSiteStats));
  model->modules = g_ptr_array_new_with_free_func (module_free);
  model->info = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  model->threads = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  model->regions = g_ptr_array_new_with_free_func (region_free);
  model->regions_by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  model->pools = g_ptr_array_new_with_free_func (pool_free);
  model->pools_by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  model->pool_objects = g_hash_table_new (g_direct_hash, g_direct_equal);
  model->warnings = g_array_new (FALSE, FALSE, sizeof (HmWarning));
  model->locations = g_array_new (FALSE, FALSE, sizeof (HmWarningLocation));
  model->unmatched_locations = g_array_new (FALSE, FALSE, sizeof (guint));
  model->timeline = g_new0 (HmTimelineBucket, HM_TIMELINE_MAX_BUCKETS);
  model->bucket_ns = 1000;      /* 1 µs to start with: a short run gets fine bars too */
  model->markers = g_array_new (FALSE, FALSE, sizeof (HmMarker));
  return model;
}

void
hm_heap_model_free (HmHeapModel *model)
{
  if (model == NULL)
    return;
  g_free (model->live.slots);
  g_array_unref (model->displaced);
  g_array_unref (model->stacks);
  g_array_unref (model->nodes);
  g_array_unref (model->sites);
  g_ptr_array_unref (model->modules);
  g_hash_table_unref (model->info);
  g_hash_table_destroy (model->threads);
  g_hash_table_destroy (model->regions_by_id);
  g_ptr_array_unref (model->regions);
  g_hash_table_destroy (model->pools_by_id);
  g_ptr_array_unref (model->pools);
  g_hash_table_destroy (model->pool_objects);
  g_array_unref (model->warnings);
  for (guint i = 0; i < model->locations->len; i++)
    g_free (g_array_index (model->locations, HmWarningLocation, i).text);
  g_array_unref (model->locations);
  g_array_unref (model->unmatched_locations);
  g_free (model->timeline);
  g_array_unref (model->markers);
  g_free (model);
}

static HmSiteStats *
site_for (HmHeapModel *model, guint64 stack)
{
  if (stack >= model->nodes->len)
    {
      model->n_bad_events++;
      stack = 0;
    }
  if (stack >= model->sites->len)
    g_array_set_size (model->sites, MAX (stack + 1, model->nodes->len));
  HmSiteStats *site = &g_array_index (model->sites, HmSiteStats, stack);
  site->stack = stack;
  return site;
}

static void
note_thread (HmHeapModel *model, guint64 tid)
{
  if (tid != 0 && !g_hash_table_contains (model->threads, &tid))
    {
      guint64 *key = g_new (guint64, 1);
      *key = tid;
      g_hash_table_add (model->threads, key);
      model->totals.n_threads = g_hash_table_size (model->threads);
    }
}

static guint64
node_of_stack (HmHeapModel *model, guint64 stack)
{
  if (stack < model->stacks->len)
    return g_array_index (model->stacks, guint64, stack);
  model->n_bad_events++;
  return 0;
}

static void
live_account_remove (HmHeapModel *model, const LiveBlock *block, guint64 ts, gboolean freed)
{
  HmHeapTotals *t = &model->totals;
  HmSiteStats *site = site_for (model, block->stack);

  site->live_bytes -= block->size;
  site->live_blocks--;
  if (freed)
    {
      site->frees++;
      site->lifetime_ns_sum += ts >= block->ts ? ts - block->ts : 0;
    }
  t->live_bytes -= block->size;
  t->live_blocks--;
  strategy_sub (model, block->strategy, block->size);
}

static void
record_alloc (HmHeapModel *model, guint64 addr, guint64 size, guint64 stack, guint64 ts,
              HmStrategyKind strategy)
{
  HmHeapTotals *t = &model->totals;
  HmSiteStats *site = site_for (model, node_of_stack (model, stack));
  LiveBlock block = { addr, size, ts, (guint32) site->stack, strategy };
  LiveBlock *old;

  old = live_find (&model->live, addr);
  if (old != NULL)
    {
      /* The address is live: its free has not arrived yet.  Whichever of the
       * two blocks is older waits aside for its free. */
      if (old->ts <= ts)
        {
          g_array_append_val (model->displaced, *old);
          live_put (&model->live, &block);
        }
      else
        g_array_append_val (model->displaced, block);
    }
  else
    live_put (&model->live, &block);

  t->allocations++;
  t->bytes_allocated += size;
  t->live_bytes += size;
  t->live_blocks++;
  if (t->live_bytes > t->peak_bytes)
    {
      t->peak_bytes = t->live_bytes;
      t->peak_ts = ts;
    }
  site->allocations++;
  site->bytes += size;
  site->live_bytes += size;
  site->live_blocks++;
  if (site->live_bytes > site->peak_live_bytes)
    site->peak_live_bytes = site->live_bytes;
  strategy_add (model, strategy, size, TRUE);
}

/* Returns FALSE when the address was not live. */
static gboolean
record_free (HmHeapModel *model, guint64 addr, guint64 ts)
{
  LiveBlock *block = live_find (&model->live, addr);

  /* A free older than the live block belongs to a displaced one. */
  if (block == NULL || block->ts > ts)
    {
      guint best = G_MAXUINT;
      for (guint i = 0; i < model->displaced->len; i++)
        {
          LiveBlock *d = &g_array_index (model->displaced, LiveBlock, i);
          if (d->addr == addr && d->ts <= ts
              && (best == G_MAXUINT || d->ts > g_array_index (model->displaced, LiveBlock, best).ts))
            best = i;
        }
      if (best != G_MAXUINT)
        {
          LiveBlock d = g_array_index (model->displaced, LiveBlock, best);
          g_array_remove_index_fast (model->displaced, best);
          live_account_remove (model, &d, ts, TRUE);
          return TRUE;
        }
      if (block == NULL)
        {
          model->totals.unknown_frees++;
          return FALSE;
        }
    }
  live_account_remove (model, block, ts, TRUE);
  live_remove (&model->live, block);
  return TRUE;
}

static void
add_module (HmHeapModel *model, const HmEvent *e)
{
  HmModule *m = g_new0 (HmModule, 1);
  m->id = e->id;
  m->bias = e->base;
  m->start = e->addr;
  m->end = e->addr + e->size;
  m->path = g_strdup (e->text);
  if (e->build_id_len > 0)
    m->build_id = g_bytes_new (e->build_id, e->build_id_len);
  m->load_ts = e->ts;
  m->unload_ts = G_MAXUINT64;
  g_ptr_array_add (model->modules, m);
}

static HmRegionStats *
region_get (HmHeapModel *model, guint64 id, gboolean create)
{
  HmRegionStats *r = g_hash_table_lookup (model->regions_by_id, &id);
  if (r == NULL && create)
    {
      r = g_new0 (HmRegionStats, 1);
      r->id = id;
      g_ptr_array_add (model->regions, r);
      g_hash_table_insert (model->regions_by_id, &r->id, r);
    }
  return r;
}

static void
region_release (HmHeapModel *model, HmRegionStats *r)
{
  strategy_sub (model, HM_STRATEGY_KIND_REGIONS, r->live_bytes);
  r->live_bytes = 0;
}

static void
region_event (HmHeapModel *model, const HmEvent *e)
{
  HmRegionStats *r = region_get (model, e->id, TRUE);

  switch (e->kind)
    {
    case HM_EV_REGION_CREATE:
      r->create_stack = e->stack;
      r->create_ts = e->ts;
      break;
    case HM_EV_REGION_ALLOC:
      r->allocations++;
      r->bytes += e->size;
      r->live_bytes += e->size;
      r->peak_bytes = MAX (r->peak_bytes, r->live_bytes);
      strategy_add (model, HM_STRATEGY_KIND_REGIONS, e->size, TRUE);
      break;
    case HM_EV_REGION_RESET:
      r->resets++;
      region_release (model, r);
      break;
    case HM_EV_REGION_FREE:
      r->freed = TRUE;
      r->freed_ts = e->ts;
      region_release (model, r);
      break;
    default:
      break;
    }
}

static HmPoolStats *
pool_get (HmHeapModel *model, guint64 id)
{
  HmPoolStats *p = g_hash_table_lookup (model->pools_by_id, &id);
  if (p == NULL)
    {
      p = g_new0 (HmPoolStats, 1);
      p->id = id;
      g_ptr_array_add (model->pools, p);
      g_hash_table_insert (model->pools_by_id, &p->id, p);
    }
  return p;
}

static gboolean
drop_pool_objects (gpointer key, gpointer value, gpointer data)
{
  return GPOINTER_TO_SIZE (value) == *(guint64 *) data;
}

static void
pool_event (HmHeapModel *model, const HmEvent *e)
{
  HmPoolStats *p = pool_get (model, e->id);
  gpointer key = GSIZE_TO_POINTER (e->addr);

  switch (e->kind)
    {
    case HM_EV_POOL_CREATE:
      p->object_size = e->size;
      p->capacity = e->count;
      p->create_stack = e->stack;
      p->create_ts = e->ts;
      break;
    case HM_EV_POOL_GET:
      p->gets++;
      p->live_objects++;
      p->peak_live_objects = MAX (p->peak_live_objects, p->live_objects);
      g_hash_table_insert (model->pool_objects, key, GSIZE_TO_POINTER (e->id));
      strategy_add (model, HM_STRATEGY_KIND_POOLS, p->object_size, TRUE);
      break;
    case HM_EV_POOL_RETURN:
      /* only objects that were out of this pool: misuse is a warning event */
      if (g_hash_table_lookup (model->pool_objects, key) == GSIZE_TO_POINTER (e->id)
          && g_hash_table_remove (model->pool_objects, key))
        {
          p->returns++;
          p->live_objects--;
          strategy_sub (model, HM_STRATEGY_KIND_POOLS, p->object_size);
        }
      break;
    case HM_EV_POOL_FREE:
      p->freed = TRUE;
      strategy_sub (model, HM_STRATEGY_KIND_POOLS, p->live_objects * p->object_size);
      g_hash_table_foreach_remove (model->pool_objects, drop_pool_objects, &p->id);
      break;
    default:
      break;
    }
}

/* A WARNING_LOCATION: joined to its warning by (ticks, address), whichever
 * of the two the reader gives first. */
static void
add_location (HmHeapModel *model, const HmEvent *e)
{
  if (model->locations->len >= 100000)
    return;
  HmWarningLocation l = { e->ticks, e->addr, (HmPointerWhere) e->count, e->old_addr, e->id,
                          e->base, e->size, e->stack, g_strdup (e->text ? e->text : "") };
  gint index = (gint) model->locations->len;
  g_array_append_val (model->locations, l);
  /* bounded work per event, whatever a hostile trace holds */
  for (guint i = model->warnings->len; i > 0 && model->warnings->len - i < 4096; i--)
    {
      HmWarning *w = &g_array_index (model->warnings, HmWarning, i - 1);
      if (w->ticks == l.ticks && w->addr == l.target && w->location < 0)
        {
          w->location = index;
          return;
        }
    }
  guint k = (guint) index;
  if (model->unmatched_locations->len >= 4096)
    g_array_remove_index (model->unmatched_locations, 0);
  g_array_append_val (model->unmatched_locations, k);
}

static void
name_object (HmHeapModel *model, const HmEvent *e)
{
  if (e->count == HM_OBJECT_REGION)
    {
      HmRegionStats *r = region_get (model, e->id, TRUE);
      g_free (r->name);
      r->name = g_strdup (e->text);
    }
  else if (e->count == HM_OBJECT_POOL)
    {
      HmPoolStats *p = pool_get (model, e->id);
      g_free (p->name);
      p->name = g_strdup (e->text);
    }
}

/* Halves the resolution: pairs of buckets become one. */
static void
timeline_coarsen (HmHeapModel *model)
{
  guint n = (model->n_buckets + 1) / 2;
  for (guint i = 0; i < n; i++)
    {
      HmTimelineBucket *a = &model->timeline[2 * i];
      HmTimelineBucket merged = *a;
      if (2 * i + 1 < model->n_buckets)
        {
          HmTimelineBucket *b = &model->timeline[2 * i + 1];
          memcpy (merged.live_bytes, b->live_bytes, sizeof merged.live_bytes);
          merged.peak_total_bytes = MAX (a->peak_total_bytes, b->peak_total_bytes);
          merged.allocations = a->allocations + b->allocations;
          merged.frees = a->frees + b->frees;
        }
      merged.start_ns = (guint64) i * model->bucket_ns * 2;
      model->timeline[i] = merged;
    }
  memset (&model->timeline[n], 0, (HM_TIMELINE_MAX_BUCKETS - n) * sizeof (HmTimelineBucket));
  model->n_buckets = n;
  model->bucket_ns *= 2;
}

static void
timeline_note (HmHeapModel *model, guint64 ts, gboolean is_alloc, gboolean is_free)
{
  guint64 index;
  guint64 total = 0;
  HmTimelineBucket *b;

  while ((index = ts / model->bucket_ns) >= HM_TIMELINE_MAX_BUCKETS)
    timeline_coarsen (model);
  /* buckets with no events carry the level of the one before */
  while (model->n_buckets <= index)
    {
      HmTimelineBucket *next = &model->timeline[model->n_buckets];
      if (model->n_buckets > 0)
        {
          HmTimelineBucket *prev = &model->timeline[model->n_buckets - 1];
          memcpy (next->live_bytes, prev->live_bytes, sizeof next->live_bytes);
          for (int k = 0; k < HM_STRATEGY_KIND_N; k++)
            total += prev->live_bytes[k];
          next->peak_total_bytes = total;
          total = 0;
        }
      next->start_ns = (guint64) model->n_buckets * model->bucket_ns;
      model->n_buckets++;
    }
  b = &model->timeline[index];
  for (int k = 0; k < HM_STRATEGY_KIND_N; k++)
    {
      b->live_bytes[k] = model->strategies[k].live_bytes;
      total += b->live_bytes[k];
    }
  b->peak_total_bytes = MAX (b->peak_total_bytes, total);
  b->allocations += is_alloc;
  b->frees += is_free;
}

static void
add_marker (HmHeapModel *model, HmMarkerKind kind, guint64 ts, guint64 id)
{
  if (model->markers->len < 1000000)
    {
      HmMarker m = { kind, ts, id };
      g_array_append_val (model->markers, m);
    }
}

void
hm_heap_model_add_event (HmHeapModel *model, const HmEvent *e)
{
  HmHeapTotals *t = &model->totals;

  g_return_if_fail (model != NULL);
  g_return_if_fail (e != NULL);

  if (e->ts > t->last_ts)
    t->last_ts = e->ts;

  switch (e->kind)
    {
    case HM_EV_ALLOC:
      note_thread (model, e->tid);
      record_alloc (model, e->addr, e->size, e->stack, e->ts, strategy_of_fn (e->fn));
      if (e->fn == HM_FN_GC_ALLOC)
        {
          model->gc.allocations++;
          model->gc.bytes_allocated += e->size;
        }
      break;
    case HM_EV_FREE:
      note_thread (model, e->tid);
      if (record_free (model, e->addr, e->ts))
        t->frees++;
      break;
    case HM_EV_REALLOC:
      note_thread (model, e->tid);
      /* A realloc is one allocation call; the old block just ends. */
      if (e->old_addr != 0)
        record_free (model, e->old_addr, e->ts);
      record_alloc (model, e->addr, e->size, e->stack, e->ts, HM_STRATEGY_KIND_MALLOC);
      break;
    case HM_EV_REGION_CREATE:
    case HM_EV_REGION_ALLOC:
    case HM_EV_REGION_RESET:
    case HM_EV_REGION_FREE:
      note_thread (model, e->tid);
      region_event (model, e);
      break;
    case HM_EV_POOL_CREATE:
    case HM_EV_POOL_GET:
    case HM_EV_POOL_RETURN:
    case HM_EV_POOL_FREE:
      note_thread (model, e->tid);
      pool_event (model, e);
      break;
    case HM_EV_GC_COLLECT:
      model->gc.collections++;
      model->gc.freed_bytes += e->freed_bytes;
      model->gc.freed_objects += e->count;
      model->gc.total_pause_ns += e->pause_ns;
      model->gc.max_pause_ns = MAX (model->gc.max_pause_ns, e->pause_ns);
      model->gc.live_bytes_after_last = e->live_bytes;
      break;
    case HM_EV_WARNING:
      if (model->warnings->len < 1000000)
        {
          HmWarning w = { e->warning, e->ts, e->tid, e->addr, e->size, e->stack,
                          e->alloc_stack, e->free_stack, e->id, e->ticks, -1 };
          /* its location may have come first (metadata is not merged by time) */
          for (guint i = 0; i < model->unmatched_locations->len; i++)
            {
              guint k = g_array_index (model->unmatched_locations, guint, i);
              const HmWarningLocation *l = &g_array_index (model->locations, HmWarningLocation, k);
              if (l->ticks == w.ticks && l->target == w.addr)
                {
                  w.location = (gint) k;
                  g_array_remove_index_fast (model->unmatched_locations, i);
                  break;
                }
            }
          g_array_append_val (model->warnings, w);
        }
      break;
    case HM_EV_OBJECT_NAME:
      name_object (model, e);
      break;
    case HM_EV_WARNING_LOCATION:
      add_location (model, e);
      break;
    case HM_EV_STACK:
      if (e->id == model->stacks->len && e->parent < model->nodes->len)
        {
          guint64 node = e->parent;
          g_array_append_val (model->stacks, node);
        }
      else
        model->n_bad_events++;
      break;
    case HM_EV_FRAME:
      if (e->id == model->nodes->len && e->parent < e->id)
        {
          HmStackNode node = { e->parent, e->ip };
          g_array_append_val (model->nodes, node);
        }
      else
        model->n_bad_events++;
      break;
    case HM_EV_MODULE_LOAD:
      add_module (model, e);
      break;
    case HM_EV_MODULE_UNLOAD:
      for (guint i = 0; i < model->modules->len; i++)
        {
          HmModule *m = g_ptr_array_index (model->modules, i);
          if (m->id == e->id && m->unload_ts == G_MAXUINT64)
            m->unload_ts = e->ts;
        }
      break;
    case HM_EV_INFO:
      if (g_hash_table_size (model->info) < 1024)
        g_hash_table_replace (model->info, g_strdup (e->key), g_strdup (e->text));
      break;
    case HM_EV_THREAD_END:
      note_thread (model, e->tid);
      break;
    case HM_EV_END:
      model->has_end = TRUE;
      model->end_reason = (HmEndReason) e->count;
      model->end_status = e->status;
      break;
    case HM_EV_DROPPED:
      t->dropped_events += e->count;
      break;
    default:
      break;
    }

  switch (e->kind)
    {
    case HM_EV_ALLOC:
    case HM_EV_REALLOC:
    case HM_EV_REGION_ALLOC:
    case HM_EV_POOL_GET:
      timeline_note (model, e->ts, TRUE, FALSE);
      break;
    case HM_EV_FREE:
    case HM_EV_POOL_RETURN:
      timeline_note (model, e->ts, FALSE, TRUE);
      break;
    case HM_EV_REGION_RESET:
      timeline_note (model, e->ts, FALSE, TRUE);
      add_marker (model, HM_MARKER_REGION_RESET, e->ts, e->id);
      break;
    case HM_EV_REGION_FREE:
    case HM_EV_POOL_FREE:
      timeline_note (model, e->ts, FALSE, TRUE);
      if (e->kind == HM_EV_REGION_FREE)
        add_marker (model, HM_MARKER_REGION_FREE, e->ts, e->id);
      break;
    case HM_EV_GC_COLLECT:
      timeline_note (model, e->ts, FALSE, FALSE);
      add_marker (model, HM_MARKER_GC, e->ts, model->gc.collections);
      break;
    case HM_EV_WARNING:
      add_marker (model, HM_MARKER_WARNING, e->ts, model->warnings->len - 1);
      break;
    case HM_EV_MARK:
      add_marker (model, HM_MARKER_MARK, e->ts, 0);
      break;
    default:
      break;
    }
}

HmHeapModel *
hm_heap_model_load_file (const char *path, GError **error)
{
  g_autoptr(HmTraceReader) reader = NULL;
  g_autoptr(HmHeapModel) model = NULL;
  HmEvent event;

  reader = hm_trace_reader_open (path, error);
  if (reader == NULL)
    return NULL;
  model = hm_heap_model_new ();
  model->header = *hm_trace_reader_get_header (reader);
  model->have_header = TRUE;

  for (;;)
    {
      HmTraceReadStatus status = hm_trace_reader_next (reader, &event, error);
      if (status == HM_TRACE_READ_EVENT)
        {
          hm_heap_model_add_event (model, &event);
          continue;
        }
      if (status == HM_TRACE_READ_END)
        {
          /* Cut inside a chunk, or at a chunk boundary without the END event
           * (SIGKILL leaves no time to write one): cut just the same. */
          if (hm_trace_reader_is_truncated (reader) || !model->has_end)
            hm_heap_model_set_truncated (model, TRUE, hm_trace_reader_get_offset (reader));
          break;
        }
      /* An error after the header: keep what was read before it. */
      hm_heap_model_set_truncated (model, TRUE, hm_trace_reader_get_offset (reader));
      break;
    }
  return g_steal_pointer (&model);
}

const HmHeapTotals *
hm_heap_model_get_totals (HmHeapModel *model)
{
  return &model->totals;
}

const HmTraceHeader *
hm_heap_model_get_header (HmHeapModel *model)
{
  return model->have_header ? &model->header : NULL;
}

void
hm_heap_model_set_header (HmHeapModel *model, const HmTraceHeader *header)
{
  model->header = *header;
  model->have_header = TRUE;
}

gboolean
hm_heap_model_is_truncated (HmHeapModel *model)
{
  return model->truncated;
}

void
hm_heap_model_set_truncated (HmHeapModel *model, gboolean truncated, guint64 offset)
{
  model->truncated = truncated;
  model->truncated_offset = offset;
}

guint64
hm_heap_model_get_truncated_offset (HmHeapModel *model)
{
  return model->truncated_offset;
}

gboolean
hm_heap_model_get_end (HmHeapModel *model, HmEndReason *reason, gint64 *status)
{
  if (model->has_end)
    {
      if (reason)
        *reason = model->end_reason;
      if (status)
        *status = model->end_status;
    }
  return model->has_end;
}

const char *
hm_heap_model_get_info (HmHeapModel *model, const char *key)
{
  return g_hash_table_lookup (model->info, key);
}

GPtrArray *
hm_heap_model_get_sites (HmHeapModel *model)
{
  GPtrArray *sites = g_ptr_array_new ();
  for (guint i = 0; i < model->sites->len; i++)
    {
      HmSiteStats *site = &g_array_index (model->sites, HmSiteStats, i);
      if (site->allocations > 0)
        g_ptr_array_add (sites, site);
    }
  return sites;
}

GPtrArray *
hm_heap_model_get_regions (HmHeapModel *model)
{
  return model->regions;
}

GPtrArray *
hm_heap_model_get_pools (HmHeapModel *model)
{
  return model->pools;
}

const HmGcTotals *
hm_heap_model_get_gc (HmHeapModel *model)
{
  return &model->gc;
}

const HmStrategyStats *
hm_heap_model_get_strategy (HmHeapModel *model, HmStrategyKind kind)
{
  g_return_val_if_fail (kind < HM_STRATEGY_KIND_N, NULL);
  return &model->strategies[kind];
}

const HmTimelineBucket *
hm_heap_model_get_timeline (HmHeapModel *model, guint *n_buckets, guint64 *bucket_ns)
{
  if (n_buckets)
    *n_buckets = model->n_buckets;
  if (bucket_ns)
    *bucket_ns = model->bucket_ns;
  return model->timeline;
}

GArray *
hm_heap_model_get_markers (HmHeapModel *model)
{
  return model->markers;
}

GArray *
hm_heap_model_get_warnings (HmHeapModel *model)
{
  return model->warnings;
}

GArray *
hm_heap_model_get_warning_locations (HmHeapModel *model)
{
  return model->locations;
}

guint64
hm_heap_model_stack_node (HmHeapModel *model, guint64 stack)
{
  return stack < model->stacks->len ? g_array_index (model->stacks, guint64, stack) : 0;
}

GArray *
hm_heap_model_get_stack_ips (HmHeapModel *model, guint64 stack)
{
  GArray *ips = g_array_new (FALSE, FALSE, sizeof (guint64));
  /* Parents have smaller ids than children, so this walk ends. */
  while (stack != 0 && stack < model->nodes->len)
    {
      const HmStackNode *node = &g_array_index (model->nodes, HmStackNode, stack);
      g_array_append_val (ips, node->ip);
      stack = node->parent;
    }
  return ips;
}

guint64
hm_heap_model_get_n_stack_nodes (HmHeapModel *model)
{
  return model->nodes->len - 1;
}

GPtrArray *
hm_heap_model_get_modules (HmHeapModel *model)
{
  return model->modules;
}

const HmModule *
hm_heap_model_find_module (HmHeapModel *model, guint64 addr)
{
  /* Latest load first: a reused range belongs to the newest module. */
  for (guint i = model->modules->len; i > 0; i--)
    {
      const HmModule *m = g_ptr_array_index (model->modules, i - 1);
      if (addr >= m->start && addr < m->end)
        return m;
    }
  return NULL;
}
