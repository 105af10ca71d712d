/* hm-dbg-window.c — the window: where a trace comes from (a file read in the
 * background, a recording streamed live), the summary line, the info bar
 * for damaged traces, and the four views that share the trace.
 *
 * Everything the user can do is a win.* action, so buttons, menus,
 * keyboard shortcuts and tests all take the same path.
 */
#include <glib/gi18n.h>

#include "hm-dbg-window.h"
#include "hm-attach.h"

#include "hm-dbg-format.h"
#include "hm-dbg-objects-view.h"
#include "hm-dbg-attach-dialog.h"
#include "hm-dbg-flame-view.h"
#include "hm-dbg-tree-view.h"
#include "hm-dbg-profile-view.h"
#include "hm-dbg-record-dialog.h"
#include "hm-dbg-recorder.h"
#include "hm-dbg-site.h"
#include "hm-dbg-sites-view.h"
#include "hm-dbg-timeline-view.h"
#include "hm-dbg-warnings-view.h"

#define APP_ID "io.github.hybridmem.Debugger"
#define PROGRESS_INTERVAL_MS 100
#define N_RECENT 8

struct _HmDbgWindow
{
  GtkApplicationWindow parent_instance;

  /* template */
  GtkButton *stop_button;
  GtkButton *analyze_button;
  GtkButton *record_button;
  GtkButton *attach_button;
  GtkStackSwitcher *view_switcher;
  GMenu *recent_section;
  GtkInfoBar *info_bar;
  GtkLabel *info_label;
  char *loaded_message;        /* said once the trace being read is shown */
  GtkStack *main_stack;
  GtkLabel *loading_label;
  GtkProgressBar *progress_bar;
  GtkLabel *program_label;
  GtkLabel *summary_label;
  GtkStack *view_stack;
  GtkStackPage *warnings_page;
  GtkStackPage *objects_page;
  HmDbgTimelineView *timeline_view;
  GtkLabel *selection_label;
  GtkButton *clear_selection_button;
  HmDbgSitesView *sites_view;
  HmDbgObjectsView *objects_view;
  HmDbgFlameView *flame_view;
  HmDbgTreeView *tree_view;
  HmDbgProfileView *profile_view;
  HmDbgWarningsView *warnings_view;

  HmDbgTrace *trace;
  gulong trace_changed_handler;
  HmDbgRecorder *recorder;
  HmDbgTrace *loading_trace;
  GCancellable *load_cancellable;
  /* --diff: the baseline, read first, then the compared file */
  HmDbgTrace *pending_baseline;
  GFile *pending_compared;
  guint progress_source;
  GtkFileChooserNative *chooser;
  GSettings *settings;
};

