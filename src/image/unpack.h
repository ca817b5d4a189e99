/* Applying an image layer (a tar stream, possibly gzip- or zstd-compressed) beneath a directory,
 * with OCI whiteouts, while computing the layer's digests in the same single pass. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "image/digest.h"

/* Limits on what one layer entry may carry; an entry over any of them fails the unpack. */
#define IMG_UNPACK_MAX_XATTRS      128   /* extended attributes per entry */
#define IMG_UNPACK_MAX_XATTR_VALUE 65536 /* bytes in one attribute value (the kernel's limit) */

enum img_whiteout_mode {
    /* The layer goes into its own empty directory, to be an overlayfs lower layer:
     * ".wh.NAME" becomes a 0/0 character device named NAME, ".wh..wh..opq" becomes the xattr
     * trusted.overlay.opaque="y" on its directory. */
    IMG_WHITEOUT_OVERLAY,
    /* The layer is applied on top of a copy of its parent: ".wh.NAME" removes NAME (recursively),
     * ".wh..wh..opq" removes everything in its directory that this layer did not itself create.
     * As the image spec says, a whiteout never hides what the same layer created. */
    IMG_WHITEOUT_APPLY,
};

struct img_unpack_opts {
    enum img_whiteout_mode whiteouts;
    /* Resolve paths with the component-by-component walk that stands in for openat2() on kernels
     * without it (before 5.6), even where openat2() exists; for tests. */
    bool force_walk;
};

struct img_unpack_result {
    char diff_id[IMG_DIGEST_MAX];           /* sha256 of the whole uncompressed stream */
    char compressed_digest[IMG_DIGEST_MAX]; /* sha256 of every byte read from src_fd */
    uint64_t compressed_size, uncompressed_size;
    uint64_t entries; /* tar members read, whiteouts included */
};

/* Reads a tar stream (gzip, zstd, xz, bzip2 or uncompressed, told apart by content) from src_fd
 * until EOF, sequentially and without seeking (src_fd may be a pipe), and writes its entries
 * beneath dest_dirfd, which is not closed. Bytes after the tar's end are read and hashed too.
 * Nothing is ever created, changed or removed outside dest_dirfd: entries whose path leaves it,
 * directly or through a symlink, are refused. On failure returns -1 with *err set naming the
 * entry; dest may then hold a partial layer, which the caller removes. res may be NULL. */
int img_unpack_layer(int src_fd, int dest_dirfd, const struct img_unpack_opts *opts,
                     struct img_unpack_result *res, struct berr **err);
