/* hm-stack-table.c — call stacks: unwound with libunwind, interned by content.
 *
 * Every distinct stack gets a small id once; events carry the id.  Lookups
 * are lock-free (an open-addressing table of ids, published with release
 * stores); only the insertion of a new stack takes a mutex, and new stacks
 * stop coming after a program's warm-up.  Tables that were outgrown are kept,
 * so a reader still probing one never touches freed memory.
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "hm-agent-private.h"
#include "hm-gc-private.h"

#include <libunwind.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_DEPTH 64

typedef struct {
  uint64_t mask;
  uint32_t slots[];          /* stack ids, 0 = empty */
} IdTable;

/* id -> entry, two levels so it grows without moving */
#define DIR_BITS 12
#define PAGE_BITS 16
static HmStackEntry **directory[1u << DIR_BITS];

static IdTable *table;
static uint32_t n_stacks;          /* ids 1..n_stacks are published */
static pthread_mutex_t insert_lock = PTHREAD_MUTEX_INITIALIZER;

/* bump arena for entries */
static uint8_t *arena_cur, *arena_end;

/* Stack table memory holds return addresses, never a program's pointers:
 * the collector need not scan it (it can grow to hundreds of MB). */

static IdTable *
table_new (uint64_t capacity)
{
  IdTable *t = hm_agent_map (sizeof *t + capacity * sizeof (uint32_t));
  if (t != NULL)
    t->mask = capacity - 1;
  return t;
}

