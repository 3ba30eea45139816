/*
** Plan: opening input rasters by any GDAL name, inspecting them (size,
** georeferencing by geotransform, GCPs or RPCs, nodata, acquisition time)
** and placing them on a target grid (bounds, exact alignment, warp scales).
** Handles opened here are closed again: workers open their own.
*/
#include <float.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal_alg.h>

#include "core/ek_fs.h"
#include "core/ek_names.h"
#include "core/ek_time.h"
#include "ek_plan.h"
#include "geo/ek_srs.h"

/* Points along each edge of a GCP or RPC raster whose ground positions
   frame it. */
#define OUTLINE_STEPS 16

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

/* Whether PATH ends with SUFFIX. */
static int ends_with(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);

    return n >= k && strcmp(path + n - k, suffix) == 0;
}

GDALDatasetH ek_open_raster(eodkit_ctx *ctx, const char *path)
{
    ek_name_kind kind = ek_name_kind_of(path);
    GDALDatasetH ds;
    VSIStatBufL st;
    int quiet;

    if (kind == EK_NAME_PATH && !ek_fs_exists(path)) {
        ek_error(ctx, EODKIT_ERR_INPUT, "%s: no such file", path);
        return NULL;
    }
    /* Remote files: no search for side-car files beside them (dozens of HEAD
       requests per file), unless the user configured it. */
    quiet = kind == EK_NAME_REMOTE &&
            CPLGetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", NULL) == NULL;
    if (quiet) {
        CPLSetThreadLocalConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR");
    }
    /* A driver's reason (a missing subdataset, ...) beats GDAL's generic
       one, which a verbose open gives when no driver said why; a remote
       file is asked once (GDAL caches a failure). */
    ctx->gdal_message[0] = '\0';
    ds = GDALOpenEx(path,
                    GDAL_OF_RASTER | GDAL_OF_READONLY |
                        (kind == EK_NAME_REMOTE ? GDAL_OF_VERBOSE_ERROR : 0),
                    NULL, NULL, NULL);
    if (ds == NULL && kind != EK_NAME_REMOTE && ctx->gdal_message[0] == '\0') {
        ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR,
                        NULL, NULL, NULL);
    }
    if (quiet) {
        CPLSetThreadLocalConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", NULL);
    }
    if (ds != NULL) {
        return ds;
    }
    if (kind == EK_NAME_PATH) {
        int archive = ends_with(path, ".zip") || ends_with(path, ".gz") ||
                      ends_with(path, ".tar") || ends_with(path, ".tgz");

        ek_error_gdal(ctx, "%s: GDAL cannot read it as a raster%s", path,
                      archive ? " (a file inside an archive is named /vsizip/ARCHIVE/"
                                "MEMBER, /vsitar/... or /vsigzip/ARCHIVE)"
                              : "");
    } else if (kind == EK_NAME_REMOTE &&
               strncmp(ctx->gdal_message, "CURL error", 10) == 0) {
        /* the server cannot be reached (GDAL's retries are spent) */
        ek_error_with_gdal(ctx, EODKIT_ERR_IO, "%s: cannot read it", path);
    } else if (VSIStatL(path, &st) != 0) {
        /* a missing member, subdataset or remote file */
        ek_error_with_gdal(ctx, EODKIT_ERR_INPUT, "%s: cannot open it", path);
    } else {
        ek_error_gdal(ctx, "%s: GDAL cannot read it as a raster", path);
    }
    return NULL;
}

GDALDatasetH ek_source_open(eodkit_ctx *ctx, const ek_source *s)
{
    return ek_open_raster(ctx, s->vrt != NULL ? s->vrt : s->path);
}

