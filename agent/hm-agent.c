/* hm-agent.c — the agent's life: configuration at load, the end at exit.
 *
 * Tracing is asked for with HM_TRACE=FILE ("%p" becomes the pid) or, from
 * hmtrace record, HM_TRACE_FD=N.  Both are removed from the environment once
 * claimed, so a child that execs does not write into this trace.
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "hm-agent-private.h"
#include "hm-gc-private.h"
#include "hm-profile-private.h"
#include "hm-flight-private.h"
#include "hm-sampler-private.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

HmAgent hm_agent = { .trace_fd = -1, .exit_status = -1, .stack_depth = 64 };
/* hybridmem.h's inline fast paths run while this is 1 (set when tracing is
 * decided against). */
HM_EXPORT int hm__fast_v1;

typedef struct {
  uintptr_t base;
  uintptr_t start, end;
} TextRange;

static int
find_text (struct dl_phdr_info *info, size_t size, void *data)
{
  TextRange *range = data;
  (void) size;
  if (info->dlpi_addr != range->base)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    {
      const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X))
        {
          range->start = info->dlpi_addr + ph->p_vaddr;
          range->end = range->start + ph->p_memsz;
          return 1;
        }
    }
  return 0;
}

/* The load address of the object that holds addr (dladdr's dli_fbase), or
 * 0.  glibc's _dl_find_object finds it in a sorted table, lock-free;
 * dladdr also looks for the nearest symbol, a walk over the object's
 * symbol table that made 3% of a preloaded program's start. */
uintptr_t
hm_object_base (const void *addr)
{
#if HAVE_DL_FIND_OBJECT
  struct dl_find_object found;
  if (_dl_find_object ((void *) addr, &found) == 0)
    return (uintptr_t) found.dlfo_map_start;
#endif
  Dl_info info;
  return dladdr (addr, &info) ? (uintptr_t) info.dli_fbase : 0;
}

/* The executable's path ("" if unknown), read from /proc/self/exe once:
 * each readlink of it cost 30 us of the program's start.  The first call
 * is hm_agent_init's, before any other thread can ask; the path stays
 * right across fork, and an exec loads a new agent. */
const char *
hm_agent_exe (void)
{
  static char path[4096];
  static int known;
  if (!__atomic_load_n (&known, __ATOMIC_ACQUIRE))
    {
      ssize_t n = readlink ("/proc/self/exe", path, sizeof path - 1);
      path[n > 0 ? n : 0] = '\0';
      __atomic_store_n (&known, 1, __ATOMIC_RELEASE);
    }
  return path;
}

/* The frames to leave out of every stack: the agent's own code and the
 * unwinder's.  They are adjacent only by chance, so keep the hull of both
 * when they are, and just ours otherwise. */
void
hm_agent_find_own_text (void)
{
  TextRange ours = { 0 }, theirs = { 0 };

  ours.base = hm_object_base ((void *) hm_agent_find_own_text);
  if (ours.base != 0)
    dl_iterate_phdr (find_text, &ours);
  theirs.base = hm_object_base ((void *) unw_backtrace);
  if (theirs.base != 0)
    dl_iterate_phdr (find_text, &theirs);
  hm_agent.self_start = ours.start;
  hm_agent.self_end = ours.end;
  hm_agent.unwinder_start = theirs.start;
  hm_agent.unwinder_end = theirs.end;
}

static int
open_trace (void)
{
  const char *fd_text = getenv ("HM_TRACE_FD");
  const char *path = getenv ("HM_TRACE");
  int fd = -1;

  if (fd_text != NULL && *fd_text != '\0')
    {
      char *end;
      long n = strtol (fd_text, &end, 10);
      if (*end == '\0' && n >= 0 && n < 1 << 20 && fcntl ((int) n, F_GETFD) >= 0)
        fd = (int) n;
      else
        hm_notice ("HM_TRACE_FD=%s is not an open file descriptor; the program runs untraced",
                   fd_text);
    }
  else if (path != NULL && *path != '\0')
    {
      char expanded[4096];
      size_t o = 0;
      for (const char *p = path; *p && o + 24 < sizeof expanded; p++)
        {
          if (p[0] == '%' && p[1] == 'p')
            {
              char digits[16];
              int nd = 0;
              for (unsigned v = (unsigned) getpid (); v; v /= 10)
                digits[nd++] = (char) ('0' + v % 10);
              while (nd)
                expanded[o++] = digits[--nd];
              p++;
            }
          else
            expanded[o++] = *p;
        }
      expanded[o] = '\0';
      /* Never through a symlink someone planted; replace a regular file. */
      fd = open (expanded, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0)
        {
          int error = errno;
          hm_notice ("cannot write the trace to %s (%s); the program runs untraced", expanded,
                     error == ELOOP ? "it is a symbolic link, which is never followed"
                     : error == EACCES ? "permission denied"
                     : error == ENOENT ? "no such directory"
                     : error == EISDIR ? "it is a directory" : "could not open it");
        }
    }
  if (fd >= 0)
    fcntl (fd, F_SETFD, FD_CLOEXEC);
  unsetenv ("HM_TRACE_FD");
  unsetenv ("HM_TRACE");
  return fd;
}

