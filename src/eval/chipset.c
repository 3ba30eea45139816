/*
** Eval: the chips a prediction array is aligned with (the chosen splits'
** chips in index order), reading their rows from the shards, and the
** dataset's classes as eval, mosaic and preview need them.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdal.h>

#include "core/ek_fs.h"
#include "dataset/ek_dataset.h"
#include "ek_eval.h"

/* ---- the chip set ---- */

/* Add split NAME (LEN bytes) of the dataset to CS->splits. */
static int add_split(eodkit_ctx *ctx, ek_chipset *cs, const char *name, size_t len)
{
    json_t *known = json_object_get(cs->collection, "eodkit:splits");
    char *copy = ek_calloc(ctx, len + 1, 1);
    int32_t s = -1;
    size_t i;
    int rc = EODKIT_OK;

    if (copy == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    memcpy(copy, name, len);
    if (json_object_get(known, copy) != NULL) {
        s = ek_names_find(&cs->ix->splits, copy);
    }
    if (s < 0) {
        char list[256] = "";
        const char *key;
        json_t *v;

        json_object_foreach(known, key, v)
        {
            size_t used = strlen(list);

            snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", key);
        }
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: no split '%s' (its splits: %s)",
                      cs->dir, copy, list);
    }
    for (i = 0; rc == EODKIT_OK && i < cs->nsplits; i++) {
        if (cs->splits[i] == s) {
            rc = ek_error(ctx, EODKIT_ERR_USAGE, "split '%s' is given twice", copy);
        }
    }
    free(copy);
    if (rc == EODKIT_OK) {
        cs->splits[cs->nsplits++] = s;
    }
    return rc;
}

