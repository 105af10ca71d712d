/* hm-trace-format.h — the constants of the hybridmem trace format.
 *
 * Shared by the agent's writer (no GLib) and the reader.  The format itself is
 * documented for people in core/trace-format.md; keep the two in step.
 */
#pragma once

#include <stdint.h>

#define HM_TRACE_MAGIC           "\x89HMT\r\n\x1a\n"
#define HM_TRACE_MAGIC_LEN       8
#define HM_TRACE_VERSION_MAJOR   1
#define HM_TRACE_VERSION_MINOR   2
#define HM_TRACE_HEADER_SIZE     64

#define HM_TRACE_CHUNK_MAGIC     0x4b434d48u /* "HMCK" little-endian */
#define HM_TRACE_CHUNK_HEADER_SIZE 32
/* A reader refuses bigger chunks: a hostile length field never makes it
 * allocate more than this. */
#define HM_TRACE_MAX_CHUNK_PAYLOAD (16u * 1024u * 1024u)
/* Strings (paths, names, marks) are bounded the same way. */
#define HM_TRACE_MAX_STRING       65536u

/* Header flags. */
#define HM_TRACE_FLAG_LIVE        (1u << 0)   /* written to a socket as it happened */

/* Chunks with this thread id hold the process's metadata (modules, stacks,
 * clock, rounds); every other chunk holds the events of one thread. */
#define HM_TRACE_META_TID 0u

/* Event kinds: the first byte of every event.  Kinds below 0x80 have the
 * fixed layouts of trace-format.md; kinds 0x80 and above are "extension"
 * events whose first field is their payload length, so that a reader of an
 * older minor version can skip them.  Times are TSC ticks (see HM_EV_CLOCK):
 * in thread chunks as deltas (sv dt) against the previous event of the
 * chunk, in metadata chunks absolute (uv ticks). */
