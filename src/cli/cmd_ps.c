/* berth ps (container ls): GET /containers/json rendered with docker's columns, row fields
 * (what --format templates and json see), filters, -q, -n, -l and sizes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/container.h"
#include "cli/format.h"
#include "cli/rows.h"
#include "common/cleanup.h"
#include "common/human.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/ref.h"

#define DEFAULT_FORMAT                                                                             \
    "table "                                                                                       \
    "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

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
    _cleanup_json_ json_t *filters = cli_filters(cli);
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
        _cleanup_json_ json_t *row = cli_ctr_row(c, trunc, true);
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
