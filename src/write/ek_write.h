/*
** Write: the dataset on disk (doc/format.md): .npy shards per split and
** array, the chip index (GeoPackage), stats.json, collection.json (STAC),
** provenance. Everything is written into a temporary folder that is renamed
** into place only when complete.
*/
#ifndef EK_WRITE_H
#define EK_WRITE_H

#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "grid/ek_plan.h"
#include "label/ek_label.h"
#include "regions/ek_regions.h"
#include "split/ek_split.h"
#include "stats/ek_stats.h"

/* ---- the output folder ---- */

/* What eodkit writes in an output folder: a dataset (build, merge) or an
   export (eodkit export); an existing folder is replaced only when it
   holds one of the same. */
typedef struct ek_output_kind {
    const char *what;              /* "an eodkit dataset", for messages */
    int (*holds)(const char *dir); /* nonzero when folder DIR holds one */
    const char *mark; /* a file its unfinished work carries from the start,
                         so other work (a killed build that --resume would
                         continue) is never cleared for it; NULL: none */
} ek_output_kind;

/* Datasets (ek_output_is_dataset). */
extern const ek_output_kind ek_output_datasets;

/* An output being written: locked, in FINAL.partial/ (doc/scaling.md). */
typedef struct ek_output {
    char *final; /* where the output must appear */
    char *tmp;   /* where it is written: FINAL + ".partial"; NULL once committed */
    int lock;    /* the lock file's descriptor (ek_fs_lock), -1 when not held */
    const ek_output_kind *kind; /* what it is */
} ek_output;

/*
** Lock the partial folder of output folder FINAL (to hold KIND) for this
** process, creating it (marked as eodkit's) when missing, before anything
** else is created or removed: a partial folder in use by another process is
** EODKIT_ERR_EXISTS naming its pid (nothing touched); one that eodkit did
** not make is refused. Release with ek_output_release (also after a
** failure).
*/
int ek_output_lock(eodkit_ctx *ctx, const char *final, const ek_output_kind *kind,
                   ek_output *out /* OUT */);

/*
** With the lock held, prepare to build: put back an output a killed
** replacement left aside, refuse an existing FINAL unless OVERWRITE (and
** even then unless it holds OUT's kind or is empty), remove what a killed
** replacement left, and clear the partial folder of an earlier build unless
** KEEP (to continue it). When OUT's kind has a mark, work in the partial
** folder without it is refused (EODKIT_ERR_EXISTS), never cleared, and the
** cleared folder gets the mark.
*/
int ek_output_begin(eodkit_ctx *ctx, ek_output *out, int overwrite, int keep);

/* Nonzero when OUT's partial folder holds anything but eodkit's marks. */
int ek_output_holds_work(const ek_output *out);

/*
** Put the finished output in the partial folder in place at FINAL
** (replacing the one there only with OVERWRITE, as ek_output_begin
** checked): in one atomic exchange where the kernel allows, so FINAL never
** stops existing; then remove the partial folder with the replaced output.
** Crash points "commit" (moved aside), "replace" (between the two renames
** where exchanging is not possible), "replaced" / "placed" (in place).
*/
int ek_output_commit(eodkit_ctx *ctx, ek_output *out, int overwrite);

/* Remove the build in OUT's partial folder (after a failure that makes it
   worthless), keeping the folder, its mark and the lock. */
void ek_output_discard(ek_output *out);

/* Release OUT's lock and strings. The partial folder is removed unless KEEP
   (then only when it holds nothing but eodkit's marks). */
void ek_output_release(ek_output *out, int keep);

/* Nonzero when folder DIR holds an eodkit dataset. */
int ek_output_is_dataset(const char *dir);

/* ---- .npy shards ---- */

/* One array of a split's shards: a modality, or a label array. Most hold
   one row per chip; per-object arrays hold one row per object (box) of the
   shard's chips, chip after chip, and the ranges array says which rows
   belong to each chip. */
typedef struct ek_array_desc {
    const char *name; /* file name prefix: "<split>/<name>-NNNNN.npy" */
    GDALDataType dtype;
    int ndim;          /* dimensions per row (0 for one value per row) */
    int64_t shape[4];  /* per row */
    size_t chip_bytes; /* bytes per row (a chip, or an object) */
    int per_object;    /* one row per object, not per chip */
    int ranges;        /* int64 [first object row, objects] per chip, filled by the
                          writer */
} ek_array_desc;

typedef struct ek_shards ek_shards;

/*
** Shard writer for NARRAYS arrays over NSPLITS splits under folder DIR.
** Every shard holds at most SHARD_BYTES per array (at least one chip); all
** arrays of a split break into shards at the same chips.
*/
int ek_shards_new(eodkit_ctx *ctx, const char *dir, const ek_array_desc *arrays,
                  size_t narrays, char *const *split_names, size_t nsplits,
                  long long shard_bytes, ek_shards **shards /* OUT */);

