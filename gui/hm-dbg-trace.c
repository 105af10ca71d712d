/* hm-dbg-trace.c — the heap model and symbolizer of one trace, for the views.
 *
 * A file is read in a GTask thread that owns the model until it is done; only
 * then does the model become visible here, so the main thread never races it.
 * A live trace is fed on the main thread and announces its growth with
 * "changed" at most ten times a second, which is as often as views redraw.
 */
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>

#include "hm-dbg-trace.h"

#define CHANGED_INTERVAL_MS 100
/* Events between two looks at the cancellable and the progress. */
#define LOAD_BATCH 65536

typedef struct {
  char *function;
  char *location;
} NodeLabel;

struct _HmDbgTrace
{
  GObject parent_instance;

  char *title;
  GFile *file;
  HmHeapModel *model;
  HmSymbolizer *symbolizer;
  HmTraceReader *reader;     /* live traces only */
  HmDbgTrace *baseline;      /* diff mode: the run this one is compared with */
  GHashTable *node_labels;   /* guint64 node -> NodeLabel */
  GError *error;
  guint64 size;
  gint load_permille;        /* atomic: written by the loading thread */
  guint changed_source;
  guint live : 1;
  guint finished : 1;
  guint loaded : 1;
};

G_DEFINE_FINAL_TYPE (HmDbgTrace, hm_dbg_trace, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_TITLE,
  PROP_LIVE,
  PROP_FINISHED,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
node_label_free (gpointer data)
{
  NodeLabel *label = data;

  g_free (label->function);
  g_free (label->location);
  g_free (label);
}

static void
hm_dbg_trace_finalize (GObject *object)
{
  HmDbgTrace *self = HM_DBG_TRACE (object);

  g_clear_handle_id (&self->changed_source, g_source_remove);
  g_clear_pointer (&self->node_labels, g_hash_table_unref);
  /* The symbolizer points into the model: free it first. */
  g_clear_pointer (&self->symbolizer, hm_symbolizer_free);
  g_clear_pointer (&self->model, hm_heap_model_free);
  g_clear_pointer (&self->reader, hm_trace_reader_free);
  g_clear_error (&self->error);
  g_clear_object (&self->file);
  g_clear_pointer (&self->title, g_free);

  g_clear_object (&self->baseline);
  G_OBJECT_CLASS (hm_dbg_trace_parent_class)->finalize (object);
}

static void
hm_dbg_trace_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  HmDbgTrace *self = HM_DBG_TRACE (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;

    case PROP_LIVE:
      g_value_set_boolean (value, self->live);
      break;

    case PROP_FINISHED:
      g_value_set_boolean (value, self->finished);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_trace_class_init (HmDbgTraceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hm_dbg_trace_finalize;
  object_class->get_property = hm_dbg_trace_get_property;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_LIVE] =
    g_param_spec_boolean ("live", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FINISHED] =
    g_param_spec_boolean ("finished", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The model grew (live traces) or was replaced (a finished load). */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static GHashTable *node_labels_new (void);

static void
hm_dbg_trace_init (HmDbgTrace *self)
{
  self->node_labels = node_labels_new ();
}

HmDbgTrace *
hm_dbg_trace_new_for_file (GFile *file)
{
  HmDbgTrace *self;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  self = g_object_new (HM_DBG_TYPE_TRACE, NULL);
  self->file = g_object_ref (file);
  self->title = g_file_get_basename (file);
  return self;
}

HmDbgTrace *
hm_dbg_trace_new_live (const char *title)
{
  HmDbgTrace *self;

  g_return_val_if_fail (title != NULL, NULL);

  self = g_object_new (HM_DBG_TYPE_TRACE, NULL);
  self->title = g_strdup (title);
  self->live = TRUE;
  self->loaded = TRUE;
  self->reader = hm_trace_reader_new (title);
  self->model = hm_heap_model_new ();
  self->symbolizer = hm_symbolizer_new_for_model (self->model);
  return self;
}

/* ---- loading a file ---------------------------------------------------- */

static GHashTable *
node_labels_new (void)
{
  return g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, node_label_free);
}

static const char *
path_basename (const char *path)
{
  const char *slash = strrchr (path, '/');

  return slash != NULL ? slash + 1 : path;
}

static void
add_node_label (GHashTable   *labels,
                HmSymbolizer *symbolizer,
                guint64       node)
{
  g_autoptr(GPtrArray) frames = NULL;
  NodeLabel *label = g_new0 (NodeLabel, 1);

  if (symbolizer != NULL)
    frames = hm_symbolizer_get_stack (symbolizer, node);

  if (frames == NULL || frames->len == 0)
    {
      label->function = g_strdup (_("(no stack)"));
      label->location = g_strdup ("");
    }
  else
    {
      const HmFrameInfo *frame = g_ptr_array_index (frames, 0);

      label->function = g_strdup (frame->function);
      if (frame->file != NULL && frame->line > 0)
        label->location = g_strdup_printf ("%s:%d", path_basename (frame->file), frame->line);
      else if (frame->file != NULL)
        label->location = g_strdup (path_basename (frame->file));
      else if (frame->module != NULL)
        label->location = g_strdup_printf ("%s+0x%" G_GINT64_MODIFIER "x",
                                           path_basename (frame->module), frame->module_offset);
      else
        label->location = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", frame->address);
    }
  g_hash_table_insert (labels, g_memdup2 (&node, sizeof node), label);
}

typedef struct {
  char *path;
  HmHeapModel *model;
  HmSymbolizer *symbolizer;
  GHashTable *node_labels;
  GError *stop_error;        /* what ended the read early, when not the end */
  guint64 size;
} LoadData;

static void
load_data_free (gpointer data)
{
  LoadData *load = data;

  g_clear_pointer (&load->node_labels, g_hash_table_unref);
  g_clear_pointer (&load->symbolizer, hm_symbolizer_free);
  g_clear_pointer (&load->model, hm_heap_model_free);
  g_clear_error (&load->stop_error);
  g_free (load->path);
  g_free (load);
}

/* The same judgement as hm_heap_model_load_file(), which cannot report
 * progress or be cancelled: a stream that ends inside a chunk, or without
 * the END event, is cut; an error keeps what came before it. */
static void
hm_dbg_trace_load_thread (GTask        *task,
                          gpointer      source_object,
                          gpointer      task_data,
                          GCancellable *cancellable)
{
  HmDbgTrace *self = source_object;
  LoadData *load = task_data;
  g_autoptr(HmTraceReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sites = NULL;
  GStatBuf st;
  HmEvent event;
  guint n_batch = 0;

  if (g_stat (load->path, &st) == 0)
    load->size = (guint64) st.st_size;

  reader = hm_trace_reader_open (load->path, &error);
  if (reader == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  load->model = hm_heap_model_new ();
  hm_heap_model_set_header (load->model, hm_trace_reader_get_header (reader));

  for (;;)
    {
      HmTraceReadStatus status = hm_trace_reader_next (reader, &event, &error);

      if (status == HM_TRACE_READ_EVENT)
        {
          hm_heap_model_add_event (load->model, &event);
          if (++n_batch == LOAD_BATCH)
            {
              n_batch = 0;
              if (g_task_return_error_if_cancelled (task))
                return;
              if (load->size > 0)
                g_atomic_int_set (&self->load_permille,
                                  (gint) MIN (1000, hm_trace_reader_get_offset (reader) * 1000
                                                      / load->size));
            }
          continue;
        }
      if (status == HM_TRACE_READ_END)
        {
          if (hm_trace_reader_is_truncated (reader)
              || !hm_heap_model_get_end (load->model, NULL, NULL))
            hm_heap_model_set_truncated (load->model, TRUE, hm_trace_reader_get_offset (reader));
          break;
        }
      /* A corrupt chunk: keep what was read before it, and say why. */
      hm_heap_model_set_truncated (load->model, TRUE, hm_trace_reader_get_offset (reader));
      load->stop_error = g_steal_pointer (&error);
      break;
    }

  /* Name every site here rather than on the main thread: sorting or
   * searching the sites list needs them all, and resolving is the slow part. */
  load->symbolizer = hm_symbolizer_new_for_model (load->model);
  load->node_labels = node_labels_new ();
  sites = hm_heap_model_get_sites (load->model);
  for (guint i = 0; i < sites->len; i++)
    {
      const HmSiteStats *site = g_ptr_array_index (sites, i);

      if ((i & 1023) == 0 && g_task_return_error_if_cancelled (task))
        return;
      add_node_label (load->node_labels, load->symbolizer, site->stack);
    }
  /* The first site shown (the one that allocated most) has its whole stack
   * shown at once: reading the debug information of the modules it goes
   * through is slow the first time, so it is done here too. */
  {
    const HmSiteStats *top = NULL;
    for (guint i = 0; i < sites->len; i++)
      {
        const HmSiteStats *site = g_ptr_array_index (sites, i);
        if (top == NULL || site->bytes > top->bytes)
          top = site;
      }
    if (top != NULL)
      g_ptr_array_unref (hm_symbolizer_get_stack (load->symbolizer, top->stack));
  }

  g_atomic_int_set (&self->load_permille, 1000);
  g_task_return_boolean (task, TRUE);
}

void
hm_dbg_trace_load_async (HmDbgTrace          *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  LoadData *load;

  g_return_if_fail (HM_DBG_IS_TRACE (self));
  g_return_if_fail (self->file != NULL);
  g_return_if_fail (!self->loaded);

  load = g_new0 (LoadData, 1);
  load->path = g_file_get_path (self->file);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hm_dbg_trace_load_async);
  g_task_set_task_data (task, load, load_data_free);

  if (load->path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (self->file);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("%s: only local files can be opened"), uri);
      return;
    }

  g_task_run_in_thread (task, hm_dbg_trace_load_thread);
}

gboolean
hm_dbg_trace_load_finish (HmDbgTrace    *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  LoadData *load;

  g_return_val_if_fail (HM_DBG_IS_TRACE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;

  load = g_task_get_task_data (G_TASK (result));
  self->model = g_steal_pointer (&load->model);
  self->symbolizer = g_steal_pointer (&load->symbolizer);
  g_clear_pointer (&self->node_labels, g_hash_table_unref);
  self->node_labels = g_steal_pointer (&load->node_labels);
  self->error = g_steal_pointer (&load->stop_error);
  self->size = load->size;
  self->loaded = TRUE;
  self->finished = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FINISHED]);
  g_signal_emit (self, signals[CHANGED], 0);
  return TRUE;
}

double
hm_dbg_trace_get_load_fraction (HmDbgTrace *self)
{
  g_return_val_if_fail (HM_DBG_IS_TRACE (self), 0.0);

  return g_atomic_int_get (&self->load_permille) / 1000.0;
}

/* ---- a live trace ------------------------------------------------------ */

static gboolean
emit_changed_cb (gpointer data)
{
  HmDbgTrace *self = data;

  self->changed_source = 0;
  g_signal_emit (self, signals[CHANGED], 0);
  return G_SOURCE_REMOVE;
}

static void
queue_changed (HmDbgTrace *self)
{
  if (self->changed_source == 0)
    self->changed_source = g_timeout_add (CHANGED_INTERVAL_MS, emit_changed_cb, self);
}

/* Takes every event the reader can give; FALSE when the stream is over. */
static gboolean
drain_reader (HmDbgTrace *self)
{
  HmEvent event;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      HmTraceReadStatus status = hm_trace_reader_next (self->reader, &event, &error);

      switch (status)
        {
        case HM_TRACE_READ_EVENT:
          if (hm_heap_model_get_header (self->model) == NULL)
            hm_heap_model_set_header (self->model, hm_trace_reader_get_header (self->reader));
          hm_heap_model_add_event (self->model, &event);
          break;

        case HM_TRACE_READ_NEED_MORE:
          return TRUE;

        case HM_TRACE_READ_END:
          if (hm_trace_reader_is_truncated (self->reader)
              || !hm_heap_model_get_end (self->model, NULL, NULL))
            hm_heap_model_set_truncated (self->model, TRUE,
                                         hm_trace_reader_get_offset (self->reader));
          return FALSE;

        case HM_TRACE_READ_ERROR:
        default:
          hm_heap_model_set_truncated (self->model, TRUE,
                                       hm_trace_reader_get_offset (self->reader));
          if (self->error == NULL)
            self->error = g_steal_pointer (&error);
          return FALSE;
        }
    }
}

