/* Content store: digest-addressed blobs, resumable locked ingests, and the data root layout.
 * A blob becomes visible only by renaming a fully written, verified, fsynced file into
 * content/blobs, so a crash never leaves a blob whose bytes do not match its name. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/store.h"

/* Ingests older than this are abandoned downloads, not something a retry will resume. */
#define INGEST_MAX_AGE_S (24 * 3600)
#define COPY_BUF         (1 << 20)

struct img_store {
    char *root;
    int root_fd;
    int blobs_fd;  /* content/blobs */
    int ingest_fd; /* content/ingest */
};

struct img_blob_writer {
    struct img_store *s;
    int fd;
    char *ingest_name;
    char expected[IMG_DIGEST_MAX];
    int64_t expected_size;
    uint64_t offset; /* bytes present when opened */
    uint64_t written;
    struct img_hasher *h;
};

static const char *const layout_dirs[] = {
    "content",
    "content/blobs",
    "content/blobs/sha256",
    "content/blobs/sha512",
    "content/ingest",
    "snapshots",
    "snapshots/tmp",
    "images",
    "tmp",
    NULL,
};

/* Removes every entry of dirfd that nobody holds a lock on; when max_age is non-zero only
 * entries older than that (by mtime) go. Errors are logged: sweeping is best effort. */
static void sweep_unlocked(int dirfd, const char *what, time_t max_age, const char *only_prefix)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return;
    }
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (only_prefix && strncmp(de->d_name, only_prefix, strlen(only_prefix)) != 0)
            continue;
        _cleanup_close_ int efd = openat(dirfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (efd < 0)
            continue;
        struct stat st;
        if (fstat(efd, &st) < 0)
            continue;
        if (max_age > 0 && now - st.st_mtime < max_age)
            continue;
        if (flock(efd, LOCK_EX | LOCK_NB) < 0)
            continue; /* in use by a live process */
        _cleanup_berr_ struct berr *e = NULL;
        if (rm_rf_at(dirfd, de->d_name, &e) < 0)
            log_warn("cleaning up %s %s: %s", what, de->d_name, e->msg);
        else
            log_debug("removed stale %s %s", what, de->d_name);
    }
    closedir(d);
}

