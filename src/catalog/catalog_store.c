/*
** Catalog: records in and out of the database. The SQL of every statement
** is derived from the field table, prepared once per handle and reused;
** values are always bound, never spliced into SQL text.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_catalog.h"

static const char *const bbox_columns[4] = {"bbox_west", "bbox_south", "bbox_east",
                                            "bbox_north"};

/* Append the dataset columns (every non-LIST field; a bbox is 4 columns),
   each followed by SUFFIX and separated by commas. */
static void columns(ek_strbuf *b, const char *suffix)
{
    int f, i, n = 0;

    for (f = 0; f < EK_NFIELDS; f++) {
        if (ek_fields[f].kind == EK_KIND_LIST) {
            continue;
        }
        for (i = 0; i < (ek_fields[f].kind == EK_KIND_BBOX ? 4 : 1); i++) {
            ek_strbuf_printf(b, "%s%s%s", n++ > 0 ? ", " : "",
                             ek_fields[f].kind == EK_KIND_BBOX ? bbox_columns[i]
                                                               : ek_fields[f].name,
                             suffix);
        }
    }
}

/* Number of dataset columns written by columns(). */
static int column_count(void)
{
    int f, n = 0;

    for (f = 0; f < EK_NFIELDS; f++) {
        n += ek_fields[f].kind == EK_KIND_LIST   ? 0
             : ek_fields[f].kind == EK_KIND_BBOX ? 4
                                                 : 1;
    }
    return n;
}

/* Write the SQL of statement ID into B. */
static void statement_sql(ek_strbuf *b, ek_stmt_id id)
{
    int i, n = column_count();

    switch (id) {
    case EK_STMT_BY_ID:
        ek_strbuf_puts(b, "SELECT pk FROM dataset WHERE id = ?1");
        break;
    case EK_STMT_BY_NAME:
        ek_strbuf_puts(b, "SELECT pk FROM dataset WHERE name = ?1");
        break;
    case EK_STMT_LOAD:
        ek_strbuf_puts(b, "SELECT ");
        columns(b, "");
        ek_strbuf_puts(b, " FROM dataset WHERE pk = ?1");
        break;
    case EK_STMT_INSERT:
        ek_strbuf_puts(b, "INSERT INTO dataset (");
        columns(b, "");
        ek_strbuf_puts(b, ") VALUES (");
        for (i = 1; i <= n; i++) {
            ek_strbuf_printf(b, "%s?%d", i > 1 ? ", " : "", i);
        }
        ek_strbuf_puts(b, ")");
        break;
    case EK_STMT_UPDATE:
        /* "SET a = ?, b = ?": parameters numbered in column order. */
        ek_strbuf_puts(b, "UPDATE dataset SET ");
        columns(b, " = ?");
        ek_strbuf_printf(b, " WHERE pk = ?%d", n + 1);
        break;
    case EK_STMT_ALL:
        ek_strbuf_puts(b, "SELECT pk FROM dataset ORDER BY pk");
        break;
    case EK_STMT_SEEN_ADD:
        ek_strbuf_puts(b,
                       "INSERT INTO temp.ek_import_seen (pk, origin) VALUES (?1, ?2)");
        break;
    case EK_STMT_SEEN_GET:
        ek_strbuf_puts(b, "SELECT origin FROM temp.ek_import_seen WHERE pk = ?1");
        break;
    default:
        if (id < EK_STMT_LIST_DEL) {
            ek_strbuf_printf(
                b, "SELECT value FROM dataset_%s WHERE dataset = ?1 ORDER BY pos",
                ek_fields[id - EK_STMT_LIST_GET].name);
        } else if (id < EK_STMT_LIST_ADD) {
            ek_strbuf_printf(b, "DELETE FROM dataset_%s WHERE dataset = ?1",
                             ek_fields[id - EK_STMT_LIST_DEL].name);
        } else {
            ek_strbuf_printf(
                b, "INSERT INTO dataset_%s (dataset, pos, value) VALUES (?1, ?2, ?3)",
                ek_fields[id - EK_STMT_LIST_ADD].name);
        }
        break;
    }
}

int ek_catalog_stmt(eodkit_ctx *ctx, eodkit_catalog *cat, ek_stmt_id id,
                    sqlite3_stmt **st)
{
    ek_strbuf b;
    char *sql = NULL;
    int rc;

    *st = cat->stmt[id];
    if (*st != NULL) {
        sqlite3_reset(*st);
        sqlite3_clear_bindings(*st);
        return EODKIT_OK;
    }
    ek_strbuf_init(&b, ctx);
    statement_sql(&b, id);
    rc = ek_strbuf_detach(&b, &sql);
    if (rc != EODKIT_OK) {
        return rc;
    }
    if (sqlite3_prepare_v3(cat->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &cat->stmt[id],
                           NULL) != SQLITE_OK) {
        rc = ek_catalog_sql_error(ctx, cat, "preparing a statement");
    }
    free(sql);
    *st = cat->stmt[id];
    return rc;
}

