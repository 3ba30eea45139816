/*
** Regions: loading a country layer and tagging points and footprints.
** A chip belongs to the country holding the largest share of its footprint:
** chips inside one country are settled by a GEOS prepared "contains"; only
** chips on borders and coasts have their overlaps measured, on pieces of
** the country cut small once, on first use. Country codes are ISO 3166-1
** alpha-3; continents come from the layer or from share/regions/continents.csv.
*/
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <gdal.h>
#include <jansson.h>

#include "core/ek_fs.h"
#include "ek_regions.h"
#include "geo/ek_vector.h"
#include "geo/ek_srs.h"

#define ISO_CODES "/usr/share/iso-codes/json/iso_3166-1.json"

/* A point outside every polygon but within this many degrees (about 11 km at
   the equator) of one belongs to it: coarse layers move coastlines by
   kilometres, and a coastal city is not the sea. */
#define COAST_SNAP_DEGREES 0.1

/* Points along each edge of a chip outline: a chip of a projected grid is
   not a rectangle in lon/lat. */
#define EDGE_POINTS 8

/* Countries are cut into pieces of at most this many points before overlaps
   are measured (GEOS copies both geometries on every intersection). */
#define PIECE_POINTS 256
#define CUT_DEPTH 24

/* Metres per degree of latitude (the smallest, at the equator), so that a
   margin in degrees covers at least the margin in metres. */
#define METRES_PER_DEGREE 110574.0

#ifndef EODKIT_DATA_DIR
#define EODKIT_DATA_DIR "/usr/local/share/eodkit"
#endif
#ifndef EODKIT_SOURCE_DIR
#define EODKIT_SOURCE_DIR "."
#endif

/* The executable's ../share/eodkit into DIR, or "" when unknown. */
static void exe_data_dir(char *dir, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;
    int up;

    dir[0] = '\0';
    if (n <= 0) {
        return;
    }
    exe[n] = '\0';
    for (up = 0; up < 2; up++) { /* PREFIX/bin/eodkit -> PREFIX */
        slash = strrchr(exe, '/');
        if (slash == NULL) {
            return;
        }
        *slash = '\0';
    }
    if (snprintf(dir, size, "%s/share/eodkit", exe) >= (int)size) {
        dir[0] = '\0'; /* too long to be of use */
    }
}

int ek_regions_data(const char *name, char *path, size_t size)
{
    const char *env = getenv("EODKIT_DATA_DIR");
    char dirs[4][PATH_MAX];
    size_t i, n = 4, used = 0;

    if (env != NULL && env[0] != '\0') {
        n = 1;
        if (snprintf(dirs[0], sizeof dirs[0], "%s", env) >= (int)sizeof dirs[0]) {
            dirs[0][0] = '\0';
        }
    } else {
        exe_data_dir(dirs[0], sizeof dirs[0]);
        snprintf(dirs[1], sizeof dirs[1], "%s", EODKIT_DATA_DIR);
        snprintf(dirs[2], sizeof dirs[2], "%s/examples/data", EODKIT_SOURCE_DIR);
        snprintf(dirs[3], sizeof dirs[3], "%s/share/regions", EODKIT_SOURCE_DIR);
    }
    for (i = 0; i < n; i++) {
        int len = snprintf(path, size, "%s/%s", dirs[i], name);

        if (dirs[i][0] != '\0' && len < (int)size && ek_fs_is_file(path)) {
            return 1;
        }
    }
    path[0] = '\0';
    for (i = 0; i < n && used < size; i++) {
        if (dirs[i][0] != '\0') {
            used += (size_t)snprintf(path + used, size - used, "%s%s",
                                     used > 0 ? ", " : "", dirs[i]);
        }
    }
    return 0;
}

