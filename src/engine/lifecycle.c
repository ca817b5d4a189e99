/* What happens to a container after it starts: exits recorded from the monitor's report,
 * restart policies with backoff, stop (signal, grace period, SIGKILL), kill, pause, rename,
 * waits, and removal that undoes every piece. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "engine/engine_internal.h"
#include "engine/health.h"
#include "image/gc.h"
#include "volume/volume.h"

int eng_signal_number(const char *name)
{
    if (name == NULL || *name == '\0')
        return -1;
    char *end = NULL;
    long v = strtol(name, &end, 10);
    if (*end == '\0' && end != name)
        return v > 0 && v < 65 ? (int)v : -1;
    const char *n = name;
    if (strncasecmp(n, "SIG", 3) == 0)
        n += 3;
    char up[32];
    size_t i = 0;
    for (; n[i] != '\0' && i < sizeof(up) - 1; i++)
        up[i] = (char)(n[i] >= 'a' && n[i] <= 'z' ? n[i] - 32 : n[i]);
    up[i] = '\0';
    for (int sig = 1; sig < NSIG; sig++) {
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev != NULL && strcmp(abbrev, up) == 0)
            return sig;
    }
    if (strncmp(up, "RTMIN+", 6) == 0 || strncmp(up, "RTMAX-", 6) == 0) {
        long off = strtol(up + 6, &end, 10);
        int sig = up[3] == 'I' ? SIGRTMIN + (int)off : SIGRTMAX - (int)off;
        if (*end == '\0' && off >= 0 && sig >= SIGRTMIN && sig <= SIGRTMAX)
            return sig;
    }
    return -1;
}

/* ---- exits ---- */

static int64_t ms_since(const char *rfc3339)
{
    int64_t t = 0;
    if (rfc3339 == NULL || time_parse_timestamp(rfc3339, &t) < 0 || t <= 0)
        return 0;
    return (time_now_ns() - t) / 1000000;
}

struct restart_job {
    struct eng *e;
    struct ctr *c;
    int64_t delay_ms;
};

static void *restart_main(void *arg)
{
    struct restart_job *j = arg;
    struct eng *e = j->e;
    struct ctr *c = j->c;
    struct timespec deadline;
    time_deadline_ms(&deadline, j->delay_ms);
    pthread_mutex_lock(&e->mu);
    while (!e->closing && !c->removed && c->restarting) {
        if (pthread_cond_timedwait(&e->changed, &e->mu, &deadline) == ETIMEDOUT)
            break;
    }
    bool go = !e->closing && !c->removed && c->restarting;
    pthread_mutex_unlock(&e->mu);
    if (go) {
        pthread_mutex_lock(&c->op);
        pthread_mutex_lock(&e->mu);
        go = c->restarting && !c->removed;
        c->restarting = false;
        pthread_mutex_unlock(&e->mu);
        if (go) {
            _cleanup_berr_ struct berr *err = NULL;
            if (eng_start_locked(e, c, &err) < 0) {
                log_warn("container %s: restart failed: %s", c->id, err->msg);
                pthread_mutex_lock(&e->mu);
                ctr_set_status(c, "exited");
                pthread_cond_broadcast(&e->changed);
                pthread_mutex_unlock(&e->mu);
                ctr_save(e, c, NULL);
            }
        }
        pthread_mutex_unlock(&c->op);
    }
    ctr_unref(e, c);
    free(j);
    return NULL;
}

static void schedule_restart(struct eng *e, struct ctr *c, int64_t delay_ms)
{
    struct restart_job *j = xcalloc(1, sizeof(*j));
    j->e = e;
    j->c = c;
    j->delay_ms = delay_ms;
    pthread_mutex_lock(&e->mu);
    c->refs++;
    pthread_mutex_unlock(&e->mu);
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, restart_main, j) != 0) {
        ctr_unref(e, c);
        free(j);
    }
    pthread_attr_destroy(&attr);
}

