/*
** CLI: `eodkit catalog COMMAND [options]`: search, show, stats, import,
** register, export and path over the catalog database (--db FILE, else the
** default path). Options are table-driven: each says which commands take it.
*/
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eodkit/catalog.h"
#include "cli.h"

enum {
    SEARCH = 1,
    SHOW = 2,
    STATS = 4,
    IMPORT = 8,
    REGISTER = 16,
    EXPORT = 32,
    PATH = 64
};
#define ANY (SEARCH | SHOW | STATS | IMPORT | REGISTER | EXPORT | PATH)

static const struct subcommand {
    const char *name;
    int bit, min_args, max_args; /* operands after the command word; -1: any */
} subcommands[] = {
    {"search", SEARCH, 0, -1},    {"show", SHOW, 1, 1},
    {"stats", STATS, 0, 0},       {"import", IMPORT, 1, 1},
    {"register", REGISTER, 1, 1}, {"export", EXPORT, 0, 0},
    {"path", PATH, 0, 0},         {NULL, 0, 0, 0},
};

enum {
    O_DB = 256,
    O_EMPTY,
    O_JSON,
    O_CSV,
    O_TASK,
    O_PLATFORM,
    O_MODALITY,
    O_CONTINENT,
    O_SENSOR,
    O_LICENSE,
    O_YEAR_FROM,
    O_YEAR_TO,
    O_MIN_IMAGES,
    O_SORT,
    O_DESC,
    O_LIMIT,
    O_OFFSET,
    O_BY,
    O_SVG,
    O_FAIR,
    O_STRICT,
    O_REGIONS,
    O_JSON_FILE,
    O_CSV_FILE,
    O_STAC,
    O_HELP
};

/* Every option, with the commands that take it. */
static const struct flag {
    const char *name;
    int has_arg, id, commands;
} flags[] = {
    {"db", required_argument, O_DB, ANY},
    {"empty", no_argument, O_EMPTY, ANY},
    {"help", no_argument, O_HELP, ANY},
    {"json", no_argument, O_JSON, SEARCH | SHOW | STATS},
    {"csv", no_argument, O_CSV, SEARCH | STATS},
    {"json", required_argument, O_JSON_FILE, EXPORT},
    {"csv", required_argument, O_CSV_FILE, EXPORT},
    {"stac", required_argument, O_STAC, EXPORT},
    {"task", required_argument, O_TASK, SEARCH},
    {"platform", required_argument, O_PLATFORM, SEARCH},
    {"modality", required_argument, O_MODALITY, SEARCH},
    {"continent", required_argument, O_CONTINENT, SEARCH},
    {"sensor", required_argument, O_SENSOR, SEARCH},
    {"license", required_argument, O_LICENSE, SEARCH},
    {"year-from", required_argument, O_YEAR_FROM, SEARCH},
    {"year-to", required_argument, O_YEAR_TO, SEARCH},
    {"min-images", required_argument, O_MIN_IMAGES, SEARCH},
    {"sort", required_argument, O_SORT, SEARCH},
    {"desc", no_argument, O_DESC, SEARCH},
    {"limit", required_argument, O_LIMIT, SEARCH},
    {"offset", required_argument, O_OFFSET, SEARCH},
    {"by", required_argument, O_BY, STATS},
    {"svg", required_argument, O_SVG, STATS},
    {"fair", no_argument, O_FAIR, STATS},
    {"strict", no_argument, O_STRICT, IMPORT},
    {"regions", required_argument, O_REGIONS, REGISTER},
};

#define NFLAGS (sizeof flags / sizeof flags[0])

/* Everything the command line said. */
typedef struct args {
    const struct subcommand *cmd;
    const char *db, *by, *svg, *regions, *export_path;
    eodkit_export_format export_format;
    int empty, strict, fair, help, nexports;
    eodkit_format format;
    eodkit_catalog_query q;
    char **operands;
    int noperands;
    char *text; /* the search words, joined */
} args;

/* The command word: the first operand, skipping --db's value. */
static const struct subcommand *find_command(int argc, char **argv)
{
    const struct subcommand *s;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0) {
            i++;
        } else if (argv[i][0] != '-') {
            for (s = subcommands; s->name != NULL; s++) {
                if (strcmp(s->name, argv[i]) == 0) {
                    return s;
                }
            }
            return NULL;
        }
    }
    return NULL;
}

