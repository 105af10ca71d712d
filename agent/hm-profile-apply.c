/* hm-profile-apply.c — reading memory_profile.json in the agent and acting on it.
 *
 * The agent reads the file with a small parser of its own (no jansson, no
 * malloc: the bytes and what it keeps live in mapped memory), bounded in
 * size, depth and numbers.  A file that is not a valid profile costs the
 * program one line on stderr; it then runs with the defaults.  Each site of
 * the file is found again in this process (symbol + offset when the symbol
 * is exported, else module + offset), and the strategy decides what serves
 * it: a pool, the C library, or the C library with memory given back to the
 * OS eagerly.  Each decision goes to the trace with its reason.
 */
#define _GNU_SOURCE
#include "hm-profile-private.h"
#include "hm-sampler-private.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int hm_profile_pools_active;
int hm_profile_trimming;

static HmLoadedSite *loaded;
static size_t n_loaded, loaded_cap;
static int file_strategy = -1;       /* the file's "strategy"; -1: none given */
static HmStrategy run_strategy;
static char *file_text;              /* the file, for the members kept verbatim */
static size_t file_mapped;
static const char *top_unknown[64];  /* top-level members we do not know: start, length */
static size_t top_unknown_len[64];
static unsigned n_top_unknown;

void
hm_profile_say (const char *line)
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

/* --- a bounded JSON reader ------------------------------------------------------- */

typedef struct {
  const char *start, *p, *end;
  const char *error;
  const char *error_at;
  int depth;
} Parser;

static int
failed (Parser *ps, const char *message, const char *at)
{
  if (ps->error == NULL)
    {
      ps->error = message;
      ps->error_at = at;
    }
  return 0;
}

static void
ws (Parser *ps)
{
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\t' || *ps->p == '\r'))
    ps->p++;
}

static int
expect (Parser *ps, char c)
{
  ws (ps);
  if (ps->p >= ps->end || *ps->p != c)
    {
      static char message[32];
      snprintf (message, sizeof message, "expected '%c'", c);
      return failed (ps, message, ps->p);
    }
  ps->p++;
  return 1;
}

/* A string into out (cap bytes, NUL-terminated; longer strings are an
 * error); \u escapes outside ASCII become '?'. */
static int
string (Parser *ps, char *out, size_t cap)
{
  size_t n = 0;
  ws (ps);
  if (ps->p >= ps->end || *ps->p != '"')
    return failed (ps, "expected a string", ps->p);
  const char *at = ps->p++;
  while (ps->p < ps->end && *ps->p != '"')
    {
      char c = *ps->p++;
      if ((unsigned char) c < 0x20)
        return failed (ps, "control character in a string", ps->p - 1);
      if (c == '\\')
        {
          if (ps->p >= ps->end)
            break;
          char e = *ps->p++;
          switch (e)
            {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case '"': case '\\': case '/': c = e; break;
            case 'u':
              for (int i = 0; i < 4; i++, ps->p++)
                if (ps->p >= ps->end
                    || !((*ps->p >= '0' && *ps->p <= '9') || (*ps->p >= 'a' && *ps->p <= 'f')
                         || (*ps->p >= 'A' && *ps->p <= 'F')))
                  return failed (ps, "bad \\u escape", ps->p);
              c = '?';
              break;
            default:
              return failed (ps, "bad escape in a string", ps->p - 1);
            }
        }
      if (out != NULL)
        {
          if (n + 1 >= cap)
            return failed (ps, "string too long", at);
          out[n++] = c;
        }
    }
  if (ps->p >= ps->end)
    return failed (ps, "unterminated string", at);
  ps->p++;
  if (out != NULL)
    out[n] = '\0';
  return 1;
}

/* A whole number from 0 to 2^53. */
/* A string that may be too long to keep: then it is kept as "" (a member
 * name we do not know, a symbol too long to match by). */
