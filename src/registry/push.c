/* Push: upload an image's layers and config (skipping what the registry has, mounting from a
 * repository it came from on the same registry), then its manifest under the tag. The manifest
 * goes up byte for byte as stored, so the pushed digest is the one pulled. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "registry/pull.h"
#include "registry/transfer.h"

struct push_blob {
    const struct img_descriptor *desc;
    char short_id[13];
    int result;
    struct berr *err;
};

struct push_ctx {
    struct img_store *s;
    struct reg_client *client;
    const char *repo;
    const char *from_repo; /* may be NULL */
    uint64_t chunk_size;
    struct reg_events ev;
    struct push_blob *blobs;
    size_t n, next;
    bool failed;
    pthread_mutex_t lock;
};

static int push_one(struct push_ctx *p, struct push_blob *b, struct berr **err)
{
    const struct img_descriptor *d = b->desc;
    int64_t have = -1;
    int r = reg_blob_exists(p->client, p->repo, d->digest, &have, err);
    if (r < 0)
        return -1;
    if (r == 1) {
        reg_events_emit(&p->ev, REG_EV_EXISTS, b->short_id, 0, 0, NULL);
        return 0;
    }
    _cleanup_close_ int fd = img_blob_open(p->s, d->digest, err);
    if (fd < 0)
        return berr_wrap(err, "the local copy of %s is missing", d->digest);
    int64_t size = 0;
    img_blob_stat(p->s, d->digest, &size);
    if (size != d->size)
        return berr_set(err, EIO, "local blob %s has %lld bytes, the manifest says %lld", d->digest,
                        (long long)size, (long long)d->size);
    reg_events_emit(&p->ev, REG_EV_PROGRESS, b->short_id, 0, (uint64_t)size, NULL);
    bool mounted = false;
    if (reg_upload_blob(p->client, p->repo, d->digest, fd, (uint64_t)size, p->from_repo,
                        p->chunk_size, &mounted, err) < 0)
        return -1;
    reg_events_emit(&p->ev, mounted ? REG_EV_MOUNTED : REG_EV_LAYER_DONE, b->short_id,
                    (uint64_t)size, (uint64_t)size, mounted ? p->from_repo : NULL);
    return 0;
}

static void *push_worker(void *arg)
{
    struct push_ctx *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        if (p->failed || p->next >= p->n) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        struct push_blob *b = &p->blobs[p->next++];
        pthread_mutex_unlock(&p->lock);
        b->result = push_one(p, b, &b->err);
        if (b->result < 0) {
            pthread_mutex_lock(&p->lock);
            p->failed = true;
            pthread_mutex_unlock(&p->lock);
        }
    }
}

/* A repository on the same registry that already holds the image's blobs: where it was pulled
 * from or pushed to before. */
static char *mount_source(const struct img_record *rec, const struct img_ref *ref)
{
    for (size_t i = 0; rec->repo_digests[i]; i++) {
        _cleanup_free_ char *repo =
            xstrndup(rec->repo_digests[i], strcspn(rec->repo_digests[i], "@"));
        size_t dl = strlen(ref->domain);
        if (strncmp(repo, ref->domain, dl) == 0 && repo[dl] == '/' &&
            strcmp(repo + dl + 1, ref->path) != 0)
            return xstrdup(repo + dl + 1);
    }
    return NULL;
}

static int record_repo_digest(struct img_store *s, const char *id, const char *repo_digest,
                              struct berr **err)
{
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    if (img_db_begin(s, &db, err) < 0)
        return -1;
    struct img_record *r = img_db_get(db, id);
    if (r == NULL)
        return 0; /* removed meanwhile */
    img_strv_add_unique(&r->repo_digests, repo_digest);
    return img_db_commit(db, err);
}

