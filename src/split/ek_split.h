/*
** Split: which split each chip belongs to. Decided before any image pixel is
** read, so it never depends on data order or threads: `random` shuffles
** chips; `blocks` shuffles square blocks of the CRS (optionally balancing
** class shares across splits); `regions` holds whole continents, countries
** or regions out and splits the rest by blocks; `time` splits by
** acquisition period. Then chips in the guard band are dropped, so that no
** two kept chips of different splits share a pixel or come closer than
** `buffer` chips.
*/
#ifndef EK_SPLIT_H
#define EK_SPLIT_H

#include <stdint.h>

#include "grid/ek_plan.h"
#include "regions/ek_regions.h"

#define EK_CHIP_SKIP (-1)  /* in no split (method time: before the first period) */
#define EK_CHIP_GUARD (-2) /* dropped: in the guard band of another split */

typedef struct ek_split {
    size_t nsplits;
    /* per candidate chip (the plan's candidate index): */
    int8_t *chip_split;  /* split index, or EK_CHIP_SKIP / EK_CHIP_GUARD */
    int32_t *chip_block; /* block index, -1 without blocks */
    size_t nblocks;
    int32_t *block_grid;        /* the grid of each block */
    int64_t *block_x, *block_y; /* block coordinates: floor(CRS coordinate / size) */
    int *block_split;
    size_t guard_dropped;
    size_t border_dropped; /* of those, chips touching a held-out region of another split */
    double hold_out_margin; /* metres (regions.margin in effect) */
    int guard_x, guard_y;   /* guard band in pixels */
    double class_deviation; /* stratify: largest |class share of a split - overall| */
} ek_split;

/* What some methods need besides the plan. */
typedef struct ek_split_inputs {
    ek_regions *regions;                 /* regions: the region layer ... */
    const ek_region_tags *region_tags;   /* ... and each candidate's tags */
    const uint32_t *chip_classes; /* stratify: labelled pixels per class,
                                     [candidate * nclasses + c] */
    int nclasses;
} ek_split_inputs;

/* Assign splits for plan P. Errors (a hold-out without chips, a period
   without chips) name the recipe line. Free with ek_split_free. */
int ek_split_make(eodkit_ctx *ctx, const ek_plan *p, const ek_split_inputs *in,
                  ek_split **split /* OUT */);
void ek_split_free(ek_split *split);

/* How many of N items each of the NSPLITS RATIOS gets (largest remainder;
   the counts sum to N). */
void ek_split_counts(const double *ratios, size_t nsplits, size_t n, size_t *counts);

#endif
