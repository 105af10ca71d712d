/* hm-profile.h — memory_profile.json: load, validate, edit, compare, save.
 *
 * A profile is kept as its JSON tree, so fields this code does not know
 * (a person's notes, a newer tool's additions of the same version) survive a
 * load and a save untouched.  Loading validates the tree against the schema
 * (data/memory-profile.schema.json) and never trusts the file: size limits,
 * types, ranges and versions are checked, and every error names the file
 * and, where it can, the line and column.
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdio.h>

#include "hm-heap-model.h"
#include "hm-profile-format.h"
#include "hm-symbolizer.h"

G_BEGIN_DECLS

#define HM_PROFILE_ERROR (hm_profile_error_quark ())
GQuark hm_profile_error_quark (void);

typedef enum {
  HM_PROFILE_ERROR_IO,          /* cannot open, read or write; a directory; too big */
  HM_PROFILE_ERROR_SYNTAX,      /* not JSON: the message has line and column */
  HM_PROFILE_ERROR_VERSION,     /* a newer (or no) schema version */
  HM_PROFILE_ERROR_INVALID,     /* JSON, but not a profile: wrong type, out of range */
  HM_PROFILE_ERROR_NOT_FOUND,   /* no such site or key */
} HmProfileError;

/* One site as the tools see it: the identity and the numbers, read from the
 * tree (strings belong to the profile). */
typedef struct {
  const char *module;      /* basename; NULL when only the address is known */
  const char *symbol;      /* NULL when unknown */
  gint64 module_offset;    /* the ELF address in module (survives ASLR); -1 unknown */
  gint64 symbol_offset;    /* from the start of symbol (survives a rebuild); -1 unknown */
  const char *file;        /* NULL when unknown */
  gint64 line;             /* 0 unknown */
  const char *address;     /* "0x…" as recorded, or NULL */
  gint64 count;
  gint64 bytes;
  gint64 min_size;
  gint64 max_size;
  gint64 peak_live_count;
  gint64 peak_live_bytes;
  gint64 threads;
  gint64 lifetime_median_ns; /* from the histogram; -1 without one */
  const char *strategy;    /* the person's override, NULL for none */
  gint64 pool_object_size; /* 0 unset */
  gint64 pool_capacity;    /* 0 unset */
} HmProfileSite;

typedef struct _HmProfile HmProfile;

/* An empty profile of the current version, strategy "none". */
HmProfile *hm_profile_new (void);
/* Reads and validates path.  name_for_errors: NULL to use path. */
HmProfile *hm_profile_load (const char *path, GError **error);
/* The same for bytes in memory (the fuzzer, tests); name is used in errors. */
HmProfile *hm_profile_load_data (const char *data, gsize length, const char *name,
                                 GError **error);
void hm_profile_free (HmProfile *profile);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HmProfile, hm_profile_free)

/* Writes the profile to path atomically: a temporary file in the same
 * directory, flushed, then renamed over path. */
gboolean hm_profile_write_file (HmProfile *profile, const char *path, GError **error);
/* The profile as text (indented JSON, keys in their order), g_free() it. */
char *hm_profile_to_string (HmProfile *profile);

/* The tree itself (borrowed): edits through it must keep it valid. */
json_t *hm_profile_get_json (HmProfile *profile);

const char *hm_profile_get_strategy (HmProfile *profile);
guint hm_profile_get_n_sites (HmProfile *profile);
/* Fills site from sites[index]; FALSE when index is out of range. */
gboolean hm_profile_get_site (HmProfile *profile, guint index, HmProfileSite *site);
/* "module+0x1a2b" (module offset) or "0x7f…" (raw address): how tools name
 * a site. */
char *hm_profile_site_key (const HmProfileSite *site);
/* The index of the site that key names: a 1-based number as `show` prints
 * it, or a key as hm_profile_site_key() makes it.  -1 when none. */
int hm_profile_find_site (HmProfile *profile, const char *key);

/* Sets one editable field: on a site (index >= 0) "strategy",
 * "pool_object_size", "pool_capacity"; globally (index -1) "strategy".
 * value "" or "default" removes a site's override.  Validates the value. */
gboolean hm_profile_set (HmProfile *profile, int index, const char *key, const char *value,
                         GError **error);

/* A profile from a trace: one site per allocation stack, identified by the
 * innermost frame outside the C library's allocator (the malloc caller),
 * symbolised by symbolizer. */
HmProfile *hm_profile_new_from_model (HmHeapModel *model, HmSymbolizer *symbolizer);

/* Prints the differences of b against a (sites matched by key) to out;
 * returns the number of differences. */
guint hm_profile_print_diff (FILE *out, HmProfile *a, HmProfile *b);
/* Prints the sites as a table. */
void hm_profile_print_table (FILE *out, HmProfile *profile);

G_END_DECLS
