/* berth volume create, ls, inspect, rm and prune: the /volumes endpoints of berthd's API with
 * docker's flags, columns, row fields (what --format templates and json see), messages and exit
 * statuses. The daemon validates names, options and filters; its words are shown as they are. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/rows.h"
#include "cli/client.h"
#include "cli/container.h"
#include "cli/format.h"
#include "cli/run_opts.h"
#include "common/cleanup.h"
#include "common/human.h"
#include "common/strv.h"
#include "common/xalloc.h"

#define LS_FORMAT "table {{.Driver}}\t{{.Name}}"

/* "?filters=..." for filters, or "" when there are none (a new string). */
static char *filters_query(json_t *filters, char sep)
{
    if (json_object_size(filters) == 0)
        return xstrdup("");
    _cleanup_free_ char *text = json_dumps(filters, JSON_COMPACT | JSON_SORT_KEYS);
    _cleanup_free_ char *esc = cli_api_escape(text);
    return xasprintf("%cfilters=%s", sep, esc);
}

/* "/volumes/<escaped name><suffix>" (a new string). */
static char *volume_path(const char *name, const char *suffix)
{
    _cleanup_free_ char *esc = cli_api_escape(name);
    return xasprintf("/volumes/%s%s", esc, suffix);
}

static int by_name(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return cli_natural_cmp(json_string_value(json_object_get(x, "Name")) ?: "",
                       json_string_value(json_object_get(y, "Name")) ?: "");
}

/* ---- create ---- */

static int run_create(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    const char *name = cli_string(cli, "name");
    if (argc == 1) {
        if (*name) {
            fprintf(cli->err, "conflicting options: cannot specify a volume-name through both "
                              "--name and as a positional arg\n");
            return 1;
        }
        name = argv[0];
    }
    _cleanup_json_ json_t *labels = json_object();
    char *const *items = cli_list(cli, "label");
    for (size_t i = 0; items && items[i]; i++) {
        const char *eq = strchr(items[i], '=');
        _cleanup_free_ char *key =
            eq ? xstrndup(items[i], (size_t)(eq - items[i])) : xstrdup(items[i]);
        /* as docker's ValidateLabel: the key is what is left between blanks */
        char *k = key;
        while (*k == ' ' || *k == '\t')
            k++;
        size_t n = strlen(k);
        while (n > 0 && (k[n - 1] == ' ' || k[n - 1] == '\t'))
            k[--n] = '\0';
        if (*k == '\0') {
            berr_code(&err, CLI_EFLAGVALUE,
                      "invalid argument \"%s\" for \"--label\" flag: invalid label '%s': empty "
                      "name",
                      items[i], items[i]);
            return cli_run_parse_failed(cli, err);
        }
        json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
    }
    _cleanup_json_ json_t *opts = json_object();
    items = cli_list(cli, "opt");
    for (size_t i = 0; items && items[i]; i++) {
        const char *eq = strchr(items[i], '=');
        _cleanup_free_ char *key =
            eq ? xstrndup(items[i], (size_t)(eq - items[i])) : xstrdup(items[i]);
        json_object_set_new(opts, key, json_string(eq ? eq + 1 : ""));
    }
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    /* docker leaves empty fields out of the request */
    _cleanup_json_ json_t *body = json_object();
    if (*cli_string(cli, "driver"))
        json_object_set_new(body, "Driver", json_string(cli_string(cli, "driver")));
    if (json_object_size(opts))
        json_object_set(body, "DriverOpts", opts);
    if (json_object_size(labels))
        json_object_set(body, "Labels", labels);
    if (*name)
        json_object_set_new(body, "Name", json_string(name));
    _cleanup_json_ json_t *vol = NULL;
    if (cli_api_call(api, "POST", "/volumes/create", body, &vol, &err) < 0)
        return cli_fail(cli, err);
    fprintf(cli->out, "%s\n", json_string_value(json_object_get(vol, "Name")) ?: "");
    return 0;
}

/* ---- ls ---- */

