/*
** Serve: the HTTP side of `eodkit serve`. libmicrohttpd runs a pool of
** worker threads; each request borrows one of the read-only catalog handles
** (one per worker), is routed by exact path to an embedded page or an API
** handler (serve_api.c), and gets a complete response. No request ever
** names a file: pages are compiled in, so no path can leave the web root.
** Clients that hold connections open without finishing a request are cut
** off: a limit per address, a deadline per request (the watchdog thread).
*/
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "core/ek_time.h"
#include "ek_serve.h"

/* Requests longer than this are refused; a catalog query needs far less. */
#define MAX_URL 2048
/* Connections open at once, from all clients and from one address. A
   browser opens about 6; the rest of the pool stays free for others while
   one address misbehaves. */
#define MAX_CONNECTIONS 2048
#define MAX_PER_ADDRESS 64
/* A connection is closed after this many seconds of silence... */
#define IDLE_SECONDS 15
/* ... or when a request has not arrived whole this many seconds after the
   connection opened or the previous response was queued, however steadily
   its bytes trickle in (slowloris). */
#define REQUEST_SECONDS 10
/* How often the watchdog looks, in milliseconds. */
#define WATCH_MS 250
/* libmicrohttpd's buffer per connection: the request line, the headers and
   the response headers must fit. */
#define CONNECTION_MEMORY (32 * 1024)

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
    const char *raw;     /* the raw request target, in libmicrohttpd's buffer */
    size_t raw_len;      /* its length up to the first NUL byte */
} request;

/* One open connection: its socket, the time by which its request must have
   arrived, and the state of that request. It lives from libmicrohttpd's
   "connection started" to its "connection closed" notification, so a
   request cut short by the client costs nothing after the close. */
struct ek_conn {
    ek_conn *prev, *next;
    int fd;
    double deadline; /* ek_time_now() limit; 0 while a response is made */
    request req;
};

/* Set the request deadline of CONN to SECONDS from now (0: none). */
static void set_deadline(eodkit_server *s, ek_conn *conn, double seconds)
{
    pthread_mutex_lock(&s->conns_lock);
    conn->deadline = seconds > 0 ? ek_time_now() + seconds : 0;
    pthread_mutex_unlock(&s->conns_lock);
}

/* libmicrohttpd's notice of a connection opening or closing: keep the
   list the watchdog reads. The socket is closed after the "closed" notice,
   so the watchdog, which holds the same lock, never touches another one. */
static void connection_notice(void *cls, struct MHD_Connection *c, void **context,
                              enum MHD_ConnectionNotificationCode code)
{
    eodkit_server *s = cls;
    ek_conn *conn = *context;
    const union MHD_ConnectionInfo *info;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn = calloc(1, sizeof *conn);
        if (conn == NULL || info == NULL) {
            free(conn);
            return; /* the request handler drops a connection without one */
        }
        conn->fd = info->connect_fd;
        conn->deadline = ek_time_now() + REQUEST_SECONDS;
        pthread_mutex_lock(&s->conns_lock);
        conn->next = s->conns;
        if (s->conns != NULL) {
            s->conns->prev = conn;
        }
        s->conns = conn;
        pthread_mutex_unlock(&s->conns_lock);
        *context = conn;
    } else if (conn != NULL) {
        pthread_mutex_lock(&s->conns_lock);
        if (conn->prev != NULL) {
            conn->prev->next = conn->next;
        } else {
            s->conns = conn->next;
        }
        if (conn->next != NULL) {
            conn->next->prev = conn->prev;
        }
        pthread_mutex_unlock(&s->conns_lock);
        free(conn);
        *context = NULL;
    }
}

/* The watchdog thread: every WATCH_MS, shut down the sockets whose request
   is overdue; libmicrohttpd then sees the connection end and closes it. */
static void *watchdog(void *arg)
{
    eodkit_server *s = arg;
    struct timespec until;
    ek_conn *conn;
    double now;

    pthread_mutex_lock(&s->conns_lock);
    while (!s->stopping) {
        now = ek_time_now();
        for (conn = s->conns; conn != NULL; conn = conn->next) {
            if (conn->deadline > 0 && now > conn->deadline) {
                shutdown(conn->fd, SHUT_RDWR);
                conn->deadline = 0;
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += WATCH_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->wake, &s->conns_lock, &until);
    }
    pthread_mutex_unlock(&s->conns_lock);
    return NULL;
}

/* The connection record of C, or NULL when it could not be made. */
static ek_conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return info != NULL ? info->socket_context : NULL;
}