/* Should a run that ended with code (not asked to stop) be restarted? Under e->mu. */
static bool policy_restarts(struct ctr *c, int64_t code)
{
    json_t *rp = json_object_get(json_object_get(c->rec, "HostConfig"), "RestartPolicy");
    const char *name = json_string_value(json_object_get(rp, "Name"));
    if (name == NULL)
        return false;
    if (strcmp(name, "always") == 0 || strcmp(name, "unless-stopped") == 0)
        return true;
    if (strcmp(name, "on-failure") == 0 && code != 0) {
        json_int_t max = json_integer_value(json_object_get(rp, "MaximumRetryCount"));
        json_int_t count = json_integer_value(json_object_get(c->rec, "RestartCount"));
        return max == 0 || count < max;
    }
    return false;
}

void eng_handle_exit(struct eng *e, struct ctr *c)
{
    pthread_mutex_lock(&c->op);
    eng_handle_exit_locked(e, c);
    pthread_mutex_unlock(&c->op);
}

void eng_handle_exit_locked(struct eng *e, struct ctr *c)
{
    eng_health_stop(e, c); /* health: no probes once the process is gone */
    pthread_mutex_lock(&e->mu);
    const char *st = ctr_status(c);
    bool was_running =
        strcmp(st, "running") == 0 || strcmp(st, "paused") == 0 || strcmp(st, "restarting") == 0;
    bool stop_requested = c->stop_requested;
    c->monitor_pid = 0;
    c->monitor_ready = false;
    pthread_mutex_unlock(&e->mu);
    if (!was_running)
        return; /* a start that failed after the monitor came up: start recorded what it needs */
    _cleanup_free_ char *exit_path = ctr_run_path(e, c, "exit.json");
    _cleanup_json_ json_t *ex = json_load_file(exit_path, 0, NULL);
    int64_t code = 255;
    bool oom = false;
    char finished[64];
    time_format_rfc3339(time_now_ns(), finished, sizeof(finished));
    if (ex != NULL) {
        code = json_integer_value(json_object_get(ex, "exit_code"));
        oom = json_is_true(json_object_get(ex, "oom_killed"));
        const char *f = json_string_value(json_object_get(ex, "finished_at"));
        if (f != NULL)
            snprintf(finished, sizeof(finished), "%s", f);
    } else {
        /* no report: the monitor was killed, or the machine rebooted; the runtime may still
         * hold the container */
        eng_runtime_forget(e, c->id);
    }
    eng_unmount_rootfs(e, c);

    pthread_mutex_lock(&e->mu);
    _cleanup_json_ json_t *mounts = json_incref(json_object_get(c->rec, "Mounts"));
    pthread_mutex_unlock(&e->mu);
    if (json_array_size(mounts) > 0)
        vol_publish_mount_events(e->volumes, c->id, mounts, false);

    pthread_mutex_lock(&e->mu);
    json_t *state = ctr_state(c);
    int64_t ran_ms = ms_since(json_string_value(json_object_get(state, "StartedAt")));
    ctr_set_status(c, "exited");
    json_object_set_new(state, "Pid", json_integer(0));
    json_object_set_new(state, "ExitCode", json_integer(code));
    json_object_set_new(state, "OOMKilled", json_boolean(oom));
    json_object_set_new(state, "FinishedAt", json_string(finished));
    json_object_set_new(json_object_get(c->rec, "Berth"), "MonitorPid", json_integer(0));
    c->exit_seq++;
    bool restart = !stop_requested && policy_restarts(c, code) && !e->closing;
    bool auto_remove =
        !restart &&
        json_is_true(json_object_get(json_object_get(c->rec, "HostConfig"), "AutoRemove"));
    int64_t delay = 0;
    if (restart) {
        /* Docker's backoff: 100 ms doubling while runs are short, reset after a 10 s run */
        json_t *b = json_object_get(c->rec, "Berth");
        int64_t prev = json_integer_value(json_object_get(b, "RestartDelayMs"));
        delay = ran_ms >= 10000 || prev == 0 ? 100 : prev * 2;
        if (delay > 60000)
            delay = 60000;
        json_object_set_new(b, "RestartDelayMs", json_integer(delay));
        json_object_set_new(
            c->rec, "RestartCount",
            json_integer(json_integer_value(json_object_get(c->rec, "RestartCount")) + 1));
        ctr_set_status(c, "restarting");
        c->restarting = true;
    }
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->mu);
    /* a container removed now has its record rewritten at once ("removing") */
    if (!auto_remove)
        ctr_save(e, c, NULL);
    if (oom)
        eng_event(e, c, "oom", NULL);
    char codebuf[24];
    snprintf(codebuf, sizeof(codebuf), "%lld", (long long)code);
    eng_event(e, c, "die", json_pack("{s:s}", "exitCode", codebuf));
    if (restart)
        schedule_restart(e, c, delay);
    if (auto_remove) {
        _cleanup_berr_ struct berr *err = NULL;
        if (eng_remove_locked(e, c, true, &err) < 0)
            log_warn("container %s: --rm: %s", c->id, err->msg);
    }
}

