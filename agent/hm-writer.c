/* hm-writer.c — the writer thread: copies the threads' rings into the trace.
 *
 * Each round writes a metadata chunk (modules, new stacks, a clock point),
 * then, for every thread, the ring bytes published since the last round as
 * they are (a thread chunk), then a ROUND marker with a TSC value taken
 * before the rings were looked at.  The reader merges the threads' events by
 * time, round by round.  Nothing is decoded here but the last, partial block
 * of each ring, to know the delta state the next chunk starts from, so the
 * writer costs little besides the write() itself.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hm-sampler-private.h"
#include "hm-trace-writer.h"
#include "hm-thread-events.h"
#include "hm-gc-private.h"
#include "hm-flight-private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define META_BYTES (256u * 1024u)
#define ROUND_NS (50u * 1000u * 1000u)   /* flush at least this often */

static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t writer_thread;
static int writer_running;
static volatile int writer_stop;
static int writer_tid;             /* 0 until the writer thread runs */
static int fd_is_socket;
static int fd_is_file;             /* a regular file: a write cannot raise SIGPIPE */
static int in_crash;               /* a fatal signal: take no lock that may be held */
static int write_failed;
static int in_session;             /* writing to a client that attached (hm-listener.c) */
static int end_written;            /* this trace has its END */

/* Flight-recorder mode (hm-flight.c): chunks are kept in memory, not
 * written, until a dump.  meta_flush and write_thread_chunk send each chunk
 * where meta_dest says. */
static int flight;
enum { DEST_TRACE, DEST_DICT, DEST_WINDOW, DEST_DUMP };
static int meta_dest = DEST_TRACE;
static uint64_t flight_cut;        /* the round being stored */
static int dump_fd = -1;
static int dump_error;

static uint8_t *meta_mem;
static HmChunkBuilder meta;
static int meta_open;

/* stack tree: (parent node, ip) -> node */
typedef struct {
  uint64_t parent;
  uint64_t ip;
  uint32_t node;
} TrieSlot;
static TrieSlot *trie;
static uint64_t trie_mask;
static uint32_t n_nodes;
static uint32_t n_stacks_emitted;

static void *
internal_realloc (void *p, size_t bytes)
{
  hm_guard++;
  void *q = __libc_realloc (p, bytes);
  hm_guard--;
  return q;
}

/* --- output ------------------------------------------------------------------- */

/* writev to a pipe whose reader is gone raises SIGPIPE in the calling
 * thread, which would kill the program (the final flush runs on the
 * program's own thread).  Blocked around the write, and a SIGPIPE that the
 * write raised is taken back, so the program sees nothing. */
static ssize_t
writev_no_sigpipe (int fd, const struct iovec *iov, int n)
{
  sigset_t pipe_only, old, pending;
  ssize_t done;
  int saved;

  sigemptyset (&pipe_only);
  sigaddset (&pipe_only, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_only, &old);
  sigpending (&pending);
  int was_pending = sigismember (&pending, SIGPIPE);
  done = writev (fd, iov, n);
  saved = errno;
  if (done < 0 && saved == EPIPE && !was_pending)
    {
      const struct timespec now = { 0, 0 };
      while (sigtimedwait (&pipe_only, NULL, &now) < 0 && errno == EINTR)
        ;
    }
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  errno = saved;
  return done;
}

/* The trace cannot be written any more: stop tracing, say so once.  The
 * program goes on untraced and at full speed; the trace ends at its last
 * whole chunk, and its reader says it was cut there. */
static void
give_up_writing (int error)
{
  write_failed = 1;
  __atomic_store_n (&hm_agent.tracing, 0, __ATOMIC_RELEASE);
  hm_hooks_refresh ();
  __atomic_store_n (&hm__fast_v1, 1, __ATOMIC_RELEASE);
  /* A debugger that detached or died is no news for the program's stderr:
   * the listener ends the session (hm-listener.c). */
  if (in_session)
    return;
  /* not strerror: it may translate, and so allocate, on this thread */
  const char *why = error == EPIPE ? "its reader went away"
                    : error == ENOSPC ? "no space left on the device"
                    : error == EFBIG ? "the file size limit was reached"
                    : error == EDQUOT ? "the disk quota was reached"
                    : error == EIO ? "an input/output error" : "a write error";
  hm_notice ("the trace cannot be written (%s, errno %d); tracing stopped, the program "
             "goes on", why, error);
}

static void
write_iov (struct iovec *iov, int n)
{
  if (write_failed || hm_agent.trace_fd < 0)
    return;
  while (n > 0)
    {
      ssize_t done;
      if (fd_is_socket)
        {
          struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t) n };
          done = sendmsg (hm_agent.trace_fd, &msg, MSG_NOSIGNAL);
        }
      else if (fd_is_file)
        /* the three system calls around it cost more than the write */
        done = writev (hm_agent.trace_fd, iov, n);
      else
        done = writev_no_sigpipe (hm_agent.trace_fd, iov, n);
      if (done < 0)
        {
          if (errno == EINTR)
            continue;
          /* A full disk, a reader that went away. */
          give_up_writing (errno);
          return;
        }
      if (done == 0)
        {
          give_up_writing (ENOSPC);
          return;
        }
      while (n > 0 && (size_t) done >= iov->iov_len)
        {
          done -= (ssize_t) iov->iov_len;
          iov++;
          n--;
        }
      if (n > 0)
        {
          iov->iov_base = (uint8_t *) iov->iov_base + done;
          iov->iov_len -= (size_t) done;
        }
    }
}

/* A dump's bytes: errors are the dump's, never the program's tracing. */
static void
dump_iov (struct iovec *iov, int n)
{
  while (n > 0 && dump_error == 0)
    {
      ssize_t done = writev_no_sigpipe (dump_fd, iov, n);
      if (done < 0 && errno == EINTR)
        continue;
      if (done <= 0)
        {
          dump_error = done < 0 ? errno : ENOSPC;
          return;
        }
      while (n > 0 && (size_t) done >= iov->iov_len)
        {
          done -= (ssize_t) iov->iov_len;
          iov++;
          n--;
        }
      if (n > 0)
        {
          iov->iov_base = (uint8_t *) iov->iov_base + done;
          iov->iov_len -= (size_t) done;
        }
    }
}

static void
meta_flush (void)
{
  if (meta_open && meta.n_events > 0)
    {
      struct iovec iov = { meta.data, hm_chunk_finish (&meta) };
      if (meta_dest == DEST_DICT)
        hm_flight_dict_append (iov.iov_base, iov.iov_len);
      else if (meta_dest == DEST_WINDOW)
        hm_flight_store (HM_FLIGHT_META_CHUNK, flight_cut, iov.iov_base,
                         (uint8_t *) iov.iov_base + HM_TRACE_CHUNK_HEADER_SIZE,
                         (uint32_t) (iov.iov_len - HM_TRACE_CHUNK_HEADER_SIZE));
      else if (meta_dest == DEST_DUMP)
        dump_iov (&iov, 1);
      else
        write_iov (&iov, 1);
    }
  meta_open = 0;
}

