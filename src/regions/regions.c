/*
** Regions: loading a country layer and tagging points and footprints.
** Country codes are ISO 3166-1 alpha-3; layers that only hold alpha-2 codes
** (like the default world layer) are converted with Debian's iso-codes
** table. Tagging is by the chip centre; the share of the footprint inside
** that country is recorded too, so border chips are visible.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <jansson.h>

#include "core/ek_fs.h"
#include "ek_regions.h"
#include "geo/ek_srs.h"
#include "label/ek_label.h"

#define ISO_CODES "/usr/share/iso-codes/json/iso_3166-1.json"

/* A point outside every polygon but within this many degrees (about 11 km at
   the equator) of one belongs to it: the default 1:110m world layer moves
   coastlines by kilometres, and a coastal city is not the sea. */
#define COAST_SNAP_DEGREES 0.1

#ifndef EODKIT_DATA_DIR
#define EODKIT_DATA_DIR "/usr/local/share/eodkit"
#endif
#ifndef EODKIT_SOURCE_DIR
#define EODKIT_SOURCE_DIR "."
#endif

const char *const ek_regions_default_paths[] = {
    EODKIT_DATA_DIR "/world.gpkg",
    EODKIT_SOURCE_DIR "/examples/data/world.gpkg",
    NULL,
};

const char *ek_regions_default(void)
{
    const char *env = getenv("EODKIT_REGIONS");
    size_t i;

    if (env != NULL && env[0] != '\0') {
        return env;
    }
    for (i = 0; ek_regions_default_paths[i] != NULL; i++) {
        if (ek_fs_is_file(ek_regions_default_paths[i])) {
            return ek_regions_default_paths[i];
        }
    }
    return NULL;
}

/* Index of the first of the NULL-terminated NAMES that DEFN has, or -1. */
static int find_field(OGRFeatureDefnH defn, const char *const *names)
{
    int i, k;

    for (k = 0; names[k] != NULL; k++) {
        i = OGR_FD_GetFieldIndex(defn, names[k]);
        if (i >= 0) {
            return i;
        }
    }
    return -1;
}

static char *field_text(eodkit_ctx *ctx, OGRFeatureH f, int field)
{
    const char *v;

    if (field < 0 || !OGR_F_IsFieldSetAndNotNull(f, field)) {
        return NULL;
    }
    v = OGR_F_GetFieldAsString(f, field);
    return v[0] == '\0' ? NULL : ek_strdup(ctx, v);
}

/* The alpha-2 -> alpha-3 table of iso-codes. */
static int load_iso_codes(eodkit_ctx *ctx, json_t **table)
{
    json_error_t err;

    *table = json_load_file(ISO_CODES, 0, &err);
    if (*table == NULL) {
        return ek_error(ctx, EODKIT_ERR_IO,
                        "%s: cannot read ISO 3166 country codes (install Debian's "
                        "iso-codes package): %s",
                        ISO_CODES, err.text);
    }
    return EODKIT_OK;
}

/* Alpha-3 code of alpha-2 code A2 (XK, Kosovo, has no ISO code: XKX by
   convention); A2 itself when unknown. */
static char *alpha3(eodkit_ctx *ctx, json_t *table, const char *a2)
{
    json_t *entry;
    size_t i;

    if (strcmp(a2, "XK") == 0) {
        return ek_strdup(ctx, "XKX");
    }
    json_array_foreach(json_object_get(table, "3166-1"), i, entry)
    {
        if (strcmp(json_string_value(json_object_get(entry, "alpha_2")), a2) == 0) {
            return ek_strdup(ctx, json_string_value(json_object_get(entry, "alpha_3")));
        }
    }
    return ek_strdup(ctx, a2);
}

static int missing_field(eodkit_ctx *ctx, const char *path, const char *where,
                         OGRFeatureDefnH defn, const char *field)
{
    char hint[512];

    ek_field_hint(defn, field, hint, sizeof hint);
    return ek_error(ctx, EODKIT_ERR_INPUT,
                    "%s: the region layer has no field '%s'%s (%s)", path, field, hint,
                    where);
}

