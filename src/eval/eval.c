/*
** Eval: eodkit_eval(). Streams the label shards and the prediction array
** chip by chip into one confusion matrix per group and one row of sums per
** (group, spatial block); the bootstrap then resamples blocks' sums, so its
** cost grows with blocks and classes, never with pixels.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eodkit/eval.h"
#include "ek_eval.h"

#define DEFAULT_REPLICATES 1000
#define DEFAULT_BLOCK_CHIPS 4
#define CI_LOW 2.5
#define CI_HIGH 97.5

/* What a group is made of (the whole evaluation is one group too). */
typedef struct group {
    const char *name; /* owned by eval.keys */
    int64_t *cm;      /* k x k (truth x prediction), multilabel k x [tn, fp, fn, tp],
                         regression the counts of ek_target_score */
    double *sums;
    const size_t *units; /* its units (rows of the sums it is resampled from) */
    size_t nunits, chips;
    double value[EK_MAX_METRICS], low[EK_MAX_METRICS], high[EK_MAX_METRICS];
} group;

typedef struct eval {
    eodkit_ctx *ctx;
    eodkit_eval_options opt;
    const char *pred_path;
    ek_chipset *cs;
    ek_classes cl;
    int regression; /* a regression target (eval_regression.c) instead of classes */
    ek_target target;
    ek_pred pred;
    size_t width;             /* EK_SUMS(k), or EK_T_WIDTH */
    size_t cells;             /* of a confusion matrix, or EK_T_CELLS */
    size_t label_bytes;       /* of one chip's label row */
    size_t nmetrics;          /* EK_M_COUNT, EK_C_COUNT or EK_T_COUNT */
    const char *const *names; /* the metrics' names */
    ek_summary_fn summary;    /* the metrics of sums */
    size_t summary_arg[2];    /* {k, multilabel}, change: {k, change class} */
    ek_groups gr;             /* groups (--by), blocks and units */
    group all;
    group *groups;
    size_t ngroups;
    double *unit_sums; /* WIDTH per (group, block) unit */
    size_t nunits;
    double *block_sums; /* WIDTH per block, all groups */
    int64_t ignored;
    double *samples; /* replicates x EK_MAX_METRICS, reused per group */
    double *scratch;
    /* per metric, the replicates of the best and the worst group */
    double *gap_best[EK_MAX_METRICS], *gap_worst[EK_MAX_METRICS];
    int best[EK_MAX_METRICS], worst[EK_MAX_METRICS];
    double gap[EK_MAX_METRICS], gap_low[EK_MAX_METRICS], gap_high[EK_MAX_METRICS];
} eval;

/* ---- groups and blocks ---- */

