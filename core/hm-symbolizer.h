/* hm-symbolizer.h — turning recorded code addresses into functions and lines.
 *
 * The traced process is gone when a trace is read, so symbols come from the
 * files its modules were loaded from (elfutils libdwfl, offline): each module
 * is placed at its recorded load bias, checked against its recorded build-id,
 * and every address is resolved once and cached.  A missing or rebuilt file
 * never fails a lookup: the frame then names only its module.  A symbolizer
 * is not thread-safe: use each from one thread at a time.
 */
#pragma once

#include <glib.h>

#include "hm-heap-model.h"

G_BEGIN_DECLS

/* One source-level frame.  An address inside inlined code gives several: the
 * inlined callees first (inlined TRUE), then the function they were inlined
 * into, all with the same address. */
typedef struct {
  const char *function;    /* demangled; "??" when unknown */
  const char *file;        /* source file, NULL when unknown */
  int line;                /* 0 when unknown */
  const char *module;      /* path of the module as recorded, NULL when none maps the address */
  guint64 address;         /* the address as recorded (not adjusted) */
  guint64 module_offset;   /* address - load bias: the ELF address; 0 without a module */
  gboolean inlined;        /* this call was inlined into the next frame */
} HmFrameInfo;

typedef struct _HmSymbolizer HmSymbolizer;

/* An empty symbolizer: add modules with hm_symbolizer_add_module(). */
HmSymbolizer *hm_symbolizer_new (void);
/* A symbolizer for the modules of a model; the model must outlive it. */
HmSymbolizer *hm_symbolizer_new_for_model (HmHeapModel *model);
void hm_symbolizer_free (HmSymbolizer *symbolizer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HmSymbolizer, hm_symbolizer_free)

/* Declares that path was mapped over [start, end) with load bias bias
 * (dl_iterate_phdr's dlpi_addr: ELF virtual address + bias = runtime
 * address; 0 for a non-PIE executable).  build_id may be NULL.  The same
 * module reported twice (a dlclose/dlopen cycle) is kept once.  Modules may
 * be added between lookups; frames handed out stay valid. */
void hm_symbolizer_add_module (HmSymbolizer *symbolizer,
                               const char *path,
                               guint64 bias,
                               guint64 start,
                               guint64 end,
                               const guint8 *build_id,
                               gsize build_id_len);

/* The frames of a return address (the lookup uses ip - 1, so that a call
 * at the end of a function is attributed to it), innermost first.  Never
 * NULL, *n_frames >= 1.  The frames belong to the symbolizer. */
const HmFrameInfo *hm_symbolizer_lookup (HmSymbolizer *symbolizer,
                                         guint64 ip,
                                         guint *n_frames);
/* The same for an exact program counter (a fault address, a GUI query). */
const HmFrameInfo *hm_symbolizer_lookup_pc (HmSymbolizer *symbolizer,
                                            guint64 pc,
                                            guint *n_frames);

/* All frames of a stack of the symbolizer's model, innermost first, without
 * the agent's own frames (libhybridmem.so: its entry points at the top, its
 * wrapper of main below).  An array of
 * const HmFrameInfo * that belong to the symbolizer; free the array only. */
GPtrArray *hm_symbolizer_get_stack (HmSymbolizer *symbolizer, guint64 stack);

/* Number of distinct addresses resolved so far (for tests and benchmarks). */
guint hm_symbolizer_get_n_cached (HmSymbolizer *symbolizer);

G_END_DECLS
