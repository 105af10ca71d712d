/* hm-dbg-rebuild.c — see the header. */
#include "hm-dbg-rebuild.h"

#define LIVE_REBUILD_US G_USEC_PER_SEC

static void
map_cb (GtkWidget *widget, HmDbgRebuild *r)
{
  if (r->stale)
    r->rebuild (widget);
}

void
hm_dbg_rebuild_init (HmDbgRebuild *r, GtkWidget *widget, void (*rebuild) (GtkWidget *widget))
{
  r->widget = widget;
  r->rebuild = rebuild;
  r->last_us = 0;
  r->source = 0;
  r->stale = FALSE;
  g_signal_connect (widget, "map", G_CALLBACK (map_cb), r);
}

void
hm_dbg_rebuild_started (HmDbgRebuild *r)
{
  g_clear_handle_id (&r->source, g_source_remove);
  r->last_us = g_get_monotonic_time ();
  r->stale = FALSE;
}

void
hm_dbg_rebuild_when_shown (HmDbgRebuild *r)
{
  if (gtk_widget_get_mapped (r->widget))
    r->rebuild (r->widget);
  else
    r->stale = TRUE;
}

static gboolean
rebuild_cb (gpointer data)
{
  HmDbgRebuild *r = data;
  r->source = 0;
  hm_dbg_rebuild_when_shown (r);
  return G_SOURCE_REMOVE;
}

void
hm_dbg_rebuild_trace_changed (HmDbgRebuild *r, HmDbgTrace *trace)
{
  gint64 since = g_get_monotonic_time () - r->last_us;

  if (hm_dbg_trace_is_finished (trace) || since >= LIVE_REBUILD_US)
    hm_dbg_rebuild_when_shown (r);
  else if (r->source == 0)
    r->source = g_timeout_add ((guint) ((LIVE_REBUILD_US - since) / 1000) + 1, rebuild_cb, r);
}

void
hm_dbg_rebuild_clear (HmDbgRebuild *r)
{
  g_clear_handle_id (&r->source, g_source_remove);
}
