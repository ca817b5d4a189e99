/* The API client: finding the daemon (and starting it, see autostart.c), requests through
 * libcurl on the unix socket, and raw HTTP/1.1 connections for hijacked streams and for waits
 * whose head must be in before the CLI goes on. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

/* The newest API version we speak; an older daemon's own (from /_ping) wins. */
#define CLIENT_API_VERSION "1.47"
#define HEAD_MAX           (64 * 1024)
#define ERROR_BODY_MAX     (1024 * 1024)
#define JSON_BODY_MAX      (256 * 1024 * 1024)

struct cli_api {
    char *host; /* as given: unix:///run/berth/berth.sock */
    char *sock; /* its path */
    char version[32];
};

/* ---- where the daemon is ---- */

static int parse_host(const char *host, char **sock, struct berr **err)
{
    if (strncmp(host, "unix://", 7) != 0 || host[7] != '/')
        return berr_code(err, EINVAL,
                         "unsupported daemon host \"%s\": berth talks to unix sockets only; give "
                         "-H or $BERTH_HOST as unix:///path/to/berth.sock",
                         host);
    if (strlen(host + 7) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return berr_code(err, ENAMETOOLONG, "daemon socket path %s is too long for a unix socket",
                         host + 7);
    *sock = xstrdup(host + 7);
    return 0;
}

static int unix_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* A header's value in a raw head (case-insensitive name), as a new string, or NULL. */
static char *head_value(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end = strstr(v, "\r\n");
            size_t len = end ? (size_t)(end - v) : strlen(v);
            while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
                len--;
            return xstrndup(v, len);
        }
    }
    return NULL;
}

int cli_api_ping(const char *sock, char *version, size_t vlen)
{
    _cleanup_close_ int fd = unix_connect(sock);
    if (fd < 0)
        return -errno;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    static const char req[] = "GET /_ping HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\r\n";
    if (write_all(fd, req, sizeof(req) - 1) < 0)
        return -errno;
    char head[4096];
    size_t got = 0;
    while (got < sizeof(head) - 1) {
        ssize_t n = read(fd, head + got, sizeof(head) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        head[got] = '\0';
        if (strstr(head, "\r\n\r\n"))
            break;
    }
    head[got] = '\0';
    if (strncmp(head, "HTTP/1.", 7) != 0 || strncmp(head + 8, " 200", 4) != 0)
        return -EPROTO;
    if (version) {
        _cleanup_free_ char *v = head_value(head, "Api-Version");
        snprintf(version, vlen, "%s", v ? v : CLIENT_API_VERSION);
    }
    return 0;
}

/* "1.41" as 141; 0 when it does not read as a version. */
static int version_number(const char *v)
{
    int major = 0, minor = 0;
    if (sscanf(v, "%d.%d", &major, &minor) != 2 || major < 1)
        return 0;
    return major * 100 + minor;
}

int cli_api_open(const char *host, const char *autostart_root, struct cli_api **out,
                 struct berr **err)
{
    _cleanup_free_ char *sock = NULL;
    if (parse_host(host, &sock, err) < 0)
        return -1;
    char version[32];
    int r = cli_api_ping(sock, version, sizeof(version));
    const char *base = strrchr(sock, '/') + 1;
    if (r < 0 && autostart_root && strcmp(base, "berth.sock") == 0 &&
        (r == -ENOENT || r == -ECONNREFUSED)) {
        if (cli_daemon_autostart(sock, autostart_root, err) < 0)
            return -1;
        r = cli_api_ping(sock, version, sizeof(version));
    }
    if (r < 0) {
        const char *why = r == -EPROTO ? "it does not answer as berthd does" : strerror(-r);
        return berr_code(err, -r,
                         "Cannot connect to the berth daemon at %s: %s. Is berthd running? Start "
                         "it with `berthd -H %s`, or point -H or $BERTH_HOST at its socket",
                         host, why, host);
    }
    struct cli_api *a = xcalloc(1, sizeof(*a));
    a->host = xstrdup(host);
    a->sock = steal_ptr(&sock);
    int have = version_number(version), mine = version_number(CLIENT_API_VERSION);
    snprintf(a->version, sizeof(a->version), "%s",
             have > 0 && have < mine ? version : CLIENT_API_VERSION);
    *out = a;
    return 0;
}

void cli_api_free(struct cli_api *a)
{
    if (a == NULL)
        return;
    free(a->host);
    free(a->sock);
    free(a);
}

static const char *host_of(const struct cli *cli)
{
    return cli->host && *cli->host ? cli->host : CLI_DEFAULT_HOST;
}

struct cli_api *cli_api_get(struct cli *cli, struct berr **err)
{
    if (cli->api == NULL && cli_api_open(host_of(cli), cli->root, &cli->api, err) < 0)
        return NULL;
    return cli->api;
}

void cli_api_close(struct cli *cli)
{
    cli_api_free(cli->api);
    cli->api = NULL;
}

char *cli_api_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = xmalloc(strlen(s) * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* ---- errors ---- */

static int status_errnum(long status)
{
    switch (status) {
    case 404:
        return ENOENT;
    case 409:
        return EEXIST;
    case 400:
        return EINVAL;
    case 403:
        return EPERM;
    default:
        return EIO;
    }
}

static int daemon_error(long status, const char *body, size_t len, struct berr **err)
{
    _cleanup_json_ json_t *j = len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (msg)
        return berr_code(err, status_errnum(status), "Error response from daemon: %s", msg);
    while (len > 0 && isspace((unsigned char)body[len - 1]))
        len--;
    if (len == 0)
        return berr_code(err, status_errnum(status), "Error response from daemon: status %ld",
                         status);
    return berr_code(err, status_errnum(status), "Error response from daemon: %.*s", (int)len,
                     body);
}

static int connect_error(struct cli_api *a, const char *why, struct berr **err)
{
    return berr_code(err, ECONNREFUSED,
                     "Cannot connect to the berth daemon at %s: %s. Is berthd running? Start it "
                     "with `berthd -H %s`, or point -H or $BERTH_HOST at its socket",
                     a->host, why, a->host);
}

/* ---- raw connections ---- */

struct cli_conn {
    int fd;
    long status;
    char *head;     /* the answer's head, once read */
    bool head_only; /* a HEAD request: no body whatever the head says */
    bool chunked, has_length, done;
    uint64_t left; /* of the current chunk, or of the content length */
    char *buf;     /* bytes read from fd, not yet taken: buf[off, len) */
    size_t off, len, cap;
};

int cli_conn_fd(const struct cli_conn *c)
{
    return c->fd;
}

size_t cli_conn_buffered(const struct cli_conn *c)
{
    return c->len - c->off;
}

void cli_conn_free(struct cli_conn *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c->head);
    free(c->buf);
    free(c);
}

void cli_conn_freep(struct cli_conn **c)
{
    cli_conn_free(*c);
    *c = NULL;
}

/* Reads more from the socket into the buffer: bytes added, 0 at EOF, -1 on error. */
static ssize_t fill(struct cli_conn *c)
{
    if (c->off > 0 && c->off == c->len)
        c->off = c->len = 0;
    if (c->len + 4096 > c->cap) {
        if (c->off > 0) {
            memmove(c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        }
        if (c->len + 4096 > c->cap) {
            c->cap = c->cap ? c->cap * 2 : 16384;
            c->buf = xrealloc(c->buf, c->cap);
        }
    }
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0)
            c->len += (size_t)n;
        return n;
    }
}

