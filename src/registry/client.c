/* The registry client object and the distribution-spec endpoints: host parsing, which hosts are
 * insecure, certs.d CAs and client certificates, credentials set by login, and the manifest, blob
 * and upload calls of client.h. Every call goes through reg_do_request (transport.c). */
#include "registry/client.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "registry/auth.h"
#include "registry/client_internal.h"
#include "registry/credentials.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MANIFEST_MAX  (4u << 20)
#define CERT_FILE_MAX (1u << 20)
#define CA_BUNDLE_MAX (16u << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}
/* ---- host names, TLS material ---- */

static bool hostname_valid(const char *h, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-' && h[i] != '_')
            return false;
    return h[0] != '-' && h[0] != '.';
}

static int parse_host(struct reg_client *c, const char *host, struct berr **err)
{
    if (host == NULL || *host == 0)
        return berr_code(err, EINVAL, "empty registry host");
    if (reg_host_is_docker_hub(host)) {
        c->api_host = xstrdup("registry-1.docker.io");
        c->hostname = xstrdup("registry-1.docker.io");
        return 0;
    }
    const char *port = NULL;
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        struct in6_addr a6;
        _cleanup_free_ char *addr = end ? xstrndup(host + 1, (size_t)(end - host - 1)) : NULL;
        if (addr == NULL || inet_pton(AF_INET6, addr, &a6) != 1 || (end[1] && end[1] != ':'))
            return berr_code(err, EINVAL, "registry host \"%s\": malformed IPv6 address", host);
        c->hostname = steal_ptr(&addr);
        port = end[1] == ':' ? end + 2 : NULL;
    } else {
        size_t n = strcspn(host, ":");
        if (!hostname_valid(host, n))
            return berr_code(err, EINVAL,
                             "registry host \"%s\": expected a host name or address with an "
                             "optional :port",
                             host);
        c->hostname = xstrndup(host, n);
        port = host[n] == ':' ? host + n + 1 : NULL;
    }
    if (port != NULL) {
        char *end;
        errno = 0;
        long p = strtol(port, &end, 10);
        if (*port == 0 || *end || errno || p < 1 || p > 65535 || !isdigit((unsigned char)*port))
            return berr_code(err, EINVAL, "registry host \"%s\": invalid port", host);
    }
    c->api_host = xstrdup(host);
    return 0;
}

static bool is_loopback(const char *hostname)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcasecmp(hostname, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, hostname, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, hostname, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static bool marked_insecure(const struct reg_client *c, char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcasecmp(list[i], c->name) == 0 || strcasecmp(list[i], c->api_host) == 0 ||
            strcasecmp(list[i], c->hostname) == 0)
            return true;
    return is_loopback(c->hostname);
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n > m && strcmp(s + n - m, suf) == 0;
}

static int check_pem_certs(const char *path, const char *text, size_t len, struct berr **err)
{
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    if (bio == NULL)
        return berr_code(err, ENOMEM, "read CA file %s: out of memory", path);
    int n = 0;
    X509 *x;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        X509_free(x);
        n++;
    }
    BIO_free(bio);
    ERR_clear_error();
    if (n == 0)
        return berr_code(err, EINVAL, "CA file %s holds no PEM certificate", path);
    return 0;
}

static void bundle_append(struct reg_client *c, const char *text, size_t len)
{
    c->ca_bundle = xrealloc(c->ca_bundle, c->ca_len + len + 2);
    memcpy(c->ca_bundle + c->ca_len, text, len);
    c->ca_len += len;
    c->ca_bundle[c->ca_len++] = '\n';
    c->ca_bundle[c->ca_len] = 0;
}

/* Docker's certs.d layout: every *.crt is a CA to trust for this registry, and X.cert with X.key
 * is the client certificate. */