typedef enum {
  HM_EV_PAD          = 0x00, /* no fields */
  /* metadata chunks */
  HM_EV_INFO         = 0x01, /* str key, str value */
  HM_EV_THREAD_NAME  = 0x03, /* uv ticks, uv tid, str name */
  HM_EV_MODULE_LOAD  = 0x04, /* uv ticks, uv id, uv bias, uv start, uv end, str path, bytes build_id */
  HM_EV_MODULE_UNLOAD= 0x05, /* uv ticks, uv id */
  HM_EV_FRAME        = 0x06, /* uv node, uv parent, uv ip: one edge of the stack tree */
  HM_EV_STACK        = 0x0e, /* uv stack, uv node: stack id -> leaf node of the tree */
  HM_EV_CLOCK        = 0x0f, /* uv ticks, uv ns: ns since the trace started at that tick */
  HM_EV_ROUND        = 0x20, /* uv ticks: every thread event before it is in the file */
  HM_EV_MARK         = 0x09, /* uv ticks, str text */
  HM_EV_END          = 0x0a, /* uv ticks, uv reason, sv status */
  HM_EV_DROPPED      = 0x0b, /* uv ticks, uv n_events */
  /* thread chunks */
  HM_EV_FREE         = 0x07, /* sv dt, sv addr_delta, u8 fn */
  HM_EV_REALLOC      = 0x08, /* sv dt, sv old_delta, sv new_delta, uv size, uv stack */
  HM_EV_THREAD_END   = 0x0c, /* sv dt */
  HM_EV_SYNC         = 0x0d, /* uv ticks, uv addr: the delta state, absolute */
  /* 0x10..0x1f: an allocation; the low nibble is the HmAllocFn that made it.
   * sv dt, sv addr_delta, uv size, uv stack */
  HM_EV_ALLOC        = 0x10,
  HM_EV_ALLOC_LAST   = 0x1f,
  /* the manager's own strategies (thread chunks) */
  HM_EV_REGION_CREATE = 0x21, /* sv dt, uv region, uv stack */
  HM_EV_REGION_ALLOC  = 0x22, /* sv dt, uv region, sv addr_delta, uv size */
  HM_EV_REGION_RESET  = 0x23, /* sv dt, uv region */
  HM_EV_REGION_FREE   = 0x24, /* sv dt, uv region */
  HM_EV_POOL_CREATE   = 0x25, /* sv dt, uv pool, uv object_size, uv capacity, uv stack */
  HM_EV_POOL_GET      = 0x26, /* sv dt, uv pool, sv addr_delta */
  HM_EV_POOL_RETURN   = 0x27, /* sv dt, uv pool, sv addr_delta */
  HM_EV_POOL_FREE     = 0x28, /* sv dt, uv pool */
  HM_EV_GC_COLLECT    = 0x29, /* sv dt, uv pause_ns, uv freed_bytes, uv freed_objects, uv live_bytes */
  HM_EV_WARNING       = 0x2a, /* sv dt, uv warning, sv addr_delta, uv size, uv stack,
                               * uv alloc_stack, uv free_stack, uv object */
  /* metadata */
  HM_EV_OBJECT_NAME   = 0x30, /* uv what (1 region, 2 pool), uv id, str name */
  HM_EV_PROFILE_DECISION = 0x31, /* uv ticks, uv choice (HmProfileChoice), str site, str why */
  HM_EV_EXTENSION    = 0x80,
  /* extension (minor 1): where a dangling pointer lives; bytes payload =
   * uv ticks, uv addr, uv where, uv word_addr, uv tid, uv block_addr,
   * uv block_size, uv block_stack, str text (see trace-format.md) */
  HM_EV_WARNING_LOCATION = 0x81,
  /* 0x82..0x85: sampling and the flight recorder. */
  /* Extensions of minor 2 (every allocator seen).  In thread chunks an
   * extension is `uv len` then its payload, with absolute times and
   * addresses: it never touches the delta state, so a reader skips one it
   * does not know.  See trace-format.md. */
  HM_EV_ALLOC_X      = 0x86, /* thread: u8 fn, uv ticks, uv addr, uv size, uv stack
                              * (allocations by functions >= 16, which the nibble cannot hold) */
  HM_EV_UNMAP        = 0x87, /* thread: u8 fn, uv ticks, uv addr, uv size: an address range
                              * given back (munmap); blocks of the mmap strategy in it end */
  HM_EV_REALLOC_X    = 0x88, /* thread: u8 fn, uv ticks, uv old_addr, uv old_size,
                              * uv new_addr, uv size, uv stack; old_size 0: the whole block */
  HM_EV_MEMPOOL      = 0x89, /* thread: u8 op (HmMempoolOp), uv ticks, uv pool, uv addr,
                              * uv size, uv stack: a Valgrind mempool request */
  HM_EV_RSS          = 0x8a, /* metadata: bytes payload = uv ticks, uv rss_bytes */
  HM_EV_REGION_LIVE  = 0x8b, /* thread: u8 0, uv ticks, uv region, uv n_allocations, uv bytes:
                              * a flight-recorder dump's live set, what a region held at its
                              * window's start (since its last reset) */
} HmEventKind;

/* HM_EV_MEMPOOL's op. */
typedef enum {
  HM_MEMPOOL_CREATE = 1,       /* VALGRIND_CREATE_MEMPOOL (addr: the pool's anchor) */
  HM_MEMPOOL_ALLOC = 2,        /* VALGRIND_MEMPOOL_ALLOC */
  HM_MEMPOOL_FREE = 3,         /* VALGRIND_MEMPOOL_FREE */
  HM_MEMPOOL_DESTROY = 4,      /* VALGRIND_DESTROY_MEMPOOL */
} HmMempoolOp;

/* WARNING_LOCATION: where the dangling pointer is stored. */
typedef enum {
  HM_POINTER_IN_GLOBAL = 1,    /* a loaded object's writable data */
  HM_POINTER_ON_STACK = 2,     /* a thread's stack */
  HM_POINTER_IN_HEAP = 3,      /* a live, reachable malloc block */
} HmPointerWhere;

