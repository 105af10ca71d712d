/* hm-dbg-rebuild.h — when a view built from the whole model rebuilds.
 *
 * The call tree and the flame graph rebuild from every site of the model:
 * a live trace changes many times a second, and a hidden page need not
 * rebuild at all.  So a view rebuilds at a trace's change at most once a
 * second while it grows (at once when it is finished), and only when shown:
 * a hidden view is marked stale and rebuilds when it is next mapped.
 */
#pragma once

#include <gtk/gtk.h>

#include "hm-dbg-trace.h"

G_BEGIN_DECLS

typedef struct {
  GtkWidget *widget;                 /* the view; not owned */
  void (*rebuild) (GtkWidget *widget);
  gint64 last_us;                    /* when it last rebuilt */
  guint source;                      /* a rebuild waiting for its second */
  gboolean stale;                    /* to rebuild when next shown */
} HmDbgRebuild;

/* r lives in widget's instance; rebuild is the view's full rebuild, which
 * must call hm_dbg_rebuild_started() first. */
void hm_dbg_rebuild_init          (HmDbgRebuild *r,
                                   GtkWidget    *widget,
                                   void        (*rebuild) (GtkWidget *widget));
void hm_dbg_rebuild_started       (HmDbgRebuild *r);
/* Now if the view is shown, else when it is next mapped. */
void hm_dbg_rebuild_when_shown    (HmDbgRebuild *r);
/* The view's trace changed. */
void hm_dbg_rebuild_trace_changed (HmDbgRebuild *r,
                                   HmDbgTrace   *trace);
/* The view is going away: no rebuild pending. */
void hm_dbg_rebuild_clear         (HmDbgRebuild *r);

G_END_DECLS
