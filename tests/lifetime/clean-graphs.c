/* clean-graphs.c — memory that is all still reachable, in the shapes a
 * conservative scan can get wrong; the reachability scan must say nothing,
 * mid-run (hm_analyze) and at exit:
 *   - a tree with parent links (cycles everywhere), rooted in a global;
 *   - a list reachable only through interior pointers (each link points at
 *     the next node's middle);
 *   - a block held only by another thread's stack, the thread blocked in a
 *     condition wait while the scan runs;
 *   - a malloc block held only from a pool object, one only from a region
 *     chunk, one only from a GC object;
 *   - stdio: a file written and closed, stdout buffered;
 *   - a fork child that runs the scan itself (exit status 0: no leaks).
 * Prints "clean" at the end.
 */
#include <hybridmem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__ ((noinline))

typedef struct Tree Tree;
struct Tree {
  Tree *parent;
  Tree *children[3];
  int value;
};

static Tree *tree_root;

static NOINLINE Tree *
grow (Tree *parent, int depth)
{
  Tree *t = calloc (1, sizeof *t);
  t->parent = parent;
  t->value = depth;
  if (depth > 0)
    for (int i = 0; i < 3; i++)
      t->children[i] = grow (t, depth - 1);
  return t;
}

static void
tree_free (Tree *t)
{
  if (t == NULL)
    return;
  for (int i = 0; i < 3; i++)
    tree_free (t->children[i]);
  free (t);
}

/* interior pointers: each link points 24 bytes into the next node */
typedef struct {
  char head[24];
  char *next_middle;
  char tail[40];
} Link;

static char *links_middle;

static NOINLINE void
build_links (void)
{
  char *next = NULL;
  for (int i = 0; i < 50; i++)
    {
      Link *l = malloc (sizeof *l);
      l->next_middle = next;
      next = (char *) l + 24;
    }
  links_middle = next;
}

static void
free_links (void)
{
  for (char *m = links_middle; m != NULL;)
    {
      Link *l = (Link *) (m - 24);
      m = l->next_middle;
      free (l);
    }
}

/* a thread whose stack alone holds a block */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int waiting, go;

static void *
holder_thread (void *arg)
{
  (void) arg;
  char *volatile mine = malloc (4000);
  memset (mine, 7, 4000);
  pthread_mutex_lock (&lock);
  waiting = 1;
  pthread_cond_broadcast (&cond);
  while (!go)
    pthread_cond_wait (&cond, &lock);
  pthread_mutex_unlock (&lock);
  free (mine);
  return NULL;
}

/* containers the scan must look into */
static HmPool *pool;
static void **pool_object;
static HmRegion *region;
static void **region_object;
static void **gc_object;

static NOINLINE void
fill_containers (void)
{
  pool = hm_pool_new ("holder", 32, 8);
  pool_object = hm_pool_get (pool);
  pool_object[0] = malloc (111);
  region = hm_region_new ("holders");
  region_object = hm_region_alloc (region, 64);
  region_object[0] = malloc (222);
  gc_object = hm_gc_alloc (64);
  gc_object[0] = malloc (333);
}

static NOINLINE void
empty_containers (void)
{
  free (pool_object[0]);
  hm_pool_return (pool, pool_object);
  pool_object = NULL;
  hm_pool_free (pool);
  free (region_object[0]);
  region_object = NULL;
  hm_region_free (region);
  free (gc_object[0]);
  gc_object[0] = NULL;
}

static NOINLINE void
use_stdio (void)
{
  char path[] = "/tmp/hm-clean-graphs-XXXXXX";
  int fd = mkstemp (path);
  FILE *f = fdopen (fd, "w");
  for (int i = 0; i < 100; i++)
    fprintf (f, "line %d\n", i);
  fclose (f);
  unlink (path);
  printf ("stdio ");
}

int
main (void)
{
  pthread_t thread;
  size_t leaks = 0;

  tree_root = grow (NULL, 5);
  build_links ();
  fill_containers ();
  use_stdio ();
  pthread_create (&thread, NULL, holder_thread, NULL);
  pthread_mutex_lock (&lock);
  while (!waiting)
    pthread_cond_wait (&cond, &lock);
  pthread_mutex_unlock (&lock);

  leaks += hm_analyze ();

  pid_t child = fork ();
  if (child == 0)
    _exit (hm_analyze () == 0 ? 0 : 1);
  int status = 0;
  waitpid (child, &status, 0);

  pthread_mutex_lock (&lock);
  go = 1;
  pthread_cond_broadcast (&cond);
  pthread_mutex_unlock (&lock);
  pthread_join (thread, NULL);

  empty_containers ();
  leaks += hm_analyze ();
  tree_free (tree_root);
  tree_root = NULL;
  free_links ();
  printf ("%s\n", leaks == 0 && WIFEXITED (status) && WEXITSTATUS (status) == 0 ? "clean"
                                                                                 : "LEAKS");
  return 0;
}
