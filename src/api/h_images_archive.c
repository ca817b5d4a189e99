/* Images as tar archives over the API: import (POST /images/create?fromSrc=-, a rootfs tarball
 * as the body), save (GET /images/{name}/get, GET /images/get?names=...: a tar stream written
 * by a thread of its own through a pipe) and load (POST /images/load). */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/h_images_internal.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/archive.h"
#include "image/manifest.h"

static void reply_err(struct api_req *r, struct berr *err)
{
    api_reply_berr(r, err);
    berr_free(err);
}

/* ---- import ---- */

void api_img_import(struct api_req *r, const char *src)
{
    struct api_daemon *d = api_daemon(r);
    if (src == NULL || src[0] == '\0') {
        api_reply_error(r, 400,
                        "nothing to create: give fromImage (to pull) or fromSrc=- with "
                        "a tar archive as the request body (to import)");
        return;
    }
    if (strcmp(src, "-") != 0) {
        api_reply_error(r, 501,
                        "importing from a URL (%s) is not supported: download it and send it "
                        "as the request body with fromSrc=-",
                        src);
        return;
    }
    struct berr *err = NULL;
    _cleanup_ref_ struct img_ref *ref = NULL;
    _cleanup_platform_ struct img_platform *plat = NULL;
    const char *repo = api_query(r, "repo"), *p = api_query(r, "platform");
    if ((repo && repo[0] && api_img_repo_tag(repo, api_query(r, "tag"), &ref, &err) < 0) ||
        (p && p[0] && img_platform_parse(p, &plat, &err) < 0 && api_img_invalid(&err) < 0)) {
        reply_err(r, err);
        return;
    }
    _cleanup_free_ char *name = ref ? img_ref_string(ref) : NULL;
    _cleanup_strv_ char **changes = strv_dup((char *const *)api_query_all(r, "changes"));
    const char *message = api_query(r, "message");
    struct img_import_opts o = {
        .changes = changes,
        .message = message && message[0] ? message : NULL,
        .name = name,
        .platform_os = plat ? plat->os : NULL,
        .platform_arch = plat ? plat->architecture : NULL,
        .platform_variant = plat ? plat->variant : NULL,
        .source_label = "-",
    };
    struct img_record *rec = NULL;
    if (img_import(d->store, d->snap, api_body_fd(r), &o, &rec, &err) < 0) {
        reply_err(r, err);
        return;
    }
    _cleanup_json_ json_t *labels = api_img_labels(d->store, rec->id);
    if (ref) {
        _cleanup_free_ char *familiar = img_ref_familiar(ref);
        api_img_event(d, "tag", rec->id, familiar, labels);
    }
    api_img_event(d, "import", rec->id, rec->id, labels);
    _cleanup_json_ json_t *m = api_img_msg_status(NULL, rec->id);
    img_record_free(rec);
    _cleanup_free_ char *text = json_dumps(m, JSON_COMPACT);
    _cleanup_free_ char *line = xasprintf("%s\r\n", text);
    api_reply_text(r, 200, "application/json", line, strlen(line));
}

/* ---- save ---- */

struct save_job {
    struct api_daemon *d;
    struct img_db *db;
    size_t n;
    struct img_save_item *items;
    int fd; /* the write end of the pipe img_save fills */
    int result;
    struct berr *err;
};

static void save_job_free(void *ctx)
{
    struct save_job *j = ctx;
    for (size_t i = 0; i < j->n; i++)
        strv_free(j->items[i].names);
    free(j->items);
    img_db_free(j->db);
    berr_free(j->err);
    free(j);
}

static void save_add(struct save_job *j, struct img_record *rec, const char *name)
{
    j->items = xreallocarray(j->items, j->n + 1, sizeof(*j->items));
    struct img_save_item *it = &j->items[j->n++];
    it->rec = rec;
    it->names = xcalloc(1, sizeof(char *));
    if (name)
        strv_append(&it->names, name);
}

/* As docker save: a name saves that name, a repository every tag of it, an ID or a digest the
 * image without names. */
static int save_target(struct save_job *j, const char *what, struct berr **err)
{
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (!img_ref_looks_like_id(what) && img_ref_parse_repo(what, &ref, NULL) == 0 &&
        ref->tag == NULL && ref->digest == NULL) {
        _cleanup_free_ char *repo = img_ref_repo(ref);
        size_t before = j->n;
        for (size_t i = 0; i < j->db->n; i++) {
            for (size_t k = 0; j->db->v[i]->names[k]; k++) {
                _cleanup_ref_ struct img_ref *have = NULL;
                if (img_ref_parse(j->db->v[i]->names[k], &have, NULL) < 0)
                    continue;
                _cleanup_free_ char *have_repo = img_ref_repo(have);
                if (strcmp(have_repo, repo) == 0)
                    save_add(j, j->db->v[i], j->db->v[i]->names[k]);
            }
        }
        if (j->n > before)
            return 0;
    }
    struct img_record *rec = NULL;
    if (img_db_resolve(j->db, what, &rec, err) < 0)
        return -1;
    img_ref_freep(&ref);
    _cleanup_free_ char *name = NULL;
    if (!img_ref_looks_like_id(what) && img_ref_parse(what, &ref, NULL) == 0 && !ref->digest)
        name = img_ref_string(ref);
    save_add(j, rec, name && strv_contains(rec->names, name) ? name : NULL);
    return 0;
}

