/* The monitor's one event loop: epoll over a handful of fds, each with a callback. The monitor
 * has no threads; everything it does happens in these callbacks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct mon_watch;
typedef void (*mon_watch_fn)(struct mon_watch *w, uint32_t events);

/* Embedded in whatever owns the fd; fn gets the watch back and finds its owner from it. */
struct mon_watch {
    int fd;
    mon_watch_fn fn;
    uint32_t events; /* EPOLL* mask now registered */
    bool registered;
};

#define mon_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

int mon_loop_init(struct berr **err);
/* Register w->fd for events (EPOLLIN, EPOLLOUT...) or change its mask. A registered fd gets
 * EPOLLHUP and EPOLLERR even with a mask of 0. */
int mon_loop_set(struct mon_watch *w, uint32_t events, struct berr **err);
/* Take w out of the loop (nothing happens if it is not in); do this before closing its fd. */
void mon_loop_remove(struct mon_watch *w);
/* Wait at most timeout_ms (-1: no limit) and run the callback of one ready fd. Returns 1 when a
 * callback ran, 0 on timeout, -1 on failure. */
int mon_loop_run_once(int timeout_ms, struct berr **err);
/* Milliseconds on CLOCK_MONOTONIC, for deadlines. */
int64_t mon_now_ms(void);