/* Append one chip with NOBJECTS objects to split S: DATA[a] holds
   chip_bytes of array a, or NOBJECTS rows of a per-object array (the ranges
   array's DATA is not read). *SHARD and *ROW say where it went. */
int ek_shards_append(eodkit_ctx *ctx, ek_shards *shards, int s, const void *const *data,
                     size_t nobjects, int *shard, int64_t *row);

/* Hand every appended chip to the operating system (a process killed after
   this loses none of them). */
int ek_shards_flush(eodkit_ctx *ctx, ek_shards *shards);

/*
** Continue writing shards a killed build left in the writer's folder: split
** s holds TOTALS[s] chips (as a checkpoint recorded). Shard files are cut
** back to those chips (per-object arrays to those chips' objects, as the
** ranges array records them) and later shards removed, so appending
** continues as if the build had never stopped. Call right after
** ek_shards_new.
*/
int ek_shards_resume(eodkit_ctx *ctx, ek_shards *shards, const int64_t *totals);

/* Finish every open shard (final headers). Then free with ek_shards_free. */
int ek_shards_close(eodkit_ctx *ctx, ek_shards *shards);
void ek_shards_free(ek_shards *shards);

/* Chips written to split S, the number of its shards, and the chips of
   every shard but the last. */
int64_t ek_shards_count(const ek_shards *shards, int s);
int ek_shards_files(const ek_shards *shards, int s);
int64_t ek_shards_rows_per_shard(const ek_shards *shards);

/* Bytes of the .npy header eodkit writes for DESC (data starts there). */
size_t ek_npy_header_bytes(const ek_array_desc *desc);

/* Path of shard K of array DESC in split folder SPLIT under DIR (allocated). */
char *ek_shard_path(eodkit_ctx *ctx, const char *dir, const char *split,
                    const ek_array_desc *desc, int k);

/* Write a whole .npy file PATH holding N rows of DESC. */
int ek_npy_write(eodkit_ctx *ctx, const char *path, const ek_array_desc *desc,
                 int64_t n, const void *data);

#endif

/* ---- the chip index (index.gpkg, layer "chips") ---- */

typedef struct ek_index ek_index;

typedef struct ek_index_row {
    int64_t chip_id;
    int split;
    int shard;
    int64_t row;
    const ek_grid *grid; /* the chip's grid */
    ek_window window;    /* on that grid */
    double nodata_frac;
    double labeled_frac;
    double cloud_frac;      /* < 0: no mask */
    const char *class_hist; /* JSON object {"class id": pixels}, or NULL */
    int objects; /* objects (boxes) of the chip, -1: not a task with objects */
    const char *object_hist; /* JSON object {"class id": objects}, or NULL */
    int label;               /* classification label, or -1 */
    int64_t block;           /* split block, or -1 */
    int region;              /* index into the region layer, or -1 (sea, or no layer) */
    double region_share;     /* the share of the chip's footprint in it */
    const char *sources;     /* JSON object {"modality": [input indices]} */
    const char *present; /* JSON object {"modality": 0|1} of optional ones, or NULL */
    const char *times;   /* JSON object {"modality": [ISO times]}, or NULL */
    int64_t earliest;    /* first and last acquisition time used, */
    int64_t latest;      /* or INT64_MAX and INT64_MIN */
} ek_index_row;

/* Create index file PATH for the chips of plan P; SPLIT_NAMES name the
   splits; REGIONS (may be NULL) supplies country/continent tags. */
int ek_index_create(eodkit_ctx *ctx, const char *path, const ek_plan *p,
                    char *const *split_names, size_t nsplits, ek_regions *regions,
                    ek_index **index /* OUT */);

/* Add one chip (called in commit order). */
int ek_index_add(eodkit_ctx *ctx, ek_index *index, const ek_index_row *row);

/* Lon/lat bounds (west, south, east, north) of the chips of split S, or of
   all chips when S < 0. Return 0 when there are none. */
int ek_index_bbox(const ek_index *index, int s, double bbox[4] /* OUT */);

/* First and last acquisition time of the chips of split S, or of all chips
   when S < 0. Return 0 when no chip has a time. */
int ek_index_time_range(const ek_index *index, int s, int64_t *first, int64_t *last);

/* Chips written per region index (N = regions + 1; the last counts chips
   outside every region). NULL without a region layer. */
const uint64_t *ek_index_region_chips(const ek_index *index, size_t *n);

/* On a reference grid (grid.system): the cell ids of the chips written
   (sorted once the index is closed) into *CELLS, owned by INDEX; how many.
   0 without a system. */
size_t ek_index_cells(const ek_index *index, char *const **cells /* OUT */);

/* Commit and close the file. Then free with ek_index_free. */
int ek_index_close(eodkit_ctx *ctx, ek_index *index);
void ek_index_free(ek_index *index);

/* ---- the chip journal (index rows in commit order, see journal.c) ---- */

/* The layout of its records; part of a build's fingerprint, so that a
   checkpoint of an eodkit writing another layout is never resumed. */
#define EK_JOURNAL_LAYOUT 2

typedef struct ek_journal ek_journal;

