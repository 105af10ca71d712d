/* hm-trace-reader.c — the push parser of the trace format.
 *
 * Bytes are appended to one buffer; a chunk is decoded only once it is whole
 * and its CRC matches, so a cut stream never yields half a chunk.  Thread
 * events wait in per-thread queues until a ROUND marker says which of them
 * can no longer be preceded by anything still to come; those are merged by
 * time into the output queue.
 */
#include "hm-trace-reader.h"
#include "hm-trace-writer.h"
#include "hm-thread-events.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK (hm-trace-error-quark, hm_trace_error)

/* Beyond this many waiting events, release the oldest without waiting for a
 * ROUND: memory stays bounded whatever the file says. */
#define MAX_QUEUED_EVENTS (4u * 1024u * 1024u)

typedef struct {
  HmThreadEvent ev;
  guint32 tid;
} Queued;

typedef struct {
  guint32 tid;
  GArray *events;           /* Queued, in time order */
  guint pos;                /* first not yet released */
} ThreadQueue;

struct _HmTraceReader {
  char *name;
  int fd;                   /* -1 in push mode */
  gboolean eof;
  gboolean stopped;         /* an error or the end: nothing more comes out */
  gboolean ended;
  gboolean truncated;
  gboolean read_failed;
  GError *pending_error;    /* returned once the events before it are out */

  GByteArray *buf;
  gsize pos;                /* first unconsumed byte of buf */
  guint64 buf_offset;       /* stream offset of buf->data[0] */

  gboolean have_header;
  HmTraceHeader header;

  /* the metadata chunk being returned event by event */
  gboolean in_meta;
  guint64 chunk_offset;
  gsize chunk_end;

  /* time: ticks -> ns since the start, from the CLOCK points */
  gboolean have_clock;
  guint64 clock0_ticks, clock0_ns;
  guint64 clock1_ticks, clock1_ns;

  GHashTable *queues_by_tid;  /* tid -> ThreadQueue */
  GPtrArray *queues;
  guint64 n_queued;
  guint64 release_limit;      /* the previous ROUND's ticks */
  GArray *out;                /* Queued, merged, ready to return */
  guint out_pos;
  gboolean end_pending;       /* an END waits for the queues to empty */
  HmEvent end_event;

  guint64 n_events;
  GString *key;
  GString *text;
  GByteArray *build_id;
};

static void
queue_free (gpointer data)
{
  ThreadQueue *q = data;
  g_array_unref (q->events);
  g_free (q);
}

HmTraceReader *
hm_trace_reader_new (const char *name)
{
  HmTraceReader *r = g_new0 (HmTraceReader, 1);
  r->name = g_strdup (name ? name : "stream");
  r->fd = -1;
  r->buf = g_byte_array_sized_new (1 << 16);
  r->key = g_string_new (NULL);
  r->text = g_string_new (NULL);
  r->build_id = g_byte_array_new ();
  r->queues_by_tid = g_hash_table_new (g_direct_hash, g_direct_equal);
  r->queues = g_ptr_array_new_with_free_func (queue_free);
  r->out = g_array_new (FALSE, FALSE, sizeof (Queued));
  return r;
}

void
hm_trace_reader_free (HmTraceReader *r)
{
  if (r == NULL)
    return;
  if (r->fd >= 0)
    close (r->fd);
  g_byte_array_unref (r->buf);
  g_string_free (r->key, TRUE);
  g_string_free (r->text, TRUE);
  g_byte_array_unref (r->build_id);
  g_hash_table_destroy (r->queues_by_tid);
  g_ptr_array_unref (r->queues);
  g_array_unref (r->out);
  g_clear_error (&r->pending_error);
  g_free (r->name);
  g_free (r);
}

