/* hm-got.c — how an injected agent sees malloc & co.: the GOT entries.
 *
 * hmtrace attach dlopen's the agent into a process started without it.  The
 * program's calls of malloc still go to the C library: each object calls
 * through its GOT (JUMP_SLOT entries of the PLT, GLOB_DAT for -fno-plt code
 * and taken addresses), which the loader filled with libc's addresses.
 * While a debugger is attached, the entries for the functions below are
 * pointed at the agent's, in every loaded object but the loader's and ours
 * (and in objects loaded later: the listener looks every 50 ms, so their
 * first calls may be missed); at the detach the original values are put back, so the program calls the C
 * library directly again, as fast as before.  An entry is rewritten only if
 * it holds libc's own function (or, resolved lazily, the object's PLT
 * stub): a program that brings its own allocator is left alone, as mixing
 * two allocators' blocks would crash it.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hybridmem.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* hm-interpose.c's functions, by names that cannot be interposed */
extern const char *const hm_hook_names[] HM_HIDDEN;
extern void *const hm_hook_functions[] HM_HIDDEN;
extern const unsigned hm_n_hooks HM_HIDDEN;

#define MAX_PATCHES 65536

typedef struct {
  uintptr_t *slot;
  uintptr_t original;
  uintptr_t ours;
} Patch;

static pthread_mutex_t got_lock = PTHREAD_MUTEX_INITIALIZER;
static Patch *patches;
static uint32_t n_patches;
static void *libc_functions[32];
static int libc_known;
static uintptr_t self_base;
static unsigned long long seen_adds = ~0ull, seen_subs = ~0ull;

/* The agent is in the global scope (preloaded, linked) when the main
 * program's handle, which searches exactly that scope, finds its API;
 * dlopen'ed (RTLD_LOCAL, as hmtrace attach loads it), it is not.  Not
 * RTLD_DEFAULT, which searches the caller's own scope too, so it would
 * always find us; and not "is malloc ours": a program may define its own
 * malloc, and the preloaded agent still traces what reaches it. */
bool
hm_got_agent_interposes (void)
{
  void *main_program = dlopen (NULL, RTLD_NOW);
  bool global = main_program != NULL && dlsym (main_program, "hm_init") == (void *) hm_init;
  if (main_program != NULL)
    dlclose (main_program);
  return global;
}

/* libc's own addresses of the hooked functions: what a slot must hold to be
 * ours to rewrite. */
