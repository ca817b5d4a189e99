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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/process.h"
#include "common/xalloc.h"
#include "engine/engine_internal.h"

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
    pid_t pid = spawn_process((char *const *)argv, fds, 3, false, err);
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
