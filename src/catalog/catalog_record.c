/*
** Catalog: the fields of a dataset and their canonical text. Every source
** (CSV cell, JSON value, STAC property) goes through ek_record_set, so the
** same value always has the same text and a re-import compares equal.
*/
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ek_catalog.h"

const ek_field ek_fields[EK_NFIELDS] = {
    {"id", EK_KIND_TEXT, 1, 0, 0},
    {"name", EK_KIND_TEXT, 1, 0, 0},
    {"aliases", EK_KIND_TEXT, 1, 0, 0},
    {"year", EK_KIND_INT, 1, 1900, 2100},
    {"task", EK_KIND_LIST, 1, 0, 0},
    {"platform", EK_KIND_LIST, 1, 0, 0},
    {"sensor", EK_KIND_TEXT, 1, 0, 0},
    {"modality", EK_KIND_LIST, 1, 0, 0},
    {"num_images", EK_KIND_INT, 1, 0, 1e15},
    {"image_size_px", EK_KIND_TEXT, 1, 0, 0},
    {"size_measure_px", EK_KIND_INT, 1, 0, 1e18},
    {"resolution_m", EK_KIND_TEXT, 1, 0, 0},
    {"resolution_min_m", EK_KIND_REAL, 1, 0, 1e7},
    {"resolution_max_m", EK_KIND_REAL, 1, 0, 1e7},
    {"bands", EK_KIND_TEXT, 1, 0, 0},
    {"num_classes", EK_KIND_INT, 1, 0, 1e9},
    {"volume_mb", EK_KIND_REAL, 1, 0, 1e15},
    {"region", EK_KIND_TEXT, 1, 0, 0},
    {"continent", EK_KIND_LIST, 1, 0, 0},
    {"license", EK_KIND_TEXT, 1, 0, 0},
    {"url", EK_KIND_TEXT, 1, 0, 0},
    {"source", EK_KIND_TEXT, 1, 0, 0},
    {"provenance", EK_KIND_TEXT, 1, 0, 0},
    {"notes", EK_KIND_TEXT, 1, 0, 0},
    {"description", EK_KIND_TEXT, 0, 0, 0},
    {"bbox", EK_KIND_BBOX, 0, 0, 0},
    {"detail", EK_KIND_JSON, 0, 0, 0},
};

int ek_field_find(const char *name)
{
    int f;

    for (f = 0; f < EK_NFIELDS; f++) {
        if (strcmp(ek_fields[f].name, name) == 0) {
            return f;
        }
    }
    return -1;
}

void ek_format_real(double v, char *buf, size_t size)
{
    const char *e;
    int p;

    for (p = 1; p <= 17; p++) {
        snprintf(buf, size, "%.*g", p, v);
        if (strtod(buf, NULL) == v) {
            break;
        }
    }
    /* "121000" reads better than "1.21e+05"; keep the digits %g chose. */
    e = strchr(buf, 'e');
    if (e != NULL && fabs(v) >= 1e-6 && fabs(v) < 1e16) {
        int decimals = p - 1 - atoi(e + 1);

        snprintf(buf, size, "%.*f", decimals < 0 ? 0 : decimals, v);
    }
}

void ek_format_si(double v, char *buf, size_t size)
{
    static const char *const suffix[] = {"", "k", "M", "G", "T", "P", "E"};
    int k = 0;

    while (fabs(v) >= 1000 && k < 6) {
        v /= 1000, k++;
    }
    snprintf(buf, size, "%.3g%s", v, suffix[k]);
}

/* Nonzero when S is valid UTF-8 without control characters (tab and line
   breaks allowed only when MULTILINE). */
static int clean_text(const char *s, int multiline)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p != '\0') {
        int extra, i;
        unsigned cp;

        if (*p < 0x80) {
            if (*p < 0x20 || *p == 0x7f) {
                if (!multiline || (*p != '\t' && *p != '\n' && *p != '\r')) {
                    return 0;
                }
            }
            p++;
            continue;
        }
        if ((*p & 0xe0) == 0xc0) {
            extra = 1, cp = *p & 0x1f;
        } else if ((*p & 0xf0) == 0xe0) {
            extra = 2, cp = *p & 0x0f;
        } else if ((*p & 0xf8) == 0xf0) {
            extra = 3, cp = *p & 0x07;
        } else {
            return 0;
        }
        for (i = 1; i <= extra; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF. */
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
        p += extra + 1;
    }
    return 1;
}

