/* The OCI spec of a Docker container: Docker's default spec (oci/defaults.go) shaped by the
 * merged Config and HostConfig as daemon/oci_linux.go shapes it: process (args, env, user,
 * capabilities, rlimits), mounts, namespaces, sysctls, masked paths and seccomp. Resources and
 * devices are in specgen_resources.c, the seccomp profiles in seccomp_default.c. */
#include "engine/specgen.h"
#include "engine/specgen_internal.h"
#include "engine/userdb.h"
#include "common/jsonkind.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "runtime/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define HC               "HostConfig"
#define DEFAULT_PATH     "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_SHM_SIZE 67108864LL
#define DEFAULT_NOFILE   1048576ULL
#define INIT_PATH        "/sbin/docker-init"
#define CGROUP2_MAGIC    0x63677270

/* ---- typed reads ---- */

json_t *sg_get(json_t *obj, const char *key)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    return v && !json_is_null(v) ? v : NULL;
}

static int wrong_type(const char *where, const char *key, const char *want, json_t *v,
                      struct berr **err)
{
    return berr_code(err, EINVAL, "%s.%s: expected %s, got %s", where, key, want, json_kind(v));
}

int sg_int(json_t *obj, const char *where, const char *key, int64_t *out, struct berr **err)
{
    json_t *v = sg_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v))
        return wrong_type(where, key, "an integer", v, err);
    *out = json_integer_value(v);
    return 0;
}

int sg_bool(json_t *obj, const char *where, const char *key, bool *out, struct berr **err)
{
    json_t *v = sg_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_boolean(v))
        return wrong_type(where, key, "a boolean", v, err);
    *out = json_is_true(v);
    return 0;
}

int sg_str(json_t *obj, const char *where, const char *key, const char **out, struct berr **err)
{
    json_t *v = sg_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return wrong_type(where, key, "a string", v, err);
    *out = json_string_value(v);
    return 0;
}

int sg_array(json_t *obj, const char *where, const char *key, json_t **out, struct berr **err)
{
    json_t *v = sg_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_array(v))
        return wrong_type(where, key, "an array", v, err);
    *out = v;
    return 0;
}

int sg_object(json_t *obj, const char *where, const char *key, json_t **out, struct berr **err)
{
    json_t *v = sg_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_object(v))
        return wrong_type(where, key, "an object", v, err);
    *out = v;
    return 0;
}

int sg_strv(json_t *obj, const char *where, const char *key, json_t **out, struct berr **err)
{
    json_t *arr = NULL;
    if (sg_array(obj, where, key, &arr, err) < 0)
        return -1;
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s)
    {
        if (!json_is_string(s))
            return berr_code(err, EINVAL, "%s.%s[%zu]: expected a string, got %s", where, key, i,
                             json_kind(s));
    }
    *out = arr;
    return 0;
}

char *sg_quote(const char *s)
{
    size_t n = strlen(s);
    char *out = xmalloc(n * 4 + 3), *p = out;
    *p++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            p += sprintf(p, "\\x%02x", c);
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    *p = '\0';
    return out;
}

/* ---- capabilities ---- */

/* clang-format off */
static const char *const cap_names[SG_CAP_MAX + 1] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};
/* clang-format on */

/* Docker's default set (oci/caps/defaults.go), in its order. */
static const int default_caps[] = {0, 1, 4, 3, 27, 13, 6, 7, 31, 8, 10, 18, 5, 29};

const char *sg_cap_name(int cap)
{
    return cap >= 0 && cap <= SG_CAP_MAX ? cap_names[cap] : NULL;
}

int sg_cap_number(const char *name)
{
    for (int i = 0; i <= SG_CAP_MAX; i++)
        if (strcmp(cap_names[i], name) == 0)
            return i;
    return -1;
}

static uint64_t read_cap_bounding(void)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "CapBnd:", 7) == 0)
            return strtoull(line + 7, NULL, 16);
    return UINT64_MAX;
}

/* The capabilities this host can give: the bounding set, cut to what we and the kernel know. */
static uint64_t available_caps(const struct eng_spec_ctx *ctx)
{
    uint64_t bnd = ctx->cap_bounding ? ctx->cap_bounding : read_cap_bounding();
    int last = rt_cap_last_cap();
    if (last > SG_CAP_MAX)
        last = SG_CAP_MAX;
    return bnd & (last >= 63 ? UINT64_MAX : (1ULL << (last + 1)) - 1);
}