void ek_source_clear(ek_source *s)
{
    free(s->path);
    free(s->wkt);
    free(s->vrt);
    CSLDestroy(s->transform_options);
    free(s->outline);
    free(s->data);
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

/* WKT2 of SRS into *WKT (newly allocated). */
static int export_wkt(eodkit_ctx *ctx, OGRSpatialReferenceH srs, char **wkt)
{
    const char *const options[] = {"FORMAT=WKT2_2019", NULL};
    char *text = NULL;

    *wkt = NULL;
    if (srs == NULL || OSRExportToWktEx(srs, &text, options) != OGRERR_NONE ||
        text == NULL || text[0] == '\0') {
        CPLFree(text);
        return EODKIT_ERR_INPUT;
    }
    *wkt = ek_strdup(ctx, text);
    CPLFree(text);
    return *wkt == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

/* A raster without the georeferencing its recipe uses: say what it has. */
static int no_georef(eodkit_ctx *ctx, GDALDatasetH ds, const char *path,
                     const char *where)
{
    int ngcps = GDALGetGCPCount(ds);

    if (ngcps > 0) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: has no geotransform but %d GCPs; warp it through them "
                        "with 'georeference: {method: gcp, order: 1, 2 or 3}' or "
                        "'georeference: tps' (%s)",
                        path, ngcps, where);
    }
    if (GDALGetMetadata(ds, "RPC") != NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: has no geotransform but an RPC model; warp it through "
                        "it with 'georeference: {method: rpc, dem: DEM}' (%s)",
                        path, where);
    }
    return ek_error(ctx, EODKIT_ERR_INPUT,
                    "%s: has no georeferencing (no geotransform, GCPs or RPCs); "
                    "georeference it first, e.g. with gdalwarp (%s)",
                    path, where);
}

/* GDAL transformer options of georeference G (SRC_METHOD and its
   parameters), a new CSL list. */
static char **transform_options(const ek_georef_recipe *g)
{
    char **o = NULL;

    switch (g->method) {
    case EK_GEOREF_GCP:
        o = CSLSetNameValue(o, "SRC_METHOD", "GCP_POLYNOMIAL");
        o = CSLSetNameValue(o, "MAX_GCP_ORDER", CPLSPrintf("%d", g->order));
        break;
    case EK_GEOREF_TPS:
        o = CSLSetNameValue(o, "SRC_METHOD", "GCP_TPS");
        break;
    case EK_GEOREF_RPC:
        o = CSLSetNameValue(o, "SRC_METHOD", "RPC");
        if (g->dem != NULL) {
            o = CSLSetNameValue(o, "RPC_DEM", g->dem);
        }
        if (g->has_height) {
            o = CSLSetNameValue(o, "RPC_HEIGHT", CPLSPrintf("%.17g", g->height));
        }
        break;
    default:
        break;
    }
    return o;
}

/* The ground positions (in the raster's GCP CRS, or lon/lat for RPCs) of
   points along the edges of raster DS, through S's transformer. */
static int trace_outline(eodkit_ctx *ctx, GDALDatasetH ds, const char *where,
                         ek_source *s)
{
    int n = 4 * OUTLINE_STEPS, i, kept = 0, rc = EODKIT_OK;
    double *x = ek_calloc(ctx, (size_t)n, sizeof *x);
    double *y = ek_calloc(ctx, (size_t)n, sizeof *y);
    double *z = ek_calloc(ctx, (size_t)n, sizeof *z);
    int *ok = ek_calloc(ctx, (size_t)n, sizeof *ok);
    void *t = NULL;

    if (x == NULL || y == NULL || z == NULL || ok == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    t = GDALCreateGenImgProjTransformer2(ds, NULL, s->transform_options);
    if (t == NULL) {
        ek_error_gdal(ctx, "%s: cannot make its %s transformer", s->path,
                      CSLFetchNameValue(s->transform_options, "SRC_METHOD"));
        rc = ek_error_where(ctx, "%s", where);
        goto out;
    }
    for (i = 0; i < OUTLINE_STEPS; i++) {
        double f = (double)i / OUTLINE_STEPS;

        x[i] = f * s->width, y[i] = 0;
        x[OUTLINE_STEPS + i] = s->width, y[OUTLINE_STEPS + i] = f * s->height;
        x[2 * OUTLINE_STEPS + i] = (1 - f) * s->width;
        y[2 * OUTLINE_STEPS + i] = s->height;
        x[3 * OUTLINE_STEPS + i] = 0, y[3 * OUTLINE_STEPS + i] = (1 - f) * s->height;
    }
    GDALGenImgProjTransform(t, FALSE, n, x, y, z, ok);
    s->outline = ek_calloc(ctx, (size_t)n * 2, sizeof *s->outline);
    if (s->outline == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (ok[i] && isfinite(x[i]) && isfinite(y[i])) {
            s->outline[2 * kept] = x[i];
            s->outline[2 * kept + 1] = y[i];
            kept++;
        }
    }
    s->noutline = kept;
    if (kept < 3) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: its %s transformer maps too few points of its edges to the "
                      "ground (%s)",
                      s->path, CSLFetchNameValue(s->transform_options, "SRC_METHOD"),
                      where);
    }
