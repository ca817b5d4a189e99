/* Defence against the runc CVE-2019-5736 class: a process in the container that opens the
 * runtime through /proc/PID/exe must never reach the host binary. Before berth-runc touches a
 * container it re-executes itself from a sealed, read-only memfd copy. */
#pragma once

#include "common/err.h"

/* Returns 0 if already running from a sealed copy; otherwise re-executes (and only returns
 * on failure). */
int rt_selfclone_ensure(char **argv, char **envp, struct berr **err);
