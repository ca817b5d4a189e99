/* run and create's options: the flag table docker has, and the container request built from
 * it. Parsing happens here in full before anything is sent, so a bad value leaves nothing
 * behind on the daemon. Mount, port and device syntaxes follow docker's CLI. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <strings.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/run_opts.h"
#include "cli/run_opts_internal.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/human.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* Tables inside macros are laid out by hand. */
/* clang-format off */
#define HEALTH_DURATION(name, what)                                                                \
    {name, 0, CLI_FLAG_STRING, what " (ms|s|m|h) (default 0s)", .varname = "duration"}

/* Shared by run and create (docker's addFlags); help lists them sorted, so order is free. */
#define CONTAINER_FLAGS                                                                            \
    {"add-host", 0, CLI_FLAG_LIST, "Add a custom host-to-IP mapping (host:ip)"},                   \
        {"attach", 'a', CLI_FLAG_LIST, "Attach to STDIN, STDOUT or STDERR"},                       \
        {"cap-add", 0, CLI_FLAG_LIST, "Add Linux capabilities"},                                   \
        {"cap-drop", 0, CLI_FLAG_LIST, "Drop Linux capabilities"},                                 \
        {"cgroup-parent", 0, CLI_FLAG_STRING, "Optional parent cgroup for the container"},         \
        {"cgroupns", 0, CLI_FLAG_STRING,                                                           \
         "Cgroup namespace to use (host|private)\n'host':    Run the container in the host's "     \
         "cgroup namespace\n'private': Run the container in its own private cgroup namespace\n"    \
         "'':        Use the cgroup namespace as configured by the\n           "                   \
         "default-cgroupns-mode option on the daemon (default)"},                                  \
        {"cidfile", 0, CLI_FLAG_STRING, "Write the container ID to the file"},                     \
        {"cpu-period", 0, CLI_FLAG_INT, "Limit CPU CFS (Completely Fair Scheduler) period"},       \
        {"cpu-quota", 0, CLI_FLAG_INT, "Limit CPU CFS (Completely Fair Scheduler) quota"},         \
        {"cpu-shares", 'c', CLI_FLAG_INT, "CPU shares (relative weight)"},                         \
        {"cpus", 0, CLI_FLAG_STRING, "Number of CPUs", .varname = "decimal"},                      \
        {"cpuset-cpus", 0, CLI_FLAG_STRING, "CPUs in which to allow execution (0-3, 0,1)"},        \
        {"cpuset-mems", 0, CLI_FLAG_STRING, "MEMs in which to allow execution (0-3, 0,1)"},        \
        {"device", 0, CLI_FLAG_LIST, "Add a host device to the container"},                        \
        {"device-cgroup-rule", 0, CLI_FLAG_LIST, "Add a rule to the cgroup allowed devices list"}, \
        {"dns", 0, CLI_FLAG_LIST, "Set custom DNS servers"},                                       \
        {"dns-option", 0, CLI_FLAG_LIST, "Set DNS options"},                                       \
        {"dns-search", 0, CLI_FLAG_LIST, "Set custom DNS search domains"},                         \
        {"domainname", 0, CLI_FLAG_STRING, "Container NIS domain name"},                           \
        {"entrypoint", 0, CLI_FLAG_STRING, "Overwrite the default ENTRYPOINT of the image"},       \
        {"env", 'e', CLI_FLAG_LIST, "Set environment variables"},                                  \
        {"env-file", 0, CLI_FLAG_LIST, "Read in a file of environment variables"},                 \
        {"expose", 0, CLI_FLAG_LIST, "Expose a port or a range of ports"},                         \
        {"group-add", 0, CLI_FLAG_LIST, "Add additional groups to join"},                          \
        {"health-cmd", 0, CLI_FLAG_STRING, "Command to run to check health"},                      \
        HEALTH_DURATION("health-interval", "Time between running the check"),                      \
        {"health-retries", 0, CLI_FLAG_INT, "Consecutive failures needed to report unhealthy"},    \
        HEALTH_DURATION("health-start-interval",                                                   \
                        "Time between running the check during the start period"),                 \
        HEALTH_DURATION("health-start-period", "Start period for the container to initialize "     \
                                               "before starting health-retries countdown"),        \
        HEALTH_DURATION("health-timeout", "Maximum time to allow one check to run"),               \
        {"hostname", 'h', CLI_FLAG_STRING, "Container host name"},                                 \
        {"init", 0, CLI_FLAG_BOOL,                                                                 \
         "Run an init inside the container that forwards signals and reaps processes"},            \
        {"interactive", 'i', CLI_FLAG_BOOL, "Keep STDIN open even if not attached"},               \
        {"ipc", 0, CLI_FLAG_STRING, "IPC mode to use"},                                            \
        {"label", 'l', CLI_FLAG_LIST, "Set meta data on a container"},                             \
        {"label-file", 0, CLI_FLAG_LIST, "Read in a line delimited file of labels"},               \
        {"log-driver", 0, CLI_FLAG_STRING, "Logging driver for the container"},                    \
        {"log-opt", 0, CLI_FLAG_LIST, "Log driver options"},                                       \
        {"memory", 'm', CLI_FLAG_STRING, "Memory limit", .varname = "bytes"},                      \
        {"memory-reservation", 0, CLI_FLAG_STRING, "Memory soft limit", .varname = "bytes"},       \
        {"memory-swap", 0, CLI_FLAG_STRING,                                                        \
         "Swap limit equal to memory plus swap: '-1' to enable unlimited swap",                    \
         .varname = "bytes"},                                                                      \
        {"memory-swappiness", 0, CLI_FLAG_INT, "Tune container memory swappiness (0 to 100)",      \
         "-1"},                                                                                    \
        {"mount", 0, CLI_FLAG_LIST, "Attach a filesystem mount to the container",                  \
         .varname = "mount"},                                                                      \
        {"name", 0, CLI_FLAG_STRING, "Assign a name to the container"},                            \
        {"net", 0, CLI_FLAG_STRING, "Connect a container to a network", .varname = "network",     \
         .hidden = true},                                                                          \
        {"network", 0, CLI_FLAG_STRING, "Connect a container to a network", .varname = "network"}, \
        {"no-healthcheck", 0, CLI_FLAG_BOOL, "Disable any container-specified HEALTHCHECK"},       \
        {"oom-kill-disable", 0, CLI_FLAG_BOOL, "Disable OOM Killer"},                              \
        {"oom-score-adj", 0, CLI_FLAG_INT, "Tune host's OOM preferences (-1000 to 1000)"},         \
        {"pid", 0, CLI_FLAG_STRING, "PID namespace to use"},                                       \
        {"pids-limit", 0, CLI_FLAG_INT, "Tune container pids limit (set -1 for unlimited)"},       \
        {"platform", 0, CLI_FLAG_STRING, "Set platform if server is multi-platform capable"},      \
        {"privileged", 0, CLI_FLAG_BOOL, "Give extended privileges to this container"},            \
        {"publish", 'p', CLI_FLAG_LIST, "Publish a container's port(s) to the host"},              \
        {"publish-all", 'P', CLI_FLAG_BOOL, "Publish all exposed ports to random ports"},          \
        {"quiet", 'q', CLI_FLAG_BOOL, "Suppress the pull output"},                                 \
        {"read-only", 0, CLI_FLAG_BOOL, "Mount the container's root filesystem as read only"},     \
        {"restart", 0, CLI_FLAG_STRING, "Restart policy to apply when a container exits", "no"},   \
        {"rm", 0, CLI_FLAG_BOOL,                                                                   \
         "Automatically remove the container and its associated anonymous volumes when it "        \
         "exits"},                                                                                 \
        {"runtime", 0, CLI_FLAG_STRING, "Runtime to use for this container"},                      \
        {"security-opt", 0, CLI_FLAG_LIST, "Security Options"},                                    \
        {"shm-size", 0, CLI_FLAG_STRING, "Size of /dev/shm", .varname = "bytes"},                  \
        {"stop-signal", 0, CLI_FLAG_STRING, "Signal to stop the container"},                       \
        {"stop-timeout", 0, CLI_FLAG_INT, "Timeout (in seconds) to stop a container"},             \
        {"storage-opt", 0, CLI_FLAG_LIST, "Storage driver options for the container"},             \
        {"sysctl", 0, CLI_FLAG_LIST, "Sysctl options", .varname = "map"},                          \
        {"tmpfs", 0, CLI_FLAG_LIST, "Mount a tmpfs directory"},                                    \
        {"tty", 't', CLI_FLAG_BOOL, "Allocate a pseudo-TTY"},                                      \
        {"ulimit", 0, CLI_FLAG_LIST, "Ulimit options", .varname = "ulimit"},                       \
        {"user", 'u', CLI_FLAG_STRING, "Username or UID (format: <name|uid>[:<group|gid>])"},      \
        {"userns", 0, CLI_FLAG_STRING, "User namespace to use"},                                   \
        {"uts", 0, CLI_FLAG_STRING, "UTS namespace to use"},                                       \
        {"volume", 'v', CLI_FLAG_LIST, "Bind mount a volume"},                                     \
        {"volumes-from", 0, CLI_FLAG_LIST, "Mount volumes from the specified container(s)"},       \
        {"workdir", 'w', CLI_FLAG_STRING, "Working directory inside the container"}

