/*
** Core: the error context behind eodkit_ctx, error reporting, GDAL error
** capture and checked allocation. Every module reports failures through
** these helpers; nothing in the library prints or exits.
*/
#ifndef EK_CTX_H
#define EK_CTX_H

#include <stddef.h>

#include "eodkit/eodkit.h"

#define EK_MESSAGE_MAX 1024

struct eodkit_ctx {
    int status;
    char message[EK_MESSAGE_MAX];
    /* Last GDAL/CPL failure seen by this thread's handler, consumed by
       ek_error_gdal(). */
    char gdal_message[EK_MESSAGE_MAX];
    /* The first GDAL/CPL failure since then that says a write found the
       disk full or failing: the cause of the failures that follow it. */
    char write_failure[EK_MESSAGE_MAX];
    /* The caller's cancel flag (NULL: none) while a long single-threaded
       step runs on this context (a build's set-up); its loops poll it with
       ek_cancelled(). */
    const volatile int *cancel;
};

#if defined(__GNUC__)
#define EK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define EK_PRINTF(f, a)
/* For "did you mean" messages: the nearest of the NCAND strings in CAND to WORD (edit
   distance), or NULL when none is close enough to be a likely typo. */
const char *ek_nearest_word(const char *word, const char *const *cand, size_t ncand);

#endif

/* Set CTX's message from FMT and its status to CODE; return CODE. */
int ek_error(eodkit_ctx *ctx, int code, const char *fmt, ...) EK_PRINTF(3, 4);

/* Like ek_error, appending ": <GDAL's own message>" when GDAL reported a
   failure since the last call. When GDAL reported a write that found the
   disk full or failing (its or SQLite's message says so) since then, that
   message is appended instead (it is the cause: a GeoPackage that could not
   be created fails later with "no such table") and the status is
   EODKIT_ERR_IO instead of CODE. Return the status set. */
int ek_error_with_gdal(eodkit_ctx *ctx, int code, const char *fmt, ...) EK_PRINTF(3, 4);

/* ek_error_with_gdal with EODKIT_ERR_GDAL. */
int ek_error_gdal(eodkit_ctx *ctx, const char *fmt, ...) EK_PRINTF(2, 3);

/* Append " (" + formatted text + ")" to CTX's message, e.g. the recipe
   position that led to a failure; return CTX's status. */
int ek_error_where(eodkit_ctx *ctx, const char *fmt, ...) EK_PRINTF(2, 3);

/* EODKIT_ERR_CANCELLED, with CTX's message set, when CTX's cancel flag is
   raised; else EODKIT_OK. Cheap enough to poll in any loop. */
int ek_cancelled(eodkit_ctx *ctx);

/* Clear CTX's status and message. */
void ek_error_clear(eodkit_ctx *ctx);

/* Copy the status and message of SRC into DST; return the status. */
int ek_error_copy(eodkit_ctx *dst, const eodkit_ctx *src);

/*
** Route GDAL/CPL errors of the calling thread into CTX (quietly: nothing is
** printed) until the matching ek_gdal_capture_end(). Pairs nest.
*/
void ek_gdal_capture_begin(eodkit_ctx *ctx);
void ek_gdal_capture_end(void);

/* HTTP requests GDAL retried in this process (429 and 5xx answers), as
   seen by the capture above: GDAL warns once before each retry. */
unsigned long ek_gdal_http_retries(void);

/* Allocation that records EODKIT_ERR_NOMEM in CTX on failure (returns NULL). */
void *ek_calloc(eodkit_ctx *ctx, size_t n, size_t size);
void *ek_realloc_array(eodkit_ctx *ctx, void *p, size_t n, size_t size);
char *ek_strdup(eodkit_ctx *ctx, const char *s);
char *ek_asprintf(eodkit_ctx *ctx, const char *fmt, ...) EK_PRINTF(2, 3);

/* Grow *ARRAY (of *CAP elements of SIZE bytes) so it holds at least N;
   return EODKIT_OK or EODKIT_ERR_NOMEM. */
int ek_grow(eodkit_ctx *ctx, void **array, size_t *cap, size_t n, size_t size);

/* For "did you mean" messages: the nearest of the NCAND strings in CAND to WORD (edit
   distance), or NULL when none is close enough to be a likely typo. */
const char *ek_nearest_word(const char *word, const char *const *cand, size_t ncand);

#endif
