/* hm-varint.h — the trace's integer encodings, inline for the agent's hot
 * path and the writer alike: LEB128 unsigned varints, and zigzag for signed
 * values.  The caller has checked that 10 bytes fit. */
#pragma once

#include <stdint.h>

static inline uint8_t *
hm_put_uv (uint8_t *p, uint64_t v)
{
  while (v >= 0x80)
    {
      *p++ = (uint8_t) (v | 0x80);
      v >>= 7;
    }
  *p++ = (uint8_t) v;
  return p;
}

static inline uint8_t *
hm_put_sv (uint8_t *p, int64_t v)
{
  return hm_put_uv (p, ((uint64_t) v << 1) ^ (uint64_t) (v >> 63));
}