/* CapAdd/CapDrop as Docker normalizes them (upper case, CAP_ prefix, "ALL"), in given order. */
static int normalize_caps(json_t *list, const char *field, uint64_t avail, bool *all, int *caps,
                          size_t *n, struct berr **err)
{
    size_t i;
    json_t *e;
    *n = 0;
    json_array_foreach(list, i, e)
    {
        _cleanup_free_ char *up = xstrdup(json_string_value(e));
        for (char *p = up; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        if (strcmp(up, "ALL") == 0) {
            *all = true;
            continue;
        }
        _cleanup_free_ char *name =
            strncmp(up, "CAP_", 4) == 0 ? xstrdup(up) : xasprintf("CAP_%s", up);
        int c = sg_cap_number(name);
        _cleanup_free_ char *q = sg_quote(name);
        if (c < 0)
            return berr_code(err, EINVAL, "invalid %s: unknown capability: %s", field, q);
        if (!((avail >> c) & 1))
            return berr_code(err, EINVAL,
                             "invalid %s: capability not supported by your kernel or not "
                             "available in the current environment: %s",
                             field, q);
        caps[(*n)++] = c;
    }
    return 0;
}

static void push_cap(int *out, size_t *n, int c)
{
    for (size_t i = 0; i < *n; i++)
        if (out[i] == c)
            return;
    out[(*n)++] = c;
}

/* The container's capability list (TweakCapabilities), in Docker's order. */
static int tweak_caps(json_t *add_list, json_t *drop_list, bool privileged, uint64_t avail,
                      int *out, size_t *n, struct berr **err)
{
    int add[128], drop[128];
    size_t n_add, n_drop;
    bool add_all = false, drop_all = false;
    if (json_array_size(add_list) > ARRAY_SIZE(add) ||
        json_array_size(drop_list) > ARRAY_SIZE(drop))
        return berr_code(err, EINVAL, "CapAdd/CapDrop: more than %zu entries", ARRAY_SIZE(add));
    if (normalize_caps(add_list, "CapAdd", avail, &add_all, add, &n_add, err) < 0 ||
        normalize_caps(drop_list, "CapDrop", avail, &drop_all, drop, &n_drop, err) < 0)
        return -1;
    *n = 0;
    if (privileged || add_all) {
        for (int c = 0; c <= SG_CAP_MAX; c++) {
            bool dropped = false;
            for (size_t k = 0; !privileged && k < n_drop; k++)
                dropped = dropped || drop[k] == c;
            if ((avail >> c) & 1 && !dropped)
                push_cap(out, n, c);
        }
        return 0;
    }
    if (!drop_all) {
        for (size_t i = 0; i < ARRAY_SIZE(default_caps); i++) {
            bool dropped = false;
            for (size_t k = 0; k < n_drop; k++)
                dropped = dropped || drop[k] == default_caps[i];
            /* A default the host cannot give is left out rather than failing every start. */
            if (!dropped && (avail >> default_caps[i]) & 1)
                push_cap(out, n, default_caps[i]);
        }
    }
    for (size_t i = 0; i < n_add; i++)
        push_cap(out, n, add[i]);
    return 0;
}

static json_t *caps_object(const int *caps, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(cap_names[caps[i]]));
    /* Docker sets these three; inheritable and ambient stay empty (CVE-2022-24769). */
    return json_pack("{s:O,s:O,s:o}", "bounding", list, "effective", list, "permitted", list);
}

/* ---- HostConfig ---- */

struct host_cfg {
    bool privileged, readonly_rootfs, init, no_new_privs;
    int writable_cgroups; /* -1: as privileged */
    const char *seccomp;  /* NULL: the default */
    const char *network, *ipc, *pid, *uts, *cgroupns, *cgroup_parent;
    int64_t shm_size, oom_score_adj;
    json_t *cap_add, *cap_drop, *group_add, *tmpfs, *sysctls, *ulimits, *masked, *ro_paths,
        *console_size, *annotations;
};

static bool parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        if (strcmp(s, t[i]) == 0)
            return *out = true, true;
        if (strcmp(s, f[i]) == 0)
            return *out = false, true;
    }
    return false;
}

/* SecurityOpt as parseSecurityOpt reads it (labels and AppArmor profiles are accepted and have
 * no effect here: neither LSM is used). */
