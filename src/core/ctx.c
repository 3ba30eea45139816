/*
** Core: error contexts, GDAL error capture and checked allocation. The rest
** of the library reports every failure here, so the CLI can print one line.
** Also the nearest word, for "did you mean" in those messages.
*/
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_error.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include "ek_ctx.h"

eodkit_ctx *eodkit_ctx_new(void)
{
    return calloc(1, sizeof(eodkit_ctx));
}

void eodkit_ctx_free(eodkit_ctx *ctx)
{
    free(ctx);
}

const char *eodkit_ctx_message(const eodkit_ctx *ctx)
{
    return ctx->message;
}

int eodkit_ctx_status(const eodkit_ctx *ctx)
{
    return ctx->status;
}

const char *eodkit_status_name(int code)
{
    switch (code) {
    case EODKIT_OK:
        return "ok";
    case EODKIT_ERR_USAGE:
        return "usage error";
    case EODKIT_ERR_INPUT:
        return "bad input";
    case EODKIT_ERR_IO:
        return "I/O error";
    case EODKIT_ERR_GDAL:
        return "GDAL error";
    case EODKIT_ERR_NOMEM:
        return "out of memory";
    case EODKIT_ERR_EXISTS:
        return "output exists";
    case EODKIT_ERR_INTERNAL:
        return "internal error";
    case EODKIT_ERR_CANCELLED:
        return "interrupted";
    default:
        return "unknown error";
    }
}

const char *eodkit_version(void)
{
    return EODKIT_VERSION_STRING;
}

const char *eodkit_library_versions(void)
{
    static char text[128];
    int major = 0, minor = 0, patch = 0;

    if (text[0] == '\0') {
        OSRGetPROJVersion(&major, &minor, &patch);
        snprintf(text, sizeof text, "GDAL %s, PROJ %d.%d.%d",
                 GDALVersionInfo("RELEASE_NAME"), major, minor, patch);
    }
    return text;
}

void eodkit_free(void *p)
{
    free(p);
}

static void set_message(eodkit_ctx *ctx, int code, const char *fmt, va_list ap)
{
    ctx->status = code;
    vsnprintf(ctx->message, sizeof ctx->message, fmt, ap);
}

int ek_error(eodkit_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_message(ctx, code, fmt, ap);
    va_end(ap);
    return code;
}

/* Append TEXT to the NUL-terminated BUF of SIZE bytes, truncating. */
static void append(char *buf, size_t size, const char *text)
{
    size_t used = strlen(buf), n = strlen(text);

    if (used + 1 >= size) {
        return;
    }
    if (n > size - used - 1) {
        n = size - used - 1;
    }
    memcpy(buf + used, text, n);
    buf[used + n] = '\0';
}

/* Nonzero when GDAL's (or SQLite's) failure MSG is that a file could not be
   written for lack of space or a failing disk: an I/O error whatever the
   driver, not one of the data. */
static int write_failed(const char *msg)
{
    return strstr(msg, "disk is full") != NULL ||
           strstr(msg, "disk I/O error") != NULL ||
           strstr(msg, strerror(ENOSPC)) != NULL ||
           strstr(msg, strerror(EDQUOT)) != NULL;
}

static int error_with_gdal(eodkit_ctx *ctx, int code, const char *fmt, va_list ap)
{
    const char *cause =
        ctx->write_failure[0] != '\0' ? ctx->write_failure : ctx->gdal_message;

    if (ctx->write_failure[0] != '\0') {
        code = EODKIT_ERR_IO;
    }
    set_message(ctx, code, fmt, ap);
    if (cause[0] != '\0') {
        append(ctx->message, sizeof ctx->message, ": ");
        append(ctx->message, sizeof ctx->message, cause);
    }
    ctx->gdal_message[0] = '\0';
    ctx->write_failure[0] = '\0';
    return code;
}

int ek_error_with_gdal(eodkit_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    code = error_with_gdal(ctx, code, fmt, ap);
    va_end(ap);
    return code;
}

int ek_error_gdal(eodkit_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    int code;

    va_start(ap, fmt);
    code = error_with_gdal(ctx, EODKIT_ERR_GDAL, fmt, ap);
    va_end(ap);
    return code;
}

