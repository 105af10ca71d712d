/* hm-lifetime-scan.c — lifetime analysis by reachability: leaks and dangling
 * pointers, at exit and on demand (hm_analyze).
 *
 * The world is stopped the way a collection stops it (hm_gc_scan_world), and
 * the same roots are scanned — every thread's stack and registers, TLS, the
 * writable segments of loaded objects, anonymous mappings (region chunks,
 * pool slabs, the program's own mmaps) — but not malloc's heap wholesale:
 * the lifetime table's blocks, sorted by address, are scanned one by one
 * when a scanned word points into them (interior pointers included), and so
 * are the GC objects reachable that way.  What stays unmarked is lost.
 *
 * Which lost blocks are reported follows valgrind memcheck's "definitely
 * lost": a lost block that another lost block points to is only "indirectly
 * lost" and is not reported on its own; the memory it holds is the fault of
 * the block that leads to it.  A cycle of lost blocks has no such block: as
 * memcheck does, the lowest-addressed block of the cycle leads it (one
 * warning per cycle).  LeakSanitizer reports the indirect blocks as well
 * ("indirect leak"); memcheck's numbers are the ones a test can compare
 * against, and the leader's warning is the one line a programmer needs.
 * A block is reported once: a later scan skips it (and what it leads).
 *
 * While scanning, a word in a global, on a stack or in a live block that
 * points into memory the program gave back is a dangling pointer: into a
 * freed region's chunk (kept reserved with PROT_NONE for a while by
 * hm_lifetime_retire_range, so the address is not reused), or into a pool
 * slot that was returned.  Each pointer location is reported once.  Freed
 * malloc blocks in the quarantine are not told (see scan_words).
 *
 * Nothing here allocates while the world is stopped: the work areas are
 * mapped before, and the warnings are emitted after it runs again.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hm-gc-private.h"

#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

enum {
  MARK_UNREACHED = 0,
  MARK_REACHED,
  MARK_LEADER,                 /* definitely lost: reported */
  MARK_INDIRECT,               /* lost, held by a leader's clique */
};

/* --- region memory given back, kept reserved ---------------------------------- */

#define MAX_RETIRED 4096
#define RETIRED_MAX_BYTES ((size_t) 16 << 30)   /* address space only */

typedef struct {
  uintptr_t start, end;
  uint32_t region_id;
  uint32_t free_stack;
} Retired;

static pthread_mutex_t retired_lock = PTHREAD_MUTEX_INITIALIZER;
static Retired retired[MAX_RETIRED];            /* FIFO */
static size_t retired_head, n_retired, retired_bytes;

bool
hm_lifetime_retire_range (void *start, size_t bytes, uint32_t region_id, uint32_t free_stack)
{
  pthread_mutex_lock (&retired_lock);
  while (n_retired > 0 && (n_retired == MAX_RETIRED || retired_bytes + bytes > RETIRED_MAX_BYTES))
    {
      Retired *old = &retired[(retired_head + MAX_RETIRED - n_retired) % MAX_RETIRED];
      munmap ((void *) old->start, old->end - old->start);
      retired_bytes -= old->end - old->start;
      n_retired--;
    }
  /* same addresses, no memory behind them, no access */
  void *p = mmap (start, bytes, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                  -1, 0);
  bool taken = p == start;
  if (taken)
    {
      retired[retired_head] = (Retired) { (uintptr_t) start, (uintptr_t) start + bytes, region_id,
                                          free_stack };
      retired_head = (retired_head + 1) % MAX_RETIRED;
      n_retired++;
      retired_bytes += bytes;
    }
  pthread_mutex_unlock (&retired_lock);
  return taken;
}

/* --- one scan ---------------------------------------------------------------------- */

typedef struct {
  uintptr_t start, end;
  uint32_t block;              /* index of the block scanned, or UINT32_MAX: a GC object */
} Work;

#define NO_BLOCK UINT32_MAX
#define MAX_DANGLING 256
#define MAX_REPORTED_POINTERS 4096

typedef struct {
  uintptr_t word_addr, target;
  uint32_t where;              /* HmPointerWhere */
  int32_t tid;
  uint32_t holder;             /* HM_POINTER_IN_HEAP: the block holding the word */
  uint8_t target_kind;         /* 0 malloc block, 1 region chunk, 2 pool slot */
  uint32_t target_index;       /* block or retired entry */
  uint32_t pool_id;
  size_t pool_object_size;
} Dangling;

