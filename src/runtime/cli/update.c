/* `update`: new resource limits for a running container, from a JSON file or flags. */
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "runtime/cgroup.h"
#include "runtime/cli/cli.h"
#include "runtime/container.h"
#include "runtime/spec.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const update_flags[] = {
    "blkio-weight",  "cpu-period",        "cpu-quota",       "cpu-share",
    "cpu-rt-period", "cpu-rt-runtime",    "cpuset-cpus",     "cpuset-mems",
    "kernel-memory", "kernel-memory-tcp", "memory",          "memory-reservation",
    "memory-swap",   "pids-limit",        "l3-cache-schema", "mem-bw-schema",
};

int cmd_update(struct cli_globals *g, int argc, char **argv)
{
    const char *resources = NULL;
    bool help = false;
    const char *values[ARRAY_SIZE(update_flags)] = {0};
    struct cli_flag flags[ARRAY_SIZE(update_flags) + 3];
    size_t k = 0;
    flags[k++] = (struct cli_flag){"resources", 'r', FLAG_STRING, &resources};
    flags[k++] = (struct cli_flag){"help", 'h', FLAG_BOOL, &help};
    for (size_t i = 0; i < ARRAY_SIZE(update_flags); i++)
        flags[k++] = (struct cli_flag){update_flags[i], 0, FLAG_STRING, &values[i]};
    flags[k] = (struct cli_flag){NULL, 0, 0, NULL};

    int nrest;
    char **rest;
    struct berr *err = NULL;
    if (cli_parse(argc, argv, flags, &nrest, &rest, &err) < 0)
        return cli_fail(err);
    if (help) {
        printf("usage: berth-runc update [--resources FILE|-] [--memory N] [--pids-limit N] ... "
               "ID\n");
        return 0;
    }
    if (nrest != 1)
        return cli_usage_error("update", "expected exactly one container id");
    struct rt_resources *res = NULL;
    if (resources) {
        size_t len;
        /* "-" is our standard input, read as it is (no /dev/stdin needed) */
        _cleanup_free_ char *text =
            strcmp(resources, "-") == 0
                ? read_fd_all(STDIN_FILENO, "standard input", 4u << 20, &len, &err)
                : read_file_at(AT_FDCWD, resources, 4u << 20, &len, &err);
        if (text == NULL)
            return cli_fail(err);
        json_error_t jerr;
        _cleanup_json_ json_t *j = rt_json_loadb(text, len, &jerr);
        if (j == NULL)
            return cli_fail(berr_new(EINVAL, "%s: line %d, column %d: %s", resources, jerr.line,
                                     jerr.column, jerr.text));
        res = rt_resources_parse(j, resources, &err);
    } else {
        _cleanup_strv_ char **pairs = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(update_flags); i++) {
            if (values[i] == NULL)
                continue;
            strv_append(&pairs, update_flags[i]);
            strv_append(&pairs, values[i]);
        }
        if (pairs == NULL)
            return cli_usage_error("update", "nothing to update: give --resources or a flag");
        res = rt_resources_from_flags(pairs, &err);
    }
    if (res == NULL)
        return cli_fail(err);
    int rc = rt_container_update(g->root, rest[0], res, &err);
    rt_resources_free(res);
    return rc < 0 ? cli_fail(err) : 0;
}
