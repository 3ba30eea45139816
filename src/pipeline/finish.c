/*
** Pipeline: from written chips to a dataset. The chip index is made from the
** journal; per-band statistics of the training split are computed from its
** shards (groups of chips on the pool; histograms summed, moments of 8/16-
** bit data from the histogram and of other data merged in group order, so
** the numbers are the same whatever the thread count, and the same for a
** resumed or merged build); then stats.json, the STAC collection,
** provenance and the resolved recipe are written and the dataset audited.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eodkit/audit.h"

#include "core/ek_fs.h"
#include "core/ek_pool.h"
#include "dataset/ek_npy.h"
#include "ek_pipeline.h"

/* Chips of the training split per statistics work unit. */
#define GROUP_CHIPS 64

/* What the journal tells beyond the index rows. */
typedef struct chip_census {
    uint64_t **class_pixels; /* [split][class id] */
    uint64_t **class_chips;
    uint64_t **label_chips;   /* classification only, else NULL */
    uint64_t **class_objects; /* tasks with objects only, else NULL */
    uint8_t *absent; /* [train chip * modalities + m]: optional modality absent */
    size_t ntrain;
    size_t *sample_kept; /* sampled builds: chips in the dataset per sample group */
} chip_census;

static void free_table(void **t, size_t n)
{
    size_t i;

    for (i = 0; t != NULL && i < n; i++) {
        free(t[i]);
    }
    free(t);
}

static uint64_t **new_counts(eodkit_ctx *ctx, const ek_build *b)
{
    size_t s, n = b->split->nsplits;
    uint64_t **t = ek_calloc(ctx, n, sizeof *t);

    for (s = 0; t != NULL && s < n; s++) {
        t[s] = ek_calloc(ctx, (size_t)b->nclass_ids, sizeof **t);
        if (t[s] == NULL) {
            free_table((void **)t, s);
            return NULL;
        }
    }
    return t;
}

static void census_clear(const ek_build *b, chip_census *c)
{
    free_table((void **)c->class_pixels, b->split->nsplits);
    free_table((void **)c->class_chips, b->split->nsplits);
    free_table((void **)c->label_chips, b->split->nsplits);
    free_table((void **)c->class_objects, b->split->nsplits);
    free(c->absent);
    free(c->sample_kept);
}

/* Add the counts of histogram TEXT (JSON {"class id": n}) of row R to
   TOTALS[class id] and, when CHIPS is given, 1 to CHIPS[class id] for each
   class it holds. */
static int add_hist(eodkit_ctx *ctx, const ek_build *b, const ek_index_row *r,
                    const char *text, uint64_t *totals, uint64_t *chips)
{
    json_t *hist = json_loads(text, 0, NULL), *n;
    const char *id;

    if (hist == NULL) {
        return ek_error(ctx, EODKIT_ERR_INTERNAL, "chip %lld: bad class histogram",
                        (long long)r->chip_id);
    }
    json_object_foreach(hist, id, n)
    {
        int k = atoi(id);

        if (k >= 0 && k < b->nclass_ids) {
            totals[k] += (uint64_t)json_integer_value(n);
            if (chips != NULL) {
                chips[k] += json_integer_value(n) > 0;
            }
        }
    }
    json_decref(hist);
    return EODKIT_OK;
}

