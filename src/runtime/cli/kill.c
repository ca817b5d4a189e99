/* `kill` and `delete`. */
#include "common/cleanup.h"
#include "runtime/cli/cli.h"
#include "runtime/container.h"

#include <signal.h>
#include <stdio.h>

int cmd_kill(struct cli_globals *g, int argc, char **argv)
{
    bool all = false, help = false;
    const struct cli_flag flags[] = {
        {"all", 'a', FLAG_BOOL, &all},
        {"help", 'h', FLAG_BOOL, &help},
        {NULL, 0, 0, NULL},
    };
    int nrest;
    char **rest;
    struct berr *err = NULL;
    if (cli_parse(argc, argv, flags, &nrest, &rest, &err) < 0)
        return cli_fail(err);
    if (help) {
        printf("usage: berth-runc kill [--all] ID [SIGNAL]\n");
        return 0;
    }
    if (nrest < 1 || nrest > 2)
        return cli_usage_error("kill", "expected a container id and an optional signal");
    int sig = SIGTERM;
    if (nrest == 2) {
        sig = cli_parse_signal(rest[1]);
        if (sig < 0)
            return cli_usage_error("kill", "unknown signal \"%s\"", rest[1]);
    }
    return rt_container_kill(g->root, rest[0], sig, all, &err) < 0 ? cli_fail(err) : 0;
}

int cmd_delete(struct cli_globals *g, int argc, char **argv)
{
    bool force = false, help = false;
    const struct cli_flag flags[] = {
        {"force", 'f', FLAG_BOOL, &force},
        {"help", 'h', FLAG_BOOL, &help},
        {NULL, 0, 0, NULL},
    };
    int nrest;
    char **rest;
    struct berr *err = NULL;
    if (cli_parse(argc, argv, flags, &nrest, &rest, &err) < 0)
        return cli_fail(err);
    if (help) {
        printf("usage: berth-runc delete [--force] ID...\n");
        return 0;
    }
    if (nrest < 1)
        return cli_usage_error("delete", "expected at least one container id");
    int rc = 0;
    for (int i = 0; i < nrest; i++) {
        struct berr *e = NULL;
        if (rt_container_delete(g->root, rest[i], force, &e) < 0) {
            /* runc: --force on a container that does not exist is not an error. */
            if (force && e->errnum == ENOENT) {
                berr_free(e);
                continue;
            }
            rc = cli_fail(e);
        }
    }
    return rc;
}
