/*
** Build: the pipeline driver. build.c sets the stages up, runs the work
** units on the pool and finishes the dataset; unit.c is what one worker
** does with one work unit (read, mask, label, filter, cut chips,
** accumulate); modality.c reads one modality over a unit (one image, a
** mosaic through time, or a stack of acquisitions).
*/
#ifndef EK_BUILD_H
#define EK_BUILD_H

#include "write/ek_write.h"

/* Shared by all workers, read-only while they run. */
typedef struct ek_build {
    const ek_recipe *recipe;
    ek_plan *plan;
    ek_labels *labels; /* NULL without labels */
    ek_shapes **masks; /* per modality: mask polygons, or NULL */
    ek_split *split;
    ek_regions *regions;   /* NULL when no region layer is available */
    int32_t *region_tags;  /* per chip id: region index or -1 */
    ek_array_desc *arrays; /* modalities, then the label array if any */
    size_t narrays;
    int train;      /* split index whose statistics are computed */
    int nclass_ids; /* labels->max_id + 1, 0 without labels */
} ek_build;

/* Why a chip was not written. */
typedef enum ek_reject {
    EK_KEEP,
    EK_REJECT_NODATA,
    EK_REJECT_CLOUD,
    EK_REJECT_UNLABELED,
    EK_REJECT_TIME, /* a stacked modality had too few usable acquisitions */
    EK_REJECT_COUNT
} ek_reject;

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
    char *present;     /* JSON {"modality": 0|1} of optional modalities, or NULL */
    char *times;       /* JSON {"modality": [ISO times]} of time modalities, or NULL */
    int64_t earliest;  /* first and last acquisition used (time modalities), */
    int64_t latest;    /* or INT64_MAX and INT64_MIN */
    char *sources;     /* JSON {"modality": [input indices]} */
} ek_unit_chip;

/* What a unit hands to the committer. */
typedef struct ek_unit_result {
    size_t candidates; /* candidate chips the unit covered (for progress) */
    size_t nchips;     /* chips with a split; chip k's arrays are at slot k */
    ek_unit_chip *chips;
    unsigned char **data; /* per array: nchips slots, contiguous */
    ek_moments **moments; /* [modality][band] over kept training chips, in chip order */
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

/* Per worker: GDAL handles, buffers and order-independent accumulators. */
typedef struct ek_worker {
    const ek_build *b;
    ek_reader *reader;
    ek_modality_buffers *mods; /* per modality */
    void *unit_labels;
    unsigned char *label_raw; /* raster labels: values before remapping */
    uint8_t *label_valid;
    uint8_t *chip_valid;     /* scratch: one chip's validity (required modalities) */
    uint8_t *band_valid;     /* scratch: one chip band's statistics mask */
    uint64_t *chip_hist;     /* scratch: one chip's class histogram */
    uint64_t ***hist;        /* [modality][band][EK_HIST_BINS], training chips */
    uint64_t **class_pixels; /* [split][class id] */
    uint64_t **class_chips;
    uint64_t **label_chips;
} ek_worker;

int ek_worker_init(eodkit_ctx *ctx, const ek_build *b, ek_worker *w);
void ek_worker_clear(ek_worker *w);

/* Do work unit U (the pool's work function; STATE is an ek_worker). */
int ek_unit_run(void *state, eodkit_ctx *ctx, size_t u, void **result);

/* Free a unit result (NULL is fine). */
void ek_unit_result_free(void *result);

/* The active chips of one unit on one grid. */
typedef struct ek_unit_view {
    size_t grid;
    ek_window window;       /* covers every active chip */
    const size_t *chip_ids; /* active chips, slot order */
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
