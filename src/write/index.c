/*
** Write: the chip index, a GeoPackage any GIS opens (and, being SQLite,
** Python's stdlib too). One row per chip, written in commit order inside a
** single transaction; footprints are the chip outlines, densified and
** transformed to EPSG:4326 (longitude, latitude).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <ogr_api.h>

#include "ek_write.h"

/* GeoPackage records a last-change time; fixing it keeps builds byte-identical. */
#define FIXED_DATE "2000-01-01T00:00:00.000Z"
#define EDGE_POINTS 8

struct ek_index {
    GDALDatasetH ds;
    OGRLayerH layer;
    OGRCoordinateTransformationH to_lonlat;
    const ek_grid *grid;
    char *const *split_names;
    size_t nsplits;
    double *bbox; /* per split + 1 for all: west, south, east, north */
    int *has_bbox;
};

static const struct {
    const char *name;
    OGRFieldType type;
} fields[] = {
    {"chip_id", OFTInteger64}, {"split", OFTString},     {"shard", OFTInteger},
    {"row", OFTInteger64},     {"crs", OFTString},       {"geotransform", OFTString},
    {"grid_x", OFTInteger},    {"grid_y", OFTInteger},   {"width", OFTInteger},
    {"height", OFTInteger},    {"center_lon", OFTReal},  {"center_lat", OFTReal},
    {"block", OFTInteger64},   {"nodata_frac", OFTReal}, {"labeled_frac", OFTReal},
    {"class_hist", OFTString}, {"label", OFTInteger},    {"sources", OFTString},
};

int ek_index_create(eodkit_ctx *ctx, const char *path, const ek_grid *g,
                    char *const *split_names, size_t nsplits, ek_index **out)
{
    ek_index *ix = ek_calloc(ctx, 1, sizeof *ix);
    GDALDriverH drv = GDALGetDriverByName("GPKG");
    OGRSpatialReferenceH wgs84 = NULL;
    char **layer_options = NULL;
    size_t f;
    int rc = EODKIT_OK;

    *out = NULL;
    if (ix == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    ix->grid = g;
    ix->split_names = split_names;
    ix->nsplits = nsplits;
    ix->bbox = ek_calloc(ctx, 4 * (nsplits + 1), sizeof *ix->bbox);
    ix->has_bbox = ek_calloc(ctx, nsplits + 1, sizeof *ix->has_bbox);
    if (ix->bbox == NULL || ix->has_bbox == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", FIXED_DATE);
    if (drv == NULL ||
        (ix->ds = GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, NULL)) == NULL) {
        rc = ek_error_gdal(ctx, "%s: cannot create the chip index", path);
        goto out;
    }
    wgs84 = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(wgs84, 4326);
    OSRSetAxisMappingStrategy(wgs84, OAMS_TRADITIONAL_GIS_ORDER);
    layer_options =
        CSLSetNameValue(layer_options, "DESCRIPTION",
                        "eodkit chips: one row per chip (see doc/format.md)");
    ix->layer =
        GDALDatasetCreateLayer(ix->ds, "chips", wgs84, wkbPolygon, layer_options);
    if (ix->layer == NULL) {
        rc = ek_error_gdal(ctx, "%s: cannot create layer 'chips'", path);
        goto out;
    }
    for (f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        OGRFieldDefnH fd = OGR_Fld_Create(fields[f].name, fields[f].type);
        OGRErr err = OGR_L_CreateField(ix->layer, fd, TRUE);

        OGR_Fld_Destroy(fd);
        if (err != OGRERR_NONE) {
            rc = ek_error_gdal(ctx, "%s: cannot create field '%s'", path,
                               fields[f].name);
            goto out;
        }
    }
    ix->to_lonlat = OCTNewCoordinateTransformation(g->srs, wgs84);
    if (ix->to_lonlat == NULL) {
        rc = ek_error_gdal(ctx,
                           "the grid CRS cannot be transformed to longitude/latitude");
        goto out;
    }
    if (GDALDatasetStartTransaction(ix->ds, FALSE) != OGRERR_NONE) {
        rc = ek_error_gdal(ctx, "%s: cannot start a transaction", path);
    }
out:
    CSLDestroy(layer_options);
    if (wgs84 != NULL) {
        OSRDestroySpatialReference(wgs84);
    }
    if (rc != EODKIT_OK) {
        ek_index_free(ix);
        return rc;
    }
    *out = ix;
    return EODKIT_OK;
}

static void grow_bbox(ek_index *ix, size_t k, const OGREnvelope *e)
{
    double *b = ix->bbox + 4 * k;

    if (!ix->has_bbox[k]) {
        b[0] = e->MinX, b[1] = e->MinY, b[2] = e->MaxX, b[3] = e->MaxY;
        ix->has_bbox[k] = 1;
        return;
    }
    b[0] = fmin(b[0], e->MinX), b[1] = fmin(b[1], e->MinY);
    b[2] = fmax(b[2], e->MaxX), b[3] = fmax(b[3], e->MaxY);
}

/* The chip outline with EDGE_POINTS points per edge, in the grid CRS. */
static OGRGeometryH outline(const ek_grid *g, const ek_window *w)
{
    OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
    OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
    static const double corners[5][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}};
    int c, k;

    for (c = 0; c < 4; c++) {
        for (k = 0; k < EDGE_POINTS; k++) {
            double t = (double)k / EDGE_POINTS;
            double px =
                w->x + w->w * (corners[c][0] + t * (corners[c + 1][0] - corners[c][0]));
            double py =
                w->y + w->h * (corners[c][1] + t * (corners[c + 1][1] - corners[c][1]));

            OGR_G_AddPoint_2D(ring, g->gt[0] + px * g->gt[1], g->gt[3] + py * g->gt[5]);
        }
    }
    OGR_G_AddPoint_2D(ring, g->gt[0] + w->x * g->gt[1], g->gt[3] + w->y * g->gt[5]);
    OGR_G_AddGeometryDirectly(poly, ring);
    return poly;
}

