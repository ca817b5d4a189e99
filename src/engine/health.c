/* Health checks: a checker thread per running container with a probe, which runs the probe
 * through the engine's exec sessions, kills it at its timeout, and folds each result into
 * State.Health as Docker does (start period, retries, the last five results, an event when
 * the status changes). A thread per container rather than one timer: a probe blocks for up to
 * its timeout, and one container's slow probe must not delay another's. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/human.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "engine/engine_internal.h"
#include "engine/health.h"

#define NS_PER_SEC INT64_C(1000000000)

#define DEFAULT_INTERVAL       (30 * NS_PER_SEC)
#define DEFAULT_TIMEOUT        (30 * NS_PER_SEC)
#define DEFAULT_START_INTERVAL (5 * NS_PER_SEC)
#define DEFAULT_RETRIES        3
#define OUTPUT_MAX             4096 /* Docker's maxOutputLen */
#define LOG_MAX                5    /* Docker's maxLogEntries */
/* How long the runtime's exec process gets to notice that its child was killed. */
#define KILL_GRACE_MS 2000

static const char *const ST_STARTING = "starting", *const ST_HEALTHY = "healthy",
                         *const ST_UNHEALTHY = "unhealthy";

struct probe {
    json_t *argv;
    char *user, *workdir;
    int64_t interval, timeout, start_period, start_interval;
    int64_t retries;
    int64_t started_at; /* the run's State.StartedAt */
};

struct eng_health {
    struct eng *e;
    struct ctr *c; /* holds a reference */
    pthread_t thread;
    int cancel_fd;  /* eventfd: readable once disarmed */
    bool cancelled; /* under e->mu: a result that arrives after this is dropped */
    struct probe p;
};

struct result {
    int64_t start, end;
    int exit_code;
    char *output;
    size_t output_len;
};

static void probe_clear(struct probe *p)
{
    json_decref(p->argv);
    free(p->user);
    free(p->workdir);
    memset(p, 0, sizeof(*p));
}

static int64_t duration_or(json_t *hc, const char *key, int64_t dflt)
{
    json_int_t v = json_integer_value(json_object_get(hc, key));
    return v > 0 ? (int64_t)v : dflt;
}

/* The container's probe from its Config. False without one: no Test, NONE, an empty CMD, or
 * a type Docker ignores (with a warning, as Docker). Under e->mu. */
static bool probe_from_record(struct ctr *c, struct probe *p)
{
    json_t *cfg = json_object_get(c->rec, "Config");
    json_t *hc = json_object_get(cfg, "Healthcheck");
    json_t *test = json_object_get(hc, "Test");
    const char *kind = json_string_value(json_array_get(test, 0));
    if (kind == NULL || strcmp(kind, "NONE") == 0)
        return false;
    json_t *argv;
    if (strcmp(kind, "CMD") == 0) {
        argv = json_array();
    } else if (strcmp(kind, "CMD-SHELL") == 0) {
        json_t *shell = json_object_get(cfg, "Shell");
        argv = json_array_size(shell) > 0 ? json_deep_copy(shell)
                                          : json_pack("[s, s]", "/bin/sh", "-c");
    } else {
        log_warn("container %s: unknown health check type '%s' (expected CMD or CMD-SHELL): "
                 "not checking",
                 c->id, kind);
        return false;
    }
    for (size_t i = 1; i < json_array_size(test); i++)
        json_array_append(argv, json_array_get(test, i));
    if (json_array_size(argv) == 0) {
        json_decref(argv);
        log_warn("container %s: health check CMD has no command: not checking", c->id);
        return false;
    }
    p->argv = argv;
    p->user = xstrdup(json_string_value(json_object_get(cfg, "User")) ?: "");
    p->workdir = xstrdup(json_string_value(json_object_get(cfg, "WorkingDir")) ?: "");
    p->interval = duration_or(hc, "Interval", DEFAULT_INTERVAL);
    p->timeout = duration_or(hc, "Timeout", DEFAULT_TIMEOUT);
    p->start_period = duration_or(hc, "StartPeriod", 0);
    p->start_interval = duration_or(hc, "StartInterval", DEFAULT_START_INTERVAL);
    p->retries = duration_or(hc, "Retries", DEFAULT_RETRIES);
    int64_t t = 0;
    const char *started = json_string_value(json_object_get(ctr_state(c), "StartedAt"));
    if (started != NULL && time_parse_timestamp(started, &t) == 0)
        p->started_at = t;
    return true;
}

