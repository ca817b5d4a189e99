/* The registry transport: pooled libcurl easy handles with per-registry TLS, redirects followed
 * by hand so our Authorization never leaves the registry, the https-then-http probe for insecure
 * registries, the auth handshake (Basic, or Bearer tokens cached per scope), and retries with
 * backoff that resume blob downloads with Range requests. */
#include "common/cleanup.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "registry/auth.h"
#include "registry/client_internal.h"
#include "registry/credentials.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define ERROR_BODY_MAX  (64u << 10)
#define TOKEN_BODY_MAX  (1u << 20)
#define MAX_REDIRECTS   10
#define MAX_RETRIES     5
#define BACKOFF_MS      200
#define RETRY_AFTER_MAX 60

static void slist_freep(struct curl_slist **l)
{
    curl_slist_free_all(*l);
    *l = NULL;
}

/* Query strings of upload and storage URLs carry state and signatures: never show them. */
static char *redact_url(const char *url)
{
    return xstrndup(url, strcspn(url, "?#"));
}

/* ---- the easy-handle pool ---- */

static CURL *pool_get(struct reg_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->pool_n > 0)
        h = c->pool[--c->pool_n];
    pthread_mutex_unlock(&c->lock);
    if (h == NULL) {
        h = curl_easy_init();
        if (h == NULL)
            abort();
    }
    return h;
}

/* Handles are pooled rather than sharing curl's connection cache through the share object:
 * that cache is not safe under concurrent threads in the libcurl versions we target. */