/* fork: the agent's locks, all of them, in the one order the agent takes
 * them in (a scan, a collection, the writer's rounds):
 *   scan_lock, the lifetime table, collect_lock, gc_lock, the writer's
 *   (writer_lock, queue, modules, stack table), agent_memory_lock.
 * Every prepare handler of ours calls hm_fork_lock_all and every after
 * handler hm_fork_unlock_all: the first to run does the work, whatever order
 * the handlers were registered in (it depends on what the program used
 * first).  Only the forking thread runs them. */
#include "hm-gc-private.h"

static int fork_locks_held, fork_writer_held;

void
hm_fork_lock_all (void)
{
  if (fork_locks_held)
    return;
  fork_locks_held = 1;
  /* outermost: taken before the loader's lock when scanning */
  hm_client_requests_fork_lock ();
  hm_lifetime_scan_fork_lock ();
  hm_lifetime_fork_take_table ();
  hm_gc_fork_lock ();
  /* a trace being written, or one that may start (a listener: a session
   * may begin in another thread while we fork) */
  fork_writer_held = hm_agent.trace_fd >= 0 || hm_agent.flight
                     || hm_listener_tid () != 0;
  if (fork_writer_held)
    hm_writer_fork_prepare ();
  hm_gc_fork_lock_agent_memory ();
  hm_sampler_fork_lock ();
}

void
hm_fork_unlock_all (int child)
{
  if (!fork_locks_held)
    return;
  fork_locks_held = 0;
  hm_sampler_fork_unlock ();
  hm_gc_fork_unlock_agent_memory ();
  if (fork_writer_held)
    {
      if (child)
        hm_writer_fork_child ();
      else
        hm_writer_fork_parent ();
    }
  fork_writer_held = 0;
  hm_gc_fork_unlock ();
  hm_lifetime_fork_give_table ();
  hm_lifetime_scan_fork_unlock (child);
  hm_client_requests_fork_unlock ();
}

static void
fork_prepare (void)
{
  hm_fork_lock_all ();
}

static void
fork_parent (void)
{
  hm_fork_unlock_all (0);
}

static void
fork_child (void)
{
  hm_fork_unlock_all (1);
  hm_listener_after_fork_child ();
  if (hm_agent.flight)
    hm_flight_after_fork_child ();
  hm_agent.pid = getpid ();
}

static HmFlightConfig flight_config;

/* Called once, at the first interposed call or at load, whichever comes
 * first: tracing starts if it was asked for.  The trace file and the writer
 * wait for the constructor; the rings hold the events until then. */