/* Select SPLITS (as ek_chipset_open takes them) in CS. */
static int select_splits(eodkit_ctx *ctx, ek_chipset *cs, const char *splits, int every)
{
    json_t *known = json_object_get(cs->collection, "eodkit:splits"), *v;
    const char *name, *p;
    size_t i, s;
    int rc = EODKIT_OK;

    /* add_split takes each split of the dataset once at most */
    cs->splits = ek_calloc(ctx, json_object_size(known) + 1, sizeof *cs->splits);
    if (cs->splits == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (splits == NULL && every) {
        json_object_foreach(known, name, v)
        {
            rc = rc == EODKIT_OK ? add_split(ctx, cs, name, strlen(name)) : rc;
        }
    } else if (splits == NULL) { /* the first split */
        void *first = json_object_iter(known);

        splits = first != NULL ? json_object_iter_key(first) : "";
    }
    for (p = splits; p != NULL && rc == EODKIT_OK;) {
        size_t len = strcspn(p, ",");

        rc = add_split(ctx, cs, p, len);
        if (p[len] == '\0') {
            break;
        }
        p += len + 1;
    }
    cs->chips =
        rc == EODKIT_OK ? ek_calloc(ctx, cs->ix->n + 1, sizeof *cs->chips) : NULL;
    if (rc == EODKIT_OK && cs->chips == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (s = 0; rc == EODKIT_OK && s < cs->nsplits; s++) {
        for (i = 0; i < cs->ix->n; i++) {
            if (cs->ix->chips[i].split == cs->splits[s]) {
                cs->chips[cs->n++] = i;
            }
        }
    }
    return rc;
}

int ek_chipset_open(eodkit_ctx *ctx, const char *dir, const char *splits, int every,
                    ek_chipset **out)
{
    ek_chipset *cs = ek_calloc(ctx, 1, sizeof *cs);
    eodkit_dataset *ds = NULL;
    int rc;

    *out = NULL;
    if (cs == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    GDALAllRegister();
    rc = ek_dataset_read(ctx, dir, 0, &ds);
    if (rc == EODKIT_OK) {
        cs->dir = ek_strdup(ctx, dir);
        cs->collection = json_incref(ds->collection);
        cs->stats = json_incref(ds->stats);
        cs->provenance = json_incref(ds->provenance);
        rc = cs->dir == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    eodkit_dataset_close(ds);
    if (rc == EODKIT_OK) {
        const ek_audit_labels no_labels = {NULL, 0};

        rc = ek_audit_index_read(ctx, dir, cs->collection, &no_labels, &cs->ix);
    }
    if (rc == EODKIT_OK) {
        rc = ek_audit_grids_read(ctx, cs->provenance, &cs->grids, &cs->ngrids);
    }
    if (rc == EODKIT_OK) {
        ek_audit_index_set_grids(cs->ix, cs->grids, cs->ngrids);
        rc = select_splits(ctx, cs, splits, every);
    }
    if (rc != EODKIT_OK) {
        ek_chipset_free(cs);
        return rc;
    }
    *out = cs;
    return EODKIT_OK;
}

void ek_chipset_free(ek_chipset *cs)
{
    if (cs == NULL) {
        return;
    }
    free(cs->chips);
    free(cs->splits);
    free(cs->grids);
    ek_audit_index_free(cs->ix);
    json_decref(cs->collection);
    json_decref(cs->stats);
    json_decref(cs->provenance);
    free(cs->dir);
    free(cs);
}

void ek_chipset_split_text(const ek_chipset *cs, char *buf, size_t size)
{
    size_t s, used = 0;

    buf[0] = '\0';
    for (s = 0; s < cs->nsplits && used < size; s++) {
        used += (size_t)snprintf(buf + used, size - used, "%s%s", s ? ", " : "",
                                 cs->ix->splits.names[cs->splits[s]]);
    }
}

int ek_chip_key_compare(const void *a, const void *b)
{
    int64_t x = ((const ek_chip_key *)a)->id, y = ((const ek_chip_key *)b)->id;

    return (x > y) - (x < y);
}

/* ---- shard rows ---- */

void ek_shard_reader_init(ek_shard_reader *r, const ek_chipset *cs, const char *array,
                          size_t row_bytes)
{
    memset(r, 0, sizeof *r);
    r->cs = cs;
    r->array = array;
    r->row_bytes = row_bytes;
    r->split = -1;
    r->shard = -1;
}

static int open_shard(eodkit_ctx *ctx, ek_shard_reader *r, const ek_audit_chip *c)
{
    int rc;

    ek_shard_reader_close(r);
    r->path = ek_asprintf(ctx, "%s/%s/%s-%05d.npy", r->cs->dir,
                          r->cs->ix->splits.names[c->split], r->array, (int)c->shard);
    if (r->path == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (!ek_fs_is_file(r->path)) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: missing (an incomplete dataset)",
                        r->path);
    }
    rc = ek_npy_open(ctx, r->path, &r->npy);
    if (rc == EODKIT_OK && r->npy.row_bytes != r->row_bytes) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: rows of %zu bytes, but collection.json describes %zu",
                      r->path, r->npy.row_bytes, r->row_bytes);
    }
    if (rc == EODKIT_OK) {
        r->split = c->split;
        r->shard = c->shard;
    }
    return rc;
}

int ek_shard_reader_row(eodkit_ctx *ctx, ek_shard_reader *r, size_t chip, void *buf)
{
    const ek_audit_chip *c = &r->cs->ix->chips[chip];
    int rc = EODKIT_OK;

    if (c->split != r->split || c->shard != r->shard) {
        rc = open_shard(ctx, r, c);
    }
    return rc == EODKIT_OK ? ek_npy_read_rows(ctx, &r->npy, r->path, c->row, 1, buf)
                           : rc;
}

void ek_shard_reader_close(ek_shard_reader *r)
{
    ek_npy_close(&r->npy);
    free(r->path);
    r->path = NULL;
    r->split = -1;
    r->shard = -1;
}

/* ---- objects ---- */

static const char *const object_array_names[EK_OBJ_ARRAYS] = {
    "boxes", "obb", "box_class", "box_id", "box_visible", "box_truncated"};

int ek_object_reader_init(eodkit_ctx *ctx, ek_object_reader *r, const ek_chipset *cs)
{
    json_t *label = json_object_get(cs->collection, "eodkit:label");
    json_t *arrays = json_object_get(label, "arrays");
    const char *task = json_string_value(json_object_get(label, "task"));

    memset(r, 0, sizeof *r);
    r->cs = cs;
    r->split = -1;
    r->shard = -1;
    ek_shard_reader_init(&r->ranges, cs, "box_range", 2 * sizeof(int64_t));
    if (json_object_get(arrays, "box_range") == NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: the dataset has no objects (task: %s); detection and "
                        "instance datasets have them",
                        cs->dir, task != NULL ? task : "none");
    }
    r->oriented = json_object_get(arrays, "obb") != NULL;
    return EODKIT_OK;
}

