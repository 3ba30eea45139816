/*
** Serve internals: the server object shared by the HTTP layer
** (serve_http.c) and the JSON API (serve_api.c), and the request and reply
** records passed between them.
*/
#ifndef EK_SERVE_H
#define EK_SERVE_H

#include <pthread.h>

#include "catalog/ek_catalog.h"
#include "eodkit/serve.h"

#define EK_MAX_PARAMS 16 /* query parameters per request */
#define EK_PARAM_MAX 256 /* bytes per parameter value */

struct MHD_Daemon;
typedef struct ek_conn ek_conn;

struct eodkit_server {
    struct MHD_Daemon *daemon;
    eodkit_catalog **handles; /* read-only, one per worker thread */
    int *busy;                /* handles[i] is lent to a request */
    int nhandles;
    pthread_mutex_t lock; /* guards busy */
    pthread_cond_t freed;
    ek_outline *outline; /* map background, or NULL */
    int port;
    /* The watchdog: a thread that closes the connections whose request
       has not arrived whole by its deadline (see serve_http.c). */
    ek_conn *conns;             /* open connections, a doubly linked list */
    pthread_mutex_t conns_lock; /* guards conns, their deadlines, stopping */
    pthread_cond_t wake;        /* wakes the watchdog to stop */
    pthread_t watchdog;
    int watchdog_running;
    int stopping;
};

/* The query parameters of a request (decoded; owned by libmicrohttpd). */
typedef struct ek_params {
    const char *key[EK_MAX_PARAMS];
    const char *value[EK_MAX_PARAMS];
    int n;
    const char *error; /* why the query string was refused, or NULL */
} ek_params;

/* What an API handler answers: BODY (malloc'ed, of content TYPE) with
   status 200, or no body and STATUS with the ERROR message. */
typedef struct ek_reply {
    unsigned status;
    const char *type;
    char *body;
    char error[512];
} ek_reply;

/*
** Answer the API request for URL (a path under /api/) with parameters P
** from catalog CAT into REPLY. Unknown paths are 404, unknown or bad
** parameters 400, each with a message. Thread-safe for distinct CATs.
*/
void ek_serve_api(eodkit_server *s, eodkit_catalog *cat, const char *url,
                  const ek_params *p, ek_reply *reply);

#endif
