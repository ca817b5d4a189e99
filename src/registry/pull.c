/* Pull: resolve a reference to a platform manifest, fetch its config, then fetch the layers
 * a few at a time, each streamed at once into the store (verified by digest) and, over a
 * socket pair, into an unpacker thread building its snapshot (verified by diff ID). The image
 * record is written last, so a pull that dies leaves nothing visible, only blobs and partial
 * downloads that the next pull resumes. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/gc.h"
#include "registry/pull.h"
#include "registry/transfer.h"

#define PROGRESS_STEP (256u << 10)

struct layer_task {
    const struct img_descriptor *desc;
    const char *diff_id, *chain_id, *parent;
    bool need_snap;
    char short_id[13];
    int64_t unpacked; /* bytes, once its snapshot exists */
    int result;
    struct berr *err;
};

struct pull_ctx {
    struct img_store *s;
    struct img_snapshotter *sn;
    struct reg_client *client;
    const char *repo;
    struct reg_events ev;
    struct layer_task *tasks;
    size_t n_tasks;
    size_t next; /* under lock */
    bool failed; /* under lock */
    pthread_mutex_t lock;
};

struct unpack_job {
    struct img_snapshotter *sn;
    const struct layer_task *t;
    int fd;
    struct img_unpack_result res;
    struct berr *err;
    int result;
};

static void *unpack_thread(void *arg)
{
    struct unpack_job *j = arg;
    j->result = img_snap_unpack(j->sn, j->t->parent, j->t->chain_id, j->t->diff_id, j->fd, &j->res,
                                &j->err);
    /* Whatever is left unread would block the writer forever. */
    shutdown(j->fd, SHUT_RD);
    return NULL;
}

struct sink_ctx {
    struct pull_ctx *p;
    struct layer_task *t;
    struct img_blob_writer *w;
    int sock; /* -1 when nothing unpacks while downloading */
    uint64_t done, total, last_report;
};

