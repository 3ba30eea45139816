/*
** Fuzz target: `eodkit catalog import` of one file, CSV or JSON (a STAC
** Collection or an `export --json` file) as told by its first non-blank
** byte, into a catalog of the shipped datasets. Each import runs inside a
** transaction that is rolled back, so every input meets the same catalog.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/ek_catalog.h"

static char folder[] = "/tmp/eodkit-fuzz-import-XXXXXX";
static char db[sizeof folder + 16], csv[sizeof folder + 16], json[sizeof folder + 16];
static eodkit_ctx *ctx;
static eodkit_catalog *cat;

static void stop(void)
{
    eodkit_catalog_close(cat);
    eodkit_ctx_free(ctx);
    unlink(db);
    unlink(csv);
    unlink(json);
    rmdir(folder);
}

/* Open the catalog once; exit when it cannot be made (nothing to fuzz). */
static void start(void)
{
    ctx = eodkit_ctx_new();
    if (ctx == NULL || mkdtemp(folder) == NULL) {
        exit(1);
    }
    snprintf(db, sizeof db, "%s/c.sqlite", folder);
    snprintf(csv, sizeof csv, "%s/in.csv", folder);
    snprintf(json, sizeof json, "%s/in.json", folder);
    if (eodkit_catalog_open(ctx, db, EODKIT_CATALOG_WRITE, 0, &cat) != EODKIT_OK) {
        fprintf(stderr, "fuzz_catalog_import: %s\n", eodkit_ctx_message(ctx));
        exit(1);
    }
    atexit(stop);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eodkit_catalog_report *report = NULL;
    const char *path = csv;
    size_t i;
    FILE *f;

    if (cat == NULL) {
        start();
    }
    for (i = 0; i < size && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t');
         i++) {
    }
    if (i < size && data[i] == '{') {
        path = json;
    }
    f = fopen(path, "wb");
    if (f == NULL) {
        return 0;
    }
    fwrite(data, 1, size, f);
    fclose(f);
    if (ek_catalog_exec(ctx, cat, "BEGIN") == EODKIT_OK) {
        eodkit_catalog_import(ctx, cat, path, 0, &report);
        eodkit_catalog_report_free(report);
        ek_catalog_exec(ctx, cat, "ROLLBACK");
    }
    ek_error_clear(ctx);
    return 0;
}
