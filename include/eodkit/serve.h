/*
** eodkit serve: a read-only web interface and JSON API over a catalog
** (libmicrohttpd, a pool of worker threads, one read-only database handle
** per worker): a search page with facets, dataset pages, statistics with
** their charts, a map of footprints; /api/datasets, /api/stats, charts.
*/
#ifndef EODKIT_SERVE_H
#define EODKIT_SERVE_H

#include "eodkit/eodkit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eodkit_server eodkit_server;

typedef struct eodkit_server_options {
    const char *db; /* catalog file; it must exist (eodkit_catalog_open creates one) */
    const char *bind; /* IPv4 or IPv6 address to listen on; NULL: 127.0.0.1 */
    int port;         /* TCP port; 0: any free port (see eodkit_server_port) */
    int threads;      /* worker threads; 0: 8 */
    const char
        *regions; /* vector layer drawn under the map (e.g. world.gpkg); NULL: none */
} eodkit_server_options;

/*
** Start serving the catalog OPTIONS->db in background threads and store the
** server in *SERVER. Errors: the catalog cannot be opened read-only (its
** status), a bad address (usage), the port is taken (I/O). The caller stops
** the server with eodkit_server_stop from the thread that started it.
*/
EODKIT_API int eodkit_server_start(eodkit_ctx *ctx,
                                   const eodkit_server_options *options,
                                   eodkit_server **server /* OUT */);

/* The TCP port SERVER listens on. */
EODKIT_API int eodkit_server_port(const eodkit_server *server);

/* Stop SERVER: finish the requests in flight, close everything (NULL is
   fine). */
EODKIT_API void eodkit_server_stop(eodkit_server *server);

#ifdef __cplusplus
}
#endif
#endif
