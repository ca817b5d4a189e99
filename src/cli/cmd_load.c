/* berth load: POST /images/load with a docker-archive or OCI archive (a file or standard input)
 * as the streamed body; the daemon's messages ("Loaded image: ...") shown as docker shows them. */
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

/* An answer that is not a message stream is shown as it is, as docker does. */
static int copy_answer(struct cli *cli, struct cli_conn *c, struct berr **err)
{
    _cleanup_free_ char *buf = xmalloc(64 * 1024);
    for (;;) {
        ssize_t n = cli_conn_read(c, buf, 64 * 1024);
        if (n < 0)
            return berr_sys(err, "reading the daemon's answer");
        if (n == 0)
            return 0;
        fwrite(buf, 1, (size_t)n, cli->out);
    }
}

static int run_load(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct berr *err = NULL;
    const char *input = cli_string(cli, "input");
    if (input[0] == '\0' && cli->in_is_tty)
        return cli_fail(cli, berr_new(EINVAL, "requested load from stdin, but stdin is empty"));
    _cleanup_close_ int fd = -1;
    if (input[0]) {
        fd = open(input, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cli_fail(cli, berr_new(errno, "open %s", input));
    }
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    /* docker asks for no progress when told to be quiet or when nobody watches it */
    bool quiet = cli_bool(cli, "quiet") || !cli->out_is_tty;
    _cleanup_(cli_conn_freep) struct cli_conn *c = NULL;
    if (cli_upload(api, "POST", quiet ? "/images/load?quiet=1" : "/images/load",
                   "application/x-tar", fd >= 0 ? fd : STDIN_FILENO, &c, &err) < 0)
        return cli_fail(cli, err);
    _cleanup_free_ char *type = cli_conn_header(c, "Content-Type");
    if (type == NULL || strncmp(type, "application/json", 16) != 0) {
        if (copy_answer(cli, c, &err) < 0)
            return cli_fail(cli, err);
        return 0;
    }
    struct cli_jsonmsg m;
    cli_jsonmsg_init(&m, cli->out, cli->out_is_tty, cli->term_width);
    int r = cli_jsonmsg_read(&m, c, &err);
    cli_jsonmsg_clear(&m);
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
