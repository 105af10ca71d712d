/* hm-profiler.c — per-site statistics of malloc & co., and memory_profile.json.
 *
 * A site is one call of an allocation function: its return address.  That
 * costs nothing to get (no unwinding), survives ASLR as module + offset, and
 * is what the profile's next run can recognise on its hot path.  Each thread
 * counts into its own table (no atomics, no lock): allocations, bytes, sizes.
 * What needs the block's free — lifetimes, live and peak counts — is kept
 * for sampled blocks only: every allocation of a site's first 256, then at
 * least HM_PROFILE_SAMPLE_EVERY allocations apart, a block whose address
 * hashes to 0 modulo HM_PROFILE_SAMPLE_EVERY, standing for that many.  So a free needs no memory access to know that its
 * block was not sampled: the hash of its address says so (the blocks of the
 * first 256 are looked up while any is live, and given up on once the
 * program is hot, so long-lived early blocks do not tax every free).
 *
 * The file is written by hand (no jansson, no malloc) into mapped memory,
 * then to a temporary file renamed over the profile: a crash never leaves
 * half a file.  Sites are named with dladdr at save time, never in a hook.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hm-profile-private.h"
#include "hm-sampler-private.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int hm_profile_active;
int hm_profile_recording;
HmProfileSiteInfo *hm_profile_sites;

#define SITE_SLOTS (HM_PROFILE_MAX_RUNTIME_SITES * 2)
#define SAMPLE_SLOTS (1u << 16)
#define FILTER_SLOTS (1u << 16)

/* --- the site table: return address -> site index ------------------------------- */

typedef struct {
  uintptr_t ip;               /* 0: empty */
  uint32_t index;
} SiteSlot;

static SiteSlot *site_slots;        /* open addressing, published with release stores */
static uint32_t n_sites;            /* sites [0, n_sites) are in use */
static pthread_mutex_t sites_lock = PTHREAD_MUTEX_INITIALIZER;

static inline uint64_t
hash_ip (uintptr_t ip)
{
  uint64_t h = (uint64_t) ip * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}

/* Under sites_lock, or before any thread can look. */
static uint32_t
site_insert_locked (uintptr_t ip)
{
  uint64_t mask = SITE_SLOTS - 1;
  for (uint64_t i = hash_ip (ip) & mask;; i = (i + 1) & mask)
    {
      SiteSlot *slot = &site_slots[i];
      if (slot->ip == ip)
        return slot->index;
      if (slot->ip == 0)
        {
          if (n_sites >= HM_PROFILE_MAX_RUNTIME_SITES)
            return HM_PROFILE_NO_SITE;
          uint32_t index = n_sites;
          hm_profile_sites[index].ip = ip;
          slot->index = index;
          __atomic_store_n (&slot->ip, ip, __ATOMIC_RELEASE);
          __atomic_store_n (&n_sites, index + 1, __ATOMIC_RELEASE);
          return index;
        }
    }
}

uint32_t
hm_profile_site_of (uintptr_t ip)
{
  uint64_t mask = SITE_SLOTS - 1;
  for (uint64_t i = hash_ip (ip) & mask;; i = (i + 1) & mask)
    {
      uintptr_t found = __atomic_load_n (&site_slots[i].ip, __ATOMIC_ACQUIRE);
      if (found == ip)
        return site_slots[i].index;
      if (found == 0)
        break;
    }
  pthread_mutex_lock (&sites_lock);
  uint32_t index = site_insert_locked (ip);
  pthread_mutex_unlock (&sites_lock);
  return index;
}

uint32_t
hm_profile_site_add (uintptr_t ip)
{
  pthread_mutex_lock (&sites_lock);
  uint32_t index = site_insert_locked (ip);
  pthread_mutex_unlock (&sites_lock);
  return index;
}

/* --- per-thread counts ------------------------------------------------------------ */

__thread HmProfileThread *hm_profile_self HM_TLS;
static HmProfileThread *all_threads;

/* Threads' tables come from a few big mappings, not one each: the collector
 * keeps a bounded list of the agent's mappings. */
