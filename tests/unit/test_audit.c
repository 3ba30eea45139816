/*
** Unit tests of the audit's measures on synthetic inputs: shared pixels and
** distances between splits equal a brute-force count over a pixel raster and
** over every pair of chips; entropy and sampling weights behave as their
** contracts say; the string tables survive growth.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit/ek_audit.h"

static ek_leakage measure_rects(const ek_leak_rect *r, size_t n, size_t nsplits,
                                double rx, double ry)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    ek_leakage l;

    assert_int_equal(ek_leakage_compute(ctx, r, n, nsplits, rx, ry, &l), EODKIT_OK);
    eodkit_ctx_free(ctx);
    return l;
}

static void overlapping_pair(void **state)
{
    const ek_leak_rect r[] = {{0, 0, 10, 10, 0}, {5, 5, 10, 10, 1}};
    ek_leakage l = measure_rects(r, 2, 2, 30, 30);

    (void)state;
    assert_true(l.has_pairs);
    assert_int_equal(l.shared_pixels, 25);
    assert_int_equal(l.pair_pixels[0 * 2 + 1], 25);
    assert_true(l.min_distance_pixels == 0 && l.min_distance_crs == 0);
    assert_int_equal(l.min_gap_pixels, 0);
    ek_leakage_clear(&l);
}

static void separated_pair(void **state)
{
    /* column gap 7 - 4 = 3, row gap 8 - 4 = 4 */
    const ek_leak_rect r[] = {{0, 0, 4, 4, 0}, {7, 8, 4, 4, 1}};
    ek_leakage l = measure_rects(r, 2, 2, 2, 3);

    (void)state;
    assert_int_equal(l.shared_pixels, 0);
    assert_true(l.min_distance_pixels == 5);
    assert_true(l.min_distance_crs == sqrt(6.0 * 6.0 + 12.0 * 12.0));
    assert_int_equal(l.min_gap_pixels, 4);
    assert_true(l.closest[0] == 0 && l.closest[1] == 1);
    ek_leakage_clear(&l);
}

static void same_split_overlap_is_no_leak(void **state)
{
    const ek_leak_rect r[] = {{0, 0, 10, 10, 0}, {5, 0, 10, 10, 0}, {30, 0, 10, 10, 1}};
    ek_leakage l = measure_rects(r, 3, 2, 1, 1);

    (void)state;
    assert_int_equal(l.shared_pixels, 0);
    assert_true(l.min_distance_pixels == 15);
    assert_int_equal(l.min_gap_pixels, 15);
    ek_leakage_clear(&l);
}

static void touching_chips(void **state)
{
    /* edge to edge (distance 0, nothing shared) and corner to corner */
    const ek_leak_rect r[] = {{0, 0, 8, 8, 0}, {8, 0, 8, 8, 1}, {16, 8, 8, 8, 2}};
    ek_leakage l = measure_rects(r, 3, 3, 10, 10);

    (void)state;
    assert_int_equal(l.shared_pixels, 0);
    assert_true(l.min_distance_pixels == 0);
    assert_int_equal(l.min_gap_pixels, 0);
    ek_leakage_clear(&l);
}

static void pixel_in_three_splits_counts_once(void **state)
{
    const ek_leak_rect r[] = {{0, 0, 2, 2, 0}, {0, 0, 2, 2, 1}, {0, 0, 2, 2, 2}};
    ek_leakage l = measure_rects(r, 3, 3, 1, 1);

    (void)state;
    assert_int_equal(l.shared_pixels, 4);
    assert_int_equal(l.pair_pixels[0 * 3 + 1], 4);
    assert_int_equal(l.pair_pixels[0 * 3 + 2], 4);
    assert_int_equal(l.pair_pixels[1 * 3 + 2], 4);
    ek_leakage_clear(&l);
}

static void one_split_is_not_compared(void **state)
{
    const ek_leak_rect r[] = {{0, 0, 4, 4, 1}, {2, 2, 4, 4, 1}};
    ek_leakage l = measure_rects(r, 2, 2, 1, 1);

    (void)state;
    assert_false(l.has_pairs);
    assert_int_equal(l.shared_pixels, 0);
    ek_leakage_clear(&l);
}

static uint64_t next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static int64_t gap(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
    int64_t g = b0 - a1 > a0 - b1 ? b0 - a1 : a0 - b1;

    return g > 0 ? g : 0;
}

/* Random rectangles (lattices with overlap, and scattered ones) against a
   pixel raster and every pair. */
