/* hm-symbolizer.c — offline symbolisation of recorded addresses with libdwfl.
 *
 * Owns the address → frames cache and the mapping of recorded modules onto
 * files on this machine.  Modules are placed with their recorded load bias in
 * one Dwfl; a module whose address range overlaps one already placed (a
 * library unloaded and another loaded where it was) goes to a further Dwfl,
 * because one Dwfl is one address space.  libdwfl's own lookups scan a whole
 * symbol table or compilation unit per address, so each module gets a sorted
 * symbol table and each CU a sorted index of its functions, built once.
 */
#include "hm-symbolizer.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <string.h>
#include <unistd.h>

#define UNKNOWN_FUNCTION "??"
#define AGENT_LIBRARY "libhybridmem.so"

typedef enum {
  MODULE_PENDING,          /* added, not yet looked at */
  MODULE_SYMBOLS,          /* placed in a Dwfl, symbols trusted */
  MODULE_ONLY,             /* no usable file: frames name the module only */
} ModuleState;

typedef struct {
  char *path;              /* as recorded; interned in the string chunk */
  guint64 bias;            /* load bias */
  guint64 recorded_start;  /* the mapping as recorded */
  guint64 recorded_end;
  GBytes *build_id;        /* NULL when not recorded */
  ModuleState state;
  guint64 start, end;      /* address range: from the ELF phdrs when placed, else as recorded */
  Dwfl_Module *dwfl_module;
  GArray *symbols;         /* SymbolEntry, sorted; built on first use */
  guint layer;             /* index into dwfls */
} SymModule;

typedef struct {
  guint64 key;             /* the address looked up; the hash table key points here */
  guint n_frames;
  HmFrameInfo frames[];
} CacheEntry;

typedef char *(*DemangleFunc) (const char *mangled, char *buf, size_t *len, int *status);

struct _HmSymbolizer {
  HmHeapModel *model;      /* borrowed; NULL for a symbolizer fed by hand */
  guint n_model_modules;   /* model modules already added */
  GPtrArray *modules;      /* SymModule *, in the order added */
  GHashTable *module_keys; /* "path|bias|build-id" -> SymModule *: no module twice */
  guint n_placed;          /* modules[0..n_placed) have left MODULE_PENDING */
  GPtrArray *dwfls;        /* Dwfl *, one per address-space layer */
  GHashTable *ra_cache;    /* guint64 * -> CacheEntry *: return addresses */
  GHashTable *pc_cache;    /* guint64 * -> CacheEntry *: exact PCs */
  GPtrArray *retired;      /* CacheEntry * taken out of a cache, still pointed at */
  GStringChunk *strings;   /* every string a frame points at */
  GHashTable *cu_functions; /* CU DIE address -> CuFunctions * */
  GHashTable *die_scopes;  /* DIE address -> "ns::Class::" of a function declaration */
  GHashTable *names;       /* name as in the file -> demangled name, both interned */
  Dwfl_Callbacks callbacks;
  char *debuginfo_path;
  DemangleFunc demangle;
  gboolean demangle_looked_up;
};

/* ---- modules ---------------------------------------------------------- */

static void
sym_module_free (SymModule *module)
{
  g_clear_pointer (&module->build_id, g_bytes_unref);
  g_clear_pointer (&module->symbols, g_array_unref);
  g_free (module);
}

static gboolean
path_is_agent (const char *path)
{
  const char *base = strrchr (path, '/');

  base = base ? base + 1 : path;
  return g_str_has_prefix (base, AGENT_LIBRARY);
}

static char *
module_key (const char *path, guint64 bias, const guint8 *build_id, gsize build_id_len)
{
  GString *key = g_string_new (path);

  g_string_append_printf (key, "|%" G_GINT64_MODIFIER "x|", bias);
  for (gsize i = 0; i < build_id_len; i++)
    g_string_append_printf (key, "%02x", build_id[i]);
  return g_string_free (key, FALSE);
}

static void
drop_unmapped_cache_entries (HmSymbolizer *self)
{
  GHashTable *caches[] = { self->ra_cache, self->pc_cache };

  /* An address that no module mapped may belong to the module just added.
   * Frames handed out stay valid for the symbolizer's life, so entries are
   * retired rather than freed. */
  for (guint i = 0; i < G_N_ELEMENTS (caches); i++)
    {
      GHashTableIter iter;
      CacheEntry *entry;

      g_hash_table_iter_init (&iter, caches[i]);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
        if (entry->frames[0].module == NULL)
          {
            g_hash_table_iter_steal (&iter);
            g_ptr_array_add (self->retired, entry);
          }
    }
}

