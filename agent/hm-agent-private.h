/* hm-agent-private.h — what the agent's files share, and its hot path.
 *
 * The agent lives inside other people's programs.  Everything here obeys
 * three rules: no allocation through the interposed functions (internal memory
 * comes from mmap or __libc_malloc), no lock and no syscall on the hot path,
 * and every thread-local with the initial-exec TLS model (the dynamic model
 * would allocate on first touch — through us).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hm-trace-format.h"
#include "hm-varint.h"

#define HM_HIDDEN __attribute__ ((visibility ("hidden")))
#define HM_EXPORT __attribute__ ((visibility ("default")))
#define HM_TLS __attribute__ ((tls_model ("initial-exec")))
#define HM_LIKELY(x) __builtin_expect (!!(x), 1)
#define HM_UNLIKELY(x) __builtin_expect (!!(x), 0)

/* glibc's own allocator entry points: the agent's "real" malloc & co. Using
 * them needs no dlsym, so there is no bootstrap recursion to break. */
extern void *__libc_malloc (size_t);
extern void __libc_free (void *);
extern void *__libc_calloc (size_t, size_t);
extern void *__libc_realloc (void *, size_t);
extern void *__libc_memalign (size_t, size_t);
extern void *__libc_valloc (size_t);
extern void *__libc_pvalloc (size_t);

/* --- the hot path: each thread encodes its events into its own byte ring ----
 *
 * The ring holds the thread's events already in the trace's encoding
 * (varints, deltas against the thread's previous event, TSC ticks), so the
 * writer copies ring bytes to the trace as they are: a few bytes an event, no
 * decoding, no re-encoding.  The ring is tiled by blocks; an event never
 * straddles two, the rest of a block is padding, and every block opens with a
 * SYNC event holding the absolute delta state, so a chunk may start at any
 * block (see hm-writer.c and core/trace-format.md).
 */

#define HM_RING_BYTES (1024u * 1024u)  /* a power of two; big enough that the writer's
                                        * copy of a line is gone when the producer
                                        * comes back to it */
#define HM_RING_BLOCK 4096u            /* events never straddle a block */
#define HM_RING_MAX_EVENT 96u          /* no encoded event is longer */
#define HM_RING_MAX_SYNC 21u

typedef struct HmThread HmThread;
struct HmThread {
  /* producer side: only the owning thread writes these */
  uint64_t head __attribute__ ((aligned (64)));
  uint64_t last_tsc;           /* delta state of the encoding */
  uint64_t last_addr;
  uint32_t cheap_left;         /* cheap stamps before the next real TSC read (hm_cheap_tsc) */
  uint64_t fast_end;           /* an event fits at head with no further check while
                                * head + HM_RING_MAX_EVENT <= fast_end (hm_ring_reserve) */
  /* consumer side: only the writer writes these, once a round; the
   * producer reads them on every event, so nothing else lives on this line */
  uint64_t tail __attribute__ ((aligned (64)));
  uint64_t wake_mark;          /* head at which the producer wakes the writer */
  /* the writer's working state, on a line of its own (false sharing with
   * tail made every event a cache miss for the producer) */
  uint64_t read_tsc __attribute__ ((aligned (64)));  /* the writer's copy of the delta state */
  uint64_t read_addr;
  /* shared, rarely written */
  uint32_t tid __attribute__ ((aligned (64)));
  int exited;                  /* the thread ran its key destructor */
  int in_use;                  /* 0: free for reuse by a new thread */
  HmThread *next;              /* registry list, push-only */
  uint8_t ring[HM_RING_BYTES] __attribute__ ((aligned (64)));
};

/* --- global state ------------------------------------------------------------ */

typedef struct {
  volatile int decided;      /* the environment was read (at the first hook or at load) */
  volatile int tracing;      /* events are being recorded */
  volatile int writer_started;
  uint64_t dropped;          /* events lost (before the writer started, marks beyond
                              * its queue) and not yet said in the trace */
  int trace_fd;
  uint64_t start_ns;         /* CLOCK_MONOTONIC at trace start */
  uint64_t start_tsc;        /* the TSC at the same moment */
  uint64_t calib_tsc;        /* a second (TSC, ns) point a millisecond later */
  uint64_t calib_ns;
  uintptr_t self_start;      /* the agent's own text, skipped in stacks */
  uintptr_t self_end;
  uintptr_t unwinder_start;  /* libunwind's text, also skipped */
  uintptr_t unwinder_end;
  int pid;                   /* the traced process (a vfork or fork child is not it) */
  int exit_status;           /* from main's return or exit(); -1 unknown */
  int stack_depth;           /* frames kept per stack */
  int drop_when_behind;      /* HM_DROP_WHEN_BEHIND=1: a full ring drops the new event
                              * (counted) rather than wait for the writer */
  int constructed;           /* hm_agent_init ran */
  int injected;              /* dlopen'ed into a running process by hmtrace attach: the
                              * program reaches malloc & co. only through the GOT
                              * entries hm-got.c rewrites while a debugger is attached */
  volatile int exiting;      /* the process is exiting: no new attach session */
  int flight;                /* HM_FLIGHT_RECORDER: the last seconds in memory, dumps on
                              * demand (hm-flight.c) */
} HmAgent;