G_DEFINE_FINAL_TYPE (HmDbgWindow, hm_dbg_window, GTK_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_TRACE,
  PROP_LOADING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- the info bar ------------------------------------------------------ */

static void
show_message (HmDbgWindow    *self,
              GtkMessageType  type,
              const char     *message)
{
  gtk_info_bar_set_message_type (self->info_bar, type);
  gtk_label_set_text (self->info_label, message);
  gtk_info_bar_set_revealed (self->info_bar, TRUE);
}

static void
hide_message (HmDbgWindow *self)
{
  gtk_info_bar_set_revealed (self->info_bar, FALSE);
}

static void
info_bar_response_cb (HmDbgWindow *self,
                      int          response,
                      GtkInfoBar  *info_bar)
{
  hide_message (self);
}

/* What a reader of a cut, damaged or stopped trace needs to know: that the
 * views show only the part before a byte offset, and why it ends there. */
static void
update_message (HmDbgWindow *self)
{
  HmHeapModel *model = self->trace != NULL ? hm_dbg_trace_get_model (self->trace) : NULL;
  const GError *error;
  g_autofree char *offset = NULL;
  g_autofree char *size = NULL;
  g_autofree char *text = NULL;

  if (model == NULL || !hm_dbg_trace_is_finished (self->trace))
    return;

  error = hm_dbg_trace_get_error (self->trace);
  offset = hm_dbg_format_count (hm_heap_model_get_truncated_offset (model));
  size = hm_dbg_format_count (hm_dbg_trace_get_size (self->trace));

  if (self->recorder != NULL && hm_dbg_recorder_is_attached (self->recorder)
      && hm_dbg_trace_get_size (self->trace) == 0)
    text = g_strdup_printf (_("%s sent no trace: another debugger is attached to it, it runs "
                              "the flight recorder (Dump a Flight Recorder… takes its last "
                              "seconds), or it exited."), hm_dbg_trace_get_title (self->trace));
  else if (self->recorder != NULL && hm_dbg_trace_get_size (self->trace) == 0)
    text = g_strdup_printf (_("The agent did not load into %s, so nothing was recorded. "
                              "Statically linked and set-user-ID programs ignore LD_PRELOAD."),
                            hm_dbg_trace_get_title (self->trace));
  else if (error != NULL)
    text = g_strdup_printf (_("This trace is damaged at byte %s of %s (%s). "
                              "Everything before that byte is shown."),
                            offset, size, error->message);
  else if (hm_heap_model_is_truncated (model) && self->recorder != NULL
           && hm_dbg_recorder_was_stopped (self->recorder))
    text = g_strdup_printf (_("Recording stopped: the program was stopped before it ended, "
                              "and the trace ends at byte %s."), offset);
  else if (hm_heap_model_is_truncated (model) && self->recorder != NULL)
    text = g_strdup_printf (_("The program %s before its trace was complete; "
                              "the trace ends at byte %s."),
                            hm_dbg_recorder_get_exit_text (self->recorder), offset);
  else if (hm_heap_model_is_truncated (model))
    text = g_strdup_printf (_("This trace is cut at byte %s of %s: the recording ended before "
                              "the program did (it was killed, or the disk was full). "
                              "Everything before that byte is shown."),
                            offset, size);

  if (text != NULL)
    show_message (self, error != NULL ? GTK_MESSAGE_ERROR : GTK_MESSAGE_WARNING, text);
  else if (self->loaded_message != NULL)
    show_message (self, GTK_MESSAGE_INFO, self->loaded_message);
  else
    hide_message (self);
  g_clear_pointer (&self->loaded_message, g_free);
}

/* ---- the summary line -------------------------------------------------- */

static char *
describe_end (HmDbgWindow *self,
              HmHeapModel *model)
{
  HmEndReason reason;
  gint64 status;

  if (self->recorder != NULL && hm_dbg_recorder_is_running (self->recorder))
    return g_strdup (hm_dbg_recorder_is_attached (self->recorder) ? _("attached, recording…")
                                                                  : _("recording…"));
  if (!hm_heap_model_get_end (model, &reason, &status))
    return g_strdup (_("no end recorded"));
  switch (reason)
    {
    case HM_END_EXIT:
      if (status < 0)
        return g_strdup (_("exited"));   /* not seen by an injected agent */
      return g_strdup_printf (_("exited with status %d"), (int) status);
    case HM_END_SIGNAL:
      return g_strdup_printf (_("killed by signal %d"), (int) status);
    case HM_END_EXEC:
      return g_strdup (_("replaced itself with exec"));
    case HM_END_DETACH:
      return g_strdup (_("detached"));
    default:
      return g_strdup (_("ended"));
    }
}

static void
update_summary (HmDbgWindow *self)
{
  HmHeapModel *model = hm_dbg_trace_get_model (self->trace);
  const HmHeapTotals *totals;
  const HmTraceHeader *header;
  const char *exe;
  g_autofree char *program = NULL;
  g_autofree char *allocations = NULL;
  g_autofree char *allocated = NULL;
  g_autofree char *peak = NULL;
  g_autofree char *peak_at = NULL;
  g_autofree char *leaked = NULL;
  g_autofree char *blocks = NULL;
  g_autofree char *duration = NULL;
  g_autofree char *end = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *title = NULL;
  g_autofree char *warnings_title = NULL;
  GArray *warnings;
  guint n_warnings;

  if (model == NULL)
    return;

  totals = hm_heap_model_get_totals (model);
  header = hm_heap_model_get_header (model);
  exe = hm_heap_model_get_info (model, "exe");
  if (exe != NULL)
    {
      g_autofree char *base = g_path_get_basename (exe);
      program = header != NULL ? g_strdup_printf (_("%s (pid %u)"), base, header->pid)
                               : g_strdup (base);
    }
  else
    program = g_strdup (hm_dbg_trace_get_title (self->trace));
  gtk_label_set_text (self->program_label, program);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->program_label),
                               hm_heap_model_get_info (model, "cmdline"));

  allocations = hm_dbg_format_count (totals->allocations);
  allocated = hm_dbg_format_size (totals->bytes_allocated, FALSE);
  peak = hm_dbg_format_size (totals->peak_bytes, FALSE);
  peak_at = hm_dbg_format_time (totals->peak_ts);
  leaked = hm_dbg_format_size (totals->live_bytes, FALSE);
  blocks = hm_dbg_format_count (totals->live_blocks);
  duration = hm_dbg_format_time (totals->last_ts);
  end = describe_end (self, model);
  /* Translators: the summary line.  The heap is malloc, manual and GC
   * memory (regions and pools are on the timeline); "not freed" is what was
   * still live at the end of the trace */
  summary = g_strdup_printf (_("%s allocations · %s allocated · heap peak %s at %s · "
                               "%s in %s blocks not freed · %s, %s"),
                             allocations, allocated, peak, peak_at, leaked, blocks, duration, end);
  if (hm_heap_model_get_sample_bytes (model) != 0)
    {
      g_autofree char *mean = hm_dbg_format_size (hm_heap_model_get_sample_bytes (model), FALSE);
      char *sampled;
      /* Translators: after the summary line of a sampled trace (hmtrace
       * record --sample-bytes); %s is a size such as "512 KiB" */
      sampled = g_strdup_printf (_("%s · sampled, one per %s: numbers are estimates"), summary,
                                 mean);
      g_free (summary);
      summary = sampled;
    }
  if (hm_dbg_trace_get_baseline (self->trace) != NULL)
    {
      HmDbgTrace *baseline = hm_dbg_trace_get_baseline (self->trace);
      const HmHeapTotals *before = hm_heap_model_get_totals (hm_dbg_trace_get_model (baseline));
      g_autofree char *d_allocations = hm_dbg_format_count_delta (before->allocations,
                                                                  totals->allocations);
      g_autofree char *d_allocated = hm_dbg_format_size_delta (before->bytes_allocated,
                                                               totals->bytes_allocated);
      g_autofree char *d_peak = hm_dbg_format_size_delta (before->peak_bytes, totals->peak_bytes);
      g_autofree char *d_leaked = hm_dbg_format_size_delta (before->live_bytes, totals->live_bytes);
      g_autofree char *d_blocks = hm_dbg_format_count_delta (before->live_blocks,
                                                             totals->live_blocks);
      /* a sentence, not a table: "±0" says "no change" better than a dash */
      char **changes[] = { &d_allocations, &d_allocated, &d_peak, &d_leaked, &d_blocks };
      for (guint i = 0; i < G_N_ELEMENTS (changes); i++)
        if (g_str_equal (*changes[i], "–"))
          {
            g_free (*changes[i]);
            *changes[i] = g_strdup ("±0");
          }
      g_free (summary);
      /* Translators: the summary line in diff mode: what changed from the
       * baseline (first %s, a file name) to this trace */
      summary = g_strdup_printf (_("Compared with %s: %s allocations · %s allocated · heap peak %s · "
                                   "%s in %s blocks not freed"),
                                 hm_dbg_trace_get_title (baseline), d_allocations, d_allocated,
                                 d_peak, d_leaked, d_blocks);
      title = g_strdup_printf (_("%s → %s — hybridmem Debugger"), hm_dbg_trace_get_title (baseline),
                               hm_dbg_trace_get_title (self->trace));
    }
  else
    title = g_strdup_printf (_("%s — hybridmem Debugger"), hm_dbg_trace_get_title (self->trace));
  gtk_label_set_text (self->summary_label, summary);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->summary_label), summary);

  gtk_window_set_title (GTK_WINDOW (self), title);

  warnings = hm_heap_model_get_warnings (model);
  n_warnings = warnings != NULL ? warnings->len : 0;
  if (n_warnings > 0)
    warnings_title = g_strdup_printf (_("Warnings (%u)"), n_warnings);
  else
    warnings_title = g_strdup (_("Warnings"));
  gtk_stack_page_set_title (self->warnings_page, warnings_title);
  gtk_stack_page_set_needs_attention (self->warnings_page, n_warnings > 0);
}

