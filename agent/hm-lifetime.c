/* hm-lifetime.c — lifetime analysis at the allocator: which frees are wrong.
 *
 * With HM_LIFETIME_ANALYSIS=1 (or enable_lifetime_analysis) the agent keeps
 * every live block of malloc & co. and hm_alloc in a table: its size, the
 * stack that allocated it, the strategy it came from.  A freed block is not
 * given back to the C library at once but waits in a bounded quarantine,
 * still in the table, so that a second free of it is recognised exactly as a
 * double free (with both stacks) rather than corrupting a block that reused
 * the address.  Frees of addresses no allocation function returned, and of
 * memory from another strategy, are reported and not passed on: the program
 * goes on as if the bad call had not happened.
 *
 * The table is split in stripes, each with its own lock, so threads freeing
 * different blocks rarely meet.  None of this runs unless analysis is on.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hm-sampler-private.h"
#include "hm-gc-private.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define N_STRIPES 64
#define QUARANTINE_BYTES (8u << 20)    /* freed bytes held back at most */
#define QUARANTINE_BLOCKS (1u << 16)

typedef enum {
  BLOCK_EMPTY = 0,
  BLOCK_LIVE,
  BLOCK_FREED,                 /* in quarantine */
} BlockState;

typedef struct {
  uintptr_t addr;              /* 0: empty */
  size_t size;
  uint32_t alloc_stack;
  uint32_t free_stack;
  uint8_t state;
  uint8_t strategy;            /* HmLifetimeStrategy */
  uint8_t reported;            /* a leak warning named it (hm-lifetime-scan.c) */
} Block;

typedef struct {
  pthread_mutex_t lock;
  Block *slots;
  size_t mask;
  size_t n;
} Stripe;

static Stripe stripes[N_STRIPES];
int hm_lifetime_active;
static int table_complete;     /* on since the first allocation: unknown frees are bad */

static pthread_mutex_t quarantine_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t *quarantine;  /* FIFO of freed addresses */
static size_t q_head, q_count, q_bytes;

static inline size_t
hash_addr (uintptr_t addr)
{
  uint64_t h = (uint64_t) addr;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return (size_t) h;
}

static inline Stripe *
stripe_of (uintptr_t addr)
{
  return &stripes[(hash_addr (addr) >> 40) & (N_STRIPES - 1)];
}

/* The tables hold addresses of blocks the program also holds: not roots. */

static Block *
find (Stripe *s, uintptr_t addr)
{
  if (s->slots == NULL)
    return NULL;
  for (size_t i = hash_addr (addr) & s->mask;; i = (i + 1) & s->mask)
    {
      if (s->slots[i].addr == addr)
        return &s->slots[i];
      if (s->slots[i].addr == 0)
        return NULL;
    }
}

static int put (Stripe *s, const Block *b);

static int
grow (Stripe *s)
{
  size_t old_cap = s->slots ? s->mask + 1 : 0;
  size_t cap = old_cap ? old_cap * 2 : 256;
  Block *old = s->slots;
  Block *slots = hm_agent_map (cap * sizeof *slots);

  if (slots == NULL)
    return 0;
  /* atomic: prefetch_slot reads them without the lock */
  __atomic_store_n (&s->slots, slots, __ATOMIC_RELAXED);
  __atomic_store_n (&s->mask, cap - 1, __ATOMIC_RELAXED);
  s->n = 0;
  for (size_t i = 0; i < old_cap; i++)
    if (old[i].addr != 0)
      put (s, &old[i]);
  if (old != NULL)
    {
      hm_agent_unmap (old, old_cap * sizeof *old);
    }
  return 1;
}

static int
put (Stripe *s, const Block *b)
{
  if ((s->slots == NULL || (s->n + 1) * 4 > (s->mask + 1) * 3) && !grow (s))
    return 0;
  for (size_t i = hash_addr (b->addr) & s->mask;; i = (i + 1) & s->mask)
    {
      if (s->slots[i].addr == 0 || s->slots[i].addr == b->addr)
        {
          if (s->slots[i].addr == 0)
            s->n++;
          s->slots[i] = *b;
          return 1;
        }
    }
}

/* Backward-shift deletion: the table needs no tombstones. */
static void
remove_block (Stripe *s, Block *slot)
{
  size_t i = (size_t) (slot - s->slots), j = i;
  for (;;)
    {
      j = (j + 1) & s->mask;
      if (s->slots[j].addr == 0)
        break;
      size_t home = hash_addr (s->slots[j].addr) & s->mask;
      if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j))
        {
          s->slots[i] = s->slots[j];
          i = j;
        }
    }
  s->slots[i].addr = 0;
  s->n--;
}

/* Pools and the GC heap say whether an address is theirs; until they are
 * linked in, nothing is. */
__attribute__ ((weak)) bool
hm_pool_owns (const void *p)
{
  (void) p;
  return false;
}

__attribute__ ((weak)) bool
hm_gc_owns (const void *p)
{
  (void) p;
  return false;
}

static void fork_prepare (void);
static void fork_parent (void);
static void fork_child (void);

