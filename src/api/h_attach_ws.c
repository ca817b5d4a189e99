/* GET /containers/{id}/attach/ws: attach over a WebSocket (RFC 6455). Docker's checks come
 * first (detach keys, the container and its state), then the opening handshake; the session
 * is attach's (h_attach.c) with a WebSocket adapter: each chunk of output is one frame, never
 * multiplexed; the client's data frames are stdin; pings are answered; the client's close is
 * answered and ends the session; a session that ends on our side closes with 1000 and gives
 * the client a moment to answer before the connection goes. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/h_containers.h"
#include "api/websocket.h"
#include "common/cleanup.h"
#include "common/detachkeys.h"
#include "common/fsutil.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "engine/engine.h"

/* Client payloads are streamed to stdin, never held whole, so this bounds nothing in memory;
 * it refuses absurd declared lengths while leaving room for a file sent as one frame. */
#define WS_MAX_FRAME (16u << 20)
/* How long a session we close waits for the client's closing frame (RFC 6455 7.1.1: the
 * server should close the connection after the close handshake, not before). */
#define CLOSE_WAIT_MS 2000

struct ws_session {
    struct eng *e;
    char id[65];
    struct api_attach_opts o;
    char *detach_keys;
    enum ws_opcode out_op;
    int fd;
    struct ws_parser parser;
    bool close_sent;
};

static void session_free(void *p)
{
    struct ws_session *s = p;
    free(s->detach_keys);
    free(s);
}

static int send_control(struct ws_session *s, enum ws_opcode op, const void *payload, size_t len)
{
    unsigned char frame[WS_HEADER_MAX + WS_CONTROL_MAX];
    size_t h = ws_frame_header(frame, op, len);
    if (len > 0)
        memcpy(frame + h, payload, len);
    return write_all(s->fd, frame, h + len);
}

/* After a close frame nothing more may be sent (RFC 6455 5.5.1), so one is sent at most. */
static int send_close(struct ws_session *s, uint16_t code)
{
    if (s->close_sent)
        return 0;
    s->close_sent = true;
    unsigned char frame[2 + WS_CONTROL_MAX];
    size_t n = ws_close_frame(frame, code, NULL);
    return write_all(s->fd, frame, n);
}

static int ws_send(void *p, int stream, unsigned char *buf, size_t len)
{
    struct ws_session *s = p;
    if (s->close_sent)
        return -1;
    if (len == 0)
        return 0;
    unsigned char hdr[WS_HEADER_MAX];
    size_t h = ws_frame_header(hdr, s->out_op, len);
    memcpy(buf - h, hdr, h);
    return write_all(s->fd, buf - h, h + len);
}

static size_t ws_decode(void *p, unsigned char *buf, size_t len, bool *over)
{
    struct ws_session *s = p;
    size_t off = 0, out = 0;
    while (off < len && !*over) {
        struct ws_event ev;
        off += ws_parse(&s->parser, buf + off, len - off, &ev);
        switch (ev.kind) {
        case WS_EV_NONE:
            break;
        case WS_EV_DATA:
            /* payload sits after its header, so stdin compacts to the front of buf */
            memmove(buf + out, ev.data, ev.len);
            out += ev.len;
            break;
        case WS_EV_CONTROL:
            if (ev.opcode == WS_OP_PING) {
                if (send_control(s, WS_OP_PONG, ev.data, ev.len) < 0)
                    *over = true;
            } else if (ev.opcode == WS_OP_CLOSE) {
                /* echo the client's code, as RFC 6455 5.5.1 suggests */
                send_close(s, ev.code);
                *over = true;
            }
            break;
        case WS_EV_ERROR:
            send_close(s, ev.code);
            *over = true;
            break;
        }
    }
    return out;
}

static int64_t now_ms(void)
{
    return time_mono_ns() / 1000000;
}

/* Our close is sent: reads (and drops) what the client still sends until its close, its
 * hang-up or the deadline. */
