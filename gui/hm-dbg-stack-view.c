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
      gtk_grid_attach (self->frames_grid, make_cell (source, NULL, frame->file, FALSE), 2, i, 1, 1);
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
