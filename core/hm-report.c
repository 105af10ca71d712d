/* hm-report.c — the summary and top allocation sites of a trace, as text and JSON.
 *
 * Owns the JSON report schema (key names are an interface) and the layout of
 * the text report; the numbers all come from the heap model.
 */
#include "hm-report.h"
#include "hm-diff.h"
#include "hm-call-tree.h"

#include <glib/gi18n.h>
#include <inttypes.h>
#include <string.h>

#define DEFAULT_TOP_SITES 10
#define DEFAULT_FRAMES_PER_SITE 5

void
hm_report_options_init (HmReportOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->top_sites = DEFAULT_TOP_SITES;
  options->frames_per_site = DEFAULT_FRAMES_PER_SITE;
}

/* ---- formatting -------------------------------------------------------- */

char *
hm_report_format_size (guint64 bytes)
{
  static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
  double value = (double) bytes;
  guint unit = 0;

  if (bytes < 1024)
    return g_strdup_printf ("%" PRIu64 " B", bytes);

  value /= 1024.0;
  /* Move up while the rounded value would print as 1024.0 or more. */
  while (value >= 1023.95 && unit + 1 < G_N_ELEMENTS (units))
    {
      value /= 1024.0;
      unit++;
    }
  return g_strdup_printf ("%.1f %s", value, units[unit]);
}

char *
hm_report_format_duration (guint64 ns)
{
  if (ns < 1000)
    return g_strdup_printf ("%" PRIu64 " ns", ns);
  if (ns < 1000 * 1000)
    return g_strdup_printf ("%.1f µs", ns / 1e3);
  if (ns < G_GUINT64_CONSTANT (1000) * 1000 * 1000)
    return g_strdup_printf ("%.1f ms", ns / 1e6);
  return g_strdup_printf ("%.2f s", ns / 1e9);
}

static const char *
end_reason_name (HmEndReason reason)
{
  switch (reason)
    {
    case HM_END_EXIT: return "exit";
    case HM_END_EXEC: return "exec";
    case HM_END_DETACH: return "detach";
    case HM_END_SIGNAL: return "signal";
    case HM_END_DUMP: return "dump";
    default: return "unknown";
    }
}

static char *
format_address (guint64 address)
{
  return g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", address);
}

/* ---- sites ------------------------------------------------------------- */

static int
compare_sites_by_bytes (gconstpointer a, gconstpointer b)
{
  const HmSiteStats *x = *(const HmSiteStats * const *) a;
  const HmSiteStats *y = *(const HmSiteStats * const *) b;

  if (x->bytes != y->bytes)
    return x->bytes > y->bytes ? -1 : 1;
  if (x->stack != y->stack)
    return x->stack < y->stack ? -1 : 1;
  return 0;
}

GPtrArray *
hm_report_get_sorted_sites (HmHeapModel *model)
{
  GPtrArray *sites;

  g_return_val_if_fail (model != NULL, NULL);

  sites = hm_heap_model_get_sites (model);
  g_ptr_array_sort (sites, compare_sites_by_bytes);
  return sites;
}

/* ---- suppressions ------------------------------------------------------- */

/* Matches every leaking site against the suppressions: fills site stack ->
 * rule (if by_site) and the rules' counts, returns what they hid. */
static void
apply_suppressions (HmHeapModel *model, HmSymbolizer *symbolizer,
                    HmSuppressions *suppressions, GHashTable *by_site,
                    guint64 *blocks, guint64 *bytes)
{
  g_autoptr(GPtrArray) sites = NULL;
  GPtrArray *rules;

  *blocks = *bytes = 0;
  if (suppressions == NULL)
    return;
  rules = hm_suppressions_get_rules (suppressions);
  for (guint r = 0; r < rules->len; r++)
    {
      HmSuppression *rule = g_ptr_array_index (rules, r);
      rule->sites = rule->blocks = rule->bytes = 0;
    }
  sites = hm_heap_model_get_sites (model);
  for (guint i = 0; i < sites->len; i++)
    {
      const HmSiteStats *site = g_ptr_array_index (sites, i);
      if (site->live_blocks == 0)
        continue;
      g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, site->stack);
      HmSuppression *rule = hm_suppressions_match (suppressions, frames, site->live_blocks,
                                                   site->live_bytes);
      if (rule == NULL)
        continue;
      *blocks += site->live_blocks;
      *bytes += site->live_bytes;
      if (by_site != NULL)
        g_hash_table_insert (by_site, GSIZE_TO_POINTER (site->stack), rule);
    }
}

/* ---- JSON -------------------------------------------------------------- */

static json_t *
json_uint (guint64 value)
{
  /* JSON integers are signed 64-bit here; no count in a trace gets near. */
  return json_integer ((json_int_t) MIN (value, (guint64) G_MAXINT64));
}

static json_t *
json_string_or_null (const char *value)
{
  json_t *string;

  if (value == NULL)
    return json_null ();
  /* Paths and names come from the traced program: not always UTF-8. */
  string = json_string (value);
  if (string == NULL)
    {
      g_autofree char *valid = g_utf8_make_valid (value, -1);
      string = json_string (valid);
    }
  return string ? string : json_null ();
}

static json_t *
frame_to_json (const HmFrameInfo *frame)
{
  g_autofree char *address = format_address (frame->address);

  return json_pack ("{s:o, s:o, s:o, s:o, s:s, s:b}",
                    "function", json_string_or_null (frame->function),
                    "file", json_string_or_null (frame->file),
                    "line", frame->line > 0 ? json_integer (frame->line) : json_null (),
                    "module", json_string_or_null (frame->module),
                    "address", address,
                    "inlined", frame->inlined);
}

/* A stack's frames (from hm_symbolizer_get_stack), innermost first. */
static json_t *
frames_to_json (GPtrArray *frames)
{
  json_t *stack = json_array ();

  for (guint i = 0; i < frames->len; i++)
    json_array_append_new (stack, frame_to_json (g_ptr_array_index (frames, i)));
  return stack;
}

/* The bounds of bucket i of n (hm_histogram_bucket(), hm_profile_bucket()):
 * values in [from, to); the last bucket of a short histogram holds every
 * bigger value too (to is G_MAXUINT64 then). */
static void
bucket_bounds (guint i, guint n, guint64 *from, guint64 *to)
{
  *from = i == 0 ? 0 : (guint64) 1 << (i - 1);
  *to = i == 0 ? 1 : (i >= 64 || (i == n - 1 && n < HM_HISTOGRAM_BUCKETS)) ? G_MAXUINT64
                                                                           : (guint64) 1 << i;
}

/* The non-empty buckets of a histogram, as [{"from", "to", "count"}]:
 * values in [from, to). */
static json_t *
histogram_to_json (const guint64 *buckets, guint n)
{
  json_t *array = json_array ();

  for (guint i = 0; i < n; i++)
    if (buckets[i] > 0)
      {
        guint64 from, to;
        bucket_bounds (i, n, &from, &to);
        json_array_append_new (array, json_pack ("{s:o, s:o, s:o}", "from", json_uint (from),
                                                 "to", json_uint (to),
                                                 "count", json_uint (buckets[i])));
      }
  return array;
}

static json_t *
site_to_json (const HmSiteStats *site, HmSymbolizer *symbolizer)
{
  g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, site->stack);
  json_t *stack = frames_to_json (frames);

  return json_pack ("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:o, s:o}}",
                    "stack_id", (json_int_t) site->stack,
                    "stack", stack,
                    "allocations", json_uint (site->allocations),
                    "bytes", json_uint (site->bytes),
                    "peak_live_bytes", json_uint (site->peak_live_bytes),
                    "leaked_bytes", json_uint (site->live_bytes),
                    "leaked_blocks", json_uint (site->live_blocks),
                    "frees", json_uint (site->frees),
                    "temporary", json_uint (site->temporary),
                    "histograms",
                      "size_bytes", histogram_to_json (site->size_histogram,
                                                       HM_PROFILE_SIZE_BUCKETS),
                      "lifetime_ns", histogram_to_json (site->lifetime_histogram,
                                                        HM_PROFILE_LIFETIME_BUCKETS));
}

