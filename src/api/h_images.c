/* Docker Engine API image endpoints that read the local store or name an image: list (with
 * Docker's filters), inspect, history, tag, search, and the image part of /system/df; the
 * helpers the other h_images_*.c files share; and the route table for all of them. Names reach
 * clients in their familiar form; records keep them normalised. */
#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "api/h_images.h"
#include "api/h_images_internal.h"
#include "api/util.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "engine/events.h"
#include "image/gc.h"
#include "image/inspect.h"
#include "image/manifest.h"

/* ---- shared helpers ---- */

char *api_img_familiar(const char *normalised)
{
    _cleanup_ref_ struct img_ref *r = NULL;
    if (img_ref_parse(normalised, &r, NULL) < 0)
        return xstrdup(normalised);
    return img_ref_familiar(r);
}

json_t *api_img_labels(struct img_store *s, const char *image_id)
{
    _cleanup_free_ char *text = img_blob_read(s, image_id, IMG_CONFIG_MAX, NULL, NULL);
    if (text == NULL)
        return NULL;
    _cleanup_json_ json_t *root = json_loads(text, 0, NULL);
    json_t *labels = json_object_get(json_object_get(root, "config"), "Labels");
    return json_is_object(labels) && json_object_size(labels) > 0 ? json_incref(labels) : NULL;
}

void api_img_event(struct api_daemon *d, const char *action, const char *id, const char *name,
                   json_t *labels)
{
    if (d->events == NULL)
        return;
    json_t *attrs = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v)
    {
        if (json_is_string(v))
            json_object_set(attrs, k, v);
    }
    if (name)
        json_object_set_new(attrs, "name", json_string(name));
    ev_publish(d->events, "image", action, id, attrs);
}

int api_img_invalid(struct berr **err)
{
    if (err && *err && (*err)->errnum == 0)
        (*err)->errnum = EINVAL;
    return -1;
}

static bool tag_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > IMG_REF_TAG_MAX || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
        return false;
    return strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int api_img_repo_tag(const char *repo, const char *tag, struct img_ref **out, struct berr **err)
{
    if (repo == NULL || repo[0] == '\0')
        return berr_code(err, EINVAL, "no repository name given: set repo=NAME[:TAG]");
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (img_ref_parse_repo(repo, &ref, err) < 0)
        return api_img_invalid(err);
    if (ref->digest)
        return berr_code(err, EINVAL, "refusing to create a tag with a digest reference: %s", repo);
    if (tag && tag[0]) {
        if (!tag_valid(tag))
            return berr_code(err, EINVAL,
                             "invalid tag format: \"%s\" (letters, digits, '_', '.' and '-', "
                             "at most %d, not starting with '.' or '-')",
                             tag, IMG_REF_TAG_MAX);
        free(ref->tag);
        ref->tag = xstrdup(tag);
    } else if (ref->tag == NULL) {
        ref->tag = xstrdup(IMG_REF_DEFAULT_TAG);
    }
    *out = steal_ptr(&ref);
    return 0;
}

/* A message line: {"status", "id"}. */
json_t *api_img_msg_status(const char *id, const char *status)
{
    json_t *m = json_pack("{s:s}", "status", status);
    if (id)
        json_object_set_new(m, "id", json_string(id));
    return m;
}

json_t *api_img_msg_error(const char *message)
{
    return json_pack("{s:{s:s}, s:s}", "errorDetail", "message", message, "error", message);
}

/* ---- list ---- */

struct list_opts {
    int dangling;       /* -1: either */
    json_t *labels;     /* "key" / "key=value" strings, all to match; NULL: no filter */
    json_t *references; /* glob patterns, any to match; NULL: no filter */
    bool have_before, have_since;
    int64_t before, since;
    bool shared_size;
    bool count_containers;
    int version;
};

static int image_time_filters(struct img_db *db, json_t *filters, struct list_opts *o,
                              struct berr **err)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(filters, "before"), i, v)
    {
        struct img_record *rec = NULL;
        int64_t c;
        if (img_db_resolve(db, json_string_value(v), &rec, err) < 0)
            return -1;
        if (api_img_created(rec, &c) && (!o->have_before || c < o->before)) {
            o->before = c;
            o->have_before = true;
        }
    }
    json_array_foreach(json_object_get(filters, "until"), i, v)
    {
        int64_t t;
        if (api_img_parse_timestamp(json_string_value(v), &t) < 0)
            return berr_code(err, EINVAL,
                             "invalid value for 'until' filter: \"%s\" is neither a time "
                             "(2006-01-02T15:04:05Z, unix seconds) nor a duration (10m, 24h)",
                             json_string_value(v));
        if (!o->have_before || t < o->before) {
            o->before = t;
            o->have_before = true;
        }
    }
    json_array_foreach(json_object_get(filters, "since"), i, v)
    {
        struct img_record *rec = NULL;
        int64_t c;
        if (img_db_resolve(db, json_string_value(v), &rec, err) < 0)
            return -1;
        if (api_img_created(rec, &c) && (!o->have_since || c > o->since)) {
            o->since = c;
            o->have_since = true;
        }
    }
    return 0;
}

