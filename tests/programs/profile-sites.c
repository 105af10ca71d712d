/* profile-sites.c — allocation sites with known statistics, for the profile
 * tests (tests/test-profile.c encodes the same numbers).
 *
 *   function      calls            size   live at once   freed
 *   make_nodes    3000 malloc      48     at most 100    all, oldest first
 *   make_buffers  7 malloc         4096   7              none before exit
 *   make_mixed    200 malloc       8..207 1              all, at once
 *
 * With an argument N, make_nodes makes N nodes instead (the agent's sampling
 * is exercised past a site's first 256 allocations).  With a second argument
 * "usable", it prints malloc_usable_size() of its last node (48 when a pool
 * of the applied profile serves the site, more from the C library) — the one
 * thing it ever prints.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t last_node_usable;

static void *buffers[7];

static void
make_nodes (long n)
{
  void *queue[100] = { 0 };
  for (long i = 0; i < n; i++)
    {
      free (queue[i % 100]);
      queue[i % 100] = malloc (48);   /* SITE: nodes */
      memset (queue[i % 100], 1, 48);
    }
  last_node_usable = malloc_usable_size (queue[(n - 1) % 100]);
  for (int i = 0; i < 100; i++)
    free (queue[i]);
}

static void
make_buffers (void)
{
  for (int i = 0; i < 7; i++)
    buffers[i] = malloc (4096);   /* SITE: buffers */
}

static void
make_mixed (void)
{
  for (int i = 0; i < 200; i++)
    {
      char *p = malloc (8 + (size_t) i);   /* SITE: mixed */
      p[0] = 1;
      free (p);
    }
}

int
main (int argc, char **argv)
{
  make_nodes (argc > 1 ? atol (argv[1]) : 3000);
  make_buffers ();
  make_mixed ();
  for (int i = 0; i < 7; i++)
    free (buffers[i]);
  if (argc > 2 && strcmp (argv[2], "usable") == 0)
    printf ("%zu\n", last_node_usable);
  return 0;
}