static json_t *
stack_to_json (HmHeapModel *model, HmSymbolizer *symbolizer, guint64 stack_id)
{
  guint64 node = hm_heap_model_stack_node (model, stack_id);
  g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, node);

  return frames_to_json (frames);
}

static json_t *
regions_to_json (HmHeapModel *model, HmSymbolizer *symbolizer)
{
  GPtrArray *regions = hm_heap_model_get_regions (model);
  json_t *array = json_array ();

  for (guint i = 0; i < regions->len; i++)
    {
      const HmRegionStats *r = g_ptr_array_index (regions, i);
      json_array_append_new (array, json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o}",
                                               "id", json_uint (r->id),
                                               "name", json_string_or_null (r->name),
                                               "allocations", json_uint (r->allocations),
                                               "bytes", json_uint (r->bytes),
                                               "peak_bytes", json_uint (r->peak_bytes),
                                               "live_bytes", json_uint (r->live_bytes),
                                               "resets", json_uint (r->resets),
                                               "freed", r->freed,
                                               "stack", stack_to_json (model, symbolizer,
                                                                       r->create_stack)));
    }
  return array;
}

static json_t *
pools_to_json (HmHeapModel *model, HmSymbolizer *symbolizer)
{
  GPtrArray *pools = hm_heap_model_get_pools (model);
  json_t *array = json_array ();

  for (guint i = 0; i < pools->len; i++)
    {
      const HmPoolStats *p = g_ptr_array_index (pools, i);
      json_array_append_new (array, json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o}",
                                               "id", json_uint (p->id),
                                               "name", json_string_or_null (p->name),
                                               "object_size", json_uint (p->object_size),
                                               "capacity", json_uint (p->capacity),
                                               "gets", json_uint (p->gets),
                                               "returns", json_uint (p->returns),
                                               "peak_live", json_uint (p->peak_live_objects),
                                               "live_at_end", json_uint (p->live_objects),
                                               "freed", p->freed,
                                               "stack", stack_to_json (model, symbolizer,
                                                                       p->create_stack)));
      if (p->annotated)
        {
          /* a Valgrind mempool: objects of any size, counted in bytes */
          json_t *o = json_array_get (array, json_array_size (array) - 1);
          json_object_set_new (o, "valgrind_mempool", json_true ());
          json_object_set_new (o, "bytes", json_uint (p->bytes));
          json_object_set_new (o, "peak_bytes", json_uint (p->peak_bytes));
        }
    }
  return array;
}

static const char *
pointer_where_name (HmPointerWhere where)
{
  switch (where)
    {
    case HM_POINTER_IN_GLOBAL:
      return "global";
    case HM_POINTER_ON_STACK:
      return "stack";
    case HM_POINTER_IN_HEAP:
      return "heap";
    default:
      return "unknown";
    }
}

/* {"kind": "global"|"stack"|"heap", "address", "description", and "thread"
 * for a stack, "block_address", "block_size", "stack" for a heap block} */
static json_t *
location_to_json (HmHeapModel *model, HmSymbolizer *symbolizer, gint index)
{
  GArray *locations = hm_heap_model_get_warning_locations (model);
  const HmWarningLocation *l = &g_array_index (locations, HmWarningLocation, index);
  g_autofree char *address = format_address (l->address);
  json_t *o = json_pack ("{s:s, s:s, s:s}", "kind", pointer_where_name (l->where),
                         "address", address, "description", l->text);
  if (l->where == HM_POINTER_ON_STACK)
    json_object_set_new (o, "thread", json_uint (l->tid));
  if (l->where == HM_POINTER_IN_HEAP)
    {
      g_autofree char *block = format_address (l->block_addr);
      json_object_set_new (o, "block_address", json_string (block));
      json_object_set_new (o, "block_size", json_uint (l->block_size));
      json_object_set_new (o, "stack", stack_to_json (model, symbolizer, l->block_stack));
    }
  return o;
}

static json_t *
warnings_to_json (HmHeapModel *model, HmSymbolizer *symbolizer)
{
  GArray *warnings = hm_heap_model_get_warnings (model);
  json_t *array = json_array ();

  for (guint i = 0; i < warnings->len; i++)
    {
      const HmWarning *w = &g_array_index (warnings, HmWarning, i);
      g_autofree char *address = format_address (w->addr);
      json_t *o = json_pack ("{s:s, s:s, s:o, s:o, s:o, s:o}",
                             "kind", hm_warning_kind_name (w->kind),
                             "address", address,
                             "size", json_uint (w->size),
                             "time_ns", json_uint (w->ts),
                             "thread", json_uint (w->tid),
                             "stack", stack_to_json (model, symbolizer,
                                                     w->alloc_stack ? w->alloc_stack : w->stack));
      /* stack: where the memory came from when known, else the call itself */
      json_object_set_new (o, "bad_call_stack", stack_to_json (model, symbolizer, w->stack));
      if (w->free_stack != 0)
        json_object_set_new (o, "free_stack", stack_to_json (model, symbolizer, w->free_stack));
      if (w->object != 0)
        json_object_set_new (o, "object", json_uint (w->object));
      if (w->location >= 0)
        json_object_set_new (o, "pointer_location",
                             location_to_json (model, symbolizer, w->location));
      json_array_append_new (array, o);
    }
  return array;
}

static json_t *
strategies_to_json (HmHeapModel *model)
{
  json_t *o = json_object ();
  for (int k = 0; k < HM_STRATEGY_KIND_N; k++)
    {
      const HmStrategyStats *s = hm_heap_model_get_strategy (model, k);
      json_object_set_new (o, hm_strategy_kind_name (k),
                           json_pack ("{s:o, s:o, s:o, s:o}",
                                      "allocations", json_uint (s->allocations),
                                      "bytes", json_uint (s->bytes),
                                      "peak_bytes", json_uint (s->peak_bytes),
                                      "live_bytes", json_uint (s->live_bytes)));
    }
  return o;
}

static json_t *
gc_to_json (HmHeapModel *model)
{
  const HmGcTotals *gc = hm_heap_model_get_gc (model);
  return json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                    "allocations", json_uint (gc->allocations),
                    "bytes_allocated", json_uint (gc->bytes_allocated),
                    "collections", json_uint (gc->collections),
                    "freed_bytes", json_uint (gc->freed_bytes),
                    "freed_objects", json_uint (gc->freed_objects),
                    "total_pause_ns", json_uint (gc->total_pause_ns),
                    "max_pause_ns", json_uint (gc->max_pause_ns),
                    "live_bytes", json_uint (gc->live_bytes_after_last));
}

static json_t *
decisions_to_json (HmHeapModel *model)
{
  GPtrArray *decisions = hm_heap_model_get_profile_decisions (model);
  json_t *array = json_array ();

  for (guint i = 0; i < decisions->len; i++)
    {
      const HmProfileDecision *d = g_ptr_array_index (decisions, i);
      json_array_append_new (array, json_pack ("{s:o, s:s, s:o, s:o}",
                                               "site", json_string_or_null (d->site),
                                               "choice", hm_profile_choice_name (d->choice),
                                               "why", json_string_or_null (d->why),
                                               "time_ns", json_uint (d->ts)));
    }
  return array;
}

