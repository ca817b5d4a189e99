/* berth info (system info): GET /info in docker's text layout (a Client section, then the
 * daemon's answer, each line only when the daemon sent its data) or through a --format
 * template, which sees the answer with ClientInfo added, as docker's does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/client.h"
#include "cli/format.h"
#include "common/cleanup.h"
#include "common/human.h"
#include "common/strv.h"
#include "common/xalloc.h"

static json_t *client_info(struct cli *cli)
{
    struct utsname u;
    if (uname(&u) < 0)
        strcpy(u.machine, "unknown");
    return json_pack("{s:b, s:s, s:s, s:s}", "Debug", cli->debug, "Version", BERTH_VERSION, "Os",
                     "linux", "Arch", cli_go_arch(u.machine));
}

/* ---- the text layout ---- */

/* A JSON scalar as Go's fmt.Println prints it (a new string; NULL for what is absent). */
static char *scalar_text(json_t *v)
{
    if (v == NULL)
        return NULL;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return xstrdup(json_string_value(v));
    case JSON_INTEGER:
        return xasprintf("%lld", (long long)json_integer_value(v));
    case JSON_REAL:
        return xasprintf("%g", json_real_value(v));
    case JSON_TRUE:
        return xstrdup("true");
    case JSON_FALSE:
        return xstrdup("false");
    default:
        return NULL;
    }
}

/* "<label> <value>" when the daemon sent key and (non_empty) it is not "". */
static void field(FILE *out, const char *label, json_t *obj, const char *key, bool non_empty)
{
    _cleanup_free_ char *text = scalar_text(json_object_get(obj, key));
    if (text == NULL || (non_empty && *text == '\0'))
        return;
    fprintf(out, "%s %s\n", label, text);
}

/* docker prints these whatever the daemon sent: a missing one reads as Go's zero, false. */
static void flag_field(FILE *out, const char *label, json_t *obj, const char *key)
{
    fprintf(out, "%s %s\n", label, json_is_true(json_object_get(obj, key)) ? "true" : "false");
}

/* The strings of an array joined by sep (a new string). */
static char *joined(json_t *arr, const char *sep)
{
    size_t total = 1, i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        total += strlen(json_string_value(v) ?: "") + strlen(sep);
    }
    char *out = xcalloc(1, total);
    json_array_foreach(arr, i, v)
    {
        if (i)
            strcat(out, sep);
        strcat(out, json_string_value(v) ?: "");
    }
    return out;
}

static void pairs(FILE *out, const char *indent, json_t *arr)
{
    size_t i;
    json_t *pair;
    json_array_foreach(arr, i, pair)
    {
        fprintf(out, "%s%s: %s\n", indent, json_string_value(json_array_get(pair, 0)) ?: "",
                json_string_value(json_array_get(pair, 1)) ?: "");
    }
}

static void plugins(FILE *out, json_t *p)
{
    if (!json_is_object(p))
        return;
    _cleanup_free_ char *volume = joined(json_object_get(p, "Volume"), " ");
    _cleanup_free_ char *network = joined(json_object_get(p, "Network"), " ");
    _cleanup_free_ char *authz = joined(json_object_get(p, "Authorization"), " ");
    _cleanup_free_ char *log = joined(json_object_get(p, "Log"), " ");
    fprintf(out, " Plugins:\n  Volume: %s\n  Network: %s\n", volume, network);
    if (*authz)
        fprintf(out, "  Authorization: %s\n", authz);
    fprintf(out, "  Log: %s\n", log);
}

