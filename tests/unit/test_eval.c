/*
** Unit tests of eval's metrics and bootstrap on hand-made confusion sums:
** the formulas against values worked out by hand, undefined metrics as NaN,
** percentiles as numpy.percentile gives them, a bootstrap that is
** deterministic, adds block sums and collapses when every block is alike,
** and the font's width.
*/
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eval/ek_eval.h"

/* Sums of a 3-class confusion matrix CM (rows truth) into SUMS. */
static void sums_of(const int64_t cm[3][3], double sums[EK_SUMS(3)])
{
    int t, p;

    memset(sums, 0, EK_SUMS(3) * sizeof *sums);
    for (t = 0; t < 3; t++) {
        sums[t] = cm[t][t];
        for (p = 0; p < 3; p++) {
            sums[3 + t] += cm[t][p];
            sums[6 + p] += cm[t][p];
            sums[9] += cm[t][p];
        }
    }
}

static void multiclass_by_hand(void **state)
{
    const int64_t cm[3][3] = {{5, 1, 0}, {2, 3, 1}, {0, 0, 0}};
    double sums[EK_SUMS(3)];
    double m[EK_M_COUNT], c[4];

    (void)state;
    sums_of(cm, sums);
    ek_metrics_summary(sums, 3, 0, m);
    assert_float_equal(m[EK_M_ACCURACY], 8.0 / 12, 1e-12);
    /* class 2 never occurs in the truth: the mean recall is over 0 and 1 */
    assert_float_equal(m[EK_M_BALANCED_ACCURACY], (5.0 / 6 + 3.0 / 6) / 2, 1e-12);
    /* pe = (6 * 7 + 6 * 4 + 0 * 1) / 144 */
    assert_float_equal(m[EK_M_KAPPA], (8.0 / 12 - 66.0 / 144) / (1 - 66.0 / 144),
                       1e-12);
    /* IoU: 5 / 8, 3 / 7, 0 / 1 (class 2 is predicted once) */
    assert_float_equal(m[EK_M_MEAN_IOU], (5.0 / 8 + 3.0 / 7 + 0) / 3, 1e-12);
    assert_float_equal(m[EK_M_MEAN_F1], (10.0 / 13 + 6.0 / 10 + 0) / 3, 1e-12);
    ek_metrics_class(sums, 3, 2, c);
    assert_float_equal(c[0], 0, 0);
    assert_true(isnan(c[1])); /* no support: no recall */
    ek_metrics_class(sums, 3, 0, c);
    assert_float_equal(c[0], 5.0 / 7, 1e-12);
    assert_float_equal(c[1], 5.0 / 6, 1e-12);
}

static void nothing_scored_is_undefined(void **state)
{
    double sums[EK_SUMS(2)] = {0};
    double m[EK_M_COUNT];
    int i;

    (void)state;
    ek_metrics_summary(sums, 2, 0, m);
    for (i = 0; i < EK_M_COUNT; i++) {
        assert_true(isnan(m[i]));
    }
    /* one class everywhere, predicted right: kappa has no chance term */
    sums[0] = sums[2] = sums[4] = sums[6] = 10;
    ek_metrics_summary(sums, 2, 0, m);
    assert_float_equal(m[EK_M_ACCURACY], 1, 0);
    assert_true(isnan(m[EK_M_KAPPA]));
    assert_float_equal(m[EK_M_MEAN_IOU], 1, 0);
}

static void multilabel_by_hand(void **state)
{
    /* 4 chips, 2 classes: class 0 truth 1100 pred 1010; class 1 truth 0011
       pred 0011 */
    double sums[EK_SUMS(2)] = {1, 2, 2, 2, 2, 2, 4};
    double m[EK_M_COUNT];

    (void)state;
    ek_metrics_summary(sums, 2, 1, m);
    assert_float_equal(m[EK_M_ACCURACY], 6.0 / 8, 1e-12);
    assert_float_equal(m[EK_M_BALANCED_ACCURACY], (0.5 + 1.0) / 2, 1e-12);
    /* pooled: pt = pp = 4 / 8, pe = 0.5 */
    assert_float_equal(m[EK_M_KAPPA], (0.75 - 0.5) / 0.5, 1e-12);
    assert_float_equal(m[EK_M_MEAN_IOU], (1.0 / 3 + 1) / 2, 1e-12);
}

static void percentile_like_numpy(void **state)
{
    /* numpy.percentile([3, 1, nan, 4, 1, 5], [2.5, 50, 97.5]) without the NaN
       = 1.0, 3.0, 4.9 */
    const double v[] = {3, 1, NAN, 4, 1, 5};
    double scratch[6];

    (void)state;
    assert_float_equal(ek_percentile(v, 6, 1, 2.5, scratch), 1.0, 1e-15);
    assert_float_equal(ek_percentile(v, 6, 1, 50, scratch), 3.0, 1e-15);
    assert_float_equal(ek_percentile(v, 6, 1, 97.5, scratch), 4.9, 1e-12);
    assert_float_equal(ek_percentile(v, 3, 2, 50, scratch), 2.0, 0); /* 3, nan, 1 */
    assert_true(isnan(ek_percentile(v + 2, 1, 1, 50, scratch)));
}

static void bootstrap_adds_blocks(void **state)
{
    /* two classes; block 0 all right, block 1 all wrong */
    const double units[2][EK_SUMS(2)] = {{5, 5, 5, 5, 5, 5, 10},
                                         {0, 0, 5, 5, 5, 5, 10}};
    const size_t all[2] = {0, 1}, same[2] = {0, 0};
    double a[200 * EK_M_COUNT], b[200 * EK_M_COUNT];
    eodkit_ctx *ctx = eodkit_ctx_new();
    int r, mixed = 0;

    (void)state;
    assert_int_equal(ek_bootstrap(ctx, &units[0][0], all, 2, 2, 0, 200, 42, a), 0);
    assert_int_equal(ek_bootstrap(ctx, &units[0][0], all, 2, 2, 0, 200, 42, b), 0);
    assert_memory_equal(a, b, sizeof a);
    for (r = 0; r < 200; r++) {
        double acc = a[r * EK_M_COUNT + EK_M_ACCURACY];

        /* a replicate holds block 0 twice, block 1 twice, or one of each */
        assert_true(acc == 1 || acc == 0 || acc == 0.5);
        mixed += acc == 0.5;
    }
    assert_true(mixed > 60 && mixed < 140);
    assert_int_equal(ek_bootstrap(ctx, &units[0][0], same, 2, 2, 0, 200, 1, a), 0);
    for (r = 0; r < 200; r++) {
        assert_float_equal(a[r * EK_M_COUNT + EK_M_ACCURACY], 1, 0);
    }
    eodkit_ctx_free(ctx);
}

static void font_width(void **state)
{
    (void)state;
    assert_int_equal(ek_font_width("#25"), 3 * EK_FONT_ADVANCE);
    assert_int_equal(ek_font_width("S\xc3\xa3o"), 3 * EK_FONT_ADVANCE); /* São */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(multiclass_by_hand),
        cmocka_unit_test(nothing_scored_is_undefined),
        cmocka_unit_test(multilabel_by_hand),
        cmocka_unit_test(percentile_like_numpy),
        cmocka_unit_test(bootstrap_adds_blocks),
        cmocka_unit_test(font_width),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
