/*
** Serve: the JSON API and the generated images. Each endpoint checks its
** query parameters (unknown names and bad values are 400 with a message),
** caps result sizes, and answers from the catalog through the same library
** calls as the command line: /api/datasets, /api/datasets/<id>, /api/stats,
** /api/charts/<name>.svg and /api/map.svg.
*/
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_serve.h"

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 500
#define MAX_OFFSET 1000000

static void fail(ek_reply *reply, unsigned status, const char *fmt, ...)
    EK_PRINTF(3, 4);

static void fail(ek_reply *reply, unsigned status, const char *fmt, ...)
{
    va_list ap;

    reply->status = status;
    va_start(ap, fmt);
    vsnprintf(reply->error, sizeof reply->error, fmt, ap);
    va_end(ap);
}

/* Turn a library failure into a reply: the caller's mistakes are 400, the
   rest 500 without internals such as file paths. */
static void fail_ctx(ek_reply *reply, const eodkit_ctx *ctx)
{
    int code = eodkit_ctx_status(ctx);

    if (code == EODKIT_ERR_USAGE) {
        fail(reply, 400, "%s", eodkit_ctx_message(ctx));
    } else {
        fail(reply, 500, "server error: %s", eodkit_status_name(code));
    }
}

/* Check that every parameter of P is one of ALLOWED (NULL-terminated). */
static int check_names(const ek_params *p, const char *const *allowed, ek_reply *reply)
{
    int i, k;

    for (i = 0; i < p->n; i++) {
        for (k = 0; allowed[k] != NULL && strcmp(allowed[k], p->key[i]) != 0; k++) {
        }
        if (allowed[k] == NULL) {
            fail(reply, 400, "unknown parameter '%.32s'%s", p->key[i],
                 allowed[0] == NULL ? " (this endpoint takes none)" : "");
            return -1;
        }
    }
    return 0;
}

/* The value of parameter NAME, or NULL. Empty values count as absent. */
static const char *param(const ek_params *p, const char *name)
{
    int i;

    for (i = 0; i < p->n; i++) {
        if (strcmp(p->key[i], name) == 0) {
            return p->value[i][0] != '\0' ? p->value[i] : NULL;
        }
    }
    return NULL;
}

/* Store integer parameter NAME (DEF when absent) in *OUT; it must lie in
   [MIN, MAX]. */
static int param_int(const ek_params *p, const char *name, long long min, long long max,
                     long long def, long long *out, ek_reply *reply)
{
    const char *v = param(p, name);
    char *end;

    *out = def;
    if (v == NULL) {
        return 0;
    }
    errno = 0;
    *out = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || errno != 0 || *out < min || *out > max) {
        fail(reply, 400, "parameter %s must be a whole number from %lld to %lld", name,
             min, max);
        return -1;
    }
    return 0;
}

/* Reply with JSON J (a new reference, released here). */
static void reply_json(ek_reply *reply, json_t *j)
{
    reply->body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    reply->type = "application/json";
    if (reply->body == NULL) {
        fail(reply, 500, "server error: out of memory");
    }
}

/* GET /api/datasets?q=&task=&...: search with facets. */
static void api_search(eodkit_ctx *ctx, eodkit_catalog *cat, const ek_params *p,
                       ek_reply *reply)
{
    static const char *const names[] = {
        "q",      "task",    "platform", "modality", "continent",
        "sensor", "license", "year_min", "year_max", "min_images",
        "sort",   "order",   "limit",    "offset",   NULL};
    eodkit_catalog_query q;
    const char *order = param(p, "order");
    const ek_field *year = &ek_fields[EK_F_YEAR], *images = &ek_fields[EK_F_NUM_IMAGES];
    long long year_min, year_max, min_images, limit, offset;
    json_t *j = NULL;

    if (check_names(p, names, reply) != 0 ||
        param_int(p, "year_min", (long long)year->min, (long long)year->max, 0,
                  &year_min, reply) != 0 ||
        param_int(p, "year_max", (long long)year->min, (long long)year->max, 0,
                  &year_max, reply) != 0 ||
        param_int(p, "min_images", (long long)images->min, (long long)images->max, 0,
                  &min_images, reply) != 0 ||
        param_int(p, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT, &limit, reply) != 0 ||
        param_int(p, "offset", 0, MAX_OFFSET, 0, &offset, reply) != 0) {
        return;
    }
    if (order != NULL && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
        fail(reply, 400, "parameter order must be asc or desc");
        return;
    }
    memset(&q, 0, sizeof q);
    q.text = param(p, "q");
    q.task = param(p, "task");
    q.platform = param(p, "platform");
    q.modality = param(p, "modality");
    q.continent = param(p, "continent");
    q.sensor = param(p, "sensor");
    q.license = param(p, "license");
    q.year_min = (int)year_min;
    q.year_max = (int)year_max;
    q.min_images = min_images;
    q.sort = param(p, "sort");
    q.descending = order != NULL && strcmp(order, "desc") == 0;
    q.limit = (size_t)limit;
    q.offset = (size_t)offset;
    if (ek_search_json(ctx, cat, &q, &j) != EODKIT_OK) {
        fail_ctx(reply, ctx);
        return;
    }
    json_object_set_new(j, "limit", json_integer(limit));
    reply_json(reply, j);
}