/* Copy of the N bytes at S without surrounding white space; NULL on OOM. */
static char *trimmed(eodkit_ctx *ctx, const char *s, size_t n)
{
    char *out;

    while (n > 0 && isspace((unsigned char)*s)) {
        s++, n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    out = ek_calloc(ctx, n + 1, 1);
    if (out != NULL) {
        memcpy(out, s, n);
    }
    return out;
}

/* Parse S as a whole number: 0 on success. */
static int parse_real(const char *s, double *v)
{
    char *end;

    if (strpbrk(s, "xX") != NULL) {
        return -1; /* strtod would take hex floats */
    }
    errno = 0;
    *v = strtod(s, &end);
    return (end == s || *end != '\0' || errno == ERANGE || !isfinite(*v)) ? -1 : 0;
}

static int canon_int(eodkit_ctx *ctx, const ek_field *fd, const char *s, char **out)
{
    const char *p = s;
    char *end;
    long long v;

    if (*p == '+' || *p == '-') {
        p++;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (!isdigit((unsigned char)*p) || *end != '\0' || errno == ERANGE) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "bad number '%s' in %s (a whole number)",
                        s, fd->name);
    }
    if ((double)v < fd->min || (double)v > fd->max) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s %s is out of range (%.0f to %.0f)",
                        fd->name, s, fd->min, fd->max);
    }
    *out = ek_asprintf(ctx, "%lld", v);
    return *out == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

static int canon_real(eodkit_ctx *ctx, const ek_field *fd, const char *s, char **out)
{
    char buf[40];
    double v;

    if (parse_real(s, &v) != 0) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "bad number '%s' in %s", s, fd->name);
    }
    if (v < fd->min || v > fd->max) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s %s is out of range (%g to %g)",
                        fd->name, s, fd->min, fd->max);
    }
    ek_format_real(v, buf, sizeof buf);
    *out = ek_strdup(ctx, buf);
    return *out == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

/* Nonzero when the ';'-joined LIST holds ITEM, ignoring case. */
static int list_has(const char *list, const char *item)
{
    size_t len = strlen(item);

    while (list != NULL && *list != '\0') {
        size_t n = strcspn(list, ";");

        if (n == len && strncasecmp(list, item, len) == 0) {
            return 1;
        }
        list = list[n] == ';' ? list + n + 1 : NULL;
    }
    return 0;
}

/* Items trimmed, empty ones dropped, repeats (ignoring case) dropped. */
static int canon_list(eodkit_ctx *ctx, const char *s, char **out)
{
    ek_strbuf b;
    int rc;

    ek_strbuf_init(&b, ctx);
    while (b.status == EODKIT_OK) {
        size_t n = strcspn(s, ";");
        char *item = trimmed(ctx, s, n);

        if (item == NULL) {
            ek_strbuf_free(&b);
            return EODKIT_ERR_NOMEM;
        }
        if (item[0] != '\0' && !list_has(b.data, item)) {
            ek_strbuf_puts(&b, b.len > 0 ? ";" : "");
            ek_strbuf_puts(&b, item);
        }
        free(item);
        if (s[n] == '\0') {
            break;
        }
        s += n + 1;
    }
    rc = ek_strbuf_detach(&b, out);
    if (rc == EODKIT_OK && (*out)[0] == '\0') {
        free(*out);
        *out = NULL;
    }
    return rc;
}

static int canon_bbox(eodkit_ctx *ctx, const char *s, char **out)
{
    static const double limit[4] = {180, 90, 180, 90};
    char *copy = ek_strdup(ctx, s), *tok, *save = NULL, buf[4][40];
    double v[4];
    int i = 0, rc = EODKIT_OK;

    if (copy == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (tok = strtok_r(copy, ", ", &save); tok != NULL;
         tok = strtok_r(NULL, ", ", &save)) {
        if (i == 4 || parse_real(tok, &v[i]) != 0 || fabs(v[i]) > limit[i]) {
            i = 5;
            break;
        }
        i++;
    }
    free(copy);
    if (i != 4 || v[1] > v[3]) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "bad bbox '%s' (west,south,east,north in degrees)", s);
    }
    for (i = 0; i < 4; i++) {
        ek_format_real(v[i], buf[i], sizeof buf[i]);
    }
    *out = ek_asprintf(ctx, "%s,%s,%s,%s", buf[0], buf[1], buf[2], buf[3]);
    if (*out == NULL) {
        rc = EODKIT_ERR_NOMEM;
    }
    return rc;
}

