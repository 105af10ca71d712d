/* hm-export.c — collapsed stacks, pprof and massif from a model (see the
 * header).  pprof's profile.proto is encoded here by hand: a handful of
 * varint and length-delimited fields do not need a protobuf library. */
#include "hm-export.h"

#include <zlib.h>
#include <inttypes.h>
#include <string.h>

static const char *const cost_names[] = {
  [HM_COST_BYTES] = "bytes",
  [HM_COST_ALLOCATIONS] = "allocations",
  [HM_COST_PEAK] = "peak",
  [HM_COST_LEAKED] = "leaked",
  [HM_COST_TEMPORARY] = "temporary",
};

gboolean
hm_cost_from_string (const char *name, HmCost *cost)
{
  for (guint i = 0; i < G_N_ELEMENTS (cost_names); i++)
    if (name != NULL && g_str_equal (name, cost_names[i]))
      {
        *cost = (HmCost) i;
        return TRUE;
      }
  return FALSE;
}

const char *
hm_cost_name (HmCost cost)
{
  return (guint) cost < G_N_ELEMENTS (cost_names) ? cost_names[cost] : "?";
}

guint64
hm_site_cost (const HmSiteStats *site, HmCost cost)
{
  switch (cost)
    {
    case HM_COST_BYTES: return site->bytes;
    case HM_COST_ALLOCATIONS: return site->allocations;
    case HM_COST_PEAK: return site->peak_live_bytes;
    case HM_COST_LEAKED: return site->live_bytes;
    case HM_COST_TEMPORARY: return site->temporary;
    }
  return 0;
}

static const char *
function_name (const HmFrameInfo *frame)
{
  return frame->function != NULL ? frame->function : "??";
}

/* --- collapsed ------------------------------------------------------------ */

GBytes *
hm_export_collapsed (HmHeapModel *model, HmSymbolizer *symbolizer, HmCost cost)
{
  g_autoptr(GPtrArray) sites = hm_heap_model_get_sites (model);
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < sites->len; i++)
    {
      const HmSiteStats *site = g_ptr_array_index (sites, i);
      guint64 value = hm_site_cost (site, cost);
      if (value == 0)
        continue;
      g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, site->stack);
      if (frames->len == 0)
        g_string_append (out, "[unknown]");
      for (guint f = frames->len; f > 0; f--)
        {
          const char *name = function_name (g_ptr_array_index (frames, f - 1));
          for (const char *c = name; *c; c++)
            g_string_append_c (out, *c == ';' ? ':' : *c == '\n' ? ' ' : *c);
          if (f > 1)
            g_string_append_c (out, ';');
        }
      g_string_append_printf (out, " %" G_GUINT64_FORMAT "\n", value);
    }
  return g_string_free_to_bytes (out);
}

/* --- pprof ------------------------------------------------------------------ */

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

static void
put_varint (GByteArray *b, guint64 v)
{
  guint8 byte;
  do
    {
      byte = v & 0x7f;
      v >>= 7;
      if (v != 0)
        byte |= 0x80;
      g_byte_array_append (b, &byte, 1);
    }
  while (v != 0);
}

static void
put_uint (GByteArray *b, guint field, guint64 v)
{
  put_varint (b, (guint64) field << 3 | WIRE_VARINT);
  put_varint (b, v);
}

static void
put_bytes (GByteArray *b, guint field, const guint8 *data, gsize len)
{
  put_varint (b, (guint64) field << 3 | WIRE_LEN);
  put_varint (b, len);
  g_byte_array_append (b, data, (guint) len);
}

static void
put_message (GByteArray *b, guint field, GByteArray *message)
{
  put_bytes (b, field, message->data, message->len);
  g_byte_array_set_size (message, 0);
}

typedef struct {
  GHashTable *index;       /* char * -> index + 1 */
  GPtrArray *strings;      /* char *, [0] = "" */
} StringTable;