/* Bytes as they come, from the buffer first. */
static ssize_t read_raw(struct cli_conn *c, void *buf, size_t len)
{
    if (c->off == c->len) {
        ssize_t n = fill(c);
        if (n <= 0)
            return n;
    }
    size_t n = c->len - c->off < len ? c->len - c->off : len;
    memcpy(buf, c->buf + c->off, n);
    c->off += n;
    return (ssize_t)n;
}

/* One CRLF-ended line (without it) into line; -1 on EOF or error. */
static int read_line(struct cli_conn *c, char *line, size_t max)
{
    for (;;) {
        char *nl = memchr(c->buf + c->off, '\n', c->len - c->off);
        if (nl) {
            size_t n = (size_t)(nl - (c->buf + c->off));
            if (n > 0 && c->buf[c->off + n - 1] == '\r')
                n--;
            if (n >= max) {
                errno = EPROTO;
                return -1;
            }
            memcpy(line, c->buf + c->off, n);
            line[n] = '\0';
            c->off = (size_t)(nl - c->buf) + 1;
            return 0;
        }
        if (c->len - c->off > 1024) {
            errno = EPROTO;
            return -1;
        }
        ssize_t r = fill(c);
        if (r <= 0) {
            if (r == 0)
                errno = EPIPE;
            return -1;
        }
    }
}

ssize_t cli_conn_read(struct cli_conn *c, void *buf, size_t len)
{
    if (c->done || len == 0)
        return 0;
    if (c->chunked) {
        if (c->left == 0) {
            char line[128];
            if (read_line(c, line, sizeof(line)) < 0)
                return -1;
            char *end = NULL;
            unsigned long long size = strtoull(line, &end, 16);
            if (end == line) {
                errno = EPROTO;
                return -1;
            }
            if (size == 0) {
                while (read_line(c, line, sizeof(line)) == 0 && line[0] != '\0')
                    ;
                c->done = true;
                return 0;
            }
            c->left = size;
        }
        size_t want = c->left < len ? (size_t)c->left : len;
        ssize_t n = read_raw(c, buf, want);
        if (n == 0) {
            errno = EPIPE;
            return -1;
        }
        if (n > 0) {
            c->left -= (uint64_t)n;
            char crlf[128];
            if (c->left == 0 && read_line(c, crlf, sizeof(crlf)) < 0)
                return -1;
        }
        return n;
    }
    if (c->has_length) {
        if (c->left == 0) {
            c->done = true;
            return 0;
        }
        if (c->left < len)
            len = (size_t)c->left;
    }
    ssize_t n = read_raw(c, buf, len);
    if (n > 0 && c->has_length)
        c->left -= (uint64_t)n;
    if (n == 0)
        c->done = true;
    return n;
}