const char *ek_regions_default(void)
{
    static _Thread_local char found[PATH_MAX];
    const char *env = getenv("EODKIT_REGIONS");

    if (env != NULL && env[0] != '\0') {
        return env;
    }
    return ek_regions_data(EK_REGIONS_WORLD, found, sizeof found) ? found : NULL;
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

/* Whether field FIELD of F holds a code: not empty, not a negative number
   (Natural Earth's -99 for "none"). */
static int is_code(OGRFeatureH f, int field)
{
    const char *v;

    if (field < 0 || !OGR_F_IsFieldSetAndNotNull(f, field)) {
        return 0;
    }
    v = OGR_F_GetFieldAsString(f, field);
    return v[0] != '\0' && v[0] != '-';
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

/* The iso-codes entry whose KEY ("alpha_2", "alpha_3") is CODE, or NULL. */
static json_t *iso_entry(json_t *table, const char *key, const char *code)
{
    json_t *entry;
    size_t i;

    json_array_foreach(json_object_get(table, "3166-1"), i, entry)
    {
        const char *v = json_string_value(json_object_get(entry, key));

        if (v != NULL && strcmp(v, code) == 0) {
            return entry;
        }
    }
    return NULL;
}

/* Alpha-3 code of alpha-2 code A2 (XK, Kosovo, has no ISO code: XKX by
   convention); A2 itself when unknown. */
static char *alpha3(eodkit_ctx *ctx, json_t *table, const char *a2)
{
    json_t *entry = iso_entry(table, "alpha_2", a2);

    if (strcmp(a2, "XK") == 0) {
        return ek_strdup(ctx, "XKX");
    }
    return ek_strdup(
        ctx, entry != NULL ? json_string_value(json_object_get(entry, "alpha_3")) : a2);
}

/* The short ISO name of alpha-3 code CODE ("Bolivia", not "Bolivia,
   Plurinational State of"), or NULL. */
static char *iso_name(eodkit_ctx *ctx, json_t *table, const char *code)
{
    json_t *entry = code != NULL ? iso_entry(table, "alpha_3", code) : NULL;
    json_t *common = json_object_get(entry, "common_name");

    if (entry == NULL) {
        return NULL;
    }
    return ek_strdup(
        ctx,
        json_string_value(common != NULL ? common : json_object_get(entry, "name")));
}

/* The columns of the continent table after the code: layers without these
   fields take them from the table. */
static const char *const table_columns[] = {"continent", "subregion"};
#define NCOLUMNS 2

/* FIELD is not a field of DEFN (TABLE: the layer takes the table's columns,
   whose names count too). */
static int missing_field(eodkit_ctx *ctx, const char *path, const char *where,
                         OGRFeatureDefnH defn, const char *field, int table)
{
    const char *near = table ? ek_nearest_word(field, table_columns, NCOLUMNS) : NULL;
    char hint[512];

    if (near != NULL) {
        snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
    } else {
        ek_field_hint(defn, field, hint, sizeof hint);
    }
    return ek_error(ctx, EODKIT_ERR_INPUT,
                    "%s: the region layer has no field '%s'%s (%s)", path, field, hint,
                    where);
}

/* The continent table: ISO alpha-3 code -> continent, subregion. */
typedef struct continents {
    char (*code)[4];
    char **value; /* NCOLUMNS per code */
    size_t n;
} continents;

static void free_continents(continents *t)
{
    size_t i;

    for (i = 0; i < t->n * NCOLUMNS; i++) {
        free(t->value[i]);
    }
    free(t->code);
    free(t->value);
    memset(t, 0, sizeof *t);
}

/* Add line LINE ("CODE,Continent,Subregion") of the table to T; 0 when it
   is not such a line. */
static int add_row(eodkit_ctx *ctx, continents *t, size_t *cap, size_t *vcap,
                   char *line, int *ok)
{
    char *cut[NCOLUMNS];
    size_t k;
    int rc;

    cut[0] = strchr(line, ',');
    cut[1] = cut[0] != NULL ? strchr(cut[0] + 1, ',') : NULL;
    *ok = cut[0] == line + 3 && cut[1] != NULL && cut[1] > cut[0] + 1 &&
          cut[1][1] != '\0' && strchr(cut[1] + 1, ',') == NULL;
    if (!*ok) {
        return EODKIT_OK;
    }
    rc = ek_grow(ctx, (void **)&t->code, cap, t->n + 1, sizeof *t->code);
    if (rc == EODKIT_OK) {
        rc = ek_grow(ctx, (void **)&t->value, vcap, (t->n + 1) * NCOLUMNS,
                     sizeof *t->value);
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    *cut[0] = *cut[1] = '\0';
    memcpy(t->code[t->n], line, 4);
    for (k = 0; k < NCOLUMNS; k++) {
        t->value[t->n * NCOLUMNS + k] = ek_strdup(ctx, cut[k] + 1);
        rc = t->value[t->n * NCOLUMNS + k] == NULL ? EODKIT_ERR_NOMEM : rc;
    }
    t->n++;
    return rc;
}

/* Read share/regions/continents.csv (header "iso_a3,continent,subregion",
   then one "CODE,Continent,Subregion" line per country) into T. WHERE: who
   needs it. */
static int load_continents(eodkit_ctx *ctx, const char *where, continents *t)
{
    char path[4 * PATH_MAX], line[256];
    size_t cap = 0, vcap = 0;
    long number = 0;
    FILE *fp;
    int ok = 1, rc = EODKIT_OK;

    memset(t, 0, sizeof *t);
    if (!ek_regions_data(EK_REGIONS_CONTINENTS, path, sizeof path)) {
        return ek_error(ctx, EODKIT_ERR_IO,
                        "%s: the region layer has no continent field and the continent "
                        "table %s is in none of %s (run 'make install' or give a "
                        "layer with a 'continent' field)",
                        where, EK_REGIONS_CONTINENTS, path);
    }
    fp = fopen(path, "r");
    if (fp == NULL) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot open it: %s", path,
                        strerror(errno));
    }
    while (rc == EODKIT_OK && ok && fgets(line, sizeof line, fp) != NULL) {
        number++;
        line[strcspn(line, "\r\n")] = '\0';
        if (number > 1) { /* after the header */
            rc = add_row(ctx, t, &cap, &vcap, line, &ok);
        }
    }
    fclose(fp);
    if (rc == EODKIT_OK && !ok) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s:%ld: expected 'ISO alpha-3 code,continent,subregion'", path,
                      number);
    }
    if (rc != EODKIT_OK) {
        free_continents(t);
    }
    return rc;
}