static void
update_actions (HmDbgWindow *self)
{
  gboolean recording = self->recorder != NULL && hm_dbg_recorder_is_running (self->recorder);
  gboolean loading = self->load_cancellable != NULL;
  gboolean can_save = self->trace != NULL && !loading
                      && (hm_dbg_trace_get_file (self->trace) != NULL || self->recorder != NULL);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save", can_save);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export-chart",
                                 self->trace != NULL && !loading);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.stop", recording);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-load", loading);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.find", self->trace != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->stop_button), recording);
  gboolean attached = recording && hm_dbg_recorder_is_attached (self->recorder);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.analyze", attached);
  gtk_widget_set_visible (GTK_WIDGET (self->analyze_button), attached);
  gtk_widget_set_visible (GTK_WIDGET (self->record_button), !recording);
  gtk_widget_set_visible (GTK_WIDGET (self->attach_button), !recording);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->stop_button),
                               recording && hm_dbg_recorder_is_attached (self->recorder)
                                 ? _("Detach: the Process Goes On") : _("Stop the Program"));
  gtk_widget_set_visible (GTK_WIDGET (self->view_switcher), self->trace != NULL && !loading);
}

static void
trace_changed_cb (HmDbgWindow *self,
                  HmDbgTrace  *trace)
{
  update_summary (self);
  update_message (self);
}

/* ---- the time range ---------------------------------------------------- */

static void
selection_changed_cb (HmDbgWindow       *self,
                      GParamSpec        *pspec,
                      HmDbgTimelineView *timeline)
{
  guint64 start = 0, end = 0;
  gboolean has_range = hm_dbg_timeline_view_get_selection (timeline, &start, &end);
  HmDbgRangeStats stats;

  gtk_widget_set_visible (GTK_WIDGET (self->clear_selection_button), has_range);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.clear-selection", has_range);
  if (has_range && self->trace != NULL
      && hm_dbg_trace_get_range_stats (self->trace, start, end, &stats))
    {
      g_autofree char *from = hm_dbg_format_time (start);
      g_autofree char *to = hm_dbg_format_time (end);
      g_autofree char *length = hm_dbg_format_time (end - start);
      g_autofree char *peak = hm_dbg_format_size (stats.peak_bytes, FALSE);
      g_autofree char *allocations = hm_dbg_format_count (stats.allocations);
      g_autofree char *frees = hm_dbg_format_count (stats.frees);
      g_autofree char *text =
        g_strdup_printf (_("Selected %s – %s (%s): peak %s, %s allocations, %s frees"),
                         from, to, length, peak, allocations, frees);
      gtk_label_set_text (self->selection_label, text);
    }
  else
    gtk_label_set_text (self->selection_label,
                        _("Drag across the timeline to select a range; Ctrl+scroll or +/− zooms, "
                          "scroll pans."));

  hm_dbg_sites_view_set_time_range (self->sites_view, has_range, start, end);
  hm_dbg_objects_view_set_time_range (self->objects_view, has_range, start, end);
  hm_dbg_warnings_view_set_time_range (self->warnings_view, has_range, start, end);
}

/* ---- showing a trace --------------------------------------------------- */

static void
recorder_finished_cb (HmDbgWindow   *self,
                      HmDbgRecorder *recorder)
{
  update_actions (self);
  update_summary (self);
  update_message (self);
}