void
hm_trace_reader_feed (HmTraceReader *r, const void *data, gsize len)
{
  g_return_if_fail (r != NULL);

  /* Drop consumed bytes before growing, so memory stays about one chunk. */
  if (r->pos > 0 && !r->in_meta && r->pos > r->buf->len / 2)
    {
      g_byte_array_remove_range (r->buf, 0, (guint) r->pos);
      r->buf_offset += r->pos;
      r->pos = 0;
    }
  g_byte_array_append (r->buf, data, (guint) len);
}

void
hm_trace_reader_feed_eof (HmTraceReader *r)
{
  g_return_if_fail (r != NULL);
  r->eof = TRUE;
}

const HmTraceHeader *
hm_trace_reader_get_header (HmTraceReader *r)
{
  return r->have_header ? &r->header : NULL;
}

gboolean
hm_trace_reader_is_truncated (HmTraceReader *r)
{
  return r->truncated;
}

guint64
hm_trace_reader_get_offset (HmTraceReader *r)
{
  return r->in_meta ? r->chunk_offset : r->buf_offset + r->pos;
}

guint64
hm_trace_reader_get_n_events (HmTraceReader *r)
{
  return r->n_events;
}

const char *
hm_trace_reader_get_name (HmTraceReader *r)
{
  return r->name;
}

static HmTraceReadStatus
fail (HmTraceReader *r, GError **error, HmTraceError code, guint64 offset, const char *format, ...)
  G_GNUC_PRINTF (5, 6);

static HmTraceReadStatus
fail (HmTraceReader *r, GError **error, HmTraceError code, guint64 offset, const char *format, ...)
{
  va_list args;
  g_autofree char *what = NULL;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  r->stopped = TRUE;
  g_set_error (error, HM_TRACE_ERROR, code, "%s: %s at byte %" G_GUINT64_FORMAT,
               r->name, what, offset);
  return HM_TRACE_READ_ERROR;
}

/* Reads more from the file, if this reader has one.  FALSE at end of file. */
static gboolean
fill (HmTraceReader *r, GError **error)
{
  guint8 block[1 << 16];

  if (r->fd < 0 || r->eof)
    return FALSE;
  for (;;)
    {
      ssize_t n = read (r->fd, block, sizeof block);
      if (n > 0)
        {
          hm_trace_reader_feed (r, block, (gsize) n);
          return TRUE;
        }
      if (n == 0)
        {
          r->eof = TRUE;
          return FALSE;
        }
      if (errno != EINTR)
        {
          int saved = errno;
          r->eof = TRUE;
          r->read_failed = TRUE;
          g_set_error (error, HM_TRACE_ERROR, HM_TRACE_ERROR_IO, "%s: cannot read: %s",
                       r->name, g_strerror (saved));
          return FALSE;
        }
    }
}

static gsize
available (HmTraceReader *r)
{
  return r->buf->len - r->pos;
}

/* --- time ------------------------------------------------------------------------ */

static void
add_clock (HmTraceReader *r, guint64 ticks, guint64 ns)
{
  if (!r->have_clock)
    {
      r->clock0_ticks = r->clock1_ticks = ticks;
      r->clock0_ns = r->clock1_ns = ns;
      r->have_clock = TRUE;
    }
  else if (ticks > r->clock0_ticks)
    {
      r->clock1_ticks = ticks;
      r->clock1_ns = ns;
    }
}

static guint64
ticks_to_ns (HmTraceReader *r, guint64 ticks)
{
  double rate = 1.0, ns;

  if (!r->have_clock)
    return 0;
  if (r->clock1_ticks > r->clock0_ticks)
    rate = (double) (r->clock1_ns - r->clock0_ns) / (double) (r->clock1_ticks - r->clock0_ticks);
  ns = (double) r->clock1_ns + ((double) ticks - (double) r->clock1_ticks) * rate;
  return ns > 0 && ns < 1.8e19 ? (guint64) ns : 0;
}

/* --- decoding: every read is bounded by the chunk end ------------------------------ */

typedef struct {
  const guint8 *p;
  const guint8 *end;
  gboolean bad;
} Cursor;