static void
meta_ensure (void)
{
  if (!meta_open)
    {
      hm_chunk_begin (&meta, meta_mem, META_BYTES, HM_TRACE_META_TID, 0, 0);
      meta_open = 1;
    }
}

/* Runs put() on the metadata chunk; when the event does not fit, flushes and
 * retries once in a fresh chunk. */
#define PUT(call)                                         \
  do {                                                    \
    meta_ensure ();                                       \
    if (!(call))                                          \
      {                                                   \
        meta_flush ();                                    \
        meta_ensure ();                                   \
        (void) (call);                                    \
      }                                                   \
  } while (0)

/* --- stacks ------------------------------------------------------------------- */

static uint64_t
trie_hash (uint64_t parent, uint64_t ip)
{
  uint64_t h = parent * 0x9e3779b97f4a7c15ull ^ ip;
  h ^= h >> 31;
  h *= 0xff51afd7ed558ccdull;
  return h ^ (h >> 29);
}

static int
trie_grow (void)
{
  uint64_t old_cap = trie ? trie_mask + 1 : 0;
  uint64_t cap = old_cap ? old_cap * 2 : 4096;
  /* mapped, not malloc'd: it grows to hundreds of MB with deep recursive
   * programs, and the collector is told it holds no program pointers */
  TrieSlot *t = hm_agent_map (cap * sizeof *t);
  if (t == NULL)
    return 0;
  for (uint64_t i = 0; i < old_cap; i++)
    if (trie[i].node)
      {
        uint64_t j = trie_hash (trie[i].parent, trie[i].ip) & (cap - 1);
        while (t[j].node)
          j = (j + 1) & (cap - 1);
        t[j] = trie[i];
      }
  if (trie != NULL)
    hm_agent_unmap (trie, old_cap * sizeof *trie);
  trie = t;
  trie_mask = cap - 1;
  return 1;
}

static uint32_t
trie_node (uint64_t parent, uint64_t ip)
{
  if ((trie == NULL || (uint64_t) (n_nodes + 1) * 2 > trie_mask) && !trie_grow ())
    return 0;
  uint64_t j = trie_hash (parent, ip) & trie_mask;
  for (; trie[j].node; j = (j + 1) & trie_mask)
    if (trie[j].parent == parent && trie[j].ip == ip)
      return trie[j].node;
  trie[j].parent = parent;
  trie[j].ip = ip;
  trie[j].node = ++n_nodes;
  PUT (hm_chunk_put_frame (&meta, n_nodes, parent, ip));
  return n_nodes;
}

/* Writes the frames of stacks interned since the last round: only the tree
 * edges not written before, then which node each new stack id ends at. */
static void
emit_new_stacks (void)
{
  uint32_t count = hm_stack_count ();

  for (uint32_t id = n_stacks_emitted + 1; id <= count; id++)
    {
      const HmStackEntry *e = hm_stack_get (id);
      uint32_t node = 0;
      if (e == NULL)
        break;
      /* outermost frame first, so shared callers share nodes */
      for (uint32_t i = e->depth; i > 0; i--)
        node = trie_node (node, e->ips[i - 1]);
      PUT (hm_chunk_put_stack (&meta, id, node));
      n_stacks_emitted = id;
    }
}

/* --- modules ------------------------------------------------------------------ */

static void
emit_module (const HmModuleEntry *m, int unload, void *data)
{
  uint64_t ticks = *(uint64_t *) data;
  if (unload)
    PUT (hm_chunk_put_module_unload (&meta, ticks, m->id));
  else
    PUT (hm_chunk_put_module_load (&meta, ticks, m->id, m->bias, m->start, m->end, m->path,
                                   m->build_id, m->build_id_len));
}

/* --- strings for metadata: marks and object names ------------------------------ */

#define META_QUEUE 1024
typedef struct {
  uint8_t kind;
  uint64_t id;
  uint64_t ticks;
  uint64_t location[7];      /* WARNING_LOCATION: addr, where, word, tid, block, size, stack */
  char text[256];
} QueuedMeta;

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static QueuedMeta *meta_queue;
static uint32_t n_meta_queued;

static QueuedMeta *queue_meta_locked (uint8_t kind, uint64_t id, uint64_t ticks, const char *text);

void
hm_writer_queue_meta (uint8_t kind, uint64_t id, uint64_t ticks, const char *text)
{
  pthread_mutex_lock (&queue_lock);
  queue_meta_locked (kind, id, ticks, text);
  pthread_mutex_unlock (&queue_lock);
}

void
hm_writer_queue_location (uint64_t ticks, uint64_t addr, const HmWarnLocation *loc)
{
  pthread_mutex_lock (&queue_lock);
  QueuedMeta *m = queue_meta_locked (HM_EV_WARNING_LOCATION, 0, ticks, loc->text);
  if (m != NULL)
    {
      m->location[0] = addr;
      m->location[1] = loc->where;
      m->location[2] = loc->word_addr;
      m->location[3] = loc->tid;
      m->location[4] = loc->block_addr;
      m->location[5] = loc->block_size;
      m->location[6] = loc->block_stack;
    }
  pthread_mutex_unlock (&queue_lock);
}

