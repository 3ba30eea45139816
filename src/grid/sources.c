/*
** Plan: inspecting input rasters (size, georeferencing, nodata, acquisition
** time) and placing them on a target grid (bounds, exact alignment, warp
** scales). Handles opened here are closed again: workers open their own.
*/
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>
#include <gdal_alg.h>

#include "core/ek_fs.h"
#include "core/ek_time.h"
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
    case GDT_Int64:
        return "<i8";
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
    case GDT_Int64:
        return "int64";
    case GDT_Float32:
        return "float32";
    case GDT_Float64:
        return "float64";
    default:
        return "unknown";
    }
}

OGRSpatialReferenceH ek_srs_lonlat(void)
{
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);

    OSRImportFromEPSG(srs, 4326);
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
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

/* Acquisition time from GDAL metadata: the usual keys, IMAGERY and default
   domains. */
static int time_from_metadata(GDALDatasetH ds, int64_t *t)
{
    static const char *const keys[] = {
        "ACQUISITIONDATETIME", "DATETIME",         "datetime", "ACQUISITION_DATETIME",
        "SENSING_TIME",        "TIFFTAG_DATETIME", NULL};
    static const char *const domains[] = {"IMAGERY", "", NULL};
    size_t d, k;

    for (d = 0; domains[d] != NULL; d++) {
        for (k = 0; keys[k] != NULL; k++) {
            const char *v = GDALGetMetadataItem(ds, keys[k], domains[d]);

            if (v != NULL && ek_time_parse_iso(v, 0, t) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* Parse date text D found in a file name with FORMAT, or guess FORMAT from
   D's shape: 20170617, 20170617T113321, 20170617113321, or ISO 8601. */
static int parse_name_date(const char *d, const char *format, int64_t *t)
{
    size_t n = strlen(d), digits = strspn(d, "0123456789");

    if (format != NULL) {
        return ek_time_parse_format(d, format, t);
    }
    if (n == 8 && digits == 8) {
        return ek_time_parse_format(d, "%Y%m%d", t);
    }
    if (n == 14 && digits == 14) {
        return ek_time_parse_format(d, "%Y%m%d%H%M%S", t);
    }
    if (n == 15 && digits == 8 && d[8] == 'T') {
        return ek_time_parse_format(d, "%Y%m%dT%H%M%S", t);
    }
    return ek_time_parse_iso(d, 0, t);
}

/* Acquisition time of S from its file name with TIME's pattern (group 1,
   or the whole match without a group). */
static int time_from_name(eodkit_ctx *ctx, const ek_time_recipe *time,
                          const char *where, ek_source *s)
{
    const char *name = ek_path_basename(s->path);
    regex_t re;
    regmatch_t m[2];
    char date[64];
    size_t len;
    int group, rc = EODKIT_OK;

    if (regcomp(&re, time->pattern, REG_EXTENDED) != 0) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: time.pattern '%s' is not a valid regular expression",
                        where, time->pattern);
    }
    if (regexec(&re, name, 2, m, 0) != 0) {
        rc = ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: no date in its name: it does not match time.pattern '%s' (%s)",
            s->path, time->pattern, where);
        goto out;
    }
    group = m[1].rm_so >= 0 ? 1 : 0;
    len = (size_t)(m[group].rm_eo - m[group].rm_so);
    len = len < sizeof date ? len : sizeof date - 1;
    memcpy(date, name + m[group].rm_so, len);
    date[len] = '\0';
    if (parse_name_date(date, time->format, &s->time) != 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: '%s' in its name is not a date%s%s (%s)", s->path, date,
                      time->format != NULL ? " of format " : "; give time.format",
                      time->format != NULL ? time->format : "", where);
        goto out;
    }
    s->has_time = 1;
out:
    regfree(&re);
    return rc;
}

int ek_source_inspect(eodkit_ctx *ctx, const char *path, const char *where,
                      const ek_time_recipe *time, ek_source *s)
{
    int rc = EODKIT_OK;
    GDALDatasetH ds = NULL;
    OGRSpatialReferenceH srs;
    char *wkt = NULL;
    const char *const wkt_options[] = {"FORMAT=WKT2_2019", NULL};
    int b;

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
        rc = ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: has no CRS; set it with 'gdal_edit.py -a_srs EPSG:<code> %s' (%s)",
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
    for (b = 2; b <= s->band_count; b++) {
        s->dtype = GDALDataTypeUnion(s->dtype,
                                     GDALGetRasterDataType(GDALGetRasterBand(ds, b)));
    }
    if (time != NULL && time->mode != EK_TIME_NONE) {
        if (time->pattern != NULL) {
            rc = time_from_name(ctx, time, where, s);
        } else if (time_from_metadata(ds, &s->time)) {
            s->has_time = 1;
        } else {
            rc = ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: no acquisition time in its metadata; give time.pattern to "
                "read it from the file name (%s)",
                path, where);
        }
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
    OSRRelease(srs);
    return rc;
}

int ek_source_place(eodkit_ctx *ctx, const ek_grid *g, const ek_source *s,
                    ek_placement *pl)
{
    double b[4], res = 0;
    OGRSpatialReferenceH srs;
    int same_crs, rc;

    memset(pl, 0, sizeof *pl);
    rc = ek_source_bounds(ctx, g->srs, s, b);
    if (rc != EODKIT_OK) {
        return rc;
    }
    pl->gx0 = (b[0] - g->gt[0]) / g->gt[1];
    pl->gx1 = (b[2] - g->gt[0]) / g->gt[1];
    pl->gy0 = (b[3] - g->gt[3]) / g->gt[5];
    pl->gy1 = (b[1] - g->gt[3]) / g->gt[5];

    srs = OSRNewSpatialReference(s->wkt);
    if (srs != NULL) {
        /* compare like with like: both in longitude, latitude order */
        OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    }
    same_crs = srs != NULL && OSRIsSame(srs, g->srs);
    OSRRelease(srs);
    if (same_crs && s->gt[2] == 0 && s->gt[4] == 0 && same_size(s->gt[1], g->gt[1]) &&
        same_size(s->gt[5], g->gt[5])) {
        double fx = (s->gt[0] - g->gt[0]) / g->gt[1];
        double fy = (s->gt[3] - g->gt[3]) / g->gt[5];
        double drift = fabs(s->gt[1] - g->gt[1]) * fmax(s->width, s->height) / g->gt[1];

        if (fabs(fx - round(fx)) < 1e-6 && fabs(fy - round(fy)) < 1e-6 &&
            drift < 1e-3) {
            pl->aligned = 1;
            pl->dx = (int)round(fx);
            pl->dy = (int)round(fy);
        }
    }
    if (pl->aligned) {
        pl->xscale = pl->yscale = 1.0;
        return EODKIT_OK;
    }
    rc = suggested_resolution(ctx, g, s, &res);
    pl->xscale = res / g->gt[1];
    pl->yscale = res / -g->gt[5];
    return rc;
}
