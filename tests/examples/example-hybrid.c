/* example-hybrid.c — every strategy in one program, with hm_init.
 *
 * A tiny "web server" loop: each request's scratch data lives in a region
 * that is reset when the request is done; connections come from a pool;
 * the response cache is garbage-collected, so entries nobody points to any
 * more go away by themselves; the server's configuration is manual memory.
 * Build: cc example-hybrid.c $(pkg-config --cflags --libs hybridmem)
 */
#include <hybridmem.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  int fd;
  unsigned requests;
} Connection;

typedef struct CacheEntry {
  char key[24];
  char *body;                 /* GC memory too */
  struct CacheEntry *next;
} CacheEntry;

static CacheEntry *cache;     /* a root: the collector scans globals */

static void
handle_request (HmRegion *scratch, Connection *c, int n)
{
  char *path = hm_region_alloc (scratch, 64);
  snprintf (path, 64, "/page/%d", n % 50);
  int *headers = HM_REGION_NEW (scratch, int, 32);
  headers[0] = n;

  /* the cache keeps the last 20 pages; older entries become garbage */
  CacheEntry *e = hm_gc_alloc (sizeof *e);
  snprintf (e->key, sizeof e->key, "%s", path);
  e->body = hm_gc_alloc (256);
  snprintf (e->body, 256, "<html>%s</html>", path);
  e->next = cache;
  cache = e;
  int kept = 0;
  for (CacheEntry *it = cache; it != NULL; it = it->next)
    if (++kept == 20)
      it->next = NULL;
  c->requests++;
}

int
main (void)
{
  HmOptions options;
  hm_options_init (&options);                 /* defaults, then HM_* variables */
  options.strategy = HM_STRATEGY_BALANCED;
  options.gc_threshold_bytes = 64 * 1024;     /* collect often: it is a demo */
  hm_init (&options);

  char *server_name = hm_alloc (32);          /* manual: lives as long as we say */
  strcpy (server_name, "example");

  HmPool *connections = HM_POOL_NEW (Connection, 16);
  HmRegion *scratch = hm_region_new ("request scratch");

  unsigned served = 0;
  for (int n = 0; n < 2000; n++)
    {
      Connection *c = hm_pool_get (connections);
      c->fd = n;
      c->requests = 0;
      handle_request (scratch, c, n);
      served += c->requests;
      hm_pool_return (connections, c);
      hm_region_reset (scratch);               /* the request's memory, all at once */
    }
  size_t freed = hm_gc_collect ();
  HmGcStats stats;
  hm_gc_get_stats (&stats);
  printf ("%s served %u requests; cache head %s; gc collections: %s\n", server_name, served,
          cache->key, stats.collections > 0 && freed + stats.freed_bytes > 0 ? "yes" : "no");

  hm_region_free (scratch);
  hm_pool_free (connections);
  hm_free (server_name);
  return 0;
}
