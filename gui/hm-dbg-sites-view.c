/* hm-dbg-sites-view.c — the sites list: HmDbgSiteList, filtered by the
 * search entry, sorted by the column view's sorter, one row selected.
 *
 * Sorting or searching a hundred thousand sites takes a fraction of a
 * second at once; beyond INCREMENTAL_SITES the list models work in steps
 * between frames instead, which is slower in all but never blocks a frame.
 */
#define _GNU_SOURCE /* strcasestr */
#include <glib/gi18n.h>
#include <string.h>

#include "hm-dbg-sites-view.h"

#include "hm-dbg-format.h"
#include "hm-dbg-histogram-view.h"
#include "hm-dbg-site.h"
#include "hm-dbg-site-list.h"
#include "hm-dbg-stack-view.h"

#define INCREMENTAL_SITES 250000

struct _HmDbgSitesView
{
  GtkWidget parent_instance;

  GtkSearchEntry *search_entry;
  GtkLabel *count_label;
  GtkLabel *range_label;
  GtkColumnView *column_view;
  GtkColumnViewColumn *function_column;
  GtkColumnViewColumn *location_column;
  GtkColumnViewColumn *allocations_column;
  GtkColumnViewColumn *bytes_column;
  GtkColumnViewColumn *peak_column;
  GtkColumnViewColumn *leaked_column;
  GtkColumnViewColumn *lifetime_column;
  HmDbgHistogramView *size_histogram;
  HmDbgHistogramView *lifetime_histogram;
  HmDbgStackView *stack_view;

  HmDbgTrace *trace;
  GtkCustomFilter *filter;
  GtkFilterListModel *filter_model;
  GtkSortListModel *sort_model;
  GtkSingleSelection *selection;
  char *search_text;
  HmDbgSiteList *sites;      /* what the filter model shows */
  gboolean has_range;
  guint64 range_start;
  guint64 range_end;
};

G_DEFINE_FINAL_TYPE (HmDbgSitesView, hm_dbg_sites_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TRACE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- sorting ----------------------------------------------------------- */

static int
compare_u64 (guint64 a,
             guint64 b)
{
  return a < b ? GTK_ORDERING_SMALLER : a > b ? GTK_ORDERING_LARGER : GTK_ORDERING_EQUAL;
}

/* Equal values keep one order, whatever order the rows arrived in. */
static int
compare_tie (HmDbgSite *a,
             HmDbgSite *b)
{
  return compare_u64 (hm_dbg_site_get_stack (a), hm_dbg_site_get_stack (b));
}

static int
compare_i64 (gint64 a,
             gint64 b)
{
  return a < b ? GTK_ORDERING_SMALLER : a > b ? GTK_ORDERING_LARGER : GTK_ORDERING_EQUAL;
}

/* In diff mode the columns show, and sort by, what changed. */
#define DEFINE_NUMERIC_COMPARE(name, getter, field)                           \
  static int                                                                  \
  name (gconstpointer a, gconstpointer b, gpointer user_data)                 \
  {                                                                           \
    const HmDbgSiteRow *base_a = hm_dbg_site_get_base ((HmDbgSite *) a);       \
    const HmDbgSiteRow *base_b = hm_dbg_site_get_base ((HmDbgSite *) b);       \
    int result = base_a != NULL && base_b != NULL                             \
      ? compare_i64 (hm_dbg_delta (base_a->field, getter ((HmDbgSite *) a)),  \
                     hm_dbg_delta (base_b->field, getter ((HmDbgSite *) b)))  \
      : compare_u64 (getter ((HmDbgSite *) a), getter ((HmDbgSite *) b));     \
    return result != 0 ? result : compare_tie ((HmDbgSite *) a, (HmDbgSite *) b); \
  }

DEFINE_NUMERIC_COMPARE (compare_allocations, hm_dbg_site_get_allocations, allocations)
DEFINE_NUMERIC_COMPARE (compare_bytes, hm_dbg_site_get_bytes, bytes)
DEFINE_NUMERIC_COMPARE (compare_peak, hm_dbg_site_get_peak_live_bytes, peak_live_bytes)
DEFINE_NUMERIC_COMPARE (compare_leaked, hm_dbg_site_get_leaked_bytes, live_bytes)

/* the compared run's own average, in diff mode too */
static int
compare_lifetime (gconstpointer a,
                  gconstpointer b,
                  gpointer      user_data)
{
  int result = compare_u64 (hm_dbg_site_get_average_lifetime ((HmDbgSite *) a),
                            hm_dbg_site_get_average_lifetime ((HmDbgSite *) b));

  return result != 0 ? result : compare_tie ((HmDbgSite *) a, (HmDbgSite *) b);
}

static int
compare_function (gconstpointer a,
                  gconstpointer b,
                  gpointer      user_data)
{
  int result = g_strcmp0 (hm_dbg_site_get_function ((HmDbgSite *) a),
                          hm_dbg_site_get_function ((HmDbgSite *) b));

  return result != 0 ? (result < 0 ? -1 : 1) : compare_tie ((HmDbgSite *) a, (HmDbgSite *) b);
}

static int
compare_location (gconstpointer a,
                  gconstpointer b,
                  gpointer      user_data)
{
  int result = g_strcmp0 (hm_dbg_site_get_location ((HmDbgSite *) a),
                          hm_dbg_site_get_location ((HmDbgSite *) b));

  return result != 0 ? (result < 0 ? -1 : 1) : compare_tie ((HmDbgSite *) a, (HmDbgSite *) b);
}

static void
set_column_sorter (GtkColumnViewColumn *column,
                   GCompareDataFunc     compare)
{
  g_autoptr(GtkCustomSorter) sorter = gtk_custom_sorter_new (compare, NULL, NULL);

  gtk_column_view_column_set_sorter (column, GTK_SORTER (sorter));
}

/* ---- searching --------------------------------------------------------- */

static gboolean
site_matches (gpointer item,
              gpointer user_data)
{
  HmDbgSitesView *self = user_data;
  HmDbgSite *site = item;
  const char *location;

  if (self->search_text == NULL || self->search_text[0] == '\0')
    return TRUE;
  if (strcasestr (hm_dbg_site_get_function (site), self->search_text) != NULL)
    return TRUE;
  location = hm_dbg_site_get_location (site);
  return location != NULL && strcasestr (location, self->search_text) != NULL;
}

static void
search_changed_cb (HmDbgSitesView *self,
                   GtkSearchEntry *entry)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  g_autofree char *old = g_steal_pointer (&self->search_text);
  GtkFilterChange change = GTK_FILTER_CHANGE_DIFFERENT;

  self->search_text = g_strdup (text);
  if (old != NULL && strcasestr (text, old) != NULL)
    change = GTK_FILTER_CHANGE_MORE_STRICT;
  else if (old != NULL && strcasestr (old, text) != NULL)
    change = GTK_FILTER_CHANGE_LESS_STRICT;
  gtk_filter_changed (GTK_FILTER (self->filter), change);
}

