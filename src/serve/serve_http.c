/*
** Serve: the HTTP side of `eodkit serve`. libmicrohttpd runs a pool of
** worker threads; each request borrows one of the read-only catalog handles
** (one per worker), is routed by exact path to an embedded page or an API
** handler (serve_api.c), and gets a complete response. No request ever
** names a file: pages are compiled in, so no path can leave the web root.
*/
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "ek_serve.h"

/* Requests longer than this are refused; a catalog query needs far less. */
#define MAX_URL 2048

/* Pages and the files they load: path, embedded file, content type. */
static const struct page {
    const char *path, *asset, *type;
} pages[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/dataset", "dataset.html", "text/html; charset=utf-8"},
    {"/stats", "stats.html", "text/html; charset=utf-8"},
    {"/map", "map.html", "text/html; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/style.css", "style.css", "text/css; charset=utf-8"},
    {NULL, NULL, NULL},
};

/* What is known of a request before its handler runs: seen in its raw
   form (before libmicrohttpd decodes %XX escapes) and while it arrives. */
typedef struct request {
    const char *refused; /* why it is refused, or NULL */
    unsigned status;     /* ... with this status */
    int started;         /* the handler has seen its headers */
} request;

/* libmicrohttpd's first look at a request: its raw URI. An encoded NUL
   would cut the decoded path short ("/app.js%00.html" would read as
   "/app.js"), so it is refused here, as are overlong URIs. */
static void *request_start(void *cls, const char *uri, struct MHD_Connection *c)
{
    request *r = calloc(1, sizeof *r);

    (void)cls;
    (void)c;
    if (r == NULL) {
        return NULL;
    }
    if (strlen(uri) > MAX_URL) {
        r->refused = "the URL is too long";
        r->status = MHD_HTTP_URI_TOO_LONG;
    } else if (strstr(uri, "%00") != NULL) {
        r->refused = "the URL holds an encoded NUL byte";
        r->status = MHD_HTTP_BAD_REQUEST;
    }
    return r;
}

static void request_end(void *cls, struct MHD_Connection *c, void **state,
                        enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    (void)why;
    free(*state);
    *state = NULL;
}

/* Borrow a catalog handle; blocks only if every worker's handle is out. */
static eodkit_catalog *acquire(eodkit_server *s)
{
    eodkit_catalog *cat;
    int i;

    pthread_mutex_lock(&s->lock);
    for (;;) {
        for (i = 0; i < s->nhandles && s->busy[i]; i++) {
        }
        if (i < s->nhandles) {
            break;
        }
        pthread_cond_wait(&s->freed, &s->lock);
    }
    s->busy[i] = 1;
    cat = s->handles[i];
    pthread_mutex_unlock(&s->lock);
    return cat;
}

static void release(eodkit_server *s, eodkit_catalog *cat)
{
    int i;

    pthread_mutex_lock(&s->lock);
    for (i = 0; i < s->nhandles; i++) {
        if (s->handles[i] == cat) {
            s->busy[i] = 0;
        }
    }
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->lock);
}

/* Queue a response of LEN bytes of BODY (freed by MHD when OWNED, else
   static) with status CODE and content type TYPE. */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned code,
                               const char *type, char *body, size_t len, int owned)
{
    struct MHD_Response *r;
    enum MHD_Result ok;

    r = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        if (owned) {
            free(body);
        }
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (strncmp(type, "text/html", 9) == 0) {
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; "
                                "frame-ancestors 'none'; form-action 'self'");
    }
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    }
    ok = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ok;
}

/* Respond with CODE and {"error": MESSAGE}. */
static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned code,
                                     const char *message)
{
    json_t *j = json_pack("{s:s}", "error", message);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    if (text == NULL) {
        return MHD_NO;
    }
    return respond(c, code, "application/json", text, strlen(text), 1);
}

