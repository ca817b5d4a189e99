/* Unit tests for writable-layer diffs: a two-layer image (whiteout and opaque directory in the
 * upper layer) is unpacked into a real store with each snapshot driver, a container's upper
 * directory is made by hand (overlay: whiteout devices and opaque xattrs; copy: the driver's
 * full copy, then edited), and the change list, the layer tar and the committed image are
 * checked. Needs root (device nodes, trusted.* xattrs, the copy driver's bind mount). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/archive.h"
#include "image/diff.h"
#include "image/imagedb.h"
#include "image/snapshot.h"
#include "image/store.h"

#define T0 1234567890

/* ---- layers built in memory ---- */

struct tb {
    struct archive *a;
    unsigned char *p;
    size_t len, cap;
};

static la_ssize_t tb_write(struct archive *a, void *data, const void *d, size_t n)
{
    struct tb *t = data;
    if (t->len + n > t->cap) {
        t->cap = (t->len + n) * 2 + 4096;
        t->p = xrealloc(t->p, t->cap);
    }
    memcpy(t->p + t->len, d, n);
    t->len += n;
    return (la_ssize_t)n;
}

static void tb_init(struct tb *t)
{
    *t = (struct tb){.a = archive_write_new()};
    assert_int_equal(archive_write_set_format_pax(t->a), ARCHIVE_OK);
    assert_int_equal(archive_write_open(t->a, t, NULL, tb_write, NULL), ARCHIVE_OK);
}

static void tb_add(struct tb *t, const char *name, mode_t type, const char *data)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_mtime(e, T0, 0);
    archive_entry_set_size(e, data ? (la_int64_t)strlen(data) : 0);
    assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
    if (data)
        assert_int_equal(archive_write_data(t->a, data, strlen(data)), (la_ssize_t)strlen(data));
    archive_entry_free(e);
}

/* Closes the tar and returns a memfd holding it, at offset 0. */
static int tb_fd(struct tb *t, char diff_id[IMG_DIGEST_MAX])
{
    assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
    archive_write_free(t->a);
    img_digest_buf(t->p, t->len, diff_id);
    int fd = memfd_create("layer", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write_all(fd, t->p, t->len), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    free(t->p);
    return fd;
}

/* ---- fixture: a store, a two-layer image, an upper directory ---- */

struct fx {
    char dir[64];
    char *upper, *work, *target;
    struct img_store *s;
    struct img_snapshotter *sn;
    bool copy;
    char diff1[IMG_DIGEST_MAX], diff2[IMG_DIGEST_MAX];
    char chain1[IMG_DIGEST_MAX], chain2[IMG_DIGEST_MAX];
};

static const char *const ignore[] = {"/proc", "/etc/hosts", "/run/secrets/x", NULL};

static void layer1(struct tb *t)
{
    tb_init(t);
    tb_add(t, "a", AE_IFDIR, NULL);
    tb_add(t, "a/f1", AE_IFREG, "one\n");
    tb_add(t, "a/f2", AE_IFREG, "two\n");
    tb_add(t, "b", AE_IFDIR, NULL);
    tb_add(t, "b/x", AE_IFREG, "x\n");
    tb_add(t, "c", AE_IFREG, "c\n");
    tb_add(t, "d", AE_IFDIR, NULL);
    tb_add(t, "d/old", AE_IFREG, "hidden by layer 2\n");
}

static int setup(void **state, bool copy)
{
    *state = NULL;
    if (geteuid() != 0)
        return 0; /* each test skips */
    struct fx *f = xzalloc(sizeof(*f));
    f->copy = copy;
    strcpy(f->dir, "/tmp/berth-diff-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    _cleanup_free_ char *store = xasprintf("%s/store", f->dir);
    f->upper = xasprintf("%s/upper", f->dir);
    f->work = xasprintf("%s/work", f->dir);
    f->target = xasprintf("%s/rootfs", f->dir);
    assert_int_equal(mkdir(f->upper, 0755), 0);
    assert_int_equal(mkdir(f->work, 0700), 0);
    assert_int_equal(mkdir(f->target, 0755), 0);
    struct berr *err = NULL;
    assert_int_equal(img_store_open(store, &f->s, &err), 0);
    assert_int_equal(img_snap_open(f->s, copy ? "copy" : "overlay", &f->sn, &err), 0);

    struct tb t;
    layer1(&t);
    _cleanup_close_ int fd1 = tb_fd(&t, f->diff1);
    snprintf(f->chain1, sizeof(f->chain1), "%s", f->diff1);
    assert_int_equal(img_snap_unpack(f->sn, NULL, f->chain1, f->diff1, fd1, NULL, &err), 0);

    tb_init(&t);
    tb_add(&t, "a", AE_IFDIR, NULL);
    tb_add(&t, "a/.wh.f2", AE_IFREG, NULL);
    tb_add(&t, "d", AE_IFDIR, NULL);
    tb_add(&t, "d/.wh..wh..opq", AE_IFREG, NULL);
    tb_add(&t, "d/new", AE_IFREG, "new\n");
    tb_add(&t, "n", AE_IFREG, "from layer 2\n");
    _cleanup_close_ int fd2 = tb_fd(&t, f->diff2);
    _cleanup_free_ char *pair = xasprintf("%s %s", f->chain1, f->diff2);
    img_digest_buf(pair, strlen(pair), f->chain2);
    assert_int_equal(img_snap_unpack(f->sn, f->chain1, f->chain2, f->diff2, fd2, NULL, &err), 0);
    if (copy) {
        assert_int_equal(img_snap_mount_rw(f->sn, f->chain2, f->upper, f->work, f->target, &err),
                         0);
        umount2(f->target, MNT_DETACH);
    }
    *state = f;
    return 0;
}

static int setup_overlay(void **state)
{
    return setup(state, false);
}

static int setup_copy(void **state)
{
    return setup(state, true);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f == NULL)
        return 0;
    img_snap_close(f->sn);
    img_store_free(f->s);
    rm_rf_at(AT_FDCWD, f->dir, NULL);
    free(f->upper);
    free(f->work);
    free(f->target);
    free(f);
    return 0;
}

static void put(struct fx *f, const char *rel, const char *data)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", f->upper, rel);
    if (data == NULL) {
        assert_int_equal(mkdir(p, 0755), 0);
        assert_int_equal(chmod(p, 0755), 0);
        return;
    }
    assert_int_equal(write_file_at(AT_FDCWD, p, data, strlen(data), 0644, NULL), 0);
    assert_int_equal(chmod(p, 0644), 0);
}

