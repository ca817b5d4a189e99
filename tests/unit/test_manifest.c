/* Unit tests for manifests, indexes and image configs: OCI and Docker examples, each invalid
 * field named in the error, kind detection, platform parsing and selection, deterministic
 * serialisation, and chain IDs against vectors computed with sha256sum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/manifest.h"

#define H64(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define DA     "sha256:" H64("aa")
#define DB     "sha256:" H64("bb")
#define DC     "sha256:" H64("cc")
#define DD     "sha256:" H64("dd")
#define DE     "sha256:" H64("ee")

/* Fixtures use ' for " so they stay readable; q() swaps them back. */
static char *q(const char *s)
{
    char *r = xstrdup(s);
    for (char *p = r; *p; p++)
        if (*p == '\'')
            *p = '"';
    return r;
}

#define OCI_CFG      "{'mediaType':'" IMG_MT_OCI_CONFIG "','digest':'" DA "','size':7023}"
#define OCI_LAYER(d) "{'mediaType':'" IMG_MT_OCI_LAYER_GZIP "','digest':'" d "','size':32654}"
#define MANIFEST_WITH(cfg, layers)                                                                 \
    "{'schemaVersion':2,'mediaType':'" IMG_MT_OCI_MANIFEST "','config':" cfg ",'layers':" layers "}"

static const char *oci_manifest =
    "{'schemaVersion':2,'mediaType':'" IMG_MT_OCI_MANIFEST "','config':" OCI_CFG
    ",'layers':[" OCI_LAYER(DB) ",{'mediaType':'" IMG_MT_OCI_LAYER_ZSTD "','digest':'" DC
                                "','size':16724,'annotations':{'z':'1','a':'2'}},{'mediaType':"
                                "'" IMG_MT_OCI_LAYER_ND_GZIP "','digest':'" DD
                                "','size':73109,'urls':['https://example.com/layer']}],"
                                "'annotations':{'org.opencontainers.image.created':'2024-01-01T00:"
                                "00:00Z'},'extra':[1,2]}";

static const char *docker_manifest =
    "{\n  'schemaVersion': 2,\n  'mediaType': '" IMG_MT_DOCKER_MANIFEST "',\n  'config': {\n"
    "    'mediaType': '" IMG_MT_DOCKER_CONFIG "',\n    'size': 1469,\n    'digest': '" DA "'\n"
    "  },\n  'layers': [\n    {\n      'mediaType': '" IMG_MT_DOCKER_LAYER_GZIP "',\n"
    "      'size': 2479,\n      'digest': '" DB
    "'\n    },\n    {\n      'mediaType': '" IMG_MT_DOCKER_FOREIGN_GZIP
    "',\n      'size': 5,\n      'digest': '" DC "',\n      'urls': ['http://a/b']\n    }\n  ]\n}";

static const char *oci_index =
    "{'schemaVersion':2,'mediaType':'" IMG_MT_OCI_INDEX "','manifests':["
    "{'mediaType':'" IMG_MT_OCI_MANIFEST "','digest':'" DA
    "','size':100,'platform':{'architecture':'amd64','os':'linux'}},"
    "{'mediaType':'" IMG_MT_OCI_MANIFEST "','digest':'" DB
    "','size':100,'platform':{'architecture':'arm','os':'linux','variant':'v6'}},"
    "{'mediaType':'" IMG_MT_OCI_MANIFEST "','digest':'" DC
    "','size':100,'platform':{'architecture':'arm','os':'linux','variant':'v7'}},"
    "{'mediaType':'" IMG_MT_OCI_MANIFEST "','digest':'" DD
    "','size':100,'platform':{'architecture':'arm64','os':'linux','variant':'v8'}},"
    "{'mediaType':'" IMG_MT_OCI_MANIFEST "','digest':'" DE
    "','size':100,'platform':{'architecture':'ppc64le','os':'linux'}},"
    "{'mediaType':'" IMG_MT_OCI_MANIFEST "','digest':'" DA
    "','size':100,'platform':{'architecture':'unknown','os':'unknown'},"
    "'annotations':{'vnd.docker.reference.type':'attestation-manifest'}}]}";

static const char *docker_list =
    "{'schemaVersion':2,'mediaType':'" IMG_MT_DOCKER_LIST "','manifests':["
    "{'mediaType':'" IMG_MT_DOCKER_MANIFEST "','digest':'" DA "','size':528,"
    "'platform':{'architecture':'arm64','os':'linux'}},"
    "{'mediaType':'" IMG_MT_DOCKER_MANIFEST "','digest':'" DB "','size':528,"
    "'platform':{'architecture':'amd64','os':'linux','os.features':['sse4'],'features':['x']}},"
    "{'mediaType':'" IMG_MT_DOCKER_MANIFEST "','digest':'" DC "','size':528,"
    "'platform':{'architecture':'amd64','os':'windows','os.version':'10.0.17763.1'}}]}";

/* ---- kind detection ---- */

struct kind_case {
    const char *ct;
    const char *body;
    int kind;           /* -1: error */
    const char *needle; /* for errors */
};

