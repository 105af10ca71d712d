/* hm-attach.c — the debugger's side of an attach: is the process there and
 * ours, where does its agent listen, connect; and the list of processes one
 * may attach to.  The agent's side is agent/hm-listener.c. */
#include "hm-attach.h"

#include <errno.h>
#include <poll.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

G_DEFINE_QUARK (hm-attach-error-quark, hm_attach_error)

/* The value of NAME= in /proc/PID/environ, or NULL. */
static char *
target_environ (int pid, const char *name)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/environ", pid);
  g_autofree char *contents = NULL;
  gsize length = 0;
  size_t name_len = strlen (name);

  if (!g_file_get_contents (path, &contents, &length, NULL))
    return NULL;
  for (gsize i = 0; i < length;)
    {
      const char *entry = contents + i;
      size_t len = strnlen (entry, length - i);
      if (len > name_len && strncmp (entry, name, name_len) == 0 && entry[name_len] == '=')
        return g_strndup (entry + name_len + 1, len - name_len - 1);
      i += len + 1;
    }
  return NULL;
}

char *
hm_attach_socket_path (int pid)
{
  g_autofree char *their_runtime = target_environ (pid, "XDG_RUNTIME_DIR");
  const char *our_runtime = g_getenv ("XDG_RUNTIME_DIR");
  g_autofree char *fallback = g_strdup_printf ("/tmp/hybridmem-%u", (unsigned) geteuid ());
  const char *dirs[3] = { NULL, NULL, fallback };
  g_autofree char *d0 = NULL, *d1 = NULL;

  /* the agent looks at the process's own environment, so that comes first */
  if (their_runtime != NULL && their_runtime[0] == '/')
    dirs[0] = d0 = g_build_filename (their_runtime, "hybridmem", NULL);
  if (our_runtime != NULL && our_runtime[0] == '/')
    dirs[1] = d1 = g_build_filename (our_runtime, "hybridmem", NULL);
  for (int i = 0; i < 3; i++)
    {
      struct stat st;
      if (dirs[i] == NULL)
        continue;
      g_autofree char *name = g_strdup_printf ("%d.sock", pid);
      g_autofree char *path = g_build_filename (dirs[i], name, NULL);
      if (lstat (path, &st) == 0 && S_ISSOCK (st.st_mode) && st.st_uid == geteuid ())
        return g_steal_pointer (&path);
    }
  return NULL;
}

/* The Uid: line's real uid from /proc/PID/status, or -1. */
static long
process_uid (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *status = NULL;

  if (!g_file_get_contents (path, &status, NULL, NULL))
    return -1;
  const char *uid = strstr (status, "\nUid:");
  return uid != NULL ? strtol (uid + 5, NULL, 10) : -1;
}

gboolean
hm_attach_check_process (int pid, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (pid <= 0 || (kill (pid, 0) != 0 && errno == ESRCH))
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_NO_PROCESS,
                   _("no process has PID %d"), pid);
      return FALSE;
    }
  long uid = process_uid (pid);
  if (uid < 0)
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_NO_PROCESS,
                   _("no process has PID %d (it exited)"), pid);
      return FALSE;
    }
  if ((uid_t) uid != geteuid ())
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_OTHER_USER,
                   _("process %d belongs to another user (uid %ld); only your own processes "
                     "can be attached to"), pid, uid);
      return FALSE;
    }
  return TRUE;
}

int
hm_attach_connect (int pid, GError **error)
{
  g_autofree char *path = hm_attach_socket_path (pid);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd;

  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  if (path == NULL || strlen (path) >= sizeof addr.sun_path)
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_NO_AGENT,
                   _("process %d has no hybridmem agent listening"), pid);
      return -1;
    }
  memcpy (addr.sun_path, path, strlen (path) + 1);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED, _("cannot make a socket: %s"),
                   g_strerror (errno));
      return -1;
    }
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0)
    {
      int saved = errno;
      close (fd);
      /* a socket left behind by a killed process */
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_NO_AGENT,
                   _("process %d has no hybridmem agent listening (%s: %s)"), pid, path,
                   g_strerror (saved));
      return -1;
    }
  return fd;
}

