/*
** Unit tests of the COCO detection metrics (src/eval/coco_eval.c) on cases
** worked out by hand: a hit before or after a false alarm, IoU thresholds,
** area ranges, the detections-per-chip limits, a matched ground truth not
** taken twice, and COCO's compressed RLE strings.
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

#define PT (EK_COCO_IOUS * EK_COCO_RECALLS)

/* Evaluate detections D (ND boxes, SCORES given highest first) against
   ground truths G (NG boxes) of one chip, boxes as [x, y, w, h]; areas are
   the boxes'. */
static void evaluate(const double (*d)[4], const double *scores, size_t nd,
                     const double (*g)[4], size_t ng, ek_coco_img *img)
{
    double iou[16 * 16], dt_area[16], gt_area[16];
    eodkit_ctx *ctx = eodkit_ctx_new();
    size_t i, j;

    for (i = 0; i < nd; i++) {
        dt_area[i] = d[i][2] * d[i][3];
        for (j = 0; j < ng; j++) {
            iou[i * ng + j] = ek_coco_box_iou(d[i], g[j]);
        }
    }
    for (j = 0; j < ng; j++) {
        gt_area[j] = g[j][2] * g[j][3];
    }
    assert_int_equal(ek_coco_evaluate(ctx, iou, nd, ng, scores, dt_area, gt_area, img),
                     EODKIT_OK);
    eodkit_ctx_free(ctx);
}

/* AP of IMG at threshold T (or over every threshold when T < 0), area A,
   at most MAXDET detections; RECALL_OUT the recall at T when given. */
static double ap(const ek_coco_img *img, int t, int a, int maxdet, double *recall_out)
{
    double precision[PT], recall[EK_COCO_IOUS];
    const ek_coco_img *imgs[1] = {img};
    eodkit_ctx *ctx = eodkit_ctx_new();

    assert_int_equal(ek_coco_accumulate(ctx, imgs, 1, a, maxdet, precision, recall),
                     EODKIT_OK);
    eodkit_ctx_free(ctx);
    if (recall_out != NULL) {
        *recall_out = recall[t < 0 ? 0 : t];
    }
    return t < 0 ? ek_coco_mean(precision, PT, 1)
                 : ek_coco_mean(precision + t * EK_COCO_RECALLS, EK_COCO_RECALLS, 1);
}

static void thresholds_like_numpy(void **state)
{
    (void)state;
    /* numpy.linspace(.5, .95, 10) and numpy.linspace(0, 1, 101) */
    assert_true(ek_coco_iou_threshold(0) == 0.5);
    assert_true(ek_coco_iou_threshold(5) == 0.75);
    assert_true(ek_coco_iou_threshold(9) == 0.95);
    assert_true(ek_coco_iou_threshold(2) == 2 * ((0.95 - 0.5) / 9) + 0.5);
    assert_true(ek_coco_recall_point(3) == 3 * 0.01);
    assert_true(ek_coco_recall_point(100) == 1.0);
}

static void box_iou_by_hand(void **state)
{
    const double g[4] = {0, 0, 10, 10}, d[4] = {5, 0, 10, 10}, far[4] = {20, 20, 5, 5};

    (void)state;
    assert_float_equal(ek_coco_box_iou(d, g), 50.0 / 150.0, 1e-15);
    assert_float_equal(ek_coco_box_iou(far, g), 0, 0);
    assert_float_equal(ek_coco_box_iou(g, g), 1, 0);
}

static void hit_then_false_alarm(void **state)
{
    /* IoU 0.62: matched at thresholds .50, .55 and .60 only; the hit comes
       first, so precision is 1 wherever recall is reached */
    const double g[1][4] = {{0, 0, 10, 10}};
    const double d[2][4] = {{0, 0, 10, 6.2}, {50, 50, 10, 10}};
    const double scores[2] = {0.9, 0.8};
    ek_coco_img img;
    double recall;

    (void)state;
    evaluate(d, scores, 2, g, 1, &img);
    assert_int_equal(img.matched[0], 0x7);
    assert_int_equal(img.matched[1], 0);
    assert_int_equal(img.npig[0], 1);
    assert_float_equal(ap(&img, 0, 0, 100, &recall), 1, 1e-12);
    assert_float_equal(recall, 1, 0);
    assert_float_equal(ap(&img, 5, 0, 100, &recall), 0, 0);
    assert_float_equal(recall, 0, 0);
    assert_float_equal(ap(&img, -1, 0, 100, NULL), 0.3, 1e-12);
    ek_coco_img_clear(&img);
}

static void false_alarm_then_hit(void **state)
{
    /* precision 0 then 1/2: interpolated from the right, 1/2 everywhere */
    const double g[1][4] = {{0, 0, 10, 10}};
    const double d[2][4] = {{50, 50, 10, 10}, {0, 0, 10, 10}};
    const double scores[2] = {0.9, 0.8};
    ek_coco_img img;

    (void)state;
    evaluate(d, scores, 2, g, 1, &img);
    assert_float_equal(ap(&img, 0, 0, 100, NULL), 0.5, 1e-12);
    assert_float_equal(ap(&img, 9, 0, 100, NULL), 0.5, 1e-12); /* a perfect box */
    /* one detection per chip: only the false alarm is seen */
    assert_float_equal(ap(&img, 0, 0, 1, NULL), 0, 0);
    ek_coco_img_clear(&img);
}