static void test_kind(void **state)
{
    static const struct kind_case cases[] = {
        {IMG_MT_OCI_INDEX, "", IMG_KIND_INDEX, NULL},
        {IMG_MT_DOCKER_LIST, NULL, IMG_KIND_INDEX, NULL},
        {IMG_MT_DOCKER_MANIFEST "; charset=utf-8", "", IMG_KIND_MANIFEST, NULL},
        {"  Application/VND.OCI.Image.Manifest.v1+JSON ;x=y", "", IMG_KIND_MANIFEST, NULL},
        {NULL, "{'schemaVersion':2,'manifests':[]}", IMG_KIND_INDEX, NULL},
        {"application/json", "{'schemaVersion':2,'config':{},'layers':[]}", IMG_KIND_MANIFEST,
         NULL},
        {"application/octet-stream", "{'mediaType':'" IMG_MT_DOCKER_LIST "'}", IMG_KIND_INDEX,
         NULL},
        {"", "{'mediaType':'" IMG_MT_OCI_MANIFEST "','manifests':[]}", IMG_KIND_MANIFEST, NULL},
        {IMG_MT_DOCKER_SCHEMA1, "", -1, "schema 1 manifests are not supported"},
        {IMG_MT_DOCKER_SCHEMA1_SIGNED "; x", "", -1, "push the image again with a newer client"},
        {NULL, "{'schemaVersion':1,'name':'a','tag':'b','fsLayers':[]}", -1, "schema 1"},
        {NULL, "{'fsLayers':[]}", -1, "schema 1"},
        {NULL, "{'mediaType':'" IMG_MT_DOCKER_SCHEMA1 "'}", -1, "schema 1"},
        {NULL, "{}", -1, "neither an index"},
        {NULL, "", -1, "not valid JSON"},
        {NULL, "{'a':1,", -1, "not valid JSON"},
        {NULL, "[]", -1, "must be a JSON object, not an array"},
        {NULL, "{'mediaType':'application/vnd.foo+json'}", -1, "unsupported mediaType"},
        {NULL, "{'mediaType':7}", -1, "\"mediaType\" must be a string"},
        {NULL, "{'manifests':[],'manifests':[]}", -1, "duplicate"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct kind_case *c = &cases[i];
        _cleanup_free_ char *body = c->body ? q(c->body) : NULL;
        enum img_manifest_kind kind = 99;
        struct berr *err = NULL;
        int r = img_manifest_kind(c->ct, body, body ? strlen(body) : 0, &kind, &err);
        if (c->kind >= 0) {
            if (r < 0)
                fail_msg("case %zu: %s", i, err->msg);
            assert_int_equal(kind, c->kind);
        } else {
            if (r == 0)
                fail_msg("case %zu: accepted", i);
            if (strstr(err->msg, c->needle) == NULL)
                fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err->msg, c->needle);
            berr_free(err);
        }
    }
}

/* ---- manifests ---- */

static struct img_manifest *parse_manifest(const char *ct, const char *text, struct berr **err)
{
    _cleanup_free_ char *body = q(text);
    struct img_manifest *m = NULL;
    if (img_manifest_parse(ct, body, strlen(body), &m, err) < 0) {
        assert_null(m);
        return NULL;
    }
    return m;
}

static void test_oci_manifest(void **state)
{
    struct berr *err = NULL;
    _cleanup_manifest_ struct img_manifest *m = parse_manifest(NULL, oci_manifest, &err);
    if (m == NULL)
        fail_msg("%s", err->msg);
    assert_string_equal(m->media_type, IMG_MT_OCI_MANIFEST);
    assert_string_equal(m->config.media_type, IMG_MT_OCI_CONFIG);
    assert_string_equal(m->config.digest, DA);
    assert_int_equal(m->config.size, 7023);
    assert_int_equal(m->n_layers, 3);
    assert_string_equal(m->layers[0].digest, DB);
    assert_int_equal(m->layers[0].size, 32654);
    assert_null(m->layers[0].urls);
    assert_null(m->layers[0].annotations);
    assert_string_equal(json_string_value(json_object_get(m->layers[1].annotations, "z")), "1");
    assert_string_equal(m->layers[2].urls[0], "https://example.com/layer");
    assert_null(m->layers[2].urls[1]);
    assert_null(m->subject);
    assert_non_null(json_object_get(m->annotations, "org.opencontainers.image.created"));

    enum img_compression comp;
    bool foreign;
    assert_int_equal(img_layer_media_type(m->layers[1].media_type, &comp, &foreign, NULL), 0);
    assert_int_equal(comp, IMG_COMPRESSION_ZSTD);
    assert_false(foreign);
    assert_int_equal(img_layer_media_type(m->layers[2].media_type, &comp, &foreign, NULL), 0);
    assert_int_equal(comp, IMG_COMPRESSION_GZIP);
    assert_true(foreign);
}

static void test_docker_manifest(void **state)
{
    struct berr *err = NULL;
    _cleanup_manifest_ struct img_manifest *m =
        parse_manifest(IMG_MT_DOCKER_MANIFEST, docker_manifest, &err);
    if (m == NULL)
        fail_msg("%s", err->msg);
    assert_string_equal(m->media_type, IMG_MT_DOCKER_MANIFEST);
    assert_string_equal(m->config.media_type, IMG_MT_DOCKER_CONFIG);
    assert_int_equal(m->n_layers, 2);
    assert_string_equal(m->layers[1].urls[0], "http://a/b");
}

static void test_manifest_media_type_defaults(void **state)
{
    /* No mediaType in the body: the Content-Type names it, else OCI is assumed. */
    const char *bare = "{'schemaVersion':2,'config':" OCI_CFG ",'layers':[]}";
    _cleanup_manifest_ struct img_manifest *a =
        parse_manifest(IMG_MT_DOCKER_MANIFEST "; charset=utf-8", bare, NULL);
    assert_non_null(a);
    assert_string_equal(a->media_type, IMG_MT_DOCKER_MANIFEST);
    assert_int_equal(a->n_layers, 0);
    _cleanup_manifest_ struct img_manifest *b = parse_manifest("text/plain", bare, NULL);
    assert_non_null(b);
    assert_string_equal(b->media_type, IMG_MT_OCI_MANIFEST);
}

struct bad_case {
    const char *ct;
    const char *body;
    const char *needle;
};