/* ---- stop, kill, pause ---- */

static bool wait_exit(struct eng *e, struct ctr *c, uint64_t seq, int timeout_ms)
{
    struct timespec deadline;
    time_deadline_ms(&deadline, timeout_ms);
    pthread_mutex_lock(&e->mu);
    while (c->exit_seq == seq && c->monitor_pid != 0) {
        if (timeout_ms >= 0 && pthread_cond_timedwait(&e->changed, &e->mu, &deadline) == ETIMEDOUT)
            break;
        if (timeout_ms < 0)
            pthread_cond_wait(&e->changed, &e->mu);
    }
    bool exited = c->exit_seq != seq || c->monitor_pid == 0;
    pthread_mutex_unlock(&e->mu);
    return exited;
}

/* Stops a running container. The exit itself is recorded by the exit path, which needs the
 * op lock: so it is released while waiting. */
int eng_stop_locked(struct eng *e, struct ctr *c, const char *sig, int timeout, struct berr **err)
{
    pthread_mutex_lock(&e->mu);
    const char *st = ctr_status(c);
    if (strcmp(st, "restarting") == 0) {
        /* a pending restart is cancelled: that is the stop */
        c->restarting = false;
        c->stop_requested = true;
        ctr_set_status(c, "exited");
        pthread_cond_broadcast(&e->changed);
        pthread_mutex_unlock(&e->mu);
        ctr_save(e, c, NULL);
        return 0;
    }
    if (strcmp(st, "running") != 0 && strcmp(st, "paused") != 0) {
        pthread_mutex_unlock(&e->mu);
        return berr_code(err, EALREADY, "container %s is not running", c->id);
    }
    c->stop_requested = true;
    uint64_t seq = c->exit_seq;
    json_t *cfg = json_object_get(c->rec, "Config");
    _cleanup_free_ char *stop_sig = xstrdup(
        sig != NULL && *sig != '\0' ? sig
                                    : json_string_value(json_object_get(cfg, "StopSignal")) ?: "SIGTERM");
    if (timeout < 0) {
        json_t *t = json_object_get(cfg, "StopTimeout");
        timeout = json_is_integer(t) ? (int)json_integer_value(t) : 10;
    }
    bool paused = strcmp(st, "paused") == 0;
    pthread_mutex_unlock(&e->mu);
    if (eng_signal_number(stop_sig) < 0)
        return berr_code(err, EINVAL, "invalid signal: %s", stop_sig);
    eng_health_stop(e, c); /* health: a stopping container is not probed, as with Docker */
    char signum[16];
    snprintf(signum, sizeof(signum), "%d", eng_signal_number(stop_sig));

    pthread_mutex_unlock(&c->op);
    _cleanup_berr_ struct berr *kerr = NULL;
    if (eng_runtime(e, &kerr, "kill", c->id, signum, NULL) < 0)
        log_debug("container %s: stop signal: %s", c->id, kerr->msg);
    if (paused) {
        /* a frozen process cannot act on its signal */
        eng_runtime(e, NULL, "resume", c->id, NULL);
    }
    bool done = timeout != 0 && wait_exit(e, c, seq, timeout < 0 ? -1 : timeout * 1000);
    if (!done) {
        eng_runtime(e, NULL, "kill", "--all", c->id, "9", NULL);
        if (!wait_exit(e, c, seq, 30000)) {
            pthread_mutex_lock(&c->op);
            return berr_code(err, ETIMEDOUT, "container %s did not exit after SIGKILL", c->id);
        }
    }
    pthread_mutex_lock(&c->op);
    return 0;
}

