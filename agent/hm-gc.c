/* hm-gc.c — the automatic strategy: hm_gc_alloc, hm_gc_collect and
 * hm_gc_get_stats, a conservative mark–sweep collector over the agent's own
 * GC heap.
 *
 * THE HEAP.  Objects up to GC_MAX_SMALL bytes live in 64 KiB blocks, one size
 * class per block, carved from 4 MiB mmap'd chunks (2 MiB aligned, huge pages
 * asked for unless the strategy is to minimise memory); bigger objects get a
 * mapping of their own.  Every block and big object starts on a 64 KiB
 * boundary, and a two-level table maps each 64 KiB granule of the heap to its
 * descriptor, which holds the block's bitmaps (mark, free, pending, snap) out
 * of the objects' way.  Nothing here is allocated with malloc: descriptors,
 * tables and the collector's work areas come from mappings of our own.
 *
 * ALLOCATION.  Each thread owns one block per size class and allocates from a
 * free list threaded through that block's free objects: a pop, no lock, no
 * atomic.  The list is built 64 objects at a time from the block's free
 * bitmap, zeroing reused objects as it goes, so a block's pages are touched
 * only as they are used.  When the block runs dry the thread gives it back
 * and takes another under the heap lock: a partly free one, an empty one, or
 * a new one.  Bytes handed to threads this way count towards the next
 * automatic collection, which comes after gc_threshold_bytes or a share of
 * the live heap (a half; a quarter when minimising memory, all of it when
 * maximising performance), whichever is more.  gc_threshold_bytes = 0: only
 * hm_gc_collect() collects.
 *
 * WHAT IS SCANNED AS ROOTS, and why.  A word is a pointer if it points into
 * an allocated object (interior pointers included); every aligned word of
 * the following is looked at:
 *   - Every thread's stack and registers.  The world is stopped: the
 *     collector lists /proc/self/task and sends each other thread the GC
 *     signal (a real-time signal nobody else has a handler for, queued with
 *     the collection's number so that a late one is ignored).  The handler
 *     spills the callee-saved registers into its frame (the kernel already
 *     saved the others in the signal frame, on the same stack), records its
 *     stack pointer and waits on a futex until the collection is over.  The
 *     collector lists the threads again until no new one appears.  A
 *     thread's stack is the mapping that holds its stack pointer; it is
 *     scanned from the stack pointer up when it is known to be a stack (the
 *     [stack] mapping, or a mapping with a PROT_NONE guard right below it, as
 *     glibc lays out thread stacks), else whole.  The collecting thread does
 *     the same for itself (setjmp spills its registers).
 *   - TLS.  glibc keeps the static TLS and the thread descriptor of a
 *     non-main thread at the top of its stack mapping (scanned above), and the
 *     main thread's in memory ld.so allocated: anonymous mappings or the tail
 *     of ld.so's data, both scanned below.  Dynamic TLS (dlopen'd modules) is
 *     malloc'd: in the malloc heap, scanned below.
 *   - The writable PT_LOAD segments of every loaded object (dl_iterate_phdr,
 *     called before the world stops because it takes the loader's lock),
 *     rounded out to pages and intersected with what /proc/self/maps says is
 *     still mapped read-write once the world is stopped.  Our own library's
 *     segments are left out: they hold no pointer a program stored.
 *   - Memory malloc handed out, and everything else a program may keep
 *     pointers in: the [heap] (brk) mapping and every private anonymous
 *     read-write mapping (glibc's per-thread arenas, its mmap'd big blocks,
 *     other allocators' heaps, region chunks and pool slabs, [anon:] ones).
 *     Simpler and safer than walking malloc's chunks, at the price of also
 *     seeing stale words in free chunks (a conservative collector retains a
 *     little anyway).
 *   Left out: the GC heap itself (traced by marking, object by object, and
 *   only from allocated objects); the collector's own mappings; the agent's
 *   event rings and whatever else of the agent's own is registered with
 *   hm_gc_register_agent_memory (see hm-gc-private.h); shared mappings; file
 *   mappings that are not an object's data segment; [vvar] and [vdso].
 *   /proc/self/maps and /proc/self/task are read with open/read/getdents64
 *   into buffers of our own, so nothing that may take a lock another,
 *   stopped, thread holds (malloc's, stdio's, the loader's) runs while the
 *   world is stopped.  If /proc cannot be read the collection does nothing
 *   (and says so once): without roots it would free live objects.
 *
 * THREADS THAT DO NOT STOP.  A thread that blocks the GC signal cannot be
 * stopped.  After 500 ms of finding it blocked the collector goes on without
 * it (and later collections check its mask first instead of waiting): its
 * stack is scanned from the stack pointer /proc/self/task/TID/syscall shows
 * when it sits in a system call, else whole, while it runs.  Such a thread
 * must not use GC memory; it is counted (hm_gc_threads_not_stopped) and named
 * once on stderr (not with HM_QUIET=1).  The agent's writer thread blocks
 * every signal but never touches GC memory: it is recognised by name and its
 * stack is not scanned at all.  A thread that never answers otherwise (a
 * debugger holds it) is given up on after a second.
 *
 * MARKING uses an explicit mark stack (a reserved mapping; should it fill,
 * the collector notes the overflow and rescans marked objects until nothing
 * new is marked) and prefetches objects a few pops ahead.  The mark bitmap
 * starts as a copy of the free bitmap, so one bit test tells "free or already
 * marked".  SWEEPING is bitmap arithmetic per block, after the world runs
 * again: dead = not marked.  Dead objects of blocks no thread owns become
 * free at once; those of a thread's current block wait in its "pending"
 * bitmap until the thread gives the block back (the owner's free list is
 * never written by anyone else, so a thread stopped in the middle of a pop
 * is harmless).  When tracing, each dead object is a free event before it
 * can be reused.  Empty blocks are kept for reuse up to what the program
 * will allocate before the next collection, the rest given back with
 * madvise (all of them under HM_STRATEGY_MINIMIZE_MEMORY).
 *
 * Interrupted system calls are restarted (SA_RESTART), but, as with Boehm
 * GC, calls that never restart (epoll_wait, select, poll...) may return
 * EINTR in other threads during a collection.  hm_gc_alloc is not
 * async-signal-safe.  fork: the child gets the heap, and the blocks of the
 * threads it does not have are given back.
 *
 * Building with -DHM_GC_DEBUG adds consistency checks of the thread free
 * lists at every collection and prints, after it, the threads that did not
 * stop and the first root words that marked something (where a stray pointer
 * keeps garbage alive); HM_GC_DEBUG_ROOTS=1 adds every root range.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hm-gc-private.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GC_BLOCK_SHIFT 16
#define GC_BLOCK_SIZE ((uintptr_t) 1 << GC_BLOCK_SHIFT)      /* 64 KiB */
#define GC_CHUNK_BLOCKS 64                                    /* 4 MiB chunks */
#define GC_HUGE_PAGE ((uintptr_t) 2 << 20)                    /* chunks' alignment */
#define GC_MAX_OBJECTS (GC_BLOCK_SIZE / 16)
#define GC_BITMAP_WORDS (GC_MAX_OBJECTS / 64)
#define GC_MAX_SMALL 8192u
#define GC_ADDRESS_BITS 47                                    /* user space on x86-64 */
#define GC_L1_SIZE ((size_t) 1 << (GC_ADDRESS_BITS - 32))
#define GC_L2_SIZE ((size_t) 1 << (32 - GC_BLOCK_SHIFT))

/* Sizes that are multiples of 16 (so objects stay 16-byte aligned) and,
 * above 2 KiB, fill a block with little waste. */
static const uint32_t class_sizes[] = {
  16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512,
  640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2720, 3120, 3632, 4096, 4672,
  5456, 6544, 7280, 8192,
};
#define N_CLASSES (sizeof class_sizes / sizeof class_sizes[0])
static uint8_t class_of[GC_MAX_SMALL / 16 + 1];     /* (size + 15) / 16 -> class */

enum { KIND_EMPTY = 1, KIND_SMALL, KIND_LARGE };

typedef struct {
  uintptr_t base;
  uint32_t kind;
  uint32_t marked;           /* KIND_LARGE only */
} GcHead;

typedef struct GcCache GcCache;
typedef struct GcBlock GcBlock;

struct GcBlock {
  GcHead head;
  uint32_t object_size;
  uint32_t n_objects;
  uint32_t inverse;          /* ceil (2^32 / object_size): offset -> index */
  uint32_t n_words;
  uint32_t cursor;           /* owner: the next free-bitmap word to list */
  uint8_t size_class;
  uint8_t fresh;             /* its free objects are known to be zero */
  uint8_t released;          /* given back to the OS (or never touched) */
  GcCache *owner;            /* the thread allocating from it, or NULL */
  GcBlock *next;             /* in a partial or empty list */
  GcBlock *all_next;         /* every block ever mapped */
  uint64_t mark[GC_BITMAP_WORDS];
  uint64_t free[GC_BITMAP_WORDS];     /* not owned: the truth; owned: words >= cursor */
  uint64_t pending[GC_BITMAP_WORDS];  /* owned: freed by a collection, not yet reusable */
  uint64_t snap[GC_BITMAP_WORDS];     /* owned: what was free when the world stopped */
};

typedef struct GcLarge GcLarge;
struct GcLarge {
  GcHead head;
  size_t size;               /* asked for */
  size_t bytes;              /* mapped */
  GcLarge *next;
};

struct GcCache {
  void *free[N_CLASSES];     /* the allocation free lists */
  GcBlock *block[N_CLASSES]; /* the block each list comes from */
  GcCache *next;             /* registry */
  int32_t tid;
  int in_use;
};

typedef struct {
  uintptr_t start, end;
} Range;

/* --- state (every field under gc_lock unless said otherwise) ---------------- */

static pthread_once_t gc_once = PTHREAD_ONCE_INIT;
static int gc_ready;
static pthread_mutex_t gc_lock = PTHREAD_MUTEX_INITIALIZER;       /* the heap */
static pthread_mutex_t collect_lock = PTHREAD_MUTEX_INITIALIZER;  /* one collector at a time */
static pthread_key_t gc_key;
static __thread GcCache *gc_cache HM_TLS;

static GcHead ***gc_l1;                /* addr >> 32 -> leaf; leaf[(addr >> 16) & 0xffff] */
static uintptr_t heap_lo, heap_hi;     /* the hull of the heap; 0, 0 while empty */
static GcBlock *all_blocks;
static GcBlock *partial[N_CLASSES];
static GcBlock *empty_dirty, *empty_released;
static GcLarge *large_objects, *free_large_descriptors;
static GcCache *caches;

static size_t bytes_since_gc;
static size_t live_after_gc;
static size_t committed_blocks;
static size_t large_bytes;
static size_t threads_not_stopped_total;
static HmGcStats stats;

