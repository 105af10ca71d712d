/* dlopen_main.c — loads a module with dlopen, has it allocate, unloads it.
 *
 * Usage: dlopen_main PATH-TO-MODULE.  Prints nothing, no stdio.  Exit 91+ if
 * the module cannot be loaded.
 *
 *   function            allocations  bytes  frees  leaked blocks / bytes
 *   dl_lib_make_blocks  25           2 800  15     10 / 1 195
 *   (in the module; blocks 0..14 are freed by main, 15..24 leak)
 *
 * dlopen() and dlclose() allocate and free through the interposed allocator
 * themselves (link maps, scope arrays), so whole-process totals are compared
 * with count-preload.c.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

#define N_BLOCKS 25

static void *blocks[N_BLOCKS];

int
main (int argc, char **argv)
{
  void (*make_blocks) (void **, int);
  void *module;

  if (argc < 2)
    return 91;
  module = dlopen (argv[1], RTLD_NOW | RTLD_LOCAL);
  if (module == NULL)
    return 92;
  *(void **) &make_blocks = dlsym (module, "dl_lib_make_blocks");
  if (make_blocks == NULL)
    return 93;
  make_blocks (blocks, N_BLOCKS);
  for (int i = 0; i < 15; i++)
    free (blocks[i]);
  if (dlclose (module) != 0)
    return 94;
  return 0;
}
