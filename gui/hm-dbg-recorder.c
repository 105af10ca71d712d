/* hm-dbg-recorder.c — a recording session: the program, the pipe its agent
 * writes the trace to, and the live trace fed from that pipe.
 *
 * The program gets the write end of a pipe as fd 3 and HM_TRACE_FD=3, the
 * same bytes hmtrace record writes to a file.  A reader thread copies the
 * pipe into a temporary file as fast as the program fills it, so the program
 * never waits for the window.  The file is the buffer between the two: the
 * main thread reads it back behind the writer and feeds the trace a few
 * milliseconds at a time between frames, catching up when it can, with
 * memory bounded however far behind it falls; and Save copies exactly the
 * bytes that arrived.  The session is over when the pipe has closed and the
 * program has been reaped, in either order.
 *
 * Attached to a running process (hm_dbg_recorder_attach), the bytes come
 * from its agent's socket instead, and there is no program to reap: Stop
 * shuts our side of the socket down, the agent ends the trace with a detach
 * and closes it, and the process runs on.
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include "hm-attach.h"
#include "hm-dbg-recorder.h"

#define READ_SIZE (256 * 1024)
#define FEED_SIZE (64 * 1024)
#define PIPE_SIZE (1024 * 1024)
#define TRACE_FD 3
#define STOP_GRACE_SECONDS 2
#define DETACH_GRACE_SECONDS 10
/* Parsing per main-loop turn, so frames keep coming while catching up. */
#define FEED_BUDGET_US 8000

struct _HmDbgRecorder
{
  GObject parent_instance;

  HmDbgTrace *trace;
  GSubprocess *process;
  GInputStream *input;
  GCancellable *cancellable;
  GFile *file;
  GFileIOStream *file_stream;    /* written by the reader thread only */
  int file_fd;                   /* the same file, read by the main thread */
  GThread *reader;
  gint feed_scheduled;           /* atomic */

  /* What the reader thread has written, under the mutex. */
  GMutex lock;
  guint64 written;
  gboolean pipe_closed;

  int socket_fd;                 /* attached: the agent's socket (input owns it) */
  int pid;                       /* attached: the process */

  guint64 fed;                   /* main thread: bytes given to the trace */
  char *exit_text;
  guint kill_source;
  guint reading : 1;
  guint waiting : 1;
  guint stopped : 1;
};

G_DEFINE_FINAL_TYPE (HmDbgRecorder, hm_dbg_recorder, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_RUNNING,
  N_PROPS
};

enum {
  FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

char *
hm_dbg_recorder_find_agent (void)
{
  const char *env = g_getenv ("HM_AGENT_PATH");
  g_autofree char *self = NULL;

  if (env != NULL && *env != '\0')
    return g_strdup (env);

  /* Run from a build tree: the agent is built in ../agent. */
  self = g_file_read_link ("/proc/self/exe", NULL);
  if (self != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self);
      g_autofree char *beside = g_build_filename (dir, "..", "agent", "libhybridmem.so", NULL);

      if (g_file_test (beside, G_FILE_TEST_IS_REGULAR))
        return g_canonicalize_filename (beside, NULL);
    }
  return g_strdup (HM_AGENT_INSTALLED_PATH);
}

static void
maybe_finish (HmDbgRecorder *self)
{
  if (self->reading || self->waiting)
    return;

  g_clear_handle_id (&self->kill_source, g_source_remove);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  g_signal_emit (self, signals[FINISHED], 0);
}

static void
end_of_stream (HmDbgRecorder *self)
{
  self->reading = FALSE;
  if (self->socket_fd >= 0 && self->exit_text == NULL)
    self->exit_text = g_strdup (self->stopped ? _("detached; the process goes on")
                                              : _("ended: the process exited"));
  if (self->reader != NULL)
    g_thread_join (g_steal_pointer (&self->reader));
  hm_dbg_trace_feed_eof (self->trace);
  maybe_finish (self);
}

