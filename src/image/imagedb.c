/* The image records file: load, change under a lock, replace atomically; and the lookups
 * (name, digest, ID, ID prefix) that every image command starts with. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/imagedb.h"
#include "image/ref.h"

#define DB_FILE    "images/images.json"
#define DB_LOCK    "images/lock"
#define DB_MAX     (256u << 20)
#define DB_VERSION 1

struct img_record *img_record_new(void)
{
    struct img_record *r = xzalloc(sizeof(*r));
    r->names = xcalloc(1, sizeof(char *));
    r->repo_digests = xcalloc(1, sizeof(char *));
    return r;
}

void img_record_free(struct img_record *r)
{
    if (r == NULL)
        return;
    free(r->id);
    free(r->target);
    free(r->target_media_type);
    free(r->manifest);
    free(r->manifest_media_type);
    strv_free(r->names);
    strv_free(r->repo_digests);
    free(r->created);
    free(r->os);
    free(r->architecture);
    free(r->variant);
    for (size_t i = 0; i < r->n_layers; i++) {
        free(r->layers[i].digest);
        free(r->layers[i].media_type);
        free(r->layers[i].diff_id);
        free(r->layers[i].chain_id);
    }
    free(r->layers);
    free(r);
}

static void record_freep(struct img_record **r)
{
    img_record_free(*r);
    *r = NULL;
}

const char *img_short_id(const char *id, char buf[13])
{
    snprintf(buf, 13, "%s", img_digest_hex(id));
    return buf;
}

void img_strv_add_unique(char ***v, const char *s)
{
    if (!strv_contains(*v, s))
        strv_append(v, s);
}

static char *opt_str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? xstrdup(s) : NULL;
}

static char **str_array(json_t *a)
{
    char **v = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (json_is_string(e))
            strv_append(&v, json_string_value(e));
    }
    return v;
}

static int record_from_json(json_t *o, struct img_record **out, struct berr **err)
{
    _cleanup_(record_freep) struct img_record *r = img_record_new();
    r->id = opt_str(o, "id");
    r->manifest = opt_str(o, "manifest");
    if (r->id == NULL || !img_digest_valid(r->id) || r->manifest == NULL ||
        !img_digest_valid(r->manifest))
        return berr_set(err, EINVAL, "image record without a valid id or manifest");
    r->target = opt_str(o, "target");
    r->target_media_type = opt_str(o, "targetMediaType");
    r->manifest_media_type = opt_str(o, "manifestMediaType");
    strv_free(r->names);
    r->names = str_array(json_object_get(o, "names"));
    strv_free(r->repo_digests);
    r->repo_digests = str_array(json_object_get(o, "repoDigests"));
    r->created = opt_str(o, "created");
    r->os = opt_str(o, "os");
    r->architecture = opt_str(o, "architecture");
    r->variant = opt_str(o, "variant");
    r->size = json_integer_value(json_object_get(o, "size"));
    r->added = json_integer_value(json_object_get(o, "added"));
    r->last_tagged = json_integer_value(json_object_get(o, "lastTagged"));
    json_t *layers = json_object_get(o, "layers");
    r->n_layers = json_array_size(layers);
    r->layers = xcalloc(r->n_layers ? r->n_layers : 1, sizeof(*r->layers));
    for (size_t i = 0; i < r->n_layers; i++) {
        json_t *l = json_array_get(layers, i);
        struct img_layer_info *li = &r->layers[i];
        li->digest = opt_str(l, "digest");
        li->media_type = opt_str(l, "mediaType");
        li->size = json_integer_value(json_object_get(l, "size"));
        li->diff_id = opt_str(l, "diffId");
        li->chain_id = opt_str(l, "chainId");
        if (!li->digest || !li->diff_id || !li->chain_id || !img_digest_valid(li->digest) ||
            !img_digest_valid(li->diff_id) || !img_digest_valid(li->chain_id))
            return berr_set(err, EINVAL, "image %s: layer %zu has no valid digests", r->id, i);
    }
    if (r->target == NULL)
        r->target = xstrdup(r->manifest);
    *out = steal_ptr(&r);
    return 0;
}

static void set_opt(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static json_t *record_to_json(const struct img_record *r)
{
    json_t *o = json_object();
    set_opt(o, "id", r->id);
    set_opt(o, "target", r->target);
    set_opt(o, "targetMediaType", r->target_media_type);
    set_opt(o, "manifest", r->manifest);
    set_opt(o, "manifestMediaType", r->manifest_media_type);
    json_t *names = json_array(), *digests = json_array(), *layers = json_array();
    for (size_t i = 0; r->names[i]; i++)
        json_array_append_new(names, json_string(r->names[i]));
    for (size_t i = 0; r->repo_digests[i]; i++)
        json_array_append_new(digests, json_string(r->repo_digests[i]));
    json_object_set_new(o, "names", names);
    json_object_set_new(o, "repoDigests", digests);
    set_opt(o, "created", r->created);
    set_opt(o, "os", r->os);
    set_opt(o, "architecture", r->architecture);
    set_opt(o, "variant", r->variant);
    json_object_set_new(o, "size", json_integer(r->size));
    json_object_set_new(o, "added", json_integer(r->added));
    json_object_set_new(o, "lastTagged", json_integer(r->last_tagged));
    for (size_t i = 0; i < r->n_layers; i++) {
        const struct img_layer_info *li = &r->layers[i];
        json_t *l = json_object();
        set_opt(l, "digest", li->digest);
        set_opt(l, "mediaType", li->media_type);
        json_object_set_new(l, "size", json_integer(li->size));
        set_opt(l, "diffId", li->diff_id);
        set_opt(l, "chainId", li->chain_id);
        json_array_append_new(layers, l);
    }
    json_object_set_new(o, "layers", layers);
    return o;
}

static void db_append(struct img_db *db, struct img_record *r)
{
    db->v = xreallocarray(db->v, db->n + 1, sizeof(*db->v));
    db->v[db->n++] = r;
}

static int db_read(struct img_db *db, struct berr **err)
{
    int root = img_store_dirfd(db->s);
    size_t len = 0;
    _cleanup_berr_ struct berr *rerr = NULL;
    _cleanup_free_ char *text = read_file_at(root, DB_FILE, DB_MAX, &len, &rerr);
    if (text == NULL) {
        if (rerr->errnum == ENOENT)
            return 0;
        return berr_set(err, rerr->errnum, "%s/%s: %s", img_store_root(db->s), DB_FILE, rerr->msg);
    }
    json_error_t jerr;
    _cleanup_json_ json_t *root_obj = json_loadb(text, len, 0, &jerr);
    if (root_obj == NULL)
        return berr_set(err, EINVAL, "%s/%s is corrupt (line %d: %s); move it away to start over",
                        img_store_root(db->s), DB_FILE, jerr.line, jerr.text);
    json_t *version = json_object_get(root_obj, "version");
    if (json_integer_value(version) != DB_VERSION)
        return berr_set(err, EINVAL, "%s/%s: unknown format version", img_store_root(db->s),
                        DB_FILE);
    json_t *images = json_object_get(root_obj, "images");
    size_t i;
    json_t *o;
    json_array_foreach(images, i, o)
    {
        struct img_record *r = NULL;
        if (record_from_json(o, &r, err) < 0)
            return berr_wrap(err, "%s/%s: entry %zu", img_store_root(db->s), DB_FILE, i);
        db_append(db, r);
    }
    return 0;
}

int img_db_load(struct img_store *s, struct img_db **out, struct berr **err)
{
    struct img_db *db = xzalloc(sizeof(*db));
    db->s = s;
    db->lock_fd = -1;
    if (db_read(db, err) < 0) {
        img_db_free(db);
        return -1;
    }
    *out = db;
    return 0;
}

int img_db_begin(struct img_store *s, struct img_db **out, struct berr **err)
{
    _cleanup_close_ int fd =
        openat(img_store_dirfd(s), DB_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return berr_sys(err, "open %s/%s", img_store_root(s), DB_LOCK);
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR)
            return berr_sys(err, "lock %s/%s", img_store_root(s), DB_LOCK);
    }
    if (img_db_load(s, out, err) < 0)
        return -1;
    (*out)->lock_fd = steal_fd(&fd);
    return 0;
}

int img_db_commit(struct img_db *db, struct berr **err)
{
    if (db->lock_fd < 0)
        return berr_set(err, EINVAL, "image records changed without holding their lock");
    json_t *images = json_array();
    for (size_t i = 0; i < db->n; i++)
        json_array_append_new(images, record_to_json(db->v[i]));
    _cleanup_json_ json_t *root = json_pack("{s:i, s:o}", "version", DB_VERSION, "images", images);
    _cleanup_free_ char *text = json_dumps(root, JSON_COMPACT);
    return write_file_atomic_at(img_store_dirfd(db->s), DB_FILE, text, strlen(text), 0600, err);
}

void img_db_free(struct img_db *db)
{
    if (db == NULL)
        return;
    for (size_t i = 0; i < db->n; i++)
        img_record_free(db->v[i]);
    free(db->v);
    if (db->lock_fd >= 0)
        close(db->lock_fd);
    free(db);
}

void img_db_freep(struct img_db **db)
{
    img_db_free(*db);
    *db = NULL;
}

struct img_record *img_db_get(struct img_db *db, const char *id)
{
    for (size_t i = 0; i < db->n; i++) {
        if (strcmp(db->v[i]->id, id) == 0)
            return db->v[i];
    }
    return NULL;
}

struct img_record *img_db_by_name(struct img_db *db, const char *name)
{
    for (size_t i = 0; i < db->n; i++) {
        if (strv_contains(db->v[i]->names, name))
            return db->v[i];
    }
    return NULL;
}

/* The image a pulled manifest digest belongs to, limited to repo when non-NULL. */
static struct img_record *by_digest(struct img_db *db, const char *repo, const char *digest)
{
    for (size_t i = 0; i < db->n; i++) {
        struct img_record *r = db->v[i];
        for (size_t j = 0; r->repo_digests[j]; j++) {
            const char *at = strrchr(r->repo_digests[j], '@');
            if (at == NULL || strcmp(at + 1, digest) != 0)
                continue;
            if (repo == NULL || ((size_t)(at - r->repo_digests[j]) == strlen(repo) &&
                                 strncmp(r->repo_digests[j], repo, strlen(repo)) == 0))
                return r;
        }
    }
    return NULL;
}

