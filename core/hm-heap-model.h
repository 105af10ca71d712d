/* hm-heap-model.h — what a trace says happened to memory.
 *
 * The model consumes decoded events and keeps the live set, the stack tree,
 * the modules, the per-site statistics and the totals.  Everything views and
 * reports show is computed here, once, so the GUI and hmtrace agree.
 */
#pragma once

#include <glib.h>

#include "hm-profile-format.h"
#include "hm-trace-reader.h"

G_BEGIN_DECLS

typedef struct {
  guint64 id;
  guint64 bias;            /* load bias: ELF virtual address + bias = runtime address */
  guint64 start;           /* lowest and one past the highest mapped address */
  guint64 end;
  char *path;
  GBytes *build_id;        /* may be NULL */
  guint64 load_ts;
  guint64 unload_ts;       /* G_MAXUINT64 while loaded */
} HmModule;

typedef struct {
  guint64 parent;          /* node id, 0 for the outermost frame */
  guint64 ip;
} HmStackNode;

/* Statistics of one allocation site: one distinct allocation stack. */
typedef struct {
  guint64 stack;           /* leaf node id */
  guint64 allocations;
  guint64 frees;           /* of blocks this site allocated */
  guint64 bytes;           /* allocated in all */
  guint64 live_bytes;
  guint64 live_blocks;
  guint64 peak_live_bytes;
  guint64 lifetime_ns_sum; /* over freed blocks */
  guint64 temporary;       /* blocks freed by their thread before it allocated again */
  guint64 min_size;        /* of one allocation */
  guint64 max_size;
  guint64 peak_live_blocks;
  guint64 n_threads;       /* threads that allocated here */
  guint64 last_tid;
  guint64 size_histogram[HM_PROFILE_SIZE_BUCKETS];         /* power-of-two buckets */
  guint64 lifetime_histogram[HM_PROFILE_LIFETIME_BUCKETS]; /* ns, of freed blocks */
} HmSiteStats;

/* Histogram buckets: bucket 0 holds 0, bucket i > 0 holds [2^(i-1), 2^i). */
#define HM_HISTOGRAM_BUCKETS 64
guint hm_histogram_bucket (guint64 value);

typedef struct {
  guint64 allocations;     /* successful calls of allocation functions, realloc included */
  guint64 frees;           /* free() of a live block, realloc(p, 0) */
  guint64 bytes_allocated;
  guint64 live_bytes;
  guint64 live_blocks;
  guint64 peak_bytes;
  guint64 peak_ts;
  guint64 last_ts;
  guint64 unknown_frees;   /* frees of addresses the trace never saw allocated */
  guint64 dropped_events;
  guint n_threads;
  /* Temporary allocations, as heaptrack defines them and per thread, so that
   * threads do not blur it: a block freed by the thread that allocated it
   * before that thread allocated anything else. */
  guint64 temporary;
  guint64 size_histogram[HM_HISTOGRAM_BUCKETS];      /* allocations by size in bytes */
  guint64 lifetime_histogram[HM_HISTOGRAM_BUCKETS];  /* freed blocks by lifetime in ns */
} HmHeapTotals;

/* The strategies memory can come from, for the per-strategy accounting. */
typedef enum {
  HM_STRATEGY_KIND_MALLOC = 0,   /* malloc & co. */
  HM_STRATEGY_KIND_MANUAL,       /* hm_alloc */
  HM_STRATEGY_KIND_GC,           /* hm_gc_alloc */
  HM_STRATEGY_KIND_REGIONS,
  HM_STRATEGY_KIND_POOLS,
  HM_STRATEGY_KIND_MMAP,         /* anonymous mmap, munmap and mremap called by the program */
  HM_STRATEGY_KIND_CUSTOM,       /* blocks a custom allocator announced (heaptrack_report_*,
                                  * Valgrind client requests): inside memory another strategy
                                  * already counts */
  HM_STRATEGY_KIND_N
} HmStrategyKind;

