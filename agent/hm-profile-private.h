/* hm-profile-private.h — profiling and profile-guided allocation: what the
 * hooks (hm-interpose.c), the recorder (hm-profiler.c) and the applier
 * (hm-profile-apply.c) share, and the hot path as inline functions.
 */
#pragma once

#include "hm-agent-private.h"
#include "hm-profile-format.h"

/* Sites this process can tell apart; beyond, allocations are not profiled. */
#define HM_PROFILE_MAX_RUNTIME_SITES 16384u
#define HM_PROFILE_NO_SITE UINT32_MAX
#define HM_PROFILE_CACHE_ENTRIES 256u
#define HM_PROFILE_SAMPLE_EVERY 64u

typedef struct HmPool HmPool;
typedef struct HmLoadedSite HmLoadedSite;

/* One site, shared by every thread. */
typedef struct {
  uintptr_t ip;                 /* the return address into the caller */
  /* sampled estimates, under the sample lock */
  uint64_t live_count, live_bytes;
  uint64_t peak_live_count, peak_live_bytes;
  /* the applied profile's decision */
  HmPool *pool;                 /* serve requests up to pool_size from it */
  size_t pool_size;
  const HmLoadedSite *loaded;   /* the site as the applied file had it, or NULL */
} HmProfileSiteInfo;

typedef struct {
  uintptr_t ip;
  uint32_t index;
} HmProfileCacheEntry;

typedef struct HmProfileThread HmProfileThread;

/* 1 when malloc & co. go through the profile path (recording or applying) */
extern int hm_profile_active HM_HIDDEN;
extern int hm_profile_recording HM_HIDDEN;
/* 1 when some site is served from a pool: free asks the slab map */
extern int hm_profile_pools_active HM_HIDDEN;
/* 1 under minimize-memory: freed memory goes back to the OS in batches */
extern int hm_profile_trimming HM_HIDDEN;
extern HmProfileSiteInfo *hm_profile_sites HM_HIDDEN;
extern __thread HmProfileThread *hm_profile_self HM_TLS HM_HIDDEN;

/* hm-profiler.c */
int hm_profile_tables_init (void) HM_HIDDEN;
void hm_profile_recording_start (const char *path, unsigned interval) HM_HIDDEN;
void hm_profile_save_at_exit (void) HM_HIDDEN;
HmProfileThread *hm_profile_thread_register (void) HM_HIDDEN;
uint32_t hm_profile_cache_miss (HmProfileThread *t, uintptr_t ip) HM_HIDDEN;
uint32_t hm_profile_site_of (uintptr_t ip) HM_HIDDEN;
uint32_t hm_profile_site_add (uintptr_t ip) HM_HIDDEN;
uint64_t hm_profile_tsc_to_ns (uint64_t ticks) HM_HIDDEN;
const char *hm_profile_exe_name (void) HM_HIDDEN;
int hm_profile_describe_ip (uintptr_t ip, const char **module, uint64_t *module_offset,
                            const char **symbol, uint64_t *symbol_offset) HM_HIDDEN;
void hm_profile_out_str (void *out, const char *s) HM_HIDDEN;
void hm_profile_out_uint (void *out, uint64_t v) HM_HIDDEN;
void hm_profile_out_json_string (void *out, const char *s) HM_HIDDEN;
void hm_profile_out_raw (void *out, const char *s, size_t n) HM_HIDDEN;

/* hm-profile-apply.c */
/* Starts profiling and/or applies the profile, as options say; once. */
void hm_profile_start (const HmOptions *options) HM_HIDDEN;
HmStrategy hm_profile_file_strategy (void) HM_HIDDEN;
/* Reads a profile's bytes (bounded: no recursion deeper than 64, no number
 * past 2^53, no string past its field); 1, or 0 with why ("line L, column
 * C: …").  tests/fuzz/fuzz-agent-profile.c runs it on any bytes. */
int hm_profile_parse (const char *text, size_t length, char *why, size_t why_size) HM_HIDDEN;
void hm_profile_write_loaded_top (void *out) HM_HIDDEN;
void hm_profile_write_loaded_overrides (void *out, const HmLoadedSite *site) HM_HIDDEN;
void hm_profile_say (const char *line) HM_HIDDEN;
void hm_profile_trim_note_free (HmProfileThread *t, void *p) HM_HIDDEN;

/* hm-pool.c */
HmPool *hm_pool_new_for_malloc (const char *name, size_t object_size, size_t capacity) HM_HIDDEN;
HmPool *hm_pool_serving_malloc (const void *p) HM_HIDDEN;


struct HmLoadedSite {
  char module[256];
  uint64_t module_offset;
  int has_module_offset;
  char symbol[256];
  uint64_t symbol_offset;
  int has_symbol_offset;
  uint64_t address;
  uint64_t count, bytes, min_size, max_size, peak_live_count, peak_live_bytes, threads;
  uint64_t lifetime_median_ns;  /* UINT64_MAX: unknown */
  int strategy;                 /* -1: no override */
  uint64_t pool_object_size;    /* 0: unset */
  uint64_t pool_capacity;       /* 0: unset */
  int has_pool_capacity;
  /* the site's members as the file had them (between its braces), for a
   * site this run never found; and those of its members the agent does not
   * write itself (file, line, a person's notes), for one it did */
  const char *text;
  size_t text_len;
  size_t extras_start, extras_len;   /* in the applier's extras buffer */
  int resolved;                      /* found in this process */
};

