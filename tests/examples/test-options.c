/* test-options.c — hm_init and the HM_* variables: one name each, bad values
 * said once on stderr, defaults kept.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <hybridmem.h>
#include <stdlib.h>
#include <string.h>

static void
test_defaults (void)
{
  HmOptions o;

  if (g_test_subprocess ())
    {
      g_unsetenv ("HM_STRATEGY");
      hm_options_init (&o);
      g_assert_cmpint (o.strategy, ==, HM_STRATEGY_NONE);
      g_assert_cmpint (o.enable_regions, ==, 1);
      g_assert_cmpint (o.enable_pooling, ==, 1);
      g_assert_cmpint (o.enable_profiling, ==, 0);
      g_assert_cmpint (o.enable_lifetime_analysis, ==, 0);
      g_assert_cmpstr (o.profile_path, ==, "memory_profile.json");
      g_assert_cmpuint (o.gc_threshold_bytes, ==, 8u << 20);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("");
}

static void
test_environment (void)
{
  if (g_test_subprocess ())
    {
      const HmOptions *o;
      g_setenv ("HM_STRATEGY", "maximize-performance", TRUE);
      g_setenv ("HM_ENABLE_PROFILING", "1", TRUE);
      g_setenv ("HM_PROFILE_SAVE_INTERVAL", "30", TRUE);
      g_setenv ("HM_PROFILE_PATH", "/tmp/p.json", TRUE);
      g_setenv ("HM_LIFETIME_ANALYSIS", "yes", TRUE);
      g_setenv ("HM_REGIONS", "0", TRUE);
      g_setenv ("HM_POOLING", "off", TRUE);
      g_setenv ("HM_GC_THRESHOLD", "1048576", TRUE);
      /* no hm_init: the first use reads the environment */
      o = hm_get_options ();
      g_assert_cmpint (o->strategy, ==, HM_STRATEGY_MAXIMIZE_PERFORMANCE);
      g_assert_cmpint (o->enable_profiling, ==, 1);
      g_assert_cmpuint (o->profile_save_interval, ==, 30);
      g_assert_cmpstr (o->profile_path, ==, "/tmp/p.json");
      g_assert_cmpint (o->enable_lifetime_analysis, ==, 1);
      g_assert_cmpint (o->enable_regions, ==, 0);
      g_assert_cmpint (o->enable_pooling, ==, 0);
      g_assert_cmpuint (o->gc_threshold_bytes, ==, 1048576);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_bad_values (void)
{
  if (g_test_subprocess ())
    {
      HmOptions o;
      g_setenv ("HM_STRATEGY", "fastest", TRUE);
      g_setenv ("HM_REGIONS", "maybe", TRUE);
      g_setenv ("HM_PROFILE_SAVE_INTERVAL", "-5", TRUE);
      hm_options_init (&o);
      g_assert_cmpint (o.strategy, ==, HM_STRATEGY_NONE);
      g_assert_cmpint (o.enable_regions, ==, 1);
      g_assert_cmpuint (o.profile_save_interval, ==, 0);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*HM_REGIONS=maybe is not 0 or 1; using 1*");
  g_test_trap_assert_stderr ("*HM_PROFILE_SAVE_INTERVAL=-5 is not*using 0*");
  g_test_trap_assert_stderr ("*HM_STRATEGY=fastest is not one of none, minimize-memory, "
                             "maximize-performance, balanced, adaptive; using none*");
}

static void
test_init_once (void)
{
  if (g_test_subprocess ())
    {
      HmOptions o;
      hm_options_init (&o);
      o.strategy = HM_STRATEGY_ADAPTIVE;
      o.profile_path = "custom.json";
      g_assert_cmpint (hm_init (&o), ==, 0);
      o.strategy = HM_STRATEGY_NONE;
      g_assert_cmpint (hm_init (&o), ==, -1);    /* the first call wins */
      g_assert_cmpint (hm_get_options ()->strategy, ==, HM_STRATEGY_ADAPTIVE);
      /* the path was copied: the caller's string may go away */
      g_assert_cmpstr (hm_get_options ()->profile_path, ==, "custom.json");
      g_assert_true (hm_get_options ()->profile_path != o.profile_path);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* Profiling asked for in code, and the profile written on demand. */
static __attribute__ ((noinline)) void *
allocate_forty (void)
{
  return malloc (40);
}

static void
test_profile_save (void)
{
  if (g_test_subprocess ())
    {
      HmOptions o;
      void *blocks[100];
      g_autofree gchar *dir = g_dir_make_tmp ("hm-options-XXXXXX", NULL);
      g_autofree gchar *path = g_build_filename (dir, "p.json", NULL);
      g_autofree gchar *text = NULL;

      /* profiling is off: nothing to save */
      g_assert_cmpint (hm_profile_save (path), ==, -1);
      /* exact counts, not byte samples (test-profile checks those) */
      g_setenv ("HM_PROFILE_SAMPLE_BYTES", "0", TRUE);
      hm_options_init (&o);
      o.enable_profiling = 1;
      o.profile_path = path;
      g_assert_cmpint (hm_init (&o), ==, 0);
      for (int i = 0; i < 100; i++)
        blocks[i] = allocate_forty ();
      for (int i = 0; i < 100; i++)
        free (blocks[i]);
      g_assert_cmpint (hm_profile_save (""), ==, -1);
      g_assert_cmpint (hm_profile_save (path), ==, 0);
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_assert_nonnull (strstr (text, "\"version\": 1"));
      g_assert_nonnull (strstr (text, "\"count\": 100, \"bytes\": 4000, \"min_size\": 40, \"max_size\": 40"));
      g_remove (path);
      g_rmdir (dir);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/options/defaults", test_defaults);
  g_test_add_func ("/options/environment", test_environment);
  g_test_add_func ("/options/bad-values", test_bad_values);
  g_test_add_func ("/options/init-once", test_init_once);
  g_test_add_func ("/options/profile-save", test_profile_save);
  return g_test_run ();
}