static guint64
get_uv (Cursor *c)
{
  guint64 v = 0;
  for (int shift = 0; shift < 64; shift += 7)
    {
      if (c->p >= c->end)
        break;
      guint8 b = *c->p++;
      v |= (guint64) (b & 0x7f) << shift;
      if (!(b & 0x80))
        return v;
    }
  c->bad = TRUE;
  return 0;
}

static gint64
get_sv (Cursor *c)
{
  guint64 u = get_uv (c);
  return (gint64) (u >> 1) ^ -(gint64) (u & 1);
}

static guint8
get_u8 (Cursor *c)
{
  if (c->p >= c->end)
    {
      c->bad = TRUE;
      return 0;
    }
  return *c->p++;
}

static const guint8 *
get_bytes (Cursor *c, gsize *len)
{
  guint64 n = get_uv (c);
  const guint8 *start = c->p;
  if (c->bad || n > HM_TRACE_MAX_STRING || n > (guint64) (c->end - c->p))
    {
      c->bad = TRUE;
      *len = 0;
      return NULL;
    }
  c->p += n;
  *len = (gsize) n;
  return start;
}

static const char *
get_str (Cursor *c, GString *into)
{
  gsize len;
  const guint8 *s = get_bytes (c, &len);
  g_string_truncate (into, 0);
  if (s != NULL)
    g_string_append_len (into, (const char *) s, (gssize) len);
  return into->str;
}

/* --- thread events: queue, release, merge ---------------------------------------- */

static ThreadQueue *
queue_for (HmTraceReader *r, guint32 tid)
{
  ThreadQueue *q = g_hash_table_lookup (r->queues_by_tid, GUINT_TO_POINTER (tid));
  if (q == NULL)
    {
      q = g_new0 (ThreadQueue, 1);
      q->tid = tid;
      q->events = g_array_new (FALSE, FALSE, sizeof (Queued));
      g_hash_table_insert (r->queues_by_tid, GUINT_TO_POINTER (tid), q);
      g_ptr_array_add (r->queues, q);
    }
  return q;
}

/* Moves the queued events with ticks <= limit, merged by time, to out. */
static void
release (HmTraceReader *r, guint64 limit)
{
  if (r->out_pos == r->out->len)
    {
      g_array_set_size (r->out, 0);
      r->out_pos = 0;
    }
  for (;;)
    {
      ThreadQueue *best = NULL;
      guint64 best_ticks = G_MAXUINT64;
      for (guint i = 0; i < r->queues->len; i++)
        {
          ThreadQueue *q = g_ptr_array_index (r->queues, i);
          if (q->pos < q->events->len)
            {
              guint64 t = g_array_index (q->events, Queued, q->pos).ev.ticks;
              if (t < best_ticks)
                {
                  best_ticks = t;
                  best = q;
                }
            }
        }
      if (best == NULL || best_ticks > limit)
        break;
      g_array_append_val (r->out, g_array_index (best->events, Queued, best->pos));
      best->pos++;
      r->n_queued--;
    }
  for (guint i = 0; i < r->queues->len; i++)
    {
      ThreadQueue *q = g_ptr_array_index (r->queues, i);
      if (q->pos > 0)
        {
          g_array_remove_range (q->events, 0, q->pos);
          q->pos = 0;
        }
    }
}

static HmTraceReadStatus
decode_thread_chunk (HmTraceReader *r, const guint8 *payload, gsize len, guint32 tid,
                     guint64 ticks, guint64 addr, guint64 offset, GError **error)
{
  const guint8 *p = payload, *end = payload + len;
  ThreadQueue *q = queue_for (r, tid);

  while (p < end)
    {
      Queued e;
      const guint8 *start = p;
      switch (hm_thread_event_decode (&p, end, &ticks, &addr, &e.ev))
        {
        case HM_DECODE_STATE:
          continue;
        case HM_DECODE_EVENT:
          e.tid = tid;
          g_array_append_val (q->events, e);
          r->n_queued++;
          continue;
        case HM_DECODE_BAD:
        default:
          return fail (r, error, HM_TRACE_ERROR_CORRUPT, offset,
                       "undecodable thread event (kind 0x%02x, %" G_GSIZE_FORMAT
                       " bytes into the chunk's payload)", *start, (gsize) (start - payload));
        }
    }
  if (r->n_queued > MAX_QUEUED_EVENTS)
    release (r, G_MAXUINT64);
  return HM_TRACE_READ_EVENT;
}

