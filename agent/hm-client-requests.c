/* hm-client-requests.c — Valgrind client requests in unmodified binaries.
 *
 * valgrind.h's VALGRIND_MALLOCLIKE_BLOCK & co. compile to a no-op on a real
 * CPU: on amd64 the preamble `rolq $3,%rdi; rolq $13,%rdi; rolq $61,%rdi;
 * rolq $51,%rdi` (the rotations add up to 128: %rdi is unchanged) and
 * `xchgq %rbx,%rbx`, with the request block's address in %rax and the
 * default result already in %rdx.  When tracing starts, and after every
 * dlopen, we scan the executable segments of the loaded objects for that
 * exact 19-byte sequence and turn the xchg's first byte into int3.  The
 * SIGTRAP handler finds the site in our table, records the request, and
 * resumes after the xchg: %rdx keeps the default, as natively.
 *
 * What it costs: nothing per request until a program makes one; then one
 * trap and signal return per request (a few microseconds, see
 * tests/bench/bench-allocators.sh).  Never scanned nor patched: the agent
 * and its libraries, the loader, the C library's objects, the vdso
 * (skip_object); a page that cannot be made writable; more sites than the
 * table holds; anything when the agent was injected by an attach.  A
 * SIGTRAP that is not at one of our sites goes to the
 * handler the program had (or to the default action).  If the program
 * installs its own SIGTRAP handler later, sigaction() keeps ours in front
 * and chains to theirs.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"

#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static const uint8_t preamble[16] = {
  0x48, 0xc1, 0xc7, 0x03, 0x48, 0xc1, 0xc7, 0x0d,
  0x48, 0xc1, 0xc7, 0x3d, 0x48, 0xc1, 0xc7, 0x33,
};
static const uint8_t client_request[3] = { 0x48, 0x87, 0xdb };  /* xchgq %rbx,%rbx */

/* Patched sites: an insert-only open-addressing set, read by the handler
 * without a lock (a slot is written once, atomically). */
#define SITE_SLOTS 8192u
#define MAX_SITES (SITE_SLOTS / 2)
static uintptr_t sites[SITE_SLOTS];
static unsigned n_sites;

/* Objects already scanned, by the address of their first loaded byte. */
#define MAX_OBJECTS 1024u
static uintptr_t scanned[MAX_OBJECTS];
static unsigned n_scanned;

static pthread_mutex_t patch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction program_trap;   /* what the program wants for SIGTRAP */
static int handler_installed;

enum {
  VG_MALLOCLIKE_BLOCK = 0x1301,
  VG_FREELIKE_BLOCK = 0x1302,
  VG_CREATE_MEMPOOL = 0x1303,
  VG_DESTROY_MEMPOOL = 0x1304,
  VG_MEMPOOL_ALLOC = 0x1305,
  VG_MEMPOOL_FREE = 0x1306,
  VG_RESIZEINPLACE_BLOCK = 0x130b,
};

static inline unsigned
site_slot (uintptr_t site)
{
  return (unsigned) ((site * 0x9e3779b97f4a7c15ull) >> 51) & (SITE_SLOTS - 1);
}

static bool
is_site (uintptr_t site)
{
  for (unsigned i = site_slot (site), n = 0; n < SITE_SLOTS; i = (i + 1) & (SITE_SLOTS - 1), n++)
    {
      uintptr_t s = __atomic_load_n (&sites[i], __ATOMIC_ACQUIRE);
      if (s == site)
        return true;
      if (s == 0)
        return false;
    }
  return false;
}

static void
add_site (uintptr_t site)
{
  unsigned i = site_slot (site);
  while (sites[i] != 0)
    i = (i + 1) & (SITE_SLOTS - 1);
  __atomic_store_n (&sites[i], site, __ATOMIC_RELEASE);
  n_sites++;
}

/* One request, as memcheck reads it: args[0] the code, then up to five
 * arguments.  Events only; what the program gets back is the default. */