void
hm_dbg_trace_feed (HmDbgTrace *self,
                   const void *data,
                   gsize       len)
{
  g_return_if_fail (HM_DBG_IS_TRACE (self));
  g_return_if_fail (self->live);

  if (self->finished || self->error != NULL)
    return;

  self->size += len;
  hm_trace_reader_feed (self->reader, data, len);
  drain_reader (self);
  queue_changed (self);
}

void
hm_dbg_trace_feed_eof (HmDbgTrace *self)
{
  g_return_if_fail (HM_DBG_IS_TRACE (self));
  g_return_if_fail (self->live);

  if (self->finished)
    return;

  hm_trace_reader_feed_eof (self->reader);
  if (self->error == NULL)
    drain_reader (self);
  /* An empty stream: the agent never loaded, nothing was cut. */
  if (self->size == 0)
    hm_heap_model_set_truncated (self->model, FALSE, 0);

  self->finished = TRUE;
  g_clear_handle_id (&self->changed_source, g_source_remove);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FINISHED]);
  g_signal_emit (self, signals[CHANGED], 0);
}

/* ---- what the views ask ------------------------------------------------ */

const char *
hm_dbg_trace_get_title (HmDbgTrace *self)
{
  g_return_val_if_fail (HM_DBG_IS_TRACE (self), NULL);

  return self->title;
}

