/* The copy snapshot driver, for where overlayfs cannot work: every snapshot is a full tree,
 * its parent's copied (owners, modes, times, xattrs, devices and hard links kept) with the
 * layer applied on top, whiteouts turned into deletions. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "image/snapshot_internal.h"

#define XATTR_LIST_MAX_BYTES 65536

/* Files seen with more than one link, so later names become links again, not copies. */
struct inode_map {
    size_t n, cap;
    struct {
        dev_t dev;
        ino_t ino;
        char *path;
    } * v;
};

static void inode_map_clear(struct inode_map *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].path);
    free(m->v);
}

static const char *inode_map_find(const struct inode_map *m, const struct stat *st)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i].dev == st->st_dev && m->v[i].ino == st->st_ino)
            return m->v[i].path;
    }
    return NULL;
}

static void inode_map_add(struct inode_map *m, const struct stat *st, const char *path)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = xreallocarray(m->v, m->cap, sizeof(*m->v));
    }
    m->v[m->n].dev = st->st_dev;
    m->v[m->n].ino = st->st_ino;
    m->v[m->n].path = xstrdup(path);
    m->n++;
}

static int copy_xattrs(const char *src, const char *dst, struct berr **err)
{
    _cleanup_free_ char *names = xmalloc(XATTR_LIST_MAX_BYTES);
    ssize_t n = llistxattr(src, names, XATTR_LIST_MAX_BYTES);
    if (n < 0)
        return errno == ENOTSUP ? 0 : berr_sys(err, "list xattrs of %s", src);
    _cleanup_free_ char *val = xmalloc(XATTR_LIST_MAX_BYTES);
    for (ssize_t off = 0; off < n; off += (ssize_t)strlen(names + off) + 1) {
        const char *name = names + off;
        ssize_t vn = lgetxattr(src, name, val, XATTR_LIST_MAX_BYTES);
        if (vn < 0)
            return berr_sys(err, "read xattr %s of %s", name, src);
        if (lsetxattr(dst, name, val, (size_t)vn, 0) < 0 && errno != ENOTSUP)
            return berr_sys(err, "set xattr %s on %s", name, dst);
    }
    return 0;
}

static int copy_data(int in, int out, const char *src, struct berr **err)
{
    /* A reflink where the filesystem has them; otherwise the kernel copies. */
    if (ioctl(out, FICLONE, in) == 0)
        return 0;
    for (;;) {
        ssize_t r = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (r == 0)
            return 0;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EXDEV && errno != ENOSYS && errno != EINVAL)
                return berr_sys(err, "copy %s", src);
            break;
        }
    }
    char buf[1 << 16];
    for (;;) {
        ssize_t r = read(in, buf, sizeof(buf));
        if (r == 0)
            return 0;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return berr_sys(err, "read %s", src);
        }
        if (write_all(out, buf, (size_t)r) < 0)
            return berr_sys(err, "copy %s", src);
    }
}

static int copy_entry(const char *src, const char *dst, const struct stat *st,
                      struct inode_map *links, struct berr **err);

static int copy_dir_children(const char *src, const char *dst, struct inode_map *links,
                             struct berr **err)
{
    int fd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return berr_sys(err, "open %s", src);
    }
    int ret = 0;
    struct dirent *de;
    while (ret == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            ret = berr_sys(err, "stat %s/%s", src, de->d_name);
            break;
        }
        _cleanup_free_ char *s = xasprintf("%s/%s", src, de->d_name);
        _cleanup_free_ char *t = xasprintf("%s/%s", dst, de->d_name);
        ret = copy_entry(s, t, &st, links, err);
    }
    closedir(d);
    return ret;
}

