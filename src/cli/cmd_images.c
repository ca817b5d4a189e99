/* berth images (image ls): one row per name of each image (an image without one shows as
 * <none>), newest first, with docker's columns, filters and --format. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/format.h"
#include "common/human.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/manifest.h"
#include "image/ref.h"

#define DEFAULT_FORMAT "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
#define DIGESTS_FORMAT                                                                             \
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"

struct image_filters {
    int dangling; /* -1: any */
    char **labels;
    char **references;
    time_t before, since; /* 0: none */
    bool have_before, have_since;
};

static void filters_clear(struct image_filters *f)
{
    strv_free(f->labels);
    strv_free(f->references);
}

static time_t created_time(const struct img_record *r)
{
    int64_t sec = 0;
    if (r->created && cli_parse_created(r->created, &sec) == 0)
        return (time_t)sec;
    return 0;
}

static int parse_filters(struct cli *cli, struct img_db *db, struct image_filters *f,
                         struct berr **err)
{
    memset(f, 0, sizeof(*f));
    f->dangling = -1;
    f->labels = xcalloc(1, sizeof(char *));
    f->references = xcalloc(1, sizeof(char *));
    char *const *list = cli_list(cli, "filter");
    for (size_t i = 0; list && list[i]; i++) {
        const char *eq = strchr(list[i], '=');
        _cleanup_free_ char *key = xstrndup(list[i], (size_t)(eq - list[i]));
        const char *val = eq + 1;
        if (strcmp(key, "dangling") == 0) {
            if (strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
                f->dangling = 1;
            else if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
                f->dangling = 0;
            else
                return berr_set(err, EINVAL, "invalid filter 'dangling=%s'", val);
        } else if (strcmp(key, "label") == 0) {
            strv_append(&f->labels, val);
        } else if (strcmp(key, "reference") == 0) {
            strv_append(&f->references, val);
        } else if (strcmp(key, "before") == 0 || strcmp(key, "since") == 0) {
            struct img_record *r = NULL;
            if (img_db_resolve(db, val, &r, err) < 0)
                return -1;
            if (key[0] == 'b') {
                f->before = created_time(r);
                f->have_before = true;
            } else {
                f->since = created_time(r);
                f->have_since = true;
            }
        } else {
            return berr_set(err, EINVAL, "invalid filter '%s'", key);
        }
    }
    return 0;
}

/* The image's labels, from its config. */
static json_t *labels_of(struct img_store *s, const struct img_record *r)
{
    _cleanup_free_ char *text = img_blob_read(s, r->id, IMG_CONFIG_MAX, NULL, NULL);
    if (text == NULL)
        return NULL;
    _cleanup_json_ json_t *root = json_loads(text, 0, NULL);
    json_t *labels = json_object_get(json_object_get(root, "config"), "Labels");
    return json_is_object(labels) ? json_incref(labels) : NULL;
}

static bool label_matches(json_t *labels, const char *want)
{
    const char *eq = strchr(want, '=');
    _cleanup_free_ char *key = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
    json_t *v = json_object_get(labels, key);
    if (v == NULL)
        return false;
    return eq == NULL || (json_is_string(v) && strcmp(json_string_value(v), eq + 1) == 0);
}

/* docker matches reference filters against the familiar name, with and without the tag. */
static bool reference_matches(char **patterns, const char *name)
{
    if (patterns[0] == NULL)
        return true;
    _cleanup_ref_ struct img_ref *r = NULL;
    if (name == NULL || img_ref_parse(name, &r, NULL) < 0)
        return false;
    _cleanup_free_ char *fam = img_ref_familiar(r);
    _cleanup_free_ char *repo = img_ref_familiar_repo(r);
    for (size_t i = 0; patterns[i]; i++) {
        if (fnmatch(patterns[i], fam, FNM_PATHNAME) == 0 ||
            fnmatch(patterns[i], repo, FNM_PATHNAME) == 0)
            return true;
    }
    return false;
}

static bool image_selected(struct img_store *s, const struct img_record *r,
                           const struct image_filters *f)
{
    bool dangling = r->names[0] == NULL;
    if (f->dangling >= 0 && dangling != (f->dangling == 1))
        return false;
    time_t c = created_time(r);
    if (f->have_before && c >= f->before)
        return false;
    if (f->have_since && c <= f->since)
        return false;
    if (f->labels[0]) {
        _cleanup_json_ json_t *labels = labels_of(s, r);
        for (size_t i = 0; f->labels[i]; i++) {
            if (!label_matches(labels, f->labels[i]))
                return false;
        }
    }
    return true;
}

static int by_created_desc(const void *a, const void *b)
{
    const struct img_record *x = *(struct img_record *const *)a;
    const struct img_record *y = *(struct img_record *const *)b;
    time_t cx = created_time(x), cy = created_time(y);
    if (cx != cy)
        return cx < cy ? 1 : -1;
    return strcmp(x->id, y->id);
}

static json_t *row_for(const struct img_record *r, const char *name, bool no_trunc)
{
    _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (name && img_ref_parse(name, &ref, NULL) == 0) {
        repo = img_ref_familiar_repo(ref);
        tag = xstrdup(ref->tag ? ref->tag : "<none>");
    }
    /* The digest shown is the one pulled from this repository. */
    for (size_t i = 0; r->repo_digests[i]; i++) {
        _cleanup_ref_ struct img_ref *d = NULL;
        if (img_ref_parse(r->repo_digests[i], &d, NULL) < 0 || d->digest == NULL)
            continue;
        _cleanup_free_ char *drepo = img_ref_familiar_repo(d);
        if (repo == NULL) {
            repo = xstrdup(drepo);
            tag = xstrdup("<none>");
        }
        if (strcmp(drepo, repo) == 0) {
            digest = xstrdup(d->digest);
            break;
        }
    }
    char sid[13];
    _cleanup_free_ char *size = human_size((double)r->size, 3);
    int64_t sec = 0;
    bool have_created = r->created && cli_parse_created(r->created, &sec) == 0;
    _cleanup_free_ char *since = have_created ? cli_since((time_t)sec) : xstrdup("N/A");
    _cleanup_free_ char *created_at = NULL;
    if (have_created) {
        char buf[64];
        time_t t = (time_t)sec;
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
        created_at = xstrdup(buf);
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository",
                     repo ? repo : "<none>", "Tag", tag ? tag : "<none>", "Digest",
                     digest ? digest : "<none>", "ID", no_trunc ? r->id : img_short_id(r->id, sid),
                     "CreatedSince", since, "CreatedAt", created_at ? created_at : "", "Size", size,
                     "VirtualSize", size, "SharedSize", "N/A", "UniqueSize", "N/A", "Containers",
                     "N/A");
}

static int run_images(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    struct cli_images ci;
    if (cli_images_open(cli, false, &ci, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    struct image_filters f = {0};
    int r = img_db_load(ci.store, &db, &err);
    if (r == 0)
        r = parse_filters(cli, db, &f, &err);
    if (r == 0 && argc > 0)
        strv_append(&f.references, argv[0]);
    if (r < 0) {
        filters_clear(&f);
        cli_images_close(&ci);
        return cli_fail(cli, err);
    }
    bool quiet = cli_bool(cli, "quiet"), no_trunc = cli_bool(cli, "no-trunc");
    bool all = cli_bool(cli, "all");
    (void)all; /* every image is a top-level image: there are no intermediate ones */
    const char *fmt = cli_string(cli, "format");
    if (quiet)
        fmt = "{{.ID}}";
    _cleanup_json_ json_t *header = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository", "REPOSITORY",
        "Tag", "TAG", "Digest", "DIGEST", "ID", "IMAGE ID", "CreatedSince", "CREATED", "CreatedAt",
        "CREATED AT", "Size", "SIZE", "VirtualSize", "SIZE", "SharedSize", "SHARED SIZE",
        "UniqueSize", "UNIQUE SIZE", "Containers", "CONTAINERS");
    _cleanup_(cli_format_freep) struct cli_format *out = cli_format_new(
        fmt, cli_bool(cli, "digests") ? DIGESTS_FORMAT : DEFAULT_FORMAT, header, 0, &err);
    if (out == NULL) {
        filters_clear(&f);
        cli_images_close(&ci);
        return cli_fail(cli, err);
    }
    _cleanup_free_ struct img_record **sorted = xcalloc(db->n + 1, sizeof(*sorted));
    memcpy(sorted, db->v, db->n * sizeof(*sorted));
    qsort(sorted, db->n, sizeof(*sorted), by_created_desc);
    for (size_t i = 0; i < db->n && r == 0; i++) {
        const struct img_record *rec = sorted[i];
        if (!image_selected(ci.store, rec, &f))
            continue;
        size_t n_names = strv_length(rec->names);
        for (size_t j = 0; j < (n_names ? n_names : 1) && r == 0; j++) {
            const char *name = n_names ? rec->names[j] : NULL;
            if (f.references[0] && !reference_matches(f.references, name))
                continue;
            _cleanup_json_ json_t *row = row_for(rec, name, no_trunc);
            r = cli_format_add(out, row, &err);
        }
    }
    filters_clear(&f);
    cli_images_close(&ci);
    if (r < 0)
        return cli_fail(cli, err);
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
