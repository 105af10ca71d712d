/* hm-diff.c — matching the sites of two recordings (see the header). */
#include "hm-diff.h"

#include <string.h>

static void
diff_site_free (HmDiffSite *site)
{
  g_ptr_array_unref (site->frames);
  g_free (site);
}

/* What a stack says in the source, one frame per line: the function, with
 * its file and line when known; the module and the offset in it when not
 * even the function is (the program's own executable is "<main>", as two
 * builds of it may have different names). */
char *
hm_diff_stack_key (GPtrArray *frames, const char *exe)
{
  GString *key = g_string_new (NULL);

  for (guint i = 0; i < frames->len; i++)
    {
      const HmFrameInfo *f = g_ptr_array_index (frames, i);
      gboolean named = f->function != NULL && !g_str_equal (f->function, "??");
      if (named && f->file != NULL && f->line > 0)
        g_string_append_printf (key, "%s\x1f%s:%d\n", f->function, f->file, f->line);
      else if (named)
        g_string_append_printf (key, "%s\n", f->function);
      else if (f->module != NULL)
        {
          g_autofree char *base = exe != NULL && g_str_equal (f->module, exe)
                                    ? g_strdup ("<main>") : g_path_get_basename (f->module);
          g_string_append_printf (key, "??\x1f%s+%" G_GINT64_MODIFIER "x\n", base,
                                  f->module_offset);
        }
      else
        g_string_append_printf (key, "??\x1f%" G_GINT64_MODIFIER "x\n", f->address);
    }
  return g_string_free (key, FALSE);
}

void
hm_diff_add_stats (HmSiteStats *sum, const HmSiteStats *s)
{
  sum->allocations += s->allocations;
  sum->frees += s->frees;
  sum->bytes += s->bytes;
  sum->live_bytes += s->live_bytes;
  sum->live_blocks += s->live_blocks;
  sum->peak_live_bytes += s->peak_live_bytes;
  sum->lifetime_ns_sum += s->lifetime_ns_sum;
  sum->temporary += s->temporary;
  for (guint i = 0; i < G_N_ELEMENTS (sum->size_histogram); i++)
    sum->size_histogram[i] += s->size_histogram[i];
  for (guint i = 0; i < G_N_ELEMENTS (sum->lifetime_histogram); i++)
    sum->lifetime_histogram[i] += s->lifetime_histogram[i];
}

static void
collect (GHashTable *by_key, GPtrArray *all, HmHeapModel *model, HmSymbolizer *symbolizer,
         gboolean is_b)
{
  g_autoptr(GPtrArray) sites = hm_heap_model_get_sites (model);
  const char *exe = hm_heap_model_get_info (model, "exe");

  for (guint i = 0; i < sites->len; i++)
    {
      const HmSiteStats *s = g_ptr_array_index (sites, i);
      GPtrArray *frames = hm_symbolizer_get_stack (symbolizer, s->stack);
      g_autofree char *key = hm_diff_stack_key (frames, exe);
      HmDiffSite *d = g_hash_table_lookup (by_key, key);
      if (d == NULL)
        {
          d = g_new0 (HmDiffSite, 1);
          d->frames = frames;
          g_hash_table_insert (by_key, g_steal_pointer (&key), d);
          g_ptr_array_add (all, d);
        }
      else if (is_b && !d->in_b)
        {
          /* show B's frames: the newer build's addresses */
          g_ptr_array_unref (d->frames);
          d->frames = frames;
        }
      else
        g_ptr_array_unref (frames);
      if (is_b)
        {
          hm_diff_add_stats (&d->b, s);
          d->in_b = TRUE;
        }
      else
        {
          hm_diff_add_stats (&d->a, s);
          d->in_a = TRUE;
        }
    }
}

static guint64
distance (guint64 x, guint64 y)
{
  return x > y ? x - y : y - x;
}

static gint
compare_change (gconstpointer p, gconstpointer q)
{
  const HmDiffSite *x = *(HmDiffSite *const *) p, *y = *(HmDiffSite *const *) q;
  guint64 kx[] = { distance (x->a.bytes, x->b.bytes), distance (x->a.live_bytes, x->b.live_bytes),
                   distance (x->a.allocations, x->b.allocations) };
  guint64 ky[] = { distance (y->a.bytes, y->b.bytes), distance (y->a.live_bytes, y->b.live_bytes),
                   distance (y->a.allocations, y->b.allocations) };
  for (guint i = 0; i < G_N_ELEMENTS (kx); i++)
    if (kx[i] != ky[i])
      return kx[i] > ky[i] ? -1 : 1;
  /* then the bigger site */
  guint64 bx = MAX (x->a.bytes, x->b.bytes), by = MAX (y->a.bytes, y->b.bytes);
  return bx > by ? -1 : bx < by ? 1 : 0;
}

GPtrArray *
hm_diff_sites (HmHeapModel *a, HmSymbolizer *symbolizer_a, HmHeapModel *b,
               HmSymbolizer *symbolizer_b)
{
  g_autoptr(GHashTable) by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) diff_site_free);

  collect (by_key, all, a, symbolizer_a, FALSE);
  collect (by_key, all, b, symbolizer_b, TRUE);
  g_ptr_array_sort (all, compare_change);
  return all;
}

gboolean
hm_diff_site_changed (const HmDiffSite *s)
{
  return s->a.allocations != s->b.allocations || s->a.bytes != s->b.bytes
         || s->a.frees != s->b.frees || s->a.peak_live_bytes != s->b.peak_live_bytes
         || s->a.live_bytes != s->b.live_bytes || s->a.live_blocks != s->b.live_blocks
         || s->a.temporary != s->b.temporary;
}
