/* replay.c — runs a libFuzzer target's entry point over files, without
 * libFuzzer.  Every normal build links each fuzz target with this driver and
 * replays the checked-in seeds as a test, so a target that no longer builds
 * or crashes on its seeds is caught by `meson test`, not only by the clang
 * fuzz stage at the end of CI.
 *
 * Usage: replay-NAME FILE-OR-DIRECTORY...
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static unsigned
replay_path (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      unsigned n = 0;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          n += replay_path (child);
        }
      return n;
    }

  g_autofree char *bytes = NULL;
  gsize size = 0;
  g_autoptr(GError) error = NULL;
  if (!g_file_get_contents (path, &bytes, &size, &error))
    {
      fprintf (stderr, "replay: %s\n", error->message);
      return 0;
    }
  LLVMFuzzerTestOneInput ((const uint8_t *) bytes, size);
  /* Every prefix too: a cut input must be refused, not misread. */
  for (gsize cut = 0; cut < size; cut += 1 + size / 64)
    LLVMFuzzerTestOneInput ((const uint8_t *) bytes, cut);
  return 1;
}

int
main (int argc, char **argv)
{
  unsigned n = 0;
  for (int i = 1; i < argc; i++)
    n += replay_path (argv[i]);
  printf ("replayed %u inputs\n", n);
  return n > 0 ? 0 : 1;
}
