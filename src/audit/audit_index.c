/*
** Audit: the chip table. Reads layer "chips" of index.gpkg with OGR into a
** compact array (windows, centres, tags as indices into string tables,
** class to weight by, acquisition year and month), re-tags chips with
** another region layer on request, and stores the sampling weights back.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <ogr_api.h>

#include "core/ek_fs.h"
#include "ek_audit.h"

/* GeoPackage records a last-change time; fixed, as the build writes it, so
   identical datasets stay byte-identical. */
#define FIXED_DATE "2000-01-01T00:00:00.000Z"
#define WEIGHT_ROWS_PER_INSERT 512

/* ---- string tables ---- */

uint64_t ek_hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

static int rehash(eodkit_ctx *ctx, ek_names *t)
{
    size_t nslots = t->nslots == 0 ? 64 : t->nslots * 2, i;
    int32_t *slots = ek_calloc(ctx, nslots, sizeof *slots);

    if (slots == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < t->n; i++) {
        size_t k = (size_t)ek_hash_text(t->names[i]) & (nslots - 1);

        while (slots[k] != 0) {
            k = (k + 1) & (nslots - 1);
        }
        slots[k] = (int32_t)i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return EODKIT_OK;
}

int32_t ek_names_find(const ek_names *t, const char *s)
{
    size_t k;

    if (t->nslots == 0) {
        return -1;
    }
    k = (size_t)ek_hash_text(s) & (t->nslots - 1);
    while (t->slots[k] != 0) {
        if (strcmp(t->names[t->slots[k] - 1], s) == 0) {
            return t->slots[k] - 1;
        }
        k = (k + 1) & (t->nslots - 1);
    }
    return -1;
}

int32_t ek_names_intern(eodkit_ctx *ctx, ek_names *t, const char *s)
{
    int32_t found = ek_names_find(t, s);
    size_t k;
    char *copy;

    if (found >= 0) {
        return found;
    }
    if ((t->n + 1) * 2 > t->nslots && rehash(ctx, t) != EODKIT_OK) {
        return -1;
    }
    k = (size_t)ek_hash_text(s) & (t->nslots - 1);
    while (t->slots[k] != 0) {
        k = (k + 1) & (t->nslots - 1);
    }
    copy = ek_strdup(ctx, s);
    if (copy == NULL || ek_grow(ctx, (void **)&t->names, &t->cap, t->n + 1,
                                sizeof *t->names) != EODKIT_OK) {
        free(copy);
        return -1;
    }
    t->names[t->n] = copy;
    t->slots[k] = (int32_t)++t->n;
    return (int32_t)t->n - 1;
}

void ek_names_free(ek_names *t)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        free(t->names[i]);
    }
    free(t->names);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ---- reading ---- */

/* Columns of layer "chips" the audit reads (doc/format.md). */
enum {
    C_SPLIT,
    C_GRID_X,
    C_GRID_Y,
    C_WIDTH,
    C_HEIGHT,
    C_CENTER_LON,
    C_CENTER_LAT,
    C_CHIP_ID,
    C_CLASS_HIST,
    C_LABEL,
    C_COUNTRY,
    C_COUNTRY_NAME,
    C_CONTINENT,
    C_REGION,
    C_DATETIME,
    C_SHARD,
    C_ROW,
    C_BLOCK,
    C_WEIGHT_CONTINENT,
    C_WEIGHT_CLASS,
    C_COUNT,
    C_REQUIRED = C_CHIP_ID /* the columns before this one must exist */
};

static const char *const column_names[C_COUNT] = {
    "split",      "grid_x",     "grid_y",           "width",
    "height",     "center_lon", "center_lat",       "chip_id",
    "class_hist", "label",      "country",          "country_name",
    "continent",  "region",     "datetime",         "shard",
    "row",        "block",      "weight_continent", "weight_class",
};

/* The real number in column FIELD of F, NaN when there is none. */
static double real_at(OGRFeatureH f, int field)
{
    return field >= 0 && OGR_F_IsFieldSetAndNotNull(f, field)
               ? OGR_F_GetFieldAsDouble(f, field)
               : NAN;
}

static const char *text_at(OGRFeatureH f, int field)
{
    const char *s;

    if (field < 0 || !OGR_F_IsFieldSetAndNotNull(f, field)) {
        return NULL;
    }
    s = OGR_F_GetFieldAsString(f, field);
    return s[0] != '\0' ? s : NULL;
}

