/*
** Write: the chip index, a GeoPackage any GIS opens (and, being SQLite,
** Python's stdlib too). One row per chip, written in commit order inside a
** single transaction; footprints are the chip outlines, densified and
** transformed to EPSG:4326 (longitude, latitude).
*/
#include <math.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <ogr_api.h>

#include "ek_write.h"
#include "geo/ek_srs.h"

/* GeoPackage records a last-change time; fixing it keeps builds byte-identical. */
#define FIXED_DATE "2000-01-01T00:00:00.000Z"
#define EDGE_POINTS 8

struct ek_index {
    GDALDatasetH ds;
    OGRLayerH layer;
    OGRCoordinateTransformationH *to_lonlat; /* per grid */
    const ek_grid *grids0; /* the plan's grids: a row's grid index is its offset */
    size_t ngrids;
    char *const *split_names;
    size_t nsplits;
    double *bbox; /* per split + 1 for all: west, south, east, north */
    int *has_bbox;
    int64_t *times; /* per split + 1 for all: first, last (INT64_MAX, INT64_MIN) */
    ek_regions *regions;
    uint64_t *region_chips; /* per region, + 1 for none */
    int target; /* a regression target: labelled shares without class counts */
    const ek_plan *plan;
    char **cells; /* grid.system: the cell id of every chip written */
    size_t ncells, cells_cap;
};

/* The columns of layer "chips", in order (doc/format.md). */
enum {
    F_CHIP_ID,
    F_SPLIT,
    F_SHARD,
    F_ROW,
    F_CRS,
    F_GEOTRANSFORM,
    F_GRID_X,
    F_GRID_Y,
    F_WIDTH,
    F_HEIGHT,
    F_CENTER_LON,
    F_CENTER_LAT,
    F_BLOCK,
    F_NODATA_FRAC,
    F_LABELED_FRAC,
    F_CLASS_HIST,
    F_LABEL,
    F_SOURCES,
    F_COUNTRY,
    F_COUNTRY_NAME,
    F_CONTINENT,
    F_REGION,
    F_REGION_SHARE,
    F_CLOUD_FRAC,
    F_PRESENT,
    F_DATETIME,
    F_DATETIMES,
    F_OBJECTS,
    F_COUNT,
    F_CELL = F_COUNT /* only on a reference grid (grid.system) */
};

static const struct {
    const char *name;
    OGRFieldType type;
} fields[F_COUNT] = {
    [F_CHIP_ID] = {"chip_id", OFTInteger64},
    [F_SPLIT] = {"split", OFTString},
    [F_SHARD] = {"shard", OFTInteger},
    [F_ROW] = {"row", OFTInteger64},
    [F_CRS] = {"crs", OFTString},
    [F_GEOTRANSFORM] = {"geotransform", OFTString},
    [F_GRID_X] = {"grid_x", OFTInteger},
    [F_GRID_Y] = {"grid_y", OFTInteger},
    [F_WIDTH] = {"width", OFTInteger},
    [F_HEIGHT] = {"height", OFTInteger},
    [F_CENTER_LON] = {"center_lon", OFTReal},
    [F_CENTER_LAT] = {"center_lat", OFTReal},
    [F_BLOCK] = {"block", OFTInteger64},
    [F_NODATA_FRAC] = {"nodata_frac", OFTReal},
    [F_LABELED_FRAC] = {"labeled_frac", OFTReal},
    [F_CLASS_HIST] = {"class_hist", OFTString},
    [F_LABEL] = {"label", OFTInteger},
    [F_SOURCES] = {"sources", OFTString},
    [F_COUNTRY] = {"country", OFTString},
    [F_COUNTRY_NAME] = {"country_name", OFTString},
    [F_CONTINENT] = {"continent", OFTString},
    [F_REGION] = {"region", OFTString},
    [F_REGION_SHARE] = {"region_share", OFTReal},
    [F_CLOUD_FRAC] = {"cloud_frac", OFTReal},
    [F_PRESENT] = {"present", OFTString},
    [F_DATETIME] = {"datetime", OFTDateTime},
    [F_DATETIMES] = {"datetimes", OFTString},
    [F_OBJECTS] = {"objects", OFTInteger},
};