static int init_group(eval *e, group *g)
{
    g->cm = ek_calloc(e->ctx, e->cells, sizeof *g->cm);
    g->sums = ek_calloc(e->ctx, e->width, sizeof *g->sums);
    return g->cm == NULL || g->sums == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

/* Group and block of every chip, the units, and the sums they fill. */
static int assign_chips(eval *e)
{
    size_t i;
    int rc = ek_groups_make(e->ctx, e->cs, e->opt.by, e->opt.block_chips, &e->gr);

    if (rc == EODKIT_OK) {
        e->ngroups = e->gr.ngroups;
        e->groups = ek_calloc(e->ctx, e->ngroups + 1, sizeof *e->groups);
        rc = e->groups == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    for (i = 0; i < e->ngroups && rc == EODKIT_OK; i++) {
        e->groups[i].name = e->gr.names[i];
        e->groups[i].units = e->gr.units_of[i];
        e->groups[i].nunits = e->gr.nunits_of[i];
        rc = init_group(e, &e->groups[i]);
    }
    if (rc == EODKIT_OK) {
        rc = init_group(e, &e->all);
    }
    if (rc == EODKIT_OK) {
        e->unit_sums = ek_calloc(e->ctx, e->gr.nunits * e->width, sizeof *e->unit_sums);
        e->block_sums =
            ek_calloc(e->ctx, e->gr.block_keys.n * e->width, sizeof *e->block_sums);
        rc = e->unit_sums == NULL || e->block_sums == NULL ? EODKIT_ERR_NOMEM : rc;
    }
    return rc;
}

/* ---- reading chips ---- */

/* Class index predicted at pixel PIX of the row read; -1 after an error. */
static int predicted(eval *e, size_t chip, int64_t pix)
{
    const ek_pred *p = &e->pred;
    double v = 0, best = -INFINITY;
    int64_t c, id = 0;

    if (p->channels == 1) {
        v = ek_pred_value(p, 0, pix);
        id = v >= 0 && v < (double)e->cl.nlut ? (int64_t)v : -1;
    } else {
        for (c = 0; c < p->channels; c++) {
            v = ek_pred_value(p, c, pix);
            if (v > best) { /* ties and NaN keep the lower channel */
                best = v;
                id = c;
            }
        }
        v = (double)id;
    }
    if (id < 0 || (size_t)id >= e->cl.nlut || e->cl.lut[id] < 0) {
        ek_pred_bad_class(e->ctx, p, &e->cl, (int64_t)chip, v);
        return -1;
    }
    return e->cl.lut[id];
}

/* Add chip I (multiclass) to the chip's confusion matrix CM. */
static int score_classes(eval *e, size_t i, const unsigned char *label, int64_t *cm)
{
    int64_t pix, npix = e->cl.h * e->cl.w;
    const ek_audit_chip *c = &e->cs->ix->chips[e->cs->chips[i]];
    ek_npy_type type = e->cl.label_type;

    for (pix = 0; pix < npix; pix++) {
        int v = (int)ek_npy_value(label + (size_t)pix * (size_t)type.size, type), t, p;

        t = (size_t)v < e->cl.nlut ? e->cl.lut[v] : EK_CLASS_NONE;
        if (t == EK_CLASS_IGNORED) {
            e->ignored++;
            continue;
        }
        if (t == EK_CLASS_NONE) {
            return ek_error(e->ctx, EODKIT_ERR_INPUT,
                            "%s/%s/label-%05d.npy: row %lld holds %d, not a class of "
                            "collection.json",
                            e->cs->dir, e->cs->ix->splits.names[c->split],
                            (int)c->shard, (long long)c->row, v);
        }
        p = predicted(e, i, pix);
        if (p < 0) {
            return eodkit_ctx_status(e->ctx);
        }
        cm[(size_t)t * e->cl.k + (size_t)p]++;
    }
    return EODKIT_OK;
}

/* Add chip I (multilabel) to CM (per class tn, fp, fn, tp). */
static int score_labels(eval *e, size_t i, const unsigned char *label, int64_t *cm)
{
    double threshold = e->opt.threshold;
    size_t c;

    for (c = 0; c < e->cl.k; c++) {
        double v = ek_pred_value(&e->pred, (int64_t)c, 0);
        const unsigned char *at = label + c * (size_t)e->cl.label_type.size;
        int t = ek_npy_value(at, e->cl.label_type) != 0, p;

        if (e->pred.is_float) {
            p = v >= threshold;
        } else if (v == 0 || v == 1) {
            p = v == 1;
        } else {
            return ek_error(e->ctx, EODKIT_ERR_INPUT,
                            "%s: row %zu holds %.17g for class %d; integer multilabel "
                            "predictions are 0 or 1",
                            e->pred_path, i, v, (int)e->cl.ids[c]);
        }
        cm[c * 4 + (size_t)(2 * t + p)]++;
    }
    return EODKIT_OK;
}

/* The sums of confusion matrix CM into SUMS (overwritten). */
static void sums_of(const eval *e, const int64_t *cm, double *sums)
{
    size_t k = e->cl.k, t, p;

    memset(sums, 0, e->width * sizeof *sums);
    for (t = 0; t < k; t++) {
        if (e->cl.multilabel) {
            const int64_t *q = cm + t * 4; /* tn, fp, fn, tp */

            sums[t] = (double)q[3];
            sums[k + t] = (double)(q[2] + q[3]);
            sums[2 * k + t] = (double)(q[1] + q[3]);
            sums[3 * k] = (double)(q[0] + q[1] + q[2] + q[3]);
            continue;
        }
        for (p = 0; p < k; p++) {
            sums[k + t] += (double)cm[t * k + p];
            sums[2 * k + p] += (double)cm[t * k + p];
            sums[3 * k] += (double)cm[t * k + p];
        }
        sums[t] = (double)cm[t * k + t];
    }
}

static void add_to(int64_t *to, const int64_t *from, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        to[i] += from[i];
    }
}

static void add_sums(double *to, const double *from, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        to[i] += from[i];
    }
}