void
hm_symbolizer_add_module (HmSymbolizer *self,
                          const char *path,
                          guint64 bias,
                          guint64 start,
                          guint64 end,
                          const guint8 *build_id,
                          gsize build_id_len)
{
  g_autofree char *key = NULL;
  SymModule *module;

  g_return_if_fail (self != NULL);
  g_return_if_fail (path != NULL);
  g_return_if_fail (build_id != NULL || build_id_len == 0);

  key = module_key (path, bias, build_id, build_id_len);
  if (g_hash_table_contains (self->module_keys, key))
    return;

  module = g_new0 (SymModule, 1);
  module->path = g_string_chunk_insert_const (self->strings, path);
  module->bias = bias;
  module->recorded_start = start;
  module->recorded_end = MAX (start, end);
  if (build_id_len > 0)
    module->build_id = g_bytes_new (build_id, build_id_len);
  module->state = MODULE_PENDING;
  g_ptr_array_add (self->modules, module);
  g_hash_table_insert (self->module_keys, g_steal_pointer (&key), module);

  drop_unmapped_cache_entries (self);
}

static void
sync_model_modules (HmSymbolizer *self)
{
  GPtrArray *modules;

  if (self->model == NULL)
    return;

  modules = hm_heap_model_get_modules (self->model);
  for (guint i = self->n_model_modules; i < modules->len; i++)
    {
      const HmModule *m = g_ptr_array_index (modules, i);
      const guint8 *id = NULL;
      gsize id_len = 0;

      if (m->build_id != NULL)
        id = g_bytes_get_data (m->build_id, &id_len);
      hm_symbolizer_add_module (self, m->path ? m->path : "", m->bias, m->start, m->end,
                                id, id_len);
    }
  self->n_model_modules = modules->len;
}

/* The address range an ELF file covers when loaded with the given bias, the
 * way the dynamic loader maps it (and libdwfl computes it). */
static gboolean
elf_address_range (Elf *elf, guint64 bias, guint64 *start, guint64 *end)
{
  GElf_Ehdr ehdr_mem, *ehdr = gelf_getehdr (elf, &ehdr_mem);
  size_t phnum;
  guint64 lo = G_MAXUINT64, hi = 0;

  if (ehdr == NULL || (ehdr->e_type != ET_EXEC && ehdr->e_type != ET_DYN))
    return FALSE;
  if (elf_getphdrnum (elf, &phnum) != 0)
    return FALSE;
  if (ehdr->e_type == ET_EXEC)
    bias = 0;

  for (size_t i = 0; i < phnum; i++)
    {
      GElf_Phdr phdr_mem, *phdr = gelf_getphdr (elf, i, &phdr_mem);
      guint64 align;

      if (phdr == NULL || phdr->p_type != PT_LOAD)
        continue;
      align = phdr->p_align > 1 ? phdr->p_align : 1;
      lo = MIN (lo, phdr->p_vaddr & ~(align - 1));
      hi = MAX (hi, phdr->p_vaddr + phdr->p_memsz);
    }
  if (lo >= hi)
    return FALSE;

  *start = bias + lo;
  *end = bias + hi;
  return TRUE;
}

static gboolean
build_id_matches (const SymModule *module, Elf *elf)
{
  const void *file_id;
  ssize_t file_id_len;
  gsize recorded_len;
  const guint8 *recorded;

  /* Without both ids there is nothing to compare: trust the path. */
  if (module->build_id == NULL)
    return TRUE;
  file_id_len = dwelf_elf_gnu_build_id (elf, &file_id);
  if (file_id_len <= 0)
    return TRUE;

  recorded = g_bytes_get_data (module->build_id, &recorded_len);
  return (gsize) file_id_len == recorded_len && memcmp (file_id, recorded, recorded_len) == 0;
}

/* Where a file with the module's build-id would be kept by a distribution's
 * debug packages.  Separate debug files keep the program headers and the
 * symbol table, so they can stand in for a rebuilt or missing binary. */