/* Store option ID with argument ARG in A. */
static int take(args *a, int id, const char *arg)
{
    long long v = 0;
    int rc = EODKIT_OK;

    switch (id) {
    case O_DB:
        a->db = arg;
        break;
    case O_EMPTY:
        a->empty = 1;
        break;
    case O_HELP:
        a->help = 1;
        break;
    case O_JSON:
        a->format = EODKIT_FORMAT_JSON;
        break;
    case O_CSV:
        a->format = EODKIT_FORMAT_CSV;
        break;
    case O_JSON_FILE:
    case O_CSV_FILE:
    case O_STAC:
        a->export_path = arg;
        a->export_format = id == O_JSON_FILE  ? EODKIT_EXPORT_JSON
                           : id == O_CSV_FILE ? EODKIT_EXPORT_CSV
                                              : EODKIT_EXPORT_STAC;
        a->nexports++;
        break;
    case O_TASK:
        a->q.task = arg;
        break;
    case O_PLATFORM:
        a->q.platform = arg;
        break;
    case O_MODALITY:
        a->q.modality = arg;
        break;
    case O_CONTINENT:
        a->q.continent = arg;
        break;
    case O_SENSOR:
        a->q.sensor = arg;
        break;
    case O_LICENSE:
        a->q.license = arg;
        break;
    case O_YEAR_FROM:
        rc = cli_whole_option("catalog", "--year-from", arg, 1900, 2100, &v);
        a->q.year_min = (int)v;
        break;
    case O_YEAR_TO:
        rc = cli_whole_option("catalog", "--year-to", arg, 1900, 2100, &v);
        a->q.year_max = (int)v;
        break;
    case O_MIN_IMAGES:
        rc = cli_whole_option("catalog", "--min-images", arg, 0, (long long)1e15, &v);
        a->q.min_images = v;
        break;
    case O_SORT:
        a->q.sort = arg;
        break;
    case O_DESC:
        a->q.descending = 1;
        break;
    case O_LIMIT:
        rc = cli_whole_option("catalog", "--limit", arg, 0, 1000000000, &v);
        a->q.limit = (size_t)v;
        break;
    case O_OFFSET:
        rc = cli_whole_option("catalog", "--offset", arg, 0, 1000000000, &v);
        a->q.offset = (size_t)v;
        break;
    case O_BY:
        a->by = arg;
        break;
    case O_SVG:
        a->svg = arg;
        break;
    case O_FAIR:
        a->fair = 1;
        break;
    case O_STRICT:
        a->strict = 1;
        break;
    case O_REGIONS:
        a->regions = arg;
        break;
    }
    return rc;
}

/* Join the search words of A into A->text. */
static int join_words(args *a)
{
    size_t len = 1;
    int i;

    for (i = 0; i < a->noperands; i++) {
        len += strlen(a->operands[i]) + 1;
    }
    a->text = calloc(len, 1);
    if (a->text == NULL) {
        fprintf(stderr, "eodkit: error: out of memory\n");
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < a->noperands; i++) {
        strcat(a->text, i > 0 ? " " : "");
        strcat(a->text, a->operands[i]);
    }
    a->q.text = a->noperands > 0 ? a->text : NULL;
    return EODKIT_OK;
}

static int parse(int argc, char **argv, args *a)
{
    struct option longopts[NFLAGS + 1];
    const struct subcommand *cmd = find_command(argc, argv);
    size_t i, n = 0;
    int c, rc;

    memset(a, 0, sizeof *a);
    memset(longopts, 0, sizeof longopts);
    for (i = 0; i < NFLAGS; i++) {
        if (cmd == NULL || (flags[i].commands & cmd->bit) != 0) {
            longopts[n].name = flags[i].name;
            longopts[n].has_arg = flags[i].has_arg;
            longopts[n].val = flags[i].id;
            n++;
        }
    }
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char message[256];

        if (c == 'h') {
            c = O_HELP;
        }
        if (c == '?' || c == ':') {
            snprintf(message, sizeof message, "%s '%s'%s%s",
                     c == ':' ? "missing value for" : "unknown option",
                     argv[optind - 1], cmd != NULL && c == '?' ? " for " : "",
                     cmd != NULL && c == '?' ? cmd->name : "");
            return cli_usage_error("catalog", message);
        }
        rc = take(a, c, optarg);
        if (rc != EODKIT_OK) {
            return rc;
        }
    }
    if (a->help) {
        return EODKIT_OK;
    }
    if (cmd == NULL) {
        return cli_usage_error(
            "catalog", optind < argc ? "unknown command (search, show, stats, import, "
                                       "register, export, path)"
                                     : "expected a command (search, show, stats, "
                                       "import, register, export, path)");
    }
    a->cmd = cmd;
    /* getopt moved the operands to the end; the first is the command. */
    a->operands = argv + optind + 1;
    a->noperands = argc - optind - 1;
    if (a->noperands < cmd->min_args ||
        (cmd->max_args >= 0 && a->noperands > cmd->max_args)) {
        char message[128];

        snprintf(message, sizeof message, "'%s' takes %s", cmd->name,
                 cmd->min_args == 0 ? "no operand" : "one operand");
        return cli_usage_error("catalog", message);
    }
    if (cmd->bit == EXPORT && a->nexports != 1) {
        return cli_usage_error("catalog",
                               "export wants one of --csv FILE, --json FILE, "
                               "--stac DIR");
    }
    return cmd->bit == SEARCH ? join_words(a) : EODKIT_OK;
}

