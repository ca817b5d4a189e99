/* Unit tests for layer unpacking: tar streams are built in memory with libarchive's writer, fed
 * through a pipe, and the result is checked on disk; hostile layers must fail with a message
 * naming the entry and leave the sentinel directory next to the destination untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/unpack.h"

#define T0 1234567890 /* a fixed mtime for entries */

struct buf {
    unsigned char *p;
    size_t len, cap;
};

static void buf_add(struct buf *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 4096;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void buf_freep(struct buf *b)
{
    free(b->p);
    *b = (struct buf){0};
}

static la_ssize_t buf_write_cb(struct archive *a, void *data, const void *d, size_t n)
{
    buf_add(data, d, n);
    return (la_ssize_t)n;
}

/* A pax tar being written into memory. */
struct tb {
    struct archive *a;
    struct buf out;
};

static void tb_init(struct tb *t)
{
    *t = (struct tb){.a = archive_write_new()};
    assert_int_equal(archive_write_set_format_pax(t->a), ARCHIVE_OK);
    assert_int_equal(archive_write_open(t->a, &t->out, NULL, buf_write_cb, NULL), ARCHIVE_OK);
}

static struct archive_entry *ent(const char *name, mode_t type, mode_t perm)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_mtime(e, T0, 0);
    return e;
}

static void tb_put(struct tb *t, struct archive_entry *e, const void *data, size_t len)
{
    if (archive_entry_filetype(e) == AE_IFREG && archive_entry_hardlink(e) == NULL)
        archive_entry_set_size(e, (la_int64_t)len);
    assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
    if (len > 0)
        assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
    archive_entry_free(e);
}

static void tb_file(struct tb *t, const char *name, const char *content)
{
    tb_put(t, ent(name, AE_IFREG, 0644), content, strlen(content));
}

static void tb_dir(struct tb *t, const char *name)
{
    tb_put(t, ent(name, AE_IFDIR, 0755), NULL, 0);
}

static void tb_symlink(struct tb *t, const char *name, const char *target)
{
    struct archive_entry *e = ent(name, AE_IFLNK, 0777);
    archive_entry_set_symlink(e, target);
    tb_put(t, e, NULL, 0);
}

static void tb_hardlink(struct tb *t, const char *name, const char *target)
{
    struct archive_entry *e = ent(name, AE_IFREG, 0644);
    archive_entry_set_hardlink(e, target);
    tb_put(t, e, NULL, 0);
}

static struct buf tb_finish(struct tb *t)
{
    assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
    archive_write_free(t->a);
    return t->out;
}

/* in, compressed with libarchive's gzip or zstd writer as one raw stream. */
static struct buf compress(const struct buf *in, const char *filter)
{
    struct buf out = {0};
    struct archive *a = archive_write_new();
    assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
    if (strcmp(filter, "gzip") == 0)
        assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    else
        assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
    assert_int_equal(archive_write_open(a, &out, NULL, buf_write_cb, NULL), ARCHIVE_OK);
    struct archive_entry *e = ent("data", AE_IFREG, 0644);
    archive_entry_set_size(e, (la_int64_t)in->len);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    archive_entry_free(e);
    if (in->len > 0)
        assert_int_equal(archive_write_data(a, in->p, in->len), (la_ssize_t)in->len);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return out;
}

struct fixture {
    char top[64];
    char *dest, *outside;
    int destfd;
};

static int setup(void **state)
{
    struct fixture *f = xzalloc(sizeof(*f));
    strcpy(f->top, "/tmp/berth-unpack-XXXXXX");
    if (mkdtemp(f->top) == NULL)
        return -1;
    f->dest = xasprintf("%s/dest", f->top);
    f->outside = xasprintf("%s/outside", f->top);
    if (mkdir(f->dest, 0755) < 0 || mkdir(f->outside, 0755) < 0)
        return -1;
    _cleanup_free_ char *secret = xasprintf("%s/secret", f->outside);
    if (write_file_at(AT_FDCWD, secret, "orig", 4, 0644, NULL) < 0)
        return -1;
    f->destfd = open(f->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    *state = f;
    return f->destfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    close(f->destfd);
    int r = rm_rf_at(AT_FDCWD, f->top, NULL);
    free(f->dest);
    free(f->outside);
    free(f);
    return r;
}

/* Empties dest for another run within one test. */
static void reset_dest(struct fixture *f)
{
    close(f->destfd);
    assert_int_equal(rm_rf_at(AT_FDCWD, f->dest, NULL), 0);
    assert_int_equal(mkdir(f->dest, 0755), 0);
    f->destfd = open(f->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->destfd >= 0);
}

/* Feeds b through a pipe from a child, as a download would. */
static int unpack(struct fixture *f, const struct buf *b, enum img_whiteout_mode mode, bool walk,
                  struct img_unpack_result *res, struct berr **err)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        _exit(write_all(p[1], b->p, b->len) < 0 ? 1 : 0);
    }
    close(p[1]);
    struct img_unpack_opts opts = {.whiteouts = mode, .force_walk = walk};
    int r = img_unpack_layer(p[0], f->destfd, &opts, res, err);
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return r;
}

