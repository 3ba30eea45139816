/*
** Exporting a detection or instance-segmentation dataset in the formats
** detectors read: COCO JSON per split, or YOLO (and YOLO-OBB) text files
** per chip, with each chip as a georeferenced GeoTIFF image.
*/
#ifndef EODKIT_EXPORT_H
#define EODKIT_EXPORT_H

#include "eodkit/eodkit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How to export. A zeroed struct (or NULL) means every default. */
typedef struct eodkit_export_options {
    /* The splits to export, comma-separated; NULL: every split. */
    const char *splits;
    /* The modality the images come from; NULL: the first. */
    const char *modality;
    /* Nonzero: labels only, no images (file names still say where they
       would be). */
    int no_images;
    /* Chips with fewer objects are left out; 0 keeps every chip (chips
       without objects are the detector's negative examples). */
    int min_objects;
    /* COCO, instance datasets: masks as RLE (lossless) instead of polygons. */
    int rle;
    /* Nonzero: replace an earlier export of eodkit in the output folder. */
    int overwrite;
} eodkit_export_options;

/*
** Export the dataset in folder DATASET_DIR (task detection or instance) as
** FORMAT ("coco" or "yolo") into folder OUT_DIR (doc/cmd/export.md gives
** the layout). Everything is written into OUT_DIR.partial and renamed to
** OUT_DIR when complete; an existing OUT_DIR is refused
** (EODKIT_ERR_EXISTS) unless OPT->overwrite and it is an earlier export (or
** empty). The same dataset and options give byte-identical files.
**
** On success *SUMMARY_JSON (when not NULL) receives a JSON object (format,
** folder, per split the images and objects written and the chips left
** out); free it with eodkit_free. Returns EODKIT_OK, or EODKIT_ERR_USAGE
** (an unknown format), EODKIT_ERR_INPUT (not a dataset, not one with
** objects, an unknown split or modality), EODKIT_ERR_EXISTS, EODKIT_ERR_IO,
** EODKIT_ERR_GDAL or EODKIT_ERR_NOMEM with the message in CTX.
*/
EODKIT_API int eodkit_export(eodkit_ctx *ctx, const char *format,
                             const char *dataset_dir, const char *out_dir,
                             const eodkit_export_options *opt,
                             char **summary_json /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