static char *
build_id_debug_path (const SymModule *module)
{
  gsize len;
  const guint8 *id;
  GString *path;

  if (module->build_id == NULL)
    return NULL;
  id = g_bytes_get_data (module->build_id, &len);
  if (len < 2)
    return NULL;

  path = g_string_new ("/usr/lib/debug/.build-id/");
  g_string_append_printf (path, "%02x/", id[0]);
  for (gsize i = 1; i < len; i++)
    g_string_append_printf (path, "%02x", id[i]);
  g_string_append (path, ".debug");
  return g_string_free (path, FALSE);
}

static Dwfl *
new_dwfl (HmSymbolizer *self)
{
  Dwfl *dwfl = dwfl_begin (&self->callbacks);

  if (dwfl != NULL)
    g_ptr_array_add (self->dwfls, dwfl);
  return dwfl;
}

static gboolean
layer_is_free (HmSymbolizer *self, guint layer, guint64 start, guint64 end)
{
  for (guint i = 0; i < self->n_placed; i++)
    {
      const SymModule *other = g_ptr_array_index (self->modules, i);

      if (other->state == MODULE_SYMBOLS && other->layer == layer
          && other->start < end && start < other->end)
        return FALSE;
    }
  return TRUE;
}

/* Opens file, and when it is the module's ELF file places it in a Dwfl layer
 * whose address space has room for it.  Layers are in report mode. */
static gboolean
try_place_module (HmSymbolizer *self, SymModule *module, const char *file)
{
  int fd;
  Elf *elf;
  guint64 start = 0, end = 0;
  gboolean usable;
  guint layer;
  Dwfl_Module *dwfl_module;
  void **userdata;

  fd = open (file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return FALSE;

  elf = elf_begin (fd, ELF_C_READ_MMAP, NULL);
  usable = elf != NULL && elf_kind (elf) == ELF_K_ELF
           && elf_address_range (elf, module->bias, &start, &end)
           && build_id_matches (module, elf);
  if (elf != NULL)
    elf_end (elf);
  if (!usable)
    {
      close (fd);
      return FALSE;
    }

  for (layer = 0; layer < self->dwfls->len; layer++)
    if (layer_is_free (self, layer, start, end))
      break;
  if (layer == self->dwfls->len)
    {
      Dwfl *dwfl = new_dwfl (self);

      if (dwfl == NULL)
        {
          close (fd);
          return FALSE;
        }
      dwfl_report_begin_add (dwfl);
    }

  /* The recorded bias is the load bias, so p_vaddr is added to it: right for
   * prelinked libraries too, and ignored for ET_EXEC.  On success the Dwfl
   * owns fd. */
  dwfl_module = dwfl_report_elf (g_ptr_array_index (self->dwfls, layer),
                                 module->path, file, fd, module->bias, true);
  if (dwfl_module == NULL)
    {
      close (fd);
      return FALSE;
    }

  dwfl_module_info (dwfl_module, &userdata, &module->start, &module->end,
                    NULL, NULL, NULL, NULL);
  *userdata = module;
  module->dwfl_module = dwfl_module;
  module->layer = layer;
  module->state = MODULE_SYMBOLS;
  return TRUE;
}

static void
place_pending_modules (HmSymbolizer *self)
{
  if (self->n_placed == self->modules->len)
    return;

  for (guint i = 0; i < self->dwfls->len; i++)
    dwfl_report_begin_add (g_ptr_array_index (self->dwfls, i));

  for (; self->n_placed < self->modules->len; self->n_placed++)
    {
      SymModule *module = g_ptr_array_index (self->modules, self->n_placed);
      g_autofree char *debug_path = NULL;

      /* A relative name ("linux-vdso.so.1", "[vdso]") is no file of ours. */
      if (g_path_is_absolute (module->path) && try_place_module (self, module, module->path))
        continue;
      debug_path = build_id_debug_path (module);
      if (debug_path != NULL && try_place_module (self, module, debug_path))
        continue;

      module->state = MODULE_ONLY;
      module->start = module->recorded_start;
      module->end = module->recorded_end;
    }

  for (guint i = 0; i < self->dwfls->len; i++)
    dwfl_report_end (g_ptr_array_index (self->dwfls, i), NULL, NULL);
}

static SymModule *
find_module (HmSymbolizer *self, guint64 addr)
{
  /* Modules placed with symbols first, then the ones we have no file for;
   * in each, the latest loaded wins an address used twice, as in the model
   * (a stack does not say when it was recorded). */
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = self->modules->len; i > 0; i--)
      {
        SymModule *module = g_ptr_array_index (self->modules, i - 1);
        ModuleState want = pass == 0 ? MODULE_SYMBOLS : MODULE_ONLY;

        if (module->state == want && addr >= module->start && addr < module->end)
          return module;
      }

  return NULL;
}

