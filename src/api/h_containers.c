/* Container endpoints: create, list, inspect, the lifecycle verbs, wait, rename, prune and
 * logs. Attach lives in h_attach.c. Each handler translates between HTTP and the engine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/h_containers.h"
#include "api/h_networks.h"
#include "api/util.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "engine/engine.h"

static struct eng *eng_of(struct api_req *r)
{
    return api_daemon(r)->engine;
}

static void create(struct api_req *r)
{
    json_t *body = api_body_json(r);
    if (body == NULL)
        return;
    if (!json_is_object(body)) {
        api_reply_error(r, 400, "invalid container config: expected a JSON object");
        return;
    }
    /* what older clients could not have meant, as Docker reads their requests */
    json_t *hc = json_object_get(body, "HostConfig");
    int v = api_version(r);
    if (v < 141 && json_is_object(hc) &&
        (!json_is_string(json_object_get(hc, "CgroupnsMode")) ||
         *json_string_value(json_object_get(hc, "CgroupnsMode")) == '\0'))
        json_object_set_new(hc, "CgroupnsMode", json_string("host"));
    if (v < 142 && json_is_object(hc))
        json_object_del(hc, "ConsoleSize");
    json_t *health = json_object_get(body, "Healthcheck");
    if (v < 144 && json_is_object(health))
        json_object_del(health, "StartInterval");
    char id[65];
    json_t *warnings = json_array();
    _cleanup_berr_ struct berr *err = NULL;
    if (eng_create(eng_of(r), api_query(r, "name"), body, id, warnings, &err) < 0) {
        json_decref(warnings);
        api_reply_berr(r, err);
        return;
    }
    api_reply_json(r, 201, json_pack("{s:s, s:o}", "Id", id, "Warnings", warnings));
}

static void list(struct api_req *r)
{
    json_t *filters = api_filters(r);
    int64_t limit = -1;
    if (filters == NULL || api_query_int(r, "limit", -1, &limit) < 0)
        return;
    bool all = api_query_bool(r, "all", false);
    /* "last" and "latest" of old clients are a limit */
    if (limit <= 0 && api_query_bool(r, "latest", false))
        limit = 1;
    if (limit > 0)
        all = true;
    /* a network named by ID or ID prefix: the engine knows network modes by name */
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(filters, "network"), i, v)
    {
        const char *name = api_net_name(api_daemon(r), json_string_value(v));
        if (name != NULL)
            json_array_set_new(json_object_get(filters, "network"), i, json_string(name));
    }
    _cleanup_berr_ struct berr *err = NULL;
    json_t *out =
        eng_list(eng_of(r), all, (int)limit, api_query_bool(r, "size", false), filters, &err);
    if (out == NULL) {
        api_reply_berr(r, err);
        return;
    }
    json_array_foreach(out, i, v) api_net_decorate(api_daemon(r), v);
    api_reply_json(r, 200, out);
}

static void inspect(struct api_req *r)
{
    _cleanup_berr_ struct berr *err = NULL;
    json_t *out =
        eng_inspect(eng_of(r), api_param(r, "id"), api_query_bool(r, "size", false), &err);
    if (out == NULL) {
        api_reply_berr(r, err);
        return;
    }
    api_net_decorate(api_daemon(r), out);
    api_reply_json(r, 200, out);
}

static void reply_done(struct api_req *r, int rc, struct berr *err)
{
    if (rc < 0)
        api_reply_berr(r, err);
    else
        api_reply_json(r, 204, NULL);
}

static void start(struct api_req *r)
{
    _cleanup_berr_ struct berr *err = NULL;
    int rc = eng_start(eng_of(r), api_param(r, "id"), &err);
    reply_done(r, rc, err);
}

/* stop and restart: ?t= (seconds; -1 forever) and ?signal= */
static int stop_args(struct api_req *r, int *timeout)
{
    int64_t t = -1;
    const char *tv = api_query(r, "t");
    if (tv == NULL)
        tv = api_query(r, "timeout");
    if (tv != NULL && *tv != '\0') {
        char *end = NULL;
        t = strtoll(tv, &end, 10);
        if (*end != '\0') {
            api_reply_error(r, 400, "invalid value for t: %s", tv);
            return -1;
        }
    }
    *timeout = tv == NULL || *tv == '\0' ? -1 : (t < 0 ? 1 << 30 : (int)t);
    return 0;
}

static void stop(struct api_req *r)
{
    int timeout;
    if (stop_args(r, &timeout) < 0)
        return;
    _cleanup_berr_ struct berr *err = NULL;
    int rc = eng_stop(eng_of(r), api_param(r, "id"), api_query(r, "signal"), timeout, &err);
    reply_done(r, rc, err);
}

