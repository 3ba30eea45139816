/*
** API test: audit a dataset with the installed libeodkit, the HTML report
** going to the file given, and print the summary for people (what
** `eodkit audit DATASET --html FILE` prints).
*/
#include <stdio.h>

#include <eodkit/audit.h>

int main(int argc, char **argv)
{
    eodkit_audit_options opt = {0};
    eodkit_ctx *ctx;
    char *summary = NULL, *text = NULL;
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: audit_dataset DATASET HTML\n");
        return EODKIT_ERR_USAGE;
    }
    ctx = eodkit_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    opt.html = argv[2];
    rc = eodkit_audit(ctx, argv[1], &opt, &summary);
    if (rc == EODKIT_OK) {
        rc = eodkit_audit_summary_text(ctx, summary, &text);
    }
    if (rc == EODKIT_OK) {
        fputs(text, stdout);
    } else {
        fprintf(stderr, "%s: %s\n", eodkit_status_name(rc), eodkit_ctx_message(ctx));
    }
    eodkit_free(text);
    eodkit_free(summary);
    eodkit_ctx_free(ctx);
    return rc;
}
