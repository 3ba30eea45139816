/*
** Pipeline: the pipeline driver. setup.c makes everything that is fixed before
** a pixel is read (plan, regions, labels, masks, splits); run.c runs work
** units into a folder, with checkpoints as it goes (resume, parts);
** merge.c joins parts; finish.c turns written chips into a dataset (index,
** statistics, metadata, audit); build.c holds the public entry points.
** unit.c is what one worker does with one work unit (read, mask, label,
** filter, cut chips); read_modality.c reads one modality over a unit (one
** image, a mosaic through time, or a stack of acquisitions).
*/
#ifndef EK_PIPELINE_H
#define EK_PIPELINE_H

#include <pthread.h>
#include <stdatomic.h>

#include <jansson.h>

#include "eodkit/build.h"
#include "read/ek_remote.h"
#include "sample/ek_sample.h"
#include "write/ek_write.h"

/* The per-object arrays of tasks with objects (doc/format.md). */
enum {
    EK_OBJECT_BOXES,     /* "boxes": x_min, y_min, x_max, y_max */
    EK_OBJECT_OBB,       /* "obb": 4 corners (oriented boxes only) */
    EK_OBJECT_CLASS,     /* "box_class": class id */
    EK_OBJECT_ID,        /* "box_id": the feature's object id */
    EK_OBJECT_VISIBLE,   /* "box_visible": share of the object inside */
    EK_OBJECT_TRUNCATED, /* "box_truncated": 1 when cut by the chip edge */
    EK_OBJECT_FIELDS
};

/* Shared by all workers, read-only while they run. */
typedef struct ek_build {
    const ek_recipe *recipe;
    ek_plan *plan;
    ek_labels *labels; /* NULL without labels */
    ek_shapes **masks; /* per modality: mask polygons, or NULL */
    ek_split *split;
    ek_regions *regions;         /* NULL when no region layer is available */
    ek_region_tags *region_tags; /* per candidate chip: region and share;
                                    NULL without a layer */
    ek_sample *sample;           /* NULL unless the recipe samples */
    ek_array_desc *arrays;       /* modalities, then the label arrays if any */
    size_t narrays;
    int nclass_ids;                /* labels->max_id + 1, 0 without labels */
    ek_remote_counts remote_start; /* retry counts when the build began */
    /* where the label arrays are in ARRAYS (-1: not stored) */
    int label_array;    /* "label": class ids per pixel, per chip, or classes */
    int instance_array; /* "instance": instance ids per pixel */
    int pair_array;     /* "label_classes": a change task's classes before, after */
    int range_array;    /* "box_range": each chip's rows of the object arrays */
    int object_arrays[EK_OBJECT_FIELDS]; /* the per-object arrays */
} ek_build;

/* The split whose statistics are computed: the recipe's first
   (doc/recipe.md, split.ratios). */
#define EK_STATS_SPLIT 0

/* Most arrays a chip stores: 14 modalities and up to 8 label arrays. */
#define EK_MAX_MODALITIES 14
#define EK_MAX_ARRAYS (EK_MAX_MODALITIES + 8)

/* Why a chip was not written. */
typedef enum ek_reject {
    EK_KEEP,
    EK_REJECT_NODATA,
    EK_REJECT_CLOUD,
    EK_REJECT_UNLABELED,
    EK_REJECT_TIME,    /* a stacked modality had too few usable acquisitions */
    EK_REJECT_OBJECTS, /* fewer objects than filters.min_objects */
    EK_REJECT_MIXED, /* scene labels: the chip lies across scenes whose labels differ */
    EK_REJECT_COUNT
} ek_reject;

/* Their names in summaries and checkpoints (NULL for EK_KEEP). */
extern const char *const ek_reject_names[EK_REJECT_COUNT];

