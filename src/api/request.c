/* What a handler reads from a request (path parameters, query, headers, body, Docker's filters)
 * and the buffered answers it can make (JSON, text, errors). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/server_internal.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

struct api_daemon *api_daemon(struct api_req *r)
{
    return r->srv->d;
}
const char *api_method(struct api_req *r)
{
    return r->method;
}
const char *api_path(struct api_req *r)
{
    return r->path;
}
int api_version(struct api_req *r)
{
    return r->version;
}

const char *api_param(struct api_req *r, const char *name)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (strcmp(r->param_names[i], name) == 0)
            return r->param_values[i];
    return "";
}

const char *api_query(struct api_req *r, const char *key)
{
    const char *v = NULL;
    size_t len = 0;
    if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), &v, &len) !=
        MHD_YES)
        return NULL;
    return v != NULL ? v : "";
}

bool api_query_bool(struct api_req *r, const char *key, bool dflt)
{
    const char *v = api_query(r, key);
    if (v == NULL)
        return dflt;
    /* Docker: anything but "", "0", "no", "false", "none" (any case) is true */
    return !(*v == '\0' || strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 ||
             strcasecmp(v, "no") == 0 || strcasecmp(v, "none") == 0);
}

int api_query_int(struct api_req *r, const char *key, int64_t dflt, int64_t *out)
{
    const char *v = api_query(r, key);
    *out = dflt;
    if (v == NULL || *v == '\0')
        return 0;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0') {
        api_reply_error(r, 400, "invalid value for %s: %s: not an integer", key, v);
        return -1;
    }
    *out = n;
    return 0;
}

struct collect {
    const char *key;
    const char **vals;
    size_t n;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct collect *c = cls;
    if (strcmp(key, c->key) == 0) {
        c->vals = xrealloc(c->vals, (c->n + 2) * sizeof(*c->vals));
        c->vals[c->n++] = value != NULL ? value : "";
        c->vals[c->n] = NULL;
    }
    return MHD_YES;
}

const char *const *api_query_all(struct api_req *r, const char *key)
{
    static const char *const none[] = {NULL};
    for (size_t i = 0; i < r->nqall; i++)
        if (strcmp(r->qall[i].key, key) == 0)
            return r->qall[i].values != NULL ? r->qall[i].values : none;
    if (r->nqall == sizeof(r->qall) / sizeof(r->qall[0]))
        return none;
    struct collect c = {.key = key};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &c);
    r->qall[r->nqall].key = xstrdup(key);
    r->qall[r->nqall++].values = c.vals;
    return c.vals != NULL ? c.vals : none;
}

const char *api_header(struct api_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *api_body(struct api_req *r, size_t *len)
{
    if (len != NULL)
        *len = r->body_len;
    return r->body != NULL ? r->body : "";
}

json_t *api_body_json(struct api_req *r)
{
    if (r->body_json != NULL)
        return r->body_json;
    if (r->body_len == 0) {
        r->body_json = json_object();
        return r->body_json;
    }
    json_error_t je;
    r->body_json = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &je);
    if (r->body_json == NULL) {
        api_reply_error(r, 400, "invalid JSON in request body: line %d, column %d: %s", je.line,
                        je.column, je.text);
        return NULL;
    }
    if (json_is_null(r->body_json)) {
        json_decref(r->body_json);
        r->body_json = json_object();
    }
    return r->body_json;
}

int api_body_fd(struct api_req *r)
{
    return r->up_fd[0];
}

/* Docker sends filters as {"key":["v1","v2"]} (API >= 1.22) or {"key":{"v1":true}} (older
 * clients, and still accepted). Both become arrays of strings. */
json_t *api_filters(struct api_req *r)
{
    if (r->filters != NULL)
        return r->filters;
    const char *raw = api_query(r, "filters");
    r->filters = json_object();
    if (raw == NULL || *raw == '\0')
        return r->filters;
    json_error_t je;
    _cleanup_(json_decrefp) json_t *in = json_loads(raw, 0, &je);
    if (in == NULL || !json_is_object(in)) {
        api_reply_error(r, 400, "invalid filter: %s", in == NULL ? je.text : "not a JSON object");
        return NULL;
    }
    const char *key;
    json_t *val;
    json_object_foreach(in, key, val)
    {
        json_t *arr = json_array();
        json_object_set_new(r->filters, key, arr);
        if (json_is_array(val)) {
            size_t i;
            json_t *e;
            json_array_foreach(val, i, e)
            {
                if (!json_is_string(e)) {
                    api_reply_error(r, 400, "invalid filter '%s': values must be strings", key);
                    return NULL;
                }
                json_array_append(arr, e);
            }
        } else if (json_is_object(val)) {
            const char *k;
            json_t *b;
            json_object_foreach(val, k, b)
            {
                if (json_is_true(b))
                    json_array_append_new(arr, json_string(k));
            }
        } else {
            api_reply_error(r, 400, "invalid filter '%s': expected a list of values", key);
            return NULL;
        }
    }
    return r->filters;
}

