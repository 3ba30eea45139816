/*
** Recipe: the schema of one entry of `modalities`: its files (any name GDAL
** opens, a list of them in a text file, one set of files per band, or the
** assets of STAC items),
** bands, resampling, nodata, whether chips need it, how several
** acquisitions combine (time), its mask, complex data, SAR metadata and how
** its pixels are georeferenced (geotransform, GCPs or RPCs).
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gdalwarper.h>
#include <jansson.h>

#include "core/ek_fs.h"
#include "core/ek_names.h"
#include "core/ek_time.h"
#include "ek_recipe_parse.h"

static const char *const modality_keys[] = {
    "name",   "kind",       "sensor",       "platform",   "description",
    "files",  "bands",      "band_files",   "band_names", "resampling",
    "nodata", "required",   "time",         "mask",       "complex",
    "sar",    "files_from", "georeference", "stac",       NULL};
static const char *const band_file_keys[] = {"name", "files", "band", NULL};
static const char *const stac_keys[] = {
    "items", "assets",         "bbox",  "datetime", "collections",
    "query", "max_item_cloud", "limit", "method",   NULL};
static const char *const stac_methods[] = {"GET", "POST", NULL};
static const char *const time_keys[] = {"mode",   "count",  "from",  "to", "pattern",
                                        "format", "before", "after", NULL};
static const char *const period_keys[] = {"from", "to", NULL};
static const char *const mask_keys[] = {"band", "values", "polygons", "time_field",
                                        NULL};
static const char *const sar_keys[] = {"frequency_band", "instrument_mode",
                                       "product_type",   "scale",
                                       "polarizations",  NULL};

static const char *const kinds[] = {"optical", "multispectral", "hyperspectral", "sar",
                                    "dem",     "lidar",         "other",         NULL};
static const char *const platforms[] = {"satellite", "aerial", "uav", "ground", NULL};
static const char *const time_modes[] = {"mosaic", "stack", "pair", NULL};
static const char *const complex_words[] = {"amplitude", "intensity", NULL};
static const char *const frequency_bands[] = {"P",  "L", "S",  "C", "X",
                                              "Ku", "K", "Ka", NULL};
static const char *const scales[] = {"db", "linear", NULL};
static const char *const polarizations[] = {"HH", "VV", "HV", "VH", NULL};
static const char *const georef_keys[] = {"method", "order", "dem", "height", NULL};
static const char *const georef_methods[] = {"geotransform", "gcp", "tps", "rpc", NULL};

/* Recipe resampling words and the GDAL algorithms they select. */
static const char *const resampling_words[] = {
    "nearest", "bilinear", "cubic",  "cubicspline", "lanczos", "average", "mode",
    "min",     "max",      "median", "q1",          "q3",      NULL};
static const int resampling_algs[] = {GRA_NearestNeighbour,
                                      GRA_Bilinear,
                                      GRA_Cubic,
                                      GRA_CubicSpline,
                                      GRA_Lanczos,
                                      GRA_Average,
                                      GRA_Mode,
                                      GRA_Min,
                                      GRA_Max,
                                      GRA_Med,
                                      GRA_Q1,
                                      GRA_Q3};

const char *ek_resampling_name(int alg)
{
    size_t i;

    for (i = 0; resampling_words[i] != NULL; i++) {
        if (resampling_algs[i] == alg) {
            return resampling_words[i];
        }
    }
    return "nearest";
}

int ek_recipe_parse_resampling(ek_yaml *y, yaml_node_t *n, const char *what, int *alg)
{
    int index;
    int rc = ek_yaml_choice(y, n, what, resampling_words, &index);

    if (rc == EODKIT_OK) {
        *alg = resampling_algs[index];
    }
    return rc;
}

const char *ek_georef_name(ek_georef_method m)
{
    return georef_methods[m];
}

/* A word of CHOICES into *OUT (a copy), when KEY is present. */
static int opt_choice(ek_yaml *y, yaml_node_t *map, const char *key, const char *what,
                      const char *const *choices, char **out)
{
    yaml_node_t *n = ek_yaml_get(y, map, key);
    int index, rc;

    if (n == NULL) {
        return EODKIT_OK;
    }
    rc = ek_yaml_choice(y, n, what, choices, &index);
    if (rc == EODKIT_OK) {
        free(*out);
        *out = ek_strdup(y->ctx, choices[index]);
        rc = *out == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    return rc;
}

/* Input names of N (globs for plain paths), resolved against the recipe's
   folder. */
static int parse_patterns(ek_yaml *y, const ek_recipe *r, yaml_node_t *n,
                          const char *what, char ***patterns, size_t *npatterns)
{
    char **raw = NULL;
    size_t nraw = 0, i;
    int rc = ek_yaml_string_list(y, n, what, &raw, &nraw);

    if (rc == EODKIT_OK && nraw == 0) {
        rc = ek_yaml_fail(y, n, "%s: the list is empty", what);
    }
    if (rc == EODKIT_OK) {
        *patterns = ek_calloc(y->ctx, nraw, sizeof **patterns);
        rc = *patterns == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        for (i = 0; rc == EODKIT_OK && i < nraw; i++) {
            (*patterns)[i] = ek_name_resolve(y->ctx, r->dir, raw[i]);
            *npatterns = i + 1;
            rc = (*patterns)[i] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        }
    }
    ek_fs_free_list(raw, nraw);
    return rc;
}

/* Band names (of band_names, or of band_files entries at NODES): none empty,
   no two alike (they key the band statistics and STAC bands). */
static int check_band_names(ek_yaml *y, const char *what, char *const *names,
                            yaml_node_t *const *nodes, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (names[i][0] == '\0') {
            return ek_yaml_fail(y, nodes[i], "%s: a band name is empty", what);
        }
    }
    return ek_recipe_check_distinct(y, what, (const char *const *)names, nodes, n, 0);
}

