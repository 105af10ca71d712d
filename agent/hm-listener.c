/* hm-listener.c — the door a debugger attaches through: one Unix socket per
 * process, $XDG_RUNTIME_DIR/hybridmem/PID.sock (/tmp/hybridmem-UID/PID.sock
 * without XDG_RUNTIME_DIR).
 *
 * A process the agent is in but does not trace from the start (no HM_TRACE,
 * no hmtrace record) listens there, unless HM_LISTEN=0.  A client of the
 * same user that connects gets a complete trace from that moment on, in the
 * same byte stream as a file; when it shuts its side down (or goes away) the
 * trace ends with END (detach), tracing stops and the program is back at
 * full speed; the next client starts a new trace.  Only the same user gets
 * in: the directory is 0700 and ours (a symlink or anything else is refused,
 * never repaired), the socket 0600, and the peer's credentials are checked.
 *
 * The listener thread blocks every signal and never touches GC memory, like
 * the writer; it prints nothing unless HM_LISTEN=1 was asked for explicitly,
 * so a program's output stays its own.
 */
#define _GNU_SOURCE
#include "hm-agent-private.h"
#include "hybridmem.h"
#include "hm-flight-private.h"
#include "hm-profile-private.h"
#include "hm-sampler-private.h"
#include "hm-byte-size.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define POLL_MS 50           /* how often a session looks for newly loaded objects */
#define SEND_TIMEOUT_S 10    /* a client that reads nothing for this long is dropped */

static int listen_fd = -1;
static char socket_path[sizeof ((struct sockaddr_un *) 0)->sun_path];
static int socket_pid;                /* the process that made socket_path */
static int listener_tid;
static pthread_t listener_thread;

int
hm_listener_tid (void)
{
  return __atomic_load_n (&listener_tid, __ATOMIC_ACQUIRE);
}

/* No snprintf: these run in the constructor, before the program's main. */
static int
append (char *buf, size_t size, size_t *len, const char *text)
{
  size_t n = strlen (text);
  if (*len + n + 1 > size)
    return 0;
  memcpy (buf + *len, text, n + 1);
  *len += n;
  return 1;
}

static int
append_number (char *buf, size_t size, size_t *len, unsigned long v)
{
  char digits[24];
  int n = 0;
  do
    digits[n++] = (char) ('0' + v % 10);
  while ((v /= 10) != 0);
  char text[24];
  for (int i = 0; i < n; i++)
    text[i] = digits[n - 1 - i];
  text[n] = '\0';
  return append (buf, size, len, text);
}

/* The directory must be ours, 0700, and a directory (not a symlink to one). */
static int
private_directory (const char *path, const char **why)
{
  struct stat st;

  if (lstat (path, &st) != 0)
    {
      if (errno != ENOENT || (mkdir (path, 0700) != 0 && errno != EEXIST) || lstat (path, &st) != 0)
        {
          *why = "cannot create it";
          return 0;
        }
    }
  if (S_ISLNK (st.st_mode))
    *why = "it is a symbolic link";
  else if (!S_ISDIR (st.st_mode))
    *why = "it is not a directory";
  else if (st.st_uid != geteuid ())
    *why = "another user owns it";
  else if ((st.st_mode & 0777) != 0700)
    *why = "its mode is not 0700";
  else
    return 1;
  return 0;
}

/* Builds the directory's and the socket's paths: under $XDG_RUNTIME_DIR, or
 * when that is unset or unusable, /tmp/hybridmem-UID; 0 when no private
 * directory can be had. */
static int
socket_location (char *dir, size_t dir_size, const char **why)
{
  const char *runtime = getenv ("XDG_RUNTIME_DIR");

  for (int attempt = runtime != NULL && runtime[0] == '/' ? 0 : 1; attempt < 2; attempt++)
    {
      size_t len = 0;
      dir[0] = '\0';
      if (attempt == 0
          ? !append (dir, dir_size, &len, runtime) || !append (dir, dir_size, &len, "/hybridmem")
          : !append (dir, dir_size, &len, "/tmp/hybridmem-")
            || !append_number (dir, dir_size, &len, (unsigned long) geteuid ()))
        {
          *why = "the path is too long";
          continue;
        }
      if (!private_directory (dir, why))
        continue;
      len = 0;
      socket_path[0] = '\0';
      if (append (socket_path, sizeof socket_path, &len, dir)
          && append (socket_path, sizeof socket_path, &len, "/")
          && append_number (socket_path, sizeof socket_path, &len, (unsigned long) getpid ())
          && append (socket_path, sizeof socket_path, &len, ".sock"))
        return 1;
      *why = "the path is too long for a socket";
      socket_path[0] = '\0';
    }
  return 0;
}

