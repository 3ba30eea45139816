/*
** Plan: inspecting input rasters and placing them on the target grid
** (bounds, exact alignment, warp scales). Handles opened here are closed
** again: workers open their own.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gdal_alg.h>
#include <cpl_string.h>

#include "core/ek_fs.h"
#include "ek_plan.h"

int ek_dtype_size(GDALDataType t)
{
    return GDALGetDataTypeSizeBytes(t);
}

const char *ek_dtype_numpy(GDALDataType t)
{
    switch (t) {
    case GDT_Byte:
        return "|u1";
    case GDT_UInt16:
        return "<u2";
    case GDT_Int16:
        return "<i2";
    case GDT_UInt32:
        return "<u4";
    case GDT_Int32:
        return "<i4";
    case GDT_Float32:
        return "<f4";
    case GDT_Float64:
        return "<f8";
    default:
        return NULL;
    }
}

const char *ek_dtype_name(GDALDataType t)
{
    switch (t) {
    case GDT_Byte:
        return "uint8";
    case GDT_UInt16:
        return "uint16";
    case GDT_Int16:
        return "int16";
    case GDT_UInt32:
        return "uint32";
    case GDT_Int32:
        return "int32";
    case GDT_Float32:
        return "float32";
    case GDT_Float64:
        return "float64";
    default:
        return "unknown";
    }
}

GDALDatasetH ek_open_raster(eodkit_ctx *ctx, const char *path)
{
    GDALDatasetH ds;

    if (!ek_fs_exists(path)) {
        ek_error(ctx, EODKIT_ERR_INPUT, "%s: no such file", path);
        return NULL;
    }
    ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (ds == NULL) {
        ek_error_gdal(ctx, "%s: GDAL cannot read it as a raster", path);
    }
    return ds;
}

void ek_source_clear(ek_source *s)
{
    free(s->path);
    free(s->wkt);
    memset(s, 0, sizeof *s);
}

int ek_source_inspect(eodkit_ctx *ctx, const char *path, const char *where,
                      ek_source *s)
{
    int rc = EODKIT_OK;
    GDALDatasetH ds = NULL;
    OGRSpatialReferenceH srs;
    char *wkt = NULL;
    const char *const wkt_options[] = {"FORMAT=WKT2_2019", NULL};

    memset(s, 0, sizeof *s);
    s->path = ek_strdup(ctx, path);
    if (s->path == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    ds = ek_open_raster(ctx, path);
    if (ds == NULL) {
        rc = ek_error_where(ctx, "%s", where);
        goto out;
    }
    s->width = GDALGetRasterXSize(ds);
    s->height = GDALGetRasterYSize(ds);
    s->band_count = GDALGetRasterCount(ds);
    if (s->band_count == 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: has no raster bands (%s)", path,
                      where);
        goto out;
    }
    if (GDALGetGeoTransform(ds, s->gt) != CE_None) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: has no georeferencing (no geotransform); georeference it "
                      "first, e.g. with gdalwarp (%s)",
                      path, where);
        goto out;
    }
    srs = GDALGetSpatialRef(ds);
    if (srs == NULL || OSRExportToWktEx(srs, &wkt, wkt_options) != OGRERR_NONE ||
        wkt == NULL || wkt[0] == '\0') {
        rc =
            ek_error(ctx, EODKIT_ERR_INPUT,
                     "%s: has no CRS; set it with 'gdal_edit.py -a_srs EPSG:<code> %s' "
                     "(%s)",
                     path, path, where);
        goto out;
    }
    s->wkt = ek_strdup(ctx, wkt);
    if (s->wkt == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    s->nodata = GDALGetRasterNoDataValue(GDALGetRasterBand(ds, 1), &s->has_nodata);
    s->dtype = GDALGetRasterDataType(GDALGetRasterBand(ds, 1));
    for (int b = 2; b <= s->band_count; b++) {
        s->dtype = GDALDataTypeUnion(s->dtype,
                                     GDALGetRasterDataType(GDALGetRasterBand(ds, b)));
    }
out:
    CPLFree(wkt);
    if (ds != NULL) {
        GDALClose(ds);
    }
    return rc;
}

static int same_size(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fabs(b);
}

/* Source resolution expressed in grid units, as GDAL's own suggestion for
   warping the whole source to the grid CRS would give it. */