static gboolean
feed_cb (gpointer data)
{
  HmDbgRecorder *self = data;
  gint64 start = g_get_monotonic_time ();
  guint8 buffer[FEED_SIZE];
  guint64 written;
  gboolean pipe_closed;

  /* Cleared first: a write from now on schedules another call. */
  g_atomic_int_set (&self->feed_scheduled, 0);
  g_mutex_lock (&self->lock);
  written = self->written;
  pipe_closed = self->pipe_closed;
  g_mutex_unlock (&self->lock);

  while (self->fed < written)
    {
      ssize_t n = pread (self->file_fd, buffer, MIN (sizeof buffer, written - self->fed),
                         (off_t) self->fed);

      if (n <= 0)
        {
          if (n < 0 && errno == EINTR)
            continue;
          g_warning ("Reading back the trace of %s: %s", hm_dbg_trace_get_title (self->trace),
                     n < 0 ? g_strerror (errno) : "unexpected end of file");
          self->fed = written;
          break;
        }
      hm_dbg_trace_feed (self->trace, buffer, (gsize) n);
      self->fed += (guint64) n;
      if (self->fed < written && g_get_monotonic_time () - start > FEED_BUDGET_US)
        {
          g_atomic_int_set (&self->feed_scheduled, 1);
          return G_SOURCE_CONTINUE;
        }
    }

  /* Two feeds may be queued at the end: the first one ends the stream. */
  if (pipe_closed && self->fed >= written && self->reading)
    {
      end_of_stream (self);
      /* The reader thread's reference, handed over with the end of the pipe. */
      g_object_unref (self);
    }
  return G_SOURCE_REMOVE;
}

/* From the reader thread.  Feeding runs below input and redraws in
 * priority, so a program writing faster than the window parses never
 * freezes the window. */
static void
schedule_feed (HmDbgRecorder *self)
{
  /* Always queued on the main context, never g_main_context_invoke():
   * that runs the callback right here when the main thread is between
   * iterations, and the end of the stream would then join this very
   * thread (EDEADLK, a fatal GLib error). */
  if (g_atomic_int_compare_and_exchange (&self->feed_scheduled, 0, 1))
    g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, feed_cb, g_object_ref (self), g_object_unref);
}

/* The reader thread: pipe to file until the pipe closes or the read is
 * cancelled.  It owns a reference to self that feed_cb() drops. */
static gpointer
reader_thread (gpointer data)
{
  HmDbgRecorder *self = data;
  GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (self->file_stream));
  g_autofree guint8 *buffer = g_malloc (READ_SIZE);

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_input_stream_read (self->input, buffer, READ_SIZE, self->cancellable, &error);

      if (n <= 0)
        {
          if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_warning ("Reading the trace of %s: %s", hm_dbg_trace_get_title (self->trace),
                       error->message);
          break;
        }
      if (!g_output_stream_write_all (output, buffer, (gsize) n, NULL, NULL, &error))
        {
          /* A full disk: what was written stays readable; stop here. */
          g_warning ("Keeping the trace in %s: %s", g_file_peek_path (self->file), error->message);
          break;
        }

      g_mutex_lock (&self->lock);
      self->written += (guint64) n;
      g_mutex_unlock (&self->lock);
      schedule_feed (self);
    }

  g_io_stream_close (G_IO_STREAM (self->file_stream), NULL, NULL);
  g_mutex_lock (&self->lock);
  self->pipe_closed = TRUE;
  g_mutex_unlock (&self->lock);
  /* A feed that looked before pipe_closed was set has cleared the flag
   * first, so this one is scheduled and sees it. */
  schedule_feed (self);
  return NULL;
}

static void
wait_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(HmDbgRecorder) self = user_data;
  GSubprocess *process = G_SUBPROCESS (object);

  g_subprocess_wait_finish (process, result, NULL);
  self->waiting = FALSE;
  if (g_subprocess_get_if_exited (process))
    self->exit_text = g_strdup_printf (_("exited with status %d"),
                                       g_subprocess_get_exit_status (process));
  else if (g_subprocess_get_if_signaled (process))
    self->exit_text = g_strdup_printf (_("killed by signal %d (%s)"),
                                       g_subprocess_get_term_sig (process),
                                       g_strsignal (g_subprocess_get_term_sig (process)));
  else
    self->exit_text = g_strdup (_("ended"));

  /* A child that inherited the pipe may keep it open; after a stop, stop reading too. */
  if (self->stopped)
    g_cancellable_cancel (self->cancellable);
  maybe_finish (self);
}

