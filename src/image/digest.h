/* Content digests ("algorithm:hex", OCI image-spec descriptor.md): validation and streaming
 * hashing. sha256 is what every registry uses; sha512 is accepted for verification. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Room for "sha512:" + 128 hex digits + NUL. */
#define IMG_DIGEST_MAX 136

/* 0 when d is "sha256:<64 lowercase hex>" or "sha512:<128 lowercase hex>"; otherwise -1 with an
 * error naming what is wrong. Other registered algorithms are refused: we cannot verify them. */
int img_digest_validate(const char *d, struct berr **err);
bool img_digest_valid(const char *d);
/* The algorithm part ("sha256") and the encoded part (after ':') of a valid digest. */
const char *img_digest_hex(const char *d);

struct img_hasher;
/* algo: "sha256" or "sha512"; NULL means sha256. Returns NULL for anything else. Free with
 * img_hasher_free. */
struct img_hasher *img_hasher_new(const char *algo);
void img_hasher_update(struct img_hasher *h, const void *buf, size_t len);
/* Writes "algo:hex" into out; the hasher can then only be freed or reset. */
void img_hasher_final(struct img_hasher *h, char out[IMG_DIGEST_MAX]);
void img_hasher_reset(struct img_hasher *h);
void img_hasher_free(struct img_hasher *h);
void img_hasher_freep(struct img_hasher **h);
/* The algorithm of a valid digest, for img_hasher_new. */
const char *img_digest_algo(const char *d, char buf[8]);

/* sha256 of a buffer, as "sha256:hex". */
void img_digest_buf(const void *buf, size_t len, char out[IMG_DIGEST_MAX]);
