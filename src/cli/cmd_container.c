/* The short container verbs: stop, restart, kill, pause, unpause, rm, wait, rename, port and
 * container prune. Each names its containers on stdout as it succeeds and lists the daemon's
 * errors on stderr after, with docker's words and exit status 1 when any failed. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/rows.h"
#include "cli/common.h"
#include "cli/container.h"
#include "cli/format.h"
#include "common/cleanup.h"
#include "common/human.h"
#include "common/strv.h"
#include "common/xalloc.h"

struct errors {
    char **msgs;
};

static void errors_add(struct errors *e, struct berr *err)
{
    if (e->msgs == NULL)
        e->msgs = xcalloc(1, sizeof(char *));
    strv_append(&e->msgs, err->msg);
    berr_free(err);
}

/* Prints the collected errors; the command's exit status. */
static int errors_done(struct cli *cli, struct errors *e)
{
    if (e->msgs == NULL)
        return 0;
    for (size_t i = 0; e->msgs[i]; i++)
        fprintf(cli->err, "%s\n", e->msgs[i]);
    strv_free(e->msgs);
    e->msgs = NULL;
    return 1;
}

/* POST /containers/{ref}<suffix> for each argument, printing the argument on success. */
static int each_post(struct cli *cli, int argc, char **argv, const char *suffix)
{
    struct berr *err = NULL;
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    struct errors errs = {0};
    for (int i = 0; i < argc; i++) {
        _cleanup_free_ char *path = cli_ctr_path(argv[i], suffix);
        if (cli_api_call(api, "POST", path, NULL, NULL, &err) < 0) {
            errors_add(&errs, err);
            err = NULL;
            continue;
        }
        fprintf(cli->out, "%s\n", argv[i]);
    }
    return errors_done(cli, &errs);
}

/* ---- stop, restart ---- */

static int run_stop_restart(struct cli *cli, int argc, char **argv, const char *verb)
{
    const char *sig = cli_string(cli, "signal");
    _cleanup_free_ char *esig = cli_api_escape(sig);
    _cleanup_free_ char *t = cli_changed(cli, "timeout")
                                 ? xasprintf("t=%lld", (long long)cli_int(cli, "timeout"))
                                 : xstrdup("");
    _cleanup_free_ char *suffix =
        xasprintf("/%s?%s%s%s", verb, t, *sig && *t ? "&" : "", *sig ? "signal=" : "");
    _cleanup_free_ char *full = xasprintf("%s%s", suffix, *sig ? esig : "");
    return each_post(cli, argc, argv, full);
}

static int run_stop(struct cli *cli, int argc, char **argv)
{
    return run_stop_restart(cli, argc, argv, "stop");
}

static int run_restart(struct cli *cli, int argc, char **argv)
{
    return run_stop_restart(cli, argc, argv, "restart");
}

static const struct cli_flag stop_flags[] = {
    {"signal", 's', CLI_FLAG_STRING, "Signal to send to the container"},
    {"timeout", 't', CLI_FLAG_INT, "Seconds to wait before killing the container"},
    {NULL},
};

const struct cli_command cli_cmd_stop = {
    .name = "stop",
    .usage = "[OPTIONS] CONTAINER [CONTAINER...]",
    .short_desc = "Stop one or more running containers",
    .flags = stop_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_stop,
};

const struct cli_command cli_cmd_restart = {
    .name = "restart",
    .usage = "[OPTIONS] CONTAINER [CONTAINER...]",
    .short_desc = "Restart one or more containers",
    .flags = stop_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_restart,
};

/* ---- kill, pause, unpause ---- */

static int run_kill(struct cli *cli, int argc, char **argv)
{
    const char *sig = cli_string(cli, "signal");
    _cleanup_free_ char *esig = cli_api_escape(sig);
    _cleanup_free_ char *suffix = *sig ? xasprintf("/kill?signal=%s", esig) : xstrdup("/kill");
    return each_post(cli, argc, argv, suffix);
}

static const struct cli_flag kill_flags[] = {
    {"signal", 's', CLI_FLAG_STRING, "Signal to send to the container"},
    {NULL},
};

const struct cli_command cli_cmd_kill = {
    .name = "kill",
    .usage = "[OPTIONS] CONTAINER [CONTAINER...]",
    .short_desc = "Kill one or more running containers",
    .flags = kill_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_kill,
};

static int run_pause(struct cli *cli, int argc, char **argv)
{
    return each_post(cli, argc, argv, "/pause");
}

static int run_unpause(struct cli *cli, int argc, char **argv)
{
    return each_post(cli, argc, argv, "/unpause");
}