static bool is_hex(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    }
    return true;
}

int img_db_resolve(struct img_db *db, const char *what, struct img_record **out, struct berr **err)
{
    *out = NULL;
    if (img_ref_looks_like_id(what)) {
        const char *hex = strncmp(what, "sha256:", 7) == 0 ? what + 7 : what;
        _cleanup_free_ char *id = xasprintf("sha256:%s", hex);
        if ((*out = img_db_get(db, id)) != NULL)
            return 0;
        if ((*out = by_digest(db, NULL, id)) != NULL)
            return 0;
        return berr_code(err, ENOENT, "No such image: %s", what);
    }
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (img_ref_parse(what, &ref, NULL) == 0) {
        if (ref->digest) {
            _cleanup_free_ char *repo = img_ref_repo(ref);
            if ((*out = by_digest(db, repo, ref->digest)) != NULL)
                return 0;
        } else {
            _cleanup_free_ char *name = img_ref_string(ref);
            if ((*out = img_db_by_name(db, name)) != NULL)
                return 0;
        }
    }
    /* A short ID, with or without "sha256:". */
    const char *prefix = strncmp(what, "sha256:", 7) == 0 ? what + 7 : what;
    if (is_hex(prefix)) {
        struct img_record *found = NULL;
        for (size_t i = 0; i < db->n; i++) {
            if (strncmp(img_digest_hex(db->v[i]->id), prefix, strlen(prefix)) != 0)
                continue;
            if (found && found != db->v[i])
                return berr_code(err, EINVAL,
                                 "image ID prefix %s is ambiguous: give more of the ID", what);
            found = db->v[i];
        }
        if (found) {
            *out = found;
            return 0;
        }
    }
    return berr_code(err, ENOENT, "No such image: %s", what);
}

