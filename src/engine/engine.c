/* The engine's container table: loading records at start and reconciling them with what still
 * runs (live restore), lookups by ID, prefix or name, atomic record writes, and counts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "engine/engine_internal.h"
#include "engine/events.h"
#include "engine/health.h"
#include "volume/volume.h"

char *ctr_path(struct eng *e, struct ctr *c, const char *file)
{
    return file != NULL ? xasprintf("%s/%s/%s", e->ctr_dir, c->id, file)
                        : xasprintf("%s/%s", e->ctr_dir, c->id);
}

char *ctr_run_path(struct eng *e, struct ctr *c, const char *file)
{
    return file != NULL ? xasprintf("%s/containers/%s/%s", e->exec_root, c->id, file)
                        : xasprintf("%s/containers/%s", e->exec_root, c->id);
}

json_t *ctr_state(struct ctr *c)
{
    return json_object_get(c->rec, "State");
}

const char *ctr_status(struct ctr *c)
{
    const char *s = json_string_value(json_object_get(ctr_state(c), "Status"));
    return s != NULL ? s : "created";
}

void ctr_set_status(struct ctr *c, const char *status)
{
    json_t *st = ctr_state(c);
    json_object_set_new(st, "Status", json_string(status));
    json_object_set_new(
        st, "Running",
        json_boolean(strcmp(status, "running") == 0 || strcmp(status, "paused") == 0));
    json_object_set_new(st, "Paused", json_boolean(strcmp(status, "paused") == 0));
    json_object_set_new(st, "Restarting", json_boolean(strcmp(status, "restarting") == 0));
    json_object_set_new(st, "Dead", json_boolean(strcmp(status, "dead") == 0));
}

const char *ctr_name(struct ctr *c)
{
    const char *n = json_string_value(json_object_get(c->rec, "Name"));
    return n != NULL ? n : "";
}

void eng_event(struct eng *e, struct ctr *c, const char *action, json_t *extra)
{
    json_t *attrs = json_object();
    pthread_mutex_lock(&e->mu);
    const char *name = ctr_name(c);
    json_object_set_new(attrs, "name", json_string(name[0] == '/' ? name + 1 : name));
    json_t *cfg = json_object_get(c->rec, "Config");
    json_t *img = json_object_get(cfg, "Image");
    if (json_is_string(img))
        json_object_set(attrs, "image", img);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(cfg, "Labels"), k, v)
    {
        if (json_is_string(v))
            json_object_set(attrs, k, v);
    }
    pthread_mutex_unlock(&e->mu);
    if (extra != NULL) {
        json_object_update(attrs, extra);
        json_decref(extra);
    }
    ev_publish(e->events, "container", action, c->id, attrs);
}

int ctr_save(struct eng *e, struct ctr *c, struct berr **err)
{
    pthread_mutex_lock(&e->mu);
    char *txt = json_dumps(c->rec, JSON_COMPACT);
    pthread_mutex_unlock(&e->mu);
    if (txt == NULL)
        abort();
    _cleanup_free_ char *path = ctr_path(e, c, "config.v2.json");
    int rc = write_file_atomic_at(AT_FDCWD, path, txt, strlen(txt), 0600, err);
    free(txt);
    return rc;
}

static void ctr_free(struct ctr *c)
{
    json_decref(c->rec);
    if (c->monitor_pidfd >= 0)
        close(c->monitor_pidfd);
    pthread_mutex_destroy(&c->op);
    free(c);
}

void ctr_unref(struct eng *e, struct ctr *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&e->mu);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&e->mu);
    if (last)
        ctr_free(c);
}

void eng_add(struct eng *e, struct ctr *c)
{
    pthread_mutex_lock(&e->mu);
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->ctrs = xrealloc(e->ctrs, e->cap * sizeof(*e->ctrs));
    }
    e->ctrs[e->n++] = c;
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->mu);
}

void eng_drop(struct eng *e, struct ctr *c)
{
    bool found = false;
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < e->n; i++) {
        if (e->ctrs[i] == c) {
            e->ctrs[i] = e->ctrs[--e->n];
            found = true;
            break;
        }
    }
    c->removed = true;
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->mu);
    if (found)
        ctr_unref(e, c);
}

/* Docker's lookup order: full ID, then exact name, then a unique ID prefix. Under e->mu. */
static struct ctr *lookup(struct eng *e, const char *ref, struct berr **err)
{
    if (ref == NULL || *ref == '\0')
        return berr_code(err, ENOENT, "No such container: %s", ref != NULL ? ref : ""), NULL;
    const char *name = ref[0] == '/' ? ref + 1 : ref;
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->ctrs[i]->id, ref) == 0)
            return e->ctrs[i];
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(ctr_name(e->ctrs[i]) + 1, name) == 0)
            return e->ctrs[i];
    struct ctr *found = NULL;
    size_t len = strlen(ref);
    for (size_t i = 0; i < e->n; i++) {
        if (strncmp(e->ctrs[i]->id, ref, len) == 0) {
            if (found != NULL)
                return berr_code(err, EINVAL, "multiple IDs found with provided prefix: %s", ref),
                       NULL;
            found = e->ctrs[i];
        }
    }
    if (found == NULL)
        berr_code(err, ENOENT, "No such container: %s", ref);
    return found;
}

