/* hm-modules.c — which ELF objects are mapped where, with their build-ids.
 *
 * A trace is symbolised after the process is gone, so every object that was
 * ever loaded goes into it: scanned at start, after each dlopen and before
 * each dlclose (see hm-interpose.c).  dl_iterate_phdr takes the loader's
 * lock, so it is called only from those places — never from a malloc hook
 * and never from the writer, which producers may be waiting on.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"

#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_MODULES 4096

static HmModuleEntry *modules;      /* mmap'd array of MAX_MODULES */
static uint32_t n_modules;
static uint32_t next_id = 1;
static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;

void
hm_modules_lock (void)
{
  pthread_mutex_lock (&modules_lock);
}

void
hm_modules_unlock (void)
{
  pthread_mutex_unlock (&modules_lock);
}

static void
read_build_id (struct dl_phdr_info *info, HmModuleEntry *m)
{
  m->build_id_len = 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type != PT_NOTE)
        continue;
      const uint8_t *p = (const uint8_t *) (info->dlpi_addr + ph->p_vaddr);
      const uint8_t *end = p + ph->p_memsz;
      while (p + sizeof (ElfW (Nhdr)) <= end)
        {
          const ElfW (Nhdr) *n = (const ElfW (Nhdr) *) p;
          const uint8_t *name = p + sizeof *n;
          const uint8_t *desc = name + ((n->n_namesz + 3) & ~3u);
          const uint8_t *next = desc + ((n->n_descsz + 3) & ~3u);
          if (next > end)
            break;
          if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp (name, "GNU", 4) == 0
              && n->n_descsz <= sizeof m->build_id)
            {
              memcpy (m->build_id, desc, n->n_descsz);
              m->build_id_len = n->n_descsz;
              return;
            }
          p = next;
        }
    }
}

static int
scan_one (struct dl_phdr_info *info, size_t size, void *data)
{
  const char *path = info->dlpi_name;
  uintptr_t start = UINTPTR_MAX, end = 0;

  (void) size;
  (void) data;
  if (path == NULL || path[0] == '\0')
    path = hm_agent_exe ();          /* the main program */
  if (strncmp (path, "linux-vdso", 10) == 0 || strncmp (path, "linux-gate", 10) == 0)
    return 0;                        /* no file to symbolise from */

  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type != PT_LOAD)
        continue;
      uintptr_t s = info->dlpi_addr + ph->p_vaddr;
      uintptr_t e = s + ph->p_memsz;
      if (s < start)
        start = s;
      if (e > end)
        end = e;
    }
  if (end == 0)
    return 0;

  for (uint32_t i = 0; i < n_modules; i++)
    {
      HmModuleEntry *m = &modules[i];
      if (m->loaded && m->bias == info->dlpi_addr && m->start == start
          && strncmp (m->path, path, sizeof m->path) == 0)
        {
          m->loaded = 2;             /* still there */
          return 0;
        }
    }
  if (n_modules >= MAX_MODULES)
    return 0;
  HmModuleEntry *m = &modules[n_modules];
  memset (m, 0, sizeof *m);
  m->id = next_id++;
  m->bias = info->dlpi_addr;
  m->start = start;
  m->end = end;
  size_t len = strnlen (path, sizeof m->path - 1);
  memcpy (m->path, path, len);
  m->path[len] = '\0';
  read_build_id (info, m);
  m->loaded = 2;
  n_modules++;
  return 0;
}

/* Finds what was loaded and unloaded since the last scan. */
void
hm_modules_scan (void)
{
  hm_guard++;
  pthread_mutex_lock (&modules_lock);
  if (modules == NULL)
    {
      void *p = mmap (NULL, sizeof (HmModuleEntry) * MAX_MODULES, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED)
        goto out;
      modules = p;
    }
  dl_iterate_phdr (scan_one, NULL);
  for (uint32_t i = 0; i < n_modules; i++)
    {
      HmModuleEntry *m = &modules[i];
      /* 2: seen in this scan; 1: loaded before and not seen now: unloaded. */
      m->loaded = m->loaded == 2 ? 1 : 0;
    }
out:
  pthread_mutex_unlock (&modules_lock);
  hm_guard--;
}

void
hm_modules_forget_emitted (void)
{
  pthread_mutex_lock (&modules_lock);
  for (uint32_t i = 0; i < n_modules; i++)
    {
      HmModuleEntry *m = &modules[i];
      /* what is gone stays out of the new trace */
      m->emitted_load = m->emitted_unload = !m->loaded;
    }
  pthread_mutex_unlock (&modules_lock);
}

void
hm_modules_drain (void (*fn) (const HmModuleEntry *m, int unload, void *data), void *data)
{
  hm_modules_drain_locked (fn, data, 1);
}

/* With may_wait 0 (a fatal signal's handler), gives up if the lock is busy. */
void
hm_modules_drain_locked (void (*fn) (const HmModuleEntry *m, int unload, void *data), void *data,
                         int may_wait)
{
  if (may_wait)
    pthread_mutex_lock (&modules_lock);
  else if (pthread_mutex_trylock (&modules_lock) != 0)
    return;
  for (uint32_t i = 0; i < n_modules; i++)
    {
      HmModuleEntry *m = &modules[i];
      if (!m->emitted_load)
        {
          fn (m, 0, data);
          m->emitted_load = 1;
        }
      if (!m->loaded && !m->emitted_unload)
        {
          fn (m, 1, data);
          m->emitted_unload = 1;
        }
    }
  pthread_mutex_unlock (&modules_lock);
}
