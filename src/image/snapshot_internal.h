/* Shared between the snapshot core and its drivers; nothing outside src/image includes this. */
#pragma once

#include "image/snapshot.h"

struct img_snap_ops {
    const char *name;
    enum img_whiteout_mode whiteouts;
    bool parallel; /* layers need not wait for their parent */
    /* Can this driver work on this data root? */
    bool (*available)(struct img_snapshotter *sn);
    /* Fill fs (a fresh, empty directory) with what the layer is applied on. */
    int (*prepare)(struct img_snapshotter *sn, const char *parent, int fs_fd, const char *fs_path,
                   struct berr **err);
    int (*mount_ro)(struct img_snapshotter *sn, const char *chain_id, const char *target,
                    struct berr **err);
    /* chain_id is never NULL here */
    int (*mount_rw)(struct img_snapshotter *sn, const char *chain_id, const char *upper,
                    const char *work, const char *target, struct berr **err);
};

extern const struct img_snap_ops img_snap_overlay_ops;
extern const struct img_snap_ops img_snap_copy_ops;

struct img_snapshotter {
    struct img_store *s;
    char *dir; /* <root>/snapshots */
    int dir_fd;
    const struct img_snap_ops *ops;
};

/* "<root>/snapshots/<hex>/fs" */
char *img_snap_fs_path(struct img_snapshotter *sn, const char *chain_id);
/* Short link name "l/<16 hex>" for a chain ID, relative to the snapshots directory. */
char *img_snap_short_link(const char *chain_id);
/* A read-only bind mount of dir on target (undone if the remount fails). */
int img_snap_bind_ro(const char *dir, const char *target, struct berr **err);