static int security_opts(json_t *hc, struct host_cfg *h, struct berr **err)
{
    json_t *opts = NULL;
    if (sg_strv(hc, HC, "SecurityOpt", &opts, err) < 0)
        return -1;
    size_t i;
    json_t *e;
    json_array_foreach(opts, i, e)
    {
        const char *opt = json_string_value(e);
        if (strcmp(opt, "no-new-privileges") == 0) {
            h->no_new_privs = true;
            continue;
        }
        if (strcmp(opt, "writable-cgroups") == 0) {
            h->writable_cgroups = 1;
            continue;
        }
        if (strcmp(opt, "disable") == 0)
            continue;
        const char *sep = strchr(opt, '=');
        if (sep == NULL)
            sep = strchr(opt, ':');
        _cleanup_free_ char *q = sg_quote(opt);
        if (sep == NULL)
            return berr_code(err, EINVAL, "invalid --security-opt 1: %s", q);
        size_t klen = (size_t)(sep - opt);
        const char *v = sep + 1;
        bool b;
        if (klen == 5 && strncmp(opt, "label", 5) == 0)
            continue;
        if (klen == 8 && strncmp(opt, "apparmor", 8) == 0)
            continue;
        if (klen == 7 && strncmp(opt, "seccomp", 7) == 0) {
            h->seccomp = v[0] ? v : NULL;
        } else if (klen == 17 && strncmp(opt, "no-new-privileges", 17) == 0 && parse_bool(v, &b)) {
            h->no_new_privs = b;
        } else if (klen == 16 && strncmp(opt, "writable-cgroups", 16) == 0 && parse_bool(v, &b)) {
            h->writable_cgroups = b;
        } else {
            return berr_code(err, EINVAL, "invalid --security-opt 2: %s", q);
        }
    }
    return 0;
}

static bool container_mode(const char *mode)
{
    return strncmp(mode, "container:", 10) == 0 && mode[10] != '\0';
}

static bool one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

static int read_host_config(json_t *hc, struct host_cfg *h, struct berr **err)
{
    *h = (struct host_cfg){.writable_cgroups = -1,
                           .network = "",
                           .ipc = "",
                           .pid = "",
                           .uts = "",
                           .cgroupns = "",
                           .cgroup_parent = ""};
    if (hc && !json_is_object(hc))
        return berr_code(err, EINVAL, HC ": expected an object, got %s", json_kind(hc));
    if (sg_bool(hc, HC, "Privileged", &h->privileged, err) < 0 ||
        sg_bool(hc, HC, "ReadonlyRootfs", &h->readonly_rootfs, err) < 0 ||
        sg_bool(hc, HC, "Init", &h->init, err) < 0 ||
        sg_str(hc, HC, "NetworkMode", &h->network, err) < 0 ||
        sg_str(hc, HC, "IpcMode", &h->ipc, err) < 0 ||
        sg_str(hc, HC, "PidMode", &h->pid, err) < 0 ||
        sg_str(hc, HC, "UTSMode", &h->uts, err) < 0 ||
        sg_str(hc, HC, "CgroupnsMode", &h->cgroupns, err) < 0 ||
        sg_str(hc, HC, "CgroupParent", &h->cgroup_parent, err) < 0 ||
        sg_int(hc, HC, "ShmSize", &h->shm_size, err) < 0 ||
        sg_int(hc, HC, "OomScoreAdj", &h->oom_score_adj, err) < 0 ||
        sg_strv(hc, HC, "CapAdd", &h->cap_add, err) < 0 ||
        sg_strv(hc, HC, "CapDrop", &h->cap_drop, err) < 0 ||
        sg_strv(hc, HC, "GroupAdd", &h->group_add, err) < 0 ||
        sg_object(hc, HC, "Tmpfs", &h->tmpfs, err) < 0 ||
        sg_object(hc, HC, "Sysctls", &h->sysctls, err) < 0 ||
        sg_array(hc, HC, "Ulimits", &h->ulimits, err) < 0 ||
        sg_strv(hc, HC, "MaskedPaths", &h->masked, err) < 0 ||
        sg_strv(hc, HC, "ReadonlyPaths", &h->ro_paths, err) < 0 ||
        sg_array(hc, HC, "ConsoleSize", &h->console_size, err) < 0 ||
        sg_object(hc, HC, "Annotations", &h->annotations, err) < 0 || security_opts(hc, h, err) < 0)
        return -1;

    static const char *const ipc_modes[] = {"", "none", "private", "host", "shareable", NULL};
    static const char *const pid_modes[] = {"", "host", NULL};
    static const char *const uts_modes[] = {"", "host", NULL};
    static const char *const cgns_modes[] = {"", "host", "private", NULL};
    if (!one_of(h->ipc, ipc_modes) && !container_mode(h->ipc))
        return berr_code(err, EINVAL, "invalid IPC mode: %s", h->ipc);
    if (!one_of(h->pid, pid_modes) && !container_mode(h->pid))
        return berr_code(err, EINVAL, "invalid PID mode: %s", h->pid);
    if (!one_of(h->uts, uts_modes))
        return berr_code(err, EINVAL, "invalid UTS mode: %s", h->uts);
    if (!one_of(h->cgroupns, cgns_modes))
        return berr_code(err, EINVAL, "invalid cgroup namespace mode: %s", h->cgroupns);
    if (strncmp(h->network, "container:", 10) == 0 && !container_mode(h->network))
        return berr_code(err, EINVAL,
                         "invalid NetworkMode %s: name the container to share the network of",
                         h->network);
    if (h->shm_size < 0)
        return berr_code(err, EINVAL, "SHM size can not be less than 0");
    if (h->oom_score_adj < -1000 || h->oom_score_adj > 1000)
        return berr_code(err, EINVAL,
                         "Invalid value %lld, range for oom score adj is [-1000, 1000]",
                         (long long)h->oom_score_adj);
    const char *k;
    json_t *v;
    json_object_foreach(h->annotations, k, v)
    {
        if (k[0] == '\0')
            return berr_code(err, EINVAL,
                             "invalid Annotations: the empty string is not permitted as an "
                             "annotation key");
        if (!json_is_string(v))
            return berr_code(err, EINVAL, HC ".Annotations[\"%s\"]: expected a string, got %s", k,
                             json_kind(v));
    }
    return 0;
}

