/* The container's first process, from clone() to execve(): namespaces, rootfs, hooks that run
 * inside, terminal, sysctls, the wait for `start`, then the process's own settings. Every
 * failure is sent to the parent as text and the child exits. */
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "runtime/hooks.h"
#include "runtime/internal.h"
#include "runtime/rootfs.h"
#include "runtime/sync.h"
#include "runtime/tty.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif

static int write_sysctls(const struct rt_spec *spec, struct berr **err)
{
    for (size_t i = 0; i < spec->n_sysctl; i++) {
        _cleanup_free_ char *path = xasprintf("/proc/sys/%s", spec->sysctl[i].key);
        for (char *p = path + strlen("/proc/sys/"); *p; p++)
            if (*p == '.')
                *p = '/';
        if (strstr(path, "/../") || strstr(path, "/./"))
            return berr_set(err, EINVAL, "linux.sysctl: invalid key \"%s\"", spec->sysctl[i].key);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return berr_sys(err, "linux.sysctl: %s", spec->sysctl[i].key);
        const char *v = spec->sysctl[i].value;
        if (write_all(fd, v, strlen(v)) < 0)
            return berr_sys(err, "linux.sysctl: set %s to \"%s\"", spec->sysctl[i].key, v);
    }
    return 0;
}

static int set_status_in_state(const char *state_json, const char *status, char **out)
{
    json_error_t jerr;
    _cleanup_json_ json_t *j = json_loads(state_json, 0, &jerr);
    if (j == NULL)
        return -1;
    json_object_set_new(j, "status", json_string(status));
    *out = json_dumps(j, JSON_COMPACT);
    return *out ? 0 : -1;
}

/* Wait until `start` opens the fifo for reading: our open for writing blocks until then. The
 * state directory fd was opened on the host before pivot_root, so no /proc is needed. The fd
 * stays open (close-on-exec): `start` reads "0" just before our execve, or "E" and a message
 * if anything fails first, so it can report startContainer hook and exec failures. */
static int open_start_fifo(int state_dirfd, struct berr **err)
{
    int fd = openat(state_dirfd, "exec.fifo", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(err, "open exec fifo");
    return fd;
}

static int init_setup(struct rt_init_ctx *ctx, char **program, char **state_json,
                      struct berr **err)
{
    const struct rt_spec *spec = ctx->spec;
    const struct rt_process *proc = ctx->process;

    if (rt_sync_expect(ctx->sync_fd, RT_SYNC_GO, NULL, err) < 0)
        return -1;
    if (ctx->new_userns) {
        /* Become root of the new namespace now that the maps are written; where the maps
         * leave root unmapped (EINVAL) we keep the creator's full capabilities anyway. */
        if ((setresgid(0, 0, 0) < 0 && errno != EINVAL) ||
            (setresuid(0, 0, 0) < 0 && errno != EINVAL))
            return berr_sys(err, "become root in the user namespace");
    }
    if (rt_join_namespaces(ctx->ns_fds, err) < 0)
        return -1;
    if (ctx->new_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
        return berr_sys(err, "create cgroup namespace");
    if (!ctx->no_new_keyring) {
        _cleanup_free_ char *name = xasprintf("_ses.%s", ctx->id);
        if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name) < 0 && errno != ENOSYS &&
            errno != EPERM && errno != EACCES)
            return berr_sys(err, "create a session keyring");
    }

    /* Without a mount namespace of its own the container shares the host's mount table: no
     * mount is made (it would change the host's), the process is only chroot'ed into the
     * rootfs below, as crun does. */
    struct rt_rootfs_ctx *rctx = spec->namespaces[RT_NS_MNT].present ? ctx->rootfs_ctx : NULL;
    if (rctx && rt_rootfs_prepare(rctx, err) < 0)
        return -1;
    /* process.cwd is created if missing, as runc does, beneath the rootfs. */
    if (rctx) {
        _cleanup_close_ int cwdfd = rt_open_beneath(rt_rootfs_fd(rctx), proc->cwd, true, false,
                                                    err);
        if (cwdfd < 0)
            return berr_wrap(err, "process.cwd %s", proc->cwd);
    }
    if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
        return berr_sys(err, "set hostname");
    if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
        return berr_sys(err, "set domainname");

    if (ctx->has_prestart_hooks) {
        if (rt_sync_send(ctx->sync_fd, RT_SYNC_HOOKS, 0, NULL) < 0)
            return berr_sys(err, "ask for createRuntime hooks");
        enum rt_sync_type type;
        int32_t v;
        if (rt_sync_recv(ctx->sync_fd, &type, &v, state_json) < 0 || type != RT_SYNC_HOOKS_DONE)
            return berr_set(err, EPIPE, "createRuntime hooks failed");
        if (*state_json && rt_hooks_run(&spec->hooks[RT_HOOK_CREATE_CONTAINER], "createContainer",
                                        *state_json, err) < 0)
            return -1;
    }

    if (rctx && rt_rootfs_pivot(rctx, err) < 0)
        return -1;
    if (rctx == NULL) {
        if (spec->n_mounts)
            log_debug("no mount namespace: the %zu mounts of config.json are not made",
                      spec->n_mounts);
        if (chroot(ctx->rootfs) < 0 || chdir("/") < 0)
            return berr_sys(err, "chroot to %s", ctx->rootfs);
    }
    if (write_sysctls(spec, err) < 0)
        return -1;
    if (proc->terminal) {
        if (ctx->console_fd < 0)
            return berr_set(err, EINVAL, "process.terminal is set but no console socket given");
        if (rt_tty_setup(ctx->console_fd, proc, rctx != NULL, err) < 0)
            return -1;
        closep(&ctx->console_fd);
    }
    if (rctx && rt_rootfs_finalize(rctx, err) < 0)
        return -1;
    if (spec->has_personality && personality(spec->personality) < 0)
        return berr_sys(err, "set personality");
    if (rt_process_apply_limits(proc, err) < 0)
        return -1;
    *program = rt_process_find_program(proc, err);
    if (*program == NULL)
        return -1;
    return 0;
}

