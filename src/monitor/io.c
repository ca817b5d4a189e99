/* Moving the container's bytes: output sources are read (a few reads per wakeup) into the log
 * and to every attach client; client stdin is queued and written as the container takes it.
 * Backpressure runs both ways: a lagging client pauses output reading, a full stdin pauses the
 * clients' input. */
#include "monitor/io.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "monitor/buf.h"
#include "monitor/loop.h"

#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>

#define READS_PER_EVENT 8

enum { SRC_OUT, SRC_ERR, SRC_PTY, SRC_COUNT };

struct source {
    struct mon_watch w;
    struct mon_io *io;
    enum mon_stream stream;
    bool open;
};

struct mon_io {
    struct mon_io_params p;
    struct source src[SRC_COUNT];
    struct mon_watch in; /* stdin pipe, monitor's end (pipe mode); fd -1 when closed */
    int child_fds[3];
    struct mon_buf stdin_buf;
    bool stdin_closed;  /* nothing more is accepted */
    bool stdin_closing; /* close once stdin_buf is written */
    bool paused;
    bool draining; /* lagging clients no longer pause output */
    bool holding;
    char *held;
    size_t held_len;
    bool log_failing;
};

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int stdin_fd(const struct mon_io *io)
{
    if (io->p.tty)
        return io->src[SRC_PTY].open ? io->src[SRC_PTY].w.fd : -1;
    return io->in.fd;
}

static void update(struct mon_io *io)
{
    for (int i = 0; i < SRC_COUNT; i++) {
        struct source *s = &io->src[i];
        if (!s->open)
            continue;
        uint32_t ev = io->paused ? 0 : EPOLLIN;
        if (i == SRC_PTY && io->stdin_buf.len > 0)
            ev |= EPOLLOUT;
        /* A paused source must leave the loop: its hangup would be reported on every wait. */
        if (ev)
            mon_loop_set(&s->w, ev, NULL);
        else
            mon_loop_remove(&s->w);
    }
    if (io->in.fd >= 0) {
        if (io->stdin_buf.len > 0)
            mon_loop_set(&io->in, EPOLLOUT, NULL);
        else
            mon_loop_remove(&io->in);
    }
    if (io->p.attach)
        mon_attach_pause_input(io->p.attach, io->stdin_buf.len > MON_ATTACH_BACKLOG_MAX);
}

static void stdin_shut(struct mon_io *io)
{
    mon_buf_release(&io->stdin_buf);
    io->stdin_closed = true;
    if (io->in.fd >= 0) {
        mon_loop_remove(&io->in);
        close(io->in.fd);
        io->in.fd = -1;
    }
}

static void stdin_flush(struct mon_io *io)
{
    int fd = stdin_fd(io);
    if (fd >= 0 && io->stdin_buf.len > 0 && mon_buf_write(&io->stdin_buf, fd) < 0) {
        /* The reader is gone (EPIPE, or EIO from a pty): nobody will take the rest. */
        stdin_shut(io);
        return;
    }
    if (io->stdin_closing && io->stdin_buf.len == 0)
        stdin_shut(io);
}

static void log_result(struct mon_io *io, int r, struct berr *err)
{
    if (r < 0 && !io->log_failing && io->p.warn) {
        _cleanup_free_ char *msg =
            xasprintf("container output is not being logged: %s", err ? err->msg : "unknown error");
        io->p.warn(msg);
    }
    io->log_failing = r < 0;
    berr_free(err);
}

static void log_flush(struct mon_io *io, enum mon_stream s)
{
    if (io->p.log == NULL)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct berr *err = NULL;
    log_result(io, mon_log_flush(io->p.log, s, &now, &err), err);
}