void
hm_agent_decide (void)
{
  static int deciding;
  const char *fd_text, *path;

  if (__atomic_exchange_n (&deciding, 1, __ATOMIC_ACQ_REL))
    return;   /* decided, or being decided further up this very stack */
  hm_guard++;
  hm_agent.pid = getpid ();
  if (hm_agent.injected)
    {
      /* Injected into a running process: there was no first allocation to
       * start from, and the environment was meant for the program.  Tracing
       * starts when a debugger connects (hm-listener.c). */
      __atomic_store_n (&hm__fast_v1, 1, __ATOMIC_RELEASE);
      __atomic_store_n (&hm_agent.decided, 1, __ATOMIC_RELEASE);
      hm_hooks_refresh ();
      hm_guard--;
      return;
    }
  fd_text = getenv ("HM_TRACE_FD");
  path = getenv ("HM_TRACE");
  bool want_trace = (fd_text != NULL && *fd_text != '\0') || (path != NULL && *path != '\0');
  HmFlightConfig flight;
  hm_agent.flight = hm_flight_options (&flight);
  if (hm_agent.flight)
    flight_config = flight;
  /* Sampling only means something in a trace, or in a flight recorder's
   * window (its dumps are sampled traces then); it turns lifetime analysis
   * and profiles off (hm_lifetime_start, hm_profile_start say so). */
  if (want_trace || hm_agent.flight)
    {
      /* its arena would stand in for the other allocator: a full trace */
      const char *sample = getenv ("HM_SAMPLE_BYTES");
      if (!hm_next_is_foreign ())
        hm_sampler_init ();
      else if (sample != NULL && *sample != '\0')
        hm_notice ("HM_SAMPLE_BYTES: the program uses %s, not glibc's malloc: recording "
                   "every allocation instead", hm_next_allocator_path ());
    }
  {
    /* Lifetime analysis from the very first allocation, so that every live
     * block is known and an unknown free is a bad one. */
    int analysis = 0;
    if (hm_parse_bool (getenv ("HM_LIFETIME_ANALYSIS"), &analysis) && analysis)
      {
        if (hm_agent.self_end == 0)
          hm_agent_find_own_text ();
        hm_stack_table_init ();
        hm_lifetime_start (1);
      }
  }
  if (hm_agent.flight || want_trace)
    {
      const char *depth = getenv ("HM_STACK_DEPTH");
      if (depth != NULL)
        {
          int d = atoi (depth);
          hm_agent.stack_depth = d < 1 ? 1 : d > 64 ? 64 : d;
        }
      int drop = 0;
      if (hm_parse_bool (getenv ("HM_DROP_WHEN_BEHIND"), &drop))
        hm_agent.drop_when_behind = drop;
      hm_clock_pair (&hm_agent.start_tsc, &hm_agent.start_ns);
      hm_agent_find_own_text ();
      hm_stack_table_init ();
      hm_thread_buffers_init ();
      __atomic_store_n (&hm_agent.tracing, 1, __ATOMIC_RELEASE);
      hm_hooks_refresh ();
    }
  /* the header's inline paths skip the events: only without tracing */
  __atomic_store_n (&hm__fast_v1, !hm_agent.tracing, __ATOMIC_RELEASE);
  __atomic_store_n (&hm_agent.decided, 1, __ATOMIC_RELEASE);
  hm_hooks_refresh ();
  hm_guard--;
}

/* Timestamps are TSC ticks on the hot path (a third of clock_gettime's cost);
 * a second clock point at least 100 us after the start gives the reader a
 * first rate, refined by every round's point.  That first rate only places
 * what comes before the first round's point (whose metadata chunk precedes
 * its events), so it need not be exact: with both points read to about 50
 * ns, 100 us gives it to 0.1%, a few tens of microseconds over a round.  A
 * millisecond's wait made every traced run start a millisecond later. */
static void
calibrate_clock (void)
{
  uint64_t ns1, tsc1;
  do
    hm_clock_pair (&tsc1, &ns1);
  while (ns1 - hm_agent.start_ns < 100000u);
  hm_agent.calib_ns = ns1 - hm_agent.start_ns;
  hm_agent.calib_tsc = tsc1;
}

static void
discard_events (void)
{
  hm_agent.tracing = 0;
  hm_hooks_refresh ();
  for (HmThread *t = hm_thread_list (); t != NULL; t = t->next)
    __atomic_store_n (&t->tail, t->head, __ATOMIC_RELEASE);
}

/* The last thing the process does: registered before the C library
 * registers the loader's destructor pass, so it runs after every library's
 * destructors, whose frees belong in the trace too.  No DSO handle, so our
 * own unloading does not run it early. */
extern int __cxa_atexit (void (*fn) (void *), void *arg, void *dso);

static void
final_flush (void *data)
{
  (void) data;
  if (getpid () != hm_agent.pid)
    return;
  hm_agent.exiting = 1;
  hm_listener_remove_socket ();
  if (!hm_agent.tracing)
    return;
  hm_writer_flush (HM_END_EXIT, hm_agent.exit_status);
  hm_agent.tracing = 0;
  hm_hooks_refresh ();
  hm_writer_stop ();
}

/* A program that crashes still gets its trace: the handler writes what the
 * rings hold, then puts the program's own disposition back and lets the
 * signal happen again (a fault re-executes; abort() raises it again), so the
 * program dies of the same signal, with its core dump, as it would have. */
static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
static struct sigaction previous[sizeof fatal_signals / sizeof fatal_signals[0]];

