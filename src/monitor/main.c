/* berth-monitor: one per container start. Parses and checks its arguments, detaches from berthd
 * (setsid, fork), runs the runtime's create with the stdio it holds, reports the container's pid
 * (or the runtime's error) on fd 3, then serves output, stdin and attach until the container
 * exits, and records how it exited in exit.json. */
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/process.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "monitor/attach.h"
#include "monitor/child.h"
#include "monitor/console.h"
#include "monitor/io.h"
#include "monitor/logfile.h"
#include "monitor/loop.h"
#include "monitor/oom.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

/* The contract with berthd, in short (usage() has the command line):
 *  - fd 3 gets one line once the runtime's create returns, then is closed: {"pid":N} or
 *    {"error":"..."}; on error the monitor removes what it made and exits non-zero.
 *  - --dir holds monitor.pid (written once detached), attach.sock (0600, see attach.h), and at
 *    the end exit.json: {"exit_code":N,"oom_killed":B,"finished_at":"RFC3339Nano","pid":N},
 *    written atomically before the attach socket goes away and the monitor exits 0.
 *  - the container is deleted (runtime delete --force) once it has exited. */

/* How long output may keep flowing after the container's process exits: something else in the
 * container (or a process that escaped it) may hold the pipes open forever. */
#define DRAIN_MS 2000
/* How long clients get to take their backlog before the monitor exits. */
#define CLIENT_FLUSH_MS   2000
#define DELETE_TIMEOUT_MS 30000
#define IDLE_TRIM_MS      3000
#define SYNC_FD           3

struct opts {
    char *id, *bundle, *runtime, *runtime_exec, *runtime_root, *dir, *log_path;
    uint64_t log_max_size;
    unsigned log_max_file;
    bool tty, stdin_open, stdin_once;
};

struct reaped {
    pid_t pid;
    int status;
    struct timespec when;
};

static struct monitor {
    struct opts o;
    int dirfd;
    int sync_fd;
    char *attach_path, *console_path, *runtime_log, *pid_path;
    struct mon_watch sig;
    struct mon_attach *attach;
    struct mon_log *log;
    bool log_created;
    struct mon_io *io;
    int console_fd;
    pid_t create_pid;
    int create_status;
    bool create_done;
    bool created; /* a container of ours exists: it must be deleted on the way out */
    pid_t init_pid;
    int init_status;
    bool init_exited;
    struct timespec finished_at;
    /* Children reaped before the init's pid is known: it may die before create returns. */
    struct reaped early[16];
    unsigned nearly;
    uint64_t stdin_owner;
    bool stdin_ended;
    struct mon_oom oom;
} M = {.dirfd = -1, .sync_fd = -1, .console_fd = -1};

static void warn(const char *msg)
{
    fprintf(stderr, "berth-monitor: %s%s%s\n", M.o.id ? M.o.id : "", M.o.id ? ": " : "", msg);
}

/* The one line berthd waits for on fd 3; sent once. */
static void sync_line(const char *json)
{
    if (M.sync_fd < 0)
        return;
    write_all(M.sync_fd, json, strlen(json));
    close(M.sync_fd);
    M.sync_fd = -1;
}

static void sync_error(const char *msg)
{
    size_t len = strlen(msg);
    _cleanup_free_ char *line = xmalloc(MON_JSON_ESCAPED_MAX(len) + 16);
    char *p = stpcpy(line, "{\"error\":");
    p += mon_json_escape(p, msg, len);
    strcpy(p, "}\n");
    sync_line(line);
}

/* ---- arguments ---- */

static void usage(FILE *f)
{
    fputs("usage: berth-monitor --id ID --bundle DIR --runtime PATH --runtime-root DIR --dir DIR\n"
          "                     [--log-path FILE] [--log-max-size BYTES] [--log-max-file N]\n"
          "                     [--tty] [--stdin] [--stdin-once] [--runtime-exec PATH]\n"
          "Runs one container through the OCI runtime and stays with it: holds its stdio, writes\n"
          "its json-file log, serves DIR/attach.sock and records DIR/exit.json. Started by\n"
          "berthd with fd 3 open for the one-line result of the container's creation.\n"
          "--runtime-exec names the file the runtime's create executes (berthd's sealed copy of\n"
          "the runtime); --runtime is still its argv[0] and what later commands execute.\n",
          f);
}

static int parse_u64(const char *opt, const char *s, uint64_t *v, struct berr **err)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno)
        return berr_code(err, EINVAL, "--%s %s: expected a whole number of bytes or files", opt, s);
    *v = n;
    return 0;
}

