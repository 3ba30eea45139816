/*
** CLI: `eodkit serve [--db FILE] [--port P] [--bind ADDR]`: the catalog's
** web pages and JSON API until SIGINT or SIGTERM, which stop it cleanly.
*/
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "eodkit/catalog.h"
#include "eodkit/serve.h"
#include "cli.h"

/* Create or migrate the catalog at PATH if it needs it (and may be
   written): the server itself only ever opens it read-only. */
static int prepare_catalog(eodkit_ctx *ctx, const char *path)
{
    eodkit_catalog *cat = NULL;
    int rc = eodkit_catalog_open(ctx, path, EODKIT_CATALOG_READ, 0, &cat);

    eodkit_catalog_close(cat);
    return rc;
}

/* Let the process open as many files as its hard limit allows, up to what
   the server uses at most (about 2,100: see src/serve), so the connection
   pool is not cut short by a low default soft limit such as 1,024. */
static void raise_file_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 &&
        rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int cmd_serve(int argc, char **argv)
{
    static const struct option options[] = {{"db", required_argument, NULL, 'd'},
                                            {"port", required_argument, NULL, 'p'},
                                            {"bind", required_argument, NULL, 'b'},
                                            {"threads", required_argument, NULL, 't'},
                                            {"regions", required_argument, NULL, 'r'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    eodkit_server_options o = {NULL, "127.0.0.1", 8080, 8, NULL};
    eodkit_ctx *ctx = NULL;
    eodkit_server *server = NULL;
    char *path = NULL;
    sigset_t stop;
    long long v;
    int c, rc = EODKIT_OK, sig = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.db = optarg;
            break;
        case 'p':
            rc = cli_whole_option("serve", "--port", optarg, 0, 65535, &v);
            o.port = (int)v;
            break;
        case 'b':
            o.bind = optarg;
            break;
        case 't':
            rc = cli_whole_option("serve", "--threads", optarg, 1, 256, &v);
            o.threads = (int)v;
            break;
        case 'r':
            o.regions = optarg;
            break;
        case 'h':
            return cli_help("serve", stdout);
        default:
            return cli_usage_error("serve", "unknown option");
        }
        if (rc != EODKIT_OK) {
            return rc;
        }
    }
    if (optind != argc) {
        return cli_usage_error("serve", "takes no operand (the catalog is --db FILE)");
    }
    ctx = cli_ctx_new();
    if (ctx == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    if (o.db == NULL) {
        rc = eodkit_catalog_default_path(ctx, &path);
        o.db = path;
    }
    if (rc == EODKIT_OK) {
        rc = prepare_catalog(ctx, o.db);
    }
    /* Block the stop signals before the worker threads start, so they
       inherit the mask and this thread alone receives them in sigwait. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    if (rc == EODKIT_OK) {
        raise_file_limit();
        rc = eodkit_server_start(ctx, &o, &server);
    }
    if (rc == EODKIT_OK) {
        int v6 = strchr(o.bind, ':') != NULL;

        printf("eodkit serve: http://%s%s%s:%d/ serving %s (Ctrl-C stops)\n",
               v6 ? "[" : "", o.bind, v6 ? "]" : "", eodkit_server_port(server), o.db);
        fflush(stdout);
        sigwait(&stop, &sig);
        eodkit_server_stop(server);
        fprintf(stderr, "eodkit serve: stopped (%s)\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM");
    } else {
        cli_report(ctx);
    }
    eodkit_free(path);
    eodkit_ctx_free(ctx);
    return rc;
}