#define PULL_FLAG(verb)                                                                            \
    {"pull", 0, CLI_FLAG_STRING,                                                                   \
     "Pull image before " verb " (\"always\", \"missing\", \"never\")", "missing"}

/* clang-format on */

const struct cli_flag cli_run_flags[] = {
    CONTAINER_FLAGS,
    PULL_FLAG("running"),
    {"detach", 'd', CLI_FLAG_BOOL, "Run container in background and print container ID"},
    {"detach-keys", 0, CLI_FLAG_STRING, "Override the key sequence for detaching a container"},
    {"sig-proxy", 0, CLI_FLAG_BOOL, "Proxy received signals to the process", "true"},
    {NULL},
};

const struct cli_flag cli_create_flags[] = {
    CONTAINER_FLAGS,
    PULL_FLAG("creating"),
    {NULL},
};

/* ---- errors ---- */

int cli_flag_value_error(struct cli *cli, const char *name, const char *value, struct berr **err,
                         const char *fmt, ...)
{
    char shorthand = 0;
    for (const struct cli_flag *f = cli->cmd->flags; f && f->name; f++)
        if (strcmp(f->name, name) == 0)
            shorthand = f->shorthand;
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *why = xvasprintf(fmt, ap);
    va_end(ap);
    _cleanup_free_ char *display =
        shorthand ? xasprintf("-%c, --%s", shorthand, name) : xasprintf("--%s", name);
    return berr_code(err, CLI_EFLAGVALUE, "invalid argument \"%s\" for \"%s\" flag: %s", value,
                     display, why);
}

