/* Unix socket addresses for long paths: see unixsock.h. */
#include "common/unixsock.h"
#include "common/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Fills addr for path, opening its directory into *dirfd when the path is too long. */
static int make_addr(const char *path, struct sockaddr_un *addr, int *dirfd, struct berr **err)
{
    *addr = (struct sockaddr_un){.sun_family = AF_UNIX};
    *dirfd = -1;
    size_t len = strlen(path);
    if (len == 0)
        return berr_set(err, EINVAL, "empty unix socket path");
    if (len < sizeof(addr->sun_path)) {
        memcpy(addr->sun_path, path, len + 1);
        return 0;
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    _cleanup_free_ char *dir =
        slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    if (dir == NULL)
        return berr_set(err, ENOMEM, "unix socket %s", path);
    *dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dirfd < 0)
        return berr_sys(err, "unix socket %s: open %s", path, dir);
    int n = snprintf(addr->sun_path, sizeof(addr->sun_path), "/proc/self/fd/%d/%s", *dirfd, base);
    if (n < 0 || (size_t)n >= sizeof(addr->sun_path)) {
        close(*dirfd);
        *dirfd = -1;
        return berr_set(err, ENAMETOOLONG,
                        "unix socket %s: the name %s is too long for a socket address", path, base);
    }
    return 0;
}

int unix_bind(int fd, const char *path, struct berr **err)
{
    struct sockaddr_un addr;
    int dirfd;
    if (make_addr(path, &addr, &dirfd, err) < 0)
        return -1;
    unlink(addr.sun_path);
    int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
    int saved = errno;
    if (dirfd >= 0)
        close(dirfd);
    if (r < 0) {
        errno = saved;
        berr_sys(err, "bind %s", path);
        errno = saved;
        return -1;
    }
    return 0;
}

int unix_connect(int fd, const char *path, struct berr **err)
{
    struct sockaddr_un addr;
    int dirfd;
    if (make_addr(path, &addr, &dirfd, err) < 0)
        return -1;
    int r;
    do
        r = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    while (r < 0 && errno == EINTR);
    int saved = errno;
    if (dirfd >= 0)
        close(dirfd);
    if (r < 0) {
        errno = saved;
        berr_sys(err, "connect to %s", path);
        errno = saved;
        return -1;
    }
    return 0;
}