json_t *
hm_report_to_json (HmHeapModel *model,
                   HmSymbolizer *symbolizer,
                   const HmReportOptions *options)
{
  g_autoptr(HmSymbolizer) own_symbolizer = NULL;
  g_autoptr(GPtrArray) sites = NULL;
  const HmHeapTotals *totals;
  const HmTraceHeader *header;
  HmEndReason reason;
  gint64 status;
  json_t *report, *site_array;

  g_return_val_if_fail (model != NULL, NULL);

  if (symbolizer == NULL)
    symbolizer = own_symbolizer = hm_symbolizer_new_for_model (model);
  totals = hm_heap_model_get_totals (model);
  header = hm_heap_model_get_header (model);

  report = json_object ();
  json_object_set_new (report, "program", json_string_or_null (hm_heap_model_get_info (model, "exe")));
  if (hm_heap_model_get_info (model, "cmdline") != NULL)
    json_object_set_new (report, "cmdline", json_string_or_null (hm_heap_model_get_info (model, "cmdline")));
  json_object_set_new (report, "pid", header ? json_uint (header->pid) : json_null ());
  /* a flight-recorder dump: its window and what asked for it, in words */
  if (hm_heap_model_get_info (model, "flight-recorder") != NULL)
    json_object_set_new (report, "flight_recorder",
                         json_pack ("{s:s, s:s?}",
                                    "window", hm_heap_model_get_info (model, "flight-recorder"),
                                    "dump", hm_heap_model_get_info (model, "dump")));
  json_object_set_new (report, "allocations", json_uint (totals->allocations));
  json_object_set_new (report, "frees", json_uint (totals->frees));
  json_object_set_new (report, "bytes_allocated", json_uint (totals->bytes_allocated));
  json_object_set_new (report, "peak_bytes", json_uint (totals->peak_bytes));
  json_object_set_new (report, "peak_time_ns", json_uint (totals->peak_ts));
  {
    /* the resident set beside the heap (RSS events; null without them) */
    guint64 rss = 0, rss_ts = 0;
    gboolean have_rss = hm_heap_model_get_peak_rss (model, &rss, &rss_ts);
    json_object_set_new (report, "peak_rss_bytes", have_rss ? json_uint (rss) : json_null ());
    json_object_set_new (report, "peak_rss_time_ns", have_rss ? json_uint (rss_ts) : json_null ());
    json_object_set_new (report, "rss_samples",
                         json_uint (hm_heap_model_get_rss (model)->len));
    /* successful calls by function, for those that were called */
    json_t *functions = json_object ();
    for (guint fn = 0; fn < HM_FN_N; fn++)
      if (hm_heap_model_get_fn_calls (model, fn) > 0)
        json_object_set_new (functions, hm_alloc_fn_name (fn),
                             json_uint (hm_heap_model_get_fn_calls (model, fn)));
    json_object_set_new (report, "functions", functions);
  }
  json_object_set_new (report, "leaked_bytes", json_uint (totals->live_bytes));
  json_object_set_new (report, "leaked_blocks", json_uint (totals->live_blocks));
  json_object_set_new (report, "duration_ns", json_uint (totals->last_ts));
  json_object_set_new (report, "threads", json_uint (totals->n_threads));
  json_object_set_new (report, "unknown_frees", json_uint (totals->unknown_frees));
  json_object_set_new (report, "dropped_events", json_uint (totals->dropped_events));
  json_object_set_new (report, "temporary_allocations", json_uint (totals->temporary));
  if (hm_heap_model_get_sample_bytes (model) != 0)
    /* the counts and bytes of malloc & co. (totals, sites, leaks) are
     * estimates from samples, one per sample_bytes allocated on average */
    json_object_set_new (report, "sampled",
                         json_pack ("{s:o, s:b}", "sample_bytes",
                                    json_uint (hm_heap_model_get_sample_bytes (model)),
                                    "estimates", 1));
  json_object_set_new (report, "histograms",
                       json_pack ("{s:o, s:o}",
                                  "size_bytes", histogram_to_json (totals->size_histogram,
                                                                   HM_HISTOGRAM_BUCKETS),
                                  "lifetime_ns", histogram_to_json (totals->lifetime_histogram,
                                                                    HM_HISTOGRAM_BUCKETS)));
  json_object_set_new (report, "truncated", json_boolean (hm_heap_model_is_truncated (model)));
  if (hm_heap_model_is_truncated (model))
    json_object_set_new (report, "truncated_at", json_uint (hm_heap_model_get_truncated_offset (model)));
  if (hm_heap_model_get_end (model, &reason, &status))
    json_object_set_new (report, "exit", json_pack ("{s:s, s:I}",
                                                    "reason", end_reason_name (reason),
                                                    "status", (json_int_t) status));

  /* leaks, less what the suppressions hide (leaked_* above count everything) */
  {
    g_autoptr(GHashTable) suppressed_sites = g_hash_table_new (NULL, NULL);
    guint64 hidden_blocks, hidden_bytes;
    json_t *rules_json = json_array ();

    apply_suppressions (model, symbolizer, options ? options->suppressions : NULL,
                        suppressed_sites, &hidden_blocks, &hidden_bytes);
    if (options != NULL && options->suppressions != NULL)
      {
        GPtrArray *rules = hm_suppressions_get_rules (options->suppressions);
        for (guint r = 0; r < rules->len; r++)
          {
            const HmSuppression *rule = g_ptr_array_index (rules, r);
            json_array_append_new (rules_json, json_pack ("{s:o, s:o, s:o, s:o, s:o}",
                                   "pattern", json_string_or_null (rule->pattern),
                                   "source", json_string_or_null (rule->source),
                                   "sites", json_uint (rule->sites),
                                   "blocks", json_uint (rule->blocks),
                                   "bytes", json_uint (rule->bytes)));
          }
      }
    json_object_set_new (report, "leaks", json_pack ("{s:o, s:o, s:o, s:o, s:o}",
                         "bytes", json_uint (totals->live_bytes - hidden_bytes),
                         "blocks", json_uint (totals->live_blocks - hidden_blocks),
                         "suppressed_bytes", json_uint (hidden_bytes),
                         "suppressed_blocks", json_uint (hidden_blocks),
                         "suppressions", rules_json));

    site_array = json_array ();
    sites = hm_report_get_sorted_sites (model);
    for (guint i = 0; i < sites->len; i++)
      {
        const HmSiteStats *site = g_ptr_array_index (sites, i);
        json_t *o = site_to_json (site, symbolizer);
        const HmSuppression *rule = g_hash_table_lookup (suppressed_sites,
                                                         GSIZE_TO_POINTER (site->stack));
        if (rule != NULL)
          json_object_set_new (o, "suppressed_by", json_string_or_null (rule->pattern));
        json_array_append_new (site_array, o);
      }
    json_object_set_new (report, "sites", site_array);
  }

  json_object_set_new (report, "strategies", strategies_to_json (model));
  json_object_set_new (report, "regions", regions_to_json (model, symbolizer));
  json_object_set_new (report, "pools", pools_to_json (model, symbolizer));
  json_object_set_new (report, "gc", gc_to_json (model));
  json_object_set_new (report, "warnings", warnings_to_json (model, symbolizer));
  json_object_set_new (report, "profile_decisions", decisions_to_json (model));
  return report;
}

/* ---- text -------------------------------------------------------------- */

static char *
describe_end (HmHeapModel *model)
{
  HmEndReason reason;
  gint64 status;

  if (!hm_heap_model_get_end (model, &reason, &status))
    return g_strdup (_("no end recorded"));
  switch (reason)
    {
    case HM_END_EXIT:
      /* -1: the agent could not see it (injected by hmtrace attach, it does
       * not wrap main or exit) */
      if (status < 0)
        return g_strdup (_("exited"));
      return g_strdup_printf (_("exited with status %" PRId64), status);
    case HM_END_SIGNAL:
      return g_strdup_printf (_("killed by signal %" PRId64 " (%s)"), status,
                              g_strsignal ((int) status));
    case HM_END_EXEC:
      return g_strdup (_("replaced itself with exec"));
    case HM_END_DETACH:
      return g_strdup (_("tracing detached, the process went on"));
    case HM_END_DUMP:
      return g_strdup (_("a flight-recorder dump, the process went on (“leaked”: still live "
                         "at the dump)"));
    default:
      return g_strdup_printf (_("ended (reason %u)"), (guint) reason);
    }
}

static const char *
path_basename (const char *path)
{
  const char *slash = strrchr (path, '/');

  return slash ? slash + 1 : path;
}

static char *
describe_frame (const HmFrameInfo *frame)
{
  GString *text = g_string_new (frame->function);

  if (frame->file != NULL && frame->line > 0)
    g_string_append_printf (text, " (%s:%d)", frame->file, frame->line);
  else if (frame->file != NULL)
    g_string_append_printf (text, " (%s)", frame->file);
  else if (frame->module != NULL)
    g_string_append_printf (text, " (%s+0x%" G_GINT64_MODIFIER "x)",
                            path_basename (frame->module), frame->module_offset);
  else
    g_string_append_printf (text, " (0x%" G_GINT64_MODIFIER "x)", frame->address);
  if (frame->inlined)
    g_string_append (text, _(" [inlined]"));
  return g_string_free (text, FALSE);
}

