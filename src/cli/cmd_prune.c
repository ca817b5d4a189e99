/* berth image prune: dangling images (with -a, every image nothing uses) and the layers only
 * they held. berth system prune: stopped containers, with --volumes anonymous volumes, then
 * images. Both through berthd's prune endpoints, as docker does it (berthd has no networks and
 * no build cache to prune). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/rows.h"
#include "cli/client.h"
#include "cli/container.h"
#include "common/human.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* ---- system prune ---- */

static int by_natural(const void *a, const void *b)
{
    return cli_natural_cmp(*(char *const *)a, *(char *const *)b);
}

/* docker's confirmation text: what goes, and the filters that narrow it (those it knows). */
static char *system_warning(struct cli *cli, json_t *filters)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m == NULL)
        abort();
    fprintf(m, "WARNING! This will remove:\n  - all stopped containers\n");
    if (cli_bool(cli, "volumes"))
        fprintf(m, "  - all anonymous volumes not used by at least one container\n");
    fprintf(m, "  - %s\n",
            cli_bool(cli, "all") ? "all images without at least one container associated to them"
                                 : "all dangling images");
    _cleanup_strv_ char **shown = xcalloc(1, sizeof(char *));
    static const char *const keys[] = {"label", "label!", "until"};
    for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
        const char *v;
        json_t *t;
        json_object_foreach(json_object_get(filters, keys[k]), v, t)
        {
            _cleanup_free_ char *kv = xasprintf("%s=%s", keys[k], v);
            strv_append(&shown, kv);
        }
    }
    qsort(shown, strv_length(shown), sizeof(char *), by_natural);
    if (shown[0]) {
        fprintf(m, "\n  Items to be pruned will be filtered with:\n");
        for (size_t i = 0; shown[i]; i++)
            fprintf(m, "  - %s\n", shown[i]);
    }
    if (fclose(m) != 0)
        abort();
    return buf;
}

/* POST <what>/prune with filters; *out gets the report. */
static int prune_call(struct cli_api *api, const char *what, json_t *filters, json_t **out,
                      struct berr **err)
{
    _cleanup_free_ char *path = NULL;
    if (json_object_size(filters) > 0) {
        _cleanup_free_ char *text = json_dumps(filters, JSON_COMPACT | JSON_SORT_KEYS);
        _cleanup_free_ char *esc = cli_api_escape(text);
        path = xasprintf("%s/prune?filters=%s", what, esc);
    } else {
        path = xasprintf("%s/prune", what);
    }
    return cli_api_call(api, "POST", path, NULL, out, err);
}

/* "Deleted Containers:" or "Deleted Volumes:" and the names, when there are any; returns the
 * space reclaimed (docker counts it only then). */
static json_int_t print_deleted(struct cli *cli, json_t *report, const char *key, const char *title)
{
    json_t *deleted = json_object_get(report, key);
    if (json_array_size(deleted) == 0)
        return 0;
    fprintf(cli->out, "%s\n", title);
    size_t i;
    json_t *v;
    json_array_foreach(deleted, i, v)
    {
        fprintf(cli->out, "%s\n", json_string_value(v) ?: "");
    }
    fputc('\n', cli->out);
    return json_integer_value(json_object_get(report, "SpaceReclaimed"));
}

static json_int_t print_images(struct cli *cli, json_t *report)
{
    json_t *deleted = json_object_get(report, "ImagesDeleted");
    json_int_t space = json_integer_value(json_object_get(report, "SpaceReclaimed"));
    if (json_array_size(deleted) == 0 && space == 0)
        return 0;
    fprintf(cli->out, "Deleted Images:\n");
    size_t i;
    json_t *r;
    json_array_foreach(deleted, i, r)
    {
        const char *untagged = json_string_value(json_object_get(r, "Untagged"));
        const char *gone = json_string_value(json_object_get(r, "Deleted"));
        if (untagged && *untagged)
            fprintf(cli->out, "untagged: %s\n", untagged);
        else
            fprintf(cli->out, "deleted: %s\n", gone ?: "");
    }
    fputc('\n', cli->out);
    return space;
}

