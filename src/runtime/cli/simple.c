/* The one-container commands with little to parse: start, state, pause, resume. */
#include "common/cleanup.h"
#include "runtime/cli/cli.h"
#include "runtime/container.h"

#include <errno.h>
#include <stdio.h>

static int one_id(const char *cmd, int argc, char **argv, const char **id)
{
    bool help = false;
    const struct cli_flag flags[] = {{"help", 'h', FLAG_BOOL, &help}, {NULL, 0, 0, NULL}};
    int nrest;
    char **rest;
    struct berr *err = NULL;
    if (cli_parse(argc, argv, flags, &nrest, &rest, &err) < 0)
        return cli_fail(err);
    if (help) {
        printf("usage: berth-runc %s ID\n", cmd);
        return 0;
    }
    if (nrest != 1)
        return cli_usage_error(cmd, "expected exactly one container id, got %d arguments", nrest);
    *id = rest[0];
    return -1;
}

int cmd_start(struct cli_globals *g, int argc, char **argv)
{
    const char *id;
    int rc = one_id("start", argc, argv, &id);
    if (rc >= 0)
        return rc;
    struct berr *err = NULL;
    return rt_container_start(g->root, id, &err) < 0 ? cli_fail(err) : 0;
}

int cmd_state(struct cli_globals *g, int argc, char **argv)
{
    const char *id;
    int rc = one_id("state", argc, argv, &id);
    if (rc >= 0)
        return rc;
    struct berr *err = NULL;
    _cleanup_json_ json_t *s = rt_container_state(g->root, id, &err);
    if (s == NULL)
        return cli_fail(err);
    cli_print_json(s, true);
    return 0;
}

int cmd_pause(struct cli_globals *g, int argc, char **argv)
{
    const char *id;
    int rc = one_id("pause", argc, argv, &id);
    if (rc >= 0)
        return rc;
    struct berr *err = NULL;
    return rt_container_pause(g->root, id, true, &err) < 0 ? cli_fail(err) : 0;
}

int cmd_resume(struct cli_globals *g, int argc, char **argv)
{
    const char *id;
    int rc = one_id("resume", argc, argv, &id);
    if (rc >= 0)
        return rc;
    struct berr *err = NULL;
    return rt_container_pause(g->root, id, false, &err) < 0 ? cli_fail(err) : 0;
}

int cmd_checkpoint(struct cli_globals *g, int argc, char **argv)
{
    return cli_fail(berr_new(EOPNOTSUPP, "%s: checkpoint/restore is not supported by berth-runc",
                             argv[0]));
}
