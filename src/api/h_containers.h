/* Handlers shared between the container and exec endpoint files, and the attach session that
 * POST attach and the WebSocket attach share (h_attach.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "api/api.h"
#include "common/detachkeys.h"

/* Watches client input for the detach keys: copies in to out (which has room for len + 16),
 * holding back a partial key sequence; returns the bytes to forward and sets *detached when
 * the whole sequence arrived (input after it is dropped). */
struct api_detach {
    unsigned char keys[DETACH_KEYS_MAX];
    int n, matched;
};
size_t api_detach_filter(struct api_detach *d, const unsigned char *in, size_t len,
                         unsigned char *out, bool *detached);

/* POST /containers/{id}/attach (h_attach.c) */
void api_container_attach(struct api_req *r);

/* How an attach session's client speaks: the raw hijacked stream of POST attach or a
 * WebSocket (h_attach_ws.c). ctx is the adapter's own. */
#define API_PUMP_HEADROOM 16
enum api_pump_end {
    API_PUMP_OUTPUT_END, /* the output ended: the container stopped, or the monitor went */
    API_PUMP_DETACHED,   /* the client typed the detach keys */
    API_PUMP_CLIENT_END, /* the client ended the session, broke its protocol or went away */
};
struct api_pump_ops {
    /* Turns len bytes read from the client into stdin bytes, in place; returns how many. Sets
     * *over when the session ends after them (the adapter has answered the client). NULL:
     * the bytes are stdin as they are. */
    size_t (*decode)(void *ctx, unsigned char *buf, size_t len, bool *over);
    /* Sends len bytes of output of stream (1 stdout, 2 stderr) at buf to the client; the
     * API_PUMP_HEADROOM bytes before buf are free for a header. -1 when the client is gone. */
    int (*send)(void *ctx, int stream, unsigned char *buf, size_t len);
    /* The session is over; called once, last. */
    void (*finish)(void *ctx, enum api_pump_end why);
    /* The client is read even when stdin is not attached (its input is then decoded and
     * dropped): it sends control messages, a WebSocket's pings and close. */
    bool read_always;
    /* The client's EOF ends the session; otherwise it ends only stdin and output goes on (a
     * raw stream's half-close). */
    bool eof_ends;
};

struct api_attach_opts {
    bool in, out, err;       /* the streams attached */
    bool logs;               /* replay the container's log first */
    bool stream;             /* then join the live streams */
    const char *detach_keys; /* Docker's "ctrl-p,ctrl-q" syntax; NULL or "" for that default */
};

/* An attach session on client connection fd (extra: bytes already read from it): replays the
 * log, then joins the container's monitor (8-byte frames: 0 stdin, 1 stdout, 2 stderr, 4 stdin
 * end) and pumps until the output ends, the client detaches or goes; client input becomes
 * stdin frames through the detach-key matcher. Output and input pass through ops; ends with
 * ops->finish. */
void api_attach_session(struct eng *e, const char *id, const struct api_attach_opts *o, int fd,
                        const void *extra, size_t extra_len, const struct api_pump_ops *ops,
                        void *ctx);
