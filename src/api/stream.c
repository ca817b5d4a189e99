/* Long answers: chunked streams written by a worker thread into a pipe that the connection's
 * thread drains to the client, and hijacked connections (attach, exec) handed to a handler's
 * function as a raw socket. A client that hangs up is noticed (POLLRDHUP) even while a stream
 * is idle, so an idle `events` or `logs -f` ends when its client goes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/server_internal.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/xalloc.h"

struct api_stream {
    pthread_mutex_t mu;
    int refs;
    int rd, wr;    /* the pipe (or socketpair) between the worker and the connection */
    int hangup_fd; /* eventfd, written once the client is gone */
    int client_fd; /* the connection's socket, polled for hang-up */
    int stop_fd;   /* the server's stop eventfd */
    bool dead;
    api_stream_fn fn;
    api_hijack_fn hijack_fn;
    int hijack_fd;
    void *ctx;
    void (*done)(void *ctx);
};

static void stream_unref(struct api_stream *s)
{
    pthread_mutex_lock(&s->mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last)
        return;
    if (s->rd >= 0)
        close(s->rd);
    if (s->wr >= 0)
        close(s->wr);
    if (s->hijack_fd >= 0)
        close(s->hijack_fd);
    close(s->hangup_fd);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void mark_dead(struct api_stream *s)
{
    pthread_mutex_lock(&s->mu);
    bool was = s->dead;
    s->dead = true;
    pthread_mutex_unlock(&s->mu);
    if (!was) {
        uint64_t one = 1;
        if (write(s->hangup_fd, &one, sizeof(one)) < 0) {
            /* an eventfd write only fails on overflow, which one write cannot reach */
        }
    }
}

int api_stream_write(struct api_stream *s, const void *buf, size_t len)
{
    if (len == 0)
        return 0;
    pthread_mutex_lock(&s->mu);
    bool dead = s->dead;
    pthread_mutex_unlock(&s->mu);
    if (dead || s->wr < 0)
        return -1;
    /* blocks while the client is slower than the producer: that is the backpressure we want */
    return write_all(s->wr, buf, len) < 0 ? -1 : 0;
}

int api_stream_json(struct api_stream *s, json_t *v)
{
    char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (txt == NULL)
        abort();
    size_t len = strlen(txt);
    txt = xrealloc(txt, len + 3);
    memcpy(txt + len, "\r\n", 3);
    int rc = api_stream_write(s, txt, len + 2);
    free(txt);
    return rc;
}

bool api_stream_alive(struct api_stream *s)
{
    pthread_mutex_lock(&s->mu);
    bool dead = s->dead;
    pthread_mutex_unlock(&s->mu);
    return !dead;
}

int api_stream_hangup_fd(struct api_stream *s)
{
    return s->hangup_fd;
}

static void *worker_main(void *arg)
{
    struct api_stream *s = arg;
    if (s->fn != NULL) {
        s->fn(s, s->ctx);
    } else {
        s->hijack_fn(s->hijack_fd, NULL, 0, s->ctx);
    }
    if (s->done != NULL)
        s->done(s->ctx);
    /* the connection thread sees EOF once every writer is closed */
    pthread_mutex_lock(&s->mu);
    int wr = s->wr, hj = s->hijack_fd;
    s->wr = -1;
    s->hijack_fd = -1;
    pthread_mutex_unlock(&s->mu);
    if (wr >= 0)
        close(wr);
    if (hj >= 0)
        close(hj);
    stream_unref(s);
    return NULL;
}

static ssize_t reader_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct api_stream *s = cls;
    for (;;) {
        struct pollfd p[3] = {
            {.fd = s->rd, .events = POLLIN},
            {.fd = s->client_fd, .events = POLLRDHUP},
            {.fd = s->stop_fd, .events = POLLIN},
        };
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (p[0].revents != 0) {
            ssize_t n = read(s->rd, buf, max);
            if (n > 0)
                return n;
            if (n == 0)
                return MHD_CONTENT_READER_END_OF_STREAM;
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (p[1].revents != 0 || p[2].revents != 0) {
            mark_dead(s);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void reader_free_cb(void *cls)
{
    struct api_stream *s = cls;
    mark_dead(s);
    pthread_mutex_lock(&s->mu);
    int rd = s->rd;
    s->rd = -1;
    pthread_mutex_unlock(&s->mu);
    if (rd >= 0)
        close(rd); /* a writer still at work now gets EPIPE */
    stream_unref(s);
}

static struct api_stream *stream_new(struct api_req *r)
{
    struct api_stream *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->refs = 2; /* the worker and the response */
    s->rd = s->wr = s->hijack_fd = -1;
    s->hangup_fd = eventfd(0, EFD_CLOEXEC);
    if (s->hangup_fd < 0)
        abort();
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    s->client_fd = ci != NULL ? ci->connect_fd : -1;
    s->stop_fd = r->srv->stop_fd;
    /* the stream now owns the handler's context */
    s->ctx = r->ctx;
    s->done = r->ctx_done;
    r->ctx = NULL;
    r->ctx_done = NULL;
    return s;
}

static struct MHD_Response *start_worker(struct api_stream *s)
{
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024,
                                                                  reader_cb, s, reader_free_cb);
    if (resp == NULL)
        abort();
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&th, &attr, worker_main, s) != 0)
        abort();
    pthread_attr_destroy(&attr);
    return resp;
}

struct MHD_Response *api_stream_response(struct api_req *r)
{
    struct api_stream *s = stream_new(r);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        abort();
    s->rd = p[0];
    s->wr = p[1];
    s->fn = r->stream_fn;
    return start_worker(s);
}

/* The upgraded connection: the handler's function runs right here, in the connection's own
 * thread (thread-per-connection mode allows blocking), then the socket is closed. */
static void upgrade_cb(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    struct api_req *r = con_cls;
    api_hijack_fn fn = r->hijack_fn;
    void *ctx = r->ctx;
    void (*done)(void *) = r->ctx_done;
    r->ctx = NULL;
    r->ctx_done = NULL;
    fn(sock, extra_in, extra_in_size, ctx);
    if (done != NULL)
        done(ctx);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

struct MHD_Response *api_hijack_response(struct api_req *r, bool upgrade)
{
    if (upgrade || r->upgrade_proto != NULL) {
        struct MHD_Response *resp = MHD_create_response_for_upgrade(upgrade_cb, NULL);
        if (resp == NULL)
            abort();
        MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE,
                                r->upgrade_proto != NULL ? r->upgrade_proto : "tcp");
        return resp;
    }
    /* No upgrade asked: output only, as a plain stream; the handler gets one end of a
     * socketpair, so its reads see EOF at once and its writes reach the client. */
    struct api_stream *s = stream_new(r);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    shutdown(sv[1], SHUT_WR);
    s->rd = sv[1];
    s->hijack_fd = sv[0];
    s->hijack_fn = r->hijack_fn;
    return start_worker(s);
}
