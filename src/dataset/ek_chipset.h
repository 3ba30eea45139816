/*
** Dataset: chip sets, what works on a built dataset's chips (eval, mosaic,
** preview, export): the chips of the chosen splits in prediction order
** from the chip table, their rows and objects read from the shards, and the
** dataset's classes.
*/
#ifndef EK_CHIPSET_H
#define EK_CHIPSET_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "core/ek_ctx.h"
#include "ek_chip_table.h"
#include "ek_npy.h"

/* ---- the chips of some splits  ---- */

typedef struct ek_chipset {
    char *dir;
    json_t *collection, *stats, *provenance;
    ek_chip_table *ix;      /* every chip of the index, in fid order */
    ek_dataset_grid *grids; /* the dataset's grids (strings in provenance) */
    size_t ngrids;
    int32_t *splits; /* the chosen splits (into ix->splits), in the order given */
    size_t nsplits;
    size_t *chips; /* into ix->chips: the chosen splits' chips in prediction order */
    size_t n;
} ek_chipset;

/*
** Open the dataset in folder DIR and select the chips of SPLITS (split names,
** comma-separated; NULL: the first split, or with EVERY every split in the
** collection's order): split after split in the order given, each in index
** (fid) order, which ek_dataset_read has checked is (shard, row) order. A
** folder that is not a dataset (or a damaged one, see ek_dataset_read), or a
** split it does not have, is EODKIT_ERR_INPUT naming the folder or the file.
** *OUT is newly allocated; free with ek_chipset_free (NULL is fine).
*/
int ek_chipset_open(eodkit_ctx *ctx, const char *dir, const char *splits, int every,
                    ek_chipset **out /* OUT */);
void ek_chipset_free(ek_chipset *cs);

/* The chosen splits as "train, val" into BUF of SIZE bytes (for messages). */
void ek_chipset_split_text(const ek_chipset *cs, char *buf, size_t size);

/* Reads chips' rows of one array ("label" or a modality) of a chip set,
   keeping the last shard open. */
typedef struct ek_shard_reader {
    const ek_chipset *cs;
    const char *array;
    size_t row_bytes; /* what collection.json says a row holds */
    ek_npy npy;
    char *path;
    int32_t split, shard; /* of the open file; -1: none */
} ek_shard_reader;

/* Start reading array ARRAY (rows of ROW_BYTES bytes) of CS with R. */
void ek_shard_reader_init(ek_shard_reader *r, const ek_chipset *cs, const char *array,
                          size_t row_bytes);

/* Read the row of chip CHIP (into CS->ix->chips) into BUF (R->row_bytes). A
   shard that is missing or whose rows differ from R->row_bytes is
   EODKIT_ERR_INPUT naming it. */
int ek_shard_reader_row(eodkit_ctx *ctx, ek_shard_reader *r, size_t chip, void *buf);
void ek_shard_reader_close(ek_shard_reader *r);

/* ---- the objects of chips: detection and instance datasets  ---- */

/* The per-object arrays a reader reads, in this order. */
enum {
    EK_OBJ_BOXES,
    EK_OBJ_OBB,
    EK_OBJ_CLASS,
    EK_OBJ_ID,
    EK_OBJ_VISIBLE,
    EK_OBJ_TRUNCATED,
    EK_OBJ_ARRAYS
};

/* One chip's objects (doc/format.md): arrays of N entries. */
typedef struct ek_chip_objects {
    size_t n, cap;
    float *boxes;       /* 4 per object: x_min, y_min, x_max, y_max (pixels) */
    float *obb;         /* 8 per object (oriented datasets), else unused */
    int32_t *cls;       /* class ids */
    uint32_t *ids;      /* object ids (the instance mask's values) */
    float *visible;     /* share of the object inside the chip */
    uint8_t *truncated; /* 1: cut by the chip's edge */
} ek_chip_objects;

/* Reads the objects of a chip set's chips, keeping the last shard open. */
typedef struct ek_object_reader {
    const ek_chipset *cs;
    int oriented;           /* the dataset has "obb" */
    ek_shard_reader ranges; /* box_range */
    ek_npy npy[EK_OBJ_ARRAYS];
    char *path[EK_OBJ_ARRAYS];
    int32_t split, shard; /* of the open files; -1: none */
} ek_object_reader;

/*
** Start reading the objects of CS with R. A dataset whose task has no
** objects (not detection or instance) is EODKIT_ERR_INPUT naming CS's
** folder. Close with ek_object_reader_close (also after a failure).
*/
int ek_object_reader_init(eodkit_ctx *ctx, ek_object_reader *r, const ek_chipset *cs);

/* The objects of chip CHIP (into CS->ix->chips) into OUT (its arrays grown
   as needed), from the shards ek_dataset_read checked when CS was opened
   (rows a file changed since lacks are EODKIT_ERR_INPUT naming it). */
int ek_object_reader_chip(eodkit_ctx *ctx, ek_object_reader *r, size_t chip,
                          ek_chip_objects *out);
void ek_object_reader_close(ek_object_reader *r);
void ek_chip_objects_free(ek_chip_objects *o);

/* The instance id at pixel PX of a chip's "instance" row ROW, whose ids take
   SIZE bytes (2: uint16, 4: uint32). */
static inline uint32_t ek_instance_id(const unsigned char *row, int size, size_t px)
{
    uint16_t v16;
    uint32_t v32;

    if (size == 4) {
        memcpy(&v32, row + px * 4, 4);
        return v32;
    }
    memcpy(&v16, row + px * 2, 2);
    return v16;
}

/* ---- the dataset's classes  ---- */

/* Entries of ek_classes.lut other than a class index. */
#define EK_CLASS_NONE (-1)    /* not an id the dataset knows */
#define EK_CLASS_IGNORED (-2) /* the ignore index */

typedef struct ek_classes {
    const char *task; /* "segmentation", "classification", "multilabel", "detection",
                         "instance", "change" */
    int change;       /* task change: a change mask, class 1 the change */
    int multilabel;   /* one yes/no per class and chip */
    int per_pixel;    /* segmentation, instance, change: a "label" value per pixel */
    int objects;      /* detection, instance: boxes per chip */
    int64_t h, w;     /* label chip size (1 x 1 for per-chip labels) */
    ek_npy_type label_type; /* of the label shards: uint8 or uint16 */
    size_t label_bytes;     /* of one chip's label row in the shards */
    size_t k;               /* classes scored */
    int32_t *ids;           /* their ids: ascending with the background among them,
                               or for multilabel collection.json's order */
    const char **names;     /* their names (strings in the collection) */
    int32_t background;     /* id, or -1 for multilabel */
    int32_t ignore;         /* ignore index, or -1 */
    int32_t max_id;         /* the largest class or background id */
    int32_t *lut;           /* id (0 .. nlut-1) -> class index, or EK_CLASS_* */
    size_t nlut;
} ek_classes;

/*
** The classes of the label described by COLLECTION (collection.json) of the
** dataset in DIR: the background is a class like the others, the ignore
** index none. A dataset without class labels (no labels, or a regression
** task) is EODKIT_ERR_INPUT naming DIR. Release with ek_classes_clear.
*/
int ek_classes_read(eodkit_ctx *ctx, const json_t *collection, const char *dir,
                    ek_classes *out /* OUT */);
void ek_classes_clear(ek_classes *cl);

#endif
