/*
** Core: the growable text buffer behind every text writer (tables, CSV,
** SVG). Allocation failures are recorded once and make later appends no-ops.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_strbuf.h"

void ek_strbuf_init(ek_strbuf *b, eodkit_ctx *ctx)
{
    memset(b, 0, sizeof *b);
    b->ctx = ctx;
}

/* Make room for N more bytes plus the terminating NUL. */
static int reserve(ek_strbuf *b, size_t n)
{
    size_t want = b->cap == 0 ? 256 : b->cap;
    char *p;

    if (b->status != EODKIT_OK) {
        return b->status;
    }
    if (b->len + n + 1 <= b->cap) {
        return EODKIT_OK;
    }
    while (want < b->len + n + 1) {
        want *= 2;
    }
    p = ek_realloc_array(b->ctx, b->data, want, 1);
    if (p == NULL) {
        b->status = EODKIT_ERR_NOMEM;
        return b->status;
    }
    b->data = p;
    b->cap = want;
    return EODKIT_OK;
}

int ek_strbuf_add(ek_strbuf *b, const char *s, size_t n)
{
    if (reserve(b, n) != EODKIT_OK) {
        return b->status;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return EODKIT_OK;
}

int ek_strbuf_puts(ek_strbuf *b, const char *s)
{
    return ek_strbuf_add(b, s, strlen(s));
}

int ek_strbuf_printf(ek_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (b->status == EODKIT_OK) {
            b->status = ek_error(b->ctx, EODKIT_ERR_INTERNAL, "bad format '%s'", fmt);
        }
        return b->status;
    }
    if (reserve(b, (size_t)n) != EODKIT_OK) {
        return b->status;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return EODKIT_OK;
}

int ek_strbuf_xml(ek_strbuf *b, const char *s)
{
    const char *run = s;

    for (; *s != '\0'; s++) {
        const char *entity = NULL;

        switch (*s) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&quot;";
            break;
        case '\'':
            entity = "&#39;";
            break;
        default:
            continue;
        }
        ek_strbuf_add(b, run, (size_t)(s - run));
        ek_strbuf_puts(b, entity);
        run = s + 1;
    }
    return ek_strbuf_add(b, run, (size_t)(s - run));
}

int ek_strbuf_detach(ek_strbuf *b, char **text)
{
    int rc = b->status;

    *text = NULL;
    if (rc == EODKIT_OK && b->data == NULL) {
        rc = ek_strbuf_add(b, "", 0);
    }
    if (rc != EODKIT_OK) {
        ek_strbuf_free(b);
        return rc;
    }
    *text = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return EODKIT_OK;
}

void ek_strbuf_free(ek_strbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
