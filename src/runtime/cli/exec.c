/* `exec`. */
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "runtime/cli/cli.h"
#include "runtime/container.h"
#include "runtime/spec.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cmd_exec(struct cli_globals *g, int argc, char **argv)
{
    struct rt_exec_opts o = {.root = g->root};
    const char *process_file = NULL, *cwd = NULL, *user = NULL, *apparmor = NULL, *label = NULL,
               *cgroup = NULL;
    _cleanup_strv_ char **env = NULL, **caps = NULL, **gids = NULL;
    bool tty = false, nnp = false, help = false;
    const struct cli_flag flags[] = {
        {"process", 'p', FLAG_STRING, &process_file},
        {"tty", 't', FLAG_BOOL, &tty},
        {"cwd", 0, FLAG_STRING, &cwd},
        {"env", 'e', FLAG_STRINGS, &env},
        {"user", 'u', FLAG_STRING, &user},
        {"additional-gids", 'g', FLAG_STRINGS, &gids},
        {"cap", 'c', FLAG_STRINGS, &caps},
        {"no-new-privs", 0, FLAG_BOOL, &nnp},
        {"detach", 'd', FLAG_BOOL, &o.detach},
        {"pid-file", 0, FLAG_STRING, &o.pid_file},
        {"console-socket", 0, FLAG_STRING, &o.console_socket},
        {"preserve-fds", 0, FLAG_INT, &o.preserve_fds},
        {"apparmor", 0, FLAG_STRING, &apparmor},
        {"process-label", 0, FLAG_STRING, &label},
        {"ignore-paused", 0, FLAG_BOOL, &o.ignore_paused},
        {"cgroup", 0, FLAG_STRING, &cgroup},
        {"help", 'h', FLAG_BOOL, &help},
        {NULL, 0, 0, NULL},
    };
    int nrest;
    char **rest;
    struct berr *err = NULL;
    if (cli_parse(argc, argv, flags, &nrest, &rest, &err) < 0)
        return cli_fail(err);
    if (help) {
        printf("usage: berth-runc exec [options] ID [COMMAND [ARG...]]\n"
               "       berth-runc exec [options] --process FILE ID\n");
        return 0;
    }
    if (nrest < 1)
        return cli_usage_error("exec", "expected a container id");
    if (cgroup)
        return cli_usage_error("exec", "--cgroup is not supported by berth-runc");
    o.id = rest[0];
    _cleanup_json_ json_t *proc = NULL;
    if (process_file) {
        if (nrest > 1)
            return cli_usage_error("exec", "give either --process or a command, not both");
        size_t len;
        _cleanup_free_ char *text =
            strcmp(process_file, "-") == 0
                ? read_fd_all(STDIN_FILENO, "standard input", 4u << 20, &len, &err)
                : read_file_at(AT_FDCWD, process_file, 4u << 20, &len, &err);
        if (text == NULL)
            return cli_fail(err);
        json_error_t jerr;
        proc = rt_json_loadb(text, len, &jerr);
        if (proc == NULL)
            return cli_fail(berr_new(EINVAL, "%s: line %d, column %d: %s", process_file, jerr.line,
                                     jerr.column, jerr.text));
    } else {
        if (nrest < 2)
            return cli_usage_error("exec", "expected a command to run after the container id");
        _cleanup_strv_ char **args = strv_dup(rest + 1);
        proc = rt_exec_process_from_flags(g->root, o.id, args, env, cwd, user, caps, tty, nnp,
                                          apparmor, label, &err);
        if (proc == NULL)
            return cli_fail(err);
        if (gids) {
            json_t *u = json_object_get(proc, "user");
            if (!json_is_object(u)) {
                u = json_object();
                json_object_set_new(proc, "user", u);
            }
            json_t *arr = json_array();
            for (size_t i = 0; gids[i]; i++) {
                char *end;
                long v = strtol(gids[i], &end, 10);
                if (*end || v < 0)
                    return json_decref(arr),
                           cli_usage_error("exec", "--additional-gids: \"%s\" is not a gid",
                                           gids[i]);
                json_array_append_new(arr, json_integer(v));
            }
            json_object_set_new(u, "additionalGids", arr);
        }
    }
    o.process = proc;
    int status = 0;
    if (rt_container_exec(&o, &status, &err) < 0)
        return cli_fail(err);
    return o.detach ? 0 : status;
}