typedef struct {
  HmScanBlock *blocks;
  size_t n_blocks, blocks_bytes;
  uintptr_t lo, hi;            /* the hull of the blocks */
  /* granule index: 1 KiB granule -> the first small block overlapping it
   * (open addressing); big blocks are found by binary search in big */
  uint64_t *granule_keys;      /* granule + 1; 0: empty */
  uint32_t *granule_blocks;
  size_t granule_mask, index_bytes;
  uint32_t *big;
  size_t n_big;
  uintptr_t big_lo, big_hi;
  Work *work;
  size_t n_work, work_cap, work_bytes;
  int overflow;
  Retired *retired;            /* a sorted copy */
  size_t n_retired;
  uintptr_t retired_lo, retired_hi;
  Dangling dangling[MAX_DANGLING];
  size_t n_dangling;
  size_t scanned_bytes;
  uint64_t sort_ns, mark_ns;
  int32_t stale_stack_tid;     /* at exit: this thread's program frames are gone */
} Scan;

static pthread_mutex_t scan_lock = PTHREAD_MUTEX_INITIALIZER;  /* one scan at a time */
static Scan scan_state;
/* pointer locations already named, so each dangling pointer is told once */
static uintptr_t reported_pointers[MAX_REPORTED_POINTERS];
static size_t n_reported_pointers;
static HmAnalysisStats last_stats;

/* LSD radix sort by start address, 16 bits a pass over the 48-bit space:
 * qsort may call malloc, which a stopped thread may hold. */
static void
sort_blocks (HmScanBlock *a, HmScanBlock *tmp, size_t n, size_t *count)
{
  for (unsigned shift = 0; shift < 48; shift += 16)
    {
      memset (count, 0, 65537 * sizeof *count);
      for (size_t i = 0; i < n; i++)
        count[((a[i].start >> shift) & 0xffff) + 1]++;
      for (size_t d = 0; d < 65536; d++)
        count[d + 1] += count[d];
      for (size_t i = 0; i < n; i++)
        tmp[count[(a[i].start >> shift) & 0xffff]++] = a[i];
      HmScanBlock *t = a;
      a = tmp;
      tmp = t;
    }
  /* three passes: the result is in tmp (the caller's a after an odd count) */
  memcpy (tmp, a, n * sizeof *a);
}

#define GRANULE_SHIFT 10
#define BIG_BLOCK ((uintptr_t) 64 << 10)

static inline size_t
granule_slot (const Scan *s, uint64_t g)
{
  return (size_t) ((g * 0x9e3779b97f4a7c15ull) >> 20) & s->granule_mask;
}

/* A binary search over the whole table costs a cache miss a level; the
 * granule index makes a lookup one probe and a few neighbours.  Built
 * before the world stops (the table is locked, so it cannot change). */
static void
build_index (Scan *s)
{
  for (size_t i = 0; i < s->n_blocks; i++)
    {
      const HmScanBlock *b = &s->blocks[i];
      if (b->end - b->start >= BIG_BLOCK)
        {
          if (s->n_big == 0 || b->start < s->big_lo)
            s->big_lo = b->start;
          if (b->end > s->big_hi)
            s->big_hi = b->end;
          s->big[s->n_big++] = (uint32_t) i;
          continue;
        }
      for (uint64_t g = b->start >> GRANULE_SHIFT; g <= (b->end - 1) >> GRANULE_SHIFT; g++)
        for (size_t k = granule_slot (s, g);; k = (k + 1) & s->granule_mask)
          {
            if (s->granule_keys[k] == g + 1)
              break;                   /* an earlier block overlaps it first */
            if (s->granule_keys[k] == 0)
              {
                s->granule_keys[k] = g + 1;
                s->granule_blocks[k] = (uint32_t) i;
                break;
              }
          }
    }
}