int cli_run_parse_failed(struct cli *cli, struct berr *err)
{
    const char *path = cli->cmd_path ? cli->cmd_path : "berth run";
    if (err->errnum == CLI_EFLAGVALUE)
        fprintf(cli->err, "%s\n\nUsage:  %s %s\n\nRun '%s --help' for more information\n", err->msg,
                path, cli->cmd->usage, path);
    else
        fprintf(cli->err, "berth: %s\n\nRun '%s --help' for more information\n", err->msg, path);
    berr_free(err);
    return CLI_EXIT_USAGE;
}

/* ---- small parsers ---- */

static int set_bytes(struct cli *cli, json_t *o, const char *key, const char *flag,
                     struct berr **err)
{
    const char *v = cli_string(cli, flag);
    if (*v == '\0')
        return 0;
    int64_t n = 0;
    if (strcmp(flag, "memory-swap") == 0 && strcmp(v, "-1") == 0)
        n = -1;
    else if (human_parse_size(v, true, &n, NULL) < 0 || n < 0)
        return cli_flag_value_error(cli, flag, v, err, "invalid size: '%s'", v);
    json_object_set_new(o, key, json_integer(n));
    return 0;
}

/* docker's NanoCPUs: a decimal that is a whole number of billionths ("1.5", "0.25"). */
int cli_parse_nano_cpus(struct cli *cli, const char *v, int64_t *out, struct berr **err)
{
    const char *p = v;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    unsigned __int128 mant = 0, den = 1;
    int digits = 0, exp10 = 0;
    bool big = false;
    for (; isdigit((unsigned char)*p); p++, digits++) {
        if (mant > ((unsigned __int128)1 << 120))
            big = true;
        else
            mant = mant * 10 + (unsigned)(*p - '0');
    }
    if (*p == '/') {
        unsigned __int128 d = 0;
        int ddigits = 0;
        for (p++; isdigit((unsigned char)*p); p++, ddigits++) {
            if (d > ((unsigned __int128)1 << 120))
                big = true;
            else
                d = d * 10 + (unsigned)(*p - '0');
        }
        if (ddigits == 0 || d == 0 || digits == 0 || *p)
            return cli_flag_value_error(cli, "cpus", v, err,
                                        "failed to parse %s as a rational number", v);
        den = d;
    } else {
        if (*p == '.') {
            for (p++; isdigit((unsigned char)*p); p++, digits++) {
                if (mant > ((unsigned __int128)1 << 120)) {
                    if (*p != '0')
                        big = true;
                    continue;
                }
                mant = mant * 10 + (unsigned)(*p - '0');
                exp10--;
            }
        }
        if (digits > 0 && (*p == 'e' || *p == 'E')) {
            p++;
            bool eneg = *p == '-';
            if (*p == '-' || *p == '+')
                p++;
            int e = 0, edigits = 0;
            for (; isdigit((unsigned char)*p); p++, edigits++)
                e = e < 10000 ? e * 10 + (*p - '0') : e;
            if (edigits == 0)
                digits = 0;
            exp10 += eneg ? -e : e;
        }
        if (*p || digits == 0)
            return cli_flag_value_error(cli, "cpus", v, err,
                                        "failed to parse %s as a rational number", v);
    }
    if (big)
        return cli_flag_value_error(cli, "cpus", v, err, "value out of range");
    /* nanos = mant * 10^(exp10 + 9) / den, which must be a whole number */
    int scale = exp10 + 9;
    for (; scale > 0 && mant != 0; scale--) {
        if (mant > ((unsigned __int128)1 << 120))
            return cli_flag_value_error(cli, "cpus", v, err, "value out of range");
        mant *= 10;
    }
    for (; scale < 0; scale++) {
        if (mant % 10 != 0)
            return cli_flag_value_error(cli, "cpus", v, err, "value is too precise");
        mant /= 10;
    }
    if (mant % den != 0)
        return cli_flag_value_error(cli, "cpus", v, err, "value is too precise");
    mant /= den;
    if (mant > (unsigned __int128)INT64_MAX)
        return cli_flag_value_error(cli, "cpus", v, err, "value out of range");
    *out = neg ? -(int64_t)mant : (int64_t)mant;
    return 0;
}

