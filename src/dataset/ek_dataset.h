/*
** Dataset: a built dataset opened for reading and checked (the C side's
** counterpart of python/eodkit). Every command that works on finished
** datasets (info, audit, eval, mosaic, preview, catalog register) starts
** from ek_dataset_read, which refuses a dataset whose files do not say what
** doc/format.md promises ("What readers check") before anything reads a chip.
*/
#ifndef EK_DATASET_H
#define EK_DATASET_H

#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "eodkit/dataset.h"
#include "core/ek_ctx.h"
#include "ek_npy.h"

/* The most objects a chip can hold: one per object id (doc/format.md). */
#define EK_MAX_OBJECTS ((int64_t)UINT32_MAX)

/* An array every split holds: a modality, or a label array (doc/format.md,
   "Labels per task"). */
typedef struct ek_dataset_array {
    const char *name;  /* a string of the collection */
    const char *dtype; /* its NumPy name ("uint8") */
    ek_npy_type type;
    int64_t shape[EK_NPY_MAX_DIMS - 1]; /* of one row: a chip, or an object */
    int ndim;
    int per_object; /* one row per object of the shard's chips, not per chip */
    int ranges;     /* box_range: where each chip's objects are */
} ek_dataset_array;

/* A split: what collection.json says, and the shards index.gpkg lays out. */
typedef struct ek_dataset_split {
    const char *name;     /* a key of the collection's eodkit:splits */
    int64_t chips;        /* in collection.json */
    int64_t shards;       /* in collection.json */
    int64_t *shard_chips; /* chips of each shard, from the index */
    size_t nshards;       /* shards the index uses */
    size_t cap;
    int64_t *objects; /* tasks with objects: each chip's, from the index */
    size_t nchips, objects_cap;
} ek_dataset_split;

struct eodkit_dataset {
    char *path;
    json_t *collection, *stats, *provenance;
    ek_dataset_array *arrays; /* the modalities, then the label arrays */
    size_t narrays;
    int has_objects;          /* a task with objects: box_range, the index's objects */
    ek_dataset_split *splits; /* in collection.json's order */
    size_t nsplits;
    long long bytes; /* all files of the dataset */
    int files;
};

typedef struct eodkit_dataset ek_dataset;

/*
** The dataset in folder PATH, checked, without counting its files (bytes
** and files stay 0; eodkit_dataset_open counts them): collection.json,
** stats.json and provenance.json (JSON objects; the collection one eodkit
** wrote), index.gpkg (every chip in a split of the collection, in (shard,
** row) order, as many as the collection says) and the header of every
** shard (the collection's dtype, the index's rows). A folder marked as an
** unfinished build is refused unless UNFINISHED (the audit a build runs
** before it renames its folder into place). Whatever is wrong is
** EODKIT_ERR_INPUT naming the file (EODKIT_ERR_IO when a file cannot be
** read). Close with eodkit_dataset_close.
*/
int ek_dataset_read(eodkit_ctx *ctx, const char *path, int unfinished,
                    ek_dataset **out /* OUT */);

/*
** The arrays and splits DS->collection describes (DS->path names the
** dataset in messages): eodkit:modalities with their name, dtype and chip
** shape, eodkit:label with the label arrays of its task (each with the
** per, dtype and shape doc/format.md gives it), and eodkit:splits with
** chips and shards. A collection without them is EODKIT_ERR_INPUT naming
** collection.json.
*/
int ek_dataset_describe(eodkit_ctx *ctx, ek_dataset *ds);

/*
** Read the chip layout of index DB (opened from PATH) into DS's splits
** (described by ek_dataset_describe): in fid order, each chip's split must
** be text naming one of DS's splits, its shard and row integers, and the
** chips of a split must fill shards 0, 1, ... row after row from row 0, as
** many chips and shards as collection.json says; for tasks with objects,
** each chip's objects count must be an integer too (kept in the split).
** EODKIT_ERR_INPUT naming PATH (and the chip's fid) otherwise.
*/
int ek_dataset_read_index(eodkit_ctx *ctx, ek_dataset *ds, sqlite3 *db,
                          const char *path);

/*
** Check shard NF (opened from PATH) of array A holding ROWS chips: A's
** element type, shape (ROWS, <A's chip shape>). EODKIT_ERR_INPUT naming PATH
** otherwise.
*/
int ek_dataset_check_shard(eodkit_ctx *ctx, const ek_dataset_array *a, int64_t rows,
                           const ek_npy *nf, const char *path);

/*
** Check the rows of box_range shard NF (opened from PATH, its header
** checked by ek_dataset_check_shard): each chip's objects follow the
** previous chip's from row 0 of the per-object arrays, 0 to EK_MAX_OBJECTS
** of them, as many as OBJECTS (the index's, one per row) says (NULL: not
** compared). *TOTAL receives the objects of the shard: the rows of its
** per-object arrays. EODKIT_ERR_INPUT naming PATH otherwise.
*/
int ek_dataset_check_ranges(eodkit_ctx *ctx, ek_npy *nf, const char *path,
                            const int64_t *objects, int64_t *total /* OUT */);

/* The JSON file NAME of the dataset in folder DIR, parsed; NULL with the
   error in CTX (EODKIT_ERR_INPUT naming DIR when the file is missing, the
   file with line:column when it is not JSON; EODKIT_ERR_NOMEM). */
json_t *ek_dataset_load_json(eodkit_ctx *ctx, const char *dir, const char *name);

/* DOC (its reference taken; NULL means out of memory) as indented JSON text
   with a final newline, newly allocated in *TEXT (free with eodkit_free);
   real numbers with PRECISION significant digits (0: jansson's default,
   17). The text every command prints or returns as JSON. */
int ek_json_text(eodkit_ctx *ctx, json_t *doc, int precision, char **text /* OUT */);

#endif