/* A debugger asked for a scan: its findings go to the trace as warnings, and
 * a mark says what was done (or why nothing could be: the lifetime table
 * only knows the blocks of a process that started with analysis on). */
static void
analyze_on_request (void)
{
  char text[128];
  if (!hm_lifetime_active)
    {
      hm_writer_queue_meta (HM_EV_MARK, 0, hm_tsc (),
                            "analysis requested: lifetime analysis is off in this process "
                            "(HM_LIFETIME_ANALYSIS=1 when it starts)");
      return;
    }
  hm_guard = 0;              /* the scan's warnings are events */
  size_t leaks = hm_analyze ();
  hm_guard = 1;
  HmAnalysisStats stats;
  hm_analyze_get_stats (&stats);
  /* no snprintf on this thread: digits by hand */
  char digits[2][24];
  size_t values[2] = { leaks, stats.n_dangling };
  for (int k = 0; k < 2; k++)
    {
      char tmp[24];
      int n = 0;
      size_t v = values[k];
      do
        tmp[n++] = (char) ('0' + v % 10);
      while ((v /= 10) != 0);
      for (int i = 0; i < n; i++)
        digits[k][i] = tmp[n - 1 - i];
      digits[k][n] = '\0';
    }
  size_t len = 0;
  text[0] = '\0';
  append (text, sizeof text, &len, "analysis requested: ");
  append (text, sizeof text, &len, digits[0]);
  append (text, sizeof text, &len, " new leaks, ");
  append (text, sizeof text, &len, digits[1]);
  append (text, sizeof text, &len, " new dangling pointers");
  hm_writer_queue_meta (HM_EV_MARK, 0, hm_tsc (), text);
}

static void send_all (int fd, const char *text, size_t len);

/* A client may open with one line of options, at once after it connects:
 * "sample N\n" asks for a sampled trace, one sample per N bytes on average
 * (hmtrace attach --sample-bytes), and an empty line for the full trace
 * (hm_attach_begin), which then starts without waiting.  A client that says
 * nothing within OPTIONS_MS gets the full trace too; anything else it says
 * is left for the session ("analyze").  Returns N, 0 for none, or -1 after
 * a bad line. */
#define OPTIONS_MS 50
static int64_t
read_session_options (int fd)
{
  char line[64];
  struct pollfd p = { .fd = fd, .events = POLLIN };

  if (poll (&p, 1, OPTIONS_MS) <= 0 || (p.revents & POLLIN) == 0)
    return 0;
  ssize_t n = recv (fd, line, sizeof line - 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 1 && line[0] == '\n')
    {
      recv (fd, line, 1, MSG_DONTWAIT);   /* the empty line: the full trace */
      return 0;
    }
  if (n < 7 || memcmp (line, "sample ", 7) != 0)
    return 0;
  line[n] = '\0';
  char *nl = memchr (line, '\n', (size_t) n);
  if (nl == NULL)
    return -1;               /* a line longer than any number */
  /* take the line, and only it */
  if (recv (fd, line, (size_t) (nl - line) + 1, 0) != (nl - line) + 1)
    return -1;
  *nl = '\0';
  uint64_t bytes = 0;
  if (!hm_parse_byte_size (line + 7, &bytes) || bytes == 0 || bytes > (UINT64_C (1) << 40))
    return -1;
  return (int64_t) bytes;
}

