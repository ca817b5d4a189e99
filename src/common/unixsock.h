/* Unix stream sockets by path, for paths of any length: sun_path holds 107 bytes, and a
 * container's run directory under a deep exec root says more. A long path is reached through
 * its directory opened O_PATH and named /proc/self/fd/N/<base>. libc only (the monitor uses it). */
#pragma once

#include "common/err.h"

/* Binds fd (a fresh AF_UNIX socket) to path, replacing a stale socket file there. */
int unix_bind(int fd, const char *path, struct berr **err);
/* Connects fd (a fresh AF_UNIX socket) to the socket at path. errno is kept for the caller
 * (ENOENT, ECONNREFUSED...) when it fails. */
int unix_connect(int fd, const char *path, struct berr **err);
