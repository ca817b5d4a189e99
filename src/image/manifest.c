/* Manifests, indexes and image configs: kind detection, strict validation of registry JSON,
 * chain IDs, and deterministic serialisation (platform strings and index selection live in
 * platform.c). Nothing here does I/O; callers hand in bodies already capped at
 * IMG_MANIFEST_MAX / IMG_CONFIG_MAX. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/jsonkind.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/manifest.h"
#include "image/manifest_internal.h"

#define SCHEMA1_MSG "schema 1 manifests are not supported; push the image again with a newer client"

/* ---- JSON helpers ---- */

static json_t *load_json(const char *what, const void *body, size_t len, size_t cap,
                         struct berr **err)
{
    if (body == NULL)
        len = 0;
    if (len > cap) {
        berr_set(err, 0, "%s is %zu bytes, more than the %zu allowed", what, len, cap);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        berr_set(err, 0, "%s is not valid JSON: %s (line %d, column %d)", what, jerr.text,
                 jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        berr_set(err, 0, "%s must be a JSON object, not %s", what, json_kind(root));
        json_decref(root);
        return NULL;
    }
    return root;
}

/* Optional fields treat JSON null as absent: Go encoders write null for empty slices and maps. */
static json_t *get_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

static int get_str(json_t *obj, const char *key, bool required, const char *where, char **out,
                   struct berr **err)
{
    json_t *v = get_field(obj, key);
    if (v == NULL)
        return required ? berr_set(err, 0, "%s: \"%s\" is missing", where, key) : 0;
    if (!json_is_string(v))
        return berr_set(err, 0, "%s: \"%s\" must be a string, not %s", where, key, json_kind(v));
    if (required && json_string_length(v) == 0)
        return berr_set(err, 0, "%s: \"%s\" is empty", where, key);
    *out = xstrdup(json_string_value(v));
    return 0;
}

static int check_strv(json_t *v, const char *where, const char *key, struct berr **err)
{
    if (!json_is_array(v))
        return berr_set(err, 0, "%s: \"%s\" must be an array of strings, not %s", where, key,
                        json_kind(v));
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return berr_set(err, 0, "%s: \"%s\"[%zu] must be a string, not %s", where, key, i,
                            json_kind(e));
    }
    return 0;
}

static int get_strv(json_t *obj, const char *key, const char *where, char ***out, struct berr **err)
{
    json_t *v = get_field(obj, key);
    if (v == NULL)
        return 0;
    if (check_strv(v, where, key, err) < 0)
        return -1;
    char **list = xcalloc(json_array_size(v) + 1, sizeof(char *));
    for (size_t i = 0; i < json_array_size(v); i++)
        list[i] = xstrdup(json_string_value(json_array_get(v, i)));
    *out = list;
    return 0;
}

static int check_string_map(json_t *v, const char *where, const char *key, struct berr **err)
{
    if (!json_is_object(v))
        return berr_set(err, 0, "%s: \"%s\" must be an object of strings, not %s", where, key,
                        json_kind(v));
    const char *k;
    json_t *e;
    json_object_foreach(v, k, e)
    {
        if (!json_is_string(e))
            return berr_set(err, 0, "%s: \"%s\"[\"%s\"] must be a string, not %s", where, key, k,
                            json_kind(e));
    }
    return 0;
}

static int get_annotations(json_t *obj, const char *where, json_t **out, struct berr **err)
{
    json_t *v = get_field(obj, "annotations");
    if (v == NULL)
        return 0;
    if (check_string_map(v, where, "annotations", err) < 0)
        return -1;
    *out = json_incref(v);
    return 0;
}

/* ---- media types ---- */

static const char *const index_types[] = {IMG_MT_OCI_INDEX, IMG_MT_DOCKER_LIST};
static const char *const manifest_types[] = {IMG_MT_OCI_MANIFEST, IMG_MT_DOCKER_MANIFEST};
static const char *const schema1_types[] = {IMG_MT_DOCKER_SCHEMA1, IMG_MT_DOCKER_SCHEMA1_SIGNED};
static const char *const config_types[] = {IMG_MT_OCI_CONFIG, IMG_MT_DOCKER_CONFIG};

