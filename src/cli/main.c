/* berth's entry point: global flags, the table of commands with docker's grouping ("image ls",
 * and the top-level shortcuts such as "images"), help for the program and for groups, and
 * dispatch to the command's front end. Also `berth version`, which needs nothing else. */
#include "cli/cli.h"
#include "cli/common.h"
#include "cli/client.h"
#include "cli/format.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

static const struct cli_command cli_cmd_version;

enum section { IN_GROUP, COMMON, MANAGEMENT, OTHER };

/* Where a command is reachable: in a group ("image") under the command's own name and
 * aliases, or at the top level under name (the command's own when NULL). */
struct route {
    const char *group;
    const char *name;
    const struct cli_command *cmd;
    enum section section;
};

struct group {
    const char *name;
    const char *short_desc;
};

static const struct group groups[] = {
    {"container", "Manage containers"},
    {"image", "Manage images"},
    {"system", "Manage berth"},
    {"volume", "Manage volumes"},
};

/* Group routes come first so that help's Aliases line lists "berth image ls" before
 * "berth images", as docker does. Root help shows each section in table order. */
static const struct route routes[] = {
    {"container", NULL, &cli_cmd_attach, IN_GROUP},
    {"container", NULL, &cli_cmd_create, IN_GROUP},
    {"container", NULL, &cli_cmd_exec, IN_GROUP},
    {"container", NULL, &cli_cmd_container_inspect, IN_GROUP},
    {"container", NULL, &cli_cmd_kill, IN_GROUP},
    {"container", NULL, &cli_cmd_logs, IN_GROUP},
    {"container", NULL, &cli_cmd_ps, IN_GROUP},
    {"container", NULL, &cli_cmd_pause, IN_GROUP},
    {"container", NULL, &cli_cmd_port, IN_GROUP},
    {"container", NULL, &cli_cmd_container_prune, IN_GROUP},
    {"container", NULL, &cli_cmd_rename, IN_GROUP},
    {"container", NULL, &cli_cmd_restart, IN_GROUP},
    {"container", NULL, &cli_cmd_rm, IN_GROUP},
    {"container", NULL, &cli_cmd_run, IN_GROUP},
    {"container", NULL, &cli_cmd_start, IN_GROUP},
    {"container", NULL, &cli_cmd_stop, IN_GROUP},
    {"container", NULL, &cli_cmd_unpause, IN_GROUP},
    {"container", NULL, &cli_cmd_wait, IN_GROUP},
    {"container", NULL, &cli_cmd_top, IN_GROUP},
    {"container", NULL, &cli_cmd_stats, IN_GROUP},
    {"container", NULL, &cli_cmd_update, IN_GROUP},
    {"container", NULL, &cli_cmd_cp, IN_GROUP},
    {"container", NULL, &cli_cmd_export, IN_GROUP},
    {"container", NULL, &cli_cmd_diff, IN_GROUP},
    {"container", NULL, &cli_cmd_commit, IN_GROUP},
    {"image", NULL, &cli_cmd_history, IN_GROUP},
    {"image", NULL, &cli_cmd_import, IN_GROUP},
    {"image", NULL, &cli_cmd_image_inspect, IN_GROUP},
    {"image", NULL, &cli_cmd_load, IN_GROUP},
    {"image", NULL, &cli_cmd_images, IN_GROUP},
    {"image", NULL, &cli_cmd_image_mount, IN_GROUP},
    {"image", NULL, &cli_cmd_image_prune, IN_GROUP},
    {"image", NULL, &cli_cmd_pull, IN_GROUP},
    {"image", NULL, &cli_cmd_push, IN_GROUP},
    {"image", NULL, &cli_cmd_rmi, IN_GROUP},
    {"image", NULL, &cli_cmd_save, IN_GROUP},
    {"image", NULL, &cli_cmd_tag, IN_GROUP},
    {"image", NULL, &cli_cmd_image_unmount, IN_GROUP},
    {"system", NULL, &cli_cmd_system_df, IN_GROUP},
    {"system", NULL, &cli_cmd_events, IN_GROUP},
    {"system", NULL, &cli_cmd_info, IN_GROUP},
    {"volume", NULL, &cli_cmd_volume_create, IN_GROUP},
    {"volume", NULL, &cli_cmd_volume_ls, IN_GROUP},
    {"volume", NULL, &cli_cmd_volume_inspect, IN_GROUP},
    {"volume", NULL, &cli_cmd_volume_rm, IN_GROUP},
    {"volume", NULL, &cli_cmd_volume_prune, IN_GROUP},
    {"system", NULL, &cli_cmd_system_prune, IN_GROUP},
    {NULL, NULL, &cli_cmd_run, COMMON},
    {NULL, NULL, &cli_cmd_exec, COMMON},
    {NULL, "ps", &cli_cmd_ps, COMMON},
    {NULL, NULL, &cli_cmd_pull, COMMON},
    {NULL, NULL, &cli_cmd_push, COMMON},
    {NULL, "images", &cli_cmd_images, COMMON},
    {NULL, NULL, &cli_cmd_login, COMMON},
    {NULL, NULL, &cli_cmd_logout, COMMON},
    {NULL, NULL, &cli_cmd_version, COMMON},
    {NULL, NULL, &cli_cmd_attach, OTHER},
    {NULL, NULL, &cli_cmd_commit, OTHER},
    {NULL, NULL, &cli_cmd_cp, OTHER},
    {NULL, NULL, &cli_cmd_create, OTHER},
    {NULL, NULL, &cli_cmd_diff, OTHER},
    {NULL, NULL, &cli_cmd_events, OTHER},
    {NULL, NULL, &cli_cmd_export, OTHER},
    {NULL, NULL, &cli_cmd_history, OTHER},
    {NULL, NULL, &cli_cmd_import, OTHER},
    {NULL, NULL, &cli_cmd_info, OTHER},
    {NULL, NULL, &cli_cmd_inspect, OTHER},
    {NULL, NULL, &cli_cmd_kill, OTHER},
    {NULL, NULL, &cli_cmd_load, OTHER},
    {NULL, NULL, &cli_cmd_logs, OTHER},
    {NULL, NULL, &cli_cmd_pause, OTHER},
    {NULL, NULL, &cli_cmd_port, OTHER},
    {NULL, NULL, &cli_cmd_rename, OTHER},
    {NULL, NULL, &cli_cmd_restart, OTHER},
    {NULL, "rm", &cli_cmd_rm, OTHER},
    {NULL, "rmi", &cli_cmd_rmi, OTHER},
    {NULL, NULL, &cli_cmd_save, OTHER},
    {NULL, NULL, &cli_cmd_start, OTHER},
    {NULL, NULL, &cli_cmd_stats, OTHER},
    {NULL, NULL, &cli_cmd_stop, OTHER},
    {NULL, NULL, &cli_cmd_tag, OTHER},
    {NULL, NULL, &cli_cmd_top, OTHER},
    {NULL, NULL, &cli_cmd_unpause, OTHER},
    {NULL, NULL, &cli_cmd_update, OTHER},
    {NULL, NULL, &cli_cmd_wait, OTHER},
};