/* files_from: N names a text file listing one input per line, as `files`
   entries (relative names resolve against the list's folder; blank lines
   and lines starting with '#' are skipped). */
static int parse_files_from(ek_yaml *y, const ek_recipe *r, ek_modality_recipe *m,
                            yaml_node_t *n)
{
    char *list = NULL, *text = NULL, *dir = NULL, *line, *end;
    size_t cap = 0;
    int rc = ek_yaml_path(y, r->dir, n, "modalities[].files_from", &list);

    if (rc == EODKIT_OK && ek_fs_read_file(y->ctx, list, &text, NULL) != EODKIT_OK) {
        char why[EK_MESSAGE_MAX];

        snprintf(why, sizeof why, "%s", y->ctx->message);
        rc = ek_yaml_fail(y, n, "modalities[].files_from: %s", why);
    }
    if (rc == EODKIT_OK) {
        dir = ek_path_dirname(y->ctx, list);
        rc = dir == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    for (line = text; rc == EODKIT_OK && line != NULL && *line != '\0'; line = end) {
        end = strchr(line, '\n');
        if (end != NULL) {
            *end++ = '\0';
        }
        line += strspn(line, " \t");
        line[strcspn(line, "\r")] = '\0';
        while (*line != '\0' && strchr(" \t", line[strlen(line) - 1]) != NULL) {
            line[strlen(line) - 1] = '\0';
        }
        if (*line == '\0' || *line == '#') {
            continue;
        }
        rc = ek_grow(y->ctx, (void **)&m->patterns, &cap, m->npatterns + 1,
                     sizeof *m->patterns);
        if (rc == EODKIT_OK) {
            m->patterns[m->npatterns] = ek_name_resolve(y->ctx, dir, line);
            rc = m->patterns[m->npatterns] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
            m->npatterns += rc == EODKIT_OK;
        }
    }
    if (rc == EODKIT_OK && m->npatterns == 0) {
        rc = ek_yaml_fail(y, n, "modalities[].files_from: %s names no file", list);
    }
    free(dir);
    free(text);
    free(list);
    return rc;
}

static int parse_bands(ek_yaml *y, ek_modality_recipe *m, yaml_node_t *n)
{
    size_t i, len = n->type == YAML_SEQUENCE_NODE ? ek_yaml_seq_len(n) : 1;
    long long b;
    int rc;

    m->bands_mark = ek_yaml_mark(n);
    if (n->type == YAML_MAPPING_NODE || len == 0) {
        return ek_yaml_fail(y, n,
                            "modalities[].bands: expected band numbers (1-based)");
    }
    m->bands = ek_calloc(y->ctx, len, sizeof *m->bands);
    if (m->bands == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < len; i++) {
        yaml_node_t *item =
            n->type == YAML_SEQUENCE_NODE ? ek_yaml_seq_item(y, n, i) : n;

        rc = ek_yaml_int(y, item, "modalities[].bands", 1, 65535, &b);
        if (rc != EODKIT_OK) {
            return rc;
        }
        m->bands[i] = (int)b;
    }
    m->nbands = len;
    return EODKIT_OK;
}

/* band_files: [{name, files, band}, ...]: one output band each. */
static int parse_band_files(ek_yaml *y, const ek_recipe *r, ek_modality_recipe *m,
                            yaml_node_t *n)
{
    size_t i, len = ek_yaml_seq_len(n);
    char **names = NULL;
    yaml_node_t **nodes = NULL;
    long long band;
    int rc = EODKIT_OK;

    if (n->type != YAML_SEQUENCE_NODE || len == 0) {
        return ek_yaml_fail(y, n,
                            "modalities[].band_files: expected a list of "
                            "{name, files, band}");
    }
    m->band_files = ek_calloc(y->ctx, len, sizeof *m->band_files);
    if (m->band_files == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < len && rc == EODKIT_OK; i++) {
        yaml_node_t *item = ek_yaml_seq_item(y, n, i), *v;
        ek_band_file *bf = &m->band_files[i];

        m->nband_files = i + 1;
        bf->band = 1;
        bf->mark = ek_yaml_mark(item);
        rc = ek_yaml_check_map(y, item, "modalities[].band_files[]", band_file_keys);
        if (rc == EODKIT_OK) {
            rc = ek_yaml_require(y, item, "modalities[].band_files[]", "name", &v);
        }
        if (rc == EODKIT_OK) {
            rc = ek_yaml_string(y, v, "modalities[].band_files[].name", &bf->name);
        }
        if (rc == EODKIT_OK) {
            rc = ek_yaml_require(y, item, "modalities[].band_files[]", "files", &v);
        }
        if (rc == EODKIT_OK) {
            rc = parse_patterns(y, r, v, "modalities[].band_files[].files",
                                &bf->patterns, &bf->npatterns);
        }
        if (rc == EODKIT_OK && (v = ek_yaml_get(y, item, "band")) != NULL) {
            rc = ek_yaml_int(y, v, "modalities[].band_files[].band", 1, 65535, &band);
            bf->band = (int)band;
        }
    }
    names = rc == EODKIT_OK ? ek_calloc(y->ctx, len, sizeof *names) : NULL;
    nodes = names != NULL ? ek_calloc(y->ctx, len, sizeof *nodes) : NULL;
    if (rc == EODKIT_OK && nodes == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < len && rc == EODKIT_OK; i++) {
        names[i] = m->band_files[i].name;
        nodes[i] = ek_yaml_get(y, ek_yaml_seq_item(y, n, i), "name");
    }
    if (rc == EODKIT_OK) {
        rc = check_band_names(y, "modalities[].band_files[].name", names, nodes, len);
    }
    free(names);
    free(nodes);
    return rc;
}

/* A STAC location as written: a URL (scheme://...) as is (the hrefs in
   its documents resolve against it), anything else a GDAL name resolved
   against the recipe folder (ek_name_resolve). */
static int stac_location(ek_yaml *y, const ek_recipe *r, yaml_node_t *n, char **out)
{
    char *text = NULL;
    int rc = ek_yaml_string(y, n, "modalities[].stac.items", &text);

    if (rc != EODKIT_OK || strstr(text, "://") != NULL) {
        *out = text;
        return rc;
    }
    *out = ek_name_resolve(y->ctx, r->dir, text);
    free(text);
    return *out == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

/* YAML node N as JSON (scalars that read as numbers or booleans become
   those); NULL on a node JSON cannot hold. */
static json_t *yaml_to_json(ek_yaml *y, yaml_node_t *n)
{
    json_t *j = NULL;
    size_t i;

    if (n->type == YAML_SCALAR_NODE) {
        const char *t = ek_yaml_text(n);
        char *end = NULL;
        double v = strtod(t, &end);

        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
            return json_string(t);
        }
        if (strcmp(t, "true") == 0 || strcmp(t, "false") == 0) {
            return json_boolean(t[0] == 't');
        }
        return end != t && *end == '\0' ? json_real(v) : json_string(t);
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        j = json_array();
        for (i = 0; j != NULL && i < ek_yaml_seq_len(n); i++) {
            json_t *item = yaml_to_json(y, ek_yaml_seq_item(y, n, i));

            if (item == NULL) {
                json_decref(j);
                return NULL;
            }
            json_array_append_new(j, item);
        }
        return j;
    }
    j = json_object();
    for (i = 0; j != NULL && i < ek_yaml_map_len(n); i++) {
        yaml_node_t *k, *v;
        json_t *value;

        ek_yaml_map_pair(y, n, i, &k, &v);
        value = ek_yaml_text(k) != NULL ? yaml_to_json(y, v) : NULL;
        if (value == NULL) {
            json_decref(j);
            return NULL;
        }
        json_object_set_new(j, ek_yaml_text(k), value);
    }
    return j;
}

/* stac.query: a mapping {property: {operator: value}}, or the same as JSON
   text; kept as JSON text. */
static int parse_stac_query(ek_yaml *y, ek_stac_recipe *st, yaml_node_t *n)
{
    const char *t = ek_yaml_text(n);
    json_t *q = NULL;
    json_error_t err;
    int rc = EODKIT_OK;

    if (t != NULL) {
        q = json_loads(t, 0, &err);
    } else if (n->type == YAML_MAPPING_NODE) {
        q = yaml_to_json(y, n);
    }
    if (!json_is_object(q)) {
        rc = ek_yaml_fail(y, n,
                          "modalities[].stac.query: expected a mapping such as "
                          "{eo:cloud_cover: {lt: 20}} (or the same as JSON)");
        goto out;
    }
    st->query = json_dumps(q, JSON_SORT_KEYS | JSON_COMPACT);
    rc = st->query == NULL ? ek_error(y->ctx, EODKIT_ERR_NOMEM, "out of memory")
                           : EODKIT_OK;
out:
    json_decref(q);
    return rc;
}

/* stac: {items, assets, bbox, datetime, collections, query, max_item_cloud,
   limit, method}. */
static int parse_stac(ek_yaml *y, const ek_recipe *r, ek_modality_recipe *m,
                      yaml_node_t *n)
{
    ek_stac_recipe *st = &m->stac;
    yaml_node_t *v;
    long long limit;
    size_t i;
    int index;
    int rc = ek_yaml_check_map(y, n, "modalities[].stac", stac_keys);

    st->present = 1;
    if (rc == EODKIT_OK) {
        rc = ek_yaml_require(y, n, "modalities[].stac", "items", &v);
    }
    if (rc == EODKIT_OK) {
        rc = stac_location(y, r, v, &st->items);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_require(y, n, "modalities[].stac", "assets", &v);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_string_list(y, v, "modalities[].stac.assets", &st->assets,
                                 &st->nassets);
    }
    if (rc == EODKIT_OK && st->nassets == 0) {
        rc = ek_yaml_fail(y, v, "modalities[].stac.assets: the list is empty");
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "bbox")) != NULL) {
        if (v->type != YAML_SEQUENCE_NODE || ek_yaml_seq_len(v) != 4) {
            rc = ek_yaml_fail(y, v,
                              "modalities[].stac.bbox: expected [west, south, east, "
                              "north] in degrees");
        }
        for (i = 0; i < 4 && rc == EODKIT_OK; i++) {
            rc = ek_yaml_number(y, ek_yaml_seq_item(y, v, i), "modalities[].stac.bbox",
                                &st->bbox[i]);
        }
        st->has_bbox = 1;
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "datetime", "modalities[].stac.datetime",
                                &st->datetime);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "collections")) != NULL) {
        rc = ek_yaml_string_list(y, v, "modalities[].stac.collections",
                                 &st->collections, &st->ncollections);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "query")) != NULL) {
        rc = parse_stac_query(y, st, v);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "max_item_cloud")) != NULL) {
        rc = ek_yaml_number(y, v, "modalities[].stac.max_item_cloud", &st->max_cloud);
        if (rc == EODKIT_OK && !(st->max_cloud >= 0 && st->max_cloud <= 100)) {
            rc = ek_yaml_fail(y, v,
                              "modalities[].stac.max_item_cloud: expected a percentage "
                              "(eo:cloud_cover) from 0 to 100");
        }
        st->has_max_cloud = 1;
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "limit")) != NULL) {
        rc = ek_yaml_int(y, v, "modalities[].stac.limit", 1, 10000, &limit);
        st->limit = (int)limit;
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "method")) != NULL) {
        rc = ek_yaml_choice(y, v, "modalities[].stac.method", stac_methods, &index);
        st->post = index == 1;
    }
    return rc;
}