gboolean
hm_attach_begin (int fd, guint64 sample_bytes, GError **error)
{
  g_autofree char *line = sample_bytes != 0
    ? g_strdup_printf ("sample %" G_GUINT64_FORMAT "\n", sample_bytes) : g_strdup ("\n");

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (send (fd, line, strlen (line), MSG_NOSIGNAL) != (ssize_t) strlen (line)
      /* closed at once (another debugger is attached, or the process went):
       * the empty stream that follows is what the caller reports */
      && errno != EPIPE && errno != ECONNRESET)
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED,
                   _("cannot start the session: %s"), g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

char *
hm_flight_ask (int pid, const char *request, const char *path, GError **error)
{
  g_autofree char *absolute = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GString) answer = g_string_new (NULL);
  int fd;

  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (path != NULL && *path != '\0')
    absolute = g_canonicalize_filename (path, NULL);   /* the agent's cwd is not ours */
  line = absolute != NULL ? g_strdup_printf ("%s %s\n", request, absolute)
                          : g_strdup_printf ("%s\n", request);
  if (strchr (line, '\n') != line + strlen (line) - 1)
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED,
                   _("the file name may not contain a line break"));
      return NULL;
    }
  fd = hm_attach_connect (pid, error);
  if (fd < 0)
    return NULL;
  /* An agent that is not a flight recorder starts a trace at once (an
   * attach), and ignores what we send: its first bytes say so. */
  {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll (&p, 1, 100) > 0)
      {
        char magic[4];
        ssize_t n = recv (fd, magic, sizeof magic, MSG_PEEK);
        if (n <= 0 || (n >= 1 && magic[0] == '\x89'))
          {
            close (fd);
            g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_NOT_FLIGHT,
                         _("process %d is not in flight-recorder mode (start it with "
                           "HM_FLIGHT_RECORDER=SECONDS or hmtrace record --flight-recorder)"),
                         pid);
            return NULL;
          }
      }
  }
  if (send (fd, line, strlen (line), MSG_NOSIGNAL) != (ssize_t) strlen (line))
    {
      int saved = errno;
      close (fd);
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED,
                   _("cannot ask process %d: %s"), pid, g_strerror (saved));
      return NULL;
    }
  for (;;)
    {
      char buf[1024];
      struct pollfd p = { .fd = fd, .events = POLLIN };
      /* the agent answers when the dump is written; it gives up after 2 min */
      int n = poll (&p, 1, 150000);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      ssize_t r = recv (fd, buf, sizeof buf, 0);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      g_string_append_len (answer, buf, r);
      if (memchr (buf, '\n', (size_t) r) != NULL)
        break;
    }
  close (fd);
  if (answer->len > 0 && answer->str[0] == '\x89')
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_NOT_FLIGHT,
                   _("process %d is not in flight-recorder mode (start it with "
                     "HM_FLIGHT_RECORDER=SECONDS or hmtrace record --flight-recorder)"), pid);
      return NULL;
    }
  g_strchomp (answer->str);
  if (g_str_has_prefix (answer->str, "ok "))
    return g_strdup (answer->str + 3);
  if (g_str_has_prefix (answer->str, "error "))
    {
      g_set_error (error, HM_ATTACH_ERROR, HM_ATTACH_ERROR_FAILED, _("process %d: %s"), pid,
                   answer->str + 6);
      return NULL;
    }
  if (strcmp (request, "info") == 0 && answer->len > 0)
    return g_strdup (answer->str);
  g_set_error (error, HM_ATTACH_ERROR, answer->len == 0 ? HM_ATTACH_ERROR_NOT_FLIGHT
                                                        : HM_ATTACH_ERROR_FAILED,
               answer->len == 0 ? _("process %d did not answer (is it in flight-recorder mode?)")
                                : _("process %d answered something else: %s"),
               pid, answer->str);
  return NULL;
}

void
hm_process_info_free (HmProcessInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->cmdline);
  g_free (info);
}

static gint
by_pid (gconstpointer a, gconstpointer b)
{
  const HmProcessInfo *x = *(HmProcessInfo *const *) a, *y = *(HmProcessInfo *const *) b;
  return (x->pid > y->pid) - (x->pid < y->pid);
}

GPtrArray *
hm_attach_list_processes (void)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) hm_process_info_free);
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *entry;

  if (proc == NULL)
    return list;
  while ((entry = g_dir_read_name (proc)) != NULL)
    {
      char *end;
      long pid = strtol (entry, &end, 10);
      if (*end != '\0' || pid <= 0 || pid == getpid () || process_uid ((int) pid) != (long) geteuid ())
        continue;
      g_autofree char *comm_path = g_strdup_printf ("/proc/%ld/comm", pid);
      g_autofree char *cmd_path = g_strdup_printf ("/proc/%ld/cmdline", pid);
      g_autofree char *comm = NULL, *cmdline = NULL;
      gsize cmd_len = 0;
      if (!g_file_get_contents (comm_path, &comm, NULL, NULL))
        continue;
      g_strchomp (comm);
      if (!g_file_get_contents (cmd_path, &cmdline, &cmd_len, NULL))
        cmdline = g_strdup ("");
      for (gsize i = 0; i + 1 < cmd_len; i++)
        if (cmdline[i] == '\0')
          cmdline[i] = ' ';
      HmProcessInfo *info = g_new0 (HmProcessInfo, 1);
      info->pid = (int) pid;
      info->name = g_steal_pointer (&comm);
      info->cmdline = g_utf8_make_valid (cmdline, -1);
      g_autofree char *socket_path = hm_attach_socket_path ((int) pid);
      info->has_agent = socket_path != NULL;
      g_ptr_array_add (list, info);
    }
  g_ptr_array_sort (list, by_pid);
  return list;
}
