/* berth pull: fetch an image from a registry into the local store, with docker's output. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "common/human.h"
#include "cli/progress.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "registry/pull.h"

struct pull_view {
    struct cli_progress rows;
    bool quiet;
    int width; /* terminal columns */
};

static void on_pull_event(void *ctx, const struct reg_event *ev)
{
    struct pull_view *v = ctx;
    if (v->quiet || ev->id == NULL)
        return;
    switch (ev->kind) {
    case REG_EV_WAITING:
        cli_progress_set(&v->rows, ev->id, "Pulling fs layer", NULL);
        break;
    case REG_EV_EXISTS:
        cli_progress_set(&v->rows, ev->id, "Already exists", NULL);
        break;
    case REG_EV_PROGRESS: {
        _cleanup_free_ char *bar =
            human_progress((int64_t)ev->current, (int64_t)ev->total, v->width, -1);
        cli_progress_set(&v->rows, ev->id, "Downloading", bar);
        break;
    }
    case REG_EV_VERIFYING:
        cli_progress_set(&v->rows, ev->id, "Verifying Checksum", NULL);
        cli_progress_set(&v->rows, ev->id, "Download complete", NULL);
        break;
    case REG_EV_EXTRACTING:
        cli_progress_set(&v->rows, ev->id, "Extracting", NULL);
        break;
    case REG_EV_LAYER_DONE:
        cli_progress_set(&v->rows, ev->id, "Pull complete", NULL);
        break;
    default:
        break;
    }
}

static int run_pull(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    if (cli_bool(cli, "all-tags"))
        return cli_usage_error(cli, "--all-tags is not supported yet: pull each tag by name");
    _cleanup_ref_ struct img_ref *given = NULL;
    if (img_ref_parse_repo(argv[0], &given, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (img_ref_parse(argv[0], &ref, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_platform_ struct img_platform *platform = NULL;
    const char *plat = cli_string(cli, "platform");
    if (plat[0] && img_platform_parse(plat, &platform, &err) < 0)
        return cli_fail(cli, err);
    bool quiet = cli_bool(cli, "quiet");
    _cleanup_free_ char *familiar = img_ref_familiar(ref);
    _cleanup_free_ char *repo_path = xstrdup(ref->path);
    if (!quiet) {
        if (given->tag == NULL && given->digest == NULL)
            fprintf(cli->out, "Using default tag: %s\n", IMG_REF_DEFAULT_TAG);
        fprintf(cli->out, "%s: Pulling from %s\n", ref->digest ? ref->digest : ref->tag, repo_path);
        fflush(cli->out);
    }
    struct cli_images ci;
    if (cli_images_open(cli, true, &ci, &err) < 0)
        return cli_fail(cli, err);
    struct pull_view view = {.quiet = quiet, .width = cli->term_width};
    cli_progress_init(&view.rows, cli->out, cli->out_is_tty);
    struct reg_pull_opts o = {.platform = platform, .on_event = on_pull_event, .ctx = &view};
    struct reg_pull_result res;
    int r = reg_pull(ci.store, ci.sn, &ci.reg, ref, &o, &res, &err);
    cli_progress_clear(&view.rows);
    cli_images_close(&ci);
    if (r < 0)
        return cli_fail(cli, err);
    _cleanup_free_ char *full = img_ref_string(ref);
    if (!quiet) {
        fprintf(cli->out, "Digest: %s\n", res.digest);
        fprintf(cli->out, "Status: %s for %s\n",
                res.updated ? "Downloaded newer image" : "Image is up to date", familiar);
    }
    fprintf(cli->out, "%s\n", full);
    return 0;
}

static const struct cli_flag pull_flags[] = {
    {"all-tags", 'a', CLI_FLAG_BOOL, "Download all tagged images in the repository",
     .hidden = true},
    {"disable-content-trust", 0, CLI_FLAG_BOOL, "Skip image verification", "true"},
    {"platform", 0, CLI_FLAG_STRING, "Set platform if server is multi-platform capable"},
    {"quiet", 'q', CLI_FLAG_BOOL, "Suppress verbose output"},
    {NULL},
};

const struct cli_command cli_cmd_pull = {
    .name = "pull",
    .usage = "[OPTIONS] NAME[:TAG|@DIGEST]",
    .short_desc = "Download an image from a registry",
    .flags = pull_flags,
    .min_args = 1,
    .max_args = 1,
    .run = run_pull,
};