static void unpack_ok(struct fixture *f, const struct buf *b, enum img_whiteout_mode mode,
                      bool walk, struct img_unpack_result *res)
{
    struct berr *err = NULL;
    int r = unpack(f, b, mode, walk, res, &err);
    if (r < 0)
        fail_msg("unpack failed: %s", err->msg);
    assert_null(err);
}

static char *path_in(struct fixture *f, const char *rel)
{
    return xasprintf("%s/%s", f->dest, rel);
}

static void lstat_in(struct fixture *f, const char *rel, struct stat *st)
{
    _cleanup_free_ char *p = path_in(f, rel);
    if (lstat(p, st) < 0)
        fail_msg("lstat %s: %m", rel);
}

static bool exists_in(struct fixture *f, const char *rel)
{
    struct stat st;
    _cleanup_free_ char *p = path_in(f, rel);
    return lstat(p, &st) == 0;
}

static char *read_in(struct fixture *f, const char *rel)
{
    _cleanup_free_ char *p = path_in(f, rel);
    char *s = read_file_at(AT_FDCWD, p, 1 << 20, NULL, NULL);
    if (s == NULL)
        fail_msg("read %s: %m", rel);
    return s;
}

/* The names in a directory, sorted and space-separated. */
static char *ls(const char *dir)
{
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    assert_true(n >= 0);
    struct buf out = {0};
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            if (out.len)
                buf_add(&out, " ", 1);
            buf_add(&out, name, strlen(name));
        }
        free(list[i]);
    }
    free(list);
    buf_add(&out, "", 1);
    return (char *)out.p;
}

static void assert_outside_untouched(struct fixture *f)
{
    _cleanup_free_ char *top = ls(f->top);
    assert_string_equal(top, "dest outside");
    _cleanup_free_ char *out = ls(f->outside);
    assert_string_equal(out, "secret");
    _cleanup_free_ char *secret = xasprintf("%s/secret", f->outside);
    struct stat st;
    assert_int_equal(lstat(secret, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_nlink, 1);
    assert_int_equal(st.st_mode & 07777, 0644);
    _cleanup_free_ char *s = read_file_at(AT_FDCWD, secret, 100, NULL, NULL);
    assert_string_equal(s, "orig");
}

/* No ".wh." name anywhere below dir. */
static void assert_no_whiteout_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (strncmp(de->d_name, ".wh.", 4) == 0)
            fail_msg("%s/%s left behind", dir, de->d_name);
        if (de->d_type == DT_DIR) {
            _cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
            assert_no_whiteout_files(sub);
        }
    }
    closedir(d);
}

