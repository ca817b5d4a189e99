/* berth-init: the small PID 1 that `docker run --init` puts in front of a container's command.
 * It runs the command as its only direct child, passes on every signal it can catch, reaps
 * every zombie the container produces, and exits with the command's status. Static, no heap. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fputs("usage: berth-init [--] COMMAND [ARGS...]\n"
          "Runs COMMAND as the child of a minimal init: signals are forwarded to it, orphaned\n"
          "processes are reaped, and the exit status is COMMAND's (128+N if signal N killed "
          "it).\n",
          f);
}

static _Noreturn void run_child(char **cmd, const sigset_t *mask)
{
    /* Its own process group, in the terminal's foreground when there is one, so that ^C goes
     * to the command and not to init (which would only forward it). SIGTTOU is still ignored
     * here, which tcsetpgrp from a background group needs. */
    setpgid(0, 0);
    if (isatty(STDIN_FILENO))
        tcsetpgrp(STDIN_FILENO, getpid());
    signal(SIGTTIN, SIG_DFL);
    signal(SIGTTOU, SIG_DFL);
    sigprocmask(SIG_SETMASK, mask, NULL);
    execvp(cmd[0], cmd);
    int e = errno;
    fprintf(stderr, "berth-init: exec %s: %s\n", cmd[0], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
}

int main(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "--") == 0) {
        first = 2;
    } else if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    } else if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("berth-init %s\n", BERTH_VERSION);
        return 0;
    } else if (argc > 1 && argv[1][0] == '-') {
        fprintf(stderr, "berth-init: unknown option %s (the command goes after --)\n", argv[1]);
        return 2;
    }
    if (first >= argc) {
        usage(stderr);
        return 2;
    }

    /* Every signal is taken synchronously, except those that report a fault of our own. A
     * blocked signal also reaches a namespace's init, which the kernel otherwise shields from
     * signals it has no handler for. */
    sigset_t all, old;
    sigfillset(&all);
    static const int own[] = {SIGFPE,  SIGILL, SIGSEGV, SIGBUS, SIGABRT,
                              SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        sigdelset(&all, own[i]);
    sigprocmask(SIG_BLOCK, &all, &old);
    /* A background init must not be stopped by touching the terminal. */
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);
    /* Outside a PID namespace (tests, nested use) orphans still come to us. */
    if (getpid() != 1)
        prctl(PR_SET_CHILD_SUBREAPER, 1);

    pid_t child = fork();
    if (child < 0) {
        fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
        return 1;
    }
    if (child == 0)
        run_child(argv + first, &old);
    setpgid(child, child);

    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig < 0)
            continue;
        if (sig != SIGCHLD) {
            kill(child, sig);
            continue;
        }
        int status, code = -1;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid == child)
                code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        }
        if (code >= 0)
            return code;
    }
}
