/*
** CLI: `eodkit build RECIPE [-j N] [--remote-workers N] [-o DIR]
** [--overwrite] [--resume] [--part I/N|auto[/N]] [--regions FILE]
** [--region-field NAME]`. Loads the recipe, builds, shows a progress bar
** on a terminal, prints the JSON summary on stdout and the audit's
** warnings and the library's notes on stderr. Under mpirun each process builds one part and
** the first, holding the output's lock throughout, merges them
** (cli/mpi.c). And `eodkit merge RECIPE [-o DIR] [-j N] [--overwrite]
** [--parts N] [--regions FILE] [--region-field NAME]`, which joins the
** parts `eodkit build --part I/N` wrote (e.g. as a job array) into
** the dataset, with the same options and the same summary; or `eodkit
** merge DATASET DATASET... -o DIR`, which joins datasets built on the same
** reference grid.
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eodkit/build.h"
#include "cli.h"

typedef struct progress {
    int tty;
    double start;
    double last;
} progress;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void show_progress(void *arg, long long done, long long total)
{
    progress *p = arg;
    double t = now(), rate, eta;
    int width = 30, filled, i;
    char bar[64];

    if (!p->tty || (t - p->last < 0.1 && done < total)) {
        return;
    }
    p->last = t;
    rate = t > p->start ? (double)done / (t - p->start) : 0;
    eta = rate > 0 ? (double)(total - done) / rate : 0;
    filled = total > 0 ? (int)((double)width * (double)done / (double)total) : width;
    for (i = 0; i < width; i++) {
        bar[i] = i < filled ? '#' : '.';
    }
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %lld/%lld chips  %.0f chips/s  ETA %d:%02d ", bar, done,
            total, rate, (int)eta / 60, (int)eta % 60);
    if (done >= total) {
        fputc('\n', stderr);
    }
    fflush(stderr);
}

/* Print a note of the library's on stderr. */
static void show_notice(void *arg, const char *text)
{
    (void)arg;
    fprintf(stderr, "eodkit: note: %s\n", text);
}

/*
** Under mpirun, after every rank built its part (status RC): when all
** succeeded, rank 0 merges the parts into the dataset and gets the summary;
** the other ranks end quietly. A rank that failed reports its own error.
*/
static int merge_ranks(eodkit_ctx *ctx, const eodkit_recipe *recipe,
                       eodkit_build_options *opt, int rank, int rc, char **summary)
{
    int all_ok = cli_mpi_all_ok(rc);

    eodkit_free(*summary);
    *summary = NULL;
    if (rc != EODKIT_OK || !all_ok || rank != 0) {
        return rc;
    }
    opt->resume = 0;
    return eodkit_merge(ctx, recipe, opt, summary);
}