static void expect_fail(struct fixture *f, const struct buf *b, enum img_whiteout_mode mode,
                        bool walk, const char *msg)
{
    struct berr *err = NULL;
    int r = unpack(f, b, mode, walk, NULL, &err);
    if (r == 0)
        fail_msg("unpack succeeded; expected \"%s\"", msg);
    assert_non_null(err);
    if (strstr(err->msg, msg) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", err->msg, msg);
    if (getenv("SHOW_ERRORS") != NULL)
        print_message("%s\n", err->msg);
    berr_free(err);
    assert_outside_untouched(f);
}

/* A file capability granting CAP_NET_BIND_SERVICE, in the v2 on-disk format. */
static const unsigned char cap_blob[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x04};

static struct buf all_types_tar(size_t big)
{
    struct tb t;
    tb_init(&t);
    struct archive_entry *e = ent("./", AE_IFDIR, 0751);
    archive_entry_set_mtime(e, T0 + 5, 0);
    tb_put(&t, e, NULL, 0);
    e = ent("./dir/", AE_IFDIR, 0750);
    archive_entry_set_uid(e, 1000);
    archive_entry_set_gid(e, 1001);
    archive_entry_set_mtime(e, T0, 250);
    archive_entry_set_atime(e, T0 - 100, 0);
    tb_put(&t, e, NULL, 0);

    _cleanup_free_ unsigned char *data = xmalloc(big);
    for (size_t i = 0; i < big; i++)
        data[i] = (unsigned char)(i * 7 + i / 4096);
    e = ent("dir/file", AE_IFREG, 04755);
    archive_entry_set_uid(e, 1000);
    archive_entry_set_gid(e, 1001);
    archive_entry_set_mtime(e, 1500000000, 500000000);
    archive_entry_xattr_add_entry(e, "user.test", "hello", 5);
    archive_entry_xattr_add_entry(e, "security.capability", cap_blob, sizeof(cap_blob));
    tb_put(&t, e, data, big);
    tb_put(&t, ent("dir/sgid", AE_IFREG, 02711), "x", 1);
    tb_put(&t, ent("dir/sticky", AE_IFDIR, 01777), NULL, 0);
    tb_put(&t, ent("dir/empty", AE_IFREG, 0600), NULL, 0);
    e = ent("dir/link", AE_IFLNK, 0777);
    archive_entry_set_symlink(e, "../nowhere/\001at all");
    archive_entry_set_uid(e, 1002);
    archive_entry_set_mtime(e, T0 + 1, 0);
    tb_put(&t, e, NULL, 0);
    tb_hardlink(&t, "dir/hard", "./dir/file");
    e = ent("dev/null", AE_IFCHR, 0666);
    archive_entry_set_rdevmajor(e, 1);
    archive_entry_set_rdevminor(e, 3);
    tb_put(&t, e, NULL, 0);
    e = ent("dev/loop0", AE_IFBLK, 0660);
    archive_entry_set_rdevmajor(e, 7);
    archive_entry_set_rdevminor(e, 0);
    archive_entry_set_gid(e, 6);
    tb_put(&t, e, NULL, 0);
    tb_put(&t, ent("fifo", AE_IFIFO, 0640), NULL, 0);
    tb_file(&t, "deep/implicit/parent/f", "nested");
    return tb_finish(&t);
}

static void check_all_types(struct fixture *f, const char *filter)
{
    const size_t big = 3 * 1024 * 1024 + 123;
    _cleanup_(buf_freep) struct buf tar = all_types_tar(big);
    _cleanup_(buf_freep) struct buf z = {0};
    const struct buf *in = &tar;
    if (filter != NULL) {
        z = compress(&tar, filter);
        in = &z;
        assert_true(z.len < tar.len);
    }
    struct img_unpack_result res;
    unpack_ok(f, in, IMG_WHITEOUT_OVERLAY, false, &res);

    char want[IMG_DIGEST_MAX];
    img_digest_buf(tar.p, tar.len, want);
    assert_string_equal(res.diff_id, want);
    img_digest_buf(in->p, in->len, want);
    assert_string_equal(res.compressed_digest, want);
    assert_int_equal(res.uncompressed_size, tar.len);
    assert_int_equal(res.compressed_size, in->len);
    assert_int_equal(res.entries, 12);

    struct stat st;
    assert_int_equal(fstat(f->destfd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0751);
    assert_int_equal(st.st_mtim.tv_sec, T0 + 5);

    lstat_in(f, "dir", &st);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(st.st_uid, 1000);
    assert_int_equal(st.st_gid, 1001);
    /* Set after its children were written. */
    assert_int_equal(st.st_mtim.tv_sec, T0);
    assert_int_equal(st.st_mtim.tv_nsec, 250);
    assert_int_equal(st.st_atim.tv_sec, T0 - 100);

    lstat_in(f, "dir/file", &st);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 04755);
    assert_int_equal(st.st_uid, 1000);
    assert_int_equal(st.st_gid, 1001);
    assert_int_equal(st.st_size, big);
    assert_int_equal(st.st_nlink, 2);
    assert_int_equal(st.st_mtim.tv_sec, 1500000000);
    assert_int_equal(st.st_mtim.tv_nsec, 500000000);
    ino_t ino = st.st_ino;
    _cleanup_free_ char *file = path_in(f, "dir/file");
    size_t len;
    _cleanup_free_ unsigned char *got =
        (unsigned char *)read_file_at(AT_FDCWD, file, big + 1, &len, NULL);
    assert_non_null(got);
    assert_int_equal(len, big);
    for (size_t i = 0; i < big; i += 4093)
        assert_int_equal(got[i], (unsigned char)(i * 7 + i / 4096));
    char xv[64];
    assert_int_equal(lgetxattr(file, "user.test", xv, sizeof(xv)), 5);
    assert_memory_equal(xv, "hello", 5);
    assert_int_equal(lgetxattr(file, "security.capability", xv, sizeof(xv)), sizeof(cap_blob));
    assert_memory_equal(xv, cap_blob, sizeof(cap_blob));

    lstat_in(f, "dir/hard", &st);
    assert_int_equal(st.st_ino, ino);
    lstat_in(f, "dir/sgid", &st);
    assert_int_equal(st.st_mode & 07777, 02711);
    lstat_in(f, "dir/sticky", &st);
    assert_int_equal(st.st_mode & 07777, 01777);
    lstat_in(f, "dir/empty", &st);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    lstat_in(f, "dir/link", &st);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(st.st_uid, 1002);
    assert_int_equal(st.st_mtim.tv_sec, T0 + 1);
    _cleanup_free_ char *link = path_in(f, "dir/link");
    char target[64] = {0};
    assert_int_equal(readlink(link, target, sizeof(target)), 18);
    assert_string_equal(target, "../nowhere/\001at all");

    lstat_in(f, "dev/null", &st);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(1, 3));
    assert_int_equal(st.st_mode & 07777, 0666);
    lstat_in(f, "dev/loop0", &st);
    assert_true(S_ISBLK(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(7, 0));
    assert_int_equal(st.st_gid, 6);
    lstat_in(f, "fifo", &st);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0640);

    lstat_in(f, "deep/implicit", &st);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_uid, 0);
    _cleanup_free_ char *nested = read_in(f, "deep/implicit/parent/f");
    assert_string_equal(nested, "nested");
    assert_outside_untouched(f);
}