static int list_filters(struct img_db *db, json_t *filters, struct list_opts *o, struct berr **err)
{
    static const char *const keys[] = {"dangling",  "label", "before", "since",
                                       "reference", "until", NULL};
    if (api_check_filter_keys(filters, keys, err) < 0 ||
        api_img_bool_filter(filters, "dangling", -1, &o->dangling, err) < 0)
        return -1;
    o->labels = json_object_get(filters, "label");
    o->references = json_object_get(filters, "reference");
    return image_time_filters(db, filters, o, err);
}

/* A reference pattern is tried on the familiar and the full forms, with and without tag. */
static bool reference_matches(json_t *patterns, const char *normalised)
{
    _cleanup_ref_ struct img_ref *r = NULL;
    if (img_ref_parse(normalised, &r, NULL) < 0)
        return false;
    _cleanup_free_ char *t0 = img_ref_familiar(r), *t1 = img_ref_familiar_repo(r),
                        *t2 = img_ref_string(r), *t3 = img_ref_repo(r);
    const char *targets[] = {t0, t1, t2, t3};
    size_t i;
    json_t *p;
    json_array_foreach(patterns, i, p)
    {
        for (size_t j = 0; j < ARRAY_SIZE(targets); j++)
            if (fnmatch(json_string_value(p), targets[j], FNM_PATHNAME) == 0)
                return true;
    }
    return false;
}

static json_t *familiar_refs(char **names, json_t *patterns)
{
    json_t *a = json_array();
    for (size_t i = 0; names && names[i]; i++) {
        if (patterns && !reference_matches(patterns, names[i]))
            continue;
        _cleanup_free_ char *f = api_img_familiar(names[i]);
        json_array_append_new(a, json_string(f));
    }
    return a;
}

static size_t containers_holding(struct img_store *s, const char *id)
{
    _cleanup_strv_ char **holders = img_holders(s, id);
    size_t n = 0;
    for (size_t i = 0; holders[i]; i++)
        n += strncmp(holders[i], API_IMG_CONTAINER_HOLD, strlen(API_IMG_CONTAINER_HOLD)) == 0;
    return n;
}

/* How many images use each layer (chain ID -> count). */
static json_t *layer_use_counts(struct img_db *db)
{
    json_t *counts = json_object();
    for (size_t i = 0; i < db->n; i++) {
        for (size_t j = 0; j < db->v[i]->n_layers; j++) {
            const char *chain = db->v[i]->layers[j].chain_id;
            json_int_t n = json_integer_value(json_object_get(counts, chain));
            json_object_set_new(counts, chain, json_integer(n + 1));
        }
    }
    return counts;
}

static int by_created_desc(const void *a, const void *b)
{
    const struct img_record *x = *(struct img_record *const *)a;
    const struct img_record *y = *(struct img_record *const *)b;
    int64_t cx = 0, cy = 0;
    api_img_created(x, &cx);
    api_img_created(y, &cy);
    if (cx != cy)
        return cx < cy ? 1 : -1;
    return strcmp(x->id, y->id);
}

static json_t *summary(struct api_daemon *d, const struct img_record *rec, json_t *tags,
                       json_t *digests, json_t *labels, json_t *layer_counts,
                       const struct list_opts *o)
{
    int64_t created = 0;
    api_img_created(rec, &created);
    json_int_t shared = -1;
    if (layer_counts) {
        shared = 0;
        for (size_t j = 0; j < rec->n_layers; j++) {
            const char *chain = rec->layers[j].chain_id;
            int64_t sz = img_snap_size(d->snap, chain);
            if (json_integer_value(json_object_get(layer_counts, chain)) > 1 && sz > 0)
                shared += sz;
        }
    }
    json_int_t containers = -1;
    if (o->count_containers)
        containers = (json_int_t)containers_holding(d->store, rec->id);
    if (o->version < 143 && json_array_size(tags) == 0 && json_array_size(digests) == 0) {
        json_array_append_new(tags, json_string("<none>:<none>"));
        json_array_append_new(digests, json_string("<none>@<none>"));
    }
    json_t *s = json_pack("{s:I, s:I, s:s, s:O, s:s, s:O, s:O, s:I, s:I}", "Containers", containers,
                          "Created", (json_int_t)created, "Id", rec->id, "Labels",
                          labels ? labels : json_null(), "ParentId", "", "RepoDigests", digests,
                          "RepoTags", tags, "SharedSize", shared, "Size", (json_int_t)rec->size);
    if (o->version < 144)
        json_object_set_new(s, "VirtualSize", json_integer((json_int_t)rec->size));
    return s;
}

