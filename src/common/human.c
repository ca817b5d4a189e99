/* Human-readable sizes, durations, timestamps and progress bars with docker's exact wording
 * (go-units, Go's time package, jsonmessage), plus the size and RFC 3339 parsers behind flags
 * such as --memory and --until. */
#include "common/human.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSEC_PER_SEC INT64_C(1000000000)

static const char *const decimal_units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
static const char *const binary_units[] = {"B",   "KiB", "MiB", "GiB", "TiB",
                                           "PiB", "EiB", "ZiB", "YiB"};

/* Go's %.Ng and C's agree (shortest of %e/%f, trailing zeros dropped, two exponent digits). */
static char *scaled(double size, double base, const char *const *units, int precision)
{
    size_t i = 0;
    while (size >= base && i < 8) {
        size /= base;
        i++;
    }
    return xasprintf("%.*g%s", precision, size, units[i]);
}

char *human_size(double bytes, int precision)
{
    return scaled(bytes, 1000.0, decimal_units, precision);
}

char *human_bytes(double bytes)
{
    return scaled(bytes, 1024.0, binary_units, 4);
}

char *human_duration(int64_t nanos)
{
    double d = (double)nanos;
    long seconds = (long)(d / 1e9), minutes = (long)(d / 60e9), hours = (long)(d / 3600e9 + 0.5);
    if (seconds < 1)
        return xstrdup("Less than a second");
    if (seconds == 1)
        return xstrdup("1 second");
    if (seconds < 60)
        return xasprintf("%ld seconds", seconds);
    if (minutes == 1)
        return xstrdup("About a minute");
    if (minutes < 60)
        return xasprintf("%ld minutes", minutes);
    if (hours == 1)
        return xstrdup("About an hour");
    if (hours < 48)
        return xasprintf("%ld hours", hours);
    if (hours < 24 * 7 * 2)
        return xasprintf("%ld days", hours / 24);
    if (hours < 24 * 30 * 2)
        return xasprintf("%ld weeks", hours / 24 / 7);
    if (hours < 24 * 365 * 2)
        return xasprintf("%ld months", hours / 24 / 30);
    return xasprintf("%ld years", (long)(d / 3600e9) / 24 / 365);
}

char *human_since(const struct timespec *t, const struct timespec *now)
{
    int64_t ns = (int64_t)(now->tv_sec - t->tv_sec) * NSEC_PER_SEC + (now->tv_nsec - t->tv_nsec);
    _cleanup_free_ char *d = human_duration(ns);
    return xasprintf("%s ago", d);
}

/* The fraction part of a number of nanoseconds in a unit of `unit` ns, without trailing
 * zeros: 1500000000 ns in seconds is "1.5". */
static void put_fraction(FILE *f, uint64_t v, uint64_t unit)
{
    fprintf(f, "%" PRIu64, v / unit);
    uint64_t frac = v % unit;
    if (frac == 0)
        return;
    int digits = 0;
    for (uint64_t u = unit; u > 1 && digits < 18; u /= 10)
        digits++;
    char buf[48];
    snprintf(buf, sizeof(buf), "%0*" PRIu64, digits, frac);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '0')
        n--;
    fprintf(f, ".%.*s", (int)n, buf);
}

char *human_go_duration(int64_t nanos)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        abort();
    uint64_t u = nanos < 0 ? 0 - (uint64_t)nanos : (uint64_t)nanos;
    if (nanos < 0)
        fputc('-', f);
    if (u == 0) {
        fputs("0s", f);
    } else if (u < 1000) {
        fprintf(f, "%" PRIu64 "ns", u);
    } else if (u < 1000000) {
        put_fraction(f, u, 1000);
        fputs("\xc2\xb5s", f); /* Go writes microseconds with the micro sign */
    } else if (u < (uint64_t)NSEC_PER_SEC) {
        put_fraction(f, u, 1000000);
        fputs("ms", f);
    } else {
        uint64_t secs = u / (uint64_t)NSEC_PER_SEC;
        if (secs >= 3600)
            fprintf(f, "%" PRIu64 "h", secs / 3600);
        if (secs >= 60)
            fprintf(f, "%" PRIu64 "m", secs / 60 % 60);
        put_fraction(f, u % (60 * (uint64_t)NSEC_PER_SEC), (uint64_t)NSEC_PER_SEC);
        fputc('s', f);
    }
    if (fclose(f) != 0)
        abort();
    return buf;
}

int human_parse_size(const char *s, bool binary, int64_t *out, struct berr **err)
{
    /* the syntax go-units accepts: ^(\d+(\.\d+)*) ?([kmgtp])?i?b?$, case-insensitive */
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return berr_set(err, 0, "invalid size: '%s'", s);
    while (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1])))
        p++;
    size_t numlen = (size_t)(p - s);
    if (*p == ' ')
        p++;
    const char *units = "kmgtp";
    const char *unit = *p ? strchr(units, tolower((unsigned char)*p)) : NULL;
    if (unit)
        p++;
    if (tolower((unsigned char)*p) == 'i')
        p++;
    if (tolower((unsigned char)*p) == 'b')
        p++;
    if (*p != 0)
        return berr_set(err, 0, "invalid size: '%s'", s);
    _cleanup_free_ char *num = xstrndup(s, numlen);
    char *end;
    double size = strtod(num, &end);
    if (*end != 0)
        return berr_set(err, 0, "invalid size: '%s': %s is not a number", s, num);
    for (const char *u = units; unit && u <= unit; u++)
        size *= binary ? 1024.0 : 1000.0;
    if (size >= 9223372036854775807.0)
        return berr_set(err, 0, "invalid size: '%s': too large", s);
    *out = (int64_t)size;
    return 0;
}

