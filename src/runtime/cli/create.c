/* `create` and `run`. */
#include "common/cleanup.h"
#include "common/strv.h"
#include "runtime/cli/cli.h"
#include "runtime/container.h"

#include <stdio.h>
#include <string.h>

static int create_or_run(struct cli_globals *g, int argc, char **argv, bool run)
{
    struct rt_create_opts o = {.root = g->root, .run = run};
    bool help = false;
    const struct cli_flag flags[] = {
        {"bundle", 'b', FLAG_STRING, &o.bundle},
        {"console-socket", 0, FLAG_STRING, &o.console_socket},
        {"pid-file", 0, FLAG_STRING, &o.pid_file},
        {"no-pivot", 0, FLAG_BOOL, &o.no_pivot},
        {"no-new-keyring", 0, FLAG_BOOL, &o.no_new_keyring},
        {"preserve-fds", 0, FLAG_INT, &o.preserve_fds},
        {"detach", 'd', FLAG_BOOL, run ? &o.detach : NULL},
        {"keep", 0, FLAG_BOOL, run ? &o.keep : NULL},
        {"help", 'h', FLAG_BOOL, &help},
        {NULL, 0, 0, NULL},
    };
    const struct cli_flag *use = flags;
    struct cli_flag create_flags[ARRAY_SIZE(flags)];
    if (!run) {
        /* create has no --detach/--keep. */
        size_t k = 0;
        for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
            if (flags[i].name == NULL || flags[i].dest != NULL)
                create_flags[k++] = flags[i];
        use = create_flags;
    }
    const char *cmd = run ? "run" : "create";
    int nrest;
    char **rest;
    struct berr *err = NULL;
    if (cli_parse(argc, argv, use, &nrest, &rest, &err) < 0)
        return cli_fail(err);
    if (help) {
        printf("usage: berth-runc %s [--bundle DIR] [--console-socket PATH] [--pid-file FILE] "
               "[--no-pivot] [--no-new-keyring] [--preserve-fds N]%s ID\n",
               cmd, run ? " [--detach] [--keep]" : "");
        return 0;
    }
    if (nrest != 1)
        return cli_usage_error(cmd, "expected exactly one container id, got %d arguments", nrest);
    o.id = rest[0];
    int status = 0;
    if (rt_container_create(&o, &status, &err) < 0)
        return cli_fail(err);
    return run && !o.detach ? status : 0;
}

int cmd_create(struct cli_globals *g, int argc, char **argv)
{
    return create_or_run(g, argc, argv, false);
}

int cmd_run(struct cli_globals *g, int argc, char **argv)
{
    return create_or_run(g, argc, argv, true);
}