static void test_types_uncompressed(void **state)
{
    check_all_types(*state, NULL);
}

static void test_types_gzip(void **state)
{
    check_all_types(*state, "gzip");
}

static void test_types_zstd(void **state)
{
    check_all_types(*state, "zstd");
}

static void test_digests_cover_trailing_bytes(void **state)
{
    struct fixture *f = *state;
    struct tb t;
    tb_init(&t);
    tb_file(&t, "a", "A");
    _cleanup_(buf_freep) struct buf tar = tb_finish(&t);
    /* Padding past the end-of-archive blocks, and not only zeros. */
    unsigned char pad[7777];
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = (unsigned char)(i % 251);
    buf_add(&tar, pad, sizeof(pad));
    char want_diff[IMG_DIGEST_MAX], want_comp[IMG_DIGEST_MAX];
    img_digest_buf(tar.p, tar.len, want_diff);

    struct img_unpack_result res;
    unpack_ok(f, &tar, IMG_WHITEOUT_OVERLAY, false, &res);
    assert_string_equal(res.diff_id, want_diff);
    assert_string_equal(res.compressed_digest, want_diff);
    assert_int_equal(res.uncompressed_size, tar.len);
    assert_int_equal(res.entries, 1);

    const char *filters[] = {"gzip", "zstd"};
    for (size_t i = 0; i < 2; i++) {
        reset_dest(f);
        _cleanup_(buf_freep) struct buf z = compress(&tar, filters[i]);
        /* Bytes after the compressed stream still count toward the compressed digest: zeros
         * after gzip, a skippable frame after zstd (which refuses anything else there). */
        if (i == 0)
            buf_add(&z, "\0\0\0\0\0\0\0\0", 8);
        else
            buf_add(&z, "\x50\x2a\x4d\x18\x03\0\0\0abc", 11);
        img_digest_buf(z.p, z.len, want_comp);
        unpack_ok(f, &z, IMG_WHITEOUT_OVERLAY, false, &res);
        assert_string_equal(res.diff_id, want_diff);
        assert_string_equal(res.compressed_digest, want_comp);
        assert_int_equal(res.compressed_size, z.len);
        assert_int_equal(res.uncompressed_size, tar.len);
        _cleanup_free_ char *a = read_in(f, "a");
        assert_string_equal(a, "A");
    }
}

static void test_empty_streams(void **state)
{
    struct fixture *f = *state;
    struct buf none = {0};
    struct img_unpack_result res;
    unpack_ok(f, &none, IMG_WHITEOUT_OVERLAY, false, &res);
    assert_string_equal(res.diff_id,
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(res.entries, 0);
    struct tb t;
    tb_init(&t);
    _cleanup_(buf_freep) struct buf tar = tb_finish(&t);
    _cleanup_(buf_freep) struct buf z = compress(&tar, "gzip");
    unpack_ok(f, &z, IMG_WHITEOUT_OVERLAY, false, &res);
    assert_int_equal(res.entries, 0);
    assert_int_equal(res.uncompressed_size, tar.len);
    _cleanup_free_ char *names = ls(f->dest);
    assert_string_equal(names, "");
}

static void test_bad_streams(void **state)
{
    struct fixture *f = *state;
    struct buf junk = {0};
    for (int i = 0; i < 4000; i++)
        buf_add(&junk, &(char){(char)(i * 31 + 7)}, 1);
    expect_fail(f, &junk, IMG_WHITEOUT_OVERLAY, false, "layer: not a tar archive");
    _cleanup_(buf_freep) struct buf z = compress(&junk, "gzip");
    expect_fail(f, &z, IMG_WHITEOUT_OVERLAY, false, "not a tar archive after gzip decompression");
    buf_freep(&junk);

    /* Incompressible data, so that the cut falls well after the decompressor has started. */
    struct tb t;
    tb_init(&t);
    size_t n = 4 << 20;
    _cleanup_free_ unsigned char *noise = xmalloc(n);
    uint32_t x = 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (unsigned char)(x >> 16);
    }
    tb_put(&t, ent("f", AE_IFREG, 0644), noise, n);
    _cleanup_(buf_freep) struct buf tar = tb_finish(&t);
    _cleanup_(buf_freep) struct buf zt = compress(&tar, "gzip");
    zt.len /= 2;
    expect_fail(f, &zt, IMG_WHITEOUT_OVERLAY, false,
                "layer: entry 'f': the gzip stream is corrupt: truncated gzip input");
    reset_dest(f);
    zt.len = 100;
    expect_fail(f, &zt, IMG_WHITEOUT_OVERLAY, false, "truncated gzip input");
    tar.len = 70000; /* cut inside the file's data */
    expect_fail(f, &tar, IMG_WHITEOUT_OVERLAY, false, "layer: entry 'f': ");
}

