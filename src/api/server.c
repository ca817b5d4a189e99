/* berthd's HTTP/1.1 server on libmicrohttpd: one thread per connection (streams and hijacked
 * connections block there, nowhere else), the /vX.Y prefix and version checks, route dispatch,
 * body buffering or streaming to a handler thread, and the headers Docker clients expect. */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/server_internal.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

/* Decodes %XX and, as Go's query encoding writes spaces, '+'. Never lengthens. */
static size_t unescape_cb(void *cls, struct MHD_Connection *c, char *s)
{
    char *o = s;
    for (const char *i = s; *i != '\0'; i++) {
        if (*i == '%' && i[1] != '\0' && i[2] != '\0') {
            char hex[3] = {i[1], i[2], '\0'};
            char *end = NULL;
            long v = strtol(hex, &end, 16);
            if (end == hex + 2) {
                *o++ = (char)v;
                i += 2;
                continue;
            }
        }
        *o++ = *i == '+' ? ' ' : *i;
    }
    *o = '\0';
    return (size_t)(o - s);
}

/* "/v1.41/containers/json" -> version 141, rest "/containers/json". 0 when no prefix; -1 when
 * the prefix is not a version. */
static int split_version(const char *url, const char **rest)
{
    *rest = url;
    if (url[0] != '/' || url[1] != 'v' || url[2] < '0' || url[2] > '9')
        return 0;
    const char *p = url + 2;
    char *end = NULL;
    long major = strtol(p, &end, 10);
    if (*end != '.')
        return -1;
    p = end + 1;
    long minor = strtol(p, &end, 10);
    if (end == p || (*end != '/' && *end != '\0'))
        return -1;
    *rest = *end == '\0' ? "/" : end;
    if (major < 0 || major > 9 || minor < 0 || minor > 99)
        return -1;
    return (int)(major * 100 + minor);
}

static void add_common_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Api-Version", API_VERSION_MAX_STR);
    MHD_add_response_header(resp, "Docker-Experimental", "false");
    MHD_add_response_header(resp, "Ostype", "linux");
    MHD_add_response_header(resp, "Server", "berth/" BERTH_VERSION " (linux)");
}

