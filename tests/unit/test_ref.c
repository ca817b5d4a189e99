/* Unit tests for image references: normalisation and formatting of the forms users type, and
 * each way a reference can be malformed, with the error naming the part that is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/ref.h"

#define HEX64  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX128 HEX64 HEX64
#define D256   "sha256:" HEX64

struct valid_case {
    const char *in;
    const char *full;     /* img_ref_string */
    const char *familiar; /* img_ref_familiar */
    const char *domain, *path, *tag, *digest;
};

static const struct valid_case valid[] = {
    {"busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io",
     "library/busybox", "latest", NULL},
    {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", "docker.io",
     "library/busybox", "1.36", NULL},
    {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io",
     "library/busybox", "latest", NULL},
    {"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io",
     "library/busybox", "latest", NULL},
    {"docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest",
     "docker.io", "library/busybox", "latest", NULL},
    {"index.docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io",
     "library/busybox", "latest", NULL},
    {"index.docker.io/me/app:v1", "docker.io/me/app:v1", "me/app:v1", "docker.io", "me/app", "v1",
     NULL},
    {"me/app", "docker.io/me/app:latest", "me/app:latest", "docker.io", "me/app", "latest", NULL},
    {"docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest", "docker.io",
     "library/a/b", "latest", NULL},
    {"localhost/app", "localhost/app:latest", "localhost/app:latest", "localhost", "app", "latest",
     NULL},
    {"localhost:5000/app:1", "localhost:5000/app:1", "localhost:5000/app:1", "localhost:5000",
     "app", "1", NULL},
    /* Without a '/', "localhost" is a name and ":5000" a tag, as in Docker. */
    {"localhost", "docker.io/library/localhost:latest", "localhost:latest", "docker.io",
     "library/localhost", "latest", NULL},
    {"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000", "docker.io",
     "library/localhost", "5000", NULL},
    {"127.0.0.1:5000/a/b/c:tag", "127.0.0.1:5000/a/b/c:tag", "127.0.0.1:5000/a/b/c:tag",
     "127.0.0.1:5000", "a/b/c", "tag", NULL},
    {"[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000/app:latest", "[::1]:5000", "app",
     "latest", NULL},
    {"[2001:db8::1]/app:v", "[2001:db8::1]/app:v", "[2001:db8::1]/app:v", "[2001:db8::1]", "app",
     "v", NULL},
    {"example.com/app@" D256, "example.com/app@" D256, "example.com/app@" D256, "example.com",
     "app", NULL, D256},
    {"busybox:latest@" D256, "docker.io/library/busybox:latest@" D256, "busybox:latest@" D256,
     "docker.io", "library/busybox", "latest", D256},
    {"busybox@" D256, "docker.io/library/busybox@" D256, "busybox@" D256, "docker.io",
     "library/busybox", NULL, D256},
    {"busybox@sha512:" HEX128, "docker.io/library/busybox@sha512:" HEX128, "busybox@sha512:" HEX128,
     "docker.io", "library/busybox", NULL, "sha512:" HEX128},
    {"Foo.Example.com/bar", "Foo.Example.com/bar:latest", "Foo.Example.com/bar:latest",
     "Foo.Example.com", "bar", "latest", NULL},
    /* An uppercase first component cannot be a namespace, so Docker takes it as a registry. */
    {"Upper/app", "Upper/app:latest", "Upper/app:latest", "Upper", "app", "latest", NULL},
    {"me/a.b-c_d__e---f9", "docker.io/me/a.b-c_d__e---f9:latest", "me/a.b-c_d__e---f9:latest",
     "docker.io", "me/a.b-c_d__e---f9", "latest", NULL},
    {"ghcr.io/o/r:v1.2.3-rc_1", "ghcr.io/o/r:v1.2.3-rc_1", "ghcr.io/o/r:v1.2.3-rc_1", "ghcr.io",
     "o/r", "v1.2.3-rc_1", NULL},
    {"me/app:_TAG.x-y", "docker.io/me/app:_TAG.x-y", "me/app:_TAG.x-y", "docker.io", "me/app",
     "_TAG.x-y", NULL},
    {"my-registry.local:443/team/sub/app:2", "my-registry.local:443/team/sub/app:2",
     "my-registry.local:443/team/sub/app:2", "my-registry.local:443", "team/sub/app", "2", NULL},
    /* "sha256:<hex>" is a name with a 64-character tag; ID lookups come before parsing. */
    {"sha256:" HEX64, "docker.io/library/sha256:" HEX64, "sha256:" HEX64, "docker.io",
     "library/sha256", HEX64, NULL},
    /* Shortening these would turn the first path component into a registry. */
    {"docker.io/a.b/c", "docker.io/a.b/c:latest", "docker.io/a.b/c:latest", "docker.io", "a.b/c",
     "latest", NULL},
    {"docker.io/localhost/c", "docker.io/localhost/c:latest", "docker.io/localhost/c:latest",
     "docker.io", "localhost/c", "latest", NULL},
    {"0123abc", "docker.io/library/0123abc:latest", "0123abc:latest", "docker.io",
     "library/0123abc", "latest", NULL},
};

