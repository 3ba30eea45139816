/*
** Export: COCO JSON (the object detection format of cocodataset.org). One
** document per split: the chips as images (with their georeference in an
** "eodkit" member), the dataset's classes as categories, the objects as
** annotations; instance masks as polygons (GDAL's polygoniser over the
** mask's pixel edges) or as uncompressed RLE (column-major run lengths).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdal.h>
#include <gdal_alg.h>
#include <ogr_api.h>

#include "ek_export.h"

json_t *ek_coco_new(const ek_export *e, const char *split)
{
    json_t *categories = json_array();
    const char *title = json_string_value(json_object_get(e->cs->collection, "title"));
    const char *license =
        json_string_value(json_object_get(e->cs->collection, "license"));
    size_t i;

    for (i = 0; i < e->cl.k; i++) {
        if (e->cl.ids[i] != e->cl.background) {
            json_array_append_new(
                categories, json_pack("{s:i, s:s, s:s}", "id", (int)e->cl.ids[i],
                                      "name", e->cl.names[i], "supercategory", ""));
        }
    }
    return json_pack("{s:{s:s, s:s, s:s, s:s}, s:[{s:i, s:s}], s:o, s:[], s:[]}",
                     "info", "description", title != NULL ? title : "", "split", split,
                     "task", e->cl.task, "dataset", e->cs->dir, "licenses", "id", 1,
                     "name", license != NULL ? license : "", "categories", categories,
                     "images", "annotations");
}

/* COCO's uncompressed RLE of BITS (h x w, row-major): run lengths of 0s
   and 1s in column-major order, starting with 0s. */
static json_t *rle_json(const ek_export *e, const uint8_t *bits)
{
    json_t *counts = json_array();
    int64_t x, y, run = 0;
    uint8_t current = 0;

    for (x = 0; x < e->w; x++) {
        for (y = 0; y < e->h; y++) {
            uint8_t v = bits[y * e->w + x];

            if (v != current) {
                json_array_append_new(counts, json_integer(run));
                run = 0;
                current = v;
            }
            run++;
        }
    }
    json_array_append_new(counts, json_integer(run));
    return json_pack("{s:[I, I], s:o}", "size", (json_int_t)e->h, (json_int_t)e->w,
                     "counts", counts);
}

/* The outlines of BITS (h x w) as COCO polygons, [[x1, y1, x2, y2, ...],
   ...] along pixel edges; *HOLES is set when an outline has a hole (which
   COCO polygons cannot hold). */
static int polygons_json(ek_export *e, uint8_t *bits, json_t **out, int *holes)
{
    GDALDatasetH raster = NULL, vector = NULL;
    GDALRasterBandH band;
    OGRLayerH layer;
    OGRFeatureH f;
    char option[64];
    char *band_options[2] = {option, NULL};
    double gt[6] = {0, 1, 0, 0, 0, 1};
    int rc = EODKIT_OK;

    *out = json_array();
    *holes = 0;
    raster = GDALCreate(GDALGetDriverByName("MEM"), "", (int)e->w, (int)e->h, 0,
                        GDT_Byte, NULL);
    vector = GDALCreate(GDALGetDriverByName("Memory"), "", 0, 0, 0, GDT_Unknown, NULL);
    if (raster == NULL || vector == NULL) {
        rc = ek_error_gdal(e->ctx, "cannot make in-memory datasets");
        goto out;
    }
    snprintf(option, sizeof option, "DATAPOINTER=%p", (void *)bits);
    GDALAddBand(raster, GDT_Byte, band_options);
    GDALSetGeoTransform(raster, gt);
    band = GDALGetRasterBand(raster, 1);
    layer = GDALDatasetCreateLayer(vector, "mask", NULL, wkbPolygon, NULL);
    if (layer == NULL ||
        GDALPolygonize(band, band, layer, -1, NULL, NULL, NULL) != CE_None) {
        rc = ek_error_gdal(e->ctx, "cannot trace an instance mask");
        goto out;
    }
    OGR_L_ResetReading(layer);
    while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
        OGRGeometryH poly = OGR_F_GetGeometryRef(f);
        OGRGeometryH ring = OGR_G_GetGeometryRef(poly, 0);
        json_t *coords = json_array();
        int i, n = OGR_G_GetPointCount(ring) - 1; /* without the closing repeat */

        *holes |= OGR_G_GetGeometryCount(poly) > 1;
        for (i = 0; i < n; i++) {
            json_array_append_new(coords,
                                  json_integer((json_int_t)OGR_G_GetX(ring, i)));
            json_array_append_new(coords,
                                  json_integer((json_int_t)OGR_G_GetY(ring, i)));
        }
        json_array_append_new(*out, coords);
        OGR_F_Destroy(f);
    }
