/* Hook execution: fork, feed the state on stdin, collect stderr for the error message, wait with
 * a deadline. */
#include "runtime/hooks.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define HOOK_OUTPUT_MAX 2048

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void __attribute__((noreturn)) hook_child(const struct rt_hook *h, int in, int out)
{
    if (dup2(in, 0) < 0 || dup2(out, 2) < 0)
        _exit(127);
    /* A hook's stdout is not the container's business; keep it with stderr for diagnostics. */
    if (dup2(out, 1) < 0)
        _exit(127);
    cloexec_from(3);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    char *const default_args[] = {h->path, NULL};
    char *const empty_env[] = {NULL};
    execve(h->path, h->args ? h->args : default_args, h->env ? h->env : empty_env);
    dprintf(2, "exec %s: %s", h->path, strerror(errno));
    _exit(127);
}

static int run_one(const struct rt_hook *h, const char *kind, size_t idx, const char *state,
                   struct berr **err)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return berr_sys(err, "%s hook %zu: pipe", kind, idx);
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return berr_sys(err, "%s hook %zu: pipe", kind, idx);
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return berr_sys(err, "%s hook %zu: fork", kind, idx);
    }
    if (pid == 0)
        hook_child(h, in[0], out[1]);
    close(in[0]);
    close(out[1]);
    _cleanup_close_ int wfd = in[1];
    _cleanup_close_ int rfd = out[0];

    /* A hook may not read its stdin at all; never block on it. */
    fcntl(wfd, F_SETFL, O_NONBLOCK);
    fcntl(rfd, F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    size_t state_len = strlen(state), written = 0;
    char output[HOOK_OUTPUT_MAX + 1];
    size_t out_len = 0;
    long long deadline = h->timeout > 0 ? now_ms() + (long long)h->timeout * 1000 : -1;
    int status = 0;
    bool timed_out = false;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (deadline >= 0 && now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            timed_out = true;
            break;
        }
        struct pollfd pfd[2] = {{.fd = rfd, .events = POLLIN}, {.fd = -1}};
        if (wfd >= 0 && written < state_len)
            pfd[1] = (struct pollfd){.fd = wfd, .events = POLLOUT};
        int wait_ms = 10;
        poll(pfd, 2, wait_ms);
        if (pfd[1].revents & (POLLOUT | POLLERR | POLLHUP)) {
            ssize_t n = write(wfd, state + written, state_len - written);
            if (n > 0)
                written += (size_t)n;
            if (n < 0 && errno != EAGAIN)
                written = state_len;
            if (written == state_len)
                closep(&wfd);
        }
        if (pfd[0].revents & (POLLIN | POLLHUP)) {
            char tmp[512];
            ssize_t n = read(rfd, tmp, sizeof(tmp));
            if (n > 0 && out_len < HOOK_OUTPUT_MAX) {
                size_t take = (size_t)n < HOOK_OUTPUT_MAX - out_len ? (size_t)n
                                                                   : HOOK_OUTPUT_MAX - out_len;
                memcpy(output + out_len, tmp, take);
                out_len += take;
            }
        }
    }
    output[out_len] = 0;
    while (out_len > 0 && (output[out_len - 1] == '\n' || output[out_len - 1] == ' '))
        output[--out_len] = 0;

    if (timed_out)
        return berr_set(err, ETIMEDOUT, "%s hook %zu (%s) timed out after %d s", kind, idx,
                        h->path, h->timeout);
    if (WIFSIGNALED(status))
        return berr_set(err, ECHILD, "%s hook %zu (%s) killed by signal %d%s%s", kind, idx,
                        h->path, WTERMSIG(status), out_len ? ": " : "", output);
    if (WEXITSTATUS(status) != 0)
        return berr_set(err, ECHILD, "%s hook %zu (%s) exited with status %d%s%s", kind, idx,
                        h->path, WEXITSTATUS(status), out_len ? ": " : "", output);
    return 0;
}

int rt_hooks_run(const struct rt_hook_list *list, const char *kind, const char *state_json,
                 struct berr **err)
{
    for (size_t i = 0; i < list->n; i++)
        if (run_one(&list->hooks[i], kind, i, state_json, err) < 0)
            return -1;
    return 0;
}