static void
print_summary_row (FILE *out, const char *label, const char *value)
{
  /* Labels may be translated: pad by characters, not bytes. */
  glong width = g_utf8_strlen (label, -1);

  fprintf (out, "  %s%*s  %s\n", label, (int) MAX (0, 16 - width), "", value);
}

static void
print_summary (FILE *out, HmHeapModel *model, const HmReportOptions *options)
{
  const HmHeapTotals *totals = hm_heap_model_get_totals (model);
  const HmTraceHeader *header = hm_heap_model_get_header (model);
  const char *program = hm_heap_model_get_info (model, "exe");
  const char *cmdline = hm_heap_model_get_info (model, "cmdline");
  g_autofree char *duration = hm_report_format_duration (totals->last_ts);
  g_autofree char *end = describe_end (model);
  g_autofree char *allocated = hm_report_format_size (totals->bytes_allocated);
  g_autofree char *peak = hm_report_format_size (totals->peak_bytes);
  g_autofree char *peak_at = hm_report_format_duration (totals->peak_ts);
  g_autofree char *leaked = hm_report_format_size (totals->live_bytes);
  g_autofree char *row = NULL;

  if (options->trace_name != NULL)
    fprintf (out, _("Trace %s\n"), options->trace_name);

  if (program != NULL && header != NULL)
    row = g_strdup_printf (_("%s (pid %u)"), program, header->pid);
  else if (program != NULL)
    row = g_strdup (program);
  else if (header != NULL)
    row = g_strdup_printf (_("pid %u"), header->pid);
  else
    row = g_strdup (_("unknown"));
  print_summary_row (out, _("program"), row);
  if (cmdline != NULL)
    print_summary_row (out, _("command line"), cmdline);
  g_clear_pointer (&row, g_free);
  if (hm_heap_model_get_info (model, "flight-recorder") != NULL)
    {
      /* the agent's words, untranslated: they are data in the trace */
      row = g_strdup_printf ("%s; dump by %s", hm_heap_model_get_info (model, "flight-recorder"),
                             hm_heap_model_get_info (model, "dump") ? hm_heap_model_get_info (model, "dump") : "?");
      print_summary_row (out, _("flight recorder"), row);
      g_clear_pointer (&row, g_free);
    }

  row = g_strdup_printf ("%s, %s", duration, end);
  print_summary_row (out, _("duration"), row);
  g_clear_pointer (&row, g_free);

  if (hm_heap_model_get_sample_bytes (model) != 0)
    {
      row = g_strdup_printf (_("one per %" PRIu64 " bytes; numbers are estimates"),
                             hm_heap_model_get_sample_bytes (model));
      print_summary_row (out, _("sampled"), row);
      g_clear_pointer (&row, g_free);
    }

  row = g_strdup_printf ("%" PRIu64, totals->allocations);
  print_summary_row (out, _("allocations"), row);
  g_clear_pointer (&row, g_free);
  row = g_strdup_printf ("%" PRIu64, totals->frees);
  print_summary_row (out, _("frees"), row);
  g_clear_pointer (&row, g_free);
  print_summary_row (out, _("bytes allocated"), allocated);

  row = g_strdup_printf (_("%s at %s"), peak, peak_at);
  print_summary_row (out, _("peak heap"), row);
  g_clear_pointer (&row, g_free);
  {
    guint64 rss = 0, rss_ts = 0;
    if (hm_heap_model_get_peak_rss (model, &rss, &rss_ts))
      {
        g_autofree char *rss_text = hm_report_format_size (rss);
        g_autofree char *rss_at = hm_report_format_duration (rss_ts);
        row = g_strdup_printf (_("%s at %s"), rss_text, rss_at);
        print_summary_row (out, _("peak RSS"), row);
        g_clear_pointer (&row, g_free);
      }
  }

  row = g_strdup_printf (g_dngettext (NULL, "%s in %" PRIu64 " block",
                                      "%s in %" PRIu64 " blocks", totals->live_blocks),
                         leaked, totals->live_blocks);
  if (hm_heap_model_get_sample_bytes (model) != 0)
    {
      /* live at exit, weighed from the samples: no scan looked at them */
      char *estimated = g_strdup_printf (_("%s (estimated: live at exit)"), row);
      g_free (row);
      row = estimated;
    }
  print_summary_row (out, _("leaked"), row);
  g_clear_pointer (&row, g_free);

  row = g_strdup_printf (_("%" PRIu64 " (%.1f%% of allocations; freed by their thread before "
                           "it allocated again)"), totals->temporary,
                         totals->allocations ? 100.0 * (double) totals->temporary
                                               / (double) totals->allocations : 0.0);
  print_summary_row (out, _("temporary"), row);
  g_clear_pointer (&row, g_free);

  row = g_strdup_printf ("%u", totals->n_threads);
  print_summary_row (out, _("threads"), row);
  g_clear_pointer (&row, g_free);

  if (totals->unknown_frees > 0)
    {
      row = g_strdup_printf (_("%" PRIu64 " (of blocks allocated before tracing began, or not by malloc)"),
                             totals->unknown_frees);
      print_summary_row (out, _("unknown frees"), row);
      g_clear_pointer (&row, g_free);
    }
  if (totals->dropped_events > 0)
    {
      row = g_strdup_printf (_("%" PRIu64 " (the totals miss them)"), totals->dropped_events);
      print_summary_row (out, _("dropped events"), row);
      g_clear_pointer (&row, g_free);
    }
  if (hm_heap_model_is_truncated (model))
    fprintf (out, _("  The trace is cut at byte %" PRIu64
                    ": this is what was recorded before.\n"),
             hm_heap_model_get_truncated_offset (model));
}

/* A stack's first frames (limit 0: all), one a line after indent spaces. */
static void
print_frames (FILE *out, GPtrArray *frames, guint limit, int indent)
{
  guint n = limit > 0 ? MIN (limit, frames->len) : frames->len;

  for (guint f = 0; f < n; f++)
    {
      g_autofree char *text = describe_frame (g_ptr_array_index (frames, f));
      fprintf (out, "%*s%s\n", indent, "", text);
    }
}

enum { COL_RANK, COL_BYTES, COL_CALLS, COL_PEAK, COL_LEAKED, N_COLUMNS };

static void
print_row (FILE *out, char *const cells[N_COLUMNS], const int widths[N_COLUMNS])
{
  fprintf (out, "  ");
  for (guint c = 0; c < N_COLUMNS; c++)
    {
      int pad = widths[c] - (int) g_utf8_strlen (cells[c], -1);

      /* Numbers right-aligned; the last column left-aligned, unpadded. */
      if (c + 1 < N_COLUMNS)
        fprintf (out, "%*s%s  ", MAX (pad, 0), "", cells[c]);
      else
        fprintf (out, "%s\n", cells[c]);
    }
}

/* One bucket as people read it: "[16 B, 32 B)", "[1.0 µs, 2.1 µs)",
 * "≥ 2.0 GiB" for an open last bucket. */
static char *
bucket_label (guint i, guint n, gboolean times)
{
  guint64 from, to;
  char *(*format) (guint64) = times ? hm_report_format_duration : hm_report_format_size;

  bucket_bounds (i, n, &from, &to);
  if (i == 0)
    return format (0);
  g_autofree char *low = format (from);
  if (to == G_MAXUINT64)
    return g_strdup_printf ("≥ %s", low);
  g_autofree char *high = format (to);
  return g_strdup_printf ("[%s, %s)", low, high);
}

static guint64
histogram_total (const guint64 *buckets, guint n)
{
  guint64 total = 0;

  for (guint i = 0; i < n; i++)
    total += buckets[i];
  return total;
}

