/* The content store: blobs (manifests, configs, layers) addressed by digest under
 * <root>/content/blobs/<algo>/<hex>, verified while written and made visible only by an atomic
 * rename. Partial downloads live in <root>/content/ingest/ so an interrupted pull can resume.
 * The store also owns the data root's directory layout (snapshots/, images/, tmp/). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "image/digest.h"

struct img_store;
struct img_snap_ops;

/* Opens (creating) the store at root. Removes scratch left by a killed process (unlocked
 * snapshots/tmp entries and tmp/), keeps resumable ingest files younger than a day. */
int img_store_open(const char *root, struct img_store **out, struct berr **err);
void img_store_free(struct img_store *s);
void img_store_freep(struct img_store **s);
const char *img_store_root(const struct img_store *s);
/* An fd on the root directory (owned by the store). */
int img_store_dirfd(const struct img_store *s);

/* --- blobs --- */
/* 1 when present (size set if non-NULL), 0 when not. */
int img_blob_stat(struct img_store *s, const char *digest, int64_t *size);
static inline bool img_blob_exists(struct img_store *s, const char *digest)
{
    return img_blob_stat(s, digest, NULL) == 1;
}
/* Path of a committed blob (caller frees); the blob need not exist. */
char *img_blob_path(struct img_store *s, const char *digest);
int img_blob_open(struct img_store *s, const char *digest, struct berr **err);
/* Reads a small blob whole, checking its digest again (manifests and configs decide what gets
 * run, so a corrupted copy must not be trusted). max caps the size. */
char *img_blob_read(struct img_store *s, const char *digest, size_t max, size_t *len,
                    struct berr **err);
/* Stores buf; expected may be NULL. digest_out may be NULL. */
int img_blob_put(struct img_store *s, const void *buf, size_t len, const char *expected,
                 char digest_out[IMG_DIGEST_MAX], struct berr **err);
int img_blob_delete(struct img_store *s, const char *digest, struct berr **err);
/* Every committed blob digest (NULL-terminated, caller frees with strv_free). */
char **img_blob_list(struct img_store *s, struct berr **err);

/* --- writing a blob --- */
struct img_blob_writer;
/* Starts writing a blob. With an expected digest, the ingest entry for it is locked: a second
 * writer of the same blob (another thread or process) waits here until the first finishes, and
 * then gets 1 if the first committed it. A partial ingest from an interrupted earlier run is
 * kept and continued (see img_blob_writer_offset). expected_size < 0 means unknown.
 * Returns 1 (blob already stored, *out NULL), 0 (*out set) or -1. */
int img_blob_writer_open(struct img_store *s, const char *expected, int64_t expected_size,
                         struct img_blob_writer **out, struct berr **err);
/* Bytes already present from an earlier attempt: the caller resumes there. */
uint64_t img_blob_writer_offset(const struct img_blob_writer *w);
int img_blob_writer_write(struct img_blob_writer *w, const void *buf, size_t len,
                          struct berr **err);
/* Verifies size and digest, syncs, publishes. Frees w in every case. On a digest mismatch the
 * partial data is removed, so a retry starts clean. */
int img_blob_writer_commit(struct img_blob_writer *w, char digest_out[IMG_DIGEST_MAX],
                           struct berr **err);
/* Frees w without publishing. keep_partial leaves the bytes for a later resume (only for a
 * writer with an expected digest). */
void img_blob_writer_abort(struct img_blob_writer *w, bool keep_partial);

/* Removes every partial download nobody is writing (GC: the user gave up on them). */
void img_store_sweep_ingests(struct img_store *s);
/* The fd of a writer's partial file, to replay the bytes before its offset. */
int img_blob_writer_fd(const struct img_blob_writer *w);

/* --- scratch --- */
/* A fresh directory under <root>/<area> (area: "tmp" or "snapshots/tmp"), locked while this
 * process holds it so that a concurrent img_store_open does not sweep it away. */
struct img_scratch {
    char *path; /* absolute */
    char *name; /* relative to the area */
    int fd;     /* the directory, locked */
};
int img_scratch_new(struct img_store *s, const char *area, struct img_scratch **out,
                    struct berr **err);
/* Removes the directory (unless it was renamed away) and frees. */
void img_scratch_free(struct img_scratch *sc);
void img_scratch_freep(struct img_scratch **sc);
