/* berth-runc entry point: global flags, logging set-up, the sealed self-copy for commands that
 * enter containers, and dispatch to one function per subcommand. */
#include "common/cleanup.h"
#include "common/log.h"
#include "runtime/cli/cli.h"
#include "runtime/selfclone.h"

#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static const struct {
    const char *name;
    cli_cmd_fn fn;
    bool enters_container; /* runs code inside a container's namespaces */
    const char *help;
} commands[] = {
    {"create", cmd_create, true, "create a container"},
    {"run", cmd_run, true, "create and run a container"},
    {"start", cmd_start, false, "start the process of a created container"},
    {"state", cmd_state, false, "print the state of a container"},
    {"kill", cmd_kill, false, "send a signal to the container's init process"},
    {"delete", cmd_delete, false, "delete a container and its resources"},
    {"list", cmd_list, false, "list containers"},
    {"ps", cmd_ps, false, "show the processes running in a container"},
    {"exec", cmd_exec, true, "run a new process inside a container"},
    {"pause", cmd_pause, false, "suspend all processes of a container"},
    {"resume", cmd_resume, false, "resume a paused container"},
    {"update", cmd_update, false, "update a container's resource limits"},
    {"events", cmd_events, false, "print container events and resource usage"},
    {"features", cmd_features, false, "print the features this runtime supports (JSON)"},
    {"spec", cmd_spec, false, "write a new config.json"},
    {"checkpoint", cmd_checkpoint, false, "checkpoint a container (not supported)"},
    {"restore", cmd_checkpoint, false, "restore a container (not supported)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: berth-runc [global options] COMMAND [options] [arguments]\n\n"
               "berth-runc is an OCI runtime with runc's command line.\n\nCommands:\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nGlobal options:\n"
               "  --root DIR          state directory (default /run/berth-runc)\n"
               "  --log FILE          log file (default: stderr)\n"
               "  --log-format FMT    text or json\n"
               "  --debug             log debug messages\n"
               "  --systemd-cgroup    use systemd for cgroups (not supported)\n"
               "  --version, -v       print the version\n"
               "  --help, -h          print this help\n");
}

static void version(void)
{
    const struct scmp_version *v = seccomp_version();
    printf("berth-runc version %s\nspec: 1.2.0\nlibseccomp: %u.%u.%u\n", BERTH_VERSION,
           v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0);
}

int main(int argc, char **argv)
{
    struct cli_globals g = {.root = NULL};
    const char *log_path = NULL, *log_format = "text", *criu = NULL, *rootless = NULL;
    bool systemd = false, show_version = false, show_help = false;
    const struct cli_flag flags[] = {
        {"root", 0, FLAG_STRING, &g.root},
        {"log", 0, FLAG_STRING, &log_path},
        {"log-format", 0, FLAG_STRING, &log_format},
        {"debug", 0, FLAG_BOOL, &g.debug},
        {"systemd-cgroup", 0, FLAG_BOOL, &systemd},
        {"criu", 0, FLAG_STRING, &criu},
        {"rootless", 0, FLAG_STRING, &rootless},
        {"version", 'v', FLAG_BOOL, &show_version},
        {"help", 'h', FLAG_BOOL, &show_help},
        {NULL, 0, 0, NULL},
    };
    blog_set_name("berth-runc");
    int nrest;
    char **rest;
    _cleanup_berr_ struct berr *err = NULL;
    if (cli_parse(argc, argv, flags, &nrest, &rest, &err) < 0) {
        log_error("%s", err->msg);
        return 1;
    }
    if (show_version) {
        version();
        return 0;
    }
    if (show_help || nrest == 0) {
        usage(show_help ? stdout : stderr);
        return show_help ? 0 : 1;
    }
    enum blog_format fmt = BLOG_TEXT;
    if (strcmp(log_format, "json") == 0)
        fmt = BLOG_JSON;
    else if (strcmp(log_format, "text") != 0) {
        log_error("--log-format: unknown format \"%s\" (text or json)", log_format);
        return 1;
    }
    if (blog_open(log_path, fmt, g.debug ? BLOG_DEBUG : BLOG_WARN, &err) < 0) {
        log_error("%s", err->msg);
        return 1;
    }
    if (g.root == NULL) {
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        static char buf[4096];
        if (geteuid() != 0 && xdg && *xdg) {
            snprintf(buf, sizeof(buf), "%s/berth-runc", xdg);
            g.root = buf;
        } else {
            g.root = "/run/berth-runc";
        }
    }
    if (systemd) {
        log_error("--systemd-cgroup: the systemd cgroup driver is not supported by berth-runc; "
                  "configure your engine to use cgroupfs");
        return 1;
    }
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        if (strcmp(rest[0], commands[i].name) != 0)
            continue;
        bool wants_help = nrest > 1 && (strcmp(rest[1], "--help") == 0 ||
                                        strcmp(rest[1], "-h") == 0);
        if (commands[i].enters_container && !wants_help &&
            rt_selfclone_ensure(argv, environ, &err) < 0)
            return cli_fail(steal_ptr(&err));
        return commands[i].fn(&g, nrest, rest);
    }
    log_error("unknown command \"%s\" (see berth-runc --help)", rest[0]);
    return 1;
}
