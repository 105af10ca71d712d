/* hm-heap-model.c — replays events into the live set, sites and totals.
 *
 * The live set is an open-addressing table keyed by address (millions of
 * live blocks must not cost a GLib allocation each); sites are a dense array
 * indexed by stack node id, which the writer hands out from 1 upwards.
 */
#include "hm-heap-model.h"

#include <math.h>
#include <stdlib.h>
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
  /* Blocks a custom allocator announced live inside other blocks (often at
   * the same address as the block holding them): a table of their own. */
  LiveTable live_custom;
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
  GHashTable *site_threads; /* (node << 24) ^ tid of every site's threads */
  guint64 current_tid;     /* of the event being added */
  HmStrategyStats strategies[HM_STRATEGY_KIND_N];
  GPtrArray *regions;      /* HmRegionStats * */
  GHashTable *regions_by_id;
  GPtrArray *pools;        /* HmPoolStats * */
  GHashTable *pools_by_id;
  GHashTable *pool_objects; /* address -> pool id of objects out of a pool */
  GHashTable *pool_unpaired; /* address -> PoolUnpaired: a manager pool's object whose
                              * get and return came out of order (pool_event) */
  GHashTable *pending_names; /* OBJECT_NAME of a region or pool not seen yet:
                              * (id << 2 | HmObjectKind) -> name */
  HmGcTotals gc;
  GArray *warnings;        /* HmWarning */
  GPtrArray *decisions;    /* HmProfileDecision * */
  GArray *locations;       /* HmWarningLocation */
  GArray *unmatched_locations; /* indexes of locations whose warning has not come yet */
  HmTimelineBucket *timeline;   /* HM_TIMELINE_MAX_BUCKETS */
  guint n_buckets;
  guint64 bucket_ns;
  GArray *markers;         /* HmMarker */
  guint64 n_bad_events;    /* events that referred to things never defined */
  guint64 sample_bytes;    /* INFO sample_bytes: a sampled trace's mean; 0: every allocation */

  /* snapshots (see hm_heap_model_get_breakdown) */
  GArray *snaps[HM_TIMELINE_MAX_BUCKETS];  /* SnapEntry, sorted by key; NULL: none */
  guint snap_open;         /* the bucket being filled */
  guint64 snap_bucket_ns;  /* the snapshots' bucket width: the timeline's, or wider */
  guint64 snap_entries;    /* in all the buckets */
  GArray *site_marks;      /* guint32 per node: snap_epoch when last marked dirty */
  guint32 snap_epoch;      /* +1 each time a bucket closes */
  GArray *dirty_sites;     /* guint64 node ids changed in the open bucket */
  GHashTable *dirty_objects;  /* keys (kind << 56 | id) of regions and pools changed */

  /* every allocator seen */
  GTree *mappings;         /* start address -> 1: the live blocks of the mmap strategy,
                            * ordered, for munmap of ranges */
  guint64 fn_calls[HM_FN_N];
  GArray *rss;             /* HmRssSample */
  guint64 peak_rss, peak_rss_ts;
};

/* One site, region or pool as it stood at the end of a bucket. */
typedef struct {
  guint64 key;             /* kind << 56 | id */
  guint64 live_bytes;
  guint64 live_count;
  guint64 allocations;
  guint64 bytes;
} SnapEntry;

#define SNAP_KEY(kind, id) ((guint64) (kind) << 56 | ((id) & ((G_GUINT64_CONSTANT (1) << 56) - 1)))

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
  static const char *const names[] = { "malloc", "manual", "gc", "regions", "pools", "mmap",
                                       "custom" };
  G_STATIC_ASSERT (G_N_ELEMENTS (names) == HM_STRATEGY_KIND_N);
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

const char *
hm_alloc_fn_name (HmAllocFn fn)
{
  static const char *const names[] = {
    "malloc", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign",
    "aligned_alloc", "valloc", "pvalloc", "free", "hm_alloc", "hm_gc_alloc", "hm_free",
    "gc_sweep", "mmap", "munmap", "mremap",
    "mallocx", "rallocx", "xallocx", "dallocx", "sdallocx",
    "mi_malloc", "mi_calloc", "mi_zalloc", "mi_realloc", "mi_malloc_aligned",
    "mi_zalloc_aligned", "mi_new", "mi_mallocn", "mi_free",
    "heaptrack_report_alloc", "heaptrack_report_realloc", "heaptrack_report_free",
    "VALGRIND_MALLOCLIKE_BLOCK", "VALGRIND_RESIZEINPLACE_BLOCK", "VALGRIND_FREELIKE_BLOCK",
    "VALGRIND_MEMPOOL_ALLOC", "VALGRIND_MEMPOOL_FREE",
  };
  G_STATIC_ASSERT (G_N_ELEMENTS (names) == HM_FN_N);
  return (guint) fn < HM_FN_N ? names[fn] : "unknown";
}

