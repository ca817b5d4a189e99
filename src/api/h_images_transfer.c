/* Docker Engine API endpoints that talk to registries: pull (POST /images/create?fromImage=,
 * which hands fromSrc= to import), push, and login (POST /auth). Pull and push write Docker's
 * JSON progress messages from the stream's own thread; credentials come only from the request's
 * X-Registry-Auth header, handed to the registry client in memory. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "api/h_images_internal.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/human.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/manifest.h"
#include "registry/credentials.h"
#include "registry/pull.h"

/* Layers moved at once, as reg_pull and reg_push default to: later ones show "Waiting". */
#define TRANSFER_PARALLEL 3

static void reply_err(struct api_req *r, struct berr *err)
{
    api_reply_berr(r, err);
    berr_free(err);
}

/* ---- progress messages, as Docker's streamformatter writes them ---- */

/* A layer's state change: {"status", "progressDetail": {}, "id"}. */
static json_t *msg_update(const char *id, const char *status)
{
    return json_pack("{s:s, s:{}, s:s}", "status", status, "progressDetail", "id", id);
}

static json_t *msg_progress(const char *id, const char *status, uint64_t current, uint64_t total)
{
    json_t *detail = json_object();
    if (current)
        json_object_set_new(detail, "current", json_integer((json_int_t)current));
    if (total)
        json_object_set_new(detail, "total", json_integer((json_int_t)total));
    /* The bar as jsonmessage renders it for a wide terminal: what the daemon has always sent
     * in "progress" for clients that do not draw their own. */
    _cleanup_free_ char *bar = human_progress((int64_t)current, (int64_t)total, 200, -1);
    json_t *m = json_pack("{s:s, s:o}", "status", status, "progressDetail", detail);
    if (bar[0])
        json_object_set_new(m, "progress", json_string(bar));
    json_object_set_new(m, "id", json_string(id));
    return m;
}

struct layer_row {
    char id[13];
    uint64_t total;
    bool extracted;
};

/* A stream of progress messages and the per-layer state behind them. Registry events come one
 * at a time (reg_event_fn's contract), so none of this needs a lock. */
struct progress {
    struct api_stream *s;
    bool gone; /* the client left: stop writing, let the transfer finish */
    size_t n, waiting;
    struct layer_row *rows;
};

static void emit(struct progress *p, json_t *m)
{
    if (p->gone) {
        json_decref(m);
        return;
    }
    if (api_stream_json(p->s, m) < 0)
        p->gone = true;
}

static struct layer_row *row_of(struct progress *p, const char *id)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->rows[i].id, id) == 0)
            return &p->rows[i];
    p->rows = xreallocarray(p->rows, p->n + 1, sizeof(*p->rows));
    struct layer_row *row = &p->rows[p->n++];
    memset(row, 0, sizeof(*row));
    snprintf(row->id, sizeof(row->id), "%s", id);
    return row;
}

static void progress_reset(struct progress *p)
{
    free(p->rows);
    p->rows = NULL;
    p->n = p->waiting = 0;
}

static void on_pull_event(void *ctx, const struct reg_event *ev)
{
    struct progress *p = ctx;
    if (ev->id == NULL)
        return;
    struct layer_row *row = row_of(p, ev->id);
    switch (ev->kind) {
    case REG_EV_WAITING:
        row->total = ev->total;
        emit(p, msg_update(ev->id, "Pulling fs layer"));
        if (++p->waiting > TRANSFER_PARALLEL)
            emit(p, msg_update(ev->id, "Waiting"));
        break;
    case REG_EV_EXISTS:
        emit(p, msg_update(ev->id, "Already exists"));
        break;
    case REG_EV_PROGRESS:
        emit(p, msg_progress(ev->id, "Downloading", ev->current, ev->total));
        break;
    case REG_EV_VERIFYING:
        emit(p, msg_update(ev->id, "Verifying Checksum"));
        emit(p, msg_update(ev->id, "Download complete"));
        break;
    case REG_EV_EXTRACTING:
        row->extracted = true;
        emit(p, msg_update(ev->id, "Extracting"));
        break;
    case REG_EV_LAYER_DONE:
        /* With overlay the layer was unpacked while it downloaded: say so, as Docker's
         * sequence has it, before it is complete. */
        if (!row->extracted)
            emit(p, msg_progress(ev->id, "Extracting", row->total, row->total));
        emit(p, msg_update(ev->id, "Pull complete"));
        break;
    default:
        break;
    }
}

