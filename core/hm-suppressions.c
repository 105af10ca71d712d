/* hm-suppressions.c — LeakSanitizer-style leak suppressions (see the header). */
#include "hm-suppressions.h"

#include <string.h>

#include "hm-trace-reader.h"

#define MAX_FILE_BYTES (1u << 20)
#define MAX_LINE_BYTES 4096

struct _HmSuppressions {
  GPtrArray *rules;        /* HmSuppression * */
};

/* What glibc keeps on purpose until the process ends. */
static const char *const builtin_patterns[] = {
  "_IO_file_doallocate",   /* stdio buffers of stdin, stdout, stderr and open FILEs */
  "_dl_allocate_tls",      /* the loader's thread-local storage of live threads */
  "_dl_new_object",        /* the loader's record of each loaded object */
  "_dl_map_object",
  "__libc_dlopen_mode",
  "_dl_check_map_versions",
};

static void
rule_free (HmSuppression *rule)
{
  g_free (rule->pattern);
  g_free (rule->source);
  g_free (rule);
}

static void
add_rule (GPtrArray *rules, const char *pattern, const char *source)
{
  HmSuppression *rule = g_new0 (HmSuppression, 1);
  rule->pattern = g_strdup (pattern);
  rule->source = g_strdup (source);
  g_ptr_array_add (rules, rule);
}

HmSuppressions *
hm_suppressions_new (gboolean with_builtins)
{
  HmSuppressions *s = g_new0 (HmSuppressions, 1);
  s->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) rule_free);
  if (with_builtins)
    for (guint i = 0; i < G_N_ELEMENTS (builtin_patterns); i++)
      add_rule (s->rules, builtin_patterns[i], "built-in");
  return s;
}

void
hm_suppressions_free (HmSuppressions *suppressions)
{
  if (suppressions == NULL)
    return;
  g_ptr_array_unref (suppressions->rules);
  g_free (suppressions);
}

GPtrArray *
hm_suppressions_get_rules (HmSuppressions *suppressions)
{
  return suppressions->rules;
}

gboolean
hm_suppressions_load_file (HmSuppressions *suppressions, const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func ((GDestroyNotify) rule_free);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR,
                   "%s: is a directory, not a suppressions file", path);
      return FALSE;
    }
  if (!g_file_get_contents (path, &contents, &length, error))
    return FALSE;
  if (length > MAX_FILE_BYTES)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   "%s: %" G_GSIZE_FORMAT " bytes is too big for a suppressions file "
                   "(1 MiB at most)", path, length);
      return FALSE;
    }
  if (memchr (contents, '\0', length) != NULL)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   "%s: a binary file, not a suppressions file", path);
      return FALSE;
    }

  g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);
  for (guint n = 0; lines[n] != NULL; n++)
    {
      char *line = lines[n];
      char *hash = strchr (line, '#');
      if (hash != NULL)
        *hash = '\0';
      g_strstrip (line);
      if (*line == '\0')
        continue;
      if (strlen (line) > MAX_LINE_BYTES)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                       "%s:%u: the line is longer than 4 KiB", path, n + 1);
          return FALSE;
        }
      char *colon = strchr (line, ':');
      if (colon == NULL)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                       "%s:%u: expected \"leak:PATTERN\", got \"%s\"", path, n + 1, line);
          return FALSE;
        }
      *colon = '\0';
      const char *kind = line, *pattern = g_strstrip (colon + 1);
      if (!g_str_equal (kind, "leak"))
        continue;   /* a rule for another sanitizer */
      if (*pattern == '\0' || g_str_equal (pattern, "^") || g_str_equal (pattern, "$"))
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                       "%s:%u: leak: needs a pattern", path, n + 1);
          return FALSE;
        }
      g_autofree char *source = g_strdup_printf ("%s:%u", path, n + 1);
      add_rule (added, pattern, source);
    }
  for (guint i = 0; i < added->len; i++)
    g_ptr_array_add (suppressions->rules, g_ptr_array_steal_index (added, i--));
  return TRUE;
}

/* '*' globbing over [p, p_end) against [t, t_end): anchored both ends. */
static gboolean
glob_here (const char *p, const char *p_end, const char *t, const char *t_end)
{
  const char *star_p = NULL, *star_t = NULL;

  while (t < t_end)
    {
      if (p < p_end && *p == '*')
        {
          star_p = ++p;
          star_t = t;
        }
      else if (p < p_end && *p == *t)
        {
          p++;
          t++;
        }
      else if (star_p != NULL)
        {
          p = star_p;
          t = ++star_t;
        }
      else
        return FALSE;
    }
  while (p < p_end && *p == '*')
    p++;
  return p == p_end;
}

gboolean
hm_suppression_pattern_matches (const char *pattern, const char *text)
{
  const char *p = pattern;
  gsize n;

  if (text == NULL)
    return FALSE;
  gboolean at_start = *p == '^';
  if (at_start)
    p++;
  n = strlen (p);
  gboolean at_end = n > 0 && p[n - 1] == '$';
  if (at_end)
    n--;
  /* an unanchored end matches anything there: "*PATTERN*" */
  g_autofree char *glob = g_strdup_printf ("%s%.*s%s", at_start ? "" : "*", (int) n, p,
                                           at_end ? "" : "*");
  return glob_here (glob, glob + strlen (glob), text, text + strlen (text));
}

HmSuppression *
hm_suppressions_match (HmSuppressions *suppressions, GPtrArray *frames, guint64 blocks,
                       guint64 bytes)
{
  for (guint r = 0; r < suppressions->rules->len; r++)
    {
      HmSuppression *rule = g_ptr_array_index (suppressions->rules, r);
      for (guint i = 0; i < frames->len; i++)
        {
          const HmFrameInfo *f = g_ptr_array_index (frames, i);
          if (hm_suppression_pattern_matches (rule->pattern, f->function)
              || hm_suppression_pattern_matches (rule->pattern, f->file)
              || hm_suppression_pattern_matches (rule->pattern, f->module))
            {
              rule->sites++;
              rule->blocks += blocks;
              rule->bytes += bytes;
              return rule;
            }
        }
    }
  return NULL;
}