/* State.Health, made when missing. Under e->mu. */
static json_t *health_obj(struct ctr *c)
{
    json_t *st = ctr_state(c);
    json_t *h = json_object_get(st, "Health");
    if (!json_is_object(h)) {
        h = json_pack("{s:s, s:i, s:[]}", "Status", ST_STARTING, "FailingStreak", 0, "Log");
        json_object_set_new(st, "Health", h);
    }
    return h;
}

/* Docker reads an unset status as unhealthy (a monitor that never ran). Under e->mu. */
static const char *health_status_of(json_t *h)
{
    const char *s = json_string_value(json_object_get(h, "Status"));
    if (s != NULL && strcmp(s, ST_STARTING) == 0)
        return ST_STARTING;
    if (s != NULL && strcmp(s, ST_HEALTHY) == 0)
        return ST_HEALTHY;
    return ST_UNHEALTHY;
}

/* ---- running one probe ---- */

/* Go's encoding/json writes each byte of invalid UTF-8 as U+FFFD; jansson refuses such text. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
    unsigned char b = s[0];
    size_t n;
    uint32_t cp, min;
    if (b < 0x80)
        return 1;
    if ((b & 0xe0) == 0xc0) {
        n = 2, cp = b & 0x1f, min = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
        n = 3, cp = b & 0x0f, min = 0x800;
    } else if ((b & 0xf8) == 0xf0) {
        n = 4, cp = b & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static json_t *json_text(const char *s, size_t len)
{
    _cleanup_free_ char *out = xmalloc(len * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq((const unsigned char *)s + i, len - i);
        if (n == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        }
    }
    return json_stringn(out, o);
}

struct outbuf {
    char data[OUTPUT_MAX];
    size_t len;
    bool truncated;
};

/* Reads what fd has into b, keeping the first OUTPUT_MAX bytes: > 0 read, 0 at EOF or on an
 * error, -1 when nothing is there now. */
static ssize_t drain(int fd, struct outbuf *b)
{
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof(tmp));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return -1;
    if (n <= 0)
        return 0;
    size_t room = OUTPUT_MAX - b->len;
    size_t keep = (size_t)n < room ? (size_t)n : room;
    memcpy(b->data + b->len, tmp, keep);
    b->len += keep;
    if (keep < (size_t)n)
        b->truncated = true;
    return n;
}

/* Kills the probe: the process the runtime started in the container (SIGKILL cannot be
 * forwarded, so it goes to the runtime's children directly), then the runtime itself if it
 * does not end on its own. */
static void kill_probe(pid_t runtime_pid, int pidfd)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)runtime_pid, (int)runtime_pid);
    _cleanup_free_ char *kids = read_file_at(AT_FDCWD, path, 4096, NULL, NULL);
    bool any = false;
    for (char *s = kids; s != NULL && *s != '\0';) {
        char *end = NULL;
        long pid = strtol(s, &end, 10);
        if (end == s)
            break;
        if (pid > 0) {
            kill((pid_t)pid, SIGKILL);
            any = true;
        }
        s = end;
    }
    if (any && pidfd >= 0) {
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        while (poll(&p, 1, KILL_GRACE_MS) < 0 && errno == EINTR) {
        }
        if (p.revents != 0)
            return;
    }
    kill(runtime_pid, SIGKILL);
}

static void forget_exec_id(struct eng *e, struct ctr *c, const char *exec_id)
{
    pthread_mutex_lock(&e->mu);
    json_t *ids = json_object_get(c->rec, "ExecIDs");
    for (size_t i = 0; i < json_array_size(ids); i++) {
        if (strcmp(json_string_value(json_array_get(ids, i)) ?: "", exec_id) == 0) {
            json_array_remove(ids, i);
            break;
        }
    }
    pthread_mutex_unlock(&e->mu);
}

static void result_error(struct result *r, const char *msg)
{
    r->exit_code = -1;
    r->output = xstrdup(msg);
    r->output_len = strlen(r->output);
}

/* Runs the probe once into r. False when disarmed meanwhile (the probe is killed and r is
 * to be dropped). */