static int run_ls(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct berr *err = NULL;
    bool quiet = cli_bool(cli, "quiet");
    const char *fmt = cli_string(cli, "format");
    /* docker: -q only shortens the default table; a --format of one's own wins */
    const char *use = fmt;
    if (*fmt == '\0' || strcmp(fmt, "table") == 0)
        use = quiet ? "{{.Name}}" : LS_FORMAT;
    else if (strcmp(fmt, "raw") == 0)
        use = quiet ? "name: {{.Name}}" : "name: {{.Name}}\ndriver: {{.Driver}}\n";
    _cleanup_json_ json_t *header =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Name", "VOLUME NAME",
                  "Driver", "DRIVER", "Scope", "SCOPE", "Mountpoint", "MOUNTPOINT", "Labels",
                  "LABELS", "Links", "LINKS", "Size", "SIZE", "Group", "GROUP", "Availability",
                  "AVAILABILITY", "Status", "STATUS");
    _cleanup_(cli_format_freep) struct cli_format *out =
        cli_format_new(use, LS_FORMAT, header, 0, &err);
    if (out == NULL)
        return cli_fail(cli, err);
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_json_ json_t *filters = cli_filters(cli);
    _cleanup_free_ char *query = filters_query(filters, '?');
    _cleanup_free_ char *path = xasprintf("/volumes%s", query);
    _cleanup_json_ json_t *answer = NULL;
    if (cli_api_call(api, "GET", path, NULL, &answer, &err) < 0)
        return cli_fail(cli, err);
    json_t *list = json_object_get(answer, "Volumes");
    size_t n = json_array_size(list);
    _cleanup_free_ json_t **sorted = xcalloc(n + 1, sizeof(json_t *));
    for (size_t i = 0; i < n; i++)
        sorted[i] = json_array_get(list, i);
    qsort(sorted, n, sizeof(json_t *), by_name);
    /* docker's rows marshal themselves, HTML-escaped, before the json template sees them */
    bool json_rows = strcmp(fmt, "json") == 0;
    for (size_t i = 0; i < n; i++) {
        _cleanup_json_ json_t *row = cli_volume_row(sorted[i]);
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

/* ---- inspect ---- */

static int run_inspect(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    const char *fmt = cli_string(cli, "format");
    bool compact = strcmp(fmt, "json") == 0;
    _cleanup_(cli_template_freep) struct cli_template *tmpl = NULL;
    if (*fmt && !compact && (tmpl = cli_template_parse(fmt, &err)) == NULL) {
        berr_wrap(&err, "template parsing error");
        return cli_fail(cli, err);
    }
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_json_ json_t *all = json_array();
    _cleanup_strv_ char **errors = xcalloc(1, sizeof(char *));
    for (int i = 0; i < argc; i++) {
        _cleanup_free_ char *path = volume_path(argv[i], "");
        _cleanup_json_ json_t *vol = NULL;
        if (cli_api_call(api, "GET", path, NULL, &vol, &err) < 0) {
            strv_append(&errors, err->msg);
            berr_free(err);
            err = NULL;
            continue;
        }
        if (tmpl) {
            if (cli_template_exec(tmpl, vol, 0, cli->out, &err) < 0) {
                berr_wrap(&err, "template parsing error");
                return cli_fail(cli, err);
            }
            fputc('\n', cli->out);
        } else {
            json_array_append(all, vol);
        }
    }
    /* as docker: what was found is printed, the errors come after it */
    if (tmpl == NULL) {
        _cleanup_free_ char *text = cli_json_encode(all, compact ? NULL : "    ", true);
        fprintf(cli->out, "%s\n", text);
    }
    for (size_t i = 0; errors[i]; i++)
        fprintf(cli->err, "%s\n", errors[i]);
    return errors[0] ? 1 : 0;
}

/* ---- rm ---- */

static int run_rm(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_strv_ char **errors = xcalloc(1, sizeof(char *));
    const char *suffix = cli_bool(cli, "force") ? "?force=1" : "";
    for (int i = 0; i < argc; i++) {
        _cleanup_free_ char *path = volume_path(argv[i], suffix);
        if (cli_api_call(api, "DELETE", path, NULL, NULL, &err) < 0) {
            strv_append(&errors, err->msg);
            berr_free(err);
            err = NULL;
            continue;
        }
        fprintf(cli->out, "%s\n", argv[i]);
    }
    for (size_t i = 0; errors[i]; i++)
        fprintf(cli->err, "%s\n", errors[i]);
    return errors[0] ? 1 : 0;
}

/* ---- prune ---- */

static int run_prune(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct berr *err = NULL;
    _cleanup_json_ json_t *filters = cli_filters(cli);
    bool all = cli_bool(cli, "all");
    /* Since API 1.42 prune takes anonymous volumes only unless the all filter says otherwise;
     * -a is that filter (and so cannot come with one of its own). */
    if (all) {
        if (json_object_get(filters, "all")) {
            fprintf(cli->err, "conflicting options: cannot specify both --all and --filter "
                              "all=1\n");
            return 1;
        }
        json_object_set_new(filters, "all", json_pack("{s:b}", "true", 1));
    }
    if (!cli_bool(cli, "force") &&
        !cli_confirm(cli, all ? "WARNING! This will remove all local volumes not used by at "
                                "least one container."
                              : "WARNING! This will remove anonymous local volumes not used by "
                                "at least one container."))
        return 0;
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_free_ char *query = filters_query(filters, '?');
    _cleanup_free_ char *path = xasprintf("/volumes/prune%s", query);
    _cleanup_json_ json_t *report = NULL;
    if (cli_api_call(api, "POST", path, NULL, &report, &err) < 0)
        return cli_fail(cli, err);
    json_t *deleted = json_object_get(report, "VolumesDeleted");
    json_int_t reclaimed = 0;
    if (json_array_size(deleted) > 0) {
        fprintf(cli->out, "Deleted Volumes:\n");
        size_t i;
        json_t *v;
        json_array_foreach(deleted, i, v)
        {
            fprintf(cli->out, "%s\n", json_string_value(v) ?: "");
        }
        fputc('\n', cli->out);
        reclaimed = json_integer_value(json_object_get(report, "SpaceReclaimed"));
    }
    _cleanup_free_ char *size = human_size((double)reclaimed, 4);
    fprintf(cli->out, "Total reclaimed space: %s\n", size);
    return 0;
}

/* ---- the commands ---- */

static const struct cli_flag create_flags[] = {
    {"driver", 'd', CLI_FLAG_STRING, "Specify volume driver name", "local"},
    {"label", 0, CLI_FLAG_LIST, "Set metadata for a volume"},
    {"name", 0, CLI_FLAG_STRING, "Specify volume name", .hidden = true},
    {"opt", 'o', CLI_FLAG_LIST, "Set driver specific options", .varname = "map"},
    {NULL},
};

static const struct cli_flag ls_flags[] = {
    {"filter", 'f', CLI_FLAG_FILTER, "Provide filter values (e.g. \"dangling=true\")",
     .varname = "filter"},
    {"format", 0, CLI_FLAG_STRING,
     "Format output using a custom template:\n'table':            Print output in table format "
     "with column headers (default)\n'table TEMPLATE':   Print output in table format using the "
     "given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print "
     "output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for "
     "more information about formatting output with templates"},
    {"quiet", 'q', CLI_FLAG_BOOL, "Only display volume names"},
    {NULL},
};

static const struct cli_flag inspect_flags[] = {
    {"format", 'f', CLI_FLAG_STRING,
     "Format output using a custom template:\n'json':             Print in JSON format\n"
     "'TEMPLATE':         Print output using the given Go template.\nRefer to "
     "https://docs.docker.com/go/formatting/ for more information about formatting output "
     "with templates"},
    {NULL},
};

static const struct cli_flag rm_flags[] = {
    {"force", 'f', CLI_FLAG_BOOL, "Force the removal of one or more volumes"},
    {NULL},
};

static const struct cli_flag prune_flags[] = {
    {"all", 'a', CLI_FLAG_BOOL, "Remove all unused volumes, not just anonymous ones"},
    {"filter", 0, CLI_FLAG_FILTER, "Provide filter values (e.g. \"label=<label>\")",
     .varname = "filter"},
    {"force", 'f', CLI_FLAG_BOOL, "Do not prompt for confirmation"},
    {NULL},
};

static const char *const ls_aliases[] = {"list", NULL};
static const char *const rm_aliases[] = {"remove", NULL};

const struct cli_command cli_cmd_volume_create = {
    .name = "create",
    .usage = "[OPTIONS] [VOLUME]",
    .short_desc = "Create a volume",
    .flags = create_flags,
    .min_args = 0,
    .max_args = 1,
    .run = run_create,
};

const struct cli_command cli_cmd_volume_ls = {
    .name = "ls",
    .aliases = ls_aliases,
    .usage = "[OPTIONS]",
    .short_desc = "List volumes",
    .flags = ls_flags,
    .min_args = 0,
    .max_args = 0,
    .run = run_ls,
};

const struct cli_command cli_cmd_volume_inspect = {
    .name = "inspect",
    .usage = "[OPTIONS] VOLUME [VOLUME...]",
    .short_desc = "Display detailed information on one or more volumes",
    .flags = inspect_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_inspect,
};

const struct cli_command cli_cmd_volume_rm = {
    .name = "rm",
    .aliases = rm_aliases,
    .usage = "[OPTIONS] VOLUME [VOLUME...]",
    .short_desc = "Remove one or more volumes",
    .long_desc = "Remove one or more volumes. You cannot remove a volume that is in use by a "
                 "container.",
    .flags = rm_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_rm,
};

const struct cli_command cli_cmd_volume_prune = {
    .name = "prune",
    .usage = "[OPTIONS]",
    .short_desc = "Remove unused local volumes",
    .flags = prune_flags,
    .min_args = 0,
    .max_args = 0,
    .run = run_prune,
};