json_t *cli_conn_read_json(struct cli_conn *c, struct berr **err)
{
    _cleanup_free_ char *buf = xmalloc(65536);
    size_t len = 0;
    for (;;) {
        if (len == 65535)
            return berr_code(err, EFBIG, "the daemon's answer is too large"), NULL;
        ssize_t n = cli_conn_read(c, buf + len, 65535 - len);
        if (n < 0)
            return berr_sys(err, "reading the daemon's answer"), NULL;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    json_error_t je;
    json_t *j = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &je);
    if (j == NULL)
        berr_code(err, EPROTO, "the daemon's answer is not JSON: %s", je.text);
    return j;
}

static int read_head(struct cli_conn *c, char **head)
{
    for (;;) {
        char *end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t n = (size_t)(end - c->buf) + 4;
            *head = xstrndup(c->buf, n);
            c->off = n;
            return 0;
        }
        if (c->len > HEAD_MAX) {
            errno = EPROTO;
            return -1;
        }
        ssize_t r = fill(c);
        if (r <= 0) {
            if (r == 0)
                errno = EPIPE;
            return -1;
        }
    }
}

/* Connects and sends a request head (its body, if any, follows). */
static int conn_request(struct cli_api *a, const char *method, const char *path,
                        const char *headers, const char *body, struct cli_conn **out,
                        struct berr **err)
{
    _cleanup_(cli_conn_freep) struct cli_conn *c = xcalloc(1, sizeof(*c));
    c->fd = unix_connect(a->sock);
    if (c->fd < 0)
        return connect_error(a, strerror(errno), err);
    c->head_only = strcmp(method, "HEAD") == 0;
    _cleanup_free_ char *req =
        xasprintf("%s /v%s%s HTTP/1.1\r\nHost: berth\r\nUser-Agent: berth-cli/%s\r\n%s\r\n%s",
                  method, a->version, path, BERTH_VERSION, headers, body ? body : "");
    if (write_all(c->fd, req, strlen(req)) < 0)
        return berr_sys(err, "%s %s on %s", method, path, a->host);
    *out = steal_ptr(&c);
    return 0;
}

/* Reads the answer's head; 400 and up fail as cli_api_call does. */
static int conn_answer(struct cli_conn *c, bool upgrade, struct berr **err)
{
    if (read_head(c, &c->head) < 0)
        return berr_sys(err, "reading the daemon's answer");
    if (strncmp(c->head, "HTTP/1.", 7) != 0 || sscanf(c->head + 8, " %ld", &c->status) != 1)
        return berr_code(err, EPROTO, "the daemon's answer is not HTTP");
    _cleanup_free_ char *te = head_value(c->head, "Transfer-Encoding");
    _cleanup_free_ char *cl = head_value(c->head, "Content-Length");
    if (c->status != 101) {
        c->chunked = te && strcasecmp(te, "chunked") == 0;
        if (!c->chunked && cl) {
            c->has_length = true;
            c->left = strtoull(cl, NULL, 10);
        }
    }
    if (c->head_only || c->status == 204 || c->status == 304)
        c->done = true;
    if (c->status >= 400) {
        _cleanup_free_ char *msg = xmalloc(ERROR_BODY_MAX);
        size_t len = 0;
        ssize_t n;
        while (len < ERROR_BODY_MAX - 1 &&
               (n = cli_conn_read(c, msg + len, ERROR_BODY_MAX - 1 - len)) > 0)
            len += (size_t)n;
        return daemon_error(c->status, msg, len, err);
    }
    if (upgrade && c->status != 101 && c->status != 200)
        return berr_code(err, EPROTO, "the daemon answered %ld, not a stream", c->status);
    return 0;
}

int cli_conn_open(struct cli_api *a, const char *method, const char *path, json_t *body,
                  bool upgrade, struct cli_conn **out, struct berr **err)
{
    _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    _cleanup_free_ char *headers = xasprintf(
        "%sContent-Type: application/json\r\nContent-Length: %zu\r\n",
        upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "", text ? strlen(text) : 0);
    _cleanup_(cli_conn_freep) struct cli_conn *c = NULL;
    if (conn_request(a, method, path, headers, text, &c, err) < 0)
        return -1;
    if (conn_answer(c, upgrade, err) < 0)
        return -1;
    *out = steal_ptr(&c);
    return 0;
}

