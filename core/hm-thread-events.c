/* hm-thread-events.c — decoding one thread-chunk event; see the header. */
#include "hm-thread-events.h"

#include <string.h>

typedef struct {
  const uint8_t *p;
  const uint8_t *end;
  int bad;
} Cursor;

static uint64_t
uv (Cursor *c)
{
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7)
    {
      if (c->p >= c->end)
        break;
      uint8_t b = *c->p++;
      v |= (uint64_t) (b & 0x7f) << shift;
      if (!(b & 0x80))
        return v;
    }
  c->bad = 1;
  return 0;
}

static int64_t
sv (Cursor *c)
{
  uint64_t u = uv (c);
  return (int64_t) (u >> 1) ^ -(int64_t) (u & 1);
}

/* An extension event: uv len, then a payload with absolute values (the
 * delta state stays as it is).  Kinds this reader does not know are
 * skipped, as PAD is. */
static HmDecodeResult
decode_extension (const uint8_t **p, Cursor *c, uint8_t kind, HmThreadEvent *e)
{
  uint64_t len = uv (c);
  if (c->bad || len > (uint64_t) (c->end - c->p))
    return HM_DECODE_BAD;
  Cursor in = { c->p, c->p + len, 0 };
  *p = c->p + len;
  if (kind != HM_EV_ALLOC_X && kind != HM_EV_UNMAP && kind != HM_EV_REALLOC_X
      && kind != HM_EV_MEMPOOL && kind != HM_EV_REGION_LIVE)
    return HM_DECODE_STATE;
  if (in.p >= in.end)
    return HM_DECODE_BAD;
  e->fn = *in.p++;
  e->ticks = uv (&in);
  switch (kind)
    {
    case HM_EV_ALLOC_X:
      e->kind = HM_EV_ALLOC;
      e->addr = uv (&in);
      e->size = uv (&in);
      e->stack = uv (&in);
      if (e->fn >= HM_FN_N)
        return HM_DECODE_BAD;
      break;
    case HM_EV_UNMAP:
      e->addr = uv (&in);
      e->size = uv (&in);
      if (e->fn >= HM_FN_N)
        return HM_DECODE_BAD;
      break;
    case HM_EV_REALLOC_X:
      e->kind = HM_EV_REALLOC;
      e->old_addr = uv (&in);
      e->a = uv (&in);               /* old_size */
      e->addr = uv (&in);
      e->size = uv (&in);
      e->stack = uv (&in);
      if (e->fn >= HM_FN_N)
        return HM_DECODE_BAD;
      break;
    case HM_EV_MEMPOOL:
      e->a = e->fn;                  /* HmMempoolOp */
      e->fn = 0;
      e->id = uv (&in);
      e->addr = uv (&in);
      e->size = uv (&in);
      e->stack = uv (&in);
      if (e->a < HM_MEMPOOL_CREATE || e->a > HM_MEMPOOL_DESTROY)
        return HM_DECODE_BAD;
      break;
    case HM_EV_REGION_LIVE:
      e->fn = 0;
      e->id = uv (&in);
      e->a = uv (&in);               /* allocations */
      e->size = uv (&in);
      break;
    default:
      break;
    }
  if (in.bad)
    return HM_DECODE_BAD;
  return HM_DECODE_EVENT;
}

HmDecodeResult
hm_thread_event_decode (const uint8_t **p, const uint8_t *end, uint64_t *ticks, uint64_t *addr,
                        HmThreadEvent *e)
{
  Cursor c = { *p, end, 0 };
  uint8_t kind;

  if (c.p >= c.end)
    return HM_DECODE_BAD;
  kind = *c.p++;
  if (kind == HM_EV_PAD)
    {
      *p = c.p;
      return HM_DECODE_STATE;
    }
  if (kind == HM_EV_SYNC)
    {
      uint64_t t = uv (&c), a = uv (&c);
      if (c.bad)
        return HM_DECODE_BAD;
      *ticks = t;
      *addr = a;
      *p = c.p;
      return HM_DECODE_STATE;
    }

  memset (e, 0, sizeof *e);
  e->kind = kind;
  if (kind >= HM_EV_EXTENSION)
    return decode_extension (p, &c, kind, e);
  *ticks += (uint64_t) sv (&c);
  e->ticks = *ticks;
#define ADDR() (*addr += (uint64_t) sv (&c), *addr)
  if (kind >= HM_EV_ALLOC && kind <= HM_EV_ALLOC_LAST)
    {
      e->kind = HM_EV_ALLOC;
      e->fn = kind & 0x0f;
      if (e->fn >= HM_FN_N)
        return HM_DECODE_BAD;
      e->addr = ADDR ();
      e->size = uv (&c);
      e->stack = uv (&c);
    }
  else
    switch (kind)
      {
      case HM_EV_FREE:
        e->addr = ADDR ();
        if (c.p >= c.end)
          return HM_DECODE_BAD;
        e->fn = *c.p++;
        if (e->fn >= HM_FN_N)
          return HM_DECODE_BAD;
        break;
      case HM_EV_REALLOC:
        e->fn = HM_FN_REALLOC;
        e->old_addr = ADDR ();
        e->addr = ADDR ();
        e->size = uv (&c);
        e->stack = uv (&c);
        break;
      case HM_EV_THREAD_END:
        break;
      case HM_EV_REGION_CREATE:
        e->id = uv (&c);
        e->stack = uv (&c);
        break;
      case HM_EV_REGION_ALLOC:
        e->id = uv (&c);
        e->addr = ADDR ();
        e->size = uv (&c);
        break;
      case HM_EV_REGION_RESET:
      case HM_EV_REGION_FREE:
      case HM_EV_POOL_FREE:
        e->id = uv (&c);
        break;
      case HM_EV_POOL_CREATE:
        e->id = uv (&c);
        e->size = uv (&c);
        e->a = uv (&c);
        e->stack = uv (&c);
        break;
      case HM_EV_POOL_GET:
      case HM_EV_POOL_RETURN:
        e->id = uv (&c);
        e->addr = ADDR ();
        break;
      case HM_EV_GC_COLLECT:
        e->a = uv (&c);
        e->b = uv (&c);
        e->c = uv (&c);
        e->d = uv (&c);
        break;
      case HM_EV_WARNING:
        e->a = uv (&c);
        e->addr = ADDR ();
        e->size = uv (&c);
        e->stack = uv (&c);
        e->b = uv (&c);
        e->c = uv (&c);
        e->id = uv (&c);
        if (e->a == 0 || e->a >= HM_WARNING_N)
          return HM_DECODE_BAD;
        break;
      default:
        return HM_DECODE_BAD;
      }
#undef ADDR
  if (c.bad)
    return HM_DECODE_BAD;
  *p = c.p;
  return HM_DECODE_EVENT;
}
