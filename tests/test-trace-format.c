/* test-trace-format.c — the trace format: written, read back, cut, damaged.
 *
 * Traces are built here byte by byte with the agent's own encoder
 * (hm-trace-writer.c), so every test knows exactly which events went in.
 */
#include <glib.h>
#include <string.h>

#include "hm-heap-model.h"
#include "hm-trace-reader.h"
#include "hm-trace-writer.h"
#include "hm-varint.h"

#define TICKS_PER_NS 3

typedef struct {
  GByteArray *bytes;
  guint8 buf[1 << 16];
  HmChunkBuilder chunk;
  gsize n_allocs, n_frees, n_reallocs;
  GArray *chunk_starts;        /* gsize: offsets where chunks begin */
} TraceBuilder;

static void
builder_init (TraceBuilder *b)
{
  HmTraceHeaderInfo info = { .pid = 4242, .start_monotonic_ns = 1000, .page_size = 4096 };
  guint8 header[HM_TRACE_HEADER_SIZE];

  memset (b, 0, sizeof *b);
  b->bytes = g_byte_array_new ();
  b->chunk_starts = g_array_new (FALSE, FALSE, sizeof (gsize));
  hm_trace_write_header (header, &info);
  g_byte_array_append (b->bytes, header, sizeof header);
}

static void
builder_clear (TraceBuilder *b)
{
  g_byte_array_unref (b->bytes);
  g_array_unref (b->chunk_starts);
}

static void
begin (TraceBuilder *b, guint32 tid, guint64 base_tsc, guint64 base_addr)
{
  hm_chunk_begin (&b->chunk, b->buf, sizeof b->buf, tid, base_tsc, base_addr);
}

static void
finish (TraceBuilder *b)
{
  gsize start = b->bytes->len;
  gsize len = hm_chunk_finish (&b->chunk);
  g_array_append_val (b->chunk_starts, start);
  g_byte_array_append (b->bytes, b->buf, (guint) len);
}

/* Two threads allocating from two stacks, one realloc, a round between. */
static void
build_two_thread_trace (TraceBuilder *b)
{
  builder_init (b);

  begin (b, HM_TRACE_META_TID, 0, 0);
  g_assert_true (hm_chunk_put_info (&b->chunk, "exe", "/usr/bin/example"));
  g_assert_true (hm_chunk_put_clock (&b->chunk, 0, 0));
  g_assert_true (hm_chunk_put_clock (&b->chunk, 3000000, 1000000));
  g_assert_true (hm_chunk_put_module_load (&b->chunk, 0, 1, 0x400000, 0x400000, 0x500000,
                                           "/usr/bin/example", (const guint8 *) "\x01\x02", 2));
  g_assert_true (hm_chunk_put_frame (&b->chunk, 1, 0, 0x401000)); /* main */
  g_assert_true (hm_chunk_put_frame (&b->chunk, 2, 1, 0x402000)); /* main -> f */
  g_assert_true (hm_chunk_put_frame (&b->chunk, 3, 1, 0x403000)); /* main -> g */
  g_assert_true (hm_chunk_put_stack (&b->chunk, 1, 2));
  g_assert_true (hm_chunk_put_stack (&b->chunk, 2, 3));
  finish (b);

  /* thread 100: allocs at ticks 30, 90, 150 ...; thread 200 at 60, 120, ... */
  for (int round = 0; round < 3; round++)
    {
      for (guint32 tid = 100; tid <= 200; tid += 100)
        {
          guint64 t = (guint64) round * 600 + (tid == 100 ? 30 : 60);
          begin (b, tid, 0, 0);
          g_assert_true (hm_chunk_put_sync (&b->chunk));
          for (int i = 0; i < 5; i++)
            {
              guint64 addr = 0x10000 + tid * 0x1000 + (guint64) round * 0x100 + (guint64) i * 0x10;
              g_assert_true (hm_chunk_put_alloc (&b->chunk, t, HM_FN_MALLOC, addr, 16 + i,
                                                 tid == 100 ? 1 : 2));
              b->n_allocs++;
              t += 60;
              if (i % 2 == 0)
                {
                  g_assert_true (hm_chunk_put_free (&b->chunk, t, HM_FN_FREE, addr));
                  b->n_frees++;
                }
            }
          if (round == 1 && tid == 100)
            {
              g_assert_true (hm_chunk_put_realloc (&b->chunk, t + 1, 0x10000 + 100 * 0x1000 + 0x110,
                                                   0x90000, 4096, 1));
              b->n_reallocs++;
            }
          finish (b);
        }
      begin (b, HM_TRACE_META_TID, 0, 0);
      g_assert_true (hm_chunk_put_clock (&b->chunk, (guint64) (round + 1) * 600 * TICKS_PER_NS,
                                         (guint64) (round + 1) * 600));
      g_assert_true (hm_chunk_put_round (&b->chunk, (guint64) (round + 1) * 600));
      finish (b);
    }

  begin (b, HM_TRACE_META_TID, 0, 0);
  g_assert_true (hm_chunk_put_end (&b->chunk, 5000, HM_END_EXIT, 0));
  finish (b);
}