/* A histogram as bars, one line a non-empty bucket. */
static void
print_histogram (FILE *out, const char *title, const guint64 *buckets, guint n, gboolean times)
{
  guint64 total = histogram_total (buckets, n), most = 0;
  int width = 0;

  fprintf (out, "\n%s\n", title);
  if (total == 0)
    {
      fprintf (out, "  %s\n", _("(none)"));
      return;
    }
  for (guint i = 0; i < n; i++)
    if (buckets[i] > 0)
      {
        g_autofree char *label = bucket_label (i, n, times);
        width = MAX (width, (int) g_utf8_strlen (label, -1));
        most = MAX (most, buckets[i]);
      }
  for (guint i = 0; i < n; i++)
    if (buckets[i] > 0)
      {
        g_autofree char *label = bucket_label (i, n, times);
        int bar = (int) ((buckets[i] * 40 + most - 1) / most);
        g_autofree char *bars = g_strnfill (bar, '#');
        int pad = width - (int) g_utf8_strlen (label, -1);
        fprintf (out, "  %s%*s  %-40s %" PRIu64 " (%.1f%%)\n", label, pad, "", bars, buckets[i],
                 100.0 * (double) buckets[i] / (double) total);
      }
}

/* A site's histogram in one line: its three fullest buckets with their
 * shares, "[16 B, 32 B) 92%, [32 B, 64 B) 8%". */
static char *
histogram_line (const guint64 *buckets, guint n, gboolean times)
{
  guint64 total = histogram_total (buckets, n);
  gboolean used[HM_HISTOGRAM_BUCKETS] = { FALSE, };
  GString *line = g_string_new (NULL);

  for (guint k = 0; k < 3 && total > 0; k++)
    {
      gint best = -1;
      for (guint i = 0; i < n; i++)
        if (!used[i] && buckets[i] > 0 && (best < 0 || buckets[i] > buckets[best]))
          best = (gint) i;
      if (best < 0)
        break;
      used[best] = TRUE;
      g_autofree char *label = bucket_label ((guint) best, n, times);
      g_string_append_printf (line, "%s%s %.0f%%", k > 0 ? ", " : "", label,
                              100.0 * (double) buckets[best] / (double) total);
    }
  if (line->len == 0)
    g_string_append (line, "–");
  return g_string_free (line, FALSE);
}

static void
print_histograms (FILE *out, HmHeapModel *model, const HmReportOptions *options)
{
  const HmHeapTotals *totals = hm_heap_model_get_totals (model);

  if (!options->histograms)
    return;
  print_histogram (out, _("Allocation sizes (all sites):"), totals->size_histogram,
                   HM_HISTOGRAM_BUCKETS, FALSE);
  print_histogram (out, _("Lifetimes of freed blocks (all sites):"), totals->lifetime_histogram,
                   HM_HISTOGRAM_BUCKETS, TRUE);
}

static void
print_sites (FILE *out, HmHeapModel *model, HmSymbolizer *symbolizer,
             const HmReportOptions *options)
{
  g_autoptr(GPtrArray) sites = hm_report_get_sorted_sites (model);
  guint n_shown = options->top_sites > 0 ? MIN (options->top_sites, sites->len) : sites->len;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  char *headings[N_COLUMNS] = {
    (char *) "#", _("allocated"), _("calls"), _("peak live"), _("leaked"),
  };
  int widths[N_COLUMNS] = { 0, };

  fprintf (out, "\n");
  if (sites->len == 0)
    {
      fprintf (out, _("No allocation sites.\n"));
      return;
    }
  if (n_shown < sites->len)
    fprintf (out, _("Top %u of %u allocation sites, by bytes allocated:\n\n"), n_shown, sites->len);
  else
    fprintf (out, g_dngettext (NULL, "%u allocation site, by bytes allocated:\n\n",
                               "%u allocation sites, by bytes allocated:\n\n", sites->len),
             sites->len);

  for (guint i = 0; i < n_shown; i++)
    {
      const HmSiteStats *site = g_ptr_array_index (sites, i);
      char **cells = g_new0 (char *, N_COLUMNS + 1);
      g_autofree char *leaked = hm_report_format_size (site->live_bytes);

      cells[COL_RANK] = g_strdup_printf ("%u", i + 1);
      cells[COL_BYTES] = hm_report_format_size (site->bytes);
      cells[COL_CALLS] = g_strdup_printf ("%" PRIu64, site->allocations);
      cells[COL_PEAK] = hm_report_format_size (site->peak_live_bytes);
      if (site->live_blocks > 0)
        cells[COL_LEAKED] = g_strdup_printf (g_dngettext (NULL, "%s in %" PRIu64 " block",
                                                          "%s in %" PRIu64 " blocks",
                                                          site->live_blocks),
                                             leaked, site->live_blocks);
      else
        cells[COL_LEAKED] = g_strdup ("-");
      g_ptr_array_add (rows, cells);
    }

  for (guint c = 0; c < N_COLUMNS; c++)
    {
      widths[c] = (int) g_utf8_strlen (headings[c], -1);
      for (guint i = 0; i < rows->len; i++)
        widths[c] = MAX (widths[c], (int) g_utf8_strlen (((char **) g_ptr_array_index (rows, i))[c], -1));
    }

  print_row (out, headings, widths);
  for (guint i = 0; i < n_shown; i++)
    {
      const HmSiteStats *site = g_ptr_array_index (sites, i);
      g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, site->stack);
      guint n_frames = options->frames_per_site > 0 ? MIN (options->frames_per_site, frames->len)
                                                    : frames->len;
      int indent = widths[COL_RANK] + 4;

      print_row (out, g_ptr_array_index (rows, i), widths);
      if (options->histograms)
        {
          g_autofree char *sizes = histogram_line (site->size_histogram, HM_PROFILE_SIZE_BUCKETS,
                                                   FALSE);
          g_autofree char *lifetimes = histogram_line (site->lifetime_histogram,
                                                       HM_PROFILE_LIFETIME_BUCKETS, TRUE);
          /* Translators: a site's most common sizes and lifetimes, with shares */
          fprintf (out, _("%*ssizes: %s · lifetimes: %s\n"), indent, "", sizes, lifetimes);
        }
      if (frames->len == 0)
        fprintf (out, "%*s%s\n", indent, "", _("(no stack recorded)"));
      print_frames (out, frames, n_frames, indent);
      if (n_frames < frames->len)
        fprintf (out, g_dngettext (NULL, "%*s… %u more frame\n", "%*s… %u more frames\n",
                                   frames->len - n_frames),
                 indent, "", frames->len - n_frames);
    }
}

/* What the suppressions hid, rule by rule, when they hid anything. */
static void
print_suppressed (FILE *out, HmHeapModel *model, HmSymbolizer *symbolizer,
                  const HmReportOptions *options)
{
  guint64 blocks, bytes;

  if (options->suppressions == NULL)
    return;
  apply_suppressions (model, symbolizer, options->suppressions, NULL, &blocks, &bytes);
  if (blocks == 0)
    return;
  g_autofree char *total = hm_report_format_size (bytes);
  fprintf (out, g_dngettext (NULL, "\nSuppressed leaks: %s in %" PRIu64 " block\n",
                             "\nSuppressed leaks: %s in %" PRIu64 " blocks\n", blocks),
           total, blocks);
  GPtrArray *rules = hm_suppressions_get_rules (options->suppressions);
  for (guint r = 0; r < rules->len; r++)
    {
      const HmSuppression *rule = g_ptr_array_index (rules, r);
      if (rule->blocks == 0)
        continue;
      g_autofree char *size = hm_report_format_size (rule->bytes);
      fprintf (out, "  leak:%-28s %10s in %" PRIu64 " blocks, %" PRIu64 " sites  (%s)\n",
               rule->pattern, size, rule->blocks, rule->sites, rule->source);
    }
}