/* ---- process ---- */

static size_t key_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Docker's environment: PATH, HOSTNAME and (with a tty) TERM, overridden or unset ("KEY" alone)
 * by the Config's Env (ReplaceOrAppendEnvValues), then HOME when nothing set it. */
static json_t *build_env(json_t *cfg_env, const char *hostname, bool tty, const char *home)
{
    size_t cap = 3 + json_array_size(cfg_env) + 1, n = 0;
    _cleanup_free_ char **env = xcalloc(cap, sizeof(*env));
    _cleanup_free_ bool *gone = xcalloc(cap, sizeof(*gone));
    json_t *out = json_array();
    _cleanup_free_ char *path = xstrdup("PATH=" DEFAULT_PATH);
    _cleanup_free_ char *host = xasprintf("HOSTNAME=%s", hostname);
    env[n++] = path;
    env[n++] = host;
    if (tty)
        env[n++] = "TERM=xterm";
    size_t n_defaults = n, i;
    json_t *e;
    json_array_foreach(cfg_env, i, e)
    {
        const char *kv = json_string_value(e);
        size_t klen = key_len(kv);
        size_t d = 0;
        while (d < n_defaults && !(key_len(env[d]) == klen && strncmp(env[d], kv, klen) == 0))
            d++;
        if (kv[klen] != '=') {
            if (d < n_defaults)
                gone[d] = true;
            continue;
        }
        if (d < n_defaults) {
            env[d] = (char *)kv;
            gone[d] = false;
        } else {
            env[n++] = (char *)kv;
        }
    }
    bool has_home = false;
    for (size_t k = 0; k < n; k++) {
        if (gone[k])
            continue;
        has_home = has_home || strncmp(env[k], "HOME=", 5) == 0;
        json_array_append_new(out, json_string(env[k]));
    }
    if (!has_home)
        json_array_append_new(out, json_sprintf("HOME=%s", home));
    return out;
}

static int build_args(json_t *config, bool init, json_t **out, struct berr **err)
{
    json_t *ep = NULL, *cmd = NULL;
    if (sg_strv(config, "Config", "Entrypoint", &ep, err) < 0 ||
        sg_strv(config, "Config", "Cmd", &cmd, err) < 0)
        return -1;
    if (json_array_size(ep) + json_array_size(cmd) == 0)
        return berr_code(err, EINVAL, "no command specified");
    json_t *args = json_array();
    if (init) {
        json_array_append_new(args, json_string(INIT_PATH));
        json_array_append_new(args, json_string("--"));
    }
    if (ep)
        json_array_extend(args, ep);
    if (cmd)
        json_array_extend(args, cmd);
    *out = args;
    return 0;
}

static const char *const ulimit_names[] = {"core",    "cpu",      "data",   "fsize",      "locks",
                                           "memlock", "msgqueue", "nice",   "nofile",     "nproc",
                                           "rss",     "rtprio",   "rttime", "sigpending", "stack"};

