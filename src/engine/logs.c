/* Reading a container's json-file log back: rotated files oldest first, --tail, --since and
 * --until, and --follow across rotations until the container stops or the reader goes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "engine/engine_internal.h"

struct log_reader {
    const struct eng_log_opts *o;
    eng_log_fn fn;
    void *ctx;
    /* --tail: the last N entries, kept until the end of the existing files */
    char **tail;
    size_t tail_n, tail_head, tail_len;
    bool stopped;
};

/* Parses one json-file line and hands it on (or to the tail ring). */
static void emit_line(struct log_reader *lr, const char *line, size_t len, bool buffer_tail)
{
    if (buffer_tail && lr->o->tail >= 0) {
        if (lr->o->tail == 0)
            return;
        size_t slot = (lr->tail_head + lr->tail_len) % lr->tail_n;
        if (lr->tail_len == lr->tail_n) {
            free(lr->tail[lr->tail_head]);
            lr->tail_head = (lr->tail_head + 1) % lr->tail_n;
            slot = (lr->tail_head + lr->tail_len - 1) % lr->tail_n;
        } else {
            lr->tail_len++;
        }
        lr->tail[slot] = xstrndup(line, len);
        return;
    }
    json_t *j = json_loadb(line, len, 0, NULL);
    if (j == NULL)
        return; /* a torn last line while the monitor writes: skipped, as Docker does */
    const char *stream = json_string_value(json_object_get(j, "stream"));
    const char *t = json_string_value(json_object_get(j, "time"));
    json_t *logv = json_object_get(j, "log");
    int s = stream != NULL && strcmp(stream, "stderr") == 0 ? 2 : 1;
    int64_t ns = 0;
    bool want = (s == 1 && lr->o->stdout_) || (s == 2 && lr->o->stderr_);
    if (want && t != NULL && time_parse_timestamp(t, &ns) == 0) {
        if (lr->o->since_ns > 0 && ns < lr->o->since_ns)
            want = false;
        if (lr->o->until_ns > 0 && ns > lr->o->until_ns)
            want = false;
    }
    if (want && json_is_string(logv) &&
        lr->fn(lr->ctx, s, t != NULL ? t : "", json_string_value(logv), json_string_length(logv)) !=
            0)
        lr->stopped = true;
    json_decref(j);
}

/* Reads whole lines from fd, keeping a partial last line in *pend. */
static void read_lines(struct log_reader *lr, int fd, char **pend, size_t *pend_len,
                       bool buffer_tail)
{
    char buf[65536];
    for (;;) {
        if (lr->stopped)
            return;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        *pend = xrealloc(*pend, *pend_len + (size_t)n + 1);
        memcpy(*pend + *pend_len, buf, (size_t)n);
        *pend_len += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < *pend_len; i++) {
            if ((*pend)[i] == '\n') {
                emit_line(lr, *pend + start, i - start, buffer_tail);
                start = i + 1;
                if (lr->stopped)
                    return;
            }
        }
        memmove(*pend, *pend + start, *pend_len - start);
        *pend_len -= start;
    }
}

static bool ctr_running(struct eng *e, struct ctr *c)
{
    pthread_mutex_lock(&e->mu);
    const char *st = ctr_status(c);
    bool r = !c->removed && (strcmp(st, "running") == 0 || strcmp(st, "paused") == 0 ||
                             strcmp(st, "restarting") == 0 || c->monitor_pid != 0);
    pthread_mutex_unlock(&e->mu);
    return r;
}

int eng_logs(struct eng *e, const char *ref, const struct eng_log_opts *o, int cancel_fd,
             eng_log_fn fn, void *ctx, struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    pthread_mutex_lock(&e->mu);
    json_t *lc = json_object_get(json_object_get(c->rec, "HostConfig"), "LogConfig");
    const char *type = json_string_value(json_object_get(lc, "Type"));
    _cleanup_free_ char *path =
        xstrdup(json_string_value(json_object_get(c->rec, "LogPath")) ?: "");
    pthread_mutex_unlock(&e->mu);
    if (type != NULL && strcmp(type, "json-file") != 0 && strcmp(type, "local") != 0) {
        ctr_unref(e, c);
        return berr_code(err, EINVAL, "configured logging driver does not support reading: %s",
                         type);
    }
    struct log_reader lr = {.o = o, .fn = fn, .ctx = ctx};
    if (o->tail > 0) {
        lr.tail_n = (size_t)o->tail;
        lr.tail = xcalloc(lr.tail_n, sizeof(char *));
    }
    /* rotated files first, oldest (highest number) first */
    for (int i = 32; i >= 0; i--) {
        _cleanup_free_ char *p = i > 0 ? xasprintf("%s.%d", path, i) : xstrdup(path);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        _cleanup_free_ char *pend = NULL;
        size_t pend_len = 0;
        read_lines(&lr, fd, &pend, &pend_len, true);
    }
    for (size_t i = 0; i < lr.tail_len; i++) {
        size_t k = (lr.tail_head + i) % lr.tail_n;
        if (!lr.stopped)
            emit_line(&lr, lr.tail[k], strlen(lr.tail[k]), false);
        free(lr.tail[k]);
    }
    free(lr.tail);

    if (o->follow && !lr.stopped) {
        /* from the end of what was read: reopen and seek, then poll for growth; a rotation
         * (a new inode at path) is followed once the old file is drained */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0)
            lseek(fd, st.st_size, SEEK_SET);
        _cleanup_free_ char *pend = NULL;
        size_t pend_len = 0;
        bool last_round = false;
        while (!lr.stopped) {
            if (fd < 0)
                fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0)
                read_lines(&lr, fd, &pend, &pend_len, false);
            struct stat now;
            if (fd >= 0 && stat(path, &now) == 0 && fstat(fd, &st) == 0 &&
                now.st_ino != st.st_ino) {
                read_lines(&lr, fd, &pend, &pend_len, false);
                close(fd);
                fd = -1;
                pend_len = 0;
                continue;
            }
            if (last_round)
                break;
            if (!ctr_running(e, c)) {
                last_round = true; /* one more read for what the monitor wrote last */
                continue;
            }
            if (o->until_ns > 0 && time_now_ns() > o->until_ns)
                break;
            struct pollfd p = {.fd = cancel_fd, .events = POLLIN};
            if (poll(&p, cancel_fd >= 0 ? 1 : 0, 100) > 0)
                break;
        }
    }
    ctr_unref(e, c);
    return 0;
}

int eng_container_tty(struct eng *e, const char *ref, bool *tty, struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    pthread_mutex_lock(&e->mu);
    *tty = json_is_true(json_object_get(json_object_get(c->rec, "Config"), "Tty"));
    pthread_mutex_unlock(&e->mu);
    ctr_unref(e, c);
    return 0;
}
