/* test-manager-clock.c — region allocations, pool gets and pool returns
 * carry cheap timestamps (agent/hm-agent-private.h); this runs
 * manager-clock.c traced and reads its trace with the core reader: the
 * stamps follow real time within a few milliseconds, no allocation from a
 * region comes before the region's creation in the merged order, and pool
 * objects handed from one thread to another leave the model's counts right.
 */
#include "hm-heap-model.h"
#include "hm-test-util.h"
#include "hm-trace-reader.h"

#include <string.h>
#include <sys/wait.h>

#define MS (G_GUINT64_CONSTANT (1000000))
/* how far a stamp may lag the real time: a coarse tick is about 1 ms old,
 * more while the writer thread waits for a core on a busy machine */
#define LAG_NS (10 * MS)
/* how far it may lead it: the tick-to-ns line's error */
#define LEAD_NS (2 * MS)

typedef struct {
  guint64 start, end;          /* CLOCK_MONOTONIC, as the program printed it */
  guint64 tail;                /* how long its last two batches took (a preemption there) */
  guint64 first, last;         /* its region allocations' stamps, CLOCK_MONOTONIC */
  guint64 n;
} Burst;

/* One traced run of manager-clock, read once for every test case. */
static struct {
  gboolean done, ok;
  Burst bursts[2];
  guint64 n_regions, n_pool_objects;   /* what the program says it did */
  guint64 n_region_allocs;
  guint64 early_allocs;                /* merged before their region's REGION_CREATE */
  HmHeapModel *model;
} run_result;

static gchar *tmp_dir;

/* Runs manager-clock with HM_TRACE and reads its output and its trace. */
static gboolean
traced_run (void)
{
  g_autofree gchar *program = hm_test_program_path ("manager-clock");
  g_autofree gchar *trace = g_build_filename (tmp_dir, "clock.hmt", NULL);
  g_autofree gchar *trace_env = g_strdup_printf ("HM_TRACE=%s", trace);
  const gchar *argv[] = { program, NULL };
  const gchar *env[] = { trace_env, "HM_QUIET=1", NULL };
  g_auto(HmTestRun) run = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(HmTraceReader) reader = NULL;
  g_autoptr(GHashTable) created = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_auto(GStrv) lines = NULL;
  Burst *bursts = run_result.bursts;
  guint n_bursts = 0;
  guint64 bursts_region = 0, start_ns = 0;
  HmTraceReadStatus status;
  HmEvent e;

  if (run_result.done)
    return run_result.ok;
  run_result.done = TRUE;

  hm_test_spawn (argv, env, &run);
  if (!WIFEXITED (run.exit_status) || WEXITSTATUS (run.exit_status) != 0)
    {
      hm_test_fail ("manager-clock failed: %s", run.stderr_text);
      return FALSE;
    }
  lines = g_strsplit (run.stdout_text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      unsigned long long a, b, c;
      if (sscanf (lines[i], "burst %llu %llu %llu", &a, &b, &c) == 3 && n_bursts < 2)
        {
          bursts[n_bursts].start = a;
          bursts[n_bursts].end = b;
          bursts[n_bursts].tail = c;
          bursts[n_bursts].first = G_MAXUINT64;
          n_bursts++;
        }
      else if (sscanf (lines[i], "regions %llu", &a) == 1)
        run_result.n_regions = a;
      else if (sscanf (lines[i], "pool-objects %llu", &a) == 1)
        run_result.n_pool_objects = a;
    }
  g_assert_cmpuint (n_bursts, ==, 2);
  g_assert_cmpuint (run_result.n_regions, >, 0);
  g_assert_cmpuint (run_result.n_pool_objects, >, 0);

  reader = hm_trace_reader_open (trace, &error);
  g_assert_no_error (error);
  run_result.model = hm_heap_model_new ();
  while ((status = hm_trace_reader_next (reader, &e, &error)) == HM_TRACE_READ_EVENT)
    {
      hm_heap_model_add_event (run_result.model, &e);
      if (start_ns == 0)
        start_ns = hm_trace_reader_get_header (reader)->start_monotonic_ns;
      if (e.kind == HM_EV_REGION_CREATE)
        {
          if (bursts_region == 0)
            bursts_region = e.id;     /* the program makes it first */
          g_hash_table_add (created, g_memdup2 (&e.id, sizeof e.id));
        }
      else if (e.kind == HM_EV_REGION_ALLOC)
        {
          run_result.n_region_allocs++;
          if (!g_hash_table_contains (created, &e.id))
            run_result.early_allocs++;
          if (e.id == bursts_region)
            {
              /* the second burst starts after a 200 ms pause */
              guint64 t = start_ns + e.ts;
              Burst *b = &bursts[t + 100 * MS >= bursts[1].start ? 1 : 0];
              b->first = MIN (b->first, t);
              b->last = MAX (b->last, t);
              b->n++;
            }
        }
    }
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, HM_TRACE_READ_END);
  run_result.ok = TRUE;
  return TRUE;
}

