/* test-gui.c — the debugger's real widgets, driven under a display (Xvfb).
 *
 * Traces come from hmtrace recording tests/programs/demo, from the window
 * recording it live, and from a trace written here with the agent's own
 * encoder that uses every strategy (regions, pools, GC, manual) and has
 * warnings, with frames that point into this very program so they resolve.
 * The checks read the views' models and the timeline's drawn pixels; full
 * window screenshots go to HM_SCREENSHOT_DIR.
 *
 * Environment (tests/gui/meson.build): HMTRACE, HM_AGENT_PATH,
 * HM_TEST_PROGRAMS_DIR, HM_SOURCE_ROOT, HM_SCREENSHOT_DIR,
 * GSETTINGS_SCHEMA_DIR.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <link.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "hm-dbg-application.h"
#include "hm-dbg-attach-dialog.h"
#include "hm-dbg-process-item.h"
#include "hm-dbg-object-item.h"
#include "hm-dbg-objects-view.h"
#include "hm-dbg-record-dialog.h"
#include "hm-dbg-site.h"
#include "hm-dbg-sites-view.h"
#include "hm-dbg-flame-view.h"
#include "hm-dbg-histogram-view.h"
#include "hm-dbg-tree-view.h"
#include "hm-dbg-profile-view.h"
#include "hm-dbg-stack-view.h"
#include "hm-dbg-timeline-view.h"
#include "hm-dbg-warning-item.h"
#include "hm-dbg-warnings-view.h"
#include "hm-dbg-window.h"
#include "hm-trace-writer.h"

#define DEMO_WORDS "300000"
#define WAIT_TIMEOUT_MS 60000

static HmDbgApplication *application;
static char *tmp_dir;
static char *demo_trace;
static char *cut_trace;
static char *hybrid_trace;

/* ---- waiting for the main loop ----------------------------------------- */

typedef gboolean (*Condition) (gpointer data);

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until condition holds; FALSE after the timeout. */
static gboolean
wait_until (Condition condition,
            gpointer  data,
            guint     timeout_ms)
{
  gboolean timed_out = FALSE;
  guint source = g_timeout_add (timeout_ms, timeout_cb, &timed_out);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (source);
  return !timed_out;
}

static gboolean
always_false (gpointer data)
{
  return FALSE;
}

/* Lets the loop run for a while: frames get drawn, idles run. */
static void
run_loop_for (guint ms)
{
  wait_until (always_false, NULL, ms);
}

static gboolean
widget_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data) && gtk_widget_get_width (data) > 0;
}

static gboolean
window_ready (gpointer data)
{
  HmDbgWindow *window = data;

  return gtk_widget_get_mapped (GTK_WIDGET (window)) && !hm_dbg_window_is_loading (window)
         && hm_dbg_window_get_trace (window) != NULL;
}

static gboolean
window_idle (gpointer data)
{
  HmDbgWindow *window = data;
  GtkStack *main_stack = GTK_STACK (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                                   HM_DBG_TYPE_WINDOW, "main_stack"));

  return gtk_widget_get_mapped (GTK_WIDGET (window)) && !hm_dbg_window_is_loading (window)
         && !gtk_stack_get_transition_running (main_stack);
}

static GtkWidget *
template_child (gpointer    widget,
                GType       type,
                const char *name)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (widget), type, name);

  g_assert_nonnull (child);
  return GTK_WIDGET (child);
}

static HmDbgWindow *
open_window (const char *path)
{
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  g_autoptr(GFile) file = g_file_new_for_path (path);

  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 780);
  gtk_window_present (GTK_WINDOW (window));
  hm_dbg_window_open (window, file);
  g_assert_true (wait_until (window_idle, window, WAIT_TIMEOUT_MS));
  run_loop_for (300);
  return window;
}

static void
close_window (HmDbgWindow *window)
{
  gtk_window_destroy (GTK_WINDOW (window));
  run_loop_for (50);
}

/* ---- the models behind the views --------------------------------------- */

typedef struct {
  GtkSortListModel *sort;
  GtkFilterListModel *filter;
} ListModels;

static ListModels
list_models_of (GtkSelectionModel *selection)
{
  ListModels models;

  models.sort = GTK_SORT_LIST_MODEL (gtk_single_selection_get_model (GTK_SINGLE_SELECTION (selection)));
  models.filter = GTK_FILTER_LIST_MODEL (gtk_sort_list_model_get_model (models.sort));
  return models;
}

static gboolean
lists_settled (gpointer data)
{
  ListModels *models = data;

  return gtk_sort_list_model_get_pending (models->sort) == 0
         && gtk_filter_list_model_get_pending (models->filter) == 0;
}

static void
wait_for_lists (GtkSelectionModel *selection)
{
  ListModels models = list_models_of (selection);

  g_assert_true (wait_until (lists_settled, &models, WAIT_TIMEOUT_MS));
}

/* ---- pixels ------------------------------------------------------------ */

static void
set_flag (gboolean *flag)
{
  *flag = TRUE;
}

typedef struct {
  GtkWidget *widget;
  GdkPaintable *paintable;
} Capture;

static void
capture_after_paint (Capture *capture)
{
  /* Right after a paint the widget's render nodes are all there; a moment
   * later a live update may have invalidated them again. */
  if (capture->paintable == NULL)
    capture->paintable = gtk_widget_paintable_new (capture->widget);
}

static gboolean
captured (gpointer data)
{
  return ((Capture *) data)->paintable != NULL;
}

/* The widget as it is drawn: paints it once more, then renders what was
 * painted to a texture with the window's own renderer. */
static GdkTexture *
render_widget (GtkWidget *widget)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  Capture capture = { widget, NULL };
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  gulong handler;

  g_assert_nonnull (clock);
  g_assert_cmpint (width, >, 0);
  g_assert_cmpint (height, >, 0);
  handler = g_signal_connect_swapped (clock, "after-paint", G_CALLBACK (capture_after_paint),
                                      &capture);
  gtk_widget_queue_draw (widget);
  g_assert_true (wait_until (captured, &capture, WAIT_TIMEOUT_MS));
  g_signal_handler_disconnect (clock, handler);

  gdk_paintable_snapshot (capture.paintable, GDK_SNAPSHOT (snapshot), width, height);
  g_object_unref (capture.paintable);
  node = gtk_snapshot_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

typedef struct {
  guchar *data;               /* B, G, R, A bytes (premultiplied ARGB32) */
  int width;
  int height;
  gsize stride;
} Pixels;

static Pixels
download (GdkTexture *texture)
{
  Pixels pixels;

  pixels.width = gdk_texture_get_width (texture);
  pixels.height = gdk_texture_get_height (texture);
  pixels.stride = (gsize) pixels.width * 4;
  pixels.data = g_malloc (pixels.stride * pixels.height);
  gdk_texture_download (texture, pixels.data, pixels.stride);
  return pixels;
}

static gboolean
pixel_is (const Pixels  *pixels,
          int            x,
          int            y,
          const GdkRGBA *color)
{
  const guchar *p = pixels->data + (gsize) y * pixels->stride + (gsize) x * 4;
  int r = (int) (color->red * 255 + 0.5);
  int g = (int) (color->green * 255 + 0.5);
  int b = (int) (color->blue * 255 + 0.5);

  /* Renderers may round a colour by one step. */
  return ABS (p[2] - r) <= 2 && ABS (p[1] - g) <= 2 && ABS (p[0] - b) <= 2;
}

static GdkRGBA
pixel_at (const Pixels *pixels,
          int           x,
          int           y)
{
  const guchar *p = pixels->data + (gsize) y * pixels->stride + (gsize) x * 4;

  return (GdkRGBA) { p[2] / 255.f, p[1] / 255.f, p[0] / 255.f, p[3] / 255.f };
}

/* The share of the rectangle's pixels that have the colour. */
static double
color_share (const Pixels          *pixels,
             const graphene_rect_t *area,
             const GdkRGBA         *color)
{
  int x0 = (int) area->origin.x, y0 = (int) area->origin.y;
  int x1 = MIN ((int) (area->origin.x + area->size.width), pixels->width);
  int y1 = MIN ((int) (area->origin.y + area->size.height), pixels->height);
  guint64 n = 0, total = 0;

  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++, total++)
      n += pixel_is (pixels, x, y, color);
  return total > 0 ? (double) n / total : 0;
}

static void
save_screenshot (GtkWidget  *widget,
                 const char *name)
{
  g_autoptr(GdkTexture) texture = render_widget (widget);
  const char *dir = g_getenv ("HM_SCREENSHOT_DIR");
  g_autofree char *path = g_build_filename (dir != NULL ? dir : tmp_dir, name, NULL);

  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
}

/* ---- fixtures ---------------------------------------------------------- */

static void
record_program_with_hmtrace (const char *program,
                             const char *output,
                             const char *words)
{
  const char *hmtrace = g_getenv ("HMTRACE");
  g_autofree char *demo = g_build_filename (g_getenv ("HM_TEST_PROGRAMS_DIR"), program, NULL);
  const char *argv[] = { hmtrace, "record", "-q", "-o", output, "--", demo, words, NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static void
record_with_hmtrace (const char *output,
                     const char *words)
{
  record_program_with_hmtrace ("demo", output, words);
}

static void
write_cut_copy (const char *from,
                const char *to)
{
  g_autofree char *contents = NULL;
  gsize length;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (from, &contents, &length, &error);
  g_assert_no_error (error);
  /* Inside a chunk, well past the first ones. */
  g_file_set_contents (to, contents, (gssize) (length * 6 / 10 + 7), &error);
  g_assert_no_error (error);
}

/* Functions the synthetic trace's frames point into; never called. */
G_GNUC_NO_INLINE static void fixture_serve_request (void) { g_usleep (0); }
G_GNUC_NO_INLINE static void fixture_open_connection (void) { g_usleep (0); }
G_GNUC_NO_INLINE static void fixture_cache_page (void) { g_usleep (0); }
G_GNUC_NO_INLINE static void fixture_main_loop (void) { g_usleep (0); }

typedef struct {
  guint64 bias, start, end;
} ModuleRange;

static int
find_main_program (struct dl_phdr_info *info,
                   size_t               size,
                   void                *data)
{
  ModuleRange *range = data;

  range->bias = info->dlpi_addr;
  range->start = G_MAXUINT64;
  range->end = 0;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_LOAD)
      {
        range->start = MIN (range->start, info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        range->end = MAX (range->end, info->dlpi_addr + info->dlpi_phdr[i].p_vaddr
                                        + info->dlpi_phdr[i].p_memsz);
      }
  return 1; /* the first entry is the program */
}

typedef struct {
  GByteArray *bytes;
  guint8 buffer[1 << 16];
  HmChunkBuilder chunk;
} Writer;

static void
writer_begin (Writer *w, guint32 tid)
{
  hm_chunk_begin (&w->chunk, w->buffer, sizeof w->buffer, tid, 0, 0);
}

static void
writer_finish (Writer *w)
{
  gsize length = hm_chunk_finish (&w->chunk);

  g_byte_array_append (w->bytes, w->buffer, (guint) length);
}

/* Counts of what build_hybrid_trace() writes, for the checks. */
#define HYBRID_N_REGIONS 2
#define HYBRID_N_POOLS 1
#define HYBRID_N_WARNINGS 4

static void
build_hybrid_trace (const char *path)
{
  Writer w = { .bytes = g_byte_array_new () };
  HmTraceHeaderInfo info = { .pid = 4242, .start_monotonic_ns = 1, .page_size = 4096 };
  guint8 header[HM_TRACE_HEADER_SIZE];
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  ModuleRange range;
  guint64 t = 1000;
  g_autoptr(GError) error = NULL;

  dl_iterate_phdr (find_main_program, &range);
  hm_trace_write_header (header, &info);
  g_byte_array_append (w.bytes, header, sizeof header);

  /* Metadata: the program, a clock of one tick per ns, and a stack tree
   * main_loop -> {serve_request, open_connection -> cache_page}. */
  writer_begin (&w, HM_TRACE_META_TID);
  g_assert_true (hm_chunk_put_info (&w.chunk, "exe", exe));
  g_assert_true (hm_chunk_put_info (&w.chunk, "cmdline", "server --port 8080"));
  g_assert_true (hm_chunk_put_clock (&w.chunk, 0, 0));
  g_assert_true (hm_chunk_put_clock (&w.chunk, 1000000, 1000000));
  g_assert_true (hm_chunk_put_module_load (&w.chunk, 0, 1, range.bias, range.start, range.end, exe,
                                           NULL, 0));
  g_assert_true (hm_chunk_put_frame (&w.chunk, 1, 0, (guint64) (uintptr_t) fixture_main_loop + 4));
  g_assert_true (hm_chunk_put_frame (&w.chunk, 2, 1, (guint64) (uintptr_t) fixture_serve_request + 4));
  g_assert_true (hm_chunk_put_frame (&w.chunk, 3, 1, (guint64) (uintptr_t) fixture_open_connection + 4));
  g_assert_true (hm_chunk_put_frame (&w.chunk, 4, 3, (guint64) (uintptr_t) fixture_cache_page + 4));
  g_assert_true (hm_chunk_put_stack (&w.chunk, 1, 2));
  g_assert_true (hm_chunk_put_stack (&w.chunk, 2, 3));
  g_assert_true (hm_chunk_put_stack (&w.chunk, 3, 4));
  g_assert_true (hm_chunk_put_object_name (&w.chunk, HM_OBJECT_REGION, 1, "request scratch"));
  g_assert_true (hm_chunk_put_object_name (&w.chunk, HM_OBJECT_REGION, 2, "config arena"));
  g_assert_true (hm_chunk_put_object_name (&w.chunk, HM_OBJECT_POOL, 1, "Connection"));
  writer_finish (&w);

  writer_begin (&w, 100);
  g_assert_true (hm_chunk_put_sync (&w.chunk));
  g_assert_true (hm_chunk_put_region_create (&w.chunk, t, 2, 2));
  g_assert_true (hm_chunk_put_region_alloc (&w.chunk, t += 500, 2, 0x700000, 24000));
  g_assert_true (hm_chunk_put_pool_create (&w.chunk, t += 500, 1, 48, 256, 2));
  g_assert_true (hm_chunk_put_region_create (&w.chunk, t += 500, 1, 1));
  /* 400 requests, 0.1 s: the model's timeline buckets start 1 ms wide. */
  for (guint i = 0; i < 400; i++)
    {
      t += 250000;
      /* Requests: scratch memory in the region, reset every 100. */
      g_assert_true (hm_chunk_put_region_alloc (&w.chunk, t, 1, 0x100000 + i * 512, 512));
      if (i % 100 == 99)
        g_assert_true (hm_chunk_put_object_event (&w.chunk, HM_EV_REGION_RESET, t + 10, 1));
      /* Responses: malloc'd, half of them kept (freed below). */
      g_assert_true (hm_chunk_put_alloc (&w.chunk, t + 20, HM_FN_MALLOC, 0x200000 + i * 256, 200, 1));
      /* Connections from the pool, returned after a while. */
      if (i < 160)
        g_assert_true (hm_chunk_put_pool_object (&w.chunk, HM_EV_POOL_GET, t + 30, 1,
                                                 0x300000 + i * 48));
      if (i >= 40 && i < 200)
        g_assert_true (hm_chunk_put_pool_object (&w.chunk, HM_EV_POOL_RETURN, t + 40, 1,
                                                 0x300000 + (i - 40) * 48));
      /* The page cache: garbage collected every 80 requests. */
      g_assert_true (hm_chunk_put_alloc (&w.chunk, t + 50, HM_FN_GC_ALLOC, 0x400000 + i * 128, 128, 3));
      if (i % 80 == 79)
        {
          for (guint j = i - 79; j < i - 20; j++)
            g_assert_true (hm_chunk_put_free (&w.chunk, t + 60, HM_FN_GC_SWEEP, 0x400000 + j * 128));
          g_assert_true (hm_chunk_put_gc_collect (&w.chunk, t + 70, 35000, 59 * 128, 59,
                                                  (i + 1 - 59) * 128));
        }
      /* Configuration: manual memory. */
      if (i % 40 == 0)
        g_assert_true (hm_chunk_put_alloc (&w.chunk, t + 80, HM_FN_HM_ALLOC, 0x500000 + i * 64, 4096, 2));
      if (i == 120)
        g_assert_true (hm_chunk_put_warning (&w.chunk, t + 90, HM_WARNING_DOUBLE_FREE,
                                             0x200000 + 2 * 256, 200, 1, 1, 1, 0));
      if (i == 250)
        g_assert_true (hm_chunk_put_warning (&w.chunk, t + 90, HM_WARNING_POOL_DOUBLE_RETURN,
                                             0x300000, 48, 2, 2, 2, 1));
      if (i % 2 == 0)
        g_assert_true (hm_chunk_put_free (&w.chunk, t + 100, HM_FN_FREE, 0x200000 + i * 256));
    }
  g_assert_true (hm_chunk_put_object_event (&w.chunk, HM_EV_REGION_FREE, t += 1000, 1));
  g_assert_true (hm_chunk_put_warning (&w.chunk, t += 100, HM_WARNING_LEAK, 0x200000 + 1 * 256,
                                       200, 1, 1, 0, 0));
  g_assert_true (hm_chunk_put_warning (&w.chunk, t += 100, HM_WARNING_LEAK, 0x200000 + 3 * 256,
                                       200, 1, 1, 0, 0));
  writer_finish (&w);

  /* Marks are metadata: after the thread events, at the time they end. */
  writer_begin (&w, HM_TRACE_META_TID);
  g_assert_true (hm_chunk_put_mark (&w.chunk, t, "shutdown"));
  g_assert_true (hm_chunk_put_clock (&w.chunk, t + 1000, t + 1000));
  g_assert_true (hm_chunk_put_round (&w.chunk, t + 1000));
  g_assert_true (hm_chunk_put_end (&w.chunk, t + 2000, HM_END_EXIT, 0));
  writer_finish (&w);

  g_file_set_contents (path, (const char *) w.bytes->data, w.bytes->len, &error);
  g_assert_no_error (error);
  g_byte_array_unref (w.bytes);
}

/* n_sites allocation sites, each a stack of its own under main_loop, the
 * frames spread over this program's functions. */
static void
build_many_sites_trace (const char *path,
                        guint       n_sites)
{
  Writer w = { .bytes = g_byte_array_new () };
  HmTraceHeaderInfo info = { .pid = 4343, .start_monotonic_ns = 1, .page_size = 4096 };
  guint8 header[HM_TRACE_HEADER_SIZE];
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  const guint64 functions[] = {
    (guint64) (uintptr_t) fixture_serve_request, (guint64) (uintptr_t) fixture_open_connection,
    (guint64) (uintptr_t) fixture_cache_page,
  };
  ModuleRange range;
  guint64 t = 1000;
  g_autoptr(GError) error = NULL;

  dl_iterate_phdr (find_main_program, &range);
  hm_trace_write_header (header, &info);
  g_byte_array_append (w.bytes, header, sizeof header);

  writer_begin (&w, HM_TRACE_META_TID);
  g_assert_true (hm_chunk_put_info (&w.chunk, "exe", exe));
  g_assert_true (hm_chunk_put_clock (&w.chunk, 0, 0));
  g_assert_true (hm_chunk_put_clock (&w.chunk, 1000000, 1000000));
  g_assert_true (hm_chunk_put_module_load (&w.chunk, 0, 1, range.bias, range.start, range.end, exe,
                                           NULL, 0));
  g_assert_true (hm_chunk_put_frame (&w.chunk, 1, 0, (guint64) (uintptr_t) fixture_main_loop + 4));
  for (guint i = 0; i < n_sites; i++)
    {
      if (hm_chunk_room (&w.chunk) < 64)
        {
          writer_finish (&w);
          writer_begin (&w, HM_TRACE_META_TID);
        }
      /* Each stack its own return address near the start of one of three functions. */
      g_assert_true (hm_chunk_put_frame (&w.chunk, 2 + i, 1, functions[i % 3] + 4 + (i % 8)));
      g_assert_true (hm_chunk_put_stack (&w.chunk, 1 + i, 2 + i));
    }
  writer_finish (&w);

  writer_begin (&w, 100);
  g_assert_true (hm_chunk_put_sync (&w.chunk));
  for (guint i = 0; i < n_sites; i++)
    {
      if (hm_chunk_room (&w.chunk) < 64)
        {
          writer_finish (&w);
          writer_begin (&w, 100);
          g_assert_true (hm_chunk_put_sync (&w.chunk));
        }
      g_assert_true (hm_chunk_put_alloc (&w.chunk, t += 100, HM_FN_MALLOC, 0x10000000 + i * 64ull,
                                         16 + i % 1000, 1 + i));
    }
  writer_finish (&w);

  writer_begin (&w, HM_TRACE_META_TID);
  g_assert_true (hm_chunk_put_clock (&w.chunk, t + 1000, t + 1000));
  g_assert_true (hm_chunk_put_round (&w.chunk, t + 1000));
  g_assert_true (hm_chunk_put_end (&w.chunk, t + 2000, HM_END_EXIT, 0));
  writer_finish (&w);

  g_file_set_contents (path, (const char *) w.bytes->data, w.bytes->len, &error);
  g_assert_no_error (error);
  g_byte_array_unref (w.bytes);
}

/* ---- tests ------------------------------------------------------------- */

static void
test_timeline_pixels (void)
{
  HmDbgWindow *window = open_window (demo_trace);
  HmDbgTimelineView *timeline = HM_DBG_TIMELINE_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                      "timeline_view"));
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guchar *data = NULL;
  graphene_rect_t plot;
  GdkRGBA malloc_color, background, regions_color;
  Pixels pixels;
  double malloc_share, background_share;

  g_assert_true (window_ready (window));
  /* the heap's own scale: demo's RSS is many times its heap */
  g_object_set (timeline, "show-rss", FALSE, NULL);
  hm_dbg_timeline_view_get_strategy_color (HM_STRATEGY_KIND_MALLOC, &malloc_color);
  hm_dbg_timeline_view_get_strategy_color (HM_STRATEGY_KIND_REGIONS, &regions_color);

  texture = render_widget (GTK_WIDGET (timeline));
  pixels = download (texture);
  data = pixels.data;
  hm_dbg_timeline_view_get_plot_area (timeline, &plot);
  g_assert_cmpfloat (plot.size.width, >, 200);
  g_assert_cmpfloat (plot.size.height, >, 100);

  /* The widget's own background, just inside its top-right corner. */
  background = pixel_at (&pixels, pixels.width - 3, 2);
  malloc_share = color_share (&pixels, &plot, &malloc_color);
  background_share = color_share (&pixels, &plot, &background);
  g_test_message ("plot %.0fx%.0f: malloc %.1f%%, background %.1f%%", plot.size.width,
                  plot.size.height, malloc_share * 100, background_share * 100);
  /* demo only mallocs: its heap fills a good part of the plot, the rest is
   * background, and no other strategy shows. */
  g_assert_cmpfloat (malloc_share, >, 0.15);
  g_assert_cmpfloat (background_share, >, 0.05);
  g_assert_cmpfloat (color_share (&pixels, &plot, &regions_color), <, 0.001);

  /* The bottom row of the plot, near the end where the heap peaks. */
  g_assert_true (pixel_is (&pixels, (int) (plot.origin.x + plot.size.width * 0.95),
                           (int) (plot.origin.y + plot.size.height - 2), &malloc_color));

  save_screenshot (GTK_WIDGET (window), "debugger-timeline.png");
  g_object_set (timeline, "show-rss", TRUE, NULL);
  close_window (window);
}