const struct cli_command cli_cmd_pause = {
    .name = "pause",
    .usage = "CONTAINER [CONTAINER...]",
    .short_desc = "Pause all processes within one or more containers",
    .min_args = 1,
    .max_args = -1,
    .run = run_pause,
};

const struct cli_command cli_cmd_unpause = {
    .name = "unpause",
    .usage = "CONTAINER [CONTAINER...]",
    .short_desc = "Unpause all processes within one or more containers",
    .min_args = 1,
    .max_args = -1,
    .run = run_unpause,
};

/* ---- rm ---- */

static int run_rm(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    if (cli_bool(cli, "link")) {
        fprintf(cli->err, "Error response from daemon: legacy links are not supported\n");
        return 1;
    }
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    bool force = cli_bool(cli, "force");
    _cleanup_free_ char *suffix =
        xasprintf("?force=%d&v=%d", force ? 1 : 0, cli_bool(cli, "volumes") ? 1 : 0);
    struct errors errs = {0};
    for (int i = 0; i < argc; i++) {
        const char *name = argv[i];
        while (*name == '/')
            name++;
        _cleanup_free_ char *trimmed = xstrdup(name);
        size_t len = strlen(trimmed);
        while (len > 0 && trimmed[len - 1] == '/')
            trimmed[--len] = '\0';
        if (len == 0) {
            errors_add(&errs, berr_new(0, "container name cannot be empty"));
            continue;
        }
        _cleanup_free_ char *path = cli_ctr_path(trimmed, suffix);
        if (cli_api_call(api, "DELETE", path, NULL, NULL, &err) < 0) {
            if (force && err->errnum == ENOENT)
                berr_free(err);
            else
                errors_add(&errs, err);
            err = NULL;
            continue;
        }
        fprintf(cli->out, "%s\n", argv[i]);
    }
    return errors_done(cli, &errs);
}

static const struct cli_flag rm_flags[] = {
    {"force", 'f', CLI_FLAG_BOOL, "Force the removal of a running container (uses SIGKILL)"},
    {"link", 'l', CLI_FLAG_BOOL, "Remove the specified link"},
    {"volumes", 'v', CLI_FLAG_BOOL, "Remove anonymous volumes associated with the container"},
    {NULL},
};

static const char *const rm_aliases[] = {"remove", NULL};

const struct cli_command cli_cmd_rm = {
    .name = "rm",
    .aliases = rm_aliases,
    .usage = "[OPTIONS] CONTAINER [CONTAINER...]",
    .short_desc = "Remove one or more containers",
    .flags = rm_flags,
    .min_args = 1,
    .max_args = -1,
    .run = run_rm,
};

/* ---- wait ---- */

static int run_wait(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    struct errors errs = {0};
    for (int i = 0; i < argc; i++) {
        _cleanup_(cli_conn_freep) struct cli_conn *w = NULL;
        if (cli_wait_open(api, argv[i], "not-running", &w, &err) < 0) {
            errors_add(&errs, err);
            err = NULL;
            continue;
        }
        _cleanup_json_ json_t *res = cli_conn_read_json(w, &err);
        if (res == NULL) {
            errors_add(&errs, err);
            err = NULL;
            continue;
        }
        fprintf(cli->out, "%lld\n",
                (long long)json_integer_value(json_object_get(res, "StatusCode")));
        fflush(cli->out);
    }
    return errors_done(cli, &errs);
}

const struct cli_command cli_cmd_wait = {
    .name = "wait",
    .usage = "CONTAINER [CONTAINER...]",
    .short_desc = "Block until one or more containers stop, then print their exit codes",
    .min_args = 1,
    .max_args = -1,
    .run = run_wait,
};

/* ---- rename ---- */

static int run_rename(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    struct berr *err = NULL;
    const char *old = argv[0], *new_name = argv[1];
    while (*new_name == '/')
        new_name++;
    if (*old == '\0' || *new_name == '\0') {
        fprintf(cli->err, "Error: Neither old nor new names may be empty\n");
        return 1;
    }
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_free_ char *ename = cli_api_escape(new_name);
    _cleanup_free_ char *suffix = xasprintf("/rename?name=%s", ename);
    _cleanup_free_ char *path = cli_ctr_path(old, suffix);
    if (cli_api_call(api, "POST", path, NULL, NULL, &err) < 0)
        return cli_fail(cli, err);
    return 0;
}

const struct cli_command cli_cmd_rename = {
    .name = "rename",
    .usage = "CONTAINER NEW_NAME",
    .short_desc = "Rename a container",
    .min_args = 2,
    .max_args = 2,
    .run = run_rename,
};

/* ---- port ---- */

/* docker sorts port lines in natural order */
static int by_natural(const void *a, const void *b)
{
    return cli_natural_cmp(*(char *const *)a, *(char *const *)b);
}

