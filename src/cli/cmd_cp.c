/* berth cp and berth export: files between a container and the local filesystem through
 * HEAD/GET/PUT /containers/{id}/archive, with docker's path rules (go-archive's CopyInfo and
 * PrepareArchiveCopy), local tars made and read with libarchive, and an extraction that never
 * writes outside its destination directory; and a container's whole filesystem as a tar
 * (GET /containers/{id}/export) to a file or standard output. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/rows.h"
#include "cli/client.h"
#include "cli/container.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/gopath.h"
#include "common/human.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "registry/credentials.h"

#define IO_BLOCK (64 * 1024)
/* go-archive gives up after this many links when it resolves a local destination */
#define DEST_SYMLINKS_MAX 10
/* Go's os.FileMode bits in the container path stat */
#define GO_MODE_DIR     (1u << 31)
#define GO_MODE_SYMLINK (1u << 27)
#define GO_MODE_DEVICE  (1u << 26)
#define GO_MODE_IRREG   (1u << 19)

/* ---- Go's path and error wording ---- */

/* Go's *PathError text: "lstat /x: no such file or directory" (Go's errno words are lower
 * case). */
static int path_error(struct berr **err, const char *op, const char *path, int errnum)
{
    char why[128];
    snprintf(why, sizeof(why), "%s", strerror(errnum));
    if (why[0] >= 'A' && why[0] <= 'Z' && !(why[1] >= 'A' && why[1] <= 'Z'))
        why[0] = (char)(why[0] - 'A' + 'a');
    return berr_code(err, errnum, "%s %s: %s", op, path, why);
}

/* *s with tail added (a new string in *s). */
static void append(char **s, const char *tail)
{
    char *t = xasprintf("%s%s", *s, tail);
    free(*s);
    *s = t;
}

static bool trailing_sep(const char *p)
{
    size_t n = strlen(p);
    return n > 0 && p[n - 1] == '/';
}

static bool current_dir(const char *p)
{
    _cleanup_free_ char *b = go_base(p);
    return strcmp(b, ".") == 0;
}

static bool asserts_dir(const char *p)
{
    return trailing_sep(p) || current_dir(p);
}

/* archive.SplitPathDirEntry: the parent and the entry, keeping a final "." */
static void split_dir_entry(const char *path, char **dir, char **base)
{
    _cleanup_free_ char *c = go_clean(path);
    if (current_dir(path))
        append(&c, "/.");
    *dir = go_dir(c);
    *base = go_base(c);
}

/* archive.PreserveTrailingDotOrSeparator */
static char *preserve_trailing(const char *cleaned, const char *original)
{
    char *out = xstrdup(cleaned);
    if (!current_dir(out) && current_dir(original))
        append(&out, trailing_sep(out) ? "." : "/.");
    if (!trailing_sep(out) && trailing_sep(original))
        append(&out, "/");
    return out;
}

/* The absolute local path, with a trailing "/" or "/." kept (resolveLocalPath). */
static char *local_abs(const char *p)
{
    _cleanup_free_ char *abs = NULL;
    if (*p == '/') {
        abs = go_clean(p);
    } else {
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        abs = go_join(cwd ? cwd : "/", p);
    }
    return preserve_trailing(abs, p);
}

/* archive.GetRebaseName: resolved gets path's trailing "/." or "/"; the name to give the
 * copied entry back when resolution changed the last component. */
static char *rebase_name(const char *path, char **resolved)
{
    if (current_dir(path) && !current_dir(*resolved))
        append(resolved, "/.");
    if (trailing_sep(path) && !trailing_sep(*resolved))
        append(resolved, "/");
    _cleanup_free_ char *a = go_base(path), *b = go_base(*resolved);
    return strcmp(a, b) != 0 ? xstrdup(a) : NULL;
}

/* Where a symlink at link that holds target leads: a relative target is taken from the link's
 * directory. */
static char *link_path(const char *link, const char *target)
{
    if (target[0] == '/')
        return xstrdup(target);
    _cleanup_free_ char *d = NULL, *b = NULL;
    split_dir_entry(link, &d, &b);
    return go_join(d, target);
}

/* strings.Replace(s, old, new, 1), which archive.RebaseArchiveEntries applies to names. */
static char *replace_first(const char *s, const char *old, const char *repl)
{
    const char *at = strstr(s, old);
    if (at == NULL)
        return xstrdup(s);
    return xasprintf("%.*s%s%s", (int)(at - s), s, repl, at + strlen(old));
}

struct rebase {
    const char *from, *to; /* to NULL: no renaming */
};

static char *rebased(const struct rebase *r, size_t n, const char *name)
{
    char *out = xstrdup(name);
    for (size_t i = 0; i < n; i++) {
        if (r[i].to == NULL)
            continue;
        /* the root's entries all start with "/": the new name goes in front of them */
        char *t = replace_first(out, strcmp(r[i].from, "/") == 0 ? "" : r[i].from, r[i].to);
        free(out);
        out = t;
    }
    return out;
}

static char *archive_path(const char *ctr, const char *path, const char *extra)
{
    _cleanup_free_ char *ep = cli_api_escape(path);
    _cleanup_free_ char *suffix = xasprintf("/archive?path=%s%s", ep, extra ? extra : "");
    return cli_ctr_path(ctr, suffix);
}

/* docker's ContainerPathStat, from the answer's X-Docker-Container-Path-Stat header. */
struct path_stat {
    uint32_t mode;
    char *link_target;
};

