/*
** A contact sheet of a dataset's chips for people: a PNG of chips in true
** colour (a 2-98 percentile stretch from stats.json), their labels laid over
** them in a palette, and a legend naming the classes.
*/
#ifndef EODKIT_PREVIEW_H
#define EODKIT_PREVIEW_H

#include "eodkit/eodkit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What to show. A zeroed struct (or NULL) means every default. */
typedef struct eodkit_preview_options {
    /* The split to draw chips from; NULL: the first split. */
    const char *split;
    /* Chips on the sheet, spread evenly over the split; 0: 16. */
    int chips;
    /* The modality to draw; NULL: the first optical, multispectral or
       hyperspectral modality, else the first. */
    const char *modality;
    /* Three bands as "R,G,B" (band names or 1-based numbers), or one band
       (grey); NULL: the bands named red, green and blue, else the first
       three (the first one when there are fewer). */
    const char *bands;
} eodkit_preview_options;

/*
** Draw the contact sheet of the dataset in folder DATASET_DIR into PNG file
** OUT_PATH (written under a temporary name, then renamed into place). The
** layout is in doc/cmd/preview.md. On success *SUMMARY_JSON (when not NULL)
** receives a JSON object (size, modality, bands and stretch, and where each
** chip's tiles are); free it with eodkit_free. Returns EODKIT_OK, or
** EODKIT_ERR_USAGE, EODKIT_ERR_INPUT (not a dataset, an unknown split,
** modality or band), EODKIT_ERR_IO or EODKIT_ERR_NOMEM with the message in
** CTX naming the file. Thread-safe with different contexts and outputs.
*/
EODKIT_API int eodkit_preview(eodkit_ctx *ctx, const char *dataset_dir,
                              const char *out_path, const eodkit_preview_options *opt,
                              char **summary_json /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
