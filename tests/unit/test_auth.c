/* Unit tests for registry auth: WWW-Authenticate parsing, token answers, scopes and token URLs,
 * error bodies, the token cache, base64 and the config.json credential store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "registry/auth.h"
#include "registry/credentials.h"

static char tmpdir[64];

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/berth-auth-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    return rm_rf_at(AT_FDCWD, tmpdir, NULL);
}

/* Parse a header expected to be malformed; returns the error message's copy. */
static char *parse_fails(const char *header)
{
    struct reg_challenges l = {0};
    struct berr *err = NULL;
    assert_int_equal(reg_parse_www_authenticate(header, &l, &err), -1);
    assert_non_null(err);
    assert_int_equal(l.n, 0);
    assert_null(l.v);
    char *msg = xstrdup(err->msg);
    berr_free(err);
    return msg;
}

static void test_parse_bearer(void **state)
{
    struct reg_challenges l = {0};
    struct berr *err = NULL;
    assert_int_equal(reg_parse_www_authenticate(
                         "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker."
                         "io\",scope=\"repository:library/alpine:pull\"",
                         &l, &err),
                     0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].scheme, "bearer");
    assert_int_equal(l.v[0].n_params, 3);
    assert_string_equal(reg_challenge_param(&l.v[0], "realm"), "https://auth.docker.io/token");
    assert_string_equal(reg_challenge_param(&l.v[0], "SERVICE"), "registry.docker.io");
    assert_string_equal(reg_challenge_param(&l.v[0], "scope"), "repository:library/alpine:pull");
    assert_null(reg_challenge_param(&l.v[0], "error"));

    struct reg_bearer b;
    assert_int_equal(reg_bearer_from_challenge(&l.v[0], &b, &err), 0);
    assert_string_equal(b.realm, "https://auth.docker.io/token");
    assert_string_equal(b.service, "registry.docker.io");
    assert_string_equal(b.scope, "repository:library/alpine:pull");
    reg_challenges_clear(&l);
    assert_int_equal(l.n, 0);
}

static void test_parse_several_challenges(void **state)
{
    struct reg_challenges l = {0};
    struct berr *err = NULL;
    assert_int_equal(reg_parse_www_authenticate("Basic realm=\"Registry Realm\" , BEARER "
                                                "Realm=\"https://t/x\",  service = \"s\" ,",
                                                &l, &err),
                     0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].scheme, "basic");
    assert_string_equal(reg_challenge_param(&l.v[0], "realm"), "Registry Realm");
    assert_string_equal(l.v[1].scheme, "bearer");
    assert_string_equal(reg_challenge_param(&l.v[1], "realm"), "https://t/x");
    assert_string_equal(reg_challenge_param(&l.v[1], "service"), "s");
    assert_ptr_equal(reg_challenges_find(&l, "Bearer"), &l.v[1]);
    assert_null(reg_challenges_find(&l, "digest"));

    /* A second header appends; a scheme with no parameters and a token68 are fine. */
    assert_int_equal(reg_parse_www_authenticate("Negotiate abc+/9==, NTLM, Basic", &l, &err), 0);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.v[2].scheme, "negotiate");
    assert_string_equal(l.v[2].token68, "abc+/9==");
    assert_string_equal(l.v[3].scheme, "ntlm");
    assert_int_equal(l.v[3].n_params, 0);
    assert_string_equal(l.v[4].scheme, "basic");

    /* A failing header leaves what was parsed before untouched. */
    assert_int_equal(reg_parse_www_authenticate("Bearer realm=\"x", &l, &err), -1);
    assert_int_equal(l.n, 5);
    berr_free(err);
    reg_challenges_clear(&l);
}

