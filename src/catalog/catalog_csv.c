/*
** Catalog: CSV in the shipped format (RFC 4180: comma-separated, fields with
** commas, quotes or line breaks quoted, quotes doubled, CRLF). The reader
** keeps the line of every row for messages; broken quoting is fatal since
** it leaves no trustworthy row boundaries. The writer quotes minimally, so
** the shipped file exports back byte for byte.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_catalog.h"

typedef struct csv_reader {
    const char *path;
    const char *p, *end;
    long line;        /* line of the next character */
    long record_line; /* first line of the record last read */
    ek_strbuf text;   /* the fields of the record, each NUL-terminated */
    size_t *starts;   /* offset of each field in TEXT */
    size_t nfields, cap;
} csv_reader;

static int nul_byte(eodkit_ctx *ctx, const csv_reader *c)
{
    return ek_error(ctx, EODKIT_ERR_INPUT,
                    "%s:%ld: a NUL byte: not a CSV text file: nothing was imported",
                    c->path, c->line);
}

/* End the current field: record its start for the next one. */
static int next_field(eodkit_ctx *ctx, csv_reader *c)
{
    int rc =
        ek_grow(ctx, (void **)&c->starts, &c->cap, c->nfields + 1, sizeof *c->starts);

    if (rc == EODKIT_OK) {
        c->starts[c->nfields++] = c->text.len;
    }
    return rc;
}

/* Consume a line break at the reader's position, if there is one. */
static int eat_newline(csv_reader *c)
{
    if (c->p < c->end && *c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n') {
        c->p += 2;
    } else if (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) {
        c->p++;
    } else {
        return 0;
    }
    c->line++;
    return 1;
}

/*
** Read the next record into C (fields: csv_get); *GOT is 0 at the end of
** the text. Blank lines are skipped. Quoting errors are EODKIT_ERR_INPUT
** naming the file and line.
*/
static int csv_read(eodkit_ctx *ctx, csv_reader *c, int *got)
{
    int rc = EODKIT_OK;

    *got = 0;
    c->text.len = 0;
    c->nfields = 0;
    while (eat_newline(c)) {
    }
    if (c->p >= c->end) {
        return EODKIT_OK;
    }
    c->record_line = c->line;
    rc = next_field(ctx, c);
    while (rc == EODKIT_OK && c->p < c->end) {
        if (*c->p == '"' && c->text.len == c->starts[c->nfields - 1]) {
            long opened = c->line;

            /* A quoted field: up to the lone closing quote. */
            for (c->p++;; c->p++) {
                if (c->p >= c->end) {
                    return ek_error(
                        ctx, EODKIT_ERR_INPUT,
                        "%s:%ld: broken quoting: the quoted field opened here "
                        "never ends: nothing was imported",
                        c->path, opened);
                }
                if (*c->p == '\0') {
                    return nul_byte(ctx, c);
                }
                if (*c->p == '"') {
                    if (c->p + 1 < c->end && c->p[1] == '"') {
                        c->p++;
                    } else {
                        break;
                    }
                }
                if (*c->p == '\n') {
                    c->line++;
                }
                ek_strbuf_add(&c->text, c->p, 1);
            }
            c->p++;
            if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
                return ek_error(
                    ctx, EODKIT_ERR_INPUT,
                    "%s:%ld: broken quoting: '%c' after the closing quote of field "
                    "%zu: nothing was imported",
                    c->path, c->line, *c->p, c->nfields);
            }
            continue;
        }
        if (*c->p == '"') {
            return ek_error(
                ctx, EODKIT_ERR_INPUT,
                "%s:%ld: broken quoting: a quote inside unquoted field %zu (quote "
                "the whole field and double the quote): nothing was imported",
                c->path, c->line, c->nfields);
        }
        if (*c->p == '\0') {
            return nul_byte(ctx, c);
        }
        if (*c->p == ',') {
            ek_strbuf_add(&c->text, "", 1);
            rc = next_field(ctx, c);
            c->p++;
            continue;
        }
        if (eat_newline(c)) {
            break;
        }
        ek_strbuf_add(&c->text, c->p++, 1);
    }
    ek_strbuf_add(&c->text, "", 1);
    if (rc == EODKIT_OK) {
        rc = c->text.status;
    }
    *got = rc == EODKIT_OK;
    return rc;
}

/* Field I of the record last read. */
static const char *csv_get(const csv_reader *c, size_t i)
{
    return c->text.data + c->starts[i];
}

