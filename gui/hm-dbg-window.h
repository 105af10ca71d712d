/* hm-dbg-window.h — a debugger window: one trace, opened from a file or
 * recorded live, shown as a timeline, sites, regions & pools and warnings.
 */
#pragma once

#include <gtk/gtk.h>

#include "hm-dbg-trace.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_WINDOW (hm_dbg_window_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgWindow, hm_dbg_window, HM_DBG, WINDOW, GtkApplicationWindow)

HmDbgWindow *hm_dbg_window_new        (GtkApplication     *application);
/* Asks process pid, in flight-recorder mode (HM_FLIGHT_RECORDER), for a
 * dump of its last seconds in the background, then opens it; a failure
 * shows in the window. */
void         hm_dbg_window_flight_dump (HmDbgWindow       *self,
                                        int                pid);
/* Reads file in the background; the views show it when it is read. */
void         hm_dbg_window_open       (HmDbgWindow        *self,
                                       GFile              *file);
/* Runs argv under the agent and shows its heap as it runs; a failure to
 * start shows in the window and returns FALSE. */
void         hm_dbg_window_open_diff  (HmDbgWindow        *self,
                                       GFile              *baseline,
                                       GFile              *compared);
gboolean     hm_dbg_window_record     (HmDbgWindow        *self,
                                       const char * const *argv,
                                       const char         *cwd);
/* Attaches to the running process pid (its agent's socket, or injecting the
 * agent) and shows its heap from now on; Stop detaches.  A failure shows in
 * the window and returns FALSE. */
gboolean     hm_dbg_window_attach     (HmDbgWindow        *self,
                                       int                 pid);
/* Writes the trace's bytes to destination: the file it was opened from, or
 * what a recording has received so far (what Save As does). */
void         hm_dbg_window_save_async  (HmDbgWindow        *self,
                                        GFile              *destination,
                                        GCancellable       *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer            user_data);
gboolean     hm_dbg_window_save_finish (HmDbgWindow        *self,
                                        GAsyncResult       *result,
                                        GError            **error);
HmDbgTrace  *hm_dbg_window_get_trace  (HmDbgWindow        *self);
gboolean     hm_dbg_window_is_loading (HmDbgWindow        *self);

G_END_DECLS
