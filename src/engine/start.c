/* Starting a container: its root filesystem mounted, volumes resolved, /etc/hostname, hosts and
 * resolv.conf written, the OCI spec generated into a bundle, then a monitor spawned that runs
 * `berth-runc create`; attachers waiting for this start connect; then `berth-runc start`. Any
 * failure undoes the run (the container stays, created or exited, with the error recorded). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/process.h"
#include "common/human.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "engine/engine_internal.h"
#include "engine/health.h"
#include "engine/specgen.h"
#include "image/snapshot.h"
#include "volume/mountspec.h"
#include "volume/volume.h"

int eng_mount_rootfs(struct eng *e, struct ctr *c, struct berr **err)
{
    _cleanup_free_ char *upper = ctr_path(e, c, "fs/upper");
    _cleanup_free_ char *work = ctr_path(e, c, "fs/work");
    _cleanup_free_ char *rootfs = ctr_path(e, c, "rootfs");
    pthread_mutex_lock(&e->mu);
    _cleanup_free_ char *chain =
        xstrdup(json_string_value(json_object_get(json_object_get(c->rec, "Berth"), "ChainID")));
    pthread_mutex_unlock(&e->mu);
    /* the mount create made (or one a daemon crash left, of the same layers and upper dir)
     * is the container's root filesystem already: mounting again costs a fork and a mount */
    if (is_mount_root(rootfs))
        return 0;
    return img_snap_mount_rw(e->snap, *chain != '\0' ? chain : NULL, upper, work, rootfs, err);
}

void eng_unmount_rootfs(struct eng *e, struct ctr *c)
{
    _cleanup_free_ char *rootfs = ctr_path(e, c, "rootfs");
    while (umount2(rootfs, MNT_DETACH) == 0) {
    }
}

static int write_ctr_file(struct eng *e, struct ctr *c, const char *name, const char *content,
                          const char *key, struct berr **err)
{
    _cleanup_free_ char *path = ctr_path(e, c, name);
    /* written again at every start: no fsync (three of them cost a few ms per start) */
    if (write_file_replace_at(AT_FDCWD, path, content, strlen(content), 0644, err) < 0)
        return -1;
    pthread_mutex_lock(&e->mu);
    json_object_set_new(c->rec, key, json_string(path));
    pthread_mutex_unlock(&e->mu);
    return 0;
}