struct ctr *eng_get(struct eng *e, const char *ref, struct berr **err)
{
    pthread_mutex_lock(&e->mu);
    struct ctr *c = lookup(e, ref, err);
    if (c != NULL)
        c->refs++;
    pthread_mutex_unlock(&e->mu);
    return c;
}

int eng_resolve(struct eng *e, const char *ref, char *id, struct berr **err)
{
    pthread_mutex_lock(&e->mu);
    struct ctr *c = lookup(e, ref, err);
    if (c != NULL)
        memcpy(id, c->id, 65);
    pthread_mutex_unlock(&e->mu);
    return c != NULL ? 0 : -1;
}

void eng_counts(struct eng *e, int *total, int *running, int *paused, int *stopped)
{
    *total = *running = *paused = *stopped = 0;
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < e->n; i++) {
        const char *s = ctr_status(e->ctrs[i]);
        (*total)++;
        if (strcmp(s, "running") == 0 || strcmp(s, "restarting") == 0)
            (*running)++;
        else if (strcmp(s, "paused") == 0)
            (*paused)++;
        else
            (*stopped)++;
    }
    pthread_mutex_unlock(&e->mu);
}

/* Is pid still the monitor of container id? (pids are reused after a reboot or a long time) */
static bool monitor_alive(pid_t pid, const char *id)
{
    if (pid <= 0)
        return false;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    size_t len = 0;
    _cleanup_free_ char *cmd = read_file_at(AT_FDCWD, path, 1 << 16, &len, NULL);
    if (cmd == NULL)
        return false;
    bool is_monitor = false, has_id = false;
    for (size_t off = 0; off < len; off += strlen(cmd + off) + 1) {
        const char *a = cmd + off;
        if (off == 0 && strstr(a, "berth-monitor") != NULL)
            is_monitor = true;
        if (strcmp(a, id) == 0)
            has_id = true;
    }
    return is_monitor && has_id;
}

static struct ctr *load_one(struct eng *e, const char *id)
{
    _cleanup_free_ char *path = xasprintf("%s/%s/config.v2.json", e->ctr_dir, id);
    json_error_t je;
    json_t *rec = json_load_file(path, 0, &je);
    if (rec == NULL || !json_is_object(rec) || !json_is_object(json_object_get(rec, "State"))) {
        log_warn("container %s: unreadable record %s (%s): removing its directory", id, path,
                 rec == NULL ? je.text : "not a container record");
        json_decref(rec);
        return NULL;
    }
    struct ctr *c = xcalloc(1, sizeof(*c));
    c->refs = 1;
    c->monitor_pidfd = -1;
    pthread_mutex_init(&c->op, NULL);
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->rec = rec;
    return c;
}

/* What became of a container that was running when the daemon last stopped. */
static void reconcile(struct eng *e, struct ctr *c)
{
    const char *status = ctr_status(c);
    json_t *b = json_object_get(c->rec, "Berth");
    pid_t mpid = (pid_t)json_integer_value(json_object_get(b, "MonitorPid"));
    bool live = strcmp(status, "running") == 0 || strcmp(status, "paused") == 0 ||
                strcmp(status, "restarting") == 0;
    if (strcmp(status, "removing") == 0) {
        _cleanup_berr_ struct berr *err = NULL;
        if (eng_remove_locked(e, c, false, &err) < 0)
            log_warn("container %s: finishing its removal: %s", c->id, err->msg);
        return;
    }
    if (!live)
        return;
    if (monitor_alive(mpid, c->id)) {
        c->monitor_pid = mpid;
        _cleanup_berr_ struct berr *err = NULL;
        if (eng_watch_monitor(e, c, &err) < 0)
            log_warn("container %s: cannot watch its monitor: %s", c->id, err->msg);
        else
            log_info("container %s: re-adopted (monitor %d)", c->id, (int)mpid);
        eng_health_init(e, c); /* health: re-armed, starting over as with Docker */
        return;
    }
    /* The monitor is gone: its exit.json (if /run survived) tells how the process ended. */
    eng_handle_exit_locked(e, c);
}

/* --volumes-from: the other container's ID and mounts, for the volume module. */
static int lookup_for_volumes(void *ctx, const char *ref, char **id, json_t **mounts,
                              struct berr **err)
{
    struct eng *e = ctx;
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    pthread_mutex_lock(&e->mu);
    *id = xstrdup(c->id);
    json_t *m = json_object_get(c->rec, "Mounts");
    *mounts = json_is_array(m) ? json_deep_copy(m) : json_array();
    pthread_mutex_unlock(&e->mu);
    ctr_unref(e, c);
    return 0;
}