/* Why this process cannot sample from an attach, or NULL when it can. */
static const char *
sampling_refused (void)
{
  if (hm_agent.injected)
    /* After the session the program calls the C library's free directly
     * again (the GOT is restored), and it cannot take back a block of the
     * arena; an object loaded during the session calls it directly until
     * the next refresh of the GOT.  Only hooks that stay can sample. */
    return "sampling needs the agent in the process from its start (LD_PRELOAD or "
           "linked): an injected agent leaves when it detaches, and the program's free() "
           "could not take back the sampled blocks, which live in the agent's own arena";
  if (hm_next_is_foreign ())
    return "the program's malloc is not glibc's; sampling is for glibc's";
  if (hm_lifetime_active)
    return "lifetime analysis is on in this process, and it needs every block";
  if (hm_profile_active || hm_profile_pools_active)
    return "a memory profile is recorded or applied in this process, and it needs every "
           "block";
  if (hm_sampler.to_profile)
    /* a plain attach gets a trace sampled at the profile's rate */
    return "this process records a sampled memory profile: its samples come one per "
           "HM_PROFILE_SAMPLE_BYTES, and a plain attach traces them";
  return NULL;
}

static void
refuse_session (int fd, const char *why)
{
  char line[512];
  size_t len = 0;
  /* one write: the client reads it as one line */
  append (line, sizeof line, &len, "error ");
  append (line, sizeof line, &len, why);
  append (line, sizeof line, &len, "\n");
  send_all (fd, line, len);
}

/* One debugger, from connect to disconnect. */
static void
run_session (int fd)
{
  struct timeval timeout = { SEND_TIMEOUT_S, 0 };
  struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = listen_fd, .events = POLLIN } };

  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  int64_t sample_bytes = read_session_options (fd);
  if (sample_bytes < 0)
    {
      refuse_session (fd, "sample: not a byte count from 1 to 1T");
      return;
    }
  if (sample_bytes > 0)
    {
      const char *why = sampling_refused ();
      if (why == NULL && !hm_sampler_start_session ((uint64_t) sample_bytes))
        why = "no address space for the sampled blocks' arena";
      if (why != NULL)
        {
          refuse_session (fd, why);
          return;
        }
    }
  if (hm_agent_begin_session (fd) != 0)
    {
      hm_sampler_end_session ();
      return;
    }
  for (;;)
    {
      int n = poll (p, 2, POLL_MS);
      if (n > 0 && p[1].revents != 0)
        {
          /* one debugger at a time: a second one gets an empty stream at
           * once rather than wait in the backlog */
          int other = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
          if (other >= 0)
            close (other);
        }
      if (n > 0 && p[0].revents != 0)
        {
          char buf[64];
          /* The client may ask for one thing: "analyze\n", a leak and
           * dangling-pointer scan now (hm_analyze), whose warnings join the
           * trace; anything else is ignored; EOF ends the session. */
          ssize_t r = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
          if (r > 0 && memchr (buf, 'a', (size_t) r) != NULL)
            analyze_on_request ();
          if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)
              || (r <= 0 && (p[0].revents & (POLLHUP | POLLERR))))
            break;
        }
      else if (n < 0 && errno != EINTR)
        break;
      /* the writer gave up (the client vanished), or the process exits */
      if (!__atomic_load_n (&hm_agent.tracing, __ATOMIC_ACQUIRE) || hm_agent.exiting)
        break;
      if (hm_agent.injected)
        hm_got_refresh ();
    }
  if (!hm_agent.exiting)
    hm_agent_end_session ();
}

/* In flight-recorder mode the socket takes one request a connection, a
 * line: "dump\n" (to the default name) or "dump PATH\n" writes a dump and
 * answers "ok FILE\n" or "error MESSAGE\n"; "info\n" answers one line of
 * "key=value" (what the recorder holds).  An attach gets an empty stream,
 * the process being traced already: at once when it opens with its empty
 * line (hm_attach_begin), after 2 s when it says nothing. */