/* Collect one query parameter into the ek_params at CLS. */
static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               size_t key_size, const char *value, size_t value_size)
{
    ek_params *p = cls;
    int i;

    (void)kind;
    if (p->error != NULL) {
        return MHD_NO;
    }
    if (key_size == 0 || key_size > 32 || value_size > EK_PARAM_MAX) {
        p->error = "a query parameter is empty or too long";
    } else if (p->n == EK_MAX_PARAMS) {
        p->error = "too many query parameters";
    }
    for (i = 0; p->error == NULL && i < p->n; i++) {
        if (strcmp(p->key[i], key) == 0) {
            p->error = "a query parameter is given twice";
        }
    }
    if (p->error != NULL) {
        return MHD_NO;
    }
    p->key[p->n] = key;
    p->value[p->n] = value != NULL ? value : "";
    p->n++;
    return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version,
                              const char *upload, size_t *upload_size, void **state)
{
    eodkit_server *s = cls;
    request *req = *state;
    const struct page *pg;
    ek_params params;
    ek_reply reply;
    eodkit_catalog *cat;

    (void)version;
    (void)upload;
    if (req == NULL) {
        return MHD_NO; /* out of memory in request_start: drop the connection */
    }
    if (!req->started) {
        req->started = 1; /* answer once the request is complete */
        return MHD_YES;
    }
    if (*upload_size != 0) {
        *upload_size = 0; /* drop it: a GET carries no body */
        req->refused = "a GET request carries no body";
        req->status = MHD_HTTP_CONTENT_TOO_LARGE;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                             "only GET and HEAD are served");
    }
    if (req->refused != NULL) {
        return respond_error(c, req->status, req->refused);
    }
    memset(&params, 0, sizeof params);
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, collect, &params);
    if (params.error != NULL) {
        return respond_error(c, MHD_HTTP_BAD_REQUEST, params.error);
    }
    for (pg = pages; pg->path != NULL; pg++) {
        if (strcmp(url, pg->path) == 0) {
            size_t len = 0;
            const char *body = ek_asset(pg->asset, &len);

            /* Pages take their parameters in the browser; the API checks
               them. */
            if (body == NULL) {
                return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                     "page not built in");
            }
            return respond(c, MHD_HTTP_OK, pg->type, (char *)body, len, 0);
        }
    }
    if (strncmp(url, "/api/", 5) != 0) {
        return respond_error(c, MHD_HTTP_NOT_FOUND, "no such page");
    }
    cat = acquire(s);
    ek_serve_api(s, cat, url, &params, &reply);
    release(s, cat);
    if (reply.body == NULL) {
        return respond_error(c, reply.status, reply.error);
    }
    return respond(c, MHD_HTTP_OK, reply.type, reply.body, strlen(reply.body), 1);
}

/* Fill ADDR (of *LEN bytes) with address BIND and PORT; set *IPV6. */
static int make_address(eodkit_ctx *ctx, const char *bind, int port,
                        struct sockaddr_storage *addr, socklen_t *len, int *ipv6)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;

    memset(addr, 0, sizeof *addr);
    *ipv6 = 0;
    if (inet_pton(AF_INET, bind, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
        return EODKIT_OK;
    }
    if (inet_pton(AF_INET6, bind, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        *ipv6 = 1;
        return EODKIT_OK;
    }
    return ek_error(ctx, EODKIT_ERR_USAGE, "bad address '%s' (e.g. 127.0.0.1 or ::1)",
                    bind);
}

int eodkit_server_start(eodkit_ctx *ctx, const eodkit_server_options *o,
                        eodkit_server **out)
{
    const char *bind = o->bind != NULL ? o->bind : "127.0.0.1";
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    const union MHD_DaemonInfo *info;
    eodkit_server *s = NULL;
    int rc, i, ipv6 = 0, threads = o->threads > 0 ? o->threads : 8;

    *out = NULL;
    if (o->port < 0 || o->port > 65535 || threads > 256) {
        return ek_error(ctx, EODKIT_ERR_USAGE, "bad port %d or thread count %d",
                        o->port, threads);
    }
    rc = make_address(ctx, bind, o->port, &addr, &addr_len, &ipv6);
    if (rc != EODKIT_OK) {
        return rc;
    }
    s = ek_calloc(ctx, 1, sizeof *s);
    if (s == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->freed, NULL);
    s->handles = ek_calloc(ctx, (size_t)threads, sizeof *s->handles);
    s->busy = ek_calloc(ctx, (size_t)threads, sizeof *s->busy);
    if (s->handles == NULL || s->busy == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < threads && rc == EODKIT_OK; i++) {
        rc = eodkit_catalog_open(ctx, o->db, EODKIT_CATALOG_READ_ONLY, 0,
                                 &s->handles[i]);
        s->nhandles += rc == EODKIT_OK;
    }
    if (rc == EODKIT_OK && o->regions != NULL) {
        rc = ek_outline_load(ctx, o->regions, &s->outline);
    }
    if (rc != EODKIT_OK) {
        goto out;
    }
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | (ipv6 ? MHD_USE_IPv6 : 0), 0,
        NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)256, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)15,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
        MHD_OPTION_URI_LOG_CALLBACK, request_start, NULL, MHD_OPTION_NOTIFY_COMPLETED,
        request_end, NULL, MHD_OPTION_END);
    if (s->daemon == NULL) {
        rc = ek_error(ctx, EODKIT_ERR_IO,
                      "cannot listen on %s port %d (in use, or not an address of this "
                      "machine?)",
                      bind, o->port);
        goto out;
    }
    info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : o->port;
out:
    if (rc != EODKIT_OK) {
        eodkit_server_stop(s);
        return rc;
    }
    *out = s;
    return EODKIT_OK;
}

int eodkit_server_port(const eodkit_server *s)
{
    return s->port;
}

void eodkit_server_stop(eodkit_server *s)
{
    int i;

    if (s == NULL) {
        return;
    }
    if (s->daemon != NULL) {
        MHD_stop_daemon(s->daemon);
    }
    for (i = 0; i < s->nhandles; i++) {
        eodkit_catalog_close(s->handles[i]);
    }
    ek_outline_free(s->outline);
    pthread_cond_destroy(&s->freed);
    pthread_mutex_destroy(&s->lock);
    free(s->handles);
    free(s->busy);
    free(s);
}