static int
string_or_empty (Parser *ps, char *out, size_t cap)
{
  ws (ps);
  const char *at = ps->p;
  if (string (ps, out, cap))
    return 1;
  if (ps->error != NULL && strcmp (ps->error, "string too long") == 0)
    {
      ps->error = NULL;
      ps->p = at;
      out[0] = '\0';
      return string (ps, NULL, 0);
    }
  return 0;
}

static int
number (Parser *ps, uint64_t *out)
{
  uint64_t v = 0;
  ws (ps);
  const char *at = ps->p;
  if (ps->p < ps->end && *ps->p == '-')
    return failed (ps, "must not be negative", at);
  if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
    return failed (ps, "must be a whole number", at);
  while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
    {
      v = v * 10 + (uint64_t) (*ps->p++ - '0');
      if (v > ((uint64_t) 1 << 53))
        return failed (ps, "number too big (at most 2^53)", at);
    }
  if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E'))
    return failed (ps, "must be a whole number", at);
  *out = v;
  return 1;
}

static int skip_value (Parser *ps);

static int
skip_container (Parser *ps, char open, char close)
{
  if (++ps->depth > 64)
    return failed (ps, "nested too deeply", ps->p);
  ps->p++;   /* open */
  ws (ps);
  if (ps->p < ps->end && *ps->p == close)
    {
      ps->p++;
      ps->depth--;
      return 1;
    }
  for (;;)
    {
      if (open == '{' && !(string (ps, NULL, 0) && expect (ps, ':')))
        return 0;
      if (!skip_value (ps))
        return 0;
      ws (ps);
      if (ps->p < ps->end && *ps->p == ',')
        {
          ps->p++;
          continue;
        }
      if (!expect (ps, close))
        return 0;
      ps->depth--;
      return 1;
    }
}

static int
skip_value (Parser *ps)
{
  ws (ps);
  if (ps->p >= ps->end)
    return failed (ps, "unexpected end of file", ps->p);
  switch (*ps->p)
    {
    case '{': return skip_container (ps, '{', '}');
    case '[': return skip_container (ps, '[', ']');
    case '"': return string (ps, NULL, 0);
    default:
      {
        const char *at = ps->p;
        static const char *const words[] = { "true", "false", "null" };
        for (unsigned i = 0; i < 3; i++)
          if ((size_t) (ps->end - ps->p) >= strlen (words[i])
              && memcmp (ps->p, words[i], strlen (words[i])) == 0)
            {
              ps->p += strlen (words[i]);
              return 1;
            }
        if (*ps->p == '-')
          ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
          return failed (ps, "not a JSON value", at);
        while (ps->p < ps->end && ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.'
                                   || *ps->p == 'e' || *ps->p == 'E' || *ps->p == '+'
                                   || *ps->p == '-'))
          ps->p++;
        return 1;
      }
    }
}

static int
is_null (Parser *ps)
{
  ws (ps);
  if (ps->end - ps->p >= 4 && memcmp (ps->p, "null", 4) == 0)
    {
      ps->p += 4;
      return 1;
    }
  return 0;
}

static int
strategy_of (const char *name)
{
  for (int i = 0; i < HM_PROFILE_N_STRATEGIES; i++)
    if (strcmp (name, hm_profile_strategy_names[i]) == 0)
      return i;
  return -1;
}

/* The median of a histogram: the lower bound of its bucket. */
static int
histogram (Parser *ps, unsigned max_buckets, uint64_t *median)
{
  uint64_t counts[64] = { 0 }, total = 0;
  unsigned n = 0;

  *median = UINT64_MAX;
  if (!expect (ps, '['))
    return 0;
  ws (ps);
  if (ps->p < ps->end && *ps->p == ']')
    {
      ps->p++;
      return 1;
    }
  for (;;)
    {
      if (n >= max_buckets)
        return failed (ps, "too many histogram buckets", ps->p);
      if (!number (ps, &counts[n]))
        return 0;
      total += counts[n++];
      ws (ps);
      if (ps->p < ps->end && *ps->p == ',')
        {
          ps->p++;
          continue;
        }
      if (!expect (ps, ']'))
        return 0;
      break;
    }
  uint64_t seen = 0;
  for (unsigned i = 0; i < n && total > 0; i++)
    {
      seen += counts[i];
      if (seen * 2 >= total)
        {
          *median = i == 0 ? 0 : (uint64_t) 1 << (i - 1);
          break;
        }
    }
  return 1;
}

