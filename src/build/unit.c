/*
** Build: one work unit on one worker. Reads every modality over the unit's
** window, renders the labels, then for each chip of the unit that has a
** split: measures nodata and labelled fractions, applies the filters, cuts
** the kept chips out and accumulates the training statistics. Nothing here
** touches shared state: results go to the committer in build.c.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_build.h"

static void **calloc_table(eodkit_ctx *ctx, size_t rows, size_t cols, size_t size)
{
    void **t = ek_calloc(ctx, rows, sizeof *t);
    size_t r;

    for (r = 0; t != NULL && r < rows; r++) {
        t[r] = ek_calloc(ctx, cols, size);
        if (t[r] == NULL) {
            while (r > 0) {
                free(t[--r]);
            }
            free(t);
            return NULL;
        }
    }
    return t;
}

static void free_table(void **t, size_t rows)
{
    size_t r;

    for (r = 0; t != NULL && r < rows; r++) {
        free(t[r]);
    }
    free(t);
}

int ek_worker_init(eodkit_ctx *ctx, const ek_build *b, int index, ek_worker *w)
{
    const ek_plan *p = b->plan;
    ek_window unit = ek_plan_unit_window(p, 0); /* unit 0 is the largest */
    size_t plane = (size_t)unit.w * (size_t)unit.h;
    size_t chip = (size_t)p->grid.chip_w * (size_t)p->grid.chip_h;
    size_t m, nsplits = b->split->nsplits;
    int rc = EODKIT_OK;

    memset(w, 0, sizeof *w);
    w->b = b;
    w->index = index;
    w->readers = ek_calloc(ctx, p->nmodalities, sizeof *w->readers);
    w->unit_data = ek_calloc(ctx, p->nmodalities, sizeof *w->unit_data);
    w->unit_valid = ek_calloc(ctx, p->nmodalities, sizeof *w->unit_valid);
    w->hist = ek_calloc(ctx, p->nmodalities, sizeof *w->hist);
    w->chip_valid = ek_calloc(ctx, chip, 1);
    w->band_valid = ek_calloc(ctx, chip, 1);
    if (w->readers == NULL || w->unit_data == NULL || w->unit_valid == NULL ||
        w->hist == NULL || w->chip_valid == NULL || w->band_valid == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        const ek_modality *mod = &p->modalities[m];

        rc = ek_reader_new(ctx, &b->specs[m], &p->grid, unit.w, unit.h, &w->readers[m]);
        w->unit_data[m] = ek_calloc(ctx, plane * (size_t)mod->nbands,
                                    (size_t)ek_dtype_size(mod->dtype));
        w->unit_valid[m] = ek_calloc(ctx, plane, 1);
        w->hist[m] = (uint64_t **)calloc_table(ctx, (size_t)mod->nbands, EK_HIST_BINS,
                                               sizeof(uint64_t));
        if (rc == EODKIT_OK && (w->unit_data[m] == NULL || w->unit_valid[m] == NULL ||
                                w->hist[m] == NULL)) {
            rc = EODKIT_ERR_NOMEM;
        }
    }
    if (rc == EODKIT_OK && b->labels != NULL) {
        rc = ek_label_worker_new(ctx, b->labels, p, &w->labels);
        w->unit_labels = ek_calloc(ctx, plane, (size_t)ek_dtype_size(b->labels->dtype));
        w->chip_hist = ek_calloc(ctx, (size_t)b->nclass_ids, sizeof *w->chip_hist);
        w->class_pixels = (uint64_t **)calloc_table(ctx, nsplits, (size_t)b->nclass_ids,
                                                    sizeof(uint64_t));
        w->class_chips = (uint64_t **)calloc_table(ctx, nsplits, (size_t)b->nclass_ids,
                                                   sizeof(uint64_t));
        w->label_chips = (uint64_t **)calloc_table(ctx, nsplits, (size_t)b->nclass_ids,
                                                   sizeof(uint64_t));
        if (rc == EODKIT_OK && (w->unit_labels == NULL || w->chip_hist == NULL ||
                                w->class_pixels == NULL || w->class_chips == NULL ||
                                w->label_chips == NULL)) {
            rc = EODKIT_ERR_NOMEM;
        }
    }
    return rc;
}

