/* The parent/child handshake during container creation: typed messages over a SOCK_SEQPACKET
 * socketpair, so the child can report a precise error (errno and text) instead of just dying. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

enum rt_sync_type {
    RT_SYNC_GO = 1,         /* parent -> child: cgroup joined, id maps written */
    RT_SYNC_HOOKS,          /* child -> parent: run prestart/createRuntime hooks now */
    RT_SYNC_HOOKS_DONE,     /* parent -> child */
    RT_SYNC_READY,          /* child -> parent: set up, about to wait for start / exec */
    RT_SYNC_ERROR,          /* child -> parent: setup failed; text follows */
    RT_SYNC_PID,            /* child -> parent: a pid (exec's grandchild) */
};

/* Send a message with an optional payload (NUL-terminated text for ERROR). */
int rt_sync_send(int fd, enum rt_sync_type type, int32_t value, const char *text);
/* Receive one message. On EOF returns -1 with errno = EPIPE. *text (if non-NULL) receives a
 * malloc'd copy of the payload or NULL. */
int rt_sync_recv(int fd, enum rt_sync_type *type, int32_t *value, char **text);
/* Wait for a message of the wanted type; an ERROR message becomes *err with the child's text. */
int rt_sync_expect(int fd, enum rt_sync_type want, int32_t *value, struct berr **err);
/* Child side: report err (its errno and message) to the parent. */
void rt_sync_send_error(int fd, const struct berr *err);