/* Column COLUMN of the table for alpha-3 code CODE (a copy), or NULL. */
static char *table_value(eodkit_ctx *ctx, const continents *t, const char *code,
                         int column)
{
    size_t i;

    for (i = 0; code != NULL && column >= 0 && i < t->n; i++) {
        if (strcmp(t->code[i], code) == 0) {
            return ek_strdup(ctx, t->value[i * NCOLUMNS + (size_t)column]);
        }
    }
    return NULL;
}

/* The table column named NAME (any case), or -1. */
static int table_column(const char *name)
{
    int k;

    for (k = 0; k < NCOLUMNS; k++) {
        if (strcasecmp(name, table_columns[k]) == 0) {
            return k;
        }
    }
    return -1;
}

typedef struct fields {
    int alpha3[3]; /* ISO_A3, ISO_A3_EH, ADM0_A3, in that order; -1 if absent */
    int alpha2;
    int long_name, name, continent, region;
    int region_column; /* region < 0: the table column of the region, or -1 */
} fields;

static int pick_fields(eodkit_ctx *ctx, const char *path, const char *where,
                       OGRFeatureDefnH defn, const char *field, fields *fl)
{
    static const char *const alpha3_names[] = {"iso_a3", "ISO_A3", "ISO3", "iso3",
                                               NULL};
    static const char *const eh_names[] = {"iso_a3_eh", "ISO_A3_EH", NULL};
    static const char *const adm0_names[] = {"adm0_a3", "ADM0_A3", NULL};
    static const char *const alpha2_names[] = {"iso_a2", "ISO_A2", "ISO2", "iso2",
                                               NULL};
    static const char *const long_names[] = {"name_long", "NAME_LONG", "admin", "ADMIN",
                                             NULL};
    static const char *const name_names[] = {"name", "NAME", NULL};
    static const char *const continent_names[] = {"continent", "CONTINENT", NULL};

    fl->alpha3[0] = find_field(defn, alpha3_names);
    fl->alpha3[1] = find_field(defn, eh_names);
    fl->alpha3[2] = find_field(defn, adm0_names);
    fl->alpha2 = find_field(defn, alpha2_names);
    fl->long_name = find_field(defn, long_names);
    fl->name = find_field(defn, name_names);
    fl->continent = find_field(defn, continent_names);
    fl->region = field != NULL ? OGR_FD_GetFieldIndex(defn, field) : fl->continent;
    fl->region_column =
        fl->region >= 0 ? -1 : table_column(field != NULL ? field : "continent");
    if (fl->region >= 0 || fl->region_column >= 0) {
        return EODKIT_OK;
    }
    return missing_field(ctx, path, where, defn, field, 1);
}

/* The country code of F into *CODE (NULL when it has none): the first
   alpha-3 code, else its alpha-2 code converted (*ISO loaded on first
   need). */
