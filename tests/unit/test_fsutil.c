/* Unit tests for the common file and string helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

static char tmpdir[64];

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/berth-fsutil-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    return rm_rf_at(AT_FDCWD, tmpdir, NULL);
}

static void test_atomic_write_and_read(void **state)
{
    _cleanup_free_ char *p = xasprintf("%s/f", tmpdir);
    struct berr *err = NULL;
    assert_int_equal(write_file_atomic_at(AT_FDCWD, p, "hello", 5, 0600, &err), 0);
    size_t len;
    _cleanup_free_ char *s = read_file_at(AT_FDCWD, p, 100, &len, &err);
    assert_non_null(s);
    assert_int_equal(len, 5);
    assert_string_equal(s, "hello");
    /* No temporary is left beside the file. */
    DIR *d = opendir(tmpdir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        assert_null(strstr(de->d_name, "f.tmp"));
    closedir(d);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_read_cap(void **state)
{
    _cleanup_free_ char *p = xasprintf("%s/big", tmpdir);
    char buf[10000];
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(write_file_at(AT_FDCWD, p, buf, sizeof(buf), 0644, NULL), 0);
    struct berr *err = NULL;
    assert_null(read_file_at(AT_FDCWD, p, 5000, NULL, &err));
    assert_non_null(err);
    assert_int_equal(err->errnum, EFBIG);
    berr_free(err);
    err = NULL;
    _cleanup_free_ char *missing = xasprintf("%s/nope", tmpdir);
    assert_null(read_file_at(AT_FDCWD, missing, 5000, NULL, &err));
    assert_int_equal(err->errnum, ENOENT);
    assert_non_null(strstr(err->msg, "nope"));
    berr_free(err);
}

static void test_mkdir_p_and_rm_rf_no_follow(void **state)
{
    _cleanup_free_ char *deep = xasprintf("%s/a/b/c", tmpdir);
    assert_int_equal(mkdir_p(deep, 0755, NULL), 0);
    assert_int_equal(mkdir_p(deep, 0755, NULL), 0);
    /* A symlink inside the tree pointing at a directory outside must not be followed. */
    _cleanup_free_ char *outside = xasprintf("%s-outside", tmpdir);
    assert_int_equal(mkdir(outside, 0755), 0);
    _cleanup_free_ char *keep = xasprintf("%s/keep", outside);
    assert_int_equal(write_file_at(AT_FDCWD, keep, "k", 1, 0644, NULL), 0);
    _cleanup_free_ char *link = xasprintf("%s/a/b/link", tmpdir);
    assert_int_equal(symlink(outside, link), 0);
    _cleanup_free_ char *a = xasprintf("%s/a", tmpdir);
    assert_int_equal(rm_rf_at(AT_FDCWD, a, NULL), 0);
    assert_int_equal(access(a, F_OK), -1);
    assert_int_equal(access(keep, F_OK), 0);
    assert_int_equal(rm_rf_at(AT_FDCWD, outside, NULL), 0);
}

static void test_strv(void **state)
{
    char **v = NULL;
    strv_append(&v, "A=1");
    strv_append(&v, "B=2");
    strv_env_set(&v, "A=3");
    strv_env_set(&v, "C=4");
    assert_int_equal(strv_length(v), 3);
    assert_string_equal(v[0], "A=3");
    assert_true(strv_contains(v, "C=4"));
    char **d = strv_dup(v);
    assert_string_equal(d[1], "B=2");
    strv_free(d);
    strv_free(v);
}

static void test_errors_wrap(void **state)
{
    struct berr *err = NULL;
    assert_int_equal(berr_set(&err, ENOENT, "open %s", "x"), -1);
    assert_int_equal(berr_wrap(&err, "container %s", "c1"), -1);
    assert_string_equal(err->msg, "container c1: open x: No such file or directory");
    /* The first error wins: a later set does not overwrite it. */
    berr_set(&err, EINVAL, "later");
    assert_int_equal(err->errnum, ENOENT);
    berr_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomic_write_and_read),
        cmocka_unit_test(test_read_cap),
        cmocka_unit_test(test_mkdir_p_and_rm_rf_no_follow),
        cmocka_unit_test(test_strv),
        cmocka_unit_test(test_errors_wrap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