static void
send_all (int fd, const char *text, size_t len)
{
  while (len > 0)
    {
      ssize_t n = send (fd, text, len, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      text += n;
      len -= (size_t) n;
    }
}

static void
flight_request (int fd)
{
  char line[4200], answer[4300];
  size_t len = 0, alen = 0;

  line[0] = 0;
  while (len + 1 < sizeof line && memchr (line, '\n', len) == NULL)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      int n = poll (&p, 1, 2000);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      ssize_t r = recv (fd, line + len, sizeof line - 1 - len, 0);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return;
      len += (size_t) r;
    }
  line[len] = '\0';
  char *nl = strchr (line, '\n');
  if (nl == NULL)
    return;
  *nl = '\0';
  if (line[0] == '\0')
    return;   /* an attach's opening line; the client says what to do */
  if (strcmp (line, "info") == 0)
    {
      alen = hm_flight_format_stats (answer, sizeof answer);
      send_all (fd, answer, alen);
      return;
    }
  if (strncmp (line, "sample ", 7) == 0)
    {
      /* hmtrace attach --sample-bytes: no session here, but say why */
      static const char busy[] = "error it runs the flight recorder, which records it "
                                 "already; hmtrace dump writes its last seconds\n";
      send_all (fd, busy, sizeof busy - 1);
      return;
    }
  if (strncmp (line, "dump", 4) != 0 || (line[4] != '\0' && line[4] != ' '))
    {
      static const char no[] = "error unknown request (dump [PATH] or info)\n";
      send_all (fd, no, sizeof no - 1);
      return;
    }
  const char *path = line[4] == ' ' ? line + 5 : "";
  char result[4200];
  int error = hm_flight_request_dump (path, result, sizeof result);
  append (answer, sizeof answer, &alen, error == 0 ? "ok " : "error ");
  append (answer, sizeof answer, &alen, result);
  append (answer, sizeof answer, &alen, "\n");
  send_all (fd, answer, alen);
}

static void *
listener_main (void *arg)
{
  sigset_t all;

  (void) arg;
  hm_guard = 1;   /* nothing this thread does is an event */
  __atomic_store_n (&listener_tid, (int) syscall (SYS_gettid), __ATOMIC_RELEASE);
  pthread_setname_np (pthread_self (), "hm-listener");
  sigfillset (&all);
  pthread_sigmask (SIG_BLOCK, &all, NULL);

  for (;;)
    {
      int fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if (errno == EBADF || errno == EINVAL || errno == ENOTSOCK)
            break;                 /* closed (a fork child, the exit) */
          struct timespec pause = { 0, 100000000 };
          nanosleep (&pause, NULL);  /* out of descriptors: try again later */
          continue;
        }
      struct ucred cred;
      socklen_t len = sizeof cred;
      if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof cred
          && cred.uid == geteuid () && !hm_agent.exiting && hm_agent.flight
          && __atomic_load_n (&hm_agent.tracing, __ATOMIC_ACQUIRE))
        flight_request (fd);
      else if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof cred
          && cred.uid == geteuid () && !hm_agent.exiting
          && !__atomic_load_n (&hm_agent.tracing, __ATOMIC_ACQUIRE))
        run_session (fd);
      close (fd);
    }
  return NULL;
}

void
hm_listener_start (void)
{
  char dir[sizeof socket_path];
  const char *why = "cannot create it";
  int loud = 0;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd;

  hm_parse_bool (getenv ("HM_LISTEN"), &loud);
  hm_guard++;
  if (!socket_location (dir, sizeof dir, &why))
    {
      if (loud)
        hm_notice ("no private directory for the attach socket (%s: %s); not listening",
                   dir, why);
      goto out;
    }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    goto out;
  memcpy (addr.sun_path, socket_path, strlen (socket_path) + 1);
  /* A socket left by a process that had our pid before (killed, so its
   * exit did not remove it): the directory is ours alone. */
  unlink (socket_path);
  mode_t old_mask = umask (0177);
  int bound = bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0;
  umask (old_mask);
  if (!bound || listen (fd, 4) != 0)
    {
      if (loud)
        hm_notice ("cannot listen on %s (errno %d); not listening", socket_path, errno);
      close (fd);
      goto out;
    }
  listen_fd = fd;
  socket_pid = getpid ();
  if (pthread_create (&listener_thread, NULL, listener_main, NULL) != 0)
    {
      close (fd);
      listen_fd = -1;
      unlink (socket_path);
      socket_path[0] = '\0';
      goto out;
    }
  pthread_detach (listener_thread);
out:
  hm_guard--;
}

void
hm_listener_remove_socket (void)
{
  if (socket_path[0] != '\0' && socket_pid == getpid ())
    {
      unlink (socket_path);
      socket_path[0] = '\0';
    }
}

void
hm_listener_after_fork_child (void)
{
  /* The listener thread is not in the child, and the socket's name is the
   * parent's: the child does not listen. */
  if (listen_fd >= 0)
    close (listen_fd);
  listen_fd = -1;
  socket_path[0] = '\0';
  __atomic_store_n (&listener_tid, 0, __ATOMIC_RELEASE);
}
