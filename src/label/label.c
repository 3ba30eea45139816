/*
** Label: loading vector or raster labels and rendering class ids onto grid
** windows. The class table comes from the recipe's map, or from the values
** themselves (integer fields, sorted text values, byte rasters).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdalwarper.h>

#include "core/ek_fs.h"
#include "core/ek_strbuf.h"
#include "ek_label.h"
#include "geo/ek_vector.h"

static int add_class(eodkit_ctx *ctx, ek_labels *l, int id, const char *name)
{
    size_t i;
    ek_class *grown;

    for (i = 0; i < l->nclasses; i++) {
        if (l->classes[i].id == id) {
            return EODKIT_OK; /* several values may merge into one class */
        }
    }
    grown = ek_realloc_array(ctx, l->classes, l->nclasses + 1, sizeof *l->classes);
    if (grown == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    l->classes = grown;
    l->classes[l->nclasses].id = id;
    l->classes[l->nclasses].name = ek_strdup(ctx, name);
    if (l->classes[l->nclasses].name == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    l->nclasses++;
    if (id > l->max_id) {
        l->max_id = id;
    }
    return EODKIT_OK;
}
static int compare_class(const void *a, const void *b)
{
    return ((const ek_class *)a)->id - ((const ek_class *)b)->id;
}
/* The classes of labels.classes. A class is named by class_names, else by
   its value, or by all its values ("A + B") when several merge into it:
   naming a merged class after one of them would say it holds only that. */
static int classes_from_map(eodkit_ctx *ctx, ek_labels *l)
{
    const ek_labels_recipe *lr = l->recipe;
    size_t i, j;
    int rc = EODKIT_OK;

    for (i = 0; i < lr->nclasses && rc == EODKIT_OK; i++) {
        const ek_class_entry *c = &lr->classes[i];
        ek_strbuf name;
        char *text = NULL;

        if (c->id == lr->background || (lr->has_ignore && c->id == lr->ignore_index)) {
            continue;
        }
        ek_strbuf_init(&name, ctx);
        ek_strbuf_puts(&name, c->name != NULL ? c->name : c->value);
        for (j = i + 1; c->name == NULL && j < lr->nclasses; j++) {
            if (lr->classes[j].id == c->id) {
                ek_strbuf_printf(&name, " + %s", lr->classes[j].value);
            }
        }
        rc = ek_strbuf_detach(&name, &text);
        if (rc == EODKIT_OK) {
            rc = add_class(ctx, l, c->id, text);
        }
        free(text);
    }
    return rc;
}
static int compare_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}
/* The distinct values of FIELD of LAYER (of file PATH, recipe position
   WHERE), sorted, into *NAMES (*N of them). */
static int distinct_values(eodkit_ctx *ctx, OGRLayerH layer, const char *path,
                           const char *where, int field, char ***names, size_t *n)
{
    OGRFeatureH f;
    size_t cap = 0, i, kept = 0;
    char **v = NULL;
    int rc = EODKIT_OK;

    *n = 0;
    OGR_L_ResetReading(layer);
    while (rc == EODKIT_OK) {
        rc = ek_next_feature(ctx, layer, path, where, &f);
        if (rc != EODKIT_OK || f == NULL) {
            break;
        }
        if (OGR_F_IsFieldSetAndNotNull(f, field)) {
            rc = ek_grow(ctx, (void **)&v, &cap, *n + 1, sizeof *v);
            if (rc == EODKIT_OK) {
                v[*n] = ek_strdup(ctx, OGR_F_GetFieldAsString(f, field));
                rc = v[*n] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
                *n += rc == EODKIT_OK;
            }
        }
        OGR_F_Destroy(f);
    }
    if (rc == EODKIT_OK) {
        if (*n > 1) { /* V is NULL when no feature has a value */
            qsort(v, *n, sizeof *v, compare_text);
        }
        for (i = 0; i < *n; i++) {
            if (kept > 0 && strcmp(v[kept - 1], v[i]) == 0) {
                free(v[i]);
            } else {
                v[kept++] = v[i];
            }
        }
        *n = kept;
    }
    *names = v;
    return rc;
}
static int field_error(eodkit_ctx *ctx, const ek_recipe *r, OGRLayerH layer,
                       const char *path)
{
    const ek_labels_recipe *lr = &r->labels;
    char where[512], hint[512];

    ek_field_hint(OGR_L_GetLayerDefn(layer), lr->attribute, hint, sizeof hint);
    ek_recipe_where(r, lr->attribute_mark, where, sizeof where);
    return ek_error(ctx, EODKIT_ERR_INPUT,
                    "%s: layer '%s' has no attribute '%s'%s (%s: labels.attribute)",
                    path, OGR_L_GetName(layer), lr->attribute, hint, where);
}

