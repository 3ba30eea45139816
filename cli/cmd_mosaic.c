/*
** CLI: `eodkit mosaic DATASET PRED -o OUT [--split S[,S...]] [--argmax]
** [--nms-threshold T] [--nms-metric iou|ios] [--min-score S] [--json]`: chip
** predictions stitched into a georeferenced COG per grid, or detections
** into a GeoPackage of boxes.
*/
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eodkit/mosaic.h"
#include "cli.h"

/* One line per file of SUMMARY (eodkit_mosaic's JSON); for detections one
   per layer. */
static void print_files(const char *summary)
{
    json_t *s = json_loads(summary, 0, NULL), *f;
    size_t i;

    if (strcmp(json_string_value(json_object_get(s, "mode")), "detections") == 0) {
        json_array_foreach(json_object_get(s, "layers"), i, f)
        {
            printf("%s: layer %s, %lld boxes, %s\n",
                   json_string_value(json_object_get(s, "path")),
                   json_string_value(json_object_get(f, "name")),
                   (long long)json_integer_value(json_object_get(f, "features")),
                   json_is_string(json_object_get(f, "crs"))
                       ? json_string_value(json_object_get(f, "crs"))
                       : "custom CRS");
        }
        printf("%lld detections: %lld kept, %lld suppressed across chip borders, %lld "
               "below the score\n",
               (long long)json_integer_value(json_object_get(s, "detections")),
               (long long)json_integer_value(json_object_get(s, "kept")),
               (long long)json_integer_value(json_object_get(s, "suppressed")),
               (long long)json_integer_value(json_object_get(s, "below_score")));
        json_decref(s);
        return;
    }

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
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"split", required_argument, NULL, 's'},
        {"argmax", no_argument, NULL, 'a'},
        {"nms-threshold", required_argument, NULL, 'T'},
        {"nms-metric", required_argument, NULL, 'M'},
        {"min-score", required_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    eodkit_mosaic_options opt = {0};
    eodkit_ctx *ctx = NULL;
    const char *out = NULL;
    char *summary = NULL, *end;
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
        case 'T':
            opt.nms_threshold = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(opt.nms_threshold > 0) ||
                opt.nms_threshold > 1) {
                return cli_usage_error("mosaic",
                                       "--nms-threshold takes a number in (0, 1]");
            }
            break;
        case 'M':
            opt.nms_metric = optarg;
            break;
        case 'S':
            opt.min_score = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !isfinite(opt.min_score)) {
                return cli_usage_error("mosaic", "--min-score takes a number");
            }
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
