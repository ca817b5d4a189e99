/* berth image mount / unmount: a read-only view of an image's layers at
 * <root>/mounts/<id>, as podman's image mount gives, held so the image is not removed while
 * mounted. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "image/gc.h"

static char *mount_dir(struct cli_images *ci, const char *id)
{
    return xasprintf("%s/mounts/%s", img_store_root(ci->store), img_digest_hex(id));
}

static char *holder_name(const char *id)
{
    return xasprintf("mount-%s", img_digest_hex(id));
}

/* A bind mount from the same filesystem has the parent's st_dev, so compare mount IDs. */
static bool is_mountpoint(const char *path)
{
    struct statx a, b;
    _cleanup_free_ char *parent = xasprintf("%s/..", path);
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &a) < 0 ||
        statx(AT_FDCWD, parent, 0, STATX_MNT_ID, &b) < 0)
        return false;
    if ((a.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
        (a.stx_attributes & STATX_ATTR_MOUNT_ROOT))
        return true;
    return (a.stx_mask & STATX_MNT_ID) && (b.stx_mask & STATX_MNT_ID) &&
           a.stx_mnt_id != b.stx_mnt_id;
}

int cli_image_unmount(struct cli_images *ci, const char *id, struct berr **err)
{
    _cleanup_free_ char *dir = mount_dir(ci, id);
    if (is_mountpoint(dir) && umount2(dir, 0) < 0)
        return berr_sys(err, "unmount %s", dir);
    rmdir(dir);
    _cleanup_free_ char *holder = holder_name(id);
    return img_hold_remove(ci->store, holder, err);
}

static int run_mount(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    struct cli_images ci;
    if (cli_images_open(cli, true, &ci, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    struct img_record *rec = NULL;
    int r = img_db_begin(ci.store, &db, &err);
    if (r == 0)
        r = img_db_resolve(db, argv[0], &rec, &err);
    if (r == 0 && rec->n_layers == 0)
        r = berr_set(&err, EINVAL, "image %s has no layers to mount", argv[0]);
    _cleanup_free_ char *dir = r == 0 ? mount_dir(&ci, rec->id) : NULL;
    _cleanup_free_ char *holder = r == 0 ? holder_name(rec->id) : NULL;
    if (r == 0 && !is_mountpoint(dir)) {
        r = mkdir_p(dir, 0700, &err);
        if (r == 0)
            r = img_hold_add(ci.store, holder, rec->id, &err);
        if (r == 0) {
            r = img_snap_mount_ro(ci.sn, rec->layers[rec->n_layers - 1].chain_id, dir, &err);
            if (r < 0) {
                img_hold_remove(ci.store, holder, NULL);
                rmdir(dir);
            }
        }
    }
    cli_images_close(&ci);
    if (r < 0)
        return cli_fail(cli, err);
    fprintf(cli->out, "%s\n", dir);
    return 0;
}

static int run_unmount(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    struct cli_images ci;
    if (cli_images_open(cli, false, &ci, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    struct img_record *rec = NULL;
    int r = img_db_load(ci.store, &db, &err);
    if (r == 0)
        r = img_db_resolve(db, argv[0], &rec, &err);
    if (r == 0)
        r = cli_image_unmount(&ci, rec->id, &err);
    cli_images_close(&ci);
    if (r < 0)
        return cli_fail(cli, err);
    fprintf(cli->out, "%s\n", argv[0]);
    return 0;
}

const struct cli_command cli_cmd_image_mount = {
    .name = "mount",
    .usage = "IMAGE",
    .short_desc = "Mount an image's root filesystem, read-only",
    .min_args = 1,
    .max_args = 1,
    .run = run_mount,
};

static const char *const unmount_aliases[] = {"umount", NULL};

const struct cli_command cli_cmd_image_unmount = {
    .name = "unmount",
    .aliases = unmount_aliases,
    .usage = "IMAGE",
    .short_desc = "Unmount an image mounted with \"image mount\"",
    .min_args = 1,
    .max_args = 1,
    .run = run_unmount,
};
