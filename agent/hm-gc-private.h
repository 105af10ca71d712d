/* hm-gc-private.h — what the rest of the agent may ask of the collector
 * (hm-gc.c). */
#pragma once

#include <stddef.h>

#include "hm-agent-private.h"

/* Threads, summed over all collections, that blocked the GC signal and so ran
 * on while the collector scanned their stack (see hm-gc.c).  The agent's own
 * writer thread is not counted. */
size_t hm_gc_threads_not_stopped (void) HM_HIDDEN;

/* Memory the agent maps for its own bookkeeping — the stack table, the
 * writer's buffers, lifetime tables; anything that holds no pointer a
 * program stored — need not be scanned for roots: registering it saves every
 * collection that work (the stack table of a traced program can reach
 * hundreds of MB).  Never register memory that holds user data (region
 * chunks, pool slabs): objects reachable only from there would be freed.
 * Unregister BEFORE munmap: an address range left registered would hide
 * whatever the program maps there later.  Both take a mutex, no memory, and
 * may be called from the malloc hooks; up to 1024 ranges are remembered
 * (more are scanned as usual). */
void hm_gc_register_agent_memory (const void *start, size_t bytes) HM_HIDDEN;
void hm_gc_unregister_agent_memory (const void *start) HM_HIDDEN;

/* --- the world stopped for lifetime analysis (hm-lifetime-scan.c) ------------ *
 *
 * The same stop as a collection's (every thread paused with the GC signal,
 * the writer kept out of its rounds) and the same roots, handed to the
 * caller instead of the collector's marker: every thread's stack from its
 * stack pointer (registers spilled there), TLS, the writable segments of
 * loaded objects, and the private anonymous mappings (region chunks, pool
 * slabs, the program's own mmaps) — but not malloc's heap ([heap] and
 * glibc's other arenas), whose blocks the caller scans itself, one by one,
 * when reachable.  Left out as for a collection: the GC heap, the agent's
 * registered memory, the writer's stack, plus the caller's exclude ranges.
 * The callbacks run with the world stopped: they must not take a lock any
 * program thread may hold (no malloc, no stdio, no dladdr). */
typedef enum {
  HM_ROOT_DATA = 1,          /* a loaded object's writable segment */
  HM_ROOT_STACK,             /* a thread's stack (tid given) */
  HM_ROOT_OTHER,             /* anonymous memory: mmaps, TLS, chunks, slabs */
} HmRootKind;

typedef struct {
  uintptr_t start, end;
} HmRange;

typedef struct {
  void *data;
  /* the world just stopped; nonzero: give up */
  int (*stopped) (void *data);
  void (*root) (void *data, uintptr_t start, uintptr_t end, HmRootKind kind, int32_t tid);
  /* every root was given */
  void (*done) (void *data);
  const HmRange *exclude;
  size_t n_exclude;
  /* where the calling thread's stack is scanned from (0: the scanner's own
   * frame): the caller's frames below it are the agent's, whose stale slots
   * would keep memory alive or point into freed memory */
  uintptr_t self_sp;
} HmWorldScan;

/* Returns 0, or -1 when the world could not be stopped or the roots not
 * found (nothing was called then, or done was not).  *pause_ns: how long
 * the world stood still. */
int hm_gc_scan_world (const HmWorldScan *scan, uint64_t *pause_ns) HM_HIDDEN;
/* For hm_fork_lock_all: collect_lock and gc_lock; agent_memory_lock. */
void hm_gc_fork_lock (void) HM_HIDDEN;
void hm_gc_fork_unlock (void) HM_HIDDEN;
void hm_gc_fork_lock_agent_memory (void) HM_HIDDEN;
void hm_gc_fork_unlock_agent_memory (void) HM_HIDDEN;
/* During such a scan: if a points into a GC object not seen yet in this
 * scan, marks it seen and gives its extent. */
int hm_gc_mark_object (uintptr_t a, uintptr_t *start, uintptr_t *end) HM_HIDDEN;
