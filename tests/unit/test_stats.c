/*
** Unit tests of the statistics: chip-wise moments merged in any grouping,
** and 8/16-bit moments taken from the histogram, equal a direct
** computation; percentiles equal a sort-based NumPy-style computation for
** exact (8/16-bit) and refined (float) types.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stats/ek_stats.h"

#define N 20000

static const double levels[5] = {1, 2, 50, 98, 99};

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* NumPy's default percentile of sorted V[0..n). */
static double numpy_percentile(const double *v, size_t n, double p)
{
    double h = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(h), hi = lo + 1 < n ? lo + 1 : lo;
    double t = h - (double)lo;

    return t >= 0.5 ? v[hi] - (v[hi] - v[lo]) * (1 - t) : v[lo] + (v[hi] - v[lo]) * t;
}

static void check_percentiles(GDALDataType t, const void *data, size_t n)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    uint64_t *bins = calloc(EK_HIST_BINS, sizeof *bins);
    uint8_t *valid = malloc(n);
    double *sorted = malloc(n * sizeof *sorted), got[5];
    ek_refiner *r = NULL;
    size_t i, k = 0;
    int p;

    ek_stats_mask(data, t, 1, -9999, n, valid);
    ek_hist_add(bins, data, t, valid, n);
    for (i = 0; i < n; i++) {
        if (valid[i]) {
            double v;

            switch (t) {
            case GDT_Byte:
                v = ((const uint8_t *)data)[i];
                break;
            case GDT_Int16:
                v = ((const int16_t *)data)[i];
                break;
            default:
                v = ((const float *)data)[i];
                break;
            }
            sorted[k++] = v;
        }
    }
    qsort(sorted, k, sizeof *sorted, compare_double);
    assert_int_equal(ek_refiner_new(ctx, bins, t, k, levels, 5, &r), EODKIT_OK);
    assert_int_equal(ek_refiner_wants_values(r), !ek_hist_exact(t));
    if (ek_refiner_wants_values(r)) {
        /* values may come back in any order and in pieces */
        ek_refiner_add(r, (const char *)data + n / 2 * 4, t, valid + n / 2, n - n / 2);
        ek_refiner_add(r, data, t, valid, n / 2);
    }
    ek_refiner_result(r, got);
    for (p = 0; p < 5; p++) {
        double want = numpy_percentile(sorted, k, levels[p]);

        if (fabs(got[p] - want) > 1e-9 * fabs(want)) {
            fail_msg("type %d p%g: got %.17g want %.17g", (int)t, levels[p], got[p],
                     want);
        }
    }
    ek_refiner_free(r);
    free(bins);
    free(valid);
    free(sorted);
    eodkit_ctx_free(ctx);
}

static void percentiles_match_sorting(void **state)
{
    uint8_t *u8 = malloc(N);
    int16_t *i16 = malloc(N * sizeof *i16);
    float *f32 = malloc(N * sizeof *f32);
    size_t i;

    (void)state;
    srand(7);
    for (i = 0; i < N; i++) {
        u8[i] = (uint8_t)(rand() % 200);
        i16[i] = (int16_t)(rand() % 4000 - 2000);
        /* clustered floats: many share a histogram bin, so refinement matters */
        f32[i] = 100.0f + (float)(rand() % 100000) * 1e-4f;
    }
    f32[3] = NAN;      /* excluded */
    f32[5] = -9999.0f; /* nodata, excluded */
    i16[8] = -9999;    /* nodata, excluded */
    check_percentiles(GDT_Byte, u8, N);
    check_percentiles(GDT_Int16, i16, N);
    check_percentiles(GDT_Float32, f32, N);
    check_percentiles(GDT_Float32, f32, 2); /* tiny: two values */
    free(u8);
    free(i16);
    free(f32);
}