static void close_object_files(ek_object_reader *r)
{
    int a;

    for (a = 0; a < EK_OBJ_ARRAYS; a++) {
        ek_npy_close(&r->npy[a]);
        free(r->path[a]);
        r->path[a] = NULL;
    }
    r->split = -1;
    r->shard = -1;
}

void ek_object_reader_close(ek_object_reader *r)
{
    close_object_files(r);
    ek_shard_reader_close(&r->ranges);
}

/* Open the per-object files of chip C's shard (every one the dataset has;
   ek_dataset_read has checked them against box_range), each with the row
   width its ek_chip_objects array holds. */
static int open_object_files(eodkit_ctx *ctx, ek_object_reader *r,
                             const ek_audit_chip *c)
{
    static const size_t widths[EK_OBJ_ARRAYS] = {4, 8, 1, 1, 1, 1};
    int a, rc = EODKIT_OK;

    close_object_files(r);
    for (a = 0; a < EK_OBJ_ARRAYS && rc == EODKIT_OK; a++) {
        if (a == EK_OBJ_OBB && !r->oriented) {
            continue;
        }
        r->path[a] = ek_asprintf(ctx, "%s/%s/%s-%05d.npy", r->cs->dir,
                                 r->cs->ix->splits.names[c->split],
                                 object_array_names[a], (int)c->shard);
        rc = r->path[a] == NULL ? EODKIT_ERR_NOMEM
                                : ek_npy_open(ctx, r->path[a], &r->npy[a]);
        if (rc == EODKIT_OK &&
            r->npy[a].row_bytes != widths[a] * (size_t)r->npy[a].type.size) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: rows of %zu values, not %zu",
                          r->path[a], r->npy[a].row_bytes / (size_t)r->npy[a].type.size,
                          widths[a]);
        }
    }
    if (rc == EODKIT_OK) {
        r->split = c->split;
        r->shard = c->shard;
    }
    return rc;
}