static void test_whiteouts_overlay(void **state)
{
    struct fixture *f = *state;
    struct tb t;
    tb_init(&t);
    tb_dir(&t, "a/");
    tb_file(&t, "a/.wh.gone", "");
    tb_file(&t, "a/kept", "mine");
    tb_file(&t, "a/.wh.kept", ""); /* hides lower layers only, never this layer's own file */
    tb_dir(&t, "o/");
    tb_file(&t, "o/.wh..wh..opq", "");
    tb_file(&t, "o/new", "n");
    tb_file(&t, "implicit/.wh.x", "");
    tb_file(&t, ".wh..wh.aufs", "");
    _cleanup_(buf_freep) struct buf tar = tb_finish(&t);
    struct img_unpack_result res;
    unpack_ok(f, &tar, IMG_WHITEOUT_OVERLAY, false, &res);
    assert_int_equal(res.entries, 9);

    struct stat st;
    lstat_in(f, "a/gone", &st);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(0, 0));
    lstat_in(f, "implicit/x", &st);
    assert_true(S_ISCHR(st.st_mode));
    _cleanup_free_ char *kept = read_in(f, "a/kept");
    assert_string_equal(kept, "mine");
    _cleanup_free_ char *o = path_in(f, "o");
    char v[8];
    assert_int_equal(lgetxattr(o, "trusted.overlay.opaque", v, sizeof(v)), 1);
    assert_int_equal(v[0], 'y');
    assert_true(exists_in(f, "o/new"));
    _cleanup_free_ char *a = path_in(f, "a");
    assert_int_equal(lgetxattr(a, "trusted.overlay.opaque", v, sizeof(v)), -1);
    assert_no_whiteout_files(f->dest);
    _cleanup_free_ char *top = ls(f->dest);
    assert_string_equal(top, "a implicit o");
}

static void make_in(struct fixture *f, const char *rel, const char *content)
{
    _cleanup_free_ char *p = path_in(f, rel);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    assert_int_equal(mkdir_p(p, 0755, NULL), 0);
    *slash = '/';
    if (content != NULL)
        assert_int_equal(write_file_at(AT_FDCWD, p, content, strlen(content), 0644, NULL), 0);
    else
        assert_int_equal(mkdir(p, 0755), 0);
}

static void test_whiteouts_apply(void **state)
{
    struct fixture *f = *state;
    /* The parent layer's content. */
    make_in(f, "a/gone", "lower");
    make_in(f, "a/gonedir/sub/f", "lower");
    make_in(f, "a/stay", "lower");
    make_in(f, "o/old", "lower");
    make_in(f, "o/olddir/x", "lower");
    make_in(f, "o/keepdir/lowerchild", "lower");
    make_in(f, "o/pre", "lower");
    make_in(f, "other/o/x", "lower");

    struct tb t;
    tb_init(&t);
    tb_file(&t, "a/.wh.gone", "");
    tb_file(&t, "a/.wh.gonedir", "");
    tb_file(&t, "a/.wh.missing", "");
    tb_file(&t, "nodir/.wh.x", "");
    tb_file(&t, "a/made", "new");
    tb_file(&t, "a/.wh.made", "");
    tb_dir(&t, "o/");
    tb_file(&t, "o/pre", "new");
    tb_dir(&t, "o/keepdir/");
    tb_file(&t, "o/keepdir/mine", "new");
    tb_file(&t, "o/.wh..wh..opq", "");
    tb_file(&t, "o/after", "new");
    _cleanup_(buf_freep) struct buf tar = tb_finish(&t);
    unpack_ok(f, &tar, IMG_WHITEOUT_APPLY, false, NULL);

    assert_false(exists_in(f, "a/gone"));
    assert_false(exists_in(f, "a/gonedir"));
    assert_false(exists_in(f, "nodir"));
    _cleanup_free_ char *a = ls(f->dest);
    assert_string_equal(a, "a o other");
    _cleanup_free_ char *al = path_in(f, "a");
    _cleanup_free_ char *an = ls(al);
    assert_string_equal(an, "made stay");
    _cleanup_free_ char *ol = path_in(f, "o");
    _cleanup_free_ char *on = ls(ol);
    assert_string_equal(on, "after keepdir pre");
    _cleanup_free_ char *kl = path_in(f, "o/keepdir");
    _cleanup_free_ char *kn = ls(kl);
    assert_string_equal(kn, "mine");
    _cleanup_free_ char *pre = read_in(f, "o/pre");
    assert_string_equal(pre, "new");
    assert_true(exists_in(f, "other/o/x"));
    assert_no_whiteout_files(f->dest);
    char v[8];
    assert_int_equal(lgetxattr(ol, "trusted.overlay.opaque", v, sizeof(v)), -1);
}

