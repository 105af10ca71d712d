/* hm-dbg-record-dialog.h — asks which program to record and with which
 * arguments; emits "record" with the argument vector.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HM_DBG_TYPE_RECORD_DIALOG (hm_dbg_record_dialog_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgRecordDialog, hm_dbg_record_dialog, HM_DBG, RECORD_DIALOG, GtkWindow)

HmDbgRecordDialog *hm_dbg_record_dialog_new         (GtkWindow         *parent);
const char        *hm_dbg_record_dialog_get_command (HmDbgRecordDialog *self);
void               hm_dbg_record_dialog_set_command (HmDbgRecordDialog *self,
                                                     const char        *command);

G_END_DECLS