#define ARENA_CHUNK ((size_t) 64 << 20)
static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *arena_cur, *arena_end;

static void *
arena_alloc (size_t bytes)
{
  void *p = NULL;
  bytes = (bytes + 63) & ~(size_t) 63;
  hm_guard++;
  pthread_mutex_lock (&arena_lock);
  if (arena_cur == NULL || (size_t) (arena_end - arena_cur) < bytes)
    {
      size_t size = bytes > ARENA_CHUNK ? bytes : ARENA_CHUNK;
      arena_cur = hm_agent_map (size);
      arena_end = arena_cur ? arena_cur + size : NULL;
    }
  if (arena_cur != NULL)
    {
      p = arena_cur;
      arena_cur += bytes;
    }
  pthread_mutex_unlock (&arena_lock);
  hm_guard--;
  return p;
}

static pthread_key_t thread_key;
static int have_thread_key;

/* A thread ended: its table is taken over by the next new thread (its
 * counts go on adding up; only "threads" then counts the two as one), so a
 * program that makes threads by the thousand does not grow us without end. */
static void
thread_ended (void *data)
{
  HmProfileThread *t = data;
  hm_profile_self = NULL;
  __atomic_store_n (&t->in_use, 0, __ATOMIC_RELEASE);
}

HmProfileThread *
hm_profile_thread_register (void)
{
  HmProfileThread *t;

  for (t = __atomic_load_n (&all_threads, __ATOMIC_ACQUIRE); t != NULL; t = t->next)
    {
      int expected = 0;
      if (__atomic_load_n (&t->in_use, __ATOMIC_RELAXED) == 0
          && __atomic_compare_exchange_n (&t->in_use, &expected, 1, false, __ATOMIC_ACQ_REL,
                                          __ATOMIC_RELAXED))
        break;
    }
  if (t == NULL)
    {
      t = arena_alloc (sizeof *t);
      if (t == NULL)
        return NULL;
      t->in_use = 1;
      HmProfileThread *head = __atomic_load_n (&all_threads, __ATOMIC_ACQUIRE);
      do
        t->next = head;
      while (!__atomic_compare_exchange_n (&all_threads, &head, t, true, __ATOMIC_ACQ_REL,
                                           __ATOMIC_ACQUIRE));
    }
  if (have_thread_key)
    {
      hm_guard++;
      pthread_setspecific (thread_key, t);
      hm_guard--;
    }
  hm_profile_self = t;
  return t;
}

uint32_t
hm_profile_cache_miss (HmProfileThread *t, uintptr_t ip)
{
  uint32_t index = hm_profile_site_of (ip);
  HmProfileCacheEntry *e = &t->cache[hm_profile_cache_index (ip)];
  e->ip = ip;
  e->index = index;
  return index;
}

HmProfileThreadSite *
hm_profile_thread_site_slow (HmProfileThread *t, uint32_t index)
{
  HmProfileThreadSite *page = t->pages[index / HM_PROFILE_PAGE_SITES];
  if (page == NULL)
    {
      page = arena_alloc (sizeof (HmProfileThreadSite) * HM_PROFILE_PAGE_SITES);
      if (page == NULL)
        return NULL;
      __atomic_store_n (&t->pages[index / HM_PROFILE_PAGE_SITES], page, __ATOMIC_RELEASE);
    }
  return &page[index % HM_PROFILE_PAGE_SITES];
}

static HmProfileThreadSite *
thread_site (HmProfileThread *t, uint32_t index)
{
  return hm_profile_thread_site (t, index);
}

/* --- sampled blocks ----------------------------------------------------------------- */

typedef struct {
  uintptr_t addr;             /* 0: empty */
  uint64_t tsc;
  uint32_t site;
  uint32_t weight;            /* 1: one of a site's first allocations (any address) */
  uint64_t size;
} Sample;

static Sample *samples;
static uint32_t n_samples;
int hm_profile_early_samples;       /* live samples whose address does not hash to 0 */
static uint32_t n_late_samples;     /* taken since the early ones were last given up */
static uint8_t *filter;             /* per hash bucket: samples in it (255: many) */
static int samples_lock;            /* a spinlock: held for a few probes */

