/*
** Eval: what works on a built dataset's chips together with a model's
** predictions (eval, mosaic) or on the chips alone (preview). The chips of
** the chosen splits in prediction order, their rows in the shards, the
** dataset's classes, the prediction array, and the metrics and bootstrap.
*/
#ifndef EK_EVAL_H
#define EK_EVAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "audit/ek_audit.h"
#include "core/ek_ctx.h"
#include "dataset/ek_dataset.h"
#include "dataset/ek_npy.h"
#include "eodkit/eval.h"
#include "eodkit/mosaic.h"

/* ---- the chips of some splits (chipset.c) ---- */

typedef struct ek_chipset {
    char *dir;
    json_t *collection, *stats, *provenance;
    ek_audit_index *ix;   /* every chip of the index, in fid order */
    ek_audit_grid *grids; /* the dataset's grids (strings in provenance) */
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

/* ---- the objects of chips: detection and instance datasets (chipset.c) ---- */

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

/* ---- the dataset's classes (chipset.c) ---- */

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

/* Colour of class I of CL in the sheets and colour tables eodkit draws:
   black for the background, else ek_class_palette in class order. */
void ek_classes_colour(const ek_classes *cl, size_t i, unsigned char rgb[3]);

/* ---- the prediction array (pred.c) ---- */

typedef struct ek_pred {
    char *path;
    ek_npy npy;
    int64_t n;        /* rows: one per chip */
    int64_t channels; /* values per pixel (K), 1 for class ids */
    int64_t h, w;     /* pixels per chip; 1 x 1: one value per chip */
    int is_float;
    unsigned char *row; /* the row last read */
} ek_pred;

/*
** Open prediction array PATH, which must hold one row per chip of CS (shapes
** (n,), (n, K), (n, H, W) or (n, K, H, W)); H x W must be the chip size.
** Wrong shapes are EODKIT_ERR_INPUT naming PATH and what was expected.
** Release with ek_pred_close, also after a failure.
*/
int ek_pred_open(eodkit_ctx *ctx, const char *path, const ek_chipset *cs,
                 ek_pred *p /* OUT */);
void ek_pred_close(ek_pred *p);

/* Read row I (the I-th chip of the chip set) into P->row. */
int ek_pred_read(eodkit_ctx *ctx, ek_pred *p, int64_t i);

/* Value of channel C at pixel PIX (y * w + x) of the row last read. */
double ek_pred_value(const ek_pred *p, int64_t c, int64_t pix);

/* Report that row ROW of P predicts VALUE, which is not a class id of CL:
   EODKIT_ERR_INPUT naming P's file, the row and the ids there are. */
int ek_pred_bad_class(eodkit_ctx *ctx, const ek_pred *p, const ek_classes *cl,
                      int64_t row, double value);

/* "(8, 32, 32) float32": P's shape and element type, into BUF. */
void ek_pred_describe(const ek_pred *p, char *buf, size_t size);

/* ---- COCO's detection metrics (coco_eval.c) ---- */

#define EK_COCO_IOUS 10 /* IoU thresholds .50, .55, ..., .95 */
#define EK_COCO_ALL_IOUS 0x3ff
#define EK_COCO_RECALLS 101 /* recall points 0, .01, ..., 1 */
#define EK_COCO_AREAS 4     /* area ranges: all, small, medium, large */
#define EK_COCO_MAXDET 100  /* detections per chip and class */

/* The area ranges [low, high] (pixels), in EK_COCO_AREAS order. */
extern const double ek_coco_area_range[EK_COCO_AREAS][2];

/* IoU threshold T and recall point R, exactly as numpy.linspace makes them
   (pycocotools' iouThrs and recThrs). */
double ek_coco_iou_threshold(int t);
double ek_coco_recall_point(int r);

/* IoU of boxes D and G ([x, y, width, height]), as pycocotools' bbIou. */
double ek_coco_box_iou(const double d[4], const double g[4]);

/* The N SCORES' positions by score, highest first, equal scores in their
   order, into ORDER (N entries). */
int ek_coco_order(eodkit_ctx *ctx, const double *scores, size_t n, size_t *order);

/* COCO's evaluation of one chip and class (evaluateImg), for every area
   range: its detections (at most EK_COCO_MAXDET, highest score first) and
   which of them match a ground truth or are ignored, per IoU threshold. */
typedef struct ek_coco_img {
    size_t nd;
    double *scores;    /* nd */
    uint16_t *matched; /* [area * nd + d]: bit t set when matched at threshold t */
    uint16_t *ignored; /* [area * nd + d]: bit t set when it does not count */
    size_t npig[EK_COCO_AREAS]; /* ground truths in each area range */
} ek_coco_img;

/*
** Evaluate ND detections (SCORES, highest first, with DT_AREA) against NG
** ground truths (GT_AREA) whose overlaps are IOU[d * NG + g] into *OUT
** (release with ek_coco_img_clear): per threshold, each detection in turn
** takes the unmatched ground truth of highest IoU at or above the
** threshold, ground truths outside the area range only when no in-range
** one is left; unmatched detections outside the range are ignored.
*/
int ek_coco_evaluate(eodkit_ctx *ctx, const double *iou, size_t nd, size_t ng,
                     const double *scores, const double *dt_area, const double *gt_area,
                     ek_coco_img *out /* OUT */);
void ek_coco_img_clear(ek_coco_img *img);

/*
** COCO's accumulate for area range A and MAXDET detections per chip over
** the N evaluations IMGS of one class (in chip order): PRECISION[t *
** EK_COCO_RECALLS + r], the interpolated precision at recall point r, and
** RECALL[t], the recall reached; -1 when nothing is to be found (no
** ground truth in range).
*/
int ek_coco_accumulate(eodkit_ctx *ctx, const ek_coco_img *const *imgs, size_t n, int a,
                       int maxdet, double *precision /* OUT */,
                       double *recall /* OUT */);

/* Mean of the N values VALUES[i * STRIDE] above -1 (COCO's summarize), or
   -1 when there are none. */
double ek_coco_mean(const double *values, size_t n, size_t stride);

/* COCO's compressed RLE string S as run lengths (*COUNTS, newly allocated,
 *N of them); -1 when S is not one. */
int ek_coco_rle_string(eodkit_ctx *ctx, const char *s, int64_t **counts, size_t *n);

/* Run lengths COUNTS (column-major, from 0s) as an H x W row-major MASK of
   0 and 1; -1 when they do not add up to H x W. */
int ek_coco_rle_mask(const int64_t *counts, size_t n, int64_t h, int64_t w,
                     uint8_t *mask);

/* A chip id and a position in a chip set: sorted by id, a lookup table. */
typedef struct ek_chip_key {
    int64_t id;
    size_t at;
} ek_chip_key;

/* qsort/bsearch order of ek_chip_key: by id. */
int ek_chip_key_compare(const void *a, const void *b);

/* ---- detections in COCO's results format (detections.c) ---- */

typedef struct ek_detection {
    size_t chip;    /* into the chip set */
    size_t cls;     /* class index into ek_detections.ids */
    size_t order;   /* position in the file */
    double bbox[4]; /* x, y, width, height: pixels of the chip */
    double score;
    double area;                /* pixels of the box, or of the mask */
    const json_t *segmentation; /* RLE (when masks are read), in the document */
} ek_detection;

typedef struct ek_detections {
    json_t *doc;
    ek_detection *dets; /* by chip, then class, then file order */
    size_t n;
    size_t k;           /* classes of objects (the background left out) */
    int32_t *ids;       /* their ids */
    const char **names; /* their names (strings of the classes read) */
    size_t *cls_of;     /* class id -> class index + 1 (0: not a class) */
    size_t ncls_of;
} ek_detections;

/*
** Read the detections of file PATH for the chips CS of a dataset with
** classes CL (doc/cmd/eval.md gives the format); with MASKS each needs a
** COCO RLE "segmentation" of H x W pixels. Every entry is checked:
** EODKIT_ERR_INPUT names PATH, the entry and what is wrong. Free with
** ek_detections_free (also after a failure).
*/
int ek_detections_read(eodkit_ctx *ctx, const char *path, const ek_chipset *cs,
                       const ek_classes *cl, int masks, int64_t h, int64_t w,
                       ek_detections *out /* OUT */);
void ek_detections_free(ek_detections *d);

/* The mask of detection X (read with MASKS) into MASK, H x W of 0 and 1. */
int ek_detection_mask(eodkit_ctx *ctx, const ek_detection *x, int64_t h, int64_t w,
                      uint8_t *mask);

/* ---- detections (detect.c) ---- */

/*
** eodkit_eval of the COCO results file PRED_PATH against the objects of the
** chips CS (a detection or instance dataset with classes CL), with OPT's
** defaults filled in; *REPORT_JSON as eodkit_eval returns it.
*/
int ek_detect_eval(eodkit_ctx *ctx, const ek_chipset *cs, const ek_classes *cl,
                   const char *pred_path, const eodkit_eval_options *opt,
                   char **report_json /* OUT */);

/* eodkit_mosaic of the detections in PRED_PATH on the chips CS of a
   detection or instance dataset with classes CL (mosaic_boxes.c). */
int ek_mosaic_detections(eodkit_ctx *ctx, const ek_chipset *cs, const ek_classes *cl,
                         const char *pred_path, const char *out_path,
                         const eodkit_mosaic_options *opt, char **summary_json);

/* ---- groups and spatial blocks (groups.c) ---- */

typedef struct ek_groups {
    ek_names keys;                    /* group names, in order of appearance */
    ek_names block_keys;              /* the spatial blocks' keys */
    int32_t *chip_group, *chip_block; /* per chip of the set */
    size_t *chip_unit;                /* per chip: its (group, block) unit */
    size_t nunits;
    size_t *identity;        /* 0, 1, 2, ...: the units of groups point into it */
    size_t ngroups;          /* in report order: */
    const char **names;      /* their names (strings owned by keys) */
    const size_t **units_of; /* their units (a run of unit numbers) */
    size_t *nunits_of;
    int blocks_from_index, blocks_from_lattice;
} ek_groups;

/*
** Group the chips of CS by BY ("continent", "country", "region", "block",
** "split", or NULL for one group "all") and give each its spatial block:
** the index's block, else the square of BLOCK_CHIPS x BLOCK_CHIPS lattice
** positions of its grid (doc/cmd/eval.md). Groups come in report order:
** splits as given, other names sorted (whole numbers by value). Release
** with ek_groups_clear.
*/
int ek_groups_make(eodkit_ctx *ctx, const ek_chipset *cs, const char *by,
                   int block_chips, ek_groups *g /* OUT */);
void ek_groups_clear(ek_groups *g);

/* Where G's blocks came from: "index", "lattice" or "index+lattice". */
const char *ek_groups_source(const ek_groups *g);

/* The best and the worst of NGROUPS values (VALUES[i * STRIDE], NaN left
   out; the worst is the last of equal ones), or -1 when all are NaN. */
void ek_groups_rank(const double *values, size_t ngroups, size_t stride, int *best,
                    int *worst);

/* ---- text in images (font.c) ---- */

#define EK_FONT_ADVANCE 6 /* pixels from one character to the next */
#define EK_FONT_HEIGHT 7

/* Pixels TEXT (UTF-8) takes across when drawn with ek_font_draw. */
int ek_font_width(const char *text);

/* Draw TEXT into the W x H RGB image IMG with its top-left corner at X, Y
   in colour RGB, clipped to the image: the built-in 5 x 7 font, lower case
   in capitals, characters it lacks as '?'. */
void ek_font_draw(unsigned char *img, int w, int h, int x, int y, const char *text,
                  const unsigned char rgb[3]);

/* ---- metrics (metrics.c) ---- */

/*
** Sums behind every metric, for K classes: EK_SUMS(K) values (counts, held
** as doubles: exact below 2^53) laid out
** as tp[K], truth[K], pred[K], total. Multiclass: per class the correct
** pixels (or chips), those whose truth is the class, those predicted as it,
** and everything scored. Multilabel: per class the true positives, the
** chips holding it, the chips predicted to, and the chips scored. Sums of
** blocks add up to the sums of their union, which makes the bootstrap cheap.
*/
#define EK_SUMS(k) (3 * (k) + 1)

enum {
    EK_M_ACCURACY,
    EK_M_BALANCED_ACCURACY,
    EK_M_KAPPA,
    EK_M_MEAN_IOU,
    EK_M_MEAN_F1,
    EK_M_COUNT
};

/* JSON names of the summary metrics, in EK_M_* order. */
extern const char *const ek_metric_names[EK_M_COUNT];

/* Task change adds the precision, recall, F1 and IoU of the change class
   (in ek_metrics_class order) to the summary metrics. */
enum { EK_C_PRECISION = EK_M_COUNT, EK_C_RECALL, EK_C_F1, EK_C_IOU, EK_C_COUNT };
extern const char *const ek_change_metric_names[EK_C_COUNT];

/* The most metrics a task reports (the stride of bootstrap samples). */
#define EK_MAX_METRICS EK_C_COUNT

/* The summary metrics of SUMS (K classes) into OUT; NaN where undefined. */
void ek_metrics_summary(const double *sums, size_t k, int multilabel,
                        double out[EK_M_COUNT]);

/* Precision, recall, F1 and IoU of class C of SUMS (K classes) into OUT; NaN
   where the denominator is 0. */
void ek_metrics_class(const double *sums, size_t k, size_t c, double out[4]);

/* The metrics of SUMS into OUT (at most EK_M_COUNT values, NaN where
   undefined); ARG is what the task needs to know. */
typedef void (*ek_summary_fn)(const double *sums, const void *arg, double *out);

/*
** Bootstrap any additive sums: REPLICATES times, draw M of the units UNITS
** (indices of rows of UNIT_SUMS, WIDTH values each) uniformly with
** replacement (ek_rand_next(state) % M, one state seeded with SEED), add
** their sums and compute SUMMARY of them into SAMPLES[r * STRIDE + m].
*/
int ek_bootstrap_with(eodkit_ctx *ctx, const double *unit_sums, size_t width,
                      const size_t *units, size_t m, int replicates, uint64_t seed,
                      ek_summary_fn summary, const void *arg, size_t stride,
                      double *samples /* OUT */);

/*
** Bootstrap the summary metrics: REPLICATES times, draw M of the units
** UNITS (indices of rows of UNIT_SUMS, EK_SUMS(K) values each) uniformly
** with replacement (ek_rand_next(state) % M, one state seeded with SEED),
** add their sums and compute the metrics into SAMPLES[r * EK_M_COUNT + m].
*/
int ek_bootstrap(eodkit_ctx *ctx, const double *unit_sums, const size_t *units,
                 size_t m, size_t k, int multilabel, int replicates, uint64_t seed,
                 double *samples /* OUT */);

/* ek_metrics_summary as an ek_summary_fn; ARG points at {K, multilabel}
   (two size_t). */
void ek_class_summary(const double *sums, const void *arg, double *out);

/* The summary metrics and those of the change class (EK_C_*) as an
   ek_summary_fn; ARG points at {K, index of the change class}. */
void ek_change_summary(const double *sums, const void *arg, double *out);

/* ---- regression targets (eval_regression.c) ---- */

/* The metrics of a regression target, in this order. */
enum { EK_T_RMSE, EK_T_MAE, EK_T_BIAS, EK_T_R2, EK_T_COUNT };
extern const char *const ek_target_metric_names[EK_T_COUNT];

/* Residual histogram bins (the middle one centred on 0, the outer ones
   open) and target bins (the training range cut in equal parts, the
   outer ones open) of the residual plots. */
#define EK_T_RES_BINS 21
#define EK_T_TRUTH_BINS 10

/* The sums of a regression chip: pixels scored, residuals (prediction -
   target): sum, absolute sum, squared sum; the target minus the shift:
   sum, squared sum; then per target bin the residuals' sum and squared
   sum. Its counts: the residual histogram, then pixels per target bin. */
enum { EK_T_N, EK_T_SUM, EK_T_ABS, EK_T_SQ, EK_T_Y, EK_T_YY, EK_T_BASE };
#define EK_T_WIDTH (EK_T_BASE + 2 * EK_T_TRUTH_BINS)
#define EK_T_CELLS (EK_T_RES_BINS + EK_T_TRUTH_BINS)

typedef struct ek_target {
    int64_t h, w;       /* chip size */
    size_t label_bytes; /* of one chip's target row (float32) */
    double shift;       /* the training mean (stats.json), subtracted */
    double res_width;   /* residual bin width: a quarter of the training std */
    double truth_lo, truth_width; /* target bins */
} ek_target;

/* What CS's collection.json and stats.json say of its regression target
   (chip size, training mean, std and range for the bins) into T. */
int ek_target_read(eodkit_ctx *ctx, const ek_chipset *cs, ek_target *t /* OUT */);

/* Predictions P must hold one value per pixel: (n, H, W) or (n, 1, H, W);
   else EODKIT_ERR_INPUT naming P's file. */
int ek_target_check_form(eodkit_ctx *ctx, const ek_target *t, const ek_pred *p);

/* Score the prediction row last read (row ROW of P) against the target
   chip LABEL (float32, NaN: no value, counted in *IGNORED): its sums into
   SUMS (EK_T_WIDTH, overwritten) and counts added to COUNTS (EK_T_CELLS).
   A prediction that is NaN or infinite where the target has a value is
   EODKIT_ERR_INPUT. */
int ek_target_score(eodkit_ctx *ctx, const ek_target *t, const ek_pred *p, size_t row,
                    const unsigned char *label, int64_t *counts, double *sums,
                    int64_t *ignored);

/* RMSE, MAE, bias (mean residual) and R^2 (1 - SSres / SStot) of SUMS
   into OUT (NaN where undefined; R^2 where the target does not vary); an
   ek_summary_fn, ARG unused. */
void ek_target_summary(const double *sums, const void *arg, double *out);

/* The residual plots of a group, from its SUMS and COUNTS: {"residuals":
   {"bin_width", "bins": [{"from", "to", "pixels"}]}, "by_target": [{"from",
   "to", "pixels", "bias", "rmse"}]} (null ends: open). */
json_t *ek_target_plots_json(const ek_target *t, const double *sums,
                             const int64_t *counts);

/* The Q-th percentile (0-100) of the N VALUES whose stride is STRIDE, NaN
   left out, interpolated linearly as numpy.percentile does; NaN when all are
   NaN. SCRATCH holds N doubles. */
double ek_percentile(const double *values, size_t n, size_t stride, double q,
                     double *scratch);

#endif
