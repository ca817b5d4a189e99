/* Terminals for container processes and runc's console-socket protocol: the runtime makes a
 * pty inside the container and hands its master to whoever listens on --console-socket. */
#pragma once

#include <stdbool.h>

#include "common/err.h"
#include "runtime/spec.h"

/* Connect to the console socket (a unix stream socket) given on the command line. */
int rt_tty_connect(const char *path, struct berr **err);
/* In the container (after pivot_root): make a pty from the container's devpts, size it, bind its
 * slave onto /dev/console when bind_console, send the master over sock (then close it), make the
 * slave the controlling terminal and stdin/stdout/stderr. */
int rt_tty_setup(int sock, const struct rt_process *p, bool bind_console, struct berr **err);
/* Send fd over a unix socket with SCM_RIGHTS; name is the message payload (the pty path). */
int rt_tty_send_fd(int sock, int fd, const char *name, struct berr **err);
/* Receive an fd sent with rt_tty_send_fd. */
int rt_tty_recv_fd(int sock, struct berr **err);
