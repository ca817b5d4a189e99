/* docker import: turns one rootfs tarball (plain or compressed) into a one-layer image with an
 * OCI config built from the options and --change instructions, and commits it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/archive.h"
#include "image/archive_internal.h"
#include "image/change.h"
#include "image/gc.h"
#include "image/manifest.h"

static struct img_record *record_dup(const struct img_record *r)
{
    struct img_record *c = img_record_new();
    c->id = dup_or_null(r->id);
    c->target = dup_or_null(r->target);
    c->target_media_type = dup_or_null(r->target_media_type);
    c->manifest = dup_or_null(r->manifest);
    c->manifest_media_type = dup_or_null(r->manifest_media_type);
    strv_free(c->names);
    c->names = strv_dup(r->names);
    strv_free(c->repo_digests);
    c->repo_digests = strv_dup(r->repo_digests);
    c->created = dup_or_null(r->created);
    c->os = dup_or_null(r->os);
    c->architecture = dup_or_null(r->architecture);
    c->variant = dup_or_null(r->variant);
    c->size = r->size;
    c->added = r->added;
    c->last_tagged = r->last_tagged;
    c->n_layers = r->n_layers;
    c->layers = xcalloc(r->n_layers ? r->n_layers : 1, sizeof(*c->layers));
    for (size_t i = 0; i < r->n_layers; i++) {
        c->layers[i].digest = dup_or_null(r->layers[i].digest);
        c->layers[i].media_type = dup_or_null(r->layers[i].media_type);
        c->layers[i].size = r->layers[i].size;
        c->layers[i].diff_id = dup_or_null(r->layers[i].diff_id);
        c->layers[i].chain_id = dup_or_null(r->layers[i].chain_id);
    }
    return c;
}

/* RFC 3339 in UTC with nanoseconds, trailing zeros dropped, as Go writes times. */
static char *now_rfc3339(void)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char base[32], frac[16] = "";
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    if (ts.tv_nsec) {
        snprintf(frac, sizeof(frac), ".%09ld", ts.tv_nsec);
        size_t n = strlen(frac);
        while (frac[n - 1] == '0')
            frac[--n] = '\0';
    }
    return xasprintf("%s%sZ", base, frac);
}

/* Copies in_fd into a new blob; head gets its first bytes (for the compression). */
static int import_input(struct img_store *s, int in_fd, char digest[IMG_DIGEST_MAX],
                        unsigned char head[8], size_t *head_len, struct berr **err)
{
    struct img_blob_writer *w = NULL;
    if (img_blob_writer_open(s, NULL, -1, &w, err) < 0)
        return -1;
    _cleanup_free_ char *buf = xmalloc(COPY_BUF);
    uint64_t total = 0;
    *head_len = 0;
    for (;;) {
        ssize_t n = read(in_fd, buf, COPY_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            berr_sys(err, "import: read the input");
            img_blob_writer_abort(w, false);
            return -1;
        }
        if (n == 0)
            break;
        while (*head_len < 8 && *head_len < total + (uint64_t)n) {
            head[*head_len] = (unsigned char)buf[*head_len - total];
            (*head_len)++;
        }
        total += (uint64_t)n;
        if (img_blob_writer_write(w, buf, (size_t)n, err) < 0) {
            img_blob_writer_abort(w, false);
            return -1;
        }
    }
    if (total == 0) {
        img_blob_writer_abort(w, false);
        return berr_set(err, EINVAL,
                        "import: the input is empty: give a tar archive of a root "
                        "filesystem");
    }
    return img_blob_writer_commit(w, digest, err);
}

static json_t *import_config(const struct img_import_opts *o, const struct img_platform *p,
                             json_t *container, const char *diff_id)
{
    _cleanup_free_ char *now = now_rfc3339();
    _cleanup_free_ char *comment =
        o->message && *o->message
            ? xstrdup(o->message)
            : xasprintf("Imported from %s", o->source_label ? o->source_label : "-");
    json_t *cfg = json_pack("{s:s, s:s}", "architecture", p->architecture, "os", p->os);
    if (p->variant)
        json_object_set_new(cfg, "variant", json_string(p->variant));
    json_object_set(cfg, "config", container);
    json_object_set_new(cfg, "created", json_string(now));
    json_object_set_new(cfg, "history",
                        json_pack("[{s:s, s:s}]", "created", now, "comment", comment));
    json_object_set_new(cfg, "rootfs",
                        json_pack("{s:s, s:[s]}", "type", "layers", "diff_ids", diff_id));
    return cfg;
}

