/* hm-dbg-object-item.h — a region or a pool as a row of the Regions & Pools
 * view.  It reads the model's statistics of the object, which stay at one
 * address for the model's life; refresh it when a live trace grows.
 */
#pragma once

#include <glib-object.h>

#include "hm-dbg-trace.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_OBJECT_ITEM (hm_dbg_object_item_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgObjectItem, hm_dbg_object_item, HM_DBG, OBJECT_ITEM, GObject)

HmDbgObjectItem *hm_dbg_object_item_new_region         (HmDbgTrace          *trace,
                                                        const HmRegionStats *region);
HmDbgObjectItem *hm_dbg_object_item_new_pool           (HmDbgTrace          *trace,
                                                        const HmPoolStats   *pool);
HmObjectKind     hm_dbg_object_item_get_kind           (HmDbgObjectItem     *self);
const char      *hm_dbg_object_item_get_name           (HmDbgObjectItem     *self);
guint64          hm_dbg_object_item_get_created        (HmDbgObjectItem     *self);
/* When it was freed; G_MAXUINT64 while alive (or when the time is unknown). */
guint64          hm_dbg_object_item_get_freed          (HmDbgObjectItem     *self);
guint64          hm_dbg_object_item_get_allocations    (HmDbgObjectItem     *self);
guint64          hm_dbg_object_item_get_bytes          (HmDbgObjectItem     *self);
guint64          hm_dbg_object_item_get_peak_bytes     (HmDbgObjectItem     *self);
/* The leaf node of the stack that created it (0: none). */
guint64          hm_dbg_object_item_get_create_node    (HmDbgObjectItem     *self);
/* Tells the cells that a live trace changed the numbers. */
void             hm_dbg_object_item_refresh            (HmDbgObjectItem     *self);
HmDbgTrace      *hm_dbg_object_item_get_trace          (HmDbgObjectItem     *self);
void             hm_dbg_object_item_set_diff           (HmDbgObjectItem     *self,
                                                        HmDbgObjectItem     *base,
                                                        gboolean             gone);

G_END_DECLS
