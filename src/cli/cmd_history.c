/* berth history: an image's build steps from its config's history, newest first, with the
 * size each step's layer takes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/format.h"
#include "common/human.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/manifest.h"

#define HISTORY_FORMAT "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
#define CREATED_BY_MAX 45

/* Docker shortens the command to 45 characters, the last one an ellipsis. */
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

static int run_history(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    struct cli_images ci;
    if (cli_images_open(cli, true, &ci, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    struct img_record *r = NULL;
    _cleanup_free_ char *text = NULL;
    _cleanup_config_ struct img_config *cfg = NULL;
    size_t len = 0;
    int ret = img_db_load(ci.store, &db, &err);
    if (ret == 0)
        ret = img_db_resolve(db, argv[0], &r, &err);
    if (ret == 0 && (text = img_blob_read(ci.store, r->id, IMG_CONFIG_MAX, &len, &err)) == NULL)
        ret = -1;
    if (ret == 0)
        ret = img_config_parse(text, len, &cfg, &err);
    bool human = cli_bool(cli, "human"), no_trunc = cli_bool(cli, "no-trunc");
    const char *fmt = cli_bool(cli, "quiet") ? "{{.ID}}" : cli_string(cli, "format");
    _cleanup_json_ json_t *header = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "IMAGE", "CreatedSince", "CREATED", "CreatedAt",
        "CREATED AT", "CreatedBy", "CREATED BY", "Size", "SIZE", "Comment", "COMMENT");
    _cleanup_(cli_format_freep) struct cli_format *out = NULL;
    if (ret == 0 && (out = cli_format_new(fmt, HISTORY_FORMAT, header, 0, &err)) == NULL)
        ret = -1;
    if (ret < 0) {
        cli_images_close(&ci);
        return cli_fail(cli, err);
    }
    /* Non-empty steps map, in order, to layers; count from the end to find each one's. */
    size_t layer = r->n_layers;
    char sid[13];
    for (size_t i = cfg->n_history; i-- > 0 && ret == 0;) {
        const struct img_history *h = &cfg->history[i];
        int64_t size = 0;
        if (!h->empty_layer && layer > 0) {
            layer--;
            int64_t s = img_snap_size(ci.sn, r->layers[layer].chain_id);
            size = s > 0 ? s : 0;
        }
        const char *id =
            i + 1 == cfg->n_history ? (no_trunc ? r->id : img_short_id(r->id, sid)) : "<missing>";
        int64_t sec = 0;
        bool have = h->created && cli_parse_created(h->created, &sec) == 0;
        _cleanup_free_ char *since = !have   ? xstrdup("N/A")
                                     : human ? cli_since((time_t)sec)
                                             : xstrdup(h->created);
        _cleanup_free_ char *by = no_trunc ? xstrdup(h->created_by ? h->created_by : "")
                                           : shorten(h->created_by ? h->created_by : "");
        _cleanup_free_ char *sz =
            human ? human_size((double)size, 3) : xasprintf("%lld", (long long)size);
        _cleanup_json_ json_t *row =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id, "CreatedSince", since,
                      "CreatedAt", h->created ? h->created : "", "CreatedBy", by, "Size", sz,
                      "Comment", h->comment ? h->comment : "");
        ret = cli_format_add(out, row, &err);
    }
    cli_images_close(&ci);
    if (ret < 0)
        return cli_fail(cli, err);
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