/* ---- symbol tables ---------------------------------------------------- */

/* libdwfl scans a whole symbol table for each address; a module's function
 * symbols sorted once make every later lookup a binary search. */
typedef struct {
  guint64 start;
  guint64 end;             /* one past the last byte; the next symbol's start for size 0 */
  const char *name;        /* points into the ELF file, alive as long as the Dwfl */
  int rank;                /* among aliases the lowest wins */
} SymbolEntry;

static int
symbol_rank (const GElf_Sym *sym, const char *name)
{
  int rank;

  /* Prefer the public name of an address: global, then weak, then local;
   * among those the one with fewer leading underscores (malloc over
   * __libc_malloc). */
  switch (GELF_ST_BIND (sym->st_info))
    {
    case STB_GLOBAL: rank = 0; break;
    case STB_WEAK: rank = 100; break;
    default: rank = 200; break;
    }
  while (*name == '_')
    {
      rank++;
      name++;
    }
  return rank;
}

static int
compare_symbols (gconstpointer a, gconstpointer b)
{
  const SymbolEntry *x = a, *y = b;

  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  return x->rank - y->rank;
}

static GArray *
build_symbol_table (Dwfl_Module *mod)
{
  GArray *symbols = g_array_new (FALSE, FALSE, sizeof (SymbolEntry));
  int n = dwfl_module_getsymtab (mod);
  guint kept = 0;

  for (int i = 1; i < n; i++)
    {
      GElf_Sym sym;
      GElf_Addr addr;
      GElf_Word shndx;
      const char *name = dwfl_module_getsym_info (mod, i, &sym, &addr, &shndx, NULL, NULL);
      int type = GELF_ST_TYPE (sym.st_info);
      SymbolEntry entry;

      if (name == NULL || name[0] == '\0' || shndx == SHN_UNDEF
          || (type != STT_FUNC && type != STT_GNU_IFUNC))
        continue;
      entry.start = addr;
      entry.end = addr + sym.st_size;
      entry.name = name;
      entry.rank = symbol_rank (&sym, name);
      g_array_append_val (symbols, entry);
    }
  g_array_sort (symbols, compare_symbols);

  /* One entry per address (the best alias); sizeless symbols reach to the
   * next one. */
  for (guint i = 0; i < symbols->len; i++)
    {
      SymbolEntry *entry = &g_array_index (symbols, SymbolEntry, i);

      if (kept > 0 && g_array_index (symbols, SymbolEntry, kept - 1).start == entry->start)
        continue;
      g_array_index (symbols, SymbolEntry, kept++) = *entry;
    }
  g_array_set_size (symbols, kept);
  for (guint i = 0; i < kept; i++)
    {
      SymbolEntry *entry = &g_array_index (symbols, SymbolEntry, i);

      if (entry->end == entry->start)
        entry->end = i + 1 < kept ? g_array_index (symbols, SymbolEntry, i + 1).start
                                  : entry->start + 1;
    }
  return symbols;
}

static const char *
module_symbol (SymModule *module, guint64 addr)
{
  GArray *symbols;
  guint lo = 0, hi;

  if (module->symbols == NULL)
    module->symbols = build_symbol_table (module->dwfl_module);
  symbols = module->symbols;

  /* The last symbol starting at or before addr. */
  hi = symbols->len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (g_array_index (symbols, SymbolEntry, mid).start <= addr)
        lo = mid + 1;
      else
        hi = mid;
    }
  /* A small function inside a bigger one's range (rare) is found by
   * looking back a few entries. */
  for (guint i = lo, tries = 0; i > 0 && tries < 4; i--, tries++)
    {
      const SymbolEntry *entry = &g_array_index (symbols, SymbolEntry, i - 1);

      if (addr < entry->end)
        return entry->name;
    }
  return NULL;
}

/* ---- DWARF: functions of a compilation unit --------------------------- */

/* The address ranges of a CU's out-of-line functions, found by one walk of
 * its top levels (namespaces and classes, never function bodies), so that an
 * address costs a binary search plus a walk of one function's scopes instead
 * of a walk of the whole unit (dwarf_getscopes). */
typedef struct {
  Dwarf_Addr low;
  Dwarf_Addr high;
  Dwarf_Die function;
} FunctionRange;

