/* hm-injector.c — puts the agent into a process started without it.
 *
 * Under ptrace, the process's main thread is stopped at a point where it
 * holds no lock of the C library's (in a system call, or in the program's
 * own code), made to call dlopen(agent, RTLD_NOW) — glibc 2.34 and later
 * export dlopen from libc.so.6; its address is libc's load address plus the
 * symbol's value in libc's dynamic symbol table — and returns into address 0,
 * whose fault we catch.  Its registers (general and extended state) are put
 * back and it is released where it was.  The agent's constructor sees it was
 * dlopen'ed, listens on its socket, and rewrites GOT entries only while a
 * debugger is attached (agent/hm-got.c).
 *
 * Every failure leaves the process running: nothing is changed before the
 * last check, and once it is stopped, every path out restores and detaches.
 */
#define _GNU_SOURCE
#include "hm-attach.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

#define SAFE_POINT_TRIES 500   /* of 2 ms each: a main thread always in libc fails */
#define CALL_TIMEOUT_MS 10000

typedef struct {
  guint64 start, end;
  char *path;
} Mapping;

static void
mapping_clear (gpointer data)
{
  g_free (((Mapping *) data)->path);
}

/* Executable mappings of the loader and libc (where the thread must not be
 * stopped), and libc's load address. */
typedef struct {
  GArray *unsafe;           /* of Mapping */
  char *libc_path;
  guint64 libc_base;        /* the lowest address of libc's file */
  gboolean agent_loaded;
} TargetMaps;

static void
target_maps_clear (TargetMaps *maps)
{
  g_clear_pointer (&maps->unsafe, g_array_unref);
  g_clear_pointer (&maps->libc_path, g_free);
}

static gboolean
is_libc (const char *base)
{
  return g_str_has_prefix (base, "libc.so") || g_str_has_prefix (base, "libc-2.");
}

static gboolean
read_maps (int pid, TargetMaps *maps, GError **error)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/maps", pid);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  maps->unsafe = g_array_new (FALSE, TRUE, sizeof (Mapping));
  g_array_set_clear_func (maps->unsafe, mapping_clear);
  g_autoptr(GError) read_error = NULL;
  if (!g_file_get_contents (path, &contents, NULL, &read_error))
    {
      if (g_error_matches (read_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_EXITED,
                     _("process %d exited during the attach"), pid);
      else
        g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_PTRACE_DENIED,
                     _("cannot read the memory map of process %d: %s"), pid, read_error->message);
      return FALSE;
    }
  lines = g_strsplit (contents, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    {
      guint64 start, end, offset;
      char perms[8], file[4096] = "";
      if (sscanf (*l, "%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x %7s %" G_GINT64_MODIFIER
                  "x %*s %*s %4095[^\n]", &start, &end, perms, &offset, file) < 4)
        continue;
      g_autofree char *base = g_path_get_basename (file);
      if (file[0] != '/')
        continue;
      if (strstr (base, "libhybridmem"))
        maps->agent_loaded = TRUE;
      gboolean libc = is_libc (base);
      gboolean loader = g_str_has_prefix (base, "ld-linux") || g_str_has_prefix (base, "ld-2.");
      if (libc && (maps->libc_path == NULL || start < maps->libc_base))
        {
          if (maps->libc_path == NULL)
            maps->libc_path = g_strdup (file);
          maps->libc_base = start;
        }
      if ((libc || loader) && strchr (perms, 'x'))
        {
          Mapping m = { start, end, g_strdup (file) };
          g_array_append_val (maps->unsafe, m);
        }
    }
  return TRUE;
}

/* dlopen's address in libc's file (its symbol value; libc is position
 * independent, so the address in the process is the load address plus it). */
