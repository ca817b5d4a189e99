/* The attach socket: a unix stream socket on which any number of clients exchange framed stdio
 * with the container. A frame is [type u8][0][0][0][length u32 big-endian] then length bytes.
 * Client to monitor: STDIN data, RESIZE (rows u16 BE, cols u16 BE), STDIN_END. Monitor to
 * client: STDOUT, STDERR. Clients see output from the time they connect; a slow client holds
 * its backlog in memory, and the monitor stops reading the container while any backlog is past
 * MON_ATTACH_BACKLOG_MAX, so nothing is dropped and the loop never blocks on a client. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum mon_frame {
    MON_FRAME_STDIN = 0,
    MON_FRAME_STDOUT = 1,
    MON_FRAME_STDERR = 2,
    MON_FRAME_RESIZE = 3,
    MON_FRAME_STDIN_END = 4,
};

#define MON_FRAME_HEADER 8
/* A client announcing a longer frame is dropped. */
#define MON_FRAME_MAX          (1024 * 1024)
#define MON_ATTACH_BACKLOG_MAX (1024 * 1024)
#define MON_ATTACH_CLIENTS_MAX 128

/* Callbacks into the monitor; client ids are unique for the monitor's lifetime. */
struct mon_attach_ops {
    void (*stdin_data)(void *ctx, uint64_t client, const char *buf, size_t len);
    /* The client sent STDIN_END, or went away after having sent any stdin frame. */
    void (*stdin_end)(void *ctx, uint64_t client);
    void (*resize)(void *ctx, unsigned rows, unsigned cols);
    /* No client's backlog is past the limit any more: output may be read again. */
    void (*drained)(void *ctx);
};

struct mon_attach;

/* Listen on path (mode 0600; a stale socket there is replaced). ops and ctx must outlive the
 * server. Freed with mon_attach_free, which closes every client and removes the socket. */
struct mon_attach *mon_attach_listen(const char *path, const struct mon_attach_ops *ops, void *ctx,
                                     struct berr **err);
void mon_attach_free(struct mon_attach *a);
/* Queue a frame to every client. */
void mon_attach_send(struct mon_attach *a, enum mon_frame type, const void *buf, size_t len);
/* Whether some client's backlog is past MON_ATTACH_BACKLOG_MAX. */
bool mon_attach_congested(struct mon_attach *a);
/* Stop (or resume) reading what clients send: the container's stdin is not keeping up. */
void mon_attach_pause_input(struct mon_attach *a, bool pause);
/* Stop accepting clients (those connected stay); for the monitor's last moments. */
void mon_attach_stop_accepting(struct mon_attach *a);
/* Whether every client's backlog has been written. */
bool mon_attach_flushed(const struct mon_attach *a);
