/* berth tag: POST /images/{name}/tag, another name for an image. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/ref.h"

static int run_tag(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    struct berr *err = NULL;
    _cleanup_ref_ struct img_ref *target = NULL;
    if (img_ref_parse(argv[1], &target, &err) < 0)
        return cli_fail(cli, err);
    if (target->digest)
        return cli_fail(cli, berr_new(EINVAL, "refusing to create a tag with a digest reference"));
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_free_ char *repo = img_ref_familiar_repo(target);
    _cleanup_free_ char *erepo = cli_api_escape(repo);
    _cleanup_free_ char *etag = cli_api_escape(target->tag);
    _cleanup_free_ char *suffix = xasprintf("/tag?repo=%s&tag=%s", erepo, etag);
    _cleanup_free_ char *path = cli_image_path(argv[0], suffix);
    if (cli_api_call(api, "POST", path, NULL, NULL, &err) < 0)
        return cli_fail(cli, err);
    return 0;
}

const struct cli_command cli_cmd_tag = {
    .name = "tag",
    .usage = "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    .short_desc = "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    .min_args = 2,
    .max_args = 2,
    .run = run_tag,
};
