/* Signal forwarding and terminal relay for foreground processes. */
#include "runtime/foreground.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>

static void forwarded_set(sigset_t *set)
{
    sigfillset(set);
    /* Synchronous faults are ours, not the container's. */
    sigdelset(set, SIGSEGV);
    sigdelset(set, SIGBUS);
    sigdelset(set, SIGILL);
    sigdelset(set, SIGFPE);
    sigdelset(set, SIGABRT);
    sigdelset(set, SIGTRAP);
    sigdelset(set, SIGSYS);
}

void rt_foreground_block_signals(sigset_t *old)
{
    sigset_t set;
    forwarded_set(&set);
    sigprocmask(SIG_BLOCK, &set, old);
}

static void copy_winsize(int from, int to)
{
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) == 0)
        ioctl(to, TIOCSWINSZ, &ws);
}

/* Move what is readable from `from` to `to`; false at EOF or error. */
static bool relay(int from, int to)
{
    char buf[16384];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    return write_all(to, buf, (size_t)n) == 0;
}

int rt_foreground_wait(pid_t pid, int master_fd, int *exit_status, struct berr **err)
{
    sigset_t set;
    forwarded_set(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    _cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0)
        return berr_sys(err, "signalfd");

    struct termios saved;
    bool raw = false;
    int in_fd = master_fd >= 0 ? 0 : -1;
    if (master_fd >= 0 && isatty(0) && tcgetattr(0, &saved) == 0) {
        struct termios t = saved;
        cfmakeraw(&t);
        t.c_oflag = saved.c_oflag;
        raw = tcsetattr(0, TCSANOW, &t) == 0;
        copy_winsize(0, master_fd);
    }

    int status = 0;
    bool exited = false, master_open = master_fd >= 0;
    while (!exited) {
        struct pollfd pfd[3] = {
            {.fd = sfd, .events = POLLIN},
            {.fd = master_open ? master_fd : -1, .events = POLLIN},
            {.fd = master_open ? in_fd : -1, .events = POLLIN},
        };
        if (poll(pfd, 3, -1) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
            if (!relay(master_fd, 1))
                master_open = false;
        if (pfd[2].revents & (POLLIN | POLLHUP))
            if (!relay(in_fd, master_fd))
                in_fd = -1;
        if (!(pfd[0].revents & POLLIN))
            continue;
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof(si)) != sizeof(si))
            continue;
        if (si.ssi_signo == SIGWINCH && master_fd >= 0) {
            copy_winsize(0, master_fd);
        } else if (si.ssi_signo != SIGCHLD) {
            kill(pid, (int)si.ssi_signo);
            continue;
        }
        for (;;) {
            int st;
            pid_t r = waitpid(-1, &st, WNOHANG);
            if (r <= 0)
                break;
            if (r == pid) {
                status = st;
                exited = true;
            }
        }
    }
    /* Drain what the terminal still holds after the process is gone. */
    if (master_open) {
        fcntl(master_fd, F_SETFL, O_NONBLOCK);
        while (relay(master_fd, 1)) {
            struct pollfd p = {.fd = master_fd, .events = POLLIN};
            if (poll(&p, 1, 0) <= 0)
                break;
        }
    }
    if (raw)
        tcsetattr(0, TCSANOW, &saved);
    if (!exited)
        return berr_sys(err, "wait for the container process");
    *exit_status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    return 0;
}