/* The selected site's share, drawn on the timeline. */
static void
site_selected_cb (HmDbgWindow *self)
{
  if (self->sites_view == NULL || self->timeline_view == NULL)
    return;   /* being torn down */
  /* a person's choice on the Sites page, not the first row a new list
   * selects by itself */
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->view_stack), "sites") != 0)
    return;
  GtkSelectionModel *rows = hm_dbg_sites_view_get_model (self->sites_view);
  HmDbgSite *site = GTK_IS_SINGLE_SELECTION (rows)
                      ? gtk_single_selection_get_selected_item (GTK_SINGLE_SELECTION (rows)) : NULL;
  HmHeapModel *model = self->trace ? hm_dbg_trace_get_model (self->trace) : NULL;

  /* in diff mode, a site only the baseline has is not on this timeline */
  if (site == NULL || model == NULL || hm_dbg_site_get_trace (site) != self->trace)
    {
      hm_dbg_timeline_view_set_highlight (self->timeline_view, NULL, 0);
      return;
    }
  guint64 bucket_ns = 0;
  g_autoptr(GArray) series = hm_heap_model_get_site_series (model, hm_dbg_site_get_stack (site),
                                                            &bucket_ns);
  hm_dbg_timeline_view_set_highlight (self->timeline_view, series, bucket_ns);
}

static void
set_trace (HmDbgWindow   *self,
           HmDbgTrace    *trace,
           HmDbgRecorder *recorder)
{
  if (self->trace != NULL)
    g_clear_signal_handler (&self->trace_changed_handler, self->trace);
  if (self->recorder != NULL && self->recorder != recorder)
    {
      g_signal_handlers_disconnect_by_data (self->recorder, self);
      hm_dbg_recorder_stop (self->recorder);
    }

  g_set_object (&self->recorder, recorder);
  g_set_object (&self->trace, trace);
  hide_message (self);

  if (recorder != NULL)
    g_signal_connect_object (recorder, "finished", G_CALLBACK (recorder_finished_cb), self,
                             G_CONNECT_SWAPPED);
  if (trace != NULL)
    self->trace_changed_handler = g_signal_connect_object (trace, "changed",
                                                           G_CALLBACK (trace_changed_cb), self,
                                                           G_CONNECT_SWAPPED);

  hm_dbg_timeline_view_set_trace (self->timeline_view, trace);
  hm_dbg_sites_view_set_trace (self->sites_view, trace);
  hm_dbg_timeline_view_set_highlight (self->timeline_view, NULL, 0);
  hm_dbg_objects_view_set_trace (self->objects_view, trace);
  hm_dbg_flame_view_set_trace (self->flame_view, trace);
  hm_dbg_tree_view_set_trace (self->tree_view, trace);
  hm_dbg_profile_view_set_trace (self->profile_view, trace);
  hm_dbg_warnings_view_set_trace (self->warnings_view, trace);
  selection_changed_cb (self, NULL, self->timeline_view);

  if (trace != NULL)
    {
      gtk_stack_set_visible_child_name (self->main_stack, "trace");
      gtk_stack_set_visible_child_name (self->view_stack, "timeline");
      update_summary (self);
      update_message (self);
    }
  else
    gtk_stack_set_visible_child_name (self->main_stack, "empty");

  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRACE]);
}

HmDbgTrace *
hm_dbg_window_get_trace (HmDbgWindow *self)
{
  g_return_val_if_fail (HM_DBG_IS_WINDOW (self), NULL);

  return self->trace;
}

gboolean
hm_dbg_window_is_loading (HmDbgWindow *self)
{
  g_return_val_if_fail (HM_DBG_IS_WINDOW (self), FALSE);

  return self->load_cancellable != NULL;
}

/* ---- opening a file ---------------------------------------------------- */

static gboolean
progress_cb (gpointer data)
{
  HmDbgWindow *self = data;

  if (self->loading_trace != NULL)
    gtk_progress_bar_set_fraction (self->progress_bar,
                                   hm_dbg_trace_get_load_fraction (self->loading_trace));
  return G_SOURCE_CONTINUE;
}

static void
end_loading (HmDbgWindow *self)
{
  g_clear_handle_id (&self->progress_source, g_source_remove);
  g_clear_object (&self->load_cancellable);
  g_clear_object (&self->loading_trace);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

static void
load_failed (HmDbgWindow  *self,
             HmDbgTrace   *trace,
             const GError *error)
{
  if (trace == self->loading_trace)
    {
      end_loading (self);
      g_clear_object (&self->pending_baseline);
      g_clear_object (&self->pending_compared);
      gtk_stack_set_visible_child_name (self->main_stack, self->trace != NULL ? "trace" : "empty");
      update_actions (self);
    }
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* The reader's messages name the file already. */
      g_autofree char *text = g_strdup_printf (_("Could not open the trace: %s"), error->message);
      show_message (self, GTK_MESSAGE_ERROR, text);
    }
}

static void start_loading (HmDbgWindow         *self,
                           GFile               *file,
                           GAsyncReadyCallback  callback);

