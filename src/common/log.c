/* Log sink: file or stderr, text or JSON lines. */
#include "common/log.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static int log_fd = -1;
static bool log_to_stderr = true;
static enum blog_format log_format = BLOG_TEXT;
static enum blog_level log_level = BLOG_WARN;
static const char *log_name = "berth";

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int blog_open(const char *path, enum blog_format fmt, enum blog_level level, struct berr **err)
{
    log_format = fmt;
    log_level = level;
    if (path == NULL || strcmp(path, "-") == 0 || strcmp(path, "/dev/stderr") == 0)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return berr_sys(err, "open log file %s", path);
    if (log_fd >= 0)
        close(log_fd);
    log_fd = fd;
    log_to_stderr = false;
    return 0;
}

void blog_set_level(enum blog_level level)
{
    log_level = level;
}

void blog_set_name(const char *name)
{
    log_name = name;
}

int blog_fd(void)
{
    return log_fd;
}

static char *format_line(enum blog_level level, const char *msg)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[64];
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%06ldZ", (long)tv.tv_usec);

    if (log_format == BLOG_JSON) {
        _cleanup_json_ json_t *o = json_pack("{s:s,s:s,s:s}", "level", level_names[level], "msg",
                                             msg, "time", ts);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s == NULL)
            return xasprintf("{\"level\":\"%s\",\"msg\":\"(unencodable message)\"}\n",
                             level_names[level]);
        char *line = xasprintf("%s\n", s);
        free(s);
        return line;
    }
    _cleanup_json_ json_t *js = json_string(msg);
    char *quoted = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
    char *line = xasprintf("time=\"%s\" level=%s msg=%s\n", ts, level_names[level],
                           quoted ? quoted : "\"(unencodable message)\"");
    free(quoted);
    return line;
}

void blog(enum blog_level level, const char *fmt, ...)
{
    if (level > log_level && level != BLOG_ERROR)
        return;
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);

    if (log_fd >= 0) {
        _cleanup_free_ char *line = format_line(level, msg);
        (void)write_all(log_fd, line, strlen(line));
    }
    if (log_to_stderr || level == BLOG_ERROR) {
        if (log_fd < 0 && log_format == BLOG_JSON) {
            _cleanup_free_ char *line = format_line(level, msg);
            (void)write_all(2, line, strlen(line));
        } else if (level == BLOG_ERROR) {
            _cleanup_free_ char *line = xasprintf("%s: %s\n", log_name, msg);
            (void)write_all(2, line, strlen(line));
        } else {
            _cleanup_free_ char *line = xasprintf("%s: %s: %s\n", log_name, level_names[level], msg);
            (void)write_all(2, line, strlen(line));
        }
    }
}
