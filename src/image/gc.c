/* Mark and sweep over the content store and the snapshots, from the image records. Runs under
 * the records' lock and an exclusive GC lock, so no pull, load or import is between writing a
 * blob and naming it in a record. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/gc.h"
#include "image/imagedb.h"

#define GC_LOCK "images/gc.lock"
#define HOLDS   "images/holds"

static int lock_gc(struct img_store *s, int how, struct berr **err)
{
    int fd = openat(img_store_dirfd(s), GC_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return berr_sys(err, "open %s/%s", img_store_root(s), GC_LOCK);
    while (flock(fd, how) < 0) {
        if (errno != EINTR) {
            berr_sys(err, "lock %s/%s", img_store_root(s), GC_LOCK);
            close(fd);
            return -1;
        }
    }
    return fd;
}

int img_gc_lease(struct img_store *s, struct berr **err)
{
    return lock_gc(s, LOCK_SH, err);
}

int img_gc(struct img_store *s, struct img_snapshotter *sn, struct img_gc_result *res,
           struct berr **err)
{
    *res = (struct img_gc_result){0};
    _cleanup_close_ int gc_fd = lock_gc(s, LOCK_EX, err);
    if (gc_fd < 0)
        return -1;
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    if (img_db_begin(s, &db, err) < 0)
        return -1;
    _cleanup_strv_ char **keep_blobs = xcalloc(1, sizeof(char *));
    _cleanup_strv_ char **keep_snaps = xcalloc(1, sizeof(char *));
    for (size_t i = 0; i < db->n; i++) {
        struct img_record *r = db->v[i];
        img_strv_add_unique(&keep_blobs, r->id);
        img_strv_add_unique(&keep_blobs, r->manifest);
        if (r->target)
            img_strv_add_unique(&keep_blobs, r->target);
        for (size_t j = 0; j < r->n_layers; j++) {
            img_strv_add_unique(&keep_blobs, r->layers[j].digest);
            img_strv_add_unique(&keep_snaps, r->layers[j].chain_id);
        }
    }
    _cleanup_strv_ char **blobs = img_blob_list(s, err);
    if (blobs == NULL)
        return -1;
    for (size_t i = 0; blobs[i]; i++) {
        if (strv_contains(keep_blobs, blobs[i]))
            continue;
        int64_t size = 0;
        img_blob_stat(s, blobs[i], &size);
        _cleanup_berr_ struct berr *e = NULL;
        if (img_blob_delete(s, blobs[i], &e) < 0) {
            log_warn("gc: %s", e->msg);
            continue;
        }
        res->blobs++;
        res->bytes += size;
    }
    img_store_sweep_ingests(s);
    _cleanup_strv_ char **snaps = img_snap_list(sn, err);
    if (snaps == NULL)
        return -1;
    for (size_t i = 0; snaps[i]; i++) {
        if (strv_contains(keep_snaps, snaps[i]))
            continue;
        int64_t size = img_snap_size(sn, snaps[i]);
        _cleanup_berr_ struct berr *e = NULL;
        if (img_snap_remove(sn, snaps[i], &e) < 0) {
            log_warn("gc: %s", e->msg);
            continue;
        }
        res->snapshots++;
        if (size > 0)
            res->bytes += size;
    }
    return 0;
}

static bool holder_name_ok(const char *h)
{
    if (h[0] == '\0' || h[0] == '.' || strlen(h) > 200)
        return false;
    for (const char *p = h; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            return false;
    }
    return true;
}

int img_hold_add(struct img_store *s, const char *holder, const char *image_id, struct berr **err)
{
    if (!holder_name_ok(holder))
        return berr_set(err, EINVAL, "invalid holder name \"%s\"", holder);
    if (mkdirat(img_store_dirfd(s), HOLDS, 0700) < 0 && errno != EEXIST)
        return berr_sys(err, "create %s/%s", img_store_root(s), HOLDS);
    _cleanup_free_ char *rel = xasprintf("%s/%s", HOLDS, holder);
    _cleanup_free_ char *line = xasprintf("%s\n", image_id);
    return write_file_atomic_at(img_store_dirfd(s), rel, line, strlen(line), 0600, err);
}

int img_hold_remove(struct img_store *s, const char *holder, struct berr **err)
{
    if (!holder_name_ok(holder))
        return berr_set(err, EINVAL, "invalid holder name \"%s\"", holder);
    _cleanup_free_ char *rel = xasprintf("%s/%s", HOLDS, holder);
    if (unlinkat(img_store_dirfd(s), rel, 0) < 0 && errno != ENOENT)
        return berr_sys(err, "remove %s/%s", img_store_root(s), rel);
    return 0;
}

char **img_holders(struct img_store *s, const char *image_id)
{
    char **out = xcalloc(1, sizeof(char *));
    int fd = openat(img_store_dirfd(s), HOLDS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return out;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp"))
            continue;
        _cleanup_free_ char *id = read_file_at(dirfd(d), de->d_name, 256, NULL, NULL);
        if (id == NULL)
            continue;
        id[strcspn(id, "\n")] = '\0';
        if (strcmp(id, image_id) == 0)
            strv_append(&out, de->d_name);
    }
    closedir(d);
    return out;
}
