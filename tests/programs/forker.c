/* forker.c — allocations before fork(), in the child, and after fork() in the
 * parent.  The child's allocations must not appear in the parent's trace, and
 * the parent's events still buffered at fork() must appear exactly once.
 *
 * Prints nothing, no stdio.  Exit status 0 unless the child failed (then 91+).
 *
 * Expected counts in the parent (tests/test-record.c encodes the same):
 *
 *   function           allocations  bytes   frees  leaked blocks / bytes
 *   before_fork_alloc  100          4 999   50     50 / 2 499
 *   after_fork_alloc   30           3 000   25     5 / 500
 *   total              130          7 999   75     55 / 2 999
 *
 * before_fork_alloc's block i has 49 + i % 3 bytes; the odd ones stay live.
 *
 * child_alloc (in the child only, which ends with _exit): 200 allocations of
 * 64 bytes, 100 freed — none of it belongs to the parent.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *before_blocks[100];
static void *after_blocks[30];

static NOINLINE void
before_fork_alloc (void)
{
  for (int i = 0; i < 100; i++)
    before_blocks[i] = malloc (49 + i % 3); /* SITE: before */
  for (int i = 0; i < 100; i += 2)
    free (before_blocks[i]);
}

static NOINLINE void
child_alloc (void)
{
  void *blocks[200];
  for (int i = 0; i < 200; i++)
    {
      blocks[i] = malloc (64); /* SITE: child */
      memset (blocks[i], 0, 64);
    }
  for (int i = 0; i < 200; i += 2)
    free (blocks[i]);
}

static NOINLINE void
after_fork_alloc (void)
{
  for (int i = 0; i < 30; i++)
    after_blocks[i] = malloc (100); /* SITE: after */
  for (int i = 5; i < 30; i++)
    free (after_blocks[i]);
}

int
main (void)
{
  int status = 0;
  pid_t child;

  before_fork_alloc ();
  child = fork ();
  if (child < 0)
    return 91;
  if (child == 0)
    {
      child_alloc ();
      _exit (0);
    }
  if (waitpid (child, &status, 0) != child)
    return 92;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return 93;
  after_fork_alloc ();
  return 0;
}
