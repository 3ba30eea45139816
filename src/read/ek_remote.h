/*
** Read: inputs read over the network (/vsicurl/, /vsis3/, ...). The GDAL
** HTTP settings eodkit uses unless the user set them (doc/recipe.md,
** "Archive and remote recipes"), the back-off before a failed remote read
** is tried again, and the retry counts the build summary reports.
*/
#ifndef EK_REMOTE_H
#define EK_REMOTE_H

/*
** Set GDAL's network configuration for window reads of remote rasters, each
** option only when neither the environment nor the caller has set it:
** ranged reads merged and fetched in parallel (GDAL_HTTP_MULTIRANGE), a
** larger block cache shared by all threads (CPL_VSIL_CURL_CACHE_SIZE), the
** header read in one request (GDAL_INGESTED_BYTES_AT_OPEN), retries of HTTP
** 429 and 5xx answers with exponential back-off (GDAL_HTTP_MAX_RETRY,
** GDAL_HTTP_RETRY_DELAY), and time limits on connecting and on stalled
** transfers. Call once, before opening inputs; not thread-safe.
*/
void ek_remote_configure(void);

/*
** Attempt ATTEMPT (0 for the first) at reading remote input NAME failed:
** return 0 when the retries allowed (GDAL_HTTP_MAX_RETRY) are used up;
** else forget what GDAL cached about NAME, wait the back-off
** (GDAL_HTTP_RETRY_DELAY doubled at each attempt, at most 60 s), count the
** retry and return 1. Thread-safe.
*/
int ek_remote_retry(const char *name, int attempt);

/* Retries so far in this process: eodkit's re-reads of remote inputs, and
   the HTTP requests GDAL retried itself. */
typedef struct ek_remote_counts {
    unsigned long read_retries;
    unsigned long http_retries;
} ek_remote_counts;

void ek_remote_counts_get(ek_remote_counts *c /* OUT */);

#endif
