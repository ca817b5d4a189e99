/* Container state under --root: one directory per container holding state.json (written
 * atomically) and, between create and start, the exec fifo. Commands on one container are
 * serialized by an flock on its directory. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

#define RT_OCI_VERSION "1.2.0"

struct rt_state {
    char *root;   /* --root */
    char *id;
    int dirfd;    /* the container's state directory, flock'd while held */
    pid_t pid;    /* container init */
    unsigned long long pid_start; /* start time of pid (field 22 of /proc/PID/stat) */
    char *bundle;
    char *rootfs;
    char *created; /* RFC 3339 */
    char *owner;
    json_t *config;   /* the config.json document as it was at create */
    json_t *cgroup;   /* rt_cgroup_save() form */
    bool init_pidns;  /* the container has its own pid namespace */
};

/* Check an id the way runc does: letters, digits, and _ + - . ; not "." or "..". */
int rt_state_check_id(const char *id, struct berr **err);
/* Make the state directory of a new container; fails with EEXIST if the id is taken. Returns
 * the locked state (not yet saved). */
struct rt_state *rt_state_new(const char *root, const char *id, struct berr **err);
/* Open and lock an existing container's state. */
struct rt_state *rt_state_load(const char *root, const char *id, struct berr **err);
int rt_state_save(struct rt_state *st, struct berr **err);
/* Remove the state directory (the state object stays valid for reporting). */
int rt_state_remove(struct rt_state *st, struct berr **err);
void rt_state_free(struct rt_state *st);
void rt_state_freep(struct rt_state **st);

enum rt_status { RT_STATUS_CREATING, RT_STATUS_CREATED, RT_STATUS_RUNNING, RT_STATUS_PAUSED,
                 RT_STATUS_STOPPED };
const char *rt_status_name(enum rt_status s);
/* Current status from the init process and the exec fifo (paused needs the cgroup: the caller
 * passes whether it is frozen). */
enum rt_status rt_state_status(const struct rt_state *st, bool frozen);
/* Whether st->pid is still our container init (alive, not a zombie, same start time). */
bool rt_state_pid_alive(const struct rt_state *st);
/* Start time of a pid, 0 if gone. */
unsigned long long rt_pid_start_time(pid_t pid, char *state_char);

/* The state document the spec defines (and hooks read on stdin). */
json_t *rt_state_json(const struct rt_state *st, enum rt_status status);
/* A private directory under root for the runtime's caches (.cache, 0700, ours alone), as an
 * O_DIRECTORY fd made on first use; -1 when it cannot be had (callers then work uncached).
 * Its leading dot keeps it out of rt_state_list. */
int rt_state_cache_dir(const char *root);
/* Ids of all containers under root (sorted). */
int rt_state_list(const char *root, char ***ids, struct berr **err);

#define _cleanup_state_ __attribute__((cleanup(rt_state_freep)))
