/*
** CLI: `eodkit merge RECIPE [-o DIR] [-j N] [--overwrite] [--parts N]
** [--regions FILE] [--region-field NAME]`. Joins the parts `eodkit build
** --part I/N` wrote (e.g. as a Slurm job array) into the dataset and prints
** the same JSON summary and audit warnings as a build.
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "eodkit/build.h"
#include "cli.h"

int cmd_merge(int argc, char **argv)
{
    static const struct option options[] = {
        {"jobs", required_argument, NULL, 'j'},
        {"output", required_argument, NULL, 'o'},
        {"overwrite", no_argument, NULL, 'w'},
        {"parts", required_argument, NULL, 'n'},
        {"regions", required_argument, NULL, 'r'},
        {"region-field", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    eodkit_build_options opt;
    eodkit_ctx *ctx = NULL;
    eodkit_recipe *recipe = NULL;
    char *summary = NULL;
    long long v;
    int c, rc;

    eodkit_build_options_init(&opt);
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:o:h", options, NULL)) != -1) {
        switch (c) {
        case 'j':
            if (cli_threads("merge", optarg, &opt.threads) != EODKIT_OK) {
                return EODKIT_ERR_USAGE;
            }
            break;
        case 'o':
            opt.output_dir = optarg;
            break;
        case 'w':
            opt.overwrite = 1;
            break;
        case 'r':
            opt.regions_path = optarg;
            break;
        case 'f':
            opt.region_field = optarg;
            break;
        case 'n':
            if (cli_whole_option("merge", "--parts", optarg, 2, 1 << 20, &v) !=
                EODKIT_OK) {
                return EODKIT_ERR_USAGE;
            }
            opt.part_count = (int)v;
            break;
        case 'h':
            return cli_help("merge", stdout);
        default:
            return cli_usage_error("merge", "unknown option");
        }
    }
    if (optind != argc - 1) {
        return cli_usage_error("merge", "expected one recipe file");
    }
    ctx = cli_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = eodkit_recipe_load(ctx, argv[optind], &recipe);
    if (rc == EODKIT_OK) {
        rc = eodkit_merge(ctx, recipe, &opt, &summary);
    }
    if (rc == EODKIT_OK) {
        cli_print_summary(summary);
    } else {
        cli_report(ctx);
    }
    eodkit_free(summary);
    eodkit_recipe_free(recipe);
    eodkit_ctx_free(ctx);
    return rc;
}
