/*
** CLI: `eodkit mosaic DATASET PRED -o OUT.tif [--split S[,S...]] [--argmax]
** [--json]`: chip predictions stitched into a georeferenced COG per grid.
*/
#include <getopt.h>
#include <stdio.h>

#include <jansson.h>

#include "eodkit/mosaic.h"
#include "cli.h"

/* One line per file of SUMMARY (eodkit_mosaic's JSON). */
static void print_files(const char *summary)
{
    json_t *s = json_loads(summary, 0, NULL), *f;
    size_t i;

    json_array_foreach(json_object_get(s, "files"), i, f)
    {
        long long bands = (long long)json_integer_value(json_object_get(f, "bands"));

        printf("%s: %lld x %lld pixels, %lld band%s %s, %s, %lld chips, %s\n",
               json_string_value(json_object_get(f, "path")),
               (long long)json_integer_value(json_object_get(f, "width")),
               (long long)json_integer_value(json_object_get(f, "height")), bands,
               bands == 1 ? "" : "s", json_string_value(json_object_get(f, "dtype")),
               json_string_value(json_object_get(s, "mode")),
               (long long)json_integer_value(json_object_get(f, "chips")),
               json_is_string(json_object_get(f, "crs"))
                   ? json_string_value(json_object_get(f, "crs"))
                   : "custom CRS");
    }
    json_decref(s);
}

int cmd_mosaic(int argc, char **argv)
{
    static const struct option options[] = {{"output", required_argument, NULL, 'o'},
                                            {"split", required_argument, NULL, 's'},
                                            {"argmax", no_argument, NULL, 'a'},
                                            {"json", no_argument, NULL, 'J'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    eodkit_mosaic_options opt = {0};
    eodkit_ctx *ctx = NULL;
    const char *out = NULL;
    char *summary = NULL;
    int c, json = 0, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 's':
            opt.splits = optarg;
            break;
        case 'a':
            opt.argmax = 1;
            break;
        case 'J':
            json = 1;
            break;
        case 'h':
            return cli_help("mosaic", stdout);
        default:
            return cli_usage_error("mosaic", "unknown option");
        }
    }
    if (optind != argc - 2) {
        return cli_usage_error("mosaic",
                               "expected a dataset folder and a predictions file");
    }
    if (out == NULL) {
        return cli_usage_error("mosaic", "-o OUT.tif is required");
    }
    ctx = cli_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = eodkit_mosaic(ctx, argv[optind], argv[optind + 1], out, &opt, &summary);
    if (rc == EODKIT_OK && json) {
        fputs(summary, stdout);
    } else if (rc == EODKIT_OK) {
        print_files(summary);
    } else {
        cli_report(ctx);
    }
    eodkit_free(summary);
    eodkit_ctx_free(ctx);
    return rc;
}
