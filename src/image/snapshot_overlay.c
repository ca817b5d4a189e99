/* The overlay snapshot driver: every layer is unpacked into its own empty directory, with
 * whiteouts in overlayfs's form (0/0 character devices and the trusted.overlay.opaque xattr),
 * and a chain is mounted by stacking those directories as lower layers. */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/snapshot_internal.h"

/* Overlay accepts up to 500 lower layers; images are capped well below that by Docker (127). */
#define MAX_CHAIN 500

struct mount_job {
    int dir_fd;
    const char *opts, *target;
    unsigned long flags;
    int err;
};

static int mount_child(void *arg)
{
    struct mount_job *j = arg;
    if (fchdir(j->dir_fd) < 0 || mount("overlay", j->target, "overlay", j->flags, j->opts) < 0)
        j->err = errno;
    return 0;
}

/* Mounts overlay with options naming paths relative to dir_fd. The mount options must fit in a
 * page; relative short names make 128 layers fit. A child does the chdir so the caller's cwd
 * (and any other thread's) is untouched; it shares the caller's memory (CLONE_VM, the caller
 * waiting as for vfork) but not its cwd, so nothing of the daemon's address space is copied. */
static int mount_overlay_at(int dir_fd, const char *opts, const char *target, unsigned long flags,
                            struct berr **err)
{
    struct mount_job j = {.dir_fd = dir_fd, .opts = opts, .target = target, .flags = flags};
    /* fchdir and mount need little stack; every signal stays blocked in the child */
    _Alignas(16) char stack[32 * 1024];
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(mount_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &j);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        errno = clone_errno;
        return berr_sys(err, "start the mount helper");
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return berr_sys(err, "wait for mount helper");
    }
    if (!WIFEXITED(status))
        return berr_set(err, EIO, "mount helper died with signal %d", WTERMSIG(status));
    if (j.err != 0)
        return berr_set(err, j.err, "mount overlay on %s", target);
    return 0;
}

static bool overlay_available(struct img_snapshotter *sn)
{
    _cleanup_(img_scratch_freep) struct img_scratch *sc = NULL;
    if (img_scratch_new(sn->s, "tmp", &sc, NULL) < 0)
        return false;
    static const char *const dirs[] = {"l1", "l2", "m"};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        if (mkdirat(sc->fd, dirs[i], 0700) < 0)
            return false;
    }
    /* Whiteouts are device nodes: a filesystem mounted nodev, or a missing CAP_MKNOD, rules
     * the driver out as surely as a kernel without overlayfs. */
    if (mknodat(sc->fd, "l1/w", S_IFCHR | 0600, makedev(0, 0)) < 0) {
        log_debug("overlay probe: mknod whiteout: %m");
        return false;
    }
    _cleanup_free_ char *target = xasprintf("%s/m", sc->path);
    _cleanup_berr_ struct berr *e = NULL;
    if (mount_overlay_at(sc->fd, "lowerdir=l1:l2", target, MS_RDONLY, &e) < 0) {
        log_debug("overlay probe: %s", e->msg);
        return false;
    }
    umount2(target, MNT_DETACH);
    return true;
}

static int overlay_prepare(struct img_snapshotter *sn, const char *parent, int fs_fd,
                           const char *fs_path, struct berr **err)
{
    return 0; /* each layer starts from an empty directory */
}

/* The short link of every snapshot in the chain, top first. */
static char **chain_links(struct img_snapshotter *sn, const char *chain_id, struct berr **err)
{
    _cleanup_strv_ char **links = xcalloc(1, sizeof(char *));
    _cleanup_free_ char *cur = xstrdup(chain_id);
    size_t n = 0;
    while (cur) {
        if (++n > MAX_CHAIN)
            return berr_set(err, ELOOP, "snapshot %s: chain longer than %d layers", chain_id,
                            MAX_CHAIN),
                   NULL;
        if (!img_snap_exists(sn, cur))
            return berr_set(err, ENOENT, "snapshot %s: layer %s is missing", chain_id, cur), NULL;
        _cleanup_free_ char *link = img_snap_short_link(cur);
        _cleanup_free_ char *want = xasprintf("../%s/fs", img_digest_hex(cur));
        _cleanup_free_ char *have = NULL;
        char buf[256];
        ssize_t r = readlinkat(sn->dir_fd, link, buf, sizeof(buf) - 1);
        if (r >= 0) {
            buf[r] = '\0';
            have = xstrdup(buf);
        }
        if (have == NULL || strcmp(have, want) != 0) {
            /* Missing (a crash between publish and link) or, absurdly, a 64-bit prefix clash:
             * repair the first, refuse the second. */
            if (have != NULL)
                return berr_set(err, EEXIST, "snapshot %s: short link %s/%s is taken by %s", cur,
                                sn->dir, link, have),
                       NULL;
            if (symlinkat(want, sn->dir_fd, link) < 0)
                return berr_sys(err, "snapshot %s: create %s/%s", cur, sn->dir, link), NULL;
        }
        strv_append(&links, link);
        char *parent = img_snap_parent(sn, cur);
        free(cur);
        cur = parent;
    }
    return steal_ptr(&links);
}

/* "lowerdir=l/a:l/b..." plus extra (may be ""). */
static char *lower_opts(char **links, const char *extra)
{
    size_t len = strlen("lowerdir=") + strlen(extra);
    for (size_t i = 0; links[i]; i++)
        len += strlen(links[i]) + 1;
    char *opts = xmalloc(len + 1);
    char *p = stpcpy(opts, "lowerdir=");
    for (size_t i = 0; links[i]; i++) {
        if (i > 0)
            *p++ = ':';
        p = stpcpy(p, links[i]);
    }
    strcpy(p, extra);
    return opts;
}

static int overlay_mount_ro(struct img_snapshotter *sn, const char *chain_id, const char *target,
                            struct berr **err)
{
    _cleanup_strv_ char **links = chain_links(sn, chain_id, err);
    if (links == NULL)
        return -1;
    if (links[1] == NULL) {
        /* overlayfs wants two lower layers when there is no upper one. */
        _cleanup_free_ char *fs = img_snap_fs_path(sn, chain_id);
        return img_snap_bind_ro(fs, target, err);
    }
    _cleanup_free_ char *opts = lower_opts(links, "");
    if (target[0] != '/')
        return berr_set(err, EINVAL, "mount target %s must be absolute", target);
    return mount_overlay_at(sn->dir_fd, opts, target, MS_RDONLY, err);
}

static int overlay_mount_rw(struct img_snapshotter *sn, const char *chain_id, const char *upper,
                            const char *work, const char *target, struct berr **err)
{
    _cleanup_strv_ char **links = chain_links(sn, chain_id, err);
    if (links == NULL)
        return -1;
    _cleanup_free_ char *extra = xasprintf(",upperdir=%s,workdir=%s", upper, work);
    _cleanup_free_ char *opts = lower_opts(links, extra);
    if (strlen(opts) >= 4096)
        return berr_set(err, E2BIG, "overlay options for %s do not fit in a page", target);
    return mount_overlay_at(sn->dir_fd, opts, target, 0, err);
}

const struct img_snap_ops img_snap_overlay_ops = {
    .name = "overlay",
    .whiteouts = IMG_WHITEOUT_OVERLAY,
    .parallel = true,
    .available = overlay_available,
    .prepare = overlay_prepare,
    .mount_ro = overlay_mount_ro,
    .mount_rw = overlay_mount_rw,
};
