/*
** Build: eodkit_build(), the pipeline driver. Makes the plan, loads labels,
** masks and regions and assigns splits (all before reading a pixel), runs
** the work units on the pool, commits their chips in unit order to the
** shards and the index, then finishes statistics and metadata and moves the
** dataset into place.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cpl_conv.h>
#include <jansson.h>

#include "eodkit/audit.h"

#include "core/ek_fs.h"
#include "core/ek_pool.h"
#include "core/ek_time.h"
#include "ek_build.h"

/* Default GDAL block cache: reads go to our own buffers, so a small cache
   keeps memory bounded without slowing builds. */
#define DEFAULT_CACHE_MB "64"

static const char *const reject_names[EK_REJECT_COUNT] = {NULL, "nodata", "cloud",
                                                          "unlabeled", "time"};

typedef struct committer {
    const ek_build *b;
    ek_shards *shards;
    ek_index *index;
    ek_moments **moments; /* [modality][band], merged in unit order */
    size_t kept;
    size_t rejected[EK_REJECT_COUNT];
    long long done;
    const eodkit_build_options *opt;
} committer;

void eodkit_build_options_init(eodkit_build_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->threads = 1;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int commit_chip(eodkit_ctx *ctx, committer *c, const ek_unit_result *res,
                       size_t k)
{
    const ek_build *b = c->b;
    const ek_unit_chip *uc = &res->chips[k];
    const void *data[16];
    ek_index_row row;
    ek_chip chip = ek_plan_chip(b->plan, uc->chip_id);
    size_t a;
    int rc;

    for (a = 0; a < b->narrays; a++) {
        data[a] = res->data[a] + k * b->arrays[a].chip_bytes;
    }
    memset(&row, 0, sizeof row);
    row.chip_id = (int64_t)uc->chip_id;
    row.split = uc->split;
    rc = ek_shards_append(ctx, c->shards, uc->split, data, &row.shard, &row.row);
    if (rc != EODKIT_OK) {
        return rc;
    }
    row.grid = &b->plan->grids[chip.grid];
    row.window = chip.window;
    row.nodata_frac = uc->nodata_frac;
    row.labeled_frac = uc->labeled_frac;
    row.cloud_frac = uc->cloud_frac;
    row.class_hist = uc->class_hist;
    row.label = uc->label;
    row.block = b->split->chip_block[uc->chip_id];
    row.region = b->region_tags != NULL ? b->region_tags[uc->chip_id] : -1;
    row.sources = uc->sources;
    row.present = uc->present;
    row.times = uc->times;
    row.earliest = uc->earliest;
    row.latest = uc->latest;
    return ek_index_add(ctx, c->index, &row);
}

static int commit_unit(void *state, eodkit_ctx *ctx, size_t u, void *result)
{
    committer *c = state;
    const ek_build *b = c->b;
    const ek_plan *p = b->plan;
    ek_unit_result *res = result;
    size_t k, m;
    int rc = EODKIT_OK;

    (void)u;
    for (k = 0; k < res->nchips && rc == EODKIT_OK; k++) {
        if (res->chips[k].reject != EK_KEEP) {
            c->rejected[res->chips[k].reject]++;
            continue;
        }
        rc = commit_chip(ctx, c, res, k);
        c->kept++;
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    for (m = 0; m < p->nmodalities && res->moments != NULL; m++) {
        int band;

        for (band = 0; band < p->modalities[m].nbands; band++) {
            ek_moments_merge(&c->moments[m][band], &res->moments[m][band]);
        }
    }
    c->done += (long long)res->candidates;
    if (c->opt->progress != NULL) {
        c->opt->progress(c->opt->progress_arg, c->done, (long long)p->ncandidates);
    }
    return EODKIT_OK;
}

/* The arrays every chip stores: one per modality, then the labels. */
static int describe_arrays(eodkit_ctx *ctx, ek_build *b)
{
    const ek_plan *p = b->plan;
    size_t m, n = p->nmodalities + (b->labels != NULL);
    int k;

    if (n > 15) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: at most 14 modalities",
                        b->recipe->path);
    }
    b->arrays = ek_calloc(ctx, n, sizeof *b->arrays);
    if (b->arrays == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    b->narrays = n;
    for (m = 0; m < p->nmodalities; m++) {
        const ek_modality *mod = &p->modalities[m];
        ek_array_desc *d = &b->arrays[m];

        d->name = mod->recipe->name;
        d->dtype = mod->dtype;
        if (mod->recipe->time.mode == EK_TIME_STACK) {
            d->shape[d->ndim++] = mod->steps;
        }
        d->shape[d->ndim++] = mod->nbands;
        d->shape[d->ndim++] = p->chip_h;
        d->shape[d->ndim++] = p->chip_w;
    }
    if (b->labels != NULL) {
        ek_array_desc *d = &b->arrays[p->nmodalities];

        d->name = "label";
        d->dtype = b->labels->dtype;
        switch (b->labels->recipe->task) {
        case EK_TASK_SEGMENTATION:
            d->ndim = 2;
            d->shape[0] = p->chip_h;
            d->shape[1] = p->chip_w;
            break;
        case EK_TASK_CLASSIFICATION:
            d->ndim = 0;
            break;
        case EK_TASK_MULTILABEL:
            d->dtype = GDT_Byte;
            d->ndim = 1;
            d->shape[0] = (int64_t)b->labels->nclasses;
            break;
        }
        b->nclass_ids = b->labels->max_id + 1;
    }
    for (m = 0; m < n; m++) {
        ek_array_desc *d = &b->arrays[m];

        d->chip_bytes = (size_t)ek_dtype_size(d->dtype);
        for (k = 0; k < d->ndim; k++) {
            d->chip_bytes *= (size_t)d->shape[k];
        }
    }
    return EODKIT_OK;
}

static uint64_t **merged_counts(eodkit_ctx *ctx, const ek_build *b, ek_worker *workers,
                                int nworkers, size_t which)
{
    size_t nsplits = b->split->nsplits, s;
    uint64_t **t = ek_calloc(ctx, nsplits, sizeof *t);
    int i, c;

    for (s = 0; t != NULL && s < nsplits; s++) {
        t[s] = ek_calloc(ctx, (size_t)b->nclass_ids, sizeof **t);
        if (t[s] == NULL) {
            return NULL;
        }
        for (i = 0; i < nworkers; i++) {
            uint64_t **src = which == 0   ? workers[i].class_pixels
                             : which == 1 ? workers[i].class_chips
                                          : workers[i].label_chips;

            for (c = 0; c < b->nclass_ids; c++) {
                t[s][c] += src[s][c];
            }
        }
    }
    return t;
}

/* Feed the training shards of modality M to its bands' refiners. */
static int reread_train(eodkit_ctx *ctx, const ek_build *b, const char *dir,
                        const ek_shards *shards, size_t m, ek_refiner **refiners)
{
    const ek_modality *mod = &b->plan->modalities[m];
    const ek_array_desc *d = &b->arrays[m];
    size_t npx = (size_t)b->plan->chip_w * (size_t)b->plan->chip_h;
    size_t dsize = (size_t)ek_dtype_size(d->dtype);
    unsigned char *chip = ek_calloc(ctx, 1, d->chip_bytes);
    uint8_t *valid = ek_calloc(ctx, npx, 1);
    int k, rc = chip == NULL || valid == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    for (k = 0; rc == EODKIT_OK && k < ek_shards_files(shards, b->train); k++) {
        char *path = ek_shard_path(ctx, dir, b->recipe->split.names[b->train], d, k);
        FILE *f = path != NULL ? fopen(path, "rb") : NULL;

        if (f == NULL || fseek(f, (long)ek_npy_header_bytes(d), SEEK_SET) != 0) {
            rc = ek_error(ctx, EODKIT_ERR_IO, "%s: cannot reread it for statistics",
                          path != NULL ? path : dir);
        }
        while (rc == EODKIT_OK && fread(chip, 1, d->chip_bytes, f) == d->chip_bytes) {
            int band, s;

            for (s = 0; s < mod->steps; s++) {
                for (band = 0; band < mod->nbands; band++) {
                    const unsigned char *plane =
                        chip +
                        ((size_t)s * (size_t)mod->nbands + (size_t)band) * npx * dsize;

                    ek_stats_mask(plane, mod->dtype, mod->has_nodata, mod->nodata, npx,
                                  valid);
                    ek_refiner_add(refiners[band], plane, mod->dtype, valid, npx);
                }
            }
        }
        if (f != NULL) {
            fclose(f);
        }
        free(path);
    }
    free(chip);
    free(valid);
    return rc;
}

/* Per-band statistics of the training split: moments from the committer,
   histograms summed over workers, percentiles refined where needed. */
static int finish_stats(eodkit_ctx *ctx, const ek_build *b, const char *dir,
                        const ek_shards *shards, ek_moments **moments,
                        ek_worker *workers, int nworkers, ek_band_stats ***out)
{
    const ek_plan *p = b->plan;
    ek_band_stats **bs = ek_calloc(ctx, p->nmodalities, sizeof *bs);
    uint64_t *bins = ek_calloc(ctx, EK_HIST_BINS, sizeof *bins);
    ek_refiner **refiners = NULL;
    int64_t train_chips = ek_shards_count(shards, b->train);
    size_t m;
    int rc = EODKIT_OK;

    *out = bs;
    if (bs == NULL || bins == NULL) {
        free(bins);
        return EODKIT_ERR_NOMEM;
    }
    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        const ek_modality *mod = &p->modalities[m];
        int band, wants = 0;

        bs[m] = ek_calloc(ctx, (size_t)mod->nbands, sizeof *bs[m]);
        refiners = ek_calloc(ctx, (size_t)mod->nbands, sizeof *refiners);
        if (bs[m] == NULL || refiners == NULL) {
            free(refiners);
            rc = EODKIT_ERR_NOMEM;
            break;
        }
        for (band = 0; band < mod->nbands && rc == EODKIT_OK; band++) {
            int i, k;

            memset(bins, 0, EK_HIST_BINS * sizeof *bins);
            for (i = 0; i < nworkers; i++) {
                for (k = 0; k < EK_HIST_BINS; k++) {
                    bins[k] += workers[i].hist[m][band][k];
                }
            }
            bs[m][band].m = moments[m][band];
            bs[m][band].count = (uint64_t)train_chips * (uint64_t)mod->steps *
                                (uint64_t)p->chip_w * (uint64_t)p->chip_h;
            rc = ek_refiner_new(ctx, bins, mod->dtype, moments[m][band].n,
                                ek_percentile_levels, EK_NPCT, &refiners[band]);
            wants |= rc == EODKIT_OK && ek_refiner_wants_values(refiners[band]);
        }
        if (rc == EODKIT_OK && wants) {
            rc = reread_train(ctx, b, dir, shards, m, refiners);
        }
        for (band = 0; band < mod->nbands; band++) {
            if (rc == EODKIT_OK) {
                ek_refiner_result(refiners[band], bs[m][band].pct);
            }
            ek_refiner_free(refiners[band]);
        }
        free(refiners);
    }
    free(bins);
    return rc;
}