const char *hm_strategy_kind_name (HmStrategyKind kind);
/* The strategy an allocation function belongs to. */
HmStrategyKind hm_strategy_of_fn (HmAllocFn fn);
/* "malloc", "mallocx", "mi_malloc", "mmap", "heaptrack_report_alloc", … */
const char *hm_alloc_fn_name (HmAllocFn fn);

typedef struct {
  guint64 allocations;
  guint64 bytes;           /* allocated in all */
  guint64 live_bytes;
  guint64 peak_bytes;
} HmStrategyStats;

typedef struct {
  guint64 id;
  char *name;
  guint64 create_stack;    /* stack id */
  guint64 create_ts;
  guint64 allocations;
  guint64 bytes;
  guint64 live_bytes;      /* since the last reset */
  guint64 peak_bytes;
  guint64 resets;
  gboolean freed;
  guint64 freed_ts;
} HmRegionStats;

typedef struct {
  guint64 id;
  char *name;
  guint64 object_size;
  guint64 capacity;
  guint64 create_stack;
  guint64 create_ts;
  guint64 gets;
  guint64 returns;
  guint64 live_objects;
  guint64 peak_live_objects;
  gboolean freed;
  /* A Valgrind mempool (VALGRIND_CREATE_MEMPOOL): id is its anchor address,
   * object_size 0 (its objects' sizes vary), capacity 0; its objects are
   * also blocks of the custom strategy. */
  gboolean annotated;
  guint64 live_bytes;      /* annotated pools: bytes out of the pool now, */
  guint64 bytes;           /* allocated from it in all, */
  guint64 peak_bytes;      /* and the most out at once */
} HmPoolStats;

typedef struct {
  guint64 allocations;
  guint64 bytes_allocated;
  guint64 collections;
  guint64 freed_bytes;
  guint64 freed_objects;
  guint64 total_pause_ns;
  guint64 max_pause_ns;
  guint64 live_bytes_after_last;
} HmGcTotals;

typedef struct {
  HmWarningKind kind;
  guint64 ts;
  guint64 tid;
  guint64 addr;
  guint64 size;
  guint64 stack;           /* the bad call's stack id */
  guint64 alloc_stack;
  guint64 free_stack;
  guint64 object;          /* region or pool id, 0 when none */
  guint64 ticks;           /* the raw time, which a WARNING_LOCATION names */
  gint location;           /* index into hm_heap_model_get_warning_locations, or -1 */
} HmWarning;

/* Where a dangling pointer lives (the WARNING_LOCATION extension). */
typedef struct {
  guint64 ticks;           /* of its warning */
  guint64 target;          /* the warning's address */
  HmPointerWhere where;
  guint64 address;         /* of the pointer itself */
  guint64 tid;             /* HM_POINTER_ON_STACK */
  guint64 block_addr;      /* HM_POINTER_IN_HEAP: the block holding it */
  guint64 block_size;
  guint64 block_stack;     /* its allocation stack id */
  char *text;
} HmWarningLocation;

const char *hm_warning_kind_name (HmWarningKind kind);

/* What an applied profile chose for one site (a PROFILE_DECISION event). */
typedef struct {
  guint64 ts;
  HmProfileChoice choice;
  char *site;              /* "module+0x1a2b" as the profile names it */
  char *why;
} HmProfileDecision;

const char *hm_profile_choice_name (HmProfileChoice choice);

/* One bucket of the heap timeline: the live bytes per strategy at the end
 * of the bucket and the highest total seen inside it. */
typedef struct {
  guint64 start_ns;
  guint64 live_bytes[HM_STRATEGY_KIND_N];
  guint64 peak_total_bytes;
  guint32 allocations;     /* events in the bucket, all strategies */
  guint32 frees;
} HmTimelineBucket;

