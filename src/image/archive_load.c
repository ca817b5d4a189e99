/* docker load: one sequential pass over the archive streams every blob into the store (verified
 * where its name carries a digest) and keeps only the small metadata files in memory; then the
 * images are found (index.json, manifest.json, legacy layouts), built from the store and
 * committed together. Also the layer-stream and commit helpers that import shares. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/archive.h"
#include "image/archive_internal.h"
#include "image/gc.h"
#include "image/manifest.h"
#include "image/ref.h"

#define SMALL_FILE_MAX  (8u << 20)  /* one metadata file in an archive */
#define SMALL_TOTAL_MAX (64u << 20) /* all of them together */
#define MAX_ENTRIES     200000      /* tar members in one archive */
#define MAX_LINK_HOPS   40
#define MAX_INDEX_DEPTH 4

static void archive_read_freep(struct archive **a)
{
    if (*a)
        archive_read_free(*a);
    *a = NULL;
}

#define _cleanup_aread_ _cleanup_(archive_read_freep)

/* ---- layer streams ---- */

static int blob_compression(struct img_store *s, const char *digest, enum comp *c,
                            struct berr **err)
{
    _cleanup_close_ int fd = img_blob_open(s, digest, err);
    if (fd < 0)
        return -1;
    unsigned char head[8];
    ssize_t n = pread(fd, head, sizeof(head), 0);
    if (n < 0)
        return berr_sys(err, "read blob %s", digest);
    *c = sniff(head, (size_t)n);
    return 0;
}

/* A reader that undoes the compressions a layer or an archive may come in, and nothing else:
 * libarchive's catch-all would also run external programs. */
