/* `exec`: run another process in a running container. The parent joins the container's pid
 * namespace and cgroup for the child; the child joins the other namespaces, takes the terminal
 * and the process settings, and execs. */
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "runtime/container.h"
#include "runtime/foreground.h"
#include "runtime/internal.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "runtime/tty.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

static json_t *strv_to_json(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void json_array_add_unique(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
        return;
    json_array_append_new(arr, json_string(s));
}

json_t *rt_exec_process_from_flags(const char *root, const char *id, char *const *args,
                                   char *const *env, const char *cwd, const char *user,
                                   char *const *caps, bool tty, bool no_new_privs,
                                   const char *apparmor, const char *label, struct berr **err)
{
    _cleanup_state_ struct rt_state *st = rt_state_load(root, id, err);
    if (st == NULL)
        return NULL;
    json_t *base = json_object_get(st->config, "process");
    _cleanup_json_ json_t *p = json_is_object(base) ? json_deep_copy(base) : json_object();
    json_object_set_new(p, "args", strv_to_json(args));
    json_object_set_new(p, "terminal", json_boolean(tty));
    json_object_del(p, "consoleSize");
    if (env && env[0]) {
        _cleanup_strv_ char **merged = NULL;
        json_t *e;
        size_t i;
        json_array_foreach(json_object_get(p, "env"), i, e) if (json_is_string(e))
            strv_append(&merged, json_string_value(e));
        for (size_t k = 0; env[k]; k++)
            strv_env_set(&merged, env[k]);
        json_object_set_new(p, "env", strv_to_json(merged));
    }
    if (cwd)
        json_object_set_new(p, "cwd", json_string(cwd));
    if (no_new_privs)
        json_object_set_new(p, "noNewPrivileges", json_true());
    if (apparmor)
        json_object_set_new(p, "apparmorProfile", json_string(apparmor));
    if (label)
        json_object_set_new(p, "selinuxLabel", json_string(label));
    if (user) {
        char *end;
        unsigned long uid = strtoul(user, &end, 10);
        if (end == user || (*end && *end != ':'))
            return berr_set(err, EINVAL, "--user \"%s\": expected UID[:GID] (numbers)", user),
                   NULL;
        json_t *u = json_object();
        json_object_set_new(u, "uid", json_integer((json_int_t)uid));
        unsigned long gid = 0;
        if (*end == ':') {
            char *gend;
            gid = strtoul(end + 1, &gend, 10);
            if (gend == end + 1 || *gend)
                return json_decref(u),
                       berr_set(err, EINVAL, "--user \"%s\": expected UID[:GID] (numbers)", user),
                       NULL;
        }
        json_object_set_new(u, "gid", json_integer((json_int_t)gid));
        json_object_set_new(p, "user", u);
    }
    if (caps && caps[0]) {
        json_t *c = json_object_get(p, "capabilities");
        if (!json_is_object(c)) {
            c = json_object();
            json_object_set_new(p, "capabilities", c);
        }
        static const char *const sets[] = {"bounding", "effective", "permitted"};
        for (size_t s = 0; s < ARRAY_SIZE(sets); s++) {
            json_t *a = json_object_get(c, sets[s]);
            if (!json_is_array(a)) {
                a = json_array();
                json_object_set_new(c, sets[s], a);
            }
            for (size_t k = 0; caps[k]; k++)
                json_array_add_unique(a, caps[k]);
        }
        /* Ambient needs the inheritable bit: only add it where the spec already has some. */
        json_t *inh = json_object_get(c, "inheritable");
        if (json_is_array(inh) && json_array_size(inh) > 0) {
            json_t *amb = json_object_get(c, "ambient");
            if (!json_is_array(amb)) {
                amb = json_array();
                json_object_set_new(c, "ambient", amb);
            }
            for (size_t k = 0; caps[k]; k++)
                json_array_add_unique(amb, caps[k]);
        }
    }
    if (!json_is_string(json_object_get(p, "cwd")))
        json_object_set_new(p, "cwd", json_string("/"));
    return steal_ptr(&p);
}

void rt_exec_child_main(struct rt_init_ctx *ctx)
{
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_free_ char *program = NULL;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (rt_sync_expect(ctx->sync_fd, RT_SYNC_GO, NULL, &err) < 0)
        goto fail;
    if (rt_join_namespaces(ctx->ns_fds, &err) < 0)
        goto fail;
    if (ctx->process->terminal) {
        if (ctx->console_fd < 0) {
            berr_set(&err, EINVAL, "process.terminal is set but no console socket given");
            goto fail;
        }
        if (rt_tty_setup(ctx->console_fd, ctx->process, false, &err) < 0)
            goto fail;
        closep(&ctx->console_fd);
    }
    if (rt_process_apply_limits(ctx->process, &err) < 0)
        goto fail;
    program = rt_process_find_program(ctx->process, &err);
    if (program == NULL)
        goto fail;
    /* Disarmed before READY, after which a detached exec's parent may exit at once. */
    prctl(PR_SET_PDEATHSIG, 0);
    if (rt_sync_send(ctx->sync_fd, RT_SYNC_READY, 0, NULL) < 0) {
        berr_sys(&err, "report ready");
        goto fail;
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    rt_process_exec(ctx->process, ctx->seccomp, program, ctx->preserve_fds,
                    rt_setgroups_allowed(), -1, &err);
fail:
    rt_sync_send_error(ctx->sync_fd, err);
    _exit(1);
}

static bool same_ns(int fd, enum rt_ns_type t)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/ns/%s", rt_ns_proc_name(t));
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
           a.st_dev == b.st_dev;
}

struct exec_job {
    struct rt_spec *spec;
    struct rt_process *proc;
    struct rt_seccomp *seccomp;
    struct rt_cgroup *cg;
    int ns_fds[RT_NS_COUNT];
    int console_fd, pty_parent, sync_parent, sync_child;
    pid_t pid;
};

static void exec_job_release(struct exec_job *j, bool failed)
{
    if (failed && j->pid > 0) {
        kill(j->pid, SIGKILL);
        waitpid(j->pid, NULL, 0);
    }
    for (int t = 0; t < RT_NS_COUNT; t++)
        closep(&j->ns_fds[t]);
    closep(&j->console_fd);
    closep(&j->pty_parent);
    closep(&j->sync_parent);
    closep(&j->sync_child);
    rt_cgroup_free(j->cg);
    rt_seccomp_free(j->seccomp);
    rt_process_free(j->proc);
    rt_spec_free(j->spec);
}

static int exec_prepare(const struct rt_exec_opts *o, struct exec_job *j, struct berr **err)
{
    _cleanup_state_ struct rt_state *st = rt_state_load(o->root, o->id, err);
    if (st == NULL)
        return -1;
    _cleanup_free_ char *cfg = json_dumps(st->config, JSON_COMPACT);
    if (cfg == NULL)
        return berr_set(err, EINVAL, "container \"%s\" has no config recorded", o->id);
    j->spec = rt_spec_parse(cfg, strlen(cfg), "container config", err);
    if (j->spec == NULL)
        return -1;
    j->proc = rt_process_parse(o->process, "exec process", err);
    if (j->proc == NULL)
        return -1;
    if (j->proc->terminal && o->console_socket == NULL && o->detach)
        return berr_set(err, EINVAL, "exec --tty with --detach needs --console-socket");
    if (st->cgroup) {
        j->cg = rt_cgroup_load(st->cgroup, err);
        if (j->cg == NULL)
            return -1;
    }
    enum rt_status s = rt_state_status(st, j->cg && rt_cgroup_is_frozen(j->cg));
    /* A process entered into a frozen cgroup would freeze before telling us it is ready;
     * --ignore-paused (start it anyway, frozen) is not supported yet. */
    if (s == RT_STATUS_PAUSED)
        return berr_set(err, EINVAL,
                        "cannot exec in container \"%s\": it is paused; resume it first%s",
                        o->id, o->ignore_paused ? " (--ignore-paused is not supported yet)" : "");
    if (s != RT_STATUS_RUNNING && s != RT_STATUS_CREATED)
        return berr_set(err, EINVAL, "cannot exec in container \"%s\": it is %s", o->id,
                        rt_status_name(s));
    if (j->spec->seccomp) {
        _cleanup_close_ int cache = rt_state_cache_dir(o->root);
        j->seccomp = rt_seccomp_compile_cached(j->spec->seccomp, "container config", cache, err);
        if (j->seccomp == NULL)
            return -1;
    }
    for (int t = 0; t < RT_NS_COUNT; t++) {
        if (!j->spec->namespaces[t].present)
            continue;
        _cleanup_free_ char *path = xasprintf("/proc/%d/ns/%s", st->pid, rt_ns_proc_name(t));
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return berr_sys(err, "open %s namespace of container \"%s\"", rt_ns_name(t), o->id);
        /* setns into the namespace we are already in fails for user namespaces. */
        if (same_ns(fd, t)) {
            close(fd);
            continue;
        }
        j->ns_fds[t] = fd;
    }
    return 0;
}

int rt_container_exec(const struct rt_exec_opts *o, int *exit_status, struct berr **err)
{
    struct exec_job j = {.console_fd = -1, .pty_parent = -1, .sync_parent = -1,
                         .sync_child = -1};
    for (int t = 0; t < RT_NS_COUNT; t++)
        j.ns_fds[t] = -1;
    bool failed = true;
    sigset_t oldmask;
    bool foreground = !o->detach;

    if (exec_prepare(o, &j, err) < 0)
        goto out;
    if (o->console_socket) {
        j.console_fd = rt_tty_connect(o->console_socket, err);
        if (j.console_fd < 0)
            goto out;
    } else if (j.proc->terminal) {
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
            berr_sys(err, "socketpair");
            goto out;
        }
        j.pty_parent = sp[0];
        j.console_fd = sp[1];
    }
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
        berr_sys(err, "socketpair");
        goto out;
    }
    j.sync_parent = sp[0];
    j.sync_child = sp[1];
    struct rt_child_ns saved;
    int rc = rt_child_ns_enter(&saved, j.ns_fds[RT_NS_PID], j.ns_fds[RT_NS_TIME], false, err);
    closep(&j.ns_fds[RT_NS_PID]);
    closep(&j.ns_fds[RT_NS_TIME]);
    if (rc < 0) {
        rt_child_ns_restore(&saved);
        berr_wrap(err, "container \"%s\"", o->id);
        goto out;
    }
    if (foreground)
        rt_foreground_block_signals(&oldmask);

    struct rt_init_ctx ctx = {
        .id = o->id,
        .spec = j.spec,
        .process = j.proc,
        .cgroup = j.cg,
        .seccomp = j.seccomp,
        .sync_fd = j.sync_child,
        .console_fd = j.console_fd,
        .state_dirfd = -1,
        .preserve_fds = o->preserve_fds,
    };
    memcpy(ctx.ns_fds, j.ns_fds, sizeof(ctx.ns_fds));
    j.pid = rt_clone(0);
    if (j.pid != 0)
        rt_child_ns_restore(&saved);
    if (j.pid < 0) {
        berr_sys(err, "fork");
        goto out;
    }
    if (j.pid == 0) {
        close(j.sync_parent);
        if (j.pty_parent >= 0)
            close(j.pty_parent);
        rt_exec_child_main(&ctx);
    }
    closep(&j.sync_child);
    closep(&j.console_fd);
    if (j.cg && rt_cgroup_enter(j.cg, j.pid, err) < 0)
        goto out;
    if (rt_sync_send(j.sync_parent, RT_SYNC_GO, 0, NULL) < 0) {
        berr_sys(err, "start exec process");
        goto out;
    }
    if (rt_sync_expect(j.sync_parent, RT_SYNC_READY, NULL, err) < 0)
        goto out;
    {
        enum rt_sync_type type;
        int32_t v;
        _cleanup_free_ char *text = NULL;
        if (rt_sync_recv(j.sync_parent, &type, &v, &text) == 0 && type == RT_SYNC_ERROR) {
            berr_set(err, v, "%s", text ? text : "exec failed");
            goto out;
        }
    }
    if (o->pid_file) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d", j.pid);
        if (write_file_atomic_at(AT_FDCWD, o->pid_file, buf, (size_t)n, 0644, err) < 0)
            goto out;
    }
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
        if (rt_foreground_wait(j.pid, master, exit_status, err) < 0)
            failed = true;
        j.pid = 0;
        sigprocmask(SIG_SETMASK, &oldmask, NULL);
    }
out:
    exec_job_release(&j, failed);
    return failed ? -1 : 0;
}