static void swarm(FILE *out, json_t *s)
{
    const char *state = json_string_value(json_object_get(s, "LocalNodeState"));
    if (state == NULL)
        return;
    fprintf(out, " Swarm: %s\n", state);
    if (strcmp(state, "inactive") == 0 || strcmp(state, "locked") == 0 || *state == '\0')
        return;
    field(out, "  NodeID:", s, "NodeID", false);
    field(out, "  Error:", s, "Error", true);
    flag_field(out, "  Is Manager:", s, "ControlAvailable");
    field(out, "  Node Address:", s, "NodeAddr", false);
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An object's keys, sorted (Go's map order is random, so any order is docker's). */
static char **sorted_keys(json_t *obj)
{
    char **keys = xcalloc(1, sizeof(char *));
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        strv_append(&keys, k);
    }
    qsort(keys, strv_length(keys), sizeof(char *), by_str);
    return keys;
}

static void runtimes(FILE *out, json_t *info)
{
    json_t *rt = json_object_get(info, "Runtimes");
    if (json_object_size(rt) == 0)
        return;
    _cleanup_strv_ char **names = sorted_keys(rt);
    fprintf(out, " Runtimes:");
    for (size_t i = 0; names[i]; i++)
        fprintf(out, " %s", names[i]);
    fputc('\n', out);
    field(out, " Default Runtime:", info, "DefaultRuntime", false);
}

/* "name=seccomp,profile=builtin" as docker's DecodeSecurityOptions reads it; a daemon older
 * than 1.13 sends bare names. Only the profile option is shown, as docker does. */
static int security_options(FILE *out, json_t *opts, struct berr **err)
{
    if (json_array_size(opts) == 0)
        return 0;
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    _cleanup_fclose_ FILE *m = open_memstream(&buf, &len);
    if (m == NULL)
        abort();
    size_t i;
    json_t *o;
    json_array_foreach(opts, i, o)
    {
        const char *opt = json_string_value(o) ?: "";
        if (strchr(opt, '=') == NULL) {
            fprintf(m, "  %s\n", opt);
            continue;
        }
        _cleanup_free_ char *copy = xstrdup(opt);
        _cleanup_free_ char *name = NULL, *profile = NULL;
        char *save = NULL;
        for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            if (eq == NULL)
                return berr_code(err, EINVAL, "invalid security option \"%s\"", kv);
            *eq = '\0';
            if (*kv == '\0' || eq[1] == '\0')
                return berr_code(err, EINVAL, "invalid empty security option");
            if (strcmp(kv, "name") == 0) {
                free(name);
                name = xstrdup(eq + 1);
            } else if (strcmp(kv, "profile") == 0) {
                free(profile);
                profile = xstrdup(eq + 1);
            }
        }
        fprintf(m, "  %s\n", name ?: "");
        if (profile)
            fprintf(m, "   Profile: %s\n", profile);
    }
    if (fflush(m) != 0)
        abort();
    fprintf(out, " Security Options:\n%.*s", (int)len, buf);
    return 0;
}

static void registries(FILE *out, json_t *reg)
{
    if (!json_is_object(reg))
        return;
    json_t *indexes = json_object_get(reg, "IndexConfigs");
    json_t *cidrs = json_object_get(reg, "InsecureRegistryCIDRs");
    if (json_array_size(cidrs) > 0 || json_object_size(indexes) > 0) {
        fprintf(out, " Insecure Registries:\n");
        _cleanup_strv_ char **names = sorted_keys(indexes);
        for (size_t i = 0; names[i]; i++) {
            json_t *ic = json_object_get(indexes, names[i]);
            if (!json_is_true(json_object_get(ic, "Secure")))
                fprintf(out, "  %s\n", json_string_value(json_object_get(ic, "Name")) ?: names[i]);
        }
        size_t i;
        json_t *c;
        json_array_foreach(cidrs, i, c)
        {
            fprintf(out, "  %s\n", json_string_value(c) ?: "");
        }
    }
    json_t *mirrors = json_object_get(reg, "Mirrors");
    if (json_array_size(mirrors) > 0) {
        fprintf(out, " Registry Mirrors:\n");
        size_t i;
        json_t *m;
        json_array_foreach(mirrors, i, m)
        {
            fprintf(out, "  %s\n", json_string_value(m) ?: "");
        }
    }
}