static int parse_time_bound(ek_yaml *y, yaml_node_t *map, const char *key,
                            int end_of_day, int *has, int64_t *value)
{
    yaml_node_t *n = ek_yaml_get(y, map, key);
    const char *t = ek_yaml_text(n);

    if (n == NULL) {
        return EODKIT_OK;
    }
    if (t == NULL || ek_time_parse_iso(t, end_of_day, value) != 0) {
        return ek_yaml_fail(
            y, n,
            "modalities[].time.%s: expected a date such as 2017-06-01 or "
            "2017-06-01T10:30:00Z",
            key);
    }
    *has = 1;
    return EODKIT_OK;
}

/* One period of a pair (time.before or time.after, KEY): {from, to}. With
   END (after), `from` is required; without (before), `to`. */
static int parse_period(ek_yaml *y, yaml_node_t *time, const char *key, int end,
                        ek_period *p)
{
    char what[48];
    yaml_node_t *n;
    int has_from = 0, has_to = 0, rc;

    snprintf(what, sizeof what, "modalities[].time.%s", key);
    rc = ek_yaml_require(y, time, "modalities[].time", key, &n);
    if (rc == EODKIT_OK) {
        rc = ek_yaml_check_map(y, n, what, period_keys);
    }
    p->mark = rc == EODKIT_OK ? ek_yaml_mark(n) : p->mark;
    p->from = INT64_MIN;
    p->to = INT64_MAX;
    if (rc == EODKIT_OK) {
        rc = parse_time_bound(y, n, "from", 0, &has_from, &p->from);
    }
    if (rc == EODKIT_OK) {
        rc = parse_time_bound(y, n, "to", 1, &has_to, &p->to);
    }
    if (rc == EODKIT_OK && (end ? !has_from : !has_to)) {
        rc = ek_yaml_fail(y, n,
                          "%s: needs '%s' (the %s must %s, so that every "
                          "acquisition belongs to one of them)",
                          what, end ? "from" : "to",
                          end ? "after period" : "before period",
                          end ? "start after the before period ends"
                              : "end before the after period starts");
    }
    if (rc == EODKIT_OK && p->from > p->to) {
        rc = ek_yaml_fail(y, n, "%s: 'from' is after 'to'", what);
    }
    return rc;
}