/* The most frequent class other than BACKGROUND in class histogram TEXT
   (lowest id on ties), BACKGROUND when only it occurs, -1 when unreadable:
   the rule doc/format.md gives for classification labels. */
static int32_t dominant_class(const char *text, int background)
{
    json_t *hist = json_loads(text, 0, NULL), *v;
    const char *key;
    long long best_n = 0;
    int32_t best = hist != NULL ? background : -1;

    json_object_foreach(hist, key, v)
    {
        int32_t id = (int32_t)strtol(key, NULL, 10);
        long long count = (long long)json_integer_value(v);

        if (id != background && count > 0 &&
            (count > best_n || (count == best_n && id < best))) {
            best_n = count;
            best = id;
        }
    }
    json_decref(hist);
    return best;
}

/* Year and month of acquisition from column FIELD of F (a date, a date-time
   or ISO 8601 text); both 0 when unknown. */
static void acquisition(OGRFeatureH f, int field, OGRFieldType type, ek_audit_chip *c)
{
    int y = 0, m = 0, d, hh, mm, tz;
    float ss;
    const char *s;

    c->year = 0;
    c->month = 0;
    if (field < 0 || !OGR_F_IsFieldSetAndNotNull(f, field)) {
        return;
    }
    if (type == OFTDate || type == OFTDateTime) {
        if (!OGR_F_GetFieldAsDateTimeEx(f, field, &y, &m, &d, &hh, &mm, &ss, &tz)) {
            return;
        }
    } else {
        s = OGR_F_GetFieldAsString(f, field);
        if (sscanf(s, "%4d-%2d", &y, &m) != 2) {
            return;
        }
    }
    if (y >= 1 && y <= EK_AUDIT_MAX_YEAR && m >= 1 && m <= 12) {
        c->year = (int16_t)y;
        c->month = (int8_t)m;
    }
}

/* Intern COUNTRY (with its NAME and CONTINENT, kept from its first chip)
   into IX; its index, or -1. */
static int32_t add_country(eodkit_ctx *ctx, ek_audit_index *ix, const char *country,
                           const char *name, int32_t continent)
{
    size_t known = ix->countries.n;
    int32_t k = ek_names_intern(ctx, &ix->countries, country);
    ek_audit_country *info;

    if (k < 0 || (size_t)k < known) {
        return k;
    }
    if (ek_grow(ctx, (void **)&ix->country_info, &ix->country_cap, (size_t)k + 1,
                sizeof *ix->country_info) != EODKIT_OK) {
        return -1;
    }
    info = &ix->country_info[k];
    info->continent = continent;
    info->name = name != NULL ? ek_strdup(ctx, name) : NULL;
    if (name != NULL && info->name == NULL) {
        return -1;
    }
    return k;
}

/* Forget every country, continent and region tag of IX. */
static void clear_tags(ek_audit_index *ix)
{
    size_t i;

    for (i = 0; i < ix->country_cap; i++) {
        free(ix->country_info[i].name);
    }
    free(ix->country_info);
    ix->country_info = NULL;
    ix->country_cap = 0;
    ek_names_free(&ix->continents);
    ek_names_free(&ix->countries);
    ek_names_free(&ix->regions);
}

/* Country, continent and region of chip C from the given texts (NULL:
   unknown). */
static int tag_chip(eodkit_ctx *ctx, ek_audit_index *ix, ek_audit_chip *c,
                    const char *country, const char *name, const char *continent,
                    const char *region)
{
    c->continent = ek_names_intern(ctx, &ix->continents,
                                   continent != NULL ? continent : EK_AUDIT_UNKNOWN);
    c->region =
        ek_names_intern(ctx, &ix->regions, region != NULL ? region : EK_AUDIT_UNKNOWN);
    c->country =
        c->continent < 0
            ? -1
            : add_country(ctx, ix, country != NULL ? country : EK_AUDIT_UNKNOWN, name,
                          c->continent);
    return c->continent < 0 || c->region < 0 || c->country < 0 ? EODKIT_ERR_NOMEM
                                                               : EODKIT_OK;
}