/* A program that maps 48 MiB anonymously and touches it (tests/allocators/
 * mappings.c): the mmap strategy's colour fills a good part of the plot,
 * and the RSS line is drawn over it. */
static void
test_timeline_mmap_and_rss (void)
{
  g_autofree char *program = g_build_filename (g_getenv ("HM_TEST_PROGRAMS_DIR"), "..",
                                               "allocators", "mappings", NULL);
  g_autofree char *trace = g_build_filename (tmp_dir, "mappings.hmt", NULL);
  const char *argv[] = { g_getenv ("HMTRACE"), "record", "-q", "-o", trace, "--", program, "48",
                         NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!g_file_test (program, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("tests/allocators/mappings was not built");
      return;
    }
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  HmDbgWindow *window = open_window (trace);
  HmDbgTimelineView *timeline = HM_DBG_TIMELINE_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                      "timeline_view"));
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guchar *data = NULL;
  graphene_rect_t plot, legend;
  GdkRGBA mmap_color, rss_color, malloc_color;
  Pixels pixels;
  double mmap_share, rss_share, legend_rss;

  g_assert_true (window_ready (window));
  hm_dbg_timeline_view_get_strategy_color (HM_STRATEGY_KIND_MMAP, &mmap_color);
  hm_dbg_timeline_view_get_strategy_color (HM_STRATEGY_KIND_MALLOC, &malloc_color);
  hm_dbg_timeline_view_get_rss_color (&rss_color);
  texture = render_widget (GTK_WIDGET (timeline));
  pixels = download (texture);
  data = pixels.data;
  hm_dbg_timeline_view_get_plot_area (timeline, &plot);
  graphene_rect_init (&legend, 0, 0, pixels.width, plot.origin.y);

  mmap_share = color_share (&pixels, &plot, &mmap_color);
  rss_share = color_share (&pixels, &plot, &rss_color);
  legend_rss = color_share (&pixels, &legend, &rss_color);
  g_test_message ("plot %.0fx%.0f: mmap %.1f%%, RSS line %.2f%%, malloc %.2f%%; legend RSS %.3f%%",
                  plot.size.width, plot.size.height, mmap_share * 100, rss_share * 100,
                  color_share (&pixels, &plot, &malloc_color) * 100, legend_rss * 100);
  /* the 48 MiB mapping lives for the last part of the run */
  g_assert_cmpfloat (mmap_share, >, 0.05);
  /* a line two pixels thick across much of the width */
  g_assert_cmpfloat (rss_share * plot.size.height, >, 0.5);
  g_assert_cmpfloat (rss_share, <, 0.2);
  /* both have a legend entry */
  g_assert_cmpfloat (legend_rss, >, 0.0);
  g_assert_cmpfloat (color_share (&pixels, &legend, &mmap_color), >, 0.0);

  save_screenshot (GTK_WIDGET (window), "debugger-timeline-mmap-rss.png");
  close_window (window);
}

static void
test_timeline_zoom_and_select (void)
{
  HmDbgWindow *window = open_window (demo_trace);
  HmDbgTimelineView *timeline = HM_DBG_TIMELINE_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                      "timeline_view"));
  GtkLabel *selection_label = GTK_LABEL (template_child (window, HM_DBG_TYPE_WINDOW,
                                                         "selection_label"));
  guint64 duration = hm_dbg_trace_get_duration (hm_dbg_window_get_trace (window));
  guint64 start, end, zoomed_start, zoomed_end;
  gboolean notified = FALSE;

  hm_dbg_timeline_view_get_visible_range (timeline, &start, &end);
  g_assert_cmpuint (start, ==, 0);
  g_assert_cmpuint (end, >=, duration - 1);

  /* The keys work through the widget's actions, as the bindings do. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (timeline), "timeline.zoom-in", NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (timeline), "timeline.zoom-in", NULL));
  hm_dbg_timeline_view_get_visible_range (timeline, &zoomed_start, &zoomed_end);
  g_assert_cmpuint (zoomed_end - zoomed_start, <, (end - start) / 2);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (timeline), "timeline.pan", "i", 1));
  hm_dbg_timeline_view_get_visible_range (timeline, &start, &end);
  g_assert_cmpuint (start, >, zoomed_start);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.zoom-fit", NULL));
  hm_dbg_timeline_view_get_visible_range (timeline, &start, &end);
  g_assert_cmpuint (start, ==, 0);

  g_signal_connect_swapped (timeline, "notify::has-selection", G_CALLBACK (set_flag), &notified);
  hm_dbg_timeline_view_set_selection (timeline, duration / 4, duration / 2);
  g_assert_true (notified);
  g_assert_nonnull (strstr (gtk_label_get_text (selection_label), "peak"));
  run_loop_for (200);
  save_screenshot (GTK_WIDGET (window), "debugger-timeline-selection.png");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (timeline), "timeline.zoom-to-selection", NULL));
  hm_dbg_timeline_view_get_visible_range (timeline, &start, &end);
  g_assert_cmpuint (start, ==, duration / 4);
  g_assert_cmpuint (end, ==, duration / 2);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (timeline), "timeline.clear-selection", NULL));
  g_assert_false (hm_dbg_timeline_view_get_selection (timeline, NULL, NULL));

  g_signal_handlers_disconnect_by_data (timeline, &notified);
  close_window (window);
}

/* The timeline's controllers, found by type and button. */
static GtkEventController *
find_controller (GtkWidget *widget,
                 GType      type,
                 guint      button)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (controller, type)
          && (button == 0 || gtk_gesture_single_get_button (GTK_GESTURE_SINGLE (controller)) == button))
        return controller;
    }
  g_assert_not_reached ();
}

/* A drag selects the range under it, a click clears it; scrolling pans. */
static void
test_timeline_pointer (void)
{
  HmDbgWindow *window = open_window (demo_trace);
  HmDbgTimelineView *timeline = HM_DBG_TIMELINE_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                      "timeline_view"));
  GtkEventController *drag = find_controller (GTK_WIDGET (timeline), GTK_TYPE_GESTURE_DRAG,
                                              GDK_BUTTON_PRIMARY);
  GtkEventController *scroll = find_controller (GTK_WIDGET (timeline),
                                                GTK_TYPE_EVENT_CONTROLLER_SCROLL, 0);
  guint64 duration = hm_dbg_trace_get_duration (hm_dbg_window_get_trace (window));
  guint64 start, end, view_start, view_end;
  graphene_rect_t plot;
  gboolean handled = FALSE;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  gint64 before;
  double ms;

  hm_dbg_timeline_view_get_plot_area (timeline, &plot);
  /* The middle half of the plot, as a user would drag it. */
  g_signal_emit_by_name (drag, "drag-begin", plot.origin.x + plot.size.width / 4, plot.origin.y + 50);
  g_signal_emit_by_name (drag, "drag-update", plot.size.width / 2, 0.0);
  g_signal_emit_by_name (drag, "drag-end", plot.size.width / 2, 0.0);
  g_assert_true (hm_dbg_timeline_view_get_selection (timeline, &start, &end));
  g_assert_cmpfloat (fabs ((double) start - duration / 4.0), <, duration / 100.0);
  g_assert_cmpfloat (fabs ((double) end - duration * 3 / 4.0), <, duration / 100.0);

  g_signal_emit_by_name (drag, "drag-begin", plot.origin.x + 10, plot.origin.y + 50);
  g_signal_emit_by_name (drag, "drag-end", 0.0, 0.0);
  g_assert_false (hm_dbg_timeline_view_get_selection (timeline, NULL, NULL));

  hm_dbg_timeline_view_zoom_in (timeline);
  hm_dbg_timeline_view_get_visible_range (timeline, &view_start, &view_end);
  g_signal_emit_by_name (scroll, "scroll", 0.0, 3.0, &handled);
  g_assert_true (handled);
  hm_dbg_timeline_view_get_visible_range (timeline, &start, &end);
  g_assert_cmpuint (start, >, view_start);
  /* The same span (to the nanosecond: the view keeps it as a double). */
  g_assert_cmpfloat (fabs ((double) (end - start) - (double) (view_end - view_start)), <=, 1);

  /* A redraw at full zoom-out, without the renderer: the widget's share. */
  hm_dbg_timeline_view_zoom_to_fit (timeline);
  snapshot = gtk_snapshot_new ();
  before = g_get_monotonic_time ();
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(GskRenderNode) node = NULL;

      GTK_WIDGET_GET_CLASS (timeline)->snapshot (GTK_WIDGET (timeline), snapshot);
      node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
      snapshot = gtk_snapshot_new ();
    }
  ms = (g_get_monotonic_time () - before) / 20 / 1000.0;
  g_test_message ("timeline snapshot: %.2f ms", ms);
  g_assert_cmpfloat (ms, <, 16);

  close_window (window);
}

static guint64
site_bytes_at (GListModel *model,
               guint       position)
{
  g_autoptr(HmDbgSite) site = g_list_model_get_item (model, position);

  return hm_dbg_site_get_bytes (site);
}