static int send_all(int fd, const void *buf, size_t len, struct berr **err)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t r = send(fd, p, len, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return berr_sys(err, "feed the unpacker");
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

static int blob_sink(void *ctx, const void *buf, size_t len, struct berr **err)
{
    struct sink_ctx *sc = ctx;
    if (img_blob_writer_write(sc->w, buf, len, err) < 0)
        return -1;
    if (sc->sock >= 0 && send_all(sc->sock, buf, len, err) < 0)
        return -1;
    sc->done += len;
    if (sc->done - sc->last_report >= PROGRESS_STEP || sc->done == sc->total) {
        sc->last_report = sc->done;
        reg_events_emit(&sc->p->ev, REG_EV_PROGRESS, sc->t->short_id, sc->done, sc->total, NULL);
    }
    return 0;
}

/* Sends the bytes an earlier attempt left in the ingest file, so the unpacker sees the layer
 * from its first byte while the download resumes where that attempt stopped. */
static int replay_partial(struct img_blob_writer *w, int sock, struct berr **err)
{
    uint64_t end = img_blob_writer_offset(w), off = 0;
    _cleanup_free_ char *buf = xmalloc(1 << 20);
    while (off < end) {
        size_t want = end - off < (1 << 20) ? (size_t)(end - off) : (1 << 20);
        ssize_t r = pread(img_blob_writer_fd(w), buf, want, (off_t)off);
        if (r <= 0)
            return berr_sys(err, "read partial download");
        if (send_all(sock, buf, (size_t)r, err) < 0)
            return -1;
        off += (uint64_t)r;
    }
    return 0;
}

static int unpack_stored(struct pull_ctx *p, struct layer_task *t, struct berr **err)
{
    reg_events_emit(&p->ev, REG_EV_EXTRACTING, t->short_id, 0, 0, NULL);
    _cleanup_close_ int fd = img_blob_open(p->s, t->desc->digest, err);
    if (fd < 0)
        return -1;
    struct img_unpack_result res;
    if (img_snap_unpack(p->sn, t->parent, t->chain_id, t->diff_id, fd, &res, err) < 0)
        return -1;
    t->unpacked = (int64_t)res.uncompressed_size;
    return 0;
}

static int fetch_layer(struct pull_ctx *p, struct layer_task *t, struct berr **err)
{
    const struct img_descriptor *d = t->desc;
    struct img_blob_writer *w = NULL;
    int r = img_blob_writer_open(p->s, d->digest, d->size, &w, err);
    if (r < 0)
        return -1;
    bool stream = t->need_snap && img_snap_parallel(p->sn);
    if (r == 1) {
        /* Stored already (by an earlier pull, or a concurrent one we waited for). */
        if (stream)
            return unpack_stored(p, t, err);
        return 0;
    }
    int sv[2] = {-1, -1};
    pthread_t th;
    struct unpack_job job = {.sn = p->sn, .t = t, .fd = -1};
    bool started = false;
    if (stream) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
            img_blob_writer_abort(w, true);
            return berr_sys(err, "socketpair");
        }
        int sz = 1 << 20;
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        job.fd = sv[1];
        if (pthread_create(&th, NULL, unpack_thread, &job) != 0) {
            close(sv[0]);
            close(sv[1]);
            img_blob_writer_abort(w, true);
            return berr_set(err, EAGAIN, "start an unpack thread");
        }
        started = true;
    }
    struct sink_ctx sc = {.p = p, .t = t, .w = w, .sock = sv[0], .total = (uint64_t)d->size};
    sc.done = sc.last_report = img_blob_writer_offset(w);
    int ret = 0;
    struct berr *ferr = NULL;
    if (stream && replay_partial(w, sv[0], &ferr) < 0)
        ret = -1;
    /* A download killed after its last byte but before its commit has nothing left to
     * fetch (and a Range request from the end would be refused). */
    bool complete = img_blob_writer_offset(w) == (uint64_t)d->size;
    if (ret == 0 && !complete &&
        reg_fetch_blob(p->client, p->repo, d->digest, img_blob_writer_offset(w), blob_sink, &sc,
                       &ferr) < 0)
        ret = -1;
    if (ret == 0) {
        reg_events_emit(&p->ev, REG_EV_VERIFYING, t->short_id, 0, 0, NULL);
        ret = img_blob_writer_commit(w, NULL, &ferr);
        w = NULL;
    }
    if (w)
        img_blob_writer_abort(w, true);
    if (started) {
        close(sv[0]); /* EOF for the unpacker */
        pthread_join(th, NULL);
        close(sv[1]);
        /* The unpacker's own error explains a refused layer better than the broken pipe the
         * download then met. */
        if (job.result < 0 && (ret == 0 || (ferr && ferr->errnum == EPIPE))) {
            berr_free(ferr);
            ferr = steal_ptr(&job.err);
            ret = -1;
        }
        berr_free(job.err);
        t->unpacked = (int64_t)job.res.uncompressed_size;
    }
    if (ret < 0) {
        *err = ferr;
        return -1;
    }
    return 0;
}

static void *worker(void *arg)
{
    struct pull_ctx *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        if (p->failed || p->next >= p->n_tasks) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        struct layer_task *t = &p->tasks[p->next++];
        pthread_mutex_unlock(&p->lock);
        t->result = fetch_layer(p, t, &t->err);
        if (t->result < 0) {
            pthread_mutex_lock(&p->lock);
            p->failed = true;
            pthread_mutex_unlock(&p->lock);
        } else if (!t->need_snap || img_snap_parallel(p->sn)) {
            reg_events_emit(&p->ev, REG_EV_LAYER_DONE, t->short_id, 0, 0, NULL);
        }
    }
}

static int run_tasks(struct pull_ctx *p, int parallel, struct berr **err)
{
    size_t n = (size_t)(parallel > 0 ? parallel : 3);
    if (n > p->n_tasks)
        n = p->n_tasks;
    pthread_t th[16];
    if (n > ARRAY_SIZE(th))
        n = ARRAY_SIZE(th);
    size_t started = 0;
    for (; started < n; started++) {
        if (pthread_create(&th[started], NULL, worker, p) != 0)
            break;
    }
    if (started == 0 && p->n_tasks > 0)
        worker(p);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (size_t i = 0; i < p->n_tasks; i++) {
        if (p->tasks[i].result < 0) {
            *err = steal_ptr(&p->tasks[i].err);
            return berr_wrap(err, "layer %s", p->tasks[i].desc->digest);
        }
    }
    /* Drivers that apply each layer on a copy of its parent go in order, from stored blobs. */
    if (!img_snap_parallel(p->sn)) {
        for (size_t i = 0; i < p->n_tasks; i++) {
            struct layer_task *t = &p->tasks[i];
            if (t->need_snap && !img_snap_exists(p->sn, t->chain_id) &&
                unpack_stored(p, t, err) < 0)
                return berr_wrap(err, "layer %s", t->desc->digest);
            reg_events_emit(&p->ev, REG_EV_LAYER_DONE, t->short_id, 0, 0, NULL);
        }
    }
    return 0;
}