static char *summary_json(const ek_build *b, const committer *c, const char *final,
                          json_t *findings, double seconds, int threads)
{
    json_t *o = json_object(), *splits = json_object(), *rejected = json_object();
    size_t s;
    int k;
    char *text;

    for (s = 0; s < b->split->nsplits; s++) {
        json_object_set_new(splits, b->recipe->split.names[s],
                            json_integer(ek_shards_count(c->shards, (int)s)));
    }
    for (k = 1; k < EK_REJECT_COUNT; k++) {
        json_object_set_new(rejected, reject_names[k],
                            json_integer((json_int_t)c->rejected[k]));
    }
    json_object_set_new(rejected, "guard",
                        json_integer((json_int_t)b->split->guard_dropped));
    json_object_set_new(o, "dataset", json_string(final));
    json_object_set_new(o, "chips", json_integer((json_int_t)c->kept));
    json_object_set_new(o, "splits", splits);
    json_object_set_new(o, "candidates",
                        json_integer((json_int_t)b->plan->ncandidates));
    json_object_set_new(o, "rejected", rejected);
    if (b->labels != NULL && !b->labels->is_raster) {
        json_object_set_new(o, "label_features_unmapped",
                            json_integer((json_int_t)b->labels->unmapped));
    }
    json_object_set_new(o, "grids", json_integer((json_int_t)b->plan->ngrids));
    json_object_set_new(
        o, "regions", b->regions != NULL ? json_string(b->regions->path) : json_null());
    json_object_set(o, "audit", findings);
    json_object_set_new(o, "threads", json_integer(threads));
    json_object_set_new(o, "seconds", json_real(round(seconds * 1000) / 1000));
    json_object_set_new(
        o, "chips_per_second",
        json_real(seconds > 0 ? round((double)c->kept / seconds * 10) / 10 : 0));
    text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(o);
    return text;
}

