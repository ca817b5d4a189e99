/* Private to src/registry: the client object shared by the endpoint code (client.c) and the
 * transport (transport.c), the request/response pair that travels between them, and the one
 * entry point, reg_do_request, through which every endpoint talks to the registry. */
#pragma once

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "registry/client.h"

#define POOL_MAX 16

enum { SCHEME_UNKNOWN, SCHEME_HTTPS, SCHEME_HTTP };
enum { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct reg_client {
    char *name;     /* as the user named it; keys credentials and certs.d */
    char *api_host; /* where we connect: host[:port] */
    char *hostname; /* api_host without port or brackets */
    bool insecure;
    atomic_int scheme;
    char *user_agent;
    char *auth_file;
    char *ca_bundle; /* system CAs plus certs.d ones, or NULL to use curl's defaults */
    size_t ca_len;
    char *client_cert, *client_key;

    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

    pthread_mutex_t lock; /* everything below except tokens (which locks itself) */
    bool creds_loaded;
    char *user, *secret;
    int auth_kind;
    char *realm, *service;
    CURL *pool[POOL_MAX];
    size_t pool_n;

    pthread_mutex_t token_fetch_lock; /* one token request at a time, not one per thread */
    struct reg_token_cache *tokens;
};

/* Credentials are wiped before they are freed. */
static inline void secret_free(char **s)
{
    if (*s != NULL) {
        explicit_bzero(*s, strlen(*s));
        free(*s);
    }
    *s = NULL;
}
#define _cleanup_secret_ _cleanup_(secret_free)

static inline void curlu_freep(CURLU **u)
{
    curl_url_cleanup(*u);
    *u = NULL;
}

struct body_src {
    const char *mem; /* or bytes from fd */
    int fd;
    uint64_t off, len, pos;
    int read_errno;
};

struct request {
    const char *method;
    const char *path; /* under the registry's base URL, or */
    const char *url;  /* an absolute URL */
    char *const *scopes;
    /* Token requests carry their own Authorization, for the realm's origin only. */
    bool no_auth;
    const char *auth_override;
    const char *auth_origin;
    const char *accept, *content_type, *content_range;
    bool has_body;
    struct body_src body;
    size_t max_body; /* keep a 2xx body in memory up to this; 0 discards it */
    reg_sink_fn sink;
    void *sink_ctx;
    uint64_t offset, delivered; /* a stream goes on from offset + delivered */
    bool follow, retry;
};

struct response {
    long status;
    char *body; /* the 2xx body kept in memory, or the error body */
    size_t len;
    char *content_type, *docker_digest, *location, *range, *retry_after, *chunk_min;
    char *redirect; /* absolute target of a 3xx */
    char *url;      /* where the final answer came from, to resolve relative Locations */
    int64_t content_length;
    char **www_auth;
    CURLcode cc;
    bool local_failure; /* the sink, the body source or a check of ours failed: no retry */
};

/* Frees what rs holds and leaves it empty, ready for reuse (content_length -1). */
void reg_response_clear(struct response *rs);

/* One request with everything around it: the https/http choice, auth challenges answered,
 * redirects followed, transient failures retried when rq->retry. 0 whenever the registry
 * answered (rs->status says what, rs holds the rest; clear it with reg_response_clear), -1 when
 * no answer could be had. */
int reg_do_request(struct reg_client *c, struct request *rq, struct response *rs,
                   struct berr **err);

/* "<what>: <registry's own words> (HTTP n)", with an errno matching the status. Returns -1. */
int __attribute__((format(printf, 3, 4)))
reg_http_error(const struct response *rs, struct berr **err, const char *fmt, ...);