static guint64
find_symbol (int pid, const char *libc_path, const char *name)
{
  /* through the process's root, in case it lives in another mount namespace */
  g_autofree char *path = g_strdup_printf ("/proc/%d/root%s", pid, libc_path);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  guint64 value = 0;

  if (fd < 0)
    fd = open (libc_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  elf_version (EV_CURRENT);
  Elf *elf = elf_begin (fd, ELF_C_READ, NULL);
  Elf_Scn *scn = NULL;
  while (elf != NULL && value == 0 && (scn = elf_nextscn (elf, scn)) != NULL)
    {
      GElf_Shdr shdr;
      if (gelf_getshdr (scn, &shdr) == NULL || shdr.sh_type != SHT_DYNSYM || shdr.sh_entsize == 0)
        continue;
      Elf_Data *data = elf_getdata (scn, NULL);
      for (size_t i = 0; data != NULL && i < shdr.sh_size / shdr.sh_entsize; i++)
        {
          GElf_Sym sym;
          if (gelf_getsym (data, (int) i, &sym) == NULL || sym.st_value == 0
              || GELF_ST_TYPE (sym.st_info) != STT_FUNC)
            continue;
          const char *n = elf_strptr (elf, shdr.sh_link, sym.st_name);
          if (n != NULL && strcmp (n, name) == 0)
            {
              value = sym.st_value;
              break;
            }
        }
    }
  if (elf != NULL)
    elf_end (elf);
  close (fd);
  return value;
}

/* A program with no interpreter is static: there is no dlopen to call. */
static gboolean
is_static (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/exe", pid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  gboolean has_interp = FALSE;
  Elf64_Ehdr eh;

  if (fd < 0)
    return FALSE;
  if (pread (fd, &eh, sizeof eh, 0) == (ssize_t) sizeof eh && memcmp (eh.e_ident, ELFMAG, SELFMAG) == 0
      && eh.e_ident[EI_CLASS] == ELFCLASS64)
    {
      for (int i = 0; i < eh.e_phnum && i < 256; i++)
        {
          Elf64_Phdr ph;
          if (pread (fd, &ph, sizeof ph, (off_t) (eh.e_phoff + (Elf64_Off) i * eh.e_phentsize))
              != (ssize_t) sizeof ph)
            break;
          if (ph.p_type == PT_INTERP)
            has_interp = TRUE;
        }
    }
  else
    has_interp = TRUE;   /* not ELF64: not ours to judge here */
  close (fd);
  return !has_interp;
}

static char *
status_field (const char *status, const char *field)
{
  g_autofree char *key = g_strdup_printf ("\n%s:", field);
  const char *p = strstr (status, key);
  if (p == NULL)
    return NULL;
  p += strlen (key);
  while (*p == ' ' || *p == '\t')
    p++;
  return g_strndup (p, strcspn (p, "\n"));
}

static void
set_ptrace_denied (GError **error, int pid)
{
  g_autofree char *scope = NULL;
  if (g_file_get_contents ("/proc/sys/kernel/yama/ptrace_scope", &scope, NULL, NULL))
    {
      int level = atoi (scope);
      if (level == 3)
        {
          g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_PTRACE_DENIED,
                       _("ptrace is not permitted on process %d: kernel.yama.ptrace_scope is 3 "
                         "(no ptrace at all until reboot); start the program with "
                         "LD_PRELOAD=libhybridmem.so to attach later without ptrace"), pid);
          return;
        }
      if (level >= 1)
        {
          g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_PTRACE_DENIED,
                       _("ptrace is not permitted on process %d: kernel.yama.ptrace_scope is %d; "
                         "allow it with “sudo sysctl kernel.yama.ptrace_scope=0”, or start the "
                         "program with LD_PRELOAD=libhybridmem.so to attach without ptrace"),
                       pid, level);
          return;
        }
    }
  g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_PTRACE_DENIED,
               _("ptrace is not permitted on process %d (a container without CAP_SYS_PTRACE, "
                 "or a seccomp policy, forbids it); start the program with "
                 "LD_PRELOAD=libhybridmem.so to attach without ptrace"), pid);
}

