/* The container engine: container records, their lifecycle through per-container monitors and
 * the OCI runtime, restart policies, waits, logs and attach. It knows nothing of HTTP: the API
 * layer translates. Thread-safe: every function may be called from any thread; operations on
 * one container are serialized. Errors carry an errno class the API maps to a status (ENOENT
 * 404, EEXIST/EBUSY 409, EINVAL 400, EALREADY 304). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct img_store;
struct img_snapshotter;
struct vol_store;
struct ev_bus;
struct eng;

struct eng_opts {
    const char *root;      /* data root: containers/ lives here */
    const char *exec_root; /* runtime dir: bundles, monitor sockets */
    const char *runtime;   /* berth-runc */
    const char *monitor;   /* berth-monitor */
    const char *init;      /* berth-init */
    struct img_store *store;
    struct img_snapshotter *snap;
    struct vol_store *volumes;
    struct ev_bus *events;
};

/* Loads every container record, re-adopts running containers whose monitors are alive (live
 * restore), records the exit of those that ended meanwhile, cleans half-made ones, and starts
 * the containers whose restart policy asks for it. */
int eng_open(const struct eng_opts *o, struct eng **out, struct berr **err);
void eng_close(struct eng *e);

/* Counts for /info, from memory. */
void eng_counts(struct eng *e, int *total, int *running, int *paused, int *stopped);

/* POST /containers/create: body is the request (Config fields, HostConfig, NetworkingConfig);
 * name may be NULL. Fills id (65 bytes) and appends warnings (strings) to warnings. */
int eng_create(struct eng *e, const char *name, json_t *body, char *id, json_t *warnings,
               struct berr **err);
/* Resolves a full ID, a unique ID prefix, or a name ("/x" or "x") to the full ID. */
int eng_resolve(struct eng *e, const char *ref, char *id, struct berr **err);

int eng_start(struct eng *e, const char *ref, struct berr **err);
/* signal NULL: the container's StopSignal; timeout < 0: its StopTimeout, else 10 s. */
int eng_stop(struct eng *e, const char *ref, const char *signal, int timeout, struct berr **err);
int eng_restart(struct eng *e, const char *ref, const char *signal, int timeout, struct berr **err);
int eng_kill(struct eng *e, const char *ref, const char *signal, struct berr **err);
int eng_pause(struct eng *e, const char *ref, struct berr **err);
int eng_unpause(struct eng *e, const char *ref, struct berr **err);
int eng_rename(struct eng *e, const char *ref, const char *new_name, struct berr **err);
/* force: stop a running container first; volumes: remove its anonymous volumes. */
int eng_remove(struct eng *e, const char *ref, bool force, bool volumes, struct berr **err);

enum eng_wait_cond { ENG_WAIT_NOT_RUNNING, ENG_WAIT_NEXT_EXIT, ENG_WAIT_REMOVED };
/* A registered wait: made before answering so that no exit is missed, then waited on. */
struct eng_waiter;
int eng_wait_begin(struct eng *e, const char *ref, enum eng_wait_cond cond, struct eng_waiter **out,
                   struct berr **err);
/* Blocks until the condition holds or cancel_fd (may be -1) becomes readable; fills the exit
 * code and the error text (may be NULL). Returns -1 when cancelled. Frees w. */
int eng_wait_end(struct eng_waiter *w, int cancel_fd, int64_t *exit_code, char **error);

/* Docker's inspect JSON (size: add SizeRw and SizeRootFs). */
json_t *eng_inspect(struct eng *e, const char *ref, bool size, struct berr **err);
/* GET /containers/json: filters as an object of string arrays (the API's parsed form). */
json_t *eng_list(struct eng *e, bool all, int limit, bool size, json_t *filters, struct berr **err);
/* POST /containers/prune: {"ContainersDeleted":[...],"SpaceReclaimed":N} */
json_t *eng_prune(struct eng *e, json_t *filters, struct berr **err);

/* Logs: reads the json-file log. */
struct eng_log_opts {
    bool stdout_, stderr_, follow, timestamps;
    int64_t since_ns, until_ns; /* 0: no bound */
    int64_t tail;               /* -1: all */
};
/* Called for each entry; stream 1 stdout, 2 stderr; line includes its newline (if any). A
 * non-zero return stops. */
typedef int (*eng_log_fn)(void *ctx, int stream, const char *time_rfc3339, const char *line,
                          size_t len);
/* Runs until the log is read (and, with follow, until the container stops or cancel_fd is
 * readable). *tty tells the caller whether to frame the output. */
int eng_logs(struct eng *e, const char *ref, const struct eng_log_opts *o, int cancel_fd,
             eng_log_fn fn, void *ctx, struct berr **err);
/* Whether the container has a tty (for the API's framing choice). */
int eng_container_tty(struct eng *e, const char *ref, bool *tty, struct berr **err);

/* Attach: connects to the container's monitor, waiting for a created container to be started.
 * Returns a socket speaking the monitor's frame protocol (8-byte headers: type 0 stdin, 1
 * stdout, 2 stderr, 3 resize, 4 stdin end). cancel_fd: the client's socket; its full hang-up
 * (POLLHUP) ends the wait. */
int eng_attach(struct eng *e, const char *ref, int cancel_fd, struct berr **err);
int eng_resize(struct eng *e, const char *ref, int height, int width, struct berr **err);

/* Exec: create records the request (Docker's ExecConfig: Cmd, Env, User, WorkingDir, Tty,
 * AttachStdin/out/err, Privileged, DetachKeys) for a running container. */
int eng_exec_create(struct eng *e, const char *ref, json_t *body, char *id, struct berr **err);
struct eng_exec_io {
    int in, out, err; /* pipes (no tty; in is -1 without AttachStdin) */
    int pty;          /* the terminal's master (tty) */
    bool tty;
    pid_t pid; /* the runtime's exec process: pass it to eng_exec_finish */
};
/* Starts the process; unless detached, the caller pumps io and then calls eng_exec_finish. */
int eng_exec_start(struct eng *e, const char *exec_id, bool detach, struct eng_exec_io *io,
                   struct berr **err);
/* Waits for the process and records its exit code (returned). */
int eng_exec_finish(struct eng *e, const char *exec_id, pid_t pid);
json_t *eng_exec_inspect(struct eng *e, const char *exec_id, struct berr **err);
int eng_exec_resize(struct eng *e, const char *exec_id, int height, int width, struct berr **err);
