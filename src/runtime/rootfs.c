/* The rootfs sequence: validation up front, then in the container's mount namespace root
 * propagation, the rootfs self-bind, the spec mounts and devices (prepare), the switch of root
 * (pivot), and read-only/masked paths and the read-only root (finalize). mounts.c, devices.c and
 * safepath.c do the pieces. */
#include "runtime/rootfs_internal.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

static const struct {
    const char *name;
    unsigned long flags;
} propagations[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

unsigned long rt_propagation_flags(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(propagations); i++)
        if (strcmp(name, propagations[i].name) == 0)
            return propagations[i].flags;
    return 0;
}

static int validate_paths(char *const *paths, const char *what, struct berr **err)
{
    for (size_t i = 0; paths && paths[i]; i++)
        if (paths[i][0] == '\0' || strlen(paths[i]) >= PATH_MAX)
            return berr_set(err, 0, "linux.%s[%zu]: empty or too long", what, i);
    return 0;
}

int rt_mounts_validate_bundle(const struct rt_spec *spec, const char *bundle, struct berr **err)
{
    for (size_t i = 0; i < spec->n_mounts; i++)
        if (rt_mount_validate_one(spec, i, bundle, err) < 0)
            return -1;
    if (spec->rootfs_propagation && rt_propagation_flags(spec->rootfs_propagation) == 0)
        return berr_set(err, 0, "linux.rootfsPropagation: unknown value \"%s\"",
                        spec->rootfs_propagation);
    if (validate_paths(spec->masked_paths, "maskedPaths", err) < 0 ||
        validate_paths(spec->readonly_paths, "readonlyPaths", err) < 0)
        return -1;
    return rt_devices_validate(spec, err);
}

int rt_mounts_validate(const struct rt_spec *spec, struct berr **err)
{
    return rt_mounts_validate_bundle(spec, NULL, err);
}

struct rt_rootfs_priv *rt_rootfs_priv_get(struct rt_rootfs_ctx *ctx)
{
    if (ctx->priv == NULL) {
        ctx->priv = xzalloc(sizeof(*ctx->priv));
        ctx->priv->root_fd = -1;
    }
    return ctx->priv;
}

void rt_rootfs_ctx_clear(struct rt_rootfs_ctx *ctx)
{
    struct rt_rootfs_priv *p = ctx->priv;
    if (p == NULL)
        return;
    if (p->root_fd >= 0)
        close(p->root_fd);
    if (p->idmap_fds) {
        for (size_t i = 0; i < ctx->spec->n_mounts; i++)
            if (p->idmap_fds[i] >= 0)
                close(p->idmap_fds[i]);
        free(p->idmap_fds);
    }
    free(p->ro_later);
    free(p);
    ctx->priv = NULL;
}

int rt_rootfs_fd(const struct rt_rootfs_ctx *ctx)
{
    return ctx->priv ? ctx->priv->root_fd : -1;
}

int rt_rootfs_open_idmapped(struct rt_rootfs_ctx *ctx, struct berr **err)
{
    return rt_mounts_open_idmapped(ctx, err);
}

/* The propagation "/" gets before anything else. Everything becomes a slave of the host, so
 * nothing done here reaches the host, unless the spec asks for sharing (then mounts made in the
 * container are meant to propagate back). The spec's own value is applied to the container's
 * "/" after the switch of root: applied here instead, a non-recursive "slave" or "private"
 * would leave the mount holding the rootfs shared, it would have to be made private for
 * pivot_root, and the rootfs bind would come out private whatever the spec says. */
static unsigned long root_propagation(const struct rt_spec *spec)
{
    unsigned long f = spec->rootfs_propagation ? rt_propagation_flags(spec->rootfs_propagation) : 0;
    return (f & MS_SHARED) ? f : MS_SLAVE | MS_REC;
}

/* pivot_root refuses a new root whose parent mount is shared. Only a shared (or a
 * non-recursive) root propagation can leave it shared, so only then walk up to the mount that
 * holds the rootfs and make it private, as runc does (EINVAL: not a mount point, go up). */
