/* Parent side of the lifecycle: validate everything, make the state directory and cgroup, clone
 * the container init and drive its setup (container create/run), and the commands that act on
 * an existing container (start, state, kill, delete, list, pause, update, stats). */
#include "runtime/container.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/foreground.h"
#include "runtime/hooks.h"
#include "runtime/internal.h"
#include "runtime/rootfs.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "runtime/tty.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static char *now_rfc3339(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts.tv_nsec);
    return xstrdup(buf);
}

static int write_pid_file(const char *path, pid_t pid, struct berr **err)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d", pid);
    return write_file_atomic_at(AT_FDCWD, path, buf, (size_t)n, 0644, err);
}

static char *state_text(const struct rt_state *st, enum rt_status status)
{
    _cleanup_json_ json_t *j = rt_state_json(st, status);
    return json_dumps(j, JSON_COMPACT);
}

/* Open the namespace files the config asks to join, checking each is the right kind. */
static int open_ns_paths(const struct rt_spec *spec, int fds[RT_NS_COUNT], struct berr **err)
{
    for (int t = 0; t < RT_NS_COUNT; t++) {
        fds[t] = -1;
        if (!spec->namespaces[t].present || spec->namespaces[t].path == NULL)
            continue;
        const char *path = spec->namespaces[t].path;
        fds[t] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[t] < 0)
            return berr_sys(err, "linux.namespaces: open %s namespace %s", rt_ns_name(t), path);
        int type = ioctl(fds[t], NS_GET_NSTYPE);
        if (type >= 0 && type != rt_ns_clone_flag(t))
            return berr_set(err, EINVAL, "linux.namespaces: %s is not a %s namespace", path,
                            rt_ns_name(t));
    }
    return 0;
}

static int write_id_map(pid_t pid, const char *file, const struct rt_id_map *m, size_t n,
                        struct berr **err)
{
    char buf[4096];
    size_t len = 0;
    for (size_t i = 0; i < n && len < sizeof(buf) - 40; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", m[i].container_id,
                                m[i].host_id, m[i].size);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write_all(fd, buf, len) < 0)
        return berr_sys(err, "write %s (check linux.uidMappings/gidMappings)", file);
    return 0;
}

static int set_time_offsets(const struct rt_spec *spec, struct berr **err)
{
    char buf[128];
    size_t len = 0;
    if (spec->time_monotonic.present)
        len +=
            (size_t)snprintf(buf + len, sizeof(buf) - len, "monotonic %lld %u\n",
                             (long long)spec->time_monotonic.secs, spec->time_monotonic.nanosecs);
    if (spec->time_boottime.present)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "boottime %lld %u\n",
                                (long long)spec->time_boottime.secs, spec->time_boottime.nanosecs);
    if (len == 0)
        return 0;
    _cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write_all(fd, buf, len) < 0)
        return berr_sys(err, "linux.timeOffsets: write timens_offsets");
    return 0;
}

/* Resources that must be released if create fails part-way. */
struct create_job {
    struct rt_spec *spec;
    struct rt_resources *res;
    struct rt_seccomp *seccomp;
    struct rt_state *st;
    struct rt_cgroup *cg;
    int ns_fds[RT_NS_COUNT];
    int console_fd;
    int sync_parent, sync_child;
    int pty_parent; /* our end of an internal console socket (foreground run with a tty) */
    pid_t pid;
    char *bundle;
    char *rootfs;
    struct rt_rootfs_ctx rctx;
};

static void create_job_release(struct create_job *j, bool failed)
{
    if (failed && j->pid > 0) {
        kill(j->pid, SIGKILL);
        waitpid(j->pid, NULL, 0);
    }
    if (failed && j->cg) {
        _cleanup_berr_ struct berr *e = NULL;
        if (rt_cgroup_destroy(j->cg, &e) < 0)
            log_warn("cleanup: %s", e->msg);
    }
    if (failed && j->st) {
        _cleanup_berr_ struct berr *e = NULL;
        if (rt_state_remove(j->st, &e) < 0)
            log_warn("cleanup: %s", e->msg);
    }
    for (int t = 0; t < RT_NS_COUNT; t++)
        closep(&j->ns_fds[t]);
    closep(&j->console_fd);
    closep(&j->sync_parent);
    closep(&j->sync_child);
    closep(&j->pty_parent);
    rt_rootfs_ctx_clear(&j->rctx);
    rt_cgroup_free(j->cg);
    rt_state_free(j->st);
    rt_seccomp_free(j->seccomp);
    rt_resources_free(j->res);
    rt_spec_free(j->spec);
    free(j->bundle);
    free(j->rootfs);
}