static void await_close(struct ws_session *s)
{
    unsigned char buf[4096];
    int64_t deadline = now_ms() + CLOSE_WAIT_MS;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return;
        struct pollfd pf = {.fd = s->fd, .events = POLLIN};
        int rc = poll(&pf, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return;
        ssize_t n = read(s->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        for (size_t off = 0; off < (size_t)n;) {
            struct ws_event ev;
            off += ws_parse(&s->parser, buf + off, (size_t)n - off, &ev);
            if (ev.kind == WS_EV_ERROR || (ev.kind == WS_EV_CONTROL && ev.opcode == WS_OP_CLOSE))
                return;
        }
    }
}

static void ws_finish(void *p, enum api_pump_end why)
{
    struct ws_session *s = p;
    /* the client closed (already answered) or is gone: nothing more to say */
    if (s->close_sent || why == API_PUMP_CLIENT_END)
        return;
    if (send_close(s, WS_CLOSE_NORMAL) == 0)
        await_close(s);
}

static const struct api_pump_ops ws_ops = {
    .decode = ws_decode,
    .send = ws_send,
    .finish = ws_finish,
    .read_always = true,
    .eof_ends = true,
};

static void session_run(int fd, const void *extra, size_t extra_len, void *p)
{
    struct ws_session *s = p;
    s->fd = fd;
    api_attach_session(s->e, s->id, &s->o, fd, extra, extra_len, &ws_ops, s);
}

/* Docker refuses to attach to a paused or restarting container (409). */
static int check_state(struct eng *e, const char *ref, const char *id, char *msg, size_t size,
                       struct berr **err)
{
    _cleanup_json_ json_t *j = eng_inspect(e, id, false, err);
    if (j == NULL)
        return -1;
    json_t *st = json_object_get(j, "State");
    if (json_is_true(json_object_get(st, "Paused")))
        snprintf(msg, size, "container %s is paused, unpause the container before attach", ref);
    else if (json_is_true(json_object_get(st, "Restarting")))
        snprintf(msg, size, "container %s is restarting, wait until the container is running", ref);
    else
        msg[0] = '\0';
    return 0;
}

static void container_attach_ws(struct api_req *r)
{
    struct eng *e = api_daemon(r)->engine;
    const char *ref = api_param(r, "id");
    const char *dk = api_query(r, "detachKeys");
    unsigned char keys[DETACH_KEYS_MAX];
    if (dk != NULL && detach_keys_parse(dk, keys) < 0) {
        api_reply_error(r, 400, "Invalid detach keys (%s) provided", dk);
        return;
    }
    char id[65];
    char conflict[512];
    _cleanup_berr_ struct berr *err = NULL;
    if (eng_resolve(e, ref, id, &err) < 0 ||
        check_state(e, ref, id, conflict, sizeof(conflict), &err) < 0) {
        api_reply_berr(r, err);
        return;
    }
    if (conflict[0] != '\0') {
        api_reply_error(r, 409, "%s", conflict);
        return;
    }

    struct ws_handshake h;
    if (ws_handshake_check(&h, api_method(r), api_header(r, "Upgrade"), api_header(r, "Connection"),
                           api_header(r, "Sec-WebSocket-Key"),
                           api_header(r, "Sec-WebSocket-Version")) < 0) {
        if (h.bad_version)
            api_add_header(r, "Sec-WebSocket-Version", "13");
        api_reply_text(r, h.status, "text/plain; charset=utf-8", h.error, strlen(h.error));
        return;
    }

    struct ws_session *s = xcalloc(1, sizeof(*s));
    s->e = e;
    memcpy(s->id, id, sizeof(s->id));
    s->fd = -1;
    /* binary frames from API 1.28 on (moby#28176): output is bytes, not always UTF-8 text */
    s->out_op = api_version(r) >= 128 ? WS_OP_BINARY : WS_OP_TEXT;
    /* before API 1.42 Docker ignored stdin, stdout and stderr here and attached all three */
    bool all = api_version(r) < 142;
    s->o.in = all || api_query_bool(r, "stdin", false);
    s->o.out = all || api_query_bool(r, "stdout", false);
    s->o.err = all || api_query_bool(r, "stderr", false);
    s->o.logs = api_query_bool(r, "logs", false);
    s->o.stream = api_query_bool(r, "stream", false);
    s->detach_keys = dk != NULL ? xstrdup(dk) : NULL;
    s->o.detach_keys = s->detach_keys;
    ws_parser_init(&s->parser, WS_MAX_FRAME);

    api_add_header(r, "Sec-WebSocket-Accept", h.accept);
    char proto[128];
    /* the first subprotocol offered, as golang.org/x/net/websocket answers a single one */
    if (ws_pick_protocol(api_header(r, "Sec-WebSocket-Protocol"), proto, sizeof(proto)))
        api_add_header(r, "Sec-WebSocket-Protocol", proto);
    api_reply_upgrade(r, "websocket", session_run, s, session_free);
}

const struct api_route api_attach_ws_routes[] = {
    {"GET", "/containers/{id}/attach/ws", container_attach_ws, 0},
    {NULL, NULL, NULL, 0},
};