typedef struct fields {
    int code, code_fallback, name, continent, region;
    int code_is_alpha2;
} fields;

static int pick_fields(eodkit_ctx *ctx, const char *path, const char *where,
                       OGRFeatureDefnH defn, const char *field, fields *fl)
{
    static const char *const alpha3_names[] = {"iso_a3", "ISO_A3", "ISO3", "iso3",
                                               NULL};
    static const char *const adm0_names[] = {"adm0_a3", "ADM0_A3", NULL};
    static const char *const alpha2_names[] = {"iso_a2", "ISO_A2", "ISO2", "iso2",
                                               NULL};
    static const char *const name_names[] = {"name_long", "NAME_LONG", "admin", "ADMIN",
                                             "name",      "NAME",      NULL};
    static const char *const continent_names[] = {"continent", "CONTINENT", NULL};

    fl->code = find_field(defn, alpha3_names);
    /* Natural Earth writes -99 where ISO has no code (France, Norway): ADM0_A3 then. */
    fl->code_fallback = find_field(defn, adm0_names);
    fl->code_is_alpha2 = 0;
    if (fl->code < 0) {
        fl->code = find_field(defn, alpha2_names);
        fl->code_is_alpha2 = fl->code >= 0;
    }
    fl->name = find_field(defn, name_names);
    fl->continent = find_field(defn, continent_names);
    if (field == NULL) {
        fl->region = fl->continent;
        return EODKIT_OK;
    }
    fl->region = OGR_FD_GetFieldIndex(defn, field);
    return fl->region < 0 ? missing_field(ctx, path, where, defn, field) : EODKIT_OK;
}

static int add_region(eodkit_ctx *ctx, ek_regions *r, size_t *cap, OGRFeatureH f,
                      const fields *fl, json_t *iso, OGRCoordinateTransformationH ct)
{
    OGRGeometryH geom = OGR_F_GetGeometryRef(f);
    ek_region *it;
    OGREnvelope e;
    CPLRectObj rect;
    char *code;
    int rc;

    if (geom == NULL) {
        return EODKIT_OK;
    }
    rc = ek_grow(ctx, (void **)&r->items, cap, r->n + 1, sizeof *r->items);
    if (rc != EODKIT_OK) {
        return rc;
    }
    it = &r->items[r->n];
    it->geom = OGR_G_Clone(geom);
    if (ct != NULL && OGR_G_Transform(it->geom, ct) != OGRERR_NONE) {
        OGR_G_DestroyGeometry(it->geom);
        it->geom = NULL;
        return ek_error_gdal(ctx, "%s: region %lld cannot be transformed to lon/lat",
                             r->path, (long long)OGR_F_GetFID(f));
    }
    r->n++;
    it->prepared = OGRCreatePreparedGeometry(it->geom);
    code = field_text(ctx, f, fl->code);
    if (code != NULL && strcmp(code, "-99") == 0) {
        free(code);
        code = field_text(ctx, f, fl->code_fallback);
    }
    if (code != NULL && fl->code_is_alpha2) {
        it->country = alpha3(ctx, iso, code);
        free(code);
    } else {
        it->country = code;
    }
    it->country_name = field_text(ctx, f, fl->name);
    it->continent = field_text(ctx, f, fl->continent);
    it->region = field_text(ctx, f, fl->region);
    OGR_G_GetEnvelope(it->geom, &e);
    rect.minx = e.MinX, rect.miny = e.MinY, rect.maxx = e.MaxX, rect.maxy = e.MaxY;
    CPLQuadTreeInsertWithBounds(r->tree, (void *)(intptr_t)r->n, &rect);
    return EODKIT_OK;
}