static const struct bad_case bad_manifests[] = {
    {NULL, "{'mediaType':'" IMG_MT_OCI_MANIFEST "','config':" OCI_CFG ",'layers':[]}",
     "\"schemaVersion\" is missing"},
    {NULL, "{'schemaVersion':3,'config':" OCI_CFG ",'layers':[]}", "unsupported schemaVersion"},
    {NULL, "{'schemaVersion':'2','config':" OCI_CFG ",'layers':[]}", "unsupported schemaVersion"},
    {NULL, "{'schemaVersion':2,'layers':[]}", "manifest: \"config\" is missing"},
    {NULL, MANIFEST_WITH("null", "[]"), "\"config\" is missing"},
    {NULL, MANIFEST_WITH("[]", "[]"), "manifest config must be an object, not an array"},
    {NULL, MANIFEST_WITH("{'digest':'" DA "','size':1}", "[]"),
     "manifest config: \"mediaType\" is missing"},
    {NULL, MANIFEST_WITH("{'mediaType':'','digest':'" DA "','size':1}", "[]"),
     "manifest config: \"mediaType\" is empty"},
    {NULL, MANIFEST_WITH("{'mediaType':1,'digest':'" DA "','size':1}", "[]"),
     "\"mediaType\" must be a string, not a number"},
    {NULL, MANIFEST_WITH("{'mediaType':'" IMG_MT_OCI_CONFIG "','size':1}", "[]"),
     "manifest config: \"digest\" is missing"},
    {NULL,
     MANIFEST_WITH("{'mediaType':'" IMG_MT_OCI_CONFIG "','digest':'sha256:abc','size':1}", "[]"),
     "manifest config: digest \"sha256:abc\""},
    {NULL,
     MANIFEST_WITH("{'mediaType':'" IMG_MT_OCI_CONFIG "','digest':'md5:" H64("a") "','size':1}",
                   "[]"),
     "unsupported algorithm"},
    {NULL, MANIFEST_WITH("{'mediaType':'" IMG_MT_OCI_CONFIG "','digest':'" DA "'}", "[]"),
     "manifest config: \"size\" is missing"},
    {NULL, MANIFEST_WITH("{'mediaType':'" IMG_MT_OCI_CONFIG "','digest':'" DA "','size':-1}", "[]"),
     "\"size\" must be a non-negative integer"},
    {NULL,
     MANIFEST_WITH("{'mediaType':'" IMG_MT_OCI_CONFIG "','digest':'" DA "','size':1.5}", "[]"),
     "\"size\" must be a non-negative integer"},
    {NULL,
     MANIFEST_WITH("{'mediaType':'" IMG_MT_OCI_CONFIG "','digest':'" DA "','size':'1'}", "[]"),
     "\"size\" must be a non-negative integer"},
    {NULL,
     MANIFEST_WITH("{'mediaType':'application/vnd.cncf.helm.config.v1+json','digest':'" DA
                   "','size':1}",
                   "[]"),
     "\"application/vnd.cncf.helm.config.v1+json\", which is not a container image config"},
    {NULL, "{'schemaVersion':2,'mediaType':'" IMG_MT_OCI_MANIFEST "','config':" OCI_CFG "}",
     "manifest: \"layers\" is missing"},
    {NULL, MANIFEST_WITH(OCI_CFG, "{}"), "\"layers\" must be an array, not an object"},
    {NULL, MANIFEST_WITH(OCI_CFG, "[" OCI_LAYER(DB) ",7]"),
     "manifest layers[1] must be an object, not a number"},
    {NULL,
     MANIFEST_WITH(OCI_CFG,
                   "[{'mediaType':'application/vnd.in-toto+json','digest':'" DB "','size':1}]"),
     "manifest layers[0]: unsupported layer media type \"application/vnd.in-toto+json\""},
    {NULL,
     MANIFEST_WITH(OCI_CFG,
                   "[{'mediaType':'" IMG_MT_OCI_LAYER "','digest':'" DB "','size':1,'urls':'x'}]"),
     "manifest layers[0]: \"urls\" must be an array of strings, not a string"},
    {NULL,
     MANIFEST_WITH(OCI_CFG,
                   "[{'mediaType':'" IMG_MT_OCI_LAYER "','digest':'" DB "','size':1,'urls':[1]}]"),
     "\"urls\"[0] must be a string"},
    {NULL,
     MANIFEST_WITH(OCI_CFG, "[{'mediaType':'" IMG_MT_OCI_LAYER "','digest':'" DB
                            "','size':1,'urls':['file:///etc/passwd']}]"),
     "urls[0] \"file:///etc/passwd\" is not an http(s) URL"},
    {NULL,
     MANIFEST_WITH(OCI_CFG, "[{'mediaType':'" IMG_MT_OCI_LAYER "','digest':'" DB
                            "','size':1,'annotations':{'a':1}}]"),
     "\"annotations\"[\"a\"] must be a string, not a number"},
    {NULL,
     MANIFEST_WITH(OCI_CFG, "[{'mediaType':'" IMG_MT_OCI_LAYER "','digest':'" DB
                            "','size':1,'annotations':[]}]"),
     "\"annotations\" must be an object of strings, not an array"},
    {NULL,
     MANIFEST_WITH(OCI_CFG,
                   "[{'mediaType':'" IMG_MT_OCI_LAYER "','digest':'" DB "','size':1,'data':5}]"),
     "\"data\" must be a base64 string"},
    {NULL,
     "{'schemaVersion':2,'config':" OCI_CFG ",'layers':[],'subject':{'mediaType':'x','digest':'"
     "sha256:00','size':1}}",
     "manifest subject: digest \"sha256:00\""},
    {NULL, "{'schemaVersion':2,'config':" OCI_CFG ",'layers':[],'artifactType':[]}",
     "manifest: \"artifactType\" must be a string, not an array"},
    {NULL, "{'schemaVersion':2,'config':" OCI_CFG ",'layers':[],'annotations':{'a':null}}",
     "\"annotations\"[\"a\"] must be a string, not null"},
    {NULL, "{'schemaVersion':2,'config':" OCI_CFG ",'config':" OCI_CFG ",'layers':[]}",
     "duplicate object key"},
    {IMG_MT_OCI_INDEX, MANIFEST_WITH(OCI_CFG, "[]"),
     "served as " IMG_MT_OCI_INDEX " but the document is " IMG_MT_OCI_MANIFEST},
    {IMG_MT_DOCKER_MANIFEST, "{'schemaVersion':2,'manifests':[]}",
     "served as " IMG_MT_DOCKER_MANIFEST " but the document is an index"},
    {NULL, "{'schemaVersion':2,'manifests':[]}",
     "expected an image manifest, got an index (manifest list)"},
    {IMG_MT_DOCKER_SCHEMA1_SIGNED, MANIFEST_WITH(OCI_CFG, "[]"), "schema 1"},
    {NULL, "{'schemaVersion':1,'fsLayers':[]}", "schema 1 manifests are not supported"},
};

