/* hm-flight.c — the flight recorder's memory: the last S seconds of trace
 * chunks in a bounded byte ring, the live set at the ring's start, and the
 * stack dictionary every dump needs.
 *
 * The program's threads do nothing new: their events reach the writer as
 * always (hm-writer.c), which, in flight mode, stores its chunks here instead
 * of writing them.  A chunk that falls out of the window (older than S
 * seconds, or pushed out by the byte bound) is decoded once and applied to
 * the live tables, so they always hold exactly the blocks, regions, pools
 * and pool objects that were live when the oldest stored chunk begins.  A
 * dump is then the tables as synthesized events at that instant plus the
 * stored chunks (see trace-format.md).
 *
 * Everything here runs on the writer thread, or from a fatal signal's
 * handler with the writer's lock held (which only reads): no lock of its
 * own, no malloc; memory is mapped and registered with the collector as
 * holding no program pointers.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hm-flight-private.h"
#include "hm-gc-private.h"
#include "hm-thread-events.h"
#include "hm-trace-writer.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- the live tables: one 32-byte entry per block live at the window start --- */

typedef struct {
  uint64_t addr;
  uint64_t size;             /* in the pool objects' table: the pool's id */
  uint64_t ticks;            /* its allocation; matches frees to blocks when an
                              * address is reused by another thread (below) */
  uint32_t stack;
  uint8_t fn;                /* HmAllocFn, kept for the synthesized event */
  uint8_t used;
  uint16_t pad;
} LiveBlock;
_Static_assert (sizeof (LiveBlock) == 32, "live blocks stay compact");

/* An open-addressing table keyed by address, linear probing. */
typedef struct {
  LiveBlock *slots;
  uint64_t mask;             /* capacity - 1; 0 without slots */
  uint64_t n_live, live_bytes;
  uint64_t n_lost;           /* entries the table could not take (no memory) */
} LiveTable;

static LiveTable blocks;             /* the malloc family, hm_alloc, the collector's objects */
static LiveTable pool_objects;       /* objects out of the manager's pools: addr -> pool */

/* The regions and pools live at the window's start (hm-region.c,
 * hm-pool.c), keyed by kind and id.  A region keeps what it holds since its
 * last reset as a count and a sum (a dump writes it as one REGION_LIVE), a
 * pool how many objects are out (their addresses are in pool_objects: a
 * return in the window must find its get). */
typedef struct {
  uint64_t id;
  uint64_t n;                /* region: allocations since its last reset; pool: objects out */
  uint64_t bytes;            /* region: their bytes; pool: the object size */
  uint64_t capacity;         /* pool */
  uint32_t stack;            /* where it was created */
  uint8_t kind;              /* OBJ_REGION, OBJ_POOL; 0: a free slot */
  uint8_t pad[3];
} LiveObject;
_Static_assert (sizeof (LiveObject) == 40, "live objects stay compact");

enum { OBJ_REGION = 1, OBJ_POOL = 2 };

static LiveObject *objects;
static uint64_t objects_mask, n_objects, n_objects_lost;

/* --- the window: a byte ring of records, each a whole trace chunk --------- */

typedef struct {
  uint32_t bytes;            /* the record, header included, a multiple of 8; 0 = wrap */
  uint32_t kind;             /* HmFlightChunk */
  uint32_t chunk_bytes;      /* the chunk: its header and payload */
  uint32_t pad;
  uint64_t round_cut;        /* the writer's round that stored it */
} RecordHeader;
#define RECORD_HEADER ((uint64_t) sizeof (RecordHeader))

static uint8_t *ring;
static uint64_t ring_cap;            /* a multiple of 8 */
static uint64_t ring_head, ring_tail;  /* byte counters; position = counter % ring_cap */
static uint64_t window_start_tsc;    /* the cut of the newest round evicted */
static uint64_t n_window_chunks;
static uint64_t ring_high_water;     /* most bytes the ring ever held */

/* --- the dictionary: modules, the stack tree, object names; never evicted -- */

static uint8_t *dict;
static uint64_t dict_cap, dict_len;