/* The block holding address w, or NO_BLOCK. */
static inline uint32_t
find_block (const Scan *s, uintptr_t w)
{
  if (w - s->lo >= s->hi - s->lo)
    return NO_BLOCK;
  uint64_t g = w >> GRANULE_SHIFT;
  for (size_t k = granule_slot (s, g);; k = (k + 1) & s->granule_mask)
    {
      uint64_t key = s->granule_keys[k];
      if (key == 0)
        break;
      if (key != g + 1)
        continue;
      for (size_t i = s->granule_blocks[k]; i < s->n_blocks && s->blocks[i].start <= w; i++)
        if (w < s->blocks[i].end)
          return (uint32_t) i;
      break;
    }
  if (s->n_big == 0 || w - s->big_lo >= s->big_hi - s->big_lo)
    return NO_BLOCK;
  size_t lo = 0, hi = s->n_big;
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      if (s->blocks[s->big[mid]].start <= w)
        lo = mid + 1;
      else
        hi = mid;
    }
  if (lo == 0)
    return NO_BLOCK;
  const HmScanBlock *b = &s->blocks[s->big[lo - 1]];
  return w < b->end ? s->big[lo - 1] : NO_BLOCK;
}

static inline void
push_work (Scan *s, uintptr_t start, uintptr_t end, uint32_t block)
{
  if (HM_UNLIKELY (s->n_work == s->work_cap))
    {
      s->overflow = 1;         /* a block stays marked but unscanned; see rescan */
      return;
    }
  s->work[s->n_work++] = (Work) { start, end, block };
}

static int
retired_at (const Scan *s, uintptr_t w)
{
  if (w - s->retired_lo >= s->retired_hi - s->retired_lo)
    return -1;
  for (size_t i = 0; i < s->n_retired; i++)  /* few; sorted */
    {
      if (w < s->retired[i].start)
        return -1;
      if (w < s->retired[i].end)
        return (int) i;
    }
  return -1;
}

static void
note_dangling (Scan *s, uintptr_t word_addr, uintptr_t target, uint32_t where, int32_t tid,
               uint32_t holder, uint8_t target_kind, uint32_t target_index, uint32_t pool_id,
               size_t pool_object_size)
{
  for (size_t i = 0; i < n_reported_pointers; i++)
    if (reported_pointers[i] == word_addr)
      return;
  for (size_t i = 0; i < s->n_dangling; i++)
    if (s->dangling[i].word_addr == word_addr)
      return;
  if (s->n_dangling == MAX_DANGLING)
    return;
  s->dangling[s->n_dangling++] = (Dangling) { word_addr, target, where, tid, holder,
                                              target_kind, target_index, pool_id,
                                              pool_object_size };
}

/* The words of [start, end) that point into blocks mark them; the
 * block's own range, where scanning a root, is left out (the caller). */
static void
scan_words (Scan *s, uintptr_t start, uintptr_t end, uint32_t where, int32_t tid,
            uint32_t holder)
{
  const uintptr_t *p = (const uintptr_t *) ((start + 7) & ~(uintptr_t) 7);
  const uintptr_t *stop = (const uintptr_t *) (end & ~(uintptr_t) 7);

  if ((uintptr_t) p < (uintptr_t) stop)
    s->scanned_bytes += (uintptr_t) stop - (uintptr_t) p;
  for (; p < stop; p++)
    {
      uintptr_t w = *p;
      if (w < 4096 || (w >> 47) != 0)
        continue;
      uint32_t i = find_block (s, w);
      if (i != NO_BLOCK)
        {
          HmScanBlock *b = &s->blocks[i];
          /* A freed block is not scanned, and a word pointing at it is not
           * told: C programs leave freed pointers in globals, arrays and
           * structs all the time (free (table[i]) without a NULL), so
           * memcheck and LeakSanitizer do not tell them either. */
          if (!b->freed && b->mark != MARK_REACHED)
            {
              b->mark = MARK_REACHED;
              push_work (s, b->start, b->end, i);
            }
          continue;
        }
      uintptr_t gs, ge;
      if (hm_gc_mark_object (w, &gs, &ge))
        {
          push_work (s, gs, ge, NO_BLOCK);
          continue;
        }
      if (where == 0)
        continue;              /* inside a GC object or anonymous memory: not told */
      int r = retired_at (s, w);
      if (r >= 0)
        {
          note_dangling (s, (uintptr_t) p, w, where, tid, holder, 1, (uint32_t) r, 0, 0);
          continue;
        }
      uint32_t pool_id;
      size_t object_size;
      if (hm_pool_returned_slot (w, &pool_id, &object_size))
        note_dangling (s, (uintptr_t) p, w, where, tid, holder, 2, 0, pool_id, object_size);
    }
}