static void merged_moments_equal_direct(void **state)
{
    float *v = malloc(N * sizeof *v);
    uint8_t *valid = malloc(N);
    ek_moments all, merged = {0}, part;
    size_t i, start;

    (void)state;
    srand(3);
    for (i = 0; i < N; i++) {
        v[i] = 1000.0f + (float)(rand() % 1000) / 100.0f; /* large mean, small spread */
        valid[i] = rand() % 10 != 0;
    }
    ek_moments_of(&all, v, GDT_Float32, valid, N);
    for (start = 0; start < N; start += 777) {
        size_t len = start + 777 < N ? 777 : N - start;

        ek_moments_of(&part, v + start, GDT_Float32, valid + start, len);
        ek_moments_merge(&merged, &part);
    }
    assert_int_equal(merged.n, all.n);
    assert_true(fabs(merged.mean - all.mean) < 1e-9 * all.mean);
    assert_true(fabs(merged.m2 - all.m2) < 1e-7 * all.m2);
    assert_true(merged.min == all.min && merged.max == all.max);
    ek_moments_of(&part, v, GDT_Float32, (uint8_t[1]){0}, 1);
    assert_int_equal(part.n, 0);
    ek_moments_merge(&merged, &part); /* merging nothing changes nothing */
    assert_int_equal(merged.n, all.n);
    free(v);
    free(valid);
}

/* 8/16-bit data: moments from the histogram of every value, with the
   nodata bin dropped, equal moments of the valid values. */
static void histogram_moments_equal_direct(void **state)
{
    static const GDALDataType types[] = {GDT_Byte, GDT_UInt16, GDT_Int16};
    uint16_t *u16 = malloc(N * sizeof *u16);
    int16_t *i16 = malloc(N * sizeof *i16);
    uint8_t *u8 = malloc(N), *valid = malloc(N);
    uint64_t *bins = malloc(EK_HIST_BINS * sizeof *bins);
    size_t i, k;

    (void)state;
    srand(5);
    for (i = 0; i < N; i++) {
        u8[i] = (uint8_t)(rand() % 256);
        u16[i] = (uint16_t)(40000 + rand() % 20000);
        i16[i] = (int16_t)(rand() % 2000 - 1000);
    }
    u8[7] = u16[7] = 0; /* the nodata value occurs */
    i16[7] = -1000;
    for (k = 0; k < 3; k++) {
        GDALDataType t = types[k];
        const void *data = t == GDT_Byte     ? (const void *)u8
                           : t == GDT_UInt16 ? (const void *)u16
                                             : (const void *)i16;
        double nodata = t == GDT_Int16 ? -1000 : 0;
        ek_moments direct, from_hist;

        ek_stats_mask(data, t, 1, nodata, N, valid);
        ek_moments_of(&direct, data, t, valid, N);
        memset(bins, 0, EK_HIST_BINS * sizeof *bins);
        ek_hist_add_all(bins, data, t, N);
        bins[ek_hist_bin_of(t, nodata)] = 0;
        ek_moments_of_hist(&from_hist, bins, t);
        assert_int_equal(from_hist.n, direct.n);
        assert_true(direct.n < N);
        assert_true(fabs(from_hist.mean - direct.mean) <= 1e-12 * fabs(direct.mean));
        assert_true(fabs(from_hist.m2 - direct.m2) <= 1e-9 * direct.m2);
        assert_true(from_hist.min == direct.min && from_hist.max == direct.max);
    }
    /* values no 8/16-bit pixel can hold have no bin */
    assert_int_equal(ek_hist_bin_of(GDT_Byte, 256), -1);
    assert_int_equal(ek_hist_bin_of(GDT_Byte, 0.5), -1);
    assert_int_equal(ek_hist_bin_of(GDT_UInt16, -1), -1);
    assert_int_equal(ek_hist_bin_of(GDT_Int16, -32768), 0);
    assert_int_equal(ek_hist_bin_of(GDT_Int16, NAN), -1);
    free(u8);
    free(u16);
    free(i16);
    free(valid);
    free(bins);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(percentiles_match_sorting),
        cmocka_unit_test(merged_moments_equal_direct),
        cmocka_unit_test(histogram_moments_equal_direct),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
