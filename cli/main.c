/*
** CLI: `eodkit <command> ...` dispatch, shared error printing and --help.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "help.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"build", cmd_build, "build a dataset from a recipe"},
    {"merge", cmd_merge, "join the parts of a build made with --part I/N"},
    {"info", cmd_info, "what a dataset holds"},
    {"audit", cmd_audit, "geography, class, time and split-leakage audit of a dataset"},
    {"catalog", cmd_catalog, "search and analyse the catalog of EO datasets"},
    {"serve", cmd_serve, "web pages and JSON API over the catalog"},
    {"eval", cmd_eval, "metrics of predictions per region, with confidence intervals"},
    {"mosaic", cmd_mosaic, "stitch chip predictions into a georeferenced GeoTIFF"},
    {"preview", cmd_preview, "contact sheet of chips with their labels (PNG)"},
    {NULL, NULL, NULL},
};

volatile int cli_interrupted;

static void on_interrupt(int sig)
{
    cli_interrupted = 1;
    /* A second Ctrl-C kills at once. */
    signal(sig, SIG_DFL);
}

void cli_catch_interrupt(void)
{
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
}

int cli_help(const char *name, FILE *out)
{
    const ek_help_page *p;

    for (p = ek_help_pages; p->name != NULL; p++) {
        if (strcmp(p->name, name) == 0) {
            fputs(p->text, out);
            return EODKIT_OK;
        }
    }
    fprintf(out, "eodkit %s: no help page\n", name);
    return EODKIT_OK;
}

int cli_report(const eodkit_ctx *ctx)
{
    fprintf(stderr, "eodkit: error: %s\n", eodkit_ctx_message(ctx));
    return eodkit_ctx_status(ctx);
}

int cli_usage_error(const char *cmd, const char *message)
{
    fprintf(stderr, "eodkit %s: %s\n(see 'eodkit %s --help')\n", cmd, message, cmd);
    return EODKIT_ERR_USAGE;
}

int cli_threads(const char *cmd, const char *text, int *threads)
{
    char *end;
    long n = strtol(text, &end, 10);

    if (*end != '\0' || end == text || n < 1 || n > 1024) {
        return cli_usage_error(cmd, "-j needs a number of threads (1-1024)");
    }
    *threads = (int)n;
    return EODKIT_OK;
}

static void list_commands(FILE *out)
{
    const command *c;

    fprintf(out, "usage: eodkit <command> [options]   (eodkit <command> --help)\n\n");
    for (c = commands; c->name != NULL; c++) {
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    }
}

int main(int argc, char **argv)
{
    const command *c;

    if (argc < 2) {
        list_commands(stderr);
        return EODKIT_ERR_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        cli_help("eodkit", stdout);
        return EODKIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("eodkit %s (%s)\n", eodkit_version(), eodkit_library_versions());
        return EODKIT_OK;
    }
    for (c = commands; c->name != NULL; c++) {
        if (strcmp(argv[1], c->name) == 0) {
            return c->run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "eodkit: unknown command '%s'\n\n", argv[1]);
    list_commands(stderr);
    return EODKIT_ERR_USAGE;
}