static void free_build(ek_build *b)
{
    size_t m;

    for (m = 0; b->masks != NULL && m < b->plan->nmodalities; m++) {
        ek_shapes_free(b->masks[m]);
    }
    free(b->masks);
    ek_regions_free(b->regions);
    free(b->region_tags);
    ek_labels_free(b->labels);
    ek_split_free(b->split);
    ek_plan_free(b->plan);
    free(b->arrays);
}

static void free_table(void **t, size_t n)
{
    size_t i;

    for (i = 0; t != NULL && i < n; i++) {
        free(t[i]);
    }
    free(t);
}

/* Statistics, STAC, provenance and the resolved recipe of the finished
   build in folder DIR. */
static int write_metadata(eodkit_ctx *ctx, const ek_build *b, const committer *c,
                          const char *dir, ek_worker *workers, int threads)
{
    ek_band_stats **band_stats = NULL;
    ek_dataset_facts facts;
    char *path = NULL;
    size_t m;
    int rc;

    rc =
        finish_stats(ctx, b, dir, c->shards, c->moments, workers, threads, &band_stats);
    memset(&facts, 0, sizeof facts);
    facts.recipe = b->recipe;
    facts.plan = b->plan;
    facts.labels = b->labels;
    facts.split = b->split;
    facts.arrays = b->arrays;
    facts.narrays = b->narrays;
    facts.shards = c->shards;
    facts.index = c->index;
    facts.regions = b->regions;
    facts.train = b->train;
    facts.band_stats = band_stats;
    if (rc == EODKIT_OK && b->labels != NULL) {
        facts.class_pixels = merged_counts(ctx, b, workers, threads, 0);
        facts.class_chips = merged_counts(ctx, b, workers, threads, 1);
        if (b->labels->recipe->task == EK_TASK_CLASSIFICATION) {
            facts.label_chips = merged_counts(ctx, b, workers, threads, 2);
        }
        if (facts.class_pixels == NULL || facts.class_chips == NULL) {
            rc = EODKIT_ERR_NOMEM;
        }
    }
    if (rc == EODKIT_OK) {
        rc = ek_write_stats(ctx, dir, &facts);
    }
    if (rc == EODKIT_OK) {
        rc = ek_write_stac(ctx, dir, &facts);
    }
    if (rc == EODKIT_OK) {
        rc = ek_write_provenance(ctx, dir, &facts);
    }
    if (rc == EODKIT_OK) {
        path = ek_path_join(ctx, dir, "recipe.yaml");
        rc = path == NULL ? EODKIT_ERR_NOMEM
                          : ek_recipe_write_resolved(ctx, b->recipe, path);
    }
    free(path);
    if (b->labels != NULL) {
        free_table((void **)facts.class_pixels, b->split->nsplits);
        free_table((void **)facts.class_chips, b->split->nsplits);
        free_table((void **)facts.label_chips, b->split->nsplits);
    }
    for (m = 0; band_stats != NULL && m < b->plan->nmodalities; m++) {
        free(band_stats[m]);
    }
    free(band_stats);
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

/* Everything from the first work unit to the dataset in place. */
static int run(eodkit_ctx *ctx, ek_build *b, const eodkit_build_options *opt,
               const char *final, double t0, char **summary)
{
    const ek_plan *p = b->plan;
    ek_output out = {0};
    committer c;
    ek_worker *workers = NULL;
    void **states = NULL;
    ek_pool_job job;
    char *index_path = NULL;
    json_t *findings = NULL;
    int threads = opt->threads < 1 ? 1 : opt->threads, i, rc;
    size_t m;

    memset(&c, 0, sizeof c);
    if ((size_t)threads > p->nunits) {
        threads = (int)p->nunits;
    }
    rc = ek_output_begin(ctx, final, opt->overwrite, &out);
    if (rc != EODKIT_OK) {
        return rc;
    }
    index_path = ek_path_join(ctx, out.tmp, "index.gpkg");
    c.b = b;
    c.opt = opt;
    c.moments = ek_calloc(ctx, p->nmodalities, sizeof *c.moments);
    workers = ek_calloc(ctx, (size_t)threads, sizeof *workers);
    states = ek_calloc(ctx, (size_t)threads, sizeof *states);
    if (index_path == NULL || c.moments == NULL || workers == NULL || states == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        c.moments[m] =
            ek_calloc(ctx, (size_t)p->modalities[m].nbands, sizeof **c.moments);
        rc = c.moments[m] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    if (rc == EODKIT_OK) {
        rc = ek_shards_new(ctx, out.tmp, b->arrays, b->narrays, b->recipe->split.names,
                           b->split->nsplits, b->recipe->shard_bytes, &c.shards);
    }
    if (rc == EODKIT_OK) {
        rc = ek_index_create(ctx, index_path, p, b->recipe->split.names,
                             b->split->nsplits, b->regions, &c.index);
    }
    for (i = 0; i < threads && rc == EODKIT_OK; i++) {
        rc = ek_worker_init(ctx, b, &workers[i]);
        states[i] = &workers[i];
    }
    if (rc == EODKIT_OK) {
        memset(&job, 0, sizeof job);
        job.units = p->nunits;
        job.threads = threads;
        job.worker_state = states;
        job.work = ek_unit_run;
        job.commit = commit_unit;
        job.discard = ek_unit_result_free;
        job.commit_state = &c;
        job.cancel = opt->cancel;
        rc = ek_pool_run(ctx, &job);
    }
    if (rc == EODKIT_OK) {
        rc = ek_shards_close(ctx, c.shards);
    }
    if (rc == EODKIT_OK) {
        rc = ek_index_close(ctx, c.index);
    }
    if (rc == EODKIT_OK) {
        rc = write_metadata(ctx, b, &c, out.tmp, workers, threads);
    }
    if (rc == EODKIT_OK) {
        rc = audit(ctx, out.tmp, &findings);
    }
    if (rc == EODKIT_OK) {
        rc = ek_output_commit(ctx, &out);
    }
    if (rc == EODKIT_OK) {
        *summary = summary_json(b, &c, final, findings, now_seconds() - t0, threads);
        rc = *summary == NULL ? ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory")
                              : EODKIT_OK;
    }
out:
    for (i = 0; workers != NULL && i < threads; i++) {
        ek_worker_clear(&workers[i]);
    }
    free(workers);
    free(states);
    free_table((void **)c.moments, p->nmodalities);
    ek_shards_free(c.shards);
    ek_index_free(c.index);
    free(index_path);
    json_decref(findings);
    if (rc != EODKIT_OK) {
        ek_output_abort(&out);
    }
    ek_output_clear(&out);
    return rc;
}

/* Time of mask polygon F from the recipe's time field (an OGR DateTime or
   ISO 8601 text), and burn value 1 (the ek_feature_fn of masks). */
static int mask_feature(void *arg, eodkit_ctx *ctx, OGRFeatureH f, double *burn,
                        int64_t *time)
{
    const int *field = arg;
    int y, mo, d, h, mi, tz;
    float s;

    (void)ctx;
    *burn = 1;
    if (*field < 0) {
        return 1;
    }
    if (!OGR_F_GetFieldAsDateTimeEx(f, *field, &y, &mo, &d, &h, &mi, &s, &tz)) {
        return 0; /* no time: it matches no acquisition */
    }
    {
        char iso[32];

        snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi,
                 (int)s);
        return ek_time_parse_iso(iso, 0, time) == 0 ? 1 : 0;
    }
}

/* Mask polygons of every modality that has them. */
static int open_masks(eodkit_ctx *ctx, ek_build *b)
{
    const ek_plan *p = b->plan;
    size_t m;
    int rc = EODKIT_OK;

    b->masks = ek_calloc(ctx, p->nmodalities, sizeof *b->masks);
    if (b->masks == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (m = 0; m < p->nmodalities && rc == EODKIT_OK; m++) {
        const ek_mask_recipe *mk = &p->modalities[m].recipe->mask;
        GDALDatasetH ds;
        OGRLayerH layer;
        char where[512];
        int field = -1;

        if (mk->polygons == NULL) {
            continue;
        }
        ek_recipe_where(b->recipe, mk->mark, where, sizeof where);
        ds = ek_fs_exists(mk->polygons)
                 ? GDALOpenEx(mk->polygons, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL,
                              NULL, NULL)
                 : NULL;
        if (ds == NULL || GDALDatasetGetLayerCount(ds) == 0) {
            rc = ek_error_with_gdal(
                ctx, EODKIT_ERR_INPUT,
                "%s: cannot read the mask polygons (%s: mask.polygons)", mk->polygons,
                where);
        } else {
            layer = GDALDatasetGetLayer(ds, 0);
            if (mk->time_field != NULL) {
                field = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), mk->time_field);
                if (field < 0) {
                    rc = ek_error(
                        ctx, EODKIT_ERR_INPUT,
                        "%s: the mask layer has no field '%s' (%s: mask.time_field)",
                        mk->polygons, mk->time_field, where);
                }
            }
            if (rc == EODKIT_OK) {
                rc = ek_shapes_load(ctx, p, layer, mk->polygons, where, field >= 0,
                                    mask_feature, &field, &b->masks[m]);
            }
        }
        if (ds != NULL) {
            GDALClose(ds);
        }
    }
    return rc;
}