typedef struct {
  GArray *kinds;     /* guint8 */
  GArray *ticks;     /* guint64, thread events only */
  gsize n_allocs, n_frees, n_reallocs, n_end;
  gboolean error;
  gboolean truncated;
  GError *gerror;
} ReadResult;

static void
read_result_clear (ReadResult *r)
{
  g_array_unref (r->kinds);
  g_array_unref (r->ticks);
  g_clear_error (&r->gerror);
}

/* Feeds len bytes in pieces of step bytes, then EOF, reading as it goes. */
static void
read_bytes (const guint8 *data, gsize len, gsize step, ReadResult *out)
{
  g_autoptr(HmTraceReader) reader = hm_trace_reader_new ("test");
  gsize fed = 0;
  HmEvent e;

  memset (out, 0, sizeof *out);
  out->kinds = g_array_new (FALSE, FALSE, 1);
  out->ticks = g_array_new (FALSE, FALSE, sizeof (guint64));
  for (;;)
    {
      HmTraceReadStatus status = hm_trace_reader_next (reader, &e, &out->gerror);
      if (status == HM_TRACE_READ_NEED_MORE)
        {
          gsize n = MIN (step, len - fed);
          if (n == 0)
            hm_trace_reader_feed_eof (reader);
          else
            hm_trace_reader_feed (reader, data + fed, n);
          fed += n;
          continue;
        }
      if (status == HM_TRACE_READ_END)
        break;
      if (status == HM_TRACE_READ_ERROR)
        {
          out->error = TRUE;
          break;
        }
      guint8 k = (guint8) e.kind;
      g_array_append_val (out->kinds, k);
      if (e.kind == HM_EV_ALLOC || e.kind == HM_EV_FREE || e.kind == HM_EV_REALLOC)
        g_array_append_val (out->ticks, e.ticks);
      out->n_allocs += e.kind == HM_EV_ALLOC;
      out->n_frees += e.kind == HM_EV_FREE;
      out->n_reallocs += e.kind == HM_EV_REALLOC;
      out->n_end += e.kind == HM_EV_END;
    }
  out->truncated = hm_trace_reader_is_truncated (reader);
}

static void
test_round_trip (void)
{
  TraceBuilder b;
  ReadResult r;

  build_two_thread_trace (&b);
  read_bytes (b.bytes->data, b.bytes->len, b.bytes->len, &r);
  g_assert_no_error (r.gerror);
  g_assert_false (r.error);
  g_assert_false (r.truncated);
  g_assert_cmpuint (r.n_allocs, ==, b.n_allocs);
  g_assert_cmpuint (r.n_frees, ==, b.n_frees);
  g_assert_cmpuint (r.n_reallocs, ==, b.n_reallocs);
  g_assert_cmpuint (r.n_end, ==, 1);
  /* the END comes after every thread event */
  g_assert_cmpuint (g_array_index (r.kinds, guint8, r.kinds->len - 1), ==, HM_EV_END);
  /* the two threads come out merged by time */
  for (guint i = 1; i < r.ticks->len; i++)
    g_assert_cmpuint (g_array_index (r.ticks, guint64, i - 1), <=,
                      g_array_index (r.ticks, guint64, i));
  read_result_clear (&r);
  builder_clear (&b);
}

static void
test_byte_by_byte (void)
{
  TraceBuilder b;
  ReadResult whole, bytes;

  build_two_thread_trace (&b);
  read_bytes (b.bytes->data, b.bytes->len, b.bytes->len, &whole);
  read_bytes (b.bytes->data, b.bytes->len, 1, &bytes);
  g_assert_false (bytes.error);
  g_assert_cmpuint (bytes.kinds->len, ==, whole.kinds->len);
  g_assert_cmpmem (bytes.kinds->data, bytes.kinds->len, whole.kinds->data, whole.kinds->len);
  g_assert_cmpmem (bytes.ticks->data, bytes.ticks->len * 8, whole.ticks->data,
                   whole.ticks->len * 8);
  read_result_clear (&whole);
  read_result_clear (&bytes);
  builder_clear (&b);
}