static void
load_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(HmDbgWindow) self = user_data;
  HmDbgTrace *trace = HM_DBG_TRACE (object);
  g_autoptr(GError) error = NULL;

  if (!hm_dbg_trace_load_finish (trace, result, &error))
    {
      load_failed (self, trace, error);
      return;
    }

  /* A newer open replaced this one. */
  if (trace != self->loading_trace)
    return;

  /* --diff: the baseline is read; now the file compared with it */
  if (self->pending_compared != NULL)
    {
      g_autoptr(GFile) compared = g_steal_pointer (&self->pending_compared);
      g_set_object (&self->pending_baseline, trace);
      start_loading (self, compared, load_cb);
      return;
    }

  g_object_ref (trace);
  end_loading (self);
  if (self->pending_baseline != NULL)
    hm_dbg_trace_set_baseline (trace, self->pending_baseline);
  g_clear_object (&self->pending_baseline);
  set_trace (self, trace, NULL);
  g_object_unref (trace);

  {
    g_autofree char *uri = g_file_get_uri (hm_dbg_trace_get_file (trace));
    gtk_recent_manager_add_item (gtk_recent_manager_get_default (), uri);
  }
}

static void
start_loading (HmDbgWindow         *self,
               GFile               *file,
               GAsyncReadyCallback  callback)
{
  g_autofree char *name = NULL;
  g_autofree char *text = NULL;

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  g_clear_object (&self->loading_trace);
  g_clear_handle_id (&self->progress_source, g_source_remove);

  hide_message (self);
  g_clear_pointer (&self->loaded_message, g_free);
  self->load_cancellable = g_cancellable_new ();
  self->loading_trace = hm_dbg_trace_new_for_file (file);
  name = g_file_get_basename (file);
  text = g_strdup_printf (_("Reading %s…"), name);
  gtk_label_set_text (self->loading_label, text);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_stack_set_visible_child_name (self->main_stack, "loading");
  self->progress_source = g_timeout_add (PROGRESS_INTERVAL_MS, progress_cb, self);
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);

  hm_dbg_trace_load_async (self->loading_trace, self->load_cancellable, callback,
                           g_object_ref (self));
}

void
hm_dbg_window_open (HmDbgWindow *self,
                    GFile       *file)
{
  g_return_if_fail (HM_DBG_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  g_clear_object (&self->pending_baseline);
  g_clear_object (&self->pending_compared);
  start_loading (self, file, load_cb);
}

/**
 * hm_dbg_window_open_diff:
 * @baseline: the recording before (A)
 * @compared: the recording after (B)
 *
 * Diff mode: opens @compared and shows, in every view, what changed from
 * @baseline to it.  Sites are matched by their frames (function, file and
 * line), never by address.
 */
void
hm_dbg_window_open_diff (HmDbgWindow *self,
                         GFile       *baseline,
                         GFile       *compared)
{
  g_return_if_fail (HM_DBG_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (baseline));
  g_return_if_fail (G_IS_FILE (compared));

  g_clear_object (&self->pending_baseline);
  g_set_object (&self->pending_compared, compared);
  start_loading (self, baseline, load_cb);
}

/* ---- recording --------------------------------------------------------- */

gboolean
hm_dbg_window_record (HmDbgWindow        *self,
                      const char * const *argv,
                      const char         *cwd)
{
  g_autoptr(HmDbgRecorder) recorder = NULL;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (HM_DBG_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (argv != NULL && argv[0] != NULL, FALSE);

  if (self->load_cancellable != NULL)
    {
      g_cancellable_cancel (self->load_cancellable);
      end_loading (self);
    }

  recorder = hm_dbg_recorder_new ();
  if (!hm_dbg_recorder_start (recorder, argv, cwd, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not record %s: %s"), argv[0], error->message);
      show_message (self, GTK_MESSAGE_ERROR, text);
      return FALSE;
    }

  set_trace (self, hm_dbg_recorder_get_trace (recorder), recorder);
  return TRUE;
}

gboolean
hm_dbg_window_attach (HmDbgWindow *self,
                      int          pid)
{
  g_autoptr(HmDbgRecorder) recorder = NULL;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (HM_DBG_IS_WINDOW (self), FALSE);

  if (self->load_cancellable != NULL)
    {
      g_cancellable_cancel (self->load_cancellable);
      end_loading (self);
    }

  recorder = hm_dbg_recorder_new ();
  if (!hm_dbg_recorder_attach (recorder, pid, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not attach to process %d: %s"), pid,
                                               error->message);
      show_message (self, GTK_MESSAGE_ERROR, text);
      return FALSE;
    }

  set_trace (self, hm_dbg_recorder_get_trace (recorder), recorder);
  return TRUE;
}

/* ---- flight-recorder dumps ---------------------------------------------- */

static void
flight_dump_thread (GTask        *task,
                    gpointer      source,
                    gpointer      data,
                    GCancellable *cancellable)
{
  GError *error = NULL;
  char *file = hm_flight_ask (GPOINTER_TO_INT (data), "dump", NULL, &error);

  if (file != NULL)
    g_task_return_pointer (task, file, g_free);
  else
    g_task_return_error (task, error);
}

static void
flight_dump_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      data)
{
  HmDbgWindow *self = HM_DBG_WINDOW (object);
  int pid = GPOINTER_TO_INT (g_task_get_task_data (G_TASK (result)));
  g_autoptr(GError) error = NULL;
  g_autofree char *file = g_task_propagate_pointer (G_TASK (result), &error);

  if (file == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not dump the flight recorder of process "
                                                 "%d: %s"), pid, error->message);
      show_message (self, GTK_MESSAGE_ERROR, text);
      return;
    }
  g_autoptr(GFile) dump = g_file_new_for_path (file);
  hm_dbg_window_open (self, dump);
  self->loaded_message = g_strdup_printf (_("Process %d wrote its last seconds to %s; it "
                                            "goes on running."), pid, file);
}