/* A chip of a unit, kept or not. */
typedef struct ek_unit_chip {
    size_t chip_id;
    int split;
    ek_reject reject;
    double nodata_frac;
    double labeled_frac;
    double cloud_frac; /* < 0: no modality has a mask */
    char *class_hist;  /* JSON, or NULL without labels */
    int label;         /* classification label, or -1 */
    int mixed;         /* scene labels: across scenes whose labels differ */
    char *present;     /* JSON {"modality": 0|1} of optional modalities, or NULL */
    char *times;       /* JSON {"modality": [ISO times]} of time modalities, or NULL */
    int64_t earliest;  /* first and last acquisition used (time modalities), */
    int64_t latest;    /* or INT64_MAX and INT64_MIN */
    char *sources;     /* JSON {"modality": [input indices]} */
    size_t first_object; /* its objects: ek_unit_result.objects[first_object...] */
    size_t nobjects;
    char *object_hist; /* JSON {"class id": objects}, or NULL */
} ek_unit_chip;

/* What a unit hands to the committer. */
typedef struct ek_unit_result {
    size_t candidates; /* candidate chips the unit covered (for progress) */
    size_t nchips;     /* chips with a split; chip k's arrays are at slot k */
    ek_unit_chip *chips;
    unsigned char **data; /* per array: nchips slots, contiguous (per-object
                             arrays: a row per object of OBJECTS) */
    ek_object *objects;   /* the objects of every chip, chip after chip */
    size_t nobjects, objects_cap;
} ek_unit_result;

/* One modality over one unit window (band-sequential planes). */
typedef struct ek_modality_buffers {
    unsigned char *data; /* composite (one image or a mosaic) */
    uint8_t *valid;
    uint8_t *cloud;     /* 1 where the pixel is masked (cloudy) */
    uint16_t *origin;   /* mosaic: acquisition index per pixel (0xffff: none) */
    unsigned char *acq; /* one acquisition */
    uint8_t *acq_valid;
    uint8_t *acq_cloud;
    uint8_t *part_valid; /* one part of an acquisition */
    unsigned char *raw;  /* the mask band's values */
    /* stacks: per chip slot of the unit */
    int *steps_done;
    int64_t *step_times; /* [slot * steps + s] */
    double *step_nodata; /* worst nodata share of the chosen steps */
    double *step_cloud;  /* worst masked share of the chosen steps */
} ek_modality_buffers;

/* Per worker: GDAL handles and buffers. */
typedef struct ek_worker {
    const ek_build *b;
    ek_reader *reader;
    ek_modality_buffers *mods; /* per modality */
    void *unit_labels;         /* labels->plane_type */
    void *unit_pair;           /* change: classes before and after (two planes) */
    void *unit_instances;      /* instance task: the ids over the unit window */
    unsigned char *label_raw;  /* raster labels: values before remapping */
    uint8_t *label_valid;
    uint8_t *chip_valid;  /* scratch: one chip's validity (required modalities) */
    uint64_t *chip_hist;  /* scratch: one chip's class histogram */
    uint32_t *chip_scene; /* scratch: one chip's scene numbers (scene labels) */
} ek_worker;

/* ---- setup.c ---- */

/*
** Set B up for RECIPE with OPT's region layer: plan, region tags, labels,
** mask polygons, splits and array descriptions. Every step polls OPT's
** cancel flag and stops with EODKIT_ERR_CANCELLED (nothing is written
** here). Free with ek_build_clear (also after a failure).
*/
int ek_build_setup(eodkit_ctx *ctx, const ek_recipe *recipe,
                   const eodkit_build_options *opt, ek_build *b /* OUT */);
void ek_build_clear(ek_build *b);

/* What the build's output depends on, as a SHA-256 hex digest: eodkit's
   version, the recipe text, and the name, size and modification time of
   every input file. A checkpoint or part is only reused when it matches. */
int ek_build_fingerprint(eodkit_ctx *ctx, const ek_build *b, char hex[65]);

/* ---- run.c ---- */

/* Worker threads that run work units: OPT's threads, or its remote workers
   when B reads remote inputs and they are more. */
int ek_unit_workers(const ek_build *b, const eodkit_build_options *opt);

/* Files of a run's folder that are not part of a dataset (the last, a
   part's completion marker). */
#define EK_JOURNAL_FILE ".eodkit-journal"
#define EK_CHECKPOINT_FILE ".eodkit-checkpoint.json"
#define EK_DONE_FILE ".eodkit-done.json"