static void run_bad(const struct bad_case *cases, size_t n, bool index)
{
    for (size_t i = 0; i < n; i++) {
        const struct bad_case *c = &cases[i];
        _cleanup_free_ char *body = q(c->body);
        struct berr *err = NULL;
        int r;
        if (index) {
            struct img_index *ix = (struct img_index *)1;
            r = img_index_parse(c->ct, body, strlen(body), &ix, &err);
            assert_null(ix);
        } else {
            struct img_manifest *m = (struct img_manifest *)1;
            r = img_manifest_parse(c->ct, body, strlen(body), &m, &err);
            assert_null(m);
        }
        if (r == 0)
            fail_msg("case %zu accepted: %s", i, body);
        assert_int_equal(r, -1);
        if (strstr(err->msg, c->needle) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err->msg, c->needle);
        berr_free(err);
    }
}

static void test_bad_manifests(void **state)
{
    run_bad(bad_manifests, ARRAY_SIZE(bad_manifests), false);
}

static void test_size_cap(void **state)
{
    size_t n = IMG_MANIFEST_MAX + 1;
    char *big = xmalloc(n);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    struct berr *err = NULL;
    struct img_manifest *m = NULL;
    assert_int_equal(img_manifest_parse(NULL, big, n, &m, &err), -1);
    assert_non_null(strstr(err->msg, "more than the 4194304 allowed"));
    berr_free(err);
    err = NULL;
    struct img_config *c = NULL;
    assert_int_equal(img_config_parse(big, IMG_CONFIG_MAX + 1, &c, &err), -1);
    assert_non_null(strstr(err->msg, "image config is 8388609 bytes"));
    berr_free(err);
    free(big);
}

/* ---- indexes ---- */

static struct img_index *parse_index(const char *ct, const char *text)
{
    _cleanup_free_ char *body = q(text);
    struct img_index *ix = NULL;
    struct berr *err = NULL;
    if (img_index_parse(ct, body, strlen(body), &ix, &err) < 0)
        fail_msg("%s", err->msg);
    return ix;
}

static void test_oci_index(void **state)
{
    _cleanup_index_ struct img_index *ix = parse_index(IMG_MT_OCI_INDEX, oci_index);
    assert_string_equal(ix->media_type, IMG_MT_OCI_INDEX);
    assert_int_equal(ix->n, 6);
    assert_string_equal(ix->manifests[1].platform->architecture, "arm");
    assert_string_equal(ix->manifests[1].platform->variant, "v6");
    assert_null(ix->manifests[0].platform->variant);
    assert_int_equal(ix->manifests[3].size, 100);
}

static void test_docker_list(void **state)
{
    _cleanup_index_ struct img_index *ix = parse_index(NULL, docker_list);
    assert_string_equal(ix->media_type, IMG_MT_DOCKER_LIST);
    assert_int_equal(ix->n, 3);
    assert_string_equal(ix->manifests[1].platform->os_features[0], "sse4");
    assert_string_equal(ix->manifests[2].platform->os_version, "10.0.17763.1");
}

#define INDEX_WITH(entry) "{'schemaVersion':2,'manifests':[" entry "]}"
#define ENTRY(plat)                                                                                \
    "{'mediaType':'" IMG_MT_OCI_MANIFEST "','digest':'" DA "','size':1,'platform':" plat "}"

static const struct bad_case bad_indexes[] = {
    {NULL, "{'schemaVersion':2,'mediaType':'" IMG_MT_OCI_INDEX "'}",
     "index: \"manifests\" is missing"},
    {NULL, "{'schemaVersion':2,'manifests':{}}", "\"manifests\" must be an array, not an object"},
    {NULL, INDEX_WITH("'x'"), "index manifests[0] must be an object, not a string"},
    {NULL, INDEX_WITH("{'mediaType':'" IMG_MT_OCI_MANIFEST "','digest':'" DA "'}"),
     "index manifests[0]: \"size\" is missing"},
    {NULL, INDEX_WITH(ENTRY("'linux/amd64'")), "\"platform\" must be an object, not a string"},
    {NULL, INDEX_WITH(ENTRY("{'os':'linux'}")),
     "index manifests[0] platform: \"architecture\" is missing"},
    {NULL, INDEX_WITH(ENTRY("{'architecture':'amd64'}")),
     "index manifests[0] platform: \"os\" is missing"},
    {NULL, INDEX_WITH(ENTRY("{'architecture':'amd64','os':'linux','variant':8}")),
     "\"variant\" must be a string, not a number"},
    {NULL, INDEX_WITH(ENTRY("{'architecture':'amd64','os':'linux','os.features':'a'}")),
     "\"os.features\" must be an array of strings"},
    {NULL, INDEX_WITH(ENTRY("{'architecture':'amd64','os':'linux','features':[1]}")),
     "\"features\"[0] must be a string"},
    {NULL, INDEX_WITH(ENTRY("{'architecture':'amd64','os':'linux'}") "," ENTRY("{}")),
     "index manifests[1] platform: \"architecture\" is missing"},
    {NULL, "{'schemaVersion':2,'manifests':[],'annotations':'a'}",
     "index: \"annotations\" must be an object of strings"},
    {NULL, "{'schemaVersion':2,'manifests':[],'subject':[]}", "index subject must be an object"},
    {NULL, MANIFEST_WITH(OCI_CFG, "[]"), "expected an image index, got a single image manifest"},
    {IMG_MT_DOCKER_LIST, MANIFEST_WITH(OCI_CFG, "[]"), "served as " IMG_MT_DOCKER_LIST},
};

static void test_bad_indexes(void **state)
{
    run_bad(bad_indexes, ARRAY_SIZE(bad_indexes), true);
}

/* ---- platforms ---- */

