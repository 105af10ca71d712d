/* clean-threads.c — the scan while threads allocate and free as fast as
 * they can, while one thread blocks every signal (it cannot be stopped: its
 * stack is scanned as it sits in read()), and while the main thread forks
 * children that scan too.  An analyzer thread scans every few milliseconds
 * until main has forked twenty times; the program must neither crash nor
 * hang, and nothing is lost: each worker's list hangs off its own stack,
 * the blocked thread's block off its stack.  Prints "clean" at the end.
 */
#include <hybridmem.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_WORKERS 3

typedef struct Item Item;
struct Item {
  Item *next;
  char payload[56];
};

static volatile int stop, stop_analyzer;
static size_t analyzer_leaks, analyzer_scans;

static void *
analyzer (void *arg)
{
  (void) arg;
  while (!stop_analyzer || analyzer_scans < 20)
    {
      struct timespec pause = { 0, 2 * 1000 * 1000 };
      analyzer_leaks += hm_analyze ();
      analyzer_scans++;
      nanosleep (&pause, NULL);
    }
  return NULL;
}
static int wake[2];

static void *
worker (void *arg)
{
  unsigned seed = (unsigned) (size_t) arg;
  while (!stop)
    {
      Item *volatile head = NULL;
      for (int i = 0; i < 100; i++)
        {
          Item *it = malloc (sizeof *it + (rand_r (&seed) % 200));
          it->next = head;
          head = it;
        }
      while (head != NULL)
        {
          Item *next = head->next;
          free (head);
          head = next;
        }
    }
  return NULL;
}

static void *
signal_blocker (void *arg)
{
  sigset_t all;
  char byte;
  (void) arg;
  sigfillset (&all);
  pthread_sigmask (SIG_BLOCK, &all, NULL);
  char *volatile mine = malloc (1234);
  memset (mine, 3, 1234);
  while (read (wake[0], &byte, 1) < 0)
    ;
  free (mine);
  return NULL;
}

int
main (void)
{
  pthread_t workers[N_WORKERS], blocker, scanner;
  int children_clean = 1;

  if (pipe (wake) != 0)
    return 1;
  pthread_create (&blocker, NULL, signal_blocker, NULL);
  for (int i = 0; i < N_WORKERS; i++)
    pthread_create (&workers[i], NULL, worker, (void *) (size_t) (i + 1));
  pthread_create (&scanner, NULL, analyzer, NULL);
  for (int round = 0; round < 20; round++)
    {
      struct timespec pause = { 0, 3 * 1000 * 1000 };
      int status = 0;
      nanosleep (&pause, NULL);
      pid_t child = fork ();
      if (child == 0)
        _exit (hm_analyze () == 0 ? 0 : 1);
      if (waitpid (child, &status, 0) != child || !WIFEXITED (status)
          || WEXITSTATUS (status) != 0)
        children_clean = 0;
    }
  stop_analyzer = 1;
  pthread_join (scanner, NULL);
  stop = 1;
  for (int i = 0; i < N_WORKERS; i++)
    pthread_join (workers[i], NULL);
  if (write (wake[1], "x", 1) != 1)
    return 1;
  pthread_join (blocker, NULL);
  printf ("%s\n", analyzer_leaks == 0 && children_clean ? "clean" : "LEAKS");
  return 0;
}