static json_t *summaries(struct api_daemon *d, struct img_db *db, const struct list_opts *o)
{
    _cleanup_free_ struct img_record **sorted = xcalloc(db->n + 1, sizeof(*sorted));
    /* an empty store's vector is NULL, which memcpy may not be given even for no bytes */
    if (db->n > 0)
        memcpy(sorted, db->v, db->n * sizeof(*sorted));
    qsort(sorted, db->n, sizeof(*sorted), by_created_desc);
    _cleanup_json_ json_t *counts = o->shared_size ? layer_use_counts(db) : NULL;
    json_t *out = json_array();
    for (size_t i = 0; i < db->n; i++) {
        const struct img_record *rec = sorted[i];
        int64_t c = 0;
        bool have = api_img_created(rec, &c);
        if (o->have_before && (!have || c >= o->before))
            continue;
        if (o->have_since && (!have || c <= o->since))
            continue;
        _cleanup_json_ json_t *labels = api_img_labels(d->store, rec->id);
        if (!api_img_labels_match(o->labels, labels))
            continue;
        _cleanup_json_ json_t *tags = familiar_refs(rec->names, o->references);
        _cleanup_json_ json_t *digests = familiar_refs(rec->repo_digests, o->references);
        if (json_array_size(tags) == 0 && json_array_size(digests) == 0) {
            if (o->dangling == 0 || o->references)
                continue;
        } else if (o->dangling == 1 && json_array_size(tags) > 0) {
            continue;
        }
        json_array_append_new(out, summary(d, rec, tags, digests, labels, counts, o));
    }
    return out;
}

static void h_list(struct api_req *r)
{
    struct api_daemon *d = api_daemon(r);
    json_t *filters = api_filters(r);
    if (filters == NULL)
        return;
    struct berr *err = NULL;
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    struct list_opts o = {.dangling = -1, .version = api_version(r)};
    /* Clients of API 1.24 and older name the reference filter "filter". */
    _cleanup_json_ json_t *legacy = NULL;
    const char *old = api_query(r, "filter");
    int ret = img_db_load(d->store, &db, &err);
    if (ret == 0)
        ret = list_filters(db, filters, &o, &err);
    if (ret < 0) {
        api_reply_berr(r, err);
        berr_free(err);
        return;
    }
    if (o.version < 125 && o.references == NULL && old && old[0]) {
        legacy = json_pack("[s]", old);
        o.references = legacy;
    }
    o.shared_size = o.version >= 142 && api_query_bool(r, "shared-size", false);
    api_reply_json(r, 200, summaries(d, db, &o));
}

json_t *api_images_df(struct api_daemon *d, struct berr **err)
{
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    if (img_db_load(d->store, &db, err) < 0)
        return NULL;
    struct list_opts o = {
        .dangling = -1, .shared_size = true, .count_containers = true, .version = API_VERSION_MAX};
    json_t *images = summaries(d, db, &o);
    _cleanup_strv_ char **chains = xcalloc(1, sizeof(char *));
    for (size_t i = 0; i < db->n; i++)
        for (size_t j = 0; j < db->v[i]->n_layers; j++)
            img_strv_add_unique(&chains, db->v[i]->layers[j].chain_id);
    int64_t total = 0;
    for (size_t i = 0; chains[i]; i++) {
        int64_t sz = img_snap_size(d->snap, chains[i]);
        total += sz > 0 ? sz : 0;
    }
    return json_pack("{s:I, s:o}", "LayersSize", (json_int_t)total, "Images", images);
}

/* ---- inspect, history ---- */

static void h_inspect(struct api_req *r)
{
    struct api_daemon *d = api_daemon(r);
    struct berr *err = NULL;
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    struct img_record *rec = NULL;
    json_t *o = NULL;
    if (img_db_load(d->store, &db, &err) < 0 ||
        img_db_resolve(db, api_param(r, "name"), &rec, &err) < 0 ||
        (o = img_inspect_json(d->store, d->snap, rec, &err)) == NULL) {
        api_reply_berr(r, err);
        berr_free(err);
        return;
    }
    int version = api_version(r);
    if (version < 144) {
        json_object_set(o, "VirtualSize", json_object_get(o, "Size"));
        if (json_string_length(json_object_get(o, "Created")) == 0)
            json_object_set_new(o, "Created", json_string("0001-01-01T00:00:00Z"));
    }
    if (version < 145) {
        json_object_set_new(o, "Container", json_string(""));
        json_object_set_new(o, "ContainerConfig", json_object());
    }
    api_reply_json(r, 200, o);
}