/* Things worth a marker on the timeline. */
typedef enum {
  HM_MARKER_REGION_FREE,
  HM_MARKER_REGION_RESET,
  HM_MARKER_GC,
  HM_MARKER_WARNING,
  HM_MARKER_MARK,
} HmMarkerKind;

typedef struct {
  HmMarkerKind kind;
  guint64 ts;
  guint64 id;              /* region id, warning index, … */
} HmMarker;

typedef struct _HmHeapModel HmHeapModel;

HmHeapModel *hm_heap_model_new (void);
void hm_heap_model_free (HmHeapModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HmHeapModel, hm_heap_model_free)

void hm_heap_model_add_event (HmHeapModel *model, const HmEvent *event);

/* Reads a whole trace file into a new model.  Returns NULL only when nothing
 * could be read (not a trace, unreadable).  A cut trace gives a model with
 * truncated set; a corrupt chunk gives the model of what came before it, with
 * *error set to say where. */
HmHeapModel *hm_heap_model_load_file (const char *path, GError **error);

const HmHeapTotals *hm_heap_model_get_totals (HmHeapModel *model);
const HmTraceHeader *hm_heap_model_get_header (HmHeapModel *model);
void hm_heap_model_set_header (HmHeapModel *model, const HmTraceHeader *header);
gboolean hm_heap_model_is_truncated (HmHeapModel *model);
void hm_heap_model_set_truncated (HmHeapModel *model, gboolean truncated, guint64 offset);
guint64 hm_heap_model_get_truncated_offset (HmHeapModel *model);
/* TRUE when the trace holds an END event (the process exited normally or
 * exec'd); reason and status are then valid. */
gboolean hm_heap_model_get_end (HmHeapModel *model, HmEndReason *reason, gint64 *status);
/* A value of an INFO event ("exe", "cmdline", …) or NULL. */
const char *hm_heap_model_get_info (HmHeapModel *model, const char *key);
/* A sampled trace's mean distance between samples in bytes (INFO
 * sample_bytes), or 0 when every allocation was recorded.  When it is not 0,
 * the malloc-family bytes and counts of the totals, sites, strategies and
 * snapshots are unbiased estimates: each sampled block is weighed by the
 * inverse of the chance it had to be sampled. */
guint64 hm_heap_model_get_sample_bytes (HmHeapModel *model);

/* One site by its stack (leaf node id), or NULL when nothing was allocated
 * there.  Valid until the model is fed again. */
const HmSiteStats *hm_heap_model_get_site (HmHeapModel *model, guint64 stack);

/* Sites with at least one allocation, in no particular order (HmSiteStats *). */
GPtrArray *hm_heap_model_get_sites (HmHeapModel *model);
/* The frames of a stack, innermost first: return addresses as recorded. */
GArray *hm_heap_model_get_stack_ips (HmHeapModel *model, guint64 stack);
guint64 hm_heap_model_get_n_stack_nodes (HmHeapModel *model);
/* Regions and pools (HmRegionStats *, HmPoolStats *) in creation order. */
GPtrArray *hm_heap_model_get_regions (HmHeapModel *model);
GPtrArray *hm_heap_model_get_pools (HmHeapModel *model);
const HmGcTotals *hm_heap_model_get_gc (HmHeapModel *model);
const HmStrategyStats *hm_heap_model_get_strategy (HmHeapModel *model, HmStrategyKind kind);
/* Warnings (HmWarning) in the order they happened. */
GArray *hm_heap_model_get_warnings (HmHeapModel *model);
/* HmWarningLocation, as HmWarning.location indexes them. */
GArray *hm_heap_model_get_warning_locations (HmHeapModel *model);
/* The leaf stack node of an agent stack id (what HmSiteStats.stack holds). */
guint64 hm_heap_model_stack_node (HmHeapModel *model, guint64 stack);

/* The heap over time: at most HM_TIMELINE_MAX_BUCKETS buckets of equal
 * width covering the whole trace (the width doubles as the trace grows, so
 * memory stays bounded however long it is).  Valid until the next event. */
