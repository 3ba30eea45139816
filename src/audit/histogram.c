/*
** Audit: per-band histograms of the training split, streamed from its .npy
** shards a few bands at a time (memory does not grow with the dataset). Bins
** are placed exactly as numpy.histogram places them for the same range, so
** readers can reproduce every count.
*/
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "dataset/ek_npy.h"
#include "ek_audit.h"

#define READ_BYTES (1 << 20)

/* One band's histogram as numpy.histogram(values, bins, range=(lo, hi)). */
typedef struct band_hist {
    int valid; /* stats.json has a min and max */
    double lo, hi, norm;
    double *edges; /* bins + 1 */
    int64_t *counts;
    int64_t total;
    /* 8- and 16-bit data: values are counted by their raw little-endian
       bits in VALUES, folded into COUNTS through LOOKUP (bin of each raw
       value, -1 = left out) once every shard is read. */
    int32_t *lookup;
    int64_t *values;
} band_hist;

typedef struct modality_hist {
    const char *name;
    ek_npy_type type;
    int has_nodata;
    double nodata;
    size_t nbands;
    band_hist *bands;
    int bins;
} modality_hist;

/* Bin of V as numpy.histogram finds it (fast estimate, then the one-ULP
   corrections against the edges), or -1 outside the range. */
static int bin_of(const band_hist *h, int bins, double v)
{
    double f;
    int k;

    if (!(v >= h->lo && v <= h->hi)) {
        return -1;
    }
    f = (v - h->lo) * h->norm;
    k = (int)f;
    if (k >= bins) {
        k = bins - 1;
    }
    if (v < h->edges[k]) {
        k--;
    }
    if (v >= h->edges[k + 1] && k != bins - 1) {
        k++;
    }
    return k;
}

static int keep(const modality_hist *m, double v)
{
    return !isnan(v) && !(m->has_nodata && v == m->nodata);
}

