/* Docker's `User` and `GroupAdd` resolved against the image's own /etc/passwd and /etc/group,
 * read beneath the container's rootfs so that a symlink in the image can never make us read a
 * host file. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct eng_user {
    uint32_t uid;
    uint32_t gid;
    uint32_t *gids; /* additionalGids as Docker fills them: gid, the user's groups, GroupAdd */
    size_t n_gids;
    char *home; /* passwd's home directory, "/" when there is none; never NULL once resolved */
};

/* Resolve a Docker user spec: "" (root), "name", "uid", "name:group", "uid:gid",
 * "uid:groupname", "name:gid". group_add (NULL-terminated, may be NULL) are names or numbers.
 * rootfs_fd is a directory fd (O_PATH is fine) of the rootfs. Docker's rules: a numeric uid
 * missing from passwd is used as is with gid 0; a name must be found; a missing passwd or
 * group file only matters for names. Errors (EINVAL) use Docker's words: "unable to find user
 * foo: no matching entries in passwd file". On success *out is filled (free with
 * eng_user_clear); on failure it is left empty. */
int eng_user_resolve(int rootfs_fd, const char *spec, const char *const *group_add,
                     struct eng_user *out, struct berr **err);
void eng_user_clear(struct eng_user *u);

/* Open path (relative or absolute, both taken inside the root) beneath root_fd, as if root_fd
 * were "/": symlinks and ".." never lead out. flags are open(2) flags (O_CLOEXEC is added).
 * Uses openat2(RESOLVE_IN_ROOT) where the kernel has it, else a walk one component at a time
 * with O_NOFOLLOW; force_walk picks the walk (for tests). Returns an fd or -1 with errno set
 * (ENOENT when something on the way is missing, ELOOP past 40 symlinks). */
int eng_open_in_root(int root_fd, const char *path, int flags, bool force_walk);