void
hm_dbg_window_flight_dump (HmDbgWindow *self,
                           int          pid)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (HM_DBG_IS_WINDOW (self));

  /* the agent writes the dump while the process runs on: a moment for a
   * big window, so not on the main loop */
  task = g_task_new (self, NULL, flight_dump_cb, NULL);
  g_task_set_task_data (task, GINT_TO_POINTER (pid), NULL);
  g_task_run_in_thread (task, flight_dump_thread);
}

static void
flight_dump_pick_cb (HmDbgWindow       *self,
                     int                pid,
                     HmDbgAttachDialog *dialog)
{
  hm_dbg_window_flight_dump (self, pid);
}

static void
attach_cb (HmDbgWindow       *self,
           int                pid,
           HmDbgAttachDialog *dialog)
{
  hm_dbg_window_attach (self, pid);
}

static void
record_cb (HmDbgWindow       *self,
           char             **argv,
           HmDbgRecordDialog *dialog)
{
  if (self->settings != NULL)
    g_settings_set_string (self->settings, "record-command",
                           hm_dbg_record_dialog_get_command (dialog));
  hm_dbg_window_record (self, (const char * const *) argv, NULL);
}

/* ---- actions ----------------------------------------------------------- */

static void
open_response_cb (HmDbgWindow          *self,
                  int                   response,
                  GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      hm_dbg_window_open (self, file);
    }
  g_clear_object (&self->chooser);
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HmDbgWindow *self = HM_DBG_WINDOW (widget);
  g_autoptr(GtkFileFilter) traces = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

  gtk_file_filter_set_name (traces, _("hybridmem traces"));
  gtk_file_filter_add_pattern (traces, "*.hmt");
  gtk_file_filter_set_name (all, _("All files"));
  gtk_file_filter_add_pattern (all, "*");

  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_("Open a Trace"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), NULL);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), traces);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), all);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (open_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
open_uri_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  g_autoptr(GFile) file = g_file_new_for_uri (g_variant_get_string (parameter, NULL));

  hm_dbg_window_open (HM_DBG_WINDOW (widget), file);
}

static void
copy_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_file_copy_finish (G_FILE (object), result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
hm_dbg_window_save_async (HmDbgWindow         *self,
                          GFile               *destination,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GFile *source = NULL;

  g_return_if_fail (HM_DBG_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (destination));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hm_dbg_window_save_async);

  if (self->recorder != NULL)
    source = hm_dbg_recorder_get_file (self->recorder);
  else if (self->trace != NULL)
    source = hm_dbg_trace_get_file (self->trace);
  if (source == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("There is no trace to save"));
      return;
    }
  if (g_file_equal (source, destination))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* While recording, this is what has arrived so far. */
  g_file_copy_async (source, destination, G_FILE_COPY_OVERWRITE, G_PRIORITY_DEFAULT, cancellable,
                     NULL, NULL, copy_cb, g_steal_pointer (&task));
}

gboolean
hm_dbg_window_save_finish (HmDbgWindow   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (HM_DBG_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
save_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  HmDbgWindow *self = HM_DBG_WINDOW (object);
  g_autoptr(GError) error = NULL;

  if (!hm_dbg_window_save_finish (self, result, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not save the trace: %s"), error->message);
      show_message (self, GTK_MESSAGE_ERROR, text);
    }
}

static void
save_response_cb (HmDbgWindow          *self,
                  int                   response,
                  GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) destination = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      hm_dbg_window_save_async (self, destination, NULL, save_cb, NULL);
    }
  g_clear_object (&self->chooser);
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HmDbgWindow *self = HM_DBG_WINDOW (widget);
  g_autofree char *name = NULL;

  if (self->trace == NULL)
    return;

  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_("Save the Trace"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), NULL);
  name = g_str_has_suffix (hm_dbg_trace_get_title (self->trace), ".hmt")
           ? g_strdup (hm_dbg_trace_get_title (self->trace))
           : g_strdup_printf ("%s.hmt", hm_dbg_trace_get_title (self->trace));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (save_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
export_chart_response_cb (HmDbgWindow *self,
                          int          response)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (self->chooser));
  g_clear_object (&self->chooser);
  if (file == NULL)
    return;
  g_autofree char *path = g_file_get_path (file);
  if (path == NULL
      || !hm_dbg_timeline_view_save_png (self->timeline_view, path, &error))
    {
      g_autofree char *text = g_strdup_printf (_("The timeline could not be exported: %s"),
                                               error ? error->message : _("not a local file"));
      show_message (self, GTK_MESSAGE_ERROR, text);
    }
}

