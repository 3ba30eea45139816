/*
** Catalog: importing. Reads a CSV, a STAC Collection, an `export --json`
** file or a folder of them inside one savepoint; matches every dataset by id
** or name so a re-import is a no-op; rejects bad datasets one by one and
** keeps the rest, or imports nothing when a file itself is unusable.
*/
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ek_fs.h"
#include "ek_catalog.h"

void eodkit_catalog_report_free(eodkit_catalog_report *report)
{
    size_t i;

    if (report == NULL) {
        return;
    }
    for (i = 0; i < report->nrejected; i++) {
        free(report->rejected[i]);
    }
    for (i = 0; i < report->nnotes; i++) {
        free(report->notes[i]);
    }
    free(report->rejected);
    free(report->notes);
    free(report);
}

int ek_import_note(eodkit_ctx *ctx, ek_import *imp, int rejected, const char *fmt, ...)
{
    char text[EK_MESSAGE_MAX], *copy, ***list;
    size_t *n;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    list = rejected ? &imp->report->rejected : &imp->report->notes;
    n = rejected ? &imp->report->nrejected : &imp->report->nnotes;
    copy = ek_strdup(ctx, text);
    if (copy == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    /* Grow one by one: reports are short, and this keeps no capacity field
       in the public struct. */
    *list = ek_realloc_array(ctx, *list, *n + 1, sizeof **list);
    if (*list == NULL) {
        free(copy);
        return EODKIT_ERR_NOMEM;
    }
    (*list)[(*n)++] = copy;
    return EODKIT_OK;
}

int ek_import_reject(eodkit_ctx *ctx, ek_import *imp, const char *where)
{
    char reason[EK_MESSAGE_MAX];

    snprintf(reason, sizeof reason, "%s", eodkit_ctx_message(ctx));
    ek_error_clear(ctx);
    return ek_import_note(ctx, imp, 1, "%s: %s", where, reason);
}

/* Undo everything the import IMP wrote. */
static void undo(const ek_import *imp)
{
    sqlite3_exec(imp->cat->db,
                 imp->own_transaction ? "ROLLBACK"
                                      : "ROLLBACK TO ek_import; RELEASE ek_import",
                 NULL, NULL, NULL);
}

int ek_import_begin(eodkit_ctx *ctx, eodkit_catalog *cat, int strict, ek_import *imp)
{
    int rc;

    memset(imp, 0, sizeof *imp);
    imp->cat = cat;
    imp->strict = strict;
    /* A transaction of our own is rolled back without touching the file; a
       savepoint nests in the caller's (creating a catalog fills it). */
    imp->own_transaction = sqlite3_get_autocommit(cat->db);
    imp->report = ek_calloc(ctx, 1, sizeof *imp->report);
    if (imp->report == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = ek_catalog_exec(
        ctx, cat, imp->own_transaction ? "BEGIN IMMEDIATE" : "SAVEPOINT ek_import");
    if (rc == EODKIT_OK) {
        rc = ek_catalog_exec(ctx, cat,
                             "CREATE TEMP TABLE IF NOT EXISTS ek_import_seen"
                             " (pk INTEGER PRIMARY KEY, origin TEXT);"
                             "DELETE FROM temp.ek_import_seen");
        if (rc != EODKIT_OK) {
            undo(imp);
        }
    }
    if (rc != EODKIT_OK) {
        eodkit_catalog_report_free(imp->report);
        imp->report = NULL;
    }
    return rc;
}

int ek_import_end(eodkit_ctx *ctx, ek_import *imp, int rc,
                  eodkit_catalog_report **report)
{
    *report = NULL;
    if (rc == EODKIT_OK && imp->strict && imp->report->nrejected > 0) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s (and %zu more): nothing was imported",
                      imp->report->rejected[0], imp->report->nrejected - 1);
    }
    if (rc == EODKIT_OK) {
        rc = ek_catalog_exec(ctx, imp->cat,
                             imp->own_transaction ? "COMMIT" : "RELEASE ek_import");
    }
    if (rc != EODKIT_OK) {
        undo(imp);
        eodkit_catalog_report_free(imp->report);
    } else {
        *report = imp->report;
    }
    imp->report = NULL;
    return rc;
}