static int load_certs_dir(struct reg_client *c, const char *root, struct berr **err)
{
    if (strchr(c->name, '/') != NULL || strcmp(c->name, "..") == 0)
        return 0;
    _cleanup_free_ char *dir = xasprintf("%s/%s", root, c->name);
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return berr_sys(err, "open certificate directory %s", dir);
    }
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir(d)) != NULL) {
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
        if (has_suffix(de->d_name, ".crt")) {
            size_t len;
            _cleanup_free_ char *text = read_file_at(AT_FDCWD, path, CERT_FILE_MAX, &len, err);
            if (text == NULL || check_pem_certs(path, text, len, err) < 0) {
                r = -1;
                break;
            }
            if (c->ca_bundle == NULL) {
                /* Extra CAs come on top of the system ones, so start from curl's bundle. */
                curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
                size_t slen = 0;
                _cleanup_free_ char *sys =
                    vi->cainfo ? read_file_at(AT_FDCWD, vi->cainfo, CA_BUNDLE_MAX, &slen, NULL)
                               : NULL;
                bundle_append(c, sys ? sys : "", slen);
            }
            bundle_append(c, text, len);
        } else if (has_suffix(de->d_name, ".cert") && c->client_cert == NULL) {
            _cleanup_free_ char *key = xasprintf("%.*s.key", (int)(strlen(path) - 5), path);
            if (access(key, R_OK) < 0) {
                r = berr_sys(err, "client certificate %s has no readable key %s", path, key);
                break;
            }
            c->client_cert = steal_ptr(&path);
            c->client_key = steal_ptr(&key);
        }
    }
    closedir(d);
    return r;
}

/* ---- libcurl sharing ---- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    struct reg_client *c = ud;
    pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    struct reg_client *c = ud;
    pthread_mutex_unlock(&c->share_locks[data]);
}
int reg_client_new(const char *host, const struct reg_options *o, struct reg_client **out,
                   struct berr **err)
{
    static const struct reg_options none = {0};
    static const char *const default_certs[] = {"/etc/berth/certs.d", "/etc/docker/certs.d", NULL};
    if (o == NULL)
        o = &none;
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK)
        return berr_code(err, EIO, "initialise libcurl: %s", curl_easy_strerror(curl_init_result));
    struct reg_client *c = xzalloc(sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->token_fetch_lock, NULL);
    for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_locks[i], NULL);
    c->tokens = reg_token_cache_new();
    c->name = xstrdup(host ? host : "");
    c->auth_kind = AUTH_NONE;
    if (parse_host(c, host, err) < 0)
        goto fail;
    c->insecure = marked_insecure(c, o->insecure);
    atomic_init(&c->scheme, c->insecure ? SCHEME_UNKNOWN : SCHEME_HTTPS);
    c->user_agent = xstrdup(o->user_agent ? o->user_agent : "berth/" BERTH_VERSION);
    c->auth_file = o->auth_file ? xstrdup(o->auth_file) : NULL;
    const char *const *roots = o->certs_dirs[0] ? o->certs_dirs : default_certs;
    for (size_t i = 0; i < 4 && roots[i]; i++)
        if (load_certs_dir(c, roots[i], err) < 0) {
            berr_wrap(err, "registry %s", c->name);
            goto fail;
        }
    c->share = curl_share_init();
    if (c->share == NULL)
        abort();
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    *out = c;
    return 0;
fail:
    reg_client_free(c);
    return -1;
}

void reg_client_free(struct reg_client *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->pool_n; i++)
        curl_easy_cleanup(c->pool[i]);
    if (c->share)
        curl_share_cleanup(c->share);
    for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_locks[i]);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->token_fetch_lock);
    reg_token_cache_free(c->tokens);
    secret_free(&c->secret);
    free(c->user);
    free(c->realm);
    free(c->service);
    free(c->name);
    free(c->api_host);
    free(c->hostname);
    free(c->user_agent);
    free(c->auth_file);
    free(c->ca_bundle);
    free(c->client_cert);
    free(c->client_key);
    free(c);
}

const char *reg_client_host(const struct reg_client *c)
{
    return c->name;
}

void reg_client_set_credentials(struct reg_client *c, const char *user, const char *secret)
{
    pthread_mutex_lock(&c->lock);
    free(c->user);
    secret_free(&c->secret);
    c->user = user ? xstrdup(user) : NULL;
    c->secret = user ? xstrdup(secret ? secret : "") : NULL;
    c->creds_loaded = true;
    pthread_mutex_unlock(&c->lock);
    reg_token_cache_clear(c->tokens);
}
/* ---- the distribution-spec endpoints ---- */