static int copy_entry(const char *src, const char *dst, const struct stat *st,
                      struct inode_map *links, struct berr **err)
{
    mode_t type = st->st_mode & S_IFMT;
    if (type != S_IFDIR && st->st_nlink > 1) {
        const char *first = inode_map_find(links, st);
        if (first) {
            if (link(first, dst) < 0)
                return berr_sys(err, "link %s", dst);
            return 0;
        }
        inode_map_add(links, st, dst);
    }
    switch (type) {
    case S_IFDIR:
        if (mkdir(dst, 0700) < 0 && errno != EEXIST)
            return berr_sys(err, "mkdir %s", dst);
        if (copy_dir_children(src, dst, links, err) < 0)
            return -1;
        break;
    case S_IFREG: {
        _cleanup_close_ int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
            return berr_sys(err, "open %s", src);
        _cleanup_close_ int out =
            open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
            return berr_sys(err, "create %s", dst);
        if (copy_data(in, out, src, err) < 0)
            return -1;
        break;
    }
    case S_IFLNK: {
        char target[PATH_MAX];
        ssize_t n = readlink(src, target, sizeof(target) - 1);
        if (n < 0)
            return berr_sys(err, "readlink %s", src);
        target[n] = '\0';
        if (symlink(target, dst) < 0)
            return berr_sys(err, "symlink %s", dst);
        break;
    }
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFSOCK:
        if (mknod(dst, st->st_mode, st->st_rdev) < 0)
            return berr_sys(err, "mknod %s", dst);
        break;
    default:
        return berr_set(err, EINVAL, "%s: unexpected file type %o", src, type);
    }
    if (lchown(dst, st->st_uid, st->st_gid) < 0)
        return berr_sys(err, "chown %s", dst);
    if (copy_xattrs(src, dst, err) < 0)
        return -1;
    /* After chown, which drops setuid and setgid bits. */
    if (type != S_IFLNK && chmod(dst, st->st_mode & 07777) < 0)
        return berr_sys(err, "chmod %s", dst);
    /* Last, so writing a directory's children does not change its mtime afterwards. */
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    if (utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return berr_sys(err, "set times of %s", dst);
    return 0;
}

static bool copy_available(struct img_snapshotter *sn)
{
    return true;
}

static int copy_prepare(struct img_snapshotter *sn, const char *parent, int fs_fd,
                        const char *fs_path, struct berr **err)
{
    if (parent == NULL)
        return 0;
    _cleanup_free_ char *src = img_snap_fs_path(sn, parent);
    struct stat st;
    if (lstat(src, &st) < 0)
        return berr_sys(err, "parent snapshot %s", parent);
    struct inode_map links = {0};
    /* fs_path exists already (empty); copy_entry fills it and gives it the parent root's
     * owner, mode and times. */
    int r = copy_entry(src, fs_path, &st, &links, err);
    inode_map_clear(&links);
    return r;
}

static int copy_mount_ro(struct img_snapshotter *sn, const char *chain_id, const char *target,
                         struct berr **err)
{
    _cleanup_free_ char *fs = img_snap_fs_path(sn, chain_id);
    return img_snap_bind_ro(fs, target, err);
}

static int copy_mount_rw(struct img_snapshotter *sn, const char *chain_id, const char *upper,
                         const char *work, const char *target, struct berr **err)
{
    _cleanup_free_ char *done = xasprintf("%s/.copied", work);
    if (access(done, F_OK) < 0) {
        /* a copy cut short by a crash is started over from an empty upper */
        _cleanup_close_ int ufd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ufd < 0)
            return berr_sys(err, "open %s", upper);
        _cleanup_(closedirp) DIR *d = fdopendir(dup(ufd));
        if (d == NULL)
            return berr_sys(err, "read %s", upper);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
                rm_rf_at(ufd, de->d_name, err) < 0)
                return -1;
        }
        _cleanup_free_ char *src = img_snap_fs_path(sn, chain_id);
        struct stat st;
        if (lstat(src, &st) < 0)
            return berr_sys(err, "snapshot %s", chain_id);
        struct inode_map links = {0};
        int r = copy_entry(src, upper, &st, &links, err);
        inode_map_clear(&links);
        if (r < 0)
            return -1;
        if (write_file_at(AT_FDCWD, done, "", 0, 0600, err) < 0)
            return -1;
    }
    if (mount(upper, target, NULL, MS_BIND, NULL) < 0)
        return berr_sys(err, "bind %s on %s", upper, target);
    return 0;
}

const struct img_snap_ops img_snap_copy_ops = {
    .name = "copy",
    .whiteouts = IMG_WHITEOUT_APPLY,
    .parallel = false,
    .available = copy_available,
    .prepare = copy_prepare,
    .mount_ro = copy_mount_ro,
    .mount_rw = copy_mount_rw,
};
