/* crossfree.c — sixteen threads that free each other's blocks.
 *
 * Each thread allocates 20 000 blocks and pushes them onto a shared stack;
 * whichever thread pops a block frees it, so addresses move between threads'
 * tcaches and arenas and are reused by other threads at once.  This is the
 * case where a trace merged out of order would pair a free with the wrong
 * allocation.  Prints nothing.  Own counts: 320 000 allocations, 320 000
 * frees, nothing leaked.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define N_THREADS 16
#define N_PER_THREAD 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *stack[N_THREADS * N_PER_THREAD];
static size_t depth;

static void *
worker (void *arg)
{
  uint32_t state = (uint32_t) (uintptr_t) arg * 2654435761u + 1;
  for (int i = 0; i < N_PER_THREAD; i++)
    {
      state = state * 1664525u + 1013904223u;
      void *p = malloc (16 + (state >> 20) % 240);
      void *victim = NULL;
      pthread_mutex_lock (&lock);
      stack[depth++] = p;
      if (depth > 64 && (state & 1))
        victim = stack[--depth];
      pthread_mutex_unlock (&lock);
      free (victim);
    }
  return NULL;
}

int
main (void)
{
  pthread_t threads[N_THREADS];
  pthread_attr_t attr;

  pthread_attr_init (&attr);
  pthread_attr_setstacksize (&attr, 256 * 1024);
  for (uintptr_t t = 0; t < N_THREADS; t++)
    pthread_create (&threads[t], &attr, worker, (void *) t);
  for (int t = 0; t < N_THREADS; t++)
    pthread_join (threads[t], NULL);
  while (depth > 0)
    free (stack[--depth]);
  return 0;
}
