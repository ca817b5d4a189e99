/* The container's stdio as the monitor holds it: output (two pipes, plus the pty master with a
 * terminal) read into the log and the attach clients, and stdin (a pipe, or the pty master)
 * fed from the clients. Output reading pauses while a client lags (see attach.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "monitor/attach.h"
#include "monitor/logfile.h"

struct mon_io_params {
    bool tty;            /* output comes from a pty master (set later); all of it is stdout */
    bool stdin_open;     /* the container gets a stdin pipe, not /dev/null */
    struct mon_log *log; /* may be NULL: no log */
    struct mon_attach *attach;
    void (*warn)(const char *msg); /* for trouble that must not stop the container */
};

struct mon_io;

/* Make the pipes. child_fds receive what the runtime is started with as its stdin, stdout and
 * stderr (in tty mode these carry only the runtime's own output; stdin is then /dev/null). They
 * stay owned by io until mon_io_close_child_side. */
struct mon_io *mon_io_new(const struct mon_io_params *p, int child_fds[3], struct berr **err);
void mon_io_free(struct mon_io *io);
/* Close the monitor's copies of the runtime's ends, once it runs: EOF then means what it says. */
void mon_io_close_child_side(struct mon_io *io);
/* Take the pty master (tty mode), owned by io from now on. */
int mon_io_set_terminal(struct mon_io *io, int master, struct berr **err);
/* While holding, stderr output is kept (its last MON_IO_HELD_MAX bytes) instead of delivered:
 * during create it is the runtime's, not the container's. */
#define MON_IO_HELD_MAX 8192
void mon_io_hold_stderr(struct mon_io *io);
const char *mon_io_held_stderr(const struct mon_io *io, size_t *len);
/* Stop holding; deliver what was kept when deliver, else drop it. */
void mon_io_release_stderr(struct mon_io *io, bool deliver);
/* Queue bytes for the container's stdin (dropped once stdin is closed). */
void mon_io_write_stdin(struct mon_io *io, const char *buf, size_t len);
/* End the container's stdin once what is queued is written (with a terminal, stop forwarding:
 * the pty stays, it is also the output). */
void mon_io_close_stdin(struct mon_io *io);
void mon_io_resize(struct mon_io *io, unsigned rows, unsigned cols);
/* The attach clients caught up: read output again. */
void mon_io_resume(struct mon_io *io);
/* The container's init has exited: read what is left without waiting for lagging clients, so
 * that the log is complete (what remains is bounded by the pipes' buffers, unless a process
 * outside the container holds them, which the caller's deadline bounds). */
void mon_io_drain(struct mon_io *io);
/* Whether every output has reached EOF. */
bool mon_io_outputs_done(const struct mon_io *io);
/* Stop reading, write what the log still holds, close stdin. */
void mon_io_finish(struct mon_io *io);
