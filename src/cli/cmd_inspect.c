/* berth image inspect (and inspect): images in the JSON shape of Docker's
 * GET /images/{name}/json, or through a --format template. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/format.h"
#include "common/cleanup.h"
#include "image/inspect.h"

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
            (o = img_inspect_json(ci.store, ci.sn, r, &err)) == NULL) {
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