static int decode_stat(struct cli_conn *h, struct path_stat *st, struct berr **err)
{
    _cleanup_free_ char *b64 = cli_conn_header(h, "X-Docker-Container-Path-Stat");
    size_t len = 0;
    _cleanup_free_ char *text = reg_base64_decode(b64 ? b64 : "", &len, NULL);
    _cleanup_json_ json_t *j = text ? json_loadb(text, len, 0, NULL) : NULL;
    if (!json_is_object(j))
        return berr_code(err, EPROTO, "unable to decode container path stat header");
    json_int_t mode = json_integer_value(json_object_get(j, "mode"));
    const char *link = json_string_value(json_object_get(j, "linkTarget"));
    st->mode = (uint32_t)mode;
    st->link_target = xstrdup(link ? link : "");
    return 0;
}

/* ContainerStatPath (HEAD). */
static int stat_path(struct cli *cli, const char *ctr, const char *path, struct path_stat *st,
                     struct berr **err)
{
    _cleanup_free_ char *p = archive_path(ctr, path, NULL);
    struct cli_api *api = cli_api_get(cli, err);
    _cleanup_(cli_conn_freep) struct cli_conn *h = NULL;
    if (api == NULL || cli_conn_open(api, "HEAD", p, NULL, false, &h, err) < 0)
        return -1;
    return decode_stat(h, st, err);
}

/* ---- extracting a tar beneath a directory ----
 * go-archive's Untar with NoLchown and NoOverwriteDirNonDir, as docker's CLI extracts what it
 * copies out, but every path is resolved beneath the destination's fd (openat2 RESOLVE_BENEATH,
 * or a walk that refuses symlinks where the kernel lacks it): an entry named "../x" or a
 * symlink or hardlink that climbs out is refused, and a symlink already in the destination
 * tree (or one the tar made) that leads out is never followed. */

struct untar {
    int root;         /* the destination directory */
    const char *dest; /* its path, for messages */
    const struct rebase *rebase;
    size_t nrebase;
    struct {
        char *rel;
        struct timespec times[2];
    } * dirs; /* directory entries, whose times are set at the end */
    size_t ndirs;
};