static const struct {
    const char *type;
    enum img_compression comp;
    bool foreign;
} layer_types[] = {
    {IMG_MT_OCI_LAYER, IMG_COMPRESSION_NONE, false},
    {IMG_MT_OCI_LAYER_GZIP, IMG_COMPRESSION_GZIP, false},
    {IMG_MT_OCI_LAYER_ZSTD, IMG_COMPRESSION_ZSTD, false},
    {IMG_MT_OCI_LAYER_ND, IMG_COMPRESSION_NONE, true},
    {IMG_MT_OCI_LAYER_ND_GZIP, IMG_COMPRESSION_GZIP, true},
    {IMG_MT_OCI_LAYER_ND_ZSTD, IMG_COMPRESSION_ZSTD, true},
    {IMG_MT_DOCKER_LAYER_GZIP, IMG_COMPRESSION_GZIP, false},
    {IMG_MT_DOCKER_FOREIGN_GZIP, IMG_COMPRESSION_GZIP, true},
    /* Not in Docker's registry spec, but containerd writes and reads them. */
    {"application/vnd.docker.image.rootfs.diff.tar", IMG_COMPRESSION_NONE, false},
    {"application/vnd.docker.image.rootfs.diff.tar.zstd", IMG_COMPRESSION_ZSTD, false},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar", IMG_COMPRESSION_NONE, true},
};

int img_layer_media_type(const char *media_type, enum img_compression *comp, bool *foreign,
                         struct berr **err)
{
    for (size_t i = 0; media_type && i < ARRAY_SIZE(layer_types); i++) {
        if (strcmp(media_type, layer_types[i].type) == 0) {
            if (comp)
                *comp = layer_types[i].comp;
            if (foreign)
                *foreign = layer_types[i].foreign;
            return 0;
        }
    }
    return berr_set(err, 0, "unsupported layer media type \"%s\" (not a container image layer)",
                    media_type ? media_type : "");
}

bool img_is_image_manifest_type(const char *mt)
{
    return IN(mt, manifest_types);
}

enum mt_class { MT_UNKNOWN, MT_INDEX, MT_MANIFEST, MT_SCHEMA1 };

static enum mt_class classify(const char *mt)
{
    if (IN(mt, index_types))
        return MT_INDEX;
    if (IN(mt, manifest_types))
        return MT_MANIFEST;
    if (IN(mt, schema1_types))
        return MT_SCHEMA1;
    return MT_UNKNOWN;
}

/* Content-Type without parameters, trimmed and lowercased (media types are case-insensitive);
 * NULL when there is nothing. */
static char *content_type_base(const char *ct)
{
    if (ct == NULL)
        return NULL;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n == 0)
        return NULL;
    char *s = xstrndup(ct, n);
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return s;
}

static enum img_manifest_kind class_kind(enum mt_class c)
{
    return c == MT_INDEX ? IMG_KIND_INDEX : IMG_KIND_MANIFEST;
}

/* The kind from the body alone: its mediaType, else its shape. */
static int body_kind(json_t *root, enum img_manifest_kind *kind, struct berr **err)
{
    json_t *mt = get_field(root, "mediaType");
    json_t *ver = json_object_get(root, "schemaVersion");
    if (mt && !json_is_string(mt))
        return berr_set(err, 0, "manifest: \"mediaType\" must be a string, not %s", json_kind(mt));
    if ((json_is_integer(ver) && json_integer_value(ver) == 1) || json_object_get(root, "fsLayers"))
        return berr_set(err, 0, SCHEMA1_MSG);
    if (mt) {
        enum mt_class c = classify(json_string_value(mt));
        if (c == MT_SCHEMA1)
            return berr_set(err, 0, SCHEMA1_MSG);
        if (c == MT_UNKNOWN)
            return berr_set(err, 0,
                            "manifest: unsupported mediaType \"%s\" (expected an OCI or Docker "
                            "image manifest or index)",
                            json_string_value(mt));
        *kind = class_kind(c);
        return 0;
    }
    if (json_object_get(root, "manifests")) {
        *kind = IMG_KIND_INDEX;
        return 0;
    }
    if (json_object_get(root, "config") || json_object_get(root, "layers")) {
        *kind = IMG_KIND_MANIFEST;
        return 0;
    }
    return berr_set(err, 0,
                    "manifest: neither an index (no \"manifests\") nor an image manifest (no "
                    "\"config\" or \"layers\"), and no \"mediaType\" says which");
}

