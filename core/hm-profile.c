/* hm-profile.c — memory_profile.json as a validated JSON tree.
 *
 * Owns the schema's rules (data/memory-profile.schema.json says the same for
 * other tools): what is required, which types and ranges are allowed, which
 * fields a person may edit.  The tree is kept whole so unknown fields survive.
 */
#include "hm-profile.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct _HmProfile {
  json_t *root;
};

G_DEFINE_QUARK (hm-profile-error-quark, hm_profile_error)

/* ---- where a value is in the text ------------------------------------------ */

/* A path into the tree: keys and array indices, outermost first. */
typedef struct {
  guint n;
  struct { const char *key; gint64 index; } part[8];
} JsonPath;

static void
path_push_key (JsonPath *path, const char *key)
{
  if (path->n < G_N_ELEMENTS (path->part))
    {
      path->part[path->n].key = key;
      path->part[path->n].index = -1;
    }
  path->n++;
}

static void
path_push_index (JsonPath *path, gint64 index)
{
  if (path->n < G_N_ELEMENTS (path->part))
    {
      path->part[path->n].key = NULL;
      path->part[path->n].index = index;
    }
  path->n++;
}

static char *
path_to_string (const JsonPath *path)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < MIN (path->n, G_N_ELEMENTS (path->part)); i++)
    {
      if (path->part[i].key != NULL)
        g_string_append_printf (s, "%s%s", s->len ? "." : "", path->part[i].key);
      else
        g_string_append_printf (s, "[%" G_GINT64_FORMAT "]", path->part[i].index);
    }
  if (s->len == 0)
    g_string_append (s, _("the top level"));
  return g_string_free (s, FALSE);
}

/* A scanner over text that jansson has already accepted: it walks values
 * without building them, to find where the value at a path starts. */
typedef struct {
  const char *p, *end;
} Scan;

