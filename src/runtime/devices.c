/* Device nodes in the container's /dev: the runtime's default set plus linux.devices, made
 * with mknod beneath the rootfs (or bind-mounted from the host in a user namespace, where mknod
 * is not allowed), and the /dev symlinks (fd, stdin/out/err, ptmx, core). */
#include "runtime/rootfs_internal.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

struct dev_node {
    const char *path; /* cleaned, absolute */
    char type;
    uint32_t major, minor;
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

/* What every container gets (runc's list); linux.devices entries with the same path win. */
static const struct dev_node default_devices[] = {
    {"/dev/null", 'c', 1, 3, 0666, 0, 0},    {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
    {"/dev/full", 'c', 1, 7, 0666, 0, 0},    {"/dev/random", 'c', 1, 8, 0666, 0, 0},
    {"/dev/urandom", 'c', 1, 9, 0666, 0, 0}, {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
};

/* Linux's dev_t: 12-bit major, 20-bit minor. */
#define MAX_MAJOR 0xfff
#define MAX_MINOR 0xfffff

static int validate_device(const struct rt_device *d, struct berr **err)
{
    if (d->path == NULL || d->path[0] != '/')
        return berr_set(err, 0, "path must be absolute");
    /* Any path in the container will do (runc accepts /opt/mydev too); it is created beneath
     * the rootfs like every other path, so it cannot land outside. */
    _cleanup_free_ char *clean = rt_path_clean(d->path);
    if (strcmp(clean, "/") == 0)
        return berr_set(err, 0, "path must name a file, not /");
    if (strchr("cbup", d->type) == NULL || d->type == '\0')
        return berr_set(err, 0, "unknown type '%c' (want c, b, u or p)", d->type);
    if (d->type != 'p' &&
        (d->major < 0 || d->major > MAX_MAJOR || d->minor < 0 || d->minor > MAX_MINOR))
        return berr_set(err, 0, "major %lld or minor %lld out of range", (long long)d->major,
                        (long long)d->minor);
    return 0;
}

int rt_devices_validate(const struct rt_spec *spec, struct berr **err)
{
    for (size_t i = 0; i < spec->n_devices; i++) {
        const struct rt_device *d = &spec->devices[i];
        if (validate_device(d, err) < 0)
            return berr_wrap(err, "linux.devices[%zu] (%s)", i, d->path ? d->path : "");
    }
    return 0;
}

static mode_t type_bits(char type)
{
    switch (type) {
    case 'b':
        return S_IFBLK;
    case 'p':
        return S_IFIFO;
    default:
        return S_IFCHR;
    }
}

/* In a user namespace: an empty file as the mount point, the host's node bound onto it. */
static int bind_host_device(int dir, const char *name, const struct dev_node *n, struct berr **err)
{
    if (mknodat(dir, name, S_IFREG | 0644, 0) < 0 && errno != EEXIST)
        return berr_sys(err, "create %s", n->path);
    _cleanup_close_ int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(err, "open %s", n->path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return berr_sys(err, "stat %s", n->path);
    if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
        return berr_set(err, 0, "%s exists and is a %s", n->path,
                        S_ISLNK(st.st_mode) ? "symlink" : "directory");
    struct rt_fdpath fp;
    if (mount(n->path, rt_fdpath(&fp, fd), NULL, MS_BIND, NULL) < 0)
        return berr_sys(err, "bind the host's %s", n->path);
    return 0;
}

/* mknod never follows a symlink at the final name (it fails EEXIST), so what is already there
 * is looked at without following: the same node is kept (owner and mode fixed), a directory is
 * an error, anything else (a symlink included) is replaced. */
static int make_node(int dir, const char *name, const struct dev_node *n, bool userns,
                     struct berr **err)
{
    mode_t type = type_bits(n->type);
    dev_t rdev = n->type == 'p' ? 0 : makedev(n->major, n->minor);
    if (userns)
        return bind_host_device(dir, name, n, err);
    for (int tries = 0;; tries++) {
        if (mknodat(dir, name, type | n->mode, rdev) == 0)
            break;
        if (errno == EPERM)
            return bind_host_device(dir, name, n, err);
        if (errno != EEXIST || tries > 2)
            return berr_sys(err, "mknod %s", n->path);
        struct stat st;
        if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;
            return berr_sys(err, "stat %s", n->path);
        }
        if ((st.st_mode & S_IFMT) == type && (n->type == 'p' || st.st_rdev == rdev)) {
            if ((st.st_mode & 07777) != n->mode && fchmodat(dir, name, n->mode, 0) < 0)
                return berr_sys(err, "chmod %s", n->path);
            break;
        }
        if (S_ISDIR(st.st_mode))
            return berr_set(err, EEXIST, "%s exists and is a directory", n->path);
        if (unlinkat(dir, name, 0) < 0 && errno != ENOENT)
            return berr_sys(err, "replace %s", n->path);
    }
    if ((n->uid != 0 || n->gid != 0) &&
        fchownat(dir, name, n->uid, n->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return berr_sys(err, "chown %s", n->path);
    return 0;
}

/* The parent directory fd for path, reusing /dev's for the usual flat names. */
static int node_dir(int root, int dev, const char *path, const char **name, int *owned,
                    struct berr **err)
{
    const char *slash = strrchr(path, '/');
    *name = slash + 1;
    if ((size_t)(slash - path) == 4 && strncmp(path, "/dev", 4) == 0)
        return dev;
    _cleanup_free_ char *parent = xstrndup(path, (size_t)(slash - path));
    *owned = rt_resolve_beneath(root, parent, RT_RESOLVE_CREATE, NULL);
    if (*owned < 0)
        return berr_set(err, -*owned, "resolve %s", parent);
    return *owned;
}

static int create_node(int root, int dev, const struct dev_node *n, bool userns, struct berr **err)
{
    const char *name;
    _cleanup_close_ int owned = -1;
    int dir = node_dir(root, dev, n->path, &name, &owned, err);
    if (dir < 0)
        return -1;
    return make_node(dir, name, n, userns, err);
}

static int make_links(int dev, bool with_core, struct berr **err)
{
    static const char *const links[][2] = {
        {"/proc/self/fd", "fd"},
        {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(links); i++)
        if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
            return berr_sys(err, "symlink /dev/%s", links[i][1]);
    /* With devpts newinstance, ptmx must be the instance's own: link to pts/ptmx whatever was
     * there (runc does the same). */
    if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT)
        return berr_sys(err, "remove /dev/ptmx");
    if (symlinkat("pts/ptmx", dev, "ptmx") < 0)
        return berr_sys(err, "symlink /dev/ptmx");
    if (with_core && symlinkat("/proc/kcore", dev, "core") < 0 && errno != EEXIST)
        return berr_sys(err, "symlink /dev/core");
    return 0;
}

int rt_devices_create(struct rt_rootfs_ctx *ctx, struct berr **err)
{
    const struct rt_spec *spec = ctx->spec;
    struct rt_rootfs_priv *priv = ctx->priv;
    int root = priv->root_fd;
    _cleanup_close_ int dev = rt_resolve_beneath(root, "/dev", RT_RESOLVE_CREATE, NULL);
    if (dev < 0)
        return berr_set(err, -dev, "resolve /dev in the root filesystem");

    size_t n_spec = spec->n_devices;
    _cleanup_free_ char **clean = xcalloc(n_spec + 1, sizeof(char *));
    int ret = 0;
    for (size_t i = 0; i < n_spec; i++)
        clean[i] = rt_path_clean(spec->devices[i].path);

    for (size_t k = 0; ret == 0 && k < ARRAY_SIZE(default_devices); k++) {
        bool overridden = false;
        for (size_t i = 0; i < n_spec && !overridden; i++)
            overridden = strcmp(clean[i], default_devices[k].path) == 0;
        if (!overridden)
            ret = create_node(root, dev, &default_devices[k], ctx->userns, err);
    }
    for (size_t i = 0; ret == 0 && i < n_spec; i++) {
        const struct rt_device *d = &spec->devices[i];
        struct dev_node n = {
            .path = clean[i],
            .type = d->type,
            .major = (uint32_t)d->major,
            .minor = (uint32_t)d->minor,
            .mode = d->has_mode ? d->mode & 07777 : 0666,
            .uid = d->has_uid ? d->uid : 0,
            .gid = d->has_gid ? d->gid : 0,
        };
        if (create_node(root, dev, &n, ctx->userns, err) < 0)
            ret = berr_wrap(err, "linux.devices[%zu]", i);
    }
    for (size_t i = 0; i < n_spec; i++)
        free(clean[i]);
    if (ret < 0)
        return -1;
    /* /dev/core only where the kernel has /proc/kcore and the container mounts a /proc. */
    bool core = priv->has_proc && faccessat(AT_FDCWD, "/proc/kcore", F_OK, 0) == 0;
    return make_links(dev, core, err);
}