/* Decodes one metadata event into e.  FALSE on bad bytes.  *hidden is set
 * for events the reader consumes itself (CLOCK, ROUND). */
static gboolean
decode_meta_event (HmTraceReader *r, Cursor *c, HmEvent *e, gboolean *hidden)
{
  guint8 kind = get_u8 (c);

  memset (e, 0, sizeof *e);
  e->chunk_offset = r->chunk_offset;
  e->kind = kind;
  *hidden = FALSE;
  switch (kind)
    {
    case HM_EV_PAD:
      *hidden = TRUE;
      break;
    case HM_EV_INFO:
      e->key = get_str (c, r->key);
      e->text = get_str (c, r->text);
      break;
    case HM_EV_THREAD_NAME:
      e->ticks = get_uv (c);
      e->id = e->tid = get_uv (c);
      e->text = get_str (c, r->text);
      break;
    case HM_EV_MODULE_LOAD:
      {
        gsize len;
        const guint8 *bid;
        e->ticks = get_uv (c);
        e->id = get_uv (c);
        e->base = get_uv (c);
        e->addr = get_uv (c);
        e->size = get_uv (c);
        if (e->size < e->addr)
          return FALSE;
        e->size -= e->addr;
        e->text = get_str (c, r->text);
        bid = get_bytes (c, &len);
        g_byte_array_set_size (r->build_id, 0);
        if (bid != NULL)
          g_byte_array_append (r->build_id, bid, (guint) len);
        e->build_id = r->build_id->data;
        e->build_id_len = r->build_id->len;
      }
      break;
    case HM_EV_MODULE_UNLOAD:
      e->ticks = get_uv (c);
      e->id = get_uv (c);
      break;
    case HM_EV_FRAME:
      e->id = get_uv (c);
      e->parent = get_uv (c);
      e->ip = get_uv (c);
      break;
    case HM_EV_STACK:
      e->id = e->stack = get_uv (c);
      e->parent = get_uv (c);
      break;
    case HM_EV_CLOCK:
      {
        guint64 ticks = get_uv (c), ns = get_uv (c);
        if (!c->bad)
          add_clock (r, ticks, ns);
        *hidden = TRUE;
      }
      break;
    case HM_EV_ROUND:
      {
        guint64 ticks = get_uv (c);
        if (!c->bad)
          {
            release (r, r->release_limit);
            r->release_limit = ticks;
          }
        *hidden = TRUE;
      }
      break;
    case HM_EV_MARK:
      e->ticks = get_uv (c);
      e->text = get_str (c, r->text);
      break;
    case HM_EV_END:
      e->ticks = get_uv (c);
      e->count = get_uv (c);
      e->status = get_sv (c);
      break;
    case HM_EV_DROPPED:
      e->ticks = get_uv (c);
      e->count = get_uv (c);
      break;
    case HM_EV_PROFILE_DECISION:
      e->ticks = get_uv (c);
      e->count = get_uv (c);      /* HmProfileChoice */
      e->key = get_str (c, r->key);
      e->text = get_str (c, r->text);
      break;
    case HM_EV_OBJECT_NAME:
      e->count = get_uv (c);      /* HmObjectKind */
      e->id = get_uv (c);
      e->text = get_str (c, r->text);
      break;
    case HM_EV_WARNING_LOCATION:
      {
        /* an extension: a reader that does not know it skips the bytes */
        gsize len;
        const guint8 *payload = get_bytes (c, &len);
        Cursor in = { payload, payload + len, payload == NULL };
        e->ticks = get_uv (&in);
        e->addr = get_uv (&in);
        e->count = get_uv (&in);      /* HmPointerWhere */
        e->old_addr = get_uv (&in);   /* where the pointer is */
        e->id = get_uv (&in);         /* tid */
        e->base = get_uv (&in);       /* the holding block */
        e->size = get_uv (&in);
        e->stack = get_uv (&in);
        e->text = get_str (&in, r->text);
        /* what does not parse is dropped, like any extension we cannot read */
        if (in.bad || e->count < HM_POINTER_IN_GLOBAL || e->count > HM_POINTER_IN_HEAP)
          *hidden = TRUE;
      }
      break;
    case HM_EV_RSS:
      {
        gsize len;
        const guint8 *payload = get_bytes (c, &len);
        Cursor in = { payload, payload + len, payload == NULL };
        e->ticks = get_uv (&in);
        e->size = get_uv (&in);       /* resident bytes */
        if (in.bad)
          *hidden = TRUE;
      }
      break;
    default:
      if (kind >= HM_EV_EXTENSION)
        {
          /* Newer minor versions: skip what we do not know. */
          gsize len;
          get_bytes (c, &len);
          *hidden = TRUE;
          break;
        }
      return FALSE;
    }
  e->ts = ticks_to_ns (r, e->ticks);
  return !c->bad;
}

