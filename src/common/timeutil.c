/* Time as Docker's API and logs write it: RFC 3339 with nanoseconds in UTC, and the since/until
 * forms (unix seconds with a fraction, or RFC 3339). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timeutil.h"

void time_deadline_ms(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

int64_t time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t time_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void time_format_rfc3339(int64_t unix_ns, char *buf, size_t len)
{
    if (unix_ns <= 0) {
        snprintf(buf, len, "0001-01-01T00:00:00Z");
        return;
    }
    time_t sec = (time_t)(unix_ns / 1000000000);
    long ns = (long)(unix_ns % 1000000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    if (ns == 0) {
        snprintf(buf, len, "%sZ", base);
        return;
    }
    /* Go drops trailing zeros of the fraction */
    char frac[16];
    snprintf(frac, sizeof(frac), "%09ld", ns);
    for (int i = 8; i > 0 && frac[i] == '0'; i--)
        frac[i] = '\0';
    snprintf(buf, len, "%s.%sZ", base, frac);
}

int time_parse_timestamp(const char *s, int64_t *unix_ns)
{
    char *end = NULL;
    long long sec = strtoll(s, &end, 10);
    if (end != s && (*end == '\0' || *end == '.')) {
        int64_t ns = 0;
        if (*end == '.') {
            const char *f = end + 1;
            int digits = 0;
            while (*f >= '0' && *f <= '9') {
                if (digits < 9) {
                    ns = ns * 10 + (*f - '0');
                    digits++;
                }
                f++;
            }
            if (*f != '\0' || digits == 0)
                return -1;
            while (digits++ < 9)
                ns *= 10;
        }
        *unix_ns = (int64_t)sec * 1000000000 + ns;
        return 0;
    }
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == NULL)
        return -1;
    int64_t ns = 0;
    if (*rest == '.') {
        rest++;
        int digits = 0;
        while (*rest >= '0' && *rest <= '9') {
            if (digits < 9) {
                ns = ns * 10 + (*rest - '0');
                digits++;
            }
            rest++;
        }
        while (digits++ < 9)
            ns *= 10;
    }
    int64_t off = 0;
    if (*rest == '+' || *rest == '-') {
        int hh = 0, mm = 0;
        if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        off = (hh * 3600 + mm * 60) * (*rest == '+' ? 1 : -1);
    } else if (*rest != 'Z' && *rest != '\0') {
        return -1;
    }
    *unix_ns = ((int64_t)timegm(&tm) - off) * 1000000000 + ns;
    return 0;
}
