/* hm-dbg-attach-dialog.h — lists the user's running processes (name, PID,
 * whether the hybridmem agent listens in it), searchable; emits "attach"
 * with the chosen PID.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HM_DBG_TYPE_ATTACH_DIALOG (hm_dbg_attach_dialog_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgAttachDialog, hm_dbg_attach_dialog, HM_DBG, ATTACH_DIALOG, GtkWindow)

HmDbgAttachDialog *hm_dbg_attach_dialog_new        (GtkWindow         *parent);
/* The same list to pick a process in flight-recorder mode to dump: its
 * title and button say so; "attach" still says which one was chosen. */
void               hm_dbg_attach_dialog_set_for_dump (HmDbgAttachDialog *self);
/* Lists the processes again. */
void               hm_dbg_attach_dialog_refresh    (HmDbgAttachDialog *self);
void               hm_dbg_attach_dialog_set_search (HmDbgAttachDialog *self,
                                                    const char        *text);
/* The rows shown (HmDbgProcessItem), after the search. */
GListModel        *hm_dbg_attach_dialog_get_shown  (HmDbgAttachDialog *self);
/* Selects the row of pid; FALSE if it is not shown. */
gboolean           hm_dbg_attach_dialog_select_pid (HmDbgAttachDialog *self,
                                                    int                pid);

G_END_DECLS
