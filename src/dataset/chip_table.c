/*
** Dataset: the chip table (see ek_chip_table.h). Reads layer "chips" of
** index.gpkg with OGR, leaving out the columns no reader of the table needs
** (geometries, per-chip CRS and geotransform, sources).
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
#include "ek_chip_table.h"

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
    C_NODATA_FRAC,
    C_COUNT,
    C_REQUIRED = C_CHIP_ID /* the columns before this one must exist */
};

static const char *const column_names[C_COUNT] = {
    "split",       "grid_x",     "grid_y",           "width",
    "height",      "center_lon", "center_lat",       "chip_id",
    "class_hist",  "label",      "country",          "country_name",
    "continent",   "region",     "datetime",         "shard",
    "row",         "block",      "weight_continent", "weight_class",
    "nodata_frac",
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
static void acquisition(OGRFeatureH f, int field, OGRFieldType type, ek_chip_row *c)
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
    if (y >= 1 && y <= EK_CHIP_MAX_YEAR && m >= 1 && m <= 12) {
        c->year = (int16_t)y;
        c->month = (int8_t)m;
    }
}

/* Intern COUNTRY (with its NAME and CONTINENT, kept from its first chip)
   into IX; its index, or -1. */
static int32_t add_country(eodkit_ctx *ctx, ek_chip_table *ix, const char *country,
                           const char *name, int32_t continent)
{
    size_t known = ix->countries.n;
    int32_t k = ek_strtab_intern(ctx, &ix->countries, country);
    ek_chip_country *info;

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

void ek_chip_table_clear_tags(ek_chip_table *ix)
{
    size_t i;

    for (i = 0; i < ix->country_cap; i++) {
        free(ix->country_info[i].name);
    }
    free(ix->country_info);
    ix->country_info = NULL;
    ix->country_cap = 0;
    ek_strtab_free(&ix->continents);
    ek_strtab_free(&ix->countries);
    ek_strtab_free(&ix->regions);
}

int ek_chip_table_tag(eodkit_ctx *ctx, ek_chip_table *ix, ek_chip_row *c,
                      const char *country, const char *name, const char *continent,
                      const char *region)
{
    c->continent = ek_strtab_intern(ctx, &ix->continents,
                                    continent != NULL ? continent : EK_TAG_UNKNOWN);
    c->region =
        ek_strtab_intern(ctx, &ix->regions, region != NULL ? region : EK_TAG_UNKNOWN);
    c->country = c->continent < 0
                     ? -1
                     : add_country(ctx, ix, country != NULL ? country : EK_TAG_UNKNOWN,
                                   name, c->continent);
    return c->continent < 0 || c->region < 0 || c->country < 0 ? EODKIT_ERR_NOMEM
                                                               : EODKIT_OK;
}

static int read_chip(eodkit_ctx *ctx, ek_chip_table *ix, OGRFeatureH f, const int *col,
                     OGRFieldType datetime_type, const ek_chip_labels *labels,
                     ek_chip_row *c)
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
    c->nodata_frac = real_at(f, col[C_NODATA_FRAC]);
    c->split =
        ek_strtab_intern(ctx, &ix->splits, split != NULL ? split : EK_TAG_UNKNOWN);
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
    return ek_chip_table_tag(ctx, ix, c, text_at(f, col[C_COUNTRY]),
                             text_at(f, col[C_COUNTRY_NAME]),
                             text_at(f, col[C_CONTINENT]), text_at(f, col[C_REGION]));
}

static int compare_fid(const void *a, const void *b)
{
    const ek_chip_row *p = a, *q = b;

    return (p->fid > q->fid) - (p->fid < q->fid);
}

/* Open layer "chips" of index PATH for reading, the columns no reader of
   the table needs left out. */
static int open_chips(eodkit_ctx *ctx, const char *path, GDALDatasetH *ds,
                      OGRLayerH *layer)
{
    static const char *const drivers[] = {"GPKG", NULL};
    static const char *const ignored[] = {"OGR_GEOMETRY", "geotransform", "crs",
                                          "sources", NULL};

    *layer = NULL;
    *ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, NULL, NULL);
    if (*ds == NULL) {
        return ek_error_with_gdal(ctx, EODKIT_ERR_INPUT,
                                  "%s: cannot open the chip index (a GeoPackage)",
                                  path);
    }
    *layer = GDALDatasetGetLayerByName(*ds, "chips");
    if (*layer == NULL) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: no layer 'chips' (not an eodkit chip index)", path);
    }
    OGR_L_SetIgnoredFields(*layer, (const char **)ignored);
    return EODKIT_OK;
}

/* ek_chip_table_read of index PATH, the splits of object SPLITS first. */
static int read_chips(eodkit_ctx *ctx, const char *path, const json_t *splits,
                      const ek_chip_labels *labels, ek_chip_table **out)
{
    ek_chip_table *ix = ek_calloc(ctx, 1, sizeof *ix);
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
    rc = open_chips(ctx, path, &ds, &layer);
    ek_gdal_capture_end();
    if (rc != EODKIT_OK) {
        goto out;
    }
    json_object_foreach((json_t *)splits, name, value)
    {
        if (ek_strtab_intern(ctx, &ix->splits, name) < 0) {
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
        ek_chip_table_free(ix);
        return rc;
    }
    *out = ix;
    return EODKIT_OK;
}

int ek_chip_table_read(eodkit_ctx *ctx, const char *dir, const json_t *collection,
                       const ek_chip_labels *labels, ek_chip_table **out)
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

void ek_chip_table_free(ek_chip_table *ix)
{
    if (ix == NULL) {
        return;
    }
    ek_chip_table_clear_tags(ix);
    ek_strtab_free(&ix->splits);
    free(ix->chips);
    free(ix->path);
    free(ix);
}

/* ---- grids ---- */

int ek_dataset_grids_read(eodkit_ctx *ctx, const json_t *provenance,
                          ek_dataset_grid **out, size_t *nout)
{
    json_t *grid = json_object_get(provenance, "grid");
    json_t *list = json_object_get(grid, "grids"), *one;
    size_t n = json_is_array(list) ? json_array_size(list) : 1, g, k;
    ek_dataset_grid *grids = ek_calloc(ctx, n, sizeof *grids);

    *out = NULL;
    *nout = 0;
    if (grids == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (g = 0; g < n; g++) {
        ek_dataset_grid *gr = &grids[g];

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

void ek_chip_table_set_grids(ek_chip_table *ix, const ek_dataset_grid *grids, size_t n)
{
    size_t i, g;

    for (i = 0; i < ix->n; i++) {
        ek_chip_row *c = &ix->chips[i];

        c->grid = 0;
        for (g = 0; g < n; g++) {
            if (c->chip_id >= grids[g].first_chip &&
                c->chip_id < grids[g].first_chip + grids[g].nchips) {
                c->grid = (int32_t)g;
            }
        }
    }
}
