/* The container's filesystem view: root propagation, the rootfs bind, every spec mount
 * (resolved beneath the rootfs, never following a symlink out of it), device nodes, /dev
 * links, pivot_root (or chroot with --no-pivot), masked and read-only paths, read-only root. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"
#include "runtime/cgroup.h"
#include "runtime/spec.h"

/* Check every mount's options, types and destinations, linux.devices, rootfsPropagation and
 * masked/readonly paths, before anything is done. Called from container creation. Bind sources
 * must exist; relative ones are below the bundle, so rt_mounts_validate (no bundle) checks only
 * absolute ones and rt_mounts_validate_bundle checks all. Errors name the entry, for the caller
 * to prefix with the file: "mounts[3] (/data): bind source /x: No such file or directory". */
int rt_mounts_validate(const struct rt_spec *spec, struct berr **err);
int rt_mounts_validate_bundle(const struct rt_spec *spec, const char *bundle, struct berr **err);

struct rt_rootfs_priv;

struct rt_rootfs_ctx {
    const struct rt_spec *spec;
    const char *bundle;       /* absolute bundle path: relative mount sources are below it */
    const char *rootfs;       /* absolute host path of the root filesystem */
    struct rt_cgroup *cgroup; /* for "cgroup" mounts; may be NULL */
    bool userns;              /* in a new user namespace: device nodes are bind-mounted */
    bool cgroupns;            /* in a new cgroup namespace */
    bool no_pivot;            /* chroot instead of pivot_root (--no-pivot) */
    /* Internal state between the calls below (the rootfs fd, what finalize still has to do).
     * Start with NULL (a zeroed ctx); rt_rootfs_ctx_clear() releases it. */
    struct rt_rootfs_priv *priv;
};

/* Release ctx->priv (fds are O_CLOEXEC, so an exec without it leaks nothing). */
void rt_rootfs_ctx_clear(struct rt_rootfs_ctx *ctx);
/* After rt_rootfs_prepare: an O_PATH fd of the rootfs mount (owned by ctx; it stays "/" after
 * the pivot), for resolving more paths with rt_open_beneath without reopening it. -1 before. */
int rt_rootfs_fd(const struct rt_rootfs_ctx *ctx);

/* Optional, for idmapped mounts ("idmap"/"ridmap" options or uidMappings/gidMappings on a
 * bind mount) of filesystems the container's user namespace does not own: the kernel lets
 * only their owner (the host) attach an id mapping. Call this in the container's mount
 * namespace or the host's, before entering the container's user namespace; it clones and
 * id-maps each such source into a detached tree that rt_rootfs_prepare then attaches. Without
 * it, prepare id-maps in place, which needs privilege over the source filesystem. */
int rt_rootfs_open_idmapped(struct rt_rootfs_ctx *ctx, struct berr **err);

/* In the container's new mount namespace, before pivot_root: make / private (or per
 * rootfsPropagation), bind the rootfs onto itself, do every spec mount in order, create the
 * default and linux.devices nodes and the /dev symlinks. */
int rt_rootfs_prepare(struct rt_rootfs_ctx *ctx, struct berr **err);
/* Switch root to the rootfs (pivot_root, or chroot), detach the old root, chdir("/"), apply
 * rootfsPropagation. */
int rt_rootfs_pivot(struct rt_rootfs_ctx *ctx, struct berr **err);
/* After pivot: readonlyPaths, maskedPaths, the read-only remount of read-only tmpfs and /dev
 * mounts (kept writable until now so devices and the console could be set up), read-only root.
 * Uses fd-based mount calls, so it works whether or not the container has a /proc. */
int rt_rootfs_finalize(struct rt_rootfs_ctx *ctx, struct berr **err);

/* For `features`: every mount option this runtime understands (a JSON array of strings). */
json_t *rt_mount_options_features(void);

/* Resolve path beneath the directory fd root without leaving it (openat2 RESOLVE_IN_ROOT, with a
 * careful component walk where the kernel lacks it), creating missing directories (or, with
 * make_file, a final regular file) as needed. Returns an O_PATH fd or -1. */
int rt_open_beneath(int root, const char *path, bool create, bool make_file, struct berr **err);
