/* Writable layers against their images: a walk comparing them as Docker's naive differ compares
 * two trees (an overlay upper alone, as what it lacks is the image's; a copy driver's full tree
 * name by name), the layer tar written from that change list, and the image committed around it.
 * The image is read across its layer directories by overlayfs' rules; the upper directory, which
 * a running container may change meanwhile, only through directory fds. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "image/archive_internal.h"
#include "image/diff.h"
#include "image/gc.h"
#include "image/imagedb.h"
#include "image/manifest.h"
#include "image/snapshot_internal.h"
#include "image/unpack.h"

#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define CAPABILITY_XATTR     "security.capability"
#define XATTR_VALUE_MAX      IMG_UNPACK_MAX_XATTR_VALUE
#define XATTR_NAMES_MAX      65536
#define COPY_CHUNK           (256 * 1024)

/* ---- change lists ---- */

void img_changes_free(struct img_changes *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].path);
    free(c->v);
    free(c);
}

void img_changes_freep(struct img_changes **c)
{
    img_changes_free(*c);
    *c = NULL;
}

/* Inserts at position at (n for the end); path is "a/b" relative to the root. */
static void changes_insert(struct img_changes *c, size_t at, const char *rel,
                           enum img_change_kind kind)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
    }
    memmove(&c->v[at + 1], &c->v[at], (c->n - at) * sizeof(*c->v));
    c->v[at] = (struct img_change){.path = xasprintf("/%s", rel), .kind = kind};
    c->n++;
}

/* ---- small file helpers ---- */

static bool is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static char *join(const char *rel, const char *name)
{
    return rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
}

/* There is no lgetxattrat(): an entry is reached through its directory's fd in /proc, whose
 * last component lgetxattr() does not follow. Returns the value's length, 0 when absent. */
static ssize_t xattr_at(int dirfd, const char *rel, const char *name, char *buf, size_t cap)
{
    char path[64 + PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, rel) >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    ssize_t n = lgetxattr(path, name, buf, cap);
    if (n < 0 && (errno == ENODATA || errno == ENOTSUP))
        return 0;
    return n;
}

static bool opaque_at(int dirfd, const char *rel)
{
    char v[2];
    return xattr_at(dirfd, rel, OVERLAY_XATTR_PREFIX "opaque", v, sizeof(v)) == 1 && v[0] == 'y';
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory rel beneath dirfd ("" for dirfd itself), sorted. */
static char **list_dir(int dirfd, const char *rel, struct berr **err)
{
    int fd = openat(dirfd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return berr_sys(err, "open directory /%s", rel), NULL;
    }
    char **v = xcalloc(1, sizeof(char *));
    size_t n = 0, cap = 1;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n + 1 >= cap) {
            cap *= 2;
            v = xreallocarray(v, cap, sizeof(char *));
        }
        v[n++] = xstrdup(de->d_name);
        v[n] = NULL;
        errno = 0;
    }
    int saved = errno;
    closedir(d);
    if (saved != 0) {
        strv_free(v);
        errno = saved;
        return berr_sys(err, "read directory /%s", rel), NULL;
    }
    qsort(v, n, sizeof(char *), cmp_strp);
    return v;
}

/* ---- the image side: a stack of layer directories, top first ---- */

struct base {
    size_t n;
    int *fds;
    bool whiteouts; /* overlay layers (whiteouts and opaque markers), not one full tree */
};

/* One directory of the image, and the layers that show it. */
struct cursor {
    const char *rel;
    bool *vis;
};

static void base_clear(struct base *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->fds[i] >= 0)
            close(b->fds[i]);
    free(b->fds);
    b->fds = NULL;
    b->n = 0;
}