static void hold(struct mon_io *io, const char *buf, size_t n)
{
    if (io->held == NULL)
        io->held = xmalloc(MON_IO_HELD_MAX);
    if (n >= MON_IO_HELD_MAX) {
        memcpy(io->held, buf + n - MON_IO_HELD_MAX, MON_IO_HELD_MAX);
        io->held_len = MON_IO_HELD_MAX;
        return;
    }
    if (io->held_len + n > MON_IO_HELD_MAX) {
        size_t drop = io->held_len + n - MON_IO_HELD_MAX;
        memmove(io->held, io->held + drop, io->held_len - drop);
        io->held_len -= drop;
    }
    memcpy(io->held + io->held_len, buf, n);
    io->held_len += n;
}

static void deliver(struct mon_io *io, enum mon_stream s, const char *buf, size_t n)
{
    if (io->p.log) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        struct berr *err = NULL;
        log_result(io, mon_log_feed(io->p.log, s, buf, n, &now, &err), err);
    }
    if (io->p.attach) {
        mon_attach_send(io->p.attach, (enum mon_frame)s, buf, n);
        if (!io->draining && mon_attach_congested(io->p.attach))
            io->paused = true;
    }
}

static void source_close(struct source *s)
{
    mon_loop_remove(&s->w);
    close(s->w.fd);
    s->w.fd = -1;
    s->open = false;
    log_flush(s->io, s->stream);
    if (s == &s->io->src[SRC_PTY])
        stdin_shut(s->io);
}

