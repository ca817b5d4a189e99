/* berth image inspect (and inspect): images in the JSON shape of Docker's
 * GET /images/{name}/json, or through a --format template. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/format.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/manifest.h"
#include "image/ref.h"

static json_t *familiar_list(char **names, bool digests)
{
    json_t *a = json_array();
    for (size_t i = 0; names[i]; i++) {
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

json_t *cli_image_inspect_json(struct cli_images *ci, const struct img_record *r, struct berr **err)
{
    size_t len = 0;
    _cleanup_free_ char *text = img_blob_read(ci->store, r->id, IMG_CONFIG_MAX, &len, err);
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
    json_t *gd = json_object();
    if (ci->sn && r->n_layers > 0) {
        /* Where the layers are, as Docker's overlay2 driver tells it. */
        _cleanup_free_ char *lower = xstrdup("");
        for (size_t i = r->n_layers; i-- > 0;) {
            _cleanup_free_ char *p = xasprintf("%s/snapshots/%s/fs", img_store_root(ci->store),
                                               img_digest_hex(r->layers[i].chain_id));
            char *joined = xasprintf("%s%s%s", lower, lower[0] ? ":" : "", p);
            free(lower);
            lower = joined;
        }
        json_object_set_new(gd, "LowerDir", json_string(lower));
    }
    json_object_set_new(
        o, "GraphDriver",
        json_pack("{s:o, s:s}", "Data", gd, "Name", ci->sn ? img_snap_driver(ci->sn) : "overlay"));
    json_object_set_new(o, "RootFS", json_pack("{s:s, s:o}", "Type", "layers", "Layers", layers));
    json_object_set_new(o, "Metadata", json_pack("{s:s}", "LastTagTime", last_tagged));
    return o;
}

static int run_inspect(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    const char *type = cli_string(cli, "type");
    if (type[0] && strcmp(type, "image") != 0)
        return cli_usage_error(cli, "only images can be inspected for now (--type %s)", type);
    if (cli_string(cli, "platform")[0])
        return cli_usage_error(cli, "--platform is not supported yet: an image holds one "
                                    "platform");
    struct cli_images ci;
    if (cli_images_open(cli, true, &ci, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    if (img_db_load(ci.store, &db, &err) < 0) {
        cli_images_close(&ci);
        return cli_fail(cli, err);
    }
    const char *fmt = cli_string(cli, "format");
    _cleanup_(cli_template_freep) struct cli_template *tmpl = NULL;
    if (fmt[0] && strcmp(fmt, "json") != 0 && (tmpl = cli_template_parse(fmt, &err)) == NULL) {
        cli_images_close(&ci);
        return cli_fail(cli, err);
    }
    _cleanup_json_ json_t *all = json_array();
    int status = 0;
    for (int i = 0; i < argc; i++) {
        struct img_record *r = NULL;
        json_t *o = NULL;
        if (img_db_resolve(db, argv[i], &r, &err) < 0 ||
            (o = cli_image_inspect_json(&ci, r, &err)) == NULL) {
            fprintf(cli->err, "Error: %s\n", err->msg);
            berr_free(err);
            err = NULL;
            status = 1;
            continue;
        }
        if (tmpl) {
            if (cli_template_exec(tmpl, o, CLI_TMPL_MISSING_OK, cli->out, &err) < 0) {
                json_decref(o);
                cli_images_close(&ci);
                return cli_fail(cli, err);
            }
            fputc('\n', cli->out);
            json_decref(o);
        } else {
            json_array_append_new(all, o);
        }
    }
    if (tmpl == NULL) {
        _cleanup_free_ char *text = cli_json_encode(all, "    ", true);
        fprintf(cli->out, "%s\n", text);
    }
    cli_images_close(&ci);
    return status;
}

static const struct cli_flag inspect_flags[] = {
    {"format", 'f', CLI_FLAG_STRING,
     "Format output using a custom template:\n'json':             Print in JSON format\n"
     "'TEMPLATE':         Print output using the given Go template"},
    {"platform", 0, CLI_FLAG_STRING, "Inspect a specific platform of the multi-platform image",
     .hidden = true},
    {"type", 0, CLI_FLAG_STRING, "Only inspect objects of the given type", .hidden = true},
    {"size", 's', CLI_FLAG_BOOL, "Display total file sizes if the type is container",
     .hidden = true},
    {NULL},
};

const struct cli_command cli_cmd_image_inspect = {
    .name = "inspect",
    .usage = "[OPTIONS] IMAGE [IMAGE...]",
    .short_desc = "Display detailed information on one or more images",
    .flags = inspect_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_inspect,
};