static void
stop_search_cb (HmDbgSitesView *self,
                GtkSearchEntry *entry)
{
  gtk_editable_set_text (GTK_EDITABLE (entry), "");
}

/* ---- rows shown and selected ------------------------------------------- */

static void
update_count (HmDbgSitesView *self)
{
  GListModel *all = gtk_filter_list_model_get_model (self->filter_model);
  guint n_all = all != NULL ? g_list_model_get_n_items (all) : 0;
  guint n_shown = g_list_model_get_n_items (G_LIST_MODEL (self->filter_model));
  g_autofree char *text = NULL;

  if (n_shown == n_all)
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u site", "%u sites", n_all), n_all);
  else
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u of %u site", "%u of %u sites", n_all),
                            n_shown, n_all);
  if (self->trace != NULL && hm_dbg_trace_get_model (self->trace) != NULL
      && hm_heap_model_get_sample_bytes (hm_dbg_trace_get_model (self->trace)) != 0)
    {
      /* Translators: after "%u sites" when the trace is sampled */
      char *estimated = g_strdup_printf (_("%s · bytes and calls estimated from samples"), text);
      g_free (text);
      text = estimated;
    }
  gtk_label_set_text (self->count_label, text);
}

/* The selected site's sizes and lifetimes; the whole trace's when none is. */
static void
update_histograms (HmDbgSitesView *self,
                   HmDbgSite      *site)
{
  HmHeapModel *model = self->trace != NULL ? hm_dbg_trace_get_model (self->trace) : NULL;
  /* the site's own stack over the whole run (in diff mode, the compared
   * run's stack of the row, or the baseline's for a site only it has) */
  const HmSiteStats *stats = site != NULL ? hm_dbg_site_get_model_stats (site) : NULL;

  if (stats != NULL)
    {
      hm_dbg_histogram_view_set (self->size_histogram, _("Sizes of this site's allocations"),
                                 stats->size_histogram, HM_PROFILE_SIZE_BUCKETS, FALSE);
      hm_dbg_histogram_view_set (self->lifetime_histogram, _("Lifetimes of its freed blocks"),
                                 stats->lifetime_histogram, HM_PROFILE_LIFETIME_BUCKETS, TRUE);
    }
  else if (model != NULL)
    {
      const HmHeapTotals *totals = hm_heap_model_get_totals (model);
      hm_dbg_histogram_view_set (self->size_histogram, _("Sizes of all allocations"),
                                 totals->size_histogram, HM_HISTOGRAM_BUCKETS, FALSE);
      hm_dbg_histogram_view_set (self->lifetime_histogram, _("Lifetimes of all freed blocks"),
                                 totals->lifetime_histogram, HM_HISTOGRAM_BUCKETS, TRUE);
    }
  else
    {
      hm_dbg_histogram_view_set (self->size_histogram, NULL, NULL, 0, FALSE);
      hm_dbg_histogram_view_set (self->lifetime_histogram, NULL, NULL, 0, TRUE);
    }
}