static void restart(struct api_req *r)
{
    int timeout;
    if (stop_args(r, &timeout) < 0)
        return;
    _cleanup_berr_ struct berr *err = NULL;
    int rc = eng_restart(eng_of(r), api_param(r, "id"), api_query(r, "signal"), timeout, &err);
    reply_done(r, rc, err);
}

static void kill_(struct api_req *r)
{
    _cleanup_berr_ struct berr *err = NULL;
    int rc = eng_kill(eng_of(r), api_param(r, "id"), api_query(r, "signal"), &err);
    reply_done(r, rc, err);
}

static void pause_(struct api_req *r)
{
    _cleanup_berr_ struct berr *err = NULL;
    int rc = eng_pause(eng_of(r), api_param(r, "id"), &err);
    reply_done(r, rc, err);
}

static void unpause(struct api_req *r)
{
    _cleanup_berr_ struct berr *err = NULL;
    int rc = eng_unpause(eng_of(r), api_param(r, "id"), &err);
    reply_done(r, rc, err);
}

static void rename_(struct api_req *r)
{
    _cleanup_berr_ struct berr *err = NULL;
    int rc = eng_rename(eng_of(r), api_param(r, "id"), api_query(r, "name"), &err);
    reply_done(r, rc, err);
}

static void remove_(struct api_req *r)
{
    if (api_query_bool(r, "link", false)) {
        api_reply_error(r, 400, "legacy links are not supported");
        return;
    }
    _cleanup_berr_ struct berr *err = NULL;
    int rc = eng_remove(eng_of(r), api_param(r, "id"), api_query_bool(r, "force", false),
                        api_query_bool(r, "v", false), &err);
    reply_done(r, rc, err);
}

static void prune(struct api_req *r)
{
    json_t *filters = api_filters(r);
    if (filters == NULL)
        return;
    _cleanup_berr_ struct berr *err = NULL;
    json_t *out = eng_prune(eng_of(r), filters, &err);
    if (out == NULL)
        api_reply_berr(r, err);
    else
        api_reply_json(r, 200, out);
}

static void resize(struct api_req *r)
{
    int64_t h = 0, w = 0;
    if (api_query_int(r, "h", 0, &h) < 0 || api_query_int(r, "w", 0, &w) < 0)
        return;
    _cleanup_berr_ struct berr *err = NULL;
    int rc = eng_resize(eng_of(r), api_param(r, "id"), (int)h, (int)w, &err);
    if (rc < 0)
        api_reply_berr(r, err);
    else
        api_reply_text(r, 200, "text/plain", "", 0);
}

/* ---- wait ---- */

struct wait_ctx {
    struct eng_waiter *w;
    int version;
};

static void wait_stream(struct api_stream *s, void *p)
{
    struct wait_ctx *c = p;
    int64_t code = 0;
    char *error = NULL;
    int rc = eng_wait_end(c->w, api_stream_hangup_fd(s), &code, &error);
    c->w = NULL;
    if (rc == 0) {
        json_t *out = json_pack("{s:I}", "StatusCode", (json_int_t)code);
        if (c->version >= 130)
            json_object_set_new(out, "Error",
                                error != NULL ? json_pack("{s:s}", "Message", error) : json_null());
        api_stream_write_json_line(s, out);
    }
    free(error);
}

static void wait_done(void *p)
{
    struct wait_ctx *c = p;
    if (c->w != NULL) {
        int64_t code;
        char *error = NULL;
        /* never begun: end it at once (a ready cancel fd) */
        int fds[2];
        if (pipe(fds) == 0) {
            close(fds[1]);
            eng_wait_end(c->w, fds[0], &code, &error);
            close(fds[0]);
        }
        free(error);
    }
    free(c);
}

static void wait_(struct api_req *r)
{
    const char *cond = api_query(r, "condition");
    enum eng_wait_cond wc = ENG_WAIT_NOT_RUNNING;
    if (cond == NULL || *cond == '\0' || strcmp(cond, "not-running") == 0)
        wc = ENG_WAIT_NOT_RUNNING;
    else if (strcmp(cond, "next-exit") == 0)
        wc = ENG_WAIT_NEXT_EXIT;
    else if (strcmp(cond, "removed") == 0)
        wc = ENG_WAIT_REMOVED;
    else {
        api_reply_error(r, 400, "invalid condition: \"%s\"", cond);
        return;
    }
    struct eng_waiter *w = NULL;
    _cleanup_berr_ struct berr *err = NULL;
    if (eng_wait_begin(eng_of(r), api_param(r, "id"), wc, &w, &err) < 0) {
        api_reply_berr(r, err);
        return;
    }
    struct wait_ctx *c = xcalloc(1, sizeof(*c));
    c->w = w;
    c->version = api_version(r);
    /* the answer's headers go out now (the CLI starts the container only once it has them);
     * the body follows at the exit */
    api_reply_stream(r, 200, "application/json", wait_stream, c, wait_done);
}

