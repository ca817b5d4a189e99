/* Unit tests for the content store: verified writes, resume of a partial ingest, the lock that
 * makes a second writer of the same blob wait and then find it stored, and scratch sweeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/store.h"

static char root[64];

static int setup(void **state)
{
    strcpy(root, "/tmp/berth-store-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    return rm_rf_at(AT_FDCWD, root, NULL);
}

static struct img_store *open_store(void)
{
    struct img_store *s = NULL;
    struct berr *err = NULL;
    if (img_store_open(root, &s, &err) < 0)
        fail_msg("%s", err->msg);
    return s;
}

static void test_put_read_verify(void **state)
{
    _cleanup_(img_store_freep) struct img_store *s = open_store();
    char d[IMG_DIGEST_MAX], want[IMG_DIGEST_MAX];
    img_digest_buf("hello", 5, want);
    struct berr *err = NULL;
    assert_int_equal(img_blob_put(s, "hello", 5, NULL, d, &err), 0);
    assert_string_equal(d, want);
    assert_true(img_blob_exists(s, want));
    size_t len = 0;
    _cleanup_free_ char *back = img_blob_read(s, want, 100, &len, &err);
    assert_non_null(back);
    assert_int_equal(len, 5);
    /* The wrong expected digest is refused and leaves nothing. */
    char other[IMG_DIGEST_MAX];
    img_digest_buf("other", 5, other);
    assert_int_equal(img_blob_put(s, "hellx", 5, other, NULL, &err), -1);
    assert_non_null(strstr(err->msg, "digest mismatch"));
    berr_free(err);
    err = NULL;
    assert_false(img_blob_exists(s, other));
    /* A blob corrupted on disk is caught when read. */
    _cleanup_free_ char *path = img_blob_path(s, want);
    assert_int_equal(write_file_at(AT_FDCWD, path, "jello", 5, 0644, NULL), 0);
    assert_null(img_blob_read(s, want, 100, NULL, &err));
    assert_non_null(strstr(err->msg, "corrupt"));
    berr_free(err);
    assert_int_equal(img_blob_delete(s, want, NULL), 0);
    assert_false(img_blob_exists(s, want));
}

static void test_invalid_digests(void **state)
{
    _cleanup_(img_store_freep) struct img_store *s = open_store();
    struct berr *err = NULL;
    struct img_blob_writer *w = NULL;
    assert_int_equal(img_blob_writer_open(s, "sha256:../../etc", -1, &w, &err), -1);
    berr_free(err);
    err = NULL;
    assert_int_equal(img_blob_open(s, "md5:abc", &err), -1);
    berr_free(err);
    assert_false(img_blob_exists(s, "sha256:ABC"));
}

static void test_resume_partial(void **state)
{
    _cleanup_(img_store_freep) struct img_store *s = open_store();
    char data[10000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)(i * 7);
    char d[IMG_DIGEST_MAX];
    img_digest_buf(data, sizeof(data), d);
    struct berr *err = NULL;
    struct img_blob_writer *w = NULL;
    assert_int_equal(img_blob_writer_open(s, d, sizeof(data), &w, &err), 0);
    assert_int_equal(img_blob_writer_offset(w), 0);
    assert_int_equal(img_blob_writer_write(w, data, 4000, &err), 0);
    img_blob_writer_abort(w, true);
    assert_false(img_blob_exists(s, d));

    assert_int_equal(img_blob_writer_open(s, d, sizeof(data), &w, &err), 0);
    assert_int_equal(img_blob_writer_offset(w), 4000);
    assert_int_equal(img_blob_writer_write(w, data + 4000, sizeof(data) - 4000, &err), 0);
    /* More than the declared size is refused before it is written. */
    assert_int_equal(img_blob_writer_write(w, "x", 1, &err), -1);
    berr_free(err);
    err = NULL;
    char got[IMG_DIGEST_MAX];
    if (img_blob_writer_commit(w, got, &err) < 0)
        fail_msg("%s", err->msg);
    assert_string_equal(got, d);
    /* Opening again: already stored. */
    assert_int_equal(img_blob_writer_open(s, d, sizeof(data), &w, &err), 1);
    assert_null(w);
}

