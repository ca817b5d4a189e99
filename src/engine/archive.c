/* `docker cp` and `docker export` in the engine: a container's files as its processes see them
 * (the root filesystem with its volume, bind and network-file mounts laid over it), reached by
 * a walk that opens one component at a time and resolves symlinks itself, so that no link or
 * ".." leads outside and a path under a mount destination reaches the mount's source; tar
 * streams of a path or of the whole root filesystem; extraction of an uploaded tar. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/gopath.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "engine/archive.h"
#include "engine/engine_internal.h"
#include "engine/userdb.h"

/* As the kernel allows in one lookup. */
#define MAX_LINKS 40
/* Directory levels a tar walk descends (one fd each); the API's stream threads have small
 * stacks, and no real tree is deeper. */
#define MAX_DEPTH 256
#define COPY_BUF  (1 << 16)

/* ---- Go's path rules, which Docker applies before touching the filesystem ---- */

/* Docker's absolute form of a path the client gave: cleaned, but a trailing "/." or "/" kept,
 * since they change what is asked ("d/." is the contents of d, "link/" what link points to). */
static char *docker_abs(const char *path)
{
    _cleanup_free_ char *joined = xasprintf("/%s", path);
    char *c = go_clean(joined);
    _cleanup_free_ char *base = go_base(path);
    if (strcmp(base, ".") == 0) {
        char *t = xasprintf("%s%s.", c, strcmp(c, "/") == 0 ? "" : "/");
        free(c);
        c = t;
    }
    size_t pl = strlen(path), cl = strlen(c);
    if (path[pl - 1] == '/' && c[cl - 1] != '/') {
        char *t = xasprintf("%s/", c);
        free(c);
        c = t;
    }
    return c;
}

/* Whether p (clean, absolute) is dir or lies beneath it. */
static bool within(const char *dir, const char *p)
{
    size_t n = strlen(dir);
    if (strcmp(dir, "/") == 0)
        return true;
    return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* ---- the view: the root filesystem and the mounts over it ---- */

struct vmount {
    char *dest; /* where the container sees it, symlinks resolved: "/data" */
    int fd;     /* O_PATH of the source */
    bool rw;
};

struct view {
    struct eng *e;
    struct ctr *c; /* referenced, its op lock held */
    int root;      /* O_PATH of the mounted root filesystem */
    bool root_rw;
    bool mounted_here; /* we mounted the root filesystem, so we unmount it */
    struct vmount *m;
    size_t n;
    char *user; /* Config.User */
};

/* ---- the walk: a stack of directories from the root, as the container names them ---- */

struct level {
    int fd;     /* O_PATH; level 0 borrows the view's root */
    size_t len; /* of the logical path at this level */
    int owner;  /* the mount the directory lies in, -1 for the root filesystem */
};

struct walk {
    struct view *v;
    struct level *lv;
    size_t depth, cap;
    char *path; /* logical path of the top, "" for the root */
    size_t plen, pcap;
};

#define TOP(w) (&(w)->lv[(w)->depth])

static void walk_init(struct walk *w, struct view *v)
{
    *w = (struct walk){.v = v, .cap = 16, .pcap = 256};
    w->lv = xcalloc(w->cap, sizeof(*w->lv));
    w->lv[0] = (struct level){.fd = v->root, .len = 0, .owner = -1};
    w->path = xzalloc(w->pcap);
}

static void walk_pop(struct walk *w)
{
    if (w->depth == 0)
        return;
    close(w->lv[w->depth--].fd);
    w->plen = TOP(w)->len;
    w->path[w->plen] = '\0';
}

static void walk_reset(struct walk *w)
{
    while (w->depth > 0)
        walk_pop(w);
}

static void walk_free(struct walk *w)
{
    if (w->lv == NULL)
        return;
    walk_reset(w);
    free(w->lv);
    free(w->path);
    w->lv = NULL;
}

static void walk_push(struct walk *w, int fd, const char *name, int owner)
{
    size_t nl = strlen(name);
    if (w->plen + nl + 2 > w->pcap) {
        w->pcap = (w->plen + nl + 2) * 2;
        w->path = xrealloc(w->path, w->pcap);
    }
    w->path[w->plen++] = '/';
    memcpy(w->path + w->plen, name, nl + 1);
    w->plen += nl;
    if (++w->depth == w->cap) {
        w->cap *= 2;
        w->lv = xreallocarray(w->lv, w->cap, sizeof(*w->lv));
    }
    *TOP(w) = (struct level){.fd = fd, .len = w->plen, .owner = owner};
}

static const char *walk_path(const struct walk *w)
{
    return w->plen > 0 ? w->path : "/";
}

/* The mount whose destination is dir/name, or -1. */
static int mount_at(const struct view *v, const char *dir, size_t dlen, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < v->n; i++) {
        const char *d = v->m[i].dest;
        if (strlen(d) == dlen + 1 + nl && memcmp(d, dir, dlen) == 0 && d[dlen] == '/' &&
            memcmp(d + dlen + 1, name, nl) == 0)
            return (int)i;
    }
    return -1;
}

/* name in the top directory as an O_PATH fd, never following a symlink; at a mount
 * destination, the mount's source. */