/* libmicrohttpd's first look at a request: its raw URI. An encoded NUL
   would cut the decoded path short ("/app.js%00.html" would read as
   "/app.js"), so it is refused here, as are overlong URIs and more query
   parameters than any endpoint takes. The request's state lives in its
   connection's record: nothing to free if the client goes away. */
static void *request_start(void *cls, const char *uri, struct MHD_Connection *c)
{
    ek_conn *conn = conn_of(c);
    const char *query = strchr(uri, '?'), *p;
    request *r;
    int params = 0;

    (void)cls;
    if (conn == NULL) {
        return NULL;
    }
    r = &conn->req;
    memset(r, 0, sizeof *r);
    r->raw = uri;
    r->raw_len = strlen(uri);
    for (p = query; p != NULL; p = strchr(p + 1, '&')) {
        params++;
    }
    if (r->raw_len > MAX_URL) {
        r->refused = "the URL is too long";
        r->status = MHD_HTTP_URI_TOO_LONG;
    } else if (strstr(uri, "%00") != NULL) {
        r->refused = "the URL holds an encoded NUL byte";
        r->status = MHD_HTTP_BAD_REQUEST;
    } else if (params > EK_MAX_PARAMS) {
        r->refused = "too many query parameters";
        r->status = MHD_HTTP_BAD_REQUEST;
    }
#if MHD_VERSION < 0x01000000
    /* libmicrohttpd before 1.0 stores every parameter of a refused query in
       the connection's memory, and when that runs out it closes the
       connection without a response. The query string is ours to drop:
       it starts in libmicrohttpd's buffer, which it parses after this
       call. */
    if (r->refused != NULL && query != NULL) {
        ((char *)query)[1] = '\0';
    }
#endif
    return r;
}

