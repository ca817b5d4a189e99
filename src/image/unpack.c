/* Layer unpacking: two stacked libarchive readers (decompression, then tar) fed from one fd so
 * that the compressed and the uncompressed bytes are both hashed in a single pass, and an applier
 * that creates every entry with *at() calls relative to a parent directory resolved beneath the
 * destination, so that no name, symlink or hardlink in a hostile layer reaches outside it.
 * Whiteouts become overlayfs markers or are applied directly, per img_whiteout_mode. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/unpack.h"

#define READ_BUF_SIZE        (1024 * 1024)
#define MAX_SYMLINKS         40 /* what the kernel allows in one resolution */
#define WH_PREFIX            ".wh."
#define WH_META_PREFIX       ".wh..wh."
#define WH_OPAQUE            ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."

/* Relative paths ("a/b") of what this layer created, for opaque markers in APPLY mode. Open
 * addressing over a power-of-two table. */
struct pathset {
    char **slots;
    size_t cap, n;
};

struct dir_time {
    char *path;
    struct timespec ts[2];
};

struct meta {
    uid_t uid;
    gid_t gid;
    mode_t perm;
    bool has_times;
    struct timespec ts[2]; /* atime, mtime */
};

struct unpack {
    int src;
    int root; /* the destination, opened here as a directory */
    enum img_whiteout_mode mode;
    bool walk; /* resolve with walk_dir(): no openat2() here, or told to */

    struct archive *outer, *inner;
    struct img_hasher *chash, *uhash;
    bool uncompressed; /* the two streams are one: hash once */
    uint64_t csize, usize, entries;
    unsigned char *buf;
    bool outer_done;
    int read_errno;  /* a failed read() of src */
    char *outer_msg; /* the decompressor's complaint, seen from inside inner_read() */

    /* One-entry cache of the last parent directory; parent_path is NULL once something that
     * could change how it resolves was removed (the fd lives on until replaced, as a caller may
     * still be using it). */
    char *parent_path;
    int parent_fd;

    struct dir_time *dirs;
    size_t ndirs, dirs_cap;
    struct pathset created;
    const char *raw; /* the current member's name, as in the tar, for messages */
    char *last;      /* a copy of the previous member's name: libarchive frees raw's storage
                        when it reads the next header, even when that read fails */
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static bool pathset_has(const struct pathset *s, const char *p)
{
    if (s->cap == 0)
        return false;
    for (size_t i = hash_str(p) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slots[i] == NULL)
            return false;
        if (strcmp(s->slots[i], p) == 0)
            return true;
    }
}

static void pathset_put(struct pathset *s, char *owned)
{
    size_t i = hash_str(owned) & (s->cap - 1);
    while (s->slots[i] != NULL)
        i = (i + 1) & (s->cap - 1);
    s->slots[i] = owned;
}

static void pathset_add(struct pathset *s, const char *p)
{
    if (pathset_has(s, p))
        return;
    if ((s->n + 1) * 2 > s->cap) {
        struct pathset bigger = {.cap = s->cap ? s->cap * 2 : 1024};
        bigger.slots = xcalloc(bigger.cap, sizeof(char *));
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i] != NULL)
                pathset_put(&bigger, s->slots[i]);
        free(s->slots);
        s->slots = bigger.slots;
        s->cap = bigger.cap;
    }
    pathset_put(s, xstrdup(p));
    s->n++;
}

static void pathset_clear(struct pathset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    *s = (struct pathset){0};
}

/* Names come from the layer: escape what would garble a message, and cap the length. */
static char *printable(const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s), shown = n > 200 ? 200 : n, k = 0;
    char *o = xmalloc(shown * 4 + 4);
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f) {
            o[k++] = '\\';
            o[k++] = 'x';
            o[k++] = hex[c >> 4];
            o[k++] = hex[c & 15];
        } else {
            o[k++] = (char)c;
        }
    }
    if (shown < n)
        for (int i = 0; i < 3; i++)
            o[k++] = '.';
    o[k] = '\0';
    return o;
}

