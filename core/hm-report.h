/* hm-report.h — what a trace says, for people (text) and for programs (JSON).
 *
 * Both forms are built from the same model and symbolizer, so `hmtrace report`
 * and `hmtrace report --json` never disagree.  The JSON keys are an interface:
 * scripts and tests read them.
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdio.h>

#include "hm-heap-model.h"
#include "hm-symbolizer.h"
#include "hm-suppressions.h"
#include "hm-call-tree.h"

G_BEGIN_DECLS

typedef struct {
  guint top_sites;         /* text: sites listed, biggest first (0: all); JSON lists all */
  guint frames_per_site;   /* text: frames shown under each site (0: all) */
  const char *trace_name;  /* text: the trace named in the heading; may be NULL */
  HmSuppressions *suppressions;  /* leaks not to count as leaks; NULL: none */
  gboolean histograms;     /* text: allocation sizes and lifetimes, overall and per site */
} HmReportOptions;

/* The defaults: 10 sites, 5 frames each. */
void hm_report_options_init (HmReportOptions *options);

/* The report as a JSON object (a new reference).  symbolizer may be NULL:
 * one is made for the call.  options may be NULL for the defaults. */
json_t *hm_report_to_json (HmHeapModel *model,
                           HmSymbolizer *symbolizer,
                           const HmReportOptions *options);

/* The report as text: a summary, then the top sites with their frames. */
void hm_report_print_text (FILE *out,
                           HmHeapModel *model,
                           HmSymbolizer *symbolizer,
                           const HmReportOptions *options);

/* Sites sorted by bytes allocated, biggest first, ties by stack id
 * (HmSiteStats * owned by the model; free the array only). */
GPtrArray *hm_report_get_sorted_sites (HmHeapModel *model);

/* "512 B", "1.5 KiB", "3.0 MiB": IEC units, one decimal.  Free with g_free(). */
char *hm_report_format_size (guint64 bytes);
/* "850 ns", "12.5 µs", "3.2 ms", "1.25 s".  Free with g_free(). */
char *hm_report_format_duration (guint64 ns);

/* Two recordings (see hm-diff.h): the totals of each, and every site that
 * changed with its counts in A and B and the differences (B - A). */
json_t *hm_report_diff_to_json (HmHeapModel *a, HmSymbolizer *symbolizer_a,
                                HmHeapModel *b, HmSymbolizer *symbolizer_b);
void hm_report_print_diff_text (FILE *out, const char *name_a, HmHeapModel *a,
                                HmSymbolizer *symbolizer_a, const char *name_b,
                                HmHeapModel *b, HmSymbolizer *symbolizer_b,
                                const HmReportOptions *options);

/* What was live at a moment (range FALSE), or allocated in a range, from
 * hm_heap_model_get_breakdown(). */
json_t *hm_report_breakdown_to_json (HmHeapModel *model, HmSymbolizer *symbolizer,
                                     const HmBreakdown *breakdown, gboolean range);
void hm_report_print_breakdown_text (FILE *out, HmHeapModel *model, HmSymbolizer *symbolizer,
                                     const HmBreakdown *breakdown, gboolean range,
                                     const HmReportOptions *options);

/* A call tree (hm-call-tree.h), leaving out branches under min_share of
 * the bytes allocated; children biggest first. */
json_t *hm_report_call_tree_to_json (const HmCallNode *root, double min_share);
void hm_report_print_call_tree (FILE *out, const HmCallNode *root, gboolean bottom_up,
                                double min_share);

G_END_DECLS