out:
    if (t != NULL) {
        GDALDestroyGenImgProjTransformer(t);
    }
    free(x);
    free(y);
    free(z);
    free(ok);
    return rc;
}

/* Georeferencing of DS as MR's georeference says (MR NULL: its
   geotransform): S's geotransform, or its transformer options, CRS and
   outline. */
static int inspect_georef(eodkit_ctx *ctx, GDALDatasetH ds,
                          const ek_modality_recipe *mr, const char *where, ek_source *s)
{
    static const int min_gcps[] = {0, 3, 6, 10}; /* per polynomial order */
    static const ek_georef_recipe by_geotransform = {EK_GEOREF_GEOTRANSFORM};
    const ek_georef_recipe *g = mr != NULL ? &mr->georef : &by_geotransform;
    OGRSpatialReferenceH srs = NULL;
    int rc;

    s->georef = g->method;
    if (g->method == EK_GEOREF_GEOTRANSFORM) {
        if (GDALGetGeoTransform(ds, s->gt) != CE_None) {
            return no_georef(ctx, ds, s->path, where);
        }
        rc = export_wkt(ctx, GDALGetSpatialRef(ds), &s->wkt);
        if (rc == EODKIT_ERR_INPUT) {
            rc = ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: has no CRS; set it with 'gdal_edit.py -a_srs EPSG:<code> %s' (%s)",
                s->path, s->path, where);
        }
        return rc;
    }
    if (g->method == EK_GEOREF_RPC) {
        if (GDALGetMetadata(ds, "RPC") == NULL) {
            return ek_error(ctx, EODKIT_ERR_INPUT,
                            "%s: has no RPC model (no RPC metadata) for 'georeference: "
                            "rpc' (%s)",
                            s->path, where);
        }
        if (g->dem != NULL) { /* a clear error now rather than in the warper */
            GDALDatasetH dem = ek_open_raster(ctx, g->dem);

            if (dem == NULL) {
                return ek_error_where(ctx, "georeference.dem of %s (%s)", s->path,
                                      where);
            }
            GDALClose(dem);
        }
        srs = ek_srs_lonlat();
        rc = export_wkt(ctx, srs, &s->wkt);
        OSRRelease(srs);
    } else {
        int need = g->method == EK_GEOREF_GCP ? min_gcps[g->order] : 3;

        s->ngcps = GDALGetGCPCount(ds);
        if (s->ngcps < need) {
            return ek_error(ctx, EODKIT_ERR_INPUT,
                            "%s: has %d GCP%s; %s needs at least %d (%s)", s->path,
                            s->ngcps, s->ngcps == 1 ? "" : "s",
                            g->method == EK_GEOREF_TPS
                                ? "a thin-plate spline"
                                : CPLSPrintf("a polynomial of order %d", g->order),
                            need, where);
        }
        rc = export_wkt(ctx, GDALGetGCPSpatialRef(ds), &s->wkt);
        if (rc == EODKIT_ERR_INPUT) {
            return ek_error(ctx, EODKIT_ERR_INPUT, "%s: its GCPs have no CRS (%s)",
                            s->path, where);
        }
    }
    s->transform_options = transform_options(g);
    if (rc == EODKIT_OK && s->transform_options == NULL) {
        rc = ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory");
    }
    return rc == EODKIT_OK ? trace_outline(ctx, ds, where, s) : rc;
}