static int set_cpus(struct cli *cli, json_t *hc, struct berr **err)
{
    const char *v = cli_string(cli, "cpus");
    int64_t nanos = 0;
    if (*v == '\0')
        return 0;
    if (cli_parse_nano_cpus(cli, v, &nanos, err) < 0)
        return -1;
    json_object_set_new(hc, "NanoCpus", json_integer(nanos));
    return 0;
}

static int set_duration(struct cli *cli, json_t *o, const char *key, const char *flag, bool *any,
                        struct berr **err)
{
    const char *v = cli_string(cli, flag);
    if (*v == '\0')
        return 0;
    int64_t ns = 0;
    if (strcmp(v, "0") != 0 && cli_parse_duration(v[0] == '-' ? v + 1 : v, &ns) < 0)
        return cli_flag_value_error(cli, flag, v, err, "time: invalid duration \"%s\"", v);
    if (v[0] == '-' && ns > 0)
        return berr_code(err, EINVAL, "--%s cannot be negative", flag);
    /* docker leaves zero durations out (omitempty) */
    if (ns != 0) {
        *any = true;
        json_object_set_new(o, key, json_integer(ns));
    }
    return 0;
}

static json_t *string_array(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void set_list(json_t *o, const char *key, char *const *v)
{
    if (v && v[0])
        json_object_set_new(o, key, string_array(v));
}

static void set_string(json_t *o, const char *key, const char *v)
{
    if (v && *v)
        json_object_set_new(o, key, json_string(v));
}

/* "k=v" items into an object ("k" alone: an empty value). */
json_t *cli_kv_object(char *const *v)
{
    json_t *o = json_object();
    for (size_t i = 0; v && v[i]; i++) {
        const char *eq = strchr(v[i], '=');
        _cleanup_free_ char *k = eq ? xstrndup(v[i], (size_t)(eq - v[i])) : xstrdup(v[i]);
        json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
    }
    return o;
}

/* ---- files of KEY=VALUE lines (--env-file, --label-file) ---- */

static int read_kv_file(const char *path, bool env, char ***out, struct berr **err)
{
    _cleanup_free_ char *text = read_file_at(AT_FDCWD, path, 16 << 20, NULL, NULL);
    if (text == NULL)
        return berr_sys(err, "open %s", path);
    char *p = text;
    if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    int lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        while (isspace((unsigned char)*line))
            line++;
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (*line == '\0' || *line == '#')
            continue;
        char *eq = strchr(line, '=');
        _cleanup_free_ char *name = eq ? xstrndup(line, (size_t)(eq - line)) : xstrdup(line);
        if (*name == '\0')
            return berr_code(err, EINVAL, "no variable name on line '%s'", line);
        for (char *c = name; *c; c++)
            if (isspace((unsigned char)*c))
                return berr_code(err, EINVAL, "variable '%s' contains whitespaces", name);
        if (eq || !env) {
            strv_append(out, line);
            continue;
        }
        const char *val = getenv(name);
        if (val) {
            _cleanup_free_ char *kv = xasprintf("%s=%s", name, val);
            strv_append(out, kv);
        }
    }
    return 0;
}

static int collect_env(struct cli *cli, char ***env, struct berr **err)
{
    char *const *files = cli_list(cli, "env-file");
    for (size_t i = 0; files && files[i]; i++)
        if (read_kv_file(files[i], true, env, err) < 0)
            return -1;
    char *const *items = cli_list(cli, "env");
    for (size_t i = 0; items && items[i]; i++) {
        const char *eq = strchr(items[i], '=');
        if (eq == items[i] || items[i][0] == '\0')
            return cli_flag_value_error(cli, "env", items[i], err,
                                        "invalid environment variable: %s", items[i]);
        const char *val = eq ? NULL : getenv(items[i]);
        if (val) {
            _cleanup_free_ char *kv = xasprintf("%s=%s", items[i], val);
            strv_append(env, kv);
        } else {
            strv_append(env, items[i]);
        }
    }
    return 0;
}

static int collect_labels(struct cli *cli, json_t **labels, struct berr **err)
{
    _cleanup_strv_ char **all = xcalloc(1, sizeof(char *));
    char *const *files = cli_list(cli, "label-file");
    for (size_t i = 0; files && files[i]; i++)
        if (read_kv_file(files[i], false, &all, err) < 0)
            return -1;
    char *const *items = cli_list(cli, "label");
    for (size_t i = 0; items && items[i]; i++)
        strv_append(&all, items[i]);
    *labels = all[0] ? cli_kv_object(all) : NULL;
    return 0;
}

/* ---- security options, restart, health ---- */