static void *save_writer(void *arg)
{
    struct save_job *j = arg;
    /* A reader that gives up closes the pipe: the write must fail with EPIPE, not kill us. */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    j->result = img_save(j->d->store, j->items, j->n, j->fd, &j->err);
    close(j->fd);
    j->fd = -1;
    struct timespec none = {0};
    while (sigtimedwait(&pipe_set, NULL, &none) == SIGPIPE)
        ;
    return NULL;
}

static void save_run(struct api_stream *s, void *ctx)
{
    struct save_job *j = ctx;
    int p[2];
    pthread_t th;
    if (pipe2(p, O_CLOEXEC) < 0) {
        j->result = berr_sys(&j->err, "create a pipe for the archive");
    } else {
        j->fd = p[1];
        if (pthread_create(&th, NULL, save_writer, j) != 0) {
            close(p[0]);
            close(p[1]);
            j->result = berr_code(&j->err, EAGAIN, "start the archive writer thread");
        } else {
            _cleanup_free_ char *buf = xmalloc(1 << 16);
            bool gone = false;
            for (;;) {
                ssize_t n = read(p[0], buf, 1 << 16);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    break;
                if (api_stream_write(s, buf, (size_t)n) < 0) {
                    gone = true;
                    break;
                }
            }
            close(p[0]);
            pthread_join(th, NULL);
            if (gone)
                return;
        }
    }
    if (j->result < 0) {
        /* The status line went out with the first byte; Docker ends the body this way. */
        log_info("save: %s", j->err->msg);
        api_stream_json(s, api_img_msg_error(j->err->msg));
        return;
    }
    _cleanup_strv_ char **ids = xcalloc(1, sizeof(char *));
    for (size_t i = 0; i < j->n; i++)
        img_strv_add_unique(&ids, j->items[i].rec->id);
    for (size_t i = 0; ids[i]; i++) {
        _cleanup_json_ json_t *labels = api_img_labels(j->d->store, ids[i]);
        api_img_event(j->d, "save", ids[i], ids[i], labels);
    }
}

static void save(struct api_req *r, const char *const *names)
{
    struct api_daemon *d = api_daemon(r);
    if (names == NULL || names[0] == NULL) {
        api_reply_error(r, 400, "no image to save: give one or more names=IMAGE");
        return;
    }
    struct berr *err = NULL;
    struct save_job *j = xzalloc(sizeof(*j));
    j->d = d;
    j->fd = -1;
    int ret = img_db_load(d->store, &j->db, &err);
    for (size_t i = 0; ret == 0 && names[i]; i++)
        ret = save_target(j, names[i], &err);
    if (ret < 0) {
        save_job_free(j);
        reply_err(r, err);
        return;
    }
    api_reply_stream(r, 200, "application/x-tar", save_run, j, save_job_free);
}

void api_img_save_one(struct api_req *r)
{
    const char *names[] = {api_param(r, "name"), NULL};
    save(r, names);
}

void api_img_save_many(struct api_req *r)
{
    save(r, api_query_all(r, "names"));
}

/* ---- load ---- */

struct load_view {
    char *out; /* the JSON lines answered */
    char **ids;
};

static void load_line(struct load_view *v, json_t *m)
{
    _cleanup_free_ char *text = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    char *joined = xasprintf("%s%s\r\n", v->out, text);
    free(v->out);
    v->out = joined;
}

static void on_loaded(void *ctx, const struct img_record *rec, const char *name)
{
    struct load_view *v = ctx;
    img_strv_add_unique(&v->ids, rec->id);
    _cleanup_free_ char *familiar = name ? api_img_familiar(name) : NULL;
    _cleanup_free_ char *line = name ? xasprintf("Loaded image: %s\n", familiar)
                                     : xasprintf("Loaded image ID: %s\n", rec->id);
    load_line(v, json_pack("{s:s}", "stream", line));
}

void api_img_load(struct api_req *r)
{
    struct api_daemon *d = api_daemon(r);
    struct load_view v = {.out = xstrdup(""), .ids = xcalloc(1, sizeof(char *))};
    struct berr *err = NULL;
    /* As Docker: the answer is a JSON stream, and a failure is its last message. */
    if (img_load(d->store, d->snap, api_body_fd(r), on_loaded, &v, &err) < 0) {
        log_info("load: %s", err->msg);
        load_line(&v, api_img_msg_error(err->msg));
        berr_free(err);
    }
    for (size_t i = 0; v.ids[i]; i++) {
        _cleanup_json_ json_t *labels = api_img_labels(d->store, v.ids[i]);
        api_img_event(d, "load", v.ids[i], v.ids[i], labels);
    }
    api_reply_text(r, 200, "application/json", v.out, strlen(v.out));
    free(v.out);
    strv_free(v.ids);
}