/* The timeline as a PNG: shown first, as it is drawn. */
static void
export_chart_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  HmDbgWindow *self = HM_DBG_WINDOW (widget);

  if (self->trace == NULL)
    return;
  gtk_stack_set_visible_child_name (self->view_stack, "timeline");
  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_("Export the Timeline"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), "timeline.png");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (export_chart_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
record_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  HmDbgWindow *self = HM_DBG_WINDOW (widget);
  HmDbgRecordDialog *dialog = hm_dbg_record_dialog_new (GTK_WINDOW (self));

  if (self->settings != NULL)
    {
      g_autofree char *command = g_settings_get_string (self->settings, "record-command");
      hm_dbg_record_dialog_set_command (dialog, command);
    }
  g_signal_connect_object (dialog, "record", G_CALLBACK (record_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
attach_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  HmDbgWindow *self = HM_DBG_WINDOW (widget);
  HmDbgAttachDialog *dialog = hm_dbg_attach_dialog_new (GTK_WINDOW (self));

  g_signal_connect_object (dialog, "attach", G_CALLBACK (attach_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
flight_dump_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  HmDbgWindow *self = HM_DBG_WINDOW (widget);
  HmDbgAttachDialog *dialog = hm_dbg_attach_dialog_new (GTK_WINDOW (self));

  hm_dbg_attach_dialog_set_for_dump (dialog);
  g_signal_connect_object (dialog, "attach", G_CALLBACK (flight_dump_pick_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
analyze_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  HmDbgWindow *self = HM_DBG_WINDOW (widget);

  if (self->recorder != NULL && !hm_dbg_recorder_request_analysis (self->recorder))
    show_message (self, GTK_MESSAGE_WARNING, _("Could not ask the process for a scan"));
}

static void
stop_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HmDbgWindow *self = HM_DBG_WINDOW (widget);

  if (self->recorder != NULL)
    hm_dbg_recorder_stop (self->recorder);
}

static void
cancel_load_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  HmDbgWindow *self = HM_DBG_WINDOW (widget);

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
}

static void
find_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HmDbgWindow *self = HM_DBG_WINDOW (widget);

  gtk_stack_set_visible_child_name (self->view_stack, "sites");
  hm_dbg_sites_view_focus_search (self->sites_view);
}

static void
show_view_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  HmDbgWindow *self = HM_DBG_WINDOW (widget);
  const char *name = g_variant_get_string (parameter, NULL);

  if (self->trace != NULL && gtk_stack_get_child_by_name (self->view_stack, name) != NULL)
    gtk_stack_set_visible_child_name (self->view_stack, name);
}

static void
show_time_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  HmDbgWindow *self = HM_DBG_WINDOW (widget);

  hm_dbg_timeline_view_set_cursor_time (self->timeline_view,
                                        (gint64) MIN (g_variant_get_uint64 (parameter), G_MAXINT64));
  gtk_stack_set_visible_child_name (self->view_stack, "timeline");
}

static void
zoom_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HmDbgWindow *self = HM_DBG_WINDOW (widget);

  if (g_str_equal (action_name, "win.zoom-in"))
    hm_dbg_timeline_view_zoom_in (self->timeline_view);
  else if (g_str_equal (action_name, "win.zoom-out"))
    hm_dbg_timeline_view_zoom_out (self->timeline_view);
  else
    hm_dbg_timeline_view_zoom_to_fit (self->timeline_view);
}

static void
clear_selection_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  hm_dbg_timeline_view_clear_selection (HM_DBG_WINDOW (widget)->timeline_view);
}

/* ---- recent files and drops -------------------------------------------- */

static int
compare_recent (gconstpointer a,
                gconstpointer b)
{
  GtkRecentInfo *ra = *(GtkRecentInfo **) a;
  GtkRecentInfo *rb = *(GtkRecentInfo **) b;
  GDateTime *ta = gtk_recent_info_get_modified (ra);
  GDateTime *tb = gtk_recent_info_get_modified (rb);

  return g_date_time_compare (tb, ta);
}

static void
update_recent (HmDbgWindow *self)
{
  GtkRecentManager *manager = gtk_recent_manager_get_default ();
  GList *items = gtk_recent_manager_get_items (manager);
  g_autoptr(GPtrArray) traces = g_ptr_array_new ();
  guint n_shown = 0;

  for (GList *l = items; l != NULL; l = l->next)
    {
      GtkRecentInfo *info = l->data;
      const char *uri = gtk_recent_info_get_uri (info);

      if (g_str_has_suffix (uri, ".hmt") && gtk_recent_info_exists (info))
        g_ptr_array_add (traces, info);
    }
  g_ptr_array_sort (traces, compare_recent);

  g_menu_remove_all (self->recent_section);
  for (guint i = 0; i < traces->len && n_shown < N_RECENT; i++, n_shown++)
    {
      GtkRecentInfo *info = g_ptr_array_index (traces, i);
      g_autoptr(GMenuItem) item = g_menu_item_new (gtk_recent_info_get_display_name (info), NULL);

      g_menu_item_set_action_and_target_value (item, "win.open-uri",
                                               g_variant_new_string (gtk_recent_info_get_uri (info)));
      g_menu_append_item (self->recent_section, item);
    }
  if (n_shown == 0)
    {
      /* Without an action the item shows, insensitive. */
      g_menu_append (self->recent_section, _("No recent traces"), NULL);
    }
  g_list_free_full (items, (GDestroyNotify) gtk_recent_info_unref);
}

static gboolean
drop_cb (HmDbgWindow   *self,
         const GValue  *value,
         double         x,
         double         y,
         GtkDropTarget *target)
{
  GSList *files;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = gdk_file_list_get_files (g_value_get_boxed (value));
  if (files == NULL)
    return FALSE;
  hm_dbg_window_open (self, files->data);
  g_slist_free (files);
  return TRUE;
}

/* ---- GObject ----------------------------------------------------------- */

static gboolean
hm_dbg_window_close_request (GtkWindow *window)
{
  HmDbgWindow *self = HM_DBG_WINDOW (window);

  if (self->settings != NULL)
    {
      int width, height;

      gtk_window_get_default_size (window, &width, &height);
      g_settings_set (self->settings, "window-size", "(ii)", width, height);
      g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
    }
  /* The program was started for this window: do not leave it running. */
  if (self->recorder != NULL)
    hm_dbg_recorder_stop (self->recorder);

  return GTK_WINDOW_CLASS (hm_dbg_window_parent_class)->close_request (window);
}