static void
on_fatal_signal (int signal_number, siginfo_t *info, void *context)
{
  static int handling;

  (void) info;
  (void) context;
  if (__atomic_exchange_n (&handling, 1, __ATOMIC_ACQ_REL) == 0 && hm_agent.tracing
      && getpid () == hm_agent.pid)
    {
      hm_writer_flush_from_signal (signal_number);
      hm_agent.tracing = 0;
      hm_hooks_refresh ();
    }
  for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
    if (fatal_signals[i] == signal_number)
      sigaction (signal_number, &previous[i], NULL);
  /* a signal sent by kill() or raise() is not re-raised by returning */
  if (info != NULL && info->si_code <= 0)
    raise (signal_number);
}

static void
catch_fatal_signals (void)
{
  for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
    {
      struct sigaction sa = { 0 };
      sa.sa_sigaction = on_fatal_signal;
      sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESETHAND;
      sigemptyset (&sa.sa_mask);
      /* a program that already handles it keeps its handler */
      if (sigaction (fatal_signals[i], NULL, &previous[i]) == 0
          && previous[i].sa_handler == SIG_DFL)
        sigaction (fatal_signals[i], &sa, NULL);
    }
}

/* Not tracing from the start: wait for a debugger on the process's socket,
 * unless HM_LISTEN=0.  An injected agent always listens: that is what it
 * was loaded for. */
static void
start_listening (void)
{
  int listen = 1;
  const char *value = getenv ("HM_LISTEN");

  if (!hm_agent.injected && value != NULL && *value != '\0' && !hm_parse_bool (value, &listen))
    hm_notice ("HM_LISTEN=%s is not 0 or 1; listening for a debugger", value);
  if (!listen && !hm_agent.injected)
    return;
  hm_listener_start ();
  pthread_atfork (fork_prepare, fork_parent, fork_child);
  __cxa_atexit (final_flush, NULL, NULL);
}

/* The trace clock of a session that starts now. */
static void
start_clock (void)
{
  hm_clock_pair (&hm_agent.start_tsc, &hm_agent.start_ns);
  calibrate_clock ();
}

int
hm_agent_begin_session (int fd)
{
  static int once;

  if (hm_agent.exiting || hm_agent.tracing)
    return -1;
  hm_guard++;
  if (!once)
    {
      const char *depth = getenv ("HM_STACK_DEPTH");
      if (depth != NULL && !hm_agent.injected)
        {
          int d = atoi (depth);
          hm_agent.stack_depth = d < 1 ? 1 : d > 64 ? 64 : d;
        }
      hm_agent_find_own_text ();
      hm_thread_buffers_init ();
      once = 1;
    }
  hm_stack_table_init ();
  /* outside the writer's lock: the loader's lock comes first (see hm-gc.c) */
  hm_modules_scan ();
  hm_client_requests_scan ();
  start_clock ();
  int r = hm_writer_begin_session (fd);
  if (r == 0)
    {
      /* tracing is on: the inline region paths must now call the library */
      hm_region_caches_forget ();
      hm_region_name_live_ones ();
      hm_pool_name_live_ones ();
      if (hm_agent.injected)
        hm_got_redirect ();
    }
  hm_guard--;
  return r;
}

void
hm_agent_end_session (void)
{
  hm_guard++;
  /* the program calls the C library directly again first, then the rings
   * are drained of what the last calls through us recorded */
  if (hm_agent.injected)
    hm_got_restore ();
  __atomic_store_n (&hm_agent.tracing, 0, __ATOMIC_RELEASE);
  /* no new sampled blocks; those out stay the arena's (hm-sampler.c) */
  hm_sampler_end_session ();
  hm_hooks_refresh ();
  hm_writer_end_session (HM_END_DETACH);
  __atomic_store_n (&hm__fast_v1, 1, __ATOMIC_RELEASE);
  hm_guard--;
}

/* Profiling and the profile are the environment's business unless the
 * program calls hm_init() before anything asked for them: read the options
 * here without fixing them (hm_init() may still set others). */
static void
start_profile (void)
{
  HmOptions options;
  hm_guard++;
  hm_options_init (&options);
  hm_profile_start (&options);
  hm_guard--;
}

/* HM_FLIGHT_RECORDER: the writer keeps the last seconds in memory
 * (hm-flight.c); dumps by signal, on the socket (so the listener runs even
 * though events are recorded), and at a crash. */
