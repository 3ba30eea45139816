/*
** Catalog: search and show. A query becomes one SQL WHERE clause with bound
** parameters (list fields through their tables, tasks also by synonym and
** word prefix, free text through the FTS5 index); results come as a table,
** JSON with facet counts, or CSV rows.
*/
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ek_catalog.h"

#define MAX_BINDS 16

/* A WHERE clause under construction and the values it binds, in order. */
typedef struct where {
    ek_strbuf sql;
    const char *text[MAX_BINDS]; /* bound as text, or NULL: NUM[] */
    long long num[MAX_BINDS];
    char *owned[MAX_BINDS]; /* texts made here (patterns), freed at the end */
    int n;
} where;

/*
** The names the field gives tasks besides the catalog's own (the review's
** abbreviations, the words of eodkit recipes): a --task that is one of these
** (any case) finds the datasets with exactly that task. doc/cmd/catalog.md
** lists them.
*/
static const struct task_synonym {
    const char *term, *task;
} task_synonyms[] = {
    {"OD", "object detection"},
    {"detection", "object detection"},
    {"CD", "change detection"},
    {"SS", "semantic segmentation"},
    {"SemSeg", "semantic segmentation"},
    {"InstSeg", "instance segmentation"},
    {"scene classification", "classification"},
    {"multilabel", "classification"},
    {"SR", "super-resolution"},
    {NULL, NULL},
};

static const struct sort_key {
    const char *name, *expr;
} sort_keys[] = {
    {"name", "d.name"},
    {"year", "d.year"},
    {"images", "d.num_images"},
    {"size", "d.size_measure_px"},
    {"volume", "d.volume_mb"},
    {"added", "d.pk"},
    {NULL, NULL},
};

/* Add condition SQL (one '?') bound to TEXT (owned by W when OWN). */
static void add_text(where *w, const char *sql, const char *text, int own)
{
    assert(w->n < MAX_BINDS); /* a query has fewer conditions than this */
    ek_strbuf_printf(&w->sql, " AND %s", sql);
    w->text[w->n] = text;
    w->owned[w->n] = own ? (char *)text : NULL;
    w->n++;
}

static void add_num(where *w, const char *sql, long long v)
{
    assert(w->n < MAX_BINDS);
    ek_strbuf_printf(&w->sql, " AND %s", sql);
    w->text[w->n] = NULL;
    w->num[w->n] = v;
    w->owned[w->n] = NULL;
    w->n++;
}

/* The LIKE pattern BEFORE + TEXT + "%" in which TEXT's %, _ and \ stand for
   themselves; NULL when out of memory (*RC says). */
static char *like_pattern(eodkit_ctx *ctx, const char *before, const char *text,
                          int *rc)
{
    ek_strbuf pat;
    char *out = NULL;

    ek_strbuf_init(&pat, ctx);
    ek_strbuf_puts(&pat, before);
    for (; *text != '\0'; text++) {
        if (*text == '%' || *text == '_' || *text == '\\') {
            ek_strbuf_puts(&pat, "\\");
        }
        ek_strbuf_add(&pat, text, 1);
    }
    ek_strbuf_puts(&pat, "%");
    *rc = ek_strbuf_detach(&pat, &out);
    return out;
}

/*
** Condition on the tasks: TASK is a synonym of one task (task_synonyms),
** else it begins a task or a word of one, words being split at spaces and
** hyphens ("segmentation" finds semantic and instance segmentation, "super
** res" super-resolution).
*/
static int add_task(eodkit_ctx *ctx, where *w, const char *task)
{
    const struct task_synonym *syn = task_synonyms;
    char *pattern;
    int rc = EODKIT_OK;

    while (syn->term != NULL && strcasecmp(syn->term, task) != 0) {
        syn++;
    }
    if (syn->term != NULL) {
        add_text(w, "d.pk IN (SELECT dataset FROM dataset_task WHERE value = ?)",
                 syn->task, 0);
        return EODKIT_OK;
    }
    pattern = like_pattern(ctx, "% ", task, &rc);
    if (pattern != NULL) {
        add_text(
            w,
            "d.pk IN (SELECT dataset FROM dataset_task WHERE"
            " ' ' || replace(value, '-', ' ') LIKE replace(?, '-', ' ') ESCAPE '\\')",
            pattern, 1);
    }
    return rc;
}