static struct archive *new_reader(bool raw, struct berr **err)
{
    struct archive *a = archive_read_new();
    if (archive_read_support_filter_gzip(a) < ARCHIVE_WARN ||
        archive_read_support_filter_zstd(a) < ARCHIVE_WARN ||
        archive_read_support_filter_xz(a) < ARCHIVE_WARN ||
        archive_read_support_filter_bzip2(a) < ARCHIVE_WARN ||
        (raw ? archive_read_support_format_raw(a) : archive_read_support_format_tar(a)) !=
            ARCHIVE_OK) {
        berr_set(err, ENOTSUP, "libarchive: %s", archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* Decompresses a stored layer blob: the tar stream's digest is the diff ID; with w non-NULL the
 * tar stream is also written there (to store it uncompressed). */
int img_archive_layer_tar_stream(struct img_store *s, const char *digest, struct img_blob_writer *w,
                                 char diff_id[IMG_DIGEST_MAX], struct berr **err)
{
    _cleanup_close_ int fd = img_blob_open(s, digest, err);
    if (fd < 0)
        return -1;
    _cleanup_aread_ struct archive *a = new_reader(true, err);
    if (a == NULL)
        return -1;
    struct archive_entry *e;
    if (archive_read_open_fd(a, fd, COPY_BUF) != ARCHIVE_OK ||
        archive_read_next_header(a, &e) != ARCHIVE_OK)
        return berr_set(err, EINVAL, "layer %s: %s", digest,
                        archive_error_string(a) ? archive_error_string(a) : "empty");
    _cleanup_(img_hasher_freep) struct img_hasher *h = img_hasher_new("sha256");
    _cleanup_free_ char *buf = xmalloc(COPY_BUF);
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, COPY_BUF);
        if (n < 0)
            return berr_set(err, EINVAL, "layer %s: %s", digest, archive_error_string(a));
        if (n == 0)
            break;
        img_hasher_update(h, buf, (size_t)n);
        if (w && img_blob_writer_write(w, buf, (size_t)n, err) < 0)
            return -1;
    }
    img_hasher_final(h, diff_id);
    return 0;
}

/* Stores an xz or bzip2 layer decompressed (image media types name only gzip and zstd);
 * digest is replaced by the new blob's. */
int img_archive_store_decompressed(struct img_store *s, char digest[IMG_DIGEST_MAX],
                                   char diff_id[IMG_DIGEST_MAX], struct berr **err)
{
    struct img_blob_writer *w = NULL;
    if (img_blob_writer_open(s, NULL, -1, &w, err) < 0)
        return -1;
    if (img_archive_layer_tar_stream(s, digest, w, diff_id, err) < 0) {
        img_blob_writer_abort(w, false);
        return -1;
    }
    return img_blob_writer_commit(w, digest, err);
}

/* ---- load: one pass over the archive ---- */

enum afile_kind { AF_BLOB, AF_DATA, AF_LINK };

/* A member of the archive: a blob now in the store, a small file kept in memory, or a link. */
struct afile {
    char *path;
    enum afile_kind kind;
    char digest[IMG_DIGEST_MAX];
    char *data;
    size_t len;
    char *target;
};

struct loader {
    struct img_store *s;
    struct img_snapshotter *sn;
    struct afile *files;
    size_t n, cap;
    size_t data_total;
};

static void loader_clear(struct loader *ld)
{
    for (size_t i = 0; i < ld->n; i++) {
        free(ld->files[i].path);
        free(ld->files[i].data);
        free(ld->files[i].target);
    }
    free(ld->files);
    ld->files = NULL;
    ld->n = 0;
}

static struct afile *add_file(struct loader *ld, char *path, enum afile_kind kind)
{
    if (ld->n == ld->cap) {
        ld->cap = ld->cap ? ld->cap * 2 : 64;
        ld->files = xreallocarray(ld->files, ld->cap, sizeof(*ld->files));
    }
    struct afile *f = &ld->files[ld->n++];
    *f = (struct afile){.path = path, .kind = kind};
    return f;
}

/* The member at path, links followed; a later member of the same name wins, as in tar. */
static struct afile *lookup(struct loader *ld, const char *path)
{
    for (int hop = 0; hop < MAX_LINK_HOPS; hop++) {
        struct afile *f = NULL;
        for (size_t i = ld->n; i-- > 0 && f == NULL;) {
            if (strcmp(ld->files[i].path, path) == 0)
                f = &ld->files[i];
        }
        if (f == NULL || f->kind != AF_LINK)
            return f;
        path = f->target;
    }
    return NULL;
}

/* Joins base (may be NULL) and raw into a clean relative path: "." and empty components
 * dropped, ".." allowed only when allow_up and only while it stays inside. *out is NULL for
 * the archive's root. -1 for an absolute path or one that leaves the archive. */
static int clean_member(const char *base, const char *raw, bool allow_up, char **out)
{
    *out = NULL;
    if (raw[0] == '/')
        return -1;
    _cleanup_strv_ char **parts = xcalloc(1, sizeof(char *));
    _cleanup_free_ char *joined = base ? xasprintf("%s/%s", base, raw) : xstrdup(raw);
    for (char *save = NULL, *c = strtok_r(joined, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            size_t n = strv_length(parts);
            if (!allow_up || n == 0)
                return -1;
            free(parts[n - 1]);
            parts[n - 1] = NULL;
            continue;
        }
        strv_append(&parts, c);
    }
    if (parts[0] == NULL)
        return 0;
    size_t len = 0;
    for (size_t i = 0; parts[i]; i++)
        len += strlen(parts[i]) + 1;
    char *p = xmalloc(len);
    p[0] = '\0';
    for (size_t i = 0; parts[i]; i++) {
        if (i)
            strcat(p, "/");
        strcat(p, parts[i]);
    }
    *out = p;
    return 0;
}

/* Metadata files are read into memory; everything else is content and goes to the store. */
static bool is_metadata(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    return strcmp(base, "repositories") == 0 || strcmp(base, "oci-layout") == 0 ||
           strcmp(base, "VERSION") == 0 || strcmp(base, "json") == 0 ||
           (n > 5 && strcmp(base + n - 5, ".json") == 0);
}

/* "blobs/<alg>/<hex>" with a digest we can verify. */
static bool blob_path_digest(const char *path, char digest[IMG_DIGEST_MAX])
{
    if (strncmp(path, "blobs/", 6) != 0)
        return false;
    const char *alg = path + 6, *slash = strchr(alg, '/');
    if (slash == NULL || strchr(slash + 1, '/'))
        return false;
    snprintf(digest, IMG_DIGEST_MAX, "%.*s:%s", (int)(slash - alg), alg, slash + 1);
    return img_digest_valid(digest);
}

static int read_metadata(struct loader *ld, struct archive *a, struct afile *f, int64_t size,
                         struct berr **err)
{
    if (size < 0 || (uint64_t)size > SMALL_FILE_MAX)
        return berr_set(err, EFBIG,
                        "load: %s is %lld bytes: more than the %u MiB a metadata file may have",
                        f->path, (long long)size, SMALL_FILE_MAX >> 20);
    if (ld->data_total + (size_t)size > SMALL_TOTAL_MAX)
        return berr_set(err, EFBIG, "load: the archive's metadata files exceed %u MiB in all",
                        SMALL_TOTAL_MAX >> 20);
    f->data = xmalloc((size_t)size + 1);
    size_t got = 0;
    for (;;) {
        la_ssize_t n = archive_read_data(a, f->data + got, (size_t)size - got);
        if (n < 0)
            return berr_set(err, EIO, "load: %s: %s", f->path, archive_error_string(a));
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == (size_t)size)
            break;
    }
    if (got != (size_t)size)
        return berr_set(err, EIO, "load: %s: truncated", f->path);
    f->data[got] = '\0';
    f->len = got;
    ld->data_total += got;
    return 0;
}