static int parse_security(struct cli *cli, json_t *hc, struct berr **err)
{
    char *const *opts = cli_list(cli, "security-opt");
    if (opts == NULL || opts[0] == NULL)
        return 0;
    _cleanup_json_ json_t *out = json_array();
    bool unconfined_paths = false;
    for (size_t i = 0; opts[i]; i++) {
        const char *o = opts[i];
        if (strcmp(o, "no-new-privileges") == 0) {
            json_array_append_new(out, json_string(o));
            continue;
        }
        if (strcmp(o, "systempaths=unconfined") == 0) {
            unconfined_paths = true;
            continue;
        }
        const char *sep = strpbrk(o, "=:");
        if (sep == NULL)
            return berr_code(err, EINVAL, "Invalid --security-opt: \"%s\"", o);
        _cleanup_free_ char *k = xstrndup(o, (size_t)(sep - o));
        const char *v = sep + 1;
        if (strcmp(k, "seccomp") == 0 && strcmp(v, "unconfined") && strcmp(v, "builtin")) {
            _cleanup_free_ char *text = read_file_at(AT_FDCWD, v, 16 << 20, NULL, NULL);
            if (text == NULL)
                return berr_sys(err, "opening seccomp profile (%s) failed", v);
            json_error_t je;
            _cleanup_json_ json_t *prof = json_loads(text, 0, &je);
            if (prof == NULL)
                return berr_code(err, EINVAL, "compacting json for seccomp profile (%s) failed: %s",
                                 v, je.text);
            _cleanup_free_ char *compact = json_dumps(prof, JSON_COMPACT | JSON_PRESERVE_ORDER);
            _cleanup_free_ char *item = xasprintf("seccomp=%s", compact);
            json_array_append_new(out, json_string(item));
            continue;
        }
        _cleanup_free_ char *item = xasprintf("%s=%s", k, v);
        json_array_append_new(out, json_string(item));
    }
    if (json_array_size(out))
        json_object_set(hc, "SecurityOpt", out);
    if (unconfined_paths) {
        json_object_set_new(hc, "MaskedPaths", json_array());
        json_object_set_new(hc, "ReadonlyPaths", json_array());
    }
    return 0;
}

static int parse_restart(struct cli *cli, json_t *hc, struct berr **err)
{
    const char *p = cli_string(cli, "restart");
    if (*p == '\0')
        return 0;
    const char *colon = strchr(p, ':');
    if (colon == p)
        return berr_code(err, EINVAL,
                         "invalid restart policy format: no policy provided before colon");
    int64_t count = 0;
    if (colon && colon[1]) {
        const char *why;
        if (cli_parse_go_int(colon + 1, &count, &why) < 0)
            return berr_code(err, EINVAL,
                             "invalid restart policy format: maximum retry count must be an "
                             "integer");
    }
    _cleanup_free_ char *name = colon ? xstrndup(p, (size_t)(colon - p)) : xstrdup(p);
    if (cli_bool(cli, "rm") && strcmp(name, "no") != 0)
        return berr_code(err, EINVAL,
                         "conflicting options: cannot specify both --restart and --rm");
    json_object_set_new(
        hc, "RestartPolicy",
        json_pack("{s:s, s:I}", "Name", name, "MaximumRetryCount", (json_int_t)count));
    return 0;
}