static HmFlightConfig config;
static uint64_t latest_clock_tsc, latest_clock_ns;

/* --- the tables --------------------------------------------------------------- */

static inline uint64_t
hash_of (uint64_t key)
{
  uint64_t h = key * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}

static int
table_grow (LiveTable *t)
{
  uint64_t old_cap = t->slots != NULL ? t->mask + 1 : 0;
  uint64_t cap = old_cap ? old_cap * 2 : 4096;
  LiveBlock *slots = hm_agent_map (cap * sizeof *slots), *old = t->slots;
  if (slots == NULL)
    return 0;
  t->slots = slots;
  t->mask = cap - 1;
  for (uint64_t i = 0; i < old_cap; i++)
    if (old[i].used)
      {
        uint64_t j = hash_of (old[i].addr) & t->mask;
        while (slots[j].used)
          j = (j + 1) & t->mask;
        slots[j] = old[i];
      }
  if (old != NULL)
    hm_agent_unmap (old, old_cap * sizeof *old);
  return 1;
}

static void
table_insert (LiveTable *t, uint64_t addr, uint64_t size, uint64_t ticks, uint32_t stack,
              uint8_t fn)
{
  if ((t->slots == NULL || (t->n_live + 1) * 4 > (t->mask + 1) * 3) && !table_grow (t))
    {
      t->n_lost++;
      return;
    }
  uint64_t j = hash_of (addr) & t->mask;
  while (t->slots[j].used)
    j = (j + 1) & t->mask;
  t->slots[j] = (LiveBlock) { addr, size, ticks, stack, fn, 1, 0 };
  t->n_live++;
  t->live_bytes += size;
}

/* Removes slot i, shifting back the entries after it that probed past it
 * (linear probing's deletion without tombstones). */
static void
table_delete_slot (LiveTable *t, uint64_t i)
{
  LiveBlock *slots = t->slots;
  t->n_live--;
  t->live_bytes -= slots[i].size;
  for (uint64_t j = (i + 1) & t->mask; slots[j].used; j = (j + 1) & t->mask)
    {
      uint64_t k = hash_of (slots[j].addr) & t->mask;
      /* stays if its home k lies cyclically in (i, j] */
      if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
        continue;
      slots[i] = slots[j];
      i = j;
    }
  slots[i].used = 0;
}

/* The entry a free of addr at ticks ends, or UINT64_MAX.  The address may
 * be in the table twice when a thread freed it and another got it back in
 * between two rounds, the new allocation stored first: the free belongs to
 * the newest block allocated before it (as core/hm-heap-model.c matches
 * them).  One block at the address is that block whatever the times say
 * (the counters of two cores may disagree by a little). */
static uint64_t
table_find (const LiveTable *t, uint64_t addr, uint64_t ticks)
{
  if (t->slots == NULL)
    return UINT64_MAX;
  uint64_t best = UINT64_MAX, oldest = UINT64_MAX;
  const LiveBlock *slots = t->slots;
  for (uint64_t j = hash_of (addr) & t->mask; slots[j].used; j = (j + 1) & t->mask)
    if (slots[j].addr == addr)
      {
        if (slots[j].ticks <= ticks && (best == UINT64_MAX || slots[j].ticks > slots[best].ticks))
          best = j;
        if (oldest == UINT64_MAX || slots[j].ticks < slots[oldest].ticks)
          oldest = j;
      }
  return best != UINT64_MAX ? best : oldest;
}

static void
table_remove (LiveTable *t, uint64_t addr, uint64_t ticks)
{
  uint64_t i = table_find (t, addr, ticks);
  if (i != UINT64_MAX)
    table_delete_slot (t, i);      /* else: allocated before the recording began */
}

/* Every entry whose size field is owner goes (a pool's objects when the
 * pool is freed).  A deletion shifts a later entry back into slot i, so i
 * is looked at again. */
static void
table_remove_owned (LiveTable *t, uint64_t owner)
{
  for (uint64_t i = 0; t->slots != NULL && i <= t->mask;)
    if (t->slots[i].used && t->slots[i].size == owner)
      table_delete_slot (t, i);
    else
      i++;
}