static int read_chip(eodkit_ctx *ctx, ek_audit_index *ix, OGRFeatureH f, const int *col,
                     OGRFieldType datetime_type, const ek_audit_labels *labels,
                     ek_audit_chip *c)
{
    const char *split = text_at(f, col[C_SPLIT]);
    const char *hist;
    int i;

    for (i = 0; i < C_REQUIRED; i++) {
        if (!OGR_F_IsFieldSetAndNotNull(f, col[i])) {
            return ek_error(ctx, EODKIT_ERR_INPUT, "%s: chip %lld has no %s", ix->path,
                            (long long)OGR_F_GetFID(f), column_names[i]);
        }
    }
    c->fid = OGR_F_GetFID(f);
    c->chip_id =
        col[C_CHIP_ID] >= 0 ? OGR_F_GetFieldAsInteger64(f, col[C_CHIP_ID]) : c->fid;
    c->x = OGR_F_GetFieldAsInteger64(f, col[C_GRID_X]);
    c->y = OGR_F_GetFieldAsInteger64(f, col[C_GRID_Y]);
    c->w = OGR_F_GetFieldAsInteger(f, col[C_WIDTH]);
    c->h = OGR_F_GetFieldAsInteger(f, col[C_HEIGHT]);
    c->shard = col[C_SHARD] >= 0 ? OGR_F_GetFieldAsInteger(f, col[C_SHARD]) : -1;
    c->row = col[C_ROW] >= 0 ? OGR_F_GetFieldAsInteger64(f, col[C_ROW]) : -1;
    c->block = col[C_BLOCK] >= 0 && OGR_F_IsFieldSetAndNotNull(f, col[C_BLOCK])
                   ? OGR_F_GetFieldAsInteger64(f, col[C_BLOCK])
                   : -1;
    c->lon = OGR_F_GetFieldAsDouble(f, col[C_CENTER_LON]);
    c->lat = OGR_F_GetFieldAsDouble(f, col[C_CENTER_LAT]);
    c->weight_continent = real_at(f, col[C_WEIGHT_CONTINENT]);
    c->weight_class = real_at(f, col[C_WEIGHT_CLASS]);
    c->split =
        ek_names_intern(ctx, &ix->splits, split != NULL ? split : EK_AUDIT_UNKNOWN);
    c->cls = -1;
    if (labels->task != NULL && strcmp(labels->task, "classification") == 0) {
        if (col[C_LABEL] >= 0 && OGR_F_IsFieldSetAndNotNull(f, col[C_LABEL])) {
            c->cls = OGR_F_GetFieldAsInteger(f, col[C_LABEL]);
        }
    } else if (labels->task != NULL) {
        hist = text_at(f, col[C_CLASS_HIST]);
        c->cls = hist != NULL ? dominant_class(hist, labels->background) : -1;
    }
    acquisition(f, col[C_DATETIME], datetime_type, c);
    if (c->split < 0) {
        return EODKIT_ERR_NOMEM;
    }
    return tag_chip(ctx, ix, c, text_at(f, col[C_COUNTRY]),
                    text_at(f, col[C_COUNTRY_NAME]), text_at(f, col[C_CONTINENT]),
                    text_at(f, col[C_REGION]));
}

static int compare_fid(const void *a, const void *b)
{
    const ek_audit_chip *p = a, *q = b;

    return (p->fid > q->fid) - (p->fid < q->fid);
}

/* Open layer "chips" of index PATH: for reading (the columns the audit does
   not need left out), or for update when UPDATE (failing with
   EODKIT_ERR_IO: the file was readable a moment ago). */
static int open_chips(eodkit_ctx *ctx, const char *path, int update, GDALDatasetH *ds,
                      OGRLayerH *layer)
{
    static const char *const drivers[] = {"GPKG", NULL};
    static const char *const ignored[] = {"OGR_GEOMETRY", "geotransform", "crs",
                                          "sources", NULL};

    *layer = NULL;
    *ds =
        GDALOpenEx(path, GDAL_OF_VECTOR | (update ? GDAL_OF_UPDATE : GDAL_OF_READONLY),
                   drivers, NULL, NULL);
    if (*ds == NULL) {
        return ek_error_with_gdal(ctx, update ? EODKIT_ERR_IO : EODKIT_ERR_INPUT,
                                  update
                                      ? "%s: cannot open the chip index for writing"
                                      : "%s: cannot open the chip index (a GeoPackage)",
                                  path);
    }
    *layer = GDALDatasetGetLayerByName(*ds, "chips");
    if (*layer == NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: no layer 'chips' (not an eodkit chip index)", path);
    }
    if (!update) {
        OGR_L_SetIgnoredFields(*layer, (const char **)ignored);
    }
    return EODKIT_OK;
}