/* Nonzero when S is valid UTF-8 (no overlong forms, surrogates or code
   points past U+10FFFF). */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p != '\0') {
        unsigned cp, min;
        int extra, i;

        if (*p < 0x80) {
            p++;
            continue;
        }
        if ((*p & 0xe0) == 0xc0) {
            extra = 1, cp = *p & 0x1f, min = 0x80;
        } else if ((*p & 0xf0) == 0xe0) {
            extra = 2, cp = *p & 0x0f, min = 0x800;
        } else if ((*p & 0xf8) == 0xf0) {
            extra = 3, cp = *p & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        for (i = 1; i <= extra; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
        p += extra + 1;
    }
    return 1;
}

/* The request C is complete: its response is being made (see the
   handler) or it was answered; the next request on the connection has
   REQUEST_SECONDS from now. */
static void request_end(void *cls, struct MHD_Connection *c, void **state,
                        enum MHD_RequestTerminationCode why)
{
    ek_conn *conn = conn_of(c);

    (void)why;
    if (conn != NULL) {
        set_deadline(cls, conn, REQUEST_SECONDS);
    }
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

/* Respond with CODE and {"error": MESSAGE}; a MESSAGE that is not valid
   UTF-8 (it may quote the request) gives way to a generic one, so every
   request gets its answer. */
static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned code,
                                     const char *message)
{
    json_t *j = json_pack("{s:s}", "error", message);
    char *text;

    if (j == NULL) {
        j = json_pack("{s:s}", "error", "bad request");
    }
    text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
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
    } else if (!valid_utf8(key) || (value != NULL && !valid_utf8(value))) {
        p->error = "a query parameter is not valid UTF-8";
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

/* Count the Host headers into the int at CLS. */
static enum MHD_Result count_host(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    (void)value;
    if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
        (*(int *)cls)++;
    }
    return MHD_YES;
}

/* Why the head of request REQ (method, VERSION, headers of C) is refused,
   or NULL. */
static const char *check_head(struct MHD_Connection *c, const request *req,
                              const char *version)
{
    int hosts = 0;

    MHD_get_connection_values(c, MHD_HEADER_KIND, count_host, &hosts);
    /* RFC 9112, 3.2: a request without Host (HTTP/1.1) or with several is
       answered 400. */
    if (hosts > 1 || (hosts == 0 && strcmp(version, MHD_HTTP_VERSION_1_1) == 0)) {
        return "the request must have one Host header";
    }
#if MHD_VERSION < 0x01000000
    /* libmicrohttpd before 1.0 takes a request line with a raw NUL byte and
       reads the target up to it. The version follows the target in its
       buffer, so a target longer than its text holds a NUL. */
    if (version[0] != '\0' && req->raw + req->raw_len + 1 != version) {
        return "the request line holds a NUL byte";
    }
#else
    (void)req;
#endif
    return NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version,
                              const char *upload, size_t *upload_size, void **state)
{
    eodkit_server *s = cls;
    request *req = *state;
    const struct page *pg;
    const char *bad;
    ek_params params;
    ek_reply reply;
    eodkit_catalog *cat;

    (void)upload;
    if (req == NULL) {
        return MHD_NO; /* no connection record (out of memory): drop it */
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
    /* The request is complete: no deadline while it is answered. */
    set_deadline(s, conn_of(c), 0);
    bad = check_head(c, req, version);
    if (bad != NULL) {
        return respond_error(c, MHD_HTTP_BAD_REQUEST, bad);
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                             "only GET and HEAD are served");
    }
    if (req->refused != NULL) {
        return respond_error(c, req->status, req->refused);
    }
    if (!valid_utf8(url)) {
        return respond_error(c, MHD_HTTP_BAD_REQUEST, "the URL is not valid UTF-8");
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

/* How many connections fit in the process's file descriptors beside the
   catalog handles and libmicrohttpd's own (a few per worker thread). */
static unsigned connection_limit(int threads)
{
    rlim_t spare = 64 + 4 * (rlim_t)threads;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= MAX_CONNECTIONS + spare) {
        return MAX_CONNECTIONS;
    }
    return rl.rlim_cur > spare + MAX_PER_ADDRESS ? (unsigned)(rl.rlim_cur - spare)
                                                 : MAX_PER_ADDRESS;
}

/* Start the watchdog thread of S. */
static int start_watchdog(eodkit_ctx *ctx, eodkit_server *s)
{
    pthread_condattr_t attr;
    int rc = 0;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &attr);
    pthread_condattr_destroy(&attr);
    rc = pthread_create(&s->watchdog, NULL, watchdog, s);
    if (rc != 0) {
        return ek_error(ctx, EODKIT_ERR_NOMEM, "cannot start the watchdog thread");
    }
    s->watchdog_running = 1;
    return EODKIT_OK;
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
    pthread_mutex_init(&s->conns_lock, NULL);
    rc = start_watchdog(ctx, s);
    if (rc != EODKIT_OK) {
        goto out;
    }
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
    /* poll(), not epoll: with epoll, libmicrohttpd 0.9.75 at times misses a
       client's close that arrives with its last bytes, and holds the
       connection until it times out; 3,000 clients that send half a header
       and close kept the pool full for minutes that way. */
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | (ipv6 ? MHD_USE_IPv6 : 0), 0,
        NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads, MHD_OPTION_CONNECTION_LIMIT,
        connection_limit(threads), MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int)MAX_PER_ADDRESS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)IDLE_SECONDS, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CONNECTION_MEMORY, MHD_OPTION_NOTIFY_CONNECTION, connection_notice, s,
        MHD_OPTION_URI_LOG_CALLBACK, request_start, NULL, MHD_OPTION_NOTIFY_COMPLETED,
        request_end, s, MHD_OPTION_END);
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
    if (s->watchdog_running) {
        pthread_mutex_lock(&s->conns_lock);
        s->stopping = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->conns_lock);
        pthread_join(s->watchdog, NULL);
    }
    if (s->daemon != NULL) {
        MHD_stop_daemon(s->daemon);
    }
    for (i = 0; i < s->nhandles; i++) {
        eodkit_catalog_close(s->handles[i]);
    }
    ek_outline_free(s->outline);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->conns_lock);
    pthread_cond_destroy(&s->freed);
    pthread_mutex_destroy(&s->lock);
    free(s->handles);
    free(s->busy);
    free(s);
}