/* Condition on list field F holding VALUE. */
static void add_list(where *w, int f, const char *value)
{
    char sql[160];

    snprintf(sql, sizeof sql,
             "d.pk IN (SELECT dataset FROM dataset_%s WHERE value = ?)",
             ek_fields[f].name);
    add_text(w, sql, value, 0);
}

/* The FTS5 query for free text: every word, quoted, as a prefix ("sent"
   finds Sentinel); words are runs of ASCII letters and digits and of
   non-ASCII characters, as the unicode61 tokenizer splits them. NULL when
   TEXT has no word. */
static char *fts_query(eodkit_ctx *ctx, const char *text, int *rc)
{
    ek_strbuf b;
    char *out = NULL;
    const char *p = text;

    ek_strbuf_init(&b, ctx);
    while (*p != '\0') {
        const char *start = p;

        while (*p != '\0' && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                              (*p >= '0' && *p <= '9') || (unsigned char)*p >= 0x80)) {
            p++;
        }
        if (p > start) {
            ek_strbuf_printf(&b, "%s\"%.*s\"*", b.len > 0 ? " " : "", (int)(p - start),
                             start);
        } else {
            p++;
        }
    }
    if (b.len == 0) {
        ek_strbuf_free(&b);
        *rc = EODKIT_OK;
        return NULL;
    }
    *rc = ek_strbuf_detach(&b, &out);
    return out;
}

/* Build the WHERE clause of Q into W ("1" AND conditions). */
static int build_where(eodkit_ctx *ctx, const eodkit_catalog_query *q, where *w)
{
    int rc = EODKIT_OK;

    memset(w, 0, sizeof *w);
    ek_strbuf_init(&w->sql, ctx);
    ek_strbuf_puts(&w->sql, "1");
    if (q->text != NULL) {
        char *fts = fts_query(ctx, q->text, &rc);

        if (fts != NULL) {
            add_text(
                w, "d.pk IN (SELECT rowid FROM dataset_fts WHERE dataset_fts MATCH ?)",
                fts, 1);
        }
    }
    if (rc == EODKIT_OK && q->task != NULL) {
        rc = add_task(ctx, w, q->task);
    }
    if (q->platform != NULL) {
        add_list(w, EK_F_PLATFORM, q->platform);
    }
    if (q->modality != NULL) {
        add_list(w, EK_F_MODALITY, q->modality);
    }
    if (q->continent != NULL) {
        add_list(w, EK_F_CONTINENT, q->continent);
    }
    if (rc == EODKIT_OK && q->sensor != NULL) {
        char *pattern = like_pattern(ctx, "%", q->sensor, &rc);

        if (pattern != NULL) {
            add_text(w, "d.sensor LIKE ? ESCAPE '\\'", pattern, 1);
        }
    }
    if (q->license != NULL) {
        add_text(w, "d.license = ? COLLATE NOCASE", q->license, 0);
    }
    if (q->year_min != 0) {
        add_num(w, "d.year >= ?", q->year_min);
    }
    if (q->year_max != 0) {
        add_num(w, "d.year <= ?", q->year_max);
    }
    if (q->min_images > 0) {
        add_num(w, "d.num_images >= ?", q->min_images);
    }
    return rc != EODKIT_OK ? rc : w->sql.status;
}

static void free_where(where *w)
{
    int i;

    for (i = 0; i < w->n; i++) {
        free(w->owned[i]);
    }
    ek_strbuf_free(&w->sql);
}