static void matches_brute_force(void **state)
{
    enum { SIZE = 96, N = 400 };
    uint64_t seed;

    (void)state;
    for (seed = 1; seed <= 12; seed++) {
        ek_leak_rect r[N];
        uint8_t *mask = calloc(SIZE * SIZE, 1);
        int64_t shared = 0, cheb = INT64_MAX;
        double d2 = INFINITY, c2 = INFINITY, rx = 0.5 + (double)(seed % 3), ry = 1.25;
        size_t n = seed % 2 ? N : N / 4, nsplits = 2 + seed % 3, i, j;
        uint64_t s = seed;
        ek_leakage l;

        assert_non_null(mask);
        for (i = 0; i < n; i++) {
            if (seed % 2) { /* a lattice: stride 6, chips 8, random splits */
                r[i] = (ek_leak_rect){(int64_t)(i % 14) * 6, (int64_t)(i / 14 % 14) * 6,
                                      8, 8, (int32_t)(next(&s) % nsplits)};
            } else {
                r[i] = (ek_leak_rect){
                    (int64_t)(next(&s) % 80), (int64_t)(next(&s) % 80),
                    1 + (int64_t)(next(&s) % 12), 1 + (int64_t)(next(&s) % 12),
                    (int32_t)(next(&s) % nsplits)};
            }
            for (j = 0; j < (size_t)(r[i].w * r[i].h); j++) {
                int64_t x = r[i].x + (int64_t)j % r[i].w,
                        y = r[i].y + (int64_t)j / r[i].w;

                mask[y * SIZE + x] |= (uint8_t)(1u << r[i].split);
            }
        }
        for (i = 0; i < SIZE * SIZE; i++) {
            shared += mask[i] != 0 && (mask[i] & (mask[i] - 1)) != 0;
        }
        for (i = 0; i < n; i++) {
            for (j = i + 1; j < n; j++) {
                int64_t gx, gy;

                if (r[i].split == r[j].split) {
                    continue;
                }
                gx = gap(r[i].x, r[i].x + r[i].w, r[j].x, r[j].x + r[j].w);
                gy = gap(r[i].y, r[i].y + r[i].h, r[j].y, r[j].y + r[j].h);
                d2 = fmin(d2, (double)(gx * gx + gy * gy));
                c2 = fmin(c2, (gx * rx) * (gx * rx) + (gy * ry) * (gy * ry));
                cheb = (gx > gy ? gx : gy) < cheb ? (gx > gy ? gx : gy) : cheb;
            }
        }
        l = measure_rects(r, n, nsplits, rx, ry);
        assert_int_equal(l.shared_pixels, shared);
        assert_true(l.min_distance_pixels == sqrt(d2));
        assert_true(l.min_distance_crs == sqrt(c2));
        assert_int_equal(l.min_gap_pixels, cheb);
        ek_leakage_clear(&l);
        free(mask);
    }
}

static void entropy_bounds(void **state)
{
    const double even[4] = {5, 5, 5, 5}, one[4] = {0, 9, 0, 0}, two[2] = {3, 3};

    (void)state;
    assert_true(fabs(ek_audit_entropy(even, 4, 4) - 1) < 1e-12);
    assert_true(ek_audit_entropy(one, 4, 4) == 0);
    /* two of four categories, evenly: ln 2 / ln 4 */
    assert_true(fabs(ek_audit_entropy(two, 2, 4) - 0.5) < 1e-12);
    assert_true(ek_audit_entropy(two, 2, 1) == 0);
    assert_true(ek_audit_entropy(one, 0, 4) == 0);
}

static void weights_equalise_groups(void **state)
{
    enum { N = 1000, SPLITS = 3, GROUPS = 5 };
    int32_t split[N], group[N];
    double w[N], per_group[SPLITS][GROUPS] = {{0}}, per_split[SPLITS] = {0};
    size_t count[SPLITS] = {0}, i, s, g;
    uint64_t seed = 7;
    eodkit_ctx *ctx = eodkit_ctx_new();

    (void)state;
    for (i = 0; i < N; i++) {
        split[i] = (int32_t)(next(&seed) % SPLITS);
        /* skewed groups; group 4 never occurs in split 2 */
        group[i] =
            (int32_t)(next(&seed) % 100 < 70 ? 0 : 1 + next(&seed) % (GROUPS - 1));
        if (split[i] == 2 && group[i] == 4) {
            group[i] = 3;
        }
    }
    assert_int_equal(ek_audit_weights(ctx, split, group, N, SPLITS, GROUPS, w),
                     EODKIT_OK);
    for (i = 0; i < N; i++) {
        per_group[split[i]][group[i]] += w[i];
        per_split[split[i]] += w[i];
        count[split[i]]++;
    }
    for (s = 0; s < SPLITS; s++) {
        double first = -1;

        assert_true(fabs(per_split[s] - (double)count[s]) < 1e-9);
        for (g = 0; g < GROUPS; g++) {
            if (per_group[s][g] == 0) {
                assert_true(s == 2 && g == 4);
                continue;
            }
            if (first < 0) {
                first = per_group[s][g];
            }
            assert_true(fabs(per_group[s][g] - first) < 1e-9);
        }
    }
    /* a known case: four chips, three in one group */
    {
        const int32_t sp[4] = {0, 0, 0, 0}, gr[4] = {0, 0, 0, 1};
        double ww[4];

        assert_int_equal(ek_audit_weights(ctx, sp, gr, 4, 1, 2, ww), EODKIT_OK);
        assert_true(ww[0] == 4.0 / 6.0 && ww[3] == 2.0);
    }
    eodkit_ctx_free(ctx);
}

static void names_grow(void **state)
{
    ek_strtab t = {0};
    eodkit_ctx *ctx = eodkit_ctx_new();
    char text[32];
    int i;

    (void)state;
    for (i = 0; i < 5000; i++) {
        snprintf(text, sizeof text, "name-%d", i % 1000);
        assert_int_equal(ek_strtab_intern(ctx, &t, text), i % 1000);
    }
    assert_int_equal((int)t.n, 1000);
    assert_int_equal(ek_strtab_find(&t, "name-999"), 999);
    assert_int_equal(ek_strtab_find(&t, "name-1000"), -1);
    ek_strtab_free(&t);
    eodkit_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(overlapping_pair),
        cmocka_unit_test(separated_pair),
        cmocka_unit_test(same_split_overlap_is_no_leak),
        cmocka_unit_test(touching_chips),
        cmocka_unit_test(pixel_in_three_splits_counts_once),
        cmocka_unit_test(one_split_is_not_compared),
        cmocka_unit_test(matches_brute_force),
        cmocka_unit_test(entropy_bounds),
        cmocka_unit_test(weights_equalise_groups),
        cmocka_unit_test(names_grow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