/* Streams the member's data into the store; expected may be NULL (digest computed). */
static int store_member(struct loader *ld, struct archive *a, struct afile *f, const char *expected,
                        int64_t size, struct berr **err)
{
    struct img_blob_writer *w = NULL;
    int r = img_blob_writer_open(ld->s, expected, size, &w, err);
    if (r == 0 && img_blob_writer_offset(w) > 0) {
        /* Left by an interrupted download: this stream starts at byte 0, so start over. */
        img_blob_writer_abort(w, false);
        r = img_blob_writer_open(ld->s, expected, size, &w, err);
    }
    if (r < 0)
        return berr_wrap(err, "load: %s", f->path);
    if (w == NULL) {
        snprintf(f->digest, IMG_DIGEST_MAX, "%s", expected);
        return 0;
    }
    _cleanup_free_ char *buf = xmalloc(COPY_BUF);
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, COPY_BUF);
        if (n < 0) {
            berr_set(err, EIO, "load: %s: %s", f->path, archive_error_string(a));
            img_blob_writer_abort(w, false);
            return -1;
        }
        if (n == 0)
            break;
        if (img_blob_writer_write(w, buf, (size_t)n, err) < 0) {
            img_blob_writer_abort(w, false);
            return berr_wrap(err, "load: %s", f->path);
        }
    }
    if (img_blob_writer_commit(w, f->digest, err) < 0)
        return berr_wrap(err, "load: %s", f->path);
    return 0;
}

static const char *type_name(mode_t type)
{
    switch (type) {
    case AE_IFCHR:
        return "character device";
    case AE_IFBLK:
        return "block device";
    case AE_IFIFO:
        return "named pipe";
    case AE_IFSOCK:
        return "socket";
    default:
        return "special file";
    }
}

static int load_member(struct loader *ld, struct archive *a, struct archive_entry *e,
                       struct berr **err)
{
    const char *raw = archive_entry_pathname(e);
    if (raw == NULL)
        return berr_set(err, EINVAL, "load: an archive member has no name");
    _cleanup_free_ char *path = NULL;
    if (clean_member(NULL, raw, false, &path) < 0)
        return berr_set(err, EINVAL,
                        "load: archive member \"%s\": absolute names and \"..\" are not allowed "
                        "in an image archive",
                        raw);
    mode_t type = archive_entry_filetype(e);
    if (path == NULL)
        return 0;
    const char *hard = archive_entry_hardlink(e);
    if (hard || type == AE_IFLNK) {
        const char *to = hard ? hard : archive_entry_symlink(e);
        _cleanup_free_ char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        char *target = NULL;
        if (to == NULL ||
            clean_member(hard ? NULL : (slash ? dir : NULL), to, !hard, &target) < 0 ||
            target == NULL)
            return berr_set(err, EINVAL, "load: link \"%s\" -> \"%s\" points outside the archive",
                            raw, to ? to : "");
        add_file(ld, steal_ptr(&path), AF_LINK)->target = target;
        return 0;
    }
    if (type == AE_IFDIR)
        return 0;
    if (type != AE_IFREG)
        return berr_set(err, EINVAL,
                        "load: archive member \"%s\" is a %s: an image archive holds "
                        "only files, directories and links",
                        raw, type_name(type));
    int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
    char digest[IMG_DIGEST_MAX];
    bool is_blob = blob_path_digest(path, digest);
    bool meta = !is_blob && is_metadata(path);
    struct afile *f = add_file(ld, steal_ptr(&path), meta ? AF_DATA : AF_BLOB);
    if (meta)
        return read_metadata(ld, a, f, size, err);
    return store_member(ld, a, f, is_blob ? digest : NULL, size, err);
}