static int rootfs_parent_private(const char *rootfs, unsigned long prop, struct berr **err)
{
    if ((prop & MS_REC) && !(prop & MS_SHARED))
        return 0;
    _cleanup_free_ char *path = xstrdup(rootfs);
    for (;;) {
        if (mount(NULL, path, NULL, MS_PRIVATE, NULL) == 0)
            return 0;
        if (errno != EINVAL || strcmp(path, "/") == 0)
            return berr_sys(err, "make the mount holding %s private", rootfs);
        char *slash = strrchr(path, '/');
        if (slash == path)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
}

static void restore_umask(mode_t *m)
{
    umask(*m);
}

static bool any_mount(const struct rt_spec *spec, const char *type, bool bind_dev)
{
    for (size_t i = 0; i < spec->n_mounts; i++) {
        const struct rt_mount *m = &spec->mounts[i];
        if (bind_dev) {
            _cleanup_free_ char *d = rt_path_clean(m->destination);
            if (strcmp(d, "/dev") != 0)
                continue;
            if (m->type && strcmp(m->type, "bind") == 0)
                return true;
            for (char *const *o = m->options; o && *o; o++)
                if (strcmp(*o, "bind") == 0 || strcmp(*o, "rbind") == 0)
                    return true;
        } else if (m->type && strcmp(m->type, type) == 0) {
            return true;
        }
    }
    return false;
}

int rt_rootfs_prepare(struct rt_rootfs_ctx *ctx, struct berr **err)
{
    const struct rt_spec *spec = ctx->spec;
    struct rt_rootfs_priv *priv = rt_rootfs_priv_get(ctx);
    /* Modes of device nodes and created directories are exactly what the spec says. */
    mode_t old_umask __attribute__((cleanup(restore_umask))) = umask(0);

    unsigned long prop = root_propagation(spec);
    if (mount(NULL, "/", NULL, prop, NULL) < 0)
        return berr_sys(err, "set propagation of /");
    if (rootfs_parent_private(ctx->rootfs, prop, err) < 0)
        return -1;
    if (mount(ctx->rootfs, ctx->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return berr_sys(err, "bind %s onto itself", ctx->rootfs);
    /* Opened after the bind, so it names the new mount: everything below resolves in it, and
     * it is what becomes "/". */
    if (priv->root_fd >= 0)
        close(priv->root_fd);
    priv->root_fd = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (priv->root_fd < 0)
        return berr_sys(err, "open %s", ctx->rootfs);

    priv->has_proc = any_mount(spec, "proc", false);
    priv->dev_bound = any_mount(spec, NULL, true);
    priv->n_ro_later = 0;
    if (rt_mounts_apply(ctx, err) < 0)
        return -1;
    if (!priv->dev_bound && rt_devices_create(ctx, err) < 0)
        return -1;
    return 0;
}

/* The root is moved with MS_MOVE and entered with chroot, which leaves the host's mounts
 * reachable in this namespace. Full procfs and sysfs mounts there would let the container
 * mount a procfs that the kernel's "fully visible" check accepts; detach them first (or cover
 * them where we may not unmount), like runc. */
static int hide_host_proc_sys(const char *rootfs, struct berr **err)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    if (f == NULL)
        return berr_sys(err, "open /proc/self/mountinfo");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0, rlen = strlen(rootfs);
    _cleanup_strv_ char **targets = NULL;
    while (getline(&line, &cap, f) > 0) {
        char root[PATH_MAX], mnt[PATH_MAX], fstype[64];
        const char *sep = strstr(line, " - ");
        if (sep == NULL || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
            sscanf(sep + 3, "%63s", fstype) != 1)
            continue;
        if (strcmp(root, "/") != 0 || (strcmp(fstype, "proc") != 0 && strcmp(fstype, "sysfs")))
            continue;
        /* mountinfo escapes space, tab, newline and backslash as \ooo. */
        char *w = mnt;
        for (const char *r = mnt; *r; r++) {
            if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] && r[3]) {
                *w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
                r += 3;
            } else {
                *w++ = *r;
            }
        }
        *w = '\0';
        if (strncmp(mnt, rootfs, rlen) == 0 && (mnt[rlen] == '/' || mnt[rlen] == '\0'))
            continue;
        strv_append(&targets, mnt);
    }
    for (size_t i = 0; targets && targets[i]; i++) {
        const char *p = targets[i];
        if (mount(NULL, p, NULL, MS_SLAVE | MS_REC, NULL) < 0) {
            /* Gone already, with a parent detached before it. */
            if (errno == ENOENT || errno == EINVAL)
                continue;
            return berr_sys(err, "make %s a slave", p);
        }
        if (umount2(p, MNT_DETACH) == 0)
            continue;
        if ((errno != EINVAL && errno != EPERM) || mount("tmpfs", p, "tmpfs", 0, NULL) < 0)
            return berr_sys(err, "hide the host's %s", p);
    }
    return 0;
}