static void test_platform_parse(void **state)
{
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"linux/amd64", "linux/amd64"},
        {"linux/amd64/v1", "linux/amd64"},
        {"linux/amd64/v3", "linux/amd64/v3"},
        {"linux/x86_64", "linux/amd64"},
        {"LINUX/AMD64", "linux/amd64"},
        {"linux/arm64/v8", "linux/arm64"},
        {"linux/arm64", "linux/arm64"},
        {"linux/aarch64", "linux/arm64"},
        {"linux/arm64/v9.0", "linux/arm64/v9"},
        {"linux/arm", "linux/arm/v7"},
        {"linux/arm/7", "linux/arm/v7"},
        {"linux/arm/6", "linux/arm/v6"},
        {"linux/armhf", "linux/arm/v7"},
        {"linux/armel", "linux/arm/v6"},
        {"linux/i386", "linux/386"},
        {"arm64", "linux/arm64"},
        {"amd64", "linux/amd64"},
        {"windows/amd64", "windows/amd64"},
        {"macos/arm64", "darwin/arm64"},
        {"linux/riscv64", "linux/riscv64"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        struct img_platform *p = NULL;
        struct berr *err = NULL;
        if (img_platform_parse(ok[i].in, &p, &err) < 0)
            fail_msg("%s: %s", ok[i].in, err->msg);
        _cleanup_free_ char *s = img_platform_string(p);
        if (strcmp(s, ok[i].out) != 0)
            fail_msg("%s: got %s, want %s", ok[i].in, s, ok[i].out);
        img_platform_free(p);
    }
    _cleanup_platform_ struct img_platform *os_only = NULL;
    assert_int_equal(img_platform_parse("linux", &os_only, NULL), 0);
    _cleanup_platform_ struct img_platform *host = img_platform_host();
    assert_string_equal(os_only->os, "linux");
    assert_string_equal(os_only->architecture, host->architecture);

    static const char *const bad[] = {"",        "linux/",       "/amd64",     "linux//v7",
                                      "a/b/c/d", "linux/amd 64", "frobnicate", "linux/amd64/v1\n"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct img_platform *p = (struct img_platform *)1;
        struct berr *err = NULL;
        if (img_platform_parse(bad[i], &p, &err) == 0)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_null(p);
        assert_non_null(strstr(err->msg, "invalid platform"));
        berr_free(err);
    }
    struct berr *err = NULL;
    struct img_platform *p = NULL;
    assert_int_equal(img_platform_parse("frobnicate", &p, &err), -1);
    assert_non_null(strstr(err->msg, "unknown operating system or architecture"));
    berr_free(err);
}

static int select_in(const struct img_index *ix, const char *want, struct berr **err)
{
    _cleanup_platform_ struct img_platform *p = NULL;
    if (want && img_platform_parse(want, &p, NULL) < 0)
        fail_msg("bad test platform %s", want);
    size_t idx = 999;
    if (img_index_select(ix, p, &idx, err) < 0)
        return -1;
    return (int)idx;
}

static void test_select_multi_arch(void **state)
{
    _cleanup_index_ struct img_index *ix = parse_index(NULL, oci_index);
    _cleanup_platform_ struct img_platform *host = img_platform_host();
    if (strcmp(host->architecture, "amd64") == 0)
        assert_int_equal(select_in(ix, NULL, NULL), 0);
    struct img_platform partial = {.os = NULL, .architecture = NULL};
    size_t idx = 99;
    if (strcmp(host->architecture, "amd64") == 0) {
        assert_int_equal(img_index_select(ix, &partial, &idx, NULL), 0);
        assert_int_equal(idx, 0);
    }
    assert_int_equal(select_in(ix, "linux/amd64", NULL), 0);
    assert_int_equal(select_in(ix, "amd64", NULL), 0);
    /* arm64 defaults to v8, and "arm64" in the index matches "arm64/v8" in the request. */
    assert_int_equal(select_in(ix, "linux/arm64", NULL), 3);
    assert_int_equal(select_in(ix, "linux/arm64/v8", NULL), 3);
    assert_int_equal(select_in(ix, "linux/aarch64", NULL), 3);
    assert_int_equal(select_in(ix, "linux/arm64/v8.2", NULL), 3);
    assert_int_equal(select_in(ix, "linux/arm64/v9", NULL), 3);
    /* arm defaults to v7; v8 (32-bit) falls back to v7, v6 takes v6. */
    assert_int_equal(select_in(ix, "linux/arm", NULL), 2);
    assert_int_equal(select_in(ix, "linux/arm/v8", NULL), 2);
    assert_int_equal(select_in(ix, "linux/arm/v6", NULL), 1);
    assert_int_equal(select_in(ix, "linux/ppc64le", NULL), 4);

    struct berr *err = NULL;
    assert_int_equal(select_in(ix, "linux/arm/v5", &err), -1);
    assert_string_equal(err->msg, "no matching manifest for linux/arm/v5 in the manifest list "
                                  "entries (the image offers linux/amd64, linux/arm/v6, "
                                  "linux/arm/v7, linux/arm64, linux/ppc64le); choose one with "
                                  "--platform");
    berr_free(err);
    err = NULL;
    assert_int_equal(select_in(ix, "linux/s390x", &err), -1);
    assert_non_null(strstr(err->msg, "no matching manifest for linux/s390x"));
    assert_null(strstr(err->msg, "unknown"));
    berr_free(err);
    err = NULL;
    assert_int_equal(select_in(ix, "windows/amd64", &err), -1);
    assert_non_null(strstr(err->msg, "for windows/amd64"));
    berr_free(err);
}

static void test_select_docker_list(void **state)
{
    _cleanup_index_ struct img_index *ix = parse_index(NULL, docker_list);
    assert_int_equal(select_in(ix, "linux/amd64", NULL), 1);
    assert_int_equal(select_in(ix, "windows/amd64", NULL), 2);
    /* The entry says arm64 without a variant; a v8 request matches it. */
    assert_int_equal(select_in(ix, "linux/arm64/v8", NULL), 0);
}

#define PLAT_ENTRY(arch, variant)                                                                  \
    "{'mediaType':'" IMG_MT_OCI_MANIFEST "','digest':'" DA "','size':1,'platform':{'os':'linux',"  \
    "'architecture':'" arch "'" variant "}}"
#define V(x) ",'variant':'" x "'"

