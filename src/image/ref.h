/* Image references as Docker users write them ("busybox", "localhost:5000/app:1",
 * "ghcr.io/o/r@sha256:..."), parsed with the distribution/reference grammar and normalised the
 * way `docker` does: Docker Hub names gain "docker.io" and, for one-component names, "library/".
 * A reference owns its strings; free it with img_ref_free. */
#pragma once

#include <stdbool.h>

#include "common/err.h"

#define IMG_REF_DEFAULT_DOMAIN "docker.io"
#define IMG_REF_DEFAULT_TAG    "latest"
/* Longest repository name (domain + '/' + path, after normalisation). */
#define IMG_REF_NAME_MAX 255
#define IMG_REF_TAG_MAX  128

struct img_ref {
    char *domain; /* "docker.io", "localhost:5000", "[::1]:5000"; never NULL */
    char *path;   /* "library/busybox", lowercase; never NULL */
    char *tag;    /* may be NULL */
    char *digest; /* "sha256:<hex>"; may be NULL */
};

/* Parse and normalise s; the default tag "latest" is applied when s has neither a tag nor a
 * digest ("name:tag@digest" keeps both). Errors start with "invalid reference format" (as
 * Docker's do) and quote the input. A bare 64-hex string is refused, as Docker refuses it: it
 * is an image ID, so callers that accept IDs ask img_ref_looks_like_id() first. */
int img_ref_parse(const char *s, struct img_ref **out, struct berr **err);
/* Same, without the default tag: for "push --all-tags", reference filters and the like. */
int img_ref_parse_repo(const char *s, struct img_ref **out, struct berr **err);
/* True for a full image ID: 64 lowercase hex digits, bare or after "sha256:". Short ID prefixes
 * are also valid names, so callers that accept them try the name first, then the prefix. */
bool img_ref_looks_like_id(const char *s);

struct img_ref *img_ref_dup(const struct img_ref *r);
void img_ref_free(struct img_ref *r);
void img_ref_freep(struct img_ref **r);

/* Strings below are newly allocated; the caller frees them. */
/* "docker.io/library/busybox:latest", "h:5000/a/b:1@sha256:..." */
char *img_ref_string(const struct img_ref *r);
/* As `docker images` prints it: "busybox:latest", "me/app:1", "h:5000/a/b@sha256:..." */
char *img_ref_familiar(const struct img_ref *r);
/* The repository without tag or digest: "docker.io/library/busybox" */
char *img_ref_repo(const struct img_ref *r);
/* Its familiar form: "busybox", "me/app", "h:5000/a/b" */
char *img_ref_familiar_repo(const struct img_ref *r);

#define _cleanup_ref_ __attribute__((cleanup(img_ref_freep)))
