/* Unit tests for the monitor's json-file log: entries split at newlines and at 16 KiB, partial
 * lines, escaping as Go's encoder does, Docker's rotation, and the timestamp format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "monitor/logfile.h"

static char tmpdir[64];
static const struct timespec t0 = {0, 0};
#define T0 "1970-01-01T00:00:00.000000000Z"

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/berth-logfile-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    return rm_rf_at(AT_FDCWD, tmpdir, NULL);
}

static char *path_of(const char *name)
{
    return xasprintf("%s/%s", tmpdir, name);
}

static char *slurp(const char *name)
{
    _cleanup_free_ char *p = path_of(name);
    return read_file_at(AT_FDCWD, p, 64 << 20, NULL, NULL);
}

static bool exists(const char *name)
{
    _cleanup_free_ char *p = path_of(name);
    struct stat st;
    return stat(p, &st) == 0;
}

static void remove_logs(const char *name)
{
    for (int i = 0; i < 10; i++) {
        _cleanup_free_ char *p = i ? xasprintf("%s/%s.%d", tmpdir, name, i) : path_of(name);
        unlink(p);
    }
}

static struct mon_log *open_log(const char *name, uint64_t max_size, unsigned max_file)
{
    remove_logs(name);
    _cleanup_free_ char *p = path_of(name);
    struct berr *err = NULL;
    struct mon_log *log = mon_log_open(p, max_size, max_file, NULL, &err);
    assert_null(err);
    assert_non_null(log);
    return log;
}

static void feed(struct mon_log *log, enum mon_stream s, const char *text)
{
    struct berr *err = NULL;
    assert_int_equal(mon_log_feed(log, s, text, strlen(text), &t0, &err), 0);
    assert_null(err);
}

static void flush(struct mon_log *log, enum mon_stream s)
{
    struct berr *err = NULL;
    assert_int_equal(mon_log_flush(log, s, &t0, &err), 0);
    assert_null(err);
}

static char *escaped(const char *s, size_t len)
{
    char *out = xmalloc(MON_JSON_ESCAPED_MAX(len) + 1);
    out[mon_json_escape(out, s, len)] = '\0';
    return out;
}

static void assert_escapes(const char *in, size_t len, const char *want)
{
    _cleanup_free_ char *got = escaped(in, len);
    assert_string_equal(got, want);
}

#define ESC(lit, want) assert_escapes(lit, sizeof(lit) - 1, want)

static void test_escape_ascii(void **state)
{
    ESC("hello world", "\"hello world\"");
    ESC("", "\"\"");
    ESC("say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\"");
    ESC("a\nb\rc\td", "\"a\\nb\\rc\\u0009d\"");
    ESC("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"");
    ESC("nul\0end", "\"nul\\u0000end\"");
    ESC("<a href=x&y>", "\"\\u003ca href=x\\u0026y\\u003e\"");
}

static void test_escape_utf8(void **state)
{
    /* Valid multibyte sequences (2, 3, 4 bytes, U+FFFD itself) pass through unchanged. */
    ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd",
        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd\"");
    /* JavaScript line terminators are escaped. */
    ESC("a\xe2\x80\xa8"
        "b\xe2\x80\xa9",
        "\"a\\u2028b\\u2029\"");
    /* Each byte that is not part of valid UTF-8 becomes one U+FFFD, as Go decodes. */
    ESC("\xff", "\"\\ufffd\"");
    ESC("x\xe2\x82", "\"x\\ufffd\\ufffd\"");                     /* truncated */
    ESC("\xc0\xaf", "\"\\ufffd\\ufffd\"");                       /* overlong */
    ESC("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");            /* overlong, 3 bytes */
    ESC("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");            /* surrogate */
    ESC("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* above U+10FFFF */
    ESC("\x80z", "\"\\ufffdz\"");                                /* stray continuation */
    ESC("\xc3\xa9\xc3", "\"\xc3\xa9\\ufffd\"");
    /* The worst case fits the advertised bound. */
    char worst[64];
    memset(worst, 0xff, sizeof(worst));
    _cleanup_free_ char *w = escaped(worst, sizeof(worst));
    assert_int_equal(strlen(w), MON_JSON_ESCAPED_MAX(sizeof(worst)));
}