static void
scan_space (Scan *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

/* Skips a string; returns its raw bytes (escapes kept) in *start, *len. */
static void
scan_string (Scan *s, const char **start, gsize *len)
{
  s->p++;   /* the quote */
  *start = s->p;
  while (s->p < s->end && *s->p != '"')
    s->p += *s->p == '\\' ? 2 : 1;
  *len = (gsize) (MIN (s->p, s->end) - *start);
  s->p++;
}

static void scan_value (Scan *s, int depth);

static void
scan_value (Scan *s, int depth)
{
  scan_space (s);
  if (s->p >= s->end || depth > 4096)
    return;
  if (*s->p == '{' || *s->p == '[')
    {
      char close = *s->p == '{' ? '}' : ']';
      gboolean object = *s->p == '{';
      s->p++;
      for (;;)
        {
          const char *before;
          scan_space (s);
          before = s->p;
          if (s->p >= s->end || *s->p == close)
            break;
          if (object)
            {
              const char *k;
              gsize n;
              scan_string (s, &k, &n);
              scan_space (s);
              s->p++;  /* colon */
            }
          scan_value (s, depth + 1);
          scan_space (s);
          if (s->p < s->end && *s->p == ',')
            s->p++;
          /* jansson accepted these bytes, but never trust that: every
           * round moves on */
          if (s->p == before)
            s->p++;
        }
      s->p++;
    }
  else if (*s->p == '"')
    {
      const char *k;
      gsize n;
      scan_string (s, &k, &n);
    }
  else
    do
      s->p++;   /* a number or a word: at least one byte */
    while (s->p < s->end && *s->p != ',' && *s->p != ']' && *s->p != '}' && *s->p != ' '
           && *s->p != '\t' && *s->p != '\r' && *s->p != '\n');
}

/* The offset of the value at path in text (or of the deepest part found). */
static gsize
locate (const char *text, gsize length, const JsonPath *path)
{
  Scan s = { text, text + length };
  const char *found;

  scan_space (&s);
  found = s.p;
  for (guint i = 0; i < MIN (path->n, G_N_ELEMENTS (path->part)); i++)
    {
      gboolean object = path->part[i].key != NULL;
      gint64 index = 0;
      gboolean hit = FALSE;

      scan_space (&s);
      if (s.p >= s.end || *s.p != (object ? '{' : '['))
        break;
      s.p++;
      for (;;)
        {
          scan_space (&s);
          if (s.p >= s.end || *s.p == '}' || *s.p == ']')
            break;
          if (object)
            {
              const char *k;
              gsize n;
              scan_string (&s, &k, &n);
              scan_space (&s);
              s.p++;
              hit = n == strlen (path->part[i].key) && memcmp (k, path->part[i].key, n) == 0;
            }
          else
            hit = index == path->part[i].index;
          if (hit)
            break;
          const char *before = s.p;
          scan_value (&s, 0);
          scan_space (&s);
          if (s.p < s.end && *s.p == ',')
            s.p++;
          if (s.p == before)
            s.p++;
          index++;
        }
      if (!hit)
        break;
      scan_space (&s);
      found = s.p;
    }
  return (gsize) (MIN (found, s.end) - text);
}

static void
line_column (const char *text, gsize offset, int *line, int *column)
{
  *line = 1;
  *column = 1;
  for (gsize i = 0; i < offset; i++)
    {
      if (text[i] == '\n')
        {
          (*line)++;
          *column = 1;
        }
      else if ((text[i] & 0xc0) != 0x80)
        (*column)++;
    }
}

/* ---- validation ----------------------------------------------------------- */

typedef struct {
  const char *name;
  const char *text;        /* NULL: no positions (a tree built in memory) */
  gsize length;
  GError **error;
} Check;

static gboolean G_GNUC_PRINTF (4, 5)
fail (Check *c, int code, const JsonPath *path, const char *format, ...)
{
  g_autofree char *what = NULL;
  g_autofree char *where = path_to_string (path);
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  if (c->text != NULL)
    {
      int line, column;
      line_column (c->text, locate (c->text, c->length, path), &line, &column);
      g_set_error (c->error, HM_PROFILE_ERROR, code, "%s:%d:%d: %s: %s", c->name, line, column,
                   where, what);
    }
  else
    g_set_error (c->error, HM_PROFILE_ERROR, code, "%s: %s: %s", c->name, where, what);
  return FALSE;
}

static gboolean
check_strategy_name (const char *name)
{
  for (guint i = 0; i < HM_PROFILE_N_STRATEGIES; i++)
    if (strcmp (name, hm_profile_strategy_names[i]) == 0)
      return TRUE;
  return FALSE;
}

/* An optional whole number in [min, max]. */
static gboolean
check_number (Check *c, json_t *object, const char *key, JsonPath *path, gint64 min, gint64 max)
{
  json_t *v = json_object_get (object, key);
  gboolean ok = TRUE;

  if (v == NULL)
    return TRUE;
  path_push_key (path, key);
  if (!json_is_integer (v))
    ok = fail (c, HM_PROFILE_ERROR_INVALID, path, _("must be a whole number, not %s"),
               json_is_real (v) ? _("a fraction") : json_is_string (v) ? _("a string")
               : json_is_null (v) ? "null" : _("this"));
  else if (json_integer_value (v) < min || json_integer_value (v) > max)
    ok = fail (c, HM_PROFILE_ERROR_INVALID, path,
               _("%" G_GINT64_FORMAT " is out of range (%" G_GINT64_FORMAT " to %" G_GINT64_FORMAT ")"),
               (gint64) json_integer_value (v), min, max);
  path->n--;
  return ok;
}

/* An optional string (or null when nullable). */
static gboolean
check_string (Check *c, json_t *object, const char *key, JsonPath *path, gboolean nullable)
{
  json_t *v = json_object_get (object, key);
  gboolean ok = TRUE;

  if (v == NULL || (nullable && json_is_null (v)))
    return TRUE;
  path_push_key (path, key);
  if (!json_is_string (v))
    ok = fail (c, HM_PROFILE_ERROR_INVALID, path, _("must be a string"));
  else if (json_string_length (v) > HM_PROFILE_MAX_STRING || json_string_length (v) == 0)
    ok = fail (c, HM_PROFILE_ERROR_INVALID, path, _("must be 1 to %u bytes long"),
               HM_PROFILE_MAX_STRING);
  path->n--;
  return ok;
}

static gboolean
check_histogram (Check *c, json_t *site, const char *key, JsonPath *path, guint n_buckets)
{
  json_t *v = json_object_get (site, key);
  gboolean ok = TRUE;

  if (v == NULL)
    return TRUE;
  path_push_key (path, key);
  if (!json_is_array (v))
    ok = fail (c, HM_PROFILE_ERROR_INVALID, path, _("must be a list of counts"));
  else if (json_array_size (v) > n_buckets)
    ok = fail (c, HM_PROFILE_ERROR_INVALID, path, _("has %zu buckets; at most %u"),
               json_array_size (v), n_buckets);
  else
    for (gsize i = 0; ok && i < json_array_size (v); i++)
      {
        json_t *n = json_array_get (v, i);
        if (!json_is_integer (n) || json_integer_value (n) < 0
            || json_integer_value (n) > HM_PROFILE_MAX_NUMBER)
          {
            path_push_index (path, (gint64) i);
            ok = fail (c, HM_PROFILE_ERROR_INVALID, path,
                       _("a count must be a whole number from 0 to 2^53"));
            path->n--;
          }
      }
  path->n--;
  return ok;
}

static const char *const site_counts[] = {
  "count", "bytes", "min_size", "max_size", "peak_live_count", "peak_live_bytes", "threads",
};

static gboolean
check_site (Check *c, json_t *site, JsonPath *path)
{
  json_t *strategy, *address;

  if (!json_is_object (site))
    return fail (c, HM_PROFILE_ERROR_INVALID, path, _("a site must be an object"));
  if (!check_string (c, site, "module", path, FALSE)
      || !check_string (c, site, "symbol", path, TRUE)
      || !check_string (c, site, "file", path, TRUE)
      || !check_string (c, site, "address", path, FALSE)
      || !check_number (c, site, "module_offset", path, 0, HM_PROFILE_MAX_NUMBER)
      || !check_number (c, site, "symbol_offset", path, 0, HM_PROFILE_MAX_NUMBER)
      || !check_number (c, site, "line", path, 0, G_MAXINT32))
    return FALSE;
  if (json_object_get (site, "module") == NULL && json_object_get (site, "address") == NULL)
    return fail (c, HM_PROFILE_ERROR_INVALID, path,
                 _("a site needs a \"module\" (with \"module_offset\") or an \"address\""));
  if (json_object_get (site, "module") != NULL && json_object_get (site, "module_offset") == NULL
      && json_object_get (site, "address") == NULL)
    return fail (c, HM_PROFILE_ERROR_INVALID, path,
                 _("a site with a \"module\" needs its \"module_offset\""));
  address = json_object_get (site, "address");
  if (address != NULL)
    {
      const char *a = json_string_value (address);
      gboolean hex = g_str_has_prefix (a, "0x") && a[2] != '\0' && strlen (a) <= 18;
      for (const char *p = a + 2; hex && *p; p++)
        hex = g_ascii_isxdigit (*p);
      if (!hex)
        {
          path_push_key (path, "address");
          fail (c, HM_PROFILE_ERROR_INVALID, path,
                _("must be a hexadecimal address like \"0x7f12ab\""));
          path->n--;
          return FALSE;
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (site_counts); i++)
    if (!check_number (c, site, site_counts[i], path, 0, HM_PROFILE_MAX_NUMBER))
      return FALSE;
  if (!check_histogram (c, site, "size_histogram", path, HM_PROFILE_SIZE_BUCKETS)
      || !check_histogram (c, site, "lifetime_histogram", path, HM_PROFILE_LIFETIME_BUCKETS))
    return FALSE;
  strategy = json_object_get (site, "strategy");
  if (strategy != NULL && !json_is_null (strategy)
      && (!json_is_string (strategy) || !check_strategy_name (json_string_value (strategy))))
    {
      path_push_key (path, "strategy");
      fail (c, HM_PROFILE_ERROR_INVALID, path,
            _("must be one of none, minimize-memory, maximize-performance, balanced, adaptive"));
      path->n--;
      return FALSE;
    }
  return check_number (c, site, "pool_object_size", path, 1, HM_PROFILE_MAX_POOL_OBJECT)
         && check_number (c, site, "pool_capacity", path, 0, HM_PROFILE_MAX_POOL_CAPACITY);
}

static gboolean
check_profile (Check *c, json_t *root)
{
  JsonPath path = { 0 };
  json_t *version, *strategy, *sites;

  if (!json_is_object (root))
    return fail (c, HM_PROFILE_ERROR_INVALID, &path, _("a profile is a JSON object"));
  version = json_object_get (root, "version");
  path_push_key (&path, "version");
  if (version == NULL)
    {
      path.n = 0;
      return fail (c, HM_PROFILE_ERROR_VERSION, &path, _("\"version\" is missing"));
    }
  if (!json_is_integer (version) || json_integer_value (version) < 1)
    return fail (c, HM_PROFILE_ERROR_VERSION, &path, _("must be a whole number from 1"));
  if (json_integer_value (version) > HM_PROFILE_VERSION)
    return fail (c, HM_PROFILE_ERROR_VERSION, &path,
                 _("version %" JSON_INTEGER_FORMAT " is newer than this hybridmem reads (%d)"),
                 json_integer_value (version), HM_PROFILE_VERSION);
  path.n = 0;

  strategy = json_object_get (root, "strategy");
  if (strategy != NULL
      && (!json_is_string (strategy) || !check_strategy_name (json_string_value (strategy))))
    {
      path_push_key (&path, "strategy");
      return fail (c, HM_PROFILE_ERROR_INVALID, &path,
                   _("must be one of none, minimize-memory, maximize-performance, balanced, adaptive"));
    }

  sites = json_object_get (root, "sites");
  if (sites == NULL)
    return fail (c, HM_PROFILE_ERROR_INVALID, &path, _("\"sites\" is missing"));
  path_push_key (&path, "sites");
  if (!json_is_array (sites))
    return fail (c, HM_PROFILE_ERROR_INVALID, &path, _("must be a list"));
  if (json_array_size (sites) > HM_PROFILE_MAX_SITES)
    return fail (c, HM_PROFILE_ERROR_INVALID, &path, _("has %zu sites; at most %u"),
                 json_array_size (sites), HM_PROFILE_MAX_SITES);
  for (gsize i = 0; i < json_array_size (sites); i++)
    {
      path_push_index (&path, (gint64) i);
      if (!check_site (c, json_array_get (sites, i), &path))
        return FALSE;
      path.n--;
    }
  return TRUE;
}

/* ---- load and save -------------------------------------------------------- */

HmProfile *
hm_profile_new (void)
{
  HmProfile *profile = g_new0 (HmProfile, 1);

  profile->root = json_pack ("{s:i, s:s, s:[]}", "version", HM_PROFILE_VERSION,
                             "strategy", "none", "sites");
  return profile;
}

void
hm_profile_free (HmProfile *profile)
{
  if (profile == NULL)
    return;
  json_decref (profile->root);
  g_free (profile);
}

HmProfile *
hm_profile_load_data (const char *data, gsize length, const char *name, GError **error)
{
  json_error_t json_error;
  json_t *root;
  Check check = { name ? name : "profile", data, length, error };

  g_return_val_if_fail (data != NULL || length == 0, NULL);

  if (length > HM_PROFILE_MAX_BYTES)
    {
      g_set_error (error, HM_PROFILE_ERROR, HM_PROFILE_ERROR_IO,
                   _("%s: %zu bytes is too big for a profile (at most %u)"), check.name,
                   (size_t) length, HM_PROFILE_MAX_BYTES);
      return NULL;
    }
  root = json_loadb (data, length, JSON_REJECT_DUPLICATES, &json_error);
  if (root == NULL)
    {
      g_set_error (error, HM_PROFILE_ERROR, HM_PROFILE_ERROR_SYNTAX, "%s:%d:%d: %s", check.name,
                   MAX (json_error.line, 1), MAX (json_error.column, 1), json_error.text);
      return NULL;
    }
  if (!check_profile (&check, root))
    {
      json_decref (root);
      return NULL;
    }
  HmProfile *profile = g_new0 (HmProfile, 1);
  profile->root = root;
  return profile;
}

HmProfile *
hm_profile_load (const char *path, GError **error)
{
  struct stat st;
  g_autofree char *data = NULL;
  gsize length = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, HM_PROFILE_ERROR, HM_PROFILE_ERROR_IO, "%s: %s", path,
                   g_strerror (saved));
      return NULL;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, HM_PROFILE_ERROR, HM_PROFILE_ERROR_IO,
                   S_ISDIR (st.st_mode) ? _("%s: is a directory, not a profile")
                                        : _("%s: is not a regular file"), path);
      close (fd);
      return NULL;
    }
  if ((guint64) st.st_size > HM_PROFILE_MAX_BYTES)
    {
      g_set_error (error, HM_PROFILE_ERROR, HM_PROFILE_ERROR_IO,
                   _("%s: %" G_GINT64_FORMAT " bytes is too big for a profile (at most %u)"),
                   path, (gint64) st.st_size, HM_PROFILE_MAX_BYTES);
      close (fd);
      return NULL;
    }
  data = g_malloc ((gsize) st.st_size + 1);
  while (length < (gsize) st.st_size)
    {
      ssize_t n = read (fd, data + length, (gsize) st.st_size - length);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      length += (gsize) n;
    }
  close (fd);
  return hm_profile_load_data (data, length, path, error);
}

