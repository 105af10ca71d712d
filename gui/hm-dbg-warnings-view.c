/* hm-dbg-warnings-view.c — the warnings list, a kind filter that counts
 * each kind, and the stacks of the selected warning.
 *
 * "Show in Timeline" is the window's win.show-time action with the
 * warning's time as its target, so this view needs no signal of its own.
 */
#include <glib/gi18n.h>
#include <string.h>

#include "hm-dbg-warnings-view.h"

#include "hm-dbg-format.h"
#include "hm-dbg-stack-view.h"
#include "hm-diff.h"
#include "hm-dbg-warning-item.h"

struct _HmDbgWarningsView
{
  GtkWidget parent_instance;

  GtkStack *content_stack;
  GtkDropDown *kind_dropdown;
  GtkLabel *count_label;
  GtkColumnView *column_view;
  GtkColumnViewColumn *kind_column;
  GtkColumnViewColumn *change_column;
  GtkColumnViewColumn *time_column;
  GtkColumnViewColumn *function_column;
  GtkButton *show_button;
  GtkMenuButton *suppressions_button;
  GtkCheckButton *builtin_check;
  GtkListBox *rules_list;
  GtkLabel *rules_message;
  HmDbgStackView *stack_view;
  HmDbgStackView *alloc_stack_view;
  HmDbgStackView *free_stack_view;

  HmDbgTrace *trace;
  gulong changed_handler;
  gboolean diff;              /* rows compare the trace with its baseline */
  guint change_counts[HM_DBG_WARNING_FIXED + 1];

  GListStore *store;
  GtkStringList *kind_names;
  GArray *kind_values;        /* HmWarningKind per dropdown row, 0: all */
  guint kind_counts[HM_WARNING_N];
  HmWarningKind shown_kind;   /* 0: all */

  GtkCustomFilter *filter;
  GtkFilterListModel *filter_model;
  GtkSortListModel *sort_model;
  GtkSingleSelection *selection;

  gboolean has_range;
  guint64 range_start;
  guint64 range_end;

  /* leaks not to show (hm-suppressions.h): the C library's built-in rules
   * and a file in LeakSanitizer's format; each rule counts what it hid */
  HmSuppressions *suppressions;
  gboolean builtin_rules;
  char *rules_file;
  guint n_suppressed;
};