void ek_worker_clear(ek_worker *w)
{
    const ek_plan *p = w->b != NULL ? w->b->plan : NULL;
    size_t m, nsplits = w->b != NULL ? w->b->split->nsplits : 0;

    for (m = 0; p != NULL && m < p->nmodalities; m++) {
        if (w->readers != NULL) {
            ek_reader_free(w->readers[m]);
        }
        if (w->unit_data != NULL) {
            free(w->unit_data[m]);
        }
        if (w->unit_valid != NULL) {
            free(w->unit_valid[m]);
        }
        if (w->hist != NULL) {
            free_table((void **)w->hist[m], (size_t)p->modalities[m].nbands);
        }
    }
    free(w->readers);
    free(w->unit_data);
    free(w->unit_valid);
    free(w->hist);
    free(w->chip_valid);
    free(w->band_valid);
    ek_label_worker_free(w->labels);
    free(w->unit_labels);
    free(w->chip_hist);
    free_table((void **)w->class_pixels, nsplits);
    free_table((void **)w->class_chips, nsplits);
    free_table((void **)w->label_chips, nsplits);
    memset(w, 0, sizeof *w);
}

void ek_unit_result_free(void *result)
{
    ek_unit_result *r = result;
    size_t k;

    if (r == NULL) {
        return;
    }
    for (k = 0; k < r->nkept; k++) {
        free(r->chips[k].class_hist);
    }
    free(r->chips);
    if (r->data != NULL) {
        for (k = 0; r->data[k] != NULL; k++) {
            free(r->data[k]);
        }
        free(r->data);
    }
    if (r->moments != NULL) {
        for (k = 0; r->moments[k] != NULL; k++) {
            free(r->moments[k]);
        }
        free(r->moments);
    }
    free(r);
}

/* Copy chip window CW out of a band-sequential unit buffer over window UW. */
static void cut(unsigned char *dst, const unsigned char *src, const ek_window *uw,
                const ek_window *cw, int bands, size_t dsize)
{
    size_t row = (size_t)cw->w * dsize;
    int b, y;

    for (b = 0; b < bands; b++) {
        for (y = 0; y < cw->h; y++) {
            size_t from = ((size_t)b * (size_t)uw->h + (size_t)(cw->y - uw->y + y)) *
                              (size_t)uw->w +
                          (size_t)(cw->x - uw->x);

            memcpy(dst, src + from * dsize, row);
            dst += row;
        }
    }
}

/* The chip's class histogram as JSON {"id": pixels, ...} (nonzero only). */
static char *hist_json(eodkit_ctx *ctx, const uint64_t *hist, int n)
{
    size_t cap = 64, used = 0;
    char *s = ek_calloc(ctx, cap, 1);
    int id;

    if (s == NULL) {
        return NULL;
    }
    s[used++] = '{';
    for (id = 0; id < n; id++) {
        char item[48];
        int len;

        if (hist[id] == 0) {
            continue;
        }
        len = snprintf(item, sizeof item, "%s\"%d\": %llu", used > 1 ? ", " : "", id,
                       (unsigned long long)hist[id]);
        if (ek_grow(ctx, (void **)&s, &cap, used + (size_t)len + 2, 1) != EODKIT_OK) {
            free(s);
            return NULL;
        }
        memcpy(s + used, item, (size_t)len);
        used += (size_t)len;
    }
    s[used++] = '}';
    s[used] = '\0';
    return s;
}

/* Class of a chip for the classification task: the most frequent labelled
   class (lowest id on ties), or the background when none is labelled. */
static int majority_class(const uint64_t *hist, int n, int background)
{
    int id, best = background;

    for (id = 0; id < n; id++) {
        if (id != background && hist[id] > 0 &&
            (best == background || hist[id] > hist[best])) {
            best = id;
        }
    }
    return best;
}

/* The label array's bytes for one chip, per task. */
static void chip_label(const ek_build *b, ek_worker *w, const ek_window *uw,
                       const ek_window *cw, unsigned char *dst, int *label)
{
    const ek_labels *l = b->labels;
    size_t npx = (size_t)cw->w * (size_t)cw->h;
    size_t k;

    *label = -1;
    switch (l->recipe->task) {
    case EK_TASK_SEGMENTATION:
        cut(dst, w->unit_labels, uw, cw, 1, (size_t)ek_dtype_size(l->dtype));
        break;
    case EK_TASK_CLASSIFICATION:
        *label = majority_class(w->chip_hist, b->nclass_ids, l->recipe->background);
        ek_pixel_set(dst, l->dtype, 0, *label);
        break;
    case EK_TASK_MULTILABEL:
        for (k = 0; k < l->nclasses; k++) {
            uint64_t n = w->chip_hist[l->classes[k].id];

            dst[k] = n > 0 && (double)n >= l->recipe->min_class_share * (double)npx;
        }
        break;
    }
}

