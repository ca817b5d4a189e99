/* Starting berthd on demand: when the CLI's socket (a berth.sock) has nobody behind it, berthd
 * is started detached from the CLI (its own session, stdio to <socket dir>/berthd.log, no fd of
 * ours), and the CLI waits for it to answer. A lock beside the socket makes CLIs that race here
 * start one daemon; berthd's own lock on its data root guards the rest. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

#define START_WAIT_MS 10000
#define LOCK_WAIT_MS  20000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Next to the berth binary (an installation), where a build tree puts it (build/src/cli/berth
 * and build/src/daemon/berthd), else on PATH. */
static char *find_berthd(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        const char *const rel[] = {"berthd", "../daemon/berthd", "../sbin/berthd"};
        for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
            _cleanup_free_ char *cand = xasprintf("%s/%s", self, rel[i]);
            char real[PATH_MAX];
            if (access(cand, X_OK) == 0 && realpath(cand, real))
                return xstrdup(real);
        }
    }
    const char *path = getenv("PATH");
    _cleanup_free_ char *copy =
        xasprintf("%s:/usr/local/sbin:/usr/sbin:/sbin", path ? path : "/usr/local/bin:/usr/bin");
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        _cleanup_free_ char *cand = xasprintf("%s/berthd", d);
        if (access(cand, X_OK) == 0)
            return steal_ptr(&cand);
    }
    return NULL;
}

/* The last lines of the daemon's log, for a start that failed. */
static char *log_tail(const char *path)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xstrdup("(no log)");
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > 2048 ? size - 2048 : 0;
    char buf[2049];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, from);
    if (n <= 0)
        return xstrdup("(the log is empty)");
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    int lines = 0;
    char *p = buf + n;
    while (p > buf && lines < 10) {
        p--;
        if (*p == '\n')
            lines++;
    }
    if (*p == '\n')
        p++;
    return xstrdup(p);
}

static bool alive(pid_t pid)
{
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return false;
    /* not reaped yet by whoever adopted it */
    _cleanup_free_ char *statp = xasprintf("/proc/%d/stat", (int)pid);
    _cleanup_free_ char *stat = read_file_at(AT_FDCWD, statp, 4096, NULL, NULL);
    const char *close_paren = stat ? strrchr(stat, ')') : NULL;
    return !(close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z');
}

/* Runs argv detached: a new session, grandchild of ours (so nothing waits for it), stdin from
 * /dev/null, stdout and stderr to log, every other fd closed at exec. Returns its pid. */
static pid_t spawn_detached(char **argv, const char *log, struct berr **err)
{
    _cleanup_close_ int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0)
        return berr_sys(err, "open %s", log);
    _cleanup_close_ int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullfd < 0)
        return berr_sys(err, "open /dev/null");
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return berr_sys(err, "pipe");
    pid_t child = fork();
    if (child < 0) {
        close(p[0]);
        close(p[1]);
        return berr_sys(err, "fork");
    }
    if (child == 0) {
        close(p[0]);
        int report = -EIO;
        if (setsid() < 0) {
            report = -errno;
            (void)!write(p[1], &report, sizeof(report));
            _exit(1);
        }
        pid_t gc = fork();
        if (gc != 0) {
            report = gc > 0 ? (int)gc : -errno;
            (void)!write(p[1], &report, sizeof(report));
            _exit(0);
        }
        if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 || chdir("/") < 0)
            goto failed;
        cloexec_from(3);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < NSIG; s++)
            signal(s, SIG_DFL);
        execv(argv[0], argv);
    failed:
        report = -errno;
        (void)!write(p[1], &report, sizeof(report));
        _exit(127);
    }
    close(p[1]);
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    int got[2] = {0, 0};
    size_t have = 0;
    for (;;) {
        ssize_t n = read(p[0], (char *)got + have, sizeof(got) - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    close(p[0]);
    if (have < sizeof(int) || got[0] <= 0) {
        errno = have >= sizeof(int) && got[0] < 0 ? -got[0] : EIO;
        return berr_sys(err, "start %s", argv[0]);
    }
    if (have >= 2 * sizeof(int)) {
        errno = -got[1];
        return berr_sys(err, "run %s", argv[0]);
    }
    return (pid_t)got[0];
}

static int lock_start(const char *dir, int *out, struct berr **err)
{
    _cleanup_free_ char *path = xasprintf("%s/berthd-start.lock", dir);
    _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return berr_sys(err, "open %s", path);
    int64_t deadline = now_ms() + LOCK_WAIT_MS;
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            return berr_sys(err, "lock %s", path);
        if (now_ms() > deadline)
            return berr_code(err, ETIMEDOUT,
                             "another berth has been starting berthd for %d s (lock %s): check "
                             "%s/berthd.log",
                             LOCK_WAIT_MS / 1000, path, dir);
        sleep_ms(50);
    }
    *out = steal_fd(&fd);
    return 0;
}

