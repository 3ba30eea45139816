/*
** CLI: `eodkit eval DATASET PRED [--split S[,S...]] [--by GROUP] [--bootstrap N]
** [--seed N] [--threshold T] [--block-chips N] [--iou-type bbox|segm]
** [--json]`: metrics of a model's predictions with per-group breakdown and
** block-bootstrap intervals.
*/
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "eodkit/eval.h"
#include "cli.h"

int cmd_eval(int argc, char **argv)
{
    static const struct option options[] = {
        {"split", required_argument, NULL, 's'},
        {"by", required_argument, NULL, 'b'},
        {"bootstrap", required_argument, NULL, 'B'},
        {"seed", required_argument, NULL, 'S'},
        {"threshold", required_argument, NULL, 't'},
        {"block-chips", required_argument, NULL, 'k'},
        {"iou-type", required_argument, NULL, 'i'},
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    eodkit_eval_options opt = {0};
    eodkit_ctx *ctx = NULL;
    char *report = NULL, *text = NULL, *end;
    long long v;
    int c, json = 0, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 's':
            opt.splits = optarg;
            break;
        case 'b':
            opt.by = optarg;
            break;
        case 'B':
            if (cli_whole(optarg, 0, 1000000, &v)) {
                return cli_usage_error("eval", "--bootstrap takes 0 to 1000000");
            }
            opt.bootstrap = v == 0 ? -1 : (int)v;
            break;
        case 'S':
            if (cli_whole(optarg, 0, INT64_MAX, &v)) {
                return cli_usage_error("eval", "--seed takes a non-negative integer");
            }
            opt.seed = (uint64_t)v;
            break;
        case 't':
            opt.threshold = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(opt.threshold > 0) ||
                opt.threshold > 1) {
                return cli_usage_error("eval", "--threshold takes a number in (0, 1]");
            }
            break;
        case 'k':
            if (cli_whole(optarg, 1, 1000000, &v)) {
                return cli_usage_error("eval",
                                       "--block-chips takes a positive integer");
            }
            opt.block_chips = (int)v;
            break;
        case 'i':
            opt.iou_type = optarg;
            break;
        case 'J':
            json = 1;
            break;
        case 'h':
            return cli_help("eval", stdout);
        default:
            return cli_usage_error("eval", "unknown option");
        }
    }
    if (optind != argc - 2) {
        return cli_usage_error("eval",
                               "expected a dataset folder and a predictions file");
    }
    ctx = cli_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = eodkit_eval(ctx, argv[optind], argv[optind + 1], &opt, &report);
    if (rc == EODKIT_OK && !json) {
        rc = eodkit_eval_report_text(ctx, report, &text);
    }
    if (rc == EODKIT_OK) {
        fputs(json ? report : text, stdout);
    } else {
        cli_report(ctx);
    }
    eodkit_free(text);
    eodkit_free(report);
    eodkit_ctx_free(ctx);
    return rc;
}
