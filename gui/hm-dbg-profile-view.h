/* hm-dbg-profile-view.h — the profile editor: memory_profile.json opened
 * (or built from the open trace), its sites in a table with the fields a
 * person edits — the strategy override, the pool's object size and
 * capacity — and the global strategy.  A value the profile would refuse is
 * flagged in place and not kept; Save writes the file the agent reads on
 * its next run, atomically, and Save As writes it elsewhere.
 */
#pragma once

#include <gtk/gtk.h>

#include "hm-dbg-trace.h"
#include "hm-profile.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_PROFILE_VIEW (hm_dbg_profile_view_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgProfileView, hm_dbg_profile_view, HM_DBG, PROFILE_VIEW, GtkWidget)

GtkWidget  *hm_dbg_profile_view_new             (void);
/* The trace "From this trace" builds a profile of (may be NULL). */
void        hm_dbg_profile_view_set_trace       (HmDbgProfileView *self,
                                                 HmDbgTrace       *trace);
/* Opens a profile; on error the view keeps what it had and says why. */
gboolean    hm_dbg_profile_view_open            (HmDbgProfileView *self,
                                                 GFile            *file,
                                                 GError          **error);
/* A new profile of the trace's sites (unsaved). */
gboolean    hm_dbg_profile_view_build_from_trace (HmDbgProfileView *self);
/* Writes to file (NULL: where it was opened from or last saved). */
gboolean    hm_dbg_profile_view_save            (HmDbgProfileView *self,
                                                 GFile            *file,
                                                 GError          **error);
/* Edits as the table's cells do: field "strategy", "pool_object_size" or
 * "pool_capacity" of site row (the table's order: the profile's), or the
 * global "strategy" with row -1.  FALSE, with the reason shown in the row,
 * when the profile refuses the value. */
gboolean    hm_dbg_profile_view_edit            (HmDbgProfileView *self,
                                                 int               row,
                                                 const char       *field,
                                                 const char       *value);
HmProfile  *hm_dbg_profile_view_get_profile     (HmDbgProfileView *self);
gboolean    hm_dbg_profile_view_is_modified     (HmDbgProfileView *self);
/* The rows (one per site), for tests. */
GListModel *hm_dbg_profile_view_get_rows        (HmDbgProfileView *self);
/* The message shown for a row's last refused edit, or NULL. */
const char *hm_dbg_profile_view_get_row_error   (HmDbgProfileView *self,
                                                 guint             row);

G_END_DECLS
