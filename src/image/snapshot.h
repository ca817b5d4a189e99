/* Snapshots: each image layer unpacked once, keyed by its chain ID, and shared by every image
 * that has it. Two drivers behind one ops table: overlay (each layer its own directory, stacked
 * by overlayfs) and copy (each snapshot a full tree: its parent's copy plus the layer), the
 * fallback where overlayfs is unavailable.
 *
 * On disk: <root>/snapshots/<chain hex>/{fs/,meta.json}, l/<short> -> ../<chain hex>/fs (short
 * names keep overlay's mount options under a page with many layers), tmp/ for work in
 * progress, and a "driver" file naming the driver the data root was made with. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "image/store.h"
#include "image/unpack.h"

struct img_snapshotter;

/* driver: "overlay", "copy", or NULL for the one this data root already uses (or, for a new
 * one, overlay when the kernel can mount it here, else copy). */
int img_snap_open(struct img_store *s, const char *driver, struct img_snapshotter **out,
                  struct berr **err);
void img_snap_close(struct img_snapshotter *sn);
void img_snap_closep(struct img_snapshotter **sn);
const char *img_snap_driver(const struct img_snapshotter *sn);
/* Whether a layer can be unpacked before its parent's snapshot exists (overlay: yes). */
bool img_snap_parallel(const struct img_snapshotter *sn);

bool img_snap_exists(struct img_snapshotter *sn, const char *chain_id);
/* Creates snapshot chain_id from the layer tar stream on layer_fd (read to EOF), on top of
 * parent (NULL for a base layer; must exist unless img_snap_parallel). The stream's diff ID
 * must equal expected_diff_id when that is non-NULL. Work happens in a locked scratch
 * directory renamed into place at the end, so a crash leaves no half-made snapshot; if another
 * process made the same snapshot meanwhile, that one is kept. res may be NULL. */
int img_snap_unpack(struct img_snapshotter *sn, const char *parent, const char *chain_id,
                    const char *expected_diff_id, int layer_fd, struct img_unpack_result *res,
                    struct berr **err);
int img_snap_remove(struct img_snapshotter *sn, const char *chain_id, struct berr **err);
/* Every snapshot's chain ID (NULL-terminated; strv_free). */
char **img_snap_list(struct img_snapshotter *sn, struct berr **err);
/* Bytes the layer's files take (recorded at unpack time); -1 if unknown. */
int64_t img_snap_size(struct img_snapshotter *sn, const char *chain_id);
/* The parent recorded for a snapshot (caller frees; NULL for a base layer or on error). */
char *img_snap_parent(struct img_snapshotter *sn, const char *chain_id);

/* Mounts a read-only view of the whole chain ending at chain_id on target (an existing
 * directory). */
int img_snap_mount_ro(struct img_snapshotter *sn, const char *chain_id, const char *target,
                      struct berr **err);
/* Mounts a container's writable root filesystem on target (an existing directory): the chain
 * ending at chain_id (NULL for an image without layers) below upper, an existing directory that
 * keeps the container's changes; work is an empty directory on upper's filesystem that overlay
 * needs. The copy driver fills upper with a full copy of the chain the first time (marked done
 * by work/.copied) and bind-mounts it. All paths absolute. */
int img_snap_mount_rw(struct img_snapshotter *sn, const char *chain_id, const char *upper,
                      const char *work, const char *target, struct berr **err);
