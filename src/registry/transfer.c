/* The serialized progress callback of pull and push. */
#include "registry/transfer.h"

void reg_events_init(struct reg_events *e, reg_event_fn fn, void *ctx)
{
    e->fn = fn;
    e->ctx = ctx;
    pthread_mutex_init(&e->lock, NULL);
}

void reg_events_destroy(struct reg_events *e)
{
    pthread_mutex_destroy(&e->lock);
}

void reg_events_emit(struct reg_events *e, enum reg_event_kind kind, const char *id,
                     uint64_t current, uint64_t total, const char *msg)
{
    if (e->fn == NULL)
        return;
    struct reg_event ev = {.kind = kind, .id = id, .current = current, .total = total, .msg = msg};
    pthread_mutex_lock(&e->lock);
    e->fn(e->ctx, &ev);
    pthread_mutex_unlock(&e->lock);
}
