/* berth run, create, start and attach: creating a container (pulling its image when missing),
 * and the attached flow docker has: attach and register a wait before starting, so no output
 * and no exit is missed, then pump the streams and exit with the container's status. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/container.h"
#include "cli/run_opts.h"
#include "cli/session.h"
#include "common/cleanup.h"
#include "common/detachkeys.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "image/ref.h"

/* docker: "berth: MSG\n\nRun 'berth run --help' for more information" with status. */
static int run_failed(struct cli *cli, struct berr *err, int status)
{
    fprintf(cli->err, "berth: %s\n\nRun '%s --help' for more information\n", err->msg,
            cli->cmd_path);
    berr_free(err);
    return status;
}

static int check_pull_option(struct cli *cli, struct berr **err)
{
    const char *pull = cli_string(cli, "pull");
    if (*pull && strcmp(pull, "always") && strcmp(pull, "missing") && strcmp(pull, "never"))
        return berr_code(err, EINVAL,
                         "invalid pull option: '%s': must be one of \"always\", \"missing\" or "
                         "\"never\"",
                         pull);
    return 0;
}

/* The container ID file of --cidfile: made before the container, removed if it never gets an
 * ID. */
static int cidfile_open(const char *path, int *fd, struct berr **err)
{
    *fd = -1;
    if (*path == '\0')
        return 0;
    struct stat st;
    if (stat(path, &st) == 0)
        return berr_code(err, EEXIST,
                         "container ID file found, make sure the other container isn't running "
                         "or delete %s",
                         path);
    *fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (*fd < 0)
        return berr_sys(err, "failed to create the container ID file");
    return 0;
}

/* POST /containers/create, pulling the image first (--pull always) or when the daemon has none
 * (--pull missing, with docker's "Unable to find image" line). Fills id. */
static int create_container(struct cli *cli, struct cli_api *api, json_t *req, char id[65],
                            struct berr **err)
{
    const char *image = json_string_value(json_object_get(req, "Image"));
    const char *pull = cli_string(cli, "pull"), *platform = cli_string(cli, "platform");
    bool quiet = cli_bool(cli, "quiet");
    const char *cidpath = cli_string(cli, "cidfile");
    _cleanup_close_ int cidfd = -1;
    if (cidfile_open(cidpath, &cidfd, err) < 0)
        return -1;
    _cleanup_free_ char *ename = cli_api_escape(cli_string(cli, "name"));
    _cleanup_free_ char *eplat = cli_api_escape(platform);
    _cleanup_free_ char *path = xasprintf("/containers/create?name=%s%s%s", ename,
                                          *platform ? "&platform=" : "", *platform ? eplat : "");
    int rc = 0;
    if (strcmp(pull, "always") == 0)
        rc = cli_pull_image(cli, api, image, platform, quiet, err);
    _cleanup_json_ json_t *res = NULL;
    if (rc == 0)
        rc = cli_api_call(api, "POST", path, req, &res, err);
    _cleanup_ref_ struct img_ref *ref = NULL;
    if (rc < 0 && (*err)->errnum == ENOENT && strcmp(pull, "missing") == 0 && *pull &&
        img_ref_parse(image, &ref, NULL) == 0) {
        berr_free(*err);
        *err = NULL;
        if (!quiet) {
            _cleanup_free_ char *fam = img_ref_familiar(ref);
            fprintf(cli->err, "Unable to find image '%s' locally\n", fam);
        }
        rc = cli_pull_image(cli, api, image, platform, quiet, err);
        if (rc == 0)
            rc = cli_api_call(api, "POST", path, req, &res, err);
    }
    if (rc < 0) {
        if (cidfd >= 0)
            unlink(cidpath);
        return -1;
    }
    const char *got = json_string_value(json_object_get(res, "Id"));
    if (got == NULL || strlen(got) > 64)
        return berr_code(err, EPROTO, "the daemon's answer to create has no container ID");
    snprintf(id, 65, "%s", got);
    json_t *w;
    size_t i;
    json_array_foreach(json_object_get(res, "Warnings"), i, w)
    {
        if (json_is_string(w))
            fprintf(cli->err, "WARNING: %s\n", json_string_value(w));
    }
    if (cidfd >= 0 && write(cidfd, id, strlen(id)) < 0)
        return berr_sys(err, "failed to write the container ID (%s) to file", id);
    return 0;
}

