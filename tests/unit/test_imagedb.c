/* Unit tests for the image records: lookups as docker does them (name, name@digest, full and
 * short IDs, ambiguous prefixes), names moving between images, merging a re-pull, and the
 * atomic file surviving a reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/imagedb.h"

static char root[64];

static int setup(void **state)
{
    strcpy(root, "/tmp/berth-imagedb-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    return rm_rf_at(AT_FDCWD, root, NULL);
}

/* A record whose IDs are made from a letter: id "sha256:aaaa...", manifest "sha256:1111..." */
static struct img_record *record(char id_hex, char man_hex, const char *name,
                                 const char *repo_digest)
{
    struct img_record *r = img_record_new();
    char hex[65];
    memset(hex, id_hex, 64);
    hex[64] = 0;
    r->id = xasprintf("sha256:%s", hex);
    memset(hex, man_hex, 64);
    r->manifest = xasprintf("sha256:%s", hex);
    if (name)
        strv_append(&r->names, name);
    if (repo_digest)
        strv_append(&r->repo_digests, repo_digest);
    return r;
}

static void test_resolve(void **state)
{
    struct img_store *s = NULL;
    struct berr *err = NULL;
    assert_int_equal(img_store_open(root, &s, &err), 0);
    struct img_db *db = NULL;
    assert_int_equal(img_db_begin(s, &db, &err), 0);
    img_db_add(db, record('a', '1', "docker.io/library/busybox:latest", NULL));
    img_db_add(db, record('b', '2', "127.0.0.1:5000/app:1",
                          "127.0.0.1:5000/app@sha256:"
                          "2222222222222222222222222222222222222222222222222222222222222222"));
    /* Two IDs sharing a prefix, to make short IDs ambiguous. */
    struct img_record *c = record('c', '3', NULL, NULL);
    struct img_record *c2 = record('c', '4', NULL, NULL);
    c2->id[70] = 'd';
    img_db_add(db, c);
    img_db_add(db, c2);
    assert_int_equal(img_db_commit(db, &err), 0);
    img_db_free(db);

    assert_int_equal(img_db_load(s, &db, &err), 0);
    assert_int_equal(db->n, 4);
    struct img_record *r = NULL;
    assert_int_equal(img_db_resolve(db, "busybox", &r, &err), 0);
    assert_true(r->id[7] == 'a');
    assert_int_equal(img_db_resolve(db, "docker.io/library/busybox:latest", &r, &err), 0);
    assert_int_equal(img_db_resolve(db, "127.0.0.1:5000/app:1", &r, &err), 0);
    assert_true(r->id[7] == 'b');
    assert_int_equal(
        img_db_resolve(db,
                       "127.0.0.1:5000/app@sha256:"
                       "2222222222222222222222222222222222222222222222222222222222222222",
                       &r, &err),
        0);
    assert_true(r->id[7] == 'b');
    /* The same digest in another repository is another image (none here). */
    assert_int_equal(
        img_db_resolve(db,
                       "127.0.0.1:5000/other@sha256:"
                       "2222222222222222222222222222222222222222222222222222222222222222",
                       &r, &err),
        -1);
    assert_non_null(strstr(err->msg, "No such image"));
    assert_int_equal(err->errnum, ENOENT);
    berr_free(err);
    err = NULL;
    assert_int_equal(img_db_resolve(db, "bbbbbbbbbbbb", &r, &err), 0);
    assert_true(r->id[7] == 'b');
    assert_int_equal(img_db_resolve(db, "sha256:bbbb", &r, &err), 0);
    assert_int_equal(img_db_resolve(db, "cccc", &r, &err), -1);
    assert_non_null(strstr(err->msg, "ambiguous"));
    berr_free(err);
    err = NULL;
    assert_int_equal(img_db_resolve(db, "busybox:2", &r, &err), -1);
    berr_free(err);
    img_db_free(db);
    img_store_free(s);
}

static void test_names_move_and_merge(void **state)
{
    struct img_store *s = NULL;
    struct berr *err = NULL;
    assert_int_equal(img_store_open(root, &s, &err), 0);
    struct img_db *db = NULL;
    assert_int_equal(img_db_begin(s, &db, &err), 0);
    while (db->n > 0)
        img_db_remove(db, db->v[0]);
    struct img_record *a = img_db_add(db, record('a', '1', "x/app:1", NULL));
    struct img_record *b = img_db_add(db, record('b', '2', "x/app:2", NULL));
    /* A newer pull of x/app:1 that is image b: the name moves, a is left without names. */
    struct img_record *again = img_db_add(db, record('b', '2', "x/app:1",
                                                     "x/app@sha256:"
                                                     "22222222222222222222"
                                                     "22222222222222222222"
                                                     "222222222222222222222222"));
    assert_ptr_equal(again, b);
    assert_int_equal(db->n, 2);
    assert_null(a->names[0]);
    assert_true(strv_contains(b->names, "x/app:1") && strv_contains(b->names, "x/app:2"));
    assert_int_equal(strv_length(b->repo_digests), 1);
    img_db_tag(db, a, "x/app:2");
    assert_true(strv_contains(a->names, "x/app:2"));
    assert_false(strv_contains(b->names, "x/app:2"));
    assert_true(a->last_tagged > 0);
    assert_ptr_equal(img_db_untag(db, "x/app:2"), a);
    assert_null(a->names[0]);
    assert_null(img_db_untag(db, "x/app:9"));
    assert_int_equal(img_db_commit(db, &err), 0);
    img_db_free(db);
    img_store_free(s);
}

static void test_corrupt_file_is_reported(void **state)
{
    struct img_store *s = NULL;
    struct berr *err = NULL;
    assert_int_equal(img_store_open(root, &s, &err), 0);
    _cleanup_free_ char *p = xasprintf("%s/images/images.json", root);
    assert_int_equal(write_file_at(AT_FDCWD, p, "{\"version\":1,\"images\":[", 23, 0600, NULL), 0);
    struct img_db *db = NULL;
    assert_int_equal(img_db_load(s, &db, &err), -1);
    assert_non_null(strstr(err->msg, "corrupt"));
    berr_free(err);
    unlink(p);
    img_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_names_move_and_merge),
        cmocka_unit_test(test_corrupt_file_is_reported),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
