/*
** Stats: per-band statistics of the training split. For 8- and 16-bit data
** everything (moments, min, max, percentiles) follows exactly from a 65536-
** bin histogram. For other types moments (count, mean, M2, min, max) are
** computed per chip and merged in a fixed order (Chan et al.), so they are
** identical whatever the thread count; percentiles come from the histogram
** of their float32 keys, the bins holding the wanted ranks refined by a
** second look at the values (the caller re-reads them), giving the exact
** percentile of the values rounded to float32.
*/
#ifndef EK_STATS_H
#define EK_STATS_H

#include <stdint.h>

#include <gdal.h>

#include "core/ek_ctx.h"

#define EK_HIST_BINS 65536

typedef struct ek_moments {
    uint64_t n;
    double mean, m2, min, max;
} ek_moments;

/* Moments of the N values of DATA (type T) where VALID is nonzero. */
void ek_moments_of(ek_moments *m, const void *data, GDALDataType t,
                   const uint8_t *valid, size_t n);

/* Fold ADD into INTO. Merging in a fixed order gives fixed results. */
void ek_moments_merge(ek_moments *into, const ek_moments *add);

/* Nonzero when percentiles of type T are exact from the histogram alone. */
int ek_hist_exact(GDALDataType t);

/* Add every one of the N values of DATA (an exact type T: 8 or 16 bits) to
   the 65536 BINS; drop the nodata bin (ek_hist_bin_of) afterwards. */
void ek_hist_add_all(uint64_t *bins, const void *data, GDALDataType t, size_t n);

/* The bin of value V of exact type T, or -1 when no value of T equals V. */
long ek_hist_bin_of(GDALDataType t, double v);

/* Moments of the values counted in BINS (exact type T), computed from the
   histogram alone: exact, and the same however the values were split. */
void ek_moments_of_hist(ek_moments *m, const uint64_t *bins, GDALDataType t);

/* Add the valid values of DATA (N values of type T) to the 65536 BINS. */
void ek_hist_add(uint64_t *bins, const void *data, GDALDataType t, const uint8_t *valid,
                 size_t n);

/* VALID[i] = 1 where value I of DATA (N values of type T) counts in the
   statistics: finite (not NaN, not infinite), and not NODATA when
   HAS_NODATA. */
void ek_stats_mask(const void *data, GDALDataType t, int has_nodata, double nodata,
                   size_t n, uint8_t *valid);

/*
** Exact percentiles PCTS (0..100, NumPy's default linear interpolation) of
** the TOTAL values counted in BINS (type T). When ek_refiner_wants_values()
** says so, every value must be fed again with ek_refiner_add() (any order)
** before ek_refiner_result().
*/
typedef struct ek_refiner ek_refiner;

int ek_refiner_new(eodkit_ctx *ctx, const uint64_t *bins, GDALDataType t,
                   uint64_t total, const double *pcts, size_t np,
                   ek_refiner **refiner /* OUT */);
int ek_refiner_wants_values(const ek_refiner *r);
void ek_refiner_add(ek_refiner *r, const void *data, GDALDataType t,
                    const uint8_t *valid, size_t n);
void ek_refiner_result(const ek_refiner *r, double *out /* OUT: np values */);
void ek_refiner_free(ek_refiner *r);

#endif