static bool run_probe(struct eng_health *h, struct result *r)
{
    struct eng *e = h->e;
    struct ctr *c = h->c;
    r->start = time_now_ns();
    _cleanup_json_ json_t *body =
        json_pack("{s:O, s:b, s:b, s:b, s:b}", "Cmd", h->p.argv, "AttachStdin", 0, "AttachStdout",
                  1, "AttachStderr", 1, "Tty", 0);
    if (*h->p.user != '\0')
        json_object_set_new(body, "User", json_string(h->p.user));
    if (*h->p.workdir != '\0')
        json_object_set_new(body, "WorkingDir", json_string(h->p.workdir));
    char exec_id[65];
    _cleanup_berr_ struct berr *err = NULL;
    if (eng_exec_create(e, c->id, body, exec_id, &err) < 0) {
        result_error(r, err->msg);
        r->end = time_now_ns();
        return true;
    }
    struct eng_exec_io io;
    if (eng_exec_start(e, exec_id, false, &io, &err) < 0) {
        forget_exec_id(e, c, exec_id);
        eng_exec_release(e, exec_id);
        result_error(r, err->msg);
        r->end = time_now_ns();
        return true;
    }
    _cleanup_close_ int out = steal_fd(&io.out), errfd = steal_fd(&io.err);
    _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, io.pid, 0);
    _cleanup_free_ struct outbuf *buf = xcalloc(1, sizeof(*buf));
    int64_t deadline = time_now_ns() + h->p.timeout;
    bool timed_out = false, cancelled = false, exited = false;
    int poll_errno = 0;
    while (!exited && (out >= 0 || errfd >= 0 || pidfd >= 0)) {
        int64_t left = deadline - time_now_ns();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd pf[4] = {
            {.fd = h->cancel_fd, .events = POLLIN},
            {.fd = out, .events = POLLIN},
            {.fd = errfd, .events = POLLIN},
            {.fd = pidfd, .events = POLLIN},
        };
        struct timespec ts = {.tv_sec = left / NS_PER_SEC, .tv_nsec = left % NS_PER_SEC};
        int n = ppoll(pf, 4, &ts, NULL);
        if (n < 0 && errno != EINTR) {
            poll_errno = errno;
            break;
        }
        if (n <= 0)
            continue;
        if (pf[0].revents != 0) {
            cancelled = true;
            break;
        }
        if (pf[1].revents != 0 && drain(out, buf) == 0)
            closep(&out);
        if (pf[2].revents != 0 && drain(errfd, buf) == 0)
            closep(&errfd);
        if (pf[3].revents != 0)
            exited = true;
    }
    if (timed_out || cancelled || poll_errno != 0) {
        kill_probe(io.pid, pidfd);
    } else if (exited) {
        /* what the probe wrote before it ended; a child it left behind may hold the pipes
         * open, so read only what is there now */
        int fds[2] = {out, errfd};
        for (int i = 0; i < 2; i++) {
            if (fds[i] < 0)
                continue;
            fcntl(fds[i], F_SETFL, O_NONBLOCK);
            while (drain(fds[i], buf) > 0) {
            }
        }
    }
    int code = eng_exec_finish(e, exec_id, io.pid);
    forget_exec_id(e, c, exec_id);
    eng_exec_release(e, exec_id);
    r->end = time_now_ns();
    if (cancelled)
        return false;
    if (poll_errno != 0) {
        _cleanup_free_ char *msg = xasprintf("health check: poll: %s", strerror(poll_errno));
        result_error(r, msg);
        return true;
    }
    /* the output may hold any bytes, NULs included: no string functions on it */
    _cleanup_free_ char *prefix = NULL;
    if (timed_out) {
        _cleanup_free_ char *d = human_go_duration(h->p.timeout);
        prefix = xasprintf("Health check exceeded timeout (%s)%s", d, buf->len > 0 ? ": " : "");
        r->exit_code = -1;
    } else {
        prefix = xstrdup("");
        r->exit_code = code;
    }
    size_t plen = strlen(prefix), n = plen + buf->len;
    r->output = xmalloc(n + 4);
    memcpy(r->output, prefix, plen);
    memcpy(r->output + plen, buf->data, buf->len);
    if (buf->truncated) {
        memcpy(r->output + n, "...", 3);
        n += 3;
    }
    r->output[n] = '\0';
    r->output_len = n;
    return true;
}

/* ---- folding results into State.Health ---- */

/* Docker's handleProbeResult. Returns the new status when it changed, else NULL. Under
 * e->mu. */