static int open_beneath(int root, const char *rel, int flags)
{
    if (*rel == '\0' || strcmp(rel, ".") == 0)
        return openat(root, ".", flags | O_CLOEXEC);
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
    if (fd >= 0 || errno != ENOSYS)
        return fd;
    /* kernels before 5.6: one component at a time, no symlink followed */
    int cur = openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_free_ char *copy = xstrdup(rel);
    char *save = NULL;
    char *comp = strtok_r(copy, "/", &save);
    while (comp && cur >= 0) {
        char *next = strtok_r(NULL, "/", &save);
        struct stat st;
        int nfd = -1;
        if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            errno = EXDEV; /* the walk follows no symlink at all, those inside included */
        else
            nfd = openat(cur, comp, (next ? O_PATH | O_DIRECTORY : flags) | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(cur);
        errno = e;
        cur = nfd;
        comp = next;
    }
    return cur;
}

/* The directory rel beneath the root, created (0755, as go-archive's implied directories) with
 * its missing parents when create. */
static int dir_beneath(struct untar *u, const char *rel, bool create, struct berr **err)
{
    int fd = open_beneath(u->root, rel, O_PATH | O_DIRECTORY);
    if (fd >= 0)
        return fd;
    if (errno == EXDEV || errno == ELOOP) {
        _cleanup_free_ char *qr = cli_go_quote(rel), *qd = cli_go_quote(u->dest);
        return berr_code(err, EPERM, "%s leads outside of %s through a symbolic link", qr, qd);
    }
    if (errno != ENOENT || !create)
        return path_error(err, "open", rel, errno);
    _cleanup_free_ char *copy = xstrdup(rel);
    _cleanup_close_ int cur = openat(u->root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (char *p = copy;;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        const char *base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
        int next = open_beneath(u->root, copy, O_PATH | O_DIRECTORY);
        if (next < 0 && errno == ENOENT) {
            if (mkdirat(cur, base, 0755) < 0 && errno != EEXIST)
                return path_error(err, "mkdir", copy, errno);
            next = open_beneath(u->root, copy, O_PATH | O_DIRECTORY);
        }
        if (next < 0 && (errno == EXDEV || errno == ELOOP)) {
            _cleanup_free_ char *qr = cli_go_quote(copy), *qd = cli_go_quote(u->dest);
            return berr_code(err, EPERM, "%s leads outside of %s through a symbolic link", qr, qd);
        }
        if (next < 0)
            return path_error(err, "open", copy, errno);
        close(cur);
        cur = next;
        if (slash == NULL)
            break;
        *slash = '/';
        p = slash + 1;
    }
    return steal_fd(&cur);
}

static bool inside(const char *dest, const char *path)
{
    size_t n = strlen(dest);
    if (strcmp(dest, "/") == 0)
        return true;
    return strncmp(path, dest, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
    ts[0] = (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)};
    ts[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    /* go-archive: the access time is the later of the two */
    if (!archive_entry_atime_is_set(e) || ts[0].tv_sec < ts[1].tv_sec ||
        (ts[0].tv_sec == ts[1].tv_sec && ts[0].tv_nsec < ts[1].tv_nsec))
        ts[0] = ts[1];
}

static void set_times(int dirfd, const char *base, struct archive_entry *e, int flags)
{
    struct timespec ts[2];
    entry_times(e, ts);
    utimensat(dirfd, base, ts, flags);
}

static int set_xattrs(struct archive_entry *e, int fd, const char *name, struct berr **err)
{
    const char *key;
    const void *val;
    size_t size;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &key, &val, &size) == ARCHIVE_OK) {
        /* as go-archive: an attribute the filesystem or our privileges refuse is skipped */
        if (fsetxattr(fd, key, val, size, 0) < 0 && errno != EPERM && errno != ENOTSUP)
            return berr_sys(err, "setting attribute %s on %s", key, name);
    }
    return 0;
}

static int write_data(struct archive *a, int fd, const char *name, struct berr **err)
{
    const void *buf;
    size_t size;
    la_int64_t off;
    for (;;) {
        int r = archive_read_data_block(a, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return berr_code(err, EIO, "%s: %s", name, archive_error_string(a));
        if (pwrite(fd, buf, size, off) != (ssize_t)size)
            return berr_sys(err, "write %s", name);
    }
}

static int extract_entry(struct untar *u, struct archive *a, struct archive_entry *e,
                         struct berr **err)
{
    _cleanup_free_ char *raw = rebased(u->rebase, u->nrebase, archive_entry_pathname(e));
    _cleanup_free_ char *name = go_clean(raw);
    const char *rel = name[0] == '/' ? name + 1 : name;
    if (*rel == '\0')
        rel = ".";
    _cleanup_free_ char *path = go_join(u->dest, rel);
    if (strcmp(rel, "..") == 0 || strncmp(rel, "../", 3) == 0) {
        _cleanup_free_ char *qn = cli_go_quote(name), *qd = cli_go_quote(u->dest);
        return berr_code(err, EPERM, "%s is outside of %s", qn, qd);
    }
    mode_t type = archive_entry_filetype(e);
    const char *hardlink = archive_entry_hardlink(e);
    bool is_dir = !hardlink && type == AE_IFDIR;
    _cleanup_free_ char *parent = go_dir(rel), *base = go_base(rel);
    _cleanup_close_ int pfd = dir_beneath(u, parent, true, err);
    if (pfd < 0)
        return berr_wrap(err, "%s", path);
    struct stat st;
    if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        _cleanup_free_ char *qp = cli_go_quote(path), *qd = cli_go_quote(u->dest);
        if (S_ISDIR(st.st_mode) && !is_dir)
            return berr_code(err, EEXIST, "cannot overwrite directory %s with non-directory %s", qp,
                             qd);
        if (!S_ISDIR(st.st_mode) && is_dir)
            return berr_code(err, EEXIST, "cannot overwrite non-directory %s with directory %s", qp,
                             qd);
        if (is_dir && strcmp(rel, ".") == 0)
            return 0;
        if (!is_dir && rm_rf_at(pfd, base, err) < 0)
            return -1;
    } else if (errno != ENOENT) {
        return path_error(err, "lstat", path, errno);
    }
    mode_t perm = archive_entry_perm(e) & 07777;
    _cleanup_close_ int fd = -1;
    if (hardlink) {
        _cleanup_free_ char *rt = rebased(u->rebase, u->nrebase, hardlink);
        _cleanup_free_ char *target = go_join(u->dest, rt);
        if (!inside(u->dest, target)) {
            _cleanup_free_ char *qt = cli_go_quote(target), *ql = cli_go_quote(rt);
            return berr_code(err, EPERM, "invalid hardlink %s -> %s", qt, ql);
        }
        _cleanup_free_ char *trel = xstrdup(target + strlen(u->dest));
        _cleanup_free_ char *tdir = go_dir(trel[0] == '/' ? trel + 1 : trel),
                            *tbase = go_base(trel);
        _cleanup_close_ int tfd = dir_beneath(u, tdir, false, err);
        if (tfd < 0)
            return berr_wrap(err, "hardlink %s", path);
        if (linkat(tfd, tbase, pfd, base, 0) < 0)
            return path_error(err, "link", path, errno);
        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode))
            set_times(pfd, base, e, 0);
        return 0;
    }
    switch (type) {
    case AE_IFDIR:
        if (mkdirat(pfd, base, perm & 0777) < 0 && errno != EEXIST)
            return path_error(err, "mkdir", path, errno);
        fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        break;
    case AE_IFREG:
        fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 && write_data(a, fd, path, err) < 0)
            return -1;
        /* a sparse file's last hole is no data block: the size comes from the header */
        if (fd >= 0 && ftruncate(fd, archive_entry_size(e)) < 0)
            return path_error(err, "truncate", path, errno);
        break;
    case AE_IFLNK: {
        const char *target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
        _cleanup_free_ char *pdir = go_dir(path);
        _cleanup_free_ char *resolved = go_join(pdir, target);
        if (!inside(u->dest, resolved)) {
            _cleanup_free_ char *qp = cli_go_quote(path), *qt = cli_go_quote(target);
            return berr_code(err, EPERM, "invalid symlink %s -> %s", qp, qt);
        }
        if (symlinkat(target, pfd, base) < 0)
            return path_error(err, "symlink", path, errno);
        set_times(pfd, base, e, AT_SYMLINK_NOFOLLOW);
        return 0;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
        if (mknodat(pfd, base, type | perm, archive_entry_rdev(e)) < 0)
            return path_error(err, "mknod", path, errno);
        if (fchmodat(pfd, base, perm, 0) < 0)
            return path_error(err, "chmod", path, errno);
        set_times(pfd, base, e, AT_SYMLINK_NOFOLLOW);
        return 0;
    default:
        return berr_code(err, EINVAL, "unhandled tar header type %o for %s", type, name);
    }
    if (fd < 0)
        return path_error(err, "open", path, errno);
    if (set_xattrs(e, fd, path, err) < 0)
        return -1;
    if (fchmod(fd, perm) < 0)
        return path_error(err, "chmod", path, errno);
    if (type == AE_IFDIR) {
        u->dirs = xreallocarray(u->dirs, u->ndirs + 1, sizeof(*u->dirs));
        u->dirs[u->ndirs].rel = xstrdup(rel);
        entry_times(e, u->dirs[u->ndirs++].times);
    } else {
        struct timespec ts[2];
        entry_times(e, ts);
        futimens(fd, ts);
    }
    return 0;
}

/* Directory times go last: creating entries in a directory changes its mtime. */
static void finish_dirs(struct untar *u)
{
    for (size_t i = 0; i < u->ndirs; i++) {
        _cleanup_close_ int fd = open_beneath(u->root, u->dirs[i].rel, O_RDONLY | O_DIRECTORY);
        if (fd >= 0)
            futimens(fd, u->dirs[i].times);
        free(u->dirs[i].rel);
    }
    free(u->dirs);
}