static uint64_t
object_slot (uint8_t kind, uint64_t id)
{
  return hash_of (id * 2 + kind) & objects_mask;
}

static int
objects_grow (void)
{
  uint64_t old_cap = objects != NULL ? objects_mask + 1 : 0;
  uint64_t cap = old_cap ? old_cap * 2 : 256;
  LiveObject *o = hm_agent_map (cap * sizeof *o), *old = objects;
  if (o == NULL)
    return 0;
  objects = o;
  objects_mask = cap - 1;
  for (uint64_t i = 0; i < old_cap; i++)
    if (old[i].kind != 0)
      {
        uint64_t j = object_slot (old[i].kind, old[i].id);
        while (objects[j].kind != 0)
          j = (j + 1) & objects_mask;
        objects[j] = old[i];
      }
  if (old != NULL)
    hm_agent_unmap (old, old_cap * sizeof *old);
  return 1;
}

/* The live region or pool kind/id; with create, a new entry when there is
 * none (one whose creation the recording missed).  NULL without memory. */
static LiveObject *
object_get (uint8_t kind, uint64_t id, int create)
{
  if (objects != NULL)
    for (uint64_t j = object_slot (kind, id); objects[j].kind != 0; j = (j + 1) & objects_mask)
      if (objects[j].kind == kind && objects[j].id == id)
        return &objects[j];
  if (!create)
    return NULL;
  if ((objects == NULL || (n_objects + 1) * 4 > (objects_mask + 1) * 3) && !objects_grow ())
    {
      n_objects_lost++;
      return NULL;
    }
  uint64_t j = object_slot (kind, id);
  while (objects[j].kind != 0)
    j = (j + 1) & objects_mask;
  objects[j] = (LiveObject) { .id = id, .kind = kind };
  n_objects++;
  return &objects[j];
}

static void
object_delete (LiveObject *o)
{
  uint64_t i = (uint64_t) (o - objects);
  n_objects--;
  for (uint64_t j = (i + 1) & objects_mask; objects[j].kind != 0; j = (j + 1) & objects_mask)
    {
      uint64_t k = object_slot (objects[j].kind, objects[j].id);
      if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
        continue;
      objects[i] = objects[j];
      i = j;
    }
  objects[i].kind = 0;
}

/* The manager's events: its regions and pools as they stand. */
static void
apply_object_event (const HmThreadEvent *e)
{
  LiveObject *o;
  switch (e->kind)
    {
    case HM_EV_REGION_CREATE:
      if ((o = object_get (OBJ_REGION, e->id, 1)) != NULL)
        o->stack = (uint32_t) e->stack;
      break;
    case HM_EV_REGION_ALLOC:
      if ((o = object_get (OBJ_REGION, e->id, 1)) != NULL)
        {
          o->n++;
          o->bytes += e->size;
        }
      break;
    case HM_EV_REGION_RESET:
      if ((o = object_get (OBJ_REGION, e->id, 0)) != NULL)
        o->n = o->bytes = 0;
      break;
    case HM_EV_REGION_FREE:
      if ((o = object_get (OBJ_REGION, e->id, 0)) != NULL)
        object_delete (o);
      break;
    case HM_EV_POOL_CREATE:
      if ((o = object_get (OBJ_POOL, e->id, 1)) != NULL)
        {
          o->bytes = e->size;
          o->capacity = e->a;
          o->stack = (uint32_t) e->stack;
        }
      break;
    case HM_EV_POOL_GET:
      if ((o = object_get (OBJ_POOL, e->id, 1)) != NULL)
        {
          uint64_t lost = pool_objects.n_lost;
          table_insert (&pool_objects, e->addr, e->id, e->ticks, 0, 0);
          if (pool_objects.n_lost == lost)
            o->n++;
        }
      break;
    case HM_EV_POOL_RETURN:
      {
        /* only an object out of this pool, as the model counts one: a
         * return to the wrong pool is a warning, not a return */
        uint64_t i = table_find (&pool_objects, e->addr, e->ticks);
        o = object_get (OBJ_POOL, e->id, 0);
        if (i != UINT64_MAX && pool_objects.slots[i].size == e->id && o != NULL)
          {
            table_delete_slot (&pool_objects, i);
            o->n--;
          }
      }
      break;
    case HM_EV_POOL_FREE:
      if ((o = object_get (OBJ_POOL, e->id, 0)) != NULL)
        {
          if (o->n > 0)
            table_remove_owned (&pool_objects, e->id);
          object_delete (o);
        }
      break;
    default:
      break;
    }
}