static void source_read(struct source *s)
{
    static char buf[32768];
    struct mon_io *io = s->io;
    for (int i = 0; i < READS_PER_EVENT && !io->paused; i++) {
        ssize_t n = read(s->w.fd, buf, sizeof(buf));
        if (n > 0) {
            if (s == &io->src[SRC_ERR] && io->holding)
                hold(io, buf, (size_t)n);
            else
                deliver(io, s->stream, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            /* Docker's rule: what is left when the stream goes quiet is a partial entry. */
            log_flush(io, s->stream);
            return;
        }
        /* EOF, or EIO from a pty master once the last slave fd is closed. */
        source_close(s);
        return;
    }
}

static void source_event(struct mon_watch *w, uint32_t events)
{
    struct source *s = mon_container_of(w, struct source, w);
    struct mon_io *io = s->io;
    if (events & EPOLLOUT)
        stdin_flush(io);
    if (s->open && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        if (!io->paused)
            source_read(s);
        else if (s == &io->src[SRC_PTY])
            /* Only stdin kept a paused pty in the loop, and its hangup says no one reads it. */
            stdin_shut(io);
    }
    update(io);
}

static void stdin_event(struct mon_watch *w, uint32_t events)
{
    struct mon_io *io = mon_container_of(w, struct mon_io, in);
    stdin_flush(io);
    update(io);
}

static void source_init(struct mon_io *io, int idx, int fd, enum mon_stream stream)
{
    struct source *s = &io->src[idx];
    s->w.fd = fd;
    s->w.fn = source_event;
    s->io = io;
    s->stream = stream;
    s->open = fd >= 0;
}

struct mon_io *mon_io_new(const struct mon_io_params *p, int child_fds[3], struct berr **err)
{
    struct mon_io *io = xzalloc(sizeof(*io));
    io->p = *p;
    io->in.fd = -1;
    io->in.fn = stdin_event;
    for (int i = 0; i < 3; i++)
        io->child_fds[i] = -1;
    for (int i = 0; i < SRC_COUNT; i++)
        source_init(io, i, -1, i == SRC_ERR ? MON_STDERR : MON_STDOUT);
    int out[2], errp[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        goto fail_sys;
    io->child_fds[1] = out[1];
    source_init(io, SRC_OUT, out[0], MON_STDOUT);
    if (pipe2(errp, O_CLOEXEC) < 0)
        goto fail_sys;
    io->child_fds[2] = errp[1];
    /* With a terminal, everything the container shows is stdout (Docker's rule). */
    source_init(io, SRC_ERR, errp[0], p->tty ? MON_STDOUT : MON_STDERR);
    if (p->stdin_open && !p->tty) {
        int in[2];
        if (pipe2(in, O_CLOEXEC) < 0)
            goto fail_sys;
        io->child_fds[0] = in[0];
        io->in.fd = in[1];
        if (set_nonblock(in[1]) < 0)
            goto fail_sys;
    } else {
        io->child_fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (io->child_fds[0] < 0)
            goto fail_sys;
        io->stdin_closed = !p->tty || !p->stdin_open;
    }
    if (set_nonblock(out[0]) < 0 || set_nonblock(errp[0]) < 0)
        goto fail_sys;
    memcpy(child_fds, io->child_fds, sizeof(io->child_fds));
    update(io);
    return io;
fail_sys:
    berr_sys(err, "container stdio");
    mon_io_free(io);
    return NULL;
}

void mon_io_close_child_side(struct mon_io *io)
{
    for (int i = 0; i < 3; i++) {
        if (io->child_fds[i] >= 0)
            close(io->child_fds[i]);
        io->child_fds[i] = -1;
    }
}

int mon_io_set_terminal(struct mon_io *io, int master, struct berr **err)
{
    if (io->src[SRC_PTY].open) {
        close(master);
        return berr_code(err, EBUSY, "a terminal is already set");
    }
    source_init(io, SRC_PTY, master, MON_STDOUT);
    stdin_flush(io);
    update(io);
    return 0;
}

void mon_io_hold_stderr(struct mon_io *io)
{
    io->holding = true;
}

const char *mon_io_held_stderr(const struct mon_io *io, size_t *len)
{
    *len = io->held_len;
    return io->held;
}

void mon_io_release_stderr(struct mon_io *io, bool deliver_held)
{
    io->holding = false;
    if (deliver_held && io->held_len > 0) {
        deliver(io, io->src[SRC_ERR].stream, io->held, io->held_len);
        log_flush(io, io->src[SRC_ERR].stream);
    }
    free(steal_ptr(&io->held));
    io->held_len = 0;
    update(io);
}

void mon_io_write_stdin(struct mon_io *io, const char *buf, size_t len)
{
    if (io->stdin_closed || io->stdin_closing || len == 0)
        return;
    bool idle = io->stdin_buf.len == 0;
    mon_buf_put(&io->stdin_buf, buf, len);
    if (idle)
        stdin_flush(io);
    update(io);
}

void mon_io_close_stdin(struct mon_io *io)
{
    if (io->stdin_closed)
        return;
    io->stdin_closing = true;
    stdin_flush(io);
    update(io);
}

void mon_io_resize(struct mon_io *io, unsigned rows, unsigned cols)
{
    if (!io->src[SRC_PTY].open)
        return;
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    ioctl(io->src[SRC_PTY].w.fd, TIOCSWINSZ, &ws);
}

void mon_io_resume(struct mon_io *io)
{
    io->paused = false;
    update(io);
}

void mon_io_drain(struct mon_io *io)
{
    io->draining = true;
    mon_io_resume(io);
}

bool mon_io_outputs_done(const struct mon_io *io)
{
    for (int i = 0; i < SRC_COUNT; i++)
        if (io->src[i].open)
            return false;
    return true;
}

void mon_io_finish(struct mon_io *io)
{
    for (int i = 0; i < SRC_COUNT; i++)
        if (io->src[i].open)
            source_close(&io->src[i]);
    stdin_shut(io);
    if (io->p.attach)
        mon_attach_pause_input(io->p.attach, false);
}

void mon_io_free(struct mon_io *io)
{
    if (io == NULL)
        return;
    for (int i = 0; i < SRC_COUNT; i++) {
        if (io->src[i].open) {
            mon_loop_remove(&io->src[i].w);
            close(io->src[i].w.fd);
        }
    }
    stdin_shut(io);
    mon_io_close_child_side(io);
    free(io->held);
    free(io);
}