static int child_open(struct walk *w, const char *name, int *owner)
{
    int m = mount_at(w->v, w->path, w->plen, name);
    if (m >= 0) {
        *owner = m;
        return fcntl(w->v->m[m].fd, F_DUPFD_CLOEXEC, 0);
    }
    *owner = TOP(w)->owner;
    return openat(TOP(w)->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

static int fd_stat(int fd, struct stat *st)
{
    return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
}

enum { R_FOLLOW = 1, R_PARTIAL = 2 };

struct res {
    int leaf;   /* O_PATH fd of a final non-directory, else -1 and the walk's top is it */
    char *name; /* the leaf's name */
    char *rest; /* R_PARTIAL: the part that does not exist yet, "" when all of it does */
};

static void res_clear(struct res *r)
{
    closep(&r->leaf);
    free(r->name);
    free(r->rest);
    r->name = r->rest = NULL;
}

/* Walks an absolute container path from the root as the container's kernel would: symlinks
 * (the last one only with R_FOLLOW or a trailing slash) restart from the root or the current
 * directory, ".." never climbs above the root, and mount destinations switch to their
 * sources. Returns 0 or -errno (ENOENT unless R_PARTIAL, ENOTDIR, ELOOP, ENAMETOOLONG). */
static int resolve(struct walk *w, const char *path, int flags, struct res *r)
{
    res_clear(r);
    walk_reset(w);
    _cleanup_free_ char *todo = xstrdup(path);
    char *p = todo;
    int links = 0;
    for (;;) {
        while (*p == '/')
            p++;
        if (*p == '\0')
            break;
        char *end = strchrnul(p, '/'), *next = end;
        while (*next == '/')
            next++;
        bool last = *next == '\0', dir_wanted = !last || *end == '/';
        size_t clen = (size_t)(end - p);
        if (clen > NAME_MAX)
            return -ENAMETOOLONG;
        char name[NAME_MAX + 1];
        memcpy(name, p, clen);
        name[clen] = '\0';
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            if (name[1] == '.')
                walk_pop(w);
            p = next;
            continue;
        }
        int owner;
        int fd = child_open(w, name, &owner);
        struct stat st;
        if (fd < 0 || fd_stat(fd, &st) < 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            if (e == ENOENT && (flags & R_PARTIAL)) {
                r->rest = xstrdup(p);
                return 0;
            }
            return -e;
        }
        if (S_ISLNK(st.st_mode) && (dir_wanted || (flags & R_FOLLOW))) {
            if (++links > MAX_LINKS) {
                close(fd);
                return -ELOOP;
            }
            char target[PATH_MAX];
            ssize_t tl = readlinkat(fd, "", target, sizeof(target) - 1);
            int e = errno;
            close(fd);
            if (tl < 0)
                return -e;
            target[tl] = '\0';
            char *t = xasprintf("%s%s%s", target, dir_wanted ? "/" : "", next);
            free(todo);
            todo = p = t;
            if (target[0] == '/')
                walk_reset(w);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            walk_push(w, fd, name, owner);
        } else if (dir_wanted) {
            close(fd);
            return -ENOTDIR;
        } else {
            r->leaf = fd;
            r->name = xstrdup(name);
        }
        p = next;
    }
    if (flags & R_PARTIAL)
        r->rest = xstrdup("");
    return 0;
}

/* The logical path resolve got to, with what it left unresolved appended. */
static char *res_path(const struct walk *w, const struct res *r)
{
    _cleanup_free_ char *joined =
        xasprintf("%s/%s/%s", w->path, r->name ? r->name : "", r->rest ? r->rest : "");
    return go_clean(joined);
}

static void view_close(struct view *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->m[i].dest);
        close(v->m[i].fd);
    }
    free(v->m);
    free(v->user);
    closep(&v->root);
    if (v->c != NULL) {
        if (v->mounted_here)
            eng_unmount_rootfs(v->e, v->c);
        pthread_mutex_unlock(&v->c->op);
        ctr_unref(v->e, v->c);
    }
    *v = (struct view){.root = -1};
}

static int add_mount(struct view *v, const char *dest, const char *src, bool rw, bool optional,
                     struct berr **err)
{
    if (dest == NULL || dest[0] != '/' || src == NULL || src[0] == '\0')
        return 0;
    /* the source is the daemon's (a volume's data, a bind source the user named, our own
     * network files): its path is trusted, unlike anything beneath the container's root */
    int fd = open(src, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        if (optional && errno == ENOENT)
            return 0;
        return berr_code(err, EIO, "open %s, the source of the container's mount at %s: %s", src,
                         dest, strerror(errno));
    }
    v->m = xreallocarray(v->m, v->n + 1, sizeof(*v->m));
    v->m[v->n++] = (struct vmount){.dest = go_clean(dest), .fd = fd, .rw = rw};
    return 0;
}

static size_t path_depth(const char *p)
{
    size_t d = 0;
    for (; *p; p++)
        d += *p == '/';
    return d;
}

static int cmp_mount_depth(const void *a, const void *b)
{
    const struct vmount *x = a, *y = b;
    size_t dx = path_depth(x->dest), dy = path_depth(y->dest);
    return dx < dy ? -1 : dx > dy ? 1 : strcmp(x->dest, y->dest);
}

/* The runtime mounts each destination where it resolves in the container (parents first), so
 * a destination under a symlink ("/var/run/x" with /var/run -> /run) is where the container
 * sees it. */
static void canonical_mounts(struct view *v)
{
    if (v->n > 1)
        qsort(v->m, v->n, sizeof(*v->m), cmp_mount_depth);
    size_t total = v->n, kept = 0;
    struct walk w;
    walk_init(&w, v);
    struct res r = {.leaf = -1};
    for (size_t i = 0; i < total; i++) {
        v->n = kept;
        char *dest = NULL;
        if (resolve(&w, v->m[i].dest, R_FOLLOW | R_PARTIAL, &r) == 0)
            dest = res_path(&w, &r);
        if (dest != NULL && strcmp(dest, "/") == 0) {
            free(dest);
            free(v->m[i].dest);
            close(v->m[i].fd);
            continue;
        }
        if (dest != NULL) {
            free(v->m[i].dest);
            v->m[i].dest = dest;
        }
        v->m[kept++] = v->m[i];
    }
    v->n = kept;
    res_clear(&r);
    walk_free(&w);
}