static guint64
string_index (StringTable *t, const char *s)
{
  if (s == NULL || *s == '\0')
    return 0;
  gpointer found = g_hash_table_lookup (t->index, s);
  if (found != NULL)
    return GPOINTER_TO_SIZE (found) - 1;
  char *copy = g_strdup (s);
  g_ptr_array_add (t->strings, copy);
  g_hash_table_insert (t->index, copy, GSIZE_TO_POINTER (t->strings->len));
  return t->strings->len - 1;
}

static void
put_value_type (GByteArray *profile, GByteArray *scratch, guint field, StringTable *t,
                const char *type, const char *unit)
{
  put_uint (scratch, 1, string_index (t, type));
  put_uint (scratch, 2, string_index (t, unit));
  put_message (profile, field, scratch);
}

/* zlib directly: GIO's converter streams would make every hmtrace run load
 * GIO, GObject and their libraries (a millisecond at each start) for this
 * one export. */
static GBytes *
gzip_bytes (GByteArray *raw, GError **error)
{
  z_stream z = { 0 };
  /* windowBits 15 + 16: a gzip header and trailer, not zlib's */
  if (deflateInit2 (&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "gzip: %s",
                   z.msg != NULL ? z.msg : "cannot start the compressor");
      return NULL;
    }
  uLong bound = deflateBound (&z, raw->len);
  guint8 *out = g_malloc (bound);
  z.next_in = raw->data;
  z.avail_in = raw->len;
  z.next_out = out;
  z.avail_out = bound;
  int status = deflate (&z, Z_FINISH);
  gsize len = z.total_out;
  deflateEnd (&z);
  if (status != Z_STREAM_END)
    {
      g_free (out);
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "gzip: compression failed (%d)", status);
      return NULL;
    }
  return g_bytes_new_take (out, len);
}