static void test_replace_entries(void **state)
{
    struct fixture *f = *state;
    make_in(f, "f2d", "file");
    make_in(f, "d2f/child", "x");
    make_in(f, "keep/old", "x");
    _cleanup_free_ char *lnk = path_in(f, "lnk");
    assert_int_equal(symlink(f->outside, lnk), 0);

    struct tb t;
    tb_init(&t);
    tb_dir(&t, "f2d/");
    tb_file(&t, "f2d/in", "in");
    tb_file(&t, "d2f", "now a file");
    tb_put(&t, ent("keep/", AE_IFDIR, 0700), NULL, 0);
    tb_dir(&t, "lnk/");
    tb_file(&t, "lnk/f", "inside");
    /* Within one layer too, including a parent replaced after it was used (the cache). */
    tb_file(&t, "x", "x");
    tb_dir(&t, "x/");
    tb_file(&t, "x/y", "y");
    tb_dir(&t, "y/");
    tb_file(&t, "y/z", "z");
    tb_file(&t, "y", "y");
    tb_dir(&t, "real/");
    tb_symlink(&t, "sym", "real");
    tb_file(&t, "sym/f", "via link");
    tb_dir(&t, "sym/");
    tb_file(&t, "sym/g", "in the new dir");
    _cleanup_(buf_freep) struct buf tar = tb_finish(&t);
    unpack_ok(f, &tar, IMG_WHITEOUT_APPLY, false, NULL);

    struct stat st;
    lstat_in(f, "f2d", &st);
    assert_true(S_ISDIR(st.st_mode));
    _cleanup_free_ char *in = read_in(f, "f2d/in");
    assert_string_equal(in, "in");
    _cleanup_free_ char *d2f = read_in(f, "d2f");
    assert_string_equal(d2f, "now a file");
    lstat_in(f, "keep", &st);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_true(exists_in(f, "keep/old"));
    lstat_in(f, "lnk", &st);
    assert_true(S_ISDIR(st.st_mode));
    assert_true(exists_in(f, "lnk/f"));
    lstat_in(f, "x", &st);
    assert_true(S_ISDIR(st.st_mode));
    assert_true(exists_in(f, "x/y"));
    lstat_in(f, "y", &st);
    assert_true(S_ISREG(st.st_mode));
    _cleanup_free_ char *rf = read_in(f, "real/f");
    assert_string_equal(rf, "via link");
    lstat_in(f, "sym", &st);
    assert_true(S_ISDIR(st.st_mode));
    assert_true(exists_in(f, "sym/g"));
    assert_false(exists_in(f, "real/g"));
    assert_outside_untouched(f);
}

static void test_usr_merge_apply(void **state)
{
    struct fixture *f = *state;
    make_in(f, "usr/lib/libc.so", "c");
    _cleanup_free_ char *lib = path_in(f, "lib");
    assert_int_equal(symlink("usr/lib", lib), 0);
    for (int walk = 0; walk < 2; walk++) {
        struct tb t;
        tb_init(&t);
        tb_file(&t, "lib/libfoo.so", walk ? "walk" : "foo");
        tb_file(&t, "lib/x86/deeper", "d");
        _cleanup_(buf_freep) struct buf tar = tb_finish(&t);
        unpack_ok(f, &tar, IMG_WHITEOUT_APPLY, walk, NULL);
        struct stat st;
        lstat_in(f, "lib", &st);
        assert_true(S_ISLNK(st.st_mode));
        _cleanup_free_ char *foo = read_in(f, "usr/lib/libfoo.so");
        assert_string_equal(foo, walk ? "walk" : "foo");
        assert_true(exists_in(f, "usr/lib/x86/deeper"));
    }
}

/* Each hostile layer, with openat2() and with the fallback walk. */
static void hostile(struct fixture *f, enum img_whiteout_mode mode, void (*build)(struct tb *),
                    const char *msg)
{
    for (int walk = 0; walk < 2; walk++) {
        reset_dest(f);
        struct tb t;
        tb_init(&t);
        build(&t);
        _cleanup_(buf_freep) struct buf tar = tb_finish(&t);
        expect_fail(f, &tar, mode, walk, msg);
    }
}

static const char *outside_abs; /* the sentinel's path, for builders */

static void b_dotdot(struct tb *t)
{
    tb_file(t, "../x", "x");
}

static void b_abs(struct tb *t)
{
    tb_file(t, "/abs", "x");
}

static void b_inner_dotdot(struct tb *t)
{
    tb_file(t, "a/../../x", "x");
}

static void b_symlink_abs_parent(struct tb *t)
{
    tb_symlink(t, "evil", outside_abs);
    tb_file(t, "evil/f", "x");
}

static void b_symlink_rel_parent(struct tb *t)
{
    tb_symlink(t, "evil", "../outside");
    tb_file(t, "evil/f", "x");
}

static void b_symlink_nested_parent(struct tb *t)
{
    tb_dir(t, "d/");
    tb_symlink(t, "d/up", "../../outside");
    tb_file(t, "d/up/f", "x");
}

static void b_symlink_abs_inside(struct tb *t)
{
    /* Absolute targets are refused even when they would name something in the layer. */
    tb_dir(t, "usr/");
    tb_symlink(t, "lib", "/usr");
    tb_file(t, "lib/f", "x");
}

static void b_cached_parent_replaced(struct tb *t)
{
    tb_dir(t, "b/");
    tb_file(t, "b/x", "x");
    tb_symlink(t, "b", outside_abs);
    tb_file(t, "b/y", "x");
}

