/*
** Eval: the mosaic of detections (eodkit mosaic on a detection or instance
** dataset). Every detection's box is put at its chip's place on the grid;
** where chips overlap the same object is found more than once, so boxes of
** a class are kept greedily best score first and those overlapping a kept
** one too much (IoU, or intersection over the smaller box) are dropped:
** non-maximum suppression across chip borders. The kept boxes go to a
** GeoPackage, one layer per grid, in the grid's CRS.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_quad_tree.h>
#include <gdal.h>
#include <ogr_api.h>

#include "core/ek_fs.h"
#include "ek_eval.h"

/* GeoPackage records a last-change time; fixing it keeps files identical. */
#define FIXED_DATE "2000-01-01T00:00:00.000Z"

/* One detection on its grid: a box in grid pixels. */
typedef struct placed_box {
    const ek_detection *det;
    int32_t grid;
    double box[4]; /* x, y, width, height */
    int kept;
} placed_box;

static int compare_placed(const void *a, const void *b)
{
    const placed_box *x = a, *y = b;

    if (x->grid != y->grid) {
        return x->grid < y->grid ? -1 : 1;
    }
    if (x->det->cls != y->det->cls) {
        return x->det->cls < y->det->cls ? -1 : 1;
    }
    if (x->det->score != y->det->score) {
        return x->det->score > y->det->score ? -1 : 1;
    }
    return (x->det->order > y->det->order) - (x->det->order < y->det->order);
}

/* How much boxes A and B overlap: IoU, or (IOS) the intersection over the
   smaller box's area. */
static double overlap(const double a[4], const double b[4], int ios)
{
    double w = fmin(a[0] + a[2], b[0] + b[2]) - fmax(a[0], b[0]);
    double h = fmin(a[1] + a[3], b[1] + b[3]) - fmax(a[1], b[1]);
    double i, small;

    if (!ios) {
        return ek_coco_box_iou(a, b);
    }
    if (w <= 0 || h <= 0) {
        return 0;
    }
    i = w * h;
    small = fmin(a[2] * a[3], b[2] * b[3]);
    return small > 0 ? i / small : 0;
}

static CPLRectObj rect_of(const double b[4])
{
    CPLRectObj r;

    r.minx = b[0];
    r.miny = b[1];
    r.maxx = b[0] + b[2];
    r.maxy = b[1] + b[3];
    return r;
}

/* Suppress, among the N boxes B of one grid and class (best first), those
   overlapping a kept one by more than THRESHOLD; return how many remain. */
static size_t suppress(placed_box *b, size_t n, double threshold, int ios)
{
    CPLRectObj all = {0, 0, 0, 0};
    CPLQuadTree *tree;
    size_t i, kept = 0;
    int j;

    for (i = 0; i < n; i++) {
        CPLRectObj r = rect_of(b[i].box);

        if (i == 0) {
            all = r;
        }
        all.minx = fmin(all.minx, r.minx), all.miny = fmin(all.miny, r.miny);
        all.maxx = fmax(all.maxx, r.maxx), all.maxy = fmax(all.maxy, r.maxy);
    }
    tree = CPLQuadTreeCreate(&all, NULL);
    for (i = 0; i < n; i++) {
        CPLRectObj r = rect_of(b[i].box);
        int found = 0;
        void **near = CPLQuadTreeSearch(tree, &r, &found);

        b[i].kept = 1;
        for (j = 0; j < found && b[i].kept; j++) {
            const placed_box *other = near[j];

            b[i].kept = overlap(b[i].box, other->box, ios) <= threshold;
        }
        CPLFree(near);
        if (b[i].kept) {
            CPLQuadTreeInsertWithBounds(tree, &b[i], &r);
            kept++;
        }
    }
    CPLQuadTreeDestroy(tree);
    return kept;
}

/* The layer of grid G in DS: "detections", or with several grids
   "detections_<EPSG code>" ("detections_grid<G>" without one). */