/* Work units run into one folder: the chips' shards, their journal, and the
   checkpoint saying how far it got. */
typedef struct ek_run {
    char *dir;
    char fingerprint[65];
    size_t first_unit, end_unit; /* the units to build */
    size_t next_unit;            /* units [first_unit, next_unit) are written */
    int opened; /* the folder's files were opened (and cut back to a checkpoint) */
    uint64_t kept;
    uint64_t rejected[EK_REJECT_COUNT];
    ek_shards *shards; /* after the run: closed, with the chip counts */
} ek_run;

/*
** Build units [RUN->first_unit, RUN->end_unit) into folder RUN->dir (which
** exists) with OPT's threads, progress and cancel flag, shards of at most
** SHARD_BYTES. With RESUME, a checkpoint left there by a killed run of the
** same build (same fingerprint and units) is continued; a checkpoint of
** another build is an error; without one the run starts afresh. After the
** first unit, then at most once a second and when the run is cancelled, the
** chips are handed to the operating system and the checkpoint replaced, so
** a process killed at any point loses at most the last second of units. On
** success the shards are closed and the journal complete.
*/
int ek_run_units(eodkit_ctx *ctx, const ek_build *b, const eodkit_build_options *opt,
                 long long shard_bytes, int resume, ek_run *run);
void ek_run_clear(ek_run *run);

/*
** Read checkpoint PATH into RUN (next unit, counts), the chips per split
** into ROWS (one per split), the journal's length into *JOURNAL_BYTES and
** whether the run was complete into *COMPLETE. The checkpoint must have
** RUN's fingerprint and units, else EODKIT_ERR_INPUT naming PATH.
*/
int ek_run_load_checkpoint(eodkit_ctx *ctx, const ek_build *b, const char *path,
                           ek_run *run, int64_t *rows, int64_t *journal_bytes,
                           int *complete);

/*
** Mark RUN, a part whose units are all written (shards closed, journal
** complete), done: its completion marker (EK_DONE_FILE in RUN->dir) records
** RUN's fingerprint and units and the part's SUMMARY (not taken over). It
** is written aside and renamed into place, last.
*/
int ek_run_mark_done(eodkit_ctx *ctx, const ek_run *run, json_t *summary);

/*
** *SUMMARY (a new reference): the summary recorded by run folder RUN->dir's
** completion marker when it has one written by a run of RUN's fingerprint
** and units, else NULL (no marker, an unreadable one, or another build's).
*/
int ek_run_done(eodkit_ctx *ctx, const ek_run *run, json_t **summary);

/* Candidate chips of work units [FIRST, END). */
long long ek_run_candidates(const ek_plan *p, size_t first, size_t end);

/* The units of part I of N: contiguous ranges holding about equal numbers
   of candidate chips (a function of the plan alone). */
void ek_run_part_units(const ek_plan *p, int i, int n, size_t *first, size_t *end);

/* RUN's chips per split ({name: chips}) and rejected chips per reason
   ({reason: chips}, guard bands left out), for the summary and checkpoints. */
json_t *ek_run_splits_json(const ek_build *b, const ek_run *run);
json_t *ek_run_rejected_json(const ek_run *run);

/* ---- merge.c ---- */

/*
** Check that each of the N parts under folder PARTS is done (its completion
** marker has RUN's fingerprint) and add their counts to RUN. Otherwise the
** error lists every part that is not, by what keeps it from being merged
** (missing, being built, not finished, built from another recipe or other
** inputs) and says what to do: EODKIT_ERR_EXISTS when a part is being
** built (naming its holder's pid), else EODKIT_ERR_INPUT. Reads only.
*/
int ek_merge_check_parts(eodkit_ctx *ctx, const ek_build *b, const char *parts, int n,
                         ek_run *run);

/*
** Join the N done parts under folder PARTS (checked with
** ek_merge_check_parts) into RUN->dir, as one run over every unit would
** have written them.
*/
int ek_merge_parts(eodkit_ctx *ctx, const ek_build *b, const char *parts, int n,
                   ek_run *run);

