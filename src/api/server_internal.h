/* Shared between the HTTP server's files (server.c, request.c, stream.c, router.c): the request
 * object behind struct api_req and the server's own state. Nothing outside src/api includes
 * this; handlers see only api.h. */
#pragma once

#include <stdatomic.h>

#include <microhttpd.h>
#include <pthread.h>

#include "api/api.h"

#define API_MAX_PARAMS  4
#define API_MAX_HEADERS 12
#define API_MAX_BODY    (64u << 20)

enum api_reply_kind { REPLY_NONE, REPLY_BUFFER, REPLY_STREAM, REPLY_HIJACK };

struct api_server {
    struct api_daemon *d;
    struct MHD_Daemon *mhd[8];
    size_t n;
    char *unix_paths[8]; /* removed at stop */
    int stop_fd;         /* eventfd: readable once the server stops */
    atomic_int inflight; /* requests being served */
    /* the trimmer: gives freed heap back to the system once no request has run for a while */
    pthread_t trimmer;
    bool trimmer_started;
    pthread_mutex_t trim_mu;
    pthread_cond_t trim_cv;
    bool trim_due; /* something ran since the last trim */
    bool trim_stop;
    int64_t idle_since; /* CLOCK_MONOTONIC ns when inflight last dropped to 0 */
    void (*on_idle)(void);
};

struct api_req {
    struct api_server *srv;
    struct MHD_Connection *conn;
    const struct api_route *route;
    char *method;
    char *path;
    int version;
    char *param_names[API_MAX_PARAMS];
    char *param_values[API_MAX_PARAMS];
    size_t nparams;

    /* Buffered body */
    char *body;
    size_t body_len, body_cap;
    bool body_too_big;
    json_t *body_json;
    json_t *filters;
    /* Streamed body: the handler thread reads up_fd[0]; uploads go to up_fd[1]. */
    int up_fd[2];
    pthread_t handler_thread;
    bool handler_running;

    /* Repeated query values, cached per key */
    struct {
        char *key;
        const char **values;
    } qall[8];
    size_t nqall;

    /* The answer */
    enum api_reply_kind kind;
    int status;
    char *content_type;
    char *buf;
    size_t buf_len;
    char *hdr_names[API_MAX_HEADERS], *hdr_values[API_MAX_HEADERS];
    size_t nhdr;
    api_stream_fn stream_fn;
    api_hijack_fn hijack_fn;
    char *upgrade_proto; /* api_reply_upgrade's protocol; NULL for a hijack's "tcp" */
    void *ctx;
    void (*ctx_done)(void *ctx);
};

/* router.c: finds the route for method and path, filling r's params; NULL when none. Sets
 * *path_known when some route has this path under another method. */
const struct api_route *api_route_find(struct api_req *r, const char *method, const char *path,
                                       bool *path_known);

/* stream.c: turn r's stream or hijack answer into a libmicrohttpd response; an answer from
 * api_reply_upgrade is always an upgrade. */
struct MHD_Response *api_stream_response(struct api_req *r);
struct MHD_Response *api_hijack_response(struct api_req *r, bool upgrade);

void api_req_free(struct api_req *r);