static int suggested_resolution(eodkit_ctx *ctx, const ek_grid *g, const ek_source *s,
                                double *res)
{
    int rc = EODKIT_OK;
    GDALDatasetH ds = NULL;
    void *transformer = NULL;
    char **options = NULL;
    double gt[6];
    int px = 0, py = 0;

    ds = ek_open_raster(ctx, s->path);
    if (ds == NULL) {
        return eodkit_ctx_status(ctx);
    }
    options = CSLSetNameValue(options, "DST_SRS", g->wkt);
    transformer = GDALCreateGenImgProjTransformer2(ds, NULL, options);
    if (transformer == NULL) {
        rc = ek_error_gdal(ctx, "%s: cannot transform it to the grid CRS", s->path);
        goto out;
    }
    if (GDALSuggestedWarpOutput(ds, GDALGenImgProjTransform, transformer, gt, &px,
                                &py) != CE_None) {
        rc = ek_error_gdal(ctx, "%s: cannot map it onto the grid CRS", s->path);
        goto out;
    }
    *res = gt[1];
out:
    if (transformer != NULL) {
        GDALDestroyGenImgProjTransformer(transformer);
    }
    CSLDestroy(options);
    GDALClose(ds);
    return rc;
}

int ek_source_bounds(eodkit_ctx *ctx, OGRSpatialReferenceH crs, const ek_source *s,
                     double bounds[4])
{
    int rc = EODKIT_OK;
    OGRSpatialReferenceH srs = NULL;
    OGRCoordinateTransformationH ct = NULL;
    double xs[4], ys[4], minx, maxx, miny, maxy;
    int i;

    srs = OSRNewSpatialReference(s->wkt);
    if (srs == NULL) {
        return ek_error_gdal(ctx, "%s: unreadable CRS", s->path);
    }
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    for (i = 0; i < 4; i++) {
        double px = (i & 1) ? s->width : 0, py = (i & 2) ? s->height : 0;

        xs[i] = s->gt[0] + px * s->gt[1] + py * s->gt[2];
        ys[i] = s->gt[3] + px * s->gt[4] + py * s->gt[5];
    }
    minx = fmin(fmin(xs[0], xs[1]), fmin(xs[2], xs[3]));
    maxx = fmax(fmax(xs[0], xs[1]), fmax(xs[2], xs[3]));
    miny = fmin(fmin(ys[0], ys[1]), fmin(ys[2], ys[3]));
    maxy = fmax(fmax(ys[0], ys[1]), fmax(ys[2], ys[3]));
    if (OSRIsSame(srs, crs)) {
        bounds[0] = minx, bounds[1] = miny, bounds[2] = maxx, bounds[3] = maxy;
        goto out;
    }
    ct = OCTNewCoordinateTransformation(srs, crs);
    if (ct == NULL || !OCTTransformBounds(ct, minx, miny, maxx, maxy, &bounds[0],
                                          &bounds[1], &bounds[2], &bounds[3], 21)) {
        rc = ek_error_gdal(ctx, "%s: its extent cannot be transformed to the grid CRS",
                           s->path);
    }
out:
    if (ct != NULL) {
        OCTDestroyCoordinateTransformation(ct);
    }
    OSRDestroySpatialReference(srs);
    return rc;
}

int ek_source_place(eodkit_ctx *ctx, const ek_grid *g, ek_source *s)
{
    double b[4], res = 0;
    int rc = ek_source_bounds(ctx, g->srs, s, b);
    OGRSpatialReferenceH srs;
    int same_crs;

    if (rc != EODKIT_OK) {
        return rc;
    }
    s->gx0 = (b[0] - g->gt[0]) / g->gt[1];
    s->gx1 = (b[2] - g->gt[0]) / g->gt[1];
    s->gy0 = (b[3] - g->gt[3]) / g->gt[5];
    s->gy1 = (b[1] - g->gt[3]) / g->gt[5];

    srs = OSRNewSpatialReference(s->wkt);
    same_crs = srs != NULL && OSRIsSame(srs, g->srs);
    OSRDestroySpatialReference(srs);
    s->aligned = 0;
    if (same_crs && s->gt[2] == 0 && s->gt[4] == 0 && same_size(s->gt[1], g->gt[1]) &&
        same_size(s->gt[5], g->gt[5])) {
        double fx = (s->gt[0] - g->gt[0]) / g->gt[1];
        double fy = (s->gt[3] - g->gt[3]) / g->gt[5];
        double drift = fabs(s->gt[1] - g->gt[1]) * fmax(s->width, s->height) / g->gt[1];

        if (fabs(fx - round(fx)) < 1e-6 && fabs(fy - round(fy)) < 1e-6 &&
            drift < 1e-3) {
            s->aligned = 1;
            s->dx = (int)round(fx);
            s->dy = (int)round(fy);
        }
    }
    if (s->aligned) {
        s->xscale = s->yscale = 1.0;
        return EODKIT_OK;
    }
    rc = suggested_resolution(ctx, g, s, &res);
    s->xscale = res / g->gt[1];
    s->yscale = res / -g->gt[5];
    return rc;
}
