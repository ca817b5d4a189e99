/* berth system df: GET /system/df as docker shows it: one summary row each for images,
 * containers, local volumes and the build cache (what is active, what could be reclaimed), or
 * with -v a section of rows for each, and --format over either. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/rows.h"
#include "cli/client.h"
#include "cli/container.h"
#include "cli/format.h"
#include "common/cleanup.h"
#include "common/human.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/ref.h"

#define DF_FORMAT "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
#define DF_RAW_FORMAT                                                                              \
    "type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\n"              \
    "reclaimable: {{.Reclaimable}}\n"
#define IMAGES_FORMAT                                                                              \
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t"    \
    "{{.UniqueSize}}\t{{.Containers}}"
#define CONTAINERS_FORMAT                                                                          \
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t"     \
    "{{.Status}}\t{{.Names}}"
/* docker's raw format of -v: each kind's own raw format under a "type:" line */
#define VERBOSE_RAW_FORMAT                                                                         \
    "{{range .Images}}type: Image\nrepository: {{ .Repository }}\ntag: {{.Tag}}\n"                 \
    "digest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\n"                         \
    "virtual_size: {{.Size}}\n\n{{end -}}\n"                                                       \
    "{{range .Containers}}type: Container\ncontainer_id: {{.ID}}\nimage: {{.Image}}\n"             \
    "command: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\n"             \
    "status: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\n"            \
    "ports: {{- pad .Ports 1 0}}\nsize: {{.Size}}\n\n{{end -}}\n"                                  \
    "{{range .Volumes}}type: Volume\nname: {{.Name}}\ndriver: {{.Driver}}\n\n{{end -}}\n"          \
    "{{range .BuildCache}}type: Build Cache\nbuild_cache_id: {{.ID}}\nparent_id: {{.Parent}}\n"    \
    "build_cache_type: {{.CacheType}}\ndescription: {{.Description}}\n"                            \
    "created_at: {{.CreatedAt}}\ncreated_since: {{.CreatedSince}}\n"                               \
    "last_used_at: {{.LastUsedAt}}\nlast_used_since: {{.LastUsedSince}}\n"                         \
    "usage_count: {{.UsageCount}}\nin_use: {{.InUse}}\nshared: {{.Shared}}\n\n{{end -}}"
#define VOLUMES_FORMAT "table {{.Name}}\t{{.Links}}\t{{.Size}}"
#define CACHE_FORMAT                                                                               \
    "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t"            \
    "{{.UsageCount}}\t{{.Shared}}"

static json_int_t int_of(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static const char *str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* go-units' HumanSize (four significant digits) of n bytes. */
static char *size4(json_int_t n)
{
    return human_size((double)n, 4);
}

/* "1.2GB (40%)", or without the share when there is nothing in all. */
static char *reclaimable_text(json_int_t reclaimable, json_int_t total)
{
    _cleanup_free_ char *r = size4(reclaimable);
    if (total > 0)
        return xasprintf("%s (%lld%%)", r, (long long)(reclaimable * 100 / total));
    return xstrdup(r);
}

static json_t *summary_row(const char *type, size_t total, size_t active, char *size,
                           char *reclaimable)
{
    json_t *row = json_pack("{s:o, s:s, s:s, s:o, s:s}", "Active", json_sprintf("%zu", active),
                            "Reclaimable", reclaimable, "Size", size, "TotalCount",
                            json_sprintf("%zu", total), "Type", type);
    free(size);
    free(reclaimable);
    return row;
}

/* ---- the summary: docker's diskUsage*Context ---- */

static json_t *images_summary(json_t *df)
{
    json_t *images = json_object_get(df, "Images");
    json_int_t total = int_of(df, "LayersSize"), used = 0;
    size_t active = 0, i;
    json_t *img;
    json_array_foreach(images, i, img)
    {
        json_int_t containers = int_of(img, "Containers");
        active += containers > 0;
        /* what images in use hold alone; shared layers count as reclaimable, as docker has it */
        if (containers != 0 && int_of(img, "Size") != -1 && int_of(img, "SharedSize") != -1)
            used += int_of(img, "Size") - int_of(img, "SharedSize");
    }
    return summary_row("Images", json_array_size(images), active, size4(total),
                       reclaimable_text(total - used, total));
}

static bool container_active(json_t *c)
{
    const char *state = str_of(c, "State");
    return strstr(state, "running") || strstr(state, "paused") || strstr(state, "restarting");
}

static json_t *containers_summary(json_t *df)
{
    json_t *ctrs = json_object_get(df, "Containers");
    json_int_t size = 0, reclaimable = 0;
    size_t active = 0, i;
    json_t *c;
    json_array_foreach(ctrs, i, c)
    {
        size += int_of(c, "SizeRw");
        if (container_active(c))
            active++;
        else
            reclaimable += int_of(c, "SizeRw");
    }
    return summary_row("Containers", json_array_size(ctrs), active, size4(size),
                       reclaimable_text(reclaimable, size));
}

static json_t *volumes_summary(json_t *df)
{
    json_t *vols = json_object_get(df, "Volumes");
    json_int_t size = 0, reclaimable = 0;
    size_t active = 0, i;
    json_t *v;
    json_array_foreach(vols, i, v)
    {
        json_t *usage = json_object_get(v, "UsageData");
        json_int_t refs = int_of(usage, "RefCount"), sz = int_of(usage, "Size");
        active += refs > 0;
        /* -1: the size is unknown (a volume with mount options) */
        if (sz == -1)
            continue;
        size += sz;
        if (refs == 0)
            reclaimable += sz;
    }
    return summary_row("Local Volumes", json_array_size(vols), active, size4(size),
                       reclaimable_text(reclaimable, size));
}

/* The build cache's size: what its records do not share. */
static json_int_t cache_size(json_t *df)
{
    json_int_t size = 0;
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(df, "BuildCache"), i, b)
    {
        if (!json_is_true(json_object_get(b, "Shared")))
            size += int_of(b, "Size");
    }
    return size;
}