static int start_container(struct cli_api *api, const char *id, struct berr **err)
{
    _cleanup_free_ char *path = cli_ctr_path(id, "/start");
    return cli_api_call(api, "POST", path, NULL, NULL, err) < 0 ? -1 : 0;
}

static char *attach_path(const char *id, bool in, bool out, bool errs, const char *keys)
{
    _cleanup_free_ char *ekeys = cli_api_escape(keys ? keys : "");
    _cleanup_free_ char *suffix =
        xasprintf("/attach?stream=1&stdin=%d&stdout=%d&stderr=%d%s%s", in, out, errs,
                  keys && *keys ? "&detachKeys=" : "", keys && *keys ? ekeys : "");
    return cli_ctr_path(id, suffix);
}

static int check_detach_keys(const char *keys, struct berr **err)
{
    unsigned char k[DETACH_KEYS_MAX];
    if (keys && *keys && detach_keys_parse(keys, k) < 0)
        return berr_code(err, EINVAL, "invalid detach keys (%s): unknown character or too many",
                         keys);
    return 0;
}

/* ---- run and create ---- */

static int run_run(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    bool detach = cli_bool(cli, "detach");
    if (check_pull_option(cli, &err) < 0)
        return run_failed(cli, err, CLI_EXIT_USAGE);
    _cleanup_json_ json_t *req = cli_container_request(cli, argc, argv, detach, &err);
    if (req == NULL)
        return cli_run_parse_failed(cli, err);
    char *const *attach_list = cli_list(cli, "attach");
    if (detach && attach_list && attach_list[0]) {
        fprintf(cli->err, "conflicting options: cannot specify both --attach and --detach\n");
        return 1;
    }
    const char *keys = cli_string(cli, "detach-keys");
    if (check_detach_keys(keys, &err) < 0)
        return cli_fail(cli, err);
    bool tty = json_is_true(json_object_get(req, "Tty"));
    bool in = json_is_true(json_object_get(req, "AttachStdin"));
    bool out = json_is_true(json_object_get(req, "AttachStdout"));
    bool errs = json_is_true(json_object_get(req, "AttachStderr"));
    if (!detach && tty && in && !cli->in_is_tty) {
        fprintf(cli->err, "the input device is not a TTY\n");
        return 1;
    }
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    char id[65];
    if (create_container(cli, api, req, id, &err) < 0)
        return run_failed(cli, err, cli_start_status(err->msg));
    bool auto_remove = cli_bool(cli, "rm");
    if (!in && !out && !errs) {
        fprintf(cli->out, "%s\n", id);
        fflush(cli->out);
        if (start_container(api, id, &err) < 0)
            return run_failed(cli, err, cli_start_status(err->msg));
        return 0;
    }
    _cleanup_free_ char *apath = attach_path(id, in, out, errs, keys);
    _cleanup_(cli_conn_freep) struct cli_conn *conn = NULL;
    _cleanup_(cli_conn_freep) struct cli_conn *wait = NULL;
    if (cli_conn_open(api, "POST", apath, NULL, true, &conn, &err) < 0 ||
        cli_wait_open(api, id, auto_remove ? "removed" : "next-exit", &wait, &err) < 0)
        return cli_fail(cli, err);
    if (start_container(api, id, &err) < 0) {
        cli_conn_freep(&conn);
        if (auto_remove) {
            struct berr *ignored = NULL;
            cli_wait_status(cli, wait, &ignored);
            berr_free(ignored);
        }
        return run_failed(cli, err, cli_start_status(err->msg));
    }
    struct cli_session s = {
        .api = api,
        .id = id,
        .tty = tty,
        .in = in,
        .out = out,
        .err = errs,
        .sig_proxy = cli_bool(cli, "sig-proxy"),
        .resize = tty && cli->out_is_tty,
        .detach_keys = keys,
        .wait = wait,
    };
    int rc = cli_session_run(cli, conn, &s, &err);
    if (rc < 0)
        return cli_fail(cli, err);
    if (rc == 1)
        return 0;
    int status = cli_wait_status(cli, wait, &err);
    if (status < 0)
        return cli_fail(cli, err);
    return status;
}

