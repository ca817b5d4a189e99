/* The event bus: every state change (container, image, volume, network, daemon) is published
 * here with Docker's type and action names, kept in a bounded ring for `since` queries, and
 * delivered to each subscriber (an /events stream) in order. Thread-safe. */
#pragma once

#include <jansson.h>
#include <stdint.h>

struct ev_bus;

struct ev_bus *ev_bus_new(void);
void ev_bus_free(struct ev_bus *b);

/* type: "container", "image", "volume", "network", "daemon". action: Docker's ("create",
 * "start", "die", "pull", "tag", "destroy"...; exec events as "exec_start: sh -c ..."). id: the
 * object's ID (image: the reference or the ID as Docker sends it). attrs: string attributes
 * (name, image, exitCode...), stolen, may be NULL. */
void ev_publish(struct ev_bus *b, const char *type, const char *action, const char *id,
                json_t *attrs);

/* An event as Docker's /events sends it: {"Type","Action","Actor":{"ID","Attributes"},
 * "scope":"local","time","timeNano"} plus the legacy "status","id","from" for containers and
 * images. */
struct ev_sub;
/* Subscribes; events already in the ring with timeNano >= since_ns (0: none) are delivered
 * first. */
struct ev_sub *ev_subscribe(struct ev_bus *b, int64_t since_ns);
/* The next event (caller decrefs), waiting up to timeout_ms (-1: forever); NULL on timeout or
 * when the bus is shutting down. */
json_t *ev_next(struct ev_sub *s, int timeout_ms);
/* An fd that is readable while events are pending (for poll with other fds). */
int ev_sub_fd(struct ev_sub *s);
void ev_unsubscribe(struct ev_sub *s);
