/* docker diff and docker commit on the engine's side: which writable layer and image a
 * container has, the paths its runtime made that are not its changes, Docker's commit-time
 * config rules, and the pause around reading a running container's layer. Comparing, writing
 * the layer and recording the image are the image library's (image/diff.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "engine/commit.h"
#include "engine/engine_internal.h"
#include "engine/specgen.h"
#include "image/change.h"
#include "image/diff.h"
#include "image/ref.h"

/* What Docker keeps in a container's init layer, below its writable layer: mount points and
 * placeholders, never changes of the container's own. berth-runc makes the missing ones in the
 * writable layer itself. */
static const char *const runtime_paths[] = {
    "/dev",       "/dev/pts",  "/dev/shm",    "/dev/mqueue",      "/dev/console",  "/proc", "/sys",
    "/etc/hosts", "/etc/mtab", "/.dockerenv", "/etc/resolv.conf", "/etc/hostname", NULL,
};

/* The image config fields a committed image keeps of a container's Config (the OCI image
 * config's, and Docker's additions to it). */
static const char *const image_config_keys[] = {
    "User",   "ExposedPorts", "Env",         "Entrypoint",  "Cmd",     "Volumes", "WorkingDir",
    "Labels", "StopSignal",   "ArgsEscaped", "Healthcheck", "OnBuild", "Shell",
};

/* A copy of what commit and diff need from the record, taken under e->mu. */
struct ctr_layer {
    char *upper, *chain, *image, *status;
    json_t *config;
    bool removed;
};

static void ctr_layer_clear(struct ctr_layer *l)
{
    free(l->upper);
    free(l->chain);
    free(l->image);
    free(l->status);
    json_decref(l->config);
}

static void layer_of(struct eng *e, struct ctr *c, struct ctr_layer *out)
{
    pthread_mutex_lock(&e->mu);
    json_t *data = json_object_get(json_object_get(c->rec, "GraphDriver"), "Data");
    const char *upper = json_string_value(json_object_get(data, "UpperDir"));
    const char *chain =
        json_string_value(json_object_get(json_object_get(c->rec, "Berth"), "ChainID"));
    const char *image = json_string_value(json_object_get(c->rec, "Image"));
    json_t *cfg = json_object_get(c->rec, "Config");
    *out = (struct ctr_layer){
        .upper = upper && upper[0] ? xstrdup(upper) : ctr_path(e, c, "fs/upper"),
        .chain = chain && chain[0] ? xstrdup(chain) : NULL,
        .image = image && image[0] ? xstrdup(image) : NULL,
        .status = xstrdup(ctr_status(c)),
        .config = json_is_object(cfg) ? json_deep_copy(cfg) : json_object(),
        .removed = c->removed,
    };
    pthread_mutex_unlock(&e->mu);
}

static bool removed_now(struct eng *e, struct ctr *c)
{
    pthread_mutex_lock(&e->mu);
    bool gone = c->removed || strcmp(ctr_status(c), "removing") == 0;
    pthread_mutex_unlock(&e->mu);
    return gone;
}

json_t *eng_changes(struct eng *e, const char *ref, struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return NULL;
    /* the op lock keeps a removal from taking the layer away while it is read */
    pthread_mutex_lock(&c->op);
    struct ctr_layer info;
    layer_of(e, c, &info);
    _cleanup_(img_changes_freep) struct img_changes *ch = NULL;
    int r = -1;
    if (info.removed) {
        berr_code(err, ENOENT, "No such container: %s", ref);
    } else {
        struct img_rw_layer l = {
            .upper = info.upper, .chain_id = info.chain, .ignore = runtime_paths};
        r = img_diff_changes(e->snap, &l, &ch, err);
        if (r < 0)
            berr_wrap(err, "container %s: changes", c->id);
    }
    pthread_mutex_unlock(&c->op);
    ctr_unref(e, c);
    ctr_layer_clear(&info);
    if (r < 0)
        return NULL;
    json_t *out = json_array();
    for (size_t i = 0; i < ch->n; i++)
        json_array_append_new(
            out, json_pack("{s:s, s:i}", "Path", ch->v[i].path, "Kind", (int)ch->v[i].kind));
    return out;
}

