/* Garbage collection of blobs and snapshots no image record refers to, and the locks and holds
 * that keep work in progress and images in use out of its reach. */
#pragma once

#include <stdint.h>

#include "common/err.h"
#include "image/snapshot.h"
#include "image/store.h"

/* A shared lease on the store: while held, GC does not run (it waits). Pull, load and import
 * hold one from their first blob until their record is committed. Returns an fd to close. */
int img_gc_lease(struct img_store *s, struct berr **err);

struct img_gc_result {
    size_t blobs;
    size_t snapshots;
    int64_t bytes; /* freed, blobs and snapshot sizes as recorded */
};
/* Removes what no record names: blobs (manifests, indexes, configs, layers), snapshots, and
 * abandoned partial downloads. */
int img_gc(struct img_store *s, struct img_snapshotter *sn, struct img_gc_result *res,
           struct berr **err);

/* Holds mark an image as in use (a mounted image now; containers later): rmi refuses a held
 * image unless forced. holder is a file name ([A-Za-z0-9_.-]). */
int img_hold_add(struct img_store *s, const char *holder, const char *image_id, struct berr **err);
int img_hold_remove(struct img_store *s, const char *holder, struct berr **err);
/* The holders of image_id (NULL-terminated, strv_free). */
char **img_holders(struct img_store *s, const char *image_id);
