/* berth push: upload an image (by name) to its registry, with docker's output. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/ref.h"
#include "registry/pull.h"

struct push_view {
    struct cli_progress rows;
    bool quiet;
};

static void on_push_event(void *ctx, const struct reg_event *ev)
{
    struct push_view *v = ctx;
    if (v->quiet || ev->id == NULL)
        return;
    switch (ev->kind) {
    case REG_EV_WAITING:
        cli_progress_set(&v->rows, ev->id, "Preparing", NULL);
        break;
    case REG_EV_EXISTS:
        cli_progress_set(&v->rows, ev->id, "Layer already exists", NULL);
        break;
    case REG_EV_PROGRESS:
        cli_progress_set(&v->rows, ev->id, "Pushing", NULL);
        break;
    case REG_EV_MOUNTED: {
        _cleanup_free_ char *m = xasprintf("Mounted from %s", ev->msg ? ev->msg : "");
        cli_progress_set(&v->rows, ev->id, m, NULL);
        break;
    }
    case REG_EV_LAYER_DONE:
        cli_progress_set(&v->rows, ev->id, "Pushed", NULL);
        break;
    default:
        break;
    }
}

static int run_push(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    if (cli_bool(cli, "all-tags"))
        return cli_usage_error(cli, "--all-tags is not supported yet: push each tag by name");
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (img_ref_parse(argv[0], &ref, &err) < 0)
        return cli_fail(cli, err);
    if (ref->digest)
        return cli_fail(
            cli, berr_new(EINVAL, "cannot push a digest reference (%s): push by tag", argv[0]));
    struct cli_images ci;
    if (cli_images_open(cli, false, &ci, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    _cleanup_free_ char *name = img_ref_string(ref);
    struct img_record *rec = NULL;
    if (img_db_load(ci.store, &db, &err) < 0 || (rec = img_db_by_name(db, name)) == NULL) {
        if (err == NULL) {
            _cleanup_free_ char *f = img_ref_familiar(ref);
            err = berr_new(ENOENT, "An image does not exist locally with the tag: %s", f);
        }
        cli_images_close(&ci);
        return cli_fail(cli, err);
    }
    bool quiet = cli_bool(cli, "quiet");
    _cleanup_free_ char *repo = img_ref_repo(ref);
    if (!quiet) {
        fprintf(cli->out, "The push refers to repository [%s]\n", repo);
        fflush(cli->out);
    }
    struct push_view view = {.quiet = quiet};
    cli_progress_init(&view.rows, cli->out, cli->out_is_tty);
    struct reg_push_opts o = {.on_event = on_push_event, .ctx = &view};
    const char *chunk = getenv("BERTH_PUSH_CHUNK_SIZE");
    if (chunk)
        o.chunk_size = strtoull(chunk, NULL, 10);
    struct reg_push_result res;
    int r = reg_push(ci.store, &ci.reg, rec, ref, &o, &res, &err);
    cli_progress_clear(&view.rows);
    cli_images_close(&ci);
    if (r < 0)
        return cli_fail(cli, err);
    if (quiet)
        fprintf(cli->out, "%s\n", name);
    else
        fprintf(cli->out, "%s: digest: %s size: %lld\n", ref->tag, res.digest, (long long)res.size);
    return 0;
}

static const struct cli_flag push_flags[] = {
    {"all-tags", 'a', CLI_FLAG_BOOL, "Push all tags of an image to the repository", .hidden = true},
    {"disable-content-trust", 0, CLI_FLAG_BOOL, "Skip image signing", "true"},
    {"quiet", 'q', CLI_FLAG_BOOL, "Suppress verbose output"},
    {NULL},
};

const struct cli_command cli_cmd_push = {
    .name = "push",
    .usage = "[OPTIONS] NAME[:TAG]",
    .short_desc = "Upload an image to a registry",
    .flags = push_flags,
    .min_args = 1,
    .max_args = 1,
    .run = run_push,
};
