/* hm-thread-buffer.c — one ring of records per thread, and their registry.
 *
 * A ring has one producer (its thread) and one consumer (the writer), so it
 * needs no lock: the producer publishes with a release store of head, the
 * writer frees space with a release store of tail.  Rings live in mmap'd
 * memory; the registry is a push-only list whose entries are reused once a
 * thread has exited and its ring is drained.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hm-sampler-private.h"
#include "hm-thread-events.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread int hm_guard HM_TLS = 0;
__thread HmThread *hm_self HM_TLS = NULL;

static HmThread *registry;           /* push-only list of every ring */
static pthread_key_t exit_key;
static int exit_key_ready;
uint32_t hm_writer_futex;

HmThread *
hm_thread_list (void)
{
  return __atomic_load_n (&registry, __ATOMIC_ACQUIRE);
}

static void
thread_exited (void *value)
{
  HmThread *t = value;

  /* Destructors of other keys may still allocate after us; the ring stays
   * this thread's until the writer sees it drained and the thread gone. */
  if (t == NULL)
    return;
  if (hm_agent.tracing)
    {
      hm_guard++;
      hm_emit_thread_end ();
      hm_guard--;
    }
  /* also between attach sessions, so that the next one reuses the ring */
  __atomic_store_n (&t->exited, 1, __ATOMIC_RELEASE);
}

void
hm_thread_buffers_init (void)
{
  if (pthread_key_create (&exit_key, thread_exited) == 0)
    exit_key_ready = 1;
}

