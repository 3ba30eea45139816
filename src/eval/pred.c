/*
** Eval: the prediction array a model wrote, one row per chip of the chosen
** splits: class ids or scores, per chip or per pixel, read a row at a time.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_eval.h"

static const char *dtype_name(const ek_npy_type *t)
{
    static const char *const names[3][4] = {{"uint8", "uint16", "uint32", "uint64"},
                                            {"int8", "int16", "int32", "int64"},
                                            {"", "", "float32", "float64"}};
    int k = t->size == 1 ? 0 : t->size == 2 ? 1 : t->size == 4 ? 2 : 3;

    if (t->kind == 'b') {
        return "bool";
    }
    return names[t->kind == 'u' ? 0 : t->kind == 'i' ? 1 : 2][k];
}

int ek_pred_bad_class(eodkit_ctx *ctx, const ek_pred *p, const ek_classes *cl,
                      int64_t row, double value)
{
    char ids[160] = "";
    size_t i, used = 0;

    for (i = 0; i < cl->k && used < sizeof ids - 8; i++) {
        used += (size_t)snprintf(ids + used, sizeof ids - used, "%s%d", i ? ", " : "",
                                 (int)cl->ids[i]);
    }
    return ek_error(ctx, EODKIT_ERR_INPUT,
                    "%s: row %lld predicts %.17g, not a class id of the dataset (%s)",
                    p->path, (long long)row, value, ids);
}

void ek_pred_describe(const ek_pred *p, char *buf, size_t size)
{
    char shape[96];

    ek_npy_shape_text(&p->npy, shape, sizeof shape);
    snprintf(buf, size, "%s %s", shape, dtype_name(&p->npy.type));
}

/* Chip height and width of CS's chips (they all have the same). */
static void chip_size(const ek_chipset *cs, int64_t *h, int64_t *w)
{
    json_t *size =
        json_object_get(json_object_get(cs->collection, "eodkit:grid"), "chip_size");

    *h = json_integer_value(json_array_get(size, 0));
    *w = json_integer_value(json_array_get(size, 1));
}

int ek_pred_open(eodkit_ctx *ctx, const char *path, const ek_chipset *cs, ek_pred *p)
{
    int64_t h, w, *s = p->npy.shape;
    char what[128], splits[256];
    int rc;

    memset(p, 0, sizeof *p);
    p->path = ek_strdup(ctx, path);
    if (p->path == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = ek_npy_open(ctx, path, &p->npy);
    if (rc != EODKIT_OK) {
        return rc;
    }
    chip_size(cs, &h, &w);
    p->n = p->npy.ndim > 0 ? s[0] : 0;
    p->channels = p->npy.ndim == 2 || p->npy.ndim == 4 ? s[1] : 1;
    p->h = p->npy.ndim >= 3 ? s[p->npy.ndim - 2] : 1;
    p->w = p->npy.ndim >= 3 ? s[p->npy.ndim - 1] : 1;
    p->is_float = p->npy.type.kind == 'f';
    ek_pred_describe(p, what, sizeof what);
    ek_chipset_split_text(cs, splits, sizeof splits);
    if (p->npy.ndim < 1 || p->npy.ndim > 4 || p->channels < 1) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: shape %s; predictions are (n,), (n, K), (n, H, W) or "
                      "(n, K, H, W) with n chips",
                      path, what);
    } else if (p->n != (int64_t)cs->n) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: %lld rows, but split %s has %zu chips (one row per chip, "
                      "in index order)",
                      path, (long long)p->n, splits, cs->n);
    } else if (p->npy.ndim >= 3 && (p->h != h || p->w != w)) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: shape %s, but the chips are %lld x %lld pixels", path, what,
                      (long long)h, (long long)w);
    }
    if (rc == EODKIT_OK) {
        p->row = ek_calloc(ctx, p->npy.row_bytes + 1, 1);
        rc = p->row == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    return rc;
}

void ek_pred_close(ek_pred *p)
{
    ek_npy_close(&p->npy);
    free(p->row);
    free(p->path);
    memset(p, 0, sizeof *p);
}

int ek_pred_read(eodkit_ctx *ctx, ek_pred *p, int64_t i)
{
    return ek_npy_read_rows(ctx, &p->npy, p->path, i, 1, p->row);
}

double ek_pred_value(const ek_pred *p, int64_t c, int64_t pix)
{
    return ek_npy_value(p->row +
                            (size_t)(c * p->h * p->w + pix) * (size_t)p->npy.type.size,
                        p->npy.type);
}