static void test_select_fallbacks(void **state)
{
    _cleanup_index_ struct img_index *levels =
        parse_index(NULL, INDEX_WITH(PLAT_ENTRY("amd64", "") "," PLAT_ENTRY(
                              "amd64", V("v2")) "," PLAT_ENTRY("amd64", V("v3"))));
    assert_int_equal(select_in(levels, "linux/amd64/v3", NULL), 2);
    assert_int_equal(select_in(levels, "linux/amd64/v4", NULL), 2);
    assert_int_equal(select_in(levels, "linux/amd64/v2", NULL), 1);
    assert_int_equal(select_in(levels, "linux/amd64", NULL), 0);
    _cleanup_platform_ struct img_platform *host = img_platform_host();
    if (strcmp(host->architecture, "amd64") == 0)
        assert_int_equal(select_in(levels, NULL, NULL), 0); /* the baseline, as Docker picks */

    _cleanup_index_ struct img_index *no_v3 = parse_index(
        NULL, INDEX_WITH(PLAT_ENTRY("amd64", V("v2")) "," PLAT_ENTRY("x86_64", V("v1"))));
    assert_int_equal(select_in(no_v3, "linux/amd64/v3", NULL), 0);
    assert_int_equal(select_in(no_v3, "linux/amd64", NULL), 1);

    /* Only a v3 build: a host takes it when it runs x86-64-v3, never from a plain request. */
    _cleanup_index_ struct img_index *only_v3 =
        parse_index(NULL, INDEX_WITH(PLAT_ENTRY("amd64", V("v3"))));
    struct berr *err = NULL;
    assert_int_equal(select_in(only_v3, "linux/amd64", &err), -1);
    berr_free(err);
    err = NULL;
    if (strcmp(host->architecture, "amd64") == 0) {
        int level = host->variant ? host->variant[1] - '0' : 1;
        assert_int_equal(select_in(only_v3, NULL, NULL), level >= 3 ? 0 : -1);
    }

    _cleanup_index_ struct img_index *i386 =
        parse_index(NULL, INDEX_WITH(PLAT_ENTRY("i386", "") "," PLAT_ENTRY(
                              "arm", V("v6")) "," PLAT_ENTRY("armhf", "")));
    assert_int_equal(select_in(i386, "linux/amd64", NULL), 0);
    assert_int_equal(select_in(i386, "linux/arm64", NULL), 2);
    assert_int_equal(select_in(i386, "linux/arm/v7", NULL), 2);
    assert_int_equal(select_in(i386, "linux/arm/v6", NULL), 1);
    assert_int_equal(select_in(i386, "linux/386", NULL), 0);

    _cleanup_index_ struct img_index *v8x = parse_index(
        NULL, INDEX_WITH(PLAT_ENTRY("arm64", V("v8.1")) "," PLAT_ENTRY("arm64", V("v9.0"))));
    assert_int_equal(select_in(v8x, "linux/arm64/v8.3", NULL), 0);
    assert_int_equal(select_in(v8x, "linux/arm64/v9.1", NULL), 1);
    assert_int_equal(select_in(v8x, "linux/arm64/v8", &err), -1);
    berr_free(err);
}

static void test_select_without_platform(void **state)
{
    _cleanup_index_ struct img_index *bare = parse_index(
        NULL, INDEX_WITH("{'mediaType':'" IMG_MT_OCI_MANIFEST "','digest':'" DA "','size':1}"));
    assert_int_equal(select_in(bare, "linux/s390x", NULL), 0);

    _cleanup_index_ struct img_index *nested = parse_index(
        NULL, INDEX_WITH("{'mediaType':'" IMG_MT_OCI_INDEX "','digest':'" DA "','size':1}"));
    struct berr *err = NULL;
    assert_int_equal(select_in(nested, "linux/amd64", &err), -1);
    assert_non_null(strstr(err->msg, "(the image offers only entries without a platform)"));
    berr_free(err);
    err = NULL;

    _cleanup_index_ struct img_index *empty = parse_index(NULL, INDEX_WITH(""));
    assert_int_equal(empty->n, 0);
    assert_int_equal(select_in(empty, "linux/amd64", &err), -1);
    assert_non_null(strstr(err->msg, "(the image offers nothing)"));
    berr_free(err);
}

/* ---- layer types ---- */

static void test_layer_media_types(void **state)
{
    static const struct {
        const char *mt;
        enum img_compression comp;
        bool foreign;
    } known[] = {
        {IMG_MT_OCI_LAYER, IMG_COMPRESSION_NONE, false},
        {IMG_MT_OCI_LAYER_GZIP, IMG_COMPRESSION_GZIP, false},
        {IMG_MT_OCI_LAYER_ZSTD, IMG_COMPRESSION_ZSTD, false},
        {IMG_MT_OCI_LAYER_ND, IMG_COMPRESSION_NONE, true},
        {IMG_MT_OCI_LAYER_ND_GZIP, IMG_COMPRESSION_GZIP, true},
        {IMG_MT_OCI_LAYER_ND_ZSTD, IMG_COMPRESSION_ZSTD, true},
        {IMG_MT_DOCKER_LAYER_GZIP, IMG_COMPRESSION_GZIP, false},
        {IMG_MT_DOCKER_FOREIGN_GZIP, IMG_COMPRESSION_GZIP, true},
    };
    for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
        enum img_compression comp = 99;
        bool foreign = !known[i].foreign;
        assert_int_equal(img_layer_media_type(known[i].mt, &comp, &foreign, NULL), 0);
        assert_int_equal(comp, known[i].comp);
        assert_int_equal(foreign, known[i].foreign);
    }
    struct berr *err = NULL;
    assert_int_equal(img_layer_media_type("application/x-tar", NULL, NULL, &err), -1);
    assert_string_equal(err->msg, "unsupported layer media type \"application/x-tar\" (not a "
                                  "container image layer)");
    berr_free(err);
}

/* ---- serialisation ---- */

static void test_serialize_built_manifest(void **state)
{
    struct img_manifest m = {0};
    m.media_type = IMG_MT_OCI_MANIFEST;
    m.config = (struct img_descriptor){.media_type = IMG_MT_OCI_CONFIG, .digest = DA, .size = 5};
    struct img_descriptor layers[2] = {
        {.media_type = IMG_MT_OCI_LAYER_GZIP, .digest = DB, .size = 10},
        {.media_type = IMG_MT_OCI_LAYER, .digest = DC, .size = 0},
    };
    m.layers = layers;
    m.n_layers = 2;
    json_t *ann = json_pack("{s:s, s:s, s:s}", "zz", "1", "aa", "2", "mm", "3");
    layers[1].annotations = ann;
    size_t len = 0;
    _cleanup_free_ char *s = img_manifest_serialize(&m, &len);
    _cleanup_free_ char *want =
        q("{'schemaVersion':2,'mediaType':'" IMG_MT_OCI_MANIFEST
          "','config':{'mediaType':'" IMG_MT_OCI_CONFIG "','digest':'" DA
          "','size':5},'layers':[{'mediaType':'" IMG_MT_OCI_LAYER_GZIP "','digest':'" DB
          "','size':10},{'mediaType':'" IMG_MT_OCI_LAYER "','digest':'" DC
          "','size':0,'annotations':{'aa':'2','mm':'3','zz':'1'}}]}");
    assert_string_equal(s, want);
    assert_int_equal(len, strlen(want));
    json_decref(ann);
    /* The same struct always gives the same bytes. */
    layers[1].annotations = NULL;
    _cleanup_free_ char *s2 = img_manifest_serialize(&m, NULL);
    _cleanup_free_ char *s3 = img_manifest_serialize(&m, NULL);
    assert_string_equal(s2, s3);
}