static void on_push_event(void *ctx, const struct reg_event *ev)
{
    struct progress *p = ctx;
    if (ev->id == NULL)
        return;
    switch (ev->kind) {
    case REG_EV_WAITING:
        emit(p, msg_update(ev->id, "Preparing"));
        if (++p->waiting > TRANSFER_PARALLEL)
            emit(p, msg_update(ev->id, "Waiting"));
        break;
    case REG_EV_EXISTS:
        emit(p, msg_update(ev->id, "Layer already exists"));
        break;
    case REG_EV_PROGRESS:
        emit(p, msg_progress(ev->id, "Pushing", ev->current, ev->total));
        break;
    case REG_EV_MOUNTED: {
        _cleanup_free_ char *m = xasprintf("Mounted from %s", ev->msg ? ev->msg : "");
        emit(p, msg_update(ev->id, m));
        break;
    }
    case REG_EV_LAYER_DONE:
        emit(p, msg_update(ev->id, "Pushed"));
        break;
    default:
        break;
    }
}

/* ---- credentials from X-Registry-Auth ---- */

/* The credentials, as a config.json the registry client reads through /proc/self/fd: they
 * never touch a disk, and vanish with the fd. */
struct auth_file {
    int fd;
    char *path; /* NULL when anonymous */
};

static void auth_file_clear(struct auth_file *af)
{
    if (af->fd >= 0)
        close(af->fd);
    af->fd = -1;
    free(af->path);
    af->path = NULL;
}

/* The header is base64url JSON ({"username","password","auth","serveraddress",
 * "identitytoken","registrytoken"}), padded or not. As Docker does, a header that does not
 * decode means anonymous access. Tokens cannot be used by our client: they are ignored. */
static bool decode_auth_header(const char *header, char **user, char **secret)
{
    *user = *secret = NULL;
    if (header == NULL || header[0] == '\0' || strlen(header) > 64 * 1024)
        return false;
    size_t n = strlen(header);
    _cleanup_free_ char *b64 = xmalloc(n + 4);
    for (size_t i = 0; i < n; i++)
        b64[i] = header[i] == '-' ? '+' : header[i] == '_' ? '/' : header[i];
    while (n % 4)
        b64[n++] = '=';
    b64[n] = '\0';
    size_t len = 0;
    _cleanup_free_ char *text = reg_base64_decode(b64, &len, NULL);
    _cleanup_json_ json_t *o = text ? json_loadb(text, len, 0, NULL) : NULL;
    const char *u = json_string_value(json_object_get(o, "username"));
    const char *p = json_string_value(json_object_get(o, "password"));
    const char *auth = json_string_value(json_object_get(o, "auth"));
    if ((u == NULL || u[0] == '\0') && auth && auth[0]) {
        _cleanup_free_ char *plain = reg_base64_decode(auth, &len, NULL);
        char *colon = plain ? strchr(plain, ':') : NULL;
        if (colon) {
            *user = xstrndup(plain, (size_t)(colon - plain));
            *secret = xstrdup(colon + 1);
            return true;
        }
    }
    if (u == NULL || u[0] == '\0')
        return false;
    *user = xstrdup(u);
    *secret = xstrdup(p ? p : "");
    return true;
}