/* Bytes and peak per strategy, when more than plain malloc was used. */
static void
print_strategies (FILE *out, HmHeapModel *model)
{
  int used = 0;
  for (int k = 0; k < HM_STRATEGY_KIND_N; k++)
    used += hm_heap_model_get_strategy (model, k)->allocations > 0;
  if (used == 0 || (used == 1 && hm_heap_model_get_strategy (model, HM_STRATEGY_KIND_MALLOC)->allocations > 0))
    return;

  fprintf (out, _("\nBy strategy:\n\n  %-9s %12s %12s %12s %12s\n"), _("strategy"),
           _("allocations"), _("allocated"), _("peak"), _("live at end"));
  for (int k = 0; k < HM_STRATEGY_KIND_N; k++)
    {
      const HmStrategyStats *st = hm_heap_model_get_strategy (model, k);
      if (st->allocations == 0)
        continue;
      g_autofree char *bytes = hm_report_format_size (st->bytes);
      g_autofree char *peak = hm_report_format_size (st->peak_bytes);
      g_autofree char *live = hm_report_format_size (st->live_bytes);
      fprintf (out, "  %-9s %12" PRIu64 " %12s %12s %12s\n", hm_strategy_kind_name (k),
               st->allocations, bytes, peak, live);
    }
  const HmGcTotals *gc = hm_heap_model_get_gc (model);
  if (gc->collections > 0)
    {
      g_autofree char *freed = hm_report_format_size (gc->freed_bytes);
      g_autofree char *pause = hm_report_format_duration (gc->total_pause_ns);
      g_autofree char *max_pause = hm_report_format_duration (gc->max_pause_ns);
      fprintf (out, _("  GC: %" PRIu64 " collections freed %s; pauses %s in all, %s at most\n"),
               gc->collections, freed, pause, max_pause);
    }
}

static void
print_regions_and_pools (FILE *out, HmHeapModel *model)
{
  GPtrArray *regions = hm_heap_model_get_regions (model);
  GPtrArray *pools = hm_heap_model_get_pools (model);

  if (regions->len > 0)
    {
      fprintf (out, _("\nRegions:\n\n  %-20s %12s %12s %12s %7s  %s\n"), _("name"),
               _("allocations"), _("allocated"), _("peak"), _("resets"), _("state"));
      for (guint i = 0; i < regions->len; i++)
        {
          const HmRegionStats *r = g_ptr_array_index (regions, i);
          g_autofree char *bytes = hm_report_format_size (r->bytes);
          g_autofree char *peak = hm_report_format_size (r->peak_bytes);
          fprintf (out, "  %-20s %12" PRIu64 " %12s %12s %7" PRIu64 "  %s\n",
                   r->name ? r->name : "?", r->allocations, bytes, peak, r->resets,
                   r->freed ? _("freed") : _("alive at end"));
        }
    }
  if (pools->len > 0)
    {
      fprintf (out, _("\nPools:\n\n  %-20s %8s %9s %10s %10s %9s  %s\n"), _("type"),
               _("size"), _("capacity"), _("gets"), _("returns"), _("peak out"), _("state"));
      for (guint i = 0; i < pools->len; i++)
        {
          const HmPoolStats *p = g_ptr_array_index (pools, i);
          fprintf (out, "  %-20s %8" PRIu64 " %9" PRIu64 " %10" PRIu64 " %10" PRIu64
                   " %9" PRIu64 "  %s\n",
                   p->name ? p->name : "?", p->object_size, p->capacity, p->gets, p->returns,
                   p->peak_live_objects, p->freed ? _("freed") : _("alive at end"));
        }
    }
}

static void
print_stack (FILE *out, HmHeapModel *model, HmSymbolizer *symbolizer,
             const HmReportOptions *options, const char *title, guint64 stack)
{
  if (stack == 0)
    return;
  guint64 node = hm_heap_model_stack_node (model, stack);
  g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, node);
  if (frames->len == 0)
    return;
  fprintf (out, "     %s:\n", title);
  for (guint f = 0; f < frames->len && f < options->frames_per_site; f++)
    {
      g_autofree char *frame = describe_frame (g_ptr_array_index (frames, f));
      fprintf (out, "       %s\n", frame);
    }
}

static void
print_warnings (FILE *out, HmHeapModel *model, HmSymbolizer *symbolizer,
                const HmReportOptions *options)
{
  GArray *warnings = hm_heap_model_get_warnings (model);

  if (warnings->len == 0)
    return;
  fprintf (out, _("\nWarnings: %u\n"), warnings->len);
  /* by kind, in time order within a kind */
  g_autofree guint *order = g_new (guint, warnings->len);
  guint n = 0;
  for (int kind = 1; kind < HM_WARNING_N; kind++)
    for (guint i = 0; i < warnings->len; i++)
      if ((int) g_array_index (warnings, HmWarning, i).kind == kind)
        order[n++] = i;
  for (guint i = 0; i < warnings->len; i++)
    {
      int kind = (int) g_array_index (warnings, HmWarning, i).kind;
      if (kind < 1 || kind >= HM_WARNING_N)
        order[n++] = i;
    }
  for (guint i = 0; i < warnings->len && i < 50; i++)
    {
      const HmWarning *w = &g_array_index (warnings, HmWarning, order[i]);
      g_autofree char *size = hm_report_format_size (w->size);
      fprintf (out, "\n  %s at 0x%" PRIx64 " (%s)\n", hm_warning_kind_name (w->kind), w->addr,
               size);
      if (w->location >= 0)
        {
          GArray *locations = hm_heap_model_get_warning_locations (model);
          const HmWarningLocation *l =
            &g_array_index (locations, HmWarningLocation, w->location);
          fprintf (out, _("     pointer held in %s, at 0x%" PRIx64 "\n"), l->text, l->address);
          if (l->where == HM_POINTER_IN_HEAP)
            print_stack (out, model, symbolizer, options, _("holding block allocated at"),
                         l->block_stack);
        }
      print_stack (out, model, symbolizer, options, _("bad call"), w->stack);
      print_stack (out, model, symbolizer, options, _("allocated at"), w->alloc_stack);
      print_stack (out, model, symbolizer, options, _("freed at"), w->free_stack);
    }
  if (warnings->len > 50)
    fprintf (out, _("\n  … and %u more (hmtrace report --json lists them all)\n"),
             warnings->len - 50);
}

static void
print_decisions (FILE *out, HmHeapModel *model)
{
  GPtrArray *decisions = hm_heap_model_get_profile_decisions (model);

  if (decisions->len == 0)
    return;
  fprintf (out, g_dngettext (NULL, "\nProfile applied: %u decision\n\n",
                             "\nProfile applied: %u decisions\n\n", decisions->len),
           decisions->len);
  for (guint i = 0; i < decisions->len && i < 100; i++)
    {
      const HmProfileDecision *d = g_ptr_array_index (decisions, i);
      fprintf (out, "  %-32s %-7s %s\n", d->site, hm_profile_choice_name (d->choice), d->why);
    }
  if (decisions->len > 100)
    fprintf (out, _("  … and %u more (hmtrace report --json lists them all)\n"),
             decisions->len - 100);
}

void
hm_report_print_text (FILE *out,
                      HmHeapModel *model,
                      HmSymbolizer *symbolizer,
                      const HmReportOptions *options)
{
  g_autoptr(HmSymbolizer) own_symbolizer = NULL;
  HmReportOptions defaults;

  g_return_if_fail (out != NULL);
  g_return_if_fail (model != NULL);

  if (options == NULL)
    {
      hm_report_options_init (&defaults);
      options = &defaults;
    }
  if (symbolizer == NULL)
    symbolizer = own_symbolizer = hm_symbolizer_new_for_model (model);

  print_summary (out, model, options);
  print_strategies (out, model);
  print_histograms (out, model, options);
  print_sites (out, model, symbolizer, options);
  print_suppressed (out, model, symbolizer, options);
  print_regions_and_pools (out, model);
  print_decisions (out, model);
  print_warnings (out, model, symbolizer, options);
}

/* ---- two recordings ------------------------------------------------------ */

static json_t *
diff_stats_to_json (const HmSiteStats *s)
{
  return json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                    "allocations", json_uint (s->allocations),
                    "bytes", json_uint (s->bytes),
                    "frees", json_uint (s->frees),
                    "peak_live_bytes", json_uint (s->peak_live_bytes),
                    "leaked_bytes", json_uint (s->live_bytes),
                    "leaked_blocks", json_uint (s->live_blocks),
                    "temporary", json_uint (s->temporary));
}

static json_t *
json_delta (guint64 a, guint64 b)
{
  return json_integer ((json_int_t) b - (json_int_t) a);
}

static json_t *
diff_totals_to_json (HmHeapModel *model)
{
  const HmHeapTotals *t = hm_heap_model_get_totals (model);
  return json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o}",
                    "allocations", json_uint (t->allocations),
                    "bytes_allocated", json_uint (t->bytes_allocated),
                    "peak_bytes", json_uint (t->peak_bytes),
                    "leaked_bytes", json_uint (t->live_bytes),
                    "leaked_blocks", json_uint (t->live_blocks),
                    "temporary_allocations", json_uint (t->temporary));
}

