/* hm-flight-dump.c — asking for a flight-recorder dump, and where it goes.
 *
 * Three ways in: the dump signal (SIGUSR2 unless HM_FLIGHT_SIGNAL says
 * otherwise), a "dump" request on the agent's socket (hmtrace dump, the
 * debugger), and a fatal signal (hm-writer.c).  The first two only ask: the
 * handler bumps a counter and wakes the writer thread, which writes the dump
 * between two rounds, so the program is never stopped for it.
 *
 * Dump N goes to the base name with ".flight-N" before ".hmt": the base is
 * HM_FLIGHT_OUTPUT, else HM_TRACE, else hmtrace.PROGRAM.PID.hmt in the
 * directory the program started in (where hmtrace record would write its
 * trace).  A file is created, never replaced (O_EXCL), and never through a
 * symbolic link (O_NOFOLLOW); a taken name moves on to the next number.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hm-flight-private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char base_stem[4096];        /* the base name without ".hmt" */
static int base_has_ext;
static uint32_t next_number = 1;
static uint64_t n_dumps;

static volatile uint32_t signal_requests;
static int dump_signal;

static pthread_mutex_t request_lock = PTHREAD_MUTEX_INITIALIZER;
static char request_path[4096];
static uint32_t request_seq, done_seq;
static int request_result;
static char request_out[4096];

/* --- strings without stdio --------------------------------------------------------- */

static size_t
put (char *buf, size_t size, size_t len, const char *text)
{
  while (*text && len + 1 < size)
    buf[len++] = *text++;
  if (size > 0)
    buf[len < size ? len : size - 1] = '\0';
  return len;
}

static size_t
put_number (char *buf, size_t size, size_t len, uint64_t v)
{
  char digits[24], text[24];
  int n = 0;
  do
    digits[n++] = (char) ('0' + v % 10);
  while ((v /= 10) != 0);
  for (int i = 0; i < n; i++)
    text[i] = digits[n - 1 - i];
  text[n] = '\0';
  return put (buf, size, len, text);
}

/* not strerror: it may translate, and so allocate */
static const char *
why (int error)
{
  switch (error)
    {
    case ELOOP: return "it is a symbolic link, which is never followed";
    case EACCES: case EPERM: return "permission denied";
    case ENOENT: return "no such directory";
    case EISDIR: return "it is a directory";
    case EEXIST: return "the file exists";
    case ENOSPC: return "no space left on the device";
    case EROFS: return "a read-only file system";
    case EDQUOT: return "the disk quota was reached";
    case EFBIG: return "the file size limit was reached";
    case ENAMETOOLONG: return "the name is too long";
    case EBUSY: return "the flight recorder is busy";
    case ETIMEDOUT: return "the writer did not answer in time";
    default: return "it could not be written";
    }
}

/* --- where dumps go ------------------------------------------------------------------ */

/* "%p" becomes the pid; a relative path is made absolute now, so that a
 * later chdir does not move the dumps. */
static void
set_base (const char *path)
{
  size_t len = 0;
  char cwd[2048];

  base_stem[0] = '\0';
  if (path[0] != '/' && getcwd (cwd, sizeof cwd) != NULL)
    {
      len = put (base_stem, sizeof base_stem, len, cwd);
      len = put (base_stem, sizeof base_stem, len, "/");
    }
  for (const char *p = path; *p && len + 24 < sizeof base_stem; p++)
    {
      if (p[0] == '%' && p[1] == 'p')
        {
          len = put_number (base_stem, sizeof base_stem, len, (uint64_t) getpid ());
          p++;
        }
      else
        base_stem[len++] = *p;
    }
  base_stem[len] = '\0';
  base_has_ext = len > 4 && strcmp (base_stem + len - 4, ".hmt") == 0;
  if (base_has_ext)
    base_stem[len - 4] = '\0';
}

static void
on_dump_signal (int signal_number)
{
  int saved = errno;
  (void) signal_number;
  __atomic_add_fetch (&signal_requests, 1, __ATOMIC_RELEASE);
  hm_thread_wake_writer ();
  errno = saved;
}

