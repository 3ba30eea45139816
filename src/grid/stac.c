/*
** Grid, STAC inputs: reading the items of a modality. Walks a static catalog (Catalog
** and Collection item/child links, ItemCollections, Items, folders) or the
** pages of a STAC API Item Search (GET or POST, following `next` links),
** fetching documents through GDAL (CPLHTTPFetch for http(s), the VSI layer
** for files and cloud storage), and keeps the items that pass the filters.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_http.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include "core/ek_fs.h"
#include "core/ek_names.h"
#include "core/ek_strbuf.h"
#include "core/ek_time.h"
#include "ek_stac.h"

/* Bounds on what one catalog may make eodkit fetch. */
#define MAX_DEPTH 32
#define MAX_DOCUMENTS 100000
#define MAX_PAGES 10000
#define MAX_BYTES (256 << 20)

/* The walk of one catalog or search. */
typedef struct walker {
    eodkit_ctx *ctx;
    const ek_stac_recipe *st;
    const char *where; /* the recipe position of `stac` */
    ek_stac *out;
    json_t *kept;    /* the kept items (JSON), parallel to out->items */
    json_t *visited; /* documents read: {location: true} */
    json_t *query;   /* the filters' query object, or NULL */
    int has_from, has_to;
    int64_t from, to; /* datetime filter, inclusive */
} walker;