static void
drain (Scan *s)
{
  while (s->n_work > 0)
    {
      Work w = s->work[--s->n_work];
      scan_words (s, w.start, w.end, w.block == NO_BLOCK ? 0 : HM_POINTER_IN_HEAP, 0, w.block);
    }
}

/* After an overflow, reached blocks may be unscanned: scan them all again
 * until nothing new is lost. */
static void
rescan (Scan *s)
{
  while (s->overflow)
    {
      s->overflow = 0;
      for (size_t i = 0; i < s->n_blocks; i++)
        if (s->blocks[i].mark == MARK_REACHED)
          {
            scan_words (s, s->blocks[i].start, s->blocks[i].end, HM_POINTER_IN_HEAP, 0,
                        (uint32_t) i);
            drain (s);
          }
    }
}

/* Sorts the copied table and indexes it: before the world stops, with
 * the table locked. */
static void
prepare_blocks (Scan *s)
{
  uint64_t t0 = hm_now_ns ();
  static size_t count[65537];
  sort_blocks (s->blocks, s->blocks + s->n_blocks, s->n_blocks, count);
  s->lo = s->n_blocks ? s->blocks[0].start : 0;
  s->hi = 0;
  for (size_t i = 0; i < s->n_blocks; i++)
    if (s->blocks[i].end > s->hi)
      s->hi = s->blocks[i].end;
  build_index (s);
  s->sort_ns = hm_now_ns () - t0;
}

static int
world_stopped (void *data)
{
  (void) data;
  return 0;
}

/* A root range: its words, minus the blocks inside it (an mmap'd malloc
 * block is in an anonymous mapping; it is scanned only if reached). */
static void
scan_root (void *data, uintptr_t start, uintptr_t end, HmRootKind kind, int32_t tid)
{
  Scan *s = data;
  uint32_t where = kind == HM_ROOT_DATA ? HM_POINTER_IN_GLOBAL
                   : kind == HM_ROOT_STACK ? HM_POINTER_ON_STACK : 0;
  /* At exit the scanning thread's stack above us is what main and its
   * callees left: it still keeps blocks alive (so would memcheck's), but
   * a word there pointing into freed memory is a dead slot, not a pointer
   * anyone holds. */
  if (kind == HM_ROOT_STACK && tid == s->stale_stack_tid)
    where = 0;
  size_t lo = 0, hi = s->n_blocks;
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      if (s->blocks[mid].end <= start)
        lo = mid + 1;
      else
        hi = mid;
    }
  uintptr_t a = start;
  for (size_t i = lo; i < s->n_blocks && s->blocks[i].start < end && a < end; i++)
    {
      const HmScanBlock *b = &s->blocks[i];
      if (b->start > a)
        scan_words (s, a, b->start, where, tid, NO_BLOCK);
      if (b->end > a)
        a = b->end;
    }
  if (a < end)
    scan_words (s, a, end, where, tid, NO_BLOCK);
  drain (s);
}

/* memcheck's cliques: every lost block not yet in a clique leads one, and
 * what it reaches among the lost joins it (a leader reached that way is
 * demoted).  Uses the work stack, unbounded by a flag per block. */
static void
find_leaders (Scan *s)
{
  for (size_t i = 0; i < s->n_blocks; i++)
    {
      HmScanBlock *leader = &s->blocks[i];
      if (leader->freed || leader->mark != MARK_UNREACHED)
        continue;
      leader->mark = MARK_LEADER;
      s->n_work = 0;
      push_work (s, leader->start, leader->end, (uint32_t) i);
      while (s->n_work > 0)
        {
          Work w = s->work[--s->n_work];
          const uintptr_t *p = (const uintptr_t *) ((w.start + 7) & ~(uintptr_t) 7);
          const uintptr_t *stop = (const uintptr_t *) (w.end & ~(uintptr_t) 7);
          for (; p < stop; p++)
            {
              uint32_t j = find_block (s, *p);
              if (j == NO_BLOCK || j == i)
                continue;
              HmScanBlock *b = &s->blocks[j];
              if (b->freed)
                continue;
              if (b->mark == MARK_UNREACHED
                  || (b->mark == MARK_LEADER && b->clique == 0 && j != i))
                {
                  int was_leader = b->mark == MARK_LEADER;
                  b->mark = MARK_INDIRECT;
                  b->clique = (uint32_t) i + 1;
                  if (!was_leader)     /* a demoted leader's clique is walked already */
                    push_work (s, b->start, b->end, j);
                }
            }
        }
      s->overflow = 0;           /* a lost push: only fewer indirect blocks */
    }
}

