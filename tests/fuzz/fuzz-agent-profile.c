/* fuzz-agent-profile.c — libFuzzer target: any bytes through the agent's own
 * profile parser (agent/hm-profile-apply.c), the one that runs inside other
 * people's programs at start.  The rest of the agent is stubbed: only the
 * parser is under test.  Nothing may crash, hang or read out of bounds, and
 * a refusal must say where.
 */
#define _GNU_SOURCE
#include "hm-profile-private.h"
#include "hm-sampler-private.h"

#include <assert.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* --- what hm-profile-apply.c needs from the rest of the agent ------------------- */
HmAgent hm_agent;
__thread int hm_guard HM_TLS;
int hm_profile_active, hm_profile_recording, hm_lifetime_active;
HmProfileSiteInfo *hm_profile_sites;
void hm_writer_queue_meta (uint8_t kind, uint64_t id, uint64_t ticks, const char *text) { (void) kind; (void) id; (void) ticks; (void) text; }
uint32_t hm_profile_site_add (uintptr_t ip) { (void) ip; return HM_PROFILE_NO_SITE; }
HmPool *hm_pool_new_for_malloc (const char *name, size_t object_size, size_t capacity) { (void) name; (void) object_size; (void) capacity; return NULL; }
const char *hm_profile_exe_name (void) { return "fuzz"; }
int hm_profile_describe_ip (uintptr_t ip, const char **module, uint64_t *module_offset, const char **symbol, uint64_t *symbol_offset) { (void) ip; (void) module; (void) module_offset; (void) symbol; (void) symbol_offset; return 0; }
int hm_profile_tables_init (void) { return -1; }
void hm_profile_recording_start (const char *path, unsigned interval) { (void) path; (void) interval; }
void hm_profile_out_str (void *out, const char *s) { (void) out; (void) s; }
void hm_profile_out_uint (void *out, uint64_t v) { (void) out; (void) v; }
void hm_profile_out_json_string (void *out, const char *s) { (void) out; (void) s; }
void hm_profile_out_raw (void *out, const char *s, size_t n) { (void) out; (void) s; (void) n; }
HmSampler hm_sampler;
void hm_sampler_refuse (const char *what) { (void) what; }
uint64_t hm_profile_sample_bytes_option (void) { return 0; }
bool hm_sampler_start_profile (uint64_t mean_bytes) { (void) mean_bytes; return false; }
void hm_hooks_refresh (void) { }

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char why[200] = "";
  if (!hm_profile_parse ((const char *) data, size, why, sizeof why))
    assert (strncmp (why, "line ", 5) == 0);
  return 0;
}