extern HmAgent hm_agent HM_HIDDEN;
extern int hm__fast_v1;        /* hm-agent.c: see hybridmem.h */
void hm_agent_decide (void) HM_HIDDEN;
extern __thread int hm_guard HM_TLS HM_HIDDEN;        /* >0: the agent is running: no events */
extern __thread HmThread *hm_self HM_TLS HM_HIDDEN;

static inline uint64_t
hm_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* A TSC value and CLOCK_MONOTONIC (ns) of the same moment, for the trace's
 * clock points and rates.  Read one after the other, the two can be a
 * preemption apart (milliseconds on a loaded machine), and a point that far
 * off moves every event converted with it by as much; so the TSC is read on
 * both sides of the clock, and a pair whose sides are far apart is read
 * again (hm-writer.c). */
void hm_clock_pair (uint64_t *tsc, uint64_t *ns) HM_HIDDEN;

/* hm-thread-buffer.c */
HmThread *hm_thread_register (void) HM_HIDDEN;
/* false: drop the event (counted in hm_agent.dropped) */
bool hm_thread_wait_for_room (HmThread *t, uint64_t need) HM_HIDDEN;
void hm_thread_wake_writer (void) HM_HIDDEN;
void hm_thread_open_block (HmThread *t, uint32_t pad) HM_HIDDEN;
uint8_t *hm_ring_reserve_slow (HmThread **out) __attribute__ ((noinline)) HM_HIDDEN;
void hm_ring_commit_slow (HmThread *t, uint64_t head, uint64_t next)
  __attribute__ ((noinline)) HM_HIDDEN;
HmThread *hm_thread_list (void) HM_HIDDEN;
void hm_thread_buffers_init (void) HM_HIDDEN;
void hm_thread_after_fork_child (void) HM_HIDDEN;
/* Skips what the ring holds (written between two attach sessions) and sets
 * the writer's delta state to the producer's at head (hm-writer.c). */
void hm_thread_skip_unread (HmThread *t) HM_HIDDEN;
extern uint32_t hm_writer_futex HM_HIDDEN;

static inline uint64_t
hm_tsc (void)
{
  return __builtin_ia32_rdtsc ();
}

/* --- cheap timestamps ------------------------------------------------------------
 *
 * Reading the TSC costs 10 ns on some machines (AMD, virtual machines), as
 * much as the rest of a region allocation's event.  The stack-less events
 * of the manager's fast paths (REGION_ALLOC, POOL_GET, POOL_RETURN) take
 * their time from hm_clock.coarse instead, a recent TSC value that the
 * writer thread publishes about every millisecond while such events are
 * being recorded; every other event reads the TSC.
 *
 * A cheap stamp is max (the thread's previous stamp, hm_clock.coarse): never
 * later than the real time, and never earlier than any of
 *   - the thread's previous event (each thread's stream stays monotone);
 *   - the writer's last tick, at most HM_CLOCK_TICK_NS old plus however long
 *     the scheduler keeps the writer thread from running;
 *   - every round cut (+1 tick): an event published after a round is never
 *     stamped before the previous round's cut, which the reader's merge
 *     relies on (core/trace-format.md);
 *   - every CREATE, RESET and FREE of any region or pool (+1 tick): an
 *     allocation or get that follows one in the program, in any thread,
 *     comes after it in the merged trace.
 * Every HM_CLOCK_REAL_EVERY-th cheap event of a thread reads the TSC after
 * all; if the tick it finds is older than hm_clock.late_ticks (the writer
 * is starved), cheap stamps stop until the writer ticks again.  So a stamp
 * is at most about a millisecond early, more only for the few events before
 * a thread notices a late writer.  Without a writer thread (sampling mode,
 * a fork child, before tracing starts or between attach sessions)
 * hm_clock.ticking stays 0 and every event reads the TSC; so does an event
 * after a quiet spell (the writer stops ticking when no cheap events come;
 * the first one asks it to start again, and it does at its next round).
 * The flight recorder's writer ticks as the file writer's does.
 *
 * Cross-thread order between two cheap events is not kept: a pool object
 * got in one thread and returned in another within the stamps' slack may
 * be merged return first.  The heap model pairs them (hm-heap-model.c). */
#define HM_CLOCK_TICK_NS (1000u * 1000u)
#define HM_CLOCK_LATE_NS (4u * 1000u * 1000u)
#define HM_CLOCK_REAL_EVERY 64u
typedef struct {
  uint64_t coarse;             /* a recent TSC value; only ever grows (hm_clock_publish) */
  uint64_t late_ticks;         /* HM_CLOCK_LATE_NS in ticks */
  int ticking;                 /* the writer refreshes coarse every HM_CLOCK_TICK_NS */
  int requested;               /* a cheap event came while not ticking */
  int used;                    /* a cheap event came since the writer's last tick */
} __attribute__ ((aligned (64))) HmClock;
extern HmClock hm_clock HM_HIDDEN;

