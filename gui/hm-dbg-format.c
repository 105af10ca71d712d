/* hm-dbg-format.c — formatting shared by the views, so that a size or a time
 * reads the same in the timeline, the lists and the summary line.
 */
#include <glib/gi18n.h>

#include "hm-dbg-format.h"

#include "hm-report.h"

char *
hm_dbg_format_count (guint64 count)
{
  /* The ' flag groups digits by the locale (glibc, POSIX). */
  return g_strdup_printf ("%'" G_GUINT64_FORMAT, count);
}

char *
hm_dbg_format_size (guint64  bytes,
                    gboolean dash_for_zero)
{
  if (bytes == 0 && dash_for_zero)
    return g_strdup ("–");
  return hm_report_format_size (bytes);
}

gint64
hm_dbg_delta (guint64 before,
              guint64 after)
{
  if (after >= before)
    return after - before > (guint64) G_MAXINT64 ? G_MAXINT64 : (gint64) (after - before);
  return before - after > (guint64) G_MAXINT64 ? -G_MAXINT64 : -(gint64) (before - after);
}

/* "+X" or "−X" of the distance between the two, as format says X. */
static char *
format_delta (guint64   before,
              guint64   after,
              char   *(*format) (guint64))
{
  g_autofree char *distance = NULL;

  if (before == after)
    return g_strdup ("–");
  distance = format (after > before ? after - before : before - after);
  return g_strconcat (after > before ? "+" : "−", distance, NULL);
}

char *
hm_dbg_format_size_delta (guint64 before,
                          guint64 after)
{
  return format_delta (before, after, hm_report_format_size);
}

char *
hm_dbg_format_count_delta (guint64 before,
                           guint64 after)
{
  return format_delta (before, after, hm_dbg_format_count);
}

char *
hm_dbg_format_time (guint64 ns)
{
  return hm_report_format_duration (ns);
}

const char *
hm_dbg_strategy_label (HmStrategyKind kind)
{
  switch (kind)
    {
    case HM_STRATEGY_KIND_MALLOC:
      return _("malloc");
    case HM_STRATEGY_KIND_MANUAL:
      return _("manual");
    case HM_STRATEGY_KIND_GC:
      return _("GC");
    case HM_STRATEGY_KIND_REGIONS:
      return _("regions");
    case HM_STRATEGY_KIND_POOLS:
      return _("pools");
    case HM_STRATEGY_KIND_MMAP:
      /* Translators: memory the program mapped itself with mmap() */
      return _("mmap");
    case HM_STRATEGY_KIND_CUSTOM:
      /* Translators: blocks a program's own allocator announced */
      return _("custom");
    case HM_STRATEGY_KIND_N:
    default:
      return "?";
    }
}

const char *
hm_dbg_warning_kind_label (HmWarningKind kind)
{
  switch (kind)
    {
    case HM_WARNING_LEAK:
      return _("Leak");
    case HM_WARNING_DANGLING_POINTER:
      return _("Dangling pointer");
    case HM_WARNING_DOUBLE_FREE:
      return _("Double free");
    case HM_WARNING_INVALID_FREE:
      return _("Invalid free");
    case HM_WARNING_MISMATCHED_FREE:
      return _("Mismatched free");
    case HM_WARNING_REGION_USE_AFTER_FREE:
      return _("Region used after free");
    case HM_WARNING_POOL_WRONG_POOL:
      return _("Returned to the wrong pool");
    case HM_WARNING_POOL_DOUBLE_RETURN:
      return _("Returned to a pool twice");
    case HM_WARNING_POOL_USE_AFTER_FREE:
      return _("Pool used after free");
    case HM_WARNING_N:
    default:
      return _("Unknown warning");
    }
}
