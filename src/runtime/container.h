/* Container lifecycle operations behind the berth-runc commands. Each takes the state root
 * (--root) and reports failures through err; none prints. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "runtime/cgroup.h"

struct rt_create_opts {
    const char *root;
    const char *id;
    const char *bundle;         /* NULL: the current directory */
    const char *pid_file;       /* may be NULL */
    const char *console_socket; /* may be NULL */
    bool no_pivot;
    bool no_new_keyring;
    int preserve_fds;
    bool run;    /* create and start in one step */
    bool detach; /* run: return once started */
    bool keep;   /* run: don't delete after exit */
};

/* create, or run. For a foreground run, *exit_status gets the container's exit status. */
int rt_container_create(const struct rt_create_opts *o, int *exit_status, struct berr **err);
int rt_container_start(const char *root, const char *id, struct berr **err);
/* The state document of the spec. */
json_t *rt_container_state(const char *root, const char *id, struct berr **err);
int rt_container_kill(const char *root, const char *id, int sig, bool all, struct berr **err);
int rt_container_delete(const char *root, const char *id, bool force, struct berr **err);
/* An array of runc-list objects: ociVersion,id,pid,status,bundle,rootfs,created,owner. */
json_t *rt_container_list(const char *root, struct berr **err);
int rt_container_pause(const char *root, const char *id, bool pause, struct berr **err);
int rt_container_pids(const char *root, const char *id, pid_t **pids, size_t *n,
                      struct berr **err);
int rt_container_update(const char *root, const char *id, const struct rt_resources *res,
                        struct berr **err);
/* One `events` record: {"type":"stats","id":...,"data":{...}}. */
json_t *rt_container_stats(const char *root, const char *id, struct berr **err);
/* Status name and OOM flag, for `events`. */
int rt_container_status(const char *root, const char *id, const char **status, bool *oom,
                        struct berr **err);

struct rt_exec_opts {
    const char *root;
    const char *id;
    json_t *process;      /* a process object (from --process or built from flags) */
    const char *pid_file;
    const char *console_socket;
    bool detach;
    bool ignore_paused; /* asked to exec into a paused container: refused for now */
    int preserve_fds;
};
/* Build the process object for `exec` from the container's own process and the flags, as runc
 * does: args replace, env adds, cwd/user/caps/no_new_privs override. */
json_t *rt_exec_process_from_flags(const char *root, const char *id, char *const *args,
                                   char *const *env, const char *cwd, const char *user,
                                   char *const *caps, bool tty, bool no_new_privs,
                                   const char *apparmor, const char *label, struct berr **err);
int rt_container_exec(const struct rt_exec_opts *o, int *exit_status, struct berr **err);
