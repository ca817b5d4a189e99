/* DELETE /images/{name} and POST /images/prune with Docker's rules: which names go, when an
 * image goes with them, and which conflicts refuse it. Images that containers (holds named
 * ctr-<id>) or image mounts hold are never removed: their layers are in use. Freed blobs and
 * snapshots go in a GC pass afterwards. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/h_images_internal.h"
#include "api/util.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "image/gc.h"

/* GC after a removal runs on a thread of its own: it waits for every pull, load and import in
 * progress (their leases), which must not hold up the request. Requests that come while it runs
 * make it go round once more. The thread opens the store itself, so a daemon that shuts down
 * meanwhile frees nothing it uses. */
static pthread_mutex_t gc_lock = PTHREAD_MUTEX_INITIALIZER;
static bool gc_running, gc_again;

static void collect(const char *root)
{
    _cleanup_(img_store_freep) struct img_store *s = NULL;
    _cleanup_(img_snap_closep) struct img_snapshotter *sn = NULL;
    _cleanup_berr_ struct berr *err = NULL;
    struct img_gc_result res;
    if (img_store_open(root, &s, &err) < 0 || img_snap_open(s, NULL, &sn, &err) < 0 ||
        img_gc(s, sn, &res, &err) < 0)
        log_warn("cleaning up unused image data: %s", err->msg);
}

static void *gc_thread(void *arg)
{
    _cleanup_free_ char *root = arg;
    pthread_mutex_lock(&gc_lock);
    do {
        gc_again = false;
        pthread_mutex_unlock(&gc_lock);
        collect(root);
        pthread_mutex_lock(&gc_lock);
    } while (gc_again);
    gc_running = false;
    pthread_mutex_unlock(&gc_lock);
    return NULL;
}

static void gc_soon(struct api_daemon *d)
{
    pthread_mutex_lock(&gc_lock);
    if (gc_running) {
        gc_again = true;
    } else {
        char *root = xstrdup(img_store_root(d->store));
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        gc_running = pthread_create(&th, &attr, gc_thread, root) == 0;
        pthread_attr_destroy(&attr);
        if (!gc_running) {
            free(root);
            log_warn("cannot start a thread to clean up unused image data; the next removal "
                     "retries");
        }
    }
    pthread_mutex_unlock(&gc_lock);
}

/* Docker's test for "the name given is the image's ID": a prefix of it, with or without
 * "sha256:". */
static bool is_id_prefix(const char *id, const char *given)
{
    return strncmp(id, given, strlen(given)) == 0 ||
           strncmp(img_digest_hex(id), given, strlen(given)) == 0;
}

static char *repo_of(const char *normalised)
{
    _cleanup_ref_ struct img_ref *r = NULL;
    if (img_ref_parse(normalised, &r, NULL) < 0)
        return xstrdup(normalised);
    return img_ref_repo(r);
}

/* Docker's "single reference": at most one tag, and digests only of that tag's repository. */
static bool single_reference(const struct img_record *rec)
{
    size_t tags = strv_length(rec->names), digests = strv_length(rec->repo_digests);
    if (tags + digests <= 1)
        return tags + digests == 1;
    if (tags > 1)
        return false;
    _cleanup_free_ char *repo = repo_of(tags ? rec->names[0] : rec->repo_digests[0]);
    for (size_t i = 0; i < digests; i++) {
        _cleanup_free_ char *other = repo_of(rec->repo_digests[i]);
        if (strcmp(other, repo) != 0)
            return false;
    }
    return true;
}

static void strv_remove(char **v, const char *s)
{
    size_t j = 0;
    for (size_t i = 0; v[i]; i++) {
        if (strcmp(v[i], s) == 0)
            free(v[i]);
        else
            v[j++] = v[i];
    }
    v[j] = NULL;
}

struct removal {
    struct api_daemon *d;
    json_t *records;  /* [{"Untagged": ...}, {"Deleted": ...}], as answered */
    json_t *owners;   /* for each record: [image ID, labels or null], for its event */
    size_t published; /* records whose events went out */
    const char *id;   /* the image being removed, and its labels (borrowed) */
    json_t *labels;
};