static void test_serialize_round_trip(void **state)
{
    const char *docs[] = {oci_manifest, docker_manifest};
    for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
        _cleanup_manifest_ struct img_manifest *m = parse_manifest(NULL, docs[i], NULL);
        assert_non_null(m);
        size_t len;
        _cleanup_free_ char *s = img_manifest_serialize(m, &len);
        _cleanup_manifest_ struct img_manifest *again = NULL;
        assert_int_equal(img_manifest_parse(m->media_type, s, len, &again, NULL), 0);
        _cleanup_free_ char *s2 = img_manifest_serialize(again, NULL);
        assert_string_equal(s, s2);
    }
    _cleanup_index_ struct img_index *ix = parse_index(NULL, docker_list);
    size_t len;
    _cleanup_free_ char *s = img_index_serialize(ix, &len);
    assert_non_null(strstr(s, "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\","
                              "\"os.features\":[\"sse4\"]}"));
    _cleanup_index_ struct img_index *again = NULL;
    assert_int_equal(img_index_parse(NULL, s, len, &again, NULL), 0);
    _cleanup_free_ char *s2 = img_index_serialize(again, NULL);
    assert_string_equal(s, s2);
}

/* ---- configs ---- */

static const char *oci_config =
    "{'created':'2024-05-01T10:00:00.123Z','author':'me','architecture':'arm64','variant':'v8',"
    "'os':'linux','config':{'User':'1000:1000','ExposedPorts':{'80/tcp':{}},'Env':['PATH=/bin'],"
    "'Entrypoint':['/init'],'Cmd':['serve','--port','80'],'Volumes':{'/data':{}},"
    "'WorkingDir':'/srv','Labels':{'a':'b'},'StopSignal':'SIGTERM','ArgsEscaped':true},"
    "'rootfs':{'type':'layers','diff_ids':['" DA "','" DB "']},"
    "'history':[{'created':'2024-05-01T10:00:00Z','created_by':'ADD rootfs.tar /'},"
    "{'created_by':'ENV PATH=/bin','empty_layer':true},"
    "{'created_by':'COPY app /srv','author':'x','comment':'buildkit.dockerfile.v0'}]}";

/* Docker writes nulls for empty lists and maps, and no diff_ids for an image without layers. */
static const char *docker_config =
    "{'architecture':'amd64','os':'linux','config':{'Hostname':'','Env':null,'Cmd':null,"
    "'Entrypoint':null,'Labels':null,'OnBuild':null,'Volumes':null},"
    "'container_config':{'Cmd':['/bin/sh']},'docker_version':'24.0.7',"
    "'rootfs':{'type':'layers'},'history':[{'created_by':'LABEL a=b','empty_layer':true}]}";

static struct img_config *parse_config(const char *text, struct berr **err)
{
    _cleanup_free_ char *body = q(text);
    struct img_config *c = NULL;
    if (img_config_parse(body, strlen(body), &c, err) < 0) {
        assert_null(c);
        return NULL;
    }
    return c;
}

static void test_oci_config(void **state)
{
    struct berr *err = NULL;
    _cleanup_config_ struct img_config *c = parse_config(oci_config, &err);
    if (c == NULL)
        fail_msg("%s", err->msg);
    assert_string_equal(c->architecture, "arm64");
    assert_string_equal(c->variant, "v8");
    assert_string_equal(c->os, "linux");
    assert_string_equal(c->created, "2024-05-01T10:00:00.123Z");
    assert_string_equal(c->author, "me");
    assert_int_equal(c->n_diff_ids, 2);
    assert_string_equal(c->diff_ids[1], DB);
    assert_null(c->diff_ids[2]);
    assert_int_equal(c->n_history, 3);
    assert_true(c->history[1].empty_layer);
    assert_false(c->history[2].empty_layer);
    assert_string_equal(c->history[2].comment, "buildkit.dockerfile.v0");
    assert_null(c->history[1].created);
    assert_false(c->history_mismatch);
    assert_string_equal(json_string_value(json_object_get(c->config, "WorkingDir")), "/srv");

    _cleanup_free_ char *s = img_config_serialize(c, NULL);
    _cleanup_config_ struct img_config *again = NULL;
    assert_int_equal(img_config_parse(s, strlen(s), &again, NULL), 0);
    assert_int_equal(again->n_history, 3);
}

static void test_docker_config(void **state)
{
    struct berr *err = NULL;
    _cleanup_config_ struct img_config *c = parse_config(docker_config, &err);
    if (c == NULL)
        fail_msg("%s", err->msg);
    assert_int_equal(c->n_diff_ids, 0);
    assert_non_null(c->diff_ids);
    assert_null(c->diff_ids[0]);
    assert_null(c->variant);
    assert_null(c->created);
    assert_false(c->history_mismatch);
}

static void test_history_mismatch_is_tolerated(void **state)
{
    _cleanup_config_ struct img_config *c =
        parse_config("{'rootfs':{'type':'layers','diff_ids':['" DA "']},'history':[{},{}]}", NULL);
    assert_non_null(c);
    assert_true(c->history_mismatch);
    _cleanup_config_ struct img_config *none =
        parse_config("{'rootfs':{'type':'layers','diff_ids':['" DA "']}}", NULL);
    assert_false(none->history_mismatch);
}

