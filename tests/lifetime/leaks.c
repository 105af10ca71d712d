/* leaks.c — lost memory and dangling pointers, planted; the reachability
 * scan (hm_analyze, and the one at exit) must find exactly these, each once.
 *
 * Planted (the allocation line of each leak, the line that gives the memory
 * back for each dangling pointer, carries a PLANTED marker):
 *   leak  lost_pointer     100 bytes, its only pointer overwritten
 *   leak  leaked_cycle     two 48-byte nodes pointing at each other: one
 *                          leak (memcheck: one definitely lost, one indirect)
 *   leak  lost_via_freed   77 bytes, held only by a block that was freed
 *   leak  lost_hm_alloc    55 bytes from hm_alloc, its only pointer dropped
 *   dangling-pointer  into a freed region, held in the global
 *                     region_pointer
 *   dangling-pointer  into a returned pool object, held in a live malloc
 *                     block (pool_holder)
 *   dangling-pointer  into a freed region, held in a local of main (a
 *                     thread stack) while hm_analyze runs
 * Prints how many leaks hm_analyze found, then the second call's count (0).
 */
#include <hybridmem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__ ((noinline))

typedef struct Node Node;
struct Node {
  Node *next;
  char payload[40];
};

char *region_pointer;            /* exported: named by dladdr in the report */
static void **pool_holder;
static HmPool *pool;

static NOINLINE void
lost_pointer (void)
{
  char *volatile p = malloc (100);                     /* PLANTED: leak */
  memset (p, 1, 100);
  p = NULL;
}

static NOINLINE void
leaked_cycle (void)
{
  Node *a = malloc (sizeof *a);                        /* PLANTED: leak */
  Node *b = malloc (sizeof *b);
  a->next = b;
  b->next = a;
}

static NOINLINE void
lost_via_freed (void)
{
  void **holder = malloc (64);
  holder[0] = malloc (77);                             /* PLANTED: leak */
  free (holder);
}

static NOINLINE void
lost_hm_alloc (void)
{
  char *volatile p = hm_alloc (55);                    /* PLANTED: leak */
  p[0] = 1;
  p = NULL;
}

static NOINLINE char *
region_memory_soon_freed (HmRegion **region)
{
  *region = hm_region_new ("short-lived");
  return hm_region_alloc (*region, 200);
}

static NOINLINE void
free_region (HmRegion *region)
{
  hm_region_free (region);                             /* PLANTED: dangling-pointer */
}

static NOINLINE void
dangling_into_region (void)
{
  HmRegion *r = hm_region_new ("scratch");
  region_pointer = hm_region_alloc (r, 64);
  strcpy (region_pointer, "gone soon");
  hm_region_free (r);                                  /* PLANTED: dangling-pointer */
}

static NOINLINE void
dangling_into_pool (void)
{
  pool = hm_pool_new ("Node", sizeof (Node), 16);
  Node *n = hm_pool_get (pool);
  pool_holder = malloc (sizeof *pool_holder);
  *pool_holder = n;
  hm_pool_return (pool, n);                            /* PLANTED: dangling-pointer */
}

/* Overwrites the dead frames the calls above left below main's, so no
 * stale copy of a lost pointer survives there (memcheck would see it too). */
static NOINLINE void
clobber_stack (void)
{
  volatile char junk[16384];
  memset ((char *) junk, 0, sizeof junk);
}

int
main (void)
{
  lost_pointer ();
  leaked_cycle ();
  lost_via_freed ();
  lost_hm_alloc ();
  dangling_into_region ();
  dangling_into_pool ();
  HmRegion *region;
  char *volatile on_stack = region_memory_soon_freed (&region);
  free_region (region);
  clobber_stack ();
  size_t first = hm_analyze ();
  (void) on_stack;               /* held across the scan */
  on_stack = NULL;
  size_t second = hm_analyze ();
  printf ("leaks %zu then %zu\n", first, second);
  return 0;
}
