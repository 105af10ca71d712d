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
#include "hm-trace-writer.h"

#define N_THREADS 8
#define N_SITES 2000
#define RING 4096
#define DURATION_NS (10ull * 1000 * 1000 * 1000)

static guint8 chunk_buf[1 << 20];

static void
flush (FILE *out, HmChunkBuilder *c)
{
  size_t n = hm_chunk_finish (c);
  if (fwrite (chunk_buf, 1, n, out) != n)
    g_error ("cannot write the trace");
}

static guint64
write_trace (const char *path, guint64 n_events)
{
  FILE *out = fopen (path, "wb");
  guint8 header[HM_TRACE_HEADER_SIZE];
  HmTraceHeaderInfo info = { .pid = 1, .page_size = 4096 };
  HmChunkBuilder c;
  guint64 *ring[N_THREADS];
  guint64 events = 0, per_round = 200000, tick = 0;
  guint32 rng = 12345;

  g_assert_nonnull (out);
  hm_trace_write_header (header, &info);
  fwrite (header, 1, sizeof header, out);
  hm_chunk_begin (&c, chunk_buf, sizeof chunk_buf, HM_TRACE_META_TID, 0, 0);
  hm_chunk_put_info (&c, "exe", "/usr/bin/bench-breakdown-synthetic");
  hm_chunk_put_info (&c, "cmdline", "bench-breakdown-synthetic");
  hm_chunk_put_clock (&c, 0, 0);
  hm_chunk_put_clock (&c, DURATION_NS, DURATION_NS);
  hm_chunk_put_module_load (&c, 0, 1, 0, 0x400000, 0x800000, "/usr/bin/bench-breakdown-synthetic",
                            NULL, 0);
  /* main -> f(s % 40) -> g(s): 2 000 sites under 40 callers */
  hm_chunk_put_frame (&c, 1, 0, 0x401000);
  for (guint s = 0; s < 40; s++)
    hm_chunk_put_frame (&c, 2 + s, 1, 0x410000 + s * 0x100);
  for (guint s = 0; s < N_SITES; s++)
    {
      /* node ids are dense: 1 is main, 2..41 the callers */
      hm_chunk_put_frame (&c, 42 + s, 2 + s % 40, 0x500000 + s * 0x40);
      hm_chunk_put_stack (&c, 1 + s, 42 + s);
    }
  flush (out, &c);

  for (guint t = 0; t < N_THREADS; t++)
    ring[t] = g_new0 (guint64, RING);
  guint64 step = DURATION_NS / n_events;
  while (events < n_events)
    {
      guint64 round_end = tick;
      for (guint t = 0; t < N_THREADS; t++)
        {
          guint64 th_tick = tick;
          hm_chunk_begin (&c, chunk_buf, sizeof chunk_buf, 1000 + t, th_tick, 0);
          hm_chunk_put_sync (&c);
          for (guint64 i = 0; i < per_round / N_THREADS && events < n_events; i++)
            {
              rng = rng * 1664525u + 1013904223u;
              guint slot = (rng >> 8) % RING;
              guint64 addr = ((guint64) (t + 1) << 32) | ((guint64) slot << 12) | (rng & 0xff0);
              th_tick += step * N_THREADS / 2 + (rng & 3);
              if (ring[t][slot] != 0)
                {
                  hm_chunk_put_free (&c, th_tick, HM_FN_FREE, ring[t][slot]);
                  ring[t][slot] = 0;
                }
              else
                {
                  guint site = (rng >> 12) % N_SITES;
                  hm_chunk_put_alloc (&c, th_tick, HM_FN_MALLOC, addr, 16 + (rng >> 20) % 1000,
                                      1 + site);
                  ring[t][slot] = addr;
                }
              events++;
              if (hm_chunk_room (&c) < 64)
                {
                  flush (out, &c);
                  hm_chunk_begin (&c, chunk_buf, sizeof chunk_buf, 1000 + t, th_tick, 0);
                  hm_chunk_put_sync (&c);
                }
            }
          flush (out, &c);
          round_end = MAX (round_end, th_tick);
        }
      tick = round_end + 1;
      hm_chunk_begin (&c, chunk_buf, sizeof chunk_buf, HM_TRACE_META_TID, 0, 0);
      hm_chunk_put_round (&c, tick);
      flush (out, &c);
    }
  hm_chunk_begin (&c, chunk_buf, sizeof chunk_buf, HM_TRACE_META_TID, 0, 0);
  hm_chunk_put_end (&c, tick + 1, HM_END_EXIT, 0);
  flush (out, &c);
  fclose (out);
  for (guint t = 0; t < N_THREADS; t++)
    g_free (ring[t]);
  return events;
}

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