static void test_time_format(void **state)
{
    char buf[MON_TIME_LEN];
    mon_format_time(buf, &t0);
    assert_string_equal(buf, T0);
    mon_format_time(buf, &(struct timespec){1795448185, 5});
    assert_string_equal(buf, "2026-11-23T15:36:25.000000005Z");
    mon_format_time(buf, &(struct timespec){951782400, 999999999});
    assert_string_equal(buf, "2000-02-29T00:00:00.999999999Z");
    assert_int_equal(strlen(buf), MON_TIME_LEN - 1);
}

#define OUT(text) "{\"log\":\"" text "\",\"stream\":\"stdout\",\"time\":\"" T0 "\"}\n"
#define ERR(text) "{\"log\":\"" text "\",\"stream\":\"stderr\",\"time\":\"" T0 "\"}\n"

static void test_lines_and_partials(void **state)
{
    struct mon_log *log = open_log("lines", 0, 1);
    feed(log, MON_STDOUT, "one\ntwo\nthr");
    /* A line not yet ended is held... */
    _cleanup_free_ char *mid = slurp("lines");
    assert_string_equal(mid, OUT("one\\n") OUT("two\\n"));
    /* ...joined with what follows, streams kept apart... */
    feed(log, MON_STDERR, "oops\n");
    feed(log, MON_STDOUT, "ee\n\n");
    /* ...and written without its newline when the stream goes quiet. */
    feed(log, MON_STDOUT, "tail");
    flush(log, MON_STDOUT);
    flush(log, MON_STDERR);
    feed(log, MON_STDERR, "\"quoted\"\t\x01\xff\n");
    mon_log_free(log);
    _cleanup_free_ char *got = slurp("lines");
    assert_string_equal(got, OUT("one\\n") OUT("two\\n") ERR("oops\\n") OUT("three\\n") OUT("\\n")
                                 OUT("tail") ERR("\\\"quoted\\\"\\u0009\\u0001\\ufffd\\n"));
}

/* The entries of a log file's "log" fields, each with its length. */
static size_t entry_lengths(const char *text, size_t *lens, size_t max)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, "{\"log\":\"")) != NULL && n < max; n++) {
        p += 8;
        const char *end = strstr(p, "\",\"stream\"");
        assert_non_null(end);
        lens[n] = (size_t)(end - p);
        p = end;
    }
    return n;
}

static void test_long_lines(void **state)
{
    struct mon_log *log = open_log("long", 0, 1);
    size_t big = 40000;
    _cleanup_free_ char *line = xmalloc(big + 2);
    memset(line, 'a', big);
    strcpy(line + big, "\n");
    feed(log, MON_STDOUT, line);
    /* Exactly 16 KiB with no newline yet is a full entry at once; the newline comes alone. */
    line[MON_LOG_LINE_MAX] = '\0';
    feed(log, MON_STDOUT, line);
    feed(log, MON_STDOUT, "\n");
    /* A line of exactly 16 KiB with its newline is one entry. */
    line[MON_LOG_LINE_MAX - 1] = '\n';
    feed(log, MON_STDOUT, line);
    mon_log_free(log);
    _cleanup_free_ char *got = slurp("long");
    size_t lens[10];
    assert_int_equal(entry_lengths(got, lens, 10), 6);
    assert_int_equal(lens[0], MON_LOG_LINE_MAX);
    assert_int_equal(lens[1], MON_LOG_LINE_MAX);
    assert_int_equal(lens[2], big - 2 * MON_LOG_LINE_MAX + 2); /* the rest, then "\n" escaped */
    assert_int_equal(lens[3], MON_LOG_LINE_MAX);
    assert_int_equal(lens[4], 2);
    assert_int_equal(lens[5], MON_LOG_LINE_MAX - 1 + 2);
}

