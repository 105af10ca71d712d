/* hm-dbg-process-item.h — one running process in the Attach dialog's list. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define HM_DBG_TYPE_PROCESS_ITEM (hm_dbg_process_item_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgProcessItem, hm_dbg_process_item, HM_DBG, PROCESS_ITEM, GObject)

HmDbgProcessItem *hm_dbg_process_item_new           (int         pid,
                                                     const char *name,
                                                     const char *cmdline,
                                                     gboolean    has_agent);
int               hm_dbg_process_item_get_pid       (HmDbgProcessItem *self);
const char       *hm_dbg_process_item_get_name      (HmDbgProcessItem *self);
const char       *hm_dbg_process_item_get_cmdline   (HmDbgProcessItem *self);
gboolean          hm_dbg_process_item_get_has_agent (HmDbgProcessItem *self);

G_END_DECLS