/* Map the header fields of C to fields in COLS (one per column). */
static int read_header(eodkit_ctx *ctx, csv_reader *c, int **cols)
{
    size_t i, k;
    int has_name = 0, got;
    int rc = csv_read(ctx, c, &got);

    if (rc != EODKIT_OK) {
        return rc;
    }
    if (!got) {
        return ek_error(ctx, EODKIT_ERR_INPUT, "%s: empty file: nothing was imported",
                        c->path);
    }
    *cols = ek_calloc(ctx, c->nfields, sizeof **cols);
    if (*cols == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    for (i = 0; i < c->nfields; i++) {
        const char *name = csv_get(c, i);
        int f = ek_field_find(name);

        /* A UTF-8 byte order mark before the first column name. */
        if (i == 0 && strncmp(name, "\xef\xbb\xbf", 3) == 0) {
            f = ek_field_find(name + 3);
        }
        if (f < 0 || !ek_fields[f].in_csv) {
            ek_strbuf b;
            char *list = NULL;

            ek_strbuf_init(&b, ctx);
            for (f = 0; f < EK_NFIELDS; f++) {
                if (ek_fields[f].in_csv) {
                    ek_strbuf_printf(&b, "%s%s", f > 0 ? ", " : "", ek_fields[f].name);
                }
            }
            rc = ek_strbuf_detach(&b, &list);
            if (rc == EODKIT_OK) {
                rc = ek_error(
                    ctx, EODKIT_ERR_INPUT,
                    "%s:%ld: unknown column '%s' (the columns are: %s): nothing "
                    "was imported",
                    c->path, c->record_line, name, list);
            }
            free(list);
            return rc;
        }
        for (k = 0; k < i; k++) {
            if ((*cols)[k] == f) {
                return ek_error(
                    ctx, EODKIT_ERR_INPUT,
                    "%s:%ld: column '%s' appears twice: nothing was imported", c->path,
                    c->record_line, ek_fields[f].name);
            }
        }
        (*cols)[i] = f;
        has_name |= f == EK_F_NAME;
    }
    if (!has_name) {
        return ek_error(ctx, EODKIT_ERR_INPUT,
                        "%s:%ld: no 'name' column: nothing was imported", c->path,
                        c->record_line);
    }
    return EODKIT_OK;
}

int ek_csv_import(eodkit_ctx *ctx, ek_import *imp, const char *path, const char *text,
                  size_t len)
{
    csv_reader c;
    int *cols = NULL;
    int rc, got = 0;
    size_t ncols;
    char where[1024];

    memset(&c, 0, sizeof c);
    c.path = path;
    c.p = text;
    c.end = text + len;
    c.line = 1;
    ek_strbuf_init(&c.text, ctx);
    rc = read_header(ctx, &c, &cols);
    ncols = c.nfields;

    while (rc == EODKIT_OK && (rc = csv_read(ctx, &c, &got)) == EODKIT_OK && got) {
        ek_record r = {0};
        size_t i;

        snprintf(where, sizeof where, "%s:%ld", path, c.record_line);
        if (c.nfields != ncols) {
            rc = ek_import_note(ctx, imp, 1, "%s: %zu fields, but the header has %zu",
                                where, c.nfields, ncols);
            continue;
        }
        for (i = 0; i < ncols && rc == EODKIT_OK; i++) {
            rc = ek_record_set(ctx, &r, cols[i], csv_get(&c, i));
        }
        if (rc == EODKIT_ERR_INPUT) {
            rc = ek_import_reject(ctx, imp, where);
        } else if (rc == EODKIT_OK) {
            rc = ek_import_record(ctx, imp, &r, where);
        }
        ek_record_clear(&r);
    }
    free(cols);
    free(c.starts);
    ek_strbuf_free(&c.text);
    return rc;
}

void ek_csv_field(ek_strbuf *b, const char *text)
{
    const char *q;

    if (text == NULL) {
        return;
    }
    if (strpbrk(text, ",\"\r\n") == NULL) {
        ek_strbuf_puts(b, text);
        return;
    }
    ek_strbuf_puts(b, "\"");
    for (q = strchr(text, '"'); q != NULL; q = strchr(text, '"')) {
        ek_strbuf_add(b, text, (size_t)(q - text) + 1);
        ek_strbuf_puts(b, "\"");
        text = q + 1;
    }
    ek_strbuf_puts(b, text);
    ek_strbuf_puts(b, "\"");
}

void ek_csv_header(ek_strbuf *b)
{
    int f;

    for (f = 0; f < EK_NFIELDS; f++) {
        if (ek_fields[f].in_csv) {
            ek_strbuf_printf(b, "%s%s", f > 0 ? "," : "", ek_fields[f].name);
        }
    }
    ek_strbuf_puts(b, "\r\n");
}

void ek_csv_record(ek_strbuf *b, const ek_record *r)
{
    int f;

    for (f = 0; f < EK_NFIELDS; f++) {
        if (ek_fields[f].in_csv) {
            ek_strbuf_puts(b, f > 0 ? "," : "");
            ek_csv_field(b, r->value[f]);
        }
    }
    ek_strbuf_puts(b, "\r\n");
}