int img_manifest_kind(const char *media_type, const void *body, size_t len,
                      enum img_manifest_kind *kind, struct berr **err)
{
    _cleanup_free_ char *ct = content_type_base(media_type);
    enum mt_class c = classify(ct);
    if (c == MT_SCHEMA1)
        return berr_set(err, 0, SCHEMA1_MSG);
    if (c != MT_UNKNOWN) {
        *kind = class_kind(c);
        return 0;
    }
    _cleanup_json_ json_t *root = load_json("manifest", body, len, IMG_MANIFEST_MAX, err);
    if (root == NULL)
        return -1;
    return body_kind(root, kind, err);
}

/* Loads a manifest or index body, checks it is of kind `want` and works out its media type. */
static json_t *load_document(const char *ct_raw, const void *body, size_t len,
                             enum img_manifest_kind want, char **media_type, struct berr **err)
{
    const char *what = want == IMG_KIND_INDEX ? "index" : "manifest";
    _cleanup_free_ char *ct = content_type_base(ct_raw);
    enum mt_class hc = classify(ct);
    if (hc == MT_SCHEMA1) {
        berr_set(err, 0, SCHEMA1_MSG);
        return NULL;
    }
    _cleanup_json_ json_t *root = load_json(what, body, len, IMG_MANIFEST_MAX, err);
    if (root == NULL)
        return NULL;
    enum img_manifest_kind kind;
    if (body_kind(root, &kind, err) < 0)
        return NULL;
    const char *body_mt = json_string_value(get_field(root, "mediaType"));
    if (hc != MT_UNKNOWN && class_kind(hc) != kind) {
        berr_set(err, 0, "%s: served as %s but the document is %s", what, ct,
                 body_mt ? body_mt : (kind == IMG_KIND_INDEX ? "an index" : "an image manifest"));
        return NULL;
    }
    if (kind != want) {
        berr_set(err, 0, "expected an image %s, got %s", what,
                 kind == IMG_KIND_INDEX ? "an index (manifest list)" : "a single image manifest");
        return NULL;
    }
    json_t *ver = json_object_get(root, "schemaVersion");
    if (ver == NULL) {
        berr_set(err, 0, "%s: \"schemaVersion\" is missing", what);
        return NULL;
    }
    if (!json_is_integer(ver) || json_integer_value(ver) != 2) {
        berr_set(err, 0, "%s: unsupported schemaVersion (expected the number 2)", what);
        return NULL;
    }
    if (body_mt)
        *media_type = xstrdup(body_mt);
    else if (hc != MT_UNKNOWN)
        *media_type = xstrdup(ct);
    else
        *media_type = xstrdup(want == IMG_KIND_INDEX ? IMG_MT_OCI_INDEX : IMG_MT_OCI_MANIFEST);
    return steal_ptr(&root);
}

/* ---- descriptors ---- */

static int parse_platform_json(json_t *v, const char *where, struct img_platform **out,
                               struct berr **err)
{
    if (!json_is_object(v))
        return berr_set(err, 0, "%s: \"platform\" must be an object, not %s", where, json_kind(v));
    _cleanup_free_ char *w = xasprintf("%s platform", where);
    _cleanup_platform_ struct img_platform *p = xzalloc(sizeof(*p));
    json_t *features = get_field(v, "features");
    if (get_str(v, "architecture", true, w, &p->architecture, err) < 0 ||
        get_str(v, "os", true, w, &p->os, err) < 0 ||
        get_str(v, "variant", false, w, &p->variant, err) < 0 ||
        get_str(v, "os.version", false, w, &p->os_version, err) < 0 ||
        get_strv(v, "os.features", w, &p->os_features, err) < 0 ||
        (features && check_strv(features, w, "features", err) < 0))
        return -1;
    *out = steal_ptr(&p);
    return 0;
}

void img_descriptor_clear(struct img_descriptor *d)
{
    if (d == NULL)
        return;
    free(d->media_type);
    free(d->digest);
    strv_free(d->urls);
    json_decref(d->annotations);
    free(d->artifact_type);
    img_platform_free(d->platform);
    memset(d, 0, sizeof(*d));
}