static bool empty_value(json_t *v)
{
    return v == NULL || json_is_null(v) || json_is_false(v) ||
           (json_is_string(v) && json_string_length(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0) ||
           (json_is_object(v) && json_object_size(v) == 0);
}

/* Docker's rules (daemon/commit.go): the request's Config, or the container's when it gives
 * none, with the changes applied, then completed from the container's Config; the image keeps
 * its image-config fields. */
static json_t *commit_config(json_t *ctr_config, json_t *req, char *const *changes,
                             struct berr **err)
{
    bool given = json_is_object(req) && json_object_size(req) > 0;
    _cleanup_json_ json_t *base = json_deep_copy(given ? req : ctr_config);
    if (img_changes_apply(base, changes, err) < 0)
        return NULL;
    _cleanup_json_ json_t *merged = eng_config_merge(ctr_config, base, err);
    if (merged == NULL)
        return NULL;
    json_t *out = json_object();
    for (size_t i = 0; i < ARRAY_SIZE(image_config_keys); i++) {
        json_t *f = json_object_get(merged, image_config_keys[i]);
        if (!empty_value(f))
            json_object_set(out, image_config_keys[i], f);
    }
    return out;
}

/* What `docker history` shows as CREATED BY: the container's command. */
static char *created_by(json_t *ctr_config)
{
    json_t *cmd = json_object_get(ctr_config, "Cmd");
    size_t i;
    json_t *arg;
    char *s = xstrdup("");
    json_array_foreach(cmd, i, arg)
    {
        char *next = xasprintf("%s%s%s", s, i ? " " : "", json_string_value(arg) ?: "");
        free(s);
        s = next;
    }
    return s;
}

static json_t *commit_event_attrs(const struct eng_commit_opts *o, const char *id)
{
    _cleanup_free_ char *familiar = NULL;
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (o->name && img_ref_parse(o->name, &ref, NULL) == 0)
        familiar = img_ref_familiar(ref);
    return json_pack("{s:s, s:s, s:s}", "comment", o->comment ? o->comment : "", "imageID", id,
                     "imageRef", familiar ? familiar : "");
}

int eng_commit(struct eng *e, const char *ref, const struct eng_commit_opts *o,
               char id[IMG_DIGEST_MAX], struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    struct ctr_layer info;
    layer_of(e, c, &info);
    _cleanup_json_ json_t *config = NULL;
    _cleanup_free_ char *cmd = NULL;
    int r = -1;
    if (info.removed || strcmp(info.status, "removing") == 0) {
        berr_code(err, EBUSY, "You cannot commit container %s which is being removed", c->id);
        goto out;
    }
    if (strcmp(info.status, "dead") == 0) {
        berr_code(err, EBUSY, "You cannot commit container %s which is Dead", c->id);
        goto out;
    }
    config = commit_config(info.config, o->config, o->changes, err);
    if (config == NULL)
        goto out;
    cmd = created_by(info.config);

    /* Docker pauses on a best-effort basis too: a container that stops meanwhile is simply
     * read as it is */
    bool paused = false;
    if (o->pause && strcmp(info.status, "running") == 0) {
        _cleanup_berr_ struct berr *perr = NULL;
        paused = eng_pause(e, c->id, &perr) == 0;
        if (!paused)
            log_debug("container %s: commit without pausing: %s", c->id, perr ? perr->msg : "?");
    }
    pthread_mutex_lock(&c->op);
    if (removed_now(e, c)) {
        berr_code(err, EBUSY, "You cannot commit container %s which is being removed", c->id);
    } else {
        struct img_rw_layer l = {
            .upper = info.upper, .chain_id = info.chain, .ignore = runtime_paths};
        struct img_commit_opts co = {.parent = info.image,
                                     .config = config,
                                     .author = o->author,
                                     .comment = o->comment,
                                     .created_by = cmd,
                                     .name = o->name};
        r = img_commit(e->store, e->snap, &l, &co, id, err);
    }
    pthread_mutex_unlock(&c->op);
    /* Docker's order: the commit event, then the unpause */
    if (r == 0)
        eng_event(e, c, "commit", commit_event_attrs(o, id));
    if (paused) {
        _cleanup_berr_ struct berr *uerr = NULL;
        if (eng_unpause(e, c->id, &uerr) < 0)
            log_warn("container %s: unpause after commit: %s", c->id, uerr ? uerr->msg : "?");
    }
out:
    ctr_unref(e, c);
    ctr_layer_clear(&info);
    return r;
}
