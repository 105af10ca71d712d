/* hm-profile-format.h — the constants of memory_profile.json that both the
 * agent (which writes and reads it without GLib or jansson) and core/ (which
 * validates, shows and edits it) must agree on.
 *
 * The file itself is documented in data/memory-profile.schema.json (and the
 * README); keep them in step (tests/test-profile.c checks the schema's
 * enums and limits against these).
 */
#pragma once

#include <stdint.h>

/* The schema version this code writes and understands.  A file with a
 * bigger version is refused (its meaning may have changed). */
#define HM_PROFILE_VERSION 1

/* Files bigger than this are refused unread: a profile of 100 000 sites is
 * a few tens of MiB. */
#define HM_PROFILE_MAX_BYTES (64u * 1024u * 1024u)
#define HM_PROFILE_MAX_SITES 100000u
#define HM_PROFILE_MAX_STRING 4096u
/* The biggest number any statistic or size may hold (2^53: exact in every
 * JSON implementation, and far beyond any real count). */
#define HM_PROFILE_MAX_NUMBER ((int64_t) 1 << 53)
/* Pool object sizes and capacities a person may ask for. */
#define HM_PROFILE_MAX_POOL_OBJECT (1u << 20)
#define HM_PROFILE_MAX_POOL_CAPACITY (1u << 24)

/* Histograms have power-of-two buckets: bucket 0 holds the value 0, bucket
 * i >= 1 the values in [2^(i-1), 2^i); the last bucket also holds
 * everything bigger.  Sizes are in bytes, lifetimes in nanoseconds. */
#define HM_PROFILE_SIZE_BUCKETS 33
#define HM_PROFILE_LIFETIME_BUCKETS 48

static inline unsigned
hm_profile_bucket (uint64_t value, unsigned n_buckets)
{
  unsigned b = value == 0 ? 0u : 64u - (unsigned) __builtin_clzll (value);
  return b < n_buckets ? b : n_buckets - 1;
}

/* Per-site choices a person may write (and the agent's decisions). */
typedef enum {
  HM_PROFILE_CHOICE_DEFAULT = 0,   /* leave it to the global strategy */
  HM_PROFILE_CHOICE_MALLOC,        /* the C library, as without a profile */
  HM_PROFILE_CHOICE_POOL,          /* a pool of pool_object_size objects */
  HM_PROFILE_CHOICE_TRIM,          /* the C library, memory returned to the OS eagerly */
  HM_PROFILE_CHOICE_N
} HmProfileChoice;

static const char *const hm_profile_choice_names[HM_PROFILE_CHOICE_N] = {
  "default", "malloc", "pool", "trim",
};

/* The global strategies, named as HM_STRATEGY names them. */
static const char *const hm_profile_strategy_names[] = {
  "none", "minimize-memory", "maximize-performance", "balanced", "adaptive",
};
#define HM_PROFILE_N_STRATEGIES 5