GBytes *
hm_export_pprof (HmHeapModel *model, HmSymbolizer *symbolizer, gboolean gzip, GError **error)
{
  g_autoptr(GPtrArray) sites = hm_heap_model_get_sites (model);
  GPtrArray *modules = hm_heap_model_get_modules (model);
  const HmHeapTotals *totals = hm_heap_model_get_totals (model);
  g_autoptr(GByteArray) profile = g_byte_array_new ();
  g_autoptr(GByteArray) scratch = g_byte_array_new ();
  g_autoptr(GByteArray) lines = g_byte_array_new ();
  g_autoptr(GByteArray) ids = g_byte_array_new ();
  g_autoptr(GHashTable) locations = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                           NULL);
  g_autoptr(GHashTable) functions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) mappings = g_hash_table_new (g_str_hash, g_str_equal);
  StringTable strings = { g_hash_table_new (g_str_hash, g_str_equal),
                          g_ptr_array_new_with_free_func (g_free) };
  GBytes *result;

  g_ptr_array_add (strings.strings, g_strdup (""));

  static const char *const types[][2] = {
    { "alloc_objects", "count" }, { "alloc_space", "bytes" }, { "inuse_objects", "count" },
    { "inuse_space", "bytes" }, { "peak_space", "bytes" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    put_value_type (profile, scratch, 1, &strings, types[i][0], types[i][1]);

  /* mappings: one per module, ids from 1 in load order */
  for (guint m = 0; m < modules->len; m++)
    {
      const HmModule *module = g_ptr_array_index (modules, m);
      if (module->path == NULL || g_hash_table_contains (mappings, module->path))
        continue;
      g_hash_table_insert (mappings, module->path, GUINT_TO_POINTER (m + 1));
      g_autofree char *build_id = NULL;
      if (module->build_id != NULL)
        {
          gsize n = 0;
          const guint8 *id = g_bytes_get_data (module->build_id, &n);
          GString *hex = g_string_new (NULL);
          for (gsize i = 0; i < n; i++)
            g_string_append_printf (hex, "%02x", id[i]);
          build_id = g_string_free (hex, FALSE);
        }
      put_uint (scratch, 1, m + 1);
      put_uint (scratch, 2, module->start);
      put_uint (scratch, 3, module->end);
      put_uint (scratch, 4, module->start - module->bias);
      put_uint (scratch, 5, string_index (&strings, module->path));
      put_uint (scratch, 6, string_index (&strings, build_id));
      put_uint (scratch, 7, 1);
      put_uint (scratch, 8, 1);
      put_uint (scratch, 9, 1);
      put_uint (scratch, 10, 1);
      put_message (profile, 3, scratch);
    }

  /* samples, and the locations and functions they use */
  for (guint i = 0; i < sites->len; i++)
    {
      const HmSiteStats *site = g_ptr_array_index (sites, i);
      g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, site->stack);

      for (guint f = 0; f < frames->len;)
        {
          /* one location: an address, its inlined calls and their caller */
          const HmFrameInfo *first = g_ptr_array_index (frames, f);
          guint end = f + 1;
          while (end < frames->len
                 && ((const HmFrameInfo *) g_ptr_array_index (frames, end - 1))->inlined
                 && ((const HmFrameInfo *) g_ptr_array_index (frames, end))->address
                    == first->address)
            end++;
          guint64 id = GPOINTER_TO_SIZE (g_hash_table_lookup (locations, &first->address));
          if (id == 0)
            {
              id = g_hash_table_size (locations) + 1;
              g_hash_table_insert (locations, g_memdup2 (&first->address, sizeof (guint64)),
                                   GSIZE_TO_POINTER (id));
              put_uint (scratch, 1, id);
              if (first->module != NULL && g_hash_table_contains (mappings, first->module))
                put_uint (scratch, 2, GPOINTER_TO_UINT (g_hash_table_lookup (mappings,
                                                                             first->module)));
              put_uint (scratch, 3, first->address);
              for (guint k = f; k < end; k++)
                {
                  const HmFrameInfo *frame = g_ptr_array_index (frames, k);
                  g_autofree char *key = g_strdup_printf ("%s\x1f%s", function_name (frame),
                                                          frame->file ? frame->file : "");
                  guint64 function = GPOINTER_TO_SIZE (g_hash_table_lookup (functions, key));
                  if (function == 0)
                    {
                      function = g_hash_table_size (functions) + 1;
                      g_hash_table_insert (functions, g_steal_pointer (&key),
                                           GSIZE_TO_POINTER (function));
                      g_byte_array_set_size (lines, 0);
                      put_uint (lines, 1, function);
                      put_uint (lines, 2, string_index (&strings, function_name (frame)));
                      put_uint (lines, 3, string_index (&strings, function_name (frame)));
                      put_uint (lines, 4, string_index (&strings, frame->file));
                      put_message (profile, 5, lines);
                    }
                  put_uint (lines, 1, function);
                  put_uint (lines, 2, frame->line > 0 ? (guint64) frame->line : 0);
                  put_message (scratch, 4, lines);
                }
              put_message (profile, 4, scratch);
            }
          put_varint (ids, id);
          f = end;
        }

      /* Sample: location_id (packed, leaf first), value (packed) */
      put_bytes (scratch, 1, ids->data, ids->len);
      g_byte_array_set_size (ids, 0);
      put_varint (ids, site->allocations);
      put_varint (ids, site->bytes);
      put_varint (ids, site->live_blocks);
      put_varint (ids, site->live_bytes);
      put_varint (ids, site->peak_live_bytes);
      put_bytes (scratch, 2, ids->data, ids->len);
      g_byte_array_set_size (ids, 0);
      put_message (profile, 2, scratch);
    }

  put_uint (profile, 10, totals->last_ts);                   /* duration_nanos */
  put_value_type (profile, scratch, 11, &strings, "space", "bytes");
  put_uint (profile, 12, 1);                                 /* period */
  put_uint (profile, 14, string_index (&strings, "inuse_space"));
  for (guint i = 0; i < strings.strings->len; i++)
    {
      const char *s = g_ptr_array_index (strings.strings, i);
      put_bytes (profile, 6, (const guint8 *) s, strlen (s));
    }

  g_hash_table_unref (strings.index);
  g_ptr_array_unref (strings.strings);

  if (!gzip)
    return g_bytes_new (profile->data, profile->len);
  result = gzip_bytes (profile, error);
  return result;
}

