/* Files in a container, as `docker cp` and `docker export` reach them: stat, a tar of a path, a
 * tar extracted into a directory, and a tar of the whole root filesystem. Works on created,
 * running and stopped containers (a root filesystem that is not mounted is mounted for the
 * call). Paths are taken as the container's processes see them: symlinks resolve inside the
 * container, and paths under a volume or bind mount reach that mount's source; nothing ever
 * resolves outside. Each call holds the container's operation lock throughout, as Docker holds
 * its container lock, so a concurrent start, stop or removal waits for it. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct eng;

/* Docker's ContainerPathStat. */
struct eng_path_stat {
    char *name;        /* the base name of the path as asked ("/" for the root, "." for "d/.") */
    int64_t size;      /* lstat's size */
    uint32_t mode;     /* Go's os.FileMode: permission bits plus ModeDir (1<<31), ModeSymlink
                        * (1<<27), ModeSetuid (1<<23)... */
    int64_t mtime_ns;  /* unix nanoseconds */
    char *link_target; /* a symlink's target fully resolved in the container, else "" */
};
void eng_path_stat_clear(struct eng_path_stat *st);
/* {"name","size","mode","mtime","linkTarget"} as Docker encodes it (caller decrefs). */
json_t *eng_path_stat_json(const struct eng_path_stat *st);

/* Receives the tar stream; a negative return (the client went away) stops the writer. */
typedef int (*eng_tar_write_fn)(void *ctx, const void *buf, size_t len);

/* HEAD /containers/{id}/archive. path is absolute or relative to "/"; a trailing "/" or "/."
 * follows a final symlink and asks for a directory. Errors: ENOENT "No such container: X" or
 * "Could not find the file P in container X" (404), EINVAL for an empty path (400), EBUSY for a
 * container being removed (409). */
int eng_archive_stat(struct eng *e, const char *ref, const char *path, struct eng_path_stat *out,
                     struct berr **err);

/* GET /containers/{id}/archive: writes an uncompressed tar of path to fn, named as Docker names
 * it: a non-directory as one entry with its base name (a symlink stays a symlink); a directory
 * as its own entry and its contents under its base name ("./" for the "d/." form, "/" for the
 * root). Content under mount points inside the tree comes from the mounts. Fails as
 * eng_archive_stat before anything is written; once writing has begun, an error (or fn
 * failing) ends the stream early. */
int eng_archive_get(struct eng *e, const char *ref, const char *path, eng_tar_write_fn fn,
                    void *ctx, struct berr **err);

struct eng_extract_opts {
    /* Refuse to replace a directory with a non-directory and the reverse. */
    bool no_overwrite_dir_non_dir;
    /* Own everything by the container's user (Config.User, resolved in the container) instead
     * of the owners the archive names; without a user the archive's owners stay. */
    bool copy_uid_gid;
};

/* PUT /containers/{id}/archive: extracts the tar (plain, gzip, bzip2, xz or zstd) read from
 * tar_fd into the directory at path (symlinks followed inside the container). Entry names
 * are taken relative to that directory; one that leads outside it ("../x", a hard link or a
 * symlink whose target climbs out) fails the extraction, as do writes under a read-only
 * mount or into a read-only root filesystem. Entries extracted before a failure stay, as with
 * Docker. Errors: ENOENT as eng_archive_stat (404), EINVAL "extraction point is not a
 * directory", "container rootfs is marked read-only", "mounted volume is marked read-only"
 * and bad archives (400), EBUSY for an entry that would replace a mount point (409). */
int eng_archive_put(struct eng *e, const char *ref, const char *path, int tar_fd,
                    const struct eng_extract_opts *o, struct berr **err);

/* GET /containers/{id}/export: an uncompressed tar of the container's root filesystem (the
 * image plus its changes; volumes and binds are not included), entries named "bin/",
 * "bin/sh"... Errors as eng_archive_get. */
int eng_export(struct eng *e, const char *ref, eng_tar_write_fn fn, void *ctx, struct berr **err);
