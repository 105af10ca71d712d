/* count-preload.c — an independent oracle for the allocation counts.
 *
 * Put in LD_PRELOAD instead of the agent, it counts every successful call of
 * the ten allocation entry points with the same rules as `hmtrace report`
 * (realloc is one allocation, realloc(p, 0) is a free, free(NULL) and failed
 * calls count nothing) and tracks live bytes by pointer.  At exit it appends
 * one line "pid=… allocations=… …" to the file named by HM_COUNT_FILE, with
 * per entry point calls, bytes and leaked bytes ("calloc=… calloc_bytes=…
 * calloc_leaked_bytes=…").
 *
 * It forwards to glibc's exported __libc_* functions, so no dlsym bootstrap is
 * needed; the hooks that have no __libc_* twin are rebuilt from
 * __libc_memalign and __libc_realloc with glibc 2.36's argument checks.  It is
 * a test tool: one mutex, a fixed open-addressing table, no speed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc (size_t size);
extern void *__libc_calloc (size_t n, size_t size);
extern void *__libc_realloc (void *ptr, size_t size);
extern void *__libc_memalign (size_t alignment, size_t size);
extern void *__libc_valloc (size_t size);
extern void *__libc_pvalloc (size_t size);
extern void __libc_free (void *ptr);

enum {
  FN_MALLOC, FN_CALLOC, FN_REALLOC, FN_REALLOCARRAY, FN_MEMALIGN,
  FN_POSIX_MEMALIGN, FN_ALIGNED_ALLOC, FN_VALLOC, FN_PVALLOC, FN_N
};
static const char *const fn_names[FN_N] = {
  "malloc", "calloc", "realloc", "reallocarray", "memalign",
  "posix_memalign", "aligned_alloc", "valloc", "pvalloc",
};

/* 4M slots of 16 bytes: enough for the test programs' live sets (the
 * benchmark keeps 20 000 blocks live). */
#define TABLE_BITS 22
#define TABLE_SIZE (1u << TABLE_BITS)
#define TOMBSTONE ((uintptr_t) 1)

typedef struct { uintptr_t ptr; uint64_t size; int fn; } LiveBlock;

static LiveBlock table[TABLE_SIZE];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t n_calls[FN_N], n_bytes[FN_N], n_live_bytes[FN_N];
static uint64_t n_allocations, n_frees, n_unknown_frees;
static uint64_t bytes_allocated, live_bytes, peak_bytes, live_blocks;

static size_t
slot_of (uintptr_t ptr)
{
  return (size_t) ((ptr >> 4) * 0x9E3779B97F4A7C15ull >> (64 - TABLE_BITS));
}

static void
table_insert (uintptr_t ptr, uint64_t size, int fn)
{
  size_t i = slot_of (ptr);
  while (table[i].ptr != 0 && table[i].ptr != TOMBSTONE)
    i = (i + 1) & (TABLE_SIZE - 1);
  table[i].ptr = ptr;
  table[i].size = size;
  table[i].fn = fn;
  n_live_bytes[fn] += size;
}

/* Returns 1 and the size if ptr was live. */
static int
table_remove (uintptr_t ptr, uint64_t *size)
{
  size_t i = slot_of (ptr);
  while (table[i].ptr != 0)
    {
      if (table[i].ptr == ptr)
        {
          *size = table[i].size;
          n_live_bytes[table[i].fn] -= table[i].size;
          table[i].ptr = TOMBSTONE;
          return 1;
        }
      i = (i + 1) & (TABLE_SIZE - 1);
    }
  return 0;
}

static void
note_free_locked (void *ptr)
{
  uint64_t size;
  n_frees++;
  if (table_remove ((uintptr_t) ptr, &size))
    {
      live_bytes -= size;
      live_blocks--;
    }
  else
    n_unknown_frees++;
}

static void
note_alloc_locked (int fn, void *ptr, uint64_t size)
{
  n_calls[fn]++;
  n_bytes[fn] += size;
  n_allocations++;
  bytes_allocated += size;
  live_bytes += size;
  live_blocks++;
  if (live_bytes > peak_bytes)
    peak_bytes = live_bytes;
  table_insert ((uintptr_t) ptr, size, fn);
}

static void
note_alloc (int fn, void *ptr, uint64_t size)
{
  if (ptr == NULL)
    return;
  pthread_mutex_lock (&lock);
  note_alloc_locked (fn, ptr, size);
  pthread_mutex_unlock (&lock);
}

/* A realloc-like call that returned new_ptr for (old_ptr, size). */
static void
note_realloc (int fn, void *old_ptr, void *new_ptr, uint64_t size)
{
  if (new_ptr == NULL && !(old_ptr != NULL && size == 0))
    return;               /* failed: the old block is untouched */
  pthread_mutex_lock (&lock);
  if (old_ptr != NULL)
    {
      uint64_t old_size;
      if (table_remove ((uintptr_t) old_ptr, &old_size))
        {
          live_bytes -= old_size;
          live_blocks--;
        }
      if (new_ptr == NULL)
        n_frees++;        /* realloc(p, 0) freed p */
    }
  if (new_ptr != NULL)
    note_alloc_locked (fn, new_ptr, size);
  pthread_mutex_unlock (&lock);
}

