/*
** CLI: `eodkit <command> ...` dispatch, shared error printing and --help.
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "help.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"build", cmd_build, "build a dataset from a recipe"},
    {"merge", cmd_merge,
     "join the parts of a build made with --part I/N, or datasets on one reference "
     "grid"},
    {"info", cmd_info, "what a dataset holds"},
    {"audit", cmd_audit, "geography, class, time and split-leakage audit of a dataset"},
    {"catalog", cmd_catalog, "search and analyse the catalog of EO datasets"},
    {"serve", cmd_serve, "web pages and JSON API over the catalog"},
    {"eval", cmd_eval, "metrics of predictions per region, with confidence intervals"},
    {"mosaic", cmd_mosaic, "stitch chip predictions into a georeferenced GeoTIFF"},
    {"preview", cmd_preview, "contact sheet of chips with their labels (PNG)"},
    {"export", cmd_export,
     "detection labels as COCO JSON or YOLO text, with chip images"},
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

int cli_whole(const char *text, long long min, long long max, long long *out)
{
    char *end;

    errno = 0;
    *out = strtoll(text, &end, 10);
    return end == text || *end != '\0' || errno != 0 || *out < min || *out > max;
}

int cli_whole_option(const char *cmd, const char *option, const char *text,
                     long long min, long long max, long long *out)
{
    char message[160];

    if (!cli_whole(text, min, max, out)) {
        return EODKIT_OK;
    }
    snprintf(message, sizeof message, "%s wants a whole number from %lld to %lld",
             option, min, max);
    return cli_usage_error(cmd, message);
}

int cli_threads(const char *cmd, const char *text, int *threads)
{
    long long n;

    if (cli_whole(text, 1, 1024, &n)) {
        return cli_usage_error(cmd, "-j needs a number of threads (1-1024)");
    }
    *threads = (int)n;
    return EODKIT_OK;
}

void cli_print_summary(const char *summary)
{
    json_t *s = json_loads(summary, 0, NULL), *w;
    size_t i;

    printf("%s\n", summary);
    json_array_foreach(json_object_get(json_object_get(s, "audit"), "warnings"), i, w)
    {
        fprintf(stderr, "eodkit: warning: %s\n", json_string_value(w));
    }
    json_decref(s);
}

eodkit_ctx *cli_ctx_new(void)
{
    eodkit_ctx *ctx = eodkit_ctx_new();

    if (ctx == NULL) {
        fprintf(stderr, "eodkit: error: out of memory\n");
    }
    return ctx;
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