static const char *record_result(struct eng_health *h, const struct result *r)
{
    json_t *health = health_obj(h->c);
    const char *old = health_status_of(health);
    json_t *log = json_object_get(health, "Log");
    if (!json_is_array(log)) {
        log = json_array();
        json_object_set_new(health, "Log", log);
    }
    char start[64], end[64];
    time_format_rfc3339(r->start, start, sizeof(start));
    time_format_rfc3339(r->end, end, sizeof(end));
    json_array_append_new(log, json_pack("{s:s, s:s, s:i, s:o}", "Start", start, "End", end,
                                         "ExitCode", r->exit_code, "Output",
                                         json_text(r->output ?: "", r->output_len)));
    while (json_array_size(log) > LOG_MAX)
        json_array_remove(log, 0);

    json_int_t streak = json_integer_value(json_object_get(health, "FailingStreak"));
    const char *now = old;
    if (r->exit_code == 0) {
        streak = 0;
        now = ST_HEALTHY;
    } else if (old != ST_STARTING || r->start - h->p.started_at >= h->p.start_period) {
        /* failures count once the start period is over, or once a probe has passed */
        streak++;
        if (streak >= h->p.retries)
            now = ST_UNHEALTHY;
    }
    json_object_set_new(health, "FailingStreak", json_integer(streak));
    json_object_set_new(health, "Status", json_string(now));
    return now != old ? now : NULL;
}

/* Docker's interval choice: StartInterval while the start period lasts and no probe has
 * passed, Interval otherwise. Under e->mu. */
static int64_t next_delay(struct eng_health *h)
{
    if (time_now_ns() - h->p.started_at >= h->p.start_period)
        return h->p.interval;
    json_t *health = json_object_get(ctr_state(h->c), "Health");
    return health_status_of(health) == ST_STARTING ? h->p.start_interval : h->p.interval;
}

/* The record goes to disk under c->op, which the lifecycle code holds while it waits for
 * this thread: so only try it, and leave it for the next probe when busy. */
static void save(struct eng_health *h)
{
    if (pthread_mutex_trylock(&h->c->op) != 0)
        return;
    _cleanup_berr_ struct berr *err = NULL;
    if (ctr_save(h->e, h->c, &err) < 0)
        log_warn("container %s: saving its health: %s", h->c->id, err->msg);
    pthread_mutex_unlock(&h->c->op);
}

/* True when disarmed before delay_ns passed. */
static bool wait_cancel(struct eng_health *h, int64_t delay_ns)
{
    struct timespec ts = {.tv_sec = delay_ns / NS_PER_SEC, .tv_nsec = delay_ns % NS_PER_SEC};
    struct pollfd p = {.fd = h->cancel_fd, .events = POLLIN};
    for (;;) {
        int64_t start = time_now_ns();
        int n = ppoll(&p, 1, &ts, NULL);
        if (n > 0)
            return true;
        if (n == 0 || errno != EINTR)
            return false;
        delay_ns -= time_now_ns() - start;
        if (delay_ns <= 0)
            return false;
        ts.tv_sec = delay_ns / NS_PER_SEC;
        ts.tv_nsec = delay_ns % NS_PER_SEC;
    }
}

static void *checker_main(void *arg)
{
    struct eng_health *h = arg;
    struct eng *e = h->e;
    for (;;) {
        pthread_mutex_lock(&e->mu);
        int64_t delay = next_delay(h);
        pthread_mutex_unlock(&e->mu);
        if (wait_cancel(h, delay))
            break;
        struct result r = {0};
        bool ran = run_probe(h, &r);
        const char *changed = NULL;
        bool recorded = false;
        pthread_mutex_lock(&e->mu);
        if (ran && !h->cancelled) {
            changed = record_result(h, &r);
            recorded = true;
        }
        pthread_mutex_unlock(&e->mu);
        free(r.output);
        if (!recorded) {
            log_debug("container %s: health checks stopped during a probe", h->c->id);
            break;
        }
        log_debug("container %s: health probe exited with %d", h->c->id, r.exit_code);
        save(h);
        if (changed != NULL) {
            char action[48];
            snprintf(action, sizeof(action), "health_status: %s", changed);
            eng_event(e, h->c, action, NULL);
        }
    }
    return NULL;
}

/* ---- arming and disarming ---- */