static OGRLayerH create_layer(eodkit_ctx *ctx, GDALDatasetH ds, const ek_chipset *cs,
                              int g, char *name, size_t size)
{
    const ek_audit_grid *grid = &cs->grids[g];
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    static const struct {
        const char *name;
        OGRFieldType type;
    } fields[] = {{"class_id", OFTInteger}, {"class_name", OFTString},
                  {"score", OFTReal},       {"chip_id", OFTInteger64},
                  {"split", OFTString},     {"detection", OFTInteger64}};
    OGRLayerH layer = NULL;
    char *wkt = (char *)grid->wkt; /* GDAL advances the pointer, not the text */
    size_t f;

    if (cs->ngrids == 1) {
        snprintf(name, size, "detections");
    } else if (grid->crs != NULL && strncmp(grid->crs, "EPSG:", 5) == 0) {
        snprintf(name, size, "detections_%s", grid->crs + 5);
    } else {
        snprintf(name, size, "detections_grid%d", g);
    }
    if (OSRImportFromWkt(srs, &wkt) == OGRERR_NONE) {
        OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
        layer = GDALDatasetCreateLayer(ds, name, srs, wkbPolygon, NULL);
    }
    OSRRelease(srs);
    for (f = 0; layer != NULL && f < sizeof fields / sizeof *fields; f++) {
        OGRFieldDefnH fd = OGR_Fld_Create(fields[f].name, fields[f].type);

        if (OGR_L_CreateField(layer, fd, TRUE) != OGRERR_NONE) {
            layer = NULL;
        }
        OGR_Fld_Destroy(fd);
    }
    if (layer == NULL) {
        ek_error_gdal(ctx, "cannot create layer '%s' of the detections", name);
    }
    return layer;
}

/* Box B (grid pixels) of grid G as a polygon in the grid's CRS. */
static OGRGeometryH box_polygon(const ek_audit_grid *g, const double b[4])
{
    OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
    OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
    static const int corners[5][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}};
    int k;

    for (k = 0; k < 5; k++) {
        double px = b[0] + corners[k][0] * b[2], py = b[1] + corners[k][1] * b[3];

        OGR_G_AddPoint_2D(ring, g->gt[0] + px * g->gt[1] + py * g->gt[2],
                          g->gt[3] + px * g->gt[4] + py * g->gt[5]);
    }
    OGR_G_AddGeometryDirectly(poly, ring);
    return poly;
}

/* The kept boxes among B (N, sorted by grid) of grid G into a new layer of
   DS; its name and count into LAYERS. */
static int write_layer(eodkit_ctx *ctx, GDALDatasetH ds, const ek_chipset *cs,
                       const ek_detections *pr, const placed_box *b, size_t n, int g,
                       json_t *layers)
{
    char name[64];
    OGRLayerH layer = create_layer(ctx, ds, cs, g, name, sizeof name);
    json_int_t features = 0;
    size_t i;
    int rc = layer == NULL ? eodkit_ctx_status(ctx) : EODKIT_OK;

    for (i = 0; i < n && rc == EODKIT_OK; i++) {
        const ek_audit_chip *c = &cs->ix->chips[cs->chips[b[i].det->chip]];
        OGRFeatureH f;

        if (b[i].grid != g || !b[i].kept) {
            continue;
        }
        f = OGR_F_Create(OGR_L_GetLayerDefn(layer));
        OGR_F_SetGeometryDirectly(f, box_polygon(&cs->grids[g], b[i].box));
        OGR_F_SetFieldInteger(f, 0, pr->ids[b[i].det->cls]);
        OGR_F_SetFieldString(f, 1, pr->names[b[i].det->cls]);
        OGR_F_SetFieldDouble(f, 2, b[i].det->score);
        OGR_F_SetFieldInteger64(f, 3, c->chip_id);
        OGR_F_SetFieldString(f, 4, cs->ix->splits.names[c->split]);
        OGR_F_SetFieldInteger64(f, 5, (GIntBig)b[i].det->order);
        if (OGR_L_CreateFeature(layer, f) != OGRERR_NONE) {
            rc = ek_error_gdal(ctx, "cannot add a detection to layer '%s'", name);
        }
        OGR_F_Destroy(f);
        features++;
    }
    if (rc == EODKIT_OK) {
        json_array_append_new(layers,
                              json_pack("{s:s, s:s?, s:I}", "name", name, "crs",
                                        cs->grids[g].crs, "features", features));
    }
    return rc;
}

/* GeoPackage PATH: a layer per grid holding chips of CS, with the kept
   boxes among B (N); the layers into LAYERS. */
static int write_gpkg(eodkit_ctx *ctx, const ek_chipset *cs, const ek_detections *pr,
                      const placed_box *b, size_t n, const char *path, json_t *layers)
{
    GDALDriverH drv = GDALGetDriverByName("GPKG");
    GDALDatasetH ds = NULL;
    size_t g, i;
    int rc = EODKIT_OK;

    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", FIXED_DATE);
    ds = drv != NULL ? GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, NULL) : NULL;
    if (ds == NULL || GDALDatasetStartTransaction(ds, FALSE) != OGRERR_NONE) {
        rc = ek_error_gdal(ctx, "%s: cannot create the GeoPackage", path);
    }
    for (g = 0; g < cs->ngrids && rc == EODKIT_OK; g++) {
        for (i = 0; i < cs->n && (size_t)cs->ix->chips[cs->chips[i]].grid != g; i++) {
        }
        if (i < cs->n) {
            rc = write_layer(ctx, ds, cs, pr, b, n, (int)g, layers);
        }
    }
    if (rc == EODKIT_OK && GDALDatasetCommitTransaction(ds) != OGRERR_NONE) {
        rc = ek_error_gdal(ctx, "%s: cannot write the GeoPackage", path);
    }
    if (ds != NULL) {
        GDALClose(ds);
    }
    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", NULL);
    return rc;
}