/* Writes the sites of the applied file that this run never found, as the
 * file had them (each preceded by ",\n    " or, first, "\n    "). */
void hm_profile_write_unresolved (void *out, int *first) HM_HIDDEN;

static inline uint32_t
hm_profile_cache_index (uintptr_t ip)
{
  return (uint32_t) ((ip >> 2) ^ (ip >> 11)) & (HM_PROFILE_CACHE_ENTRIES - 1);
}

/* The site of a return address, as this thread last saw it. */
static inline uint32_t
hm_profile_site (HmProfileThread *t, uintptr_t ip)
{
  const HmProfileCacheEntry *e = &((const HmProfileCacheEntry *) t)[hm_profile_cache_index (ip)];
  if (HM_LIKELY (e->ip == ip))
    return e->index;
  return hm_profile_cache_miss (t, ip);
}
extern int hm_profile_early_samples HM_HIDDEN;

/* --- the recording hot path ------------------------------------------------------ */

#define HM_PROFILE_PAGE_SITES 256u
#define HM_PROFILE_N_PAGES (HM_PROFILE_MAX_RUNTIME_SITES / HM_PROFILE_PAGE_SITES)
#define HM_PROFILE_SAMPLE_FULL_FIRST 256u

/* One site's numbers as one thread counted them. */
typedef struct {
  uint64_t count;
  uint64_t bytes;
  uint64_t min_size;
  uint64_t max_size;
  uint64_t since_sample;      /* allocations since this thread's last sample here */
  uint64_t size_histogram[HM_PROFILE_SIZE_BUCKETS];
  uint64_t lifetime_histogram[HM_PROFILE_LIFETIME_BUCKETS];
} HmProfileThreadSite;

struct HmProfileThread {
  HmProfileCacheEntry cache[HM_PROFILE_CACHE_ENTRIES];  /* first: hm_profile_site reads it */
  HmProfileThreadSite *pages[HM_PROFILE_N_PAGES];
  HmProfileThread *next;      /* every table ever made, push-only */
  int in_use;                 /* 0: its thread ended; the next new thread takes it */
};

HmProfileThreadSite *hm_profile_thread_site_slow (HmProfileThread *t, uint32_t index) HM_HIDDEN;
void hm_profile_sample (HmProfileThreadSite *ts, uint32_t site, void *p, size_t size,
                        uint64_t count) HM_HIDDEN;
void hm_profile_sample_free (HmProfileThread *t, void *p) HM_HIDDEN;

static inline uint64_t
hm_profile_hash_addr (uintptr_t a)
{
  uint64_t h = (uint64_t) a;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

static inline HmProfileThreadSite *
hm_profile_thread_site (HmProfileThread *t, uint32_t index)
{
  HmProfileThreadSite *page = t->pages[index / HM_PROFILE_PAGE_SITES];
  if (HM_LIKELY (page != NULL))
    return &page[index % HM_PROFILE_PAGE_SITES];
  return hm_profile_thread_site_slow (t, index);
}

/* Counts one allocation; samples it (see hm-profiler.c) when its turn comes:
 * its address hashes to 0, and (so that a program reusing one such address
 * cannot make every allocation a sample) a few allocations came since the
 * last sample. */
static inline void
hm_profile_note_alloc (HmProfileThread *t, uint32_t site, void *p, size_t size)
{
  HmProfileThreadSite *ts = hm_profile_thread_site (t, site);
  if (HM_UNLIKELY (ts == NULL))
    return;
  uint64_t count = ++ts->count;
  ts->bytes += size;
  if (HM_UNLIKELY (size < ts->min_size || count == 1))
    ts->min_size = size;
  if (HM_UNLIKELY (size > ts->max_size))
    ts->max_size = size;
  ts->size_histogram[hm_profile_bucket (size, HM_PROFILE_SIZE_BUCKETS)]++;
  if (HM_UNLIKELY (count <= HM_PROFILE_SAMPLE_FULL_FIRST)
      || (++ts->since_sample >= HM_PROFILE_SAMPLE_EVERY / 8
          && HM_UNLIKELY ((hm_profile_hash_addr ((uintptr_t) p)
                           & (HM_PROFILE_SAMPLE_EVERY - 1)) == 0)))
    hm_profile_sample (ts, site, p, size, count);
}

/* A block is freed: only a block whose address hashes to 0 (or, while any
 * is live, one of a site's first) can have been sampled. */
static inline void
hm_profile_note_free (HmProfileThread *t, void *p)
{
  if (HM_UNLIKELY ((hm_profile_hash_addr ((uintptr_t) p) & (HM_PROFILE_SAMPLE_EVERY - 1)) == 0
                   || hm_profile_early_samples != 0))
    hm_profile_sample_free (t, p);
}