/* Open journal PATH for appending: a new, empty one when KEEP is 0, else the
   existing file cut back to its first KEEP bytes (a checkpoint's). */
int ek_journal_open(eodkit_ctx *ctx, const char *path, int64_t keep,
                    ek_journal **journal /* OUT */);

/* Append row R (its grid, window, block and region are not stored: they
   follow from the chip id). */
int ek_journal_add(eodkit_ctx *ctx, ek_journal *journal, const ek_index_row *r);

/* Bytes in the journal so far, and handing them to the operating system. */
int64_t ek_journal_bytes(const ek_journal *journal);
int ek_journal_flush(eodkit_ctx *ctx, ek_journal *journal);

/* Open journal PATH for reading from the start. */
int ek_journal_read_open(eodkit_ctx *ctx, const char *path,
                         ek_journal **journal /* OUT */);

/* The next row into *R (*GOT = 1), or *GOT = 0 at the end. R's strings
   belong to JOURNAL and last until the next call. */
int ek_journal_next(eodkit_ctx *ctx, ek_journal *journal, ek_index_row *r, int *got);

/* Close and free (NULL is fine). */
int ek_journal_close(eodkit_ctx *ctx, ek_journal *journal);

/* ---- metadata: stats.json, collection.json (+ items), provenance.json ---- */

#define EK_NPCT 5
extern const double ek_percentile_levels[EK_NPCT]; /* 1, 2, 50, 98, 99 */

typedef struct ek_band_stats {
    uint64_t count; /* pixels of training chips */
    ek_moments m;   /* over the valid ones */
    double pct[EK_NPCT];
} ek_band_stats;

/* What a finished build knows, for the metadata writers. */
typedef struct ek_dataset_facts {
    const ek_recipe *recipe;
    const ek_plan *plan;
    const ek_labels *labels; /* NULL without labels */
    const ek_split *split;
    const ek_array_desc *arrays; /* modalities in recipe order, then "label" */
    size_t narrays;
    const ek_shards *shards;
    const ek_index *index;
    const ek_regions *regions;  /* NULL without a region layer */
    int train;                  /* the split the statistics describe */
    ek_band_stats **band_stats; /* [modality][band] */
    uint64_t **class_pixels;    /* [split][class id], NULL without labels */
    uint64_t **class_chips;     /* [split][class id]: chips holding the class */
    uint64_t **label_chips;     /* [split][class id]: classification labels, or NULL */
    uint64_t **class_objects;   /* [split][class id]: objects (boxes), or NULL */
    const ek_band_stats *target_stats; /* regression: the target's, else NULL */
    json_t *inputs; /* provenance's input files (ek_provenance_inputs) */
    json_t *sample; /* provenance's "sample" (ek_sample_json), or NULL */
} ek_dataset_facts;

/* The classes present in the dataset (background excluded): the declared
   ones, or for a label raster without a class map, the ids that occur.
   Release with ek_facts_classes_free. */
int ek_facts_classes(eodkit_ctx *ctx, const ek_dataset_facts *f, ek_class **classes,
                     size_t *n);
void ek_facts_classes_free(const ek_dataset_facts *f, ek_class *classes, size_t n);

/* {"modality": {"name", "code", "wkt2"}} for the modalities of P whose values
   have a vertical CRS (heights), or NULL when none has. */
json_t *ek_vertical_json(const ek_plan *p);


int ek_write_stats(eodkit_ctx *ctx, const char *dir, const ek_dataset_facts *f);
int ek_write_stac(eodkit_ctx *ctx, const char *dir, const ek_dataset_facts *f);
int ek_write_provenance(eodkit_ctx *ctx, const char *dir, const ek_dataset_facts *f);

/* One input file of a build: its ROLE ("modality", "rpc_dem", "mask",
   "labels", "aoi" or "regions"), what it is OF (the modality, the region
   field, or NULL) and its PATH (a GDAL name). Nonzero stops the walk and is
   returned. */
typedef int (*ek_input_fn)(void *arg, const char *role, const char *of,
                           const char *path);

/* Call FN for every file a build reads, in a fixed order: per modality its
   sources, its RPC DEM, then its mask polygons, the labels, the AOI, the
   region layer.
   The build's fingerprint and provenance.json both list inputs this way. */
int ek_for_each_input(const ek_recipe *r, const ek_plan *p, const ek_regions *regions,
                      ek_input_fn fn, void *arg);

/*
** The "inputs" list of provenance.json into *INPUTS (new reference): role,
** of, path, size and SHA-256 of every file the build reads
** (ek_for_each_input), with the side files GDAL lists for them; remote
** inputs get their size, ETag and Last-Modified instead of a SHA-256 (from
** a HEAD request: never downloaded whole). Hashing reads every local file
** whole, so builds run this on a thread of its own; it gives up with
** EODKIT_ERR_CANCELLED once *STOP is set (checked between files).
*/
int ek_provenance_inputs(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                         const ek_regions *regions, const atomic_int *stop,
                         json_t **inputs);