out:
    if (vector != NULL) {
        GDALClose(vector);
    }
    if (raster != NULL) {
        GDALClose(raster);
    }
    return rc;
}

/* The segmentation of object K of E's chip (its instance mask: polygons,
   or RLE when asked, when an outline has a hole or when the object has no
   pixel) and its pixels. */
static int mask_segmentation(ek_export *e, size_t k, json_t **seg, int64_t *area)
{
    size_t npx = (size_t)(e->h * e->w), px;
    uint8_t *bits = ek_calloc(e->ctx, npx, 1);
    int holes = 0, rc = bits == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    *seg = NULL;
    *area = 0;
    for (px = 0; rc == EODKIT_OK && px < npx; px++) {
        bits[px] = ek_instance_id(e->mask, e->mask_size, px) == e->obj.ids[k];
        *area += bits[px];
    }
    if (rc == EODKIT_OK && !e->opt.rle && *area > 0) {
        rc = polygons_json(e, bits, seg, &holes);
    }
    /* no polygon outlines a hole, or nothing at all */
    if (rc == EODKIT_OK && (e->opt.rle || holes || *area == 0)) {
        json_decref(*seg);
        *seg = rle_json(e, bits);
    }
    free(bits);
    return rc;
}

/* The oriented box of object K as a COCO polygon. */
static json_t *obb_polygon(const ek_export *e, size_t k)
{
    json_t *coords = json_array();
    int i;

    for (i = 0; i < 8; i++) {
        json_array_append_new(coords, json_real(e->obj.obb[8 * k + (size_t)i]));
    }
    return json_pack("[o]", coords);
}

int ek_coco_add(ek_export *e, json_t *doc, const ek_audit_chip *c, int64_t *next_id)
{
    const ek_audit_grid *g = &e->cs->grids[c->grid];
    json_t *annotations = json_object_get(doc, "annotations"), *gt = json_array();
    char name[64];
    size_t k;
    int i, rc = EODKIT_OK;

    for (i = 0; i < 6; i++) {
        double v = g->gt[i];

        if (i == 0) {
            v = g->gt[0] + (double)c->x * g->gt[1] + (double)c->y * g->gt[2];
        } else if (i == 3) {
            v = g->gt[3] + (double)c->x * g->gt[4] + (double)c->y * g->gt[5];
        }
        json_array_append_new(gt, json_real(v));
    }
    ek_export_image_name(c, name, sizeof name);
    json_array_append_new(
        json_object_get(doc, "images"),
        json_pack("{s:I, s:s, s:I, s:I, s:{s:I, s:s, s:i, s:I, s:s, s:o}}", "id",
                  (json_int_t)c->chip_id, "file_name", name, "width", (json_int_t)e->w,
                  "height", (json_int_t)e->h, "eodkit", "chip_id",
                  (json_int_t)c->chip_id, "split", e->cs->ix->splits.names[c->split],
                  "shard", (int)c->shard, "row", (json_int_t)c->row, "crs",
                  g->crs != NULL ? g->crs : g->wkt, "geotransform", gt));
    for (k = 0; k < e->obj.n && rc == EODKIT_OK; k++) {
        const float *b = e->obj.boxes + 4 * k;
        double w = (double)b[2] - (double)b[0], h = (double)b[3] - (double)b[1];
        json_t *seg = NULL, *a;
        int64_t pixels = 0;

        if (e->instance) {
            rc = mask_segmentation(e, k, &seg, &pixels);
        } else if (e->objects.oriented) {
            seg = obb_polygon(e, k);
        }
        a = json_pack("{s:I, s:I, s:i, s:[f, f, f, f], s:f, s:i}", "id",
                      (json_int_t)(*next_id)++, "image_id", (json_int_t)c->chip_id,
                      "category_id", (int)e->obj.cls[k], "bbox", (double)b[0],
                      (double)b[1], w, h, "area", e->instance ? (double)pixels : w * h,
                      "iscrowd", 0);
        if (seg != NULL) {
            json_object_set_new(a, "segmentation", seg);
        }
        json_object_set_new(a, "eodkit",
                            json_pack("{s:I, s:b, s:f}", "object_id",
                                      (json_int_t)e->obj.ids[k], "truncated",
                                      e->obj.truncated[k], "visible",
                                      (double)e->obj.visible[k]));
        json_array_append_new(annotations, a);
    }
    return rc;
}
