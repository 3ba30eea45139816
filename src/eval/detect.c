/*
** Eval: detections of a detection or instance dataset (doc/cmd/eval.md,
** "Objects"). Matches the predictions (detections.c) to each chip's objects
** by box or mask IoU (coco_eval.c), and reports COCO's AP and AR, AP per
** class, and precision and recall at a score threshold, overall and per
** group, with intervals from a bootstrap that resamples spatial blocks of
** chips.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_rand.h"
#include "eodkit/eval.h"
#include "ek_eval.h"

#define CI_LOW 2.5
#define CI_HIGH 97.5

/* The metrics with bootstrap intervals (and gaps), in this order. */
enum { D_MAP, D_MAP_50, D_MAP_75, D_PRECISION, D_RECALL, D_F1, D_COUNT };
static const char *const d_names[D_COUNT] = {"map",       "map_50", "map_75",
                                             "precision", "recall", "f1"};

/* COCO's other summary numbers: area and max-detection variants. */
enum {
    S_MAP_SMALL,
    S_MAP_MEDIUM,
    S_MAP_LARGE,
    S_MAR_1,
    S_MAR_10,
    S_MAR_100,
    S_MAR_SMALL,
    S_MAR_MEDIUM,
    S_MAR_LARGE,
    S_COUNT
};
static const char *const s_names[S_COUNT] = {"map_small", "map_medium", "map_large",
                                             "mar_1",     "mar_10",     "mar_100",
                                             "mar_small", "mar_medium", "mar_large"};

static const int maxdets[3] = {1, 10, EK_COCO_MAXDET};

/* A group of chips (or the whole) and its numbers. */
typedef struct dgroup {
    const char *name;
    const size_t *units; /* units (or, for the whole, blocks) it resamples */
    size_t nunits, chips;
    int64_t objects, detections;
    double value[D_COUNT], low[D_COUNT], high[D_COUNT];
    double summary[S_COUNT];
    double *class_ap;      /* per class: AP, AP50, AP75 (3 each) */
    int64_t *class_counts; /* per class: objects, detections, tp, fp (4 each) */
} dgroup;

typedef struct detect {
    eodkit_ctx *ctx;
    const eodkit_eval_options *opt;
    const char *pred_path;
    const ek_chipset *cs;
    const ek_classes *cl;
    int segm;          /* masks, not boxes */
    int64_t h, w;      /* chip size */
    size_t k;          /* classes of objects (the background left out) */
    ek_detections pr;  /* the predictions */
    ek_coco_img *imgs; /* per (chip, class) */
    uint8_t *has;      /* per (chip, class): objects or detections there */
    int64_t *counts;   /* per (chip, class): objects, detections, tp, fp */
    ek_groups gr;
    size_t *unit_chips, *unit_start; /* chips of each unit, by chip id */
    size_t *block_chips, *block_start;
    dgroup all;
    dgroup *groups;
    double *samples; /* replicates x D_COUNT */
    double *scratch;
    double *gap_best[D_COUNT], *gap_worst[D_COUNT];
    int best[D_COUNT], worst[D_COUNT];
    double gap[D_COUNT], gap_low[D_COUNT], gap_high[D_COUNT];
} detect;

/* ---- matching, chip by chip ---- */

/* IoU of two h x w masks (non-crowd: intersection over union). */
static double mask_iou(const uint8_t *a, const uint8_t *b, size_t npx)
{
    size_t i, both = 0, either = 0;

    for (i = 0; i < npx; i++) {
        both += a[i] & b[i];
        either += a[i] | b[i];
    }
    return either > 0 ? (double)both / (double)either : 0;
}

/* What one chip's evaluation needs: its objects, their masks and areas. */
typedef struct chip_truth {
    ek_chip_objects obj;
    unsigned char *instance; /* the instance row (instance datasets) */
    int id_size;             /* 2 or 4 */
    double *area;            /* per object */
    uint8_t *gt_masks;       /* segm: per object of the class at hand */
    uint8_t *dt_masks;
    size_t *gts; /* the objects of the class at hand */
    double *iou, *scores, *dt_area;
    double *gt_area;
    size_t *order;
} chip_truth;

/* Evaluate class C of chip I: its objects T (NG of them, T->gts) against
   the detections DETS (ND, file order). */