/* Which entry point an allocation or free came through. */
typedef enum {
  HM_FN_MALLOC = 0,
  HM_FN_CALLOC,
  HM_FN_REALLOC,
  HM_FN_REALLOCARRAY,
  HM_FN_MEMALIGN,
  HM_FN_POSIX_MEMALIGN,
  HM_FN_ALIGNED_ALLOC,
  HM_FN_VALLOC,
  HM_FN_PVALLOC,
  HM_FN_FREE,
  HM_FN_HM_ALLOC,       /* hm_alloc: the manual strategy */
  HM_FN_GC_ALLOC,       /* hm_gc_alloc */
  HM_FN_HM_FREE,        /* hm_free */
  HM_FN_GC_SWEEP,       /* a collection freed the object */
  /* minor 2: memory that is not malloc's, and other allocators */
  HM_FN_MMAP,           /* 14: mmap/mmap64 of anonymous memory */
  HM_FN_MUNMAP,         /* 15: munmap (HM_EV_UNMAP) */
  HM_FN_MREMAP,         /* 16: mremap (HM_EV_REALLOC_X); from here on ALLOC_X */
  HM_FN_JE_MALLOCX,     /* jemalloc's own API */
  HM_FN_JE_RALLOCX,
  HM_FN_JE_XALLOCX,
  HM_FN_JE_DALLOCX,
  HM_FN_JE_SDALLOCX,
  HM_FN_MI_MALLOC,      /* mimalloc's own API */
  HM_FN_MI_CALLOC,
  HM_FN_MI_ZALLOC,
  HM_FN_MI_REALLOC,
  HM_FN_MI_MALLOC_ALIGNED,
  HM_FN_MI_ZALLOC_ALIGNED,
  HM_FN_MI_NEW,
  HM_FN_MI_MALLOCN,
  HM_FN_MI_FREE,
  HM_FN_HEAPTRACK_ALLOC,    /* heaptrack_report_alloc & co. (heaptrack_api.h) */
  HM_FN_HEAPTRACK_REALLOC,
  HM_FN_HEAPTRACK_FREE,
  HM_FN_VG_MALLOCLIKE,      /* Valgrind client requests */
  HM_FN_VG_RESIZEINPLACE,
  HM_FN_VG_FREELIKE,
  HM_FN_VG_MEMPOOL_ALLOC,
  HM_FN_VG_MEMPOOL_FREE,
  HM_FN_N

} HmAllocFn;

/* What kind of object an OBJECT_NAME names. */
typedef enum {
  HM_OBJECT_REGION = 1,
  HM_OBJECT_POOL = 2,
} HmObjectKind;

/* Lifetime warnings (HM_EV_WARNING). */
typedef enum {
  HM_WARNING_LEAK = 1,              /* a block nothing reachable points to */
  HM_WARNING_DANGLING_POINTER,      /* a live word points into freed region memory or a returned slot */
  HM_WARNING_DOUBLE_FREE,
  HM_WARNING_INVALID_FREE,          /* not an address an allocation function returned */
  HM_WARNING_MISMATCHED_FREE,       /* freed by the wrong strategy's function */
  HM_WARNING_REGION_USE_AFTER_FREE, /* hm_region_* on a freed region */
  HM_WARNING_POOL_WRONG_POOL,       /* returned to a pool it did not come from */
  HM_WARNING_POOL_DOUBLE_RETURN,
  HM_WARNING_POOL_USE_AFTER_FREE,   /* hm_pool_* on a freed pool */
  HM_WARNING_N
} HmWarningKind;

/* Why a trace ended (HM_EV_END). */
typedef enum {
  HM_END_EXIT = 0,       /* the process exited (status is its exit status) */
  HM_END_EXEC = 1,       /* the process called exec; the new image has its own trace */
  HM_END_DETACH = 2,     /* tracing was stopped while the process went on */
  HM_END_SIGNAL = 3,     /* a fatal signal; status is the signal number */
  HM_END_DUMP = 4,       /* a flight-recorder dump; the process went on (minor 2) */
} HmEndReason;

/* The stack node id 0 is the empty stack (the root of the stack tree). */
#define HM_STACK_NONE 0u