/* Applies one thread chunk (header and payload) to the tables. */
static void
apply_chunk (const uint8_t *chunk, uint32_t chunk_bytes)
{
  uint64_t ticks = hm_get_le64 (chunk + 16), addr = hm_get_le64 (chunk + 24);
  const uint8_t *p = chunk + HM_TRACE_CHUNK_HEADER_SIZE, *end = chunk + chunk_bytes;
  HmThreadEvent e;

  while (p < end)
    {
      HmDecodeResult r = hm_thread_event_decode (&p, end, &ticks, &addr, &e);
      if (r == HM_DECODE_BAD)
        break;               /* cannot happen: the agent encoded it */
      if (r != HM_DECODE_EVENT)
        continue;
      switch (e.kind)
        {
        case HM_EV_ALLOC:
          table_insert (&blocks, e.addr, e.size, e.ticks, (uint32_t) e.stack, e.fn);
          break;
        case HM_EV_FREE:
          table_remove (&blocks, e.addr, e.ticks);
          break;
        case HM_EV_REALLOC:
          table_remove (&blocks, e.old_addr, e.ticks);
          table_insert (&blocks, e.addr, e.size, e.ticks, (uint32_t) e.stack, HM_FN_REALLOC);
          break;
        default:
          apply_object_event (&e);
          break;
        }
    }
}

/* --- the window --------------------------------------------------------------- */

static RecordHeader *
record_at (uint64_t counter)
{
  return (RecordHeader *) (ring + counter % ring_cap);
}

/* Drops the oldest record, applying it to the table first.  Returns the
 * round it belonged to. */
static uint64_t
evict_one (void)
{
  uint64_t pos = ring_tail % ring_cap;
  if (ring_cap - pos < RECORD_HEADER || record_at (ring_tail)->bytes == 0)
    {
      ring_tail += ring_cap - pos;        /* the wrap at the end of the ring */
      return 0;
    }
  RecordHeader *h = record_at (ring_tail);
  if (h->kind == HM_FLIGHT_THREAD_CHUNK)
    {
      apply_chunk ((const uint8_t *) (h + 1), h->chunk_bytes);
      n_window_chunks--;
    }
  if (h->round_cut > window_start_tsc)
    window_start_tsc = h->round_cut;
  ring_tail += h->bytes;
  return h->round_cut;
}

/* The oldest record's round, or 0 when the ring is empty (skipping a wrap). */
static int
oldest_round (uint64_t *cut)
{
  while (ring_tail < ring_head)
    {
      uint64_t pos = ring_tail % ring_cap;
      if (ring_cap - pos < RECORD_HEADER || record_at (ring_tail)->bytes == 0)
        {
          ring_tail += ring_cap - pos;
          continue;
        }
      *cut = record_at (ring_tail)->round_cut;
      return 1;
    }
  return 0;
}

/* Evicts whole rounds until bytes fit. */
static void
make_room (uint64_t bytes)
{
  while (ring_head + bytes - ring_tail > ring_cap && ring_tail < ring_head)
    {
      uint64_t round = evict_one (), next;
      /* the rest of that round too: a round is in the window whole or not */
      while (round != 0 && oldest_round (&next) && next == round)
        evict_one ();
    }
}