static int evaluate_class(detect *d, size_t i, size_t c, chip_truth *t, size_t ng,
                          const ek_detection *dets, size_t nd)
{
    size_t npx = (size_t)(d->h * d->w),
           kept = nd < EK_COCO_MAXDET ? nd : EK_COCO_MAXDET;
    size_t a, b, j;
    int rc = EODKIT_OK;

    for (j = 0; j < nd; j++) {
        t->scores[j] = dets[j].score;
    }
    rc = ek_coco_order(d->ctx, t->scores, nd, t->order);
    for (a = 0; a < kept && rc == EODKIT_OK; a++) {
        const ek_detection *x = &dets[t->order[a]];

        t->scores[a] = x->score;
        t->dt_area[a] = x->area;
        if (d->segm) {
            rc = ek_detection_mask(d->ctx, x, d->h, d->w, t->dt_masks + a * npx);
        }
    }
    for (b = 0; b < ng; b++) {
        const float *box = t->obj.boxes + 4 * t->gts[b];
        double g[4] = {box[0], box[1], (double)box[2] - box[0],
                       (double)box[3] - box[1]};

        t->gt_area[b] = t->area[t->gts[b]];
        for (j = 0; d->segm && j < npx; j++) {
            t->gt_masks[b * npx + j] =
                ek_instance_id(t->instance, t->id_size, j) == t->obj.ids[t->gts[b]];
        }
        for (a = 0; a < kept && rc == EODKIT_OK; a++) {
            t->iou[a * ng + b] =
                d->segm ? mask_iou(t->dt_masks + a * npx, t->gt_masks + b * npx, npx)
                        : ek_coco_box_iou(dets[t->order[a]].bbox, g);
        }
    }
    if (rc == EODKIT_OK) {
        rc = ek_coco_evaluate(d->ctx, t->iou, kept, ng, t->scores, t->dt_area,
                              t->gt_area, &d->imgs[i * d->k + c]);
    }
    d->has[i * d->k + c] = 1;
    return rc;
}

static void chip_buffers_free(chip_truth *t)
{
    free(t->gt_masks);
    free(t->dt_masks);
    free(t->gts);
    free(t->iou);
    free(t->scores);
    free(t->dt_area);
    free(t->gt_area);
    free(t->order);
}

/* New per-chip buffers of T for NG objects and ND detections. */
static int chip_buffers(detect *d, chip_truth *t, size_t ng, size_t nd)
{
    size_t npx = d->segm ? (size_t)(d->h * d->w) : 0;

    chip_buffers_free(t);
    t->gt_masks = ek_calloc(d->ctx, ng * npx + 1, 1);
    t->dt_masks = ek_calloc(d->ctx, EK_COCO_MAXDET * npx + 1, 1);
    t->gts = ek_calloc(d->ctx, ng + 1, sizeof *t->gts);
    t->iou = ek_calloc(d->ctx, EK_COCO_MAXDET * ng + 1, sizeof *t->iou);
    t->scores = ek_calloc(d->ctx, nd + 1, sizeof *t->scores);
    t->dt_area = ek_calloc(d->ctx, EK_COCO_MAXDET + 1, sizeof *t->dt_area);
    t->gt_area = ek_calloc(d->ctx, ng + 1, sizeof *t->gt_area);
    t->order = ek_calloc(d->ctx, nd + 1, sizeof *t->order);
    return t->gt_masks == NULL || t->dt_masks == NULL || t->gts == NULL ||
                   t->iou == NULL || t->scores == NULL || t->dt_area == NULL ||
                   t->gt_area == NULL || t->order == NULL
               ? EODKIT_ERR_NOMEM
               : EODKIT_OK;
}

/* The areas of T's objects: pixels of their instance masks (instance
   datasets, as COCO's annotations give them), else their boxes' areas. */
static void object_areas(detect *d, chip_truth *t)
{
    size_t npx = (size_t)(d->h * d->w), j, px;

    for (j = 0; j < t->obj.n; j++) {
        const float *box = t->obj.boxes + 4 * j;

        t->area[j] = ((double)box[2] - box[0]) * ((double)box[3] - box[1]);
        if (t->instance != NULL) {
            t->area[j] = 0;
            for (px = 0; px < npx; px++) {
                t->area[j] +=
                    ek_instance_id(t->instance, t->id_size, px) == t->obj.ids[j];
            }
        }
    }
}

