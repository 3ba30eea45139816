/*
** CLI: `eodkit preview DATASET -o SHEET.png [--split S] [-n N] [--bands R,G,B]
** [--modality M] [--json]`: a contact sheet of a dataset's chips.
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "eodkit/preview.h"
#include "cli.h"

int cmd_preview(int argc, char **argv)
{
    static const struct option options[] = {{"output", required_argument, NULL, 'o'},
                                            {"split", required_argument, NULL, 's'},
                                            {"chips", required_argument, NULL, 'n'},
                                            {"bands", required_argument, NULL, 'b'},
                                            {"modality", required_argument, NULL, 'm'},
                                            {"json", no_argument, NULL, 'J'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    eodkit_preview_options opt = {0};
    eodkit_ctx *ctx = NULL;
    const char *out = NULL;
    char *summary = NULL;
    long long v;
    int c, json = 0, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:n:", options, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 's':
            opt.split = optarg;
            break;
        case 'n':
            if (cli_whole(optarg, 1, 1024, &v)) {
                return cli_usage_error("preview", "-n takes 1 to 1024 chips");
            }
            opt.chips = (int)v;
            break;
        case 'b':
            opt.bands = optarg;
            break;
        case 'm':
            opt.modality = optarg;
            break;
        case 'J':
            json = 1;
            break;
        case 'h':
            return cli_help("preview", stdout);
        default:
            return cli_usage_error("preview", "unknown option");
        }
    }
    if (optind != argc - 1) {
        return cli_usage_error("preview", "expected one dataset folder");
    }
    if (out == NULL) {
        return cli_usage_error("preview", "-o SHEET.png is required");
    }
    ctx = cli_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = eodkit_preview(ctx, argv[optind], out, &opt, &summary);
    if (rc == EODKIT_OK && json) {
        fputs(summary, stdout);
    } else if (rc == EODKIT_OK) {
        json_t *s = json_loads(summary, 0, NULL);

        printf("%s: %lld x %lld pixels, %zu chips of split %s\n", out,
               (long long)json_integer_value(json_object_get(s, "width")),
               (long long)json_integer_value(json_object_get(s, "height")),
               json_array_size(json_object_get(s, "chips")),
               json_string_value(json_object_get(s, "split")));
        json_decref(s);
    } else {
        cli_report(ctx);
    }
    eodkit_free(summary);
    eodkit_ctx_free(ctx);
    return rc;
}