/* --- the header and chunks --------------------------------------------------------- */

static HmTraceReadStatus
parse_header (HmTraceReader *r, GError **error)
{
  const guint8 *h = r->buf->data + r->pos;
  guint32 header_size;
  gsize have = MIN (available (r), HM_TRACE_MAGIC_LEN);

  if (memcmp (h, HM_TRACE_MAGIC, have) != 0)
    return fail (r, error, HM_TRACE_ERROR_NOT_A_TRACE, 0,
                 "not a hybridmem trace (no trace magic at the start)");
  if (available (r) < HM_TRACE_HEADER_SIZE)
    return HM_TRACE_READ_NEED_MORE;

  r->header.version_major = h[8] | h[9] << 8;
  r->header.version_minor = h[10] | h[11] << 8;
  if (r->header.version_major != HM_TRACE_VERSION_MAJOR)
    return fail (r, error, HM_TRACE_ERROR_VERSION, 8,
                 "trace format version %u.%u is not readable by this hybridmem "
                 "(it reads version %u.x); use a newer hmtrace",
                 r->header.version_major, r->header.version_minor, HM_TRACE_VERSION_MAJOR);
  header_size = hm_get_le32 (h + 12);
  if (header_size < HM_TRACE_HEADER_SIZE || header_size > 4096)
    return fail (r, error, HM_TRACE_ERROR_CORRUPT, 12, "impossible header size %u", header_size);
  if (available (r) < header_size)
    return HM_TRACE_READ_NEED_MORE;
  r->header.pid = hm_get_le32 (h + 16);
  r->header.flags = hm_get_le32 (h + 20);
  r->header.start_monotonic_ns = hm_get_le64 (h + 24);
  r->header.start_realtime_ns = hm_get_le64 (h + 32);
  r->header.pointer_size = hm_get_le32 (h + 40);
  r->header.page_size = hm_get_le32 (h + 44);
  r->pos += header_size;
  r->have_header = TRUE;
  return HM_TRACE_READ_EVENT;
}

/* Reads one whole chunk: a thread chunk is queued at once, a metadata chunk
 * is left open to be returned event by event. */
