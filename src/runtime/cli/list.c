/* `list` and `ps`. */
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "runtime/cli/cli.h"
#include "runtime/container.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int cmd_list(struct cli_globals *g, int argc, char **argv)
{
    const char *format = "table";
    bool quiet = false, help = false;
    const struct cli_flag flags[] = {
        {"format", 'f', FLAG_STRING, &format},
        {"quiet", 'q', FLAG_BOOL, &quiet},
        {"help", 'h', FLAG_BOOL, &help},
        {NULL, 0, 0, NULL},
    };
    int nrest;
    char **rest;
    struct berr *err = NULL;
    if (cli_parse(argc, argv, flags, &nrest, &rest, &err) < 0)
        return cli_fail(err);
    if (help) {
        printf("usage: berth-runc list [--format table|json] [--quiet]\n");
        return 0;
    }
    if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
        return cli_usage_error("list", "unknown format \"%s\" (table or json)", format);
    _cleanup_json_ json_t *arr = rt_container_list(g->root, &err);
    if (arr == NULL)
        return cli_fail(err);
    size_t i;
    json_t *c;
    if (quiet) {
        json_array_foreach(arr, i, c) printf("%s\n", json_string_value(json_object_get(c, "id")));
        return 0;
    }
    if (strcmp(format, "json") == 0) {
        cli_print_json(arr, false);
        return 0;
    }
    printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
           "OWNER");
    json_array_foreach(arr, i, c)
    {
        printf("%-12s %-8lld %-10s %-40s %-30s %s\n",
               json_string_value(json_object_get(c, "id")),
               (long long)json_integer_value(json_object_get(c, "pid")),
               json_string_value(json_object_get(c, "status")),
               json_string_value(json_object_get(c, "bundle")),
               json_string_value(json_object_get(c, "created")),
               json_string_value(json_object_get(c, "owner")));
    }
    return 0;
}

static bool pid_in(pid_t p, const pid_t *pids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] == p)
            return true;
    return false;
}

/* Table form: run ps(1) with the user's options and keep the header and our lines, finding the
 * PID column from the header as runc does. */
static int ps_table(char **ps_args, int nargs, const pid_t *pids, size_t n, struct berr **err)
{
    _cleanup_free_ char *cmd = xstrdup("ps");
    if (nargs == 0) {
        free(cmd);
        cmd = xstrdup("ps -ef");
    }
    for (int i = 0; i < nargs; i++) {
        for (const char *p = ps_args[i]; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-=,_:%",
                        *p))
                return berr_set(err, EINVAL, "ps: unsupported character in option \"%s\"",
                                ps_args[i]);
        char *next = xasprintf("%s %s", cmd, ps_args[i]);
        free(cmd);
        cmd = next;
    }
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return berr_sys(err, "run ps");
    char line[4096];
    int pid_col = -1;
    bool header = true;
    while (fgets(line, sizeof(line), f)) {
        if (header) {
            _cleanup_free_ char *copy = xstrdup(line);
            char *save = NULL;
            int col = 0;
            for (char *tok = strtok_r(copy, " \t\n", &save); tok;
                 tok = strtok_r(NULL, " \t\n", &save), col++)
                if (strcmp(tok, "PID") == 0)
                    pid_col = col;
            fputs(line, stdout);
            header = false;
            if (pid_col < 0) {
                pclose(f);
                return berr_set(err, EINVAL, "ps: no PID column in the output of \"%s\"", cmd);
            }
            continue;
        }
        _cleanup_free_ char *copy = xstrdup(line);
        char *save = NULL;
        int col = 0;
        for (char *tok = strtok_r(copy, " \t\n", &save); tok;
             tok = strtok_r(NULL, " \t\n", &save), col++) {
            if (col == pid_col) {
                if (pid_in((pid_t)atoi(tok), pids, n))
                    fputs(line, stdout);
                break;
            }
        }
    }
    int st = pclose(f);
    if (st != 0)
        return berr_set(err, ECHILD, "\"%s\" failed (status %d)", cmd, WEXITSTATUS(st));
    return 0;
}

int cmd_ps(struct cli_globals *g, int argc, char **argv)
{
    const char *format = "table";
    bool help = false;
    const struct cli_flag flags[] = {
        {"format", 'f', FLAG_STRING, &format},
        {"help", 'h', FLAG_BOOL, &help},
        {NULL, 0, 0, NULL},
    };
    int nrest;
    char **rest;
    struct berr *err = NULL;
    if (cli_parse(argc, argv, flags, &nrest, &rest, &err) < 0)
        return cli_fail(err);
    if (help) {
        printf("usage: berth-runc ps [--format table|json] ID [ps options]\n");
        return 0;
    }
    if (nrest < 1)
        return cli_usage_error("ps", "expected a container id");
    if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
        return cli_usage_error("ps", "unknown format \"%s\" (table or json)", format);
    _cleanup_free_ pid_t *pids = NULL;
    size_t n = 0;
    if (rt_container_pids(g->root, rest[0], &pids, &n, &err) < 0)
        return cli_fail(err);
    if (strcmp(format, "json") == 0) {
        _cleanup_json_ json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_integer(pids[i]));
        cli_print_json(arr, false);
        return 0;
    }
    if (ps_table(rest + 1, nrest - 1, pids, n, &err) < 0)
        return cli_fail(err);
    return 0;
}