static int check_repo(const char *repo, struct berr **err)
{
    if (!reg_repo_name_valid(repo))
        return berr_code(err, EINVAL,
                         "invalid repository name \"%s\": use lowercase letters, digits and the "
                         "separators '.', '_', '__', '-' and '/'",
                         repo ? repo : "");
    return 0;
}

static bool tag_valid(const char *t);

/* A manifest reference is a tag or a digest; *by_digest says which. */
static int check_reference(const char *reference, bool *by_digest, struct berr **err)
{
    *by_digest = reference != NULL && strchr(reference, ':') != NULL;
    if (*by_digest)
        return img_digest_validate(reference, err);
    if (reference == NULL || !tag_valid(reference))
        return berr_code(err, EINVAL,
                         "invalid tag \"%s\": up to 128 letters, digits, '_', '.' and '-', not "
                         "starting with '.' or '-'",
                         reference ? reference : "");
    return 0;
}

static bool tag_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
            return false;
    return true;
}

/* How Docker names an image in messages: "alpine:3" on Docker Hub, else "host/repo:tag". */
static char *display_ref(const struct reg_client *c, const char *repo, const char *reference)
{
    bool digest = strchr(reference, ':') != NULL;
    const char *sep = digest ? "@" : ":";
    if (reg_host_is_docker_hub(c->name)) {
        if (strncmp(repo, "library/", 8) == 0 && strchr(repo + 8, '/') == NULL)
            repo += 8;
        return xasprintf("%s%s%s", repo, sep, reference);
    }
    return xasprintf("%s/%s%s%s", c->name, repo, sep, reference);
}

static void digest_of(const char *algo, const void *data, size_t len, char out[IMG_DIGEST_MAX])
{
    struct img_hasher *h = img_hasher_new(algo);
    if (h == NULL)
        abort(); /* algo comes from a validated digest */
    img_hasher_update(h, data, len);
    img_hasher_final(h, out);
    img_hasher_free(h);
}

/* A Docker-Content-Digest that disagrees with the content means a broken or lying registry. */
static int check_header_digest(const struct response *rs, const void *data, size_t len,
                               const char *what, struct berr **err)
{
    if (rs->docker_digest == NULL || *rs->docker_digest == 0)
        return 0;
    if (!img_digest_valid(rs->docker_digest)) {
        log_debug("registry: ignoring unusable Docker-Content-Digest on %s", what);
        return 0;
    }
    char buf[8], got[IMG_DIGEST_MAX];
    digest_of(img_digest_algo(rs->docker_digest, buf), data, len, got);
    if (strcmp(got, rs->docker_digest) != 0)
        return berr_code(
            err, EBADMSG,
            "%s: digest mismatch: the registry says %s (Docker-Content-Digest) but the "
            "content is %s",
            what, rs->docker_digest, got);
    return 0;
}

static char *resolve_url(const char *base, const char *ref)
{
    _cleanup_(curlu_freep) CURLU *u = curl_url();
    char *s = NULL;
    if (u == NULL || curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_URL, ref, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
        return NULL;
    char *r = xstrdup(s);
    curl_free(s);
    return r;
}

static char *add_query(const char *url, const char *query)
{
    _cleanup_(curlu_freep) CURLU *u = curl_url();
    char *s = NULL;
    if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_QUERY, query, CURLU_APPENDQUERY) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
        return NULL;
    char *r = xstrdup(s);
    curl_free(s);
    return r;
}

static char **scopes_for(const char *repo, const char *actions, const char *from_repo)
{
    char **v = NULL;
    _cleanup_free_ char *s = reg_scope_repo(repo, actions);
    strv_append(&v, s);
    if (from_repo != NULL) {
        _cleanup_free_ char *f = reg_scope_repo(from_repo, "pull");
        strv_append(&v, f);
    }
    return v;
}

