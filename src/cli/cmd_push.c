/* berth push: POST /images/{name}/push on berthd, with the credentials `berth login` stored,
 * and the daemon's progress shown as docker shows it. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "cli/jsonmsg.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/ref.h"

static int run_push(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    struct berr *err = NULL;
    if (cli_bool(cli, "all-tags"))
        return cli_usage_error(cli, "--all-tags is not supported yet: push each tag by name");
    _cleanup_ref_ struct img_ref *given = NULL;
    if (img_ref_parse_repo(argv[0], &given, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (img_ref_parse(argv[0], &ref, &err) < 0)
        return cli_fail(cli, err);
    if (ref->digest)
        return cli_fail(
            cli, berr_new(EINVAL, "cannot push a digest reference (%s): push by tag", argv[0]));
    bool quiet = cli_bool(cli, "quiet");
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_free_ char *auth = NULL;
    if (cli_registry_auth(cli, ref->domain, &auth, &err) < 0)
        return cli_fail(cli, err);
    if (!quiet && given->tag == NULL) {
        fprintf(cli->out, "Using default tag: %s\n", IMG_REF_DEFAULT_TAG);
        fflush(cli->out);
    }
    _cleanup_free_ char *repo = img_ref_familiar_repo(ref);
    _cleanup_free_ char *etag = cli_api_escape(ref->tag);
    _cleanup_free_ char *suffix = xasprintf("/push?tag=%s", etag);
    _cleanup_free_ char *path = cli_image_path(repo, suffix);
    const char *headers[] = {auth, NULL};
    if (cli_jsonmsg_request(api, "POST", path, headers, quiet ? NULL : cli->out, cli->out_is_tty,
                            cli->term_width, &err) < 0)
        return cli_fail(cli, err);
    if (quiet) {
        _cleanup_free_ char *name = img_ref_string(ref);
        fprintf(cli->out, "%s\n", name);
    }
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