void *
malloc (size_t size)
{
  void *p = __libc_malloc (size);
  note_alloc (FN_MALLOC, p, size);
  return p;
}

void *
calloc (size_t n, size_t size)
{
  void *p = __libc_calloc (n, size);
  note_alloc (FN_CALLOC, p, (uint64_t) n * size);
  return p;
}

void *
realloc (void *ptr, size_t size)
{
  void *p = __libc_realloc (ptr, size);
  note_realloc (FN_REALLOC, ptr, p, size);
  return p;
}

void *
reallocarray (void *ptr, size_t n, size_t size)
{
  size_t bytes;
  if (__builtin_mul_overflow (n, size, &bytes))
    {
      errno = ENOMEM;
      return NULL;
    }
  void *p = __libc_realloc (ptr, bytes);
  note_realloc (FN_REALLOCARRAY, ptr, p, bytes);
  return p;
}

void *
memalign (size_t alignment, size_t size)
{
  void *p = __libc_memalign (alignment, size);
  note_alloc (FN_MEMALIGN, p, size);
  return p;
}

/* glibc 2.36: aligned_alloc is memalign under another name. */
void *
aligned_alloc (size_t alignment, size_t size)
{
  void *p = __libc_memalign (alignment, size);
  note_alloc (FN_ALIGNED_ALLOC, p, size);
  return p;
}

int
posix_memalign (void **out, size_t alignment, size_t size)
{
  if (alignment % sizeof (void *) != 0
      || (alignment & (alignment - 1)) != 0 || alignment == 0)
    return EINVAL;
  void *p = __libc_memalign (alignment, size);
  if (p == NULL)
    return ENOMEM;
  note_alloc (FN_POSIX_MEMALIGN, p, size);
  *out = p;
  return 0;
}

void *
valloc (size_t size)
{
  void *p = __libc_valloc (size);
  note_alloc (FN_VALLOC, p, size);
  return p;
}

void *
pvalloc (size_t size)
{
  void *p = __libc_pvalloc (size);
  note_alloc (FN_PVALLOC, p, size);
  return p;
}

void
free (void *ptr)
{
  if (ptr == NULL)
    return;
  pthread_mutex_lock (&lock);
  note_free_locked (ptr);
  pthread_mutex_unlock (&lock);
  __libc_free (ptr);
}

/* Formatting by hand: snprintf could allocate, and we hold the lock. */
static size_t
append_text (char *buf, size_t len, const char *text)
{
  while (*text)
    buf[len++] = *text++;
  return len;
}

static size_t
append_field (char *buf, size_t len, const char *name, uint64_t value)
{
  char digits[24];
  int n = 0;
  if (len > 0)
    buf[len++] = ' ';
  len = append_text (buf, len, name);
  buf[len++] = '=';
  do
    digits[n++] = (char) ('0' + value % 10);
  while ((value /= 10) != 0);
  while (n > 0)
    buf[len++] = digits[--n];
  return len;
}

__attribute__((destructor)) static void
write_totals (void)
{
  const char *path = getenv ("HM_COUNT_FILE");
  char line[4096];
  size_t len = 0;
  int fd;

  if (path == NULL)
    return;
  pthread_mutex_lock (&lock);
  len = append_field (line, len, "pid", (uint64_t) getpid ());
  len = append_field (line, len, "allocations", n_allocations);
  len = append_field (line, len, "frees", n_frees);
  len = append_field (line, len, "unknown_frees", n_unknown_frees);
  len = append_field (line, len, "bytes_allocated", bytes_allocated);
  len = append_field (line, len, "peak_bytes", peak_bytes);
  len = append_field (line, len, "leaked_bytes", live_bytes);
  len = append_field (line, len, "leaked_blocks", live_blocks);
  for (int fn = 0; fn < FN_N; fn++)
    {
      char name[48];
      size_t n = append_text (name, 0, fn_names[fn]);
      len = append_field (line, len, fn_names[fn], n_calls[fn]);
      name[append_text (name, n, "_bytes")] = '\0';
      len = append_field (line, len, name, n_bytes[fn]);
      name[append_text (name, n, "_leaked_bytes")] = '\0';
      len = append_field (line, len, name, n_live_bytes[fn]);
    }
  pthread_mutex_unlock (&lock);
  line[len++] = '\n';
  /* One write with O_APPEND: an exec'd child appends its own line. */
  fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  while (write (fd, line, len) < 0 && errno == EINTR)
    ;
  close (fd);
}
