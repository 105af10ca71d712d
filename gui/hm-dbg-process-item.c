/* hm-dbg-process-item.c — one running process in the Attach dialog's list:
 * its PID, name and command line, and whether its agent listens.  The
 * "search-text" property is what the dialog's search matches. */
#include "hm-dbg-process-item.h"

struct _HmDbgProcessItem
{
  GObject parent_instance;

  int pid;
  char *name;
  char *cmdline;
  char *search_text;
  gboolean has_agent;
};

G_DEFINE_FINAL_TYPE (HmDbgProcessItem, hm_dbg_process_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PID,
  PROP_NAME,
  PROP_CMDLINE,
  PROP_HAS_AGENT,
  PROP_SEARCH_TEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
hm_dbg_process_item_finalize (GObject *object)
{
  HmDbgProcessItem *self = HM_DBG_PROCESS_ITEM (object);

  g_free (self->name);
  g_free (self->cmdline);
  g_free (self->search_text);
  G_OBJECT_CLASS (hm_dbg_process_item_parent_class)->finalize (object);
}

static void
hm_dbg_process_item_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  HmDbgProcessItem *self = HM_DBG_PROCESS_ITEM (object);

  switch (prop_id)
    {
    case PROP_PID:
      g_value_set_int (value, self->pid);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_CMDLINE:
      g_value_set_string (value, self->cmdline);
      break;
    case PROP_HAS_AGENT:
      g_value_set_boolean (value, self->has_agent);
      break;
    case PROP_SEARCH_TEXT:
      g_value_set_string (value, self->search_text);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_process_item_class_init (HmDbgProcessItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hm_dbg_process_item_finalize;
  object_class->get_property = hm_dbg_process_item_get_property;

  properties[PROP_PID] =
    g_param_spec_int ("pid", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CMDLINE] =
    g_param_spec_string ("cmdline", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_HAS_AGENT] =
    g_param_spec_boolean ("has-agent", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /* name, PID and command line: what a search looks in */
  properties[PROP_SEARCH_TEXT] =
    g_param_spec_string ("search-text", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hm_dbg_process_item_init (HmDbgProcessItem *self)
{
}

HmDbgProcessItem *
hm_dbg_process_item_new (int         pid,
                         const char *name,
                         const char *cmdline,
                         gboolean    has_agent)
{
  HmDbgProcessItem *self = g_object_new (HM_DBG_TYPE_PROCESS_ITEM, NULL);

  self->pid = pid;
  self->name = g_strdup (name != NULL ? name : "");
  self->cmdline = g_strdup (cmdline != NULL ? cmdline : "");
  self->has_agent = has_agent;
  self->search_text = g_strdup_printf ("%s %d %s", self->name, pid, self->cmdline);
  return self;
}

int
hm_dbg_process_item_get_pid (HmDbgProcessItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_PROCESS_ITEM (self), 0);
  return self->pid;
}

const char *
hm_dbg_process_item_get_name (HmDbgProcessItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_PROCESS_ITEM (self), NULL);
  return self->name;
}

const char *
hm_dbg_process_item_get_cmdline (HmDbgProcessItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_PROCESS_ITEM (self), NULL);
  return self->cmdline;
}

gboolean
hm_dbg_process_item_get_has_agent (HmDbgProcessItem *self)
{
  g_return_val_if_fail (HM_DBG_IS_PROCESS_ITEM (self), FALSE);
  return self->has_agent;
}
