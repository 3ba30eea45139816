/*
** Core: acquisition times (eodkit keeps them as seconds since 1970-01-01
** UTC and writes them as ISO 8601, "2017-06-17T11:33:21Z"), and the clock
** that times a build.
*/
#ifndef EK_TIME_H
#define EK_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Parse ISO 8601 TEXT ("2017-06-17", "2017-06-17T11:33:21", with an optional
   "Z"; a space may replace the "T"; "2017/06/17 11:33:21" too) into
   *SECONDS. END_OF_DAY makes a bare date mean its last second. Return 0, or
   -1 when TEXT is not such a time. */
int ek_time_parse_iso(const char *text, int end_of_day, int64_t *seconds);

/* Parse TEXT with strptime FORMAT (UTC); 0 or -1 as above. */
int ek_time_parse_format(const char *text, const char *format, int64_t *seconds);

/* Write SECONDS as "YYYY-MM-DDTHH:MM:SSZ" into BUF (at least 21 bytes). */
void ek_time_format(int64_t seconds, char *buf, size_t size);

/* Seconds on the monotonic clock, for measuring how long things take. */
double ek_time_now(void);

#endif