/* Prepare PREFIX + W's clause + SUFFIX and bind W's values. */
static int prepare(eodkit_ctx *ctx, eodkit_catalog *cat, const char *prefix,
                   const where *w, const char *suffix, sqlite3_stmt **st)
{
    ek_strbuf b;
    char *sql = NULL;
    int i, rc;

    *st = NULL;
    ek_strbuf_init(&b, ctx);
    ek_strbuf_printf(&b, "%s%s%s", prefix, w->sql.data, suffix);
    rc = ek_strbuf_detach(&b, &sql);
    if (rc != EODKIT_OK) {
        return rc;
    }
    if (sqlite3_prepare_v2(cat->db, sql, -1, st, NULL) != SQLITE_OK) {
        rc = ek_catalog_sql_error(ctx, cat, "searching");
    }
    free(sql);
    for (i = 0; rc == EODKIT_OK && i < w->n; i++) {
        if (w->text[i] != NULL) {
            sqlite3_bind_text(*st, i + 1, w->text[i], -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_int64(*st, i + 1, w->num[i]);
        }
    }
    return rc;
}

/* The datasets matching Q, whose WHERE clause (build_where) is W: *PKS
   (free with free()), *N of them after limit and offset, *TOTAL before.
   Bad sort keys are EODKIT_ERR_USAGE. */
static int search_run(eodkit_ctx *ctx, eodkit_catalog *cat,
                      const eodkit_catalog_query *q, const where *w, long long **pks,
                      size_t *n, long long *total)
{
    const struct sort_key *key = &sort_keys[0];
    sqlite3_stmt *st = NULL;
    char suffix[256];
    size_t cap = 0;
    int rc, step = SQLITE_DONE;

    *pks = NULL;
    *n = 0;
    *total = 0;
    if (q->sort != NULL) {
        for (key = sort_keys; key->name != NULL && strcmp(key->name, q->sort) != 0;
             key++) {
        }
        if (key->name == NULL) {
            return ek_error(
                ctx, EODKIT_ERR_USAGE,
                "unknown sort key '%s' (name, year, images, size, volume, added)",
                q->sort);
        }
    }
    rc = prepare(ctx, cat, "SELECT count(*) FROM dataset d WHERE ", w, "", &st);
    if (rc == EODKIT_OK && sqlite3_step(st) == SQLITE_ROW) {
        *total = sqlite3_column_int64(st, 0);
    } else if (rc == EODKIT_OK) {
        rc = ek_catalog_sql_error(ctx, cat, "searching");
    }
    sqlite3_finalize(st);
    st = NULL;
    /* Unknown values sort last whichever the direction. */
    snprintf(suffix, sizeof suffix,
             " ORDER BY %s IS NULL, %s COLLATE NOCASE %s, d.name COLLATE NOCASE, d.pk"
             " LIMIT ? OFFSET ?",
             key->expr, key->expr, q->descending ? "DESC" : "ASC");
    if (rc == EODKIT_OK) {
        rc = prepare(ctx, cat, "SELECT d.pk FROM dataset d WHERE ", w, suffix, &st);
    }
    if (rc == EODKIT_OK) {
        sqlite3_bind_int64(st, w->n + 1, q->limit > 0 ? (sqlite3_int64)q->limit : -1);
        sqlite3_bind_int64(st, w->n + 2, (sqlite3_int64)q->offset);
    }
    while (rc == EODKIT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        rc = ek_grow(ctx, (void **)pks, &cap, *n + 1, sizeof **pks);
        if (rc == EODKIT_OK) {
            (*pks)[(*n)++] = sqlite3_column_int64(st, 0);
        }
    }
    if (rc == EODKIT_OK && step != SQLITE_DONE) {
        rc = ek_catalog_sql_error(ctx, cat, "searching");
    }
    sqlite3_finalize(st);
    if (rc != EODKIT_OK) {
        free(*pks);
        *pks = NULL;
        *n = 0;
    }
    return rc;
}

/* Counts of each value of the list fields among the datasets matching the
   WHERE clause W, one member of OUT per field. */
static int facets(eodkit_ctx *ctx, eodkit_catalog *cat, const where *w, json_t *out)
{
    int f, rc = EODKIT_OK;

    for (f = 0; rc == EODKIT_OK && f < EK_NFIELDS; f++) {
        sqlite3_stmt *st = NULL;
        char prefix[160];
        json_t *list;
        int step = SQLITE_DONE;

        if (ek_fields[f].kind != EK_KIND_LIST) {
            continue;
        }
        list = json_array();
        snprintf(prefix, sizeof prefix,
                 "SELECT v.value, count(*) FROM dataset_%s v WHERE v.dataset IN"
                 " (SELECT d.pk FROM dataset d WHERE ",
                 ek_fields[f].name);
        rc = prepare(ctx, cat, prefix, w,
                     ") GROUP BY v.value ORDER BY count(*) DESC, v.value", &st);
        while (rc == EODKIT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
            json_array_append_new(list,
                                  json_pack("[s, I]", sqlite3_column_text(st, 0),
                                            (json_int_t)sqlite3_column_int64(st, 1)));
        }
        if (rc == EODKIT_OK && step != SQLITE_DONE) {
            rc = ek_catalog_sql_error(ctx, cat, "counting facets");
        }
        sqlite3_finalize(st);
        json_object_set_new(out, ek_fields[f].name, list);
    }
    return rc;
}

json_t *ek_dataset_json(const ek_record *r)
{
    json_t *o = ek_record_to_json(r), *missing = json_array();
    int present[EK_FAIR_NFIELDS], i;
    double score = ek_fair_score(r, present);

    for (i = 0; i < EK_FAIR_NFIELDS; i++) {
        if (!present[i]) {
            json_array_append_new(missing, json_string(ek_fair_fields[i]));
        }
    }
    if (o == NULL || json_object_set_new(o, "fair",
                                         json_pack("{s:f, s:o}", "score", score,
                                                   "missing", missing)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int ek_search_json(eodkit_ctx *ctx, eodkit_catalog *cat, const eodkit_catalog_query *q,
                   json_t **out)
{
    long long *pks = NULL, total = 0;
    size_t n = 0, i;
    ek_record r = {0};
    json_t *root = NULL, *list = json_array(), *facet = json_object();
    where w;
    int rc;

    *out = NULL;
    rc = build_where(ctx, q, &w);
    if (rc == EODKIT_OK) {
        rc = search_run(ctx, cat, q, &w, &pks, &n, &total);
    }
    for (i = 0; rc == EODKIT_OK && i < n; i++) {
        rc = ek_catalog_load(ctx, cat, pks[i], &r);
        if (rc == EODKIT_OK && json_array_append_new(list, ek_dataset_json(&r)) != 0) {
            rc = ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory");
        }
    }
    if (rc == EODKIT_OK) {
        rc = facets(ctx, cat, &w, facet);
    }
    if (rc == EODKIT_OK) {
        root = json_pack("{s:I, s:I, s:O, s:O}", "total", (json_int_t)total, "offset",
                         (json_int_t)q->offset, "datasets", list, "facets", facet);
        rc =
            root == NULL ? ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory") : EODKIT_OK;
    }
    free_where(&w);
    ek_record_clear(&r);
    json_decref(list);
    json_decref(facet);
    free(pks);
    *out = root;
    return rc;
}

/* Append TEXT to B in exactly WIDTH columns (characters, not bytes),
   shortened with "~" when too long. */
static void cell(ek_strbuf *b, const char *text, int width)
{
    int chars = 0;
    const char *p = text != NULL ? text : "";
    const char *cut = NULL;

    for (; *p != '\0'; p++) {
        if (((unsigned char)*p & 0xc0) != 0x80) {
            if (chars == width - 1) {
                cut = p;
            }
            chars++;
        }
    }
    if (chars > width) {
        ek_strbuf_add(b, text, (size_t)(cut - text));
        ek_strbuf_puts(b, "~");
        chars = width;
    } else {
        ek_strbuf_puts(b, text != NULL ? text : "");
    }
    ek_strbuf_printf(b, "%*s", width - chars + 1, "");
}

/* Field F of R times SCALE with an SI suffix ("8.5G"); "" when unknown. */
static void human(char *buf, size_t size, const ek_record *r, int f, double scale)
{
    double v;

    buf[0] = '\0';
    if (ek_record_number(r, f, &v)) {
        ek_format_si(v * scale, buf, size);
    }
}

/* One row of the search table. */
static void table_row(ek_strbuf *b, const ek_record *r)
{
    char size[32], volume[32];

    human(size, sizeof size, r, EK_F_SIZE, 1);
    human(volume, sizeof volume, r, EK_F_VOLUME, 1e6);
    cell(b, r->value[EK_F_ID], 6);
    cell(b, r->value[EK_F_NAME], 28);
    cell(b, r->value[EK_F_YEAR], 4);
    cell(b, r->value[EK_F_TASK], 24);
    cell(b, r->value[EK_F_PLATFORM], 16);
    cell(b, r->value[EK_F_CONTINENT], 16);
    ek_strbuf_printf(b, "%10s %8s %8s\n",
                     r->value[EK_F_NUM_IMAGES] ? r->value[EK_F_NUM_IMAGES] : "", size,
                     volume);
}

int eodkit_catalog_search(eodkit_ctx *ctx, eodkit_catalog *cat,
                          const eodkit_catalog_query *q, eodkit_format format,
                          char **out)
{
    long long *pks = NULL, total = 0;
    size_t n = 0, i;
    ek_record r = {0};
    ek_strbuf b;
    json_t *j = NULL;
    where w;
    int rc;

    *out = NULL;
    if (format == EODKIT_FORMAT_JSON) {
        rc = ek_search_json(ctx, cat, q, &j);
        if (rc == EODKIT_OK) {
            *out = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
            rc = *out == NULL ? ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory")
                              : EODKIT_OK;
        }
        json_decref(j);
        return rc;
    }
    rc = build_where(ctx, q, &w);
    if (rc == EODKIT_OK) {
        rc = search_run(ctx, cat, q, &w, &pks, &n, &total);
    }
    free_where(&w);
    ek_strbuf_init(&b, ctx);
    if (format == EODKIT_FORMAT_CSV) {
        ek_csv_header(&b);
    } else {
        cell(&b, "id", 6);
        cell(&b, "name", 28);
        cell(&b, "year", 4);
        cell(&b, "task", 24);
        cell(&b, "platform", 16);
        cell(&b, "continent", 16);
        ek_strbuf_printf(&b, "%10s %8s %8s\n", "images", "size px", "volume");
    }
    for (i = 0; rc == EODKIT_OK && i < n; i++) {
        rc = ek_catalog_load(ctx, cat, pks[i], &r);
        if (rc == EODKIT_OK && format == EODKIT_FORMAT_CSV) {
            ek_csv_record(&b, &r);
        } else if (rc == EODKIT_OK) {
            table_row(&b, &r);
        }
    }
    if (format == EODKIT_FORMAT_TEXT) {
        ek_strbuf_printf(&b, "%zu of %lld matching datasets\n", n, total);
    }
    ek_record_clear(&r);
    free(pks);
    if (rc != EODKIT_OK) {
        ek_strbuf_free(&b);
        return rc;
    }
    return ek_strbuf_detach(&b, out);
}

/* The text of `catalog show`: one "field: value" line per known field,
   then the FAIR score. */
static void show_text(ek_strbuf *b, const ek_record *r)
{
    int present[EK_FAIR_NFIELDS], f, i;
    double score = ek_fair_score(r, present);

    for (f = 0; f < EK_NFIELDS; f++) {
        if (r->value[f] != NULL) {
            ek_strbuf_printf(b, "%-17s %s\n", ek_fields[f].name, r->value[f]);
        }
    }
    ek_strbuf_printf(b, "%-17s %.0f%%", "fair", score * 100);
    for (i = 0, f = 0; i < EK_FAIR_NFIELDS; i++) {
        if (!present[i]) {
            ek_strbuf_printf(b, "%s%s", f++ == 0 ? " (missing: " : ", ",
                             ek_fair_fields[i]);
        }
    }
    ek_strbuf_puts(b, f > 0 ? ")\n" : "\n");
}

int eodkit_catalog_show(eodkit_ctx *ctx, eodkit_catalog *cat, const char *name,
                        eodkit_format format, char **out)
{
    ek_record r = {0};
    ek_strbuf b;
    json_t *j = NULL;
    char *folder = NULL;
    long long pk = 0;
    int rc;

    *out = NULL;
    rc = ek_catalog_lookup(ctx, cat, name, &pk);
    if (rc == EODKIT_OK && pk == 0) {
        rc = ek_error(
            ctx, EODKIT_ERR_INPUT,
            "%s: no dataset with id or name '%s' (try 'eodkit catalog search')",
            cat->path, name);
    }
    if (rc == EODKIT_OK) {
        rc = ek_catalog_load(ctx, cat, pk, &r);
    }
    if (rc == EODKIT_OK && format == EODKIT_FORMAT_JSON) {
        j = ek_dataset_json(&r);
        *out =
            j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
        rc =
            *out == NULL ? ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory") : EODKIT_OK;
        json_decref(j);
    } else if (rc == EODKIT_OK) {
        /* The folder a dataset was registered from is shown here, to the
           catalog's owner, and published nowhere. */
        rc = ek_catalog_folder(ctx, cat, pk, &folder);
        if (rc == EODKIT_OK) {
            ek_strbuf_init(&b, ctx);
            show_text(&b, &r);
            if (folder != NULL) {
                ek_strbuf_printf(&b, "%-17s %s\n", "folder", folder);
            }
            rc = ek_strbuf_detach(&b, out);
        }
    }
    free(folder);
    ek_record_clear(&r);
    return rc;
}