/* Starts the checker if the container runs and has a probe. Under e->mu. */
static void arm_locked(struct eng *e, struct ctr *c)
{
    if (c->health != NULL || e->closing || c->removed || strcmp(ctr_status(c), "running") != 0)
        return;
    struct eng_health *h = xcalloc(1, sizeof(*h));
    if (!probe_from_record(c, &h->p)) {
        free(h);
        return;
    }
    health_obj(c);
    h->e = e;
    h->c = c;
    h->cancel_fd = eventfd(0, EFD_CLOEXEC);
    if (h->cancel_fd < 0) {
        log_warn("container %s: no health checks: eventfd: %s", c->id, strerror(errno));
        probe_clear(&h->p);
        free(h);
        return;
    }
    c->refs++;
    int rc = pthread_create(&h->thread, NULL, checker_main, h);
    if (rc != 0) {
        log_warn("container %s: no health checks: cannot start a thread: %s", c->id, strerror(rc));
        c->refs--;
        close(h->cancel_fd);
        probe_clear(&h->p);
        free(h);
        return;
    }
    c->health = h;
}

static void disarm(struct eng *e, struct ctr *c, bool mark_unhealthy)
{
    pthread_mutex_lock(&e->mu);
    struct eng_health *h = steal_ptr(&c->health);
    if (h != NULL) {
        h->cancelled = true;
        json_t *health = json_object_get(ctr_state(c), "Health");
        /* Docker marks a container whose checks stop unhealthy (without an event) */
        if (mark_unhealthy && json_is_object(health))
            json_object_set_new(health, "Status", json_string(ST_UNHEALTHY));
    }
    pthread_mutex_unlock(&e->mu);
    if (h == NULL)
        return;
    uint64_t one = 1;
    if (write(h->cancel_fd, &one, sizeof(one)) != sizeof(one))
        log_warn("container %s: cannot wake its health checker: %s", c->id, strerror(errno));
    pthread_join(h->thread, NULL);
    close(h->cancel_fd);
    probe_clear(&h->p);
    free(h);
    ctr_unref(e, c);
}

void eng_health_init(struct eng *e, struct ctr *c)
{
    /* a restart policy's start comes without a stop */
    disarm(e, c, false);
    struct probe p = {0};
    pthread_mutex_lock(&e->mu);
    if (strcmp(ctr_status(c), "running") == 0 && probe_from_record(c, &p)) {
        json_t *health = health_obj(c);
        json_object_set_new(health, "Status", json_string(ST_STARTING));
        json_object_set_new(health, "FailingStreak", json_integer(0));
        arm_locked(e, c);
    }
    pthread_mutex_unlock(&e->mu);
    probe_clear(&p);
}

void eng_health_update(struct eng *e, struct ctr *c)
{
    pthread_mutex_lock(&e->mu);
    bool want = strcmp(ctr_status(c), "running") == 0 && !e->closing;
    if (want)
        arm_locked(e, c);
    pthread_mutex_unlock(&e->mu);
    if (!want)
        disarm(e, c, true);
}

void eng_health_stop(struct eng *e, struct ctr *c)
{
    disarm(e, c, true);
}

void eng_health_shutdown(struct eng *e)
{
    for (;;) {
        struct ctr *c = NULL;
        pthread_mutex_lock(&e->mu);
        for (size_t i = 0; i < e->n && c == NULL; i++) {
            if (e->ctrs[i]->health != NULL) {
                c = e->ctrs[i];
                c->refs++;
            }
        }
        pthread_mutex_unlock(&e->mu);
        if (c == NULL)
            return;
        disarm(e, c, false);
        ctr_unref(e, c);
    }
}

/* ---- views ---- */

const char *eng_health_status(struct ctr *c)
{
    json_t *health = json_object_get(ctr_state(c), "Health");
    return json_is_object(health) ? health_status_of(health) : "none";
}

const char *eng_health_suffix(struct ctr *c)
{
    const char *s = eng_health_status(c);
    if (strcmp(s, "none") == 0)
        return "";
    if (strcmp(s, ST_STARTING) == 0)
        return " (health: starting)";
    return strcmp(s, ST_HEALTHY) == 0 ? " (healthy)" : " (unhealthy)";
}

int eng_health_check_filter(json_t *values, struct berr **err)
{
    static const char *const valid[] = {"none", "starting", "healthy", "unhealthy"};
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        const char *s = json_string_value(v) ?: "";
        bool ok = false;
        for (size_t k = 0; k < ARRAY_SIZE(valid); k++)
            ok |= strcmp(s, valid[k]) == 0;
        if (!ok)
            return berr_code(err, EINVAL,
                             "invalid filter 'health=%s': invalid value for health (%s): must "
                             "be one of none, starting, healthy, unhealthy",
                             s, s);
    }
    return 0;
}