G_DEFINE_FINAL_TYPE (HmDbgWarningsView, hm_dbg_warnings_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TRACE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- sorting and filtering --------------------------------------------- */

static int
compare_u64 (guint64 a,
             guint64 b)
{
  return a < b ? GTK_ORDERING_SMALLER : a > b ? GTK_ORDERING_LARGER : GTK_ORDERING_EQUAL;
}

static int
compare_time (gconstpointer a,
              gconstpointer b,
              gpointer      user_data)
{
  return compare_u64 (hm_dbg_warning_item_get_time ((HmDbgWarningItem *) a),
                      hm_dbg_warning_item_get_time ((HmDbgWarningItem *) b));
}

static int
compare_kind (gconstpointer a,
              gconstpointer b,
              gpointer      user_data)
{
  int result = compare_u64 (hm_dbg_warning_item_get_kind ((HmDbgWarningItem *) a),
                            hm_dbg_warning_item_get_kind ((HmDbgWarningItem *) b));

  return result != 0 ? result : compare_time (a, b, NULL);
}

static int
compare_function (gconstpointer a,
                  gconstpointer b,
                  gpointer      user_data)
{
  g_autofree char *fa = NULL;
  g_autofree char *fb = NULL;
  int result;

  g_object_get ((gpointer) a, "function", &fa, NULL);
  g_object_get ((gpointer) b, "function", &fb, NULL);
  result = g_strcmp0 (fa, fb);
  return result != 0 ? (result < 0 ? -1 : 1) : compare_time (a, b, NULL);
}

static void
set_column_sorter (GtkColumnViewColumn *column,
                   GCompareDataFunc     compare)
{
  g_autoptr(GtkCustomSorter) sorter = gtk_custom_sorter_new (compare, NULL, NULL);

  gtk_column_view_column_set_sorter (column, GTK_SORTER (sorter));
}

static gboolean
warning_shown (gpointer item,
               gpointer user_data)
{
  HmDbgWarningsView *self = user_data;
  HmDbgWarningItem *warning = item;
  guint64 ts = hm_dbg_warning_item_get_time (warning);

  if (hm_dbg_warning_item_get_suppression (warning) != NULL)
    return FALSE;
  if (self->shown_kind != 0 && hm_dbg_warning_item_get_kind (warning) != self->shown_kind)
    return FALSE;
  return !self->has_range || (ts >= self->range_start && ts <= self->range_end);
}

/* ---- the kind filter --------------------------------------------------- */

static void
rebuild_kinds (HmDbgWarningsView *self)
{
  guint n_names = g_list_model_get_n_items (G_LIST_MODEL (self->kind_names));
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  guint total = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  guint selected = 0;
  HmWarningKind all = 0;

  g_array_set_size (self->kind_values, 0);
  g_ptr_array_add (names, g_strdup_printf (_("All kinds (%u)"), total));
  g_array_append_val (self->kind_values, all);
  for (guint kind = 1; kind < HM_WARNING_N; kind++)
    {
      if (self->kind_counts[kind] == 0)
        continue;
      if (kind == self->shown_kind)
        selected = self->kind_values->len;
      g_ptr_array_add (names, g_strdup_printf ("%s (%u)", hm_dbg_warning_kind_label (kind),
                                               self->kind_counts[kind]));
      g_array_append_val (self->kind_values, kind);
    }
  g_ptr_array_add (names, NULL);

  g_signal_handlers_block_matched (self->kind_dropdown, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  gtk_string_list_splice (self->kind_names, 0, n_names, (const char * const *) names->pdata);
  gtk_drop_down_set_selected (self->kind_dropdown, selected);
  g_signal_handlers_unblock_matched (self->kind_dropdown, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
}

static void
kind_selected_cb (HmDbgWarningsView *self,
                  GParamSpec        *pspec,
                  GtkDropDown       *dropdown)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  if (selected >= self->kind_values->len)
    return;
  self->shown_kind = g_array_index (self->kind_values, HmWarningKind, selected);
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
}

/* ---- rows -------------------------------------------------------------- */

static void
update_count (HmDbgWarningsView *self)
{
  guint n_all = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  guint n_shown = g_list_model_get_n_items (G_LIST_MODEL (self->filter_model));
  g_autofree char *text = NULL;

  text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u of %u warning shown",
                                       "%u of %u warnings shown", n_all),
                          n_shown, n_all);
  if (self->n_suppressed > 0)
    {
      g_autofree char *shown = g_steal_pointer (&text);
      /* Translators: after "3 of 9 warnings shown" */
      text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s, %u leak suppressed",
                                           "%s, %u leaks suppressed", self->n_suppressed),
                              shown, self->n_suppressed);
    }
  if (self->diff)
    {
      g_autofree char *shown = g_steal_pointer (&text);
      /* Translators: diff mode, after "3 of 9 warnings shown" */
      text = g_strdup_printf (_("%s: %u new, %u fixed, %u unchanged"), shown,
                              self->change_counts[HM_DBG_WARNING_NEW],
                              self->change_counts[HM_DBG_WARNING_FIXED],
                              self->change_counts[HM_DBG_WARNING_UNCHANGED]);
    }
  gtk_label_set_text (self->count_label, text);
  gtk_stack_set_visible_child_name (self->content_stack, n_all > 0 ? "list" : "empty");
}

/* ---- suppressions ------------------------------------------------------ */

