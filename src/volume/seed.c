/* Directory tree walks for volumes: seeding a volume from the image content at its mount point
 * (resolved with openat2 RESOLVE_IN_ROOT, then walked one directory fd at a time, never
 * following a symlink, so a hostile image cannot make the daemon copy host files), measuring a
 * volume's size, and emptying one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "volume/volume.h"

/* Deep enough for any real image; the cap bounds stack and open fds (one per level) against a
 * crafted tree. */
#define MAX_DEPTH          256
#define COPY_CHUNK         (1 << 20)
#define XATTR_LIST_MAX_LEN (64 << 10)

static DIR *open_dir_stream(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    DIR *d = fdopendir(fd);
    if (d == NULL)
        close(fd);
    return d;
}

static bool is_dot(const char *n)
{
    return n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0));
}

int vol_dir_is_empty(int dirfd)
{
    _cleanup_(closedirp) DIR *d = open_dir_stream(dirfd);
    if (d == NULL)
        return -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (!is_dot(de->d_name))
            return 0;
    return 1;
}

int vol_clear_dir(int dirfd, struct berr **err)
{
    _cleanup_(closedirp) DIR *d = open_dir_stream(dirfd);
    if (d == NULL)
        return berr_sys(err, "open directory");
    int ret = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (!is_dot(de->d_name) && rm_rf_at(dirfd, de->d_name, err) < 0)
            ret = -1;
    return ret;
}

/* ---- size ---- */

struct inode_set {
    struct {
        dev_t dev;
        ino_t ino;
    } * v;
    size_t n, cap;
};

static bool inode_seen(struct inode_set *s, const struct stat *st)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].dev == st->st_dev && s->v[i].ino == st->st_ino)
            return true;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
    }
    s->v[s->n].dev = st->st_dev;
    s->v[s->n].ino = st->st_ino;
    s->n++;
    return false;
}

static int64_t tree_size(int dirfd, int depth, struct inode_set *seen)
{
    _cleanup_(closedirp) DIR *d = open_dir_stream(dirfd);
    if (d == NULL)
        return 0;
    int64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (is_dot(de->d_name) || fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth >= MAX_DEPTH)
                continue;
            _cleanup_close_ int sub =
                openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                total += tree_size(sub, depth + 1, seen);
            continue;
        }
        if (st.st_size <= 0 || (st.st_nlink > 1 && inode_seen(seen, &st)))
            continue;
        total += st.st_size;
    }
    return total;
}

int64_t vol_tree_size(int dirfd)
{
    struct inode_set seen = {0};
    int64_t n = tree_size(dirfd, 0, &seen);
    free(seen.v);
    return n;
}

/* ---- copy ---- */

static int copy_xattrs(int src, int dst, const char *name, struct berr **err)
{
    ssize_t len = flistxattr(src, NULL, 0);
    if (len <= 0)
        return 0; /* none, or a filesystem without them */
    if (len > XATTR_LIST_MAX_LEN)
        return berr_code(err, E2BIG, "%s: too many extended attributes", name);
    _cleanup_free_ char *list = xmalloc((size_t)len);
    len = flistxattr(src, list, (size_t)len);
    if (len < 0)
        return berr_sys(err, "%s: list extended attributes", name);
    for (char *k = list; k < list + len; k += strlen(k) + 1) {
        ssize_t vlen = fgetxattr(src, k, NULL, 0);
        if (vlen < 0)
            continue;
        _cleanup_free_ char *val = xmalloc((size_t)vlen + 1);
        vlen = fgetxattr(src, k, val, (size_t)vlen);
        if (vlen < 0)
            continue;
        /* SELinux labels and trusted.* may be refused here; Docker skips what is unsupported. */
        if (fsetxattr(dst, k, val, (size_t)vlen, 0) < 0 && errno != ENOTSUP &&
            errno != EOPNOTSUPP && errno != EPERM && errno != EACCES)
            return berr_sys(err, "%s: set extended attribute %s", name, k);
    }
    return 0;
}

/* Owner first: chown clears set-id bits and file capabilities, which mode and xattrs restore. */
static int apply_meta(int src, int dst, const struct stat *st, const char *name, struct berr **err)
{
    if (fchown(dst, st->st_uid, st->st_gid) < 0)
        return berr_sys(err, "%s: chown", name);
    if (fchmod(dst, st->st_mode & 07777) < 0)
        return berr_sys(err, "%s: chmod", name);
    if (copy_xattrs(src, dst, name, err) < 0)
        return -1;
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    if (futimens(dst, ts) < 0)
        return berr_sys(err, "%s: set times", name);
    return 0;
}