typedef struct {
  GArray *ranges;          /* FunctionRange, by low */
} CuFunctions;

static void
cu_functions_free (CuFunctions *cu)
{
  g_array_unref (cu->ranges);
  g_free (cu);
}

static int
compare_ranges (gconstpointer a, gconstpointer b)
{
  const FunctionRange *x = a, *y = b;

  return x->low < y->low ? -1 : x->low > y->low;
}

static void
collect_functions (HmSymbolizer *self, Dwarf_Die *parent, GString *scope, GArray *ranges,
                   guint depth)
{
  Dwarf_Die child;

  if (depth > 64 || dwarf_child (parent, &child) != 0)
    return;

  do
    {
      int tag = dwarf_tag (&child);

      if (tag == DW_TAG_subprogram)
        {
          Dwarf_Addr base, start, end;
          ptrdiff_t offset = 0;

          /* Remember the namespaces and classes of each declaration, to
           * name inlined C++ functions that have no linkage name. */
          if (scope->len > 0)
            g_hash_table_insert (self->die_scopes, child.addr,
                                 g_string_chunk_insert_const (self->strings, scope->str));
          while ((offset = dwarf_ranges (&child, offset, &base, &start, &end)) > 0)
            if (start < end)
              {
                FunctionRange range = { start, end, child };
                g_array_append_val (ranges, range);
              }
        }
      else if (tag == DW_TAG_namespace || tag == DW_TAG_class_type
               || tag == DW_TAG_structure_type || tag == DW_TAG_union_type)
        {
          const char *name = dwarf_diename (&child);
          gsize len = scope->len;

          if (name == NULL && tag == DW_TAG_namespace)
            name = "(anonymous namespace)";
          if (name != NULL)
            {
              g_string_append (scope, name);
              g_string_append (scope, "::");
              collect_functions (self, &child, scope, ranges, depth + 1);
              g_string_truncate (scope, len);
            }
        }
    }
  while (dwarf_siblingof (&child, &child) == 0);
}

static CuFunctions *
cu_functions (HmSymbolizer *self, Dwarf_Die *cudie)
{
  CuFunctions *cu = g_hash_table_lookup (self->cu_functions, cudie->addr);
  g_autoptr(GString) scope = NULL;

  if (cu != NULL)
    return cu;

  cu = g_new0 (CuFunctions, 1);
  cu->ranges = g_array_new (FALSE, FALSE, sizeof (FunctionRange));
  scope = g_string_new (NULL);
  collect_functions (self, cudie, scope, cu->ranges, 0);
  g_array_sort (cu->ranges, compare_ranges);
  g_hash_table_insert (self->cu_functions, cudie->addr, cu);
  return cu;
}

