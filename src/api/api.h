/* The contract between berthd's HTTP server and the Docker Engine API handlers: routes, the
 * request as a handler sees it, and the ways a handler answers (a JSON body, an error, a
 * chunked stream written from a worker thread, or a hijacked connection for attach and exec).
 * The server owns every request and response object; handlers never see libmicrohttpd. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct img_store;
struct img_snapshotter;
struct eng;
struct vol_store;
struct ev_bus;

/* What handlers reach; one per daemon, alive as long as the server. Members may be used from
 * any thread: each module they point to does its own locking. */
struct api_daemon {
    char *root;    /* data root, /var/lib/berth */
    char *run_dir; /* /run/berth */
    struct img_store *store;
    struct img_snapshotter *snap;
    struct eng *engine;
    struct vol_store *volumes;
    struct ev_bus *events;
    char **insecure_registries; /* NULL-terminated, may be NULL */
    int64_t started;            /* unix seconds */
};

/* API versions as major*100+minor: 1.24 is 124. */
#define API_VERSION_MIN     124
#define API_VERSION_MAX     147
#define API_VERSION_MAX_STR "1.47"
#define API_VERSION_MIN_STR "1.24"

struct api_req;

enum api_route_flags {
    /* The body is not buffered: the handler runs in its own thread while the upload arrives
     * and reads it from api_body_fd() (image load, import, archive PUT, build). */
    API_BODY_STREAM = 1 << 0,
};

typedef void (*api_handler_fn)(struct api_req *r);

/* A pattern is a path with {name} segments; {name*} matches one or more segments, as few as
 * the rest of the pattern allows (image names hold slashes: /images/{name*}/json). */
struct api_route {
    const char *method;
    const char *pattern;
    api_handler_fn fn;
    unsigned flags;
};

/* Route tables, each ended by an entry with a NULL method. One per handler file. */
extern const struct api_route api_system_routes[];
extern const struct api_route api_image_routes[];
extern const struct api_route api_container_routes[];
extern const struct api_route api_exec_routes[];
extern const struct api_route api_volume_routes[];
extern const struct api_route api_network_routes[];
extern const struct api_route api_stats_routes[];
extern const struct api_route api_archive_routes[];
extern const struct api_route api_commit_routes[];
extern const struct api_route api_attach_ws_routes[];

/* ---- The request ---- */
struct api_daemon *api_daemon(struct api_req *r);
const char *api_method(struct api_req *r);
/* The path without its /vX.Y prefix, percent-decoded. */
const char *api_path(struct api_req *r);
/* The API version the client asked for (its /vX.Y prefix), or API_VERSION_MAX. */
int api_version(struct api_req *r);
/* A {name} from the route's pattern (never NULL for a name the pattern has). */
const char *api_param(struct api_req *r, const char *name);
/* Query arguments, decoded; NULL when absent. */
const char *api_query(struct api_req *r, const char *key);
/* Docker's booleans: "1", "true", "True" are true; "0", "false", "" false; absent: dflt. */
bool api_query_bool(struct api_req *r, const char *key, bool dflt);
/* An integer argument; absent: dflt. Returns -1 (and replies 400) when it is not a number. */
int api_query_int(struct api_req *r, const char *key, int64_t dflt, int64_t *out);
/* Every value of a repeated argument (NULL-terminated, borrowed). */
const char *const *api_query_all(struct api_req *r, const char *key);
/* A request header, or NULL. */
const char *api_header(struct api_req *r, const char *name);
/* The buffered body (routes without API_BODY_STREAM); len 0 and "" when empty. At most 64 MiB
 * is accepted (413 beyond). */
const char *api_body(struct api_req *r, size_t *len);
/* The body parsed as JSON (NULL with a 400 reply already made when the body is not JSON; a
 * new empty object when the body is empty). Borrowed: lives as long as the request. */
json_t *api_body_json(struct api_req *r);
/* API_BODY_STREAM routes: the read end of the upload (EOF at its end). Borrowed. */
int api_body_fd(struct api_req *r);
/* Docker's `filters` argument in both forms ({"k":["v"]} and {"k":{"v":true}}), as an object
 * of arrays of strings; an empty object when absent. NULL (and a 400 reply) when malformed.
 * Borrowed. */
json_t *api_filters(struct api_req *r);

/* ---- Answers: a handler makes exactly one ---- */
/* Steals body (may be NULL for an empty body; 204 and 304 never have one). */
void api_reply_json(struct api_req *r, int status, json_t *body);
void api_reply_text(struct api_req *r, int status, const char *content_type, const char *body,
                    size_t len);
/* {"message": "..."} with the given status. */
void api_reply_error(struct api_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The status Docker gives an error of this class: ENOENT 404, EEXIST/EBUSY 409,
 * EINVAL 400, EPERM/EACCES 403, others 500. The message is err's. */
void api_reply_berr(struct api_req *r, const struct berr *err);
/* Adds a response header to whatever reply the handler makes. */
void api_add_header(struct api_req *r, const char *name, const char *value);

/* A chunked response written by fn on a thread of its own. fn runs after the handler returns;
 * it writes with api_stream_write, which fails (-1) once the client has gone; then fn should
 * clean up and return. done (may be NULL) frees ctx after fn returns. */
struct api_stream;
typedef void (*api_stream_fn)(struct api_stream *s, void *ctx);
void api_reply_stream(struct api_req *r, int status, const char *content_type, api_stream_fn fn,
                      void *ctx, void (*done)(void *ctx));
int api_stream_write(struct api_stream *s, const void *buf, size_t len);
/* One JSON value followed by "\r\n" (Docker's progress and events streams). Steals v. */
int api_stream_json(struct api_stream *s, json_t *v);
/* Whether the client is still connected (for a stream that waits a long time between
 * writes, e.g. events or logs --follow). */
bool api_stream_alive(struct api_stream *s);
/* An fd that becomes readable (POLLIN or POLLHUP) when the client goes away; -1 if unknown. */
int api_stream_hangup_fd(struct api_stream *s);

/* Hijack (attach, exec start): answers 101 with Upgrade: tcp (200 and a stream that carries
 * output only, when the client did not ask to upgrade) and the given content type, then fn
 * runs with the raw connection (it may block: each connection has its own thread); extra
 * holds bytes the client sent after its request before the answer, to be treated as read from
 * fd first. The server closes fd after fn returns, then calls done (may be NULL) on ctx. */
typedef void (*api_hijack_fn)(int fd, const void *extra, size_t extra_len, void *ctx);
void api_reply_hijack(struct api_req *r, const char *content_type, api_hijack_fn fn, void *ctx,
                      void (*done)(void *ctx));

/* An upgrade to another protocol (a WebSocket): answers 101 with Upgrade: protocol, no content
 * type and the headers given with api_add_header, then fn runs as for api_reply_hijack. The
 * handler has checked that the client asked for this upgrade: there is no answer for a client
 * that did not. */
void api_reply_upgrade(struct api_req *r, const char *protocol, api_hijack_fn fn, void *ctx,
                       void (*done)(void *ctx));

/* ---- Server ---- */
struct api_server;
/* Serves on every host in hosts ("unix:///path" or "fd://N"); unix sockets are made with mode
 * 0660 and group gid (-1: root's). */
int api_server_start(struct api_daemon *d, char **hosts, int gid, struct api_server **out,
                     struct berr **err);
void api_server_stop(struct api_server *s);
/* fn runs (on the server's trimmer thread) each time the server has been idle for a second
 * after serving something, before the heap is trimmed: for letting go of what only requests
 * use. */
void api_server_on_idle(struct api_server *s, void (*fn)(void));
