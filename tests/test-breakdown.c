/* test-breakdown.c — what was live at any moment, from the model's
 * snapshots, against the plain truth: the same trace read again up to that
 * moment only.
 *
 * The trace is tests/programs/threads (eight threads) or demo, recorded by
 * hmtrace; for 25 moments spread over it, every site's live bytes and
 * blocks and its allocations so far, as hm_heap_model_get_breakdown() gives
 * them, must equal those of a second model fed only the events before the
 * end of that moment's bucket; and a range must be the difference of its
 * two ends.
 */
#include <glib.h>
#include <sys/wait.h>

#include "hm-heap-model.h"
#include "hm-test-util.h"
#include "hm-trace-reader.h"

static gchar *tmp_dir;

/* The trace's events before cut_ns (metadata always), into a new model. */
static HmHeapModel *
model_until (const gchar *path, guint64 cut_ns)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HmTraceReader) reader = hm_trace_reader_open (path, &error);
  HmHeapModel *model = hm_heap_model_new ();
  HmEvent e;

  g_assert_no_error (error);
  while (hm_trace_reader_next (reader, &e, &error) == HM_TRACE_READ_EVENT)
    {
      gboolean counts = e.kind == HM_EV_ALLOC || e.kind == HM_EV_FREE || e.kind == HM_EV_REALLOC
                        || e.kind == HM_EV_REGION_ALLOC || e.kind == HM_EV_REGION_RESET
                        || e.kind == HM_EV_REGION_FREE || e.kind == HM_EV_POOL_GET
                        || e.kind == HM_EV_POOL_RETURN || e.kind == HM_EV_POOL_FREE;
      if (!counts || e.ts < cut_ns)
        hm_heap_model_add_event (model, &e);
    }
  return model;
}

static const HmBreakdownEntry *
find_site (const HmBreakdown *b, guint64 node)
{
  for (guint i = 0; i < b->entries->len; i++)
    {
      const HmBreakdownEntry *e = &g_array_index (b->entries, HmBreakdownEntry, i);
      if (e->kind == HM_BREAKDOWN_SITE && e->id == node)
        return e;
    }
  return NULL;
}

static void
check_trace (const gchar *program, const gchar *arg)
{
  g_autofree gchar *path = hm_test_program_path (program);
  g_autofree gchar *name = g_strdup_printf ("%s.hmt", program);
  g_autofree gchar *trace = g_build_filename (tmp_dir, name, NULL);
  const gchar *argv[] = { path, arg, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(HmHeapModel) model = NULL;
  guint checked = 0;

  if (!hm_test_require_hmtrace () || !hm_test_record (trace, argv, 0))
    return;
  model = hm_heap_model_load_file (trace, &error);
  g_assert_no_error (error);
  guint64 duration = hm_heap_model_get_totals (model)->last_ts;

  for (guint k = 0; k <= 24; k++)
    {
      guint64 at = duration / 24 * k + (k % 3) * 7919;
      g_autoptr(HmBreakdown) b = hm_heap_model_get_breakdown (model, 0, at);
      g_autoptr(HmHeapModel) truth = model_until (trace, b->to_ns);
      g_autoptr(GPtrArray) sites = hm_heap_model_get_sites (truth);
      guint64 sum_live = 0, sum_truth = 0;

      g_assert_cmpuint (b->from_ns, ==, 0);
      g_assert_cmpuint (b->to_ns, >, at);
      g_assert_cmpuint (b->to_ns - b->bucket_ns, <=, at);
      for (guint i = 0; i < sites->len; i++)
        {
          const HmSiteStats *s = g_ptr_array_index (sites, i);
          const HmBreakdownEntry *e = find_site (b, s->stack);
          sum_truth += s->live_bytes;
          if (s->live_bytes == 0 && s->allocations == 0)
            continue;
          if (e == NULL)
            g_error ("at %" G_GUINT64_FORMAT " ns: site %" G_GUINT64_FORMAT " missing",
                     at, s->stack);
          g_assert_cmpuint (e->live_bytes, ==, s->live_bytes);
          g_assert_cmpuint (e->live_count, ==, s->live_blocks);
          g_assert_cmpuint (e->allocations, ==, s->allocations);
          g_assert_cmpuint (e->bytes, ==, s->bytes);
          checked++;
        }
      for (guint i = 0; i < b->entries->len; i++)
        sum_live += g_array_index (b->entries, HmBreakdownEntry, i).live_bytes;
      g_assert_cmpuint (sum_live, ==, sum_truth);
      /* and the timeline says the same of the heap then */
      g_assert_cmpuint (b->live_bytes[HM_STRATEGY_KIND_MALLOC], ==, sum_truth);
    }

  /* a range is the difference of its ends */
  g_autoptr(HmBreakdown) first = hm_heap_model_get_breakdown (model, 0, duration / 3);
  g_autoptr(HmBreakdown) whole = hm_heap_model_get_breakdown (model, 0, 2 * duration / 3);
  g_autoptr(HmBreakdown) range = hm_heap_model_get_breakdown (model, first->to_ns,
                                                              2 * duration / 3);
  g_assert_cmpuint (range->from_ns, ==, first->to_ns);
  for (guint i = 0; i < whole->entries->len; i++)
    {
      const HmBreakdownEntry *w = &g_array_index (whole->entries, HmBreakdownEntry, i);
      const HmBreakdownEntry *f = find_site (first, w->id);
      const HmBreakdownEntry *r = find_site (range, w->id);
      guint64 before = f ? f->allocations : 0, in_range = r ? r->allocations : 0;
      if (w->kind == HM_BREAKDOWN_SITE)
        g_assert_cmpuint (before + in_range, ==, w->allocations);
    }
  hm_test_message ("%s: 25 moments, %u site counts equal to a re-read up to each moment",
                   program, checked);
}

static void
test_threads (void)
{
  check_trace ("threads", NULL);
}

static void
test_demo (void)
{
  check_trace ("demo", "200000");
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = hm_test_make_tmp_dir ();
  g_test_add_func ("/breakdown/threads", test_threads);
  g_test_add_func ("/breakdown/demo", test_demo);
  status = g_test_run ();
  hm_test_remove_dir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