int reg_ping(struct reg_client *c, struct berr **err)
{
    struct request rq = {.method = "GET", .path = "/v2/", .follow = true, .retry = true};
    _cleanup_(reg_response_clear) struct response rs = {0};
    if (reg_do_request(c, &rq, &rs, err) < 0)
        return -1;
    if (rs.status >= 200 && rs.status < 300)
        return 0;
    if (rs.status == 404)
        return berr_code(err, ENOENT, "%s does not look like a registry: GET /v2/ answered 404",
                         c->name);
    return reg_http_error(&rs, err, "%s", c->name);
}

void reg_blob_body_clear(struct reg_blob_body *b)
{
    free(b->data);
    free(b->media_type);
    memset(b, 0, sizeof(*b));
}

static char *media_type_of(const struct response *rs, const char *body, size_t len)
{
    if (rs->content_type != NULL) {
        size_t n = strcspn(rs->content_type, "; \t");
        _cleanup_free_ char *t = xstrndup(rs->content_type, n);
        if (n > 0 && strcmp(t, "application/octet-stream") != 0 && strcmp(t, "text/plain") != 0 &&
            strcmp(t, "application/json") != 0)
            return steal_ptr(&t);
    }
    /* Some registries serve manifests with a generic type: the document names its own. */
    _cleanup_json_ json_t *root = json_loadb(body, len, 0, NULL);
    const char *mt = json_string_value(json_object_get(root, "mediaType"));
    return mt && *mt ? xstrdup(mt) : NULL;
}

int reg_get_manifest(struct reg_client *c, const char *repo, const char *reference,
                     struct reg_blob_body *out, struct berr **err)
{
    memset(out, 0, sizeof(*out));
    if (check_repo(repo, err) < 0)
        return -1;
    bool by_digest;
    if (check_reference(reference, &by_digest, err) < 0)
        return -1;
    _cleanup_free_ char *shown = display_ref(c, repo, reference);
    _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", repo, reference);
    _cleanup_strv_ char **scopes = scopes_for(repo, "pull", NULL);
    struct request rq = {
        .method = "GET",
        .path = path,
        .scopes = scopes,
        .accept = "application/vnd.oci.image.index.v1+json, "
                  "application/vnd.oci.image.manifest.v1+json, "
                  "application/vnd.docker.distribution.manifest.list.v2+json, "
                  "application/vnd.docker.distribution.manifest.v2+json",
        .max_body = MANIFEST_MAX,
        .follow = true,
        .retry = true,
    };
    _cleanup_(reg_response_clear) struct response rs = {0};
    if (reg_do_request(c, &rq, &rs, err) < 0)
        return berr_wrap(err, "manifest %s", shown);
    if (rs.status == 404) {
        _cleanup_free_ char *msg = reg_error_body_message(rs.body, rs.len);
        return berr_code(err, ENOENT, "manifest for %s not found: %s", shown,
                         msg ? msg : "manifest unknown");
    }
    if (rs.status != 200)
        return reg_http_error(&rs, err, "manifest %s", shown);
    if (rs.len == 0)
        return berr_code(err, EPROTO, "manifest %s: the registry sent an empty document", shown);
    char buf[8];
    digest_of(by_digest ? img_digest_algo(reference, buf) : "sha256", rs.body, rs.len, out->digest);
    if (by_digest && strcmp(out->digest, reference) != 0)
        return berr_code(err, EBADMSG, "manifest %s: digest mismatch: the content is %s", shown,
                         out->digest);
    _cleanup_free_ char *what = xasprintf("manifest %s", shown);
    if (check_header_digest(&rs, rs.body, rs.len, what, err) < 0)
        return -1;
    out->media_type = media_type_of(&rs, rs.body, rs.len);
    out->len = rs.len;
    out->data = steal_ptr(&rs.body);
    return 0;
}