/* meta memory: bump-allocated, zeroed, never scanned */
#define MAX_META_CHUNKS 256
static Range meta_chunks[MAX_META_CHUNKS];
static unsigned n_meta_chunks;
static uint8_t *meta_cur, *meta_end;
static size_t meta_next_chunk = 2u << 20;

/* The collector's work areas: reserved once (MAP_NORESERVE: only what is
 * used costs memory) and never moved, because /proc/self/maps is read while
 * they are in use and must not change under the reader. */
typedef struct {
  uintptr_t start, end;
  uint32_t flags;
  uint32_t n_sps;
  uintptr_t sp;
  int32_t tid;               /* the thread whose stack pointer is in it */
} RootRange;
enum { ROOT_ANON = 1, ROOT_STACK = 2, ROOT_GUARDED = 4, ROOT_FILE = 8, ROOT_AGENT = 16,
       ROOT_BRK = 32 };

typedef struct {
  int32_t tid;
  int32_t checked;           /* the collector read its status */
  uint64_t state;            /* epoch << 8 | SLOT_* */
  uintptr_t sp;              /* written by the thread's handler */
  uintptr_t blocked_sp;      /* a thread that did not stop: from /proc, or 0 */
} StopSlot;
enum { SLOT_SIGNALLED = 1, SLOT_STOPPED, SLOT_ABANDONED, SLOT_GONE, SLOT_SELF, SLOT_AGENT };

#define MAX_ROOTS ((4u << 20) / sizeof (RootRange))
#define MAX_SLOTS 65536u
#define MAX_SEGMENTS 32768u
#define MARK_STACK_BYTES (64u << 20)
static RootRange *roots;
static size_t n_roots;
static StopSlot *slots;
static size_t n_slots;                 /* read by signal handlers */
static Range *segments;                /* writable PT_LOAD, under collect_lock */
static size_t n_segments;
static Range *mark_stack;
static size_t mark_top, mark_cap, mark_high;
static int mark_overflow;
static uintptr_t own_base;             /* our library's load address */
#define MAX_OWN_SEGMENTS 8
static Range own_segments[MAX_OWN_SEGMENTS];
static size_t n_own_segments;

/* The agent's own memory that holds no user pointers, registered by the files
 * that map it (hm_gc_register_agent_memory).  Under agent_memory_lock, which
 * a collection holds from before the world stops until it runs again. */
#define MAX_AGENT_MEMORY 1024
static pthread_mutex_t agent_memory_lock = PTHREAD_MUTEX_INITIALIZER;
static Range agent_memory[MAX_AGENT_MEMORY];
static size_t n_agent_memory;

static int gc_signal;
static uint32_t stop_epoch, resume_epoch, stop_acks;
static int world_stopping;
#define MAX_BLOCKERS 64
static int32_t known_blockers[MAX_BLOCKERS];
static int warned_not_stopped, warned_no_proc;

/* --- small helpers ------------------------------------------------------------ */