/* Raises hm_clock.coarse to at least tsc. */
static inline void
hm_clock_publish (uint64_t tsc)
{
  uint64_t cur = __atomic_load_n (&hm_clock.coarse, __ATOMIC_RELAXED);
  while (cur < tsc
         && !__atomic_compare_exchange_n (&hm_clock.coarse, &cur, tsc, true, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED))
    ;
}

/* Every HM_CLOCK_REAL_EVERY-th cheap stamp, and every one while the clock
 * does not tick: the TSC, and what it says about the clock (hm-writer.c). */
uint64_t hm_cheap_tsc_real (HmThread *t) __attribute__ ((cold)) HM_HIDDEN;

/* A cheap event's time without reading the TSC, when one is due (see
 * above); false when this event must read it (hm_cheap_tsc_real). */
static inline bool
hm_cheap_tsc_coarse (HmThread *t, uint64_t *tsc)
{
  if (HM_LIKELY (__atomic_load_n (&hm_clock.ticking, __ATOMIC_ACQUIRE))
      && HM_LIKELY (t->cheap_left != 0))
    {
      t->cheap_left--;
      uint64_t coarse = __atomic_load_n (&hm_clock.coarse, __ATOMIC_RELAXED);
      *tsc = coarse > t->last_tsc ? coarse : t->last_tsc;
      return true;
    }
  return false;
}

/* A cheap event's time (see above). */
static inline uint64_t
hm_cheap_tsc (HmThread *t)
{
  uint64_t tsc;
  return hm_cheap_tsc_coarse (t, &tsc) ? tsc : hm_cheap_tsc_real (t);
}

/* Makes room for one event and returns where to write it.
 *
 * The fast path is one compare: the slow path (hm-thread-buffer.c) leaves
 * in fast_end the lowest of the current block's end (no padding, no SYNC to
 * write), the room the writer has left (tail only grows, so a stale tail is
 * only conservative) and the writer's wake mark (no wake-up to send).  Only
 * the owning thread reads and writes head and fast_end, so the fast path
 * touches no line the writer writes. */
static inline uint8_t *
hm_ring_reserve (HmThread **out)
{
  HmThread *t = hm_self;
  if (HM_LIKELY (t != NULL) && HM_LIKELY (t->head + HM_RING_MAX_EVENT <= t->fast_end))
    {
      *out = t;
      return &t->ring[(uint32_t) t->head & (HM_RING_BYTES - 1)];
    }
  return hm_ring_reserve_slow (out);
}

static inline void
hm_ring_commit (HmThread *t, uint8_t *start, uint8_t *end)
{
  uint64_t head = t->head;
  uint64_t next = head + (uint64_t) (end - start);
  __atomic_store_n (&t->head, next, __ATOMIC_RELEASE);
  if (HM_UNLIKELY (next >= t->fast_end))
    hm_ring_commit_slow (t, head, next);
}

static inline uint8_t *
hm_put_time (HmThread *t, uint8_t *p, uint64_t tsc)
{
  p = hm_put_sv (p, (int64_t) (tsc - t->last_tsc));
  t->last_tsc = tsc;
  return p;
}

static inline uint8_t *
hm_put_addr (HmThread *t, uint8_t *p, uint64_t addr)
{
  p = hm_put_sv (p, (int64_t) (addr - t->last_addr));
  t->last_addr = addr;
  return p;
}

static inline void
hm_emit_alloc (uint8_t fn, uint64_t addr, uint64_t size, uint32_t stack)
{
  HmThread *t;
  uint8_t *start = hm_ring_reserve (&t), *p = start;
  if (HM_UNLIKELY (p == NULL))
    return;
  *p++ = (uint8_t) (HM_EV_ALLOC | fn);
  p = hm_put_time (t, p, hm_tsc ());
  p = hm_put_addr (t, p, addr);
  p = hm_put_uv (p, size);
  p = hm_put_uv (p, stack);
  hm_ring_commit (t, start, p);
}

/* tsc: when the block stopped being the program's, read before anything
 * can hand its address out again (hm_watch_free). */
static inline void
hm_emit_free_at (uint8_t fn, uint64_t addr, uint64_t tsc)
{
  HmThread *t;
  uint8_t *start = hm_ring_reserve (&t), *p = start;
  if (HM_UNLIKELY (p == NULL))
    return;
  *p++ = HM_EV_FREE;
  p = hm_put_time (t, p, tsc);
  p = hm_put_addr (t, p, addr);
  *p++ = fn;
  hm_ring_commit (t, start, p);
}

static inline void
hm_emit_free (uint8_t fn, uint64_t addr)
{
  hm_emit_free_at (fn, addr, hm_tsc ());
}

/* tsc is taken before the real realloc: the old block ended no later. */
static inline void
hm_emit_realloc (uint64_t tsc, uint64_t old_addr, uint64_t new_addr, uint64_t size,
                 uint32_t stack)
{
  HmThread *t;
  uint8_t *start = hm_ring_reserve (&t), *p = start;
  if (HM_UNLIKELY (p == NULL))
    return;
  *p++ = HM_EV_REALLOC;
  p = hm_put_time (t, p, tsc);
  p = hm_put_addr (t, p, old_addr);
  p = hm_put_addr (t, p, new_addr);
  p = hm_put_uv (p, size);
  p = hm_put_uv (p, stack);
  hm_ring_commit (t, start, p);
}

