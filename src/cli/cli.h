/* The berth command line: the context every command runs with, the command descriptor, and
 * the front end that turns a descriptor and argv into help text, docker-worded usage errors
 * or a call of the command's run function. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/flags.h"
#include "common/err.h"

/* Exit status of usage errors (bad flags), as docker's; a wrong number of arguments and an
 * unknown command exit with 1, like any failed command. */
#define CLI_EXIT_USAGE 125

struct cli_api;

struct cli {
    const char *root;    /* data root: --root, else $BERTH_ROOT, else /var/lib/berth */
    const char *host;    /* the daemon: -H, else $BERTH_HOST, else unix:///run/berth/berth.sock */
    struct cli_api *api; /* connected on first use (cli_api_get in client.h) */
    const char *config_dir; /* client config: --config, else $BERTH_CONFIG, else ~/.berth */
    bool debug;             /* -D */
    FILE *in, *out, *err;
    bool in_is_tty, out_is_tty;
    int term_width; /* columns of the terminal on stdout; 0 when stdout is not one */
    /* Set by cli_command_exec for the command that runs: */
    const struct cli_command *cmd;
    const char *cmd_path;      /* "berth image ls", for messages */
    struct cli_flagset *flags; /* its parsed flags (read them with cli_bool() etc.) */
};

struct cli_command {
    const char *name;             /* "ls" */
    const char *const *aliases;   /* NULL or NULL-terminated: more names ("list") */
    const char *usage;            /* what follows the command path on the Usage line */
    const char *short_desc;       /* one line, for command lists */
    const char *long_desc;        /* help text; NULL: short_desc */
    const struct cli_flag *flags; /* NULL, or a table ending in a NULL name */
    int min_args, max_args;       /* positional arguments; max_args < 0: no limit */
    bool flags_first;             /* the first positional argument ends the flags */
    /* argv holds the positional arguments only (flags are in cli->flags); returns the exit
     * status: 0, or 1 after printing the error (cli_fail). */
    int (*run)(struct cli *cli, int argc, char **argv);
};

/* Run cmd on argv (the words after the command path). path is "berth image ls"; aliases is the
 * text of help's Aliases section ("berth image ls, berth image list, berth images") or NULL.
 * Prints help for --help; on a flag error prints docker's message and usage hint on cli->err
 * and returns 125; on a wrong argument count returns 1; else returns cmd->run's status. */
int cli_command_exec(struct cli *cli, const struct cli_command *cmd, const char *path,
                     const char *aliases, int argc, char **argv);
/* The help text cli_command_exec prints for --help (a new string). */
char *cli_command_help(const struct cli_command *cmd, const char *path, const char *aliases,
                       int cols);
/* Columns that help text wraps to, as docker: the terminal width of stdin, else 80; minus 1. */
int cli_help_columns(void);

/* Report a failed command: print err's message on cli->err, free err, return 1. */
int cli_fail(struct cli *cli, struct berr *err);
/* A usage error found by the command itself (conflicting flags, a bad value): prints
 * "berth: MSG", the Usage line and the --help hint, and returns 125. */
int cli_usage_error(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The running command's flags (see cli_flagset_bool and friends in flags.h). */
bool cli_bool(const struct cli *cli, const char *name);
const char *cli_string(const struct cli *cli, const char *name);
char *const *cli_list(const struct cli *cli, const char *name);
int64_t cli_int(const struct cli *cli, const char *name);
uint64_t cli_uint64(const struct cli *cli, const char *name);
bool cli_changed(const struct cli *cli, const char *name);

/* <config_dir>/config.json, where login keeps credentials (a new string). */
char *cli_config_file(const struct cli *cli);

/* The commands, one file each (cmd_<file>.c); main.c's table places them in docker's groups:
 * images is "image ls", "image list" and "images"; rmi is "image rm", "image remove" and
 * "rmi"; image_inspect is "image inspect"; system_* are under "system". */
extern const struct cli_command cli_cmd_pull, cli_cmd_push, cli_cmd_images, cli_cmd_image_inspect,
    cli_cmd_tag, cli_cmd_rmi, cli_cmd_history, cli_cmd_save, cli_cmd_load, cli_cmd_import,
    cli_cmd_image_prune, cli_cmd_login, cli_cmd_logout, cli_cmd_system_df, cli_cmd_system_prune,
    cli_cmd_image_mount, cli_cmd_image_unmount;
/* Containers, through berthd's API (one file each, or a few small ones together: cmd_run.c
 * has run, create, start and attach; cmd_container.c the short lifecycle verbs). inspect is
 * the top-level one (containers, then images); container_inspect is "container inspect". */
extern const struct cli_command cli_cmd_run, cli_cmd_create, cli_cmd_start, cli_cmd_attach,
    cli_cmd_stop, cli_cmd_restart, cli_cmd_kill, cli_cmd_pause, cli_cmd_unpause, cli_cmd_rm,
    cli_cmd_wait, cli_cmd_rename, cli_cmd_container_prune, cli_cmd_port, cli_cmd_ps, cli_cmd_logs,
    cli_cmd_exec, cli_cmd_inspect, cli_cmd_container_inspect;
/* More container commands over the API: cmd_stats.c (top, stats, update), cmd_cp.c (cp,
 * export), cmd_commit.c (diff, commit). */
extern const struct cli_command cli_cmd_top, cli_cmd_stats, cli_cmd_update, cli_cmd_cp,
    cli_cmd_export, cli_cmd_diff, cli_cmd_commit;
/* Volumes and the system over the API: cmd_volume.c ("volume create/ls/inspect/rm/prune"),
 * cmd_events.c (events, "system events"), cmd_info.c (info, "system info"). */
extern const struct cli_command cli_cmd_volume_create, cli_cmd_volume_ls, cli_cmd_volume_inspect,
    cli_cmd_volume_rm, cli_cmd_volume_prune, cli_cmd_events, cli_cmd_info;
