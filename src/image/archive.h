/* Images as tar archives: `docker save` (one stream that is both a docker-archive and an OCI
 * image layout), `docker load` (that format, the legacy docker-archive of Docker < 25, and plain
 * OCI archives, optionally compressed as a whole) and `docker import` (a rootfs tarball made
 * into a one-layer image). All read and write sequential streams (pipes are fine) and never
 * hold a layer in memory. */
#pragma once

#include <stddef.h>

#include "common/err.h"
#include "image/imagedb.h"
#include "image/snapshot.h"
#include "image/store.h"

/* One image to save, with the names it carries in the archive: normalised references
 * ("docker.io/library/busybox:latest"); NULL or empty for an untagged image. */
struct img_save_item {
    struct img_record *rec;
    char **names;
};

/* Writes the images as one tar stream to out_fd: oci-layout, index.json (one manifest
 * descriptor per image and name, annotated with io.containerd.image.name and
 * org.opencontainers.image.ref.name), blobs/<alg>/<hex> for each manifest, config and layer
 * exactly as stored (each once), Docker's manifest.json (familiar RepoTags) and repositories.
 * Items with the same image are merged. Every blob is checked to be present before anything is
 * written; out_fd is not closed. */
int img_save(struct img_store *s, const struct img_save_item *items, size_t n, int out_fd,
             struct berr **err);

/* Called once per name an image carries in the archive (normalised, as in img_record.names),
 * or once with name NULL for an image without names. rec is the committed record; it is valid
 * only during the call. */
typedef void (*img_load_cb)(void *ctx, const struct img_record *rec, const char *name);

/* Reads an archive (see above; gzip, zstd, xz or bzip2 around it is fine) from in_fd to EOF,
 * stores its blobs (verified), unpacks the layers into snapshots (diff IDs verified against the
 * configs) and commits one record per image, all at once: on failure no record is added or
 * changed (blobs already stored are left for GC). cb may be NULL. */
int img_load(struct img_store *s, struct img_snapshotter *sn, int in_fd, img_load_cb cb, void *ctx,
             struct berr **err);

struct img_import_opts {
    char **changes;            /* Dockerfile instructions (see change.h); may be NULL */
    const char *message;       /* history comment; NULL: "Imported from <source_label>" */
    const char *name;          /* reference to tag the image with (normalised here); NULL */
    const char *platform_os;   /* NULL: linux */
    const char *platform_arch; /* NULL: this host's architecture (amd64 on x86-64) */
    const char *platform_variant;
    const char *source_label; /* "-" for stdin, or the file or URL given; NULL: "-" */
};

/* docker import: reads a rootfs tarball (uncompressed, gzip, zstd, xz or bzip2) from in_fd,
 * stores it as the image's one layer (gzip and zstd kept as given, xz and bzip2 stored
 * decompressed since no image media type names them), unpacks it, and commits an image with an
 * OCI config and manifest. *out (if out is non-NULL) gets a copy of the committed record, which
 * the caller frees with img_record_free. */
int img_import(struct img_store *s, struct img_snapshotter *sn, int in_fd,
               const struct img_import_opts *o, struct img_record **out, struct berr **err);