HmThread *
hm_thread_register (void)
{
  HmThread *t;
  uint32_t tid = (uint32_t) syscall (SYS_gettid);

  /* Reuse a ring whose thread is gone (the writer released it). */
  for (t = hm_thread_list (); t != NULL; t = t->next)
    {
      int expected = 0;
      if (__atomic_load_n (&t->in_use, __ATOMIC_RELAXED) == 0
          && __atomic_compare_exchange_n (&t->in_use, &expected, 1, false, __ATOMIC_ACQ_REL,
                                          __ATOMIC_RELAXED))
        break;
    }
  if (t == NULL)
    {
      t = mmap (NULL, sizeof *t, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (t == MAP_FAILED)
        return NULL;
      t->in_use = 1;
      t->tid = tid;
      t->wake_mark = HM_RING_BYTES / 2;
      HmThread *old = __atomic_load_n (&registry, __ATOMIC_RELAXED);
      do
        t->next = old;
      while (!__atomic_compare_exchange_n (&registry, &old, t, true, __ATOMIC_RELEASE,
                                           __ATOMIC_RELAXED));
    }
  else
    {
      /* A reused ring is empty (head == tail): keep its counters. */
      t->tid = tid;
      __atomic_store_n (&t->exited, 0, __ATOMIC_RELAXED);
      t->wake_mark = t->head + HM_RING_BYTES / 2;
    }
  hm_self = t;
  if (exit_key_ready)
    {
      hm_guard++;
      pthread_setspecific (exit_key, t);
      hm_guard--;
    }
  return t;
}

void
hm_thread_wake_writer (void)
{
  __atomic_add_fetch (&hm_writer_futex, 1, __ATOMIC_RELEASE);
  syscall (SYS_futex, &hm_writer_futex, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Drops what the ring holds, before any writer exists to read it; returns
 * how many events that was.  The writer's copy of the delta state is set to
 * the producer's, so the next chunk starts from the right values. */
static uint64_t
discard_unwritten (HmThread *t)
{
  uint64_t n = 0, tsc = t->read_tsc, addr = t->read_addr;
  HmThreadEvent e;

  for (uint64_t pos = t->tail; pos < t->head;)
    {
      uint64_t block_end = (pos | (HM_RING_BLOCK - 1)) + 1;
      uint64_t to = t->head < block_end ? t->head : block_end;
      const uint8_t *p = &t->ring[(uint32_t) pos & (HM_RING_BYTES - 1)];
      const uint8_t *end = p + (to - pos);
      HmDecodeResult r;
      while (p < end && (r = hm_thread_event_decode (&p, end, &tsc, &addr, &e)) != HM_DECODE_BAD)
        n += r == HM_DECODE_EVENT;
      pos = to;
    }
  t->read_tsc = t->last_tsc;
  t->read_addr = t->last_addr;
  __atomic_store_n (&t->tail, t->head, __ATOMIC_RELEASE);
  return n;
}

/* The ring is full.  The default policy never loses events, so wait for the
 * writer; it never waits for us, so this cannot deadlock.  With
 * HM_DROP_WHEN_BEHIND=1 memory and the program's speed come first: the new
 * event is dropped and counted, and the trace says how many were. */
bool
hm_thread_wait_for_room (HmThread *t, uint64_t need)
{
  unsigned spins = 0;

  hm_thread_wake_writer ();
  if (hm_agent.drop_when_behind && hm_agent.writer_started && hm_agent.tracing)
    {
      __atomic_add_fetch (&hm_agent.dropped, 1, __ATOMIC_RELAXED);
      return false;
    }
  while (t->head + need - __atomic_load_n (&t->tail, __ATOMIC_ACQUIRE) > HM_RING_BYTES)
    {
      if (!hm_agent.writer_started)
        {
          /* A megabyte of events before the agent's constructor ran: no
           * writer yet to wait for.  Drop them, and say so in the trace. */
          __atomic_add_fetch (&hm_agent.dropped, discard_unwritten (t), __ATOMIC_RELAXED);
          break;
        }
      if (hm_sampler.on && hm_writer_tid () == 0)
        {
          /* Sampling: no writer thread to wait for; write a round now, and
           * drop what still does not fit (the write failed). */
          hm_writer_round_inline (true);
          if (t->head + need - __atomic_load_n (&t->tail, __ATOMIC_ACQUIRE) > HM_RING_BYTES)
            __atomic_add_fetch (&hm_agent.dropped, discard_unwritten (t), __ATOMIC_RELAXED);
          break;
        }
      if (!hm_agent.tracing)
        {
          /* Tracing stopped (a fork child, the end): drop the ring's content. */
          __atomic_store_n (&t->tail, t->head, __ATOMIC_RELEASE);
          break;
        }
      if (++spins < 64)
        sched_yield ();
      else
        {
          struct timespec pause = { 0, 200000 };
          hm_thread_wake_writer ();
          nanosleep (&pause, NULL);
        }
    }
  return true;
}

/* hm_ring_reserve when the event may need padding, a SYNC, room from the
 * writer or a wake-up: every check, then fast_end = 0 so that the commit
 * comes to hm_ring_commit_slow. */
uint8_t *
hm_ring_reserve_slow (HmThread **out)
{
  uint8_t *at = NULL;
  /* the fast paths of region and pool events call without the guard:
   * registering the thread or waiting for the writer must not be traced */
  hm_guard++;
  HmThread *t = hm_self;
  if (t == NULL)
    t = hm_thread_register ();
  if (t != NULL)
    {
      t->fast_end = 0;
      uint64_t head = t->head;
      uint32_t in_block = (uint32_t) head & (HM_RING_BLOCK - 1);
      uint32_t pad = HM_RING_BLOCK - in_block < HM_RING_MAX_EVENT ? HM_RING_BLOCK - in_block : 0;
      if (head + pad + HM_RING_MAX_SYNC + HM_RING_MAX_EVENT
          - __atomic_load_n (&t->tail, __ATOMIC_ACQUIRE) <= HM_RING_BYTES
          || hm_thread_wait_for_room (t, pad + HM_RING_MAX_SYNC + HM_RING_MAX_EVENT))
        {
          if (pad != 0 || in_block == 0)
            hm_thread_open_block (t, pad);
          *out = t;
          at = &t->ring[(uint32_t) t->head & (HM_RING_BYTES - 1)];
        }
    }
  hm_guard--;
  return at;
}

/* After an event that came through hm_ring_reserve_slow, or that ended on
 * fast_end: wakes the writer if head crossed its mark, and sets fast_end for
 * the events that follow. */
void
hm_ring_commit_slow (HmThread *t, uint64_t head, uint64_t next)
{
  uint64_t wake_mark = t->wake_mark;
  if (head < wake_mark && next >= wake_mark)
    hm_thread_wake_writer ();

  uint64_t end = 0;
  if ((next & (HM_RING_BLOCK - 1)) != 0)     /* a block start needs its SYNC */
    {
      end = (next & ~(uint64_t) (HM_RING_BLOCK - 1)) + HM_RING_BLOCK;
      uint64_t room = __atomic_load_n (&t->tail, __ATOMIC_ACQUIRE) + HM_RING_BYTES
                      - HM_RING_MAX_SYNC;
      if (room < end)
        end = room;
      /* an event that ends below the mark cannot cross it; once past it
       * (the writer is behind), there is nothing to wake until it moves */
      if (next < wake_mark && wake_mark - 1 < end)
        end = wake_mark - 1;
    }
  t->fast_end = end;
}

/* Pads the rest of the block and opens the next with the absolute state. */
void
hm_thread_open_block (HmThread *t, uint32_t pad)
{
  uint64_t head = t->head;
  if (pad != 0)
    {
      memset (&t->ring[(uint32_t) head & (HM_RING_BYTES - 1)], HM_EV_PAD, pad);
      head += pad;
    }
  uint8_t *start = &t->ring[(uint32_t) head & (HM_RING_BYTES - 1)], *p = start;
  *p++ = HM_EV_SYNC;
  p = hm_put_uv (p, t->last_tsc);
  p = hm_put_uv (p, t->last_addr);
  __atomic_store_n (&t->head, head + (uint64_t) (p - start), __ATOMIC_RELEASE);
}

void
hm_thread_skip_unread (HmThread *t)
{
  uint64_t head = __atomic_load_n (&t->head, __ATOMIC_ACQUIRE);
  uint64_t tsc = t->read_tsc, addr = t->read_addr;
  HmThreadEvent e;

  /* The producer may be writing its next event right now, so its own
   * last_tsc and last_addr cannot be read.  The block that holds head opens
   * with a SYNC, and the bytes from it to head are published and stay put:
   * decoding them gives the state at head exactly. */
  if (head > 0)
    {
      uint64_t from = (head - 1) & ~(uint64_t) (HM_RING_BLOCK - 1);
      const uint8_t *p = &t->ring[(uint32_t) from & (HM_RING_BYTES - 1)];
      const uint8_t *end = p + (head - from);
      while (p < end && hm_thread_event_decode (&p, end, &tsc, &addr, &e) != HM_DECODE_BAD)
        ;
    }
  t->read_tsc = tsc;
  t->read_addr = addr;
  t->wake_mark = head + HM_RING_BYTES / 2;
  __atomic_store_n (&t->tail, head, __ATOMIC_RELEASE);
}

void
hm_thread_after_fork_child (void)
{
  /* Only the forking thread exists in the child; every other ring belongs to
   * a thread that is not there.  The child is not traced (see hm-writer.c),
   * so just make sure no one waits on these rings. */
  for (HmThread *t = hm_thread_list (); t != NULL; t = t->next)
    t->tail = t->head;
}
