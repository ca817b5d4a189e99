/* Container top, stats and update: HTTP in front of the engine's stats.h. Stats stream one
 * sample a second from a worker thread until the client goes or the container stops. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/util.h"
#include "common/cleanup.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "engine/engine.h"
#include "engine/stats.h"

#define SAMPLE_INTERVAL_MS 1000

static struct eng *eng_of(struct api_req *r)
{
    return api_daemon(r)->engine;
}

static void top(struct api_req *r)
{
    _cleanup_berr_ struct berr *err = NULL;
    json_t *out = eng_top(eng_of(r), api_param(r, "id"), api_query(r, "ps_args"), &err);
    if (out == NULL)
        api_reply_berr(r, err);
    else
        api_reply_json(r, 200, out);
}

struct stats_ctx {
    struct eng *e;
    char id[65];
};

/* Waits ms, or less when the client goes; false then. */
static bool pause_unless_gone(int hangup_fd, int ms)
{
    int64_t deadline = time_now_ns() + (int64_t)ms * 1000000;
    for (;;) {
        int64_t left = (deadline - time_now_ns()) / 1000000;
        if (left <= 0)
            return true;
        struct pollfd pf = {.fd = hangup_fd, .events = POLLIN};
        int n = poll(&pf, hangup_fd >= 0 ? 1 : 0, (int)left);
        if (n > 0)
            return false;
        if (n < 0 && errno != EINTR)
            return true;
    }
}

static void stats_stream(struct api_stream *s, void *p)
{
    struct stats_ctx *c = p;
    _cleanup_json_ json_t *prev = NULL;
    for (;;) {
        bool running = false;
        json_t *sample = eng_stats_sample(c->e, c->id, prev, &running, NULL);
        if (sample == NULL)
            return; /* removed */
        json_decref(prev);
        prev = json_incref(sample);
        if (api_stream_write_json_line(s, sample) < 0 || !running)
            return;
        if (!pause_unless_gone(api_stream_hangup_fd(s), SAMPLE_INTERVAL_MS))
            return;
    }
}

static void stats(struct api_req *r)
{
    struct eng *e = eng_of(r);
    bool stream = api_query_bool(r, "stream", true);
    bool one_shot = api_version(r) >= 141 && api_query_bool(r, "one-shot", false);
    _cleanup_berr_ struct berr *err = NULL;
    char id[65];
    if (eng_resolve(e, api_param(r, "id"), id, &err) < 0) {
        api_reply_berr(r, err);
        return;
    }
    if (stream) {
        struct stats_ctx *c = xcalloc(1, sizeof(*c));
        c->e = e;
        memcpy(c->id, id, sizeof(c->id));
        api_reply_stream(r, 200, "application/json", stats_stream, c, free);
        return;
    }
    bool running = false;
    json_t *sample = eng_stats_sample(e, id, NULL, &running, &err);
    if (sample != NULL && running && !one_shot) {
        /* a second sample a moment later, so that precpu_stats says something */
        struct timespec ts = {.tv_sec = SAMPLE_INTERVAL_MS / 1000,
                              .tv_nsec = (SAMPLE_INTERVAL_MS % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
        json_t *next = eng_stats_sample(e, id, sample, &running, &err);
        json_decref(sample);
        sample = next;
    }
    if (sample == NULL)
        api_reply_berr(r, err);
    else
        api_reply_json(r, 200, sample);
}

static void update(struct api_req *r)
{
    json_t *body = api_body_json(r);
    if (body == NULL)
        return;
    if (!json_is_object(body)) {
        api_reply_error(r, 400, "invalid update request: expected a JSON object");
        return;
    }
    _cleanup_json_ json_t *req = json_copy(body);
    /* PidsLimit came with API 1.40; older clients' values are ignored, as Docker does */
    if (api_version(r) < 140)
        json_object_del(req, "PidsLimit");
    json_t *warnings = json_array();
    _cleanup_berr_ struct berr *err = NULL;
    if (eng_update(eng_of(r), api_param(r, "id"), req, warnings, &err) < 0) {
        json_decref(warnings);
        api_reply_berr(r, err);
        return;
    }
    api_reply_json(r, 200, json_pack("{s:o}", "Warnings", warnings));
}

const struct api_route api_stats_routes[] = {
    {"GET", "/containers/{id}/top", top, 0},
    {"GET", "/containers/{id}/stats", stats, 0},
    {"POST", "/containers/{id}/update", update, 0},
    {NULL, NULL, NULL, 0},
};