int ek_index_create(eodkit_ctx *ctx, const char *path, const ek_plan *p,
                    char *const *split_names, size_t nsplits, ek_regions *regions,
                    ek_index **out)
{
    ek_index *ix = ek_calloc(ctx, 1, sizeof *ix);
    GDALDriverH drv = GDALGetDriverByName("GPKG");
    OGRSpatialReferenceH wgs84 = NULL;
    char **layer_options = NULL;
    size_t f, g;
    int rc = EODKIT_OK;

    *out = NULL;
    if (ix == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    ix->split_names = split_names;
    ix->nsplits = nsplits;
    ix->bbox = ek_calloc(ctx, 4 * (nsplits + 1), sizeof *ix->bbox);
    ix->has_bbox = ek_calloc(ctx, nsplits + 1, sizeof *ix->has_bbox);
    ix->times = ek_calloc(ctx, 2 * (nsplits + 1), sizeof *ix->times);
    for (f = 0; ix->times != NULL && f < nsplits + 1; f++) {
        ix->times[2 * f] = INT64_MAX;
        ix->times[2 * f + 1] = INT64_MIN;
    }
    ix->to_lonlat = ek_calloc(ctx, p->ngrids, sizeof *ix->to_lonlat);
    ix->ngrids = p->ngrids;
    ix->grids0 = p->grids;
    ix->target =
        p->recipe->labels.present && p->recipe->labels.task == EK_TASK_REGRESSION;
    ix->regions = regions;
    ix->plan = p;
    if (regions != NULL) {
        ix->region_chips = ek_calloc(ctx, regions->n + 1, sizeof *ix->region_chips);
    }
    if (ix->bbox == NULL || ix->has_bbox == NULL || ix->times == NULL ||
        ix->to_lonlat == NULL || (regions != NULL && ix->region_chips == NULL)) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", FIXED_DATE);
    if (drv == NULL ||
        (ix->ds = GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, NULL)) == NULL) {
        rc = ek_error_gdal(ctx, "%s: cannot create the chip index", path);
        goto out;
    }
    wgs84 = ek_srs_lonlat();
    layer_options =
        CSLSetNameValue(layer_options, "DESCRIPTION",
                        "eodkit chips: one row per chip (see doc/format.md)");
    ix->layer =
        GDALDatasetCreateLayer(ix->ds, "chips", wgs84, wkbPolygon, layer_options);
    if (ix->layer == NULL) {
        rc = ek_error_gdal(ctx, "%s: cannot create layer 'chips'", path);
        goto out;
    }
    for (f = 0; f < F_COUNT; f++) {
        OGRFieldDefnH fd = OGR_Fld_Create(fields[f].name, fields[f].type);
        OGRErr err = OGR_L_CreateField(ix->layer, fd, TRUE);

        OGR_Fld_Destroy(fd);
        if (err != OGRERR_NONE) {
            rc = ek_error_gdal(ctx, "%s: cannot create field '%s'", path,
                               fields[f].name);
            goto out;
        }
    }
    if (p->recipe->system != EK_SYSTEM_NONE) {
        OGRFieldDefnH fd = OGR_Fld_Create("cell", OFTString);
        OGRErr err = OGR_L_CreateField(ix->layer, fd, TRUE);

        OGR_Fld_Destroy(fd);
        if (err != OGRERR_NONE) {
            rc = ek_error_gdal(ctx, "%s: cannot create field 'cell'", path);
            goto out;
        }
    }
    for (g = 0; g < p->ngrids; g++) {
        ix->to_lonlat[g] = OCTNewCoordinateTransformation(p->grids[g].srs, wgs84);
        if (ix->to_lonlat[g] == NULL) {
            rc = ek_error_gdal(
                ctx, "the grid CRS cannot be transformed to longitude/latitude");
            goto out;
        }
    }
    if (GDALDatasetStartTransaction(ix->ds, FALSE) != OGRERR_NONE) {
        rc = ek_error_gdal(ctx, "%s: cannot start a transaction", path);
    }
out:
    CSLDestroy(layer_options);
    if (wgs84 != NULL) {
        OSRRelease(wgs84);
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

static void widen_times(ek_index *ix, size_t k, const ek_index_row *r)
{
    int64_t *t = ix->times + 2 * k;

    t[0] = r->earliest < t[0] ? r->earliest : t[0];
    t[1] = r->latest > t[1] ? r->latest : t[1];
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

static void set_text(OGRFeatureH f, int field, const char *text)
{
    if (text != NULL) {
        OGR_F_SetFieldString(f, field, text);
    }
}

/* Country, continent, region and the share of the footprint inside region K
   (SHARE, measured when the chips were tagged); "none" over the sea. */
static void set_region(ek_index *ix, OGRFeatureH f, int k, double share)
{
    const ek_region *it = k >= 0 ? &ix->regions->items[k] : NULL;

    ix->region_chips[k >= 0 ? (size_t)k : ix->regions->n]++;
    if (it == NULL) {
        OGR_F_SetFieldString(f, F_COUNTRY, "none");
        OGR_F_SetFieldString(f, F_CONTINENT, "none");
        OGR_F_SetFieldString(f, F_REGION, "none");
        OGR_F_SetFieldDouble(f, F_REGION_SHARE, 0);
        return;
    }
    set_text(f, F_COUNTRY, it->country);
    set_text(f, F_COUNTRY_NAME, it->country_name);
    set_text(f, F_CONTINENT, it->continent);
    set_text(f, F_REGION, it->region);
    OGR_F_SetFieldDouble(f, F_REGION_SHARE, share);
}

/* The chip's time columns: the latest acquisition and all of them. */
static void set_times(OGRFeatureH f, const ek_index_row *r)
{
    time_t t = (time_t)r->latest;
    struct tm tm;

    if (r->times == NULL) {
        return;
    }
    OGR_F_SetFieldString(f, F_DATETIMES, r->times);
    if (r->latest != INT64_MIN) {
        gmtime_r(&t, &tm);
        OGR_F_SetFieldDateTimeEx(f, F_DATETIME, tm.tm_year + 1900, tm.tm_mon + 1,
                                 tm.tm_mday, tm.tm_hour, tm.tm_min, (float)tm.tm_sec,
                                 100);
    }
}

int ek_index_add(eodkit_ctx *ctx, ek_index *ix, const ek_index_row *r)
{
    const ek_grid *g = r->grid;
    size_t gi = (size_t)(g - ix->grids0);
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(ix->layer));
    OGRGeometryH poly = outline(g, &r->window);
    OGREnvelope e;
    double gt[6], cx, cy, cz = 0;
    char text[256];
    int rc = EODKIT_OK;

    ek_grid_window_gt(g, &r->window, gt);
    ek_grid_window_center(g, &r->window, &cx, &cy);
    if (OGR_G_Transform(poly, ix->to_lonlat[gi]) != OGRERR_NONE ||
        !OCTTransform(ix->to_lonlat[gi], 1, &cx, &cy, &cz)) {
        rc = ek_error_gdal(ctx, "chip %lld: cannot transform its footprint to lon/lat",
                           (long long)r->chip_id);
        goto out;
    }
    OGR_F_SetGeometryDirectly(f, poly);
    poly = NULL;
    OGR_F_SetFieldInteger64(f, F_CHIP_ID, r->chip_id);
    OGR_F_SetFieldString(f, F_SPLIT, ix->split_names[r->split]);
    OGR_F_SetFieldInteger(f, F_SHARD, r->shard);
    OGR_F_SetFieldInteger64(f, F_ROW, r->row);
    OGR_F_SetFieldString(f, F_CRS, g->crs_code != NULL ? g->crs_code : g->wkt);
    snprintf(text, sizeof text, "[%.17g, %.17g, %.17g, %.17g, %.17g, %.17g]", gt[0],
             gt[1], gt[2], gt[3], gt[4], gt[5]);
    OGR_F_SetFieldString(f, F_GEOTRANSFORM, text);
    OGR_F_SetFieldInteger(f, F_GRID_X, r->window.x);
    OGR_F_SetFieldInteger(f, F_GRID_Y, r->window.y);
    OGR_F_SetFieldInteger(f, F_WIDTH, r->window.w);
    OGR_F_SetFieldInteger(f, F_HEIGHT, r->window.h);
    OGR_F_SetFieldDouble(f, F_CENTER_LON, cx);
    OGR_F_SetFieldDouble(f, F_CENTER_LAT, cy);
    if (r->block >= 0) {
        OGR_F_SetFieldInteger64(f, F_BLOCK, r->block);
    }
    OGR_F_SetFieldDouble(f, F_NODATA_FRAC, r->nodata_frac);
    if (r->class_hist != NULL || ix->target) {
        OGR_F_SetFieldDouble(f, F_LABELED_FRAC, r->labeled_frac);
    }
    if (r->class_hist != NULL) {
        OGR_F_SetFieldString(f, F_CLASS_HIST, r->class_hist);
    }
    if (r->label >= 0) {
        OGR_F_SetFieldInteger(f, F_LABEL, r->label);
    }
    if (r->objects >= 0) {
        OGR_F_SetFieldInteger(f, F_OBJECTS, r->objects);
    }
    OGR_F_SetFieldString(f, F_SOURCES, r->sources);
    if (ix->regions != NULL) {
        set_region(ix, f, r->region, r->region_share);
    }
    if (r->cloud_frac >= 0) {
        OGR_F_SetFieldDouble(f, F_CLOUD_FRAC, r->cloud_frac);
    }
    set_text(f, F_PRESENT, r->present);
    set_times(f, r);
    if (ix->plan->recipe->system != EK_SYSTEM_NONE) {
        ek_plan_cell(ix->plan, (size_t)r->chip_id, text, sizeof text);
        OGR_F_SetFieldString(f, F_CELL, text);
        rc = ek_grow(ctx, (void **)&ix->cells, &ix->cells_cap, ix->ncells + 1,
                     sizeof *ix->cells);
        if (rc == EODKIT_OK) {
            ix->cells[ix->ncells] = ek_strdup(ctx, text);
            rc = ix->cells[ix->ncells] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
            ix->ncells += rc == EODKIT_OK;
        }
        if (rc != EODKIT_OK) {
            goto out;
        }
    }
    if (OGR_L_CreateFeature(ix->layer, f) != OGRERR_NONE) {
        rc = ek_error_gdal(ctx, "chip %lld: cannot add it to the index",
                           (long long)r->chip_id);
        goto out;
    }
    OGR_G_GetEnvelope(OGR_F_GetGeometryRef(f), &e);
    grow_bbox(ix, (size_t)r->split, &e);
    grow_bbox(ix, ix->nsplits, &e);
    widen_times(ix, (size_t)r->split, r);
    widen_times(ix, ix->nsplits, r);
out:
    OGR_G_DestroyGeometry(poly);
    OGR_F_Destroy(f);
    return rc;
}

int ek_index_time_range(const ek_index *ix, int s, int64_t *first, int64_t *last)
{
    size_t k = s < 0 ? ix->nsplits : (size_t)s;

    *first = ix->times[2 * k];
    *last = ix->times[2 * k + 1];
    return *first <= *last;
}

const uint64_t *ek_index_region_chips(const ek_index *ix, size_t *n)
{
    *n = ix->regions != NULL ? ix->regions->n + 1 : 0;
    return ix->region_chips;
}

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t ek_index_cells(const ek_index *ix, char *const **cells)
{
    *cells = ix->cells;
    return ix->ncells;
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

    if (ix->ncells > 1) { /* no cells (NULL) without a reference grid */
        qsort(ix->cells, ix->ncells, sizeof *ix->cells, compare_text);
    }
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
    for (size_t g = 0; ix->to_lonlat != NULL && g < ix->ngrids; g++) {
        if (ix->to_lonlat[g] != NULL) {
            OCTDestroyCoordinateTransformation(ix->to_lonlat[g]);
        }
    }
    free(ix->to_lonlat);
    free(ix->bbox);
    free(ix->has_bbox);
    free(ix->times);
    free(ix->region_chips);
    for (size_t k = 0; k < ix->ncells; k++) {
        free(ix->cells[k]);
    }
    free(ix->cells);
    free(ix);
}