static inline void
lock_samples (void)
{
  while (__atomic_exchange_n (&samples_lock, 1, __ATOMIC_ACQUIRE))
    while (__atomic_load_n (&samples_lock, __ATOMIC_RELAXED))
      __builtin_ia32_pause ();
}

static inline void
unlock_samples (void)
{
  __atomic_store_n (&samples_lock, 0, __ATOMIC_RELEASE);
}

#define hash_addr hm_profile_hash_addr

static inline uint32_t
filter_index (uintptr_t a)
{
  return (uint32_t) (hash_addr (a) >> 48) & (FILTER_SLOTS - 1);
}

static void
sample_add (uintptr_t addr, uint32_t site, uint32_t weight, uint64_t size)
{
  HmProfileSiteInfo *g = &hm_profile_sites[site];
  lock_samples ();
  if (n_samples < SAMPLE_SLOTS / 2)
    {
      uint32_t mask = SAMPLE_SLOTS - 1;
      for (uint32_t i = (uint32_t) hash_addr (addr) & mask;; i = (i + 1) & mask)
        if (samples[i].addr == 0 || samples[i].addr == addr)
          {
            if (samples[i].addr == 0)
              n_samples++;
            samples[i] = (Sample) { addr, hm_tsc (), site, weight, size };
            break;
          }
      if (weight == 1)
        hm_profile_early_samples++;
      uint8_t *f = &filter[filter_index (addr)];
      if (*f < 255)
        __atomic_store_n (f, (uint8_t) (*f + 1), __ATOMIC_RELAXED);
      g->live_count += weight;
      g->live_bytes += weight * size;
      if (g->live_count > g->peak_live_count)
        g->peak_live_count = g->live_count;
      if (g->live_bytes > g->peak_live_bytes)
        g->peak_live_bytes = g->live_bytes;
    }
  unlock_samples ();
}

/* The program is hot and early samples are still live: stop following them
 * (they leave the live counts as if freed; the peaks stay), so that frees
 * go back to asking no memory whether they were sampled. */
static void
give_up_early_samples (void)
{
  uint32_t mask = SAMPLE_SLOTS - 1;
  lock_samples ();
  for (uint32_t i = 0; i <= mask && hm_profile_early_samples > 0;)
    {
      Sample *s = &samples[i];
      if (s->addr == 0 || s->weight != 1)
        {
          i++;
          continue;
        }
      HmProfileSiteInfo *g = &hm_profile_sites[s->site];
      g->live_count -= 1;
      g->live_bytes -= s->size;
      uint8_t *f = &filter[filter_index (s->addr)];
      if (*f > 0 && *f < 255)
        *f = (uint8_t) (*f - 1);
      hm_profile_early_samples--;
      n_samples--;
      /* backward-shift deletion; slot i is looked at again */
      uint32_t hole = i;
      for (uint32_t j = (i + 1) & mask; samples[j].addr != 0; j = (j + 1) & mask)
        {
          uint32_t home = (uint32_t) hash_addr (samples[j].addr) & mask;
          if (((j - home) & mask) >= ((j - hole) & mask))
            {
              samples[hole] = samples[j];
              hole = j;
            }
        }
      samples[hole].addr = 0;
    }
  n_late_samples = 0;
  unlock_samples ();
}