static inline void
hm_emit_thread_end (void)
{
  HmThread *t;
  uint8_t *start = hm_ring_reserve (&t), *p = start;
  if (HM_UNLIKELY (p == NULL))
    return;
  *p++ = HM_EV_THREAD_END;
  p = hm_put_time (t, p, hm_tsc ());
  hm_ring_commit (t, start, p);
}

/* The manager's events.  Region and pool events carry no stack of their
 * own (their create event does), so they cost a timestamp and a few bytes.
 * The commonest three, from the fast paths: REGION_ALLOC (region, addr,
 * size), POOL_GET and POOL_RETURN (pool, addr), with a cheap timestamp. */
static inline __attribute__ ((always_inline)) uint8_t *
hm_put_object (HmThread *t, uint8_t *p, uint8_t kind, uint64_t tsc, uint64_t id, uint64_t addr,
               uint64_t size)
{
  *p++ = kind;
  p = hm_put_time (t, p, tsc);
  p = hm_put_uv (p, id);
  p = hm_put_addr (t, p, addr);
  if (kind == HM_EV_REGION_ALLOC)
    p = hm_put_uv (p, size);
  return p;
}

static inline __attribute__ ((always_inline)) void
hm_emit_object (uint8_t kind, uint64_t id, uint64_t addr, uint64_t size)
{
  HmThread *t;
  uint8_t *start = hm_ring_reserve (&t);
  if (HM_UNLIKELY (start == NULL))
    return;
  hm_ring_commit (t, start, hm_put_object (t, start, kind, hm_cheap_tsc (t), id, addr, size));
}

/* hm_emit_object's common case, for the region and pool fast paths: a few
 * stores and no call, so that its callers stay leaf functions with no
 * registers to save.  Returns true when done: the event written, or none due
 * (the agent's own call).  Returns false, having written nothing, when the
 * event needs more (a new block, room from the writer, a wake-up, a real TSC
 * read): then the caller goes its slow way, which calls hm_emit_object. */
static inline __attribute__ ((always_inline)) bool
hm_emit_object_leaf (uint8_t kind, uint64_t id, uint64_t addr, uint64_t size)
{
  if (HM_UNLIKELY (hm_guard != 0))
    return true;
  HmThread *t = hm_self;
  uint64_t tsc;
  /* strictly below fast_end: the event cannot end on it, so no commit check */
  if (HM_UNLIKELY (t == NULL || t->head + HM_RING_MAX_EVENT >= t->fast_end
                   || !hm_cheap_tsc_coarse (t, &tsc)))
    return false;
  uint64_t head = t->head;
  uint8_t *start = &t->ring[(uint32_t) head & (HM_RING_BYTES - 1)];
  uint8_t *end = hm_put_object (t, start, kind, tsc, id, addr, size);
  __atomic_store_n (&t->head, head + (uint64_t) (end - start), __ATOMIC_RELEASE);
  return true;
}

/* The others: REGION_CREATE/RESET/FREE, POOL_CREATE/FREE, GC_COLLECT. */
static inline void
hm_emit_ids (uint8_t kind, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
  HmThread *t;
  uint8_t *start = hm_ring_reserve (&t), *p = start;
  if (HM_UNLIKELY (p == NULL))
    return;
  *p++ = kind;
  uint64_t tsc = hm_tsc ();
  p = hm_put_time (t, p, tsc);
  switch (kind)
    {
    case HM_EV_REGION_CREATE:           /* region, stack */
      p = hm_put_uv (p, a);
      p = hm_put_uv (p, b);
      break;
    case HM_EV_POOL_CREATE:             /* pool, object_size, capacity, stack */
    case HM_EV_GC_COLLECT:              /* pause_ns, freed_bytes, freed_objects, live_bytes */
      p = hm_put_uv (p, a);
      p = hm_put_uv (p, b);
      p = hm_put_uv (p, c);
      p = hm_put_uv (p, d);
      break;
    default:                            /* REGION_RESET, REGION_FREE, POOL_FREE: id */
      p = hm_put_uv (p, a);
      break;
    }
  hm_ring_commit (t, start, p);
  /* what follows in the program, in any thread, is stamped after it */
  if (kind == HM_EV_REGION_CREATE || kind == HM_EV_REGION_RESET || kind == HM_EV_REGION_FREE
      || kind == HM_EV_POOL_CREATE || kind == HM_EV_POOL_FREE)
    hm_clock_publish (tsc + 1);
}

static inline void
hm_emit_warning (uint64_t ticks, HmWarningKind warning, uint64_t addr, uint64_t size,
                 uint32_t stack, uint32_t alloc_stack, uint32_t free_stack, uint64_t object)
{
  HmThread *t;
  uint8_t *start = hm_ring_reserve (&t), *p = start;
  if (HM_UNLIKELY (p == NULL))
    return;
  *p++ = HM_EV_WARNING;
  p = hm_put_time (t, p, ticks);
  p = hm_put_uv (p, warning);
  p = hm_put_addr (t, p, addr);
  p = hm_put_uv (p, size);
  p = hm_put_uv (p, stack);
  p = hm_put_uv (p, alloc_stack);
  p = hm_put_uv (p, free_stack);
  p = hm_put_uv (p, object);
  hm_ring_commit (t, start, p);
}