/* ek_audit_index_read of index PATH, the splits of object SPLITS first. */
static int read_chips(eodkit_ctx *ctx, const char *path, const json_t *splits,
                      const ek_audit_labels *labels, ek_audit_index **out)
{
    ek_audit_index *ix = ek_calloc(ctx, 1, sizeof *ix);
    const char *name;
    json_t *value;
    GDALDatasetH ds = NULL;
    OGRLayerH layer = NULL;
    OGRFeatureDefnH defn;
    OGRFeatureH f;
    OGRFieldType datetime_type = OFTString;
    int col[C_COUNT], i, sorted = 1;
    size_t cap = 0;
    int rc = EODKIT_OK;

    *out = NULL;
    if (ix != NULL) {
        ix->path = ek_strdup(ctx, path);
    }
    if (ix == NULL || ix->path == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    ek_gdal_capture_begin(ctx);
    rc = open_chips(ctx, path, 0, &ds, &layer);
    ek_gdal_capture_end();
    if (rc != EODKIT_OK) {
        goto out;
    }
    json_object_foreach((json_t *)splits, name, value)
    {
        if (ek_names_intern(ctx, &ix->splits, name) < 0) {
            rc = EODKIT_ERR_NOMEM;
            goto out;
        }
    }
    defn = OGR_L_GetLayerDefn(layer);
    for (i = 0; i < C_COUNT; i++) {
        col[i] = OGR_FD_GetFieldIndex(defn, column_names[i]);
        if (i < C_REQUIRED && col[i] < 0) {
            rc = ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s: layer 'chips' has no column '%s' (not an eodkit chip index)", path,
                column_names[i]);
            goto out;
        }
    }
    ix->has_datetime = col[C_DATETIME] >= 0;
    ix->has_tags = col[C_CONTINENT] >= 0;
    if (ix->has_datetime) {
        datetime_type = OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, col[C_DATETIME]));
    }
    OGR_L_ResetReading(layer);
    while (rc == EODKIT_OK && (f = OGR_L_GetNextFeature(layer)) != NULL) {
        rc = ek_grow(ctx, (void **)&ix->chips, &cap, ix->n + 1, sizeof *ix->chips);
        if (rc == EODKIT_OK) {
            rc = read_chip(ctx, ix, f, col, datetime_type, labels, &ix->chips[ix->n]);
        }
        if (rc == EODKIT_OK) {
            sorted &= ix->n == 0 || ix->chips[ix->n].fid > ix->chips[ix->n - 1].fid;
            ix->n++;
        }
        OGR_F_Destroy(f);
    }
    if (rc == EODKIT_OK && !sorted) {
        qsort(ix->chips, ix->n, sizeof *ix->chips, compare_fid);
    }
out:
    if (ds != NULL) {
        GDALClose(ds);
    }
    if (rc != EODKIT_OK) {
        ek_audit_index_free(ix);
        return rc;
    }
    *out = ix;
    return EODKIT_OK;
}

int ek_audit_index_read(eodkit_ctx *ctx, const char *dir, const json_t *collection,
                        const ek_audit_labels *labels, ek_audit_index **out)
{
    char *path = ek_path_join(ctx, dir, "index.gpkg");
    int rc;

    *out = NULL;
    if (path == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = ek_fs_is_file(path)
             ? read_chips(ctx, path, json_object_get(collection, "eodkit:splits"),
                          labels, out)
             : ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: not an eodkit dataset (no index.gpkg)", dir);
    free(path);
    return rc;
}

void ek_audit_index_free(ek_audit_index *ix)
{
    if (ix == NULL) {
        return;
    }
    clear_tags(ix);
    ek_names_free(&ix->splits);
    free(ix->chips);
    free(ix->path);
    free(ix);
}

/* The transformation of each of the N GRIDS to lon/lat into TO. */
static int grids_to_lonlat(eodkit_ctx *ctx, const ek_audit_grid *grids, size_t n,
                           ek_lonlat *to)
{
    size_t g;
    int rc = EODKIT_OK;

    for (g = 0; g < n && rc == EODKIT_OK; g++) {
        OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);

        if (grids[g].wkt == NULL || OSRSetFromUserInput(srs, grids[g].wkt) != OGRERR_NONE) {
            rc = ek_error_gdal(ctx, "provenance.json: grid %zu has no usable CRS", g);
        } else {
            OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
            rc = ek_lonlat_init(ctx, srs, &to[g]);
        }
        OSRRelease(srs);
    }
    return rc;
}

