/* hm-dbg-stack-view.c — a call stack as a grid of frames.
 *
 * Stacks are short (the agent records at most a few dozen frames), so a
 * grid of labels is the simple and selectable choice here; big lists use
 * GtkColumnView instead.
 */
#include <glib/gi18n.h>
#include <string.h>

#include "hm-dbg-stack-view.h"

struct _HmDbgStackView
{
  GtkWidget parent_instance;

  GtkLabel *title_label;
  GtkGrid *frames_grid;
  GtkLabel *placeholder_label;
  guint n_frames;
  GPtrArray *sources;          /* per frame: the source file found on disk (char *), or NULL */
  GArray *lines;               /* per frame: its line (int) */
};

G_DEFINE_FINAL_TYPE (HmDbgStackView, hm_dbg_stack_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TITLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *
path_basename (const char *path)
{
  const char *slash = strrchr (path, '/');

  return slash != NULL ? slash + 1 : path;
}

/* Where a frame's source is on this machine: an absolute path as recorded,
 * or a relative one (as meson and make record them) under the program's
 * directory or one of its parents.  NULL when none exists. */
static char *
find_source (HmDbgTrace *trace, const char *file)
{
  if (file == NULL)
    return NULL;
  if (g_path_is_absolute (file))
    return g_file_test (file, G_FILE_TEST_IS_REGULAR) ? g_strdup (file) : NULL;
  const char *exe = trace ? hm_heap_model_get_info (hm_dbg_trace_get_model (trace), "exe") : NULL;
  if (exe == NULL)
    return NULL;
  g_autofree char *dir = g_path_get_dirname (exe);
  for (int up = 0; up < 6; up++)
    {
      g_autofree char *candidate = g_build_filename (dir, file, NULL);
      g_autofree char *canonical = g_canonicalize_filename (candidate, NULL);
      if (g_file_test (canonical, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&canonical);
      char *parent = g_path_get_dirname (dir);
      g_free (dir);
      dir = parent;
    }
  return NULL;
}

static void
source_pressed_cb (GtkGestureClick *gesture, int n_press, double x, double y,
                   HmDbgStackView *self)
{
  GtkWidget *label = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (gesture));
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (label), "frame"));
  g_autoptr(GError) error = NULL;

  if (!hm_dbg_stack_view_open_frame (self, index, &error))
    gtk_widget_set_tooltip_text (label, error->message);
}

gboolean
hm_dbg_stack_view_open_frame (HmDbgStackView *self, guint index, GError **error)
{
  g_return_val_if_fail (HM_DBG_IS_STACK_VIEW (self), FALSE);

  const char *path = self->sources && index < self->sources->len
                       ? g_ptr_array_index (self->sources, index) : NULL;
  int line = self->lines && index < self->lines->len ? g_array_index (self->lines, int, index) : 0;
  if (path == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("The source of this frame is not on this machine"));
      return FALSE;
    }
  g_autoptr(GSettings) settings = g_settings_new ("io.github.hybridmem.Debugger");
  g_autofree char *command = g_settings_get_string (settings, "editor-command");
  if (command == NULL || *command == '\0')
    {
      /* no editor set: the desktop's default for the file (it cannot take a line) */
      g_autofree char *uri = g_filename_to_uri (path, NULL, NULL);
      return uri != NULL && g_app_info_launch_default_for_uri (uri, NULL, error);
    }
  /* %f the file (quoted), %l the line, %% a percent sign */
  GString *expanded = g_string_new (NULL);
  for (const char *c = command; *c; c++)
    {
      if (c[0] == '%' && c[1] == 'f')
        {
          g_autofree char *quoted = g_shell_quote (path);
          g_string_append (expanded, quoted);
          c++;
        }
      else if (c[0] == '%' && c[1] == 'l')
        {
          g_string_append_printf (expanded, "%d", MAX (line, 1));
          c++;
        }
      else if (c[0] == '%' && c[1] == '%')
        {
          g_string_append_c (expanded, '%');
          c++;
        }
      else
        g_string_append_c (expanded, *c);
    }
  g_autofree char *text = g_string_free (expanded, FALSE);
  g_auto(GStrv) argv = NULL;
  if (!g_shell_parse_argv (text, NULL, &argv, error))
    return FALSE;
  return g_spawn_async (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, error);
}