/* before and after of time N are only for mode: pair. */
static int refuse_periods(ek_yaml *y, yaml_node_t *n)
{
    yaml_node_t *v = ek_yaml_get(y, n, "before");

    if (v == NULL) {
        v = ek_yaml_get(y, n, "after");
    }
    return v == NULL ? EODKIT_OK
                     : ek_yaml_fail(y, v,
                                    "modalities[].time: 'before' and 'after' are only "
                                    "used with 'mode: pair'");
}

/* mode: pair: before and after periods; no count, from or to. */
static int parse_pair(ek_yaml *y, ek_time_recipe *t, yaml_node_t *n)
{
    static const char *const refused[] = {"count", "from", "to"};
    yaml_node_t *v;
    size_t i;
    int rc = EODKIT_OK;

    for (i = 0; i < sizeof refused / sizeof *refused && rc == EODKIT_OK; i++) {
        v = ek_yaml_get(y, n, refused[i]);
        if (v != NULL) {
            rc = ek_yaml_fail(y, v,
                              "modalities[].time.%s: not used with 'mode: pair' (give "
                              "the 'before' and 'after' periods)",
                              refused[i]);
        }
    }
    t->pair = 1;
    t->count = 2;
    if (rc == EODKIT_OK) {
        rc = parse_period(y, n, "before", 0, &t->periods[0]);
    }
    if (rc == EODKIT_OK) {
        rc = parse_period(y, n, "after", 1, &t->periods[1]);
    }
    if (rc == EODKIT_OK && t->periods[0].to >= t->periods[1].from) {
        rc = ek_yaml_fail(y, ek_yaml_get(y, n, "after"),
                          "modalities[].time.after: starts before the 'before' period "
                          "ends");
    }
    return rc;
}

