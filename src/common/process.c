/* posix_spawn rather than fork: glibc's runs the child on the caller's memory until exec
 * (CLONE_VM|CLONE_VFORK), so a daemon with many threads and a large heap pays no page-table
 * copy per runtime command; fds are handed over explicitly and all others closed in the child,
 * so nothing of the daemon's (sockets, pidfds, log files) reaches a runtime or a container
 * even if one was opened without O_CLOEXEC. */
#include "common/process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

extern char **environ;

pid_t spawn_process(char *const argv[], const int *fds, int nfds, bool search, struct berr **err)
{
    return spawn_process_path(argv[0], argv, fds, nfds, search, err);
}

pid_t spawn_process_path(const char *path, char *const argv[], const int *fds, int nfds,
                         bool search, struct berr **err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    int rc = 0;
    for (int i = 0; i < nfds && rc == 0; i++)
        rc = fds[i] >= 0 ? posix_spawn_file_actions_adddup2(&fa, fds[i], i)
                         : posix_spawn_file_actions_addopen(&fa, i, "/dev/null", O_RDWR, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, nfds);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (rc == 0)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    if (rc == 0)
        rc = search ? posix_spawnp(&pid, path, &fa, &attr, argv, environ)
                    : posix_spawn(&pid, path, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return berr_set(err, rc, "run %s", argv[0]);
    return pid;
}
