/* Foreground `run` and `exec`: wait for the process while forwarding signals to it, and when it
 * has a terminal that nobody else took, relay our stdio to the pty master. */
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "common/err.h"

/* Block the signals we forward (before clone, so none is lost); the child restores its mask. */
void rt_foreground_block_signals(sigset_t *old);
/* Wait for pid (our child). Returns its exit status in shell form (128+signal when killed). */
int rt_foreground_wait(pid_t pid, int master_fd, int *exit_status, struct berr **err);