int img_store_open(const char *root, struct img_store **out, struct berr **err)
{
    if (root == NULL || root[0] != '/')
        return berr_set(err, EINVAL, "data root \"%s\" must be an absolute path", root ? root : "");
    if (mkdir_p(root, 0711, err) < 0)
        return berr_wrap(err, "data root %s", root);
    _cleanup_close_ int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return berr_sys(err, "open data root %s", root);
    for (size_t i = 0; layout_dirs[i]; i++) {
        if (mkdirat(root_fd, layout_dirs[i], 0700) < 0 && errno != EEXIST)
            return berr_sys(err, "create %s/%s", root, layout_dirs[i]);
    }
    struct img_store *s = xzalloc(sizeof(*s));
    s->root = xstrdup(root);
    s->root_fd = steal_fd(&root_fd);
    s->blobs_fd = openat(s->root_fd, "content/blobs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    s->ingest_fd = openat(s->root_fd, "content/ingest", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->blobs_fd < 0 || s->ingest_fd < 0) {
        berr_sys(err, "open %s/content", root);
        img_store_free(s);
        return -1;
    }
    /* Scratch from a killed process: unpacks in progress and temporary files. Their owners
     * hold a lock while alive, so a concurrent berth is left alone. */
    _cleanup_close_ int tmp_fd = openat(s->root_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tmp_fd >= 0)
        sweep_unlocked(tmp_fd, "scratch", 0, NULL);
    _cleanup_close_ int stmp_fd =
        openat(s->root_fd, "snapshots/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (stmp_fd >= 0)
        sweep_unlocked(stmp_fd, "partial snapshot", 0, NULL);
    sweep_unlocked(s->ingest_fd, "temporary blob", 0, "tmp-");
    sweep_unlocked(s->ingest_fd, "abandoned download", INGEST_MAX_AGE_S, NULL);
    *out = s;
    return 0;
}

void img_store_sweep_ingests(struct img_store *s)
{
    sweep_unlocked(s->ingest_fd, "partial download", 0, NULL);
}

int img_blob_writer_fd(const struct img_blob_writer *w)
{
    return w->fd;
}

void img_store_free(struct img_store *s)
{
    if (s == NULL)
        return;
    if (s->root_fd >= 0)
        close(s->root_fd);
    if (s->blobs_fd >= 0)
        close(s->blobs_fd);
    if (s->ingest_fd >= 0)
        close(s->ingest_fd);
    free(s->root);
    free(s);
}

void img_store_freep(struct img_store **s)
{
    img_store_free(*s);
    *s = NULL;
}

const char *img_store_root(const struct img_store *s)
{
    return s->root;
}

int img_store_dirfd(const struct img_store *s)
{
    return s->root_fd;
}

/* "sha256/<hex>" relative to content/blobs; d must be valid. */
static char *blob_rel(const char *digest)
{
    char algo[8];
    return xasprintf("%s/%s", img_digest_algo(digest, algo), img_digest_hex(digest));
}

char *img_blob_path(struct img_store *s, const char *digest)
{
    _cleanup_free_ char *rel = blob_rel(digest);
    return xasprintf("%s/content/blobs/%s", s->root, rel);
}

int img_blob_stat(struct img_store *s, const char *digest, int64_t *size)
{
    if (!img_digest_valid(digest))
        return 0;
    _cleanup_free_ char *rel = blob_rel(digest);
    struct stat st;
    if (fstatat(s->blobs_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
        return 0;
    if (size)
        *size = st.st_size;
    return 1;
}

int img_blob_open(struct img_store *s, const char *digest, struct berr **err)
{
    if (img_digest_validate(digest, err) < 0)
        return -1;
    _cleanup_free_ char *rel = blob_rel(digest);
    int fd = openat(s->blobs_fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(err, "blob %s", digest);
    return fd;
}

char *img_blob_read(struct img_store *s, const char *digest, size_t max, size_t *len,
                    struct berr **err)
{
    if (img_digest_validate(digest, err) < 0)
        return NULL;
    _cleanup_free_ char *rel = blob_rel(digest);
    size_t n = 0;
    _cleanup_free_ char *buf = read_file_at(s->blobs_fd, rel, max, &n, err);
    if (buf == NULL)
        return berr_wrap(err, "blob %s", digest), NULL;
    char algo[8];
    _cleanup_(img_hasher_freep) struct img_hasher *h =
        img_hasher_new(img_digest_algo(digest, algo));
    char got[IMG_DIGEST_MAX];
    img_hasher_update(h, buf, n);
    img_hasher_final(h, got);
    if (strcmp(got, digest) != 0)
        return berr_set(err, EIO, "blob %s is corrupt: its content hashes to %s", digest, got),
               NULL;
    if (len)
        *len = n;
    return steal_ptr(&buf);
}

int img_blob_put(struct img_store *s, const void *buf, size_t len, const char *expected,
                 char digest_out[IMG_DIGEST_MAX], struct berr **err)
{
    struct img_blob_writer *w = NULL;
    int r = img_blob_writer_open(s, expected, (int64_t)len, &w, err);
    if (r < 0)
        return -1;
    if (r == 1) {
        if (digest_out)
            snprintf(digest_out, IMG_DIGEST_MAX, "%s", expected);
        return 0;
    }
    if (img_blob_writer_offset(w) > 0) {
        /* A stale partial of a small blob: simpler to start over than to resume. */
        img_blob_writer_abort(w, false);
        if (img_blob_writer_open(s, expected, (int64_t)len, &w, err) < 0)
            return -1;
        if (w == NULL) {
            if (digest_out)
                snprintf(digest_out, IMG_DIGEST_MAX, "%s", expected);
            return 0;
        }
    }
    if (img_blob_writer_write(w, buf, len, err) < 0) {
        img_blob_writer_abort(w, false);
        return -1;
    }
    char d[IMG_DIGEST_MAX];
    if (img_blob_writer_commit(w, d, err) < 0)
        return -1;
    if (digest_out)
        memcpy(digest_out, d, IMG_DIGEST_MAX);
    return 0;
}

int img_blob_delete(struct img_store *s, const char *digest, struct berr **err)
{
    if (img_digest_validate(digest, err) < 0)
        return -1;
    _cleanup_free_ char *rel = blob_rel(digest);
    if (unlinkat(s->blobs_fd, rel, 0) < 0 && errno != ENOENT)
        return berr_sys(err, "remove blob %s", digest);
    return 0;
}

char **img_blob_list(struct img_store *s, struct berr **err)
{
    static const char *const algos[] = {"sha256", "sha512"};
    char **out = xcalloc(1, sizeof(char *));
    for (size_t a = 0; a < ARRAY_SIZE(algos); a++) {
        int fd = openat(s->blobs_fd, algos[a], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                continue;
            strv_free(out);
            return berr_sys(err, "list blobs"), NULL;
        }
        DIR *d = fdopendir(fd);
        if (d == NULL) {
            close(fd);
            strv_free(out);
            return berr_sys(err, "list blobs"), NULL;
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            _cleanup_free_ char *dg = xasprintf("%s:%s", algos[a], de->d_name);
            if (img_digest_valid(dg))
                strv_append(&out, dg);
        }
        closedir(d);
    }
    return out;
}

/* Hashes what an earlier attempt left in fd, so writing can continue after it. */
static int rehash_partial(struct img_blob_writer *w, struct berr **err)
{
    _cleanup_free_ char *buf = xmalloc(COPY_BUF);
    uint64_t off = 0;
    while (off < w->offset) {
        size_t want = w->offset - off < COPY_BUF ? (size_t)(w->offset - off) : COPY_BUF;
        ssize_t r = pread(w->fd, buf, want, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return berr_sys(err, "read partial blob %s", w->expected);
        }
        if (r == 0)
            break;
        img_hasher_update(w->h, buf, (size_t)r);
        off += (uint64_t)r;
    }
    w->offset = off;
    return 0;
}

/* Is the name in dirfd still the inode we hold? (Another writer may have committed or removed
 * it while we waited for the lock.) */
static bool same_file(int dirfd, const char *name, int fd)
{
    struct stat a, b;
    if (fstat(fd, &a) < 0 || fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0)
        return false;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void writer_free(struct img_blob_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    img_hasher_free(w->h);
    free(w->ingest_name);
    free(w);
}

static int open_known(struct img_store *s, struct img_blob_writer *w, struct berr **err)
{
    char algo[8];
    w->ingest_name =
        xasprintf("%s-%s", img_digest_algo(w->expected, algo), img_digest_hex(w->expected));
    for (int attempt = 0; attempt < 100; attempt++) {
        _cleanup_close_ int fd =
            openat(s->ingest_fd, w->ingest_name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return berr_sys(err, "ingest %s", w->expected);
        while (flock(fd, LOCK_EX) < 0) {
            if (errno != EINTR)
                return berr_sys(err, "lock ingest %s", w->expected);
        }
        if (img_blob_exists(s, w->expected)) {
            if (same_file(s->ingest_fd, w->ingest_name, fd))
                unlinkat(s->ingest_fd, w->ingest_name, 0);
            return 1;
        }
        if (!same_file(s->ingest_fd, w->ingest_name, fd))
            continue; /* the holder before us removed or replaced it: start again */
        w->fd = steal_fd(&fd);
        return 0;
    }
    return berr_set(err, EAGAIN, "ingest %s: kept changing under us", w->expected);
}

int img_blob_writer_open(struct img_store *s, const char *expected, int64_t expected_size,
                         struct img_blob_writer **out, struct berr **err)
{
    *out = NULL;
    if (expected && img_digest_validate(expected, err) < 0)
        return -1;
    if (expected && img_blob_exists(s, expected))
        return 1;
    struct img_blob_writer *w = xzalloc(sizeof(*w));
    w->s = s;
    w->fd = -1;
    w->expected_size = expected_size;
    char algo[8] = "sha256";
    if (expected) {
        snprintf(w->expected, sizeof(w->expected), "%s", expected);
        img_digest_algo(expected, algo);
        int r = open_known(s, w, err);
        if (r != 0) {
            writer_free(w);
            return r;
        }
    } else {
        for (int attempt = 0; w->fd < 0; attempt++) {
            free(w->ingest_name);
            w->ingest_name = xasprintf("tmp-%d-%lx-%d", getpid(), (long)random(), attempt);
            w->fd = openat(s->ingest_fd, w->ingest_name,
                           O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (w->fd < 0 && (errno != EEXIST || attempt > 100)) {
                berr_sys(err, "create temporary blob");
                writer_free(w);
                return -1;
            }
        }
        if (flock(w->fd, LOCK_EX) < 0) {
            berr_sys(err, "lock temporary blob");
            unlinkat(s->ingest_fd, w->ingest_name, 0);
            writer_free(w);
            return -1;
        }
    }
    w->h = img_hasher_new(algo);
    struct stat st;
    if (fstat(w->fd, &st) < 0) {
        berr_sys(err, "ingest %s", w->ingest_name);
        img_blob_writer_abort(w, true);
        return -1;
    }
    w->offset = (uint64_t)st.st_size;
    if (expected_size >= 0 && w->offset > (uint64_t)expected_size) {
        /* Longer than the blob can be: not a prefix of it. */
        if (ftruncate(w->fd, 0) < 0) {
            berr_sys(err, "ingest %s", w->ingest_name);
            img_blob_writer_abort(w, false);
            return -1;
        }
        w->offset = 0;
    }
    if (w->offset > 0 && rehash_partial(w, err) < 0) {
        img_blob_writer_abort(w, false);
        return -1;
    }
    if (w->offset > 0)
        log_debug("resuming %s at byte %llu", w->expected, (unsigned long long)w->offset);
    w->written = w->offset;
    *out = w;
    return 0;
}

uint64_t img_blob_writer_offset(const struct img_blob_writer *w)
{
    return w->offset;
}

int img_blob_writer_write(struct img_blob_writer *w, const void *buf, size_t len, struct berr **err)
{
    if (w->expected_size >= 0 && w->written + len > (uint64_t)w->expected_size)
        return berr_set(err, EFBIG, "blob %s: more data than its declared size of %lld bytes",
                        w->expected[0] ? w->expected : "(new)", (long long)w->expected_size);
    const char *p = buf;
    size_t left = len;
    while (left > 0) {
        ssize_t r = pwrite(w->fd, p, left, (off_t)w->written);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return berr_sys(err, "write blob %s", w->expected[0] ? w->expected : "(new)");
        }
        p += r;
        left -= (size_t)r;
        w->written += (uint64_t)r;
    }
    img_hasher_update(w->h, buf, len);
    return 0;
}

int img_blob_writer_commit(struct img_blob_writer *w, char digest_out[IMG_DIGEST_MAX],
                           struct berr **err)
{
    struct img_store *s = w->s;
    char got[IMG_DIGEST_MAX];
    img_hasher_final(w->h, got);
    _cleanup_free_ char *rel = NULL;
    _cleanup_close_ int dfd = -1;
    if (w->expected_size >= 0 && w->written != (uint64_t)w->expected_size) {
        berr_set(err, EIO, "blob %s: got %llu bytes, expected %lld",
                 w->expected[0] ? w->expected : got, (unsigned long long)w->written,
                 (long long)w->expected_size);
        goto fail;
    }
    if (w->expected[0] && strcmp(got, w->expected) != 0) {
        berr_set(err, EIO, "blob %s: digest mismatch: the content hashes to %s", w->expected, got);
        goto fail;
    }
    if (fchmod(w->fd, 0644) < 0 || fsync(w->fd) < 0) {
        berr_sys(err, "sync blob %s", got);
        goto fail;
    }
    rel = blob_rel(got);
    if (renameat(s->ingest_fd, w->ingest_name, s->blobs_fd, rel) < 0) {
        berr_sys(err, "store blob %s", got);
        goto fail;
    }
    /* The rename must be durable before any record that names the blob is written. */
    char algo[8];
    dfd = openat(s->blobs_fd, img_digest_algo(got, algo), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0) {
        /* Published but maybe not durable: report it; a retry finds the blob stored. */
        berr_sys(err, "sync %s/content/blobs", s->root);
        writer_free(w);
        return -1;
    }
    if (digest_out)
        memcpy(digest_out, got, IMG_DIGEST_MAX);
    writer_free(w);
    return 0;
fail:
    unlinkat(s->ingest_fd, w->ingest_name, 0);
    writer_free(w);
    return -1;
}

void img_blob_writer_abort(struct img_blob_writer *w, bool keep_partial)
{
    if (w == NULL)
        return;
    if (!keep_partial || !w->expected[0])
        unlinkat(w->s->ingest_fd, w->ingest_name, 0);
    writer_free(w);
}

int img_scratch_new(struct img_store *s, const char *area, struct img_scratch **out,
                    struct berr **err)
{
    _cleanup_close_ int area_fd = openat(s->root_fd, area, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (area_fd < 0)
        return berr_sys(err, "open %s/%s", s->root, area);
    for (int attempt = 0; attempt < 100; attempt++) {
        _cleanup_free_ char *name = xasprintf("%d-%lx", getpid(), (long)random());
        if (mkdirat(area_fd, name, 0700) < 0) {
            if (errno == EEXIST)
                continue;
            return berr_sys(err, "create %s/%s/%s", s->root, area, name);
        }
        int fd = openat(area_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
            berr_sys(err, "lock %s/%s/%s", s->root, area, name);
            if (fd >= 0)
                close(fd);
            unlinkat(area_fd, name, AT_REMOVEDIR);
            return -1;
        }
        struct img_scratch *sc = xzalloc(sizeof(*sc));
        sc->path = xasprintf("%s/%s/%s", s->root, area, name);
        sc->name = steal_ptr(&name);
        sc->fd = fd;
        *out = sc;
        return 0;
    }
    return berr_set(err, EEXIST, "create a scratch directory in %s/%s", s->root, area);
}

void img_scratch_free(struct img_scratch *sc)
{
    if (sc == NULL)
        return;
    _cleanup_berr_ struct berr *e = NULL;
    if (rm_rf_at(AT_FDCWD, sc->path, &e) < 0)
        log_warn("removing %s: %s", sc->path, e->msg);
    if (sc->fd >= 0)
        close(sc->fd);
    free(sc->path);
    free(sc->name);
    free(sc);
}

void img_scratch_freep(struct img_scratch **sc)
{
    img_scratch_free(*sc);
    *sc = NULL;
}