static int canon_json(eodkit_ctx *ctx, const ek_field *fd, const char *s, char **out)
{
    json_error_t err;
    json_t *j = json_loads(s, 0, &err);

    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s is not a JSON object", fd->name);
    }
    *out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    if (*out == NULL) {
        return ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory writing %s", fd->name);
    }
    return EODKIT_OK;
}

int ek_record_set(eodkit_ctx *ctx, ek_record *r, int f, const char *text)
{
    const ek_field *fd = &ek_fields[f];
    char *t = NULL, *canon = NULL;
    int rc = EODKIT_OK;

    if (text != NULL) {
        t = trimmed(ctx, text, strlen(text));
        if (t == NULL) {
            return EODKIT_ERR_NOMEM;
        }
    }
    if (t != NULL && t[0] != '\0') {
        int multiline = fd->kind == EK_KIND_TEXT && f != EK_F_ID && f != EK_F_NAME;

        if (!clean_text(t, multiline || fd->kind == EK_KIND_JSON)) {
            rc = ek_error(ctx, EODKIT_ERR_INPUT,
                          "%s is not valid UTF-8 text or holds control characters",
                          fd->name);
            goto out;
        }
        switch (fd->kind) {
        case EK_KIND_TEXT:
            canon = t;
            t = NULL;
            break;
        case EK_KIND_INT:
            rc = canon_int(ctx, fd, t, &canon);
            break;
        case EK_KIND_REAL:
            rc = canon_real(ctx, fd, t, &canon);
            break;
        case EK_KIND_LIST:
            rc = canon_list(ctx, t, &canon);
            break;
        case EK_KIND_BBOX:
            rc = canon_bbox(ctx, t, &canon);
            break;
        case EK_KIND_JSON:
            rc = canon_json(ctx, fd, t, &canon);
            break;
        }
        if (rc != EODKIT_OK) {
            goto out;
        }
    }
    free(r->value[f]);
    r->value[f] = canon;
    r->given[f] = 1;
out:
    free(t);
    return rc;
}

/* Like ek_record_set from a JSON value: null, string, number, an array of
   strings (LIST), 4 numbers (BBOX) or an object (JSON). */
static int set_json(eodkit_ctx *ctx, ek_record *r, int f, json_t *v)
{
    const ek_field *fd = &ek_fields[f];
    char buf[40], *text = NULL;
    ek_strbuf b;
    size_t i;
    json_t *item;
    int rc;

    if (v == NULL || json_is_null(v)) {
        return ek_record_set(ctx, r, f, NULL);
    }
    if (json_is_string(v)) {
        return ek_record_set(ctx, r, f, json_string_value(v));
    }
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return ek_record_set(ctx, r, f, buf);
    }
    if (json_is_real(v)) {
        ek_format_real(json_real_value(v), buf, sizeof buf);
        return ek_record_set(ctx, r, f, buf);
    }
    if (json_is_object(v) && fd->kind == EK_KIND_JSON) {
        text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        if (text == NULL) {
            return ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory writing %s",
                            fd->name);
        }
        rc = ek_record_set(ctx, r, f, text);
        free(text);
        return rc;
    }
    if (!json_is_array(v) || (fd->kind != EK_KIND_LIST && fd->kind != EK_KIND_BBOX)) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s has the wrong JSON type", fd->name);
    }
    /* A list of strings, or the 4 numbers of a bbox: joined, then parsed as
       the CSV text would be. */
    ek_strbuf_init(&b, ctx);
    json_array_foreach(v, i, item)
    {
        if (i > 0) {
            ek_strbuf_puts(&b, fd->kind == EK_KIND_LIST ? ";" : ",");
        }
        if (fd->kind == EK_KIND_LIST && json_is_string(item) &&
            strchr(json_string_value(item), ';') == NULL) {
            ek_strbuf_puts(&b, json_string_value(item));
        } else if (fd->kind == EK_KIND_BBOX && json_is_number(item)) {
            ek_format_real(json_number_value(item), buf, sizeof buf);
            ek_strbuf_puts(&b, buf);
        } else {
            ek_strbuf_free(&b);
            return ek_error(ctx, EODKIT_ERR_INPUT, "%s: bad item %zu", fd->name, i + 1);
        }
    }
    rc = ek_strbuf_detach(&b, &text);
    if (rc == EODKIT_OK) {
        rc = ek_record_set(ctx, r, f, text);
    }
    free(text);
    return rc;
}

