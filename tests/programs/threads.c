/* threads.c — eight threads allocating at once, some started before and some
 * after the main thread's own allocations.
 *
 * Prints nothing, no stdio.  Each thread gets a 256 KiB stack so that glibc's
 * stack cache (40 MiB) never evicts one: eviction frees the thread's DTV, a
 * free() that would make the totals depend on thread timing.  All threads
 * meet at a barrier, so at least eight allocate concurrently.
 *
 * Expected counts (tests/test-record.c encodes the same numbers):
 *
 *   function             allocations  bytes      frees   leaked blocks / bytes
 *   thread_worker_alloc  16 000       1 848 000  15 920  80 / 4 920
 *   main_before_threads  100          4 000      50      50 / 2 000
 *   main_between_threads 100          7 200      100     0 / 0
 *   own total            16 200       1 859 200  16 070  130 / 6 920
 *
 * Worker t's call i allocates 16 + (7 i + 13 t) % 200 bytes: 2 000 calls run
 * ten times through every residue, so each thread allocates 231 000 bytes.  It
 * keeps the blocks with i % 200 == 0 (16 + 13 t bytes each, 10 per thread).
 *
 * pthread_create itself allocates each new thread's DTV with calloc (glibc's
 * dynamic loader uses the interposed allocator), so whole-process totals are
 * compared with count-preload.c, and the exact numbers above are checked over
 * the sites whose stacks hold the functions named in the table.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_THREADS 8
#define N_PER_THREAD 2000
#define KEEP_EVERY 200
#define NOINLINE __attribute__((noinline))

static pthread_barrier_t start_line;
static void *kept[N_THREADS][N_PER_THREAD / KEEP_EVERY];
static void *main_blocks[100];

static NOINLINE void *
thread_worker_alloc (int t, int i)
{
  size_t size = 16 + (size_t) ((i * 7 + t * 13) % 200);
  void *p = malloc (size); /* SITE: worker */
  if (p != NULL)
    memset (p, t, size);
  return p;
}

static void *
worker (void *data)
{
  int t = (int) (long) data;
  void *window[16] = { 0 };

  pthread_barrier_wait (&start_line);
  for (int i = 0; i < N_PER_THREAD; i++)
    {
      void *p = thread_worker_alloc (t, i);
      if (p == NULL)
        _exit (91);
      if (i % KEEP_EVERY == 0)
        {
          kept[t][i / KEEP_EVERY] = p;
          continue;
        }
      /* Free in a sliding window so blocks live a little while. */
      free (window[i % 16]);
      window[i % 16] = p;
    }
  for (int j = 0; j < 16; j++)
    free (window[j]);
  return NULL;
}

static NOINLINE void
main_before_threads (void)
{
  for (int i = 0; i < 100; i++)
    main_blocks[i] = malloc (40); /* SITE: main-before */
  for (int i = 0; i < 100; i += 2)
    free (main_blocks[i]);
}

static NOINLINE void
main_between_threads (void)
{
  void *blocks[100];
  for (int i = 0; i < 100; i++)
    blocks[i] = malloc (72); /* SITE: main-between */
  for (int i = 0; i < 100; i++)
    free (blocks[i]);
}

static void
start_threads (pthread_t *threads, int first, int n, pthread_attr_t *attr)
{
  for (int t = first; t < first + n; t++)
    if (pthread_create (&threads[t], attr, worker, (void *) (long) t) != 0)
      _exit (92);
}

int
main (void)
{
  pthread_t threads[N_THREADS];
  pthread_attr_t attr;

  pthread_attr_init (&attr);
  pthread_attr_setstacksize (&attr, 256 * 1024);
  pthread_barrier_init (&start_line, NULL, N_THREADS);

  main_before_threads ();
  start_threads (threads, 0, N_THREADS / 2, &attr);
  main_between_threads ();
  start_threads (threads, N_THREADS / 2, N_THREADS / 2, &attr);
  for (int t = 0; t < N_THREADS; t++)
    pthread_join (threads[t], NULL);

  pthread_attr_destroy (&attr);
  pthread_barrier_destroy (&start_line);
  return 0;
}