static void whiteout(struct fx *f, const char *rel)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", f->upper, rel);
    assert_int_equal(mknod(p, S_IFCHR | 0600, makedev(0, 0)), 0);
}

static void gone(struct fx *f, const char *rel)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", f->upper, rel);
    assert_int_equal(unlink(p), 0);
}

/* The same container history in each driver's terms: a/f2 back (layer 2 removed it), b/x
 * rewritten, c removed, d emptied of what the image shows and given y, e new with a hard link
 * and an xattr, a placeholder /proc, a whiteout of a name the image never had. */
static void make_changes(struct fx *f)
{
    if (!f->copy) {
        put(f, "a", NULL);
        put(f, "b", NULL);
        whiteout(f, "c");
        put(f, "d", NULL);
        _cleanup_free_ char *d = xasprintf("%s/d", f->upper);
        assert_int_equal(setxattr(d, "trusted.overlay.opaque", "y", 1, 0), 0);
        whiteout(f, "zzz");
    } else {
        gone(f, "c");
        gone(f, "d/new");
    }
    put(f, "a/f2", "two again\n");
    put(f, "b/x", "x rewritten\n");
    put(f, "d/y", "y\n");
    put(f, "e", NULL);
    put(f, "e/1", "hard\n");
    _cleanup_free_ char *e1 = xasprintf("%s/e/1", f->upper);
    _cleanup_free_ char *e2 = xasprintf("%s/e/2", f->upper);
    assert_int_equal(link(e1, e2), 0);
    assert_int_equal(setxattr(e1, "user.berth", "v", 1, 0), 0);
    put(f, "proc", NULL);
    put(f, "proc/self", "placeholder\n");
    /* new directories made only to hold mount points are not changes; with more in them,
     * they are added */
    put(f, "etc", NULL);
    put(f, "etc/hosts", "");
    put(f, "run", NULL);
    put(f, "run/secrets", NULL);
    put(f, "run/secrets/x", "");
    put(f, "run/secrets/real", "real\n");
}

static const char *const expected[] = {
    "C /a",   "A /a/f2", "C /b",   "C /b/x", "D /c",   "C /d",           "D /d/new",
    "A /d/y", "A /e",    "A /e/1", "A /e/2", "A /run", "A /run/secrets", "A /run/secrets/real",
};

