/* Image manifests, indexes (manifest lists) and image configs, OCI image-spec and Docker
 * schema 2: detection, strict parsing of untrusted JSON, platform selection, chain IDs and
 * deterministic serialisation for the builders (push, save, import, commit).
 *
 * Every parser takes JSON straight from a registry or an archive. Callers stop reading a body
 * past IMG_MANIFEST_MAX (manifests and indexes) or IMG_CONFIG_MAX (configs); the parsers refuse
 * longer input too. Parsed objects own everything they point to; free them with their _free. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define IMG_MANIFEST_MAX (4 * 1024 * 1024)
#define IMG_CONFIG_MAX   (8 * 1024 * 1024)

#define IMG_MT_OCI_INDEX             "application/vnd.oci.image.index.v1+json"
#define IMG_MT_OCI_MANIFEST          "application/vnd.oci.image.manifest.v1+json"
#define IMG_MT_OCI_CONFIG            "application/vnd.oci.image.config.v1+json"
#define IMG_MT_OCI_LAYER             "application/vnd.oci.image.layer.v1.tar"
#define IMG_MT_OCI_LAYER_GZIP        "application/vnd.oci.image.layer.v1.tar+gzip"
#define IMG_MT_OCI_LAYER_ZSTD        "application/vnd.oci.image.layer.v1.tar+zstd"
#define IMG_MT_OCI_LAYER_ND          "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define IMG_MT_OCI_LAYER_ND_GZIP     "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define IMG_MT_OCI_LAYER_ND_ZSTD     "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
#define IMG_MT_DOCKER_LIST           "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMG_MT_DOCKER_MANIFEST       "application/vnd.docker.distribution.manifest.v2+json"
#define IMG_MT_DOCKER_CONFIG         "application/vnd.docker.container.image.v1+json"
#define IMG_MT_DOCKER_LAYER_GZIP     "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define IMG_MT_DOCKER_FOREIGN_GZIP   "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define IMG_MT_DOCKER_SCHEMA1        "application/vnd.docker.distribution.manifest.v1+json"
#define IMG_MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
/* What a registry client asks for (HTTP Accept): every kind we can parse. */
#define IMG_MANIFEST_ACCEPT                                                                        \
    IMG_MT_OCI_INDEX ", " IMG_MT_OCI_MANIFEST ", " IMG_MT_DOCKER_LIST ", " IMG_MT_DOCKER_MANIFEST

/* ---- platforms ---- */

struct img_platform {
    char *os;           /* "linux" */
    char *architecture; /* "amd64", "arm64", "arm", ... */
    char *variant;      /* "v7"; NULL when none */
    char *os_version;   /* NULL when none */
    char **os_features; /* NULL-terminated; NULL when none */
};

/* "linux/arm64/v8", "linux/amd64", "arm64" (os defaults to linux), "linux" (host architecture).
 * The result is normalised as containerd does: aarch64 -> arm64, x86_64 -> amd64, armhf ->
 * arm/v7, arm -> arm/v7, arm64/v8 -> arm64, amd64/v1 -> amd64. */
int img_platform_parse(const char *s, struct img_platform **out, struct berr **err);
/* "os/arch[/variant]"; caller frees. */
char *img_platform_string(const struct img_platform *p);
/* The platform this build runs containers for; amd64 hosts carry their x86-64 level (v2..v4)
 * as variant when above the baseline. */
struct img_platform *img_platform_host(void);
struct img_platform *img_platform_dup(const struct img_platform *p);
void img_platform_free(struct img_platform *p);
void img_platform_freep(struct img_platform **p);

/* ---- descriptors, manifests, indexes ---- */

struct img_descriptor {
    char *media_type;
    char *digest;        /* valid sha256/sha512 digest */
    int64_t size;        /* >= 0 */
    char **urls;         /* NULL-terminated http(s) URLs (foreign layers); NULL when none */
    json_t *annotations; /* object of strings, one reference owned; NULL when none */
    char *artifact_type; /* NULL when none */
    struct img_platform *platform; /* index entries only; NULL when none */
};

enum img_manifest_kind { IMG_KIND_INDEX, IMG_KIND_MANIFEST };

/* The kind of a manifest body. media_type is the HTTP Content-Type (may be NULL, may carry
 * parameters such as "; charset=utf-8"); when it names no manifest type, the body's mediaType
 * and then its shape decide. Schema 1 manifests are refused with an explanation. */
int img_manifest_kind(const char *media_type, const void *body, size_t len,
                      enum img_manifest_kind *kind, struct berr **err);

struct img_index {
    char *media_type; /* the body's mediaType, else the Content-Type's, else OCI's */
    char *artifact_type;
    size_t n;
    struct img_descriptor *manifests;
    struct img_descriptor *subject; /* NULL when none */
    json_t *annotations;            /* NULL when none */
};