static const char *route_name(const struct route *r)
{
    return r->name ? r->name : r->cmd->name;
}

static bool group_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* A command's aliases count only under its own name ("image list", not "list"). */
static const struct route *find_route(const char *group, const char *name)
{
    for (size_t k = 0; k < ARRAY_SIZE(routes); k++) {
        const struct route *r = &routes[k];
        if (!group_eq(r->group, group))
            continue;
        if (strcmp(route_name(r), name) == 0)
            return r;
        for (const char *const *a = r->name ? NULL : r->cmd->aliases; a && *a; a++)
            if (strcmp(*a, name) == 0)
                return r;
    }
    return NULL;
}

static const struct group *find_group(const char *name)
{
    for (size_t k = 0; k < ARRAY_SIZE(groups); k++)
        if (strcmp(groups[k].name, name) == 0)
            return &groups[k];
    return NULL;
}

static char *route_path(const struct route *r)
{
    if (r->group)
        return xasprintf("berth %s %s", r->group, route_name(r));
    return xasprintf("berth %s", route_name(r));
}

/* "berth image ls, berth image list, berth images", or NULL when there is one path only. */
static char *aliases_of(const struct cli_command *cmd)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        abort();
    int count = 0;
    for (size_t k = 0; k < ARRAY_SIZE(routes); k++) {
        const struct route *r = &routes[k];
        if (r->cmd != cmd)
            continue;
        _cleanup_free_ char *path = route_path(r);
        fprintf(f, "%s%s", count++ ? ", " : "", path);
        for (const char *const *a = r->name ? NULL : cmd->aliases; a && *a; a++, count++) {
            if (r->group)
                fprintf(f, ", berth %s %s", r->group, *a);
            else
                fprintf(f, ", berth %s", *a);
        }
    }
    if (fclose(f) != 0)
        abort();
    if (count < 2) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int run_route(struct cli *cli, const struct route *r, int argc, char **argv)
{
    _cleanup_free_ char *path = route_path(r);
    _cleanup_free_ char *aliases = aliases_of(r->cmd);
    return cli_command_exec(cli, r->cmd, path, aliases, argc, argv);
}