static void
scan_done (void *data)
{
  Scan *s = data;
  rescan (s);
  find_leaders (s);
}

/* "symbol+0x10" or "libfoo.so+0x1234" for a global's address. */
static void
describe_global (uintptr_t a, char *out, size_t size)
{
  Dl_info info;
  if (dladdr ((void *) a, &info) && info.dli_sname != NULL && info.dli_saddr != NULL)
    snprintf (out, size, "%s+0x%lx", info.dli_sname,
              (unsigned long) (a - (uintptr_t) info.dli_saddr));
  else if (dladdr ((void *) a, &info) && info.dli_fname != NULL)
    {
      const char *base = strrchr (info.dli_fname, '/');
      snprintf (out, size, "%s+0x%lx", base ? base + 1 : info.dli_fname,
                (unsigned long) (a - (uintptr_t) info.dli_fbase));
    }
  else
    snprintf (out, size, "0x%lx", (unsigned long) a);
}

static void
report_dangling (Scan *s, const Dangling *d)
{
  HmWarnLocation loc;
  uint32_t alloc_stack = 0, free_stack = 0;
  uint64_t object = 0;
  size_t size = 0;
  const char *what;
  char where_text[128];

  memset (&loc, 0, sizeof loc);
  loc.where = d->where;
  loc.word_addr = d->word_addr;
  switch (d->where)
    {
    case HM_POINTER_IN_GLOBAL:
      describe_global (d->word_addr, loc.text, sizeof loc.text);
      break;
    case HM_POINTER_ON_STACK:
      loc.tid = (uint64_t) d->tid;
      snprintf (loc.text, sizeof loc.text, "thread stack %d", (int) d->tid);
      break;
    default:
      {
        const HmScanBlock *h = &s->blocks[d->holder];
        loc.block_addr = h->start;
        loc.block_size = h->end - h->start;
        loc.block_stack = h->alloc_stack;
        snprintf (loc.text, sizeof loc.text, "heap block 0x%lx (%lu bytes)",
                  (unsigned long) h->start, (unsigned long) (h->end - h->start));
      }
      break;
    }
  switch (d->target_kind)
    {
    case 0:
      {
        const HmScanBlock *b = &s->blocks[d->target_index];
        alloc_stack = b->alloc_stack;
        free_stack = b->free_stack;
        size = b->end - b->start;
        what = "a freed malloc block";
      }
      break;
    case 1:
      free_stack = s->retired[d->target_index].free_stack;
      object = s->retired[d->target_index].region_id;
      what = "a freed region";
      break;
    default:
      object = d->pool_id;
      size = d->pool_object_size;
      what = "a returned pool object";
      break;
    }
  snprintf (where_text, sizeof where_text, "%s", loc.text);
  hm_warn_located (HM_WARNING_DANGLING_POINTER, (void *) d->target, size, object, alloc_stack,
                   free_stack, &loc, "dangling pointer to %s at %p, held in %s", what,
                   (void *) d->target, where_text);
  if (n_reported_pointers < MAX_REPORTED_POINTERS)
    reported_pointers[n_reported_pointers++] = d->word_addr;
}

/* fork: the table's handlers (hm_lifetime_start) call hm_fork_lock_all
 * (hm-agent.c), which takes scan_lock first, so the
 * forking thread waits for a running scan to end before it takes the locks
 * the scan holds.  retired_lock is not taken: a thread freeing a region
 * holds the region's lock while it waits for it, and the regions' own
 * prepare handler may run after ours.  Outside a scan it is held only
 * around one mmap, so the child starts it afresh (at worst its list lacks
 * the chunk being retired). */
void
hm_lifetime_scan_fork_lock (void)
{
  pthread_mutex_lock (&scan_lock);
}

void
hm_lifetime_scan_fork_unlock (int child)
{
  if (child)
    pthread_mutex_init (&retired_lock, NULL);
  pthread_mutex_unlock (&scan_lock);
}