/* Fetches and stores a manifest-or-index document, following an index to the platform's
 * manifest. */
static int resolve(struct pull_ctx *p, const struct img_ref *ref, const struct reg_pull_opts *o,
                   struct reg_blob_body *top, struct reg_blob_body *man, struct berr **err)
{
    const char *reference = ref->digest ? ref->digest : ref->tag;
    if (reg_get_manifest(p->client, p->repo, reference, top, err) < 0)
        return -1;
    reg_events_emit(&p->ev, REG_EV_RESOLVED, NULL, 0, 0, top->digest);
    enum img_manifest_kind kind;
    if (img_manifest_kind(top->media_type, top->data, top->len, &kind, err) < 0)
        return -1;
    if (kind == IMG_KIND_MANIFEST)
        return 0;
    _cleanup_index_ struct img_index *ix = NULL;
    if (img_index_parse(top->media_type, top->data, top->len, &ix, err) < 0)
        return -1;
    size_t idx;
    if (img_index_select(ix, o->platform, &idx, err) < 0)
        return -1;
    const struct img_descriptor *d = &ix->manifests[idx];
    if (reg_get_manifest(p->client, p->repo, d->digest, man, err) < 0)
        return -1;
    if (img_manifest_kind(man->media_type, man->data, man->len, &kind, err) < 0)
        return -1;
    if (kind != IMG_KIND_MANIFEST)
        return berr_set(err, EINVAL,
                        "index entry %s is itself an index; nested indexes are not "
                        "supported",
                        d->digest);
    return 0;
}

int reg_pull(struct img_store *s, struct img_snapshotter *sn, const struct reg_options *ro,
             const struct img_ref *ref, const struct reg_pull_opts *o, struct reg_pull_result *res,
             struct berr **err)
{
    struct reg_pull_opts defaults = {0};
    if (o == NULL)
        o = &defaults;
    _cleanup_free_ char *repo_name = img_ref_repo(ref);
    struct pull_ctx p = {.s = s, .sn = sn, .repo = ref->path};
    reg_events_init(&p.ev, o->on_event, o->ctx);
    pthread_mutex_init(&p.lock, NULL);
    struct reg_blob_body top = {0}, man = {0}, cfg = {0};
    _cleanup_manifest_ struct img_manifest *m = NULL;
    _cleanup_config_ struct img_config *config = NULL;
    _cleanup_strv_ char **chains = NULL;
    _cleanup_close_ int lease = -1;
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    _cleanup_free_ char *repo_digest = NULL;
    _cleanup_free_ char *name = NULL;
    int ret = -1;

    if (reg_client_new(ref->domain, ro, &p.client, err) < 0)
        goto out;
    if (resolve(&p, ref, o, &top, &man, err) < 0)
        goto out;
    struct reg_blob_body *mb = man.data ? &man : &top;
    if (img_manifest_parse(mb->media_type, mb->data, mb->len, &m, err) < 0)
        goto out;
    if (reg_get_blob(p.client, p.repo, m->config.digest, IMG_CONFIG_MAX, &cfg, err) < 0)
        goto out;
    if (img_config_parse(cfg.data, cfg.len, &config, err) < 0 ||
        img_manifest_check_config(m, config, err) < 0)
        goto out;
    if (config->history_mismatch)
        log_debug("%s: history and layers disagree in number", repo_name);
    chains = img_chain_ids(config->diff_ids, config->n_diff_ids);

