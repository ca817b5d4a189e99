/* Read views of containers: inspect (the record in Docker's shape), the list with Docker's
 * filters and status texts, and prune. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/filters.h"
#include "common/human.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "engine/engine_internal.h"
#include "engine/health.h"
#include "image/imagedb.h"

/* Bytes used by the files under path (not following symlinks, hardlinks counted once is not
 * attempted: Docker does not either). */
static int64_t tree_size(int dirfd)
{
    int64_t total = 0;
    _cleanup_(closedirp) DIR *d = fdopendir(dirfd);
    if (d == NULL) {
        close(dirfd);
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                total += tree_size(sub);
        } else if (!S_ISCHR(st.st_mode)) {
            total += st.st_size;
        }
    }
    return total;
}

static int64_t upper_size(struct eng *e, struct ctr *c)
{
    _cleanup_free_ char *upper = ctr_path(e, c, "fs/upper");
    int fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? 0 : tree_size(fd);
}

/* Docker's SizeRw (the writable layer) and SizeRootFs (that plus the image's layers). db may be
 * NULL (then it is loaded here); image is the container's image ID. */
static void set_sizes(struct eng *e, struct ctr *c, struct img_db *db, const char *image,
                      json_t *out)
{
    _cleanup_(img_db_freep) struct img_db *own = NULL;
    if (db == NULL && img_db_load(e->store, &own, NULL) == 0)
        db = own;
    struct img_record *img = db && image ? img_db_get(db, image) : NULL;
    int64_t rw = upper_size(e, c);
    json_object_set_new(out, "SizeRw", json_integer(rw));
    json_object_set_new(out, "SizeRootFs", json_integer(rw + (img ? img->size : 0)));
}

json_t *eng_inspect(struct eng *e, const char *ref, bool size, struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return NULL;
    pthread_mutex_lock(&e->mu);
    json_t *out = json_deep_copy(c->rec);
    pthread_mutex_unlock(&e->mu);
    json_object_del(out, "Berth");
    if (size)
        set_sizes(e, c, NULL, json_string_value(json_object_get(out, "Image")), out);
    ctr_unref(e, c);
    return out;
}

/* Docker's Status column. Under e->mu. */
static char *status_text(struct ctr *c)
{
    json_t *st = ctr_state(c);
    const char *s = ctr_status(c);
    int64_t now = time_now_ns(), t = 0;
    if (strcmp(s, "running") == 0 || strcmp(s, "paused") == 0) {
        time_parse_timestamp(json_string_value(json_object_get(st, "StartedAt")) ?: "", &t);
        _cleanup_free_ char *d = human_duration(now - t);
        return xasprintf("Up %s%s", d,
                         strcmp(s, "paused") == 0 ? " (Paused)" : eng_health_suffix(c));
    }
    if (strcmp(s, "restarting") == 0 || strcmp(s, "exited") == 0) {
        time_parse_timestamp(json_string_value(json_object_get(st, "FinishedAt")) ?: "", &t);
        _cleanup_free_ char *d = human_duration(now - t);
        return xasprintf("%s (%lld) %s ago", strcmp(s, "exited") == 0 ? "Exited" : "Restarting",
                         (long long)json_integer_value(json_object_get(st, "ExitCode")), d);
    }
    if (strcmp(s, "removing") == 0)
        return xstrdup("Removal In Progress");
    if (strcmp(s, "dead") == 0)
        return xstrdup("Dead");
    return xstrdup("Created");
}

static char *command_text(json_t *rec)
{
    size_t cap = 1;
    json_t *path = json_object_get(rec, "Path"), *args = json_object_get(rec, "Args");
    cap += strlen(json_string_value(path) ?: "") + 1;
    size_t i;
    json_t *a;
    json_array_foreach(args, i, a) cap += strlen(json_string_value(a) ?: "") + 1;
    char *out = xcalloc(1, cap), *o = out;
    o = stpcpy(o, json_string_value(path) ?: "");
    json_array_foreach(args, i, a)
    {
        o = stpcpy(o, " ");
        o = stpcpy(o, json_string_value(a) ?: "");
    }
    return out;
}

static bool any_matches(json_t *vals, bool (*pred)(const char *want, void *ctx), void *ctx)
{
    if (json_array_size(vals) == 0)
        return true;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v)
    {
        if (pred(json_string_value(v), ctx))
            return true;
    }
    return false;
}

