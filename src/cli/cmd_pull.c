/* berth pull: POST /images/create?fromImage= on berthd, with the credentials `berth login`
 * stored, and the daemon's progress shown as docker shows it. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "cli/jsonmsg.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/manifest.h"
#include "image/ref.h"

static int run_pull(struct cli *cli, int argc, char **argv)
{
    (void)argc;
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
    _cleanup_free_ char *plat = xstrdup(cli_string(cli, "platform"));
    if (plat[0] && img_platform_parse(plat, &platform, &err) < 0)
        return cli_fail(cli, err);
    for (char *c = plat; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    bool quiet = cli_bool(cli, "quiet");
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_free_ char *auth = NULL;
    if (cli_registry_auth(cli, ref->domain, &auth, &err) < 0)
        return cli_fail(cli, err);
    if (!quiet && given->tag == NULL && given->digest == NULL) {
        fprintf(cli->out, "Using default tag: %s\n", IMG_REF_DEFAULT_TAG);
        fflush(cli->out);
    }
    _cleanup_free_ char *repo = img_ref_repo(ref);
    _cleanup_free_ char *erepo = cli_api_escape(repo);
    _cleanup_free_ char *etag = cli_api_escape(ref->digest ? ref->digest : ref->tag);
    _cleanup_free_ char *eplat = cli_api_escape(plat);
    _cleanup_free_ char *path = xasprintf("/images/create?fromImage=%s&tag=%s%s%s", erepo, etag,
                                          plat[0] ? "&platform=" : "", eplat);
    const char *headers[] = {auth, NULL};
    if (cli_jsonmsg_request(api, "POST", path, headers, quiet ? NULL : cli->out, cli->out_is_tty,
                            cli->term_width, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_free_ char *full = img_ref_string(ref);
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