/* Everything checked before the process is touched. */
static gboolean
preflight (int pid, TargetMaps *maps, guint64 *dlopen_address, GError **error)
{
  g_autofree char *status_path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *status = NULL;

  if (!hm_attach_check_process (pid, error))
    return FALSE;
  if (!g_file_get_contents (status_path, &status, NULL, NULL))
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_EXITED,
                   _("process %d exited during the attach"), pid);
      return FALSE;
    }
  g_autofree char *tracer = status_field (status, "TracerPid");
  g_autofree char *state = status_field (status, "State");
  if (tracer != NULL && atoi (tracer) != 0)
    {
      g_autofree char *comm_path = g_strdup_printf ("/proc/%d/comm", atoi (tracer));
      g_autofree char *comm = NULL;
      if (g_file_get_contents (comm_path, &comm, NULL, NULL))
        g_strchomp (comm);
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_TRACED,
                   _("process %d is already traced by process %d (%s); detach that debugger "
                     "first"), pid, atoi (tracer), comm ? comm : "?");
      return FALSE;
    }
  if (state != NULL && (state[0] == 'T' || state[0] == 't'))
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_STOPPED,
                   _("process %d is stopped (%s); continue it first (kill -CONT %d)"), pid,
                   state, pid);
      return FALSE;
    }
  if (state != NULL && (state[0] == 'Z' || state[0] == 'X'))
    {
      g_autofree char *threads = status_field (status, "Threads");
      if (threads != NULL && atoi (threads) > 1)
        g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED,
                     _("the main thread of process %d has exited (its other threads run on): the "
                       "agent is loaded through the main thread, so it cannot be injected; start "
                       "the program with LD_PRELOAD=libhybridmem.so to attach later"), pid);
      else
        g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_EXITED, _("process %d has exited"),
                     pid);
      return FALSE;
    }
  if (is_static (pid))
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_STATIC,
                   _("process %d is statically linked: the agent cannot be loaded into it "
                     "(link it dynamically, or link libhybridmem into it)"), pid);
      return FALSE;
    }
  if (!read_maps (pid, maps, error))
    return FALSE;
  if (maps->agent_loaded)
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_AGENT_BUSY,
                   _("process %d has the hybridmem agent but it does not listen: it traces "
                     "to a file already, or was started with HM_LISTEN=0"), pid);
      return FALSE;
    }
  if (maps->libc_path == NULL)
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED,
                   _("process %d does not use the GNU C library (no libc.so.6 in its maps)"), pid);
      return FALSE;
    }
  guint64 value = find_symbol (pid, maps->libc_path, "dlopen");
  if (value == 0)
    value = find_symbol (pid, maps->libc_path, "__libc_dlopen_mode");  /* glibc < 2.34 */
  if (value == 0)
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED,
                   _("no dlopen in %s, the C library of process %d"), maps->libc_path, pid);
      return FALSE;
    }
  *dlopen_address = maps->libc_base + value;
  return TRUE;
}

/* Waits for the next stop of pid; FALSE (with the error set) when it exited. */
static gboolean
wait_stop (int pid, int *status, GError **error)
{
  for (;;)
    {
      pid_t r = waitpid (pid, status, __WALL);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 || WIFEXITED (*status) || WIFSIGNALED (*status))
        {
          g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_EXITED,
                       _("process %d exited during the attach"), pid);
          return FALSE;
        }
      return TRUE;
    }
}

static gboolean
in_unsafe_code (const TargetMaps *maps, guint64 ip)
{
  for (guint i = 0; i < maps->unsafe->len; i++)
    {
      const Mapping *m = &g_array_index (maps->unsafe, Mapping, i);
      if (ip >= m->start && ip < m->end)
        return TRUE;
    }
  return FALSE;
}

/* In a system call the thread holds no lock of malloc's — unless malloc
 * itself is asking the kernel for memory, or the loader is at work; in
 * user code it holds none if it is not in libc or the loader. */