static void list_section(FILE *out, const char *title, const char *indent, json_t *arr)
{
    if (json_array_size(arr) == 0)
        return;
    fprintf(out, "%s\n", title);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        fprintf(out, "%s%s\n", indent, json_string_value(v) ?: "");
    }
}

/* Fails (after printing everything else) when a part of info does not read as docker's. */
static int print_server(struct cli *cli, json_t *info, struct berr **err)
{
    FILE *out = cli->out;
    bool bad = false;
    field(out, " Containers:", info, "Containers", false);
    field(out, "  Running:", info, "ContainersRunning", false);
    field(out, "  Paused:", info, "ContainersPaused", false);
    field(out, "  Stopped:", info, "ContainersStopped", false);
    field(out, " Images:", info, "Images", false);
    field(out, " Server Version:", info, "ServerVersion", true);
    field(out, " Storage Driver:", info, "Driver", true);
    pairs(out, "  ", json_object_get(info, "DriverStatus"));
    pairs(out, " ", json_object_get(info, "SystemStatus"));
    field(out, " Logging Driver:", info, "LoggingDriver", true);
    field(out, " Cgroup Driver:", info, "CgroupDriver", true);
    field(out, " Cgroup Version:", info, "CgroupVersion", true);
    plugins(out, json_object_get(info, "Plugins"));
    list_section(out, " CDI spec directories:", "  ", json_object_get(info, "CDISpecDirs"));
    swarm(out, json_object_get(info, "Swarm"));
    runtimes(out, info);
    const char *os_type = json_string_value(json_object_get(info, "OSType"));
    if (os_type && strcmp(os_type, "linux") == 0) {
        field(out, " Init Binary:", info, "InitBinary", false);
        static const char *const commits[][2] = {
            {"containerd", "ContainerdCommit"}, {"runc", "RuncCommit"}, {"init", "InitCommit"}};
        for (size_t i = 0; i < ARRAY_SIZE(commits); i++) {
            json_t *c = json_object_get(info, commits[i][1]);
            if (json_is_object(c))
                fprintf(out, " %s version: %s\n", commits[i][0],
                        json_string_value(json_object_get(c, "ID")) ?: "");
        }
        /* as docker: the rest is still shown, the error comes after it */
        bad = security_options(out, json_object_get(info, "SecurityOptions"), err) < 0;
    }
    if (os_type && strcmp(os_type, "windows") == 0)
        field(out, " Default Isolation:", info, "Isolation", false);
    field(out, " Kernel Version:", info, "KernelVersion", true);
    field(out, " Operating System:", info, "OperatingSystem", true);
    field(out, " OSType:", info, "OSType", true);
    field(out, " Architecture:", info, "Architecture", true);
    field(out, " CPUs:", info, "NCPU", false);
    json_t *mem = json_object_get(info, "MemTotal");
    if (json_is_integer(mem)) {
        _cleanup_free_ char *total = human_bytes((double)json_integer_value(mem));
        fprintf(out, " Total Memory: %s\n", total);
    }
    field(out, " Name:", info, "Name", true);
    field(out, " ID:", info, "ID", true);
    field(out, " Docker Root Dir:", info, "DockerRootDir", false);
    flag_field(out, " Debug Mode:", info, "Debug");
    /* the daemon counts these whether or not it debugs: shown when either side does */
    if (json_is_true(json_object_get(info, "Debug")) || cli->debug) {
        field(out, "  File Descriptors:", info, "NFd", false);
        field(out, "  Goroutines:", info, "NGoroutines", false);
        field(out, "  System Time:", info, "SystemTime", false);
        field(out, "  EventsListeners:", info, "NEventsListener", false);
    }
    field(out, " HTTP Proxy:", info, "HttpProxy", true);
    field(out, " HTTPS Proxy:", info, "HttpsProxy", true);
    field(out, " No Proxy:", info, "NoProxy", true);
    field(out, " Username:", info, "Username", true);
    list_section(out, " Labels:", "  ", json_object_get(info, "Labels"));
    flag_field(out, " Experimental:", info, "ExperimentalBuild");
    registries(out, json_object_get(info, "RegistryConfig"));
    flag_field(out, " Live Restore Enabled:", info, "LiveRestoreEnabled");
    field(out, " Product License:", info, "ProductLicense", true);
    json_t *pools = json_object_get(info, "DefaultAddressPools");
    if (json_array_size(pools) > 0) {
        fprintf(out, " Default Address Pools:\n");
        size_t i;
        json_t *p;
        json_array_foreach(pools, i, p)
        {
            fprintf(out, "   Base: %s, Size: %lld\n",
                    json_string_value(json_object_get(p, "Base")) ?: "",
                    (long long)json_integer_value(json_object_get(p, "Size")));
        }
    }
    fputc('\n', out);
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(info, "Warnings"), i, w)
    {
        fprintf(cli->err, "%s\n", json_string_value(w) ?: "");
    }
    return bad ? -1 : 0;
}