HmStrategyKind
hm_strategy_of_fn (HmAllocFn fn)
{
  switch (fn)
    {
    case HM_FN_MMAP:
    case HM_FN_MUNMAP:
    case HM_FN_MREMAP:
      return HM_STRATEGY_KIND_MMAP;
    case HM_FN_HEAPTRACK_ALLOC:
    case HM_FN_HEAPTRACK_REALLOC:
    case HM_FN_HEAPTRACK_FREE:
    case HM_FN_VG_MALLOCLIKE:
    case HM_FN_VG_RESIZEINPLACE:
    case HM_FN_VG_FREELIKE:
    case HM_FN_VG_MEMPOOL_ALLOC:
    case HM_FN_VG_MEMPOOL_FREE:
      return HM_STRATEGY_KIND_CUSTOM;
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
strategy_add (HmHeapModel *model, HmStrategyKind kind, guint64 bytes, guint64 count)
{
  HmStrategyStats *s = &model->strategies[kind];
  s->allocations += count;
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

static void decision_free (gpointer data);

static gint
compare_addresses (gconstpointer a, gconstpointer b)
{
  guintptr x = GPOINTER_TO_SIZE (a), y = GPOINTER_TO_SIZE (b);
  return x < y ? -1 : x > y;
}

HmHeapModel *
hm_heap_model_new (void)
{
  HmHeapModel *model = g_new0 (HmHeapModel, 1);
  HmStackNode root = { 0, 0 };

  live_init (&model->live);
  live_init (&model->live_custom);
  model->displaced = g_array_new (FALSE, FALSE, sizeof (LiveBlock));
  model->stacks = g_array_new (FALSE, TRUE, sizeof (guint64));
  g_array_set_size (model->stacks, 1);
  model->nodes = g_array_new (FALSE, FALSE, sizeof (HmStackNode));
  g_array_append_val (model->nodes, root);
  model->sites = g_array_new (FALSE, TRUE, sizeof (HmSiteStats));
  model->modules = g_ptr_array_new_with_free_func (module_free);
  model->info = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  model->threads = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);  /* ThreadState */
  model->decisions = g_ptr_array_new_with_free_func (decision_free);
  model->site_threads = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  model->regions = g_ptr_array_new_with_free_func (region_free);
  model->regions_by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  model->pools = g_ptr_array_new_with_free_func (pool_free);
  model->pools_by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  model->pool_objects = g_hash_table_new (g_direct_hash, g_direct_equal);
  model->pool_unpaired = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  model->pending_names = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  model->warnings = g_array_new (FALSE, FALSE, sizeof (HmWarning));
  model->locations = g_array_new (FALSE, FALSE, sizeof (HmWarningLocation));
  model->unmatched_locations = g_array_new (FALSE, FALSE, sizeof (guint));
  model->timeline = g_new0 (HmTimelineBucket, HM_TIMELINE_MAX_BUCKETS);
  model->bucket_ns = 1000;      /* 1 µs to start with: a short run gets fine bars too */
  model->markers = g_array_new (FALSE, FALSE, sizeof (HmMarker));
  model->site_marks = g_array_new (FALSE, TRUE, sizeof (guint32));
  model->dirty_sites = g_array_new (FALSE, FALSE, sizeof (guint64));
  model->dirty_objects = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  model->snap_epoch = 1;
  model->snap_bucket_ns = model->bucket_ns;
  model->mappings = g_tree_new (compare_addresses);
  model->rss = g_array_new (FALSE, FALSE, sizeof (HmRssSample));
  return model;
}

void
hm_heap_model_free (HmHeapModel *model)
{
  if (model == NULL)
    return;
  g_free (model->live.slots);
  g_free (model->live_custom.slots);
  g_array_unref (model->displaced);
  g_array_unref (model->stacks);
  g_array_unref (model->nodes);
  g_array_unref (model->sites);
  g_ptr_array_unref (model->modules);
  g_hash_table_unref (model->info);
  g_hash_table_destroy (model->threads);
  g_hash_table_destroy (model->site_threads);
  g_ptr_array_unref (model->decisions);
  g_hash_table_destroy (model->regions_by_id);
  g_ptr_array_unref (model->regions);
  g_hash_table_destroy (model->pools_by_id);
  g_ptr_array_unref (model->pools);
  g_hash_table_destroy (model->pool_objects);
  g_hash_table_destroy (model->pool_unpaired);
  g_hash_table_destroy (model->pending_names);
  g_array_unref (model->warnings);
  for (guint i = 0; i < model->locations->len; i++)
    g_free (g_array_index (model->locations, HmWarningLocation, i).text);
  g_array_unref (model->locations);
  g_array_unref (model->unmatched_locations);
  g_free (model->timeline);
  g_array_unref (model->markers);
  for (guint i = 0; i < HM_TIMELINE_MAX_BUCKETS; i++)
    if (model->snaps[i] != NULL)
      g_array_unref (model->snaps[i]);
  g_array_unref (model->site_marks);
  g_array_unref (model->dirty_sites);
  g_hash_table_destroy (model->dirty_objects);
  g_tree_destroy (model->mappings);
  g_array_unref (model->rss);
  g_free (model);
}

static void
decision_free (gpointer data)
{
  HmProfileDecision *d = data;
  g_free (d->site);
  g_free (d->why);
  g_free (d);
}

const char *
hm_profile_choice_name (HmProfileChoice choice)
{
  return choice < HM_PROFILE_CHOICE_N ? hm_profile_choice_names[choice] : "unknown";
}

GPtrArray *
hm_heap_model_get_profile_decisions (HmHeapModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->decisions;
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

guint
hm_histogram_bucket (guint64 value)
{
  return value == 0 ? 0 : (guint) (64 - __builtin_clzll (value)) - (value >> 63 != 0);
}

/* What the model keeps per thread: the key of model->threads. */
typedef struct {
  guint64 tid;             /* first: hashed as a guint64 */
  guint64 last_alloc;      /* address of its latest allocation, 0 once freed */
} ThreadState;

static ThreadState *
note_thread (HmHeapModel *model, guint64 tid)
{
  ThreadState *state;

  if (tid == 0)
    return NULL;
  state = g_hash_table_lookup (model->threads, &tid);
  if (state == NULL)
    {
      state = g_new0 (ThreadState, 1);
      state->tid = tid;
      g_hash_table_add (model->threads, state);
      model->totals.n_threads = g_hash_table_size (model->threads);
    }
  return state;
}

static guint64
node_of_stack (HmHeapModel *model, guint64 stack)
{
  if (stack < model->stacks->len)
    return g_array_index (model->stacks, guint64, stack);
  model->n_bad_events++;
  return 0;
}

/* --- snapshots ----------------------------------------------------------- */

static void
mark_site (HmHeapModel *model, guint64 node)
{
  if (node >= model->site_marks->len)
    g_array_set_size (model->site_marks, MAX (node + 1, model->nodes->len));
  guint32 *mark = &g_array_index (model->site_marks, guint32, node);
  if (*mark != model->snap_epoch)
    {
      *mark = model->snap_epoch;
      g_array_append_val (model->dirty_sites, node);
    }
}

static void
mark_object (HmHeapModel *model, HmBreakdownKind kind, guint64 id)
{
  guint64 *key = g_new (guint64, 1);
  *key = SNAP_KEY (kind, id);
  /* an existing key is freed by the table and replaced by this one */
  g_hash_table_add (model->dirty_objects, key);
}

static gint
compare_snap_keys (gconstpointer a, gconstpointer b)
{
  guint64 x = ((const SnapEntry *) a)->key, y = ((const SnapEntry *) b)->key;
  return x < y ? -1 : x > y;
}

/* into := into overridden by newer (both sorted by key) */
static GArray *
merge_snaps (GArray *into, GArray *newer)
{
  if (into == NULL)
    return newer;
  if (newer == NULL)
    return into;
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (SnapEntry), into->len + newer->len);
  guint i = 0, j = 0;
  while (i < into->len || j < newer->len)
    {
      const SnapEntry *a = i < into->len ? &g_array_index (into, SnapEntry, i) : NULL;
      const SnapEntry *b = j < newer->len ? &g_array_index (newer, SnapEntry, j) : NULL;
      if (b == NULL || (a != NULL && a->key < b->key))
        {
          g_array_append_vals (out, a, 1);
          i++;
        }
      else
        {
          g_array_append_vals (out, b, 1);
          j++;
          if (a != NULL && a->key == b->key)
            i++;
        }
    }
  g_array_unref (into);
  g_array_unref (newer);
  return out;
}

static void
snap_entry_of (HmHeapModel *model, guint64 key, SnapEntry *e)
{
  guint64 id = key & ((G_GUINT64_CONSTANT (1) << 56) - 1);
  memset (e, 0, sizeof *e);
  e->key = key;
  switch ((HmBreakdownKind) (key >> 56))
    {
    case HM_BREAKDOWN_SITE:
      if (id < model->sites->len)
        {
          const HmSiteStats *site = &g_array_index (model->sites, HmSiteStats, id);
          e->live_bytes = site->live_bytes;
          e->live_count = site->live_blocks;
          e->allocations = site->allocations;
          e->bytes = site->bytes;
        }
      break;
    case HM_BREAKDOWN_REGION:
      {
        const HmRegionStats *r = g_hash_table_lookup (model->regions_by_id, &id);
        if (r != NULL)
          {
            e->live_bytes = r->live_bytes;
            e->live_count = r->live_bytes > 0 ? 1 : 0;
            e->allocations = r->allocations;
            e->bytes = r->bytes;
          }
      }
      break;
    case HM_BREAKDOWN_POOL:
      {
        const HmPoolStats *p = g_hash_table_lookup (model->pools_by_id, &id);
        if (p != NULL)
          {
            e->live_bytes = p->live_objects * p->object_size;
            e->live_count = p->live_objects;
            e->allocations = p->gets;
            e->bytes = p->gets * p->object_size;
          }
      }
      break;
    }
}

/* Writes what changed in the open bucket, as it stands now. */
static void
snap_close (HmHeapModel *model)
{
  GHashTableIter iter;
  gpointer key;

  if (model->dirty_sites->len == 0 && g_hash_table_size (model->dirty_objects) == 0)
    return;
  GArray *entries = g_array_sized_new (FALSE, FALSE, sizeof (SnapEntry),
                                       model->dirty_sites->len
                                       + g_hash_table_size (model->dirty_objects));
  for (guint i = 0; i < model->dirty_sites->len; i++)
    {
      SnapEntry e;
      snap_entry_of (model, SNAP_KEY (HM_BREAKDOWN_SITE,
                                      g_array_index (model->dirty_sites, guint64, i)), &e);
      g_array_append_val (entries, e);
    }
  g_hash_table_iter_init (&iter, model->dirty_objects);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      SnapEntry e;
      snap_entry_of (model, *(guint64 *) key, &e);
      g_array_append_val (entries, e);
    }
  g_array_sort (entries, compare_snap_keys);
  guint before = model->snaps[model->snap_open] ? model->snaps[model->snap_open]->len : 0;
  model->snaps[model->snap_open] = merge_snaps (model->snaps[model->snap_open], entries);
  model->snap_entries += model->snaps[model->snap_open]->len - before;
  g_array_set_size (model->dirty_sites, 0);
  g_hash_table_remove_all (model->dirty_objects);
  model->snap_epoch++;
}

/* Buckets twice as wide: each pair merged, the later entries winning. */
static void
snap_coarsen (HmHeapModel *model)
{
  model->snap_entries = 0;
  for (guint i = 0; i < HM_TIMELINE_MAX_BUCKETS / 2; i++)
    {
      GArray *merged = merge_snaps (model->snaps[2 * i], model->snaps[2 * i + 1]);
      model->snaps[2 * i] = model->snaps[2 * i + 1] = NULL;
      model->snaps[i] = merged;
      model->snap_entries += merged ? merged->len : 0;
    }
  model->snap_open /= 2;
  model->snap_bucket_ns *= 2;
}

/* The snapshots may hold SNAP_BYTES_PER_EVENT per event read (at least
 * SNAP_MIN_BYTES): past that, their buckets get wider than the timeline's,
 * so that a trace where every site changes in every bucket still fits. */
#define SNAP_BYTES_PER_EVENT 6
#define SNAP_MIN_BYTES (16u << 20)

static void
snap_keep_in_budget (HmHeapModel *model)
{
  guint64 events = model->totals.allocations + model->totals.frees;
  guint64 budget = MAX ((guint64) SNAP_MIN_BYTES, events * SNAP_BYTES_PER_EVENT);
  while (model->snap_entries * sizeof (SnapEntry) > budget && model->snap_open > 1)
    snap_coarsen (model);
}

/* Before an event at ts changes anything: the buckets before ts's close. */
static void
snap_advance (HmHeapModel *model, guint64 ts)
{
  guint64 index = ts / model->snap_bucket_ns;

  /* coarser buckets, as the timeline's, to hold ts */
  while (index >= HM_TIMELINE_MAX_BUCKETS)
    {
      snap_close (model);
      snap_coarsen (model);
      index = ts / model->snap_bucket_ns;
    }
  if (index > model->snap_open)
    {
      snap_close (model);
      snap_keep_in_budget (model);
      model->snap_open = (guint) (ts / model->snap_bucket_ns);
    }
}

/* --- sampled traces --------------------------------------------------------
 *
 * In a trace with INFO sample_bytes N, a malloc-family block of s bytes was
 * recorded with probability p = 1 - exp(-s/N) (core/trace-format.md), so it
 * stands for s/p bytes and 1/p allocations: unbiased estimates of every
 * sum.  The weights are worked out again from the block's own size when it
 * goes, so that what a free takes away is exactly what its allocation
 * added.  Counts are rounded up or down at random (by a hash of the block,
 * so again the same both times), which keeps their sums unbiased too. */

typedef struct {
  guint64 bytes;
  guint64 count;
} Weight;

static Weight
block_weight (HmHeapModel *model, guint64 addr, guint64 size, guint64 ts, HmStrategyKind strategy)
{
  Weight w = { size, 1 };
  if (model->sample_bytes == 0 || strategy != HM_STRATEGY_KIND_MALLOC)
    return w;
  double p = -expm1 (-(double) MAX (size, 1) / (double) model->sample_bytes);
  if (!(p > 0))
    return w;
  double count = 1.0 / p;
  double whole = floor (count);
  guint64 h = hash_addr (addr ^ (ts * 0x9e3779b97f4a7c15ull) ^ (size << 17));
  w.count = (guint64) whole + ((double) (h >> 11) * 0x1p-53 < count - whole ? 1 : 0);
  w.bytes = (guint64) llround ((double) size / p);
  return w;
}

guint64
hm_heap_model_get_sample_bytes (HmHeapModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->sample_bytes;
}

static void
live_account_remove (HmHeapModel *model, const LiveBlock *block, guint64 ts, gboolean freed,
                     gboolean temporary)
{
  HmHeapTotals *t = &model->totals;
  HmSiteStats *site = site_for (model, block->stack);
  Weight w = block_weight (model, block->addr, block->size, block->ts, block->strategy);

  mark_site (model, site->stack);
  site->live_bytes -= w.bytes;
  site->live_blocks -= w.count;
  if (freed)
    {
      guint64 lifetime = ts >= block->ts ? ts - block->ts : 0;
      site->frees += w.count;
      site->lifetime_ns_sum += lifetime * w.count;
      t->lifetime_histogram[hm_histogram_bucket (lifetime)] += w.count;
      site->lifetime_histogram[hm_profile_bucket (lifetime, HM_PROFILE_LIFETIME_BUCKETS)] += w.count;
    }
  if (temporary)
    {
      site->temporary += w.count;
      t->temporary += w.count;
    }
  t->live_bytes -= w.bytes;
  t->live_blocks -= w.count;
  strategy_sub (model, block->strategy, w.bytes);
}

static LiveTable *
live_table (HmHeapModel *model, HmStrategyKind strategy)
{
  return strategy == HM_STRATEGY_KIND_CUSTOM ? &model->live_custom : &model->live;
}

static void
record_alloc (HmHeapModel *model, guint64 addr, guint64 size, guint64 stack, guint64 ts,
              HmStrategyKind strategy)
{
  HmHeapTotals *t = &model->totals;
  HmSiteStats *site = site_for (model, node_of_stack (model, stack));
  LiveBlock block = { addr, size, ts, (guint32) site->stack, strategy };
  LiveBlock *old;
  Weight w = block_weight (model, addr, size, ts, strategy);

  LiveTable *table = live_table (model, strategy);
  old = live_find (table, addr);
  if (old != NULL)
    {
      /* The address is live: its free has not arrived yet.  Whichever of the
       * two blocks is older waits aside for its free. */
      if (old->ts <= ts)
        {
          g_array_append_val (model->displaced, *old);
          live_put (table, &block);
        }
      else
        g_array_append_val (model->displaced, block);
    }
  else
    live_put (table, &block);

  t->allocations += w.count;
  t->bytes_allocated += w.bytes;
  t->size_histogram[hm_histogram_bucket (size)] += w.count;
  t->live_bytes += w.bytes;
  t->live_blocks += w.count;
  if (t->live_bytes > t->peak_bytes)
    {
      t->peak_bytes = t->live_bytes;
      t->peak_ts = ts;
    }
  mark_site (model, site->stack);
  if (site->allocations == 0 || size < site->min_size)
    site->min_size = size;
  if (size > site->max_size)
    site->max_size = size;
  site->allocations += w.count;
  site->bytes += w.bytes;
  site->size_histogram[hm_profile_bucket (size, HM_PROFILE_SIZE_BUCKETS)] += w.count;
  site->live_bytes += w.bytes;
  site->live_blocks += w.count;
  if (site->live_bytes > site->peak_live_bytes)
    site->peak_live_bytes = site->live_bytes;
  if (site->live_blocks > site->peak_live_blocks)
    site->peak_live_blocks = site->live_blocks;
  if (model->current_tid != 0 && model->current_tid != site->last_tid)
    {
      guint64 key = (site->stack << 24) ^ model->current_tid;
      site->last_tid = model->current_tid;
      if (!g_hash_table_contains (model->site_threads, &key))
        {
          g_hash_table_add (model->site_threads, g_memdup2 (&key, sizeof key));
          site->n_threads++;
        }
    }
  strategy_add (model, strategy, w.bytes, w.count);
  if (strategy == HM_STRATEGY_KIND_MMAP)
    g_tree_insert (model->mappings, GSIZE_TO_POINTER (addr), GINT_TO_POINTER (1));
}

/* Returns how many frees it was (1, or a sampled block's weight), 0 when
 * the address was not live.  thread: the freeing thread's state, to tell a
 * temporary allocation (may be NULL). */
static guint64
record_free (HmHeapModel *model, guint64 addr, guint64 ts, ThreadState *thread,
             HmStrategyKind strategy)
{
  LiveTable *table = live_table (model, strategy);
  gboolean custom = strategy == HM_STRATEGY_KIND_CUSTOM;
  gboolean temporary = thread != NULL && thread->last_alloc == addr && addr != 0;
  if (thread != NULL)
    thread->last_alloc = 0;
  LiveBlock *block = live_find (table, addr);

  /* A free older than the live block belongs to a displaced one. */
  if (block == NULL || block->ts > ts)
    {
      guint best = G_MAXUINT;
      for (guint i = 0; i < model->displaced->len; i++)
        {
          LiveBlock *d = &g_array_index (model->displaced, LiveBlock, i);
          if (d->addr == addr && d->ts <= ts
              && (d->strategy == HM_STRATEGY_KIND_CUSTOM) == custom
              && (best == G_MAXUINT || d->ts > g_array_index (model->displaced, LiveBlock, best).ts))
            best = i;
        }
      if (best != G_MAXUINT)
        {
          LiveBlock d = g_array_index (model->displaced, LiveBlock, best);
          g_array_remove_index_fast (model->displaced, best);
          live_account_remove (model, &d, ts, TRUE, FALSE);
          return block_weight (model, d.addr, d.size, d.ts, d.strategy).count;
        }
      if (block == NULL)
        {
          model->totals.unknown_frees++;
          return 0;
        }
    }
  guint64 n = block_weight (model, block->addr, block->size, block->ts, block->strategy).count;
  if (block->strategy == HM_STRATEGY_KIND_MMAP)
    g_tree_remove (model->mappings, GSIZE_TO_POINTER (addr));
  live_account_remove (model, block, ts, TRUE, temporary);
  live_remove (table, block);
  return n;
}

typedef struct {
  guint64 from, to;
  GArray *found;           /* guint64 start addresses */
} RangeQuery;

static gboolean
collect_mapping (gpointer key, gpointer value, gpointer data)
{
  RangeQuery *q = data;
  guint64 start = GPOINTER_TO_SIZE (key);
  (void) value;
  if (start >= q->to)
    return TRUE;
  g_array_append_val (q->found, start);
  return FALSE;
}

/* Address space [from, to) went back to the system (munmap, or mapped over
 * by MAP_FIXED, or left by mremap): the mmap blocks in it end or shrink,
 * as the kernel would split them.  count_frees: a block that ends is a free
 * (munmap); otherwise it just goes (mremap's old range, a mapping replaced).
 * Returns the bytes that were live in the range. */
static guint64
unmap_range (HmHeapModel *model, guint64 from, guint64 to, guint64 ts, gboolean count_frees)
{
  RangeQuery q = { from, to, g_array_new (FALSE, FALSE, sizeof (guint64)) };
  guint64 removed_bytes = 0;

  if (to <= from)
    to = from + 1;
  q.to = to;
  /* the block that starts at or before from may reach into the range */
  GTreeNode *node = g_tree_upper_bound (model->mappings, GSIZE_TO_POINTER (from));
  node = node != NULL ? g_tree_node_previous (node) : NULL;
  if (node == NULL)
    {
      /* from is past every start, or before the first */
      node = g_tree_node_last (model->mappings);
      if (node != NULL && GPOINTER_TO_SIZE (g_tree_node_key (node)) > from)
        node = g_tree_node_first (model->mappings);
    }
  for (; node != NULL; node = g_tree_node_next (node))
    if (!collect_mapping (g_tree_node_key (node), NULL, &q))
      continue;
    else
      break;

  for (guint i = 0; i < q.found->len; i++)
    {
      guint64 start = g_array_index (q.found, guint64, i);
      LiveBlock *block = live_find (&model->live, start);
      if (block == NULL || block->strategy != HM_STRATEGY_KIND_MMAP)
        {
          g_tree_remove (model->mappings, GSIZE_TO_POINTER (start));
          continue;
        }
      guint64 end = start + MAX (block->size, 1);
      if (end <= from || start >= to)
        continue;
      guint64 cut_from = MAX (start, from), cut_to = MIN (end, to);
      guint64 cut = MIN (cut_to, start + block->size) - MIN (cut_from, start + block->size);
      removed_bytes += cut;
      if (start >= from && end <= to)
        {
          g_tree_remove (model->mappings, GSIZE_TO_POINTER (start));
          live_account_remove (model, block, ts, count_frees, FALSE);
          live_remove (&model->live, block);
          if (count_frees)
            model->totals.frees++;
          continue;
        }
      /* a piece stays: the head at start, the tail at to, or both */
      HmSiteStats *site = site_for (model, block->stack);
      LiveBlock tail = { to, end - to, block->ts, block->stack, block->strategy };
      mark_site (model, site->stack);
      site->live_bytes -= cut;
      model->totals.live_bytes -= cut;
      strategy_sub (model, block->strategy, cut);
      if (start < from)
        {
          block->size = from - start;
          if (end > to)
            {
              site->live_blocks++;
              model->totals.live_blocks++;
              live_put (&model->live, &tail);
              g_tree_insert (model->mappings, GSIZE_TO_POINTER (to), GINT_TO_POINTER (1));
            }
        }
      else
        {
          g_tree_remove (model->mappings, GSIZE_TO_POINTER (start));
          live_remove (&model->live, block);
          live_put (&model->live, &tail);
          g_tree_insert (model->mappings, GSIZE_TO_POINTER (to), GINT_TO_POINTER (1));
        }
    }
  g_array_unref (q.found);
  return removed_bytes;
}

static void
add_rss (HmHeapModel *model, guint64 ts, guint64 rss_bytes)
{
  HmRssSample sample = { ts, rss_bytes };
  if (model->rss->len >= 1000000)
    {
      /* keep the memory bounded: every other sample goes */
      guint n = 0;
      for (guint i = 0; i < model->rss->len; i += 2)
        g_array_index (model->rss, HmRssSample, n++) = g_array_index (model->rss, HmRssSample, i);
      g_array_set_size (model->rss, n);
    }
  g_array_append_val (model->rss, sample);
  if (rss_bytes > model->peak_rss)
    {
      model->peak_rss = rss_bytes;
      model->peak_rss_ts = ts;
    }
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

/* The name an OBJECT_NAME gave the object before it was seen, taken. */
static char *
take_pending_name (HmHeapModel *model, guint64 id, HmObjectKind kind)
{
  guint64 key = id << 2 | (guint64) kind;
  gpointer stolen_key = NULL, name = NULL;
  if (g_hash_table_size (model->pending_names) == 0
      || !g_hash_table_steal_extended (model->pending_names, &key, &stolen_key, &name))
    return NULL;
  g_free (stolen_key);
  return name;
}

static HmRegionStats *
region_get (HmHeapModel *model, guint64 id, gboolean create)
{
  HmRegionStats *r = g_hash_table_lookup (model->regions_by_id, &id);
  if (r == NULL && create)
    {
      r = g_new0 (HmRegionStats, 1);
      r->id = id;
      r->name = take_pending_name (model, id, HM_OBJECT_REGION);
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

  mark_object (model, HM_BREAKDOWN_REGION, e->id);
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
      strategy_add (model, HM_STRATEGY_KIND_REGIONS, e->size, 1);
      break;
    case HM_EV_REGION_LIVE:
      /* a dump's live set: the region's allocations since its last reset,
       * as if they were made at the window's start */
      r->allocations += e->count;
      r->bytes += e->size;
      r->live_bytes += e->size;
      r->peak_bytes = MAX (r->peak_bytes, r->live_bytes);
      strategy_add (model, HM_STRATEGY_KIND_REGIONS, e->size, e->count);
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
      p->name = take_pending_name (model, id, HM_OBJECT_POOL);
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

static void timeline_note (HmHeapModel *model, guint64 ts, gboolean is_alloc, gboolean is_free);

/* A Valgrind mempool request: the pool is listed with ours, its objects
 * are blocks of the custom strategy (sites, leaks, the timeline). */
static void
mempool_event (HmHeapModel *model, const HmEvent *e)
{
  HmPoolStats *p = pool_get (model, e->id);
  gpointer key = GSIZE_TO_POINTER (e->addr);

  mark_object (model, HM_BREAKDOWN_POOL, e->id);
  p->annotated = TRUE;
  if (p->name == NULL)
    p->name = g_strdup_printf ("mempool 0x%" G_GINT64_MODIFIER "x", e->id);
  switch (e->count)
    {
    case HM_MEMPOOL_CREATE:
      p->create_stack = e->stack;
      p->create_ts = e->ts;
      p->freed = FALSE;
      break;
    case HM_MEMPOOL_ALLOC:
      model->fn_calls[HM_FN_VG_MEMPOOL_ALLOC]++;
      record_alloc (model, e->addr, e->size, e->stack, e->ts, HM_STRATEGY_KIND_CUSTOM);
      g_hash_table_insert (model->pool_objects, key, GSIZE_TO_POINTER (e->id));
      p->gets++;
      p->live_objects++;
      p->live_bytes += e->size;
      p->bytes += e->size;
      p->peak_bytes = MAX (p->peak_bytes, p->live_bytes);
      p->peak_live_objects = MAX (p->peak_live_objects, p->live_objects);
      timeline_note (model, e->ts, TRUE, FALSE);
      break;
    case HM_MEMPOOL_FREE:
      if (g_hash_table_lookup (model->pool_objects, key) == GSIZE_TO_POINTER (e->id))
        {
          LiveBlock *b = live_find (&model->live_custom, e->addr);
          guint64 size = b != NULL ? b->size : 0;
          g_hash_table_remove (model->pool_objects, key);
          if (record_free (model, e->addr, e->ts, NULL, HM_STRATEGY_KIND_CUSTOM))
            {
              model->totals.frees++;
              model->fn_calls[HM_FN_VG_MEMPOOL_FREE]++;
            }
          p->returns++;
          p->live_objects--;
          p->live_bytes -= MIN (p->live_bytes, size);
          timeline_note (model, e->ts, FALSE, TRUE);
        }
      break;
    case HM_MEMPOOL_DESTROY:
      {
        /* everything still out of the pool goes with it */
        GHashTableIter iter;
        gpointer k, v;
        g_hash_table_iter_init (&iter, model->pool_objects);
        while (g_hash_table_iter_next (&iter, &k, &v))
          if (v == GSIZE_TO_POINTER (e->id))
            {
              if (record_free (model, GPOINTER_TO_SIZE (k), e->ts, NULL, HM_STRATEGY_KIND_CUSTOM))
                model->totals.frees++;
              g_hash_table_iter_remove (&iter);
            }
        p->live_objects = 0;
        p->live_bytes = 0;
        p->freed = TRUE;
        timeline_note (model, e->ts, FALSE, TRUE);
      }
      break;
    default:
      break;
    }
}

/* A manager pool's object whose get and return were merged out of order.
 * The agent stamps gets and returns with a cheap clock that may lag by a
 * millisecond or so (agent/hm-agent-private.h), so an object got in one
 * thread and returned in another soon after can come return first; and an
 * object returned in one thread and got again in another can come with
 * the get first.  Kept apart from pool_objects (address -> pool id, the
 * common case) so that the common case allocates nothing. */
typedef struct {
  guint64 pool;
  guint32 extra_gets;       /* gets beyond the one in pool_objects: returns to come */
  guint32 early_returns;    /* returns whose gets are to come */
  guint64 tid, ts;          /* the latest early return's */
} PoolUnpaired;

/* An early return pairs with a get from another thread at most this much
 * later; beyond, it was the return of an object got before the trace
 * started (an attach, a flight-recorder window). */
#define POOL_PAIR_NS (100u * 1000u * 1000u)

static gboolean
drop_unpaired (gpointer key, gpointer value, gpointer data)
{
  (void) key;
  return ((PoolUnpaired *) value)->pool == *(guint64 *) data;
}

static PoolUnpaired *
pool_unpaired_for (HmHeapModel *model, gpointer key, guint64 pool)
{
  PoolUnpaired *u = g_hash_table_lookup (model->pool_unpaired, key);
  if (u == NULL || u->pool != pool)
    {
      u = g_new0 (PoolUnpaired, 1);
      u->pool = pool;
      g_hash_table_insert (model->pool_unpaired, key, u);
    }
  return u;
}

static void
pool_object_out (HmHeapModel *model, HmPoolStats *p)
{
  p->gets++;
  p->live_objects++;
  p->peak_live_objects = MAX (p->peak_live_objects, p->live_objects);
  strategy_add (model, HM_STRATEGY_KIND_POOLS, p->object_size, 1);
}

static void
pool_object_back (HmHeapModel *model, HmPoolStats *p)
{
  p->returns++;
  if (p->live_objects > 0)
    {
      p->live_objects--;
      strategy_sub (model, HM_STRATEGY_KIND_POOLS, p->object_size);
    }
}

static void
pool_event (HmHeapModel *model, const HmEvent *e)
{
  HmPoolStats *p = pool_get (model, e->id);
  gpointer key = GSIZE_TO_POINTER (e->addr);
  gpointer pool = GSIZE_TO_POINTER (e->id);
  PoolUnpaired *u;

  mark_object (model, HM_BREAKDOWN_POOL, e->id);
  switch (e->kind)
    {
    case HM_EV_POOL_CREATE:
      p->object_size = e->size;
      p->capacity = e->count;
      p->create_stack = e->stack;
      p->create_ts = e->ts;
      break;
    case HM_EV_POOL_GET:
      u = g_hash_table_lookup (model->pool_unpaired, key);
      if (G_UNLIKELY (u != NULL) && u->pool == e->id && u->early_returns > 0)
        {
          if (u->tid != e->tid && e->ts - MIN (e->ts, u->ts) <= POOL_PAIR_NS)
            {
              /* its return came first: out and back */
              p->gets++;
              p->returns++;
              if (--u->early_returns == 0 && u->extra_gets == 0)
                g_hash_table_remove (model->pool_unpaired, key);
              break;
            }
          /* a return of an object from before the trace: nothing to pair */
          u->early_returns = 0;
          if (u->extra_gets == 0)
            g_hash_table_remove (model->pool_unpaired, key);
        }
      if (g_hash_table_lookup (model->pool_objects, key) == pool)
        /* out already: the return that came before this get is still to come */
        pool_unpaired_for (model, key, e->id)->extra_gets++;
      else
        g_hash_table_insert (model->pool_objects, key, pool);
      pool_object_out (model, p);
      break;
    case HM_EV_POOL_RETURN:
      u = g_hash_table_lookup (model->pool_unpaired, key);
      if (G_UNLIKELY (u != NULL) && u->pool == e->id && u->extra_gets > 0)
        {
          if (--u->extra_gets == 0 && u->early_returns == 0)
            g_hash_table_remove (model->pool_unpaired, key);
          pool_object_back (model, p);
        }
      else if (g_hash_table_lookup (model->pool_objects, key) == pool)
        {
          g_hash_table_remove (model->pool_objects, key);
          pool_object_back (model, p);
        }
      else
        {
          /* Not out of this pool: its get may come next, from another
           * thread (misuse is a warning event, not a return). */
          u = pool_unpaired_for (model, key, e->id);
          if (e->ts - MIN (e->ts, u->ts) > POOL_PAIR_NS)
            u->early_returns = 0;
          u->early_returns++;
          u->tid = e->tid;
          u->ts = e->ts;
        }
      break;
    case HM_EV_POOL_FREE:
      p->freed = TRUE;
      strategy_sub (model, HM_STRATEGY_KIND_POOLS, p->live_objects * p->object_size);
      g_hash_table_foreach_remove (model->pool_objects, drop_pool_objects, &p->id);
      g_hash_table_foreach_remove (model->pool_unpaired, drop_unpaired, &p->id);
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

/* A name for an object not seen yet waits for it: a flight-recorder dump
 * names every region and pool of the run, and lists only those live in
 * its window. */
static void
name_object (HmHeapModel *model, const HmEvent *e)
{
  if (e->count == HM_OBJECT_REGION
      && g_hash_table_lookup (model->regions_by_id, &e->id) != NULL)
    {
      HmRegionStats *r = region_get (model, e->id, TRUE);
      g_free (r->name);
      r->name = g_strdup (e->text);
    }
  else if (e->count == HM_OBJECT_POOL
           && g_hash_table_lookup (model->pools_by_id, &e->id) != NULL)
    {
      HmPoolStats *p = pool_get (model, e->id);
      g_free (p->name);
      p->name = g_strdup (e->text);
    }
  else if ((e->count == HM_OBJECT_REGION || e->count == HM_OBJECT_POOL)
           && g_hash_table_size (model->pending_names) < 1000000)
    {
      guint64 *key = g_new (guint64, 1);
      *key = e->id << 2 | e->count;
      g_hash_table_replace (model->pending_names, key, g_strdup (e->text ? e->text : ""));
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
  ThreadState *thread;

  g_return_if_fail (model != NULL);
  g_return_if_fail (e != NULL);

  if (e->ts > t->last_ts)
    t->last_ts = e->ts;
  switch (e->kind)
    {
    case HM_EV_ALLOC: case HM_EV_FREE: case HM_EV_REALLOC: case HM_EV_UNMAP:
    case HM_EV_MEMPOOL: case HM_EV_REGION_CREATE: case HM_EV_REGION_ALLOC: case HM_EV_REGION_RESET:
    case HM_EV_REGION_LIVE:
    case HM_EV_REGION_FREE: case HM_EV_POOL_CREATE: case HM_EV_POOL_GET:
    case HM_EV_POOL_RETURN: case HM_EV_POOL_FREE:
      snap_advance (model, e->ts);
      break;
    default:
      break;
    }
  model->current_tid = e->tid;

  switch (e->kind)
    {
    case HM_EV_ALLOC:
      thread = note_thread (model, e->tid);
      model->fn_calls[e->fn < HM_FN_N ? e->fn : 0]++;
      /* a new mapping replaces whatever was mapped there (MAP_FIXED) */
      if (hm_strategy_of_fn (e->fn) == HM_STRATEGY_KIND_MMAP)
        unmap_range (model, e->addr, e->addr + e->size, e->ts, FALSE);
      record_alloc (model, e->addr, e->size, e->stack, e->ts, hm_strategy_of_fn (e->fn));
      if (thread != NULL)
        thread->last_alloc = e->addr;
      if (e->fn == HM_FN_GC_ALLOC)
        {
          model->gc.allocations++;
          model->gc.bytes_allocated += e->size;
        }
      break;
    case HM_EV_FREE:
      thread = note_thread (model, e->tid);
      {
        guint64 n = record_free (model, e->addr, e->ts, thread, hm_strategy_of_fn (e->fn));
        if (n > 0)
          {
            t->frees += n;
            model->fn_calls[e->fn < HM_FN_N ? e->fn : 0]++;
          }
      }
      break;
    case HM_EV_UNMAP:
      note_thread (model, e->tid);
      /* munmap of what the program mapped; other ranges (files, memory
       * the trace never saw mapped) are not the heap's business */
      if (unmap_range (model, e->addr, e->addr + e->size, e->ts, TRUE) > 0)
        model->fn_calls[HM_FN_MUNMAP]++;
      break;
    case HM_EV_REALLOC:
      thread = note_thread (model, e->tid);
      if (hm_strategy_of_fn (e->fn) == HM_STRATEGY_KIND_MMAP)
        {
          /* mremap: only of memory the program mapped anonymously */
          guint64 old_size = e->old_size;
          if (old_size == 0)
            {
              LiveBlock *old = live_find (&model->live, e->old_addr);
              old_size = old != NULL ? old->size : 1;
            }
          if (unmap_range (model, e->old_addr, e->old_addr + old_size, e->ts, FALSE) == 0)
            break;
          unmap_range (model, e->addr, e->addr + e->size, e->ts, FALSE);
        }
      else if (e->old_addr != 0)
        /* A realloc is one allocation call; the old block just ends (and is
         * not a temporary allocation: it lives on in the new one). */
        record_free (model, e->old_addr, e->ts, NULL, hm_strategy_of_fn (e->fn));
      model->fn_calls[e->fn < HM_FN_N ? e->fn : 0]++;
      record_alloc (model, e->addr, e->size, e->stack, e->ts, hm_strategy_of_fn (e->fn));
      if (thread != NULL)
        thread->last_alloc = e->addr;
      break;
    case HM_EV_REGION_CREATE:
    case HM_EV_REGION_ALLOC:
    case HM_EV_REGION_LIVE:
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
    case HM_EV_PROFILE_DECISION:
      if (model->decisions->len < 1000000)
        {
          HmProfileDecision *d = g_new0 (HmProfileDecision, 1);
          d->ts = e->ts;
          d->choice = e->count < HM_PROFILE_CHOICE_N ? (HmProfileChoice) e->count
                                                     : HM_PROFILE_CHOICE_DEFAULT;
          d->site = g_utf8_make_valid (e->key ? e->key : "", -1);
          d->why = g_utf8_make_valid (e->text ? e->text : "", -1);
          g_ptr_array_add (model->decisions, d);
        }
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
      /* before any allocation (the first chunk); a value out of range is
       * ignored like an unknown key */
      if (g_strcmp0 (e->key, "sample_bytes") == 0 && e->text != NULL)
        {
          guint64 n = 0;
          if (g_ascii_string_to_unsigned (e->text, 10, 1, G_GUINT64_CONSTANT (1) << 40, &n, NULL))
            model->sample_bytes = n;
        }
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
    case HM_EV_RSS:
      add_rss (model, e->ts, e->size);
      break;
    case HM_EV_MEMPOOL:
      note_thread (model, e->tid);
      mempool_event (model, e);
      break;
    default:
      break;
    }

  switch (e->kind)
    {
    case HM_EV_UNMAP:
      timeline_note (model, e->ts, FALSE, TRUE);
      break;
    case HM_EV_ALLOC:
    case HM_EV_REALLOC:
    case HM_EV_REGION_ALLOC:
    case HM_EV_REGION_LIVE:
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

const HmSiteStats *
hm_heap_model_get_site (HmHeapModel *model, guint64 stack)
{
  const HmSiteStats *site;

  if (stack >= model->sites->len)
    return NULL;
  site = &g_array_index (model->sites, HmSiteStats, stack);
  return site->allocations > 0 ? site : NULL;
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

guint64
hm_heap_model_get_fn_calls (HmHeapModel *model, HmAllocFn fn)
{
  g_return_val_if_fail (model != NULL, 0);
  return (guint) fn < HM_FN_N ? model->fn_calls[fn] : 0;
}

GArray *
hm_heap_model_get_rss (HmHeapModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->rss;
}

gboolean
hm_heap_model_get_peak_rss (HmHeapModel *model, guint64 *rss_bytes, guint64 *ts)
{
  g_return_val_if_fail (model != NULL, FALSE);
  if (rss_bytes)
    *rss_bytes = model->peak_rss;
  if (ts)
    *ts = model->peak_rss_ts;
  return model->rss->len > 0;
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

/* --- any moment ----------------------------------------------------------- */

static void
breakdown_add (GHashTable *state, const SnapEntry *e)
{
  SnapEntry *slot = g_hash_table_lookup (state, &e->key);
  if (slot != NULL)
    *slot = *e;
  else
    {
      slot = g_memdup2 (e, sizeof *e);
      g_hash_table_insert (state, &slot->key, slot);
    }
}

/* Every key's entry as of the end of bucket `upto` (inclusive); the open
 * bucket and later: as of now. */
static GHashTable *
state_at (HmHeapModel *model, guint64 upto)
{
  GHashTable *state = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);

  if (upto >= model->snap_open)
    {
      /* now: every site, region and pool as it stands */
      for (guint i = 0; i < model->sites->len; i++)
        {
          const HmSiteStats *site = &g_array_index (model->sites, HmSiteStats, i);
          if (site->allocations == 0)
            continue;
          SnapEntry e;
          snap_entry_of (model, SNAP_KEY (HM_BREAKDOWN_SITE, (guint64) i), &e);
          breakdown_add (state, &e);
        }
      for (guint i = 0; i < model->regions->len; i++)
        {
          SnapEntry e;
          const HmRegionStats *r = g_ptr_array_index (model->regions, i);
          snap_entry_of (model, SNAP_KEY (HM_BREAKDOWN_REGION, r->id), &e);
          breakdown_add (state, &e);
        }
      for (guint i = 0; i < model->pools->len; i++)
        {
          SnapEntry e;
          const HmPoolStats *p = g_ptr_array_index (model->pools, i);
          snap_entry_of (model, SNAP_KEY (HM_BREAKDOWN_POOL, p->id), &e);
          breakdown_add (state, &e);
        }
      return state;
    }
  for (guint64 b = 0; b <= upto && b < HM_TIMELINE_MAX_BUCKETS; b++)
    {
      GArray *entries = model->snaps[b];
      for (guint i = 0; entries != NULL && i < entries->len; i++)
        breakdown_add (state, &g_array_index (entries, SnapEntry, i));
    }
  return state;
}

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  const HmBreakdownEntry *x = a, *y = b;
  if (x->kind != y->kind)
    return x->kind < y->kind ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

HmBreakdown *
hm_heap_model_get_breakdown (HmHeapModel *model, guint64 from_ns, guint64 to_ns)
{
  g_return_val_if_fail (model != NULL, NULL);

  HmBreakdown *b = g_new0 (HmBreakdown, 1);
  guint64 width = model->snap_bucket_ns;
  guint64 last = MAX (model->snap_open, model->totals.last_ts / width);
  guint64 to_bucket = MIN (to_ns / width, last);
  guint64 from_bucket = MIN (MIN (from_ns, to_ns) / width, to_bucket);
  g_autoptr(GHashTable) at_end = state_at (model, to_bucket);
  g_autoptr(GHashTable) at_start = from_bucket > 0 ? state_at (model, from_bucket - 1) : NULL;
  GHashTableIter iter;
  gpointer value;

  b->from_ns = from_bucket * width;
  b->to_ns = (to_bucket + 1) * width;
  b->bucket_ns = width;
  if (model->n_buckets > 0)
    {
      guint64 t = MIN (b->to_ns - 1, model->totals.last_ts) / model->bucket_ns;
      memcpy (b->live_bytes, model->timeline[MIN (t, model->n_buckets - 1)].live_bytes,
              sizeof b->live_bytes);
    }
  b->entries = g_array_new (FALSE, FALSE, sizeof (HmBreakdownEntry));
  g_hash_table_iter_init (&iter, at_end);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const SnapEntry *end = value;
      const SnapEntry *start = at_start ? g_hash_table_lookup (at_start, &end->key) : NULL;
      HmBreakdownEntry e = {
        .kind = (HmBreakdownKind) (end->key >> 56),
        .id = end->key & ((G_GUINT64_CONSTANT (1) << 56) - 1),
        .live_bytes = end->live_bytes,
        .live_count = end->live_count,
        .allocations = end->allocations - (start ? start->allocations : 0),
        .bytes = end->bytes - (start ? start->bytes : 0),
      };
      if (e.live_bytes > 0 || e.live_count > 0 || e.allocations > 0)
        g_array_append_val (b->entries, e);
    }
  g_array_sort (b->entries, compare_entries);
  return b;
}

void
hm_breakdown_free (HmBreakdown *breakdown)
{
  if (breakdown == NULL)
    return;
  g_array_unref (breakdown->entries);
  g_free (breakdown);
}

GArray *
hm_heap_model_get_site_series (HmHeapModel *model, guint64 node, guint64 *bucket_ns)
{
  GArray *series = g_array_new (FALSE, TRUE, sizeof (guint64));
  guint64 key = SNAP_KEY (HM_BREAKDOWN_SITE, node), live = 0;

  g_return_val_if_fail (model != NULL, series);
  for (guint b = 0; b < model->snap_open && b < HM_TIMELINE_MAX_BUCKETS; b++)
    {
      GArray *entries = model->snaps[b];
      if (entries != NULL && entries->len > 0)
        {
          /* sorted by key: a binary search */
          guint lo = 0, hi = entries->len;
          while (lo < hi)
            {
              guint mid = (lo + hi) / 2;
              if (g_array_index (entries, SnapEntry, mid).key < key)
                lo = mid + 1;
              else
                hi = mid;
            }
          if (lo < entries->len && g_array_index (entries, SnapEntry, lo).key == key)
            live = g_array_index (entries, SnapEntry, lo).live_bytes;
        }
      g_array_append_val (series, live);
    }
  /* the open bucket: as it stands now */
  live = node < model->sites->len ? g_array_index (model->sites, HmSiteStats, node).live_bytes : 0;
  g_array_append_val (series, live);
  if (bucket_ns != NULL)
    *bucket_ns = model->snap_bucket_ns;
  return series;
}