/* ---- answers ---- */

static void set_reply(struct api_req *r, enum api_reply_kind kind, int status, const char *ctype)
{
    if (r->kind != REPLY_NONE) {
        /* a second answer is a handler bug; keep the first, which the client is owed */
        return;
    }
    r->kind = kind;
    r->status = status;
    free(r->content_type);
    r->content_type = ctype != NULL ? xstrdup(ctype) : NULL;
}

void api_reply_json(struct api_req *r, int status, json_t *body)
{
    if (r->kind != REPLY_NONE) {
        json_decref(body);
        return;
    }
    set_reply(r, REPLY_BUFFER, status, body != NULL ? "application/json" : NULL);
    if (body != NULL) {
        char *s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(body);
        if (s == NULL)
            abort();
        size_t len = strlen(s);
        r->buf = xrealloc(s, len + 2);
        r->buf[len] = '\n';
        r->buf[len + 1] = '\0';
        r->buf_len = len + 1;
    }
}

void api_reply_text(struct api_req *r, int status, const char *content_type, const char *body,
                    size_t len)
{
    if (r->kind != REPLY_NONE)
        return;
    set_reply(r, REPLY_BUFFER, status, content_type);
    r->buf = xmalloc(len + 1);
    memcpy(r->buf, body, len);
    r->buf[len] = '\0';
    r->buf_len = len;
}

void api_reply_error(struct api_req *r, int status, const char *fmt, ...)
{
    if (r->kind != REPLY_NONE)
        return;
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    api_reply_json(r, status, json_pack("{s:s}", "message", msg));
}

void api_reply_berr(struct api_req *r, const struct berr *err)
{
    int status = 500;
    switch (err != NULL ? err->errnum : 0) {
    case ENOENT:
    case ESRCH:
        status = 404;
        break;
    case EEXIST:
    case EBUSY:
    case ENOTEMPTY:
        status = 409;
        break;
    case EINVAL:
    case ENAMETOOLONG:
    case E2BIG:
        status = 400;
        break;
    case EPERM:
    case EACCES:
        status = 403;
        break;
    case ENOTSUP:
        status = 501;
        break;
    case EALREADY:
        status = 304;
        break;
    default:
        break;
    }
    if (status == 304) {
        api_reply_json(r, 304, NULL);
        return;
    }
    api_reply_error(r, status, "%s", err != NULL && err->msg != NULL ? err->msg : "internal error");
}

void api_add_header(struct api_req *r, const char *name, const char *value)
{
    if (r->nhdr == API_MAX_HEADERS)
        return;
    r->hdr_names[r->nhdr] = xstrdup(name);
    r->hdr_values[r->nhdr++] = xstrdup(value);
}

void api_reply_stream(struct api_req *r, int status, const char *content_type, api_stream_fn fn,
                      void *ctx, void (*done)(void *ctx))
{
    if (r->kind != REPLY_NONE) {
        if (done != NULL)
            done(ctx);
        return;
    }
    set_reply(r, REPLY_STREAM, status, content_type);
    r->stream_fn = fn;
    r->ctx = ctx;
    r->ctx_done = done;
}

void api_reply_hijack(struct api_req *r, const char *content_type, api_hijack_fn fn, void *ctx,
                      void (*done)(void *ctx))
{
    if (r->kind != REPLY_NONE) {
        if (done != NULL)
            done(ctx);
        return;
    }
    set_reply(r, REPLY_HIJACK, 200, content_type);
    r->hijack_fn = fn;
    r->ctx = ctx;
    r->ctx_done = done;
}

void api_reply_upgrade(struct api_req *r, const char *protocol, api_hijack_fn fn, void *ctx,
                       void (*done)(void *ctx))
{
    if (r->kind != REPLY_NONE) {
        if (done != NULL)
            done(ctx);
        return;
    }
    set_reply(r, REPLY_HIJACK, 101, NULL);
    r->upgrade_proto = xstrdup(protocol);
    r->hijack_fn = fn;
    r->ctx = ctx;
    r->ctx_done = done;
}

void api_req_free(struct api_req *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nparams; i++) {
        free(r->param_names[i]);
        free(r->param_values[i]);
    }
    for (size_t i = 0; i < r->nqall; i++) {
        free(r->qall[i].key);
        free(r->qall[i].values);
    }
    for (size_t i = 0; i < r->nhdr; i++) {
        free(r->hdr_names[i]);
        free(r->hdr_values[i]);
    }
    if (r->kind != REPLY_NONE && r->ctx_done != NULL && r->ctx != NULL)
        r->ctx_done(r->ctx);
    if (r->up_fd[0] >= 0)
        close(r->up_fd[0]);
    if (r->up_fd[1] >= 0)
        close(r->up_fd[1]);
    json_decref(r->body_json);
    json_decref(r->filters);
    free(r->body);
    free(r->buf);
    free(r->content_type);
    free(r->upgrade_proto);
    free(r->method);
    free(r->path);
    free(r);
}
