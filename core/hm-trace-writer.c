/* hm-trace-writer.c — fills caller-owned buffers with trace bytes.
 *
 * No allocation, no GLib, no stdio: this runs inside traced processes.
 */
#include "hm-trace-writer.h"
#include "hm-varint.h"

#include <string.h>
#if defined(__x86_64__)
#if HAVE_SYS_PLATFORM_X86_H
#include <sys/platform/x86.h>
#else
#include <cpuid.h>
#endif
#endif

void
hm_trace_write_header (uint8_t *out, const HmTraceHeaderInfo *info)
{
  memset (out, 0, HM_TRACE_HEADER_SIZE);
  memcpy (out, HM_TRACE_MAGIC, HM_TRACE_MAGIC_LEN);
  out[8] = HM_TRACE_VERSION_MAJOR & 0xff;
  out[9] = HM_TRACE_VERSION_MAJOR >> 8;
  out[10] = HM_TRACE_VERSION_MINOR & 0xff;
  out[11] = HM_TRACE_VERSION_MINOR >> 8;
  hm_put_le32 (out + 12, HM_TRACE_HEADER_SIZE);
  hm_put_le32 (out + 16, info->pid);
  hm_put_le32 (out + 20, info->flags);
  hm_put_le64 (out + 24, info->start_monotonic_ns);
  hm_put_le64 (out + 32, info->start_realtime_ns);
  hm_put_le32 (out + 40, (uint32_t) sizeof (void *));
  hm_put_le32 (out + 44, info->page_size);
}

void
hm_trace_write_chunk_header (uint8_t *out, uint32_t payload_bytes, uint32_t crc, uint32_t tid,
                             uint64_t base_tsc, uint64_t base_addr)
{
  hm_put_le32 (out, HM_TRACE_CHUNK_MAGIC);
  hm_put_le32 (out + 4, payload_bytes);
  hm_put_le32 (out + 8, crc);
  hm_put_le32 (out + 12, tid);
  hm_put_le64 (out + 16, base_tsc);
  hm_put_le64 (out + 24, base_addr);
}

void
hm_chunk_begin (HmChunkBuilder *chunk, uint8_t *data, size_t capacity, uint32_t tid,
                uint64_t base_tsc, uint64_t base_addr)
{
  chunk->data = data;
  chunk->capacity = capacity;
  chunk->length = HM_TRACE_CHUNK_HEADER_SIZE;
  chunk->n_events = 0;
  chunk->tid = tid;
  chunk->base_tsc = chunk->last_tsc = base_tsc;
  chunk->base_addr = chunk->last_addr = base_addr;
}

size_t
hm_chunk_finish (HmChunkBuilder *chunk)
{
  uint32_t payload = (uint32_t) (chunk->length - HM_TRACE_CHUNK_HEADER_SIZE);
  hm_trace_write_chunk_header (chunk->data, payload,
                               hm_crc32c (0, chunk->data + HM_TRACE_CHUNK_HEADER_SIZE, payload),
                               chunk->tid, chunk->base_tsc, chunk->base_addr);
  return chunk->length;
}

/* --- primitive encoders: callers have checked the room ------------------ */

static inline uint8_t *
put_dt (HmChunkBuilder *c, uint8_t *p, uint64_t ticks)
{
  p = hm_put_sv (p, (int64_t) (ticks - c->last_tsc));
  c->last_tsc = ticks;
  return p;
}

static inline uint8_t *
put_addr (HmChunkBuilder *c, uint8_t *p, uint64_t addr)
{
  p = hm_put_sv (p, (int64_t) (addr - c->last_addr));
  c->last_addr = addr;
  return p;
}

static inline uint8_t *
put_bytes (uint8_t *p, const void *data, size_t len)
{
  p = hm_put_uv (p, len);
  if (len > 0)
    memcpy (p, data, len);
  return p + len;
}

static size_t
bounded_strlen (const char *s)
{
  size_t n = s ? strlen (s) : 0;
  return n > HM_TRACE_MAX_STRING ? HM_TRACE_MAX_STRING : n;
}