struct body_reader {
    struct cli_conn *h;
    uint64_t total;
    char buf[IO_BLOCK];
};

static la_ssize_t read_body(struct archive *a, void *p, const void **out)
{
    struct body_reader *r = p;
    ssize_t n = cli_conn_read(r->h, r->buf, sizeof(r->buf));
    if (n < 0) {
        archive_set_error(a, errno, "reading the archive: %s", strerror(errno));
        return -1;
    }
    r->total += (uint64_t)n;
    *out = r->buf;
    return n;
}

/* Extracts the tar that r reads into the directory dest. */
static int untar(struct body_reader *r, const char *dest, const struct rebase *rb, size_t nrb,
                 struct berr **err)
{
    _cleanup_free_ char *cdest = go_clean(dest);
    struct untar u = {.dest = cdest, .rebase = rb, .nrebase = nrb};
    u.root = open(cdest, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (u.root < 0)
        return path_error(err, "open", cdest, errno);
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_support_filter_all(a);
    int rc = 0;
    if (archive_read_open(a, r, NULL, read_body, NULL) != ARCHIVE_OK) {
        rc = berr_code(err, EIO, "%s", archive_error_string(a));
    } else {
        struct archive_entry *e;
        int s;
        while ((s = archive_read_next_header(a, &e)) == ARCHIVE_OK || s == ARCHIVE_WARN) {
            if ((rc = extract_entry(&u, a, e, err)) < 0)
                break;
        }
        if (rc == 0 && s != ARCHIVE_EOF)
            rc = berr_code(err, EIO, "%s", archive_error_string(a));
    }
    archive_read_free(a);
    finish_dirs(&u);
    close(u.root);
    return rc;
}

/* ---- making a tar of local files ---- */

struct tar_writer {
    struct cli_conn *h;
    int send_errno; /* why the upload broke, when it did */
    uint64_t total;
    struct archive *a;
    struct {
        dev_t dev;
        ino_t ino;
        char *name;
    } * links; /* files with more than one link: the first name each was written under */
    size_t nlinks;
};

static la_ssize_t send_tar(struct archive *a, void *p, const void *buf, size_t len)
{
    struct tar_writer *w = p;
    if (cli_conn_send(w->h, buf, len) < 0) {
        w->send_errno = errno;
        archive_set_error(a, errno, "sending the archive: %s", strerror(errno));
        return -1;
    }
    w->total += len;
    return (la_ssize_t)len;
}

static void entry_freep(struct archive_entry **e)
{
    if (*e)
        archive_entry_free(*e);
}

static int tar_fail(struct tar_writer *w, const char *what, struct berr **err)
{
    return berr_code(err, w->send_errno ? w->send_errno : EIO, "%s: %s", what,
                     archive_error_string(w->a));
}

/* One entry as go-archive's addTarFile writes it: no user or group names, hard links to files
 * already in the archive, security.capability kept. */
static int add_entry(struct tar_writer *w, int parent, const char *base, const char *name,
                     const struct stat *st, struct berr **err)
{
    _cleanup_(entry_freep) struct archive_entry *e = archive_entry_new();
    _cleanup_free_ char *full =
        S_ISDIR(st->st_mode) && !trailing_sep(name) ? xasprintf("%s/", name) : xstrdup(name);
    archive_entry_set_pathname(e, full);
    archive_entry_set_mode(e, st->st_mode);
    archive_entry_set_uid(e, st->st_uid);
    archive_entry_set_gid(e, st->st_gid);
    archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
    if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
        archive_entry_set_rdev(e, st->st_rdev);
    if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
        for (size_t i = 0; i < w->nlinks; i++)
            if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino) {
                archive_entry_set_hardlink(e, w->links[i].name);
                archive_entry_set_size(e, 0);
                if (archive_write_header(w->a, e) != ARCHIVE_OK)
                    return tar_fail(w, full, err);
                return 0;
            }
        w->links = xreallocarray(w->links, w->nlinks + 1, sizeof(*w->links));
        w->links[w->nlinks].dev = st->st_dev;
        w->links[w->nlinks].ino = st->st_ino;
        w->links[w->nlinks++].name = xstrdup(full);
    }
    _cleanup_close_ int fd = -1;
    if (S_ISLNK(st->st_mode)) {
        char target[PATH_MAX + 1];
        ssize_t n = readlinkat(parent, base, target, PATH_MAX);
        if (n < 0)
            return berr_sys(err, "readlink %s", full);
        target[n] = '\0';
        archive_entry_set_symlink(e, target);
    } else if (S_ISREG(st->st_mode)) {
        fd = openat(parent, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return berr_sys(err, "open %s", full);
        archive_entry_set_size(e, st->st_size);
    }
    if (fd >= 0) {
        char cap[1024];
        ssize_t n = fgetxattr(fd, "security.capability", cap, sizeof(cap));
        if (n > 0)
            archive_entry_xattr_add_entry(e, "security.capability", cap, (size_t)n);
    }
    if (archive_write_header(w->a, e) != ARCHIVE_OK)
        return tar_fail(w, full, err);
    if (fd >= 0) {
        char buf[IO_BLOCK];
        int64_t left = st->st_size;
        while (left > 0) {
            ssize_t n = read(fd, buf, sizeof(buf) < (uint64_t)left ? sizeof(buf) : (size_t)left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return berr_sys(err, "read %s", full);
            if (n == 0)
                break; /* the file shrank: the archive pads the entry */
            if (archive_write_data(w->a, buf, (size_t)n) != n)
                return tar_fail(w, full, err);
            left -= n;
        }
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entry and, for a directory, everything beneath it in name order (filepath.WalkDir). */
static int add_tree(struct tar_writer *w, int parent, const char *base, const char *name,
                    struct berr **err)
{
    struct stat st;
    if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return berr_sys(err, "lstat %s", name);
    if (add_entry(w, parent, base, name, &st, err) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode))
        return 0;
    int fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(err, "open %s", name);
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return berr_sys(err, "open %s", name);
    }
    _cleanup_strv_ char **kids = xcalloc(1, sizeof(char *));
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            strv_append(&kids, de->d_name);
    qsort(kids, strv_length(kids), sizeof(char *), cmp_names);
    int rc = 0;
    for (size_t i = 0; kids[i] && rc == 0; i++) {
        _cleanup_free_ char *child = trailing_sep(name) ? xasprintf("%s%s", name, kids[i])
                                                        : xasprintf("%s/%s", name, kids[i]);
        rc = add_tree(w, dirfd(d), kids[i], child, err);
    }
    closedir(d);
    return rc;
}

/* Writes the tree at src (a local path as archive.CopyInfoSourcePath resolved it) as a tar to
 * the upload h, its top entry named top (the rebasing docker does with RebaseArchiveEntries,
 * applied as the names are made). */
static int send_tree(struct cli_conn *h, const char *src, const char *top, uint64_t *total,
                     struct berr **err)
{
    _cleanup_free_ char *dir = NULL, *base = NULL;
    split_dir_entry(src, &dir, &base);
    _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return path_error(err, "open", dir, errno);
    struct tar_writer w = {.h = h, .a = archive_write_new()};
    archive_write_set_format_pax_restricted(w.a);
    /* Go's tar writer ends with the two zero blocks and no padding to a 10 KiB record */
    archive_write_set_bytes_in_last_block(w.a, 1);
    int rc = 0;
    if (archive_write_open(w.a, &w, NULL, send_tar, NULL) != ARCHIVE_OK)
        rc = tar_fail(&w, "archive", err);
    if (rc == 0)
        rc = add_tree(&w, dfd, base, top, err);
    if (rc == 0 && archive_write_close(w.a) != ARCHIVE_OK)
        rc = tar_fail(&w, "archive", err);
    archive_write_free(w.a);
    for (size_t i = 0; i < w.nlinks; i++)
        free(w.links[i].name);
    free(w.links);
    *total = w.total;
    return rc;
}

/* ---- cp ---- */

/* archive.CopyInfo */
struct copy_info {
    char *path;
    bool exists, is_dir;
    char *rebase; /* the name the source is to be copied under, when it differs */
};

static void copy_info_clear(struct copy_info *c)
{
    free(c->path);
    free(c->rebase);
}

/* archive.CopyInfoSourcePath: symlinks before the last component resolved (all of them with
 * follow); the source must exist. */
static int source_info(const char *path, bool follow, struct copy_info *out, struct berr **err)
{
    if (follow) {
        out->path = realpath(path, NULL);
        if (out->path == NULL)
            return path_error(err, "lstat", path, errno);
        out->rebase = rebase_name(path, &out->path);
    } else {
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *dir = xstrndup(path, (size_t)(slash - path) + 1);
        _cleanup_free_ char *rdir = realpath(dir, NULL);
        if (rdir == NULL) {
            _cleanup_free_ char *cdir = go_clean(dir);
            return path_error(err, "lstat", cdir, errno);
        }
        out->path = xasprintf("%s/%s", strcmp(rdir, "/") == 0 ? "" : rdir, slash + 1);
        _cleanup_free_ char *b1 = go_base(path), *b2 = go_base(out->path);
        if (trailing_sep(path) && strcmp(b1, b2) != 0)
            out->rebase = xstrdup(b1);
    }
    struct stat st;
    if (lstat(out->path, &st) < 0)
        return path_error(err, "lstat", out->path, errno);
    out->exists = true;
    out->is_dir = S_ISDIR(st.st_mode);
    return 0;
}

/* archive.CopyInfoDestinationPath: a final symlink is followed (the copy goes to its target);
 * a missing destination needs an existing parent directory. */
static int dest_info(const char *path, struct copy_info *out, struct berr **err)
{
    out->path = xstrdup(path);
    struct stat st;
    int rc = lstat(out->path, &st);
    for (int n = 0; rc == 0 && S_ISLNK(st.st_mode); n++) {
        if (n > DEST_SYMLINKS_MAX)
            return berr_code(err, ELOOP, "too many symlinks in %s", path);
        char target[PATH_MAX + 1];
        ssize_t len = readlink(out->path, target, PATH_MAX);
        if (len < 0)
            return path_error(err, "readlink", out->path, errno);
        target[len] = '\0';
        char *next = link_path(out->path, target);
        free(out->path);
        out->path = next;
        rc = lstat(out->path, &st);
    }
    if (rc == 0) {
        out->exists = true;
        out->is_dir = S_ISDIR(st.st_mode);
        return 0;
    }
    if (errno != ENOENT)
        return path_error(err, "lstat", out->path, errno);
    _cleanup_free_ char *d = NULL, *b = NULL;
    split_dir_entry(out->path, &d, &b);
    if (stat(d, &st) < 0)
        return path_error(err, "stat", d, errno);
    if (!S_ISDIR(st.st_mode))
        return berr_code(err, ENOTDIR, "not a directory");
    return 0;
}

/* archive.PrepareArchiveCopy: the directory to extract into, and (to non-NULL) the renaming of
 * the source's top entry that gives the destination its name. */
static int prepare_copy(const struct copy_info *src, const struct copy_info *dst, char **dst_dir,
                        struct rebase *rb, char **names, struct berr **err)
{
    _cleanup_free_ char *ddir = NULL, *dbase = NULL, *sdir = NULL, *sbase = NULL;
    split_dir_entry(dst->path, &ddir, &dbase);
    split_dir_entry(src->path, &sdir, &sbase);
    if (dst->exists && dst->is_dir) {
        *dst_dir = xstrdup(dst->path);
        return 0;
    }
    if (dst->exists && src->is_dir)
        return berr_code(err, EISDIR, "cannot copy directory");
    if (!dst->exists && !src->is_dir && asserts_dir(dst->path))
        return berr_code(err, ENOENT, "no such directory");
    names[0] = xstrdup(src->rebase ? src->rebase : sbase);
    names[1] = steal_ptr(&dbase);
    rb->from = names[0];
    rb->to = names[1];
    *dst_dir = steal_ptr(&ddir);
    return 0;
}

/* command.ValidateOutputPath */
static int validate_output(const char *path, struct berr **err)
{
    _cleanup_free_ char *clean = go_clean(path);
    _cleanup_free_ char *dir = go_dir(clean);
    struct stat st;
    if (strcmp(dir, ".") != 0 && stat(dir, &st) < 0 && errno == ENOENT) {
        _cleanup_free_ char *q = cli_go_quote(dir);
        return berr_code(err, ENOENT, "invalid output path: directory %s does not exist", q);
    }
    if (stat(path, &st) < 0)
        return errno == ENOENT ? 0 : path_error(err, "stat", path, errno);
    if (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)) {
        _cleanup_free_ char *q = cli_go_quote(path);
        return berr_code(err, EINVAL,
                         "invalid output path: %s must be a directory or a regular file: got a "
                         "device",
                         q);
    }
    return 0;
}

