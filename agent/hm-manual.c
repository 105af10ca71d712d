/* hm-manual.c — the manual strategy: hm_alloc and hm_free.
 *
 * Today both go to the C library's allocator and are traced as their own
 * strategy; the profile issue routes hot sizes to pools from here.
 */
#include "hm-agent-private.h"

void *
hm_alloc (size_t size)
{
  void *p = __libc_malloc (size);
  if (hm_tracing_here () && p != NULL)
    {
      hm_guard++;
      hm_emit_alloc (HM_FN_HM_ALLOC, (uintptr_t) p, size, hm_stack_capture ());
      hm_guard--;
    }
  return p;
}

void
hm_free (void *ptr)
{
  if (ptr == NULL)
    return;
  if (hm_tracing_here ())
    {
      hm_guard++;
      hm_emit_free (HM_FN_HM_FREE, (uintptr_t) ptr);
      hm_guard--;
    }
  __libc_free (ptr);
}
