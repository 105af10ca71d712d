/* hm-suppressions.h — leaks the user has decided not to see.
 *
 * LeakSanitizer's format, so existing files work unchanged: one rule a line,
 *
 *   leak:PATTERN
 *
 * '#' starts a comment, blank lines are skipped.  A rule suppresses a leak
 * when PATTERN matches the function, the source file or the module of any
 * frame of its allocation stack.  PATTERN matches anywhere in the name
 * ("leak:parse" matches "parse_args"); '*' matches any run of characters,
 * '^' at the start and '$' at the end anchor it.  Other rule kinds of
 * sanitizer files ("race:", "signal:" …) are not for leaks: skipped.
 *
 * Built-in rules cover what the C library keeps until exit on purpose (its
 * stdio buffers, the loader's thread and dlopen bookkeeping); each
 * suppression says how many blocks and bytes it hid, so nothing disappears
 * silently.
 */
#pragma once

#include <glib.h>

#include "hm-symbolizer.h"

G_BEGIN_DECLS

typedef struct {
  char *pattern;
  char *source;            /* "FILE:LINE" or "built-in" */
  guint64 sites;           /* what it suppressed so far */
  guint64 blocks;
  guint64 bytes;
} HmSuppression;

typedef struct _HmSuppressions HmSuppressions;

/* with_builtins: start with the built-in rules. */
HmSuppressions *hm_suppressions_new (gboolean with_builtins);
void hm_suppressions_free (HmSuppressions *suppressions);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HmSuppressions, hm_suppressions_free)

/* Adds the rules of a file.  An unreadable file or a malformed rule (an
 * empty pattern, a line over 4 KiB, a file over 1 MiB) is an error naming
 * the file and the line; nothing of that file is added then. */
gboolean hm_suppressions_load_file (HmSuppressions *suppressions, const char *path,
                                    GError **error);

/* The rule that suppresses a leak with this allocation stack (const
 * HmFrameInfo *, innermost first), or NULL.  The first matching rule wins
 * and counts the leak: blocks and bytes are added to it. */
HmSuppression *hm_suppressions_match (HmSuppressions *suppressions, GPtrArray *frames,
                                      guint64 blocks, guint64 bytes);

/* The rules (HmSuppression *), built-ins first, in the order given. */
GPtrArray *hm_suppressions_get_rules (HmSuppressions *suppressions);

/* Whether pattern matches text, as described above. */
gboolean hm_suppression_pattern_matches (const char *pattern, const char *text);

G_END_DECLS