static int stream_chips(eval *e)
{
    unsigned char *label = ek_calloc(e->ctx, e->label_bytes, 1);
    int64_t *cm = ek_calloc(e->ctx, e->cells, sizeof *cm);
    double *sums = ek_calloc(e->ctx, e->width, sizeof *sums);
    ek_shard_reader reader;
    size_t i;
    int rc = label == NULL || cm == NULL || sums == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    ek_shard_reader_init(&reader, e->cs, "label", e->label_bytes);
    for (i = 0; i < e->cs->n && rc == EODKIT_OK; i++) {
        rc = ek_shard_reader_row(e->ctx, &reader, e->cs->chips[i], label);
        if (rc == EODKIT_OK) {
            rc = ek_pred_read(e->ctx, &e->pred, (int64_t)i);
        }
        if (rc == EODKIT_OK) {
            memset(cm, 0, e->cells * sizeof *cm);
            rc = e->regression ? ek_target_score(e->ctx, &e->target, &e->pred, i, label,
                                                 cm, sums, &e->ignored)
                 : e->cl.multilabel ? score_labels(e, i, label, cm)
                                    : score_classes(e, i, label, cm);
        }
        if (rc == EODKIT_OK) {
            group *g = &e->groups[e->gr.chip_group[i]];

            if (!e->regression) {
                sums_of(e, cm, sums);
            }
            add_to(g->cm, cm, e->cells);
            add_to(e->all.cm, cm, e->cells);
            add_sums(e->unit_sums + e->gr.chip_unit[i] * e->width, sums, e->width);
            add_sums(e->block_sums + (size_t)e->gr.chip_block[i] * e->width, sums,
                     e->width);
            g->chips++;
            e->all.chips++;
        }
    }
    ek_shard_reader_close(&reader);
    free(label);
    free(cm);
    free(sums);
    return rc;
}

/* ---- checking the predictions' form ---- */

static int check_form(eval *e)
{
    const ek_pred *p = &e->pred;
    char what[128];

    ek_pred_describe(p, what, sizeof what);
    if (e->cl.per_pixel && p->h * p->w == 1 && e->cl.h * e->cl.w > 1) {
        return ek_error(e->ctx, EODKIT_ERR_INPUT,
                        "%s: %s; segmentation needs a class per pixel: (n, H, W) or "
                        "(n, 1, H, W) class ids, or (n, K, H, W) scores",
                        e->pred_path, what);
    }
    if (!e->cl.per_pixel && p->h * p->w > 1) {
        return ek_error(e->ctx, EODKIT_ERR_INPUT,
                        "%s: %s; a %s dataset needs one prediction per chip: (n,) "
                        "or (n, K)",
                        e->pred_path, what, e->cl.task);
    }
    if (e->cl.multilabel) {
        return p->channels == (int64_t)e->cl.k
                   ? EODKIT_OK
                   : ek_error(e->ctx, EODKIT_ERR_INPUT,
                              "%s: %s; multilabel predictions are (n, %zu): a score or "
                              "0/1 per class, in collection.json's class order",
                              e->pred_path, what, e->cl.k);
    }
    if (p->is_float && p->channels == 1) {
        return ek_error(e->ctx, EODKIT_ERR_INPUT,
                        "%s: %s; class ids must be integers (or give scores with a "
                        "class axis of %d channels)",
                        e->pred_path, what, (int)e->cl.max_id + 1);
    }
    if (p->channels > 1 && p->channels != (int64_t)e->cl.max_id + 1) {
        return ek_error(e->ctx, EODKIT_ERR_INPUT,
                        "%s: %s; scores need %d channels (channel k scores class id "
                        "k)",
                        e->pred_path, what, (int)e->cl.max_id + 1);
    }
    if (!p->is_float && p->channels > 1) {
        return ek_error(e->ctx, EODKIT_ERR_INPUT,
                        "%s: %s; scores must be float32 or float64", e->pred_path,
                        what);
    }
    return EODKIT_OK;
}

/* ---- metrics and bootstrap ---- */

