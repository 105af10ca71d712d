/* test-suppressions.c — LeakSanitizer's leak:PATTERN rules, as
 * core/hm-suppressions.c reads and matches them. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "hm-suppressions.h"

static void
test_patterns (void)
{
  static const struct { const char *pattern, *text; gboolean match; } cases[] = {
    { "parse", "parse_args", TRUE },             /* anywhere in the name */
    { "args", "parse_args", TRUE },
    { "^parse", "parse_args", TRUE },
    { "^args", "parse_args", FALSE },
    { "args$", "parse_args", TRUE },
    { "parse$", "parse_args", FALSE },
    { "^parse_args$", "parse_args", TRUE },
    { "^parse_arg$", "parse_args", FALSE },
    { "p*e_a", "parse_args", TRUE },
    { "^p*s$", "parse_args", TRUE },
    { "^p*x$", "parse_args", FALSE },
    { "libfoo.so", "/usr/lib/libfoo.so.1", TRUE },
    { "*", "anything", TRUE },
    { "x", "", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gboolean got = hm_suppression_pattern_matches (cases[i].pattern, cases[i].text);
      if (got != cases[i].match)
        g_error ("pattern %s on %s: %d, expected %d", cases[i].pattern, cases[i].text, got,
                 cases[i].match);
    }
  g_assert_false (hm_suppression_pattern_matches ("x", NULL));
}

static gchar *
write_temp (const gchar *text)
{
  gchar *path = NULL;
  gint fd = g_file_open_tmp ("hm-supp-XXXXXX", &path, NULL);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, text, strlen (text)), ==, (gssize) strlen (text));
  close (fd);
  return path;
}

static void
test_file_and_match (void)
{
  g_autofree gchar *path = write_temp ("# comment\n\nleak:^make_node$   # trailing comment\n"
                                       "race:not_for_leaks\nleak:libcrypto\n");
  g_autoptr(HmSuppressions) s = hm_suppressions_new (FALSE);
  g_autoptr(GError) error = NULL;
  HmFrameInfo leaf = { "make_node", "tree.c", 12, "/usr/bin/prog", 0x1000, 0x1000, FALSE };
  HmFrameInfo caller = { "main", "main.c", 3, "/usr/bin/prog", 0x2000, 0x2000, FALSE };
  HmFrameInfo lib = { "EVP_something", NULL, 0, "/usr/lib/libcrypto.so.3", 0x3000, 0x30, FALSE };
  g_autoptr(GPtrArray) frames = g_ptr_array_new ();

  g_assert_true (hm_suppressions_load_file (s, path, &error));
  g_assert_no_error (error);
  GPtrArray *rules = hm_suppressions_get_rules (s);
  g_assert_cmpuint (rules->len, ==, 2);

  g_ptr_array_add (frames, &caller);
  g_assert_null (hm_suppressions_match (s, frames, 1, 10));
  g_ptr_array_insert (frames, 0, &leaf);
  HmSuppression *hit = hm_suppressions_match (s, frames, 2, 64);
  g_assert_nonnull (hit);
  g_assert_cmpstr (hit->pattern, ==, "^make_node$");
  g_assert_true (g_str_has_suffix (hit->source, ":3"));
  g_assert_cmpuint (hit->blocks, ==, 2);
  g_assert_cmpuint (hit->bytes, ==, 64);
  /* by module, too */
  g_ptr_array_set_size (frames, 0);
  g_ptr_array_add (frames, &lib);
  hit = hm_suppressions_match (s, frames, 1, 8);
  g_assert_nonnull (hit);
  g_assert_cmpstr (hit->pattern, ==, "libcrypto");
  g_unlink (path);
}

static void
test_bad_files (void)
{
  static const char *const bad[] = { "leak:\n", "leak:foo\nnonsense\n", "leak: ^ \n" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree gchar *path = write_temp (bad[i]);
      g_autoptr(HmSuppressions) s = hm_suppressions_new (FALSE);
      g_autoptr(GError) error = NULL;
      g_assert_false (hm_suppressions_load_file (s, path, &error));
      g_assert_nonnull (error);
      /* the message names the file and the line */
      g_assert_true (strstr (error->message, path) != NULL);
      g_assert_true (strstr (error->message, ":1:") != NULL
                     || strstr (error->message, ":2:") != NULL);
      /* and nothing of the file was added */
      g_assert_cmpuint (hm_suppressions_get_rules (s)->len, ==, 0);
      g_unlink (path);
    }
  g_autoptr(HmSuppressions) s = hm_suppressions_new (TRUE);
  g_autoptr(GError) error = NULL;
  g_assert_false (hm_suppressions_load_file (s, "/", &error));
  g_assert_nonnull (strstr (error->message, "directory"));
  g_assert_cmpuint (hm_suppressions_get_rules (s)->len, >, 0);   /* the built-ins */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/suppressions/patterns", test_patterns);
  g_test_add_func ("/suppressions/file-and-match", test_file_and_match);
  g_test_add_func ("/suppressions/bad-files", test_bad_files);
  return g_test_run ();
}