static int run_create(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    if (check_pull_option(cli, &err) < 0)
        return run_failed(cli, err, CLI_EXIT_USAGE);
    _cleanup_json_ json_t *req = cli_container_request(cli, argc, argv, false, &err);
    if (req == NULL)
        return cli_run_parse_failed(cli, err);
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    char id[65];
    if (create_container(cli, api, req, id, &err) < 0)
        return cli_fail(cli, err);
    fprintf(cli->out, "%s\n", id);
    return 0;
}

const struct cli_command cli_cmd_run = {
    .name = "run",
    .usage = "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    .short_desc = "Create and run a new container from an image",
    .flags = cli_run_flags,
    .min_args = 1,
    .max_args = -1,
    .flags_first = true,
    .run = run_run,
};

const struct cli_command cli_cmd_create = {
    .name = "create",
    .usage = "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    .short_desc = "Create a new container",
    .flags = cli_create_flags,
    .min_args = 1,
    .max_args = -1,
    .flags_first = true,
    .run = run_create,
};

/* ---- start ---- */

/* The attached flow of start -a / -i and of attach: one container, already inspected. */
static int attached(struct cli *cli, struct cli_api *api, json_t *info, bool start, bool in,
                    bool sig_proxy, const char *keys)
{
    struct berr *err = NULL;
    const char *id = json_string_value(json_object_get(info, "Id"));
    json_t *config = json_object_get(info, "Config");
    bool tty = json_is_true(json_object_get(config, "Tty"));
    bool auto_remove =
        json_is_true(json_object_get(json_object_get(info, "HostConfig"), "AutoRemove"));
    if (tty && in && !cli->in_is_tty) {
        fprintf(cli->err, "the input device is not a TTY\n");
        return 1;
    }
    const char *cond = start ? (auto_remove ? "removed" : "next-exit") : "not-running";
    _cleanup_free_ char *apath = attach_path(id, in, true, true, keys);
    _cleanup_(cli_conn_freep) struct cli_conn *conn = NULL;
    _cleanup_(cli_conn_freep) struct cli_conn *wait = NULL;
    if (cli_wait_open(api, id, cond, &wait, &err) < 0 ||
        cli_conn_open(api, "POST", apath, NULL, true, &conn, &err) < 0)
        return cli_fail(cli, err);
    if (start && start_container(api, id, &err) < 0) {
        cli_conn_freep(&conn);
        if (auto_remove) {
            struct berr *ignored = NULL;
            cli_wait_status(cli, wait, &ignored);
            berr_free(ignored);
        }
        return cli_fail(cli, err);
    }
    struct cli_session s = {
        .api = api,
        .id = id,
        .tty = tty,
        .in = in,
        .out = true,
        .err = true,
        .sig_proxy = sig_proxy && !tty,
        .resize = tty && cli->out_is_tty,
        .detach_keys = keys,
    };
    int rc = cli_session_run(cli, conn, &s, &err);
    if (rc < 0)
        return cli_fail(cli, err);
    if (rc == 1)
        return 0;
    int status = cli_wait_status(cli, wait, &err);
    return status < 0 ? cli_fail(cli, err) : status;
}

static json_t *inspect(struct cli_api *api, const char *ref, struct berr **err)
{
    _cleanup_free_ char *path = cli_ctr_path(ref, "/json");
    json_t *info = NULL;
    if (cli_api_call(api, "GET", path, NULL, &info, err) < 0)
        return NULL;
    if (!json_is_object(info) || !json_is_string(json_object_get(info, "Id"))) {
        json_decref(info);
        return berr_code(err, EPROTO, "the daemon's inspect answer for %s has no Id", ref), NULL;
    }
    return info;
}