void
hm_flight_dump_setup (void)
{
  const char *output = getenv ("HM_FLIGHT_OUTPUT");
  const char *trace = getenv ("HM_TRACE");
  const char *sig = getenv ("HM_FLIGHT_SIGNAL");

  if (output != NULL && *output != '\0')
    set_base (output);
  else if (trace != NULL && *trace != '\0')
    set_base (trace);
  else
    {
      char name[1200];
      const char *exe = hm_agent_exe ();
      const char *slash = strrchr (exe, '/');
      size_t len = put (name, sizeof name, 0, "hmtrace.");
      len = put (name, sizeof name, len, slash ? slash + 1 : *exe ? exe : "program");
      len = put (name, sizeof name, len, ".%p.hmt");
      set_base (name);
    }
  unsetenv ("HM_FLIGHT_OUTPUT");

  dump_signal = SIGUSR2;
  if (sig != NULL && *sig != '\0')
    {
      char *end;
      long n = strtol (sig, &end, 10);
      if (*end == '\0' && n >= 0 && n < SIGRTMAX && n != SIGKILL && n != SIGSTOP
          && n != SIGSEGV && n != SIGBUS && n != SIGILL && n != SIGFPE && n != SIGABRT)
        dump_signal = (int) n;
      else
        hm_notice ("HM_FLIGHT_SIGNAL=%s is not a signal number a dump can use (0: none); "
                   "using %d (SIGUSR2)", sig, SIGUSR2);
    }
  if (dump_signal != 0)
    {
      struct sigaction old, sa = { 0 };
      sa.sa_handler = on_dump_signal;
      sa.sa_flags = SA_RESTART;
      sigemptyset (&sa.sa_mask);
      /* a program that handles the signal itself keeps it */
      if (sigaction (dump_signal, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        sigaction (dump_signal, &sa, NULL);
      else
        hm_notice ("flight recorder: the program handles signal %d itself; dump with "
                   "hmtrace dump PID instead", dump_signal);
    }
}

void
hm_flight_after_fork_child (void)
{
  struct sigaction old;

  /* The child records nothing (hm-writer.c): the signal is the program's
   * again, with its default (ending the process) as before. */
  if (dump_signal != 0 && sigaction (dump_signal, NULL, &old) == 0
      && old.sa_handler == on_dump_signal)
    signal (dump_signal, SIG_DFL);
}

int
hm_flight_open_dump (const char *path, char *out, size_t out_size)
{
  if (path != NULL && path[0] != '\0')
    {
      put (out, out_size, 0, path);
      /* named by the user, as hmtrace record -o: replaced, but never
       * through a symbolic link */
      return open (path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    }
  for (int attempt = 0; attempt < 10000; attempt++)
    {
      uint32_t n = __atomic_fetch_add (&next_number, 1, __ATOMIC_RELAXED);
      size_t len = put (out, out_size, 0, base_stem);
      len = put (out, out_size, len, ".flight-");
      len = put_number (out, out_size, len, n);
      if (base_has_ext)
        len = put (out, out_size, len, ".hmt");
      if (len + 1 >= out_size)
        {
          errno = ENAMETOOLONG;
          return -1;
        }
      int fd = open (out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd >= 0 || errno != EEXIST)
        return fd;
    }
  return -1;
}

/* --- asking -------------------------------------------------------------------------- */

int
hm_flight_request_dump (const char *path, char *out, size_t out_size)
{
  int result;
  uint32_t seq;
  uint64_t waited_ms = 0;

  if (pthread_mutex_trylock (&request_lock) != 0)
    {
      put (out, out_size, 0, why (EBUSY));
      return EBUSY;
    }
  put (request_path, sizeof request_path, 0, path ? path : "");
  seq = __atomic_add_fetch (&request_seq, 1, __ATOMIC_ACQ_REL);
  hm_thread_wake_writer ();
  for (;;)
    {
      uint32_t done = __atomic_load_n (&done_seq, __ATOMIC_ACQUIRE);
      if (done == seq)
        break;
      if (waited_ms >= 120000 || !__atomic_load_n (&hm_agent.tracing, __ATOMIC_ACQUIRE))
        {
          /* the writer is stuck or gone: the answer is no */
          __atomic_store_n (&done_seq, seq, __ATOMIC_RELEASE);
          put (out, out_size, 0, why (ETIMEDOUT));
          pthread_mutex_unlock (&request_lock);
          return ETIMEDOUT;
        }
      struct timespec timeout = { 0, 100000000 };
      syscall (SYS_futex, &done_seq, FUTEX_WAIT_PRIVATE, done, &timeout, NULL, 0);
      waited_ms += 100;
    }
  result = request_result;
  put (out, out_size, 0, request_out);
  pthread_mutex_unlock (&request_lock);
  return result;
}

bool
hm_flight_dump_pending (void)
{
  return __atomic_load_n (&signal_requests, __ATOMIC_ACQUIRE) != 0
         || __atomic_load_n (&request_seq, __ATOMIC_ACQUIRE)
              != __atomic_load_n (&done_seq, __ATOMIC_ACQUIRE);
}

static int
one_dump (const char *path, HmDumpTrigger trigger, char *out, size_t out_size,
          int (*write_dump) (int fd, HmDumpTrigger trigger, int signal_number))
{
  char name[4096];
  int fd = hm_flight_open_dump (path, name, sizeof name);
  int error = fd < 0 ? errno : 0;

  if (fd >= 0)
    {
      error = write_dump (fd, trigger, 0);
      close (fd);
    }
  size_t len = 0;
  if (error == 0)
    {
      n_dumps++;
      len = put (out, out_size, len, name);
    }
  else
    {
      len = put (out, out_size, len, "cannot write the dump to ");
      len = put (out, out_size, len, name);
      len = put (out, out_size, len, " (");
      len = put (out, out_size, len, why (error));
      len = put (out, out_size, len, ")");
    }
  return error;
}

void
hm_flight_run_pending (int (*write_dump) (int fd, HmDumpTrigger trigger, int signal_number))
{
  char text[4200];

  /* signals that came while a dump was written make one more dump, not many */
  if (__atomic_exchange_n (&signal_requests, 0, __ATOMIC_ACQ_REL) != 0)
    {
      int error = one_dump (NULL, HM_DUMP_SIGNAL, text, sizeof text, write_dump);
      if (error == 0)
        hm_notice ("flight recorder: the last %llu s written to %s",
                   (unsigned long long) (hm_flight_config ()->window_ns / 1000000000u), text);
      else
        hm_notice ("flight recorder: %s; the program goes on", text);
    }
  uint32_t seq = __atomic_load_n (&request_seq, __ATOMIC_ACQUIRE);
  if (seq != __atomic_load_n (&done_seq, __ATOMIC_ACQUIRE))
    {
      request_result = one_dump (request_path, HM_DUMP_REQUEST, request_out,
                                 sizeof request_out, write_dump);
      __atomic_store_n (&done_seq, seq, __ATOMIC_RELEASE);
      syscall (SYS_futex, &done_seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

size_t
hm_flight_format_stats (char *out, size_t size)
{
  HmFlightStats s;
  size_t len = 0;

  hm_flight_get_stats (&s);
  const struct { const char *key; uint64_t value; } fields[] = {
    { "window_s=", s.window_ns / 1000000000u },
    { " span_ms=", s.window_span_ns / 1000000u },
    { " window_used_bytes=", s.window_used_bytes },
    { " window_cap_bytes=", s.window_cap_bytes },
    { " window_high_water_bytes=", s.window_high_water_bytes },
    { " window_chunks=", s.window_chunks },
    { " live_blocks=", s.n_live },
    { " live_bytes=", s.live_bytes },
    { " live_regions=", s.n_regions },
    { " live_pools=", s.n_pools },
    { " live_pool_objects=", s.n_pool_objects },
    { " table_bytes=", s.table_bytes },
    { " table_lost=", s.table_lost },
    { " dict_bytes=", s.dict_bytes },
    { " ring_bytes=", s.ring_bytes },
    { " held_bytes=", s.window_cap_bytes + s.table_bytes + s.dict_bytes + s.ring_bytes },
    { " dumps=", n_dumps },
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    {
      len = put (out, size, len, fields[i].key);
      len = put_number (out, size, len, fields[i].value);
    }
  len = put (out, size, len, "\n");
  return len;
}