static json_t *rlimit(const char *name, int64_t soft, int64_t hard)
{
    _cleanup_free_ char *type = xasprintf("RLIMIT_%s", name);
    for (char *p = type; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return json_pack("{s:s,s:I,s:I}", "type", type, "hard", (json_int_t)hard, "soft",
                     (json_int_t)soft);
}

/* HostConfig.Ulimits ([{Name, Soft, Hard}], -1 unlimited) checked as go-units checks them,
 * plus RLIMIT_NOFILE's default. */
static int build_rlimits(json_t *ulimits, json_t **out, struct berr **err)
{
    _cleanup_json_ json_t *list = json_array();
    _cleanup_json_ json_t *seen = json_object();
    bool has_nofile = false;
    size_t i;
    json_t *u;
    json_array_foreach(ulimits, i, u)
    {
        _cleanup_free_ char *where = xasprintf(HC ".Ulimits[%zu]", i);
        if (!json_is_object(u))
            return berr_code(err, EINVAL, "%s: expected an object, got %s", where, json_kind(u));
        const char *name = NULL;
        int64_t soft = 0, hard = 0;
        bool known = false;
        if (sg_str(u, where, "Name", &name, err) < 0 || sg_int(u, where, "Soft", &soft, err) < 0 ||
            sg_int(u, where, "Hard", &hard, err) < 0)
            return -1;
        for (size_t k = 0; name && k < ARRAY_SIZE(ulimit_names); k++)
            known = known || strcmp(name, ulimit_names[k]) == 0;
        int r = 0;
        if (!known)
            r = berr_code(err, EINVAL, "invalid ulimit type: %s", name ? name : "");
        else if (soft < -1 || hard < -1)
            r = berr_code(err, EINVAL, "%s: invalid ulimit value for %s (-1 means unlimited)",
                          where, name);
        else if (hard != -1 && soft == -1)
            r = berr_code(err, EINVAL,
                          "ulimit soft limit must be less than or equal to hard limit: soft: -1 "
                          "(unlimited), hard: %lld",
                          (long long)hard);
        else if (hard != -1 && soft > hard)
            r = berr_code(err, EINVAL,
                          "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
                          (long long)soft, (long long)hard);
        if (r < 0)
            return -1;
        /* A name given twice: the last one counts (the runtime takes each type once). */
        json_t *prev = json_object_get(seen, name);
        if (prev)
            json_array_set_new(list, (size_t)json_integer_value(prev), rlimit(name, soft, hard));
        else {
            json_object_set_new(seen, name, json_integer((json_int_t)json_array_size(list)));
            json_array_append_new(list, rlimit(name, soft, hard));
        }
        has_nofile = has_nofile || strcmp(name, "nofile") == 0;
    }
    if (!has_nofile) {
        /* The runtime cannot raise a hard limit above its own, so the default must fit. */
        struct rlimit rl;
        uint64_t n = DEFAULT_NOFILE;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < n)
            n = rl.rlim_max;
        json_array_append_new(list, rlimit("nofile", (int64_t)n, (int64_t)n));
    }
    *out = steal_ptr(&list);
    return 0;
}

/* ---- namespaces ---- */

static void add_ns(json_t *list, const char *type, const char *path)
{
    json_t *ns = json_pack("{s:s}", "type", type);
    if (path)
        json_object_set_new(ns, "path", json_string(path));
    json_array_append_new(list, ns);
}

/* mode is a Docker namespace mode ("", "host", "container:<id>", ...); path what the engine
 * resolved for it. Returns 0 and adds the namespace unless the mode shares the host's. */
static int mode_ns(json_t *list, const char *type, const char *field, const char *mode,
                   const char *path, struct berr **err)
{
    if (strcmp(mode, "host") == 0)
        return 0;
    if (container_mode(mode) && path == NULL)
        return berr_code(err, EINVAL,
                         "%s %s: the %s namespace of that container was not resolved (is it "
                         "running?)",
                         field, mode, type);
    add_ns(list, type, path);
    return 0;
}

bool eng_cgroup_unified(const struct eng_spec_ctx *ctx)
{
    if (ctx != NULL && ctx->cgroup_mode != ENG_CGROUP_DETECT)
        return ctx->cgroup_mode == ENG_CGROUP_UNIFIED;
    struct statfs fs;
    return statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_MAGIC;
}

/* Docker's order: mount, network, uts, pid, ipc, cgroup. */
static int build_namespaces(const struct host_cfg *h, bool network_disabled,
                            const struct eng_spec_ctx *ctx, json_t **out, struct berr **err)
{
    _cleanup_json_ json_t *list = json_array();
    add_ns(list, "mount", NULL);
    if (network_disabled)
        add_ns(list, "network", NULL);
    else if (mode_ns(list, "network", "NetworkMode", h->network, ctx->net_path, err) < 0)
        return -1;
    if (mode_ns(list, "uts", "UTSMode", h->uts, ctx->uts_path, err) < 0 ||
        mode_ns(list, "pid", "PidMode", h->pid, ctx->pid_path, err) < 0 ||
        mode_ns(list, "ipc", "IpcMode", h->ipc, ctx->ipc_path, err) < 0)
        return -1;
    /* Docker's default: a private cgroup namespace on pure cgroup v2 only. */
    bool private_cg =
        h->cgroupns[0] ? strcmp(h->cgroupns, "private") == 0 : eng_cgroup_unified(ctx);
    if (private_cg)
        add_ns(list, "cgroup", NULL);
    *out = steal_ptr(&list);
    return 0;
}