static void test_parse_quoting(void **state)
{
    struct reg_challenges l = {0};
    struct berr *err = NULL;
    assert_int_equal(
        reg_parse_www_authenticate("Bearer realm=\"https://a/t?x=1,2\",scope=\"repository:a:pull,"
                                   "push\",error=\"say \\\"hi\\\", \\\\ ok\",empty=\"\"",
                                   &l, &err),
        0);
    assert_int_equal(l.n, 1);
    assert_string_equal(reg_challenge_param(&l.v[0], "realm"), "https://a/t?x=1,2");
    assert_string_equal(reg_challenge_param(&l.v[0], "scope"), "repository:a:pull,push");
    assert_string_equal(reg_challenge_param(&l.v[0], "error"), "say \"hi\", \\ ok");
    assert_string_equal(reg_challenge_param(&l.v[0], "empty"), "");
    reg_challenges_clear(&l);

    /* Registries that do not quote URLs are read leniently. */
    assert_int_equal(
        reg_parse_www_authenticate("Bearer realm=https://h:5001/auth,service=reg", &l, &err), 0);
    assert_string_equal(reg_challenge_param(&l.v[0], "realm"), "https://h:5001/auth");
    assert_string_equal(reg_challenge_param(&l.v[0], "service"), "reg");
    reg_challenges_clear(&l);
}

static void test_parse_garbage(void **state)
{
    static const char *const bad[] = {
        "",
        "   ,  , ",
        "Bearer realm=\"unterminated",
        "Bearer realm=\"ends in backslash\\",
        "realm=\"no scheme\"",
        "Bearer realm=\"x\" junk",
        "\"Bearer\"",
        "Bearer realm=\"a\", realm=\"b\"",
        "Bearer =x",
        "Bearer realm=\"x\"\"y\"",
        "Bearer realm=\"bad\x01control\"",
        "Negotiate abc==, def=1",
        "Bearer@ realm=x",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        _cleanup_free_ char *msg = parse_fails(bad[i]);
        assert_non_null(strstr(msg, "WWW-Authenticate"));
    }
    /* The error shows the header without its control characters. */
    _cleanup_free_ char *msg = parse_fails("Bearer \x1b[2J\"");
    assert_null(strchr(msg, '\x1b'));
    assert_int_equal(reg_parse_www_authenticate(NULL, &(struct reg_challenges){0}, NULL), -1);
}

static void test_bearer_needs_realm(void **state)
{
    struct reg_challenges l = {0};
    struct berr *err = NULL;
    assert_int_equal(reg_parse_www_authenticate("Bearer service=\"s\"", &l, &err), 0);
    struct reg_bearer b;
    assert_int_equal(reg_bearer_from_challenge(&l.v[0], &b, &err), -1);
    assert_non_null(strstr(err->msg, "realm"));
    berr_free(err);
    err = NULL;
    reg_challenges_clear(&l);

    assert_int_equal(reg_parse_www_authenticate("Bearer realm=\"ftp://x/token\"", &l, &err), 0);
    assert_int_equal(reg_bearer_from_challenge(&l.v[0], &b, &err), -1);
    assert_non_null(strstr(err->msg, "not an http(s) URL"));
    berr_free(err);
    reg_challenges_clear(&l);
}

