/* berth tag: give an image another name. */
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "common/cleanup.h"
#include "image/ref.h"

static int run_tag(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    _cleanup_ref_ struct img_ref *target = NULL;
    if (img_ref_parse(argv[1], &target, &err) < 0)
        return cli_fail(cli, err);
    if (target->digest)
        return cli_fail(cli, berr_new(EINVAL, "refusing to create a tag with a digest reference"));
    struct cli_images ci;
    if (cli_images_open(cli, false, &ci, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    struct img_record *rec = NULL;
    _cleanup_free_ char *name = img_ref_string(target);
    int r = img_db_begin(ci.store, &db, &err);
    if (r == 0)
        r = img_db_resolve(db, argv[0], &rec, &err);
    if (r == 0) {
        img_db_tag(db, rec, name);
        r = img_db_commit(db, &err);
    }
    cli_images_close(&ci);
    return r < 0 ? cli_fail(cli, err) : 0;
}

const struct cli_command cli_cmd_tag = {
    .name = "tag",
    .usage = "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    .short_desc = "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    .min_args = 2,
    .max_args = 2,
    .run = run_tag,
};
