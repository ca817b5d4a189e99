/* The monitor's children: the OCI runtime it runs (create, delete; started with
 * common/process.h), how their exit statuses read, and what a failed runtime said. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* Wait up to timeout_ms for pid (SIGCHLD must be blocked), then kill it and wait. Returns its
 * wait status, or -1 when it is not a child. */
int mon_wait_child(pid_t pid, int timeout_ms);
/* An exit status as a shell reports it: the exit code, or 128 + the killing signal. */
int mon_exit_code(int status);
/* Why a runtime command failed, for a person: the last "msg" of a level=error line of its JSON
 * log (log_path, may be NULL), else what it wrote to stderr, else its exit status. Caller frees. */
char *mon_runtime_error(const char *log_path, const char *err_text, size_t err_len, int status);