static int parse_descriptor(json_t *v, const char *where, bool with_platform,
                            struct img_descriptor *d, struct berr **err)
{
    if (!json_is_object(v))
        return berr_set(err, 0, "%s must be an object, not %s", where, json_kind(v));
    if (get_str(v, "mediaType", true, where, &d->media_type, err) < 0 ||
        get_str(v, "digest", true, where, &d->digest, err) < 0)
        return -1;
    if (img_digest_validate(d->digest, err) < 0)
        return berr_wrap(err, "%s", where);
    json_t *size = json_object_get(v, "size");
    if (size == NULL)
        return berr_set(err, 0, "%s: \"size\" is missing", where);
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return berr_set(err, 0, "%s: \"size\" must be a non-negative integer", where);
    d->size = json_integer_value(size);
    if (get_strv(v, "urls", where, &d->urls, err) < 0)
        return -1;
    for (size_t i = 0; d->urls && d->urls[i]; i++)
        if (strncasecmp(d->urls[i], "https://", 8) != 0 &&
            strncasecmp(d->urls[i], "http://", 7) != 0)
            return berr_set(err, 0, "%s: urls[%zu] \"%s\" is not an http(s) URL", where, i,
                            d->urls[i]);
    if (get_annotations(v, where, &d->annotations, err) < 0 ||
        get_str(v, "artifactType", false, where, &d->artifact_type, err) < 0)
        return -1;
    json_t *data = get_field(v, "data");
    if (data && !json_is_string(data))
        return berr_set(err, 0, "%s: \"data\" must be a base64 string", where);
    json_t *plat = get_field(v, "platform");
    if (with_platform && plat && parse_platform_json(plat, where, &d->platform, err) < 0)
        return -1;
    return 0;
}

static int parse_subject(json_t *root, const char *what, struct img_descriptor **out,
                         struct berr **err)
{
    json_t *v = get_field(root, "subject");
    if (v == NULL)
        return 0;
    _cleanup_free_ char *w = xasprintf("%s subject", what);
    *out = xzalloc(sizeof(**out));
    return parse_descriptor(v, w, false, *out, err);
}

static json_t *get_array(json_t *root, const char *key, const char *what, struct berr **err)
{
    json_t *v = json_object_get(root, key);
    if (v == NULL || json_is_null(v))
        berr_set(err, 0, "%s: \"%s\" is missing", what, key);
    else if (!json_is_array(v))
        berr_set(err, 0, "%s: \"%s\" must be an array, not %s", what, key, json_kind(v));
    else
        return v;
    return NULL;
}

/* ---- index ---- */

void img_index_free(struct img_index *ix)
{
    if (ix == NULL)
        return;
    free(ix->media_type);
    free(ix->artifact_type);
    for (size_t i = 0; i < ix->n; i++)
        img_descriptor_clear(&ix->manifests[i]);
    free(ix->manifests);
    img_descriptor_clear(ix->subject);
    free(ix->subject);
    json_decref(ix->annotations);
    free(ix);
}

void img_index_freep(struct img_index **ix)
{
    img_index_free(*ix);
    *ix = NULL;
}

int img_index_parse(const char *media_type, const void *body, size_t len, struct img_index **out,
                    struct berr **err)
{
    *out = NULL;
    _cleanup_index_ struct img_index *ix = xzalloc(sizeof(*ix));
    _cleanup_json_ json_t *root =
        load_document(media_type, body, len, IMG_KIND_INDEX, &ix->media_type, err);
    if (root == NULL)
        return -1;
    json_t *list = get_array(root, "manifests", "index", err);
    if (list == NULL)
        return -1;
    ix->n = json_array_size(list);
    ix->manifests = xcalloc(ix->n ? ix->n : 1, sizeof(*ix->manifests));
    for (size_t i = 0; i < ix->n; i++) {
        char where[48];
        snprintf(where, sizeof(where), "index manifests[%zu]", i);
        if (parse_descriptor(json_array_get(list, i), where, true, &ix->manifests[i], err) < 0)
            return -1;
    }
    if (parse_subject(root, "index", &ix->subject, err) < 0 ||
        get_annotations(root, "index", &ix->annotations, err) < 0 ||
        get_str(root, "artifactType", false, "index", &ix->artifact_type, err) < 0)
        return -1;
    *out = steal_ptr(&ix);
    return 0;
}

/* ---- manifest ---- */

void img_manifest_free(struct img_manifest *m)
{
    if (m == NULL)
        return;
    free(m->media_type);
    free(m->artifact_type);
    img_descriptor_clear(&m->config);
    for (size_t i = 0; i < m->n_layers; i++)
        img_descriptor_clear(&m->layers[i]);
    free(m->layers);
    img_descriptor_clear(m->subject);
    free(m->subject);
    json_decref(m->annotations);
    free(m);
}