static int parse_time(ek_yaml *y, ek_modality_recipe *m, yaml_node_t *n)
{
    ek_time_recipe *t = &m->time;
    yaml_node_t *v;
    long long count;
    int index = 0;
    int rc = ek_yaml_check_map(y, n, "modalities[].time", time_keys);

    t->mark = ek_yaml_mark(n);
    if (rc == EODKIT_OK) {
        rc = ek_yaml_require(y, n, "modalities[].time", "mode", &v);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_choice(y, v, "modalities[].time.mode", time_modes, &index);
        t->mode = index == 0 ? EK_TIME_MOSAIC : EK_TIME_STACK;
    }
    t->count = 1;
    if (rc == EODKIT_OK && index != 2) {
        rc = refuse_periods(y, n);
    }
    if (rc == EODKIT_OK && index == 2) {
        rc = parse_pair(y, t, n);
    } else if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "count")) != NULL) {
        if (t->mode != EK_TIME_STACK) {
            rc = ek_yaml_fail(y, v,
                              "modalities[].time.count: only used with 'mode: stack'");
        } else {
            rc = ek_yaml_int(y, v, "modalities[].time.count", 1, 1024, &count);
            t->count = (int)count;
        }
    } else if (rc == EODKIT_OK && t->mode == EK_TIME_STACK) {
        rc =
            ek_yaml_fail(y, n,
                         "modalities[].time: 'mode: stack' needs 'count' (acquisitions "
                         "per chip)");
    }
    if (rc == EODKIT_OK) {
        rc = parse_time_bound(y, n, "from", 0, &t->has_from, &t->from);
    }
    if (rc == EODKIT_OK) {
        rc = parse_time_bound(y, n, "to", 1, &t->has_to, &t->to);
    }
    if (rc == EODKIT_OK && t->has_from && t->has_to && t->from > t->to) {
        rc = ek_yaml_fail(y, n, "modalities[].time: 'from' is after 'to'");
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "pattern", "modalities[].time.pattern",
                                &t->pattern);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "format", "modalities[].time.format", &t->format);
    }
    if (rc == EODKIT_OK && t->format != NULL && t->pattern == NULL) {
        rc = ek_yaml_fail(y, n, "modalities[].time.format: needs 'pattern'");
    }
    return rc;
}