/* Extension events (minor 2): kind, a one-byte length, then a payload of
 * absolute values, so the delta state is not touched.  fields[0] is the
 * time; n_fields <= 6 (at most 1 + 1 + 1 + 60 bytes). */
static inline void
hm_emit_extension (uint8_t kind, uint8_t fn, const uint64_t *fields, int n_fields)
{
  HmThread *t;
  uint8_t *start = hm_ring_reserve (&t), *p = start;
  if (HM_UNLIKELY (p == NULL))
    return;
  *p++ = kind;
  uint8_t *len = p++;
  uint8_t *payload = p;
  *p++ = fn;
  for (int i = 0; i < n_fields; i++)
    p = hm_put_uv (p, fields[i]);
  *len = (uint8_t) (p - payload);
  hm_ring_commit (t, start, p);
}

/* An allocation by any function: functions 16 and up do not fit the
 * ALLOC kind's nibble and go as ALLOC_X. */
static inline void
hm_emit_alloc_fn (HmAllocFn fn, uint64_t addr, uint64_t size, uint32_t stack)
{
  if (fn < 16)
    {
      hm_emit_alloc ((uint8_t) fn, addr, size, stack);
      return;
    }
  uint64_t f[4] = { hm_tsc (), addr, size, stack };
  hm_emit_extension (HM_EV_ALLOC_X, (uint8_t) fn, f, 4);
}

static inline void
hm_emit_unmap (HmAllocFn fn, uint64_t addr, uint64_t size)
{
  uint64_t f[3] = { hm_tsc (), addr, size };
  hm_emit_extension (HM_EV_UNMAP, (uint8_t) fn, f, 3);
}

/* tsc from before the call; old_size 0: the whole block at old_addr. */
static inline void
hm_emit_realloc_fn (HmAllocFn fn, uint64_t tsc, uint64_t old_addr, uint64_t old_size,
                    uint64_t new_addr, uint64_t size, uint32_t stack)
{
  uint64_t f[6] = { tsc, old_addr, old_size, new_addr, size, stack };
  hm_emit_extension (HM_EV_REALLOC_X, (uint8_t) fn, f, 6);
}

static inline void
hm_emit_mempool (HmMempoolOp op, uint64_t pool, uint64_t addr, uint64_t size, uint32_t stack)
{
  uint64_t f[5] = { hm_tsc (), pool, addr, size, stack };
  hm_emit_extension (HM_EV_MEMPOOL, (uint8_t) op, f, 5);
}

/* Names a region or pool in the trace (the writer puts it in metadata). */
void hm_trace_name_object (HmObjectKind kind, uint64_t id, const char *name) HM_HIDDEN;

/* True when the calling thread should record events now: tracing is on and
 * the agent is not already inside its own code. */
static inline bool
hm_tracing_here (void)
{
  if (HM_UNLIKELY (!hm_agent.decided))
    hm_agent_decide ();
  return HM_UNLIKELY (hm_agent.tracing) && hm_guard == 0;
}

/* hm-lifetime.c: which frees are wrong (see the file) */
typedef enum {
  HM_LIFETIME_MALLOC = 0,      /* malloc & co. */
  HM_LIFETIME_HM_ALLOC,        /* hm_alloc */
} HmLifetimeStrategy;

typedef enum {
  HM_FREE_PASS,                /* give it to the C library now */
  HM_FREE_HOLD,                /* quarantined: the C library gets it later */
  HM_FREE_DROP,                /* a bad free, reported: do nothing */
} HmFreeVerdict;

/* hm-interpose.c: recomputes whether the hooks may go straight to glibc;
 * called wherever the agent's state that decides it changes (the next
 * allocator, decided, tracing, lifetime analysis, profiling, sampling). */
void hm_hooks_refresh (void) HM_HIDDEN;
extern int hm_lifetime_active HM_HIDDEN;
void hm_lifetime_start (int from_the_first_allocation) HM_HIDDEN;
void hm_lifetime_note_alloc (void *p, size_t size, HmLifetimeStrategy strategy,
                             uint32_t stack) HM_HIDDEN;
void hm_lifetime_prefetch (const void *p) HM_HIDDEN;
HmFreeVerdict hm_lifetime_check_free (void *p, HmLifetimeStrategy freed_by, const char *function,
                                      size_t *size_out) HM_HIDDEN;
/* The size of a live block (*known = 0 when the table does not have it). */
size_t hm_lifetime_block_size (const void *p, int *known) HM_HIDDEN;
/* The table as the reachability scan sees it (hm-lifetime-scan.c). */
typedef struct {
  uintptr_t start, end;        /* end: start + size (1 for a 0-byte block) */
  uint32_t alloc_stack, free_stack;
  uint32_t clique;             /* an indirect leak: 1 + the index of its leader */
  uint8_t freed;               /* in quarantine */
  uint8_t mark;                /* HmScanMark */
  uint8_t reported;
  uint8_t strategy;
} HmScanBlock;
/* Locks every stripe and the quarantine; returns how many blocks there are.
 * Nothing can be allocated, freed or quarantined until the unlock. */