static gboolean
safe_point (const TargetMaps *maps, const struct user_regs_struct *regs)
{
  long long nr = (long long) regs->orig_rax;

  if (nr < 0)
    return !in_unsafe_code (maps, regs->rip);
  switch (nr)
    {
    case 9:  /* mmap */
    case 10: /* mprotect */
    case 11: /* munmap */
    case 12: /* brk */
    case 25: /* mremap */
    case 28: /* madvise */
      return FALSE;
    default:
      break;
    }
  for (guint i = 0; i < maps->unsafe->len; i++)
    {
      const Mapping *m = &g_array_index (maps->unsafe, Mapping, i);
      g_autofree char *base = g_path_get_basename (m->path);
      if (regs->rip >= m->start && regs->rip < m->end && !is_libc (base))
        return FALSE;  /* the loader, in a system call of dlopen's */
    }
  return TRUE;
}

typedef struct {
  struct user_regs_struct regs;
  guint8 xstate[16384] __attribute__ ((aligned (64)));
  size_t xstate_size;
  gboolean have_xstate;
  struct user_fpregs_struct fpregs;
} SavedState;

static void
save_state (int pid, SavedState *s)
{
  struct iovec iov = { s->xstate, sizeof s->xstate };
  ptrace (PTRACE_GETREGS, pid, NULL, &s->regs);
  s->have_xstate = ptrace (PTRACE_GETREGSET, pid, (void *) NT_X86_XSTATE, &iov) == 0;
  s->xstate_size = iov.iov_len;
  if (!s->have_xstate)
    ptrace (PTRACE_GETFPREGS, pid, NULL, &s->fpregs);
}

static void
restore_state (int pid, SavedState *s)
{
  if (s->have_xstate)
    {
      struct iovec iov = { s->xstate, s->xstate_size };
      ptrace (PTRACE_SETREGSET, pid, (void *) NT_X86_XSTATE, &iov);
    }
  else
    ptrace (PTRACE_SETFPREGS, pid, NULL, &s->fpregs);
  ptrace (PTRACE_SETREGS, pid, NULL, &s->regs);
}

/* Stops the main thread somewhere dlopen may be called from: in a system
 * call, or outside the C library and the loader (not holding malloc's or the
 * loader's lock).  Returns with it stopped and its state in saved. */
static gboolean
stop_at_safe_point (int pid, const TargetMaps *maps, SavedState *saved, GError **error)
{
  int status;

  for (int attempt = 0; attempt < SAFE_POINT_TRIES; attempt++)
    {
      if (ptrace (PTRACE_INTERRUPT, pid, NULL, NULL) != 0 || !wait_stop (pid, &status, error))
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_EXITED,
                         _("process %d exited during the attach"), pid);
          return FALSE;
        }
      /* a signal arrived instead of our interrupt: let it through */
      if (status >> 16 != PTRACE_EVENT_STOP)
        {
          ptrace (PTRACE_CONT, pid, NULL, (void *) (long) WSTOPSIG (status));
          continue;
        }
      save_state (pid, saved);
      if (safe_point (maps, &saved->regs))
        return TRUE;
      ptrace (PTRACE_CONT, pid, NULL, NULL);
      g_usleep (2000);
    }
  g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED,
               _("the main thread of process %d stayed inside the C library for a second; "
                 "try again"), pid);
  return FALSE;
}

static gboolean
write_memory (int pid, guint64 address, const void *bytes, size_t size)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/mem", pid);
  int fd = open (path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  gboolean ok = pwrite (fd, bytes, size, (off_t) address) == (ssize_t) size;
  close (fd);
  return ok;
}

/* Calls dlopen(agent_path, RTLD_NOW) on the stopped main thread; the
 * handle, or 0. */