static int load_pass(struct loader *ld, int in_fd, struct berr **err)
{
    _cleanup_aread_ struct archive *a = new_reader(false, err);
    if (a == NULL)
        return -1;
    if (archive_read_open_fd(a, in_fd, COPY_BUF) != ARCHIVE_OK)
        return berr_set(err, EINVAL,
                        "load: the input is not a tar archive (%s): give an archive written by "
                        "docker save, podman save or skopeo",
                        archive_error_string(a));
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN) {
            if (ld->n == 0)
                return berr_set(err, EINVAL, "load: the input is not a tar archive: %s",
                                archive_error_string(a));
            return berr_set(err, EINVAL, "load: the archive is damaged after member %s: %s",
                            ld->files[ld->n - 1].path, archive_error_string(a));
        }
        if (ld->n >= MAX_ENTRIES)
            return berr_set(err, EFBIG, "load: the archive has more than %d members", MAX_ENTRIES);
        if (load_member(ld, a, e, err) < 0)
            return -1;
    }
}

/* ---- load: which images the archive holds ---- */

/* A manifest reached from index.json, with the names its descriptor carries. */
struct cand {
    struct img_manifest *m;
    char *manifest, *target, *target_mt;
    char **names;
};

struct want {
    char *config;
    char **layers;           /* legacy archives: the layer blobs, in order */
    const struct cand *real; /* the manifest that came with the image, or NULL */
    char **names;
};

static void cands_free(struct cand *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        img_manifest_free(v[i].m);
        free(v[i].manifest);
        free(v[i].target);
        free(v[i].target_mt);
        strv_free(v[i].names);
    }
    free(v);
}

static void wants_free(struct want *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].config);
        strv_free(v[i].layers);
        strv_free(v[i].names);
    }
    free(v);
}

/* Follows a descriptor to an image manifest, through nested indexes (choosing this host's
 * platform, or the only entry). */
static int resolve_manifest(struct loader *ld, const char *digest, const char *mt, int depth,
                            struct cand *c, struct berr **err)
{
    if (!img_blob_exists(ld->s, digest))
        return berr_set(err, ENOENT, "%s is not in the archive", digest);
    size_t len = 0;
    _cleanup_free_ char *body = img_blob_read(ld->s, digest, IMG_MANIFEST_MAX, &len, err);
    enum img_manifest_kind kind;
    if (body == NULL || img_manifest_kind(mt, body, len, &kind, err) < 0)
        return -1;
    if (kind == IMG_KIND_MANIFEST) {
        if (img_manifest_parse(mt, body, len, &c->m, err) < 0)
            return berr_wrap(err, "manifest %s", digest);
        c->manifest = xstrdup(digest);
        return 0;
    }
    _cleanup_index_ struct img_index *ix = NULL;
    if (depth >= MAX_INDEX_DEPTH)
        return berr_set(err, EINVAL, "index %s: indexes nested too deep", digest);
    if (img_index_parse(mt, body, len, &ix, err) < 0)
        return berr_wrap(err, "index %s", digest);
    size_t idx = 0, present = 0, n_present = 0;
    if (ix->n == 0)
        return berr_set(err, EINVAL, "index %s lists no manifests", digest);
    for (size_t i = 0; i < ix->n; i++) {
        if (img_blob_exists(ld->s, ix->manifests[i].digest)) {
            present = i;
            n_present++;
        }
    }
    /* An archive usually carries one platform of a multi-platform index: that one, whatever
     * this host is; else this host's. */
    _cleanup_berr_ struct berr *sel_err = NULL;
    if (n_present == 1)
        idx = present;
    else if (ix->n > 1 && img_index_select(ix, NULL, &idx, &sel_err) < 0)
        return berr_set(err, sel_err->errnum, "index %s: %s", digest, sel_err->msg);
    return resolve_manifest(ld, ix->manifests[idx].digest, ix->manifests[idx].media_type, depth + 1,
                            c, err);
}

