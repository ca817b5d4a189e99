/* Container files over the API, for `docker cp` and `docker export`: HEAD, GET and PUT
 * /containers/{id}/archive and GET /containers/{id}/export. The engine does the work; tars
 * go out as chunked streams written by the stream's worker thread, and an upload is read from
 * the streamed request body as it arrives. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "engine/archive.h"
#include "engine/engine.h"

static struct eng *eng_of(struct api_req *r)
{
    return api_daemon(r)->engine;
}

static const char *path_arg(struct api_req *r)
{
    const char *p = api_query(r, "path");
    if (p == NULL || *p == '\0') {
        api_reply_error(r, 400, "bad parameter: path cannot be empty");
        return NULL;
    }
    return p;
}

static char *base64(const unsigned char *in, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        *o++ = tbl[v >> 18 & 63];
        *o++ = tbl[v >> 12 & 63];
        *o++ = i + 1 < len ? tbl[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? tbl[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* Stats path and puts Docker's X-Docker-Container-Path-Stat header on the reply; false (with
 * the error answered) when the path or the container is not there. */
static bool stat_header(struct api_req *r, const char *ref, const char *path)
{
    struct eng_path_stat st;
    _cleanup_berr_ struct berr *err = NULL;
    if (eng_archive_stat(eng_of(r), ref, path, &st, &err) < 0) {
        api_reply_berr(r, err);
        return false;
    }
    _cleanup_json_ json_t *j = eng_path_stat_json(&st);
    eng_path_stat_clear(&st);
    _cleanup_free_ char *txt = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (txt == NULL)
        abort();
    _cleanup_free_ char *b64 = base64((const unsigned char *)txt, strlen(txt));
    api_add_header(r, "X-Docker-Container-Path-Stat", b64);
    return true;
}

static void archive_head(struct api_req *r)
{
    const char *path = path_arg(r);
    if (path != NULL && stat_header(r, api_param(r, "id"), path))
        api_reply_text(r, 200, NULL, "", 0);
}

struct tar_job {
    struct eng *e;
    char *id; /* the full ID: a rename meanwhile changes nothing */
    char *path;
};

static void tar_job_free(void *ctx)
{
    struct tar_job *j = ctx;
    free(j->id);
    free(j->path);
    free(j);
}

static int to_stream(void *ctx, const void *buf, size_t len)
{
    return api_stream_write(ctx, buf, len);
}

static void archive_run(struct api_stream *s, void *ctx)
{
    struct tar_job *j = ctx;
    _cleanup_berr_ struct berr *err = NULL;
    /* the status went out already: a failure can only cut the tar short, which the client
     * notices */
    if (eng_archive_get(j->e, j->id, j->path, to_stream, s, &err) < 0)
        log_info("archive of %s in container %.12s: %s", j->path, j->id, err->msg);
}

static void archive_get(struct api_req *r)
{
    const char *ref = api_param(r, "id"), *path = path_arg(r);
    char id[65];
    _cleanup_berr_ struct berr *err = NULL;
    if (path == NULL)
        return;
    if (eng_resolve(eng_of(r), ref, id, &err) < 0) {
        api_reply_berr(r, err);
        return;
    }
    if (!stat_header(r, ref, path))
        return;
    struct tar_job *j = xzalloc(sizeof(*j));
    j->e = eng_of(r);
    j->id = xstrdup(id);
    j->path = xstrdup(path);
    api_reply_stream(r, 200, "application/x-tar", archive_run, j, tar_job_free);
}

/* Runs on the request's own thread while the upload arrives (API_BODY_STREAM). */
static void archive_put(struct api_req *r)
{
    const char *path = path_arg(r);
    if (path == NULL)
        return;
    struct eng_extract_opts o = {
        .no_overwrite_dir_non_dir = api_query_bool(r, "noOverwriteDirNonDir", false),
        .copy_uid_gid = api_query_bool(r, "copyUIDGID", false),
    };
    _cleanup_berr_ struct berr *err = NULL;
    if (eng_archive_put(eng_of(r), api_param(r, "id"), path, api_body_fd(r), &o, &err) < 0)
        api_reply_berr(r, err);
    else
        api_reply_text(r, 200, NULL, "", 0);
}

static void export_run(struct api_stream *s, void *ctx)
{
    struct tar_job *j = ctx;
    _cleanup_berr_ struct berr *err = NULL;
    if (eng_export(j->e, j->id, to_stream, s, &err) < 0)
        log_info("export of container %.12s: %s", j->id, err->msg);
}

static void export_(struct api_req *r)
{
    char id[65];
    _cleanup_berr_ struct berr *err = NULL;
    if (eng_resolve(eng_of(r), api_param(r, "id"), id, &err) < 0) {
        api_reply_berr(r, err);
        return;
    }
    struct tar_job *j = xzalloc(sizeof(*j));
    j->e = eng_of(r);
    j->id = xstrdup(id);
    api_reply_stream(r, 200, "application/x-tar", export_run, j, tar_job_free);
}

/* HEAD first: a HEAD request also matches a GET route. */
const struct api_route api_archive_routes[] = {
    {"HEAD", "/containers/{id}/archive", archive_head, 0},
    {"GET", "/containers/{id}/archive", archive_get, 0},
    {"PUT", "/containers/{id}/archive", archive_put, API_BODY_STREAM},
    {"GET", "/containers/{id}/export", export_, 0},
    {NULL, NULL, NULL, 0},
};