static int open_regions(eodkit_ctx *ctx, ek_build *b, const eodkit_build_options *opt)
{
    const ek_recipe *r = b->recipe;
    const char *path = opt->regions_path != NULL ? opt->regions_path : r->regions;
    const char *field = opt->region_field != NULL ? opt->region_field : r->region_field;
    char where[512];
    int rc;

    if (opt->regions_path != NULL || opt->region_field != NULL) {
        snprintf(where, sizeof where, "--regions/--region-field");
    } else {
        ek_recipe_where(r, r->regions_mark, where, sizeof where);
    }
    if (path == NULL) {
        path = ek_regions_default();
        if (path == NULL) {
            return field == NULL
                       ? EODKIT_OK
                       : ek_error(ctx, EODKIT_ERR_INPUT,
                                  "no region layer: the built-in world layer is "
                                  "not installed; give one with --regions (%s)",
                                  where);
        }
    }
    rc = ek_regions_open(ctx, path, field, where, &b->regions);
    if (rc == EODKIT_OK) {
        rc = ek_regions_tag_plan(ctx, b->regions, b->plan, &b->region_tags);
    }
    return rc;
}

/* The chips of unit U that are candidates, their window, and their class
   pixel counts (background and ignore index excluded) into COUNTS. */
static int census_unit(eodkit_ctx *ctx, const ek_build *b, size_t u, ek_reader *reader,
                       unsigned char *raw, uint8_t *raw_valid, void *classes,
                       uint32_t *counts)
{
    const ek_plan *p = b->plan;
    const ek_labels_recipe *lr = b->labels->recipe;
    int i0, i1, j0, j1, i, j, x, y;
    size_t g = ek_plan_unit(p, u, &i0, &i1, &j0, &j1);
    const ek_grid *gr = &p->grids[g];
    ek_window win;

    win.x = i0 * p->stride_x;
    win.y = j0 * p->stride_y;
    win.w = (i1 - 1 - i0) * p->stride_x + p->chip_w;
    win.h = (j1 - 1 - j0) * p->stride_y + p->chip_h;
    if (i1 <= i0 || j1 <= j0) {
        return EODKIT_OK;
    }
    if (ek_labels_render(ctx, b->labels, p, g, &win, reader, raw, raw_valid, classes) !=
        EODKIT_OK) {
        return eodkit_ctx_status(ctx);
    }
    for (j = j0; j < j1; j++) {
        for (i = i0; i < i1; i++) {
            size_t id = gr->first_chip + (size_t)j * (size_t)gr->nx + (size_t)i;
            uint32_t *hist = counts + id * (size_t)b->nclass_ids;

            if (!p->candidate[id]) {
                continue;
            }
            for (y = 0; y < p->chip_h; y++) {
                for (x = 0; x < p->chip_w; x++) {
                    size_t at = (size_t)((j - j0) * p->stride_y + y) * (size_t)win.w +
                                (size_t)((i - i0) * p->stride_x + x);
                    int c = (int)ek_pixel_get(classes, b->labels->dtype, at);

                    if (c != lr->background &&
                        !(lr->has_ignore && c == lr->ignore_index)) {
                        hist[c]++;
                    }
                }
            }
        }
    }
    return EODKIT_OK;
}