/* Source pixels of margin around the parts that hold data: what a
   resampling kernel reaches beyond them. */
#define DATA_MARGIN 4

/* At most this many rectangles describe where a file holds data; beyond,
   the whole file counts. */
#define MAX_DATA_RECTS 100000

/* The whole window X, Y, W, H of S holds data (with margin). */
static int add_data(eodkit_ctx *ctx, ek_source *s, size_t *cap, int x, int y, int w,
                    int h)
{
    int *r;
    int rc = ek_grow(ctx, (void **)&s->data, cap, 4 * (s->ndata + 1), sizeof *s->data);

    if (rc != EODKIT_OK) {
        return rc;
    }
    r = s->data + 4 * s->ndata++;
    r[0] = x > DATA_MARGIN ? x - DATA_MARGIN : 0;
    r[1] = y > DATA_MARGIN ? y - DATA_MARGIN : 0;
    r[2] = x + w + DATA_MARGIN < s->width ? x + w + DATA_MARGIN : s->width;
    r[3] = y + h + DATA_MARGIN < s->height ? y + h + DATA_MARGIN : s->height;
    return EODKIT_OK;
}

/*
** Add the parts of window X, Y, W, H of DS (blocks of BW x BH pixels) that
** hold data in some band to S->data: a window with data in every part of
** some band, or of one block, is taken whole; one all empty is left out; a
** mixed one is halved along block edges. *MIXED is set when GDAL reported
** empty parts.
*/
static int find_data(eodkit_ctx *ctx, GDALDatasetH ds, ek_source *s, size_t *cap, int x,
                     int y, int w, int h, int bw, int bh)
{
    int b, mixed = 0;

    for (b = 1; b <= s->band_count; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b);
        /* GDAL stops at the first part that has the asked status */
        int f = GDALGetDataCoverageStatus(band, x, y, w, h,
                                          GDAL_DATA_COVERAGE_STATUS_EMPTY, NULL);

        if ((f & GDAL_DATA_COVERAGE_STATUS_UNIMPLEMENTED) ||
            !(f & GDAL_DATA_COVERAGE_STATUS_EMPTY)) {
            return add_data(ctx, s, cap, x, y, w, h);
        }
        f = GDALGetDataCoverageStatus(band, x, y, w, h, GDAL_DATA_COVERAGE_STATUS_DATA,
                                      NULL);
        mixed |= (f & GDAL_DATA_COVERAGE_STATUS_DATA) != 0;
    }
    if (!mixed) {
        return EODKIT_OK;
    }
    if ((w <= bw && h <= bh) || s->ndata >= MAX_DATA_RECTS) {
        return add_data(ctx, s, cap, x, y, w, h);
    }
    if ((w + bw - 1) / bw >= (h + bh - 1) / bh) {
        int left = (w + bw - 1) / bw / 2 * bw;

        return find_data(ctx, ds, s, cap, x, y, left, h, bw, bh) == EODKIT_OK
                   ? find_data(ctx, ds, s, cap, x + left, y, w - left, h, bw, bh)
                   : eodkit_ctx_status(ctx);
    } else {
        int top = (h + bh - 1) / bh / 2 * bh;

        return find_data(ctx, ds, s, cap, x, y, w, top, bw, bh) == EODKIT_OK
                   ? find_data(ctx, ds, s, cap, x, y + top, w, h - top, bw, bh)
                   : eodkit_ctx_status(ctx);
    }
}

/* Where local raster DS (of S, with a geotransform) holds data: S->data
   stays NULL when that is everywhere, or when GDAL cannot tell. */
