/*
** Label: loading vector or raster labels and rendering class ids onto grid
** windows. Geometries are transformed to the grid CRS once, at load; each
** window rasterises only the features a quadtree finds under it.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>
#include <gdal_alg.h>
#include <gdalwarper.h>

#include "core/ek_fs.h"
#include "ek_label.h"

struct ek_label_worker {
    const ek_labels *labels;
    const ek_plan *plan;
    GDALDriverH mem;
    ek_reader *reader;  /* raster labels */
    unsigned char *raw; /* raster label values before remapping */
    uint8_t *raw_valid;
};

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

/* Class table from the recipe's map: names from class_names or the value. */
static int classes_from_map(eodkit_ctx *ctx, ek_labels *l)
{
    const ek_labels_recipe *lr = l->recipe;
    size_t i, j;

    for (i = 0; i < lr->nclasses; i++) {
        const ek_class_entry *c = &lr->classes[i];
        const char *name = c->name;

        if (c->id == lr->background) {
            continue;
        }
        for (j = 0; name == NULL && j < lr->nclasses; j++) {
            if (lr->classes[j].id == c->id) {
                name = lr->classes[j].name;
            }
        }
        if (add_class(ctx, l, c->id, name != NULL ? name : c->value) != EODKIT_OK) {
            return EODKIT_ERR_NOMEM;
        }
    }
    return EODKIT_OK;
}

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The id a feature burns, or -1 when its value is not mapped. */
static int feature_class(const ek_labels *l, OGRFeatureH f, int field,
                         OGRFieldType type, char **names, size_t nnames)
{
    const ek_labels_recipe *lr = l->recipe;
    size_t i;

    if (field < 0) {
        return 1;
    }
    if (!OGR_F_IsFieldSetAndNotNull(f, field)) {
        return -1;
    }
    if (lr->classes != NULL) {
        for (i = 0; i < lr->nclasses; i++) {
            const char *v = lr->classes[i].value;
            char *end;
            double d = strtod(v, &end);

            if (type == OFTString ? strcmp(OGR_F_GetFieldAsString(f, field), v) == 0
                                  : (end != v && *end == '\0' &&
                                     OGR_F_GetFieldAsDouble(f, field) == d)) {
                return lr->classes[i].id;
            }
        }
        return -1;
    }
    if (type == OFTString) {
        const char *v = OGR_F_GetFieldAsString(f, field);
        char **hit = bsearch(&v, names, nnames, sizeof *names, compare_text);

        return hit == NULL ? -1 : (int)(hit - names) + 1;
    }
    return (int)OGR_F_GetFieldAsInteger64(f, field);
}

/* Sorted distinct values of string FIELD: the classes when no map is given. */
static int distinct_values(eodkit_ctx *ctx, OGRLayerH layer, int field, char ***names,
                           size_t *n)
{
    OGRFeatureH f;
    size_t cap = 0, i, kept = 0;
    char **v = NULL;
    int rc = EODKIT_OK;

    *n = 0;
    OGR_L_ResetReading(layer);
    while (rc == EODKIT_OK && (f = OGR_L_GetNextFeature(layer)) != NULL) {
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
        qsort(v, *n, sizeof *v, compare_text);
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
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    int i, n = OGR_FD_GetFieldCount(defn);
    const char **names = calloc((size_t)n + 1, sizeof *names);
    char list[512] = "";
    size_t used = 0;
    const char *near;
    char where[512];

    for (i = 0; i < n; i++) {
        names[i] = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i));
        if (used < sizeof list) {
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                     i ? ", " : "", names[i]);
        }
    }
    near = names == NULL ? NULL : ek_nearest_word(lr->attribute, names, (size_t)n);
    ek_recipe_where(r, lr->attribute_mark, where, sizeof where);
    if (near != NULL) {
        ek_error(ctx, EODKIT_ERR_INPUT,
                 "%s: layer '%s' has no attribute '%s' (did you mean '%s'?) (%s: "
                 "labels.attribute)",
                 path, OGR_L_GetName(layer), lr->attribute, near, where);
    } else {
        ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: layer '%s' has no attribute '%s'; it has: %s (%s: labels.attribute)",
            path, OGR_L_GetName(layer), lr->attribute, list, where);
    }
    free(names);
    return EODKIT_ERR_INPUT;
}