static gboolean
call_dlopen (int pid, guint64 dlopen_address, const char *agent_path, const SavedState *saved,
             guint64 *handle, GError **error)
{
  struct user_regs_struct regs = saved->regs;
  size_t len = strlen (agent_path) + 1;
  /* below the red zone, the path, then the return address 0 */
  guint64 text = (saved->regs.rsp - 128 - 256 - len) & ~(guint64) 15;
  guint64 call_rsp = text - 16;
  guint64 zero = 0;
  int status;
  gint64 deadline = g_get_monotonic_time () + CALL_TIMEOUT_MS * 1000;

  if (!write_memory (pid, text, agent_path, len) || !write_memory (pid, call_rsp - 8, &zero, 8))
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED,
                   _("cannot write into the memory of process %d"), pid);
      return FALSE;
    }
  regs.rsp = call_rsp - 8;
  regs.rip = dlopen_address;
  regs.rdi = text;
  regs.rsi = 2;             /* RTLD_NOW */
  regs.rax = 0;
  regs.orig_rax = (guint64) -1;   /* no system call to restart on the way */
  if (ptrace (PTRACE_SETREGS, pid, NULL, &regs) != 0 || ptrace (PTRACE_CONT, pid, NULL, NULL) != 0)
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED,
                   _("cannot set the registers of process %d: %s"), pid, g_strerror (errno));
      return FALSE;
    }
  for (;;)
    {
      if (!wait_stop (pid, &status, error))
        return FALSE;
      struct user_regs_struct now;
      ptrace (PTRACE_GETREGS, pid, NULL, &now);
      if (WSTOPSIG (status) == SIGSEGV && status >> 16 == 0 && now.rip == 0)
        {
          *handle = now.rax;
          return TRUE;
        }
      if (status >> 16 == 0 && (WSTOPSIG (status) == SIGSEGV || WSTOPSIG (status) == SIGBUS
                                || WSTOPSIG (status) == SIGILL))
        {
          g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED,
                       _("loading the agent faulted inside process %d (signal %d at %#llx)"), pid,
                       WSTOPSIG (status), (unsigned long long) now.rip);
          return FALSE;
        }
      /* Checked at stops only: a dlopen that never returns is not cut
       * short, since the process would then return into address 0 the
       * moment it did. */
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED,
                       _("loading the agent into process %d did not finish in %d s"), pid,
                       CALL_TIMEOUT_MS / 1000);
          return FALSE;
        }
      /* another signal for the program, or a group stop: let it be */
      int sig = status >> 16 == 0 ? WSTOPSIG (status) : 0;
      ptrace (PTRACE_CONT, pid, NULL, (void *) (long) sig);
    }
}

gboolean
hm_attach_inject (int pid, const char *agent_path, GError **error)
{
  TargetMaps maps = { 0 };
  g_autofree SavedState *saved = g_new0 (SavedState, 1);
  guint64 dlopen_address = 0, handle = 0;
  gboolean ok;

  g_return_val_if_fail (agent_path != NULL && agent_path[0] == '/', FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!preflight (pid, &maps, &dlopen_address, error))
    {
      target_maps_clear (&maps);
      return FALSE;
    }
  if (ptrace (PTRACE_SEIZE, pid, NULL, NULL) != 0)
    {
      int saved_errno = errno;
      target_maps_clear (&maps);
      if (saved_errno == ESRCH)
        g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_EXITED,
                     _("process %d exited during the attach"), pid);
      else if (saved_errno == EPERM)
        set_ptrace_denied (error, pid);
      else
        g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED,
                     _("cannot ptrace process %d: %s"), pid, g_strerror (saved_errno));
      return FALSE;
    }
  ok = stop_at_safe_point (pid, &maps, saved, error);
  if (ok)
    {
      ok = call_dlopen (pid, dlopen_address, agent_path, saved, &handle, error);
      /* its own registers back, whatever happened; then it runs on */
      restore_state (pid, saved);
    }
  ptrace (PTRACE_DETACH, pid, NULL, NULL);
  target_maps_clear (&maps);
  if (ok && handle == 0)
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED,
                   _("process %d could not load %s (dlopen failed: a missing dependency such as "
                     "libunwind, or no room for its thread-local storage)"), pid, agent_path);
      ok = FALSE;
    }
  return ok;
}