void
hm_flight_store (HmFlightChunk kind, uint64_t round_cut, const uint8_t *header,
                 const uint8_t *payload, uint32_t payload_bytes)
{
  uint32_t chunk_bytes = HM_TRACE_CHUNK_HEADER_SIZE + payload_bytes;
  uint64_t need = (RECORD_HEADER + chunk_bytes + 7) & ~(uint64_t) 7;

  if (ring == NULL)
    return;
  if (need > ring_cap / 4)
    {
      /* cannot be kept (a tiny bound): its events go to the table now, so
       * the live set stays exact and only the window is shorter */
      make_room (ring_cap);
      if (kind == HM_FLIGHT_THREAD_CHUNK)
        {
          static uint8_t scratch[HM_TRACE_CHUNK_HEADER_SIZE + 64 * 1024];
          if (chunk_bytes <= sizeof scratch)
            {
              memcpy (scratch, header, HM_TRACE_CHUNK_HEADER_SIZE);
              memcpy (scratch + HM_TRACE_CHUNK_HEADER_SIZE, payload, payload_bytes);
              apply_chunk (scratch, chunk_bytes);
            }
        }
      if (round_cut > window_start_tsc)
        window_start_tsc = round_cut;
      return;
    }
  uint64_t pos = ring_head % ring_cap;
  if (ring_cap - pos < need)
    {
      /* does not fit before the end: mark the rest as a wrap, start over */
      uint64_t waste = ring_cap - pos;
      make_room (waste + need);
      if (waste >= RECORD_HEADER)
        record_at (ring_head)->bytes = 0;
      ring_head += waste;
    }
  make_room (need);
  RecordHeader *h = record_at (ring_head);
  h->bytes = (uint32_t) need;
  h->kind = kind;
  h->chunk_bytes = chunk_bytes;
  h->pad = 0;
  h->round_cut = round_cut;
  memcpy (h + 1, header, HM_TRACE_CHUNK_HEADER_SIZE);
  memcpy ((uint8_t *) (h + 1) + HM_TRACE_CHUNK_HEADER_SIZE, payload, payload_bytes);
  ring_head += need;
  if (kind == HM_FLIGHT_THREAD_CHUNK)
    n_window_chunks++;
  if (ring_head - ring_tail > ring_high_water)
    ring_high_water = ring_head - ring_tail;
}

void
hm_flight_note_round (uint64_t cut, uint64_t ns_since_start)
{
  uint64_t oldest;

  latest_clock_tsc = cut;
  latest_clock_ns = ns_since_start;
  if (ring == NULL || ns_since_start <= config.window_ns)
    return;
  /* the tick S seconds ago, from the agent's own clock line */
  double rate = (double) (cut - hm_agent.start_tsc) / (double) ns_since_start;
  uint64_t limit = cut - (uint64_t) ((double) config.window_ns * rate);
  while (oldest_round (&oldest) && oldest < limit)
    evict_one ();
}

/* --- the dictionary ------------------------------------------------------------ */

void
hm_flight_dict_append (const uint8_t *chunk, size_t bytes)
{
  if (dict_len + bytes > dict_cap)
    {
      uint64_t cap = dict_cap ? dict_cap : 64 * 1024;
      while (cap < dict_len + bytes)
        cap *= 2;
      uint8_t *d = hm_agent_map (cap);
      if (d == NULL)
        return;                /* the stacks after this one stay unnamed */
      if (dict != NULL)
        {
          memcpy (d, dict, dict_len);
          hm_agent_unmap (dict, dict_cap);
        }
      dict = d;
      dict_cap = cap;
    }
  memcpy (dict + dict_len, chunk, bytes);
  dict_len += bytes;
}

/* --- what a dump reads ---------------------------------------------------------- */

int
hm_flight_start (const HmFlightConfig *c)
{
  config = *c;
  ring_cap = config.window_bytes & ~(uint64_t) 7;
  ring = mmap (NULL, ring_cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS
               | MAP_NORESERVE, -1, 0);
  if (ring == MAP_FAILED)
    {
      ring = NULL;
      return -1;
    }
  hm_gc_register_agent_memory (ring, ring_cap);
  window_start_tsc = hm_agent.start_tsc;
  return 0;
}

const HmFlightConfig *
hm_flight_config (void)
{
  return &config;
}

