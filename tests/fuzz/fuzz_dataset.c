/*
** Fuzz harness: the checked reader of built datasets (src/dataset) on
** damaged input. The first byte says what the rest is: a .npy shard (its
** header parsed, checked as a shard of the demo dataset and its rows read),
** an index.gpkg (an SQLite database image), the rows of an index (split,
** shard and row values of any SQLite type) or collection.json text; each is
** read as ek_dataset_read reads it, against the demo dataset in shards of 3
** chips (tests/format) where the rest of a dataset is needed.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/ek_dataset.h"

/* What collection.json of the demo dataset says about its arrays and
   splits (tests/format builds it). */
static const char demo_collection[] =
    "{\"eodkit:modalities\": [{\"name\": \"optical\", \"dtype\": \"uint8\", "
    "\"shape\": [6, 32, 32]}], \"eodkit:label\": {\"dtype\": \"uint8\", \"shape\": "
    "[32, 32], \"background\": {\"id\": 0, \"name\": \"background\"}, \"classes\": "
    "[{\"id\": 1, \"name\": \"URBANO\"}, {\"id\": 2, \"name\": \"RURAL\"}]}, "
    "\"eodkit:splits\": {\"train\": {\"chips\": 24, \"shards\": 8}, \"val\": "
    "{\"chips\": 9, \"shards\": 3}, \"test\": {\"chips\": 8, \"shards\": 3}}}";

/* Rows of the demo dataset's index, in fid order: "t" train, "v" val, "s"
   test, runs of shards of 3 chips as the build lays them out. */
static const char demo_splits[] = "tsstttssssssvvvvvvvvvtttttttttttttttttttt";

enum { NPY, INDEX_IMAGE, INDEX_ROWS, COLLECTION, MODES };

/* Where the values read go, so that reading them is not optimised away. */
static volatile double sink;

/* A dataset described by collection TEXT (LEN bytes); NULL when TEXT is
   not a collection the reader accepts. */
static ek_dataset *describe(eodkit_ctx *ctx, const char *text, size_t len)
{
    ek_dataset *ds = calloc(1, sizeof *ds);

    if (ds == NULL) {
        return NULL;
    }
    ds->path = strdup("fuzz");
    ds->collection = json_loadb(text, len, 0, NULL);
    if (ds->path == NULL || !json_is_object(ds->collection) ||
        ek_dataset_describe(ctx, ds) != EODKIT_OK) {
        eodkit_dataset_close(ds);
        return NULL;
    }
    return ds;
}

/* Read DATA as a .npy shard of 3 chips of each array of DS, and read its
   first rows. */
static void fuzz_npy(eodkit_ctx *ctx, const ek_dataset *ds, const uint8_t *data,
                     size_t size)
{
    FILE *f = size > 0 ? fmemopen((void *)data, size, "rb") : NULL;
    unsigned char rows[4096];
    char shape[128];
    ek_npy nf;
    size_t a, i;

    if (f == NULL || ek_npy_open_file(ctx, f, "fuzz.npy", &nf) != EODKIT_OK) {
        return;
    }
    ek_npy_shape_text(&nf, shape, sizeof shape);
    for (a = 0; a < ds->narrays; a++) {
        ek_dataset_check_shard(ctx, &ds->arrays[a], 3, &nf, "fuzz.npy");
    }
    if (nf.ndim > 0 && nf.row_bytes > 0 && nf.row_bytes <= sizeof rows) {
        int64_t n = (int64_t)(sizeof rows / nf.row_bytes);

        n = n < nf.shape[0] ? n : nf.shape[0];
        if (ek_npy_read_rows(ctx, &nf, "fuzz.npy", 0, n, rows) == EODKIT_OK) {
            for (i = 0; i + (size_t)nf.type.size <= (size_t)n * nf.row_bytes;
                 i += (size_t)nf.type.size) {
                sink += ek_npy_value(rows + i, nf.type);
            }
        }
    }
    ek_npy_close(&nf);
}

/* An in-memory database whose table chips holds the chips DATA describes:
   per chip three values, each a type byte (NULL, a small integer, a 64-bit
   integer, a real, a split name, raw text, a blob) and its bytes. */