/* The rules and what each hid, in the Suppressions popover. */
static void
update_rules_list (HmDbgWarningsView *self)
{
  GPtrArray *rules = hm_suppressions_get_rules (self->suppressions);
  GtkWidget *child;
  g_autofree char *button_label = NULL;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->rules_list))) != NULL)
    gtk_list_box_remove (self->rules_list, child);
  for (guint i = 0; i < rules->len; i++)
    {
      const HmSuppression *rule = g_ptr_array_index (rules, i);
      g_autofree char *bytes = hm_dbg_format_size (rule->bytes, FALSE);
      g_autofree char *escaped = g_markup_escape_text (rule->pattern, -1);
      g_autofree char *source = g_markup_escape_text (rule->source, -1);
      /* Translators: a suppression rule, where it comes from ("built-in" or
       * FILE:LINE) and what it hid: "leak:_IO_file_doallocate  built-in\n2 leaks, 1.0 KiB" */
      g_autofree char *hid = rule->blocks > 0
        ? g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "hid %u leaked block, %s",
                                        "hid %u leaked blocks, %s", (gulong) rule->blocks),
                           (guint) rule->blocks, bytes)
        : g_strdup (_("hid nothing"));
      g_autofree char *markup = g_strdup_printf ("<tt>leak:%s</tt>  <span alpha=\"60%%\">%s</span>\n"
                                                 "<small>%s</small>", escaped, source, hid);
      GtkWidget *label = gtk_label_new (NULL);

      gtk_label_set_markup (GTK_LABEL (label), markup);
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_widget_set_margin_top (label, 3);
      gtk_widget_set_margin_bottom (label, 3);
      gtk_list_box_append (self->rules_list, label);
    }
  button_label = self->n_suppressed > 0
    ? g_strdup_printf (_("Suppressions (%u)"), self->n_suppressed)
    : g_strdup (_("Suppressions"));
  gtk_menu_button_set_label (self->suppressions_button, button_label);
}

/* Which rule hides each leak of items [from, to) of the list; the rules
 * count what they hide. */
static void
suppress_items (HmDbgWarningsView *self,
                guint              from,
                guint              to)
{
  for (guint i = from; i < to; i++)
    {
      g_autoptr(HmDbgWarningItem) item = g_list_model_get_item (G_LIST_MODEL (self->store), i);
      const HmWarning *warning = hm_dbg_warning_item_get_warning (item);
      HmDbgTrace *trace = hm_dbg_warning_item_get_trace (item);
      HmSuppression *rule = NULL;

      /* a fixed leak (diff mode) is gone already: nothing to hide */
      if (warning->kind == HM_WARNING_LEAK && warning->alloc_stack != 0
          && hm_dbg_warning_item_get_change (item) != HM_DBG_WARNING_FIXED)
        {
          guint64 node = hm_heap_model_stack_node (hm_dbg_trace_get_model (trace),
                                                   warning->alloc_stack);
          g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (hm_dbg_trace_get_symbolizer (trace),
                                                                 node);
          rule = hm_suppressions_match (self->suppressions, frames, 1, warning->size);
        }
      hm_dbg_warning_item_set_suppression (item, rule);
      self->n_suppressed += rule != NULL;
    }
}

/* New rules: every leak is looked at again. */
static gboolean
reload_rules (HmDbgWarningsView  *self,
              GError            **error)
{
  g_autoptr(HmSuppressions) rules = hm_suppressions_new (self->builtin_rules);

  if (self->rules_file != NULL && !hm_suppressions_load_file (rules, self->rules_file, error))
    return FALSE;
  g_clear_pointer (&self->suppressions, hm_suppressions_free);
  self->suppressions = g_steal_pointer (&rules);
  self->n_suppressed = 0;
  suppress_items (self, 0, g_list_model_get_n_items (G_LIST_MODEL (self->store)));
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_rules_list (self);
  update_count (self);
  return TRUE;
}

static void
builtin_toggled_cb (HmDbgWarningsView *self,
                    GtkCheckButton    *check)
{
  hm_dbg_warnings_view_set_builtin_suppressions (self, gtk_check_button_get_active (check));
}