json_t *
hm_report_diff_to_json (HmHeapModel *a, HmSymbolizer *symbolizer_a,
                        HmHeapModel *b, HmSymbolizer *symbolizer_b)
{
  g_autoptr(GPtrArray) sites = hm_diff_sites (a, symbolizer_a, b, symbolizer_b);
  json_t *report = json_object ();
  json_t *changed = json_array ();
  guint unchanged = 0;

  json_object_set_new (report, "a", diff_totals_to_json (a));
  json_object_set_new (report, "b", diff_totals_to_json (b));
  for (guint i = 0; i < sites->len; i++)
    {
      const HmDiffSite *d = g_ptr_array_index (sites, i);
      if (!hm_diff_site_changed (d))
        {
          unchanged++;
          continue;
        }
      json_t *stack = frames_to_json (d->frames);
      json_array_append_new (changed, json_pack (
        "{s:o, s:b, s:b, s:o, s:o, s:{s:o, s:o, s:o, s:o, s:o}}",
        "stack", stack, "in_a", d->in_a, "in_b", d->in_b,
        "a", diff_stats_to_json (&d->a), "b", diff_stats_to_json (&d->b),
        "delta",
          "allocations", json_delta (d->a.allocations, d->b.allocations),
          "bytes", json_delta (d->a.bytes, d->b.bytes),
          "peak_live_bytes", json_delta (d->a.peak_live_bytes, d->b.peak_live_bytes),
          "leaked_bytes", json_delta (d->a.live_bytes, d->b.live_bytes),
          "leaked_blocks", json_delta (d->a.live_blocks, d->b.live_blocks)));
    }
  json_object_set_new (report, "changed_sites", changed);
  json_object_set_new (report, "unchanged_sites", json_integer (unchanged));
  return report;
}

static char *
format_size_delta (guint64 a, guint64 b)
{
  g_autofree char *size = hm_report_format_size (a > b ? a - b : b - a);
  return a == b ? g_strdup ("=") : g_strdup_printf ("%s%s", b > a ? "+" : "−", size);
}

static char *
format_count_delta (guint64 a, guint64 b)
{
  return a == b ? g_strdup ("=") : g_strdup_printf ("%s%" PRIu64, b > a ? "+" : "−",
                                                   a > b ? a - b : b - a);
}

void
hm_report_print_diff_text (FILE *out, const char *name_a, HmHeapModel *a,
                           HmSymbolizer *symbolizer_a, const char *name_b, HmHeapModel *b,
                           HmSymbolizer *symbolizer_b, const HmReportOptions *options)
{
  g_autoptr(GPtrArray) sites = hm_diff_sites (a, symbolizer_a, b, symbolizer_b);
  const HmHeapTotals *ta = hm_heap_model_get_totals (a), *tb = hm_heap_model_get_totals (b);
  guint n_changed = 0, shown = 0;
  HmReportOptions defaults;

  if (options == NULL)
    {
      hm_report_options_init (&defaults);
      options = &defaults;
    }
  fprintf (out, _("Difference from A to B\n  A  %s\n  B  %s\n\n"), name_a, name_b);
  {
    g_autofree char *d_alloc = format_count_delta (ta->allocations, tb->allocations);
    g_autofree char *d_bytes = format_size_delta (ta->bytes_allocated, tb->bytes_allocated);
    g_autofree char *d_peak = format_size_delta (ta->peak_bytes, tb->peak_bytes);
    g_autofree char *d_leak = format_size_delta (ta->live_bytes, tb->live_bytes);
    print_summary_row (out, _("allocations"), d_alloc);
    print_summary_row (out, _("bytes allocated"), d_bytes);
    print_summary_row (out, _("peak heap"), d_peak);
    print_summary_row (out, _("leaked"), d_leak);
  }
  for (guint i = 0; i < sites->len; i++)
    n_changed += hm_diff_site_changed (g_ptr_array_index (sites, i));
  fprintf (out, "\n");
  fprintf (out, g_dngettext (NULL, "%u of %u sites changed:\n", "%u of %u sites changed:\n",
                             n_changed), n_changed, sites->len);
  for (guint i = 0; i < sites->len; i++)
    {
      const HmDiffSite *d = g_ptr_array_index (sites, i);
      if (!hm_diff_site_changed (d))
        continue;
      if (options->top_sites > 0 && shown == options->top_sites)
        {
          fprintf (out, _("  … and %u more\n"), n_changed - shown);
          break;
        }
      shown++;
      g_autofree char *d_bytes = format_size_delta (d->a.bytes, d->b.bytes);
      g_autofree char *d_calls = format_count_delta (d->a.allocations, d->b.allocations);
      g_autofree char *d_peak = format_size_delta (d->a.peak_live_bytes, d->b.peak_live_bytes);
      g_autofree char *d_leak = format_size_delta (d->a.live_bytes, d->b.live_bytes);
      fprintf (out, _("\n  %s%sallocated %s, calls %s, peak live %s, leaked %s\n"),
               !d->in_a ? _("new: ") : "", !d->in_b ? _("gone: ") : "", d_bytes, d_calls,
               d_peak, d_leak);
      print_frames (out, d->frames, options->frames_per_site, 6);
    }
}

/* ---- any moment, any range ------------------------------------------------ */

static const char *
object_name (HmHeapModel *model, HmBreakdownKind kind, guint64 id)
{
  GPtrArray *objects = kind == HM_BREAKDOWN_REGION ? hm_heap_model_get_regions (model)
                                                   : hm_heap_model_get_pools (model);
  for (guint i = 0; i < objects->len; i++)
    {
      if (kind == HM_BREAKDOWN_REGION)
        {
          const HmRegionStats *r = g_ptr_array_index (objects, i);
          if (r->id == id)
            return r->name;
        }
      else
        {
          const HmPoolStats *p = g_ptr_array_index (objects, i);
          if (p->id == id)
            return p->name;
        }
    }
  return NULL;
}

static gint
compare_by_live_then_bytes (gconstpointer a, gconstpointer b)
{
  const HmBreakdownEntry *x = *(HmBreakdownEntry *const *) a, *y = *(HmBreakdownEntry *const *) b;
  if (x->live_bytes != y->live_bytes)
    return x->live_bytes > y->live_bytes ? -1 : 1;
  if (x->bytes != y->bytes)
    return x->bytes > y->bytes ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static gint
compare_by_bytes_then_live (gconstpointer a, gconstpointer b)
{
  const HmBreakdownEntry *x = *(HmBreakdownEntry *const *) a, *y = *(HmBreakdownEntry *const *) b;
  if (x->bytes != y->bytes)
    return x->bytes > y->bytes ? -1 : 1;
  return compare_by_live_then_bytes (a, b);
}

/* The entries of one kind, biggest first (by live bytes for a moment, by
 * bytes allocated for a range). */
static GPtrArray *
entries_of (const HmBreakdown *b, HmBreakdownKind kind, gboolean range)
{
  GPtrArray *out = g_ptr_array_new ();
  for (guint i = 0; i < b->entries->len; i++)
    {
      HmBreakdownEntry *e = &g_array_index (b->entries, HmBreakdownEntry, i);
      if (e->kind == kind)
        g_ptr_array_add (out, e);
    }
  g_ptr_array_sort (out, range ? compare_by_bytes_then_live : compare_by_live_then_bytes);
  return out;
}

json_t *
hm_report_breakdown_to_json (HmHeapModel *model, HmSymbolizer *symbolizer,
                             const HmBreakdown *b, gboolean range)
{
  json_t *o = json_object ();
  json_t *strategies = json_object ();
  static const struct { HmBreakdownKind kind; const char *key; } kinds[] = {
    { HM_BREAKDOWN_SITE, "sites" }, { HM_BREAKDOWN_REGION, "regions" },
    { HM_BREAKDOWN_POOL, "pools" },
  };

  json_object_set_new (o, "from_ns", json_uint (b->from_ns));
  json_object_set_new (o, "to_ns", json_uint (b->to_ns));
  json_object_set_new (o, "resolution_ns", json_uint (b->bucket_ns));
  for (int k = 0; k < HM_STRATEGY_KIND_N; k++)
    json_object_set_new (strategies, hm_strategy_kind_name (k), json_uint (b->live_bytes[k]));
  json_object_set_new (o, "live_bytes_by_strategy", strategies);
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autoptr(GPtrArray) entries = entries_of (b, kinds[k].kind, range);
      json_t *array = json_array ();
      for (guint i = 0; i < entries->len; i++)
        {
          const HmBreakdownEntry *e = g_ptr_array_index (entries, i);
          json_t *item = json_pack ("{s:o, s:o, s:o, s:o}",
                                    "live_bytes", json_uint (e->live_bytes),
                                    "live_count", json_uint (e->live_count),
                                    "allocations", json_uint (e->allocations),
                                    "bytes", json_uint (e->bytes));
          if (e->kind == HM_BREAKDOWN_SITE)
            {
              g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, e->id);
              json_object_set_new (item, "stack", frames_to_json (frames));
            }
          else
            {
              json_object_set_new (item, "id", json_uint (e->id));
              json_object_set_new (item, "name",
                                   json_string_or_null (object_name (model, e->kind, e->id)));
            }
          json_array_append_new (array, item);
        }
      json_object_set_new (o, kinds[k].key, array);
    }
  return o;
}