static void test_token_response(void **state)
{
    struct reg_token t = {0};
    struct berr *err = NULL;
    const char *j1 =
        "{\"token\":\"abc.def\",\"expires_in\":300,\"issued_at\":\"2020-01-01T00:00:00Z\"}";
    assert_int_equal(reg_parse_token_response(j1, strlen(j1), 1000, &t, &err), 0);
    assert_string_equal(t.token, "abc.def");
    assert_int_equal(t.expires_at, 1000 + 300 - 30);
    reg_token_clear(&t);

    const char *j2 = "{\"access_token\":\"only-access\"}";
    assert_int_equal(reg_parse_token_response(j2, strlen(j2), 1000, &t, &err), 0);
    assert_string_equal(t.token, "only-access");
    assert_int_equal(t.expires_at, 1000 + 60 - 6); /* default 60 s lifetime */
    reg_token_clear(&t);

    const char *j3 = "{\"token\":\"\",\"access_token\":\"fallback\",\"expires_in\":5}";
    assert_int_equal(reg_parse_token_response(j3, strlen(j3), 0, &t, &err), 0);
    assert_string_equal(t.token, "fallback");
    assert_int_equal(t.expires_at, 54); /* raised to the 60 s minimum */
    reg_token_clear(&t);

    const char *j4 = "{\"token\":\"both\",\"access_token\":\"other\"}";
    assert_int_equal(reg_parse_token_response(j4, strlen(j4), 0, &t, &err), 0);
    assert_string_equal(t.token, "both");
    reg_token_clear(&t);

    static const char *const bad[] = {
        "not json",
        "[1,2]",
        "{}",
        "{\"token\":42}",
        "{\"token\":\"a\\r\\nX-Evil: 1\"}",
        "{\"token\":\"has space\"}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(reg_parse_token_response(bad[i], strlen(bad[i]), 0, &t, &err), -1);
        assert_non_null(err);
        assert_null(t.token);
        berr_free(err);
        err = NULL;
    }
}

