/* berth image prune: remove dangling images (with -a, every image nothing uses), then the
 * blobs and snapshots only they held. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "common/human.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/gc.h"
#include "image/ref.h"

static bool confirm(struct cli *cli, const char *warning)
{
    fprintf(cli->out, "%s\nAre you sure you want to continue? [y/N] ", warning);
    fflush(cli->out);
    char buf[16];
    if (fgets(buf, sizeof(buf), cli->in) == NULL)
        return false;
    return buf[0] == 'y' || buf[0] == 'Y';
}

struct prune_filter {
    time_t until;
    bool have_until;
};

static int parse_prune_filters(struct cli *cli, struct prune_filter *f, struct berr **err)
{
    memset(f, 0, sizeof(*f));
    char *const *list = cli_list(cli, "filter");
    for (size_t i = 0; list && list[i]; i++) {
        const char *eq = strchr(list[i], '=');
        if (strncmp(list[i], "until=", 6) == 0) {
            int64_t sec = 0;
            int64_t dur = 0;
            if (cli_parse_created(eq + 1, &sec) == 0) {
                f->until = (time_t)sec;
            } else if (cli_parse_duration(eq + 1, &dur) == 0) {
                f->until = time(NULL) - (time_t)(dur / 1000000000);
            } else {
                return berr_set(err, EINVAL,
                                "invalid filter 'until=%s': a timestamp or a "
                                "duration such as 24h",
                                eq + 1);
            }
            f->have_until = true;
        } else {
            return berr_set(err, EINVAL, "invalid filter '%.*s'", (int)(eq - list[i]), list[i]);
        }
    }
    return 0;
}

static int prune_images(struct cli *cli, const char *warning)
{
    bool all = cli_bool(cli, "all");
    struct berr *err = NULL;
    struct prune_filter f;
    if (parse_prune_filters(cli, &f, &err) < 0)
        return cli_fail(cli, err);
    if (!cli_bool(cli, "force") && !confirm(cli, warning))
        return 0;
    struct cli_images ci;
    if (cli_images_open(cli, true, &ci, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    _cleanup_strv_ char **report = xcalloc(1, sizeof(char *));
    int r = img_db_begin(ci.store, &db, &err);
    for (size_t i = 0; r == 0 && i < db->n;) {
        struct img_record *rec = db->v[i];
        _cleanup_strv_ char **holders = img_holders(ci.store, rec->id);
        int64_t sec = 0;
        bool old_enough =
            !f.have_until ||
            (rec->created && cli_parse_created(rec->created, &sec) == 0 && (time_t)sec < f.until);
        if (holders[0] || (!all && rec->names[0]) || !old_enough) {
            i++;
            continue;
        }
        for (size_t j = 0; rec->names[j]; j++) {
            _cleanup_ref_ struct img_ref *ref = NULL;
            _cleanup_free_ char *fam = img_ref_parse(rec->names[j], &ref, NULL) == 0
                                           ? img_ref_familiar(ref)
                                           : xstrdup(rec->names[j]);
            _cleanup_free_ char *line = xasprintf("untagged: %s", fam);
            strv_append(&report, line);
        }
        _cleanup_free_ char *line = xasprintf("deleted: %s", rec->id);
        strv_append(&report, line);
        img_db_remove(db, rec);
    }
    if (r == 0)
        r = img_db_commit(db, &err);
    img_db_freep(&db);
    struct img_gc_result gc = {0};
    if (r == 0)
        r = img_gc(ci.store, ci.sn, &gc, &err);
    cli_images_close(&ci);
    if (r < 0)
        return cli_fail(cli, err);
    if (report[0]) {
        fprintf(cli->out, "Deleted Images:\n");
        for (size_t i = 0; report[i]; i++)
            fprintf(cli->out, "%s\n", report[i]);
        fputc('\n', cli->out);
    }
    _cleanup_free_ char *freed = human_size((double)gc.bytes, 3);
    fprintf(cli->out, "Total reclaimed space: %s\n", freed);
    return 0;
}

static int run_image_prune(struct cli *cli, int argc, char **argv)
{
    return prune_images(cli, cli_bool(cli, "all")
                                 ? "WARNING! This will remove all images without at least one "
                                   "container associated to them."
                                 : "WARNING! This will remove all dangling images.");
}

/* Images are all berth keeps so far: system prune has nothing else to remove yet. */
static int run_system_prune(struct cli *cli, int argc, char **argv)
{
    return prune_images(cli, cli_bool(cli, "all")
                                 ? "WARNING! This will remove:\n  - all images without at least "
                                   "one container associated to them"
                                 : "WARNING! This will remove:\n  - all dangling images");
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

const struct cli_command cli_cmd_system_prune = {
    .name = "prune",
    .usage = "[OPTIONS]",
    .short_desc = "Remove unused data",
    .flags = prune_flags,
    .min_args = 0,
    .max_args = 0,
    .run = run_system_prune,
};