static int copy_bytes(int src, int dst, const char *name, struct berr **err)
{
    bool fallback = false;
    _cleanup_free_ char *buf = NULL;
    for (;;) {
        ssize_t n = -1;
        if (!fallback) {
            n = copy_file_range(src, NULL, dst, NULL, COPY_CHUNK, 0);
            if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
                          errno == EOPNOTSUPP || errno == EBADF)) {
                fallback = true;
                continue;
            }
        } else {
            if (buf == NULL)
                buf = xmalloc(COPY_CHUNK);
            n = read(src, buf, COPY_CHUNK);
            if (n > 0 && write_all(dst, buf, (size_t)n) < 0)
                return berr_sys(err, "%s: write", name);
        }
        if (n == 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return berr_sys(err, "%s: copy", name);
    }
}

static int copy_entries(int src, int dst, int depth, const char *path, struct berr **err);

static int copy_one(int src_dir, int dst_dir, const char *name, int depth, const char *path,
                    struct berr **err)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", path, name);
    struct stat st;
    if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return berr_sys(err, "%s", p);
    const int rd = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    if (S_ISDIR(st.st_mode)) {
        if (depth >= MAX_DEPTH)
            return berr_code(err, ELOOP, "%s: more than %d directory levels", p, MAX_DEPTH);
        if (mkdirat(dst_dir, name, 0700) < 0)
            return berr_sys(err, "%s: mkdir", p);
        _cleanup_close_ int s = openat(src_dir, name, rd | O_DIRECTORY);
        _cleanup_close_ int d =
            openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0 || d < 0)
            return berr_sys(err, "%s: open", p);
        if (copy_entries(s, d, depth + 1, p, err) < 0)
            return -1;
        return apply_meta(s, d, &st, p, err);
    }
    if (S_ISREG(st.st_mode)) {
        _cleanup_close_ int s = openat(src_dir, name, rd);
        struct stat again;
        if (s < 0 || fstat(s, &again) < 0)
            return berr_sys(err, "%s: open", p);
        if (!S_ISREG(again.st_mode) || again.st_ino != st.st_ino)
            return berr_code(err, EAGAIN, "%s: changed while being copied", p);
        _cleanup_close_ int d =
            openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (d < 0)
            return berr_sys(err, "%s: create", p);
        if (copy_bytes(s, d, p, err) < 0)
            return -1;
        return apply_meta(s, d, &again, p, err);
    }
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
        if (n < 0)
            return berr_sys(err, "%s: readlink", p);
        target[n] = 0;
        if (symlinkat(target, dst_dir, name) < 0)
            return berr_sys(err, "%s: symlink", p);
        if (fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            utimensat(dst_dir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
            return berr_sys(err, "%s: set owner and times", p);
        return 0;
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
        if (mknodat(dst_dir, name, st.st_mode & (S_IFMT | 0600), st.st_rdev) < 0)
            return berr_sys(err, "%s: mknod", p);
        /* Just made by us and not a symlink, so following is safe for chmod. */
        if (fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            fchmodat(dst_dir, name, st.st_mode & 07777, 0) < 0 ||
            utimensat(dst_dir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
            return berr_sys(err, "%s: set owner, mode and times", p);
        return 0;
    }
    return 0; /* sockets belong to a process, not to the image */
}

static int copy_entries(int src, int dst, int depth, const char *path, struct berr **err)
{
    _cleanup_(closedirp) DIR *d = open_dir_stream(src);
    if (d == NULL)
        return berr_sys(err, "%s: read directory", path);
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (!is_dot(de->d_name) && copy_one(src, dst, de->d_name, depth, path, err) < 0)
            return -1;
        errno = 0;
    }
    if (errno != 0)
        return berr_sys(err, "%s: read directory", path);
    return 0;
}

int vol_copy_tree(int rootfs_fd, const char *path, int dst_fd, struct berr **err)
{
    struct open_how how = {
        .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    _cleanup_close_ int src = (int)syscall(SYS_openat2, rootfs_fd, path, &how, sizeof(how));
    if (src < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        if (errno == ENOSYS)
            return berr_code(err, ENOSYS, "%s: copying image content needs openat2 (Linux 5.6)",
                             path);
        return berr_sys(err, "%s: open in the image", path);
    }
    struct stat st;
    if (fstat(src, &st) < 0)
        return berr_sys(err, "%s", path);
    if (copy_entries(src, dst_fd, 0, path, err) < 0 || apply_meta(src, dst_fd, &st, path, err) < 0)
        return -1;
    return 1;
}