void img_manifest_freep(struct img_manifest **m)
{
    img_manifest_free(*m);
    *m = NULL;
}

int img_manifest_parse(const char *media_type, const void *body, size_t len,
                       struct img_manifest **out, struct berr **err)
{
    *out = NULL;
    _cleanup_manifest_ struct img_manifest *m = xzalloc(sizeof(*m));
    _cleanup_json_ json_t *root =
        load_document(media_type, body, len, IMG_KIND_MANIFEST, &m->media_type, err);
    if (root == NULL)
        return -1;
    json_t *cfg = json_object_get(root, "config");
    if (cfg == NULL || json_is_null(cfg))
        return berr_set(err, 0, "manifest: \"config\" is missing");
    if (parse_descriptor(cfg, "manifest config", false, &m->config, err) < 0)
        return -1;
    if (!IN(m->config.media_type, config_types))
        return berr_set(err, 0,
                        "manifest config has media type \"%s\", which is not a container image "
                        "config (is this an OCI artifact rather than an image?)",
                        m->config.media_type);
    json_t *layers = get_array(root, "layers", "manifest", err);
    if (layers == NULL)
        return -1;
    m->n_layers = json_array_size(layers);
    m->layers = xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*m->layers));
    for (size_t i = 0; i < m->n_layers; i++) {
        char where[48];
        snprintf(where, sizeof(where), "manifest layers[%zu]", i);
        struct img_descriptor *d = &m->layers[i];
        if (parse_descriptor(json_array_get(layers, i), where, false, d, err) < 0)
            return -1;
        if (img_layer_media_type(d->media_type, NULL, NULL, err) < 0)
            return berr_wrap(err, "%s", where);
    }
    if (parse_subject(root, "manifest", &m->subject, err) < 0 ||
        get_annotations(root, "manifest", &m->annotations, err) < 0 ||
        get_str(root, "artifactType", false, "manifest", &m->artifact_type, err) < 0)
        return -1;
    *out = steal_ptr(&m);
    return 0;
}

/* ---- serialisation ---- */

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go's encoder writes map keys sorted; doing the same keeps digests equal to what Docker makes. */
static json_t *sorted_string_map(json_t *obj)
{
    size_t n = json_object_size(obj), i = 0;
    _cleanup_free_ const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        keys[i++] = k;
    }
    qsort(keys, n, sizeof(*keys), cmp_key);
    json_t *out = json_object();
    for (i = 0; i < n; i++)
        json_object_set(out, keys[i], json_object_get(obj, keys[i]));
    return out;
}

static json_t *strv_json(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void set_str(json_t *o, const char *key, const char *s)
{
    if (s)
        json_object_set_new(o, key, json_string(s));
}

static json_t *descriptor_json(const struct img_descriptor *d)
{
    json_t *o = json_object();
    set_str(o, "mediaType", d->media_type);
    set_str(o, "digest", d->digest);
    json_object_set_new(o, "size", json_integer(d->size));
    if (d->urls && d->urls[0])
        json_object_set_new(o, "urls", strv_json(d->urls));
    if (d->annotations && json_object_size(d->annotations))
        json_object_set_new(o, "annotations", sorted_string_map(d->annotations));
    if (d->platform) {
        const struct img_platform *p = d->platform;
        json_t *po = json_object();
        set_str(po, "architecture", p->architecture);
        set_str(po, "os", p->os);
        set_str(po, "os.version", p->os_version);
        if (p->os_features && p->os_features[0])
            json_object_set_new(po, "os.features", strv_json(p->os_features));
        set_str(po, "variant", p->variant);
        json_object_set_new(o, "platform", po);
    }
    set_str(o, "artifactType", d->artifact_type);
    return o;
}

static char *dump(json_t *o, size_t *len)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (s == NULL)
        abort();
    json_decref(o);
    if (len)
        *len = strlen(s);
    return s;
}

static void finish_doc(json_t *o, const struct img_descriptor *subject, json_t *annotations)
{
    if (subject)
        json_object_set_new(o, "subject", descriptor_json(subject));
    if (annotations && json_object_size(annotations))
        json_object_set_new(o, "annotations", sorted_string_map(annotations));
}

