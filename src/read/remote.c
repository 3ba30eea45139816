/*
** Read: GDAL's network settings for remote inputs, and the back-off and
** counts of retried remote reads (see ek_remote.h). GDAL retries HTTP 429
** and 5xx answers itself; eodkit retries what is left (dropped
** connections, timeouts, answers GDAL gave up on) by reopening the input.
*/
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cpl_conv.h>
#include <cpl_vsi.h>

#include "core/ek_ctx.h"
#include "core/ek_names.h"
#include "ek_remote.h"

/* Longest wait between two attempts, seconds. */
#define MAX_BACKOFF 60.0

static atomic_ulong read_retries;

/* GDAL's option KEY, VALUE unless set in the environment or by the caller. */
static void set_default(const char *key, const char *value)
{
    if (CPLGetConfigOption(key, NULL) == NULL) {
        CPLSetConfigOption(key, value);
    }
}

void ek_remote_configure(void)
{
    set_default("GDAL_HTTP_MULTIRANGE", "YES");
    set_default("GDAL_HTTP_MERGE_CONSECUTIVE_RANGES", "YES");
    set_default("CPL_VSIL_CURL_CACHE_SIZE", "268435456");
    set_default("GDAL_INGESTED_BYTES_AT_OPEN", "65536");
    set_default("GDAL_HTTP_MAX_RETRY", "4");
    set_default("GDAL_HTTP_RETRY_DELAY", "1");
    set_default("GDAL_HTTP_CONNECTTIMEOUT", "30");
    set_default("GDAL_HTTP_LOW_SPEED_LIMIT", "1");
    set_default("GDAL_HTTP_LOW_SPEED_TIME", "60");
}

int ek_remote_retry(const char *name, int attempt)
{
    int max = atoi(CPLGetConfigOption("GDAL_HTTP_MAX_RETRY", "0"));
    double delay = CPLAtof(CPLGetConfigOption("GDAL_HTTP_RETRY_DELAY", "1"));
    const char *remote = ek_name_remote_part(name);
    struct timespec ts;
    char *prefix;

    if (attempt >= max) {
        return 0;
    }
    /* GDAL may remember the file as missing after a failed request */
    prefix = remote != NULL ? strdup(remote) : NULL;
    if (prefix != NULL) {
        prefix[strcspn(prefix, "\"")] = '\0';
        VSICurlPartialClearCache(prefix);
    }
    free(prefix);
    delay = fmin(ldexp(delay > 0 ? delay : 0, attempt), MAX_BACKOFF);
    ts.tv_sec = (time_t)delay;
    ts.tv_nsec = (long)((delay - floor(delay)) * 1e9);
    nanosleep(&ts, NULL);
    atomic_fetch_add(&read_retries, 1);
    return 1;
}

void ek_remote_counts_get(ek_remote_counts *c)
{
    c->read_retries = atomic_load(&read_retries);
    c->http_retries = ek_gdal_http_retries();
}