static void add_record(struct removal *rm, const char *key, const char *value)
{
    json_array_append_new(rm->records, json_pack("{s:s}", key, value));
    json_array_append_new(rm->owners,
                          json_pack("[s, O]", rm->id, rm->labels ? rm->labels : json_null()));
}

static void untagged(struct removal *rm, const char *normalised)
{
    _cleanup_free_ char *f = api_img_familiar(normalised);
    add_record(rm, "Untagged", f);
}

/* Events for the records added since the last call, once the change they tell of is
 * committed: "untag" and "delete", both with the image ID as Docker sends them. */
static void publish(struct removal *rm)
{
    for (; rm->published < json_array_size(rm->records); rm->published++) {
        json_t *rec = json_array_get(rm->records, rm->published);
        json_t *owner = json_array_get(rm->owners, rm->published);
        const char *id = json_string_value(json_array_get(owner, 0));
        const char *action = json_object_get(rec, "Deleted") ? "delete" : "untag";
        api_img_event(rm->d, action, id, id, json_array_get(owner, 1));
    }
}

/* Removes a tag or a digest reference; a tag that was its repository's last takes that
 * repository's digests with it, as in Docker. */
static void remove_reference(struct removal *rm, struct img_db *db, struct img_record *rec,
                             const struct img_ref *ref)
{
    _cleanup_free_ char *name = img_ref_string(ref);
    _cleanup_free_ char *repo = img_ref_repo(ref);
    if (ref->digest) {
        _cleanup_free_ char *rd = xasprintf("%s@%s", repo, ref->digest);
        strv_remove(rec->repo_digests, rd);
        untagged(rm, rd);
        return;
    }
    img_db_untag(db, name);
    untagged(rm, name);
    for (size_t i = 0; rec->names[i]; i++) {
        _cleanup_free_ char *other = repo_of(rec->names[i]);
        if (strcmp(other, repo) == 0)
            return;
    }
    for (size_t i = 0; rec->repo_digests[i];) {
        _cleanup_free_ char *other = repo_of(rec->repo_digests[i]);
        if (strcmp(other, repo) != 0) {
            i++;
            continue;
        }
        _cleanup_free_ char *rd = xstrdup(rec->repo_digests[i]);
        strv_remove(rec->repo_digests, rd);
        untagged(rm, rd);
    }
}

/* A container's state, from the engine: 1 running (or paused), 0 stopped, -1 unknown. */
static int container_running(struct api_daemon *d, const char *id)
{
    if (d->engine == NULL)
        return -1;
    _cleanup_json_ json_t *c = eng_inspect(d->engine, id, false, NULL);
    if (c == NULL)
        return -1;
    return json_is_true(json_object_get(json_object_get(c, "State"), "Running"));
}

/* Who holds an image, as Docker's conflicts tell it: the first running container (or one whose
 * state is unknown: it counts as running), stopped container and image mount. Container IDs
 * are cut to Docker's 12 digits; mount is the holder's name. */
struct users {
    char running[13], stopped[13];
    bool running_known;
    const char *mount; /* borrowed from the holders */
};

static void image_users(struct api_daemon *d, char **holders, struct users *u)
{
    memset(u, 0, sizeof(*u));
    size_t plen = strlen(API_IMG_CONTAINER_HOLD);
    for (size_t i = 0; holders[i]; i++) {
        if (strncmp(holders[i], API_IMG_CONTAINER_HOLD, plen) != 0) {
            u->mount = u->mount ? u->mount : holders[i];
            continue;
        }
        const char *cid = holders[i] + plen;
        int running = container_running(d, cid);
        char *slot = running == 0 ? u->stopped : u->running;
        if (slot[0] == '\0') {
            snprintf(slot, 13, "%s", cid);
            if (running == 1)
                u->running_known = true;
        }
    }
}

static int mount_conflict(const char *sid, const char *holder, struct berr **err)
{
    return berr_code(err, EBUSY,
                     "conflict: unable to delete %s (cannot be forced) - image is in use by %s "
                     "(an image mount: berth image unmount %s releases it)",
                     sid, holder, sid);
}

