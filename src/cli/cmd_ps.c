/* berth ps (container ls): GET /containers/json rendered with docker's columns, row fields
 * (what --format templates and json see), filters, -q, -n, -l and sizes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/container.h"
#include "cli/format.h"
#include "common/cleanup.h"
#include "common/human.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/ref.h"

#define DEFAULT_FORMAT                                                                             \
    "table "                                                                                       \
    "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

/* Go's strconv.Quote for the command column: printable UTF-8 stays, the rest is escaped. */
static char *go_quote(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        abort();
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        static const char esc[] = "\a\b\f\n\r\t\v";
        static const char letters[] = "abfnrtv";
        const char *e = *p ? strchr(esc, *p) : NULL;
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (e)
            fprintf(f, "\\%c", letters[e - esc]);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
    if (fclose(f) != 0)
        abort();
    return buf;
}

/* docker's Ellipsis: at most max characters, the last one "…" when cut. */
static char *ellipsis(const char *s, int max)
{
    int chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        chars += (*p & 0xc0) != 0x80;
    if (chars <= max)
        return xstrdup(s);
    const unsigned char *p = (const unsigned char *)s;
    for (int kept = 0; *p; p++) {
        if ((*p & 0xc0) != 0x80 && kept++ == max - 1)
            break;
    }
    return xasprintf("%.*s…", (int)((const char *)p - s), s);
}

static const char *after_colon(const char *id)
{
    const char *c = id ? strchr(id, ':') : NULL;
    return c ? c + 1 : (id ? id : "");
}

static char *image_column(json_t *c, bool trunc)
{
    const char *image = json_string_value(json_object_get(c, "Image"));
    const char *image_id = json_string_value(json_object_get(c, "ImageID"));
    if (image == NULL || *image == '\0')
        return xstrdup("<no image>");
    if (!trunc)
        return xstrdup(image);
    if (strncmp(after_colon(image_id), after_colon(image), 12) == 0 &&
        strlen(after_colon(image)) >= 12)
        return xstrndup(after_colon(image), 12);
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (img_ref_parse_repo(image, &ref, NULL) < 0)
        return xstrdup(image);
    free(ref->digest);
    ref->digest = NULL;
    return img_ref_familiar(ref);
}

static char *names_column(json_t *c, bool trunc)
{
    json_t *names = json_object_get(c, "Names");
    _cleanup_strv_ char **out = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        const char *name = json_string_value(n);
        if (name == NULL)
            continue;
        if (*name == '/')
            name++;
        if (trunc) {
            if (strchr(name, '/') == NULL)
                return xstrdup(name);
            continue;
        }
        strv_append(&out, name);
    }
    size_t total = 1;
    for (i = 0; out[i]; i++)
        total += strlen(out[i]) + 1;
    char *joined = xcalloc(1, total);
    for (i = 0; out[i]; i++) {
        if (i)
            strcat(joined, ",");
        strcat(joined, out[i]);
    }
    return joined;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(char **v, const char *sep)
{
    size_t total = 1;
    for (size_t i = 0; v[i]; i++)
        total += strlen(v[i]) + strlen(sep);
    char *out = xcalloc(1, total);
    for (size_t i = 0; v[i]; i++) {
        if (i)
            strcat(out, sep);
        strcat(out, v[i]);
    }
    return out;
}

static char *labels_column(json_t *c)
{
    _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
    const char *k;
    json_t *val;
    json_object_foreach(json_object_get(c, "Labels"), k, val)
    {
        _cleanup_free_ char *kv = xasprintf("%s=%s", k, json_string_value(val) ?: "");
        strv_append(&v, kv);
    }
    qsort(v, strv_length(v), sizeof(char *), by_str);
    return join(v, ",");
}

static char *mounts_column(json_t *c, bool trunc, int *local)
{
    _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *m;
    *local = 0;
    json_array_foreach(json_object_get(c, "Mounts"), i, m)
    {
        const char *name = json_string_value(json_object_get(m, "Name"));
        if (name == NULL || *name == '\0')
            name = json_string_value(json_object_get(m, "Source"));
        _cleanup_free_ char *shown = trunc ? ellipsis(name ?: "", 15) : xstrdup(name ?: "");
        strv_append(&v, shown);
        const char *driver = json_string_value(json_object_get(m, "Driver"));
        if (driver && strcmp(driver, "local") == 0)
            (*local)++;
    }
    return join(v, ",");
}