static void
test_sites (void)
{
  HmDbgWindow *window = open_window (demo_trace);
  HmDbgSitesView *sites_view = HM_DBG_SITES_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                  "sites_view"));
  GtkStack *view_stack = GTK_STACK (template_child (window, HM_DBG_TYPE_WINDOW, "view_stack"));
  GtkSelectionModel *selection = hm_dbg_sites_view_get_model (sites_view);
  GListModel *rows = G_LIST_MODEL (selection);
  GtkColumnView *column_view = GTK_COLUMN_VIEW (template_child (sites_view, HM_DBG_TYPE_SITES_VIEW,
                                                                "column_view"));
  GtkColumnViewColumn *bytes_column =
    GTK_COLUMN_VIEW_COLUMN (gtk_widget_get_template_child (GTK_WIDGET (sites_view),
                                                           HM_DBG_TYPE_SITES_VIEW, "bytes_column"));
  GtkEditable *search = GTK_EDITABLE (template_child (sites_view, HM_DBG_TYPE_SITES_VIEW,
                                                      "search_entry"));
  HmDbgStackView *stack_view = HM_DBG_STACK_VIEW (template_child (sites_view, HM_DBG_TYPE_SITES_VIEW,
                                                                  "stack_view"));
  HmHeapModel *model = hm_dbg_trace_get_model (hm_dbg_window_get_trace (window));
  g_autoptr(GPtrArray) sites = hm_heap_model_get_sites (model);
  guint64 biggest = 0, smallest = G_MAXUINT64;
  guint n_matching = 0;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "sites"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (view_stack), ==, "sites");
  wait_for_lists (selection);

  /* One row per site of the model. */
  g_assert_cmpuint (sites->len, >, 3);
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, sites->len);
  for (guint i = 0; i < sites->len; i++)
    {
      const HmSiteStats *site = g_ptr_array_index (sites, i);
      const char *function = NULL;

      biggest = MAX (biggest, site->bytes);
      smallest = MIN (smallest, site->bytes);
      hm_dbg_trace_describe_node (hm_dbg_window_get_trace (window), site->stack, &function, NULL);
      n_matching += strstr (function, "word_table") != NULL;
    }

  /* Sorted by bytes, biggest first, from the start. */
  g_assert_cmpuint (site_bytes_at (rows, 0), ==, biggest);
  for (guint i = 1; i < g_list_model_get_n_items (rows); i++)
    g_assert_cmpuint (site_bytes_at (rows, i - 1), >=, site_bytes_at (rows, i));

  /* The selected (first) row's stack is shown, innermost frame first. */
  run_loop_for (100);
  g_assert_cmpuint (hm_dbg_stack_view_get_n_frames (stack_view), >, 1);
  save_screenshot (GTK_WIDGET (window), "debugger-sites.png");

  gtk_column_view_sort_by_column (column_view, bytes_column, GTK_SORT_ASCENDING);
  wait_for_lists (selection);
  g_assert_cmpuint (site_bytes_at (rows, 0), ==, smallest);
  gtk_column_view_sort_by_column (column_view, bytes_column, GTK_SORT_DESCENDING);
  wait_for_lists (selection);

  /* The search keeps the sites whose function matches. */
  g_assert_cmpuint (n_matching, >, 0);
  gtk_editable_set_text (search, "word_table");
  run_loop_for (400); /* the entry waits a moment before it searches */
  wait_for_lists (selection);
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, n_matching);
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(HmDbgSite) site = g_list_model_get_item (rows, i);
      g_assert_nonnull (strstr (hm_dbg_site_get_function (site), "word_table"));
    }
  gtk_editable_set_text (search, "no function is called this");
  run_loop_for (400);
  wait_for_lists (selection);
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, 0);
  gtk_editable_set_text (search, "");
  run_loop_for (400);
  wait_for_lists (selection);
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, sites->len);

  close_window (window);
}

/* Selecting a range on the timeline makes the sites view count that range:
 * each row's allocations are those in it, and together they are exactly the
 * allocations the timeline's buckets in the range hold (a separate count). */
static void
test_sites_in_range (void)
{
  HmDbgWindow *window = open_window (demo_trace);
  HmDbgTimelineView *timeline = HM_DBG_TIMELINE_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                      "timeline_view"));
  HmDbgSitesView *sites_view = HM_DBG_SITES_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                  "sites_view"));
  GtkLabel *range_label = GTK_LABEL (template_child (sites_view, HM_DBG_TYPE_SITES_VIEW,
                                                     "range_label"));
  GtkSelectionModel *selection = hm_dbg_sites_view_get_model (sites_view);
  GListModel *rows = G_LIST_MODEL (selection);
  HmHeapModel *model = hm_dbg_trace_get_model (hm_dbg_window_get_trace (window));
  guint64 duration = hm_dbg_trace_get_duration (hm_dbg_window_get_trace (window));
  guint n_buckets = 0;
  guint64 bucket_ns = 0, in_rows = 0, in_buckets = 0, whole = 0;
  const HmTimelineBucket *buckets = hm_heap_model_get_timeline (model, &n_buckets, &bucket_ns);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "sites"));
  wait_for_lists (selection);
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(HmDbgSite) site = g_list_model_get_item (rows, i);
      whole += hm_dbg_site_get_allocations (site);
    }

  /* a range on bucket boundaries: the second quarter of the trace */
  guint64 first = n_buckets / 4, last = n_buckets / 2;
  hm_dbg_timeline_view_set_selection (timeline, first * bucket_ns, last * bucket_ns + 1);
  run_loop_for (200);
  wait_for_lists (selection);
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(HmDbgSite) site = g_list_model_get_item (rows, i);
      in_rows += hm_dbg_site_get_allocations (site);
    }
  for (guint64 b = first; b <= last && b < n_buckets; b++)
    in_buckets += buckets[b].allocations;
  g_test_message ("range %" G_GUINT64_FORMAT "–%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                   " ns: %" G_GUINT64_FORMAT " allocations in the rows, %" G_GUINT64_FORMAT
                   " in the buckets, %" G_GUINT64_FORMAT " in all", first * bucket_ns,
                   (last + 1) * bucket_ns, duration, in_rows, in_buckets, whole);
  g_assert_cmpuint (in_rows, >, 0);
  g_assert_cmpuint (in_rows, <, whole);
  g_assert_cmpuint (in_rows, ==, in_buckets);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (range_label)));
  g_assert_nonnull (strstr (gtk_label_get_text (range_label), "selected range"));
  save_screenshot (GTK_WIDGET (window), "debugger-sites-range.png");

  /* clearing the range gives the whole trace back */
  hm_dbg_timeline_view_clear_selection (timeline);
  run_loop_for (200);
  wait_for_lists (selection);
  in_rows = 0;
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(HmDbgSite) site = g_list_model_get_item (rows, i);
      in_rows += hm_dbg_site_get_allocations (site);
    }
  g_assert_cmpuint (in_rows, ==, whole);
  close_window (window);
}

static GtkWidget *
find_descendant (GtkWidget *widget, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_descendant (c, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The flame graph of the demo: the whole is the bytes allocated; a box is
 * as wide as its function's share; a search says what share it matched; a
 * click zooms into a box and Escape (or a click outside) zooms out. */
static void
test_flame_graph (void)
{
  HmDbgWindow *window = open_window (demo_trace);
  GtkStack *view_stack = GTK_STACK (template_child (window, HM_DBG_TYPE_WINDOW, "view_stack"));
  HmDbgFlameView *flame = HM_DBG_FLAME_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                             "flame_view"));
  HmHeapModel *model = hm_dbg_trace_get_model (hm_dbg_window_get_trace (window));
  HmSymbolizer *symbolizer = hm_dbg_trace_get_symbolizer (hm_dbg_window_get_trace (window));
  g_autoptr(GPtrArray) sites = hm_heap_model_get_sites (model);
  guint64 total = hm_heap_model_get_totals (model)->bytes_allocated, word_table = 0, grow = 0;
  graphene_rect_t whole, box;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "flame"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (view_stack), ==, "flame");
  run_loop_for (300);
  g_assert_cmpuint (hm_dbg_flame_view_get_total_cost (flame), ==, total);

  /* what the model says word_table_* and word_table_grow hold */
  for (guint i = 0; i < sites->len; i++)
    {
      const HmSiteStats *site = g_ptr_array_index (sites, i);
      g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, site->stack);
      gboolean in_word_table = FALSE, in_grow = FALSE;
      for (guint f = 0; f < frames->len; f++)
        {
          const HmFrameInfo *frame = g_ptr_array_index (frames, f);
          in_word_table |= frame->function && g_str_has_prefix (frame->function, "word_table");
          in_grow |= frame->function && g_str_equal (frame->function, "word_table_grow");
        }
      word_table += in_word_table ? site->bytes : 0;
      grow += in_grow ? site->bytes : 0;
    }
  g_assert_cmpuint (grow, >, 0);

  /* widths are shares: "main" spans what main allocated, word_table_grow its part */
  g_assert_true (hm_dbg_flame_view_get_box (flame, "main", &whole));
  g_assert_true (hm_dbg_flame_view_get_box (flame, "word_table_grow", &box));
  double expected = (double) grow / (double) total;
  g_test_message ("flame: word_table_grow %.1f px of %.1f px, expected share %.4f", box.size.width,
                  whole.size.width, expected);
  g_assert_cmpfloat (fabs (box.size.width / whole.size.width - expected), <, 0.01);

  /* search: the share matched, counting nested matches once */
  hm_dbg_flame_view_set_search (flame, "word_TABLE");
  g_assert_cmpfloat (fabs (hm_dbg_flame_view_get_matched_share (flame)
                           - (double) word_table / (double) total), <, 1e-9);
  save_screenshot (GTK_WIDGET (window), "debugger-flame-search.png");
  hm_dbg_flame_view_set_search (flame, "");

  /* a click on word_table_grow zooms into it; Escape zooms out */
  GtkWidget *canvas = find_descendant (GTK_WIDGET (flame), GTK_TYPE_DRAWING_AREA);
  g_assert_nonnull (canvas);
  GtkEventController *click = find_controller (canvas, GTK_TYPE_GESTURE_CLICK, 0);
  graphene_point_t centre = GRAPHENE_POINT_INIT (box.origin.x + box.size.width / 2,
                                                 box.origin.y + box.size.height / 2), in_canvas;
  g_assert_true (gtk_widget_compute_point (GTK_WIDGET (flame), canvas, &centre, &in_canvas));
  g_signal_emit_by_name (click, "pressed", 1, (double) in_canvas.x, (double) in_canvas.y);
  g_assert_cmpstr (hm_dbg_flame_view_get_zoom_function (flame), ==, "word_table_grow");
  g_assert_cmpuint (hm_dbg_flame_view_get_zoom_cost (flame), ==, grow);
  run_loop_for (100);
  save_screenshot (GTK_WIDGET (window), "debugger-flame-zoomed.png");
  g_signal_emit_by_name (click, "pressed", 1, 1.0, 1.0);
  g_assert_null (hm_dbg_flame_view_get_zoom_function (flame));

  /* another cost: the leaked bytes */
  hm_dbg_flame_view_set_cost (flame, HM_COST_LEAKED);
  g_assert_cmpuint (hm_dbg_flame_view_get_total_cost (flame), ==,
                    hm_heap_model_get_totals (model)->live_bytes);
  run_loop_for (100);
  save_screenshot (GTK_WIDGET (window), "debugger-flame-leaked.png");
  close_window (window);
}

static const HmCallNode *
tree_row_node (GListModel *rows, guint i)
{
  g_autoptr(GtkTreeListRow) row = g_list_model_get_item (rows, i);
  return hm_dbg_tree_view_row_node (row);
}

/* The call tree of the demo: bottom-up, the allocating functions at the top
 * level sum to everything allocated, biggest first, and expanding one shows
 * its callers; top-down starts at _start; the filter keeps only the stacks
 * through a function. */
static void
test_call_tree (void)
{
  HmDbgWindow *window = open_window (demo_trace);
  HmDbgTreeView *tree = HM_DBG_TREE_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                          "tree_view"));
  GListModel *rows = hm_dbg_tree_view_get_rows (tree);
  HmHeapModel *model = hm_dbg_trace_get_model (hm_dbg_window_get_trace (window));
  guint64 total = hm_heap_model_get_totals (model)->bytes_allocated, sum = 0;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "tree"));
  hm_dbg_tree_view_set_direction (tree, HM_CALL_TREE_BOTTOM_UP);
  run_loop_for (200);
  guint n = g_list_model_get_n_items (rows);
  g_assert_cmpuint (n, >=, 5);
  for (guint i = 0; i < n; i++)
    {
      const HmCallNode *node = tree_row_node (rows, i);
      g_assert_cmpuint (node->depth, ==, 1);
      sum += node->bytes;
      if (i > 0)
        g_assert_cmpuint (tree_row_node (rows, i - 1)->bytes, >=, node->bytes);
    }
  g_assert_cmpuint (sum, ==, total);
  g_assert_cmpstr (tree_row_node (rows, 0)->function, ==, "main");

  /* expanding word_table_grow shows who called it */
  for (guint i = 0; i < n; i++)
    if (g_str_equal (tree_row_node (rows, i)->function, "word_table_grow"))
      {
        g_autoptr(GtkTreeListRow) row = g_list_model_get_item (rows, i);
        gtk_tree_list_row_set_expanded (row, TRUE);
        run_loop_for (100);
        g_assert_cmpuint (g_list_model_get_n_items (rows), ==, n + 1);
        g_assert_cmpstr (tree_row_node (rows, i + 1)->function, ==, "word_table_count");
        g_assert_cmpuint (tree_row_node (rows, i + 1)->bytes, ==, tree_row_node (rows, i)->bytes);
        break;
      }
  save_screenshot (GTK_WIDGET (window), "debugger-call-tree.png");

  /* only the stacks through sort_words_by_count */
  hm_dbg_tree_view_set_filter (tree, "sort_words");
  run_loop_for (100);
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, 1);
  g_assert_cmpstr (tree_row_node (rows, 0)->function, ==, "sort_words_by_count");
  hm_dbg_tree_view_set_filter (tree, NULL);

  hm_dbg_tree_view_set_direction (tree, HM_CALL_TREE_TOP_DOWN);
  run_loop_for (100);
  g_assert_cmpstr (tree_row_node (rows, 0)->function, ==, "_start");
  g_assert_cmpuint (tree_row_node (rows, 0)->bytes, ==, total);
  close_window (window);
}

/* The profile editor, round trip: a profile built from the demo's trace,
 * a bad value refused and flagged in its row, good values kept, saved; the
 * file says what was set, and the agent applies it on the demo's next run
 * (the trace of that run shows the site served from a pool). */