static void test_scopes_and_urls(void **state)
{
    _cleanup_free_ char *s1 = reg_scope_repo("library/alpine", "pull");
    assert_string_equal(s1, "repository:library/alpine:pull");
    _cleanup_free_ char *s2 = reg_scope_repo("a/b", "pull,push");
    char *scopes[] = {s1, s2, NULL};
    _cleanup_free_ char *u1 = reg_token_url("https://auth.example/token", "reg.example", scopes);
    assert_string_equal(u1, "https://auth.example/token?service=reg.example"
                            "&scope=repository%3Alibrary%2Falpine%3Apull"
                            "&scope=repository%3Aa%2Fb%3Apull%2Cpush");
    _cleanup_free_ char *u2 = reg_token_url("https://a/t?client=x", NULL, scopes + 1);
    assert_string_equal(u2, "https://a/t?client=x&scope=repository%3Aa%2Fb%3Apull%2Cpush");
    _cleanup_free_ char *u3 = reg_token_url("https://a/t?", "s p", NULL);
    assert_string_equal(u3, "https://a/t?service=s%20p");
    _cleanup_free_ char *u4 = reg_token_url("https://a/t", NULL, NULL);
    assert_string_equal(u4, "https://a/t");

    static const char *const good[] = {"a",    "library/alpine", "a-b",     "a--b",
                                       "a__b", "a.b/c_d",        "x0/y1/z2"};
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        assert_true(reg_repo_name_valid(good[i]));
    static const char *const bad[] = {"",   "A",  "a//b", "/a",     "a/",  "a___b", "a..b",
                                      "-a", "a-", "a b",  "a/../b", "a?x", "a:b"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_false(reg_repo_name_valid(bad[i]));
    assert_false(reg_repo_name_valid(NULL));
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    assert_false(reg_repo_name_valid(longname));
}

static void test_error_bodies(void **state)
{
    const char *b1 = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\","
                     "\"detail\":{\"Tag\":\"x\"}}]}";
    _cleanup_free_ char *m1 = reg_error_body_message(b1, strlen(b1));
    assert_string_equal(m1, "manifest unknown: manifest unknown");

    const char *b2 = "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"no\",\"detail\":\"why\"},"
                     "{\"code\":\"UNAUTHORIZED\"}]}";
    _cleanup_free_ char *m2 = reg_error_body_message(b2, strlen(b2));
    assert_string_equal(m2, "denied: no (why); unauthorized");

    const char *b3 = "{\"details\":\"incorrect username or password\"}";
    _cleanup_free_ char *m3 = reg_error_body_message(b3, strlen(b3));
    assert_string_equal(m3, "incorrect username or password");

    const char *b4 = "404 page not found\n";
    _cleanup_free_ char *m4 = reg_error_body_message(b4, strlen(b4));
    assert_string_equal(m4, "404 page not found");

    const char *b5 = "<html><body>Bad Gateway</body></html>";
    assert_null(reg_error_body_message(b5, strlen(b5)));
    assert_null(reg_error_body_message("{}", 2));
    assert_null(reg_error_body_message(NULL, 0));

    const char *b6 = "{\"errors\":[{\"code\":\"X\",\"message\":\"a\\u001b[31mb\\u0085c\"}]}";
    _cleanup_free_ char *m6 = reg_error_body_message(b6, strlen(b6));
    assert_string_equal(m6, "x: a [31mbc");

    /* Long messages are capped. */
    _cleanup_free_ char *big = xmalloc(10000);
    strcpy(big, "{\"details\":\"");
    memset(big + 12, 'z', 5000);
    strcpy(big + 5012, "\"}");
    _cleanup_free_ char *m7 = reg_error_body_message(big, strlen(big));
    assert_true(strlen(m7) <= 1024);
}

static void test_token_cache(void **state)
{
    struct reg_token_cache *tc = reg_token_cache_new();
    assert_null(reg_token_cache_get(tc, "k", 0));
    reg_token_cache_put(tc, "k", "t1", 100);
    _cleanup_free_ char *a = reg_token_cache_get(tc, "k", 99);
    assert_string_equal(a, "t1");
    assert_null(reg_token_cache_get(tc, "k", 100)); /* expired, and dropped */
    assert_null(reg_token_cache_get(tc, "k", 0));
    reg_token_cache_put(tc, "k", "t2", 100);
    reg_token_cache_put(tc, "k", "t3", 200); /* replaces */
    _cleanup_free_ char *b = reg_token_cache_get(tc, "k", 150);
    assert_string_equal(b, "t3");
    reg_token_cache_remove(tc, "k");
    assert_null(reg_token_cache_get(tc, "k", 0));
    /* Past its capacity the entry closest to expiry goes first. */
    for (int i = 0; i < 40; i++) {
        char key[16];
        snprintf(key, sizeof(key), "s%d", i);
        reg_token_cache_put(tc, key, key, 1000 + i);
    }
    assert_null(reg_token_cache_get(tc, "s0", 0));
    _cleanup_free_ char *c = reg_token_cache_get(tc, "s39", 0);
    assert_string_equal(c, "s39");
    reg_token_cache_clear(tc);
    assert_null(reg_token_cache_get(tc, "s39", 0));
    reg_token_cache_free(tc);
}

static void test_base64(void **state)
{
    static const char *const plain[] = {"", "a", "ab", "abc", "abcd", "user:pa:ss"};
    static const char *const enc[] = {"", "YQ==", "YWI=", "YWJj", "YWJjZA==", "dXNlcjpwYTpzcw=="};
    for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
        _cleanup_free_ char *e = reg_base64_encode(plain[i], strlen(plain[i]));
        assert_string_equal(e, enc[i]);
        size_t len;
        _cleanup_free_ char *d = reg_base64_decode(enc[i], &len, NULL);
        assert_non_null(d);
        assert_int_equal(len, strlen(plain[i]));
        assert_memory_equal(d, plain[i], len);
    }
    struct berr *err = NULL;
    assert_null(reg_base64_decode("abc", NULL, &err));
    berr_free(err);
    err = NULL;
    assert_null(reg_base64_decode("ab!d", NULL, &err));
    berr_free(err);
}

static char *tmp_path(const char *name)
{
    return xasprintf("%s/%s", tmpdir, name);
}

