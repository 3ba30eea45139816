/*
** Eval: detections, as models write them for COCO (its results format:
** [{"image_id", "category_id", "bbox", "score"}, ...], "segmentation" as
** COCO RLE for masks), read and checked against a chip set: image ids are
** the chips' chip_id, categories the dataset's class ids. Used by the
** evaluation of objects (detect.c) and by the mosaic of detections.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_eval.h"

/* What reading one file needs. */
typedef struct reading {
    eodkit_ctx *ctx;
    const char *pred_path;
    const ek_chipset *cs;
    int segm;     /* masks are needed */
    int64_t h, w; /* chip size */
    ek_detections *out;
} reading;

/* The run lengths of COCO RLE counts COUNTS (a compressed string or a list
   of integers) into *RUNS (allocated, *N); -1 when they are neither. */
static int rle_runs(eodkit_ctx *ctx, const json_t *counts, int64_t **runs, size_t *n)
{
    size_t j;

    *runs = NULL;
    *n = 0;
    if (json_is_string(counts)) {
        return ek_coco_rle_string(ctx, json_string_value(counts), runs, n);
    }
    if (!json_is_array(counts)) {
        return -1;
    }
    *runs = ek_calloc(ctx, json_array_size(counts) + 1, sizeof **runs);
    if (*runs == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (j = 0; j < json_array_size(counts); j++) {
        const json_t *v = json_array_get(counts, j);

        (*runs)[(*n)++] = json_is_integer(v) ? json_integer_value(v) : -1;
    }
    return EODKIT_OK;
}

/* The classes of objects of CL (the background left out) into R->out. */
static int class_table(reading *r, const ek_classes *cl)
{
    ek_detections *d = r->out;
    size_t i;

    d->ncls_of = (size_t)cl->max_id + 1;
    d->cls_of = ek_calloc(r->ctx, d->ncls_of + 1, sizeof *d->cls_of);
    d->ids = ek_calloc(r->ctx, cl->k + 1, sizeof *d->ids);
    d->names = ek_calloc(r->ctx, cl->k + 1, sizeof *d->names);
    if (d->cls_of == NULL || d->ids == NULL || d->names == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < cl->k; i++) {
        if (cl->ids[i] != cl->background) {
            d->ids[d->k] = cl->ids[i];
            d->names[d->k] = cl->names[i];
            d->cls_of[cl->ids[i]] = ++d->k;
        }
    }
    return EODKIT_OK;
}

static int bad_det(const reading *d, size_t i, const char *what)
{
    return ek_error(d->ctx, EODKIT_ERR_INPUT, "%s: detection %zu: %s (doc/cmd/eval.md)",
                    d->pred_path, i, what);
}

/* A mask detection's RLE: the chip's size and valid run lengths; its
   pixels into *AREA. */
static int check_rle(reading *d, size_t i, const json_t *seg, double *area)
{
    const json_t *size = json_object_get(seg, "size");
    const json_t *counts = json_object_get(seg, "counts");
    int64_t sum = 0, *runs = NULL;
    size_t n = 0, j;
    int rc = EODKIT_OK;

    if (!json_is_object(seg) || json_array_size(size) != 2 ||
        json_integer_value(json_array_get(size, 0)) != d->h ||
        json_integer_value(json_array_get(size, 1)) != d->w) {
        char what[160];

        snprintf(what, sizeof what,
                 "'segmentation' must be COCO RLE {\"size\": [%lld, %lld], \"counts\": "
                 "...} (the chip's height and width)",
                 (long long)d->h, (long long)d->w);
        return bad_det(d, i, what);
    }
    rc = rle_runs(d->ctx, counts, &runs, &n);
    for (j = 0; rc == EODKIT_OK && j < n; j++) {
        if (runs[j] < 0) {
            rc = -1;
            break;
        }
        sum += runs[j];
        *area += j % 2 == 1 ? (double)runs[j] : 0;
    }
    free(runs);
    if (rc == EODKIT_OK && sum != d->h * d->w) {
        rc = -1;
    }
    return rc == -1 ? bad_det(d, i,
                              "'segmentation' counts are not run lengths adding up to "
                              "the chip's pixels")
                    : rc;
}

/* Detection I (json O) into D->dets[D->ndets]. */
static int read_det(reading *d, const ek_chip_key *by_id, size_t i, const json_t *o)
{
    const json_t *image = json_object_get(o, "image_id");
    const json_t *category = json_object_get(o, "category_id");
    const json_t *bbox = json_object_get(o, "bbox"),
                 *score = json_object_get(o, "score");
    ek_detection *x = &d->out->dets[d->out->n];
    ek_chip_key key, *found;
    int64_t c;
    size_t j;

    if (!json_is_object(o)) {
        return bad_det(d, i,
                       "not an object {\"image_id\", \"category_id\", \"bbox\", "
                       "\"score\"}");
    }
    if (!json_is_integer(image)) {
        return bad_det(d, i, "'image_id' must be an integer: a chip_id of index.gpkg");
    }
    key.id = json_integer_value(image);
    found = bsearch(&key, by_id, d->cs->n, sizeof *by_id, ek_chip_key_compare);
    if (found == NULL) {
        char what[400], splits[128];

        ek_chipset_split_text(d->cs, splits, sizeof splits);
        snprintf(what, sizeof what,
                 "image_id %lld is not a chip of split %s (image ids are the chip_id "
                 "column of index.gpkg)",
                 (long long)key.id, splits);
        return bad_det(d, i, what);
    }
    c = json_is_integer(category) ? json_integer_value(category) : -1;
    if (c < 0 || (size_t)c >= d->out->ncls_of || d->out->cls_of[c] == 0) {
        return bad_det(d, i,
                       "'category_id' must be a class id of the dataset "
                       "(eodkit:label.classes in collection.json)");
    }
    if (!json_is_number(score) || !isfinite(json_number_value(score))) {
        return bad_det(d, i, "'score' must be a number");
    }
    for (j = 0; j < 4 && json_array_size(bbox) == 4; j++) {
        const json_t *v = json_array_get(bbox, j);

        x->bbox[j] = json_is_number(v) ? json_number_value(v) : NAN;
    }
    if (json_array_size(bbox) != 4 || !isfinite(x->bbox[0]) || !isfinite(x->bbox[1]) ||
        !(x->bbox[2] >= 0) || !(x->bbox[3] >= 0) || !isfinite(x->bbox[2]) ||
        !isfinite(x->bbox[3])) {
        return bad_det(d, i,
                       "'bbox' must be [x, y, width, height] in pixels of the chip, "
                       "width and height 0 or more");
    }
    x->chip = found->at;
    x->cls = d->out->cls_of[c] - 1;
    x->order = i;
    x->score = json_number_value(score);
    x->area = x->bbox[2] * x->bbox[3];
    if (d->segm) {
        x->segmentation = json_object_get(o, "segmentation");
        x->area = 0;
        if (x->segmentation == NULL) {
            return bad_det(d, i,
                           "no 'segmentation': masks are evaluated (instance "
                           "dataset); give COCO RLE, or evaluate boxes with "
                           "--iou-type bbox");
        }
        return check_rle(d, i, x->segmentation, &x->area);
    }
    return EODKIT_OK;
}

static int compare_det(const void *a, const void *b)
{
    const ek_detection *x = a, *y = b;

    if (x->chip != y->chip) {
        return x->chip < y->chip ? -1 : 1;
    }
    if (x->cls != y->cls) {
        return x->cls < y->cls ? -1 : 1;
    }
    return (x->order > y->order) - (x->order < y->order);
}

int ek_detections_read(eodkit_ctx *ctx, const char *path, const ek_chipset *cs,
                       const ek_classes *cl, int masks, int64_t h, int64_t w,
                       ek_detections *out)
{
    reading r;
    json_error_t err;
    ek_chip_key *by_id = NULL;
    size_t i;
    int rc = EODKIT_OK;

    memset(out, 0, sizeof *out);
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    r.pred_path = path;
    r.cs = cs;
    r.segm = masks;
    r.h = h;
    r.w = w;
    r.out = out;
    rc = class_table(&r, cl);
    if (rc != EODKIT_OK) {
        return rc;
    }
    out->doc = json_load_file(path, JSON_DECODE_ANY, &err);
    if (out->doc == NULL && err.line < 0) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot read it: %s", path, err.text);
    }
    if (out->doc == NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s:%d:%d: not a JSON file of detections (%s); detection "
                        "datasets take COCO results: [{\"image_id\", \"category_id\", "
                        "\"bbox\", \"score\"}, ...] (doc/cmd/eval.md)",
                        path, err.line, err.column, err.text);
    }
    if (!json_is_array(out->doc)) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: detections are a JSON array of {\"image_id\", "
                        "\"category_id\", \"bbox\", \"score\"} (doc/cmd/eval.md)",
                        path);
    }
    by_id = ek_calloc(ctx, cs->n + 1, sizeof *by_id);
    out->dets = ek_calloc(ctx, json_array_size(out->doc) + 1, sizeof *out->dets);
    if (by_id == NULL || out->dets == NULL) {
        free(by_id);
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < cs->n; i++) {
        by_id[i].id = cs->ix->chips[cs->chips[i]].chip_id;
        by_id[i].at = i;
    }
    qsort(by_id, cs->n, sizeof *by_id, ek_chip_key_compare);
    for (i = 0; i < json_array_size(out->doc) && rc == EODKIT_OK; i++) {
        rc = read_det(&r, by_id, i, json_array_get(out->doc, i));
        out->n += rc == EODKIT_OK;
    }
    free(by_id);
    /* each chip's detections of each class together, in file order */
    qsort(out->dets, out->n, sizeof *out->dets, compare_det);
    return rc;
}

void ek_detections_free(ek_detections *d)
{
    json_decref(d->doc);
    free(d->dets);
    free(d->cls_of);
    free(d->ids);
    free(d->names);
    memset(d, 0, sizeof *d);
}

int ek_detection_mask(eodkit_ctx *ctx, const ek_detection *x, int64_t h, int64_t w,
                      uint8_t *mask)
{
    int64_t *runs = NULL;
    size_t n = 0;
    int rc = rle_runs(ctx, json_object_get(x->segmentation, "counts"), &runs, &n);

    if (rc == -1 || (rc == EODKIT_OK && ek_coco_rle_mask(runs, n, h, w, mask) != 0)) {
        rc = ek_error(ctx, EODKIT_ERR_INTERNAL,
                      "a detection's mask changed after it was "
                      "checked");
    }
    free(runs);
    return rc;
}