static int entry_err(struct unpack *u, struct berr **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int entry_err(struct unpack *u, struct berr **err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    _cleanup_free_ char *name = printable(u->raw ? u->raw : "");
    return berr_set(err, errnum, "layer entry '%s': %s", name, msg);
}

/* A member name or hardlink target as a relative path without "." or empty components and
 * without a trailing '/'; "" is the layer's root. what names it in messages. */
static int clean_path(struct unpack *u, const char *raw, const char *what, char **out,
                      struct berr **err)
{
    size_t n = strlen(raw);
    if (n == 0)
        return entry_err(u, err, 0, "%s is empty", what);
    if (n >= PATH_MAX)
        return entry_err(u, err, 0, "%s is %zu bytes long; the limit is %d", what, n, PATH_MAX - 1);
    if (raw[0] == '/')
        return entry_err(u, err, 0, "%s is absolute; layer paths must be relative", what);
    _cleanup_free_ char *o = xmalloc(n + 1);
    size_t len = 0;
    for (const char *p = raw; *p;) {
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t c = (size_t)(p - s);
        if (*p == '/')
            p++;
        if (c == 0 || (c == 1 && s[0] == '.'))
            continue;
        if (c == 2 && s[0] == '.' && s[1] == '.')
            return entry_err(u, err, 0, "%s leaves the layer ('..')", what);
        if (c > NAME_MAX)
            return entry_err(u, err, 0, "%s has a component of %zu bytes; the limit is %d", what, c,
                             NAME_MAX);
        if (len > 0)
            o[len++] = '/';
        memcpy(o + len, s, c);
        len += c;
    }
    o[len] = '\0';
    *out = steal_ptr(&o);
    return 0;
}

/* Splits a clean path into its directory (a new string, "" for the root) and its last name. */
static char *split_path(const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
}

static int openat2_dir(int root, const char *path)
{
    struct open_how how = {
        .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    /* EAGAIN: a concurrent rename raced a ".." lookup; the kernel asks us to retry. */
    for (int i = 0; i < 16; i++) {
        long fd = syscall(SYS_openat2, root, path, &how, sizeof(how));
        if (fd >= 0 || errno != EAGAIN)
            return (int)fd;
    }
    return -1;
}

static void close_fds(int *fds, size_t n)
{
    int saved = errno;
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    errno = saved;
}

/* What openat2(RESOLVE_BENEATH) does, for kernels before 5.6: one component at a time with
 * O_NOFOLLOW, symlinks expanded here, absolute ones and ".." above root refused with EXDEV. */
static int walk_dir(int root, const char *path)
{
    _cleanup_free_ int *stack = NULL; /* the open directories below root, deepest last */
    size_t depth = 0, cap = 0;
    _cleanup_free_ char *todo = xstrdup(path);
    size_t pos = 0;
    int links = 0;
    while (todo[pos] != '\0') {
        size_t start = pos;
        while (todo[pos] != '\0' && todo[pos] != '/')
            pos++;
        size_t len = pos - start;
        if (todo[pos] == '/')
            pos++;
        if (len == 0 || (len == 1 && todo[start] == '.'))
            continue;
        if (len == 2 && todo[start] == '.' && todo[start + 1] == '.') {
            if (depth == 0) {
                errno = EXDEV;
                return -1;
            }
            close(stack[--depth]);
            continue;
        }
        if (len > NAME_MAX) {
            close_fds(stack, depth);
            errno = ENAMETOOLONG;
            return -1;
        }
        char name[NAME_MAX + 1];
        memcpy(name, todo + start, len);
        name[len] = '\0';
        int top = depth ? stack[depth - 1] : root;
        int fd = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            if (depth == cap) {
                cap = cap ? cap * 2 : 16;
                stack = xreallocarray(stack, cap, sizeof(int));
            }
            stack[depth++] = fd;
            continue;
        }
        int open_errno = errno;
        char target[PATH_MAX];
        ssize_t tn = -1;
        if (open_errno == ELOOP || open_errno == ENOTDIR)
            tn = readlinkat(top, name, target, sizeof(target) - 1);
        if (tn <= 0) {
            close_fds(stack, depth);
            errno = tn == 0 ? ENOENT : open_errno;
            return -1;
        }
        target[tn] = '\0';
        if (++links > MAX_SYMLINKS || target[0] == '/') {
            close_fds(stack, depth);
            errno = target[0] == '/' ? EXDEV : ELOOP;
            return -1;
        }
        char *next = xasprintf("%s/%s", target, todo + pos);
        free(todo);
        todo = next;
        pos = 0;
    }
    if (depth == 0)
        return fcntl(root, F_DUPFD_CLOEXEC, 3);
    close_fds(stack, depth - 1);
    return stack[depth - 1];
}

/* An owned fd of the directory at clean path `path` beneath the root; -1 with errno (EXDEV when
 * a symlink leads out) on failure. */
static int open_beneath(struct unpack *u, const char *path)
{
    if (path[0] == '\0')
        return fcntl(u->root, F_DUPFD_CLOEXEC, 3);
    if (!u->walk) {
        int fd = openat2_dir(u->root, path);
        /* EPERM: seccomp profiles written before openat2 existed may refuse it that way. */
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
            return fd;
        u->walk = true;
    }
    return walk_dir(u->root, path);
}

/* Creates the missing directories of `dir` (0755, owned by us) as tar does for members whose
 * parents the archive does not list, and returns the last one's fd. */
static int make_dirs(struct unpack *u, const char *dir)
{
    _cleanup_free_ char *prefix = xstrdup(dir);
    _cleanup_close_ int cur = fcntl(u->root, F_DUPFD_CLOEXEC, 3);
    bool missing = false;
    for (char *p = prefix;;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        int next = missing ? -1 : open_beneath(u, prefix);
        if (next < 0 && (missing || errno == ENOENT)) {
            bool made = mkdirat(cur, p, 0755) == 0;
            if (!made && errno != EEXIST)
                return -1;
            /* Only a directory just made here is opened without resolution; EEXIST means a
             * dangling symlink, which resolving again reports. */
            missing = made;
            next = made ? openat(cur, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                        : open_beneath(u, prefix);
            if (next >= 0 && made) {
                fchmod(next, 0755); /* whatever the umask */
                if (u->mode == IMG_WHITEOUT_APPLY)
                    pathset_add(&u->created, prefix);
            }
        }
        if (next < 0)
            return -1;
        close(cur);
        cur = next;
        if (slash == NULL)
            break;
        *slash = '/';
        p = slash + 1;
    }
    return steal_fd(&cur);
}

/* The fd of directory `dir` (clean path), borrowed from the cache: valid until the next call. */
static int get_dir(struct unpack *u, const char *dir, bool create)
{
    if (u->parent_path != NULL && strcmp(u->parent_path, dir) == 0)
        return u->parent_fd;
    int fd = open_beneath(u, dir);
    if (fd < 0 && errno == ENOENT && create)
        fd = make_dirs(u, dir);
    if (fd < 0)
        return -1;
    free(u->parent_path);
    closep(&u->parent_fd);
    u->parent_path = xstrdup(dir);
    u->parent_fd = fd;
    return fd;
}

static void forget_dirs(struct unpack *u)
{
    free(u->parent_path);
    u->parent_path = NULL;
}

/* Explains why directory `dir` could not be opened (errno): finds the shortest prefix at fault
 * and says what it is. what prefixes the message ("" or "hardlink target 'x': "). */
static int dir_error(struct unpack *u, const char *dir, int errnum, const char *what,
                     struct berr **err)
{
    _cleanup_free_ char *prefix = xstrdup(dir);
    if (errnum != EXDEV && errnum != ENOTDIR && errnum != ELOOP && errnum != ENOENT) {
        _cleanup_free_ char *shown = printable(dir);
        return entry_err(u, err, errnum, "%sopen or create parent '%s'", what, shown);
    }
    for (char *slash = prefix;; slash++) {
        slash = strchr(slash, '/');
        if (slash)
            *slash = '\0';
        int fd = open_beneath(u, prefix);
        if (fd < 0) {
            errnum = errno;
            break;
        }
        close(fd);
        if (slash == NULL)
            break;
        *slash = '/';
    }
    _cleanup_free_ char *shown = printable(prefix);
    struct stat st;
    bool is_link = false;
    _cleanup_free_ char *above = NULL;
    const char *base;
    above = split_path(prefix, &base);
    int afd = open_beneath(u, above);
    if (afd >= 0) {
        is_link = fstatat(afd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
        close(afd);
    }
    switch (errnum) {
    case EXDEV:
        return entry_err(u, err, 0, "%sparent '%s' is a symlink that leads out of the layer", what,
                         shown);
    case ENOTDIR:
        return entry_err(u, err, 0, "%sparent '%s' is not a directory", what, shown);
    case ELOOP:
        return entry_err(u, err, 0, "%sparent '%s' has too many levels of symlinks", what, shown);
    case ENOENT:
        if (is_link)
            return entry_err(u, err, 0, "%sparent '%s' is a symlink to nothing", what, shown);
        return entry_err(u, err, 0, "%sparent '%s' does not exist", what, shown);
    default:
        return entry_err(u, err, errnum, "%sopen parent '%s'", what, shown);
    }
}

/* Makes room at base for a new entry: returns 1 when a directory is there and want_dir (it is
 * kept, as tar keeps it), 0 once the name is free. */
static int clear_slot(struct unpack *u, int dirfd, const char *base, bool want_dir,
                      struct berr **err)
{
    struct stat st;
    if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 0;
        return entry_err(u, err, errno, "inspect the existing entry");
    }
    if (S_ISDIR(st.st_mode) && want_dir)
        return 1;
    if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
        forget_dirs(u);
    if (S_ISDIR(st.st_mode)) {
        _cleanup_berr_ struct berr *e = NULL;
        if (rm_rf_at(dirfd, base, &e) < 0)
            return entry_err(u, err, 0, "remove the directory it replaces: %s", e->msg);
    } else if (unlinkat(dirfd, base, 0) < 0 && errno != ENOENT) {
        return entry_err(u, err, errno, "remove the entry it replaces");
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int read_meta(struct unpack *u, struct archive_entry *e, struct meta *m, struct berr **err)
{
    la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
    /* (uid_t)-1 means "leave unchanged" to chown(). */
    if (uid < 0 || uid >= (la_int64_t)UINT32_MAX || gid < 0 || gid >= (la_int64_t)UINT32_MAX)
        return entry_err(u, err, 0, "owner %lld:%lld is out of range", (long long)uid,
                         (long long)gid);
    m->uid = (uid_t)uid;
    m->gid = (gid_t)gid;
    m->perm = archive_entry_perm(e) & 07777;
    m->has_times = archive_entry_mtime_is_set(e);
    if (m->has_times) {
        long ns = archive_entry_mtime_nsec(e);
        m->ts[1] = (struct timespec){archive_entry_mtime(e), ns >= 0 && ns < 1000000000 ? ns : 0};
        m->ts[0] = m->ts[1];
        if (archive_entry_atime_is_set(e)) {
            ns = archive_entry_atime_nsec(e);
            m->ts[0] =
                (struct timespec){archive_entry_atime(e), ns >= 0 && ns < 1000000000 ? ns : 0};
        }
    }
    int count = archive_entry_xattr_reset(e);
    if (count == 0)
        return 0;
    _cleanup_free_ const char **names = xcalloc((size_t)count, sizeof(char *));
    int n = 0;
    const char *name;
    const void *value;
    size_t size;
    while (n < count && archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        if (name == NULL || name[0] == '\0' || strlen(name) > XATTR_NAME_MAX)
            return entry_err(u, err, 0, "an extended attribute has an empty or too long name");
        if (size > IMG_UNPACK_MAX_XATTR_VALUE) {
            _cleanup_free_ char *shown = printable(name);
            return entry_err(u, err, 0, "extended attribute %s has %zu bytes; the limit is %d",
                             shown, size, IMG_UNPACK_MAX_XATTR_VALUE);
        }
        names[n++] = name;
    }
    /* libarchive lists an attribute once per pax spelling (SCHILY.xattr, LIBARCHIVE.xattr):
     * count distinct names. */
    qsort(names, (size_t)n, sizeof(char *), cmp_str);
    int distinct = 0;
    for (int i = 0; i < n; i++)
        distinct += i == 0 || strcmp(names[i - 1], names[i]) != 0;
    if (distinct > IMG_UNPACK_MAX_XATTRS)
        return entry_err(u, err, 0, "%d extended attributes; the limit is %d", distinct,
                         IMG_UNPACK_MAX_XATTRS);
    return 0;
}

static int set_xattrs(struct unpack *u, struct archive_entry *e, int fd, int dirfd,
                      const char *base, bool special, struct berr **err)
{
    int count = archive_entry_xattr_reset(e);
    if (count == 0)
        return 0;
    const char *name;
    const void *value;
    size_t size;
    char proc[64 + NAME_MAX];
    if (fd < 0)
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, base);
    _cleanup_free_ const char **seen = xcalloc((size_t)count, sizeof(char *));
    int nseen = 0;
    while (nseen < count && archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        /* The same attribute comes twice from pax headers (see read_meta): set it once. */
        bool dup = false;
        for (int i = 0; i < nseen && !dup; i++)
            dup = strcmp(seen[i], name) == 0;
        seen[nseen++] = name;
        if (dup)
            continue;
        /* overlayfs reads these from its layers (redirects, metacopy, opaque): a layer must not
         * forge them; opacity comes only from the .wh..wh..opq marker. */
        if (strncmp(name, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)) == 0)
            continue;
        /* No setxattrat() before Linux 6.13: a symlink or device is reached through its
         * directory's fd in /proc, whose last component lsetxattr() does not follow. */
        int r =
            fd >= 0 ? fsetxattr(fd, name, value, size, 0) : lsetxattr(proc, name, value, size, 0);
        if (r == 0 || errno == ENOTSUP)
            continue;
        /* The kernel refuses user.* attributes on symlinks and device nodes. */
        if (errno == EPERM && special && strncmp(name, "user.", 5) == 0)
            continue;
        _cleanup_free_ char *shown = printable(name);
        return entry_err(u, err, errno, "set extended attribute %s", shown);
    }
    return 0;
}

static void defer_dir_times(struct unpack *u, const char *path, const struct meta *m)
{
    if (!m->has_times)
        return;
    if (u->ndirs == u->dirs_cap) {
        u->dirs_cap = u->dirs_cap ? u->dirs_cap * 2 : 256;
        u->dirs = xreallocarray(u->dirs, u->dirs_cap, sizeof(*u->dirs));
    }
    u->dirs[u->ndirs].path = xstrdup(path);
    memcpy(u->dirs[u->ndirs].ts, m->ts, sizeof(m->ts));
    u->ndirs++;
}

/* Owner first, since chown() clears setuid/setgid bits and file capabilities; then xattrs and
 * mode; times last. Through fd when there is one, else by name under dirfd without following.
 * Directories' times wait for the end, when nothing more is written inside them. */
static int set_meta(struct unpack *u, struct archive_entry *e, const struct meta *m, int fd,
                    int dirfd, const char *base, mode_t type, const char *path, struct berr **err)
{
    bool is_link = type == AE_IFLNK;
    int r = fd >= 0 ? fchown(fd, m->uid, m->gid)
                    : fchownat(dirfd, base, m->uid, m->gid, AT_SYMLINK_NOFOLLOW);
    if (r < 0)
        return entry_err(u, err, errno, "set owner %u:%u", m->uid, m->gid);
    if (set_xattrs(u, e, fd, dirfd, base, type != AE_IFREG && type != AE_IFDIR, err) < 0)
        return -1;
    /* A symlink's mode means nothing on Linux, and cannot be set without following it. */
    if (!is_link) {
        r = fd >= 0 ? fchmod(fd, m->perm) : fchmodat(dirfd, base, m->perm, 0);
        if (r < 0)
            return entry_err(u, err, errno, "set mode %04o", m->perm);
    }
    if (type == AE_IFDIR) {
        defer_dir_times(u, path, m);
        return 0;
    }
    if (!m->has_times)
        return 0;
    r = fd >= 0 ? futimens(fd, m->ts) : utimensat(dirfd, base, m->ts, AT_SYMLINK_NOFOLLOW);
    if (r < 0)
        return entry_err(u, err, errno, "set times");
    return 0;
}

/* Why the tar stream stopped: a read error, the decompressor, or the tar reader. */
static int stream_err(struct unpack *u, const char *what, struct berr **err)
{
    if (u->read_errno != 0)
        return berr_set(err, u->read_errno, "layer: %s: reading the layer", what);
    if (u->outer_msg != NULL)
        return berr_set(err, 0, "layer: %s: the %s stream is corrupt: %s", what,
                        archive_filter_name(u->outer, 0), u->outer_msg);
    const char *msg = archive_error_string(u->inner);
    return berr_set(err, 0, "layer: %s: %s", what, msg ? msg : "malformed tar stream");
}

static int write_data(struct unpack *u, struct archive_entry *e, int fd, struct berr **err)
{
    la_int64_t pos = 0;
    for (;;) {
        const void *block;
        size_t len;
        la_int64_t off;
        int r = archive_read_data_block(u->inner, &block, &len, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            _cleanup_free_ char *shown = printable(u->raw);
            _cleanup_free_ char *what = xasprintf("entry '%s'", shown);
            return stream_err(u, what, err);
        }
        /* Sparse members jump ahead; the skipped range reads back as zeros. */
        if (off != pos) {
            if (off < pos || lseek(fd, off, SEEK_SET) < 0)
                return entry_err(u, err, off < pos ? 0 : errno, "bad data offset %lld",
                                 (long long)off);
            pos = off;
        }
        if (write_all(fd, block, len) < 0)
            return entry_err(u, err, errno, "write");
        pos += (la_int64_t)len;
    }
    la_int64_t size = archive_entry_size(e);
    if (size > pos && ftruncate(fd, size) < 0)
        return entry_err(u, err, errno, "extend to %lld bytes", (long long)size);
    return 0;
}

static int make_hardlink(struct unpack *u, const char *target_raw, const char *path, int dirfd,
                         const char *base, struct berr **err)
{
    _cleanup_free_ char *shown = printable(target_raw);
    _cleanup_free_ char *what = xasprintf("hardlink target '%s'", shown);
    _cleanup_free_ char *target = NULL;
    if (clean_path(u, target_raw, what, &target, err) < 0)
        return -1;
    if (target[0] == '\0')
        return entry_err(u, err, 0, "%s is the layer's root", what);
    struct stat st;
    if (strcmp(target, path) == 0 && fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return 0; /* a link to itself, as some archivers write: already there */
    const char *tbase;
    _cleanup_free_ char *tdir = split_path(target, &tbase);
    _cleanup_close_ int tfd = open_beneath(u, tdir);
    if (tfd < 0) {
        if (errno == ENOENT)
            return entry_err(u, err, 0, "%s does not exist in the layer", what);
        _cleanup_free_ char *prefix = xasprintf("%s: ", what);
        return dir_error(u, tdir, errno, prefix, err);
    }
    /* No AT_SYMLINK_FOLLOW: a symlink target gets linked itself, never what it points to. */
    for (int tries = 0;; tries++) {
        if (linkat(tfd, tbase, dirfd, base, 0) == 0)
            return 0;
        if (errno == ENOENT)
            return entry_err(u, err, 0, "%s does not exist in the layer", what);
        if (errno == EPERM && fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISDIR(st.st_mode))
            return entry_err(u, err, 0, "%s is a directory", what);
        if (errno != EEXIST || tries > 0)
            return entry_err(u, err, errno, "link to %s", what);
        if (clear_slot(u, dirfd, base, false, err) < 0)
            return -1;
    }
}

/* Creates the node for a non-hardlink entry; *fd gets an open fd for regular files and
 * directories. Returns 0, or -1 with errno (EEXIST when the name is taken). */
static int create_node(struct archive_entry *e, mode_t type, int dirfd, const char *base, int *fd)
{
    switch (type) {
    case AE_IFREG:
        *fd = openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        return *fd < 0 ? -1 : 0;
    case AE_IFDIR:
        return mkdirat(dirfd, base, 0700);
    case AE_IFLNK:
        return symlinkat(archive_entry_symlink(e), dirfd, base);
    case AE_IFCHR:
    case AE_IFBLK:
        return mknodat(dirfd, base, type | 0600,
                       makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e)));
    case AE_IFIFO:
        return mknodat(dirfd, base, S_IFIFO | 0600, 0);
    default:
        errno = EINVAL;
        return -1;
    }
}

static int apply_node(struct unpack *u, struct archive_entry *e, mode_t type, const char *path,
                      int dirfd, const char *base, struct berr **err)
{
    struct meta m = {0};
    if (read_meta(u, e, &m, err) < 0)
        return -1;
    if (type == AE_IFLNK) {
        const char *t = archive_entry_symlink(e);
        if (t == NULL || t[0] == '\0')
            return entry_err(u, err, 0, "symlink with an empty target");
        if (strlen(t) >= PATH_MAX)
            return entry_err(u, err, 0, "symlink target longer than %d bytes", PATH_MAX - 1);
    }
    _cleanup_close_ int fd = -1;
    for (int tries = 0;; tries++) {
        if (create_node(e, type, dirfd, base, &fd) == 0)
            break;
        if (errno != EEXIST || tries > 0)
            return entry_err(u, err, errno, "create");
        int kept = clear_slot(u, dirfd, base, type == AE_IFDIR, err);
        if (kept < 0)
            return -1;
        if (kept)
            break;
    }
    if (type == AE_IFDIR) {
        fd = openat(dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return entry_err(u, err, errno, "open the directory");
    }
    if (type == AE_IFREG && write_data(u, e, fd, err) < 0)
        return -1;
    return set_meta(u, e, &m, fd, dirfd, base, type, path, err);
}

/* Removes, beneath directory fd dirfd (at clean path rel), everything this layer did not create:
 * what an opaque marker hides in APPLY mode. */
static int clear_unowned(struct unpack *u, int dirfd, const char *rel, struct berr **err)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        closep(&fd);
        return entry_err(u, err, errno, "list '%s' for the opaque marker", rel);
    }
    _cleanup_strv_ char **names = NULL;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            strv_append(&names, de->d_name);
    closedir(d);
    forget_dirs(u);
    for (size_t i = 0; names && names[i]; i++) {
        _cleanup_free_ char *child = rel[0] ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
        if (!pathset_has(&u->created, child)) {
            _cleanup_berr_ struct berr *e = NULL;
            if (rm_rf_at(dirfd, names[i], &e) < 0)
                return entry_err(u, err, 0, "opaque marker: remove '%s': %s", child, e->msg);
            continue;
        }
        _cleanup_close_ int sub =
            openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0 && clear_unowned(u, sub, child, err) < 0)
            return -1;
    }
    return 0;
}