static size_t
scan (int at_exit, uintptr_t self_sp)
{
  Scan *s = &scan_state;
  size_t n_leaks = 0;
  uint64_t t0 = hm_now_ns (), pause_ns = 0;
  HmRange exclude[4];

  if (!hm_lifetime_active)
    return 0;
  hm_guard++;
  pthread_mutex_lock (&scan_lock);
  memset (s, 0, offsetof (Scan, dangling));
  s->n_dangling = 0;
  s->stale_stack_tid = at_exit ? (int32_t) syscall (SYS_gettid) : -1;

  /* Locks in the order the rest of the agent takes them: retired ranges,
   * then the table (quarantine, stripes), then the collector's. */
  pthread_mutex_lock (&retired_lock);
  size_t n = hm_lifetime_lock_table ();
  s->blocks_bytes = ((2 * n + 1) * sizeof (HmScanBlock) + 4095) & ~(size_t) 4095;
  s->work_cap = n + (1u << 20);
  s->work_bytes = (s->work_cap * sizeof (Work) + 4095) & ~(size_t) 4095;
  size_t retired_bytes_map = (MAX_RETIRED * sizeof (Retired) + 4095) & ~(size_t) 4095;
  s->blocks = hm_agent_map (s->blocks_bytes);
  s->work = hm_agent_map (s->work_bytes);
  s->retired = hm_agent_map (retired_bytes_map);
  int ok = s->blocks != NULL && s->work != NULL && s->retired != NULL;
  if (ok)
    s->n_blocks = hm_lifetime_copy_table (s->blocks, n);
  if (ok)
    {
      /* the index: two slots per granule a small block touches, at least */
      size_t n_granules = 0;
      for (size_t i = 0; i < s->n_blocks; i++)
        {
          const HmScanBlock *b = &s->blocks[i];
          if (b->end - b->start < BIG_BLOCK)
            n_granules += ((b->end - 1) >> GRANULE_SHIFT) - (b->start >> GRANULE_SHIFT) + 1;
        }
      size_t cap = 1024;
      while (cap < 2 * n_granules)
        cap *= 2;
      s->granule_mask = cap - 1;
      s->index_bytes = (cap * (sizeof (uint64_t) + sizeof (uint32_t))
                        + s->n_blocks * sizeof (uint32_t) + 4095) & ~(size_t) 4095;
      uint8_t *index = hm_agent_map (s->index_bytes);
      ok = index != NULL;
      if (ok)
        {
          s->granule_keys = (uint64_t *) index;
          s->granule_blocks = (uint32_t *) (index + cap * sizeof (uint64_t));
          s->big = s->granule_blocks + cap;
          prepare_blocks (s);
        }
    }
  if (ok)
    {
      /* retired ranges, oldest first is not sorted: insertion sort, few */
      for (size_t k = 0; k < n_retired; k++)
        {
          Retired r = retired[(retired_head + MAX_RETIRED - n_retired + k) % MAX_RETIRED];
          size_t j = s->n_retired++;
          while (j > 0 && s->retired[j - 1].start > r.start)
            {
              s->retired[j] = s->retired[j - 1];
              j--;
            }
          s->retired[j] = r;
        }
      s->retired_lo = s->n_retired ? s->retired[0].start : 0;
      s->retired_hi = s->n_retired ? s->retired[s->n_retired - 1].end : 0;
      /* the work areas are registered agent memory already; the scan state
       * (in our .bss) is left out with our own segments */
      exclude[0] = (HmRange) { (uintptr_t) s->blocks, (uintptr_t) s->blocks + s->blocks_bytes };
      exclude[1] = (HmRange) { (uintptr_t) s->work, (uintptr_t) s->work + s->work_bytes };
      exclude[2] = (HmRange) { (uintptr_t) s->retired,
                               (uintptr_t) s->retired + retired_bytes_map };
      exclude[3] = (HmRange) { (uintptr_t) s->granule_keys,
                               (uintptr_t) s->granule_keys + s->index_bytes };
      HmWorldScan scan = { s, world_stopped, scan_root, scan_done, exclude, 4, self_sp };
      ok = hm_gc_scan_world (&scan, &pause_ns) == 0;
    }
  if (ok)
    for (size_t i = 0; i < s->n_blocks; i++)
      if (s->blocks[i].mark == MARK_LEADER && !s->blocks[i].reported)
        hm_lifetime_set_reported (s->blocks[i].start);
  hm_lifetime_unlock_table ();
  pthread_mutex_unlock (&retired_lock);

  if (ok)
    {
      for (size_t i = 0; i < s->n_blocks; i++)
        {
          const HmScanBlock *b = &s->blocks[i];
          if (b->mark != MARK_LEADER || b->reported)
            continue;
          size_t indirect = 0, n_indirect = 0;
          for (size_t j = 0; j < s->n_blocks; j++)
            if (s->blocks[j].mark == MARK_INDIRECT && s->blocks[j].clique == i + 1)
              {
                indirect += s->blocks[j].end - s->blocks[j].start;
                n_indirect++;
              }
          size_t size = b->end - b->start;
          if (n_indirect == 0)
            hm_warn_located (HM_WARNING_LEAK, (void *) b->start, size, 0, b->alloc_stack, 0,
                             NULL, "leak of %zu bytes at %p: nothing reachable points to it",
                             size, (void *) b->start);
          else
            hm_warn_located (HM_WARNING_LEAK, (void *) b->start, size, 0, b->alloc_stack, 0,
                             NULL, "leak of %zu bytes at %p (and %zu bytes in %zu blocks "
                             "only it reaches): nothing reachable points to it",
                             size, (void *) b->start, indirect, n_indirect);
          n_leaks++;
        }
      for (size_t i = 0; i < s->n_dangling; i++)
        report_dangling (s, &s->dangling[i]);
    }
  last_stats.live_bytes = 0;
  for (size_t i = 0; ok && i < s->n_blocks; i++)
    if (!s->blocks[i].freed)
      last_stats.live_bytes += s->blocks[i].end - s->blocks[i].start;
  last_stats.n_blocks = s->n_blocks;
  last_stats.scanned_bytes = s->scanned_bytes;
  last_stats.pause_ns = pause_ns;
  last_stats.total_ns = hm_now_ns () - t0;
  last_stats.n_leaks = n_leaks;
  last_stats.n_dangling = s->n_dangling;
  last_stats.ok = ok;
  if (s->blocks != NULL)
    hm_agent_unmap (s->blocks, s->blocks_bytes);
  if (s->work != NULL)
    hm_agent_unmap (s->work, s->work_bytes);
  if (s->retired != NULL)
    hm_agent_unmap (s->retired, retired_bytes_map);
  if (s->granule_keys != NULL)
    hm_agent_unmap (s->granule_keys, s->index_bytes);
  s->granule_keys = NULL;
  s->blocks = NULL;
  s->work = NULL;
  s->retired = NULL;
  pthread_mutex_unlock (&scan_lock);
  hm_guard--;
  return n_leaks;
}