static int auth_file_open(const char *header, const char *host, struct auth_file *af,
                          struct berr **err)
{
    af->fd = -1;
    af->path = NULL;
    _cleanup_free_ char *user = NULL, *secret = NULL;
    if (!decode_auth_header(header, &user, &secret))
        return 0;
    _cleanup_free_ char *plain = xasprintf("%s:%s", user, secret);
    _cleanup_free_ char *b64 = reg_base64_encode(plain, strlen(plain));
    _cleanup_free_ char *key = reg_credentials_key(host);
    _cleanup_json_ json_t *cfg = json_pack("{s:{s:{s:s}}}", "auths", key, "auth", b64);
    _cleanup_free_ char *text = json_dumps(cfg, JSON_COMPACT);
    explicit_bzero(plain, strlen(plain));
    explicit_bzero(secret, strlen(secret));
    _cleanup_close_ int fd = memfd_create("berth-registry-auth", MFD_CLOEXEC);
    if (fd < 0)
        return berr_sys(err, "keep registry credentials in memory (memfd_create)");
    if (write_all(fd, text, strlen(text)) < 0)
        return berr_sys(err, "keep registry credentials in memory");
    explicit_bzero(text, strlen(text));
    af->path = xasprintf("/proc/self/fd/%d", fd);
    af->fd = steal_fd(&fd);
    return 0;
}

/* ---- pull ---- */

struct pull_job {
    struct api_daemon *d;
    struct img_ref *ref;
    struct img_platform *platform;
    struct auth_file auth;
    struct reg_options ro;
    struct progress pr;
};

static void pull_job_free(void *ctx)
{
    struct pull_job *j = ctx;
    img_ref_free(j->ref);
    img_platform_free(j->platform);
    auth_file_clear(&j->auth);
    progress_reset(&j->pr);
    free(j);
}

/* An image of one platform is pulled whatever platform was asked for; as Docker, say so when
 * they differ. */
static void warn_platform(struct pull_job *j, const char *id, const char *familiar)
{
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    struct img_record *rec = NULL;
    if (img_db_load(j->d->store, &db, NULL) < 0 || (rec = img_db_get(db, id)) == NULL)
        return;
    const struct img_platform *want = j->platform;
    bool same =
        rec->os && rec->architecture && strcmp(rec->os, want->os) == 0 &&
        strcmp(rec->architecture, want->architecture) == 0 &&
        (want->variant == NULL || (rec->variant && strcmp(rec->variant, want->variant) == 0));
    if (same)
        return;
    struct img_platform have = {.os = rec->os ? rec->os : "unknown",
                                .architecture = rec->architecture ? rec->architecture : "unknown",
                                .variant = rec->variant};
    _cleanup_free_ char *have_s = img_platform_string(&have);
    _cleanup_free_ char *want_s = img_platform_string(want);
    _cleanup_free_ char *msg =
        xasprintf("WARNING: image with reference %s was found but its platform (%s) does not "
                  "match the specified platform (%s)",
                  familiar, have_s, want_s);
    emit(&j->pr, api_img_msg_status(NULL, msg));
}

static void pull_run(struct api_stream *s, void *ctx)
{
    struct pull_job *j = ctx;
    j->pr.s = s;
    const struct img_ref *ref = j->ref;
    _cleanup_free_ char *from = xasprintf("Pulling from %s", ref->path);
    emit(&j->pr, api_img_msg_status(ref->digest ? ref->digest : ref->tag, from));
    struct reg_pull_opts o = {.platform = j->platform, .on_event = on_pull_event, .ctx = &j->pr};
    struct reg_pull_result res;
    struct berr *err = NULL;
    if (reg_pull(j->d->store, j->d->snap, &j->ro, ref, &o, &res, &err) < 0) {
        log_info("pull %s: %s", ref->path, err->msg);
        emit(&j->pr, api_img_msg_error(err->msg));
        berr_free(err);
        return;
    }
    _cleanup_free_ char *familiar = img_ref_familiar(ref);
    _cleanup_free_ char *digest = xasprintf("Digest: %s", res.digest);
    _cleanup_free_ char *status =
        xasprintf("Status: %s for %s",
                  res.updated ? "Downloaded newer image" : "Image is up to date", familiar);
    emit(&j->pr, api_img_msg_status(NULL, digest));
    emit(&j->pr, api_img_msg_status(NULL, status));
    if (j->platform)
        warn_platform(j, res.id, familiar);
    _cleanup_free_ char *repo = img_ref_familiar_repo(ref);
    _cleanup_json_ json_t *labels = api_img_labels(j->d->store, res.id);
    api_img_event(j->d, "pull", familiar, repo, labels);
}