void
hm_lifetime_start (int from_the_first_allocation)
{
  static int started;
  if (hm_sampler.on)
    {
      hm_sampler_refuse ("lifetime");
      return;
    }
  if (__atomic_exchange_n (&started, 1, __ATOMIC_ACQ_REL))
    return;
  for (int i = 0; i < N_STRIPES; i++)
    pthread_mutex_init (&stripes[i].lock, NULL);
  quarantine = hm_agent_map (QUARANTINE_BLOCKS * sizeof *quarantine);
  if (quarantine == NULL)
    return;
  table_complete = from_the_first_allocation;
  if (hm_agent.self_end == 0)
    hm_agent_find_own_text ();
  hm_stack_table_init ();
  pthread_atfork (fork_prepare, fork_parent, fork_child);
  __atomic_store_n (&hm_lifetime_active, 1, __ATOMIC_RELEASE);
  hm_hooks_refresh ();
}

void
hm_lifetime_note_alloc (void *p, size_t size, HmLifetimeStrategy strategy, uint32_t stack)
{
  Stripe *s = stripe_of ((uintptr_t) p);
  Block b = { (uintptr_t) p, size, stack, 0, BLOCK_LIVE, (uint8_t) strategy, 0 };

  pthread_mutex_lock (&s->lock);
  put (s, &b);
  pthread_mutex_unlock (&s->lock);
}

/* Gives the oldest quarantined blocks back to the C library until the
 * quarantine is within bounds.  Called with quarantine_lock held. */
static void
evict (void)
{
  while (q_count > 0 && (q_bytes > QUARANTINE_BYTES || q_count >= QUARANTINE_BLOCKS))
    {
      size_t tail = (q_head + QUARANTINE_BLOCKS - q_count) & (QUARANTINE_BLOCKS - 1);
      uintptr_t addr = quarantine[tail];
      Stripe *s = stripe_of (addr);
      size_t size = 0;

      int found = 0;

      q_count--;
      pthread_mutex_lock (&s->lock);
      Block *b = find (s, addr);
      int from_malloc = 0;
      if (b != NULL && b->state == BLOCK_FREED)
        {
          size = b->size;
          found = 1;
          from_malloc = b->strategy == HM_LIFETIME_MALLOC;
          remove_block (s, b);
        }
      pthread_mutex_unlock (&s->lock);
      q_bytes -= size <= q_bytes ? size : q_bytes;
      /* malloc's blocks go back to the program's allocator (jemalloc's,
       * mimalloc's or glibc's); hm_alloc's are glibc's */
      if (found && from_malloc)
        hm_program_free ((void *) addr);
      else if (found)
        __libc_free ((void *) addr);
    }
  /* the next block to leave: its slot, warm for the next free's eviction,
   * and the allocator's header before it, which its free() reads */
  if (q_count > 0)
    {
      uintptr_t next = quarantine[(q_head + QUARANTINE_BLOCKS - q_count) & (QUARANTINE_BLOCKS - 1)];
      hm_lifetime_prefetch ((void *) next);
      __builtin_prefetch ((void *) (next - 2 * sizeof (size_t)), 1);
    }
}

static const char *
strategy_name (HmLifetimeStrategy strategy)
{
  switch (strategy)
    {
    case HM_LIFETIME_MALLOC:
      return "malloc";
    case HM_LIFETIME_HM_ALLOC:
      return "hm_alloc";
    default:
      return "?";
    }
}

/* The table is megabytes (every live and quarantined block), so the slot
 * of the block a call is about has left the cache: its lookup was half of
 * a lifetime-analysed free (perf, bench-malloc).  The hooks ask for it
 * before they capture the stack, and the two overlap.  A hint only: read
 * without the lock, and a stale table's slot is merely a useless prefetch
 * (one never faults). */
static inline void
prefetch_slot (Stripe *s, uintptr_t addr)
{
  Block *slots = __atomic_load_n (&s->slots, __ATOMIC_RELAXED);
  size_t mask = __atomic_load_n (&s->mask, __ATOMIC_RELAXED);
  if (slots != NULL)
    __builtin_prefetch (&slots[hash_addr (addr) & mask], 1);
}

void
hm_lifetime_prefetch (const void *p)
{
  prefetch_slot (stripe_of ((uintptr_t) p), (uintptr_t) p);
}