/* Count row R's classes (its class and object histograms) into C. */
static int count_classes(eodkit_ctx *ctx, const ek_build *b, const ek_index_row *r,
                         chip_census *c)
{
    int rc = add_hist(ctx, b, r, r->class_hist, c->class_pixels[r->split],
                      c->class_chips[r->split]);

    if (rc == EODKIT_OK && c->class_objects != NULL) {
        rc = add_hist(ctx, b, r, r->object_hist, c->class_objects[r->split], NULL);
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    if (c->label_chips != NULL && r->label >= 0 && r->label < b->nclass_ids) {
        c->label_chips[r->split][r->label]++;
    }
    return EODKIT_OK;
}

/* Note which optional modalities training row R lacks (its "present"). */
static int note_absent(eodkit_ctx *ctx, const ek_build *b, const ek_index_row *r,
                       chip_census *c, size_t *cap)
{
    size_t nmod = b->plan->nmodalities, m;
    json_t *present = r->present != NULL ? json_loads(r->present, 0, NULL) : NULL;
    int rc = ek_grow(ctx, (void **)&c->absent, cap, (c->ntrain + 1) * nmod, 1);

    for (m = 0; rc == EODKIT_OK && m < nmod; m++) {
        json_t *v = json_object_get(present, b->plan->modalities[m].recipe->name);

        c->absent[c->ntrain * nmod + m] = v != NULL && json_integer_value(v) == 0;
    }
    c->ntrain++;
    json_decref(present);
    return rc;
}

/* index.gpkg of RUN's chips, from its journal; their classes and the
   modalities training chips lack into C. */
static int write_index(eodkit_ctx *ctx, const ek_build *b, const ek_run *run,
                       ek_index **index, chip_census *c)
{
    const ek_plan *p = b->plan;
    char *path = ek_path_join(ctx, run->dir, "index.gpkg");
    char *journal_path = ek_path_join(ctx, run->dir, EK_JOURNAL_FILE);
    ek_journal *journal = NULL;
    ek_index_row r;
    size_t absent_cap = 0;
    int got = 0,
        rc = path == NULL || journal_path == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    if (rc == EODKIT_OK && b->labels != NULL) {
        c->class_pixels = new_counts(ctx, b);
        c->class_chips = new_counts(ctx, b);
        if (b->labels->recipe->task == EK_TASK_CLASSIFICATION) {
            c->label_chips = new_counts(ctx, b);
        }
        if (b->range_array >= 0) {
            c->class_objects = new_counts(ctx, b);
        }
        if (c->class_pixels == NULL || c->class_chips == NULL ||
            (b->labels->recipe->task == EK_TASK_CLASSIFICATION &&
             c->label_chips == NULL) ||
            (b->range_array >= 0 && c->class_objects == NULL)) {
            rc = EODKIT_ERR_NOMEM;
        }
    }
    if (rc == EODKIT_OK && b->sample != NULL) {
        c->sample_kept = ek_calloc(ctx, b->sample->ngroups + 1, sizeof *c->sample_kept);
        rc = c->sample_kept == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    if (rc == EODKIT_OK) {
        unlink(path); /* left by a finish that was killed */
        rc = ek_index_create(ctx, path, p, b->recipe->split.names, b->split->nsplits,
                             b->regions, index);
    }
    if (rc == EODKIT_OK) {
        rc = ek_journal_read_open(ctx, journal_path, &journal);
    }
    for (;;) {
        ek_chip chip;
        size_t k;

        if (rc == EODKIT_OK) {
            rc = ek_journal_next(ctx, journal, &r, &got);
        }
        if (rc != EODKIT_OK || !got) {
            break;
        }
        chip = ek_plan_chip(p, (size_t)r.chip_id);
        k = ek_plan_find(p, (size_t)r.chip_id);
        if (k == EK_NOT_CANDIDATE) {
            rc = ek_error(ctx, EODKIT_ERR_INTERNAL,
                          "%s: chip %lld of the journal is not a candidate of the plan",
                          journal_path, (long long)r.chip_id);
            break;
        }
        r.grid = &p->grids[chip.grid];
        r.window = chip.window;
        r.block = b->split->chip_block[k];
        r.region = b->region_tags != NULL ? b->region_tags->region[k] : -1;
        r.region_share = b->region_tags != NULL ? b->region_tags->share[k] : 0;
        if (c->sample_kept != NULL) {
            c->sample_kept[b->sample->group[k]]++;
        }
        rc = ek_index_add(ctx, *index, &r);
        if (rc == EODKIT_OK && r.class_hist != NULL) {
            rc = count_classes(ctx, b, &r, c);
        }
        if (rc == EODKIT_OK && r.split == EK_STATS_SPLIT) {
            rc = note_absent(ctx, b, &r, c, &absent_cap);
        }
    }
    if (rc == EODKIT_OK) {
        rc = ek_index_close(ctx, *index);
    }
    ek_journal_close(ctx, journal);
    free(path);
    free(journal_path);
    return rc;
}

/* ---- statistics of the training split ---- */

typedef struct stats_job {
    const ek_build *b;
    const ek_run *run;
    const chip_census *census;
    ek_moments **moments; /* [modality][band]: the groups merged in order */
} stats_job;

/* Per worker: its histograms and one chip's buffers. */
typedef struct stats_worker {
    const stats_job *job;
    uint64_t ***hist; /* [modality][band][EK_HIST_BINS] */
    unsigned char *chip;
    uint8_t *valid;
} stats_worker;

/* Moments of one group of chips, per modality and band. */
typedef struct group_result {
    ek_moments **moments;
} group_result;

static void group_free(void *result)
{
    group_result *g = result;

    size_t m;

    if (g == NULL) {
        return;
    }
    for (m = 0; g->moments != NULL && g->moments[m] != NULL; m++) {
        free(g->moments[m]);
    }
    free(g->moments);
    free(g);
}

/* What is done with one band plane of a training chip. */
typedef void (*plane_fn)(void *arg, const unsigned char *plane, int band);

/*
** Call FN(ARG, plane, band) for every band plane (every step) of the
** training chips FIRST .. FIRST+N-1 of array M (a modality, or the label
** plane of a regression target) that hold it (chips where an optional
** modality is absent are left out), read from RUN's shards through CHIP
** (one chip's bytes).
*/
static int train_planes(eodkit_ctx *ctx, const ek_build *b, const ek_run *run,
                        const chip_census *census, size_t m, int64_t first, int64_t n,
                        unsigned char *chip, plane_fn fn, void *arg)
{
    int is_modality = m < b->plan->nmodalities;
    const ek_modality *mod = is_modality ? &b->plan->modalities[m] : NULL;
    int steps = is_modality ? mod->steps : 1, nbands = is_modality ? mod->nbands : 1;
    const ek_array_desc *d = &b->arrays[m];
    size_t plane_bytes = (size_t)b->plan->chip_w * (size_t)b->plan->chip_h *
                         (size_t)ek_dtype_size(d->dtype);
    size_t nmod = b->plan->nmodalities;
    int64_t per_shard = ek_shards_rows_per_shard(run->shards), k = first;
    int rc = EODKIT_OK;

    while (rc == EODKIT_OK && k < first + n) {
        int shard = (int)(k / per_shard);
        char *path = ek_shard_path(ctx, run->dir,
                                   b->recipe->split.names[EK_STATS_SPLIT], d, shard);
        ek_npy nf = {0};

        rc = path == NULL ? EODKIT_ERR_NOMEM : ek_npy_open(ctx, path, &nf);
        for (; rc == EODKIT_OK && k < first + n && k / per_shard == shard; k++) {
            int s, band;

            if (is_modality && census->absent[(size_t)k * nmod + m]) {
                continue;
            }
            rc = ek_npy_read_rows(ctx, &nf, path, k % per_shard, 1, chip);
            for (s = 0; rc == EODKIT_OK && s < steps; s++) {
                for (band = 0; band < nbands; band++) {
                    fn(arg,
                       chip + ((size_t)s * (size_t)nbands + (size_t)band) * plane_bytes,
                       band);
                }
            }
        }
        ek_npy_close(&nf);
        free(path);
    }
    return rc;
}

/* A group's pass over one modality: W's histograms and G's moments. */
typedef struct group_pass {
    stats_worker *w;
    const ek_modality *mod;
    size_t m;
    group_result *g;
} group_pass;

static void group_plane(void *arg, const unsigned char *plane, int band)
{
    group_pass *gp = arg;
    const ek_modality *mod = gp->mod;
    size_t npx =
        (size_t)gp->w->job->b->plan->chip_w * (size_t)gp->w->job->b->plan->chip_h;
    ek_moments mo;

    if (ek_hist_exact(mod->dtype)) {
        /* moments follow from the histogram; nodata's bin is dropped at the
           end */
        ek_hist_add_all(gp->w->hist[gp->m][band], plane, mod->dtype, npx);
        return;
    }
    ek_stats_mask(plane, mod->dtype, mod->has_nodata, mod->nodata, npx, gp->w->valid);
    ek_moments_of(&mo, plane, mod->dtype, gp->w->valid, npx);
    ek_moments_merge(&gp->g->moments[gp->m][band], &mo);
    ek_hist_add(gp->w->hist[gp->m][band], plane, mod->dtype, gp->w->valid, npx);
}

/* Work unit U: training chips [U * GROUP_CHIPS, ...) of every modality. */
static int stats_group(void *state, eodkit_ctx *ctx, size_t u, void **result)
{
    stats_worker *w = state;
    const ek_build *b = w->job->b;
    const ek_plan *p = b->plan;
    int64_t total = ek_shards_count(w->job->run->shards, EK_STATS_SPLIT);
    int64_t first = (int64_t)u * GROUP_CHIPS, n = GROUP_CHIPS;
    group_result *g = ek_calloc(ctx, 1, sizeof *g);
    size_t m;
    int rc = g == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    *result = g;
    if (first + n > total) {
        n = total - first;
    }
    if (rc == EODKIT_OK) {
        g->moments = ek_calloc(ctx, p->nmodalities + 1, sizeof *g->moments);
        rc = g->moments == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        group_pass gp = {w, &p->modalities[m], m, g};

        g->moments[m] =
            ek_calloc(ctx, (size_t)p->modalities[m].nbands, sizeof *g->moments[m]);
        rc = g->moments[m] == NULL
                 ? EODKIT_ERR_NOMEM
                 : train_planes(ctx, b, w->job->run, w->job->census, m, first, n,
                                w->chip, group_plane, &gp);
    }
    return rc;
}

static int stats_commit(void *state, eodkit_ctx *ctx, size_t u, void *result)
{
    stats_job *job = state;
    const ek_plan *p = job->b->plan;
    group_result *g = result;
    size_t m;
    int band;

    (void)ctx;
    (void)u;
    for (m = 0; m < p->nmodalities; m++) {
        for (band = 0; band < p->modalities[m].nbands; band++) {
            ek_moments_merge(&job->moments[m][band], &g->moments[m][band]);
        }
    }
    return EODKIT_OK;
}

static void stats_worker_clear(const ek_plan *p, stats_worker *w)
{
    size_t m;

    for (m = 0; w->hist != NULL && m < p->nmodalities; m++) {
        free_table((void **)w->hist[m], (size_t)p->modalities[m].nbands);
    }
    free(w->hist);
    free(w->chip);
    free(w->valid);
}

static int stats_worker_init(eodkit_ctx *ctx, const stats_job *job, stats_worker *w)
{
    const ek_build *b = job->b;
    const ek_plan *p = b->plan;
    size_t largest = 1, m;
    int band;

    w->job = job;
    for (m = 0; m < p->nmodalities; m++) {
        largest = b->arrays[m].chip_bytes > largest ? b->arrays[m].chip_bytes : largest;
    }
    w->chip = ek_calloc(ctx, 1, largest);
    w->valid = ek_calloc(ctx, (size_t)p->chip_w * (size_t)p->chip_h, 1);
    w->hist = ek_calloc(ctx, p->nmodalities, sizeof *w->hist);
    if (w->chip == NULL || w->valid == NULL || w->hist == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (m = 0; m < p->nmodalities; m++) {
        w->hist[m] =
            ek_calloc(ctx, (size_t)p->modalities[m].nbands, sizeof *w->hist[m]);
        if (w->hist[m] == NULL) {
            return EODKIT_ERR_NOMEM;
        }
        for (band = 0; band < p->modalities[m].nbands; band++) {
            w->hist[m][band] = ek_calloc(ctx, EK_HIST_BINS, sizeof(uint64_t));
            if (w->hist[m][band] == NULL) {
                return EODKIT_ERR_NOMEM;
            }
        }
    }
    return EODKIT_OK;
}

/* The second pass over float data: each band's values to its refiner. */
typedef struct refine_pass {
    const ek_modality *mod;
    ek_refiner **refiners;
    uint8_t *valid;
    size_t npx;
} refine_pass;

static void refine_plane(void *arg, const unsigned char *plane, int band)
{
    refine_pass *rp = arg;
    const ek_modality *mod = rp->mod;

    ek_stats_mask(plane, mod->dtype, mod->has_nodata, mod->nodata, rp->npx, rp->valid);
    ek_refiner_add(rp->refiners[band], plane, mod->dtype, rp->valid, rp->npx);
}

/* Feed the training chips of modality M to its bands' refiners. */
static int reread_train(eodkit_ctx *ctx, const ek_build *b, const ek_run *run,
                        const chip_census *census, size_t m, ek_refiner **refiners)
{
    refine_pass rp = {&b->plan->modalities[m], refiners, NULL,
                      (size_t)b->plan->chip_w * (size_t)b->plan->chip_h};
    unsigned char *chip = ek_calloc(ctx, 1, b->arrays[m].chip_bytes);
    int rc;

    rp.valid = ek_calloc(ctx, rp.npx, 1);
    rc = chip == NULL || rp.valid == NULL
             ? EODKIT_ERR_NOMEM
             : train_planes(ctx, b, run, census, m, 0,
                            ek_shards_count(run->shards, EK_STATS_SPLIT), chip,
                            refine_plane, &rp);
    free(chip);
    free(rp.valid);
    return rc;
}

/* Per-band statistics of RUN's training split: moments of groups of chips
   merged in group order, histograms summed over workers, percentiles
   refined where the histogram is not enough. */
static int train_stats(eodkit_ctx *ctx, const ek_build *b, const ek_run *run,
                       const chip_census *census, int threads, ek_band_stats ***out)
{
    const ek_plan *p = b->plan;
    int64_t train_chips = ek_shards_count(run->shards, EK_STATS_SPLIT);
    size_t groups = (size_t)((train_chips + GROUP_CHIPS - 1) / GROUP_CHIPS), m;
    ek_band_stats **bs = ek_calloc(ctx, p->nmodalities, sizeof *bs);
    stats_worker *workers;
    void **states;
    stats_job job;
    ek_pool_job pool;
    int i, rc = EODKIT_OK;

    *out = bs;
    if (threads < 1 || (size_t)threads > groups) {
        threads = 1;
    }
    memset(&job, 0, sizeof job);
    job.b = b;
    job.run = run;
    job.census = census;
    job.moments = ek_calloc(ctx, p->nmodalities, sizeof *job.moments);
    workers = ek_calloc(ctx, (size_t)threads, sizeof *workers);
    states = ek_calloc(ctx, (size_t)threads, sizeof *states);
    if (bs == NULL || job.moments == NULL || workers == NULL || states == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        bs[m] = ek_calloc(ctx, (size_t)p->modalities[m].nbands, sizeof *bs[m]);
        job.moments[m] =
            ek_calloc(ctx, (size_t)p->modalities[m].nbands, sizeof *job.moments[m]);
        rc = bs[m] == NULL || job.moments[m] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    for (i = 0; i < threads && rc == EODKIT_OK; i++) {
        rc = stats_worker_init(ctx, &job, &workers[i]);
        states[i] = &workers[i];
    }
    if (rc == EODKIT_OK) {
        memset(&pool, 0, sizeof pool);
        pool.units = groups;
        pool.threads = threads;
        pool.worker_state = states;
        pool.work = stats_group;
        pool.commit = stats_commit;
        pool.discard = group_free;
        pool.commit_state = &job;
        rc = ek_pool_run(ctx, &pool);
    }
    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        const ek_modality *mod = &p->modalities[m];
        ek_refiner **refiners = ek_calloc(ctx, (size_t)mod->nbands, sizeof *refiners);
        int band, wants = 0, k;

        rc = refiners == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        for (band = 0; band < mod->nbands && rc == EODKIT_OK; band++) {
            uint64_t *bins = workers[0].hist[m][band];

            for (i = 1; i < threads; i++) {
                for (k = 0; k < EK_HIST_BINS; k++) {
                    bins[k] += workers[i].hist[m][band][k];
                }
            }
            if (ek_hist_exact(mod->dtype)) {
                long nodata =
                    mod->has_nodata ? ek_hist_bin_of(mod->dtype, mod->nodata) : -1;

                if (nodata >= 0) {
                    bins[nodata] = 0;
                }
                ek_moments_of_hist(&job.moments[m][band], bins, mod->dtype);
            }
            bs[m][band].m = job.moments[m][band];
            bs[m][band].count = (uint64_t)train_chips * (uint64_t)mod->steps *
                                (uint64_t)p->chip_w * (uint64_t)p->chip_h;
            rc = ek_refiner_new(ctx, bins, mod->dtype, job.moments[m][band].n,
                                ek_percentile_levels, EK_NPCT, &refiners[band]);
            wants |= rc == EODKIT_OK && ek_refiner_wants_values(refiners[band]);
        }
        if (rc == EODKIT_OK && wants) {
            rc = reread_train(ctx, b, run, census, m, refiners);
        }
        for (band = 0; refiners != NULL && band < mod->nbands; band++) {
            if (rc == EODKIT_OK) {
                ek_refiner_result(refiners[band], bs[m][band].pct);
            }
            ek_refiner_free(refiners[band]);
        }
        free(refiners);
    }
    for (i = 0; workers != NULL && i < threads; i++) {
        stats_worker_clear(p, &workers[i]);
    }
    free(workers);
    free(states);
    free_table((void **)job.moments, p->nmodalities);
    return rc;
}

/* One pass over the regression target's training planes: moments merged
   in chip order and the histogram, or (REFINER set) the values for the
   percentiles. NaN (no target value) is left out. */
typedef struct target_pass {
    ek_moments m;
    uint64_t *bins;
    ek_refiner *refiner;
    uint8_t *valid;
    size_t npx;
} target_pass;

static void target_plane(void *arg, const unsigned char *plane, int band)
{
    target_pass *tp = arg;
    ek_moments mo;

    (void)band;
    ek_stats_mask(plane, GDT_Float32, 0, 0, tp->npx, tp->valid);
    if (tp->refiner != NULL) {
        ek_refiner_add(tp->refiner, plane, GDT_Float32, tp->valid, tp->npx);
        return;
    }
    ek_moments_of(&mo, plane, GDT_Float32, tp->valid, tp->npx);
    ek_moments_merge(&tp->m, &mo);
    ek_hist_add(tp->bins, plane, GDT_Float32, tp->valid, tp->npx);
}

/* Statistics of the regression target over RUN's training chips into OUT
   (as a band's: count, valid count, moments, percentiles). */
static int target_stats(eodkit_ctx *ctx, const ek_build *b, const ek_run *run,
                        const chip_census *census, ek_band_stats *out)
{
    size_t a = (size_t)b->label_array;
    int64_t n = ek_shards_count(run->shards, EK_STATS_SPLIT);
    target_pass tp;
    unsigned char *chip = ek_calloc(ctx, 1, b->arrays[a].chip_bytes);
    int rc;

    memset(&tp, 0, sizeof tp);
    tp.npx = (size_t)b->plan->chip_w * (size_t)b->plan->chip_h;
    tp.bins = ek_calloc(ctx, EK_HIST_BINS, sizeof *tp.bins);
    tp.valid = ek_calloc(ctx, tp.npx, 1);
    rc = chip == NULL || tp.bins == NULL || tp.valid == NULL
             ? EODKIT_ERR_NOMEM
             : train_planes(ctx, b, run, census, a, 0, n, chip, target_plane, &tp);
    if (rc == EODKIT_OK) {
        rc = ek_refiner_new(ctx, tp.bins, GDT_Float32, tp.m.n, ek_percentile_levels,
                            EK_NPCT, &tp.refiner);
    }
    if (rc == EODKIT_OK && ek_refiner_wants_values(tp.refiner)) {
        rc = train_planes(ctx, b, run, census, a, 0, n, chip, target_plane, &tp);
    }
    if (rc == EODKIT_OK) {
        ek_refiner_result(tp.refiner, out->pct);
        out->m = tp.m;
        out->count = (uint64_t)n * tp.npx;
    }
    ek_refiner_free(tp.refiner);
    free(tp.bins);
    free(tp.valid);
    free(chip);
    return rc;
}

/* Every band of every modality must hold valid values (not nodata, NaN or
   infinite) in the training chips that hold the modality: without any, its
   chips are garbage and its statistics null. */
static int check_valid_values(eodkit_ctx *ctx, const ek_build *b,
                              const chip_census *census, ek_band_stats **band_stats)
{
    const ek_plan *p = b->plan;
    size_t m, k;
    int band;

    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality *mod = &p->modalities[m];
        size_t holding = 0;

        for (k = 0; k < census->ntrain; k++) {
            holding += !census->absent[k * p->nmodalities + m];
        }
        for (band = 0; band < mod->nbands && holding > 0; band++) {
            if (band_stats[m][band].m.n > 0) {
                continue;
            }
            return ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: modality '%s', band %d (%s): its %zu chips of split '%s' hold "
                "no valid value (every pixel is nodata, NaN or infinite); check its "
                "files and modalities[].nodata, or lower filters.max_nodata",
                b->recipe->path, mod->recipe->name, band + 1, mod->band_names[band],
                holding, b->recipe->split.names[EK_STATS_SPLIT]);
        }
    }
    return EODKIT_OK;
}

/* stats.json, the STAC collection, provenance.json and the resolved recipe
   of RUN's dataset. */
static int write_metadata(eodkit_ctx *ctx, const ek_build *b, const ek_run *run,
                          const ek_index *index, const chip_census *census,
                          ek_band_stats **band_stats, ek_checksums *sums)
{
    ek_dataset_facts facts;
    ek_band_stats target;
    char *path = NULL;
    int rc = EODKIT_OK;

    memset(&facts, 0, sizeof facts);
    facts.recipe = b->recipe;
    facts.plan = b->plan;
    facts.labels = b->labels;
    facts.split = b->split;
    facts.arrays = b->arrays;
    facts.narrays = b->narrays;
    facts.shards = run->shards;
    facts.index = index;
    facts.regions = b->regions;
    facts.train = EK_STATS_SPLIT;
    facts.band_stats = band_stats;
    facts.class_pixels = census->class_pixels;
    facts.class_chips = census->class_chips;
    facts.label_chips = census->label_chips;
    facts.class_objects = census->class_objects;
    if (b->labels != NULL && b->labels->regression) {
        memset(&target, 0, sizeof target);
        rc = target_stats(ctx, b, run, census, &target);
        facts.target_stats = &target;
    }
    if (rc == EODKIT_OK && b->sample != NULL) {
        facts.sample =
            ek_sample_json(&b->recipe->sample, b->sample, census->sample_kept);
        rc = facts.sample == NULL ? ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory")
                                  : EODKIT_OK;
    }
    if (rc == EODKIT_OK) {
        rc = ek_checksums_wait(ctx, sums, &facts.inputs);
    }
    if (rc == EODKIT_OK) {
        rc = ek_write_stats(ctx, run->dir, &facts);
    }
    if (rc == EODKIT_OK) {
        rc = ek_write_stac(ctx, run->dir, &facts);
    }
    if (rc == EODKIT_OK) {
        rc = ek_write_provenance(ctx, run->dir, &facts);
    }
    if (rc == EODKIT_OK) {
        path = ek_path_join(ctx, run->dir, "recipe.yaml");
        rc = path == NULL ? EODKIT_ERR_NOMEM
                          : ek_recipe_write_resolved(ctx, b->recipe, path);
    }
    json_decref(facts.sample);
    free(path);
    return rc;
}

/* The audit of the finished dataset in folder DIR (audit.json, audit.html,
   datasheet.md, weight columns of index.gpkg), the last thing written; its
   verdict, bias indices and warnings go to *FINDINGS for the summary. */
static int audit(eodkit_ctx *ctx, const char *dir, json_t **findings)
{
    static const char *const kept[] = {
        "verdict",           "shared_pixels",
        "min_gap_pixels",    "outside_europe_north_america",
        "continent_entropy", "class_entropy",
        "warnings"};
    eodkit_audit_options opt;
    char *text = NULL;
    json_t *all;
    size_t i;
    int rc;

    memset(&opt, 0, sizeof opt);
    opt.in_build = 1;
    rc = eodkit_audit(ctx, dir, &opt, &text);
    if (rc != EODKIT_OK) {
        return rc;
    }
    all = json_loads(text, 0, NULL);
    eodkit_free(text);
    *findings = json_object();
    if (all == NULL || *findings == NULL) {
        json_decref(all);
        return ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory");
    }
    for (i = 0; i < sizeof kept / sizeof *kept; i++) {
        json_object_set(*findings, kept[i], json_object_get(all, kept[i]));
    }
    json_decref(all);
    return EODKIT_OK;
}

/* Remove file NAME of folder DIR, if it is there. */
static int remove_file(eodkit_ctx *ctx, const char *dir, const char *name)
{
    char *path = ek_path_join(ctx, dir, name);
    int rc = EODKIT_OK;

    if (path == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (ek_fs_exists(path) && unlink(path) != 0) {
        rc = ek_error(ctx, EODKIT_ERR_IO, "%s: cannot remove it", path);
    }
    free(path);
    return rc;
}

int ek_finish(eodkit_ctx *ctx, const ek_build *b, const ek_run *run, int threads,
              ek_checksums *sums, json_t **findings)
{
    ek_index *index = NULL;
    ek_band_stats **band_stats = NULL;
    chip_census census;
    size_t m;
    int rc;

    *findings = NULL;
    memset(&census, 0, sizeof census);
    rc = write_index(ctx, b, run, &index, &census);
    if (rc == EODKIT_OK) {
        rc = train_stats(ctx, b, run, &census, threads, &band_stats);
    }
    if (rc == EODKIT_OK) {
        rc = check_valid_values(ctx, b, &census, band_stats);
    }
    ek_crash_point("finish", -1);
    if (rc == EODKIT_OK) {
        rc = write_metadata(ctx, b, run, index, &census, band_stats, sums);
    }
    if (rc == EODKIT_OK) {
        rc = audit(ctx, run->dir, findings);
    }
    /* the checkpoint first: killed in between, the folder holds no work
       --resume would take for resumable without its journal */
    if (rc == EODKIT_OK) {
        rc = remove_file(ctx, run->dir, EK_CHECKPOINT_FILE);
    }
    if (rc == EODKIT_OK) {
        rc = remove_file(ctx, run->dir, EK_JOURNAL_FILE);
    }
    for (m = 0; band_stats != NULL && m < b->plan->nmodalities; m++) {
        free(band_stats[m]);
    }
    free(band_stats);
    census_clear(b, &census);
    ek_index_free(index);
    return rc;
}
