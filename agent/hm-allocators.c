/* hm-allocators.c — memory the program gets from elsewhere than malloc:
 * anonymous mmap, jemalloc's and mimalloc's own entry points, and the
 * heaptrack annotation API (heaptrack_api.h) for custom allocators.
 *
 * Each hook forwards to the next definition (found once, with dlsym) and
 * records one event, as the malloc hooks do: a free before, an allocation
 * after the real call.  Calls into the allocator run with the guard up, so
 * what it does inside (an mmap of its own, mi_malloc behind malloc) is not
 * the program's event.
 */
#define _GNU_SOURCE
/* mmap and mmap64 are two symbols to define: no renaming of one to the other */
#undef _FILE_OFFSET_BITS
#include "hm-agent-private.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The allocators' own APIs, as their headers declare them (which the
 * build need not have). */
void *mallocx (size_t size, int flags);
void *rallocx (void *p, size_t size, int flags);
size_t xallocx (void *p, size_t size, size_t extra, int flags);
void dallocx (void *p, int flags);
void sdallocx (void *p, size_t size, int flags);
void *mi_malloc (size_t size);
void *mi_zalloc (size_t size);
void *mi_new (size_t size);
void *mi_calloc (size_t n, size_t size);
void *mi_mallocn (size_t n, size_t size);
void *mi_malloc_aligned (size_t size, size_t alignment);
void *mi_zalloc_aligned (size_t size, size_t alignment);
void *mi_realloc (void *p, size_t size);
void mi_free (void *p);
void heaptrack_malloc (void *ptr, size_t size);
void heaptrack_free (void *ptr);
void heaptrack_realloc (void *ptr_in, size_t size, void *ptr_out);

