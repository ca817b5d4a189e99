/* berth images (image ls): GET /images/json with docker's filters, one row per name of each image
 * (an image without one shows as <none>), with docker's columns, row fields and --format. The
 * daemon filters and orders (newest first); rows are made as docker's image formatter makes
 * them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/format.h"
#include "cli/rows.h"
#include "common/cleanup.h"
#include "common/human.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/ref.h"

#define DEFAULT_FORMAT "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
#define DIGESTS_FORMAT                                                                             \
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"

/* What every row of one image shows alike. */
struct image_view {
    json_t *img; /* an image summary of the answer (borrowed) */
    bool no_trunc;
};

static json_int_t int_of(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* stringid.TruncateID: no algorithm, 12 digits. */
static char *short_id(const char *id, bool no_trunc)
{
    if (no_trunc)
        return xstrdup(id);
    const char *colon = strchr(id, ':');
    return xstrndup(colon ? colon + 1 : id, 12);
}

/* docker's row: its fields in the order {{json .}} prints them. */
static json_t *row_of(const struct image_view *v, const char *repo, const char *tag,
                      const char *digest)
{
    json_t *img = v->img;
    json_int_t size = int_of(img, "Size"), shared = int_of(img, "SharedSize");
    json_int_t containers = int_of(img, "Containers");
    json_t *vs = json_object_get(img, "VirtualSize");
    struct timespec created = {.tv_sec = (time_t)int_of(img, "Created")}, now;
    clock_gettime(CLOCK_REALTIME, &now);
    _cleanup_free_ char *created_at = human_time_string(&created);
    _cleanup_free_ char *since = human_since(&created, &now);
    _cleanup_free_ char *id =
        short_id(json_string_value(json_object_get(img, "Id")) ?: "", v->no_trunc);
    _cleanup_free_ char *size_s = human_size((double)size, 3);
    _cleanup_free_ char *shared_s = shared == -1 ? xstrdup("N/A") : human_size((double)shared, 3);
    _cleanup_free_ char *unique_s =
        size == -1 || shared == -1 ? xstrdup("N/A") : human_size((double)(size - shared), 3);
    _cleanup_free_ char *virtual_s = human_size((double)(vs ? json_integer_value(vs) : size), 4);
    _cleanup_free_ char *containers_s =
        containers == -1 ? xstrdup("N/A") : xasprintf("%lld", (long long)containers);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Containers",
                     containers_s, "CreatedAt", created_at, "CreatedSince", since, "Digest", digest,
                     "ID", id, "Repository", repo, "SharedSize", shared_s, "Size", size_s, "Tag",
                     tag, "UniqueSize", unique_s, "VirtualSize", virtual_s);
}

/* References grouped by familiar repository, in the order they first appear. */
struct repo_refs {
    char **repos;
    char ***values; /* values[i]: the tags (or digests) of repos[i] */
};

static void refs_add(struct repo_refs *r, const char *repo, const char *value)
{
    size_t n = strv_length(r->repos), i = 0;
    while (i < n && strcmp(r->repos[i], repo) != 0)
        i++;
    if (i == n) {
        strv_append(&r->repos, repo);
        r->values = xreallocarray(r->values, n + 1, sizeof(*r->values));
        r->values[n] = xcalloc(1, sizeof(char *));
    }
    strv_append(&r->values[i], value);
}

static char **refs_get(const struct repo_refs *r, const char *repo)
{
    for (size_t i = 0; r->repos && r->repos[i]; i++)
        if (strcmp(r->repos[i], repo) == 0)
            return r->values[i];
    return NULL;
}

static void refs_clear(struct repo_refs *r)
{
    for (size_t i = 0; r->repos && r->repos[i]; i++)
        strv_free(r->values[i]);
    free(r->values);
    strv_free(r->repos);
}

static bool is_dangling(json_t *tags, json_t *digests)
{
    if (json_array_size(tags) == 0 && json_array_size(digests) == 0)
        return true;
    const char *t = json_string_value(json_array_get(tags, 0));
    const char *d = json_string_value(json_array_get(digests, 0));
    return json_array_size(tags) == 1 && json_array_size(digests) == 1 && t && d &&
           strcmp(t, "<none>:<none>") == 0 && strcmp(d, "<none>@<none>") == 0;
}

/* docker's imageFormatTaggedAndDigest: a row per tag (per tag and digest with --digests), then
 * one for each repository known only by digest. */