/* How features become class ids (the ek_feature_fn of vector labels). */
typedef struct vector_map {
    ek_labels *l;
    int field; /* -1: every feature is class 1 */
    OGRFieldType type;
    char **names; /* sorted distinct text values, when no class map is given */
    size_t nnames;
    const char *where;
} vector_map;

/* The id feature F burns, or -1 when its value is not mapped. */
static int feature_class(const vector_map *vm, OGRFeatureH f)
{
    const ek_labels_recipe *lr = vm->l->recipe;
    size_t i;

    if (vm->field < 0) {
        return 1;
    }
    if (!OGR_F_IsFieldSetAndNotNull(f, vm->field)) {
        return -1;
    }
    if (lr->classes != NULL) {
        for (i = 0; i < lr->nclasses; i++) {
            const char *v = lr->classes[i].value;
            char *end;
            double d = strtod(v, &end);

            if (vm->type == OFTString
                    ? strcmp(OGR_F_GetFieldAsString(f, vm->field), v) == 0
                    : (end != v && *end == '\0' &&
                       OGR_F_GetFieldAsDouble(f, vm->field) == d)) {
                return lr->classes[i].id;
            }
        }
        return -1;
    }
    if (vm->type == OFTString) {
        const char *v = OGR_F_GetFieldAsString(f, vm->field);
        char **hit =
            bsearch(&v, vm->names, vm->nnames, sizeof *vm->names, compare_text);

        return hit == NULL ? -1 : (int)(hit - vm->names) + 1;
    }
    return (int)OGR_F_GetFieldAsInteger64(f, vm->field);
}

/* Tasks with objects take areas (polygons), or points given a box size;
   anything else (lines) is an error naming feature F. */
static int check_object_shape(eodkit_ctx *ctx, const vector_map *vm, OGRFeatureH f)
{
    const ek_labels_recipe *lr = vm->l->recipe;
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    OGRwkbGeometryType type = wkbFlatten(OGR_G_GetGeometryType(g));
    int point = type == wkbPoint || type == wkbMultiPoint;

    if (OGR_GT_IsSubClassOf(type, wkbCurvePolygon) ||
        OGR_GT_IsSubClassOf(type, wkbMultiSurface) || (point && lr->box_w > 0)) {
        return EODKIT_OK;
    }
    if (point) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: feature %lld is a %s: boxes around points need "
                        "labels.box_size (the box's size in CRS units) (%s)",
                        lr->source, (long long)OGR_F_GetFID(f),
                        OGRGeometryTypeToName(type), vm->where);
    }
    return ek_error(ctx, EODKIT_ERR_INPUT,
                    "%s: feature %lld is a %s: task %s takes polygons (boxes are "
                    "their bounds) or points with labels.box_size, not lines (%s)",
                    lr->source, (long long)OGR_F_GetFID(f), OGRGeometryTypeToName(type),
                    lr->task == EK_TASK_DETECTION ? "detection" : "instance",
                    vm->where);
}

static int burn_of_feature(void *arg, eodkit_ctx *ctx, OGRFeatureH f, double *burn,
                           int64_t *time)
{
    vector_map *vm = arg;
    ek_labels *l = vm->l;
    int id = feature_class(vm, f);

    (void)time;
    if (EK_TASK_HAS_OBJECTS(l->recipe->task)) {
        int rc = check_object_shape(ctx, vm, f);

        if (rc != EODKIT_OK) {
            return rc;
        }
    }
    if (id < 0) {
        l->unmapped++;
        return 0;
    }
    if (id > 65535) {
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: feature %lld has %s = %d, which cannot be a class id (0..65535); "
            "map values with labels.classes (%s)",
            l->recipe->source, (long long)OGR_F_GetFID(f), l->recipe->attribute, id,
            vm->where);
    }
    if (vm->field >= 0 && l->recipe->classes == NULL && vm->type != OFTString &&
        id != l->recipe->background) {
        char name[32];

        snprintf(name, sizeof name, "%d", id);
        if (add_class(ctx, l, id, name) != EODKIT_OK) {
            return EODKIT_ERR_NOMEM;
        }
    }
    *burn = id;
    return 1;
}