static void check_changes(struct fx *f)
{
    struct img_rw_layer l = {.upper = f->upper, .chain_id = f->chain2, .ignore = ignore};
    struct img_changes *c = NULL;
    struct berr *err = NULL;
    assert_int_equal(img_diff_changes(f->sn, &l, &c, &err), 0);
    if (c->n != ARRAY_SIZE(expected)) {
        for (size_t i = 0; i < c->n; i++)
            fprintf(stderr, "got: %c %s\n", "CAD"[c->v[i].kind], c -> v[i].path);
    }
    assert_int_equal(c->n, ARRAY_SIZE(expected));
    for (size_t i = 0; i < c->n; i++) {
        char line[256];
        snprintf(line, sizeof(line), "%c %s", "CAD"[c->v[i].kind], c -> v[i].path);
        assert_string_equal(line, expected[i]);
    }
    img_changes_free(c);
}

static void test_unchanged_is_empty(void **state)
{
    struct fx *f = *state;
    if (f == NULL)
        skip();
    put(f, "proc", NULL); /* a mount point the image lacks is no change */
    struct img_rw_layer l = {.upper = f->upper, .chain_id = f->chain2, .ignore = ignore};
    struct img_changes *c = NULL;
    struct berr *err = NULL;
    assert_int_equal(img_diff_changes(f->sn, &l, &c, &err), 0);
    assert_int_equal(c->n, 0);
    img_changes_free(c);
    struct img_layer_blob b;
    assert_int_equal(img_diff_layer(f->s, f->sn, &l, &b, &err), 0);
}

static void test_changes(void **state)
{
    struct fx *f = *state;
    if (f == NULL)
        skip();
    make_changes(f);
    check_changes(f);
}

/* Reads a stored gzip layer back: its tar's digest and its entries in order. */
static void read_layer(struct fx *f, const struct img_layer_blob *b)
{
    struct berr *err = NULL;
    size_t len = 0;
    _cleanup_free_ char *gz = img_blob_read(f->s, b->digest, 1 << 20, &len, &err);
    assert_non_null(gz);
    assert_true(len >= 2 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
    struct archive *raw = archive_read_new();
    archive_read_support_filter_gzip(raw);
    archive_read_support_format_raw(raw);
    assert_int_equal(archive_read_open_memory(raw, gz, len), ARCHIVE_OK);
    struct archive_entry *e;
    assert_int_equal(archive_read_next_header(raw, &e), ARCHIVE_OK);
    _cleanup_free_ char *tar = xmalloc(1 << 20);
    la_ssize_t n, tlen = 0;
    while ((n = archive_read_data(raw, tar + tlen, (1 << 20) - (size_t)tlen)) > 0)
        tlen += n;
    archive_read_free(raw);
    char diff[IMG_DIGEST_MAX];
    img_digest_buf(tar, (size_t)tlen, diff);
    assert_string_equal(diff, b->diff_id);

    static const char *const names[] = {
        "a",   "a/f2", "b",   "b/x", ".wh.c", "d",           "d/.wh.new",
        "d/y", "e",    "e/1", "e/2", "run",   "run/secrets", "run/secrets/real"};
    struct archive *t = archive_read_new();
    archive_read_support_format_tar(t);
    assert_int_equal(archive_read_open_memory(t, tar, (size_t)tlen), ARCHIVE_OK);
    size_t i = 0;
    while (archive_read_next_header(t, &e) == ARCHIVE_OK) {
        const char *p = archive_entry_pathname(e);
        size_t plen = strlen(p);
        _cleanup_free_ char *clean = xstrndup(p, plen && p[plen - 1] == '/' ? plen - 1 : plen);
        assert_true(i < ARRAY_SIZE(names));
        assert_string_equal(clean, names[i]);
        if (strcmp(clean, "e/2") == 0)
            assert_string_equal(archive_entry_hardlink(e), "e/1");
        if (strcmp(clean, "e/1") == 0) {
            const char *xn;
            const void *xv;
            size_t xs;
            /* once per pax spelling (SCHILY.xattr, LIBARCHIVE.xattr) */
            assert_true(archive_entry_xattr_reset(e) >= 1);
            while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
                assert_string_equal(xn, "user.berth");
                assert_memory_equal(xv, "v", xs);
            }
        }
        if (strcmp(clean, "d") == 0)
            assert_int_equal(archive_entry_xattr_reset(e), 0); /* no trusted.overlay.* */
        if (strcmp(clean, "b/x") == 0)
            assert_int_equal(archive_entry_size(e), strlen("x rewritten\n"));
        i++;
    }
    assert_int_equal(i, ARRAY_SIZE(names));
    archive_read_free(t);
}