static inline uint8_t *
cursor (HmChunkBuilder *c)
{
  return c->data + c->length;
}

static inline bool
commit (HmChunkBuilder *c, uint8_t *end)
{
  c->length = (size_t) (end - c->data);
  c->n_events++;
  return true;
}

#define NEED(c, n) do { if (hm_chunk_room (c) < (size_t) (n)) return false; } while (0)

bool
hm_chunk_put_info (HmChunkBuilder *c, const char *key, const char *value)
{
  size_t kl = bounded_strlen (key), vl = bounded_strlen (value);
  NEED (c, 1 + 10 + kl + 10 + vl);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_INFO;
  p = put_bytes (p, key, kl);
  p = put_bytes (p, value, vl);
  return commit (c, p);
}

bool
hm_chunk_put_thread_name (HmChunkBuilder *c, uint64_t ticks, uint64_t tid, const char *name)
{
  size_t nl = bounded_strlen (name);
  NEED (c, 1 + 10 + 10 + 10 + nl);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_THREAD_NAME;
  p = hm_put_uv (p, ticks);
  p = hm_put_uv (p, tid);
  p = put_bytes (p, name, nl);
  return commit (c, p);
}

bool
hm_chunk_put_module_load (HmChunkBuilder *c, uint64_t ticks, uint64_t id, uint64_t bias,
                          uint64_t start, uint64_t end, const char *path,
                          const uint8_t *build_id, size_t build_id_len)
{
  size_t pl = bounded_strlen (path);
  if (build_id_len > 255)
    build_id_len = 255;
  NEED (c, 1 + 6 * 10 + pl + 10 + build_id_len);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_MODULE_LOAD;
  p = hm_put_uv (p, ticks);
  p = hm_put_uv (p, id);
  p = hm_put_uv (p, bias);
  p = hm_put_uv (p, start);
  p = hm_put_uv (p, end);
  p = put_bytes (p, path, pl);
  p = put_bytes (p, build_id, build_id_len);
  return commit (c, p);
}

bool
hm_chunk_put_module_unload (HmChunkBuilder *c, uint64_t ticks, uint64_t id)
{
  NEED (c, 1 + 20);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_MODULE_UNLOAD;
  p = hm_put_uv (p, ticks);
  p = hm_put_uv (p, id);
  return commit (c, p);
}

bool
hm_chunk_put_frame (HmChunkBuilder *c, uint64_t node, uint64_t parent, uint64_t ip)
{
  NEED (c, 1 + 30);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_FRAME;
  p = hm_put_uv (p, node);
  p = hm_put_uv (p, parent);
  p = hm_put_uv (p, ip);
  return commit (c, p);
}

bool
hm_chunk_put_stack (HmChunkBuilder *c, uint64_t stack, uint64_t node)
{
  NEED (c, 1 + 20);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_STACK;
  p = hm_put_uv (p, stack);
  p = hm_put_uv (p, node);
  return commit (c, p);
}

bool
hm_chunk_put_clock (HmChunkBuilder *c, uint64_t ticks, uint64_t ns)
{
  NEED (c, 1 + 20);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_CLOCK;
  p = hm_put_uv (p, ticks);
  p = hm_put_uv (p, ns);
  return commit (c, p);
}

bool
hm_chunk_put_round (HmChunkBuilder *c, uint64_t ticks)
{
  NEED (c, 1 + 10);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_ROUND;
  p = hm_put_uv (p, ticks);
  return commit (c, p);
}

bool
hm_chunk_put_mark (HmChunkBuilder *c, uint64_t ticks, const char *text)
{
  size_t tl = bounded_strlen (text);
  NEED (c, 1 + 20 + tl);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_MARK;
  p = hm_put_uv (p, ticks);
  p = put_bytes (p, text, tl);
  return commit (c, p);
}

bool
hm_chunk_put_end (HmChunkBuilder *c, uint64_t ticks, HmEndReason reason, int64_t status)
{
  NEED (c, 1 + 30);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_END;
  p = hm_put_uv (p, ticks);
  p = hm_put_uv (p, (uint64_t) reason);
  p = hm_put_sv (p, status);
  return commit (c, p);
}

