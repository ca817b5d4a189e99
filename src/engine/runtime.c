/* The engine's side of the processes it relies on: short berth-runc commands (their error
 * text captured for the API), and the watcher that learns through pidfds when a monitor ends,
 * i.e. when its container has exited. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/process.h"
#include "common/xalloc.h"
#include "engine/engine_internal.h"

/* ---- the runtime's sealed copy ----
 * berth-runc (like runc and crun) re-executes itself from a sealed memfd before it touches a
 * container, unless it already runs from one: a 2 MB copy and a second execve for every create
 * and exec. The daemon makes that copy once and executes it through /proc/<its pid>/fd/N. The
 * copy follows the file at the runtime's path (remade when it is replaced, e.g. by an upgrade);
 * one being replaced stays open until the last spawn that may use its path has returned. */
struct eng_rt_copy {
    int fd;
    unsigned users;
    struct stat st;
    char path[48];
};

/* copies bigger than this are left to the runtime (one per command, freed with it) */
#define RT_COPY_MAX (64u << 20)

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static struct eng_rt_copy *make_copy(struct eng *e)
{
    _cleanup_close_ int src = open(e->runtime, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (src < 0 || fstat(src, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > RT_COPY_MAX)
        return NULL;
    _cleanup_berr_ struct berr *err = NULL;
    int fd = sealed_copy_fd(src, "berth-runtime", &err);
    if (fd < 0) {
        log_debug("runtime %s: no sealed copy (%s): it makes its own", e->runtime, err->msg);
        return NULL;
    }
    struct eng_rt_copy *c = xcalloc(1, sizeof(*c));
    c->fd = fd;
    c->st = st;
    snprintf(c->path, sizeof(c->path), "/proc/%d/fd/%d", (int)getpid(), fd);
    return c;
}

static void free_copy(struct eng_rt_copy *c)
{
    close(c->fd);
    free(c);
}

const char *eng_runtime_acquire(struct eng *e, struct eng_rt_copy **held)
{
    *held = NULL;
    struct stat st;
    if (stat(e->runtime, &st) < 0)
        return e->runtime; /* the spawn reports what is wrong with it */
    pthread_mutex_lock(&e->rt_mu);
    struct eng_rt_copy *c = e->rt;
    if (c == NULL || !same_file(&c->st, &st)) {
        if (c != NULL && c->users == 0)
            free_copy(c);
        /* one still in use is freed by its last release, which finds it replaced */
        c = e->rt = make_copy(e);
    }
    if (c != NULL)
        c->users++;
    pthread_mutex_unlock(&e->rt_mu);
    *held = c;
    return c != NULL ? c->path : e->runtime;
}

void eng_runtime_release(struct eng *e, struct eng_rt_copy *held)
{
    if (held == NULL)
        return;
    pthread_mutex_lock(&e->rt_mu);
    bool drop = --held->users == 0 && e->rt != held;
    pthread_mutex_unlock(&e->rt_mu);
    if (drop)
        free_copy(held);
}

void eng_runtime_copy_free(struct eng *e)
{
    if (e->rt != NULL)
        free_copy(e->rt);
    e->rt = NULL;
}

void eng_runtime_forget(struct eng *e, const char *id)
{
    /* runc, crun and berth-runc all keep a container's state in <root>/<id>: with none there
     * is nothing to delete, and a process spawn is saved on every start and removal */
    _cleanup_free_ char *state = xasprintf("%s/%s", e->runtime_root, id);
    if (access(state, F_OK) < 0 && errno == ENOENT)
        return;
    eng_runtime(e, NULL, "delete", "--force", id, NULL);
}

/* Runs `runtime --root R ARGS...`; 0 when it exits 0, else -1 with its last stderr line. */
int eng_runtime(struct eng *e, struct berr **err, const char *arg0, ...)
{
    const char *argv[24];
    size_t n = 0;
    argv[n++] = e->runtime;
    argv[n++] = "--root";
    argv[n++] = e->runtime_root;
    argv[n++] = arg0;
    va_list ap;
    va_start(ap, arg0);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 23)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;

    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return berr_sys(err, "pipe");
    const int fds[3] = {-1, -1, p[1]};
    struct eng_rt_copy *held;
    const char *path = eng_runtime_acquire(e, &held);
    /* posix_spawn returns once the child has executed: the path is not needed after it */
    pid_t pid = spawn_process_path(path, (char *const *)argv, fds, 3, false, err);
    eng_runtime_release(e, held);
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    close(p[1]);
    char buf[8192];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(p[0], buf + len, sizeof(buf) - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == sizeof(buf) - 1) {
            /* keep the tail: the last error is what matters */
            memmove(buf, buf + len / 2, len - len / 2);
            len -= len / 2;
        }
    }
    close(p[0]);
    buf[len] = '\0';
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return berr_sys(err, "wait for %s", arg0);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    while (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    char *line = strrchr(buf, '\n');
    line = line != NULL ? line + 1 : buf;
    const char *prefix = "berth-runc: ";
    if (strncmp(line, prefix, strlen(prefix)) == 0)
        line += strlen(prefix);
    if (*line == '\0')
        return berr_code(err, EIO, "runtime %s failed with status %d", arg0,
                         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return berr_code(err, EIO, "%s", line);
}

int eng_watch_monitor(struct eng *e, struct ctr *c, struct berr **err)
{
    int fd = (int)syscall(SYS_pidfd_open, c->monitor_pid, 0);
    if (fd < 0)
        return berr_sys(err, "pidfd_open %d", (int)c->monitor_pid);
    pthread_mutex_lock(&e->mu);
    if (c->monitor_pidfd >= 0)
        close(c->monitor_pidfd);
    c->monitor_pidfd = fd;
    c->refs++; /* the watcher's */
    pthread_mutex_unlock(&e->mu);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int saved = errno;
        ctr_unref(e, c);
        errno = saved;
        return berr_sys(err, "watch monitor %d", (int)c->monitor_pid);
    }
    return 0;
}

struct exit_job {
    struct eng *e;
    struct ctr *c;
};

static void *exit_thread(void *arg)
{
    struct exit_job *j = arg;
    eng_handle_exit(j->e, j->c);
    ctr_unref(j->e, j->c);
    free(j);
    return NULL;
}

void *eng_watcher_main(void *arg)
{
    struct eng *e = arg;
    for (;;) {
        struct epoll_event evs[16];
        int n = epoll_wait(e->epfd, evs, 16, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("monitor watcher: %m");
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            struct ctr *c = evs[i].data.ptr;
            if (c == NULL)
                return NULL; /* the engine is closing */
            pthread_mutex_lock(&e->mu);
            int fd = c->monitor_pidfd;
            c->monitor_pidfd = -1;
            pthread_mutex_unlock(&e->mu);
            if (fd >= 0) {
                epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            }
            /* the exit work may restart the container: not on this thread */
            struct exit_job *j = xcalloc(1, sizeof(*j));
            j->e = e;
            j->c = c; /* the watcher's reference moves to the job */
            pthread_t th;
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            if (pthread_create(&th, &attr, exit_thread, j) != 0) {
                exit_thread(j);
            }
            pthread_attr_destroy(&attr);
        }
    }
}