static void test_layer_tar(void **state)
{
    struct fx *f = *state;
    if (f == NULL)
        skip();
    make_changes(f);
    struct img_rw_layer l = {.upper = f->upper, .chain_id = f->chain2, .ignore = ignore};
    struct img_layer_blob b;
    struct berr *err = NULL;
    assert_int_equal(img_diff_layer(f->s, f->sn, &l, &b, &err), 1);
    assert_true(b.size > 0);
    read_layer(f, &b);
}

static void test_commit(void **state)
{
    struct fx *f = *state;
    if (f == NULL)
        skip();
    /* a parent image the store knows: layer 1 imported, so its chain is chain1 */
    struct tb t;
    layer1(&t);
    char diff[IMG_DIGEST_MAX];
    _cleanup_close_ int fd = tb_fd(&t, diff);
    struct img_import_opts io = {.name = "base:1"};
    struct img_record *parent = NULL;
    struct berr *err = NULL;
    assert_int_equal(img_import(f->s, f->sn, fd, &io, &parent, &err), 0);
    assert_string_equal(parent->layers[0].chain_id, f->chain1);

    put(f, "added", "added\n");
    struct img_rw_layer l = {.upper = f->upper, .chain_id = f->chain2, .ignore = ignore};
    _cleanup_json_ json_t *cfg = json_pack("{s:[s]}", "Cmd", "cat");
    struct img_commit_opts o = {.parent = parent->id,
                                .config = cfg,
                                .author = "me",
                                .comment = "why",
                                .created_by = "sh -c x",
                                .name = "docker.io/library/new:1"};
    char id[IMG_DIGEST_MAX];
    /* the layer must sit on the parent's top snapshot */
    assert_int_equal(img_commit(f->s, f->sn, &l, &o, id, &err), -1);
    assert_int_equal(err->errnum, EINVAL);
    berr_free(steal_ptr(&err));
    l.chain_id = f->chain1;
    assert_int_equal(img_commit(f->s, f->sn, &l, &o, id, &err), 0);

    struct img_db *db = NULL;
    assert_int_equal(img_db_load(f->s, &db, &err), 0);
    struct img_record *r = img_db_get(db, id);
    assert_non_null(r);
    assert_ptr_equal(img_db_by_name(db, "docker.io/library/new:1"), r);
    assert_int_equal(r->n_layers, 2);
    assert_string_equal(r->layers[1].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
    assert_true(img_snap_exists(f->sn, r->layers[1].chain_id));
    _cleanup_free_ char *fs =
        xasprintf("%s/store/snapshots/%s/fs/added", f->dir, img_digest_hex(r->layers[1].chain_id));
    assert_int_equal(access(fs, F_OK), 0);
    size_t len = 0;
    _cleanup_free_ char *text = img_blob_read(f->s, id, 1 << 20, &len, &err);
    _cleanup_json_ json_t *root = json_loadb(text, len, 0, NULL);
    assert_non_null(root);
    json_t *hist = json_object_get(root, "history");
    assert_int_equal(json_array_size(hist), 2);
    json_t *last = json_array_get(hist, 1);
    assert_string_equal(json_string_value(json_object_get(last, "comment")), "why");
    assert_string_equal(json_string_value(json_object_get(last, "author")), "me");
    assert_string_equal(json_string_value(json_object_get(last, "created_by")), "sh -c x");
    assert_null(json_object_get(last, "empty_layer"));
    json_t *ids = json_object_get(json_object_get(root, "rootfs"), "diff_ids");
    assert_int_equal(json_array_size(ids), 2);
    assert_string_equal(json_string_value(json_array_get(ids, 1)), r->layers[1].diff_id);
    assert_true(json_equal(json_object_get(root, "config"), cfg));
    img_db_free(db);

    /* nothing changed: no new layer, and the history says so */
    gone(f, "added");
    assert_int_equal(img_commit(f->s, f->sn, &l, &o, id, &err), 0);
    assert_int_equal(img_db_load(f->s, &db, &err), 0);
    r = img_db_get(db, id);
    assert_int_equal(r->n_layers, 1);
    img_db_free(db);
    img_record_free(parent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unchanged_is_empty, setup_overlay, teardown),
        cmocka_unit_test_setup_teardown(test_unchanged_is_empty, setup_copy, teardown),
        cmocka_unit_test_setup_teardown(test_changes, setup_overlay, teardown),
        cmocka_unit_test_setup_teardown(test_changes, setup_copy, teardown),
        cmocka_unit_test_setup_teardown(test_layer_tar, setup_overlay, teardown),
        cmocka_unit_test_setup_teardown(test_layer_tar, setup_copy, teardown),
        cmocka_unit_test_setup_teardown(test_commit, setup_overlay, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