static int open_vector(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                       ek_labels *l, GDALDatasetH ds)
{
    const ek_labels_recipe *lr = &r->labels;
    const ek_grid *g = &p->grid;
    OGRLayerH layer;
    OGRFeatureDefnH defn;
    OGRFieldType type = OFTInteger;
    OGRSpatialReferenceH lsrs;
    OGRCoordinateTransformationH ct = NULL;
    OGRFeatureH f;
    CPLRectObj grid_rect;
    char **names = NULL;
    size_t nnames = 0, cap = 0, i;
    char where[512];
    int field = -1, rc = EODKIT_OK;

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
        field = OGR_FD_GetFieldIndex(defn, lr->attribute);
        if (field < 0) {
            return field_error(ctx, r, layer, lr->source);
        }
        type = OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, field));
    } else if (lr->classes != NULL) {
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: labels.classes needs labels.attribute (the field holding the "
            "values)",
            where);
    }
    lsrs = OGR_L_GetSpatialRef(layer);
    if (lsrs == NULL) {
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: the label layer has no CRS; assign one with ogr2ogr -a_srs "
            "(%s)",
            lr->source, where);
    }
    lsrs = OSRClone(lsrs);
    OSRSetAxisMappingStrategy(lsrs, OAMS_TRADITIONAL_GIS_ORDER);
    ct = OCTNewCoordinateTransformation(lsrs, g->srs);
    OSRDestroySpatialReference(lsrs);
    if (ct == NULL) {
        return ek_error_gdal(ctx,
                             "%s: cannot transform the labels to the grid CRS (%s)",
                             lr->source, where);
    }

    /* The class table. */
    if (lr->classes != NULL) {
        rc = classes_from_map(ctx, l);
    } else if (field < 0) {
        rc = add_class(ctx, l, 1, OGR_L_GetName(layer));
    } else if (type == OFTString) {
        rc = distinct_values(ctx, layer, field, &names, &nnames);
        for (i = 0; rc == EODKIT_OK && i < nnames; i++) {
            rc = add_class(ctx, l, (int)i + 1, names[i]);
        }
    } else if (type != OFTInteger && type != OFTInteger64) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: attribute '%s' holds %s values; map them to class ids with "
                      "labels.classes (%s)",
                      lr->source, lr->attribute, OGR_GetFieldTypeName(type), where);
    }

    /* Every feature with a class, in feature order, in the grid CRS. */
    OGR_L_ResetReading(layer);
    while (rc == EODKIT_OK && (f = OGR_L_GetNextFeature(layer)) != NULL) {
        OGRGeometryH geom = OGR_F_GetGeometryRef(f);
        int id = feature_class(l, f, field, type, names, nnames);

        if (geom != NULL && id < 0) {
            l->unmapped++;
        } else if (geom != NULL && id > 65535) {
            rc = ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: feature %lld has %s = %d, which cannot be a class id (0..65535); "
                "map values with labels.classes (%s)",
                lr->source, (long long)OGR_F_GetFID(f), lr->attribute, id, where);
        } else if (geom != NULL) {
            rc =
                ek_grow(ctx, (void **)&l->geoms, &cap, l->ngeoms + 1, sizeof *l->geoms);
            if (rc == EODKIT_OK) {
                double *burn = ek_realloc_array(ctx, l->burn, cap, sizeof *l->burn);

                rc = burn == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
                l->burn = burn != NULL ? burn : l->burn;
            }
            if (rc == EODKIT_OK) {
                OGRGeometryH copy = OGR_G_Clone(geom);

                if (OGR_G_Transform(copy, ct) != OGRERR_NONE) {
                    OGR_G_DestroyGeometry(copy);
                    rc = ek_error_gdal(ctx,
                                       "%s: feature %lld cannot be transformed to the "
                                       "grid CRS",
                                       lr->source, (long long)OGR_F_GetFID(f));
                } else {
                    l->geoms[l->ngeoms] = copy;
                    l->burn[l->ngeoms] = id;
                    l->ngeoms++;
                    if (field >= 0 && lr->classes == NULL && type != OFTString &&
                        id != lr->background) {
                        char name[32];

                        snprintf(name, sizeof name, "%d", id);
                        rc = add_class(ctx, l, id, name);
                    }
                }
            }
        }
        OGR_F_Destroy(f);
    }
    OCTDestroyCoordinateTransformation(ct);
    ek_fs_free_list(names, nnames);
    if (rc != EODKIT_OK) {
        return rc;
    }

    /* Index the features and check they touch the grid at all. */
    grid_rect.minx = g->gt[0];
    grid_rect.maxx = g->gt[0] + g->width * g->gt[1];
    grid_rect.maxy = g->gt[3];
    grid_rect.miny = g->gt[3] + g->height * g->gt[5];
    l->tree = CPLQuadTreeCreate(&grid_rect, NULL);
    for (i = 0; i < l->ngeoms; i++) {
        OGREnvelope e;
        CPLRectObj rect;

        OGR_G_GetEnvelope(l->geoms[i], &e);
        rect.minx = e.MinX, rect.miny = e.MinY, rect.maxx = e.MaxX, rect.maxy = e.MaxY;
        if (rect.maxx >= grid_rect.minx && rect.minx <= grid_rect.maxx &&
            rect.maxy >= grid_rect.miny && rect.miny <= grid_rect.maxy) {
            CPLQuadTreeInsertWithBounds(l->tree, (void *)(intptr_t)(i + 1), &rect);
        }
    }
    {
        int hits = 0;
        void **found = CPLQuadTreeSearch(l->tree, &grid_rect, &hits);

        CPLFree(found);
        if (hits == 0) {
            return ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: no label feature overlaps the imagery (%s: labels.source)",
                lr->source, where);
        }
    }
    return EODKIT_OK;
}