static void test_credentials_round_trip(void **state)
{
    _cleanup_free_ char *file = tmp_path("docker/config.json");
    struct berr *err = NULL;
    char *user, *secret;
    assert_int_equal(reg_credentials_get(file, "127.0.0.1:5000", &user, &secret, &err), 1);
    assert_int_equal(reg_credentials_remove(file, "127.0.0.1:5000", &err), 1);

    /* A file with unrelated content that must survive our writes. */
    _cleanup_free_ char *dir = tmp_path("docker");
    assert_int_equal(mkdir(dir, 0755), 0);
    const char *orig =
        "{\"credsStore\":\"desktop\",\"proxies\":{\"default\":{\"httpProxy\":\"p\"}},"
        "\"auths\":{\"other:1\":{\"auth\":\"eDp5\",\"email\":\"e\"}},\"z\":[1,2]}";
    assert_int_equal(write_file_at(AT_FDCWD, file, orig, strlen(orig), 0644, NULL), 0);

    assert_int_equal(reg_credentials_set(file, "127.0.0.1:5000", "alice", "s3:cr:et", &err), 0);
    assert_null(err);
    assert_int_equal(reg_credentials_get(file, "127.0.0.1:5000", &user, &secret, &err), 0);
    assert_string_equal(user, "alice");
    assert_string_equal(secret, "s3:cr:et");
    free(user);
    free(secret);

    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    json_t *root = json_load_file(file, 0, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "credsStore")), "desktop");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(root, "proxies"), "default"), "httpProxy")),
        "p");
    assert_int_equal(json_array_size(json_object_get(root, "z")), 2);
    json_t *auths = json_object_get(root, "auths");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(auths, "other:1"), "email")), "e");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(auths, "127.0.0.1:5000"), "auth")),
        "YWxpY2U6czM6Y3I6ZXQ=");
    json_decref(root);

    assert_int_equal(reg_credentials_get(file, "other:1", &user, &secret, &err), 0);
    assert_string_equal(user, "x");
    assert_string_equal(secret, "y");
    free(user);
    free(secret);

    assert_int_equal(reg_credentials_remove(file, "127.0.0.1:5000", &err), 0);
    assert_int_equal(reg_credentials_get(file, "127.0.0.1:5000", &user, &secret, &err), 1);
    assert_int_equal(reg_credentials_remove(file, "127.0.0.1:5000", &err), 1);
    assert_int_equal(reg_credentials_get(file, "other:1", &user, &secret, &err), 0);
    free(user);
    free(secret);
    root = json_load_file(file, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(root, "credsStore")), "desktop");
    json_decref(root);

    /* No temporary file is left behind. */
    _cleanup_free_ char *listing = xasprintf("ls -A %s | grep -v '^config.json$' | wc -l", dir);
    FILE *p = popen(listing, "r");
    int n = -1;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    assert_int_equal(n, 0);
}

static void test_credentials_docker_hub(void **state)
{
    _cleanup_free_ char *file = tmp_path("new/sub/config.json");
    struct berr *err = NULL;
    char *user, *secret;
    assert_int_equal(reg_credentials_set(file, "docker.io", "bob", "pw", &err), 0);
    _cleanup_free_ char *dir = tmp_path("new/sub");
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    json_t *root = json_load_file(file, 0, NULL);
    assert_non_null(json_object_get(json_object_get(root, "auths"), REG_DOCKER_HUB_KEY));
    json_decref(root);
    static const char *const names[] = {"docker.io", "index.docker.io", "registry-1.docker.io",
                                        "Docker.IO"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        assert_int_equal(reg_credentials_get(file, names[i], &user, &secret, &err), 0);
        assert_string_equal(user, "bob");
        free(user);
        free(secret);
    }
    assert_int_equal(reg_credentials_remove(file, "index.docker.io", &err), 0);
    assert_int_equal(reg_credentials_get(file, "docker.io", &user, &secret, &err), 1);

    _cleanup_free_ char *key = reg_credentials_key("registry-1.docker.io");
    assert_string_equal(key, REG_DOCKER_HUB_KEY);
    _cleanup_free_ char *key2 = reg_credentials_key("quay.io");
    assert_string_equal(key2, "quay.io");
}