struct cp_opts {
    const char *ctr;
    bool follow, copy_uid_gid, quiet;
};

static int copy_out(struct cli *cli, const struct cp_opts *o, const char *src, const char *dst_arg,
                    struct berr **err)
{
    _cleanup_free_ char *dst = strcmp(dst_arg, "-") == 0 ? xstrdup("-") : local_abs(dst_arg);
    if (strcmp(dst, "-") != 0 && validate_output(dst, err) < 0)
        return -1;
    _cleanup_free_ char *src_path = xstrdup(src), *rebase = NULL;
    struct path_stat lst = {0};
    if (o->follow && stat_path(cli, o->ctr, src, &lst, NULL) == 0 && (lst.mode & GO_MODE_SYMLINK)) {
        char *target = link_path(src, lst.link_target);
        rebase = rebase_name(src, &target);
        free(src_path);
        src_path = target;
    }
    free(lst.link_target);
    _cleanup_free_ char *path = archive_path(o->ctr, src_path, NULL);
    struct cli_api *api = cli_api_get(cli, err);
    _cleanup_(cli_conn_freep) struct cli_conn *h = NULL;
    if (api == NULL || cli_conn_open(api, "GET", path, NULL, false, &h, err) < 0)
        return -1;
    struct path_stat st = {0};
    if (decode_stat(h, &st, err) < 0)
        return berr_wrap(err, "unable to get resource stat from response");
    free(st.link_target);
    _cleanup_free_ struct body_reader *r = xzalloc(sizeof(*r));
    r->h = h;
    if (strcmp(dst, "-") == 0) {
        fflush(cli->out);
        for (;;) {
            ssize_t n = cli_conn_read(h, r->buf, sizeof(r->buf));
            if (n < 0)
                return berr_sys(err, "reading the archive");
            if (n == 0)
                return 0;
            if (write_all(STDOUT_FILENO, r->buf, (size_t)n) < 0)
                return berr_sys(err, "writing the archive to standard output");
        }
    }
    _cleanup_free_ char *sdir = NULL, *sbase = NULL;
    split_dir_entry(src_path, &sdir, &sbase);
    struct copy_info src_info = {.path = xstrdup(src_path),
                                 .exists = true,
                                 .is_dir = (st.mode & GO_MODE_DIR) != 0,
                                 .rebase = rebase ? xstrdup(rebase) : NULL};
    struct copy_info dst_info = {0};
    struct rebase rb[2] = {{sbase, rebase}, {NULL, NULL}};
    char *names[2] = {NULL, NULL};
    _cleanup_free_ char *dst_dir = NULL;
    int rc = dest_info(dst, &dst_info, err);
    if (rc == 0)
        rc = prepare_copy(&src_info, &dst_info, &dst_dir, &rb[1], names, err);
    if (rc == 0)
        rc = untar(r, dst_dir, rb, 2, err);
    copy_info_clear(&src_info);
    copy_info_clear(&dst_info);
    free(names[0]);
    free(names[1]);
    if (rc < 0)
        return -1;
    if (!o->quiet) {
        _cleanup_free_ char *size = human_size((double)r->total, 3);
        fprintf(cli->err, "Successfully copied %s to %s\n", size, dst);
    }
    return 0;
}