/* A sampled block is freed: its lifetime goes to the freeing thread. */
static void
sample_remove (HmProfileThread *t, uintptr_t addr)
{
  uint32_t mask = SAMPLE_SLOTS - 1, i;
  Sample found = { 0 };

  lock_samples ();
  for (i = (uint32_t) hash_addr (addr) & mask; samples[i].addr != 0; i = (i + 1) & mask)
    if (samples[i].addr == addr)
      break;
  if (samples[i].addr == addr)
    {
      found = samples[i];
      /* backward-shift deletion keeps every probe chain whole */
      uint32_t hole = i;
      for (uint32_t j = (i + 1) & mask; samples[j].addr != 0; j = (j + 1) & mask)
        {
          uint32_t home = (uint32_t) hash_addr (samples[j].addr) & mask;
          if (((j - home) & mask) >= ((j - hole) & mask))
            {
              samples[hole] = samples[j];
              hole = j;
            }
        }
      samples[hole].addr = 0;
      n_samples--;
      uint8_t *f = &filter[filter_index (addr)];
      if (*f > 0 && *f < 255)
        __atomic_store_n (f, (uint8_t) (*f - 1), __ATOMIC_RELAXED);
      HmProfileSiteInfo *g = &hm_profile_sites[found.site];
      g->live_count -= found.weight;
      g->live_bytes -= found.weight * found.size;
      if (found.weight == 1)
        hm_profile_early_samples--;
    }
  unlock_samples ();
  if (found.addr == 0 || t == NULL)
    return;
  HmProfileThreadSite *ts = thread_site (t, found.site);
  if (ts != NULL)
    {
      uint64_t ns = hm_profile_tsc_to_ns (hm_tsc () - found.tsc);
      ts->lifetime_histogram[hm_profile_bucket (ns, HM_PROFILE_LIFETIME_BUCKETS)] += found.weight;
    }
}

/* --- the hot path ------------------------------------------------------------------- */

static uint64_t tsc_per_us = 1;

uint64_t
hm_profile_tsc_to_ns (uint64_t ticks)
{
  return ticks * 1000u / tsc_per_us;
}

/* The slow half of hm_profile_note_alloc: a block to sample. */
void
hm_profile_sample (HmProfileThreadSite *ts, uint32_t site, void *p, size_t size, uint64_t count)
{
  if (count <= HM_PROFILE_SAMPLE_FULL_FIRST)
    sample_add ((uintptr_t) p, site, 1, size);
  else
    {
      /* it stands for the 1 in HM_PROFILE_SAMPLE_EVERY addresses that hash to
       * 0, not for the allocations since the last sample: a program cycling
       * through few addresses would make that a huge weight at random */
      sample_add ((uintptr_t) p, site, HM_PROFILE_SAMPLE_EVERY, size);
      ts->since_sample = 0;
      if (HM_UNLIKELY (__atomic_add_fetch (&n_late_samples, 1, __ATOMIC_RELAXED) >= 4096)
          && hm_profile_early_samples > 0)
        give_up_early_samples ();
    }
}

void
hm_profile_sample_free (HmProfileThread *t, void *p)
{
  if (__atomic_load_n (&filter[filter_index ((uintptr_t) p)], __ATOMIC_RELAXED) == 0)
    return;
  /* a thread that only frees still gets the lifetimes it ends */
  if (t == NULL)
    t = hm_profile_thread_register ();
  sample_remove (t, (uintptr_t) p);
}

/* --- sampled counting (hm-sampler.c) ---------------------------------------------- */

/* A block of size bytes was sampled with the chance 1 - exp(-size/mean)
 * (hm-sampler.c's countdown): it stands for the inverse of that many
 * allocations.  The weight is made a whole number by rounding up or down
 * at random (by its address), which keeps every sum unbiased, as the trace
 * reader does for sampled traces. */
static uint32_t
sample_weight (uintptr_t p, size_t size, uint64_t mean)
{
  double chance = -expm1 (-(double) size / (double) mean);
  double w = chance > 0 ? 1.0 / chance : (double) UINT32_MAX;
  if (w >= (double) UINT32_MAX)
    return UINT32_MAX;
  uint32_t whole = (uint32_t) w;
  double u = (double) (hash_addr (p) >> 11) * 0x1p-53;
  return whole + (u < w - (double) whole);
}