int reg_push(struct img_store *s, const struct reg_options *ro, struct img_record *rec,
             const struct img_ref *ref, const struct reg_push_opts *o, struct reg_push_result *res,
             struct berr **err)
{
    struct reg_push_opts defaults = {0};
    if (o == NULL)
        o = &defaults;
    if (ref->tag == NULL)
        return berr_set(err, EINVAL, "push needs a tag");
    size_t mlen = 0;
    _cleanup_free_ char *mbody = img_blob_read(s, rec->manifest, IMG_MANIFEST_MAX, &mlen, err);
    if (mbody == NULL)
        return -1;
    _cleanup_manifest_ struct img_manifest *m = NULL;
    if (img_manifest_parse(rec->manifest_media_type, mbody, mlen, &m, err) < 0)
        return -1;
    _cleanup_free_ char *from = mount_source(rec, ref);
    struct push_ctx p = {.s = s, .repo = ref->path, .from_repo = from, .chunk_size = o->chunk_size};
    reg_events_init(&p.ev, o->on_event, o->ctx);
    pthread_mutex_init(&p.lock, NULL);
    p.blobs = xcalloc(m->n_layers + 1, sizeof(*p.blobs));
    _cleanup_free_ char *repo = NULL;
    _cleanup_free_ char *repo_digest = NULL;
    int ret = -1;
    for (size_t i = 0; i < m->n_layers; i++) {
        enum img_compression comp;
        bool foreign = false;
        if (img_layer_media_type(m->layers[i].media_type, &comp, &foreign, err) < 0)
            goto out;
        if (foreign)
            continue; /* non-distributable: the registry is not to get it */
        struct push_blob *b = &p.blobs[p.n++];
        b->desc = &m->layers[i];
        snprintf(b->short_id, sizeof(b->short_id), "%s", img_digest_hex(b->desc->digest));
        reg_events_emit(&p.ev, REG_EV_WAITING, b->short_id, 0, (uint64_t)b->desc->size, NULL);
    }
    if (reg_client_new(ref->domain, ro, &p.client, err) < 0)
        goto out;
    size_t nth = (size_t)(o->parallel > 0 ? o->parallel : 3);
    pthread_t th[16];
    if (nth > ARRAY_SIZE(th))
        nth = ARRAY_SIZE(th);
    size_t started = 0;
    for (; started < nth && started < p.n; started++) {
        if (pthread_create(&th[started], NULL, push_worker, &p) != 0)
            break;
    }
    if (started == 0)
        push_worker(&p);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (size_t i = 0; i < p.n; i++) {
        if (p.blobs[i].result < 0) {
            *err = steal_ptr(&p.blobs[i].err);
            berr_wrap(err, "layer %s", p.blobs[i].desc->digest);
            goto out;
        }
    }
    /* The config after the layers, the manifest last: a registry never holds a manifest whose
     * blobs it lacks. */
    struct push_blob cfg = {.desc = &m->config};
    snprintf(cfg.short_id, sizeof(cfg.short_id), "%s", img_digest_hex(m->config.digest));
    p.from_repo = from;
    p.ev.fn = NULL; /* docker shows no line for the config */
    if (push_one(&p, &cfg, err) < 0) {
        berr_wrap(err, "config %s", m->config.digest);
        goto out;
    }
    p.ev.fn = o->on_event;
    char digest[IMG_DIGEST_MAX];
    if (reg_put_manifest(p.client, ref->path, ref->tag, m->media_type, mbody, mlen, digest, err) <
        0)
        goto out;
    snprintf(res->digest, sizeof(res->digest), "%s", digest);
    res->size = (int64_t)mlen;
    repo = img_ref_repo(ref);
    repo_digest = xasprintf("%s@%s", repo, digest);
    if (record_repo_digest(s, rec->id, repo_digest, err) < 0)
        goto out;
    ret = 0;
out:
    for (size_t i = 0; i < p.n; i++)
        berr_free(p.blobs[i].err);
    free(p.blobs);
    reg_client_free(p.client);
    pthread_mutex_destroy(&p.lock);
    reg_events_destroy(&p.ev);
    return ret;
}