/* The temporary file between the reader thread and the trace. */
static gboolean
open_buffer_file (HmDbgRecorder *self,
                  GError       **error)
{
  self->file = g_file_new_tmp ("hybridmem-XXXXXX.hmt", &self->file_stream, error);
  if (self->file == NULL)
    return FALSE;
  self->file_fd = open (g_file_peek_path (self->file), O_RDONLY | O_CLOEXEC);
  if (self->file_fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s",
                   g_file_peek_path (self->file), g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

gboolean
hm_dbg_recorder_attach (HmDbgRecorder *self,
                        int            pid,
                        GError       **error)
{
  g_autofree char *comm_path = NULL;
  g_autofree char *title = NULL;
  int fd;

  g_return_val_if_fail (HM_DBG_IS_RECORDER (self), FALSE);
  g_return_val_if_fail (self->process == NULL && self->socket_fd < 0, FALSE);

  if (!hm_attach_check_process (pid, error))
    return FALSE;
  comm_path = g_strdup_printf ("/proc/%d/comm", pid);
  if (g_file_get_contents (comm_path, &title, NULL, NULL))
    g_strchomp (title);
  fd = hm_attach_connect (pid, NULL);
  if (fd < 0)
    {
      g_autofree char *agent = hm_dbg_recorder_find_agent ();
      if (!g_file_test (agent, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       _("The agent library %s is missing; set HM_AGENT_PATH to libhybridmem.so"),
                       agent);
          return FALSE;
        }
      /* a canonical path: the process resolves it from its own directory */
      g_autofree char *absolute = g_canonicalize_filename (agent, NULL);
      if (!hm_attach_inject (pid, absolute, error))
        return FALSE;
      fd = hm_attach_connect (pid, error);
      if (fd < 0)
        return FALSE;
    }
  if (!hm_attach_begin (fd, 0, error))
    {
      close (fd);
      return FALSE;
    }
  if (!open_buffer_file (self, error))
    {
      close (fd);
      return FALSE;
    }

  self->pid = pid;
  self->socket_fd = fd;
  self->trace = hm_dbg_trace_new_live (title != NULL ? title : comm_path);
  self->input = g_unix_input_stream_new (fd, TRUE);
  self->reading = TRUE;
  self->reader = g_thread_new ("hm-dbg-recorder", reader_thread, g_object_ref (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  return TRUE;
}

gboolean
hm_dbg_recorder_is_attached (HmDbgRecorder *self)
{
  g_return_val_if_fail (HM_DBG_IS_RECORDER (self), FALSE);

  return self->socket_fd >= 0;
}

gboolean
hm_dbg_recorder_start (HmDbgRecorder      *self,
                       const char * const *argv,
                       const char         *cwd,
                       GError            **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *program = NULL;
  g_autofree char *agent = NULL;
  g_autofree char *preload = NULL;
  g_autofree char *title = NULL;
  g_autoptr(GPtrArray) args = NULL;
  const char *old_preload;
  int fds[2];

  g_return_val_if_fail (HM_DBG_IS_RECORDER (self), FALSE);
  g_return_val_if_fail (argv != NULL && argv[0] != NULL, FALSE);
  g_return_val_if_fail (self->process == NULL && self->socket_fd < 0, FALSE);

  if (strchr (argv[0], '/') == NULL)
    program = g_find_program_in_path (argv[0]);
  else if (cwd != NULL && !g_path_is_absolute (argv[0]))
    program = g_build_filename (cwd, argv[0], NULL);
  else
    program = g_strdup (argv[0]);
  if (program == NULL || !g_file_test (program, G_FILE_TEST_IS_EXECUTABLE)
      || g_file_test (program, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("%s: no such program (not found, or not executable)"), argv[0]);
      return FALSE;
    }

  agent = hm_dbg_recorder_find_agent ();
  if (!g_file_test (agent, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("The agent library %s is missing; set HM_AGENT_PATH to libhybridmem.so"),
                   agent);
      return FALSE;
    }

  if (!open_buffer_file (self, error))
    return FALSE;

  /* A local socket, as an attached session's: the agent writes it with
   * MSG_NOSIGNAL, so a debugger that goes away never kills the program. */
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot make a socket for the trace: %s"), g_strerror (saved));
      return FALSE;
    }
  /* Room for bursts while the reader thread writes the file (best effort). */
  {
    int size = PIPE_SIZE;
    setsockopt (fds[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt (fds[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }

  old_preload = g_getenv ("LD_PRELOAD");
  preload = old_preload != NULL && *old_preload != '\0'
              ? g_strdup_printf ("%s:%s", agent, old_preload)
              : g_strdup (agent);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_setenv (launcher, "LD_PRELOAD", preload, TRUE);
  g_subprocess_launcher_setenv (launcher, "HM_TRACE_FD", G_STRINGIFY (TRACE_FD), TRUE);
  g_subprocess_launcher_unsetenv (launcher, "HM_TRACE");
  if (cwd != NULL)
    g_subprocess_launcher_set_cwd (launcher, cwd);
  /* The launcher owns the write end now and closes our copy when freed. */
  g_subprocess_launcher_take_fd (launcher, fds[1], TRACE_FD);

  args = g_ptr_array_new ();
  g_ptr_array_add (args, program);
  for (guint i = 1; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);

  self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) args->pdata, error);
  g_clear_object (&launcher);
  if (self->process == NULL)
    {
      close (fds[0]);
      return FALSE;
    }

  title = g_path_get_basename (program);
  self->trace = hm_dbg_trace_new_live (title);
  self->input = g_unix_input_stream_new (fds[0], TRUE);
  self->reading = TRUE;
  self->waiting = TRUE;
  self->reader = g_thread_new ("hm-dbg-recorder", reader_thread, g_object_ref (self));
  g_subprocess_wait_async (self->process, NULL, wait_cb, g_object_ref (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  return TRUE;
}

static gboolean
force_exit_cb (gpointer data)
{
  HmDbgRecorder *self = data;

  self->kill_source = 0;
  if (self->waiting)
    g_subprocess_force_exit (self->process);
  g_cancellable_cancel (self->cancellable);
  return G_SOURCE_REMOVE;
}

void
hm_dbg_recorder_stop (HmDbgRecorder *self)
{
  g_return_if_fail (HM_DBG_IS_RECORDER (self));

  if (!hm_dbg_recorder_is_running (self) || self->stopped)
    return;

  self->stopped = TRUE;
  if (self->socket_fd >= 0)
    {
      /* the agent writes the rest and a detach record, then closes */
      shutdown (self->socket_fd, SHUT_WR);
      self->kill_source = g_timeout_add_seconds (DETACH_GRACE_SECONDS, force_exit_cb, self);
    }
  else if (self->waiting)
    {
      g_subprocess_send_signal (self->process, SIGTERM);
      self->kill_source = g_timeout_add_seconds (STOP_GRACE_SECONDS, force_exit_cb, self);
    }
  else
    g_cancellable_cancel (self->cancellable);
}

gboolean
hm_dbg_recorder_is_running (HmDbgRecorder *self)
{
  g_return_val_if_fail (HM_DBG_IS_RECORDER (self), FALSE);

  return self->reading || self->waiting;
}

gboolean
hm_dbg_recorder_was_stopped (HmDbgRecorder *self)
{
  g_return_val_if_fail (HM_DBG_IS_RECORDER (self), FALSE);

  return self->stopped;
}

HmDbgTrace *
hm_dbg_recorder_get_trace (HmDbgRecorder *self)
{
  g_return_val_if_fail (HM_DBG_IS_RECORDER (self), NULL);

  return self->trace;
}

GFile *
hm_dbg_recorder_get_file (HmDbgRecorder *self)
{
  g_return_val_if_fail (HM_DBG_IS_RECORDER (self), NULL);

  return self->file;
}

const char *
hm_dbg_recorder_get_exit_text (HmDbgRecorder *self)
{
  g_return_val_if_fail (HM_DBG_IS_RECORDER (self), NULL);

  return self->exit_text;
}

static void
hm_dbg_recorder_dispose (GObject *object)
{
  HmDbgRecorder *self = HM_DBG_RECORDER (object);

  /* The reader thread and the wait hold references: reaching here, they
   * are over. */
  g_clear_handle_id (&self->kill_source, g_source_remove);
  g_clear_object (&self->input);
  g_clear_object (&self->process);

  G_OBJECT_CLASS (hm_dbg_recorder_parent_class)->dispose (object);
}

static void
hm_dbg_recorder_finalize (GObject *object)
{
  HmDbgRecorder *self = HM_DBG_RECORDER (object);

  if (self->file != NULL)
    g_file_delete (self->file, NULL, NULL);
  g_clear_object (&self->file_stream);
  g_clear_object (&self->file);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->trace);
  if (self->file_fd >= 0)
    close (self->file_fd);
  g_mutex_clear (&self->lock);
  g_free (self->exit_text);

  G_OBJECT_CLASS (hm_dbg_recorder_parent_class)->finalize (object);
}

static void
hm_dbg_recorder_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  HmDbgRecorder *self = HM_DBG_RECORDER (object);

  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, hm_dbg_recorder_is_running (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_recorder_class_init (HmDbgRecorderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hm_dbg_recorder_dispose;
  object_class->finalize = hm_dbg_recorder_finalize;
  object_class->get_property = hm_dbg_recorder_get_property;

  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The program has ended and every byte it wrote has been read. */
  signals[FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
hm_dbg_recorder_init (HmDbgRecorder *self)
{
  self->cancellable = g_cancellable_new ();
  self->file_fd = -1;
  self->socket_fd = -1;
  g_mutex_init (&self->lock);
}

HmDbgRecorder *
hm_dbg_recorder_new (void)
{
  return g_object_new (HM_DBG_TYPE_RECORDER, NULL);
}

gboolean
hm_dbg_recorder_request_analysis (HmDbgRecorder *self)
{
  g_return_val_if_fail (HM_DBG_IS_RECORDER (self), FALSE);

  /* the agent's listener runs hm_analyze: its warnings come in the trace */
  return self->socket_fd >= 0 && hm_dbg_recorder_is_running (self)
         && send (self->socket_fd, "analyze\n", 8, MSG_NOSIGNAL) == 8;
}