/* /etc/hostname, /etc/hosts and /etc/resolv.conf for the container, as Docker writes them. */
static int write_etc_files(struct eng *e, struct ctr *c, json_t *config, json_t *hc,
                           const char *hostname, struct berr **err)
{
    const char *nm = json_string_value(json_object_get(hc, "NetworkMode"));
    bool host_net = nm != NULL && strcmp(nm, "host") == 0;
    _cleanup_free_ char *hn = xasprintf("%s\n", hostname);
    if (write_ctr_file(e, c, "hostname", hn, "HostnamePath", err) < 0)
        return -1;

    _cleanup_free_ char *hosts = NULL;
    if (host_net) {
        hosts = read_file_at(AT_FDCWD, "/etc/hosts", 1 << 20, NULL, NULL);
    }
    if (hosts == NULL)
        hosts = xstrdup("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                        "fe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
                        "ff02::2\tip6-allrouters\n");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(hc, "ExtraHosts"), i, x)
    {
        const char *eh = json_string_value(x);
        if (eh == NULL)
            continue;
        /* "name:ip" or "name=ip" (the address may hold colons itself) */
        const char *sep = strpbrk(eh, ":=");
        if (sep == NULL)
            return berr_code(err, EINVAL, "invalid extra host: %s: expected name:address", eh);
        _cleanup_free_ char *name = xstrndup(eh, (size_t)(sep - eh));
        const char *addr = sep + 1;
        if (strcmp(addr, "host-gateway") == 0)
            addr = "127.0.0.1";
        char *n = xasprintf("%s%s\t%s\n", hosts, addr, name);
        free(hosts);
        hosts = n;
    }
    if (!host_net) {
        (void)config;
    }
    if (write_ctr_file(e, c, "hosts", hosts, "HostsPath", err) < 0)
        return -1;

    /* resolv.conf: the host's, minus loopback name servers (unreachable from a container's own
     * network namespace), with --dns, --dns-search and --dns-option applied */
    _cleanup_free_ char *host_rc = read_file_at(AT_FDCWD, "/etc/resolv.conf", 1 << 20, NULL, NULL);
    json_t *dns = json_object_get(hc, "Dns"), *search = json_object_get(hc, "DnsSearch"),
           *opts = json_object_get(hc, "DnsOptions");
    size_t cap = 256 + (host_rc != NULL ? strlen(host_rc) : 0);
    json_array_foreach(dns, i, x) cap += strlen(json_string_value(x) ?: "") + 16;
    json_array_foreach(search, i, x) cap += strlen(json_string_value(x) ?: "") + 2;
    json_array_foreach(opts, i, x) cap += strlen(json_string_value(x) ?: "") + 2;
    _cleanup_free_ char *rc = xcalloc(1, cap);
    char *o = rc;
    bool have_ns = false;
    if (json_array_size(search) > 0) {
        o = stpcpy(o, "search");
        json_array_foreach(search, i, x)
        {
            o = stpcpy(o, " ");
            o = stpcpy(o, json_string_value(x) ?: "");
        }
        o = stpcpy(o, "\n");
    }
    if (json_array_size(dns) > 0) {
        json_array_foreach(dns, i, x)
        {
            o += sprintf(o, "nameserver %s\n", json_string_value(x) ?: "");
            have_ns = true;
        }
    }
    if (host_rc != NULL) {
        char *save = NULL;
        for (char *line = strtok_r(host_rc, "\n", &save); line != NULL;
             line = strtok_r(NULL, "\n", &save)) {
            bool is_ns = strncmp(line, "nameserver", 10) == 0;
            bool is_search = strncmp(line, "search", 6) == 0 || strncmp(line, "domain", 6) == 0;
            bool is_opt = strncmp(line, "options", 7) == 0;
            if (is_ns &&
                (json_array_size(dns) > 0 ||
                 (!host_net && (strstr(line, " 127.") != NULL || strstr(line, " ::1") != NULL))))
                continue;
            if (is_search && json_array_size(search) > 0)
                continue;
            if (is_opt && json_array_size(opts) > 0)
                continue;
            if (strlen(line) + 2 > cap - (size_t)(o - rc))
                break;
            o = stpcpy(o, line);
            o = stpcpy(o, "\n");
            if (is_ns)
                have_ns = true;
        }
    }
    if (json_array_size(opts) > 0) {
        o = stpcpy(o, "options");
        json_array_foreach(opts, i, x)
        {
            o = stpcpy(o, " ");
            o = stpcpy(o, json_string_value(x) ?: "");
        }
        o = stpcpy(o, "\n");
    }
    (void)have_ns;
    return write_ctr_file(e, c, "resolv.conf", rc, "ResolvConfPath", err);
}

