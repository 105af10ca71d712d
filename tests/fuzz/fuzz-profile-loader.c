/* fuzz-profile-loader.c — libFuzzer target: any bytes through the profile
 * loader, and what loads through every reader of a profile (show, diff,
 * set, save as text) as hmtrace profile would use them.
 *
 * Nothing may crash, leak, hang or read out of bounds; what loads must
 * survive a rewrite and load again.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hm-profile.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HmProfile) profile = hm_profile_load_data ((const char *) data, size, "fuzz", &error);

  if (profile == NULL)
    {
      g_assert (error != NULL && error->message[0] != '\0');
      return 0;
    }
  FILE *null = fopen ("/dev/null", "w");
  hm_profile_print_table (null, profile);
  hm_profile_print_diff (null, profile, profile);
  fclose (null);
  if (hm_profile_get_n_sites (profile) > 0)
    {
      HmProfileSite site;
      hm_profile_get_site (profile, 0, &site);
      g_autofree char *key = hm_profile_site_key (&site);
      g_assert (hm_profile_find_site (profile, key) >= 0);
      hm_profile_set (profile, 0, "pool_capacity", "64", NULL);
      hm_profile_set (profile, 0, "strategy", "adaptive", NULL);
    }
  /* what was accepted, rewritten, is accepted again */
  g_autofree char *text = hm_profile_to_string (profile);
  g_autoptr(GError) again_error = NULL;
  g_autoptr(HmProfile) again = hm_profile_load_data (text, strlen (text), "again", &again_error);
  g_assert (again != NULL);
  return 0;
}