int ek_regions_open(eodkit_ctx *ctx, const char *path, const char *field,
                    const char *where, ek_regions **out)
{
    static const CPLRectObj world = {-180.0, -90.0, 180.0, 90.0};
    ek_regions *r = NULL;
    GDALDatasetH ds = NULL;
    OGRLayerH layer;
    OGRSpatialReferenceH lsrs, wgs84 = NULL;
    OGRCoordinateTransformationH ct = NULL;
    OGRFeatureH f;
    json_t *iso = NULL;
    fields fl;
    size_t cap = 0;
    int rc = EODKIT_OK;

    *out = NULL;
    if (!ek_fs_exists(path)) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: no such region layer (%s)", path,
                        where);
    }
    GDALAllRegister(); /* idempotent; the caller may be the first to read GDAL data */
    ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (ds == NULL || GDALDatasetGetLayerCount(ds) == 0) {
        rc = ek_error_gdal(ctx, "%s: GDAL cannot read it as a region layer (%s)", path,
                           where);
        goto out;
    }
    layer = GDALDatasetGetLayer(ds, 0);
    rc = pick_fields(ctx, path, where, OGR_L_GetLayerDefn(layer), field, &fl);
    if (rc == EODKIT_OK && fl.code_is_alpha2) {
        rc = load_iso_codes(ctx, &iso);
    }
    if (rc != EODKIT_OK) {
        goto out;
    }
    r = ek_calloc(ctx, 1, sizeof *r);
    if (r == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    r->path = ek_strdup(ctx, path);
    r->field = field != NULL ? ek_strdup(ctx, field) : NULL;
    r->tree = CPLQuadTreeCreate(&world, NULL);
    lsrs = OGR_L_GetSpatialRef(layer);
    wgs84 = ek_srs_lonlat();
    if (lsrs != NULL && !OSRIsSame(lsrs, wgs84)) {
        lsrs = OSRClone(lsrs);
        OSRSetAxisMappingStrategy(lsrs, OAMS_TRADITIONAL_GIS_ORDER);
        ct = OCTNewCoordinateTransformation(lsrs, wgs84);
        OSRRelease(lsrs);
        if (ct == NULL) {
            rc = ek_error_gdal(
                ctx, "%s: the region layer cannot be transformed to lon/lat", path);
            goto out;
        }
    }
    OGR_L_ResetReading(layer);
    while (rc == EODKIT_OK) {
        rc = ek_next_feature(ctx, layer, path, where, &f);
        if (rc != EODKIT_OK || f == NULL) {
            break;
        }
        rc = add_region(ctx, r, &cap, f, &fl, iso, ct);
        OGR_F_Destroy(f);
    }
    if (rc == EODKIT_OK && r->n == 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: the region layer has no polygons (%s)", path, where);
    }
out:
    json_decref(iso);
    if (ct != NULL) {
        OCTDestroyCoordinateTransformation(ct);
    }
    if (wgs84 != NULL) {
        OSRRelease(wgs84);
    }
    if (ds != NULL) {
        GDALClose(ds);
    }
    if (rc != EODKIT_OK) {
        ek_regions_free(r);
        return rc;
    }
    *out = r;
    return EODKIT_OK;
}

void ek_regions_free(ek_regions *r)
{
    size_t i;

    if (r == NULL) {
        return;
    }
    for (i = 0; i < r->n; i++) {
        OGRDestroyPreparedGeometry(r->items[i].prepared);
        OGR_G_DestroyGeometry(r->items[i].geom);
        free(r->items[i].country);
        free(r->items[i].country_name);
        free(r->items[i].continent);
        free(r->items[i].region);
    }
    free(r->items);
    if (r->tree != NULL) {
        CPLQuadTreeDestroy(r->tree);
    }
    free(r->path);
    free(r->field);
    free(r);
}

static int compare_ptr(const void *a, const void *b)
{
    intptr_t x = (intptr_t) * (void *const *)a, y = (intptr_t) * (void *const *)b;

    return (x > y) - (x < y);
}

/* Region indices whose bounds meet the box of half-size HALF around LON/LAT,
   in layer order; *N of them (free with CPLFree). */
