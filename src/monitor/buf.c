/* The monitor's byte queue: append at the tail, write from the head, and give memory back once
 * drained so that a burst of output does not stay resident for the container's lifetime. */
#include "monitor/buf.h"
#include "common/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Buffers up to this size are kept when drained: refilling them is the common case. */
#define KEEP_CAP 4096

void mon_buf_put(struct mon_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (b->off + b->len + n > b->cap) {
        if (b->off > 0) {
            memmove(b->data, b->data + b->off, b->len);
            b->off = 0;
        }
        if (b->len + n > b->cap) {
            size_t cap = b->cap ? b->cap : 1024;
            while (cap < b->len + n)
                cap *= 2;
            b->data = xrealloc(b->data, cap);
            b->cap = cap;
        }
    }
    memcpy(b->data + b->off + b->len, p, n);
    b->len += n;
}

ssize_t mon_buf_write(struct mon_buf *b, int fd)
{
    size_t done = 0;
    while (b->len > 0) {
        ssize_t r = write(fd, b->data + b->off, b->len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            return -1;
        }
        b->off += (size_t)r;
        b->len -= (size_t)r;
        done += (size_t)r;
    }
    if (b->len == 0) {
        b->off = 0;
        if (b->cap > KEEP_CAP)
            mon_buf_release(b);
    }
    return (ssize_t)done;
}

void mon_buf_release(struct mon_buf *b)
{
    free(b->data);
    *b = (struct mon_buf){0};
}