size_t hm_lifetime_lock_table (void) HM_HIDDEN;
void hm_lifetime_unlock_table (void) HM_HIDDEN;
/* With the table locked: its live and quarantined blocks, in no order. */
size_t hm_lifetime_copy_table (HmScanBlock *out, size_t cap) HM_HIDDEN;
/* fork handlers: the first to run takes the table, any after handler gives
 * it back (see hm-lifetime.c). */
void hm_lifetime_fork_take_table (void) HM_HIDDEN;
void hm_lifetime_fork_give_table (void) HM_HIDDEN;
/* With the table locked: a leak warning named the block at addr. */
void hm_lifetime_set_reported (uintptr_t addr) HM_HIDDEN;
/* hm-lifetime-scan.c: region memory given back is kept reserved
 * (PROT_NONE, no memory behind it) for a while instead of unmapped, so a
 * word pointing into it is known to dangle; returns false when it was not
 * taken (the caller unmaps it). */
bool hm_lifetime_retire_range (void *start, size_t bytes, uint32_t region_id,
                               uint32_t free_stack) HM_HIDDEN;
/* Runs the reachability scan: leaks and dangling pointers (hybridmem.h). */
size_t hm_lifetime_scan (void) HM_HIDDEN;
/* Has the scan run at exit (once; from hm_agent_init and hm_init). */
void hm_lifetime_scan_at_exit (void) HM_HIDDEN;
/* Whether a points into an object of a live pool that the program gave back. */
bool hm_pool_returned_slot (uintptr_t a, uint32_t *pool_id, size_t *object_size) HM_HIDDEN;
/* Whether an address is a pool object or in the GC heap (hm-pool.c, hm-gc.c). */
bool hm_pool_owns (const void *p) HM_HIDDEN;

/* A thread's piece of a region (hybridmem.h's struct hm__region_cache_v1,
 * which the inline hm_region_alloc reads).  The threads' caches live with
 * the pools' in hm-pool.c; the region code fills and reads them. */
typedef struct {
  const void *region;
  uint64_t epoch;
  uint8_t *cur;
  uint8_t *end;
} HmRegionCache;
#define HM_REGION_CACHE_SLOTS 64u
/* The calling thread's slot for region id, made on first use; NULL if there
 * is no memory for it.  While tracing, the slot is one of a second set that
 * hybridmem.h's inline path does not see, so that every object taken from
 * the piece goes through the library and is an event. */
HmRegionCache *hm_region_cache_slot (uint32_t id, bool traced) HM_HIDDEN;
/* Bytes of region's current epoch that threads hold in their slots and have
 * not handed out yet (a snapshot: other threads go on allocating). */
size_t hm_region_cached_unused (const void *region, uint32_t epoch) HM_HIDDEN;
/* Empties a slot whose thread lets go of it (hm-region.c). */
void hm_region_abandon_piece (HmRegionCache *c) HM_HIDDEN;
/* Tracing starts at run time: every thread's region pieces are let go, so
 * that hybridmem.h's inline hm_region_alloc (which does not look at
 * hm__fast_v1) calls the library, which records the event. */
void hm_region_caches_forget (void) HM_HIDDEN;
/* Names the live regions and pools in a trace that starts after they were
 * made (an attach). */
void hm_region_name_live_ones (void) HM_HIDDEN;
void hm_pool_name_live_ones (void) HM_HIDDEN;
/* Counts bytes of a piece let go of as not used (hm-region.c). */
void hm_region_note_abandoned (const void *region, uint64_t epoch, size_t bytes) HM_HIDDEN;
bool hm_gc_owns (const void *p) HM_HIDDEN;

/* True when the calling thread must look at allocations: tracing or
 * lifetime analysis is on, and the agent is not in its own code. */
static inline bool
hm_watching_here (void)
{
  if (HM_UNLIKELY (!hm_agent.decided))
    hm_agent_decide ();
  return HM_UNLIKELY (hm_agent.tracing | hm_lifetime_active) && hm_guard == 0;
}

/* hm-interpose.c: the allocator behind the program's malloc & co.  glibc's
 * unless another loaded object defines malloc (jemalloc, mimalloc linked
 * into the program): then the hooks forward to that one.  Decided at the
 * first hook call (see hm-interpose.c). */
typedef enum {
  HM_NEXT_UNDECIDED = 0,
  HM_NEXT_LIBC,
  HM_NEXT_FOREIGN,
} HmNextKind;
extern int hm_next_kind HM_HIDDEN;
/* Whether the program's malloc is another allocator's (decides on first use). */
bool hm_next_is_foreign (void) HM_HIDDEN;
/* Frees a block the program's malloc gave (the foreign allocator's free,
 * or glibc's). */