int eng_stop(struct eng *e, const char *ref, const char *sig, int timeout, struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    pthread_mutex_lock(&c->op);
    int rc = eng_stop_locked(e, c, sig, timeout, err);
    pthread_mutex_unlock(&c->op);
    if (rc == 0)
        eng_event(e, c, "stop", NULL);
    ctr_unref(e, c);
    return rc;
}

int eng_start(struct eng *e, const char *ref, struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    pthread_mutex_lock(&c->op);
    int rc = eng_start_locked(e, c, err);
    pthread_mutex_unlock(&c->op);
    ctr_unref(e, c);
    return rc;
}

int eng_restart(struct eng *e, const char *ref, const char *sig, int timeout, struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    pthread_mutex_lock(&c->op);
    _cleanup_berr_ struct berr *serr = NULL;
    int rc = eng_stop_locked(e, c, sig, timeout, &serr);
    if (rc < 0 && serr->errnum != EALREADY) {
        berr_set(err, serr->errnum, "%s", serr->msg);
    } else {
        if (rc == 0)
            eng_event(e, c, "stop", NULL);
        rc = eng_start_locked(e, c, err);
        if (rc == 0)
            eng_event(e, c, "restart", NULL);
    }
    pthread_mutex_unlock(&c->op);
    ctr_unref(e, c);
    return rc;
}

int eng_kill(struct eng *e, const char *ref, const char *sig, struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    int rc = -1;
    int num = eng_signal_number(sig != NULL && *sig != '\0' ? sig : "SIGKILL");
    pthread_mutex_lock(&c->op);
    pthread_mutex_lock(&e->mu);
    bool running = strcmp(ctr_status(c), "running") == 0 || strcmp(ctr_status(c), "paused") == 0;
    if (running && (num == SIGKILL || num == SIGTERM || num == SIGINT))
        c->stop_requested = false; /* Docker: a killed container still restarts by policy */
    pthread_mutex_unlock(&e->mu);
    if (num < 0) {
        berr_code(err, EINVAL, "Invalid signal: %s", sig);
    } else if (!running) {
        berr_code(err, EBUSY, "cannot kill container: %s: container %s is not running", ref, c->id);
    } else {
        char signum[16];
        snprintf(signum, sizeof(signum), "%d", num);
        rc = eng_runtime(e, err, "kill", c->id, signum, NULL);
        if (rc == 0) {
            char sn[16];
            snprintf(sn, sizeof(sn), "%d", num);
            eng_event(e, c, "kill", json_pack("{s:s}", "signal", sn));
        }
    }
    pthread_mutex_unlock(&c->op);
    ctr_unref(e, c);
    return rc;
}

static int pause_resume(struct eng *e, const char *ref, bool pause, struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    int rc = -1;
    pthread_mutex_lock(&c->op);
    pthread_mutex_lock(&e->mu);
    const char *st = ctr_status(c);
    bool ok = pause ? strcmp(st, "running") == 0 : strcmp(st, "paused") == 0;
    pthread_mutex_unlock(&e->mu);
    if (!ok) {
        if (pause && strcmp(st, "paused") == 0)
            berr_code(err, EBUSY, "container %s is already paused", c->id);
        else if (pause)
            berr_code(err, EBUSY, "container %s is not running", c->id);
        else
            berr_code(err, EBUSY, "container %s is not paused", c->id);
    } else {
        if (pause)
            eng_health_stop(e, c); /* health: no probe may be caught in the freeze */
        if (eng_runtime(e, err, pause ? "pause" : "resume", c->id, NULL) == 0) {
            pthread_mutex_lock(&e->mu);
            ctr_set_status(c, pause ? "paused" : "running");
            pthread_cond_broadcast(&e->changed);
            pthread_mutex_unlock(&e->mu);
            eng_health_update(e, c); /* health: probes resume with the process */
            ctr_save(e, c, NULL);
            eng_event(e, c, pause ? "pause" : "unpause", NULL);
            rc = 0;
        } else {
            eng_health_update(e, c); /* health: a failed pause keeps the checks going */
        }
    }
    pthread_mutex_unlock(&c->op);
    ctr_unref(e, c);
    return rc;
}