/* Two bursts of region allocations 200 ms apart: each burst's stamps lie
 * within a few ms of its real span and cover it, and the gap shows. */
static void
test_stamps_follow_real_time (void)
{
  if (!traced_run ())
    return;
  for (guint i = 0; i < 2; i++)
    {
      const Burst *b = &run_result.bursts[i];
      g_test_message ("burst %u: %" G_GUINT64_FORMAT " allocations over %" G_GUINT64_FORMAT
                      " us; first stamp %+" G_GINT64_FORMAT " us from its start, last %+"
                      G_GINT64_FORMAT " us from its end (its last two batches took %"
                      G_GUINT64_FORMAT " us)", i, b->n, (b->end - b->start) / 1000,
                      ((gint64) b->first - (gint64) b->start) / 1000,
                      ((gint64) b->last - (gint64) b->end) / 1000, b->tail / 1000);
      g_assert_cmpuint (b->n, >, 1000);
      g_assert_cmpuint (b->first + LAG_NS, >=, b->start);
      g_assert_cmpuint (b->first, <=, b->start + LAG_NS);
      /* the last stamps may be early by a preemption in the last 64 events
       * (agent/hm-agent-private.h, cheap timestamps) */
      g_assert_cmpuint (b->last + LAG_NS + b->tail, >=, b->end);
      g_assert_cmpuint (b->last, <=, b->end + LEAD_NS);
    }
  g_assert_cmpuint (run_result.bursts[1].first - run_result.bursts[0].last, >=, 150 * MS);
}

/* Regions made in one thread and allocated from at once in another: no
 * allocation is merged before its region's creation, and none is lost. */
static void
test_region_alloc_after_create (void)
{
  if (!traced_run ())
    return;
  g_assert_cmpuint (run_result.early_allocs, ==, 0);
  /* "bursts", "busy" and the handed ones */
  g_assert_cmpuint (hm_heap_model_get_regions (run_result.model)->len, ==,
                    2 + run_result.n_regions);
}

/* Pool objects got in one thread and returned in another, whatever order
 * their events merge in: every get and return counted, nothing left live. */
static void
test_pool_hand_off_counts (void)
{
  if (!traced_run ())
    return;
  GPtrArray *pools = hm_heap_model_get_pools (run_result.model);
  g_assert_cmpuint (pools->len, ==, 1);
  const HmPoolStats *p = g_ptr_array_index (pools, 0);
  g_assert_cmpuint (p->gets, ==, run_result.n_pool_objects);
  g_assert_cmpuint (p->returns, ==, run_result.n_pool_objects);
  g_assert_cmpuint (p->live_objects, ==, 0);
  g_assert_cmpuint (hm_heap_model_get_strategy (run_result.model,
                                                HM_STRATEGY_KIND_POOLS)->live_bytes, ==, 0);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = hm_test_make_tmp_dir ();
  g_test_add_func ("/manager-clock/stamps-follow-real-time", test_stamps_follow_real_time);
  g_test_add_func ("/manager-clock/region-alloc-after-create", test_region_alloc_after_create);
  g_test_add_func ("/manager-clock/pool-hand-off-counts", test_pool_hand_off_counts);
  status = g_test_run ();
  g_clear_pointer (&run_result.model, hm_heap_model_free);
  hm_test_remove_dir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