void
hm_profile_note_sampled (uintptr_t ret, void *p, size_t size, uint64_t mean)
{
  HmProfileThread *t = hm_profile_self;
  if (!hm_profile_recording || ret == 0)
    return;
  hm_guard++;
  if (t == NULL)
    t = hm_profile_thread_register ();
  uint32_t site = t != NULL ? hm_profile_site (t, ret) : HM_PROFILE_NO_SITE;
  HmProfileThreadSite *ts = site != HM_PROFILE_NO_SITE ? thread_site (t, site) : NULL;
  if (ts != NULL)
    {
      uint32_t w = sample_weight ((uintptr_t) p, size, mean);
      if (ts->count == 0 || size < ts->min_size)
        ts->min_size = size;
      if (size > ts->max_size)
        ts->max_size = size;
      ts->count += w;
      ts->bytes += (uint64_t) w * size;
      ts->size_histogram[hm_profile_bucket (size, HM_PROFILE_SIZE_BUCKETS)] += w;
      /* followed to its free (the arena tells free() it was sampled) for
       * the lifetimes and the live and peak estimates */
      sample_add ((uintptr_t) p, site, w, size);
    }
  hm_guard--;
}

void
hm_profile_sampled_free (void *p)
{
  if (!hm_profile_recording)
    return;
  hm_guard++;
  hm_profile_sample_free (hm_profile_self, p);
  hm_guard--;
}

/* --- naming sites ------------------------------------------------------------------ */

typedef struct {
  char *buf;
  size_t len, cap;
  int failed;
} Out;

static void
out_bytes (Out *o, const char *s, size_t n)
{
  if (o->failed)
    return;
  if (o->len + n > o->cap)
    {
      size_t cap = o->cap ? o->cap : 1u << 20;
      while (cap < o->len + n)
        cap *= 2;
      void *p = o->buf ? mremap (o->buf, o->cap, cap, MREMAP_MAYMOVE)
                       : mmap (NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED)
        {
          o->failed = 1;
          return;
        }
      o->buf = p;
      o->cap = cap;
    }
  memcpy (o->buf + o->len, s, n);
  o->len += n;
}

static void
out_str (Out *o, const char *s)
{
  out_bytes (o, s, strlen (s));
}

static void
out_uint (Out *o, uint64_t v)
{
  char digits[24];
  int n = 0;
  do
    digits[sizeof digits - 1 - n++] = (char) ('0' + v % 10);
  while ((v /= 10) != 0);
  out_bytes (o, digits + sizeof digits - n, (size_t) n);
}

/* A JSON string: quotes and controls escaped, bytes that are not UTF-8 as '?'. */
static void
out_json_string (Out *o, const char *s)
{
  out_bytes (o, "\"", 1);
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        {
          char esc[2] = { '\\', (char) *p };
          out_bytes (o, esc, 2);
        }
      else if (*p < 0x20 || *p >= 0x80)
        out_bytes (o, "?", 1);
      else
        out_bytes (o, (const char *) p, 1);
    }
  out_bytes (o, "\"", 1);
}

static void
out_histogram (Out *o, const uint64_t *h, unsigned n)
{
  while (n > 0 && h[n - 1] == 0)
    n--;
  out_str (o, "[");
  for (unsigned i = 0; i < n; i++)
    {
      if (i)
        out_str (o, ", ");
      out_uint (o, h[i]);
    }
  out_str (o, "]");
}

static char exe_name[256];

