/* forward-preload.c — the cheapest possible LD_PRELOAD interposer, for the
 * benchmarks' baseline: malloc, free, calloc and realloc go straight to
 * glibc's __libc_* functions and nothing else happens.  What it costs over
 * plain glibc is the floor of any tool that interposes malloc (one more
 * call per operation); bench-sampling.sh prints it beside sampling mode.
 */
#include <stddef.h>

extern void *__libc_malloc (size_t size);
extern void *__libc_calloc (size_t n, size_t size);
extern void *__libc_realloc (void *ptr, size_t size);
extern void __libc_free (void *ptr);

void *malloc (size_t size);
void *calloc (size_t n, size_t size);
void *realloc (void *ptr, size_t size);
void free (void *ptr);

void *
malloc (size_t size)
{
  return __libc_malloc (size);
}

void *
calloc (size_t n, size_t size)
{
  return __libc_calloc (n, size);
}

void *
realloc (void *ptr, size_t size)
{
  return __libc_realloc (ptr, size);
}

void
free (void *ptr)
{
  __libc_free (ptr);
}