/* The caller's registers go to regs, at the bottom of the program's part
 * of this thread's stack: the scan starts there, above the agent's own
 * frames (their stale slots hold copies of freed and lost addresses). */
size_t __attribute__ ((noinline))
hm_lifetime_scan (void)
{
  jmp_buf regs;
  __builtin_unwind_init ();
  setjmp (regs);
  size_t n = scan (0, (uintptr_t) &regs);
  __asm__ volatile ("" : : "r" (&regs) : "memory");
  return n;
}

size_t
hm_analyze (void)
{
  if (!hm_agent.decided)
    hm_agent_decide ();
  return hm_lifetime_scan ();
}

void
hm_analyze_get_stats (HmAnalysisStats *stats)
{
  if (stats != NULL)
    *stats = last_stats;
}

/* At exit, after the program's own atexit handlers and static destructors
 * (they run first: registered later) and before the trace's last flush
 * (registered earlier).  A fork child that exits leaves it to its parent. */
extern int __cxa_atexit (void (*fn) (void *), void *arg, void *dso);
static int exit_pid;

static void
scan_at_exit (void *data)
{
  (void) data;
  if (hm_lifetime_active && getpid () == exit_pid)
    {
      jmp_buf regs;
      setjmp (regs);
      scan (1, (uintptr_t) &regs);
      __asm__ volatile ("" : : "r" (&regs) : "memory");
    }
}

void
hm_lifetime_scan_at_exit (void)
{
  static int registered;
  if (!hm_lifetime_active || __atomic_exchange_n (&registered, 1, __ATOMIC_ACQ_REL))
    return;
  exit_pid = getpid ();
  __cxa_atexit (scan_at_exit, NULL, NULL);
}
