/* hm-trace-writer.h — encoding of the trace format, without GLib.
 *
 * The agent links this to write traces from inside a traced process, so it
 * uses nothing but libc, never allocates, and never calls stdio.  The caller
 * owns every buffer; these functions only fill them.  Tests use the same
 * encoders to build traces byte by byte.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hm-trace-format.h"

typedef struct {
  uint32_t pid;
  uint32_t flags;
  uint64_t start_monotonic_ns;
  uint64_t start_realtime_ns;
  uint32_t page_size;
} HmTraceHeaderInfo;

/* A chunk being built: payload goes after room for the chunk header. */
typedef struct {
  uint8_t *data;        /* HM_TRACE_CHUNK_HEADER_SIZE bytes of header, then payload */
  size_t capacity;      /* bytes at data */
  size_t length;        /* header + payload written so far */
  uint32_t n_events;
  uint32_t tid;
  uint64_t base_tsc;    /* delta state at the start of the payload */
  uint64_t base_addr;
  uint64_t last_tsc;    /* delta state now */
  uint64_t last_addr;
} HmChunkBuilder;

/* Fills HM_TRACE_HEADER_SIZE bytes at out. */
void hm_trace_write_header (uint8_t *out, const HmTraceHeaderInfo *info);

/* Fills HM_TRACE_CHUNK_HEADER_SIZE bytes for a payload built elsewhere (the
 * agent writes thread chunks straight from its rings). */
void hm_trace_write_chunk_header (uint8_t *out, uint32_t payload_bytes, uint32_t crc,
                                  uint32_t tid, uint64_t base_tsc, uint64_t base_addr);

void hm_chunk_begin (HmChunkBuilder *chunk, uint8_t *data, size_t capacity, uint32_t tid,
                     uint64_t base_tsc, uint64_t base_addr);
/* Bytes still free in the chunk. */
static inline size_t
hm_chunk_room (const HmChunkBuilder *chunk)
{
  return chunk->capacity - chunk->length;
}
/* Writes the chunk header (size, CRC); returns the chunk's total size. */
size_t hm_chunk_finish (HmChunkBuilder *chunk);

/* Encoders.  Each returns false, writing nothing, when the event does not fit:
 * the caller then finishes the chunk and starts a new one. */

/* metadata chunks (tid HM_TRACE_META_TID); ticks are absolute */
bool hm_chunk_put_info (HmChunkBuilder *c, const char *key, const char *value);
bool hm_chunk_put_thread_name (HmChunkBuilder *c, uint64_t ticks, uint64_t tid, const char *name);
bool hm_chunk_put_module_load (HmChunkBuilder *c, uint64_t ticks, uint64_t id, uint64_t bias,
                               uint64_t start, uint64_t end, const char *path,
                               const uint8_t *build_id, size_t build_id_len);
bool hm_chunk_put_module_unload (HmChunkBuilder *c, uint64_t ticks, uint64_t id);
bool hm_chunk_put_frame (HmChunkBuilder *c, uint64_t node, uint64_t parent, uint64_t ip);
bool hm_chunk_put_stack (HmChunkBuilder *c, uint64_t stack, uint64_t node);
bool hm_chunk_put_clock (HmChunkBuilder *c, uint64_t ticks, uint64_t ns);
bool hm_chunk_put_round (HmChunkBuilder *c, uint64_t ticks);
bool hm_chunk_put_mark (HmChunkBuilder *c, uint64_t ticks, const char *text);
bool hm_chunk_put_end (HmChunkBuilder *c, uint64_t ticks, HmEndReason reason, int64_t status);
bool hm_chunk_put_dropped (HmChunkBuilder *c, uint64_t ticks, uint64_t n_events);
bool hm_chunk_put_object_name (HmChunkBuilder *c, uint64_t what, uint64_t id, const char *name);
/* What an applied profile chose for a site (metadata chunks). */
bool hm_chunk_put_profile_decision (HmChunkBuilder *c, uint64_t ticks, uint64_t choice,
                                    const char *site, const char *why);
/* The WARNING_LOCATION extension: where the dangling pointer of the WARNING
 * at ticks (pointing at addr) is stored. */
