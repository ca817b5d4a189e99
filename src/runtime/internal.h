/* What the parent side of create/run/exec hands to the child that becomes the container's
 * process. Private to container.c, exec.c, init.c and process.c. */
#pragma once

#include <stdbool.h>

#include "runtime/cgroup.h"
#include "runtime/rootfs.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"

struct rt_init_ctx {
    const char *id;
    const struct rt_spec *spec;       /* the container's config */
    const struct rt_process *process; /* what to run (spec->process, or exec's) */
    const char *bundle;               /* absolute */
    const char *rootfs;               /* absolute */
    struct rt_cgroup *cgroup;
    struct rt_seccomp *seccomp;
    struct rt_rootfs_ctx *rootfs_ctx; /* made by the parent (id-mapped trees are opened there) */
    int sync_fd;          /* child end of the handshake socket */
    int console_fd;       /* connected console socket, or -1 */
    int state_dirfd;      /* state dir (holds exec.fifo) when created by `create`, else -1 */
    int ns_fds[RT_NS_COUNT]; /* namespaces to join (setns in the child), -1 otherwise */
    bool new_userns;      /* the clone made a new user namespace */
    bool new_cgroupns;    /* unshare a cgroup namespace once in the cgroup */
    bool has_prestart_hooks; /* prestart/createRuntime/createContainer/startContainer exist */
    bool no_pivot;
    bool no_new_keyring;
    int preserve_fds;
};

/* Child side of create/run: never returns. */
void __attribute__((noreturn)) rt_init_main(struct rt_init_ctx *ctx);
/* Child side of exec: never returns. */
void __attribute__((noreturn)) rt_exec_child_main(struct rt_init_ctx *ctx);

/* Shared by both (process.c). */
/* Find args[0] in the PATH of the process's env (as execvp would, but against the
 * container's own view). Returns a malloc'd path. */
char *rt_process_find_program(const struct rt_process *p, struct berr **err);
/* rlimits, scheduler, io priority, oom_score_adj: things to set while still privileged. */
int rt_process_apply_limits(const struct rt_process *p, struct berr **err);
/* The last steps: no_new_privs, seccomp, user and capabilities, cwd, umask, fd hygiene, exec.
 * notify_fd (or -1) gets one byte "0" just before execve. */
int rt_process_exec(const struct rt_process *p, struct rt_seccomp *sc, const char *program,
                    int preserve_fds, bool setgroups_allowed, int notify_fd, struct berr **err);
/* Join the namespaces whose fds are open in ctx->ns_fds (user first). */
int rt_join_namespaces(int ns_fds[RT_NS_COUNT], struct berr **err);
/* Whether setgroups(2) is allowed in our user namespace (a joined one may deny it). */
bool rt_setgroups_allowed(void);
/* pid and time namespaces apply to a process's children: the parent enters the container's
 * for one clone(). These save the parent's own and put them back afterwards, so that nothing
 * the parent forks later (or a sanitizer's helper thread) lands in the container. */
struct rt_child_ns {
    int pid_fd;
    int time_fd;
};
int rt_child_ns_enter(struct rt_child_ns *saved, int pid_fd, int time_fd, bool new_time,
                      struct berr **err);
void rt_child_ns_restore(struct rt_child_ns *saved);
/* Clone like fork(), with namespace flags. */
pid_t rt_clone(unsigned long flags);
