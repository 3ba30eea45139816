/*
** Catalog: opening the SQLite database. Finds the default path, refuses
** files that are not eodkit catalogs, creates the schema and runs the
** migrations recorded in PRAGMA user_version, and fills a new catalog with
** the shipped datasets, all in one transaction.
*/
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ek_fs.h"
#include "ek_catalog.h"

/* PRAGMA application_id of an eodkit catalog: "EODK". */
#define APPLICATION_ID 0x454f444b

/* The name of the shipped catalog among the embedded files. */
#define SHIPPED_CSV "eo-datasets.csv"

/*
** migrations[v] takes a catalog from schema version v to v + 1; the schema
** version is their number. Never edit a published step: append one.
*/
static const char *const migrations[] = {
    /* 0 -> 1: datasets, their multi-valued fields, the full-text index. */
    "CREATE TABLE dataset ("
    " pk INTEGER PRIMARY KEY,"
    " id TEXT UNIQUE,"
    " name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    " aliases TEXT, year INTEGER, sensor TEXT, num_images INTEGER, image_size_px TEXT,"
    " size_measure_px INTEGER, resolution_m TEXT, resolution_min_m REAL,"
    " resolution_max_m REAL, bands TEXT, num_classes INTEGER, volume_mb REAL,"
    " region TEXT, license TEXT, url TEXT, source TEXT, provenance TEXT, notes TEXT,"
    " description TEXT, bbox_west REAL, bbox_south REAL, bbox_east REAL,"
    " bbox_north REAL, detail TEXT);"
    "CREATE TABLE dataset_task (dataset INTEGER NOT NULL REFERENCES dataset(pk)"
    " ON DELETE CASCADE, pos INTEGER NOT NULL, value TEXT NOT NULL COLLATE NOCASE,"
    " PRIMARY KEY (dataset, pos));"
    "CREATE TABLE dataset_platform (dataset INTEGER NOT NULL REFERENCES dataset(pk)"
    " ON DELETE CASCADE, pos INTEGER NOT NULL, value TEXT NOT NULL COLLATE NOCASE,"
    " PRIMARY KEY (dataset, pos));"
    "CREATE TABLE dataset_modality (dataset INTEGER NOT NULL REFERENCES dataset(pk)"
    " ON DELETE CASCADE, pos INTEGER NOT NULL, value TEXT NOT NULL COLLATE NOCASE,"
    " PRIMARY KEY (dataset, pos));"
    "CREATE TABLE dataset_continent (dataset INTEGER NOT NULL REFERENCES dataset(pk)"
    " ON DELETE CASCADE, pos INTEGER NOT NULL, value TEXT NOT NULL COLLATE NOCASE,"
    " PRIMARY KEY (dataset, pos));"
    "CREATE INDEX dataset_task_value ON dataset_task (value);"
    "CREATE INDEX dataset_platform_value ON dataset_platform (value);"
    "CREATE INDEX dataset_modality_value ON dataset_modality (value);"
    "CREATE INDEX dataset_continent_value ON dataset_continent (value);"
    "CREATE VIRTUAL TABLE dataset_fts USING fts5(name, aliases, sensor, region,"
    " content='dataset', content_rowid='pk');"
    "CREATE TRIGGER dataset_fts_insert AFTER INSERT ON dataset BEGIN"
    " INSERT INTO dataset_fts (rowid, name, aliases, sensor, region)"
    " VALUES (new.pk, new.name, new.aliases, new.sensor, new.region); END;"
    "CREATE TRIGGER dataset_fts_delete AFTER DELETE ON dataset BEGIN"
    " INSERT INTO dataset_fts (dataset_fts, rowid, name, aliases, sensor, region)"
    " VALUES ('delete', old.pk, old.name, old.aliases, old.sensor, old.region); END;"
    "CREATE TRIGGER dataset_fts_update AFTER UPDATE ON dataset BEGIN"
    " INSERT INTO dataset_fts (dataset_fts, rowid, name, aliases, sensor, region)"
    " VALUES ('delete', old.pk, old.name, old.aliases, old.sensor, old.region);"
    " INSERT INTO dataset_fts (rowid, name, aliases, sensor, region)"
    " VALUES (new.pk, new.name, new.aliases, new.sensor, new.region); END;",
    /* 1 -> 2: the folder of a registered dataset moves out of its published
       fields (url "file://...", detail.path, provenance) into a table that
       no API, page or export reads. */
    "CREATE TABLE dataset_folder (dataset INTEGER PRIMARY KEY REFERENCES dataset(pk)"
    " ON DELETE CASCADE, path TEXT NOT NULL);"
    "INSERT INTO dataset_folder (dataset, path) SELECT pk, substr(url, 8) FROM dataset"
    " WHERE source = 'eodkit' AND url LIKE 'file:///%';"
    "UPDATE dataset SET url = NULL, provenance = '" EK_REGISTERED "',"
    " detail = json_remove(detail, '$.path')"
    " WHERE pk IN (SELECT dataset FROM dataset_folder);",
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int eodkit_catalog_default_path(eodkit_ctx *ctx, char **path)
{
    const char *env = getenv("EODKIT_CATALOG");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");

    if (env != NULL && env[0] != '\0') {
        *path = ek_strdup(ctx, env);
    } else if (xdg != NULL && xdg[0] == '/') {
        *path = ek_asprintf(ctx, "%s/eodkit/catalog.sqlite", xdg);
    } else if (home != NULL && home[0] != '\0') {
        *path = ek_asprintf(ctx, "%s/.local/share/eodkit/catalog.sqlite", home);
    } else {
        *path = NULL;
        return ek_error(
            ctx, EODKIT_ERR_USAGE,
            "no catalog path: set EODKIT_CATALOG or HOME, or give --db FILE");
    }
    return *path == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

int ek_catalog_sql_error(eodkit_ctx *ctx, eodkit_catalog *cat, const char *what)
{
    int code = sqlite3_extended_errcode(cat->db);
    const char *msg = sqlite3_errmsg(cat->db);

    switch (code & 0xff) {
    case SQLITE_NOTADB:
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: not a SQLite database (%s)",
                        cat->path, msg);
    case SQLITE_CORRUPT:
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: the catalog database is damaged (%s)", cat->path, msg);
    case SQLITE_NOMEM:
        return ek_error(ctx, EODKIT_ERR_NOMEM, "%s: out of memory (%s)", cat->path,
                        what);
    case SQLITE_READONLY:
        return ek_error(ctx, EODKIT_ERR_IO, "%s: the catalog is read-only (%s)",
                        cat->path, msg);
    default:
        return ek_error(ctx, EODKIT_ERR_IO, "%s: %s: %s", cat->path, what, msg);
    }
}

int ek_catalog_exec(eodkit_ctx *ctx, eodkit_catalog *cat, const char *sql)
{
    if (sqlite3_exec(cat->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        return ek_catalog_sql_error(ctx, cat, sql);
    }
    return EODKIT_OK;
}

/* Store the integer that SQL (one row, one column) returns in *V. */
static int query_int(eodkit_ctx *ctx, eodkit_catalog *cat, const char *sql,
                     long long *v)
{
    sqlite3_stmt *st = NULL;
    int rc = EODKIT_OK;

    if (sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = ek_catalog_sql_error(ctx, cat, "reading the catalog");
        goto out;
    }
    *v = sqlite3_column_int64(st, 0);
out:
    sqlite3_finalize(st);
    return rc;
}

/* Nonzero when PATH may be written: it has write permission bits (also for
   root, who would otherwise write to a file marked read-only) and access()
   agrees. */
static int file_writable(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        return 0;
    }
    return (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) != 0 && access(path, W_OK) == 0;
}

/* Fill the new catalog CAT with the shipped datasets. */
static int seed(eodkit_ctx *ctx, eodkit_catalog *cat)
{
    eodkit_catalog_report *report = NULL;
    ek_import imp;
    size_t len = 0;
    const char *csv = ek_asset(SHIPPED_CSV, &len);
    int rc;

    if (csv == NULL) {
        return ek_error(ctx, EODKIT_ERR_INTERNAL,
                        "the shipped catalog is not built in");
    }
    rc = ek_import_begin(ctx, cat, 1, &imp);
    if (rc != EODKIT_OK) {
        return rc;
    }
    rc = ek_csv_import(ctx, &imp, SHIPPED_CSV, csv, len);
    if (rc == EODKIT_OK && imp.report->nrejected > 0) {
        rc = ek_error(ctx, EODKIT_ERR_INTERNAL, "the shipped catalog has a bad row: %s",
                      imp.report->rejected[0]);
    }
    rc = ek_import_end(ctx, &imp, rc, &report);
    eodkit_catalog_report_free(report);
    return rc;
}

/*
** Bring CAT from schema version FROM to the current one (and, when FROM is
** 0 and EMPTY is 0, fill it) in one transaction.
*/
static int migrate(eodkit_ctx *ctx, eodkit_catalog *cat, int from, int empty)
{
    char sql[64];
    int rc, v;

    rc = ek_catalog_exec(ctx, cat, "BEGIN IMMEDIATE");
    if (rc != EODKIT_OK) {
        return rc;
    }
    for (v = from; v < SCHEMA_VERSION && rc == EODKIT_OK; v++) {
        rc = ek_catalog_exec(ctx, cat, migrations[v]);
    }
    if (rc == EODKIT_OK) {
        snprintf(sql, sizeof sql,
                 "PRAGMA application_id = %d; PRAGMA user_version = %d", APPLICATION_ID,
                 SCHEMA_VERSION);
        rc = ek_catalog_exec(ctx, cat, sql);
    }
    if (rc == EODKIT_OK && from == 0 && !empty) {
        rc = seed(ctx, cat);
    }
    if (rc == EODKIT_OK) {
        rc = ek_catalog_exec(ctx, cat, "COMMIT");
    }
    if (rc != EODKIT_OK) {
        sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

/* Check that CAT is an eodkit catalog of a version this eodkit reads, and
   migrate it (unless read-only). */
static int check_schema(eodkit_ctx *ctx, eodkit_catalog *cat, int empty)
{
    long long app = 0, version = 0, tables = 0;
    int rc;

    rc = query_int(ctx, cat, "PRAGMA application_id", &app);
    if (rc == EODKIT_OK) {
        rc = query_int(ctx, cat, "PRAGMA user_version", &version);
    }
    if (rc == EODKIT_OK) {
        rc = query_int(ctx, cat, "SELECT count(*) FROM sqlite_master", &tables);
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    if (app != APPLICATION_ID && (tables > 0 || app != 0)) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s: a SQLite database, but not an eodkit catalog", cat->path);
    }
    if (version > SCHEMA_VERSION) {
        return ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: catalog schema version %lld is newer than this eodkit's (%d): "
            "use a newer eodkit",
            cat->path, version, SCHEMA_VERSION);
    }
    if (version == SCHEMA_VERSION) {
        return EODKIT_OK;
    }
    if (cat->read_only) {
        return ek_error(
            ctx, EODKIT_ERR_IO,
            "%s: catalog schema version %lld must be migrated to %d, which needs "
            "write access: run 'eodkit catalog stats --db %s' once as its owner",
            cat->path, version, SCHEMA_VERSION, cat->path);
    }
    return migrate(ctx, cat, (int)version, empty);
}

int eodkit_catalog_open(eodkit_ctx *ctx, const char *path, eodkit_catalog_mode mode,
                        int empty, eodkit_catalog **out)
{
    eodkit_catalog *cat = NULL;
    char *dir = NULL;
    int rc = EODKIT_OK, exists = ek_fs_exists(path), flags;

    *out = NULL;
    if (exists && ek_fs_is_dir(path)) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: is a folder, not a catalog file",
                        path);
    }
    if (!exists && mode == EODKIT_CATALOG_READ_ONLY) {
        return ek_error(ctx, EODKIT_ERR_IO, "%s: no such catalog", path);
    }
    if (exists && mode == EODKIT_CATALOG_WRITE && !file_writable(path)) {
        return ek_error(ctx, EODKIT_ERR_IO,
                        "%s: the catalog file is read-only: nothing was changed", path);
    }
    cat = ek_calloc(ctx, 1, sizeof *cat);
    if (cat == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    cat->path = ek_strdup(ctx, path);
    if (cat->path == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    cat->read_only = mode == EODKIT_CATALOG_READ_ONLY ||
                     (mode == EODKIT_CATALOG_READ && exists && !file_writable(path));
    if (!exists) {
        dir = ek_path_dirname(ctx, path);
        rc = dir == NULL ? EODKIT_ERR_NOMEM : ek_fs_mkdirs(ctx, dir);
        if (rc != EODKIT_OK) {
            goto out;
        }
    }
    flags = cat->read_only ? SQLITE_OPEN_READONLY
                           : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &cat->db, flags | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = cat->db == NULL
                 ? ek_error(ctx, EODKIT_ERR_NOMEM, "%s: out of memory", path)
                 : ek_catalog_sql_error(ctx, cat, "cannot open");
        goto out;
    }
    sqlite3_extended_result_codes(cat->db, 1);
    sqlite3_busy_timeout(cat->db, 5000);
    rc = ek_catalog_exec(ctx, cat, "PRAGMA foreign_keys = ON");
    if (rc == EODKIT_OK) {
        rc = check_schema(ctx, cat, empty);
    }
out:
    free(dir);
    if (rc != EODKIT_OK) {
        eodkit_catalog_close(cat);
        /* A catalog this call created and could not fill is removed. */
        if (!exists) {
            unlink(path);
        }
        return rc;
    }
    *out = cat;
    return EODKIT_OK;
}

void eodkit_catalog_close(eodkit_catalog *cat)
{
    int i;

    if (cat == NULL) {
        return;
    }
    for (i = 0; i < EK_STMT_COUNT; i++) {
        sqlite3_finalize(cat->stmt[i]);
    }
    sqlite3_close(cat->db);
    free(cat->path);
    free(cat);
}
