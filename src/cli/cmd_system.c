/* berth system df: disk usage of images (containers, volumes and the build cache come with
 * the engine; berth keeps none of them yet, so they count zero). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/format.h"
#include "common/human.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/gc.h"

#define DF_FORMAT "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"

static json_t *df_row(const char *type, size_t total, size_t active, int64_t size,
                      int64_t reclaimable)
{
    _cleanup_free_ char *sz = human_size((double)size, 3);
    _cleanup_free_ char *rc = human_size((double)reclaimable, 3);
    _cleanup_free_ char *rcp =
        size > 0 ? xasprintf("%s (%lld%%)", rc, (long long)(reclaimable * 100 / size))
                 : xstrdup(rc);
    return json_pack("{s:s, s:o, s:o, s:s, s:s}", "Type", type, "TotalCount",
                     json_sprintf("%zu", total), "Active", json_sprintf("%zu", active), "Size", sz,
                     "Reclaimable", rcp);
}

static int run_df(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    if (cli_bool(cli, "verbose"))
        return cli_usage_error(cli, "--verbose is not supported yet");
    struct cli_images ci;
    if (cli_images_open(cli, true, &ci, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    if (img_db_load(ci.store, &db, &err) < 0) {
        cli_images_close(&ci);
        return cli_fail(cli, err);
    }
    /* Shared layers count once; what active images use is not reclaimable. */
    _cleanup_strv_ char **all = xcalloc(1, sizeof(char *));
    _cleanup_strv_ char **used = xcalloc(1, sizeof(char *));
    size_t active = 0;
    for (size_t i = 0; i < db->n; i++) {
        struct img_record *r = db->v[i];
        _cleanup_strv_ char **holders = img_holders(ci.store, r->id);
        if (holders[0])
            active++;
        for (size_t j = 0; j < r->n_layers; j++) {
            img_strv_add_unique(&all, r->layers[j].chain_id);
            if (holders[0])
                img_strv_add_unique(&used, r->layers[j].chain_id);
        }
    }
    int64_t size = 0, reclaimable = 0;
    for (size_t i = 0; all[i]; i++) {
        int64_t s = img_snap_size(ci.sn, all[i]);
        if (s < 0)
            continue;
        size += s;
        if (!strv_contains(used, all[i]))
            reclaimable += s;
    }
    cli_images_close(&ci);
    _cleanup_json_ json_t *header =
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "Type", "TYPE", "TotalCount", "TOTAL", "Active",
                  "ACTIVE", "Size", "SIZE", "Reclaimable", "RECLAIMABLE");
    _cleanup_(cli_format_freep) struct cli_format *out =
        cli_format_new(cli_string(cli, "format"), DF_FORMAT, header, 0, &err);
    if (out == NULL)
        return cli_fail(cli, err);
    json_t *rows[] = {
        df_row("Images", db->n, active, size, reclaimable),
        df_row("Containers", 0, 0, 0, 0),
        df_row("Local Volumes", 0, 0, 0, 0),
        df_row("Build Cache", 0, 0, 0, 0),
    };
    int r = 0;
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        if (r == 0)
            r = cli_format_add(out, rows[i], &err);
        json_decref(rows[i]);
    }
    if (r < 0)
        return cli_fail(cli, err);
    cli_format_write(out, cli->out);
    return 0;
}

static const struct cli_flag df_flags[] = {
    {"format", 0, CLI_FLAG_STRING, "Format output using a custom template"},
    {"verbose", 'v', CLI_FLAG_BOOL, "Show detailed information on space usage", .hidden = true},
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
