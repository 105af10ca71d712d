/* hm-options.c — the manager's options (hm_init, HM_* variables), marks, and
 * the warnings that misuse of the API produces.
 *
 * Every option has one name in code (HmOptions) and one in the environment;
 * a program that never calls hm_init() gets the environment's values the
 * first time any part of the manager needs them.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hm-profile-private.h"
#include "hm-flight-private.h"
#include "hm-sampler-private.h"
#include "hm-byte-size.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static HmOptions options;
static char profile_path[4096] = "memory_profile.json";
static int options_state;          /* 0 unset, 1 being set, 2 set */

static const char *const strategy_names[] = {
  [HM_STRATEGY_NONE] = "none",
  [HM_STRATEGY_MINIMIZE_MEMORY] = "minimize-memory",
  [HM_STRATEGY_MAXIMIZE_PERFORMANCE] = "maximize-performance",
  [HM_STRATEGY_BALANCED] = "balanced",
  [HM_STRATEGY_ADAPTIVE] = "adaptive",
};

static void
say (const char *line)
{
  size_t len = strlen (line);
  while (len > 0)
    {
      ssize_t n = write (STDERR_FILENO, line, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      line += n;
      len -= (size_t) n;
    }
}

static void
bad_value (const char *name, const char *value, const char *expected, const char *used)
{
  char line[512];
  snprintf (line, sizeof line, "hybridmem: %s=%s is not %s; using %s\n", name, value, expected,
            used);
  say (line);
}

int
hm_parse_bool (const char *v, int *out)
{
  if (v == NULL)
    return 0;
  if (!strcmp (v, "1") || !strcasecmp (v, "true") || !strcasecmp (v, "yes") || !strcasecmp (v, "on"))
    *out = 1;
  else if (!strcmp (v, "0") || !strcasecmp (v, "false") || !strcasecmp (v, "no")
           || !strcasecmp (v, "off"))
    *out = 0;
  else
    return 0;
  return 1;
}

static void
env_bool (const char *name, int *field)
{
  const char *v = getenv (name);
  if (v == NULL || *v == '\0')
    return;
  if (!hm_parse_bool (v, field))
    bad_value (name, v, "0 or 1", *field ? "1" : "0");
}

static void
env_size (const char *name, size_t *field, size_t max)
{
  const char *v = getenv (name);
  char *end;
  unsigned long long n;
  char used[32];

  if (v == NULL || *v == '\0')
    return;
  errno = 0;
  n = strtoull (v, &end, 10);
  if (errno != 0 || *end != '\0' || v[0] == '-' || n > max)
    {
      snprintf (used, sizeof used, "%zu", *field);
      bad_value (name, v, "a whole number in range", used);
      return;
    }
  *field = (size_t) n;
}

/* HM_SAMPLE_BYTES: the mean distance in bytes between two samples (see
 * hm-sampler-private.h); 0, the default, records every allocation.  Read at
 * the first allocation, before any hm_init(), so it has no HmOptions field. */
uint64_t
hm_sample_bytes_option (void)
{
  const char *v = getenv ("HM_SAMPLE_BYTES");
  uint64_t n = 0;

  if (v == NULL || *v == '\0' || strcmp (v, "0") == 0)
    return 0;
  if (!hm_parse_byte_size (v, &n) || n > (UINT64_C (1) << 40))
    {
      bad_value ("HM_SAMPLE_BYTES", v, "a byte count such as 524288, 512K or 1M (at most 1024G)",
                 "0: every allocation is recorded");
      return 0;
    }
  return n;
}

/* HM_PROFILE_SAMPLE_BYTES: how a profile counts its sites when nothing
 * else needs every allocation seen (hm-profile-apply.c): by byte-weighted
 * samples, one per this many bytes on average (the default, 64K), or, 0,
 * every allocation exactly. */
uint64_t
hm_profile_sample_bytes_option (void)
{
  const char *v = getenv ("HM_PROFILE_SAMPLE_BYTES");
  uint64_t n = HM_PROFILE_SAMPLE_BYTES_DEFAULT;

  if (v == NULL || *v == '\0')
    return n;
  if (strcmp (v, "0") == 0)
    return 0;
  if (!hm_parse_byte_size (v, &n) || n > (UINT64_C (1) << 40))
    {
      bad_value ("HM_PROFILE_SAMPLE_BYTES", v,
                 "a byte count such as 65536 or 64K (at most 1024G), or 0 to count every allocation",
                 "64K");
      return HM_PROFILE_SAMPLE_BYTES_DEFAULT;
    }
  return n;
}

void
hm_options_init (HmOptions *o)
{
  size_t interval;

  if (o == NULL)
    return;
  memset (o, 0, sizeof *o);
  o->profile_path = "memory_profile.json";
  o->enable_regions = 1;
  o->enable_pooling = 1;
  o->strategy = HM_STRATEGY_NONE;
  o->gc_threshold_bytes = 8u << 20;

  env_bool ("HM_ENABLE_PROFILING", &o->enable_profiling);
  interval = o->profile_save_interval;
  env_size ("HM_PROFILE_SAVE_INTERVAL", &interval, 86400u * 365u);
  o->profile_save_interval = (unsigned) interval;
  if (getenv ("HM_PROFILE_PATH") && *getenv ("HM_PROFILE_PATH"))
    o->profile_path = getenv ("HM_PROFILE_PATH");
  env_bool ("HM_LIFETIME_ANALYSIS", &o->enable_lifetime_analysis);
  env_bool ("HM_REGIONS", &o->enable_regions);
  env_bool ("HM_POOLING", &o->enable_pooling);
  env_size ("HM_GC_THRESHOLD", &o->gc_threshold_bytes, (size_t) 1 << 48);

  const char *s = getenv ("HM_STRATEGY");
  if (s != NULL && *s != '\0')
    {
      size_t i;
      for (i = 0; i < sizeof strategy_names / sizeof strategy_names[0]; i++)
        if (!strcmp (s, strategy_names[i]))
          break;
      if (i < sizeof strategy_names / sizeof strategy_names[0])
        o->strategy = (HmStrategy) i;
      else
        bad_value ("HM_STRATEGY", s,
                   "one of none, minimize-memory, maximize-performance, balanced, adaptive",
                   strategy_names[o->strategy]);
    }
}

static int
set_options (const HmOptions *o)
{
  int expected = 0;
  if (!__atomic_compare_exchange_n (&options_state, &expected, 1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
    {
      /* someone else is setting them: wait, they are nearly done */
      while (__atomic_load_n (&options_state, __ATOMIC_ACQUIRE) != 2)
        sched_yield ();
      return -1;
    }
  hm_guard++;
  if (o != NULL)
    options = *o;
  else
    hm_options_init (&options);
  if (options.strategy > HM_STRATEGY_ADAPTIVE)
    {
      char value[16];
      snprintf (value, sizeof value, "%d", (int) options.strategy);
      bad_value ("strategy", value, "an HmStrategy", "none");
      options.strategy = HM_STRATEGY_NONE;
    }
  if (options.profile_path == NULL || options.profile_path[0] == '\0')
    options.profile_path = "memory_profile.json";
  snprintf (profile_path, sizeof profile_path, "%s", options.profile_path);
  options.profile_path = profile_path;
  if (options.enable_lifetime_analysis)
    {
      hm_lifetime_start (0);   /* blocks from before now are unknown, not wrong */
      if (hm_agent.constructed)  /* else the constructor registers the exit scan */
        hm_lifetime_scan_at_exit ();
    }
  /* a program that asks for profiling in code (the constructor found none
   * in the environment); a second start changes nothing */
  if (o != NULL)
    hm_profile_start (&options);
  hm_guard--;
  __atomic_store_n (&options_state, 2, __ATOMIC_RELEASE);
  return 0;
}

int
hm_init (const HmOptions *o)
{
  return set_options (o);
}

const HmOptions *
hm_manager_options (void)
{
  if (HM_UNLIKELY (__atomic_load_n (&options_state, __ATOMIC_ACQUIRE) != 2))
    set_options (NULL);
  return &options;
}

const HmOptions *
hm_get_options (void)
{
  return hm_manager_options ();
}

bool
hm_quiet (void)
{
  static int quiet = -1;
  if (quiet < 0)
    {
      const char *q = getenv ("HM_QUIET");
      quiet = q != NULL && strcmp (q, "1") == 0;
    }
  return quiet;
}

void
hm_notice (const char *format, ...)
{
  char line[512];
  va_list args;
  int n;

  if (hm_quiet ())
    return;
  n = snprintf (line, sizeof line, "hybridmem: ");
  va_start (args, format);
  vsnprintf (line + n, sizeof line - (size_t) n - 1, format, args);
  va_end (args);
  strcat (line, "\n");
  say (line);
}

static void
vwarn (HmWarningKind kind, const void *addr, size_t size, uint64_t object, uint32_t stack,
       uint32_t alloc_stack, uint32_t free_stack, const HmWarnLocation *loc,
       const char *format, va_list args)
{
  char line[512];
  int n;

  if (hm_agent.tracing)
    {
      uint64_t ticks = hm_tsc ();
      hm_emit_warning (ticks, kind, (uintptr_t) addr, size, stack, alloc_stack, free_stack,
                       object);
      if (loc != NULL)
        hm_writer_queue_location (ticks, (uintptr_t) addr, loc);
    }
  if (!hm_quiet ())
    {
      n = snprintf (line, sizeof line, "hybridmem: warning: ");
      vsnprintf (line + n, sizeof line - (size_t) n - 1, format, args);
      strcat (line, "\n");
      say (line);
    }
}

void
hm_warn (HmWarningKind kind, const void *addr, size_t size, uint64_t object, const char *format,
         ...)
{
  va_list args;

  hm_guard++;
  va_start (args, format);
  vwarn (kind, addr, size, object, hm_stack_capture (), 0, 0, NULL, format, args);
  va_end (args);
  hm_guard--;
}

void
hm_warn_stacks (HmWarningKind kind, const void *addr, size_t size, uint64_t object,
                uint32_t stack, uint32_t alloc_stack, uint32_t free_stack, const char *format,
                ...)
{
  va_list args;

  hm_guard++;
  va_start (args, format);
  vwarn (kind, addr, size, object, stack, alloc_stack, free_stack, NULL, format, args);
  va_end (args);
  hm_guard--;
}

void
hm_warn_located (HmWarningKind kind, const void *addr, size_t size, uint64_t object,
                 uint32_t alloc_stack, uint32_t free_stack, const HmWarnLocation *loc,
                 const char *format, ...)
{
  va_list args;

  hm_guard++;
  va_start (args, format);
  vwarn (kind, addr, size, object, 0, alloc_stack, free_stack, loc, format, args);
  va_end (args);
  hm_guard--;
}

void
hm_mark (const char *text)
{
  if (!hm_tracing_here ())
    return;
  hm_guard++;
  hm_writer_queue_meta (HM_EV_MARK, 0, hm_tsc (), text);
  hm_guard--;
}

void
hm_trace_name_object (HmObjectKind kind, uint64_t id, const char *name)
{
  if (!hm_agent.tracing)
    return;
  hm_guard++;
  hm_writer_queue_meta (HM_EV_OBJECT_NAME, ((uint64_t) kind << 56) | id, hm_tsc (), name);
  hm_guard--;
}

/* HM_FLIGHT_RECORDER=SECONDS (1 to a day) turns the flight recorder on;
 * HM_FLIGHT_RECORDER_BYTES=N[K|M|G] bounds its window of events (32 MiB by
 * default, 1 MiB to 16 GiB).  A bad value is one line and the default. */
bool
hm_flight_options (HmFlightConfig *out)
{
  const char *v = getenv ("HM_FLIGHT_RECORDER");
  const char *b = getenv ("HM_FLIGHT_RECORDER_BYTES");
  char *end;
  unsigned long long n;

  out->window_ns = 0;
  out->window_bytes = HM_FLIGHT_DEFAULT_BYTES;
  if (v == NULL || *v == '\0')
    return false;
  errno = 0;
  n = strtoull (v, &end, 10);
  if (errno != 0 || *end != '\0' || v[0] == '-' || n == 0 || n > 86400)
    {
      bad_value ("HM_FLIGHT_RECORDER", v, "a whole number of seconds from 1 to 86400",
                 "no flight recorder");
      return false;
    }
  out->window_ns = (uint64_t) n * 1000000000u;
  if (b != NULL && *b != '\0')
    {
      errno = 0;
      n = strtoull (b, &end, 10);
      unsigned long long unit = 1;
      if (*end == 'K' || *end == 'k')
        unit = 1ull << 10, end++;
      else if (*end == 'M' || *end == 'm')
        unit = 1ull << 20, end++;
      else if (*end == 'G' || *end == 'g')
        unit = 1ull << 30, end++;
      if (errno != 0 || *end != '\0' || b[0] == '-' || n > HM_FLIGHT_MAX_BYTES / unit
          || n * unit < HM_FLIGHT_MIN_BYTES)
        bad_value ("HM_FLIGHT_RECORDER_BYTES", b, "a size from 1M to 16G (bytes, or with K, M, G)",
                   "32M");
      else
        out->window_bytes = n * unit;
    }
  return true;
}