int eng_pause(struct eng *e, const char *ref, struct berr **err)
{
    return pause_resume(e, ref, true, err);
}

int eng_unpause(struct eng *e, const char *ref, struct berr **err)
{
    return pause_resume(e, ref, false, err);
}

int eng_rename(struct eng *e, const char *ref, const char *new_name, struct berr **err)
{
    const char *n = new_name != NULL && new_name[0] == '/' ? new_name + 1 : new_name;
    if (n == NULL || *n == '\0')
        return berr_code(err, EINVAL, "Neither old nor new names may be empty");
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    int rc = -1;
    pthread_mutex_lock(&c->op);
    _cleanup_free_ char *slash = xasprintf("/%s", n);
    pthread_mutex_lock(&e->mu);
    _cleanup_free_ char *old = xstrdup(ctr_name(c));
    struct ctr *holder = NULL;
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(ctr_name(e->ctrs[i]), slash) == 0)
            holder = e->ctrs[i];
    bool valid = true;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              (p > n && (*p == '_' || *p == '.' || *p == '-'))))
            valid = false;
    if (!valid || n[1] == '\0') {
        berr_code(err, EINVAL,
                  "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", n);
    } else if (holder == c) {
        berr_code(err, EINVAL, "Renaming a container with the same name as its current name");
    } else if (holder != NULL) {
        berr_code(err, EEXIST,
                  "Error when allocating new name: Conflict. The container name \"%s\" is "
                  "already in use by container \"%s\". You have to remove (or rename) that "
                  "container to be able to reuse that name.",
                  slash, holder->id);
    } else {
        json_object_set_new(c->rec, "Name", json_string(slash));
        rc = 0;
    }
    pthread_mutex_unlock(&e->mu);
    if (rc == 0) {
        if (ctr_save(e, c, err) < 0) {
            pthread_mutex_lock(&e->mu);
            json_object_set_new(c->rec, "Name", json_string(old));
            pthread_mutex_unlock(&e->mu);
            rc = -1;
        } else {
            eng_event(e, c, "rename", json_pack("{s:s}", "oldName", old));
        }
    }
    pthread_mutex_unlock(&c->op);
    ctr_unref(e, c);
    return rc;
}

/* ---- removal ---- */

int eng_remove_locked(struct eng *e, struct ctr *c, bool volumes, struct berr **err)
{
    eng_health_stop(e, c); /* health: the checker holds the container */
    pthread_mutex_lock(&e->mu);
    if (c->removed) {
        pthread_mutex_unlock(&e->mu);
        return 0;
    }
    c->restarting = false;
    ctr_set_status(c, "removing");
    pthread_mutex_unlock(&e->mu);
    ctr_save(e, c, NULL);
    eng_runtime_forget(e, c->id);
    eng_unmount_rootfs(e, c);
    if (vol_release_container(e->volumes, c->id, volumes, err) < 0)
        return -1;
    _cleanup_free_ char *hold = xasprintf("ctr-%s", c->id);
    img_hold_remove(e->store, hold, NULL);
    _cleanup_free_ char *mdir = ctr_run_path(e, c, NULL);
    rm_rf_at(AT_FDCWD, mdir, NULL);
    _cleanup_free_ char *dir = ctr_path(e, c, NULL);
    /* the record goes first, so a crash midway leaves a directory the next start removes */
    _cleanup_free_ char *rec = ctr_path(e, c, "config.v2.json");
    unlink(rec);
    /* The directory leaves the table's sight in one rename and is emptied once the removal
     * has been announced, so `run --rm` and `rm` do not wait for it (eng_open empties what a
     * crash left). Where it cannot be renamed it is removed first, as before. */
    _cleanup_free_ char *trash = xasprintf("%s/%s%s", e->ctr_dir, ENG_TRASH_PREFIX, c->id);
    bool moved = rename(dir, trash) == 0;
    if (!moved && rm_rf_at(AT_FDCWD, dir, err) < 0)
        return -1;
    eng_event(e, c, "destroy", NULL);
    pthread_mutex_lock(&e->mu);
    eng_exec_forget(e, c->id);
    pthread_mutex_unlock(&e->mu);
    eng_drop(e, c);
    _cleanup_berr_ struct berr *rerr = NULL;
    if (moved && rm_rf_at(AT_FDCWD, trash, &rerr) < 0)
        log_warn("container %s: removing its files: %s (the next start tries again)", c->id,
                 rerr->msg);
    return 0;
}

