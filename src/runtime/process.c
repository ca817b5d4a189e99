/* The container process's last steps, shared by init and exec: limits, program lookup, then
 * no_new_privs, seccomp, identity and capabilities, cwd, fd hygiene and execve. */
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "runtime/caps.h"
#include "runtime/internal.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

pid_t rt_clone(unsigned long flags)
{
    /* The raw syscall with no new stack behaves like fork(); glibc's clone() would want one. */
    return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
}

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int rt_child_ns_enter(struct rt_child_ns *saved, int pid_fd, int time_fd, bool new_time,
                      struct berr **err)
{
    saved->pid_fd = saved->time_fd = -1;
    if (pid_fd >= 0) {
        saved->pid_fd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (saved->pid_fd < 0)
            return berr_sys(err, "open our pid namespace");
        if (setns(pid_fd, CLONE_NEWPID) < 0)
            return berr_sys(err, "join the container's pid namespace");
    }
    if (time_fd >= 0 || new_time) {
        saved->time_fd = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
        if (saved->time_fd < 0)
            return berr_sys(err, "open our time namespace");
        if (time_fd >= 0 && setns(time_fd, CLONE_NEWTIME) < 0)
            return berr_sys(err, "join the container's time namespace");
        if (new_time && unshare(CLONE_NEWTIME) < 0)
            return berr_sys(err, "create a time namespace");
    }
    return 0;
}

void rt_child_ns_restore(struct rt_child_ns *saved)
{
    if (saved->pid_fd >= 0) {
        (void)setns(saved->pid_fd, CLONE_NEWPID);
        closep(&saved->pid_fd);
    }
    if (saved->time_fd >= 0) {
        (void)setns(saved->time_fd, CLONE_NEWTIME);
        closep(&saved->time_fd);
    }
}

bool rt_setgroups_allowed(void)
{
    char buf[16] = {0};
    _cleanup_close_ int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
        return true;
    return strncmp(buf, "deny", 4) != 0;
}

static bool is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *rt_process_find_program(const struct rt_process *p, struct berr **err)
{
    const char *prog = p->args[0];
    if (strchr(prog, '/')) {
        struct stat st;
        if (stat(prog, &st) < 0)
            return berr_sys(err, "exec: %s", prog), NULL;
        if (S_ISDIR(st.st_mode))
            return berr_set(err, EACCES, "exec: %s is a directory", prog), NULL;
        return xstrdup(prog);
    }
    const char *path = DEFAULT_PATH;
    for (char **e = p->env; e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            path = *e + 5;
    _cleanup_free_ char *copy = xstrdup(path);
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        _cleanup_free_ char *cand = xasprintf("%s/%s", *dir ? dir : ".", prog);
        if (is_executable_file(cand))
            return steal_ptr(&cand);
    }
    return berr_set(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", prog),
           NULL;
}

int rt_process_apply_limits(const struct rt_process *p, struct berr **err)
{
    for (size_t i = 0; i < p->n_rlimits; i++) {
        struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
        if (setrlimit(p->rlimits[i].resource, &rl) < 0)
            return berr_sys(err, "setrlimit %d (soft %llu, hard %llu)", p->rlimits[i].resource,
                            (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    }
    if (p->has_oom_score_adj) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
        _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write_all(fd, buf, (size_t)n) < 0)
            return berr_sys(err, "set oom_score_adj to %d", p->oom_score_adj);
    }
    if (p->has_io_priority) {
        int v = IOPRIO_PRIO_VALUE(p->io_priority_class, p->io_priority);
        if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, v) < 0)
            return berr_sys(err, "set io priority");
    }
    if (p->has_scheduler) {
        struct {
            uint32_t size;
            uint32_t policy;
            uint64_t flags;
            int32_t nice;
            uint32_t priority;
            uint64_t runtime, deadline, period;
        } attr = {
            .size = 48,
            .policy = (uint32_t)p->sched_policy,
            .flags = p->sched_flags,
            .nice = p->sched_nice,
            .priority = (uint32_t)p->sched_priority,
            .runtime = p->sched_runtime,
            .deadline = p->sched_deadline,
            .period = p->sched_period,
        };
        if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
            return berr_sys(err, "set scheduler policy %d", p->sched_policy);
    }
    return 0;
}

int rt_process_exec(const struct rt_process *p, struct rt_seccomp *sc, const char *program,
                    int preserve_fds, bool setgroups_allowed, int notify_fd, struct berr **err)
{
    /* CVE-2024-21626: a cwd like /proc/self/fd/N reaches through an fd still open from the
     * host side into a host directory. The kernel marks such a cwd unreachable from our root:
     * refuse it. Checked here, before seccomp (a profile may deny getcwd); the chdir below is
     * repeated as the process's own user for its permission check. */
    if (chdir(p->cwd) < 0)
        return berr_sys(err, "chdir to cwd (\"%s\") set in config.json", p->cwd);
    char cwdbuf[PATH_MAX];
    if (getcwd(cwdbuf, sizeof(cwdbuf)) == NULL || cwdbuf[0] != '/')
        return berr_set(err, EPERM,
                        "cwd \"%s\" resolves outside the container's root filesystem", p->cwd);
    if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return berr_sys(err, "set no_new_privs");
    /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the process may be
     * about to lose; with it, load as late as possible so the filter cannot break our setup. */
    if (sc && !p->no_new_privileges && rt_seccomp_load(sc, err) < 0)
        return -1;
    if (rt_caps_apply_identity(p, setgroups_allowed, err) < 0)
        return -1;
    /* chdir after switching user, so a cwd the user may not enter is an error as with runc. */
    if (chdir(p->cwd) < 0)
        return berr_sys(err, "chdir to cwd (\"%s\") set in config.json", p->cwd);

    if (p->has_umask)
        umask(p->umask);
    else
        umask(0022);
    /* Nothing of the runtime's may reach the container: every fd past stdio and the ones the
     * caller asked to keep is closed on exec (CVE-2024-21626 leaked a host directory fd). */
    if (cloexec_from(3 + preserve_fds) < 0)
        return berr_sys(err, "mark inherited fds close-on-exec");
    if (sc && p->no_new_privileges && rt_seccomp_load(sc, err) < 0)
        return -1;
    /* Tell whoever waits (start) that only execve is left; the fd closes on exec. */
    if (notify_fd >= 0 && write_all(notify_fd, "0", 1) < 0)
        return berr_sys(err, "report exec");
    execve(program, p->args, p->env);
    return berr_sys(err, "exec %s", program);
}

int rt_join_namespaces(int ns_fds[RT_NS_COUNT], struct berr **err)
{
    /* The user namespace first: joining it grants the capabilities needed for the rest. */
    static const enum rt_ns_type order[] = {RT_NS_USER, RT_NS_IPC, RT_NS_UTS, RT_NS_NET,
                                            RT_NS_CGROUP, RT_NS_MNT};
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        enum rt_ns_type t = order[i];
        if (ns_fds[t] < 0)
            continue;
        if (setns(ns_fds[t], rt_ns_clone_flag(t)) < 0)
            return berr_sys(err, "join %s namespace", rt_ns_name(t));
        closep(&ns_fds[t]);
    }
    return 0;
}