void
hm_stack_table_init (void)
{
  if (table == NULL)
    __atomic_store_n (&table, table_new (1u << 14), __ATOMIC_RELEASE);
  unw_set_caching_policy (unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

void
hm_stack_table_lock (void)
{
  pthread_mutex_lock (&insert_lock);
}

void
hm_stack_table_unlock (void)
{
  pthread_mutex_unlock (&insert_lock);
}

uint32_t
hm_stack_count (void)
{
  return __atomic_load_n (&n_stacks, __ATOMIC_ACQUIRE);
}

const HmStackEntry *
hm_stack_get (uint32_t id)
{
  HmStackEntry **page = __atomic_load_n (&directory[id >> PAGE_BITS], __ATOMIC_ACQUIRE);
  if (page == NULL)
    return NULL;
  return __atomic_load_n (&page[id & ((1u << PAGE_BITS) - 1)], __ATOMIC_ACQUIRE);
}

static inline uint64_t
hash_ips (void *const *ips, int depth)
{
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t) depth;
  for (int i = 0; i < depth; i++)
    {
      h ^= (uint64_t) (uintptr_t) ips[i];
      h *= 0xff51afd7ed558ccdull;
      h ^= h >> 32;
    }
  return h;
}

static inline bool
entry_matches (const HmStackEntry *e, uint64_t hash, void *const *ips, int depth)
{
  return e->hash == hash && e->depth == (uint32_t) depth
         && memcmp (e->ips, ips, (size_t) depth * sizeof (uintptr_t)) == 0;
}

static uint32_t
lookup (IdTable *t, uint64_t hash, void *const *ips, int depth)
{
  for (uint64_t i = hash & t->mask;; i = (i + 1) & t->mask)
    {
      uint32_t id = __atomic_load_n (&t->slots[i], __ATOMIC_ACQUIRE);
      if (id == 0)
        return 0;
      const HmStackEntry *e = hm_stack_get (id);
      if (e != NULL && entry_matches (e, hash, ips, depth))
        return id;
    }
}

static void
table_put (IdTable *t, uint64_t hash, uint32_t id)
{
  for (uint64_t i = hash & t->mask;; i = (i + 1) & t->mask)
    if (t->slots[i] == 0)
      {
        __atomic_store_n (&t->slots[i], id, __ATOMIC_RELEASE);
        return;
      }
}

static HmStackEntry *
arena_alloc (size_t bytes)
{
  bytes = (bytes + 15) & ~(size_t) 15;
  if (arena_cur == NULL || (size_t) (arena_end - arena_cur) < bytes)
    {
      size_t size = 1u << 20;
      arena_cur = hm_agent_map (size);
      if (arena_cur == NULL)
        return NULL;
      arena_end = arena_cur + size;
    }
  HmStackEntry *e = (HmStackEntry *) arena_cur;
  arena_cur += bytes;
  return e;
}

static uint32_t
insert (uint64_t hash, void *const *ips, int depth)
{
  uint32_t id;

  pthread_mutex_lock (&insert_lock);
  IdTable *t = table;
  id = lookup (t, hash, ips, depth);
  if (id != 0)
    goto out;

  id = n_stacks + 1;
  if ((id >> PAGE_BITS) >= (1u << DIR_BITS))
    {
      id = 0;   /* 268M distinct stacks: stop interning, events say "unknown" */
      goto out;
    }
  HmStackEntry *e = arena_alloc (sizeof *e + (size_t) depth * sizeof (uintptr_t));
  if (e == NULL)
    {
      id = 0;
      goto out;
    }
  e->depth = (uint32_t) depth;
  e->hash = hash;
  memcpy (e->ips, ips, (size_t) depth * sizeof (uintptr_t));

  HmStackEntry **page = directory[id >> PAGE_BITS];
  if (page == NULL)
    {
      page = hm_agent_map (sizeof (HmStackEntry *) << PAGE_BITS);
      if (page == NULL)
        {
          id = 0;
          goto out;
        }
      __atomic_store_n (&directory[id >> PAGE_BITS], page, __ATOMIC_RELEASE);
    }
  __atomic_store_n (&page[id & ((1u << PAGE_BITS) - 1)], e, __ATOMIC_RELEASE);

  if ((uint64_t) id * 2 > t->mask)
    {
      IdTable *bigger = table_new ((t->mask + 1) * 4);
      if (bigger != NULL)
        {
          for (uint32_t i = 1; i < id; i++)
            table_put (bigger, hm_stack_get (i)->hash, i);
          __atomic_store_n (&table, bigger, __ATOMIC_RELEASE);
          t = bigger;
        }
    }
  table_put (t, hash, id);
  __atomic_store_n (&n_stacks, id, __ATOMIC_RELEASE);

out:
  pthread_mutex_unlock (&insert_lock);
  return id;
}

/* --- the per-thread cache in front of the unwinder ----------------------------
 *
 * Unwinding is most of the hot path's cost, and a loop calls malloc from the
 * same stack again and again.  For each stack unwound we remember where on
 * the thread's stack each return address was stored.  Next time, if the
 * innermost return address sits at the same place, the stack is the same
 * exactly when every remembered slot still holds its return address — a
 * frame's slot is determined by the frames below it, so by induction the
 * check is exact.  Only slots inside the thread's own stack are used, so the
 * reads never leave mapped memory (coroutine and signal stacks just unwind).
 */

#define CACHE_ENTRIES 256

typedef struct {
  uintptr_t slot0;            /* where the innermost return address is stored */
  uintptr_t ip0;
  uint32_t stack;             /* 0: empty */
  uint32_t depth;
  uintptr_t slots[MAX_DEPTH];
} CacheEntry;

typedef struct {
  uintptr_t stack_lo, stack_hi;
  CacheEntry entries[CACHE_ENTRIES];
} StackCache;

static __thread StackCache *cache HM_TLS;
static __thread int cache_failed HM_TLS;

static StackCache *
cache_get (void)
{
  pthread_attr_t attr;
  void *addr;
  size_t size;

  if (HM_LIKELY (cache != NULL) || cache_failed)
    return cache;
  cache_failed = 1;
  /* glibc reads /proc/self/maps for the main thread: guarded by our callers */
  if (pthread_getattr_np (pthread_self (), &attr) != 0)
    return NULL;
  int ok = pthread_attr_getstack (&attr, &addr, &size) == 0;
  pthread_attr_destroy (&attr);
  if (!ok)
    return NULL;
  StackCache *c = hm_agent_map (sizeof *c);
  if (c == NULL)
    return NULL;
  c->stack_lo = (uintptr_t) addr;
  c->stack_hi = (uintptr_t) addr + size;
  cache = c;
  cache_failed = 0;
  return c;
}

static inline bool
in_agent (uintptr_t ip)
{
  return (ip >= hm_agent.self_start && ip < hm_agent.self_end)
         || (ip >= hm_agent.unwinder_start && ip < hm_agent.unwinder_end);
}

static inline size_t
cache_index (uintptr_t slot0, uintptr_t ip0)
{
  uint64_t h = (slot0 >> 3) * 0x9e3779b97f4a7c15ull ^ ip0;
  h ^= h >> 29;
  return (size_t) (h * 0xff51afd7ed558ccdull >> 56) & (CACHE_ENTRIES - 1);
}

/* Full unwind: ips and the stack slots that hold them. */
static int
unwind (uintptr_t *ips, uintptr_t *slots)
{
  unw_context_t context;
  unw_cursor_t cursor;
  int depth = 0;

  if (unw_getcontext (&context) != 0 || unw_init_local (&cursor, &context) != 0)
    return 0;
  while (depth < hm_agent.stack_depth && unw_step (&cursor) > 0)
    {
      unw_word_t ip, sp;
      if (unw_get_reg (&cursor, UNW_REG_IP, &ip) != 0 || ip == 0)
        break;
      if (depth == 0 && in_agent (ip))
        continue;
      unw_get_reg (&cursor, UNW_REG_SP, &sp);
      ips[depth] = ip;
      /* the return address into this frame was pushed just below its SP */
      slots[depth] = sp - sizeof (uintptr_t);
      depth++;
    }
  return depth;
}

/* Unwinds the caller's stack, leaving out the agent's own frames, and
 * returns its id (0 when it cannot be had).  The agent is built with frame
 * pointers, so its own frames are walked by hand to find the innermost user
 * return address and its slot. */
uint32_t
hm_stack_capture (void)
{
  uintptr_t ips[MAX_DEPTH], slots[MAX_DEPTH];
  uintptr_t *fp = __builtin_frame_address (0);
  uintptr_t slot0 = 0, ip0 = 0;
  StackCache *c;
  CacheEntry *entry = NULL;

  /* nothing asked for stacks when the agent started (no tracing, no
   * analysis): set the table up now */
  if (HM_UNLIKELY (__atomic_load_n (&table, __ATOMIC_ACQUIRE) == NULL))
    {
      pthread_mutex_lock (&insert_lock);
      if (table == NULL)
        __atomic_store_n (&table, table_new (1u << 14), __ATOMIC_RELEASE);
      pthread_mutex_unlock (&insert_lock);
      if (table == NULL)
        return 0;
    }
  c = cache_get ();

  for (int i = 0; i < 8 && fp != NULL; i++)
    {
      uintptr_t ret = fp[1];
      if (!in_agent (ret))
        {
          slot0 = (uintptr_t) &fp[1];
          ip0 = ret;
          break;
        }
      fp = (uintptr_t *) fp[0];
    }

  if (c != NULL && slot0 >= c->stack_lo && slot0 < c->stack_hi)
    {
      entry = &c->entries[cache_index (slot0, ip0)];
      if (entry->stack != 0 && entry->slot0 == slot0 && entry->ip0 == ip0)
        {
          const HmStackEntry *e = hm_stack_get (entry->stack);
          uint32_t i = 1;
          while (i < entry->depth && *(const uintptr_t *) entry->slots[i] == e->ips[i])
            i++;
          if (i == entry->depth)
            return entry->stack;
        }
    }

  int depth = unwind (ips, slots);
  if (depth <= 0)
    return 0;
  uint64_t hash = hash_ips ((void *const *) ips, depth);
  uint32_t id = lookup (__atomic_load_n (&table, __ATOMIC_ACQUIRE), hash, (void *const *) ips, depth);
  if (id == 0)
    id = insert (hash, (void *const *) ips, depth);

  /* Remember it when every slot checks out and lies in this thread's stack. */
  if (id != 0 && entry != NULL && slots[0] == slot0 && ips[0] == ip0)
    {
      int ok = 1;
      for (int i = 0; i < depth && ok; i++)
        ok = slots[i] >= slot0 && slots[i] < c->stack_hi
             && *(const uintptr_t *) slots[i] == ips[i];
      if (ok)
        {
          entry->stack = 0;
          entry->slot0 = slot0;
          entry->ip0 = ip0;
          entry->depth = (uint32_t) depth;
          memcpy (entry->slots, slots, (size_t) depth * sizeof (uintptr_t));
          entry->stack = id;
        }
    }
  return id;
}

/* The stack of the code a signal interrupted, from the handler's context
 * (hm-client-requests.c's trap): no unwinding through the handler and the
 * signal frame.  The first frame is the interrupted pc. */
uint32_t
hm_stack_capture_context (void *context)
{
  uintptr_t ips[MAX_DEPTH];
  unw_cursor_t cursor;
  int depth = 0;

  if (__atomic_load_n (&table, __ATOMIC_ACQUIRE) == NULL)
    return hm_stack_capture ();
  if (unw_init_local2 (&cursor, (unw_context_t *) context, UNW_INIT_SIGNAL_FRAME) != 0)
    return 0;
  do
    {
      unw_word_t ip;
      if (unw_get_reg (&cursor, UNW_REG_IP, &ip) != 0 || ip == 0)
        break;
      ips[depth++] = ip;
    }
  while (depth < hm_agent.stack_depth && depth < MAX_DEPTH && unw_step (&cursor) > 0);
  if (depth == 0)
    return 0;
  uint64_t hash = hash_ips ((void *const *) ips, depth);
  uint32_t id = lookup (__atomic_load_n (&table, __ATOMIC_ACQUIRE), hash, (void *const *) ips, depth);
  if (id == 0)
    id = insert (hash, (void *const *) ips, depth);
  return id;
}
