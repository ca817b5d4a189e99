/* A growable byte queue for the monitor's pending output (per attach client, container stdin).
 * Memory is taken only while bytes are pending, so an idle monitor holds next to nothing. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

struct mon_buf {
    char *data; /* owned; NULL while empty and released */
    size_t off; /* first pending byte */
    size_t len; /* pending bytes from off */
    size_t cap;
};

/* Queue n bytes (aborts on allocation failure, as every x-allocator does). */
void mon_buf_put(struct mon_buf *b, const void *p, size_t n);
/* Write as much as fd takes without blocking; returns bytes written or -1 with errno (EAGAIN
 * is not an error: 0 is returned). Drained buffers give their memory back. */
ssize_t mon_buf_write(struct mon_buf *b, int fd);
void mon_buf_release(struct mon_buf *b);