static void
hm_dbg_window_dispose (GObject *object)
{
  HmDbgWindow *self = HM_DBG_WINDOW (object);

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_handle_id (&self->progress_source, g_source_remove);
  g_clear_object (&self->load_cancellable);
  g_clear_object (&self->loading_trace);
  g_clear_object (&self->pending_baseline);
  g_clear_object (&self->pending_compared);
  g_clear_pointer (&self->loaded_message, g_free);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  if (self->trace != NULL)
    g_clear_signal_handler (&self->trace_changed_handler, self->trace);
  if (self->recorder != NULL)
    g_signal_handlers_disconnect_by_data (self->recorder, self);
  g_clear_object (&self->recorder);
  g_clear_object (&self->trace);
  g_signal_handlers_disconnect_by_data (gtk_recent_manager_get_default (), self);
  gtk_widget_dispose_template (GTK_WIDGET (self), HM_DBG_TYPE_WINDOW);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (hm_dbg_window_parent_class)->dispose (object);
}

static void
hm_dbg_window_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  HmDbgWindow *self = HM_DBG_WINDOW (object);

  switch (prop_id)
    {
    case PROP_TRACE:
      g_value_set_object (value, self->trace);
      break;

    case PROP_LOADING:
      g_value_set_boolean (value, hm_dbg_window_is_loading (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_window_class_init (HmDbgWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = hm_dbg_window_dispose;
  object_class->get_property = hm_dbg_window_get_property;
  window_class->close_request = hm_dbg_window_close_request;

  properties[PROP_TRACE] =
    g_param_spec_object ("trace", NULL, NULL, HM_DBG_TYPE_TRACE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (HM_DBG_TYPE_TIMELINE_VIEW);
  g_type_ensure (HM_DBG_TYPE_SITES_VIEW);
  g_type_ensure (HM_DBG_TYPE_OBJECTS_VIEW);
  g_type_ensure (HM_DBG_TYPE_FLAME_VIEW);
  g_type_ensure (HM_DBG_TYPE_TREE_VIEW);
  g_type_ensure (HM_DBG_TYPE_PROFILE_VIEW);
  g_type_ensure (HM_DBG_TYPE_WARNINGS_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/hybridmem/Debugger/ui/hm-dbg-window.ui");
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, stop_button);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, analyze_button);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, record_button);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, attach_button);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, view_switcher);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, recent_section);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, info_bar);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, info_label);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, loading_label);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, program_label);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, summary_label);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, warnings_page);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, objects_page);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, timeline_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, selection_label);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, clear_selection_button);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, sites_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, objects_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, flame_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, tree_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, profile_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWindow, warnings_view);
  gtk_widget_class_bind_template_callback (widget_class, info_bar_response_cb);

  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.open-uri", "s", open_uri_action);
  gtk_widget_class_install_action (widget_class, "win.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "win.export-chart", NULL, export_chart_action);
  gtk_widget_class_install_action (widget_class, "win.record", NULL, record_action);
  gtk_widget_class_install_action (widget_class, "win.attach", NULL, attach_action);
  gtk_widget_class_install_action (widget_class, "win.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "win.analyze", NULL, analyze_action);
  gtk_widget_class_install_action (widget_class, "win.flight-dump", NULL, flight_dump_action);
  gtk_widget_class_install_action (widget_class, "win.cancel-load", NULL, cancel_load_action);
  gtk_widget_class_install_action (widget_class, "win.find", NULL, find_action);
  gtk_widget_class_install_action (widget_class, "win.show-view", "s", show_view_action);
  gtk_widget_class_install_action (widget_class, "win.show-time", "t", show_time_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-fit", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.clear-selection", NULL,
                                   clear_selection_action);
}

static void
hm_dbg_window_init (HmDbgWindow *self)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;
  GtkDropTarget *drop;

  gtk_widget_init_template (GTK_WIDGET (self));

  /* Run from a build tree the schema may not be installed: then the
   * window simply does not remember its size. */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  if (schema != NULL)
    {
      int width, height;

      self->settings = g_settings_new_full (schema, NULL, NULL);
      g_settings_get (self->settings, "window-size", "(ii)", &width, &height);
      gtk_window_set_default_size (GTK_WINDOW (self), width, height);
      if (g_settings_get_boolean (self->settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
    }

  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect_object (drop, "drop", G_CALLBACK (drop_cb), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  g_signal_connect_object (hm_dbg_sites_view_get_model (self->sites_view), "notify::selected-item",
                           G_CALLBACK (site_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->timeline_view, "notify::has-selection",
                           G_CALLBACK (selection_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->timeline_view, "notify::selection-start",
                           G_CALLBACK (selection_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->timeline_view, "notify::selection-end",
                           G_CALLBACK (selection_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (gtk_recent_manager_get_default (), "changed",
                           G_CALLBACK (update_recent), self, G_CONNECT_SWAPPED);

  update_recent (self);
  selection_changed_cb (self, NULL, self->timeline_view);
  update_actions (self);
}

HmDbgWindow *
hm_dbg_window_new (GtkApplication *application)
{
  g_return_val_if_fail (GTK_IS_APPLICATION (application), NULL);

  return g_object_new (HM_DBG_TYPE_WINDOW, "application", application, NULL);
}