static int parse_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (!isdigit((unsigned char)s[k]))
            return -1;
        v = v * 10 + (s[k] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int human_parse_time(const char *s, struct timespec *out, struct berr **err)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec;
    if (strlen(s) < 20 || parse_digits(s, 4, &y) < 0 || s[4] != '-' ||
        parse_digits(s + 5, 2, &mo) < 0 || s[7] != '-' || parse_digits(s + 8, 2, &d) < 0 ||
        (s[10] != 'T' && s[10] != 't') || parse_digits(s + 11, 2, &h) < 0 || s[13] != ':' ||
        parse_digits(s + 14, 2, &mi) < 0 || s[16] != ':' || parse_digits(s + 17, 2, &sec) < 0)
        goto bad;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap(y)) || h > 23 ||
        mi > 59 || sec > 59)
        return berr_set(err, 0, "invalid timestamp \"%s\": a field is out of range", s);
    const char *p = s + 19;
    long nsec = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (digits < 9)
                nsec = nsec * 10 + (*p - '0');
        if (digits == 0)
            goto bad;
        for (; digits < 9; digits++)
            nsec *= 10;
    }
    int offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (parse_digits(p + 1, 2, &oh) < 0 || p[3] != ':' || parse_digits(p + 4, 2, &om) < 0 ||
            oh > 23 || om > 59)
            goto bad;
        offset = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        goto bad;
    }
    if (*p != 0)
        goto bad;
    out->tv_sec = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset);
    out->tv_nsec = nsec;
    return 0;
bad:
    return berr_set(err, 0,
                    "invalid timestamp \"%s\": expected RFC 3339, as in 2006-01-02T15:04:05Z or "
                    "2006-01-02T15:04:05.999999999+07:00",
                    s);
}

static struct tm broken_down(const struct timespec *t, bool local)
{
    struct tm tm;
    time_t secs = t->tv_sec;
    if (local)
        localtime_r(&secs, &tm);
    else
        gmtime_r(&secs, &tm);
    return tm;
}

/* ".123" for 123000000 ns, "" for none: Go's .999999999 layout element. */
static void fraction(char out[32], long nsec)
{
    out[0] = 0;
    if (nsec <= 0 || nsec >= NSEC_PER_SEC)
        return;
    snprintf(out, 32, ".%09ld", nsec);
    size_t n = strlen(out);
    while (out[n - 1] == '0')
        out[--n] = 0;
}

char *human_format_time(const struct timespec *t, bool nano, bool local)
{
    struct tm tm = broken_down(t, local);
    char frac[32], zone[48] = "Z";
    fraction(frac, nano ? t->tv_nsec : 0);
    long off = local ? tm.tm_gmtoff : 0;
    if (off != 0)
        snprintf(zone, sizeof(zone), "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600,
                 labs(off) / 60 % 60);
    return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d%s%s", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac, zone);
}

char *human_time_string(const struct timespec *t)
{
    struct tm tm = broken_down(t, true);
    char frac[32];
    fraction(frac, t->tv_nsec);
    long off = tm.tm_gmtoff;
    return xasprintf("%04d-%02d-%02d %02d:%02d:%02d%s %c%02ld%02ld %s", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac,
                     off < 0 ? '-' : '+', labs(off) / 3600, labs(off) / 60 % 60,
                     tm.tm_zone ? tm.tm_zone : "UTC");
}

char *human_progress(int64_t current, int64_t total, int term_width, int64_t elapsed_ns)
{
    if (current <= 0 && total <= 0)
        return xstrdup("");
    _cleanup_free_ char *cur = human_size((double)current, 4);
    if (total <= 0)
        return xasprintf("%8s", cur);
    int percent = (int)((double)current / (double)total * 100) / 2;
    if (percent > 50)
        percent = 50;
    char bar[64] = "";
    if (term_width > 110) {
        /* docker computes the spaces separately so an overshoot never goes negative */
        int spaces = 50 - percent > 0 ? 50 - percent : 0;
        snprintf(bar, sizeof(bar), "[%.*s>%*s] ", percent,
                 "==================================================", spaces, "");
    }
    _cleanup_free_ char *tot = human_size((double)total, 4);
    _cleanup_free_ char *numbers =
        current > total ? xasprintf("%8s", cur) : xasprintf("%8s/%s", cur, tot);
    _cleanup_free_ char *left = NULL;
    if (current > 0 && elapsed_ns >= 0 && percent < 50 && term_width > 50) {
        int64_t per_byte = elapsed_ns / current;
        int64_t remaining = (total - current) * per_byte;
        left = human_go_duration(remaining / NSEC_PER_SEC * NSEC_PER_SEC);
    }
    return xasprintf("%s%s%s%s", bar, numbers, left ? " " : "", left ? left : "");
}
