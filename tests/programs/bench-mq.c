/* bench-mq.c — a message queue: a producer thread makes messages (a 48-byte
 * header and a 96-byte body, two malloc calls), a consumer thread reads and
 * frees them in the order they were made (FIFO lifetimes).  Messages travel
 * in batches of 512 through a bounded queue of 8 batches (a mutex and two
 * condition variables), so neither thread spins: the timing holds on a
 * machine with fewer free cores than threads.
 *
 * Usage: bench-mq [N]   N messages (default 10 000 000: 20 million objects).
 * Prints nothing; exits 1 if a message arrives damaged.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 512
#define SLOTS 8            /* batches in the queue at most */
#define BUFFERS (SLOTS + 2)

typedef struct {
  uint64_t sequence;
  uint32_t length;
  uint32_t checksum;
  char *body;
  char topic[24];
} Message;   /* 48 bytes */

typedef struct {
  char bytes[96];
} Body;

typedef struct {
  Message *messages[BATCH];
  int n;
} Batch;

static Batch buffers[BUFFERS];
static Batch *queue[SLOTS];
static int q_head, q_count, next_buffer;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static long n_messages;
static int damaged;

static void
push (Batch *b)
{
  pthread_mutex_lock (&lock);
  while (q_count == SLOTS)
    pthread_cond_wait (&not_full, &lock);
  queue[(q_head + q_count++) % SLOTS] = b;
  pthread_cond_signal (&not_empty);
  pthread_mutex_unlock (&lock);
}

static Batch *
pop (void)
{
  pthread_mutex_lock (&lock);
  while (q_count == 0)
    pthread_cond_wait (&not_empty, &lock);
  Batch *b = queue[q_head];
  q_head = (q_head + 1) % SLOTS;
  q_count--;
  pthread_cond_signal (&not_full);
  pthread_mutex_unlock (&lock);
  return b;
}

static void *
produce (void *data)
{
  (void) data;
  for (long i = 0; i < n_messages;)
    {
      /* SLOTS + 2 buffers: one being filled, one being emptied, SLOTS queued */
      Batch *b = &buffers[next_buffer++ % BUFFERS];
      for (b->n = 0; b->n < BATCH && i < n_messages; b->n++, i++)
        {
          Message *m = malloc (sizeof *m);
          Body *body = malloc (sizeof *body);
          if (m == NULL || body == NULL)
            abort ();
          m->sequence = (uint64_t) i;
          m->length = sizeof body->bytes;
          m->body = body->bytes;
          memset (body->bytes, (int) (i & 0x7f), 8);
          m->checksum = (uint32_t) (i & 0x7f);
          b->messages[b->n] = m;
        }
      push (b);
    }
  return NULL;
}

static void *
consume (void *data)
{
  (void) data;
  for (long i = 0; i < n_messages;)
    {
      Batch *b = pop ();
      for (int k = 0; k < b->n; k++, i++)
        {
          Message *m = b->messages[k];
          if (m->sequence != (uint64_t) i || (uint32_t) m->body[7] != m->checksum)
            damaged = 1;
          free (m->body);
          free (m);
        }
    }
  return NULL;
}

int
main (int argc, char **argv)
{
  pthread_t producer, consumer;

  n_messages = argc > 1 ? atol (argv[1]) : 10000000;
  pthread_create (&consumer, NULL, consume, NULL);
  pthread_create (&producer, NULL, produce, NULL);
  pthread_join (producer, NULL);
  pthread_join (consumer, NULL);
  return damaged;
}
