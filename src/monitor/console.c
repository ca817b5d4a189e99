/* The console socket: listen before the runtime starts, then take the pty master it sent. The
 * connection is accepted only after the runtime's create returns: a connected unix socket
 * queues the message until then, so no event handling is needed for it. */
#include "monitor/console.h"
#include "common/cleanup.h"

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

int mon_console_listen(const char *path, struct berr **err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path))
        return berr_set(err, ENAMETOOLONG,
                        "console socket path %s is too long for a unix socket; use a shorter "
                        "monitor directory",
                        path);
    strcpy(addr.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return berr_sys(err, "console socket");
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
    umask(old);
    if (r < 0)
        return berr_sys(err, "bind console socket %s", path);
    if (listen(fd, 1) < 0) {
        berr_sys(err, "listen on console socket %s", path);
        unlink(path);
        return -1;
    }
    return steal_fd(&fd);
}

int mon_console_receive(int listen_fd, struct berr **err)
{
    _cleanup_close_ int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) {
        if (errno == EAGAIN)
            return berr_code(err, EPROTO,
                             "the runtime never connected to the console socket although the "
                             "container has a terminal");
        return berr_sys(err, "accept on the console socket");
    }
    char name[256];
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    ssize_t r;
    do
        r = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return berr_sys(err, "receive the terminal from the console socket");
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
        c->cmsg_len != CMSG_LEN(sizeof(int)))
        return berr_code(err, EPROTO, "the runtime sent no terminal over the console socket");
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        berr_sys(err, "make the terminal nonblocking");
        close(fd);
        return -1;
    }
    return fd;
}