/* What Docker finds out before its first progress line, so that it can still answer with an
 * HTTP error: whether the registry is there, knows the reference and has the platform. */
static int pull_precheck(const struct reg_options *ro, const struct img_ref *ref,
                         const struct img_platform *platform, struct berr **err)
{
    struct reg_client *c = NULL;
    if (reg_client_new(ref->domain, ro, &c, err) < 0)
        return -1;
    struct reg_blob_body top = {0};
    enum img_manifest_kind kind;
    _cleanup_index_ struct img_index *ix = NULL;
    size_t idx;
    int ret = reg_get_manifest(c, ref->path, ref->digest ? ref->digest : ref->tag, &top, err);
    if (ret == 0)
        ret = img_manifest_kind(top.media_type, top.data, top.len, &kind, err);
    if (ret == 0 && kind == IMG_KIND_INDEX) {
        ret = img_index_parse(top.media_type, top.data, top.len, &ix, err);
        if (ret == 0)
            ret = img_index_select(ix, platform, &idx, err);
    }
    reg_blob_body_clear(&top);
    reg_client_free(c);
    return ret;
}

/* fromImage (a name, maybe with a tag or digest) and tag (a tag or a digest, replacing). */
static int pull_reference(const char *from_image, const char *tag, struct img_ref **out,
                          struct berr **err)
{
    /* "pull -a" of old clients sends "name:". */
    _cleanup_free_ char *name = xstrdup(from_image);
    size_t n = strlen(name);
    if (n > 0 && name[n - 1] == ':')
        name[n - 1] = '\0';
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (img_ref_parse_repo(name, &ref, err) < 0)
        return api_img_invalid(err);
    if (tag && tag[0] && img_digest_valid(tag)) {
        free(ref->tag);
        ref->tag = NULL;
        free(ref->digest);
        ref->digest = xstrdup(tag);
    } else if (tag && tag[0]) {
        _cleanup_free_ char *repo = img_ref_repo(ref);
        img_ref_freep(&ref);
        if (api_img_repo_tag(repo, tag, &ref, err) < 0)
            return -1;
    } else if (ref->tag == NULL && ref->digest == NULL) {
        return berr_code(err, EINVAL,
                         "pulling every tag of %s is not supported: give a tag (tag=latest) or "
                         "a digest",
                         from_image);
    }
    *out = steal_ptr(&ref);
    return 0;
}

static void pull(struct api_req *r, const char *from_image)
{
    struct api_daemon *d = api_daemon(r);
    struct berr *err = NULL;
    struct pull_job *j = xzalloc(sizeof(*j));
    j->d = d;
    j->auth.fd = -1;
    const char *plat = api_version(r) >= 132 ? api_query(r, "platform") : NULL;
    if (pull_reference(from_image, api_query(r, "tag"), &j->ref, &err) < 0 ||
        (plat && plat[0] && img_platform_parse(plat, &j->platform, &err) < 0 &&
         api_img_invalid(&err) < 0)) {
        pull_job_free(j);
        reply_err(r, err);
        return;
    }
    _cleanup_free_ char *repo = img_ref_familiar_repo(j->ref);
    if (strcmp(repo, "scratch") == 0) {
        pull_job_free(j);
        api_reply_error(r, 403, "'scratch' is a reserved name");
        return;
    }
    int ret = auth_file_open(api_header(r, "X-Registry-Auth"), j->ref->domain, &j->auth, &err);
    j->ro = (struct reg_options){.insecure = d->insecure_registries, .auth_file = j->auth.path};
    if (ret < 0 || pull_precheck(&j->ro, j->ref, j->platform, &err) < 0) {
        pull_job_free(j);
        reply_err(r, err);
        return;
    }
    api_reply_stream(r, 200, "application/json", pull_run, j, pull_job_free);
}

void api_img_create(struct api_req *r)
{
    const char *from_image = api_query(r, "fromImage");
    if (from_image && from_image[0])
        pull(r, from_image);
    else
        api_img_import(r, api_query(r, "fromSrc"));
}

/* ---- push ---- */