static int no_pivot_root(struct rt_rootfs_ctx *ctx, struct berr **err)
{
    if (hide_host_proc_sys(ctx->rootfs, err) < 0)
        return -1;
    if (fchdir(ctx->priv->root_fd) < 0)
        return berr_sys(err, "chdir %s", ctx->rootfs);
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
        return berr_sys(err, "move %s onto /", ctx->rootfs);
    if (chroot(".") < 0)
        return berr_sys(err, "chroot %s", ctx->rootfs);
    return 0;
}

/* pivot_root(".", ".") stacks the old root on top of the new one, with no directory to keep
 * it in (runc's technique). We step into the old root through an fd taken before, make it a
 * slave so the unmount does not propagate to the host, and detach it. */
static int pivot(struct rt_rootfs_ctx *ctx, struct berr **err)
{
    _cleanup_close_ int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (oldroot < 0)
        return berr_sys(err, "open /");
    if (fchdir(ctx->priv->root_fd) < 0)
        return berr_sys(err, "chdir %s", ctx->rootfs);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return berr_sys(err, "pivot_root %s", ctx->rootfs);
    if (fchdir(oldroot) < 0)
        return berr_sys(err, "chdir to the old root");
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return berr_sys(err, "make the old root a slave");
    if (umount2(".", MNT_DETACH) < 0)
        return berr_sys(err, "detach the old root");
    return 0;
}

int rt_rootfs_pivot(struct rt_rootfs_ctx *ctx, struct berr **err)
{
    if (ctx->priv == NULL || ctx->priv->root_fd < 0)
        return berr_set(err, EINVAL, "pivot before the root filesystem was prepared");
    if ((ctx->no_pivot ? no_pivot_root(ctx, err) : pivot(ctx, err)) < 0)
        return -1;
    if (chdir("/") < 0)
        return berr_sys(err, "chdir /");
    /* Only now: before the switch "/" was the host's root mount, whose propagation must not
     * change (it would reach the host when shared or slave). */
    const char *rp = ctx->spec->rootfs_propagation;
    if (rp && mount(NULL, "/", NULL, rt_propagation_flags(rp), NULL) < 0)
        return berr_sys(err, "set rootfsPropagation %s on /", rp);
    return 0;
}

/* ---- finalize: everything here is done on fds (open_tree, move_mount, mount_setattr), so it
 * does not depend on the container having a /proc, and a planted /proc/self/fd cannot bend it.
 * Kernels older than 5.12 get mount(2) through /proc/self/fd instead. */