static char *extras;
static size_t extras_len, extras_cap;

static int
keep_extra (HmLoadedSite *s, const char *text, size_t n)
{
  if (s->extras_len == 0)
    s->extras_start = extras_len;
  if (extras_len + n + 8 > extras_cap)
    {
      size_t cap = extras_cap ? extras_cap * 2 : 1u << 16;
      while (cap < extras_len + n + 8)
        cap *= 2;
      void *p = extras ? mremap (extras, extras_cap, cap, MREMAP_MAYMOVE)
                       : mmap (NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED)
        return 0;
      extras = p;
      extras_cap = cap;
    }
  memcpy (extras + extras_len, ", ", 2);
  memcpy (extras + extras_len + 2, text, n);
  extras_len += n + 2;
  s->extras_len += n + 2;
  return 1;
}

static int
site (Parser *ps, HmLoadedSite *s)
{
  char key[64], text[32];
  uint64_t v;

  memset (s, 0, sizeof *s);
  s->strategy = -1;
  s->lifetime_median_ns = UINT64_MAX;
  ws (ps);
  if (ps->p >= ps->end || *ps->p != '{')
    return failed (ps, "a site must be an object", ps->p);
  ps->p++;
  s->text = ps->p;
  ws (ps);
  if (ps->p < ps->end && *ps->p == '}')
    return failed (ps, "a site needs a \"module\" or an \"address\"", ps->p);
  for (;;)
    {
      const char *at, *member;
      ws (ps);
      member = ps->p;
      if (!string_or_empty (ps, key, sizeof key))
        return 0;
      if (!expect (ps, ':'))
        return 0;
      ws (ps);
      at = ps->p;
#define NUMBER_FIELD(name, field) \
      else if (strcmp (key, name) == 0) { if (!number (ps, &v)) return 0; s->field = v; }
      if (strcmp (key, "module") == 0)
        {
          if (!string_or_empty (ps, s->module, sizeof s->module))
            return 0;
        }
      else if (strcmp (key, "symbol") == 0)
        {
          if (!is_null (ps) && !string_or_empty (ps, s->symbol, sizeof s->symbol))
            return 0;
        }
      else if (strcmp (key, "module_offset") == 0)
        {
          if (!number (ps, &s->module_offset))
            return 0;
          s->has_module_offset = 1;
        }
      else if (strcmp (key, "symbol_offset") == 0)
        {
          if (!number (ps, &s->symbol_offset))
            return 0;
          s->has_symbol_offset = 1;
        }
      else if (strcmp (key, "address") == 0)
        {
          char *end;
          if (!string (ps, text, sizeof text))
            return 0;
          errno = 0;
          s->address = strtoull (text, &end, 16);
          if (strncmp (text, "0x", 2) != 0 || *end != '\0' || errno != 0)
            return failed (ps, "an address is hexadecimal, like \"0x7f12ab\"", at);
        }
      NUMBER_FIELD ("count", count)
      NUMBER_FIELD ("bytes", bytes)
      NUMBER_FIELD ("min_size", min_size)
      NUMBER_FIELD ("max_size", max_size)
      NUMBER_FIELD ("peak_live_count", peak_live_count)
      NUMBER_FIELD ("peak_live_bytes", peak_live_bytes)
      NUMBER_FIELD ("threads", threads)
      else if (strcmp (key, "lifetime_histogram") == 0)
        {
          if (!histogram (ps, HM_PROFILE_LIFETIME_BUCKETS, &s->lifetime_median_ns))
            return 0;
        }
      else if (strcmp (key, "size_histogram") == 0)
        {
          if (!histogram (ps, HM_PROFILE_SIZE_BUCKETS, &v))
            return 0;
        }
      else if (strcmp (key, "strategy") == 0)
        {
          if (!is_null (ps))
            {
              if (!string (ps, text, sizeof text) || (s->strategy = strategy_of (text)) < 0)
                return failed (ps, "strategy must be none, minimize-memory, "
                               "maximize-performance, balanced or adaptive", at);
            }
        }
      else if (strcmp (key, "pool_object_size") == 0)
        {
          if (!number (ps, &s->pool_object_size))
            return 0;
          if (s->pool_object_size < 1 || s->pool_object_size > HM_PROFILE_MAX_POOL_OBJECT)
            return failed (ps, "pool_object_size is out of range (1 to 1048576)", at);
        }
      else if (strcmp (key, "pool_capacity") == 0)
        {
          if (!number (ps, &s->pool_capacity))
            return 0;
          if (s->pool_capacity > HM_PROFILE_MAX_POOL_CAPACITY)
            return failed (ps, "pool_capacity is out of range (0 to 16777216)", at);
          s->has_pool_capacity = 1;
        }
      else
        {
          if (!skip_value (ps))
            return 0;
          /* not ours to write: kept as it was for the rewrite */
          if (!keep_extra (s, member, (size_t) (ps->p - member)))
            return failed (ps, "out of memory", member);
        }
#undef NUMBER_FIELD
      ws (ps);
      if (ps->p < ps->end && *ps->p == ',')
        {
          ps->p++;
          continue;
        }
      s->text_len = (size_t) (ps->p - s->text);
      if (!expect (ps, '}'))
        return 0;
      break;
    }
  if (s->module[0] == '\0' && s->address == 0)
    return failed (ps, "a site needs a \"module\" or an \"address\"", s->text - 1);
  return 1;
}