void hm_program_free (void *p) HM_HIDDEN;
/* The path of the object whose malloc the program uses, or NULL for glibc. */
const char *hm_next_allocator_path (void) HM_HIDDEN;
/* Looks name up after the agent (RTLD_NEXT, RTLD_DEFAULT when injected),
 * with the guard up; NULL when nothing else defines it. */
void *hm_next_symbol (const char *name) HM_HIDDEN;

/* hm-interpose.c: what every allocation and free function does when
 * watching (see hm_watching_here) */
void hm_watch_alloc (HmAllocFn fn, HmLifetimeStrategy strategy, void *p, size_t size) HM_HIDDEN;
bool hm_watch_free (HmAllocFn fn, HmLifetimeStrategy strategy, void *p,
                    const char *function) HM_HIDDEN;
void hm_watch_moved (HmAllocFn fn, uint64_t tsc, void *old, size_t old_size, void *p,
                     size_t size) HM_HIDDEN;

/* hm-stack-table.c */
uint32_t hm_stack_capture (void) HM_HIDDEN;
/* The same for the code a signal interrupted, from its handler's context. */
uint32_t hm_stack_capture_context (void *context) HM_HIDDEN;
typedef struct {
  uint32_t depth;
  uint64_t hash;
  uintptr_t ips[];           /* innermost first */
} HmStackEntry;
uint32_t hm_stack_count (void) HM_HIDDEN;            /* ids 1..count are published */
const HmStackEntry *hm_stack_get (uint32_t id) HM_HIDDEN;
void hm_stack_table_init (void) HM_HIDDEN;
void hm_stack_table_lock (void) HM_HIDDEN;
void hm_stack_table_unlock (void) HM_HIDDEN;

/* hm-client-requests.c: Valgrind client requests in the loaded objects are
 * patched to trap into the agent (tracing only; HM_CLIENT_REQUESTS=0: not) */
void hm_client_requests_scan (void) HM_HIDDEN;
void hm_client_requests_fork_lock (void) HM_HIDDEN;
void hm_client_requests_fork_unlock (void) HM_HIDDEN;

/* hm-modules.c */
void hm_modules_scan (void) HM_HIDDEN;
typedef struct {
  uintptr_t bias, start, end;
  char path[512];
  uint8_t build_id[64];
  uint32_t build_id_len;
  uint32_t id;
  int loaded;                 /* seen in the latest scan */
  int emitted_load, emitted_unload;
} HmModuleEntry;
/* Calls fn for each module whose load or unload is not yet in the trace. */
void hm_modules_drain (void (*fn) (const HmModuleEntry *m, int unload, void *data), void *data) HM_HIDDEN;
void hm_modules_drain_locked (void (*fn) (const HmModuleEntry *m, int unload, void *data),
                              void *data, int may_wait) HM_HIDDEN;
void hm_modules_lock (void) HM_HIDDEN;
/* A new trace starts (an attach): every loaded module is to be written again. */
void hm_modules_forget_emitted (void) HM_HIDDEN;
void hm_modules_unlock (void) HM_HIDDEN;

/* hm-writer.c */
/* Queues a metadata event with a string (MARK, OBJECT_NAME) for the writer's
 * next round.  For OBJECT_NAME, id holds the object kind in its top byte. */
void hm_writer_queue_meta (uint8_t kind, uint64_t id, uint64_t ticks, const char *text) HM_HIDDEN;
int hm_writer_start (int fd) HM_HIDDEN;
/* The flight recorder (hm-flight.c): events kept in memory until a dump. */
int hm_writer_start_flight (void) HM_HIDDEN;
/* An attach session (hm-listener.c): a complete trace on fd from now on;
 * turns tracing on.  Returns 0, or -1 when it could not start. */
int hm_writer_begin_session (int fd) HM_HIDDEN;
/* The session's end: tracing is off; writes the rest and END. */
void hm_writer_end_session (int end_reason) HM_HIDDEN;
/* Writes everything recorded so far; with reason >= 0 also the END event. */
void hm_writer_flush (int end_reason, int64_t status) HM_HIDDEN;
void hm_writer_stop (void) HM_HIDDEN;
/* Keeps the writer out of its rounds (the collector, while the world is
 * stopped); nothing else may be waited for in between. */
void hm_writer_pause (void) HM_HIDDEN;
/* The writer thread's TID, or 0 when there is none (the collector skips
 * stopping it: it blocks every signal and never touches GC memory). */
int hm_writer_tid (void) HM_HIDDEN;
void hm_writer_resume (void) HM_HIDDEN;
void hm_writer_flush_from_signal (int signal_number) HM_HIDDEN;
void hm_writer_fork_prepare (void) HM_HIDDEN;
void hm_writer_fork_parent (void) HM_HIDDEN;
void hm_writer_fork_child (void) HM_HIDDEN;

/* hm-agent.c */
/* Zeroed memory for the agent's own bookkeeping: mapped, and registered
 * with the collector as holding no program pointers (see hm-gc-private.h);
 * never for memory that holds user data. */