static HmTraceReadStatus
read_chunk (HmTraceReader *r, GError **error)
{
  const guint8 *h = r->buf->data + r->pos;
  guint64 offset = r->buf_offset + r->pos;
  guint32 payload, tid;

  if (available (r) < HM_TRACE_CHUNK_HEADER_SIZE)
    return HM_TRACE_READ_NEED_MORE;
  if (hm_get_le32 (h) != HM_TRACE_CHUNK_MAGIC)
    return fail (r, error, HM_TRACE_ERROR_CORRUPT, offset, "no chunk starts here (bad chunk magic)");
  payload = hm_get_le32 (h + 4);
  if (payload > HM_TRACE_MAX_CHUNK_PAYLOAD)
    return fail (r, error, HM_TRACE_ERROR_CORRUPT, offset,
                 "chunk claims %u bytes, more than the limit of %u", payload,
                 HM_TRACE_MAX_CHUNK_PAYLOAD);
  if (available (r) < HM_TRACE_CHUNK_HEADER_SIZE + (gsize) payload)
    return HM_TRACE_READ_NEED_MORE;
  if (hm_crc32c (0, h + HM_TRACE_CHUNK_HEADER_SIZE, payload) != hm_get_le32 (h + 8))
    return fail (r, error, HM_TRACE_ERROR_CORRUPT, offset,
                 "chunk checksum mismatch (the bytes were damaged)");
  tid = hm_get_le32 (h + 12);

  if (tid == HM_TRACE_META_TID)
    {
      r->in_meta = TRUE;
      r->chunk_offset = offset;
      r->chunk_end = r->pos + HM_TRACE_CHUNK_HEADER_SIZE + payload;
      r->pos += HM_TRACE_CHUNK_HEADER_SIZE;
      return HM_TRACE_READ_EVENT;
    }
  HmTraceReadStatus status =
    decode_thread_chunk (r, h + HM_TRACE_CHUNK_HEADER_SIZE, payload, tid, hm_get_le64 (h + 16),
                         hm_get_le64 (h + 24), offset, error);
  if (status == HM_TRACE_READ_EVENT)
    r->pos += HM_TRACE_CHUNK_HEADER_SIZE + payload;
  return status;
}

static void
fill_event (HmTraceReader *r, const Queued *q, HmEvent *e)
{
  const HmThreadEvent *t = &q->ev;

  memset (e, 0, sizeof *e);
  e->kind = t->kind;
  e->fn = t->fn;
  e->ticks = t->ticks;
  e->ts = ticks_to_ns (r, t->ticks);
  e->tid = q->tid;
  e->addr = t->addr;
  e->old_addr = t->old_addr;
  e->size = t->size;
  e->stack = t->stack;
  e->id = t->kind == HM_EV_THREAD_END ? q->tid : t->id;
  switch (t->kind)
    {
    case HM_EV_POOL_CREATE:
      e->count = t->a;              /* capacity */
      break;
    case HM_EV_GC_COLLECT:
      e->pause_ns = t->a;
      e->freed_bytes = t->b;
      e->count = t->c;              /* objects freed */
      e->live_bytes = t->d;
      break;
    case HM_EV_WARNING:
      e->warning = (HmWarningKind) t->a;
      e->alloc_stack = t->b;
      e->free_stack = t->c;
      break;
    case HM_EV_REALLOC:
      e->old_size = t->a;
      break;
    case HM_EV_MEMPOOL:
      e->count = t->a;              /* HmMempoolOp */
      break;
    case HM_EV_REGION_LIVE:
      e->count = t->a;              /* allocations */
      break;
    default:
      break;
    }
}

