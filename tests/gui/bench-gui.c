/* bench-gui.c — the debugger on a big trace (issue 6's numbers).
 *
 * Writes a 20-million-event trace (tests/bench/synthetic-trace.h), opens it
 * in a debugger window as a user would, and prints:
 *   - the time to open it, and the longest the main loop went without
 *     running while it loaded (the window must never freeze);
 *   - the timeline's redraw time (the widget's snapshot) at full zoom-out
 *     and zoomed in (aim: under 16 ms, one frame at 60 Hz);
 *   - the memory the app holds for it, per event (aim: under 40 bytes).
 *
 *   bench-gui [EVENTS_IN_MILLIONS]     (under a display: xvfb-run -a)
 */
#include <gtk/gtk.h>
#include <glib/gstdio.h>

#include "hm-dbg-application.h"
#include "hm-dbg-timeline-view.h"
#include "hm-dbg-window.h"
#include "../bench/synthetic-trace.h"

static gint64 last_tick, longest_stall;

static gboolean
tick_cb (gpointer data)
{
  gint64 now = g_get_monotonic_time ();
  if (last_tick != 0 && now - last_tick > longest_stall)
    longest_stall = now - last_tick;
  last_tick = now;
  return G_SOURCE_CONTINUE;
}

static long
rss_kib (void)
{
  g_autofree char *status = NULL;
  long kib = 0;
  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    {
      const char *line = strstr (status, "VmRSS:");
      if (line != NULL)
        kib = strtol (line + 6, NULL, 10);
    }
  return kib;
}

static double
snapshot_ms (GtkWidget *widget)
{
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  double best = 1e9;
  for (guint i = 0; i < 20; i++)
    {
      gint64 before = g_get_monotonic_time ();
      GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
      g_autoptr(GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
      double ms = (g_get_monotonic_time () - before) / 1000.0;
      best = MIN (best, ms);
      snapshot = gtk_snapshot_new ();
    }
  g_object_unref (snapshot);
  return best;
}

static GtkWidget *
find_timeline (GtkWidget *widget)
{
  if (HM_DBG_IS_TIMELINE_VIEW (widget))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_timeline (c);
      if (found != NULL)
        return found;
    }
  return NULL;
}

int
main (int argc, char **argv)
{
  guint64 millions = argc > 1 ? g_ascii_strtoull (argv[1], NULL, 10) : 20;
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "hm-bench-gui.hmt", NULL);
  g_autoptr(GError) error = NULL;

  guint64 events = write_trace (path, millions * 1000000);
  gtk_init ();
  HmDbgApplication *app = hm_dbg_application_new (G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (app));
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 780);
  gtk_window_present (GTK_WINDOW (window));
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);

  long rss_before = rss_kib ();
  g_autoptr(GFile) file = g_file_new_for_path (path);
  guint tick = g_timeout_add (5, tick_cb, NULL);
  gint64 start = g_get_monotonic_time ();
  hm_dbg_window_open (window, file);
  HmDbgTrace *trace = NULL;
  while ((trace = hm_dbg_window_get_trace (window)) == NULL || !hm_dbg_trace_is_finished (trace))
    g_main_context_iteration (NULL, TRUE);
  double open_s = (g_get_monotonic_time () - start) / 1e6;
  for (gint64 until = g_get_monotonic_time () + 500000; g_get_monotonic_time () < until;)
    g_main_context_iteration (NULL, FALSE);
  g_source_remove (tick);
  long rss_after = rss_kib ();

  GtkWidget *timeline = find_timeline (GTK_WIDGET (window));
  g_assert_nonnull (timeline);
  hm_dbg_timeline_view_zoom_to_fit (HM_DBG_TIMELINE_VIEW (timeline));
  double full_ms = snapshot_ms (timeline);
  for (guint i = 0; i < 6; i++)
    hm_dbg_timeline_view_zoom_in (HM_DBG_TIMELINE_VIEW (timeline));
  double zoomed_ms = snapshot_ms (timeline);
  double per_event = (double) (rss_after - rss_before) * 1024.0 / (double) events;

  GStatBuf st;
  g_stat (path, &st);
  printf ("bench-gui: %" G_GUINT64_FORMAT " events, %.0f MB trace\n", events, st.st_size / 1e6);
  printf ("  open: %.2f s; the main loop's longest pause while loading: %.0f ms\n", open_s,
          longest_stall / 1000.0);
  printf ("  timeline redraw: full zoom-out %.2f ms, zoomed in 64x %.2f ms (aim < 16 ms: %s)\n",
          full_ms, zoomed_ms, MAX (full_ms, zoomed_ms) < 16 ? "yes" : "NO");
  printf ("  memory: %.1f MB more once open, %.1f bytes per event (aim < 40: %s)\n",
          (rss_after - rss_before) / 1024.0, per_event, per_event < 40 ? "yes" : "NO");
  gtk_window_destroy (GTK_WINDOW (window));
  g_unlink (path);
  g_object_unref (app);
  return 0;
}