static int base_add(struct base *b, struct img_snapshotter *sn, const char *chain,
                    struct berr **err)
{
    _cleanup_free_ char *fs = img_snap_fs_path(sn, chain);
    int fd = open(fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(err, "image layer %s", fs);
    b->fds = xreallocarray(b->fds, b->n + 1, sizeof(int));
    b->fds[b->n++] = fd;
    return 0;
}

/* Opens the image's layers: every snapshot of the chain (overlay) or the chain's full tree. */
static int base_open(struct base *b, struct img_snapshotter *sn, const char *chain_id,
                     struct berr **err)
{
    *b = (struct base){.whiteouts = sn->ops->whiteouts == IMG_WHITEOUT_OVERLAY};
    if (chain_id == NULL)
        return 0;
    if (!img_snap_exists(sn, chain_id))
        return berr_set(err, ENOENT, "the image's layer snapshot %s is missing", chain_id);
    if (!b->whiteouts)
        return base_add(b, sn, chain_id, err);
    _cleanup_free_ char *cur = xstrdup(chain_id);
    while (cur) {
        if (b->n >= 1000)
            return berr_set(err, ELOOP, "snapshot %s: its chain does not end", chain_id);
        if (base_add(b, sn, cur, err) < 0)
            return -1;
        char *parent = img_snap_parent(sn, cur);
        free(cur);
        cur = parent;
    }
    return 0;
}

/* The image's entry rel: 1 with *st and *layer set, 0 when it has none. Every directory above
 * rel is a real directory in each layer cur shows (checked on the way down), and layers never
 * change, so a path relative to the layer's root cannot leave it. */
static int base_stat(const struct base *b, const struct cursor *cur, const char *rel,
                     struct stat *st, size_t *layer, struct berr **err)
{
    for (size_t i = 0; i < b->n; i++) {
        if (!cur->vis[i])
            continue;
        if (fstatat(b->fds[i], rel, st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            return berr_sys(err, "image layer: stat /%s", rel);
        }
        if (b->whiteouts && is_whiteout(st))
            return 0;
        *layer = i;
        return 1;
    }
    return 0;
}

/* The layers that show directory rel (a child of cur's): an upper layer's non-directory,
 * whiteout or opaque directory hides the layers below. */
static int base_child(const struct base *b, const struct cursor *cur, const char *rel,
                      struct cursor *out, struct berr **err)
{
    out->rel = rel;
    out->vis = xcalloc(b->n ? b->n : 1, sizeof(bool));
    for (size_t i = 0; i < b->n; i++) {
        if (!cur->vis[i])
            continue;
        struct stat st;
        if (fstatat(b->fds[i], rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            return berr_sys(err, "image layer: stat /%s", rel);
        }
        if (!S_ISDIR(st.st_mode))
            break;
        out->vis[i] = true;
        if (b->whiteouts && opaque_at(b->fds[i], rel))
            break;
    }
    return 0;
}

struct base_name {
    char *name;
    size_t layer;
    bool whiteout;
};

static int cmp_base_name(const void *a, const void *b)
{
    const struct base_name *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->layer > y->layer) - (x->layer < y->layer);
}

/* The names the image shows in cur's directory, sorted. */
static char **base_list(const struct base *b, const struct cursor *cur, struct berr **err)
{
    struct base_name *all = NULL;
    size_t n = 0;
    char **out = NULL;
    for (size_t i = 0; i < b->n; i++) {
        if (!cur->vis[i])
            continue;
        _cleanup_strv_ char **names = list_dir(b->fds[i], cur->rel, err);
        if (names == NULL)
            goto done;
        size_t k = strv_length(names);
        all = xreallocarray(all, n + k + 1, sizeof(*all));
        for (size_t j = 0; j < k; j++) {
            struct stat st;
            _cleanup_free_ char *rel = join(cur->rel, names[j]);
            bool wh = b->whiteouts && fstatat(b->fds[i], rel, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                      is_whiteout(&st);
            all[n++] = (struct base_name){.name = steal_ptr(&names[j]), .layer = i, .whiteout = wh};
        }
    }
    if (n > 0)
        qsort(all, n, sizeof(*all), cmp_base_name);
    out = xcalloc(n + 1, sizeof(char *));
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        bool first = i == 0 || strcmp(all[i - 1].name, all[i].name) != 0;
        if (first && !all[i].whiteout)
            out[m++] = xstrdup(all[i].name);
    }
done:
    for (size_t i = 0; i < n; i++)
        free(all[i].name);
    free(all);
    return out;
}

/* ---- the walk ---- */

struct differ {
    struct base base;
    bool overlay; /* the upper directory is an overlayfs upper, not a full tree */
    const char *const *ignore;
    struct img_changes *out;
    unsigned depth;
};

static bool ignored(const struct differ *d, const char *rel)
{
    for (size_t i = 0; d->ignore && d->ignore[i]; i++) {
        if (d->ignore[i][0] == '/' && strcmp(d->ignore[i] + 1, rel) == 0)
            return true;
    }
    return false;
}

/* A directory the runtime makes to hold a mount point ("/etc" for "/etc/hosts"). */
static bool holds_ignored(const struct differ *d, const char *rel)
{
    size_t n = strlen(rel);
    for (size_t i = 0; d->ignore && d->ignore[i]; i++) {
        const char *p = d->ignore[i];
        if (p[0] == '/' && strncmp(p + 1, rel, n) == 0 && p[n + 1] == '/')
            return true;
    }
    return false;
}

/* Go's time comparison in Docker's sameFsTime: equal, or the same second where one side has
 * no fraction (tar headers kept whole seconds). */
static bool same_time(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec &&
           (a->tv_nsec == b->tv_nsec || a->tv_nsec == 0 || b->tv_nsec == 0);
}

static int differs(const struct differ *d, int ufd, const char *name, const struct stat *nst,
                   size_t layer, const char *rel, const struct stat *ost, bool *out,
                   struct berr **err)
{
    *out = nst->st_mode != ost->st_mode || nst->st_uid != ost->st_uid ||
           nst->st_gid != ost->st_gid || nst->st_rdev != ost->st_rdev ||
           (!S_ISDIR(ost->st_mode) &&
            (!same_time(&nst->st_mtim, &ost->st_mtim) || nst->st_size != ost->st_size));
    if (*out)
        return 0;
    char a[512], b[512];
    ssize_t na = xattr_at(ufd, name, CAPABILITY_XATTR, a, sizeof(a));
    ssize_t nb = xattr_at(d->base.fds[layer], rel, CAPABILITY_XATTR, b, sizeof(b));
    if (na < 0 || nb < 0)
        return berr_sys(err, "read %s of /%s", CAPABILITY_XATTR, rel);
    *out = na != nb || memcmp(a, b, (size_t)na) != 0;
    return 0;
}

/* Both sorted; the result is their sorted union. */
static char **merge_names(char **a, char **b)
{
    size_t na = strv_length(a), nb = strv_length(b), i = 0, j = 0, n = 0;
    char **v = xcalloc(na + nb + 1, sizeof(char *));
    while (i < na || j < nb) {
        int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i], b[j]);
        if (c <= 0) {
            v[n++] = xstrdup(a[i++]);
            j += c == 0;
        } else {
            v[n++] = xstrdup(b[j++]);
        }
    }
    return v;
}

