/*
** Evaluating a model's predictions against a built dataset's labels:
** accuracy, balanced accuracy, Cohen's kappa, per-class precision, recall,
** F1 and IoU, mean IoU and the confusion matrix, overall and per group
** (continent, country, region, split block, split), with 95% confidence
** intervals from a bootstrap that resamples whole spatial blocks, and the
** gap between the best and the worst group.
*/
#ifndef EODKIT_EVAL_H
#define EODKIT_EVAL_H

#include <stdint.h>

#include "eodkit/eodkit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How to evaluate. A zeroed struct (or NULL) means every default. */
typedef struct eodkit_eval_options {
    /* The splits the predictions cover, comma-separated ("val,test"): the
       prediction array holds their chips one after another, each split's
       in index order (fid order, which is (shard, row) order). NULL: "test". */
    const char *splits;
    /* Break the metrics down by "continent", "country", "region", "block"
       or "split"; NULL: overall only. */
    const char *by;
    /* Bootstrap replicates; 0: 1000; negative: no confidence intervals. */
    int bootstrap;
    /* Seed of the bootstrap (the same seed gives the same intervals). */
    uint64_t seed;
    /* Multilabel: a score at or above this marks a class present;
       detection: detections scoring at least this count for precision and
       recall; 0: 0.5. */
    double threshold;
    /* Edge, in chips of the chip lattice, of the blocks the bootstrap
       resamples for chips whose index row has no split block (e.g. a random
       split); 0: 4. */
    int block_chips;
    /* Detection and instance datasets: match detections to objects by box
       ("bbox") or mask ("segm") IoU; NULL: segm for instance datasets, else
       bbox. */
    const char *iou_type;
} eodkit_eval_options;

/*
** Evaluate the predictions in file PRED_PATH against the labels of the
** dataset in folder DATASET_DIR (doc/cmd/eval.md gives the forms accepted
** per task: a .npy array of classes or scores, or for detection and
** instance datasets COCO's results JSON). Reads the index, the label shards
** of the chosen splits and PRED_PATH one chip at a time: memory grows with
** the number of spatial blocks and classes (and detections), never with
** the pixels.
**
** On success *REPORT_JSON receives the report (doc/cmd/eval.md lists its
** fields); free it with eodkit_free. The same inputs and options always
** give the same report. Returns EODKIT_OK, or EODKIT_ERR_USAGE (bad
** options), EODKIT_ERR_INPUT (not a dataset, an unknown split, a dataset
** without labels, predictions of the wrong shape, element type or class
** ids), EODKIT_ERR_IO or EODKIT_ERR_NOMEM, with the message in CTX naming
** the file. Thread-safe with different contexts.
*/
EODKIT_API int eodkit_eval(eodkit_ctx *ctx, const char *dataset_dir,
                           const char *pred_path, const eodkit_eval_options *opt,
                           char **report_json /* OUT */);

/*
** The report REPORT_JSON (as eodkit_eval returns it) as aligned text tables
** for people: summary metrics with intervals, per-class table, confusion
** matrix, groups and gap. *TEXT is newly allocated (free with eodkit_free).
*/
EODKIT_API int eodkit_eval_report_text(eodkit_ctx *ctx, const char *report_json,
                                       char **text /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
