/* The json-file log writer: splits a stream into entries at newlines, escapes them as Go does,
 * stamps them with the time they were read, appends them in batches and rotates the file by
 * size (FILE -> FILE.1 -> ... FILE.(max-1)) before a write that would overflow it. */
#include "monitor/logfile.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Entries are gathered and written together up to this size: a flood of short lines would
 * otherwise cost one write(2) each. */
#define BATCH_MAX 65536
/* A batch buffer up to this size is kept between writes. */
#define KEEP_BATCH 4096

struct pending {
    char *data; /* MON_LOG_LINE_MAX bytes once first needed */
    size_t len;
};

struct mon_log {
    int fd;
    char *path;
    uint64_t size; /* bytes in the file now, not counting the batch */
    uint64_t max_size;
    unsigned max_file;
    struct pending pend[2]; /* per stream: a line not yet ended */
    char *batch;
    size_t batch_len, batch_cap;
    char time[MON_TIME_LEN]; /* the stamp of the entries being gathered */
};

/* Civil date from days since 1970-01-01 (proleptic Gregorian, in 400-year eras). Done here
 * rather than with gmtime_r: that would read /etc/localtime and pull in the time zone code. */
static void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    days += 719468; /* days from 0000-03-01 to 1970-01-01 */
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);                       /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                                    /* March = 0 */
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *put_digits(char *p, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void mon_format_time(char out[MON_TIME_LEN], const struct timespec *ts)
{
    int64_t sec = ts->tv_sec;
    int64_t days = (sec >= 0 ? sec : sec - 86399) / 86400;
    unsigned rem = (unsigned)(sec - days * 86400);
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;
    char *p = put_digits(out, (uint64_t)y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, rem / 3600, 2);
    *p++ = ':';
    p = put_digits(p, rem / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, rem % 60, 2);
    *p++ = '.';
    p = put_digits(p, (uint64_t)ts->tv_nsec, 9);
    *p++ = 'Z';
    *p = '\0';
}

/* Length of the valid UTF-8 sequence at p (at most n bytes available), 0 when invalid, with
 * Go's rules: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_valid_len(const unsigned char *p, size_t n, unsigned *cp)
{
    unsigned char b = p[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
        need = 2;
        *cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        need = 3;
        *cp = b & 0x0f;
        if (b == 0xe0)
            lo = 0xa0;
        else if (b == 0xed)
            hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        need = 4;
        *cp = b & 0x07;
        if (b == 0xf0)
            lo = 0x90;
        else if (b == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if (i > 1 && (p[i] < 0x80 || p[i] > 0xbf))
            return 0;
        *cp = (*cp << 6) | (p[i] & 0x3f);
    }
    return need;
}

size_t mon_json_escape(char *dst, const void *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = src;
    char *d = dst;
    *d++ = '"';
    for (size_t i = 0; i < len;) {
        unsigned char b = s[i];
        if (b < 0x80) {
            i++;
            if (b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&') {
                *d++ = (char)b;
            } else if (b == '"' || b == '\\') {
                *d++ = '\\';
                *d++ = (char)b;
            } else if (b == '\n') {
                *d++ = '\\';
                *d++ = 'n';
            } else if (b == '\r') {
                *d++ = '\\';
                *d++ = 'r';
            } else {
                /* < > & too: logs end up in web pages, where these start markup. */
                memcpy(d, "\\u00", 4);
                d[4] = hex[b >> 4];
                d[5] = hex[b & 0xf];
                d += 6;
            }
            continue;
        }
        unsigned cp;
        size_t n = utf8_valid_len(s + i, len - i, &cp);
        if (n == 0) {
            memcpy(d, "\\ufffd", 6);
            d += 6;
            i++;
        } else if (cp == 0x2028 || cp == 0x2029) {
            /* Valid JSON, but line terminators to JavaScript. */
            memcpy(d, "\\u202", 5);
            d[5] = hex[cp & 0xf];
            d += 6;
            i += n;
        } else {
            memcpy(d, s + i, n);
            d += n;
            i += n;
        }
    }
    *d++ = '"';
    return (size_t)(d - dst);
}

struct mon_log *mon_log_open(const char *path, uint64_t max_size, unsigned max_file, bool *created,
                             struct berr **err)
{
    if (max_file < 1)
        return berr_set(err, EINVAL, "log %s: the number of files must be at least 1", path), NULL;
    bool made = true;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0 && errno == EEXIST) {
        made = false;
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0)
        return berr_sys(err, "open log file %s", path), NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (S_ISREG(st.st_mode))
            berr_sys(err, "stat log file %s", path);
        else
            berr_set(err, EINVAL, "log file %s is not a regular file", path);
        close(fd);
        return NULL;
    }
    struct mon_log *log = xzalloc(sizeof(*log));
    log->fd = fd;
    log->path = xstrdup(path);
    log->size = (uint64_t)st.st_size;
    log->max_size = max_size;
    log->max_file = max_file;
    if (created)
        *created = made;
    return log;
}

void mon_log_free(struct mon_log *log)
{
    if (log == NULL)
        return;
    if (log->fd >= 0)
        close(log->fd);
    free(log->pend[0].data);
    free(log->pend[1].data);
    free(log->batch);
    free(log->path);
    free(log);
}

