/*
** Eval: metrics from the per-class sums of a confusion matrix, the bootstrap
** over spatial blocks (resampling blocks' sums, never pixels) and the
** percentiles its confidence intervals are read from.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_rand.h"
#include "ek_eval.h"

const char *const ek_metric_names[EK_M_COUNT] = {
    "accuracy", "balanced_accuracy", "kappa", "mean_iou", "mean_f1",
};

const char *const ek_change_metric_names[EK_C_COUNT] = {
    "accuracy",         "balanced_accuracy", "kappa",     "mean_iou",   "mean_f1",
    "change_precision", "change_recall",     "change_f1", "change_iou",
};

/* A mean over the values that are defined (not NaN). */
typedef struct mean {
    double sum;
    size_t n;
} mean;

static void mean_add(mean *m, double x)
{
    if (!isnan(x)) {
        m->sum += x;
        m->n++;
    }
}

static double mean_of(const mean *m)
{
    return m->n > 0 ? m->sum / (double)m->n : NAN;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

void ek_metrics_class(const double *sums, size_t k, size_t c, double out[4])
{
    double tp = sums[c], truth = sums[k + c];
    double pred = sums[2 * k + c];

    out[0] = ratio(tp, pred);
    out[1] = ratio(tp, truth);
    out[2] = ratio(2 * tp, truth + pred);
    out[3] = ratio(tp, truth + pred - tp);
}

/* Kappa from the observed agreement PO and the chance agreement PE. */
static double kappa(double po, double pe)
{
    return pe < 1 && !isnan(po) ? (po - pe) / (1 - pe) : NAN;
}

void ek_metrics_summary(const double *sums, size_t k, int multilabel,
                        double out[EK_M_COUNT])
{
    const double *tp = sums, *truth = sums + k, *pred = sums + 2 * k;
    double n = sums[3 * k], correct = 0, chance = 0, truths = 0, preds = 0;
    double per[4];
    mean bal = {0}, iou = {0}, f1 = {0};
    size_t c;

    for (c = 0; c < k; c++) {
        double t = truth[c], p = pred[c];

        ek_metrics_class(sums, k, c, per);
        mean_add(&f1, per[2]);
        mean_add(&iou, per[3]);
        truths += t;
        preds += p;
        if (multilabel) {
            /* chips without the class that are predicted without it */
            double tn = n - t - p + tp[c];
            mean both = {0};

            correct += tp[c] + tn;
            mean_add(&both, per[1]);
            mean_add(&both, ratio(tn, n - t));
            mean_add(&bal, mean_of(&both));
        } else {
            correct += tp[c];
            chance += t * p;
            mean_add(&bal, per[1]);
        }
    }
    if (multilabel) {
        double m = n * (double)k, pt = ratio(truths, m), pp = ratio(preds, m);

        out[EK_M_ACCURACY] = ratio(correct, m);
        out[EK_M_KAPPA] = kappa(out[EK_M_ACCURACY], pt * pp + (1 - pt) * (1 - pp));
    } else {
        out[EK_M_ACCURACY] = ratio(correct, n);
        out[EK_M_KAPPA] = kappa(out[EK_M_ACCURACY], ratio(chance, n * n));
    }
    out[EK_M_BALANCED_ACCURACY] = mean_of(&bal);
    out[EK_M_MEAN_IOU] = mean_of(&iou);
    out[EK_M_MEAN_F1] = mean_of(&f1);
}

int ek_bootstrap_with(eodkit_ctx *ctx, const double *unit_sums, size_t width,
                      const size_t *units, size_t m, int replicates, uint64_t seed,
                      ek_summary_fn summary, const void *arg, size_t stride,
                      double *samples)
{
    double *acc = ek_calloc(ctx, width, sizeof *acc);
    uint64_t state = seed;
    size_t j, v;
    int r;

    if (acc == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (r = 0; r < replicates; r++) {
        memset(acc, 0, width * sizeof *acc);
        for (j = 0; j < m; j++) {
            const double *u = unit_sums + units[ek_rand_next(&state) % m] * width;

            for (v = 0; v < width; v++) {
                acc[v] += u[v];
            }
        }
        summary(acc, arg, samples + (size_t)r * stride);
    }
    free(acc);
    return EODKIT_OK;
}

void ek_class_summary(const double *sums, const void *arg, double *out)
{
    const size_t *km = arg;

    ek_metrics_summary(sums, km[0], (int)km[1], out);
}

void ek_change_summary(const double *sums, const void *arg, double *out)
{
    const size_t *kc = arg;

    ek_metrics_summary(sums, kc[0], 0, out);
    ek_metrics_class(sums, kc[0], kc[1], out + EK_C_PRECISION);
}

int ek_bootstrap(eodkit_ctx *ctx, const double *unit_sums, const size_t *units,
                 size_t m, size_t k, int multilabel, int replicates, uint64_t seed,
                 double *samples)
{
    size_t km[2] = {k, (size_t)multilabel};

    return ek_bootstrap_with(ctx, unit_sums, EK_SUMS(k), units, m, replicates, seed,
                             ek_class_summary, km, EK_M_COUNT, samples);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double ek_percentile(const double *values, size_t n, size_t stride, double q,
                     double *scratch)
{
    size_t i, used = 0, lo;
    double pos, gamma, a, b;

    for (i = 0; i < n; i++) {
        if (!isnan(values[i * stride])) {
            scratch[used++] = values[i * stride];
        }
    }
    if (used == 0) {
        return NAN;
    }
    qsort(scratch, used, sizeof *scratch, compare_double);
    /* numpy.percentile(method="linear"), to the last bit */
    pos = (double)(used - 1) * (q / 100);
    lo = (size_t)floor(pos);
    gamma = pos - (double)lo;
    a = scratch[lo];
    b = scratch[lo + 1 < used ? lo + 1 : lo];
    return gamma >= 0.5 ? b - (b - a) * (1 - gamma) : a + (b - a) * gamma;
}
