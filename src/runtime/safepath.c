/* Resolving paths beneath a rootfs directory fd. Every mount target, device node and masked
 * path goes through here: the rootfs belongs to the image (or to a running container sharing
 * it), so any component may be a symlink to "/etc", "../../..", or swapped in between our check
 * and our use (runc CVE-2021-30465). Results are O_PATH fds, and callers act on the fd. */
#include "runtime/rootfs_internal.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <errno.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>

/* As path resolution does (MAXSYMLINKS). */
#define MAX_LINKS 40
/* A symlink target spliced in front of the remaining path may grow it; cap the growth. */
#define MAX_WALK_PATH (16 * 4096)

static int openat2_state; /* 0 unknown, 1 works, -1 ENOSYS */

void rt_resolve_use_openat2(bool use)
{
    openat2_state = use ? 0 : -1;
}

const char *rt_fdpath(struct rt_fdpath *p, int fd)
{
    char tmp[16];
    int n = 0;
    unsigned v = (unsigned)fd;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    memcpy(p->s, "/proc/self/fd/", 14);
    for (int i = 0; i < n; i++)
        p->s[14 + i] = tmp[n - 1 - i];
    p->s[14 + n] = '\0';
    return p->s;
}

char *rt_path_clean(const char *path)
{
    size_t len = strlen(path);
    char *out = xmalloc(len + 2);
    size_t o = 0;
    const char *p = path;
    out[o++] = '/';
    while (*p) {
        while (*p == '/')
            p++;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - start);
        if (n == 0 || (n == 1 && start[0] == '.'))
            continue;
        if (n == 2 && start[0] == '.' && start[1] == '.') {
            while (o > 1 && out[o - 1] != '/')
                o--;
            if (o > 1)
                o--;
            continue;
        }
        if (o > 1)
            out[o++] = '/';
        memcpy(out + o, start, n);
        o += n;
    }
    out[o] = '\0';
    return out;
}

static int sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
    struct open_how how = {.flags = flags, .resolve = resolve};
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* The kernel's own confined lookup. RESOLVE_IN_ROOT treats root as "/" for absolute symlinks
 * and "..", and refuses to finish a lookup that a concurrent rename could have moved outside
 * (EAGAIN, retried). RESOLVE_NO_MAGICLINKS keeps /proc/<pid>/root style links (a container's
 * /proc is mounted inside the rootfs) from jumping anywhere. */
static int openat2_beneath(int root, const char *path, bool nofollow)
{
    uint64_t flags = O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0);
    for (int tries = 0; tries < 32; tries++) {
        int fd = sys_openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (fd >= 0) {
            openat2_state = 1;
            return fd;
        }
        if (errno == EAGAIN || errno == EINTR)
            continue;
        if (errno == ENOSYS || (errno == EINVAL && openat2_state == 0)) {
            openat2_state = -1;
            return -ENOSYS;
        }
        return -errno;
    }
    return -EAGAIN;
}

/* The walk keeps one O_PATH fd per resolved component. ".." pops a level instead of asking the
 * kernel for the parent, so it can never climb above root even if a directory is moved out
 * from under us, and the depth is bounded by the components actually opened. */
struct walk {
    int root;
    int *fds;
    size_t n, cap;
};

static int walk_top(const struct walk *w)
{
    return w->n > 0 ? w->fds[w->n - 1] : w->root;
}

static void walk_pop(struct walk *w)
{
    if (w->n > 0)
        close(w->fds[--w->n]);
}

static void walk_push(struct walk *w, int fd)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->fds = xreallocarray(w->fds, w->cap, sizeof(*w->fds));
    }
    w->fds[w->n++] = fd;
}

static void walk_free(struct walk *w)
{
    while (w->n > 0)
        walk_pop(w);
    free(w->fds);
}

/* Read the link named name in dirfd (name "" reads the O_PATH symlink fd itself). Returns a
 * malloc'd target or NULL with errno. */
static char *read_link_at(int dirfd, const char *name)
{
    size_t cap = 256;
    for (;;) {
        char *buf = xmalloc(cap);
        ssize_t n = readlinkat(dirfd, name, buf, cap);
        if (n < 0) {
            int saved = errno;
            free(buf);
            errno = saved;
            return NULL;
        }
        if ((size_t)n < cap) {
            buf[n] = '\0';
            return buf;
        }
        free(buf);
        if (cap >= 4096 * 2) {
            errno = ENAMETOOLONG;
            return NULL;
        }
        cap *= 2;
    }
}

/* Replace the walk's remaining path with "target/rest". */
static int splice_link(struct walk *w, char **buf, const char **rest, const char *target)
{
    if (target[0] == '\0')
        return -ENOENT;
    size_t tl = strlen(target), rl = strlen(*rest);
    if (tl + rl + 2 > MAX_WALK_PATH)
        return -ENAMETOOLONG;
    char *nbuf = xmalloc(tl + rl + 2);
    memcpy(nbuf, target, tl);
    nbuf[tl] = '/';
    memcpy(nbuf + tl + 1, *rest, rl + 1);
    free(*buf);
    *buf = nbuf;
    *rest = nbuf;
    if (target[0] == '/')
        while (w->n > 0)
            walk_pop(w);
    return 0;
}

/* Make the missing component name in dirfd. EEXIST is fine: something appeared (a racing
 * creator); the caller looks again and treats it like anything it finds. */