static QueuedMeta *
queue_meta_locked (uint8_t kind, uint64_t id, uint64_t ticks, const char *text)
{
  QueuedMeta *m = NULL;
  if (meta_queue == NULL)
    {
      void *p = mmap (NULL, sizeof (QueuedMeta) * META_QUEUE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      meta_queue = p == MAP_FAILED ? NULL : p;
    }
  if (meta_queue == NULL || n_meta_queued == META_QUEUE)
    __atomic_add_fetch (&hm_agent.dropped, 1, __ATOMIC_RELAXED); /* keep the first thousand */
  else
    {
      m = &meta_queue[n_meta_queued++];
      size_t len = text ? strnlen (text, sizeof m->text - 1) : 0;
      m->kind = kind;
      m->id = id;
      m->ticks = ticks;
      memcpy (m->text, text ? text : "", len);
      m->text[len] = '\0';
    }
  return m;
}

/* names: object names; others: the rest.  The queue is emptied after. */
static void
emit_queued_meta (int names, int others)
{
  pthread_mutex_lock (&queue_lock);
  for (uint32_t i = 0; i < n_meta_queued; i++)
    {
      QueuedMeta *m = &meta_queue[i];
      if (!(m->kind == HM_EV_OBJECT_NAME ? names : others))
        continue;
      if (m->kind == HM_EV_MARK)
        PUT (hm_chunk_put_mark (&meta, m->ticks, m->text));
      else if (m->kind == HM_EV_PROFILE_DECISION)
        {
          /* "site\x1fwhy": two strings in one queue slot */
          char *why = strchr (m->text, '\x1f');
          if (why != NULL)
            *why++ = '\0';
          PUT (hm_chunk_put_profile_decision (&meta, m->ticks, m->id, m->text, why ? why : ""));
        }
      else if (m->kind == HM_EV_WARNING_LOCATION)
        PUT (hm_chunk_put_warning_location (&meta, m->ticks, m->location[0], m->location[1],
                                            m->location[2], m->location[3], m->location[4],
                                            m->location[5], m->location[6], m->text));
      else
        PUT (hm_chunk_put_object_name (&meta, m->id >> 56, m->id & ((1ull << 56) - 1), m->text));
    }
  if (others)
    n_meta_queued = 0;
  pthread_mutex_unlock (&queue_lock);
}

/* --- thread rings ----------------------------------------------------------------- */

/* Follows the delta state through ring bytes [from, to) of one block. */
static void
track_state (HmThread *t, uint64_t from, uint64_t to)
{
  const uint8_t *p = &t->ring[(uint32_t) from & (HM_RING_BYTES - 1)];
  const uint8_t *end = p + (to - from);
  uint64_t tsc = t->read_tsc, addr = t->read_addr;
  HmThreadEvent e;

  while (p < end)
    if (hm_thread_event_decode (&p, end, &tsc, &addr, &e) == HM_DECODE_BAD)
      break;   /* cannot happen: the producer wrote these bytes */
  t->read_tsc = tsc;
  t->read_addr = addr;
}

static void
write_thread_chunk (HmThread *t, uint64_t from, uint64_t to, uint64_t base_tsc,
                    uint64_t base_addr)
{
  uint8_t header[HM_TRACE_CHUNK_HEADER_SIZE];
  const uint8_t *payload = &t->ring[(uint32_t) from & (HM_RING_BYTES - 1)];
  uint32_t len = (uint32_t) (to - from);
  struct iovec iov[2];

  hm_trace_write_chunk_header (header, len, hm_crc32c (0, payload, len), t->tid, base_tsc,
                               base_addr);
  iov[0].iov_base = header;
  iov[0].iov_len = sizeof header;
  iov[1].iov_base = (void *) payload;
  iov[1].iov_len = len;
  if (flight && meta_dest != DEST_DUMP)
    hm_flight_store (HM_FLIGHT_THREAD_CHUNK, flight_cut, header, payload, len);
  else if (meta_dest == DEST_DUMP)
    dump_iov (iov, 2);
  else
    write_iov (iov, 2);
}

#define HM_THREAD_CHUNK_MAX (64u * 1024u)
_Static_assert (HM_THREAD_CHUNK_MAX % HM_RING_BLOCK == 0
                && HM_THREAD_CHUNK_MAX <= HM_RING_BYTES, "thread chunks end at block boundaries");

/* Writes the ring's bytes [tail, upto) and frees their room. */
static void
drain_ring (HmThread *t, uint64_t upto)
{
  uint64_t tail = t->tail;

  while (tail < upto)
    {
      /* up to the end of the ring at most; the ring ends at a block boundary,
       * and the block after it opens with a SYNC */
      uint64_t ring_end = (tail | (HM_RING_BYTES - 1)) + 1;
      uint64_t to = upto < ring_end ? upto : ring_end;
      /* and at most HM_THREAD_CHUNK_MAX, cut at a block boundary (each block
       * opens with a SYNC): a trace cut by a full disk or a kill loses at
       * most that much of a thread's events */
      uint64_t cap = (tail & ~(uint64_t) (HM_RING_BLOCK - 1)) + HM_THREAD_CHUNK_MAX;
      if (to > cap)
        to = cap;
      uint64_t last_block = (to - 1) & ~(uint64_t) (HM_RING_BLOCK - 1);

      write_thread_chunk (t, tail, to, t->read_tsc, t->read_addr);
      track_state (t, last_block > tail ? last_block : tail, to);
      tail = to;
    }
  t->wake_mark = upto + HM_RING_BYTES / 2;
  __atomic_store_n (&t->tail, upto, __ATOMIC_RELEASE);
}

/* --- one round -------------------------------------------------------------------- */

typedef struct {
  HmThread *thread;
  uint64_t head;
} Snapshot;

static Snapshot *snapshots;
static size_t snapshots_capacity;

/* The resident set, from /proc/self/statm (its second field, in pages):
 * raw system calls, no stdio, no allocation.  0 when it cannot be read.
 * Opened each time: /proc/self in a fork child is the child. */
static uint64_t
read_rss_bytes (void)
{
  char text[128];
  int fd = (int) syscall (SYS_openat, AT_FDCWD, "/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n;
  do
    n = syscall (SYS_read, fd, text, sizeof text - 1);
  while (n < 0 && errno == EINTR);
  syscall (SYS_close, fd);
  if (n <= 0)
    return 0;
  text[n] = '\0';
  const char *p = text;
  while (*p >= '0' && *p <= '9')
    p++;
  while (*p == ' ')
    p++;
  uint64_t pages = 0;
  while (*p >= '0' && *p <= '9')
    pages = pages * 10 + (uint64_t) (*p++ - '0');
  return pages * (uint64_t) sysconf (_SC_PAGESIZE);
}

#define RSS_EVERY_NS (20u * 1000u * 1000u)  /* at most this often; a round is 50 ms or sooner */
static uint64_t last_rss_ns;

/* --- the coarse clock of cheap timestamps (hm-agent-private.h) ------------------- */

HmClock hm_clock;
#define CLOCK_IDLE_TICKS 32u        /* ticks without a cheap event before the clock stops */
static uint32_t clock_idle_ticks;

/* The TSC's two reads around clock_gettime: closer than this (8 us at
 * 2.5 GHz; the call itself takes tens of ns), nothing came between them. */
#define CLOCK_PAIR_TIGHT_TICKS 20000u

void
hm_clock_pair (uint64_t *tsc, uint64_t *ns)
{
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < 8 && best > CLOCK_PAIR_TIGHT_TICKS; i++)
    {
      uint64_t before = hm_tsc ();
      uint64_t now = hm_now_ns ();
      uint64_t after = hm_tsc ();
      if (after - before < best)
        {
          best = after - before;
          *tsc = before + best / 2;
          *ns = now;
        }
    }
}

/* span_ns in TSC ticks, from the rate since the trace started (the
 * calibration at start when that is too short to tell); 0 if no rate is
 * known. */
static uint64_t
ticks_for_ns (uint64_t span_ns)
{
  uint64_t now_tsc, now_ns;
  hm_clock_pair (&now_tsc, &now_ns);
  uint64_t ns = now_ns - hm_agent.start_ns, ticks = now_tsc - hm_agent.start_tsc;
  if (ns < 10u * 1000u * 1000u || ticks == 0)
    {
      ns = hm_agent.calib_ns;
      ticks = hm_agent.calib_tsc > hm_agent.start_tsc ? hm_agent.calib_tsc - hm_agent.start_tsc : 0;
    }
  if (ns == 0 || ticks == 0)
    return 0;
  return (uint64_t) ((double) ticks / (double) ns * (double) span_ns);
}

/* HM_CLOCK_LATE_NS in TSC ticks. */
static uint64_t
clock_late_ticks (void)
{
  uint64_t ticks = ticks_for_ns (HM_CLOCK_LATE_NS);
  return ticks != 0 ? ticks : (uint64_t) HM_CLOCK_LATE_NS * 4;   /* no rate: say 4 GHz, lenient */
}

/* From the writer thread while tracing, every HM_CLOCK_TICK_NS or sooner:
 * publishes the TSC for cheap stamps while they are asked for, and stops
 * when they are not.  Returns whether the clock ticks (the writer comes
 * back within a tick). */
static int
clock_tick (void)
{
  if (!__atomic_load_n (&hm_clock.ticking, __ATOMIC_ACQUIRE))
    {
      if (!__atomic_load_n (&hm_clock.requested, __ATOMIC_RELAXED))
        return 0;
      __atomic_store_n (&hm_clock.requested, 0, __ATOMIC_RELAXED);
      hm_clock.late_ticks = clock_late_ticks ();
      hm_clock_publish (hm_tsc ());
      clock_idle_ticks = 0;
      /* release: a thread that sees ticking sees the tick */
      __atomic_store_n (&hm_clock.ticking, 1, __ATOMIC_RELEASE);
      return 1;
    }
  hm_clock_publish (hm_tsc ());
  if (__atomic_load_n (&hm_clock.used, __ATOMIC_RELAXED))
    {
      __atomic_store_n (&hm_clock.used, 0, __ATOMIC_RELAXED);
      clock_idle_ticks = 0;
    }
  else if (++clock_idle_ticks >= CLOCK_IDLE_TICKS)
    {
      /* quiet: the next cheap event reads the TSC, and asks for ticks again */
      __atomic_store_n (&hm_clock.ticking, 0, __ATOMIC_RELAXED);
      return 0;
    }
  return 1;
}

uint64_t
hm_cheap_tsc_real (HmThread *t)
{
  uint64_t now = hm_tsc ();
  t->cheap_left = HM_CLOCK_REAL_EVERY - 1;
  if (__atomic_load_n (&hm_clock.ticking, __ATOMIC_RELAXED))
    {
      if (HM_UNLIKELY ((int64_t) (now - __atomic_load_n (&hm_clock.coarse, __ATOMIC_RELAXED))
                       > (int64_t) hm_clock.late_ticks))
        __atomic_store_n (&hm_clock.ticking, 0, __ATOMIC_RELAXED);   /* the writer is late */
      else if (!__atomic_load_n (&hm_clock.used, __ATOMIC_RELAXED))
        __atomic_store_n (&hm_clock.used, 1, __ATOMIC_RELAXED);
    }
  else if (!__atomic_load_n (&hm_clock.requested, __ATOMIC_RELAXED))
    __atomic_store_n (&hm_clock.requested, 1, __ATOMIC_RELAXED);
  return now;
}

/* Nobody ticks any more (tracing stops or restarts, a fork child). */
static void
clock_stop (void)
{
  __atomic_store_n (&hm_clock.ticking, 0, __ATOMIC_RELEASE);
  __atomic_store_n (&hm_clock.requested, 0, __ATOMIC_RELAXED);
}

/* Writes what the rings hold; returns the bytes written. */
static uint64_t
round_locked (void)
{
  uint64_t cut, now_ns;
  hm_clock_pair (&cut, &now_ns);
  /* Before the heads are read: an event that misses this round is not
   * stamped before its cut, which the reader releases events up to once the
   * next ROUND is in (a cheap stamp is at least hm_clock.coarse). */
  hm_clock_publish (cut + 1);
  uint64_t written = 0;
  size_t n = 0;

  /* Heads first: every stack id an event refers to was interned before the
   * event was published, so the stack count read after them covers them.
   * Threads registered after this point wait for the next round. */
  for (HmThread *t = hm_thread_list (); t != NULL; t = t->next, n++)
    {
      if (n == snapshots_capacity)
        {
          size_t cap = snapshots_capacity ? snapshots_capacity * 2 : 64;
          Snapshot *s = internal_realloc (snapshots, cap * sizeof *s);
          if (s == NULL)
            break;
          snapshots = s;
          snapshots_capacity = cap;
        }
      snapshots[n].thread = t;
      snapshots[n].head = __atomic_load_n (&t->head, __ATOMIC_ACQUIRE);
    }

  /* A crash before the first round would leave the trace without modules,
   * and its stacks without names: drain them unless the lock is taken. */
  flight_cut = cut;
  if (flight)
    meta_dest = DEST_DICT;           /* what every dump needs, whatever its window */
  hm_modules_drain_locked (emit_module, &cut, !in_crash);
  if (!in_crash)
    emit_queued_meta (1, !flight);
  emit_new_stacks ();
  if (flight)
    {
      meta_flush ();
      meta_dest = DEST_WINDOW;       /* what belongs to this round's time */
      if (!in_crash)
        emit_queued_meta (0, 1);
    }
  /* events lost before the writer started, and marks beyond the queue */
  uint64_t dropped = __atomic_exchange_n (&hm_agent.dropped, 0, __ATOMIC_ACQ_REL);
  if (dropped > 0)
    PUT (hm_chunk_put_dropped (&meta, cut, dropped));
  /* a dump writes its own clock, which starts at its window */
  if (!flight)
    PUT (hm_chunk_put_clock (&meta, cut, now_ns - hm_agent.start_ns));
  if (!in_crash && (last_rss_ns == 0 || now_ns - last_rss_ns >= RSS_EVERY_NS))
    {
      uint64_t rss = read_rss_bytes ();
      last_rss_ns = now_ns;
      if (rss > 0)
        PUT (hm_chunk_put_rss (&meta, cut, rss));
    }
  meta_flush ();

  for (size_t i = 0; i < n; i++)
    {
      HmThread *t = snapshots[i].thread;
      if (snapshots[i].head > t->tail)
        {
          written += snapshots[i].head - t->tail;
          drain_ring (t, snapshots[i].head);
        }
      /* A drained ring of a thread that is gone can serve a new thread. */
      if (__atomic_load_n (&t->exited, __ATOMIC_ACQUIRE)
          && t->tail == __atomic_load_n (&t->head, __ATOMIC_ACQUIRE)
          && __atomic_load_n (&t->in_use, __ATOMIC_RELAXED)
          && syscall (SYS_tgkill, hm_agent.pid, t->tid, 0) != 0 && errno == ESRCH)
        __atomic_store_n (&t->in_use, 0, __ATOMIC_RELEASE);
    }

  PUT (hm_chunk_put_round (&meta, cut));
  meta_flush ();
  if (flight)
    {
      hm_flight_note_round (cut, now_ns - hm_agent.start_ns);
      meta_dest = DEST_TRACE;
    }
  return written;
}

/* --- flight-recorder dumps ------------------------------------------------------- */

static uint8_t live_chunk[64 * 1024];

typedef struct {
  HmChunkBuilder chunk;
  uint64_t origin;
  uint32_t tid;
} LiveWriter;

static void
live_flush (LiveWriter *w)
{
  if (w->chunk.n_events > 0)
    {
      struct iovec iov = { w->chunk.data, hm_chunk_finish (&w->chunk) };
      dump_iov (&iov, 1);
    }
  hm_chunk_begin (&w->chunk, live_chunk, sizeof live_chunk, w->tid, w->origin, 0);
}

/* An allocation by any function: from 16 on, the ALLOC kind's nibble
 * cannot hold it (ALLOC_X). */
/* Puts one event of the live set; a full chunk is written out first. */
#define LIVE_PUT(w, put)                                                                   \
  do                                                                                       \
    {                                                                                      \
      if (!(put))                                                                          \
        {                                                                                  \
          live_flush (w);                                                                  \
          (void) (put);                                                                    \
        }                                                                                  \
    }                                                                                      \
  while (0)

static bool
put_any_alloc (HmChunkBuilder *c, uint64_t ticks, uint8_t fn, uint64_t addr, uint64_t size,
               uint32_t stack)
{
  if (fn < HM_FN_MREMAP)
    return hm_chunk_put_alloc (c, ticks, (HmAllocFn) fn, addr, size, stack);
  return hm_chunk_put_alloc_x (c, ticks, (HmAllocFn) fn, addr, size, stack);
}

/* One block live at the window's start: an allocation at the start. */
static void
put_live_block (uint64_t addr, uint64_t size, uint32_t stack, uint8_t fn, void *data)
{
  LiveWriter *w = data;
  LIVE_PUT (w, put_any_alloc (&w->chunk, w->origin, fn, addr, size, stack));
}

/* A region live at the window's start: created then, holding then what it
 * held (one REGION_LIVE for its allocations since its last reset). */
static void
put_live_region (uint64_t id, uint32_t stack, uint64_t n_allocations, uint64_t bytes, void *data)
{
  LiveWriter *w = data;
  LIVE_PUT (w, hm_chunk_put_region_create (&w->chunk, w->origin, id, stack));
  if (n_allocations > 0)
    LIVE_PUT (w, hm_chunk_put_region_live (&w->chunk, w->origin, id, n_allocations, bytes));
}

static void
put_live_pool (uint64_t id, uint32_t stack, uint64_t object_size, uint64_t capacity, void *data)
{
  LiveWriter *w = data;
  LIVE_PUT (w, hm_chunk_put_pool_create (&w->chunk, w->origin, id, object_size, capacity, stack));
}

/* An object out of a pool at the window's start: a get then. */
static void
put_live_pool_object (uint64_t pool, uint64_t addr, void *data)
{
  LiveWriter *w = data;
  LIVE_PUT (w, hm_chunk_put_pool_object (&w->chunk, HM_EV_POOL_GET, w->origin, pool, addr));
}

typedef struct {
  struct iovec iov[64];
  int n;
} ChunkBatch;

static void
put_window_chunk (const uint8_t *chunk, uint32_t bytes, void *data)
{
  ChunkBatch *b = data;
  b->iov[b->n].iov_base = (void *) chunk;
  b->iov[b->n].iov_len = bytes;
  if (++b->n == 64)
    {
      dump_iov (b->iov, b->n);
      b->n = 0;
    }
}

static size_t
text_number (char *out, size_t len, size_t size, uint64_t v)
{
  char digits[24];
  int n = 0;
  do
    digits[n++] = (char) ('0' + v % 10);
  while ((v /= 10) != 0);
  while (n > 0 && len + 1 < size)
    out[len++] = digits[--n];
  out[len] = '\0';
  return len;
}

/* For the INFO of a trace's first chunk: the command line with its
 * arguments joined by spaces.  System calls only, no allocation: a crash
 * dump calls it from a signal handler. */
static void
read_cmdline (char *cmdline, size_t cmdline_size)
{
  ssize_t n;
  int cfd = open ("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  n = cfd >= 0 ? read (cfd, cmdline, cmdline_size - 1) : 0;
  if (cfd >= 0)
    close (cfd);
  if (n < 0)
    n = 0;
  for (ssize_t i = 0; i + 1 < n; i++)
    if (cmdline[i] == '\0')
      cmdline[i] = ' ';
  cmdline[n > 0 ? n - 1 : 0] = '\0';
}

static size_t
text_append (char *out, size_t len, size_t size, const char *s)
{
  while (*s && len + 1 < size)
    out[len++] = *s++;
  out[len] = '\0';
  return len;
}

/* A dump: header, what was traced, a clock that starts at the window, the
 * dictionary (modules, stack tree), the blocks live at the window's start
 * as allocations then, the window's chunks, END.  From the writer thread
 * after a round (everything is stored), or from a crash with the writer's
 * lock held (then what the rings hold and the stacks since the last round
 * are written straight from where they are).  No allocation, no lock. */
static int
write_dump (int fd, HmDumpTrigger trigger, int signal_number)
{
  int crash = trigger == HM_DUMP_CRASH;
  uint64_t origin = hm_flight_window_start ();
  uint64_t now_tsc, now_ns;
  hm_clock_pair (&now_tsc, &now_ns);
  now_ns -= hm_agent.start_ns;
  double rate = now_tsc > hm_agent.start_tsc
                  ? (double) now_ns / (double) (now_tsc - hm_agent.start_tsc) : 1.0;
  uint64_t origin_ns = origin > hm_agent.start_tsc
                         ? (uint64_t) ((double) (origin - hm_agent.start_tsc) * rate) : 0;
  int saved_dest = meta_dest;
  uint8_t header[HM_TRACE_HEADER_SIZE];
  struct timespec rt;
  HmFlightStats stats;

  if (origin_ns > now_ns)
    origin_ns = now_ns;
  hm_flight_get_stats (&stats);
  dump_fd = fd;
  dump_error = 0;
  meta_dest = DEST_DUMP;
  meta_open = 0;

  clock_gettime (CLOCK_REALTIME, &rt);
  uint64_t rt_now = (uint64_t) rt.tv_sec * 1000000000u + (uint64_t) rt.tv_nsec;
  HmTraceHeaderInfo info = {
    .pid = (uint32_t) hm_agent.pid,
    .flags = 0,
    .start_monotonic_ns = hm_agent.start_ns + origin_ns,
    .start_realtime_ns = rt_now - (now_ns - origin_ns),
    .page_size = (uint32_t) sysconf (_SC_PAGESIZE),
  };
  hm_trace_write_header (header, &info);
  {
    struct iovec iov = { header, sizeof header };
    dump_iov (&iov, 1);
  }
  {
    char cmdline[2048], text[512];
    read_cmdline (cmdline, sizeof cmdline);
    PUT (hm_chunk_put_info (&meta, "exe", hm_agent_exe ()));
    PUT (hm_chunk_put_info (&meta, "cmdline", cmdline));
    PUT (hm_chunk_put_info (&meta, "agent", "hybridmem " HM_VERSION));
    PUT (hm_chunk_put_info (&meta, "when-behind", "wait"));
    size_t len = text_append (text, 0, sizeof text, "last ");
    len = text_number (text, len, sizeof text, hm_flight_config ()->window_ns / 1000000000u);
    len = text_append (text, len, sizeof text, " s; this window ");
    len = text_number (text, len, sizeof text, (now_ns - origin_ns) / 1000000u);
    len = text_append (text, len, sizeof text, " ms; ");
    len = text_number (text, len, sizeof text, stats.n_live);
    len = text_append (text, len, sizeof text, " blocks (");
    len = text_number (text, len, sizeof text, stats.live_bytes);
    len = text_append (text, len, sizeof text, " bytes), ");
    len = text_number (text, len, sizeof text, stats.n_regions);
    len = text_append (text, len, sizeof text, " regions, ");
    len = text_number (text, len, sizeof text, stats.n_pools);
    len = text_append (text, len, sizeof text, " pools (");
    len = text_number (text, len, sizeof text, stats.n_pool_objects);
    len = text_append (text, len, sizeof text, " objects out) live at its start");
    if (stats.table_lost > 0)
      {
        len = text_append (text, len, sizeof text, "; ");
        len = text_number (text, len, sizeof text, stats.table_lost);
        len = text_append (text, len, sizeof text, " blocks or objects not known (no memory)");
      }
    PUT (hm_chunk_put_info (&meta, "flight-recorder", text));
    len = text_append (text, 0, sizeof text,
                       trigger == HM_DUMP_SIGNAL ? "signal"
                       : trigger == HM_DUMP_REQUEST ? "request" : "crash, signal ");
    if (crash)
      text_number (text, len, sizeof text, (uint64_t) signal_number);
    PUT (hm_chunk_put_info (&meta, "dump", text));
    if (hm_sampler.on)
      {
        /* a sampled window: the reader weighs its blocks as in any
         * sampled trace (no snprintf: this may run in a crash's handler) */
        text_number (text, 0, sizeof text, hm_sampler.mean_bytes);
        PUT (hm_chunk_put_info (&meta, "sample_bytes", text));
      }
    PUT (hm_chunk_put_clock (&meta, origin, 0));
    PUT (hm_chunk_put_clock (&meta, now_tsc > origin ? now_tsc : origin + 1,
                             now_ns - origin_ns));
    meta_flush ();
  }
  {
    const uint8_t *bytes;
    size_t len;
    hm_flight_dict (&bytes, &len);
    struct iovec iov = { (void *) bytes, len };
    if (len > 0)
      dump_iov (&iov, 1);
  }
  if (crash)
    {
      /* modules and stacks since the last round: straight into the dump */
      hm_modules_drain_locked (emit_module, &now_tsc, 0);
      emit_new_stacks ();
      meta_flush ();
    }
  {
    LiveWriter w = { .origin = origin, .tid = (uint32_t) hm_agent.pid };
    hm_chunk_begin (&w.chunk, live_chunk, sizeof live_chunk, w.tid, origin, 0);
    static const HmFlightObjectFns object_fns = {
      put_live_region, put_live_pool, put_live_pool_object,
    };
    hm_flight_each_live (put_live_block, &w);
    hm_flight_each_object (&object_fns, &w);
    live_flush (&w);
    PUT (hm_chunk_put_round (&meta, origin));
    meta_flush ();
  }
  {
    ChunkBatch batch = { .n = 0 };
    hm_flight_each_chunk (put_window_chunk, &batch);
    if (batch.n > 0)
      dump_iov (batch.iov, batch.n);
  }
  if (crash)
    for (HmThread *t = hm_thread_list (); t != NULL; t = t->next)
      {
        uint64_t head = __atomic_load_n (&t->head, __ATOMIC_ACQUIRE);
        if (head > t->tail)
          drain_ring (t, head);
      }
  PUT (hm_chunk_put_round (&meta, now_tsc));
  PUT (hm_chunk_put_end (&meta, hm_tsc (), crash ? HM_END_SIGNAL : HM_END_DUMP,
                         crash ? signal_number : 0));
  meta_flush ();
  meta_dest = saved_dest;
  dump_fd = -1;
  return dump_error;
}

static void *
writer_main (void *arg)
{
  sigset_t all;

  (void) arg;
  hm_guard = 1;   /* nothing this thread does is an event */
  __atomic_store_n (&writer_tid, (int) syscall (SYS_gettid), __ATOMIC_RELEASE);
  pthread_setname_np (pthread_self (), "hm-writer");
  sigfillset (&all);
  pthread_sigmask (SIG_BLOCK, &all, NULL);

  while (!writer_stop)
    {
      uint32_t seen = __atomic_load_n (&hm_writer_futex, __ATOMIC_ACQUIRE);
      pthread_mutex_lock (&writer_lock);
      if (hm_agent.tracing)
        {
          round_locked ();
          if (flight && hm_flight_dump_pending ())
            hm_flight_run_pending (write_dump);
        }
      pthread_mutex_unlock (&writer_lock);
      /* Until the next round (ROUND_NS, or a wake-up), the coarse clock's
       * ticks while cheap stamps want them. */
      uint64_t round_ns = hm_now_ns ();
      while (!writer_stop && __atomic_load_n (&hm_writer_futex, __ATOMIC_ACQUIRE) == seen)
        {
          if (!hm_agent.tracing)
            {
              /* Between attach sessions there is nothing to do: sleep until woken. */
              clock_stop ();
              syscall (SYS_futex, &hm_writer_futex, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
              break;
            }
          uint64_t waited = hm_now_ns () - round_ns;
          if (waited >= ROUND_NS)
            break;
          uint64_t wait_ns = ROUND_NS - waited;
          if (clock_tick () && wait_ns > HM_CLOCK_TICK_NS)
            wait_ns = HM_CLOCK_TICK_NS;
          struct timespec timeout = { 0, (long) wait_ns };
          syscall (SYS_futex, &hm_writer_futex, FUTEX_WAIT_PRIVATE, seen, &timeout, NULL, 0);
        }
    }
  clock_stop ();
  return NULL;
}

/* The header and the first chunk: what is traced, and its clock. */
static int
write_start_of_trace (int fd)
{
  struct stat st;
  uint8_t header[HM_TRACE_HEADER_SIZE];
  HmTraceHeaderInfo info = {
    .pid = (uint32_t) getpid (),
    .flags = 0,
    .start_monotonic_ns = hm_agent.start_ns,
    .page_size = (uint32_t) sysconf (_SC_PAGESIZE),
  };
  struct timespec rt;

  if (meta_mem == NULL)
    {
      void *p = mmap (NULL, META_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
      if (p == MAP_FAILED)
        return -1;
      meta_mem = p;
      hm_gc_register_agent_memory (meta_mem, META_BYTES);
    }
  int known = fstat (fd, &st) == 0;
  fd_is_socket = known && S_ISSOCK (st.st_mode);
  fd_is_file = known && S_ISREG (st.st_mode);
  if (fd_is_socket)
    info.flags |= HM_TRACE_FLAG_LIVE;
  clock_gettime (CLOCK_REALTIME, &rt);
  info.start_realtime_ns = (uint64_t) rt.tv_sec * 1000000000u + (uint64_t) rt.tv_nsec;
  hm_agent.trace_fd = fd;
  hm_trace_write_header (header, &info);
  {
    struct iovec iov = { header, sizeof header };
    write_iov (&iov, 1);
  }
  if (write_failed)
    return -1;

  /* A first chunk that says what is being traced, and how to read its clock. */
  {
    char cmdline[2048];
    read_cmdline (cmdline, sizeof cmdline);
    PUT (hm_chunk_put_info (&meta, "exe", hm_agent_exe ()));
    PUT (hm_chunk_put_info (&meta, "cmdline", cmdline));
    PUT (hm_chunk_put_info (&meta, "agent", "hybridmem " HM_VERSION));
    PUT (hm_chunk_put_info (&meta, "when-behind",
                            hm_agent.drop_when_behind ? "drop events" : "wait"));
    if (hm_sampler.on)
      {
        /* the reader weighs each sampled block by this (trace-format.md) */
        char mean[24];
        snprintf (mean, sizeof mean, "%llu", (unsigned long long) hm_sampler.mean_bytes);
        PUT (hm_chunk_put_info (&meta, "sample_bytes", mean));
      }
    if (in_session)
      PUT (hm_chunk_put_info (&meta, "attached",
                              hm_agent.injected ? "injected into the running process"
                                                : "to the agent's socket"));
    PUT (hm_chunk_put_clock (&meta, hm_agent.start_tsc, 0));
    PUT (hm_chunk_put_clock (&meta, hm_agent.calib_tsc, hm_agent.calib_ns));
    meta_flush ();
  }
  return write_failed ? -1 : 0;
}

static int
start_thread (void)
{
  if (writer_running)
    return 0;
  hm_guard++;
  int err = pthread_create (&writer_thread, NULL, writer_main, NULL);
  hm_guard--;
  if (err != 0)
    return -1;
  writer_running = 1;
  return 0;
}

/* Flight-recorder mode: nothing is written until a dump. */
int
hm_writer_start_flight (void)
{
  if (meta_mem == NULL)
    {
      void *p = mmap (NULL, META_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
      if (p == MAP_FAILED)
        return -1;
      meta_mem = p;
      hm_gc_register_agent_memory (meta_mem, META_BYTES);
    }
  flight = 1;
  return start_thread ();
}
/* Sampling mode has no writer thread: glibc's malloc takes its arena lock
 * on every call once a process has a second thread (it checks
 * SINGLE_THREAD_P), which cost a single-threaded program far more than the
 * sampling itself (bench-malloc: 1.4x).  Its few events are written by the
 * threads that record them instead, a round at most every ROUND_NS
 * (hm_writer_round_inline), or when a ring is full, and at the end. */
static int writer_inline;
/* Each sampled allocation and free asks whether a round is due: in TSC
 * ticks, as a clock_gettime for each was a third of a sample's cost on a
 * virtual machine.  round_ticks is ROUND_NS at the rate calibrated at
 * start (0: no rate; then CLOCK_MONOTONIC is read instead). */
static uint64_t last_inline_round;
static uint64_t round_ticks;

static uint64_t
inline_now (void)
{
  return round_ticks != 0 ? hm_tsc () : hm_now_ns ();
}

int
hm_writer_start (int fd)
{
  if (write_start_of_trace (fd) != 0)
    return -1;
  if (hm_sampler.on)
    {
      writer_inline = 1;
      round_ticks = ticks_for_ns (ROUND_NS);
      last_inline_round = inline_now ();
      return 0;
    }
  return start_thread ();
}

bool
hm_writer_round_inline (bool must)
{
  if (!writer_inline || !hm_agent.writer_started || hm_agent.trace_fd < 0 || !hm_agent.tracing)
    return false;
  uint64_t now = inline_now ();
  if (!must && now - __atomic_load_n (&last_inline_round, __ATOMIC_RELAXED)
                   < (round_ticks != 0 ? round_ticks : ROUND_NS))
    return false;
  hm_guard++;
  /* Never a blocking lock: this thread may hold it already (the collector
   * keeps it while the world is stopped, and records then).  Without
   * must, a thread already writing a round writes ours too; with it, wait
   * for that one a while, then give up (the caller drops the events). */
  int locked = pthread_mutex_trylock (&writer_lock) == 0;
  for (int i = 0; must && !locked && i < 200; i++)
    {
      struct timespec pause = { 0, 1000000 };
      nanosleep (&pause, NULL);
      locked = pthread_mutex_trylock (&writer_lock) == 0;
    }
  if (!locked)
    {
      hm_guard--;
      return false;
    }
  __atomic_store_n (&last_inline_round, now, __ATOMIC_RELAXED);
  if (hm_agent.tracing && hm_agent.trace_fd >= 0)
    round_locked ();
  pthread_mutex_unlock (&writer_lock);
  hm_guard--;
  return true;
}

/* An attach (hm-listener.c): a new, complete trace on fd from now on.  The
 * stack tree and the modules are written again from scratch, and what the
 * rings hold from before is skipped.  Called with tracing off; turns it on. */
int
hm_writer_begin_session (int fd)
{
  int ok;

  if (writer_stop)
    return -1;                       /* the process is exiting */
  pthread_mutex_lock (&writer_lock);
  in_session = 1;
  write_failed = 0;
  end_written = 0;
  meta_open = 0;
  if (trie != NULL)
    memset (trie, 0, (trie_mask + 1) * sizeof *trie);
  n_nodes = 0;
  n_stacks_emitted = 0;
  hm_modules_forget_emitted ();
  pthread_mutex_lock (&queue_lock);
  n_meta_queued = 0;
  pthread_mutex_unlock (&queue_lock);
  for (HmThread *t = hm_thread_list (); t != NULL; t = t->next)
    hm_thread_skip_unread (t);
  __atomic_store_n (&hm_agent.dropped, 0, __ATOMIC_RELEASE);
  clock_stop ();                     /* the old session's ticks are not this trace's */
  ok = write_start_of_trace (fd) == 0 && start_thread () == 0;
  if (ok)
    {
      hm_agent.writer_started = 1;
      __atomic_store_n (&hm__fast_v1, 0, __ATOMIC_RELEASE);
      __atomic_store_n (&hm_agent.tracing, 1, __ATOMIC_RELEASE);
      hm_hooks_refresh ();
    }
  else
    hm_agent.trace_fd = -1;
  pthread_mutex_unlock (&writer_lock);
  hm_thread_wake_writer ();
  return ok ? 0 : -1;
}

/* The end of an attach: what the rings hold, the END (unless the exit wrote
 * one), and no more writing to fd, which the caller closes.  Tracing is
 * already off. */
void
hm_writer_end_session (int end_reason)
{
  pthread_mutex_lock (&writer_lock);
  if (hm_agent.trace_fd >= 0 && !end_written)
    {
      hm_guard++;
      for (int i = 0; i < 4 && round_locked () > 0; i++)
        ;
      PUT (hm_chunk_put_end (&meta, hm_tsc (), (HmEndReason) end_reason, 0));
      meta_flush ();
      end_written = 1;
      hm_guard--;
    }
  hm_agent.trace_fd = -1;
  in_session = 0;
  pthread_mutex_unlock (&writer_lock);
}

void
hm_writer_flush (int end_reason, int64_t status)
{
  if (hm_agent.trace_fd < 0)
    return;
  hm_guard++;
  pthread_mutex_lock (&writer_lock);
  /* Other threads may go on allocating: a few rounds catch what they add. */
  for (int i = 0; i < 4 && round_locked () > 0; i++)
    ;
  if (end_reason >= 0 && !end_written)
    {
      PUT (hm_chunk_put_end (&meta, hm_tsc (), (HmEndReason) end_reason, status));
      meta_flush ();
      end_written = end_reason != HM_END_EXEC;   /* a failed exec goes on */
    }
  pthread_mutex_unlock (&writer_lock);
  hm_guard--;
}

/* A crash in flight-recorder mode: the same wait for the writer's lock as
 * below, then the dump, to a new file. */
static void
flight_dump_from_signal (int signal_number)
{
  struct timespec pause = { 0, 1000000 };
  int locked = 0;
  char name[4096];

  hm_guard++;
  for (int i = 0; i < 2000 && !(locked = pthread_mutex_trylock (&writer_lock) == 0); i++)
    nanosleep (&pause, NULL);
  if (locked)
    {
      in_crash = 1;
      int fd = hm_flight_open_dump (NULL, name, sizeof name);
      int error = fd < 0 ? errno : write_dump (fd, HM_DUMP_CRASH, signal_number);
      if (fd >= 0)
        close (fd);
      if (error == 0)
        hm_notice ("flight recorder: killed by signal %d; the last %llu s written to %s",
                   signal_number,
                   (unsigned long long) (hm_flight_config ()->window_ns / 1000000000u), name);
      else
        hm_notice ("flight recorder: killed by signal %d; cannot write the dump to %s "
                   "(errno %d)", signal_number, name, error);
      /* left locked: the process is about to die, and no round may start */
    }
  hm_guard--;
}

/* From a fatal signal's handler: the thread that crashed may hold any lock,
 * the writer's included, so nothing here waits for ever.  The writer may be
 * in the middle of a round on a loaded machine, so it gets two seconds; if
 * the lock cannot be had by then (the crash was inside the writer's own
 * round), the trace ends where the last round left it. */
void
hm_writer_flush_from_signal (int signal_number)
{
  struct timespec pause = { 0, 1000000 };
  int locked = 0;

  if (flight)
    {
      flight_dump_from_signal (signal_number);
      return;
    }
  if (hm_agent.trace_fd < 0)
    return;
  hm_guard++;
  for (int i = 0; i < 2000 && !(locked = pthread_mutex_trylock (&writer_lock) == 0); i++)
    nanosleep (&pause, NULL);
  if (locked)
    {
      in_crash = 1;
      round_locked ();
      PUT (hm_chunk_put_end (&meta, hm_tsc (), HM_END_SIGNAL, signal_number));
      meta_flush ();
      /* left locked: the process is about to die, and no round may start */
    }
  hm_guard--;
}

int
hm_writer_tid (void)
{
  return writer_running ? __atomic_load_n (&writer_tid, __ATOMIC_ACQUIRE) : 0;
}

void
hm_writer_pause (void)
{
  pthread_mutex_lock (&writer_lock);
}

void
hm_writer_resume (void)
{
  pthread_mutex_unlock (&writer_lock);
}

void
hm_writer_stop (void)
{
  if (!writer_running)
    return;
  writer_stop = 1;
  clock_stop ();
  hm_thread_wake_writer ();
  /* Not joined: a writer blocked on a full pipe must not hold up exit. */
  writer_running = 0;
}

void
hm_writer_fork_prepare (void)
{
  pthread_mutex_lock (&writer_lock);
  pthread_mutex_lock (&queue_lock);
  hm_modules_lock ();
  hm_stack_table_lock ();
}

void
hm_writer_fork_parent (void)
{
  hm_stack_table_unlock ();
  hm_modules_unlock ();
  pthread_mutex_unlock (&queue_lock);
  pthread_mutex_unlock (&writer_lock);
}

void
hm_writer_fork_child (void)
{
  /* The child is not traced: its events would interleave with the parent's
   * in one file.  (If it execs, the new image may start its own trace.) */
  hm_agent.tracing = 0;
  hm_hooks_refresh ();
  __atomic_store_n (&hm__fast_v1, 1, __ATOMIC_RELEASE);
  clock_stop ();                     /* the child has no writer thread */
  if (in_session && hm_agent.trace_fd >= 0)
    close (hm_agent.trace_fd);       /* the debugger's socket is the parent's */
  in_session = 0;
  hm_agent.trace_fd = -1;
  writer_running = 0;
  hm_thread_after_fork_child ();
  hm_stack_table_unlock ();
  hm_modules_unlock ();
  pthread_mutex_unlock (&queue_lock);
  pthread_mutex_unlock (&writer_lock);
}