static void test_bad_configs(void **state)
{
#define ROOTFS "'rootfs':{'type':'layers','diff_ids':[]}"
    static const struct {
        const char *body, *needle;
    } cases[] = {
        {"{}", "image config: \"rootfs\" is missing"},
        {"{'rootfs':null}", "\"rootfs\" is missing"},
        {"{'rootfs':[]}", "\"rootfs\" must be an object, not an array"},
        {"{'rootfs':{'diff_ids':[]}}", "rootfs \"type\" must be \"layers\""},
        {"{'rootfs':{'type':'Layers','diff_ids':[]}}", "rootfs \"type\" must be \"layers\""},
        {"{'rootfs':{'type':'layers','diff_ids':'x'}}",
         "image config rootfs: \"diff_ids\" must be an array of strings, not a string"},
        {"{'rootfs':{'type':'layers','diff_ids':[1]}}", "\"diff_ids\"[0] must be a string"},
        {"{'rootfs':{'type':'layers','diff_ids':['" DA "','sha256:xyz']}}",
         "image config rootfs diff_ids[1]: digest \"sha256:xyz\""},
        {"{'architecture':64," ROOTFS "}", "\"architecture\" must be a string, not a number"},
        {"{'os':true," ROOTFS "}", "\"os\" must be a string, not a boolean"},
        {"{'created':1," ROOTFS "}", "\"created\" must be a string"},
        {"{'os.features':'x'," ROOTFS "}", "\"os.features\" must be an array of strings"},
        {"{'config':[]," ROOTFS "}", "image config \"config\" must be an object, not an array"},
        {"{'config':{'Env':'A=1'}," ROOTFS "}", "\"Env\" must be an array of strings"},
        {"{'config':{'Cmd':[1]}," ROOTFS "}", "\"Cmd\"[0] must be a string"},
        {"{'config':{'Entrypoint':'sh'}," ROOTFS "}", "\"Entrypoint\" must be an array"},
        {"{'config':{'User':0}," ROOTFS "}", "\"User\" must be a string, not a number"},
        {"{'config':{'WorkingDir':[]}," ROOTFS "}", "\"WorkingDir\" must be a string"},
        {"{'config':{'Labels':{'a':1}}," ROOTFS "}", "\"Labels\"[\"a\"] must be a string"},
        {"{'config':{'ExposedPorts':['80/tcp']}," ROOTFS "}",
         "\"ExposedPorts\" must be an object, not an array"},
        {"{'config':{'Healthcheck':'x'}," ROOTFS "}", "\"Healthcheck\" must be an object"},
        {"{'config':{'ArgsEscaped':'yes'}," ROOTFS "}", "\"ArgsEscaped\" must be a boolean"},
        {"{'history':{}," ROOTFS "}", "\"history\" must be an array, not an object"},
        {"{'history':[1]," ROOTFS "}", "image config history[0] must be an object"},
        {"{'history':[{},{'created_by':5}]," ROOTFS "}",
         "image config history[1]: \"created_by\" must be a string"},
        {"{'history':[{'empty_layer':'true'}]," ROOTFS "}", "\"empty_layer\" must be a boolean"},
        {"{'os':'linux','os':'linux'," ROOTFS "}", "duplicate object key"},
        {"[1]", "image config must be a JSON object, not an array"},
        {"{'rootfs':", "image config is not valid JSON"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct berr *err = NULL;
        struct img_config *c = parse_config(cases[i].body, &err);
        if (c != NULL)
            fail_msg("case %zu accepted", i);
        if (strstr(err->msg, cases[i].needle) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err->msg, cases[i].needle);
        berr_free(err);
    }
}

static void test_check_config(void **state)
{
    _cleanup_manifest_ struct img_manifest *m = parse_manifest(NULL, oci_manifest, NULL);
    _cleanup_config_ struct img_config *c = parse_config(oci_config, NULL);
    struct berr *err = NULL;
    assert_int_equal(img_manifest_check_config(m, c, &err), -1);
    assert_string_equal(err->msg, "manifest lists 3 layers but its config " DA " has 2 diff_ids");
    berr_free(err);
    m->n_layers = 2; /* the third descriptor is still freed: only the count is checked */
    assert_int_equal(img_manifest_check_config(m, c, NULL), 0);
    m->n_layers = 3;
}

/* ---- chain IDs ---- */

/* Computed independently: L0..L2 are sha256 of "a", "b", "c"; C1 = sha256("L0 L1") and
 * C2 = sha256("C1 L2") with `printf '%s %s' ... | sha256sum`. */
#define L0 "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define L1 "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
#define L2 "sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"
#define C1 "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676"
#define C2 "sha256:2fce7f8ce91bcf0a1428b36e1024639fdbd9469eea762dba98aa749631885106"

static void test_chain_ids(void **state)
{
    char *const diff[] = {L0, L1, L2, NULL};
    _cleanup_strv_ char **ids = img_chain_ids(diff, 3);
    assert_string_equal(ids[0], L0);
    assert_string_equal(ids[1], C1);
    assert_string_equal(ids[2], C2);
    assert_null(ids[3]);

    _cleanup_strv_ char **one = img_chain_ids(diff, 1);
    assert_string_equal(one[0], L0);
    assert_null(one[1]);
    _cleanup_strv_ char **none = img_chain_ids(NULL, 0);
    assert_non_null(none);
    assert_null(none[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_oci_manifest),
        cmocka_unit_test(test_docker_manifest),
        cmocka_unit_test(test_manifest_media_type_defaults),
        cmocka_unit_test(test_bad_manifests),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_oci_index),
        cmocka_unit_test(test_docker_list),
        cmocka_unit_test(test_bad_indexes),
        cmocka_unit_test(test_platform_parse),
        cmocka_unit_test(test_select_multi_arch),
        cmocka_unit_test(test_select_docker_list),
        cmocka_unit_test(test_select_fallbacks),
        cmocka_unit_test(test_select_without_platform),
        cmocka_unit_test(test_layer_media_types),
        cmocka_unit_test(test_serialize_built_manifest),
        cmocka_unit_test(test_serialize_round_trip),
        cmocka_unit_test(test_oci_config),
        cmocka_unit_test(test_docker_config),
        cmocka_unit_test(test_history_mismatch_is_tolerated),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_check_config),
        cmocka_unit_test(test_chain_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