static void check_valid(const struct valid_case *c)
{
    struct berr *err = NULL;
    _cleanup_ref_ struct img_ref *r = NULL;
    if (img_ref_parse(c->in, &r, &err) < 0)
        fail_msg("\"%s\" refused: %s", c->in, err->msg);
    assert_null(err);
    _cleanup_free_ char *full = img_ref_string(r);
    _cleanup_free_ char *fam = img_ref_familiar(r);
    if (strcmp(full, c->full) != 0 || strcmp(fam, c->familiar) != 0)
        fail_msg("\"%s\": got %s / %s, want %s / %s", c->in, full, fam, c->full, c->familiar);
    assert_string_equal(r->domain, c->domain);
    assert_string_equal(r->path, c->path);
    if (c->tag)
        assert_string_equal(r->tag, c->tag);
    else
        assert_null(r->tag);
    if (c->digest)
        assert_string_equal(r->digest, c->digest);
    else
        assert_null(r->digest);

    /* Both printed forms read back as the same reference. */
    const char *forms[] = {full, fam};
    for (size_t i = 0; i < 2; i++) {
        _cleanup_ref_ struct img_ref *again = NULL;
        assert_int_equal(img_ref_parse(forms[i], &again, NULL), 0);
        _cleanup_free_ char *s = img_ref_string(again);
        assert_string_equal(s, full);
    }
}

static void test_valid(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(valid); i++)
        check_valid(&valid[i]);
}

struct invalid_case {
    const char *in;
    const char *needle;
};

static const struct invalid_case invalid[] = {
    {"", "repository name must have at least one component"},
    {"Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"},
    {"me/App:1", "repository name (me/App) must be lowercase"},
    {"localhost:5000/Foo", "repository name (Foo) must be lowercase"},
    {HEX64, "invalid repository name (" HEX64 "), cannot specify 64-byte hexadecimal strings"},
    {"busybox:", "invalid reference format: \"busybox:\": tag \"\""},
    {"busybox::latest", "tag \":latest\""},
    {"busybox:.tag", "tag \".tag\""},
    {"busybox:-tag", "tag \"-tag\""},
    {"busybox:a/b", "registry \"busybox:a\""},
    {"busybox:t@g", "is not algorithm:hex"},
    {"busybox:tag!", "tag \"tag!\""},
    {"busybox@sha256:abc", "digest \"sha256:abc\" is not algorithm:hex"},
    {"busybox@", "digest \"\""},
    {"busybox@sha256:" HEX64 "@x", "is not algorithm:hex"},
    {"busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
     "not a lowercase hex digit"},
    {"busybox@md5:0123456789abcdef0123456789abcdef", "unsupported algorithm"},
    {"busybox@sha256:" HEX64 "00", "needs 64 hex digits"},
    {"-busybox", "component \"-busybox\""},
    {"busybox-", "component \"busybox-\""},
    {"me/a..b", "component \"a..b\""},
    {"me/a___b", "component \"a___b\""},
    {"me/a_-b", "component \"a_-b\""},
    {"me/a.-b", "component \"a.-b\""},
    {"me/", "has an empty component"},
    {"/app", "has an empty component"},
    {"me//app", "has an empty component"},
    {"a b", "component \"a b\""},
    {"me/caf\xc3\xa9", "component"},
    {"localhost:abc/app", "registry \"localhost:abc\""},
    {"localhost:/app", "registry \"localhost:\""},
    {"-bad.com/app", "registry \"-bad.com\""},
    {"bad-.com/app", "registry \"bad-.com\""},
    {"bad_.com/app", "registry \"bad_.com\""},
    {"a..com/app", "registry \"a..com\""},
    {"[::1/app", "registry \"[::1\""},
    {"[]:5000/app", "registry \"[]:5000\""},
    {"[::g]/app", "registry \"[::g]\""},
    {":tag", "the repository name is empty"},
    {"@" D256, "the repository name is empty"},
    {"busybox:tag@", "digest \"\""},
};

static void test_invalid(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
        const struct invalid_case *c = &invalid[i];
        struct berr *err = NULL;
        struct img_ref *r = (struct img_ref *)1;
        if (img_ref_parse(c->in, &r, &err) == 0)
            fail_msg("\"%s\" accepted", c->in);
        assert_null(r);
        assert_non_null(err);
        if (strstr(err->msg, c->needle) == NULL)
            fail_msg("\"%s\": error \"%s\" lacks \"%s\"", c->in, err->msg, c->needle);
        if (strstr(err->msg, "invalid") == NULL)
            fail_msg("\"%s\": error \"%s\" does not say invalid", c->in, err->msg);
        berr_free(err);
    }
    /* A NULL error pointer is allowed: callers that only test validity. */
    struct img_ref *r = NULL;
    assert_int_equal(img_ref_parse("UPPER", &r, NULL), -1);
    assert_int_equal(img_ref_parse(NULL, &r, NULL), -1);
}