void
hm_report_print_breakdown_text (FILE *out, HmHeapModel *model, HmSymbolizer *symbolizer,
                                const HmBreakdown *b, gboolean range,
                                const HmReportOptions *options)
{
  g_autofree char *from = hm_report_format_duration (b->from_ns);
  g_autofree char *to = hm_report_format_duration (b->to_ns);
  g_autoptr(GPtrArray) sites = entries_of (b, HM_BREAKDOWN_SITE, range);
  guint64 total = 0;
  guint shown = 0;

  g_autofree char *resolution = hm_report_format_duration (b->bucket_ns);
  if (range)
    fprintf (out, _("Between %s and %s (to the timeline's resolution, %s):\n\n"), from, to,
             resolution);
  else
    fprintf (out, _("Live at %s (to the timeline's resolution, %s):\n\n"), to, resolution);
  for (int k = 0; k < HM_STRATEGY_KIND_N; k++)
    total += b->live_bytes[k];
  {
    g_autofree char *t = hm_report_format_size (total);
    fprintf (out, _("  heap at %s: %s"), to, t);
  }
  for (int k = 0; k < HM_STRATEGY_KIND_N; k++)
    if (b->live_bytes[k] > 0)
      {
        g_autofree char *v = hm_report_format_size (b->live_bytes[k]);
        fprintf (out, "  %s %s", hm_strategy_kind_name (k), v);
      }
  fprintf (out, "\n\n");
  fprintf (out, range ? _("Sites by bytes allocated in the range:\n")
                      : _("Sites by bytes live then:\n"));
  for (guint i = 0; i < sites->len; i++)
    {
      const HmBreakdownEntry *e = g_ptr_array_index (sites, i);
      if ((range ? e->bytes : e->live_bytes) == 0)
        continue;
      if (options->top_sites > 0 && shown == options->top_sites)
        break;
      shown++;
      g_autofree char *live = hm_report_format_size (e->live_bytes);
      g_autofree char *bytes = hm_report_format_size (e->bytes);
      if (range)
        fprintf (out, _("\n  %s in %" PRIu64 " allocations; live at the end %s in %" PRIu64
                        " blocks\n"), bytes, e->allocations, live, e->live_count);
      else
        fprintf (out, _("\n  %s in %" PRIu64 " blocks\n"), live, e->live_count);
      g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, e->id);
      print_frames (out, frames, options->frames_per_site, 6);
    }
  if (shown == 0)
    fprintf (out, _("  (none)\n"));
  for (HmBreakdownKind kind = HM_BREAKDOWN_REGION; kind <= HM_BREAKDOWN_POOL; kind++)
    {
      g_autoptr(GPtrArray) objects = entries_of (b, kind, range);
      gboolean any = FALSE;
      for (guint i = 0; i < objects->len; i++)
        {
          const HmBreakdownEntry *e = g_ptr_array_index (objects, i);
          if (e->live_bytes == 0 && !range)
            continue;
          if (!any)
            fprintf (out, kind == HM_BREAKDOWN_REGION ? _("\nRegions:\n") : _("\nPools:\n"));
          any = TRUE;
          g_autofree char *live = hm_report_format_size (e->live_bytes);
          const char *name = object_name (model, kind, e->id);
          fprintf (out, _("  %-24s %10s live"), name ? name : "?", live);
          if (range)
            fprintf (out, _(", %" PRIu64 " allocations in the range"), e->allocations);
          fprintf (out, "\n");
        }
    }
}

/* ---- call trees --------------------------------------------------------- */

static gint
compare_nodes_by_bytes (gconstpointer a, gconstpointer b)
{
  const HmCallNode *x = *(HmCallNode *const *) a, *y = *(HmCallNode *const *) b;
  return x->bytes > y->bytes ? -1 : x->bytes < y->bytes ? 1 : g_strcmp0 (x->function, y->function);
}

/* Children worth showing: at least min_bytes, biggest first. */
static GPtrArray *
shown_children (const HmCallNode *node, guint64 min_bytes)
{
  GPtrArray *out = g_ptr_array_new ();
  for (guint i = 0; node->children != NULL && i < node->children->len; i++)
    {
      HmCallNode *c = g_ptr_array_index (node->children, i);
      if (c->bytes >= min_bytes && c->bytes > 0)
        g_ptr_array_add (out, c);
    }
  g_ptr_array_sort (out, compare_nodes_by_bytes);
  return out;
}

static json_t *
call_node_to_json (const HmCallNode *node, guint64 min_bytes)
{
  g_autoptr(GPtrArray) children = shown_children (node, min_bytes);
  json_t *array = json_array ();
  for (guint i = 0; i < children->len; i++)
    json_array_append_new (array, call_node_to_json (g_ptr_array_index (children, i), min_bytes));
  return json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                    "function", json_string_or_null (node->function),
                    "file", json_string_or_null (node->file),
                    "module", json_string_or_null (node->module),
                    "bytes", json_uint (node->bytes),
                    "allocations", json_uint (node->allocations),
                    "peak_bytes", json_uint (node->peak_bytes),
                    "leaked_bytes", json_uint (node->leaked_bytes),
                    "temporary", json_uint (node->temporary),
                    "children", array);
}

json_t *
hm_report_call_tree_to_json (const HmCallNode *root, double min_share)
{
  return call_node_to_json (root, (guint64) (min_share * (double) root->bytes));
}

static void
print_call_node (FILE *out, const HmCallNode *node, guint64 min_bytes, guint indent)
{
  g_autoptr(GPtrArray) children = shown_children (node, min_bytes);
  for (guint i = 0; i < children->len; i++)
    {
      const HmCallNode *c = g_ptr_array_index (children, i);
      g_autofree char *bytes = hm_report_format_size (c->bytes);
      g_autofree char *leaked = hm_report_format_size (c->leaked_bytes);
      g_autofree char *base = c->file ? g_path_get_basename (c->file) : NULL;
      fprintf (out, "%10s %9" PRIu64 " %10s  %*s%s%s%s%s\n", bytes, c->allocations,
               c->leaked_bytes ? leaked : "-", (int) indent * 2, "", c->function,
               base ? " (" : "", base ? base : "", base ? ")" : "");
      print_call_node (out, c, min_bytes, indent + 1);
    }
}

void
hm_report_print_call_tree (FILE *out, const HmCallNode *root, gboolean bottom_up,
                           double min_share)
{
  fprintf (out, bottom_up ? _("Bottom-up: the allocating functions, then their callers\n")
                          : _("Top-down: from the outermost callers to the allocating "
                              "functions\n"));
  fprintf (out, _("(branches under %.1f%% of the bytes allocated are left out)\n\n"),
           min_share * 100);
  fprintf (out, "%10s %9s %10s  %s\n", _("allocated"), _("calls"), _("leaked"), _("function"));
  print_call_node (out, root, (guint64) (min_share * (double) root->bytes), 0);
}