/* Point estimates and intervals of G (its sums already added up), whose
   units are rows of UNIT_SUMS, with the bootstrap seeded with SEED. When G
   is group GI (-1: the whole) and the best or worst group of a metric, its
   replicates are kept for the gap. */
static int measure(eval *e, group *g, const double *unit_sums, uint64_t seed, int gi)
{
    size_t m, n = (size_t)e->opt.bootstrap, r;
    int rc;

    e->summary(g->sums, e->summary_arg, g->value);
    for (m = 0; m < EK_MAX_METRICS; m++) {
        g->low[m] = NAN;
        g->high[m] = NAN;
    }
    if (e->opt.bootstrap < 0) {
        return EODKIT_OK;
    }
    rc = ek_bootstrap_with(e->ctx, unit_sums, e->width, g->units, g->nunits,
                           e->opt.bootstrap, seed, e->summary, e->summary_arg,
                           EK_MAX_METRICS, e->samples);
    for (m = 0; m < e->nmetrics && rc == EODKIT_OK; m++) {
        const double *s = e->samples + m;

        g->low[m] = ek_percentile(s, n, EK_MAX_METRICS, CI_LOW, e->scratch);
        g->high[m] = ek_percentile(s, n, EK_MAX_METRICS, CI_HIGH, e->scratch);
        for (r = 0; r < n && gi >= 0; r++) {
            if (gi == e->best[m]) {
                e->gap_best[m][r] = s[r * EK_MAX_METRICS];
            }
            if (gi == e->worst[m]) {
                e->gap_worst[m][r] = s[r * EK_MAX_METRICS];
            }
        }
    }
    return rc;
}

/* How good value V of metric M is, higher being better: the value itself
   for the class metrics and R^2; for RMSE and MAE its opposite; for the
   bias its distance from 0, negated. */
static double goodness(const eval *e, size_t m, double v)
{
    if (!e->regression || m == EK_T_R2) {
        return v;
    }
    return m == EK_T_BIAS ? -fabs(v) : -v;
}

/* The sums of every group and of the whole, then the best and the worst
   group per metric by their point estimates (VALUES: scratch of one value
   per group). */
static void rank_groups(eval *e, double *values)
{
    size_t m, i, u;

    for (i = 0; i < e->ngroups; i++) {
        group *g = &e->groups[i];

        for (u = 0; u < g->nunits; u++) {
            add_sums(g->sums, e->unit_sums + g->units[u] * e->width, e->width);
        }
        e->summary(g->sums, e->summary_arg, g->value);
    }
    for (u = 0; u < e->all.nunits; u++) {
        add_sums(e->all.sums, e->block_sums + u * e->width, e->width);
    }
    for (m = 0; m < e->nmetrics; m++) {
        for (i = 0; i < e->ngroups; i++) {
            values[i] = goodness(e, m, e->groups[i].value[m]);
        }
        ek_groups_rank(values, e->ngroups, 1, &e->best[m], &e->worst[m]);
    }
}

/* The gap (best minus worst group) per metric and its interval, from the
   two groups' replicates (independent draws). */
static void measure_gaps(eval *e)
{
    size_t m, n = e->opt.bootstrap > 0 ? (size_t)e->opt.bootstrap : 0, r;

    for (m = 0; m < e->nmetrics; m++) {
        e->gap[m] = e->best[m] >= 0
                        ? goodness(e, m, e->groups[e->best[m]].value[m]) -
                              goodness(e, m, e->groups[e->worst[m]].value[m])
                        : NAN;
        for (r = 0; r < n; r++) {
            e->gap_best[m][r] =
                goodness(e, m, e->gap_best[m][r]) - goodness(e, m, e->gap_worst[m][r]);
        }
        e->gap_low[m] =
            n > 0 ? ek_percentile(e->gap_best[m], n, 1, CI_LOW, e->scratch) : NAN;
        e->gap_high[m] =
            n > 0 ? ek_percentile(e->gap_best[m], n, 1, CI_HIGH, e->scratch) : NAN;
    }
}

