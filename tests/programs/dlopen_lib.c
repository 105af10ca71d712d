/* dlopen_lib.c — a module that dlopen_main.c loads, uses and unloads.
 *
 * Its allocations must be symbolised to dl_lib_make_blocks in this file even
 * though the module is gone by the time the trace is read.
 */
#include <stdlib.h>

void dl_lib_make_blocks (void **blocks, int n_blocks);

/* Block i has 100 + i bytes. */
__attribute__((noinline)) void
dl_lib_make_blocks (void **blocks, int n_blocks)
{
  for (int i = 0; i < n_blocks; i++)
    blocks[i] = malloc (100 + (size_t) i); /* SITE: lib */
}