static int import_platform(const struct img_import_opts *o, struct img_platform **out,
                           struct berr **err)
{
    _cleanup_platform_ struct img_platform *host = img_platform_host();
    /* Only the host's architecture: its amd64 level is not something a rootfs declares. */
    const char *arch = o->platform_arch ? o->platform_arch : host->architecture;
    const char *variant = o->platform_variant;
    _cleanup_free_ char *spec = xasprintf("%s/%s%s%s", o->platform_os ? o->platform_os : "linux",
                                          arch, variant ? "/" : "", variant ? variant : "");
    if (img_platform_parse(spec, out, err) < 0)
        return berr_wrap(err, "import: platform");
    return 0;
}

int img_import(struct img_store *s, struct img_snapshotter *sn, int in_fd,
               const struct img_import_opts *o, struct img_record **out, struct berr **err)
{
    /* Everything the user typed is checked before the input is read. */
    _cleanup_platform_ struct img_platform *p = NULL;
    if (import_platform(o, &p, err) < 0)
        return -1;
    _cleanup_strv_ char **names = xcalloc(1, sizeof(char *));
    if (o->name && img_archive_add_name(&names, o->name, err) < 0)
        return berr_wrap(err, "import");
    _cleanup_json_ json_t *container = json_object();
    if (img_changes_apply(container, o->changes, err) < 0)
        return berr_wrap(err, "import: --change");
    _cleanup_close_ int lease = img_gc_lease(s, err);
    if (lease < 0)
        return -1;
    char blob[IMG_DIGEST_MAX], diff[IMG_DIGEST_MAX];
    unsigned char head[8];
    size_t head_len = 0;
    if (import_input(s, in_fd, blob, head, &head_len, err) < 0)
        return -1;
    enum comp comp = sniff(head, head_len);
    if (comp == COMP_XZ || comp == COMP_BZIP2) {
        if (img_archive_store_decompressed(s, blob, diff, err) < 0)
            return berr_wrap(err, "import");
        comp = COMP_NONE;
    } else if (comp == COMP_NONE) {
        snprintf(diff, sizeof(diff), "%s", blob);
    } else if (img_archive_layer_tar_stream(s, blob, NULL, diff, err) < 0) {
        return berr_wrap(err, "import");
    }
    if (!img_snap_exists(sn, diff)) {
        _cleanup_close_ int fd = img_blob_open(s, blob, err);
        if (fd < 0 || img_snap_unpack(sn, NULL, diff, diff, fd, NULL, err) < 0)
            return berr_wrap(err, "import: the input is not a usable tar archive");
    }
    _cleanup_record_ struct img_record *rec = img_record_new();
    _cleanup_json_ json_t *cfg = import_config(o, p, container, diff);
    _cleanup_free_ char *cfg_text = json_dumps(cfg, JSON_COMPACT);
    char cfg_digest[IMG_DIGEST_MAX], man_digest[IMG_DIGEST_MAX];
    if (img_blob_put(s, cfg_text, strlen(cfg_text), NULL, cfg_digest, err) < 0)
        return -1;
    rec->id = xstrdup(cfg_digest);
    rec->n_layers = 1;
    rec->layers = xcalloc(1, sizeof(*rec->layers));
    rec->layers[0] = (struct img_layer_info){
        .digest = xstrdup(blob),
        .media_type = xstrdup(comp_media_type(comp)),
        .diff_id = xstrdup(diff),
        .chain_id = xstrdup(diff),
    };
    img_blob_stat(s, blob, &rec->layers[0].size);
    if (img_archive_synth_manifest(s, rec, (int64_t)strlen(cfg_text), man_digest, err) < 0)
        return -1;
    rec->manifest = xstrdup(man_digest);
    rec->manifest_media_type = xstrdup(IMG_MT_OCI_MANIFEST);
    rec->target = xstrdup(man_digest);
    rec->target_media_type = xstrdup(IMG_MT_OCI_MANIFEST);
    rec->created = xstrdup(json_string_value(json_object_get(cfg, "created")));
    rec->os = xstrdup(p->os);
    rec->architecture = xstrdup(p->architecture);
    rec->variant = dup_or_null(p->variant);
    int64_t size = img_snap_size(sn, diff);
    rec->size = size > 0 ? size : 0;
    strv_free(rec->names);
    rec->names = steal_ptr(&names);
    if (rec->names[0])
        rec->last_tagged = time(NULL);
    struct img_db *db = NULL;
    struct img_record *stored = NULL;
    if (img_archive_commit_records(s, &rec, 1, &db, &stored, err) < 0)
        return -1;
    if (out)
        *out = record_dup(stored);
    img_db_free(db);
    return 0;
}