static json_t *cache_summary(json_t *df)
{
    json_t *cache = json_object_get(df, "BuildCache");
    json_int_t in_use = 0;
    size_t active = 0, i;
    json_t *b;
    json_array_foreach(cache, i, b)
    {
        bool used = json_is_true(json_object_get(b, "InUse"));
        active += used;
        if (used && !json_is_true(json_object_get(b, "Shared")))
            in_use += int_of(b, "Size");
    }
    json_int_t size = cache_size(df);
    return summary_row("Build Cache", json_array_size(cache), active, size4(size),
                       size4(size - in_use));
}

/* ---- -v: rows of each kind ---- */

/* stringid.TruncateID: the hex after any "algo:", cut to 12. */
static char *short_id(const char *id, bool trunc)
{
    const char *colon = strchr(id, ':');
    if (!trunc)
        return xstrdup(id);
    return xstrndup(colon ? colon + 1 : id, 12);
}

static char *since_unix(json_int_t sec)
{
    struct timespec then = {.tv_sec = (time_t)sec}, now;
    clock_gettime(CLOCK_REALTIME, &now);
    return human_since(&then, &now);
}

static json_t *image_row(json_t *img, bool trunc)
{
    _cleanup_free_ char *repo = xstrdup("<none>"), *tag = xstrdup("<none>");
    const char *first = json_string_value(json_array_get(json_object_get(img, "RepoTags"), 0));
    _cleanup_ref_ struct img_ref *ref = NULL;
    /* the first name only, and only a name with a tag */
    if (first && strcmp(first, "<none>:<none>") != 0 &&
        img_ref_parse_repo(first, &ref, NULL) == 0 && ref->tag) {
        free(repo);
        free(tag);
        repo = img_ref_familiar_repo(ref);
        tag = xstrdup(ref->tag);
    }
    json_int_t size = int_of(img, "Size"), shared = int_of(img, "SharedSize");
    json_int_t containers = int_of(img, "Containers");
    struct timespec created = {.tv_sec = (time_t)int_of(img, "Created")};
    _cleanup_free_ char *created_at = human_time_string(&created);
    _cleanup_free_ char *since = since_unix(int_of(img, "Created"));
    _cleanup_free_ char *id = short_id(str_of(img, "Id"), trunc);
    _cleanup_free_ char *sz = human_size((double)size, 3);
    _cleanup_free_ char *shared_s = shared == -1 ? xstrdup("N/A") : size4(shared);
    _cleanup_free_ char *unique =
        size == -1 || shared == -1 ? xstrdup("N/A") : size4(size - shared);
    _cleanup_free_ char *virt = size4(size);
    _cleanup_free_ char *ctrs =
        containers == -1 ? xstrdup("N/A") : xasprintf("%lld", (long long)containers);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Containers", ctrs,
                     "CreatedAt", created_at, "CreatedSince", since, "Digest", "", "ID", id,
                     "Repository", repo, "SharedSize", shared_s, "Size", sz, "Tag", tag,
                     "UniqueSize", unique, "VirtualSize", virt);
}

/* An RFC 3339 time of a build cache record: Go's String() of it and how long ago, or "" for
 * both when it is missing. */