int ek_record_from_json(eodkit_ctx *ctx, ek_record *r, json_t *o)
{
    const char *key;
    json_t *v;

    json_object_foreach(o, key, v)
    {
        int f = ek_field_find(key), rc;

        if (strcmp(key, "fair") == 0) {
            continue; /* derived by ek_dataset_json, not a fact */
        }
        if (f < 0) {
            return ek_error(ctx, EODKIT_ERR_INPUT, "unknown field '%s'", key);
        }
        rc = set_json(ctx, r, f, v);
        if (rc != EODKIT_OK) {
            return rc;
        }
    }
    return EODKIT_OK;
}

/* A JSON array of the items of list field F of R. */
static json_t *list_json(const ek_record *r, int f)
{
    json_t *a = json_array();
    char item[512];
    size_t i;

    for (i = 0; ek_record_list_item(r, f, i, item, sizeof item); i++) {
        json_array_append_new(a, json_string(item));
    }
    return a;
}

json_t *ek_record_to_json(const ek_record *r)
{
    json_t *o = json_object();
    double bbox[4];
    int f;

    if (o == NULL) {
        return NULL;
    }
    for (f = 0; f < EK_NFIELDS; f++) {
        const char *v = r->value[f];
        json_t *j = NULL;

        if (v == NULL) {
            j = json_null();
        } else {
            switch (ek_fields[f].kind) {
            case EK_KIND_TEXT:
                j = json_string(v);
                break;
            case EK_KIND_INT:
                j = json_integer(strtoll(v, NULL, 10));
                break;
            case EK_KIND_REAL:
                j = json_real(strtod(v, NULL));
                break;
            case EK_KIND_LIST:
                j = list_json(r, f);
                break;
            case EK_KIND_BBOX:
                ek_record_bbox(r, bbox);
                j = json_pack("[f, f, f, f]", bbox[0], bbox[1], bbox[2], bbox[3]);
                break;
            case EK_KIND_JSON:
                j = json_loads(v, 0, NULL);
                break;
            }
        }
        if (j == NULL || json_object_set_new(o, ek_fields[f].name, j) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

void ek_record_clear(ek_record *r)
{
    int f;

    for (f = 0; f < EK_NFIELDS; f++) {
        free(r->value[f]);
    }
    memset(r, 0, sizeof *r);
}

int ek_record_merge(eodkit_ctx *ctx, ek_record *dst, const ek_record *src)
{
    int f;

    for (f = 0; f < EK_NFIELDS; f++) {
        char *copy = NULL;

        if (!src->given[f]) {
            continue;
        }
        if (src->value[f] != NULL) {
            copy = ek_strdup(ctx, src->value[f]);
            if (copy == NULL) {
                return EODKIT_ERR_NOMEM;
            }
        }
        free(dst->value[f]);
        dst->value[f] = copy;
        dst->given[f] = 1;
    }
    return EODKIT_OK;
}

int ek_record_changes(const ek_record *dst, const ek_record *src)
{
    int f;

    for (f = 0; f < EK_NFIELDS; f++) {
        const char *x = dst->value[f], *y = src->value[f];

        if (src->given[f] &&
            ((x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0))) {
            return 1;
        }
    }
    return 0;
}

int ek_record_number(const ek_record *r, int f, double *v)
{
    if (r->value[f] == NULL) {
        return 0;
    }
    *v = strtod(r->value[f], NULL);
    return 1;
}

int ek_record_list_item(const ek_record *r, int f, size_t i, char *buf, size_t size)
{
    const char *p = r->value[f];
    size_t n;

    if (p == NULL) {
        return 0;
    }
    for (; i > 0; i--) {
        p = strchr(p, ';');
        if (p == NULL) {
            return 0;
        }
        p++;
    }
    n = strcspn(p, ";");
    if (n >= size) {
        n = size - 1;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 1;
}

int ek_record_bbox(const ek_record *r, double bbox[4])
{
    const char *p = r->value[EK_F_BBOX];
    char *end;
    int i;

    if (p == NULL) {
        return 0;
    }
    for (i = 0; i < 4; i++) {
        bbox[i] = strtod(p, &end);
        p = *end == ',' ? end + 1 : end;
    }
    return 1;
}
