/*
** Eval: scoring a regression target. Each chip adds additive sums (count,
** residual sum, absolute and squared residuals, the target's moments, and
** per target bin the residuals' sum and squares) and counts (a residual
** histogram and pixels per target bin), so eval.c's groups, blocks and
** block bootstrap work unchanged: RMSE, MAE, bias and R^2 come from sums,
** the residual plots from counts.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ek_eval.h"

const char *const ek_target_metric_names[EK_T_COUNT] = {"rmse", "mae", "bias", "r2"};

int ek_target_read(eodkit_ctx *ctx, const ek_chipset *cs, ek_target *t)
{
    json_t *label = json_object_get(cs->collection, "eodkit:label");
    json_t *shape = json_object_get(label, "shape");
    json_t *stats = json_object_get(cs->stats, "target");
    json_t *mean = json_object_get(stats, "mean"), *std = json_object_get(stats, "std");
    json_t *lo = json_object_get(stats, "min"), *hi = json_object_get(stats, "max");

    memset(t, 0, sizeof *t);
    t->h = json_integer_value(json_array_get(shape, 0));
    t->w = json_integer_value(json_array_get(shape, 1));
    if (json_array_size(shape) != 2 || t->h <= 0 || t->w <= 0) {
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s/collection.json: eodkit:label of a regression target has no "
            "[H, W] shape",
            cs->dir);
    }
    t->label_bytes = (size_t)(t->h * t->w) * sizeof(float);
    /* centring on the training mean keeps R^2's sums of squares exact */
    t->shift = json_is_number(mean) ? json_number_value(mean) : 0;
    t->res_width = json_is_number(std) && json_number_value(std) > 0
                       ? json_number_value(std) / 4
                       : 1;
    t->truth_lo = json_is_number(lo) ? json_number_value(lo) : 0;
    t->truth_width = json_is_number(hi) && json_number_value(hi) > t->truth_lo
                         ? (json_number_value(hi) - t->truth_lo) / EK_T_TRUTH_BINS
                         : 1;
    return EODKIT_OK;
}

int ek_target_check_form(eodkit_ctx *ctx, const ek_target *t, const ek_pred *p)
{
    char what[128];

    ek_pred_describe(p, what, sizeof what);
    if (p->channels != 1 || p->h != t->h || p->w != t->w || p->npy.ndim < 3) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: %s; a regression target needs a value per pixel: (n, "
                        "%lld, %lld) or (n, 1, %lld, %lld)",
                        p->path, what, (long long)t->h, (long long)t->w,
                        (long long)t->h, (long long)t->w);
    }
    return EODKIT_OK;
}

/* Bin of V among N bins: the first and the last take everything beyond. */
static size_t bin_of(double v, double lo, double width, size_t n)
{
    double k = floor((v - lo) / width);

    return k < 0 ? 0 : k >= (double)n ? n - 1 : (size_t)k;
}

int ek_target_score(eodkit_ctx *ctx, const ek_target *t, const ek_pred *p, size_t row,
                    const unsigned char *label, int64_t *counts, double *sums,
                    int64_t *ignored)
{
    int64_t px, npx = t->h * t->w;
    double res_lo = -t->res_width * (EK_T_RES_BINS / 2 + 0.5);

    memset(sums, 0, EK_T_WIDTH * sizeof *sums);
    for (px = 0; px < npx; px++) {
        float y;
        double v, e, d;
        size_t tb;

        memcpy(&y, label + (size_t)px * sizeof y, sizeof y);
        if (isnan(y)) {
            (*ignored)++;
            continue;
        }
        v = ek_pred_value(p, 0, px);
        if (!isfinite(v)) {
            return ek_error(ctx, EODKIT_ERR_INPUT,
                            "%s: row %zu predicts %g at pixel (row %lld, column %lld), "
                            "where the target is %g; predict a number wherever the "
                            "target has one",
                            p->path, row, v, (long long)(px / t->w),
                            (long long)(px % t->w), (double)y);
        }
        e = v - (double)y;
        d = (double)y - t->shift;
        sums[EK_T_N] += 1;
        sums[EK_T_SUM] += e;
        sums[EK_T_ABS] += fabs(e);
        sums[EK_T_SQ] += e * e;
        sums[EK_T_Y] += d;
        sums[EK_T_YY] += d * d;
        counts[bin_of(e, res_lo, t->res_width, EK_T_RES_BINS)]++;
        tb = bin_of(y, t->truth_lo, t->truth_width, EK_T_TRUTH_BINS);
        counts[EK_T_RES_BINS + tb]++;
        sums[EK_T_BASE + 2 * tb] += e;
        sums[EK_T_BASE + 2 * tb + 1] += e * e;
    }
    return EODKIT_OK;
}

void ek_target_summary(const double *sums, const void *arg, double *out)
{
    double n = sums[EK_T_N];
    double sst = n > 0 ? sums[EK_T_YY] - sums[EK_T_Y] * sums[EK_T_Y] / n : 0;

    (void)arg;
    out[EK_T_RMSE] = n > 0 ? sqrt(sums[EK_T_SQ] / n) : NAN;
    out[EK_T_MAE] = n > 0 ? sums[EK_T_ABS] / n : NAN;
    out[EK_T_BIAS] = n > 0 ? sums[EK_T_SUM] / n : NAN;
    out[EK_T_R2] = sst > 0 ? 1 - sums[EK_T_SQ] / sst : NAN;
}

static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *ek_target_plots_json(const ek_target *t, const double *sums,
                             const int64_t *counts)
{
    json_t *res = json_array(), *by = json_array();
    double res_lo = -t->res_width * (EK_T_RES_BINS / 2 + 0.5);
    size_t k;

    for (k = 0; k < EK_T_RES_BINS; k++) {
        json_array_append_new(
            res, json_pack("{s:o, s:o, s:I}", "from",
                           k > 0 ? json_real(res_lo + (double)k * t->res_width)
                                 : json_null(),
                           "to",
                           k + 1 < EK_T_RES_BINS
                               ? json_real(res_lo + (double)(k + 1) * t->res_width)
                               : json_null(),
                           "pixels", (json_int_t)counts[k]));
    }
    for (k = 0; k < EK_T_TRUTH_BINS; k++) {
        int64_t n = counts[EK_T_RES_BINS + k];
        double se = sums[EK_T_BASE + 2 * k], sq = sums[EK_T_BASE + 2 * k + 1];

        json_array_append_new(
            by,
            json_pack("{s:o, s:o, s:I, s:o, s:o}", "from",
                      k > 0 ? json_real(t->truth_lo + (double)k * t->truth_width)
                            : json_null(),
                      "to",
                      k + 1 < EK_T_TRUTH_BINS
                          ? json_real(t->truth_lo + (double)(k + 1) * t->truth_width)
                          : json_null(),
                      "pixels", (json_int_t)n, "bias",
                      n > 0 ? number(se / (double)n) : json_null(), "rmse",
                      n > 0 ? number(sqrt(sq / (double)n)) : json_null()));
    }
    return json_pack("{s:{s:f, s:o}, s:o}", "residuals", "bin_width", t->res_width,
                     "bins", res, "by_target", by);
}
