/* Attach: a client connection joined to the container's monitor. The session (log replay, then
 * the pump) is shared by POST attach and the WebSocket attach (h_attach_ws.c), which differ only
 * in an adapter: how client bytes become stdin and how output is framed. POST attach's adapter
 * is here: output raw for a tty, or in Docker's 8-byte multiplexed framing otherwise. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/h_containers.h"
#include "api/util.h"
#include "common/cleanup.h"
#include "common/detachkeys.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "engine/engine.h"

static int send_frame(int fd, int type, const void *buf, size_t len)
{
    unsigned char hdr[8];
    api_frame_header(hdr, type, (uint32_t)len);
    if (write_all(fd, hdr, 8) < 0)
        return -1;
    return len > 0 ? write_all(fd, buf, len) : 0;
}

size_t api_detach_filter(struct api_detach *d, const unsigned char *in, size_t len,
                         unsigned char *out, bool *detached)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (d->n > 0 && in[i] == d->keys[d->matched]) {
            if (++d->matched == d->n) {
                *detached = true;
                break;
            }
            continue;
        }
        /* a broken sequence: the held keys were input after all */
        for (int k = 0; k < d->matched; k++)
            out[o++] = d->keys[k];
        d->matched = 0;
        if (d->n > 0 && in[i] == d->keys[0]) {
            d->matched = 1;
            continue;
        }
        out[o++] = in[i];
    }
    return o;
}

#define PUMP_CHUNK 65536

struct pump {
    int mon;
    const struct api_attach_opts *o;
    const struct api_pump_ops *ops;
    void *ctx;
    struct api_detach det;
    bool over;
    enum api_pump_end why;
};

static void pump_end(struct pump *p, enum api_pump_end why)
{
    if (!p->over) {
        p->over = true;
        p->why = why;
    }
}

/* Client bytes: decoded by the adapter, then (stdin attached) through the detach-key matcher
 * to the monitor as stdin frames. */
static void client_input(struct pump *p, unsigned char *buf, size_t len)
{
    bool over = false;
    size_t n = p->ops->decode != NULL ? p->ops->decode(p->ctx, buf, len, &over) : len;
    if (p->o->in && n > 0) {
        _cleanup_free_ unsigned char *outb = xmalloc(n + 16);
        bool detached = false;
        size_t o = api_detach_filter(&p->det, buf, n, outb, &detached);
        if (o > 0 && send_frame(p->mon, 0, outb, o) < 0)
            pump_end(p, API_PUMP_OUTPUT_END);
        if (detached)
            pump_end(p, API_PUMP_DETACHED);
    }
    if (over && !p->over) {
        /* the client's end of the session is the end of its stdin too (not after a detach,
         * which leaves stdin to the next client) */
        if (p->o->in)
            send_frame(p->mon, 4, NULL, 0);
        pump_end(p, API_PUMP_CLIENT_END);
    }
}

static enum api_pump_end pump_run(int client, const void *extra, size_t extra_len, int mon,
                                  const struct api_attach_opts *o, const struct api_pump_ops *ops,
                                  void *ctx)
{
    struct pump p = {.mon = mon, .o = o, .ops = ops, .ctx = ctx};
    p.det.n = detach_keys_parse(o->detach_keys, p.det.keys);
    if (p.det.n < 0)
        p.det.n = detach_keys_parse(NULL, p.det.keys);
    _cleanup_free_ unsigned char *buf = xmalloc(API_PUMP_HEADROOM + PUMP_CHUNK);
    unsigned char *data = buf + API_PUMP_HEADROOM;
    bool reading = o->in || ops->read_always;
    for (size_t off = 0; reading && off < extra_len && !p.over;) {
        size_t n = extra_len - off < PUMP_CHUNK ? extra_len - off : PUMP_CHUNK;
        memcpy(data, (const unsigned char *)extra + off, n);
        client_input(&p, data, n);
        off += n;
    }
    unsigned char hdr[8];
    size_t hdr_got = 0;
    size_t payload_left = 0;
    int payload_type = 1;
    while (!p.over) {
        /* a client that is not read is still watched for a full hang-up */
        struct pollfd pf[2] = {{.fd = mon, .events = POLLIN},
                               {.fd = client, .events = reading ? POLLIN : 0}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            pump_end(&p, API_PUMP_CLIENT_END);
            break;
        }
        if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (!reading) {
                if (pf[1].revents & (POLLHUP | POLLERR))
                    pump_end(&p, API_PUMP_CLIENT_END);
            } else {
                ssize_t n = read(client, data, PUMP_CHUNK);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0) {
                    /* stdin ended: tell the monitor; output may keep flowing */
                    reading = false;
                    if (o->in)
                        send_frame(mon, 4, NULL, 0);
                    if (ops->eof_ends)
                        pump_end(&p, API_PUMP_CLIENT_END);
                } else {
                    client_input(&p, data, (size_t)n);
                }
            }
        }
        if (p.over || !(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (payload_left == 0) {
            ssize_t n = read(mon, hdr + hdr_got, 8 - hdr_got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                pump_end(&p, API_PUMP_OUTPUT_END);
                break;
            }
            hdr_got += (size_t)n;
            if (hdr_got < 8)
                continue;
            hdr_got = 0;
            payload_type = hdr[0];
            payload_left =
                (size_t)hdr[4] << 24 | (size_t)hdr[5] << 16 | (size_t)hdr[6] << 8 | hdr[7];
            continue;
        }
        size_t want = payload_left < PUMP_CHUNK ? payload_left : PUMP_CHUNK;
        ssize_t n = read(mon, data, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            pump_end(&p, API_PUMP_OUTPUT_END);
            break;
        }
        payload_left -= (size_t)n;
        bool wanted = (payload_type == 1 && o->out) || (payload_type == 2 && o->err);
        if (wanted && ops->send(ctx, payload_type, data, (size_t)n) < 0)
            pump_end(&p, API_PUMP_CLIENT_END);
    }
    return p.why;
}