/* PUT the tar (of src, or standard input when src is NULL) to be extracted in dst_dir. */
static int upload(struct cli *cli, const struct cp_opts *o, const struct copy_info *src,
                  const struct rebase *rb, const char *dst_dir, uint64_t *total, struct berr **err)
{
    _cleanup_free_ char *path =
        archive_path(o->ctr, dst_dir,
                     o->copy_uid_gid ? "&noOverwriteDirNonDir=true&copyUIDGID=true"
                                     : "&noOverwriteDirNonDir=true");
    struct cli_api *api = cli_api_get(cli, err);
    _cleanup_(cli_conn_freep) struct cli_conn *h = NULL;
    if (api == NULL || cli_conn_upload(api, "PUT", path, "application/x-tar", &h, err) < 0)
        return -1;
    _cleanup_berr_ struct berr *send_err = NULL;
    if (src == NULL) {
        _cleanup_free_ char *buf = xmalloc(IO_BLOCK);
        for (;;) {
            ssize_t n = read(STDIN_FILENO, buf, IO_BLOCK);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                berr_sys(&send_err, "reading standard input");
                break;
            }
            if (n == 0)
                break;
            if (cli_conn_send(h, buf, (size_t)n) < 0) {
                berr_sys(&send_err, "sending the archive");
                break;
            }
            *total += (uint64_t)n;
        }
    } else {
        _cleanup_free_ char *sdir = NULL, *sbase = NULL;
        split_dir_entry(src->path, &sdir, &sbase);
        /* the names TarResourceRebase gives, then PrepareArchiveCopy's renaming */
        struct rebase both[2] = {{sbase, src->rebase}, *rb};
        _cleanup_free_ char *top = rebased(both, 2, sbase);
        send_tree(h, src->path, top, total, &send_err);
    }
    if (send_err == NULL)
        return cli_conn_finish(h, true, err);
    /* an unfinished upload: the daemon must not wait for the rest of it */
    shutdown(cli_conn_fd(h), SHUT_WR);
    /* where the daemon broke it off (no such container...), its answer says more */
    if (send_err->errnum == EPIPE || send_err->errnum == ECONNRESET) {
        _cleanup_berr_ struct berr *answer = NULL;
        if (cli_conn_finish(h, false, &answer) < 0 && answer->errnum != EPIPE) {
            *err = steal_ptr(&answer);
            return -1;
        }
    }
    *err = steal_ptr(&send_err);
    return -1;
}

