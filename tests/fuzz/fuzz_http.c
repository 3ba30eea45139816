/*
** Fuzz target: raw bytes of HTTP requests through `eodkit serve`'s real
** request handling (libmicrohttpd, serve_http.c, serve_api.c). A server is
** started once, on a loopback port, over a catalog of the shipped
** datasets; each input is one connection: written, half-closed, and read
** until the server closes it. An input that is one well-formed GET request
** (request line, "Name: value" headers, blank line) must get an HTTP
** status line back: the server never drops a request in silence. (With
** bytes after it, the server may close with input unread, and the
** client's TCP stack may then drop the answer on the reset.)
*/
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* Length of the CRLF-terminated line at P (of N bytes) whose bytes are
   all printable ASCII or spaces, without its CRLF; 0 when there is none. */
static size_t printable_line(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i + 1 < n && p[i] != '\r'; i++) {
        if (p[i] < 0x20 || p[i] > 0x7e) {
            return 0;
        }
    }
    return i + 1 < n && p[i + 1] == '\n' ? i : 0;
}

/* Nonzero when DATA is one well-formed GET request and nothing else:
   "GET TARGET HTTP/1.1" (TARGET of visible ASCII), lines "Name: value"
   with a name of letters, digits and '-', then an empty line. A request that announces a
   body (Content-Length, Transfer-Encoding) is not one: the input may not
   hold the body, and the server then waits for it. */
static int well_formed(const uint8_t *data, size_t size)
{
    size_t len = printable_line(data, size), at, i;

    if (len < 16 || memcmp(data, "GET /", 5) != 0 ||
        memcmp(data + len - 9, " HTTP/1.1", 9) != 0 ||
        memchr(data + 4, ' ', len - 13) != NULL) {
        return 0;
    }
    for (at = len + 2; at + 1 < size; at += len + 2) {
        len = printable_line(data + at, size - at);
        if (len == 0) {
            return data[at] == '\r' && data[at + 1] == '\n' && at + 2 == size;
        }
        for (i = 0; i < len && (isalnum(data[at + i]) || data[at + i] == '-'); i++) {
        }
        if (i == 0 || i == len || data[at + i] != ':' ||
            (i == 14 &&
             strncasecmp((const char *)data + at, "Content-Length", i) == 0) ||
            (i == 17 &&
             strncasecmp((const char *)data + at, "Transfer-Encoding", i) == 0)) {
            return 0;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_in a;
    struct pollfd p;
    char buf[65536];
    size_t sent = 0, got = 0;
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
        while (poll(&p, 1, 5000) == 1) {
            n = recv(fd, buf + got, sizeof buf - got, 0);
            if (n <= 0) {
                break;
            }
            /* Keep the first 16 bytes (the status line's start) only. */
            got = got + (size_t)n < 16 ? got + (size_t)n : 16;
        }
    }
    close(fd);
    if (sent == size && well_formed(data, size) &&
        (got < 13 || memcmp(buf, "HTTP/1.1 ", 9) != 0)) {
        fprintf(stderr, "fuzz_http: a well-formed request got no answer\n");
        abort();
    }
    return 0;
}