/* Canonical text of column I of the row ST is on into *OUT; NULL when the
   column is NULL. */
static int column_text(eodkit_ctx *ctx, sqlite3_stmt *st, int i, char **out)
{
    char buf[40];

    *out = NULL;
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL:
        return EODKIT_OK;
    case SQLITE_INTEGER:
        snprintf(buf, sizeof buf, "%lld", (long long)sqlite3_column_int64(st, i));
        break;
    case SQLITE_FLOAT:
        ek_format_real(sqlite3_column_double(st, i), buf, sizeof buf);
        break;
    default:
        *out = ek_strdup(ctx, (const char *)sqlite3_column_text(st, i));
        return *out == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
    }
    *out = ek_strdup(ctx, buf);
    return *out == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
}

/* Read the items of LIST field F of dataset R->pk into R. */
static int load_list(eodkit_ctx *ctx, eodkit_catalog *cat, ek_record *r, int f)
{
    sqlite3_stmt *st;
    ek_strbuf b;
    int rc, step;

    rc = ek_catalog_stmt(ctx, cat, EK_STMT_LIST_GET + f, &st);
    if (rc != EODKIT_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, r->pk);
    ek_strbuf_init(&b, ctx);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        ek_strbuf_puts(&b, b.len > 0 ? ";" : "");
        ek_strbuf_puts(&b, (const char *)sqlite3_column_text(st, 0));
    }
    if (step != SQLITE_DONE) {
        ek_strbuf_free(&b);
        return ek_catalog_sql_error(ctx, cat, "reading a dataset");
    }
    if (b.len == 0) {
        ek_strbuf_free(&b);
        return EODKIT_OK;
    }
    return ek_strbuf_detach(&b, &r->value[f]);
}

int ek_catalog_load(eodkit_ctx *ctx, eodkit_catalog *cat, long long pk, ek_record *r)
{
    sqlite3_stmt *st;
    int rc, f, col = 0;

    ek_record_clear(r);
    r->pk = pk;
    rc = ek_catalog_stmt(ctx, cat, EK_STMT_LOAD, &st);
    if (rc != EODKIT_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, pk);
    if (sqlite3_step(st) != SQLITE_ROW) {
        return ek_catalog_sql_error(ctx, cat, "reading a dataset");
    }
    for (f = 0; f < EK_NFIELDS && rc == EODKIT_OK; f++) {
        if (ek_fields[f].kind == EK_KIND_LIST) {
            continue;
        }
        if (ek_fields[f].kind == EK_KIND_BBOX) {
            char text[4][40];
            int i;

            if (sqlite3_column_type(st, col) != SQLITE_NULL) {
                for (i = 0; i < 4; i++) {
                    ek_format_real(sqlite3_column_double(st, col + i), text[i],
                                   sizeof text[i]);
                }
                r->value[f] =
                    ek_asprintf(ctx, "%s,%s,%s,%s", text[0], text[1], text[2], text[3]);
                rc = r->value[f] == NULL ? EODKIT_ERR_NOMEM : EODKIT_OK;
            }
            col += 4;
            continue;
        }
        rc = column_text(ctx, st, col++, &r->value[f]);
    }
    sqlite3_reset(st);
    for (f = 0; f < EK_NFIELDS && rc == EODKIT_OK; f++) {
        if (ek_fields[f].kind == EK_KIND_LIST) {
            rc = load_list(ctx, cat, r, f);
        }
    }
    return rc;
}

/* Store the pk of the one row of statement ST bound to KEY in *PK (0 when
   there is none). */
static int find_one(eodkit_ctx *ctx, eodkit_catalog *cat, ek_stmt_id id,
                    const char *key, long long *pk)
{
    sqlite3_stmt *st;
    int rc, step;

    *pk = 0;
    if (key == NULL) {
        return EODKIT_OK;
    }
    rc = ek_catalog_stmt(ctx, cat, id, &st);
    if (rc != EODKIT_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *pk = sqlite3_column_int64(st, 0);
    } else if (step != SQLITE_DONE) {
        return ek_catalog_sql_error(ctx, cat, "looking up a dataset");
    }
    sqlite3_reset(st);
    return EODKIT_OK;
}