static int walk(struct differ *d, const char *rel, int ufd, bool opaque, const struct cursor *cur,
                struct berr **err);

/* One name of a directory: what the layer and the image have there. */
static int walk_entry(struct differ *d, int ufd, const char *name, const struct cursor *cur,
                      struct berr **err)
{
    _cleanup_free_ char *rel = join(cur->rel, name);
    struct stat nst, ost;
    bool has_new = fstatat(ufd, name, &nst, AT_SYMLINK_NOFOLLOW) == 0;
    if (!has_new && errno != ENOENT)
        return berr_sys(err, "stat /%s", rel);
    if (has_new && d->overlay && is_whiteout(&nst))
        has_new = false;
    size_t layer = 0;
    int has_old = base_stat(&d->base, cur, rel, &ost, &layer, err);
    if (has_old < 0)
        return -1;
    if ((!has_new && !has_old) || (!has_old && ignored(d, rel)))
        return 0;
    size_t mark = d->out->n;
    if (!has_new) {
        changes_insert(d->out, d->out->n, rel, IMG_CHANGE_DELETE);
        return 0;
    }
    /* a new directory made only for mount points is the runtime's, unless something else
     * is added below it */
    bool tentative = !has_old && S_ISDIR(nst.st_mode) && holds_ignored(d, rel);
    bool listed = !has_old && !tentative;
    if (has_old && differs(d, ufd, name, &nst, layer, rel, &ost, &listed, err) < 0)
        return -1;
    if (listed)
        changes_insert(d->out, d->out->n, rel, has_old ? IMG_CHANGE_MODIFY : IMG_CHANGE_ADD);
    if (!S_ISDIR(nst.st_mode))
        return 0;
    _cleanup_close_ int cfd = openat(ufd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (cfd < 0) {
        /* replaced meanwhile by a running container: it is what it was when stat saw it */
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return 0;
        return berr_sys(err, "open /%s", rel);
    }
    struct cursor child = {.rel = rel};
    if (has_old && S_ISDIR(ost.st_mode)) {
        if (base_child(&d->base, cur, rel, &child, err) < 0) {
            free(child.vis);
            return -1;
        }
    } else {
        child.vis = xcalloc(d->base.n ? d->base.n : 1, sizeof(bool));
    }
    int r = walk(d, rel, cfd, d->overlay && opaque_at(ufd, name), &child, err);
    free(child.vis);
    if (r < 0)
        return -1;
    if (!listed && d->out->n > mark)
        changes_insert(d->out, mark, rel, tentative ? IMG_CHANGE_ADD : IMG_CHANGE_MODIFY);
    return 0;
}

static int walk(struct differ *d, const char *rel, int ufd, bool opaque, const struct cursor *cur,
                struct berr **err)
{
    /* each level holds a directory fd: a tree deeper than this is a container's mischief */
    if (++d->depth > 1024)
        return berr_set(err, ELOOP, "/%s: directories nested deeper than 1024 levels", rel);
    _cleanup_strv_ char **names = list_dir(ufd, "", err);
    if (names == NULL)
        return berr_wrap(err, "container layer");
    /* The overlay upper holds only what changed, unless an opaque directory hides the image's
     * entries; a full tree is compared name by name. */
    if (!d->overlay || opaque) {
        _cleanup_strv_ char **old = base_list(&d->base, cur, err);
        if (old == NULL)
            return -1;
        char **all = merge_names(names, old);
        strv_free(names);
        names = all;
    }
    for (size_t i = 0; names[i]; i++) {
        if (walk_entry(d, ufd, names[i], cur, err) < 0)
            return -1;
    }
    d->depth--;
    return 0;
}

int img_diff_changes(struct img_snapshotter *sn, const struct img_rw_layer *l,
                     struct img_changes **out, struct berr **err)
{
    struct differ d = {.overlay = sn->ops->whiteouts == IMG_WHITEOUT_OVERLAY,
                       .ignore = l->ignore,
                       .out = xzalloc(sizeof(struct img_changes))};
    _cleanup_close_ int ufd = open(l->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = -1;
    if (ufd < 0) {
        berr_sys(err, "container layer %s", l->upper);
        goto done;
    }
    if (base_open(&d.base, sn, l->chain_id, err) < 0)
        goto done;
    struct cursor root = {.rel = "", .vis = xcalloc(d.base.n ? d.base.n : 1, sizeof(bool))};
    for (size_t i = 0; i < d.base.n; i++)
        root.vis[i] = true;
    r = walk(&d, "", ufd, false, &root, err);
    free(root.vis);
done:
    base_clear(&d.base);
    if (r < 0) {
        img_changes_free(d.out);
        return -1;
    }
    *out = d.out;
    return 0;
}

/* ---- the layer tar ---- */

struct hardlink {
    dev_t dev;
    ino_t ino;
    char *path;
};

struct layer_writer {
    struct archive *tar; /* pax, unblocked, into tar_write */
    struct archive *gz;  /* raw + gzip, into gz_write */
    struct img_hasher *diff;
    struct img_blob_writer *blob;
    struct berr *cb_err; /* from a callback, where libarchive has no room for ours */
    struct hardlink *links;
    size_t n_links;
    size_t entries;
    char *buf;
};

static ssize_t gz_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
    struct layer_writer *w = ctx;
    if (img_blob_writer_write(w->blob, buf, len, &w->cb_err) < 0) {
        archive_set_error(a, EIO, "store the layer");
        return -1;
    }
    return (ssize_t)len;
}

static ssize_t tar_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
    struct layer_writer *w = ctx;
    img_hasher_update(w->diff, buf, len);
    if (archive_write_data(w->gz, buf, len) != (la_ssize_t)len) {
        if (w->cb_err == NULL)
            w->cb_err = berr_new(EIO, "compress the layer: %s", archive_error_string(w->gz));
        archive_set_error(a, EIO, "compress the layer");
        return -1;
    }
    return (ssize_t)len;
}

