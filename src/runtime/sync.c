/* Parent/child handshake messages. */
#include "runtime/sync.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define SYNC_MAX_TEXT (64 * 1024)

struct sync_hdr {
    uint32_t type;
    int32_t value;
};

int rt_sync_send(int fd, enum rt_sync_type type, int32_t value, const char *text)
{
    _cleanup_free_ char *buf = xmalloc(sizeof(struct sync_hdr) + SYNC_MAX_TEXT);
    struct sync_hdr h = {.type = type, .value = value};
    size_t len = sizeof(h);
    memcpy(buf, &h, sizeof(h));
    if (text) {
        size_t tl = strnlen(text, SYNC_MAX_TEXT - 1);
        memcpy(buf + len, text, tl);
        len += tl;
        buf[len++] = 0;
    }
    for (;;) {
        ssize_t r = send(fd, buf, len, MSG_NOSIGNAL);
        if (r >= 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

int rt_sync_recv(int fd, enum rt_sync_type *type, int32_t *value, char **text)
{
    size_t cap = sizeof(struct sync_hdr) + SYNC_MAX_TEXT + 1;
    _cleanup_free_ char *buf = xmalloc(cap);
    ssize_t r;
    do
        r = recv(fd, buf, cap - 1, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -1;
    if (r < (ssize_t)sizeof(struct sync_hdr)) {
        errno = EPIPE;
        return -1;
    }
    struct sync_hdr h;
    memcpy(&h, buf, sizeof(h));
    *type = (enum rt_sync_type)h.type;
    if (value)
        *value = h.value;
    if (text) {
        *text = NULL;
        if (r > (ssize_t)sizeof(h)) {
            buf[r] = 0;
            *text = xstrdup(buf + sizeof(h));
        }
    }
    return 0;
}

int rt_sync_expect(int fd, enum rt_sync_type want, int32_t *value, struct berr **err)
{
    enum rt_sync_type type;
    int32_t v = 0;
    _cleanup_free_ char *text = NULL;
    if (rt_sync_recv(fd, &type, &v, &text) < 0) {
        if (errno == EPIPE)
            return berr_set(err, EPIPE, "container init exited during setup");
        return berr_sys(err, "read from container init");
    }
    if (type == RT_SYNC_ERROR) {
        struct berr *e = xzalloc(sizeof(*e));
        e->errnum = v;
        e->msg = text ? steal_ptr(&text) : xstrdup("container setup failed");
        if (err && *err == NULL)
            *err = e;
        else
            berr_free(e);
        return -1;
    }
    if (type != want)
        return berr_set(err, EPROTO, "container init: unexpected message %d (wanted %d)", type,
                        want);
    if (value)
        *value = v;
    return 0;
}

void rt_sync_send_error(int fd, const struct berr *err)
{
    rt_sync_send(fd, RT_SYNC_ERROR, err ? err->errnum : 0, err ? err->msg : "setup failed");
}
