/* The distribution-spec HTTP client (OCI distribution-spec, Docker Registry HTTP API v2 and its
 * token auth): one client per registry host, safe to share between threads. It verifies digests
 * of what it keeps in memory; streamed blobs are verified by whoever consumes the stream. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "image/digest.h"

struct reg_options {
    /* Hosts ("host" or "host:port") the user marks insecure: tried over https without
     * certificate checks, then plain http. NULL-terminated, or NULL. localhost, 127.0.0.0/8 and
     * ::1 are insecure without being listed, as with Docker. */
    char **insecure;
    /* Roots of per-registry directories, NULL-terminated; all NULL means
     * {"/etc/berth/certs.d", "/etc/docker/certs.d"}. <root>/<host[:port]>/ may hold *.crt (extra
     * CAs, added to the system ones) and a client certificate X.cert with its key X.key. */
    const char *certs_dirs[4];
    /* Docker-compatible config.json with "auths"; NULL for none. Read when credentials are first
     * needed. */
    const char *auth_file;
    const char *user_agent; /* NULL: "berth/<version>" */
};

struct reg_client;

/* host: "docker.io" (index.docker.io, registry-1.docker.io: all Docker Hub), "host",
 * "host:port", "[v6addr]:port". The client copies what it needs from o (which may be NULL).
 * Fails on a malformed host or an unreadable/invalid certs.d entry. Free with reg_client_free. */
int reg_client_new(const char *host, const struct reg_options *o, struct reg_client **out,
                   struct berr **err);
void reg_client_free(struct reg_client *c);
/* The registry as named at creation ("docker.io", "127.0.0.1:5000"). */
const char *reg_client_host(const struct reg_client *c);
/* Explicit credentials (login), overriding the auth file; cached tokens are dropped. user NULL
 * goes back to anonymous access. The strings are copied. */
void reg_client_set_credentials(struct reg_client *c, const char *user, const char *secret);
/* GET /v2/ with auth as needed: 0 when the registry accepts us (login uses it to check
 * credentials). */
int reg_ping(struct reg_client *c, struct berr **err);

/* A fetched document; clear with reg_blob_body_clear. media_type may be NULL when the registry
 * does not say. */
struct reg_blob_body {
    char *data;
    size_t len;
    char *media_type;
    char digest[IMG_DIGEST_MAX];
};
void reg_blob_body_clear(struct reg_blob_body *b);

/* GET /v2/<repo>/manifests/<reference> accepting OCI index/manifest and Docker manifest
 * list/schema2. reference is a tag or a digest. out->digest is computed from the body (with the
 * reference's algorithm when it is a digest, which must then match); a disagreeing
 * Docker-Content-Digest is an error too. At most 4 MiB. Not found: errnum ENOENT, "manifest for
 * REPO:TAG not found: ...". repo is the full path ("library/alpine" on Docker Hub). */
int reg_get_manifest(struct reg_client *c, const char *repo, const char *reference,
                     struct reg_blob_body *out, struct berr **err);
/* A small blob (an image config) into memory, at most max bytes (0: 4 MiB), digest verified. */
int reg_get_blob(struct reg_client *c, const char *repo, const char *digest, size_t max,
                 struct reg_blob_body *out, struct berr **err);

/* Receives blob bytes in order; < 0 (with *err set) aborts the transfer with that error. */
typedef int (*reg_sink_fn)(void *ctx, const void *buf, size_t len, struct berr **err);
/* Stream blob bytes [offset, end) to sink, each byte exactly once and in order, even across
 * retries: a dropped connection, a 5xx or a 429 is retried up to 5 times in a row without
 * progress (backoff from 200 ms, honouring Retry-After) with a Range request from the next byte
 * needed; a server answering 200 to a Range request has the delivered prefix skipped. Redirects
 * (to blob storage) are followed without our Authorization. No digest check here: the sink's
 * owner holds the whole content and checks it. Not found: errnum ENOENT. */
int reg_fetch_blob(struct reg_client *c, const char *repo, const char *digest, uint64_t offset,
                   reg_sink_fn sink, void *ctx, struct berr **err);
/* HEAD /v2/<repo>/blobs/<digest>: 1 exists (*size set when known, else -1; size may be NULL),
 * 0 absent, -1 error. */
int reg_blob_exists(struct reg_client *c, const char *repo, const char *digest, int64_t *size,
                    struct berr **err);
/* Upload the blob whose bytes are read with pread from fd [0, size). With from_repo (another
 * repository of this registry), a cross-repository mount is tried first; when the registry
 * mounts it, *mounted is set and nothing is uploaded (mounted may be NULL). Otherwise chunk_size
 * 0 uploads in one PUT, anything else in PATCH chunks of that size (raised to the registry's
 * OCI-Chunk-Min-Length) closed by a PUT. */
int reg_upload_blob(struct reg_client *c, const char *repo, const char *digest, int fd,
                    uint64_t size, const char *from_repo, uint64_t chunk_size, bool *mounted,
                    struct berr **err);
/* PUT /v2/<repo>/manifests/<reference> with Content-Type media_type. digest_out (may be NULL)
 * gets the body's digest, which the registry's Docker-Content-Digest must match; a digest
 * reference must match it too. */
int reg_put_manifest(struct reg_client *c, const char *repo, const char *reference,
                     const char *media_type, const void *body, size_t len,
                     char digest_out[IMG_DIGEST_MAX], struct berr **err);
