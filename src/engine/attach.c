/* Attach and resize: connections to a container's monitor. An attach made before the container
 * starts (docker run's order: attach, wait, start) waits for the monitor and holds the start
 * back until it is connected, so no output is missed. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "common/unixsock.h"
#include "engine/engine_internal.h"

static int connect_monitor(struct eng *e, struct ctr *c, struct berr **err)
{
    _cleanup_free_ char *path = ctr_run_path(e, c, "attach.sock");
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return berr_sys(err, "socket");
    if (unix_connect(fd, path, err) < 0)
        return berr_wrap(err, "the monitor of %s", c->id);
    return steal_fd(&fd);
}

int eng_attach(struct eng *e, const char *ref, int cancel_fd, struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    int fd = -1;
    pthread_mutex_lock(&e->mu);
    const char *st = ctr_status(c);
    bool live = strcmp(st, "running") == 0 || strcmp(st, "paused") == 0;
    if (live && !c->monitor_ready) {
        pthread_mutex_unlock(&e->mu);
        fd = connect_monitor(e, c, err);
        ctr_unref(e, c);
        return fd;
    }
    /* not running: wait for the next start's monitor */
    c->attach_pending++;
    while (!c->monitor_ready && !c->removed && !e->closing) {
        st = ctr_status(c);
        if (strcmp(st, "running") == 0 && !c->monitor_ready)
            break;
        struct timespec deadline;
        time_deadline_ms(&deadline, 200);
        pthread_cond_timedwait(&e->changed, &e->mu, &deadline);
        if (cancel_fd >= 0) {
            /* only a full hang-up: a client that closed just its stdin still wants output */
            struct pollfd p = {.fd = cancel_fd, .events = 0};
            if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
                break;
        }
    }
    bool ready = c->monitor_ready || (strcmp(ctr_status(c), "running") == 0);
    pthread_mutex_unlock(&e->mu);
    if (ready)
        fd = connect_monitor(e, c, err);
    else
        berr_code(err, ECANCELED, "attach to %s ended before the container started", c->id);
    pthread_mutex_lock(&e->mu);
    c->attach_pending--;
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->mu);
    ctr_unref(e, c);
    return fd;
}

int eng_resize(struct eng *e, const char *ref, int height, int width, struct berr **err)
{
    if (height < 0 || width < 0 || height > 65535 || width > 65535)
        return berr_code(err, EINVAL, "invalid terminal size %dx%d", height, width);
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    pthread_mutex_lock(&e->mu);
    bool live = strcmp(ctr_status(c), "running") == 0 || c->monitor_ready;
    pthread_mutex_unlock(&e->mu);
    int rc = -1;
    if (!live) {
        berr_code(err, EBUSY, "Container %s is not running", c->id);
    } else {
        _cleanup_close_ int fd = connect_monitor(e, c, err);
        if (fd >= 0) {
            unsigned char msg[12] = {3, 0, 0, 0, 0, 0, 0, 4};
            msg[8] = (unsigned char)(height >> 8);
            msg[9] = (unsigned char)height;
            msg[10] = (unsigned char)(width >> 8);
            msg[11] = (unsigned char)width;
            rc = write_all(fd, msg, sizeof(msg)) < 0 ? berr_sys(err, "resize") : 0;
        }
    }
    ctr_unref(e, c);
    return rc;
}
