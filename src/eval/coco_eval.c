/*
** Eval: the COCO detection metrics by their definitions (cocodataset.org's
** evaluation, as pycocotools computes it): detections matched greedily in
** score order to the best remaining ground truth per IoU threshold (.50 to
** .95 by .05), ground truths and detections outside an area range ignored,
** precision interpolated (monotone from the right) and read at 101 recall
** points; plus COCO's run-length masks.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ek_eval.h"

const double ek_coco_area_range[EK_COCO_AREAS][2] = {
    {0, 1e5 * 1e5}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, 1e5 * 1e5}};

/* numpy.linspace(START, STOP, N)[I]: I * step + START, the last STOP. */
static double linspace(double start, double stop, int n, int i)
{
    return i == n - 1 ? stop : (double)i * ((stop - start) / (double)(n - 1)) + start;
}

double ek_coco_iou_threshold(int t)
{
    return linspace(0.5, 0.95, EK_COCO_IOUS, t);
}

double ek_coco_recall_point(int r)
{
    return linspace(0.0, 1.0, EK_COCO_RECALLS, r);
}

double ek_coco_box_iou(const double d[4], const double g[4])
{
    double w = fmin(d[2] + d[0], g[2] + g[0]) - fmax(d[0], g[0]);
    double h = fmin(d[3] + d[1], g[3] + g[1]) - fmax(d[1], g[1]);
    double i;

    if (w <= 0 || h <= 0) {
        return 0;
    }
    i = w * h;
    return i / (d[2] * d[3] + g[2] * g[3] - i);
}

/* Detection positions by score, highest first; equal scores keep their
   order (numpy's stable sort of -score). */
typedef struct ranked {
    double score;
    size_t at;
} ranked;

static int compare_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;

    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return (x->at > y->at) - (x->at < y->at);
}

int ek_coco_order(eodkit_ctx *ctx, const double *scores, size_t n, size_t *order)
{
    ranked *r = ek_calloc(ctx, n + 1, sizeof *r);
    size_t i;

    if (r == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < n; i++) {
        r[i].score = scores[i];
        r[i].at = i;
    }
    qsort(r, n, sizeof *r, compare_ranked);
    for (i = 0; i < n; i++) {
        order[i] = r[i].at;
    }
    free(r);
    return EODKIT_OK;
}

static int outside(double area, int a)
{
    return area < ek_coco_area_range[a][0] || area > ek_coco_area_range[a][1];
}

int ek_coco_evaluate(eodkit_ctx *ctx, const double *iou, size_t nd, size_t ng,
                     const double *scores, const double *dt_area, const double *gt_area,
                     ek_coco_img *out)
{
    size_t *gts = ek_calloc(ctx, ng + 1, sizeof *gts);
    uint16_t *taken = ek_calloc(ctx, ng + 1, sizeof *taken); /* bit t: gt matched */
    size_t d, g, k;
    int a, t;

    memset(out, 0, sizeof *out);
    out->nd = nd;
    out->scores = ek_calloc(ctx, nd + 1, sizeof *out->scores);
    out->matched = ek_calloc(ctx, EK_COCO_AREAS * nd + 1, sizeof *out->matched);
    out->ignored = ek_calloc(ctx, EK_COCO_AREAS * nd + 1, sizeof *out->ignored);
    if (gts == NULL || taken == NULL || out->scores == NULL || out->matched == NULL ||
        out->ignored == NULL) {
        free(gts);
        free(taken);
        ek_coco_img_clear(out);
        return EODKIT_ERR_NOMEM;
    }
    memcpy(out->scores, scores, nd * sizeof *scores);
    for (a = 0; a < EK_COCO_AREAS; a++) {
        uint16_t *matched = out->matched + (size_t)a * nd;
        uint16_t *ignored = out->ignored + (size_t)a * nd;

        /* ground truths in range first, each half in its own order */
        k = 0;
        for (g = 0; g < ng; g++) {
            if (!outside(gt_area[g], a)) {
                gts[k++] = g;
            }
        }
        out->npig[a] = k;
        for (g = 0; g < ng; g++) {
            if (outside(gt_area[g], a)) {
                gts[k++] = g;
            }
        }
        memset(taken, 0, ng * sizeof *taken);
        for (t = 0; t < EK_COCO_IOUS; t++) {
            for (d = 0; d < nd; d++) {
                double best = fmin(ek_coco_iou_threshold(t), 1 - 1e-10);
                long m = -1;

                for (k = 0; k < ng; k++) {
                    g = gts[k];
                    if (taken[g] & (1u << t)) {
                        continue;
                    }
                    /* a match in range is never traded for an ignored one */
                    if (m > -1 && !outside(gt_area[m], a) && outside(gt_area[g], a)) {
                        break;
                    }
                    if (iou[d * ng + g] < best) {
                        continue;
                    }
                    best = iou[d * ng + g];
                    m = (long)g;
                }
                if (m == -1) {
                    continue;
                }
                taken[m] |= (uint16_t)(1u << t);
                matched[d] |= (uint16_t)(1u << t);
                if (outside(gt_area[m], a)) {
                    ignored[d] |= (uint16_t)(1u << t);
                }
            }
        }
        /* unmatched detections outside the range do not count either */
        for (d = 0; d < nd; d++) {
            if (outside(dt_area[d], a)) {
                ignored[d] |= (uint16_t)(~matched[d] & EK_COCO_ALL_IOUS);
            }
        }
    }
    free(gts);
    free(taken);
    return EODKIT_OK;
}

void ek_coco_img_clear(ek_coco_img *img)
{
    free(img->scores);
    free(img->matched);
    free(img->ignored);
    memset(img, 0, sizeof *img);
}