static int
find_libc (void)
{
  if (libc_known)
    return libc_known > 0;
  void *libc = dlopen ("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  libc_known = -1;
  if (libc == NULL)
    return 0;
  for (unsigned i = 0; i < hm_n_hooks && i < 32; i++)
    libc_functions[i] = dlsym (libc, hm_hook_names[i]);
  dlclose (libc);
  /* Another allocator in front of libc's (jemalloc, tcmalloc): leave it. */
  if (libc_functions[0] == NULL || dlsym (RTLD_DEFAULT, "malloc") != libc_functions[0])
    return 0;
  self_base = hm_object_base ((void *) find_libc);
  libc_known = 1;
  return 1;
}

static void
write_slot (uintptr_t *slot, uintptr_t value, uintptr_t relro_start, uintptr_t relro_end)
{
  uintptr_t page_size = (uintptr_t) sysconf (_SC_PAGESIZE);
  uintptr_t page = (uintptr_t) slot & ~(page_size - 1);
  int read_only = (uintptr_t) slot >= relro_start && (uintptr_t) slot < relro_end;

  if (read_only && mprotect ((void *) page, page_size, PROT_READ | PROT_WRITE) != 0)
    return;
  __atomic_store_n (slot, value, __ATOMIC_RELEASE);
  if (read_only)
    mprotect ((void *) page, page_size, PROT_READ);
}

typedef struct {
  int patched;
} PatchRun;

static uintptr_t
dyn_address (ElfW (Addr) value, uintptr_t bias, uintptr_t start, uintptr_t end)
{
  /* glibc relocates the dynamic section's pointers in place; the vdso's and
   * some others' are left as virtual addresses */
  if (value >= start && value < end)
    return value;
  return bias + value;
}

static int
patch_object (struct dl_phdr_info *info, size_t size, void *data)
{
  PatchRun *run = data;
  const char *name = info->dlpi_name ? info->dlpi_name : "";
  const ElfW (Dyn) *dyn = NULL;
  uintptr_t start = UINTPTR_MAX, end = 0, relro_start = 0, relro_end = 0;
  uintptr_t bias = info->dlpi_addr;

  (void) size;
  if (bias == self_base || strstr (name, "linux-vdso") || strstr (name, "linux-gate")
      || strstr (name, "/ld-linux") || strstr (name, "/ld-") || strncmp (name, "ld-linux", 8) == 0)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type == PT_LOAD)
        {
          if (bias + ph->p_vaddr < start)
            start = bias + ph->p_vaddr;
          if (bias + ph->p_vaddr + ph->p_memsz > end)
            end = bias + ph->p_vaddr + ph->p_memsz;
        }
      else if (ph->p_type == PT_DYNAMIC)
        dyn = (const ElfW (Dyn) *) (bias + ph->p_vaddr);
      else if (ph->p_type == PT_GNU_RELRO)
        {
          /* what the loader made read-only: whole pages only, the last
           * partial one stays writable (as _dl_protect_relro rounds) */
          uintptr_t page_size = (uintptr_t) sysconf (_SC_PAGESIZE);
          relro_start = (bias + ph->p_vaddr) & ~(page_size - 1);
          relro_end = (bias + ph->p_vaddr + ph->p_memsz) & ~(page_size - 1);
        }
    }
  if (dyn == NULL || end == 0)
    return 0;

  const ElfW (Sym) *symtab = NULL;
  const char *strtab = NULL;
  const ElfW (Rela) *rela = NULL, *jmprel = NULL;
  size_t rela_size = 0, jmprel_size = 0;
  int plt_is_rela = 1;
  for (const ElfW (Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
    switch (d->d_tag)
      {
      case DT_SYMTAB: symtab = (const void *) dyn_address (d->d_un.d_ptr, bias, start, end); break;
      case DT_STRTAB: strtab = (const void *) dyn_address (d->d_un.d_ptr, bias, start, end); break;
      case DT_RELA: rela = (const void *) dyn_address (d->d_un.d_ptr, bias, start, end); break;
      case DT_RELASZ: rela_size = d->d_un.d_val; break;
      case DT_JMPREL: jmprel = (const void *) dyn_address (d->d_un.d_ptr, bias, start, end); break;
      case DT_PLTRELSZ: jmprel_size = d->d_un.d_val; break;
      case DT_PLTREL: plt_is_rela = d->d_un.d_val == DT_RELA; break;
      default: break;
      }
  if (symtab == NULL || strtab == NULL || !plt_is_rela)
    return 0;

  const ElfW (Rela) *tables[2] = { rela, jmprel };
  size_t sizes[2] = { rela_size, jmprel_size };
  for (int t = 0; t < 2; t++)
    for (size_t i = 0; tables[t] != NULL && i < sizes[t] / sizeof (ElfW (Rela)); i++)
      {
        const ElfW (Rela) *r = &tables[t][i];
        unsigned type = (unsigned) ELF64_R_TYPE (r->r_info);
        if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
          continue;
        const char *symbol = strtab + symtab[ELF64_R_SYM (r->r_info)].st_name;
        for (unsigned h = 0; h < hm_n_hooks; h++)
          {
            if (strcmp (symbol, hm_hook_names[h]) != 0)
              continue;
            uintptr_t *slot = (uintptr_t *) (bias + r->r_offset);
            uintptr_t current = __atomic_load_n (slot, __ATOMIC_ACQUIRE);
            uintptr_t ours = (uintptr_t) hm_hook_functions[h];
            /* libc's function, or a lazy PLT entry not resolved yet */
            if (current == ours || libc_functions[h] == NULL
                || !(current == (uintptr_t) libc_functions[h]
                     || (type == R_X86_64_JUMP_SLOT && current >= start && current < end)))
              break;
            if (n_patches == MAX_PATCHES)
              return 1;
            patches[n_patches++] = (Patch) { slot, current, ours };
            write_slot (slot, ours, relro_start, relro_end);
            run->patched++;
            break;
          }
      }
  return 0;
}

static int
redirect_locked (void)
{
  PatchRun run = { 0 };

  if (!find_libc ())
    return 0;
  if (patches == NULL)
    {
      patches = hm_agent_map (MAX_PATCHES * sizeof *patches);
      if (patches == NULL)
        return 0;
    }
  dl_iterate_phdr (patch_object, &run);
  return run.patched;
}

int
hm_got_redirect (void)
{
  hm_guard++;
  pthread_mutex_lock (&got_lock);
  int n = redirect_locked ();
  pthread_mutex_unlock (&got_lock);
  hm_guard--;
  return n;
}

static int
count_objects (struct dl_phdr_info *info, size_t size, void *data)
{
  unsigned long long *counts = data;
  (void) size;
  counts[0] = info->dlpi_adds;
  counts[1] = info->dlpi_subs;
  return 1;
}

/* Objects loaded since the last look: their entries too, and the trace
 * learns about them (the agent's dlopen is not what the program calls). */
void
hm_got_refresh (void)
{
  unsigned long long counts[2] = { 0, 0 };

  hm_guard++;
  dl_iterate_phdr (count_objects, counts);
  if (counts[0] != seen_adds || counts[1] != seen_subs)
    {
      seen_adds = counts[0];
      seen_subs = counts[1];
      pthread_mutex_lock (&got_lock);
      redirect_locked ();
      pthread_mutex_unlock (&got_lock);
      hm_modules_scan ();
    }
  hm_guard--;
}

/* Whether an unloaded object's slot is still mapped: a dlclose'd object
 * must not be written to. */
typedef struct {
  uintptr_t address;
  int mapped;
  uintptr_t relro_start, relro_end;
} SlotQuery;

static int
find_slot_object (struct dl_phdr_info *info, size_t size, void *data)
{
  SlotQuery *q = data;
  (void) size;
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      uintptr_t s = info->dlpi_addr + ph->p_vaddr;
      if (ph->p_type == PT_LOAD && q->address >= s && q->address < s + ph->p_memsz)
        q->mapped = 1;
      else if (ph->p_type == PT_GNU_RELRO)
        {
          uintptr_t page_size = (uintptr_t) sysconf (_SC_PAGESIZE);
          q->relro_start = s & ~(page_size - 1);
          q->relro_end = (s + ph->p_memsz) & ~(page_size - 1);
        }
    }
  if (q->mapped)
    return 1;
  q->relro_start = q->relro_end = 0;
  return 0;
}

void
hm_got_restore (void)
{
  hm_guard++;
  pthread_mutex_lock (&got_lock);
  for (uint32_t i = n_patches; i > 0; i--)
    {
      Patch *p = &patches[i - 1];
      SlotQuery q = { .address = (uintptr_t) p->slot };
      dl_iterate_phdr (find_slot_object, &q);
      if (q.mapped && __atomic_load_n (p->slot, __ATOMIC_ACQUIRE) == p->ours)
        write_slot (p->slot, p->original, q.relro_start, q.relro_end);
    }
  n_patches = 0;
  seen_adds = seen_subs = ~0ull;
  pthread_mutex_unlock (&got_lock);
  hm_guard--;
}