static void
test_profile_editor (void)
{
  HmDbgWindow *window = open_window (demo_trace);
  HmDbgProfileView *editor = HM_DBG_PROFILE_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                  "profile_view"));
  GListModel *rows = hm_dbg_profile_view_get_rows (editor);
  g_autofree char *saved = g_build_filename (tmp_dir, "memory_profile.json", NULL);
  g_autofree char *applied_trace = g_build_filename (tmp_dir, "applied.hmt", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (saved);
  g_autoptr(GError) error = NULL;
  int hot = -1;
  gint64 hot_size = 0;
  g_autofree char *hot_key = NULL;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "profile"));
  g_assert_true (hm_dbg_profile_view_build_from_trace (editor));
  HmProfile *profile = hm_dbg_profile_view_get_profile (editor);
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, hm_profile_get_n_sites (profile));
  g_assert_cmpuint (g_list_model_get_n_items (rows), >, 3);
  /* the word table's entries: one fixed size, thousands of them */
  for (guint i = 0; i < hm_profile_get_n_sites (profile); i++)
    {
      HmProfileSite site;
      g_assert_true (hm_profile_get_site (profile, i, &site));
      if (g_strcmp0 (site.symbol, "word_table_count") == 0 && site.min_size == site.max_size)
        {
          hot = (int) i;
          hot_size = site.max_size;
          hot_key = hm_profile_site_key (&site);
        }
    }
  g_assert_cmpint (hot, >=, 0);
  run_loop_for (200);

  /* refused, and said so in the row; the profile keeps no capacity */
  g_assert_false (hm_dbg_profile_view_edit (editor, hot, "pool_capacity", "lots"));
  g_assert_nonnull (hm_dbg_profile_view_get_row_error (editor, (guint) hot));
  run_loop_for (100);
  save_screenshot (GTK_WIDGET (window), "debugger-profile-refused.png");
  g_autofree char *size_text = g_strdup_printf ("%" G_GINT64_FORMAT, hot_size);
  g_assert_true (hm_dbg_profile_view_edit (editor, hot, "strategy", "maximize-performance"));
  g_assert_true (hm_dbg_profile_view_edit (editor, hot, "pool_object_size", size_text));
  g_assert_true (hm_dbg_profile_view_edit (editor, hot, "pool_capacity", "4096"));
  g_assert_null (hm_dbg_profile_view_get_row_error (editor, (guint) hot));
  g_assert_true (hm_dbg_profile_view_edit (editor, -1, "strategy", "adaptive"));
  {
    /* and the global control shows it */
    GtkWidget *dropdown = find_descendant (GTK_WIDGET (editor), GTK_TYPE_DROP_DOWN);
    GListModel *names = gtk_drop_down_get_model (GTK_DROP_DOWN (dropdown));
    g_autoptr(GtkStringObject) shown =
      g_list_model_get_item (names, gtk_drop_down_get_selected (GTK_DROP_DOWN (dropdown)));
    g_assert_cmpstr (gtk_string_object_get_string (shown), ==, "adaptive");
  }
  g_assert_true (hm_dbg_profile_view_is_modified (editor));
  g_assert_true (hm_dbg_profile_view_save (editor, file, &error));
  g_assert_no_error (error);
  g_assert_false (hm_dbg_profile_view_is_modified (editor));
  run_loop_for (100);
  save_screenshot (GTK_WIDGET (window), "debugger-profile.png");

  /* the file says what was set */
  g_autoptr(HmProfile) reread = hm_profile_load (saved, &error);
  g_assert_no_error (error);
  HmProfileSite site;
  g_assert_true (hm_profile_get_site (reread, (guint) hot, &site));
  g_assert_cmpstr (site.strategy, ==, "maximize-performance");
  g_assert_cmpint (site.pool_capacity, ==, 4096);
  g_assert_cmpint (site.pool_object_size, ==, hot_size);
  g_assert_cmpstr (hm_profile_get_strategy (reread), ==, "adaptive");

  /* and the agent applies it: the demo again, with this profile */
  {
    const char *hmtrace = g_getenv ("HMTRACE");
    g_autofree char *demo = g_build_filename (g_getenv ("HM_TEST_PROGRAMS_DIR"), "demo", NULL);
    /* without lifetime analysis, which turns pools off (they would hide bad frees) */
    const char *argv[] = { hmtrace, "record", "-q", "--no-lifetime", "-o", applied_trace, "--",
                           demo, DEMO_WORDS, NULL };
    g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "HM_PROFILE_PATH", saved, TRUE);
    int status = 0;
    g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                  &status, &error);
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  g_autoptr(HmHeapModel) applied = hm_heap_model_load_file (applied_trace, &error);
  g_assert_no_error (error);
  GPtrArray *decisions = hm_heap_model_get_profile_decisions (applied);
  gboolean pooled = FALSE;
  for (guint i = 0; i < decisions->len; i++)
    {
      const HmProfileDecision *d = g_ptr_array_index (decisions, i);
      g_test_message ("decision: %s %s (%s)", d->site, hm_profile_choice_name (d->choice), d->why);
      pooled |= g_strcmp0 (d->site, hot_key) == 0
                && g_str_equal (hm_profile_choice_name (d->choice), "pool");
    }
  g_assert_true (pooled);
  close_window (window);
}

/* Selecting a site draws its share on the timeline: where the site holds
 * memory the malloc area's bottom turns darker; with no site, pure malloc. */
static void
test_site_share_on_timeline (void)
{
  HmDbgWindow *window = open_window (demo_trace);
  HmDbgTimelineView *timeline = HM_DBG_TIMELINE_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                      "timeline_view"));
  HmDbgSitesView *sites_view = HM_DBG_SITES_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                  "sites_view"));
  GtkSelectionModel *selection = hm_dbg_sites_view_get_model (sites_view);
  GListModel *rows = G_LIST_MODEL (selection);
  GdkRGBA malloc_color;
  graphene_rect_t plot;
  guint word_table = G_MAXUINT;

  hm_dbg_timeline_view_get_strategy_color (HM_STRATEGY_KIND_MALLOC, &malloc_color);
  /* the heap's own scale: demo's RSS is many times its heap */
  g_object_set (timeline, "show-rss", FALSE, NULL);
  /* nothing is highlighted until a person picks a site */
  g_assert_false (hm_dbg_timeline_view_has_highlight (timeline));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "sites"));
  wait_for_lists (selection);
  /* word_table_count's entries live from their word's first sight to the end */
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(HmDbgSite) site = g_list_model_get_item (rows, i);
      if (g_str_equal (hm_dbg_site_get_function (site), "word_table_count"))
        word_table = i;
    }
  g_assert_cmpuint (word_table, !=, G_MAXUINT);
  gtk_single_selection_set_selected (GTK_SINGLE_SELECTION (selection), word_table);
  run_loop_for (100);
  g_assert_true (hm_dbg_timeline_view_has_highlight (timeline));
  /* and it is there when the person goes back to the timeline */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "timeline");
  run_loop_for (200);
  g_assert_true (hm_dbg_timeline_view_has_highlight (timeline));
  {
    g_autoptr(GdkTexture) texture = render_widget (GTK_WIDGET (timeline));
    Pixels pixels = download (texture);
    g_autofree guchar *data = pixels.data;
    hm_dbg_timeline_view_get_plot_area (timeline, &plot);
    /* where the site holds the most (not a fixed share of the run: the exit
     * scan of lifetime analysis makes the run's end slower or faster) */
    HmHeapModel *model = hm_dbg_trace_get_model (hm_dbg_window_get_trace (window));
    g_autoptr(HmDbgSite) picked = g_list_model_get_item (rows, word_table);
    guint64 bucket_ns = 0;
    g_autoptr(GArray) series = hm_heap_model_get_site_series (model, hm_dbg_site_get_stack (picked),
                                                              &bucket_ns);
    guint best = 0;
    for (guint i = 0; i < series->len; i++)
      if (g_array_index (series, guint64, i) > g_array_index (series, guint64, best))
        best = i;
    double duration = (double) hm_dbg_trace_get_duration (hm_dbg_window_get_trace (window));
    int x = (int) (plot.origin.x + plot.size.width * ((best + 0.5) * (double) bucket_ns) / duration);
    int y = (int) (plot.origin.y + plot.size.height - 2);
    GdkRGBA there = pixel_at (&pixels, x, y);
    g_test_message ("at %d,%d: %.2f %.2f %.2f (malloc %.2f %.2f %.2f)", x, y, there.red,
                    there.green, there.blue, malloc_color.red, malloc_color.green,
                    malloc_color.blue);
    /* darker than the malloc area, and not the background */
    g_assert_false (pixel_is (&pixels, x, y, &malloc_color));
    g_assert_cmpfloat (there.red + there.green + there.blue, <,
                       malloc_color.red + malloc_color.green + malloc_color.blue);
  }
  save_screenshot (GTK_WIDGET (window), "debugger-site-share.png");
  close_window (window);
}

/* The timeline exported as PNG: the file reads back at the widget's size,
 * with the malloc colour at the bottom near the heap's peak. */
static void
test_timeline_png (void)
{
  HmDbgWindow *window = open_window (demo_trace);
  HmDbgTimelineView *timeline = HM_DBG_TIMELINE_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                      "timeline_view"));
  g_autofree char *path = g_build_filename (tmp_dir, "timeline.png", NULL);
  g_autoptr(GError) error = NULL;
  GdkRGBA malloc_color;
  graphene_rect_t plot;

  /* the heap's own scale: demo's RSS is many times its heap */
  g_object_set (timeline, "show-rss", FALSE, NULL);
  g_assert_true (hm_dbg_timeline_view_save_png (timeline, path, &error));
  g_assert_no_error (error);
  save_screenshot (GTK_WIDGET (window), "debugger-export-png-window.png");
  {
    g_autofree char *copy = g_build_filename (g_getenv ("HM_SCREENSHOT_DIR"), "debugger-timeline-export.png", NULL);
    g_autofree char *bytes = NULL;
    gsize length = 0;
    if (g_file_get_contents (path, &bytes, &length, NULL))
      g_file_set_contents (copy, bytes, (gssize) length, NULL);
  }
  g_autoptr(GdkTexture) texture = gdk_texture_new_from_filename (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, gtk_widget_get_width (GTK_WIDGET (timeline)));
  g_assert_cmpint (gdk_texture_get_height (texture), ==,
                   gtk_widget_get_height (GTK_WIDGET (timeline)));
  Pixels pixels = download (texture);
  g_autofree guchar *data = pixels.data;
  hm_dbg_timeline_view_get_strategy_color (HM_STRATEGY_KIND_MALLOC, &malloc_color);
  hm_dbg_timeline_view_get_plot_area (timeline, &plot);
  g_assert_true (pixel_is (&pixels, (int) (plot.origin.x + plot.size.width * 0.9),
                           (int) (plot.origin.y + plot.size.height - 2), &malloc_color));
  close_window (window);
}

static gboolean
file_has_text (gpointer data)
{
  g_autofree char *text = NULL;
  return g_file_get_contents (data, &text, NULL, NULL) && strchr (text, '\n') != NULL;
}

/* Open in editor: a frame's file:line goes to the editor-command setting,
 * the relative source path found under the program's build tree. */
static void
test_open_in_editor (void)
{
  HmDbgWindow *window = open_window (demo_trace);
  HmDbgSitesView *sites_view = HM_DBG_SITES_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                  "sites_view"));
  HmDbgStackView *stack_view = HM_DBG_STACK_VIEW (template_child (sites_view, HM_DBG_TYPE_SITES_VIEW,
                                                                  "stack_view"));
  g_autofree char *out = g_build_filename (tmp_dir, "editor-was-asked.txt", NULL);
  g_autofree char *quoted = g_shell_quote (out);
  g_autofree char *command = g_strdup_printf ("sh -c 'echo \"$0\" > %s' %%f:%%l", quoted);
  g_autoptr(GSettings) settings = g_settings_new ("io.github.hybridmem.Debugger");
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_settings_set_string (settings, "editor-command", command);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "sites"));
  wait_for_lists (hm_dbg_sites_view_get_model (sites_view));
  run_loop_for (100);
  g_assert_cmpuint (hm_dbg_stack_view_get_n_frames (stack_view), >, 1);
  /* frame #0 of the biggest site is in demo.c */
  g_assert_true (hm_dbg_stack_view_open_frame (stack_view, 0, &error));
  g_assert_no_error (error);
  g_assert_true (wait_until (file_has_text, out, WAIT_TIMEOUT_MS));
  g_assert_true (g_file_get_contents (out, &text, NULL, NULL));
  g_test_message ("the editor was asked for %s", text);
  g_assert_true (g_str_has_prefix (text, "/"));
  g_assert_nonnull (strstr (text, "tests/programs/demo.c:"));
  g_assert_cmpint (atoi (strrchr (text, ':') + 1), >, 0);
  g_settings_reset (settings, "editor-command");
  close_window (window);
}

/* A hundred thousand sites: the list makes rows on demand, sorts and
 * searches them without blocking, in seconds. */
#define MANY_SITES 100000

static void
test_many_sites (void)
{
  g_autofree char *path = g_build_filename (tmp_dir, "many-sites.hmt", NULL);
  gint64 start = g_get_monotonic_time ();
  HmDbgWindow *window;
  HmDbgSitesView *sites_view;
  GtkSelectionModel *selection;
  GtkEditable *search;
  guint n_matching = 0;
  double open_s, search_s;

  build_many_sites_trace (path, MANY_SITES);
  start = g_get_monotonic_time ();
  window = open_window (path);
  g_assert_true (window_ready (window));
  g_test_message ("%u sites: read in %.2f s", MANY_SITES, (g_get_monotonic_time () - start) / 1e6);
  sites_view = HM_DBG_SITES_VIEW (template_child (window, HM_DBG_TYPE_WINDOW, "sites_view"));
  selection = hm_dbg_sites_view_get_model (sites_view);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "sites");
  wait_for_lists (selection);
  open_s = (g_get_monotonic_time () - start) / 1e6;
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (selection)), ==, MANY_SITES);
  /* Biggest first: sizes 16 + i % 1000, so 1015 bytes heads the list. */
  g_assert_cmpuint (site_bytes_at (G_LIST_MODEL (selection), 0), ==, 1015);

  /* The rows a search for "cache_page" must keep, from the model. */
  {
    g_autoptr(GPtrArray) sites = hm_heap_model_get_sites (hm_dbg_trace_get_model (hm_dbg_window_get_trace (window)));

    for (guint i = 0; i < sites->len; i++)
      {
        const HmSiteStats *site = g_ptr_array_index (sites, i);
        const char *function = NULL;

        hm_dbg_trace_describe_node (hm_dbg_window_get_trace (window), site->stack, &function, NULL);
        n_matching += strstr (function, "cache_page") != NULL;
      }
    g_assert_cmpuint (n_matching, >, 0);
  }

  search = GTK_EDITABLE (template_child (sites_view, HM_DBG_TYPE_SITES_VIEW, "search_entry"));
  start = g_get_monotonic_time ();
  gtk_editable_set_text (search, "cache_page");
  run_loop_for (400);
  wait_for_lists (selection);
  search_s = (g_get_monotonic_time () - start) / 1e6;
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (selection)), ==, n_matching);
  g_test_message ("%u sites: open and sort %.2f s, search %.2f s", MANY_SITES, open_s, search_s);
  g_assert_cmpfloat (open_s, <, 30);
  save_screenshot (GTK_WIDGET (window), "debugger-many-sites.png");

  close_window (window);
  g_unlink (path);
}

static void
test_cut_trace (void)
{
  HmDbgWindow *window = open_window (cut_trace);
  GtkInfoBar *info_bar = GTK_INFO_BAR (template_child (window, HM_DBG_TYPE_WINDOW, "info_bar"));
  GtkLabel *info_label = GTK_LABEL (template_child (window, HM_DBG_TYPE_WINDOW, "info_label"));
  HmHeapModel *model;
  g_autofree char *offset = NULL;

  g_assert_true (window_ready (window));
  model = hm_dbg_trace_get_model (hm_dbg_window_get_trace (window));
  g_assert_true (hm_heap_model_is_truncated (model));
  g_assert_true (gtk_info_bar_get_revealed (info_bar));
  offset = g_strdup_printf ("%" G_GUINT64_FORMAT, hm_heap_model_get_truncated_offset (model));
  g_test_message ("info bar: %s", gtk_label_get_text (info_label));
  g_assert_nonnull (strstr (gtk_label_get_text (info_label), "cut at byte"));
  g_assert_nonnull (strstr (gtk_label_get_text (info_label), offset));
  /* What came before the cut is there. */
  g_assert_cmpuint (hm_heap_model_get_totals (model)->allocations, >, 0);
  save_screenshot (GTK_WIDGET (window), "debugger-cut-trace.png");
  close_window (window);
}

static void
test_not_a_trace (void)
{
  g_autofree char *path = g_build_filename (tmp_dir, "notes.txt", NULL);
  HmDbgWindow *window;
  GtkInfoBar *info_bar;
  GtkStack *main_stack;

  g_file_set_contents (path, "these are not the bytes you are looking for\n", -1, NULL);
  window = open_window (path);
  info_bar = GTK_INFO_BAR (template_child (window, HM_DBG_TYPE_WINDOW, "info_bar"));
  main_stack = GTK_STACK (template_child (window, HM_DBG_TYPE_WINDOW, "main_stack"));
  g_assert_null (hm_dbg_window_get_trace (window));
  g_assert_true (gtk_info_bar_get_revealed (info_bar));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (main_stack), ==, "empty");
  save_screenshot (GTK_WIDGET (window), "debugger-not-a-trace.png");
  close_window (window);
}

/* A custom allocator announced with Valgrind's client requests (tests/
 * allocators/vg-annotated.c): its mempool is a row of Regions & Pools, with
 * the bytes that went through it. */
