/* hm-dbg-stack-view.h — one symbolised call stack under a heading: the
 * frames innermost first, each with its function, source line and module.
 */
#pragma once

#include <gtk/gtk.h>

#include "hm-dbg-trace.h"

G_BEGIN_DECLS

#define HM_DBG_TYPE_STACK_VIEW (hm_dbg_stack_view_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgStackView, hm_dbg_stack_view, HM_DBG, STACK_VIEW, GtkWidget)

GtkWidget  *hm_dbg_stack_view_new       (void);
const char *hm_dbg_stack_view_get_title (HmDbgStackView *self);
void        hm_dbg_stack_view_set_title (HmDbgStackView *self,
                                         const char     *title);
/* Shows the stack whose leaf node is node (0: none recorded); a NULL trace
 * shows the placeholder text. */
void        hm_dbg_stack_view_set_stack (HmDbgStackView *self,
                                         HmDbgTrace     *trace,
                                         guint64         node);
/* Opens frame index's source file at its line: with the editor-command
 * setting ("%f" the file, "%l" the line, e.g. "gnome-text-editor +%l %f"),
 * or the desktop's default application for it.  Sources recorded with a
 * relative path are looked for under the program's directory and its
 * parents.  A click on a frame's file:line does the same. */
gboolean    hm_dbg_stack_view_open_frame (HmDbgStackView *self,
                                          guint           index,
                                          GError        **error);
/* Frames shown (for tests). */
guint       hm_dbg_stack_view_get_n_frames (HmDbgStackView *self);

G_END_DECLS
