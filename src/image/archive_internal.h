/* Private to archive_save.c, archive_load.c and archive_import.c: the limits, annotations,
 * compression sniffing, layer-stream and commit helpers they share. Not part of the image API;
 * archive.h is the module's contract. The helpers are defined in archive_load.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/imagedb.h"
#include "image/manifest.h"
#include "image/store.h"

#define COPY_BUF       (1 << 20)
#define ANN_IMAGE_NAME "io.containerd.image.name"
#define ANN_REF_NAME   "org.opencontainers.image.ref.name"

static inline void record_freep(struct img_record **r)
{
    img_record_free(*r);
    *r = NULL;
}

#define _cleanup_record_ _cleanup_(record_freep)

static inline char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* ---- layer streams ---- */

enum comp { COMP_NONE, COMP_GZIP, COMP_ZSTD, COMP_XZ, COMP_BZIP2 };

static inline enum comp sniff(const unsigned char *b, size_t n)
{
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return COMP_GZIP;
    if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        return COMP_ZSTD;
    static const unsigned char xz_magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0};
    if (n >= 6 && memcmp(b, xz_magic, 6) == 0)
        return COMP_XZ;
    if (n >= 3 && memcmp(b, "BZh", 3) == 0)
        return COMP_BZIP2;
    return COMP_NONE;
}

static inline const char *comp_media_type(enum comp c)
{
    return c == COMP_GZIP   ? IMG_MT_OCI_LAYER_GZIP
           : c == COMP_ZSTD ? IMG_MT_OCI_LAYER_ZSTD
                            : IMG_MT_OCI_LAYER;
}

/* The diff ID of a stored layer blob, its tar stream optionally copied to w. */
int img_archive_layer_tar_stream(struct img_store *s, const char *digest, struct img_blob_writer *w,
                                 char diff_id[IMG_DIGEST_MAX], struct berr **err);
/* Re-stores an xz or bzip2 layer uncompressed; digest becomes the new blob's. */
int img_archive_store_decompressed(struct img_store *s, char digest[IMG_DIGEST_MAX],
                                   char diff_id[IMG_DIGEST_MAX], struct berr **err);

/* ---- records ---- */

/* Adds the normalised form of a tagged reference to names; digests are refused. */
int img_archive_add_name(char ***names, const char *s, struct berr **err);
/* Stores an OCI manifest for rec (config rec->id, rec's layers); digest gets its digest. */
int img_archive_synth_manifest(struct img_store *s, const struct img_record *rec,
                               int64_t config_size, char digest[IMG_DIGEST_MAX], struct berr **err);
/* Syncs the store, then adds the records in one transaction, moving each recs[i] into it (left
 * NULL); on success the caller frees *db_out, and stored[i] points at record i inside it. */
int img_archive_commit_records(struct img_store *s, struct img_record **recs, size_t n,
                               struct img_db **db_out, struct img_record **stored,
                               struct berr **err);