static void untag_all(struct removal *rm, struct img_db *db, struct img_record *rec)
{
    while (rec->names[0]) {
        _cleanup_free_ char *n = xstrdup(rec->names[0]);
        img_db_untag(db, n);
        untagged(rm, n);
    }
    while (rec->repo_digests[0]) {
        _cleanup_free_ char *rd = xstrdup(rec->repo_digests[0]);
        strv_remove(rec->repo_digests, rd);
        untagged(rm, rd);
    }
}

/* The ID was given: Docker's conflicts in its order (running container, other names unless
 * forced, stopped container unless forced). A forced removal of an image a stopped container
 * uses takes its names only: the container's root filesystem is built on the image's layers,
 * which must stay. Returns 1 when the image may go, 0 when only names went, -1 on conflict. */
static int remove_by_id(struct removal *rm, struct img_db *db, struct img_record *rec,
                        const struct users *u, bool force, const char *sid, struct berr **err)
{
    if (u->running[0])
        return berr_code(err, EBUSY,
                         "conflict: unable to delete %s (cannot be forced) - image is being used "
                         "by %scontainer %s",
                         sid, u->running_known ? "running " : "", u->running);
    if (u->mount)
        return mount_conflict(sid, u->mount, err);
    if (!force && (rec->names[0] || rec->repo_digests[0]) && !single_reference(rec))
        return berr_code(err, EBUSY,
                         "conflict: unable to delete %s (must be forced) - image is referenced "
                         "in multiple repositories",
                         sid);
    if (u->stopped[0] && (!force || (!rec->names[0] && !rec->repo_digests[0])))
        return berr_code(err, EBUSY,
                         "conflict: unable to delete %s (%s) - image is being used by stopped "
                         "container %s%s",
                         sid, force ? "cannot be forced" : "must be forced", u->stopped,
                         force ? ": remove the container first" : "");
    untag_all(rm, db, rec);
    return u->stopped[0] ? 0 : 1;
}

static int remove_image(struct removal *rm, const char *given, bool force, struct berr **err)
{
    struct img_store *s = rm->d->store;
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    struct img_record *rec = NULL;
    if (img_db_begin(s, &db, err) < 0 || img_db_resolve(db, given, &rec, err) < 0)
        return -1;
    char sid[13];
    img_short_id(rec->id, sid);
    _cleanup_strv_ char **holders = img_holders(s, rec->id);
    struct users u;
    image_users(rm->d, holders, &u);
    _cleanup_json_ json_t *labels = api_img_labels(s, rec->id);
    _cleanup_free_ char *id = xstrdup(rec->id);
    rm->id = id;
    rm->labels = labels;
    int go;
    if (is_id_prefix(rec->id, given)) {
        if ((go = remove_by_id(rm, db, rec, &u, force, sid, err)) < 0)
            return -1;
    } else {
        _cleanup_ref_ struct img_ref *ref = NULL;
        if (img_ref_parse(given, &ref, err) < 0)
            return api_img_invalid(err);
        const char *cid = u.running[0] ? u.running : u.stopped;
        if (!force && single_reference(rec) && cid[0])
            return berr_code(err, EBUSY,
                             "conflict: unable to remove repository reference \"%s\" (must "
                             "force) - container %s is using its referenced image %s",
                             given, cid, sid);
        if (!force && single_reference(rec) && u.mount)
            return mount_conflict(sid, u.mount, err);
        remove_reference(rm, db, rec, ref);
        /* Still named, or still used: the untag was all (a used image stays, nameless). */
        go = !rec->names[0] && !rec->repo_digests[0] && !holders[0];
    }
    if (go)
        img_db_remove(db, rec);
    if (img_db_commit(db, err) < 0)
        return -1;
    if (go)
        add_record(rm, "Deleted", id);
    publish(rm);
    return go;
}

void api_img_delete(struct api_req *r)
{
    const char *name = api_param(r, "name");
    if (name[strspn(name, " \t")] == '\0') {
        api_reply_error(r, 400, "image name cannot be blank");
        return;
    }
    struct removal rm = {.d = api_daemon(r), .records = json_array(), .owners = json_array()};
    struct berr *err = NULL;
    int ret = remove_image(&rm, name, api_query_bool(r, "force", false), &err);
    json_decref(rm.owners);
    if (ret < 0) {
        json_decref(rm.records);
        api_reply_berr(r, err);
        berr_free(err);
        return;
    }
    if (ret > 0)
        gc_soon(rm.d);
    api_reply_json(r, 200, rm.records);
}