struct fctx {
    struct ctr *c;
    json_t *rec;
    struct img_db *db;
    int64_t created;
};

static bool m_id(const char *w, void *p)
{
    return strncmp(((struct fctx *)p)->c->id, w, strlen(w)) == 0;
}

static bool m_name(const char *w, void *p)
{
    const char *n = json_string_value(json_object_get(((struct fctx *)p)->rec, "Name"));
    return n != NULL && filter_regex(w, n);
}

static bool m_status(const char *w, void *p)
{
    return strcmp(ctr_status(((struct fctx *)p)->c), w) == 0;
}

static bool m_exited(const char *w, void *p)
{
    struct fctx *f = p;
    if (strcmp(ctr_status(f->c), "exited") != 0)
        return false;
    return json_integer_value(json_object_get(ctr_state(f->c), "ExitCode")) == atoll(w);
}

static bool m_label(const char *w, void *p)
{
    json_t *labels = json_object_get(json_object_get(((struct fctx *)p)->rec, "Config"), "Labels");
    _cleanup_free_ char *k = xstrdup(w);
    char *eq = strchr(k, '=');
    if (eq != NULL)
        *eq++ = '\0';
    const char *v = json_string_value(json_object_get(labels, k));
    return v != NULL && (eq == NULL || strcmp(v, eq) == 0);
}

static bool m_ancestor(const char *w, void *p)
{
    struct fctx *f = p;
    const char *img = json_string_value(json_object_get(f->rec, "Image"));
    const char *given =
        json_string_value(json_object_get(json_object_get(f->rec, "Config"), "Image"));
    if (given != NULL && strcmp(given, w) == 0)
        return true;
    if (f->db == NULL || img == NULL)
        return false;
    struct img_record *r = NULL;
    if (img_db_resolve(f->db, w, &r, NULL) < 0)
        return false;
    return strcmp(r->id, img) == 0;
}

static bool m_volume(const char *w, void *p)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(((struct fctx *)p)->rec, "Mounts"), i, m)
    {
        const char *n = json_string_value(json_object_get(m, "Name"));
        const char *d = json_string_value(json_object_get(m, "Destination"));
        const char *s = json_string_value(json_object_get(m, "Source"));
        if ((n && strcmp(n, w) == 0) || (d && strcmp(d, w) == 0) || (s && strcmp(s, w) == 0))
            return true;
    }
    return false;
}

static bool m_network(const char *w, void *p)
{
    const char *nm = json_string_value(
        json_object_get(json_object_get(((struct fctx *)p)->rec, "HostConfig"), "NetworkMode"));
    if (nm == NULL)
        return false;
    /* without a bridge yet, the default and bridge modes run on "none" (see api/h_networks.c) */
    if (strcmp(w, "none") == 0 && (strcmp(nm, "default") == 0 || strcmp(nm, "bridge") == 0))
        return true;
    return strcmp(nm, w) == 0;
}

static bool m_health(const char *w, void *p)
{
    return strcmp(eng_health_status(((struct fctx *)p)->c), w) == 0;
}

static bool m_isolation(const char *w, void *p)
{
    return strcmp(w, "default") == 0;
}
static bool m_is_task(const char *w, void *p)
{
    return strcmp(w, "false") == 0;
}

static int64_t created_ns(json_t *rec)
{
    int64_t t = 0;
    time_parse_timestamp(json_string_value(json_object_get(rec, "Created")) ?: "", &t);
    return t;
}

static const char *const known_filters[] = {
    "id",     "name",    "status", "exited",    "label",   "ancestor", "before", "since",
    "volume", "network", "health", "isolation", "is-task", "publish",  "expose", NULL,
};

static int check_filters(json_t *filters, struct berr **err)
{
    const char *k;
    json_t *v;
    json_object_foreach(filters, k, v)
    {
        bool ok = false;
        for (size_t i = 0; known_filters[i] != NULL; i++)
            if (strcmp(k, known_filters[i]) == 0)
                ok = true;
        if (!ok)
            return berr_code(err, EINVAL, "invalid filter '%s'", k);
    }
    size_t i;
    json_t *x;
    static const char *const statuses[] = {"created", "restarting", "running", "removing",
                                           "paused",  "exited",     "dead",    NULL};
    if (eng_health_check_filter(json_object_get(filters, "health"), err) < 0)
        return -1;
    json_array_foreach(json_object_get(filters, "status"), i, x)
    {
        bool ok = false;
        for (size_t s = 0; statuses[s] != NULL; s++)
            if (strcmp(json_string_value(x), statuses[s]) == 0)
                ok = true;
        if (!ok)
            return berr_code(err, EINVAL, "invalid filter 'status=%s': Invalid filter 'status=%s'",
                             json_string_value(x), json_string_value(x));
    }
    return 0;
}