static void
selection_changed_cb (HmDbgSitesView     *self,
                      GParamSpec         *pspec,
                      GtkSingleSelection *selection)
{
  HmDbgSite *site = gtk_single_selection_get_selected_item (selection);

  /* in diff mode a site only the baseline has is the baseline's stack */
  if (site != NULL)
    hm_dbg_stack_view_set_stack (self->stack_view, hm_dbg_site_get_trace (site),
                                 hm_dbg_site_get_stack (site));
  else
    hm_dbg_stack_view_set_stack (self->stack_view, NULL, 0);
  update_histograms (self, site);
}

/* What the columns count: in a range, in diff mode (Δ: this run minus the
 * baseline). */
static void
update_titles (HmDbgSitesView *self)
{
  gboolean diff = self->trace != NULL && hm_dbg_trace_get_baseline (self->trace) != NULL;
  gboolean range = self->has_range;

  gtk_column_view_column_set_title (self->allocations_column,
                                    diff ? _("Δ Allocations") : _("Allocations"));
  gtk_column_view_column_set_title (self->bytes_column, diff ? _("Δ Allocated") : _("Allocated"));
  gtk_column_view_column_set_title (self->leaked_column,
                                    diff ? (range ? _("Δ Live at end") : _("Δ Leaked"))
                                         : (range ? _("Live at end") : _("Leaked")));
  gtk_column_view_column_set_title (self->peak_column,
                                    diff ? (range ? _("Δ Peak live (all)") : _("Δ Peak live"))
                                         : (range ? _("Peak live (all)") : _("Peak live")));
  gtk_column_view_column_set_title (self->lifetime_column,
                                    range ? _("Avg. lifetime (all)") : _("Avg. lifetime"));
}

/* ---- public ------------------------------------------------------------ */

HmDbgTrace *
hm_dbg_sites_view_get_trace (HmDbgSitesView *self)
{
  g_return_val_if_fail (HM_DBG_IS_SITES_VIEW (self), NULL);

  return self->trace;
}

void
hm_dbg_sites_view_set_trace (HmDbgSitesView *self,
                             HmDbgTrace     *trace)
{
  g_autoptr(HmDbgSiteList) sites = NULL;
  gboolean big;

  g_return_if_fail (HM_DBG_IS_SITES_VIEW (self));
  g_return_if_fail (trace == NULL || HM_DBG_IS_TRACE (trace));

  if (!g_set_object (&self->trace, trace))
    return;

  if (trace != NULL)
    {
      sites = hm_dbg_site_list_new (trace);
      hm_dbg_site_list_set_range (sites, self->has_range, self->range_start, self->range_end);
    }
  g_set_object (&self->sites, sites);
  big = sites != NULL && g_list_model_get_n_items (G_LIST_MODEL (sites)) > INCREMENTAL_SITES;
  gtk_filter_list_model_set_incremental (self->filter_model, big);
  gtk_sort_list_model_set_incremental (self->sort_model, big);
  gtk_filter_list_model_set_model (self->filter_model, G_LIST_MODEL (sites));
  selection_changed_cb (self, NULL, self->selection);
  update_titles (self);
  update_count (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRACE]);
}

GtkSelectionModel *
hm_dbg_sites_view_get_model (HmDbgSitesView *self)
{
  g_return_val_if_fail (HM_DBG_IS_SITES_VIEW (self), NULL);

  return GTK_SELECTION_MODEL (self->selection);
}