struct prune_opts {
    bool dangling_only;
    bool have_until;
    int64_t until;
    json_t *labels, *not_labels;
};

static int prune_filters(json_t *filters, struct prune_opts *o, struct berr **err)
{
    static const char *const keys[] = {"dangling", "label", "label!", "until", NULL};
    int dangling;
    if (api_check_filter_keys(filters, keys, err) < 0 ||
        api_img_bool_filter(filters, "dangling", 1, &dangling, err) < 0)
        return -1;
    o->dangling_only = dangling == 1;
    o->labels = json_object_get(filters, "label");
    o->not_labels = json_object_get(filters, "label!");
    json_t *until = json_object_get(filters, "until");
    if (json_array_size(until) > 1)
        return berr_code(err, EINVAL, "more than one until filter specified");
    if (json_array_size(until) == 1) {
        const char *v = json_string_value(json_array_get(until, 0));
        if (api_img_parse_timestamp(v, &o->until) < 0)
            return berr_code(err, EINVAL,
                             "invalid value for 'until' filter: \"%s\" is neither a time "
                             "(2006-01-02T15:04:05Z, unix seconds) nor a duration (10m, 24h)",
                             v);
        o->have_until = true;
    }
    return 0;
}

static bool prunable(struct img_store *s, const struct img_record *rec, const struct prune_opts *o)
{
    if (o->dangling_only && rec->names[0])
        return false;
    int64_t c;
    if (o->have_until && (!api_img_created(rec, &c) || c > o->until))
        return false;
    _cleanup_strv_ char **holders = img_holders(s, rec->id);
    if (holders[0])
        return false;
    _cleanup_json_ json_t *labels = api_img_labels(s, rec->id);
    if (!api_img_labels_match(o->labels, labels))
        return false;
    return json_array_size(o->not_labels) == 0 || !api_img_labels_match(o->not_labels, labels);
}

static atomic_bool prune_running;

void api_img_prune(struct api_req *r)
{
    struct api_daemon *d = api_daemon(r);
    json_t *filters = api_filters(r);
    if (filters == NULL)
        return;
    struct berr *err = NULL;
    struct prune_opts o = {0};
    if (prune_filters(filters, &o, &err) < 0) {
        api_reply_berr(r, err);
        berr_free(err);
        return;
    }
    if (atomic_exchange(&prune_running, true)) {
        api_reply_error(r, 409, "a prune operation is already running");
        return;
    }
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    _cleanup_json_ json_t *owners = json_array();
    struct removal rm = {.d = d, .records = json_array(), .owners = owners};
    struct img_gc_result gc = {0};
    int ret = img_db_begin(d->store, &db, &err);
    for (size_t i = 0; ret == 0 && i < db->n;) {
        struct img_record *rec = db->v[i];
        if (!prunable(d->store, rec, &o)) {
            i++;
            continue;
        }
        _cleanup_json_ json_t *labels = api_img_labels(d->store, rec->id);
        _cleanup_free_ char *id = xstrdup(rec->id);
        rm.id = id;
        rm.labels = labels;
        untag_all(&rm, db, rec);
        img_db_remove(db, rec);
        add_record(&rm, "Deleted", id);
    }
    if (ret == 0 && (ret = img_db_commit(db, &err)) == 0)
        publish(&rm);
    img_db_freep(&db);
    if (ret == 0)
        ret = img_gc(d->store, d->snap, &gc, &err);
    atomic_store(&prune_running, false);
    if (ret < 0) {
        json_decref(rm.records);
        api_reply_berr(r, err);
        berr_free(err);
        return;
    }
    _cleanup_free_ char *reclaimed = xasprintf("%lld", (long long)gc.bytes);
    if (d->events)
        ev_publish(d->events, "image", "prune", "", json_pack("{s:s}", "reclaimed", reclaimed));
    json_t *deleted = json_array_size(rm.records) ? rm.records : json_null();
    if (deleted != rm.records)
        json_decref(rm.records);
    api_reply_json(
        r, 200,
        json_pack("{s:o, s:I}", "ImagesDeleted", deleted, "SpaceReclaimed", (json_int_t)gc.bytes));
}