static int apply_whiteout(struct unpack *u, const char *dir, const char *base, struct berr **err)
{
    size_t rn = strlen(u->raw);
    if (rn > 0 && u->raw[rn - 1] == '/')
        return entry_err(u, err, 0, "a whiteout must be a file name, without a trailing '/'");
    bool opaque = strcmp(base, WH_OPAQUE) == 0;
    if (!opaque && strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0)
        return 0; /* aufs bookkeeping (.wh..wh.aufs, .wh..wh.plnk) from old images */
    const char *name = base + strlen(WH_PREFIX);
    if (!opaque && (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0))
        return entry_err(u, err, 0, "whiteout names no file");
    bool overlay = u->mode == IMG_WHITEOUT_OVERLAY;
    int dirfd = get_dir(u, dir, overlay);
    if (dirfd < 0) {
        /* With no parent there is nothing to hide, unless it leads out of the layer. */
        if (!overlay && (errno == ENOENT || errno == ENOTDIR))
            return 0;
        return dir_error(u, dir, errno, "", err);
    }
    if (opaque) {
        if (!overlay)
            return clear_unowned(u, dirfd, dir, err);
        if (fsetxattr(dirfd, OVERLAY_XATTR_PREFIX "opaque", "y", 1, 0) < 0)
            return entry_err(u, err, errno, "mark '%s' opaque (trusted.overlay.opaque)", dir);
        return 0;
    }
    /* A whiteout hides what lower layers have, never what this layer itself created. */
    struct stat st;
    if (overlay) {
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            return 0;
        if (mknodat(dirfd, name, S_IFCHR, makedev(0, 0)) < 0)
            return entry_err(u, err, errno, "create the overlay whiteout device");
        return 0;
    }
    _cleanup_free_ char *target = dir[0] ? xasprintf("%s/%s", dir, name) : xstrdup(name);
    if (pathset_has(&u->created, target))
        return 0;
    return clear_slot(u, dirfd, name, false, err);
}