bool
hm_chunk_put_dropped (HmChunkBuilder *c, uint64_t ticks, uint64_t n_events)
{
  NEED (c, 1 + 20);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_DROPPED;
  p = hm_put_uv (p, ticks);
  p = hm_put_uv (p, n_events);
  return commit (c, p);
}

bool
hm_chunk_put_alloc (HmChunkBuilder *c, uint64_t ticks, HmAllocFn fn, uint64_t addr,
                    uint64_t size, uint64_t stack)
{
  NEED (c, 1 + 40);
  uint8_t *p = cursor (c);
  *p++ = (uint8_t) (HM_EV_ALLOC | (fn & 0x0f));
  p = put_dt (c, p, ticks);
  p = put_addr (c, p, addr);
  p = hm_put_uv (p, size);
  p = hm_put_uv (p, stack);
  return commit (c, p);
}

/* An extension event (kind >= 0x80) whose payload is one byte and four
 * values: at most 41 bytes, so one byte of length. */
static bool
put_extension4 (HmChunkBuilder *c, uint8_t kind, uint8_t byte, uint64_t a, uint64_t b,
                uint64_t d, uint64_t e)
{
  NEED (c, 2 + 1 + 40);
  uint8_t *p = cursor (c);
  *p++ = kind;
  uint8_t *len = p++;
  uint8_t *payload = p;
  *p++ = byte;
  p = hm_put_uv (p, a);
  p = hm_put_uv (p, b);
  p = hm_put_uv (p, d);
  p = hm_put_uv (p, e);
  *len = (uint8_t) (p - payload);
  return commit (c, p);
}

bool
hm_chunk_put_alloc_x (HmChunkBuilder *c, uint64_t ticks, HmAllocFn fn, uint64_t addr,
                      uint64_t size, uint64_t stack)
{
  return put_extension4 (c, HM_EV_ALLOC_X, (uint8_t) fn, ticks, addr, size, stack);
}

bool
hm_chunk_put_free (HmChunkBuilder *c, uint64_t ticks, HmAllocFn fn, uint64_t addr)
{
  NEED (c, 1 + 21);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_FREE;
  p = put_dt (c, p, ticks);
  p = put_addr (c, p, addr);
  *p++ = (uint8_t) fn;
  return commit (c, p);
}

bool
hm_chunk_put_realloc (HmChunkBuilder *c, uint64_t ticks, uint64_t old_addr, uint64_t new_addr,
                      uint64_t size, uint64_t stack)
{
  NEED (c, 1 + 50);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_REALLOC;
  p = put_dt (c, p, ticks);
  p = put_addr (c, p, old_addr);
  p = put_addr (c, p, new_addr);
  p = hm_put_uv (p, size);
  p = hm_put_uv (p, stack);
  return commit (c, p);
}

bool
hm_chunk_put_thread_end (HmChunkBuilder *c, uint64_t ticks)
{
  NEED (c, 1 + 10);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_THREAD_END;
  p = put_dt (c, p, ticks);
  return commit (c, p);
}

bool
hm_chunk_put_sync (HmChunkBuilder *c)
{
  NEED (c, 1 + 20);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_SYNC;
  p = hm_put_uv (p, c->last_tsc);
  p = hm_put_uv (p, c->last_addr);
  return commit (c, p);
}

bool
hm_chunk_put_object_name (HmChunkBuilder *c, uint64_t what, uint64_t id, const char *name)
{
  size_t nl = bounded_strlen (name);
  NEED (c, 1 + 20 + 10 + nl);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_OBJECT_NAME;
  p = hm_put_uv (p, what);
  p = hm_put_uv (p, id);
  p = put_bytes (p, name, nl);
  return commit (c, p);
}