int ek_error_where(eodkit_ctx *ctx, const char *fmt, ...)
{
    char text[EK_MESSAGE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    append(ctx->message, sizeof ctx->message, " (");
    append(ctx->message, sizeof ctx->message, text);
    append(ctx->message, sizeof ctx->message, ")");
    return ctx->status;
}

int ek_cancelled(eodkit_ctx *ctx)
{
    if (ctx->cancel == NULL || !*ctx->cancel) {
        return EODKIT_OK;
    }
    return ek_error(ctx, EODKIT_ERR_CANCELLED, "interrupted");
}

void ek_error_clear(eodkit_ctx *ctx)
{
    ctx->status = EODKIT_OK;
    ctx->message[0] = '\0';
    ctx->gdal_message[0] = '\0';
    ctx->write_failure[0] = '\0';
}

int ek_error_copy(eodkit_ctx *dst, const eodkit_ctx *src)
{
    dst->status = src->status;
    memcpy(dst->message, src->message, sizeof dst->message);
    return dst->status;
}

/* HTTP requests GDAL retried (it warns once before each retry). */
static atomic_ulong http_retries;

unsigned long ek_gdal_http_retries(void)
{
    return atomic_load(&http_retries);
}

static void CPL_STDCALL capture_handler(CPLErr level, CPLErrorNum num, const char *msg)
{
    eodkit_ctx *ctx = CPLGetErrorHandlerUserData();

    (void)num;
    if (level == CE_Warning && strstr(msg, ". Retrying again in ") != NULL) {
        atomic_fetch_add(&http_retries, 1);
    }
    /* Warnings (e.g. a malformed TIFF tag GDAL reads anyway) are not
       failures; only the message of a failure is worth reporting. */
    if (ctx != NULL && level >= CE_Failure) {
        char *p;

        snprintf(ctx->gdal_message, sizeof ctx->gdal_message, "%s", msg);
        for (p = ctx->gdal_message; *p != '\0'; p++) { /* messages are one line */
            *p = *p == '\n' ? ' ' : *p;
        }
        if (ctx->write_failure[0] == '\0' && write_failed(msg)) {
            snprintf(ctx->write_failure, sizeof ctx->write_failure, "%s", msg);
        }
    }
}

void ek_gdal_capture_begin(eodkit_ctx *ctx)
{
    CPLPushErrorHandlerEx(capture_handler, ctx);
}

void ek_gdal_capture_end(void)
{
    CPLPopErrorHandler();
}

void *ek_calloc(eodkit_ctx *ctx, size_t n, size_t size)
{
    void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

    if (p == NULL) {
        ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory (%zu x %zu bytes)", n, size);
    }
    return p;
}

void *ek_realloc_array(eodkit_ctx *ctx, void *p, size_t n, size_t size)
{
    void *q;

    if (size != 0 && n > (size_t)-1 / size) {
        ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory (%zu x %zu bytes)", n, size);
        return NULL;
    }
    q = realloc(p, n * size == 0 ? 1 : n * size);
    if (q == NULL) {
        ek_error(ctx, EODKIT_ERR_NOMEM, "out of memory (%zu x %zu bytes)", n, size);
    }
    return q;
}

int ek_grow(eodkit_ctx *ctx, void **array, size_t *cap, size_t n, size_t size)
{
    size_t want = *cap == 0 ? 16 : *cap;
    void *p;

    if (n <= *cap) {
        return EODKIT_OK;
    }
    while (want < n) {
        want *= 2;
    }
    p = ek_realloc_array(ctx, *array, want, size);
    if (p == NULL) {
        return EODKIT_ERR_NOMEM;
    }
    memset((char *)p + *cap * size, 0, (want - *cap) * size);
    *array = p;
    *cap = want;
    return EODKIT_OK;
}

char *ek_strdup(eodkit_ctx *ctx, const char *s)
{
    char *p = ek_calloc(ctx, strlen(s) + 1, 1);

    if (p != NULL) {
        memcpy(p, s, strlen(s));
    }
    return p;
}

char *ek_asprintf(eodkit_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        ek_error(ctx, EODKIT_ERR_INTERNAL, "bad format string '%s'", fmt);
        return NULL;
    }
    p = ek_calloc(ctx, (size_t)n + 1, 1);
    if (p == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* ---- "did you mean" ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t row[64];

    if (lb >= sizeof row / sizeof row[0]) {
        return (size_t)-1;
    }
    for (j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost =
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1])
                    ? 0
                    : 1;
            size_t best = diag + cost;

            if (row[j] + 1 < best) {
                best = row[j] + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *ek_nearest_word(const char *word, const char *const *cand, size_t ncand)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1, i;
    size_t limit = strlen(word) / 3 + 1;

    if (limit < 2) {
        limit = 2;
    }
    for (i = 0; i < ncand; i++) {
        size_t d = edit_distance(word, cand[i]);

        if (d < best_d) {
            best_d = d;
            best = cand[i];
        }
    }
    return best_d <= limit ? best : NULL;
}