/* --- massif ------------------------------------------------------------------ */

typedef struct MassifNode MassifNode;
struct MassifNode {
  guint64 address;
  char *label;
  guint64 bytes;
  GPtrArray *children;     /* MassifNode *, or NULL */
};

static void
massif_node_free (MassifNode *node)
{
  if (node->children != NULL)
    g_ptr_array_unref (node->children);
  g_free (node->label);
  g_free (node);
}

static MassifNode *
massif_child (MassifNode *parent, const HmFrameInfo *frame)
{
  /* '#' starts a comment for ms_print */
  g_autofree char *where = frame->file != NULL
    ? g_strdup_printf (" (%s:%d)", frame->file, frame->line)
    : g_strdup_printf (" (in %s)", frame->module ? frame->module : "?");
  g_autofree char *label = g_strdup_printf ("0x%" G_GINT64_MODIFIER "X: %s%s", frame->address,
                                            function_name (frame), where);
  g_strdelimit (label, "#\n", ' ');

  if (parent->children == NULL)
    parent->children = g_ptr_array_new_with_free_func ((GDestroyNotify) massif_node_free);
  /* an address with inlined calls gives several frames: one node each */
  for (guint i = 0; i < parent->children->len; i++)
    {
      MassifNode *c = g_ptr_array_index (parent->children, i);
      if (c->address == frame->address && g_str_equal (c->label, label))
        return c;
    }
  MassifNode *c = g_new0 (MassifNode, 1);
  c->address = frame->address;
  c->label = g_steal_pointer (&label);
  g_ptr_array_add (parent->children, c);
  return c;
}

static gint
compare_nodes (gconstpointer a, gconstpointer b)
{
  const MassifNode *x = *(MassifNode *const *) a, *y = *(MassifNode *const *) b;
  return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

static void
massif_print (GString *out, MassifNode *node, guint depth)
{
  guint n = node->children ? node->children->len : 0;
  if (n > 0)
    g_ptr_array_sort (node->children, compare_nodes);
  for (guint i = 0; i < depth; i++)
    g_string_append_c (out, ' ');
  g_string_append_printf (out, "n%u: %" G_GUINT64_FORMAT " %s\n", n, node->bytes, node->label);
  for (guint i = 0; i < n; i++)
    massif_print (out, g_ptr_array_index (node->children, i), depth + 1);
}

GBytes *
hm_export_massif (HmHeapModel *model, HmSymbolizer *symbolizer)
{
  g_autoptr(GPtrArray) sites = hm_heap_model_get_sites (model);
  const char *cmdline = hm_heap_model_get_info (model, "cmdline");
  GString *out = g_string_new (NULL);
  guint n_buckets = 0, snapshot = 0;
  guint64 bucket_ns = 0, live_at_end = 0;
  const HmTimelineBucket *timeline = hm_heap_model_get_timeline (model, &n_buckets, &bucket_ns);
  MassifNode root = { 0, g_strdup ("(heap allocation functions) malloc/new/new[], --alloc-fns, etc."),
                      0, NULL };

  g_string_append_printf (out, "desc: recorded by hybridmem\ncmd: %s\ntime_unit: ms\n",
                          cmdline != NULL && *cmdline ? cmdline : "(unknown)");
  /* the heap over time: at most 60 snapshots from the timeline */
  guint step = MAX (1u, (n_buckets + 59) / 60);
  for (guint b = 0; b < n_buckets; b += step)
    {
      guint64 live = 0;
      for (guint k = 0; k < HM_STRATEGY_KIND_N; k++)
        live += timeline[b].live_bytes[k];
      g_string_append_printf (out, "#-----------\nsnapshot=%u\n#-----------\n"
                              "time=%" G_GUINT64_FORMAT "\nmem_heap_B=%" G_GUINT64_FORMAT
                              "\nmem_heap_extra_B=0\nmem_stacks_B=0\nheap_tree=empty\n",
                              snapshot++, (timeline[b].start_ns + bucket_ns) / 1000000, live);
    }

  /* the end: what is live, allocation points first */
  for (guint i = 0; i < sites->len; i++)
    {
      const HmSiteStats *site = g_ptr_array_index (sites, i);
      if (site->live_bytes == 0)
        continue;
      g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, site->stack);
      MassifNode *node = &root;
      live_at_end += site->live_bytes;
      root.bytes += site->live_bytes;
      for (guint f = 0; f < frames->len; f++)
        {
          node = massif_child (node, g_ptr_array_index (frames, f));
          node->bytes += site->live_bytes;
        }
    }
  g_string_append_printf (out, "#-----------\nsnapshot=%u\n#-----------\n"
                          "time=%" G_GUINT64_FORMAT "\nmem_heap_B=%" G_GUINT64_FORMAT
                          "\nmem_heap_extra_B=0\nmem_stacks_B=0\nheap_tree=detailed\n",
                          snapshot, hm_heap_model_get_totals (model)->last_ts / 1000000,
                          live_at_end);
  massif_print (out, &root, 0);
  if (root.children != NULL)
    g_ptr_array_unref (root.children);
  g_free (root.label);
  return g_string_free_to_bytes (out);
}

