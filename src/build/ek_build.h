/*
** Build: the pipeline driver. build.c sets the stages up, runs the work
** units on the pool and finishes the dataset; unit.c is what one worker
** does with one work unit (read, label, filter, cut chips, accumulate).
*/
#ifndef EK_BUILD_H
#define EK_BUILD_H

#include "write/ek_write.h"

/* Shared by all workers, read-only while they run. */
typedef struct ek_build {
    const ek_recipe *recipe;
    ek_plan *plan;
    ek_labels *labels; /* NULL without labels */
    ek_split *split;
    ek_regions *regions;  /* NULL when no region layer is available */
    int32_t *region_tags; /* per chip id: region index or -1 */
    ek_raster_spec *specs; /* per modality */
    ek_array_desc *arrays; /* modalities, then the label array if any */
    size_t narrays;
    int train;      /* split index whose statistics are computed */
    int nclass_ids; /* labels->max_id + 1, 0 without labels */
    const char *tmp_dir;
} ek_build;

/* Per worker: GDAL handles, buffers and order-independent accumulators. */
typedef struct ek_worker {
    const ek_build *b;
    int index;
    ek_reader **readers; /* per modality */
    ek_label_worker *labels;
    unsigned char **unit_data; /* per modality: the unit window, band-sequential */
    uint8_t **unit_valid;      /* per modality */
    void *unit_labels;
    uint8_t *chip_valid;     /* scratch: one chip's validity (all modalities) */
    uint8_t *band_valid;     /* scratch: one chip band's statistics mask */
    uint64_t *chip_hist;     /* scratch: one chip's class histogram */
    uint64_t ***hist;        /* [modality][band][EK_HIST_BINS], training chips */
    uint64_t **class_pixels; /* [split][class id] */
    uint64_t **class_chips;
    uint64_t **label_chips;
} ek_worker;

typedef struct ek_kept_chip {
    size_t chip_id;
    int split;
    double nodata_frac;
    double labeled_frac;
    char *class_hist; /* JSON, or NULL without labels */
    int label;        /* classification label, or -1 */
} ek_kept_chip;

/* What a unit hands to the committer. */
typedef struct ek_unit_result {
    size_t candidates; /* candidate chips the unit covered (for progress) */
    size_t rejected_nodata;
    size_t rejected_unlabeled;
    size_t nkept;
    ek_kept_chip *chips;
    unsigned char **data; /* per array: nkept chips, contiguous */
    ek_moments **moments; /* [modality][band] over training chips, in chip order */
} ek_unit_result;

int ek_worker_init(eodkit_ctx *ctx, const ek_build *b, int index, ek_worker *w);
void ek_worker_clear(ek_worker *w);

/* Do work unit U (the pool's work function; STATE is an ek_worker). */
int ek_unit_run(void *state, eodkit_ctx *ctx, size_t u, void **result);

/* Free a unit result (NULL is fine). */
void ek_unit_result_free(void *result);

#endif