static void h_history(struct api_req *r)
{
    struct api_daemon *d = api_daemon(r);
    struct berr *err = NULL;
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    _cleanup_free_ char *text = NULL;
    _cleanup_config_ struct img_config *cfg = NULL;
    struct img_record *rec = NULL;
    size_t len = 0;
    if (img_db_load(d->store, &db, &err) < 0 ||
        img_db_resolve(db, api_param(r, "name"), &rec, &err) < 0 ||
        (text = img_blob_read(d->store, rec->id, IMG_CONFIG_MAX, &len, &err)) == NULL ||
        img_config_parse(text, len, &cfg, &err) < 0) {
        api_reply_berr(r, err);
        berr_free(err);
        return;
    }
    json_t *tags = NULL;
    if (rec->names[0])
        tags = familiar_refs(rec->names, NULL);
    json_t *out = json_array();
    /* Non-empty steps map, in order, to layers: count from the end to find each one's. */
    size_t layer = rec->n_layers;
    for (size_t i = cfg->n_history; i-- > 0;) {
        const struct img_history *h = &cfg->history[i];
        int64_t size = 0, created = 0;
        if (!h->empty_layer && layer > 0) {
            int64_t s = img_snap_size(d->snap, rec->layers[--layer].chain_id);
            size = s > 0 ? s : 0;
        }
        if (h->created)
            api_img_parse_time(h->created, &created);
        bool top = i + 1 == cfg->n_history;
        json_array_append_new(out,
                              json_pack("{s:s, s:I, s:s, s:O, s:I, s:s}", "Id",
                                        top ? rec->id : "<missing>", "Created", (json_int_t)created,
                                        "CreatedBy", h->created_by ? h->created_by : "", "Tags",
                                        top && tags ? tags : json_null(), "Size", (json_int_t)size,
                                        "Comment", h->comment ? h->comment : ""));
    }
    json_decref(tags);
    api_reply_json(r, 200, out);
}

/* ---- tag ---- */

static void h_tag(struct api_req *r)
{
    struct api_daemon *d = api_daemon(r);
    struct berr *err = NULL;
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (api_img_repo_tag(api_query(r, "repo"), api_query(r, "tag"), &ref, &err) < 0) {
        api_reply_berr(r, err);
        berr_free(err);
        return;
    }
    _cleanup_free_ char *repo = img_ref_familiar_repo(ref);
    if (strcmp(repo, "sha256") == 0) {
        api_reply_error(r, 400,
                        "refusing to create an ambiguous tag using digest algorithm as "
                        "name");
        return;
    }
    _cleanup_free_ char *name = img_ref_string(ref);
    _cleanup_free_ char *familiar = img_ref_familiar(ref);
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    struct img_record *rec = NULL;
    if (img_db_begin(d->store, &db, &err) < 0 ||
        img_db_resolve(db, api_param(r, "name"), &rec, &err) < 0) {
        api_reply_berr(r, err);
        berr_free(err);
        return;
    }
    _cleanup_free_ char *id = xstrdup(rec->id);
    img_db_tag(db, rec, name);
    if (img_db_commit(db, &err) < 0) {
        api_reply_berr(r, err);
        berr_free(err);
        return;
    }
    _cleanup_json_ json_t *labels = api_img_labels(d->store, id);
    api_img_event(d, "tag", id, familiar, labels);
    api_reply_json(r, 201, NULL);
}

static void h_search(struct api_req *r)
{
    api_reply_error(r, 501,
                    "image search is not supported by berthd: Docker Hub is out of reach and "
                    "registries of the distribution API offer no search; list a registry's "
                    "repositories with GET /v2/_catalog on the registry itself");
}

const struct api_route api_image_routes[] = {
    {"GET", "/images/json", h_list, 0},
    {"POST", "/images/create", api_img_create, API_BODY_STREAM},
    {"POST", "/images/load", api_img_load, API_BODY_STREAM},
    {"POST", "/images/prune", api_img_prune, 0},
    {"GET", "/images/search", h_search, 0},
    {"GET", "/images/get", api_img_save_many, 0},
    {"GET", "/images/{name*}/json", h_inspect, 0},
    {"GET", "/images/{name*}/history", h_history, 0},
    {"GET", "/images/{name*}/get", api_img_save_one, 0},
    {"POST", "/images/{name*}/tag", h_tag, 0},
    {"POST", "/images/{name*}/push", api_img_push, 0},
    {"DELETE", "/images/{name*}", api_img_delete, 0},
    {"POST", "/auth", api_img_auth, 0},
    {NULL, NULL, NULL, 0},
};
