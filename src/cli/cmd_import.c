/* berth import: POST /images/create?fromSrc= with a root filesystem tarball (a file or standard
 * input) as the streamed body, or a URL for the daemon to fetch; it becomes a one-layer image. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/common.h"
#include "cli/jsonmsg.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/manifest.h"
#include "image/ref.h"

/* Appends "&key=<escaped value>" to *query. */
static void add_param(char **query, const char *key, const char *value)
{
    _cleanup_free_ char *e = cli_api_escape(value);
    char *longer = xasprintf("%s&%s=%s", *query, key, e);
    free(*query);
    *query = longer;
}

static int run_import(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    const char *src = argv[0];
    bool url = strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0;
    if (argc > 1) {
        _cleanup_ref_ struct img_ref *ref = NULL;
        if (img_ref_parse(argv[1], &ref, &err) < 0)
            return cli_fail(cli, err);
        if (ref->digest)
            return cli_fail(cli, berr_new(EINVAL, "refusing to create a tag with a digest "
                                                  "reference"));
    }
    _cleanup_free_ char *platform = xstrdup(cli_string(cli, "platform"));
    _cleanup_platform_ struct img_platform *plat = NULL;
    if (platform[0] && img_platform_parse(platform, &plat, &err) < 0)
        return cli_fail(cli, err);
    for (char *c = platform; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    _cleanup_close_ int fd = -1;
    if (!url && strcmp(src, "-") != 0) {
        fd = open(src, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cli_fail(cli, berr_new(errno, "open %s", src));
    }
    _cleanup_free_ char *path = NULL;
    {
        _cleanup_free_ char *esrc = cli_api_escape(url ? src : "-");
        path = xasprintf("/images/create?fromSrc=%s", esrc);
    }
    if (argc > 1)
        add_param(&path, "repo", argv[1]);
    if (cli_string(cli, "message")[0])
        add_param(&path, "message", cli_string(cli, "message"));
    char *const *changes = cli_list(cli, "change");
    for (size_t i = 0; changes && changes[i]; i++)
        add_param(&path, "changes", changes[i]);
    if (platform[0])
        add_param(&path, "platform", platform);
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    int r;
    if (url) {
        r = cli_jsonmsg_request(api, "POST", path, NULL, cli->out, cli->out_is_tty, cli->term_width,
                                &err);
    } else {
        _cleanup_(cli_conn_freep) struct cli_conn *c = NULL;
        r = cli_upload(api, "POST", path, "application/x-tar", fd >= 0 ? fd : STDIN_FILENO, &c,
                       &err);
        struct cli_jsonmsg m;
        cli_jsonmsg_init(&m, cli->out, cli->out_is_tty, cli->term_width);
        if (r >= 0)
            r = cli_jsonmsg_read(&m, c, &err);
        cli_jsonmsg_clear(&m);
    }
    return r < 0 ? cli_fail(cli, err) : 0;
}

static const struct cli_flag import_flags[] = {
    {"change", 'c', CLI_FLAG_LIST, "Apply Dockerfile instruction to the created image"},
    {"message", 'm', CLI_FLAG_STRING, "Set commit message for imported image"},
    {"platform", 0, CLI_FLAG_STRING, "Set platform if server is multi-platform capable"},
    {NULL},
};

const struct cli_command cli_cmd_import = {
    .name = "import",
    .usage = "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    .short_desc = "Import the contents from a tarball to create a filesystem image",
    .flags = import_flags,
    .min_args = 1,
    .max_args = 2,
    .run = run_import,
};