char *img_manifest_serialize(const struct img_manifest *m, size_t *len)
{
    json_t *o = json_object();
    json_object_set_new(o, "schemaVersion", json_integer(2));
    set_str(o, "mediaType", m->media_type);
    set_str(o, "artifactType", m->artifact_type);
    json_object_set_new(o, "config", descriptor_json(&m->config));
    json_t *layers = json_array();
    for (size_t i = 0; i < m->n_layers; i++)
        json_array_append_new(layers, descriptor_json(&m->layers[i]));
    json_object_set_new(o, "layers", layers);
    finish_doc(o, m->subject, m->annotations);
    return dump(o, len);
}

char *img_index_serialize(const struct img_index *ix, size_t *len)
{
    json_t *o = json_object();
    json_object_set_new(o, "schemaVersion", json_integer(2));
    set_str(o, "mediaType", ix->media_type);
    set_str(o, "artifactType", ix->artifact_type);
    json_t *list = json_array();
    for (size_t i = 0; i < ix->n; i++)
        json_array_append_new(list, descriptor_json(&ix->manifests[i]));
    json_object_set_new(o, "manifests", list);
    finish_doc(o, ix->subject, ix->annotations);
    return dump(o, len);
}

/* ---- image config ---- */

void img_config_free(struct img_config *c)
{
    if (c == NULL)
        return;
    json_decref(c->root);
    free(c->architecture);
    free(c->os);
    free(c->variant);
    free(c->os_version);
    free(c->created);
    free(c->author);
    strv_free(c->diff_ids);
    for (size_t i = 0; i < c->n_history; i++) {
        free(c->history[i].created);
        free(c->history[i].created_by);
        free(c->history[i].author);
        free(c->history[i].comment);
    }
    free(c->history);
    free(c);
}

void img_config_freep(struct img_config **c)
{
    img_config_free(*c);
    *c = NULL;
}

/* Type checks for the container defaults Docker reads from an image; values are used later
 * by the engine straight from the JSON. */
static int check_container_config(json_t *cfg, struct berr **err)
{
    static const char *const strings[] = {"User", "WorkingDir", "StopSignal", "Domainname",
                                          "Hostname"};
    static const char *const lists[] = {"Env", "Entrypoint", "Cmd", "OnBuild", "Shell"};
    static const char *const objects[] = {"ExposedPorts", "Volumes", "Healthcheck"};
    const char *w = "image config \"config\"";
    if (!json_is_object(cfg))
        return berr_set(err, 0, "%s must be an object, not %s", w, json_kind(cfg));
    for (size_t i = 0; i < ARRAY_SIZE(strings); i++) {
        json_t *v = get_field(cfg, strings[i]);
        if (v && !json_is_string(v))
            return berr_set(err, 0, "%s: \"%s\" must be a string, not %s", w, strings[i],
                            json_kind(v));
    }
    for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
        json_t *v = get_field(cfg, lists[i]);
        if (v && check_strv(v, w, lists[i], err) < 0)
            return -1;
    }
    for (size_t i = 0; i < ARRAY_SIZE(objects); i++) {
        json_t *v = get_field(cfg, objects[i]);
        if (v && !json_is_object(v))
            return berr_set(err, 0, "%s: \"%s\" must be an object, not %s", w, objects[i],
                            json_kind(v));
    }
    json_t *labels = get_field(cfg, "Labels");
    if (labels && check_string_map(labels, w, "Labels", err) < 0)
        return -1;
    json_t *escaped = get_field(cfg, "ArgsEscaped");
    if (escaped && !json_is_boolean(escaped))
        return berr_set(err, 0, "%s: \"ArgsEscaped\" must be a boolean", w);
    return 0;
}