static int parse_mask(ek_yaml *y, const ek_recipe *r, ek_modality_recipe *m,
                      yaml_node_t *n)
{
    ek_mask_recipe *mk = &m->mask;
    yaml_node_t *v;
    long long band;
    size_t i;
    int rc = ek_yaml_check_map(y, n, "modalities[].mask", mask_keys);

    mk->present = 1;
    mk->mark = ek_yaml_mark(n);
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "band")) != NULL) {
        rc = ek_yaml_int(y, v, "modalities[].mask.band", 1, 65535, &band);
        mk->band = (int)band;
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "values")) != NULL) {
        size_t len = v->type == YAML_SEQUENCE_NODE ? ek_yaml_seq_len(v) : 1;

        mk->values = ek_calloc(y->ctx, len, sizeof *mk->values);
        rc = mk->values == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        for (i = 0; i < len && rc == EODKIT_OK; i++) {
            yaml_node_t *item =
                v->type == YAML_SEQUENCE_NODE ? ek_yaml_seq_item(y, v, i) : v;

            rc = ek_yaml_number(y, item, "modalities[].mask.values", &mk->values[i]);
            mk->nvalues = i + 1;
        }
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "polygons")) != NULL) {
        rc = ek_yaml_path(y, r->dir, v, "modalities[].mask.polygons", &mk->polygons);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "time_field", "modalities[].mask.time_field",
                                &mk->time_field);
    }
    if (rc == EODKIT_OK && (mk->band != 0) == (mk->polygons != NULL)) {
        rc = ek_yaml_fail(y, n,
                          "modalities[].mask: give either 'band' (a band of the "
                          "modality's files) or 'polygons' (a vector file)");
    }
    if (rc == EODKIT_OK && mk->band == 0 && mk->values != NULL) {
        rc = ek_yaml_fail(y, n, "modalities[].mask.values: only used with 'band'");
    }
    if (rc == EODKIT_OK && mk->time_field != NULL && mk->polygons == NULL) {
        rc = ek_yaml_fail(y, n,
                          "modalities[].mask.time_field: only used with 'polygons'");
    }
    if (rc == EODKIT_OK && mk->band != 0 && m->band_files != NULL) {
        rc = ek_yaml_fail(y, n,
                          "modalities[].mask.band: not available with band_files (each "
                          "band has its own files); use 'polygons'");
    }
    return rc;
}

static int parse_sar(ek_yaml *y, ek_modality_recipe *m, yaml_node_t *n)
{
    ek_sar_recipe *s = &m->sar;
    yaml_node_t *v;
    size_t i;
    int index;
    int rc = ek_yaml_check_map(y, n, "modalities[].sar", sar_keys);

    if (rc == EODKIT_OK && strcmp(m->kind, "sar") != 0) {
        rc = ek_yaml_fail(y, n, "modalities[].sar: only for 'kind: sar'");
    }
    if (rc == EODKIT_OK) {
        rc = opt_choice(y, n, "frequency_band", "modalities[].sar.frequency_band",
                        frequency_bands, &s->frequency_band);
    }
    if (rc == EODKIT_OK) {
        rc =
            ek_yaml_opt_string(y, n, "instrument_mode",
                               "modalities[].sar.instrument_mode", &s->instrument_mode);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "product_type", "modalities[].sar.product_type",
                                &s->product_type);
    }
    if (rc == EODKIT_OK) {
        rc = opt_choice(y, n, "scale", "modalities[].sar.scale", scales, &s->scale);
    }
    if (rc == EODKIT_OK && s->scale != NULL && strcmp(s->scale, "db") == 0 &&
        m->complex != EK_COMPLEX_REFUSE) {
        rc = ek_yaml_fail(y, ek_yaml_get(y, n, "scale"),
                          "modalities[].sar.scale: 'db' says the files hold decibels, "
                          "but 'complex' stores amplitude or intensity (linear); use "
                          "'scale: linear'");
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "polarizations")) != NULL) {
        rc = ek_yaml_string_list(y, v, "modalities[].sar.polarizations",
                                 &s->polarizations, &s->npolarizations);
        for (i = 0; i < s->npolarizations && rc == EODKIT_OK; i++) {
            yaml_node_t *item =
                v->type == YAML_SEQUENCE_NODE ? ek_yaml_seq_item(y, v, i) : v;

            rc = ek_yaml_choice(y, item, "modalities[].sar.polarizations",
                                polarizations, &index);
        }
    }
    return rc;
}

/* georeference: a method word, or {method, order, dem, height}. */
static int parse_georeference(ek_yaml *y, const ek_recipe *r, ek_modality_recipe *m,
                              yaml_node_t *n)
{
    ek_georef_recipe *g = &m->georef;
    yaml_node_t *v = n;
    long long order;
    int index, rc = EODKIT_OK;

    g->mark = ek_yaml_mark(n);
    if (n->type == YAML_MAPPING_NODE) {
        rc = ek_yaml_check_map(y, n, "modalities[].georeference", georef_keys);
        if (rc == EODKIT_OK) {
            rc = ek_yaml_require(y, n, "modalities[].georeference", "method", &v);
        }
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_choice(y, v, "modalities[].georeference.method", georef_methods,
                            &index);
        g->method = (ek_georef_method)index;
    }
    if (rc != EODKIT_OK) {
        return rc;
    }
    v = n->type == YAML_MAPPING_NODE ? ek_yaml_get(y, n, "order") : NULL;
    if (v != NULL && g->method != EK_GEOREF_GCP) {
        return ek_yaml_fail(y, v,
                            "modalities[].georeference.order: only with 'method: "
                            "gcp'");
    }
    if (v == NULL && g->method == EK_GEOREF_GCP) {
        return ek_yaml_fail(y, n,
                            "modalities[].georeference: 'method: gcp' needs 'order' "
                            "(1, 2 or 3: the polynomial's order)");
    }
    if (v != NULL) {
        rc = ek_yaml_int(y, v, "modalities[].georeference.order", 1, 3, &order);
        g->order = (int)order;
    }
    if (n->type != YAML_MAPPING_NODE) {
        return rc;
    }
    if (rc == EODKIT_OK && g->method != EK_GEOREF_RPC &&
        ((v = ek_yaml_get(y, n, "dem")) != NULL ||
         (v = ek_yaml_get(y, n, "height")) != NULL)) {
        rc = ek_yaml_fail(y, v,
                          "modalities[].georeference: 'dem' and 'height' are only "
                          "for 'method: rpc'");
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "dem")) != NULL) {
        char *raw = NULL;

        rc = ek_yaml_string(y, v, "modalities[].georeference.dem", &raw);
        if (rc == EODKIT_OK) {
            g->dem = ek_name_resolve(y->ctx, r->dir, raw);
            rc = g->dem == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
        }
        free(raw);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "height")) != NULL) {
        rc = ek_yaml_number(y, v, "modalities[].georeference.height", &g->height);
        g->has_height = 1;
    }
    return rc;
}