int reg_get_blob(struct reg_client *c, const char *repo, const char *digest, size_t max,
                 struct reg_blob_body *out, struct berr **err)
{
    memset(out, 0, sizeof(*out));
    if (check_repo(repo, err) < 0 || img_digest_validate(digest, err) < 0)
        return -1;
    _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", repo, digest);
    _cleanup_strv_ char **scopes = scopes_for(repo, "pull", NULL);
    struct request rq = {
        .method = "GET",
        .path = path,
        .scopes = scopes,
        .max_body = max > 0 ? max : MANIFEST_MAX,
        .follow = true,
        .retry = true,
    };
    _cleanup_(reg_response_clear) struct response rs = {0};
    if (reg_do_request(c, &rq, &rs, err) < 0)
        return berr_wrap(err, "blob %s", digest);
    if (rs.status == 404) {
        _cleanup_free_ char *msg = reg_error_body_message(rs.body, rs.len);
        return berr_code(err, ENOENT, "blob %s not found in %s/%s: %s", digest, c->name, repo,
                         msg ? msg : "blob unknown");
    }
    if (rs.status != 200)
        return reg_http_error(&rs, err, "blob %s", digest);
    char buf[8];
    digest_of(img_digest_algo(digest, buf), rs.body ? rs.body : "", rs.len, out->digest);
    if (strcmp(out->digest, digest) != 0)
        return berr_code(err, EBADMSG, "blob %s: digest mismatch: the content is %s", digest,
                         out->digest);
    out->len = rs.len;
    out->data = rs.body ? steal_ptr(&rs.body) : xstrdup("");
    return 0;
}

int reg_fetch_blob(struct reg_client *c, const char *repo, const char *digest, uint64_t offset,
                   reg_sink_fn sink, void *ctx, struct berr **err)
{
    if (check_repo(repo, err) < 0 || img_digest_validate(digest, err) < 0)
        return -1;
    _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", repo, digest);
    _cleanup_strv_ char **scopes = scopes_for(repo, "pull", NULL);
    struct request rq = {
        .method = "GET",
        .path = path,
        .scopes = scopes,
        .sink = sink,
        .sink_ctx = ctx,
        .offset = offset,
        .follow = true,
        .retry = true,
    };
    _cleanup_(reg_response_clear) struct response rs = {0};
    if (reg_do_request(c, &rq, &rs, err) < 0)
        return berr_wrap(err, "blob %s", digest);
    if (rs.status == 404) {
        _cleanup_free_ char *msg = reg_error_body_message(rs.body, rs.len);
        return berr_code(err, ENOENT, "blob %s not found in %s/%s: %s", digest, c->name, repo,
                         msg ? msg : "blob unknown");
    }
    if (rs.status != 200 && rs.status != 206)
        return reg_http_error(&rs, err, "blob %s", digest);
    return 0;
}

int reg_blob_exists(struct reg_client *c, const char *repo, const char *digest, int64_t *size,
                    struct berr **err)
{
    if (check_repo(repo, err) < 0 || img_digest_validate(digest, err) < 0)
        return -1;
    _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/%s", repo, digest);
    _cleanup_strv_ char **scopes = scopes_for(repo, "pull", NULL);
    struct request rq = {
        .method = "HEAD",
        .path = path,
        .scopes = scopes,
        .follow = true,
        .retry = true,
    };
    _cleanup_(reg_response_clear) struct response rs = {0};
    if (reg_do_request(c, &rq, &rs, err) < 0)
        return berr_wrap(err, "blob %s", digest);
    if (rs.status == 404)
        return 0;
    if (rs.status != 200)
        return reg_http_error(&rs, err, "blob %s", digest);
    if (size != NULL)
        *size = rs.content_length;
    return 1;
}

/* The Range an upload response acknowledges ("0-1023", some registries add "bytes="): the last
 * byte received, or -1 when absent or unreadable. */
static long long acknowledged_end(const char *range)
{
    const char *dash = range ? strrchr(range, '-') : NULL;
    if (dash == NULL)
        return -1;
    char *end;
    long long v = strtoll(dash + 1, &end, 10);
    return end != dash + 1 && *end == 0 ? v : -1;
}

static int next_location(const struct response *rs, char **loc, const char *what, struct berr **err)
{
    if (rs->location == NULL || *rs->location == 0)
        return berr_code(err, EPROTO, "%s: the registry answered %ld without a Location", what,
                         rs->status);
    char *next = resolve_url(rs->url, rs->location);
    if (next == NULL)
        return berr_code(err, EPROTO, "%s: the registry answered with an unusable Location", what);
    free(*loc);
    *loc = next;
    return 0;
}