static void
start_flight_recorder (void)
{
  hm_guard++;
  calibrate_clock ();
  hm_modules_scan ();
  hm_flight_dump_setup ();
  /* a HM_TRACE meant for this program named the dumps; not for its children */
  unsetenv ("HM_TRACE");
  unsetenv ("HM_FLIGHT_RECORDER");
  if (hm_flight_start (&flight_config) != 0 || hm_writer_start_flight () != 0)
    {
      hm_notice ("flight recorder: no memory for its window; the program runs untraced");
      discard_events ();
      hm_guard--;
      start_profile ();
      hm_agent.constructed = 1;
      hm_lifetime_scan_at_exit ();
      return;
    }
  hm_agent.writer_started = 1;
  start_profile ();
  pthread_atfork (fork_prepare, fork_parent, fork_child);
  __cxa_atexit (final_flush, NULL, NULL);
  hm_agent.constructed = 1;
  hm_lifetime_scan_at_exit ();
  catch_fatal_signals ();
  {
    int listen = 1;
    const char *value = getenv ("HM_LISTEN");
    if (value != NULL && *value != '\0' && !hm_parse_bool (value, &listen))
      hm_notice ("HM_LISTEN=%s is not 0 or 1; listening for hmtrace dump", value);
    if (listen)
      hm_listener_start ();
  }
  hm_guard--;
}

__attribute__ ((constructor (101))) static void
hm_agent_init (void)
{
  int fd;

  hm_guard++;
  /* dlopen'ed by hmtrace attach (or by the program itself): the process's
   * malloc is not ours, and only a debugger's session will make it so. */
  if (!hm_agent.decided && !hm_got_agent_interposes ())
    hm_agent.injected = 1;
  hm_guard--;
  if (!hm_agent.decided)
    hm_agent_decide ();
  if (!hm_agent.tracing)
    {
      /* an injected agent leaves the program's allocation as it is: no
       * profile from its environment */
      if (!hm_agent.injected)
        start_profile ();
      start_listening ();
      hm_agent.constructed = 1;
      hm_lifetime_scan_at_exit ();
      return;
    }

  if (hm_agent.flight)
    {
      start_flight_recorder ();
      return;
    }

  hm_guard++;
  fd = open_trace ();
  if (fd < 0)
    {
      discard_events ();
      hm_guard--;
      start_profile ();
      hm_agent.constructed = 1;
      hm_lifetime_scan_at_exit ();
      return;
    }
  calibrate_clock ();
  hm_modules_scan ();
  hm_client_requests_scan ();
  if (hm_writer_start (fd) != 0)
    {
      close (fd);
      hm_agent.trace_fd = -1;
      discard_events ();
      hm_guard--;
      start_profile ();
      hm_agent.constructed = 1;
      hm_lifetime_scan_at_exit ();
      return;
    }
  hm_agent.writer_started = 1;
  start_profile ();
  pthread_atfork (fork_prepare, fork_parent, fork_child);
  __cxa_atexit (final_flush, NULL, NULL);
  hm_agent.constructed = 1;
  hm_lifetime_scan_at_exit ();    /* after: so it runs before the last flush */
  catch_fatal_signals ();
  hm_guard--;
}

void *
hm_agent_map (size_t bytes)
{
  void *p = mmap (NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  hm_gc_register_agent_memory (p, bytes);
  return p;
}

void
hm_agent_unmap (void *p, size_t bytes)
{
  hm_gc_unregister_agent_memory (p);
  munmap (p, bytes);
}

void
hm_agent_note_exit (int status)
{
  hm_agent.exit_status = status;
}

/* The process's own trace, which an exec ends (not a vfork child's, which
 * shares our memory but is not us). */
static bool
exec_ends_trace (void)
{
  return getpid () == hm_agent.pid && hm_agent.tracing;
}

void
hm_agent_before_exec (const char *what)
{
  if (getpid () != hm_agent.pid)
    return;
  hm_listener_remove_socket ();
  if (exec_ends_trace ())
    {
      hm_writer_flush (HM_END_EXEC, 0);
      /* A wrapper (taskset, nice, a shell's last command) execs the program
       * that was meant: without a word, the trace would be the wrapper's. */
      hm_notice ("%s execs %s: the trace ends here, for an exec is not followed; to record "
                 "that program, run it directly (a wrapper goes outside: WRAPPER hmtrace "
                 "record -- PROGRAM)", hm_profile_exe_name (),
                 what != NULL ? what : "another program");
    }
}

void
hm_agent_exec_failed (void)
{
  /* The trace goes on; a later END supersedes the exec one.  errno is the
   * exec's, which the program reads next: the notice must not change it. */
  int error = errno;
  if (exec_ends_trace ())
    hm_notice ("that exec failed (%s); the trace goes on", strerror (error));
  errno = error;
}
