/* epoll plumbing for the monitor: registration with a per-fd callback and a single-event wait.
 * One event per wait keeps callbacks free to close and free any watch, including ones that
 * would otherwise still sit later in the same batch of ready events. */
#include "monitor/loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <time.h>

static int epfd = -1;

int mon_loop_init(struct berr **err)
{
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        return berr_sys(err, "epoll_create1");
    return 0;
}

int mon_loop_set(struct mon_watch *w, uint32_t events, struct berr **err)
{
    if (w->registered && events == w->events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (epoll_ctl(epfd, w->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev) < 0)
        return berr_sys(err, "watch fd %d", w->fd);
    w->events = events;
    w->registered = true;
    return 0;
}

void mon_loop_remove(struct mon_watch *w)
{
    if (!w->registered)
        return;
    epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->registered = false;
    w->events = 0;
}

int mon_loop_run_once(int timeout_ms, struct berr **err)
{
    struct epoll_event ev;
    int n = epoll_wait(epfd, &ev, 1, timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return berr_sys(err, "epoll_wait");
    }
    if (n == 0)
        return 0;
    struct mon_watch *w = ev.data.ptr;
    w->fn(w, ev.events);
    return 1;
}

int64_t mon_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
