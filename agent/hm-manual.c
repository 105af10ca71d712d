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
  if (hm_watching_here () && p != NULL)
    {
      hm_guard++;
      uint32_t stack = hm_stack_capture ();
      if (hm_agent.tracing)
        hm_emit_alloc (HM_FN_HM_ALLOC, (uintptr_t) p, size, stack);
      if (hm_lifetime_active)
        hm_lifetime_note_alloc (p, size, HM_LIFETIME_HM_ALLOC, stack);
      hm_guard--;
    }
  return p;
}

void
hm_free (void *ptr)
{
  if (ptr == NULL)
    return;
  if (hm_watching_here ())
    {
      HmFreeVerdict verdict = HM_FREE_PASS;
      if (hm_lifetime_active)
        verdict = hm_lifetime_check_free (ptr, HM_LIFETIME_HM_ALLOC, "hm_free", NULL);
      if (verdict == HM_FREE_DROP)
        return;
      if (hm_agent.tracing)
        {
          hm_guard++;
          hm_emit_free (HM_FN_HM_FREE, (uintptr_t) ptr);
          hm_guard--;
        }
      if (verdict == HM_FREE_HOLD)
        return;
    }
  __libc_free (ptr);
}