static int cmp_created_desc(const void *a, const void *b)
{
    const struct fctx *x = a, *y = b;
    return x->created < y->created ? 1 : x->created > y->created ? -1 : 0;
}

/* The list entry of one container, in Docker's shape. Under e->mu: only copies leave. */
static json_t *list_entry(struct fctx *f)
{
    json_t *rec = f->rec;
    json_t *cfg = json_object_get(rec, "Config");
    json_t *hc = json_object_get(rec, "HostConfig");
    json_t *labels = json_object_get(cfg, "Labels");
    _cleanup_free_ char *cmd = command_text(rec);
    _cleanup_free_ char *status = status_text(f->c);
    json_t *s = json_pack(
        "{s:s, s:[s], s:s, s:s, s:s, s:I, s:[], s:o, s:s, s:s, s:{s:s}, s:{s:{}}, s:o}", "Id",
        f->c->id, "Names", json_string_value(json_object_get(rec, "Name")) ?: "", "Image",
        json_string_value(json_object_get(cfg, "Image")) ?: "", "ImageID",
        json_string_value(json_object_get(rec, "Image")) ?: "", "Command", cmd, "Created",
        (json_int_t)(f->created / 1000000000), "Ports", "Labels",
        json_is_object(labels) ? json_deep_copy(labels) : json_object(), "State", ctr_status(f->c),
        "Status", status, "HostConfig", "NetworkMode",
        json_string_value(json_object_get(hc, "NetworkMode")) ?: "default", "NetworkSettings",
        "Networks", "Mounts", json_deep_copy(json_object_get(rec, "Mounts")) ?: json_array());
    if (s == NULL)
        abort();
    return s;
}

json_t *eng_list(struct eng *e, bool all, int limit, bool size, json_t *filters, struct berr **err)
{
    _cleanup_json_ json_t *no_filters = json_object();
    if (filters == NULL)
        filters = no_filters;
    if (check_filters(filters, err) < 0)
        return NULL;
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    if (json_object_get(filters, "ancestor") != NULL)
        img_db_load(e->store, &db, NULL);
    /* before/since name containers: their creation times bound the list */
    char bound_id[2][65] = {"", ""};
    const char *bs[2] = {"before", "since"};
    for (int k = 0; k < 2; k++) {
        json_t *vals = json_object_get(filters, bs[k]);
        if (json_array_size(vals) > 0 &&
            eng_resolve(e, json_string_value(json_array_get(vals, 0)), bound_id[k], err) < 0)
            return NULL;
    }

    /* One pass under the lock, copying only what the entries show; the records themselves are
     * not copied (a list of 100 containers used to deep-copy 100 records). */
    json_t *out = json_array();
    bool status_filter = json_array_size(json_object_get(filters, "status")) > 0;
    pthread_mutex_lock(&e->mu);
    size_t n = e->n;
    struct fctx *v = xcalloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        v[i].c = e->ctrs[i];
        v[i].rec = e->ctrs[i]->rec;
        v[i].db = db;
        v[i].created = created_ns(v[i].rec);
    }
    qsort(v, n, sizeof(*v), cmp_created_desc);
    int64_t before = INT64_MAX, since = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].c->id, bound_id[0]) == 0)
            before = v[i].created;
        if (strcmp(v[i].c->id, bound_id[1]) == 0)
            since = v[i].created;
    }
    struct ctr **sized = size ? xcalloc(n + 1, sizeof(*sized)) : NULL;
    size_t nsized = 0;
    for (size_t i = 0; i < n; i++) {
        struct fctx *f = &v[i];
        const char *st = ctr_status(f->c);
        bool running = strcmp(st, "running") == 0 || strcmp(st, "paused") == 0 ||
                       strcmp(st, "restarting") == 0;
        bool keep =
            (all || running || status_filter || before != INT64_MAX || since != INT64_MIN) &&
            f->created < before && f->created > since &&
            any_matches(json_object_get(filters, "id"), m_id, f) &&
            any_matches(json_object_get(filters, "name"), m_name, f) &&
            any_matches(json_object_get(filters, "status"), m_status, f) &&
            any_matches(json_object_get(filters, "exited"), m_exited, f) &&
            any_matches(json_object_get(filters, "ancestor"), m_ancestor, f) &&
            any_matches(json_object_get(filters, "volume"), m_volume, f) &&
            any_matches(json_object_get(filters, "network"), m_network, f) &&
            any_matches(json_object_get(filters, "isolation"), m_isolation, f) &&
            any_matches(json_object_get(filters, "is-task"), m_is_task, f) &&
            any_matches(json_object_get(filters, "health"), m_health, f) &&
            json_array_size(json_object_get(filters, "publish")) == 0 &&
            json_array_size(json_object_get(filters, "expose")) == 0;
        /* labels: every one given must match */
        size_t li;
        json_t *lv;
        json_array_foreach(json_object_get(filters, "label"), li, lv)
        {
            if (!m_label(json_string_value(lv), f))
                keep = false;
        }
        if (!keep)
            continue;
        if (limit > 0 && json_array_size(out) >= (size_t)limit)
            break;
        json_array_append_new(out, list_entry(f));
        if (size) {
            f->c->refs++;
            sized[nsized++] = f->c;
        }
    }
    pthread_mutex_unlock(&e->mu);
    free(v);
    /* sizes walk the upper layers: outside the lock */
    if (nsized > 0 && db == NULL)
        img_db_load(e->store, &db, NULL);
    for (size_t i = 0; i < nsized; i++) {
        json_t *s = json_array_get(out, i);
        set_sizes(e, sized[i], db, json_string_value(json_object_get(s, "ImageID")), s);
        ctr_unref(e, sized[i]);
    }
    free(sized);
    return out;
}