/* --- the timeline as SVG ------------------------------------------------------ */

/* the debugger's timeline colours (gui/hm-dbg-timeline-view.c) */
static const char *const strategy_colors[] = {
  [HM_STRATEGY_KIND_MALLOC] = "#3584e4",
  [HM_STRATEGY_KIND_MANUAL] = "#2ec27e",
  [HM_STRATEGY_KIND_GC] = "#9141ac",
  [HM_STRATEGY_KIND_REGIONS] = "#e66100",
  [HM_STRATEGY_KIND_POOLS] = "#f6d32d",
  [HM_STRATEGY_KIND_MMAP] = "#865e3c",
  [HM_STRATEGY_KIND_CUSTOM] = "#dc8add",
};
G_STATIC_ASSERT (G_N_ELEMENTS (strategy_colors) == HM_STRATEGY_KIND_N);
#define RSS_COLOR "#a51d2d"

static char *
format_bytes (guint64 bytes)
{
  const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
  double v = (double) bytes;
  guint u = 0;
  while (v >= 1024 && u + 1 < G_N_ELEMENTS (units))
    v /= 1024, u++;
  return g_strdup_printf (u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

GBytes *
hm_export_timeline_svg (HmHeapModel *model, guint width, guint height)
{
  guint n = 0;
  guint64 bucket_ns = 0, max_bytes = 1;
  const HmTimelineBucket *b = hm_heap_model_get_timeline (model, &n, &bucket_ns);
  GString *out = g_string_new (NULL);
  const double left = 70, right = 10, top = 30, bottom = 30;
  double plot_w, plot_h;

  width = MAX (width, 200);
  height = MAX (height, 120);
  plot_w = width - left - right;
  plot_h = height - top - bottom;
  for (guint i = 0; i < n; i++)
    max_bytes = MAX (max_bytes, b[i].peak_total_bytes);

  g_string_append_printf (out,
                          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" "
                          "viewBox=\"0 0 %u %u\" font-family=\"sans-serif\" font-size=\"11\">\n"
                          "<title>Heap over time, by strategy</title>\n"
                          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                          width, height, width, height);
  /* stacked areas, topmost strategy first so the lower ones paint over it */
  for (int k = HM_STRATEGY_KIND_N - 1; k >= 0; k--)
    {
      gboolean any = FALSE;
      for (guint i = 0; i < n; i++)
        any |= b[i].live_bytes[k] > 0;
      if (!any)
        continue;
      g_string_append_printf (out, "<polygon class=\"%s\" fill=\"%s\" points=\"%.1f,%.1f",
                              hm_strategy_kind_name (k), strategy_colors[k], left, top + plot_h);
      for (guint i = 0; i < n; i++)
        {
          guint64 sum = 0;
          for (int j = 0; j <= k; j++)
            sum += b[i].live_bytes[j];
          double x0 = left + plot_w * i / n, x1 = left + plot_w * (i + 1) / n;
          double y = top + plot_h - plot_h * (double) sum / (double) max_bytes;
          g_string_append_printf (out, " %.1f,%.1f %.1f,%.1f", x0, y, x1, y);
        }
      g_string_append_printf (out, " %.1f,%.1f\"/>\n", left + plot_w, top + plot_h);
    }
  /* axes and labels */
  g_autofree char *peak = format_bytes (max_bytes);
  g_string_append_printf (out,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>\n"
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>\n"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>\n"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.3f s</text>\n",
                          left, top, left, top + plot_h, left, top + plot_h, left + plot_w,
                          top + plot_h, left - 4, top + 4, peak, left - 4, top + plot_h,
                          left + plot_w, top + plot_h + 16,
                          (double) n * (double) bucket_ns / 1e9);
  double x = left;
  for (guint k = 0; k < HM_STRATEGY_KIND_N; k++)
    {
      g_string_append_printf (out, "<rect x=\"%.1f\" y=\"8\" width=\"10\" height=\"10\" "
                              "fill=\"%s\"/><text x=\"%.1f\" y=\"17\">%s</text>\n", x,
                              strategy_colors[k], x + 14, hm_strategy_kind_name (k));
      x += 80;
    }
  /* The resident set, when the trace has it: a line on its own scale (the
   * right axis, up to its peak), as it is often far above the heap. */
  GArray *rss = hm_heap_model_get_rss (model);
  guint64 peak_rss = 0, peak_rss_ts = 0;
  double span_ns = (double) n * (double) bucket_ns;
  if (rss->len > 0 && span_ns > 0 && hm_heap_model_get_peak_rss (model, &peak_rss, &peak_rss_ts)
      && peak_rss > 0)
    {
      g_string_append_printf (out, "<polyline class=\"rss\" fill=\"none\" stroke=\"%s\" "
                              "stroke-width=\"1.5\" stroke-dasharray=\"4 2\" points=\"",
                              RSS_COLOR);
      for (guint i = 0; i < rss->len; i++)
        {
          const HmRssSample *s = &g_array_index (rss, HmRssSample, i);
          double rss_x = left + plot_w * MIN ((double) s->ts / span_ns, 1.0);
          double rss_y = top + plot_h - plot_h * (double) s->rss_bytes / (double) peak_rss;
          g_string_append_printf (out, "%s%.1f,%.1f", i > 0 ? " " : "", rss_x, rss_y);
        }
      g_autofree char *rss_text = format_bytes (peak_rss);
      g_string_append_printf (out, "\"/>\n"
                              "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"%s\">"
                              "RSS %s</text>\n"
                              "<line x1=\"%.1f\" y1=\"13\" x2=\"%.1f\" y2=\"13\" stroke=\"%s\" "
                              "stroke-width=\"1.5\" stroke-dasharray=\"4 2\"/>"
                              "<text class=\"peak-rss\" x=\"%.1f\" y=\"17\">RSS (right scale): "
                              "peak %s at %.3f s</text>\n",
                              left + plot_w, top - 4, RSS_COLOR, rss_text,
                              x, x + 12, RSS_COLOR, x + 14, rss_text, peak_rss_ts / 1e9);
    }
  g_string_append (out, "</svg>\n");
  return g_string_free_to_bytes (out);
}