int img_archive_add_name(char ***names, const char *s, struct berr **err)
{
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (img_ref_parse(s, &ref, err) < 0)
        return -1;
    if (ref->digest)
        return berr_set(err, EINVAL,
                        "\"%s\": an image name in an archive needs a tag, not a "
                        "digest",
                        s);
    _cleanup_free_ char *full = img_ref_string(ref);
    img_strv_add_unique(names, full);
    return 0;
}

/* With lenient (manifest.json describes the images too), an entry that leads to no usable
 * manifest is skipped instead of failing the load. */
static int index_cands(struct loader *ld, struct afile *f, bool lenient, struct cand **out,
                       size_t *n_out, struct berr **err)
{
    _cleanup_index_ struct img_index *ix = NULL;
    if (img_index_parse(IMG_MT_OCI_INDEX, f->data, f->len, &ix, err) < 0)
        return berr_wrap(err, "load: %s", f->path);
    struct cand *v = xcalloc(ix->n ? ix->n : 1, sizeof(*v));
    for (size_t i = 0; i < ix->n; i++) {
        const struct img_descriptor *d = &ix->manifests[i];
        v[i].names = xcalloc(1, sizeof(char *));
        v[i].target = xstrdup(d->digest);
        v[i].target_mt = xstrdup(d->media_type);
        const char *name = json_string_value(json_object_get(d->annotations, ANN_IMAGE_NAME));
        const char *ref = json_string_value(json_object_get(d->annotations, ANN_REF_NAME));
        /* ref.name is often a bare tag, which names no repository. */
        if (name == NULL && ref && strpbrk(ref, "/:"))
            name = ref;
        struct berr *e = NULL;
        if (resolve_manifest(ld, d->digest, d->media_type, 0, &v[i], &e) < 0 ||
            (name && img_archive_add_name(&v[i].names, name, &e) < 0)) {
            if (lenient) {
                berr_free(e);
                continue;
            }
            cands_free(v, i + 1);
            berr_set(err, e->errnum, "load: %s: manifests[%zu]: %s", f->path, i, e->msg);
            berr_free(e);
            return -1;
        }
    }
    *out = v;
    *n_out = ix->n;
    return 0;
}

/* The digest of the member at path (a small file is stored now). */
static int member_digest(struct loader *ld, const char *path, const char *what,
                         char digest[IMG_DIGEST_MAX], struct berr **err)
{
    _cleanup_free_ char *clean = NULL;
    if (clean_member(NULL, path, false, &clean) < 0 || clean == NULL)
        return berr_set(err, EINVAL, "%s \"%s\" is not a path inside the archive", what, path);
    struct afile *f = lookup(ld, clean);
    if (f == NULL)
        return berr_set(err, ENOENT, "%s %s is not in the archive", what, path);
    if (f->kind == AF_DATA)
        return img_blob_put(ld->s, f->data, f->len, NULL, digest, err);
    snprintf(digest, IMG_DIGEST_MAX, "%s", f->digest);
    return 0;
}

static int docker_want(struct loader *ld, json_t *o, const struct cand *cands, size_t n_cands,
                       struct want *w, struct berr **err)
{
    json_t *cfg = json_object_get(o, "Config"), *tags = json_object_get(o, "RepoTags");
    json_t *layers = json_object_get(o, "Layers");
    char digest[IMG_DIGEST_MAX];
    if (!json_is_string(cfg) || !json_is_array(layers) ||
        (tags && !json_is_array(tags) && !json_is_null(tags)))
        return berr_set(err, EINVAL,
                        "needs \"Config\" (a string), \"Layers\" (an array) and "
                        "\"RepoTags\" (an array)");
    if (member_digest(ld, json_string_value(cfg), "config", digest, err) < 0)
        return -1;
    w->config = xstrdup(digest);
    w->names = xcalloc(1, sizeof(char *));
    w->layers = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *v;
    json_array_foreach(tags, i, v)
    {
        if (!json_is_string(v) || img_archive_add_name(&w->names, json_string_value(v), err) < 0)
            return berr_wrap(err, "RepoTags[%zu]", i);
    }
    for (size_t k = 0; k < n_cands && w->real == NULL; k++) {
        if (cands[k].m && strcmp(cands[k].m->config.digest, digest) == 0)
            w->real = &cands[k];
    }
    json_array_foreach(layers, i, v)
    {
        if (!json_is_string(v))
            return berr_set(err, EINVAL, "Layers[%zu] is not a string", i);
        if (w->real)
            continue;
        if (member_digest(ld, json_string_value(v), "layer", digest, err) < 0)
            return -1;
        strv_append(&w->layers, digest);
    }
    return 0;
}

