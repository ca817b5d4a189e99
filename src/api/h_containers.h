/* Handlers shared between the container and exec endpoint files. */
#pragma once

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

/* Pumps a hijacked client connection and a monitor-protocol socket (8-byte frames: 0 stdin,
 * 1 stdout, 2 stderr, 4 stdin end) until the output ends or the client detaches: client bytes
 * become stdin frames (unless !in), output frames go to the client raw (tty) or in Docker's
 * multiplexed framing. detach_keys: Docker's "ctrl-p,ctrl-q" syntax; NULL or "" for that
 * default, as Docker. */
void api_pump_session(int client, const void *extra, size_t extra_len, int mon, bool tty, bool in,
                      bool out, bool err, const char *detach_keys);
