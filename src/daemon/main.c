/* berthd: the daemon. Parses its options, opens the stores, re-adopts running containers,
 * serves the Docker Engine API until SIGTERM or SIGINT, then stops serving and leaves the
 * containers running (their monitors outlive it; the next start re-adopts them). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "image/snapshot.h"
#include "image/store.h"
#include "lazylib/lazylibs.h"
#include "volume/volume.h"

static void usage(FILE *f)
{
    fputs("Usage: berthd [OPTIONS]\n"
          "\n"
          "The berth daemon: serves the Docker Engine API.\n"
          "\n"
          "Options:\n"
          "  -H, --host HOST            socket to serve (unix:///path or fd://N), repeatable\n"
          "                             (default unix:///run/berth/berth.sock)\n"
          "      --group NAME           group that may use the unix sockets (default berth,\n"
          "                             when it exists)\n"
          "      --data-root DIR        persistent state (default /var/lib/berth)\n"
          "      --exec-root DIR        runtime state (default /run/berth)\n"
          "      --runtime PATH         the OCI runtime (default berth-runc next to berthd)\n"
          "      --monitor PATH         the container monitor (default berth-monitor)\n"
          "      --init-path PATH       the init for --init (default berth-init)\n"
          "      --storage-driver NAME  overlay or copy (default: overlay where it works)\n"
          "      --insecure-registry H  a registry reachable over plain HTTP, repeatable\n"
          "      --pidfile PATH         write the daemon's pid here\n"
          "  -l, --log-level LEVEL      error, warn, info or debug (default info)\n"
          "  -D, --debug                same as --log-level debug\n"
          "  -v, --version              print the version and exit\n"
          "  -h, --help                 print this help\n",
          f);
}

/* A helper binary: given, or next to berthd, or where a build tree puts it, or on PATH. */
static char *find_helper(const char *given, const char *name, const char *build_subdir)
{
    if (given != NULL)
        return xstrdup(given);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *dir = dirname(self);
        _cleanup_free_ char *sib = xasprintf("%s/%s", dir, name);
        if (access(sib, X_OK) == 0)
            return steal_ptr(&sib);
        _cleanup_free_ char *bt = xasprintf("%s/../%s/%s", dir, build_subdir, name);
        char real[PATH_MAX];
        if (access(bt, X_OK) == 0 && realpath(bt, real) != NULL)
            return xstrdup(real);
    }
    const char *path = getenv("PATH");
    _cleanup_free_ char *copy = xstrdup(path != NULL ? path : "/usr/local/bin:/usr/bin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
        _cleanup_free_ char *cand = xasprintf("%s/%s", d, name);
        if (access(cand, X_OK) == 0)
            return steal_ptr(&cand);
    }
    return xstrdup(name);
}

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig)
{
    stop_signal = sig;
}

/* The socket's group: /etc/group read directly first, since going through NSS for it loads the
 * systemd module and its libraries into a daemon that never needs them again. A group kept
 * elsewhere (LDAP, sssd) is looked up through NSS when asked for by name (--group); the default
 * "berth" group is looked for in /etc/group only. -1 when there is no such group. */
static int socket_group(const char *name, bool use_nss)
{
    FILE *f = fopen("/etc/group", "re");
    if (f != NULL) {
        struct group *gr;
        int gid = -1;
        while (gid < 0 && (gr = fgetgrent(f)) != NULL)
            if (strcmp(gr->gr_name, name) == 0)
                gid = (int)gr->gr_gid;
        fclose(f);
        if (gid >= 0 || !use_nss)
            return gid;
    }
    if (!use_nss)
        return -1;
    struct group *gr = getgrnam(name);
    return gr != NULL ? (int)gr->gr_gid : -1;
}

static void release_libs(void)
{
    if (lazylibs_release() > 0)
        log_debug("idle: unloaded libraries only requests use");
}

