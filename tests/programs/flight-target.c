/* flight-target.c — a program for the flight recorder's tests:
 * `flight-target WAIT_MS END` where END is wait (read stdin to its end, then
 * exit 0), segv (a null write) or abort (a failed assert).
 *
 * 1. hold_early makes 100 blocks of 1000+i bytes and keeps them;
 *    churn_early makes and frees 1000 blocks of 64 bytes.
 * 2. It sleeps WAIT_MS (longer than the recorder's window, so step 1 falls
 *    out of it), then prints "early N BYTES": the blocks of hold_early still
 *    live at this moment (all 100, 104950 bytes).
 * 3. free_in_window frees the first 10 of them; window_alloc makes 50 blocks
 *    of 3000+i bytes and keeps them.  Prints "window 50 BYTES 10" and
 *    "ready", flushed; then ends as END says.
 *
 * So a dump taken after "ready" of a window shorter than WAIT_MS holds
 * hold_early's 100 blocks as live at its start, 10 of them freed in it,
 * window_alloc's 50, and nothing of churn_early.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>
#include <unistd.h>

#define N_EARLY 100
#define N_FREED 10
#define N_WINDOW 50

static void *early[N_EARLY];
static void *window_blocks[N_WINDOW];

static __attribute__((noinline)) size_t
hold_early (void)
{
  size_t bytes = 0;
  for (int i = 0; i < N_EARLY; i++)
    {
      early[i] = malloc (1000 + (size_t) i); /* SITE: hold_early */
      memset (early[i], 1, 8);
      bytes += 1000 + (size_t) i;
    }
  return bytes;
}

static __attribute__((noinline)) void
churn_early (void)
{
  for (int i = 0; i < 1000; i++)
    {
      void *p = malloc (64); /* SITE: churn_early */
      memset (p, 2, 8);
      free (p);
    }
}

static __attribute__((noinline)) void
free_in_window (void)
{
  for (int i = 0; i < N_FREED; i++)
    free (early[i]);
}

static __attribute__((noinline)) size_t
window_alloc (void)
{
  size_t bytes = 0;
  for (int i = 0; i < N_WINDOW; i++)
    {
      window_blocks[i] = malloc (3000 + (size_t) i); /* SITE: window_alloc */
      memset (window_blocks[i], 3, 8);
      bytes += 3000 + (size_t) i;
    }
  return bytes;
}

int
main (int argc, char **argv)
{
  if (argc < 3)
    return 2;
  long wait_ms = atol (argv[1]);
  size_t early_bytes = hold_early ();
  churn_early ();
  struct timespec pause = { wait_ms / 1000, (wait_ms % 1000) * 1000000 };
  while (nanosleep (&pause, &pause) != 0)
    ;
  printf ("early %d %zu\n", N_EARLY, early_bytes);
  free_in_window ();
  size_t window_bytes = window_alloc ();
  printf ("window %d %zu %d\nready\n", N_WINDOW, window_bytes, N_FREED);
  fflush (stdout);
  if (strcmp (argv[2], "segv") == 0)
    *(volatile int *) (uintptr_t) (argc - 3) = 0;
  if (strcmp (argv[2], "abort") == 0)
    assert (argc == 0 && "flight-target: the assertion that kills it");
  char buf[256];
  while (read (0, buf, sizeof buf) > 0)
    ;
  return 0;
}