static int make_component(int dirfd, const char *name, bool file)
{
    int r = file ? mknodat(dirfd, name, S_IFREG | 0755, 0) : mkdirat(dirfd, name, 0755);
    if (r < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int walk_beneath(int root, const char *path, unsigned flags, bool *created)
{
    struct walk w = {.root = root};
    _cleanup_free_ char *buf = xstrdup(path);
    const char *rest = buf;
    char name[256];
    int links = 0, ret;

    for (;;) {
        while (*rest == '/')
            rest++;
        if (*rest == '\0')
            break;
        const char *end = strchrnul(rest, '/');
        size_t len = (size_t)(end - rest);
        if (len >= sizeof(name)) {
            ret = -ENAMETOOLONG;
            goto out;
        }
        memcpy(name, rest, len);
        name[len] = '\0';
        rest = end;
        const char *after = rest;
        while (*after == '/')
            after++;
        bool last = *after == '\0';

        if (strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            walk_pop(&w);
            continue;
        }

        int tries = 0;
    again:;
        /* O_DIRECTORY on inner components makes a symlink fail with ENOTDIR, so the common
         * case costs one openat; only then do we look at the link. */
        int fd =
            openat(walk_top(&w), name, O_PATH | O_NOFOLLOW | O_CLOEXEC | (last ? 0 : O_DIRECTORY));
        if (fd < 0) {
            int e = errno;
            if (e == ENOENT && (flags & RT_RESOLVE_CREATE) && tries++ < 8) {
                ret = make_component(walk_top(&w), name, last && (flags & RT_RESOLVE_FILE));
                if (ret < 0)
                    goto out;
                if (last && created)
                    *created = true;
                goto again;
            }
            if (e != ENOTDIR) {
                ret = -e;
                goto out;
            }
            _cleanup_free_ char *target = read_link_at(walk_top(&w), name);
            if (target == NULL) {
                ret = errno == EINVAL ? -ENOTDIR : -errno;
                goto out;
            }
            if (++links > MAX_LINKS) {
                ret = -ELOOP;
                goto out;
            }
            ret = splice_link(&w, &buf, &rest, target);
            if (ret < 0)
                goto out;
            continue;
        }
        if (last) {
            struct stat st;
            if (fstat(fd, &st) < 0) {
                ret = -errno;
                close(fd);
                goto out;
            }
            if (S_ISLNK(st.st_mode) && !(flags & RT_RESOLVE_NOFOLLOW_LAST)) {
                _cleanup_free_ char *target = read_link_at(fd, "");
                close(fd);
                if (target == NULL) {
                    ret = -errno;
                    goto out;
                }
                if (++links > MAX_LINKS) {
                    ret = -ELOOP;
                    goto out;
                }
                ret = splice_link(&w, &buf, &rest, target);
                if (ret < 0)
                    goto out;
                continue;
            }
        }
        walk_push(&w, fd);
    }

    if (w.n > 0) {
        ret = w.fds[--w.n];
    } else {
        ret = openat(root, ".", O_PATH | O_CLOEXEC);
        if (ret < 0)
            ret = -errno;
    }
out:
    walk_free(&w);
    return ret;
}

/* The usual miss is only the last component (a mount point the image lacks): make it in its
 * parent, resolved by openat2, instead of walking the whole path. Anything unusual (a missing
 * parent, a dangling symlink in the way, a race) answers 1: let the walk decide. */
static int create_last(int root, const char *path, unsigned flags, bool *created)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    size_t nlen = len - start;
    if (nlen == 0 || nlen >= 256 ||
        (path[start] == '.' && (nlen == 1 || (nlen == 2 && path[start + 1] == '.'))))
        return 1;
    char name[256];
    memcpy(name, path + start, nlen);
    name[nlen] = '\0';
    _cleanup_free_ char *parent_path = start > 0 ? xstrndup(path, start) : xstrdup(".");
    _cleanup_close_ int parent = openat2_beneath(root, parent_path, false);
    if (parent < 0)
        return 1;
    bool file = flags & RT_RESOLVE_FILE;
    int r = file ? mknodat(parent, name, S_IFREG | 0755, 0) : mkdirat(parent, name, 0755);
    if (r < 0)
        return errno == EEXIST ? 1 : -errno;
    /* O_DIRECTORY with O_NOFOLLOW fails on a symlink swapped in since mkdirat. */
    int fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC | (file ? 0 : O_DIRECTORY));
    if (fd < 0)
        return 1;
    if (file) {
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            close(fd);
            return 1;
        }
    }
    if (created)
        *created = true;
    return fd;
}

int rt_resolve_beneath(int root, const char *path, unsigned flags, bool *created)
{
    if (created)
        *created = false;
    if (path[0] == '\0')
        path = ".";
    if (openat2_state >= 0) {
        int fd = openat2_beneath(root, path, flags & RT_RESOLVE_NOFOLLOW_LAST);
        if (fd >= 0)
            return fd;
        /* A missing component is the only thing the walk can do better: create it. */
        if (fd == -ENOENT && (flags & RT_RESOLVE_CREATE)) {
            fd = create_last(root, path, flags, created);
            if (fd != 1)
                return fd;
        } else if (fd != -ENOSYS) {
            return fd;
        }
    }
    return walk_beneath(root, path, flags, created);
}

int rt_open_beneath(int root, const char *path, bool create, bool make_file, struct berr **err)
{
    unsigned flags = (create ? RT_RESOLVE_CREATE : 0) | (make_file ? RT_RESOLVE_FILE : 0);
    int fd = rt_resolve_beneath(root, path, flags, NULL);
    if (fd < 0)
        return berr_set(err, -fd, "resolve %s in the root filesystem", path);
    return fd;
}
