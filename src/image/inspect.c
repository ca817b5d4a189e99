/* Image inspect objects in Docker's shape, built from an image record and its config blob. The
 * layer paths under GraphDriver mimic what Docker's overlay2 driver reports, so tools that read
 * LowerDir find the unpacked layers. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/inspect.h"
#include "image/manifest.h"
#include "image/ref.h"

/* Stored names are normalised; Docker shows them in their familiar form. */
static json_t *familiar_list(char **names, bool digests)
{
    json_t *a = json_array();
    for (size_t i = 0; names && names[i]; i++) {
        _cleanup_ref_ struct img_ref *r = NULL;
        if (img_ref_parse(names[i], &r, NULL) < 0)
            continue;
        _cleanup_free_ char *s = NULL;
        if (digests && r->digest) {
            _cleanup_free_ char *repo = img_ref_familiar_repo(r);
            s = xasprintf("%s@%s", repo, r->digest);
        } else {
            s = img_ref_familiar(r);
        }
        json_array_append_new(a, json_string(s));
    }
    return a;
}

static const char *str_or(json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : dflt;
}

static json_t *graph_driver(struct img_store *s, struct img_snapshotter *sn,
                            const struct img_record *r)
{
    json_t *data = json_object();
    if (sn && r->n_layers > 0) {
        /* Topmost layer first, as overlayfs lists lower directories. */
        _cleanup_free_ char *lower = xstrdup("");
        for (size_t i = r->n_layers; i-- > 0;) {
            _cleanup_free_ char *p = xasprintf("%s/snapshots/%s/fs", img_store_root(s),
                                               img_digest_hex(r->layers[i].chain_id));
            char *joined = xasprintf("%s%s%s", lower, lower[0] ? ":" : "", p);
            free(lower);
            lower = joined;
        }
        json_object_set_new(data, "LowerDir", json_string(lower));
    }
    return json_pack("{s:o, s:s}", "Data", data, "Name", sn ? img_snap_driver(sn) : "overlay");
}

json_t *img_inspect_json(struct img_store *s, struct img_snapshotter *sn,
                         const struct img_record *r, struct berr **err)
{
    size_t len = 0;
    _cleanup_free_ char *text = img_blob_read(s, r->id, IMG_CONFIG_MAX, &len, err);
    if (text == NULL)
        return NULL;
    _cleanup_config_ struct img_config *cfg = NULL;
    if (img_config_parse(text, len, &cfg, err) < 0)
        return NULL;
    json_t *root = cfg->root;
    json_t *layers = json_array();
    for (size_t i = 0; i < cfg->n_diff_ids; i++)
        json_array_append_new(layers, json_string(cfg->diff_ids[i]));
    json_t *config = cfg->config ? json_deep_copy(cfg->config) : json_object();
    /* Go's zero time stands for "never tagged". */
    char last_tagged[64] = "0001-01-01T00:00:00Z";
    if (r->last_tagged > 0) {
        time_t t = (time_t)r->last_tagged;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(last_tagged, sizeof(last_tagged), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    json_t *o = json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I}", "Id",
                          r->id, "RepoTags", familiar_list(r->names, false), "RepoDigests",
                          familiar_list(r->repo_digests, true), "Parent", "", "Comment",
                          str_or(root, "comment", ""), "Created", str_or(root, "created", ""),
                          "DockerVersion", str_or(root, "docker_version", ""), "Author",
                          str_or(root, "author", ""), "Config", config, "Architecture",
                          str_or(root, "architecture", ""), "Os", str_or(root, "os", ""), "Size",
                          (json_int_t)r->size);
    if (json_object_get(root, "variant"))
        json_object_set(o, "Variant", json_object_get(root, "variant"));
    if (json_object_get(root, "os.version"))
        json_object_set(o, "OsVersion", json_object_get(root, "os.version"));
    json_object_set_new(o, "GraphDriver", graph_driver(s, sn, r));
    json_object_set_new(o, "RootFS", json_pack("{s:s, s:o}", "Type", "layers", "Layers", layers));
    json_object_set_new(o, "Metadata", json_pack("{s:s}", "LastTagTime", last_tagged));
    return o;
}
