/* Pty creation inside the container and fd passing over the console socket. */
#include "runtime/tty.h"
#include "common/cleanup.h"
#include "common/unixsock.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>

int rt_tty_connect(const char *path, struct berr **err)
{
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return berr_sys(err, "console socket");
    if (unix_connect(fd, path, err) < 0)
        return berr_wrap(err, "console socket");
    return steal_fd(&fd);
}

int rt_tty_send_fd(int sock, int fd, const char *name, struct berr **err)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof(cbuf));
    struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t r;
    do
        r = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return berr_sys(err, "send the terminal over the console socket");
    return 0;
}

int rt_tty_recv_fd(int sock, struct berr **err)
{
    char name[256];
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    ssize_t r;
    do
        r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return berr_sys(err, "receive the terminal");
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_type != SCM_RIGHTS)
        return berr_set(err, EPROTO, "no terminal received");
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

int rt_tty_setup(int sock, const struct rt_process *p, bool bind_console, struct berr **err)
{
    _cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return berr_sys(err, "open /dev/ptmx in the container (is devpts mounted on /dev/pts?)");
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        return berr_sys(err, "unlock pty");
    int ptn;
    if (ioctl(master, TIOCGPTN, &ptn) < 0)
        return berr_sys(err, "get pty number");
    char slave_path[64];
    snprintf(slave_path, sizeof(slave_path), "/dev/pts/%d", ptn);
    /* TIOCGPTPEER opens the peer of this very master, so a swapped /dev/pts cannot hand us
     * someone else's terminal. */
    _cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        slave = open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return berr_sys(err, "open %s", slave_path);
    if (p->has_console_size) {
        struct winsize ws = {.ws_row = (unsigned short)p->console_height,
                             .ws_col = (unsigned short)p->console_width};
        if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
            return berr_sys(err, "set terminal size");
    }
    if (bind_console) {
        struct stat st;
        if (lstat("/dev/console", &st) < 0) {
            _cleanup_close_ int fd =
                open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (fd < 0)
                return berr_sys(err, "create /dev/console");
        } else if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
            return berr_set(err, EINVAL, "/dev/console in the container is not a file");
        }
        if (mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0)
            return berr_sys(err, "bind %s on /dev/console", slave_path);
    }
    if (rt_tty_send_fd(sock, master, slave_path, err) < 0)
        return -1;
    closep(&master);
    if (setsid() < 0 && errno != EPERM)
        return berr_sys(err, "setsid");
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        return berr_sys(err, "make the pty the controlling terminal");
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0)
            return berr_sys(err, "dup the pty onto fd %d", i);
    return 0;
}