struct push_job {
    struct api_daemon *d;
    struct img_db *db; /* a read-only view: the records pushed */
    char *repo;        /* "127.0.0.1:5000/app", for the first line */
    size_t n;
    struct img_ref **refs;
    struct img_record **recs;
    struct auth_file auth;
    struct reg_options ro;
    struct progress pr;
};

static void push_job_free(void *ctx)
{
    struct push_job *j = ctx;
    img_db_free(j->db);
    free(j->repo);
    for (size_t i = 0; i < j->n; i++)
        img_ref_free(j->refs[i]);
    free(j->refs);
    free(j->recs);
    auth_file_clear(&j->auth);
    progress_reset(&j->pr);
    free(j);
}

/* $BERTH_PUSH_CHUNK_SIZE (bytes): layers go up in PATCH requests of that size, for registries
 * that cap a request's size (and for tests of chunked uploads); unset, each in one request. */
static uint64_t push_chunk_size(void)
{
    const char *chunk = getenv("BERTH_PUSH_CHUNK_SIZE");
    return chunk ? strtoull(chunk, NULL, 10) : 0;
}

static void push_run(struct api_stream *s, void *ctx)
{
    struct push_job *j = ctx;
    j->pr.s = s;
    _cleanup_free_ char *first = xasprintf("The push refers to repository [%s]", j->repo);
    emit(&j->pr, api_img_msg_status(NULL, first));
    for (size_t i = 0; i < j->n && !j->pr.gone; i++) {
        const struct img_ref *ref = j->refs[i];
        struct reg_push_opts o = {
            .on_event = on_push_event, .ctx = &j->pr, .chunk_size = push_chunk_size()};
        struct reg_push_result res;
        struct berr *err = NULL;
        progress_reset(&j->pr);
        if (reg_push(j->d->store, &j->ro, j->recs[i], ref, &o, &res, &err) < 0) {
            log_info("push %s: %s", j->repo, err->msg);
            emit(&j->pr, api_img_msg_error(err->msg));
            berr_free(err);
            return;
        }
        _cleanup_free_ char *line =
            xasprintf("%s: digest: %s size: %lld", ref->tag, res.digest, (long long)res.size);
        emit(&j->pr, api_img_msg_status(NULL, line));
        emit(&j->pr, json_pack("{s:{}, s:{s:s, s:s, s:I}}", "progressDetail", "aux", "Tag",
                               ref->tag, "Digest", res.digest, "Size", (json_int_t)res.size));
        _cleanup_free_ char *familiar = img_ref_familiar(ref);
        _cleanup_free_ char *name = img_ref_familiar_repo(ref);
        _cleanup_json_ json_t *labels = api_img_labels(j->d->store, j->recs[i]->id);
        api_img_event(j->d, "push", familiar, name, labels);
    }
}

static void push_add(struct push_job *j, const struct img_ref *ref, struct img_record *rec)
{
    j->refs = xreallocarray(j->refs, j->n + 1, sizeof(*j->refs));
    j->recs = xreallocarray(j->recs, j->n + 1, sizeof(*j->recs));
    j->refs[j->n] = img_ref_dup(ref);
    j->recs[j->n++] = rec;
}

/* The tags to push: the one named, or (no tag given) every tag of the repository. */
static int push_targets(struct push_job *j, const char *name, const char *tag, struct berr **err)
{
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (tag && tag[0]) {
        if (api_img_repo_tag(name, tag, &ref, err) < 0)
            return -1;
    } else if (img_ref_parse_repo(name, &ref, err) < 0) {
        return api_img_invalid(err);
    }
    if (ref->digest)
        return berr_code(err, EINVAL, "cannot push a digest reference (%s): push a tag", name);
    j->repo = img_ref_repo(ref);
    if (img_db_load(j->d->store, &j->db, err) < 0)
        return -1;
    if (ref->tag) {
        _cleanup_free_ char *full = img_ref_string(ref);
        struct img_record *rec = img_db_by_name(j->db, full);
        if (rec)
            push_add(j, ref, rec);
    } else {
        for (size_t i = 0; i < j->db->n; i++) {
            for (size_t k = 0; j->db->v[i]->names[k]; k++) {
                _cleanup_ref_ struct img_ref *have = NULL;
                if (img_ref_parse(j->db->v[i]->names[k], &have, NULL) < 0)
                    continue;
                _cleanup_free_ char *have_repo = img_ref_repo(have);
                if (strcmp(have_repo, j->repo) == 0 && have->tag)
                    push_add(j, have, j->db->v[i]);
            }
        }
    }
    if (j->n == 0) {
        _cleanup_free_ char *shown = ref->tag ? img_ref_familiar(ref) : img_ref_familiar_repo(ref);
        return berr_code(err, ENOENT, "An image does not exist locally with the tag: %s", shown);
    }
    return 0;
}