static void
test_valgrind_mempool_view (void)
{
  g_autofree char *program = g_build_filename (g_getenv ("HM_TEST_PROGRAMS_DIR"), "..",
                                               "allocators", "vg-annotated", NULL);
  g_autofree char *trace = g_build_filename (tmp_dir, "vg-annotated.hmt", NULL);
  const char *argv[] = { g_getenv ("HMTRACE"), "record", "-q", "-o", trace, "--", program, NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!g_file_test (program, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("tests/allocators/vg-annotated was not built (no valgrind.h)");
      return;
    }
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  HmDbgWindow *window = open_window (trace);
  HmDbgObjectsView *objects_view = HM_DBG_OBJECTS_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                        "objects_view"));
  GtkSelectionModel *objects = hm_dbg_objects_view_get_model (objects_view);
  g_assert_true (window_ready (window));
  wait_for_lists (objects);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (objects)), ==, 1);
  g_autoptr(HmDbgObjectItem) item = g_list_model_get_item (G_LIST_MODEL (objects), 0);
  g_assert_cmpint (hm_dbg_object_item_get_kind (item), ==, HM_OBJECT_POOL);
  g_assert_true (g_str_has_prefix (hm_dbg_object_item_get_name (item), "mempool 0x"));
  g_assert_cmpuint (hm_dbg_object_item_get_allocations (item), ==, 12);
  /* vg-annotated.c's pieces: 24 + 8 i bytes, i = 0..11 */
  g_assert_cmpuint (hm_dbg_object_item_get_bytes (item), ==, 12 * 24 + 8 * 66);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "objects");
  run_loop_for (200);
  save_screenshot (GTK_WIDGET (window), "debugger-valgrind-mempool.png");
  close_window (window);
}

static void
test_hybrid (void)
{
  HmDbgWindow *window = open_window (hybrid_trace);
  HmDbgTimelineView *timeline = HM_DBG_TIMELINE_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                      "timeline_view"));
  HmDbgObjectsView *objects_view = HM_DBG_OBJECTS_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                        "objects_view"));
  HmDbgWarningsView *warnings_view = HM_DBG_WARNINGS_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                           "warnings_view"));
  HmDbgStackView *stack_view = HM_DBG_STACK_VIEW (template_child (warnings_view,
                                                                  HM_DBG_TYPE_WARNINGS_VIEW,
                                                                  "stack_view"));
  GtkSelectionModel *objects = hm_dbg_objects_view_get_model (objects_view);
  GtkSelectionModel *warnings = hm_dbg_warnings_view_get_model (warnings_view);
  HmHeapModel *model;
  guint64 duration;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guchar *data = NULL;
  Pixels pixels;
  graphene_rect_t plot;

  g_assert_true (window_ready (window));
  model = hm_dbg_trace_get_model (hm_dbg_window_get_trace (window));
  duration = hm_dbg_trace_get_duration (hm_dbg_window_get_trace (window));
  g_assert_cmpuint (hm_heap_model_get_regions (model)->len, ==, HYBRID_N_REGIONS);
  g_assert_cmpuint (hm_heap_model_get_pools (model)->len, ==, HYBRID_N_POOLS);
  g_assert_cmpuint (hm_heap_model_get_warnings (model)->len, ==, HYBRID_N_WARNINGS);

  /* Every strategy of the manager has its colour on the plot (mmap and
   * custom memory: test_timeline_mmap_and_rss). */
  texture = render_widget (GTK_WIDGET (timeline));
  pixels = download (texture);
  data = pixels.data;
  hm_dbg_timeline_view_get_plot_area (timeline, &plot);
  for (guint kind = 0; kind < HM_STRATEGY_KIND_MMAP; kind++)
    {
      GdkRGBA color;
      double share;

      hm_dbg_timeline_view_get_strategy_color (kind, &color);
      share = color_share (&pixels, &plot, &color);
      g_test_message ("%s: %.2f%% of the plot", hm_strategy_kind_name (kind), share * 100);
      g_assert_cmpfloat (share, >, 0.002);
    }
  save_screenshot (GTK_WIDGET (window), "debugger-hybrid-timeline.png");

  /* Regions and pools: one row each. */
  wait_for_lists (objects);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (objects)), ==,
                    HYBRID_N_REGIONS + HYBRID_N_POOLS);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "objects");
  run_loop_for (200);
  save_screenshot (GTK_WIDGET (window), "debugger-regions-pools.png");

  /* Warnings, with the bad call's stack resolved into this program. */
  wait_for_lists (warnings);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (warnings)), ==, HYBRID_N_WARNINGS);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "warnings");
  gtk_selection_model_select_item (warnings, 0, TRUE);
  run_loop_for (200);
  g_assert_cmpuint (hm_dbg_stack_view_get_n_frames (stack_view), ==, 2);
  save_screenshot (GTK_WIDGET (window), "debugger-warnings.png");

  /* A time range keeps the warnings inside it: the first half has one. */
  hm_dbg_timeline_view_set_selection (timeline, 0, duration / 2);
  wait_for_lists (warnings);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (warnings)), ==, 1);
  hm_dbg_timeline_view_clear_selection (timeline);
  wait_for_lists (warnings);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (warnings)), ==, HYBRID_N_WARNINGS);

  /* "Show in Timeline" puts the cursor at the warning's moment. */
  {
    g_autoptr(HmDbgWarningItem) item = g_list_model_get_item (G_LIST_MODEL (warnings), 0);
    GtkWidget *show_button = template_child (warnings_view, HM_DBG_TYPE_WARNINGS_VIEW, "show_button");
    GtkStack *view_stack = GTK_STACK (template_child (window, HM_DBG_TYPE_WINDOW, "view_stack"));
    gint64 cursor = -1;

    gtk_selection_model_select_item (warnings, 0, TRUE);
    run_loop_for (50);
    g_signal_emit_by_name (show_button, "clicked");
    g_object_get (timeline, "cursor-time", &cursor, NULL);
    g_assert_cmpint (cursor, ==, (gint64) hm_dbg_warning_item_get_time (item));
    g_assert_cmpstr (gtk_stack_get_visible_child_name (view_stack), ==, "timeline");
  }

  close_window (window);
}

static void
store_result (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static gboolean
has_result (gpointer data)
{
  return *(GAsyncResult **) data != NULL;
}

/* Starts a recording with the program's stdout on /dev/null: it would
 * otherwise land in the middle of our TAP output. */
static gboolean
record_quietly (HmDbgWindow        *window,
                const char * const *argv)
{
  int saved = dup (STDOUT_FILENO);
  int null_fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  gboolean started;

  g_assert_cmpint (saved, >=, 0);
  g_assert_cmpint (null_fd, >=, 0);
  fflush (stdout);
  dup2 (null_fd, STDOUT_FILENO);
  started = hm_dbg_window_record (window, argv, NULL);
  dup2 (saved, STDOUT_FILENO);
  close (saved);
  close (null_fd);
  return started;
}

static gboolean
trace_finished (gpointer data)
{
  HmDbgWindow *window = data;
  HmDbgTrace *trace = hm_dbg_window_get_trace (window);
  GtkWidget *stop = template_child (window, HM_DBG_TYPE_WINDOW, "stop_button");

  return trace != NULL && hm_dbg_trace_is_finished (trace) && !gtk_widget_get_visible (stop);
}

static void
count_changes (guint *n_changes)
{
  (*n_changes)++;
}

static void
test_record_live (void)
{
  g_autofree char *demo = g_build_filename (g_getenv ("HM_TEST_PROGRAMS_DIR"), "demo", NULL);
  const char *argv[] = { demo, DEMO_WORDS, NULL };
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  GtkInfoBar *info_bar = GTK_INFO_BAR (template_child (window, HM_DBG_TYPE_WINDOW, "info_bar"));
  g_autoptr(HmHeapModel) from_file = NULL;
  g_autoptr(GError) error = NULL;
  HmHeapModel *live;
  guint n_changes = 0;

  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 780);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (record_quietly (window, argv));
  g_assert_true (hm_dbg_trace_is_live (hm_dbg_window_get_trace (window)));
  g_signal_connect_swapped (hm_dbg_window_get_trace (window), "changed",
                            G_CALLBACK (count_changes), &n_changes);
  g_assert_true (wait_until (trace_finished, window, WAIT_TIMEOUT_MS));
  g_assert_true (wait_until (window_idle, window, WAIT_TIMEOUT_MS));

  /* The live model says what hmtrace's file of the same run says. */
  from_file = hm_heap_model_load_file (demo_trace, &error);
  g_assert_no_error (error);
  live = hm_dbg_trace_get_model (hm_dbg_window_get_trace (window));
  g_test_message ("live: %" G_GUINT64_FORMAT " allocations, %u updates",
                  hm_heap_model_get_totals (live)->allocations, n_changes);
  g_assert_cmpuint (n_changes, >=, 1);
  g_assert_false (hm_heap_model_is_truncated (live));
  g_assert_false (gtk_info_bar_get_revealed (info_bar));
  g_assert_cmpuint (hm_heap_model_get_totals (live)->allocations, ==,
                    hm_heap_model_get_totals (from_file)->allocations);
  g_assert_cmpuint (hm_heap_model_get_totals (live)->bytes_allocated, ==,
                    hm_heap_model_get_totals (from_file)->bytes_allocated);
  g_assert_cmpuint (hm_heap_model_get_totals (live)->live_bytes, ==,
                    hm_heap_model_get_totals (from_file)->live_bytes);
  save_screenshot (GTK_WIDGET (window), "debugger-recorded.png");

  /* Save writes the bytes that arrived: the same model again. */
  {
    g_autofree char *saved_path = g_build_filename (tmp_dir, "saved.hmt", NULL);
    g_autoptr(GFile) saved = g_file_new_for_path (saved_path);
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(HmHeapModel) reread = NULL;

    hm_dbg_window_save_async (window, saved, NULL, store_result, &result);
    g_assert_true (wait_until (has_result, &result, WAIT_TIMEOUT_MS));
    g_assert_true (hm_dbg_window_save_finish (window, result, &error));
    reread = hm_heap_model_load_file (saved_path, &error);
    g_assert_no_error (error);
    g_assert_false (hm_heap_model_is_truncated (reread));
    g_assert_cmpuint (hm_heap_model_get_totals (reread)->allocations, ==,
                      hm_heap_model_get_totals (live)->allocations);
    g_assert_cmpuint (hm_heap_model_get_totals (reread)->peak_bytes, ==,
                      hm_heap_model_get_totals (live)->peak_bytes);
    g_unlink (saved_path);
  }

  g_signal_handlers_disconnect_by_data (hm_dbg_window_get_trace (window), &n_changes);
  close_window (window);
}

static gboolean
has_allocations (gpointer data)
{
  HmDbgTrace *trace = hm_dbg_window_get_trace (data);

  return trace != NULL && hm_heap_model_get_totals (hm_dbg_trace_get_model (trace))->allocations > 1000;
}

static void
test_record_stop (void)
{
  g_autofree char *demo = g_build_filename (g_getenv ("HM_TEST_PROGRAMS_DIR"), "demo", NULL);
  /* Long enough to be stopped in the middle. */
  const char *argv[] = { demo, "50000000", NULL };
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  GtkInfoBar *info_bar = GTK_INFO_BAR (template_child (window, HM_DBG_TYPE_WINDOW, "info_bar"));
  GtkLabel *info_label = GTK_LABEL (template_child (window, HM_DBG_TYPE_WINDOW, "info_label"));

  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 780);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (record_quietly (window, argv));
  g_assert_true (wait_until (has_allocations, window, WAIT_TIMEOUT_MS));
  g_assert_true (wait_until (window_idle, window, WAIT_TIMEOUT_MS));
  run_loop_for (300); /* a "changed" or two: the views catch up */
  /* Still running: the Stop button shows, the summary says so. */
  g_assert_true (gtk_widget_get_visible (template_child (window, HM_DBG_TYPE_WINDOW, "stop_button")));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                          "summary_label"))),
                            "recording"));
  save_screenshot (GTK_WIDGET (window), "debugger-recording.png");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.stop", NULL));
  g_assert_true (wait_until (trace_finished, window, WAIT_TIMEOUT_MS));
  run_loop_for (100);

  g_test_message ("info bar: %s", gtk_label_get_text (info_label));
  g_assert_true (gtk_info_bar_get_revealed (info_bar));
  g_assert_nonnull (strstr (gtk_label_get_text (info_label), "Recording stopped"));
  g_assert_cmpuint (hm_heap_model_get_totals (hm_dbg_trace_get_model (hm_dbg_window_get_trace (window)))
                      ->allocations, >, 1000);
  close_window (window);
}

/* The main thread busy (not iterating) while the recorded program runs
 * to its end: the reader thread must queue its feeds, never run them
 * itself (it would then join itself at the end of the stream). */
static void
test_record_main_thread_busy (void)
{
  g_autofree char *demo = g_build_filename (g_getenv ("HM_TEST_PROGRAMS_DIR"), "demo", NULL);
  const char *argv[] = { demo, "2000", NULL };
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));

  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (record_quietly (window, argv));
  /* Nothing iterates the main context while the program writes and exits. */
  g_usleep (1500 * 1000);
  g_assert_true (wait_until (trace_finished, window, WAIT_TIMEOUT_MS));
  g_assert_cmpuint (hm_heap_model_get_totals (hm_dbg_trace_get_model (hm_dbg_window_get_trace (window)))
                      ->allocations, >, 1000);
  close_window (window);
}

/* Suppressions in LeakSanitizer's format hide leaks from the Warnings page,
 * and each rule says what it hid; a bad file is refused naming its line. */
static void
test_warnings_suppressions (void)
{
  HmDbgWindow *window = open_window (demo_trace);
  HmDbgWarningsView *view = HM_DBG_WARNINGS_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                  "warnings_view"));
  GtkSelectionModel *rows = hm_dbg_warnings_view_get_model (view);
  g_autofree char *rules = g_build_filename (tmp_dir, "demo.supp", NULL);
  g_autofree char *bad = g_build_filename (tmp_dir, "bad.supp", NULL);
  g_autoptr(GError) error = NULL;
  guint n_all, n_sort = 0;
  guint64 sort_bytes = 0;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "warnings"));
  run_loop_for (100);
  n_all = g_list_model_get_n_items (G_LIST_MODEL (rows));
  for (guint i = 0; i < n_all; i++)
    {
      g_autoptr(HmDbgWarningItem) item = g_list_model_get_item (G_LIST_MODEL (rows), i);
      g_autofree char *function = NULL;
      g_object_get (item, "function", &function, NULL);
      if (g_str_equal (function, "sort_words_by_count"))
        {
          n_sort++;
          sort_bytes += hm_dbg_warning_item_get_warning (item)->size;
        }
    }
  g_assert_cmpuint (n_sort, >, 0);
  g_assert_cmpuint (n_all, >, n_sort);

  g_assert_true (g_file_set_contents (rules, "# the demo's planted leak\nrace:whatever\n"
                                             "leak:sort_words*count\n", -1, NULL));
  g_assert_true (hm_dbg_warnings_view_load_suppressions (view, rules, &error));
  g_assert_no_error (error);
  run_loop_for (100);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (rows)), ==, n_all - n_sort);
  g_assert_cmpuint (hm_dbg_warnings_view_get_n_suppressed (view), ==, n_sort);
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (rows)); i++)
    {
      g_autoptr(HmDbgWarningItem) item = g_list_model_get_item (G_LIST_MODEL (rows), i);
      g_autofree char *function = NULL;
      g_object_get (item, "function", &function, NULL);
      g_assert_cmpstr (function, !=, "sort_words_by_count");
    }
  /* the file's rule, after the built-ins, says what it hid */
  GPtrArray *suppressions = hm_dbg_warnings_view_get_suppressions (view);
  const HmSuppression *last = g_ptr_array_index (suppressions, suppressions->len - 1);
  g_autofree char *where = g_strdup_printf ("%s:3", rules);
  g_assert_cmpstr (last->pattern, ==, "sort_words*count");
  g_assert_cmpstr (last->source, ==, where);
  g_assert_cmpuint (last->blocks, ==, n_sort);
  g_assert_cmpuint (last->bytes, ==, sort_bytes);
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (template_child (GTK_WIDGET (view),
                                                                           HM_DBG_TYPE_WARNINGS_VIEW,
                                                                           "count_label"))),
                            "suppressed"));
  save_screenshot (GTK_WIDGET (window), "debugger-warnings-suppressed.png");
  {
    GtkMenuButton *button = GTK_MENU_BUTTON (template_child (GTK_WIDGET (view),
                                                             HM_DBG_TYPE_WARNINGS_VIEW,
                                                             "suppressions_button"));
    gtk_menu_button_popup (button);
    run_loop_for (300);
    /* a popover is a surface of its own */
    save_screenshot (GTK_WIDGET (gtk_menu_button_get_popover (button)),
                     "debugger-suppressions-popover.png");
    gtk_menu_button_popdown (button);
  }

  /* a bad file: refused naming its line, the rules before stay */
  g_assert_true (g_file_set_contents (bad, "leak:fine\nleak:\n", -1, NULL));
  g_assert_false (hm_dbg_warnings_view_load_suppressions (view, bad, &error));
  g_assert_nonnull (error);
  g_test_message ("bad rules file: %s", error->message);
  g_assert_nonnull (strstr (error->message, "bad.supp:2"));
  g_assert_cmpuint (hm_dbg_warnings_view_get_n_suppressed (view), ==, n_sort);

  /* no file: everything shows again */
  g_assert_true (hm_dbg_warnings_view_load_suppressions (view, NULL, NULL));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (rows)), ==, n_all);
  close_window (window);
}

