/* Snapshot core: which driver a data root uses, the on-disk records, and the locked
 * unpack-then-rename that makes a snapshot appear whole or not at all. Drivers decide what a
 * layer is unpacked on top of and how a chain is mounted. */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/snapshot_internal.h"

static const struct img_snap_ops *const drivers[] = {&img_snap_overlay_ops, &img_snap_copy_ops};

char *img_snap_fs_path(struct img_snapshotter *sn, const char *chain_id)
{
    return xasprintf("%s/%s/fs", sn->dir, img_digest_hex(chain_id));
}

char *img_snap_short_link(const char *chain_id)
{
    return xasprintf("l/%.16s", img_digest_hex(chain_id));
}

static const struct img_snap_ops *driver_by_name(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
        if (strcmp(drivers[i]->name, name) == 0)
            return drivers[i];
    }
    /* Docker's names for the same two designs. */
    if (strcmp(name, "overlay2") == 0)
        return &img_snap_overlay_ops;
    if (strcmp(name, "vfs") == 0)
        return &img_snap_copy_ops;
    return NULL;
}

int img_snap_open(struct img_store *s, const char *driver, struct img_snapshotter **out,
                  struct berr **err)
{
    const struct img_snap_ops *want = NULL;
    if (driver && (want = driver_by_name(driver)) == NULL)
        return berr_set(err, EINVAL, "unknown storage driver \"%s\" (overlay or copy)", driver);
    struct img_snapshotter *sn = xzalloc(sizeof(*sn));
    sn->s = s;
    sn->dir = xasprintf("%s/snapshots", img_store_root(s));
    sn->dir_fd = openat(img_store_dirfd(s), "snapshots", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sn->dir_fd < 0) {
        berr_sys(err, "open %s", sn->dir);
        img_snap_close(sn);
        return -1;
    }
    if (mkdirat(sn->dir_fd, "l", 0700) < 0 && errno != EEXIST) {
        berr_sys(err, "create %s/l", sn->dir);
        img_snap_close(sn);
        return -1;
    }
    _cleanup_free_ char *recorded = read_file_at(sn->dir_fd, "driver", 64, NULL, NULL);
    if (recorded) {
        recorded[strcspn(recorded, "\n")] = '\0';
        const struct img_snap_ops *have = driver_by_name(recorded);
        if (have == NULL) {
            berr_set(err, EINVAL, "%s/driver names an unknown storage driver \"%s\"", sn->dir,
                     recorded);
            img_snap_close(sn);
            return -1;
        }
        if (want && want != have) {
            berr_set(err, EINVAL,
                     "data root %s uses the %s storage driver, not %s: use another --root, or "
                     "remove every image first",
                     img_store_root(s), have->name, want->name);
            img_snap_close(sn);
            return -1;
        }
        sn->ops = have;
    } else {
        sn->ops = want;
        if (sn->ops == NULL)
            sn->ops =
                img_snap_overlay_ops.available(sn) ? &img_snap_overlay_ops : &img_snap_copy_ops;
        else if (!sn->ops->available(sn)) {
            berr_set(err, ENOTSUP, "the %s storage driver cannot work on %s on this kernel",
                     sn->ops->name, sn->dir);
            img_snap_close(sn);
            return -1;
        }
        _cleanup_free_ char *line = xasprintf("%s\n", sn->ops->name);
        if (write_file_atomic_at(sn->dir_fd, "driver", line, strlen(line), 0600, err) < 0) {
            img_snap_close(sn);
            return -1;
        }
        log_debug("storage driver: %s", sn->ops->name);
    }
    *out = sn;
    return 0;
}

void img_snap_close(struct img_snapshotter *sn)
{
    if (sn == NULL)
        return;
    if (sn->dir_fd >= 0)
        close(sn->dir_fd);
    free(sn->dir);
    free(sn);
}

