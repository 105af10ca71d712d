/* manager-misuse.c — every kind of region and pool misuse, once each, for
 * test-manager-traced: the program must go on, and the trace must hold one
 * warning per misuse with the stack of the call that made it.
 *
 *   region use after free   1  (misuse_region)
 *   pool double return      1  (misuse_double_return)
 *   pool wrong pool         2  (misuse_wrong_pool: another pool's object, a stack address)
 */
#include <stdio.h>
#include <string.h>

#include <hybridmem.h>

typedef struct {
  char text[40];
} Message;

static __attribute__ ((noinline)) void
misuse_region (void)
{
  HmRegion *scratch = hm_region_new ("scratch");
  hm_region_alloc (scratch, 100);
  hm_region_free (scratch);
  char *late = hm_region_alloc (scratch, 32);   /* freed: served from the heap */
  strcpy (late, "still works");
  puts (late);
}

static __attribute__ ((noinline)) void
misuse_double_return (HmPool *messages)
{
  Message *m = hm_pool_get (messages);
  hm_pool_return (messages, m);
  hm_pool_return (messages, m);
}

static __attribute__ ((noinline)) void
misuse_wrong_pool (HmPool *messages, HmPool *replies)
{
  Message on_stack;
  Message *m = hm_pool_get (messages);
  hm_pool_return (replies, m);
  hm_pool_return (messages, &on_stack);
  hm_pool_return (messages, m);
}

int
main (void)
{
  HmPool *messages = HM_POOL_NEW (Message, 16);
  HmPool *replies = hm_pool_new ("Reply", sizeof (Message), 16);

  misuse_region ();
  misuse_double_return (messages);
  misuse_wrong_pool (messages, replies);
  hm_pool_free (replies);
  hm_pool_free (messages);
  puts ("done");
  return 0;
}