static int apply_entry(struct unpack *u, struct archive_entry *e, struct berr **err)
{
    u->raw = archive_entry_pathname(e);
    if (u->raw == NULL)
        return berr_set(err, 0, "layer entry %llu has no readable name",
                        (unsigned long long)u->entries);
    _cleanup_free_ char *path = NULL;
    if (clean_path(u, u->raw, "path", &path, err) < 0)
        return -1;
    for (const char *c = path, *slash; (slash = strchr(c, '/')) != NULL; c = slash + 1) {
        if (strncmp(c, WH_PREFIX, strlen(WH_PREFIX)) != 0)
            continue;
        if (c == path && strncmp(c, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0)
            return 0; /* inside aufs' .wh..wh.plnk */
        return entry_err(u, err, 0, "a whiteout name is used as a directory");
    }
    const char *base;
    _cleanup_free_ char *dir = split_path(path, &base);
    if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
        return apply_whiteout(u, dir, base, err);

    const char *hardlink = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    if (hardlink == NULL) {
        switch (type) {
        case AE_IFREG:
        case AE_IFDIR:
        case AE_IFLNK:
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
            break;
        case AE_IFSOCK:
            return 0; /* a socket cannot be recreated from an archive; tar skips it too */
        default:
            return entry_err(u, err, 0, "unsupported entry type 0%o", (unsigned)type);
        }
    }
    if (path[0] == '\0') {
        if (hardlink != NULL || type != AE_IFDIR)
            return entry_err(u, err, 0, "the layer's root must be a directory");
        struct meta m = {0};
        if (read_meta(u, e, &m, err) < 0)
            return -1;
        return set_meta(u, e, &m, u->root, -1, "", AE_IFDIR, "", err);
    }
    int dirfd = get_dir(u, dir, true);
    if (dirfd < 0)
        return dir_error(u, dir, errno, "", err);
    int r = hardlink ? make_hardlink(u, hardlink, path, dirfd, base, err)
                     : apply_node(u, e, type, path, dirfd, base, err);
    if (r == 0 && u->mode == IMG_WHITEOUT_APPLY)
        pathset_add(&u->created, path);
    return r;
}

static void finish_dir_times(struct unpack *u)
{
    /* In archive order, so that a directory listed twice ends with its last times. Anything
     * that is gone or no longer a directory by now was replaced, and is skipped. */
    for (size_t i = 0; i < u->ndirs; i++) {
        struct dir_time *d = &u->dirs[i];
        if (d->path[0] == '\0') {
            futimens(u->root, d->ts);
            continue;
        }
        const char *base;
        _cleanup_free_ char *dir = split_path(d->path, &base);
        int dirfd = get_dir(u, dir, false);
        struct stat st;
        if (dirfd >= 0 && fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISDIR(st.st_mode))
            utimensat(dirfd, base, d->ts, AT_SYMLINK_NOFOLLOW);
    }
}

static la_ssize_t outer_read(struct archive *a, void *data, const void **buf)
{
    struct unpack *u = data;
    ssize_t n;
    do
        n = read(u->src, u->buf, READ_BUF_SIZE);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        u->read_errno = errno;
        archive_set_error(a, errno, "read");
        return -1;
    }
    img_hasher_update(u->chash, u->buf, (size_t)n);
    u->csize += (uint64_t)n;
    *buf = u->buf;
    return n;
}

