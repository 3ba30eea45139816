/*
** API test: open a dataset with the installed libeodkit and print what it
** holds as JSON (what `eodkit info --json` prints), or the error and its
** status as the exit code.
*/
#include <stdio.h>

#include <eodkit/dataset.h>

int main(int argc, char **argv)
{
    eodkit_ctx *ctx;
    eodkit_dataset *ds = NULL;
    char *json = NULL;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: dataset_info DATASET\n");
        return EODKIT_ERR_USAGE;
    }
    ctx = eodkit_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = eodkit_dataset_open(ctx, argv[1], &ds);
    if (rc == EODKIT_OK) {
        rc = eodkit_dataset_info_json(ctx, ds, &json);
    }
    if (rc == EODKIT_OK) {
        fputs(json, stdout);
    } else {
        fprintf(stderr, "%s: %s\n", eodkit_status_name(rc), eodkit_ctx_message(ctx));
    }
    eodkit_free(json);
    eodkit_dataset_close(ds);
    eodkit_ctx_free(ctx);
    return rc;
}
