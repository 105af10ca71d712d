/* hm-dbg-histogram-view.h — a histogram of power-of-two buckets as bars:
 * allocation sizes or lifetimes, of one site or of the whole trace.
 *
 * Bucket 0 holds 0, bucket i >= 1 the values in [2^(i-1), 2^i) (see
 * hm_histogram_bucket()); the last bucket of a histogram shorter than 64
 * also holds every bigger value.  The bars span the non-empty buckets,
 * each labelled by its low end, and the fullest is tallest.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define HM_DBG_TYPE_HISTOGRAM_VIEW (hm_dbg_histogram_view_get_type ())
G_DECLARE_FINAL_TYPE (HmDbgHistogramView, hm_dbg_histogram_view, HM_DBG, HISTOGRAM_VIEW, GtkWidget)

GtkWidget  *hm_dbg_histogram_view_new       (void);
/* times: the values are nanoseconds, else bytes.  buckets may be NULL: empty. */
void        hm_dbg_histogram_view_set       (HmDbgHistogramView *self,
                                             const char         *title,
                                             const guint64      *buckets,
                                             guint               n_buckets,
                                             gboolean            times);
/* The count shown for the bucket holding value, for tests. */
guint64     hm_dbg_histogram_view_get_count (HmDbgHistogramView *self,
                                             guint64             value);
/* Where the bar of that bucket is drawn (widget coordinates), for tests. */
gboolean    hm_dbg_histogram_view_get_bar   (HmDbgHistogramView *self,
                                             guint64             value,
                                             graphene_rect_t    *bar);

G_END_DECLS