/* split.stratify needs each chip's classes before any image is read: a
   labels-only pass over the candidate chips. */
static int label_census(eodkit_ctx *ctx, const ek_build *b, uint32_t **out)
{
    const ek_plan *p = b->plan;
    size_t plane = (size_t)p->unit_w * (size_t)p->unit_h, u;
    ek_reader *reader = NULL;
    unsigned char *raw = ek_calloc(ctx, plane, sizeof(double));
    uint8_t *raw_valid = ek_calloc(ctx, plane, 1);
    void *classes = ek_calloc(ctx, plane, sizeof(uint16_t));
    int rc;

    *out = NULL;
    if (b->nclass_ids > 256) {
        rc =
            ek_error(ctx, EODKIT_ERR_INPUT,
                     "%s: split.stratify handles class ids up to 255", b->recipe->path);
        goto out;
    }
    *out = ek_calloc(ctx, p->nchips * (size_t)b->nclass_ids, sizeof **out);
    rc = *out == NULL || raw == NULL || raw_valid == NULL || classes == NULL
             ? EODKIT_ERR_NOMEM
             : ek_reader_new(ctx, p->nsources + 1, p->unit_w, p->unit_h, 1, &reader);
    for (u = 0; u < p->nunits && rc == EODKIT_OK; u++) {
        rc = census_unit(ctx, b, u, reader, raw, raw_valid, classes, *out);
    }
out:
    ek_reader_free(reader);
    free(raw);
    free(raw_valid);
    free(classes);
    return rc;
}