static gboolean
is_chunk_boundary (TraceBuilder *b, gsize offset)
{
  if (offset == HM_TRACE_HEADER_SIZE || offset == b->bytes->len)
    return TRUE;
  for (guint i = 0; i < b->chunk_starts->len; i++)
    if (g_array_index (b->chunk_starts, gsize, i) == offset)
      return TRUE;
  return FALSE;
}

static void
test_cut_at_every_byte (void)
{
  TraceBuilder b;
  gsize previous_allocs = 0;

  build_two_thread_trace (&b);
  for (gsize cut = 0; cut <= b.bytes->len; cut++)
    {
      ReadResult r;
      read_bytes (b.bytes->data, cut, 97, &r);
      if (cut < HM_TRACE_HEADER_SIZE)
        {
          /* not even a header: an error that says so, never a crash */
          g_assert_true (r.error);
          g_assert_error (r.gerror, HM_TRACE_ERROR, HM_TRACE_ERROR_NOT_A_TRACE);
        }
      else
        {
          g_assert_no_error (r.gerror);
          g_assert_false (r.error);
          g_assert_cmpint (r.truncated, ==, !is_chunk_boundary (&b, cut));
          /* a longer prefix never yields fewer events */
          g_assert_cmpuint (r.n_allocs, >=, previous_allocs);
          previous_allocs = r.n_allocs;
        }
      read_result_clear (&r);
    }
  g_assert_cmpuint (previous_allocs, ==, b.n_allocs);
  g_test_message ("cut: a two-thread trace cut at each of its %u bytes, each read to the cut",
                  b.bytes->len);
  builder_clear (&b);
}

static void
test_corrupt_every_byte (void)
{
  TraceBuilder b;
  g_autofree guint8 *copy = NULL;

  build_two_thread_trace (&b);
  copy = g_memdup2 (b.bytes->data, b.bytes->len);
  for (gsize at = 0; at < b.bytes->len; at++)
    {
      ReadResult r;
      copy[at] ^= 0x5a;
      read_bytes (copy, b.bytes->len, 4096, &r);
      /* payload bytes are caught by the CRC; header bytes by magic and
       * limits; a damaged reserved or base field may read as valid, but
       * nothing may crash and an error must say where */
      if (r.error)
        g_assert_nonnull (strstr (r.gerror->message, "byte"));
      read_result_clear (&r);
      copy[at] = b.bytes->data[at];
    }
  builder_clear (&b);
}

static void
test_hostile_chunk_length (void)
{
  TraceBuilder b;
  guint8 chunk[HM_TRACE_CHUNK_HEADER_SIZE];
  ReadResult r;

  builder_init (&b);
  hm_trace_write_chunk_header (chunk, 0xfffffff0u, 0, 7, 0, 0);
  g_byte_array_append (b.bytes, chunk, sizeof chunk);
  read_bytes (b.bytes->data, b.bytes->len, 4096, &r);
  g_assert_true (r.error);
  g_assert_error (r.gerror, HM_TRACE_ERROR, HM_TRACE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (r.gerror->message, "at byte 64"));
  read_result_clear (&r);
  builder_clear (&b);
}

static void
test_newer_major_version (void)
{
  TraceBuilder b;
  ReadResult r;

  builder_init (&b);
  b.bytes->data[8] = 2;
  read_bytes (b.bytes->data, b.bytes->len, 4096, &r);
  g_assert_error (r.gerror, HM_TRACE_ERROR, HM_TRACE_ERROR_VERSION);
  read_result_clear (&r);
  builder_clear (&b);
}

/* Feeds a model from a built trace. */
static HmHeapModel *
model_from (TraceBuilder *b)
{
  g_autoptr(HmTraceReader) reader = hm_trace_reader_new ("test");
  HmHeapModel *model = hm_heap_model_new ();
  HmEvent e;

  hm_trace_reader_feed (reader, b->bytes->data, b->bytes->len);
  hm_trace_reader_feed_eof (reader);
  while (hm_trace_reader_next (reader, &e, NULL) == HM_TRACE_READ_EVENT)
    hm_heap_model_add_event (model, &e);
  return model;
}