static int open_raster(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                       ek_labels *l)
{
    const ek_labels_recipe *lr = &r->labels;
    const ek_grid *g = &p->grid;
    char where[512];
    size_t i, j;
    int rc;

    ek_recipe_where(r, lr->source_mark, where, sizeof where);
    rc = ek_source_inspect(ctx, lr->source, where, &l->source);
    if (rc != EODKIT_OK) {
        return rc;
    }
    l->band = 1;
    if (lr->attribute != NULL) {
        char *end;
        long band = strtol(lr->attribute, &end, 10);

        if (end == lr->attribute || *end != '\0' || band < 1) {
            return ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: labels.attribute of a label raster is its band number, "
                "not '%s'",
                ek_recipe_where(r, lr->attribute_mark, where, sizeof where),
                lr->attribute);
        }
        l->band = (int)band;
    }
    if (l->band > l->source.band_count) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: has no band %d (it has %d) (%s)",
                        lr->source, l->band, l->source.band_count, where);
    }
    if (lr->classes != NULL) {
        l->nmap = lr->nclasses;
        l->map_values = ek_calloc(ctx, l->nmap, sizeof *l->map_values);
        l->map_ids = ek_calloc(ctx, l->nmap, sizeof *l->map_ids);
        if (l->map_values == NULL || l->map_ids == NULL) {
            return EODKIT_ERR_NOMEM;
        }
        /* Insertion sort keeps values and ids together; maps are short. */
        for (i = 0; i < l->nmap; i++) {
            char *end;
            double v = strtod(lr->classes[i].value, &end);

            if (end == lr->classes[i].value || *end != '\0') {
                return ek_error(
                    ctx, EODKIT_ERR_INPUT,
                    "%s: labels.classes: '%s' is not a pixel value of a label "
                    "raster",
                    ek_recipe_where(r, lr->classes_mark, where, sizeof where),
                    lr->classes[i].value);
            }
            for (j = i; j > 0 && l->map_values[j - 1] > v; j--) {
                l->map_values[j] = l->map_values[j - 1];
                l->map_ids[j] = l->map_ids[j - 1];
            }
            l->map_values[j] = v;
            l->map_ids[j] = lr->classes[i].id;
        }
        rc = classes_from_map(ctx, l);
    } else if (l->source.dtype == GDT_Byte) {
        l->discover = 1;
        l->max_id = 255;
    } else {
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: a %s label raster needs labels.classes to map its values to "
            "class ids (%s)",
            lr->source, GDALGetDataTypeName(l->source.dtype), where);
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    rc = ek_source_place(ctx, g, &l->source);
    if (rc != EODKIT_OK) {
        return rc;
    }
    if (l->source.gx1 <= 0 || l->source.gx0 >= g->width || l->source.gy1 <= 0 ||
        l->source.gy0 >= g->height) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: the label raster does not overlap the imagery (%s)",
                        lr->source, where);
    }
    l->spec.sources = &l->source;
    l->spec.nsources = 1;
    l->spec.bands = &l->band;
    l->spec.nbands = 1;
    l->spec.dtype = l->source.dtype;
    l->spec.resampling = GRA_NearestNeighbour;
    l->spec.has_nodata = l->source.has_nodata;
    l->spec.nodata = l->source.nodata;
    l->spec.error_threshold = r->error_threshold;
    return EODKIT_OK;
}