/* As runc: a sysctl is only set when it belongs to a namespace the container has of its own,
 * so a container cannot change the host's kernel settings. */
static int check_sysctls(const struct rt_spec *spec, struct berr **err)
{
    static const char *const ipc_keys[] = {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
        "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    for (size_t i = 0; i < spec->n_sysctl; i++) {
        const char *k = spec->sysctl[i].key;
        bool ok = false;
        enum rt_ns_type need = RT_NS_COUNT;
        for (size_t j = 0; j < ARRAY_SIZE(ipc_keys); j++)
            if (strcmp(k, ipc_keys[j]) == 0)
                need = RT_NS_IPC;
        if (strncmp(k, "fs.mqueue.", 10) == 0)
            need = RT_NS_IPC;
        else if (strncmp(k, "net.", 4) == 0)
            need = RT_NS_NET;
        else if (strcmp(k, "kernel.hostname") == 0 || strcmp(k, "kernel.domainname") == 0)
            need = RT_NS_UTS;
        /* A joined namespace counts too (a pod's network namespace is not the host's). */
        if (need != RT_NS_COUNT)
            ok = spec->namespaces[need].present;
        if (!ok)
            return berr_set(err, EINVAL, "linux.sysctl: \"%s\" %s", k,
                            need == RT_NS_COUNT
                                ? "is not namespaced: setting it would change the host"
                                : "needs the container to have its own namespace for it");
    }
    return 0;
}

