/*
** CLI: `eodkit info DATASET [--json]`: what a dataset holds.
*/
#include <getopt.h>
#include <stdio.h>

#include "eodkit/dataset.h"
#include "cli.h"

int cmd_info(int argc, char **argv)
{
    static const struct option options[] = {{"json", no_argument, NULL, 'J'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    eodkit_ctx *ctx = NULL;
    eodkit_dataset *ds = NULL;
    char *text = NULL;
    int c, json = 0, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'J':
            json = 1;
            break;
        case 'h':
            return cli_help("info", stdout);
        default:
            return cli_usage_error("info", "unknown option");
        }
    }
    if (optind != argc - 1) {
        return cli_usage_error("info", "expected one dataset folder");
    }
    ctx = cli_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = eodkit_dataset_open(ctx, argv[optind], &ds);
    if (rc == EODKIT_OK) {
        rc = json ? eodkit_dataset_info_json(ctx, ds, &text)
                  : eodkit_dataset_info_text(ctx, ds, &text);
    }
    if (rc == EODKIT_OK) {
        fputs(text, stdout);
    } else {
        cli_report(ctx);
    }
    eodkit_free(text);
    eodkit_dataset_close(ds);
    eodkit_ctx_free(ctx);
    return rc;
}