int cli_conn_upload(struct cli_api *a, const char *method, const char *path,
                    const char *content_type, struct cli_conn **out, struct berr **err)
{
    _cleanup_free_ char *headers =
        xasprintf("Content-Type: %s\r\nTransfer-Encoding: chunked\r\n", content_type);
    return conn_request(a, method, path, headers, NULL, out, err);
}

static int send_all(int fd, const void *buf, size_t len, int flags)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | flags);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int cli_conn_send(struct cli_conn *c, const void *buf, size_t len)
{
    if (len == 0)
        return 0;
    char size[32];
    snprintf(size, sizeof(size), "%zx\r\n", len);
    if (send_all(c->fd, size, strlen(size), MSG_MORE) < 0 ||
        send_all(c->fd, buf, len, MSG_MORE) < 0 || send_all(c->fd, "\r\n", 2, 0) < 0)
        return -1;
    return 0;
}

int cli_conn_finish(struct cli_conn *c, bool end_body, struct berr **err)
{
    /* the daemon may answer (an error) before it has read the whole upload: that answer is
     * still what counts */
    if (end_body && send_all(c->fd, "0\r\n\r\n", 5, 0) < 0 && errno != EPIPE && errno != ECONNRESET)
        return berr_sys(err, "sending to the daemon");
    return conn_answer(c, false, err);
}

char *cli_conn_header(const struct cli_conn *c, const char *name)
{
    return c->head ? head_value(c->head, name) : NULL;
}

/* ---- ordinary and streamed requests, one connection each ---- */

#define READ_CHUNK (64 * 1024)

static int perform(struct cli_api *a, const char *method, const char *path, json_t *body,
                   const char *const *headers, cli_api_data_fn fn, void *ctx, size_t max,
                   char **collected, size_t *collected_len, char **content_type, struct berr **err)
{
    _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char *hdr = NULL;
    size_t hlen = 0;
    FILE *f = open_memstream(&hdr, &hlen);
    if (f == NULL)
        abort();
    if (text)
        fprintf(f, "Content-Type: application/json\r\n");
    fprintf(f, "Content-Length: %zu\r\n", text ? strlen(text) : 0);
    for (size_t i = 0; headers && headers[i]; i++)
        fprintf(f, "%s\r\n", headers[i]);
    if (fclose(f) != 0)
        abort();
    _cleanup_free_ char *extra = hdr;
    _cleanup_(cli_conn_freep) struct cli_conn *c = NULL;
    if (conn_request(a, method, path, extra, text, &c, err) < 0 || conn_answer(c, false, err) < 0)
        return -1;
    if (content_type)
        *content_type = head_value(c->head, "Content-Type");
    size_t cap = READ_CHUNK + 1, len = 0;
    _cleanup_free_ char *buf = xmalloc(cap);
    for (;;) {
        if (!fn && len > max)
            return berr_code(err, EFBIG, "the daemon's answer to %s %s is too large", method, path);
        if (!fn && len + READ_CHUNK + 1 > cap)
            buf = xrealloc(buf, cap *= 2);
        ssize_t n = cli_conn_read(c, fn ? buf : buf + len, READ_CHUNK);
        if (n < 0)
            return berr_sys(err, "%s %s on %s: reading the answer", method, path, a->host);
        if (n == 0)
            break;
        if (fn && fn(ctx, buf, (size_t)n) != 0)
            break;
        if (!fn)
            len += (size_t)n;
    }
    if (collected) {
        buf[len] = '\0';
        *collected = steal_ptr(&buf);
        *collected_len = len;
    }
    return (int)c->status;
}

int cli_api_call(struct cli_api *a, const char *method, const char *path, json_t *body,
                 json_t **out, struct berr **err)
{
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    int status =
        perform(a, method, path, body, NULL, NULL, NULL, JSON_BODY_MAX, &buf, &len, NULL, err);
    if (status < 0)
        return -1;
    if (out) {
        *out = NULL;
        if (len > 0) {
            json_error_t je;
            *out = json_loadb(buf, len, 0, &je);
            if (*out == NULL)
                return berr_code(err, EPROTO, "%s %s: the daemon's answer is not JSON: %s", method,
                                 path, je.text);
        }
    }
    return status;
}

int cli_api_stream(struct cli_api *a, const char *method, const char *path, json_t *body,
                   const char *const *headers, cli_api_data_fn fn, void *ctx, char **content_type,
                   struct berr **err)
{
    return perform(a, method, path, body, headers, fn, ctx, 0, NULL, NULL, content_type, err);
}