/* Takes the container's op lock (held until view_close) and sets up its files as its processes
 * see them; with_mounts false gives the root filesystem alone (export). */
static int view_open(struct view *v, struct eng *e, const char *ref, bool with_mounts,
                     struct berr **err)
{
    *v = (struct view){.e = e, .root = -1};
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    pthread_mutex_lock(&c->op);
    v->c = c;
    pthread_mutex_lock(&e->mu);
    const char *st = ctr_status(c);
    bool gone = c->removed || strcmp(st, "removing") == 0, dead = strcmp(st, "dead") == 0;
    _cleanup_json_ json_t *mounts = json_deep_copy(json_object_get(c->rec, "Mounts"));
    json_t *hc = json_object_get(c->rec, "HostConfig");
    v->root_rw = !json_is_true(json_object_get(hc, "ReadonlyRootfs"));
    const char *user =
        json_string_value(json_object_get(json_object_get(c->rec, "Config"), "User"));
    v->user = xstrdup(user ? user : "");
    static const char *const net_keys[] = {"HostnamePath", "HostsPath", "ResolvConfPath"};
    static const char *const net_dests[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
    char *net[3];
    for (size_t i = 0; i < 3; i++)
        net[i] = xstrdup(json_string_value(json_object_get(c->rec, net_keys[i])) ?: "");
    pthread_mutex_unlock(&e->mu);

    int rc = 0;
    if (gone || dead) {
        rc = berr_code(err, EBUSY, "container %s is %s", c->id, gone ? "being removed" : "dead");
    } else {
        _cleanup_free_ char *rootfs = ctr_path(e, c, "rootfs");
        if (!is_mount_root(rootfs)) {
            rc = eng_mount_rootfs(e, c, err);
            v->mounted_here = rc == 0;
            if (rc < 0)
                berr_wrap(err, "mount the root filesystem of container %s", c->id);
        }
        if (rc == 0 && (v->root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
            rc = berr_sys(err, "open %s", rootfs);
    }
    size_t i;
    json_t *m;
    json_array_foreach(with_mounts && rc == 0 ? mounts : NULL, i, m)
    {
        const char *type = json_string_value(json_object_get(m, "Type"));
        /* a tmpfs lives in the container's own mount namespace: Docker shows what is under it */
        if (type != NULL && strcmp(type, "tmpfs") == 0)
            continue;
        rc = add_mount(v, json_string_value(json_object_get(m, "Destination")),
                       json_string_value(json_object_get(m, "Source")),
                       json_is_true(json_object_get(m, "RW")), false, err);
        if (rc < 0)
            break;
    }
    for (i = 0; i < 3; i++) {
        /* the network files, as Docker adds them after the user's mounts, unless one of those
         * is already there */
        bool taken = false;
        for (size_t k = 0; k < v->n; k++)
            taken |= strcmp(v->m[k].dest, net_dests[i]) == 0;
        if (with_mounts && rc == 0 && !taken)
            rc = add_mount(v, net_dests[i], net[i], v->root_rw, true, err);
        free(net[i]);
    }
    if (rc < 0) {
        view_close(v);
        return -1;
    }
    canonical_mounts(v);
    return 0;
}

/* Docker's answers for a path that does not resolve. */
static int path_error(struct berr **err, int neg_errno, const char *path, const char *ref)
{
    if (neg_errno == -ENOENT)
        return berr_code(err, ENOENT, "Could not find the file %s in container %s", path, ref);
    int cls =
        neg_errno == -ENOTDIR || neg_errno == -ELOOP || neg_errno == -ENAMETOOLONG ? EINVAL : EIO;
    return berr_code(err, cls, "%s in container %s: %s", path, ref, strerror(-neg_errno));
}

/* ---- stat ---- */

static uint32_t go_mode(mode_t m)
{
    static const struct {
        mode_t type;
        uint32_t bits;
    } types[] = {
        {S_IFDIR, 1u << 31}, {S_IFLNK, 1u << 27},
        {S_IFBLK, 1u << 26}, {S_IFCHR, 1u << 26 | 1u << 21},
        {S_IFIFO, 1u << 25}, {S_IFSOCK, 1u << 24},
    };
    uint32_t g = m & 0777;
    for (size_t i = 0; i < ARRAY_SIZE(types); i++)
        if ((m & S_IFMT) == types[i].type)
            g |= types[i].bits;
    g |= (m & S_ISUID ? 1u << 23 : 0) | (m & S_ISGID ? 1u << 22 : 0) | (m & S_ISVTX ? 1u << 20 : 0);
    return g;
}

void eng_path_stat_clear(struct eng_path_stat *st)
{
    free(st->name);
    free(st->link_target);
    *st = (struct eng_path_stat){0};
}

json_t *eng_path_stat_json(const struct eng_path_stat *st)
{
    char mtime[64];
    time_format_rfc3339(st->mtime_ns, mtime, sizeof(mtime));
    return json_pack("{s:s, s:I, s:I, s:s, s:s}", "name", st->name ? st->name : "", "size",
                     (json_int_t)st->size, "mode", (json_int_t)st->mode, "mtime", mtime,
                     "linkTarget", st->link_target ? st->link_target : "");
}

/* Resolves abs (from docker_abs) and fills out; the walk and r are left on what was found. */
static int stat_path(struct view *v, struct walk *w, struct res *r, const char *abs,
                     const char *path, const char *ref, struct eng_path_stat *out, struct stat *st,
                     struct berr **err)
{
    int rc = resolve(w, abs, 0, r);
    if (rc == 0 && fd_stat(r->leaf >= 0 ? r->leaf : TOP(w)->fd, st) < 0)
        rc = -errno;
    if (rc < 0)
        return path_error(err, rc, path, ref);
    *out = (struct eng_path_stat){
        .name = go_base(abs),
        .size = st->st_size,
        .mode = go_mode(st->st_mode),
        .mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
    };
    out->link_target = xstrdup("");
    if (S_ISLNK(st->st_mode)) {
        /* as far as it resolves: a dangling link still names its target */
        struct walk w2;
        walk_init(&w2, v);
        struct res r2 = {.leaf = -1};
        if (resolve(&w2, abs, R_FOLLOW | R_PARTIAL, &r2) == 0) {
            free(out->link_target);
            out->link_target = res_path(&w2, &r2);
        }
        res_clear(&r2);
        walk_free(&w2);
    }
    return 0;
}

int eng_archive_stat(struct eng *e, const char *ref, const char *path, struct eng_path_stat *out,
                     struct berr **err)
{
    *out = (struct eng_path_stat){0};
    if (path == NULL || *path == '\0')
        return berr_code(err, EINVAL, "bad parameter: path cannot be empty");
    _cleanup_(view_close) struct view v = {.root = -1};
    if (view_open(&v, e, ref, true, err) < 0)
        return -1;
    _cleanup_free_ char *abs = docker_abs(path);
    _cleanup_(walk_free) struct walk w;
    walk_init(&w, &v);
    _cleanup_(res_clear) struct res r = {.leaf = -1};
    struct stat st;
    return stat_path(&v, &w, &r, abs, path, ref, out, &st, err);
}

/* ---- writing tars ---- */

struct tarw {
    struct archive *a;
    struct archive_entry_linkresolver *links;
    eng_tar_write_fn fn;
    void *ctx;
    bool gone;
    bool discard; /* failed: nothing more goes out */
    char *buf;
};

static la_ssize_t tar_out(struct archive *a, void *ctx, const void *buf, size_t len)
{
    struct tarw *t = ctx;
    if (t->discard)
        return (la_ssize_t)len;
    if (t->fn(t->ctx, buf, len) < 0) {
        t->gone = true;
        archive_set_error(a, EPIPE, "the client went away");
        return -1;
    }
    return (la_ssize_t)len;
}

static void tar_open(struct tarw *t, eng_tar_write_fn fn, void *ctx)
{
    *t = (struct tarw){.fn = fn, .ctx = ctx, .buf = xmalloc(COPY_BUF)};
    t->a = archive_write_new();
    t->links = archive_entry_linkresolver_new();
    if (t->a == NULL || t->links == NULL)
        abort();
    /* ustar unless an entry needs more; no padding past the end-of-archive blocks, as Go's
     * tar writer (Docker's) ends its streams */
    if (archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(t->a, 1) != ARCHIVE_OK ||
        archive_write_open2(t->a, t, NULL, tar_out, NULL, NULL) != ARCHIVE_OK)
        abort();
    archive_entry_linkresolver_set_strategy(t->links, archive_format(t->a));
}

/* ok: write the end of the archive; otherwise leave it truncated, so the reader sees that it
 * is incomplete. (Closing either way: libarchive 3.6 frees its block buffer only there.) */
static int tar_close(struct tarw *t, bool ok, struct berr **err)
{
    int rc = 0;
    t->discard = !ok;
    if (archive_write_close(t->a) != ARCHIVE_OK && ok)
        rc = berr_code(err, t->gone ? EPIPE : EIO, "write the archive: %s",
                       archive_error_string(t->a));
    archive_write_free(t->a);
    archive_entry_linkresolver_free(t->links);
    free(t->buf);
    return rc;
}

static int tar_fail(struct tarw *t, const char *name, struct berr **err)
{
    if (t->gone)
        return berr_code(err, EPIPE, "the client went away");
    return berr_code(err, EIO, "write %s to the archive: %s", name, archive_error_string(t->a));
}

static void entry_freep(struct archive_entry **e)
{
    if (*e != NULL)
        archive_entry_free(*e);
}

/* One entry from fd (O_PATH, never a symlink followed) with what st says of it. */
static int tar_add(struct tarw *t, int fd, const struct stat *st0, const char *tarname,
                   struct berr **err)
{
    struct stat st = *st0;
    _cleanup_close_ int data = -1;
    if (S_ISSOCK(st.st_mode))
        return 0;
    if (S_ISREG(st.st_mode)) {
        /* the very inode fd names, whatever happened to its name meanwhile; O_NONBLOCK so
         * that nothing can make this open wait */
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        data = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (data < 0 || fstat(data, &st) < 0)
            return berr_code(err, EIO, "open %s: %s", tarname, strerror(errno));
    }
    _cleanup_(entry_freep) struct archive_entry *ent = archive_entry_new();
    if (ent == NULL)
        abort();
    archive_entry_copy_stat(ent, &st);
    archive_entry_unset_atime(ent);
    archive_entry_unset_ctime(ent);
    archive_entry_unset_birthtime(ent);
    archive_entry_copy_pathname(ent, tarname);
    if (S_ISLNK(st.st_mode)) {
        _cleanup_free_ char *target = xmalloc(PATH_MAX);
        ssize_t n = readlinkat(fd, "", target, PATH_MAX - 1);
        if (n < 0)
            return berr_code(err, EIO, "read the link %s: %s", tarname, strerror(errno));
        target[n] = '\0';
        archive_entry_copy_symlink(ent, target);
    }
    if (!S_ISREG(st.st_mode))
        archive_entry_set_size(ent, 0);
    if (S_ISREG(st.st_mode)) {
        /* the one extended attribute Docker carries: file capabilities */
        char cap[256];
        ssize_t cl = fgetxattr(data, "security.capability", cap, sizeof(cap));
        if (cl > 0)
            archive_entry_xattr_add_entry(ent, "security.capability", cap, (size_t)cl);
        if (st.st_nlink > 1) {
            struct archive_entry *spare = NULL;
            archive_entry_linkify(t->links, &ent, &spare);
            entry_freep(&spare);
        }
    }
    if (archive_write_header(t->a, ent) < ARCHIVE_WARN)
        return tar_fail(t, tarname, err);
    if (data >= 0 && archive_entry_hardlink(ent) == NULL) {
        /* a file that shrinks meanwhile is padded by libarchive; one that grows is cut at
         * the size in its header */
        for (int64_t left = st.st_size; left > 0;) {
            ssize_t n = read(data, t->buf, left < COPY_BUF ? (size_t)left : COPY_BUF);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return berr_code(err, EIO, "read %s: %s", tarname, strerror(errno));
            if (n == 0)
                break;
            if (archive_write_data(t->a, t->buf, (size_t)n) < 0)
                return tar_fail(t, tarname, err);
            left -= n;
        }
    }
    if (archive_write_finish_entry(t->a) < ARCHIVE_WARN)
        return tar_fail(t, tarname, err);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory fd (O_PATH), sorted as Go's filepath.WalkDir visits them. */
static char **list_dir(int fd, struct berr **err)
{
    int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (d == NULL) {
        if (dfd >= 0)
            close(dfd);
        return berr_sys(err, "read a directory"), NULL;
    }
    size_t n = 0, cap = 16;
    char **v = xcalloc(cap, sizeof(*v));
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n + 1 == cap)
            v = xreallocarray(v, cap *= 2, sizeof(*v));
        v[n++] = xstrdup(de->d_name);
    }
    v[n] = NULL;
    closedir(d);
    qsort(v, n, sizeof(*v), cmp_str);
    return v;
}

/* The contents of the walk's top directory, each named prefix/name (name alone when prefix
 * is NULL); mount points inside give their mounts' contents. */
static int tar_dir(struct tarw *t, struct walk *w, const char *prefix, struct berr **err)
{
    if (w->depth >= MAX_DEPTH)
        return berr_code(err, ELOOP, "%s: directories nested deeper than %d levels", walk_path(w),
                         MAX_DEPTH);
    _cleanup_strv_ char **names = list_dir(TOP(w)->fd, err);
    if (names == NULL)
        return berr_wrap(err, "%s", walk_path(w));
    for (size_t i = 0; names[i] != NULL; i++) {
        int owner;
        struct stat st;
        _cleanup_close_ int fd = child_open(w, names[i], &owner);
        if (fd < 0 || fd_stat(fd, &st) < 0) {
            if (errno == ENOENT)
                continue; /* removed while we walk */
            return berr_code(err, EIO, "open %s/%s: %s", w->path, names[i], strerror(errno));
        }
        _cleanup_free_ char *name =
            prefix != NULL ? xasprintf("%s/%s", prefix, names[i]) : xstrdup(names[i]);
        if (!S_ISDIR(st.st_mode)) {
            if (tar_add(t, fd, &st, name, err) < 0)
                return -1;
            continue;
        }
        _cleanup_free_ char *dname = xasprintf("%s/", name);
        if (tar_add(t, fd, &st, dname, err) < 0)
            return -1;
        walk_push(w, steal_fd(&fd), names[i], owner);
        int rc = tar_dir(t, w, name, err);
        walk_pop(w);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int eng_archive_get(struct eng *e, const char *ref, const char *path, eng_tar_write_fn fn,
                    void *ctx, struct berr **err)
{
    if (path == NULL || *path == '\0')
        return berr_code(err, EINVAL, "bad parameter: path cannot be empty");
    _cleanup_(view_close) struct view v = {.root = -1};
    if (view_open(&v, e, ref, true, err) < 0)
        return -1;
    _cleanup_free_ char *abs = docker_abs(path);
    _cleanup_(walk_free) struct walk w;
    walk_init(&w, &v);
    _cleanup_(res_clear) struct res r = {.leaf = -1};
    struct eng_path_stat ps;
    struct stat st;
    if (stat_path(&v, &w, &r, abs, path, ref, &ps, &st, err) < 0)
        return -1;
    /* Docker's names: a directory's entries under its base name ("/" for the root gives
     * "/", "/bin/"...; "d/." gives "./", "./x"), anything else one entry of its base name */
    const char *prefix = strcmp(ps.name, "/") == 0 ? "" : ps.name;
    struct tarw t;
    tar_open(&t, fn, ctx);
    int rc;
    if (S_ISDIR(st.st_mode)) {
        _cleanup_free_ char *dname = xasprintf("%s/", prefix);
        rc = tar_add(&t, TOP(&w)->fd, &st, dname, err);
        if (rc == 0)
            rc = tar_dir(&t, &w, prefix, err);
    } else {
        rc = tar_add(&t, r.leaf, &st, ps.name, err);
    }
    eng_path_stat_clear(&ps);
    if (tar_close(&t, rc == 0, rc == 0 ? err : NULL) < 0 || rc < 0)
        return -1;
    eng_event(e, v.c, "archive-path", NULL);
    return 0;
}

int eng_export(struct eng *e, const char *ref, eng_tar_write_fn fn, void *ctx, struct berr **err)
{
    _cleanup_(view_close) struct view v = {.root = -1};
    if (view_open(&v, e, ref, false, err) < 0)
        return -1;
    _cleanup_(walk_free) struct walk w;
    walk_init(&w, &v);
    struct tarw t;
    tar_open(&t, fn, ctx);
    int rc = tar_dir(&t, &w, NULL, err);
    if (tar_close(&t, rc == 0, rc == 0 ? err : NULL) < 0 || rc < 0)
        return -1;
    eng_event(e, v.c, "export", NULL);
    return 0;
}

/* ---- extracting ---- */

struct dir_times {
    char *path;
    struct timespec ts[2];
};

struct xtr {
    struct view *v;
    struct walk w; /* at the parent of the entry being written */
    bool w_valid;  /* the walk still matches the tree (nothing was replaced since) */
    char *dest;    /* the extraction directory, resolved */
    const struct eng_extract_opts *o;
    bool own; /* chown everything to uid:gid */
    uid_t uid;
    gid_t gid;
    struct dir_times *dirs; /* directory times, set last so that later entries keep them */
    size_t ndirs, dcap;
};

static void xtr_clear(struct xtr *x)
{
    walk_free(&x->w);
    free(x->dest);
    for (size_t i = 0; i < x->ndirs; i++)
        free(x->dirs[i].path);
    free(x->dirs);
}

static int check_writable(const struct view *v, int owner, struct berr **err)
{
    if (owner < 0 ? v->root_rw : v->m[owner].rw)
        return 0;
    return berr_code(err, EINVAL, "%s",
                     owner < 0 ? "container rootfs is marked read-only"
                               : "mounted volume is marked read-only");
}

/* Puts the walk on the directory parent (a clean absolute path), creating what is missing
 * as Docker does (0755, owned by root). */
static int enter_parent(struct xtr *x, const char *parent, struct berr **err)
{
    if (x->w_valid && strcmp(walk_path(&x->w), parent) == 0)
        return 0;
    x->w_valid = false;
    _cleanup_(res_clear) struct res r = {.leaf = -1};
    int rc = resolve(&x->w, parent, R_FOLLOW | R_PARTIAL, &r);
    if (rc == 0 && r.leaf >= 0)
        rc = -ENOTDIR;
    if (rc < 0)
        return berr_code(err, rc == -ENOTDIR ? EINVAL : EIO, "extract into %s: %s", parent,
                         strerror(-rc));
    for (char *save = NULL, *c = strtok_r(r.rest, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0)
            return berr_code(err, EINVAL, "extract into %s: a symlink on the way is dangling",
                             parent);
        if (check_writable(x->v, TOP(&x->w)->owner, err) < 0)
            return -1;
        if (mkdirat(TOP(&x->w)->fd, c, 0755) < 0 && errno != EEXIST)
            return berr_sys(err, "create %s/%s", x->w.path, c);
        int owner;
        struct stat st;
        int fd = child_open(&x->w, c, &owner);
        if (fd < 0 || fd_stat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
            if (fd >= 0)
                close(fd);
            return berr_code(err, EIO, "create %s/%s: it changed under us", x->w.path, c);
        }
        walk_push(&x->w, fd, c, owner);
    }
    x->w_valid = true;
    return 0;
}

static void entry_times(struct archive_entry *ent, struct timespec ts[2])
{
    ts[1] = (struct timespec){archive_entry_mtime(ent), archive_entry_mtime_nsec(ent)};
    ts[0] = ts[1];
    /* Docker: an access time before the modification time is taken as the latter */
    if (archive_entry_atime_is_set(ent) && archive_entry_atime(ent) > ts[1].tv_sec)
        ts[0] = (struct timespec){archive_entry_atime(ent), archive_entry_atime_nsec(ent)};
}

/* Owner, extended attributes, mode and times of a regular file or directory we hold open. */
static int set_meta(struct xtr *x, struct archive_entry *ent, int fd, const char *full, bool dir,
                    struct berr **err)
{
    uid_t uid = x->own ? x->uid : (uid_t)archive_entry_uid(ent);
    gid_t gid = x->own ? x->gid : (gid_t)archive_entry_gid(ent);
    if (fchown(fd, uid, gid) < 0)
        return berr_sys(err, "chown %s", full);
    const char *name;
    const void *val;
    size_t size;
    archive_entry_xattr_reset(ent);
    while (archive_entry_xattr_next(ent, &name, &val, &size) == ARCHIVE_OK) {
        if (fsetxattr(fd, name, val, size, 0) < 0 && errno != ENOTSUP && errno != EPERM)
            return berr_sys(err, "set the attribute %s on %s", name, full);
    }
    /* after chown, which clears set-id bits */
    if (fchmod(fd, archive_entry_perm(ent)) < 0)
        return berr_sys(err, "chmod %s", full);
    struct timespec ts[2];
    entry_times(ent, ts);
    if (!dir)
        return futimens(fd, ts) < 0 ? berr_sys(err, "set the times of %s", full) : 0;
    if (x->ndirs == x->dcap)
        x->dirs = xreallocarray(x->dirs, x->dcap = x->dcap ? x->dcap * 2 : 16, sizeof(*x->dirs));
    x->dirs[x->ndirs++] = (struct dir_times){.path = xstrdup(full), .ts = {ts[0], ts[1]}};
    return 0;
}

static int copy_data(struct archive *a, struct archive_entry *ent, int fd, const char *full,
                     struct berr **err)
{
    int64_t end = 0;
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int r = archive_read_data_block(a, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return berr_code(err, EINVAL, "read %s from the archive: %s", full,
                             archive_error_string(a));
        for (size_t done = 0; done < size;) {
            ssize_t n = pwrite(fd, (const char *)buf + done, size - done, off + (off_t)done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return berr_sys(err, "write %s", full);
            done += (size_t)n;
        }
        end = off + (int64_t)size;
    }
    /* a sparse file's trailing hole */
    if (archive_entry_size(ent) > end && ftruncate(fd, archive_entry_size(ent)) < 0)
        return berr_sys(err, "write %s", full);
    return 0;
}

static int make_hardlink(struct xtr *x, const char *target, const char *base, const char *full,
                         struct berr **err)
{
    _cleanup_free_ char *tclean = go_clean(target);
    _cleanup_free_ char *tjoined = xasprintf("%s/%s", x->dest, tclean);
    _cleanup_free_ char *tfull = go_clean(tjoined);
    if (!within(x->dest, tfull) || strcmp(tfull, x->dest) == 0)
        return berr_code(err, EINVAL, "invalid hardlink \"%s\" -> \"%s\"", tfull, target);
    char *slash = strrchr(tfull, '/');
    _cleanup_free_ char *tparent =
        slash == tfull ? xstrdup("/") : xstrndup(tfull, (size_t)(slash - tfull));
    _cleanup_(walk_free) struct walk w;
    walk_init(&w, x->v);
    _cleanup_(res_clear) struct res r = {.leaf = -1};
    int rc = resolve(&w, tparent, R_FOLLOW, &r);
    if (rc == 0 && r.leaf >= 0)
        rc = -ENOTDIR;
    if (rc == 0 && linkat(TOP(&w)->fd, slash + 1, TOP(&x->w)->fd, base, 0) < 0)
        rc = -errno;
    if (rc < 0)
        return berr_code(err, rc == -ENOENT || rc == -ENOTDIR ? EINVAL : EIO, "link %s to %s: %s",
                         full, tfull, strerror(-rc));
    return 0;
}

/* A device node or FIFO just made: metadata through a descriptor of the node itself, since
 * chmod by name would follow a symlink a running container put in its place. */
static int node_meta(struct xtr *x, struct archive_entry *ent, const char *base, const char *full,
                     struct berr **err)
{
    int dir = TOP(&x->w)->fd;
    _cleanup_close_ int fd = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fd_stat(fd, &st) < 0 || S_ISLNK(st.st_mode))
        return berr_code(err, EIO, "%s changed while it was extracted", full);
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    struct timespec ts[2];
    entry_times(ent, ts);
    if (fchownat(fd, "", x->own ? x->uid : (uid_t)archive_entry_uid(ent),
                 x->own ? x->gid : (gid_t)archive_entry_gid(ent), AT_EMPTY_PATH) < 0 ||
        chmod(proc, archive_entry_perm(ent)) < 0 ||
        utimensat(dir, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return berr_sys(err, "set the owner, mode and times of %s", full);
    return 0;
}

static int extract_one(struct xtr *x, struct archive *a, struct archive_entry *ent,
                       struct berr **err)
{
    const char *raw = archive_entry_pathname(ent);
    if (raw == NULL || *raw == '\0')
        return berr_code(err, EINVAL, "the archive has an entry without a readable name");
    /* Docker's rule: names are cleaned, then taken under the extraction directory, and one
     * that still climbs out of it is refused */
    _cleanup_free_ char *cname = go_clean(raw);
    _cleanup_free_ char *joined = xasprintf("%s/%s", x->dest, cname);
    _cleanup_free_ char *full = go_clean(joined);
    if (!within(x->dest, full))
        return berr_code(err, EINVAL, "\"%s\" is outside of \"%s\"", raw, x->dest);
    const char *hardlink = archive_entry_hardlink(ent);
    mode_t type = archive_entry_filetype(ent);
    bool is_dir = hardlink == NULL && type == AE_IFDIR;
    if (strcmp(full, x->dest) == 0) {
        if (is_dir)
            return 0;
        return berr_code(err, EINVAL, "cannot replace the extraction directory %s with \"%s\"",
                         x->dest, raw);
    }
    char *slash = strrchr(full, '/');
    const char *base = slash + 1;
    _cleanup_free_ char *parent =
        slash == full ? xstrdup("/") : xstrndup(full, (size_t)(slash - full));
    if (enter_parent(x, parent, err) < 0)
        return -1;
    int dirfd = TOP(&x->w)->fd;
    int m = mount_at(x->v, x->w.path, x->w.plen, base);
    if (check_writable(x->v, m >= 0 ? m : TOP(&x->w)->owner, err) < 0)
        return -1;
    if (m >= 0) {
        /* a mount point can take a directory's metadata, nothing else */
        _cleanup_close_ int fd = openat(x->v->m[m].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (!is_dir || fd < 0)
            return berr_code(err, EBUSY, "cannot replace %s: a mount is there", full);
        return set_meta(x, ent, fd, full, true, err);
    }
    struct stat old;
    bool exists = fstatat(dirfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
    bool old_dir = exists && S_ISDIR(old.st_mode);
    if (exists && x->o->no_overwrite_dir_non_dir && old_dir != is_dir)
        return berr_code(err, EINVAL,
                         old_dir ? "cannot overwrite directory \"%s\" with "
                                   "non-directory \"%s\""
                                 : "cannot overwrite non-directory \"%s\" with "
                                   "directory \"%s\"",
                         full, x->dest);
    if (exists && !(old_dir && is_dir)) {
        x->w_valid = false;
        if (old_dir ? rm_rf_at(dirfd, base, err) < 0 : unlinkat(dirfd, base, 0) < 0)
            return old_dir ? -1 : berr_sys(err, "replace %s", full);
    }
    if (hardlink != NULL)
        return make_hardlink(x, hardlink, base, full, err);
    uid_t uid = x->own ? x->uid : (uid_t)archive_entry_uid(ent);
    gid_t gid = x->own ? x->gid : (gid_t)archive_entry_gid(ent);
    switch (type) {
    case AE_IFDIR: {
        if (!old_dir && mkdirat(dirfd, base, 0700) < 0)
            return berr_sys(err, "create %s", full);
        _cleanup_close_ int fd =
            openat(dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return berr_sys(err, "open %s", full);
        return set_meta(x, ent, fd, full, true, err);
    }
    case AE_IFREG: {
        _cleanup_close_ int fd =
            openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return berr_sys(err, "create %s", full);
        if (copy_data(a, ent, fd, full, err) < 0)
            return -1;
        return set_meta(x, ent, fd, full, false, err);
    }
    case AE_IFLNK: {
        const char *target = archive_entry_symlink(ent);
        if (target == NULL || *target == '\0')
            return berr_code(err, EINVAL, "the archive's symlink %s has no target", raw);
        /* Docker's rule, though nothing could escape anyway: a relative target may not climb
         * out of the extraction directory */
        _cleanup_free_ char *tjoined = xasprintf("%s/%s", parent, target);
        _cleanup_free_ char *tfull = go_clean(tjoined);
        if (!within(x->dest, tfull))
            return berr_code(err, EINVAL, "invalid symlink \"%s\" -> \"%s\"", full, target);
        x->w_valid = false;
        struct timespec ts[2];
        entry_times(ent, ts);
        if (symlinkat(target, dirfd, base) < 0 ||
            fchownat(dirfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            utimensat(dirfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
            return berr_sys(err, "create the symlink %s", full);
        return 0;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
        mode_t t = type == AE_IFCHR ? S_IFCHR : type == AE_IFBLK ? S_IFBLK : S_IFIFO;
        if (mknodat(dirfd, base, t | 0600, archive_entry_rdev(ent)) < 0)
            return berr_sys(err, "create %s", full);
        return node_meta(x, ent, base, full, err);
    }
    default:
        return berr_code(err, EINVAL, "unhandled tar entry type 0%o for %s", (unsigned)type, raw);
    }
}

int eng_archive_put(struct eng *e, const char *ref, const char *path, int tar_fd,
                    const struct eng_extract_opts *o, struct berr **err)
{
    if (path == NULL || *path == '\0')
        return berr_code(err, EINVAL, "bad parameter: path cannot be empty");
    _cleanup_(view_close) struct view v = {.root = -1};
    if (view_open(&v, e, ref, true, err) < 0)
        return -1;
    _cleanup_(xtr_clear) struct xtr x = {.v = &v, .o = o};
    walk_init(&x.w, &v);
    _cleanup_free_ char *joined = xasprintf("/%s", path);
    _cleanup_free_ char *abs = go_clean(joined);
    {
        /* the extraction point: symlinks followed, the last one too */
        _cleanup_(res_clear) struct res r = {.leaf = -1};
        int rc = resolve(&x.w, abs, R_FOLLOW, &r);
        if (rc == -ENOTDIR || (rc == 0 && r.leaf >= 0))
            return berr_code(err, EINVAL, "extraction point is not a directory");
        if (rc < 0)
            return path_error(err, rc, path, ref);
    }
    if (check_writable(&v, TOP(&x.w)->owner, err) < 0)
        return -1;
    x.dest = xstrdup(walk_path(&x.w));
    x.w_valid = true;
    if (o->copy_uid_gid && v.user[0] != '\0') {
        struct eng_user u = {0};
        if (eng_user_resolve(v.root, v.user, NULL, &u, err) < 0)
            return -1;
        x.own = true;
        x.uid = u.uid;
        x.gid = u.gid;
        eng_user_clear(&u);
    }

    struct archive *a = archive_read_new();
    if (a == NULL)
        abort();
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_empty(a);
    int rc = 0;
    if (archive_read_open_fd(a, tar_fd, COPY_BUF) != ARCHIVE_OK) {
        rc = berr_code(err, EINVAL, "read the archive: %s", archive_error_string(a));
    } else {
        for (;;) {
            struct archive_entry *ent;
            int r = archive_read_next_header(a, &ent);
            if (r == ARCHIVE_EOF)
                break;
            if (r < ARCHIVE_WARN) {
                rc = berr_code(err, EINVAL, "read the archive: %s", archive_error_string(a));
                break;
            }
            if ((rc = extract_one(&x, a, ent, err)) < 0)
                break;
        }
    }
    archive_read_free(a);
    if (rc < 0)
        return -1;
    /* directories last: what was extracted into them changed their times */
    for (size_t i = x.ndirs; i-- > 0;) {
        _cleanup_(res_clear) struct res r = {.leaf = -1};
        if (resolve(&x.w, x.dirs[i].path, 0, &r) < 0 || r.leaf >= 0)
            continue;
        _cleanup_close_ int fd = openat(TOP(&x.w)->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || futimens(fd, x.dirs[i].ts) < 0)
            return berr_sys(err, "set the times of %s", x.dirs[i].path);
    }
    eng_event(e, v.c, "extract-to-dir", NULL);
    return 0;
}