/* Print what an import or register did; return 2 when datasets were
   rejected. */
static int print_report(const char *what, const eodkit_catalog_report *r)
{
    size_t i;

    for (i = 0; i < r->nrejected; i++) {
        fprintf(stderr, "eodkit: rejected: %s\n", r->rejected[i]);
    }
    for (i = 0; i < r->nnotes; i++) {
        fprintf(stderr, "eodkit: note: %s\n", r->notes[i]);
    }
    printf("%s: %zu added, %zu updated, %zu unchanged, %zu rejected\n", what, r->added,
           r->updated, r->unchanged, r->nrejected);
    if (r->nrejected > 0) {
        fprintf(stderr,
                "eodkit: error: %zu dataset%s rejected (see above); the others were "
                "imported\n",
                r->nrejected, r->nrejected == 1 ? "" : "s");
        return EODKIT_ERR_INPUT;
    }
    return EODKIT_OK;
}

/* Run the command of A on catalog CAT; its output goes to *TEXT or is
   printed here. */
static int run(eodkit_ctx *ctx, eodkit_catalog *cat, const args *a, char **text)
{
    eodkit_catalog_report *report = NULL;
    const char *by = a->by != NULL ? a->by : "year";
    int rc = EODKIT_OK;

    switch (a->cmd->bit) {
    case SEARCH:
        return eodkit_catalog_search(ctx, cat, &a->q, a->format, text);
    case SHOW:
        return eodkit_catalog_show(ctx, cat, a->operands[0], a->format, text);
    case STATS:
        if (a->svg != NULL) {
            rc = eodkit_catalog_charts(ctx, cat, by, a->svg);
        }
        if (rc == EODKIT_OK) {
            rc = a->fair ? eodkit_catalog_fair(ctx, cat, a->format, text)
                         : eodkit_catalog_stats(ctx, cat, by, a->format, text);
        }
        return rc;
    case EXPORT:
        return eodkit_catalog_export(ctx, cat, a->export_format, a->export_path);
    case IMPORT:
        rc = eodkit_catalog_import(ctx, cat, a->operands[0], a->strict, &report);
        break;
    default:
        rc = eodkit_catalog_register(ctx, cat, a->operands[0], a->regions, &report);
        break;
    }
    if (rc == EODKIT_OK) {
        rc = print_report(a->operands[0], report);
    }
    eodkit_catalog_report_free(report);
    return rc;
}

int cmd_catalog(int argc, char **argv)
{
    eodkit_ctx *ctx = NULL;
    eodkit_catalog *cat = NULL;
    char *path = NULL, *text = NULL;
    args a;
    int rc;

    rc = parse(argc, argv, &a);
    if (rc != EODKIT_OK || a.help) {
        free(a.text);
        return a.help ? cli_help("catalog", stdout) : rc;
    }
    ctx = cli_ctx_new();
    if (ctx == NULL) {
        free(a.text);
        return EODKIT_ERR_NOMEM;
    }
    rc = a.db != NULL ? EODKIT_OK : eodkit_catalog_default_path(ctx, &path);
    if (rc == EODKIT_OK && a.cmd->bit == PATH) {
        printf("%s\n", a.db != NULL ? a.db : path);
    } else if (rc == EODKIT_OK) {
        int writes = a.cmd->bit == IMPORT || a.cmd->bit == REGISTER;

        rc = eodkit_catalog_open(ctx, a.db != NULL ? a.db : path,
                                 writes ? EODKIT_CATALOG_WRITE : EODKIT_CATALOG_READ,
                                 a.empty, &cat);
        if (rc == EODKIT_OK) {
            rc = run(ctx, cat, &a, &text);
        }
    }
    if (text != NULL) {
        fputs(text, stdout);
        if (text[0] != '\0' && text[strlen(text) - 1] != '\n') {
            fputc('\n', stdout);
        }
    }
    if (rc != EODKIT_OK && eodkit_ctx_status(ctx) != EODKIT_OK) {
        cli_report(ctx);
    }
    eodkit_catalog_close(cat);
    eodkit_free(text);
    eodkit_free(path);
    eodkit_ctx_free(ctx);
    free(a.text);
    return rc;
}
