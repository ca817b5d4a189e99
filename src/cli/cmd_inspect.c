/* berth inspect, container inspect and image inspect: containers in the shape of Docker's
 * GET /containers/{id}/json (asked of berthd), images in that of GET /images/{name}/json (read
 * from the store), as one JSON array or through a --format template. The top-level inspect
 * looks for a container first, then an image, as docker does. */
#include <dirent.h>
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
#include "image/inspect.h"

enum kind { ANY, CONTAINER, IMAGE };

struct inspector {
    struct cli *cli;
    enum kind kind;
    struct cli_api *api; /* NULL: containers are not looked at */
    bool images_open;
    struct cli_images ci;
    struct img_db *db;
};

static void inspector_close(struct inspector *in)
{
    img_db_free(in->db);
    if (in->images_open)
        cli_images_close(&in->ci);
}

/* From the daemon when one is connected, else (or when it has none of that name: the CLI's
 * data root may not be the daemon's) from the store. */
static json_t *find_image(struct inspector *in, const char *name, struct berr **err)
{
    if (in->api) {
        _cleanup_free_ char *ename = cli_api_escape(name);
        _cleanup_free_ char *path = xasprintf("/images/%s/json", ename);
        json_t *o = NULL;
        if (cli_api_call(in->api, "GET", path, NULL, &o, err) >= 0)
            return o;
        if ((*err)->errnum != ENOENT)
            return NULL;
        berr_free(*err);
        *err = NULL;
    }
    if (!in->images_open) {
        if (cli_images_open(in->cli, true, &in->ci, err) < 0)
            return NULL;
        in->images_open = true;
        if (img_db_load(in->ci.store, &in->db, err) < 0)
            return NULL;
    }
    if (in->db == NULL)
        return berr_code(err, EIO, "the image store could not be read"), NULL;
    struct img_record *r = NULL;
    if (img_db_resolve(in->db, name, &r, err) < 0)
        return NULL;
    return img_inspect_json(in->ci.store, in->ci.sn, r, err);
}

/* One object, or NULL with the message docker prints for it. */
static json_t *find(struct inspector *in, const char *name, struct berr **err)
{
    if (in->api && in->kind != IMAGE) {
        _cleanup_free_ char *path =
            cli_ctr_path(name, cli_bool(in->cli, "size") ? "/json?size=1" : "/json");
        json_t *o = NULL;
        if (cli_api_call(in->api, "GET", path, NULL, &o, err) >= 0)
            return o;
        if (in->kind == CONTAINER || (*err)->errnum != ENOENT)
            return NULL;
        berr_free(*err);
        *err = NULL;
    } else if (in->kind == CONTAINER) {
        return NULL;
    }
    json_t *o = find_image(in, name, err);
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

/* Whether the data root holds containers (so a daemon is worth starting for them). */
static bool has_containers(const char *root)
{
    _cleanup_free_ char *dir = xasprintf("%s/containers", root);
    _cleanup_(closedirp) DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            return true;
    return false;
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
    /* image inspect keeps reading the store, as the other image commands do */
    if (kind == CONTAINER || (kind == ANY && has_containers(cli->root))) {
        if ((in.api = cli_api_get(cli, &err)) == NULL)
            return cli_fail(cli, err);
    } else if (kind == ANY) {
        /* images need no daemon: ask one about containers only if it is up */
        in.api = cli_api_try(cli);
    }
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
            if (rc < 0) {
                inspector_close(&in);
                return cli_fail(cli, err);
            }
            fputc('\n', cli->out);
        } else {
            json_array_append_new(all, o);
        }
    }
    inspector_close(&in);
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
