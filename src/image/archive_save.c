/* docker save: writes stored images as one tar stream that is at once an OCI image layout and a
 * docker-archive (index.json, manifest.json, repositories), copying every blob exactly as
 * stored and checking they are all present before anything is written. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/archive.h"
#include "image/archive_internal.h"
#include "image/gc.h"
#include "image/manifest.h"
#include "image/ref.h"

static void archive_write_freep(struct archive **a)
{
    if (*a)
        archive_write_free(*a);
    *a = NULL;
}

#define _cleanup_awrite_ _cleanup_(archive_write_freep)

struct save_image {
    const struct img_record *rec;
    char **names;
    struct img_manifest *m;
    int64_t manifest_size;
};

static int write_header(struct archive *a, const char *path, mode_t type, int64_t size,
                        struct berr **err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_size(e, type == AE_IFDIR ? 0 : size);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, 0, 0);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return berr_set(err, archive_errno(a) > 0 ? archive_errno(a) : EIO, "write %s: %s", path,
                        archive_error_string(a));
    return 0;
}

static int write_buf(struct archive *a, const char *path, const char *buf, struct berr **err)
{
    size_t len = strlen(buf);
    if (write_header(a, path, AE_IFREG, (int64_t)len, err) < 0)
        return -1;
    if (archive_write_data(a, buf, len) != (la_ssize_t)len)
        return berr_set(err, archive_errno(a) > 0 ? archive_errno(a) : EIO, "write %s: %s", path,
                        archive_error_string(a));
    return 0;
}

static char *blob_member(const char *digest)
{
    char algo[8];
    return xasprintf("blobs/%s/%s", img_digest_algo(digest, algo), img_digest_hex(digest));
}

static int write_blob(struct archive *a, struct img_store *s, const char *digest, struct berr **err)
{
    _cleanup_free_ char *path = blob_member(digest);
    _cleanup_close_ int fd = img_blob_open(s, digest, err);
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0)
        return berr_sys(err, "blob %s", digest);
    if (write_header(a, path, AE_IFREG, st.st_size, err) < 0)
        return -1;
    _cleanup_free_ char *buf = xmalloc(COPY_BUF);
    int64_t done = 0;
    while (done < st.st_size) {
        ssize_t n = read(fd, buf, COPY_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berr_sys(err, "read blob %s", digest);
        if (n == 0 || done + n > st.st_size)
            return berr_set(err, EIO, "blob %s changed size while being saved", digest);
        if (archive_write_data(a, buf, (size_t)n) != n)
            return berr_set(err, archive_errno(a) > 0 ? archive_errno(a) : EIO, "write %s: %s",
                            path, archive_error_string(a));
        done += n;
    }
    return 0;
}

static void save_images_free(struct save_image *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        strv_free(v[i].names);
        img_manifest_free(v[i].m);
    }
    free(v);
}

/* Merges items of the same image, reads each manifest and checks every blob is stored. */
static int save_plan(struct img_store *s, const struct img_save_item *items, size_t n,
                     struct save_image **out, size_t *n_out, char ***blobs, struct berr **err)
{
    struct save_image *v = xcalloc(n ? n : 1, sizeof(*v));
    size_t nv = 0;
    *blobs = xcalloc(1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const struct img_record *rec = items[i].rec;
        size_t j = 0;
        while (j < nv && strcmp(v[j].rec->id, rec->id) != 0)
            j++;
        if (j == nv) {
            v[nv].rec = rec;
            v[nv++].names = xcalloc(1, sizeof(char *));
        }
        for (size_t k = 0; items[i].names && items[i].names[k]; k++)
            img_strv_add_unique(&v[j].names, items[i].names[k]);
    }
    for (size_t i = 0; i < nv; i++) {
        const struct img_record *rec = v[i].rec;
        char sid[13];
        size_t len = 0;
        _cleanup_free_ char *body = img_blob_read(s, rec->manifest, IMG_MANIFEST_MAX, &len, err);
        if (body == NULL ||
            img_manifest_parse(rec->manifest_media_type, body, len, &v[i].m, err) < 0) {
            berr_wrap(err, "image %s: manifest", img_short_id(rec->id, sid));
            goto fail;
        }
        v[i].manifest_size = (int64_t)len;
        img_strv_add_unique(blobs, rec->manifest);
        img_strv_add_unique(blobs, v[i].m->config.digest);
        for (size_t k = 0; k < v[i].m->n_layers; k++) {
            const char *d = v[i].m->layers[k].digest;
            if (!img_blob_exists(s, d)) {
                berr_set(err, ENOENT,
                         "image %s: layer %s is missing from the store; pull or load the image "
                         "again",
                         img_short_id(rec->id, sid), d);
                goto fail;
            }
            img_strv_add_unique(blobs, d);
        }
        if (!img_blob_exists(s, v[i].m->config.digest)) {
            berr_set(err, ENOENT, "image %s: config %s is missing from the store",
                     img_short_id(rec->id, sid), v[i].m->config.digest);
            goto fail;
        }
    }
    *out = v;
    *n_out = nv;
    return 0;
fail:
    save_images_free(v, nv);
    strv_freep(blobs);
    return -1;
}