GFile *
hm_dbg_trace_get_file (HmDbgTrace *self)
{
  g_return_val_if_fail (HM_DBG_IS_TRACE (self), NULL);

  return self->file;
}

gboolean
hm_dbg_trace_is_live (HmDbgTrace *self)
{
  g_return_val_if_fail (HM_DBG_IS_TRACE (self), FALSE);

  return self->live;
}

gboolean
hm_dbg_trace_is_finished (HmDbgTrace *self)
{
  g_return_val_if_fail (HM_DBG_IS_TRACE (self), FALSE);

  return self->finished;
}

HmHeapModel *
hm_dbg_trace_get_model (HmDbgTrace *self)
{
  g_return_val_if_fail (HM_DBG_IS_TRACE (self), NULL);

  return self->model;
}

HmSymbolizer *
hm_dbg_trace_get_symbolizer (HmDbgTrace *self)
{
  g_return_val_if_fail (HM_DBG_IS_TRACE (self), NULL);

  return self->symbolizer;
}

guint64
hm_dbg_trace_get_size (HmDbgTrace *self)
{
  g_return_val_if_fail (HM_DBG_IS_TRACE (self), 0);

  return self->size;
}

const GError *
hm_dbg_trace_get_error (HmDbgTrace *self)
{
  g_return_val_if_fail (HM_DBG_IS_TRACE (self), NULL);

  return self->error;
}