static GtkWidget *
make_cell (const char *text,
           const char *css_class,
           const char *tooltip,
           gboolean    expand)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  /* Long C++ names and paths: keep the start of a name, the end of a path. */
  gtk_label_set_ellipsize (GTK_LABEL (label), css_class != NULL && g_str_equal (css_class, "stack-function")
                                                ? PANGO_ELLIPSIZE_END : PANGO_ELLIPSIZE_START);
  if (css_class != NULL && g_str_equal (css_class, "stack-function"))
    gtk_label_set_max_width_chars (GTK_LABEL (label), 60);
  gtk_widget_set_hexpand (label, expand);
  /* Selectable labels take focus; the list is read, not edited. */
  gtk_widget_set_focusable (label, FALSE);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  if (tooltip != NULL)
    gtk_widget_set_tooltip_text (label, tooltip);
  return label;
}

static void
clear_frames (HmDbgStackView *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->frames_grid))) != NULL)
    gtk_grid_remove (self->frames_grid, child);
  self->n_frames = 0;
  if (self->sources == NULL)
    {
      self->sources = g_ptr_array_new_with_free_func (g_free);
      self->lines = g_array_new (FALSE, FALSE, sizeof (int));
    }
  g_ptr_array_set_size (self->sources, 0);
  g_array_set_size (self->lines, 0);
}

void
hm_dbg_stack_view_set_stack (HmDbgStackView *self,
                             HmDbgTrace     *trace,
                             guint64         node)
{
  g_autoptr(GPtrArray) frames = NULL;
  HmSymbolizer *symbolizer;

  g_return_if_fail (HM_DBG_IS_STACK_VIEW (self));
  g_return_if_fail (trace == NULL || HM_DBG_IS_TRACE (trace));

  clear_frames (self);

  symbolizer = trace != NULL ? hm_dbg_trace_get_symbolizer (trace) : NULL;
  if (symbolizer == NULL)
    {
      gtk_label_set_text (self->placeholder_label, _("Select a row to see its stack."));
      gtk_widget_set_visible (GTK_WIDGET (self->placeholder_label), TRUE);
      return;
    }

  if (node != 0)
    frames = hm_symbolizer_get_stack (symbolizer, node);
  if (frames == NULL || frames->len == 0)
    {
      gtk_label_set_text (self->placeholder_label, _("No stack was recorded."));
      gtk_widget_set_visible (GTK_WIDGET (self->placeholder_label), TRUE);
      return;
    }

  gtk_widget_set_visible (GTK_WIDGET (self->placeholder_label), FALSE);
  for (guint i = 0; i < frames->len; i++)
    {
      const HmFrameInfo *frame = g_ptr_array_index (frames, i);
      g_autofree char *number = g_strdup_printf ("#%u", i);
      g_autofree char *function = NULL;
      g_autofree char *source = NULL;
      g_autofree char *address = NULL;

      if (frame->inlined)
        function = g_strdup_printf (_("%s (inlined)"), frame->function);
      else
        function = g_strdup (frame->function);

      if (frame->file != NULL && frame->line > 0)
        source = g_strdup_printf ("%s:%d", path_basename (frame->file), frame->line);
      else if (frame->file != NULL)
        source = g_strdup (path_basename (frame->file));
      else
        source = g_strdup ("");

      if (frame->module != NULL)
        address = g_strdup_printf ("%s+0x%" G_GINT64_MODIFIER "x", path_basename (frame->module),
                                   frame->module_offset);
      else
        address = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", frame->address);

      gtk_grid_attach (self->frames_grid, make_cell (number, "dim-label", NULL, FALSE), 0, i, 1, 1);
      gtk_grid_attach (self->frames_grid, make_cell (function, "stack-function", frame->function, FALSE),
                       1, i, 1, 1);
      GtkWidget *source_cell = make_cell (source, NULL, frame->file, FALSE);
      char *found = find_source (trace, frame->file);
      g_ptr_array_add (self->sources, found);
      int line = frame->line;
      g_array_append_val (self->lines, line);
      if (found != NULL)
        {
          /* a click opens it in the editor (the editor-command setting) */
          GtkGesture *click = gtk_gesture_click_new ();
          g_autofree char *tip = g_strdup_printf (_("Open %s:%d in the editor"), found, line);
          gtk_label_set_selectable (GTK_LABEL (source_cell), FALSE);
          gtk_widget_add_css_class (source_cell, "source-link");
          gtk_widget_set_tooltip_text (source_cell, tip);
          gtk_widget_set_cursor_from_name (source_cell, "pointer");
          g_object_set_data (G_OBJECT (source_cell), "frame", GUINT_TO_POINTER (i));
          g_signal_connect (click, "pressed", G_CALLBACK (source_pressed_cb), self);
          gtk_widget_add_controller (source_cell, GTK_EVENT_CONTROLLER (click));
        }
      gtk_grid_attach (self->frames_grid, source_cell, 2, i, 1, 1);
      gtk_grid_attach (self->frames_grid, make_cell (address, "dim-label", frame->module, TRUE),
                       3, i, 1, 1);
    }
  self->n_frames = frames->len;
}