static int chunk_min_of(const struct response *rs, uint64_t *chunk_min)
{
    if (rs->chunk_min != NULL)
        *chunk_min = strtoull(rs->chunk_min, NULL, 10);
    return 0;
}

static int start_upload(struct reg_client *c, const char *repo, const char *digest,
                        const char *from_repo, char **scopes, char **loc, uint64_t *chunk_min,
                        bool *mounted, struct berr **err)
{
    _cleanup_free_ char *what = xasprintf("upload blob %s to %s/%s", digest, c->name, repo);
    _cleanup_(reg_response_clear) struct response rs = {0};
    if (from_repo != NULL) {
        _cleanup_free_ char *d = reg_url_escape(digest);
        _cleanup_free_ char *f = reg_url_escape(from_repo);
        _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", repo, d, f);
        struct request rq = {
            .method = "POST", .path = path, .scopes = scopes, .has_body = true, .retry = true};
        if (reg_do_request(c, &rq, &rs, err) < 0)
            return berr_wrap(err, "%s", what);
        if (rs.status == 201) {
            *mounted = true;
            return 0;
        }
        /* 202: the registry declined the mount and opened an ordinary upload instead. Any
         * other refusal (no access to from_repo, say) just means we upload the bytes. */
        if (rs.status == 202 && next_location(&rs, loc, what, NULL) == 0)
            return chunk_min_of(&rs, chunk_min);
        log_debug("registry: mount of %s from %s declined (HTTP %ld)", digest, from_repo,
                  rs.status);
    }
    _cleanup_free_ char *path = xasprintf("/v2/%s/blobs/uploads/", repo);
    struct request rq = {
        .method = "POST", .path = path, .scopes = scopes, .has_body = true, .retry = true};
    if (reg_do_request(c, &rq, &rs, err) < 0)
        return berr_wrap(err, "%s", what);
    if (rs.status != 202)
        return reg_http_error(&rs, err, "%s", what);
    if (next_location(&rs, loc, what, err) < 0)
        return -1;
    return chunk_min_of(&rs, chunk_min);
}

int reg_upload_blob(struct reg_client *c, const char *repo, const char *digest, int fd,
                    uint64_t size, const char *from_repo, uint64_t chunk_size, bool *mounted,
                    struct berr **err)
{
    bool mounted_here = false;
    if (mounted != NULL)
        *mounted = false;
    if (check_repo(repo, err) < 0 || img_digest_validate(digest, err) < 0)
        return -1;
    if (from_repo != NULL && check_repo(from_repo, err) < 0)
        return -1;
    if (from_repo != NULL && strcmp(from_repo, repo) == 0)
        from_repo = NULL;
    _cleanup_free_ char *what = xasprintf("upload blob %s to %s/%s", digest, c->name, repo);
    _cleanup_strv_ char **scopes = scopes_for(repo, "pull,push", from_repo);
    _cleanup_free_ char *loc = NULL;
    uint64_t chunk_min = 0;
    if (start_upload(c, repo, digest, from_repo, scopes, &loc, &chunk_min, &mounted_here, err) < 0)
        return -1;
    if (mounted_here) {
        if (mounted != NULL)
            *mounted = true;
        return 0;
    }
    if (chunk_size != 0 && chunk_size < chunk_min)
        chunk_size = chunk_min;