guint64
hm_dbg_trace_get_duration (HmDbgTrace *self)
{
  guint n_buckets = 0;
  guint64 bucket_ns = 0;
  guint64 last_ts;

  g_return_val_if_fail (HM_DBG_IS_TRACE (self), 1);

  if (self->model == NULL)
    return 1;

  last_ts = hm_heap_model_get_totals (self->model)->last_ts;
  hm_heap_model_get_timeline (self->model, &n_buckets, &bucket_ns);
  if (last_ts == 0)
    last_ts = (guint64) n_buckets * bucket_ns;
  return MAX (last_ts, 1);
}

void
hm_dbg_trace_describe_node (HmDbgTrace  *self,
                            guint64      node,
                            const char **function,
                            const char **location)
{
  NodeLabel *label;

  g_return_if_fail (HM_DBG_IS_TRACE (self));

  label = g_hash_table_lookup (self->node_labels, &node);
  if (label == NULL)
    {
      add_node_label (self->node_labels, self->symbolizer, node);
      label = g_hash_table_lookup (self->node_labels, &node);
    }

  if (function != NULL)
    *function = label->function;
  if (location != NULL)
    *location = label->location;
}

gboolean
hm_dbg_trace_get_range_stats (HmDbgTrace      *self,
                              guint64          start_ns,
                              guint64          end_ns,
                              HmDbgRangeStats *stats)
{
  const HmTimelineBucket *buckets;
  guint n_buckets = 0;
  guint64 bucket_ns = 0;
  guint first, last;

  g_return_val_if_fail (HM_DBG_IS_TRACE (self), FALSE);
  g_return_val_if_fail (stats != NULL, FALSE);

  memset (stats, 0, sizeof *stats);
  if (self->model == NULL || end_ns < start_ns)
    return FALSE;

  buckets = hm_heap_model_get_timeline (self->model, &n_buckets, &bucket_ns);
  if (n_buckets == 0 || bucket_ns == 0)
    return FALSE;

  first = (guint) MIN (start_ns / bucket_ns, n_buckets - 1);
  last = (guint) MIN (end_ns / bucket_ns, n_buckets - 1);
  stats->start_ns = start_ns;
  stats->end_ns = end_ns;
  for (guint i = first; i <= last; i++)
    {
      stats->peak_bytes = MAX (stats->peak_bytes, buckets[i].peak_total_bytes);
      stats->allocations += buckets[i].allocations;
      stats->frees += buckets[i].frees;
    }
  return TRUE;
}