static int writer_err(struct layer_writer *w, struct archive *a, const char *what,
                      struct berr **err)
{
    if (w->cb_err) {
        berr_set(err, w->cb_err->errnum, "%s: %s", what, w->cb_err->msg);
        berr_free(steal_ptr(&w->cb_err));
        return -1;
    }
    return berr_set(err, archive_errno(a) > 0 ? archive_errno(a) : EIO, "%s: %s", what,
                    archive_error_string(a) ? archive_error_string(a) : "libarchive failed");
}

static void writer_clear(struct layer_writer *w)
{
    if (w->tar)
        archive_write_free(w->tar);
    if (w->gz)
        archive_write_free(w->gz);
    if (w->blob)
        img_blob_writer_abort(w->blob, false);
    img_hasher_free(w->diff);
    berr_free(w->cb_err);
    for (size_t i = 0; i < w->n_links; i++)
        free(w->links[i].path);
    free(w->links);
    free(w->buf);
}

static int writer_open(struct layer_writer *w, struct img_store *s, struct berr **err)
{
    *w = (struct layer_writer){.diff = img_hasher_new(NULL), .buf = xmalloc(COPY_CHUNK)};
    if (img_blob_writer_open(s, NULL, -1, &w->blob, err) < 0)
        return -1;
    w->gz = archive_write_new();
    w->tar = archive_write_new();
    if (w->gz == NULL || w->tar == NULL)
        abort();
    /* Unblocked: a tar padded to 10240 bytes, or gzip followed by zeros, is not what other
     * tools write, and trailing zeros after gzip upset some readers. */
    if (archive_write_add_filter_gzip(w->gz) != ARCHIVE_OK ||
        archive_write_set_options(w->gz, "gzip:!timestamp") != ARCHIVE_OK ||
        archive_write_set_format_raw(w->gz) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(w->gz, 0) != ARCHIVE_OK ||
        archive_write_open(w->gz, w, NULL, gz_write, NULL) != ARCHIVE_OK)
        return writer_err(w, w->gz, "layer compressor", err);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "layer.tar");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    int r = archive_write_header(w->gz, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return writer_err(w, w->gz, "layer compressor", err);
    if (archive_write_set_format_pax_restricted(w->tar) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(w->tar, 0) != ARCHIVE_OK ||
        archive_write_open(w->tar, w, NULL, tar_write, NULL) != ARCHIVE_OK)
        return writer_err(w, w->tar, "layer tar", err);
    return 0;
}

