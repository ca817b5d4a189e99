/* A container's writable layer against its image: the changes `docker diff` lists, the OCI
 * layer made of them, and the image `docker commit` (and, later, each builder step) makes of
 * that layer. The writable layer is an overlayfs upper directory over the image's snapshots
 * (whiteouts: 0/0 character devices; opaque directories: trusted.overlay.opaque=y) with the
 * overlay driver, or a full copy of the image's tree with the copy driver. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "image/digest.h"
#include "image/snapshot.h"
#include "image/store.h"

/* Docker's numbering (the Kind of GET /containers/{id}/changes). */
enum img_change_kind { IMG_CHANGE_MODIFY = 0, IMG_CHANGE_ADD = 1, IMG_CHANGE_DELETE = 2 };

struct img_change {
    char *path; /* absolute: "/etc/passwd" */
    enum img_change_kind kind;
};

struct img_changes {
    size_t n, cap;
    struct img_change *v;
};

void img_changes_free(struct img_changes *c);
void img_changes_freep(struct img_changes **c);

/* A writable layer and what it sits on. */
struct img_rw_layer {
    const char *upper;    /* absolute: the container's upper directory */
    const char *chain_id; /* the image's top snapshot; NULL for an image without layers */
    /* Absolute paths the runtime makes as mount points ("/etc/hosts", "/proc"): when the image
     * lacks one, it is left out with everything below it, as Docker keeps such paths in a
     * layer of their own. NULL-terminated; may be NULL. */
    const char *const *ignore;
};

/* Compares the layer with the image by Docker's rules (its naive differ): an entry the image
 * lacks is added, and so is everything below an added directory; one the image has with another
 * mode (type and permission bits), owner, device number, security.capability, or (not for
 * directories) size or mtime (whole seconds match a time with nanoseconds) is modified; one the
 * layer removed is deleted (a removed directory alone, not its contents); a directory with a
 * change below it is modified. Order: depth first, a directory before its contents, names in
 * byte order. With the copy driver the upper directory must have been mounted once (by
 * img_snap_mount_rw), which fills it. *out is freed with img_changes_free. */
int img_diff_changes(struct img_snapshotter *sn, const struct img_rw_layer *l,
                     struct img_changes **out, struct berr **err);

struct img_layer_blob {
    char digest[IMG_DIGEST_MAX];  /* the stored blob: gzip */
    char diff_id[IMG_DIGEST_MAX]; /* sha256 of the uncompressed tar */
    int64_t size;                 /* bytes of the blob */
};

/* Stores the layer's changes as an OCI layer blob: a gzip-compressed tar (pax) holding every
 * added or modified entry with its owner, mode, mtime (whole seconds), device numbers and
 * extended attributes (not overlayfs' own trusted.overlay.*, nor security.selinux), hard links
 * among them kept; a deletion as an empty ".wh.<name>" file. Parents come before their
 * contents. Returns 1 with *out filled, or 0 when nothing changed (nothing is stored). The
 * caller holds a GC lease (img_gc_lease) until a record names the blob. Entries that change
 * while the tar is written (a container not paused) are taken as they are then; one that
 * vanished is left out. */
int img_diff_layer(struct img_store *s, struct img_snapshotter *sn, const struct img_rw_layer *l,
                   struct img_layer_blob *out, struct berr **err);

struct img_commit_opts {
    const char *parent;     /* the image ID (config digest) the layer sits on; NULL: none */
    json_t *config;         /* the new image's container defaults ("config"); borrowed */
    const char *author;     /* may be NULL */
    const char *comment;    /* history comment; may be NULL */
    const char *created_by; /* history: what made the layer ("sh -c ..."); may be NULL */
    const char *name;       /* normalised reference ("docker.io/library/x:1") to tag; NULL */
};

/* docker commit: an image made of the parent's layers plus the layer img_diff_layer stores
 * (none when nothing changed: the history entry then says empty_layer), with the parent's
 * config where the platform, "config", "created", "author", "history" (extended) and
 * "rootfs.diff_ids" (extended) are the new image's; an OCI manifest; the new layer unpacked
 * into a snapshot so the image runs at once; the record committed and, with a name, tagged
 * (the name moves from any image that had it). l->chain_id must be the parent's top snapshot.
 * id_out gets the image ID. On failure no record is added or changed (stored blobs are left
 * for GC). */
int img_commit(struct img_store *s, struct img_snapshotter *sn, const struct img_rw_layer *l,
               const struct img_commit_opts *o, char id_out[IMG_DIGEST_MAX], struct berr **err);