static char *absolute(const char *p)
{
    if (p[0] == '/')
        return xstrdup(p);
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return xstrdup(p);
    return xasprintf("%s/%s", cwd, p);
}

/* getopt_long would pull glibc's wide-character printf machinery into a binary that is meant to
 * stay small; the syntax here is the same: --name VALUE, --name=VALUE, and -- to end options. */
static int parse_args(int argc, char **argv, struct opts *o, struct berr **err)
{
    enum { FLAG, STRING, BYTES, COUNT };
    static const struct {
        const char *name;
        int kind;
        size_t off;
    } spec[] = {
        {"id", STRING, offsetof(struct opts, id)},
        {"bundle", STRING, offsetof(struct opts, bundle)},
        {"runtime", STRING, offsetof(struct opts, runtime)},
        {"runtime-exec", STRING, offsetof(struct opts, runtime_exec)},
        {"runtime-root", STRING, offsetof(struct opts, runtime_root)},
        {"dir", STRING, offsetof(struct opts, dir)},
        {"log-path", STRING, offsetof(struct opts, log_path)},
        {"log-max-size", BYTES, offsetof(struct opts, log_max_size)},
        {"log-max-file", COUNT, offsetof(struct opts, log_max_file)},
        {"tty", FLAG, offsetof(struct opts, tty)},
        {"stdin", FLAG, offsetof(struct opts, stdin_open)},
        {"stdin-once", FLAG, offsetof(struct opts, stdin_once)},
    };
    o->log_max_size = MON_LOG_DEFAULT_MAX_SIZE;
    o->log_max_file = MON_LOG_DEFAULT_MAX_FILE;
    int i = 1;
    for (; i < argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strncmp(a, "--", 2) != 0)
            break;
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "--version") == 0) {
            printf("berth-monitor %s\n", BERTH_VERSION);
            exit(0);
        }
        char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        size_t k = 0;
        while (k < ARRAY_SIZE(spec) &&
               (strlen(spec[k].name) != len || strncmp(spec[k].name, a + 2, len) != 0))
            k++;
        if (k == ARRAY_SIZE(spec))
            return berr_code(err, EINVAL, "unknown option %.*s (see --help)", (int)len + 2, a);
        char *field = (char *)o + spec[k].off;
        if (spec[k].kind == FLAG) {
            if (eq)
                return berr_code(err, EINVAL, "--%s takes no value", spec[k].name);
            *(bool *)field = true;
            continue;
        }
        char *val = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (val == NULL)
            return berr_code(err, EINVAL, "--%s needs a value", spec[k].name);
        if (spec[k].kind == STRING) {
            *(char **)field = val;
            continue;
        }
        uint64_t n = 0;
        if (parse_u64(spec[k].name, val, &n, err) < 0)
            return -1;
        if (spec[k].kind == BYTES) {
            *(uint64_t *)field = n;
        } else if (n < 1 || n > 1000) {
            return berr_code(err, EINVAL, "--%s %s: must be between 1 and 1000", spec[k].name, val);
        } else {
            *(unsigned *)field = (unsigned)n;
        }
    }
    if (i < argc)
        return berr_code(err, EINVAL, "unexpected argument %s (see --help)", argv[i]);
    const char *missing = !o->id             ? "--id"
                          : !o->bundle       ? "--bundle"
                          : !o->runtime      ? "--runtime"
                          : !o->runtime_root ? "--runtime-root"
                          : !o->dir          ? "--dir"
                                             : NULL;
    if (missing)
        return berr_code(err, EINVAL, "%s is required (see --help)", missing);
    if (!*o->id || strchr(o->id, '/'))
        return berr_code(err, EINVAL, "--id %s: not a valid container id", o->id);
    if (o->log_path && !*o->log_path)
        return berr_code(err, EINVAL, "--log-path is empty");
    return 0;
}