/* Match the detections of every chip to its objects, class by class. */
static int match_chips(detect *d)
{
    ek_object_reader reader;
    ek_shard_reader masks;
    chip_truth t;
    json_t *arrays =
        json_object_get(json_object_get(d->cs->collection, "eodkit:label"), "arrays");
    json_t *inst = json_object_get(arrays, "instance");
    size_t i, c, next = 0, j;
    int rc;

    memset(&t, 0, sizeof t);
    t.id_size = strcmp(json_string_value(json_object_get(inst, "dtype")) != NULL
                           ? json_string_value(json_object_get(inst, "dtype"))
                           : "",
                       "uint32") == 0
                    ? 4
                    : 2;
    ek_shard_reader_init(&masks, d->cs, "instance",
                         (size_t)(d->h * d->w) * (size_t)t.id_size);
    rc = ek_object_reader_init(d->ctx, &reader, d->cs);
    if (rc == EODKIT_OK && inst != NULL) {
        t.instance = ek_calloc(d->ctx, (size_t)(d->h * d->w), (size_t)t.id_size);
        rc = t.instance == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    for (i = 0; i < d->cs->n && rc == EODKIT_OK; i++) {
        rc = ek_object_reader_chip(d->ctx, &reader, d->cs->chips[i], &t.obj);
        if (rc == EODKIT_OK && t.instance != NULL) {
            rc = ek_shard_reader_row(d->ctx, &masks, d->cs->chips[i], t.instance);
        }
        if (rc == EODKIT_OK) {
            free(t.area);
            t.area = ek_calloc(d->ctx, t.obj.n + 1, sizeof *t.area);
            rc = t.area == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        }
        if (rc == EODKIT_OK) {
            object_areas(d, &t);
        }
        for (c = 0; c < d->k && rc == EODKIT_OK; c++) {
            size_t first = next, ng = 0;
            int64_t *counts = d->counts + (i * d->k + c) * 4;

            while (next < d->pr.n && d->pr.dets[next].chip == i &&
                   d->pr.dets[next].cls == c) {
                next++;
            }
            rc = chip_buffers(d, &t, t.obj.n, next - first);
            for (j = 0; rc == EODKIT_OK && j < t.obj.n; j++) {
                if (t.obj.cls[j] == d->pr.ids[c]) {
                    t.gts[ng++] = j;
                }
            }
            counts[0] = (int64_t)ng;
            counts[1] = (int64_t)(next - first);
            if (rc == EODKIT_OK && (ng > 0 || next > first)) {
                rc = evaluate_class(d, i, c, &t, ng, d->pr.dets + first, next - first);
            }
        }
    }
    ek_chip_objects_free(&t.obj);
    chip_buffers_free(&t);
    free(t.area);
    free(t.instance);
    ek_shard_reader_close(&masks);
    ek_object_reader_close(&reader);
    return rc;
}

/* ---- metrics ---- */

/* TP and FP at the score threshold (IoU .5, every area) of chip I, class C
   into the chip's counts. */
static void count_at_threshold(detect *d, size_t i, size_t c)
{
    const ek_coco_img *im = &d->imgs[i * d->k + c];
    int64_t *counts = d->counts + (i * d->k + c) * 4;
    size_t j;

    counts[2] = counts[3] = 0;
    for (j = 0; j < im->nd; j++) {
        if (im->scores[j] >= d->opt->threshold && !(im->ignored[j] & 1)) {
            counts[2 + !(im->matched[j] & 1)]++;
        }
    }
}

/* Mean (COCO's, values above -1) over the K classes of N values each, class
   c's at BASE + c * STRIDE. */
static double class_mean(const double *base, size_t k, size_t stride, size_t n,
                         double *scratch)
{
    size_t c;

    for (c = 0; c < k; c++) {
        memcpy(scratch + c * n, base + c * stride, n * sizeof *scratch);
    }
    return ek_coco_mean(scratch, k * n, 1);
}

static double defined(double v)
{
    return v == -1 ? NAN : v;
}

/*
** The metrics of the N chips CHIPS (set positions; repeats allowed) into
** VALUE (D_COUNT) and, when SUMMARY is given, COCO's other numbers into
** SUMMARY and AP, AP50 and AP75 per class into CLASS_AP. NaN where
** undefined. A bootstrap replicate (no SUMMARY) accumulates only what AP
** needs: every area, at most 100 detections.
*/
static int measure(detect *d, const size_t *chips, size_t n, double *value,
                   double *summary, double *class_ap)
{
    const size_t PT = EK_COCO_IOUS * EK_COCO_RECALLS, AM = EK_COCO_AREAS * 3;
    const ek_coco_img **imgs = ek_calloc(d->ctx, n + 1, sizeof *imgs);
    double *precision = ek_calloc(d->ctx, d->k * AM * PT + 1, sizeof(double));
    double *recall = ek_calloc(d->ctx, d->k * AM * EK_COCO_IOUS + 1, sizeof(double));
    double *scratch = ek_calloc(d->ctx, d->k * PT + 1, sizeof(double));
    const double *p100; /* every area, at most 100 detections */
    int64_t tp = 0, fp = 0, npig = 0;
    size_t c, j, used, slot;
    int a, m,
        rc = imgs == NULL || precision == NULL || recall == NULL || scratch == NULL
                 ? EODKIT_ERR_NOMEM
                 : EODKIT_OK;

    for (c = 0; c < d->k && rc == EODKIT_OK; c++) {
        used = 0;
        for (j = 0; j < n; j++) {
            size_t at = chips[j] * d->k + c;

            if (d->has[at]) {
                imgs[used++] = &d->imgs[at];
                npig += (int64_t)d->imgs[at].npig[0];
                tp += d->counts[at * 4 + 2];
                fp += d->counts[at * 4 + 3];
            }
        }
        for (a = 0; a < EK_COCO_AREAS && rc == EODKIT_OK; a++) {
            for (m = 0; m < 3 && rc == EODKIT_OK; m++) {
                if ((a > 0 && m < 2) || (summary == NULL && (a > 0 || m < 2))) {
                    continue;
                }
                slot = (c * EK_COCO_AREAS + (size_t)a) * 3 + (size_t)m;
                rc = ek_coco_accumulate(d->ctx, imgs, used, a, maxdets[m],
                                        precision + slot * PT,
                                        recall + slot * EK_COCO_IOUS);
            }
        }
    }
    if (rc == EODKIT_OK) {
        p100 = precision + 2 * PT;
        value[D_MAP] = defined(class_mean(p100, d->k, AM * PT, PT, scratch));
        value[D_MAP_50] =
            defined(class_mean(p100, d->k, AM * PT, EK_COCO_RECALLS, scratch));
        value[D_MAP_75] = defined(class_mean(p100 + 5 * EK_COCO_RECALLS, d->k, AM * PT,
                                             EK_COCO_RECALLS, scratch));
    }
    for (a = 1; rc == EODKIT_OK && summary != NULL && a < EK_COCO_AREAS; a++) {
        summary[S_MAP_SMALL + a - 1] = defined(class_mean(
            precision + ((size_t)a * 3 + 2) * PT, d->k, AM * PT, PT, scratch));
        summary[S_MAR_SMALL + a - 1] =
            defined(class_mean(recall + ((size_t)a * 3 + 2) * EK_COCO_IOUS, d->k,
                               AM * EK_COCO_IOUS, EK_COCO_IOUS, scratch));
    }
    for (m = 0; rc == EODKIT_OK && summary != NULL && m < 3; m++) {
        summary[S_MAR_1 + m] =
            defined(class_mean(recall + (size_t)m * EK_COCO_IOUS, d->k,
                               AM * EK_COCO_IOUS, EK_COCO_IOUS, scratch));
    }
    for (c = 0; rc == EODKIT_OK && class_ap != NULL && c < d->k; c++) {
        const double *pc = p100 + c * AM * PT;

        class_ap[c * 3] = defined(ek_coco_mean(pc, PT, 1));
        class_ap[c * 3 + 1] = defined(ek_coco_mean(pc, EK_COCO_RECALLS, 1));
        class_ap[c * 3 + 2] =
            defined(ek_coco_mean(pc + 5 * EK_COCO_RECALLS, EK_COCO_RECALLS, 1));
    }
    value[D_PRECISION] = tp + fp > 0 ? (double)tp / (double)(tp + fp) : NAN;
    value[D_RECALL] = npig > 0 ? (double)tp / (double)npig : NAN;
    value[D_F1] =
        tp + fp + npig > 0 ? 2.0 * (double)tp / (double)(tp + fp + npig) : NAN;
    free(imgs);
    free(precision);
    free(recall);
    free(scratch);
    return rc;
}

/* Sort the N chips CHIPS (set positions) by chip id: COCO evaluates images
   in id order. */
static int sort_by_id(detect *d, size_t *chips, size_t n)
{
    ek_chip_key *keys = ek_calloc(d->ctx, n + 1, sizeof *keys);
    size_t i;

    if (keys == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < n; i++) {
        keys[i].id = d->cs->ix->chips[d->cs->chips[chips[i]]].chip_id;
        keys[i].at = chips[i];
    }
    qsort(keys, n, sizeof *keys, ek_chip_key_compare);
    for (i = 0; i < n; i++) {
        chips[i] = keys[i].at;
    }
    free(keys);
    return EODKIT_OK;
}

/* CSR lists of the chips in each of N bins (KEY[i] per chip of the set),
   each list in chip id order. */
static int bin_chips(detect *d, const size_t *key, size_t n, size_t **start,
                     size_t **chips)
{
    size_t i, *fill, *by_id = ek_calloc(d->ctx, d->cs->n + 1, sizeof *by_id);
    int rc;

    *start = ek_calloc(d->ctx, n + 2, sizeof **start);
    *chips = ek_calloc(d->ctx, d->cs->n + 1, sizeof **chips);
    fill = ek_calloc(d->ctx, n + 1, sizeof *fill);
    rc = by_id == NULL || *start == NULL || *chips == NULL || fill == NULL
             ? EODKIT_ERR_NOMEM
             : EODKIT_OK;
    for (i = 0; rc == EODKIT_OK && i < d->cs->n; i++) {
        by_id[i] = i;
        (*start)[key[i] + 1]++;
    }
    if (rc == EODKIT_OK) {
        rc = sort_by_id(d, by_id, d->cs->n);
    }
    for (i = 0; rc == EODKIT_OK && i < n; i++) {
        (*start)[i + 1] += (*start)[i];
    }
    for (i = 0; rc == EODKIT_OK && i < d->cs->n; i++) {
        size_t b = key[by_id[i]];

        (*chips)[(*start)[b] + fill[b]++] = by_id[i];
    }
    free(by_id);
    free(fill);
    return rc;
}

/* The chips of bins UNITS[PICK[j]] (or UNITS[j] without PICK), j < M, of
   the lists START/CHIPS into OUT, in that order; return their number. */
static size_t gather(const size_t *units, size_t m, const size_t *pick,
                     const size_t *start, const size_t *chips, size_t *out)
{
    size_t j, n = 0, c;

    for (j = 0; j < m; j++) {
        size_t u = units[pick != NULL ? pick[j] : j];

        for (c = start[u]; c < start[u + 1]; c++) {
            out[n++] = chips[c];
        }
    }
    return n;
}

/* G's point estimates: its chips (of its units in the lists START/CHIPS)
   in chip id order, their counts and metrics. */
static int point_estimate(detect *d, dgroup *g, const size_t *start,
                          const size_t *chips)
{
    size_t *sample = ek_calloc(d->ctx, d->cs->n + 1, sizeof *sample), j, c, m;
    int rc;

    g->class_ap = ek_calloc(d->ctx, 3 * d->k + 1, sizeof *g->class_ap);
    g->class_counts = ek_calloc(d->ctx, 4 * d->k + 1, sizeof *g->class_counts);
    if (sample == NULL || g->class_ap == NULL || g->class_counts == NULL) {
        free(sample);
        return EODKIT_ERR_NOMEM;
    }
    g->chips = gather(g->units, g->nunits, NULL, start, chips, sample);
    rc = sort_by_id(d, sample, g->chips);
    for (j = 0; j < g->chips; j++) {
        for (c = 0; c < d->k; c++) {
            for (m = 0; m < 4; m++) {
                g->class_counts[c * 4 + m] += d->counts[(sample[j] * d->k + c) * 4 + m];
            }
        }
    }
    for (c = 0; c < d->k; c++) {
        g->objects += g->class_counts[c * 4];
        g->detections += g->class_counts[c * 4 + 1];
    }
    if (rc == EODKIT_OK) {
        rc = measure(d, sample, g->chips, g->value, g->summary, g->class_ap);
    }
    free(sample);
    return rc;
}

/* G's intervals: the bootstrap over its units (lists START/CHIPS), seeded
   with SEED; GI its number (-1: the whole) keeps the replicates of the
   best and worst groups for the gaps. */
static int bootstrap(detect *d, dgroup *g, const size_t *start, const size_t *chips,
                     uint64_t seed, int gi)
{
    size_t n = d->opt->bootstrap > 0 ? (size_t)d->opt->bootstrap : 0, r, j, m, most = 0;
    size_t *pick = ek_calloc(d->ctx, g->nunits + 1, sizeof *pick), *sample;
    uint64_t state = seed;
    int rc = EODKIT_OK;

    for (j = 0; j < g->nunits; j++) {
        size_t u = g->units[j];

        most = start[u + 1] - start[u] > most ? start[u + 1] - start[u] : most;
    }
    sample = ek_calloc(d->ctx, most * g->nunits + 1, sizeof *sample);
    for (m = 0; m < D_COUNT; m++) {
        g->low[m] = g->high[m] = NAN;
    }
    if (pick == NULL || sample == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (r = 0; r < n && rc == EODKIT_OK; r++) {
        for (j = 0; j < g->nunits; j++) {
            pick[j] = (size_t)(ek_rand_next(&state) % g->nunits);
        }
        rc = measure(d, sample, gather(g->units, g->nunits, pick, start, chips, sample),
                     d->samples + r * D_COUNT, NULL, NULL);
    }
    for (m = 0; m < D_COUNT && rc == EODKIT_OK && n > 0; m++) {
        g->low[m] = ek_percentile(d->samples + m, n, D_COUNT, CI_LOW, d->scratch);
        g->high[m] = ek_percentile(d->samples + m, n, D_COUNT, CI_HIGH, d->scratch);
        for (r = 0; r < n && gi >= 0; r++) {
            if (gi == d->best[m]) {
                d->gap_best[m][r] = d->samples[r * D_COUNT + m];
            }
            if (gi == d->worst[m]) {
                d->gap_worst[m][r] = d->samples[r * D_COUNT + m];
            }
        }
    }
    free(sample);
    free(pick);
    return rc;
}

static int alloc_groups(detect *d, size_t n)
{
    size_t m;

    d->samples = ek_calloc(d->ctx, n * D_COUNT + 1, sizeof *d->samples);
    d->scratch = ek_calloc(d->ctx, (n > d->gr.ngroups ? n : d->gr.ngroups) + 1,
                           sizeof *d->scratch);
    d->groups = ek_calloc(d->ctx, d->gr.ngroups + 1, sizeof *d->groups);
    if (d->samples == NULL || d->scratch == NULL || d->groups == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (m = 0; m < D_COUNT; m++) {
        d->gap_best[m] = ek_calloc(d->ctx, n + 1, sizeof *d->gap_best[m]);
        d->gap_worst[m] = ek_calloc(d->ctx, n + 1, sizeof *d->gap_worst[m]);
        if (d->gap_best[m] == NULL || d->gap_worst[m] == NULL) {
            return EODKIT_ERR_NOMEM;
        }
    }
    return EODKIT_OK;
}

/* The whole and every group: point estimates, the best and the worst group
   per metric, intervals, gaps. */
static int run_groups(detect *d)
{
    size_t n = d->opt->bootstrap > 0 ? (size_t)d->opt->bootstrap : 0, i, m, r;
    size_t *blocks = ek_calloc(d->ctx, d->cs->n + 1, sizeof *blocks);
    int rc = blocks == NULL ? EODKIT_ERR_NOMEM : alloc_groups(d, n);

    for (i = 0; rc == EODKIT_OK && i < d->cs->n; i++) {
        blocks[i] = (size_t)d->gr.chip_block[i];
    }
    if (rc == EODKIT_OK) {
        rc =
            bin_chips(d, d->gr.chip_unit, d->gr.nunits, &d->unit_start, &d->unit_chips);
    }
    if (rc == EODKIT_OK) {
        rc = bin_chips(d, blocks, d->gr.block_keys.n, &d->block_start, &d->block_chips);
    }
    free(blocks);
    d->all.units = d->gr.identity; /* the whole resamples every block */
    d->all.nunits = d->gr.block_keys.n;
    if (rc == EODKIT_OK) {
        rc = point_estimate(d, &d->all, d->block_start, d->block_chips);
    }
    for (i = 0; i < d->gr.ngroups && rc == EODKIT_OK; i++) {
        d->groups[i].name = d->gr.names[i];
        d->groups[i].units = d->gr.units_of[i];
        d->groups[i].nunits = d->gr.nunits_of[i];
        rc = point_estimate(d, &d->groups[i], d->unit_start, d->unit_chips);
    }
    for (m = 0; m < D_COUNT && rc == EODKIT_OK; m++) {
        for (i = 0; i < d->gr.ngroups; i++) {
            d->scratch[i] = d->groups[i].value[m];
        }
        ek_groups_rank(d->scratch, d->gr.ngroups, 1, &d->best[m], &d->worst[m]);
    }
    if (rc == EODKIT_OK) {
        rc = bootstrap(d, &d->all, d->block_start, d->block_chips, d->opt->seed, -1);
    }
    for (i = 0; i < d->gr.ngroups && rc == EODKIT_OK; i++) {
        rc = bootstrap(d, &d->groups[i], d->unit_start, d->unit_chips,
                       d->opt->seed + ek_hash_text(d->groups[i].name), (int)i);
    }
    for (m = 0; m < D_COUNT && rc == EODKIT_OK; m++) {
        d->gap[m] = d->best[m] >= 0 ? d->groups[d->best[m]].value[m] -
                                          d->groups[d->worst[m]].value[m]
                                    : NAN;
        for (r = 0; r < n; r++) {
            d->gap_best[m][r] -= d->gap_worst[m][r];
        }
        d->gap_low[m] =
            n > 0 ? ek_percentile(d->gap_best[m], n, 1, CI_LOW, d->scratch) : NAN;
        d->gap_high[m] =
            n > 0 ? ek_percentile(d->gap_best[m], n, 1, CI_HIGH, d->scratch) : NAN;
    }
    return rc;
}

/* ---- the report ---- */

static json_t *number(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static json_t *group_json(const detect *d, const dgroup *g, const char *name,
                          size_t blocks)
{
    json_t *o = json_object(), *classes = json_array();
    size_t m, c;

    if (name != NULL) {
        json_object_set_new(o, "name", json_string(name));
    }
    json_object_set_new(o, "chips", json_integer((json_int_t)g->chips));
    json_object_set_new(o, "blocks", json_integer((json_int_t)blocks));
    json_object_set_new(o, "objects", json_integer(g->objects));
    json_object_set_new(o, "detections", json_integer(g->detections));
    for (m = 0; m < D_COUNT; m++) {
        json_object_set_new(
            o, d_names[m],
            json_pack("{s:o, s:o}", "value", number(g->value[m]), "ci",
                      d->opt->bootstrap >= 0
                          ? json_pack("[oo]", number(g->low[m]), number(g->high[m]))
                          : json_null()));
    }
    for (m = 0; m < S_COUNT; m++) {
        json_object_set_new(o, s_names[m], number(g->summary[m]));
    }
    for (c = 0; c < d->k; c++) {
        const int64_t *n = g->class_counts + c * 4;

        json_array_append_new(
            classes,
            json_pack(
                "{s:i, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "id",
                (int)d->pr.ids[c], "name", d->pr.names[c], "objects", (json_int_t)n[0],
                "detections", (json_int_t)n[1], "ap", number(g->class_ap[c * 3]),
                "ap_50", number(g->class_ap[c * 3 + 1]), "ap_75",
                number(g->class_ap[c * 3 + 2]), "precision",
                number(n[2] + n[3] > 0 ? (double)n[2] / (double)(n[2] + n[3]) : NAN),
                "recall", number(n[0] > 0 ? (double)n[2] / (double)n[0] : NAN)));
    }
    json_object_set_new(o, "classes", classes);
    return o;
}

static json_t *report(const detect *d)
{
    json_t *o = json_object(), *splits = json_array(), *classes = json_array(), *gap;
    size_t s, c, i, m;

    json_object_set_new(o, "dataset", json_string(d->cs->dir));
    json_object_set_new(o, "predictions", json_string(d->pred_path));
    for (s = 0; s < d->cs->nsplits; s++) {
        json_array_append_new(splits,
                              json_string(d->cs->ix->splits.names[d->cs->splits[s]]));
    }
    json_object_set_new(o, "splits", splits);
    json_object_set_new(o, "task", json_string(d->cl->task));
    json_object_set_new(o, "unit", json_string("object"));
    json_object_set_new(o, "iou_type", json_string(d->segm ? "segm" : "bbox"));
    json_object_set_new(o, "threshold", json_real(d->opt->threshold));
    for (c = 0; c < d->k; c++) {
        json_array_append_new(classes, json_pack("{siss}", "id", (int)d->pr.ids[c],
                                                 "name", d->pr.names[c]));
    }
    json_object_set_new(o, "classes", classes);
    json_object_set_new(o, "bootstrap",
                        json_pack("{s:i, s:I, s:f, s:s, s:i}", "replicates",
                                  d->opt->bootstrap > 0 ? d->opt->bootstrap : 0, "seed",
                                  (json_int_t)d->opt->seed, "confidence", 0.95,
                                  "blocks", ek_groups_source(&d->gr), "block_chips",
                                  d->opt->block_chips));
    json_object_set_new(o, "overall", group_json(d, &d->all, NULL, d->gr.block_keys.n));
    if (d->opt->by != NULL) {
        json_t *groups = json_array();

        json_object_set_new(o, "by", json_string(d->opt->by));
        for (i = 0; i < d->gr.ngroups; i++) {
            json_array_append_new(
                groups,
                group_json(d, &d->groups[i], d->groups[i].name, d->groups[i].nunits));
        }
        json_object_set_new(o, "groups", groups);
        gap = json_object();
        for (m = 0; m < D_COUNT; m++) {
            int b = d->best[m], w = d->worst[m];

            json_object_set_new(
                gap, d_names[m],
                b < 0 || d->gr.ngroups < 2
                    ? json_null()
                    : json_pack("{s:s, s:s, s:o, s:o}", "best", d->groups[b].name,
                                "worst", d->groups[w].name, "value", number(d->gap[m]),
                                "ci",
                                d->opt->bootstrap >= 0
                                    ? json_pack("[oo]", number(d->gap_low[m]),
                                                number(d->gap_high[m]))
                                    : json_null()));
        }
        json_object_set_new(o, "gap", gap);
    }
    return o;
}

/* ---- the entry point ---- */

static int setup(detect *d)
{
    json_t *size =
        json_object_get(json_object_get(d->cs->collection, "eodkit:grid"), "chip_size");
    const char *type = d->opt->iou_type;
    d->h = json_integer_value(json_array_get(size, 0));
    d->w = json_integer_value(json_array_get(size, 1));
    if (type == NULL) {
        type = strcmp(d->cl->task, "instance") == 0 ? "segm" : "bbox";
    }
    if (strcmp(type, "bbox") != 0 && strcmp(type, "segm") != 0) {
        return ek_error(d->ctx, EODKIT_ERR_USAGE,
                        "--iou-type is bbox or segm, not '%s'", type);
    }
    d->segm = strcmp(type, "segm") == 0;
    if (d->segm && strcmp(d->cl->task, "instance") != 0) {
        return ek_error(d->ctx, EODKIT_ERR_USAGE,
                        "%s: --iou-type segm needs instance masks (task %s has boxes)",
                        d->cs->dir, d->cl->task);
    }
    return EODKIT_OK;
}

int ek_detect_eval(eodkit_ctx *ctx, const ek_chipset *cs, const ek_classes *cl,
                   const char *pred_path, const eodkit_eval_options *opt,
                   char **report_json)
{
    detect d;
    size_t i, c;
    int rc;

    memset(&d, 0, sizeof d);
    d.ctx = ctx;
    d.opt = opt;
    d.pred_path = pred_path;
    d.cs = cs;
    d.cl = cl;
    rc = setup(&d);
    if (rc == EODKIT_OK) {
        rc = ek_detections_read(ctx, pred_path, cs, cl, d.segm, d.h, d.w, &d.pr);
        d.k = d.pr.k;
    }
    if (rc == EODKIT_OK) {
        d.imgs = ek_calloc(ctx, cs->n * d.k + 1, sizeof *d.imgs);
        d.has = ek_calloc(ctx, cs->n * d.k + 1, 1);
        d.counts = ek_calloc(ctx, cs->n * d.k * 4 + 1, sizeof *d.counts);
        rc = d.imgs == NULL || d.has == NULL || d.counts == NULL ? EODKIT_ERR_NOMEM
                                                                 : EODKIT_OK;
    }
    if (rc == EODKIT_OK) {
        rc = match_chips(&d);
    }
    for (i = 0; rc == EODKIT_OK && i < cs->n; i++) {
        for (c = 0; c < d.k; c++) {
            if (d.has[i * d.k + c]) {
                count_at_threshold(&d, i, c);
            }
        }
    }
    if (rc == EODKIT_OK) {
        rc = ek_groups_make(ctx, cs, opt->by, opt->block_chips, &d.gr);
    }
    if (rc == EODKIT_OK) {
        rc = run_groups(&d);
    }
    if (rc == EODKIT_OK) {
        rc = ek_json_text(ctx, report(&d), 10, report_json);
    }
    for (i = 0; d.imgs != NULL && i < cs->n * d.k; i++) {
        ek_coco_img_clear(&d.imgs[i]);
    }
    for (i = 0; d.groups != NULL && i < d.gr.ngroups; i++) {
        free(d.groups[i].class_ap);
        free(d.groups[i].class_counts);
    }
    free(d.all.class_ap);
    free(d.all.class_counts);
    for (i = 0; i < D_COUNT; i++) {
        free(d.gap_best[i]);
        free(d.gap_worst[i]);
    }
    free(d.groups);
    free(d.samples);
    free(d.scratch);
    free(d.unit_chips);
    free(d.unit_start);
    free(d.block_chips);
    free(d.block_start);
    ek_groups_clear(&d.gr);
    free(d.imgs);
    free(d.has);
    free(d.counts);
    ek_detections_free(&d.pr);
    return rc;
}