static int
grow_loaded (void)
{
  size_t cap = loaded_cap ? loaded_cap * 2 : 256;
  void *p = loaded ? mremap (loaded, loaded_cap * sizeof *loaded, cap * sizeof *loaded, MREMAP_MAYMOVE)
                   : mmap (NULL, cap * sizeof *loaded, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return 0;
  loaded = p;
  loaded_cap = cap;
  return 1;
}

static int
profile (Parser *ps)
{
  char key[64], text[32];
  uint64_t version = 0;
  int have_version = 0, have_sites = 0;

  if (!expect (ps, '{'))
    return 0;
  ws (ps);
  if (ps->p < ps->end && *ps->p == '}')
    return failed (ps, "\"version\" is missing", ps->p);
  for (;;)
    {
      ws (ps);
      const char *member = ps->p;
      if (!string_or_empty (ps, key, sizeof key))
        return 0;
      if (!expect (ps, ':'))
        return 0;
      ws (ps);
      const char *at = ps->p;
      if (strcmp (key, "version") == 0)
        {
          if (!number (ps, &version))
            return 0;
          if (version > HM_PROFILE_VERSION)
            return failed (ps, "the profile's version is newer than this hybridmem reads", at);
          if (version < 1)
            return failed (ps, "the version must be 1 or more", at);
          have_version = 1;
        }
      else if (strcmp (key, "strategy") == 0)
        {
          if (!string (ps, text, sizeof text) || (file_strategy = strategy_of (text)) < 0)
            return failed (ps, "strategy must be none, minimize-memory, maximize-performance, "
                           "balanced or adaptive", at);
        }
      else if (strcmp (key, "sites") == 0)
        {
          have_sites = 1;
          if (!expect (ps, '['))
            return 0;
          ws (ps);
          if (ps->p < ps->end && *ps->p == ']')
            ps->p++;
          else
            for (;;)
              {
                if (n_loaded >= HM_PROFILE_MAX_SITES)
                  return failed (ps, "too many sites", ps->p);
                if (n_loaded == loaded_cap && !grow_loaded ())
                  return failed (ps, "out of memory", ps->p);
                if (!site (ps, &loaded[n_loaded]))
                  return 0;
                n_loaded++;
                ws (ps);
                if (ps->p < ps->end && *ps->p == ',')
                  {
                    ps->p++;
                    continue;
                  }
                if (!expect (ps, ']'))
                  return 0;
                break;
              }
        }
      else
        {
          if (!skip_value (ps))
            return 0;
          /* kept for the rewrite, except what the agent writes itself */
          if (strcmp (key, "program") != 0 && strcmp (key, "sample_every") != 0
              && strcmp (key, "sample_bytes") != 0 && n_top_unknown < 64)
            {
              top_unknown[n_top_unknown] = member;
              top_unknown_len[n_top_unknown++] = (size_t) (ps->p - member);
            }
        }
      ws (ps);
      if (ps->p < ps->end && *ps->p == ',')
        {
          ps->p++;
          continue;
        }
      if (!expect (ps, '}'))
        return 0;
      break;
    }
  ws (ps);
  if (ps->p != ps->end)
    return failed (ps, "text after the profile", ps->p);
  if (!have_version)
    return failed (ps, "\"version\" is missing", ps->start);
  if (!have_sites)
    return failed (ps, "\"sites\" is missing", ps->start);
  return 1;
}

/* --- reading the file ----------------------------------------------------------- */

static void
refuse (const char *path, const char *why)
{
  char line[4400];
  snprintf (line, sizeof line, "hybridmem: profile %s: %s; running without it\n", path, why);
  hm_profile_say (line);
}

/* 1: loaded; 0: no file (a first run); -1: refused (said why). */
static int
load (const char *path)
{
  struct stat st;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

  if (fd < 0)
    {
      if (errno == ENOENT)
        return 0;
      refuse (path, strerror (errno));
      return -1;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      refuse (path, S_ISDIR (st.st_mode) ? "is a directory, not a profile" : "is not a regular file");
      close (fd);
      return -1;
    }
  if ((uint64_t) st.st_size > HM_PROFILE_MAX_BYTES)
    {
      refuse (path, "too big for a profile (more than 64 MiB)");
      close (fd);
      return -1;
    }
  file_mapped = (size_t) st.st_size + 1;
  file_text = mmap (NULL, file_mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (file_text == MAP_FAILED)
    {
      file_text = NULL;
      close (fd);
      refuse (path, "out of memory");
      return -1;
    }
  size_t length = 0;
  while (length < (size_t) st.st_size)
    {
      ssize_t n = read (fd, file_text + length, (size_t) st.st_size - length);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      length += (size_t) n;
    }
  close (fd);

  char why[200];
  if (!hm_profile_parse (file_text, length, why, sizeof why))
    {
      refuse (path, why);
      return -1;
    }
  return 1;
}

int
hm_profile_parse (const char *text, size_t length, char *why, size_t why_size)
{
  n_loaded = 0;
  n_top_unknown = 0;
  extras_len = 0;
  file_strategy = -1;
  Parser ps = { text, text, text + length, NULL, NULL, 0 };
  if (profile (&ps))
    return 1;
  int line = 1, column = 1;
  for (const char *c = text; c < ps.error_at && c < ps.end; c++)
    if (*c == '\n')
      line++, column = 1;
    else
      column++;
  snprintf (why, why_size, "line %d, column %d: %s", line, column,
            ps.error ? ps.error : "not a profile");
  n_loaded = 0;
  n_top_unknown = 0;
  extras_len = 0;
  file_strategy = -1;
  return 0;
}

/* --- finding the file's sites in this process ------------------------------------- */

typedef struct {
  const char *name;
  uintptr_t bias;
  int found;
} ModuleQuery;

static int
find_module (struct dl_phdr_info *info, size_t size, void *data)
{
  ModuleQuery *q = data;
  const char *name = info->dlpi_name, *slash;
  (void) size;
  if (name == NULL || name[0] == '\0')
    name = hm_profile_exe_name ();
  else if ((slash = strrchr (name, '/')) != NULL)
    name = slash + 1;
  if (strcmp (name, q->name) == 0)
    {
      q->bias = info->dlpi_addr;
      q->found = 1;
      return 1;
    }
  return 0;
}

/* The return address the site has in this process, or 0. */
static uintptr_t
resolve (const HmLoadedSite *s)
{
  if (s->symbol[0] != '\0' && s->has_symbol_offset)
    {
      void *at = dlsym (RTLD_DEFAULT, s->symbol);
      const char *module, *symbol;
      uint64_t module_offset, symbol_offset;
      if (at != NULL
          && hm_profile_describe_ip ((uintptr_t) at + s->symbol_offset, &module, &module_offset,
                                     &symbol, &symbol_offset)
          && (s->module[0] == '\0' || strcmp (module, s->module) == 0))
        return (uintptr_t) at + s->symbol_offset;
    }
  if (s->module[0] != '\0' && s->has_module_offset)
    {
      ModuleQuery q = { s->module, 0, 0 };
      dl_iterate_phdr (find_module, &q);
      return q.found ? q.bias + s->module_offset : 0;
    }
  return s->module[0] == '\0' ? s->address : 0;
}

/* --- deciding ----------------------------------------------------------------------- */

static HmStrategy
effective (const HmLoadedSite *s)
{
  return s->strategy >= 0 ? (HmStrategy) s->strategy : run_strategy;
}

/* Writes the choice and its reason; returns the choice. */
static HmProfileChoice
decide (const HmLoadedSite *s, HmStrategy strategy, int can_pool, char *why, size_t why_size,
        size_t *object_size, size_t *capacity)
{
  int sized = s->pool_object_size > 0;
  uint64_t size = sized ? s->pool_object_size : s->max_size;
  int fixed = sized || (s->max_size > 0 && s->max_size <= 1024 && s->max_size - s->min_size <= 16);
  uint64_t hot_count = strategy == HM_STRATEGY_BALANCED ? 100000 : 1000;
  int hot = s->count >= hot_count;
  uint64_t cap = s->has_pool_capacity ? s->pool_capacity : s->peak_live_count;

  if (strategy == HM_STRATEGY_BALANCED && !s->has_pool_capacity && cap > 4096)
    cap = 4096;   /* between: warm objects ready, not the whole peak held */
  if (cap > HM_PROFILE_MAX_POOL_CAPACITY)
    cap = HM_PROFILE_MAX_POOL_CAPACITY;
  *object_size = (size_t) size;
  *capacity = (size_t) cap;

  switch (strategy)
    {
    case HM_STRATEGY_NONE:
      snprintf (why, why_size, "strategy none: recorded only");
      return HM_PROFILE_CHOICE_MALLOC;
    case HM_STRATEGY_MINIMIZE_MEMORY:
      snprintf (why, why_size, "minimize-memory: the C library, freed memory returned to the OS "
                "every 4 MiB");
      return HM_PROFILE_CHOICE_TRIM;
    case HM_STRATEGY_MAXIMIZE_PERFORMANCE:
    case HM_STRATEGY_BALANCED:
    case HM_STRATEGY_ADAPTIVE:
      if (fixed && hot && can_pool)
        {
          snprintf (why, why_size, "%s: %llu allocations of %llu bytes%s: a pool of %llu-byte "
                    "objects, %llu reserved", hm_profile_strategy_names[strategy],
                    (unsigned long long) s->count, (unsigned long long) s->max_size,
                    sized ? " (pool_object_size set)" : "", (unsigned long long) size,
                    (unsigned long long) cap);
          return HM_PROFILE_CHOICE_POOL;
        }
      if (strategy == HM_STRATEGY_ADAPTIVE && s->max_size >= 64 * 1024)
        {
          snprintf (why, why_size, "adaptive: blocks up to %llu bytes: the C library, freed "
                    "memory returned to the OS eagerly", (unsigned long long) s->max_size);
          return HM_PROFILE_CHOICE_TRIM;
        }
      snprintf (why, why_size, "%s: %s", hm_profile_strategy_names[strategy],
                !can_pool ? "pools are off (HM_POOLING=0 or lifetime analysis)"
                : s->max_size > 1024 && !sized ? "blocks over 1 KiB: the C library serves them"
                : !fixed ? "sizes vary: the C library serves them"
                : "too few allocations for a pool to pay");
      return HM_PROFILE_CHOICE_MALLOC;
    }
  return HM_PROFILE_CHOICE_MALLOC;
}

static void
emit_decision (const HmLoadedSite *s, HmProfileChoice choice, const char *why)
{
  char text[256];
  if (s->module[0] != '\0' && s->has_module_offset)
    snprintf (text, sizeof text, "%.100s+0x%llx\x1f%.130s", s->module,
              (unsigned long long) s->module_offset, why);
  else
    snprintf (text, sizeof text, "0x%llx\x1f%.200s", (unsigned long long) s->address, why);
  hm_writer_queue_meta (HM_EV_PROFILE_DECISION, choice, hm_tsc (), text);
}

static void
apply (const HmOptions *options)
{
  int can_pool = options->enable_pooling && !options->enable_lifetime_analysis;
  int trim = 0;

  for (size_t i = 0; i < n_loaded; i++)
    {
      HmLoadedSite *s = &loaded[i];
      char why[200];
      size_t object_size, capacity;
      HmProfileChoice choice = decide (s, effective (s), can_pool, why, sizeof why,
                                       &object_size, &capacity);
      uintptr_t ip = resolve (s);
      uint32_t index = ip != 0 ? hm_profile_site_add (ip) : HM_PROFILE_NO_SITE;

      if (index == HM_PROFILE_NO_SITE)
        {
          choice = HM_PROFILE_CHOICE_MALLOC;
          snprintf (why, sizeof why, "not found in this process (rebuilt or not loaded)");
        }
      else
        {
          HmProfileSiteInfo *g = &hm_profile_sites[index];
          s->resolved = 1;
          g->loaded = s;
          if (choice == HM_PROFILE_CHOICE_POOL)
            {
              char name[320];
              snprintf (name, sizeof name, "malloc site %s+0x%llx", s->module,
                        (unsigned long long) s->module_offset);
              g->pool = hm_pool_new_for_malloc (name, object_size, capacity);
              if (g->pool == NULL)
                {
                  choice = HM_PROFILE_CHOICE_MALLOC;
                  snprintf (why, sizeof why, "no memory for its pool");
                }
              else
                {
                  g->pool_size = object_size;
                  __atomic_store_n (&hm_profile_pools_active, 1, __ATOMIC_RELEASE);
                }
            }
          else if (choice == HM_PROFILE_CHOICE_TRIM)
            trim = 1;
        }
      if (hm_agent.tracing)
        emit_decision (s, choice, why);
    }
  if (trim || run_strategy == HM_STRATEGY_MINIMIZE_MEMORY)
    {
      /* pack tightly: fewer arenas, big blocks mapped on their own (and
       * unmapped at their free), the top of the heap trimmed soon */
      if (run_strategy == HM_STRATEGY_MINIMIZE_MEMORY)
        mallopt (M_ARENA_MAX, 2);
      mallopt (M_MMAP_THRESHOLD, 64 * 1024);
      mallopt (M_TRIM_THRESHOLD, 128 * 1024);
      __atomic_store_n (&hm_profile_trimming, 1, __ATOMIC_RELEASE);
    }
}

/* Under minimize-memory: after every 4 MiB freed by a thread, the C library
 * gives the free pages inside its heap back (malloc_trim), not only its top. */
void
hm_profile_trim_note_free (HmProfileThread *t, void *p)
{
  (void) t;
  static __thread uint64_t freed HM_TLS;
  freed += malloc_usable_size (p);
  if (HM_UNLIKELY (freed >= 4u << 20))
    {
      freed = 0;
      hm_guard++;
      malloc_trim (0);
      hm_guard--;
    }
}

HmStrategy
hm_profile_file_strategy (void)
{
  return file_strategy >= 0 ? (HmStrategy) file_strategy : run_strategy;
}

/* --- what a rewrite keeps --------------------------------------------------------- */

void
hm_profile_write_loaded_top (void *out)
{
  for (unsigned i = 0; i < n_top_unknown; i++)
    {
      hm_profile_out_str (out, ",\n  ");
      hm_profile_out_raw (out, top_unknown[i], top_unknown_len[i]);
    }
}

void
hm_profile_write_loaded_overrides (void *out, const HmLoadedSite *s)
{
  if (s->strategy >= 0)
    {
      hm_profile_out_str (out, ",\n     \"strategy\": ");
      hm_profile_out_json_string (out, hm_profile_strategy_names[s->strategy]);
    }
  if (s->pool_object_size > 0)
    {
      hm_profile_out_str (out, ", \"pool_object_size\": ");
      hm_profile_out_uint (out, s->pool_object_size);
    }
  if (s->has_pool_capacity)
    {
      hm_profile_out_str (out, ", \"pool_capacity\": ");
      hm_profile_out_uint (out, s->pool_capacity);
    }
  if (s->extras_len > 0)
    {
      hm_profile_out_str (out, ",\n     ");
      /* the kept members, without the first separator */
      hm_profile_out_raw (out, extras + s->extras_start + 2, s->extras_len - 2);
    }
}

void
hm_profile_write_unresolved (void *out, int *first)
{
  for (size_t i = 0; i < n_loaded; i++)
    if (!loaded[i].resolved && loaded[i].text_len > 0)
      {
        hm_profile_out_str (out, *first ? "\n    {" : ",\n    {");
        *first = 0;
        hm_profile_out_raw (out, loaded[i].text, loaded[i].text_len);
        hm_profile_out_str (out, "}");
      }
}

/* --- start ------------------------------------------------------------------------- */

void
hm_profile_start (const HmOptions *options)
{
  static int started;
  static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
  int have;

  if (__atomic_load_n (&started, __ATOMIC_ACQUIRE))
    return;
  if (hm_sampler.on)
    {
      /* the sampled path bypasses the profile's pools: neither is both */
      if (options->enable_profiling
          || (options->profile_path != NULL && access (options->profile_path, R_OK) == 0))
        hm_sampler_refuse ("profile");
      return;
    }
  hm_guard++;
  pthread_mutex_lock (&start_lock);
  if (started)
    {
      pthread_mutex_unlock (&start_lock);
      hm_guard--;
      return;
    }
  run_strategy = options->strategy;
  have = load (options->profile_path);
  /* nothing to do (no file, no profiling): a later hm_init() may ask */
  if (have != 0 || options->enable_profiling)
    __atomic_store_n (&started, 1, __ATOMIC_RELEASE);
  if (have == 1 || options->enable_profiling)
    {
      if (hm_profile_tables_init () != 0)
        {
          hm_profile_say ("hybridmem: no memory for the profile's tables; profiling is off\n");
          pthread_mutex_unlock (&start_lock);
          hm_guard--;
          return;
        }
      if (have == 1)
        {
          if (run_strategy == HM_STRATEGY_NONE && file_strategy >= 0)
            run_strategy = (HmStrategy) file_strategy;
          apply (options);
        }
      if (options->enable_profiling)
        hm_profile_recording_start (options->profile_path, options->profile_save_interval);
      /* Counting every allocation costs each one a site lookup and a dozen
       * counters (bench-profile: 1.5x plain).  When nothing else needs
       * every allocation seen (no pool or trimming applied, no trace, no
       * lifetime analysis), byte-weighted samples count the sites instead,
       * through the sampler's countdown and arena, as tcmalloc's heap
       * profiles do: the counts become estimates, and the file says so
       * (sample_bytes).  HM_PROFILE_SAMPLE_BYTES=0 keeps exact counts. */
      uint64_t mean = options->enable_profiling ? hm_profile_sample_bytes_option () : 0;
      if (mean != 0 && !hm_profile_pools_active && !hm_profile_trimming
          && !hm_agent.tracing && !hm_lifetime_active && hm_sampler_start_profile (mean))
        ;
      else
        __atomic_store_n (&hm_profile_active, 1, __ATOMIC_RELEASE);
      hm_hooks_refresh ();
    }
  pthread_mutex_unlock (&start_lock);
  hm_guard--;
}
