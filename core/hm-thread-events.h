/* hm-thread-events.h — decoding one thread-chunk event, without GLib.
 *
 * Shared by the reader and by the agent's writer (which follows the delta
 * state through a ring's last block), so the two can never disagree about
 * an event's length.
 */
#pragma once

#include <stdint.h>

#include "hm-trace-format.h"

typedef struct {
  uint8_t kind;        /* HM_EV_*, allocations folded to HM_EV_ALLOC */
  uint8_t fn;          /* HmAllocFn of ALLOC, FREE, REALLOC (from REALLOC_X) and UNMAP */
  uint64_t ticks;
  uint64_t addr;       /* ALLOC, FREE, REALLOC (new), REGION_ALLOC, POOL_*, WARNING */
  uint64_t old_addr;   /* REALLOC */
  uint64_t size;       /* ALLOC, REALLOC, REGION_ALLOC, POOL_CREATE (object size), WARNING */
  uint64_t stack;      /* ALLOC, REALLOC, *_CREATE, WARNING (the bad call) */
  uint64_t id;         /* region or pool; WARNING: the object */
  uint64_t a, b, c, d; /* POOL_CREATE: capacity in a; GC_COLLECT: pause, freed bytes,
                        * freed objects, live bytes; WARNING: kind, alloc stack, free stack;
                        * REALLOC (from REALLOC_X): old size in a; MEMPOOL: op in a, pool in id */
} HmThreadEvent;

typedef enum {
  HM_DECODE_EVENT = 1,     /* *out holds an event */
  HM_DECODE_STATE = 0,     /* PAD or SYNC: only the state changed */
  HM_DECODE_BAD = -1,      /* not a thread event, or cut short */
} HmDecodeResult;

/* Decodes the event at *p (not past end), advancing *p and the delta state
 * *ticks and *addr. */
HmDecodeResult hm_thread_event_decode (const uint8_t **p, const uint8_t *end, uint64_t *ticks,
                                       uint64_t *addr, HmThreadEvent *out);
