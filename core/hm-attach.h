/* hm-attach.h — attaching to a running process: finding its agent's socket,
 * or putting the agent into it (hm-injector.c).  Used by `hmtrace attach`
 * and the debugger's Attach dialog. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HM_ATTACH_ERROR (hm_attach_error_quark ())
GQuark hm_attach_error_quark (void);

typedef enum {
  HM_ATTACH_ERROR_NO_PROCESS,     /* no such PID */
  HM_ATTACH_ERROR_OTHER_USER,     /* the process is another user's */
  HM_ATTACH_ERROR_NO_AGENT,       /* nobody listens on the process's socket */
  HM_ATTACH_ERROR_PTRACE_DENIED,  /* the kernel does not let us ptrace it */
  HM_ATTACH_ERROR_EXITED,         /* it exited while we attached */
  HM_ATTACH_ERROR_STATIC,         /* statically linked: no dlopen to call */
  HM_ATTACH_ERROR_TRACED,         /* a debugger (or strace) already traces it */
  HM_ATTACH_ERROR_STOPPED,        /* stopped (SIGSTOP, Ctrl+Z): not resumed behind the user's back */
  HM_ATTACH_ERROR_AGENT_BUSY,     /* the agent is there but does not listen */
  HM_ATTACH_ERROR_FAILED,         /* anything else; the message says what */
  HM_ATTACH_ERROR_NOT_FLIGHT,     /* the agent listens, but not as a flight recorder */
} HmAttachError;

/* Where the agent of pid listens, if a socket is there (else NULL): in the
 * target's $XDG_RUNTIME_DIR/hybridmem/, ours, or /tmp/hybridmem-UID/. */
char *hm_attach_socket_path (int pid);

/* Checks that pid exists and is the caller's user's. */
gboolean hm_attach_check_process (int pid, GError **error);

/* Connects to pid's agent: a socket that streams a trace until it is shut
 * down for writing.  -1 with HM_ATTACH_ERROR_NO_AGENT when nobody listens. */
int hm_attach_connect (int pid, GError **error);

/* Opens the session on fd (from hm_attach_connect) at once: a trace sampled
 * at one sample per sample_bytes on average, or with 0 every allocation.
 * Without it the agent waits 50 ms for options, and a flight recorder,
 * which takes no attach, 2 s before it sends its empty stream.  An agent
 * that closed the socket already is no error here: the caller reads the
 * empty stream and says why. */
gboolean hm_attach_begin (int fd, guint64 sample_bytes, GError **error);

/* The flight recorder of pid's agent (HM_FLIGHT_RECORDER): "dump" writes
 * its window to path (made absolute here; NULL: the agent's default name)
 * and returns the file's name; "info" returns one line of key=value pairs,
 * what the recorder holds.  Blocks until the agent answers (a dump of a big
 * window takes a moment): a GUI calls it from a thread.  NULL with
 * HM_ATTACH_ERROR_NOT_FLIGHT when the agent is not a flight recorder, and
 * HM_ATTACH_ERROR_FAILED with the agent's message when the dump failed. */
char *hm_flight_ask (int pid, const char *request, const char *path, GError **error);

/* hm-injector.c: loads agent_path into pid, which was started without it,
 * by calling dlopen in it under ptrace; the process is left running in every
 * case.  On success the agent listens (hm_attach_connect). */
gboolean hm_attach_inject (int pid, const char *agent_path, GError **error);

/* One process of the user, for the Attach dialog. */
typedef struct {
  int pid;
  char *name;          /* comm */
  char *cmdline;       /* with spaces, may be empty */
  gboolean has_agent;  /* its agent's socket exists */
} HmProcessInfo;

void hm_process_info_free (HmProcessInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HmProcessInfo, hm_process_info_free)

/* The caller's user's processes but itself, by PID; an array of HmProcessInfo. */
GPtrArray *hm_attach_list_processes (void);

G_END_DECLS