uint64_t
hm_flight_window_start (void)
{
  return window_start_tsc;
}

void
hm_flight_latest_clock (uint64_t *tsc, uint64_t *ns)
{
  *tsc = latest_clock_tsc;
  *ns = latest_clock_ns;
}

void
hm_flight_dict (const uint8_t **bytes, size_t *len)
{
  *bytes = dict;
  *len = dict_len;
}

void
hm_flight_each_live (void (*fn) (uint64_t addr, uint64_t size, uint32_t stack, uint8_t fn_kind,
                                 void *data), void *data)
{
  for (uint64_t i = 0; blocks.slots != NULL && i <= blocks.mask; i++)
    if (blocks.slots[i].used)
      fn (blocks.slots[i].addr, blocks.slots[i].size, blocks.slots[i].stack,
          blocks.slots[i].fn, data);
}

void
hm_flight_each_object (const HmFlightObjectFns *fns, void *data)
{
  for (uint64_t i = 0; objects != NULL && i <= objects_mask; i++)
    if (objects[i].kind == OBJ_REGION)
      fns->region (objects[i].id, objects[i].stack, objects[i].n, objects[i].bytes, data);
    else if (objects[i].kind == OBJ_POOL)
      fns->pool (objects[i].id, objects[i].stack, objects[i].bytes, objects[i].capacity, data);
  /* the objects out after every pool: a get follows its pool's creation */
  for (uint64_t i = 0; pool_objects.slots != NULL && i <= pool_objects.mask; i++)
    if (pool_objects.slots[i].used)
      fns->pool_object (pool_objects.slots[i].size, pool_objects.slots[i].addr, data);
}

void
hm_flight_each_chunk (void (*fn) (const uint8_t *chunk, uint32_t bytes, void *data), void *data)
{
  uint64_t at = ring_tail;
  while (ring != NULL && at < ring_head)
    {
      uint64_t pos = at % ring_cap;
      if (ring_cap - pos < RECORD_HEADER || record_at (at)->bytes == 0)
        {
          at += ring_cap - pos;
          continue;
        }
      RecordHeader *h = record_at (at);
      fn ((const uint8_t *) (h + 1), h->chunk_bytes, data);
      at += h->bytes;
    }
}

void
hm_flight_get_stats (HmFlightStats *s)
{
  memset (s, 0, sizeof *s);
  s->window_ns = config.window_ns;
  s->window_cap_bytes = ring_cap;
  s->window_used_bytes = ring_head - ring_tail;
  s->window_high_water_bytes = ring_high_water;
  s->window_chunks = n_window_chunks;
  s->n_live = blocks.n_live;
  s->live_bytes = blocks.live_bytes;
  s->table_bytes = (blocks.slots != NULL ? (blocks.mask + 1) * sizeof (LiveBlock) : 0)
                   + (pool_objects.slots != NULL ? (pool_objects.mask + 1) * sizeof (LiveBlock) : 0)
                   + (objects != NULL ? (objects_mask + 1) * sizeof (LiveObject) : 0);
  s->table_lost = blocks.n_lost + pool_objects.n_lost + n_objects_lost;
  s->n_regions = s->n_pools = 0;
  for (uint64_t i = 0; objects != NULL && i <= objects_mask; i++)
    {
      s->n_regions += objects[i].kind == OBJ_REGION;
      s->n_pools += objects[i].kind == OBJ_POOL;
    }
  s->n_pool_objects = pool_objects.n_live;
  s->dict_bytes = dict_cap;
  uint64_t n_threads = 0;
  for (HmThread *t = hm_thread_list (); t != NULL; t = t->next)
    n_threads++;
  s->ring_bytes = n_threads * sizeof (HmThread);
  if (latest_clock_tsc > window_start_tsc && latest_clock_tsc > hm_agent.start_tsc
      && latest_clock_ns > 0)
    {
      double rate = (double) latest_clock_ns / (double) (latest_clock_tsc - hm_agent.start_tsc);
      s->window_span_ns = (uint64_t) ((double) (latest_clock_tsc - window_start_tsc) * rate);
    }
}