static char *host_port(json_t *binding)
{
    const char *ip = json_string_value(json_object_get(binding, "HostIp"));
    const char *port = json_string_value(json_object_get(binding, "HostPort"));
    if (ip == NULL || *ip == '\0')
        ip = "";
    if (strchr(ip, ':'))
        return xasprintf("[%s]:%s", ip, port ? port : "");
    return xasprintf("%s:%s", ip, port ? port : "");
}

static int run_port(struct cli *cli, int argc, char **argv)
{
    struct berr *err = NULL;
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_free_ char *path = cli_ctr_path(argv[0], "/json");
    _cleanup_json_ json_t *info = NULL;
    if (cli_api_call(api, "GET", path, NULL, &info, &err) < 0)
        return cli_fail(cli, err);
    json_t *ports = json_object_get(json_object_get(info, "NetworkSettings"), "Ports");
    _cleanup_strv_ char **lines = xcalloc(1, sizeof(char *));
    if (argc > 1) {
        _cleanup_free_ char *key =
            strchr(argv[1], '/') ? xstrdup(argv[1]) : xasprintf("%s/tcp", argv[1]);
        json_t *list = json_object_get(ports, key);
        if (!json_is_array(list) || json_array_size(list) == 0) {
            fprintf(cli->err, "Error: No public port '%s' published for %s\n", argv[1], argv[0]);
            return 1;
        }
        size_t i;
        json_t *b;
        json_array_foreach(list, i, b)
        {
            _cleanup_free_ char *hp = host_port(b);
            strv_append(&lines, hp);
        }
    } else {
        const char *key;
        json_t *list;
        json_object_foreach(ports, key, list)
        {
            size_t i;
            json_t *b;
            json_array_foreach(list, i, b)
            {
                _cleanup_free_ char *hp = host_port(b);
                _cleanup_free_ char *line = xasprintf("%s -> %s", key, hp);
                strv_append(&lines, line);
            }
        }
    }
    qsort(lines, strv_length(lines), sizeof(char *), by_natural);
    for (size_t i = 0; lines[i]; i++)
        fprintf(cli->out, "%s\n", lines[i]);
    return 0;
}

const struct cli_command cli_cmd_port = {
    .name = "port",
    .usage = "CONTAINER [PRIVATE_PORT[/PROTO]]",
    .short_desc = "List port mappings or a specific mapping for the container",
    .min_args = 1,
    .max_args = 2,
    .run = run_port,
};

/* ---- container prune ---- */

static int run_prune(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct berr *err = NULL;
    _cleanup_json_ json_t *filters = cli_filters(cli);
    if (!cli_bool(cli, "force") &&
        !cli_confirm(cli, "WARNING! This will remove all stopped containers."))
        return 0;
    struct cli_api *api = cli_api_get(cli, &err);
    if (api == NULL)
        return cli_fail(cli, err);
    _cleanup_free_ char *ftext = json_dumps(filters, JSON_COMPACT | JSON_SORT_KEYS);
    _cleanup_free_ char *ef = cli_api_escape(ftext);
    _cleanup_free_ char *path = xasprintf("/containers/prune?filters=%s", ef);
    _cleanup_json_ json_t *res = NULL;
    if (cli_api_call(api, "POST", path, NULL, &res, &err) < 0)
        return cli_fail(cli, err);
    json_t *deleted = json_object_get(res, "ContainersDeleted");
    json_int_t space = 0;
    if (json_array_size(deleted) > 0) {
        fprintf(cli->out, "Deleted Containers:\n");
        size_t i;
        json_t *id;
        json_array_foreach(deleted, i, id)
        {
            fprintf(cli->out, "%s\n", json_string_value(id) ? json_string_value(id) : "");
        }
        fputc('\n', cli->out);
        space = json_integer_value(json_object_get(res, "SpaceReclaimed"));
    }
    _cleanup_free_ char *size = human_size((double)space, 4);
    fprintf(cli->out, "Total reclaimed space: %s\n", size);
    return 0;
}

static const struct cli_flag prune_flags[] = {
    {"filter", 0, CLI_FLAG_FILTER, "Provide filter values (e.g. \"until=<timestamp>\")",
     .varname = "filter"},
    {"force", 'f', CLI_FLAG_BOOL, "Do not prompt for confirmation"},
    {NULL},
};

const struct cli_command cli_cmd_container_prune = {
    .name = "prune",
    .usage = "[OPTIONS]",
    .short_desc = "Remove all stopped containers",
    .flags = prune_flags,
    .min_args = 0,
    .max_args = 0,
    .run = run_prune,
};
