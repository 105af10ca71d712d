/* example-gc.c — garbage-collected memory with hybridmem: a persistent map.
 *
 * A persistent (immutable) search tree never changes a node: inserting a key
 * copies the path from the root down to it and shares everything else with
 * the old version.  Who owns a shared node?  Every version that reaches it —
 * the question manual memory management cannot answer cheaply, and the one a
 * garbage collector answers for free: keep the versions you want, drop the
 * others, and their private nodes go away at the next collection.
 *
 * Build:  cc example-gc.c $(pkg-config --cflags --libs hybridmem)
 * Run:    ./example-gc [UPDATES [KEYS]]     (200 000 updates of 20 000 keys)
 * Trace:  hmtrace record -- ./example-gc    (the report's "gc" section)
 */
#include <hybridmem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Node Node;
struct Node {
  const Node *left, *right;
  long key;
  char value[24];
};

/* hm_gc_alloc returns zeroed memory and there is no free: the node lives as
 * long as a pointer to it is anywhere the collector looks (stacks, globals,
 * malloc'd memory, other GC objects). */
static Node *
node_new (const Node *left, const Node *right, long key, const char *value)
{
  Node *n = hm_gc_alloc (sizeof *n);
  if (n == NULL)
    return NULL;
  n->left = left;
  n->right = right;
  n->key = key;
  snprintf (n->value, sizeof n->value, "%s", value);
  return n;
}

/* Returns a new version of the tree with key set; tree itself is unchanged.
 * (Unbalanced, to keep the example short: keys are inserted in a shuffled
 * order below.) */
static const Node *
map_insert (const Node *tree, long key, const char *value)
{
  if (tree == NULL)
    return node_new (NULL, NULL, key, value);
  if (key < tree->key)
    return node_new (map_insert (tree->left, key, value), tree->right, tree->key, tree->value);
  if (key > tree->key)
    return node_new (tree->left, map_insert (tree->right, key, value), tree->key, tree->value);
  return node_new (tree->left, tree->right, key, value);
}

static const char *
map_lookup (const Node *tree, long key)
{
  while (tree != NULL && tree->key != key)
    tree = key < tree->key ? tree->left : tree->right;
  return tree != NULL ? tree->value : NULL;
}

static long
map_size (const Node *tree)
{
  return tree == NULL ? 0 : 1 + map_size (tree->left) + map_size (tree->right);
}

/* A few versions worth keeping, in a global: a root the collector scans. */
static const Node *snapshots[4];

int
main (int argc, char **argv)
{
  const Node *current = NULL;
  long n_updates = argc > 1 ? atol (argv[1]) : 200000;
  long n_keys = argc > 2 ? atol (argv[2]) : 20000;
  char text[24];

  /* The keys in a shuffled order (a multiplicative permutation). */
  for (long i = 0; i < n_keys; i++)
    {
      long key = (i * 7919) % n_keys;
      snprintf (text, sizeof text, "v%ld", key);
      current = map_insert (current, key, text);
    }
  snapshots[0] = current;

  /* The updates: each makes a new version (a few dozen new nodes) and the
   * previous version becomes garbage, except the ones kept in snapshots. */
  snapshots[1] = current;
  for (long i = 0; i < n_updates; i++)
    {
      long key = (i * 104729) % n_keys;
      snprintf (text, sizeof text, "u%ld", i);
      current = map_insert (current, key, text);
      if (i == n_updates / 2)
        snapshots[1] = current;
    }

  /* Collections ran by themselves as the heap grew; one more now, to see what
   * is left: the three versions, sharing most of their nodes. */
  size_t freed = hm_gc_collect ();

  HmGcStats stats;
  hm_gc_get_stats (&stats);
  printf ("%ld keys; the first version still says %s for key 0, the latest %s\n",
          map_size (current), map_lookup (snapshots[0], 0), map_lookup (current, 0));
  printf ("%zu collections freed %zu bytes (%zu KiB in the last one); "
          "%zu KiB live, pauses %.1f ms in all\n",
          stats.collections, stats.freed_bytes, freed >> 10, stats.live_bytes >> 10,
          stats.total_pause_ns / 1e6);

  if (strcmp (map_lookup (snapshots[0], 0), "v0") != 0 || map_size (current) != n_keys
      || map_size (snapshots[1]) != n_keys || stats.collections == 0)
    return 1;
  return 0;
}