void api_img_push(struct api_req *r)
{
    struct api_daemon *d = api_daemon(r);
    struct berr *err = NULL;
    struct push_job *j = xzalloc(sizeof(*j));
    j->d = d;
    j->auth.fd = -1;
    if (push_targets(j, api_param(r, "name"), api_query(r, "tag"), &err) < 0 ||
        auth_file_open(api_header(r, "X-Registry-Auth"), j->refs[0]->domain, &j->auth, &err) < 0) {
        push_job_free(j);
        reply_err(r, err);
        return;
    }
    j->ro = (struct reg_options){.insecure = d->insecure_registries, .auth_file = j->auth.path};
    api_reply_stream(r, 200, "application/json", push_run, j, push_job_free);
}

/* ---- login ---- */

/* "https://host:5000/v2/" -> "host:5000"; Docker Hub's names (and none) -> "docker.io". */
static char *server_host(const char *address)
{
    const char *s = address ? address : "";
    if (strncmp(s, "https://", 8) == 0)
        s += 8;
    else if (strncmp(s, "http://", 7) == 0)
        s += 7;
    char *h = xstrndup(s, strcspn(s, "/"));
    if (h[0] == '\0' || reg_host_is_docker_hub(h)) {
        free(h);
        h = xstrdup(IMG_REF_DEFAULT_DOMAIN);
    }
    return h;
}

/* Whether Docker would have reached host over plain http (listed insecure, or loopback): for
 * the address its refusal message names. */
static bool plain_http(const char *host, char **insecure)
{
    if (strv_contains(insecure, host))
        return true;
    _cleanup_free_ char *name = NULL;
    if (host[0] == '[')
        name = xstrndup(host + 1, strcspn(host + 1, "]"));
    else
        name = xstrndup(host, strcspn(host, ":"));
    if (strv_contains(insecure, name) || strcmp(name, "localhost") == 0)
        return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, name, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

void api_img_auth(struct api_req *r)
{
    struct api_daemon *d = api_daemon(r);
    json_t *body = api_body_json(r);
    if (body == NULL)
        return;
    const char *user = json_string_value(json_object_get(body, "username"));
    const char *secret = json_string_value(json_object_get(body, "password"));
    if (user == NULL || user[0] == '\0') {
        api_reply_error(r, 400,
                        "login needs a username (and a password): identity tokens are "
                        "not supported");
        return;
    }
    _cleanup_free_ char *host =
        server_host(json_string_value(json_object_get(body, "serveraddress")));
    struct reg_options o = {.insecure = d->insecure_registries};
    struct reg_client *c = NULL;
    struct berr *err = NULL;
    if (reg_client_new(host, &o, &c, &err) < 0) {
        reply_err(r, err);
        return;
    }
    reg_client_set_credentials(c, user, secret ? secret : "");
    int ret = reg_ping(c, &err);
    reg_client_free(c);
    if (ret < 0 && err->errnum == EACCES) {
        log_info("login to %s as %s refused: %s", host, user, err->msg);
        api_reply_error(r, 401, "login attempt to %s://%s/v2/ failed with status: 401 Unauthorized",
                        plain_http(host, d->insecure_registries) ? "http" : "https", host);
        berr_free(err);
        return;
    }
    if (ret < 0) {
        reply_err(r, err);
        return;
    }
    api_reply_json(r, 200,
                   json_pack("{s:s, s:s}", "IdentityToken", "", "Status", "Login Succeeded"));
}