/* Lazily found next definitions; a race finds the same pointer twice. */
#define NEXT(name) \
  static __typeof__ (name) *next_##name;                                    \
  if (HM_UNLIKELY (next_##name == NULL))                                   \
    next_##name = (__typeof__ (name) *) hm_next_symbol (#name)

static inline bool
watching (void)
{
  return hm_watching_here ();
}

/* --- anonymous memory: mmap, munmap, mremap ------------------------------------
 *
 * Traced: mmap/mmap64 with MAP_ANONYMOUS (private or shared), munmap of any
 * range (the reader keeps only what overlaps mappings it saw made), and
 * mremap.  Not traced: file mappings; the agent's own mappings (called
 * from its own code, or with the guard up); and glibc malloc's mappings,
 * which it makes through its internal __mmap, never through this symbol.
 * Another allocator's mappings (jemalloc, mimalloc) are made inside a
 * forwarded malloc, with the guard up.  The system calls are made
 * directly: glibc's mmap only checks the offset, which the kernel does too. */

static inline bool
called_by_agent (uintptr_t ret)
{
  return ret >= hm_agent.self_start && ret < hm_agent.self_end;
}

static void *
sys_mmap (void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
  return (void *) syscall (SYS_mmap, addr, len, prot, flags, fd, offset);
}

/* An event only: lifetime analysis keeps to malloc's blocks (a mapping or
 * an annotated block is never freed through free). */
static __attribute__ ((noinline)) void
note_untracked_alloc (HmAllocFn fn, void *p, size_t size)
{
  hm_guard++;
  hm_emit_alloc_fn (fn, (uintptr_t) p, size, hm_stack_capture ());
  hm_guard--;
}

static __attribute__ ((noinline)) void
note_mmap (void *p, size_t len)
{
  note_untracked_alloc (HM_FN_MMAP, p, len);
}

HM_EXPORT void *
mmap (void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
  void *p = sys_mmap (addr, len, prot, flags, fd, offset);
  if (HM_UNLIKELY (hm_agent.tracing) && p != MAP_FAILED && (flags & MAP_ANONYMOUS)
      && hm_guard == 0 && !called_by_agent ((uintptr_t) __builtin_return_address (0)))
    note_mmap (p, len);
  return p;
}

HM_EXPORT void *
mmap64 (void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
  void *p = sys_mmap (addr, len, prot, flags, fd, offset);
  if (HM_UNLIKELY (hm_agent.tracing) && p != MAP_FAILED && (flags & MAP_ANONYMOUS)
      && hm_guard == 0 && !called_by_agent ((uintptr_t) __builtin_return_address (0)))
    note_mmap (p, len);
  return p;
}

HM_EXPORT int
munmap (void *addr, size_t len)
{
  if (HM_UNLIKELY (hm_agent.tracing) && hm_guard == 0
      && !called_by_agent ((uintptr_t) __builtin_return_address (0)))
    {
      hm_guard++;
      hm_emit_unmap (HM_FN_MUNMAP, (uintptr_t) addr, len);
      hm_guard--;
    }
  return (int) syscall (SYS_munmap, addr, len);
}

HM_EXPORT void *
mremap (void *old, size_t old_size, size_t new_size, int flags, ...)
{
  void *new_address = NULL;
  if (flags & MREMAP_FIXED)
    {
      va_list args;
      va_start (args, flags);
      new_address = va_arg (args, void *);
      va_end (args);
    }
  uint64_t tsc = hm_tsc ();
  void *p = (void *) syscall (SYS_mremap, old, old_size, new_size, flags, new_address);
  if (HM_UNLIKELY (hm_agent.tracing) && p != MAP_FAILED && hm_guard == 0
      && !called_by_agent ((uintptr_t) __builtin_return_address (0)))
    {
      hm_guard++;
      hm_emit_realloc_fn (HM_FN_MREMAP, tsc, (uintptr_t) old, old_size ? old_size : 1,
                          (uintptr_t) p, new_size, hm_stack_capture ());
      hm_guard--;
    }
  return p;
}

/* --- shared by the allocators' own APIs ----------------------------------------- */

static __attribute__ ((noinline)) void
note_alloc (HmAllocFn fn, void *p, size_t size)
{
  hm_watch_alloc (fn, HM_LIFETIME_MALLOC, p, size);
}

/* Returns whether the allocator frees p now (lifetime analysis may hold it). */
static __attribute__ ((noinline)) bool
note_free (HmAllocFn fn, void *p, const char *function)
{
  return hm_watch_free (fn, HM_LIFETIME_MALLOC, p, function);
}

static __attribute__ ((noinline)) void
note_realloc (HmAllocFn fn, uint64_t tsc, void *old, void *p, size_t size)
{
  if (!hm_agent.tracing)
    return;
  hm_guard++;
  hm_emit_realloc_fn (fn, tsc, (uintptr_t) old, 0, (uintptr_t) p, size, hm_stack_capture ());
  hm_guard--;
}

/* --- jemalloc: mallocx, rallocx, xallocx, dallocx, sdallocx ----------------------
 *
 * Without jemalloc (a program that looks these names up and finds ours),
 * they fall back on the program's malloc with the same meaning: the low six
 * bits of flags are log2 of the alignment, 0x40 asks for zeroed memory. */

#define JE_LG_ALIGN(flags) ((flags) & 0x3f)
#define JE_ZERO 0x40

static void *
je_fallback_alloc (size_t size, int flags)
{
  void *p = NULL;
  size_t alignment = JE_LG_ALIGN (flags) ? (size_t) 1 << JE_LG_ALIGN (flags) : 0;
  if (alignment > sizeof (void *))
    {
      if (posix_memalign (&p, alignment, size) != 0)
        p = NULL;
    }
  else
    p = malloc (size);
  if (p != NULL && (flags & JE_ZERO))
    memset (p, 0, size);
  return p;
}

HM_EXPORT void *
mallocx (size_t size, int flags)
{
  NEXT (mallocx);
  hm_guard++;
  void *p = next_mallocx ? next_mallocx (size, flags) : NULL;
  hm_guard--;
  if (next_mallocx == NULL)
    return je_fallback_alloc (size, flags);
  if (p != NULL && watching ())
    note_alloc (HM_FN_JE_MALLOCX, p, size);
  return p;
}

HM_EXPORT void *
rallocx (void *old, size_t size, int flags)
{
  NEXT (rallocx);
  if (next_rallocx == NULL)
    return realloc (old, size);
  uint64_t tsc = hm_tsc ();
  if (hm_lifetime_active && hm_guard == 0)
    {
      int known;
      size_t old_size = hm_lifetime_block_size (old, &known);
      NEXT (mallocx);
      if (known && next_mallocx != NULL)
        {
          hm_guard++;
          void *q = next_mallocx (size, flags);
          hm_guard--;
          if (q != NULL)
            hm_watch_moved (HM_FN_JE_RALLOCX, tsc, old, old_size, q, size);
          return q;
        }
    }
  hm_guard++;
  void *p = next_rallocx (old, size, flags);
  hm_guard--;
  if (p != NULL && watching ())
    note_realloc (HM_FN_JE_RALLOCX, tsc, old, p, size);
  return p;
}

/* Resizes in place; returns the block's size after.  One call, traced as a
 * reallocation of the block to its new size (an allocation call, no free). */
HM_EXPORT size_t
xallocx (void *p, size_t size, size_t extra, int flags)
{
  NEXT (xallocx);
  if (next_xallocx == NULL)
    return malloc_usable_size (p);
  uint64_t tsc = hm_tsc ();
  hm_guard++;
  size_t got = next_xallocx (p, size, extra, flags);
  hm_guard--;
  if (watching ())
    note_realloc (HM_FN_JE_XALLOCX, tsc, p, p, got);
  return got;
}

HM_EXPORT void
dallocx (void *p, int flags)
{
  NEXT (dallocx);
  if (next_dallocx == NULL)
    {
      free (p);
      return;
    }
  if (watching () && !note_free (HM_FN_JE_DALLOCX, p, "dallocx"))
    return;
  hm_guard++;
  next_dallocx (p, flags);
  hm_guard--;
}

HM_EXPORT void
sdallocx (void *p, size_t size, int flags)
{
  NEXT (sdallocx);
  if (next_sdallocx == NULL)
    {
      free (p);
      return;
    }
  if (watching () && !note_free (HM_FN_JE_SDALLOCX, p, "sdallocx"))
    return;
  hm_guard++;
  next_sdallocx (p, size, flags);
  hm_guard--;
}

/* --- mimalloc: mi_malloc & co. ----------------------------------------------------
 *
 * Without mimalloc they fall back on the program's malloc & co. */

#define MI_ALLOC1(fn_id, name, fallback)                                       \
  HM_EXPORT void *                                                             \
  name (size_t size)                                                           \
  {                                                                            \
    NEXT (name);                                           \
    if (next_##name == NULL)                                                   \
      return fallback;                                                         \
    hm_guard++;                                                                \
    void *p = next_##name (size);                                              \
    hm_guard--;                                                                \
    if (p != NULL && watching ())                                              \
      note_alloc (fn_id, p, size);                                             \
    return p;                                                                  \
  }

MI_ALLOC1 (HM_FN_MI_MALLOC, mi_malloc, malloc (size))
MI_ALLOC1 (HM_FN_MI_ZALLOC, mi_zalloc, calloc (1, size))
MI_ALLOC1 (HM_FN_MI_NEW, mi_new, malloc (size))

HM_EXPORT void *
mi_calloc (size_t n, size_t size)
{
  NEXT (mi_calloc);
  if (next_mi_calloc == NULL)
    return calloc (n, size);
  hm_guard++;
  void *p = next_mi_calloc (n, size);
  hm_guard--;
  if (p != NULL && watching ())
    note_alloc (HM_FN_MI_CALLOC, p, n * size);
  return p;
}

HM_EXPORT void *
mi_mallocn (size_t n, size_t size)
{
  NEXT (mi_mallocn);
  if (next_mi_mallocn == NULL)
    return reallocarray (NULL, n, size);
  hm_guard++;
  void *p = next_mi_mallocn (n, size);
  hm_guard--;
  if (p != NULL && watching ())
    note_alloc (HM_FN_MI_MALLOCN, p, n * size);
  return p;
}

#define MI_ALIGNED(fn_id, name, zero)                                          \
  HM_EXPORT void *                                                             \
  name (size_t size, size_t alignment)                                         \
  {                                                                            \
    NEXT (name);                                   \
    if (next_##name == NULL)                                                   \
      {                                                                        \
        void *q = NULL;                                                        \
        if (posix_memalign (&q, alignment < sizeof (void *) ? sizeof (void *)  \
                                                            : alignment, size) \
            != 0)                                                              \
          return NULL;                                                         \
        if (zero)                                                              \
          memset (q, 0, size);                                                 \
        return q;                                                              \
      }                                                                        \
    hm_guard++;                                                                \
    void *p = next_##name (size, alignment);                                   \
    hm_guard--;                                                                \
    if (p != NULL && watching ())                                              \
      note_alloc (fn_id, p, size);                                             \
    return p;                                                                  \
  }

MI_ALIGNED (HM_FN_MI_MALLOC_ALIGNED, mi_malloc_aligned, 0)
MI_ALIGNED (HM_FN_MI_ZALLOC_ALIGNED, mi_zalloc_aligned, 1)

HM_EXPORT void *
mi_realloc (void *old, size_t size)
{
  NEXT (mi_realloc);
  if (next_mi_realloc == NULL)
    return realloc (old, size);
  if (old == NULL)
    {
      hm_guard++;
      void *p = next_mi_realloc (NULL, size);
      hm_guard--;
      if (p != NULL && watching ())
        note_alloc (HM_FN_MI_REALLOC, p, size);
      return p;
    }
  uint64_t tsc = hm_tsc ();
  if (hm_lifetime_active && hm_guard == 0 && size != 0)
    {
      int known;
      size_t old_size = hm_lifetime_block_size (old, &known);
      NEXT (mi_malloc);
      if (known && next_mi_malloc != NULL)
        {
          hm_guard++;
          void *q = next_mi_malloc (size);
          hm_guard--;
          if (q != NULL)
            hm_watch_moved (HM_FN_MI_REALLOC, tsc, old, old_size, q, size);
          return q;
        }
    }
  hm_guard++;
  void *p = next_mi_realloc (old, size);
  hm_guard--;
  if (p != NULL && watching ())
    note_realloc (HM_FN_MI_REALLOC, tsc, old, p, size);
  return p;
}

HM_EXPORT void
mi_free (void *p)
{
  NEXT (mi_free);
  if (next_mi_free == NULL)
    {
      free (p);
      return;
    }
  if (p == NULL)
    return;
  if (watching () && !note_free (HM_FN_MI_FREE, p, "mi_free"))
    return;
  hm_guard++;
  next_mi_free (p);
  hm_guard--;
}

/* --- heaptrack's annotation API (heaptrack_api.h) ----------------------------------
 *
 * heaptrack_report_alloc & co. are macros calling these weak symbols when
 * something defines them (or finding them with dlsym): a custom allocator
 * annotated for heaptrack shows up here unchanged.  Its blocks are the
 * custom strategy's: memory inside blocks another strategy already counts. */

HM_EXPORT void
heaptrack_malloc (void *ptr, size_t size)
{
  if (ptr != NULL && hm_agent.tracing && hm_guard == 0)
    note_untracked_alloc (HM_FN_HEAPTRACK_ALLOC, ptr, size);
}

HM_EXPORT void
heaptrack_free (void *ptr)
{
  if (ptr == NULL || !hm_agent.tracing || hm_guard != 0)
    return;
  hm_guard++;
  hm_emit_free (HM_FN_HEAPTRACK_FREE, (uintptr_t) ptr);
  hm_guard--;
}

HM_EXPORT void
heaptrack_realloc (void *ptr_in, size_t size, void *ptr_out)
{
  if (!hm_agent.tracing || hm_guard != 0 || ptr_out == NULL)
    return;
  if (ptr_in == NULL)
    {
      note_untracked_alloc (HM_FN_HEAPTRACK_REALLOC, ptr_out, size);
      return;
    }
  hm_guard++;
  hm_emit_realloc_fn (HM_FN_HEAPTRACK_REALLOC, hm_tsc (), (uintptr_t) ptr_in, 0,
                      (uintptr_t) ptr_out, size, hm_stack_capture ());
  hm_guard--;
}