char *
hm_profile_to_string (HmProfile *profile)
{
  char *dumped, *text;

  g_return_val_if_fail (profile != NULL, NULL);
  dumped = json_dumps (profile->root, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  text = g_strconcat (dumped, "\n", NULL);
  free (dumped);
  return text;
}

gboolean
hm_profile_write_file (HmProfile *profile, const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (profile != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  text = hm_profile_to_string (profile);
  /* a temporary file beside path, synced, then renamed over it */
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local))
    {
      g_set_error (error, HM_PROFILE_ERROR, HM_PROFILE_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  return TRUE;
}

json_t *
hm_profile_get_json (HmProfile *profile)
{
  g_return_val_if_fail (profile != NULL, NULL);
  return profile->root;
}

/* ---- reading sites -------------------------------------------------------- */

const char *
hm_profile_get_strategy (HmProfile *profile)
{
  const char *s = json_string_value (json_object_get (profile->root, "strategy"));
  return s ? s : "none";
}

guint
hm_profile_get_n_sites (HmProfile *profile)
{
  return (guint) json_array_size (json_object_get (profile->root, "sites"));
}

static gint64
get_int (json_t *site, const char *key, gint64 otherwise)
{
  json_t *v = json_object_get (site, key);
  return json_is_integer (v) ? (gint64) json_integer_value (v) : otherwise;
}

/* The median of a power-of-two histogram: the lower bound of its bucket. */
static gint64
histogram_median (json_t *histogram)
{
  gint64 total = 0, seen = 0;

  for (gsize i = 0; i < json_array_size (histogram); i++)
    total += json_integer_value (json_array_get (histogram, i));
  if (total == 0)
    return -1;
  for (gsize i = 0; i < json_array_size (histogram); i++)
    {
      seen += json_integer_value (json_array_get (histogram, i));
      if (seen * 2 >= total)
        return i == 0 ? 0 : (gint64) 1 << (i - 1);
    }
  return -1;
}

gboolean
hm_profile_get_site (HmProfile *profile, guint index, HmProfileSite *site)
{
  json_t *s = json_array_get (json_object_get (profile->root, "sites"), index);

  g_return_val_if_fail (site != NULL, FALSE);
  if (s == NULL)
    return FALSE;
  memset (site, 0, sizeof *site);
  site->module = json_string_value (json_object_get (s, "module"));
  site->symbol = json_string_value (json_object_get (s, "symbol"));
  site->module_offset = get_int (s, "module_offset", -1);
  site->symbol_offset = get_int (s, "symbol_offset", -1);
  site->file = json_string_value (json_object_get (s, "file"));
  site->line = get_int (s, "line", 0);
  site->address = json_string_value (json_object_get (s, "address"));
  site->count = get_int (s, "count", 0);
  site->bytes = get_int (s, "bytes", 0);
  site->min_size = get_int (s, "min_size", 0);
  site->max_size = get_int (s, "max_size", 0);
  site->peak_live_count = get_int (s, "peak_live_count", 0);
  site->peak_live_bytes = get_int (s, "peak_live_bytes", 0);
  site->threads = get_int (s, "threads", 0);
  site->lifetime_median_ns = histogram_median (json_object_get (s, "lifetime_histogram"));
  site->strategy = json_string_value (json_object_get (s, "strategy"));
  site->pool_object_size = get_int (s, "pool_object_size", 0);
  site->pool_capacity = get_int (s, "pool_capacity", 0);
  return TRUE;
}

char *
hm_profile_site_key (const HmProfileSite *site)
{
  if (site->module != NULL && site->module_offset >= 0)
    return g_strdup_printf ("%s+0x%" G_GINT64_MODIFIER "x", site->module, site->module_offset);
  if (site->address != NULL)
    return g_strdup (site->address);
  return g_strdup (site->module ? site->module : "?");
}

int
hm_profile_find_site (HmProfile *profile, const char *key)
{
  guint n = hm_profile_get_n_sites (profile);
  char *end;
  guint64 number;

  g_return_val_if_fail (key != NULL, -1);
  errno = 0;
  number = g_ascii_strtoull (key, &end, 10);
  if (*key != '\0' && *end == '\0' && errno == 0)
    return number >= 1 && number <= n ? (int) number - 1 : -1;
  for (guint i = 0; i < n; i++)
    {
      HmProfileSite site;
      g_autofree char *k = NULL;
      hm_profile_get_site (profile, i, &site);
      k = hm_profile_site_key (&site);
      if (strcmp (k, key) == 0)
        return (int) i;
    }
  return -1;
}

/* ---- editing -------------------------------------------------------------- */

gboolean
hm_profile_set (HmProfile *profile, int index, const char *key, const char *value,
                GError **error)
{
  json_t *target, *copy;
  gboolean remove = value[0] == '\0' || strcmp (value, "default") == 0;

  g_return_val_if_fail (profile != NULL, FALSE);
  g_return_val_if_fail (key != NULL && value != NULL, FALSE);

  target = index < 0 ? profile->root
                     : json_array_get (json_object_get (profile->root, "sites"), (gsize) index);
  if (target == NULL)
    {
      g_set_error (error, HM_PROFILE_ERROR, HM_PROFILE_ERROR_NOT_FOUND, _("no site %d"),
                   index + 1);
      return FALSE;
    }
  if (strcmp (key, "strategy") == 0)
    {
      if (!(remove && index >= 0) && !check_strategy_name (value))
        {
          g_set_error (error, HM_PROFILE_ERROR, HM_PROFILE_ERROR_INVALID,
                       _("strategy “%s” is not one of none, minimize-memory, "
                         "maximize-performance, balanced, adaptive%s"),
                       value, index >= 0 ? _(", default") : "");
          return FALSE;
        }
    }
  else if (index < 0 || (strcmp (key, "pool_object_size") != 0 && strcmp (key, "pool_capacity") != 0))
    {
      gboolean measured = index >= 0 && json_object_get (target, key) != NULL;
      g_set_error (error, HM_PROFILE_ERROR, HM_PROFILE_ERROR_NOT_FOUND,
                   measured ? _("“%s” is measured, not set: a person edits strategy, "
                                "pool_object_size and pool_capacity")
                   : index >= 0 ? _("“%s” is not a field a person sets on a site: strategy, "
                                    "pool_object_size or pool_capacity")
                   : _("“%s” is not a global field a person sets: strategy"), key);
      return FALSE;
    }

  /* Edit a copy and validate the whole, so a bad value never lands. */
  copy = json_deep_copy (profile->root);
  target = index < 0 ? copy : json_array_get (json_object_get (copy, "sites"), (gsize) index);
  if (remove && index >= 0)
    json_object_del (target, key);
  else if (strcmp (key, "strategy") == 0)
    json_object_set_new (target, key, json_string (value));
  else
    {
      char *end;
      errno = 0;
      gint64 n = g_ascii_strtoll (value, &end, 10);
      if (*end != '\0' || errno != 0)
        {
          json_decref (copy);
          g_set_error (error, HM_PROFILE_ERROR, HM_PROFILE_ERROR_INVALID,
                       _("%s=%s: not a whole number"), key, value);
          return FALSE;
        }
      json_object_set_new (target, key, json_integer (n));
    }
  Check check = { "profile", NULL, 0, error };
  if (!check_profile (&check, copy))
    {
      json_decref (copy);
      return FALSE;
    }
  json_decref (profile->root);
  profile->root = copy;
  return TRUE;
}

/* ---- from a trace --------------------------------------------------------- */

static json_t *
histogram_to_json (const guint64 *buckets, guint n)
{
  json_t *array = json_array ();
  guint used = n;

  while (used > 0 && buckets[used - 1] == 0)
    used--;
  for (guint i = 0; i < used; i++)
    json_array_append_new (array, json_integer ((json_int_t) MIN (buckets[i], (guint64) HM_PROFILE_MAX_NUMBER)));
  return array;
}

static json_t *
count_json (guint64 value)
{
  return json_integer ((json_int_t) MIN (value, (guint64) HM_PROFILE_MAX_NUMBER));
}

static json_t *
string_json (const char *value)
{
  json_t *s = json_string (value);
  if (s == NULL)
    {
      g_autofree char *valid = g_utf8_make_valid (value, -1);
      s = json_string (valid);
    }
  return s;
}

HmProfile *
hm_profile_new_from_model (HmHeapModel *model, HmSymbolizer *symbolizer)
{
  HmProfile *profile = hm_profile_new ();
  json_t *sites = json_object_get (profile->root, "sites");
  g_autoptr(GPtrArray) stats = hm_heap_model_get_sites (model);
  const char *exe = hm_heap_model_get_info (model, "exe");

  if (exe != NULL)
    json_object_set_new (profile->root, "program", string_json (exe));
  for (guint i = 0; i < stats->len && json_array_size (sites) < HM_PROFILE_MAX_SITES; i++)
    {
      const HmSiteStats *st = g_ptr_array_index (stats, i);
      g_autoptr(GArray) ips = hm_heap_model_get_stack_ips (model, st->stack);
      json_t *site = json_object ();
      guint n_frames;

      if (ips->len > 0)
        {
          guint64 ip = g_array_index (ips, guint64, 0);
          /* the outermost of the frames at this address: the function itself,
           * not what was inlined into it */
          const HmFrameInfo *frames = hm_symbolizer_lookup (symbolizer, ip, &n_frames);
          const HmFrameInfo *f = &frames[n_frames - 1];
          if (f->module != NULL)
            {
              g_autofree char *base = g_path_get_basename (f->module);
              json_object_set_new (site, "module", string_json (base));
              json_object_set_new (site, "module_offset", count_json (f->module_offset));
            }
          if (f->function != NULL && strcmp (f->function, "??") != 0)
            json_object_set_new (site, "symbol", string_json (f->function));
          if (frames[0].file != NULL)
            {
              g_autofree char *base = g_path_get_basename (frames[0].file);
              json_object_set_new (site, "file", string_json (base));
              if (frames[0].line > 0)
                json_object_set_new (site, "line", json_integer (frames[0].line));
            }
          g_autofree char *address = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", ip);
          json_object_set_new (site, "address", json_string (address));
        }
      else
        json_object_set_new (site, "address", json_string ("0x0"));
      json_object_set_new (site, "count", count_json (st->allocations));
      json_object_set_new (site, "bytes", count_json (st->bytes));
      json_object_set_new (site, "min_size", count_json (st->min_size));
      json_object_set_new (site, "max_size", count_json (st->max_size));
      json_object_set_new (site, "size_histogram",
                           histogram_to_json (st->size_histogram, HM_PROFILE_SIZE_BUCKETS));
      json_object_set_new (site, "lifetime_histogram",
                           histogram_to_json (st->lifetime_histogram, HM_PROFILE_LIFETIME_BUCKETS));
      json_object_set_new (site, "peak_live_count", count_json (st->peak_live_blocks));
      json_object_set_new (site, "peak_live_bytes", count_json (st->peak_live_bytes));
      json_object_set_new (site, "threads", count_json (st->n_threads));
      json_array_append_new (sites, site);
    }
  return profile;
}

/* ---- printing ------------------------------------------------------------- */

static char *
site_description (const HmProfileSite *site)
{
  GString *s = g_string_new (site->symbol ? site->symbol : "??");
  if (site->file != NULL && site->line > 0)
    g_string_append_printf (s, " (%s:%" G_GINT64_FORMAT ")", site->file, site->line);
  return g_string_free (s, FALSE);
}

static char *
format_ns (gint64 ns)
{
  if (ns < 0)
    return g_strdup ("-");
  if (ns < 1000)
    return g_strdup_printf ("%" G_GINT64_FORMAT " ns", ns);
  if (ns < 1000000)
    return g_strdup_printf ("%.1f µs", ns / 1e3);
  if (ns < 1000000000)
    return g_strdup_printf ("%.1f ms", ns / 1e6);
  return g_strdup_printf ("%.1f s", ns / 1e9);
}

void
hm_profile_print_table (FILE *out, HmProfile *profile)
{
  guint n = hm_profile_get_n_sites (profile);

  fprintf (out, _("Profile version %" JSON_INTEGER_FORMAT ", strategy %s, %u sites\n\n"),
           json_integer_value (json_object_get (profile->root, "version")),
           hm_profile_get_strategy (profile), n);
  json_int_t sample_bytes = json_integer_value (json_object_get (profile->root, "sample_bytes"));
  if (sample_bytes > 0)
    fprintf (out, _("Counts, bytes and sizes are estimates from byte samples (one per %"
                    JSON_INTEGER_FORMAT " bytes allocated, on average).\n\n"), sample_bytes);
  if (n == 0)
    return;
  fprintf (out, "%4s  %-28s %10s %12s %13s %10s %7s %10s %-20s  %s\n", "#", _("site"), _("count"),
           _("bytes"), _("size"), _("peak live"), _("threads"), _("lifetime"), _("override"),
           _("where"));
  for (guint i = 0; i < n; i++)
    {
      HmProfileSite site;
      hm_profile_get_site (profile, i, &site);
      g_autofree char *key = hm_profile_site_key (&site);
      g_autofree char *where = site_description (&site);
      g_autofree char *size = site.min_size == site.max_size
                                ? g_strdup_printf ("%" G_GINT64_FORMAT, site.min_size)
                                : g_strdup_printf ("%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT,
                                                   site.min_size, site.max_size);
      g_autofree char *lifetime = format_ns (site.lifetime_median_ns);
      g_autofree char *override = NULL;
      if (site.strategy != NULL || site.pool_object_size > 0 || site.pool_capacity > 0)
        override = g_strdup_printf ("%s%s%s", site.strategy ? site.strategy : "",
                                    site.pool_object_size > 0 ? " obj" : "",
                                    site.pool_capacity > 0 ? " cap" : "");
      fprintf (out, "%4u  %-28s %10" G_GINT64_FORMAT " %12" G_GINT64_FORMAT " %13s %10"
               G_GINT64_FORMAT " %7" G_GINT64_FORMAT " %10s %-20s  %s\n",
               i + 1, key, site.count, site.bytes, size, site.peak_live_count, site.threads,
               lifetime, override ? override : "-", where);
    }
}

static guint
diff_field (FILE *out, const char *key, const char *field, json_t *a, json_t *b)
{
  json_t *va = json_object_get (a, field), *vb = json_object_get (b, field);
  if ((va == NULL && vb == NULL) || (va != NULL && vb != NULL && json_equal (va, vb)))
    return 0;
  char *ta = va ? json_dumps (va, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
  char *tb = vb ? json_dumps (vb, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
  fprintf (out, "~ %s %s: %s -> %s\n", key, field, ta ? ta : "(unset)", tb ? tb : "(unset)");
  free (ta);
  free (tb);
  return 1;
}

static const char *const diffed_fields[] = {
  "count", "bytes", "min_size", "max_size", "peak_live_count", "peak_live_bytes", "threads",
  "strategy", "pool_object_size", "pool_capacity",
};

guint
hm_profile_print_diff (FILE *out, HmProfile *a, HmProfile *b)
{
  g_autoptr(GHashTable) in_a = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n_diffs = 0;

  if (strcmp (hm_profile_get_strategy (a), hm_profile_get_strategy (b)) != 0)
    {
      fprintf (out, "~ strategy: %s -> %s\n", hm_profile_get_strategy (a),
               hm_profile_get_strategy (b));
      n_diffs++;
    }
  for (guint i = 0; i < hm_profile_get_n_sites (a); i++)
    {
      HmProfileSite site;
      hm_profile_get_site (a, i, &site);
      g_hash_table_insert (in_a, hm_profile_site_key (&site), GUINT_TO_POINTER (i + 1));
    }
  for (guint i = 0; i < hm_profile_get_n_sites (b); i++)
    {
      HmProfileSite site;
      hm_profile_get_site (b, i, &site);
      g_autofree char *key = hm_profile_site_key (&site);
      guint in = GPOINTER_TO_UINT (g_hash_table_lookup (in_a, key));
      json_t *sb = json_array_get (json_object_get (b->root, "sites"), i);
      if (in == 0)
        {
          g_autofree char *where = site_description (&site);
          fprintf (out, "+ %s %s: %" G_GINT64_FORMAT " allocations, %" G_GINT64_FORMAT " bytes\n",
                   key, where, site.count, site.bytes);
          n_diffs++;
          continue;
        }
      json_t *sa = json_array_get (json_object_get (a->root, "sites"), in - 1);
      g_hash_table_remove (in_a, key);
      for (guint f = 0; f < G_N_ELEMENTS (diffed_fields); f++)
        n_diffs += diff_field (out, key, diffed_fields[f], sa, sb);
    }
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, in_a);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      fprintf (out, "- %s\n", (const char *) key);
      n_diffs++;
    }
  return n_diffs;
}