/* The tar reader's input: the decompressor's output, handed over without a copy. */
static la_ssize_t inner_read(struct archive *a, void *data, const void **buf)
{
    struct unpack *u = data;
    while (!u->outer_done) {
        size_t len = 0;
        la_int64_t off;
        int r = archive_read_data_block(u->outer, buf, &len, &off);
        if (r == ARCHIVE_EOF) {
            u->outer_done = true;
            break;
        }
        if (r < ARCHIVE_WARN) {
            const char *msg = archive_error_string(u->outer);
            free(u->outer_msg);
            u->outer_msg = xstrdup(msg ? msg : "decompression failed");
            archive_set_error(a, EIO, "%s", u->outer_msg);
            return -1;
        }
        if (len == 0)
            continue;
        if (!u->uncompressed)
            img_hasher_update(u->uhash, *buf, len);
        u->usize += len;
        return (la_ssize_t)len;
    }
    return 0;
}

static void unpack_done(struct unpack *u)
{
    if (u->inner)
        archive_read_free(u->inner);
    if (u->outer)
        archive_read_free(u->outer);
    img_hasher_free(u->chash);
    img_hasher_free(u->uhash);
    free(u->buf);
    free(u->outer_msg);
    free(u->last);
    free(u->parent_path);
    closep(&u->parent_fd);
    closep(&u->root);
    for (size_t i = 0; i < u->ndirs; i++)
        free(u->dirs[i].path);
    free(u->dirs);
    pathset_clear(&u->created);
}

