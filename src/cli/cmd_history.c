/* berth history: GET /images/{name}/history, an image's build steps, newest first, with the
 * size each step's layer takes, in docker's columns and row fields. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "cli/format.h"
#include "common/cleanup.h"
#include "common/human.h"
#include "common/xalloc.h"

#define HISTORY_FORMAT   "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
#define NON_HUMAN_FORMAT "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
#define CREATED_BY_MAX   45

/* docker's formatter.Ellipsis: at most 45 characters, the last one an ellipsis. */
static char *shorten(const char *s)
{
    size_t chars = 0, i = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80 && ++chars == CREATED_BY_MAX)
            break;
    }
    if (s[i] == '\0')
        return xstrdup(s);
    return xasprintf("%.*s…", (int)i, s);
}

static json_t *row_of(json_t *step, bool human, bool no_trunc)
{
    const char *id = json_string_value(json_object_get(step, "Id")) ?: "";
    const char *colon = strchr(id, ':');
    _cleanup_free_ char *shown_id = no_trunc ? xstrdup(id) : xstrndup(colon ? colon + 1 : id, 12);
    struct timespec created = {.tv_sec =
                                   (time_t)json_integer_value(json_object_get(step, "Created"))},
                    now;
    clock_gettime(CLOCK_REALTIME, &now);
    _cleanup_free_ char *created_at = human_format_time(&created, false, true);
    _cleanup_free_ char *since = human ? human_since(&created, &now) : xstrdup(created_at);
    _cleanup_free_ char *by = xstrdup(json_string_value(json_object_get(step, "CreatedBy")) ?: "");
    for (char *c = by; *c; c++)
        if (*c == '\t')
            *c = ' ';
    if (!no_trunc) {
        char *short_by = shorten(by);
        free(by);
        by = short_by;
    }
    json_int_t size = json_integer_value(json_object_get(step, "Size"));
    _cleanup_free_ char *sz =
        human ? human_size((double)size, 3) : xasprintf("%lld", (long long)size);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "Comment",
                     json_string_value(json_object_get(step, "Comment")) ?: "", "CreatedAt",
                     created_at, "CreatedBy", by, "CreatedSince", since, "ID", shown_id, "Size",
                     sz);
}

static int run_history(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    struct berr *err = NULL;
    bool human = cli_bool(cli, "human"), no_trunc = cli_bool(cli, "no-trunc");
    const char *fmt = cli_string(cli, "format");
    /* as docker: -q and -H=false choose among the tables; a --format of one's own wins */
    if (*fmt == '\0' || strcmp(fmt, "table") == 0)
        fmt = cli_bool(cli, "quiet") ? "{{.ID}}" : human ? HISTORY_FORMAT : NON_HUMAN_FORMAT;
    _cleanup_json_ json_t *header = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "IMAGE", "CreatedSince", "CREATED", "CreatedAt",
        "CREATED AT", "CreatedBy", "CREATED BY", "Size", "SIZE", "Comment", "COMMENT");
    _cleanup_(cli_format_freep) struct cli_format *out =
        cli_format_new(fmt, HISTORY_FORMAT, header, 0, &err);
    if (out == NULL)
        return cli_fail(cli, err);
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_free_ char *path = cli_image_path(argv[0], "/history");
    _cleanup_json_ json_t *steps = NULL;
    if (cli_api_call(api, "GET", path, NULL, &steps, &err) < 0)
        return cli_fail(cli, err);
    size_t i;
    json_t *step;
    json_array_foreach(steps, i, step)
    {
        _cleanup_json_ json_t *row = row_of(step, human, no_trunc);
        if (cli_format_add(out, row, &err) < 0)
            return cli_fail(cli, err);
    }
    cli_format_write(out, cli->out);
    return 0;
}

static const struct cli_flag history_flags[] = {
    {"format", 0, CLI_FLAG_STRING, "Format output using a custom template"},
    {"human", 'H', CLI_FLAG_BOOL, "Print sizes and dates in human readable format", "true"},
    {"no-trunc", 0, CLI_FLAG_BOOL, "Don't truncate output"},
    {"quiet", 'q', CLI_FLAG_BOOL, "Only show image IDs"},
    {NULL},
};

const struct cli_command cli_cmd_history = {
    .name = "history",
    .usage = "[OPTIONS] IMAGE",
    .short_desc = "Show the history of an image",
    .flags = history_flags,
    .min_args = 1,
    .max_args = 1,
    .run = run_history,
};
