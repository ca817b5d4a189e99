/* Progress events shared by pull and push: transfer threads report through one serialized
 * callback, so the caller's printer never sees two calls at once. */
#pragma once

#include <pthread.h>

#include "registry/pull.h"

struct reg_events {
    reg_event_fn fn;
    void *ctx;
    pthread_mutex_t lock;
};

void reg_events_init(struct reg_events *e, reg_event_fn fn, void *ctx);
void reg_events_destroy(struct reg_events *e);
void reg_events_emit(struct reg_events *e, enum reg_event_kind kind, const char *id,
                     uint64_t current, uint64_t total, const char *msg);