static int rotate(struct mon_log *log, struct berr **err)
{
    if (log->max_file <= 1) {
        if (ftruncate(log->fd, 0) < 0)
            return berr_sys(err, "truncate log file %s", log->path);
        log->size = 0;
        return 0;
    }
    for (unsigned i = log->max_file - 1; i > 1; i--) {
        _cleanup_free_ char *from = xasprintf("%s.%u", log->path, i - 1);
        _cleanup_free_ char *to = xasprintf("%s.%u", log->path, i);
        if (rename(from, to) < 0 && errno != ENOENT)
            return berr_sys(err, "rotate log file %s to %s", from, to);
    }
    _cleanup_free_ char *first = xasprintf("%s.1", log->path);
    if (rename(log->path, first) < 0)
        return berr_sys(err, "rotate log file %s to %s", log->path, first);
    /* Until the new file opens, entries keep going to the old one (now FILE.1): a full
     * directory should not cost the container its output. */
    int fd =
        open(log->path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return berr_sys(err, "open log file %s after rotating it", log->path);
    close(log->fd);
    log->fd = fd;
    log->size = 0;
    return 0;
}

static int write_batch(struct mon_log *log, size_t n, struct berr **err)
{
    if (n == 0)
        return 0;
    int r = 0;
    if (write_all(log->fd, log->batch, n) < 0)
        r = berr_sys(err, "write log file %s", log->path);
    else
        log->size += n;
    memmove(log->batch, log->batch + n, log->batch_len - n);
    log->batch_len -= n;
    if (log->batch_len == 0 && log->batch_cap > KEEP_BATCH) {
        /* Output comes in bursts; an idle monitor should not hold the last one's buffer. */
        free(steal_ptr(&log->batch));
        log->batch_cap = 0;
    }
    return r;
}

static int add_entry(struct mon_log *log, enum mon_stream s, const char *data, size_t n,
                     struct berr **err)
{
    static const char head[] = "{\"log\":";
    const char *tail = s == MON_STDERR ? ",\"stream\":\"stderr\",\"time\":\""
                                       : ",\"stream\":\"stdout\",\"time\":\"";
    size_t need = sizeof(head) + MON_JSON_ESCAPED_MAX(n) + strlen(tail) + MON_TIME_LEN + 3;
    if (log->batch_len + need > log->batch_cap) {
        log->batch_cap =
            log->batch_cap * 2 > log->batch_len + need ? log->batch_cap * 2 : log->batch_len + need;
        log->batch = xrealloc(log->batch, log->batch_cap);
    }
    size_t before = log->batch_len;
    char *d = log->batch + before;
    memcpy(d, head, sizeof(head) - 1);
    d += sizeof(head) - 1;
    d += mon_json_escape(d, data, n);
    d = stpcpy(d, tail);
    d = stpcpy(d, log->time);
    d = stpcpy(d, "\"}\n");
    log->batch_len = (size_t)(d - log->batch);

    int r = 0;
    size_t entry = log->batch_len - before;
    uint64_t used = log->size + before;
    if (log->max_size > 0 && used > 0 && used + entry > log->max_size) {
        if (write_batch(log, before, err) < 0)
            r = -1;
        if (rotate(log, err) < 0)
            r = -1;
    }
    if (log->batch_len >= BATCH_MAX && write_batch(log, log->batch_len, err) < 0)
        r = -1;
    return r;
}

int mon_log_feed(struct mon_log *log, enum mon_stream s, const void *buf, size_t len,
                 const struct timespec *now, struct berr **err)
{
    struct pending *pd = &log->pend[s == MON_STDERR];
    const char *p = buf;
    int r = 0;
    mon_format_time(log->time, now);
    while (len > 0) {
        const char *nl = memchr(p, '\n', len);
        size_t take = nl ? (size_t)(nl - p) + 1 : len;
        bool ended = nl != NULL;
        if (pd->len + take >= MON_LOG_LINE_MAX) {
            /* A full entry; cut short of its newline when the line is longer. */
            take = MON_LOG_LINE_MAX - pd->len;
            ended = true;
        }
        if (ended && pd->len == 0) {
            if (add_entry(log, s, p, take, err) < 0)
                r = -1;
        } else {
            if (pd->data == NULL)
                pd->data = xmalloc(MON_LOG_LINE_MAX);
            memcpy(pd->data + pd->len, p, take);
            pd->len += take;
            if (ended) {
                if (add_entry(log, s, pd->data, pd->len, err) < 0)
                    r = -1;
                pd->len = 0;
            }
        }
        p += take;
        len -= take;
    }
    if (write_batch(log, log->batch_len, err) < 0)
        r = -1;
    return r;
}

int mon_log_flush(struct mon_log *log, enum mon_stream s, const struct timespec *now,
                  struct berr **err)
{
    struct pending *pd = &log->pend[s == MON_STDERR];
    if (pd->len == 0)
        return 0;
    mon_format_time(log->time, now);
    int r = add_entry(log, s, pd->data, pd->len, err);
    pd->len = 0;
    free(steal_ptr(&pd->data));
    if (write_batch(log, log->batch_len, err) < 0)
        r = -1;
    return r;
}