static int open_streams(struct unpack *u, struct berr **err)
{
    u->outer = archive_read_new();
    u->inner = archive_read_new();
    if (u->outer == NULL || u->inner == NULL)
        abort();
    if (archive_read_support_filter_gzip(u->outer) < ARCHIVE_WARN ||
        archive_read_support_filter_zstd(u->outer) < ARCHIVE_WARN ||
        archive_read_support_filter_xz(u->outer) < ARCHIVE_WARN ||
        archive_read_support_filter_bzip2(u->outer) < ARCHIVE_WARN ||
        archive_read_support_format_raw(u->outer) != ARCHIVE_OK ||
        archive_read_support_format_tar(u->inner) != ARCHIVE_OK ||
        archive_read_support_format_empty(u->inner) != ARCHIVE_OK)
        return berr_set(err, 0, "layer: libarchive lacks a decompressor or the tar reader");
    struct archive_entry *raw;
    int r = archive_read_open(u->outer, u, NULL, outer_read, NULL);
    if (r == ARCHIVE_OK)
        r = archive_read_next_header(u->outer, &raw);
    /* An empty stream is an empty layer (as Docker takes it), though no format claims it. */
    bool empty = r < ARCHIVE_WARN && u->csize == 0 && u->read_errno == 0;
    if (r == ARCHIVE_EOF || empty) {
        u->outer_done = true;
    } else if (r < ARCHIVE_WARN) {
        if (u->read_errno != 0)
            return berr_set(err, u->read_errno, "layer: reading the layer");
        const char *msg = archive_error_string(u->outer);
        if (archive_filter_count(u->outer) > 1)
            return berr_set(err, 0, "layer: the %s stream is corrupt: %s",
                            archive_filter_name(u->outer, 0), msg ? msg : "unknown error");
        return berr_set(err, 0, "layer: cannot read the stream: %s", msg ? msg : "unknown error");
    }
    /* Filters are stacked as detected; past one decompressor the bytes are not the tar the
     * descriptor's media type promised, and the diff ID would not be what others compute. */
    int filters = empty ? 1 : archive_filter_count(u->outer);
    if (filters > 2)
        return berr_set(err, 0, "layer: compressed more than once (%s inside %s)",
                        archive_filter_name(u->outer, 0), archive_filter_name(u->outer, 1));
    u->uncompressed = filters <= 1;
    if (archive_read_open(u->inner, u, NULL, inner_read, NULL) != ARCHIVE_OK) {
        if (u->read_errno != 0 || u->outer_msg != NULL)
            return stream_err(u, "start", err);
        return berr_set(err, 0, "layer: not a tar archive%s%s%s (%s)",
                        u->uncompressed ? "" : " after ",
                        u->uncompressed ? "" : archive_filter_name(u->outer, 0),
                        u->uncompressed ? "" : " decompression", archive_error_string(u->inner));
    }
    return 0;
}

