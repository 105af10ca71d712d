/* attach-leaker.c — a long-running program that leaks, for a debugger that
 * attaches and asks for a scan.
 *
 * Loses 10 blocks of 4242 bytes (their only pointers overwritten), keeps 10
 * of 3131 bytes in a global, prints "attach-leaker: ready" and then runs
 * ROUNDS rounds (argv[1], default 100) of 20 ms allocating and freeing.
 * Prints "attach-leaker: done" at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_LEAKS 10

static void *kept[N_LEAKS];

static __attribute__ ((noinline)) void
lose_blocks (void)
{
  for (int i = 0; i < N_LEAKS; i++)
    {
      volatile char *p = malloc (4242);
      p[0] = (char) i;
      p = NULL;
    }
}

static __attribute__ ((noinline)) void
keep_blocks (void)
{
  for (int i = 0; i < N_LEAKS; i++)
    kept[i] = malloc (3131);
}

/* Overwrites the stack below main's frame, where lose_blocks' pointers were. */
static __attribute__ ((noinline)) void
scrub_stack (void)
{
  volatile char junk[8192];
  memset ((char *) junk, 0, sizeof junk);
}

int
main (int argc, char **argv)
{
  int rounds = argc > 1 ? atoi (argv[1]) : 100;

  lose_blocks ();
  keep_blocks ();
  scrub_stack ();
  printf ("attach-leaker: ready\n");
  fflush (stdout);
  for (int r = 0; r < rounds; r++)
    {
      struct timespec pause = { 0, 20 * 1000 * 1000 };
      void *tmp = malloc (100 + (size_t) r);
      free (tmp);
      nanosleep (&pause, NULL);
    }
  printf ("attach-leaker: done\n");
  return kept[0] == NULL;
}