/* One detection of an accumulation: its score and flags, and its place. */
typedef struct pooled {
    double score;
    size_t at;
    uint16_t matched, ignored;
} pooled;

static int compare_pooled(const void *a, const void *b)
{
    const pooled *x = a, *y = b;

    if (x->score != y->score) {
        return x->score > y->score ? -1 : 1;
    }
    return (x->at > y->at) - (x->at < y->at);
}

int ek_coco_accumulate(eodkit_ctx *ctx, const ek_coco_img *const *imgs, size_t n, int a,
                       int maxdet, double *precision, double *recall)
{
    size_t total = 0, npig = 0, i, d, used = 0;
    pooled *all;
    double *pr, *rc;
    int t, r;

    for (t = 0; t < EK_COCO_IOUS; t++) {
        recall[t] = -1;
        for (r = 0; r < EK_COCO_RECALLS; r++) {
            precision[t * EK_COCO_RECALLS + r] = -1;
        }
    }
    for (i = 0; i < n; i++) {
        total += imgs[i]->nd < (size_t)maxdet ? imgs[i]->nd : (size_t)maxdet;
        npig += imgs[i]->npig[a];
    }
    if (n == 0 || npig == 0) {
        return EODKIT_OK;
    }
    all = ek_calloc(ctx, total + 1, sizeof *all);
    pr = ek_calloc(ctx, total + 1, sizeof *pr);
    rc = ek_calloc(ctx, total + 1, sizeof *rc);
    if (all == NULL || pr == NULL || rc == NULL) {
        free(all);
        free(pr);
        free(rc);
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < n; i++) {
        const ek_coco_img *im = imgs[i];

        for (d = 0; d < im->nd && d < (size_t)maxdet; d++) {
            all[used].score = im->scores[d];
            all[used].at = used;
            all[used].matched = im->matched[(size_t)a * im->nd + d];
            all[used].ignored = im->ignored[(size_t)a * im->nd + d];
            used++;
        }
    }
    qsort(all, total, sizeof *all, compare_pooled);
    for (t = 0; t < EK_COCO_IOUS; t++) {
        double tp = 0, fp = 0;
        size_t at = 0;

        for (d = 0; d < total; d++) {
            int ignore = (all[d].ignored >> t) & 1, match = (all[d].matched >> t) & 1;

            tp += match && !ignore;
            fp += !match && !ignore;
            rc[d] = tp / (double)npig;
            pr[d] = tp / (fp + tp + 2.220446049250313e-16); /* numpy.spacing(1) */
        }
        recall[t] = total > 0 ? rc[total - 1] : 0;
        for (d = total; d > 1; d--) { /* the envelope from the right */
            if (pr[d - 1] > pr[d - 2]) {
                pr[d - 2] = pr[d - 1];
            }
        }
        for (r = 0; r < EK_COCO_RECALLS; r++) {
            double point = ek_coco_recall_point(r);

            while (at < total && rc[at] < point) { /* searchsorted, side left */
                at++;
            }
            precision[t * EK_COCO_RECALLS + r] = at < total ? pr[at] : 0;
        }
    }
    free(all);
    free(pr);
    free(rc);
    return EODKIT_OK;
}

double ek_coco_mean(const double *values, size_t n, size_t stride)
{
    double sum = 0;
    size_t i, used = 0;

    for (i = 0; i < n; i++) {
        if (values[i * stride] > -1) {
            sum += values[i * stride];
            used++;
        }
    }
    return used > 0 ? sum / (double)used : -1;
}

/* Run lengths beyond this are refused: no mask has that many pixels, and
   sums of such values cannot overflow. */
#define RLE_MAX ((int64_t)1 << 48)

int ek_coco_rle_string(eodkit_ctx *ctx, const char *s, int64_t **counts, size_t *n)
{
    size_t len = strlen(s), cap = 0, m = 0, p = 0;
    int64_t *c = NULL;

    *counts = NULL;
    *n = 0;
    while (p < len) {
        uint64_t x = 0;
        int k = 0, more = 1;

        while (more) {
            int v = p < len ? (unsigned char)s[p] - 48 : -1;

            if (v < 0 || v > 63 || k == 8) { /* 8 groups of 5 bits: 40 bits */
                free(c);
                return -1;
            }
            x |= (uint64_t)(v & 0x1f) << (5 * k);
            more = v & 0x20;
            p++;
            k++;
            if (!more && (v & 0x10)) {
                x |= ~(uint64_t)0 << (5 * k); /* sign-extend */
            }
        }
        if (ek_grow(ctx, (void **)&c, &cap, m + 1, sizeof *c) != EODKIT_OK) {
            free(c);
            return EODKIT_ERR_NOMEM;
        }
        c[m] = (int64_t)x + (m > 2 ? c[m - 2] : 0);
        if (c[m] < -RLE_MAX || c[m] > RLE_MAX) {
            free(c);
            return -1;
        }
        m++;
    }
    *counts = c;
    *n = m;
    return EODKIT_OK;
}

int ek_coco_rle_mask(const int64_t *counts, size_t n, int64_t h, int64_t w,
                     uint8_t *mask)
{
    int64_t at = 0, total = h * w;
    size_t i;
    uint8_t v = 0;

    for (i = 0; i < n; i++, v ^= 1) {
        int64_t j;

        if (counts[i] < 0 || counts[i] > total - at) {
            return -1;
        }
        for (j = at; j < at + counts[i]; j++) {
            mask[(j % h) * w + j / h] = v; /* column-major runs */
        }
        at += counts[i];
    }
    return at == total ? 0 : -1;
}