json_t *eng_prune(struct eng *e, json_t *filters, struct berr **err)
{
    _cleanup_json_ json_t *f = json_object();
    int64_t until = INT64_MAX;
    const char *k;
    json_t *v;
    json_object_foreach(filters, k, v)
    {
        if (strcmp(k, "until") == 0) {
            const char *u = json_string_value(json_array_get(v, 0));
            if (u != NULL && time_parse_timestamp(u, &until) < 0)
                return berr_code(err, EINVAL,
                                 "invalid filter 'until=%s': expected a unix or RFC 3339 time", u),
                       NULL;
        } else if (strcmp(k, "label") == 0 || strcmp(k, "label!") == 0) {
            json_object_set(f, k, v);
        } else {
            return berr_code(err, EINVAL, "invalid filter '%s'", k), NULL;
        }
    }
    json_t *negated = json_object_get(f, "label!");
    json_object_del(f, "label!");
    json_object_set_new(f, "status", json_pack("[s, s, s]", "exited", "created", "dead"));
    _cleanup_json_ json_t *list = eng_list(e, true, -1, true, f, err);
    if (list == NULL)
        return NULL;
    json_t *deleted = json_array();
    int64_t reclaimed = 0;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        if (json_integer_value(json_object_get(c, "Created")) * 1000000000 > until)
            continue;
        json_t *labels = json_object_get(c, "Labels");
        bool skip = false;
        size_t ni;
        json_t *nv;
        json_array_foreach(negated, ni, nv)
        {
            _cleanup_free_ char *kv = xstrdup(json_string_value(nv));
            char *eq = strchr(kv, '=');
            if (eq != NULL)
                *eq++ = '\0';
            const char *have = json_string_value(json_object_get(labels, kv));
            if (have != NULL && (eq == NULL || strcmp(have, eq) == 0))
                skip = true;
        }
        if (skip)
            continue;
        const char *id = json_string_value(json_object_get(c, "Id"));
        if (eng_remove(e, id, false, false, NULL) == 0) {
            json_array_append_new(deleted, json_string(id));
            reclaimed += json_integer_value(json_object_get(c, "SizeRw"));
        }
    }
    return json_pack("{s:o, s:I}", "ContainersDeleted", deleted, "SpaceReclaimed",
                     (json_int_t)reclaimed);
}