/* Everything that can be checked before detaching, so that a bad call fails at once. */
static int check_paths(struct opts *o, struct berr **err)
{
    o->dir = absolute(o->dir);
    o->bundle = absolute(o->bundle);
    o->runtime_root = absolute(o->runtime_root);
    if (o->log_path)
        o->log_path = absolute(o->log_path);
    if (strchr(o->runtime, '/')) {
        o->runtime = absolute(o->runtime);
        if (access(o->runtime, X_OK) < 0)
            return berr_sys(err, "--runtime %s", o->runtime);
    }
    M.dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (M.dirfd < 0)
        return berr_sys(err, "--dir %s (berthd makes it before starting the monitor)", o->dir);
    struct stat st;
    if (stat(o->bundle, &st) < 0)
        return berr_sys(err, "--bundle %s", o->bundle);
    if (!S_ISDIR(st.st_mode))
        return berr_code(err, ENOTDIR, "--bundle %s is not a directory", o->bundle);
    M.attach_path = xasprintf("%s/attach.sock", o->dir);
    M.console_path = xasprintf("%s/console.sock", o->dir);
    M.runtime_log = xasprintf("%s/runtime.log", o->dir);
    M.pid_path = xasprintf("%s/pid", o->dir);
    if (strlen(M.console_path) >= 108)
        return berr_code(err, ENAMETOOLONG,
                         "--dir %s is too long for unix socket paths inside it (at most 95 bytes)",
                         o->dir);
    return 0;
}

/* ---- children ---- */

static void reap(void)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if (pid == M.create_pid) {
            M.create_done = true;
            M.create_status = status;
        } else if (M.init_pid > 0 && pid == M.init_pid) {
            M.init_exited = true;
            M.init_status = status;
            M.finished_at = now;
        } else if (M.init_pid == 0) {
            M.early[M.nearly++ % ARRAY_SIZE(M.early)] = (struct reaped){pid, status, now};
        }
    }
}

static void sig_event(struct mon_watch *w, uint32_t events)
{
    struct signalfd_siginfo si;
    while (read(w->fd, &si, sizeof(si)) == sizeof(si))
        ;
    reap();
}

static char **runtime_argv(const char *cmd)
{
    char **v = NULL;
    strv_append(&v, M.o.runtime);
    strv_append(&v, "--root");
    strv_append(&v, M.o.runtime_root);
    if (strcmp(cmd, "create") == 0) {
        strv_append(&v, "--log");
        strv_append(&v, M.runtime_log);
        strv_append(&v, "--log-format");
        strv_append(&v, "json");
        strv_append(&v, "create");
        strv_append(&v, "--bundle");
        strv_append(&v, M.o.bundle);
        strv_append(&v, "--pid-file");
        strv_append(&v, M.pid_path);
        if (M.o.tty) {
            strv_append(&v, "--console-socket");
            strv_append(&v, M.console_path);
        }
    } else {
        strv_append(&v, "delete");
        strv_append(&v, "--force");
    }
    strv_append(&v, M.o.id);
    return v;
}

static void delete_container(void)
{
    if (!M.created)
        return;
    M.created = false;
    _cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int fds[3] = {null, null, null};
    _cleanup_strv_ char **argv = runtime_argv("delete");
    struct berr *err = NULL;
    pid_t pid = spawn_process(argv, fds, 3, true, &err);
    if (pid < 0) {
        warn(err->msg);
        berr_free(err);
        return;
    }
    int status = mon_wait_child(pid, DELETE_TIMEOUT_MS);
    if (status != 0 && !(WIFEXITED(status) && M.init_exited)) {
        /* After the container exited a failure usually means berthd deleted it first. */
        _cleanup_free_ char *msg =
            xasprintf("%s delete --force failed (status %d)", M.o.runtime, status);
        warn(msg);
    }
}

/* ---- failure before the container is handed over ---- */

static void remove_made(void)
{
    mon_attach_free(steal_ptr(&M.attach));
    unlink(M.console_path);
    unlinkat(M.dirfd, "pid", 0);
    unlinkat(M.dirfd, "runtime.log", 0);
    unlinkat(M.dirfd, "monitor.pid", 0);
    if (M.log_created)
        unlink(M.o.log_path);
}

static _Noreturn void startup_failed(const char *msg)
{
    sync_error(msg);
    warn(msg);
    delete_container();
    remove_made();
    exit(1);
}

static _Noreturn void startup_failed_err(struct berr *err)
{
    startup_failed(err ? err->msg : "unknown error");
}

/* ---- attach callbacks ---- */

static void on_stdin(void *ctx, uint64_t client, const char *buf, size_t len)
{
    if (!M.o.stdin_open || M.stdin_ended)
        return;
    if (M.stdin_owner == 0)
        M.stdin_owner = client;
    mon_io_write_stdin(M.io, buf, len);
}

static void on_stdin_end(void *ctx, uint64_t client)
{
    if (M.stdin_owner == 0)
        M.stdin_owner = client;
    /* Docker's StdinOnce: the first client to attach stdin decides when it ends; never on a
     * terminal, which a client leaves with the detach keys and comes back to. */
    if (M.o.stdin_once && !M.o.tty && client == M.stdin_owner && !M.stdin_ended) {
        M.stdin_ended = true;
        mon_io_close_stdin(M.io);
    }
}