guint
hm_dbg_stack_view_get_n_frames (HmDbgStackView *self)
{
  g_return_val_if_fail (HM_DBG_IS_STACK_VIEW (self), 0);

  return self->n_frames;
}

const char *
hm_dbg_stack_view_get_title (HmDbgStackView *self)
{
  g_return_val_if_fail (HM_DBG_IS_STACK_VIEW (self), NULL);

  return gtk_label_get_text (self->title_label);
}

void
hm_dbg_stack_view_set_title (HmDbgStackView *self,
                             const char     *title)
{
  g_return_if_fail (HM_DBG_IS_STACK_VIEW (self));

  if (g_strcmp0 (title, gtk_label_get_text (self->title_label)) == 0)
    return;
  gtk_label_set_text (self->title_label, title != NULL ? title : "");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

static void
hm_dbg_stack_view_dispose (GObject *object)
{
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (object), HM_DBG_TYPE_STACK_VIEW);
  /* The template's root is not bound to a field: unparent it ourselves. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);
  g_clear_pointer (&HM_DBG_STACK_VIEW (object)->sources, g_ptr_array_unref);
  g_clear_pointer (&HM_DBG_STACK_VIEW (object)->lines, g_array_unref);

  G_OBJECT_CLASS (hm_dbg_stack_view_parent_class)->dispose (object);
}

static void
hm_dbg_stack_view_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  HmDbgStackView *self = HM_DBG_STACK_VIEW (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, hm_dbg_stack_view_get_title (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_stack_view_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  HmDbgStackView *self = HM_DBG_STACK_VIEW (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      hm_dbg_stack_view_set_title (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_stack_view_class_init (HmDbgStackViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hm_dbg_stack_view_dispose;
  object_class->get_property = hm_dbg_stack_view_get_property;
  object_class->set_property = hm_dbg_stack_view_set_property;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/hybridmem/Debugger/ui/hm-dbg-stack-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HmDbgStackView, title_label);
  gtk_widget_class_bind_template_child (widget_class, HmDbgStackView, frames_grid);
  gtk_widget_class_bind_template_child (widget_class, HmDbgStackView, placeholder_label);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "stackview");
}

static void
hm_dbg_stack_view_init (HmDbgStackView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
hm_dbg_stack_view_new (void)
{
  return g_object_new (HM_DBG_TYPE_STACK_VIEW, NULL);
}
