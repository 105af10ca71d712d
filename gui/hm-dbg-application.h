/* hm-dbg-application.h — hybridmem-debugger: opens the traces it is given,
 * or records the program after --record, one window each.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HM_DBG_TYPE_APPLICATION (hm_dbg_application_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgApplication, hm_dbg_application, HM_DBG, APPLICATION, GtkApplication)

HmDbgApplication *hm_dbg_application_new (GApplicationFlags flags);

G_END_DECLS