bool hm_chunk_put_warning_location (HmChunkBuilder *c, uint64_t ticks, uint64_t addr,
                                    uint64_t where, uint64_t word_addr, uint64_t tid,
                                    uint64_t block_addr, uint64_t block_size,
                                    uint64_t block_stack, const char *text);

/* thread chunks; ticks are encoded as deltas */
/* RSS (extension, minor 2): the process's resident bytes at ticks. */
bool hm_chunk_put_rss (HmChunkBuilder *c, uint64_t ticks, uint64_t rss_bytes);
/* ALLOC_X (extension, minor 2): an allocation by a function >= 16. */
bool hm_chunk_put_alloc_x (HmChunkBuilder *c, uint64_t ticks, HmAllocFn fn, uint64_t addr,
                           uint64_t size, uint64_t stack);
bool hm_chunk_put_alloc (HmChunkBuilder *c, uint64_t ticks, HmAllocFn fn, uint64_t addr,
                         uint64_t size, uint64_t stack);
bool hm_chunk_put_free (HmChunkBuilder *c, uint64_t ticks, HmAllocFn fn, uint64_t addr);
bool hm_chunk_put_realloc (HmChunkBuilder *c, uint64_t ticks, uint64_t old_addr,
                           uint64_t new_addr, uint64_t size, uint64_t stack);
bool hm_chunk_put_thread_end (HmChunkBuilder *c, uint64_t ticks);
bool hm_chunk_put_sync (HmChunkBuilder *c);
bool hm_chunk_put_region_create (HmChunkBuilder *c, uint64_t ticks, uint64_t region, uint64_t stack);
bool hm_chunk_put_region_alloc (HmChunkBuilder *c, uint64_t ticks, uint64_t region, uint64_t addr,
                                uint64_t size);
/* REGION_RESET, REGION_FREE, POOL_FREE: kind and the object's id */
bool hm_chunk_put_object_event (HmChunkBuilder *c, uint8_t kind, uint64_t ticks, uint64_t id);
/* REGION_LIVE (extension, minor 2): in a flight-recorder dump's live set,
 * the n_allocations and bytes a region held at ticks, since its last reset. */
bool hm_chunk_put_region_live (HmChunkBuilder *c, uint64_t ticks, uint64_t region,
                               uint64_t n_allocations, uint64_t bytes);
bool hm_chunk_put_pool_create (HmChunkBuilder *c, uint64_t ticks, uint64_t pool,
                               uint64_t object_size, uint64_t capacity, uint64_t stack);
/* POOL_GET, POOL_RETURN */
bool hm_chunk_put_pool_object (HmChunkBuilder *c, uint8_t kind, uint64_t ticks, uint64_t pool,
                               uint64_t addr);
bool hm_chunk_put_gc_collect (HmChunkBuilder *c, uint64_t ticks, uint64_t pause_ns,
                              uint64_t freed_bytes, uint64_t freed_objects, uint64_t live_bytes);
bool hm_chunk_put_warning (HmChunkBuilder *c, uint64_t ticks, HmWarningKind warning,
                           uint64_t addr, uint64_t size, uint64_t stack, uint64_t alloc_stack,
                           uint64_t free_stack, uint64_t object);

/* CRC-32C (Castagnoli, as iSCSI and ext4 use) of len bytes, continuing from
 * crc; the SSE4.2 instruction when the processor has it. */
uint32_t hm_crc32c (uint32_t crc, const void *data, size_t len);

/* Little-endian helpers shared with the reader. */
static inline void
hm_put_le32 (uint8_t *p, uint32_t v)
{
  p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}
static inline void
hm_put_le64 (uint8_t *p, uint64_t v)
{
  hm_put_le32 (p, (uint32_t) v);
  hm_put_le32 (p + 4, (uint32_t) (v >> 32));
}
static inline uint32_t
hm_get_le32 (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}
static inline uint64_t
hm_get_le64 (const uint8_t *p)
{
  return (uint64_t) hm_get_le32 (p) | (uint64_t) hm_get_le32 (p + 4) << 32;
}