/* ---- sysctls ---- */

static bool host_has_sysctl(const char *name)
{
    _cleanup_free_ char *path = xasprintf("/proc/sys/%s", name);
    for (char *p = path + 10; *p; p++)
        if (*p == '.')
            *p = '/';
    return access(path, F_OK) == 0;
}

/* Not in a user namespace of our own: ping sockets cannot be granted from one. */
static bool initial_userns(void)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/uid_map", "re");
    unsigned long a, b, c;
    return f == NULL ||
           (fscanf(f, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295UL);
}

/* Only sysctls that belong to a namespace the container has of its own (runc's rules). */
static int check_sysctl(const char *key, const struct host_cfg *h, bool own_net,
                        const char *domainname, struct berr **err)
{
    static const char *const ipc_keys[] = {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",          "kernel.sem", "kernel.shmall",
        "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
    _cleanup_free_ char *q = sg_quote(key);
    if (one_of(key, ipc_keys) || strncmp(key, "fs.mqueue.", 10) == 0) {
        if (strcmp(h->ipc, "host") == 0)
            return berr_code(err, EINVAL, "sysctl %s is not allowed in the hosts ipc namespace", q);
        return 0;
    }
    if (strncmp(key, "net.", 4) == 0) {
        if (!own_net)
            return berr_code(err, EINVAL, "sysctl %s is not allowed in the hosts network namespace",
                             q);
        return 0;
    }
    if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0) {
        bool host = strcmp(key, "kernel.hostname") == 0;
        if (strcmp(h->uts, "host") == 0)
            return berr_code(err, EINVAL, "sysctl %s is not allowed in the hosts uts namespace", q);
        if (host || domainname[0])
            return berr_code(err, EINVAL,
                             "sysctl %s is not allowed as it conflicts with the OCI "
                             "\"%s\" field",
                             q, host ? "hostname" : "domainname");
        return 0;
    }
    return berr_code(err, EINVAL, "sysctl %s is not in a separate kernel namespace", q);
}

static int build_sysctls(const struct host_cfg *h, bool network_disabled, const char *domainname,
                         json_t **out, struct berr **err)
{
    _cleanup_json_ json_t *sysctl = json_object();
    bool own_net = network_disabled || strcmp(h->network, "host") != 0;
    /* Docker's defaults for a network namespace it makes itself: unprivileged ping and low
     * ports, which the default capabilities grant anyway. */
    if (network_disabled || (own_net && !container_mode(h->network))) {
        if (initial_userns() && host_has_sysctl("net.ipv4.ping_group_range"))
            json_object_set_new(sysctl, "net.ipv4.ping_group_range", json_string("0 2147483647"));
        if (host_has_sysctl("net.ipv4.ip_unprivileged_port_start"))
            json_object_set_new(sysctl, "net.ipv4.ip_unprivileged_port_start", json_string("0"));
    }
    const char *k;
    json_t *v;
    json_object_foreach(h->sysctls, k, v)
    {
        if (!json_is_string(v))
            return berr_code(err, EINVAL, HC ".Sysctls[\"%s\"]: expected a string, got %s", k,
                             json_kind(v));
        if (check_sysctl(k, h, own_net, domainname, err) < 0)
            return -1;
        json_object_set(sysctl, k, v);
    }
    *out = steal_ptr(&sysctl);
    return 0;
}

/* ---- the spec ---- */

static json_t *user_object(const struct eng_user *u)
{
    json_t *gids = json_array();
    for (size_t i = 0; i < u->n_gids; i++)
        json_array_append_new(gids, json_integer(u->gids[i]));
    return json_pack("{s:I,s:I,s:o}", "uid", (json_int_t)u->uid, "gid", (json_int_t)u->gid,
                     "additionalGids", gids);
}

/* /dev/shm: none, a tmpfs, or a bind of the directory the engine gives. */
static int shm_plan(const struct host_cfg *h, const struct eng_spec_ctx *ctx,
                    struct sg_mount_plan *plan, struct berr **err)
{
    plan->ipc_none = strcmp(h->ipc, "none") == 0;
    if (plan->ipc_none || strcmp(h->ipc, "private") == 0 || h->ipc[0] == '\0')
        return 0;
    if (strcmp(h->ipc, "host") == 0) {
        plan->shm_bind = ctx->shm_path ? ctx->shm_path : "/dev/shm";
        return 0;
    }
    if (container_mode(h->ipc) && ctx->shm_path == NULL)
        return berr_code(err, EINVAL,
                         "IpcMode %s: that container's /dev/shm was not resolved (hint: use "
                         "IpcMode:shareable for the donor container)",
                         h->ipc);
    plan->shm_bind = ctx->shm_path;
    return 0;
}