static int parse_health(struct cli *cli, json_t *config, struct berr **err)
{
    _cleanup_json_ json_t *h = json_object();
    const char *cmd = cli_string(cli, "health-cmd");
    if (*cmd)
        json_object_set_new(h, "Test", json_pack("[s, s]", "CMD-SHELL", cmd));
    bool any = *cmd != '\0' || cli_int(cli, "health-retries") != 0;
    if (set_duration(cli, h, "Interval", "health-interval", &any, err) < 0 ||
        set_duration(cli, h, "Timeout", "health-timeout", &any, err) < 0 ||
        set_duration(cli, h, "StartPeriod", "health-start-period", &any, err) < 0 ||
        set_duration(cli, h, "StartInterval", "health-start-interval", &any, err) < 0)
        return -1;
    if (cli_bool(cli, "no-healthcheck")) {
        if (any)
            return berr_code(err, EINVAL, "--no-healthcheck conflicts with --health-* options");
        json_object_set_new(config, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
        return 0;
    }
    if (!any)
        return 0;
    if (cli_int(cli, "health-retries") < 0)
        return berr_code(err, EINVAL, "--health-retries cannot be negative");
    if (cli_int(cli, "health-retries") != 0)
        json_object_set_new(h, "Retries", json_integer(cli_int(cli, "health-retries")));
    json_object_set(config, "Healthcheck", h);
    return 0;
}

/* ---- namespaces and attach streams ---- */

static int check_modes(struct cli *cli, struct berr **err)
{
    const char *pid = cli_string(cli, "pid"), *uts = cli_string(cli, "uts");
    const char *userns = cli_string(cli, "userns"), *cgns = cli_string(cli, "cgroupns");
    if (*pid && strcmp(pid, "host") && strncmp(pid, "container:", 10))
        return berr_code(err, EINVAL, "--pid: invalid PID mode");
    if (*pid && strncmp(pid, "container:", 10) == 0 && pid[10] == '\0')
        return berr_code(err, EINVAL, "--pid: invalid PID mode");
    if (*uts && strcmp(uts, "host"))
        return berr_code(err, EINVAL, "--uts: invalid UTS mode");
    if (*userns && strcmp(userns, "host"))
        return berr_code(err, EINVAL, "--userns: invalid USER mode");
    if (*cgns && strcmp(cgns, "host") && strcmp(cgns, "private"))
        return berr_code(err, EINVAL, "--cgroupns: invalid CGROUP mode");
    const char *log_driver = cli_string(cli, "log-driver");
    char *const *log_opts = cli_list(cli, "log-opt");
    if (strcmp(log_driver, "none") == 0 && log_opts && log_opts[0])
        return berr_code(err, EINVAL, "invalid logging opts for driver none");
    return 0;
}

static int parse_attach(struct cli *cli, bool detach, json_t *config, struct berr **err)
{
    bool in = false, out = false, errs = false;
    char *const *a = cli_list(cli, "attach");
    for (size_t i = 0; a && a[i]; i++) {
        if (strcasecmp(a[i], "stdin") == 0)
            in = true;
        else if (strcasecmp(a[i], "stdout") == 0)
            out = true;
        else if (strcasecmp(a[i], "stderr") == 0)
            errs = true;
        else
            return cli_flag_value_error(cli, "attach", a[i], err,
                                        "valid streams are STDIN, STDOUT and STDERR");
    }
    bool open_stdin = cli_bool(cli, "interactive");
    if (open_stdin)
        in = true;
    if (a == NULL || a[0] == NULL)
        out = errs = true;
    if (detach)
        in = out = errs = false;
    json_object_set_new(config, "AttachStdin", json_boolean(in));
    json_object_set_new(config, "AttachStdout", json_boolean(out));
    json_object_set_new(config, "AttachStderr", json_boolean(errs));
    json_object_set_new(config, "OpenStdin", json_boolean(open_stdin));
    json_object_set_new(config, "StdinOnce", json_boolean(open_stdin && in));
    json_object_set_new(config, "Tty", json_boolean(cli_bool(cli, "tty")));
    return 0;
}

/* ---- the request ---- */

static int fill_host_config(struct cli *cli, json_t *config, json_t *hc, struct berr **err)
{
    if (cli_opts_volumes(cli, config, hc, err) < 0 || cli_opts_mounts(cli, hc, err) < 0 ||
        cli_opts_devices(cli, hc, err) < 0 || cli_opts_ulimits(cli, hc, err) < 0 ||
        cli_opts_ports(cli, config, hc, err) < 0 || parse_security(cli, hc, err) < 0 ||
        parse_restart(cli, hc, err) < 0 || set_cpus(cli, hc, err) < 0 ||
        set_bytes(cli, hc, "Memory", "memory", err) < 0 ||
        set_bytes(cli, hc, "MemoryReservation", "memory-reservation", err) < 0 ||
        set_bytes(cli, hc, "MemorySwap", "memory-swap", err) < 0 ||
        set_bytes(cli, hc, "ShmSize", "shm-size", err) < 0)
        return -1;
    int64_t swappiness = cli_int(cli, "memory-swappiness");
    if (swappiness != -1 && (swappiness < 0 || swappiness > 100))
        return berr_code(err, EINVAL, "invalid value: %lld. Valid memory swappiness range is 0-100",
                         (long long)swappiness);
    if (swappiness != -1)
        json_object_set_new(hc, "MemorySwappiness", json_integer(swappiness));
    char *const *tmpfs = cli_list(cli, "tmpfs");
    if (tmpfs && tmpfs[0]) {
        json_t *t = json_object();
        for (size_t i = 0; tmpfs[i]; i++) {
            const char *colon = strchr(tmpfs[i], ':');
            _cleanup_free_ char *dst =
                colon ? xstrndup(tmpfs[i], (size_t)(colon - tmpfs[i])) : xstrdup(tmpfs[i]);
            json_object_set_new(t, dst, json_string(colon ? colon + 1 : ""));
        }
        json_object_set_new(hc, "Tmpfs", t);
    }
    char *const *sysctls = cli_list(cli, "sysctl");
    for (size_t i = 0; sysctls && sysctls[i]; i++)
        if (strchr(sysctls[i], '=') == NULL || sysctls[i][0] == '=')
            return cli_flag_value_error(cli, "sysctl", sysctls[i], err,
                                        "sysctl '%s' is not allowed", sysctls[i]);
    if (sysctls && sysctls[0])
        json_object_set_new(hc, "Sysctls", cli_kv_object(sysctls));
    const char *log_driver = cli_string(cli, "log-driver");
    char *const *log_opts = cli_list(cli, "log-opt");
    if (*log_driver || (log_opts && log_opts[0])) {
        json_t *lc = json_pack("{s:s}", "Type", log_driver);
        if (log_opts && log_opts[0])
            json_object_set_new(lc, "Config", cli_kv_object(log_opts));
        json_object_set_new(hc, "LogConfig", lc);
    }
    const char *net = cli_string(cli, "network");
    if (*net == '\0')
        net = cli_string(cli, "net");
    set_string(hc, "NetworkMode", net);
    set_list(hc, "GroupAdd", cli_list(cli, "group-add"));
    set_list(hc, "ExtraHosts", cli_list(cli, "add-host"));
    set_list(hc, "Dns", cli_list(cli, "dns"));
    set_list(hc, "DnsOptions", cli_list(cli, "dns-option"));
    set_list(hc, "DnsSearch", cli_list(cli, "dns-search"));
    set_list(hc, "VolumesFrom", cli_list(cli, "volumes-from"));
    set_list(hc, "DeviceCgroupRules", cli_list(cli, "device-cgroup-rule"));
    char *const *storage = cli_list(cli, "storage-opt");
    if (storage && storage[0])
        json_object_set_new(hc, "StorageOpt", cli_kv_object(storage));
    set_string(hc, "IpcMode", cli_string(cli, "ipc"));
    set_string(hc, "PidMode", cli_string(cli, "pid"));
    set_string(hc, "UTSMode", cli_string(cli, "uts"));
    set_string(hc, "UsernsMode", cli_string(cli, "userns"));
    set_string(hc, "CgroupnsMode", cli_string(cli, "cgroupns"));
    set_string(hc, "CgroupParent", cli_string(cli, "cgroup-parent"));
    set_string(hc, "CpusetCpus", cli_string(cli, "cpuset-cpus"));
    set_string(hc, "CpusetMems", cli_string(cli, "cpuset-mems"));
    set_string(hc, "Runtime", cli_string(cli, "runtime"));
    set_string(hc, "ContainerIDFile", cli_string(cli, "cidfile"));
    static const struct {
        const char *flag, *key;
    } ints[] = {{"cpu-shares", "CpuShares"},
                {"cpu-period", "CpuPeriod"},
                {"cpu-quota", "CpuQuota"},
                {"pids-limit", "PidsLimit"},
                {"oom-score-adj", "OomScoreAdj"}};
    for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
        if (cli_changed(cli, ints[i].flag))
            json_object_set_new(hc, ints[i].key, json_integer(cli_int(cli, ints[i].flag)));
    static const struct {
        const char *flag, *key;
    } bools[] = {{"privileged", "Privileged"},
                 {"read-only", "ReadonlyRootfs"},
                 {"rm", "AutoRemove"},
                 {"publish-all", "PublishAllPorts"},
                 {"oom-kill-disable", "OomKillDisable"}};
    for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
        if (cli_bool(cli, bools[i].flag))
            json_object_set_new(hc, bools[i].key, json_true());
    if (cli_changed(cli, "init"))
        json_object_set_new(hc, "Init", json_boolean(cli_bool(cli, "init")));
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
        json_object_set_new(hc, "ConsoleSize", json_pack("[i, i]", ws.ws_row, ws.ws_col));
    return 0;
}

/* What docker sends for a container with no options: every field, zero-valued, so the daemon
 * sees the same request from us as from docker. */
static json_t *skeleton(void)
{
    json_t *hc = json_pack(
        "{s:n, s:s, s:{s:s, s:{}}, s:s, s:{}, s:{s:s, s:i}, s:b, s:s, s:n, s:[i, i], s:n, s:n, "
        "s:s, s:[], s:[], s:[], s:n, s:n, s:s, s:s, s:n, s:i, s:s, s:b, s:b, s:b, s:n, s:s, s:s}",
        "Binds", "ContainerIDFile", "", "LogConfig", "Type", "", "Config", "NetworkMode", "default",
        "PortBindings", "RestartPolicy", "Name", "no", "MaximumRetryCount", 0, "AutoRemove", 0,
        "VolumeDriver", "", "VolumesFrom", "ConsoleSize", 0, 0, "CapAdd", "CapDrop", "CgroupnsMode",
        "", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "IpcMode", "", "Cgroup", "",
        "Links", "OomScoreAdj", 0, "PidMode", "", "Privileged", 0, "PublishAllPorts", 0,
        "ReadonlyRootfs", 0, "SecurityOpt", "UTSMode", "", "UsernsMode", "");
    json_t *res = json_pack(
        "{s:i, s:s, s:i, s:i, s:i, s:s, s:i, s:[], s:[], s:[], s:[], s:[], s:i, s:i, s:i, s:i, "
        "s:s, s:s, s:[], s:n, s:n, s:i, s:i, s:i, s:b, s:i, s:[], s:i, s:i, s:i, s:i, s:n, s:n}",
        "ShmSize", 0, "Isolation", "", "CpuShares", 0, "Memory", 0, "NanoCpus", 0, "CgroupParent",
        "", "BlkioWeight", 0, "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
        "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "CpuPeriod", 0, "CpuQuota", 0,
        "CpuRealtimePeriod", 0, "CpuRealtimeRuntime", 0, "CpusetCpus", "", "CpusetMems", "",
        "Devices", "DeviceCgroupRules", "DeviceRequests", "MemoryReservation", 0, "MemorySwap", 0,
        "MemorySwappiness", -1, "OomKillDisable", 0, "PidsLimit", 0, "Ulimits", "CpuCount", 0,
        "CpuPercent", 0, "IOMaximumIOps", 0, "IOMaximumBandwidth", 0, "MaskedPaths",
        "ReadonlyPaths");
    json_object_update(hc, res);
    json_decref(res);
    return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:n, s:n, s:s, s:{}, s:s, "
                     "s:n, s:n, s:{}, s:o}",
                     "Hostname", "", "Domainname", "", "User", "", "AttachStdin", 0, "AttachStdout",
                     0, "AttachStderr", 0, "Tty", 0, "OpenStdin", 0, "StdinOnce", 0, "Env", "Cmd",
                     "Image", "", "Volumes", "WorkingDir", "", "Entrypoint", "OnBuild", "Labels",
                     "HostConfig", hc);
}