static int add_rows(struct cli_format *out, const struct image_view *v, bool show_digests,
                    struct berr **err)
{
    json_t *tags = json_object_get(v->img, "RepoTags");
    json_t *digests = json_object_get(v->img, "RepoDigests");
    if (is_dangling(tags, digests)) {
        _cleanup_json_ json_t *row = row_of(v, "<none>", "<none>", "<none>");
        return cli_format_add(out, row, err);
    }
    struct repo_refs by_tag = {0}, by_digest = {0};
    size_t i;
    json_t *s;
    json_array_foreach(tags, i, s)
    {
        _cleanup_ref_ struct img_ref *r = NULL;
        if (img_ref_parse_repo(json_string_value(s) ?: "", &r, NULL) < 0 || r->tag == NULL)
            continue;
        _cleanup_free_ char *repo = img_ref_familiar_repo(r);
        refs_add(&by_tag, repo, r->tag);
    }
    json_array_foreach(digests, i, s)
    {
        _cleanup_ref_ struct img_ref *r = NULL;
        if (img_ref_parse_repo(json_string_value(s) ?: "", &r, NULL) < 0 || r->digest == NULL)
            continue;
        _cleanup_free_ char *repo = img_ref_familiar_repo(r);
        refs_add(&by_digest, repo, r->digest);
    }
    int ret = 0;
    _cleanup_strv_ char **shown = xcalloc(1, sizeof(char *));
    for (size_t k = 0; ret == 0 && by_tag.repos && by_tag.repos[k]; k++) {
        const char *repo = by_tag.repos[k];
        char **ds = refs_get(&by_digest, repo);
        strv_append(&shown, repo);
        for (size_t t = 0; ret == 0 && by_tag.values[k][t]; t++) {
            const char *tag = by_tag.values[k][t];
            if (!show_digests || ds == NULL) {
                _cleanup_json_ json_t *row = row_of(v, repo, tag, "<none>");
                ret = cli_format_add(out, row, err);
                continue;
            }
            for (size_t d = 0; ret == 0 && ds[d]; d++) {
                _cleanup_json_ json_t *row = row_of(v, repo, tag, ds[d]);
                ret = cli_format_add(out, row, err);
            }
        }
    }
    for (size_t k = 0; ret == 0 && by_digest.repos && by_digest.repos[k]; k++) {
        const char *repo = by_digest.repos[k];
        if (strv_contains(shown, repo))
            continue;
        if (!show_digests) {
            _cleanup_json_ json_t *row = row_of(v, repo, "<none>", "");
            ret = cli_format_add(out, row, err);
            continue;
        }
        for (size_t d = 0; ret == 0 && by_digest.values[k][d]; d++) {
            _cleanup_json_ json_t *row = row_of(v, repo, "<none>", by_digest.values[k][d]);
            ret = cli_format_add(out, row, err);
        }
    }
    refs_clear(&by_tag);
    refs_clear(&by_digest);
    return ret;
}

static int run_images(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    bool quiet = cli_bool(cli, "quiet"), show_digests = cli_bool(cli, "digests");
    const char *fmt = cli_string(cli, "format");
    /* docker: -q shortens the default table only; a --format of one's own wins */
    if (quiet && (*fmt == '\0' || strcmp(fmt, "table") == 0))
        fmt = "{{.ID}}";
    _cleanup_json_ json_t *header = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository", "REPOSITORY",
        "Tag", "TAG", "Digest", "DIGEST", "ID", "IMAGE ID", "CreatedSince", "CREATED", "CreatedAt",
        "CREATED AT", "Size", "SIZE", "VirtualSize", "SIZE", "SharedSize", "SHARED SIZE",
        "UniqueSize", "UNIQUE SIZE", "Containers", "CONTAINERS");
    _cleanup_(cli_format_freep) struct cli_format *out =
        cli_format_new(fmt, show_digests ? DIGESTS_FORMAT : DEFAULT_FORMAT, header, 0, &err);
    if (out == NULL)
        return cli_fail(cli, err);
    _cleanup_json_ json_t *filters = cli_filters(cli);
    if (argc > 0) {
        json_t *refs = json_object_get(filters, "reference");
        if (refs == NULL) {
            refs = json_object();
            json_object_set_new(filters, "reference", refs);
        }
        json_object_set_new(refs, argv[0], json_true());
    }
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_free_ char *text = json_dumps(filters, JSON_COMPACT | JSON_SORT_KEYS);
    _cleanup_free_ char *etext = cli_api_escape(text);
    bool have_filters = json_object_size(filters) > 0;
    _cleanup_free_ char *path =
        xasprintf("/images/json%s%s%s", cli_bool(cli, "all") ? "?all=1" : "",
                  !have_filters          ? ""
                  : cli_bool(cli, "all") ? "&filters="
                                         : "?filters=",
                  have_filters ? etext : "");
    _cleanup_json_ json_t *images = NULL;
    if (cli_api_call(api, "GET", path, NULL, &images, &err) < 0)
        return cli_fail(cli, err);
    if (!json_is_array(images))
        return cli_fail(cli, berr_new(EPROTO, "the daemon's image list is not a JSON array"));
    size_t i;
    json_t *img;
    json_array_foreach(images, i, img)
    {
        struct image_view v = {.img = img, .no_trunc = cli_bool(cli, "no-trunc")};
        if (add_rows(out, &v, show_digests, &err) < 0)
            return cli_fail(cli, err);
    }
    cli_format_write(out, cli->out);
    return 0;
}

static const struct cli_flag images_flags[] = {
    {"all", 'a', CLI_FLAG_BOOL, "Show all images (default hides intermediate images)"},
    {"digests", 0, CLI_FLAG_BOOL, "Show digests"},
    {"filter", 'f', CLI_FLAG_FILTER, "Filter output based on conditions provided",
     .varname = "filter"},
    {"format", 0, CLI_FLAG_STRING,
     "Format output using a custom template:\n'table':            Print output in table format "
     "with column headers (default)\n'table TEMPLATE':   Print output in table format using the "
     "given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print "
     "output using the given Go template"},
    {"no-trunc", 0, CLI_FLAG_BOOL, "Don't truncate output"},
    {"quiet", 'q', CLI_FLAG_BOOL, "Only show image IDs"},
    {NULL},
};

static const char *const images_aliases[] = {"list", NULL};

const struct cli_command cli_cmd_images = {
    .name = "ls",
    .aliases = images_aliases,
    .usage = "[OPTIONS] [REPOSITORY[:TAG]]",
    .short_desc = "List images",
    .flags = images_flags,
    .min_args = 0,
    .max_args = 1,
    .run = run_images,
};