static const char *
base_name (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

const char *
hm_profile_exe_name (void)
{
  if (exe_name[0] == '\0')
    {
      const char *path = hm_agent_exe ();
      if (*path != '\0')
        snprintf (exe_name, sizeof exe_name, "%.255s", base_name (path));
      else
        snprintf (exe_name, sizeof exe_name, "?");
    }
  return exe_name;
}

/* Where ip is: module basename, its offset there (ELF address), and the
 * dynamic symbol around it when there is one. */
int
hm_profile_describe_ip (uintptr_t ip, const char **module, uint64_t *module_offset,
                        const char **symbol, uint64_t *symbol_offset)
{
  Dl_info info;
  struct link_map *map = NULL;

  *symbol = NULL;
  if (dladdr1 ((void *) ip, &info, (void **) &map, RTLD_DL_LINKMAP) == 0 || map == NULL)
    return 0;
  *module = map->l_name != NULL && map->l_name[0] != '\0' ? base_name (map->l_name)
                                                          : hm_profile_exe_name ();
  *module_offset = ip - map->l_addr;
  if (info.dli_sname != NULL && info.dli_saddr != NULL && (uintptr_t) info.dli_saddr <= ip)
    {
      *symbol = info.dli_sname;
      *symbol_offset = ip - (uintptr_t) info.dli_saddr;
    }
  return 1;
}

/* --- saving --------------------------------------------------------------------------- */

static pthread_mutex_t save_lock = PTHREAD_MUTEX_INITIALIZER;
static int profiled_pid;

static void
write_site (Out *o, uint32_t index, int *first)
{
  HmProfileSiteInfo *g = &hm_profile_sites[index];
  HmProfileThreadSite sum = { 0 };
  uint64_t threads = 0;

  for (HmProfileThread *t = __atomic_load_n (&all_threads, __ATOMIC_ACQUIRE); t; t = t->next)
    {
      HmProfileThreadSite *page = __atomic_load_n (&t->pages[index / HM_PROFILE_PAGE_SITES], __ATOMIC_ACQUIRE);
      if (page == NULL)
        continue;
      const HmProfileThreadSite *ts = &page[index % HM_PROFILE_PAGE_SITES];
      uint64_t count = __atomic_load_n (&ts->count, __ATOMIC_RELAXED);
      /* lifetimes belong to the freeing thread, which may never allocate */
      for (unsigned b = 0; b < HM_PROFILE_LIFETIME_BUCKETS; b++)
        sum.lifetime_histogram[b] += ts->lifetime_histogram[b];
      if (count == 0)
        continue;
      threads++;
      if (sum.count == 0 || ts->min_size < sum.min_size)
        sum.min_size = ts->min_size;
      if (ts->max_size > sum.max_size)
        sum.max_size = ts->max_size;
      sum.count += count;
      sum.bytes += ts->bytes;
      for (unsigned b = 0; b < HM_PROFILE_SIZE_BUCKETS; b++)
        sum.size_histogram[b] += ts->size_histogram[b];
    }
  if (sum.count == 0 && g->loaded == NULL)
    return;
  /* a site of the applied profile that this run did not reach stays as the
   * file had it: the next run still knows it */
  if (sum.count == 0)
    {
      out_str (o, *first ? "\n    {" : ",\n    {");
      *first = 0;
      out_bytes (o, g->loaded->text, g->loaded->text_len);
      out_str (o, "}");
      return;
    }

  const char *module = NULL, *symbol = NULL;
  uint64_t module_offset = 0, symbol_offset = 0;
  int known = hm_profile_describe_ip (g->ip, &module, &module_offset, &symbol, &symbol_offset);

  out_str (o, *first ? "\n    {" : ",\n    {");
  *first = 0;
  if (known)
    {
      out_str (o, "\"module\": ");
      out_json_string (o, module);
      out_str (o, ", \"module_offset\": ");
      out_uint (o, module_offset);
      if (symbol != NULL)
        {
          out_str (o, ", \"symbol\": ");
          out_json_string (o, symbol);
          out_str (o, ", \"symbol_offset\": ");
          out_uint (o, symbol_offset);
        }
      else if (g->loaded != NULL && g->loaded->symbol[0] != '\0')
        {
          /* a name from the trace's symbols (not a dynamic symbol) */
          out_str (o, ", \"symbol\": ");
          out_json_string (o, g->loaded->symbol);
          if (g->loaded->has_symbol_offset)
            {
              out_str (o, ", \"symbol_offset\": ");
              out_uint (o, g->loaded->symbol_offset);
            }
        }
      out_str (o, ", ");
    }
  else if (g->loaded != NULL && g->loaded->module[0] != '\0')
    {
      out_str (o, "\"module\": ");
      out_json_string (o, g->loaded->module);
      out_str (o, ", \"module_offset\": ");
      out_uint (o, g->loaded->module_offset);
      out_str (o, ", ");
    }
  char address[32];
  snprintf (address, sizeof address, "0x%lx", (unsigned long) g->ip);
  out_str (o, "\"address\": \"");
  out_str (o, address);
  out_str (o, "\",\n     ");
    {
      out_str (o, "\"count\": ");
      out_uint (o, sum.count);
      out_str (o, ", \"bytes\": ");
      out_uint (o, sum.bytes);
      out_str (o, ", \"min_size\": ");
      out_uint (o, sum.min_size);
      out_str (o, ", \"max_size\": ");
      out_uint (o, sum.max_size);
      out_str (o, ", \"peak_live_count\": ");
      out_uint (o, g->peak_live_count);
      out_str (o, ", \"peak_live_bytes\": ");
      out_uint (o, g->peak_live_bytes);
      out_str (o, ", \"threads\": ");
      out_uint (o, threads);
      out_str (o, ",\n     \"size_histogram\": ");
      out_histogram (o, sum.size_histogram, HM_PROFILE_SIZE_BUCKETS);
      out_str (o, ",\n     \"lifetime_histogram\": ");
      out_histogram (o, sum.lifetime_histogram, HM_PROFILE_LIFETIME_BUCKETS);
    }
  /* what the person set stays */
  if (g->loaded != NULL)
    hm_profile_write_loaded_overrides (o, g->loaded);
  out_str (o, "}");
}

/* Out's writer for hm-profile-apply.c. */
void
hm_profile_out_str (void *o, const char *s)
{
  out_str (o, s);
}

void
hm_profile_out_uint (void *o, uint64_t v)
{
  out_uint (o, v);
}

void
hm_profile_out_json_string (void *o, const char *s)
{
  out_json_string (o, s);
}

void
hm_profile_out_raw (void *o, const char *s, size_t n)
{
  out_bytes (o, s, n);
}

static int
write_all (int fd, const char *p, size_t n)
{
  while (n > 0)
    {
      ssize_t w = write (fd, p, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return -1;
      p += w;
      n -= (size_t) w;
    }
  return 0;
}

int
hm_profile_save (const char *path)
{
  Out o = { 0 };
  int fd, result = -1, first = 1;
  char tmp[4200];

  if (!hm_profile_recording || path == NULL || path[0] == '\0' || strlen (path) > 4096)
    {
      errno = EINVAL;
      return -1;
    }
  hm_guard++;
  pthread_mutex_lock (&save_lock);
  out_str (&o, "{\n  \"version\": ");
  out_uint (&o, HM_PROFILE_VERSION);
  out_str (&o, ",\n  \"strategy\": ");
  out_json_string (&o, hm_profile_strategy_names[hm_profile_file_strategy ()]);
  out_str (&o, ",\n  \"program\": ");
  out_json_string (&o, hm_profile_exe_name ());
  out_str (&o, ",\n  \"sample_every\": ");
  out_uint (&o, HM_PROFILE_SAMPLE_EVERY);
  out_str (&o, ",\n  \"sample_bytes\": ");
  /* 0: every allocation counted; else the counts are estimates from
   * byte samples with this mean (HM_PROFILE_SAMPLE_BYTES) */
  out_uint (&o, hm_sampler.to_profile ? hm_sampler.mean_bytes : 0);
  hm_profile_write_loaded_top (&o);
  out_str (&o, ",\n  \"sites\": [");
  uint32_t n = __atomic_load_n (&n_sites, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n; i++)
    write_site (&o, i, &first);
  hm_profile_write_unresolved (&o, &first);
  out_str (&o, first ? "]\n}\n" : "\n  ]\n}\n");

  snprintf (tmp, sizeof tmp, "%s.tmp.%d", path, (int) getpid ());
  if (!o.failed)
    {
      fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd >= 0)
        {
          int ok = write_all (fd, o.buf, o.len) == 0 && fsync (fd) == 0;
          ok = close (fd) == 0 && ok;
          if (ok && rename (tmp, path) == 0)
            result = 0;
          else
            unlink (tmp);
        }
    }
  if (o.buf != NULL)
    munmap (o.buf, o.cap);
  pthread_mutex_unlock (&save_lock);
  hm_guard--;
  return result;
}

/* --- start, the saver thread, the end --------------------------------------------- */

static char saved_path[4096];
static unsigned save_interval;

static void *
saver (void *data)
{
  (void) data;
  hm_guard++;   /* this thread is the agent's: its allocations are not the program's */
  for (;;)
    {
      struct timespec ts = { (time_t) save_interval, 0 };
      while (nanosleep (&ts, &ts) != 0 && errno == EINTR)
        ;
      if (getpid () == profiled_pid)
        hm_profile_save (saved_path);
    }
  return NULL;
}

extern int __cxa_atexit (void (*fn) (void *), void *arg, void *dso);

static void
save_at_exit (void *data)
{
  static int saved;
  (void) data;
  /* once: exit() runs it, and _exit() (no exit handlers) too */
  if (hm_profile_recording && getpid () == profiled_pid
      && !__atomic_exchange_n (&saved, 1, __ATOMIC_ACQ_REL))
    {
      if (hm_profile_save (saved_path) != 0)
        {
          char line[4200];
          snprintf (line, sizeof line, "hybridmem: cannot write the profile %s: %s\n", saved_path,
                    strerror (errno));
          hm_profile_say (line);
        }
    }
}

void
hm_profile_save_at_exit (void)
{
  save_at_exit (NULL);
}

static void
fork_prepare (void)
{
  pthread_mutex_lock (&save_lock);
  pthread_mutex_lock (&sites_lock);
  pthread_mutex_lock (&arena_lock);
  lock_samples ();
}

static void
fork_parent (void)
{
  unlock_samples ();
  pthread_mutex_unlock (&arena_lock);
  pthread_mutex_unlock (&sites_lock);
  pthread_mutex_unlock (&save_lock);
}

static void
fork_child (void)
{
  fork_parent ();
  /* the child's numbers are not the parent's program; neither is its file */
  hm_profile_recording = 0;
}

int
hm_profile_tables_init (void)
{
  site_slots = hm_agent_map (sizeof (SiteSlot) * SITE_SLOTS);
  hm_profile_sites = hm_agent_map (sizeof (HmProfileSiteInfo) * HM_PROFILE_MAX_RUNTIME_SITES);
  samples = hm_agent_map (sizeof (Sample) * SAMPLE_SLOTS);
  filter = hm_agent_map (FILTER_SLOTS);
  if (site_slots == NULL || hm_profile_sites == NULL || samples == NULL || filter == NULL)
    return -1;
  pthread_atfork (fork_prepare, fork_parent, fork_child);
  have_thread_key = pthread_key_create (&thread_key, thread_ended) == 0;
  /* TSC ticks per microsecond, for lifetimes: measured over a millisecond */
  uint64_t ns0 = hm_now_ns (), t0 = hm_tsc (), ns1;
  while ((ns1 = hm_now_ns ()) - ns0 < 1000000u)
    ;
  uint64_t per_us = (hm_tsc () - t0) * 1000u / (ns1 - ns0);
  tsc_per_us = per_us ? per_us : 1;
  return 0;
}

void
hm_profile_recording_start (const char *path, unsigned interval)
{
  /* the file the program meant at start, even if it changes directory */
  char cwd[2048];
  if (path[0] != '/' && getcwd (cwd, sizeof cwd) != NULL)
    snprintf (saved_path, sizeof saved_path, "%s/%.2000s", cwd, path);
  else
    snprintf (saved_path, sizeof saved_path, "%.4000s", path);
  save_interval = interval;
  profiled_pid = getpid ();
  __atomic_store_n (&hm_profile_recording, 1, __ATOMIC_RELEASE);
  __cxa_atexit (save_at_exit, NULL, NULL);
  if (interval > 0)
    {
      pthread_t thread;
      pthread_attr_t attr;
      sigset_t all, old;
      pthread_attr_init (&attr);
      pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
      /* no signal of the program's lands on the saver */
      sigfillset (&all);
      pthread_sigmask (SIG_SETMASK, &all, &old);
      pthread_create (&thread, &attr, saver, NULL);
      pthread_sigmask (SIG_SETMASK, &old, NULL);
      pthread_attr_destroy (&attr);
    }
}
