/* berth rmi (image rm): DELETE /images/{name} for each image, with docker's "Untagged:" and
 * "Deleted:" lines; the daemon applies docker's rules (a name of an image that has others is
 * only untagged, conflicts with containers) and frees the layers nothing else uses. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* A forced removal undoes the image's `berth image mount` first, as rmi -f always has: that mount
 * is this CLI's own, made on the data root directly (there is no API for it), and the daemon
 * would otherwise keep the image, nameless, for it. Nothing is done (or created) when this
 * data root holds no mount of the image; an image the daemon does not know is left for the
 * removal to report. */
static int release_mount(struct cli *cli, struct cli_api *api, const char *name, struct berr **err)
{
    _cleanup_free_ char *path = cli_image_path(name, "/json");
    _cleanup_json_ json_t *img = NULL;
    _cleanup_berr_ struct berr *lookup = NULL;
    if (cli_api_call(api, "GET", path, NULL, &img, &lookup) < 0)
        return 0;
    const char *id = json_string_value(json_object_get(img, "Id"));
    if (id == NULL || strncmp(id, "sha256:", 7) != 0)
        return 0;
    _cleanup_free_ char *hold = xasprintf("%s/images/holds/mount-%s", cli->root, id + 7);
    if (access(hold, F_OK) < 0)
        return 0;
    struct cli_images ci;
    if (cli_images_open(cli, false, &ci, err) < 0)
        return -1;
    int r = cli_image_unmount(&ci, id, err);
    cli_images_close(&ci);
    return r;
}

static int remove_one(struct cli *cli, struct cli_api *api, const char *name, bool force,
                      bool no_prune, struct berr **err)
{
    if (force && release_mount(cli, api, name, err) < 0)
        return -1;
    _cleanup_free_ char *path =
        cli_image_path(name, force ? (no_prune ? "?force=1&noprune=1" : "?force=1")
                                   : (no_prune ? "?noprune=1" : ""));
    _cleanup_json_ json_t *records = NULL;
    if (cli_api_call(api, "DELETE", path, NULL, &records, err) < 0)
        return -1;
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
    {
        const char *deleted = json_string_value(json_object_get(rec, "Deleted"));
        const char *untagged = json_string_value(json_object_get(rec, "Untagged"));
        if (deleted && *deleted)
            fprintf(cli->out, "Deleted: %s\n", deleted);
        else
            fprintf(cli->out, "Untagged: %s\n", untagged ? untagged : "");
    }
    return 0;
}

static int run_rmi(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    bool force = cli_bool(cli, "force"), no_prune = cli_bool(cli, "no-prune");
    /* as docker: every image is tried, then the errors are told together */
    _cleanup_strv_ char **errors = xcalloc(1, sizeof(char *));
    for (int i = 0; i < argc; i++) {
        if (remove_one(cli, api, argv[i], force, no_prune, &err) < 0) {
            strv_append(&errors, err->msg);
            berr_free(err);
            err = NULL;
        }
    }
    fflush(cli->out);
    for (size_t i = 0; errors[i]; i++)
        fprintf(cli->err, "%s\n", errors[i]);
    return errors[0] ? 1 : 0;
}

static const struct cli_flag rmi_flags[] = {
    {"force", 'f', CLI_FLAG_BOOL, "Force removal of the image"},
    {"no-prune", 0, CLI_FLAG_BOOL, "Do not delete untagged parents"},
    {NULL},
};

static const char *const rmi_aliases[] = {"remove", NULL};

const struct cli_command cli_cmd_rmi = {
    .name = "rm",
    .aliases = rmi_aliases,
    .usage = "[OPTIONS] IMAGE [IMAGE...]",
    .short_desc = "Remove one or more images",
    .flags = rmi_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_rmi,
};