/**
 * hm_dbg_trace_set_baseline:
 * @baseline: (nullable): a finished trace of the same program, or %NULL
 *
 * Diff mode: every view shows this trace compared with @baseline (what
 * changed from @baseline to this one).  Views hear of it by "changed".
 */
void
hm_dbg_trace_set_baseline (HmDbgTrace *self,
                           HmDbgTrace *baseline)
{
  g_return_if_fail (HM_DBG_IS_TRACE (self));
  g_return_if_fail (baseline == NULL || (HM_DBG_IS_TRACE (baseline) && baseline != self));

  if (g_set_object (&self->baseline, baseline))
    g_signal_emit (self, signals[CHANGED], 0);
}

HmDbgTrace *
hm_dbg_trace_get_baseline (HmDbgTrace *self)
{
  g_return_val_if_fail (HM_DBG_IS_TRACE (self), NULL);

  return self->baseline;
}

/**
 * hm_dbg_trace_build_call_tree:
 * @diff: (out) (optional): whether the tree is a diff against the baseline
 *
 * The trace's call tree (hm_call_tree_build), or in diff mode the tree of
 * both runs (hm_call_tree_build_diff, the baseline's sums in base_*).
 * Returns %NULL while the trace has no model.
 */
HmCallNode *
hm_dbg_trace_build_call_tree (HmDbgTrace              *self,
                              const HmCallTreeOptions *options,
                              gboolean                *diff)
{
  g_return_val_if_fail (HM_DBG_IS_TRACE (self), NULL);

  if (diff != NULL)
    *diff = FALSE;
  if (self->model == NULL || self->symbolizer == NULL)
    return NULL;
  if (self->baseline != NULL && self->baseline->model != NULL)
    {
      if (diff != NULL)
        *diff = TRUE;
      return hm_call_tree_build_diff (self->baseline->model, self->baseline->symbolizer,
                                      self->model, self->symbolizer, options);
    }
  return hm_call_tree_build (self->model, self->symbolizer, options);
}