static int validate(const struct rt_create_opts *o, struct create_job *j, struct berr **err)
{
    char buf[PATH_MAX];
    if (realpath(o->bundle ? o->bundle : ".", buf) == NULL)
        return berr_sys(err, "bundle %s", o->bundle ? o->bundle : ".");
    j->bundle = xstrdup(buf);
    j->spec = rt_spec_load(j->bundle, err);
    if (j->spec == NULL)
        return -1;
    const struct rt_spec *spec = j->spec;
    if (spec->process == NULL)
        return berr_set(err, EINVAL, "%s/config.json: process is required to create a container",
                        j->bundle);
    if (spec->process->terminal && o->console_socket == NULL && (!o->run || o->detach))
        return berr_set(err, EINVAL,
                        "process.terminal is set: pass --console-socket to receive the terminal");
    if (!spec->process->terminal && o->console_socket)
        return berr_set(
            err, EINVAL,
            "--console-socket was given but process.terminal is false in %s/config.json",
            j->bundle);
    if (check_sysctls(spec, err) < 0)
        return berr_wrap(err, "%s/config.json", j->bundle);
    if (rt_state_check_id(o->id, err) < 0)
        return -1;
    _cleanup_free_ char *rootfs = spec->root_path[0] == '/'
                                      ? xstrdup(spec->root_path)
                                      : xasprintf("%s/%s", j->bundle, spec->root_path);
    if (realpath(rootfs, buf) == NULL)
        return berr_sys(err, "root.path: rootfs %s", rootfs);
    struct stat sb;
    if (stat(buf, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return berr_set(err, ENOTDIR, "root.path: rootfs %s is not a directory", buf);
    j->rootfs = xstrdup(buf);
    _cleanup_free_ char *where = xasprintf("%s/config.json", j->bundle);
    if (rt_mounts_validate_bundle(spec, j->bundle, err) < 0)
        return berr_wrap(err, "%s", where);
    j->res = rt_resources_parse(spec->resources, where, err);
    if (j->res == NULL)
        return -1;
    /* As runc: the standard devices stay usable whatever linux.resources.devices says. */
    rt_resources_add_default_devices(j->res, spec->devices, spec->n_devices);
    if (spec->seccomp) {
        /* Compiling Docker's default profile for three architectures costs libseccomp tens of
         * milliseconds, more than the rest of create: compiled filters are kept by profile. */
        _cleanup_close_ int cache = rt_state_cache_dir(o->root);
        j->seccomp = rt_seccomp_compile_cached(spec->seccomp, where, cache, err);
        if (j->seccomp == NULL)
            return -1;
    }
    return 0;
}

static bool has_early_hooks(const struct rt_spec *s)
{
    return s->hooks[RT_HOOK_PRESTART].n || s->hooks[RT_HOOK_CREATE_RUNTIME].n ||
           s->hooks[RT_HOOK_CREATE_CONTAINER].n || s->hooks[RT_HOOK_START_CONTAINER].n;
}

/* Everything between clone and the child's READY. */
static int drive_child(struct create_job *j, const struct rt_create_opts *o, struct berr **err)
{
    const struct rt_spec *spec = j->spec;
    if (rt_cgroup_enter(j->cg, j->pid, err) < 0)
        return -1;
    if (spec->namespaces[RT_NS_USER].present && !spec->namespaces[RT_NS_USER].path) {
        if (write_id_map(j->pid, "uid_map", spec->uid_mappings, spec->n_uid_mappings, err) < 0 ||
            write_id_map(j->pid, "gid_map", spec->gid_mappings, spec->n_gid_mappings, err) < 0)
            return -1;
    }
    j->st->pid = j->pid;
    j->st->pid_start = rt_pid_start_time(j->pid, NULL);
    if (rt_sync_send(j->sync_parent, RT_SYNC_GO, 0, NULL) < 0)
        return berr_sys(err, "start container init");
    if (has_early_hooks(spec)) {
        if (rt_sync_expect(j->sync_parent, RT_SYNC_HOOKS, NULL, err) < 0)
            return -1;
        /* The deprecated prestart hooks have always been given "created" (crun, and the
         * runtime-tools suite, expect it); the newer create* hooks see "creating". */
        _cleanup_free_ char *created = state_text(j->st, RT_STATUS_CREATED);
        _cleanup_free_ char *state = state_text(j->st, RT_STATUS_CREATING);
        if (rt_hooks_run(&spec->hooks[RT_HOOK_PRESTART], "prestart", created, err) < 0 ||
            rt_hooks_run(&spec->hooks[RT_HOOK_CREATE_RUNTIME], "createRuntime", state, err) < 0)
            return -1;
        if (rt_sync_send(j->sync_parent, RT_SYNC_HOOKS_DONE, 0, state) < 0)
            return berr_sys(err, "resume container init");
    }
    return rt_sync_expect(j->sync_parent, RT_SYNC_READY, NULL, err);
}

static int spawn_init(struct create_job *j, const struct rt_create_opts *o, struct berr **err)
{
    const struct rt_spec *spec = j->spec;
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        return berr_sys(err, "socketpair");
    j->sync_parent = sp[0];
    j->sync_child = sp[1];

    unsigned long flags = 0;
    for (int t = 0; t < RT_NS_COUNT; t++) {
        if (!spec->namespaces[t].present || spec->namespaces[t].path)
            continue;
        /* The cgroup namespace is made by the child once it is in its cgroup; a new time
         * namespace applies to children of the process that unshares it. */
        if (t == RT_NS_CGROUP || t == RT_NS_TIME)
            continue;
        flags |= (unsigned long)rt_ns_clone_flag(t);
    }
    j->rctx = (struct rt_rootfs_ctx){
        .spec = spec,
        .bundle = j->bundle,
        .rootfs = j->rootfs,
        .cgroup = j->cg,
        .userns = spec->namespaces[RT_NS_USER].present,
        .cgroupns = spec->namespaces[RT_NS_CGROUP].present,
        .no_pivot = o->no_pivot,
    };
    /* Id-mapped sources must be opened while we still own them, before the new userns. */
    if ((flags & CLONE_NEWUSER) && rt_rootfs_open_idmapped(&j->rctx, err) < 0)
        return -1;

    struct rt_init_ctx ctx = {
        .id = o->id,
        .spec = spec,
        .rootfs_ctx = &j->rctx,
        .process = spec->process,
        .bundle = j->bundle,
        .rootfs = j->rootfs,
        .cgroup = j->cg,
        .seccomp = j->seccomp,
        .sync_fd = j->sync_child,
        .console_fd = j->console_fd,
        .state_dirfd = -1,
        .new_userns = (flags & CLONE_NEWUSER) != 0,
        .new_cgroupns =
            spec->namespaces[RT_NS_CGROUP].present && !spec->namespaces[RT_NS_CGROUP].path,
        .has_prestart_hooks = has_early_hooks(spec),
        .no_pivot = o->no_pivot,
        .no_new_keyring = o->no_new_keyring,
        .preserve_fds = o->preserve_fds,
    };
    memcpy(ctx.ns_fds, j->ns_fds, sizeof(ctx.ns_fds));
    /* The child gets its own description of the state directory: the one we hold is flock'd,
     * and a copy kept open by a waiting init would keep `start` from ever taking the lock. */
    _cleanup_close_ int child_dirfd = -1;
    if (!o->run) {
        child_dirfd = openat(j->st->dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (child_dirfd < 0)
            return berr_sys(err, "open state directory");
        ctx.state_dirfd = child_dirfd;
    }

    /* pid and time namespaces are entered for our children only: join (or make) them for the
     * clone below, and go back to ours right after it. */
    bool new_time = spec->namespaces[RT_NS_TIME].present && !spec->namespaces[RT_NS_TIME].path;
    struct rt_child_ns saved;
    int rc = rt_child_ns_enter(&saved, j->ns_fds[RT_NS_PID], j->ns_fds[RT_NS_TIME], new_time, err);
    closep(&j->ns_fds[RT_NS_PID]);
    closep(&j->ns_fds[RT_NS_TIME]);
    if (rc == 0 && new_time)
        rc = set_time_offsets(spec, err);
    if (rc < 0) {
        rt_child_ns_restore(&saved);
        return -1;
    }

    j->pid = rt_clone(flags);
    if (j->pid != 0)
        rt_child_ns_restore(&saved);
    if (j->pid < 0)
        return berr_sys(err, "clone the container init (namespaces: 0x%lx)", flags);
    if (j->pid == 0) {
        close(j->sync_parent);
        close(j->st->dirfd);
        if (j->pty_parent >= 0)
            close(j->pty_parent);
        rt_init_main(&ctx);
    }
    closep(&j->sync_child);
    closep(&j->console_fd);
    return drive_child(j, o, err);
}

/* After READY in `run`: the child execs next; its sync socket closes on exec (EOF) or it sends
 * an error. */
static int wait_for_exec(int sync_fd, struct berr **err)
{
    enum rt_sync_type type;
    int32_t v;
    _cleanup_free_ char *text = NULL;
    if (rt_sync_recv(sync_fd, &type, &v, &text) < 0)
        return errno == EPIPE ? 0 : berr_sys(err, "wait for container exec");
    if (type == RT_SYNC_ERROR)
        return berr_set(err, v, "%s", text ? text : "container exec failed");
    return 0;
}

static int delete_state(struct rt_state *st, struct berr **err);

int rt_container_create(const struct rt_create_opts *o, int *exit_status, struct berr **err)
{
    struct create_job j = {.console_fd = -1, .sync_parent = -1, .sync_child = -1, .pty_parent = -1};
    for (int t = 0; t < RT_NS_COUNT; t++)
        j.ns_fds[t] = -1;
    bool failed = true;
    sigset_t oldmask;
    bool foreground = o->run && !o->detach;

    if (validate(o, &j, err) < 0)
        goto out;
    if (open_ns_paths(j.spec, j.ns_fds, err) < 0)
        goto out;
    if (o->console_socket) {
        j.console_fd = rt_tty_connect(o->console_socket, err);
        if (j.console_fd < 0)
            goto out;
    } else if (j.spec->process->terminal) {
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
            berr_sys(err, "socketpair");
            goto out;
        }
        j.pty_parent = sp[0];
        j.console_fd = sp[1];
    }
    j.st = rt_state_new(o->root, o->id, err);
    if (j.st == NULL)
        goto out;
    j.st->bundle = xstrdup(j.bundle);
    j.st->rootfs = xstrdup(j.rootfs);
    j.st->created = now_rfc3339();
    j.st->owner = xstrdup("");
    j.st->config = json_incref(j.spec->json);
    j.st->init_pidns = j.spec->namespaces[RT_NS_PID].present;
    /* 0622 despite the umask: an init whose uid is remapped by a user namespace must still
     * be able to open it for writing. */
    if (!o->run && (mkfifoat(j.st->dirfd, "exec.fifo", 0622) < 0 ||
                    fchmodat(j.st->dirfd, "exec.fifo", 0622, 0) < 0)) {
        berr_sys(err, "create exec fifo");
        goto out;
    }
    j.cg = rt_cgroup_create(o->id, j.spec->cgroups_path, j.res, err);
    if (j.cg == NULL)
        goto out;
    j.st->cgroup = rt_cgroup_save(j.cg);
    if (foreground)
        rt_foreground_block_signals(&oldmask);
    if (spawn_init(&j, o, err) < 0)
        goto out;
    if (rt_state_save(j.st, err) < 0)
        goto out;
    if (o->run) {
        if (wait_for_exec(j.sync_parent, err) < 0)
            goto out;
        _cleanup_free_ char *state = state_text(j.st, RT_STATUS_RUNNING);
        if (rt_hooks_run(&j.spec->hooks[RT_HOOK_POSTSTART], "poststart", state, err) < 0)
            goto out;
    }
    if (o->pid_file && write_pid_file(o->pid_file, j.pid, err) < 0)
        goto out;
    failed = false;
    if (foreground) {
        _cleanup_close_ int master = -1;
        if (j.pty_parent >= 0) {
            master = rt_tty_recv_fd(j.pty_parent, err);
            if (master < 0) {
                failed = true;
                goto out;
            }
        }
        int rc = rt_foreground_wait(j.pid, master, exit_status, err);
        j.pid = 0;
        if (rc == 0 && !o->keep)
            rc = delete_state(j.st, err);
        if (rc < 0)
            failed = true;
        sigprocmask(SIG_SETMASK, &oldmask, NULL);
    }
out:
    create_job_release(&j, failed);
    return failed ? -1 : 0;
}

/* Whether the stored config lists hooks of this kind: only then is it parsed again as a spec
 * (seccomp profile and all) to run them. */
static bool has_hooks(json_t *config, const char *kind)
{
    return json_array_size(json_object_get(json_object_get(config, "hooks"), kind)) > 0;
}

int rt_container_start(const char *root, const char *id, struct berr **err)
{
    _cleanup_state_ struct rt_state *st = rt_state_load(root, id, err);
    if (st == NULL)
        return -1;
    enum rt_status status = rt_state_status(st, false);
    if (status != RT_STATUS_CREATED)
        return berr_set(err, EINVAL, "cannot start container \"%s\": it is %s, not created", id,
                        rt_status_name(status));
    /* Opening the read side unblocks init's open for writing; non-blocking so that an init
     * that died meanwhile cannot hang us. Init then writes "0" just before execve (the write
     * end closes on exec), or "E" and the reason if a startContainer hook or the exec fails. */
    _cleanup_close_ int fd = openat(st->dirfd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(err, "open exec fifo of \"%s\"", id);
    char msg[4096];
    size_t len = 0;
    bool writer_seen = false;
    for (;;) {
        ssize_t n = read(fd, msg + len, sizeof(msg) - 1 - len);
        if (n > 0) {
            len += (size_t)n;
            writer_seen = true;
            if (len == sizeof(msg) - 1)
                break;
            continue;
        }
        if (n == 0 && writer_seen)
            break; /* the writer closed: exec happened, or init died */
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return berr_sys(err, "read exec fifo of \"%s\"", id);
        if (n < 0)
            writer_seen = true; /* EAGAIN: a writer is connected, nothing written yet */
        /* A fifo that never had a writer reads as EOF; only init's death ends that wait. */
        if (!writer_seen && !rt_state_pid_alive(st))
            return berr_set(err, ESRCH, "container \"%s\" init exited before it was started", id);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) < 0 && errno != EINTR)
            return berr_sys(err, "wait for container \"%s\" to start", id);
    }
    msg[len] = 0;
    unlinkat(st->dirfd, "exec.fifo", 0);
    if (len == 0 || msg[0] != '0' || len > 1) {
        const char *why = strchr(msg, 'E');
        return berr_set(err, ECANCELED, "start container \"%s\": %s", id,
                        why && why[1] ? why + 1 : "container init exited before exec");
    }
    if (!has_hooks(st->config, "poststart"))
        return 0;
    _cleanup_free_ char *cfg = json_dumps(st->config, JSON_COMPACT);
    _cleanup_spec_ struct rt_spec *spec =
        cfg ? rt_spec_parse(cfg, strlen(cfg), "state", NULL) : NULL;
    if (spec && spec->hooks[RT_HOOK_POSTSTART].n) {
        _cleanup_free_ char *state = state_text(st, RT_STATUS_RUNNING);
        if (rt_hooks_run(&spec->hooks[RT_HOOK_POSTSTART], "poststart", state, err) < 0)
            return -1;
    }
    return 0;
}

static struct rt_cgroup *load_cgroup(struct rt_state *st, struct berr **err)
{
    if (st->cgroup == NULL)
        return berr_set(err, EINVAL, "container \"%s\" has no cgroup recorded", st->id), NULL;
    return rt_cgroup_load(st->cgroup, err);
}

static enum rt_status current_status(struct rt_state *st, struct rt_cgroup *cg)
{
    if (!rt_state_pid_alive(st))
        return RT_STATUS_STOPPED;
    return rt_state_status(st, cg && rt_cgroup_is_frozen(cg));
}

json_t *rt_container_state(const char *root, const char *id, struct berr **err)
{
    _cleanup_state_ struct rt_state *st = rt_state_load(root, id, err);
    if (st == NULL)
        return NULL;
    struct rt_cgroup *cg = st->cgroup ? rt_cgroup_load(st->cgroup, NULL) : NULL;
    enum rt_status s = current_status(st, cg);
    rt_cgroup_free(cg);
    return rt_state_json(st, s);
}

/* pidfd-based signal delivery: the pid cannot be recycled between the check and the kill. */
static int signal_init(struct rt_state *st, int sig, struct berr **err)
{
    int pfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
    if (pfd < 0) {
        if (errno == ESRCH)
            return berr_set(err, ESRCH, "container \"%s\" is not running", st->id);
        if (kill(st->pid, sig) < 0)
            return berr_sys(err, "signal container \"%s\"", st->id);
        return 0;
    }
    _cleanup_close_ int pidfd = pfd;
    if (!rt_state_pid_alive(st))
        return berr_set(err, ESRCH, "container \"%s\" is not running", st->id);
    if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
        return berr_sys(err, "signal container \"%s\"", st->id);
    return 0;
}

int rt_container_kill(const char *root, const char *id, int sig, bool all, struct berr **err)
{
    _cleanup_state_ struct rt_state *st = rt_state_load(root, id, err);
    if (st == NULL)
        return -1;
    struct rt_cgroup *cg = st->cgroup ? rt_cgroup_load(st->cgroup, NULL) : NULL;
    enum rt_status s = current_status(st, cg);
    int rc;
    if (s == RT_STATUS_STOPPED && !all) {
        rc = berr_set(err, ESRCH, "container \"%s\" is not running", id);
    } else if (all && cg) {
        rc = rt_cgroup_kill_all(cg, sig, err);
    } else {
        rc = signal_init(st, sig, err);
    }
    rt_cgroup_free(cg);
    return rc;
}

static void wait_gone(struct rt_state *st)
{
    /* Up to 10 s: a process in uninterruptible sleep may take a moment to die. */
    for (int i = 0; i < 1000 && rt_state_pid_alive(st); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Tear down a stopped (or killed) container: cgroup, poststop hooks, state. */
static int delete_state(struct rt_state *st, struct berr **err)
{
    _cleanup_berr_ struct berr *e = NULL;
    if (st->cgroup) {
        struct rt_cgroup *cg = rt_cgroup_load(st->cgroup, err);
        if (cg == NULL)
            return berr_wrap(err, "delete \"%s\"", st->id);
        int rc = rt_cgroup_destroy(cg, err);
        rt_cgroup_free(cg);
        if (rc < 0)
            return berr_wrap(err, "delete \"%s\"", st->id);
    }
    if (!has_hooks(st->config, "poststop"))
        return rt_state_remove(st, err);
    _cleanup_free_ char *cfg = json_dumps(st->config, JSON_COMPACT);
    _cleanup_spec_ struct rt_spec *spec =
        cfg ? rt_spec_parse(cfg, strlen(cfg), "state", NULL) : NULL;
    if (spec && spec->hooks[RT_HOOK_POSTSTOP].n) {
        _cleanup_free_ char *state = state_text(st, RT_STATUS_STOPPED);
        /* The spec: a failing poststop hook is logged, and deletion goes on. */
        if (rt_hooks_run(&spec->hooks[RT_HOOK_POSTSTOP], "poststop", state, &e) < 0)
            log_warn("%s", e->msg);
    }
    return rt_state_remove(st, err);
}

int rt_container_delete(const char *root, const char *id, bool force, struct berr **err)
{
    _cleanup_state_ struct rt_state *st = rt_state_load(root, id, err);
    if (st == NULL)
        return -1;
    struct rt_cgroup *cg = st->cgroup ? rt_cgroup_load(st->cgroup, NULL) : NULL;
    enum rt_status s = current_status(st, cg);
    if ((s == RT_STATUS_RUNNING || s == RT_STATUS_PAUSED) && !force) {
        rt_cgroup_free(cg);
        return berr_set(err, EBUSY,
                        "cannot delete container \"%s\": it is %s (stop it first, or use "
                        "--force)",
                        id, rt_status_name(s));
    }
    if (s != RT_STATUS_STOPPED) {
        _cleanup_berr_ struct berr *e = NULL;
        if (cg && s == RT_STATUS_PAUSED)
            rt_cgroup_freeze(cg, false, &e);
        if (cg && !st->init_pidns)
            rt_cgroup_kill_all(cg, SIGKILL, &e);
        signal_init(st, SIGKILL, &e);
        wait_gone(st);
    }
    rt_cgroup_free(cg);
    return delete_state(st, err);
}

json_t *rt_container_list(const char *root, struct berr **err)
{
    _cleanup_strv_ char **ids = NULL;
    if (rt_state_list(root, &ids, err) < 0)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; ids[i]; i++) {
        _cleanup_berr_ struct berr *e = NULL;
        json_t *s = rt_container_state(root, ids[i], &e);
        if (s)
            json_array_append_new(arr, s);
    }
    return arr;
}

int rt_container_pause(const char *root, const char *id, bool pause, struct berr **err)
{
    _cleanup_state_ struct rt_state *st = rt_state_load(root, id, err);
    if (st == NULL)
        return -1;
    struct rt_cgroup *cg = load_cgroup(st, err);
    if (cg == NULL)
        return -1;
    enum rt_status s = current_status(st, cg);
    int rc;
    if (pause && s != RT_STATUS_RUNNING && s != RT_STATUS_CREATED)
        rc =
            berr_set(err, EINVAL, "cannot pause container \"%s\": it is %s", id, rt_status_name(s));
    else if (!pause && s != RT_STATUS_PAUSED)
        rc = berr_set(err, EINVAL, "cannot resume container \"%s\": it is %s, not paused", id,
                      rt_status_name(s));
    else
        rc = rt_cgroup_freeze(cg, pause, err);
    rt_cgroup_free(cg);
    return rc;
}

int rt_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, struct berr **err)
{
    _cleanup_state_ struct rt_state *st = rt_state_load(root, id, err);
    if (st == NULL)
        return -1;
    struct rt_cgroup *cg = load_cgroup(st, err);
    if (cg == NULL)
        return -1;
    int rc = rt_cgroup_pids(cg, pids, n, err);
    rt_cgroup_free(cg);
    return rc;
}

int rt_container_update(const char *root, const char *id, const struct rt_resources *res,
                        struct berr **err)
{
    _cleanup_state_ struct rt_state *st = rt_state_load(root, id, err);
    if (st == NULL)
        return -1;
    struct rt_cgroup *cg = load_cgroup(st, err);
    if (cg == NULL)
        return -1;
    int rc = 0;
    if (current_status(st, cg) == RT_STATUS_STOPPED)
        rc = berr_set(err, EINVAL, "cannot update container \"%s\": it is stopped", id);
    else
        rc = rt_cgroup_update(cg, res, err);
    rt_cgroup_free(cg);
    return rc;
}

json_t *rt_container_stats(const char *root, const char *id, struct berr **err)
{
    _cleanup_state_ struct rt_state *st = rt_state_load(root, id, err);
    if (st == NULL)
        return NULL;
    struct rt_cgroup *cg = load_cgroup(st, err);
    if (cg == NULL)
        return NULL;
    if (current_status(st, cg) == RT_STATUS_STOPPED) {
        rt_cgroup_free(cg);
        return berr_set(err, ESRCH, "container \"%s\" is not running", id), NULL;
    }
    json_t *data = rt_cgroup_stats(cg, err);
    rt_cgroup_free(cg);
    if (data == NULL)
        return NULL;
    return json_pack("{s:s,s:s,s:o}", "type", "stats", "id", id, "data", data);
}

int rt_container_status(const char *root, const char *id, const char **status, bool *oom,
                        struct berr **err)
{
    _cleanup_state_ struct rt_state *st = rt_state_load(root, id, err);
    if (st == NULL)
        return -1;
    struct rt_cgroup *cg = st->cgroup ? rt_cgroup_load(st->cgroup, NULL) : NULL;
    *status = rt_status_name(current_status(st, cg));
    *oom = cg && rt_cgroup_oom_killed(cg);
    rt_cgroup_free(cg);
    return 0;
}