static char *absolute(const char *path)
{
    if (path[0] == '/')
        return xstrdup(path);
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return xstrdup(path);
    return xasprintf("%s/%s", cwd, path);
}

int cli_daemon_autostart(const char *sock, const char *root, struct berr **err)
{
    _cleanup_free_ char *dir = xstrndup(sock, (size_t)(strrchr(sock, '/') - sock));
    if (dir[0] == '\0') {
        free(dir);
        dir = xstrdup("/");
    }
    if (mkdir_p(dir, 0711, err) < 0)
        return berr_wrap(err, "starting berthd for %s", sock);
    _cleanup_close_ int lock = -1;
    if (lock_start(dir, &lock, err) < 0)
        return -1;
    /* whoever held the lock before us may have started it */
    if (cli_api_ping(sock, NULL, 0) == 0)
        return 0;
    _cleanup_free_ char *berthd = find_berthd();
    if (berthd == NULL)
        return berr_code(err, ENOENT,
                         "no berthd answers on %s and none was found next to berth or on PATH: "
                         "install berthd, or start it yourself and point -H at its socket",
                         sock);
    _cleanup_free_ char *data_root = absolute(root);
    _cleanup_free_ char *host = xasprintf("unix://%s", sock);
    _cleanup_free_ char *pidfile = xasprintf("%s/berthd.pid", dir);
    _cleanup_free_ char *log = xasprintf("%s/berthd.log", dir);
    _cleanup_strv_ char **argv = xcalloc(1, sizeof(char *));
    strv_append(&argv, berthd);
    const char *const fixed[] = {"--data-root", data_root, "--exec-root", dir,
                                 "-H",          host,      "--pidfile",   pidfile};
    for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
        strv_append(&argv, fixed[i]);
    const char *driver = getenv("BERTH_STORAGE_DRIVER");
    if (driver && *driver) {
        strv_append(&argv, "--storage-driver");
        strv_append(&argv, driver);
    }
    const char *insecure = getenv("BERTH_INSECURE_REGISTRIES");
    if (insecure) {
        _cleanup_free_ char *copy = xstrdup(insecure);
        char *save = NULL;
        for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            strv_append(&argv, "--insecure-registry");
            strv_append(&argv, t);
        }
    }
    pid_t pid = spawn_detached(argv, log, err);
    if (pid < 0)
        return berr_wrap(err, "starting berthd for %s", sock);
    int64_t deadline = now_ms() + START_WAIT_MS;
    while (cli_api_ping(sock, NULL, 0) < 0) {
        if (!alive(pid)) {
            _cleanup_free_ char *tail = log_tail(log);
            return berr_code(err, EIO, "berthd (started for %s) exited; the end of %s:\n%s", sock,
                             log, tail);
        }
        if (now_ms() > deadline) {
            _cleanup_free_ char *tail = log_tail(log);
            return berr_code(err, ETIMEDOUT,
                             "berthd (pid %d, started for %s) did not answer within %d s; the "
                             "end of %s:\n%s",
                             (int)pid, sock, START_WAIT_MS / 1000, log, tail);
        }
        sleep_ms(50);
    }
    return 0;
}