static void
record_request (const uintptr_t *args, void *context)
{
  if (!hm_agent.tracing || hm_guard != 0 || args == NULL)
    return;
  hm_guard++;
  switch (args[0])
    {
    case VG_MALLOCLIKE_BLOCK:         /* addr, size, redzone, zeroed */
      if (args[1] != 0)
        hm_emit_alloc_fn (HM_FN_VG_MALLOCLIKE, args[1], args[2], hm_stack_capture_context (context));
      break;
    case VG_FREELIKE_BLOCK:           /* addr, redzone */
      if (args[1] != 0)
        hm_emit_free (HM_FN_VG_FREELIKE, args[1]);
      break;
    case VG_RESIZEINPLACE_BLOCK:      /* addr, old size, new size, redzone */
      hm_emit_realloc_fn (HM_FN_VG_RESIZEINPLACE, hm_tsc (), args[1], 0, args[1], args[3],
                          hm_stack_capture_context (context));
      break;
    case VG_CREATE_MEMPOOL:           /* pool, redzone, zeroed[, flags] */
      hm_emit_mempool (HM_MEMPOOL_CREATE, args[1], 0, 0, hm_stack_capture_context (context));
      break;
    case VG_DESTROY_MEMPOOL:          /* pool */
      hm_emit_mempool (HM_MEMPOOL_DESTROY, args[1], 0, 0, 0);
      break;
    case VG_MEMPOOL_ALLOC:            /* pool, addr, size */
      hm_emit_mempool (HM_MEMPOOL_ALLOC, args[1], args[2], args[3], hm_stack_capture_context (context));
      break;
    case VG_MEMPOOL_FREE:             /* pool, addr */
      hm_emit_mempool (HM_MEMPOOL_FREE, args[1], args[2], 0, 0);
      break;
    default:
      break;
    }
  hm_guard--;
}

static void
trap_handler (int signal_number, siginfo_t *info, void *context)
{
  ucontext_t *uc = context;
  uintptr_t site = (uintptr_t) uc->uc_mcontext.gregs[REG_RIP] - 1;

  if (is_site (site))
    {
      int saved_errno = errno;
      /* recorded first: the stack is unwound from the trap's pc */
      record_request ((const uintptr_t *) uc->uc_mcontext.gregs[REG_RAX], context);
      uc->uc_mcontext.gregs[REG_RIP] = (greg_t) (site + sizeof client_request);
      errno = saved_errno;
      return;
    }
  /* not ours: what the program asked for */
  if (program_trap.sa_flags & SA_SIGINFO)
    {
      if (program_trap.sa_sigaction != NULL)
        program_trap.sa_sigaction (signal_number, info, context);
      return;
    }
  if (program_trap.sa_handler == SIG_IGN)
    return;
  if (program_trap.sa_handler != SIG_DFL && program_trap.sa_handler != NULL)
    {
      program_trap.sa_handler (signal_number);
      return;
    }
  /* the default action, once we return: a core dump at this trap */
  signal (SIGTRAP, SIG_DFL);
  raise (SIGTRAP);
}

static bool
install_handler (void)
{
  struct sigaction sa;
  if (handler_installed)
    return true;
  memset (&sa, 0, sizeof sa);
  sa.sa_sigaction = trap_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset (&sa.sa_mask);
  if (sigaction (SIGTRAP, NULL, &program_trap) != 0)
    return false;
  if (sigaction (SIGTRAP, &sa, NULL) != 0)
    return false;
  handler_installed = 1;
  return true;
}

/* Patches the sequences in [start, end) of a mapped executable segment. */
static void
patch_range (uint8_t *start, uint8_t *end, int prot)
{
  long page = sysconf (_SC_PAGESIZE);
  uint8_t *p = start;

  while (end - p >= (ptrdiff_t) (sizeof preamble + sizeof client_request))
    {
      uint8_t *hit = memmem (p, (size_t) (end - p), preamble, sizeof preamble);
      if (hit == NULL || end - hit < (ptrdiff_t) (sizeof preamble + sizeof client_request))
        break;
      p = hit + 1;
      uint8_t *xchg = hit + sizeof preamble;
      if (memcmp (xchg, client_request, sizeof client_request) != 0 || n_sites >= MAX_SITES)
        continue;
      if (!install_handler ())
        return;
      uintptr_t first = (uintptr_t) xchg & ~(uintptr_t) (page - 1);
      if (mprotect ((void *) first, (size_t) page, prot | PROT_WRITE) != 0)
        continue;   /* leave it be */
      add_site ((uintptr_t) xchg);
      /* one byte: a thread executing here sees the old or the new byte */
      __atomic_store_n (xchg, 0xcc, __ATOMIC_RELEASE);
      mprotect ((void *) first, (size_t) page, prot);
      __builtin___clear_cache ((char *) xchg, (char *) xchg + 1);
    }
}