static void test_messages_quote_input(void **state)
{
    struct berr *err = NULL;
    struct img_ref *r = NULL;
    assert_int_equal(img_ref_parse("foo:bar:baz", &r, &err), -1);
    assert_string_equal(err->msg,
                        "invalid reference format: \"foo:bar:baz\": tag \"bar:baz\" must be 1 to "
                        "128 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
    berr_free(err);
}

static char *repeat(char c, size_t n)
{
    char *s = xmalloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_lengths(void **state)
{
    /* "docker.io/library/" is 18 characters; the limit is on the normalised name. */
    _cleanup_free_ char *name237 = repeat('a', 237);
    _cleanup_free_ char *name238 = repeat('a', 238);
    struct img_ref *r = NULL;
    struct berr *err = NULL;
    assert_int_equal(img_ref_parse(name237, &r, &err), 0);
    img_ref_free(r);
    assert_int_equal(img_ref_parse(name238, &r, &err), -1);
    assert_non_null(strstr(err->msg, "must not be more than 255 characters"));
    berr_free(err);
    err = NULL;

    _cleanup_free_ char *t128 = repeat('t', 128);
    _cleanup_free_ char *t129 = repeat('t', 129);
    _cleanup_free_ char *ok = xasprintf("busybox:%s", t128);
    _cleanup_free_ char *bad = xasprintf("busybox:%s", t129);
    assert_int_equal(img_ref_parse(ok, &r, NULL), 0);
    assert_string_equal(r->tag, t128);
    img_ref_free(r);
    assert_int_equal(img_ref_parse(bad, &r, &err), -1);
    assert_non_null(strstr(err->msg, "must be 1 to 128"));
    berr_free(err);
}

static void test_parse_repo(void **state)
{
    _cleanup_ref_ struct img_ref *r = NULL;
    assert_int_equal(img_ref_parse_repo("me/app", &r, NULL), 0);
    assert_null(r->tag);
    assert_null(r->digest);
    _cleanup_free_ char *s = img_ref_string(r);
    assert_string_equal(s, "docker.io/me/app");
    _cleanup_ref_ struct img_ref *t = NULL;
    assert_int_equal(img_ref_parse_repo("me/app:v2", &t, NULL), 0);
    assert_string_equal(t->tag, "v2");
    struct img_ref *bad = NULL;
    assert_int_equal(img_ref_parse_repo("Me/app/X", &bad, NULL), -1);
}

static void test_repo_strings_and_dup(void **state)
{
    _cleanup_ref_ struct img_ref *r = NULL;
    assert_int_equal(img_ref_parse("busybox@" D256, &r, NULL), 0);
    _cleanup_free_ char *repo = img_ref_repo(r);
    _cleanup_free_ char *fam = img_ref_familiar_repo(r);
    assert_string_equal(repo, "docker.io/library/busybox");
    assert_string_equal(fam, "busybox");
    _cleanup_ref_ struct img_ref *d = img_ref_dup(r);
    assert_string_equal(d->digest, D256);
    assert_null(d->tag);
    assert_ptr_not_equal(d->path, r->path);

    _cleanup_ref_ struct img_ref *o = NULL;
    assert_int_equal(img_ref_parse("quay.io/a/b:c", &o, NULL), 0);
    _cleanup_free_ char *ofam = img_ref_familiar_repo(o);
    assert_string_equal(ofam, "quay.io/a/b");
}

static void test_looks_like_id(void **state)
{
    /* A 64-hex repository is a valid name when tagged; its bare familiar form is an ID. */
    _cleanup_ref_ struct img_ref *r = NULL;
    assert_int_equal(img_ref_parse(HEX64 ":a", &r, NULL), 0);
    _cleanup_free_ char *fam = img_ref_familiar_repo(r);
    assert_string_equal(fam, HEX64);
    assert_true(img_ref_looks_like_id(fam));

    assert_true(img_ref_looks_like_id(HEX64));
    assert_true(img_ref_looks_like_id("sha256:" HEX64));
    assert_false(img_ref_looks_like_id("sha512:" HEX64));
    assert_false(img_ref_looks_like_id("0123456789ab"));
    assert_false(img_ref_looks_like_id(HEX64 "0"));
    assert_false(img_ref_looks_like_id("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789"
                                       "abcdef"));
    assert_false(img_ref_looks_like_id("busybox"));
    assert_false(img_ref_looks_like_id(""));
    assert_false(img_ref_looks_like_id(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_messages_quote_input),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_parse_repo),
        cmocka_unit_test(test_repo_strings_and_dup),
        cmocka_unit_test(test_looks_like_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