/* Training statistics of one kept chip (its arrays already cut). */
static void accumulate_stats(const ek_build *b, ek_worker *w, ek_unit_result *res,
                             size_t k)
{
    const ek_plan *p = b->plan;
    size_t npx = (size_t)p->grid.chip_w * (size_t)p->grid.chip_h, m;

    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality *mod = &p->modalities[m];
        size_t dsize = (size_t)ek_dtype_size(mod->dtype);
        const unsigned char *chip = res->data[m] + k * b->arrays[m].chip_bytes;
        int band;

        for (band = 0; band < mod->nbands; band++) {
            const unsigned char *plane = chip + (size_t)band * npx * dsize;
            ek_moments mo;

            ek_stats_mask(plane, mod->dtype, mod->has_nodata, mod->nodata, npx,
                          w->band_valid);
            ek_moments_of(&mo, plane, mod->dtype, w->band_valid, npx);
            ek_moments_merge(&res->moments[m][band], &mo);
            ek_hist_add(w->hist[m][band], plane, mod->dtype, w->band_valid, npx);
        }
    }
}

/* Validity of chip CW across every modality into w->chip_valid; return the
   number of invalid pixels. */
static size_t chip_validity(const ek_build *b, ek_worker *w, const ek_window *uw,
                            const ek_window *cw)
{
    size_t invalid = 0, m;
    int x, y;

    for (y = 0; y < cw->h; y++) {
        for (x = 0; x < cw->w; x++) {
            size_t from = (size_t)(cw->y - uw->y + y) * (size_t)uw->w +
                          (size_t)(cw->x - uw->x + x);
            uint8_t ok = 1;

            for (m = 0; m < b->plan->nmodalities; m++) {
                ok &= w->unit_valid[m][from];
            }
            w->chip_valid[(size_t)y * (size_t)cw->w + (size_t)x] = ok;
            invalid += !ok;
        }
    }
    return invalid;
}

/* Class histogram of chip CW into w->chip_hist; return labelled pixels. */
static size_t chip_classes(const ek_build *b, ek_worker *w, const ek_window *uw,
                           const ek_window *cw)
{
    const ek_labels *l = b->labels;
    size_t npx = (size_t)cw->w * (size_t)cw->h;
    int x, y;

    memset(w->chip_hist, 0, (size_t)b->nclass_ids * sizeof *w->chip_hist);
    for (y = 0; y < cw->h; y++) {
        for (x = 0; x < cw->w; x++) {
            size_t from = (size_t)(cw->y - uw->y + y) * (size_t)uw->w +
                          (size_t)(cw->x - uw->x + x);

            w->chip_hist[(int)ek_pixel_get(w->unit_labels, l->dtype, from)]++;
        }
    }
    return npx - w->chip_hist[l->recipe->background];
}