static sqlite3 *rows_db(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"train", "val", "test", "", "training"};
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    size_t p = 0;

    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "CREATE TABLE chips (fid INTEGER PRIMARY KEY, split, shard, row)",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO chips (split, shard, row) VALUES (?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    while (p < size) {
        int col;

        for (col = 1; col <= 3 && p < size; col++) {
            uint8_t type = data[p++] % 7;
            size_t left = size - p, n = left < 8 ? left : 8;
            int64_t v = 0;
            double r = 0;

            switch (type) {
            case 0:
                sqlite3_bind_null(st, col);
                break;
            case 1:
                sqlite3_bind_int64(st, col, n > 0 ? (int8_t)data[p++] : 0);
                break;
            case 2:
                memcpy(&v, data + p, n);
                p += n;
                sqlite3_bind_int64(st, col, v);
                break;
            case 3:
                memcpy(&r, data + p, n);
                p += n;
                sqlite3_bind_double(st, col, r);
                break;
            case 4:
                sqlite3_bind_text(st, col, names[n > 0 ? data[p++] % 5 : 0], -1,
                                  SQLITE_STATIC);
                break;
            default:
                n = n > 0 ? data[p++] % 8 : 0;
                n = n < size - p ? n : size - p;
                if (type == 5) {
                    sqlite3_bind_text(st, col, (const char *)data + p, (int)n,
                                      SQLITE_TRANSIENT);
                } else {
                    sqlite3_bind_blob(st, col, data + p, (int)n, SQLITE_TRANSIENT);
                }
                p += n;
                break;
            }
        }
        sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);
    return db;
}

/* The demo dataset's index: its real (split, shard, row) rows. */
static sqlite3 *demo_db(void)
{
    uint8_t rows[sizeof demo_splits * 6];
    int64_t next[3][2] = {{0, 0}, {0, 0}, {0, 0}}; /* shard and row per split */
    size_t i, n = 0;

    for (i = 0; demo_splits[i] != '\0'; i++) {
        int s = demo_splits[i] == 't' ? 0 : demo_splits[i] == 'v' ? 1 : 2;

        rows[n++] = 4;
        rows[n++] = (uint8_t)s;
        rows[n++] = 1;
        rows[n++] = (uint8_t)next[s][0];
        rows[n++] = 1;
        rows[n++] = (uint8_t)next[s][1];
        if (++next[s][1] == 3) {
            next[s][0]++;
            next[s][1] = 0;
        }
    }
    return rows_db(rows, n);
}

/* A read-only database holding the SQLite file image DATA. */
static sqlite3 *image_db(const uint8_t *data, size_t size)
{
    sqlite3 *db = NULL;
    unsigned char *copy = sqlite3_malloc64(size > 0 ? size : 1);

    if (copy == NULL || sqlite3_open(":memory:", &db) != SQLITE_OK) {
        sqlite3_free(copy);
        sqlite3_close(db);
        return NULL;
    }
    memcpy(copy, data, size);
    if (sqlite3_deserialize(db, "main", copy, (sqlite3_int64)size, (sqlite3_int64)size,
                            SQLITE_DESERIALIZE_FREEONCLOSE |
                                SQLITE_DESERIALIZE_READONLY) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eodkit_ctx *ctx = eodkit_ctx_new();
    ek_dataset *ds = NULL;
    sqlite3 *db = NULL;
    int mode = size > 0 ? data[0] % MODES : NPY;

    data += size > 0;
    size -= size > 0;
    if (ctx == NULL) {
        return 0;
    }
    if (mode == COLLECTION) {
        ds = describe(ctx, (const char *)data, size);
    } else {
        ds = describe(ctx, demo_collection, sizeof demo_collection - 1);
    }
    if (ds != NULL && mode == NPY) {
        fuzz_npy(ctx, ds, data, size);
    } else if (ds != NULL) {
        db = mode == INDEX_IMAGE  ? image_db(data, size)
             : mode == INDEX_ROWS ? rows_db(data, size)
                                  : demo_db();
    }
    if (db != NULL) {
        ek_dataset_read_index(ctx, ds, db, "fuzz/index.gpkg");
        sqlite3_close(db);
    }
    eodkit_dataset_close(ds);
    eodkit_ctx_free(ctx);
    return 0;
}