/* Up to 5 of the N TEXTS, quoted, into BUF (SIZE bytes), then ", ..." when
   there are more. */
static void some_texts(char *buf, size_t size, const char *const *texts, size_t n)
{
    size_t i, used = 0;

    buf[0] = '\0';
    for (i = 0; i < n && i < 5 && used < size; i++) {
        used += (size_t)snprintf(buf + used, size - used, "%s'%s'", i > 0 ? ", " : "",
                                 texts[i]);
    }
    if (n > 5 && used < size) {
        snprintf(buf + used, size - used, ", ...");
    }
}

/* The error for vector labels of which no feature meets the grids: the
   layer has no feature, no feature has a value (of labels.classes, when
   given) in attribute FIELD, or the labelled features lie elsewhere. */
static int no_overlap_error(eodkit_ctx *ctx, const ek_recipe *r, const ek_labels *l,
                            OGRLayerH layer, int field)
{
    const ek_labels_recipe *lr = &r->labels;
    char where[512], seen[512], wanted[512];
    const char **classes = NULL;
    char **values = NULL;
    size_t nvalues = 0, i;
    int rc;

    if (l->shapes->n > 0) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: no label feature overlaps the imagery (its %zu labelled "
                        "features all lie outside it; %s: labels.source)",
                        lr->source, l->shapes->n,
                        ek_recipe_where(r, lr->source_mark, where, sizeof where));
    }
    if (l->unmapped == 0) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: layer '%s' has no feature with a geometry (%s: "
                        "labels.source)",
                        lr->source, OGR_L_GetName(layer),
                        ek_recipe_where(r, lr->source_mark, where, sizeof where));
    }
    if (lr->classes == NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: none of its %zu features has a value in attribute '%s' "
                        "(all are null) (%s: labels.attribute)",
                        lr->source, l->unmapped, lr->attribute,
                        ek_recipe_where(r, lr->attribute_mark, where, sizeof where));
    }
    ek_recipe_where(r, lr->source_mark, where, sizeof where);
    classes = ek_calloc(ctx, lr->nclasses, sizeof *classes);
    rc = classes == NULL
             ? EODKIT_ERR_NOMEM
             : distinct_values(ctx, layer, lr->source, where, field, &values, &nvalues);
    if (rc == EODKIT_OK) {
        for (i = 0; i < lr->nclasses; i++) {
            classes[i] = lr->classes[i].value;
        }
        some_texts(seen, sizeof seen, (const char *const *)values, nvalues);
        some_texts(wanted, sizeof wanted, classes, lr->nclasses);
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: none of its %zu features has a value of labels.classes: "
                      "attribute '%s' holds %s, classes lists %s (%s: labels.classes)",
                      lr->source, l->unmapped, lr->attribute,
                      nvalues > 0 ? seen : "only null values", wanted,
                      ek_recipe_where(r, lr->classes_mark, where, sizeof where));
    }
    ek_fs_free_list(values, nvalues);
    free(classes);
    return rc;
}