int ek_audit_index_retag(eodkit_ctx *ctx, ek_audit_index *ix, ek_regions *r,
                         const ek_audit_grid *grids, size_t n)
{
    ek_lonlat *to = ek_calloc(ctx, n, sizeof *to);
    size_t i, g;
    int rc = n > 0 && to == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    clear_tags(ix);
    if (rc == EODKIT_OK) {
        rc = grids_to_lonlat(ctx, grids, n, to);
    }
    for (i = 0; i < ix->n && rc == EODKIT_OK; i++) {
        ek_audit_chip *c = &ix->chips[i];
        ek_window w = {(int)c->x, (int)c->y, c->w, c->h};
        OGRGeometryH footprint =
            (size_t)c->grid < n ? ek_regions_footprint(&to[c->grid], grids[c->grid].gt, &w)
                                : NULL;
        const ek_region *it = NULL;
        double share;
        int k = -1;

        if (footprint == NULL) {
            rc = ek_error_gdal(ctx, "%s: chip %lld: cannot transform its footprint to lon/lat",
                               ix->path, (long long)c->chip_id);
            break;
        }
        rc = ek_regions_tag(ctx, r, footprint, 0, &k, &share, NULL);
        OGR_G_DestroyGeometry(footprint);
        it = k >= 0 ? &r->items[k] : NULL;
        if (rc != EODKIT_OK) {
            break;
        } else if (it == NULL) {
            rc = tag_chip(ctx, ix, c, EK_AUDIT_SEA, NULL, EK_AUDIT_SEA, EK_AUDIT_SEA);
        } else {
            rc = tag_chip(ctx, ix, c, it->country, it->country_name, it->continent,
                          it->region);
        }
    }
    for (g = 0; to != NULL && g < n; g++) {
        ek_lonlat_done(&to[g]);
    }
    free(to);
    ix->has_tags = 1;
    return rc;
}

/* ---- grids ---- */

int ek_audit_grids_read(eodkit_ctx *ctx, const json_t *provenance, ek_audit_grid **out,
                        size_t *nout)
{
    json_t *grid = json_object_get(provenance, "grid");
    json_t *list = json_object_get(grid, "grids"), *one;
    size_t n = json_is_array(list) ? json_array_size(list) : 1, g, k;
    ek_audit_grid *grids = ek_calloc(ctx, n, sizeof *grids);

    *out = NULL;
    *nout = 0;
    if (grids == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (g = 0; g < n; g++) {
        ek_audit_grid *gr = &grids[g];

        one = json_is_array(list) ? json_array_get(list, g) : grid;
        gr->crs = json_string_value(json_object_get(one, "crs"));
        gr->wkt = json_string_value(json_object_get(one, "wkt"));
        for (k = 0; k < 6; k++) {
            gr->gt[k] = json_number_value(
                json_array_get(json_object_get(one, "geotransform"), k));
        }
        gr->first_chip = json_integer_value(json_object_get(one, "first_chip"));
        gr->nchips = json_integer_value(json_object_get(one, "chips_across")) *
                     json_integer_value(json_object_get(one, "chips_down"));
    }
    *out = grids;
    *nout = n;
    return EODKIT_OK;
}

void ek_audit_index_set_grids(ek_audit_index *ix, const ek_audit_grid *grids, size_t n)
{
    size_t i, g;

    for (i = 0; i < ix->n; i++) {
        ek_audit_chip *c = &ix->chips[i];

        c->grid = 0;
        for (g = 0; g < n; g++) {
            if (c->chip_id >= grids[g].first_chip &&
                c->chip_id < grids[g].first_chip + grids[g].nchips) {
                c->grid = (int32_t)g;
            }
        }
    }
}

/* ---- writing the weights ---- */

/* Nonzero when the index already holds exactly these weights, as read with
   its chips (NaN where it held none, which equals nothing): then it is left
   untouched, so auditing twice changes no byte of it. */
static int weights_unchanged(const ek_audit_index *ix, const double *w_continent,
                             const double *w_class)
{
    size_t i;

    for (i = 0; i < ix->n; i++) {
        if (!(ix->chips[i].weight_continent == w_continent[i] &&
              ix->chips[i].weight_class == w_class[i])) {
            return 0;
        }
    }
    return 1;
}

static int add_column(eodkit_ctx *ctx, const char *path, OGRLayerH layer,
                      const char *name)
{
    OGRFieldDefnH fd;
    OGRErr err;

    if (OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), name) >= 0) {
        return EODKIT_OK;
    }
    fd = OGR_Fld_Create(name, OFTReal);
    err = OGR_L_CreateField(layer, fd, TRUE);
    OGR_Fld_Destroy(fd);
    return err == OGRERR_NONE
               ? EODKIT_OK
               : ek_error_gdal(ctx, "%s: cannot add column '%s'", path, name);
}