static void test_many_short_lines(void **state)
{
    struct mon_log *log = open_log("many", 0, 1);
    size_t n = 20000;
    _cleanup_free_ char *buf = xmalloc(2 * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(buf + 2 * i, "x\n", 2);
    buf[2 * n] = '\0';
    feed(log, MON_STDOUT, buf);
    mon_log_free(log);
    _cleanup_free_ char *got = slurp("many");
    size_t lines = 0;
    for (const char *p = got; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, n);
    assert_int_equal(strlen(got), n * strlen(OUT("x\\n")));
}

static size_t entry_size(void)
{
    return strlen(OUT("line0\\n"));
}

static void write_lines(struct mon_log *log, int from, int to)
{
    for (int i = from; i < to; i++) {
        char line[16];
        snprintf(line, sizeof(line), "line%d\n", i);
        feed(log, MON_STDOUT, line);
    }
}

static void assert_holds(const char *name, int from, int to)
{
    _cleanup_free_ char *got = slurp(name);
    assert_non_null(got);
    size_t off = 0;
    for (int i = from; i < to; i++) {
        char want[128];
        snprintf(want, sizeof(want), OUT("line%d\\n"), i);
        assert_memory_equal(got + off, want, strlen(want));
        off += strlen(want);
    }
    assert_int_equal(strlen(got), off);
}

static void test_rotation(void **state)
{
    size_t e = entry_size();
    /* Two entries fit exactly: a file may reach max-size, never pass it. */
    struct mon_log *log = open_log("rot", 2 * e, 3);
    write_lines(log, 0, 9);
    mon_log_free(log);
    assert_holds("rot", 8, 9);
    assert_holds("rot.1", 6, 8);
    assert_holds("rot.2", 4, 6);
    assert_false(exists("rot.3"));

    log = open_log("rot", 2 * e - 1, 2);
    write_lines(log, 0, 5);
    mon_log_free(log);
    assert_holds("rot", 4, 5);
    assert_holds("rot.1", 3, 4);
    assert_false(exists("rot.2"));

    /* max-file 1: the file is truncated instead. */
    log = open_log("rot", 3 * e, 1);
    write_lines(log, 0, 7);
    mon_log_free(log);
    assert_holds("rot", 6, 7);
    assert_false(exists("rot.1"));

    /* No limit: nothing rotates. */
    log = open_log("rot", 0, 3);
    write_lines(log, 0, 50);
    mon_log_free(log);
    assert_holds("rot", 0, 50);
    assert_false(exists("rot.1"));

    /* An entry larger than the limit still gets written, alone in a fresh file. */
    log = open_log("rot", 10, 5);
    write_lines(log, 0, 3);
    mon_log_free(log);
    assert_holds("rot", 2, 3);
    assert_holds("rot.1", 1, 2);
    assert_holds("rot.2", 0, 1);
}

static void test_reopen_appends_and_counts(void **state)
{
    size_t e = entry_size();
    struct mon_log *log = open_log("re", 3 * e, 4);
    write_lines(log, 0, 2);
    mon_log_free(log);
    _cleanup_free_ char *p = path_of("re");
    struct berr *err = NULL;
    bool created = true;
    log = mon_log_open(p, 3 * e, 4, &created, &err);
    assert_non_null(log);
    assert_false(created);
    /* The two entries already there count towards the limit. */
    write_lines(log, 2, 4);
    mon_log_free(log);
    assert_holds("re", 3, 4);
    assert_holds("re.1", 0, 3);
}

static void test_open_errors(void **state)
{
    struct berr *err = NULL;
    bool created = false;
    _cleanup_free_ char *fresh = path_of("fresh");
    struct mon_log *log = mon_log_open(fresh, 0, 1, &created, &err);
    assert_non_null(log);
    assert_true(created);
    mon_log_free(log);

    _cleanup_free_ char *missing = path_of("no/such/dir/log");
    assert_null(mon_log_open(missing, 0, 1, NULL, &err));
    assert_non_null(strstr(err->msg, missing));
    assert_non_null(strstr(err->msg, "No such file"));
    berr_freep(&err);

    assert_null(mon_log_open(tmpdir, 0, 1, NULL, &err));
    assert_non_null(err);
    berr_freep(&err);

    assert_null(mon_log_open(fresh, 0, 0, NULL, &err));
    assert_non_null(strstr(err->msg, "at least 1"));
    berr_freep(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_ascii), cmocka_unit_test(test_escape_utf8),
        cmocka_unit_test(test_time_format),  cmocka_unit_test(test_lines_and_partials),
        cmocka_unit_test(test_long_lines),   cmocka_unit_test(test_many_short_lines),
        cmocka_unit_test(test_rotation),     cmocka_unit_test(test_reopen_appends_and_counts),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
