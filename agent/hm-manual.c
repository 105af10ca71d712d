/* hm-manual.c — the manual strategy: hm_alloc and hm_free.
 *
 * Today both go to the C library's allocator and are traced as their own
 * strategy; the profile issue routes hot sizes to pools from here.
 */
#include "hm-agent-private.h"
#include "hm-sampler-private.h"

void *
hm_alloc (size_t size)
{
  void *p = __libc_malloc (size);
  if (hm_watching_here () && p != NULL)
    hm_watch_alloc (HM_FN_HM_ALLOC, HM_LIFETIME_HM_ALLOC, p, size);
  return p;
}

void
hm_free (void *ptr)
{
  if (ptr == NULL)
    return;
  if (hm_sampled_block (ptr))
    {
      /* malloc'd and sampled (a mismatched free, which only lifetime
       * analysis reports): it is the arena's, never the C library's */
      hm_sample_free (HM_FN_HM_FREE, ptr);
      return;
    }
  if (hm_watching_here ()
      && !hm_watch_free (HM_FN_HM_FREE, HM_LIFETIME_HM_ALLOC, ptr, "hm_free"))
    return;
  __libc_free (ptr);
}
