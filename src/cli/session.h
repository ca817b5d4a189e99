/* An attached session: the local terminal and stdio joined to a hijacked attach or exec stream,
 * as docker's CLI does it: stdin to the stream, the stream (demultiplexed unless it is a tty)
 * to stdout and stderr, the terminal in raw mode for a tty with its size sent along, signals
 * forwarded to the container, and the detach keys noticed. */
#pragma once

#include <stdbool.h>

#include "cli/cli.h"
#include "cli/client.h"

struct cli_session {
    struct cli_api *api;
    const char *id;          /* the container: resizes and forwarded signals go to it */
    const char *exec_id;     /* an exec session: resizes go to it instead */
    bool tty;                /* raw stream; the local terminal goes raw while stdin is attached */
    bool in;                 /* send stdin */
    bool out, err;           /* whether output is attached (a session without any ends with wait) */
    bool sig_proxy;          /* forward SIGINT, SIGTERM... to the container */
    bool resize;             /* send the terminal's size now and on SIGWINCH */
    const char *detach_keys; /* NULL: ctrl-p,ctrl-q */
    /* Optional: a wait whose answer ends a session that has no output attached. */
    struct cli_conn *wait;
};


/* Runs until the stream's output ends, or the user detaches (tty). Returns 0, 1 when the user
 * detached, -1 with err. The terminal is restored on every path, also at exit() and on the
 * signals that would end the CLI. */
int cli_session_run(struct cli *cli, struct cli_conn *conn, const struct cli_session *s,
                    struct berr **err);

/* Sends the local terminal's size (of stdout) to the container or exec; quiet on failure. */
void cli_session_resize(struct cli_api *api, const char *id, const char *exec_id);