HmTraceReadStatus
hm_trace_reader_next (HmTraceReader *r, HmEvent *event, GError **error)
{
  g_return_val_if_fail (r != NULL, HM_TRACE_READ_ERROR);
  g_return_val_if_fail (event != NULL, HM_TRACE_READ_ERROR);

  for (;;)
    {
      HmTraceReadStatus status;

      /* merged thread events first */
      if (r->out_pos < r->out->len)
        {
          fill_event (r, &g_array_index (r->out, Queued, r->out_pos++), event);
          r->n_events++;
          return HM_TRACE_READ_EVENT;
        }
      if (r->end_pending)
        {
          r->end_pending = FALSE;
          *event = r->end_event;
          event->ts = ticks_to_ns (r, event->ticks);
          r->n_events++;
          return HM_TRACE_READ_EVENT;
        }
      if (r->stopped)
        {
          if (r->ended)
            return HM_TRACE_READ_END;
          if (r->pending_error != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&r->pending_error));
              return HM_TRACE_READ_ERROR;
            }
          g_set_error (error, HM_TRACE_ERROR, HM_TRACE_ERROR_CORRUPT,
                       "%s: reading stopped earlier at byte %" G_GUINT64_FORMAT, r->name,
                       hm_trace_reader_get_offset (r));
          return HM_TRACE_READ_ERROR;
        }

      if (!r->have_header)
        status = parse_header (r, error);
      else if (!r->in_meta)
        status = read_chunk (r, error);
      else if (r->pos >= r->chunk_end)
        {
          r->in_meta = FALSE;
          continue;
        }
      else
        {
          Cursor c = { r->buf->data + r->pos, r->buf->data + r->chunk_end, FALSE };
          gboolean hidden;
          guint8 kind = *c.p;
          if (!decode_meta_event (r, &c, event, &hidden))
            return fail (r, error, HM_TRACE_ERROR_CORRUPT, r->chunk_offset,
                         "undecodable event (kind 0x%02x) in the metadata chunk", kind);
          r->pos = (gsize) (c.p - r->buf->data);
          if (hidden)
            continue;
          if (event->kind == HM_EV_END)
            {
              /* everything the threads did comes before the end */
              release (r, G_MAXUINT64);
              r->end_event = *event;
              r->end_pending = TRUE;
              continue;
            }
          r->n_events++;
          return HM_TRACE_READ_EVENT;
        }

      if (status == HM_TRACE_READ_ERROR)
        {
          /* what was whole before the damage still counts */
          release (r, G_MAXUINT64);
          if (r->out_pos < r->out->len && error != NULL && *error != NULL)
            {
              /* return those first; the error comes after them */
              r->pending_error = g_steal_pointer (error);
              continue;
            }
          return status;
        }
      if (status == HM_TRACE_READ_EVENT)
        continue;     /* header or chunk consumed: go on */

      /* NEED_MORE */
      if (fill (r, error))
        continue;
      if (r->read_failed)
        {
          r->stopped = TRUE;
          return HM_TRACE_READ_ERROR; /* set by fill */
        }
      if (!r->eof)
        return HM_TRACE_READ_NEED_MORE;

      if (!r->have_header)
        {
          if (r->buf->len == 0)
            return fail (r, error, HM_TRACE_ERROR_NOT_A_TRACE, 0, "empty file, not a trace");
          return fail (r, error, HM_TRACE_ERROR_NOT_A_TRACE, r->buf->len,
                       "too short for a trace header");
        }
      r->stopped = TRUE;
      r->ended = TRUE;
      r->truncated = available (r) > 0;
      release (r, G_MAXUINT64);
    }
}

HmTraceReader *
hm_trace_reader_open (const char *path, GError **error)
{
  g_autoptr(HmTraceReader) r = NULL;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, HM_TRACE_ERROR, HM_TRACE_ERROR_IO, "%s: cannot open: %s", path,
                   g_strerror (saved));
      return NULL;
    }
  r = hm_trace_reader_new (path);
  r->fd = fd;

  /* Read just the header now, so that a wrong file fails at once. */
  while (!r->have_header)
    {
      HmTraceReadStatus status = parse_header (r, error);
      if (status == HM_TRACE_READ_ERROR)
        return NULL;
      if (status == HM_TRACE_READ_NEED_MORE && !fill (r, error))
        {
          if (r->read_failed)
            return NULL;
          if (r->buf->len == 0)
            g_set_error (error, HM_TRACE_ERROR, HM_TRACE_ERROR_NOT_A_TRACE,
                         "%s: empty file, not a trace", path);
          else
            g_set_error (error, HM_TRACE_ERROR, HM_TRACE_ERROR_NOT_A_TRACE,
                         "%s: too short (%u bytes) for a trace header", path, r->buf->len);
          return NULL;
        }
    }
  return g_steal_pointer (&r);
}