static void **candidates(const ek_regions *r, double lon, double lat, double half,
                         int *n)
{
    CPLRectObj box = {lon - half, lat - half, lon + half, lat + half};
    void **hits = CPLQuadTreeSearch(r->tree, &box, n);

    if (*n > 1) {
        qsort(hits, (size_t)*n, sizeof *hits, compare_ptr);
    }
    return hits;
}

int ek_regions_find(ek_regions *r, double lon, double lat)
{
    OGRGeometryH point = OGR_G_CreateGeometry(wkbPoint);
    void **hits;
    double best = COAST_SNAP_DEGREES;
    int n = 0, i, found = -1;

    OGR_G_SetPoint_2D(point, 0, lon, lat);
    hits = candidates(r, lon, lat, 0, &n);
    for (i = 0; i < n && found < 0; i++) {
        int k = (int)(intptr_t)hits[i] - 1;

        /* Intersects, not Contains: a point on a border belongs somewhere. */
        if (OGRPreparedGeometryIntersects(r->items[k].prepared, point)) {
            found = k;
        }
    }
    CPLFree(hits);
    if (found < 0) {
        hits = candidates(r, lon, lat, COAST_SNAP_DEGREES, &n);
        for (i = 0; i < n; i++) {
            int k = (int)(intptr_t)hits[i] - 1;
            double d = OGR_G_Distance(r->items[k].geom, point);

            if (d >= 0 && d <= best && (found < 0 || d < best)) {
                best = d;
                found = k;
            }
        }
        CPLFree(hits);
    }
    OGR_G_DestroyGeometry(point);
    return found;
}

double ek_regions_share(ek_regions *r, int k, OGRGeometryH footprint)
{
    OGRGeometryH inside;
    double area = OGR_G_Area(footprint), share;

    if (k < 0 || area <= 0) {
        return 0;
    }
    if (OGRPreparedGeometryContains(r->items[k].prepared, footprint)) {
        return 1;
    }
    inside = OGR_G_Intersection(r->items[k].geom, footprint);
    share = inside != NULL ? OGR_G_Area(inside) / area : 0;
    OGR_G_DestroyGeometry(inside);
    return share > 1 ? 1 : share;
}

int ek_regions_tag_plan(eodkit_ctx *ctx, ek_regions *r, const ek_plan *p, int32_t **out)
{
    OGRSpatialReferenceH wgs84 = ek_srs_lonlat();
    OGRCoordinateTransformationH *to_lonlat =
        ek_calloc(ctx, p->ngrids, sizeof *to_lonlat);
    int32_t *tags = ek_calloc(ctx, p->ncandidates + 1, sizeof *tags);
    size_t g, k;
    int rc = tags == NULL || to_lonlat == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    *out = NULL;
    for (g = 0; g < p->ngrids && rc == EODKIT_OK; g++) {
        to_lonlat[g] = OCTNewCoordinateTransformation(p->grids[g].srs, wgs84);
        if (to_lonlat[g] == NULL) {
            rc = ek_error_gdal(ctx, "the grid CRS cannot be transformed to lon/lat");
        }
    }
    for (k = 0; k < p->ncandidates && rc == EODKIT_OK; k++) {
        ek_chip c = ek_plan_chip(p, p->chips[k]);
        double x, y, z = 0;

        rc = ek_cancelled(ctx); /* a region lookup per chip takes a while */
        ek_grid_window_center(&p->grids[c.grid], &c.window, &x, &y);
        tags[k] = -1;
        if (OCTTransform(to_lonlat[c.grid], 1, &x, &y, &z)) {
            tags[k] = ek_regions_find(r, x, y);
        }
    }
    for (g = 0; to_lonlat != NULL && g < p->ngrids; g++) {
        if (to_lonlat[g] != NULL) {
            OCTDestroyCoordinateTransformation(to_lonlat[g]);
        }
    }
    free(to_lonlat);
    OSRRelease(wgs84);
    if (rc != EODKIT_OK) {
        free(tags);
        return rc;
    }
    *out = tags;
    return EODKIT_OK;
}