static void
say (const char *text)
{
  size_t len = strlen (text);
  while (len > 0)
    {
      ssize_t n = write (STDERR_FILENO, text, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      text += n;
      len -= (size_t) n;
    }
}

static inline pid_t
gettid_raw (void)
{
  return (pid_t) syscall (SYS_gettid);
}

static void
futex_wake (uint32_t *word, int n)
{
  syscall (SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static void
futex_wait (uint32_t *word, uint32_t seen, const struct timespec *timeout)
{
  syscall (SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, timeout, NULL, 0);
}

static void *
map_anonymous (size_t bytes, int extra_flags)
{
  void *p = mmap (NULL, bytes, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* Zeroed, 64-byte aligned memory for the collector's own bookkeeping.  Under
 * gc_lock, or before any thread can allocate (gc_init). */
static void *
meta_alloc (size_t bytes)
{
  bytes = (bytes + 63) & ~(size_t) 63;
  if ((size_t) (meta_end - meta_cur) < bytes)
    {
      size_t chunk = meta_next_chunk;
      while (chunk < bytes)
        chunk *= 2;
      if (n_meta_chunks == MAX_META_CHUNKS)
        return NULL;
      uint8_t *p = map_anonymous (chunk, 0);
      if (p == NULL)
        return NULL;
      meta_chunks[n_meta_chunks++] = (Range) { (uintptr_t) p, (uintptr_t) p + chunk };
      meta_cur = p;
      meta_end = p + chunk;
      if (meta_next_chunk < (64u << 20))
        meta_next_chunk *= 2;
    }
  void *out = meta_cur;
  meta_cur += bytes;
  return out;
}

static inline GcHead *
lookup (uintptr_t a)
{
  GcHead **leaf = gc_l1[a >> 32];
  return leaf != NULL ? leaf[(a >> GC_BLOCK_SHIFT) & (GC_L2_SIZE - 1)] : NULL;
}

/* Points every granule of [base, base + bytes) at head (or at nothing). */
static int
table_set (uintptr_t base, size_t bytes, GcHead *head)
{
  for (uintptr_t a = base; a < base + bytes; a += GC_BLOCK_SIZE)
    {
      GcHead ***slot = &gc_l1[a >> 32];
      if (*slot == NULL)
        {
          if (head == NULL)
            continue;
          *slot = meta_alloc (GC_L2_SIZE * sizeof (GcHead *));
          if (*slot == NULL)
            return -1;
        }
      (*slot)[(a >> GC_BLOCK_SHIFT) & (GC_L2_SIZE - 1)] = head;
    }
  return 0;
}

/* A mapping of bytes (a multiple of GC_BLOCK_SIZE) aligned to align (a power
 * of two, at least GC_BLOCK_SIZE). */
static void *
map_aligned (size_t bytes, uintptr_t align)
{
  uint8_t *raw = map_anonymous (bytes + align, MAP_NORESERVE);
  if (raw == NULL)
    return NULL;
  uintptr_t start = ((uintptr_t) raw + align - 1) & ~(align - 1);
  if (start > (uintptr_t) raw)
    munmap (raw, start - (uintptr_t) raw);
  uintptr_t raw_end = (uintptr_t) raw + bytes + align;
  if (raw_end > start + bytes)
    munmap ((void *) (start + bytes), raw_end - (start + bytes));
  if ((start + bytes) >> GC_ADDRESS_BITS)
    {
      munmap ((void *) start, bytes);
      return NULL;
    }
  return (void *) start;
}

static void
note_heap_range (uintptr_t start, uintptr_t end)
{
  if (heap_hi == 0 || start < heap_lo)
    heap_lo = start;
  if (end > heap_hi)
    heap_hi = end;
}

/* --- blocks ---------------------------------------------------------------- */

static int
map_chunk (void)
{
  size_t bytes = GC_CHUNK_BLOCKS * GC_BLOCK_SIZE;
  uint8_t *chunk = map_aligned (bytes, GC_HUGE_PAGE);
  if (chunk == NULL)
    return -1;
  /* Marking jumps all over the heap: huge pages save most of its TLB misses.
   * Not when memory is to be given back block by block. */
  if (hm_manager_options ()->strategy != HM_STRATEGY_MINIMIZE_MEMORY)
    madvise (chunk, bytes, MADV_HUGEPAGE);
  GcBlock *descriptors = meta_alloc (GC_CHUNK_BLOCKS * sizeof (GcBlock));
  if (descriptors == NULL)
    {
      munmap (chunk, bytes);
      return -1;
    }
  for (unsigned i = 0; i < GC_CHUNK_BLOCKS; i++)
    {
      GcBlock *b = &descriptors[i];
      b->head.base = (uintptr_t) chunk + i * GC_BLOCK_SIZE;
      b->head.kind = KIND_EMPTY;
      b->fresh = 1;
      b->released = 1;
      if (table_set (b->head.base, GC_BLOCK_SIZE, &b->head) != 0)
        return -1;          /* the blocks before it are usable */
      b->all_next = all_blocks;
      all_blocks = b;
      b->next = empty_released;
      empty_released = b;
    }
  note_heap_range ((uintptr_t) chunk, (uintptr_t) chunk + bytes);
  return 0;
}

static void
init_small (GcBlock *b, unsigned k)
{
  uint32_t size = class_sizes[k];
  b->head.kind = KIND_SMALL;
  b->size_class = (uint8_t) k;
  b->object_size = size;
  b->n_objects = (uint32_t) (GC_BLOCK_SIZE / size);
  b->inverse = (uint32_t) ((((uint64_t) 1 << 32) + size - 1) / size);
  b->n_words = (b->n_objects + 63) / 64;
  memset (b->mark, 0, sizeof b->mark);
  memset (b->pending, 0, sizeof b->pending);
  memset (b->free, 0, sizeof b->free);
  for (uint32_t w = 0; w < b->n_words; w++)
    {
      uint32_t left = b->n_objects - w * 64;
      b->free[w] = left >= 64 ? ~(uint64_t) 0 : ((uint64_t) 1 << left) - 1;
    }
}

/* Without -mpopcnt the builtin is a call into libgcc. */
static inline unsigned
popcount64 (uint64_t v)
{
  v = v - ((v >> 1) & 0x5555555555555555ull);
  v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
  v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return (unsigned) ((v * 0x0101010101010101ull) >> 56);
}

static inline uint64_t
valid_mask (const GcBlock *b, uint32_t w)
{
  uint32_t left = b->n_objects - w * 64;
  return left >= 64 ? ~(uint64_t) 0 : ((uint64_t) 1 << left) - 1;
}

static size_t
count_free (const GcBlock *b)
{
  size_t n = 0;
  for (uint32_t w = 0; w < b->n_words; w++)
    n += (size_t) popcount64 (b->free[w]);
  return n;
}

static void
push_by_fullness (GcBlock *b)
{
  size_t n_free = count_free (b);
  if (n_free == b->n_objects)
    {
      b->head.kind = KIND_EMPTY;
      b->next = empty_dirty;
      empty_dirty = b;
    }
  else if (n_free > 0)
    {
      b->next = partial[b->size_class];
      partial[b->size_class] = b;
    }
}

/* A thread gives its block of class k back: its unlisted and listed free
 * objects and what collections freed while it held it become free. */
static void
retire (GcCache *c, unsigned k)
{
  GcBlock *b = c->block[k];
  if (b == NULL)
    return;
  for (uint32_t w = 0; w < b->cursor && w < b->n_words; w++)
    b->free[w] = 0;
  uint32_t n = 0;
  for (void **obj = c->free[k]; obj != NULL && n < b->n_objects; obj = *obj, n++)
    {
      uintptr_t off = (uintptr_t) obj - b->head.base;
      if (off >= GC_BLOCK_SIZE)
        break;
      uint32_t i = (uint32_t) ((off * b->inverse) >> 32);
      b->free[i / 64] |= (uint64_t) 1 << (i % 64);
    }
  for (uint32_t w = 0; w < b->n_words; w++)
    {
      b->free[w] |= b->pending[w];
      b->pending[w] = 0;
    }
  b->owner = NULL;
  b->fresh = 0;
  c->block[k] = NULL;
  c->free[k] = NULL;
  push_by_fullness (b);
}

static GcBlock *
acquire (unsigned k)
{
  GcBlock *b = partial[k];
  if (b != NULL)
    {
      partial[k] = b->next;
      return b;
    }
  if (empty_dirty == NULL && empty_released == NULL && map_chunk () != 0)
    return NULL;
  if (empty_dirty != NULL)
    {
      b = empty_dirty;
      empty_dirty = b->next;
    }
  else
    {
      b = empty_released;
      empty_released = b->next;
    }
  if (b->released)
    {
      b->released = 0;
      committed_blocks++;
    }
  init_small (b, k);
  return b;
}

/* --- allocation -------------------------------------------------------------- */

static void gc_init (void);
static size_t collect (int explicit_call);

static void
cache_thread_exit (void *value)
{
  GcCache *c = value;
  if (c == NULL)
    return;
  pthread_mutex_lock (&gc_lock);
  for (unsigned k = 0; k < N_CLASSES; k++)
    retire (c, k);
  c->in_use = 0;
  c->tid = 0;
  pthread_mutex_unlock (&gc_lock);
  if (gc_cache == c)
    gc_cache = NULL;
}

static GcCache *
cache_register (void)
{
  GcCache *c;

  pthread_once (&gc_once, gc_init);
  if (!gc_ready)
    return NULL;
  pthread_mutex_lock (&gc_lock);
  for (c = caches; c != NULL; c = c->next)
    if (!c->in_use)
      break;
  if (c == NULL)
    {
      c = meta_alloc (sizeof *c);
      if (c == NULL)
        {
          pthread_mutex_unlock (&gc_lock);
          return NULL;
        }
      c->next = caches;
      caches = c;
    }
  c->in_use = 1;
  c->tid = gettid_raw ();
  pthread_mutex_unlock (&gc_lock);
  gc_cache = c;
  hm_guard++;
  pthread_setspecific (gc_key, c);
  hm_guard--;
  return c;
}

static size_t
threshold_bytes (const HmOptions *o)
{
  size_t grow;
  switch (o->strategy)
    {
    case HM_STRATEGY_MINIMIZE_MEMORY:
      grow = live_after_gc / 4;
      break;
    case HM_STRATEGY_MAXIMIZE_PERFORMANCE:
      grow = live_after_gc;
      break;
    default:
      grow = live_after_gc / 2;
      break;
    }
  return grow > o->gc_threshold_bytes ? grow : o->gc_threshold_bytes;
}

/* Under gc_lock: true when enough was allocated for an automatic collection.
 * gc_threshold_bytes == 0 turns them off. */
static int
want_collection (void)
{
  const HmOptions *o = hm_manager_options ();
  return o->gc_threshold_bytes != 0 && bytes_since_gc >= threshold_bytes (o);
}

/* Zeroes the objects of one bitmap word, a run of neighbours at a time. */
static void
zero_objects (uintptr_t base, uint64_t bits, uint32_t size)
{
  while (bits != 0)
    {
      unsigned first = (unsigned) __builtin_ctzll (bits);
      uint64_t rest = bits >> first;
      unsigned run = rest == ~(uint64_t) 0 >> first ? 64 - first
                     : (unsigned) __builtin_ctzll (~rest);
      memset ((void *) (base + (uintptr_t) first * size), 0, (size_t) run * size);
      bits = run + first >= 64 ? 0 : bits & (~(uint64_t) 0 << (first + run));
    }
}

/* Lists the next word's worth of the owned block's free objects; NULL when the
 * block has none left. */
static void *
list_from_block (GcCache *c, unsigned k)
{
  GcBlock *b = c->block[k];
  if (b == NULL)
    return NULL;
  while (b->cursor < b->n_words)
    {
      uint32_t w = b->cursor;
      uint64_t bits = b->free[w];
      if (bits != 0)
        {
          uint32_t size = b->object_size;
          uintptr_t base = b->head.base + (uintptr_t) w * 64 * size;
          void **head = NULL;
          if (!b->fresh)
            zero_objects (base, bits, size);
          /* highest first, so the list runs up through memory */
          while (bits != 0)
            {
              unsigned i = 63u - (unsigned) __builtin_clzll (bits);
              bits &= ~((uint64_t) 1 << i);
              void **obj = (void **) (base + (uintptr_t) i * size);
              *obj = head;
              head = obj;
            }
          /* publish, then move the cursor: a collection that stops us in
           * between sees the objects as free twice, never as allocated */
          __atomic_signal_fence (__ATOMIC_SEQ_CST);
          c->free[k] = *head;
          __atomic_signal_fence (__ATOMIC_SEQ_CST);
          b->cursor = w + 1;
          __atomic_signal_fence (__ATOMIC_SEQ_CST);
          *head = NULL;
          return head;
        }
      b->cursor = w + 1;
    }
  return NULL;
}

static __attribute__ ((noinline, cold)) void *
alloc_small_slow (GcCache *c, size_t size)
{
  void *p;
  unsigned k;

  if (c == NULL)
    {
      /* the first allocation of this thread, maybe of the process: only now
       * is class_of filled in */
      c = cache_register ();
      if (c == NULL)
        return NULL;
      k = class_of[(size + 15) >> 4];
      void **obj = c->free[k];
      if (obj != NULL)
        {
          c->free[k] = *obj;
          __atomic_signal_fence (__ATOMIC_SEQ_CST);
          *obj = NULL;
          return obj;
        }
    }
  else
    k = class_of[(size + 15) >> 4];
  for (;;)
    {
      p = list_from_block (c, k);
      if (p != NULL)
        return p;
      pthread_mutex_lock (&gc_lock);
      retire (c, k);
      if (want_collection ())
        {
          pthread_mutex_unlock (&gc_lock);
          collect (0);
          pthread_mutex_lock (&gc_lock);
        }
      GcBlock *b = acquire (k);
      if (b != NULL)
        {
          b->owner = c;
          b->cursor = 0;
          c->block[k] = b;
          bytes_since_gc += count_free (b) * b->object_size;
        }
      pthread_mutex_unlock (&gc_lock);
      if (b == NULL)
        return NULL;
    }
}

static __attribute__ ((noinline, cold)) void *
alloc_large (size_t size)
{
  if (size > ((size_t) 1 << GC_ADDRESS_BITS))
    return NULL;
  pthread_once (&gc_once, gc_init);
  if (!gc_ready)
    return NULL;
  size_t bytes = (size + GC_BLOCK_SIZE - 1) & ~(GC_BLOCK_SIZE - 1);

  pthread_mutex_lock (&gc_lock);
  if (want_collection ())
    {
      pthread_mutex_unlock (&gc_lock);
      collect (0);
      pthread_mutex_lock (&gc_lock);
    }
  void *p = map_aligned (bytes, GC_BLOCK_SIZE);
  GcLarge *l = NULL;
  if (p != NULL)
    {
      l = free_large_descriptors;
      if (l != NULL)
        free_large_descriptors = l->next;
      else
        l = meta_alloc (sizeof *l);
    }
  if (l == NULL || table_set ((uintptr_t) p, bytes, &l->head) != 0)
    {
      if (p != NULL)
        {
          table_set ((uintptr_t) p, bytes, NULL);
          munmap (p, bytes);
        }
      if (l != NULL)
        {
          l->next = free_large_descriptors;
          free_large_descriptors = l;
        }
      pthread_mutex_unlock (&gc_lock);
      return NULL;
    }
  memset (l, 0, sizeof *l);
  l->head.base = (uintptr_t) p;
  l->head.kind = KIND_LARGE;
  l->size = size;
  l->bytes = bytes;
  l->next = large_objects;
  large_objects = l;
  large_bytes += bytes;
  bytes_since_gc += bytes;
  note_heap_range ((uintptr_t) p, (uintptr_t) p + bytes);
  pthread_mutex_unlock (&gc_lock);
  return p;
}

static __attribute__ ((noinline)) void
trace_alloc (void *p, size_t size)
{
  hm_guard++;
  hm_emit_alloc (HM_FN_GC_ALLOC, (uintptr_t) p, size, hm_stack_capture ());
  hm_guard--;
}

void *
hm_gc_alloc (size_t size)
{
  GcCache *c = gc_cache;
  void *p;

  if (HM_LIKELY (size <= GC_MAX_SMALL))
    {
      unsigned k = class_of[(size + 15) >> 4];
      void **obj;
      if (HM_LIKELY (c != NULL && (obj = c->free[k]) != NULL))
        {
          c->free[k] = *obj;
          /* unlink before clearing the link: a collection that stops us in
           * between must still see the rest of the list */
          __atomic_signal_fence (__ATOMIC_SEQ_CST);
          *obj = NULL;
          p = obj;
        }
      else
        p = alloc_small_slow (c, size);
    }
  else
    p = alloc_large (size);
  if (hm_tracing_here () && p != NULL)
    trace_alloc (p, size);
  return p;
}

/* --- stopping the world ------------------------------------------------------- */

static __attribute__ ((noinline)) uintptr_t
current_sp (void)
{
  volatile char here = 0;
  return (uintptr_t) &here;
}

static void
stop_handler (int sig, siginfo_t *info, void *ucontext)
{
  int saved_errno = errno;
  uint32_t epoch = (uint32_t) info->si_value.sival_int;

  (void) sig;
  (void) ucontext;
  if (info->si_code != SI_QUEUE || !__atomic_load_n (&world_stopping, __ATOMIC_ACQUIRE)
      || epoch != __atomic_load_n (&stop_epoch, __ATOMIC_ACQUIRE))
    goto out;
  pid_t tid = gettid_raw ();
  size_t n = __atomic_load_n (&n_slots, __ATOMIC_ACQUIRE);
  StopSlot *slot = NULL;
  for (size_t i = 0; i < n; i++)
    if (slots[i].tid == tid)
      {
        slot = &slots[i];
        break;
      }
  if (slot == NULL)
    goto out;
  /* Callee-saved registers go to this frame; the kernel put the others in
   * the signal frame above it.  Everything from here up is scanned. */
  __builtin_unwind_init ();
  slot->sp = current_sp ();
  uint64_t expected = (uint64_t) epoch << 8 | SLOT_SIGNALLED;
  if (!__atomic_compare_exchange_n (&slot->state, &expected, (uint64_t) epoch << 8 | SLOT_STOPPED,
                                    false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    goto out;       /* the collector gave up on us */
  __atomic_add_fetch (&stop_acks, 1, __ATOMIC_RELEASE);
  futex_wake (&stop_acks, 1);
  for (;;)
    {
      uint32_t now = __atomic_load_n (&resume_epoch, __ATOMIC_ACQUIRE);
      if ((int32_t) (now - epoch) >= 0)
        break;
      futex_wait (&resume_epoch, now, NULL);
    }
out:
  errno = saved_errno;
}

static int
install_handler (void)
{
  struct sigaction action, old;

  memset (&action, 0, sizeof action);
  action.sa_sigaction = stop_handler;
  action.sa_flags = SA_RESTART | SA_SIGINFO;
  sigfillset (&action.sa_mask);       /* nothing else runs on a stopped thread */
  for (int sig = SIGRTMAX - 3; sig > SIGRTMIN + 2; sig--)
    {
      if (sigaction (sig, NULL, &old) != 0)
        continue;
      if ((old.sa_flags & SA_SIGINFO) == 0 && old.sa_handler == SIG_DFL
          && sigaction (sig, &action, NULL) == 0)
        {
          gc_signal = sig;
          return 0;
        }
    }
  return -1;
}

/* Still ours?  A program may have taken the signal since. */
static int
handler_in_place (void)
{
  struct sigaction cur;
  if (gc_signal != 0 && sigaction (gc_signal, NULL, &cur) == 0
      && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == stop_handler)
    return 1;
  return install_handler () == 0;
}

typedef struct {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
} LinuxDirent64;

static StopSlot *
find_slot (int32_t tid)
{
  for (size_t i = 0; i < n_slots; i++)
    if (slots[i].tid == tid)
      return &slots[i];
  return NULL;
}

/* Adds a slot for every thread not seen yet; returns how many, -1 without /proc. */
static long
enumerate_threads (void)
{
  char buf[4096] __attribute__ ((aligned (8)));
  long added = 0;
  int fd = open ("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  for (;;)
    {
      long n = syscall (SYS_getdents64, fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      for (long off = 0; off < n;)
        {
          LinuxDirent64 *d = (LinuxDirent64 *) (buf + off);
          off += d->d_reclen;
          int32_t tid = 0;
          const char *s = d->d_name;
          if (*s < '0' || *s > '9')
            continue;
          for (; *s >= '0' && *s <= '9'; s++)
            tid = tid * 10 + (*s - '0');
          if (find_slot (tid) != NULL || n_slots >= MAX_SLOTS)
            continue;
          StopSlot *slot = &slots[n_slots];
          slot->tid = tid;
          slot->checked = 0;
          slot->sp = 0;
          slot->blocked_sp = 0;
          slot->state = 0;
          __atomic_store_n (&n_slots, n_slots + 1, __ATOMIC_RELEASE);
          added++;
        }
    }
  close (fd);
  return added;
}

/* Reads /proc/self/task/TID/status: whether the thread blocks our signal,
 * whether it is a zombie (a main thread that called pthread_exit), and
 * whether it is the agent's own writer thread, which blocks every signal and
 * never touches GC memory: it runs on, and nobody needs to hear about it. */
static void
thread_status (int32_t tid, int *blocked, int *zombie, int *agent)
{
  char path[64], buf[2048];
  char *p = path;
  const char *prefix = "/proc/self/task/";
  char digits[12];
  int nd = 0;

  *blocked = 0;
  *zombie = 0;
  *agent = 0;
  while (*prefix)
    *p++ = *prefix++;
  for (uint32_t v = (uint32_t) tid; v != 0 || nd == 0; v /= 10)
    digits[nd++] = (char) ('0' + v % 10);
  while (nd)
    *p++ = digits[--nd];
  memcpy (p, "/status", 8);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      *zombie = 1;                 /* gone */
      return;
    }
  ssize_t n;
  do
    n = read (fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  close (fd);
  if (n <= 0)
    return;
  buf[n] = '\0';
  /* by its TID: a program thread that happens to be called hm-writer must
   * still be stopped and scanned */
  *agent = tid == hm_writer_tid () || tid == hm_listener_tid ();
  const char *state = strstr (buf, "\nState:");
  if (state != NULL)
    {
      state += 7;
      while (*state == ' ' || *state == '\t')
        state++;
      *zombie = *state == 'Z' || *state == 'X';
    }
  const char *blk = strstr (buf, "\nSigBlk:");
  if (blk != NULL)
    {
      uint64_t mask = 0;
      for (blk += 8; *blk == ' ' || *blk == '\t'; blk++)
        ;
      for (; *blk; blk++)
        {
          int d;
          if (*blk >= '0' && *blk <= '9')
            d = *blk - '0';
          else if (*blk >= 'a' && *blk <= 'f')
            d = *blk - 'a' + 10;
          else
            break;
          mask = mask << 4 | (uint64_t) d;
        }
      *blocked = (mask >> (gc_signal - 1)) & 1;
    }
}

static uintptr_t parse_hex (const char **s);

/* The stack pointer of a thread blocked in a system call, from
 * /proc/self/task/TID/syscall ("nr args... sp pc"); 0 if it is running or
 * the file cannot be read.  Lets the collector scan a thread it could not
 * stop from its stack pointer instead of the whole stack mapping. */
static uintptr_t
blocked_thread_sp (int32_t tid)
{
  char path[64], buf[256];
  snprintf (path, sizeof path, "/proc/self/task/%d/syscall", (int) tid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n;
  do
    n = read (fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  close (fd);
  if (n <= 0 || buf[0] < '0' || buf[0] > '9')
    return 0;                       /* "running", or "-1 ..." (not in a syscall) */
  buf[n] = '\0';
  uintptr_t fields[9];
  int count = 0;
  for (const char *q = buf; *q && count < 9;)
    {
      while (*q == ' ')
        q++;
      if (q[0] == '0' && q[1] == 'x')
        {
          q += 2;
          fields[count++] = parse_hex (&q);
        }
      else
        {
          while (*q && *q != ' ' && *q != '\n')
            q++;
          if (count == 0)
            fields[count++] = 0;     /* the syscall number, in decimal */
          if (*q == '\n' || *q == '\0')
            break;
        }
    }
  /* the red zone below the stack pointer may hold live data too */
  return count == 9 && fields[7] > 128 ? fields[7] - 128 : 0;
}

static int
is_known_blocker (int32_t tid)
{
  for (unsigned i = 0; i < MAX_BLOCKERS; i++)
    if (known_blockers[i] == tid)
      return 1;
  return 0;
}

static void
set_known_blocker (int32_t tid, int on)
{
  for (unsigned i = 0; i < MAX_BLOCKERS; i++)
    if (known_blockers[i] == (on ? 0 : tid))
      {
        known_blockers[i] = on ? tid : 0;
        return;
      }
}

static void
give_up_on (StopSlot *slot, uint32_t epoch, int what)
{
  uint64_t expected = (uint64_t) epoch << 8 | SLOT_SIGNALLED;
  __atomic_compare_exchange_n (&slot->state, &expected, (uint64_t) epoch << 8 | (uint64_t) what,
                               false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void
signal_slot (StopSlot *slot, pid_t pid, uid_t uid, uint32_t epoch)
{
  siginfo_t info;
  int blocked, zombie, agent;

  if (is_known_blocker (slot->tid))
    {
      thread_status (slot->tid, &blocked, &zombie, &agent);
      if (zombie || blocked)
        {
          slot->state = (uint64_t) epoch << 8
                        | (zombie ? SLOT_GONE : agent ? SLOT_AGENT : SLOT_ABANDONED);
          return;
        }
      set_known_blocker (slot->tid, 0);
    }
  __atomic_store_n (&slot->state, (uint64_t) epoch << 8 | SLOT_SIGNALLED, __ATOMIC_RELEASE);
  memset (&info, 0, sizeof info);
  info.si_signo = gc_signal;
  info.si_code = SI_QUEUE;
  info.si_pid = pid;
  info.si_uid = uid;
  info.si_value.sival_int = (int) epoch;
  for (int tries = 0;; tries++)
    {
      if (syscall (SYS_rt_tgsigqueueinfo, pid, slot->tid, gc_signal, &info) == 0)
        return;
      if (errno == ESRCH)
        {
          give_up_on (slot, epoch, SLOT_GONE);
          return;
        }
      if (errno != EAGAIN || tries == 100)
        {
          give_up_on (slot, epoch, SLOT_ABANDONED);
          return;
        }
      sched_yield ();
    }
}

/* A thread being created blocks every signal until it starts running: on
 * a loaded machine that can take a while, and a thread given up on too soon
 * would run on during the scan.  Half a second before deciding it blocks
 * signals for good. */
#define BLOCKED_GRACE_NS (500u * 1000000u)
#define STOP_TIMEOUT_NS (1000u * 1000000u)

static void
wait_for_stops (pid_t pid, uint32_t epoch)
{
  uint64_t start = hm_now_ns ();
  unsigned round = 0;

  for (;;)
    {
      uint32_t seen = __atomic_load_n (&stop_acks, __ATOMIC_ACQUIRE);
      size_t waiting = 0;
      for (size_t i = 0; i < n_slots; i++)
        if ((__atomic_load_n (&slots[i].state, __ATOMIC_ACQUIRE) & 0xff) == SLOT_SIGNALLED)
          waiting++;
      if (waiting == 0)
        return;
      if (round++ < 50)
        sched_yield ();       /* usually they are all there in a few microseconds */
      else
        {
          struct timespec pause = { 0, 1000000 };
          futex_wait (&stop_acks, seen, &pause);
        }
      uint64_t elapsed = hm_now_ns () - start;
      if (round < 50 && elapsed < 200000)
        continue;
      for (size_t i = 0; i < n_slots; i++)
        {
          StopSlot *slot = &slots[i];
          if ((__atomic_load_n (&slot->state, __ATOMIC_ACQUIRE) & 0xff) != SLOT_SIGNALLED)
            continue;
          if (syscall (SYS_tgkill, pid, slot->tid, 0) != 0 && errno == ESRCH)
            {
              give_up_on (slot, epoch, SLOT_GONE);
              continue;
            }
          if (elapsed > STOP_TIMEOUT_NS)
            {
              give_up_on (slot, epoch, SLOT_ABANDONED);
              continue;
            }
          int blocked, zombie, agent;
          if (slot->checked < 1 || (elapsed > BLOCKED_GRACE_NS && slot->checked < 2))
            {
              thread_status (slot->tid, &blocked, &zombie, &agent);
              slot->checked = elapsed > BLOCKED_GRACE_NS ? 2 : 1;
              if (zombie)
                {
                  /* checked first next time: a signal queued to a zombie
                   * would wait there for ever */
                  give_up_on (slot, epoch, SLOT_GONE);
                  set_known_blocker (slot->tid, 1);
                }
              else if (blocked && agent)
                {
                  give_up_on (slot, epoch, SLOT_AGENT);
                  set_known_blocker (slot->tid, 1);
                }
              else if (blocked && elapsed > BLOCKED_GRACE_NS)
                {
                  /* blocked for a while: it would never answer */
                  give_up_on (slot, epoch, SLOT_ABANDONED);
                  set_known_blocker (slot->tid, 1);
                }
            }
        }
    }
}

/* Stops every other thread; returns -1 if the threads cannot be listed. */
static int
stop_world (uint32_t epoch)
{
  pid_t pid = (pid_t) syscall (SYS_getpid);
  uid_t uid = getuid ();

  /* forget the blockers that are gone */
  for (unsigned i = 0; i < MAX_BLOCKERS; i++)
    if (known_blockers[i] != 0 && syscall (SYS_tgkill, pid, known_blockers[i], 0) != 0
        && errno == ESRCH)
      known_blockers[i] = 0;

  __atomic_store_n (&n_slots, 0, __ATOMIC_RELEASE);
  slots[0].tid = gettid_raw ();
  slots[0].state = (uint64_t) epoch << 8 | SLOT_SELF;
  __atomic_store_n (&n_slots, 1, __ATOMIC_RELEASE);
  __atomic_store_n (&stop_epoch, epoch, __ATOMIC_RELEASE);
  __atomic_store_n (&world_stopping, 1, __ATOMIC_RELEASE);

  /* A thread we stopped may have just created another: list again until
   * nothing new appears (the new ones are in /proc by the time clone returns). */
  for (int pass = 0; pass < 1000; pass++)
    {
      size_t first = n_slots;
      long added = enumerate_threads ();
      if (added < 0)
        return pass == 0 ? -1 : 0;
      if (added == 0)
        return 0;
      for (size_t i = first; i < n_slots; i++)
        signal_slot (&slots[i], pid, uid, epoch);
      wait_for_stops (pid, epoch);
    }
  return 0;
}

static void
restart_world (uint32_t epoch)
{
  __atomic_store_n (&world_stopping, 0, __ATOMIC_RELEASE);
  __atomic_store_n (&resume_epoch, epoch, __ATOMIC_RELEASE);
  futex_wake (&resume_epoch, INT_MAX);
}

/* --- marking --------------------------------------------------------------- */

static inline void
push_range (uintptr_t start, uintptr_t end)
{
  if (HM_UNLIKELY (mark_top == mark_cap))
    {
      /* full (4M entries): the object is marked but not scanned; see
       * rescan_marked */
      mark_overflow = 1;
      return;
    }
  mark_stack[mark_top].start = start;
  mark_stack[mark_top].end = end;
  if (++mark_top > mark_high)
    mark_high = mark_top;
}

static inline void
mark_word (uintptr_t w, uintptr_t lo, uintptr_t span)
{
  if (HM_LIKELY (w - lo >= span))
    return;
  GcHead *h = lookup (w);
  if (h == NULL)
    return;
  if (HM_LIKELY (h->kind == KIND_SMALL))
    {
      GcBlock *b = (GcBlock *) h;
      uintptr_t off = w - b->head.base;
      uint32_t i = (uint32_t) ((off * b->inverse) >> 32);
      if (HM_UNLIKELY (i >= b->n_objects))
        return;           /* the block's tail, past its last object */
      uint32_t word = i / 64;
      uint64_t bit = (uint64_t) 1 << (i % 64);
      if (b->mark[word] & bit)
        return;           /* marked, or free (see seed_marks) */
      b->mark[word] |= bit;
      uintptr_t obj = b->head.base + (uintptr_t) i * b->object_size;
      push_range (obj, obj + b->object_size);
    }
  else if (h->kind == KIND_LARGE)
    {
      GcLarge *l = (GcLarge *) h;
      if (l->head.marked)
        return;
      l->head.marked = 1;
      push_range (l->head.base, l->head.base + ((l->size + 7) & ~(size_t) 7));
    }
}

static void
scan_words (uintptr_t start, uintptr_t end)
{
  uintptr_t lo = heap_lo, span = heap_hi - heap_lo;
  const uintptr_t *p = (const uintptr_t *) ((start + 7) & ~(uintptr_t) 7);
  const uintptr_t *stop = (const uintptr_t *) (end & ~(uintptr_t) 7);
  for (; p < stop; p++)
    mark_word (*p, lo, span);
}

/* Objects go from the mark stack through a small FIFO, prefetched on the way
 * in: by the time one is scanned its memory is (nearly) in cache.  Loading
 * the objects is most of a collection's time. */
#define PREFETCH_DEPTH 16

static void
drain (void)
{
  Range fifo[PREFETCH_DEPTH];
  unsigned head = 0, n = 0;

  for (;;)
    {
      while (n < PREFETCH_DEPTH && mark_top > 0)
        {
          Range r = mark_stack[--mark_top];
          __builtin_prefetch ((const void *) r.start);
          fifo[(head + n) % PREFETCH_DEPTH] = r;
          n++;
        }
      if (n == 0)
        return;
      Range r = fifo[head];
      head = (head + 1) % PREFETCH_DEPTH;
      n--;
      scan_words (r.start, r.end);
    }
}

/* After an overflow some marked objects were never scanned: scan every marked
 * object again until no push is lost. */
static void
rescan_marked (void)
{
  while (mark_overflow)
    {
      mark_overflow = 0;
      for (GcBlock *b = all_blocks; b != NULL; b = b->all_next)
        {
          if (b->head.kind != KIND_SMALL)
            continue;
          const uint64_t *free_now = b->owner != NULL ? b->snap : b->free;
          for (uint32_t w = 0; w < b->n_words; w++)
            for (uint64_t bits = b->mark[w] & ~free_now[w]; bits != 0; bits &= bits - 1)
              {
                uint32_t i = w * 64 + (uint32_t) __builtin_ctzll (bits);
                uintptr_t obj = b->head.base + (uintptr_t) i * b->object_size;
                scan_words (obj, obj + b->object_size);
                drain ();
              }
        }
      for (GcLarge *l = large_objects; l != NULL; l = l->next)
        if (l->head.marked)
          {
            scan_words (l->head.base, l->head.base + l->size);
            drain ();
          }
    }
}

/* --- roots ------------------------------------------------------------------- */

typedef struct {
  Range ranges[4096];
  size_t n;
} Exclusions;

static void
exclude (Exclusions *x, uintptr_t start, uintptr_t end)
{
  if (x->n < sizeof x->ranges / sizeof x->ranges[0] && start < end)
    x->ranges[x->n++] = (Range) { start, end };
}

static void
sort_ranges (Range *r, size_t n)
{
  for (size_t i = 1; i < n; i++)
    {
      Range v = r[i];
      size_t j = i;
      while (j > 0 && r[j - 1].start > v.start)
        {
          r[j] = r[j - 1];
          j--;
        }
      r[j] = v;
    }
}

#ifdef HM_GC_DEBUG
static uintptr_t debug_hits[64][2];
static unsigned n_debug_hits;
static size_t debug_root_bytes;
static uintptr_t debug_run_start, debug_run_end;
static Range debug_big_runs[16];
static unsigned n_debug_big_runs;
static void
debug_scan_root_words (uintptr_t start, uintptr_t end)
{
  debug_root_bytes += end - start;
  if (start != debug_run_end)
    {
      if (debug_run_end - debug_run_start >= (1u << 20) && n_debug_big_runs < 16)
        debug_big_runs[n_debug_big_runs++] = (Range) { debug_run_start, debug_run_end };
      debug_run_start = start;
    }
  debug_run_end = end;
  for (uintptr_t a = (start + 7) & ~(uintptr_t) 7; a + 8 <= end; a += 8)
    {
      size_t before = mark_top;
      mark_word (*(uintptr_t *) a, heap_lo, heap_hi - heap_lo);
      if (mark_top > before && n_debug_hits < 64)
        {
          debug_hits[n_debug_hits][0] = a;
          debug_hits[n_debug_hits++][1] = *(uintptr_t *) a;
        }
    }
}
#define scan_words_root debug_scan_root_words
#else
#define scan_words_root scan_words
#endif

/* A lifetime scan (hm_gc_scan_world) takes the root ranges instead of the
 * collector's marker. */
static const HmWorldScan *root_sink;
static HmRootKind sink_kind;
static int32_t sink_tid;

/* Scans [start, end) minus the GC heap's granules. */
static void
scan_piece (uintptr_t start, uintptr_t end)
{
  if (root_sink != NULL)
    {
      uintptr_t run = start;
      for (uintptr_t a = start; a < end;)
        {
          uintptr_t next = (a | (GC_BLOCK_SIZE - 1)) + 1;
          if (next > end || next < a)
            next = end;
          if (a - heap_lo < heap_hi - heap_lo && lookup (a) != NULL)
            {
              if (run < a)
                root_sink->root (root_sink->data, run, a, sink_kind, sink_tid);
              run = next;
            }
          a = next;
        }
      if (run < end)
        root_sink->root (root_sink->data, run, end, sink_kind, sink_tid);
      return;
    }
  uintptr_t a = start;
  while (a < end)
    {
      uintptr_t next = (a | (GC_BLOCK_SIZE - 1)) + 1;
      if (next > end || next < a)
        next = end;
      if (!(a - heap_lo < heap_hi - heap_lo && lookup (a) != NULL))
        scan_words_root (a, next);
      a = next;
    }
}

/* Scans [start, end) minus the collector's own memory. */
static void
scan_root (const Exclusions *x, uintptr_t start, uintptr_t end)
{
  for (size_t i = 0; i < x->n && start < end; i++)
    {
      const Range *r = &x->ranges[i];
      if (r->end <= start)
        continue;
      if (r->start >= end)
        break;
      if (r->start > start)
        scan_piece (start, r->start);
      start = r->end;
    }
  if (start < end)
    scan_piece (start, end);
  drain ();
}

static uintptr_t
parse_hex (const char **s)
{
  uintptr_t v = 0;
  for (;; (*s)++)
    {
      char c = **s;
      if (c >= '0' && c <= '9')
        v = v << 4 | (uintptr_t) (c - '0');
      else if (c >= 'a' && c <= 'f')
        v = v << 4 | (uintptr_t) (c - 'a' + 10);
      else
        return v;
    }
}

static int
starts_with (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

typedef struct {
  uintptr_t prev_end;
  int prev_guard;
} MapsState;

static void
maps_line (MapsState *st, const char *line)
{
  const char *s = line;
  uintptr_t start = parse_hex (&s);
  if (*s++ != '-')
    return;
  uintptr_t end = parse_hex (&s);
  if (*s++ != ' ' || strlen (s) < 5)
    return;
  char perms[4] = { s[0], s[1], s[2], s[3] };
  s += 5;
  parse_hex (&s);                              /* offset */
  while (*s == ' ')
    s++;
  while (*s && *s != ' ')                      /* device */
    s++;
  while (*s == ' ')
    s++;
  unsigned long inode = 0;
  for (; *s >= '0' && *s <= '9'; s++)
    inode = inode * 10 + (unsigned long) (*s - '0');
  while (*s == ' ')
    s++;
  const char *path = s;

  int guard_below = st->prev_guard && st->prev_end == start;
  st->prev_end = end;
  st->prev_guard = perms[0] == '-' && perms[1] == '-' && perms[2] == '-';
  if (perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p')
    return;
  uint32_t flags;
  if (inode == 0 && *path == '\0')
    flags = ROOT_ANON;
  else if (inode == 0 && strcmp (path, "[heap]") == 0)
    flags = ROOT_ANON | ROOT_BRK;
  else if (inode == 0 && starts_with (path, "[stack"))
    flags = ROOT_ANON | ROOT_STACK;
  else if (inode == 0 && starts_with (path, "[anon:"))
    flags = ROOT_ANON;
  else if (*path == '[')
    return;                                    /* [vvar], [vdso] and the like */
  else
    flags = ROOT_FILE;
  if (guard_below)
    flags |= ROOT_GUARDED;
  if (n_roots >= MAX_ROOTS)
    {
      n_roots = MAX_ROOTS + 1;                 /* overflow: the caller gives up */
      return;
    }
  roots[n_roots++] = (RootRange) { start, end, flags, 0, 0, 0 };
}

/* Reads /proc/self/maps into roots; -1 if it cannot. */
static int
read_maps (void)
{
  char buf[8192];
  size_t have = 0;
  MapsState st = { 0, 0 };
  int fd = open ("/proc/self/maps", O_RDONLY | O_CLOEXEC);

  n_roots = 0;
  if (fd < 0)
    return -1;
  for (;;)
    {
      ssize_t n = read (fd, buf + have, sizeof buf - 1 - have);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          close (fd);
          return -1;
        }
      if (n == 0)
        break;
      have += (size_t) n;
      buf[have] = '\0';
      char *line = buf;
      char *nl;
      while ((nl = memchr (line, '\n', have - (size_t) (line - buf))) != NULL)
        {
          *nl = '\0';
          maps_line (&st, line);
          line = nl + 1;
        }
      have -= (size_t) (line - buf);
      memmove (buf, line, have);
      if (have == sizeof buf - 1)
        have = 0;     /* a line longer than the buffer: only a path could be */
    }
  if (have > 0)
    {
      buf[have] = '\0';
      maps_line (&st, buf);
    }
  close (fd);
  return n_roots > MAX_ROOTS ? -1 : 0;
}

static int
segment_callback (struct dl_phdr_info *info, size_t size, void *data)
{
  long page = sysconf (_SC_PAGESIZE);
  (void) size;
  (void) data;
  int own = info->dlpi_addr == own_base && own_base != 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
        continue;
      uintptr_t start = (info->dlpi_addr + ph->p_vaddr) & ~((uintptr_t) page - 1);
      uintptr_t end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + (uintptr_t) page - 1)
                      & ~((uintptr_t) page - 1);
      if (own)
        {
          /* our .bss may spill into an anonymous mapping: excluded by address */
          if (n_own_segments < MAX_OWN_SEGMENTS)
            own_segments[n_own_segments++] = (Range) { start, end };
        }
      else if (n_segments < MAX_SEGMENTS)
        segments[n_segments++] = (Range) { start, end };
    }
  return 0;
}

/* Before the world stops: the loader's lock may be held by a thread we stop. */
static void
snapshot_segments (void)
{
  n_segments = 0;
  n_own_segments = 0;
  dl_iterate_phdr (segment_callback, NULL);
  sort_ranges (segments, n_segments);
}

static RootRange *
root_containing (uintptr_t a)
{
  size_t lo = 0, hi = n_roots;
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      if (roots[mid].end <= a)
        lo = mid + 1;
      else if (roots[mid].start > a)
        hi = mid;
      else
        return &roots[mid];
    }
  return NULL;
}

static Exclusions exclusions;

/* glibc's malloc arenas other than the main one (which is [heap]): heaps of
 * HEAP_MAX_SIZE (64 MiB on 64-bit) aligned to their size, each opening with a
 * heap_info whose first word points at the arena, itself just after the
 * heap_info of the arena's first heap.  A lifetime scan leaves them out:
 * the blocks in them are scanned one by one, only when reachable. */
#define GLIBC_HEAP_MAX ((uintptr_t) 64 << 20)
static int
is_malloc_arena (uintptr_t start, uintptr_t end)
{
  if ((start & (GLIBC_HEAP_MAX - 1)) != 0 || end - start < 4096)
    return 0;
  uintptr_t arena = *(const uintptr_t *) start;
  uintptr_t first_heap = arena & ~(GLIBC_HEAP_MAX - 1);
  if (arena - first_heap > 128 || arena - first_heap < 2 * sizeof (void *))
    return 0;
  RootRange *r = root_containing (first_heap);
  return r != NULL && r->start == first_heap && *(const uintptr_t *) first_heap == arena;
}

/* Hands every root range to scan_root (the collector) or, for a lifetime
 * scan, to root_sink.  The world is stopped; the registers of this thread
 * are spilled into regs, which is on the scanned part of our own stack.
 * Returns -1 if the roots cannot be found. */
static __attribute__ ((noinline)) int
enumerate_roots (void)
{
  jmp_buf regs;
  Exclusions *x = &exclusions;

  __builtin_unwind_init ();
  setjmp (regs);
  slots[0].sp = root_sink != NULL && root_sink->self_sp != 0 ? root_sink->self_sp : current_sp ();

  if (read_maps () != 0)
    return -1;

  /* where the stacks are */
  for (size_t i = 0; i < n_slots; i++)
    {
      uint64_t state = slots[i].state & 0xff;
      uintptr_t sp = state == SLOT_STOPPED || state == SLOT_SELF ? slots[i].sp
                     : state == SLOT_ABANDONED || state == SLOT_AGENT ? slots[i].blocked_sp : 0;
      RootRange *r = sp != 0 ? root_containing (sp) : NULL;
      if (r == NULL)
        continue;
      r->n_sps++;
      r->sp = sp;
      r->tid = slots[i].tid;
      if (state == SLOT_AGENT)
        r->flags |= ROOT_AGENT;
    }

  /* the collector's own memory */
  x->n = 0;
  for (unsigned i = 0; i < n_meta_chunks; i++)
    exclude (x, meta_chunks[i].start, meta_chunks[i].end);
  exclude (x, (uintptr_t) roots, (uintptr_t) roots + MAX_ROOTS * sizeof (RootRange) + 4096);
  exclude (x, (uintptr_t) slots, (uintptr_t) slots + MAX_SLOTS * sizeof (StopSlot));
  exclude (x, (uintptr_t) segments, (uintptr_t) segments + MAX_SEGMENTS * sizeof (Range));
  exclude (x, (uintptr_t) mark_stack, (uintptr_t) mark_stack + MARK_STACK_BYTES);
  for (size_t i = 0; i < n_own_segments; i++)
    exclude (x, own_segments[i].start, own_segments[i].end);
  for (size_t i = 0; i < n_agent_memory; i++)
    exclude (x, agent_memory[i].start, agent_memory[i].end);
  for (HmThread *t = hm_thread_list (); t != NULL; t = t->next)
    exclude (x, (uintptr_t) t, (uintptr_t) t + sizeof *t);
  if (root_sink != NULL)
    for (size_t i = 0; i < root_sink->n_exclude; i++)
      exclude (x, root_sink->exclude[i].start, root_sink->exclude[i].end);
  sort_ranges (x->ranges, x->n);

  for (size_t i = 0; i < n_roots; i++)
    {
      RootRange *r = &roots[i];
      if (r->flags & ROOT_FILE)
        {
          /* only the data segments of loaded objects */
          for (size_t j = 0; j < n_segments; j++)
            {
              uintptr_t s = segments[j].start > r->start ? segments[j].start : r->start;
              uintptr_t e = segments[j].end < r->end ? segments[j].end : r->end;
              sink_kind = HM_ROOT_DATA;
              sink_tid = 0;
              if (s < e)
                scan_root (x, s, e);
            }
          continue;
        }
      uintptr_t start = r->start;
      sink_kind = HM_ROOT_OTHER;
      sink_tid = 0;
      if (r->n_sps == 1 && (r->flags & (ROOT_STACK | ROOT_GUARDED)))
        {
          if (r->flags & ROOT_AGENT)
            continue;                      /* the agent's writer: no GC pointers */
          start = r->sp & ~(uintptr_t) 7;  /* below the stack pointer is dead */
          sink_kind = HM_ROOT_STACK;
          sink_tid = r->tid;
        }
      else if (root_sink != NULL
               && ((r->flags & ROOT_BRK) || is_malloc_arena (r->start, r->end)))
        continue;                          /* malloc's heap: block by block */
      scan_root (x, start, r->end);
    }
  __asm__ volatile ("" : : "r" (&regs) : "memory");
  return 0;
}

static int
mark_from_roots (void)
{
  if (enumerate_roots () != 0)
    return -1;
  rescan_marked ();
  return 0;
}

/* Every owned block: what was free when the world stopped (unlisted words,
 * the owner's list, and what earlier collections freed into pending). */
static void
snapshot_owned_blocks (void)
{
  for (GcCache *c = caches; c != NULL; c = c->next)
    {
      if (!c->in_use)
        continue;
      for (unsigned k = 0; k < N_CLASSES; k++)
        {
          GcBlock *b = c->block[k];
          if (b == NULL)
            continue;
          uint32_t cursor = b->cursor;
          for (uint32_t w = 0; w < b->n_words; w++)
            b->snap[w] = b->pending[w] | (w >= cursor ? b->free[w] : 0);
          uint32_t n = 0;
          for (void **obj = c->free[k]; obj != NULL && n < b->n_objects; obj = *obj, n++)
            {
              uintptr_t off = (uintptr_t) obj - b->head.base;
              if (off >= GC_BLOCK_SIZE)
                break;
              uint32_t i = (uint32_t) ((off * b->inverse) >> 32);
              b->snap[i / 64] |= (uint64_t) 1 << (i % 64);
            }
        }
    }
}

#ifdef HM_GC_DEBUG
static void
debug_fail (const char *what, uintptr_t a, uintptr_t b)
{
  char line[200];
  snprintf (line, sizeof line, "hm-gc check failed: %s (%lx, %lx)\n", what, (unsigned long) a,
            (unsigned long) b);
  say (line);
  abort ();
}

static void
debug_check_caches (void)
{
  for (GcCache *c = caches; c != NULL; c = c->next)
    {
      if (!c->in_use)
        continue;
      for (unsigned k = 0; k < N_CLASSES; k++)
        {
          GcBlock *b = c->block[k];
          if (b == NULL)
            {
              if (c->free[k] != NULL)
                debug_fail ("list without block", (uintptr_t) c, k);
              continue;
            }
          if (b->owner != c)
            debug_fail ("block owner", (uintptr_t) b->owner, (uintptr_t) c);
          if (b->head.kind != KIND_SMALL || b->size_class != k)
            debug_fail ("block kind", b->head.kind, k);
          for (GcCache *d = caches; d != NULL; d = d->next)
            if (d != c && d->in_use && d->block[k] == b)
              debug_fail ("shared block", (uintptr_t) c, (uintptr_t) d);
          uint64_t seen[GC_BITMAP_WORDS] = { 0 };
          uint32_t n = 0;
          for (void **obj = c->free[k]; obj != NULL; obj = *obj, n++)
            {
              uintptr_t off = (uintptr_t) obj - b->head.base;
              if (off >= GC_BLOCK_SIZE || off % b->object_size != 0 || n > b->n_objects)
                debug_fail ("list object", (uintptr_t) obj, b->head.base);
              uint32_t i = (uint32_t) (off / b->object_size);
              uint64_t bit = (uint64_t) 1 << (i % 64);
              if (seen[i / 64] & bit)
                debug_fail ("list loops", (uintptr_t) obj, 0);
              seen[i / 64] |= bit;
              if (b->pending[i / 64] & bit)
                debug_fail ("listed and pending", (uintptr_t) obj, 0);
            }
        }
    }
  for (GcBlock *b = all_blocks; b != NULL; b = b->all_next)
    if (b->head.kind == KIND_SMALL && b->owner == NULL)
      for (uint32_t w = 0; w < b->n_words; w++)
        if (b->pending[w])
          debug_fail ("pending in a block nobody owns", b->head.base, w);
}
#endif

/* Marking starts with every free object "marked", so that one bitmap test
 * tells both, and ends with mark = free | reachable. */
static void
seed_marks (void)
{
  for (GcBlock *b = all_blocks; b != NULL; b = b->all_next)
    if (b->head.kind == KIND_SMALL)
      memcpy (b->mark, b->owner != NULL ? b->snap : b->free, b->n_words * sizeof (uint64_t));
}

/* Threads that exited without their key destructor running (or that ran it
 * while we waited): give their blocks back. */
static void
retire_dead_caches (void)
{
  for (GcCache *c = caches; c != NULL; c = c->next)
    {
      StopSlot *slot = find_slot (c->tid);
      if (!c->in_use || (slot != NULL && (slot->state & 0xff) != SLOT_GONE))
        continue;
      for (unsigned k = 0; k < N_CLASSES; k++)
        retire (c, k);
      c->in_use = 0;
    }
}

/* --- sweeping -------------------------------------------------------------- */

typedef struct {
  size_t freed_bytes;
  size_t freed_objects;
  size_t live_bytes;
} SweepResult;

static void
sweep (int tracing, SweepResult *result)
{
  for (unsigned k = 0; k < N_CLASSES; k++)
    partial[k] = NULL;
  empty_dirty = NULL;
  empty_released = NULL;

  for (GcBlock *b = all_blocks; b != NULL; b = b->all_next)
    {
      if (b->head.kind == KIND_EMPTY)
        {
          if (b->released)
            {
              b->next = empty_released;
              empty_released = b;
            }
          else
            {
              b->next = empty_dirty;
              empty_dirty = b;
            }
          continue;
        }
      if (b->head.kind != KIND_SMALL)
        continue;
      const uint64_t *free_now = b->owner != NULL ? b->snap : b->free;
      uint64_t *freed_into = b->owner != NULL ? b->pending : b->free;
      size_t n_dead = 0, n_live = 0;
      for (uint32_t w = 0; w < b->n_words; w++)
        {
          uint64_t dead = ~b->mark[w] & valid_mask (b, w);
          n_live += (size_t) popcount64 (b->mark[w] & ~free_now[w]);
          b->mark[w] = 0;
          if (dead == 0)
            continue;
          if (tracing)
            for (uint64_t bits = dead; bits != 0; bits &= bits - 1)
              {
                uint32_t i = w * 64 + (uint32_t) __builtin_ctzll (bits);
                hm_emit_free (HM_FN_GC_SWEEP, b->head.base + (uintptr_t) i * b->object_size);
              }
          freed_into[w] |= dead;    /* after the events: only now can it be reused */
          n_dead += (size_t) popcount64 (dead);
        }
      result->freed_objects += n_dead;
      result->freed_bytes += n_dead * b->object_size;
      result->live_bytes += n_live * b->object_size;
      if (b->owner == NULL)
        push_by_fullness (b);
    }

  GcLarge **link = &large_objects;
  while (*link != NULL)
    {
      GcLarge *l = *link;
      if (l->head.marked)
        {
          l->head.marked = 0;
          result->live_bytes += l->size;
          link = &l->next;
          continue;
        }
      if (tracing)
        hm_emit_free (HM_FN_GC_SWEEP, l->head.base);
      *link = l->next;
      table_set (l->head.base, l->bytes, NULL);
      munmap ((void *) l->head.base, l->bytes);
      large_bytes -= l->bytes;
      result->freed_objects++;
      result->freed_bytes += l->size;
      l->next = free_large_descriptors;
      free_large_descriptors = l;
    }
}

/* Empty blocks beyond what the strategy keeps go back to the OS. */
static void
release_empty_blocks (const HmOptions *o)
{
  /* What the program will allocate before the next collection is about the
   * threshold: keeping that much saves faulting it back in.  Beyond it the
   * blocks would sit idle. */
  size_t keep = threshold_bytes (o) / GC_BLOCK_SIZE;

  switch (o->strategy)
    {
    case HM_STRATEGY_MINIMIZE_MEMORY:
      keep = 0;
      break;
    case HM_STRATEGY_MAXIMIZE_PERFORMANCE:
      keep = keep * 2 + 64;
      break;
    default:
      keep = keep + 16;
      break;
    }
  size_t n = 0;
  GcBlock **link = &empty_dirty;
  while (*link != NULL)
    {
      GcBlock *b = *link;
      if (n < keep)
        {
          n++;
          link = &b->next;
          continue;
        }
      *link = b->next;
      madvise ((void *) b->head.base, GC_BLOCK_SIZE, MADV_DONTNEED);
      b->released = 1;
      b->fresh = 1;
      committed_blocks--;
      b->next = empty_released;
      empty_released = b;
    }
}

/* --- a collection --------------------------------------------------------- */


static void
warn_once (int *flag, const char *text)
{
  if (!*flag)
    {
      *flag = 1;
      if (!hm_quiet ())
        say (text);
    }
}

#ifdef HM_GC_DEBUG
/* -DHM_GC_DEBUG: after each collection, the threads that did not stop, the
 * root words that marked something first (where a leak through a stray
 * pointer comes from), the root ranges and what was left out of them. */
static void
debug_report_collection (void)
{
  char line[160];
  for (size_t i = 0; i < n_slots; i++)
    if ((slots[i].state & 0xff) != SLOT_STOPPED && (slots[i].state & 0xff) != SLOT_SELF)
      {
        snprintf (line, sizeof line, "hm-gc: thread %d state %d\n", slots[i].tid,
                  (int) (slots[i].state & 0xff));
        say (line);
      }
  for (unsigned i = 0; i < n_debug_hits; i++)
    {
      snprintf (line, sizeof line, "hm-gc: root word at %lx -> %lx\n",
                (unsigned long) debug_hits[i][0], (unsigned long) debug_hits[i][1]);
      say (line);
    }
  n_debug_hits = 0;
  snprintf (line, sizeof line, "hm-gc: %zu KiB of roots scanned\n", debug_root_bytes >> 10);
  say (line);
  debug_root_bytes = 0;
  for (unsigned i = 0; i < n_debug_big_runs; i++)
    {
      snprintf (line, sizeof line, "hm-gc: big root run %lx-%lx (%lu KiB)\n",
                (unsigned long) debug_big_runs[i].start, (unsigned long) debug_big_runs[i].end,
                (unsigned long) ((debug_big_runs[i].end - debug_big_runs[i].start) >> 10));
      say (line);
    }
  n_debug_big_runs = 0;
  if (getenv ("HM_GC_DEBUG_ROOTS") == NULL)
    return;
  for (size_t i = 0; i < n_roots; i++)
    {
      snprintf (line, sizeof line, "hm-gc: root %lx-%lx %6lu KiB flags %x sps %u\n",
                (unsigned long) roots[i].start, (unsigned long) roots[i].end,
                (unsigned long) ((roots[i].end - roots[i].start) >> 10), roots[i].flags,
                roots[i].n_sps);
      say (line);
    }
  for (size_t i = 0; i < exclusions.n; i++)
    {
      snprintf (line, sizeof line, "hm-gc: left out %lx-%lx\n",
                (unsigned long) exclusions.ranges[i].start,
                (unsigned long) exclusions.ranges[i].end);
      say (line);
    }
}
#endif


/* Once per process, naming a thread that ran on through a collection. */
static void
warn_not_stopped (void)
{
  char path[64], name[32] = "?", line[256];

  warned_not_stopped = 1;
  if (hm_quiet ())
    return;
  for (size_t i = 0; i < n_slots; i++)
    if ((slots[i].state & 0xff) == SLOT_ABANDONED)
      {
        snprintf (path, sizeof path, "/proc/self/task/%d/comm", (int) slots[i].tid);
        int fd = open (path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read (fd, name, sizeof name - 1) : -1;
        if (fd >= 0)
          close (fd);
        if (n > 0)
          name[name[n - 1] == '\n' ? n - 1 : n] = '\0';
        snprintf (line, sizeof line,
                  "hybridmem: thread %d (%s) blocks the GC's signal, so it runs on while "
                  "collections scan its stack: it must not use GC memory\n",
                  (int) slots[i].tid, name);
        say (line);
        return;
      }
}

/* Stops every other thread (see "THREADS" above).  Called with collect_lock
 * and gc_lock held; world_end undoes it, whatever this returned. */
static int
world_begin (uint32_t *epoch_out, size_t *not_stopped)
{
  uint32_t epoch = stop_epoch + 1;
  if (epoch == 0)
    epoch = 1;
  *epoch_out = epoch;
  /* The writer thread blocks every signal, so it is not stopped: keep it
   * out of its rounds, where it may grow or shrink its memory (an munmap
   * under the scan would fault), until the world runs again. */
  hm_writer_pause ();
  pthread_mutex_lock (&agent_memory_lock);
  if (stop_world (epoch) != 0)
    return -1;
  for (size_t i = 0; i < n_slots; i++)
    {
      uint64_t state = slots[i].state & 0xff;
      if (state == SLOT_ABANDONED || state == SLOT_AGENT)
        slots[i].blocked_sp = blocked_thread_sp (slots[i].tid);
      if (state == SLOT_ABANDONED)
        (*not_stopped)++;
    }
  return 0;
}

static void
world_end (uint32_t epoch)
{
  restart_world (epoch);
  pthread_mutex_unlock (&agent_memory_lock);
  hm_writer_resume ();
}

static size_t
collect (int explicit_call)
{
  const HmOptions *o = hm_manager_options ();
  int tracing = hm_tracing_here ();
  SweepResult result = { 0, 0, 0 };

  pthread_once (&gc_once, gc_init);
  if (!gc_ready)
    return 0;
  hm_guard++;
  if (explicit_call)
    pthread_mutex_lock (&collect_lock);
  else if (pthread_mutex_trylock (&collect_lock) != 0)
    {
      /* someone else is collecting; the caller's next lock waits for it */
      hm_guard--;
      return 0;
    }
  snapshot_segments ();
  pthread_mutex_lock (&gc_lock);
  if (!explicit_call && !want_collection ())
    goto done;                     /* collected while we waited */
  if (!handler_in_place ())
    {
      warn_once (&warned_no_proc, "hybridmem: no free real-time signal to stop threads "
                 "with; the GC heap only grows\n");
      goto done;
    }

  uint32_t epoch;
  uint64_t t0 = hm_now_ns ();
  size_t not_stopped = 0;
  int ok = world_begin (&epoch, &not_stopped) == 0;
  if (ok)
    {
      retire_dead_caches ();
#ifdef HM_GC_DEBUG
      debug_check_caches ();
#endif
      snapshot_owned_blocks ();
      seed_marks ();
      ok = mark_from_roots () == 0;
    }
  if (!ok)
    {
      /* no roots, no collection: clear what marking did */
      for (GcBlock *b = all_blocks; b != NULL; b = b->all_next)
        memset (b->mark, 0, sizeof b->mark);
      for (GcLarge *l = large_objects; l != NULL; l = l->next)
        l->head.marked = 0;
      mark_top = 0;
    }
  world_end (epoch);
  uint64_t pause = hm_now_ns () - t0;
  if (!ok)
    {
      warn_once (&warned_no_proc, "hybridmem: cannot read /proc/self/maps or "
                 "/proc/self/task; the GC heap only grows\n");
      goto done;
    }
#ifdef HM_GC_DEBUG
  debug_report_collection ();
#endif
  if (not_stopped > 0)
    {
      threads_not_stopped_total += not_stopped;
      if (!warned_not_stopped)
        warn_not_stopped ();
    }

  sweep (tracing, &result);
  live_after_gc = result.live_bytes;
  bytes_since_gc = 0;
  release_empty_blocks (o);
  if (mark_high * sizeof (Range) > (1u << 20))
    madvise (mark_stack, MARK_STACK_BYTES, MADV_DONTNEED);
  mark_high = 0;

  stats.collections++;
  stats.freed_bytes += result.freed_bytes;
  stats.total_pause_ns += pause;
  stats.last_pause_ns = pause;
  if (tracing)
    hm_emit_ids (HM_EV_GC_COLLECT, pause, result.freed_bytes, result.freed_objects,
                 result.live_bytes);
done:
  pthread_mutex_unlock (&gc_lock);
  pthread_mutex_unlock (&collect_lock);
  hm_guard--;
  return result.freed_bytes;
}

size_t
hm_gc_collect (void)
{
  return collect (1);
}

/* --- the world stopped for someone else: lifetime analysis -------------------- */

int
hm_gc_scan_world (const HmWorldScan *scan, uint64_t *pause_ns)
{
  int ok = 0;

  *pause_ns = 0;
  pthread_once (&gc_once, gc_init);
  if (!gc_ready)
    return -1;
  hm_guard++;
  pthread_mutex_lock (&collect_lock);
  snapshot_segments ();
  pthread_mutex_lock (&gc_lock);
  if (handler_in_place ())
    {
      uint32_t epoch;
      size_t not_stopped = 0;
      uint64_t t0 = hm_now_ns ();
      ok = world_begin (&epoch, &not_stopped) == 0;
      if (ok)
        {
          /* GC objects are containers here: marked when a scanned word
           * points into one (hm_gc_mark_object), never swept */
          snapshot_owned_blocks ();
          seed_marks ();
          ok = scan->stopped (scan->data) == 0;
          if (ok)
            {
              root_sink = scan;
              ok = enumerate_roots () == 0;
              root_sink = NULL;
            }
          if (ok)
            scan->done (scan->data);
          for (GcBlock *b = all_blocks; b != NULL; b = b->all_next)
            memset (b->mark, 0, sizeof b->mark);
          for (GcLarge *l = large_objects; l != NULL; l = l->next)
            l->head.marked = 0;
        }
      world_end (epoch);
      *pause_ns = hm_now_ns () - t0;
      if (not_stopped > 0)
        threads_not_stopped_total += not_stopped;
    }
  pthread_mutex_unlock (&gc_lock);
  pthread_mutex_unlock (&collect_lock);
  hm_guard--;
  return ok ? 0 : -1;
}

int
hm_gc_mark_object (uintptr_t a, uintptr_t *start, uintptr_t *end)
{
  if (a - heap_lo >= heap_hi - heap_lo || heap_hi == 0)
    return 0;
  GcHead *h = lookup (a);
  if (h == NULL)
    return 0;
  if (h->kind == KIND_SMALL)
    {
      GcBlock *b = (GcBlock *) h;
      uint32_t i = (uint32_t) (((a - b->head.base) * b->inverse) >> 32);
      if (i >= b->n_objects)
        return 0;
      uint64_t bit = (uint64_t) 1 << (i % 64);
      if (b->mark[i / 64] & bit)
        return 0;                /* free, or seen */
      b->mark[i / 64] |= bit;
      *start = b->head.base + (uintptr_t) i * b->object_size;
      *end = *start + b->object_size;
      return 1;
    }
  if (h->kind == KIND_LARGE)
    {
      GcLarge *l = (GcLarge *) h;
      if (l->head.marked)
        return 0;
      l->head.marked = 1;
      *start = l->head.base;
      *end = l->head.base + ((l->size + 7) & ~(size_t) 7);
      return 1;
    }
  return 0;
}

void
hm_gc_get_stats (HmGcStats *out)
{
  if (out == NULL)
    return;
  pthread_mutex_lock (&gc_lock);
  *out = stats;
  out->heap_bytes = committed_blocks * GC_BLOCK_SIZE + large_bytes;
  out->live_bytes = live_after_gc + bytes_since_gc;
  pthread_mutex_unlock (&gc_lock);
}

size_t
hm_gc_threads_not_stopped (void)
{
  return threads_not_stopped_total;
}

void
hm_gc_register_agent_memory (const void *start, size_t bytes)
{
  if (start == NULL || bytes == 0)
    return;
  pthread_mutex_lock (&agent_memory_lock);
  if (n_agent_memory < MAX_AGENT_MEMORY)   /* past that it is scanned: only slower */
    agent_memory[n_agent_memory++] = (Range) { (uintptr_t) start, (uintptr_t) start + bytes };
  pthread_mutex_unlock (&agent_memory_lock);
}

void
hm_gc_unregister_agent_memory (const void *start)
{
  pthread_mutex_lock (&agent_memory_lock);
  for (size_t i = 0; i < n_agent_memory; i++)
    if (agent_memory[i].start == (uintptr_t) start)
      {
        agent_memory[i] = agent_memory[--n_agent_memory];
        break;
      }
  pthread_mutex_unlock (&agent_memory_lock);
}

/* --- start and fork ----------------------------------------------------------- */

/* The agent's locks are taken for fork in one order by hm_fork_lock_all
 * (hm-agent.c): ours come after the lifetime table's, the writer's between
 * gc_lock and agent_memory_lock, as a collection takes them. */
void
hm_gc_fork_lock (void)
{
  pthread_mutex_lock (&collect_lock);
  pthread_mutex_lock (&gc_lock);
}

void
hm_gc_fork_unlock (void)
{
  pthread_mutex_unlock (&gc_lock);
  pthread_mutex_unlock (&collect_lock);
}

void
hm_gc_fork_lock_agent_memory (void)
{
  pthread_mutex_lock (&agent_memory_lock);
}

void
hm_gc_fork_unlock_agent_memory (void)
{
  pthread_mutex_unlock (&agent_memory_lock);
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

/* The child has one thread: every other thread's blocks are given back. */
static void
fork_child (void)
{
  for (GcCache *c = caches; c != NULL; c = c->next)
    {
      if (!c->in_use)
        continue;
      if (c == gc_cache)
        {
          c->tid = gettid_raw ();
          continue;
        }
      for (unsigned k = 0; k < N_CLASSES; k++)
        retire (c, k);
      c->in_use = 0;
    }
  memset (known_blockers, 0, sizeof known_blockers);
  world_stopping = 0;
  hm_fork_unlock_all (1);
}

static void
gc_init (void)
{

  hm_guard++;
  for (unsigned i = 0, k = 0; i < sizeof class_of; i++)
    {
      while (class_sizes[k] < i * 16)
        k++;
      class_of[i] = (uint8_t) k;
    }
  gc_l1 = meta_alloc (GC_L1_SIZE * sizeof (GcHead **));
  roots = map_anonymous (MAX_ROOTS * sizeof (RootRange) + 4096, MAP_NORESERVE);
  slots = map_anonymous (MAX_SLOTS * sizeof (StopSlot), MAP_NORESERVE);
  segments = map_anonymous (MAX_SEGMENTS * sizeof (Range), MAP_NORESERVE);
  mark_stack = map_anonymous (MARK_STACK_BYTES, MAP_NORESERVE);
  mark_cap = MARK_STACK_BYTES / sizeof (Range);
  own_base = hm_object_base ((void *) gc_init);
  if (gc_l1 != NULL && roots != NULL && slots != NULL && segments != NULL && mark_stack != NULL
      && pthread_key_create (&gc_key, cache_thread_exit) == 0)
    {
      install_handler ();
      pthread_atfork (fork_prepare, fork_parent, fork_child);
      gc_ready = 1;
    }
  else
    say ("hybridmem: cannot set up the GC heap; hm_gc_alloc returns NULL\n");
  hm_guard--;
}

/* For lifetime analysis: free() of GC memory is a mismatched free. */
bool
hm_gc_owns (const void *p)
{
  uintptr_t a = (uintptr_t) p;
  if ((a >> 47) != 0 || heap_hi == 0 || a - heap_lo >= heap_hi - heap_lo)
    return false;
  return lookup (a) != NULL;
}
