/* berth load: images from a docker-archive or OCI archive (a file or standard input). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/archive.h"
#include "image/ref.h"

struct load_view {
    struct cli *cli;
};

static void on_loaded(void *ctx, const struct img_record *rec, const char *name)
{
    struct load_view *v = ctx;
    if (name == NULL) {
        fprintf(v->cli->out, "Loaded image ID: %s\n", rec->id);
        return;
    }
    _cleanup_ref_ struct img_ref *ref = NULL;
    _cleanup_free_ char *fam =
        img_ref_parse(name, &ref, NULL) == 0 ? img_ref_familiar(ref) : xstrdup(name);
    fprintf(v->cli->out, "Loaded image: %s\n", fam);
}

static int run_load(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    const char *input = cli_string(cli, "input");
    if (input[0] == '\0' && cli->in_is_tty)
        return cli_fail(cli, berr_new(EINVAL, "requested load from stdin, but stdin is empty"));
    _cleanup_close_ int fd = -1;
    if (input[0]) {
        fd = open(input, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cli_fail(cli, berr_new(errno, "open %s: %m", input));
    }
    struct cli_images ci;
    if (cli_images_open(cli, true, &ci, &err) < 0)
        return cli_fail(cli, err);
    struct load_view v = {cli};
    int r = img_load(ci.store, ci.sn, fd >= 0 ? fd : STDIN_FILENO,
                     cli_bool(cli, "quiet") ? NULL : on_loaded, &v, &err);
    cli_images_close(&ci);
    return r < 0 ? cli_fail(cli, err) : 0;
}

static const struct cli_flag load_flags[] = {
    {"input", 'i', CLI_FLAG_STRING, "Read from tar archive file, instead of STDIN"},
    {"quiet", 'q', CLI_FLAG_BOOL, "Suppress the load output"},
    {NULL},
};

const struct cli_command cli_cmd_load = {
    .name = "load",
    .usage = "[OPTIONS]",
    .short_desc = "Load an image from a tar archive or STDIN",
    .flags = load_flags,
    .min_args = 0,
    .max_args = 0,
    .run = run_load,
};