static int is_http(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static int is_absolute(const char *s)
{
    return s[0] == '/' || strstr(s, "://") != NULL;
}

char *ek_stac_resolve(eodkit_ctx *ctx, const char *base, const char *href)
{
    char *joined, *out;
    const char *path;
    size_t dir, i, o, start;

    if (is_absolute(href)) {
        return ek_strdup(ctx, href);
    }
    dir = strcspn(base, "?#");
    while (dir > 0 && base[dir - 1] != '/') {
        dir--;
    }
    joined = ek_asprintf(ctx, "%.*s%s", (int)dir, base, href);
    if (joined == NULL) {
        return NULL;
    }
    path = strstr(joined, "://");
    start = path != NULL ? (size_t)(strchr(path + 3, '/') != NULL
                                        ? strchr(path + 3, '/') - joined
                                        : (ptrdiff_t)strlen(joined))
                         : 0;
    out = joined; /* normalise in place: the result is never longer */
    for (i = o = start; joined[i] != '\0';) {
        if (strncmp(joined + i, "./", 2) == 0 && (i == start || joined[i - 1] == '/')) {
            i += 2;
        } else if (strncmp(joined + i, "../", 3) == 0 &&
                   (i == start || joined[i - 1] == '/') && o > start + 1) {
            o--; /* back over the '/' ending the previous segment */
            while (o > start && out[o - 1] != '/') {
                o--;
            }
            i += 3;
        } else {
            out[o++] = joined[i++];
        }
    }
    out[o] = '\0';
    return out;
}

/* Fetch the JSON document at LOC (POSTing BODY when not NULL) into *DOC,
   and the server's ETag into *ETAG (NULL when none). A raised cancel flag
   stops the walk here, between documents. */
static int fetch(walker *w, const char *loc, const char *body, json_t **doc,
                 char **etag)
{
    CPLHTTPResult *res = NULL;
    char **options = NULL, *name = NULL;
    GByte *data = NULL;
    vsi_l_offset len = 0;
    json_error_t err;
    int rc = ek_cancelled(w->ctx);

    *doc = NULL;
    *etag = NULL;
    if (rc != EODKIT_OK) {
        goto out;
    }
    if (is_http(loc)) {
        if (body != NULL) {
            options = CSLSetNameValue(options, "POSTFIELDS", body);
            options =
                CSLSetNameValue(options, "HEADERS", "Content-Type: application/json");
        }
        res = CPLHTTPFetch(loc, options);
        if (res == NULL || res->nStatus != 0 || res->pszErrBuf != NULL) {
            const char *why =
                res != NULL && res->pszErrBuf != NULL ? res->pszErrBuf : "no answer";

            /* an HTTP 4xx means the catalog names something that is not there */
            rc = ek_error(w->ctx,
                          strstr(why, "HTTP error code : 4") != NULL ? EODKIT_ERR_INPUT
                                                                     : EODKIT_ERR_IO,
                          "%s: cannot read it: %s", loc, why);
            goto out;
        }
        data = res->pabyData;
        len = (vsi_l_offset)res->nDataLen;
        if (CSLFetchNameValue(res->papszHeaders, "ETag") != NULL) {
            *etag = ek_strdup(w->ctx, CSLFetchNameValue(res->papszHeaders, "ETag"));
        }
    } else {
        VSIStatBufL st;

        name = ek_name_resolve(w->ctx, NULL, loc);
        if (name == NULL) {
            rc = EODKIT_ERR_NOMEM;
            goto out;
        }
        if (VSIStatExL(name, &st, VSI_STAT_EXISTS_FLAG) != 0) {
            rc = ek_error(w->ctx, EODKIT_ERR_INPUT, "%s: no such file", loc);
            goto out;
        }
        if (!VSIIngestFile(NULL, name, &data, &len, MAX_BYTES)) {
            rc = ek_error_with_gdal(w->ctx, EODKIT_ERR_IO, "%s: cannot read it", loc);
            goto out;
        }
    }
    *doc = json_loadb((const char *)data, (size_t)len, 0, &err);
    if (*doc == NULL) {
        rc = ek_error(w->ctx, EODKIT_ERR_INPUT,
                      "%s: not STAC: not JSON (line %d, column %d: %s)", loc, err.line,
                      err.column, err.text);
    }
out:
    if (res != NULL) {
        CPLHTTPDestroyResult(res);
    } else {
        VSIFree(data);
    }
    CSLDestroy(options);
    free(name);
    if (rc != EODKIT_OK) {
        free(*etag);
        *etag = NULL;
    }
    return rc;
}

/* Text of member KEY of object O, or NULL. */
static const char *text_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* STAC date-time TEXT (RFC 3339: fractional seconds and a Z or +00:00
   offset allowed) into *T; 0 on success. */
static int parse_datetime(const char *text, int end_of_day, int64_t *t)
{
    char buf[32];
    size_t n = strcspn(text, ".+Zz");
    int sign, hh = 0, mm = 0;
    const char *zone;

    if (n >= sizeof buf - 1) {
        return -1;
    }
    memcpy(buf, text, n);
    buf[n] = '\0';
    if (ek_time_parse_iso(buf, end_of_day, t) != 0) {
        return -1;
    }
    zone = text + n + strspn(text + n, ".0123456789");
    if (n > 10 && (*zone == '+' || *zone == '-') &&
        sscanf(zone + 1, "%2d:%2d", &hh, &mm) == 2) {
        sign = *zone == '+' ? 1 : -1;
        *t -= sign * (hh * 3600 + mm * 60);
    }
    return 0;
}

/* The item's time range: datetime, or start_datetime/end_datetime. */
static int item_times(const json_t *props, int64_t *start, int64_t *end)
{
    const char *dt = text_of(props, "datetime");
    const char *s = text_of(props, "start_datetime"),
               *e = text_of(props, "end_datetime");

    if (dt != NULL && parse_datetime(dt, 0, start) == 0) {
        *end = *start;
        return 1;
    }
    if (s != NULL && parse_datetime(s, 0, start) == 0) {
        *end = e != NULL && parse_datetime(e, 0, end) == 0 ? *end : *start;
        return 1;
    }
    return 0;
}

/* One `query` condition: VALUE (the item's) OP ARG. -1: unknown operator. */
static int condition(const json_t *value, const char *op, const json_t *arg)
{
    const char *vs = json_string_value(value), *as = json_string_value(arg);
    size_t i;

    if (strcmp(op, "eq") == 0 || strcmp(op, "neq") == 0) {
        int same = json_is_number(value) && json_is_number(arg)
                       ? json_number_value(value) == json_number_value(arg)
                       : json_equal((json_t *)value, (json_t *)arg);

        return op[0] == 'e' ? same : !same;
    }
    if (strcmp(op, "in") == 0) {
        for (i = 0; i < json_array_size(arg); i++) {
            if (condition(value, "eq", json_array_get(arg, i)) == 1) {
                return 1;
            }
        }
        return json_is_array(arg) ? 0 : -1;
    }
    if (strcmp(op, "lt") == 0 || strcmp(op, "lte") == 0 || strcmp(op, "gt") == 0 ||
        strcmp(op, "gte") == 0) {
        double d;

        if (json_is_number(value) && json_is_number(arg)) {
            d = json_number_value(value) - json_number_value(arg);
        } else if (vs != NULL && as != NULL) {
            d = strcmp(vs, as);
        } else {
            return 0;
        }
        return op[0] == 'l' ? (op[2] == 'e' ? d <= 0 : d < 0)
                            : (op[2] == 'e' ? d >= 0 : d > 0);
    }
    if (strcmp(op, "startsWith") == 0 || strcmp(op, "endsWith") == 0 ||
        strcmp(op, "contains") == 0) {
        size_t nv = vs != NULL ? strlen(vs) : 0, na = as != NULL ? strlen(as) : 0;

        if (vs == NULL || as == NULL || na > nv) {
            return 0;
        }
        return op[0] == 's'   ? strncmp(vs, as, na) == 0
               : op[0] == 'e' ? strcmp(vs + nv - na, as) == 0
                              : strstr(vs, as) != NULL;
    }
    return -1;
}

/* Whether ITEM passes every filter of the recipe; *PASS set. */
static int passes(walker *w, const json_t *item, int *pass)
{
    const ek_stac_recipe *st = w->st;
    const json_t *props = json_object_get(item, "properties");
    const json_t *bbox = json_object_get(item, "bbox");
    const char *prop, *op;
    json_t *ops, *arg;
    int64_t start, end;
    size_t i;

    *pass = 0;
    if (st->has_bbox) {
        size_t n = json_array_size(bbox), half = n / 2;

        if (n != 4 && n != 6) {
            return EODKIT_OK;
        }
        if (json_number_value(json_array_get(bbox, 0)) > st->bbox[2] ||
            json_number_value(json_array_get(bbox, half)) < st->bbox[0] ||
            json_number_value(json_array_get(bbox, 1)) > st->bbox[3] ||
            json_number_value(json_array_get(bbox, half + 1)) < st->bbox[1]) {
            return EODKIT_OK;
        }
    }
    if ((w->has_from || w->has_to) &&
        (!item_times(props, &start, &end) || (w->has_from && end < w->from) ||
         (w->has_to && start > w->to))) {
        return EODKIT_OK;
    }
    if (st->ncollections > 0) {
        const char *c = text_of(item, "collection");

        for (i = 0; c != NULL && i < st->ncollections; i++) {
            if (strcmp(c, st->collections[i]) == 0) {
                break;
            }
        }
        if (c == NULL || i == st->ncollections) {
            return EODKIT_OK;
        }
    }
    if (st->has_max_cloud) {
        json_t *cc = json_object_get(props, "eo:cloud_cover");

        if (!json_is_number(cc) || json_number_value(cc) > st->max_cloud) {
            return EODKIT_OK;
        }
    }
    json_object_foreach(w->query, prop, ops)
    {
        json_t *value = json_object_get(props, prop);

        json_object_foreach(ops, op, arg)
        {
            int ok = value != NULL ? condition(value, op, arg) : 0;

            if (ok < 0 || !json_is_object(ops)) {
                return ek_error(w->ctx, EODKIT_ERR_INPUT,
                                "%s: stac.query: '%s' is not an operator of the STAC "
                                "API query extension (eq, neq, lt, lte, gt, gte, in, "
                                "startsWith, endsWith, contains)",
                                w->where, op);
            }
            if (!ok) {
                return EODKIT_OK;
            }
        }
    }
    *pass = 1;
    return EODKIT_OK;
}

/* The href of link REL of DOC, or NULL. */
static const json_t *find_link(const json_t *doc, const char *rel)
{
    const json_t *links = json_object_get(doc, "links"), *l;
    size_t i;

    json_array_foreach(links, i, l)
    {
        const char *r = text_of(l, "rel");

        if (r != NULL && strcmp(r, rel) == 0 && text_of(l, "href") != NULL) {
            return l;
        }
    }
    return NULL;
}

/* Item ITEM, read from location LOC (ETag ETAG), kept when it passes. */
static int add_item(walker *w, json_t *item, const char *loc, const char *etag)
{
    const char *id = text_of(item, "id");
    const json_t *self = find_link(item, "self");
    json_t *props = json_object_get(item, "properties");
    ek_stac_item *grown, *it;
    int64_t end;
    size_t i;
    int pass, rc;

    if (id == NULL || !json_is_object(props) || text_of(item, "stac_version") == NULL) {
        return ek_error(w->ctx, EODKIT_ERR_INPUT,
                        "%s: not STAC: a Feature without %s (%s: stac.items)", loc,
                        id == NULL               ? "an 'id'"
                        : !json_is_object(props) ? "'properties'"
                                                 : "'stac_version'",
                        w->where);
    }
    for (i = 0; i < w->out->nitems; i++) {
        if (strcmp(w->out->items[i].id, id) == 0) {
            return EODKIT_OK; /* listed twice (two parents, or overlapping pages) */
        }
    }
    rc = passes(w, item, &pass);
    if (rc != EODKIT_OK || !pass) {
        return rc;
    }
    grown = ek_realloc_array(w->ctx, w->out->items, w->out->nitems + 1,
                             sizeof *w->out->items);
    if (grown == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    w->out->items = grown;
    it = &grown[w->out->nitems++];
    memset(it, 0, sizeof *it);
    it->id = ek_strdup(w->ctx, id);
    it->href = self != NULL && is_absolute(text_of(self, "href"))
                   ? ek_strdup(w->ctx, text_of(self, "href"))
                   : ek_strdup(w->ctx, loc);
    it->etag = etag != NULL ? ek_strdup(w->ctx, etag) : NULL;
    it->has_time = item_times(props, &it->time, &end);
    it->has_cloud = json_is_number(json_object_get(props, "eo:cloud_cover"));
    it->cloud = json_number_value(json_object_get(props, "eo:cloud_cover"));
    it->assets = ek_calloc(w->ctx, w->st->nassets, sizeof *it->assets);
    if (it->id == NULL || it->href == NULL || (etag != NULL && it->etag == NULL) ||
        it->assets == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    /* where relative asset hrefs resolve from */
    json_object_set_new(item, "eodkit:base", json_string(loc));
    json_array_append(w->kept, item);
    return EODKIT_OK;
}

static int visit(walker *w, const char *loc, int depth);

/* An ItemCollection page DOC read from LOC, then the pages its `next` links
   lead to (GET, or POST with the link's body, merged when it says so). */
static int read_pages(walker *w, const char *loc, const char *body, json_t *doc,
                      char *etag)
{
    char *url = ek_strdup(w->ctx, loc), *post = body != NULL ? strdup(body) : NULL;
    int pages = 0, rc = url == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;

    while (rc == EODKIT_OK) {
        const json_t *features = json_object_get(doc, "features"), *next, *f;
        size_t i;

        if (!json_is_array(features)) {
            rc = ek_error(w->ctx, EODKIT_ERR_INPUT,
                          "%s: not STAC: a FeatureCollection without 'features'", url);
            break;
        }
        json_array_foreach(features, i, f)
        {
            rc = rc == EODKIT_OK ? add_item(w, (json_t *)f, url, etag) : rc;
        }
        next = find_link(doc, "next");
        if (rc != EODKIT_OK || next == NULL) {
            break;
        }
        if (++pages > MAX_PAGES) {
            rc = ek_error(w->ctx, EODKIT_ERR_INPUT,
                          "%s: more than %d pages of items; narrow the search "
                          "(%s: stac)",
                          loc, MAX_PAGES, w->where);
            break;
        }
        {
            char *href = ek_stac_resolve(w->ctx, url, text_of(next, "href"));
            const char *method = text_of(next, "method");
            json_t *nbody = json_object_get(next, "body");

            free(url);
            url = href;
            if (method != NULL && strcmp(method, "POST") == 0) {
                json_t *merged =
                    json_is_true(json_object_get(next, "merge")) && post != NULL
                        ? json_loads(post, 0, NULL)
                        : json_object();

                json_object_update(merged, nbody);
                free(post);
                post = json_dumps(merged, JSON_COMPACT);
                json_decref(merged);
            } else {
                free(post);
                post = NULL;
            }
        }
        json_decref(doc);
        doc = NULL;
        free(etag);
        etag = NULL;
        rc = url == NULL ? EODKIT_ERR_NOMEM : fetch(w, url, post, &doc, &etag);
    }
    json_decref(doc);
    free(etag);
    free(url);
    free(post);
    return rc;
}

/* A local folder: its catalog.json or collection.json, else each of its
   .json files in name order. */
static int visit_folder(walker *w, const char *loc, int depth)
{
    static const char *const roots[] = {"catalog.json", "collection.json", NULL};
    char **names = NULL;
    size_t i, n = 0;
    int rc = EODKIT_OK;

    for (i = 0; roots[i] != NULL; i++) {
        char *root = ek_path_join(w->ctx, loc, roots[i]);

        if (root != NULL && ek_fs_is_file(root)) {
            rc = visit(w, root, depth);
            free(root);
            return rc;
        }
        free(root);
    }
    {
        char *pattern = ek_path_join(w->ctx, loc, "*.json");

        rc = pattern == NULL ? EODKIT_ERR_NOMEM
                             : ek_fs_glob(w->ctx, pattern, &names, &n);
        free(pattern);
    }
    if (rc == EODKIT_OK && n == 0) {
        rc = ek_error(w->ctx, EODKIT_ERR_INPUT,
                      "%s: a folder without STAC JSON files (%s: stac.items)", loc,
                      w->where);
    }
    for (i = 0; i < n && rc == EODKIT_OK; i++) {
        rc = visit(w, names[i], depth + 1);
    }
    ek_fs_free_list(names, n);
    return rc;
}

/* The items of the STAC document at LOC and of the documents it links. */
static int visit(walker *w, const char *loc, int depth)
{
    json_t *doc = NULL;
    char *etag = NULL;
    const char *type;
    int rc;

    if (depth > MAX_DEPTH || json_object_size(w->visited) >= MAX_DOCUMENTS) {
        return ek_error(w->ctx, EODKIT_ERR_INPUT,
                        "%s: the catalog is deeper than %d levels or has more than %d "
                        "documents (%s: stac.items)",
                        loc, MAX_DEPTH, MAX_DOCUMENTS, w->where);
    }
    if (json_object_get(w->visited, loc) != NULL) {
        return EODKIT_OK; /* a link cycle, or an item listed twice */
    }
    json_object_set_new(w->visited, loc, json_true());
    if (strstr(loc, "://") == NULL && ek_fs_is_dir(loc)) {
        return visit_folder(w, loc, depth);
    }
    rc = fetch(w, loc, NULL, &doc, &etag);
    if (rc != EODKIT_OK) {
        return rc;
    }
    type = text_of(doc, "type");
    if (type != NULL && strcmp(type, "Feature") == 0) {
        rc = add_item(w, doc, loc, etag);
    } else if (type != NULL && strcmp(type, "FeatureCollection") == 0) {
        rc = read_pages(w, loc, NULL, doc, etag);
        return rc; /* read_pages owns DOC and ETAG */
    } else if (type != NULL &&
               (strcmp(type, "Catalog") == 0 || strcmp(type, "Collection") == 0) &&
               text_of(doc, "stac_version") != NULL) {
        const json_t *links = json_object_get(doc, "links"), *l;
        size_t i;

        json_array_foreach(links, i, l)
        {
            const char *rel = text_of(l, "rel"), *href = text_of(l, "href");
            char *next;

            if (rc != EODKIT_OK || rel == NULL || href == NULL ||
                (strcmp(rel, "item") != 0 && strcmp(rel, "child") != 0)) {
                continue;
            }
            next = ek_stac_resolve(w->ctx, loc, href);
            rc = next == NULL ? EODKIT_ERR_NOMEM : visit(w, next, depth + 1);
            free(next);
        }
    } else {
        rc =
            ek_error(w->ctx, EODKIT_ERR_INPUT,
                     "%s: not STAC: expected an Item, an ItemCollection, a Catalog or "
                     "a Collection, found %s%s%s (%s: stac.items)",
                     loc, type != NULL ? "type '" : "", type != NULL ? type : "no type",
                     type != NULL ? "'" : "", w->where);
    }
    json_decref(doc);
    free(etag);
    return rc;
}

/* Whether LOC is a STAC API Item Search endpoint (its path ends in /search). */
static int is_search(const char *loc)
{
    size_t n = strcspn(loc, "?#");

    return is_http(loc) && n >= 7 && strncmp(loc + n - 7, "/search", 7) == 0;
}

/* The search's query object: stac.query, with eo:cloud_cover lte
   max_item_cloud added when the query does not constrain it already. */
static json_t *search_query(const ek_stac_recipe *st)
{
    json_t *q = st->query != NULL ? json_loads(st->query, 0, NULL) : json_object();

    if (st->has_max_cloud && json_object_get(q, "eo:cloud_cover") == NULL) {
        json_object_set_new(q, "eo:cloud_cover",
                            json_pack("{s:f}", "lte", st->max_cloud));
    }
    return q;
}

/* The first search request: a GET URL (*URL) or a POST URL and JSON body
   (*BODY), from the recipe's filters. */
static int search_request(walker *w, const char *datetime, char **url, char **body)
{
    const ek_stac_recipe *st = w->st;
    json_t *b = json_object(), *q = search_query(st), *collections = json_array();
    ek_strbuf u;
    size_t i;
    int rc;

    *url = *body = NULL;
    for (i = 0; i < st->ncollections; i++) {
        json_array_append_new(collections, json_string(st->collections[i]));
    }
    if (st->has_bbox) {
        json_object_set_new(b, "bbox",
                            json_pack("[f, f, f, f]", st->bbox[0], st->bbox[1],
                                      st->bbox[2], st->bbox[3]));
    }
    if (datetime != NULL) {
        json_object_set_new(b, "datetime", json_string(datetime));
    }
    json_object_set(b, "collections", collections);
    if (st->limit > 0) {
        json_object_set_new(b, "limit", json_integer(st->limit));
    }
    json_object_set(b, "query", q);
    if (st->ncollections == 0) {
        json_object_del(b, "collections");
    }
    if (json_object_size(q) == 0) {
        json_object_del(b, "query");
    }
    if (st->post) {
        *url = ek_strdup(w->ctx, st->items);
        *body = json_dumps(b, JSON_COMPACT);
        rc = *url == NULL || *body == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        goto out;
    }
    ek_strbuf_init(&u, w->ctx);
    ek_strbuf_puts(&u, st->items);
    {
        const char *key;
        json_t *v;
        char sep = strchr(st->items, '?') != NULL ? '&' : '?';

        json_object_foreach(b, key, v)
        {
            char *text = NULL, *escaped;

            if (json_is_array(v) && strcmp(key, "bbox") == 0) {
                text = ek_asprintf(w->ctx, "%.17g,%.17g,%.17g,%.17g", st->bbox[0],
                                   st->bbox[1], st->bbox[2], st->bbox[3]);
            } else if (json_is_array(v)) {
                ek_strbuf list;

                ek_strbuf_init(&list, w->ctx);
                for (i = 0; i < json_array_size(v); i++) {
                    ek_strbuf_printf(&list, "%s%s", i ? "," : "",
                                     json_string_value(json_array_get(v, i)));
                }
                ek_strbuf_detach(&list, &text);
            } else if (json_is_string(v)) {
                text = ek_strdup(w->ctx, json_string_value(v));
            } else {
                text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            }
            escaped = text != NULL ? CPLEscapeString(text, -1, CPLES_URL) : NULL;
            ek_strbuf_printf(&u, "%c%s=%s", sep, key, escaped != NULL ? escaped : "");
            sep = '&';
            CPLFree(escaped);
            free(text);
        }
    }
    rc = ek_strbuf_detach(&u, url);
out:
    json_decref(collections);
    json_decref(q);
    json_decref(b);
    return rc;
}

/* The datetime filter: stac.datetime, else the modality's time.from/to. */
static int datetime_filter(walker *w, const ek_time_recipe *t, char **text)
{
    const char *dt = w->st->datetime;
    char a[32] = "..", b[32] = "..";

    *text = NULL;
    if (dt == NULL) {
        w->has_from = t->has_from, w->from = t->from;
        w->has_to = t->has_to, w->to = t->to;
        if (!t->has_from && !t->has_to) {
            return EODKIT_OK;
        }
        if (t->has_from) {
            ek_time_format(t->from, a, sizeof a);
        }
        if (t->has_to) {
            ek_time_format(t->to, b, sizeof b);
        }
        *text = ek_asprintf(w->ctx, "%s/%s", a, b);
        return *text == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    {
        const char *slash = strchr(dt, '/');
        size_t n = slash != NULL ? (size_t)(slash - dt) : strlen(dt);
        const char *end = slash != NULL ? slash + 1 : dt;

        if (n >= sizeof a || strlen(end) >= sizeof b) {
            n = sizeof a; /* too long to be a date: fails below */
        } else {
            memcpy(a, dt, n);
            a[n] = '\0';
            strcpy(b, end);
        }
        w->has_from = n > 0 && strcmp(a, "..") != 0;
        w->has_to = b[0] != '\0' && strcmp(b, "..") != 0;
        if (n >= sizeof a || (w->has_from && parse_datetime(a, 0, &w->from) != 0) ||
            (w->has_to && parse_datetime(b, 1, &w->to) != 0)) {
            return ek_error(
                w->ctx, EODKIT_ERR_INPUT,
                "%s: stac.datetime: '%s' is not a STAC datetime (an instant "
                "such as 2018-05-10T00:00:00Z, or START/END with '..' for an "
                "open end)",
                w->where, dt);
        }
    }
    *text = ek_strdup(w->ctx, dt);
    return *text == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

int ek_stac_read(eodkit_ctx *ctx, ek_modality *m, const char *where)
{
    const ek_modality_recipe *mr = m->recipe;
    walker w;
    char *datetime = NULL, *url = NULL, *body = NULL;
    int rc;

    memset(&w, 0, sizeof w);
    w.ctx = ctx;
    w.st = &mr->stac;
    w.where = where;
    w.kept = json_array();
    w.visited = json_object();
    m->stac = ek_calloc(ctx, 1, sizeof *m->stac);
    if (m->stac == NULL || w.kept == NULL || w.visited == NULL) {
        rc = EODKIT_ERR_NOMEM;
        goto out;
    }
    w.out = m->stac;
    m->stac->nassets = mr->stac.nassets;
    /* a local catalog by its absolute path, so that the dataset's links to
       its items hold wherever the build ran */
    m->stac->source =
        is_absolute(mr->stac.items) || strncmp(mr->stac.items, "/vsi", 4) == 0
            ? ek_strdup(ctx, mr->stac.items)
            : realpath(mr->stac.items, NULL);
    if (m->stac->source == NULL && ek_fs_exists(mr->stac.items)) {
        rc = ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (m->stac->source == NULL) {
        rc = ek_error(ctx, EODKIT_ERR_INPUT,
                      "%s: no such file or folder (%s: stac.items)", mr->stac.items,
                      w.where);
        goto out;
    }
    w.query = mr->stac.query != NULL ? json_loads(mr->stac.query, 0, NULL) : NULL;
    rc = datetime_filter(&w, &mr->time, &datetime);
    if (rc == EODKIT_OK && is_search(mr->stac.items)) {
        json_t *doc = NULL;
        char *etag = NULL;

        rc = search_request(&w, datetime, &url, &body);
        if (rc == EODKIT_OK) {
            m->stac->request = body != NULL ? ek_asprintf(ctx, "POST %s %s", url, body)
                                            : ek_strdup(ctx, url);
            rc = m->stac->request == NULL ? EODKIT_ERR_NOMEM
                                          : fetch(&w, url, body, &doc, &etag);
        }
        if (rc == EODKIT_OK && !json_is_array(json_object_get(doc, "features"))) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          "%s: not a STAC API search answer (no 'features') (%s: "
                          "stac.items)",
                          url, w.where);
            json_decref(doc);
            free(etag);
        } else if (rc == EODKIT_OK) {
            rc = read_pages(&w, url, body, doc, etag);
        }
    } else if (rc == EODKIT_OK) {
        rc = visit(&w, m->stac->source, 0);
    }
    if (rc == EODKIT_OK && m->stac->nitems == 0) {
        int filtered = mr->stac.has_max_cloud || mr->stac.has_bbox ||
                       mr->stac.ncollections > 0 || mr->stac.query != NULL ||
                       datetime != NULL;

        rc = ek_error(ctx, EODKIT_ERR_INPUT, "%s: %s (%s: modality '%s')",
                      m->stac->request != NULL ? m->stac->request : mr->stac.items,
                      filtered ? "no STAC item passes the filters (bbox, datetime, "
                                 "collections, query, max_item_cloud)"
                               : "holds no STAC item",
                      w.where, mr->name);
    }
    if (rc == EODKIT_OK) {
        m->stac->json = w.kept; /* until their assets are inspected */
        w.kept = NULL;
    }
out:
    json_decref(w.kept);
    json_decref(w.visited);
    json_decref(w.query);
    free(datetime);
    free(url);
    free(body);
    return rc;
}

void ek_stac_free(ek_stac *st)
{
    size_t i;

    if (st == NULL) {
        return;
    }
    for (i = 0; i < st->nitems; i++) {
        free(st->items[i].id);
        free(st->items[i].href);
        free(st->items[i].etag);
        ek_fs_free_list(st->items[i].assets, st->nassets);
    }
    free(st->items);
    json_decref(st->json);
    free(st->source);
    free(st->request);
    free(st);
}