static gboolean
find_function (CuFunctions *cu, Dwarf_Addr pc, Dwarf_Die *function)
{
  GArray *ranges = cu->ranges;
  guint lo = 0, hi = ranges->len;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (g_array_index (ranges, FunctionRange, mid).low <= pc)
        lo = mid + 1;
      else
        hi = mid;
    }
  /* Functions do not overlap, except GNU C nested functions: look back a
   * little. */
  for (guint i = lo, tries = 0; i > 0 && tries < 4; i--, tries++)
    {
      FunctionRange *range = &g_array_index (ranges, FunctionRange, i - 1);

      if (pc < range->high)
        {
          *function = range->function;
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
has_pc_attributes (Dwarf_Die *die)
{
  return dwarf_hasattr (die, DW_AT_low_pc) || dwarf_hasattr (die, DW_AT_ranges);
}

/* The inlined call directly under scope (through lexical blocks) that
 * covers pc. */
static gboolean
find_inlined_call (Dwarf_Die *scope, Dwarf_Addr pc, Dwarf_Die *result, guint depth)
{
  Dwarf_Die child;

  if (depth > 256 || dwarf_child (scope, &child) != 0)
    return FALSE;

  do
    {
      switch (dwarf_tag (&child))
        {
        case DW_TAG_inlined_subroutine:
          if (dwarf_haspc (&child, pc) == 1)
            {
              *result = child;
              return TRUE;
            }
          break;
        case DW_TAG_lexical_block:
        case DW_TAG_try_block:
        case DW_TAG_catch_block:
          /* A block without addresses only groups declarations. */
          if ((!has_pc_attributes (&child) || dwarf_haspc (&child, pc) == 1)
              && find_inlined_call (&child, pc, result, depth + 1))
            return TRUE;
          break;
        default:
          break;
        }
    }
  while (dwarf_siblingof (&child, &child) == 0);
  return FALSE;
}

/* ---- names ------------------------------------------------------------ */

static const char *
demangle (HmSymbolizer *self, const char *name)
{
  const char *result;
  char *demangled;
  int status = -1;

  if (name == NULL)
    return NULL;
  /* Names point into mapped ELF and DWARF data, so the same name is
   * usually the same pointer. */
  result = g_hash_table_lookup (self->names, name);
  if (result != NULL)
    return result;

  if (!g_str_has_prefix (name, "_Z"))
    result = g_string_chunk_insert_const (self->strings, name);
  else
    {
      /* elfutils has no demangler and core is C: borrow libstdc++'s when it
       * is on the system, and show mangled names when it is not. */
      if (!self->demangle_looked_up)
        {
          void *handle;

          self->demangle_looked_up = TRUE;
          self->demangle = (DemangleFunc) dlsym (RTLD_DEFAULT, "__cxa_demangle");
          if (self->demangle == NULL
              && (handle = dlopen ("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL)) != NULL)
            self->demangle = (DemangleFunc) dlsym (handle, "__cxa_demangle");
        }
      demangled = self->demangle ? self->demangle (name, NULL, NULL, &status) : NULL;
      result = g_string_chunk_insert_const (self->strings,
                                            status == 0 && demangled ? demangled : name);
      free (demangled);
    }
  g_hash_table_insert (self->names, (gpointer) name, (gpointer) result);
  return result;
}

static const char *
die_linkage_name (Dwarf_Die *die)
{
  Dwarf_Attribute attr_mem;
  Dwarf_Attribute *attr = dwarf_attr_integrate (die, DW_AT_linkage_name, &attr_mem);

  if (attr == NULL)
    attr = dwarf_attr_integrate (die, DW_AT_MIPS_linkage_name, &attr_mem);
  return attr ? dwarf_formstring (attr) : NULL;
}

/* A function without a linkage name (a C++ inline-only or local function)
 * named with the namespaces and classes of its declaration, as a demangled
 * name would be. */
static const char *
qualified_name (HmSymbolizer *self, Dwarf_Die *die, const char *name)
{
  Dwarf_Die decl = *die;
  const char *scope = g_hash_table_lookup (self->die_scopes, decl.addr);
  g_autofree char *qualified = NULL;

  /* An inlined instance or an out-of-line definition points back to the
   * declaration, which sits in its namespace. */
  for (guint hops = 0; hops < 8; hops++)
    {
      Dwarf_Attribute attr_mem;
      Dwarf_Attribute *attr = dwarf_attr (&decl, DW_AT_abstract_origin, &attr_mem);
      const char *decl_scope;

      if (attr == NULL)
        attr = dwarf_attr (&decl, DW_AT_specification, &attr_mem);
      if (attr == NULL || dwarf_formref_die (attr, &decl) == NULL)
        break;
      decl_scope = g_hash_table_lookup (self->die_scopes, decl.addr);
      if (decl_scope != NULL)
        scope = decl_scope;
    }

  if (scope == NULL)
    return g_string_chunk_insert_const (self->strings, name);
  qualified = g_strconcat (scope, name, NULL);
  return g_string_chunk_insert_const (self->strings, qualified);
}

/* The name of a function DIE; for the outermost (not inlined) function the
 * symbol table's name is the fallback. */
static const char *
function_name (HmSymbolizer *self, Dwarf_Die *die, const char *symbol)
{
  const char *name = die_linkage_name (die);

  /* Only a mangled linkage name says more than the plain name: a C one is
   * an asm alias (glibc's __GI_ names). */
  if (name != NULL && g_str_has_prefix (name, "_Z"))
    return demangle (self, name);
  if (symbol != NULL && g_str_has_prefix (symbol, "_Z"))
    return demangle (self, symbol);
  name = dwarf_diename (die);
  if (name != NULL)
    return qualified_name (self, die, name);
  if (symbol != NULL)
    return demangle (self, symbol);
  return UNKNOWN_FUNCTION;
}

/* The call site recorded on an inlined instance: where its caller called. */
static void
call_site (HmSymbolizer *self, Dwarf_Die *inlined, Dwarf_Die *cudie,
           const char **file, int *line)
{
  Dwarf_Attribute attr_mem;
  Dwarf_Word value;
  Dwarf_Files *files;
  size_t n_files;

  *file = NULL;
  *line = 0;

  if (dwarf_formudata (dwarf_attr (inlined, DW_AT_call_line, &attr_mem), &value) == 0)
    *line = (int) MIN (value, (Dwarf_Word) G_MAXINT);

  if (dwarf_formudata (dwarf_attr (inlined, DW_AT_call_file, &attr_mem), &value) == 0
      && dwarf_getsrcfiles (cudie, &files, &n_files) == 0
      && value < n_files)
    {
      const char *name = dwarf_filesrc (files, value, NULL, NULL);

      if (name != NULL)
        *file = g_string_chunk_insert_const (self->strings, name);
    }
}

/* ---- lookup ----------------------------------------------------------- */

static HmFrameInfo
frame_for_module (const SymModule *module, guint64 address)
{
  HmFrameInfo frame = { 0, };

  frame.function = UNKNOWN_FUNCTION;
  frame.address = address;
  if (module != NULL)
    {
      frame.module = module->path;
      frame.module_offset = address - module->bias;
    }
  return frame;
}

/* Appends the frames of lookup_addr (address after the return-address
 * adjustment) in a module with symbols to frames, innermost first. */
static void
resolve_in_module (HmSymbolizer *self,
                   SymModule *module,
                   guint64 address,
                   guint64 lookup_addr,
                   GArray *frames)
{
  Dwfl_Module *mod = module->dwfl_module;
  HmFrameInfo frame = frame_for_module (module, address);
  const char *symbol = module_symbol (module, lookup_addr);
  g_autoptr(GArray) chain = g_array_new (FALSE, FALSE, sizeof (Dwarf_Die));
  Dwarf_Addr bias = 0;
  Dwarf_Die *cudie;
  Dwfl_Line *line;
  const char *file = NULL;
  int lineno = 0;

  line = dwfl_module_getsrc (mod, lookup_addr);
  if (line != NULL)
    {
      const char *name = dwfl_lineinfo (line, NULL, &lineno, NULL, NULL, NULL);

      file = name ? g_string_chunk_insert_const (self->strings, name) : NULL;
      if (file == NULL)
        lineno = 0;
    }

  /* The function, then the inlined calls inside it that cover the address,
   * outermost first. */
  cudie = dwfl_module_addrdie (mod, lookup_addr, &bias);
  if (cudie != NULL)
    {
      Dwarf_Addr pc = lookup_addr - bias;
      Dwarf_Die die;

      if (find_function (cu_functions (self, cudie), pc, &die))
        {
          g_array_append_val (chain, die);
          while (chain->len < 256 && find_inlined_call (&die, pc, &die, 0))
            g_array_append_val (chain, die);
        }
    }

  for (guint i = chain->len; i > 0; i--)
    {
      Dwarf_Die *die = &g_array_index (chain, Dwarf_Die, i - 1);

      frame.inlined = i > 1;
      frame.function = function_name (self, die, frame.inlined ? NULL : symbol);
      frame.file = file;
      frame.line = lineno;
      g_array_append_val (frames, frame);
      /* The caller's position is where this instance was inlined. */
      if (frame.inlined)
        call_site (self, die, cudie, &file, &lineno);
    }

  if (chain->len == 0)
    {
      /* No debug information for the address: the symbol table names it. */
      frame.function = symbol ? demangle (self, symbol) : UNKNOWN_FUNCTION;
      frame.file = file;
      frame.line = lineno;
      frame.inlined = FALSE;
      g_array_append_val (frames, frame);
    }
}

static const HmFrameInfo *
lookup (HmSymbolizer *self, GHashTable *cache, guint64 address, guint64 lookup_addr,
        guint *n_frames)
{
  CacheEntry *entry = g_hash_table_lookup (cache, &address);
  g_autoptr(GArray) frames = NULL;
  SymModule *module;

  if (entry == NULL)
    {
      place_pending_modules (self);
      frames = g_array_sized_new (FALSE, TRUE, sizeof (HmFrameInfo), 2);
      module = find_module (self, lookup_addr);
      if (module != NULL && module->state == MODULE_SYMBOLS)
        resolve_in_module (self, module, address, lookup_addr, frames);
      else
        {
          HmFrameInfo frame = frame_for_module (module, address);
          g_array_append_val (frames, frame);
        }

      entry = g_malloc (sizeof (CacheEntry) + frames->len * sizeof (HmFrameInfo));
      entry->key = address;
      entry->n_frames = frames->len;
      memcpy (entry->frames, frames->data, frames->len * sizeof (HmFrameInfo));
      g_hash_table_insert (cache, &entry->key, entry);
    }

  if (n_frames != NULL)
    *n_frames = entry->n_frames;
  return entry->frames;
}

const HmFrameInfo *
hm_symbolizer_lookup (HmSymbolizer *self, guint64 ip, guint *n_frames)
{
  g_return_val_if_fail (self != NULL, NULL);

  /* A return address points after the call, possibly into the next
   * function or the next line: look up the call instruction instead. */
  return lookup (self, self->ra_cache, ip, ip > 0 ? ip - 1 : 0, n_frames);
}

const HmFrameInfo *
hm_symbolizer_lookup_pc (HmSymbolizer *self, guint64 pc, guint *n_frames)
{
  g_return_val_if_fail (self != NULL, NULL);

  return lookup (self, self->pc_cache, pc, pc, n_frames);
}

GPtrArray *
hm_symbolizer_get_stack (HmSymbolizer *self, guint64 stack)
{
  g_autoptr(GArray) ips = NULL;
  GPtrArray *result;
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (self->model != NULL, NULL);

  sync_model_modules (self);
  result = g_ptr_array_new ();
  ips = hm_heap_model_get_stack_ips (self->model, stack);
  if (ips == NULL)
    return result;

  /* The agent tries not to record its own frames; drop any it left, at
   * the top (its allocation entry points) and below (its wrapper of main):
   * they are never the program's code. */
  for (guint i = 0; i < ips->len; i++)
    {
      guint n_frames;
      const HmFrameInfo *frames = hm_symbolizer_lookup (self, g_array_index (ips, guint64, i), &n_frames);

      if (frames[0].module != NULL && path_is_agent (frames[0].module))
        continue;
      for (guint j = 0; j < n_frames; j++)
        g_ptr_array_add (result, (gpointer) &frames[j]);
    }
  return result;
}

guint
hm_symbolizer_get_n_cached (HmSymbolizer *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return g_hash_table_size (self->ra_cache) + g_hash_table_size (self->pc_cache);
}

/* ---- life cycle ------------------------------------------------------- */

HmSymbolizer *
hm_symbolizer_new (void)
{
  HmSymbolizer *self = g_new0 (HmSymbolizer, 1);

  /* libelf refuses elf_begin() until a version is set; dwfl_begin() would
   * set it, but the modules' files are opened before the first Dwfl. */
  elf_version (EV_CURRENT);

  self->modules = g_ptr_array_new_with_free_func ((GDestroyNotify) sym_module_free);
  self->module_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->dwfls = g_ptr_array_new_with_free_func ((GDestroyNotify) dwfl_end);
  self->ra_cache = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  self->pc_cache = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  self->retired = g_ptr_array_new_with_free_func (g_free);
  self->strings = g_string_chunk_new (4096);
  self->cu_functions = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) cu_functions_free);
  self->die_scopes = g_hash_table_new (NULL, NULL);
  self->names = g_hash_table_new (NULL, NULL);

  /* Offline: files by path or build-id, separate debug info by build-id or
   * debuglink in the standard places; never the network. */
  self->callbacks.find_elf = dwfl_build_id_find_elf;
  self->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
  self->callbacks.section_address = dwfl_offline_section_address;
  self->debuginfo_path = NULL;
  self->callbacks.debuginfo_path = &self->debuginfo_path;
  return self;
}

HmSymbolizer *
hm_symbolizer_new_for_model (HmHeapModel *model)
{
  HmSymbolizer *self;

  g_return_val_if_fail (model != NULL, NULL);

  self = hm_symbolizer_new ();
  self->model = model;
  sync_model_modules (self);
  return self;
}

void
hm_symbolizer_free (HmSymbolizer *self)
{
  if (self == NULL)
    return;

  g_hash_table_unref (self->ra_cache);
  g_hash_table_unref (self->pc_cache);
  g_ptr_array_unref (self->retired);
  g_hash_table_unref (self->cu_functions);
  g_hash_table_unref (self->die_scopes);
  g_hash_table_unref (self->names);
  /* Last: the DIEs and names above point into the Dwfls' files. */
  g_ptr_array_unref (self->dwfls);
  g_hash_table_unref (self->module_keys);
  g_ptr_array_unref (self->modules);
  g_string_chunk_free (self->strings);
  g_free (self);
}