/* Objects that never hold a client request: the agent and what it loads
 * (libunwind, its liblzma, libm), the loader, the vdso, and the C
 * library's own objects.  The scan reads every byte of an object's code,
 * faulting its pages in: libm's alone was half of the agent's start. */
static bool
skip_object (const struct dl_phdr_info *info)
{
  static const char *const system[] = {
    "libhybridmem", "ld-linux", "linux-vdso", "libc", "libm", "libmvec", "libpthread", "libdl",
    "librt", "libresolv", "libutil", "libanl", "libunwind", "liblzma",
  };
  const char *name = info->dlpi_name;
  if (name == NULL || *name == '\0')
    return false;   /* the executable */
  const char *slash = strrchr (name, '/');
  const char *base = slash != NULL ? slash + 1 : name;
  if (strncmp (base, "libnss_", 7) == 0)
    return true;
  for (size_t i = 0; i < sizeof system / sizeof system[0]; i++)
    {
      size_t n = strlen (system[i]);
      /* libm.so.6, libc-2.31.so, libunwind.so.8; not libcrypto nor libmagic */
      if (strncmp (base, system[i], n) == 0 && (base[n] == '.' || base[n] == '-'))
        return true;
    }
  return false;
}

static int
scan_object (struct dl_phdr_info *info, size_t size, void *data)
{
  uintptr_t key = 0;
  (void) size;
  (void) data;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_LOAD)
      {
        key = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
        break;
      }
  if (key == 0 || skip_object (info))
    return 0;
  for (unsigned i = 0; i < n_scanned; i++)
    if (scanned[i] == key)
      return 0;
  if (n_scanned < MAX_OBJECTS)
    scanned[n_scanned++] = key;
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
        continue;
      int prot = PROT_EXEC | ((ph->p_flags & PF_R) ? PROT_READ : 0);
      if (!(prot & PROT_READ))
        continue;   /* execute-only: we cannot read it */
      uint8_t *start = (uint8_t *) (info->dlpi_addr + ph->p_vaddr);
      patch_range (start, start + ph->p_memsz, prot);
    }
  return 0;
}

/* Scans the objects loaded since the last call; tracing only. */
void
hm_client_requests_scan (void)
{
  int on = 1;
  /* injected by an attach, our sigaction() is not the program's: a SIGTRAP
   * handler it installed later would meet our traps; leave the code alone */
  if (!hm_agent.tracing || hm_agent.injected
      || (hm_parse_bool (getenv ("HM_CLIENT_REQUESTS"), &on) && !on))
    return;
  hm_guard++;
  pthread_mutex_lock (&patch_lock);
  dl_iterate_phdr (scan_object, NULL);
  pthread_mutex_unlock (&patch_lock);
  hm_guard--;
}

/* fork: the forking thread holds the lock across it (hm-agent.c). */
void
hm_client_requests_fork_lock (void)
{
  pthread_mutex_lock (&patch_lock);
}

void
hm_client_requests_fork_unlock (void)
{
  pthread_mutex_unlock (&patch_lock);
}

/* The program sets SIGTRAP's action: we stay in front and chain to it. */
HM_EXPORT int
sigaction (int signal_number, const struct sigaction *act, struct sigaction *old)
{
  static int (*real) (int, const struct sigaction *, struct sigaction *);
  if (real == NULL)
    real = hm_next_symbol ("sigaction");
  if (real == NULL)
    {
      errno = ENOSYS;
      return -1;
    }
  if (signal_number != SIGTRAP || !__atomic_load_n (&handler_installed, __ATOMIC_ACQUIRE)
      || hm_guard != 0)
    return real (signal_number, act, old);
  if (old != NULL)
    *old = program_trap;
  if (act != NULL)
    program_trap = *act;
  return 0;
}

HM_EXPORT sighandler_t
signal (int signal_number, sighandler_t handler)
{
  static sighandler_t (*real) (int, sighandler_t);
  if (signal_number == SIGTRAP && __atomic_load_n (&handler_installed, __ATOMIC_ACQUIRE)
      && hm_guard == 0)
    {
      sighandler_t old = (program_trap.sa_flags & SA_SIGINFO) ? SIG_DFL : program_trap.sa_handler;
      memset (&program_trap, 0, sizeof program_trap);
      program_trap.sa_handler = handler;
      return old;
    }
  if (real == NULL)
    real = hm_next_symbol ("signal");
  if (real == NULL)
    {
      errno = ENOSYS;
      return SIG_ERR;
    }
  return real (signal_number, handler);
}