/* The selected site's sizes and lifetimes as bars: the counts are the
 * site's, and the fullest bucket's bar is drawn. */
static void
test_site_histograms (void)
{
  HmDbgWindow *window = open_window (demo_trace);
  GtkWidget *sites_view = template_child (window, HM_DBG_TYPE_WINDOW, "sites_view");
  GtkSelectionModel *rows = hm_dbg_sites_view_get_model (HM_DBG_SITES_VIEW (sites_view));
  HmDbgHistogramView *sizes = HM_DBG_HISTOGRAM_VIEW (template_child (sites_view,
                                                                     HM_DBG_TYPE_SITES_VIEW,
                                                                     "size_histogram"));
  HmDbgHistogramView *lifetimes = HM_DBG_HISTOGRAM_VIEW (template_child (sites_view,
                                                                         HM_DBG_TYPE_SITES_VIEW,
                                                                         "lifetime_histogram"));
  guint64 fullest = 0, fullest_value = 0, counted = 0;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "sites"));
  wait_for_lists (rows);
  gtk_selection_model_select_item (rows, 0, TRUE);
  run_loop_for (200);
  g_autoptr(HmDbgSite) site = g_list_model_get_item (G_LIST_MODEL (rows), 0);
  const HmSiteStats *stats = hm_dbg_site_get_model_stats (site);
  for (guint i = 0; i < HM_PROFILE_SIZE_BUCKETS; i++)
    {
      guint64 value = i == 0 ? 0 : (guint64) 1 << (i - 1);
      g_assert_cmpuint (hm_dbg_histogram_view_get_count (sizes, value), ==, stats->size_histogram[i]);
      counted += stats->size_histogram[i];
      if (stats->size_histogram[i] > fullest)
        fullest = stats->size_histogram[i], fullest_value = value;
    }
  g_assert_cmpuint (counted, ==, stats->allocations);
  for (guint i = 1; i < HM_PROFILE_LIFETIME_BUCKETS; i++)
    g_assert_cmpuint (hm_dbg_histogram_view_get_count (lifetimes, (guint64) 1 << (i - 1)), ==,
                      stats->lifetime_histogram[i]);

  graphene_rect_t bar;
  GdkRGBA blue;
  g_assert_true (hm_dbg_histogram_view_get_bar (sizes, fullest_value, &bar));
  gdk_rgba_parse (&blue, "#3584e4");
  g_autoptr(GdkTexture) texture = render_widget (GTK_WIDGET (sizes));
  Pixels pixels = download (texture);
  double share = color_share (&pixels, &bar, &blue);
  g_test_message ("site histogram: %s, fullest bucket at %" G_GUINT64_FORMAT " B holds %"
                  G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT "; its bar %.0fx%.0f px, %.0f%% blue",
                  hm_dbg_site_get_function (site), fullest_value, fullest, counted,
                  bar.size.width, bar.size.height, share * 100);
  g_assert_cmpfloat (bar.size.height, >, 20);
  g_assert_cmpfloat (share, >, 0.9);
  g_free (pixels.data);
  save_screenshot (GTK_WIDGET (window), "debugger-site-histograms.png");
  close_window (window);
}

/* ---- diff mode ----------------------------------------------------------- */

static gboolean
diff_loaded (gpointer data)
{
  HmDbgWindow *window = data;
  HmDbgTrace *trace = hm_dbg_window_get_trace (window);

  return !hm_dbg_window_is_loading (window) && trace != NULL
         && hm_dbg_trace_get_baseline (trace) != NULL;
}

static guint
count_dark_pixels (const Pixels          *pixels,
                   const graphene_rect_t *area)
{
  guint n = 0;

  for (int y = (int) area->origin.y; y < MIN ((int) (area->origin.y + area->size.height), pixels->height); y++)
    for (int x = (int) area->origin.x; x < MIN ((int) (area->origin.x + area->size.width), pixels->width); x++)
      {
        GdkRGBA c = pixel_at (pixels, x, y);
        n += c.red < 0.25 && c.green < 0.25 && c.blue < 0.25;
      }
  return n;
}

/* hybridmem-debugger --diff BEFORE AFTER on demo and demo-fixed (two
 * executables: every address differs): every view says what changed, and
 * only the fixed site changed. */
static void
test_diff_mode (void)
{
  g_autofree char *before = g_build_filename (tmp_dir, "diff-before.hmt", NULL);
  g_autofree char *after = g_build_filename (tmp_dir, "diff-after.hmt", NULL);
  g_autoptr(GFile) before_file = g_file_new_for_path (before);
  g_autoptr(GFile) after_file = g_file_new_for_path (after);
  HmDbgWindow *window;
  HmDbgTrace *trace;
  GtkSelectionModel *sites;
  guint changed = 0;
  gboolean found_fixed = FALSE;

  record_program_with_hmtrace ("demo", before, "100000");
  record_program_with_hmtrace ("demo-fixed", after, "100000");

  window = hm_dbg_window_new (GTK_APPLICATION (application));
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 780);
  gtk_window_present (GTK_WINDOW (window));
  hm_dbg_window_open_diff (window, before_file, after_file);
  g_assert_true (wait_until (diff_loaded, window, WAIT_TIMEOUT_MS));
  run_loop_for (300);
  trace = hm_dbg_window_get_trace (window);
  g_assert_true (g_file_equal (hm_dbg_trace_get_file (trace), after_file));
  g_assert_true (g_file_equal (hm_dbg_trace_get_file (hm_dbg_trace_get_baseline (trace)), before_file));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                          "summary_label"))),
                            "Compared with diff-before.hmt"));

  /* Timeline: the baseline's line is drawn over the areas */
  {
    HmDbgTimelineView *timeline = HM_DBG_TIMELINE_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                        "timeline_view"));
    graphene_rect_t plot;
    g_autoptr(GdkTexture) with = render_widget (GTK_WIDGET (timeline));
    Pixels p_with = download (with);
    hm_dbg_timeline_view_get_plot_area (timeline, &plot);
    save_screenshot (GTK_WIDGET (window), "debugger-diff-timeline.png");
    hm_dbg_trace_set_baseline (trace, NULL);
    run_loop_for (100);
    g_autoptr(GdkTexture) without = render_widget (GTK_WIDGET (timeline));
    Pixels p_without = download (without);
    guint dark_with = count_dark_pixels (&p_with, &plot);
    guint dark_without = count_dark_pixels (&p_without, &plot);
    g_test_message ("diff timeline: %u dark pixels with the baseline's line, %u without",
                    dark_with, dark_without);
    g_assert_cmpuint (dark_with, >, dark_without + 200);
    g_free (p_with.data);
    g_free (p_without.data);
  }
  close_window (window);

  /* again, the way a user starts it */
  window = hm_dbg_window_new (GTK_APPLICATION (application));
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 780);
  gtk_window_present (GTK_WINDOW (window));
  hm_dbg_window_open_diff (window, before_file, after_file);
  g_assert_true (wait_until (diff_loaded, window, WAIT_TIMEOUT_MS));
  run_loop_for (300);
  trace = hm_dbg_window_get_trace (window);

  /* Sites: one row per site matched by its frames; exactly the fixed one changed */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "sites"));
  sites = hm_dbg_sites_view_get_model (HM_DBG_SITES_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                          "sites_view")));
  wait_for_lists (sites);
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (sites)); i++)
    {
      g_autoptr(HmDbgSite) site = g_list_model_get_item (G_LIST_MODEL (sites), i);
      const HmDbgSiteRow *base = hm_dbg_site_get_base (site);
      g_assert_nonnull (base);
      if (base->allocations == hm_dbg_site_get_allocations (site)
          && base->bytes == hm_dbg_site_get_bytes (site)
          && base->live_bytes == hm_dbg_site_get_leaked_bytes (site))
        continue;
      changed++;
      g_assert_cmpstr (hm_dbg_site_get_function (site), ==, "sort_words_by_count");
      g_assert_cmpuint (base->live_bytes, >, 0);
      g_assert_cmpuint (hm_dbg_site_get_leaked_bytes (site), ==, 0);
      g_autofree char *leaked_text = NULL;
      g_object_get (site, "leaked-text", &leaked_text, NULL);
      g_test_message ("diff: sort_words_by_count leaked %s", leaked_text);
      g_assert_true (g_str_has_prefix (leaked_text, "−"));
      found_fixed = TRUE;
    }
  g_assert_cmpuint (changed, ==, 1);
  g_assert_true (found_fixed);
  save_screenshot (GTK_WIDGET (window), "debugger-diff-sites.png");

  /* Call tree: the node keeps both runs' costs */
  {
    HmDbgTreeView *tree = HM_DBG_TREE_VIEW (template_child (window, HM_DBG_TYPE_WINDOW, "tree_view"));
    GListModel *rows = hm_dbg_tree_view_get_rows (tree);
    gboolean seen = FALSE;
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "tree"));
    hm_dbg_tree_view_set_direction (tree, HM_CALL_TREE_BOTTOM_UP);
    run_loop_for (200);
    for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
      {
        const HmCallNode *node = tree_row_node (rows, i);
        if (g_str_equal (node->function, "sort_words_by_count"))
          {
            g_assert_cmpuint (node->base_leaked_bytes, >, 0);
            g_assert_cmpuint (node->leaked_bytes, ==, 0);
            g_assert_cmpuint (node->base_bytes, ==, node->bytes);
            seen = TRUE;
          }
      }
    g_assert_true (seen);
    save_screenshot (GTK_WIDGET (window), "debugger-diff-tree.png");
  }

  /* Flame graph of the leaked bytes: the fixed function is drawn, in blue */
  {
    HmDbgFlameView *flame = HM_DBG_FLAME_VIEW (template_child (window, HM_DBG_TYPE_WINDOW,
                                                               "flame_view"));
    graphene_rect_t box;
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "flame"));
    hm_dbg_flame_view_set_cost (flame, HM_COST_LEAKED);
    run_loop_for (300);
    g_autoptr(GdkTexture) texture = render_widget (GTK_WIDGET (flame));
    Pixels pixels = download (texture);
    g_assert_true (hm_dbg_flame_view_get_box (flame, "sort_words_by_count", &box));
    GdkRGBA c = pixel_at (&pixels, (int) (box.origin.x + 2), (int) (box.origin.y + box.size.height - 2));
    g_test_message ("diff flame: sort_words_by_count %.0f px wide, rgb %.2f %.2f %.2f",
                    box.size.width, c.red, c.green, c.blue);
    g_assert_cmpfloat (c.blue, >, c.red + 0.3);
    g_free (pixels.data);
    save_screenshot (GTK_WIDGET (window), "debugger-diff-flame.png");
  }

  /* Warnings: the planted z-node leaks are fixed, nothing is new */
  {
    GtkSelectionModel *warnings = hm_dbg_warnings_view_get_model (
      HM_DBG_WARNINGS_VIEW (template_child (window, HM_DBG_TYPE_WINDOW, "warnings_view")));
    guint fixed = 0, fresh = 0;
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "warnings"));
    run_loop_for (200);
    for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (warnings)); i++)
      {
        g_autoptr(HmDbgWarningItem) item = g_list_model_get_item (G_LIST_MODEL (warnings), i);
        HmDbgWarningChange change = hm_dbg_warning_item_get_change (item);
        g_assert_cmpint (change, !=, HM_DBG_WARNING_NO_DIFF);
        fixed += change == HM_DBG_WARNING_FIXED;
        fresh += change == HM_DBG_WARNING_NEW;
        if (change == HM_DBG_WARNING_FIXED)
          g_assert_true (hm_dbg_warning_item_get_trace (item) == hm_dbg_trace_get_baseline (trace));
      }
    g_test_message ("diff warnings: %u fixed, %u new", fixed, fresh);
    g_assert_cmpuint (fixed, >, 0);
    g_assert_cmpuint (fresh, ==, 0);
    save_screenshot (GTK_WIDGET (window), "debugger-diff-warnings.png");
  }
  close_window (window);
}

/* Regions & Pools in diff mode: objects are matched by kind and name;
 * those of one run only are new or gone, with all their numbers as change. */
static void
check_objects_diff (const char *before,
                    const char *after,
                    const char *status,
                    const char *bytes_prefix)
{
  g_autoptr(GFile) before_file = g_file_new_for_path (before);
  g_autoptr(GFile) after_file = g_file_new_for_path (after);
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  GtkSelectionModel *objects;
  guint n;

  gtk_window_present (GTK_WINDOW (window));
  hm_dbg_window_open_diff (window, before_file, after_file);
  g_assert_true (wait_until (diff_loaded, window, WAIT_TIMEOUT_MS));
  objects = hm_dbg_objects_view_get_model (HM_DBG_OBJECTS_VIEW (template_child (window,
                                                                               HM_DBG_TYPE_WINDOW,
                                                                               "objects_view")));
  run_loop_for (100);
  n = g_list_model_get_n_items (G_LIST_MODEL (objects));
  g_assert_cmpuint (n, ==, HYBRID_N_REGIONS + HYBRID_N_POOLS);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (objects), i);
      g_autofree char *status_text = NULL;
      g_autofree char *bytes_text = NULL;
      g_object_get (item, "status-text", &status_text, "bytes-text", &bytes_text, NULL);
      g_test_message ("diff objects %s: %s, %s", status, status_text, bytes_text);
      if (status != NULL)
        g_assert_cmpstr (status_text, ==, status);
      g_assert_true (g_str_has_prefix (bytes_text, bytes_prefix));
    }
  close_window (window);
}

static void
test_diff_objects (void)
{
  check_objects_diff (demo_trace, hybrid_trace, "new", "+");
  check_objects_diff (hybrid_trace, demo_trace, "gone (baseline only)", "−");
  check_objects_diff (hybrid_trace, hybrid_trace, NULL, "–");
}

static void
test_record_missing_program (void)
{
  const char *argv[] = { "/nonexistent/program", NULL };
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  GtkInfoBar *info_bar = GTK_INFO_BAR (template_child (window, HM_DBG_TYPE_WINDOW, "info_bar"));

  gtk_window_present (GTK_WINDOW (window));
  g_assert_false (hm_dbg_window_record (window, argv, NULL));
  g_assert_true (gtk_info_bar_get_revealed (info_bar));
  g_assert_null (hm_dbg_window_get_trace (window));
  close_window (window);
}

static void
store_argv (GStrv *out,
            char **argv)
{
  *out = g_strdupv (argv);
}

/* The Record dialog splits the command line as a shell would, and says so
 * when it cannot. */