static int seccomp_for(const struct host_cfg *h, uint64_t caps, json_t **out, struct berr **err)
{
    *out = NULL;
    const char *p = h->seccomp;
    if (p && strcmp(p, "unconfined") == 0)
        return 0;
    if (p == NULL || strcmp(p, "builtin") == 0) {
        /* Docker gives a privileged container no filter unless one is asked for. */
        if (!h->privileged || p)
            *out = sg_seccomp_default(caps);
        return 0;
    }
    *out = sg_seccomp_from_docker(p, caps, err);
    return *out == NULL && *err ? -1 : 0;
}

/* A NULL-terminated view of an array of strings (the strings stay the array's). */
static const char **strv_view(json_t *arr)
{
    const char **v = xcalloc(json_array_size(arr) + 1, sizeof(*v));
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        v[i] = json_string_value(e);
    }
    return v;
}

struct config_view {
    bool tty, network_disabled;
    const char *user, *workdir, *domainname, *hostname;
    json_t *env;
};

static int read_config(json_t *config, struct config_view *c, struct berr **err)
{
    *c = (struct config_view){.user = "", .workdir = "", .domainname = "", .hostname = ""};
    if (!json_is_object(config))
        return berr_code(err, EINVAL, "Config: expected an object, got %s", json_kind(config));
    if (sg_bool(config, "Config", "Tty", &c->tty, err) < 0 ||
        sg_bool(config, "Config", "NetworkDisabled", &c->network_disabled, err) < 0 ||
        sg_str(config, "Config", "User", &c->user, err) < 0 ||
        sg_str(config, "Config", "WorkingDir", &c->workdir, err) < 0 ||
        sg_str(config, "Config", "Domainname", &c->domainname, err) < 0 ||
        sg_str(config, "Config", "Hostname", &c->hostname, err) < 0 ||
        sg_strv(config, "Config", "Env", &c->env, err) < 0)
        return -1;
    if (c->workdir[0] && c->workdir[0] != '/')
        return berr_code(err, EINVAL,
                         "the working directory '%s' is invalid, it needs to be an absolute path",
                         c->workdir);
    return 0;
}

static int build_process(json_t *config, const struct config_view *c, const struct host_cfg *h,
                         const struct eng_spec_ctx *ctx, bool init, const int *caps, size_t n_caps,
                         json_t **out, struct berr **err)
{
    _cleanup_json_ json_t *args = NULL, *rlimits = NULL;
    if (build_args(config, init, &args, err) < 0 || build_rlimits(h->ulimits, &rlimits, err) < 0)
        return -1;
    _cleanup_close_ int own_fd = -1;
    int rootfs_fd = ctx->rootfs_fd;
    if (rootfs_fd < 0) {
        own_fd = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (own_fd < 0)
            return berr_sys(err, "open the container's rootfs %s", ctx->rootfs);
        rootfs_fd = own_fd;
    }
    _cleanup_free_ const char **groups = strv_view(h->group_add);
    _cleanup_(eng_user_clear) struct eng_user u = {0};
    if (eng_user_resolve(rootfs_fd, c->user, groups, &u, err) < 0)
        return -1;
    const char *hostname = ctx->hostname ? ctx->hostname : c->hostname;
    _cleanup_free_ char *cwd = sg_path_clean(c->workdir[0] ? c->workdir : "/");

    _cleanup_json_ json_t *p = json_object();
    json_object_set_new(p, "terminal", json_boolean(c->tty));
    int64_t size[2] = {0, 0};
    for (size_t i = 0; i < 2 && i < json_array_size(h->console_size); i++) {
        json_t *v = json_array_get(h->console_size, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535)
            return berr_code(err, EINVAL, HC ".ConsoleSize[%zu]: expected a size in 0..65535", i);
        size[i] = json_integer_value(v);
    }
    if (c->tty && (size[0] > 0 || size[1] > 0))
        json_object_set_new(
            p, "consoleSize",
            json_pack("{s:I,s:I}", "height", (json_int_t)size[0], "width", (json_int_t)size[1]));
    json_object_set_new(p, "user", user_object(&u));
    json_object_set(p, "args", args);
    json_object_set_new(p, "env", build_env(c->env, hostname ? hostname : "", c->tty, u.home));
    json_object_set_new(p, "cwd", json_string(cwd));
    json_object_set_new(p, "capabilities", caps_object(caps, n_caps));
    json_object_set(p, "rlimits", rlimits);
    if (h->no_new_privs)
        json_object_set_new(p, "noNewPrivileges", json_true());
    json_object_set_new(p, "oomScoreAdj", json_integer(h->oom_score_adj));
    *out = steal_ptr(&p);
    return 0;
}

