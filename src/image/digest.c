/* Digest strings and streaming SHA-2 (nettle). The encoded part is checked strictly (lowercase
 * hex of the exact length) because digests become file names in the store.
 *
 * Why nettle and not OpenSSL's EVP: berthd serves its API through libmicrohttpd, whose TLS
 * library (GnuTLS) already loads nettle, while the first EVP digest loads and initialises
 * libcrypto, 3 MB more resident in a daemon that only loaded an image; nettle's SHA-NI code is
 * within 10% of OpenSSL's speed, far above what unpacking layers runs at. */
#include <errno.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "image/digest.h"

struct img_hasher {
    const struct nettle_hash *hash;
    union {
        struct sha256_ctx sha256;
        struct sha512_ctx sha512;
    } ctx;
    const char *name;
};

static size_t hex_len_of(const char *algo, size_t algo_len)
{
    if (algo_len == 6 && memcmp(algo, "sha256", 6) == 0)
        return 64;
    if (algo_len == 6 && memcmp(algo, "sha512", 6) == 0)
        return 128;
    return 0;
}

int img_digest_validate(const char *d, struct berr **err)
{
    const char *colon = d ? strchr(d, ':') : NULL;
    if (colon == NULL || colon == d)
        return berr_set(err, EINVAL,
                        "invalid digest \"%s\": expected algorithm:hex, e.g. sha256:...",
                        d ? d : "");
    size_t want = hex_len_of(d, (size_t)(colon - d));
    if (want == 0)
        return berr_set(err, EINVAL,
                        "digest \"%s\": unsupported algorithm \"%.*s\" (sha256 or sha512)", d,
                        (int)(colon - d), d);
    const char *hex = colon + 1;
    size_t n = strlen(hex);
    if (n != want)
        return berr_set(err, EINVAL, "digest \"%s\": %.*s needs %zu hex digits, found %zu", d,
                        (int)(colon - d), d, want, n);
    for (size_t i = 0; i < n; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return berr_set(err, EINVAL, "digest \"%s\": '%c' is not a lowercase hex digit", d, c);
    }
    return 0;
}

bool img_digest_valid(const char *d)
{
    return img_digest_validate(d, NULL) == 0;
}

const char *img_digest_hex(const char *d)
{
    const char *colon = strchr(d, ':');
    return colon ? colon + 1 : d;
}

const char *img_digest_algo(const char *d, char buf[8])
{
    const char *colon = strchr(d, ':');
    size_t n = colon ? (size_t)(colon - d) : 0;
    if (n == 0 || n > 7)
        n = 0;
    memcpy(buf, d, n);
    buf[n] = '\0';
    return buf;
}

struct img_hasher *img_hasher_new(const char *algo)
{
    const struct nettle_hash *hash;
    if (algo == NULL || strcmp(algo, "sha256") == 0)
        hash = &nettle_sha256;
    else if (strcmp(algo, "sha512") == 0)
        hash = &nettle_sha512;
    else
        return NULL;
    struct img_hasher *h = xzalloc(sizeof(*h));
    h->hash = hash;
    h->name = hash->name;
    img_hasher_reset(h);
    return h;
}

void img_hasher_reset(struct img_hasher *h)
{
    h->hash->init(&h->ctx);
}

void img_hasher_update(struct img_hasher *h, const void *buf, size_t len)
{
    if (len > 0)
        h->hash->update(&h->ctx, len, buf);
}

void img_hasher_final(struct img_hasher *h, char out[IMG_DIGEST_MAX])
{
    unsigned char md[SHA512_DIGEST_SIZE];
    unsigned int n = h->hash->digest_size;
    static const char hexdig[] = "0123456789abcdef";
    h->hash->digest(&h->ctx, n, md);
    size_t off = (size_t)snprintf(out, IMG_DIGEST_MAX, "%s:", h->name);
    for (unsigned int i = 0; i < n && off + 2 < IMG_DIGEST_MAX; i++) {
        out[off++] = hexdig[md[i] >> 4];
        out[off++] = hexdig[md[i] & 15];
    }
    out[off] = '\0';
}

void img_hasher_free(struct img_hasher *h)
{
    free(h);
}

void img_hasher_freep(struct img_hasher **h)
{
    img_hasher_free(*h);
    *h = NULL;
}

void img_digest_buf(const void *buf, size_t len, char out[IMG_DIGEST_MAX])
{
    struct img_hasher *h = img_hasher_new("sha256");
    img_hasher_update(h, buf, len);
    img_hasher_final(h, out);
    img_hasher_free(h);
}