static void
test_model_totals (void)
{
  TraceBuilder b;
  g_autoptr(HmHeapModel) model = NULL;
  const HmHeapTotals *t;

  build_two_thread_trace (&b);
  model = model_from (&b);
  t = hm_heap_model_get_totals (model);
  g_assert_cmpuint (t->allocations, ==, b.n_allocs + b.n_reallocs);
  g_assert_cmpuint (t->frees, ==, b.n_frees);
  g_assert_cmpuint (t->unknown_frees, ==, 0);
  g_assert_cmpuint (t->n_threads, ==, 2);
  /* 30 blocks of 16..20 bytes, 18 freed; the realloc moved one kept block
   * (16 + 1 bytes) to 4096 bytes */
  g_assert_cmpuint (t->live_blocks, ==, b.n_allocs - b.n_frees);
  g_assert_cmpuint (t->live_bytes, ==, 6 * (17 + 19) - 17 + 4096);
  g_assert_cmpuint (hm_heap_model_get_n_stack_nodes (model), ==, 3);
  builder_clear (&b);
}

/* Thread 2 reuses an address thread 1 freed, and its allocation reaches the
 * model before thread 1's free (a free published late): the free must still
 * end thread 1's block, not thread 2's. */
static void
test_model_late_free (void)
{
  TraceBuilder b;
  g_autoptr(HmHeapModel) model = NULL;
  const HmHeapTotals *t;

  builder_init (&b);
  begin (&b, HM_TRACE_META_TID, 0, 0);
  hm_chunk_put_clock (&b.chunk, 0, 0);
  hm_chunk_put_clock (&b.chunk, 1000, 1000);
  finish (&b);
  begin (&b, 1, 0, 0);
  hm_chunk_put_alloc (&b.chunk, 10, HM_FN_MALLOC, 0xabc0, 100, 0);
  finish (&b);
  begin (&b, HM_TRACE_META_TID, 0, 0);
  hm_chunk_put_round (&b.chunk, 20);
  hm_chunk_put_round (&b.chunk, 60);
  finish (&b);
  begin (&b, 2, 0, 0);
  hm_chunk_put_alloc (&b.chunk, 50, HM_FN_MALLOC, 0xabc0, 200, 0);
  finish (&b);
  begin (&b, HM_TRACE_META_TID, 0, 0);
  hm_chunk_put_round (&b.chunk, 100);
  hm_chunk_put_round (&b.chunk, 200);
  finish (&b);
  /* thread 1's free at tick 40, published only now */
  begin (&b, 1, 10, 0xabc0);
  hm_chunk_put_free (&b.chunk, 40, HM_FN_FREE, 0xabc0);
  finish (&b);
  begin (&b, HM_TRACE_META_TID, 0, 0);
  hm_chunk_put_end (&b.chunk, 300, HM_END_EXIT, 0);
  finish (&b);

  model = model_from (&b);
  t = hm_heap_model_get_totals (model);
  g_assert_cmpuint (t->allocations, ==, 2);
  g_assert_cmpuint (t->frees, ==, 1);
  g_assert_cmpuint (t->unknown_frees, ==, 0);
  g_assert_cmpuint (t->live_blocks, ==, 1);
  g_assert_cmpuint (t->live_bytes, ==, 200);   /* thread 2's block is the one left */
  builder_clear (&b);
}

/* Pool gets and returns carry cheap stamps that may lag by a millisecond
 * (agent/hm-agent-private.h), so an object handed between threads can be
 * merged return first, or got again before its return: the model pairs them
 * and its counts come out as if in order.  A return from the same thread
 * before a get (an object from before an attach) pairs with nothing. */