static int open_vector(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                       ek_labels *l, GDALDatasetH ds)
{
    const ek_labels_recipe *lr = &r->labels;
    OGRLayerH layer;
    OGRFeatureDefnH defn;
    vector_map vm;
    char where[512];
    size_t i;
    int rc = EODKIT_OK;

    memset(&vm, 0, sizeof vm);
    vm.l = l;
    vm.field = -1;
    vm.type = OFTInteger;
    vm.where = where;
    ek_recipe_where(r, lr->source_mark, where, sizeof where);
    layer = lr->layer != NULL ? GDALDatasetGetLayerByName(ds, lr->layer)
                              : GDALDatasetGetLayer(ds, 0);
    if (layer == NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: has no layer '%s' (%s: labels.layer)", lr->source,
                        lr->layer ? lr->layer : "", where);
    }
    defn = OGR_L_GetLayerDefn(layer);
    if (lr->attribute != NULL) {
        vm.field = OGR_FD_GetFieldIndex(defn, lr->attribute);
        if (vm.field < 0) {
            return field_error(ctx, r, layer, lr->source);
        }
        vm.type = OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, vm.field));
    } else if (lr->classes != NULL) {
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: labels.classes needs labels.attribute (the field holding the "
            "values)",
            where);
    }
    /* The class table. */
    if (lr->classes != NULL) {
        rc = classes_from_map(ctx, l);
    } else if (vm.field < 0) {
        rc = add_class(ctx, l, 1, OGR_L_GetName(layer));
    } else if (vm.type == OFTString) {
        rc = distinct_values(ctx, layer, lr->source, where, vm.field, &vm.names,
                             &vm.nnames);
        for (i = 0; rc == EODKIT_OK && i < vm.nnames; i++) {
            rc = add_class(ctx, l, (int)i + 1, vm.names[i]);
        }
    } else if (vm.type != OFTInteger && vm.type != OFTInteger64) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: attribute '%s' holds %s values; map them to class ids with "
                      "labels.classes (%s)",
                      lr->source, lr->attribute, OGR_GetFieldTypeName(vm.type), where);
    }
    if (rc == EODKIT_OK) {
        rc = ek_shapes_load(ctx, p, layer, lr->source, where, 0, burn_of_feature, &vm,
                            &l->shapes);
    }
    if (rc == EODKIT_OK && lr->box_w > 0) {
        rc = ek_shapes_boxes_around_points(ctx, l->shapes, p, lr->box_w, lr->box_h);
    }
    if (rc == EODKIT_OK) {
        l->max_object = (uint32_t)l->shapes->nread;
        l->object_dtype = l->max_object > 65535 ? GDT_UInt32 : GDT_UInt16;
    }
    ek_fs_free_list(vm.names, vm.nnames);
    if (rc == EODKIT_OK && ek_shapes_on_grids(l->shapes, p) == 0) {
        rc = no_overlap_error(ctx, r, l, layer, vm.field);
    }
    return rc;
}

/* labels.classes of a label raster: sorted values and their ids. */
static int raster_map(eodkit_ctx *ctx, const ek_recipe *r, ek_labels *l)
{
    const ek_labels_recipe *lr = &r->labels;
    char where[512];
    size_t i, j;

    l->nmap = lr->nclasses;
    l->map_values = ek_calloc(ctx, l->nmap, sizeof *l->map_values);
    l->map_ids = ek_calloc(ctx, l->nmap, sizeof *l->map_ids);
    if (l->map_values == NULL || l->map_ids == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < l->nmap; i++) {
        char *end;
        double v = strtod(lr->classes[i].value, &end);

        if (end == lr->classes[i].value || *end != '\0') {
            return ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: labels.classes: '%s' is not a pixel value of a label raster",
                ek_recipe_where(r, lr->classes_mark, where, sizeof where),
                lr->classes[i].value);
        }
        /* insertion sort keeps values and ids together; maps are short */
        for (j = i; j > 0 && l->map_values[j - 1] > v; j--) {
            l->map_values[j] = l->map_values[j - 1];
            l->map_ids[j] = l->map_ids[j - 1];
        }
        l->map_values[j] = v;
        l->map_ids[j] = lr->classes[i].id;
    }
    return classes_from_map(ctx, l);
}

int ek_labels_raster_band(eodkit_ctx *ctx, const ek_recipe *r, ek_labels *l)
{
    const ek_labels_recipe *lr = &r->labels;
    char where[512];

    l->band = 1;
    if (lr->attribute != NULL) {
        char *end;
        long band = strtol(lr->attribute, &end, 10);

        if (end == lr->attribute || *end != '\0' || band < 1) {
            return ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: labels.attribute of a label raster is its band number, not "
                "'%s'",
                ek_recipe_where(r, lr->attribute_mark, where, sizeof where),
                lr->attribute);
        }
        l->band = (int)band;
    }
    if (l->band > l->source.band_count) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: has no band %d (it has %d) (%s)",
                        l->source.path, l->band, l->source.band_count,
                        ek_recipe_where(r, lr->source_mark, where, sizeof where));
    }
    return EODKIT_OK;
}

