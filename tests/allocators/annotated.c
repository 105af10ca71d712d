/* annotated.c — a custom allocator announced to heap tools: a free list of
 * fixed 64-byte cells on one big malloc'd block, reported with heaptrack's
 * API (heaptrack_api.h: heaptrack_report_alloc/_free/_realloc).
 *
 * Own calls: malloc 1 (the arena, 64 KiB), free 1 (at the end);
 * heaptrack_report_alloc ANNOTATED_ALLOCS (40) by cell_alloc (marked
 * "cell-alloc" below), heaptrack_report_free ANNOTATED_FREES (25) by
 * cell_free, heaptrack_report_realloc 1 (a cell moved to another).  Live
 * at exit in the custom strategy: 40 - 25 cells.
 */
#include <heaptrack_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CELL 64
#define N_CELLS 1024

static char *arena;
static void *free_list;

static void *
cell_alloc (void)
{
  void *p = free_list;
  if (p == NULL)
    return NULL;
  free_list = *(void **) p;
  heaptrack_report_alloc (p, CELL);   /* SITE: cell-alloc */
  return p;
}

static void
cell_free (void *p)
{
  heaptrack_report_free (p);          /* cell-free */
  *(void **) p = free_list;
  free_list = p;
}

int
main (void)
{
  void *cells[40];
  arena = malloc (CELL * N_CELLS);
  for (int i = N_CELLS - 1; i >= 0; i--)
    {
      *(void **) (arena + i * CELL) = free_list;
      free_list = arena + i * CELL;
    }
  for (int i = 0; i < 40; i++)
    {
      cells[i] = cell_alloc ();
      memset (cells[i], i, CELL);
    }
  for (int i = 0; i < 25; i++)
    cell_free (cells[i]);
  /* a cell moved: the allocator says so with one realloc report */
  void *moved = free_list;
  free_list = *(void **) moved;
  memcpy (moved, cells[39], CELL);
  heaptrack_report_realloc (cells[39], CELL, moved);
  *(void **) cells[39] = free_list;
  free_list = cells[39];
  cells[39] = moved;
  printf ("cells live: %d, byte %d\n", 15, ((unsigned char *) cells[30])[1]);
  free (arena);
  return 0;
}