/* The directory holding rel, opened beneath root one real directory at a time; *base points
 * into rel at the last component. Returns -1 with errno set (ENOENT, ENOTDIR, ELOOP when it
 * changed meanwhile). */
static int open_parent(int root, const char *rel, const char **base)
{
    const char *slash = strrchr(rel, '/');
    *base = slash ? slash + 1 : rel;
    int fd = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char *p = rel;
    while (fd >= 0 && slash && p < slash) {
        size_t len = strcspn(p, "/");
        _cleanup_free_ char *comp = xstrndup(p, len);
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        close(fd);
        errno = saved;
        fd = next;
        p += len + 1;
    }
    return fd;
}

static int add_xattrs(struct archive_entry *e, int dirfd, const char *base, const char *rel,
                      char *buf, struct berr **err)
{
    char path[64 + PATH_MAX];
    snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, base);
    _cleanup_free_ char *names = xmalloc(XATTR_NAMES_MAX);
    ssize_t n = llistxattr(path, names, XATTR_NAMES_MAX);
    if (n < 0)
        return errno == ENOTSUP ? 0 : berr_sys(err, "list the extended attributes of /%s", rel);
    int count = 0;
    for (ssize_t off = 0; off < n; off += (ssize_t)strlen(names + off) + 1) {
        const char *name = names + off;
        /* overlayfs' bookkeeping means nothing outside this mount, and an SELinux label is
         * the host's */
        if (strncmp(name, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX)) == 0 ||
            strcmp(name, "security.selinux") == 0)
            continue;
        ssize_t vn = lgetxattr(path, name, buf, XATTR_VALUE_MAX);
        if (vn < 0 && errno == ENODATA)
            continue;
        if (vn < 0)
            return berr_sys(err, "/%s: read extended attribute %s%s", rel, name,
                            errno == ERANGE ? " (over the 64 KiB a layer may hold)" : "");
        if (++count > IMG_UNPACK_MAX_XATTRS)
            return berr_set(err, E2BIG,
                            "/%s has more than %d extended attributes, more than a layer may "
                            "hold: remove some before committing",
                            rel, IMG_UNPACK_MAX_XATTRS);
        archive_entry_xattr_add_entry(e, name, buf, (size_t)vn);
    }
    return 0;
}

static const char *hardlink_of(struct layer_writer *w, const struct stat *st, const char *rel)
{
    for (size_t i = 0; i < w->n_links; i++) {
        if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino)
            return w->links[i].path;
    }
    w->links = xreallocarray(w->links, w->n_links + 1, sizeof(*w->links));
    w->links[w->n_links++] = (struct hardlink){st->st_dev, st->st_ino, xstrdup(rel)};
    return NULL;
}

/* Exactly size bytes: a file that shrank meanwhile is padded with zeros, one that grew is cut,
 * as the header already promised the size. */
static int copy_data(struct layer_writer *w, int fd, int64_t size, const char *rel,
                     struct berr **err)
{
    int64_t left = size;
    bool eof = false;
    while (left > 0) {
        size_t want = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
        ssize_t n = 0;
        if (!eof) {
            n = read(fd, w->buf, want);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return berr_sys(err, "read /%s", rel);
            eof = n == 0;
        }
        if (eof) {
            memset(w->buf, 0, want);
            n = (ssize_t)want;
        }
        if (archive_write_data(w->tar, w->buf, (size_t)n) != n)
            return writer_err(w, w->tar, "layer tar", err);
        left -= n;
    }
    return 0;
}