/* ---- logs ---- */

struct logs_ctx {
    char id[65];
    struct eng *e;
    struct eng_log_opts o;
    bool tty;
    struct api_stream *s;
};

static int log_line(void *p, int stream, const char *t, const char *line, size_t len)
{
    struct logs_ctx *c = p;
    size_t tlen = c->o.timestamps ? strlen(t) + 1 : 0;
    size_t total = tlen + len;
    _cleanup_free_ char *buf = xmalloc(total + 8);
    size_t off = 0;
    if (!c->tty) {
        api_frame_header((unsigned char *)buf, stream, (uint32_t)total);
        off = 8;
    }
    if (tlen > 0) {
        memcpy(buf + off, t, tlen - 1);
        buf[off + tlen - 1] = ' ';
    }
    memcpy(buf + off + tlen, line, len);
    return api_stream_write(c->s, buf, off + total) < 0 ? 1 : 0;
}

static void logs_stream(struct api_stream *s, void *p)
{
    struct logs_ctx *c = p;
    c->s = s;
    eng_logs(c->e, c->id, &c->o, api_stream_hangup_fd(s), log_line, c, NULL);
}

static void logs(struct api_req *r)
{
    struct logs_ctx *c = xcalloc(1, sizeof(*c));
    c->e = eng_of(r);
    _cleanup_berr_ struct berr *err = NULL;
    if (eng_resolve(c->e, api_param(r, "id"), c->id, &err) < 0 ||
        eng_container_tty(c->e, c->id, &c->tty, &err) < 0) {
        free(c);
        api_reply_berr(r, err);
        return;
    }
    c->o.stdout_ = api_query_bool(r, "stdout", false);
    c->o.stderr_ = api_query_bool(r, "stderr", false);
    if (!c->o.stdout_ && !c->o.stderr_) {
        free(c);
        api_reply_error(r, 400, "Bad parameters: you must choose at least one stream");
        return;
    }
    c->o.follow = api_query_bool(r, "follow", false);
    c->o.timestamps = api_query_bool(r, "timestamps", false);
    c->o.tail = -1;
    const char *tail = api_query(r, "tail");
    if (tail != NULL && *tail != '\0' && strcmp(tail, "all") != 0) {
        char *end = NULL;
        long long n = strtoll(tail, &end, 10);
        c->o.tail = *end == '\0' && n >= 0 ? n : -1;
    }
    const char *since = api_query(r, "since"), *until = api_query(r, "until");
    if ((since != NULL && *since != '\0' && strcmp(since, "0") != 0 &&
         time_parse_timestamp(since, &c->o.since_ns) < 0) ||
        (until != NULL && *until != '\0' && strcmp(until, "0") != 0 &&
         time_parse_timestamp(until, &c->o.until_ns) < 0)) {
        free(c);
        api_reply_error(r, 400, "invalid value for since or until: expected a unix time");
        return;
    }
    const char *ctype = c->tty
                            ? "application/vnd.docker.raw-stream"
                            : (api_version(r) >= 142 ? "application/vnd.docker.multiplexed-stream"
                                                     : "application/vnd.docker.raw-stream");
    api_reply_stream(r, 200, ctype, logs_stream, c, free);
}

const struct api_route api_container_routes[] = {
    {"POST", "/containers/create", create, 0},
    {"GET", "/containers/json", list, 0},
    {"POST", "/containers/prune", prune, 0},
    {"GET", "/containers/{id}/json", inspect, 0},
    {"POST", "/containers/{id}/start", start, 0},
    {"POST", "/containers/{id}/stop", stop, 0},
    {"POST", "/containers/{id}/restart", restart, 0},
    {"POST", "/containers/{id}/kill", kill_, 0},
    {"POST", "/containers/{id}/pause", pause_, 0},
    {"POST", "/containers/{id}/unpause", unpause, 0},
    {"POST", "/containers/{id}/rename", rename_, 0},
    {"POST", "/containers/{id}/wait", wait_, 0},
    {"POST", "/containers/{id}/resize", resize, 0},
    {"POST", "/containers/{id}/attach", api_container_attach, 0},
    {"GET", "/containers/{id}/logs", logs, 0},
    {"DELETE", "/containers/{id}", remove_, 0},
    {NULL, NULL, NULL, 0},
};