static void pool_put(struct reg_client *c, CURL *h)
{
    curl_easy_reset(h);
    pthread_mutex_lock(&c->lock);
    if (c->pool_n < POOL_MAX) {
        c->pool[c->pool_n++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (h != NULL)
        curl_easy_cleanup(h);
}

/* 0 with copies of the credentials, 1 when there are none, -1 on an unreadable auth file. */
static int get_creds(struct reg_client *c, char **user, char **secret, struct berr **err)
{
    int r = 0;
    *user = *secret = NULL;
    pthread_mutex_lock(&c->lock);
    if (!c->creds_loaded) {
        r = reg_credentials_get(c->auth_file, c->name, &c->user, &c->secret, err);
        if (r >= 0)
            c->creds_loaded = true;
    }
    if (r >= 0 && c->user != NULL) {
        *user = xstrdup(c->user);
        *secret = xstrdup(c->secret);
    }
    pthread_mutex_unlock(&c->lock);
    if (r < 0)
        return -1;
    return *user ? 0 : 1;
}

static char *basic_header(const char *user, const char *secret)
{
    _cleanup_secret_ char *plain = xasprintf("%s:%s", user, secret);
    _cleanup_secret_ char *b64 = reg_base64_encode(plain, strlen(plain));
    return xasprintf("Authorization: Basic %s", b64);
}

void reg_response_clear(struct response *rs)
{
    free(rs->body);
    free(rs->content_type);
    free(rs->docker_digest);
    free(rs->location);
    free(rs->range);
    free(rs->retry_after);
    free(rs->chunk_min);
    free(rs->redirect);
    free(rs->url);
    strv_free(rs->www_auth);
    memset(rs, 0, sizeof(*rs));
    rs->content_length = -1;
}

enum { BODY_MEM, BODY_STREAM, BODY_ERROR };

struct hop {
    CURL *h;
    struct request *rq;
    struct response *rs;
    bool started;
    int mode;
    size_t cap;
    uint64_t skip;
    struct berr *err;
};

static char *header_dup(CURL *h, const char *name, size_t index)
{
    struct curl_header *hd;
    if (curl_easy_header(h, name, index, CURLH_HEADER, -1, &hd) != CURLHE_OK)
        return NULL;
    return xstrdup(hd->value);
}

static int start_body(struct hop *hp)
{
    long status = 0;
    curl_easy_getinfo(hp->h, CURLINFO_RESPONSE_CODE, &status);
    hp->mode = BODY_ERROR;
    hp->cap = ERROR_BODY_MAX;
    if (status < 200 || status > 299)
        return 0;
    struct request *rq = hp->rq;
    curl_off_t clen = -1;
    curl_easy_getinfo(hp->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
    if (rq->sink != NULL) {
        hp->mode = BODY_STREAM;
        uint64_t want = rq->offset + rq->delivered;
        if (status == 206) {
            _cleanup_free_ char *cr = header_dup(hp->h, "Content-Range", 0);
            unsigned long long start;
            if (cr == NULL || sscanf(cr, "bytes %llu-", &start) != 1 || start != want)
                return berr_code(&hp->err, EPROTO,
                                 "registry answered a range request for byte %llu with a different "
                                 "range (%s)",
                                 (unsigned long long)want, cr ? cr : "no Content-Range");
        } else if (want > 0) {
            hp->skip = want; /* the whole blob again: drop what was delivered already */
        }
        return 0;
    }
    if (rq->max_body > 0) {
        if (clen > 0 && (uint64_t)clen > rq->max_body)
            return berr_code(&hp->err, EFBIG,
                             "response of %lld bytes is larger than the %zu allowed",
                             (long long)clen, rq->max_body);
        hp->mode = BODY_MEM;
        hp->cap = rq->max_body;
        return 0;
    }
    hp->cap = 0;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct hop *hp = ud;
    size_t n = size * nmemb;
    if (!hp->started) {
        hp->started = true;
        if (start_body(hp) < 0)
            return 0;
    }
    struct response *rs = hp->rs;
    if (hp->mode == BODY_STREAM) {
        size_t skip = hp->skip < n ? (size_t)hp->skip : n;
        hp->skip -= skip;
        if (n > skip) {
            if (hp->rq->sink(hp->rq->sink_ctx, data + skip, n - skip, &hp->err) < 0) {
                if (hp->err == NULL)
                    berr_code(&hp->err, EIO, "blob consumer failed");
                return 0;
            }
            hp->rq->delivered += n - skip;
        }
        return n;
    }
    size_t keep = n;
    if (rs->len + n > hp->cap) {
        if (hp->mode == BODY_MEM) {
            berr_code(&hp->err, EFBIG, "response is larger than the %zu bytes allowed", hp->cap);
            return 0;
        }
        keep = hp->cap - rs->len; /* an error body is only for the message: truncate it */
    }
    if (keep > 0) {
        rs->body = xrealloc(rs->body, rs->len + keep + 1);
        memcpy(rs->body + rs->len, data, keep);
        rs->len += keep;
        rs->body[rs->len] = 0;
    }
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct body_src *b = ud;
    size_t want = size * nmemb;
    if (want > b->len - b->pos)
        want = (size_t)(b->len - b->pos);
    if (want == 0)
        return 0;
    if (b->mem != NULL) {
        memcpy(buf, b->mem + b->pos, want);
        b->pos += want;
        return want;
    }
    ssize_t r;
    do
        r = pread(b->fd, buf, want, (off_t)(b->off + b->pos));
    while (r < 0 && errno == EINTR);
    if (r <= 0) {
        b->read_errno = r < 0 ? errno : ENODATA;
        return CURL_READFUNC_ABORT;
    }
    b->pos += (uint64_t)r;
    return (size_t)r;
}

static int on_seek(void *ud, curl_off_t offset, int origin)
{
    struct body_src *b = ud;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > b->len)
        return CURL_SEEKFUNC_CANTSEEK;
    b->pos = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static bool same_host(const char *url, const char *hostname)
{
    _cleanup_(curlu_freep) CURLU *u = curl_url();
    char *host = NULL;
    bool r = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK;
    if (r) {
        const char *h = host;
        size_t n = strlen(h);
        if (n >= 2 && h[0] == '[') {
            h++;
            n -= 2;
        }
        r = strlen(hostname) == n && strncasecmp(h, hostname, n) == 0;
    }
    curl_free(host);
    return r;
}

/* scheme://host:port, with the default port made explicit, or NULL. */
static char *url_origin(const char *url)
{
    _cleanup_(curlu_freep) CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    char *r = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        r = xasprintf("%s://%s:%s", scheme, host, port);
        for (char *p = r; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    return r;
}

static bool same_origin(const char *a, const char *b)
{
    _cleanup_free_ char *oa = url_origin(a);
    _cleanup_free_ char *ob = url_origin(b);
    return oa && ob && strcmp(oa, ob) == 0;
}

static void collect_headers(CURL *h, struct response *rs)
{
    rs->content_type = header_dup(h, "Content-Type", 0);
    rs->docker_digest = header_dup(h, "Docker-Content-Digest", 0);
    rs->location = header_dup(h, "Location", 0);
    rs->range = header_dup(h, "Range", 0);
    rs->retry_after = header_dup(h, "Retry-After", 0);
    rs->chunk_min = header_dup(h, "OCI-Chunk-Min-Length", 0);
    _cleanup_free_ char *cl = header_dup(h, "Content-Length", 0);
    if (cl != NULL) {
        char *end;
        long long v = strtoll(cl, &end, 10);
        if (end != cl && *end == 0 && v >= 0)
            rs->content_length = v;
    }
    struct curl_header *hd;
    if (curl_easy_header(h, "WWW-Authenticate", 0, CURLH_HEADER, -1, &hd) == CURLHE_OK) {
        size_t n = hd->amount;
        for (size_t i = 0; i < n; i++)
            if (curl_easy_header(h, "WWW-Authenticate", i, CURLH_HEADER, -1, &hd) == CURLHE_OK)
                strv_append(&rs->www_auth, hd->value);
    }
    char *s = NULL;
    if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &s) == CURLE_OK && s)
        rs->redirect = xstrdup(s);
}

static int transport_errno(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return EHOSTUNREACH;
    case CURLE_COULDNT_CONNECT:
        return ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return ETIMEDOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        return EPROTO;
    default:
        return EIO;
    }
}

static int perform_hop(struct reg_client *c, struct request *rq, const char *method,
                       const char *url, const char *auth, struct response *rs, struct berr **err)
{
    reg_response_clear(rs);
    CURL *h = pool_get(c);
    char errbuf[CURL_ERROR_SIZE] = "";
    struct hop hp = {.h = h, .rq = rq, .rs = rs};
    _cleanup_(slist_freep) struct curl_slist *hl = NULL;
    _cleanup_free_ char *range = NULL;

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &hp);
    bool ours = same_host(url, c->hostname);
    if (ours && c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->ca_bundle != NULL) {
        struct curl_blob blob = {.data = c->ca_bundle, .len = c->ca_len, .flags = CURL_BLOB_NOCOPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (ours && c->client_cert != NULL) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert);
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key);
    }

    if (auth != NULL)
        hl = curl_slist_append(hl, auth);
    _cleanup_free_ char *accept = rq->accept ? xasprintf("Accept: %s", rq->accept) : NULL;
    _cleanup_free_ char *ctype =
        rq->content_type ? xasprintf("Content-Type: %s", rq->content_type) : NULL;
    _cleanup_free_ char *crange =
        rq->content_range ? xasprintf("Content-Range: %s", rq->content_range) : NULL;
    if (accept)
        hl = curl_slist_append(hl, accept);
    if (ctype)
        hl = curl_slist_append(hl, ctype);
    if (crange)
        hl = curl_slist_append(hl, crange);
    if (rq->sink != NULL && rq->offset + rq->delivered > 0) {
        range = xasprintf("Range: bytes=%llu-", (unsigned long long)(rq->offset + rq->delivered));
        hl = curl_slist_append(hl, range);
    }
    /* We authenticate before sending bodies, so "Expect: 100-continue" only costs a wait on
     * servers that ignore it. */
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);

    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        rq->body.pos = 0;
        rq->body.read_errno = 0;
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)(rq->has_body ? rq->body.len : 0));
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &rq->body);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, &rq->body);
    }

    CURLcode cc = curl_easy_perform(h);
    rs->cc = cc;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
    /* A body-less answer still has its range checked: a 206 must start where we asked. */
    if (cc == CURLE_OK && !hp.started && strcmp(method, "HEAD") != 0)
        start_body(&hp);
    collect_headers(h, rs);
    rs->url = xstrdup(url);
    pool_put(c, h);

    _cleanup_free_ char *shown = redact_url(url);
    if (hp.err != NULL) {
        rs->local_failure = true;
        if (err && *err == NULL)
            *err = steal_ptr(&hp.err);
        berr_free(hp.err);
        return -1;
    }
    if (rq->body.read_errno != 0) {
        rs->local_failure = true;
        if (rq->body.read_errno == ENODATA)
            return berr_code(err, EIO, "%s %s: the data to send ended before %llu bytes", method,
                             shown, (unsigned long long)rq->body.len);
        errno = rq->body.read_errno;
        return berr_sys(err, "%s %s: read the data to send", method, shown);
    }
    if (cc != CURLE_OK) {
        log_debug("registry: %s %s: %s", method, shown, curl_easy_strerror(cc));
        return berr_code(err, transport_errno(cc), "%s %s: %s", method, shown,
                         errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    log_debug("registry: %s %s -> %ld", method, shown, rs->status);
    return 0;
}

static bool is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Follows redirects itself so that Authorization only ever goes to auth_origin's origin: blob
 * storage behind a redirect must not see registry credentials. */
static int exchange_at(struct reg_client *c, struct request *rq, const char *start_url,
                       const char *auth, const char *auth_origin, struct response *rs,
                       struct berr **err)
{
    _cleanup_free_ char *url = xstrdup(start_url);
    for (int hops = 0;; hops++) {
        bool send_auth = auth != NULL && auth_origin != NULL && same_origin(url, auth_origin);
        if (perform_hop(c, rq, rq->method, url, send_auth ? auth : NULL, rs, err) < 0)
            return -1;
        if (!rq->follow || !is_redirect(rs->status) || rs->redirect == NULL)
            return 0;
        if (hops == MAX_REDIRECTS) {
            _cleanup_free_ char *shown = redact_url(start_url);
            return berr_code(err, ELOOP, "%s %s: more than %d redirects", rq->method, shown,
                             MAX_REDIRECTS);
        }
        free(url);
        url = steal_ptr(&rs->redirect);
    }
}

static char *base_url(struct reg_client *c, int scheme)
{
    return xasprintf("%s://%s", scheme == SCHEME_HTTP ? "http" : "https", c->api_host);
}

static int exchange(struct reg_client *c, struct request *rq, const char *auth, struct response *rs,
                    struct berr **err)
{
    if (rq->no_auth)
        return exchange_at(c, rq, rq->url, rq->auth_override, rq->auth_origin, rs, err);
    int scheme = atomic_load(&c->scheme);
    if (rq->path == NULL) {
        _cleanup_free_ char *base = base_url(c, scheme);
        return exchange_at(c, rq, rq->url, auth, base, rs, err);
    }
    if (scheme != SCHEME_UNKNOWN) {
        _cleanup_free_ char *base = base_url(c, scheme);
        _cleanup_free_ char *url = xasprintf("%s%s", base, rq->path);
        return exchange_at(c, rq, url, auth, base, rs, err);
    }
    /* An insecure registry: https (unverified) when it speaks it, else plain http, as Docker.
     * Whichever scheme produced an HTTP answer is the registry's, even if the transfer then
     * failed. */
    _cleanup_free_ char *https = base_url(c, SCHEME_HTTPS);
    _cleanup_free_ char *url = xasprintf("%s%s", https, rq->path);
    _cleanup_berr_ struct berr *tls_err = NULL;
    int r = exchange_at(c, rq, url, auth, https, rs, &tls_err);
    if (r == 0 || rs->status != 0 || rs->local_failure) {
        if (r == 0 || rs->status != 0)
            atomic_store(&c->scheme, SCHEME_HTTPS);
        if (r < 0 && err != NULL && *err == NULL)
            *err = steal_ptr(&tls_err);
        return r;
    }
    CURLcode tls_cc = rs->cc;
    _cleanup_free_ char *http = base_url(c, SCHEME_HTTP);
    free(url);
    url = xasprintf("%s%s", http, rq->path);
    r = exchange_at(c, rq, url, auth, http, rs, err);
    if (r == 0 || rs->status != 0) {
        log_debug("registry: %s speaks plain http", c->name);
        atomic_store(&c->scheme, SCHEME_HTTP);
    } else if (!rs->local_failure && rs->cc != tls_cc && err != NULL && *err != NULL) {
        char *msg = xasprintf("%s (over https: %s)", (*err)->msg, tls_err->msg);
        free((*err)->msg);
        (*err)->msg = msg;
    }
    return r;
}

/* ---- authentication ---- */

static int status_errno(long status)
{
    switch (status) {
    case 401:
    case 403:
        return EACCES;
    case 404:
        return ENOENT;
    case 413:
        return EFBIG;
    case 429:
        return EAGAIN;
    default:
        return status >= 500 ? EIO : EPROTO;
    }
}

static const char *status_text(long status)
{
    switch (status) {
    case 400:
        return "bad request";
    case 401:
        return "unauthorized: authentication required";
    case 403:
        return "denied: requested access to the resource is denied";
    case 404:
        return "not found";
    case 405:
        return "method not allowed (the registry does not support this operation)";
    case 413:
        return "request entity too large";
    case 416:
        return "requested range not satisfiable";
    case 429:
        return "too many requests";
    case 500:
        return "internal server error";
    case 502:
        return "bad gateway";
    case 503:
        return "service unavailable";
    case 504:
        return "gateway timeout";
    default:
        return "unexpected response";
    }
}

int reg_http_error(const struct response *rs, struct berr **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *what = xvasprintf(fmt, ap);
    va_end(ap);
    _cleanup_free_ char *msg = reg_error_body_message(rs->body, rs->len);
    return berr_code(err, status_errno(rs->status), "%s: %s (HTTP %ld)", what,
                     msg ? msg : status_text(rs->status), rs->status);
}

static char *scope_key(char *const *scopes)
{
    char *key = xstrdup("");
    for (size_t i = 0; scopes && scopes[i]; i++) {
        char *k = xasprintf("%s%s%s", key, i ? " " : "", scopes[i]);
        free(key);
        key = k;
    }
    return key;
}

/* The registry's own words when it gave some ("unauthorized: authentication required"). */
static char *refusal_text(const struct response *rs, const char *fallback)
{
    _cleanup_free_ char *msg = reg_error_body_message(rs->body, rs->len);
    if (msg == NULL)
        return xstrdup(fallback);
    if (strncmp(msg, "unauthorized", 12) == 0 || strncmp(msg, "denied", 6) == 0)
        return steal_ptr(&msg);
    return xasprintf("unauthorized: %s", msg);
}

static int fetch_token(struct reg_client *c, char *const *scopes, const char *extra_scope,
                       struct reg_token *tok, struct berr **err)
{
    pthread_mutex_lock(&c->lock);
    _cleanup_free_ char *realm = c->realm ? xstrdup(c->realm) : NULL;
    _cleanup_free_ char *service = c->service ? xstrdup(c->service) : NULL;
    pthread_mutex_unlock(&c->lock);
    if (realm == NULL)
        return berr_code(err, EPROTO, "%s: no token realm known", c->name);
    _cleanup_free_ char *user = NULL;
    _cleanup_secret_ char *secret = NULL;
    int have = get_creds(c, &user, &secret, err);
    if (have < 0)
        return -1;
    _cleanup_free_ char *shown = redact_url(realm);
    if (have == 0 && strncasecmp(realm, "http://", 7) == 0 && !c->insecure)
        return berr_code(err, EPROTO,
                         "%s: refusing to send credentials over plain http to the token server %s",
                         c->name, shown);
    _cleanup_strv_ char **all = strv_dup(scopes);
    /* A challenge's scope may list several, space-separated; each becomes its own parameter. */
    for (const char *p = extra_scope; p != NULL && *p;) {
        size_t n = strcspn(p, " ");
        _cleanup_free_ char *one = xstrndup(p, n);
        if (n > 0 && !strv_contains(all, one))
            strv_append(&all, one);
        p += n + (p[n] == ' ');
    }
    _cleanup_free_ char *url = reg_token_url(realm, service, all);
    _cleanup_secret_ char *auth = have == 0 ? basic_header(user, secret) : NULL;
    struct request rq = {
        .method = "GET",
        .url = url,
        .no_auth = true,
        .auth_override = auth,
        .auth_origin = realm,
        .accept = "application/json",
        .max_body = TOKEN_BODY_MAX,
        .follow = true,
        .retry = true,
    };
    _cleanup_(reg_response_clear) struct response rs = {0};
    if (reg_do_request(c, &rq, &rs, err) < 0)
        return berr_wrap(err, "get a token for %s", c->name);
    if (rs.status == 200) {
        if (reg_parse_token_response(rs.body, rs.len, time(NULL), tok, err) < 0)
            return berr_wrap(err, "%s: token server %s", c->name, shown);
        return 0;
    }
    if (rs.status == 401 || rs.status == 403) {
        if (have == 0) {
            _cleanup_free_ char *msg = refusal_text(&rs, "unauthorized: incorrect username or "
                                                         "password");
            return berr_code(err, EACCES,
                             "%s (the token server refused the credentials of %s; run "
                             "berth login %s)",
                             msg, user, c->name);
        }
        _cleanup_free_ char *msg = refusal_text(&rs, "unauthorized: authentication required");
        return berr_code(err, EACCES, "%s; run berth login %s", msg, c->name);
    }
    return reg_http_error(&rs, err, "%s: get a token from %s", c->name, shown);
}

static bool token_differs(const char *tok, const char *rejected)
{
    _cleanup_free_ char *line = xasprintf("Authorization: Bearer %s", tok);
    return rejected == NULL || strcmp(line, rejected) != 0;
}

/* The Authorization header line for a request with these scopes, or NULL when we have nothing
 * to send. After a 401 (renew), the cache is only trusted for a token other than the rejected
 * one, which is how concurrent requests share the token that the first of them fetched. *fresh
 * tells whether the token is new (so a 401 with it is final). */
static int auth_header(struct reg_client *c, char *const *scopes, const char *extra_scope,
                       bool renew, const char *rejected, char **out, bool *fresh, struct berr **err)
{
    *out = NULL;
    *fresh = false;
    pthread_mutex_lock(&c->lock);
    int kind = c->auth_kind;
    pthread_mutex_unlock(&c->lock);
    if (kind == AUTH_NONE)
        return 0;
    if (kind == AUTH_BASIC) {
        _cleanup_free_ char *user = NULL;
        _cleanup_secret_ char *secret = NULL;
        int r = get_creds(c, &user, &secret, err);
        if (r != 0)
            return r < 0 ? -1 : 0;
        *out = basic_header(user, secret);
        *fresh = true;
        return 0;
    }
    _cleanup_free_ char *key = scope_key(scopes);
    _cleanup_secret_ char *tok = renew ? NULL : reg_token_cache_get(c->tokens, key, time(NULL));
    if (tok == NULL) {
        pthread_mutex_lock(&c->token_fetch_lock);
        /* Another thread may have fetched one while we waited. */
        tok = reg_token_cache_get(c->tokens, key, time(NULL));
        if (tok != NULL && renew && !token_differs(tok, rejected))
            secret_free(&tok);
        *fresh = renew && tok != NULL;
        if (tok == NULL) {
            struct reg_token t = {0};
            if (fetch_token(c, scopes, extra_scope, &t, err) < 0) {
                pthread_mutex_unlock(&c->token_fetch_lock);
                return -1;
            }
            reg_token_cache_put(c->tokens, key, t.token, t.expires_at);
            tok = steal_ptr(&t.token);
            *fresh = true;
        }
        pthread_mutex_unlock(&c->token_fetch_lock);
    }
    *out = xasprintf("Authorization: Bearer %s", tok);
    return 0;
}

static int learn_challenge(struct reg_client *c, const struct response *rs, char **extra_scope,
                           struct berr **err)
{
    struct reg_challenges ch = {0};
    int r = 0;
    for (size_t i = 0; rs->www_auth && rs->www_auth[i]; i++)
        if (reg_parse_www_authenticate(rs->www_auth[i], &ch, err) < 0) {
            reg_challenges_clear(&ch);
            return berr_wrap(err, "%s", c->name);
        }
    const struct reg_challenge *bearer = reg_challenges_find(&ch, "bearer");
    const struct reg_challenge *basic = reg_challenges_find(&ch, "basic");
    struct reg_bearer b;
    if (bearer != NULL) {
        if (reg_bearer_from_challenge(bearer, &b, err) < 0) {
            r = berr_wrap(err, "%s", c->name);
        } else {
            pthread_mutex_lock(&c->lock);
            free(c->realm);
            free(c->service);
            c->realm = xstrdup(b.realm);
            c->service = b.service ? xstrdup(b.service) : NULL;
            c->auth_kind = AUTH_BEARER;
            pthread_mutex_unlock(&c->lock);
            *extra_scope = b.scope ? xstrdup(b.scope) : NULL;
        }
    } else if (basic != NULL) {
        pthread_mutex_lock(&c->lock);
        c->auth_kind = AUTH_BASIC;
        pthread_mutex_unlock(&c->lock);
    } else if (ch.n == 0) {
        r = berr_code(err, EACCES,
                      "%s: unauthorized (HTTP 401) without an authentication challenge", c->name);
    } else {
        r = berr_code(err, EACCES, "%s: the registry asks for unsupported authentication \"%s\"",
                      c->name, ch.v[0].scheme);
    }
    reg_challenges_clear(&ch);
    return r;
}

static int unauthorized(struct reg_client *c, const struct request *rq, const struct response *rs,
                        struct berr **err)
{
    _cleanup_free_ char *msg = refusal_text(rs, "unauthorized: authentication required");
    _cleanup_free_ char *user = NULL;
    _cleanup_secret_ char *secret = NULL;
    if (get_creds(c, &user, &secret, NULL) != 0)
        return berr_code(err, EACCES, "%s; run berth login %s", msg, c->name);
    pthread_mutex_lock(&c->lock);
    bool bearer = c->auth_kind == AUTH_BEARER;
    pthread_mutex_unlock(&c->lock);
    if (bearer && rq->scopes != NULL) {
        /* The token server accepted the credentials but the token does not open this door. */
        _cleanup_free_ char *want = scope_key(rq->scopes);
        return berr_code(err, EACCES,
                         "%s (%s is not granted %s: check the repository name and your access, "
                         "or berth login %s as another user)",
                         msg, user, want, c->name);
    }
    return berr_code(err, EACCES,
                     "%s (refused with the credentials of %s; check them with berth login %s)", msg,
                     user, c->name);
}

/* Send without credentials until the registry asks, then answer its challenge and resend. */
static int authed_exchange(struct reg_client *c, struct request *rq, struct response *rs,
                           struct berr **err)
{
    if (rq->no_auth)
        return exchange(c, rq, NULL, rs, err);
    _cleanup_secret_ char *auth = NULL;
    bool fresh;
    if (auth_header(c, rq->scopes, NULL, false, NULL, &auth, &fresh, err) < 0)
        return -1;
    for (int round = 0;; round++) {
        if (exchange(c, rq, auth, rs, err) < 0)
            return -1;
        if (rs->status != 401)
            return 0;
        if (fresh || round == 2)
            return unauthorized(c, rq, rs, err);
        _cleanup_free_ char *extra = NULL;
        if (learn_challenge(c, rs, &extra, err) < 0)
            return -1;
        _cleanup_secret_ char *rejected = steal_ptr(&auth);
        if (auth_header(c, rq->scopes, extra, true, rejected, &auth, &fresh, err) < 0)
            return -1;
        if (auth == NULL)
            return unauthorized(c, rq, rs, err);
    }
}

/* ---- retries ---- */

/* Failures worth another try. A refused connection counts only mid-download (a registry
 * restarting under a long pull); for anything else it fails fast, so a typo'd or stopped
 * registry is reported at once. TLS handshake failures are never transient. */
static bool transient_failure(CURLcode cc, bool streaming)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        return streaming;
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

static bool transient_status(long status)
{
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

static long retry_after_ms(const char *v)
{
    if (v == NULL)
        return 0;
    char *end;
    long s = strtol(v, &end, 10);
    if (end == v || *end != 0) {
        time_t t = curl_getdate(v, NULL);
        s = t > 0 ? (long)(t - time(NULL)) : 0;
    }
    if (s < 0)
        s = 0;
    return (s > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : s) * 1000;
}

int reg_do_request(struct reg_client *c, struct request *rq, struct response *rs, struct berr **err)
{
    int failures = 0;
    for (;;) {
        uint64_t before = rq->delivered;
        _cleanup_berr_ struct berr *e = NULL;
        reg_response_clear(rs);
        int r = authed_exchange(c, rq, rs, &e);
        bool transient = r < 0 ? !rs->local_failure && rs->status != 401 &&
                                     transient_failure(rs->cc, rq->sink != NULL)
                               : transient_status(rs->status);
        if (rq->delivered > before)
            failures = 0;
        if (!rq->retry || !transient || failures == MAX_RETRIES) {
            if (r < 0 && err != NULL && *err == NULL)
                *err = steal_ptr(&e);
            return r;
        }
        long ms = (long)BACKOFF_MS << failures;
        long ra = retry_after_ms(rs->retry_after);
        failures++;
        if (ra > ms)
            ms = ra;
        log_debug("registry: %s: %s; retry %d in %ld ms", c->name,
                  e ? e->msg : status_text(rs->status), failures, ms);
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
}
