/*
** Core: JSON text as eodkit writes it, for every file and every command's
** --json output (jansson documents in, indented text with a final newline
** out).
*/
#ifndef EK_JSON_H
#define EK_JSON_H

#include <jansson.h>

#include "ek_ctx.h"

/* Write O as DIR/NAME: indented JSON and a final newline. */
int ek_write_json(eodkit_ctx *ctx, const json_t *o, const char *dir, const char *name);

/* DOC (its reference taken; NULL means out of memory) as indented JSON text
   with a final newline, newly allocated in *TEXT (free with eodkit_free);
   real numbers with PRECISION significant digits (0: jansson's default,
   17). The text every command prints or returns as JSON. */
int ek_json_text(eodkit_ctx *ctx, json_t *doc, int precision, char **text /* OUT */);

#endif