static void drop_name(struct img_db *db, const char *name, const struct img_record *keep)
{
    for (size_t i = 0; i < db->n; i++) {
        struct img_record *r = db->v[i];
        if (r == keep)
            continue;
        size_t w = 0;
        for (size_t j = 0; r->names[j]; j++) {
            if (strcmp(r->names[j], name) == 0)
                free(r->names[j]);
            else
                r->names[w++] = r->names[j];
        }
        r->names[w] = NULL;
    }
}

struct img_record *img_db_add(struct img_db *db, struct img_record *rec)
{
    struct img_record *have = img_db_get(db, rec->id);
    for (size_t i = 0; rec->names[i]; i++)
        drop_name(db, rec->names[i], have);
    if (have == NULL) {
        if (rec->added == 0)
            rec->added = time(NULL);
        db_append(db, rec);
        return rec;
    }
    for (size_t i = 0; rec->names[i]; i++)
        img_strv_add_unique(&have->names, rec->names[i]);
    for (size_t i = 0; rec->repo_digests[i]; i++)
        img_strv_add_unique(&have->repo_digests, rec->repo_digests[i]);
    /* The newest pull decides what the names resolve to. */
    if (rec->target) {
        free(have->target);
        have->target = steal_ptr(&rec->target);
        free(have->target_media_type);
        have->target_media_type = steal_ptr(&rec->target_media_type);
    }
    if (rec->last_tagged > have->last_tagged)
        have->last_tagged = rec->last_tagged;
    img_record_free(rec);
    return have;
}

void img_db_tag(struct img_db *db, struct img_record *rec, const char *name)
{
    drop_name(db, name, rec);
    img_strv_add_unique(&rec->names, name);
    rec->last_tagged = time(NULL);
}

struct img_record *img_db_untag(struct img_db *db, const char *name)
{
    struct img_record *r = img_db_by_name(db, name);
    if (r)
        drop_name(db, name, NULL);
    return r;
}

void img_db_remove(struct img_db *db, struct img_record *rec)
{
    for (size_t i = 0; i < db->n; i++) {
        if (db->v[i] == rec) {
            memmove(&db->v[i], &db->v[i + 1], (db->n - i - 1) * sizeof(*db->v));
            db->n--;
            break;
        }
    }
    img_record_free(rec);
}