void img_snap_closep(struct img_snapshotter **sn)
{
    img_snap_close(*sn);
    *sn = NULL;
}

const char *img_snap_driver(const struct img_snapshotter *sn)
{
    return sn->ops->name;
}

bool img_snap_parallel(const struct img_snapshotter *sn)
{
    return sn->ops->parallel;
}

bool img_snap_exists(struct img_snapshotter *sn, const char *chain_id)
{
    if (!img_digest_valid(chain_id))
        return false;
    _cleanup_free_ char *meta = xasprintf("%s/meta.json", img_digest_hex(chain_id));
    return faccessat(sn->dir_fd, meta, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static json_t *read_meta(struct img_snapshotter *sn, const char *chain_id)
{
    if (!img_digest_valid(chain_id))
        return NULL;
    _cleanup_free_ char *rel = xasprintf("%s/meta.json", img_digest_hex(chain_id));
    _cleanup_free_ char *text = read_file_at(sn->dir_fd, rel, 65536, NULL, NULL);
    return text ? json_loads(text, 0, NULL) : NULL;
}

int64_t img_snap_size(struct img_snapshotter *sn, const char *chain_id)
{
    _cleanup_json_ json_t *m = read_meta(sn, chain_id);
    json_t *v = m ? json_object_get(m, "size") : NULL;
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

char *img_snap_parent(struct img_snapshotter *sn, const char *chain_id)
{
    _cleanup_json_ json_t *m = read_meta(sn, chain_id);
    const char *p = m ? json_string_value(json_object_get(m, "parent")) : NULL;
    return p && img_digest_valid(p) ? xstrdup(p) : NULL;
}

int img_snap_unpack(struct img_snapshotter *sn, const char *parent, const char *chain_id,
                    const char *expected_diff_id, int layer_fd, struct img_unpack_result *res,
                    struct berr **err)
{
    if (img_digest_validate(chain_id, err) < 0)
        return -1;
    if (parent && !sn->ops->parallel && !img_snap_exists(sn, parent))
        return berr_set(err, ENOENT, "snapshot %s: parent snapshot %s is missing", chain_id,
                        parent);
    _cleanup_(img_scratch_freep) struct img_scratch *sc = NULL;
    if (img_scratch_new(sn->s, "snapshots/tmp", &sc, err) < 0)
        return -1;
    if (mkdirat(sc->fd, "fs", 0755) < 0)
        return berr_sys(err, "create %s/fs", sc->path);
    _cleanup_close_ int fs_fd = openat(sc->fd, "fs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_free_ char *fs_path = xasprintf("%s/fs", sc->path);
    if (fs_fd < 0)
        return berr_sys(err, "open %s", fs_path);
    if (sn->ops->prepare(sn, parent, fs_fd, fs_path, err) < 0)
        return berr_wrap(err, "snapshot %s", chain_id);
    struct img_unpack_opts opts = {.whiteouts = sn->ops->whiteouts};
    struct img_unpack_result local;
    if (res == NULL)
        res = &local;
    if (img_unpack_layer(layer_fd, fs_fd, &opts, res, err) < 0)
        return -1;
    if (expected_diff_id && strcmp(res->diff_id, expected_diff_id) != 0)
        return berr_set(err, EIO,
                        "layer content does not match the image config: diff ID %s, expected %s",
                        res->diff_id, expected_diff_id);
    json_t *meta = json_pack("{s:s, s:s, s:I, s:s, s:I}", "chainId", chain_id, "diffId",
                             res->diff_id, "size", (json_int_t)res->uncompressed_size, "driver",
                             sn->ops->name, "created", (json_int_t)time(NULL));
    if (parent)
        json_object_set_new(meta, "parent", json_string(parent));
    _cleanup_free_ char *text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(meta);
    /* No sync here: a killed process leaves the page cache intact, and callers sync the
     * filesystem once before writing a record that names the snapshot (power loss). */
    if (write_file_atomic_at(sc->fd, "meta.json", text, strlen(text), 0600, err) < 0)
        return -1;
    const char *hex = img_digest_hex(chain_id);
    _cleanup_free_ char *tmp_rel = xasprintf("tmp/%s", sc->name);
    if (renameat(sn->dir_fd, tmp_rel, sn->dir_fd, hex) < 0) {
        if (errno == EEXIST || errno == ENOTEMPTY) {
            log_debug("snapshot %s was made by another process meanwhile", chain_id);
            return 0;
        }
        return berr_sys(err, "publish snapshot %s", chain_id);
    }
    _cleanup_free_ char *link = img_snap_short_link(chain_id);
    _cleanup_free_ char *target = xasprintf("../%s/fs", hex);
    if (symlinkat(target, sn->dir_fd, link) < 0 && errno != EEXIST)
        log_warn("snapshot %s: short link: %m", chain_id);
    fsync(sn->dir_fd);
    return 0;
}

int img_snap_remove(struct img_snapshotter *sn, const char *chain_id, struct berr **err)
{
    if (img_digest_validate(chain_id, err) < 0)
        return -1;
    _cleanup_free_ char *link = img_snap_short_link(chain_id);
    unlinkat(sn->dir_fd, link, 0);
    /* Rename first so a crash midway leaves scratch to sweep, never a snapshot with missing
     * files that still looks whole. */
    _cleanup_free_ char *doomed = xasprintf("tmp/rm-%s", img_digest_hex(chain_id));
    if (renameat(sn->dir_fd, img_digest_hex(chain_id), sn->dir_fd, doomed) < 0) {
        if (errno == ENOENT)
            return 0;
        return berr_sys(err, "remove snapshot %s", chain_id);
    }
    if (rm_rf_at(sn->dir_fd, doomed, err) < 0)
        return berr_wrap(err, "remove snapshot %s", chain_id);
    return 0;
}

char **img_snap_list(struct img_snapshotter *sn, struct berr **err)
{
    int fd = openat(sn->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return berr_sys(err, "list %s", sn->dir), NULL;
    }
    char **out = xcalloc(1, sizeof(char *));
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        _cleanup_free_ char *id = xasprintf("sha256:%s", de->d_name);
        if (img_digest_valid(id) && img_snap_exists(sn, id))
            strv_append(&out, id);
    }
    closedir(d);
    return out;
}

int img_snap_mount_ro(struct img_snapshotter *sn, const char *chain_id, const char *target,
                      struct berr **err)
{
    if (!img_snap_exists(sn, chain_id))
        return berr_set(err, ENOENT, "snapshot %s does not exist", chain_id);
    return sn->ops->mount_ro(sn, chain_id, target, err);
}

int img_snap_mount_rw(struct img_snapshotter *sn, const char *chain_id, const char *upper,
                      const char *work, const char *target, struct berr **err)
{
    if (upper[0] != '/' || work[0] != '/' || target[0] != '/')
        return berr_set(err, EINVAL, "mount of a writable root on %s: paths must be absolute",
                        target);
    if (chain_id == NULL) {
        if (mount(upper, target, NULL, MS_BIND, NULL) < 0)
            return berr_sys(err, "bind %s on %s", upper, target);
        return 0;
    }
    if (!img_snap_exists(sn, chain_id))
        return berr_set(err, ENOENT, "snapshot %s does not exist", chain_id);
    return sn->ops->mount_rw(sn, chain_id, upper, work, target, err);
}

int img_snap_bind_ro(const char *dir, const char *target, struct berr **err)
{
    if (mount(dir, target, NULL, MS_BIND, NULL) < 0)
        return berr_sys(err, "bind %s on %s", dir, target);
    if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
        int saved = errno;
        umount2(target, MNT_DETACH);
        errno = saved;
        return berr_sys(err, "make %s read-only", target);
    }
    return 0;
}
