/* hybridmem.h — the public API of libhybridmem.
 *
 * Link with -lhybridmem, or preload it (LD_PRELOAD=libhybridmem.so) into an
 * unmodified program: every malloc, free, calloc, realloc, reallocarray,
 * memalign, posix_memalign, aligned_alloc, valloc and pvalloc is then traced
 * when HM_TRACE=FILE is set (hmtrace record sets it for you).
 *
 * The memory manager API (regions, pools, GC, hm_init) is being added.
 */
#pragma once

#define HYBRIDMEM_VERSION_MAJOR 0
#define HYBRIDMEM_VERSION_MINOR 1