static void
rules_file_response_cb (GtkNativeDialog   *dialog,
                        int                response,
                        HmDbgWarningsView *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr(GError) error = NULL;

      if (path != NULL && !hm_dbg_warnings_view_load_suppressions (self, path, &error))
        {
          gtk_label_set_text (self->rules_message, error->message);
          gtk_widget_set_visible (GTK_WIDGET (self->rules_message), TRUE);
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
load_rules_clicked_cb (HmDbgWarningsView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *dialog =
    gtk_file_chooser_native_new (_("Load Suppression Rules"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                 GTK_FILE_CHOOSER_ACTION_OPEN, _("_Load"), _("_Cancel"));

  gtk_popover_popdown (gtk_menu_button_get_popover (self->suppressions_button));
  g_signal_connect (dialog, "response", G_CALLBACK (rules_file_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* The Suppressions popover: the built-in rules on or off, a rules file,
 * and every rule with what it hid. */
static void
build_suppressions_popover (HmDbgWarningsView *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *load = gtk_button_new_with_mnemonic (_("_Load Rules File…"));
  GtkWidget *help = gtk_label_new (_("Rules in LeakSanitizer's format, one a line: "
                                     "leak:PATTERN matches a function, file or module "
                                     "of the leak's allocation stack."));
  GtkWidget *popover = gtk_popover_new ();

  self->builtin_check = GTK_CHECK_BUTTON (
    gtk_check_button_new_with_label (_("Hide what the C library keeps until exit (built-in rules)")));
  gtk_check_button_set_active (self->builtin_check, self->builtin_rules);
  g_signal_connect_object (self->builtin_check, "toggled", G_CALLBACK (builtin_toggled_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (load, "clicked", G_CALLBACK (load_rules_clicked_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_label_set_wrap (GTK_LABEL (help), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (help), 50);
  gtk_label_set_xalign (GTK_LABEL (help), 0);
  gtk_widget_add_css_class (help, "dim-label");
  self->rules_message = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->rules_message, TRUE);
  gtk_label_set_max_width_chars (self->rules_message, 50);
  gtk_label_set_xalign (self->rules_message, 0);
  gtk_widget_add_css_class (GTK_WIDGET (self->rules_message), "error");
  gtk_widget_set_visible (GTK_WIDGET (self->rules_message), FALSE);
  self->rules_list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->rules_list, GTK_SELECTION_NONE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (self->rules_list));
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scroller), 320);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);

  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->builtin_check));
  gtk_box_append (GTK_BOX (box), scroller);
  gtk_box_append (GTK_BOX (box), help);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->rules_message));
  gtk_box_append (GTK_BOX (box), load);
  gtk_popover_set_child (GTK_POPOVER (popover), box);
  gtk_menu_button_set_popover (self->suppressions_button, popover);
}

/* What matches a warning across runs: its kind and the frames of its bad
 * call and of its block's allocation, as hm_diff_stack_key() says them. */
static char *
warning_key (HmDbgTrace      *trace,
             const HmWarning *warning)
{
  HmHeapModel *model = hm_dbg_trace_get_model (trace);
  HmSymbolizer *symbolizer = hm_dbg_trace_get_symbolizer (trace);
  const char *exe = hm_heap_model_get_info (model, "exe");
  guint64 stacks[] = { warning->stack, warning->alloc_stack };
  GString *key = g_string_new (NULL);

  g_string_append_printf (key, "%d\x1e", warning->kind);
  for (guint i = 0; i < G_N_ELEMENTS (stacks); i++)
    {
      guint64 node = stacks[i] != 0 ? hm_heap_model_stack_node (model, stacks[i]) : 0;
      g_autoptr(GPtrArray) frames = hm_symbolizer_get_stack (symbolizer, node);
      g_autofree char *frames_key = hm_diff_stack_key (frames, exe);
      g_string_append_printf (key, "%s\x1e", frames_key);
    }
  return g_string_free (key, FALSE);
}

static void
add_item (HmDbgWarningsView  *self,
          GPtrArray          *items,
          HmDbgTrace         *trace,
          const HmWarning    *warning,
          HmDbgWarningChange  change)
{
  HmDbgWarningItem *item = hm_dbg_warning_item_new (trace, warning);

  if (warning->kind > 0 && warning->kind < HM_WARNING_N)
    self->kind_counts[warning->kind]++;
  if (change != HM_DBG_WARNING_NO_DIFF)
    {
      hm_dbg_warning_item_set_change (item, change);
      self->change_counts[change]++;
    }
  g_ptr_array_add (items, item);
}

/* Diff mode, every row anew: the trace's warnings, each new or unchanged
 * (as many of a kind and stacks as the baseline had are unchanged), then
 * the baseline's that this run has no more, fixed. */
static void
rebuild_diff (HmDbgWarningsView *self,
              HmDbgTrace        *baseline)
{
  GArray *after = hm_heap_model_get_warnings (hm_dbg_trace_get_model (self->trace));
  GArray *before = hm_heap_model_get_warnings (hm_dbg_trace_get_model (baseline));
  g_autoptr(GHashTable) in_before = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);

  memset (self->kind_counts, 0, sizeof self->kind_counts);
  memset (self->change_counts, 0, sizeof self->change_counts);
  for (guint i = 0; before != NULL && i < before->len; i++)
    {
      char *key = warning_key (baseline, &g_array_index (before, HmWarning, i));
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (in_before, key));
      g_hash_table_insert (in_before, key, GUINT_TO_POINTER (n + 1));
    }
  for (guint i = 0; after != NULL && i < after->len; i++)
    {
      const HmWarning *warning = &g_array_index (after, HmWarning, i);
      g_autofree char *key = warning_key (self->trace, warning);
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (in_before, key));

      if (n > 0)
        g_hash_table_insert (in_before, g_steal_pointer (&key), GUINT_TO_POINTER (n - 1));
      add_item (self, items, self->trace, warning,
                n > 0 ? HM_DBG_WARNING_UNCHANGED : HM_DBG_WARNING_NEW);
    }
  for (guint i = 0; before != NULL && i < before->len; i++)
    {
      const HmWarning *warning = &g_array_index (before, HmWarning, i);
      g_autofree char *key = warning_key (baseline, warning);
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (in_before, key));

      if (n == 0)
        continue;
      g_hash_table_insert (in_before, g_steal_pointer (&key), GUINT_TO_POINTER (n - 1));
      add_item (self, items, baseline, warning, HM_DBG_WARNING_FIXED);
    }
  g_list_store_splice (self->store, 0, g_list_model_get_n_items (G_LIST_MODEL (self->store)),
                       items->pdata, items->len);
  rebuild_kinds (self);
  reload_rules (self, NULL);
}