static int open_raster(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                       int source_id, ek_labels *l)
{
    const ek_labels_recipe *lr = &r->labels;
    char where[512];
    size_t g;
    int rc, overlaps = 0;

    ek_recipe_where(r, lr->source_mark, where, sizeof where);
    rc = ek_source_inspect(ctx, lr->source, where, NULL, &l->source);
    if (rc != EODKIT_OK) {
        return rc;
    }
    l->source.id = source_id;
    rc = ek_labels_raster_band(ctx, r, l);
    if (rc != EODKIT_OK) {
        return rc;
    }
    if (lr->classes != NULL) {
        rc = raster_map(ctx, r, l);
    } else if (l->source.dtype == GDT_Byte) {
        l->discover = 1;
        l->max_id = 255;
    } else {
        rc = ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: a %s label raster needs labels.classes to map its values to class "
            "ids (%s)",
            lr->source, GDALGetDataTypeName(l->source.dtype), where);
    }
    if (rc == EODKIT_OK && l->discover && lr->task == EK_TASK_MULTILABEL) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: task multilabel needs labels.classes (the classes to mark)",
                      where);
    }
    l->placements =
        rc == EODKIT_OK ? ek_calloc(ctx, p->ngrids, sizeof *l->placements) : NULL;
    if (rc == EODKIT_OK && l->placements == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (g = 0; g < p->ngrids && rc == EODKIT_OK; g++) {
        const ek_placement *pl = &l->placements[g];

        rc = ek_source_place(ctx, &p->grids[g], &l->source, &l->placements[g]);
        overlaps |= pl->gx1 > 0 && pl->gx0 < p->grids[g].width && pl->gy1 > 0 &&
                    pl->gy0 < p->grids[g].height;
    }
    if (rc == EODKIT_OK && !overlaps) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: the label raster does not overlap the imagery (%s)",
                      lr->source, where);
    }
    return rc;
}

int ek_labels_open_source(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                          int source_id, ek_labels **out)
{
    const ek_labels_recipe *lr = &r->labels;
    GDALDatasetH ds = NULL;
    ek_labels *l;
    char where[512];
    int rc;

    *out = NULL;
    l = ek_calloc(ctx, 1, sizeof *l);
    if (l == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    l->recipe = lr;
    l->max_id = lr->background;
    if (lr->has_ignore && lr->ignore_index > l->max_id) {
        l->max_id = lr->ignore_index;
    }
    ek_recipe_where(r, lr->source_mark, where, sizeof where);
    if (!ek_fs_exists(lr->source)) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: no such file (%s: labels.source)",
                      lr->source, where);
        goto out;
    }
    ds = GDALOpenEx(lr->source, GDAL_OF_VECTOR | GDAL_OF_RASTER | GDAL_OF_READONLY,
                    NULL, NULL, NULL);
    if (ds == NULL) {
        rc = ek_error_gdal(ctx, "%s: GDAL cannot read it (%s: labels.source)",
                           lr->source, where);
        goto out;
    }
    if (GDALDatasetGetLayerCount(ds) > 0) {
        rc = lr->has_ignore
                 ? ek_error(ctx, EODKIT_ERR_INPUT,
                            "%s: labels.ignore_index is for label rasters; features "
                            "whose value is not in labels.classes are skipped",
                            where)
                 : open_vector(ctx, r, p, l, ds);
    } else if (EK_TASK_HAS_OBJECTS(lr->task)) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: a raster; task %s needs vector labels (polygons, or "
                      "points with labels.box_size) (%s: labels.source)",
                      lr->source,
                      lr->task == EK_TASK_DETECTION ? "detection" : "instance", where);
    } else {
        l->is_raster = 1;
        rc = open_raster(ctx, r, p, source_id, l);
    }
    if (rc == EODKIT_OK) {
        /* a Byte raster without labels.classes has no class table yet */
        if (l->nclasses > 1) {
            qsort(l->classes, l->nclasses, sizeof *l->classes, compare_class);
        }
        l->dtype = l->max_id > 255 ? GDT_UInt16 : GDT_Byte;
        l->plane_type = l->dtype;
    }
out:
    if (ds != NULL) {
        GDALClose(ds);
    }
    if (rc != EODKIT_OK) {
        ek_labels_free(l);
        return rc;
    }
    *out = l;
    return EODKIT_OK;
}

int ek_labels_add_class(eodkit_ctx *ctx, ek_labels *l, int id, const char *name)
{
    return add_class(ctx, l, id, name);
}

