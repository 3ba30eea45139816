/*
** eodkit: turn Earth-observation imagery and reference labels into ML-ready,
** leakage-safe, FAIR training datasets. This header holds what every area of
** the public API shares: version, the error context, status codes, freeing.
**
** Ownership: every object the library returns through an OUT parameter belongs
** to the caller and is released with the matching _free/_close function (all
** accept NULL), or with eodkit_free() for plain strings and buffers; pointers
** returned by accessors stay owned by the object they came from and live as
** long as it does.
*/
#ifndef EODKIT_H
#define EODKIT_H

#ifdef __cplusplus
extern "C" {
#endif

#define EODKIT_VERSION_MAJOR 0
#define EODKIT_VERSION_MINOR 1
#define EODKIT_VERSION_PATCH 0
#define EODKIT_VERSION_STRING "0.1.0"

/*
** EODKIT_API marks the functions of the public API: libeodkit.so is built
** with -fvisibility=hidden and exports these and nothing else (`make check`
** compares its dynamic symbols with the declarations of these headers).
*/
#if defined(__GNUC__) || defined(__clang__)
#define EODKIT_API __attribute__((visibility("default")))
#else
#define EODKIT_API
#endif

/* Status codes. They double as the exit codes of the `eodkit` command. */
enum {
    EODKIT_OK = 0,
    EODKIT_ERR_USAGE = 1,      /* bad command line or API misuse */
    EODKIT_ERR_INPUT = 2,      /* bad recipe or input data */
    EODKIT_ERR_IO = 3,         /* reading or writing a file failed */
    EODKIT_ERR_GDAL = 4,       /* GDAL/OGR/PROJ could not do what was asked */
    EODKIT_ERR_NOMEM = 5,      /* out of memory */
    EODKIT_ERR_EXISTS = 6,     /* the output exists and may not be replaced */
    EODKIT_ERR_INTERNAL = 7,   /* a bug in eodkit: please report it */
    EODKIT_ERR_CANCELLED = 130 /* interrupted (e.g. Ctrl-C) */
};

/*
** An error context: holds the message of the last failure. Use one per
** thread. Every function that takes a context returns a status code and, on
** failure, leaves a one-line message here naming the file concerned.
*/
typedef struct eodkit_ctx eodkit_ctx;

/* Return a new context, or NULL when out of memory. */
EODKIT_API eodkit_ctx *eodkit_ctx_new(void);

/* Release CTX (NULL is fine). */
EODKIT_API void eodkit_ctx_free(eodkit_ctx *ctx);

/* Return the message of the last failure ("" if none); owned by CTX and valid
   until the next call that uses CTX. */
EODKIT_API const char *eodkit_ctx_message(const eodkit_ctx *ctx);

/* Return the status code of the last failure (EODKIT_OK if none). */
EODKIT_API int eodkit_ctx_status(const eodkit_ctx *ctx);

/* Return a short English name for status code CODE ("bad input", ...). */
EODKIT_API const char *eodkit_status_name(int code);

/* Return the runtime version of eodkit ("0.1.0"). */
EODKIT_API const char *eodkit_version(void);

/* Return "GDAL x.y.z, PROJ a.b.c": the libraries eodkit runs on. Static. */
EODKIT_API const char *eodkit_library_versions(void);

/* Release memory the library handed to the caller as a plain buffer. */
EODKIT_API void eodkit_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
