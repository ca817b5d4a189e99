/* File helpers shared by every module. */
#include "common/fsutil.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t r = write(fd, p, len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

ssize_t read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t r = read(fd, p + done, len - done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

char *read_fd_all(int fd, const char *what, size_t max, size_t *len, struct berr **err)
{
    size_t cap = 4096, n = 0;
    _cleanup_free_ char *buf = xmalloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= max)
                return berr_set(err, EFBIG, "read %s: larger than %zu bytes", what, max), NULL;
            cap = cap * 2 > max ? max : cap * 2;
            buf = xrealloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return berr_sys(err, "read %s", what), NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = 0;
    if (len)
        *len = n;
    return steal_ptr(&buf);
}

char *read_file_at(int dirfd, const char *path, size_t max, size_t *len, struct berr **err)
{
    _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return berr_sys(err, "open %s", path), NULL;
    return read_fd_all(fd, path, max, len, err);
}

int write_file_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
                  struct berr **err)
{
    _cleanup_close_ int fd =
        openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return berr_sys(err, "open %s", path);
    if (write_all(fd, buf, len) < 0)
        return berr_sys(err, "write %s", path);
    return 0;
}

static int replace_file(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
                        bool durable, struct berr **err)
{
    /* A name of our own: two processes replacing the same file must not share a temporary. */
    static unsigned counter;
    _cleanup_free_ char *tmp = NULL;
    _cleanup_close_ int fd = -1;
    for (int attempt = 0; fd < 0; attempt++) {
        free(tmp);
        tmp = xasprintf("%s.tmp-%d-%u", path, getpid(),
                        __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0 && (errno != EEXIST || attempt > 100))
            return berr_sys(err, "open %s", tmp);
    }
    if (write_all(fd, buf, len) < 0 || (durable && fsync(fd) < 0)) {
        berr_sys(err, "write %s", tmp);
        unlinkat(dirfd, tmp, 0);
        return -1;
    }
    if (renameat(dirfd, tmp, dirfd, path) < 0) {
        berr_sys(err, "rename %s to %s", tmp, path);
        unlinkat(dirfd, tmp, 0);
        return -1;
    }
    return 0;
}

int write_file_atomic_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
                         struct berr **err)
{
    return replace_file(dirfd, path, buf, len, mode, true, err);
}

int write_file_replace_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
                          struct berr **err)
{
    return replace_file(dirfd, path, buf, len, mode, false, err);
}

int mkdir_p(const char *path, mode_t mode, struct berr **err)
{
    _cleanup_free_ char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return berr_sys(err, "mkdir %s", p);
        *s = '/';
    }
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        return berr_sys(err, "mkdir %s", p);
    return 0;
}

int cloexec_from(int from)
{
    if (syscall(SYS_close_range, (unsigned)from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return 0;
    /* Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC: walk /proc/self/fd instead. */
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int dfd = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] == '.' || fd < from || fd == dfd)
            continue;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    closedir(d);
    return 0;
}

static int rm_rf_children(int fd, struct berr **err)
{
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return berr_sys(err, "fdopendir");
    }
    struct dirent *de;
    int ret = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            continue;
        if (errno != EISDIR && errno != EPERM) {
            ret = berr_sys(err, "unlink %s", de->d_name);
            continue;
        }
        if (rm_rf_at(dirfd(d), de->d_name, err) < 0)
            ret = -1;
    }
    closedir(d);
    return ret;
}

int rm_rf_at(int dirfd, const char *path, struct berr **err)
{
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == ENOTDIR || errno == ELOOP) {
            if (unlinkat(dirfd, path, 0) < 0 && errno != ENOENT)
                return berr_sys(err, "unlink %s", path);
            return 0;
        }
        return berr_sys(err, "open %s", path);
    }
    if (rm_rf_children(fd, err) < 0)
        return -1;
    if (unlinkat(dirfd, path, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return berr_sys(err, "rmdir %s", path);
    return 0;
}

bool is_mount_root(const char *path)
{
    _cleanup_close_ int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct statx sx;
    if (fd < 0)
        return false;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) == 0 &&
        (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
        return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
    struct stat a, b;
    return fstat(fd, &a) == 0 && fstatat(fd, "..", &b, 0) == 0 && a.st_dev != b.st_dev;
}

int sealed_copy_fd(int src_fd, const char *name, struct berr **err)
{
    struct stat st;
    if (fstat(src_fd, &st) < 0)
        return berr_sys(err, "stat the file to copy into %s", name);
    _cleanup_close_ int mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0)
        return berr_sys(err, "memfd_create %s", name);
    off_t off = 0;
    while (off < st.st_size) {
        ssize_t n = sendfile(mfd, src_fd, &off, (size_t)(st.st_size - off));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berr_sys(err, "copy into the memfd %s", name);
        if (n == 0)
            return berr_code(err, EIO, "copy into the memfd %s: the file shrank", name);
    }
    /* F_SEAL_WRITE fails with EBUSY while a page of the file still has a transient extra
     * reference (the copy's pipe buffers, a CPU's LRU batch); the kernel waits a little
     * itself, and on a loaded machine that is not always enough: try again, briefly. */
    int tries = 0;
    while (fcntl(mfd, F_ADD_SEALS, SEALED_COPY_SEALS) < 0) {
        if (errno != EBUSY || ++tries > 200)
            return berr_sys(err, "seal the memfd %s", name);
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    int fd = mfd;
    mfd = -1;
    return fd;
}
