/*
** API test: search a catalog with the installed libeodkit (created with the
** shipped datasets when missing) for the datasets of a task on a continent
** and print the result as JSON (what `eodkit catalog search --task TASK
** --continent CONTINENT --json` prints).
*/
#include <stdio.h>

#include <eodkit/catalog.h>

int main(int argc, char **argv)
{
    eodkit_catalog_query q = {0};
    eodkit_catalog *cat = NULL;
    eodkit_ctx *ctx;
    char *json = NULL;
    int rc;

    if (argc != 4) {
        fprintf(stderr, "usage: catalog_search DB TASK CONTINENT\n");
        return EODKIT_ERR_USAGE;
    }
    ctx = eodkit_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    q.task = argv[2];
    q.continent = argv[3];
    rc = eodkit_catalog_open(ctx, argv[1], EODKIT_CATALOG_WRITE, 0, &cat);
    if (rc == EODKIT_OK) {
        rc = eodkit_catalog_search(ctx, cat, &q, EODKIT_FORMAT_JSON, &json);
    }
    if (rc == EODKIT_OK) {
        printf("%s\n", json);
    } else {
        fprintf(stderr, "%s: %s\n", eodkit_status_name(rc), eodkit_ctx_message(ctx));
    }
    eodkit_free(json);
    eodkit_catalog_close(cat);
    eodkit_ctx_free(ctx);
    return rc;
}