void rt_init_main(struct rt_init_ctx *ctx)
{
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_free_ char *program = NULL;
    _cleanup_free_ char *state_json = NULL;
    _cleanup_close_ int start_fd = -1;
    const struct rt_spec *spec = ctx->spec;

    /* Die with the parent while it still owns us; cleared before waiting for start. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The container's first process leads its own session, as with runc and crun. */
    setsid();
    if (init_setup(ctx, &program, &state_json, &err) < 0)
        goto fail;

    /* Before READY: once the parent has READY it may exit at any moment, and a death signal
     * still armed then would kill the waiting container. */
    prctl(PR_SET_PDEATHSIG, 0);
    if (rt_sync_send(ctx->sync_fd, RT_SYNC_READY, 0, NULL) < 0) {
        berr_sys(&err, "report ready");
        goto fail;
    }
    if (ctx->state_dirfd >= 0) {
        /* The create command is done with us; errors from here on go to `start`. */
        closep(&ctx->sync_fd);
        start_fd = open_start_fifo(ctx->state_dirfd, &err);
        if (start_fd < 0)
            goto fail;
        closep(&ctx->state_dirfd);
    }
    if (spec->hooks[RT_HOOK_START_CONTAINER].n > 0) {
        _cleanup_free_ char *created = NULL;
        if (state_json == NULL || set_status_in_state(state_json, "created", &created) < 0) {
            berr_set(&err, EINVAL, "startContainer hooks: no state to give them");
            goto fail;
        }
        if (rt_hooks_run(&spec->hooks[RT_HOOK_START_CONTAINER], "startContainer", created,
                         &err) < 0)
            goto fail;
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    rt_process_exec(ctx->process, ctx->seccomp, program, ctx->preserve_fds,
                    rt_setgroups_allowed(), start_fd, &err);
fail:
    if (ctx->sync_fd >= 0) {
        rt_sync_send_error(ctx->sync_fd, err);
    } else if (start_fd >= 0) {
        const char *msg = err ? err->msg : "container init failed";
        (void)!write(start_fd, "E", 1);
        (void)!write(start_fd, msg, strlen(msg));
    } else {
        log_error("%s", err ? err->msg : "container init failed");
    }
    _exit(1);
}
