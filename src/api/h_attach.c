/* Attach: a hijacked connection joined to the container's monitor. Client bytes become stdin
 * frames (watching for the detach keys); the monitor's output frames go to the client raw for
 * a tty, or in Docker's 8-byte multiplexed framing otherwise. Exec sessions reuse the pump. */
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

struct pump {
    int client, mon;
    bool tty, in, out, err;
    struct api_detach det;
    bool detached;
};

/* Client input through the detach-key matcher to the monitor as stdin frames. */
static int forward_input(struct pump *p, const unsigned char *buf, size_t len)
{
    _cleanup_free_ unsigned char *outb = xmalloc(len + 16);
    size_t o = api_detach_filter(&p->det, buf, len, outb, &p->detached);
    return o > 0 ? send_frame(p->mon, 0, outb, o) : 0;
}

void api_pump_session(int client, const void *extra, size_t extra_len, int mon, bool tty, bool in,
                      bool out, bool err, const char *detach_keys)
{
    struct pump p = {.client = client, .mon = mon, .tty = tty, .in = in, .out = out, .err = err};
    p.det.n = detach_keys_parse(detach_keys, p.det.keys);
    if (p.det.n < 0)
        p.det.n = detach_keys_parse(NULL, p.det.keys);
    if (in && extra_len > 0 && forward_input(&p, extra, extra_len) < 0)
        return;
    bool client_open = in;
    unsigned char hdr[8];
    size_t hdr_got = 0;
    size_t payload_left = 0;
    int payload_type = 1;
    unsigned char *buf = xmalloc(65536 + 8);
    while (!p.detached) {
        struct pollfd pf[2] = {{.fd = mon, .events = POLLIN},
                               {.fd = client_open ? client : -1, .events = POLLIN}};
        /* without stdin the client is still watched for a full hang-up */
        if (!client_open) {
            pf[1].fd = client;
            pf[1].events = 0;
        }
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (!client_open) {
                if (pf[1].revents & (POLLHUP | POLLERR))
                    break;
            } else {
                ssize_t n = read(client, buf, 65536);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0) {
                    /* stdin ended: tell the monitor; output keeps flowing */
                    client_open = false;
                    send_frame(mon, 4, NULL, 0);
                } else if (forward_input(&p, buf, (size_t)n) < 0) {
                    break;
                }
            }
        }
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (payload_left == 0) {
                ssize_t n = read(mon, hdr + hdr_got, 8 - hdr_got);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    break;
                hdr_got += (size_t)n;
                if (hdr_got < 8)
                    continue;
                hdr_got = 0;
                payload_type = hdr[0];
                payload_left =
                    (size_t)hdr[4] << 24 | (size_t)hdr[5] << 16 | (size_t)hdr[6] << 8 | hdr[7];
                continue;
            }
            size_t want = payload_left < 65536 ? payload_left : 65536;
            ssize_t n = read(mon, buf + 8, want);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            payload_left -= (size_t)n;
            bool wanted = (payload_type == 1 && out) || (payload_type == 2 && err);
            if (!wanted)
                continue;
            if (tty) {
                if (write_all(client, buf + 8, (size_t)n) < 0)
                    break;
            } else {
                api_frame_header(buf, payload_type, (uint32_t)n);
                if (write_all(client, buf, (size_t)n + 8) < 0)
                    break;
            }
        }
    }
    free(buf);
    shutdown(client, SHUT_WR);
}

struct attach_ctx {
    struct eng *e;
    char id[65];
    bool tty, in, out, err, logs, stream;
    char *detach_keys;
};

static void attach_free(void *p)
{
    struct attach_ctx *c = p;
    free(c->detach_keys);
    free(c);
}

struct log_fwd {
    int fd;
    bool tty;
};

static int log_to_client(void *p, int stream, const char *t, const char *line, size_t len)
{
    struct log_fwd *f = p;
    if (!f->tty) {
        unsigned char hdr[8];
        api_frame_header(hdr, stream, (uint32_t)len);
        if (write_all(f->fd, hdr, 8) < 0)
            return 1;
    }
    return write_all(f->fd, line, len) < 0 ? 1 : 0;
}

static void attach_session(int fd, const void *extra, size_t extra_len, void *p)
{
    struct attach_ctx *c = p;
    if (c->logs) {
        struct eng_log_opts o = {.stdout_ = c->out, .stderr_ = c->err, .tail = -1};
        struct log_fwd f = {.fd = fd, .tty = c->tty};
        eng_logs(c->e, c->id, &o, -1, log_to_client, &f, NULL);
    }
    if (!c->stream)
        return;
    _cleanup_close_ int mon = eng_attach(c->e, c->id, fd, NULL);
    if (mon < 0)
        return;
    api_pump_session(fd, extra, extra_len, mon, c->tty, c->in, c->out, c->err, c->detach_keys);
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
    c->in = api_query_bool(r, "stdin", false);
    c->out = api_query_bool(r, "stdout", false);
    c->err = api_query_bool(r, "stderr", false);
    c->logs = api_query_bool(r, "logs", false);
    c->stream = api_query_bool(r, "stream", false);
    const char *dk = api_query(r, "detachKeys");
    unsigned char keys[DETACH_KEYS_MAX];
    if (dk != NULL && detach_keys_parse(dk, keys) < 0) {
        attach_free(c);
        api_reply_error(r, 400, "Invalid detach keys (%s) provided", dk);
        return;
    }
    c->detach_keys = dk != NULL ? xstrdup(dk) : NULL;
    const char *ctype = c->tty
                            ? "application/vnd.docker.raw-stream"
                            : (api_version(r) >= 142 ? "application/vnd.docker.multiplexed-stream"
                                                     : "application/vnd.docker.raw-stream");
    api_reply_hijack(r, ctype, attach_session, c, attach_free);
}