static int find_wants(struct loader *ld, struct cand *cands, size_t n_cands, struct want **out,
                      size_t *n_out, struct berr **err)
{
    struct afile *mf = lookup(ld, "manifest.json");
    struct want *v = NULL;
    size_t n = 0;
    if (mf && mf->kind == AF_DATA) {
        _cleanup_json_ json_t *list = json_loadb(mf->data, mf->len, 0, NULL);
        if (!json_is_array(list))
            return berr_set(err, EINVAL, "load: manifest.json is not a JSON array");
        v = xcalloc(json_array_size(list) + 1, sizeof(*v));
        for (; n < json_array_size(list); n++) {
            if (docker_want(ld, json_array_get(list, n), cands, n_cands, &v[n], err) < 0) {
                wants_free(v, n + 1);
                return berr_wrap(err, "load: manifest.json entry %zu", n);
            }
        }
    } else {
        v = xcalloc(n_cands + 1, sizeof(*v));
        for (size_t i = 0; i < n_cands; i++) {
            size_t j = 0;
            if (cands[i].m == NULL)
                continue;
            while (j < n && strcmp(v[j].real->manifest, cands[i].manifest) != 0)
                j++;
            if (j == n) {
                v[n].real = &cands[i];
                v[n].config = xstrdup(cands[i].m->config.digest);
                v[n++].names = xcalloc(1, sizeof(char *));
            }
            for (size_t k = 0; cands[i].names[k]; k++)
                img_strv_add_unique(&v[j].names, cands[i].names[k]);
        }
    }
    *out = v;
    *n_out = n;
    return 0;
}

/* ---- load: building the images ---- */

/* Stores the manifest a legacy archive lacks: OCI, with the layers as they came. */
int img_archive_synth_manifest(struct img_store *s, const struct img_record *rec,
                               int64_t config_size, char digest[IMG_DIGEST_MAX], struct berr **err)
{
    struct img_manifest m = {
        .media_type = (char *)IMG_MT_OCI_MANIFEST,
        .config = {.media_type = (char *)IMG_MT_OCI_CONFIG, .digest = rec->id, .size = config_size},
        .n_layers = rec->n_layers,
    };
    _cleanup_free_ struct img_descriptor *layers =
        xcalloc(rec->n_layers ? rec->n_layers : 1, sizeof(*layers));
    for (size_t i = 0; i < rec->n_layers; i++) {
        layers[i].media_type = rec->layers[i].media_type;
        layers[i].digest = rec->layers[i].digest;
        layers[i].size = rec->layers[i].size;
    }
    m.layers = layers;
    size_t len = 0;
    _cleanup_free_ char *body = img_manifest_serialize(&m, &len);
    return img_blob_put(s, body, len, NULL, digest, err);
}

/* Unpacks layer i, or when its snapshot already exists checks that this blob really holds the
 * diff ID the config names (the blob will be what a push sends). */
static int load_layer(struct loader *ld, struct img_layer_info *li, const char *parent,
                      struct berr **err)
{
    if (!img_snap_exists(ld->sn, li->chain_id)) {
        _cleanup_close_ int fd = img_blob_open(ld->s, li->digest, err);
        if (fd < 0)
            return -1;
        return img_snap_unpack(ld->sn, parent, li->chain_id, li->diff_id, fd, NULL, err);
    }
    if (strcmp(li->digest, li->diff_id) == 0)
        return 0;
    char got[IMG_DIGEST_MAX];
    if (img_archive_layer_tar_stream(ld->s, li->digest, NULL, got, err) < 0)
        return -1;
    if (strcmp(got, li->diff_id) != 0)
        return berr_set(err, EIO,
                        "layer content does not match the image config: diff ID %s, expected %s",
                        got, li->diff_id);
    return 0;
}