static int run_system_prune(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct berr *err = NULL;
    _cleanup_json_ json_t *filters = cli_filters(cli);
    bool volumes = cli_bool(cli, "volumes");
    if (volumes && json_object_get(filters, "until")) {
        fprintf(cli->err, "ERROR: The \"until\" filter is not supported with \"--volumes\"\n");
        return 1;
    }
    if (!cli_bool(cli, "force")) {
        _cleanup_free_ char *warning = system_warning(cli, filters);
        if (!cli_confirm(cli, warning))
            return 0;
    }
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    json_int_t space = 0;
    _cleanup_json_ json_t *ctrs = NULL, *vols = NULL, *imgs = NULL;
    if (prune_call(api, "/containers", filters, &ctrs, &err) < 0)
        return cli_fail(cli, err);
    space += print_deleted(cli, ctrs, "ContainersDeleted", "Deleted Containers:");
    if (volumes) {
        if (prune_call(api, "/volumes", filters, &vols, &err) < 0)
            return cli_fail(cli, err);
        space += print_deleted(cli, vols, "VolumesDeleted", "Deleted Volumes:");
    }
    /* docker adds the dangling filter itself: -a takes every unused image */
    _cleanup_json_ json_t *image_filters = json_deep_copy(filters);
    json_t *dangling = json_object_get(image_filters, "dangling");
    if (dangling == NULL) {
        dangling = json_object();
        json_object_set_new(image_filters, "dangling", dangling);
    }
    json_object_set_new(dangling, cli_bool(cli, "all") ? "false" : "true", json_true());
    if (prune_call(api, "/images", image_filters, &imgs, &err) < 0)
        return cli_fail(cli, err);
    space += print_images(cli, imgs);
    _cleanup_free_ char *total = human_size((double)space, 4);
    fprintf(cli->out, "Total reclaimed space: %s\n", total);
    return 0;
}

/* ---- image prune ---- */

static int run_image_prune(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct berr *err = NULL;
    bool all = cli_bool(cli, "all");
    /* as docker: -a is the dangling=false filter, added to the user's */
    _cleanup_json_ json_t *filters = cli_filters(cli);
    json_t *dangling = json_object_get(filters, "dangling");
    if (dangling == NULL) {
        dangling = json_object();
        json_object_set_new(filters, "dangling", dangling);
    }
    json_object_set_new(dangling, all ? "false" : "true", json_true());
    if (!cli_bool(cli, "force") &&
        !cli_confirm(cli, all ? "WARNING! This will remove all images without at least one "
                                "container associated to them."
                              : "WARNING! This will remove all dangling images."))
        return 0;
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_json_ json_t *report = NULL;
    if (prune_call(api, "/images", filters, &report, &err) < 0)
        return cli_fail(cli, err);
    json_int_t space = print_images(cli, report);
    _cleanup_free_ char *total = human_size((double)space, 4);
    fprintf(cli->out, "Total reclaimed space: %s\n", total);
    return 0;
}

static const struct cli_flag prune_flags[] = {
    {"all", 'a', CLI_FLAG_BOOL, "Remove all unused images, not just dangling ones"},
    {"filter", 0, CLI_FLAG_FILTER, "Provide filter values (e.g. \"until=<timestamp>\")",
     .varname = "filter"},
    {"force", 'f', CLI_FLAG_BOOL, "Do not prompt for confirmation"},
    {NULL},
};

const struct cli_command cli_cmd_image_prune = {
    .name = "prune",
    .usage = "[OPTIONS]",
    .short_desc = "Remove unused images",
    .flags = prune_flags,
    .min_args = 0,
    .max_args = 0,
    .run = run_image_prune,
};

static const struct cli_flag system_prune_flags[] = {
    {"all", 'a', CLI_FLAG_BOOL, "Remove all unused images not just dangling ones"},
    {"filter", 0, CLI_FLAG_FILTER, "Provide filter values (e.g. \"label=<key>=<value>\")",
     .varname = "filter"},
    {"force", 'f', CLI_FLAG_BOOL, "Do not prompt for confirmation"},
    {"volumes", 0, CLI_FLAG_BOOL, "Prune anonymous volumes"},
    {NULL},
};

const struct cli_command cli_cmd_system_prune = {
    .name = "prune",
    .usage = "[OPTIONS]",
    .short_desc = "Remove unused data",
    .flags = system_prune_flags,
    .min_args = 0,
    .max_args = 0,
    .run = run_system_prune,
};