/* Grow O's arrays to hold N objects. */
static int grow_objects(eodkit_ctx *ctx, ek_chip_objects *o, size_t n)
{
    float *boxes, *obb, *visible;
    int32_t *cls;
    uint32_t *ids;
    uint8_t *truncated;

    if (n <= o->cap) {
        return EODKIT_OK;
    }
    boxes = ek_realloc_array(ctx, o->boxes, 4 * n, sizeof *boxes);
    o->boxes = boxes != NULL ? boxes : o->boxes;
    obb = ek_realloc_array(ctx, o->obb, 8 * n, sizeof *obb);
    o->obb = obb != NULL ? obb : o->obb;
    cls = ek_realloc_array(ctx, o->cls, n, sizeof *cls);
    o->cls = cls != NULL ? cls : o->cls;
    ids = ek_realloc_array(ctx, o->ids, n, sizeof *ids);
    o->ids = ids != NULL ? ids : o->ids;
    visible = ek_realloc_array(ctx, o->visible, n, sizeof *visible);
    o->visible = visible != NULL ? visible : o->visible;
    truncated = ek_realloc_array(ctx, o->truncated, n, sizeof *truncated);
    o->truncated = truncated != NULL ? truncated : o->truncated;
    if (boxes == NULL || obb == NULL || cls == NULL || ids == NULL || visible == NULL ||
        truncated == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    o->cap = n;
    return EODKIT_OK;
}

int ek_object_reader_chip(eodkit_ctx *ctx, ek_object_reader *r, size_t chip,
                          ek_chip_objects *out)
{
    const ek_audit_chip *c = &r->cs->ix->chips[chip];
    int64_t range[2];
    unsigned char *row = NULL;
    size_t i;
    int a, rc = ek_shard_reader_row(ctx, &r->ranges, chip, range);

    out->n = 0;
    if (rc == EODKIT_OK && (c->split != r->split || c->shard != r->shard)) {
        rc = open_object_files(ctx, r, c);
    }
    if (rc == EODKIT_OK) {
        rc = grow_objects(ctx, out, (size_t)range[1]);
    }
    for (a = 0; a < EK_OBJ_ARRAYS && rc == EODKIT_OK && range[1] > 0; a++) {
        const ek_npy *nf = &r->npy[a];

        if (r->path[a] == NULL) {
            continue;
        }
        free(row);
        row = ek_calloc(ctx, (size_t)range[1], nf->row_bytes);
        rc = row == NULL ? EODKIT_ERR_NOMEM
                         : ek_npy_read_rows(ctx, &r->npy[a], r->path[a], range[0],
                                            range[1], row);
        for (i = 0; rc == EODKIT_OK &&
                    i < (size_t)range[1] * nf->row_bytes / (size_t)nf->type.size;
             i++) {
            double v = ek_npy_value(row + i * (size_t)nf->type.size, nf->type);

            switch (a) {
            case EK_OBJ_BOXES:
                out->boxes[i] = (float)v;
                break;
            case EK_OBJ_OBB:
                out->obb[i] = (float)v;
                break;
            case EK_OBJ_CLASS:
                out->cls[i] = (int32_t)v;
                break;
            case EK_OBJ_ID:
                out->ids[i] = (uint32_t)v;
                break;
            case EK_OBJ_VISIBLE:
                out->visible[i] = (float)v;
                break;
            default:
                out->truncated[i] = (uint8_t)v;
                break;
            }
        }
    }
    free(row);
    if (rc == EODKIT_OK) {
        out->n = (size_t)range[1];
    }
    return rc;
}

void ek_chip_objects_free(ek_chip_objects *o)
{
    free(o->boxes);
    free(o->obb);
    free(o->cls);
    free(o->ids);
    free(o->visible);
    free(o->truncated);
    memset(o, 0, sizeof *o);
}

/* ---- classes ---- */

static int compare_id(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

    return (x > y) - (x < y);
}

/* Fill CL->ids and CL->names from the classes LIST (and the background). */
static int list_classes(eodkit_ctx *ctx, ek_classes *cl, const char *dir,
                        const json_t *list, const json_t *bg)
{
    size_t i, j, n = json_array_size(list);
    json_t *c;

    cl->ids = ek_calloc(ctx, n + 1, sizeof *cl->ids);
    cl->names = ek_calloc(ctx, n + 1, sizeof *cl->names);
    if (cl->ids == NULL || cl->names == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    json_array_foreach(list, i, c)
    {
        cl->ids[cl->k++] = (int32_t)json_integer_value(json_object_get(c, "id"));
    }
    if (!cl->multilabel) {
        cl->ids[cl->k++] = cl->background;
        qsort(cl->ids, cl->k, sizeof *cl->ids, compare_id);
    }
    for (i = 0; i < cl->k; i++) {
        cl->names[i] = json_string_value(json_object_get(bg, "name"));
        json_array_foreach(list, j, c)
        {
            if (json_integer_value(json_object_get(c, "id")) == cl->ids[i]) {
                cl->names[i] = json_string_value(json_object_get(c, "name"));
            }
        }
        if (cl->names[i] == NULL) {
            cl->names[i] = "";
        }
        if (cl->ids[i] < 0 || cl->ids[i] > 65535 ||
            (i > 0 && !cl->multilabel && cl->ids[i] == cl->ids[i - 1])) {
            return ek_error(ctx, EODKIT_ERR_INPUT,
                            "%s/collection.json: class id %d is invalid or repeated",
                            dir, (int)cl->ids[i]);
        }
        if (cl->ids[i] > cl->max_id) {
            cl->max_id = cl->ids[i];
        }
    }
    return EODKIT_OK;
}

int ek_classes_read(eodkit_ctx *ctx, const json_t *collection, const char *dir,
                    ek_classes *cl)
{
    json_t *label = json_object_get(collection, "eodkit:label");
    json_t *bg = json_object_get(label, "background");
    json_t *shape = json_object_get(label, "shape");
    json_t *ignore = json_object_get(label, "ignore_index");
    const char *dtype = json_string_value(json_object_get(label, "dtype"));
    size_t i;
    int rc;

    memset(cl, 0, sizeof *cl);
    cl->task = json_string_value(json_object_get(label, "task"));
    if (cl->task == NULL ||
        (strcmp(cl->task, "segmentation") != 0 &&
         strcmp(cl->task, "classification") != 0 &&
         strcmp(cl->task, "multilabel") != 0 && strcmp(cl->task, "detection") != 0 &&
         strcmp(cl->task, "instance") != 0 && strcmp(cl->task, "change") != 0)) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: the dataset has no class labels (task: %s)", dir,
                        cl->task != NULL ? cl->task : "none");
    }
    cl->multilabel = strcmp(cl->task, "multilabel") == 0;
    cl->change = strcmp(cl->task, "change") == 0;
    cl->objects =
        strcmp(cl->task, "detection") == 0 || strcmp(cl->task, "instance") == 0;
    /* an instance dataset's "label" holds a class per pixel too, as does a
       change mask */
    cl->per_pixel = strcmp(cl->task, "segmentation") == 0 ||
                    strcmp(cl->task, "instance") == 0 || cl->change;
    cl->h = cl->per_pixel ? json_integer_value(json_array_get(shape, 0)) : 1;
    cl->w = cl->per_pixel ? json_integer_value(json_array_get(shape, 1)) : 1;
    cl->label_type.kind = 'u';
    cl->label_type.size = dtype != NULL && strcmp(dtype, "uint16") == 0 ? 2 : 1;
    cl->background =
        cl->multilabel ? -1 : (int32_t)json_integer_value(json_object_get(bg, "id"));
    cl->ignore = json_is_integer(ignore) ? (int32_t)json_integer_value(ignore) : -1;
    cl->max_id = cl->background;
    rc = list_classes(ctx, cl, dir, json_object_get(label, "classes"), bg);
    cl->label_bytes = (size_t)cl->label_type.size * (size_t)(cl->h * cl->w) *
                      (cl->multilabel ? cl->k : 1);
    if (rc == EODKIT_OK && (cl->h <= 0 || cl->w <= 0 || cl->k == 0)) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s/collection.json: eodkit:label has no classes or no shape",
                      dir);
    }
    cl->nlut = (size_t)(cl->max_id > cl->ignore ? cl->max_id : cl->ignore) + 1;
    cl->lut = rc == EODKIT_OK ? ek_calloc(ctx, cl->nlut, sizeof *cl->lut) : NULL;
    if (rc == EODKIT_OK && cl->lut == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (i = 0; rc == EODKIT_OK && i < cl->nlut; i++) {
        cl->lut[i] = EK_CLASS_NONE;
    }
    for (i = 0; rc == EODKIT_OK && i < cl->k; i++) {
        cl->lut[cl->ids[i]] = (int32_t)i;
    }
    if (rc == EODKIT_OK && cl->ignore >= 0) {
        cl->lut[cl->ignore] = EK_CLASS_IGNORED;
    }
    if (rc != EODKIT_OK) {
        ek_classes_clear(cl);
    }
    return rc;
}

void ek_classes_clear(ek_classes *cl)
{
    free(cl->ids);
    free(cl->names);
    free(cl->lut);
    memset(cl, 0, sizeof *cl);
}

void ek_classes_colour(const ek_classes *cl, size_t i, unsigned char rgb[3])
{
    size_t pos = i;

    if (!cl->multilabel && cl->ids[i] == cl->background) {
        memset(rgb, 0, 3);
        return;
    }
    if (!cl->multilabel && cl->background < cl->ids[i]) {
        pos--; /* the background comes before it in id order */
    }
    memcpy(rgb, ek_class_palette[pos % EK_CLASS_PALETTE_SIZE], 3);
}
