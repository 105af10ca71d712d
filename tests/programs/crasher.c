/* crasher.c — allocates, then dies by a signal: `crasher abort` (SIGABRT,
 * which the agent may catch to finish its trace) or `crasher kill` (SIGKILL,
 * which nobody can catch: the trace just stops).
 *
 * crash_alloc makes 100 allocations of 32 bytes, none freed, before the
 * signal.  Prints nothing.  Exit status 2 on a bad argument.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void *blocks[100];

static __attribute__((noinline)) void
crash_alloc (void)
{
  for (int i = 0; i < 100; i++)
    blocks[i] = malloc (32); /* SITE: crash */
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    return 2;
  crash_alloc ();
  if (strcmp (argv[1], "abort") == 0)
    abort ();
  if (strcmp (argv[1], "kill") == 0)
    raise (SIGKILL);
  return 2;
}