static void cache_time(json_t *b, const char *key, char **at, char **since)
{
    struct timespec t, now;
    if (human_parse_time(str_of(b, key), &t, NULL) < 0) {
        *at = xstrdup("");
        *since = xstrdup("");
        return;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    *at = human_time_string(&t);
    *since = human_since(&t, &now);
}

static json_t *cache_row(json_t *b, bool trunc)
{
    _cleanup_free_ char *base = short_id(str_of(b, "ID"), trunc);
    bool in_use = json_is_true(json_object_get(b, "InUse"));
    _cleanup_free_ char *id = xasprintf("%s%s", base, in_use ? "*" : "");
    json_t *parents = json_object_get(b, "Parents");
    _cleanup_strv_ char **pv = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *p;
    json_array_foreach(parents, i, p)
    {
        strv_append(&pv, json_string_value(p) ?: "");
    }
    _cleanup_free_ char *all = pv[0] ? cli_join(pv, ", ") : xstrdup(str_of(b, "Parent"));
    _cleanup_free_ char *parent = short_id(all, trunc);
    _cleanup_free_ char *created_at = NULL, *created_since = NULL, *used_at = NULL,
                        *used_since = NULL;
    cache_time(b, "CreatedAt", &created_at, &created_since);
    cache_time(b, "LastUsedAt", &used_at, &used_since);
    _cleanup_free_ char *size = human_size((double)int_of(b, "Size"), 3);
    _cleanup_free_ char *usage = xasprintf("%lld", (long long)int_of(b, "UsageCount"));
    bool shared = json_is_true(json_object_get(b, "Shared"));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "CacheType",
                     str_of(b, "Type"), "CreatedAt", created_at, "CreatedSince", created_since,
                     "Description", str_of(b, "Description"), "ID", id, "InUse",
                     in_use ? "true" : "false", "LastUsedAt", used_at, "LastUsedSince", used_since,
                     "Parent", parent, "Shared", shared ? "true" : "false", "Size", size,
                     "UsageCount", usage);
}

typedef json_t *(*row_fn)(json_t *item, bool trunc);

static json_t *image_row_fn(json_t *i, bool t)
{
    return image_row(i, t);
}
static json_t *container_row_fn(json_t *i, bool t)
{
    return cli_ctr_row(i, t, false);
}
static json_t *volume_row_fn(json_t *i, bool t)
{
    (void)t;
    return cli_volume_row(i);
}
static json_t *cache_row_fn(json_t *i, bool t)
{
    return cache_row(i, t);
}

static const struct section {
    const char *key;   /* in the answer, and in the data a -v template sees */
    const char *title; /* NULL: the build cache's line, which carries its size */
    const char *format;
    row_fn row;
} sections[] = {
    {"Images", "Images space usage:", IMAGES_FORMAT, image_row_fn},
    {"Containers", "Containers space usage:", CONTAINERS_FORMAT, container_row_fn},
    {"Volumes", "Local Volumes space usage:", VOLUMES_FORMAT, volume_row_fn},
    {"BuildCache", NULL, CACHE_FORMAT, cache_row_fn},
};

static json_t *section_header(void)
{
    static const char *const titles[][2] = {
        {"Repository", "REPOSITORY"},
        {"Tag", "TAG"},
        {"CreatedSince", "CREATED"},
        {"Size", "SIZE"},
        {"SharedSize", "SHARED SIZE"},
        {"UniqueSize", "UNIQUE SIZE"},
        {"Containers", "CONTAINERS"},
        {"Digest", "DIGEST"},
        {"Image", "IMAGE"},
        {"Command", "COMMAND"},
        {"LocalVolumes", "LOCAL VOLUMES"},
        {"RunningFor", "CREATED"},
        {"Status", "STATUS"},
        {"Names", "NAMES"},
        {"Name", "VOLUME NAME"},
        {"Links", "LINKS"},
        {"CacheType", "CACHE TYPE"},
        {"LastUsedSince", "LAST USED"},
        {"UsageCount", "USAGE"},
        {"Shared", "SHARED"},
    };
    json_t *h = json_object();
    for (size_t i = 0; i < ARRAY_SIZE(titles); i++)
        json_object_set_new(h, titles[i][0], json_string(titles[i][1]));
    return h;
}

