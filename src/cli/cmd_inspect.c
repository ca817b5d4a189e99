/* berth inspect, container inspect and image inspect: what berthd answers to
 * GET /containers/{id}/json and GET /images/{name}/json, as one JSON array or through a --format
 * template. The top-level inspect looks for a container first, then an image, as docker does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "cli/container.h"
#include "cli/format.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

enum kind { ANY, CONTAINER, IMAGE };

struct inspector {
    struct cli *cli;
    enum kind kind;
    struct cli_api *api;
};

/* One object, or NULL with the message docker prints for it. */
static json_t *find(struct inspector *in, const char *name, struct berr **err)
{
    if (in->kind != IMAGE) {
        _cleanup_free_ char *path =
            cli_ctr_path(name, cli_bool(in->cli, "size") ? "/json?size=1" : "/json");
        json_t *o = NULL;
        if (cli_api_call(in->api, "GET", path, NULL, &o, err) >= 0)
            return o;
        if (in->kind == CONTAINER || (*err)->errnum != ENOENT)
            return NULL;
        berr_free(*err);
        *err = NULL;
    }
    _cleanup_free_ char *path = cli_image_path(name, "/json");
    json_t *o = NULL;
    if (cli_api_call(in->api, "GET", path, NULL, &o, err) >= 0 && o == NULL)
        return berr_code(err, EPROTO, "Error: the daemon's answer about %s is empty", name), NULL;
    if (o == NULL && in->kind == ANY &&
        ((*err)->errnum == ENOENT || strstr((*err)->msg, "No such image"))) {
        berr_free(*err);
        *err = NULL;
        berr_code(err, ENOENT, "Error: No such object: %s", name);
    } else if (o == NULL && strncmp((*err)->msg, "Error", 5) != 0) {
        berr_wrap(err, "Error");
    }
    return o;
}

static int inspect_as(struct cli *cli, enum kind kind, int argc, char **argv)
{
    struct berr *err = NULL;
    if (cli_string(cli, "platform")[0])
        return cli_usage_error(cli, "--platform is not supported yet: an image holds one "
                                    "platform");
    const char *fmt = cli_string(cli, "format");
    _cleanup_(cli_template_freep) struct cli_template *tmpl = NULL;
    if (fmt[0] && strcmp(fmt, "json") != 0 && (tmpl = cli_template_parse(fmt, &err)) == NULL)
        return cli_fail(cli, err);
    struct inspector in = {.cli = cli, .kind = kind};
    if ((in.api = cli_api_get(cli, &err)) == NULL)
        return cli_fail(cli, err);
    _cleanup_json_ json_t *all = json_array();
    int status = 0;
    for (int i = 0; i < argc; i++) {
        json_t *o = find(&in, argv[i], &err);
        if (o == NULL) {
            fprintf(cli->err, "%s\n", err ? err->msg : "failed");
            berr_free(err);
            err = NULL;
            status = 1;
            continue;
        }
        if (tmpl) {
            int rc = cli_template_exec(tmpl, o, CLI_TMPL_MISSING_OK, cli->out, &err);
            json_decref(o);
            if (rc < 0)
                return cli_fail(cli, err);
            fputc('\n', cli->out);
        } else {
            json_array_append_new(all, o);
        }
    }
    if (tmpl == NULL) {
        _cleanup_free_ char *text = cli_json_encode(all, "    ", true);
        fprintf(cli->out, "%s\n", text);
    }
    return status;
}

static int run_inspect(struct cli *cli, int argc, char **argv)
{
    const char *type = cli_string(cli, "type");
    if (type[0] == '\0')
        return inspect_as(cli, ANY, argc, argv);
    if (strcmp(type, "container") == 0)
        return inspect_as(cli, CONTAINER, argc, argv);
    if (strcmp(type, "image") == 0)
        return inspect_as(cli, IMAGE, argc, argv);
    fprintf(cli->err, "\"%s\" is not a valid value for --type\n", type);
    return 1;
}

static int run_image_inspect(struct cli *cli, int argc, char **argv)
{
    return inspect_as(cli, IMAGE, argc, argv);
}

static int run_container_inspect(struct cli *cli, int argc, char **argv)
{
    return inspect_as(cli, CONTAINER, argc, argv);
}

#define FORMAT_FLAG                                                                                \
    {                                                                                              \
        "format", 'f', CLI_FLAG_STRING,                                                            \
            "Format output using a custom template:\n'json':             Print in JSON format\n"   \
            "'TEMPLATE':         Print output using the given Go template.\nRefer to "             \
            "https://docs.docker.com/go/formatting/ for more information about formatting output " \
            "with templates"                                                                       \
    }

static const struct cli_flag inspect_flags[] = {
    FORMAT_FLAG,
    {"size", 's', CLI_FLAG_BOOL, "Display total file sizes if the type is container"},
    {"type", 0, CLI_FLAG_STRING, "Only inspect objects of the given type"},
    {"platform", 0, CLI_FLAG_STRING, "Inspect a specific platform of the multi-platform image",
     .hidden = true},
    {NULL},
};

static const struct cli_flag image_inspect_flags[] = {
    FORMAT_FLAG,
    {"platform", 0, CLI_FLAG_STRING, "Inspect a specific platform of the multi-platform image",
     .hidden = true},
    {"type", 0, CLI_FLAG_STRING, "Only inspect objects of the given type", .hidden = true},
    {"size", 's', CLI_FLAG_BOOL, "Display total file sizes if the type is container",
     .hidden = true},
    {NULL},
};

static const struct cli_flag container_inspect_flags[] = {
    FORMAT_FLAG,
    {"size", 's', CLI_FLAG_BOOL, "Display total file sizes"},
    {"platform", 0, CLI_FLAG_STRING, "", .hidden = true},
    {NULL},
};

const struct cli_command cli_cmd_inspect = {
    .name = "inspect",
    .usage = "[OPTIONS] NAME|ID [NAME|ID...]",
    .short_desc = "Return low-level information on containers and images",
    .flags = inspect_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_inspect,
};

const struct cli_command cli_cmd_image_inspect = {
    .name = "inspect",
    .usage = "[OPTIONS] IMAGE [IMAGE...]",
    .short_desc = "Display detailed information on one or more images",
    .flags = image_inspect_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_image_inspect,
};

const struct cli_command cli_cmd_container_inspect = {
    .name = "inspect",
    .usage = "[OPTIONS] CONTAINER [CONTAINER...]",
    .short_desc = "Display detailed information on one or more containers",
    .flags = container_inspect_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_container_inspect,
};