static void
test_model_pool_out_of_order (void)
{
  TraceBuilder b;
  g_autoptr(HmHeapModel) model = NULL;
  const HmPoolStats *p;

  builder_init (&b);
  begin (&b, HM_TRACE_META_TID, 0, 0);
  hm_chunk_put_clock (&b.chunk, 0, 0);
  hm_chunk_put_clock (&b.chunk, 1000, 1000);
  finish (&b);
  begin (&b, 1, 0, 0);
  hm_chunk_put_pool_create (&b.chunk, 10, 7, 32, 0, 0);
  hm_chunk_put_pool_object (&b.chunk, HM_EV_POOL_GET, 200, 7, 0x1000);     /* X, to thread 2 */
  hm_chunk_put_pool_object (&b.chunk, HM_EV_POOL_GET, 300, 7, 0x2000);     /* Y, kept */
  hm_chunk_put_pool_object (&b.chunk, HM_EV_POOL_GET, 450, 7, 0x3000);     /* Z, from thread 2 */
  hm_chunk_put_pool_object (&b.chunk, HM_EV_POOL_RETURN, 600, 7, 0x3000);
  hm_chunk_put_pool_object (&b.chunk, HM_EV_POOL_RETURN, 700, 7, 0x4000);  /* W, from before */
  hm_chunk_put_pool_object (&b.chunk, HM_EV_POOL_GET, 710, 7, 0x4000);
  finish (&b);
  begin (&b, 2, 0, 0);
  hm_chunk_put_pool_object (&b.chunk, HM_EV_POOL_RETURN, 150, 7, 0x1000);  /* X, stale stamp */
  hm_chunk_put_pool_object (&b.chunk, HM_EV_POOL_GET, 400, 7, 0x3000);
  hm_chunk_put_pool_object (&b.chunk, HM_EV_POOL_RETURN, 500, 7, 0x3000);  /* Z, then thread 1's */
  finish (&b);
  begin (&b, HM_TRACE_META_TID, 0, 0);
  hm_chunk_put_end (&b.chunk, 1000, HM_END_EXIT, 0);
  finish (&b);

  model = model_from (&b);
  g_assert_cmpuint (hm_heap_model_get_pools (model)->len, ==, 1);
  p = g_ptr_array_index (hm_heap_model_get_pools (model), 0);
  g_assert_cmpuint (p->gets, ==, 5);              /* X, Y, Z twice, W */
  g_assert_cmpuint (p->returns, ==, 3);           /* X, Z twice */
  g_assert_cmpuint (p->live_objects, ==, 2);      /* Y and W */
  g_assert_cmpuint (p->peak_live_objects, <=, 3);
  g_assert_cmpuint (hm_heap_model_get_strategy (model, HM_STRATEGY_KIND_POOLS)->live_bytes,
                    ==, 2 * 32);
  builder_clear (&b);
}

/* The timeline stays within its bucket budget over a long trace and its last
 * bucket agrees with the totals. */
static void
test_model_timeline (void)
{
  TraceBuilder b;
  g_autoptr(HmHeapModel) model = NULL;
  const HmTimelineBucket *buckets;
  guint n;
  guint64 width, live = 0, peak = 0;

  builder_init (&b);
  begin (&b, HM_TRACE_META_TID, 0, 0);
  hm_chunk_put_clock (&b.chunk, 0, 0);
  hm_chunk_put_clock (&b.chunk, 1000000, 1000000);   /* 1 tick = 1 ns */
  finish (&b);
  /* an hour of one allocation of 100 bytes a second, never freed, except
   * that every tenth is freed a second later */
  begin (&b, 9, 0, 0);
  for (guint64 s = 0; s < 3600; s++)
    {
      guint64 t = s * 1000000000ull;
      hm_chunk_put_alloc (&b.chunk, t, HM_FN_MALLOC, 0x1000 + s * 0x100, 100, 0);
      live += 100;
      peak = MAX (peak, live);
      if (s % 10 == 1)
        {
          hm_chunk_put_free (&b.chunk, t + 500, HM_FN_FREE, 0x1000 + (s - 1) * 0x100);
          live -= 100;
        }
    }
  finish (&b);
  model = model_from (&b);
  buckets = hm_heap_model_get_timeline (model, &n, &width);
  g_assert_cmpuint (n, <=, HM_TIMELINE_MAX_BUCKETS);
  g_assert_cmpuint (n, >, HM_TIMELINE_MAX_BUCKETS / 4);
  g_assert_cmpuint ((guint64) n * width, >=, 3599ull * 1000000000ull);
  g_assert_cmpuint (buckets[n - 1].live_bytes[HM_STRATEGY_KIND_MALLOC], ==, live);
  g_assert_cmpuint (hm_heap_model_get_totals (model)->live_bytes, ==, live);
  /* no bucket claims more than was ever live, and the level never drops by
   * more than one block between neighbours */
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint (buckets[i].peak_total_bytes, <=, peak);
  for (guint i = 1; i < n; i++)
    g_assert_cmpint ((gint64) buckets[i].live_bytes[0] - (gint64) buckets[i - 1].live_bytes[0],
                     >=, -100);
  builder_clear (&b);
}

