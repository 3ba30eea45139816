/*
** Core: a growable text buffer for writers that build a document piece by
** piece (JSON-free text tables, CSV, SVG, HTML). Errors are sticky: after an
** allocation failure every append is a no-op and the status says so, so a
** writer checks once at the end instead of after every line.
*/
#ifndef EK_STRBUF_H
#define EK_STRBUF_H

#include <stddef.h>

#include "ek_ctx.h"

typedef struct ek_strbuf {
    eodkit_ctx *ctx; /* where an allocation failure is reported */
    char *data;      /* NUL-terminated once anything was added */
    size_t len, cap;
    int status; /* EODKIT_OK, or the first failure */
} ek_strbuf;

/* Start an empty buffer B that reports failures into CTX. */
void ek_strbuf_init(ek_strbuf *b, eodkit_ctx *ctx);

/* Append N bytes of S / the string S / formatted text / S with the XML
   special characters (& < > " ') escaped. Each returns B's status. */
int ek_strbuf_add(ek_strbuf *b, const char *s, size_t n);
int ek_strbuf_puts(ek_strbuf *b, const char *s);
int ek_strbuf_printf(ek_strbuf *b, const char *fmt, ...) EK_PRINTF(2, 3);
int ek_strbuf_xml(ek_strbuf *b, const char *s);

/*
** Hand over B's text (newly allocated, "" when empty; the caller frees it)
** and reset B. Return B's status; on failure *TEXT is NULL and nothing
** needs freeing.
*/
int ek_strbuf_detach(ek_strbuf *b, char **text /* OUT */);

/* Release B's memory (after a failure, or to discard the text). */
void ek_strbuf_free(ek_strbuf *b);

#endif
