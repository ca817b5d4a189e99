/* berth logs: GET /containers/{id}/logs streamed to stdout and stderr (demultiplexed unless the
 * container has a tty), with docker's --since/--until forms (a duration ago, a date, a unix
 * time). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/rows.h"
#include "cli/common.h"
#include "cli/container.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/human.h"
#include "common/xalloc.h"

struct logs_out {
    bool raw;
    unsigned char hdr[8];
    size_t hdr_got, left;
    int type;
    bool failed;
};

static int on_logs(void *p, const char *buf, size_t len)
{
    struct logs_out *o = p;
    if (o->raw) {
        if (write_all(STDOUT_FILENO, buf, len) < 0)
            o->failed = true;
        return o->failed;
    }
    while (len > 0) {
        if (o->left == 0) {
            size_t take = 8 - o->hdr_got < len ? 8 - o->hdr_got : len;
            memcpy(o->hdr + o->hdr_got, buf, take);
            o->hdr_got += take;
            buf += take;
            len -= take;
            if (o->hdr_got < 8)
                return 0;
            o->hdr_got = 0;
            o->type = o->hdr[0];
            o->left = (size_t)o->hdr[4] << 24 | (size_t)o->hdr[5] << 16 | (size_t)o->hdr[6] << 8 |
                      o->hdr[7];
            continue;
        }
        size_t take = o->left < len ? o->left : len;
        if (write_all(o->type == 2 ? STDERR_FILENO : STDOUT_FILENO, buf, take) < 0) {
            o->failed = true;
            return 1;
        }
        o->left -= take;
        buf += take;
        len -= take;
    }
    return 0;
}

static int run_logs(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    struct berr *err = NULL;
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    /* as docker: a missing container is reported before anything else */
    _cleanup_free_ char *ipath = cli_ctr_path(argv[0], "/json");
    _cleanup_json_ json_t *info = NULL;
    if (cli_api_call(api, "GET", ipath, NULL, &info, &err) < 0)
        return cli_fail(cli, err);
    const char *id = json_string_value(json_object_get(info, "Id"));
    bool tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"));
    const char *since = cli_string(cli, "since"), *until = cli_string(cli, "until");
    _cleanup_free_ char *s = NULL, *u = NULL;
    if (*since && (s = cli_timestamp_arg(since, &err)) == NULL) {
        berr_wrap(&err, "invalid value for \"since\"");
        return cli_fail(cli, err);
    }
    if (*until && (u = cli_timestamp_arg(until, &err)) == NULL) {
        berr_wrap(&err, "invalid value for \"until\"");
        return cli_fail(cli, err);
    }
    _cleanup_free_ char *es = cli_api_escape(s ? s : ""), *eu = cli_api_escape(u ? u : "");
    _cleanup_free_ char *et = cli_api_escape(cli_string(cli, "tail"));
    _cleanup_free_ char *suffix =
        xasprintf("/logs?stdout=1&stderr=1&follow=%d&timestamps=%d&details=%d&tail=%s%s%s%s%s",
                  cli_bool(cli, "follow"), cli_bool(cli, "timestamps"), cli_bool(cli, "details"),
                  et, s ? "&since=" : "", s ? es : "", u ? "&until=" : "", u ? eu : "");
    _cleanup_free_ char *path = cli_ctr_path(id ? id : argv[0], suffix);
    fflush(cli->out);
    struct logs_out o = {.raw = tty};
    _cleanup_free_ char *ctype = NULL;
    if (cli_api_stream(api, "GET", path, NULL, NULL, on_logs, &o, &ctype, &err) < 0)
        return cli_fail(cli, err);
    return o.failed && errno != EPIPE ? 1 : 0;
}

static const struct cli_flag logs_flags[] = {
    {"details", 0, CLI_FLAG_BOOL, "Show extra details provided to logs"},
    {"follow", 'f', CLI_FLAG_BOOL, "Follow log output"},
    {"since", 0, CLI_FLAG_STRING,
     "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 "
     "minutes)"},
    {"tail", 'n', CLI_FLAG_STRING, "Number of lines to show from the end of the logs", "all"},
    {"timestamps", 't', CLI_FLAG_BOOL, "Show timestamps"},
    {"until", 0, CLI_FLAG_STRING,
     "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for "
     "42 minutes)"},
    {NULL},
};

const struct cli_command cli_cmd_logs = {
    .name = "logs",
    .usage = "[OPTIONS] CONTAINER",
    .short_desc = "Fetch the logs of a container",
    .flags = logs_flags,
    .min_args = 1,
    .max_args = 1,
    .run = run_logs,
};
