/* Shared between the engine's files; nothing outside src/engine includes this. */
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include "engine/engine.h"

struct ctr {
    /* The table's reference plus one per user; freed at zero. */
    int refs;
    /* Serializes operations (start, stop, remove...) on this container. */
    pthread_mutex_t op;
    char id[65];
    /* The record: Docker's inspect shape plus our own "Berth" object (chain ID, image
     * reference). Guarded by the engine's lock (e->mu); written to disk under op. */
    json_t *rec;
    /* Live state, guarded by e->mu. */
    pid_t monitor_pid;
    int monitor_pidfd;
    bool monitor_ready; /* created by the runtime, attach socket up, not started yet */
    int attach_pending; /* attachers that must connect before the process starts */
    uint64_t exit_seq;  /* bumped at every exit, for next-exit waits */
    bool removed;
    bool stop_requested; /* an exit the restart policy must not act on */
    bool restarting;
    struct eng_health *health; /* health.c: the checker while armed; guarded by e->mu */
};

struct eng {
    pthread_mutex_t mu;
    pthread_cond_t changed; /* broadcast at every state change */
    char *root, *ctr_dir, *exec_root, *runtime, *runtime_root, *monitor, *init;
    pthread_mutex_t rt_mu;
    struct eng_rt_copy *rt; /* runtime.c: the sealed copy of the runtime; guarded by rt_mu */
    struct img_store *store;
    struct img_snapshotter *snap;
    struct vol_store *volumes;
    struct ev_bus *events;
    struct ctr **ctrs;
    struct eng_exec *execs; /* guarded by mu */
    size_t n, cap;
    int epfd;    /* monitors' pidfds */
    int wake_fd; /* eventfd: stops the watcher */
    pthread_t watcher;
    bool closing;
};

/* A removed container's directory while it is emptied: <ctr_dir>/<prefix><id>. */
#define ENG_TRASH_PREFIX ".removing-"

/* engine.c */
struct ctr *eng_get(struct eng *e, const char *ref, struct berr **err); /* takes a ref */
void ctr_unref(struct eng *e, struct ctr *c);
int ctr_save(struct eng *e, struct ctr *c, struct berr **err); /* under c->op */
void eng_add(struct eng *e, struct ctr *c);
void eng_drop(struct eng *e, struct ctr *c);
const char *ctr_name(struct ctr *c); /* "/name"; under e->mu */
char *ctr_path(struct eng *e, struct ctr *c, const char *file);
char *ctr_run_path(struct eng *e, struct ctr *c, const char *file);
json_t *ctr_state(struct ctr *c); /* borrowed "State" object */
const char *ctr_status(struct ctr *c);
void ctr_set_status(struct ctr *c, const char *status);
void eng_event(struct eng *e, struct ctr *c, const char *action, json_t *extra_attrs);

/* runtime.c: what to execute for the runtime: the path of the daemon's sealed copy of it
 * (held in *held until eng_runtime_release), or the runtime's own path when no copy can be
 * made. A runtime run from a sealed copy skips making its own (CVE-2019-5736). */
const char *eng_runtime_acquire(struct eng *e, struct eng_rt_copy **held);
void eng_runtime_release(struct eng *e, struct eng_rt_copy *held);
void eng_runtime_copy_free(struct eng *e);
/* Running berth-runc; returns its exit status or -1 with err holding its message. */
int eng_runtime(struct eng *e, struct berr **err, const char *arg0, ...);
/* `delete --force` of whatever the runtime still holds of container id (nothing to do, and no
 * process spawned, when it holds nothing). */
void eng_runtime_forget(struct eng *e, const char *id);
int eng_watch_monitor(struct eng *e, struct ctr *c, struct berr **err);
void *eng_watcher_main(void *arg);
/* Records an ended run (from the monitor's exit.json) and applies the restart policy. Called
 * with nothing locked; the _locked form with c->op held (startup's reconcile). */
void eng_handle_exit(struct eng *e, struct ctr *c);
void eng_handle_exit_locked(struct eng *e, struct ctr *c);

/* start.c */
int eng_start_locked(struct eng *e, struct ctr *c, struct berr **err); /* under c->op */
int eng_mount_rootfs(struct eng *e, struct ctr *c, struct berr **err);
void eng_unmount_rootfs(struct eng *e, struct ctr *c);

/* exec.c */
void eng_exec_forget(struct eng *e, const char *ctr_id); /* under e->mu */
/* Frees one finished exec session (health probes, which nobody inspects); takes e->mu. */
void eng_exec_release(struct eng *e, const char *exec_id);

/* lifecycle.c */
int eng_stop_locked(struct eng *e, struct ctr *c, const char *sig, int timeout, struct berr **err);
int eng_remove_locked(struct eng *e, struct ctr *c, bool volumes, struct berr **err);
int eng_signal_number(const char *name);