/*
** Parse the options of `eodkit CMD RECIPE` (CMD is "build" or "merge",
** which also takes two or more datasets instead of a recipe; the
** two share -j, -o, --overwrite, --regions and --region-field; --resume,
** --part and --remote-workers are build's, --parts merge's) into OPT. Return EODKIT_OK
*with
** *HELP = 1 after printing --help, or a usage error (printed).
*/
static int parse_options(const char *cmd, int argc, char **argv,
                         eodkit_build_options *opt, int *help)
{
    static const struct option options[] = {
        {"jobs", required_argument, NULL, 'j'},
        {"output", required_argument, NULL, 'o'},
        {"overwrite", no_argument, NULL, 'w'},
        {"regions", required_argument, NULL, 'r'},
        {"region-field", required_argument, NULL, 'f'},
        {"resume", no_argument, NULL, 'R'},
        {"part", required_argument, NULL, 'p'},
        {"parts", required_argument, NULL, 'n'},
        {"remote-workers", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int merge = strcmp(cmd, "merge") == 0, c;
    long long v;
    char extra;

    eodkit_build_options_init(opt);
    opt->notice = show_notice;
    *help = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:o:h", options, NULL)) != -1) {
        if ((merge && (c == 'R' || c == 'p' || c == 'W')) || (!merge && c == 'n')) {
            c = '?';
        }
        switch (c) {
        case 'j':
            if (cli_threads(cmd, optarg, &opt->threads) != EODKIT_OK) {
                return EODKIT_ERR_USAGE;
            }
            break;
        case 'o':
            opt->output_dir = optarg;
            break;
        case 'W':
            if (cli_whole_option(cmd, "--remote-workers", optarg, 1, 256, &v) !=
                EODKIT_OK) {
                return EODKIT_ERR_USAGE;
            }
            opt->remote_workers = (int)v;
            break;
        case 'w':
            opt->overwrite = 1;
            break;
        case 'r':
            opt->regions_path = optarg;
            break;
        case 'f':
            opt->region_field = optarg;
            break;
        case 'R':
            opt->resume = 1;
            break;
        case 'p':
            if (strncmp(optarg, "auto", 4) == 0) {
                if (cli_part_auto(cmd, optarg, &opt->part_index, &opt->part_count) !=
                    EODKIT_OK) {
                    return EODKIT_ERR_USAGE;
                }
            } else if (sscanf(optarg, "%d/%d%c", &opt->part_index, &opt->part_count,
                              &extra) != 2 ||
                       opt->part_count < 1 || opt->part_index < 0 ||
                       opt->part_index >= opt->part_count) {
                return cli_usage_error(
                    cmd, "--part needs I/N with 0 <= I < N (e.g. 0/4), auto or auto/N");
            }
            break;
        case 'n':
            if (cli_whole_option(cmd, "--parts", optarg, 1, 1 << 20, &v) != EODKIT_OK) {
                return EODKIT_ERR_USAGE;
            }
            opt->part_count = (int)v;
            break;
        case 'h':
            *help = 1;
            return cli_help(cmd, stdout);
        default:
            return cli_usage_error(cmd, "unknown option");
        }
    }
    if (merge && argc - optind >= 2) {
        return EODKIT_OK; /* datasets to join */
    }
    if (optind != argc - 1) {
        return cli_usage_error(cmd, merge ? "expected one recipe file, or two or more "
                                            "datasets"
                                          : "expected one recipe file");
    }
    return EODKIT_OK;
}

int cmd_build(int argc, char **argv)
{
    eodkit_build_options opt;
    eodkit_ctx *ctx = NULL;
    eodkit_recipe *recipe = NULL;
    eodkit_lock *lock = NULL;
    char *summary = NULL;
    progress prog = {0};
    int rc, help, rank = 0, ranks = 1, ready;

    rc = parse_options("build", argc, argv, &opt, &help);
    if (rc != EODKIT_OK || help) {
        return rc;
    }
    ctx = cli_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    rc = cli_mpi_begin(&rank, &ranks); /* prints its own failure */
    if (rc != EODKIT_OK || (ranks > 1 && opt.part_count >= 1)) {
        cli_mpi_end();
        eodkit_ctx_free(ctx);
        return rc != EODKIT_OK
                   ? rc
                   : cli_usage_error("build", "--part and mpirun do not go together");
    }
    rc = eodkit_recipe_load(ctx, argv[optind], &recipe);
    if (rc == EODKIT_OK && ranks > 1 && rank == 0) {
        /* rank 0 keeps other builds out of the output from before any part
           is built until the parts are merged */
        rc = eodkit_output_lock(ctx, recipe, &opt, &lock);
        opt.lock = lock;
    }
    ready = cli_mpi_all_ok(rc);
    if (rc == EODKIT_OK && ready) {
        cli_catch_interrupt();
        prog.tty = rank == 0 && isatty(STDERR_FILENO);
        prog.start = prog.last = now();
        opt.progress = show_progress;
        opt.progress_arg = &prog;
        opt.cancel = &cli_interrupted;
        if (ranks > 1) {
            opt.part_index = rank;
            opt.part_count = ranks;
        }
        rc = eodkit_build(ctx, recipe, &opt, &summary);
    }
    if (ranks > 1 && ready) {
        rc = merge_ranks(ctx, recipe, &opt, rank, rc, &summary);
    }
    if (rc == EODKIT_OK && summary != NULL) {
        cli_print_summary(summary);
    } else if (rc != EODKIT_OK) {
        if (prog.tty && prog.last > prog.start) {
            fputc('\n', stderr);
        }
        cli_report(ctx);
    }
    eodkit_output_unlock(lock);
    cli_mpi_end();
    eodkit_free(summary);
    eodkit_recipe_free(recipe);
    eodkit_ctx_free(ctx);
    return rc;
}

int cmd_merge(int argc, char **argv)
{
    eodkit_build_options opt;
    eodkit_ctx *ctx = NULL;
    eodkit_recipe *recipe = NULL;
    char *summary = NULL;
    struct stat st;
    int rc, help;

    rc = parse_options("merge", argc, argv, &opt, &help);
    if (rc != EODKIT_OK || help) {
        return rc;
    }
    if (argc - optind == 1 && stat(argv[optind], &st) == 0 && S_ISDIR(st.st_mode)) {
        return cli_usage_error("merge", "merging datasets needs two or more of them");
    }
    if (argc - optind >= 2 && (opt.output_dir == NULL || opt.part_count != 0)) {
        return cli_usage_error("merge",
                               "merging datasets needs -o DIR (and no --parts)");
    }
    ctx = cli_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (argc - optind >= 2) {
        cli_catch_interrupt();
        opt.cancel = &cli_interrupted;
        rc = eodkit_merge_datasets(ctx, (const char *const *)(argv + optind),
                                   argc - optind, &opt, &summary);
    } else {
        rc = eodkit_recipe_load(ctx, argv[optind], &recipe);
    }
    if (rc == EODKIT_OK && recipe != NULL) {
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