/* Spawns the monitor and waits for its report: the container's pid, or the runtime's error. */
static int spawn_monitor(struct eng *e, struct ctr *c, json_t *config, json_t *hc,
                         const char *bundle, const char *mdir, pid_t *ctr_pid, struct berr **err)
{
    json_t *lc = json_object_get(json_object_get(hc, "LogConfig"), "Config");
    const char *ltype =
        json_string_value(json_object_get(json_object_get(hc, "LogConfig"), "Type"));
    const char *ms = json_string_value(json_object_get(lc, "max-size"));
    const char *mf = json_string_value(json_object_get(lc, "max-file"));
    char max_size[32], max_file[32];
    int64_t max_bytes = 10 * 1024 * 1024;
    if (ms != NULL && human_parse_size(ms, true, &max_bytes, err) < 0)
        return berr_wrap(err, "log option max-size");
    snprintf(max_size, sizeof(max_size), "%lld", (long long)max_bytes);
    snprintf(max_file, sizeof(max_file), "%s", mf != NULL ? mf : "3");
    pthread_mutex_lock(&e->mu);
    _cleanup_free_ char *log_path =
        xstrdup(json_string_value(json_object_get(c->rec, "LogPath")) ?: "");
    pthread_mutex_unlock(&e->mu);

    const char *argv[32];
    size_t n = 0;
    argv[n++] = e->monitor;
    argv[n++] = "--id";
    argv[n++] = c->id;
    argv[n++] = "--bundle";
    argv[n++] = bundle;
    argv[n++] = "--runtime";
    argv[n++] = e->runtime;
    argv[n++] = "--runtime-root";
    argv[n++] = e->runtime_root;
    /* the monitor's create runs the daemon's sealed copy of the runtime: held until the monitor
     * has reported, by which time that create has been executed */
    struct eng_rt_copy *held;
    const char *rt_path = eng_runtime_acquire(e, &held);
    if (held != NULL) {
        argv[n++] = "--runtime-exec";
        argv[n++] = rt_path;
    }
    argv[n++] = "--dir";
    argv[n++] = mdir;
    if (ltype == NULL || strcmp(ltype, "none") != 0) {
        argv[n++] = "--log-path";
        argv[n++] = log_path;
        argv[n++] = "--log-max-size";
        argv[n++] = max_size;
        argv[n++] = "--log-max-file";
        argv[n++] = max_file;
    }
    if (json_is_true(json_object_get(config, "Tty")))
        argv[n++] = "--tty";
    if (json_is_true(json_object_get(config, "OpenStdin")))
        argv[n++] = "--stdin";
    if (json_is_true(json_object_get(config, "StdinOnce")))
        argv[n++] = "--stdin-once";
    argv[n] = NULL;

    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        eng_runtime_release(e, held);
        return berr_sys(err, "pipe");
    }
    /* the monitor gets its report pipe as fd 3, and not the daemon's signal state */
    const int fds[4] = {-1, -1, -1, p[1]};
    pid_t pid = spawn_process((char *const *)argv, fds, 4, false, err);
    if (pid < 0) {
        eng_runtime_release(e, held);
        close(p[0]);
        close(p[1]);
        return -1;
    }
    close(p[1]);
    char buf[4096];
    size_t len = 0;
    for (;;) {
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        int r = poll(&pf, 1, 120000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t got = read(p[0], buf + len, sizeof(buf) - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
        if (memchr(buf, '\n', len) != NULL || len == sizeof(buf) - 1)
            break;
    }
    close(p[0]);
    buf[len] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    eng_runtime_release(e, held);
    json_error_t je;
    _cleanup_json_ json_t *rep = json_loads(buf, JSON_DISABLE_EOF_CHECK, &je);
    if (rep == NULL) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            return berr_code(err, EIO, "cannot run the monitor %s", e->monitor);
        return berr_code(err, EIO, "the container's monitor gave no report (%s)",
                         len == 0 ? "it exited early" : je.text);
    }
    const char *merr = json_string_value(json_object_get(rep, "error"));
    if (merr != NULL)
        return berr_code(err, EIO, "%s", merr);
    *ctr_pid = (pid_t)json_integer_value(json_object_get(rep, "pid"));
    _cleanup_free_ char *pidfile = xasprintf("%s/monitor.pid", mdir);
    _cleanup_free_ char *mp = read_file_at(AT_FDCWD, pidfile, 64, NULL, err);
    if (mp == NULL)
        return -1;
    c->monitor_pid = (pid_t)atoi(mp);
    return 0;
}

/* Docker's start errors carry the status the CLI turns into an exit code: 127 for a missing
 * command, 126 for one that cannot run. */
static int start_exit_code(const char *msg)
{
    if (strstr(msg, "executable file not found") != NULL ||
        strstr(msg, "no such file or directory") != NULL ||
        strstr(msg, "No such file or directory") != NULL)
        return 127;
    if (strstr(msg, "permission denied") != NULL || strstr(msg, "Permission denied") != NULL)
        return 126;
    return 128;
}