    _cleanup_(reg_response_clear) struct response rs = {0};
    uint64_t pos = 0;
    while (chunk_size != 0 && pos < size) {
        uint64_t n = size - pos < chunk_size ? size - pos : chunk_size;
        _cleanup_free_ char *crange =
            xasprintf("%llu-%llu", (unsigned long long)pos, (unsigned long long)(pos + n - 1));
        struct request rq = {
            .method = "PATCH",
            .url = loc,
            .scopes = scopes,
            .content_type = "application/octet-stream",
            .content_range = crange,
            .has_body = true,
            .body = {.fd = fd, .off = pos, .len = n},
        };
        if (reg_do_request(c, &rq, &rs, err) < 0)
            return berr_wrap(err, "%s", what);
        if (rs.status != 202)
            return reg_http_error(&rs, err, "%s: chunk %s", what, crange);
        long long ack = acknowledged_end(rs.range);
        if (ack >= 0 && (uint64_t)ack != pos + n - 1)
            return berr_code(err, EPROTO,
                             "%s: the registry acknowledged bytes up to %lld after chunk %s", what,
                             ack, crange);
        if (rs.location != NULL && next_location(&rs, &loc, what, err) < 0)
            return -1;
        pos += n;
    }

    _cleanup_free_ char *d = reg_url_escape(digest);
    _cleanup_free_ char *q = xasprintf("digest=%s", d);
    _cleanup_free_ char *url = add_query(loc, q);
    if (url == NULL)
        return berr_code(err, EPROTO, "%s: unusable upload location", what);
    bool whole = chunk_size == 0;
    struct request rq = {
        .method = "PUT",
        .url = url,
        .scopes = scopes,
        .content_type = whole ? "application/octet-stream" : NULL,
        .has_body = true,
        .body = {.fd = fd, .off = 0, .len = whole ? size : 0},
    };
    if (reg_do_request(c, &rq, &rs, err) < 0)
        return berr_wrap(err, "%s", what);
    if (rs.status != 201 && rs.status != 204 && rs.status != 200)
        return reg_http_error(&rs, err, "%s", what);
    if (rs.docker_digest != NULL && img_digest_valid(rs.docker_digest)) {
        char a[8], b[8];
        if (strcmp(img_digest_algo(rs.docker_digest, a), img_digest_algo(digest, b)) == 0 &&
            strcmp(rs.docker_digest, digest) != 0)
            return berr_code(err, EBADMSG, "%s: the registry stored it as %s", what,
                             rs.docker_digest);
    }
    return 0;
}

int reg_put_manifest(struct reg_client *c, const char *repo, const char *reference,
                     const char *media_type, const void *body, size_t len,
                     char digest_out[IMG_DIGEST_MAX], struct berr **err)
{
    if (check_repo(repo, err) < 0)
        return -1;
    bool by_digest;
    if (check_reference(reference, &by_digest, err) < 0)
        return -1;
    bool mt_ok = media_type != NULL && *media_type && strlen(media_type) <= 255;
    for (const char *p = media_type; mt_ok && *p; p++)
        mt_ok = *p >= 0x20 && *p < 0x7f;
    if (!mt_ok)
        return berr_code(err, EINVAL, "manifest media type must be a non-empty printable string");
    _cleanup_free_ char *shown = display_ref(c, repo, reference);
    char buf[8], digest[IMG_DIGEST_MAX];
    digest_of(by_digest ? img_digest_algo(reference, buf) : "sha256", body, len, digest);
    if (by_digest && strcmp(digest, reference) != 0)
        return berr_code(err, EINVAL, "put manifest %s: the manifest's digest is %s", shown,
                         digest);
    _cleanup_free_ char *path = xasprintf("/v2/%s/manifests/%s", repo, reference);
    _cleanup_strv_ char **scopes = scopes_for(repo, "pull,push", NULL);
    struct request rq = {
        .method = "PUT",
        .path = path,
        .scopes = scopes,
        .content_type = media_type,
        .has_body = true,
        .body = {.mem = body ? body : "", .len = len},
        .retry = true,
    };
    _cleanup_(reg_response_clear) struct response rs = {0};
    if (reg_do_request(c, &rq, &rs, err) < 0)
        return berr_wrap(err, "put manifest %s", shown);
    if (rs.status < 200 || rs.status > 299)
        return reg_http_error(&rs, err, "put manifest %s", shown);
    _cleanup_free_ char *what = xasprintf("put manifest %s", shown);
    if (check_header_digest(&rs, body ? body : "", len, what, err) < 0)
        return -1;
    if (digest_out != NULL)
        memcpy(digest_out, digest, sizeof(digest));
    return 0;
}
