/* berth exec: a process in a running container through POST /containers/{id}/exec and
 * /exec/{id}/start (hijacked unless -d), exiting with the process's status from
 * /exec/{id}/json, as docker does. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/container.h"
#include "cli/session.h"
#include "common/cleanup.h"
#include "common/detachkeys.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* -e and --env-file, as run reads them: files first, "NAME" alone taken from our environment. */
static int exec_env(struct cli *cli, json_t *env, struct berr **err)
{
    char *const *files = cli_list(cli, "env-file");
    for (size_t i = 0; files && files[i]; i++) {
        _cleanup_free_ char *text = read_file_at(AT_FDCWD, files[i], 16 << 20, NULL, NULL);
        if (text == NULL)
            return berr_sys(err, "open %s", files[i]);
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            while (*line == ' ' || *line == '\t')
                line++;
            size_t len = strlen(line);
            if (len && line[len - 1] == '\r')
                line[--len] = '\0';
            if (*line == '\0' || *line == '#')
                continue;
            const char *val = strchr(line, '=') ? NULL : getenv(line);
            if (strchr(line, '='))
                json_array_append_new(env, json_string(line));
            else if (val)
                json_array_append_new(env, json_sprintf("%s=%s", line, val));
        }
    }
    char *const *items = cli_list(cli, "env");
    for (size_t i = 0; items && items[i]; i++) {
        if (items[i][0] == '=' || items[i][0] == '\0')
            return berr_code(err, EINVAL, "invalid environment variable: %s", items[i]);
        const char *val = strchr(items[i], '=') ? NULL : getenv(items[i]);
        if (val)
            json_array_append_new(env, json_sprintf("%s=%s", items[i], val));
        else
            json_array_append_new(env, json_string(items[i]));
    }
    return 0;
}

static int run_exec(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    bool detach = cli_bool(cli, "detach"), tty = cli_bool(cli, "tty");
    bool in = cli_bool(cli, "interactive") && !detach;
    const char *keys = cli_string(cli, "detach-keys");
    unsigned char k[DETACH_KEYS_MAX];
    if (*keys && detach_keys_parse(keys, k) < 0) {
        fprintf(cli->err, "invalid detach keys (%s): unknown character or too many\n", keys);
        return 1;
    }
    _cleanup_json_ json_t *env = json_array();
    if (exec_env(cli, env, &err) < 0)
        return cli_fail(cli, err);
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    /* a missing container is reported before the terminal check, as docker does */
    _cleanup_free_ char *ipath = cli_ctr_path(argv[0], "/json");
    if (cli_api_call(api, "GET", ipath, NULL, NULL, &err) < 0)
        return cli_fail(cli, err);
    if (!detach && tty && in && !cli->in_is_tty) {
        fprintf(cli->err, "the input device is not a TTY\n");
        return 1;
    }
    _cleanup_json_ json_t *cmd = json_array();
    for (int i = 1; i < argc; i++)
        json_array_append_new(cmd, json_string(argv[i]));
    _cleanup_json_ json_t *req =
        json_pack("{s:b, s:b, s:b, s:b, s:O, s:O, s:s, s:s, s:b}", "AttachStdin", in,
                  "AttachStdout", !detach, "AttachStderr", !detach, "Tty", tty, "Cmd", cmd, "Env",
                  env, "User", cli_string(cli, "user"), "WorkingDir", cli_string(cli, "workdir"),
                  "Privileged", cli_bool(cli, "privileged"));
    if (*keys)
        json_object_set_new(req, "DetachKeys", json_string(keys));
    struct winsize ws;
    bool have_size = tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0;
    if (have_size)
        json_object_set_new(req, "ConsoleSize", json_pack("[i, i]", ws.ws_row, ws.ws_col));
    _cleanup_free_ char *cpath = cli_ctr_path(argv[0], "/exec");
    _cleanup_json_ json_t *created = NULL;
    if (cli_api_call(api, "POST", cpath, req, &created, &err) < 0)
        return cli_fail(cli, err);
    const char *exec_id = json_string_value(json_object_get(created, "Id"));
    if (exec_id == NULL || *exec_id == '\0') {
        fprintf(cli->err, "exec ID empty\n");
        return 1;
    }
    _cleanup_free_ char *eid = cli_api_escape(exec_id);
    _cleanup_free_ char *spath = xasprintf("/exec/%s/start", eid);
    _cleanup_json_ json_t *sreq = json_pack("{s:b, s:b}", "Detach", detach, "Tty", tty);
    if (have_size)
        json_object_set_new(sreq, "ConsoleSize", json_pack("[i, i]", ws.ws_row, ws.ws_col));
    if (detach) {
        if (cli_api_call(api, "POST", spath, sreq, NULL, &err) < 0)
            return cli_fail(cli, err);
        return 0;
    }
    _cleanup_(cli_conn_freep) struct cli_conn *conn = NULL;
    if (cli_conn_open(api, "POST", spath, sreq, true, &conn, &err) < 0)
        return cli_fail(cli, err);
    struct cli_session s = {
        .api = api,
        .exec_id = exec_id,
        .tty = tty,
        .in = in,
        .out = true,
        .err = true,
        .resize = tty && cli->in_is_tty,
        .detach_keys = keys,
    };
    int rc = cli_session_run(cli, conn, &s, &err);
    if (rc < 0)
        return cli_fail(cli, err);
    if (rc == 1)
        return 0;
    _cleanup_free_ char *jpath = xasprintf("/exec/%s/json", eid);
    _cleanup_json_ json_t *info = NULL;
    if (cli_api_call(api, "GET", jpath, NULL, &info, &err) < 0)
        return cli_fail(cli, err);
    /* the daemon records the status once the process is reaped: give it a moment */
    for (int tries = 0; tries < 100 && json_is_true(json_object_get(info, "Running")); tries++) {
        usleep(20000);
        json_decref(info);
        info = NULL;
        if (cli_api_call(api, "GET", jpath, NULL, &info, &err) < 0)
            return cli_fail(cli, err);
    }
    return (int)(json_integer_value(json_object_get(info, "ExitCode")) & 0xff);
}

static const struct cli_flag exec_flags[] = {
    {"detach", 'd', CLI_FLAG_BOOL, "Detached mode: run command in the background"},
    {"detach-keys", 0, CLI_FLAG_STRING, "Override the key sequence for detaching a container"},
    {"env", 'e', CLI_FLAG_LIST, "Set environment variables"},
    {"env-file", 0, CLI_FLAG_LIST, "Read in a file of environment variables"},
    {"interactive", 'i', CLI_FLAG_BOOL, "Keep STDIN open even if not attached"},
    {"privileged", 0, CLI_FLAG_BOOL, "Give extended privileges to the command"},
    {"tty", 't', CLI_FLAG_BOOL, "Allocate a pseudo-TTY"},
    {"user", 'u', CLI_FLAG_STRING, "Username or UID (format: \"<name|uid>[:<group|gid>]\")"},
    {"workdir", 'w', CLI_FLAG_STRING, "Working directory inside the container"},
    {NULL},
};

const struct cli_command cli_cmd_exec = {
    .name = "exec",
    .usage = "[OPTIONS] CONTAINER COMMAND [ARG...]",
    .short_desc = "Execute a command in a running container",
    .flags = exec_flags,
    .min_args = 2,
    .max_args = -1,
    .flags_first = true,
    .run = run_exec,
};