    /* From the first blob written until the record names them, GC must keep off. */
    if ((lease = img_gc_lease(s, err)) < 0)
        goto out;
    if (img_blob_put(s, top.data, top.len, top.digest, NULL, err) < 0 ||
        (man.data && img_blob_put(s, man.data, man.len, man.digest, NULL, err) < 0) ||
        img_blob_put(s, cfg.data, cfg.len, m->config.digest, NULL, err) < 0)
        goto out;

    p.tasks = xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*p.tasks));
    for (size_t i = 0; i < m->n_layers; i++) {
        struct layer_task *t = &p.tasks[i];
        t->desc = &m->layers[i];
        t->diff_id = config->diff_ids[i];
        t->chain_id = chains[i];
        t->parent = i > 0 ? chains[i - 1] : NULL;
        snprintf(t->short_id, sizeof(t->short_id), "%s", img_digest_hex(t->desc->digest));
        t->need_snap = !img_snap_exists(sn, t->chain_id);
        if (!t->need_snap && img_blob_exists(s, t->desc->digest)) {
            t->result = 0;
            reg_events_emit(&p.ev, REG_EV_EXISTS, t->short_id, 0, 0, NULL);
            continue;
        }
        reg_events_emit(&p.ev, REG_EV_WAITING, t->short_id, 0, (uint64_t)t->desc->size, NULL);
        p.tasks[p.n_tasks++] = *t;
        if (p.n_tasks - 1 != i)
            memset(t, 0, sizeof(*t));
    }
    if (run_tasks(&p, o->parallel, err) < 0)
        goto out;

    /* Records must never name data a power cut could lose. */
    if (syncfs(img_store_dirfd(s)) < 0) {
        berr_sys(err, "sync %s", img_store_root(s));
        goto out;
    }
    if (img_db_begin(s, &db, err) < 0)
        goto out;
    struct img_record *rec = img_record_new();
    rec->id = xstrdup(m->config.digest);
    rec->target = xstrdup(top.digest);
    rec->target_media_type = xstrdup(top.media_type ? top.media_type : mb->media_type);
    rec->manifest = xstrdup(mb->digest);
    rec->manifest_media_type = xstrdup(m->media_type);
    rec->created = config->created ? xstrdup(config->created) : NULL;
    rec->os = config->os ? xstrdup(config->os) : NULL;
    rec->architecture = config->architecture ? xstrdup(config->architecture) : NULL;
    rec->variant = config->variant ? xstrdup(config->variant) : NULL;
    rec->n_layers = m->n_layers;
    rec->layers = xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*rec->layers));
    for (size_t i = 0; i < m->n_layers; i++) {
        struct img_layer_info *li = &rec->layers[i];
        li->digest = xstrdup(m->layers[i].digest);
        li->media_type = xstrdup(m->layers[i].media_type);
        li->size = m->layers[i].size;
        li->diff_id = xstrdup(config->diff_ids[i]);
        li->chain_id = xstrdup(chains[i]);
        int64_t sz = img_snap_size(sn, chains[i]);
        rec->size += sz > 0 ? sz : 0;
    }
    repo_digest = xasprintf("%s@%s", repo_name, top.digest);
    strv_append(&rec->repo_digests, repo_digest);
    if (ref->digest == NULL) {
        name = img_ref_string(ref);
        strv_append(&rec->names, name);
    }
    struct img_record *had = name ? img_db_by_name(db, name) : NULL;
    bool updated = had == NULL || strcmp(had->id, rec->id) != 0;
    if (ref->digest && img_db_get(db, rec->id))
        updated = false;
    snprintf(res->id, sizeof(res->id), "%s", rec->id);
    snprintf(res->digest, sizeof(res->digest), "%s", top.digest);
    res->updated = updated;
    img_db_add(db, rec);
    if (img_db_commit(db, err) < 0)
        goto out;
    ret = 0;
out:
    for (size_t i = 0; i < p.n_tasks; i++)
        berr_free(p.tasks[i].err);
    free(p.tasks);
    reg_blob_body_clear(&top);
    reg_blob_body_clear(&man);
    reg_blob_body_clear(&cfg);
    reg_client_free(p.client);
    pthread_mutex_destroy(&p.lock);
    reg_events_destroy(&p.ev);
    return ret;
}
