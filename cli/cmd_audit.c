/*
** CLI: `eodkit audit DATASET [--html FILE] [--regions FILE --region-field NAME]
** [--json]`: geography, class, time and leakage audit of a built dataset.
*/
#include <getopt.h>
#include <stdio.h>

#include "eodkit/audit.h"
#include "cli.h"

int cmd_audit(int argc, char **argv)
{
    static const struct option options[] = {
        {"html", required_argument, NULL, 'H'},
        {"regions", required_argument, NULL, 'r'},
        {"region-field", required_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    eodkit_audit_options opt = {0};
    eodkit_ctx *ctx = NULL;
    char *summary = NULL, *text = NULL;
    int c, json = 0, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'H':
            opt.html = optarg;
            break;
        case 'r':
            opt.regions = optarg;
            break;
        case 'f':
            opt.region_field = optarg;
            break;
        case 'J':
            json = 1;
            break;
        case 'h':
            return cli_help("audit", stdout);
        default:
            return cli_usage_error("audit", "unknown option");
        }
    }
    if (optind != argc - 1) {
        return cli_usage_error("audit", "expected one dataset folder");
    }
    if (opt.region_field != NULL && opt.regions == NULL) {
        return cli_usage_error("audit", "--region-field needs --regions");
    }
    ctx = cli_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = eodkit_audit(ctx, argv[optind], &opt, &summary);
    if (rc == EODKIT_OK && !json) {
        rc = eodkit_audit_summary_text(ctx, summary, &text);
    }
    if (rc == EODKIT_OK) {
        fputs(json ? summary : text, stdout);
    } else {
        cli_report(ctx);
    }
    eodkit_free(text);
    eodkit_free(summary);
    eodkit_ctx_free(ctx);
    return rc;
}