int ek_mosaic_detections(eodkit_ctx *ctx, const ek_chipset *cs, const ek_classes *cl,
                         const char *pred_path, const char *out_path,
                         const eodkit_mosaic_options *opt, char **summary_json)
{
    json_t *size =
        json_object_get(json_object_get(cs->collection, "eodkit:grid"), "chip_size");
    double threshold = opt->nms_threshold > 0 ? opt->nms_threshold : 0.5;
    const char *metric = opt->nms_metric != NULL ? opt->nms_metric : "iou";
    int ios = strcmp(metric, "ios") == 0;
    ek_detections pr;
    placed_box *b = NULL;
    json_t *layers = json_array();
    char *tmp = NULL;
    size_t i, n = 0, first, kept = 0;
    int rc = EODKIT_OK;

    memset(&pr, 0, sizeof pr);
    if (!ios && strcmp(metric, "iou") != 0) {
        rc = ek_error(ctx, EODKIT_ERR_USAGE, "--nms-metric is iou or ios, not '%s'",
                      metric);
    }
    if (rc == EODKIT_OK && (threshold <= 0 || threshold > 1)) {
        rc = ek_error(ctx, EODKIT_ERR_USAGE, "the NMS threshold is in (0, 1]");
    }
    if (rc == EODKIT_OK) {
        rc = ek_detections_read(ctx, pred_path, cs, cl, 0,
                                json_integer_value(json_array_get(size, 0)),
                                json_integer_value(json_array_get(size, 1)), &pr);
    }
    b = rc == EODKIT_OK ? ek_calloc(ctx, pr.n + 1, sizeof *b) : NULL;
    if (rc == EODKIT_OK && b == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (i = 0; rc == EODKIT_OK && i < pr.n; i++) {
        const ek_detection *d = &pr.dets[i];
        const ek_audit_chip *c = &cs->ix->chips[cs->chips[d->chip]];

        if (d->score < opt->min_score) {
            continue;
        }
        b[n].det = d;
        b[n].grid = c->grid;
        b[n].box[0] = (double)c->x + d->bbox[0];
        b[n].box[1] = (double)c->y + d->bbox[1];
        b[n].box[2] = d->bbox[2];
        b[n].box[3] = d->bbox[3];
        n++;
    }
    if (rc == EODKIT_OK) {
        qsort(b, n, sizeof *b, compare_placed);
    }
    for (first = 0; rc == EODKIT_OK && first < n;) {
        size_t end = first;

        while (end < n && b[end].grid == b[first].grid &&
               b[end].det->cls == b[first].det->cls) {
            end++;
        }
        kept += suppress(b + first, end - first, threshold, ios);
        first = end;
    }
    if (rc == EODKIT_OK) {
        tmp = ek_asprintf(ctx, "%s.eodkit-partial", out_path);
        rc = tmp == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    if (rc == EODKIT_OK) {
        unlink(tmp); /* left by a mosaic that failed */
        ek_gdal_capture_begin(ctx);
        rc = write_gpkg(ctx, cs, &pr, b, n, tmp, layers);
        ek_gdal_capture_end();
    }
    if (rc == EODKIT_OK) {
        rc = ek_fs_rename(ctx, tmp, out_path);
    } else if (tmp != NULL) {
        unlink(tmp);
    }
    if (rc == EODKIT_OK && summary_json != NULL) {
        json_t *splits = json_array();

        for (i = 0; i < cs->nsplits; i++) {
            json_array_append_new(splits,
                                  json_string(cs->ix->splits.names[cs->splits[i]]));
        }
        rc = ek_json_text(
            ctx,
            json_pack(
                "{s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:{s:s, s:f}, s:f, s:O}",
                "mode", "detections", "path", out_path, "splits", splits, "chips",
                (json_int_t)cs->n, "detections", (json_int_t)pr.n, "below_score",
                (json_int_t)(pr.n - n), "kept", (json_int_t)kept, "suppressed",
                (json_int_t)(n - kept), "nms", "metric", metric, "threshold", threshold,
                "min_score", opt->min_score, "layers", layers),
            17, summary_json);
    }
    json_decref(layers);
    free(tmp);
    free(b);
    ek_detections_free(&pr);
    return rc;
}