struct img_manifest {
    char *media_type; /* the body's mediaType, else the Content-Type's, else OCI's */
    char *artifact_type;
    struct img_descriptor config; /* an image config type (OCI or Docker) */
    size_t n_layers;
    struct img_descriptor *layers;  /* every one a known layer type */
    struct img_descriptor *subject; /* NULL when none */
    json_t *annotations;            /* NULL when none */
};

/* Parse and validate fully. media_type is the Content-Type as for img_manifest_kind; a body of
 * the other kind is refused. */
int img_index_parse(const char *media_type, const void *body, size_t len, struct img_index **out,
                    struct berr **err);
int img_manifest_parse(const char *media_type, const void *body, size_t len,
                       struct img_manifest **out, struct berr **err);
void img_index_free(struct img_index *ix);
void img_index_freep(struct img_index **ix);
void img_manifest_free(struct img_manifest *m);
void img_manifest_freep(struct img_manifest **m);
/* Frees what d points to, not d itself (descriptors live in arrays). */
void img_descriptor_clear(struct img_descriptor *d);

/* Chooses the entry of ix for want, with containerd's platforms.Only preferences, simplified:
 * want NULL (or its architecture NULL) means the host; os NULL means linux. amd64/vN also takes
 * vN-1..v1 and 386; the host's amd64 prefers the baseline, then its own level and below;
 * arm64 takes arm64/v8 (its default variant) and arm/v8..v5; arm/vN takes vN..v5 (v7 default).
 * Entries without a platform are taken last, and only when they are image manifests. When
 * nothing matches the error lists what the index offers. */
int img_index_select(const struct img_index *ix, const struct img_platform *want, size_t *idx,
                     struct berr **err);

/* Layer media types: 0 and the compression (and whether it is a foreign/non-distributable
 * layer, which push skips) for a known type, -1 with an error naming it otherwise. */
enum img_compression { IMG_COMPRESSION_NONE, IMG_COMPRESSION_GZIP, IMG_COMPRESSION_ZSTD };
int img_layer_media_type(const char *media_type, enum img_compression *comp, bool *foreign,
                         struct berr **err);

/* Compact JSON, keys in the order the specs list them (annotations sorted), so the same struct
 * always gives the same bytes and digest. *len (if len non-NULL) gets the length. */
char *img_manifest_serialize(const struct img_manifest *m, size_t *len);
char *img_index_serialize(const struct img_index *ix, size_t *len);

/* ---- image configs ---- */

struct img_history {
    char *created; /* each may be NULL */
    char *created_by;
    char *author;
    char *comment;
    bool empty_layer;
};

struct img_config {
    json_t *root; /* the whole document, for inspect and round trips; owned */
    char *architecture, *os, *variant, *os_version; /* may be NULL (very old images) */
    char *created;                                  /* RFC 3339; may be NULL */
    char *author;                                   /* may be NULL */
    json_t *config; /* the container defaults (Env, Cmd, ...); borrowed from root; may be NULL */
    size_t n_diff_ids;
    char **diff_ids; /* NULL-terminated, n_diff_ids valid digests */
    size_t n_history;
    struct img_history *history;
    /* The history lists a number of non-empty layers other than n_diff_ids. Docker tolerates
     * this; callers may warn. */
    bool history_mismatch;
};

/* Parse and validate: rootfs.type must be "layers", every diff_id a valid digest, the typed
 * fields of "config" and "history" of the right JSON types. */
int img_config_parse(const void *body, size_t len, struct img_config **out, struct berr **err);
void img_config_free(struct img_config *c);
void img_config_freep(struct img_config **c);
/* Compact JSON of c->root: for configs a builder made (commit, import); a parsed config's own
 * bytes are what its digest covers, so keep those instead. */
char *img_config_serialize(const struct img_config *c, size_t *len);

/* 0 when the manifest lists as many layers as the config has diff_ids, else -1 with an error. */
int img_manifest_check_config(const struct img_manifest *m, const struct img_config *c,
                              struct berr **err);

/* Chain IDs per image-spec config.md: ChainID(L0) = DiffID(L0), ChainID(Ln) =
 * sha256(ChainID(Ln-1) + " " + DiffID(Ln)). Returns a NULL-terminated vector of n strings. */
char **img_chain_ids(char *const *diff_ids, size_t n);

#define _cleanup_index_    __attribute__((cleanup(img_index_freep)))
#define _cleanup_manifest_ __attribute__((cleanup(img_manifest_freep)))
#define _cleanup_config_   __attribute__((cleanup(img_config_freep)))
#define _cleanup_platform_ __attribute__((cleanup(img_platform_freep)))
