/*
** Audit: what the audit changes in a dataset's chip table (read by
** src/dataset/chip_table.c): the chips' tags from another region layer, on
** request, and the sampling weights, stored back into index.gpkg.
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
#include "geo/ek_srs.h"

/* GeoPackage records a last-change time; fixed, as the build writes it, so
   identical datasets stay byte-identical. */
#define FIXED_DATE "2000-01-01T00:00:00.000Z"
#define WEIGHT_ROWS_PER_INSERT 512

/* The transformation of each of the N GRIDS to lon/lat into TO. */
static int grids_to_lonlat(eodkit_ctx *ctx, const ek_dataset_grid *grids, size_t n,
                           ek_lonlat *to)
{
    size_t g;
    int rc = EODKIT_OK;

    for (g = 0; g < n && rc == EODKIT_OK; g++) {
        OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);

        if (grids[g].wkt == NULL ||
            ek_srs_from_user(srs, grids[g].wkt) != OGRERR_NONE) {
            rc = ek_error_gdal(ctx, "provenance.json: grid %zu has no usable CRS", g);
        } else {
            OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
            rc = ek_lonlat_init(ctx, srs, &to[g]);
        }
        OSRRelease(srs);
    }
    return rc;
}

int ek_audit_retag(eodkit_ctx *ctx, ek_chip_table *ix, ek_regions *r,
                   const ek_dataset_grid *grids, size_t n)
{
    ek_lonlat *to = ek_calloc(ctx, n, sizeof *to);
    size_t i, g;
    int rc = n > 0 && to == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    ek_chip_table_clear_tags(ix);
    if (rc == EODKIT_OK) {
        rc = grids_to_lonlat(ctx, grids, n, to);
    }
    for (i = 0; i < ix->n && rc == EODKIT_OK; i++) {
        ek_chip_row *c = &ix->chips[i];
        OGRGeometryH footprint =
            (size_t)c->grid < n
                ? ek_regions_footprint(&to[c->grid], grids[c->grid].gt, (double)c->x,
                                       (double)c->y, c->w, c->h)
                : NULL;
        const ek_region *it = NULL;
        double share;
        int k = -1;

        if (footprint == NULL) {
            rc = ek_error_gdal(
                ctx, "%s: chip %lld: cannot transform its footprint to lon/lat",
                ix->path, (long long)c->chip_id);
            break;
        }
        rc = ek_regions_tag(ctx, r, footprint, 0, &k, &share, NULL);
        OGR_G_DestroyGeometry(footprint);
        it = k >= 0 ? &r->items[k] : NULL;
        if (rc != EODKIT_OK) {
            break;
        } else if (it == NULL) {
            rc =
                ek_chip_table_tag(ctx, ix, c, EK_TAG_SEA, NULL, EK_TAG_SEA, EK_TAG_SEA);
        } else {
            rc = ek_chip_table_tag(ctx, ix, c, it->country, it->country_name,
                                   it->continent, it->region);
        }
    }
    for (g = 0; to != NULL && g < n; g++) {
        ek_lonlat_done(&to[g]);
    }
    free(to);
    ix->has_tags = 1;
    return rc;
}

/* ---- writing the weights ---- */

/* Nonzero when the index already holds exactly these weights, as read with
   its chips (NaN where it held none, which equals nothing): then it is left
   untouched, so auditing twice changes no byte of it. */
static int weights_unchanged(const ek_chip_table *ix, const double *w_continent,
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

/* Open layer "chips" of index PATH, which the audit has just read, for
   update (failing is EODKIT_ERR_IO). */
static int open_for_update(eodkit_ctx *ctx, const char *path, GDALDatasetH *ds,
                           OGRLayerH *layer)
{
    static const char *const drivers[] = {"GPKG", NULL};

    *ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_UPDATE, drivers, NULL, NULL);
    *layer = *ds != NULL ? GDALDatasetGetLayerByName(*ds, "chips") : NULL;
    if (*layer == NULL) {
        return ek_error_with_gdal(ctx, EODKIT_ERR_IO,
                                  "%s: cannot open the chip index for writing", path);
    }
    return EODKIT_OK;
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
static int store_weights(eodkit_ctx *ctx, const ek_chip_table *ix, GDALDatasetH ds,
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

int ek_audit_write_weights(eodkit_ctx *ctx, const ek_chip_table *ix,
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
    rc = open_for_update(ctx, ix->path, &ds, &layer);
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