static int run_sql(eodkit_ctx *ctx, GDALDatasetH ds, const char *path, const char *sql)
{
    OGRLayerH result;

    CPLErrorReset();
    result = GDALDatasetExecuteSQL(ds, sql, NULL, NULL);
    if (result != NULL) {
        GDALDatasetReleaseResultSet(ds, result);
    }
    if (CPLGetLastErrorType() >= CE_Failure) {
        return ek_error_gdal(ctx, "%s: cannot store the sampling weights", path);
    }
    return EODKIT_OK;
}

/* Copy the weights into a temporary table, then set both columns with one
   UPDATE: SQLite's own bulk path, inside GDAL's connection (whose SQL
   functions the GeoPackage's triggers need). */
static int store_weights(eodkit_ctx *ctx, const ek_audit_index *ix, GDALDatasetH ds,
                         const double *w_continent, const double *w_class)
{
    ek_strbuf sql;
    size_t i = 0, k;
    int rc;

    rc = run_sql(
        ctx, ds, ix->path,
        "CREATE TEMP TABLE ek_audit_weights (fid INTEGER PRIMARY KEY, wc REAL, wk "
        "REAL)");
    while (rc == EODKIT_OK && i < ix->n) {
        ek_strbuf_init(&sql, ctx);
        ek_strbuf_puts(&sql, "INSERT INTO ek_audit_weights VALUES ");
        for (k = 0; k < WEIGHT_ROWS_PER_INSERT && i < ix->n; k++, i++) {
            ek_strbuf_printf(&sql, "%s(%lld, %.17g, %.17g)", k ? ", " : "",
                             (long long)ix->chips[i].fid, w_continent[i], w_class[i]);
        }
        rc = sql.status;
        if (rc == EODKIT_OK) {
            rc = run_sql(ctx, ds, ix->path, sql.data);
        }
        ek_strbuf_free(&sql);
    }
    if (rc == EODKIT_OK) {
        rc = run_sql(
            ctx, ds, ix->path,
            "UPDATE chips SET weight_continent = (SELECT wc FROM ek_audit_weights w "
            "WHERE w.fid = chips.fid), weight_class = (SELECT wk FROM "
            "ek_audit_weights w WHERE w.fid = chips.fid)");
    }
    if (rc == EODKIT_OK) {
        rc = run_sql(ctx, ds, ix->path, "DROP TABLE ek_audit_weights");
    }
    return rc;
}

int ek_audit_index_write_weights(eodkit_ctx *ctx, const ek_audit_index *ix,
                                 const double *w_continent, const double *w_class)
{
    GDALDatasetH ds = NULL;
    OGRLayerH layer = NULL;
    char *saved_date = NULL;
    const char *date = CPLGetThreadLocalConfigOption("OGR_CURRENT_DATE", NULL);
    int rc, began = 0;

    if (weights_unchanged(ix, w_continent, w_class)) {
        return EODKIT_OK;
    }
    saved_date = date != NULL ? ek_strdup(ctx, date) : NULL;
    if (date != NULL && saved_date == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    ek_gdal_capture_begin(ctx);
    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", FIXED_DATE);
    rc = open_chips(ctx, ix->path, 1, &ds, &layer);
    if (rc == EODKIT_OK && GDALDatasetStartTransaction(ds, FALSE) != OGRERR_NONE) {
        rc = ek_error_gdal(ctx, "%s: cannot start a transaction", ix->path);
    }
    began = rc == EODKIT_OK;
    if (rc == EODKIT_OK) {
        rc = add_column(ctx, ix->path, layer, "weight_continent");
    }
    if (rc == EODKIT_OK) {
        rc = add_column(ctx, ix->path, layer, "weight_class");
    }
    if (rc == EODKIT_OK) {
        rc = store_weights(ctx, ix, ds, w_continent, w_class);
    }
    if (began && rc == EODKIT_OK && GDALDatasetCommitTransaction(ds) != OGRERR_NONE) {
        rc = ek_error_gdal(ctx, "%s: cannot commit the sampling weights", ix->path);
    } else if (began && rc != EODKIT_OK) {
        GDALDatasetRollbackTransaction(ds);
    }
    if (ds != NULL) {
        GDALClose(ds);
    }
    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", saved_date);
    ek_gdal_capture_end();
    free(saved_date);
    return rc;
}