static void test_credentials_key_forms(void **state)
{
    _cleanup_free_ char *file = tmp_path("forms.json");
    const char *text = "{\"auths\":{\"https://myreg:5000/v1/\":{\"auth\":\"dTE6cDE=\"},"
                       "\"http://Other.example\":{\"auth\":\"dTI6cDI=\"},"
                       "\"empty:1\":{\"auth\":\"\"},\"helper:1\":{}}}";
    assert_int_equal(write_file_at(AT_FDCWD, file, text, strlen(text), 0600, NULL), 0);
    struct berr *err = NULL;
    char *user, *secret;
    assert_int_equal(reg_credentials_get(file, "myreg:5000", &user, &secret, &err), 0);
    assert_string_equal(user, "u1");
    assert_string_equal(secret, "p1");
    free(user);
    free(secret);
    assert_int_equal(reg_credentials_get(file, "other.example", &user, &secret, &err), 0);
    assert_string_equal(user, "u2");
    free(user);
    free(secret);
    assert_int_equal(reg_credentials_get(file, "myreg", &user, &secret, &err), 1);
    assert_int_equal(reg_credentials_get(file, "empty:1", &user, &secret, &err), 1);
    assert_int_equal(reg_credentials_get(file, "helper:1", &user, &secret, &err), 1);
    assert_int_equal(reg_credentials_remove(file, "myreg:5000", &err), 0);
    assert_int_equal(reg_credentials_get(file, "myreg:5000", &user, &secret, &err), 1);
}

static void test_credentials_bad_files(void **state)
{
    struct berr *err = NULL;
    char *user, *secret;
    _cleanup_free_ char *file = tmp_path("bad.json");
    const char *text = "{\"auths\": {broken";
    assert_int_equal(write_file_at(AT_FDCWD, file, text, strlen(text), 0600, NULL), 0);
    assert_int_equal(reg_credentials_get(file, "h", &user, &secret, &err), -1);
    assert_non_null(strstr(err->msg, "invalid JSON"));
    berr_free(err);
    err = NULL;
    /* A broken file is never overwritten. */
    assert_int_equal(reg_credentials_set(file, "h", "u", "p", &err), -1);
    berr_free(err);
    err = NULL;
    _cleanup_free_ char *now = read_file_at(AT_FDCWD, file, 1000, NULL, NULL);
    assert_string_equal(now, text);

    const char *t2 = "{\"auths\":{\"h\":{\"auth\":\"bm9jb2xvbg==\"}}}"; /* "nocolon" */
    assert_int_equal(write_file_at(AT_FDCWD, file, t2, strlen(t2), 0600, NULL), 0);
    assert_int_equal(reg_credentials_get(file, "h", &user, &secret, &err), -1);
    assert_non_null(strstr(err->msg, "berth login h"));
    berr_free(err);
    err = NULL;

    const char *t3 = "{\"auths\":[]}";
    assert_int_equal(write_file_at(AT_FDCWD, file, t3, strlen(t3), 0600, NULL), 0);
    assert_int_equal(reg_credentials_get(file, "h", &user, &secret, &err), -1);
    berr_free(err);
    err = NULL;
    assert_int_equal(reg_credentials_remove(file, "h", &err), -1);
    berr_free(err);
    err = NULL;

    assert_int_equal(reg_credentials_set(file, "h", "a:b", "p", &err), -1);
    assert_non_null(strstr(err->msg, "':'"));
    berr_free(err);
    err = NULL;
    assert_int_equal(reg_credentials_set(file, "h", "", "p", &err), -1);
    berr_free(err);
    err = NULL;
    assert_int_equal(reg_credentials_get(NULL, "h", &user, &secret, &err), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_bearer),
        cmocka_unit_test(test_parse_several_challenges),
        cmocka_unit_test(test_parse_quoting),
        cmocka_unit_test(test_parse_garbage),
        cmocka_unit_test(test_bearer_needs_realm),
        cmocka_unit_test(test_token_response),
        cmocka_unit_test(test_scopes_and_urls),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_token_cache),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_credentials_round_trip),
        cmocka_unit_test(test_credentials_docker_hub),
        cmocka_unit_test(test_credentials_key_forms),
        cmocka_unit_test(test_credentials_bad_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