/* Everything after the tar's end still counts toward both digests. */
static int drain(struct unpack *u, struct berr **err)
{
    const void *buf;
    while (inner_read(u->inner, u, &buf) > 0)
        ;
    if (u->outer_msg != NULL || u->read_errno != 0)
        return stream_err(u, "after the end of the tar", err);
    for (;;) {
        ssize_t n = read(u->src, u->buf, READ_BUF_SIZE);
        if (n == 0)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berr_sys(err, "layer: reading the layer");
        img_hasher_update(u->chash, u->buf, (size_t)n);
        u->csize += (uint64_t)n;
    }
}

int img_unpack_layer(int src_fd, int dest_dirfd, const struct img_unpack_opts *opts,
                     struct img_unpack_result *res, struct berr **err)
{
    _cleanup_(unpack_done) struct unpack u = {
        .src = src_fd,
        .root = -1,
        .parent_fd = -1,
        .mode = opts ? opts->whiteouts : IMG_WHITEOUT_OVERLAY,
        .walk = opts && opts->force_walk,
    };
    u.root = openat(dest_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (u.root < 0)
        return berr_sys(err, "layer: open the destination directory");
    u.chash = img_hasher_new("sha256");
    u.uhash = img_hasher_new("sha256");
    u.buf = xmalloc(READ_BUF_SIZE);
    if (open_streams(&u, err) < 0)
        return -1;
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(u.inner, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            _cleanup_free_ char *shown = u.last ? printable(u.last) : NULL;
            _cleanup_free_ char *what =
                shown ? xasprintf("after entry '%s'", shown) : xstrdup("at the first entry");
            return stream_err(&u, what, err);
        }
        u.entries++;
        if (apply_entry(&u, e, err) < 0)
            return -1;
        free(u.last);
        u.last = xstrdup(u.raw);
    }
    u.raw = NULL;
    finish_dir_times(&u);
    if (drain(&u, err) < 0)
        return -1;
    if (res != NULL) {
        img_hasher_final(u.chash, res->compressed_digest);
        if (u.uncompressed)
            memcpy(res->diff_id, res->compressed_digest, IMG_DIGEST_MAX);
        else
            img_hasher_final(u.uhash, res->diff_id);
        res->compressed_size = u.csize;
        res->uncompressed_size = u.uncompressed ? u.csize : u.usize;
        res->entries = u.entries;
    }
    return 0;
}
