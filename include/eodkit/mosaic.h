/*
** Stitching chip predictions back into georeferenced rasters: one
** Cloud-Optimised GeoTIFF per grid of the dataset (one per UTM zone for
** `crs: utm` builds), overlapping chips averaged (scores) or voted (class
** ids), nodata where no chip lies; or, for detection and instance
** datasets, the detections as georeferenced boxes in a GeoPackage, with
** non-maximum suppression across chip borders.
*/
#ifndef EODKIT_MOSAIC_H
#define EODKIT_MOSAIC_H

#include "eodkit/eodkit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How to mosaic. A zeroed struct (or NULL) means every default. */
typedef struct eodkit_mosaic_options {
    /* The splits the predictions cover, comma-separated, as for
       eodkit_eval; NULL: "test". */
    const char *splits;
    /* Nonzero: write the class of the highest mean score (channel k = class
       id k) instead of the scores; needs several channels. */
    int argmax;
    /* Detection and instance datasets: boxes of a class overlapping a
       better one by more than this are dropped (non-maximum suppression);
       0: 0.5. */
    double nms_threshold;
    /* How boxes overlap for that: "iou" (intersection over union; NULL) or
       "ios" (intersection over the smaller box, which also drops the parts
       of an object cut by a chip's edge). */
    const char *nms_metric;
    /* Detections scoring less are left out. */
    double min_score;
} eodkit_mosaic_options;

/*
** Mosaic the predictions in .npy file PRED_PATH (one row per chip of the
** chosen splits, in index order; doc/cmd/mosaic.md gives the shapes) onto
** the grids of the dataset in folder DATASET_DIR. Each grid with chips
** gives one COG (DEFLATE) covering the bounding box of its chips, on the
** grid's pixels, CRS and resolution: OUT_PATH itself for a dataset with one
** grid, else OUT_PATH with "_<EPSG code>" before its extension per grid.
** Files are written under temporary names and renamed into place only when
** all are complete, so an existing file is replaced whole or not at all.
**
** On success *SUMMARY_JSON (when not NULL) receives a JSON object (mode,
** files with their CRS, geotransform, size, bands and chips); free it with
** eodkit_free. Returns EODKIT_OK, or EODKIT_ERR_USAGE, EODKIT_ERR_INPUT (not
** a dataset, an unknown split, predictions of the wrong shape or values),
** EODKIT_ERR_IO, EODKIT_ERR_GDAL or EODKIT_ERR_NOMEM with the message in CTX
** naming the file. Memory is bounded by strips of the output, never the
** whole raster. Thread-safe with different contexts and outputs.
**
** For a detection or instance dataset, PRED_PATH holds detections as
** eodkit_eval takes them (COCO results, doc/cmd/eval.md) and OUT_PATH
** becomes a GeoPackage: per grid with chips a layer of boxes in the grid's
** CRS (class_id, class_name, score, chip_id, split, detection), after
** non-maximum suppression per grid and class (OPT's nms_threshold and
** nms_metric), written aside and renamed into place. The summary holds
** mode "detections", the detections read, kept, suppressed and below
** min_score, and the layers.
*/
EODKIT_API int eodkit_mosaic(eodkit_ctx *ctx, const char *dataset_dir,
                             const char *pred_path, const char *out_path,
                             const eodkit_mosaic_options *opt,
                             char **summary_json /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