/* Store in ORIGIN (of SIZE bytes) where dataset PK was already seen in this
   import, or "" when it was not. */
static int seen_at(eodkit_ctx *ctx, ek_import *imp, long long pk, char *origin,
                   size_t size)
{
    sqlite3_stmt *st;
    int rc = ek_catalog_stmt(ctx, imp->cat, EK_STMT_SEEN_GET, &st);

    origin[0] = '\0';
    if (rc != EODKIT_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, pk);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(origin, size, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_reset(st);
    return EODKIT_OK;
}

static int mark_seen(eodkit_ctx *ctx, ek_import *imp, long long pk, const char *where)
{
    sqlite3_stmt *st;
    int rc = ek_catalog_stmt(ctx, imp->cat, EK_STMT_SEEN_ADD, &st);

    if (rc != EODKIT_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, pk);
    sqlite3_bind_text(st, 2, where, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        return ek_catalog_sql_error(ctx, imp->cat, "importing");
    }
    return EODKIT_OK;
}

int ek_import_record(eodkit_ctx *ctx, ek_import *imp, ek_record *r, const char *where)
{
    ek_record stored = {0};
    long long by_id = 0, by_name = 0, pk;
    char origin[512];
    int rc;

    if (r->value[EK_F_NAME] == NULL) {
        return ek_import_note(ctx, imp, 1, "%s: no name", where);
    }
    rc = ek_catalog_find(ctx, imp->cat, r->value[EK_F_ID], r->value[EK_F_NAME], &by_id,
                         &by_name);
    if (rc != EODKIT_OK) {
        return rc;
    }
    if (by_id != 0 && by_name != 0 && by_id != by_name) {
        return ek_import_note(
            ctx, imp, 1, "%s: id '%s' and name '%s' belong to two different datasets",
            where, r->value[EK_F_ID], r->value[EK_F_NAME]);
    }
    pk = by_id != 0 ? by_id : by_name;
    if (pk == 0) {
        r->pk = 0;
        rc = ek_catalog_save(ctx, imp->cat, r);
        imp->report->added++;
        return rc != EODKIT_OK ? rc : mark_seen(ctx, imp, r->pk, where);
    }
    rc = seen_at(ctx, imp, pk, origin, sizeof origin);
    if (rc == EODKIT_OK && origin[0] != '\0') {
        return ek_import_note(ctx, imp, 1, "%s: the same dataset as %s", where, origin);
    }
    /* The stored dataset with the fields R gives laid over it. */
    if (rc == EODKIT_OK) {
        rc = ek_catalog_load(ctx, imp->cat, pk, &stored);
    }
    if (rc == EODKIT_OK && !ek_record_changes(&stored, r)) {
        imp->report->unchanged++;
    } else if (rc == EODKIT_OK) {
        rc = ek_record_merge(ctx, &stored, r);
        if (rc == EODKIT_OK) {
            rc = ek_catalog_save(ctx, imp->cat, &stored);
        }
        imp->report->updated++;
    }
    ek_record_clear(&stored);
    return rc != EODKIT_OK ? rc : mark_seen(ctx, imp, pk, where);
}

/* Import one JSON file: a STAC Collection, or an `export --json` file
   ({"eodkit_catalog": 1, "datasets": [...]}). A STAC Catalog is skipped
   when met in a folder (SKIP_CATALOGS) and refused otherwise. */
static int import_json(eodkit_ctx *ctx, ek_import *imp, const char *path,
                       int skip_catalogs)
{
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err), *list, *item;
    const char *type;
    char where[1024];
    size_t i;
    int rc = EODKIT_OK;

    if (root == NULL) {
        return ek_error(ctx, err.line > 0 ? EODKIT_ERR_INPUT : EODKIT_ERR_IO,
                        "%s:%d:%d: %s", path, err.line, err.column, err.text);
    }
    type = json_string_value(json_object_get(root, "type"));
    list = json_object_get(root, "datasets");
    if (json_is_object(root) && json_object_get(root, "eodkit_catalog") != NULL &&
        json_is_array(list)) {
        json_array_foreach(list, i, item)
        {
            ek_record r = {0};

            snprintf(where, sizeof where, "%s: dataset %zu", path, i + 1);
            rc = json_is_object(item)
                     ? ek_record_from_json(ctx, &r, item)
                     : ek_error(ctx, EODKIT_ERR_INPUT, "not a JSON object");
            if (rc == EODKIT_ERR_INPUT) {
                rc = ek_import_reject(ctx, imp, where);
            } else if (rc == EODKIT_OK) {
                rc = ek_import_record(ctx, imp, &r, where);
            }
            ek_record_clear(&r);
            if (rc != EODKIT_OK) {
                break;
            }
        }
    } else if (type != NULL && strcmp(type, "Collection") == 0 &&
               json_object_get(root, "stac_version") != NULL) {
        ek_record r = {0};

        rc = ek_stac_to_record(ctx, root, &r);
        if (rc == EODKIT_ERR_INPUT) {
            rc = ek_import_reject(ctx, imp, path);
        } else if (rc == EODKIT_OK) {
            rc = ek_import_record(ctx, imp, &r, path);
        }
        ek_record_clear(&r);
    } else if (skip_catalogs && type != NULL && strcmp(type, "Catalog") == 0) {
        rc = EODKIT_OK;
    } else {
        rc = ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: neither a STAC Collection (\"type\": \"Collection\" with a "
            "\"stac_version\") nor an 'eodkit catalog export --json' file: nothing "
            "was imported",
            path);
    }
    json_decref(root);
    return rc;
}