static json_t *paths_or(json_t *given, json_t *(*fallback)(void), bool privileged)
{
    if (given)
        return json_deep_copy(given);
    return privileged ? json_array() : fallback();
}

json_t *eng_spec_generate(json_t *config, json_t *host_config, const struct eng_spec_ctx *ctx,
                          struct berr **err)
{
    struct host_cfg h;
    struct config_view c;
    if (ctx->id == NULL || ctx->rootfs == NULL || ctx->rootfs[0] != '/')
        return berr_code(err, EINVAL, "spec: the container's id and absolute rootfs are needed"),
               NULL;
    if (read_config(config, &c, err) < 0 || read_host_config(host_config, &h, err) < 0)
        return NULL;
    /* --init only where the container has a pid namespace of its own to be init of. */
    bool init = h.init && h.pid[0] == '\0';
    if (init && ctx->init_path == NULL)
        return berr_code(err, EINVAL, HC ".Init: no init binary is configured"), NULL;

    uint64_t avail = available_caps(ctx), cap_mask = 0;
    int caps[SG_CAP_MAX + 1];
    size_t n_caps = 0;
    if (tweak_caps(h.cap_add, h.cap_drop, h.privileged, avail, caps, &n_caps, err) < 0)
        return NULL;
    for (size_t i = 0; i < n_caps; i++)
        cap_mask |= 1ULL << caps[i];

    _cleanup_json_ json_t *process = NULL, *mounts = NULL, *namespaces = NULL, *sysctl = NULL,
                          *seccomp = NULL;
    struct sg_mount_plan plan = {
        .privileged = h.privileged,
        .readonly_rootfs = h.readonly_rootfs,
        .writable_cgroups = h.writable_cgroups >= 0 ? h.writable_cgroups : h.privileged,
        .init = init,
        .shm_size = h.shm_size,
        .tmpfs = h.tmpfs,
    };
    _cleanup_json_ json_t *lx = json_object();
    if (build_process(config, &c, &h, ctx, init, caps, n_caps, &process, err) < 0 ||
        shm_plan(&h, ctx, &plan, err) < 0 || sg_mounts(ctx, &plan, &mounts, err) < 0 ||
        build_namespaces(&h, c.network_disabled, ctx, &namespaces, err) < 0 ||
        build_sysctls(&h, c.network_disabled, c.domainname, &sysctl, err) < 0 ||
        sg_resources(host_config, h.privileged, lx, err) < 0 ||
        seccomp_for(&h, cap_mask, &seccomp, err) < 0)
        return NULL;

    _cleanup_free_ char *cgroups_path = h.cgroup_parent[0]
                                            ? xasprintf("%s/%s", h.cgroup_parent, ctx->id)
                                            : xasprintf("/berth/%s", ctx->id);
    _cleanup_free_ char *cgroups_clean = sg_path_clean(cgroups_path);
    json_object_set(lx, "sysctl", sysctl);
    json_object_set_new(lx, "cgroupsPath", json_string(cgroups_clean));
    json_object_set(lx, "namespaces", namespaces);
    if (seccomp)
        json_object_set(lx, "seccomp", seccomp);
    json_object_set_new(lx, "maskedPaths",
                        paths_or(h.masked, sg_default_masked_paths, h.privileged));
    json_object_set_new(lx, "readonlyPaths",
                        paths_or(h.ro_paths, sg_default_readonly_paths, h.privileged));

    json_t *spec = json_object();
    json_object_set_new(spec, "ociVersion", json_string("1.1.0"));
    json_object_set(spec, "process", process);
    json_object_set_new(spec, "root",
                        json_pack("{s:s,s:b}", "path", ctx->rootfs, "readonly", h.readonly_rootfs));
    const char *hostname = ctx->hostname ? ctx->hostname : c.hostname;
    bool own_uts = strcmp(h.uts, "host") != 0;
    if (own_uts && hostname && hostname[0])
        json_object_set_new(spec, "hostname", json_string(hostname));
    if (own_uts && c.domainname[0])
        json_object_set_new(spec, "domainname", json_string(c.domainname));
    json_object_set(spec, "mounts", mounts);
    if (json_object_size(h.annotations) > 0)
        json_object_set_new(spec, "annotations", json_deep_copy(h.annotations));
    json_object_set(spec, "linux", lx);
    return spec;
}