static void b_symlink_parent_device(struct tb *t)
{
    tb_symlink(t, "evil", "../outside");
    struct archive_entry *e = ent("evil/null", AE_IFCHR, 0666);
    archive_entry_set_rdevmajor(e, 1);
    archive_entry_set_rdevminor(e, 3);
    tb_put(t, e, NULL, 0);
}

static void b_symlink_loop_parent(struct tb *t)
{
    tb_symlink(t, "a", "b");
    tb_symlink(t, "b", "a");
    tb_file(t, "a/f", "x");
}

static void b_dangling_parent(struct tb *t)
{
    tb_symlink(t, "a", "nothing");
    tb_file(t, "a/f", "x");
}

static void b_file_parent(struct tb *t)
{
    tb_file(t, "a", "x");
    tb_file(t, "a/b/c", "x");
}

static void b_hardlink_dotdot(struct tb *t)
{
    tb_hardlink(t, "h", "../outside/secret");
}

static void b_hardlink_abs(struct tb *t)
{
    char *target = xasprintf("%s/secret", outside_abs);
    tb_hardlink(t, "h", target);
    free(target);
}

static void b_hardlink_via_symlink(struct tb *t)
{
    tb_symlink(t, "evil", outside_abs);
    tb_hardlink(t, "h", "evil/secret");
}

static void b_hardlink_missing(struct tb *t)
{
    tb_hardlink(t, "h", "missing");
}

static void b_hardlink_dir(struct tb *t)
{
    tb_dir(t, "d/");
    tb_hardlink(t, "h", "d");
}

static void b_whiteout_via_symlink(struct tb *t)
{
    tb_symlink(t, "esc", outside_abs);
    tb_file(t, "esc/.wh.secret", "");
}

static void b_opaque_via_symlink(struct tb *t)
{
    tb_symlink(t, "esc", "../outside");
    tb_file(t, "esc/.wh..wh..opq", "");
}

static void b_whiteout_as_dir(struct tb *t)
{
    tb_file(t, "a/.wh.b/c", "x");
}

static void b_long_component(struct tb *t)
{
    char name[300];
    memset(name, 'n', 256);
    name[256] = '\0';
    tb_file(t, name, "x");
}

static void b_big_xattr(struct tb *t)
{
    struct archive_entry *e = ent("f", AE_IFREG, 0644);
    _cleanup_free_ char *v = xzalloc(IMG_UNPACK_MAX_XATTR_VALUE + 1);
    archive_entry_xattr_add_entry(e, "user.big", v, IMG_UNPACK_MAX_XATTR_VALUE + 1);
    tb_put(t, e, "x", 1);
}

static void b_many_xattrs(struct tb *t)
{
    struct archive_entry *e = ent("f", AE_IFREG, 0644);
    for (int i = 0; i <= IMG_UNPACK_MAX_XATTRS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "user.a%d", i);
        archive_entry_xattr_add_entry(e, name, "v", 1);
    }
    tb_put(t, e, "x", 1);
}

static void test_hostile_names(void **state)
{
    struct fixture *f = *state;
    hostile(f, IMG_WHITEOUT_OVERLAY, b_dotdot, "layer entry '../x': path leaves the layer ('..')");
    hostile(f, IMG_WHITEOUT_OVERLAY, b_abs, "layer entry '/abs': path is absolute");
    hostile(f, IMG_WHITEOUT_APPLY, b_inner_dotdot,
            "layer entry 'a/../../x': path leaves the layer ('..')");
    hostile(f, IMG_WHITEOUT_OVERLAY, b_whiteout_as_dir,
            "layer entry 'a/.wh.b/c': a whiteout name is used as a directory");
    hostile(f, IMG_WHITEOUT_OVERLAY, b_long_component,
            "has a component of 256 bytes; the limit is 255");
}

static void test_hostile_symlink_parents(void **state)
{
    struct fixture *f = *state;
    outside_abs = f->outside;
    const char *msg =
        "layer entry 'evil/f': parent 'evil' is a symlink that leads out of the layer";
    hostile(f, IMG_WHITEOUT_OVERLAY, b_symlink_abs_parent, msg);
    hostile(f, IMG_WHITEOUT_APPLY, b_symlink_abs_parent, msg);
    hostile(f, IMG_WHITEOUT_APPLY, b_symlink_rel_parent, msg);
    hostile(f, IMG_WHITEOUT_APPLY, b_symlink_nested_parent,
            "layer entry 'd/up/f': parent 'd/up' is a symlink that leads out of the layer");
    hostile(f, IMG_WHITEOUT_APPLY, b_symlink_abs_inside,
            "layer entry 'lib/f': parent 'lib' is a symlink that leads out of the layer");
    hostile(f, IMG_WHITEOUT_APPLY, b_cached_parent_replaced,
            "layer entry 'b/y': parent 'b' is a symlink that leads out of the layer");
    hostile(f, IMG_WHITEOUT_OVERLAY, b_symlink_loop_parent,
            "layer entry 'a/f': parent 'a' has too many levels of symlinks");
    hostile(f, IMG_WHITEOUT_OVERLAY, b_dangling_parent,
            "layer entry 'a/f': parent 'a' is a symlink to nothing");
    hostile(f, IMG_WHITEOUT_OVERLAY, b_file_parent,
            "layer entry 'a/b/c': parent 'a' is not a directory");
    hostile(f, IMG_WHITEOUT_OVERLAY, b_symlink_parent_device,
            "layer entry 'evil/null': parent 'evil' is a symlink that leads out of the layer");
}