static int write_whiteout(struct layer_writer *w, const char *rel, struct berr **err)
{
    const char *slash = strrchr(rel, '/');
    _cleanup_free_ char *name = slash ? xasprintf("%.*s/.wh.%s", (int)(slash - rel), rel, slash + 1)
                                      : xasprintf(".wh.%s", rel);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0);
    archive_entry_set_size(e, 0);
    archive_entry_set_mtime(e, time(NULL), 0);
    int r = archive_write_header(w->tar, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return writer_err(w, w->tar, "layer tar", err);
    w->entries++;
    return 0;
}

static int write_entry(struct layer_writer *w, int root, const char *rel, struct berr **err)
{
    const char *base;
    _cleanup_close_ int dfd = open_parent(root, rel, &base);
    struct stat st;
    if (dfd < 0 || fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return 0;
        return berr_sys(err, "stat /%s", rel);
    }
    _cleanup_close_ int fd = -1;
    if (S_ISREG(st.st_mode)) {
        /* O_NONBLOCK: should a FIFO take the file's place meanwhile, open must not wait */
        fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 && (errno == ENOENT || errno == ELOOP))
            return 0;
        if (fd < 0 || fstat(fd, &st) < 0)
            return berr_sys(err, "open /%s", rel);
        if (!S_ISREG(st.st_mode))
            return 0;
    } else if (S_ISSOCK(st.st_mode)) {
        return 0; /* tar cannot hold a socket; it is the process's, not the image's */
    }
    struct archive_entry *e = archive_entry_new();
    archive_entry_copy_stat(e, &st);
    archive_entry_set_pathname(e, rel);
    archive_entry_set_mtime(e, st.st_mtim.tv_sec, 0);
    archive_entry_unset_atime(e);
    archive_entry_unset_ctime(e);
    archive_entry_unset_birthtime(e);
    int r = 0;
    const char *first = S_ISREG(st.st_mode) && st.st_nlink > 1 ? hardlink_of(w, &st, rel) : NULL;
    if (first) {
        archive_entry_set_hardlink(e, first);
        archive_entry_set_size(e, 0);
    } else if (!S_ISREG(st.st_mode)) {
        archive_entry_set_size(e, 0);
    }
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(dfd, base, target, sizeof(target) - 1);
        if (n < 0)
            r = errno == ENOENT || errno == EINVAL ? 1 : berr_sys(err, "read link /%s", rel);
        else {
            target[n] = '\0';
            archive_entry_set_symlink(e, target);
        }
    }
    if (r == 0)
        r = add_xattrs(e, dfd, base, rel, w->buf, err);
    if (r == 0 && archive_write_header(w->tar, e) != ARCHIVE_OK)
        r = writer_err(w, w->tar, "layer tar", err);
    archive_entry_free(e);
    if (r != 0)
        return r < 0 ? -1 : 0;
    w->entries++;
    if (first == NULL && S_ISREG(st.st_mode))
        return copy_data(w, fd, st.st_size, rel, err);
    return 0;
}

static int write_layer(struct layer_writer *w, int root, const struct img_changes *c,
                       struct img_layer_blob *out, struct berr **err)
{
    for (size_t i = 0; i < c->n; i++) {
        const char *rel = c->v[i].path + 1;
        int r = c->v[i].kind == IMG_CHANGE_DELETE ? write_whiteout(w, rel, err)
                                                  : write_entry(w, root, rel, err);
        if (r < 0)
            return berr_wrap(err, "layer");
    }
    if (w->entries == 0)
        return 0;
    if (archive_write_close(w->tar) != ARCHIVE_OK)
        return writer_err(w, w->tar, "layer tar", err);
    if (archive_write_close(w->gz) != ARCHIVE_OK)
        return writer_err(w, w->gz, "layer compressor", err);
    img_hasher_final(w->diff, out->diff_id);
    if (img_blob_writer_commit(steal_ptr(&w->blob), out->digest, err) < 0)
        return -1;
    return 1;
}