static char *networks_column(json_t *c)
{
    _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
    const char *k;
    json_t *val;
    json_object_foreach(json_object_get(json_object_get(c, "NetworkSettings"), "Networks"), k, val)
    {
        strv_append(&v, k);
    }
    return join(v, ",");
}

static char *ports_column(json_t *c)
{
    _cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(c, "Ports"), i, p)
    {
        const char *ip = json_string_value(json_object_get(p, "IP"));
        const char *type = json_string_value(json_object_get(p, "Type"));
        json_int_t priv = json_integer_value(json_object_get(p, "PrivatePort"));
        json_int_t pub = json_integer_value(json_object_get(p, "PublicPort"));
        _cleanup_free_ char *s = NULL;
        if (ip && *ip && pub)
            s = xasprintf(strchr(ip, ':') ? "[%s]:%lld->%lld/%s" : "%s:%lld->%lld/%s", ip,
                          (long long)pub, (long long)priv, type ?: "tcp");
        else
            s = xasprintf("%lld/%s", (long long)priv, type ?: "tcp");
        strv_append(&v, s);
    }
    return join(v, ", ");
}

/* One row, keys in docker's order (its JSON output sorts them). */
static json_t *row_for(json_t *c, bool trunc)
{
    char idbuf[65];
    const char *id = cli_short_id(json_string_value(json_object_get(c, "Id")), !trunc, idbuf);
    const char *command = json_string_value(json_object_get(c, "Command"));
    _cleanup_free_ char *cmd_cut = trunc ? ellipsis(command ?: "", 20) : xstrdup(command ?: "");
    _cleanup_free_ char *cmd = go_quote(cmd_cut);
    struct timespec created = {.tv_sec = (time_t)json_integer_value(json_object_get(c, "Created"))};
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    _cleanup_free_ char *created_at = human_time_string(&created);
    _cleanup_free_ char *running_for = human_since(&created, &now);
    _cleanup_free_ char *image = image_column(c, trunc);
    _cleanup_free_ char *names = names_column(c, trunc);
    _cleanup_free_ char *labels = labels_column(c);
    int local = 0;
    _cleanup_free_ char *mounts = mounts_column(c, trunc, &local);
    _cleanup_free_ char *networks = networks_column(c);
    _cleanup_free_ char *ports = ports_column(c);
    _cleanup_free_ char *nlocal = xasprintf("%d", local);
    json_int_t rw = json_integer_value(json_object_get(c, "SizeRw"));
    json_int_t rootfs = json_integer_value(json_object_get(c, "SizeRootFs"));
    _cleanup_free_ char *srw = human_size((double)rw, 3);
    _cleanup_free_ char *sroot = human_size((double)rootfs, 3);
    _cleanup_free_ char *size =
        rootfs > 0 ? xasprintf("%s (virtual %s)", srw, sroot) : xstrdup(srw);
    const char *state = json_string_value(json_object_get(c, "State"));
    const char *status = json_string_value(json_object_get(c, "Status"));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:s, s:s, s:s, s:s, s:s}",
                     "Command", cmd, "CreatedAt", created_at, "ID", id, "Image", image, "Labels",
                     labels, "LocalVolumes", nlocal, "Mounts", mounts, "Names", names, "Networks",
                     networks, "Platform", "Ports", ports, "RunningFor", running_for, "Size", size,
                     "State", state ?: "", "Status", status ?: "");
}

static json_t *filters_of(struct cli *cli)
{
    json_t *filters = json_object();
    char *const *list = cli_list(cli, "filter");
    for (size_t i = 0; list && list[i]; i++) {
        const char *eq = strchr(list[i], '=');
        _cleanup_free_ char *key = xstrndup(list[i], (size_t)(eq - list[i]));
        json_t *vals = json_object_get(filters, key);
        if (vals == NULL) {
            vals = json_object();
            json_object_set_new(filters, key, vals);
        }
        json_object_set_new(vals, eq + 1, json_true());
    }
    return filters;
}