static int fd_readonly(int fd, unsigned long classic_flags)
{
    struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
    if (rt_sys_mount_setattr(fd, "", AT_EMPTY_PATH, &a) == 0)
        return 0;
    if (errno != ENOSYS)
        return -1;
    struct statfs sfs;
    if (fstatfs(fd, &sfs) < 0)
        return -1;
    struct rt_fdpath fp;
    unsigned long f = classic_flags | rt_statfs_mount_flags((unsigned long)sfs.f_flags);
    return mount(NULL, rt_fdpath(&fp, fd), NULL, f | MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
}

/* A recursive bind of the path onto itself, its top made read-only (runc's readonlyPath). */
static int readonly_path(int root, const char *path, struct berr **err)
{
    _cleanup_close_ int fd = rt_resolve_beneath(root, path, 0, NULL);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return berr_set(err, -fd, "readonlyPaths: resolve %s", path);
    _cleanup_close_ int tree = rt_sys_open_tree(
        fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
    if (tree >= 0) {
        struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
        if (rt_sys_mount_setattr(tree, "", AT_EMPTY_PATH, &a) == 0 &&
            rt_sys_move_mount(tree, "", fd, "",
                              MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) == 0)
            return 0;
        if (errno != ENOSYS)
            return berr_sys(err, "readonlyPaths: %s", path);
    } else if (errno != ENOSYS) {
        return berr_sys(err, "readonlyPaths: clone %s", path);
    }
    struct rt_fdpath fp;
    if (mount(rt_fdpath(&fp, fd), fp.s, NULL, MS_BIND | MS_REC, NULL) < 0)
        return berr_sys(err, "readonlyPaths: bind %s", path);
    _cleanup_close_ int top = rt_resolve_beneath(root, path, 0, NULL);
    if (top < 0)
        return berr_set(err, -top, "readonlyPaths: reopen %s", path);
    if (fd_readonly(top, 0) < 0)
        return berr_sys(err, "readonlyPaths: remount %s read-only", path);
    return 0;
}

struct masker {
    int root;
    int null_fd;  /* the container's /dev/null, checked to be the null device */
    int tmpfs_fd; /* the first masking tmpfs, attached; later ones are clones of it */
    const char *label;
};

/* Masking binds /dev/null over files. The container's /dev/null could have been swapped for a
 * symlink or another file (CVE-2025-31133 class), so check it is the real 1:3 device. */
static int masker_null(struct masker *mk, struct berr **err)
{
    if (mk->null_fd >= 0)
        return mk->null_fd;
    int fd = rt_resolve_beneath(mk->root, "/dev/null", RT_RESOLVE_NOFOLLOW_LAST, NULL);
    if (fd < 0)
        return berr_set(err, -fd, "maskedPaths: open /dev/null");
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
        close(fd);
        return berr_set(err, 0, "maskedPaths: /dev/null in the container is not the null device");
    }
    return mk->null_fd = fd;
}

static int mask_dir(struct masker *mk, int fd, const char *path, struct berr **err)
{
    _cleanup_close_ int mnt = -1;
    if (mk->tmpfs_fd >= 0) {
        mnt =
            rt_sys_open_tree(mk->tmpfs_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    } else {
        _cleanup_close_ int fs = rt_sys_fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs >= 0 && mk->label &&
            rt_sys_fsconfig(fs, FSCONFIG_SET_STRING, "context", mk->label, 0) < 0)
            return berr_sys(err, "maskedPaths: label tmpfs");
        if (fs >= 0 && rt_sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
            mnt = rt_sys_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
    }
    if (mnt >= 0) {
        if (rt_sys_move_mount(mnt, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
            0)
            return berr_sys(err, "maskedPaths: mask %s", path);
        /* Now attached, so it can be cloned for the next directory. */
        if (mk->tmpfs_fd < 0)
            mk->tmpfs_fd = steal_fd(&mnt);
        return 0;
    }
    if (errno != ENOSYS)
        return berr_sys(err, "maskedPaths: tmpfs for %s", path);
    struct rt_fdpath fp;
    _cleanup_free_ char *data = mk->label ? xasprintf("context=\"%s\"", mk->label) : NULL;
    if (mount("tmpfs", rt_fdpath(&fp, fd), "tmpfs", MS_RDONLY, data) < 0)
        return berr_sys(err, "maskedPaths: mask %s", path);
    return 0;
}

static int mask_file(struct masker *mk, int fd, const char *path, struct berr **err)
{
    int null = masker_null(mk, err);
    if (null < 0)
        return -1;
    _cleanup_close_ int tree =
        rt_sys_open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (tree >= 0) {
        if (rt_sys_move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
            0)
            return berr_sys(err, "maskedPaths: mask %s", path);
        return 0;
    }
    if (errno != ENOSYS)
        return berr_sys(err, "maskedPaths: clone /dev/null for %s", path);
    struct rt_fdpath src, dst;
    if (mount(rt_fdpath(&src, null), rt_fdpath(&dst, fd), NULL, MS_BIND, NULL) < 0)
        return berr_sys(err, "maskedPaths: mask %s", path);
    return 0;
}

static int mask_path(struct masker *mk, const char *path, struct berr **err)
{
    _cleanup_close_ int fd = rt_resolve_beneath(mk->root, path, 0, NULL);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return berr_set(err, -fd, "maskedPaths: resolve %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return berr_sys(err, "maskedPaths: stat %s", path);
    return S_ISDIR(st.st_mode) ? mask_dir(mk, fd, path, err) : mask_file(mk, fd, path, err);
}

static bool selinux_label_wanted(const struct rt_spec *spec)
{
    struct statfs sfs;
    return spec->mount_label && spec->mount_label[0] && statfs("/sys/fs/selinux", &sfs) == 0 &&
           sfs.f_type == (long)0xf97cff8c;
}

int rt_rootfs_finalize(struct rt_rootfs_ctx *ctx, struct berr **err)
{
    const struct rt_spec *spec = ctx->spec;
    struct rt_rootfs_priv *priv = ctx->priv;
    if (priv == NULL || priv->root_fd < 0)
        return berr_set(err, EINVAL, "finalize before the root filesystem was prepared");
    int root = priv->root_fd;

    for (size_t i = 0; spec->readonly_paths && spec->readonly_paths[i]; i++)
        if (readonly_path(root, spec->readonly_paths[i], err) < 0)
            return -1;

    struct masker mk = {.root = root, .null_fd = -1, .tmpfs_fd = -1};
    if (spec->masked_paths && spec->masked_paths[0] && selinux_label_wanted(spec))
        mk.label = spec->mount_label;
    int ret = 0;
    for (size_t i = 0; ret == 0 && spec->masked_paths && spec->masked_paths[i]; i++)
        ret = mask_path(&mk, spec->masked_paths[i], err);
    if (mk.null_fd >= 0)
        close(mk.null_fd);
    if (mk.tmpfs_fd >= 0)
        close(mk.tmpfs_fd);
    if (ret < 0)
        return -1;

    for (size_t k = 0; k < priv->n_ro_later; k++) {
        const struct rt_mount *m = &spec->mounts[priv->ro_later[k].index];
        _cleanup_close_ int fd = rt_resolve_beneath(root, m->destination, 0, NULL);
        if (fd < 0)
            return berr_set(err, -fd, "mounts[%zu] (%s): reopen to make it read-only",
                            priv->ro_later[k].index, m->destination);
        if (fd_readonly(fd, priv->ro_later[k].flags) < 0)
            return berr_sys(err, "mounts[%zu] (%s): make read-only", priv->ro_later[k].index,
                            m->destination);
    }

    if (spec->root_readonly) {
        struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
        if (rt_sys_mount_setattr(root, "", AT_EMPTY_PATH, &a) == 0)
            return 0;
        if (errno != ENOSYS)
            return berr_sys(err, "make the root filesystem read-only");
        /* Keep the root's other flags (nosuid, nodev...), which a remount would drop. */
        struct statfs sfs;
        if (statfs("/", &sfs) < 0)
            return berr_sys(err, "statfs /");
        unsigned long f = rt_statfs_mount_flags((unsigned long)sfs.f_flags);
        if (mount(NULL, "/", NULL, f | MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
            return berr_sys(err, "make the root filesystem read-only");
    }
    return 0;
}