static void
trace_changed_cb (HmDbgWarningsView *self,
                  HmDbgTrace        *trace)
{
  HmHeapModel *model = hm_dbg_trace_get_model (trace);
  HmDbgTrace *baseline = hm_dbg_trace_get_baseline (trace);
  guint n_old = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  g_autoptr(GPtrArray) added = NULL;
  GArray *warnings;

  if (model == NULL)
    return;
  self->diff = baseline != NULL && hm_dbg_trace_get_model (baseline) != NULL;
  gtk_column_view_column_set_visible (self->change_column, self->diff);
  if (self->diff)
    {
      rebuild_diff (self, baseline);
      return;
    }

  warnings = hm_heap_model_get_warnings (model);
  if (warnings == NULL || warnings->len <= n_old)
    return;

  added = g_ptr_array_new_full (warnings->len - n_old, g_object_unref);
  for (guint i = n_old; i < warnings->len; i++)
    add_item (self, added, trace, &g_array_index (warnings, HmWarning, i), HM_DBG_WARNING_NO_DIFF);
  g_list_store_splice (self->store, n_old, 0, added->pdata, added->len);
  suppress_items (self, n_old, n_old + added->len);
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_MORE_STRICT);
  rebuild_kinds (self);
  update_rules_list (self);
  update_count (self);
}

static void
selection_changed_cb (HmDbgWarningsView  *self,
                      GParamSpec         *pspec,
                      GtkSingleSelection *selection)
{
  HmDbgWarningItem *item = gtk_single_selection_get_selected_item (selection);

  if (item == NULL)
    {
      hm_dbg_stack_view_set_stack (self->stack_view, NULL, 0);
      hm_dbg_stack_view_set_stack (self->alloc_stack_view, NULL, 0);
      hm_dbg_stack_view_set_stack (self->free_stack_view, NULL, 0);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->show_button), NULL);
      gtk_widget_set_sensitive (GTK_WIDGET (self->show_button), FALSE);
      return;
    }

  /* a fixed warning (diff mode) is the baseline's, with its stacks */
  HmDbgTrace *trace = hm_dbg_warning_item_get_trace (item);
  hm_dbg_stack_view_set_stack (self->stack_view, trace, hm_dbg_warning_item_get_stack_node (item));
  hm_dbg_stack_view_set_stack (self->alloc_stack_view, trace,
                               hm_dbg_warning_item_get_alloc_node (item));
  hm_dbg_stack_view_set_stack (self->free_stack_view, trace,
                               hm_dbg_warning_item_get_free_node (item));
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (self->show_button),
                                          g_variant_new_uint64 (hm_dbg_warning_item_get_time (item)));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->show_button), "win.show-time");
  gtk_widget_set_sensitive (GTK_WIDGET (self->show_button), TRUE);
}

/* ---- public ------------------------------------------------------------ */

HmDbgTrace *
hm_dbg_warnings_view_get_trace (HmDbgWarningsView *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNINGS_VIEW (self), NULL);

  return self->trace;
}