/* GET /api/datasets/<id or name>. */
static void api_dataset(eodkit_ctx *ctx, eodkit_catalog *cat, const char *key,
                        const ek_params *p, ek_reply *reply)
{
    static const char *const none[] = {NULL};
    ek_record r = {0};
    long long pk = 0;

    if (check_names(p, none, reply) != 0) {
        return;
    }
    if (ek_catalog_lookup(ctx, cat, key, &pk) != EODKIT_OK) {
        fail_ctx(reply, ctx);
    } else if (pk == 0) {
        fail(reply, 404, "no dataset with id or name '%.200s'", key);
    } else if (ek_catalog_load(ctx, cat, pk, &r) != EODKIT_OK) {
        fail_ctx(reply, ctx);
    } else {
        reply_json(reply, ek_dataset_json(&r));
    }
    ek_record_clear(&r);
}

/* The grouping of parameter "by" (default: task). */
static int param_by(eodkit_ctx *ctx, const ek_params *p, ek_by *by, ek_reply *reply)
{
    const char *v = param(p, "by");

    *by = EK_BY_TASK;
    if (v != NULL && ek_by_parse(ctx, v, by) != EODKIT_OK) {
        fail(reply, 400, "%s", eodkit_ctx_message(ctx));
        return -1;
    }
    return 0;
}

/* GET /api/stats?by=... */
static void api_stats(eodkit_ctx *ctx, eodkit_catalog *cat, const ek_params *p,
                      ek_reply *reply)
{
    static const char *const names[] = {"by", NULL};
    json_t *j = NULL;
    ek_by by;

    if (check_names(p, names, reply) != 0 || param_by(ctx, p, &by, reply) != 0) {
        return;
    }
    if (ek_stats_json(ctx, cat, by, &j) != EODKIT_OK) {
        fail_ctx(reply, ctx);
        return;
    }
    reply_json(reply, j);
}

/* GET /api/charts/<name>.svg?by=... */
static void api_chart(eodkit_ctx *ctx, eodkit_catalog *cat, const char *file,
                      const ek_params *p, ek_reply *reply)
{
    static const char *const names[] = {"by", NULL};
    char name[32];
    size_t n = strlen(file);
    ek_chart chart;
    ek_by by;
    int rc;

    if (n < 5 || n - 4 >= sizeof name || strcmp(file + n - 4, ".svg") != 0) {
        fail(reply, 404, "no such chart");
        return;
    }
    memcpy(name, file, n - 4);
    name[n - 4] = '\0';
    rc = ek_chart_parse(ctx, name, &chart);
    if (rc == EODKIT_ERR_USAGE) {
        fail(reply, 404, "%s", eodkit_ctx_message(ctx));
        return;
    }
    if (rc != EODKIT_OK) {
        fail_ctx(reply, ctx);
        return;
    }
    if (check_names(p, names, reply) != 0 || param_by(ctx, p, &by, reply) != 0) {
        return;
    }
    if (ek_stats_chart(ctx, cat, by, chart, &reply->body) != EODKIT_OK) {
        fail_ctx(reply, ctx);
        return;
    }
    reply->type = "image/svg+xml";
}

/* GET /api/map.svg */
static void api_map(eodkit_server *s, eodkit_ctx *ctx, eodkit_catalog *cat,
                    const ek_params *p, ek_reply *reply)
{
    static const char *const none[] = {NULL};

    if (check_names(p, none, reply) != 0) {
        return;
    }
    if (ek_map_svg(ctx, cat, s->outline, &reply->body) != EODKIT_OK) {
        fail_ctx(reply, ctx);
        return;
    }
    reply->type = "image/svg+xml";
}

void ek_serve_api(eodkit_server *s, eodkit_catalog *cat, const char *url,
                  const ek_params *p, ek_reply *reply)
{
    eodkit_ctx *ctx = eodkit_ctx_new();

    memset(reply, 0, sizeof *reply);
    if (ctx == NULL) {
        fail(reply, 500, "server error: out of memory");
        return;
    }
    if (strcmp(url, "/api/datasets") == 0) {
        api_search(ctx, cat, p, reply);
    } else if (strncmp(url, "/api/datasets/", 14) == 0 && url[14] != '\0') {
        api_dataset(ctx, cat, url + 14, p, reply);
    } else if (strcmp(url, "/api/stats") == 0) {
        api_stats(ctx, cat, p, reply);
    } else if (strncmp(url, "/api/charts/", 12) == 0) {
        api_chart(ctx, cat, url + 12, p, reply);
    } else if (strcmp(url, "/api/map.svg") == 0) {
        api_map(s, ctx, cat, p, reply);
    } else {
        fail(reply, 404, "no such API endpoint");
    }
    eodkit_ctx_free(ctx);
}
