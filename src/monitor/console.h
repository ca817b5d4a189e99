/* runc's console-socket protocol, receiving side: the runtime connects to a unix socket we
 * listen on and sends the container's pty master with SCM_RIGHTS. */
#pragma once

#include "common/err.h"

/* Listen on path (mode 0600, a stale socket replaced). Returns the fd (close-on-exec). */
int mon_console_listen(const char *path, struct berr **err);
/* Take the terminal from a runtime that has already connected and sent it (call once the
 * runtime's create has succeeded). Returns the pty master, close-on-exec and nonblocking. */
int mon_console_receive(int listen_fd, struct berr **err);