static int run_bootstrap(eval *e)
{
    size_t n = e->opt.bootstrap > 0 ? (size_t)e->opt.bootstrap : 0, i, m;
    int rc;

    e->samples = ek_calloc(e->ctx, n * EK_MAX_METRICS + 1, sizeof *e->samples);
    e->scratch =
        ek_calloc(e->ctx, (n > e->ngroups ? n : e->ngroups) + 1, sizeof *e->scratch);
    if (e->samples == NULL || e->scratch == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (m = 0; m < EK_MAX_METRICS; m++) {
        e->gap_best[m] = ek_calloc(e->ctx, n + 1, sizeof *e->gap_best[m]);
        e->gap_worst[m] = ek_calloc(e->ctx, n + 1, sizeof *e->gap_worst[m]);
        if (e->gap_best[m] == NULL || e->gap_worst[m] == NULL) {
            return EODKIT_ERR_NOMEM;
        }
    }
    /* the whole resamples every block, whatever groups its chips are in */
    e->all.units = e->gr.identity;
    e->all.nunits = e->gr.block_keys.n;
    rank_groups(e, e->scratch);
    rc = measure(e, &e->all, e->block_sums, e->opt.seed, -1);
    for (i = 0; i < e->ngroups && rc == EODKIT_OK; i++) {
        rc = measure(e, &e->groups[i], e->unit_sums,
                     e->opt.seed + ek_hash_text(e->groups[i].name), (int)i);
    }
    if (rc == EODKIT_OK) {
        measure_gaps(e);
    }
    return rc;
}

/* ---- the report ---- */

static json_t *number(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static json_t *metric(const group *g, size_t m, int with_ci)
{
    json_t *o = json_object();

    json_object_set_new(o, "value", number(g->value[m]));
    json_object_set_new(o, "ci",
                        with_ci
                            ? json_pack("[oo]", number(g->low[m]), number(g->high[m]))
                            : json_null());
    return o;
}

static json_t *confusion(const eval *e, const group *g)
{
    json_t *rows = json_array();
    size_t t, p, k = e->cl.k;

    for (t = 0; t < k; t++) {
        json_t *row = json_array();

        if (e->cl.multilabel) {
            const int64_t *q = g->cm + t * 4;

            json_array_append_new(rows,
                                  json_pack("{sIsIsIsI}", "tn", (json_int_t)q[0], "fp",
                                            (json_int_t)q[1], "fn", (json_int_t)q[2],
                                            "tp", (json_int_t)q[3]));
            json_decref(row);
            continue;
        }
        for (p = 0; p < k; p++) {
            json_array_append_new(row, json_integer(g->cm[t * k + p]));
        }
        json_array_append_new(rows, row);
    }
    return rows;
}

static json_t *group_json(const eval *e, const group *g, const char *name,
                          size_t blocks)
{
    json_t *o = json_object(), *classes = json_array();
    size_t m, c, k = e->cl.k;

    if (name != NULL) {
        json_object_set_new(o, "name", json_string(name));
    }
    json_object_set_new(o, "chips", json_integer((json_int_t)g->chips));
    json_object_set_new(o, "blocks", json_integer((json_int_t)blocks));
    json_object_set_new(
        o, "scored", json_integer((json_int_t)g->sums[e->regression ? EK_T_N : 3 * k]));
    for (m = 0; m < e->nmetrics; m++) {
        json_object_set_new(o, e->names[m], metric(g, m, e->opt.bootstrap >= 0));
    }
    if (e->regression) {
        json_object_update_new(o, ek_target_plots_json(&e->target, g->sums, g->cm));
        json_decref(classes);
        return o;
    }
    for (c = 0; c < k; c++) {
        double per[4];

        ek_metrics_class(g->sums, k, c, per);
        json_array_append_new(
            classes, json_pack("{sisssIsIsosososo}", "id", (int)e->cl.ids[c], "name",
                               e->cl.names[c], "support", (json_int_t)g->sums[k + c],
                               "predicted", (json_int_t)g->sums[2 * k + c], "precision",
                               number(per[0]), "recall", number(per[1]), "f1",
                               number(per[2]), "iou", number(per[3])));
    }
    json_object_set_new(o, "classes", classes);
    json_object_set_new(o, "confusion", confusion(e, g));
    return o;
}

static json_t *gap_json(const eval *e)
{
    json_t *o = json_object();
    size_t m;

    for (m = 0; m < e->nmetrics; m++) {
        int b = e->best[m], w = e->worst[m];

        if (b < 0 || e->ngroups < 2) {
            json_object_set_new(o, e->names[m], json_null());
            continue;
        }
        json_object_set_new(
            o, e->names[m],
            json_pack("{sssssoso}", "best", e->groups[b].name, "worst",
                      e->groups[w].name, "value", number(e->gap[m]), "ci",
                      e->opt.bootstrap >= 0 ? json_pack("[oo]", number(e->gap_low[m]),
                                                        number(e->gap_high[m]))
                                            : json_null()));
    }
    return o;
}

static json_t *report(const eval *e)
{
    json_t *o = json_object(), *splits = json_array(), *classes = json_array();
    json_t *boot = json_object(), *groups;
    size_t s, c, i;

    json_object_set_new(o, "dataset", json_string(e->cs->dir));
    json_object_set_new(o, "predictions", json_string(e->pred_path));
    for (s = 0; s < e->cs->nsplits; s++) {
        json_array_append_new(splits,
                              json_string(e->cs->ix->splits.names[e->cs->splits[s]]));
    }
    json_object_set_new(o, "splits", splits);
    json_object_set_new(o, "task",
                        json_string(e->regression ? "regression" : e->cl.task));
    json_object_set_new(
        o, "unit", json_string(e->regression || e->cl.per_pixel ? "pixel" : "chip"));
    if (e->cl.multilabel) {
        json_object_set_new(o, "threshold", json_real(e->opt.threshold));
    }
    for (c = 0; c < e->cl.k; c++) {
        json_array_append_new(classes, json_pack("{siss}", "id", (int)e->cl.ids[c],
                                                 "name", e->cl.names[c]));
    }
    if (e->regression) {
        json_decref(classes);
        json_object_set_new(o, "target",
                            json_pack("{s:f, s:f}", "shift", e->target.shift,
                                      "residual_bin", e->target.res_width));
    } else {
        json_object_set_new(o, "classes", classes);
        json_object_set_new(o, "ignore_index",
                            e->cl.ignore >= 0 ? json_integer(e->cl.ignore)
                                              : json_null());
    }
    json_object_set_new(o, "ignored", json_integer(e->ignored));
    json_object_set_new(boot, "replicates",
                        json_integer(e->opt.bootstrap > 0 ? e->opt.bootstrap : 0));
    json_object_set_new(boot, "seed", json_integer((json_int_t)e->opt.seed));
    json_object_set_new(boot, "confidence", json_real(0.95));
    json_object_set_new(boot, "blocks", json_string(ek_groups_source(&e->gr)));
    json_object_set_new(boot, "block_chips", json_integer(e->opt.block_chips));
    json_object_set_new(o, "bootstrap", boot);
    json_object_set_new(o, "overall", group_json(e, &e->all, NULL, e->gr.block_keys.n));
    if (e->opt.by != NULL) {
        json_object_set_new(o, "by", json_string(e->opt.by));
        groups = json_array();
        for (i = 0; i < e->ngroups; i++) {
            json_array_append_new(
                groups,
                group_json(e, &e->groups[i], e->groups[i].name, e->groups[i].nunits));
        }
        json_object_set_new(o, "groups", groups);
        json_object_set_new(o, "gap", gap_json(e));
    }
    return o;
}

/* ---- the entry point ---- */

/* What is scored: the classes of the dataset, or its regression target;
   the sums, counts and metrics that go with them. */
static int choose_scoring(eval *e, const char *dataset_dir)
{
    const char *task = json_string_value(
        json_object_get(json_object_get(e->cs->collection, "eodkit:label"), "task"));
    int rc;

    e->regression = task != NULL && strcmp(task, "regression") == 0;
    if (e->regression) {
        rc = ek_target_read(e->ctx, e->cs, &e->target);
        e->width = EK_T_WIDTH;
        e->cells = EK_T_CELLS;
        e->label_bytes = e->target.label_bytes;
        e->nmetrics = EK_T_COUNT;
        e->names = ek_target_metric_names;
        e->summary = ek_target_summary;
        return rc;
    }
    rc = ek_classes_read(e->ctx, e->cs->collection, dataset_dir, &e->cl);
    e->width = EK_SUMS(e->cl.k);
    e->cells = e->cl.multilabel ? 4 * e->cl.k : e->cl.k * e->cl.k;
    e->label_bytes = e->cl.label_bytes;
    e->nmetrics = EK_M_COUNT;
    e->names = ek_metric_names;
    e->summary = ek_class_summary;
    e->summary_arg[0] = e->cl.k;
    e->summary_arg[1] = (size_t)e->cl.multilabel;
    if (rc == EODKIT_OK && e->cl.change) { /* class 1 is the change */
        e->nmetrics = EK_C_COUNT;
        e->names = ek_change_metric_names;
        e->summary = ek_change_summary;
        e->summary_arg[1] = (size_t)e->cl.lut[1];
    }
    return rc;
}

static int check_options(eval *e)
{
    static const char *const groupings[] = {"continent", "country", "region", "block",
                                            "split"};
    size_t i;

    if (e->opt.splits == NULL) {
        e->opt.splits = "test";
    }
    if (e->opt.bootstrap == 0) {
        e->opt.bootstrap = DEFAULT_REPLICATES;
    }
    if (e->opt.threshold == 0) {
        e->opt.threshold = 0.5;
    }
    if (e->opt.block_chips == 0) {
        e->opt.block_chips = DEFAULT_BLOCK_CHIPS;
    }
    if (e->opt.bootstrap > 1000000 || e->opt.block_chips < 0) {
        return ek_error(e->ctx, EODKIT_ERR_USAGE,
                        "bootstrap replicates must be 0 to 1000000 and block chips "
                        "positive");
    }
    for (i = 0; e->opt.by != NULL && i < sizeof groupings / sizeof *groupings; i++) {
        if (strcmp(e->opt.by, groupings[i]) == 0) {
            return EODKIT_OK;
        }
    }
    return e->opt.by == NULL
               ? EODKIT_OK
               : ek_error(
                     e->ctx, EODKIT_ERR_USAGE,
                     "cannot break down by '%s' (continent, country, region, block "
                     "or split)",
                     e->opt.by);
}

static void group_clear(group *g)
{
    free(g->cm);
    free(g->sums);
}

int eodkit_eval(eodkit_ctx *ctx, const char *dataset_dir, const char *pred_path,
                const eodkit_eval_options *opt, char **report_json)
{
    eval e = {0};
    size_t i;
    int rc;

    *report_json = NULL;
    e.ctx = ctx;
    e.pred_path = pred_path;
    if (opt != NULL) {
        e.opt = *opt;
    }
    rc = check_options(&e);
    if (rc == EODKIT_OK) {
        rc = ek_chipset_open(ctx, dataset_dir, e.opt.splits, 0, &e.cs);
    }
    if (rc == EODKIT_OK) {
        rc = choose_scoring(&e, dataset_dir);
    }
    if (rc == EODKIT_OK && e.cs->n == 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: split %s has no chips", dataset_dir,
                      e.opt.splits);
    }
    if (rc == EODKIT_OK && e.cl.objects) {
        rc = ek_detect_eval(ctx, e.cs, &e.cl, pred_path, &e.opt, report_json);
        ek_classes_clear(&e.cl);
        ek_chipset_free(e.cs);
        return rc;
    }
    if (rc == EODKIT_OK) {
        rc = ek_pred_open(ctx, pred_path, e.cs, &e.pred);
    }
    if (rc == EODKIT_OK) {
        rc = e.regression ? ek_target_check_form(ctx, &e.target, &e.pred)
                          : check_form(&e);
    }
    if (rc == EODKIT_OK) {
        rc = assign_chips(&e);
    }
    if (rc == EODKIT_OK) {
        rc = stream_chips(&e);
    }
    if (rc == EODKIT_OK) {
        rc = run_bootstrap(&e);
    }
    if (rc == EODKIT_OK) {
        rc = ek_json_text(ctx, report(&e), 10, report_json);
    }
    for (i = 0; i < e.ngroups && e.groups != NULL; i++) {
        group_clear(&e.groups[i]);
    }
    group_clear(&e.all);
    for (i = 0; i < EK_MAX_METRICS; i++) {
        free(e.gap_best[i]);
        free(e.gap_worst[i]);
    }
    free(e.groups);
    free(e.samples);
    free(e.scratch);
    free(e.unit_sums);
    free(e.block_sums);
    ek_groups_clear(&e.gr);
    ek_pred_close(&e.pred);
    ek_classes_clear(&e.cl);
    ek_chipset_free(e.cs);
    return rc;
}