static void test_hostile_hardlinks(void **state)
{
    struct fixture *f = *state;
    outside_abs = f->outside;
    hostile(f, IMG_WHITEOUT_OVERLAY, b_hardlink_dotdot,
            "layer entry 'h': hardlink target '../outside/secret' leaves the layer ('..')");
    hostile(f, IMG_WHITEOUT_OVERLAY, b_hardlink_abs, "is absolute; layer paths must be relative");
    hostile(f, IMG_WHITEOUT_APPLY, b_hardlink_via_symlink,
            "layer entry 'h': hardlink target 'evil/secret': parent 'evil' is a symlink that "
            "leads out of the layer");
    hostile(f, IMG_WHITEOUT_OVERLAY, b_hardlink_missing,
            "layer entry 'h': hardlink target 'missing' does not exist in the layer");
    hostile(f, IMG_WHITEOUT_OVERLAY, b_hardlink_dir,
            "layer entry 'h': hardlink target 'd' is a directory");
}

static void test_hostile_whiteouts(void **state)
{
    struct fixture *f = *state;
    outside_abs = f->outside;
    hostile(f, IMG_WHITEOUT_APPLY, b_whiteout_via_symlink,
            "layer entry 'esc/.wh.secret': parent 'esc' is a symlink that leads out of the layer");
    hostile(f, IMG_WHITEOUT_OVERLAY, b_whiteout_via_symlink,
            "layer entry 'esc/.wh.secret': parent 'esc' is a symlink that leads out of the layer");
    hostile(f, IMG_WHITEOUT_APPLY, b_opaque_via_symlink,
            "layer entry 'esc/.wh..wh..opq': parent 'esc' is a symlink that leads out of the "
            "layer");
    hostile(f, IMG_WHITEOUT_OVERLAY, b_opaque_via_symlink,
            "parent 'esc' is a symlink that leads out of the layer");
}

static void test_limits(void **state)
{
    struct fixture *f = *state;
    hostile(f, IMG_WHITEOUT_OVERLAY, b_big_xattr,
            "layer entry 'f': extended attribute user.big has 65537 bytes; the limit is 65536");
    hostile(f, IMG_WHITEOUT_OVERLAY, b_many_xattrs,
            "layer entry 'f': 129 extended attributes; the limit is 128");
}

/* A symlink at the final position is replaced, never written through. */
static void test_symlink_final_component_replaced(void **state)
{
    struct fixture *f = *state;
    for (int walk = 0; walk < 2; walk++) {
        reset_dest(f);
        _cleanup_free_ char *secret = xasprintf("%s/secret", f->outside);
        struct tb t;
        tb_init(&t);
        tb_symlink(&t, "s", secret);
        tb_file(&t, "s", "new");
        tb_symlink(&t, "sd", f->outside);
        tb_dir(&t, "sd/");
        tb_file(&t, "sd/f", "inside");
        tb_symlink(&t, "sdev", "../outside/secret");
        tb_put(&t, ent("sdev", AE_IFIFO, 0600), NULL, 0);
        tb_symlink(&t, "sl", "../outside/secret");
        tb_symlink(&t, "sl", "../outside/other");
        tb_file(&t, "plain", "p");
        tb_symlink(&t, "sh", "../outside/secret");
        tb_hardlink(&t, "sh", "plain");
        _cleanup_(buf_freep) struct buf tar = tb_finish(&t);
        unpack_ok(f, &tar, IMG_WHITEOUT_APPLY, walk, NULL);
        struct stat st;
        lstat_in(f, "s", &st);
        assert_true(S_ISREG(st.st_mode));
        _cleanup_free_ char *s = read_in(f, "s");
        assert_string_equal(s, "new");
        lstat_in(f, "sd", &st);
        assert_true(S_ISDIR(st.st_mode));
        assert_true(exists_in(f, "sd/f"));
        lstat_in(f, "sdev", &st);
        assert_true(S_ISFIFO(st.st_mode));
        _cleanup_free_ char *sl = path_in(f, "sl");
        char target[64] = {0};
        assert_true(readlink(sl, target, sizeof(target)) > 0);
        assert_string_equal(target, "../outside/other");
        lstat_in(f, "sh", &st);
        assert_int_equal(st.st_nlink, 2);
        assert_outside_untouched(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_types_uncompressed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_types_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_types_zstd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digests_cover_trailing_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whiteouts_overlay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whiteouts_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usr_merge_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_symlink_parents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_hardlinks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_whiteouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_final_component_replaced, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
