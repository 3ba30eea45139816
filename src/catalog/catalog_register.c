/*
** Catalog: registering a dataset built by `eodkit build`. Its
** collection.json gives the facts (stac.c); the folder adds its volume on
** disk, and where it is stays private: stored beside the record, never in
** it. Continents come from the collection's "eodkit:continents" summary
** (written by the build's region tagging), else from a region layer at the
** footprint's centre, else stay unknown; a note says which.
*/
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/ek_fs.h"
#include "dataset/ek_dataset.h"
#include "ek_catalog.h"
#include "regions/ek_regions.h"

/* Set the facts that only the folder of dataset DS knows: its volume on
   disk, and where it comes from. Its path is not among them: it is stored
   apart (store_folder), as the catalog is published by `serve` and
   `export`. */
static int folder_facts(eodkit_ctx *ctx, ek_record *r, const ek_dataset *ds)
{
    char volume[40];
    int rc;

    ek_format_real((double)ds->bytes / 1e6, volume, sizeof volume);
    rc = ek_record_set(ctx, r, EK_F_VOLUME, volume);
    if (rc == EODKIT_OK) {
        rc = ek_record_set(ctx, r, EK_F_PROVENANCE, EK_REGISTERED);
    }
    return rc;
}

int ek_catalog_folder(eodkit_ctx *ctx, eodkit_catalog *cat, long long pk, char **path)
{
    sqlite3_stmt *st = NULL;
    int rc = EODKIT_OK;

    *path = NULL;
    if (sqlite3_prepare_v2(cat->db,
                           "SELECT path FROM dataset_folder WHERE dataset = ?1", -1,
                           &st, NULL) != SQLITE_OK) {
        return ek_catalog_sql_error(ctx, cat, "reading the catalog");
    }
    sqlite3_bind_int64(st, 1, pk);
    switch (sqlite3_step(st)) {
    case SQLITE_ROW:
        *path = ek_strdup(ctx, (const char *)sqlite3_column_text(st, 0));
        rc = *path == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        break;
    case SQLITE_DONE:
        break;
    default:
        rc = ek_catalog_sql_error(ctx, cat, "reading the catalog");
        break;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Record FOLDER as the folder of the dataset R was imported as by IMP. A
   dataset registered again from another folder counts as updated. */
static int store_folder(eodkit_ctx *ctx, ek_import *imp, const ek_record *r,
                        const char *folder)
{
    sqlite3_stmt *st = NULL;
    long long by_id = 0, by_name = 0, pk;
    char *old = NULL;
    int rc;

    rc = ek_catalog_find(ctx, imp->cat, r->value[EK_F_ID], r->value[EK_F_NAME], &by_id,
                         &by_name);
    pk = by_id != 0 ? by_id : by_name;
    if (rc == EODKIT_OK && pk != 0) {
        rc = ek_catalog_folder(ctx, imp->cat, pk, &old);
    }
    if (rc != EODKIT_OK || pk == 0 || (old != NULL && strcmp(old, folder) == 0)) {
        goto out;
    }
    if (sqlite3_prepare_v2(imp->cat->db,
                           "INSERT OR REPLACE INTO dataset_folder (dataset, path)"
                           " VALUES (?1, ?2)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = ek_catalog_sql_error(ctx, imp->cat, "registering");
        goto out;
    }
    sqlite3_bind_int64(st, 1, pk);
    sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = ek_catalog_sql_error(ctx, imp->cat, "registering");
    } else if (old != NULL && imp->report->unchanged > 0) {
        imp->report->unchanged--;
        imp->report->updated++;
    }
out:
    sqlite3_finalize(st);
    free(old);
    return rc;
}

/* Fill in the continent and country under the footprint's centre, from
   the region layer REGIONS (NULL: the default one, see src/regions), when
   the collection listed no continents; note what was done. */
static int guess_continent(eodkit_ctx *ctx, ek_import *imp, ek_record *r,
                           const char *regions)
{
    const char *path = regions != NULL ? regions : ek_regions_default();
    ek_regions *layer = NULL;
    const ek_region *hit = NULL;
    double b[4], lon, lat;
    int rc, k;

    if (r->value[EK_F_CONTINENT] != NULL) {
        return EODKIT_OK;
    }
    if (path == NULL || !ek_record_bbox(r, b)) {
        return ek_import_note(
            ctx, imp, 0,
            "%s: collection.json lists no continents and no region layer was "
            "found (--regions, EODKIT_REGIONS): continent left unknown",
            r->value[EK_F_NAME]);
    }
    lon = (b[0] + b[2]) / 2;
    lat = (b[1] + b[3]) / 2;
    rc = ek_regions_open(ctx, path, NULL, "catalog register", &layer);
    if (rc != EODKIT_OK) {
        return rc;
    }
    k = ek_regions_find(layer, lon, lat);
    if (k >= 0 && layer->items[k].continent != NULL) {
        hit = &layer->items[k];
        rc = ek_record_set(ctx, r, EK_F_CONTINENT, hit->continent);
    }
    /* The country as the build's own tagging names it: ISO 3166 alpha-3. */
    if (rc == EODKIT_OK && hit != NULL && r->value[EK_F_REGION] == NULL) {
        rc = ek_record_set(ctx, r, EK_F_REGION,
                           hit->country != NULL ? hit->country : hit->country_name);
    }
    if (rc == EODKIT_OK) {
        rc =
            hit != NULL
                ? ek_import_note(ctx, imp, 0,
                                 "%s: collection.json lists no continents; '%s' is the "
                                 "continent under the footprint's centre (%.4f, %.4f) "
                                 "in %s",
                                 r->value[EK_F_NAME], hit->continent, lon, lat, path)
                : ek_import_note(ctx, imp, 0,
                                 "%s: collection.json lists no continents and the "
                                 "footprint's centre (%.4f, %.4f) lies in no region of "
                                 "%s: continent left unknown",
                                 r->value[EK_F_NAME], lon, lat, path);
    }
    ek_regions_free(layer);
    return rc;
}

int eodkit_catalog_register(eodkit_ctx *ctx, eodkit_catalog *cat, const char *dataset,
                            const char *regions, eodkit_catalog_report **report)
{
    char abs[PATH_MAX];
    char *path = NULL;
    json_t *c = NULL;
    eodkit_dataset *ds = NULL;
    ek_record r = {0};
    ek_import imp;
    int rc;

    *report = NULL;
    if (realpath(dataset, abs) == NULL || !ek_fs_is_dir(abs)) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: no such dataset folder", dataset);
    }
    /* collection.json alone first: a STAC collection that eodkit did not
       build (and so has no stats.json) is named as such, not as a broken
       dataset. */
    c = ek_dataset_load_json(ctx, abs, "collection.json");
    if (c == NULL) {
        return eodkit_ctx_status(ctx);
    }
    path = ek_path_join(ctx, abs, "collection.json");
    if (path == NULL) {
        rc = EODKIT_ERR_NOMEM;
    } else if (!json_is_object(json_object_get(c, "eodkit:splits"))) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: not written by 'eodkit build' (no \"eodkit:splits\"): use "
                      "'eodkit catalog import' for other STAC collections",
                      path);
    } else {
        rc = eodkit_dataset_open(ctx, abs, &ds);
    }
    json_decref(c);
    if (rc == EODKIT_OK) {
        rc = ek_stac_to_record(ctx, ds->collection, &r);
        if (rc == EODKIT_ERR_INPUT) {
            ek_error_where(ctx, "%s", path);
        }
    }
    if (rc == EODKIT_OK) {
        rc = folder_facts(ctx, &r, ds);
    }
    if (rc != EODKIT_OK) {
        goto out;
    }
    rc = ek_import_begin(ctx, cat, 1, &imp);
    if (rc != EODKIT_OK) {
        goto out;
    }
    rc = guess_continent(ctx, &imp, &r, regions);
    if (rc == EODKIT_OK) {
        rc = ek_import_record(ctx, &imp, &r, path);
    }
    if (rc == EODKIT_OK) {
        rc = store_folder(ctx, &imp, &r, abs);
    }
    rc = ek_import_end(ctx, &imp, rc, report);
out:
    ek_record_clear(&r);
    eodkit_dataset_close(ds);
    free(path);
    return rc;
}
