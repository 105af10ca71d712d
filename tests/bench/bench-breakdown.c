/* bench-breakdown.c — any moment of a big trace, without reading it again.
 *
 * Writes a 20-million-event trace (8 threads, 2 000 allocation sites, 10 s
 * of allocations and frees through rings of live blocks) with the trace
 * writer, reads it once into the model, then asks what was live at 200
 * random moments and what was allocated in 50 random ranges.  Prints the
 * times next to the full read's, and whether the aims hold: a moment under
 * 100 ms, a range under 1 s.
 *
 *   bench-breakdown [EVENTS_IN_MILLIONS]      (default 20)
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>

#include "hm-heap-model.h"
#include "synthetic-trace.h"

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  guint64 millions = argc > 1 ? g_ascii_strtoull (argv[1], NULL, 10) : 20;
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "hm-bench-breakdown.hmt", NULL);
  g_autoptr(GError) error = NULL;
  GRand *rand = g_rand_new_with_seed (7);
  double moments[200], ranges[50];

  guint64 events = write_trace (path, millions * 1000000);
  GStatBuf st;
  g_stat (path, &st);
  printf ("bench-breakdown: %" G_GUINT64_FORMAT " events, %d threads, %d sites, %.0f MB trace\n",
          events, N_THREADS, N_SITES, st.st_size / 1e6);

  gint64 start = g_get_monotonic_time ();
  g_autoptr(HmHeapModel) model = hm_heap_model_load_file (path, &error);
  double full_read = (g_get_monotonic_time () - start) / 1e6;
  g_assert_no_error (error);
  guint64 duration = hm_heap_model_get_totals (model)->last_ts;

  guint64 live_entries = 0;
  for (guint i = 0; i < G_N_ELEMENTS (moments); i++)
    {
      guint64 at = (guint64) (g_rand_double (rand) * duration);
      start = g_get_monotonic_time ();
      g_autoptr(HmBreakdown) b = hm_heap_model_get_breakdown (model, 0, at);
      moments[i] = (g_get_monotonic_time () - start) / 1e6;
      live_entries += b->entries->len;
    }
  for (guint i = 0; i < G_N_ELEMENTS (ranges); i++)
    {
      guint64 a = (guint64) (g_rand_double (rand) * duration);
      guint64 b_ns = (guint64) (g_rand_double (rand) * duration);
      start = g_get_monotonic_time ();
      g_autoptr(HmBreakdown) b = hm_heap_model_get_breakdown (model, MIN (a, b_ns), MAX (a, b_ns));
      ranges[i] = (g_get_monotonic_time () - start) / 1e6;
    }
  qsort (moments, G_N_ELEMENTS (moments), sizeof (double), compare_doubles);
  qsort (ranges, G_N_ELEMENTS (ranges), sizeof (double), compare_doubles);
  double moment_max = moments[G_N_ELEMENTS (moments) - 1];
  double range_max = ranges[G_N_ELEMENTS (ranges) - 1];

  printf ("  full read of the trace          %8.3f s\n", full_read);
  printf ("  a moment (200): median %7.1f ms, max %7.1f ms  (%.0fx faster than a re-read)\n",
          moments[G_N_ELEMENTS (moments) / 2] * 1e3, moment_max * 1e3, full_read / moment_max);
  printf ("  a range  (50):  median %7.1f ms, max %7.1f ms  (%.0fx faster than a re-read)\n",
          ranges[G_N_ELEMENTS (ranges) / 2] * 1e3, range_max * 1e3, full_read / range_max);
  printf ("  %.0f sites and objects live per moment on average\n",
          (double) live_entries / G_N_ELEMENTS (moments));
  printf ("  aim: a moment under 100 ms: %s; a range under 1 s: %s\n",
          moment_max < 0.1 ? "yes" : "NO", range_max < 1.0 ? "yes" : "NO");
  if (!g_getenv ("HM_BENCH_KEEP")) g_unlink (path);
  g_rand_free (rand);
  return 0;
}
