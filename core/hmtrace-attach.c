/* hmtrace-attach.c — `hmtrace attach`: trace a process that is already running.
 *
 * If the process has the agent (preloaded or linked), its socket is there:
 * connect and save the stream.  If not, the agent is injected first
 * (hm-injector.c).  Ctrl+C, --duration or the process's exit end the trace;
 * shutting our side of the socket down asks the agent for a clean END, after
 * which it stops tracing and the program runs on at full speed.
 *
 * --sample-bytes N opens the session with the line "sample N" (hm-listener.c):
 * only an agent that was in the process from its start can sample, so
 * there is no injection then; an agent that cannot answers "error WHY"
 * instead of a trace.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gi18n.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hm-attach.h"
#include "hm-byte-size.h"
#include "hmtrace-commands.h"

static volatile sig_atomic_t stop_requested;

static void
on_stop_signal (int signal_number)
{
  (void) signal_number;
  stop_requested = 1;
}

static gboolean
write_all (int fd, const char *buf, size_t n)
{
  while (n > 0)
    {
      ssize_t w = write (fd, buf, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return FALSE;
      buf += w;
      n -= (size_t) w;
    }
  return TRUE;
}

static char *
process_name (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/comm", pid);
  char *comm = NULL;
  if (!g_file_get_contents (path, &comm, NULL, NULL))
    return g_strdup ("process");
  return g_strchomp (comm);
}

int
hmtrace_attach_main (int argc, char **argv)
{
  g_autofree char *output = NULL;
  double duration = 0;
  gboolean quiet = FALSE;
  gboolean analyze = FALSE;
  g_autofree char *sample_text = NULL;
  guint64 sample_bytes = 0;
  g_auto(GStrv) rest = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Write the trace to FILE (default: hmtrace.NAME.PID.hmt)"), N_("FILE") },
    { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &duration,
      N_("Detach after SECONDS (default: at Ctrl+C or when the process exits)"), N_("SECONDS") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("Print nothing of our own"), NULL },
    { "analyze", 0, 0, G_OPTION_ARG_NONE, &analyze,
      N_("Before detaching, have the process look for leaks and dangling pointers now "
         "(it must have started with HM_LIFETIME_ANALYSIS=1)"), NULL },
    { "sample-bytes", 0, 0, G_OPTION_ARG_STRING, &sample_text,
      N_("Record a sample of the allocations, one per N bytes allocated on average (512K, "
         "1M); the process must have the agent from its start (LD_PRELOAD)"), N_("N") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest, NULL, N_("PID") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  char *end = NULL;
  int pid, sock, out_fd;
  gboolean injected = FALSE;
  gint64 t0 = g_get_monotonic_time ();
  struct sigaction on_stop = { .sa_handler = on_stop_signal }, old_int, old_term;
  guint64 n_bytes = 0;
  gboolean exited = TRUE;

  context = g_option_context_new (_("PID"));
  g_option_context_set_summary (context,
      _("Trace the running process PID from now on, until Ctrl+C, --duration or its exit.\n"
        "A process started without the agent gets it injected (ptrace)."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "hmtrace attach: %s\n", error->message);
      return 2;
    }
  if (rest == NULL || rest[0] == NULL || rest[1] != NULL)
    {
      fprintf (stderr, _("hmtrace attach: give one PID; usage: hmtrace attach [-o FILE] "
                         "[--duration SECONDS] PID\n"));
      return 2;
    }
  pid = (int) strtol (rest[0], &end, 10);
  if (*rest[0] == '\0' || *end != '\0' || pid <= 0)
    {
      fprintf (stderr, _("hmtrace attach: “%s” is not a process id\n"), rest[0]);
      return 2;
    }
  if (duration < 0)
    {
      fprintf (stderr, _("hmtrace attach: --duration must not be negative\n"));
      return 2;
    }
  if (sample_text != NULL
      && (!hm_parse_byte_size (sample_text, &sample_bytes) || sample_bytes == 0
          || sample_bytes > (G_GUINT64_CONSTANT (1) << 40)))
    {
      fprintf (stderr, _("hmtrace attach: --sample-bytes %s is not a byte count from 1 to "
                         "1T such as 524288, 512K or 1M\n"), sample_text);
      return 2;
    }

  if (!hm_attach_check_process (pid, &error))
    {
      fprintf (stderr, "hmtrace attach: %s\n", error->message);
      return 1;
    }
  name = process_name (pid);

  /* From here on Ctrl+C only asks to stop: killed in the middle of the
   * injection, we would leave the process inside a call it cannot return
   * from. */
  sigaction (SIGINT, &on_stop, &old_int);
  sigaction (SIGTERM, &on_stop, &old_term);
  signal (SIGPIPE, SIG_IGN);

  sock = hm_attach_connect (pid, &error);
  if (sock < 0 && sample_bytes != 0
      && g_error_matches (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_NO_AGENT))
    {
      /* An injected agent leaves the program's calls to the C library when
       * it detaches: free() could not take back the sampled blocks, which
       * live in the agent's arena. */
      fprintf (stderr, _("hmtrace attach: --sample-bytes needs the agent in process %d from "
                         "its start (LD_PRELOAD=libhybridmem.so, or linked with it); it has "
                         "none, and an injected agent cannot sample: once it detaches, the "
                         "program's free() could not take back the sampled blocks. Attach "
                         "without --sample-bytes to record every allocation\n"), pid);
      return 1;
    }
  if (sock < 0 && g_error_matches (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_NO_AGENT))
    {
      g_autofree char *agent = hmtrace_find_agent ();
      g_clear_error (&error);
      if (!g_file_test (agent, G_FILE_TEST_IS_REGULAR))
        {
          fprintf (stderr, _("hmtrace attach: the agent library %s is missing; "
                             "set HM_AGENT_PATH to libhybridmem.so\n"), agent);
          return 1;
        }
      if (!hm_attach_inject (pid, agent, &error))
        {
          fprintf (stderr, "hmtrace attach: %s\n", error->message);
          return 1;
        }
      injected = TRUE;
      sock = hm_attach_connect (pid, &error);
    }
  if (sock < 0)
    {
      fprintf (stderr, "hmtrace attach: %s\n", error->message);
      return 1;
    }

  if (!hm_attach_begin (sock, sample_bytes, &error))
    {
      fprintf (stderr, "hmtrace attach: %d: %s\n", pid, error->message);
      close (sock);
      return 1;
    }

  if (output == NULL)
    output = g_strdup_printf ("hmtrace.%s.%d.hmt", name, pid);
  /* Opened now, to fail before the process is disturbed; emptied only when
   * the trace begins, so that an attach that gets none leaves a file that
   * was there as it was (and removes one it made). */
  struct stat before;
  gboolean existed = lstat (output, &before) == 0;
  out_fd = open (output, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (out_fd < 0)
    {
      int saved = errno;
      close (sock);   /* the agent stops tracing */
      fprintf (stderr, _("hmtrace attach: cannot write the trace to %s: %s\n"), output,
               g_strerror (saved));
      return 1;
    }

  /* Until the stop, then until the agent's END and its close. */
  gboolean stopping = FALSE;
  gint64 stop_deadline = 0;
  gint64 duration_end = duration > 0 ? g_get_monotonic_time () + (gint64) (duration * 1e6) : 0;
  for (;;)
    {
      struct pollfd p = { .fd = sock, .events = POLLIN };
      int n = poll (&p, 1, 100);
      if (n > 0)
        {
          char buf[65536];
          ssize_t r = read (sock, buf, sizeof buf);
          if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (r <= 0)
            break;               /* the END is in, or the process is gone */
          if (n_bytes == 0 && r >= 6 && memcmp (buf, "error ", 6) == 0)
            {
              /* the agent would not start this session (a trace starts
               * with its magic, never with text) */
              char *nl = memchr (buf, '\n', (size_t) r);
              fprintf (stderr, _("hmtrace attach: process %d: %.*s\n"), pid,
                       (int) ((nl ? nl - buf : r) - 6), buf + 6);
              close (sock);
              close (out_fd);
              if (!existed)
                unlink (output);
              sigaction (SIGINT, &old_int, NULL);
              sigaction (SIGTERM, &old_term, NULL);
              return 1;
            }
          if (n_bytes == 0 && ftruncate (out_fd, 0) != 0)
            {
              fprintf (stderr, _("hmtrace attach: cannot write to %s: %s; detaching\n"), output,
                       g_strerror (errno));
              stop_requested = 1;
            }
          if (n_bytes == 0 && !quiet)
            fprintf (stderr, _("hmtrace attach: attached to %d (%s) in %.1f ms%s; "
                               "Ctrl+C detaches\n"), pid, name,
                     (g_get_monotonic_time () - t0) / 1000.0,
                     injected ? _(", agent injected") : "");
          if (!write_all (out_fd, buf, (size_t) r))
            {
              fprintf (stderr, _("hmtrace attach: cannot write to %s: %s; detaching\n"), output,
                       g_strerror (errno));
              stop_requested = 1;
            }
          n_bytes += (guint64) r;
        }
      if (!stopping && (stop_requested || (duration_end && g_get_monotonic_time () >= duration_end)))
        {
          stopping = TRUE;
          exited = FALSE;
          /* the scan's findings come in the trace, before its end */
          if (analyze && send (sock, "analyze\n", 8, MSG_NOSIGNAL) != 8 && !quiet)
            fprintf (stderr, _("hmtrace attach: could not ask %d for an analysis: %s\n"), pid,
                     g_strerror (errno));
          shutdown (sock, SHUT_WR);
          stop_deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
        }
      if (stopping && g_get_monotonic_time () > stop_deadline)
        {
          fprintf (stderr, _("hmtrace attach: the agent did not finish the trace in 10 s; "
                             "%s may be cut\n"), output);
          break;
        }
    }
  close (sock);
  sigaction (SIGINT, &old_int, NULL);
  sigaction (SIGTERM, &old_term, NULL);
  if (close (out_fd) != 0)
    {
      fprintf (stderr, _("hmtrace attach: cannot write to %s: %s\n"), output, g_strerror (errno));
      return 1;
    }
  if (n_bytes == 0)
    {
      /* untouched if it was there; removed if we made it */
      if (!existed)
        unlink (output);
      fprintf (stderr, _("hmtrace attach: process %d sent no trace: another debugger is "
                         "attached to it, it runs the flight recorder (hmtrace dump %d writes "
                         "its last seconds), or it exited\n"), pid, pid);
      return 1;
    }
  if (!quiet)
    {
      g_autofree char *size = g_format_size (n_bytes);
      fprintf (stderr, _("hmtrace attach: %s; %s written to %s; see it with: hmtrace report %s\n"),
               exited ? _("the process exited") : _("detached, the process goes on"), size,
               output, output);
    }
  return 0;
}