int eng_remove(struct eng *e, const char *ref, bool force, bool volumes, struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    int rc = -1;
    pthread_mutex_lock(&c->op);
    pthread_mutex_lock(&e->mu);
    const char *st = ctr_status(c);
    bool running =
        strcmp(st, "running") == 0 || strcmp(st, "paused") == 0 || strcmp(st, "restarting") == 0;
    bool paused = strcmp(st, "paused") == 0;
    pthread_mutex_unlock(&e->mu);
    if (running && !force) {
        if (paused)
            berr_code(err, EBUSY,
                      "cannot remove container \"%s\": container is paused and must be unpaused "
                      "first",
                      ref);
        else
            berr_code(err, EBUSY,
                      "cannot remove container \"%s\": container is running: stop the "
                      "container before removing or force remove",
                      ref);
        goto out;
    }
    if (running) {
        _cleanup_berr_ struct berr *serr = NULL;
        if (eng_stop_locked(e, c, "SIGKILL", 0, &serr) < 0 && serr->errnum != EALREADY) {
            berr_code(err, serr->errnum, "cannot remove container \"%s\": could not kill: %s", ref,
                      serr->msg);
            goto out;
        }
        eng_event(e, c, "kill", json_pack("{s:s}", "signal", "9"));
    }
    rc = eng_remove_locked(e, c, volumes, err);
out:
    pthread_mutex_unlock(&c->op);
    ctr_unref(e, c);
    return rc;
}

/* ---- waits ---- */

struct eng_waiter {
    struct eng *e;
    struct ctr *c;
    enum eng_wait_cond cond;
    uint64_t seq;
};

int eng_wait_begin(struct eng *e, const char *ref, enum eng_wait_cond cond, struct eng_waiter **out,
                   struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    struct eng_waiter *w = xcalloc(1, sizeof(*w));
    w->e = e;
    w->c = c;
    w->cond = cond;
    pthread_mutex_lock(&e->mu);
    w->seq = c->exit_seq;
    pthread_mutex_unlock(&e->mu);
    *out = w;
    return 0;
}

static bool wait_done(struct eng_waiter *w)
{
    struct ctr *c = w->c;
    if (c->removed)
        return true;
    switch (w->cond) {
    case ENG_WAIT_NOT_RUNNING: {
        const char *st = ctr_status(c);
        return strcmp(st, "running") != 0 && strcmp(st, "paused") != 0 &&
               strcmp(st, "restarting") != 0 && strcmp(st, "removing") != 0;
    }
    case ENG_WAIT_NEXT_EXIT:
        return c->exit_seq != w->seq;
    case ENG_WAIT_REMOVED:
        return false;
    }
    return true;
}

int eng_wait_end(struct eng_waiter *w, int cancel_fd, int64_t *exit_code, char **error)
{
    struct eng *e = w->e;
    int rc = 0;
    pthread_mutex_lock(&e->mu);
    while (!wait_done(w)) {
        if (e->closing) {
            rc = -1;
            break;
        }
        struct timespec deadline;
        time_deadline_ms(&deadline, 200);
        pthread_cond_timedwait(&e->changed, &e->mu, &deadline);
        if (cancel_fd >= 0) {
            struct pollfd p = {.fd = cancel_fd, .events = POLLIN};
            if (poll(&p, 1, 0) > 0) {
                rc = -1;
                break;
            }
        }
    }
    json_t *state = ctr_state(w->c);
    *exit_code = json_integer_value(json_object_get(state, "ExitCode"));
    const char *msg = json_string_value(json_object_get(state, "Error"));
    *error = msg != NULL && *msg != '\0' ? xstrdup(msg) : NULL;
    pthread_mutex_unlock(&e->mu);
    ctr_unref(e, w->c);
    free(w);
    return rc;
}