static int run_info(struct cli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct berr *err = NULL;
    const char *fmt = cli_string(cli, "format");
    _cleanup_(cli_template_freep) struct cli_template *tmpl = NULL;
    if (*fmt &&
        (tmpl = cli_template_parse(strcmp(fmt, "json") == 0 ? "{{json .}}" : fmt, &err)) == NULL) {
        berr_wrap(&err, "template parsing error");
        return cli_fail(cli, err);
    }
    /* docker shows its own side before it asks the daemon, and still when that fails */
    struct berr *server_err = NULL;
    _cleanup_json_ json_t *info = NULL;
    struct cli_api *api = cli_api_get(cli, &server_err);
    if (api != NULL && cli_api_call(api, "GET", "/info", NULL, &info, &server_err) >= 0 &&
        !json_is_object(info)) {
        json_decref(info);
        info = NULL;
        berr_code(&server_err, EPROTO, "Error response from daemon: /info is not an object");
    }
    if (tmpl) {
        _cleanup_json_ json_t *data = info ? json_incref(info) : json_object();
        json_object_set_new(data, "ClientInfo", client_info(cli));
        /* docker's info is a struct of its own: fields the daemon leaves out are zero there,
         * so a template naming one prints, rather than fails */
        if (cli_template_exec(tmpl, data, CLI_TMPL_MISSING_OK, cli->out, &err) < 0) {
            berr_free(server_err);
            berr_wrap(&err, "template parsing error");
            return cli_fail(cli, err);
        }
        fputc('\n', cli->out);
        return server_err ? cli_fail(cli, server_err) : 0;
    }
    _cleanup_json_ json_t *client = client_info(cli);
    fprintf(cli->out, "Client:\n");
    field(cli->out, " Version:   ", client, "Version", true);
    flag_field(cli->out, " Debug Mode:", client, "Debug");
    fprintf(cli->out, "\nServer:\n");
    if (server_err) {
        fflush(cli->out);
        return cli_fail(cli, server_err);
    }
    if (print_server(cli, info, &err) < 0) {
        fflush(cli->out);
        fprintf(cli->err, "ERROR: %s\nerrors pretty printing info\n", err->msg);
        berr_free(err);
        return 1;
    }
    return 0;
}

static const struct cli_flag info_flags[] = {
    {"format", 'f', CLI_FLAG_STRING,
     "Format output using a custom template:\n'json':             Print in JSON format\n"
     "'TEMPLATE':         Print output using the given Go template.\nRefer to "
     "https://docs.docker.com/go/formatting/ for more information about formatting output "
     "with templates"},
    {NULL},
};

const struct cli_command cli_cmd_info = {
    .name = "info",
    .usage = "[OPTIONS]",
    .short_desc = "Display system-wide information",
    .flags = info_flags,
    .min_args = 0,
    .max_args = 0,
    .run = run_info,
};