static int build_image(struct loader *ld, const struct want *w, struct img_record **out,
                       struct berr **err)
{
    const struct cand *real = w->real;
    size_t len = 0;
    _cleanup_free_ char *body = img_blob_read(ld->s, w->config, IMG_CONFIG_MAX, &len, err);
    _cleanup_config_ struct img_config *c = NULL;
    if (body == NULL || img_config_parse(body, len, &c, err) < 0)
        return berr_wrap(err, "config %s", w->config);
    size_t n = real ? real->m->n_layers : strv_length(w->layers);
    if (c->n_diff_ids != n)
        return berr_set(err, EINVAL,
                        "config %s lists %zu layer%s (diff_ids) but the archive "
                        "gives %zu",
                        w->config, c->n_diff_ids, c->n_diff_ids == 1 ? "" : "s", n);
    _cleanup_strv_ char **chains = img_chain_ids(c->diff_ids, n);
    _cleanup_record_ struct img_record *rec = img_record_new();
    rec->id = xstrdup(w->config);
    rec->n_layers = n;
    rec->layers = xcalloc(n ? n : 1, sizeof(*rec->layers));
    for (size_t i = 0; i < n; i++) {
        struct img_layer_info *li = &rec->layers[i];
        char digest[IMG_DIGEST_MAX];
        snprintf(digest, sizeof(digest), "%s", real ? real->m->layers[i].digest : w->layers[i]);
        if (!img_blob_exists(ld->s, digest))
            return berr_set(err, ENOENT, "layer %s is not in the archive", digest);
        enum comp comp = COMP_NONE;
        if (real) {
            li->media_type = xstrdup(real->m->layers[i].media_type);
        } else {
            if (blob_compression(ld->s, digest, &comp, err) < 0)
                return -1;
            char diff[IMG_DIGEST_MAX];
            if ((comp == COMP_XZ || comp == COMP_BZIP2) &&
                img_archive_store_decompressed(ld->s, digest, diff, err) < 0)
                return berr_wrap(err, "layer %zu", i);
            li->media_type = xstrdup(comp_media_type(comp));
        }
        li->digest = xstrdup(digest);
        li->diff_id = xstrdup(c->diff_ids[i]);
        li->chain_id = xstrdup(chains[i]);
        img_blob_stat(ld->s, digest, &li->size);
        if (load_layer(ld, li, i ? chains[i - 1] : NULL, err) < 0)
            return berr_wrap(err, "layer %zu (%s)", i, digest);
        int64_t sz = img_snap_size(ld->sn, chains[i]);
        rec->size += sz > 0 ? sz : 0;
    }
    if (real) {
        rec->manifest = xstrdup(real->manifest);
        rec->manifest_media_type = xstrdup(real->m->media_type);
        rec->target = xstrdup(real->target);
        rec->target_media_type = xstrdup(real->target_mt ? real->target_mt : real->m->media_type);
    } else {
        char digest[IMG_DIGEST_MAX];
        if (img_archive_synth_manifest(ld->s, rec, (int64_t)len, digest, err) < 0)
            return -1;
        rec->manifest = xstrdup(digest);
        rec->manifest_media_type = xstrdup(IMG_MT_OCI_MANIFEST);
        rec->target = xstrdup(digest);
        rec->target_media_type = xstrdup(IMG_MT_OCI_MANIFEST);
    }
    strv_free(rec->names);
    rec->names = strv_dup(w->names);
    for (size_t i = 0; real && w->names[i]; i++) {
        _cleanup_ref_ struct img_ref *ref = NULL;
        if (img_ref_parse(w->names[i], &ref, NULL) == 0) {
            _cleanup_free_ char *repo = img_ref_repo(ref);
            _cleanup_free_ char *rd = xasprintf("%s@%s", repo, rec->target);
            img_strv_add_unique(&rec->repo_digests, rd);
        }
    }
    rec->created = dup_or_null(c->created);
    rec->os = dup_or_null(c->os);
    rec->architecture = dup_or_null(c->architecture);
    rec->variant = dup_or_null(c->variant);
    if (w->names[0])
        rec->last_tagged = time(NULL);
    *out = steal_ptr(&rec);
    return 0;
}