int ek_index_add(eodkit_ctx *ctx, ek_index *ix, const ek_index_row *r)
{
    const ek_grid *g = ix->grid;
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(ix->layer));
    OGRGeometryH poly = outline(g, &r->window);
    OGREnvelope e;
    double gt[6], cx, cy, cz = 0;
    char text[256];
    int rc = EODKIT_OK;

    ek_grid_window_gt(g, &r->window, gt);
    cx = gt[0] + r->window.w / 2.0 * gt[1];
    cy = gt[3] + r->window.h / 2.0 * gt[5];
    if (OGR_G_Transform(poly, ix->to_lonlat) != OGRERR_NONE ||
        !OCTTransform(ix->to_lonlat, 1, &cx, &cy, &cz)) {
        rc = ek_error_gdal(ctx, "chip %lld: cannot transform its footprint to lon/lat",
                           (long long)r->chip_id);
        goto out;
    }
    OGR_F_SetGeometryDirectly(f, poly);
    poly = NULL;
    OGR_F_SetFieldInteger64(f, 0, r->chip_id);
    OGR_F_SetFieldString(f, 1, ix->split_names[r->split]);
    OGR_F_SetFieldInteger(f, 2, r->shard);
    OGR_F_SetFieldInteger64(f, 3, r->row);
    OGR_F_SetFieldString(f, 4, g->crs_code != NULL ? g->crs_code : g->wkt);
    snprintf(text, sizeof text, "[%.17g, %.17g, %.17g, %.17g, %.17g, %.17g]", gt[0],
             gt[1], gt[2], gt[3], gt[4], gt[5]);
    OGR_F_SetFieldString(f, 5, text);
    OGR_F_SetFieldInteger(f, 6, r->window.x);
    OGR_F_SetFieldInteger(f, 7, r->window.y);
    OGR_F_SetFieldInteger(f, 8, r->window.w);
    OGR_F_SetFieldInteger(f, 9, r->window.h);
    OGR_F_SetFieldDouble(f, 10, cx);
    OGR_F_SetFieldDouble(f, 11, cy);
    if (r->block >= 0) {
        OGR_F_SetFieldInteger64(f, 12, r->block);
    }
    OGR_F_SetFieldDouble(f, 13, r->nodata_frac);
    if (r->class_hist != NULL) {
        OGR_F_SetFieldDouble(f, 14, r->labeled_frac);
        OGR_F_SetFieldString(f, 15, r->class_hist);
    }
    if (r->label >= 0) {
        OGR_F_SetFieldInteger(f, 16, r->label);
    }
    OGR_F_SetFieldString(f, 17, r->sources);
    if (OGR_L_CreateFeature(ix->layer, f) != OGRERR_NONE) {
        rc = ek_error_gdal(ctx, "chip %lld: cannot add it to the index",
                           (long long)r->chip_id);
        goto out;
    }
    OGR_G_GetEnvelope(OGR_F_GetGeometryRef(f), &e);
    grow_bbox(ix, (size_t)r->split, &e);
    grow_bbox(ix, ix->nsplits, &e);
out:
    OGR_G_DestroyGeometry(poly);
    OGR_F_Destroy(f);
    return rc;
}

int ek_index_bbox(const ek_index *ix, int s, double bbox[4])
{
    size_t k = s < 0 ? ix->nsplits : (size_t)s;

    memcpy(bbox, ix->bbox + 4 * k, 4 * sizeof *bbox);
    return ix->has_bbox[k];
}

int ek_index_close(eodkit_ctx *ctx, ek_index *ix)
{
    int rc = EODKIT_OK;

    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", FIXED_DATE);
    if (GDALDatasetCommitTransaction(ix->ds) != OGRERR_NONE) {
        rc = ek_error_gdal(ctx, "cannot commit the chip index");
    }
    GDALClose(ix->ds);
    ix->ds = NULL;
    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", NULL);
    return rc;
}

void ek_index_free(ek_index *ix)
{
    if (ix == NULL) {
        return;
    }
    if (ix->ds != NULL) {
        GDALClose(ix->ds);
    }
    if (ix->to_lonlat != NULL) {
        OCTDestroyCoordinateTransformation(ix->to_lonlat);
    }
    free(ix->bbox);
    free(ix->has_bbox);
    free(ix);
}