static int run_start(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    const char *keys = cli_string(cli, "detach-keys");
    if (check_detach_keys(keys, &err) < 0)
        return cli_fail(cli, err);
    bool attach = cli_bool(cli, "attach"), interactive = cli_bool(cli, "interactive");
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    if (attach || interactive) {
        if (argc > 1) {
            fprintf(cli->err, "you cannot start and attach multiple containers at once\n");
            return 1;
        }
        _cleanup_json_ json_t *info = inspect(api, argv[0], &err);
        if (info == NULL)
            return cli_fail(cli, err);
        bool open_stdin =
            json_is_true(json_object_get(json_object_get(info, "Config"), "OpenStdin"));
        return attached(cli, api, info, true, interactive && open_stdin, true, keys);
    }
    _cleanup_strv_ char **failed = xcalloc(1, sizeof(char *));
    for (int i = 0; i < argc; i++) {
        if (start_container(api, argv[i], &err) < 0) {
            fprintf(cli->err, "%s\n", err->msg);
            berr_free(err);
            err = NULL;
            strv_append(&failed, argv[i]);
            continue;
        }
        fprintf(cli->out, "%s\n", argv[i]);
    }
    if (failed[0] == NULL)
        return 0;
    fprintf(cli->err, "Error: failed to start containers: ");
    for (size_t i = 0; failed[i]; i++)
        fprintf(cli->err, "%s%s", i ? ", " : "", failed[i]);
    fputc('\n', cli->err);
    return 1;
}

static const struct cli_flag start_flags[] = {
    {"attach", 'a', CLI_FLAG_BOOL, "Attach STDOUT/STDERR and forward signals"},
    {"detach-keys", 0, CLI_FLAG_STRING, "Override the key sequence for detaching a container"},
    {"interactive", 'i', CLI_FLAG_BOOL, "Attach container's STDIN"},
    {NULL},
};

const struct cli_command cli_cmd_start = {
    .name = "start",
    .usage = "[OPTIONS] CONTAINER [CONTAINER...]",
    .short_desc = "Start one or more stopped containers",
    .flags = start_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_start,
};

/* ---- attach ---- */

static int run_attach(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    struct berr *err = NULL;
    const char *keys = cli_string(cli, "detach-keys");
    if (check_detach_keys(keys, &err) < 0)
        return cli_fail(cli, err);
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_json_ json_t *info = inspect(api, argv[0], &err);
    if (info == NULL)
        return cli_fail(cli, err);
    json_t *state = json_object_get(info, "State");
    if (!json_is_true(json_object_get(state, "Running"))) {
        fprintf(cli->err, "You cannot attach to a stopped container, start it first\n");
        return 1;
    }
    if (json_is_true(json_object_get(state, "Paused"))) {
        fprintf(cli->err, "You cannot attach to a paused container, unpause it first\n");
        return 1;
    }
    bool open_stdin = json_is_true(json_object_get(json_object_get(info, "Config"), "OpenStdin"));
    return attached(cli, api, info, false, !cli_bool(cli, "no-stdin") && open_stdin,
                    cli_bool(cli, "sig-proxy"), keys);
}

static const struct cli_flag attach_flags[] = {
    {"detach-keys", 0, CLI_FLAG_STRING, "Override the key sequence for detaching a container"},
    {"no-stdin", 0, CLI_FLAG_BOOL, "Do not attach STDIN"},
    {"sig-proxy", 0, CLI_FLAG_BOOL, "Proxy all received signals to the process", "true"},
    {NULL},
};

const struct cli_command cli_cmd_attach = {
    .name = "attach",
    .usage = "[OPTIONS] CONTAINER",
    .short_desc = "Attach local standard input, output, and error streams to a running container",
    .flags = attach_flags,
    .min_args = 1,
    .max_args = 1,
    .run = run_attach,
};