/* docker's EffectiveCapAddCapDrop: "CAP_" names, upper case, sorted, no duplicates; ALL alone
 * wins its list, and what is added is not dropped. */
static char *cap_name(const char *c)
{
    while (isspace((unsigned char)*c))
        c++;
    char *u = xstrdup(c);
    size_t n = strlen(u);
    while (n > 0 && isspace((unsigned char)u[n - 1]))
        u[--n] = '\0';
    for (char *p = u; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (strcmp(u, "ALL") == 0 || strcmp(u, "RESET") == 0 || strncmp(u, "CAP_", 4) == 0)
        return u;
    char *full = xasprintf("CAP_%s", u);
    free(u);
    return full;
}

static char **cap_set(char *const *in)
{
    char **out = xcalloc(1, sizeof(char *));
    for (size_t i = 0; in && in[i]; i++) {
        _cleanup_free_ char *c = cap_name(in[i]);
        if (!strv_contains(out, c))
            strv_append(&out, c);
    }
    if (strv_contains(out, "ALL")) {
        strv_free(out);
        out = xcalloc(1, sizeof(char *));
        strv_append(&out, "ALL");
    }
    return out;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void set_caps(struct cli *cli, json_t *hc)
{
    _cleanup_strv_ char **add = cap_set(cli_list(cli, "cap-add"));
    _cleanup_strv_ char **drop_all = cap_set(cli_list(cli, "cap-drop"));
    _cleanup_strv_ char **drop = xcalloc(1, sizeof(char *));
    for (size_t i = 0; drop_all[i]; i++)
        if (!strv_contains(add, drop_all[i]) && strcmp(drop_all[i], "RESET") != 0)
            strv_append(&drop, drop_all[i]);
    qsort(add, strv_length(add), sizeof(char *), cmp_str);
    qsort(drop, strv_length(drop), sizeof(char *), cmp_str);
    set_list(hc, "CapAdd", add);
    set_list(hc, "CapDrop", drop);
}

json_t *cli_container_request(struct cli *cli, int argc, char **argv, bool detach,
                              struct berr **err)
{
    _cleanup_json_ json_t *config = skeleton();
    json_t *hc = json_object_get(config, "HostConfig");
    _cleanup_strv_ char **env = xcalloc(1, sizeof(char *));
    json_t *labels = NULL;
    if (check_modes(cli, err) < 0 || parse_attach(cli, detach, config, err) < 0 ||
        collect_env(cli, &env, err) < 0 || collect_labels(cli, &labels, err) < 0)
        return NULL;
    if (labels)
        json_object_set_new(config, "Labels", labels);
    if (fill_host_config(cli, config, hc, err) < 0 || parse_health(cli, config, err) < 0)
        return NULL;
    set_caps(cli, hc);
    set_string(config, "Hostname", cli_string(cli, "hostname"));
    set_string(config, "Domainname", cli_string(cli, "domainname"));
    set_string(config, "User", cli_string(cli, "user"));
    set_string(config, "WorkingDir", cli_string(cli, "workdir"));
    set_string(config, "StopSignal", cli_string(cli, "stop-signal"));
    if (env[0])
        json_object_set_new(config, "Env", string_array(env));
    json_object_set_new(config, "Image", json_string(argv[0]));
    if (argc > 1)
        json_object_set_new(config, "Cmd", string_array(argv + 1));
    if (cli_changed(cli, "entrypoint"))
        json_object_set_new(config, "Entrypoint", json_pack("[s]", cli_string(cli, "entrypoint")));
    if (cli_changed(cli, "stop-timeout"))
        json_object_set_new(config, "StopTimeout", json_integer(cli_int(cli, "stop-timeout")));
    json_object_set_new(config, "NetworkingConfig",
                        json_pack("{s:{s:{}}}", "EndpointsConfig", "default"));
    return steal_ptr(&config);
}