static int country_code(eodkit_ctx *ctx, OGRFeatureH f, const fields *fl, json_t **iso,
                        char **code)
{
    int i, rc;

    *code = NULL;
    for (i = 0; i < 3; i++) {
        if (is_code(f, fl->alpha3[i])) {
            *code = field_text(ctx, f, fl->alpha3[i]);
            return *code == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        }
    }
    if (!is_code(f, fl->alpha2)) {
        return EODKIT_OK;
    }
    rc = *iso == NULL ? load_iso_codes(ctx, iso) : EODKIT_OK;
    if (rc == EODKIT_OK) {
        *code = alpha3(ctx, *iso, OGR_F_GetFieldAsString(f, fl->alpha2));
        rc = *code == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    return rc;
}

/* The country name of F (code CODE): its long name field, else the ISO
   name of CODE (*ISO loaded on first need), else its name field. */
static int country_name(eodkit_ctx *ctx, OGRFeatureH f, const fields *fl,
                        const char *code, json_t **iso, char **name)
{
    int rc = EODKIT_OK;

    *name = field_text(ctx, f, fl->long_name);
    if (*name == NULL && code != NULL) {
        rc = *iso == NULL ? load_iso_codes(ctx, iso) : EODKIT_OK;
        *name = rc == EODKIT_OK ? iso_name(ctx, *iso, code) : NULL;
    }
    if (*name == NULL && rc == EODKIT_OK) {
        *name = field_text(ctx, f, fl->name);
    }
    return rc;
}

/* What add_region needs besides the feature. */
typedef struct loader {
    ek_regions *r;
    size_t cap;
    fields fl;
    json_t *iso;      /* loaded on first alpha-2 code */
    continents table; /* when the layer lacks a continent or region field */
    OGRCoordinateTransformationH ct; /* layer CRS -> lon/lat, or NULL */
} loader;

static int add_region(eodkit_ctx *ctx, loader *ld, OGRFeatureH f)
{
    ek_regions *r = ld->r;
    OGRGeometryH geom = OGR_F_GetGeometryRef(f);
    ek_region *it;
    CPLRectObj rect;
    int rc;

    if (geom == NULL) {
        return EODKIT_OK;
    }
    rc = ek_grow(ctx, (void **)&r->items, &ld->cap, r->n + 1, sizeof *r->items);
    if (rc != EODKIT_OK) {
        return rc;
    }
    it = &r->items[r->n];
    memset(it, 0, sizeof *it);
    it->geom = OGR_G_Clone(geom);
    if (ld->ct != NULL && OGR_G_Transform(it->geom, ld->ct) != OGRERR_NONE) {
        OGR_G_DestroyGeometry(it->geom);
        it->geom = NULL;
        return ek_error_gdal(ctx, "%s: region %lld cannot be transformed to lon/lat",
                             r->path, (long long)OGR_F_GetFID(f));
    }
    r->n++;
    rc = country_code(ctx, f, &ld->fl, &ld->iso, &it->country);
    if (rc == EODKIT_OK) {
        rc = country_name(ctx, f, &ld->fl, it->country, &ld->iso, &it->country_name);
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    it->continent = ld->fl.continent >= 0
                        ? field_text(ctx, f, ld->fl.continent)
                        : table_value(ctx, &ld->table, it->country, 0);
    it->region = ld->fl.region >= 0
                     ? field_text(ctx, f, ld->fl.region)
                     : table_value(ctx, &ld->table, it->country, ld->fl.region_column);
    OGR_G_GetEnvelope(it->geom, &it->bounds);
    rect.minx = it->bounds.MinX, rect.miny = it->bounds.MinY;
    rect.maxx = it->bounds.MaxX, rect.maxy = it->bounds.MaxY;
    CPLQuadTreeInsertWithBounds(r->tree, (void *)(intptr_t)r->n, &rect);
    return EODKIT_OK;
}

/* The layer of DS that holds countries: `countries` in a file of several
   layers (QGIS's world_map.gpkg), else the first. */
static OGRLayerH country_layer(GDALDatasetH ds)
{
    OGRLayerH layer = GDALDatasetGetLayerCount(ds) > 1
                          ? GDALDatasetGetLayerByName(ds, "countries")
                          : NULL;

    return layer != NULL ? layer : GDALDatasetGetLayer(ds, 0);
}

int ek_regions_open(eodkit_ctx *ctx, const char *path, const char *field,
                    const char *where, ek_regions **out)
{
    static const CPLRectObj world = {-180.0, -90.0, 180.0, 90.0};
    GDALDatasetH ds = NULL;
    OGRLayerH layer;
    OGRSpatialReferenceH lsrs, wgs84 = NULL;
    OGRFeatureH f;
    loader ld;
    char what[PATH_MAX + 64];
    int rc = EODKIT_OK;

    *out = NULL;
    memset(&ld, 0, sizeof ld);
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
    layer = country_layer(ds);
    rc = pick_fields(ctx, path, where, OGR_L_GetLayerDefn(layer), field, &ld.fl);
    if (rc == EODKIT_OK && (ld.fl.continent < 0 || ld.fl.region_column >= 0)) {
        snprintf(what, sizeof what, "%s (%s)", path, where);
        rc = load_continents(ctx, what, &ld.table);
    }
    if (rc != EODKIT_OK) {
        goto out;
    }
    ld.r = ek_calloc(ctx, 1, sizeof *ld.r);
    if (ld.r == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    ld.r->path = ek_strdup(ctx, path);
    ld.r->field = field != NULL ? ek_strdup(ctx, field) : NULL;
    ld.r->tree = CPLQuadTreeCreate(&world, NULL);
    lsrs = OGR_L_GetSpatialRef(layer);
    wgs84 = ek_srs_lonlat();
    if (lsrs != NULL && !OSRIsSame(lsrs, wgs84)) {
        lsrs = OSRClone(lsrs);
        OSRSetAxisMappingStrategy(lsrs, OAMS_TRADITIONAL_GIS_ORDER);
        ld.ct = OCTNewCoordinateTransformation(lsrs, wgs84);
        OSRRelease(lsrs);
        if (ld.ct == NULL) {
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
        rc = add_region(ctx, &ld, f);
        OGR_F_Destroy(f);
    }
    if (rc == EODKIT_OK && ld.r->n == 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: the region layer has no polygons (%s)", path, where);
    }
out:
    free_continents(&ld.table);
    json_decref(ld.iso);
    if (ld.ct != NULL) {
        OCTDestroyCoordinateTransformation(ld.ct);
    }
    if (wgs84 != NULL) {
        OSRRelease(wgs84);
    }
    if (ds != NULL) {
        GDALClose(ds);
    }
    if (rc != EODKIT_OK) {
        ek_regions_free(ld.r);
        return rc;
    }
    *out = ld.r;
    return EODKIT_OK;
}

void ek_regions_free(ek_regions *r)
{
    size_t i, k;

    if (r == NULL) {
        return;
    }
    for (i = 0; i < r->n; i++) {
        ek_region *it = &r->items[i];

        for (k = 0; k < it->npieces; k++) {
            OGR_G_DestroyGeometry(it->pieces[k]);
        }
        free(it->pieces);
        free(it->piece_bounds);
        if (it->prepared != NULL) {
            OGRDestroyPreparedGeometry(it->prepared);
        }
        OGR_G_DestroyGeometry(it->geom);
        free(it->country);
        free(it->country_name);
        free(it->continent);
        free(it->region);
    }
    free(r->items);
    if (r->tree != NULL) {
        CPLQuadTreeDestroy(r->tree);
    }
    free(r->path);
    free(r->field);
    free(r);
}

/* The prepared geometry of region IT, made on first use: a build meets few
   of the layer's countries. */
static OGRPreparedGeometryH prepared(ek_region *it)
{
    if (it->prepared == NULL) {
        it->prepared = OGRCreatePreparedGeometry(it->geom);
    }
    return it->prepared;
}

static int compare_ptr(const void *a, const void *b)
{
    intptr_t x = (intptr_t) * (void *const *)a, y = (intptr_t) * (void *const *)b;

    return (x > y) - (x < y);
}

/* Region indices (plus one) whose bounds meet BOX, in layer order; *N of
   them (free with CPLFree). */
static void **search(const ek_regions *r, const OGREnvelope *box, int *n)
{
    CPLRectObj rect = {box->MinX, box->MinY, box->MaxX, box->MaxY};
    void **hits = CPLQuadTreeSearch(r->tree, &rect, n);

    if (*n > 1) {
        qsort(hits, (size_t)*n, sizeof *hits, compare_ptr);
    }
    return hits;
}

/* Region indices whose bounds meet the box of half-size HALF around LON/LAT. */
static void **candidates(const ek_regions *r, double lon, double lat, double half,
                         int *n)
{
    OGREnvelope box = {lon - half, lon + half, lat - half, lat + half};

    return search(r, &box, n);
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
        if (OGRPreparedGeometryIntersects(prepared(&r->items[k]), point)) {
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

/* ---- cutting countries into pieces ---- */

static int count_points(OGRGeometryH g)
{
    int n = OGR_G_GetGeometryCount(g), i, total = 0;

    if (n == 0) {
        return OGR_G_GetPointCount(g);
    }
    for (i = 0; i < n; i++) {
        total += count_points(OGR_G_GetGeometryRef(g, i));
    }
    return total;
}

/* Copy the polygons of G (any geometry) into multipolygon MULTI: an
   intersection can leave lines and points along the cut. */
static void add_polygons(OGRGeometryH multi, OGRGeometryH g)
{
    OGRwkbGeometryType type = wkbFlatten(OGR_G_GetGeometryType(g));
    int i;

    if (type == wkbPolygon) {
        OGR_G_AddGeometry(multi, g);
    } else if (type == wkbMultiPolygon || type == wkbGeometryCollection) {
        for (i = 0; i < OGR_G_GetGeometryCount(g); i++) {
            add_polygons(multi, OGR_G_GetGeometryRef(g, i));
        }
    }
}

static OGRGeometryH rectangle(double x0, double y0, double x1, double y1)
{
    OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
    OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);

    OGR_G_AddPoint_2D(ring, x0, y0);
    OGR_G_AddPoint_2D(ring, x1, y0);
    OGR_G_AddPoint_2D(ring, x1, y1);
    OGR_G_AddPoint_2D(ring, x0, y1);
    OGR_G_AddPoint_2D(ring, x0, y0);
    OGR_G_AddGeometryDirectly(poly, ring);
    return poly;
}

typedef struct cutter {
    eodkit_ctx *ctx;
    ek_region *it;
    size_t cap, bcap;
} cutter;

/* Add polygonal G (owned) to the pieces of the region, halving its bounds
   until each piece has at most PIECE_POINTS points. */
static int cut(cutter *c, OGRGeometryH g, int depth)
{
    ek_region *it = c->it;
    OGREnvelope e;
    int half, rc = EODKIT_OK;

    if (OGR_G_IsEmpty(g)) {
        OGR_G_DestroyGeometry(g);
        return EODKIT_OK;
    }
    if (depth >= CUT_DEPTH || count_points(g) <= PIECE_POINTS) {
        rc = ek_grow(c->ctx, (void **)&it->pieces, &c->cap, it->npieces + 1,
                     sizeof *it->pieces);
        if (rc == EODKIT_OK) {
            rc = ek_grow(c->ctx, (void **)&it->piece_bounds, &c->bcap, it->npieces + 1,
                         sizeof *it->piece_bounds);
        }
        if (rc != EODKIT_OK) {
            OGR_G_DestroyGeometry(g);
            return rc;
        }
        OGR_G_GetEnvelope(g, &it->piece_bounds[it->npieces]);
        it->pieces[it->npieces++] = g;
        return EODKIT_OK;
    }
    OGR_G_GetEnvelope(g, &e);
    for (half = 0; half < 2 && rc == EODKIT_OK; half++) {
        int wide = e.MaxX - e.MinX >= e.MaxY - e.MinY;
        double mx = (e.MinX + e.MaxX) / 2, my = (e.MinY + e.MaxY) / 2;
        OGRGeometryH box = wide ? rectangle(half ? mx : e.MinX - 1, e.MinY - 1,
                                            half ? e.MaxX + 1 : mx, e.MaxY + 1)
                                : rectangle(e.MinX - 1, half ? my : e.MinY - 1,
                                            e.MaxX + 1, half ? e.MaxY + 1 : my);
        OGRGeometryH part = OGR_G_Intersection(g, box);
        OGRGeometryH multi = OGR_G_CreateGeometry(wkbMultiPolygon);

        OGR_G_DestroyGeometry(box);
        if (part == NULL) {
            OGR_G_DestroyGeometry(multi);
            rc = ek_error_gdal(c->ctx, "GEOS cannot cut the polygons of %s",
                               it->country != NULL ? it->country : "a region");
            break;
        }
        add_polygons(multi, part);
        OGR_G_DestroyGeometry(part);
        rc = cut(c, multi, depth + 1);
    }
    OGR_G_DestroyGeometry(g);
    return rc;
}

/* Cut region IT into pieces, once. */
static int cut_region(eodkit_ctx *ctx, ek_region *it)
{
    OGRGeometryH multi, valid;
    cutter c = {ctx, it, 0, 0};
    int i, rc = EODKIT_OK;

    if (it->cut) {
        return EODKIT_OK;
    }
    it->cut = 1;
    multi = OGR_G_CreateGeometry(wkbMultiPolygon);
    add_polygons(multi, it->geom);
    for (i = 0; i < OGR_G_GetGeometryCount(multi) && rc == EODKIT_OK; i++) {
        OGRGeometryH poly = OGR_G_GetGeometryRef(multi, i);

        /* an invalid polygon makes GEOS fail; the layer is the user's */
        valid = OGR_G_IsValid(poly) ? OGR_G_Clone(poly) : OGR_G_MakeValid(poly);
        if (valid == NULL) {
            rc = ek_error_gdal(ctx, "GEOS cannot repair the polygons of %s",
                               it->country != NULL ? it->country : "a region");
            break;
        }
        rc = cut(&c, valid, 0);
    }
    OGR_G_DestroyGeometry(multi);
    return rc;
}

/* ---- footprints ---- */

int ek_lonlat_init(eodkit_ctx *ctx, OGRSpatialReferenceH srs, ek_lonlat *t)
{
    static const char *const options[] = {"WRAPDATELINE=YES", NULL};
    OGRSpatialReferenceH wgs84 = ek_srs_lonlat();

    t->wrap = NULL;
    t->ct = OCTNewCoordinateTransformation(srs, wgs84);
    OSRRelease(wgs84);
    if (t->ct != NULL) {
        t->wrap = OGR_GeomTransformer_Create(t->ct, (CSLConstList)options);
    }
    if (t->wrap == NULL) {
        ek_lonlat_done(t);
        return ek_error_gdal(ctx, "the grid CRS cannot be transformed to lon/lat");
    }
    return EODKIT_OK;
}

void ek_lonlat_done(ek_lonlat *t)
{
    if (t->wrap != NULL) {
        OGR_GeomTransformer_Destroy(t->wrap);
    }
    if (t->ct != NULL) {
        OCTDestroyCoordinateTransformation(t->ct);
    }
    t->wrap = NULL;
    t->ct = NULL;
}

OGRGeometryH ek_regions_footprint(const ek_lonlat *t, const double gt[6], double x,
                                  double y, double w, double h)
{
    static const double corners[5][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}};
    OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
    OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon), lonlat;
    int c, k;

    for (c = 0; c < 4; c++) {
        for (k = 0; k < EDGE_POINTS; k++) {
            double s = (double)k / EDGE_POINTS;
            double px =
                x + w * (corners[c][0] + s * (corners[c + 1][0] - corners[c][0]));
            double py =
                y + h * (corners[c][1] + s * (corners[c + 1][1] - corners[c][1]));

            OGR_G_AddPoint_2D(ring, gt[0] + px * gt[1], gt[3] + py * gt[5]);
        }
    }
    OGR_G_AddPoint_2D(ring, gt[0] + x * gt[1], gt[3] + y * gt[5]);
    OGR_G_AddGeometryDirectly(poly, ring);
    lonlat = OGR_GeomTransformer_Transform(t->wrap, poly);
    OGR_G_DestroyGeometry(poly);
    return lonlat;
}

/* ---- tagging ---- */

static int meets(const OGREnvelope *a, const OGREnvelope *b)
{
    return a->MinX <= b->MaxX && b->MinX <= a->MaxX && a->MinY <= b->MaxY &&
           b->MinY <= a->MaxY;
}

/* E grown by MARGIN metres on every side. */
static OGREnvelope grown(const OGREnvelope *e, double margin)
{
    double lat = fmin(fmax(fabs(e->MinY), fabs(e->MaxY)), 89.9);
    double dy = margin / METRES_PER_DEGREE;
    double dx = dy / cos(lat * M_PI / 180.0);
    OGREnvelope g = {e->MinX - dx, e->MaxX + dx, e->MinY - dy, e->MaxY + dy};

    return g;
}

/* Whether region IT comes within MARGIN metres of a part of FOOTPRINT (the
   bounds of each part grown by the margin). */
static int within(ek_region *it, OGRGeometryH footprint, double margin)
{
    int n = OGR_G_GetGeometryCount(footprint), i, multi, found = 0;

    multi = wkbFlatten(OGR_G_GetGeometryType(footprint)) != wkbPolygon;
    for (i = 0; i < (multi ? n : 1) && !found; i++) {
        OGREnvelope e, box;
        OGRGeometryH rect;

        OGR_G_GetEnvelope(multi ? OGR_G_GetGeometryRef(footprint, i) : footprint, &e);
        box = grown(&e, margin);
        if (!meets(&box, &it->bounds)) {
            continue;
        }
        rect = rectangle(box.MinX, box.MinY, box.MaxX, box.MaxY);
        found = OGRPreparedGeometryIntersects(prepared(it), rect);
        OGR_G_DestroyGeometry(rect);
    }
    return found;
}

/* Area of FOOTPRINT (bounds E) inside region IT into *AREA, summed over the
   pieces of IT that meet it. */
static int overlap(eodkit_ctx *ctx, ek_region *it, OGRGeometryH footprint,
                   const OGREnvelope *e, double *area)
{
    size_t k;
    int rc = cut_region(ctx, it);

    *area = 0;
    for (k = 0; k < it->npieces && rc == EODKIT_OK; k++) {
        OGRGeometryH inside;

        if (!meets(&it->piece_bounds[k], e)) {
            continue;
        }
        inside = OGR_G_Intersection(it->pieces[k], footprint);
        if (inside == NULL) {
            rc = ek_error_gdal(ctx, "GEOS cannot intersect a chip with %s",
                               it->country != NULL ? it->country : "a region");
            break;
        }
        *area += OGR_G_Area(inside);
        OGR_G_DestroyGeometry(inside);
    }
    return rc;
}

static int add_near(eodkit_ctx *ctx, ek_region_tags *t, int k)
{
    int rc =
        ek_grow(ctx, (void **)&t->near, &t->near_cap, t->nnear + 1, sizeof *t->near);

    if (rc == EODKIT_OK) {
        t->near[t->nnear++] = k;
    }
    return rc;
}

int ek_regions_tag(eodkit_ctx *ctx, ek_regions *r, OGRGeometryH footprint,
                   double margin, int *region, double *share, ek_region_tags *t)
{
    double area = OGR_G_Area(footprint), best = 0;
    OGREnvelope e, box;
    void **hits;
    int n = 0, i, full = 0, rc = EODKIT_OK;

    *region = -1;
    *share = 0;
    OGR_G_GetEnvelope(footprint, &e);
    box = t != NULL ? grown(&e, margin) : e;
    hits = search(r, &box, &n);
    for (i = 0; i < n && rc == EODKIT_OK; i++) {
        int k = (int)(intptr_t)hits[i] - 1;
        ek_region *it = &r->items[k];
        double s = 0;

        if (!full && area > 0 && meets(&it->bounds, &e)) {
            if (OGRPreparedGeometryContains(prepared(it), footprint)) {
                s = 1; /* the cheap and common case: inside one country */
                full = 1;
            } else if (OGRPreparedGeometryIntersects(prepared(it), footprint)) {
                rc = overlap(ctx, it, footprint, &e, &s);
                s = fmin(s / area, 1.0);
            }
        }
        if (s > best) {
            best = s;
            *region = k;
        }
        if (t == NULL && full) {
            break;
        }
        if (t != NULL && rc == EODKIT_OK && (s > 0 || within(it, footprint, margin))) {
            rc = add_near(ctx, t, k);
        }
    }
    CPLFree(hits);
    *share = best;
    return rc;
}

int ek_region_tags_new(eodkit_ctx *ctx, size_t n, int near, double margin,
                       ek_region_tags **out)
{
    ek_region_tags *t = ek_calloc(ctx, 1, sizeof *t);
    int rc = t == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    *out = NULL;
    if (rc == EODKIT_OK) {
        /* one more than the chips: there may be none */
        t->region = ek_calloc(ctx, n + 1, sizeof *t->region);
        t->share = ek_calloc(ctx, n + 1, sizeof *t->share);
        t->near_first = near ? ek_calloc(ctx, n + 1, sizeof *t->near_first) : NULL;
        t->margin = margin;
        if (t->region == NULL || t->share == NULL || (near && t->near_first == NULL)) {
            rc = EODKIT_ERR_NOMEM;
        }
    }
    if (rc != EODKIT_OK) {
        ek_region_tags_free(t);
        return rc;
    }
    *out = t;
    return EODKIT_OK;
}

int ek_region_tags_set(eodkit_ctx *ctx, ek_regions *r, ek_region_tags *t, size_t k,
                       OGRGeometryH footprint)
{
    int region = -1, rc = EODKIT_OK;
    double share = 0;

    if (footprint != NULL) {
        rc = ek_regions_tag(ctx, r, footprint, t->margin, &region, &share,
                            t->near_first != NULL ? t : NULL);
    }
    t->region[k] = region;
    t->share[k] = share;
    if (t->near_first != NULL) {
        t->near_first[k + 1] = t->nnear;
    }
    return rc;
}

void ek_region_tags_keep(ek_region_tags *t, const uint8_t *keep, size_t n)
{
    size_t k, j = 0, used = 0;

    for (k = 0; k < n; k++) {
        if (!keep[k]) {
            continue;
        }
        t->region[j] = t->region[k];
        t->share[j] = t->share[k];
        if (t->near_first != NULL) {
            /* chip k's list is [near_first[k], near_first[k + 1]); j <= k,
               so the lists still to move are untouched */
            size_t first = t->near_first[k], count = t->near_first[k + 1] - first;

            memmove(t->near + used, t->near + first, count * sizeof *t->near);
            t->near_first[j] = used;
            used += count;
        }
        j++;
    }
    if (t->near_first != NULL) {
        t->near_first[j] = used;
        t->nnear = used;
    }
}

void ek_region_tags_free(ek_region_tags *t)
{
    if (t == NULL) {
        return;
    }
    free(t->region);
    free(t->share);
    free(t->near_first);
    free(t->near);
    free(t);
}