static int parse_history(json_t *list, struct img_config *c, struct berr **err)
{
    if (!json_is_array(list))
        return berr_set(err, 0, "image config: \"history\" must be an array, not %s",
                        json_kind(list));
    c->n_history = json_array_size(list);
    c->history = xcalloc(c->n_history ? c->n_history : 1, sizeof(*c->history));
    size_t non_empty = 0;
    for (size_t i = 0; i < c->n_history; i++) {
        json_t *h = json_array_get(list, i);
        struct img_history *e = &c->history[i];
        char where[48];
        snprintf(where, sizeof(where), "image config history[%zu]", i);
        if (!json_is_object(h))
            return berr_set(err, 0, "%s must be an object, not %s", where, json_kind(h));
        if (get_str(h, "created", false, where, &e->created, err) < 0 ||
            get_str(h, "created_by", false, where, &e->created_by, err) < 0 ||
            get_str(h, "author", false, where, &e->author, err) < 0 ||
            get_str(h, "comment", false, where, &e->comment, err) < 0)
            return -1;
        json_t *empty = get_field(h, "empty_layer");
        if (empty && !json_is_boolean(empty))
            return berr_set(err, 0, "%s: \"empty_layer\" must be a boolean", where);
        e->empty_layer = json_is_true(empty);
        if (!e->empty_layer)
            non_empty++;
    }
    c->history_mismatch = c->n_history > 0 && non_empty != c->n_diff_ids;
    return 0;
}

int img_config_parse(const void *body, size_t len, struct img_config **out, struct berr **err)
{
    *out = NULL;
    _cleanup_config_ struct img_config *c = xzalloc(sizeof(*c));
    c->root = load_json("image config", body, len, IMG_CONFIG_MAX, err);
    if (c->root == NULL)
        return -1;
    const char *w = "image config";
    json_t *root = c->root;
    json_t *features = get_field(root, "os.features");
    if (get_str(root, "architecture", false, w, &c->architecture, err) < 0 ||
        get_str(root, "os", false, w, &c->os, err) < 0 ||
        get_str(root, "variant", false, w, &c->variant, err) < 0 ||
        get_str(root, "os.version", false, w, &c->os_version, err) < 0 ||
        get_str(root, "created", false, w, &c->created, err) < 0 ||
        get_str(root, "author", false, w, &c->author, err) < 0 ||
        (features && check_strv(features, w, "os.features", err) < 0))
        return -1;
    c->config = get_field(root, "config");
    if (c->config && check_container_config(c->config, err) < 0)
        return -1;

    json_t *rootfs = json_object_get(root, "rootfs");
    if (rootfs == NULL || json_is_null(rootfs))
        return berr_set(err, 0, "image config: \"rootfs\" is missing");
    if (!json_is_object(rootfs))
        return berr_set(err, 0, "image config: \"rootfs\" must be an object, not %s",
                        json_kind(rootfs));
    json_t *type = json_object_get(rootfs, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), "layers") != 0)
        return berr_set(err, 0, "image config: rootfs \"type\" must be \"layers\"");
    /* Docker omits an empty diff_ids list (images with no layers). */
    json_t *ids = get_field(rootfs, "diff_ids");
    if (ids && check_strv(ids, "image config rootfs", "diff_ids", err) < 0)
        return -1;
    c->n_diff_ids = ids ? json_array_size(ids) : 0;
    c->diff_ids = xcalloc(c->n_diff_ids + 1, sizeof(char *));
    for (size_t i = 0; i < c->n_diff_ids; i++) {
        c->diff_ids[i] = xstrdup(json_string_value(json_array_get(ids, i)));
        if (img_digest_validate(c->diff_ids[i], err) < 0)
            return berr_wrap(err, "image config rootfs diff_ids[%zu]", i);
    }
    json_t *history = get_field(root, "history");
    if (history && parse_history(history, c, err) < 0)
        return -1;
    *out = steal_ptr(&c);
    return 0;
}

char *img_config_serialize(const struct img_config *c, size_t *len)
{
    return dump(json_incref(c->root), len);
}

int img_manifest_check_config(const struct img_manifest *m, const struct img_config *c,
                              struct berr **err)
{
    if (m->n_layers != c->n_diff_ids)
        return berr_set(err, 0, "manifest lists %zu layer%s but its config %s has %zu diff_id%s",
                        m->n_layers, m->n_layers == 1 ? "" : "s",
                        m->config.digest ? m->config.digest : "", c->n_diff_ids,
                        c->n_diff_ids == 1 ? "" : "s");
    return 0;
}

/* ---- chain IDs ---- */

char **img_chain_ids(char *const *diff_ids, size_t n)
{
    char **out = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        if (i == 0) {
            out[0] = xstrdup(diff_ids[0]);
            continue;
        }
        _cleanup_free_ char *joined = xasprintf("%s %s", out[i - 1], diff_ids[i]);
        char d[IMG_DIGEST_MAX];
        img_digest_buf(joined, strlen(joined), d);
        out[i] = xstrdup(d);
    }
    return out;
}