int ek_labels_open(eodkit_ctx *ctx, const ek_recipe *r, const ek_plan *p,
                   ek_labels **out)
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
        rc = open_vector(ctx, r, p, l, ds);
    } else {
        l->is_raster = 1;
        rc = open_raster(ctx, r, p, l);
    }
    if (rc == EODKIT_OK) {
        qsort(l->classes, l->nclasses, sizeof *l->classes, compare_class);
        l->dtype = l->max_id > 255 ? GDT_UInt16 : GDT_Byte;
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

void ek_labels_free(ek_labels *l)
{
    size_t i;

    if (l == NULL) {
        return;
    }
    for (i = 0; i < l->ngeoms; i++) {
        OGR_G_DestroyGeometry(l->geoms[i]);
    }
    free(l->geoms);
    free(l->burn);
    if (l->tree != NULL) {
        CPLQuadTreeDestroy(l->tree);
    }
    for (i = 0; i < l->nclasses; i++) {
        free(l->classes[i].name);
    }
    free(l->classes);
    ek_source_clear(&l->source);
    free(l->map_values);
    free(l->map_ids);
    free(l);
}

int ek_label_worker_new(eodkit_ctx *ctx, const ek_labels *l, const ek_plan *p,
                        ek_label_worker **out)
{
    ek_label_worker *w = ek_calloc(ctx, 1, sizeof *w);
    ek_window unit = ek_plan_unit_window(p, 0);
    size_t plane = (size_t)unit.w * (size_t)unit.h;
    int rc = EODKIT_OK;

    *out = NULL;
    if (w == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    w->labels = l;
    w->plan = p;
    w->mem = GDALGetDriverByName("MEM");
    if (l->is_raster) {
        w->raw = ek_calloc(ctx, plane, (size_t)GDALGetDataTypeSizeBytes(l->spec.dtype));
        w->raw_valid = ek_calloc(ctx, plane, 1);
        rc = w->raw == NULL || w->raw_valid == NULL
                 ? EODKIT_ERR_NOMEM
                 : ek_reader_new(ctx, &l->spec, &p->grid, unit.w, unit.h, &w->reader);
    }
    if (rc != EODKIT_OK) {
        ek_label_worker_free(w);
        return rc;
    }
    *out = w;
    return EODKIT_OK;
}

void ek_label_worker_free(ek_label_worker *w)
{
    if (w == NULL) {
        return;
    }
    ek_reader_free(w->reader);
    free(w->raw);
    free(w->raw_valid);
    free(w);
}

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
    return lo < l->nmap && l->map_values[lo] == v ? l->map_ids[lo]
                                                  : l->recipe->background;
}

static int render_raster(eodkit_ctx *ctx, ek_label_worker *w, const ek_window *win,
                         void *out)
{
    const ek_labels *l = w->labels;
    size_t plane = (size_t)win->w * (size_t)win->h, px;
    int rc = ek_reader_read(ctx, w->reader, win, w->raw, w->raw_valid);

    if (rc != EODKIT_OK) {
        return rc;
    }
    for (px = 0; px < plane; px++) {
        int id = w->raw_valid[px]
                     ? class_of_value(l, ek_pixel_get(w->raw, l->spec.dtype, px))
                     : l->recipe->background;

        ek_pixel_set(out, l->dtype, px, id);
    }
    return EODKIT_OK;
}

static int compare_index(const void *a, const void *b)
{
    intptr_t x = (intptr_t) * (void *const *)a, y = (intptr_t) * (void *const *)b;

    return (x > y) - (x < y);
}

static int render_vector(eodkit_ctx *ctx, ek_label_worker *w, const ek_window *win,
                         void *out)
{
    const ek_labels *l = w->labels;
    const ek_grid *g = &w->plan->grid;
    size_t plane = (size_t)win->w * (size_t)win->h, px;
    CPLRectObj rect;
    void **found = NULL;
    OGRGeometryH *geoms = NULL;
    double *burn = NULL, gt[6];
    GDALDatasetH ds = NULL;
    char option[64];
    char *band_options[2] = {option, NULL};
    char **options = NULL;
    int band = 1, n = 0, i, rc = EODKIT_OK;

    for (px = 0; px < plane; px++) {
        ek_pixel_set(out, l->dtype, px, l->recipe->background);
    }
    ek_grid_window_gt(g, win, gt);
    rect.minx = gt[0];
    rect.maxx = gt[0] + win->w * gt[1];
    rect.maxy = gt[3];
    rect.miny = gt[3] + win->h * gt[5];
    found = CPLQuadTreeSearch(l->tree, &rect, &n);
    if (n == 0) {
        goto out;
    }
    /* Burn in feature order, as gdal_rasterize does. */
    qsort(found, (size_t)n, sizeof *found, compare_index);
    geoms = ek_calloc(ctx, (size_t)n, sizeof *geoms);
    burn = ek_calloc(ctx, (size_t)n, sizeof *burn);
    if (geoms == NULL || burn == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        size_t k = (size_t)(intptr_t)found[i] - 1;

        geoms[i] = l->geoms[k];
        burn[i] = l->burn[k];
    }
    ds = GDALCreate(w->mem, "", win->w, win->h, 0, l->dtype, NULL);
    if (ds == NULL) {
        rc = ek_error_gdal(ctx, "cannot create a MEM dataset");
        goto out;
    }
    snprintf(option, sizeof option, "DATAPOINTER=%p", out);
    GDALAddBand(ds, l->dtype, band_options);
    GDALSetGeoTransform(ds, gt);
    if (l->recipe->all_touched) {
        options = CSLSetNameValue(options, "ALL_TOUCHED", "TRUE");
    }
    if (GDALRasterizeGeometries(ds, 1, &band, n, geoms, NULL, NULL, burn, options, NULL,
                                NULL) != CE_None) {
        rc = ek_error_gdal(ctx, "%s: rasterising labels failed", l->recipe->source);
    }
out:
    CSLDestroy(options);
    if (ds != NULL) {
        GDALClose(ds);
    }
    CPLFree(found);
    free(geoms);
    free(burn);
    return rc;
}

int ek_labels_render(eodkit_ctx *ctx, ek_label_worker *w, const ek_window *win,
                     void *out)
{
    return w->labels->is_raster ? render_raster(ctx, w, win, out)
                                : render_vector(ctx, w, win, out);
}