static int copy_in(struct cli *cli, const struct cp_opts *o, const char *src_arg, const char *dst,
                   struct berr **err)
{
    bool from_stdin = strcmp(src_arg, "-") == 0;
    _cleanup_free_ char *src = from_stdin ? xstrdup("-") : local_abs(src_arg);
    struct copy_info dst_info = {.path = xstrdup(dst)};
    struct copy_info src_info = {0};
    struct path_stat st = {0};
    int found = stat_path(cli, o->ctr, dst, &st, NULL);
    if (found == 0 && (st.mode & GO_MODE_SYMLINK)) {
        char *target = link_path(dst, st.link_target);
        free(dst_info.path);
        dst_info.path = target;
        free(st.link_target);
        st = (struct path_stat){0};
        found = stat_path(cli, o->ctr, target, &st, NULL);
    }
    free(st.link_target);
    int rc = 0;
    char *names[2] = {NULL, NULL};
    struct rebase rb = {NULL, NULL};
    _cleanup_free_ char *dst_dir = NULL;
    if (st.mode & (GO_MODE_DEVICE | GO_MODE_IRREG)) {
        rc = berr_code(err, EINVAL,
                       "destination \"%s:%s\" must be a directory or a regular file: got %s",
                       o->ctr, dst, st.mode & GO_MODE_DEVICE ? "a device" : "an irregular file");
        goto out;
    }
    if (found == 0) {
        dst_info.exists = true;
        dst_info.is_dir = (st.mode & GO_MODE_DIR) != 0;
    }
    if (from_stdin) {
        if (!dst_info.is_dir) {
            rc = berr_code(err, ENOTDIR, "destination \"%s:%s\" must be a directory", o->ctr, dst);
            goto out;
        }
        dst_dir = xstrdup(dst_info.path);
    } else if ((rc = source_info(src, o->follow, &src_info, err)) < 0 ||
               (rc = prepare_copy(&src_info, &dst_info, &dst_dir, &rb, names, err)) < 0) {
        goto out;
    }
    uint64_t total = 0;
    if ((rc = upload(cli, o, from_stdin ? NULL : &src_info, &rb, dst_dir, &total, err)) == 0 &&
        !o->quiet) {
        _cleanup_free_ char *size = human_size((double)total, 3);
        fprintf(cli->err, "Successfully copied %s to %s:%s\n", size, o->ctr, dst_info.path);
    }
out:
    copy_info_clear(&src_info);
    copy_info_clear(&dst_info);
    free(names[0]);
    free(names[1]);
    return rc;
}

/* docker's splitCpArg: CONTAINER:PATH, unless the argument is an absolute local path or a
 * relative one written with a leading "." ("./file:name"). */
static void split_arg(const char *arg, char **ctr, const char **path)
{
    const char *colon = strchr(arg, ':');
    *ctr = NULL;
    *path = arg;
    if (arg[0] == '/' || colon == NULL || arg[0] == '.')
        return;
    *path = colon + 1;
    if (colon > arg)
        *ctr = xstrndup(arg, (size_t)(colon - arg));
}

static int run_cp(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    struct berr *err = NULL;
    if (argv[0][0] == '\0')
        return cli_fail(cli, berr_new(0, "source can not be empty"));
    if (argv[1][0] == '\0')
        return cli_fail(cli, berr_new(0, "destination can not be empty"));
    _cleanup_free_ char *sctr = NULL, *dctr = NULL;
    const char *spath, *dpath;
    split_arg(argv[0], &sctr, &spath);
    split_arg(argv[1], &dctr, &dpath);
    struct cp_opts o = {
        .follow = cli_bool(cli, "follow-link"),
        .copy_uid_gid = cli_bool(cli, "archive"),
        /* docker prints its summary only to a terminal unless told either way */
        .quiet = cli_changed(cli, "quiet") ? cli_bool(cli, "quiet") : !cli->out_is_tty,
    };
    if (sctr && dctr)
        return cli_fail(cli, berr_new(0, "copying between containers is not supported"));
    if (!sctr && !dctr)
        return cli_fail(cli, berr_new(0, "must specify at least one container source"));
    o.ctr = sctr ? sctr : dctr;
    int rc = sctr ? copy_out(cli, &o, spath, dpath, &err) : copy_in(cli, &o, spath, dpath, &err);
    return rc < 0 ? cli_fail(cli, err) : 0;
}

