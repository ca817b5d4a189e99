/* The attached session's pump: one poll loop over stdin, the hijacked socket, a self-pipe for
 * signals and an optional wait. The socket is non-blocking for writes, so stdin never blocks
 * the loop while the daemon is busy writing output to us (which would deadlock both). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "cli/session.h"
#include "common/cleanup.h"
#include "common/detachkeys.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#define IOBUF 65536

/* ---- the terminal ---- */

static struct termios saved_termios;
static bool raw_active;
static bool restore_registered;

static void restore_terminal(void)
{
    if (raw_active) {
        tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
        raw_active = false;
    }
}

static void make_raw(void)
{
    if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
        return;
    struct termios t = saved_termios;
    cfmakeraw(&t);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (!restore_registered) {
        atexit(restore_terminal);
        restore_registered = true;
    }
    if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0)
        raw_active = true;
}

/* ---- signals ---- */

static int sig_pipe_w = -1;

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (sig_pipe_w >= 0)
        (void)!write(sig_pipe_w, &b, 1);
    errno = saved;
}

static const struct {
    int sig;
    const char *name;
} proxied[] = {
    {SIGHUP, "HUP"},   {SIGINT, "INT"},   {SIGQUIT, "QUIT"}, {SIGTERM, "TERM"},
    {SIGUSR1, "USR1"}, {SIGUSR2, "USR2"}, {SIGALRM, "ALRM"},
};

struct sig_setup {
    int pipe_r;
    struct sigaction old[ARRAY_SIZE(proxied) + 1];
    bool installed[ARRAY_SIZE(proxied) + 1];
};

static void catch_signal(struct sig_setup *ss, size_t slot, int sig)
{
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, &ss->old[slot]) == 0)
        ss->installed[slot] = true;
}

static void signals_setup(struct sig_setup *ss, const struct cli_session *s)
{
    memset(ss, 0, sizeof(*ss));
    ss->pipe_r = -1;
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        return;
    ss->pipe_r = p[0];
    sig_pipe_w = p[1];
    for (size_t i = 0; i < ARRAY_SIZE(proxied); i++) {
        /* without proxying, a raw terminal still needs restoring before these end us */
        bool ends_us =
            proxied[i].sig != SIGUSR1 && proxied[i].sig != SIGUSR2 && proxied[i].sig != SIGALRM;
        if (s->sig_proxy || (raw_active && ends_us))
            catch_signal(ss, i, proxied[i].sig);
    }
    if (s->resize)
        catch_signal(ss, ARRAY_SIZE(proxied), SIGWINCH);
}

static void signals_restore(struct sig_setup *ss)
{
    for (size_t i = 0; i <= ARRAY_SIZE(proxied); i++)
        if (ss->installed[i])
            sigaction(i < ARRAY_SIZE(proxied) ? proxied[i].sig : SIGWINCH, &ss->old[i], NULL);
    if (sig_pipe_w >= 0)
        close(sig_pipe_w);
    sig_pipe_w = -1;
    if (ss->pipe_r >= 0)
        close(ss->pipe_r);
    ss->pipe_r = -1;
}

static void handle_signal(const struct cli_session *s, int sig)
{
    if (sig == SIGWINCH) {
        cli_session_resize(s->api, s->id, s->exec_id);
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(proxied); i++) {
        if (proxied[i].sig != sig)
            continue;
        if (s->sig_proxy && s->id) {
            _cleanup_free_ char *eid = cli_api_escape(s->id);
            _cleanup_free_ char *path =
                xasprintf("/containers/%s/kill?signal=%s", eid, proxied[i].name);
            cli_api_call(s->api, "POST", path, NULL, NULL, NULL);
            return;
        }
        restore_terminal();
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

void cli_session_resize(struct cli_api *api, const char *id, const char *exec_id)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || (ws.ws_row == 0 && ws.ws_col == 0))
        return;
    _cleanup_free_ char *eid = cli_api_escape(exec_id ? exec_id : id);
    _cleanup_free_ char *path =
        xasprintf("/%s/%s/resize?h=%u&w=%u", exec_id ? "exec" : "containers", eid,
                  (unsigned)ws.ws_row, (unsigned)ws.ws_col);
    cli_api_call(api, "POST", path, NULL, NULL, NULL);
}

