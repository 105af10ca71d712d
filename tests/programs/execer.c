/* execer.c — a parent that forks and execs, twice: once itself (in "child"
 * mode, which allocates) and once /bin/true.  The exec'd images inherit the
 * environment that put the agent in, so they must not write into (or over)
 * the parent's trace.  `execer replace` is a wrapper instead: it allocates
 * as parent_before_exec does, then becomes `execer child` by exec, without
 * a fork (exit status 93 if the exec fails).
 *
 * Prints nothing, no stdio.  Exit status 0 unless a child failed (then 91+).
 *
 * Expected counts in the parent (tests/test-record.c encodes the same):
 *
 *   function            allocations  bytes   frees  leaked blocks / bytes
 *   parent_before_exec  50           1 600   20     30 / 960
 *   parent_after_exec   40           3 200   40     0 / 0
 *   total               90           4 800   60     30 / 960
 *
 * exec_child_alloc (only in the exec'd copy, `execer child`): 300 allocations
 * of 24 bytes, none freed.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *parent_blocks[50];
static void *child_blocks[300];

static NOINLINE void
parent_before_exec (void)
{
  for (int i = 0; i < 50; i++)
    parent_blocks[i] = malloc (32); /* SITE: before */
  for (int i = 0; i < 20; i++)
    free (parent_blocks[i]);
}

static NOINLINE void
parent_after_exec (void)
{
  void *blocks[40];
  for (int i = 0; i < 40; i++)
    blocks[i] = malloc (80); /* SITE: after */
  for (int i = 0; i < 40; i++)
    free (blocks[i]);
}

static NOINLINE void
exec_child_alloc (void)
{
  for (int i = 0; i < 300; i++)
    child_blocks[i] = malloc (24); /* SITE: child */
}

/* Forks, execs argv in the child, and returns 0 if it exited with status 0. */
static int
run_and_wait (char *const argv[])
{
  int status = 0;
  pid_t child = fork ();

  if (child < 0)
    return -1;
  if (child == 0)
    {
      execv (argv[0], argv);
      _exit (127);
    }
  if (waitpid (child, &status, 0) != child)
    return -1;
  return WIFEXITED (status) && WEXITSTATUS (status) == 0 ? 0 : -1;
}

int
main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "child") == 0)
    {
      exec_child_alloc ();
      return 0;
    }

  char *self_argv[] = { "/proc/self/exe", "child", NULL };
  char *true_argv[] = { "/bin/true", NULL };

  if (argc > 1 && strcmp (argv[1], "replace") == 0)
    {
      parent_before_exec ();
      execv (self_argv[0], self_argv);
      return 93;
    }

  parent_before_exec ();
  if (run_and_wait (self_argv) != 0)
    return 91;
  if (run_and_wait (true_argv) != 0)
    return 92;
  parent_after_exec ();
  return 0;
}
