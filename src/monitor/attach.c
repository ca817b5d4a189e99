/* The attach socket server: accepts clients, parses their frames (stdin, resize, end of stdin)
 * incrementally, and queues output frames per client on nonblocking sockets. It owns client
 * lifetimes; the monitor hears about stdin and resizes through callbacks. */
#include "monitor/attach.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "monitor/buf.h"
#include "monitor/loop.h"

#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

/* Reads per wakeup, so that one busy client cannot starve the container's output. */
#define READS_PER_EVENT 4

struct client {
    struct mon_watch w;
    struct mon_attach *srv;
    struct client *next, **pprev;
    uint64_t id;
    unsigned char hdr[MON_FRAME_HEADER];
    size_t hdr_len;
    uint8_t type;
    uint32_t remaining;       /* payload bytes of the current frame not yet read */
    unsigned char payload[4]; /* a resize frame's payload */
    size_t payload_len;
    bool sent_stdin, stdin_ended;
    bool read_eof; /* the client shut its sending side; it may still read */
    bool hup;      /* the peer is gone; noticed while its input was not being read */
    struct mon_buf out;
};

struct mon_attach {
    struct mon_watch listener;
    char *path;
    const struct mon_attach_ops *ops;
    void *ctx;
    struct client *clients;
    size_t nclients;
    uint64_t next_id;
    bool input_paused;
    bool congested; /* as last reported by mon_attach_congested */
};

static void client_update(struct client *c)
{
    if (c->hup && c->srv->input_paused) {
        /* Level-triggered HUP would fire on every wait; listen again once input resumes. */
        mon_loop_remove(&c->w);
        return;
    }
    uint32_t ev = 0;
    if (!c->srv->input_paused && !c->read_eof)
        ev |= EPOLLIN;
    if (c->out.len > 0)
        ev |= EPOLLOUT;
    mon_loop_set(&c->w, ev, NULL);
}

static void end_stdin(struct client *c)
{
    if (c->stdin_ended)
        return;
    c->stdin_ended = true;
    if (c->sent_stdin)
        c->srv->ops->stdin_end(c->srv->ctx, c->id);
}

static void check_drained(struct mon_attach *a)
{
    if (!a->congested)
        return;
    for (struct client *c = a->clients; c; c = c->next)
        if (c->out.len > MON_ATTACH_BACKLOG_MAX)
            return;
    a->congested = false;
    a->ops->drained(a->ctx);
}

/* A unix socket closed with unread bytes in its queue makes the peer's next read fail with
 * ECONNRESET instead of seeing EOF; a client that typed after the container stopped reading must
 * still see a clean end, so what it sent is read and dropped first (bounded). */