static const struct cli_flag cp_flags[] = {
    {"archive", 'a', CLI_FLAG_BOOL, "Archive mode (copy all uid/gid information)"},
    {"follow-link", 'L', CLI_FLAG_BOOL, "Always follow symbol link in SRC_PATH"},
    {"quiet", 'q', CLI_FLAG_BOOL,
     "Suppress progress output during copy. Progress output is automatically suppressed if no "
     "terminal is attached"},
    {NULL},
};

const struct cli_command cli_cmd_cp = {
    .name = "cp",
    .usage = "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- "
             "CONTAINER:DEST_PATH",
    .short_desc = "Copy files/folders between a container and the local filesystem",
    .long_desc = "Copy files/folders between a container and the local filesystem\n\nUse '-' as "
                 "the source to read a tar archive from stdin\nand extract it to a directory "
                 "destination in a container.\nUse '-' as the destination to stream a tar "
                 "archive of a\ncontainer source to stdout.",
    .flags = cp_flags,
    .min_args = 2,
    .max_args = 2,
    .run = run_cp,
};

/* ---- export ---- */

/* atomicwriter's validateDestination: only a regular file is replaced. */
static int validate_export_path(const char *file, struct berr **err)
{
    _cleanup_free_ char *dir = go_dir(file);
    struct stat st;
    if (strcmp(dir, ".") != 0 && strcmp(dir, "..") != 0) {
        if (stat(dir, &st) < 0)
            return path_error(err, "stat", dir, errno), berr_wrap(err, "invalid output path");
        if (!S_ISDIR(st.st_mode))
            return path_error(err, "stat", dir, ENOTDIR), berr_wrap(err, "invalid output path");
    }
    if (lstat(file, &st) < 0)
        return errno == ENOENT ? 0
                               : (path_error(err, "lstat", file, errno),
                                  berr_wrap(err, "failed to stat output path"));
    const char *why = S_ISREG(st.st_mode)    ? NULL
                      : S_ISDIR(st.st_mode)  ? "cannot write to a directory"
                      : S_ISLNK(st.st_mode)  ? "cannot write to a symbolic link directly"
                      : S_ISFIFO(st.st_mode) ? "cannot write to a named pipe (FIFO)"
                      : S_ISSOCK(st.st_mode) ? "cannot write to a socket"
                      : S_ISCHR(st.st_mode)  ? "cannot write to a character device file"
                                             : "cannot write to a block device file";
    if (why == NULL && (st.st_mode & (S_ISUID | S_ISGID | S_ISVTX)))
        why = st.st_mode & S_ISUID   ? "cannot write to a setuid file"
              : st.st_mode & S_ISGID ? "cannot write to a setgid file"
                                     : "cannot write to a sticky bit file";
    return why ? berr_code(err, EINVAL, "%s", why) : 0;
}

struct fd_sink {
    int fd;
    int errnum;
};

static int to_fd(void *p, const char *buf, size_t len)
{
    struct fd_sink *s = p;
    if (write_all(s->fd, buf, len) < 0) {
        s->errnum = errno;
        return 1;
    }
    return 0;
}

static int export_to(struct cli *cli, const char *ctr, int fd, struct berr **err)
{
    struct cli_api *api = cli_api_get(cli, err);
    if (api == NULL)
        return -1;
    _cleanup_free_ char *path = cli_ctr_path(ctr, "/export");
    struct fd_sink sink = {.fd = fd};
    if (cli_api_stream(api, "GET", path, NULL, NULL, to_fd, &sink, NULL, err) < 0)
        return -1;
    if (sink.errnum)
        return berr_code(err, sink.errnum, "writing the export: %s", strerror(sink.errnum));
    return 0;
}

static int run_export(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    struct berr *err = NULL;
    const char *output = cli_string(cli, "output");
    const char *ctr = argv[0];
    while (*ctr == ' ' || *ctr == '\t' || *ctr == '\n')
        ctr++;
    if (*output == '\0') {
        if (cli->out_is_tty)
            return cli_fail(cli, berr_new(0, "cowardly refusing to save to a terminal. Use the -o "
                                             "flag or redirect"));
        if (*ctr == '\0')
            return cli_fail(cli, berr_new(0, "invalid container name or ID: value is empty"));
        fflush(cli->out);
        return export_to(cli, argv[0], STDOUT_FILENO, &err) < 0 ? cli_fail(cli, err) : 0;
    }
    if (validate_export_path(output, &err) < 0) {
        berr_wrap(&err, "failed to export container");
        return cli_fail(cli, err);
    }
    if (*ctr == '\0')
        return cli_fail(cli, berr_new(0, "invalid container name or ID: value is empty"));
    /* written beside the target and renamed over it, so a failed export leaves no partial tar */
    _cleanup_free_ char *dir = go_dir(output), *base = go_base(output);
    _cleanup_free_ char *tmp = xasprintf("%s/.tmp-%sXXXXXX", dir, base);
    _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        path_error(&err, "open", tmp, errno);
        berr_wrap(&err, "failed to export container");
        return cli_fail(cli, err);
    }
    int rc = export_to(cli, argv[0], fd, &err);
    if (rc == 0 && (fchmod(fd, 0600) < 0 || fsync(fd) < 0 || rename(tmp, output) < 0))
        rc = berr_sys(&err, "failed to export container: %s", output);
    if (rc < 0) {
        unlink(tmp);
        return cli_fail(cli, err);
    }
    return 0;
}

static const struct cli_flag export_flags[] = {
    {"output", 'o', CLI_FLAG_STRING, "Write to a file, instead of STDOUT"},
    {NULL},
};

const struct cli_command cli_cmd_export = {
    .name = "export",
    .usage = "[OPTIONS] CONTAINER",
    .short_desc = "Export a container's filesystem as a tar archive",
    .flags = export_flags,
    .min_args = 1,
    .max_args = 1,
    .run = run_export,
};