static int inspect_coverage(eodkit_ctx *ctx, GDALDatasetH ds, ek_source *s)
{
    size_t cap = 0;
    int bw, bh, rc;

    if (s->remote || s->georef != EK_GEOREF_GEOTRANSFORM) {
        return EODKIT_OK;
    }
    GDALGetBlockSize(GDALGetRasterBand(ds, 1), &bw, &bh);
    bw = bw > 0 ? bw : s->width;
    bh = bh > 0 ? bh : 1;
    rc = find_data(ctx, ds, s, &cap, 0, 0, s->width, s->height, bw, bh);
    if (rc == EODKIT_OK && s->ndata == 1 && s->data[0] == 0 && s->data[1] == 0 &&
        s->data[2] == s->width && s->data[3] == s->height) {
        free(s->data);
        s->data = NULL;
        s->ndata = 0;
    } else if (rc == EODKIT_OK && s->ndata == 0) {
        /* no data at all: an empty list, not NULL */
        rc = ek_grow(ctx, (void **)&s->data, &cap, 4, sizeof *s->data);
    }
    return rc;
}

int ek_source_empty_is_nodata(const ek_source *s, int has_nodata, double nodata)
{
    double fill = s->has_nodata ? s->nodata : 0;

    return has_nodata && (fill == nodata || (isnan(fill) && isnan(nodata)));
}