/* ---- detach keys ---- */

/* The keys go on to the daemon, which detaches; this only notices that they were typed. */
struct detach_watch {
    unsigned char keys[DETACH_KEYS_MAX];
    int n, matched;
    bool seen;
};

static void watch_input(struct detach_watch *w, const unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < len && w->n > 0 && !w->seen; i++) {
        if (buf[i] == w->keys[w->matched]) {
            if (++w->matched == w->n)
                w->seen = true;
        } else {
            w->matched = buf[i] == w->keys[0] ? 1 : 0;
        }
    }
}

/* ---- output ---- */

struct demux {
    bool tty, out, err;
    unsigned char hdr[8];
    size_t hdr_got;
    size_t left;
    int type;
    char *syserr; /* a system error frame's text */
    size_t syserr_len;
};

static int emit(int fd, const void *buf, size_t len)
{
    return write_all(fd, buf, len) < 0 && errno != EPIPE ? -1 : 0;
}

static int demux_feed(struct demux *d, const unsigned char *buf, size_t len)
{
    if (d->tty)
        return d->out || d->err ? emit(STDOUT_FILENO, buf, len) : 0;
    while (len > 0) {
        if (d->left == 0 && d->hdr_got < 8) {
            size_t take = 8 - d->hdr_got < len ? 8 - d->hdr_got : len;
            memcpy(d->hdr + d->hdr_got, buf, take);
            d->hdr_got += take;
            buf += take;
            len -= take;
            if (d->hdr_got < 8)
                return 0;
            d->type = d->hdr[0];
            d->left = (size_t)d->hdr[4] << 24 | (size_t)d->hdr[5] << 16 | (size_t)d->hdr[6] << 8 |
                      d->hdr[7];
            d->hdr_got = d->left == 0 ? 0 : 8;
            continue;
        }
        size_t take = d->left < len ? d->left : len;
        int rc = 0;
        if (d->type == 3) {
            d->syserr = xrealloc(d->syserr, d->syserr_len + take + 1);
            memcpy(d->syserr + d->syserr_len, buf, take);
            d->syserr_len += take;
            d->syserr[d->syserr_len] = '\0';
        } else if (d->type == 2) {
            rc = d->err ? emit(STDERR_FILENO, buf, take) : 0;
        } else {
            rc = d->out ? emit(STDOUT_FILENO, buf, take) : 0;
        }
        if (rc < 0)
            return -1;
        d->left -= take;
        buf += take;
        len -= take;
        if (d->left == 0)
            d->hdr_got = 0;
    }
    return 0;
}

/* ---- the loop ---- */

struct pump {
    const struct cli_session *s;
    struct cli_conn *conn;
    int fd;
    struct demux dm;
    struct detach_watch dw;
    unsigned char *inbuf;
    size_t in_off, in_len;
    bool stdin_open, shut_sent, output_done;
};

/* Reads what the stream has (buffered bytes included): 0 while it goes on, 1 at its end. */
static int pump_output(struct pump *p, unsigned char *buf, struct berr **err)
{
    do {
        ssize_t n = cli_conn_read(p->conn, buf, IOBUF);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (n < 0 && errno != ECONNRESET && errno != EPIPE)
            return berr_sys(err, "reading the container's output");
        if (n <= 0)
            return 1;
        if (demux_feed(&p->dm, buf, (size_t)n) < 0)
            return berr_sys(err, "writing the container's output");
    } while (cli_conn_buffered(p->conn) > 0);
    return 0;
}

