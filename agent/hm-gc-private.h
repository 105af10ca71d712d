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
