/* Image records: which images the store holds (an image's ID is its config digest, as in
 * Docker), their layers and snapshots, and the names and digests that point at them. One file,
 * <root>/images/images.json, replaced atomically under <root>/images/lock: a record appears
 * only after everything it names is in the store, so a killed pull or load never leaves a
 * half-visible image. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "image/store.h"

struct img_layer_info {
    char *digest; /* the blob as distributed (compressed) */
    char *media_type;
    int64_t size;
    char *diff_id;  /* uncompressed */
    char *chain_id; /* its snapshot */
};

struct img_record {
    char *id;     /* config digest */
    char *target; /* digest a name resolves to: the index when pulled through one */
    char *target_media_type;
    char *manifest; /* the platform manifest's digest */
    char *manifest_media_type;
    char **names;        /* normalised "domain/path:tag", possibly empty */
    char **repo_digests; /* "domain/path@digest" */
    char *created;       /* from the config (RFC 3339) */
    char *os, *architecture, *variant;
    int64_t size;        /* bytes of unpacked layers */
    int64_t added;       /* unix time the record was made */
    int64_t last_tagged; /* unix time a name was last added, 0 if never */
    size_t n_layers;
    struct img_layer_info *layers;
};

struct img_db {
    struct img_store *s;
    int lock_fd; /* >= 0 while a transaction holds the lock */
    size_t n;
    struct img_record **v;
};

/* A read-only view (no lock): what the last committed transaction wrote. */
int img_db_load(struct img_store *s, struct img_db **out, struct berr **err);
/* Takes the lock and loads: the caller changes db and commits, or frees to abandon. */
int img_db_begin(struct img_store *s, struct img_db **out, struct berr **err);
int img_db_commit(struct img_db *db, struct berr **err);
void img_db_free(struct img_db *db);
void img_db_freep(struct img_db **db);

struct img_record *img_db_get(struct img_db *db, const char *id);
/* Finds an image as `docker` does: by name ("busybox" means docker.io/library/busybox:latest),
 * by name@digest or bare digest of a pulled manifest, by full ID, or by a unique ID prefix.
 * Errors: ENOENT "No such image: X", or an ambiguous prefix. */
int img_db_resolve(struct img_db *db, const char *what, struct img_record **out, struct berr **err);
/* The image holding a normalised name, or NULL. */
struct img_record *img_db_by_name(struct img_db *db, const char *name);

/* Adds rec (taking it) or merges it into the record with the same ID (names and digests
 * unioned). Names rec carries move to it from whatever image held them. Returns the stored
 * record. */
struct img_record *img_db_add(struct img_db *db, struct img_record *rec);
/* Points a normalised name at rec, taking it from any other image. */
void img_db_tag(struct img_db *db, struct img_record *rec, const char *name);
/* Removes a name; returns the image that had it (now perhaps nameless) or NULL. */
struct img_record *img_db_untag(struct img_db *db, const char *name);
/* Removes rec from db and frees it. */
void img_db_remove(struct img_db *db, struct img_record *rec);

struct img_record *img_record_new(void);
void img_record_free(struct img_record *r);
/* "sha256:abc..." -> "abc...": the first 12 hex digits Docker shows. */
const char *img_short_id(const char *id, char buf[13]);
/* Adds s to *v unless already there. */
void img_strv_add_unique(char ***v, const char *s);
