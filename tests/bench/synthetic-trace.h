/* synthetic-trace.h — a big trace written straight with the trace writer,
 * for the benchmarks (bench-breakdown, bench-gui): 8 threads, 2 000
 * allocation sites under 40 callers, 10 s of allocations and frees through
 * rings of live blocks.  write_trace() returns the number of events. */
#pragma once

#include <glib.h>
#include <stdio.h>

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

static G_GNUC_UNUSED guint64
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

