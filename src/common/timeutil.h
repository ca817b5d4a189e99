/* Docker's time formats. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int64_t time_now_ns(void);
/* CLOCK_MONOTONIC in ns: for intervals and deadlines that wall-clock changes must not move. */
int64_t time_mono_ns(void);
/* "2026-11-23T10:11:12.123456789Z" as Go prints a UTC time (trailing fraction zeros dropped);
 * 0 or less gives Go's zero time "0001-01-01T00:00:00Z". */
void time_format_rfc3339(int64_t unix_ns, char *buf, size_t len);
/* Unix seconds with an optional fraction ("1700000000.5"), or RFC 3339. -1 when neither. */
int time_parse_timestamp(const char *s, int64_t *unix_ns);
/* An absolute CLOCK_REALTIME time ms milliseconds from now, for pthread_cond_timedwait. */
struct timespec;
void time_deadline_ms(struct timespec *ts, int64_t ms);