/* cobra pads command names to the longest in the list, and to 11 at least */
static int name_padding(const char *group)
{
    size_t pad = 11;
    for (size_t k = 0; k < ARRAY_SIZE(routes); k++)
        if (group_eq(routes[k].group, group) && strlen(route_name(&routes[k])) > pad)
            pad = strlen(route_name(&routes[k]));
    return (int)pad;
}

static int by_route_name(const void *a, const void *b)
{
    return strcmp(route_name(*(const struct route *const *)a),
                  route_name(*(const struct route *const *)b));
}

static void group_help(struct cli *cli, const struct group *g)
{
    const struct route *members[ARRAY_SIZE(routes)];
    size_t n = 0;
    for (size_t k = 0; k < ARRAY_SIZE(routes); k++)
        if (group_eq(routes[k].group, g->name))
            members[n++] = &routes[k];
    qsort(members, n, sizeof(members[0]), by_route_name);
    fprintf(cli->out, "Usage:  berth %s COMMAND\n\n%s\n\nCommands:\n", g->name, g->short_desc);
    for (size_t k = 0; k < n; k++)
        fprintf(cli->out, "  %-*s %s\n", name_padding(g->name), route_name(members[k]),
                members[k]->cmd->short_desc);
    fprintf(cli->out, "\nRun 'berth %s COMMAND --help' for more information on a command.\n",
            g->name);
}

static void root_help(struct cli *cli, const struct cli_flag *globals)
{
    FILE *o = cli->out;
    int pad = name_padding(NULL);
    fputs("Usage:  berth [OPTIONS] COMMAND\n\nA container engine with docker's command line\n", o);
    fputs("\nCommon Commands:\n", o);
    for (size_t k = 0; k < ARRAY_SIZE(routes); k++)
        if (routes[k].section == COMMON)
            fprintf(o, "  %-*s %s\n", pad, route_name(&routes[k]), routes[k].cmd->short_desc);
    fputs("\nManagement Commands:\n", o);
    for (size_t k = 0; k < ARRAY_SIZE(groups); k++)
        fprintf(o, "  %-*s %s\n", pad, groups[k].name, groups[k].short_desc);
    fputs("\nCommands:\n", o);
    for (size_t k = 0; k < ARRAY_SIZE(routes); k++)
        if (routes[k].section == OTHER)
            fprintf(o, "  %-*s %s\n", pad, route_name(&routes[k]), routes[k].cmd->short_desc);
    _cleanup_free_ char *opts = cli_flags_usage(globals, cli_help_columns());
    fprintf(o,
            "\nGlobal Options:\n%s\nRun 'berth COMMAND --help' for more information on a "
            "command.\n",
            opts);
}

static int flag_error(struct cli *cli, const char *usage, const char *path, struct berr *err)
{
    fprintf(cli->err, "%s\n\nUsage:  %s\n\nRun '%s --help' for more information\n", err->msg, usage,
            path);
    berr_free(err);
    return CLI_EXIT_USAGE;
}

