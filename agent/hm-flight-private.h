/* hm-flight-private.h — the flight recorder (HM_FLIGHT_RECORDER=SECONDS):
 * what hm-flight.c keeps, and what the writer, the listener and the agent
 * ask of it.  See hm-flight.c and core/trace-format.md ("Flight-recorder
 * dumps"). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hm-agent-private.h"

typedef struct {
  uint64_t window_ns;          /* HM_FLIGHT_RECORDER, in ns */
  uint64_t window_bytes;       /* HM_FLIGHT_RECORDER_BYTES: the window ring's size */
} HmFlightConfig;

#define HM_FLIGHT_DEFAULT_BYTES (32ull << 20)
#define HM_FLIGHT_MIN_BYTES (1ull << 20)
#define HM_FLIGHT_MAX_BYTES (16ull << 30)

typedef enum {
  HM_FLIGHT_THREAD_CHUNK = 1,
  HM_FLIGHT_META_CHUNK = 2,
} HmFlightChunk;

typedef struct {
  uint64_t window_ns;
  uint64_t window_span_ns;         /* how much time the window holds now */
  uint64_t window_cap_bytes;
  uint64_t window_used_bytes;
  uint64_t window_high_water_bytes;
  uint64_t window_chunks;
  uint64_t n_live;                 /* blocks live at the window's start */
  uint64_t live_bytes;
  uint64_t n_regions;              /* regions and pools live at the window's start */
  uint64_t n_pools;
  uint64_t n_pool_objects;         /* objects out of those pools */
  uint64_t table_bytes;            /* the live tables' mappings */
  uint64_t table_lost;
  uint64_t dict_bytes;             /* modules and the stack tree */
  uint64_t ring_bytes;             /* the threads' event rings */
} HmFlightStats;

/* hm-options.c: HM_FLIGHT_RECORDER and HM_FLIGHT_RECORDER_BYTES; false
 * when the flight recorder is off (a bad value says so on stderr). */
bool hm_flight_options (HmFlightConfig *out) HM_HIDDEN;

/* hm-flight.c (the writer thread, or a crash handler holding the writer's lock) */
int hm_flight_start (const HmFlightConfig *config) HM_HIDDEN;
const HmFlightConfig *hm_flight_config (void) HM_HIDDEN;
void hm_flight_store (HmFlightChunk kind, uint64_t round_cut, const uint8_t *header,
                      const uint8_t *payload, uint32_t payload_bytes) HM_HIDDEN;
void hm_flight_dict_append (const uint8_t *chunk, size_t bytes) HM_HIDDEN;
/* A round ended at cut: the clock, and rounds older than the window go. */
void hm_flight_note_round (uint64_t cut, uint64_t ns_since_start) HM_HIDDEN;
uint64_t hm_flight_window_start (void) HM_HIDDEN;
void hm_flight_latest_clock (uint64_t *tsc, uint64_t *ns) HM_HIDDEN;
void hm_flight_dict (const uint8_t **bytes, size_t *len) HM_HIDDEN;
void hm_flight_each_live (void (*fn) (uint64_t addr, uint64_t size, uint32_t stack,
                                      uint8_t fn_kind, void *data), void *data) HM_HIDDEN;
/* The regions and pools live at the window's start: each region (what it
 * holds since its last reset), each pool, then each object out of a pool. */
typedef struct {
  void (*region) (uint64_t id, uint32_t stack, uint64_t n_allocations, uint64_t bytes,
                  void *data);
  void (*pool) (uint64_t id, uint32_t stack, uint64_t object_size, uint64_t capacity,
                void *data);
  void (*pool_object) (uint64_t pool, uint64_t addr, void *data);
} HmFlightObjectFns;
void hm_flight_each_object (const HmFlightObjectFns *fns, void *data) HM_HIDDEN;
void hm_flight_each_chunk (void (*fn) (const uint8_t *chunk, uint32_t bytes, void *data),
                           void *data) HM_HIDDEN;
void hm_flight_get_stats (HmFlightStats *stats) HM_HIDDEN;

/* hm-flight-dump.c: where dumps go, and asking for one */
typedef enum {
  HM_DUMP_SIGNAL = 1,          /* HM_FLIGHT_SIGNAL (SIGUSR2) */
  HM_DUMP_REQUEST = 2,         /* hmtrace dump, the debugger (the agent's socket) */
  HM_DUMP_CRASH = 3,           /* a fatal signal */
} HmDumpTrigger;
/* Reads HM_FLIGHT_OUTPUT (or HM_TRACE) and the working directory: the
 * default dump name's base; installs the dump signal.  At start. */
void hm_flight_dump_setup (void) HM_HIDDEN;
/* A fork child records nothing: the dump signal gets its default back. */
void hm_flight_after_fork_child (void) HM_HIDDEN;
/* Opens the next dump file: path, or the default name with the next
 * number.  Returns the fd (the name in out), or -1 with errno set.  No
 * allocation, async-signal-safe. */
int hm_flight_open_dump (const char *path, char *out, size_t out_size) HM_HIDDEN;
/* From the listener: has the writer dump to path ("" for the default name)
 * and waits.  Returns 0 (out: the file) or an errno (out: a message). */
int hm_flight_request_dump (const char *path, char *out, size_t out_size) HM_HIDDEN;
/* The writer's loop: a dump was asked for (by the signal or a request)? */
bool hm_flight_dump_pending (void) HM_HIDDEN;
/* The writer's loop, with its lock held: runs the pending dumps through
 * write_dump (hm-writer.c). */
void hm_flight_run_pending (int (*write_dump) (int fd, HmDumpTrigger trigger, int signal_number))
  HM_HIDDEN;
/* One "key=value …" line of the stats, for the socket's "stats" request. */
size_t hm_flight_format_stats (char *out, size_t size) HM_HIDDEN;
