/* hm-byte-size.h — "524288", "512K", "1M", "2G": a byte count as people
 * write it, for HM_SAMPLE_BYTES (the agent) and hmtrace record
 * --sample-bytes (core/).  No GLib, no allocation: the agent uses it.
 */
#pragma once

#include <stdint.h>

/* Returns 1 and sets *out for a whole number with an optional K, M or G
 * (powers of 1024, either case, an optional trailing "B" or "iB");
 * returns 0 for anything else, for 0, and for more than 2^62. */
static inline int
hm_parse_byte_size (const char *text, uint64_t *out)
{
  uint64_t n = 0;
  unsigned shift = 0;
  const char *p = text;

  if (p == NULL || *p < '0' || *p > '9')
    return 0;
  for (; *p >= '0' && *p <= '9'; p++)
    {
      if (n > (UINT64_C (1) << 62) / 10)
        return 0;
      n = n * 10 + (uint64_t) (*p - '0');
    }
  switch (*p)
    {
    case 'k': case 'K': shift = 10; p++; break;
    case 'm': case 'M': shift = 20; p++; break;
    case 'g': case 'G': shift = 30; p++; break;
    default: break;
    }
  if (shift != 0 && p[0] == 'i' && p[1] == 'B')
    p += 2;
  else if (p[0] == 'B')
    p++;
  if (*p != '\0' || n == 0 || n > (UINT64_C (1) << 62) >> shift)
    return 0;
  *out = n << shift;
  return 1;
}