bool
hm_chunk_put_profile_decision (HmChunkBuilder *c, uint64_t ticks, uint64_t choice,
                               const char *site, const char *why)
{
  size_t sl = bounded_strlen (site), wl = bounded_strlen (why);
  NEED (c, 1 + 30 + 10 + sl + wl);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_PROFILE_DECISION;
  p = hm_put_uv (p, ticks);
  p = hm_put_uv (p, choice);
  p = put_bytes (p, site, sl);
  p = put_bytes (p, why, wl);
  return commit (c, p);
}

bool
hm_chunk_put_region_create (HmChunkBuilder *c, uint64_t ticks, uint64_t region, uint64_t stack)
{
  NEED (c, 1 + 30);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_REGION_CREATE;
  p = put_dt (c, p, ticks);
  p = hm_put_uv (p, region);
  p = hm_put_uv (p, stack);
  return commit (c, p);
}

bool
hm_chunk_put_region_alloc (HmChunkBuilder *c, uint64_t ticks, uint64_t region, uint64_t addr,
                           uint64_t size)
{
  NEED (c, 1 + 40);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_REGION_ALLOC;
  p = put_dt (c, p, ticks);
  p = hm_put_uv (p, region);
  p = put_addr (c, p, addr);
  p = hm_put_uv (p, size);
  return commit (c, p);
}

bool
hm_chunk_put_region_live (HmChunkBuilder *c, uint64_t ticks, uint64_t region,
                          uint64_t n_allocations, uint64_t bytes)
{
  return put_extension4 (c, HM_EV_REGION_LIVE, 0, ticks, region, n_allocations, bytes);
}

bool
hm_chunk_put_object_event (HmChunkBuilder *c, uint8_t kind, uint64_t ticks, uint64_t id)
{
  NEED (c, 1 + 20);
  uint8_t *p = cursor (c);
  *p++ = kind;
  p = put_dt (c, p, ticks);
  p = hm_put_uv (p, id);
  return commit (c, p);
}

bool
hm_chunk_put_pool_create (HmChunkBuilder *c, uint64_t ticks, uint64_t pool, uint64_t object_size,
                          uint64_t capacity, uint64_t stack)
{
  NEED (c, 1 + 50);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_POOL_CREATE;
  p = put_dt (c, p, ticks);
  p = hm_put_uv (p, pool);
  p = hm_put_uv (p, object_size);
  p = hm_put_uv (p, capacity);
  p = hm_put_uv (p, stack);
  return commit (c, p);
}

bool
hm_chunk_put_pool_object (HmChunkBuilder *c, uint8_t kind, uint64_t ticks, uint64_t pool,
                          uint64_t addr)
{
  NEED (c, 1 + 30);
  uint8_t *p = cursor (c);
  *p++ = kind;
  p = put_dt (c, p, ticks);
  p = hm_put_uv (p, pool);
  p = put_addr (c, p, addr);
  return commit (c, p);
}

bool
hm_chunk_put_gc_collect (HmChunkBuilder *c, uint64_t ticks, uint64_t pause_ns,
                         uint64_t freed_bytes, uint64_t freed_objects, uint64_t live_bytes)
{
  NEED (c, 1 + 50);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_GC_COLLECT;
  p = put_dt (c, p, ticks);
  p = hm_put_uv (p, pause_ns);
  p = hm_put_uv (p, freed_bytes);
  p = hm_put_uv (p, freed_objects);
  p = hm_put_uv (p, live_bytes);
  return commit (c, p);
}

bool
hm_chunk_put_warning (HmChunkBuilder *c, uint64_t ticks, HmWarningKind warning, uint64_t addr,
                      uint64_t size, uint64_t stack, uint64_t alloc_stack, uint64_t free_stack,
                      uint64_t object)
{
  NEED (c, 1 + 80);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_WARNING;
  p = put_dt (c, p, ticks);
  p = hm_put_uv (p, (uint64_t) warning);
  p = put_addr (c, p, addr);
  p = hm_put_uv (p, size);
  p = hm_put_uv (p, stack);
  p = hm_put_uv (p, alloc_stack);
  p = hm_put_uv (p, free_stack);
  p = hm_put_uv (p, object);
  return commit (c, p);
}

/* --- CRC-32C ----------------------------------------------------------------- */

