/*
** Fuzz target: raw bytes of HTTP requests through `eodkit serve`'s real
** request handling (libmicrohttpd, serve_http.c, serve_api.c). A server is
** started once, on a loopback port, over a catalog of the shipped
** datasets; each input is one connection: written, half-closed, and read
** until the server closes it.
*/
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eodkit/catalog.h"
#include "eodkit/serve.h"

static char folder[] = "/tmp/eodkit-fuzz-http-XXXXXX";
static char db[sizeof folder + 16];
static eodkit_server *server;

static void stop(void)
{
    eodkit_server_stop(server);
    unlink(db);
    rmdir(folder);
}

/* Start the server once; exit when it cannot start (nothing to fuzz). */
static void start(void)
{
    eodkit_server_options o = {db, "127.0.0.1", 0, 2, NULL};
    eodkit_ctx *ctx = eodkit_ctx_new();
    eodkit_catalog *cat = NULL;
    int rc;

    if (ctx == NULL || mkdtemp(folder) == NULL) {
        exit(1);
    }
    snprintf(db, sizeof db, "%s/c.sqlite", folder);
    rc = eodkit_catalog_open(ctx, db, EODKIT_CATALOG_WRITE, 0, &cat);
    eodkit_catalog_close(cat);
    if (rc == EODKIT_OK) {
        rc = eodkit_server_start(ctx, &o, &server);
    }
    if (rc != EODKIT_OK) {
        fprintf(stderr, "fuzz_http: %s\n", eodkit_ctx_message(ctx));
        exit(1);
    }
    eodkit_ctx_free(ctx);
    atexit(stop);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_in a;
    struct pollfd p;
    char buf[65536];
    size_t sent = 0;
    ssize_t n;
    int fd;

    if (server == NULL) {
        start();
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return 0;
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)eodkit_server_port(server));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        while (sent < size) {
            n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                break;
            }
            sent += (size_t)n;
        }
        shutdown(fd, SHUT_WR);
        /* Read until the server closes; 5 s of silence means it hangs. */
        p.fd = fd;
        p.events = POLLIN;
        while (poll(&p, 1, 5000) == 1 && recv(fd, buf, sizeof buf, 0) > 0) {
        }
    }
    close(fd);
    return 0;
}
