/*
** Core: parsing and writing acquisition times (UTC, ISO 8601).
*/
#define _DEFAULT_SOURCE /* timegm */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ek_time.h"

int ek_time_parse_format(const char *text, const char *format, int64_t *seconds)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof tm);
    end = strptime(text, format, &tm);
    if (end == NULL || *end != '\0') {
        return -1;
    }
    *seconds = (int64_t)timegm(&tm);
    return 0;
}

int ek_time_parse_iso(const char *text, int end_of_day, int64_t *seconds)
{
    static const char *const formats[] = {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S",
                                          "%Y-%m-%d %H:%M:%S",  "%Y/%m/%d %H:%M:%S",
                                          "%Y:%m:%d %H:%M:%S",  NULL};
    size_t i;

    for (i = 0; formats[i] != NULL; i++) {
        if (ek_time_parse_format(text, formats[i], seconds) == 0) {
            return 0;
        }
    }
    if (ek_time_parse_format(text, "%Y-%m-%d", seconds) == 0) {
        *seconds += end_of_day ? 86399 : 0;
        return 0;
    }
    return -1;
}

void ek_time_format(int64_t seconds, char *buf, size_t size)
{
    time_t t = (time_t)seconds;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double ek_time_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