static int band_init(eodkit_ctx *ctx, const modality_hist *m, band_hist *h,
                     const json_t *stats)
{
    json_t *lo = json_object_get(stats, "min"), *hi = json_object_get(stats, "max");
    double step;
    int k;

    h->counts = ek_calloc(ctx, (size_t)m->bins, sizeof *h->counts);
    h->edges = ek_calloc(ctx, (size_t)m->bins + 1, sizeof *h->edges);
    if (h->counts == NULL || h->edges == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    h->valid = json_is_number(lo) && json_is_number(hi);
    if (!h->valid) {
        return EODKIT_OK;
    }
    h->lo = json_number_value(lo);
    h->hi = json_number_value(hi);
    if (h->lo == h->hi) {
        h->lo -= 0.5;
        h->hi += 0.5;
    }
    /* numpy.linspace: i * step + start, the last edge exactly the stop */
    step = (h->hi - h->lo) / m->bins;
    for (k = 0; k < m->bins; k++) {
        h->edges[k] = (double)k * step + h->lo;
    }
    h->edges[m->bins] = h->hi;
    h->norm = m->bins / (h->hi - h->lo);
    return EODKIT_OK;
}

/* Once M->type is known (from its first shard): for 8- and 16-bit data, the
   raw value counts of H and the bin of every raw value. */
static int band_lookup(eodkit_ctx *ctx, const modality_hist *m, band_hist *h)
{
    size_t nvalues, v;

    if (!h->valid || (m->type.kind != 'u' && m->type.kind != 'i') || m->type.size > 2) {
        return EODKIT_OK;
    }
    nvalues = (size_t)1 << (8 * m->type.size);
    h->lookup = ek_calloc(ctx, nvalues, sizeof *h->lookup);
    h->values = ek_calloc(ctx, nvalues, sizeof *h->values);
    if (h->lookup == NULL || h->values == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (v = 0; v < nvalues; v++) {
        unsigned char raw[2] = {(unsigned char)(v & 0xff), (unsigned char)(v >> 8)};
        double x = ek_npy_value(raw, m->type);

        h->lookup[v] = keep(m, x) ? bin_of(h, m->bins, x) : -1;
    }
    return EODKIT_OK;
}

static void count_plane(const modality_hist *m, band_hist *h, const unsigned char *data,
                        size_t n)
{
    size_t i, size = (size_t)m->type.size;
    int k;

    if (!h->valid) {
        return;
    }
    if (h->values != NULL && size == 1) {
        for (i = 0; i < n; i++) {
            h->values[data[i]]++;
        }
        return;
    }
    if (h->values != NULL) {
        for (i = 0; i < n; i++) {
            h->values[(size_t)data[2 * i] | (size_t)data[2 * i + 1] << 8]++;
        }
        return;
    }
    for (i = 0; i < n; i++) {
        double v;

        if (m->type.kind == 'f' && size == 4) { /* the common case, inlined */
            float x;

            memcpy(&x, data + 4 * i, 4);
            v = x;
        } else {
            v = ek_npy_value(data + i * size, m->type);
        }
        k = keep(m, v) ? bin_of(h, m->bins, v) : -1;
        if (k >= 0) {
            h->counts[k]++;
            h->total++;
        }
    }
}

/* Add the raw value counts of 8- and 16-bit data to the bins. */
static void fold_values(const modality_hist *m, band_hist *h)
{
    size_t nvalues, v;

    if (h->values == NULL) { /* not 8- or 16-bit data */
        return;
    }
    nvalues = (size_t)1 << (8 * m->type.size);
    for (v = 0; v < nvalues; v++) {
        if (h->lookup[v] >= 0) {
            h->counts[h->lookup[v]] += h->values[v];
            h->total += h->values[v];
        }
    }
}

/* Count every value of shard PATH into M's band histograms; the first shard
   sets M->type, which the others must share. */
static int count_shard(eodkit_ctx *ctx, modality_hist *m, const char *path,
                       unsigned char *buf)
{
    ek_npy nf;
    int64_t plane = 1, planes = 1;
    size_t per_read, p = 0, b;
    int i, rc;

    rc = ek_npy_open(ctx, path, &nf);
    if (rc == EODKIT_OK && m->type.size == 0) {
        m->type = nf.type;
        for (b = 0; rc == EODKIT_OK && b < m->nbands; b++) {
            rc = band_lookup(ctx, m, &m->bands[b]);
        }
    }
    if (rc == EODKIT_OK &&
        (nf.type.kind != m->type.kind || nf.type.size != m->type.size || nf.ndim < 3)) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: element type or shape does not match collection.json", path);
    }
    if (rc != EODKIT_OK) {
        goto out;
    }
    /* (n, [T,] C, H, W): planes of H x W values, band = plane index mod C */
    plane = nf.shape[nf.ndim - 1] * nf.shape[nf.ndim - 2];
    for (i = 0; i < nf.ndim - 2; i++) {
        planes *= nf.shape[i];
    }
    if (plane <= 0 || (size_t)plane * (size_t)nf.type.size > READ_BYTES) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: chips too large to histogram", path);
        goto out;
    }
    per_read = READ_BYTES / ((size_t)plane * (size_t)nf.type.size);
    while (p < (size_t)planes) {
        size_t want = (size_t)planes - p < per_read ? (size_t)planes - p : per_read, k;
        size_t bytes = want * (size_t)plane * (size_t)nf.type.size;

        if (fread(buf, 1, bytes, nf.f) != bytes) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: shorter than its header says",
                          path);
            goto out;
        }
        for (k = 0; k < want; k++) {
            count_plane(m, &m->bands[(p + k) % m->nbands],
                        buf + k * (size_t)plane * (size_t)nf.type.size, (size_t)plane);
        }
        p += want;
    }
out:
    ek_npy_close(&nf);
    return rc;
}

/* Nonzero when file name BASE is "<NAME>-NNNNN.npy". */
static int is_shard_of(const char *base, const char *name)
{
    size_t n = strlen(name), i;

    if (strncmp(base, name, n) != 0 || base[n] != '-' || strlen(base) != n + 10 ||
        strcmp(base + n + 6, ".npy") != 0) {
        return 0;
    }
    for (i = n + 1; i < n + 6; i++) {
        if (!isdigit((unsigned char)base[i])) {
            return 0;
        }
    }
    return 1;
}