static int make_split(eodkit_ctx *ctx, ek_build *b)
{
    ek_split_inputs in;
    uint32_t *classes = NULL;
    int rc = EODKIT_OK;

    memset(&in, 0, sizeof in);
    in.regions = b->regions;
    in.region_tags = b->region_tags;
    if (b->recipe->split.stratify) {
        b->nclass_ids = b->labels->max_id + 1;
        rc = label_census(ctx, b, &classes);
        in.chip_classes = classes;
        in.nclasses = b->nclass_ids;
    }
    if (rc == EODKIT_OK) {
        rc = ek_split_make(ctx, b->plan, &in, &b->split);
    }
    free(classes);
    return rc;
}

int eodkit_build(eodkit_ctx *ctx, const eodkit_recipe *recipe,
                 const eodkit_build_options *opt, char **summary)
{
    ek_build b;
    const char *final;
    double t0 = now_seconds();
    int rc;

    *summary = NULL;
    memset(&b, 0, sizeof b);
    b.recipe = recipe;
    final = opt->output_dir != NULL ? opt->output_dir : recipe->output_dir;
    if (final == NULL) {
        return ek_error(
            ctx, EODKIT_ERR_USAGE,
            "%s: no output folder: set output.dir in the recipe or give -o DIR",
            recipe->path);
    }
    ek_gdal_capture_begin(ctx);
    GDALAllRegister();
    if (CPLGetConfigOption("GDAL_CACHEMAX", NULL) == NULL) {
        CPLSetConfigOption("GDAL_CACHEMAX", DEFAULT_CACHE_MB);
    }
    rc = ek_plan_make(ctx, recipe, &b.plan);
    if (rc == EODKIT_OK) {
        rc = open_regions(ctx, &b, opt);
    }
    if (rc == EODKIT_OK && recipe->labels.present) {
        rc = ek_labels_open(ctx, recipe, b.plan, b.plan->nsources, &b.labels);
    }
    if (rc == EODKIT_OK) {
        rc = open_masks(ctx, &b);
    }
    if (rc == EODKIT_OK) {
        rc = make_split(ctx, &b);
    }
    if (rc == EODKIT_OK) {
        rc = describe_arrays(ctx, &b);
    }
    if (rc == EODKIT_OK) {
        rc = run(ctx, &b, opt, final, t0, summary);
    }
    free_build(&b);
    ek_gdal_capture_end();
    return rc;
}