/* name, kind, platform, sensor, description. */
static int parse_identity(ek_yaml *y, ek_modality_recipe *m, yaml_node_t *n)
{
    yaml_node_t *v;
    int rc = ek_yaml_require(y, n, "modalities[]", "name", &v);

    if (rc == EODKIT_OK) {
        rc = ek_yaml_string(y, v, "modalities[].name", &m->name);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_check_name(y, v, "modalities[].name", m->name);
    }
    if (rc == EODKIT_OK &&
        (strcasecmp(m->name, "label") == 0 || strcasecmp(m->name, "labels") == 0 ||
         strcasecmp(m->name, EK_CHANGE_CLASSES_ARRAY) == 0)) {
        rc = ek_yaml_fail(y, v, "modalities[].name: '%s' is reserved for the labels",
                          m->name);
    }
    m->kind = ek_strdup(y->ctx, "other");
    if (rc == EODKIT_OK && m->kind == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    if (rc == EODKIT_OK) {
        rc = opt_choice(y, n, "kind", "modalities[].kind", kinds, &m->kind);
    }
    if (rc == EODKIT_OK) {
        rc = opt_choice(y, n, "platform", "modalities[].platform", platforms,
                        &m->platform);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "sensor", "modalities[].sensor", &m->sensor);
    }
    if (rc == EODKIT_OK) {
        rc = ek_yaml_opt_string(y, n, "description", "modalities[].description",
                                &m->description);
    }
    return rc;
}

/* band_names (node N, a scalar or a list) of M, checked. */
static int check_band_name_list(ek_yaml *y, ek_modality_recipe *m, yaml_node_t *n)
{
    yaml_node_t **nodes = ek_calloc(y->ctx, m->nband_names, sizeof *nodes);
    size_t i;
    int rc;

    if (nodes == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < m->nband_names; i++) {
        nodes[i] = n->type == YAML_SEQUENCE_NODE ? ek_yaml_seq_item(y, n, i) : n;
    }
    rc = check_band_names(y, "modalities[].band_names", m->band_names, nodes,
                          m->nband_names);
    free(nodes);
    return rc;
}

/* files or files_from (+ bands), band_files, or stac; band_names. */
static int parse_inputs(ek_yaml *y, ek_recipe *r, ek_modality_recipe *m, yaml_node_t *n)
{
    yaml_node_t *files = ek_yaml_get(y, n, "files");
    yaml_node_t *files_from = ek_yaml_get(y, n, "files_from");
    yaml_node_t *band_files = ek_yaml_get(y, n, "band_files");
    yaml_node_t *stac = ek_yaml_get(y, n, "stac");
    yaml_node_t *v;
    size_t nbands;
    int rc = EODKIT_OK;

    if ((files != NULL) + (files_from != NULL) + (band_files != NULL) +
            (stac != NULL) !=
        1) {
        return ek_yaml_fail(
            y, n,
            "modalities[]: give one of 'files' (bands read together), 'files_from' "
            "(a text file listing them), 'band_files' (one set of files per band) or "
            "'stac' (assets of STAC items)");
    }
    if (stac != NULL) {
        m->files_mark = ek_yaml_mark(stac);
        rc = parse_stac(y, r, m, stac);
    } else if (files != NULL) {
        m->files_mark = ek_yaml_mark(files);
        rc = parse_patterns(y, r, files, "modalities[].files", &m->patterns,
                            &m->npatterns);
    } else if (files_from != NULL) {
        m->files_mark = ek_yaml_mark(files_from);
        rc = parse_files_from(y, r, m, files_from);
    } else {
        m->files_mark = ek_yaml_mark(band_files);
        rc = parse_band_files(y, r, m, band_files);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "bands")) != NULL) {
        rc = band_files != NULL
                 ? ek_yaml_fail(y, v,
                                "modalities[].bands: with band_files, give each "
                                "entry's 'band'")
             : stac != NULL ? ek_yaml_fail(y, v,
                                           "modalities[].bands: with stac, every band "
                                           "of each asset is read; list the assets "
                                           "in stac.assets")
                            : parse_bands(y, m, v);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "band_names")) != NULL) {
        if (band_files != NULL) {
            return ek_yaml_fail(y, v,
                                "modalities[].band_names: with band_files, each entry "
                                "has its 'name'");
        }
        rc = ek_yaml_string_list(y, v, "modalities[].band_names", &m->band_names,
                                 &m->nband_names);
        if (rc == EODKIT_OK) {
            rc = check_band_name_list(y, m, v);
        }
        nbands = m->nbands;
        if (rc == EODKIT_OK && m->bands != NULL && m->nband_names != nbands) {
            rc = ek_yaml_fail(y, v, "modalities[].band_names: %zu names for %zu bands",
                              m->nband_names, nbands);
        }
    }
    return rc;
}