/* WARNING_LOCATION (minor 1) joins its WARNING by ticks and address
 * whichever comes first; a location that does not parse, and an unknown
 * extension, are skipped without an error. */
static void
test_model_warning_location (void)
{
  TraceBuilder b;
  g_autoptr(HmHeapModel) model = NULL;

  builder_init (&b);
  begin (&b, HM_TRACE_META_TID, 0, 0);
  g_assert_true (hm_chunk_put_clock (&b.chunk, 0, 0));
  g_assert_true (hm_chunk_put_clock (&b.chunk, 3000000, 1000000));
  /* before its warning */
  g_assert_true (hm_chunk_put_warning_location (&b.chunk, 100, 0x7000, HM_POINTER_IN_GLOBAL,
                                                0x601040, 0, 0, 0, 0, "region_pointer+0x0"));
  /* nothing matches this one */
  g_assert_true (hm_chunk_put_warning_location (&b.chunk, 999, 0x7000, HM_POINTER_ON_STACK,
                                                0x7ffd0000, 12, 0, 0, 0, "thread stack 12"));
  finish (&b);
  begin (&b, 7, 0, 0);
  g_assert_true (hm_chunk_put_warning (&b.chunk, 100, HM_WARNING_DANGLING_POINTER, 0x7000, 0, 0,
                                       0, 0, 1));
  g_assert_true (hm_chunk_put_warning (&b.chunk, 200, HM_WARNING_DANGLING_POINTER, 0x8000, 32, 0,
                                       0, 0, 2));
  g_assert_true (hm_chunk_put_warning (&b.chunk, 300, HM_WARNING_LEAK, 0x9000, 100, 0, 1, 0, 0));
  finish (&b);
  begin (&b, HM_TRACE_META_TID, 0, 0);
  g_assert_true (hm_chunk_put_round (&b.chunk, 1000));
  /* after its warning */
  g_assert_true (hm_chunk_put_warning_location (&b.chunk, 200, 0x8000, HM_POINTER_IN_HEAP,
                                                0x5000, 0, 0x5000, 8, 1, "heap block"));
  /* a where no reader knows, and an extension kind nobody defined yet */
  g_assert_true (hm_chunk_put_warning_location (&b.chunk, 300, 0x9000, 9, 0, 0, 0, 0, 0, "?"));
  guint8 unknown[] = { 0x85, 3, 1, 2, 3 };
  memcpy (b.chunk.data + b.chunk.length, unknown, sizeof unknown);
  b.chunk.length += sizeof unknown;
  g_assert_true (hm_chunk_put_end (&b.chunk, 5000, HM_END_EXIT, 0));
  finish (&b);

  model = model_from (&b);
  GArray *warnings = hm_heap_model_get_warnings (model);
  GArray *locations = hm_heap_model_get_warning_locations (model);
  g_assert_cmpuint (warnings->len, ==, 3);
  g_assert_cmpuint (locations->len, ==, 3);
  const HmWarning *w = &g_array_index (warnings, HmWarning, 0);
  g_assert_cmpint (w->location, >=, 0);
  const HmWarningLocation *l = &g_array_index (locations, HmWarningLocation, w->location);
  g_assert_cmpint (l->where, ==, HM_POINTER_IN_GLOBAL);
  g_assert_cmpstr (l->text, ==, "region_pointer+0x0");
  g_assert_cmpuint (l->address, ==, 0x601040);
  w = &g_array_index (warnings, HmWarning, 1);
  g_assert_cmpint (w->location, >=, 0);
  l = &g_array_index (locations, HmWarningLocation, w->location);
  g_assert_cmpint (l->where, ==, HM_POINTER_IN_HEAP);
  g_assert_cmpuint (l->block_addr, ==, 0x5000);
  g_assert_cmpuint (l->block_size, ==, 8);
  g_assert_cmpint (g_array_index (warnings, HmWarning, 2).location, ==, -1);
  builder_clear (&b);
}

/* A thread-chunk extension event (minor 2): kind, length, payload. */
static void
put_extension (TraceBuilder *b, guint8 kind, guint8 fn, const guint64 *fields, int n)
{
  guint8 payload[128], *q = payload;
  *q++ = fn;
  for (int i = 0; i < n; i++)
    q = hm_put_uv (q, fields[i]);
  guint8 *p = b->chunk.data + b->chunk.length;
  *p++ = kind;
  *p++ = (guint8) (q - payload);
  memcpy (p, payload, (gsize) (q - payload));
  b->chunk.length += 2 + (gsize) (q - payload);
}