/* Makes the blobs and snapshots durable, then adds the records in one transaction. stored
 * (n entries) receives the records as they are in db. */
int img_archive_commit_records(struct img_store *s, struct img_record **recs, size_t n,
                               struct img_db **db_out, struct img_record **stored,
                               struct berr **err)
{
    if (syncfs(img_store_dirfd(s)) < 0)
        return berr_sys(err, "sync %s", img_store_root(s));
    struct img_db *db = NULL;
    if (img_db_begin(s, &db, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        /* An image we already hold (same config) keeps its manifest and layers as they are:
         * only the names are new. Otherwise the merge would point its target at a manifest
         * whose layers the record does not list, and GC would take them. */
        struct img_record *have = img_db_get(db, recs[i]->id);
        if (have && strcmp(have->manifest, recs[i]->manifest) != 0) {
            free(recs[i]->target);
            recs[i]->target = NULL;
            strv_free(recs[i]->repo_digests);
            recs[i]->repo_digests = xcalloc(1, sizeof(char *));
        }
        stored[i] = img_db_add(db, steal_ptr(&recs[i]));
    }
    if (img_db_commit(db, err) < 0) {
        img_db_free(db);
        return -1;
    }
    *db_out = db;
    return 0;
}

int img_load(struct img_store *s, struct img_snapshotter *sn, int in_fd, img_load_cb cb, void *ctx,
             struct berr **err)
{
    _cleanup_close_ int lease = img_gc_lease(s, err);
    if (lease < 0)
        return -1;
    struct loader ld = {.s = s, .sn = sn};
    struct cand *cands = NULL;
    struct want *wants = NULL;
    struct img_record **recs = NULL, **stored = NULL;
    size_t n_cands = 0, n_wants = 0, n_built = 0;
    struct img_db *db = NULL;
    int ret = -1;
    if (load_pass(&ld, in_fd, err) < 0)
        goto out;
    struct afile *ix = lookup(&ld, "index.json"), *mf = lookup(&ld, "manifest.json");
    if ((ix == NULL || ix->kind != AF_DATA) && (mf == NULL || mf->kind != AF_DATA)) {
        berr_set(err, EINVAL,
                 "load: the archive has neither manifest.json nor index.json: it is "
                 "not an image archive from docker save, podman save or an OCI layout");
        goto out;
    }
    bool has_docker = mf && mf->kind == AF_DATA;
    if (ix && ix->kind == AF_DATA && index_cands(&ld, ix, has_docker, &cands, &n_cands, err) < 0)
        goto out;
    if (find_wants(&ld, cands, n_cands, &wants, &n_wants, err) < 0)
        goto out;
    if (n_wants == 0) {
        berr_set(err, EINVAL, "load: the archive holds no images");
        goto out;
    }
    recs = xcalloc(n_wants, sizeof(*recs));
    stored = xcalloc(n_wants, sizeof(*stored));
    for (; n_built < n_wants; n_built++) {
        if (build_image(&ld, &wants[n_built], &recs[n_built], err) < 0) {
            const char *name = wants[n_built].names[0];
            berr_wrap(err, "load: image %zu%s%s%s", n_built + 1, name ? " (" : "", name ? name : "",
                      name ? ")" : "");
            goto out;
        }
    }
    if (img_archive_commit_records(s, recs, n_wants, &db, stored, err) < 0)
        goto out;
    for (size_t i = 0; cb && i < n_wants; i++) {
        for (size_t k = 0; wants[i].names[k]; k++)
            cb(ctx, stored[i], wants[i].names[k]);
        if (wants[i].names[0] == NULL)
            cb(ctx, stored[i], NULL);
    }
    ret = 0;
out:
    img_db_free(db);
    for (size_t i = 0; recs && i < n_built; i++)
        img_record_free(recs[i]);
    free(recs);
    free(stored);
    wants_free(wants, n_wants);
    cands_free(cands, n_cands);
    loader_clear(&ld);
    return ret;
}