static void pump_input_write(struct pump *p)
{
    while (p->in_off < p->in_len) {
        ssize_t n = send(p->fd, p->inbuf + p->in_off, p->in_len - p->in_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            /* the daemon no longer reads: drop the input, keep the output flowing */
            p->in_off = p->in_len = 0;
            p->stdin_open = false;
            p->shut_sent = true;
            return;
        }
        p->in_off += (size_t)n;
    }
    p->in_off = p->in_len = 0;
    if (!p->stdin_open && !p->shut_sent) {
        shutdown(p->fd, SHUT_WR);
        p->shut_sent = true;
    }
}

static void pump_input_read(struct pump *p)
{
    ssize_t n = read(STDIN_FILENO, p->inbuf, IOBUF);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        p->stdin_open = false;
        pump_input_write(p);
        return;
    }
    if (p->s->tty)
        watch_input(&p->dw, p->inbuf, (size_t)n);
    p->in_off = 0;
    p->in_len = (size_t)n;
    pump_input_write(p);
}

int cli_session_run(struct cli *cli, struct cli_conn *conn, const struct cli_session *s,
                    struct berr **err)
{
    fflush(cli->out);
    fflush(cli->err);
    struct pump p = {.s = s, .conn = conn, .fd = cli_conn_fd(conn), .stdin_open = s->in};
    p.dm.tty = s->tty;
    p.dm.out = s->out;
    p.dm.err = s->err;
    p.dw.n = detach_keys_parse(s->detach_keys, p.dw.keys);
    if (p.dw.n < 0)
        p.dw.n = detach_keys_parse(NULL, p.dw.keys);
    int fl = fcntl(p.fd, F_GETFL);
    if (fl >= 0)
        fcntl(p.fd, F_SETFL, fl | O_NONBLOCK);
    if (s->tty && s->in && isatty(STDIN_FILENO))
        make_raw();
    struct sig_setup ss;
    signals_setup(&ss, s);
    if (s->resize)
        cli_session_resize(s->api, s->id, s->exec_id);
    _cleanup_free_ unsigned char *outbuf = xmalloc(IOBUF);
    p.inbuf = xmalloc(IOBUF);
    int rc = 0;
    bool wait_ends = s->wait && !s->out && !s->err;
    if (!s->in) {
        /* nothing to send: the daemon learns so at once, as with docker's CloseWrite */
        shutdown(p.fd, SHUT_WR);
        p.shut_sent = true;
    }
    while (rc == 0) {
        if (cli_conn_buffered(conn) > 0 && (rc = pump_output(&p, outbuf, err)) != 0)
            break;
        struct pollfd pf[4] = {
            {.fd = p.fd, .events = POLLIN | (p.in_off < p.in_len ? POLLOUT : 0)},
            {.fd = p.stdin_open && p.in_off == p.in_len ? STDIN_FILENO : -1, .events = POLLIN},
            {.fd = ss.pipe_r, .events = POLLIN},
            {.fd = wait_ends ? cli_conn_fd(s->wait) : -1, .events = POLLIN},
        };
        if (poll(pf, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            rc = berr_sys(err, "poll");
            break;
        }
        if (pf[2].revents & POLLIN) {
            unsigned char sigs[16];
            ssize_t n = read(ss.pipe_r, sigs, sizeof(sigs));
            for (ssize_t i = 0; i < n; i++)
                handle_signal(s, sigs[i]);
        }
        if (pf[0].revents & POLLOUT)
            pump_input_write(&p);
        if (pf[1].revents & (POLLIN | POLLHUP | POLLERR))
            pump_input_read(&p);
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR))
            rc = pump_output(&p, outbuf, err);
        if (rc == 0 && (pf[3].revents & (POLLIN | POLLHUP | POLLERR)))
            rc = 1;
    }
    restore_terminal();
    signals_restore(&ss);
    free(p.inbuf);
    if (fl >= 0)
        fcntl(p.fd, F_SETFL, fl);
    if (rc < 0) {
        free(p.dm.syserr);
        return -1;
    }
    if (p.dm.syserr) {
        berr_code(err, EIO, "error from daemon in stream: %s", p.dm.syserr);
        free(p.dm.syserr);
        return -1;
    }
    return p.dw.seen ? 1 : 0;
}