static json_t *band_json(const modality_hist *m, const band_hist *h,
                         const json_t *stats)
{
    json_t *o = json_object(), *counts = json_array();
    int k;

    json_object_set(o, "band", json_object_get(stats, "band"));
    json_object_set(o, "name", json_object_get(stats, "name"));
    json_object_set(o, "min", json_object_get(stats, "min"));
    json_object_set(o, "max", json_object_get(stats, "max"));
    json_object_set_new(o, "bins", json_integer(m->bins));
    json_object_set_new(o, "count", json_integer(h->total));
    for (k = 0; k < m->bins; k++) {
        json_array_append_new(counts, json_integer(h->counts[k]));
    }
    json_object_set_new(o, "counts", counts);
    return o;
}

static void modality_free(modality_hist *m)
{
    size_t b;

    for (b = 0; b < m->nbands && m->bands != NULL; b++) {
        free(m->bands[b].counts);
        free(m->bands[b].edges);
        free(m->bands[b].lookup);
        free(m->bands[b].values);
    }
    free(m->bands);
}

/* Histograms of modality MOD (from collection.json) over its shards. */
static int modality(eodkit_ctx *ctx, const char *dir, const char *split,
                    const json_t *mod, const json_t *stats, int bins,
                    unsigned char *buf, json_t *out)
{
    modality_hist m = {0};
    const json_t *mstats;
    json_t *bands, *nodata;
    char *pattern = NULL, **paths = NULL;
    size_t npaths = 0, i, b;
    int rc;

    m.name = json_string_value(json_object_get(mod, "name"));
    mstats = json_object_get(json_object_get(stats, "modalities"),
                             m.name != NULL ? m.name : "");
    bands = json_object_get(mstats, "bands");
    nodata = json_object_get(mod, "nodata");
    m.has_nodata = json_is_number(nodata);
    m.nodata = json_number_value(nodata);
    m.bins = bins;
    m.nbands = json_array_size(bands);
    if (m.name == NULL || m.nbands == 0) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: stats.json and collection.json disagree on a modality",
                        dir);
    }
    m.bands = ek_calloc(ctx, m.nbands, sizeof *m.bands);
    pattern = ek_asprintf(ctx, "%s/%s/%s-*.npy", dir, split, m.name);
    if (m.bands == NULL || pattern == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    rc = ek_fs_glob(ctx, pattern, &paths, &npaths);
    for (b = 0; rc == EODKIT_OK && b < m.nbands; b++) {
        rc = band_init(ctx, &m, &m.bands[b], json_array_get(bands, b));
    }
    for (i = 0; rc == EODKIT_OK && i < npaths; i++) {
        if (is_shard_of(ek_path_basename(paths[i]), m.name)) {
            rc = count_shard(ctx, &m, paths[i], buf);
        }
    }
    if (rc == EODKIT_OK && m.type.size == 0 &&
        json_integer_value(json_object_get(stats, "chips")) > 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s/%s: no .npy shards of '%s' (an incomplete dataset)", dir,
                      split, m.name);
    }
    if (rc == EODKIT_OK) {
        json_t *list = json_array();

        for (b = 0; b < m.nbands; b++) {
            fold_values(&m, &m.bands[b]);
            json_array_append_new(list,
                                  band_json(&m, &m.bands[b], json_array_get(bands, b)));
        }
        json_object_set_new(out, m.name, list);
    }
out:
    modality_free(&m);
    ek_fs_free_list(paths, npaths);
    free(pattern);
    return rc;
}

int ek_audit_histograms(eodkit_ctx *ctx, const char *dir, const char *split,
                        const json_t *modalities, const json_t *stats, int bins,
                        json_t **out)
{
    unsigned char *buf = ek_calloc(ctx, READ_BYTES, 1);
    json_t *result = json_object(), *mod;
    size_t i;
    int rc = buf == NULL || result == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    *out = NULL;
    json_array_foreach(modalities, i, mod)
    {
        if (rc == EODKIT_OK) {
            rc = modality(ctx, dir, split, mod, stats, bins, buf, result);
        }
    }
    free(buf);
    if (rc != EODKIT_OK) {
        json_decref(result);
        return rc;
    }
    *out = result;
    return EODKIT_OK;
}
