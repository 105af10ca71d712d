/* hm-trace-reader.h — decoding the trace format, from a file or a live stream.
 *
 * The reader is a push parser: bytes go in with hm_trace_reader_feed() (a
 * socket, a GInputStream) or are read from a file it opened itself, and
 * hm_trace_reader_next() gives back one event at a time.  Thread chunks are
 * merged by time, round by round, so events come out in the order they
 * happened across threads; metadata (modules, stacks) comes out as soon as
 * it is read, before the events that use it.  It never trusts the bytes:
 * every length is bounded, every chunk is checked by its CRC, and a cut or
 * corrupt stream ends with a status that says at which byte it stopped.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hm-trace-format.h"

G_BEGIN_DECLS

#define HM_TRACE_ERROR (hm_trace_error_quark ())
GQuark hm_trace_error_quark (void);

typedef enum {
  HM_TRACE_ERROR_NOT_A_TRACE,   /* the magic is wrong: not a hybridmem trace */
  HM_TRACE_ERROR_VERSION,       /* a newer major version than this reader knows */
  HM_TRACE_ERROR_CORRUPT,       /* bad chunk magic, CRC, length or event bytes */
  HM_TRACE_ERROR_IO,            /* the file could not be opened or read */
} HmTraceError;

typedef struct {
  guint16 version_major;
  guint16 version_minor;
  guint32 pid;
  guint32 flags;
  guint64 start_monotonic_ns;
  guint64 start_realtime_ns;
  guint32 pointer_size;
  guint32 page_size;
} HmTraceHeader;

/* One decoded event.  Which fields are meaningful depends on kind; strings
 * and build_id point into the reader and stay valid until the next call. */
typedef struct {
  HmEventKind kind;        /* allocations are all HM_EV_ALLOC; see fn */
  HmAllocFn fn;            /* for HM_EV_ALLOC, HM_EV_FREE, HM_EV_REALLOC and HM_EV_UNMAP */
  guint64 ts;              /* ns since the trace started */
  guint64 tid;             /* thread the event happened on (0: unknown) */
  guint64 addr;            /* ALLOC, FREE; REALLOC: the new address; MODULE_LOAD: lowest mapped address */
  guint64 old_addr;        /* REALLOC */
  guint64 old_size;        /* REALLOC: the bytes given up at old_addr (mremap), 0: the whole
                            * block; UNMAP: -; RSS: - */
  guint64 size;            /* ALLOC, REALLOC, REGION_ALLOC, WARNING, UNMAP, MEMPOOL;
                            * RSS: resident bytes; POOL_CREATE:
                            * object size; MODULE_LOAD: bytes mapped from addr */
  guint64 stack;           /* ALLOC, REALLOC: leaf node of the stack tree */
  guint64 id;              /* MODULE_*: module id; FRAME: node id; STACK: stack id;
                            * THREAD_NAME, THREAD_END: tid; REGION_*, POOL_*: the
                            * region or pool; OBJECT_NAME: the object; WARNING: the
                            * region or pool concerned (0: none) */
  guint64 parent;          /* FRAME; STACK: the leaf node */
  guint64 ip;              /* FRAME: return address (or PC for the first frame) */
  guint64 base;            /* MODULE_LOAD: load bias (dlpi_addr: 0 for non-PIE executables) */
  guint64 count;           /* DROPPED; END: reason; POOL_CREATE: capacity;
                            * PROFILE_DECISION: HmProfileChoice;
                            * GC_COLLECT: objects freed; OBJECT_NAME: HmObjectKind;
                            * MEMPOOL: HmMempoolOp (id: the pool's anchor address) */
  guint64 pause_ns;        /* GC_COLLECT */
  guint64 freed_bytes;     /* GC_COLLECT */
  guint64 live_bytes;      /* GC_COLLECT: GC heap live after the collection */
  HmWarningKind warning;   /* WARNING */
  guint64 alloc_stack;     /* WARNING: where the block came from (0: unknown) */
  guint64 free_stack;      /* WARNING: where it was freed (0: unknown) */
  guint64 ticks;           /* the raw TSC value behind ts */
  gint64 status;           /* END */
  const char *key;         /* INFO; PROFILE_DECISION: the site */
  const char *text;        /* INFO value, MARK, THREAD_NAME, MODULE_LOAD path,
                            * PROFILE_DECISION: why */
  const guint8 *build_id;  /* MODULE_LOAD */
  gsize build_id_len;
  guint64 chunk_offset;    /* byte offset of the chunk holding this event */
  /* WARNING_LOCATION: ticks and addr are the WARNING's (which it belongs
   * to), count the HmPointerWhere, old_addr the pointer's own address, id
   * the thread (on a stack), base, size and stack the block holding it (in
   * the heap), text a description ("symbol+0x8", "thread stack 12"). */
} HmEvent;

typedef enum {
  HM_TRACE_READ_EVENT,     /* *event holds the next event */
  HM_TRACE_READ_NEED_MORE, /* feed more bytes (push mode only) */
  HM_TRACE_READ_END,       /* the stream ended; see hm_trace_reader_is_truncated() */
  HM_TRACE_READ_ERROR,     /* error set; the reader stays stopped there */
} HmTraceReadStatus;

typedef struct _HmTraceReader HmTraceReader;

/* A reader fed by hm_trace_reader_feed(); name is used in messages. */
HmTraceReader *hm_trace_reader_new (const char *name);
/* A reader of a file; fails at once when it cannot be opened or its header is
 * not a trace this reader can read. */
HmTraceReader *hm_trace_reader_open (const char *path, GError **error);
void hm_trace_reader_free (HmTraceReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HmTraceReader, hm_trace_reader_free)

void hm_trace_reader_feed (HmTraceReader *reader, const void *data, gsize len);
/* No more bytes will come: a partial chunk now means a cut trace. */
void hm_trace_reader_feed_eof (HmTraceReader *reader);

HmTraceReadStatus hm_trace_reader_next (HmTraceReader *reader, HmEvent *event, GError **error);

/* The header, once it has been read (NULL before). */
const HmTraceHeader *hm_trace_reader_get_header (HmTraceReader *reader);
/* TRUE when the stream ended inside a chunk (a killed process, a full disk). */
gboolean hm_trace_reader_is_truncated (HmTraceReader *reader);
/* Bytes of whole chunks read so far: where a cut trace stopped being readable. */
guint64 hm_trace_reader_get_offset (HmTraceReader *reader);
guint64 hm_trace_reader_get_n_events (HmTraceReader *reader);
const char *hm_trace_reader_get_name (HmTraceReader *reader);

G_END_DECLS