/* index.json, manifest.json and repositories for the planned images. */
static void save_metadata(const struct save_image *v, size_t n, char **index, char **manifest,
                          char **repos)
{
    json_t *descs = json_array(), *docker = json_array(), *repositories = json_object();
    for (size_t i = 0; i < n; i++) {
        const struct img_manifest *m = v[i].m;
        json_t *tags = json_array(), *layers = json_array();
        for (size_t k = 0; k < m->n_layers; k++) {
            _cleanup_free_ char *member = blob_member(m->layers[k].digest);
            json_array_append_new(layers, json_string(member));
        }
        size_t n_names = strv_length(v[i].names);
        for (size_t k = 0; k == 0 || k < n_names; k++) {
            json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", m->media_type, "digest",
                                  v[i].rec->manifest, "size", (json_int_t)v[i].manifest_size);
            _cleanup_ref_ struct img_ref *ref = NULL;
            if (n_names > 0 && img_ref_parse(v[i].names[k], &ref, NULL) == 0) {
                _cleanup_free_ char *full = img_ref_string(ref);
                _cleanup_free_ char *familiar = img_ref_familiar(ref);
                _cleanup_free_ char *repo = img_ref_familiar_repo(ref);
                json_object_set_new(d, "annotations",
                                    json_pack("{s:s, s:s}", ANN_IMAGE_NAME, full, ANN_REF_NAME,
                                              ref->tag ? ref->tag : IMG_REF_DEFAULT_TAG));
                json_array_append_new(tags, json_string(familiar));
                if (ref->tag && m->n_layers > 0) {
                    json_t *r = json_object_get(repositories, repo);
                    if (r == NULL)
                        json_object_set_new(repositories, repo, r = json_object());
                    const char *top = m->layers[m->n_layers - 1].digest;
                    json_object_set_new(r, ref->tag, json_string(img_digest_hex(top)));
                }
            }
            json_array_append_new(descs, d);
        }
        _cleanup_free_ char *cfg = blob_member(m->config.digest);
        json_array_append_new(docker, json_pack("{s:s, s:o, s:o}", "Config", cfg, "RepoTags", tags,
                                                "Layers", layers));
    }
    json_t *ix = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", IMG_MT_OCI_INDEX,
                           "manifests", descs);
    *index = json_dumps(ix, JSON_COMPACT);
    *manifest = json_dumps(docker, JSON_COMPACT);
    *repos = json_object_size(repositories) ? json_dumps(repositories, JSON_COMPACT) : NULL;
    json_decref(ix);
    json_decref(docker);
    json_decref(repositories);
}

int img_save(struct img_store *s, const struct img_save_item *items, size_t n, int out_fd,
             struct berr **err)
{
    if (n == 0)
        return berr_set(err, EINVAL, "save: no images given");
    /* Blobs must not be collected while they are being copied out. */
    _cleanup_close_ int lease = img_gc_lease(s, err);
    if (lease < 0)
        return -1;
    struct save_image *v = NULL;
    size_t nv = 0;
    _cleanup_strv_ char **blobs = NULL;
    if (save_plan(s, items, n, &v, &nv, &blobs, err) < 0)
        return -1;
    _cleanup_free_ char *index = NULL, *manifest = NULL, *repos = NULL;
    save_metadata(v, nv, &index, &manifest, &repos);
    save_images_free(v, nv);

    _cleanup_awrite_ struct archive *a = archive_write_new();
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open_fd(a, out_fd) != ARCHIVE_OK)
        return berr_set(err, archive_errno(a) > 0 ? archive_errno(a) : EIO, "save: %s",
                        archive_error_string(a));
    if (write_header(a, "blobs/", AE_IFDIR, 0, err) < 0)
        return -1;
    static const char *const algos[] = {"sha256", "sha512"};
    for (size_t k = 0; k < ARRAY_SIZE(algos); k++) {
        bool used = false;
        for (size_t i = 0; blobs[i] && !used; i++)
            used = strncmp(blobs[i], algos[k], strlen(algos[k])) == 0;
        _cleanup_free_ char *dir = xasprintf("blobs/%s/", algos[k]);
        if (used && write_header(a, dir, AE_IFDIR, 0, err) < 0)
            return -1;
    }
    for (size_t i = 0; blobs[i]; i++) {
        if (write_blob(a, s, blobs[i], err) < 0)
            return berr_wrap(err, "save");
    }
    if (write_buf(a, "index.json", index, err) < 0 ||
        write_buf(a, "manifest.json", manifest, err) < 0 ||
        write_buf(a, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", err) < 0 ||
        (repos && write_buf(a, "repositories", repos, err) < 0))
        return berr_wrap(err, "save");
    if (archive_write_close(a) != ARCHIVE_OK)
        return berr_set(err, archive_errno(a) > 0 ? archive_errno(a) : EIO, "save: %s",
                        archive_error_string(a));
    return 0;
}
