/*
** Pipeline: one work unit on one worker. Reads every modality over the unit's
** window (read_modality.c), renders the labels, then for each chip of the
** unit that has a split: measures nodata, cloud and labelled shares, checks
** optional modalities and stacks, applies the filters and cuts the kept
** chips out. Nothing here touches shared state: results go to the committer
** in run.c.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_strbuf.h"
#include "core/ek_time.h"
#include "ek_pipeline.h"

/* Buffers for modality M over the largest unit window (PLANE pixels) and up
   to UNIT_CHIPS chips; one acquisition's (acq*) only with time, the source
   acquisition of each pixel (origin) only for a mosaic. */
static int init_modality(eodkit_ctx *ctx, const ek_modality *m, size_t plane,
                         size_t unit_chips, ek_modality_buffers *buf)
{
    size_t bytes = plane * (size_t)m->nbands * (size_t)ek_dtype_size(m->dtype);
    ek_time_mode mode = m->recipe->time.mode;

    buf->data = ek_calloc(ctx, bytes, 1);
    buf->valid = ek_calloc(ctx, plane, 1);
    buf->cloud = ek_calloc(ctx, plane, 1);
    buf->part_valid = ek_calloc(ctx, plane, 1);
    buf->raw = ek_calloc(ctx, plane, sizeof(double));
    buf->steps_done = ek_calloc(ctx, unit_chips, sizeof *buf->steps_done);
    buf->step_times =
        ek_calloc(ctx, unit_chips * (size_t)m->steps, sizeof *buf->step_times);
    buf->step_nodata = ek_calloc(ctx, unit_chips, sizeof *buf->step_nodata);
    buf->step_cloud = ek_calloc(ctx, unit_chips, sizeof *buf->step_cloud);
    if (buf->data == NULL || buf->valid == NULL || buf->cloud == NULL ||
        buf->part_valid == NULL || buf->raw == NULL || buf->steps_done == NULL ||
        buf->step_times == NULL || buf->step_nodata == NULL ||
        buf->step_cloud == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (mode != EK_TIME_NONE) {
        buf->acq = ek_calloc(ctx, bytes, 1);
        buf->acq_valid = ek_calloc(ctx, plane, 1);
        buf->acq_cloud = ek_calloc(ctx, plane, 1);
        if (buf->acq == NULL || buf->acq_valid == NULL || buf->acq_cloud == NULL) {
            return EODKIT_ERR_NOMEM;
        }
    }
    if (mode == EK_TIME_MOSAIC) {
        buf->origin = ek_calloc(ctx, plane, sizeof *buf->origin);
        if (buf->origin == NULL) {
            return EODKIT_ERR_NOMEM;
        }
    }
    return EODKIT_OK;
}

static void clear_modality(ek_modality_buffers *buf)
{
    free(buf->data);
    free(buf->valid);
    free(buf->cloud);
    free(buf->origin);
    free(buf->acq);
    free(buf->acq_valid);
    free(buf->acq_cloud);
    free(buf->part_valid);
    free(buf->raw);
    free(buf->steps_done);
    free(buf->step_times);
    free(buf->step_nodata);
    free(buf->step_cloud);
}

int ek_worker_init(eodkit_ctx *ctx, const ek_build *b, ek_worker *w)
{
    const ek_plan *p = b->plan;
    size_t plane = (size_t)p->unit_w * (size_t)p->unit_h;
    size_t chip = (size_t)p->chip_w * (size_t)p->chip_h;
    size_t unit_chips = (size_t)p->unit_chips * (size_t)p->unit_chips;
    size_t m;
    int max_bands = 1, rc = EODKIT_OK;

    memset(w, 0, sizeof *w);
    w->b = b;
    for (m = 0; m < p->nmodalities; m++) {
        max_bands =
            p->modalities[m].nbands > max_bands ? p->modalities[m].nbands : max_bands;
    }
    rc = ek_reader_new(ctx, p->nsources + EK_LABEL_SOURCES, p->unit_w, p->unit_h,
                       max_bands, &w->reader);
    w->mods = ek_calloc(ctx, p->nmodalities, sizeof *w->mods);
    w->chip_valid = ek_calloc(ctx, chip, 1);
    if (rc == EODKIT_OK && (w->mods == NULL || w->chip_valid == NULL)) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        rc = init_modality(ctx, &p->modalities[m], plane, unit_chips, &w->mods[m]);
    }
    if (rc == EODKIT_OK && b->labels != NULL) {
        w->unit_labels =
            ek_calloc(ctx, plane, (size_t)ek_dtype_size(b->labels->plane_type));
        w->label_raw = ek_calloc(ctx, plane, sizeof(double));
        w->label_valid = ek_calloc(ctx, plane, 1);
        w->chip_hist = ek_calloc(ctx, (size_t)b->nclass_ids, sizeof *w->chip_hist);
        if (w->unit_labels == NULL || w->label_raw == NULL || w->label_valid == NULL ||
            w->chip_hist == NULL) {
            rc = EODKIT_ERR_NOMEM;
        }
    }
    if (rc == EODKIT_OK && b->labels != NULL && b->labels->table != NULL) {
        w->chip_scene = ek_calloc(ctx, chip, sizeof *w->chip_scene);
        rc = w->chip_scene == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    if (rc == EODKIT_OK && b->pair_array >= 0) {
        w->unit_pair = ek_calloc(ctx, 2 * plane,
                                 (size_t)ek_dtype_size(b->labels->change->class_type));
        rc = w->unit_pair == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    if (rc == EODKIT_OK && b->instance_array >= 0) {
        w->unit_instances =
            ek_calloc(ctx, plane, (size_t)ek_dtype_size(b->labels->object_dtype));
        rc = w->unit_instances == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    return rc;
}

void ek_worker_clear(ek_worker *w)
{
    const ek_plan *p = w->b != NULL ? w->b->plan : NULL;
    size_t m;

    for (m = 0; p != NULL && w->mods != NULL && m < p->nmodalities; m++) {
        clear_modality(&w->mods[m]);
    }
    ek_reader_free(w->reader);
    free(w->mods);
    free(w->chip_valid);
    free(w->unit_labels);
    free(w->unit_pair);
    free(w->chip_scene);
    free(w->unit_instances);
    free(w->label_raw);
    free(w->label_valid);
    free(w->chip_hist);
    memset(w, 0, sizeof *w);
}

void ek_unit_result_free(void *result)
{
    ek_unit_result *r = result;
    size_t k;

    if (r == NULL) {
        return;
    }
    for (k = 0; k < r->nchips; k++) {
        free(r->chips[k].class_hist);
        free(r->chips[k].present);
        free(r->chips[k].times);
        free(r->chips[k].sources);
        free(r->chips[k].object_hist);
    }
    free(r->objects);
    free(r->chips);
    for (k = 0; r->data != NULL && r->data[k] != NULL; k++) {
        free(r->data[k]);
    }
    free(r->data);
    free(r);
}

void ek_cut_chip(unsigned char *dst, const unsigned char *src, const ek_window *uw,
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
    ek_strbuf t;
    char *json = NULL;
    int id, first = 1;

    ek_strbuf_init(&t, ctx);
    ek_strbuf_puts(&t, "{");
    for (id = 0; id < n; id++) {
        if (hist[id] > 0) {
            ek_strbuf_printf(&t, "%s\"%d\": %llu", first ? "" : ", ", id,
                             (unsigned long long)hist[id]);
            first = 0;
        }
    }
    ek_strbuf_puts(&t, "}");
    ek_strbuf_detach(&t, &json);
    return json;
}

/* ---- one chip ---- */

int ek_majority_class(const ek_labels_recipe *lr, const uint64_t *hist, int n)
{
    int id, best = lr->background;

    for (id = 0; id < n; id++) {
        if (id == lr->background || (lr->has_ignore && id == lr->ignore_index)) {
            continue;
        }
        if (hist[id] > 0 && (best == lr->background || hist[id] > hist[best])) {
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
    size_t npx = (size_t)cw->w * (size_t)cw->h, k;

    *label = -1;
    switch (l->recipe->task) {
    case EK_TASK_SEGMENTATION:
    case EK_TASK_INSTANCE:
    case EK_TASK_CHANGE:
    case EK_TASK_REGRESSION:
        ek_cut_chip(dst, w->unit_labels, uw, cw, 1, (size_t)ek_dtype_size(l->dtype));
        break;
    case EK_TASK_DETECTION:
        break;
    case EK_TASK_CLASSIFICATION:
        *label = ek_majority_class(l->recipe, w->chip_hist, b->nclass_ids);
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

/* Class histogram of chip CW into w->chip_hist; return labelled pixels. */
static size_t chip_classes(const ek_build *b, ek_worker *w, const ek_window *uw,
                           const ek_window *cw)
{
    const ek_labels *l = b->labels;
    size_t unlabeled;
    int x, y;

    memset(w->chip_hist, 0, (size_t)b->nclass_ids * sizeof *w->chip_hist);
    for (y = 0; y < cw->h; y++) {
        for (x = 0; x < cw->w; x++) {
            size_t from = (size_t)(cw->y - uw->y + y) * (size_t)uw->w +
                          (size_t)(cw->x - uw->x + x);

            w->chip_hist[(int)ek_pixel_get(w->unit_labels, l->dtype, from)]++;
        }
    }
    /* a change mask's background, 0, means "no change": that is labelled */
    unlabeled = l->change != NULL ? 0 : w->chip_hist[l->recipe->background];
    if (l->recipe->has_ignore) {
        unlabeled += w->chip_hist[l->recipe->ignore_index];
    }
    return (size_t)cw->w * (size_t)cw->h - unlabeled;
}

void ek_chip_shares(const uint8_t *valid, const uint8_t *cloud, const ek_window *uw,
                    const ek_window *cw, double *nodata, double *cloudy)
{
    size_t invalid = 0, masked = 0, n = (size_t)cw->w * (size_t)cw->h;
    int x, y;

    for (y = 0; y < cw->h; y++) {
        for (x = 0; x < cw->w; x++) {
            size_t at = (size_t)(cw->y - uw->y + y) * (size_t)uw->w +
                        (size_t)(cw->x - uw->x + x);

            invalid += !valid[at];
            masked += cloud[at];
        }
    }
    *nodata = (double)invalid / (double)n;
    *cloudy = (double)masked / (double)n;
}

/* What the modalities say about chip K: nodata and cloud shares over the
   required ones, presence of the optional ones, whether a required stack
   lacked acquisitions. Fills w->chip_valid (required composites). */
static void modality_shares(const ek_build *b, ek_worker *w, const ek_unit_view *v,
                            size_t k, ek_unit_chip *uc, int *present, int *short_stack)
{
    const ek_plan *p = b->plan;
    ek_window cw = ek_plan_chip(p, v->chip_ids[k]).window;
    size_t npx = (size_t)cw.w * (size_t)cw.h, m, bad = 0, px;
    int x, y;

    memset(w->chip_valid, 1, npx);
    uc->nodata_frac = 0;
    uc->cloud_frac = -1;
    *short_stack = 0;
    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality *mod = &p->modalities[m];
        const ek_modality_buffers *buf = &w->mods[m];
        int required = mod->recipe->required, has_mask = mod->recipe->mask.present;
        double nodata, cloud;

        if (mod->recipe->time.mode == EK_TIME_STACK) {
            present[m] = buf->steps_done[k] == mod->steps;
            *short_stack |= required && !present[m];
            nodata = present[m] ? buf->step_nodata[k] : 1;
            cloud = present[m] ? buf->step_cloud[k] : 0;
        } else {
            ek_chip_shares(buf->valid, buf->cloud, &v->window, &cw, &nodata, &cloud);
            present[m] = nodata <= b->recipe->max_nodata;
            for (y = 0; required && y < cw.h; y++) {
                for (x = 0; x < cw.w; x++) {
                    size_t at = (size_t)(cw.y - v->window.y + y) * (size_t)v->window.w +
                                (size_t)(cw.x - v->window.x + x);

                    w->chip_valid[(size_t)y * (size_t)cw.w + (size_t)x] &=
                        buf->valid[at];
                }
            }
        }
        if (required && nodata > uc->nodata_frac) {
            uc->nodata_frac = nodata; /* a stack's worst step */
        }
        if (has_mask && (required || present[m]) && cloud > uc->cloud_frac) {
            uc->cloud_frac = cloud;
        }
    }
    for (px = 0; px < npx; px++) {
        bad += !w->chip_valid[px];
    }
    if ((double)bad / (double)npx > uc->nodata_frac) {
        uc->nodata_frac = (double)bad / (double)npx;
    }
}

/* JSON of the optional modalities' presence, or NULL when all are required. */
static char *present_json(eodkit_ctx *ctx, const ek_plan *p, const int *present,
                          int *rc)
{
    ek_strbuf t;
    char *json = NULL;
    size_t m;
    int any = 0;

    ek_strbuf_init(&t, ctx);
    for (m = 0; m < p->nmodalities; m++) {
        if (!p->modalities[m].recipe->required) {
            ek_strbuf_printf(&t, "%s\"%s\": %d", any ? ", " : "{",
                             p->modalities[m].recipe->name, present[m]);
            any = 1;
        }
    }
    if (!any) {
        return NULL;
    }
    ek_strbuf_puts(&t, "}");
    *rc = ek_strbuf_detach(&t, &json);
    return json;
}

/* USED[t] = 1 for each acquisition time T of time modality M that chip K
   uses (USED holds m->ntimes zeros). */
static void mark_used(const ek_modality *m, const ek_modality_buffers *buf,
                      const ek_unit_view *v, size_t k, const ek_window *cw,
                      uint8_t *used)
{
    size_t t;
    int x, y, s;

    if (m->recipe->time.mode == EK_TIME_STACK) {
        for (s = 0; s < m->steps; s++) {
            for (t = 0; t < m->ntimes; t++) {
                used[t] |=
                    buf->step_times[k * (size_t)m->steps + (size_t)s] == m->times[t];
            }
        }
        return;
    }
    for (y = 0; y < cw->h; y++) {
        for (x = 0; x < cw->w; x++) {
            size_t at = (size_t)(cw->y - v->window.y + y) * (size_t)v->window.w +
                        (size_t)(cw->x - v->window.x + x);

            if (buf->origin[at] != 0xffff) {
                used[buf->origin[at]] = 1;
            }
        }
    }
}

/* The acquisition times each time modality used for chip K (JSON), the
   latest of them, and the files that fed the chip (JSON). */
static int chip_provenance(eodkit_ctx *ctx, const ek_build *b, ek_worker *w,
                           const ek_unit_view *v, size_t k, const int *present,
                           ek_unit_chip *uc)
{
    const ek_plan *p = b->plan;
    ek_window cw = ek_plan_chip(p, v->chip_ids[k]).window;
    ek_strbuf times, sources;
    uint8_t *used = NULL;
    size_t m, t, s;
    int any_time = 0, rc;

    ek_strbuf_init(&times, ctx);
    ek_strbuf_init(&sources, ctx);
    uc->earliest = INT64_MAX;
    uc->latest = INT64_MIN;
    ek_strbuf_puts(&sources, "{");
    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality *mod = &p->modalities[m];
        int timed = mod->recipe->time.mode != EK_TIME_NONE, first = 1;

        free(used);
        used = calloc(mod->ntimes + 1, 1);
        if (used == NULL) {
            ek_strbuf_free(&times);
            ek_strbuf_free(&sources);
            return ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory");
        }
        if (timed) {
            ek_strbuf_printf(&times, "%s\"%s\": [", any_time ? ", " : "{",
                             mod->recipe->name);
            if (present[m]) {
                mark_used(mod, &w->mods[m], v, k, &cw, used);
            }
            for (t = 0; t < mod->ntimes; t++) {
                char iso[32];

                if (used[t]) {
                    ek_time_format(mod->times[t], iso, sizeof iso);
                    ek_strbuf_printf(&times, "%s\"%s\"", first ? "" : ", ", iso);
                    first = 0;
                    uc->latest =
                        mod->times[t] > uc->latest ? mod->times[t] : uc->latest;
                    uc->earliest =
                        mod->times[t] < uc->earliest ? mod->times[t] : uc->earliest;
                }
            }
            ek_strbuf_puts(&times, "]");
            any_time = 1;
        }
        ek_strbuf_printf(&sources, "%s\"%s\": [", m ? ", " : "", mod->recipe->name);
        first = 1;
        for (s = 0; s < mod->nsources; s++) {
            const ek_placement *pl = ek_plan_placement(mod, v->grid, s);
            int overlaps = pl->gx1 > cw.x && pl->gx0 < cw.x + cw.w && pl->gy1 > cw.y &&
                           pl->gy0 < cw.y + cw.h;

            for (t = 0; timed && overlaps && t < mod->ntimes; t++) {
                overlaps = mod->times[t] == mod->sources[s].time ? used[t] : overlaps;
            }
            if (overlaps) {
                ek_strbuf_printf(&sources, "%s%zu", first ? "" : ", ", s);
                first = 0;
            }
        }
        ek_strbuf_puts(&sources, "]");
    }
    free(used);
    ek_strbuf_puts(&sources, "}");
    rc = ek_strbuf_detach(&sources, &uc->sources);
    if (any_time) {
        ek_strbuf_puts(&times, "}");
        rc = rc == EODKIT_OK ? ek_strbuf_detach(&times, &uc->times) : rc;
    }
    ek_strbuf_free(&times);
    return rc;
}

/* ---- labels of one chip, per task ---- */

/* Pixels of chip CW (in unit window UW) whose regression target has a
   value. */
static size_t target_pixels(const ek_worker *w, const ek_window *uw,
                            const ek_window *cw)
{
    const float *v = w->unit_labels;
    size_t n = 0;
    int x, y;

    for (y = 0; y < cw->h; y++) {
        for (x = 0; x < cw->w; x++) {
            n += !isnan(v[(size_t)(cw->y - uw->y + y) * (size_t)uw->w +
                          (size_t)(cw->x - uw->x + x)]);
        }
    }
    return n;
}

/* Whether scenes S and T have the same labels. */
static int same_labels(const ek_labels *l, uint32_t s, uint32_t t)
{
    const int *a, *b;
    size_t na, nb;

    ek_table_scene_labels(l, s, &a, &na);
    ek_table_scene_labels(l, t, &b, &nb);
    return na == nb && memcmp(a, b, na * sizeof *a) == 0;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/*
** Scene labels: the labelled scenes chip CW lies in, their pixels per
** class into w->chip_hist, the scene whose labels the chip takes into
** *SCENE (0: none): the only one, or any when all have the same labels,
** else (*MIXED = 1 unless labels.mixed is majority) the one covering most
** of the chip, the lower number on ties. Return the labelled pixels.
*/
static size_t chip_scenes(const ek_build *b, ek_worker *w, const ek_window *uw,
                          const ek_window *cw, uint32_t *scene, int *mixed)
{
    const ek_labels *l = b->labels;
    const uint32_t *plane = w->unit_labels;
    size_t npx = (size_t)cw->w * (size_t)cw->h, labelled = 0, best = 0, run, i, j;
    uint32_t *s = w->chip_scene;
    int y;

    memset(w->chip_hist, 0, (size_t)b->nclass_ids * sizeof *w->chip_hist);
    *scene = 0;
    *mixed = 0;
    for (y = 0; y < cw->h; y++) {
        memcpy(s + (size_t)y * (size_t)cw->w,
               plane + (size_t)(cw->y - uw->y + y) * (size_t)uw->w +
                   (size_t)(cw->x - uw->x),
               (size_t)cw->w * sizeof *s);
    }
    /* runs of equal scene numbers: each scene and its pixels */
    qsort(s, npx, sizeof *s, compare_u32);
    for (i = 0; i < npx; i += run) {
        const int *ids;
        size_t n;

        for (run = 1; i + run < npx && s[i + run] == s[i]; run++) {
        }
        if (s[i] == 0) {
            continue;
        }
        labelled += run;
        ek_table_scene_labels(l, s[i], &ids, &n);
        for (j = 0; j < n; j++) {
            w->chip_hist[ids[j]] += run;
        }
        if (*scene == 0 || run > best) { /* ascending: the lower number wins ties */
            *scene = s[i];
            best = run;
        }
    }
    for (i = 0; *scene != 0 && i < npx; i++) {
        if (s[i] != 0 && (i == 0 || s[i] != s[i - 1])) {
            *mixed |= !same_labels(l, s[i], *scene);
        }
    }
    *mixed &= !l->recipe->table.majority;
    return labelled;
}

/* The label of a chip that takes the labels of scene S (0: none) into DST
   (classification: the class, or the background; multilabel: 1 per class
   the scene has) and *LABEL. */
static void scene_label(const ek_build *b, uint32_t s, unsigned char *dst, int *label)
{
    const ek_labels *l = b->labels;
    const int *ids = NULL;
    size_t n = 0, k, i;

    if (s != 0) {
        ek_table_scene_labels(l, s, &ids, &n);
    }
    *label = -1;
    if (l->recipe->task == EK_TASK_CLASSIFICATION) {
        *label = n > 0 ? ids[0] : l->recipe->background;
        ek_pixel_set(dst, l->dtype, 0, *label);
        return;
    }
    for (k = 0; k < l->nclasses; k++) {
        dst[k] = 0;
        for (i = 0; i < n; i++) {
            dst[k] |= ids[i] == l->classes[k].id;
        }
    }
}

/* Labelled pixels of chip CW (in unit window UW), per task; scene labels
   also say whether the chip is mixed (UC->mixed). */
static size_t chip_labelled(const ek_build *b, ek_worker *w, const ek_window *uw,
                            const ek_window *cw, ek_unit_chip *uc)
{
    uint32_t scene;

    if (b->labels->regression) {
        return target_pixels(w, uw, cw);
    }
    if (b->labels->table != NULL) {
        return chip_scenes(b, w, uw, cw, &scene, &uc->mixed);
    }
    return chip_classes(b, w, uw, cw);
}

/* The label arrays of kept chip K and its class histogram (none for a
   regression target). */
static int chip_labels(eodkit_ctx *ctx, const ek_build *b, ek_worker *w,
                       const ek_unit_view *v, size_t k, ek_unit_result *res)
{
    const ek_plan *p = b->plan;
    const ek_labels *l = b->labels;
    ek_unit_chip *uc = &res->chips[k];
    ek_window cw = ek_plan_chip(p, v->chip_ids[k]).window;
    unsigned char *dst =
        b->label_array >= 0
            ? res->data[b->label_array] + k * b->arrays[b->label_array].chip_bytes
            : NULL;
    uint32_t scene;
    int mixed;

    if (l->table != NULL) {
        chip_scenes(b, w, &v->window, &cw, &scene, &mixed);
        scene_label(b, scene, dst, &uc->label);
    } else {
        if (!l->regression) {
            chip_classes(b, w, &v->window, &cw); /* this chip's class histogram */
        }
        if (dst != NULL) { /* detection: no label array */
            chip_label(b, w, &v->window, &cw, dst, &uc->label);
        }
    }
    if (b->pair_array >= 0) { /* change: the classes before and after */
        ek_cut_chip(res->data[b->pair_array] + k * b->arrays[b->pair_array].chip_bytes,
                    w->unit_pair, &v->window, &cw, 2,
                    (size_t)ek_dtype_size(l->change->class_type));
    }
    if (l->regression) {
        return EODKIT_OK;
    }
    uc->class_hist = hist_json(ctx, w->chip_hist, b->nclass_ids);
    return uc->class_hist == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

/* The reason to drop chip UC for its labels alone, or EK_KEEP. */
static ek_reject label_verdict(const ek_build *b, const ek_unit_chip *uc)
{
    if (uc->labeled_frac < b->recipe->min_labeled) {
        return EK_REJECT_UNLABELED;
    }
    if (uc->mixed) {
        return EK_REJECT_MIXED;
    }
    if ((long long)uc->nobjects < b->recipe->min_objects) {
        return EK_REJECT_OBJECTS;
    }
    return EK_KEEP;
}

/* Identify the unit's chips, their labelled shares (the labels are
   rendered) and their objects; *ENOUGH is how many pass the label filters. */
static int judge_labels(eodkit_ctx *ctx, const ek_build *b, ek_worker *w,
                        const ek_unit_view *v, ek_unit_result *res, size_t *enough)
{
    size_t k;
    int rc = EODKIT_OK;

    *enough = 0;
    for (k = 0; k < v->nchips && rc == EODKIT_OK; k++) {
        ek_unit_chip *uc = &res->chips[k];
        ek_window cw = ek_plan_chip(b->plan, v->chip_ids[k]).window;

        uc->chip_id = v->chip_ids[k];
        uc->split = b->split->chip_split[v->candidate[k]];
        uc->label = -1;
        if (b->labels != NULL) {
            uc->labeled_frac = (double)chip_labelled(b, w, &v->window, &cw, uc) /
                               ((double)cw.w * (double)cw.h);
        }
        uc->first_object = res->nobjects;
        if (b->range_array >= 0) {
            rc = ek_labels_objects(ctx, b->labels, b->plan, v->grid, &cw, &res->objects,
                                   &res->nobjects, &res->objects_cap);
        }
        uc->nobjects = res->nobjects - uc->first_object;
        *enough += label_verdict(b, uc) == EK_KEEP;
    }
    return rc;
}

/* {"class id": objects} of chip UC's objects among OBJS, ascending ids. */
static char *object_hist_json(eodkit_ctx *ctx, const ek_build *b, const ek_object *objs,
                              const ek_unit_chip *uc, uint64_t *hist)
{
    size_t i;

    memset(hist, 0, (size_t)b->nclass_ids * sizeof *hist);
    for (i = 0; i < uc->nobjects; i++) {
        hist[objs[uc->first_object + i].cls]++;
    }
    return hist_json(ctx, hist, b->nclass_ids);
}

/* Chip CW's instance ids into DST (the instance array's row): the ids of
   the objects the chip keeps, 0 elsewhere (background, and objects too
   little of which lies inside). The kept ids come in ascending order. */
static void chip_instances(const ek_build *b, const ek_worker *w, const ek_window *uw,
                           const ek_window *cw, const ek_object *objs, size_t n,
                           unsigned char *dst)
{
    GDALDataType t = b->labels->object_dtype;
    size_t npx = (size_t)cw->w * (size_t)cw->h, px;

    ek_cut_chip(dst, w->unit_instances, uw, cw, 1, (size_t)ek_dtype_size(t));
    for (px = 0; px < npx; px++) {
        uint32_t id = (uint32_t)ek_pixel_get(dst, t, px);
        size_t lo = 0, hi = n;

        if (id == 0) {
            continue;
        }
        while (lo < hi) { /* objects are in feature order: ascending ids */
            size_t mid = (lo + hi) / 2;

            if (objs[mid].id < id) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if (lo == n || objs[lo].id != id) {
            ek_pixel_set(dst, t, px, 0);
        }
    }
}

/* Judge chip K (after judge_labels); when kept, cut its arrays and describe
   it. Filters apply in the order unlabeled, objects, time, nodata, cloud. */
static int take_chip(eodkit_ctx *ctx, const ek_build *b, ek_worker *w,
                     const ek_unit_view *v, size_t k, ek_unit_result *res)
{
    const ek_plan *p = b->plan;
    const ek_recipe *r = b->recipe;
    ek_unit_chip *uc = &res->chips[k];
    ek_window cw = ek_plan_chip(p, v->chip_ids[k]).window;
    size_t m;
    int present[64], short_stack, rc = EODKIT_OK;

    modality_shares(b, w, v, k, uc, present, &short_stack);
    uc->reject = label_verdict(b, uc);
    if (uc->reject == EK_KEEP) {
        uc->reject = short_stack                       ? EK_REJECT_TIME
                     : uc->nodata_frac > r->max_nodata ? EK_REJECT_NODATA
                     : uc->cloud_frac > r->max_cloud   ? EK_REJECT_CLOUD
                                                       : EK_KEEP;
    }
    if (uc->reject != EK_KEEP) {
        return EODKIT_OK;
    }
    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality *mod = &p->modalities[m];

        if (mod->recipe->time.mode != EK_TIME_STACK) {
            ek_cut_chip(res->data[m] + k * b->arrays[m].chip_bytes, w->mods[m].data,
                        &v->window, &cw, mod->nbands,
                        (size_t)ek_dtype_size(mod->dtype));
        }
    }
    uc->present = present_json(ctx, p, present, &rc);
    if (rc == EODKIT_OK) {
        rc = chip_provenance(ctx, b, w, v, k, present, uc);
    }
    if (rc == EODKIT_OK && b->labels != NULL) {
        rc = chip_labels(ctx, b, w, v, k, res);
    }
    if (rc == EODKIT_OK && b->instance_array >= 0) {
        chip_instances(
            b, w, &v->window, &cw, res->objects + uc->first_object, uc->nobjects,
            res->data[b->instance_array] + k * b->arrays[b->instance_array].chip_bytes);
    }
    if (rc == EODKIT_OK && b->range_array >= 0) {
        uc->object_hist = object_hist_json(ctx, b, res->objects, uc, w->chip_hist);
        rc = uc->object_hist == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    return rc;
}

/* The per-object arrays of RES from its objects, one row per object. */
static int pack_objects(eodkit_ctx *ctx, const ek_build *b, ek_unit_result *res)
{
    size_t i, n = res->nobjects;
    int f;

    for (f = 0; f < EK_OBJECT_FIELDS; f++) {
        int a = b->object_arrays[f];
        unsigned char *data;

        if (a < 0 || n == 0) {
            continue;
        }
        data = ek_realloc_array(ctx, res->data[a], n, b->arrays[a].chip_bytes);
        if (data == NULL) {
            return EODKIT_ERR_NOMEM;
        }
        res->data[a] = data;
        for (i = 0; i < n; i++) {
            const ek_object *o = &res->objects[i];
            unsigned char *at = data + i * b->arrays[a].chip_bytes;

            switch (f) {
            case EK_OBJECT_BOXES:
                memcpy(at, o->box, sizeof o->box);
                break;
            case EK_OBJECT_OBB:
                memcpy(at, o->obb, sizeof o->obb);
                break;
            case EK_OBJECT_CLASS:
                ek_pixel_set(at, b->labels->dtype, 0, o->cls);
                break;
            case EK_OBJECT_ID:
                memcpy(at, &o->id, sizeof o->id);
                break;
            case EK_OBJECT_VISIBLE:
                memcpy(at, &o->visible, sizeof o->visible);
                break;
            case EK_OBJECT_TRUNCATED:
                *at = o->truncated;
                break;
            }
        }
    }
    return EODKIT_OK;
}

static int alloc_result(eodkit_ctx *ctx, const ek_build *b, size_t nchips,
                        ek_unit_result *res)
{
    size_t a;

    res->nchips = nchips;
    res->chips = ek_calloc(ctx, nchips, sizeof *res->chips);
    res->data = ek_calloc(ctx, b->narrays + 1, sizeof *res->data);
    if (res->chips == NULL || res->data == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (a = 0; a < b->narrays; a++) {
        /* per-object arrays get their rows in pack_objects */
        res->data[a] = ek_calloc(ctx, b->arrays[a].per_object ? 1 : nchips,
                                 b->arrays[a].chip_bytes);
        if (res->data[a] == NULL) {
            return EODKIT_ERR_NOMEM;
        }
    }
    return EODKIT_OK;
}

/* The unit's chips that have a split (their ids and candidate indices
   into IDS and CANDIDATE), and the window covering them. */
static size_t active_chips(const ek_plan *p, const ek_split *s, size_t u, size_t *ids,
                           size_t *candidate, ek_unit_view *v, size_t *candidates)
{
    size_t k;
    int x1 = 0, y1 = 0;

    v->nchips = 0;
    v->grid = ek_plan_chip(p, p->chips[p->units[u].first]).grid;
    *candidates += p->units[u + 1].first - p->units[u].first;
    for (k = p->units[u].first; k < p->units[u + 1].first; k++) {
        ek_window cw;

        if (s->chip_split[k] < 0) {
            continue;
        }
        cw = ek_plan_chip(p, p->chips[k]).window;
        if (v->nchips == 0) {
            v->window = cw;
            x1 = cw.x + cw.w, y1 = cw.y + cw.h;
        }
        v->window.x = cw.x < v->window.x ? cw.x : v->window.x;
        v->window.y = cw.y < v->window.y ? cw.y : v->window.y;
        x1 = cw.x + cw.w > x1 ? cw.x + cw.w : x1;
        y1 = cw.y + cw.h > y1 ? cw.y + cw.h : y1;
        candidate[v->nchips] = k;
        ids[v->nchips++] = p->chips[k];
    }
    v->window.w = x1 - v->window.x;
    v->window.h = y1 - v->window.y;
    v->chip_ids = ids;
    v->candidate = candidate;
    return v->nchips;
}

/* Whether modality M is read onto grid G without warping (every file of it
   lies on the grid's pixels). */
static int reads_aligned(const ek_modality *m, size_t g)
{
    size_t s;

    for (s = 0; s < m->nsources; s++) {
        if (!ek_plan_placement(m, g, s)->aligned) {
            return 0;
        }
    }
    return 1;
}

/* Whether chip K can still be kept given the labels and the modalities read
   so far (READ[m]): a required composite's nodata share alone already
   exceeding max_nodata rules it out. */
static int may_keep(const ek_build *b, const ek_worker *w, const ek_unit_view *v,
                    size_t k, const ek_unit_result *res, const uint8_t *read)
{
    const ek_plan *p = b->plan;
    ek_window cw = ek_plan_chip(p, v->chip_ids[k]).window;
    double nodata, cloud;
    size_t m;

    if (label_verdict(b, &res->chips[k]) != EK_KEEP) {
        return 0;
    }
    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality *mod = &p->modalities[m];

        if (!read[m] || !mod->recipe->required ||
            mod->recipe->time.mode == EK_TIME_STACK) {
            continue;
        }
        ek_chip_shares(w->mods[m].valid, w->mods[m].cloud, &v->window, &cw, &nodata,
                       &cloud);
        if (nodata > b->recipe->max_nodata) {
            return 0;
        }
    }
    return 1;
}

/*
** Read the modalities of unit V: first those read without warping, then,
** unless those and the labels already rule out every chip, the warped ones.
** *SKIPPED is 1 when the warped ones were not read (every chip is then
** rejected: unlabeled, objects, or nodata).
*/
static int read_modalities(eodkit_ctx *ctx, ek_worker *w, const ek_unit_view *v,
                           ek_unit_result *res, int *skipped)
{
    const ek_build *b = w->b;
    const ek_plan *p = b->plan;
    uint8_t read[64] = {0};
    size_t m, k;
    int pass, rc = EODKIT_OK;

    *skipped = 0;
    for (pass = 0; pass < 2 && rc == EODKIT_OK; pass++) {
        for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
            if (reads_aligned(&p->modalities[m], v->grid) == (pass == 0)) {
                rc = ek_read_modality(ctx, w, m, v, res);
                read[m] = 1;
            }
        }
        for (k = 0; pass == 0 && rc == EODKIT_OK && k < v->nchips; k++) {
            if (may_keep(b, w, v, k, res, read)) {
                break;
            }
        }
        if (pass == 0 && rc == EODKIT_OK && k == v->nchips) {
            for (k = 0; k < v->nchips; k++) {
                ek_reject why = label_verdict(b, &res->chips[k]);

                res->chips[k].reject = why != EK_KEEP ? why : EK_REJECT_NODATA;
            }
            *skipped = 1;
            break;
        }
    }
    return rc;
}

int ek_unit_run(void *state, eodkit_ctx *ctx, size_t u, void **result)
{
    ek_worker *w = state;
    const ek_build *b = w->b;
    const ek_plan *p = b->plan;
    ek_unit_result *res = ek_calloc(ctx, 1, sizeof *res);
    size_t *ids =
        ek_calloc(ctx, 2 * (size_t)p->unit_chips * (size_t)p->unit_chips, sizeof *ids);
    ek_unit_view v;
    size_t k, enough = 0;
    int skipped = 0, rc = EODKIT_OK;

    *result = res;
    if (res == NULL || ids == NULL) {
        free(ids);
        return EODKIT_ERR_NOMEM;
    }
    if (active_chips(p, b->split, u, ids,
                     ids + (size_t)p->unit_chips * (size_t)p->unit_chips, &v,
                     &res->candidates) == 0) {
        free(ids);
        return EODKIT_OK;
    }
    rc = alloc_result(ctx, b, v.nchips, res);
    if (rc == EODKIT_OK && b->labels != NULL) {
        rc = w->unit_pair != NULL
                 ? ek_change_render(ctx, b->labels, p, v.grid, &v.window, w->reader,
                                    w->label_raw, w->label_valid, w->unit_labels,
                                    w->unit_pair)
                 : ek_labels_render(ctx, b->labels, p, v.grid, &v.window, w->reader,
                                    w->label_raw, w->label_valid, w->unit_labels);
    }
    if (rc == EODKIT_OK) {
        rc = judge_labels(ctx, b, w, &v, res, &enough);
    }
    /* labels first: a unit none of whose chips has enough labelled pixels
       (or objects) needs no image read at all */
    if (rc == EODKIT_OK && enough == 0) {
        for (k = 0; k < v.nchips; k++) {
            res->chips[k].reject = label_verdict(b, &res->chips[k]);
        }
        free(ids);
        return EODKIT_OK;
    }
    if (rc == EODKIT_OK && b->instance_array >= 0) {
        memset(w->unit_instances, 0,
               (size_t)v.window.w * (size_t)v.window.h *
                   (size_t)ek_dtype_size(b->labels->object_dtype));
        rc = ek_shapes_render_ids(ctx, b->labels->shapes, p, v.grid, &v.window,
                                  b->labels->object_dtype, w->unit_instances,
                                  b->recipe->labels.all_touched);
    }
    if (rc == EODKIT_OK) {
        rc = read_modalities(ctx, w, &v, res, &skipped);
    }
    for (k = 0; k < v.nchips && rc == EODKIT_OK && !skipped; k++) {
        rc = take_chip(ctx, b, w, &v, k, res);
    }
    if (rc == EODKIT_OK) {
        rc = pack_objects(ctx, b, res);
    }
    free(ids);
    return rc;
}