int main(int argc, char **argv)
{
    /* A thread per API connection would otherwise spread allocations over up to 8 arenas per
     * core, each keeping its own fragments: measured over rounds of 50 containers run and
     * removed, RSS crept up ~300 kB a round with the default and ~200 kB with two arenas, and
     * stayed flat with one. berthd's threads mostly wait on children and sockets, so the
     * shared arena's lock costs nothing measurable. */
    mallopt(M_ARENA_MAX, 1);
    /* The API server gives free heap back once idle for a second (api/server.c); freeing it at
     * every free() that leaves 128 kB at the top (glibc's default) cost a brk and the next
     * request's page faults: a fifth of a `GET /containers/json` of 100 containers. Fixed
     * thresholds also stop glibc's dynamic mmap threshold from drifting upwards. */
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'H'},
        {"group", required_argument, NULL, 'G'},
        {"data-root", required_argument, NULL, 'r'},
        {"root", required_argument, NULL, 'r'},
        {"exec-root", required_argument, NULL, 'e'},
        {"runtime", required_argument, NULL, 'R'},
        {"monitor", required_argument, NULL, 'M'},
        {"init-path", required_argument, NULL, 'I'},
        {"storage-driver", required_argument, NULL, 's'},
        {"insecure-registry", required_argument, NULL, 'i'},
        {"pidfile", required_argument, NULL, 'p'},
        {"log-level", required_argument, NULL, 'l'},
        {"debug", no_argument, NULL, 'D'},
        {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    _cleanup_strv_ char **hosts = xcalloc(1, sizeof(char *));
    _cleanup_strv_ char **insecure = xcalloc(1, sizeof(char *));
    const char *group = NULL, *root = "/var/lib/berth", *exec_root = "/run/berth";
    const char *runtime = NULL, *monitor = NULL, *init = NULL, *driver = NULL, *pidfile = NULL;
    enum blog_level level = BLOG_INFO;
    blog_set_name("berthd");
    int c;
    while ((c = getopt_long(argc, argv, "H:l:Dvh", opts, NULL)) != -1) {
        switch (c) {
        case 'H':
            strv_append(&hosts, optarg);
            break;
        case 'G':
            group = optarg;
            break;
        case 'r':
            root = optarg;
            break;
        case 'e':
            exec_root = optarg;
            break;
        case 'R':
            runtime = optarg;
            break;
        case 'M':
            monitor = optarg;
            break;
        case 'I':
            init = optarg;
            break;
        case 's':
            driver = optarg;
            break;
        case 'i':
            strv_append(&insecure, optarg);
            break;
        case 'p':
            pidfile = optarg;
            break;
        case 'l':
            if (strcmp(optarg, "debug") == 0)
                level = BLOG_DEBUG;
            else if (strcmp(optarg, "info") == 0)
                level = BLOG_INFO;
            else if (strcmp(optarg, "warn") == 0 || strcmp(optarg, "warning") == 0)
                level = BLOG_WARN;
            else if (strcmp(optarg, "error") == 0)
                level = BLOG_ERROR;
            else {
                fprintf(stderr, "berthd: invalid log level %s: use error, warn, info or debug\n",
                        optarg);
                return 2;
            }
            break;
        case 'D':
            level = BLOG_DEBUG;
            break;
        case 'v':
            printf("berthd version %s\n", BERTH_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "berthd: unexpected argument %s\n", argv[optind]);
        return 2;
    }
    if (hosts[0] == NULL) {
        _cleanup_free_ char *h = xasprintf("unix://%s/berth.sock", exec_root);
        strv_append(&hosts, h);
    }
    _cleanup_berr_ struct berr *err = NULL;
    blog_open(NULL, BLOG_TEXT, level, NULL);
    blog_set_level(level);

    int gid = socket_group(group != NULL ? group : "berth", group != NULL);
    if (gid < 0 && group != NULL) {
        log_error("group %s does not exist: create it or leave --group out", group);
        return 1;
    }
    /* containers' processes are reparented to their monitors, never to us */
    if (mkdir_p(root, 0711, &err) < 0 || mkdir_p(exec_root, 0711, &err) < 0) {
        log_error("%s", err->msg);
        return 1;
    }
    _cleanup_free_ char *lockp = xasprintf("%s/berthd.lock", root);
    _cleanup_close_ int lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
        log_error("%s: another berthd is using this data root (or it cannot be locked: %s)", root,
                  strerror(errno));
        return 1;
    }

    struct api_daemon d = {.root = (char *)root,
                           .run_dir = (char *)exec_root,
                           .insecure_registries = insecure,
                           .started = (int64_t)time(NULL)};
    _cleanup_free_ char *rt = find_helper(runtime, "berth-runc", "runtime/cli");
    _cleanup_free_ char *mon = find_helper(monitor, "berth-monitor", "monitor");
    _cleanup_free_ char *ini = find_helper(init, "berth-init", "monitor");
    d.events = ev_bus_new();
    if (img_store_open(root, &d.store, &err) < 0 ||
        img_snap_open(d.store, driver, &d.snap, &err) < 0 ||
        vol_store_open(root, d.events, &d.volumes, &err) < 0) {
        log_error("%s", err->msg);
        return 1;
    }
    /* partial downloads stay: the next pull of those blobs continues them (store open sweeps
     * only the ones abandoned for a day) */
    struct eng_opts eo = {.root = root,
                          .exec_root = exec_root,
                          .runtime = rt,
                          .monitor = mon,
                          .init = ini,
                          .store = d.store,
                          .snap = d.snap,
                          .volumes = d.volumes,
                          .events = d.events};
    if (eng_open(&eo, &d.engine, &err) < 0) {
        log_error("%s", err->msg);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);

    struct api_server *srv = NULL;
    if (api_server_start(&d, hosts, gid, &srv, &err) < 0) {
        log_error("%s", err->msg);
        eng_close(d.engine);
        return 1;
    }
    /* libarchive (with libxml2 and ICU) goes when idle; the next archive loads it again */
    api_server_on_idle(srv, release_libs);
    if (pidfile != NULL) {
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
        if (write_file_atomic_at(AT_FDCWD, pidfile, buf, (size_t)len, 0644, &err) < 0)
            log_warn("%s", err->msg);
    }
    log_info("serving the Docker Engine API %s on %s", API_VERSION_MAX_STR, hosts[0]);
    while (stop_signal == 0)
        pause();
    log_info("stopping on signal %d; containers keep running", (int)stop_signal);
    api_server_stop(srv);
    eng_close(d.engine);
    if (pidfile != NULL)
        unlink(pidfile);
    vol_store_free(d.volumes);
    img_snap_close(d.snap);
    img_store_free(d.store);
    ev_bus_free(d.events);
    return 0;
}