static void client_close(int fd)
{
    char sink[4096];
    shutdown(fd, SHUT_WR);
    for (int i = 0; i < 64 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
        ;
    close(fd);
}

static void client_free(struct client *c)
{
    mon_loop_remove(&c->w);
    client_close(c->w.fd);
    *c->pprev = c->next;
    if (c->next)
        c->next->pprev = c->pprev;
    c->srv->nclients--;
    mon_buf_release(&c->out);
    free(c);
}

static void client_drop(struct client *c)
{
    struct mon_attach *a = c->srv;
    end_stdin(c);
    client_free(c);
    check_drained(a);
}

static void frame_payload(struct client *c, const unsigned char *p, size_t n)
{
    if (c->type == MON_FRAME_STDIN) {
        if (!c->stdin_ended)
            c->srv->ops->stdin_data(c->srv->ctx, c->id, (const char *)p, n);
    } else if (c->type == MON_FRAME_RESIZE) {
        size_t take =
            n < sizeof(c->payload) - c->payload_len ? n : sizeof(c->payload) - c->payload_len;
        memcpy(c->payload + c->payload_len, p, take);
        c->payload_len += take;
    }
}

static void frame_done(struct client *c)
{
    struct mon_attach *a = c->srv;
    if (c->type == MON_FRAME_RESIZE && c->payload_len == 4) {
        unsigned rows = (unsigned)c->payload[0] << 8 | c->payload[1];
        unsigned cols = (unsigned)c->payload[2] << 8 | c->payload[3];
        a->ops->resize(a->ctx, rows, cols);
    } else if (c->type == MON_FRAME_STDIN_END) {
        c->sent_stdin = true;
        end_stdin(c);
    }
    c->hdr_len = 0;
}

/* Returns -1 when the client broke the protocol. */
static int client_consume(struct client *c, const unsigned char *p, size_t n)
{
    while (n > 0) {
        if (c->hdr_len < MON_FRAME_HEADER) {
            size_t take = MON_FRAME_HEADER - c->hdr_len;
            take = take < n ? take : n;
            memcpy(c->hdr + c->hdr_len, p, take);
            c->hdr_len += take;
            p += take;
            n -= take;
            if (c->hdr_len < MON_FRAME_HEADER)
                break;
            c->type = c->hdr[0];
            c->remaining = (uint32_t)c->hdr[4] << 24 | (uint32_t)c->hdr[5] << 16 |
                           (uint32_t)c->hdr[6] << 8 | c->hdr[7];
            c->payload_len = 0;
            if (c->remaining > MON_FRAME_MAX)
                return -1;
            if (c->type == MON_FRAME_STDIN && !c->stdin_ended)
                c->sent_stdin = true;
            if (c->remaining == 0)
                frame_done(c);
            continue;
        }
        size_t take = c->remaining < n ? c->remaining : n;
        frame_payload(c, p, take);
        c->remaining -= (uint32_t)take;
        p += take;
        n -= take;
        if (c->remaining == 0)
            frame_done(c);
    }
    return 0;
}

/* Returns -1 when the client must be dropped. */
static int client_read(struct client *c)
{
    static unsigned char buf[16384];
    for (int i = 0; i < READS_PER_EVENT && !c->srv->input_paused; i++) {
        ssize_t n = recv(c->w.fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -1;
        }
        if (n == 0) {
            c->read_eof = true;
            end_stdin(c);
            return 0;
        }
        if (client_consume(c, buf, (size_t)n) < 0)
            return -1;
    }
    return 0;
}

static void client_event(struct mon_watch *w, uint32_t events)
{
    struct client *c = mon_container_of(w, struct client, w);
    struct mon_attach *a = c->srv;
    if (events & EPOLLOUT) {
        if (mon_buf_write(&c->out, c->w.fd) < 0) {
            client_drop(c);
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (!a->input_paused && !c->read_eof && client_read(c) < 0) {
            client_drop(c);
            return;
        }
        if (events & (EPOLLHUP | EPOLLERR)) {
            if (c->read_eof) {
                client_drop(c);
                return;
            }
            c->hup = true;
        }
    }
    client_update(c);
    check_drained(a);
}

static void listener_event(struct mon_watch *w, uint32_t events)
{
    struct mon_attach *a = mon_container_of(w, struct mon_attach, listener);
    int fd = accept4(a->listener.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (a->nclients >= MON_ATTACH_CLIENTS_MAX) {
        close(fd);
        return;
    }
    struct client *c = xzalloc(sizeof(*c));
    c->w.fd = fd;
    c->w.fn = client_event;
    c->srv = a;
    c->id = ++a->next_id;
    c->next = a->clients;
    if (c->next)
        c->next->pprev = &c->next;
    c->pprev = &a->clients;
    a->clients = c;
    a->nclients++;
    client_update(c);
}

struct mon_attach *mon_attach_listen(const char *path, const struct mon_attach_ops *ops, void *ctx,
                                     struct berr **err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path))
        return berr_set(err, ENAMETOOLONG,
                        "attach socket path %s is longer than a unix socket allows (%zu bytes); "
                        "use a shorter monitor directory",
                        path, sizeof(addr.sun_path) - 1),
               NULL;
    strcpy(addr.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return berr_set(err, EEXIST, "attach socket %s: a file that is not a socket is there",
                            path),
                   NULL;
        unlink(path);
    }
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return berr_sys(err, "attach socket"), NULL;
    /* bind creates the socket file with the umask applied: no moment where others may connect. */
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
    umask(old);
    if (r < 0)
        return berr_sys(err, "bind attach socket %s", addr.sun_path), NULL;
    if (chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
        berr_sys(err, "listen on attach socket %s", addr.sun_path);
        unlink(path);
        return NULL;
    }
    struct mon_attach *a = xzalloc(sizeof(*a));
    a->listener.fd = steal_fd(&fd);
    a->listener.fn = listener_event;
    a->path = xstrdup(path);
    a->ops = ops;
    a->ctx = ctx;
    if (mon_loop_set(&a->listener, EPOLLIN, err) < 0) {
        mon_attach_free(a);
        return NULL;
    }
    return a;
}

void mon_attach_stop_accepting(struct mon_attach *a)
{
    if (a->listener.fd < 0)
        return;
    mon_loop_remove(&a->listener);
    close(a->listener.fd);
    a->listener.fd = -1;
    unlink(a->path);
}

void mon_attach_free(struct mon_attach *a)
{
    if (a == NULL)
        return;
    mon_attach_stop_accepting(a);
    while (a->clients)
        client_free(a->clients);
    free(a->path);
    free(a);
}

void mon_attach_send(struct mon_attach *a, enum mon_frame type, const void *buf, size_t len)
{
    unsigned char hdr[MON_FRAME_HEADER] = {(unsigned char)type};
    for (int i = 0; i < 4; i++)
        hdr[4 + i] = (unsigned char)(len >> (24 - 8 * i));
    struct client *next;
    for (struct client *c = a->clients; c; c = next) {
        next = c->next;
        if (c->hup)
            continue;
        bool idle = c->out.len == 0;
        mon_buf_put(&c->out, hdr, sizeof(hdr));
        mon_buf_put(&c->out, buf, len);
        /* Most clients keep up: write at once rather than wait for the loop to say so. */
        if (idle && mon_buf_write(&c->out, c->w.fd) < 0) {
            client_drop(c);
            continue;
        }
        client_update(c);
    }
}

bool mon_attach_congested(struct mon_attach *a)
{
    a->congested = false;
    for (struct client *c = a->clients; c; c = c->next)
        if (c->out.len > MON_ATTACH_BACKLOG_MAX)
            a->congested = true;
    return a->congested;
}

void mon_attach_pause_input(struct mon_attach *a, bool pause)
{
    if (a->input_paused == pause)
        return;
    a->input_paused = pause;
    for (struct client *c = a->clients; c; c = c->next)
        client_update(c);
}

bool mon_attach_flushed(const struct mon_attach *a)
{
    for (struct client *c = a->clients; c; c = c->next)
        if (c->out.len > 0 && !c->hup)
            return false;
    return true;
}
