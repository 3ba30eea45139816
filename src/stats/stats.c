/*
** Stats: moments, histograms and percentiles (see ek_stats.h). Histogram
** keys: 8/16-bit integers map to themselves; every other type to the top 16
** bits of an order-preserving key of its float32 value, whose low 16 bits a
** second look at the spilled values resolves exactly.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "read/ek_read.h"
#include "ek_stats.h"

void ek_moments_of(ek_moments *m, const void *data, GDALDataType t,
                   const uint8_t *valid, size_t n)
{
    double sum = 0, m2 = 0, mean, lo = INFINITY, hi = -INFINITY;
    uint64_t count = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (valid[i]) {
            double v = ek_pixel_get(data, t, i);

            sum += v;
            count++;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    memset(m, 0, sizeof *m);
    if (count == 0) {
        return;
    }
    mean = sum / (double)count;
    for (i = 0; i < n; i++) {
        if (valid[i]) {
            double d = ek_pixel_get(data, t, i) - mean;

            m2 += d * d;
        }
    }
    m->n = count;
    m->mean = mean;
    m->m2 = m2;
    m->min = lo;
    m->max = hi;
}

void ek_moments_merge(ek_moments *into, const ek_moments *add)
{
    double n, delta;

    if (add->n == 0) {
        return;
    }
    if (into->n == 0) {
        *into = *add;
        return;
    }
    n = (double)(into->n + add->n);
    delta = add->mean - into->mean;
    into->mean += delta * (double)add->n / n;
    into->m2 += add->m2 + delta * delta * (double)into->n * (double)add->n / n;
    into->n += add->n;
    into->min = add->min < into->min ? add->min : into->min;
    into->max = add->max > into->max ? add->max : into->max;
}

int ek_hist_exact(GDALDataType t)
{
    return t == GDT_Byte || t == GDT_UInt16 || t == GDT_Int16;
}

/* Order-preserving unsigned key of float F (NaN excluded by the caller). */
static uint32_t float_key(float f)
{
    uint32_t u;

    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

static float key_float(uint32_t k)
{
    uint32_t u = (k & 0x80000000u) ? k & 0x7fffffffu : ~k;
    float f;

    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t exact_key(double v, GDALDataType t)
{
    return t == GDT_Int16 ? (uint32_t)((int)v + 32768) : (uint32_t)v;
}

static double exact_value(uint32_t k, GDALDataType t)
{
    return t == GDT_Int16 ? (double)k - 32768 : (double)k;
}

void ek_hist_add_all(uint64_t *bins, const void *data, GDALDataType t, size_t n)
{
    size_t i;

    switch (t) {
    case GDT_Byte:
        for (i = 0; i < n; i++) {
            bins[((const uint8_t *)data)[i]]++;
        }
        break;
    case GDT_UInt16:
        for (i = 0; i < n; i++) {
            bins[((const uint16_t *)data)[i]]++;
        }
        break;
    default: /* GDT_Int16 */
        for (i = 0; i < n; i++) {
            bins[((const int16_t *)data)[i] + 32768]++;
        }
        break;
    }
}

long ek_hist_bin_of(GDALDataType t, double v)
{
    double lo = t == GDT_Int16 ? -32768 : 0, hi = t == GDT_Byte ? 255 : lo + 65535;

    if (!(v >= lo && v <= hi) || v != floor(v)) {
        return -1;
    }
    return (long)exact_key(v, t);
}

void ek_moments_of_hist(ek_moments *m, const uint64_t *bins, GDALDataType t)
{
    double sum = 0, mean;
    uint32_t k;

    memset(m, 0, sizeof *m);
    for (k = 0; k < EK_HIST_BINS; k++) {
        if (bins[k] > 0) {
            double v = exact_value(k, t);

            m->min = m->n == 0 ? v : m->min;
            m->max = v;
            m->n += bins[k];
            sum += v * (double)bins[k];
        }
    }
    if (m->n == 0) {
        return;
    }
    mean = sum / (double)m->n;
    for (k = 0; k < EK_HIST_BINS; k++) {
        if (bins[k] > 0) {
            double d = exact_value(k, t) - mean;

            m->m2 += d * d * (double)bins[k];
        }
    }
    m->mean = mean;
}

void ek_hist_add(uint64_t *bins, const void *data, GDALDataType t, const uint8_t *valid,
                 size_t n)
{
    size_t i;

    if (t == GDT_Byte) {
        const uint8_t *p = data;

        for (i = 0; i < n; i++) {
            bins[p[i]] += valid[i] != 0;
        }
        return;
    }
    for (i = 0; i < n; i++) {
        double v;

        if (!valid[i]) {
            continue;
        }
        v = ek_pixel_get(data, t, i);
        if (ek_hist_exact(t)) {
            bins[exact_key(v, t)]++;
        } else if (!isnan(v)) {
            bins[float_key((float)v) >> 16]++;
        }
    }
}

void ek_stats_mask(const void *data, GDALDataType t, int has_nodata, double nodata,
                   size_t n, uint8_t *valid)
{
    size_t i;

    for (i = 0; i < n; i++) {
        double v = ek_pixel_get(data, t, i);

        valid[i] = isfinite(v) && !(has_nodata && v == nodata);
    }
}

/* Bin holding the value of rank K (0-based) and the rank of its first value. */
static uint32_t bin_of_rank(const uint64_t *bins, uint64_t k, uint64_t *first)
{
    uint64_t seen = 0;
    uint32_t b;

    for (b = 0; b < EK_HIST_BINS; b++) {
        if (seen + bins[b] > k) {
            break;
        }
        seen += bins[b];
    }
    *first = seen;
    return b;
}

struct ek_refiner {
    GDALDataType dtype;
    size_t np;
    double frac[8];
    uint64_t ranks[16]; /* two ranks per percentile */
    uint64_t first[16]; /* rank of the first value in each rank's bin */
    uint32_t bin[16];   /* level-1 bin of each rank */
    uint32_t *low;      /* per rank: histogram of the low 16 key bits */
    uint8_t *wanted;    /* per level-1 bin: 1 when some rank lies in it */
    double values[16];
    int exact;
    int empty;
};

int ek_refiner_new(eodkit_ctx *ctx, const uint64_t *bins, GDALDataType t,
                   uint64_t total, const double *pcts, size_t np, ek_refiner **out)
{
    ek_refiner *r;
    size_t i;

    *out = NULL;
    if (np > 8) {
        return ek_error(ctx, EODKIT_ERR_INTERNAL, "at most 8 percentiles");
    }
    r = ek_calloc(ctx, 1, sizeof *r);
    if (r == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    r->dtype = t;
    r->np = np;
    r->exact = ek_hist_exact(t);
    r->empty = total == 0;
    /* NumPy 'linear': rank h = p/100 (n-1); blend values floor(h), floor(h)+1. */
    for (i = 0; i < np && !r->empty; i++) {
        double h = pcts[i] / 100.0 * (double)(total - 1);
        uint64_t lo = (uint64_t)floor(h);

        r->ranks[2 * i] = lo;
        r->ranks[2 * i + 1] = lo + 1 < total ? lo + 1 : lo;
        r->frac[i] = h - (double)lo;
    }
    for (i = 0; i < 2 * np && !r->empty; i++) {
        r->bin[i] = bin_of_rank(bins, r->ranks[i], &r->first[i]);
        r->values[i] = exact_value(r->bin[i], t);
    }
    if (!r->exact && !r->empty) {
        r->low = ek_calloc(ctx, 2 * np * EK_HIST_BINS, sizeof *r->low);
        r->wanted = ek_calloc(ctx, EK_HIST_BINS, sizeof *r->wanted);
        if (r->low == NULL || r->wanted == NULL) {
            ek_refiner_free(r);
            return EODKIT_ERR_NOMEM;
        }
        for (i = 0; i < 2 * np; i++) {
            r->wanted[r->bin[i]] = 1;
        }
    }
    *out = r;
    return EODKIT_OK;
}

int ek_refiner_wants_values(const ek_refiner *r)
{
    return r->low != NULL;
}

void ek_refiner_add(ek_refiner *r, const void *data, GDALDataType t,
                    const uint8_t *valid, size_t n)
{
    size_t i, k, nr = 2 * r->np;

    for (i = 0; i < n; i++) {
        uint32_t key;

        if (!valid[i]) {
            continue;
        }
        key = float_key(t == GDT_Float32 ? ((const float *)data)[i]
                                         : (float)ek_pixel_get(data, t, i));
        if (!r->wanted[key >> 16]) { /* most values: no percentile near */
            continue;
        }
        for (k = 0; k < nr; k++) {
            if (key >> 16 == r->bin[k]) {
                r->low[k * EK_HIST_BINS + (key & 0xffffu)]++;
            }
        }
    }
}

void ek_refiner_result(const ek_refiner *r, double *out)
{
    double vals[16];
    size_t i, k;

    if (r->empty) {
        for (i = 0; i < r->np; i++) {
            out[i] = NAN;
        }
        return;
    }
    for (k = 0; k < 2 * r->np; k++) {
        uint64_t seen = r->first[k];
        uint32_t b = 0;

        if (r->exact) {
            vals[k] = r->values[k];
            continue;
        }
        for (b = 0; b < EK_HIST_BINS - 1; b++) {
            seen += r->low[k * EK_HIST_BINS + b];
            if (seen > r->ranks[k]) {
                break;
            }
        }
        vals[k] = key_float((r->bin[k] << 16) | b);
    }
    for (i = 0; i < r->np; i++) {
        double a = vals[2 * i], b = vals[2 * i + 1], t = r->frac[i];

        /* NumPy's lerp, including which end it starts from. */
        out[i] = t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
    }
}

void ek_refiner_free(ek_refiner *r)
{
    if (r == NULL) {
        return;
    }
    free(r->low);
    free(r->wanted);
    free(r);
}
