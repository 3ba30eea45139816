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
#include "ek_audit.h"

#define READ_BYTES (1 << 20)

/* The element type of an .npy file. */
typedef struct npy_type {
    char kind; /* 'u', 'i' or 'f' */
    int size;  /* bytes */
} npy_type;

typedef struct npy_file {
    FILE *f;
    npy_type type;
    int64_t shape[6];
    int ndim;
} npy_file;

/* One band's histogram as numpy.histogram(values, bins, range=(lo, hi)). */
typedef struct band_hist {
    int valid; /* stats.json has a min and max */
    double lo, hi, norm;
    double *edges; /* bins + 1 */
    int64_t *counts;
    int64_t total;
    int32_t *lookup; /* 8- and 16-bit data: bin of each value, -1 = left out */
} band_hist;

typedef struct modality_hist {
    const char *name;
    npy_type type;
    int has_nodata;
    double nodata;
    size_t nbands;
    band_hist *bands;
    int bins;
} modality_hist;

static int parse_descr(const char *descr, npy_type *t)
{
    if ((descr[0] != '<' && descr[0] != '|' && descr[0] != '=') ||
        (descr[1] != 'u' && descr[1] != 'i' && descr[1] != 'f') ||
        !isdigit((unsigned char)descr[2])) {
        return -1;
    }
    t->kind = descr[1];
    t->size = atoi(descr + 2);
    if (t->size != 1 && t->size != 2 && t->size != 4 && t->size != 8) {
        return -1;
    }
    return t->kind == 'f' && t->size < 4 ? -1 : 0;
}

/* Open .npy file PATH and read its header (format 1.0 to 3.0, C order,
   little-endian). */
static int npy_open(eodkit_ctx *ctx, const char *path, npy_file *nf)
{
    unsigned char pre[12];
    char header[4096], *p, *descr, *shape;
    size_t len;
    int rc = EODKIT_OK;

    memset(nf, 0, sizeof *nf);
    nf->f = fopen(path, "rb");
    if (nf->f == NULL) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot open", path);
    }
    if (fread(pre, 1, 10, nf->f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 ||
        pre[6] < 1 || pre[6] > 3) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: not a NumPy .npy file", path);
    }
    len = (size_t)pre[8] | (size_t)pre[9] << 8;
    if (pre[6] > 1) {
        if (fread(pre + 10, 1, 2, nf->f) != 2) {
            return ek_error(ctx, EODKIT_ERR_INPUT, "%s: truncated .npy header", path);
        }
        len |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    }
    if (len >= sizeof header || fread(header, 1, len, nf->f) != len) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: unreadable .npy header", path);
    }
    header[len] = '\0';
    descr = strstr(header, "'descr':");
    descr = descr != NULL ? strchr(descr + 8, '\'') : NULL;
    shape = strstr(header, "'shape':");
    p = shape != NULL ? strchr(shape, '(') : NULL;
    if (descr == NULL || parse_descr(descr + 1, &nf->type) != 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: unsupported .npy element type", path);
    } else if (strstr(header, "'fortran_order': False") == NULL) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: not a C-order .npy array", path);
    } else if (p == NULL) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: .npy header without a shape", path);
    }
    for (p = rc == EODKIT_OK ? p + 1 : NULL; p != NULL && nf->ndim < 6;) {
        char *end;
        long long v = strtoll(p, &end, 10);

        if (end == p) {
            break;
        }
        nf->shape[nf->ndim++] = v;
        p = end + strspn(end, ", ");
    }
    return rc;
}

static double element(const unsigned char *p, npy_type t)
{
    switch (t.kind) {
    case 'u': {
        uint64_t v = 0;

        memcpy(&v, p, (size_t)t.size); /* little-endian host */
        return (double)v;
    }
    case 'i': {
        if (t.size == 1) {
            return (double)*(const int8_t *)p;
        } else if (t.size == 2) {
            int16_t v;

            memcpy(&v, p, 2);
            return v;
        } else if (t.size == 4) {
            int32_t v;

            memcpy(&v, p, 4);
            return v;
        } else {
            int64_t v;

            memcpy(&v, p, 8);
            return (double)v;
        }
    }
    default:
        if (t.size == 4) {
            float v;

            memcpy(&v, p, 4);
            return v;
        } else {
            double v;

            memcpy(&v, p, 8);
            return v;
        }
    }
}

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

static int band_init(eodkit_ctx *ctx, modality_hist *m, band_hist *h,
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
    if ((m->type.kind == 'u' || m->type.kind == 'i') && m->type.size <= 2) {
        size_t nvalues = (size_t)1 << (8 * m->type.size), v;

        h->lookup = ek_calloc(ctx, nvalues, sizeof *h->lookup);
        if (h->lookup == NULL) {
            return EODKIT_ERR_NOMEM;
        }
        for (v = 0; v < nvalues; v++) {
            unsigned char raw[2] = {(unsigned char)(v & 0xff), (unsigned char)(v >> 8)};
            double x = element(raw, m->type);

            h->lookup[v] = keep(m, x) ? bin_of(h, m->bins, x) : -1;
        }
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
    for (i = 0; i < n; i++) {
        const unsigned char *p = data + i * size;

        if (h->lookup != NULL) {
            k = h->lookup[size == 1 ? p[0] : (size_t)p[0] | (size_t)p[1] << 8];
        } else {
            double v = element(p, m->type);

            k = keep(m, v) ? bin_of(h, m->bins, v) : -1;
        }
        if (k >= 0) {
            h->counts[k]++;
            h->total++;
        }
    }
}

/* Count every value of shard PATH into M's band histograms. */
static int count_shard(eodkit_ctx *ctx, modality_hist *m, const char *path,
                       unsigned char *buf)
{
    npy_file nf;
    int64_t plane = 1, planes = 1;
    size_t per_read, p = 0;
    int i, rc;

    rc = npy_open(ctx, path, &nf);
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
    if (nf.f != NULL) {
        fclose(nf.f);
    }
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
    for (i = 0; rc == EODKIT_OK && i < npaths && m.type.size == 0; i++) {
        npy_file nf;

        if (is_shard_of(ek_path_basename(paths[i]), m.name)) {
            rc = npy_open(ctx, paths[i], &nf);
            m.type = nf.type;
            if (nf.f != NULL) {
                fclose(nf.f);
            }
        }
    }
    if (rc == EODKIT_OK && m.type.size == 0 &&
        json_integer_value(json_object_get(stats, "chips")) > 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s/%s: no .npy shards of '%s' (an incomplete dataset)", dir,
                      split, m.name);
    }
    for (b = 0; rc == EODKIT_OK && b < m.nbands; b++) {
        rc = band_init(ctx, &m, &m.bands[b], json_array_get(bands, b));
    }
    for (i = 0; rc == EODKIT_OK && i < npaths; i++) {
        if (is_shard_of(ek_path_basename(paths[i]), m.name)) {
            rc = count_shard(ctx, &m, paths[i], buf);
        }
    }
    if (rc == EODKIT_OK) {
        json_t *list = json_array();

        for (b = 0; b < m.nbands; b++) {
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