int eng_open(const struct eng_opts *o, struct eng **out, struct berr **err)
{
    struct eng *e = xcalloc(1, sizeof(*e));
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->changed, NULL);
    e->root = xstrdup(o->root);
    e->ctr_dir = xasprintf("%s/containers", o->root);
    e->exec_root = xstrdup(o->exec_root);
    e->runtime = xstrdup(o->runtime);
    e->runtime_root = xasprintf("%s/runtime", o->exec_root);
    pthread_mutex_init(&e->rt_mu, NULL);
    e->monitor = xstrdup(o->monitor);
    e->init = xstrdup(o->init);
    e->store = o->store;
    e->snap = o->snap;
    e->volumes = o->volumes;
    e->events = o->events;
    if (e->volumes != NULL)
        vol_store_set_container_lookup(e->volumes, lookup_for_volumes, e);
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    e->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (e->epfd < 0 || e->wake_fd < 0) {
        berr_sys(err, "epoll");
        eng_close(e);
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->wake_fd, &ev);
    _cleanup_free_ char *run_ctrs = xasprintf("%s/containers", e->exec_root);
    if (mkdir_p(e->ctr_dir, 0710, err) < 0 || mkdir_p(run_ctrs, 0700, err) < 0 ||
        mkdir_p(e->runtime_root, 0700, err) < 0) {
        eng_close(e);
        return -1;
    }
    if (pthread_create(&e->watcher, NULL, eng_watcher_main, e) != 0) {
        berr_sys(err, "start the monitor watcher");
        eng_close(e);
        return -1;
    }

    _cleanup_(closedirp) DIR *d = opendir(e->ctr_dir);
    if (d == NULL) {
        berr_sys(err, "open %s", e->ctr_dir);
        eng_close(e);
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, ENG_TRASH_PREFIX, strlen(ENG_TRASH_PREFIX)) == 0) {
            /* a removal that a crash interrupted after its announcement */
            _cleanup_berr_ struct berr *rerr = NULL;
            if (rm_rf_at(dirfd(d), de->d_name, &rerr) < 0)
                log_warn("%s", rerr->msg);
            continue;
        }
        if (de->d_name[0] == '.' || strlen(de->d_name) != 64)
            continue;
        struct ctr *c = load_one(e, de->d_name);
        if (c == NULL) {
            /* a container whose create never finished: nothing refers to it */
            _cleanup_berr_ struct berr *rerr = NULL;
            _cleanup_free_ char *dir = xasprintf("%s/%s", e->ctr_dir, de->d_name);
            _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
            umount2(rootfs, MNT_DETACH);
            if (rm_rf_at(AT_FDCWD, dir, &rerr) < 0)
                log_warn("%s", rerr->msg);
            continue;
        }
        eng_add(e, c);
    }
    /* reconcile after the whole table is known: removals and restarts look names up */
    pthread_mutex_lock(&e->mu);
    size_t n = e->n;
    struct ctr **all = xcalloc(n + 1, sizeof(*all));
    for (size_t i = 0; i < n; i++) {
        all[i] = e->ctrs[i];
        all[i]->refs++;
    }
    pthread_mutex_unlock(&e->mu);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&all[i]->op);
        reconcile(e, all[i]);
        pthread_mutex_unlock(&all[i]->op);
        ctr_unref(e, all[i]);
    }
    free(all);
    *out = e;
    return 0;
}

void eng_close(struct eng *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&e->mu);
    e->closing = true;
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->mu);
    eng_health_shutdown(e); /* health: checker threads end before the table goes */
    if (e->wake_fd >= 0) {
        uint64_t one = 1;
        if (write(e->wake_fd, &one, sizeof(one)) < 0) {
            /* cannot fail on a fresh eventfd */
        }
    }
    if (e->watcher)
        pthread_join(e->watcher, NULL);
    /* Containers keep running: their monitors outlive us, and the next start re-adopts them.
     * The watcher's references to the monitors it still watched go with it. */
    for (size_t i = 0; i < e->n; i++) {
        struct ctr *c = e->ctrs[i];
        if (c->monitor_pidfd >= 0) {
            close(c->monitor_pidfd);
            c->monitor_pidfd = -1;
            ctr_unref(e, c);
        }
    }
    for (size_t i = 0; i < e->n; i++)
        ctr_unref(e, e->ctrs[i]);
    free(e->ctrs);
    if (e->epfd >= 0)
        close(e->epfd);
    if (e->wake_fd >= 0)
        close(e->wake_fd);
    free(e->root);
    free(e->ctr_dir);
    free(e->exec_root);
    eng_runtime_copy_free(e);
    pthread_mutex_destroy(&e->rt_mu);
    free(e->runtime);
    free(e->runtime_root);
    free(e->monitor);
    free(e->init);
    pthread_cond_destroy(&e->changed);
    pthread_mutex_destroy(&e->mu);
    free(e);
}
