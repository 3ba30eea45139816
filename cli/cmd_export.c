/*
** CLI: `eodkit export coco|yolo DATASET -o DIR [--split S[,S...]]
** [--modality NAME] [--min-objects N] [--rle] [--no-images] [--overwrite]
** [--json]`: a detection or instance dataset in the formats detectors read.
*/
#include <getopt.h>
#include <stdio.h>

#include <jansson.h>

#include "eodkit/export.h"
#include "cli.h"

/* One line per split of SUMMARY (eodkit_export's JSON). */
static void print_splits(const char *summary)
{
    json_t *s = json_loads(summary, 0, NULL), *v;
    const char *split;

    json_object_foreach(json_object_get(s, "splits"), split, v)
    {
        printf("%s: %s %lld images, %lld objects, %lld chips left out\n",
               json_string_value(json_object_get(s, "folder")), split,
               (long long)json_integer_value(json_object_get(v, "images")),
               (long long)json_integer_value(json_object_get(v, "objects")),
               (long long)json_integer_value(json_object_get(v, "skipped")));
    }
    json_decref(s);
}

int cmd_export(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"split", required_argument, NULL, 's'},
        {"modality", required_argument, NULL, 'm'},
        {"min-objects", required_argument, NULL, 'n'},
        {"rle", no_argument, NULL, 'r'},
        {"no-images", no_argument, NULL, 'I'},
        {"overwrite", no_argument, NULL, 'O'},
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    eodkit_export_options opt = {0};
    eodkit_ctx *ctx = NULL;
    const char *out = NULL;
    char *summary = NULL;
    long long v;
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
        case 'm':
            opt.modality = optarg;
            break;
        case 'n':
            rc = cli_whole_option("export", "--min-objects", optarg, 0, 1000000, &v);
            if (rc != EODKIT_OK) {
                return rc;
            }
            opt.min_objects = (int)v;
            break;
        case 'r':
            opt.rle = 1;
            break;
        case 'I':
            opt.no_images = 1;
            break;
        case 'O':
            opt.overwrite = 1;
            break;
        case 'J':
            json = 1;
            break;
        case 'h':
            return cli_help("export", stdout);
        default:
            return cli_usage_error("export", "unknown option");
        }
    }
    if (optind != argc - 2) {
        return cli_usage_error("export",
                               "expected a format (coco or yolo) and a dataset "
                               "folder");
    }
    if (out == NULL) {
        return cli_usage_error("export", "-o DIR is required");
    }
    ctx = cli_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = eodkit_export(ctx, argv[optind], argv[optind + 1], out, &opt, &summary);
    if (rc == EODKIT_OK && json) {
        fputs(summary, stdout);
    } else if (rc == EODKIT_OK) {
        print_splits(summary);
    } else {
        cli_report(ctx);
    }
    eodkit_free(summary);
    eodkit_ctx_free(ctx);
    return rc;
}
