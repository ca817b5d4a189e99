/* Starting helper programs (the runtime, the monitor, ps) from daemons. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

/* Starts argv[0] (looked up in PATH when search) with fds[i] as its fd i for i < nfds (-1 for
 * /dev/null), no other fd open, an empty signal mask and every signal's default action, as a
 * new process that shares nothing with a multi-threaded caller but what exec keeps. Returns its
 * pid, or -1 with err. */
pid_t spawn_process(char *const argv[], const int *fds, int nfds, bool search, struct berr **err);

/* The same, running the program at path with argv as given (argv[0] need not name it). */
pid_t spawn_process_path(const char *path, char *const argv[], const int *fds, int nfds,
                         bool search, struct berr **err);
