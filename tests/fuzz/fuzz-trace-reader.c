/* fuzz-trace-reader.c — libFuzzer target: any bytes through the trace reader
 * and the heap model, fed whole and in uneven pieces, as a live stream is.
 *
 * Nothing may crash, hang, leak or read out of bounds; the reader must end
 * with END or an error, never loop.
 */
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "hm-heap-model.h"
#include "hm-trace-reader.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
consume (const uint8_t *data, size_t size, size_t step)
{
  g_autoptr(HmTraceReader) reader = hm_trace_reader_new ("fuzz");
  g_autoptr(HmHeapModel) model = hm_heap_model_new ();
  size_t fed = 0;
  HmEvent event;
  guint64 guard = 0;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      HmTraceReadStatus status = hm_trace_reader_next (reader, &event, &error);
      if (status == HM_TRACE_READ_EVENT)
        {
          hm_heap_model_add_event (model, &event);
          continue;
        }
      if (status == HM_TRACE_READ_NEED_MORE)
        {
          size_t n = MIN (step, size - fed);
          if (n == 0)
            hm_trace_reader_feed_eof (reader);
          else
            hm_trace_reader_feed (reader, data + fed, n);
          fed += n;
          /* every call must make progress: bytes in or an end */
          g_assert (++guard < size + 16);
          continue;
        }
      break;
    }
  /* what the views read must be consistent whatever came in */
  guint n_buckets;
  hm_heap_model_get_timeline (model, &n_buckets, NULL);
  g_assert (n_buckets <= HM_TIMELINE_MAX_BUCKETS);
  g_autoptr(GPtrArray) sites = hm_heap_model_get_sites (model);
  for (guint i = 0; i < sites->len; i++)
    {
      const HmSiteStats *site = g_ptr_array_index (sites, i);
      g_autoptr(GArray) ips = hm_heap_model_get_stack_ips (model, site->stack);
      g_assert (ips->len <= hm_heap_model_get_n_stack_nodes (model));
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  consume (data, size, size > 0 ? size : 1);
  consume (data, size, 7);
  return 0;
}
