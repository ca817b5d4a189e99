/* Exec endpoints: create, start (a hijacked session pumping the process's pipes or terminal),
 * resize and inspect. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api.h"
#include "api/h_containers.h"
#include "api/util.h"
#include "common/cleanup.h"
#include "common/detachkeys.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "engine/engine.h"

static void exec_create(struct api_req *r)
{
    json_t *body = api_body_json(r);
    if (body == NULL)
        return;
    char id[65];
    _cleanup_berr_ struct berr *err = NULL;
    if (eng_exec_create(api_daemon(r)->engine, api_param(r, "id"), body, id, &err) < 0) {
        api_reply_berr(r, err);
        return;
    }
    api_reply_json(r, 201, json_pack("{s:s}", "Id", id));
}

struct exec_session {
    struct eng *e;
    char id[65];
    struct eng_exec_io io;
    char *detach_keys;
};

static void session_free(void *p)
{
    struct exec_session *s = p;
    if (s->io.in >= 0)
        close(s->io.in);
    if (s->io.out >= 0)
        close(s->io.out);
    if (s->io.err >= 0)
        close(s->io.err);
    if (s->io.pty >= 0)
        close(s->io.pty);
    if (s->io.pid > 0)
        eng_exec_finish(s->e, s->id, s->io.pid);
    free(s->detach_keys);
    free(s);
}

/* Pumps until the process's output ends (its pipes or terminal close) or the client detaches
 * or goes. */
static void exec_pump(int client, const void *extra, size_t extra_len, void *p)
{
    struct exec_session *s = p;
    struct eng_exec_io *io = &s->io;
    struct api_detach det = {0};
    det.n = detach_keys_parse(s->detach_keys, det.keys);
    if (det.n < 0)
        det.n = detach_keys_parse(NULL, det.keys);
    int in_fd = io->tty ? io->pty : io->in;
    bool client_open = in_fd >= 0;
    if (client_open && extra_len > 0)
        write_all(in_fd, extra, extra_len);
    unsigned char *buf = xmalloc(65536 + 8);
    unsigned char *inb = xmalloc(65536 + 16);
    int open_outputs = io->tty ? 1 : (io->out >= 0) + (io->err >= 0);
    while (open_outputs > 0) {
        struct pollfd pf[4] = {
            {.fd = io->tty ? io->pty : io->out, .events = POLLIN},
            {.fd = io->tty ? -1 : io->err, .events = POLLIN},
            {.fd = client, .events = client_open ? POLLIN : 0},
        };
        if (poll(pf, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[2].revents & (POLLHUP | POLLERR) && !(pf[2].revents & POLLIN))
            break; /* the client is gone */
        if (client_open && (pf[2].revents & POLLIN)) {
            ssize_t n = read(client, buf, 65536);
            if (n <= 0) {
                client_open = false;
                if (!io->tty && io->in >= 0) {
                    close(io->in);
                    io->in = -1;
                }
            } else {
                bool detach = false;
                size_t o = api_detach_filter(&det, buf, (size_t)n, inb, &detach);
                if (o > 0 && write_all(in_fd, inb, o) < 0)
                    client_open = false;
                if (detach)
                    break;
            }
        }
        for (int k = 0; k < 2; k++) {
            if (pf[k].fd < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(pf[k].fd, buf + 8, 65536);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                /* a terminal's master reads EIO once the process side closes */
                open_outputs--;
                if (io->tty) {
                    break;
                }
                if (k == 0) {
                    close(io->out);
                    io->out = -1;
                } else {
                    close(io->err);
                    io->err = -1;
                }
                continue;
            }
            if (io->tty) {
                if (write_all(client, buf + 8, (size_t)n) < 0)
                    open_outputs = 0;
            } else {
                api_frame_header(buf, k + 1, (uint32_t)n);
                if (write_all(client, buf, (size_t)n + 8) < 0)
                    open_outputs = 0;
            }
        }
    }
    free(buf);
    free(inb);
    /* The output has ended: the exit code is recorded before the client sees the end of the
     * stream, since docker asks for it (exec inspect) as soon as it does. */
    if (open_outputs <= 0 && io->pid > 0) {
        eng_exec_finish(s->e, s->id, io->pid);
        io->pid = 0;
    }
    shutdown(client, SHUT_WR);
}

static void exec_start(struct api_req *r)
{
    json_t *body = api_body_json(r);
    if (body == NULL)
        return;
    struct exec_session *s = xcalloc(1, sizeof(*s));
    s->e = api_daemon(r)->engine;
    snprintf(s->id, sizeof(s->id), "%s", api_param(r, "id"));
    bool detach = json_is_true(json_object_get(body, "Detach"));
    _cleanup_berr_ struct berr *err = NULL;
    json_t *info = eng_exec_inspect(s->e, s->id, &err);
    if (info == NULL) {
        free(s);
        api_reply_berr(r, err);
        return;
    }
    const char *dk = json_string_value(json_object_get(info, "DetachKeys"));
    s->detach_keys = dk != NULL && *dk != '\0' ? xstrdup(dk) : NULL;
    json_decref(info);
    if (eng_exec_start(s->e, s->id, detach, &s->io, &err) < 0) {
        free(s->detach_keys);
        free(s);
        api_reply_berr(r, err);
        return;
    }
    if (detach) {
        session_free(s);
        api_reply_text(r, 200, "application/json", "", 0);
        return;
    }
    const char *ctype = s->io.tty
                            ? "application/vnd.docker.raw-stream"
                            : (api_version(r) >= 142 ? "application/vnd.docker.multiplexed-stream"
                                                     : "application/vnd.docker.raw-stream");
    api_reply_hijack(r, ctype, exec_pump, s, session_free);
}

static void exec_resize(struct api_req *r)
{
    int64_t h = 0, w = 0;
    if (api_query_int(r, "h", 0, &h) < 0 || api_query_int(r, "w", 0, &w) < 0)
        return;
    _cleanup_berr_ struct berr *err = NULL;
    if (eng_exec_resize(api_daemon(r)->engine, api_param(r, "id"), (int)h, (int)w, &err) < 0)
        api_reply_berr(r, err);
    else
        api_reply_text(r, 200, "text/plain", "", 0);
}

static void exec_inspect(struct api_req *r)
{
    _cleanup_berr_ struct berr *err = NULL;
    json_t *out = eng_exec_inspect(api_daemon(r)->engine, api_param(r, "id"), &err);
    if (out == NULL)
        api_reply_berr(r, err);
    else
        api_reply_json(r, 200, out);
}

const struct api_route api_exec_routes[] = {
    {"POST", "/containers/{id}/exec", exec_create, 0},
    {"POST", "/exec/{id}/start", exec_start, 0},
    {"POST", "/exec/{id}/resize", exec_resize, 0},
    {"GET", "/exec/{id}/json", exec_inspect, 0},
    {NULL, NULL, NULL, 0},
};