static int run_ps(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct berr *err = NULL;
    bool quiet = cli_bool(cli, "quiet"), trunc = !cli_bool(cli, "no-trunc");
    const char *fmt = cli_string(cli, "format");
    if (*fmt && quiet)
        fprintf(cli->err,
                "WARNING: Ignoring custom format, because both --format and --quiet are set.\n");
    bool size = cli_bool(cli, "size");
    /* docker asks for sizes when the template shows them, unless told not to */
    if (*fmt && !quiet && !size && !cli_changed(cli, "size") && strstr(fmt, ".Size"))
        size = true;
    const char *use = quiet ? "{{.ID}}" : fmt;
    if (!quiet && (*fmt == '\0' || strcmp(fmt, "table") == 0) && size)
        use = DEFAULT_FORMAT "\t{{.Size}}";
    _cleanup_json_ json_t *header = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
        "CONTAINER ID", "Names", "NAMES", "Image", "IMAGE", "Command", "COMMAND", "CreatedAt",
        "CREATED AT", "RunningFor", "CREATED", "Ports", "PORTS", "State", "STATE", "Status",
        "STATUS", "Size", "SIZE", "Labels", "LABELS", "Mounts", "MOUNTS", "LocalVolumes",
        "LOCAL VOLUMES", "Networks", "NETWORKS", "Platform", "PLATFORM");
    _cleanup_(cli_format_freep) struct cli_format *out =
        cli_format_new(use, DEFAULT_FORMAT, header, 0, &err);
    if (out == NULL)
        return cli_fail(cli, err);
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    int64_t last = cli_int(cli, "last");
    if (cli_bool(cli, "latest") && last == -1)
        last = 1;
    _cleanup_json_ json_t *filters = filters_of(cli);
    _cleanup_free_ char *ftext = json_dumps(filters, JSON_COMPACT | JSON_SORT_KEYS);
    _cleanup_free_ char *ef = cli_api_escape(ftext);
    _cleanup_free_ char *limit = last > 0 ? xasprintf("&limit=%lld", (long long)last) : xstrdup("");
    _cleanup_free_ char *path = xasprintf("/containers/json?all=%d&size=%d%s&filters=%s",
                                          cli_bool(cli, "all") ? 1 : 0, size ? 1 : 0, limit, ef);
    _cleanup_json_ json_t *list = NULL;
    if (cli_api_call(api, "GET", path, NULL, &list, &err) < 0)
        return cli_fail(cli, err);
    /* docker's rows marshal themselves, HTML-escaped, before the json template sees them */
    bool json_rows = !quiet && strcmp(fmt, "json") == 0;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        _cleanup_json_ json_t *row = row_for(c, trunc);
        if (json_rows) {
            _cleanup_free_ char *text = cli_json_encode(row, NULL, true);
            fprintf(cli->out, "%s\n", text);
        } else if (cli_format_add(out, row, &err) < 0) {
            return cli_fail(cli, err);
        }
    }
    if (!json_rows)
        cli_format_write(out, cli->out);
    return 0;
}

static const struct cli_flag ps_flags[] = {
    {"all", 'a', CLI_FLAG_BOOL, "Show all containers (default shows just running)"},
    {"filter", 'f', CLI_FLAG_FILTER, "Filter output based on conditions provided",
     .varname = "filter"},
    {"format", 0, CLI_FLAG_STRING,
     "Format output using a custom template:\n'table':            Print output in table format "
     "with column headers (default)\n'table TEMPLATE':   Print output in table format using the "
     "given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print "
     "output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for "
     "more information about formatting output with templates"},
    {"last", 'n', CLI_FLAG_INT, "Show n last created containers (includes all states)", "-1"},
    {"latest", 'l', CLI_FLAG_BOOL, "Show the latest created container (includes all states)"},
    {"no-trunc", 0, CLI_FLAG_BOOL, "Don't truncate output"},
    {"quiet", 'q', CLI_FLAG_BOOL, "Only display container IDs"},
    {"size", 's', CLI_FLAG_BOOL, "Display total file sizes"},
    {NULL},
};

static const char *const ps_aliases[] = {"list", "ps", NULL};

const struct cli_command cli_cmd_ps = {
    .name = "ls",
    .aliases = ps_aliases,
    .usage = "[OPTIONS]",
    .short_desc = "List containers",
    .flags = ps_flags,
    .min_args = 0,
    .max_args = 0,
    .run = run_ps,
};