/* The -v tables, each under its title, with docker's column names. */
static int verbose_tables(struct cli *cli, json_t *df, struct berr **err)
{
    _cleanup_json_ json_t *header = section_header();
    static const char *const ids[] = {"IMAGE ID", "CONTAINER ID", "ID", "CACHE ID"};
    for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
        json_object_set_new(header, "ID", json_string(ids[s]));
        _cleanup_(cli_format_freep) struct cli_format *out =
            cli_format_new(sections[s].format, NULL, header, 0, err);
        if (out == NULL)
            return -1;
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(df, sections[s].key), i, item)
        {
            _cleanup_json_ json_t *row = sections[s].row(item, true);
            if (cli_format_add(out, row, err) < 0)
                return -1;
        }
        if (sections[s].title) {
            fprintf(cli->out, "%s%s\n\n", s ? "\n" : "", sections[s].title);
        } else {
            _cleanup_free_ char *size = size4(cache_size(df));
            fprintf(cli->out, "\nBuild cache usage: %s\n\n", size);
        }
        cli_format_write(out, cli->out);
    }
    return 0;
}

/* -v with a format of one's own: the template runs once, on every kind's rows. */
static int verbose_template(struct cli *cli, json_t *df, const char *fmt, struct berr **err)
{
    _cleanup_json_ json_t *data = json_object();
    for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
        json_t *rows = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(df, sections[s].key), i, item)
        {
            json_array_append_new(rows, sections[s].row(item, false));
        }
        json_object_set_new(data, sections[s].key, rows);
    }
    /* docker's rows marshal themselves, HTML-escaped; no newline follows, as with docker */
    if (strcmp(fmt, "json") == 0) {
        _cleanup_free_ char *text = cli_json_encode(data, NULL, true);
        fputs(text, cli->out);
        return 0;
    }
    if (strcmp(fmt, "raw") == 0)
        fmt = VERBOSE_RAW_FORMAT;
    else if (strncmp(fmt, "table", 5) == 0)
        fmt += 5;
    _cleanup_(cli_format_freep) struct cli_format *out = cli_format_new(fmt, NULL, NULL, 0, err);
    if (out == NULL || cli_format_add(out, data, err) < 0)
        return -1;
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m == NULL)
        abort();
    cli_format_write(out, m);
    if (fclose(m) != 0)
        abort();
    /* cli_format_add ended the text with a newline of its own */
    fwrite(buf, 1, len > 0 ? len - 1 : 0, cli->out);
    return 0;
}

static int run_df(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct berr *err = NULL;
    const char *fmt = cli_string(cli, "format");
    bool verbose = cli_bool(cli, "verbose");
    _cleanup_(cli_format_freep) struct cli_format *out = NULL;
    if (!verbose) {
        _cleanup_json_ json_t *header =
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "Type", "TYPE", "TotalCount", "TOTAL", "Active",
                      "ACTIVE", "Size", "SIZE", "Reclaimable", "RECLAIMABLE");
        out = cli_format_new(strcmp(fmt, "raw") == 0 ? DF_RAW_FORMAT : fmt, DF_FORMAT, header, 0,
                             &err);
        if (out == NULL)
            return cli_fail(cli, err);
    }
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_json_ json_t *df = NULL;
    if (cli_api_call(api, "GET", "/system/df", NULL, &df, &err) < 0)
        return cli_fail(cli, err);
    if (verbose) {
        int rc = *fmt == '\0' || strcmp(fmt, "table") == 0 ? verbose_tables(cli, df, &err)
                                                           : verbose_template(cli, df, fmt, &err);
        return rc < 0 ? cli_fail(cli, err) : 0;
    }
    json_t *rows[] = {images_summary(df), containers_summary(df), volumes_summary(df),
                      cache_summary(df)};
    int r = 0;
    bool json_rows = strcmp(fmt, "json") == 0;
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        if (json_rows) {
            _cleanup_free_ char *text = cli_json_encode(rows[i], NULL, true);
            fprintf(cli->out, "%s\n", text);
        } else if (r == 0) {
            r = cli_format_add(out, rows[i], &err);
        }
        json_decref(rows[i]);
    }
    if (r < 0)
        return cli_fail(cli, err);
    if (!json_rows)
        cli_format_write(out, cli->out);
    return 0;
}

static const struct cli_flag df_flags[] = {
    {"format", 0, CLI_FLAG_STRING,
     "Format output using a custom template:\n'table':            Print output in table format "
     "with column headers (default)\n'table TEMPLATE':   Print output in table format using the "
     "given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print "
     "output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for "
     "more information about formatting output with templates"},
    {"verbose", 'v', CLI_FLAG_BOOL, "Show detailed information on space usage"},
    {NULL},
};

const struct cli_command cli_cmd_system_df = {
    .name = "df",
    .usage = "[OPTIONS]",
    .short_desc = "Show berth disk usage",
    .flags = df_flags,
    .min_args = 0,
    .max_args = 0,
    .run = run_df,
};