/* Folder of part I of N under PARTS (allocated). */
char *ek_part_dir(eodkit_ctx *ctx, const char *parts, int i, int n);

/* ---- checksums.c ---- */

/* The input checksums of provenance.json, hashed on a thread of their own. */
typedef struct ek_checksums {
    const ek_build *b;
    pthread_t thread;
    int running;
    atomic_int stop;
    eodkit_ctx ctx; /* the thread's failure */
    int status;
    json_t *inputs;
} ek_checksums;

/* Start hashing every input of B (ek_provenance_inputs) on a thread beside
   the caller's THREADS workers when THREADS >= 2 (else ek_checksums_wait
   hashes); B must outlive the thread (ek_checksums_clear). */
int ek_checksums_start(eodkit_ctx *ctx, const ek_build *b, int threads,
                       ek_checksums *c /* OUT */);

/* The checksums, once hashed; *INPUTS borrows the list (valid until
   ek_checksums_clear). A hashing failure is copied into CTX. */
int ek_checksums_wait(eodkit_ctx *ctx, ek_checksums *c, json_t **inputs /* OUT */);

/* Stop hashing (between files) and wait for the thread if it still runs;
   free the list. Safe on a zeroed ek_checksums. */
void ek_checksums_clear(ek_checksums *c);

/* ---- finish.c ---- */

/*
** Turn the chips RUN wrote into a dataset in RUN->dir: index.gpkg from the
** journal, statistics of the training split from its shards (THREADS
** threads; the numbers do not depend on them), stats.json, collection.json,
** provenance.json (with the input checksums SUMS has been computing),
** recipe.yaml, then the audit. Removes the journal and the checkpoint.
** *FINDINGS receives the audit's verdict, bias indices and warnings for the
** build summary.
*/
int ek_finish(eodkit_ctx *ctx, const ek_build *b, const ek_run *run, int threads,
              ek_checksums *sums, json_t **findings /* OUT */);

/* ---- unit.c ---- */

int ek_worker_init(eodkit_ctx *ctx, const ek_build *b, ek_worker *w);
void ek_worker_clear(ek_worker *w);

/* Do work unit U (the pool's work function; STATE is an ek_worker). */
int ek_unit_run(void *state, eodkit_ctx *ctx, size_t u, void **result);

/* Copy chip window CW of the band-sequential BANDS planes of SRC (window UW
   of the grid, DSIZE bytes per value) to DST as (bands, height, width). */
void ek_cut_chip(unsigned char *dst, const unsigned char *src, const ek_window *uw,
                 const ek_window *cw, int bands, size_t dsize);

/* Shares of chip window CW (inside unit window UW) whose pixel is not VALID
   (*NODATA) and whose CLOUD mask is set (*CLOUDY); VALID and CLOUD cover UW. */
void ek_chip_shares(const uint8_t *valid, const uint8_t *cloud, const ek_window *uw,
                    const ek_window *cw, double *nodata, double *cloudy);

/* The class of a chip whose class histogram (N ids) is HIST, under labels
   LR: its most frequent labelled class (lowest id on ties), or the
   background when none is labelled. A classification chip's label, and a
   chip's group for sample.by: class. */
int ek_majority_class(const ek_labels_recipe *lr, const uint64_t *hist, int n);

/* Free a unit result (NULL is fine). */
void ek_unit_result_free(void *result);

/* The active chips of one unit on one grid. */
typedef struct ek_unit_view {
    size_t grid;
    ek_window window;        /* covers every active chip */
    const size_t *chip_ids;  /* active chips, slot order */
    const size_t *candidate; /* their candidate indices */
    size_t nchips;
} ek_unit_view;

/*
** Read modality M over the unit V into W's buffers: the composite (one
** image, or a time mosaic where clear pixels win over cloudy ones and newer
** over older) for M without a stack; for a stack, the chosen acquisitions
** straight into each chip's slot of RES (newest usable ones, oldest first),
** recording per-slot step times and nodata/cloud shares in W.
*/
int ek_read_modality(eodkit_ctx *ctx, ek_worker *w, size_t m, const ek_unit_view *v,
                     ek_unit_result *res);

#endif