/* Anonymous mappings: munmap splits one, mremap moves a piece, a wide
 * munmap ends the rest; an unknown thread extension is skipped; a function
 * past the ALLOC nibble comes as ALLOC_X. */
static void
test_model_mappings (void)
{
  TraceBuilder b;
  g_autoptr(HmHeapModel) model = NULL;
  const guint64 kib = 1024;

  builder_init (&b);
  begin (&b, HM_TRACE_META_TID, 0, 0);
  g_assert_true (hm_chunk_put_clock (&b.chunk, 0, 0));
  g_assert_true (hm_chunk_put_clock (&b.chunk, 3000000, 1000000));
  finish (&b);
  begin (&b, 7, 0, 0);
  g_assert_true (hm_chunk_put_alloc (&b.chunk, 100, HM_FN_MMAP, 0x100000, 256 * kib, 0));
  put_extension (&b, HM_EV_UNMAP, HM_FN_MUNMAP, (guint64[]) { 200, 0x110000, 64 * kib }, 3);
  put_extension (&b, 0x8f, 0, (guint64[]) { 1, 2, 3 }, 3);
  put_extension (&b, HM_EV_REALLOC_X, HM_FN_MREMAP,
                 (guint64[]) { 300, 0x120000, 128 * kib, 0x200000, 192 * kib, 0 }, 6);
  /* a file mapping's munmap: nothing the trace saw mapped */
  put_extension (&b, HM_EV_UNMAP, HM_FN_MUNMAP, (guint64[]) { 350, 0x900000, 4 * kib }, 3);
  put_extension (&b, HM_EV_UNMAP, HM_FN_MUNMAP, (guint64[]) { 400, 0, 0x1000000 }, 3);
  put_extension (&b, HM_EV_ALLOC_X, HM_FN_MI_MALLOC, (guint64[]) { 500, 0x5000, 100, 0 }, 4);
  finish (&b);
  begin (&b, HM_TRACE_META_TID, 0, 0);
  g_assert_true (hm_chunk_put_round (&b.chunk, 1000));
  g_assert_true (hm_chunk_put_end (&b.chunk, 5000, HM_END_EXIT, 0));
  finish (&b);

  model = model_from (&b);
  const HmStrategyStats *m = hm_heap_model_get_strategy (model, HM_STRATEGY_KIND_MMAP);
  g_assert_cmpuint (m->allocations, ==, 2);
  g_assert_cmpuint (m->bytes, ==, 256 * kib + 192 * kib);
  g_assert_cmpuint (m->peak_bytes, ==, 64 * kib + 192 * kib);
  g_assert_cmpuint (m->live_bytes, ==, 0);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_MUNMAP), ==, 2);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_MREMAP), ==, 1);
  g_assert_cmpuint (hm_heap_model_get_fn_calls (model, HM_FN_MI_MALLOC), ==, 1);
  /* the head piece and the moved one ended at the last munmap */
  g_assert_cmpuint (hm_heap_model_get_totals (model)->frees, ==, 2);
  g_assert_cmpuint (hm_heap_model_get_strategy (model, HM_STRATEGY_KIND_MALLOC)->live_bytes, ==, 100);
  builder_clear (&b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/heap-model/mappings-and-extensions", test_model_mappings);
  g_test_add_func ("/trace-format/round-trip", test_round_trip);
  g_test_add_func ("/trace-format/fed-byte-by-byte", test_byte_by_byte);
  g_test_add_func ("/trace-format/cut-at-every-byte", test_cut_at_every_byte);
  g_test_add_func ("/trace-format/corrupt-every-byte", test_corrupt_every_byte);
  g_test_add_func ("/trace-format/hostile-chunk-length", test_hostile_chunk_length);
  g_test_add_func ("/trace-format/newer-major-version", test_newer_major_version);
  g_test_add_func ("/heap-model/totals", test_model_totals);
  g_test_add_func ("/heap-model/late-free-after-reuse", test_model_late_free);
  g_test_add_func ("/heap-model/pool-hand-off-out-of-order", test_model_pool_out_of_order);
  g_test_add_func ("/heap-model/timeline", test_model_timeline);
  g_test_add_func ("/heap-model/warning-location", test_model_warning_location);
  return g_test_run ();
}