static enum MHD_Result queue_reply(struct api_req *r)
{
    if (r->kind == REPLY_NONE)
        api_reply_error(r, 500, "handler for %s %s gave no answer", r->method, r->path);
    struct MHD_Response *resp = NULL;
    int status = r->status;
    switch (r->kind) {
    case REPLY_BUFFER:
        resp = MHD_create_response_from_buffer(r->buf_len, r->buf, MHD_RESPMEM_MUST_FREE);
        r->buf = NULL;
        break;
    case REPLY_STREAM:
        resp = api_stream_response(r);
        break;
    case REPLY_HIJACK: {
        const char *up = api_header(r, "Upgrade");
        const char *connection = api_header(r, "Connection");
        bool upgrade = up != NULL && connection != NULL && strcasestr(connection, "upgrade");
        resp = api_hijack_response(r, upgrade);
        if (upgrade)
            status = MHD_HTTP_SWITCHING_PROTOCOLS;
        break;
    }
    case REPLY_NONE:
        break;
    }
    if (resp == NULL)
        return MHD_NO;
    add_common_headers(resp);
    if (r->content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    for (size_t i = 0; i < r->nhdr; i++)
        MHD_add_response_header(resp, r->hdr_names[i], r->hdr_values[i]);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void *stream_handler_main(void *arg)
{
    struct api_req *r = arg;
    r->route->fn(r);
    /* whatever of the upload the handler did not read is discarded: the uploader sees EPIPE */
    close(r->up_fd[0]);
    r->up_fd[0] = -1;
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *http_version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct api_server *srv = cls;
    struct api_req *r = *con_cls;

    if (r == NULL) {
        r = xcalloc(1, sizeof(*r));
        r->srv = srv;
        atomic_fetch_add(&srv->inflight, 1);
        r->conn = conn;
        r->up_fd[0] = r->up_fd[1] = -1;
        r->method = xstrdup(method);
        *con_cls = r;
        const char *rest = NULL;
        int v = split_version(url, &rest);
        r->path = xstrdup(rest);
        r->version = v > 0 ? v : API_VERSION_MAX;
        if (v < 0) {
            api_reply_error(r, 400, "invalid API version in %s", url);
        } else if (v > API_VERSION_MAX) {
            api_reply_error(r, 400,
                            "client version %d.%d is too new. Maximum supported API version is %s",
                            v / 100, v % 100, API_VERSION_MAX_STR);
        } else if (v > 0 && v < API_VERSION_MIN) {
            api_reply_error(r, 400,
                            "client version %d.%d is too old. Minimum supported API version is "
                            "%s, please upgrade your client to a newer version",
                            v / 100, v % 100, API_VERSION_MIN_STR);
        } else {
            bool path_known = false;
            r->route = api_route_find(r, method, r->path, &path_known);
            if (r->route == NULL)
                api_reply_error(r, 404, "page not found");
        }
        if (r->route != NULL && (r->route->flags & API_BODY_STREAM)) {
            if (pipe2(r->up_fd, O_CLOEXEC) < 0)
                abort();
            if (pthread_create(&r->handler_thread, NULL, stream_handler_main, r) != 0)
                abort();
            r->handler_running = true;
        }
        log_debug("api: %s %s", method, url);
        return MHD_YES;
    }

    if (*upload_size > 0) {
        if (r->handler_running) {
            if (r->up_fd[1] >= 0 && write_all(r->up_fd[1], upload_data, *upload_size) < 0) {
                close(r->up_fd[1]);
                r->up_fd[1] = -1;
            }
        } else if (r->kind == REPLY_NONE && !r->body_too_big) {
            if (r->body_len + *upload_size > API_MAX_BODY) {
                r->body_too_big = true;
            } else {
                if (r->body_len + *upload_size + 1 > r->body_cap) {
                    r->body_cap = (r->body_len + *upload_size + 1) * 2;
                    r->body = xrealloc(r->body, r->body_cap);
                }
                memcpy(r->body + r->body_len, upload_data, *upload_size);
                r->body_len += *upload_size;
                r->body[r->body_len] = '\0';
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }

    /* the whole request is in */
    if (r->handler_running) {
        if (r->up_fd[1] >= 0) {
            close(r->up_fd[1]);
            r->up_fd[1] = -1;
        }
        pthread_join(r->handler_thread, NULL);
        r->handler_running = false;
    } else if (r->body_too_big) {
        api_reply_error(r, 413, "request body larger than %u bytes", API_MAX_BODY);
    } else if (r->kind == REPLY_NONE && r->route != NULL) {
        r->route->fn(r);
    }
    return queue_reply(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct api_req *r = *con_cls;
    if (r == NULL)
        return;
    if (r->handler_running) {
        /* the client went away mid-upload: let the handler see EOF, then wait for it */
        if (r->up_fd[1] >= 0) {
            close(r->up_fd[1]);
            r->up_fd[1] = -1;
        }
        pthread_join(r->handler_thread, NULL);
    }
    struct api_server *srv = r->srv;
    api_req_free(r);
    *con_cls = NULL;
    if (atomic_fetch_sub(&srv->inflight, 1) == 1) {
        pthread_mutex_lock(&srv->trim_mu);
        srv->trim_due = true;
        srv->idle_since = time_mono_ns();
        pthread_cond_signal(&srv->trim_cv);
        pthread_mutex_unlock(&srv->trim_mu);
    }
}

/* An image load or a burst of containers leaves megabytes free in the heap that an idle daemon
 * would keep; malloc_trim gives them back. Not after every request: trimming costs a madvise
 * and the next request's page faults (a quarter of a `ps` of 100 containers), so it waits
 * until nothing has run for TRIM_IDLE_NS. */
#define TRIM_IDLE_NS (1000 * 1000000LL)

static void *trimmer_main(void *arg)
{
    struct api_server *srv = arg;
    pthread_mutex_lock(&srv->trim_mu);
    while (!srv->trim_stop) {
        if (!srv->trim_due) {
            pthread_cond_wait(&srv->trim_cv, &srv->trim_mu);
            continue;
        }
        int64_t at = srv->idle_since + TRIM_IDLE_NS, now = time_mono_ns();
        if (now < at) {
            struct timespec ts = {.tv_sec = at / 1000000000, .tv_nsec = at % 1000000000};
            pthread_cond_timedwait(&srv->trim_cv, &srv->trim_mu, &ts);
            continue;
        }
        srv->trim_due = false;
        if (atomic_load(&srv->inflight) > 0)
            continue; /* the request in flight sets trim_due again when it ends */
        void (*on_idle)(void) = srv->on_idle;
        pthread_mutex_unlock(&srv->trim_mu);
        if (on_idle)
            on_idle();
        malloc_trim(0);
        pthread_mutex_lock(&srv->trim_mu);
    }
    pthread_mutex_unlock(&srv->trim_mu);
    return NULL;
}

void api_server_on_idle(struct api_server *srv, void (*fn)(void))
{
    pthread_mutex_lock(&srv->trim_mu);
    srv->on_idle = fn;
    pthread_mutex_unlock(&srv->trim_mu);
}

static int trimmer_start(struct api_server *srv, struct berr **err)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->trim_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&srv->trim_mu, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    int rc = pthread_create(&srv->trimmer, &attr, trimmer_main, srv);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        errno = rc;
        return berr_sys(err, "start the memory trimmer thread");
    }
    srv->trimmer_started = true;
    return 0;
}

static int listen_unix(const char *path, int gid, struct berr **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return berr_code(err, ENAMETOOLONG, "socket path %s is too long", path);
    strcpy(sa.sun_path, path);
    _cleanup_free_ char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        if (mkdir_p(dir, 0755, err) < 0)
            return -1;
    }
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return berr_sys(err, "socket");
    /* a socket left by a daemon that died: take its place only if nobody answers there */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return berr_code(err, EADDRINUSE,
                         "%s: another daemon is already serving this socket; stop it first", path);
    unlink(path);
    /* made with no permissions for others from the start, then opened to the group */
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0)
        return berr_sys(err, "bind %s", path);
    if (gid >= 0 && chown(path, 0, (gid_t)gid) < 0) {
        unlink(path);
        return berr_sys(err, "chown %s", path);
    }
    if (chmod(path, 0660) < 0) {
        unlink(path);
        return berr_sys(err, "chmod %s", path);
    }
    if (listen(fd, 512) < 0) {
        unlink(path);
        return berr_sys(err, "listen %s", path);
    }
    return steal_fd(&fd);
}

int api_server_start(struct api_daemon *d, char **hosts, int gid, struct api_server **out,
                     struct berr **err)
{
    signal(SIGPIPE, SIG_IGN);
    struct api_server *srv = xcalloc(1, sizeof(*srv));
    srv->d = d;
    srv->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (srv->stop_fd < 0) {
        free(srv);
        return berr_sys(err, "eventfd");
    }
    if (trimmer_start(srv, err) < 0)
        goto fail;
    for (size_t i = 0; hosts[i] != NULL; i++) {
        const char *h = hosts[i];
        int fd = -1;
        if (srv->n == sizeof(srv->mhd) / sizeof(srv->mhd[0])) {
            berr_code(err, E2BIG, "too many hosts to serve");
            goto fail;
        }
        if (strncmp(h, "unix://", 7) == 0) {
            fd = listen_unix(h + 7, gid, err);
            if (fd < 0)
                goto fail;
            srv->unix_paths[srv->n] = xstrdup(h + 7);
        } else if (strncmp(h, "fd://", 5) == 0 && h[5] != '\0') {
            char *end = NULL;
            long v = strtol(h + 5, &end, 10);
            if (*end != '\0' || v < 3) {
                berr_code(err, EINVAL, "invalid host %s: expected fd://N with N >= 3", h);
                goto fail;
            }
            fd = (int)v;
        } else if (strncmp(h, "tcp://", 6) == 0) {
            berr_code(err, ENOTSUP,
                      "host %s: TCP is served only with TLS client certificates, which berthd "
                      "does not support yet; use a unix socket",
                      h);
            goto fail;
        } else {
            berr_code(err, EINVAL, "invalid host %s: expected unix:///path or fd://N", h);
            goto fail;
        }
        srv->mhd[srv->n] = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                MHD_ALLOW_UPGRADE | MHD_USE_ITC,
            0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, fd,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_UNESCAPE_CALLBACK,
            unescape_cb, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_THREAD_STACK_SIZE,
            (size_t)(512 * 1024), MHD_OPTION_END);
        if (srv->mhd[srv->n] == NULL) {
            close(fd);
            berr_code(err, EIO, "cannot serve %s: libmicrohttpd refused to start", h);
            goto fail;
        }
        srv->n++;
    }
    *out = srv;
    return 0;
fail:
    api_server_stop(srv);
    return -1;
}

void api_server_stop(struct api_server *srv)
{
    if (srv == NULL)
        return;
    uint64_t one = 1;
    if (write(srv->stop_fd, &one, sizeof(one)) < 0) {
        /* cannot fail for a fresh eventfd */
    }
    for (size_t i = 0; i < srv->n; i++) {
        MHD_stop_daemon(srv->mhd[i]);
    }
    for (size_t i = 0; i < sizeof(srv->unix_paths) / sizeof(srv->unix_paths[0]); i++) {
        if (srv->unix_paths[i] != NULL) {
            unlink(srv->unix_paths[i]);
            free(srv->unix_paths[i]);
        }
    }
    if (srv->trimmer_started) {
        pthread_mutex_lock(&srv->trim_mu);
        srv->trim_stop = true;
        pthread_cond_signal(&srv->trim_cv);
        pthread_mutex_unlock(&srv->trim_mu);
        pthread_join(srv->trimmer, NULL);
    }
    close(srv->stop_fd);
    free(srv);
}