void
hm_dbg_sites_view_focus_search (HmDbgSitesView *self)
{
  g_return_if_fail (HM_DBG_IS_SITES_VIEW (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

void
hm_dbg_sites_view_set_time_range (HmDbgSitesView *self,
                                  gboolean        has_range,
                                  guint64         start_ns,
                                  guint64         end_ns)
{
  g_return_if_fail (HM_DBG_IS_SITES_VIEW (self));

  self->has_range = has_range;
  self->range_start = start_ns;
  self->range_end = end_ns;
  if (self->sites != NULL)
    hm_dbg_site_list_set_range (self->sites, has_range, start_ns, end_ns);
  if (has_range)
    {
      g_autofree char *start = hm_dbg_format_time (start_ns);
      g_autofree char *end = hm_dbg_format_time (end_ns);
      g_autofree char *text =
        g_strdup_printf (_("Allocations and bytes of the selected range %s – %s; live: at its "
                           "end."), start, end);
      gtk_label_set_text (self->range_label, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->range_label), has_range);
  update_titles (self);
  update_count (self);
}

/* ---- GObject ----------------------------------------------------------- */

static void
hm_dbg_sites_view_dispose (GObject *object)
{
  HmDbgSitesView *self = HM_DBG_SITES_VIEW (object);
  GtkWidget *child;

  /* Tearing the widgets down must not reach back into them. */
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  if (self->filter_model != NULL)
    g_signal_handlers_disconnect_by_data (self->filter_model, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), HM_DBG_TYPE_SITES_VIEW);
  /* The template's root is not bound to a field: unparent it ourselves. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->selection);
  g_clear_object (&self->sort_model);
  g_clear_object (&self->filter_model);
  g_clear_object (&self->filter);
  g_clear_object (&self->sites);
  g_clear_object (&self->trace);

  G_OBJECT_CLASS (hm_dbg_sites_view_parent_class)->dispose (object);
}

static void
hm_dbg_sites_view_finalize (GObject *object)
{
  HmDbgSitesView *self = HM_DBG_SITES_VIEW (object);

  g_free (self->search_text);

  G_OBJECT_CLASS (hm_dbg_sites_view_parent_class)->finalize (object);
}

static void
hm_dbg_sites_view_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  HmDbgSitesView *self = HM_DBG_SITES_VIEW (object);

  switch (prop_id)
    {
    case PROP_TRACE:
      g_value_set_object (value, self->trace);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_sites_view_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  HmDbgSitesView *self = HM_DBG_SITES_VIEW (object);

  switch (prop_id)
    {
    case PROP_TRACE:
      hm_dbg_sites_view_set_trace (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_sites_view_class_init (HmDbgSitesViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hm_dbg_sites_view_dispose;
  object_class->finalize = hm_dbg_sites_view_finalize;
  object_class->get_property = hm_dbg_sites_view_get_property;
  object_class->set_property = hm_dbg_sites_view_set_property;

  properties[PROP_TRACE] =
    g_param_spec_object ("trace", NULL, NULL, HM_DBG_TYPE_TRACE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (HM_DBG_TYPE_SITE);
  g_type_ensure (HM_DBG_TYPE_STACK_VIEW);
  g_type_ensure (HM_DBG_TYPE_HISTOGRAM_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/hybridmem/Debugger/ui/hm-dbg-sites-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, search_entry);
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, count_label);
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, range_label);
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, column_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, function_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, location_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, allocations_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, bytes_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, peak_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, leaked_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, lifetime_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, size_histogram);
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, lifetime_histogram);
  gtk_widget_class_bind_template_child (widget_class, HmDbgSitesView, stack_view);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, stop_search_cb);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
hm_dbg_sites_view_init (HmDbgSitesView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  set_column_sorter (self->function_column, compare_function);
  set_column_sorter (self->location_column, compare_location);
  set_column_sorter (self->allocations_column, compare_allocations);
  set_column_sorter (self->bytes_column, compare_bytes);
  set_column_sorter (self->peak_column, compare_peak);
  set_column_sorter (self->leaked_column, compare_leaked);
  set_column_sorter (self->lifetime_column, compare_lifetime);

  self->filter = gtk_custom_filter_new (site_matches, self, NULL);
  self->filter_model = gtk_filter_list_model_new (NULL, GTK_FILTER (g_object_ref (self->filter)));
  self->sort_model = gtk_sort_list_model_new (G_LIST_MODEL (g_object_ref (self->filter_model)),
                                              g_object_ref (gtk_column_view_get_sorter (self->column_view)));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->sort_model)));
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));

  g_signal_connect_object (self->filter_model, "items-changed",
                           G_CALLBACK (update_count), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->selection, "notify::selected-item",
                           G_CALLBACK (selection_changed_cb), self, G_CONNECT_SWAPPED);

  /* Biggest first: what people open a memory debugger for. */
  gtk_column_view_sort_by_column (self->column_view, self->bytes_column, GTK_SORT_DESCENDING);
  update_count (self);
}

GtkWidget *
hm_dbg_sites_view_new (void)
{
  return g_object_new (HM_DBG_TYPE_SITES_VIEW, NULL);
}