/* "berth help [GROUP] [COMMAND]" and "berth --help COMMAND": help for any path. */
static int help_topic(struct cli *cli, const struct cli_flag *globals, int argc, char **argv)
{
    if (argc == 0) {
        root_help(cli, globals);
        return 0;
    }
    const struct group *g = find_group(argv[0]);
    if (g && argc == 1) {
        group_help(cli, g);
        return 0;
    }
    const struct route *r = g ? find_route(g->name, argv[1]) : find_route(NULL, argv[0]);
    if (r == NULL || argc > (g ? 2 : 1)) {
        fprintf(cli->err, "unknown help topic: %s\n", argv[argc - 1]);
        return 1;
    }
    char help[] = "--help";
    char *args[] = {help, NULL};
    return run_route(cli, r, 1, args);
}

/* "berth image ...": the group's own flags (only --help) come before the subcommand. */
static int run_group(struct cli *cli, const struct group *g, const struct cli_flag *globals,
                     int argc, char **argv)
{
    _cleanup_free_ char *path = xasprintf("berth %s", g->name);
    _cleanup_(cli_flagset_freep) struct cli_flagset *fs = cli_flagset_new(NULL);
    struct berr *err = NULL;
    if (cli_flagset_parse(fs, argc, argv, false, &err) < 0)
        return flag_error(cli, path, path, err);
    int nargs = cli_flagset_nargs(fs);
    char **args = cli_flagset_args(fs);
    if (cli_flagset_bool(fs, "help")) {
        if (nargs == 0) {
            group_help(cli, g);
            return 0;
        }
        char *topic[] = {(char *)g->name, args[0]};
        return help_topic(cli, globals, 2, topic);
    }
    if (nargs == 0) {
        group_help(cli, g);
        return 0;
    }
    const struct route *r = find_route(g->name, args[0]);
    if (r == NULL) {
        fprintf(cli->err,
                "berth: unknown command: %s %s\n\nUsage:  %s\n\nRun '%s --help' for more "
                "information\n",
                path, args[0], path, path);
        return 1;
    }
    return run_route(cli, r, nargs - 1, args + 1);
}

static const char *home_dir(void)
{
    const char *home = getenv("HOME");
    if (home && *home)
        return home;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir ? pw->pw_dir : "/";
}

static int log_level_of(const char *name, enum blog_level *level)
{
    static const struct {
        const char *name;
        enum blog_level level;
    } levels[] = {
        {"debug", BLOG_DEBUG}, {"info", BLOG_INFO},   {"warn", BLOG_WARN},
        {"error", BLOG_ERROR}, {"fatal", BLOG_ERROR}, {"panic", BLOG_ERROR},
    };
    for (size_t k = 0; k < ARRAY_SIZE(levels); k++)
        if (strcmp(levels[k].name, name) == 0) {
            *level = levels[k].level;
            return 0;
        }
    return -1;
}