int img_diff_layer(struct img_store *s, struct img_snapshotter *sn, const struct img_rw_layer *l,
                   struct img_layer_blob *out, struct berr **err)
{
    _cleanup_(img_changes_freep) struct img_changes *c = NULL;
    if (img_diff_changes(sn, l, &c, err) < 0)
        return -1;
    if (c->n == 0)
        return 0;
    _cleanup_close_ int root = open(l->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return berr_sys(err, "container layer %s", l->upper);
    struct layer_writer w;
    int r = writer_open(&w, s, err);
    if (r == 0)
        r = write_layer(&w, root, c, out, err);
    writer_clear(&w);
    if (r == 1 && img_blob_stat(s, out->digest, &out->size) != 1)
        return berr_set(err, EIO, "the layer blob %s vanished from the store", out->digest);
    return r;
}

/* ---- the image ---- */

/* The layers keep their bytes; an OCI manifest names them with OCI's types. */
static const char *oci_layer_type(const char *mt)
{
    if (mt == NULL || strcmp(mt, IMG_MT_DOCKER_LAYER_GZIP) == 0)
        return IMG_MT_OCI_LAYER_GZIP;
    if (strcmp(mt, IMG_MT_DOCKER_FOREIGN_GZIP) == 0)
        return IMG_MT_OCI_LAYER_ND_GZIP;
    return mt;
}

static int parent_of(struct img_store *s, const char *parent_id, struct img_record *rec,
                     json_t **root, struct berr **err)
{
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    if (img_db_load(s, &db, err) < 0)
        return -1;
    struct img_record *p = img_db_get(db, parent_id);
    if (p == NULL)
        return berr_set(err, ENOENT,
                        "the image %s the container was made from is no longer in the store",
                        parent_id);
    rec->n_layers = p->n_layers;
    rec->layers = xcalloc(p->n_layers + 1, sizeof(*rec->layers));
    for (size_t i = 0; i < p->n_layers; i++) {
        rec->layers[i] = (struct img_layer_info){
            .digest = dup_or_null(p->layers[i].digest),
            .media_type = xstrdup(oci_layer_type(p->layers[i].media_type)),
            .size = p->layers[i].size,
            .diff_id = dup_or_null(p->layers[i].diff_id),
            .chain_id = dup_or_null(p->layers[i].chain_id),
        };
    }
    rec->size = p->size;
    size_t len = 0;
    _cleanup_free_ char *text = img_blob_read(s, p->id, IMG_CONFIG_MAX, &len, err);
    if (text == NULL)
        return berr_wrap(err, "image %s", parent_id);
    json_error_t je;
    *root = json_loadb(text, len, 0, &je);
    if (!json_is_object(*root))
        return berr_set(err, EINVAL, "image %s: its config is not a JSON object: %s", parent_id,
                        je.text);
    return 0;
}

static json_t *commit_config(json_t *parent, const struct img_record *rec,
                             const struct img_commit_opts *o, const char *now, bool empty)
{
    json_t *cfg = json_object();
    static const char *const platform_keys[] = {"architecture", "os", "os.version", "os.features",
                                                "variant"};
    for (size_t i = 0; i < ARRAY_SIZE(platform_keys); i++) {
        json_t *v = json_object_get(parent, platform_keys[i]);
        if (v)
            json_object_set_new(cfg, platform_keys[i], json_deep_copy(v));
    }
    if (!json_is_string(json_object_get(cfg, "architecture")) ||
        !json_is_string(json_object_get(cfg, "os"))) {
        _cleanup_platform_ struct img_platform *host = img_platform_host();
        json_object_set_new(cfg, "architecture", json_string(host->architecture));
        json_object_set_new(cfg, "os", json_string(host->os));
    }
    bool has_author = o->author && o->author[0];
    if (has_author)
        json_object_set_new(cfg, "author", json_string(o->author));
    /* Docker's own image format keeps the comment here too, where image inspect finds it */
    if (o->comment && o->comment[0])
        json_object_set_new(cfg, "comment", json_string(o->comment));
    json_object_set_new(cfg, "config", o->config ? json_deep_copy(o->config) : json_object());
    json_object_set_new(cfg, "created", json_string(now));
    json_t *history = json_array();
    if (json_is_array(json_object_get(parent, "history")))
        json_array_extend(history, json_object_get(parent, "history"));
    json_t *h = json_pack("{s:s}", "created", now);
    if (has_author)
        json_object_set_new(h, "author", json_string(o->author));
    json_object_set_new(h, "created_by", json_string(o->created_by ? o->created_by : ""));
    if (o->comment && o->comment[0])
        json_object_set_new(h, "comment", json_string(o->comment));
    if (empty)
        json_object_set_new(h, "empty_layer", json_true());
    json_array_append_new(history, h);
    json_object_set_new(cfg, "history", history);
    json_t *diff_ids = json_array();
    for (size_t i = 0; i < rec->n_layers; i++)
        json_array_append_new(diff_ids, json_string(rec->layers[i].diff_id));
    json_object_set_new(cfg, "rootfs",
                        json_pack("{s:s, s:o}", "type", "layers", "diff_ids", diff_ids));
    return cfg;
}

/* Appends the new layer to rec and makes its snapshot. */
static int add_layer(struct img_store *s, struct img_snapshotter *sn, struct img_record *rec,
                     const struct img_layer_blob *b, struct berr **err)
{
    size_t n = rec->n_layers;
    _cleanup_strv_ char **diff_ids = xcalloc(n + 2, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        diff_ids[i] = xstrdup(rec->layers[i].diff_id);
    diff_ids[n] = xstrdup(b->diff_id);
    _cleanup_strv_ char **chains = img_chain_ids(diff_ids, n + 1);
    const char *parent = n ? rec->layers[n - 1].chain_id : NULL;
    if (!img_snap_exists(sn, chains[n])) {
        _cleanup_close_ int fd = img_blob_open(s, b->digest, err);
        if (fd < 0 || img_snap_unpack(sn, parent, chains[n], b->diff_id, fd, NULL, err) < 0)
            return berr_wrap(err, "unpack the new layer");
    }
    rec->layers = xreallocarray(rec->layers, n + 1, sizeof(*rec->layers));
    rec->layers[n] = (struct img_layer_info){
        .digest = xstrdup(b->digest),
        .media_type = xstrdup(IMG_MT_OCI_LAYER_GZIP),
        .size = b->size,
        .diff_id = xstrdup(b->diff_id),
        .chain_id = xstrdup(chains[n]),
    };
    rec->n_layers = n + 1;
    int64_t size = img_snap_size(sn, chains[n]);
    rec->size += size > 0 ? size : 0;
    return 0;
}

int img_commit(struct img_store *s, struct img_snapshotter *sn, const struct img_rw_layer *l,
               const struct img_commit_opts *o, char id_out[IMG_DIGEST_MAX], struct berr **err)
{
    _cleanup_close_ int lease = img_gc_lease(s, err);
    if (lease < 0)
        return -1;
    _cleanup_record_ struct img_record *rec = img_record_new();
    _cleanup_json_ json_t *parent = NULL;
    if (o->parent && parent_of(s, o->parent, rec, &parent, err) < 0)
        return berr_wrap(err, "commit");
    const char *top = rec->n_layers ? rec->layers[rec->n_layers - 1].chain_id : NULL;
    if ((top == NULL) != (l->chain_id == NULL) || (top && strcmp(top, l->chain_id) != 0))
        return berr_set(err, EINVAL,
                        "commit: the layer sits on snapshot %s but image %s ends with %s",
                        l->chain_id ? l->chain_id : "(none)", o->parent ? o->parent : "(none)",
                        top ? top : "(none)");
    struct img_layer_blob blob;
    int changed = img_diff_layer(s, sn, l, &blob, err);
    if (changed < 0 || (changed && add_layer(s, sn, rec, &blob, err) < 0))
        return berr_wrap(err, "commit");

    char now[64];
    time_format_rfc3339(time_now_ns(), now, sizeof(now));
    _cleanup_json_ json_t *cfg = commit_config(parent, rec, o, now, changed == 0);
    _cleanup_free_ char *text = json_dumps(cfg, JSON_COMPACT);
    char cfg_digest[IMG_DIGEST_MAX], man_digest[IMG_DIGEST_MAX];
    if (img_blob_put(s, text, strlen(text), NULL, cfg_digest, err) < 0)
        return berr_wrap(err, "commit: store the image config");
    rec->id = xstrdup(cfg_digest);
    if (img_archive_synth_manifest(s, rec, (int64_t)strlen(text), man_digest, err) < 0)
        return berr_wrap(err, "commit: store the manifest");
    rec->manifest = xstrdup(man_digest);
    rec->manifest_media_type = xstrdup(IMG_MT_OCI_MANIFEST);
    rec->target = xstrdup(man_digest);
    rec->target_media_type = xstrdup(IMG_MT_OCI_MANIFEST);
    rec->created = xstrdup(now);
    rec->os = xstrdup(json_string_value(json_object_get(cfg, "os")));
    rec->architecture = xstrdup(json_string_value(json_object_get(cfg, "architecture")));
    rec->variant = dup_or_null(json_string_value(json_object_get(cfg, "variant")));
    if (o->name) {
        strv_append(&rec->names, o->name);
        rec->last_tagged = time(NULL);
    }
    struct img_db *db = NULL;
    struct img_record *stored = NULL;
    if (img_archive_commit_records(s, &rec, 1, &db, &stored, err) < 0)
        return berr_wrap(err, "commit");
    snprintf(id_out, IMG_DIGEST_MAX, "%s", stored->id);
    img_db_free(db);
    return 0;
}