int ek_labels_map_classes(eodkit_ctx *ctx, ek_labels *l)
{
    return classes_from_map(ctx, l);
}

int ek_labels_open(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p, int source_id,
                   ek_labels **out)
{
    const ek_labels_recipe *lr = &r->labels;
    ek_labels *l;
    int rc;

    if (lr->table.path == NULL && lr->task != EK_TASK_REGRESSION &&
        lr->task != EK_TASK_CHANGE) {
        return ek_labels_open_source(ctx, r, p, source_id, out);
    }
    *out = NULL;
    l = ek_calloc(ctx, 1, sizeof *l);
    if (l == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    l->recipe = lr;
    rc = lr->table.path != NULL           ? ek_table_open(ctx, r, p, l)
         : lr->task == EK_TASK_REGRESSION ? ek_target_open(ctx, r, p, source_id, l)
                                          : ek_change_open(ctx, r, p, source_id, l);
    if (rc != EODKIT_OK) {
        ek_labels_free(l);
        return rc;
    }
    if (l->nclasses > 1) {
        qsort(l->classes, l->nclasses, sizeof *l->classes, compare_class);
    }
    *out = l;
    return EODKIT_OK;
}

void ek_labels_free(ek_labels *l)
{
    size_t i;

    if (l == NULL) {
        return;
    }
    ek_change_free(l->change);
    ek_table_free(l->table);
    ek_shapes_free(l->shapes);
    for (i = 0; i < l->nclasses; i++) {
        free(l->classes[i].name);
    }
    free(l->classes);
    ek_source_clear(&l->source);
    free(l->placements);
    free(l->map_values);
    free(l->map_ids);
    free(l);
}

/* Class id of raster value V: mapped, or (without a map) V itself; values
   outside the map get the ignore index, or the background. */
static int class_of_value(const ek_labels *l, double v)
{
    size_t lo = 0, hi = l->nmap;

    if (l->nmap == 0) {
        return (int)v;
    }
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (l->map_values[mid] < v) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < l->nmap && l->map_values[lo] == v) {
        return l->map_ids[lo];
    }
    return l->recipe->has_ignore ? l->recipe->ignore_index : l->recipe->background;
}

int ek_labels_render(eodkit_ctx *ctx, const ek_labels *l, const ek_plan *p, size_t g,
                     const ek_window *w, ek_reader *reader, void *raw,
                     uint8_t *raw_valid, void *out)
{
    size_t plane = (size_t)w->w * (size_t)w->h, px;
    const ek_source *src = &l->source;
    const ek_placement *pl;
    ek_read_request req;
    int rc;

    if (l->change != NULL) {
        return ek_change_render(ctx, l, p, g, w, reader, raw, raw_valid, out, NULL);
    }
    if (l->table != NULL) {
        ek_table_render(l, p, g, w, out);
        return EODKIT_OK;
    }
    if (l->regression) {
        return ek_target_render(ctx, l, p, g, w, reader, raw_valid, out);
    }
    if (!l->is_raster) { /* burnt over the background */
        for (px = 0; px < plane; px++) {
            ek_pixel_set(out, l->dtype, px, l->recipe->background);
        }
        return ek_shapes_render(ctx, l->shapes, p, g, w, l->dtype, out,
                                l->recipe->all_touched, NULL);
    }
    pl = &l->placements[g];
    memset(&req, 0, sizeof req);
    req.grid = &p->grids[g];
    req.sources = &src;
    req.placements = &pl;
    req.nsources = 1;
    req.bands = &l->band;
    req.nbands = 1;
    req.dtype = req.read_type = src->dtype;
    req.resampling = GRA_NearestNeighbour;
    req.has_nodata = src->has_nodata;
    req.nodata = src->nodata;
    req.error_threshold = p->recipe->error_threshold;
    rc = ek_reader_read(ctx, reader, &req, w, raw, raw_valid);
    for (px = 0; rc == EODKIT_OK && px < plane; px++) {
        /* pixels the raster does not label (its nodata, or outside it) are
           ignored when there is an ignore index, else background */
        int id = raw_valid[px] ? class_of_value(l, ek_pixel_get(raw, src->dtype, px))
                 : l->recipe->has_ignore ? l->recipe->ignore_index
                                         : l->recipe->background;

        ek_pixel_set(out, l->dtype, px, id);
    }
    return rc;
}