struct log_fwd {
    const struct api_pump_ops *ops;
    void *ctx;
    unsigned char *buf;
    size_t cap;
};

static int log_to_client(void *p, int stream, const char *t, const char *line, size_t len)
{
    struct log_fwd *f = p;
    if (API_PUMP_HEADROOM + len > f->cap) {
        f->cap = API_PUMP_HEADROOM + len;
        f->buf = xrealloc(f->buf, f->cap);
    }
    memcpy(f->buf + API_PUMP_HEADROOM, line, len);
    return f->ops->send(f->ctx, stream, f->buf + API_PUMP_HEADROOM, len) < 0 ? 1 : 0;
}

void api_attach_session(struct eng *e, const char *id, const struct api_attach_opts *o, int fd,
                        const void *extra, size_t extra_len, const struct api_pump_ops *ops,
                        void *ctx)
{
    enum api_pump_end why = API_PUMP_OUTPUT_END;
    if (o->logs) {
        struct eng_log_opts lo = {.stdout_ = o->out, .stderr_ = o->err, .tail = -1};
        struct log_fwd f = {.ops = ops, .ctx = ctx};
        eng_logs(e, id, &lo, -1, log_to_client, &f, NULL);
        free(f.buf);
    }
    if (o->stream) {
        _cleanup_close_ int mon = eng_attach(e, id, fd, NULL);
        if (mon >= 0)
            why = pump_run(fd, extra, extra_len, mon, o, ops, ctx);
    }
    ops->finish(ctx, why);
}

/* ---- POST /containers/{id}/attach: the raw stream ---- */

struct attach_ctx {
    struct eng *e;
    char id[65];
    bool tty;
    struct api_attach_opts o;
    char *detach_keys;
    int fd; /* the client, while the session runs */
};

static void attach_free(void *p)
{
    struct attach_ctx *c = p;
    free(c->detach_keys);
    free(c);
}

/* Output raw for a tty, else in Docker's multiplexed framing. */
static int raw_send(void *p, int stream, unsigned char *buf, size_t len)
{
    struct attach_ctx *c = p;
    if (c->tty)
        return write_all(c->fd, buf, len);
    api_frame_header(buf - 8, stream, (uint32_t)len);
    return write_all(c->fd, buf - 8, len + 8);
}

static void raw_finish(void *p, enum api_pump_end why)
{
    struct attach_ctx *c = p;
    shutdown(c->fd, SHUT_WR);
}

static const struct api_pump_ops raw_ops = {
    .send = raw_send,
    .finish = raw_finish,
};

static void attach_session(int fd, const void *extra, size_t extra_len, void *p)
{
    struct attach_ctx *c = p;
    c->fd = fd;
    api_attach_session(c->e, c->id, &c->o, fd, extra, extra_len, &raw_ops, c);
}

void api_container_attach(struct api_req *r)
{
    struct attach_ctx *c = xcalloc(1, sizeof(*c));
    c->e = api_daemon(r)->engine;
    _cleanup_berr_ struct berr *err = NULL;
    if (eng_resolve(c->e, api_param(r, "id"), c->id, &err) < 0 ||
        eng_container_tty(c->e, c->id, &c->tty, &err) < 0) {
        attach_free(c);
        api_reply_berr(r, err);
        return;
    }
    c->o.in = api_query_bool(r, "stdin", false);
    c->o.out = api_query_bool(r, "stdout", false);
    c->o.err = api_query_bool(r, "stderr", false);
    c->o.logs = api_query_bool(r, "logs", false);
    c->o.stream = api_query_bool(r, "stream", false);
    const char *dk = api_query(r, "detachKeys");
    unsigned char keys[DETACH_KEYS_MAX];
    if (dk != NULL && detach_keys_parse(dk, keys) < 0) {
        attach_free(c);
        api_reply_error(r, 400, "Invalid detach keys (%s) provided", dk);
        return;
    }
    c->detach_keys = dk != NULL ? xstrdup(dk) : NULL;
    c->o.detach_keys = c->detach_keys;
    const char *ctype = c->tty
                            ? "application/vnd.docker.raw-stream"
                            : (api_version(r) >= 142 ? "application/vnd.docker.multiplexed-stream"
                                                     : "application/vnd.docker.raw-stream");
    api_reply_hijack(r, ctype, attach_session, c, attach_free);
}