static void test_bad_partial_is_dropped(void **state)
{
    _cleanup_(img_store_freep) struct img_store *s = open_store();
    char d[IMG_DIGEST_MAX];
    img_digest_buf("abcdef", 6, d);
    struct berr *err = NULL;
    struct img_blob_writer *w = NULL;
    assert_int_equal(img_blob_writer_open(s, d, 6, &w, &err), 0);
    assert_int_equal(img_blob_writer_write(w, "xyz", 3, &err), 0);
    img_blob_writer_abort(w, true);
    /* Resuming after a wrong prefix fails the digest check and removes the partial... */
    assert_int_equal(img_blob_writer_open(s, d, 6, &w, &err), 0);
    assert_int_equal(img_blob_writer_offset(w), 3);
    assert_int_equal(img_blob_writer_write(w, "def", 3, &err), 0);
    assert_int_equal(img_blob_writer_commit(w, NULL, &err), -1);
    berr_free(err);
    err = NULL;
    /* ...so the retry starts clean and succeeds. */
    assert_int_equal(img_blob_writer_open(s, d, 6, &w, &err), 0);
    assert_int_equal(img_blob_writer_offset(w), 0);
    assert_int_equal(img_blob_writer_write(w, "abcdef", 6, &err), 0);
    assert_int_equal(img_blob_writer_commit(w, NULL, &err), 0);
}

struct second_writer {
    struct img_store *s;
    const char *digest;
    int result;
};

static void *second_writer_thread(void *arg)
{
    struct second_writer *sw = arg;
    struct img_blob_writer *w = NULL;
    sw->result = img_blob_writer_open(sw->s, sw->digest, 3, &w, NULL);
    if (w)
        img_blob_writer_abort(w, true);
    return NULL;
}

static void test_second_writer_waits(void **state)
{
    _cleanup_(img_store_freep) struct img_store *s = open_store();
    char d[IMG_DIGEST_MAX];
    img_digest_buf("abc", 3, d);
    struct img_blob_writer *w = NULL;
    assert_int_equal(img_blob_writer_open(s, d, 3, &w, NULL), 0);
    struct second_writer sw = {s, d, -2};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, second_writer_thread, &sw), 0);
    usleep(100 * 1000);
    assert_int_equal(sw.result, -2); /* still waiting for our lock */
    assert_int_equal(img_blob_writer_write(w, "abc", 3, NULL), 0);
    assert_int_equal(img_blob_writer_commit(w, NULL, NULL), 0);
    pthread_join(t, NULL);
    assert_int_equal(sw.result, 1);
}

static void test_scratch_and_sweep(void **state)
{
    struct img_store *s = open_store();
    struct img_scratch *held = NULL, *dropped = NULL;
    assert_int_equal(img_scratch_new(s, "snapshots/tmp", &held, NULL), 0);
    assert_int_equal(img_scratch_new(s, "snapshots/tmp", &dropped, NULL), 0);
    /* A killed process: its directory stays, its lock goes. */
    _cleanup_free_ char *dropped_path = xstrdup(dropped->path);
    close(dropped->fd);
    dropped->fd = -1;
    free(dropped->path);
    free(dropped->name);
    free(dropped);
    struct img_store *s2 = open_store();
    assert_int_equal(access(held->path, F_OK), 0);
    assert_int_equal(access(dropped_path, F_OK), -1);
    _cleanup_free_ char *held_path = xstrdup(held->path);
    img_scratch_free(held);
    assert_int_equal(access(held_path, F_OK), -1);
    img_store_free(s2);
    img_store_free(s);
}

static void test_list(void **state)
{
    _cleanup_(img_store_freep) struct img_store *s = open_store();
    char a[IMG_DIGEST_MAX], b[IMG_DIGEST_MAX];
    assert_int_equal(img_blob_put(s, "a", 1, NULL, a, NULL), 0);
    assert_int_equal(img_blob_put(s, "b", 1, NULL, b, NULL), 0);
    _cleanup_strv_ char **all = img_blob_list(s, NULL);
    assert_non_null(all);
    assert_true(strv_contains(all, a));
    assert_true(strv_contains(all, b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_read_verify),   cmocka_unit_test(test_invalid_digests),
        cmocka_unit_test(test_resume_partial),    cmocka_unit_test(test_bad_partial_is_dropped),
        cmocka_unit_test(test_second_writer_waits), cmocka_unit_test(test_scratch_and_sweep),
        cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