/* Nonzero when PATH ends with SUFFIX, ignoring case. */
static int has_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);

    return n >= k && strcasecmp(path + n - k, suffix) == 0;
}

static int import_file(eodkit_ctx *ctx, ek_import *imp, const char *path, int in_folder)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (has_suffix(path, ".json")) {
        return import_json(ctx, imp, path, in_folder);
    }
    rc = ek_fs_read_file(ctx, path, &text, &len);
    if (rc == EODKIT_OK) {
        rc = ek_csv_import(ctx, imp, path, text, len);
    }
    free(text);
    return rc;
}

/* Import every .csv and .json file below folder DIR, in name order. */
static int import_folder(eodkit_ctx *ctx, ek_import *imp, const char *dir)
{
    struct dirent **names = NULL;
    int i, n, rc = EODKIT_OK;

    n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: cannot list the folder", dir);
    }
    for (i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        char *path = NULL;

        if (rc == EODKIT_OK && name[0] != '.') {
            path = ek_path_join(ctx, dir, name);
            if (path == NULL) {
                rc = EODKIT_ERR_NOMEM;
            } else if (ek_fs_is_dir(path)) {
                rc = import_folder(ctx, imp, path);
            } else if (has_suffix(name, ".csv") || has_suffix(name, ".json")) {
                rc = import_file(ctx, imp, path, 1);
            }
            free(path);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int eodkit_catalog_import(eodkit_ctx *ctx, eodkit_catalog *cat, const char *path,
                          int strict, eodkit_catalog_report **report)
{
    ek_import imp;
    int rc;

    *report = NULL;
    if (!ek_fs_exists(path)) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: no such file or folder", path);
    }
    rc = ek_import_begin(ctx, cat, strict, &imp);
    if (rc != EODKIT_OK) {
        return rc;
    }
    rc = ek_fs_is_dir(path) ? import_folder(ctx, &imp, path)
                            : import_file(ctx, &imp, path, 0);
    return ek_import_end(ctx, &imp, rc, report);
}