static void
test_record_dialog (void)
{
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  HmDbgRecordDialog *dialog = hm_dbg_record_dialog_new (GTK_WINDOW (window));
  GtkWidget *error_label = template_child (dialog, HM_DBG_TYPE_RECORD_DIALOG, "error_label");
  g_auto(GStrv) argv = NULL;
  const char *expected[] = { "/usr/bin/demo", "two words", "--x=1", NULL };

  g_signal_connect_swapped (dialog, "record", G_CALLBACK (store_argv), &argv);
  gtk_window_present (GTK_WINDOW (window));
  gtk_window_present (GTK_WINDOW (dialog));
  g_assert_true (wait_until (widget_mapped, dialog, WAIT_TIMEOUT_MS));
  run_loop_for (100);

  hm_dbg_record_dialog_set_command (dialog, "/usr/bin/demo 'two words");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "record.start", NULL));
  g_assert_null (argv);
  g_assert_true (gtk_widget_get_visible (error_label));
  save_screenshot (GTK_WIDGET (dialog), "debugger-record-dialog.png");

  g_object_ref (dialog);
  hm_dbg_record_dialog_set_command (dialog, "/usr/bin/demo 'two words' --x=1");
  g_assert_false (gtk_widget_get_visible (error_label));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "record.start", NULL));
  g_assert_nonnull (argv);
  g_assert_true (g_strv_equal ((const char * const *) argv, expected));
  g_object_unref (dialog);
  close_window (window);
}

/* A new window opens at the size the last one closed with (GSettings). */
static void
test_window_size_remembered (void)
{
  HmDbgWindow *first = hm_dbg_window_new (GTK_APPLICATION (application));
  HmDbgWindow *second;
  int width = 0, height = 0;

  gtk_window_set_default_size (GTK_WINDOW (first), 910, 610);
  gtk_window_present (GTK_WINDOW (first));
  g_assert_true (wait_until (widget_mapped, first, WAIT_TIMEOUT_MS));
  gtk_window_close (GTK_WINDOW (first));
  run_loop_for (50);

  second = hm_dbg_window_new (GTK_APPLICATION (application));
  gtk_window_get_default_size (GTK_WINDOW (second), &width, &height);
  g_assert_cmpint (width, ==, 910);
  g_assert_cmpint (height, ==, 610);
  gtk_window_destroy (GTK_WINDOW (second));
}

/* The shortcuts window (F1) comes from the resources and builds. */
static void
test_shortcuts_window (void)
{
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  GtkShortcutsWindow *overlay;

  gtk_window_present (GTK_WINDOW (window));
  overlay = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window));
  g_assert_nonnull (overlay);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-help-overlay", NULL));
  g_assert_true (wait_until (widget_mapped, overlay, WAIT_TIMEOUT_MS));
  run_loop_for (200);
  save_screenshot (GTK_WIDGET (overlay), "debugger-shortcuts.png");
  gtk_window_close (GTK_WINDOW (overlay));
  close_window (window);
}

static double
luminance (const GdkRGBA *color)
{
  return 0.2126 * color->red + 0.7152 * color->green + 0.0722 * color->blue;
}

/* With the dark style the timeline's background and text follow the theme,
 * and the strategies keep their colours. */
static void
test_dark_style (void)
{
  GtkSettings *settings = gtk_settings_get_default ();
  HmDbgWindow *window;
  HmDbgTimelineView *timeline;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guchar *data = NULL;
  graphene_rect_t plot;
  GdkRGBA background, malloc_color;
  Pixels pixels;

  g_object_set (settings, "gtk-application-prefer-dark-theme", TRUE, NULL);
  window = open_window (hybrid_trace);
  timeline = HM_DBG_TIMELINE_VIEW (template_child (window, HM_DBG_TYPE_WINDOW, "timeline_view"));
  texture = render_widget (GTK_WIDGET (timeline));
  pixels = download (texture);
  data = pixels.data;
  hm_dbg_timeline_view_get_plot_area (timeline, &plot);
  background = pixel_at (&pixels, pixels.width - 3, pixels.height - 3);
  hm_dbg_timeline_view_get_strategy_color (HM_STRATEGY_KIND_MALLOC, &malloc_color);
  g_test_message ("dark background luminance %.2f", luminance (&background));
  g_assert_cmpfloat (luminance (&background), <, 0.3);
  g_assert_cmpfloat (color_share (&pixels, &plot, &malloc_color), >, 0.05);
  save_screenshot (GTK_WIDGET (window), "debugger-dark.png");
  close_window (window);
  g_object_set (settings, "gtk-application-prefer-dark-theme", FALSE, NULL);
}

/* HM_SCREENSHOT_TRACE=run.hmt: a screenshot of that trace for the README. */
static void
test_readme_screenshot (void)
{
  const char *path = g_getenv ("HM_SCREENSHOT_TRACE");
  HmDbgWindow *window;

  if (path == NULL)
    {
      g_test_skip ("HM_SCREENSHOT_TRACE is not set");
      return;
    }
  window = open_window (path);
  g_assert_true (window_ready (window));
  /* the heap's own scale: the RSS line (the button under the timeline)
   * would flatten a small program's heap */
  g_object_set (template_child (window, HM_DBG_TYPE_WINDOW, "timeline_view"), "show-rss", FALSE, NULL);
  run_loop_for (200);
  save_screenshot (GTK_WIDGET (window), "debugger-readme.png");
  close_window (window);
}

/* Every source with translatable strings is in po/POTFILES.in. */
static void
test_potfiles (void)
{
  const char *root = g_getenv ("HM_SOURCE_ROOT");
  g_autofree char *potfiles_path = NULL;
  g_autofree char *potfiles = NULL;
  g_auto(GStrv) listed = NULL;
  const char *folders[] = { "gui", "data/ui", "data/gtk", NULL };

  if (root == NULL)
    {
      g_test_skip ("HM_SOURCE_ROOT is not set");
      return;
    }
  potfiles_path = g_build_filename (root, "po", "POTFILES.in", NULL);
  g_assert_true (g_file_get_contents (potfiles_path, &potfiles, NULL, NULL));
  listed = g_strsplit (potfiles, "\n", -1);

  for (guint f = 0; folders[f] != NULL; f++)
    {
      g_autofree char *dir_path = g_build_filename (root, folders[f], NULL);
      g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
      const char *name;

      g_assert_nonnull (dir);
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (dir_path, name, NULL);
          g_autofree char *relative = g_build_filename (folders[f], name, NULL);
          g_autofree char *contents = NULL;
          gboolean translatable;

          if (!g_str_has_suffix (name, ".c") && !g_str_has_suffix (name, ".ui"))
            continue;
          g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
          translatable = strstr (contents, "_(\"") != NULL || strstr (contents, "ngettext (") != NULL
                         || strstr (contents, "translatable=\"yes\"") != NULL;
          if (translatable && !g_strv_contains ((const char * const *) listed, relative))
            g_test_fail_printf ("%s has translatable strings but is not in po/POTFILES.in", relative);
        }
    }
}

/* ---- main -------------------------------------------------------------- */

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* Without a session bus (a bare CI container) GTK warns once; that is the
 * environment, not the debugger. */
static gboolean
log_is_fatal (const char     *log_domain,
              GLogLevelFlags  log_level,
              const char     *message,
              gpointer        user_data)
{
  if ((log_level & G_LOG_LEVEL_WARNING) && message != NULL
      && (strstr (message, "session bus") != NULL || strstr (message, "dbus") != NULL))
    return FALSE;
  return TRUE;
}

/* ---- attaching ---------------------------------------------------------- */

typedef struct {
  GPid pid;
  FILE *out;
} Target;

/* attach-target with ROUNDS rounds of 50 ms, with the agent preloaded or
 * not; returns once it has printed its first line (it is in main). */
static void
start_target (Target     *t,
              const char *rounds,
              gboolean    preloaded)
{
  g_autofree char *program = g_build_filename (g_getenv ("HM_TEST_PROGRAMS_DIR"), "attach-target",
                                               NULL);
  const char *argv[] = { program, rounds, NULL };
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;
  char line[256];
  int out_fd;

  if (preloaded)
    envp = g_environ_setenv (envp, "LD_PRELOAD", g_getenv ("HM_AGENT_PATH"), TRUE);
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, envp,
                                           G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL,
                                           NULL, NULL, &t->pid, NULL, &out_fd, NULL, &error));
  g_assert_no_error (error);
  t->out = fdopen (out_fd, "r");
  g_assert_nonnull (fgets (line, sizeof line, t->out));
}

/* Its last line ("checksum …"), after it exited with 0. */
static char *
finish_target (Target *t)
{
  char line[256], last[256] = "";
  int status;

  while (fgets (line, sizeof line, t->out) != NULL)
    g_strlcpy (last, line, sizeof last);
  fclose (t->out);
  g_assert_cmpint (waitpid (t->pid, &status, 0), ==, t->pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  return g_strdup (last);
}

static HmDbgProcessItem *
shown_item (HmDbgAttachDialog *dialog,
            int                pid)
{
  GListModel *shown = hm_dbg_attach_dialog_get_shown (dialog);

  for (guint i = 0; i < g_list_model_get_n_items (shown); i++)
    {
      g_autoptr(HmDbgProcessItem) item = g_list_model_get_item (shown, i);
      if (hm_dbg_process_item_get_pid (item) == pid)
        return item;   /* the store keeps a reference */
    }
  return NULL;
}

static void
store_pid (int *out,
           int  pid)
{
  *out = pid;
}

static void
test_attach_dialog (void)
{
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  HmDbgAttachDialog *dialog;
  Target with_agent, without;
  g_autofree char *pid_text = NULL;
  g_autofree char *last1 = NULL, *last2 = NULL;
  int chosen = 0;

  start_target (&with_agent, "40", TRUE);
  start_target (&without, "40", FALSE);
  dialog = hm_dbg_attach_dialog_new (GTK_WINDOW (window));
  g_signal_connect_swapped (dialog, "attach", G_CALLBACK (store_pid), &chosen);
  gtk_window_present (GTK_WINDOW (dialog));
  run_loop_for (200);

  /* Both are listed, and only the preloaded one has an agent. */
  g_assert_nonnull (shown_item (dialog, with_agent.pid));
  g_assert_nonnull (shown_item (dialog, without.pid));
  g_assert_true (hm_dbg_process_item_get_has_agent (shown_item (dialog, with_agent.pid)));
  g_assert_false (hm_dbg_process_item_get_has_agent (shown_item (dialog, without.pid)));
  g_assert_cmpstr (hm_dbg_process_item_get_name (shown_item (dialog, without.pid)), ==,
                   "attach-target");

  /* The search: by name both, by PID one, by nonsense none. */
  hm_dbg_attach_dialog_set_search (dialog, "ATTACH-TARGET");
  g_assert_nonnull (shown_item (dialog, with_agent.pid));
  g_assert_nonnull (shown_item (dialog, without.pid));
  run_loop_for (200);
  save_screenshot (GTK_WIDGET (dialog), "debugger-attach-dialog.png");
  pid_text = g_strdup_printf ("%d", (int) without.pid);
  hm_dbg_attach_dialog_set_search (dialog, pid_text);
  g_assert_nonnull (shown_item (dialog, without.pid));
  g_assert_null (shown_item (dialog, with_agent.pid));
  hm_dbg_attach_dialog_set_search (dialog, "no process is called this");
  g_assert_cmpuint (g_list_model_get_n_items (hm_dbg_attach_dialog_get_shown (dialog)), ==, 0);
  /* nothing to attach to: nothing happens */
  gtk_widget_activate_action (GTK_WIDGET (dialog), "attach.start", NULL);
  g_assert_cmpint (chosen, ==, 0);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (dialog)));

  /* Choosing one emits its PID and closes the dialog. */
  hm_dbg_attach_dialog_set_search (dialog, "");
  g_assert_true (hm_dbg_attach_dialog_select_pid (dialog, with_agent.pid));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "attach.start", NULL));
  g_assert_cmpint (chosen, ==, with_agent.pid);

  last1 = finish_target (&with_agent);
  last2 = finish_target (&without);
  g_assert_cmpstr (last1, ==, last2);
  close_window (window);
}

static gboolean
has_some_allocations (gpointer data)
{
  HmDbgTrace *trace = hm_dbg_window_get_trace (data);

  return trace != NULL && hm_heap_model_get_totals (hm_dbg_trace_get_model (trace))->allocations > 500;
}

/* A sampled recording: the summary line and the sites' count say the
 * numbers are estimates; a full recording's do not. */
static void
test_sampled_trace (void)
{
  const char *hmtrace = g_getenv ("HMTRACE");
  g_autofree char *demo = g_build_filename (g_getenv ("HM_TEST_PROGRAMS_DIR"), "demo", NULL);
  g_autofree char *output = g_build_filename (tmp_dir, "sampled.hmt", NULL);
  const char *argv[] = { hmtrace, "record", "-q", "--sample-bytes", "4K", "-o", output, "--",
                         demo, "20000", NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  for (int sampled = 1; sampled >= 0; sampled--)
    {
      HmDbgWindow *window = open_window (sampled ? output : demo_trace);
      GtkLabel *summary = GTK_LABEL (template_child (window, HM_DBG_TYPE_WINDOW, "summary_label"));
      GtkWidget *sites_view = template_child (window, HM_DBG_TYPE_WINDOW, "sites_view");
      GtkLabel *count = GTK_LABEL (template_child (sites_view, HM_DBG_TYPE_SITES_VIEW,
                                                   "count_label"));

      g_test_message ("summary: %s; sites: %s", gtk_label_get_text (summary),
                      gtk_label_get_text (count));
      g_assert_true ((strstr (gtk_label_get_text (summary), "numbers are estimates") != NULL)
                     == sampled);
      g_assert_true ((strstr (gtk_label_get_text (count), "estimated from samples") != NULL)
                     == sampled);
      close_window (window);
    }
}

/* Injected into a process started without the agent, shown live, detached:
 * the program finishes as it would have, and the trace ends with a detach. */
static void
test_attach_live (void)
{
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  GtkLabel *summary = GTK_LABEL (template_child (window, HM_DBG_TYPE_WINDOW, "summary_label"));
  Target observed, alone;
  g_autofree char *last_observed = NULL, *last_alone = NULL;
  HmHeapModel *model;
  HmEndReason reason;
  gint64 status;

  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 780);
  gtk_window_present (GTK_WINDOW (window));
  start_target (&observed, "60", FALSE);
  g_assert_true (hm_dbg_window_attach (window, observed.pid));
  g_assert_true (hm_dbg_trace_is_live (hm_dbg_window_get_trace (window)));
  g_assert_true (wait_until (has_some_allocations, window, WAIT_TIMEOUT_MS));
  g_assert_true (wait_until (window_idle, window, WAIT_TIMEOUT_MS));
  run_loop_for (300);
  g_test_message ("summary: %s", gtk_label_get_text (summary));
  g_assert_nonnull (strstr (gtk_label_get_text (summary), "attached"));
  save_screenshot (GTK_WIDGET (window), "debugger-attached.png");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.stop", NULL));
  g_assert_true (wait_until (trace_finished, window, WAIT_TIMEOUT_MS));

  model = hm_dbg_trace_get_model (hm_dbg_window_get_trace (window));
  g_assert_false (hm_heap_model_is_truncated (model));
  g_assert_true (hm_heap_model_get_end (model, &reason, &status));
  g_assert_cmpint (reason, ==, HM_END_DETACH);
  g_assert_cmpuint (hm_heap_model_get_totals (model)->allocations, >, 500);

  /* the same last line as a run nobody attached to */
  last_observed = finish_target (&observed);
  start_target (&alone, "60", FALSE);
  last_alone = finish_target (&alone);
  g_assert_cmpstr (last_observed, ==, last_alone);
  close_window (window);
}

/* ---- the flight recorder -------------------------------------------------- */

static gboolean
dump_loaded (gpointer data)
{
  HmDbgTrace *trace = hm_dbg_window_get_trace (data);
  HmEndReason reason;
  gint64 status;

  return trace != NULL && !hm_dbg_window_is_loading (data)
         && hm_heap_model_get_end (hm_dbg_trace_get_model (trace), &reason, &status);
}

static HmDbgAttachDialog *
find_attach_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();   /* GTK's own */
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) w = g_list_model_get_item (toplevels, i);
      if (HM_DBG_IS_ATTACH_DIALOG (w))
        return HM_DBG_ATTACH_DIALOG (w);
    }
  return NULL;
}

typedef struct {
  HmDbgAttachDialog *dialog;
  int pid;
} ShownWait;

static gboolean
pid_is_shown (gpointer data)
{
  ShownWait *w = data;
  return shown_item (w->dialog, w->pid) != NULL && gtk_widget_get_width (GTK_WIDGET (w->dialog)) > 0;
}

