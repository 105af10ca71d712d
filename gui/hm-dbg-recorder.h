/* hm-dbg-recorder.h — runs a program under the agent and streams its trace
 * into a live HmDbgTrace, keeping the bytes so the session can be saved.
 */
#pragma once

#include <gio/gio.h>

#include "hm-dbg-trace.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_RECORDER (hm_dbg_recorder_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgRecorder, hm_dbg_recorder, HM_DBG, RECORDER, GObject)

HmDbgRecorder *hm_dbg_recorder_new            (void);
/* Starts argv[0] (looked up in PATH when it has no slash) in cwd (NULL: ours)
 * with the agent preloaded and the trace written to a pipe we read. */
gboolean       hm_dbg_recorder_start          (HmDbgRecorder      *self,
                                               const char * const *argv,
                                               const char         *cwd,
                                               GError            **error);
/* Attaches to the running process pid: through its agent's socket, or by
 * injecting the agent (hm-attach.h); its trace streams from now on. */
gboolean       hm_dbg_recorder_attach         (HmDbgRecorder      *self,
                                               int                 pid,
                                               GError            **error);
gboolean       hm_dbg_recorder_is_attached    (HmDbgRecorder      *self);
/* Attached: asks the process for a leak and dangling-pointer scan now (it
 * must have started with lifetime analysis); the findings arrive in the
 * trace as warnings.  FALSE when not attached or the request could not go. */
gboolean       hm_dbg_recorder_request_analysis (HmDbgRecorder    *self);
/* Asks the program to stop (SIGTERM, then SIGKILL after two seconds); the
 * trace ends when the pipe closes.  Attached, detaches instead: the process
 * goes on. */
void           hm_dbg_recorder_stop           (HmDbgRecorder      *self);
gboolean       hm_dbg_recorder_is_running     (HmDbgRecorder      *self);
gboolean       hm_dbg_recorder_was_stopped    (HmDbgRecorder      *self);
HmDbgTrace    *hm_dbg_recorder_get_trace      (HmDbgRecorder      *self);
/* The bytes received so far, in a temporary file that goes with the recorder. */
GFile         *hm_dbg_recorder_get_file       (HmDbgRecorder      *self);
/* How the program ended, for people ("exited with status 0"); NULL while it runs. */
const char    *hm_dbg_recorder_get_exit_text  (HmDbgRecorder      *self);

/* Where the agent library is: $HM_AGENT_PATH, ../agent/libhybridmem.so
 * beside a build tree's executable, or the installed one. */
char          *hm_dbg_recorder_find_agent     (void);

G_END_DECLS