void *hm_agent_map (size_t bytes) HM_HIDDEN;
void hm_agent_unmap (void *p, size_t bytes) HM_HIDDEN;
/* Finds the agent's and the unwinder's code, whose frames stacks leave out. */
void hm_agent_find_own_text (void) HM_HIDDEN;
uintptr_t hm_object_base (const void *addr) HM_HIDDEN;
const char *hm_agent_exe (void) HM_HIDDEN;
void hm_agent_note_exit (int status) HM_HIDDEN;
/* fork handlers: every agent lock, in the agent's one order (hm-agent.c);
 * the first handler to run takes them, the first after handler frees them. */
void hm_fork_lock_all (void) HM_HIDDEN;
void hm_fork_unlock_all (int child) HM_HIDDEN;
/* hm-lifetime-scan.c: its part of that */
void hm_lifetime_scan_fork_lock (void) HM_HIDDEN;
void hm_lifetime_scan_fork_unlock (int child) HM_HIDDEN;
/* what: the path or file name exec'd (NULL for fexecve) */
void hm_agent_before_exec (const char *what) HM_HIDDEN;
void hm_agent_exec_failed (void) HM_HIDDEN;
/* An attach session on a connected socket (hm-listener.c): starts tracing
 * into it (0), or leaves everything as it was (-1). */
int hm_agent_begin_session (int fd) HM_HIDDEN;
/* Stops tracing; the program goes back to full speed. */
void hm_agent_end_session (void) HM_HIDDEN;

/* hm-listener.c: the per-process socket a debugger attaches through */
/* Starts listening (HM_LISTEN, on by default); quiet unless HM_LISTEN=1. */
void hm_listener_start (void) HM_HIDDEN;
/* The listener thread's TID, or 0 (the collector leaves it alone, as the
 * writer: it blocks every signal and never touches GC memory). */
int hm_listener_tid (void) HM_HIDDEN;
/* Removes the socket (exit, exec); idempotent, only in the process that made it. */
void hm_listener_remove_socket (void) HM_HIDDEN;
/* A fork child does not listen: closes the parent's sockets in it. */
void hm_listener_after_fork_child (void) HM_HIDDEN;

/* hm-got.c: an injected agent's way in */
/* Whether the process's malloc is ours (preloaded or linked) or not (dlopen'ed). */
bool hm_got_agent_interposes (void) HM_HIDDEN;
/* Points the GOT entries for malloc & co. of every loaded object (but the
 * loader's and ours) at the agent's functions; again after objects were
 * loaded (hm_got_refresh).  Returns how many entries it rewrote. */
int hm_got_redirect (void) HM_HIDDEN;
void hm_got_refresh (void) HM_HIDDEN;
/* Puts every rewritten entry back: the program calls the C library directly. */
void hm_got_restore (void) HM_HIDDEN;

/* hm-options.c: the manager's options, and warnings about misuse */
#include "hybridmem.h"
/* The options in force; reads the environment the first time if hm_init()
 * was not called. */
const HmOptions *hm_manager_options (void) HM_HIDDEN;
/* HM_QUIET=1: the agent prints nothing of its own. */
bool hm_quiet (void) HM_HIDDEN;
/* One line on stderr, "hybridmem: " first, unless quiet; no allocation. */
void hm_notice (const char *format, ...) __attribute__ ((format (printf, 1, 2))) HM_HIDDEN;
/* 1|true|yes|on and 0|false|no|off, as every HM_* switch reads; returns 0
 * (leaving *out) for anything else. */
int hm_parse_bool (const char *value, int *out) HM_HIDDEN;
/* Reports misuse: a WARNING event with the calling stack (when tracing), and
 * one line on stderr (unless HM_QUIET=1).  format is printf-like but only
 * %s, %p, %zu and %llu are supported (no allocation). */
void hm_warn (HmWarningKind kind, const void *addr, size_t size, uint64_t object,
              const char *format, ...) HM_HIDDEN;
/* The same with the stacks known: the bad call's, and where the block was
 * allocated and first freed (0: unknown). */
void hm_warn_stacks (HmWarningKind kind, const void *addr, size_t size, uint64_t object,
                     uint32_t stack, uint32_t alloc_stack, uint32_t free_stack,
                     const char *format, ...) HM_HIDDEN;
/* Where a dangling pointer lives (the WARNING_LOCATION extension event). */
typedef struct {
  uint32_t where;              /* HmPointerWhere */
  uint32_t block_stack;        /* HM_POINTER_IN_HEAP: the holding block's allocation */
  uint64_t word_addr;          /* the pointer's own address */
  uint64_t tid;                /* HM_POINTER_ON_STACK */
  uint64_t block_addr, block_size;
  char text[96];               /* "symbol+0x8", "thread stack 1234", "heap block ..." */
} HmWarnLocation;
/* A warning with no bad call: the stacks it names, and for a dangling
 * pointer where the pointer is (loc, may be NULL). */
void hm_warn_located (HmWarningKind kind, const void *addr, size_t size, uint64_t object,
                      uint32_t alloc_stack, uint32_t free_stack, const HmWarnLocation *loc,
                      const char *format, ...) HM_HIDDEN;
/* hm-writer.c: queues a WARNING_LOCATION for the warning emitted at ticks. */
void hm_writer_queue_location (uint64_t ticks, uint64_t addr, const HmWarnLocation *loc) HM_HIDDEN;