void
hm_dbg_warnings_view_set_trace (HmDbgWarningsView *self,
                                HmDbgTrace        *trace)
{
  g_return_if_fail (HM_DBG_IS_WARNINGS_VIEW (self));
  g_return_if_fail (trace == NULL || HM_DBG_IS_TRACE (trace));

  if (self->trace == trace)
    return;

  if (self->trace != NULL)
    g_clear_signal_handler (&self->changed_handler, self->trace);
  g_set_object (&self->trace, trace);
  g_list_store_remove_all (self->store);
  memset (self->kind_counts, 0, sizeof self->kind_counts);
  memset (self->change_counts, 0, sizeof self->change_counts);
  self->shown_kind = 0;
  self->diff = FALSE;
  reload_rules (self, NULL);   /* the counts start again */
  gtk_column_view_column_set_visible (self->change_column, FALSE);

  if (trace != NULL)
    {
      self->changed_handler = g_signal_connect_object (trace, "changed",
                                                       G_CALLBACK (trace_changed_cb), self,
                                                       G_CONNECT_SWAPPED);
      trace_changed_cb (self, trace);
    }
  rebuild_kinds (self);
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_count (self);
  selection_changed_cb (self, NULL, self->selection);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRACE]);
}

/**
 * hm_dbg_warnings_view_load_suppressions:
 * @path: (nullable): a file of LeakSanitizer rules, or %NULL for none
 *
 * Hides the leaks the rules match, beside the built-in ones.  A file that
 * cannot be read or has a bad rule is an error naming it and the line; the
 * rules before stay then.
 */
gboolean
hm_dbg_warnings_view_load_suppressions (HmDbgWarningsView  *self,
                                        const char         *path,
                                        GError            **error)
{
  g_autofree char *old = NULL;

  g_return_val_if_fail (HM_DBG_IS_WARNINGS_VIEW (self), FALSE);

  old = g_steal_pointer (&self->rules_file);
  self->rules_file = g_strdup (path);
  if (!reload_rules (self, error))
    {
      g_free (self->rules_file);
      self->rules_file = g_steal_pointer (&old);
      return FALSE;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->rules_message), FALSE);
  return TRUE;
}

void
hm_dbg_warnings_view_set_builtin_suppressions (HmDbgWarningsView *self,
                                               gboolean           builtin)
{
  g_return_if_fail (HM_DBG_IS_WARNINGS_VIEW (self));

  if (self->builtin_rules == !!builtin)
    return;
  self->builtin_rules = !!builtin;
  if (gtk_check_button_get_active (self->builtin_check) != self->builtin_rules)
    gtk_check_button_set_active (self->builtin_check, self->builtin_rules);
  if (!reload_rules (self, NULL))
    {
      /* the file went bad since it was loaded: without it */
      g_clear_pointer (&self->rules_file, g_free);
      reload_rules (self, NULL);
    }
}

/* The rules (const HmSuppression *), built-ins first, each with what it hid. */
GPtrArray *
hm_dbg_warnings_view_get_suppressions (HmDbgWarningsView *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNINGS_VIEW (self), NULL);

  return hm_suppressions_get_rules (self->suppressions);
}

guint
hm_dbg_warnings_view_get_n_suppressed (HmDbgWarningsView *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNINGS_VIEW (self), 0);

  return self->n_suppressed;
}

GtkSelectionModel *
hm_dbg_warnings_view_get_model (HmDbgWarningsView *self)
{
  g_return_val_if_fail (HM_DBG_IS_WARNINGS_VIEW (self), NULL);

  return GTK_SELECTION_MODEL (self->selection);
}

void
hm_dbg_warnings_view_set_time_range (HmDbgWarningsView *self,
                                     gboolean           has_range,
                                     guint64            start_ns,
                                     guint64            end_ns)
{
  g_return_if_fail (HM_DBG_IS_WARNINGS_VIEW (self));

  if (self->has_range == has_range && self->range_start == start_ns && self->range_end == end_ns)
    return;

  self->has_range = has_range;
  self->range_start = start_ns;
  self->range_end = end_ns;
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_count (self);
}

/* ---- GObject ----------------------------------------------------------- */

