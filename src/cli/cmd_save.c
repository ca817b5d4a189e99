/* berth save: images to a tar archive that docker load, podman load and skopeo read. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/archive.h"
#include "image/ref.h"

static int run_save(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    const char *output = cli_string(cli, "output");
    if (output[0] == '\0' && cli->out_is_tty)
        return cli_fail(cli, berr_new(EINVAL, "cowardly refusing to save to a terminal. Use the "
                                              "-o flag or redirect"));
    struct cli_images ci;
    if (cli_images_open(cli, false, &ci, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    struct img_save_item *items = xcalloc((size_t)argc, sizeof(*items));
    int r = img_db_load(ci.store, &db, &err);
    for (int i = 0; r == 0 && i < argc; i++) {
        r = img_db_resolve(db, argv[i], &items[i].rec, &err);
        items[i].names = xcalloc(1, sizeof(char *));
        /* As docker: a name saves that name; an ID saves the image without names. */
        _cleanup_ref_ struct img_ref *ref = NULL;
        if (r == 0 && !img_ref_looks_like_id(argv[i]) && img_ref_parse(argv[i], &ref, NULL) == 0 &&
            !ref->digest) {
            _cleanup_free_ char *name = img_ref_string(ref);
            if (strv_contains(items[i].rec->names, name))
                strv_append(&items[i].names, name);
        }
    }
    _cleanup_free_ char *tmp = NULL;
    int fd = STDOUT_FILENO;
    if (r == 0 && output[0]) {
        tmp = xasprintf("%s.berth-tmp", output);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            r = berr_sys(&err, "create %s", tmp);
    }
    if (r == 0)
        r = img_save(ci.store, items, (size_t)argc, fd, &err);
    if (fd != STDOUT_FILENO && fd >= 0) {
        if (r == 0 && (fsync(fd) < 0 || close(fd) < 0))
            r = berr_sys(&err, "write %s", output);
        else if (r < 0)
            close(fd);
        if (r == 0 && rename(tmp, output) < 0)
            r = berr_sys(&err, "rename %s to %s", tmp, output);
        if (r < 0)
            unlink(tmp);
    }
    for (int i = 0; i < argc; i++)
        strv_free(items[i].names);
    free(items);
    cli_images_close(&ci);
    return r < 0 ? cli_fail(cli, err) : 0;
}

static const struct cli_flag save_flags[] = {
    {"output", 'o', CLI_FLAG_STRING, "Write to a file, instead of STDOUT"},
    {NULL},
};

const struct cli_command cli_cmd_save = {
    .name = "save",
    .usage = "[OPTIONS] IMAGE [IMAGE...]",
    .short_desc = "Save one or more images to a tar archive (streamed to STDOUT by default)",
    .flags = save_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_save,
};