int eng_start_locked(struct eng *e, struct ctr *c, struct berr **err)
{
    pthread_mutex_lock(&e->mu);
    const char *st = ctr_status(c);
    if (c->removed || strcmp(st, "removing") == 0) {
        pthread_mutex_unlock(&e->mu);
        return berr_code(err, EBUSY, "container %s is marked for removal and cannot be started",
                         c->id);
    }
    if (strcmp(st, "paused") == 0) {
        pthread_mutex_unlock(&e->mu);
        return berr_code(err, EBUSY, "cannot start a paused container, try unpause instead");
    }
    if (strcmp(st, "running") == 0) {
        pthread_mutex_unlock(&e->mu);
        return berr_code(err, EALREADY, "container %s is already running", c->id);
    }
    _cleanup_json_ json_t *config = json_deep_copy(json_object_get(c->rec, "Config"));
    _cleanup_json_ json_t *hc = json_deep_copy(json_object_get(c->rec, "HostConfig"));
    pthread_mutex_unlock(&e->mu);

    _cleanup_free_ char *mdir = ctr_run_path(e, c, NULL);
    _cleanup_free_ char *rootfs = ctr_path(e, c, "rootfs");
    _cleanup_close_ int rfd = -1;
    _cleanup_json_ json_t *oci_mounts = NULL, *inspect_mounts = NULL, *spec = NULL;
    pid_t pid = 0;
    bool created = false;

    /* leftovers of an earlier run: a stale runtime state and monitor directory */
    eng_runtime_forget(e, c->id);
    rm_rf_at(AT_FDCWD, mdir, NULL);
    if (mkdir_p(mdir, 0700, err) < 0)
        goto fail;
    if (eng_mount_rootfs(e, c, err) < 0)
        goto fail;
    rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0) {
        berr_sys(err, "open %s", rootfs);
        goto fail;
    }
    if (vol_resolve_mounts(e->volumes, hc, json_object_get(config, "Volumes"), rfd, c->id,
                           &oci_mounts, &inspect_mounts, err) < 0)
        goto fail;
    char short_id[13];
    snprintf(short_id, sizeof(short_id), "%.12s", c->id);
    const char *hostname = json_string_value(json_object_get(config, "Hostname"));
    if (hostname == NULL || *hostname == '\0')
        hostname = short_id;
    if (write_etc_files(e, c, config, hc, hostname, err) < 0)
        goto fail;
    {
        _cleanup_free_ char *hosts = ctr_path(e, c, "hosts");
        _cleanup_free_ char *hn = ctr_path(e, c, "hostname");
        _cleanup_free_ char *resolv = ctr_path(e, c, "resolv.conf");
        struct eng_spec_ctx sc = {
            .id = c->id,
            .rootfs = rootfs,
            .rootfs_fd = rfd,
            .hostname = hostname,
            .etc_hosts = hosts,
            .etc_hostname = hn,
            .etc_resolv = resolv,
            .init_path = e->init,
            .mounts = oci_mounts,
        };
        spec = eng_spec_generate(config, hc, &sc, err);
        if (spec == NULL)
            goto fail;
    }
    {
        _cleanup_free_ char *cfg = xasprintf("%s/config.json", mdir);
        if (json_dump_file(spec, cfg, JSON_COMPACT) < 0) {
            berr_sys(err, "write %s", cfg);
            goto fail;
        }
    }
    pthread_mutex_lock(&e->mu);
    json_object_set(c->rec, "Mounts", inspect_mounts);
    c->stop_requested = false;
    pthread_mutex_unlock(&e->mu);

    if (spawn_monitor(e, c, config, hc, mdir, mdir, &pid, err) < 0)
        goto fail;
    created = true;
    if (eng_watch_monitor(e, c, err) < 0)
        goto fail;

    /* attachers that came before this start connect now, so they miss no output */
    pthread_mutex_lock(&e->mu);
    c->monitor_ready = true;
    pthread_cond_broadcast(&e->changed);
    struct timespec deadline;
    time_deadline_ms(&deadline, 10000);
    while (c->attach_pending > 0) {
        if (pthread_cond_timedwait(&e->changed, &e->mu, &deadline) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&e->mu);

    if (eng_runtime(e, err, "start", c->id, NULL) < 0)
        goto fail;

    char now[64];
    time_format_rfc3339(time_now_ns(), now, sizeof(now));
    pthread_mutex_lock(&e->mu);
    c->monitor_ready = false;
    json_t *state = ctr_state(c);
    ctr_set_status(c, "running");
    json_object_set_new(state, "Pid", json_integer(pid));
    json_object_set_new(state, "ExitCode", json_integer(0));
    json_object_set_new(state, "Error", json_string(""));
    json_object_set_new(state, "OOMKilled", json_false());
    json_object_set_new(state, "StartedAt", json_string(now));
    json_object_set_new(json_object_get(c->rec, "Berth"), "MonitorPid",
                        json_integer(c->monitor_pid));
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->mu);
    eng_health_init(e, c); /* health: State.Health starts over, the checker is armed */
    if (ctr_save(e, c, err) < 0)
        log_warn("container %s: %s", c->id, (*err)->msg);
    vol_publish_mount_events(e->volumes, c->id, inspect_mounts, true);
    eng_event(e, c, "start", NULL);
    return 0;

fail:
    if (created) {
        /* the monitor sees the process die and ends; the watcher then finds no run to
         * record, since the state never became running */
        pthread_mutex_lock(&e->mu);
        c->stop_requested = true;
        c->monitor_ready = false;
        pthread_cond_broadcast(&e->changed);
        pthread_mutex_unlock(&e->mu);
        eng_runtime_forget(e, c->id);
    } else {
        eng_unmount_rootfs(e, c);
    }
    {
        const char *msg = (*err)->msg;
        pthread_mutex_lock(&e->mu);
        json_t *fstate = ctr_state(c);
        json_object_set_new(fstate, "Error", json_string(msg));
        json_object_set_new(fstate, "ExitCode", json_integer(start_exit_code(msg)));
        /* waiters for the next exit learn of the failed start, as with Docker */
        c->exit_seq++;
        pthread_cond_broadcast(&e->changed);
        bool auto_remove = json_is_true(json_object_get(hc, "AutoRemove"));
        pthread_mutex_unlock(&e->mu);
        ctr_save(e, c, NULL);
        if (auto_remove)
            eng_remove_locked(e, c, true, NULL);
    }
    return -1;
}