int main(int argc, char **argv)
{
    _cleanup_free_ char *default_config = NULL;
    const char *env_config = getenv("BERTH_CONFIG"), *env_root = getenv("BERTH_ROOT");
    const char *env_host = getenv("BERTH_HOST");
    if (env_config && *env_config)
        default_config = xstrdup(env_config);
    else
        default_config = xasprintf("%s/.berth", home_dir());
    const struct cli_flag globals[] = {
        {"config", 0, CLI_FLAG_STRING, "Location of client config files", default_config},
        {"debug", 'D', CLI_FLAG_BOOL, "Enable debug mode"},
        {"host", 'H', CLI_FLAG_STRING, "Daemon socket to connect to",
         env_host && *env_host ? env_host : CLI_DEFAULT_HOST},
        {"log-level", 'l', CLI_FLAG_STRING,
         "Set the logging level (\"debug\", \"info\", \"warn\", \"error\", \"fatal\")", "info"},
        {"root", 0, CLI_FLAG_STRING, "Root directory of persistent berth state",
         env_root && *env_root ? env_root : "/var/lib/berth"},
        {"version", 'v', CLI_FLAG_BOOL, "Print version information and quit"},
        {NULL},
    };
    struct cli cli = {.in = stdin, .out = stdout, .err = stderr};
    cli.in_is_tty = isatty(STDIN_FILENO);
    cli.out_is_tty = isatty(STDOUT_FILENO);
    struct winsize ws;
    if (cli.out_is_tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
        cli.term_width = ws.ws_col;
    blog_set_name("berth");

    _cleanup_(cli_flagset_freep) struct cli_flagset *fs = cli_flagset_new(globals);
    struct berr *err = NULL;
    if (cli_flagset_parse(fs, argc - 1, argv + 1, false, &err) < 0)
        return flag_error(&cli, "berth [OPTIONS] COMMAND [ARG...]", "berth", err);
    cli.config_dir = cli_flagset_string(fs, "config");
    cli.root = cli_flagset_string(fs, "root");
    cli.host = cli_flagset_string(fs, "host");
    cli.debug = cli_flagset_bool(fs, "debug");
    enum blog_level level = BLOG_WARN;
    if (cli_flagset_changed(fs, "log-level") &&
        log_level_of(cli_flagset_string(fs, "log-level"), &level) < 0) {
        fprintf(stderr, "Unable to parse logging level: %s\n", cli_flagset_string(fs, "log-level"));
        return 1;
    }
    blog_set_level(cli.debug ? BLOG_DEBUG : level);
    if (cli_flagset_bool(fs, "version")) {
        printf("berth version %s\n", BERTH_VERSION);
        return 0;
    }

    int nargs = cli_flagset_nargs(fs);
    char **args = cli_flagset_args(fs);
    if (cli_flagset_bool(fs, "help") || nargs == 0)
        return help_topic(&cli, globals, nargs, args);
    if (strcmp(args[0], "help") == 0)
        return help_topic(&cli, globals, nargs - 1, args + 1);
    const struct group *g = find_group(args[0]);
    if (g) {
        int grc = run_group(&cli, g, globals, nargs - 1, args + 1);
        cli_api_close(&cli);
        if (fflush(stdout) != 0 && grc == 0) {
            fprintf(stderr, "berth: write error on standard output: %m\n");
            return 1;
        }
        return grc;
    }
    const struct route *r = find_route(NULL, args[0]);
    if (r == NULL) {
        fprintf(stderr,
                "berth: unknown command: berth %s\n\nRun 'berth --help' for more information\n",
                args[0]);
        return 1;
    }
    int rc = run_route(&cli, r, nargs - 1, args + 1);
    cli_api_close(&cli);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "berth: write error on standard output: %m\n");
        return 1;
    }
    return rc;
}

/* ---- berth version ---- */

static const char version_template[] = "Client:\n"
                                       " Version:\t{{.Client.Version}}\n"
                                       " OS/Arch:\t{{.Client.Os}}/{{.Client.Arch}}";

static int version_run(struct cli *cli, int argc, char **argv)
{
    struct utsname u;
    if (uname(&u) < 0)
        strcpy(u.machine, "unknown");
    _cleanup_json_ json_t *data =
        json_pack("{s:{s:s,s:s,s:s},s:n}", "Client", "Version", BERTH_VERSION, "Os", "linux",
                  "Arch", cli_go_arch(u.machine), "Server");
    const char *format = cli_string(cli, "format");
    struct berr *err = NULL;
    _cleanup_(cli_format_freep) struct cli_format *f =
        cli_format_new(*format ? format : version_template, NULL, NULL, 0, &err);
    if (f == NULL || cli_format_add(f, data, &err) < 0)
        return cli_fail(cli, err);
    if (*format) {
        cli_format_write(f, cli->out);
        return 0;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m == NULL)
        abort();
    cli_format_write(f, m);
    if (fclose(m) != 0)
        abort();
    _cleanup_free_ char *text = buf;
    _cleanup_free_ char *aligned = cli_tabwrite(text, 20, 1, 1);
    fputs(aligned, cli->out);
    return 0;
}

static const struct cli_flag version_flags[] = {
    {"format", 'f', CLI_FLAG_STRING,
     "Format output using a custom template:\n'json':             Print in JSON format\n"
     "'TEMPLATE':         Print output using the given Go template.\nRefer to "
     "https://docs.docker.com/go/formatting/ for more information about formatting output "
     "with templates"},
    {NULL},
};

static const struct cli_command cli_cmd_version = {
    .name = "version",
    .usage = "[OPTIONS]",
    .short_desc = "Show the berth version information",
    .flags = version_flags,
    .min_args = 0,
    .max_args = 0,
    .run = version_run,
};