static void half_the_objects_found(void **state)
{
    /* two objects, one found: precision 1 up to recall 1/2, then nothing:
       51 of the 101 recall points (0 to .50) hold 1 */
    const double g[2][4] = {{0, 0, 10, 10}, {30, 30, 10, 10}};
    const double d[1][4] = {{0, 0, 10, 10}};
    const double scores[1] = {0.5};
    ek_coco_img img;
    double recall;

    (void)state;
    evaluate(d, scores, 1, g, 2, &img);
    assert_float_equal(ap(&img, 0, 0, 100, &recall), 51.0 / 101.0, 1e-12);
    assert_float_equal(recall, 0.5, 0);
    ek_coco_img_clear(&img);
}

static void a_truth_is_matched_once(void **state)
{
    /* two detections on the same object: the better scored takes it */
    const double g[1][4] = {{0, 0, 10, 10}};
    const double d[2][4] = {{0, 0, 10, 10}, {0, 0, 10, 9}};
    const double scores[2] = {0.9, 0.8};
    ek_coco_img img;

    (void)state;
    evaluate(d, scores, 2, g, 1, &img);
    assert_int_equal(img.matched[0], EK_COCO_ALL_IOUS);
    assert_int_equal(img.matched[1], 0);
    ek_coco_img_clear(&img);
}

static void area_ranges(void **state)
{
    /* a medium object (40 x 40 = 1600 pixels) found; a small false alarm */
    const double g[1][4] = {{0, 0, 40, 40}};
    const double d[2][4] = {{100, 100, 5, 5}, {0, 0, 40, 40}};
    const double scores[2] = {0.95, 0.9};
    ek_coco_img img;

    (void)state;
    evaluate(d, scores, 2, g, 1, &img);
    assert_int_equal(img.npig[1], 0);
    assert_int_equal(img.npig[2], 1);
    assert_int_equal(img.npig[3], 0);
    /* no small object: undefined (-1); the medium range ignores the small
       false alarm; every area counts it */
    assert_float_equal(ap(&img, 0, 1, 100, NULL), -1, 0);
    assert_float_equal(ap(&img, 0, 2, 100, NULL), 1, 1e-12);
    assert_float_equal(ap(&img, 0, 0, 100, NULL), 0.5, 1e-12);
    assert_int_equal(img.ignored[2 * 2 + 0], EK_COCO_ALL_IOUS);
    assert_int_equal(img.ignored[2 * 2 + 1], 0);
    assert_int_equal(img.ignored[0 * 2 + 0], 0);
    ek_coco_img_clear(&img);
}

static void order_keeps_ties(void **state)
{
    const double scores[5] = {0.5, 0.9, 0.5, 0.1, 0.9};
    size_t order[5];
    eodkit_ctx *ctx = eodkit_ctx_new();

    (void)state;
    assert_int_equal(ek_coco_order(ctx, scores, 5, order), EODKIT_OK);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 4);
    assert_int_equal(order[2], 0);
    assert_int_equal(order[3], 2);
    assert_int_equal(order[4], 3);
    eodkit_ctx_free(ctx);
}

static void rle_strings(void **state)
{
    /* pycocotools' encoding: 5-bit groups, from the third run on relative
       to the run two before */
    eodkit_ctx *ctx = eodkit_ctx_new();
    int64_t *counts = NULL;
    uint8_t mask[9];
    size_t n;

    (void)state;
    assert_int_equal(ek_coco_rle_string(ctx, "231", &counts, &n), EODKIT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 3);
    assert_int_equal(counts[2], 1);
    /* 2 x 3, column-major: 0 0 | 1 1 | 1 0 */
    assert_int_equal(ek_coco_rle_mask(counts, n, 2, 3, mask), 0);
    assert_int_equal(mask[0], 0);
    assert_int_equal(mask[3], 0);
    assert_int_equal(mask[1], 1);
    assert_int_equal(mask[4], 1);
    assert_int_equal(mask[2], 1);
    assert_int_equal(mask[5], 0);
    free(counts);
    /* a run shorter than the one two before: a negative difference ('L') */
    assert_int_equal(ek_coco_rle_string(ctx, "152L", &counts, &n), EODKIT_OK);
    assert_int_equal(n, 4);
    assert_int_equal(counts[3], 1);
    /* 3 x 3, column-major 0 | 1 1 1 1 1 | 0 0 | 1 */
    assert_int_equal(ek_coco_rle_mask(counts, n, 3, 3, mask), 0);
    assert_memory_equal(mask, ((const uint8_t[9]){0, 1, 0, 1, 1, 0, 1, 1, 1}), 9);
    /* runs that do not add up to the mask's pixels */
    assert_int_equal(ek_coco_rle_mask(counts, n, 2, 2, mask), -1);
    free(counts);
    assert_int_equal(ek_coco_rle_string(ctx, "2 3", &counts, &n), -1);
    eodkit_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thresholds_like_numpy),
        cmocka_unit_test(box_iou_by_hand),
        cmocka_unit_test(hit_then_false_alarm),
        cmocka_unit_test(false_alarm_then_hit),
        cmocka_unit_test(half_the_objects_found),
        cmocka_unit_test(a_truth_is_matched_once),
        cmocka_unit_test(area_ranges),
        cmocka_unit_test(order_keeps_ties),
        cmocka_unit_test(rle_strings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
