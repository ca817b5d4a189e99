/* Fuzz target for manifests and indexes as a registry or an image archive serves them: kind
 * detection, parsing, platform selection, and the serialiser, which must give text that parses
 * back to the same bytes. An input not starting with JSON picks a Content-Type with its first
 * byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "image/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = {
    NULL,
    IMG_MT_OCI_INDEX,
    IMG_MT_OCI_MANIFEST,
    IMG_MT_DOCKER_LIST,
    IMG_MT_DOCKER_MANIFEST "; charset=utf-8",
    IMG_MT_DOCKER_SCHEMA1_SIGNED,
    "application/json",
    " Application/VND.OCI.Image.Index.v1+JSON ;",
};

static const char *const platforms[] = {"linux/amd64",    "linux/arm64",   "linux/arm/v6",
                                        "linux/amd64/v3", "windows/amd64", "linux/arm64/v9.2"};

static void fuzz_index(const char *ct, const uint8_t *body, size_t len)
{
    _cleanup_index_ struct img_index *ix = NULL;
    struct berr *err = NULL;
    if (img_index_parse(ct, body, len, &ix, &err) < 0) {
        if (ix != NULL || err == NULL)
            abort();
        berr_free(err);
        return;
    }
    size_t n;
    _cleanup_free_ char *s = img_index_serialize(ix, &n);
    _cleanup_index_ struct img_index *again = NULL;
    if (img_index_parse(NULL, s, n, &again, NULL) < 0)
        abort();
    _cleanup_free_ char *s2 = img_index_serialize(again, NULL);
    if (strcmp(s, s2) != 0)
        abort();

    size_t idx;
    if (img_index_select(ix, NULL, &idx, NULL) == 0 && idx >= ix->n)
        abort();
    for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++) {
        _cleanup_platform_ struct img_platform *p = NULL;
        if (img_platform_parse(platforms[i], &p, NULL) < 0)
            abort();
        err = NULL;
        if (img_index_select(ix, p, &idx, &err) == 0) {
            if (idx >= ix->n)
                abort();
        } else {
            berr_free(err);
        }
    }
}

static void fuzz_manifest(const char *ct, const uint8_t *body, size_t len)
{
    _cleanup_manifest_ struct img_manifest *m = NULL;
    struct berr *err = NULL;
    if (img_manifest_parse(ct, body, len, &m, &err) < 0) {
        if (m != NULL || err == NULL)
            abort();
        berr_free(err);
        return;
    }
    size_t n;
    _cleanup_free_ char *s = img_manifest_serialize(m, &n);
    _cleanup_manifest_ struct img_manifest *again = NULL;
    if (img_manifest_parse(NULL, s, n, &again, NULL) < 0)
        abort();
    _cleanup_free_ char *s2 = img_manifest_serialize(again, NULL);
    if (strcmp(s, s2) != 0)
        abort();
    for (size_t i = 0; i < m->n_layers; i++)
        if (img_layer_media_type(m->layers[i].media_type, NULL, NULL, NULL) < 0)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *ct = NULL;
    if (size > 0 && data[0] != '{' && data[0] != ' ' && data[0] != '\n') {
        ct = content_types[data[0] % (sizeof(content_types) / sizeof(content_types[0]))];
        data++;
        size--;
    }
    enum img_manifest_kind kind;
    struct berr *err = NULL;
    if (img_manifest_kind(ct, data, size, &kind, &err) < 0) {
        if (err == NULL)
            abort();
        berr_free(err);
        /* The parsers must refuse what detection refused, and not crash on it. */
        fuzz_index(ct, data, size);
        fuzz_manifest(ct, data, size);
        return 0;
    }
    if (kind == IMG_KIND_INDEX)
        fuzz_index(ct, data, size);
    else
        fuzz_manifest(ct, data, size);
    return 0;
}