static uint32_t crc_table[256];
static int crc_table_ready;

static void
crc_table_init (void)
{
  for (uint32_t i = 0; i < 256; i++)
    {
      uint32_t c = i;
      for (int k = 0; k < 8; k++)
        c = (c & 1) ? 0x82f63b78u ^ (c >> 1) : c >> 1;
      crc_table[i] = c;
    }
  __atomic_store_n (&crc_table_ready, 1, __ATOMIC_RELEASE);
}

static uint32_t
crc32c_soft (uint32_t crc, const uint8_t *p, size_t len)
{
  /* Racing initialisations write identical values; harmless. */
  if (!__atomic_load_n (&crc_table_ready, __ATOMIC_ACQUIRE))
    crc_table_init ();
  while (len--)
    crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
/* Whether the CPU has the crc32 instruction.  glibc's <sys/platform/x86.h>
 * reads what the loader found out at startup; __builtin_cpu_supports would
 * link libgcc's own detector, a constructor that runs a dozen cpuid
 * instructions in every process that loads us, and each one traps to the
 * hypervisor on a virtual machine: 3% of a preloaded program's start. */
static int
cpu_has_sse42 (void)
{
#if HAVE_SYS_PLATFORM_X86_H
  return CPU_FEATURE_ACTIVE (SSE4_2) ? 1 : 0;
#else
  unsigned a, b, c, d;
  return __get_cpuid (1, &a, &b, &c, &d) && (c & bit_SSE4_2) ? 1 : 0;
#endif
}

__attribute__ ((target ("sse4.2"))) static uint32_t
crc32c_sse42 (uint32_t crc, const uint8_t *p, size_t len)
{
  uint64_t c = crc;
  while (len >= 8)
    {
      uint64_t word;
      memcpy (&word, p, 8);
      c = __builtin_ia32_crc32di (c, word);
      p += 8;
      len -= 8;
    }
  crc = (uint32_t) c;
  while (len--)
    crc = __builtin_ia32_crc32qi (crc, *p++);
  return crc;
}
#endif

uint32_t
hm_crc32c (uint32_t crc, const void *data, size_t len)
{
  crc = ~crc;
#if defined(__x86_64__)
  static int has_sse42 = -1;
  if (has_sse42 < 0)
    has_sse42 = cpu_has_sse42 ();
  if (has_sse42)
    return ~crc32c_sse42 (crc, data, len);
#endif
  return ~crc32c_soft (crc, data, len);
}

bool
hm_chunk_put_warning_location (HmChunkBuilder *c, uint64_t ticks, uint64_t addr, uint64_t where,
                               uint64_t word_addr, uint64_t tid, uint64_t block_addr,
                               uint64_t block_size, uint64_t block_stack, const char *text)
{
  size_t tl = bounded_strlen (text);
  if (tl > 1024)
    tl = 1024;
  uint8_t payload[8 * 10 + 10 + 1024];
  uint8_t *q = payload;
  q = hm_put_uv (q, ticks);
  q = hm_put_uv (q, addr);
  q = hm_put_uv (q, where);
  q = hm_put_uv (q, word_addr);
  q = hm_put_uv (q, tid);
  q = hm_put_uv (q, block_addr);
  q = hm_put_uv (q, block_size);
  q = hm_put_uv (q, block_stack);
  q = put_bytes (q, text, tl);
  size_t len = (size_t) (q - payload);
  NEED (c, 1 + 10 + len);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_WARNING_LOCATION;
  p = put_bytes (p, payload, len);
  return commit (c, p);
}

bool
hm_chunk_put_rss (HmChunkBuilder *c, uint64_t ticks, uint64_t rss_bytes)
{
  uint8_t payload[20];
  uint8_t *q = payload;
  q = hm_put_uv (q, ticks);
  q = hm_put_uv (q, rss_bytes);
  size_t len = (size_t) (q - payload);
  NEED (c, 1 + 10 + len);
  uint8_t *p = cursor (c);
  *p++ = HM_EV_RSS;
  p = put_bytes (p, payload, len);
  return commit (c, p);
}