/* flight-target in flight-recorder mode, dumped from the debugger (by the
 * function, or through the menu's dialog): the dump opens with the blocks
 * the program held at the window's start (100 of hold_early, long before)
 * and the window's 50 allocations; it runs on.  Sampled (FLIGHT_SAMPLED,
 * every block at a mean of one byte), the same blocks, and the window says
 * its numbers are estimates. */
enum { FLIGHT_THROUGH_DIALOG = 1, FLIGHT_SAMPLED = 2 };

/* flight-target under a 1 s recorder whose dumps go to DIR/t.flight-N.hmt
 * (sampled at a mean of one byte with FLIGHT_SAMPLED), read up to "ready":
 * it is in its window then, waiting for its stdin to close. */
typedef struct {
  char *dir;
  GPid pid;
  int in_fd;
  FILE *out;
} FlightTarget;

static void
flight_target_start (FlightTarget *t, gboolean sampled)
{
  g_autofree char *program = g_build_filename (g_getenv ("HM_TEST_PROGRAMS_DIR"), "flight-target",
                                               NULL);
  const char *argv[] = { program, "2500", "wait", NULL };
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;
  char line[256];
  int out_fd;

  t->dir = g_dir_make_tmp ("hm-gui-flight-XXXXXX", NULL);
  g_autofree char *base = g_build_filename (t->dir, "t.hmt", NULL);
  envp = g_environ_setenv (envp, "LD_PRELOAD", g_getenv ("HM_AGENT_PATH"), TRUE);
  envp = g_environ_setenv (envp, "HM_FLIGHT_RECORDER", "1", TRUE);
  envp = g_environ_setenv (envp, "HM_FLIGHT_OUTPUT", base, TRUE);
  if (sampled)
    envp = g_environ_setenv (envp, "HM_SAMPLE_BYTES", "1", TRUE);
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, envp, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &t->pid, &t->in_fd, &out_fd, NULL, &error));
  g_assert_no_error (error);
  t->out = fdopen (out_fd, "r");
  while (fgets (line, sizeof line, t->out) != NULL && strcmp (line, "ready\n") != 0)
    ;
}

/* It runs on, and ends as it would have; its dump and directory go. */
static void
flight_target_finish (FlightTarget *t)
{
  char line[256];
  int status_code;

  close (t->in_fd);
  while (fgets (line, sizeof line, t->out) != NULL)
    ;
  fclose (t->out);
  g_assert_cmpint (waitpid (t->pid, &status_code, 0), ==, t->pid);
  g_assert_true (WIFEXITED (status_code));
  g_assert_cmpint (WEXITSTATUS (status_code), ==, 0);
  g_autofree char *dump = g_build_filename (t->dir, "t.flight-1.hmt", NULL);
  g_unlink (dump);
  g_rmdir (t->dir);
  g_free (t->dir);
}

static void
test_flight_dump (gconstpointer data)
{
  gboolean through_dialog = (GPOINTER_TO_INT (data) & FLIGHT_THROUGH_DIALOG) != 0;
  gboolean sampled = (GPOINTER_TO_INT (data) & FLIGHT_SAMPLED) != 0;
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  GtkLabel *info = GTK_LABEL (template_child (window, HM_DBG_TYPE_WINDOW, "info_label"));
  FlightTarget t;
  HmHeapModel *model;
  HmEndReason reason;
  gint64 status;

  flight_target_start (&t, sampled);
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 780);
  gtk_window_present (GTK_WINDOW (window));
  if (through_dialog)
    {
      g_autofree char *pid_text = g_strdup_printf ("%d", (int) t.pid);
      ShownWait shown = { NULL, (int) t.pid };
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.flight-dump", NULL));
      shown.dialog = find_attach_dialog ();
      g_assert_nonnull (shown.dialog);
      g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (shown.dialog)), ==,
                       "Dump a Flight Recorder");
      hm_dbg_attach_dialog_set_search (shown.dialog, pid_text);
      g_assert_true (wait_until (pid_is_shown, &shown, WAIT_TIMEOUT_MS));
      run_loop_for (200);
      save_screenshot (GTK_WIDGET (shown.dialog), "debugger-flight-dump-dialog.png");
      gtk_widget_activate_action (GTK_WIDGET (shown.dialog), "attach.start", NULL);
    }
  else
    hm_dbg_window_flight_dump (window, t.pid);
  g_assert_true (wait_until (dump_loaded, window, WAIT_TIMEOUT_MS));
  g_assert_true (wait_until (window_idle, window, WAIT_TIMEOUT_MS));
  run_loop_for (300);
  model = hm_dbg_trace_get_model (hm_dbg_window_get_trace (window));
  g_assert_true (hm_heap_model_get_end (model, &reason, &status));
  g_assert_cmpint (reason, ==, HM_END_DUMP);
  /* 100 live at the start (10 freed in the window), 50 made in it, stdout's buffer */
  g_assert_cmpuint (hm_heap_model_get_totals (model)->allocations, >=, 140);
  g_assert_cmpuint (hm_heap_model_get_totals (model)->allocations, <=, 152);
  g_test_message ("info: %s", gtk_label_get_text (info));
  g_assert_nonnull (strstr (gtk_label_get_text (info), "wrote its last seconds to"));
  GtkLabel *summary = GTK_LABEL (template_child (window, HM_DBG_TYPE_WINDOW, "summary_label"));
  g_test_message ("summary: %s", gtk_label_get_text (summary));
  g_assert_true ((strstr (gtk_label_get_text (summary), "numbers are estimates") != NULL)
                 == sampled);
  if (!through_dialog)
    save_screenshot (GTK_WIDGET (window), sampled ? "debugger-flight-dump-sampled.png"
                                                  : "debugger-flight-dump.png");

  flight_target_finish (&t);
  close_window (window);
}

/* An attach to a flight recorder gets no trace (it takes dumps, not
 * sessions): the window says so and points to Dump a Flight Recorder;
 * the program runs on. */
static gboolean
says_no_trace (gpointer data)
{
  GtkLabel *info = GTK_LABEL (template_child (data, HM_DBG_TYPE_WINDOW, "info_label"));
  return strstr (gtk_label_get_text (info), "sent no trace") != NULL;
}

static void
test_flight_attach_says_dump (void)
{
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  GtkLabel *info = GTK_LABEL (template_child (window, HM_DBG_TYPE_WINDOW, "info_label"));
  FlightTarget t;

  flight_target_start (&t, FALSE);
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 780);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (hm_dbg_window_attach (window, t.pid));
  g_assert_true (wait_until (says_no_trace, window, WAIT_TIMEOUT_MS));
  g_test_message ("info: %s", gtk_label_get_text (info));
  g_assert_nonnull (strstr (gtk_label_get_text (info), "flight recorder"));
  g_assert_nonnull (strstr (gtk_label_get_text (info), "Dump a Flight Recorder"));
  run_loop_for (200);
  save_screenshot (GTK_WIDGET (window), "debugger-flight-attach.png");
  flight_target_finish (&t);
  close_window (window);
}

/* A process that is not a flight recorder: the window says so. */
static gboolean
has_error_message (gpointer data)
{
  GtkLabel *info = GTK_LABEL (template_child (data, HM_DBG_TYPE_WINDOW, "info_label"));
  return strstr (gtk_label_get_text (info), "Could not dump") != NULL;
}

static void
test_flight_dump_refused (void)
{
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  GtkLabel *info = GTK_LABEL (template_child (window, HM_DBG_TYPE_WINDOW, "info_label"));
  Target t;

  gtk_window_present (GTK_WINDOW (window));
  start_target (&t, "20", TRUE);
  hm_dbg_window_flight_dump (window, t.pid);
  g_assert_true (wait_until (has_error_message, window, WAIT_TIMEOUT_MS));
  g_test_message ("info: %s", gtk_label_get_text (info));
  g_assert_nonnull (strstr (gtk_label_get_text (info), "not in flight-recorder mode"));
  g_free (finish_target (&t));
  close_window (window);
}

static gboolean
has_ten_leaks (gpointer data)
{
  HmDbgTrace *trace = hm_dbg_window_get_trace (data);
  HmHeapModel *model = trace ? hm_dbg_trace_get_model (trace) : NULL;
  GArray *warnings = model ? hm_heap_model_get_warnings (model) : NULL;
  guint leaks = 0;
  for (guint i = 0; warnings != NULL && i < warnings->len; i++)
    leaks += g_array_index (warnings, HmWarning, i).kind == HM_WARNING_LEAK;
  return leaks >= 10;
}

/* Attached to a process that started with lifetime analysis, "Find Leaks
 * Now" has it scan while the session runs: its 10 lost blocks arrive as
 * warnings in the live trace. */
static void
test_attach_find_leaks_now (void)
{
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  g_autofree char *program = g_build_filename (g_getenv ("HM_TEST_PROGRAMS_DIR"), "attach-leaker",
                                               NULL);
  const char *argv[] = { program, "150", NULL };
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;
  GPid pid;
  int out_fd, status = 0;
  char line[256];

  envp = g_environ_setenv (envp, "LD_PRELOAD", g_getenv ("HM_AGENT_PATH"), TRUE);
  envp = g_environ_setenv (envp, "HM_LIFETIME_ANALYSIS", "1", TRUE);
  envp = g_environ_setenv (envp, "HM_QUIET", "1", TRUE);
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, envp,
                                           G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL,
                                           NULL, NULL, &pid, NULL, &out_fd, NULL, &error));
  FILE *out = fdopen (out_fd, "r");
  g_assert_nonnull (fgets (line, sizeof line, out));
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 780);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (hm_dbg_window_attach (window, pid));
  run_loop_for (300);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (template_child (window, HM_DBG_TYPE_WINDOW,
                                                                      "analyze_button"))));
  g_assert_false (has_ten_leaks (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.analyze", NULL));
  g_assert_true (wait_until (has_ten_leaks, window, WAIT_TIMEOUT_MS));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "warnings");
  run_loop_for (300);
  save_screenshot (GTK_WIDGET (window), "debugger-find-leaks-now.png");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.stop", NULL));
  g_assert_true (wait_until (trace_finished, window, WAIT_TIMEOUT_MS));
  while (fgets (line, sizeof line, out) != NULL)
    ;
  fclose (out);
  waitpid (pid, &status, 0);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  close_window (window);
}

static void
test_attach_no_such_process (void)
{
  HmDbgWindow *window = hm_dbg_window_new (GTK_APPLICATION (application));
  GtkLabel *info_label = GTK_LABEL (template_child (window, HM_DBG_TYPE_WINDOW, "info_label"));

  gtk_window_present (GTK_WINDOW (window));
  g_assert_false (hm_dbg_window_attach (window, 4194305));
  g_assert_nonnull (strstr (gtk_label_get_text (info_label), "no process has PID 4194305"));
  close_window (window);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *xdg_dir = NULL;
  int status;

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("GTK_A11Y", "none", TRUE);
  tmp_dir = g_dir_make_tmp ("hm-test-gui-XXXXXX", &error);
  g_assert_no_error (error);
  /* Recent files and caches go here, not into the user's home. */
  xdg_dir = g_build_filename (tmp_dir, "xdg", NULL);
  g_setenv ("XDG_DATA_HOME", xdg_dir, TRUE);
  g_setenv ("XDG_CACHE_HOME", xdg_dir, TRUE);
  g_setenv ("XDG_CONFIG_HOME", xdg_dir, TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_log_set_fatal_handler (log_is_fatal, NULL);
  gtk_init ();

  if (g_getenv ("HMTRACE") == NULL || g_getenv ("HM_TEST_PROGRAMS_DIR") == NULL)
    {
      g_printerr ("test-gui: set HMTRACE and HM_TEST_PROGRAMS_DIR (meson test does)\n");
      return 77;
    }

  demo_trace = g_build_filename (tmp_dir, "demo.hmt", NULL);
  cut_trace = g_build_filename (tmp_dir, "demo-cut.hmt", NULL);
  hybrid_trace = g_build_filename (tmp_dir, "hybrid.hmt", NULL);
  record_with_hmtrace (demo_trace, DEMO_WORDS);
  write_cut_copy (demo_trace, cut_trace);
  build_hybrid_trace (hybrid_trace);

  application = hm_dbg_application_new (G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (application), NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/gui/timeline/draws-the-heap-by-strategy", test_timeline_pixels);
  g_test_add_func ("/gui/timeline/mmap-strategy-and-rss-line", test_timeline_mmap_and_rss);
  g_test_add_func ("/gui/timeline/zooms-pans-and-selects", test_timeline_zoom_and_select);
  g_test_add_func ("/gui/timeline/drag-selects-scroll-pans", test_timeline_pointer);
  g_test_add_func ("/gui/sites/one-row-per-site-sorted-and-searchable", test_sites);
  g_test_add_func ("/gui/sites/hundred-thousand-sites", test_many_sites);
  g_test_add_func ("/gui/sites/range-selection-counts-the-range", test_sites_in_range);
  g_test_add_func ("/gui/sites/selected-site-share-on-the-timeline", test_site_share_on_timeline);
  g_test_add_func ("/gui/timeline/exported-as-png", test_timeline_png);
  g_test_add_func ("/gui/stack/open-in-editor", test_open_in_editor);
  g_test_add_func ("/gui/flame/shares-search-and-zoom", test_flame_graph);
  g_test_add_func ("/gui/tree/bottom-up-top-down-filter", test_call_tree);
  g_test_add_func ("/gui/diff/every-view-shows-the-fixed-site", test_diff_mode);
  g_test_add_func ("/gui/diff/regions-and-pools-matched-by-name", test_diff_objects);
  g_test_add_func ("/gui/sites/histograms-of-the-selected-site", test_site_histograms);
  g_test_add_func ("/gui/warnings/suppressions-hide-and-count", test_warnings_suppressions);
  g_test_add_func ("/gui/profile/edit-save-and-the-agent-applies-it", test_profile_editor);
  g_test_add_func ("/gui/open/cut-trace-says-where-it-stops", test_cut_trace);
  g_test_add_func ("/gui/open/not-a-trace-says-so", test_not_a_trace);
  g_test_add_func ("/gui/open/sampled-trace-says-estimates", test_sampled_trace);
  g_test_add_func ("/gui/views/regions-pools-warnings-of-every-strategy", test_hybrid);
  g_test_add_func ("/gui/views/valgrind-mempool-with-the-pools", test_valgrind_mempool_view);
  g_test_add_func ("/gui/record/live-model-equals-the-file", test_record_live);
  g_test_add_func ("/gui/record/stop-ends-the-trace", test_record_stop);
  g_test_add_func ("/gui/record/main-thread-busy-till-the-end", test_record_main_thread_busy);
  g_test_add_func ("/gui/record/missing-program-says-so", test_record_missing_program);
  g_test_add_func ("/gui/record/dialog-splits-the-command-line", test_record_dialog);
  g_test_add_func ("/gui/attach/dialog-lists-and-searches", test_attach_dialog);
  g_test_add_func ("/gui/attach/injected-live-then-detached", test_attach_live);
  g_test_add_func ("/gui/attach/no-such-process-says-so", test_attach_no_such_process);
  g_test_add_func ("/gui/attach/find-leaks-now", test_attach_find_leaks_now);
  g_test_add_data_func ("/gui/flight/dump-opens", GINT_TO_POINTER (0), test_flight_dump);
  g_test_add_data_func ("/gui/flight/dump-from-the-menu", GINT_TO_POINTER (FLIGHT_THROUGH_DIALOG),
                        test_flight_dump);
  g_test_add_data_func ("/gui/flight/sampled-dump-says-estimates", GINT_TO_POINTER (FLIGHT_SAMPLED),
                        test_flight_dump);
  g_test_add_func ("/gui/flight/not-a-flight-recorder-says-so", test_flight_dump_refused);
  g_test_add_func ("/gui/flight/attach-says-dump", test_flight_attach_says_dump);
  g_test_add_func ("/gui/window/shortcuts-window-builds", test_shortcuts_window);
  g_test_add_func ("/gui/window/size-is-remembered", test_window_size_remembered);
  g_test_add_func ("/gui/style/dark-style-follows-the-theme", test_dark_style);
  g_test_add_func ("/gui/po/potfiles-lists-every-translatable-file", test_potfiles);
  g_test_add_func ("/gui/screenshot/readme", test_readme_screenshot);

  status = g_test_run ();

  g_clear_object (&application);
  remove_tree (tmp_dir);
  return status;
}