int ek_source_inspect(eodkit_ctx *ctx, const char *path, const char *where,
                      const ek_modality_recipe *mr, ek_source *s)
{
    const ek_time_recipe *time = mr != NULL ? &mr->time : NULL;
    int rc = EODKIT_OK;
    GDALDatasetH ds = NULL;
    int b;

    memset(s, 0, sizeof *s);
    s->path = ek_strdup(ctx, path);
    if (s->path == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    s->remote = ek_name_kind_of(path) == EK_NAME_REMOTE;
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
    rc = inspect_georef(ctx, ds, mr, where, s);
    if (rc != EODKIT_OK) {
        goto out;
    }
    s->nodata = GDALGetRasterNoDataValue(GDALGetRasterBand(ds, 1), &s->has_nodata);
    rc = inspect_coverage(ctx, ds, s);
    if (rc != EODKIT_OK) {
        goto out;
    }
    s->dtype = GDALGetRasterDataType(GDALGetRasterBand(ds, 1));
    for (b = 2; b <= s->band_count; b++) {
        s->dtype = GDALDataTypeUnion(s->dtype,
                                     GDALGetRasterDataType(GDALGetRasterBand(ds, b)));
    }
    /* STAC: each item's datetime is the time of its assets (src/grid/stac.c) */
    if (time != NULL && time->mode != EK_TIME_NONE && !mr->stac.present) {
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

    ds = ek_source_open(ctx, s);
    if (ds == NULL) {
        return eodkit_ctx_status(ctx);
    }
    options = CSLDuplicate(s->transform_options);
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

/* Bounds in CRS of the N (x, y) pairs XY in spatial reference SRS. */
static int points_bounds(eodkit_ctx *ctx, OGRSpatialReferenceH srs,
                         OGRSpatialReferenceH crs, const ek_source *s, const double *xy,
                         int n, double bounds[4])
{
    OGRCoordinateTransformationH ct = NULL;
    double *x = ek_calloc(ctx, (size_t)n, sizeof *x);
    double *y = ek_calloc(ctx, (size_t)n, sizeof *y);
    int *ok = ek_calloc(ctx, (size_t)n, sizeof *ok);
    int i, found = 0, rc = EODKIT_OK;

    if (x == NULL || y == NULL || ok == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        x[i] = xy[2 * i], y[i] = xy[2 * i + 1], ok[i] = 1;
    }
    if (!OSRIsSame(srs, crs)) {
        ct = OCTNewCoordinateTransformation(srs, crs);
        if (ct == NULL) {
            rc = ek_error_gdal(
                ctx, "%s: its extent cannot be transformed to the grid CRS", s->path);
            goto out;
        }
        OCTTransformEx(ct, n, x, y, NULL, ok);
    }
    for (i = 0; i < n; i++) {
        if (!ok[i] || !isfinite(x[i]) || !isfinite(y[i])) {
            continue;
        }
        if (!found) {
            bounds[0] = bounds[2] = x[i], bounds[1] = bounds[3] = y[i];
            found = 1;
        }
        bounds[0] = fmin(bounds[0], x[i]), bounds[2] = fmax(bounds[2], x[i]);
        bounds[1] = fmin(bounds[1], y[i]), bounds[3] = fmax(bounds[3], y[i]);
    }
    if (!found) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: its extent cannot be transformed to the grid CRS", s->path);
    }
out:
    if (ct != NULL) {
        OCTDestroyCoordinateTransformation(ct);
    }
    free(x);
    free(y);
    free(ok);
    return rc;
}

/* Bounds (xmin, ymin, xmax, ymax) of source pixels X0..X1 x Y0..Y1 of S
   through its geotransform, then CT (NULL: S's own CRS); 0 when CT fails. */
static int window_bounds(OGRCoordinateTransformationH ct, const ek_source *s, double x0,
                         double y0, double x1, double y1, double b[4])
{
    double xs[4], ys[4], minx, maxx, miny, maxy;
    int i;

    for (i = 0; i < 4; i++) {
        double px = (i & 1) ? x1 : x0, py = (i & 2) ? y1 : y0;

        xs[i] = s->gt[0] + px * s->gt[1] + py * s->gt[2];
        ys[i] = s->gt[3] + px * s->gt[4] + py * s->gt[5];
    }
    minx = fmin(fmin(xs[0], xs[1]), fmin(xs[2], xs[3]));
    maxx = fmax(fmax(xs[0], xs[1]), fmax(xs[2], xs[3]));
    miny = fmin(fmin(ys[0], ys[1]), fmin(ys[2], ys[3]));
    maxy = fmax(fmax(ys[0], ys[1]), fmax(ys[2], ys[3]));
    if (ct == NULL) {
        b[0] = minx, b[1] = miny, b[2] = maxx, b[3] = maxy;
        return 1;
    }
    return OCTTransformBounds(ct, minx, miny, maxx, maxy, &b[0], &b[1], &b[2], &b[3],
                              21);
}

/* S's CRS (traditional axis order) into *SRS, and the transformation from
   it to CRS into *CT (NULL when they are the same). */
static int source_to(eodkit_ctx *ctx, OGRSpatialReferenceH crs, const ek_source *s,
                     OGRSpatialReferenceH *srs, OGRCoordinateTransformationH *ct)
{
    *ct = NULL;
    *srs = OSRNewSpatialReference(s->wkt);
    if (*srs == NULL) {
        return ek_error_gdal(ctx, "%s: unreadable CRS", s->path);
    }
    OSRSetAxisMappingStrategy(*srs, OAMS_TRADITIONAL_GIS_ORDER);
    if (!OSRIsSame(*srs, crs)) {
        *ct = OCTNewCoordinateTransformation(*srs, crs);
        if (*ct == NULL) {
            return ek_error_gdal(
                ctx, "%s: its extent cannot be transformed to the grid CRS", s->path);
        }
    }
    return EODKIT_OK;
}

int ek_source_bounds(eodkit_ctx *ctx, OGRSpatialReferenceH crs, const ek_source *s,
                     double bounds[4])
{
    OGRSpatialReferenceH srs = NULL;
    OGRCoordinateTransformationH ct = NULL;
    int rc;

    if (s->outline != NULL) {
        srs = OSRNewSpatialReference(s->wkt);
        if (srs == NULL) {
            return ek_error_gdal(ctx, "%s: unreadable CRS", s->path);
        }
        OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
        rc = points_bounds(ctx, srs, crs, s, s->outline, s->noutline, bounds);
        OSRRelease(srs);
        return rc;
    }
    rc = source_to(ctx, crs, s, &srs, &ct);
    if (rc == EODKIT_OK && !window_bounds(ct, s, 0, 0, s->width, s->height, bounds)) {
        rc = ek_error_gdal(ctx, "%s: its extent cannot be transformed to the grid CRS",
                           s->path);
    }
    if (ct != NULL) {
        OCTDestroyCoordinateTransformation(ct);
    }
    if (srs != NULL) {
        OSRRelease(srs);
    }
    return rc;
}

int ek_source_data_on_grid(eodkit_ctx *ctx, const ek_grid *g, const ek_source *s,
                           double *out)
{
    OGRSpatialReferenceH srs = NULL;
    OGRCoordinateTransformationH ct = NULL;
    size_t k;
    int rc = source_to(ctx, g->srs, s, &srs, &ct);

    for (k = 0; k < s->ndata && rc == EODKIT_OK; k++) {
        const int *r = s->data + 4 * k;
        double b[4];

        if (!window_bounds(ct, s, r[0], r[1], r[2], r[3], b)) {
            rc = ek_error_gdal(
                ctx, "%s: its extent cannot be transformed to the grid CRS", s->path);
            break;
        }
        out[4 * k] = (b[0] - g->gt[0]) / g->gt[1];
        out[4 * k + 1] = (b[3] - g->gt[3]) / g->gt[5];
        out[4 * k + 2] = (b[2] - g->gt[0]) / g->gt[1];
        out[4 * k + 3] = (b[1] - g->gt[3]) / g->gt[5];
    }
    if (ct != NULL) {
        OCTDestroyCoordinateTransformation(ct);
    }
    if (srs != NULL) {
        OSRRelease(srs);
    }
    return rc;
}

/* Degrees by which lon/lat bounds must be apart for ek_lonlat_apart: far
   more than the error of densified bounds. */
#define APART_DEGREES 0.5

int ek_lonlat_apart(const double a[4], const double b[4])
{
    int k;

    if (a[0] > a[2] || b[0] > b[2]) {
        return 0;
    }
    if (a[1] > b[3] + APART_DEGREES || b[1] > a[3] + APART_DEGREES) {
        return 1;
    }
    for (k = -1; k <= 1; k++) {
        if (a[0] <= b[2] + 360.0 * k + APART_DEGREES &&
            b[0] + 360.0 * k <= a[2] + APART_DEGREES) {
            return 0;
        }
    }
    return 1;
}

int ek_source_place(eodkit_ctx *ctx, const ek_grid *g, const ek_source *s,
                    ek_placement *pl)
{
    double b[4], res = 0;
    OGRSpatialReferenceH srs;
    int same_crs, rc;

    memset(pl, 0, sizeof *pl);
    /* A far source is not transformed at all: the UTM zone of another
       continent may not even hold its corners, and a global build would
       place every file on every zone. */
    if (s->has_lonlat && g->has_lonlat && ek_lonlat_apart(s->lonlat, g->lonlat)) {
        pl->gx0 = pl->gx1 = pl->gy0 = pl->gy1 = -DBL_MAX;
        return EODKIT_OK;
    }
    pl->reaches = 1;
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
    if (same_crs && s->georef == EK_GEOREF_GEOTRANSFORM && s->gt[2] == 0 &&
        s->gt[4] == 0 && same_size(s->gt[1], g->gt[1]) &&
        same_size(s->gt[5], g->gt[5])) {
        double fx = (s->gt[0] - g->gt[0]) / g->gt[1];
        double fy = (s->gt[3] - g->gt[3]) / g->gt[5];
        double drift = fabs(s->gt[1] - g->gt[1]) * fmax(s->width, s->height) / g->gt[1];

        if (fabs(fx - round(fx)) < 1e-6 && fabs(fy - round(fy)) < 1e-6 &&
            drift < 1e-3 && fabs(fx) < EK_MAX_GRID_SIDE &&
            fabs(fy) < EK_MAX_GRID_SIDE) {
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