static int alloc_result(eodkit_ctx *ctx, const ek_build *b, size_t nchips,
                        ek_unit_result *res)
{
    const ek_plan *p = b->plan;
    size_t a, m;

    res->chips = ek_calloc(ctx, nchips, sizeof *res->chips);
    res->data = ek_calloc(ctx, b->narrays + 1, sizeof *res->data);
    res->moments = ek_calloc(ctx, p->nmodalities + 1, sizeof *res->moments);
    if (res->chips == NULL || res->data == NULL || res->moments == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (a = 0; a < b->narrays; a++) {
        res->data[a] = ek_calloc(ctx, nchips, b->arrays[a].chip_bytes);
        if (res->data[a] == NULL) {
            return EODKIT_ERR_NOMEM;
        }
    }
    for (m = 0; m < p->nmodalities; m++) {
        res->moments[m] =
            ek_calloc(ctx, (size_t)p->modalities[m].nbands, sizeof *res->moments[m]);
        if (res->moments[m] == NULL) {
            return EODKIT_ERR_NOMEM;
        }
    }
    return EODKIT_OK;
}

/* One chip: filter, then cut and account for it when kept. */
static int take_chip(eodkit_ctx *ctx, const ek_build *b, ek_worker *w,
                     const ek_window *uw, size_t id, ek_unit_result *res)
{
    const ek_plan *p = b->plan;
    const ek_recipe *r = b->recipe;
    ek_window cw = ek_plan_chip_window(p, id);
    size_t npx = (size_t)cw.w * (size_t)cw.h, m, k;
    int split = b->split->chip_split[id], c;
    double nodata_frac = (double)chip_validity(b, w, uw, &cw) / (double)npx;
    double labeled_frac = 0;
    ek_kept_chip *kc;

    if (b->labels != NULL) {
        labeled_frac = (double)chip_classes(b, w, uw, &cw) / (double)npx;
    }
    if (nodata_frac > r->max_nodata) {
        res->rejected_nodata++;
        return EODKIT_OK;
    }
    if (labeled_frac < r->min_labeled) {
        res->rejected_unlabeled++;
        return EODKIT_OK;
    }
    k = res->nkept++;
    kc = &res->chips[k];
    kc->chip_id = id;
    kc->split = split;
    kc->nodata_frac = nodata_frac;
    kc->labeled_frac = labeled_frac;
    kc->label = -1;
    for (m = 0; m < p->nmodalities; m++) {
        cut(res->data[m] + k * b->arrays[m].chip_bytes, w->unit_data[m], uw, &cw,
            p->modalities[m].nbands, (size_t)ek_dtype_size(p->modalities[m].dtype));
    }
    if (b->labels != NULL) {
        chip_label(b, w, uw, &cw,
                   res->data[p->nmodalities] + k * b->arrays[p->nmodalities].chip_bytes,
                   &kc->label);
        kc->class_hist = hist_json(ctx, w->chip_hist, b->nclass_ids);
        if (kc->class_hist == NULL) {
            return EODKIT_ERR_NOMEM;
        }
        for (c = 0; c < b->nclass_ids; c++) {
            w->class_pixels[split][c] += w->chip_hist[c];
            w->class_chips[split][c] += w->chip_hist[c] > 0;
        }
        if (kc->label >= 0) {
            w->label_chips[split][kc->label]++;
        }
    }
    if (split == b->train) {
        accumulate_stats(b, w, res, k);
    }
    return EODKIT_OK;
}

int ek_unit_run(void *state, eodkit_ctx *ctx, size_t u, void **result)
{
    ek_worker *w = state;
    const ek_build *b = w->b;
    const ek_plan *p = b->plan;
    ek_unit_result *res = ek_calloc(ctx, 1, sizeof *res);
    ek_window win = {0, 0, 0, 0};
    int i0, i1, j0, j1, i, j, x1 = 0, y1 = 0, rc = EODKIT_OK;
    size_t active = 0, m;

    *result = res;
    if (res == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    ek_plan_unit_chips(p, u, &i0, &i1, &j0, &j1);
    /* Read only the part of the unit its active chips need. */
    for (j = j0; j < j1; j++) {
        for (i = i0; i < i1; i++) {
            size_t id = (size_t)j * (size_t)p->grid.nx + (size_t)i;
            ek_window cw;

            res->candidates += p->candidate[id];
            if (b->split->chip_split[id] < 0) {
                continue;
            }
            cw = ek_plan_chip_window(p, id);
            if (active++ == 0) {
                win = cw;
                x1 = cw.x + cw.w, y1 = cw.y + cw.h;
            }
            win.x = cw.x < win.x ? cw.x : win.x;
            win.y = cw.y < win.y ? cw.y : win.y;
            x1 = cw.x + cw.w > x1 ? cw.x + cw.w : x1;
            y1 = cw.y + cw.h > y1 ? cw.y + cw.h : y1;
        }
    }
    if (active == 0) {
        return EODKIT_OK;
    }
    win.w = x1 - win.x;
    win.h = y1 - win.y;
    rc = alloc_result(ctx, b, active, res);
    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        rc =
            ek_reader_read(ctx, w->readers[m], &win, w->unit_data[m], w->unit_valid[m]);
    }
    if (rc == EODKIT_OK && b->labels != NULL) {
        rc = ek_labels_render(ctx, w->labels, &win, w->unit_labels);
    }
    for (j = j0; j < j1 && rc == EODKIT_OK; j++) {
        for (i = i0; i < i1 && rc == EODKIT_OK; i++) {
            size_t id = (size_t)j * (size_t)p->grid.nx + (size_t)i;

            if (b->split->chip_split[id] >= 0) {
                rc = take_chip(ctx, b, w, &win, id, res);
            }
        }
    }
    return rc;
}