HmFreeVerdict
hm_lifetime_check_free (void *p, HmLifetimeStrategy freed_by, const char *function,
                        size_t *size_out)
{
  uintptr_t addr = (uintptr_t) p;
  Stripe *s = stripe_of (addr);
  Block copy;
  uint32_t stack;
  Block *b;

  hm_guard++;
  prefetch_slot (s, addr);
  stack = hm_stack_capture ();
  pthread_mutex_lock (&s->lock);
  b = find (s, addr);
  if (b != NULL && b->state == BLOCK_LIVE && b->strategy == freed_by)
    {
      b->state = BLOCK_FREED;
      b->free_stack = stack;
      if (size_out)
        *size_out = b->size;
      copy = *b;
      pthread_mutex_unlock (&s->lock);

      pthread_mutex_lock (&quarantine_lock);
      quarantine[q_head] = addr;
      q_head = (q_head + 1) & (QUARANTINE_BLOCKS - 1);
      q_count++;
      q_bytes += copy.size;
      evict ();
      pthread_mutex_unlock (&quarantine_lock);
      hm_guard--;
      return HM_FREE_HOLD;
    }
  if (b != NULL)
    copy = *b;
  pthread_mutex_unlock (&s->lock);

  if (b != NULL && copy.state == BLOCK_FREED)
    hm_warn_stacks (HM_WARNING_DOUBLE_FREE, p, copy.size, 0, stack, copy.alloc_stack,
                    copy.free_stack, "%s(%p): double free of a %zu-byte block", function, p,
                    copy.size);
  else if (b != NULL)
    hm_warn_stacks (HM_WARNING_MISMATCHED_FREE, p, copy.size, 0, stack, copy.alloc_stack, 0,
                    "%s(%p): the block came from %s", function, p,
                    strategy_name ((HmLifetimeStrategy) copy.strategy));
  else if (hm_pool_owns (p) || hm_gc_owns (p))
    hm_warn_stacks (HM_WARNING_MISMATCHED_FREE, p, 0, 0, stack, 0, 0,
                    "%s(%p): the object belongs to %s", function, p,
                    hm_pool_owns (p) ? "a pool (use hm_pool_return)" : "the GC heap");
  else if (table_complete)
    hm_warn_stacks (HM_WARNING_INVALID_FREE, p, 0, 0, stack, 0, 0,
                    "%s(%p): not an address an allocation function returned", function, p);
  else
    {
      /* allocated before analysis started: nothing to say about it */
      hm_guard--;
      return HM_FREE_PASS;
    }
  hm_guard--;
  return HM_FREE_DROP;
}

size_t
hm_lifetime_block_size (const void *p, int *known)
{
  Stripe *s = stripe_of ((uintptr_t) p);
  size_t size = 0;

  pthread_mutex_lock (&s->lock);
  Block *b = find (s, (uintptr_t) p);
  *known = b != NULL && b->state == BLOCK_LIVE;
  if (*known)
    size = b->size;
  pthread_mutex_unlock (&s->lock);
  return size;
}

/* fork: the table is locked in hm_fork_lock_all's order (hm-agent.c):
 * before the collector's locks, since a stripe's holder may wait for
 * agent_memory_lock (in grow). */
static int table_held_for_fork;

void
hm_lifetime_fork_take_table (void)
{
  if (!hm_lifetime_active || table_held_for_fork)
    return;
  pthread_mutex_lock (&quarantine_lock);
  for (int i = 0; i < N_STRIPES; i++)
    pthread_mutex_lock (&stripes[i].lock);
  table_held_for_fork = 1;
}

void
hm_lifetime_fork_give_table (void)
{
  if (!table_held_for_fork)
    return;
  table_held_for_fork = 0;
  for (int i = N_STRIPES; i > 0; i--)
    pthread_mutex_unlock (&stripes[i - 1].lock);
  pthread_mutex_unlock (&quarantine_lock);
}

static void
fork_prepare (void)
{
  hm_fork_lock_all ();
}

static void
fork_parent (void)
{
  hm_fork_unlock_all (0);
}

static void
fork_child (void)
{
  hm_fork_unlock_all (1);
}

/* --- for the reachability scan (hm-lifetime-scan.c) ------------------------------ */

size_t
hm_lifetime_lock_table (void)
{
  size_t n = 0;
  pthread_mutex_lock (&quarantine_lock);
  for (int i = 0; i < N_STRIPES; i++)
    {
      pthread_mutex_lock (&stripes[i].lock);
      n += stripes[i].n;
    }
  return n;
}

void
hm_lifetime_unlock_table (void)
{
  for (int i = N_STRIPES; i > 0; i--)
    pthread_mutex_unlock (&stripes[i - 1].lock);
  pthread_mutex_unlock (&quarantine_lock);
}

size_t
hm_lifetime_copy_table (HmScanBlock *out, size_t cap)
{
  size_t n = 0;
  for (int i = 0; i < N_STRIPES; i++)
    {
      const Stripe *s = &stripes[i];
      if (s->slots == NULL)
        continue;
      for (size_t j = 0; j <= s->mask && n < cap; j++)
        {
          const Block *b = &s->slots[j];
          if (b->addr == 0 || (b->state != BLOCK_LIVE && b->state != BLOCK_FREED))
            continue;
          HmScanBlock *o = &out[n++];
          o->start = b->addr;
          o->end = b->addr + (b->size ? b->size : 1);
          o->alloc_stack = b->alloc_stack;
          o->free_stack = b->free_stack;
          o->clique = 0;
          o->freed = b->state == BLOCK_FREED;
          o->mark = 0;
          o->reported = b->reported;
          o->strategy = b->strategy;
        }
    }
  return n;
}

void
hm_lifetime_set_reported (uintptr_t addr)
{
  Block *b = find (stripe_of (addr), addr);
  if (b != NULL)
    b->reported = 1;
}