static void on_resize(void *ctx, unsigned rows, unsigned cols)
{
    mon_io_resize(M.io, rows, cols);
}

static void on_drained(void *ctx)
{
    mon_io_resume(M.io);
}

static const struct mon_attach_ops attach_ops = {
    .stdin_data = on_stdin,
    .stdin_end = on_stdin_end,
    .resize = on_resize,
    .drained = on_drained,
};

/* ---- phases ---- */

/* Returns whether something happened. */
static bool run_once(int timeout_ms)
{
    struct berr *err = NULL;
    int r = mon_loop_run_once(timeout_ms, &err);
    if (r < 0) {
        /* Not expected; giving up would orphan the container, so keep trying. */
        warn(err->msg);
        berr_free(err);
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    return r != 0;
}

static void daemonize(void)
{
    /* EPERM only when already a process group leader: then the fork below still detaches. */
    setsid();
    pid_t pid = fork();
    if (pid < 0) {
        struct berr *err = NULL;
        berr_sys(&err, "fork");
        sync_error(err->msg);
        warn(err->msg);
        exit(1);
    }
    if (pid > 0)
        _exit(0);
}

static void setup_signals(void)
{
    struct sigaction ign = {.sa_handler = SIG_IGN};
    /* The monitor must outlive nothing less than its container. */
    sigaction(SIGTERM, &ign, NULL);
    sigaction(SIGINT, &ign, NULL);
    sigaction(SIGHUP, &ign, NULL);
    sigaction(SIGPIPE, &ign, NULL);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    M.sig.fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    M.sig.fn = sig_event;
}

static void start(void)
{
    struct berr *err = NULL;
    /* Buffers past 64 KiB (a lagging client's backlog, a long line's batch) get mappings of
     * their own, so they go back to the kernel when freed instead of staying in the heap of a
     * monitor that then idles for weeks. */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        startup_failed("prctl(PR_SET_CHILD_SUBREAPER) failed: the container's process could not "
                       "be waited for");
    setup_signals();
    if (chdir("/") < 0)
        startup_failed("chdir /");
    umask(022);
    /* Leftovers of an earlier start in a reused directory would speak for this one. */
    unlinkat(M.dirfd, "exit.json", 0);
    unlinkat(M.dirfd, "runtime.log", 0);
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    if (write_file_atomic_at(M.dirfd, "monitor.pid", pid, strlen(pid), 0644, &err) < 0)
        startup_failed_err(err);
    if (M.sig.fd < 0 || mon_loop_init(&err) < 0 || mon_loop_set(&M.sig, EPOLLIN, &err) < 0)
        startup_failed(err ? err->msg : "signalfd failed");
    M.attach = mon_attach_listen(M.attach_path, &attach_ops, NULL, &err);
    if (M.attach == NULL)
        startup_failed_err(err);
    if (M.o.log_path) {
        M.log =
            mon_log_open(M.o.log_path, M.o.log_max_size, M.o.log_max_file, &M.log_created, &err);
        if (M.log == NULL)
            startup_failed_err(err);
    }
    struct mon_io_params p = {.tty = M.o.tty,
                              .stdin_open = M.o.stdin_open,
                              .log = M.log,
                              .attach = M.attach,
                              .warn = warn};
    int child_fds[3];
    M.io = mon_io_new(&p, child_fds, &err);
    if (M.io == NULL)
        startup_failed_err(err);
    if (M.o.tty) {
        M.console_fd = mon_console_listen(M.console_path, &err);
        if (M.console_fd < 0)
            startup_failed_err(err);
    }
    unlinkat(M.dirfd, "pid", 0);
    _cleanup_strv_ char **argv = runtime_argv("create");
    mon_io_hold_stderr(M.io);
    /* the daemon's sealed copy of the runtime when it passed one (for this create only: the
     * path is the daemon's fd and means nothing once the daemon has gone) */
    M.create_pid = spawn_process_path(M.o.runtime_exec ? M.o.runtime_exec : argv[0], argv,
                                      child_fds, 3, true, &err);
    mon_io_close_child_side(M.io);
    if (M.create_pid < 0)
        startup_failed_err(err);
}

static pid_t read_pid_file(struct berr **err)
{
    _cleanup_free_ char *text = read_file_at(AT_FDCWD, M.pid_path, 64, NULL, err);
    if (text == NULL)
        return berr_wrap(err, "the runtime's pid file");
    char *end;
    long pid = strtol(text, &end, 10);
    while (*end == '\n' || *end == ' ')
        end++;
    if (pid <= 0 || pid > INT_MAX || *end)
        return berr_code(err, EINVAL, "the runtime's pid file %s holds no pid: \"%s\"", M.pid_path,
                         text);
    return (pid_t)pid;
}

/* The init must be ours to wait for: a child by way of PR_SET_CHILD_SUBREAPER. */
static int adopt_init(pid_t pid, struct berr **err)
{
    M.init_pid = pid;
    unsigned n = M.nearly < ARRAY_SIZE(M.early) ? M.nearly : ARRAY_SIZE(M.early);
    for (unsigned i = 0; i < n; i++) {
        if (M.early[i].pid == pid) {
            M.init_exited = true;
            M.init_status = M.early[i].status;
            M.finished_at = M.early[i].when;
            return 0;
        }
    }
    siginfo_t si = {0};
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
        return berr_sys(err, "container process %d is not a child of the monitor", (int)pid);
    return 0;
}

static void created(void)
{
    if (M.create_status != 0) {
        size_t len;
        const char *held = mon_io_held_stderr(M.io, &len);
        _cleanup_free_ char *msg = mon_runtime_error(M.runtime_log, held, len, M.create_status);
        startup_failed(msg);
    }
    M.created = true;
    struct berr *err = NULL;
    pid_t pid = read_pid_file(&err);
    if (pid < 0 || adopt_init(pid, &err) < 0)
        startup_failed_err(err);
    if (M.o.tty) {
        int master = mon_console_receive(M.console_fd, &err);
        if (master < 0 || mon_io_set_terminal(M.io, master, &err) < 0)
            startup_failed_err(err);
        close(M.console_fd);
        M.console_fd = -1;
        unlink(M.console_path);
    }
    mon_oom_init(&M.oom, pid);
    mon_io_release_stderr(M.io, true);
    char line[64];
    snprintf(line, sizeof(line), "{\"pid\":%d}\n", (int)pid);
    sync_line(line);
}

static void finish(void)
{
    mon_io_finish(M.io);
    bool oom = mon_oom_killed(&M.oom);
    delete_container();
    char ts[MON_TIME_LEN];
    mon_format_time(ts, &M.finished_at);
    _cleanup_free_ char *json =
        xasprintf("{\"exit_code\":%d,\"oom_killed\":%s,\"finished_at\":\"%s\",\"pid\":%d}\n",
                  mon_exit_code(M.init_status), oom ? "true" : "false", ts, (int)M.init_pid);
    struct berr *err = NULL;
    if (write_file_atomic_at(M.dirfd, "exit.json", json, strlen(json), 0644, &err) < 0) {
        warn(err->msg);
        berr_free(err);
    }
    mon_attach_stop_accepting(M.attach);
    int64_t deadline = mon_now_ms() + CLIENT_FLUSH_MS;
    for (int64_t now; !mon_attach_flushed(M.attach) && (now = mon_now_ms()) < deadline;)
        run_once((int)(deadline - now));
    mon_attach_free(steal_ptr(&M.attach));
    mon_io_free(steal_ptr(&M.io));
    mon_log_free(steal_ptr(&M.log));
    mon_oom_free(&M.oom);
}

int main(int argc, char **argv)
{
    M.sync_fd = fcntl(SYNC_FD, F_GETFD) >= 0 ? SYNC_FD : -1;
    /* Closed stdio would let our own fds land on 0-2, and then in the runtime's stdio. */
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
            return 1;
    cloexec_from(SYNC_FD);

    struct berr *err = NULL;
    if (parse_args(argc, argv, &M.o, &err) < 0 || check_paths(&M.o, &err) < 0) {
        sync_error(err->msg);
        warn(err->msg);
        berr_free(err);
        return 2;
    }
    daemonize();
    start();
    while (!M.create_done)
        run_once(-1);
    created();
    /* A monitor idles for most of its life: once a burst of output is over, the heap pages it
     * used go back to the kernel. */
    bool busy = true;
    while (!M.init_exited) {
        if (run_once(IDLE_TRIM_MS)) {
            busy = true;
        } else if (busy) {
            malloc_trim(0);
            busy = false;
        }
    }
    mon_io_close_stdin(M.io);
    mon_io_drain(M.io);
    int64_t deadline = mon_now_ms() + DRAIN_MS;
    for (int64_t now; !mon_io_outputs_done(M.io) && (now = mon_now_ms()) < deadline;)
        run_once((int)(deadline - now));
    finish();
    return 0;
}