#define HM_TIMELINE_MAX_BUCKETS 2048
const HmTimelineBucket *hm_heap_model_get_timeline (HmHeapModel *model, guint *n_buckets,
                                                    guint64 *bucket_ns);
/* Markers (HmMarker), in time order; at most a million are kept. */
GArray *hm_heap_model_get_markers (HmHeapModel *model);

/* --- any moment: what was live then ----------------------------------------
 *
 * While it reads, the model keeps, for each bucket of the timeline, the
 * counts of every site, region and pool that changed in it (as they stood
 * at the bucket's end), so that what was live at any moment, or what
 * happened between two moments, is worked out from those snapshots —
 * bounded work, without reading the trace again.  A moment means the end
 * of the bucket that holds it: the resolution is the timeline's, or
 * coarser when the snapshots would take more than 6 bytes per event (a
 * trace where thousands of sites change in every bucket); HmBreakdown says
 * which. */

typedef enum {
  HM_BREAKDOWN_SITE = 0,   /* id: the site's stack node (HmSiteStats.stack) */
  HM_BREAKDOWN_REGION,     /* id: the region's id */
  HM_BREAKDOWN_POOL,       /* id: the pool's id */
} HmBreakdownKind;

typedef struct {
  HmBreakdownKind kind;
  guint64 id;
  guint64 live_bytes;      /* at the end of the range */
  guint64 live_count;      /* blocks, or pool objects, or region allocations */
  guint64 allocations;     /* in the range (from the start for a moment) */
  guint64 bytes;           /* allocated in the range */
} HmBreakdownEntry;

typedef struct {
  guint64 from_ns;         /* the range as resolved: bucket boundaries */
  guint64 to_ns;
  guint64 bucket_ns;       /* the resolution */
  guint64 live_bytes[HM_STRATEGY_KIND_N];    /* at to_ns */
  GArray *entries;         /* HmBreakdownEntry: everything live at to_ns, and everything
                            * that allocated in the range; sorted by kind then id */
} HmBreakdown;

/* What was live at the end of the bucket holding to_ns, and what was
 * allocated from the start of the bucket holding from_ns (from_ns = 0: the
 * start of the trace).  Free with hm_breakdown_free(). */
HmBreakdown *hm_heap_model_get_breakdown (HmHeapModel *model, guint64 from_ns, guint64 to_ns);
void hm_breakdown_free (HmBreakdown *breakdown);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HmBreakdown, hm_breakdown_free)
/* One site's live bytes at the end of each snapshot bucket (guint64, from
 * the start of the trace; the last is now); *bucket_ns their width.  For
 * showing a site's share on the timeline. */
GArray *hm_heap_model_get_site_series (HmHeapModel *model, guint64 node, guint64 *bucket_ns);

/* The applied profile's decisions (HmProfileDecision *), in order. */
GPtrArray *hm_heap_model_get_profile_decisions (HmHeapModel *model);

/* Successful calls by function: allocations, reallocations and frees
 * (UNMAP counts for munmap), as the trace holds them. */
guint64 hm_heap_model_get_fn_calls (HmHeapModel *model, HmAllocFn fn);

/* The process's resident set over time (RSS events), in time order. */
typedef struct {
  guint64 ts;
  guint64 rss_bytes;
} HmRssSample;
/* HmRssSample; at most a million (every other one is dropped beyond). */
GArray *hm_heap_model_get_rss (HmHeapModel *model);
/* The highest RSS sampled and when; FALSE when the trace has no samples. */
gboolean hm_heap_model_get_peak_rss (HmHeapModel *model, guint64 *rss_bytes, guint64 *ts);

/* Loaded modules (HmModule *), in load order. */
GPtrArray *hm_heap_model_get_modules (HmHeapModel *model);
/* The module mapped at addr at time ts, or NULL. */
const HmModule *hm_heap_model_find_module (HmHeapModel *model, guint64 addr);

G_END_DECLS
