/* Small file helpers: whole-file reads and writes, atomic replacement, directory creation,
 * and closing inherited fds. */
#pragma once

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* All of fd up to max bytes, NUL-terminated (what names it in errors). */
char *read_fd_all(int fd, const char *what, size_t max, size_t *len, struct berr **err);
/* Read a whole file (at most max bytes, else EFBIG) into a NUL-terminated buffer the caller
 * frees. dirfd may be AT_FDCWD. */
char *read_file_at(int dirfd, const char *path, size_t max, size_t *len, struct berr **err);
/* Write buf to an existing or new file (O_TRUNC unless append). */
int write_file_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
                  struct berr **err);
/* Write to "<path>.tmp-<pid>-<n>", fsync, rename over path, so readers see the old or the new
 * file. */
int write_file_atomic_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
                         struct berr **err);
/* The same without the fsync, for files made again from the state whenever they are needed
 * (after a crash one may be empty; never half old, half new while the system runs). */
int write_file_replace_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
                          struct berr **err);
/* Like mkdir -p; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode, struct berr **err);
/* Write all of buf, retrying on EINTR and short writes. Returns 0 or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);
/* Read exactly len bytes unless EOF; returns bytes read or -1 with errno. */
ssize_t read_all(int fd, void *buf, size_t len);
/* Mark every fd >= from close-on-exec. */
int cloexec_from(int from);
/* Whether path is the root of a mount (statx's attribute, else a device change at ".."). */
bool is_mount_root(const char *path);
/* Remove a directory tree (no symlink following). Missing is fine. */
int rm_rf_at(int dirfd, const char *path, struct berr **err);

/* The seals of a sealed copy: no writes, no resizes, no further seal changes. */
#define SEALED_COPY_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* A close-on-exec memfd named name holding the whole content of src_fd, sealed with
 * SEALED_COPY_SEALS (a runtime binary that nothing can write through /proc/PID/exe);
 * -1 with err set on failure. */
int sealed_copy_fd(int src_fd, const char *name, struct berr **err);