/* nodata: a number, or NaN (nan, NaN, NAN, or YAML's .nan). Whether the
   modality's data type holds it is checked once the files are known. */
static int parse_nodata(ek_yaml *y, yaml_node_t *n, double *out)
{
    static const char *const nan_words[] = {"nan",  "NaN",  "NAN",
                                            ".nan", ".NaN", ".NAN"};
    const char *t = ek_yaml_text(n);
    size_t i;

    for (i = 0; t != NULL && i < sizeof nan_words / sizeof nan_words[0]; i++) {
        if (strcmp(t, nan_words[i]) == 0) {
            *out = NAN;
            return EODKIT_OK;
        }
    }
    return ek_yaml_number(y, n, "modalities[].nodata", out);
}

int ek_recipe_parse_modality(ek_yaml *y, ek_recipe *r, ek_modality_recipe *m,
                             yaml_node_t *n)
{
    yaml_node_t *v;
    int index;
    int rc;

    m->mark = ek_yaml_mark(n);
    m->resampling = GRA_NearestNeighbour;
    m->required = 1;
    rc = ek_yaml_check_map(y, n, "modalities[]", modality_keys);
    if (rc == EODKIT_OK) {
        rc = parse_identity(y, m, n);
    }
    if (rc == EODKIT_OK) {
        rc = parse_inputs(y, r, m, n);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "resampling")) != NULL) {
        rc =
            ek_recipe_parse_resampling(y, v, "modalities[].resampling", &m->resampling);
        m->has_resampling = 1;
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "nodata")) != NULL) {
        rc = parse_nodata(y, v, &m->nodata);
        m->has_nodata = 1;
        m->nodata_mark = ek_yaml_mark(v);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "required")) != NULL) {
        rc = ek_yaml_bool(y, v, "modalities[].required", &m->required);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "time")) != NULL) {
        rc = parse_time(y, m, v);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "mask")) != NULL) {
        rc = parse_mask(y, r, m, v);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "complex")) != NULL) {
        rc = ek_yaml_choice(y, v, "modalities[].complex", complex_words, &index);
        m->complex = index == 0 ? EK_COMPLEX_AMPLITUDE : EK_COMPLEX_INTENSITY;
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "sar")) != NULL) {
        rc = parse_sar(y, m, v);
    }
    if (rc == EODKIT_OK && (v = ek_yaml_get(y, n, "georeference")) != NULL) {
        rc = parse_georeference(y, r, m, v);
    }
    if (rc == EODKIT_OK && m->stac.present && m->time.pattern != NULL) {
        rc = ek_yaml_fail(y, ek_yaml_get(y, ek_yaml_get(y, n, "time"), "pattern"),
                          "modalities[].time.pattern: with stac, each item's "
                          "datetime is the acquisition time");
    }
    if (rc == EODKIT_OK && m->stac.present && m->mask.band != 0) {
        rc = ek_yaml_fail(y, ek_yaml_get(y, n, "mask"),
                          "modalities[].mask.band: not available with stac (each "
                          "asset has its own files); use 'polygons'");
    }
    return rc;
}

void ek_recipe_free_modality(ek_modality_recipe *m)
{
    size_t i;

    free(m->name);
    free(m->kind);
    free(m->sensor);
    free(m->platform);
    free(m->description);
    ek_fs_free_list(m->patterns, m->npatterns);
    free(m->bands);
    ek_fs_free_list(m->band_names, m->nband_names);
    for (i = 0; i < m->nband_files; i++) {
        free(m->band_files[i].name);
        ek_fs_free_list(m->band_files[i].patterns, m->band_files[i].npatterns);
    }
    free(m->band_files);
    free(m->stac.items);
    ek_fs_free_list(m->stac.assets, m->stac.nassets);
    free(m->stac.datetime);
    ek_fs_free_list(m->stac.collections, m->stac.ncollections);
    free(m->stac.query);
    free(m->time.pattern);
    free(m->time.format);
    free(m->mask.values);
    free(m->mask.polygons);
    free(m->mask.time_field);
    free(m->sar.frequency_band);
    free(m->sar.instrument_mode);
    free(m->sar.product_type);
    free(m->sar.scale);
    ek_fs_free_list(m->sar.polarizations, m->sar.npolarizations);
    free(m->georef.dem);
}