static void
hm_dbg_warnings_view_dispose (GObject *object)
{
  HmDbgWarningsView *self = HM_DBG_WARNINGS_VIEW (object);
  GtkWidget *child;

  if (self->trace != NULL)
    g_clear_signal_handler (&self->changed_handler, self->trace);
  /* Tearing the widgets down must not reach back into them. */
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  if (self->filter_model != NULL)
    g_signal_handlers_disconnect_by_data (self->filter_model, self);
  if (self->kind_dropdown != NULL)
    g_signal_handlers_disconnect_by_data (self->kind_dropdown, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), HM_DBG_TYPE_WARNINGS_VIEW);
  /* The template's root is not bound to a field: unparent it ourselves. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->selection);
  g_clear_object (&self->sort_model);
  g_clear_object (&self->filter_model);
  g_clear_object (&self->filter);
  g_clear_object (&self->store);
  g_clear_object (&self->kind_names);
  g_clear_pointer (&self->kind_values, g_array_unref);
  g_clear_pointer (&self->suppressions, hm_suppressions_free);
  g_clear_pointer (&self->rules_file, g_free);
  g_clear_object (&self->trace);

  G_OBJECT_CLASS (hm_dbg_warnings_view_parent_class)->dispose (object);
}

static void
hm_dbg_warnings_view_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  HmDbgWarningsView *self = HM_DBG_WARNINGS_VIEW (object);

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
hm_dbg_warnings_view_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  HmDbgWarningsView *self = HM_DBG_WARNINGS_VIEW (object);

  switch (prop_id)
    {
    case PROP_TRACE:
      hm_dbg_warnings_view_set_trace (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hm_dbg_warnings_view_class_init (HmDbgWarningsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hm_dbg_warnings_view_dispose;
  object_class->get_property = hm_dbg_warnings_view_get_property;
  object_class->set_property = hm_dbg_warnings_view_set_property;

  properties[PROP_TRACE] =
    g_param_spec_object ("trace", NULL, NULL, HM_DBG_TYPE_TRACE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (HM_DBG_TYPE_WARNING_ITEM);
  g_type_ensure (HM_DBG_TYPE_STACK_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/hybridmem/Debugger/ui/hm-dbg-warnings-view.ui");
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, content_stack);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, kind_dropdown);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, count_label);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, column_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, kind_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, change_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, time_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, function_column);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, show_button);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, suppressions_button);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, stack_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, alloc_stack_view);
  gtk_widget_class_bind_template_child (widget_class, HmDbgWarningsView, free_stack_view);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
hm_dbg_warnings_view_init (HmDbgWarningsView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  set_column_sorter (self->kind_column, compare_kind);
  set_column_sorter (self->time_column, compare_time);
  set_column_sorter (self->function_column, compare_function);

  self->kind_names = gtk_string_list_new (NULL);
  self->kind_values = g_array_new (FALSE, FALSE, sizeof (HmWarningKind));
  gtk_drop_down_set_model (self->kind_dropdown, G_LIST_MODEL (self->kind_names));
  g_signal_connect_object (self->kind_dropdown, "notify::selected",
                           G_CALLBACK (kind_selected_cb), self, G_CONNECT_SWAPPED);

  self->builtin_rules = TRUE;
  self->suppressions = hm_suppressions_new (TRUE);
  build_suppressions_popover (self);

  self->store = g_list_store_new (HM_DBG_TYPE_WARNING_ITEM);
  self->filter = gtk_custom_filter_new (warning_shown, self, NULL);
  self->filter_model = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->store)),
                                                  GTK_FILTER (g_object_ref (self->filter)));
  self->sort_model = gtk_sort_list_model_new (G_LIST_MODEL (g_object_ref (self->filter_model)),
                                              g_object_ref (gtk_column_view_get_sorter (self->column_view)));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->sort_model)));
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));

  g_signal_connect_object (self->filter_model, "items-changed",
                           G_CALLBACK (update_count), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->selection, "notify::selected-item",
                           G_CALLBACK (selection_changed_cb), self, G_CONNECT_SWAPPED);

  gtk_column_view_sort_by_column (self->column_view, self->time_column, GTK_SORT_ASCENDING);
  rebuild_kinds (self);
  update_rules_list (self);
  update_count (self);
  selection_changed_cb (self, NULL, self->selection);
}

GtkWidget *
hm_dbg_warnings_view_new (void)
{
  return g_object_new (HM_DBG_TYPE_WARNINGS_VIEW, NULL);
}