int ek_catalog_find(eodkit_ctx *ctx, eodkit_catalog *cat, const char *id,
                    const char *name, long long *by_id, long long *by_name)
{
    int rc = find_one(ctx, cat, EK_STMT_BY_ID, id, by_id);

    return rc != EODKIT_OK ? rc : find_one(ctx, cat, EK_STMT_BY_NAME, name, by_name);
}

int ek_catalog_lookup(eodkit_ctx *ctx, eodkit_catalog *cat, const char *key,
                      long long *pk)
{
    long long by_id = 0, by_name = 0;
    int rc = ek_catalog_find(ctx, cat, key, key, &by_id, &by_name);

    *pk = by_id != 0 ? by_id : by_name;
    return rc;
}

/* Bind the value of field F of R to parameter I of ST, as its kind says. */
static void bind_value(sqlite3_stmt *st, int i, const ek_record *r, int f)
{
    const char *v = r->value[f];

    if (v == NULL) {
        sqlite3_bind_null(st, i);
    } else if (ek_fields[f].kind == EK_KIND_INT) {
        sqlite3_bind_int64(st, i, strtoll(v, NULL, 10));
    } else if (ek_fields[f].kind == EK_KIND_REAL) {
        sqlite3_bind_double(st, i, strtod(v, NULL));
    } else {
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    }
}

/* Replace the items of LIST field F of dataset R->pk by R's. */
static int save_list(eodkit_ctx *ctx, eodkit_catalog *cat, const ek_record *r, int f)
{
    sqlite3_stmt *st;
    char item[512];
    size_t i;
    int rc;

    rc = ek_catalog_stmt(ctx, cat, EK_STMT_LIST_DEL + f, &st);
    if (rc != EODKIT_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, r->pk);
    if (sqlite3_step(st) != SQLITE_DONE) {
        return ek_catalog_sql_error(ctx, cat, "writing a dataset");
    }
    for (i = 0; ek_record_list_item(r, f, i, item, sizeof item); i++) {
        rc = ek_catalog_stmt(ctx, cat, EK_STMT_LIST_ADD + f, &st);
        if (rc != EODKIT_OK) {
            return rc;
        }
        sqlite3_bind_int64(st, 1, r->pk);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
        sqlite3_bind_text(st, 3, item, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            return ek_catalog_sql_error(ctx, cat, "writing a dataset");
        }
    }
    return EODKIT_OK;
}

int ek_catalog_save(eodkit_ctx *ctx, eodkit_catalog *cat, ek_record *r)
{
    sqlite3_stmt *st;
    double bbox[4];
    int rc, f, i, col = 1, has_bbox = ek_record_bbox(r, bbox);

    rc = ek_catalog_stmt(ctx, cat, r->pk == 0 ? EK_STMT_INSERT : EK_STMT_UPDATE, &st);
    if (rc != EODKIT_OK) {
        return rc;
    }
    for (f = 0; f < EK_NFIELDS; f++) {
        if (ek_fields[f].kind == EK_KIND_LIST) {
            continue;
        }
        if (ek_fields[f].kind == EK_KIND_BBOX) {
            for (i = 0; i < 4; i++, col++) {
                if (has_bbox) {
                    sqlite3_bind_double(st, col, bbox[i]);
                } else {
                    sqlite3_bind_null(st, col);
                }
            }
            continue;
        }
        bind_value(st, col++, r, f);
    }
    if (r->pk != 0) {
        sqlite3_bind_int64(st, col, r->pk);
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        return ek_catalog_sql_error(ctx, cat, "writing a dataset");
    }
    sqlite3_reset(st);
    if (r->pk == 0) {
        r->pk = sqlite3_last_insert_rowid(cat->db);
    }
    for (f = 0; f < EK_NFIELDS && rc == EODKIT_OK; f++) {
        if (ek_fields[f].kind == EK_KIND_LIST) {
            rc = save_list(ctx, cat, r, f);
        }
    }
    return rc;
}

int ek_catalog_all(eodkit_ctx *ctx, eodkit_catalog *cat, long long **pks, size_t *n)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc, step = SQLITE_DONE;

    *pks = NULL;
    *n = 0;
    rc = ek_catalog_stmt(ctx, cat, EK_STMT_ALL, &st);
    while (rc == EODKIT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        rc = ek_grow(ctx, (void **)pks, &cap, *n + 1, sizeof **pks);
        if (rc == EODKIT_OK) {
            (*pks)[(*n)++] = sqlite3_column_int64(st, 0);
        }
    }
    if (rc == EODKIT_OK && step != SQLITE_DONE) {
        rc = ek_catalog_sql_error(ctx, cat, "listing datasets");
    }
    if (rc != EODKIT_OK) {
        free(*pks);
        *pks = NULL;
        *n = 0;
    }
    sqlite3_reset(st);
    return rc;
}
