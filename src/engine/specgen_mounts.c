/* The mounts of a Docker container's spec and its masked and read-only paths: Docker's default
 * filesystems (/proc, /dev, /sys, cgroups, mqueue, shm), the network files, tmpfs mounts with
 * Docker's option rules (MergeTmpfsOptions), and the volume module's mounts on top. */
#include "engine/specgen.h"
#include "engine/specgen_internal.h"
#include "common/jsonkind.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_SHM_SIZE 67108864LL
#define INIT_PATH        "/sbin/docker-init"

char *sg_path_clean(const char *p)
{
    bool rooted = p[0] == '/';
    _cleanup_free_ char *copy = xstrdup(p);
    _cleanup_free_ char **parts = xcalloc(strlen(p) / 2 + 2, sizeof(*parts));
    size_t n = 0, len = 0;
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            if (n > 0 && strcmp(parts[n - 1], "..") != 0) {
                n--;
                continue;
            }
            if (rooted)
                continue;
        }
        parts[n++] = c;
    }
    for (size_t i = 0; i < n; i++)
        len += strlen(parts[i]) + 1;
    char *out = xmalloc(len + 2), *o = out;
    if (rooted)
        *o++ = '/';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *o++ = '/';
        o = stpcpy(o, parts[i]);
    }
    if (o == out)
        *o++ = '.';
    *o = '\0';
    return out;
}

static int strcmp_indirect(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t path_depth(const char *clean)
{
    size_t n = 0;
    for (; *clean; clean++)
        n += *clean == '/';
    return n;
}

static json_t *mount_obj(const char *dest, const char *type, const char *src,
                         const char *const *opts)
{
    json_t *o = json_array();
    for (; opts && *opts; opts++)
        json_array_append_new(o, json_string(*opts));
    return json_pack("{s:s,s:s,s:s,s:o}", "destination", dest, "type", type, "source", src,
                     "options", o);
}

static void defaults(const struct eng_spec_ctx *ctx, const struct sg_mount_plan *plan, json_t *list)
{
    static const char *const proc[] = {"nosuid", "noexec", "nodev", NULL};
    static const char *const dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
    static const char *const pts[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
                                      "mode=0620", "gid=5",  NULL};
    static const char *const sys[] = {"nosuid", "noexec", "nodev", "ro", NULL};
    static const char *const cgroup[] = {"ro", "nosuid", "noexec", "nodev", NULL};
    static const char *const mqueue[] = {"nosuid", "noexec", "nodev", NULL};
    static const char *const init[] = {"bind", "ro", NULL};
    json_array_append_new(list, mount_obj("/proc", "proc", "proc", proc));
    json_array_append_new(list, mount_obj("/dev", "tmpfs", "tmpfs", dev));
    json_array_append_new(list, mount_obj("/dev/pts", "devpts", "devpts", pts));
    json_array_append_new(list, mount_obj("/sys", "sysfs", "sysfs", sys));
    json_array_append_new(list, mount_obj("/sys/fs/cgroup", "cgroup", "cgroup", cgroup));
    json_array_append_new(list, mount_obj("/dev/mqueue", "mqueue", "mqueue", mqueue));
    if (!plan->ipc_none) {
        _cleanup_free_ char *size = xasprintf(
            "size=%lld", (long long)(plan->shm_size > 0 ? plan->shm_size : DEFAULT_SHM_SIZE));
        const char *shm[] = {"nosuid", "noexec", "nodev", "mode=1777", size, NULL};
        json_array_append_new(list, mount_obj("/dev/shm", "tmpfs", "shm", shm));
    }
    if (plan->init)
        json_array_append_new(list, mount_obj(INIT_PATH, "bind", ctx->init_path, init));
}

/* ---- tmpfs options ---- */

/* Mount flags, each with the key of the flag it sets or clears: a later option with the same
 * key wins. All propagation modes (and bind/rbind) share one key. */
static const struct {
    const char *name;
    const char *key;
} tmpfs_flags[] = {
    {"ro", "ro"},
    {"rw", "ro"},
    {"suid", "nosuid"},
    {"nosuid", "nosuid"},
    {"dev", "nodev"},
    {"nodev", "nodev"},
    {"exec", "noexec"},
    {"noexec", "noexec"},
    {"sync", "sync"},
    {"async", "sync"},
    {"dirsync", "dirsync"},
    {"remount", "remount"},
    {"mand", "mand"},
    {"nomand", "mand"},
    {"atime", "noatime"},
    {"noatime", "noatime"},
    {"diratime", "nodiratime"},
    {"nodiratime", "nodiratime"},
    {"relatime", "relatime"},
    {"norelatime", "relatime"},
    {"strictatime", "strictatime"},
    {"nostrictatime", "strictatime"},
    {"bind", "propagation"},
    {"rbind", "propagation"},
    {"unbindable", "propagation"},
    {"runbindable", "propagation"},
    {"private", "propagation"},
    {"rprivate", "propagation"},
    {"shared", "propagation"},
    {"rshared", "propagation"},
    {"slave", "propagation"},
    {"rslave", "propagation"},
};

static const char *const tmpfs_data[] = {"",    "size",      "mode",      "uid",
                                         "gid", "nr_inodes", "nr_blocks", "mpol"};

/* The collision key of an option, or NULL (with *err) when tmpfs does not take it. */
static char *option_key(const char *opt, struct berr **err)
{
    for (size_t i = 0; i < ARRAY_SIZE(tmpfs_flags); i++)
        if (strcmp(opt, tmpfs_flags[i].name) == 0)
            return xasprintf("flag:%s", tmpfs_flags[i].key);
    const char *eq = strchr(opt, '=');
    _cleanup_free_ char *name = eq ? xstrndup(opt, (size_t)(eq - opt)) : xstrdup(opt);
    for (size_t i = 0; eq && i < ARRAY_SIZE(tmpfs_data); i++)
        if (strcmp(name, tmpfs_data[i]) == 0)
            return xasprintf("data:%s", name);
    _cleanup_free_ char *q = sg_quote(name);
    return berr_code(err, EINVAL, "invalid tmpfs option %s", q), NULL;
}

/* Docker's defaults (noexec, nosuid, nodev, rprivate) then the user's comma-separated options,
 * duplicates resolved in favour of the later one, order otherwise kept. */
static json_t *tmpfs_options(const char *data, struct berr **err)
{
    _cleanup_json_ json_t *all = json_pack("[s,s,s,s]", "noexec", "nosuid", "nodev", "rprivate");
    if (data && data[0]) {
        for (const char *p = data;;) {
            size_t len = strcspn(p, ",");
            json_array_append_new(all, json_stringn(p, len));
            if (p[len] == '\0')
                break;
            p += len + 1;
        }
    }
    _cleanup_json_ json_t *keys = json_object();
    _cleanup_json_ json_t *kept = json_array();
    for (size_t i = json_array_size(all); i-- > 0;) {
        const char *opt = json_string_value(json_array_get(all, i));
        if (strcmp(opt, "defaults") == 0)
            continue;
        _cleanup_free_ char *key = option_key(opt, err);
        if (key == NULL)
            return NULL;
        if (json_object_get(keys, key))
            continue;
        json_object_set_new(keys, key, json_true());
        json_array_insert_new(kept, 0, json_string(opt));
    }
    return steal_ptr(&kept);
}

static int tmpfs_mounts(json_t *tmpfs, json_t *list, struct berr **err)
{
    /* Sorted by destination: a JSON object's order is the client's, and the spec should not
     * depend on it. */
    size_t n = json_object_size(tmpfs), i = 0;
    _cleanup_free_ const char **dests = xcalloc(n + 1, sizeof(*dests));
    const char *k;
    json_t *v;
    json_object_foreach(tmpfs, k, v)
    {
        dests[i++] = k;
    }
    qsort(dests, n, sizeof(*dests), strcmp_indirect);
    for (i = 0; i < n; i++) {
        json_t *data = json_object_get(tmpfs, dests[i]);
        if (!json_is_string(data))
            return berr_code(err, EINVAL, "HostConfig.Tmpfs[\"%s\"]: expected a string, got %s",
                             dests[i], json_kind(data));
        _cleanup_free_ char *clean = sg_path_clean(dests[i]);
        if (strcmp(clean, "/") == 0)
            return berr_code(err, EINVAL, "invalid specification: destination can't be '/'");
        if (dests[i][0] != '/')
            return berr_code(err, EINVAL, "invalid mount path: '%s' mount path must be absolute",
                             dests[i]);
        json_t *opts = tmpfs_options(json_string_value(data), err);
        if (opts == NULL)
            return -1;
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:o}", "destination", dests[i], "type",
                                              "tmpfs", "source", "tmpfs", "options", opts));
    }
    return 0;
}

/* ---- the list ---- */

/* Docker binds its own files with the default propagation; read-only with a read-only rootfs. */
static json_t *bind_obj(const char *dest, const char *src, bool ro)
{
    const char *rw[] = {"rbind", "rprivate", NULL};
    const char *rdonly[] = {"rbind", "ro", "rprivate", NULL};
    return mount_obj(dest, "bind", src, ro ? rdonly : rw);
}

static bool has_option(json_t *m, const char *opt)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(m, "options"), i, o)
    {
        if (json_is_string(o) && strcmp(json_string_value(o), opt) == 0)
            return true;
    }
    return false;
}

static void drop_option(json_t *m, const char *opt)
{
    json_t *opts = json_object_get(m, "options");
    for (size_t i = json_array_size(opts); i-- > 0;)
        if (strcmp(json_string_value(json_array_get(opts, i)), opt) == 0)
            json_array_remove(opts, i);
}

static const char *dest_of(json_t *m)
{
    return json_string_value(json_object_get(m, "destination"));
}

static int own_mounts(const struct eng_spec_ctx *ctx, const struct sg_mount_plan *plan, json_t *own,
                      struct berr **err)
{
    if (plan->shm_bind)
        json_array_append_new(own, bind_obj("/dev/shm", plan->shm_bind, false));
    const char *files[][2] = {{"/etc/resolv.conf", ctx->etc_resolv},
                              {"/etc/hostname", ctx->etc_hostname},
                              {"/etc/hosts", ctx->etc_hosts}};
    for (size_t i = 0; i < ARRAY_SIZE(files); i++)
        if (files[i][1])
            json_array_append_new(own, bind_obj(files[i][0], files[i][1], plan->readonly_rootfs));
    if (plan->tmpfs && tmpfs_mounts(plan->tmpfs, own, err) < 0)
        return -1;
    if (ctx->mounts && !json_is_array(ctx->mounts))
        return berr_code(err, EINVAL, "mounts: expected an array, got %s", json_kind(ctx->mounts));
    size_t i;
    json_t *m;
    json_array_foreach(ctx->mounts, i, m)
    {
        json_t *d = json_is_object(m) ? json_object_get(m, "destination") : NULL;
        if (!json_is_string(d) || json_string_value(d)[0] != '/')
            return berr_code(err, EINVAL, "mounts[%zu]: a mount needs an absolute destination", i);
        json_array_append_new(own, json_deep_copy(m));
    }
    return 0;
}

int sg_mounts(const struct eng_spec_ctx *ctx, const struct sg_mount_plan *plan, json_t **out,
              struct berr **err)
{
    _cleanup_json_ json_t *own = json_array();
    if (own_mounts(ctx, plan, own, err) < 0)
        return -1;
    size_t n = json_array_size(own);
    _cleanup_free_ char **clean = xcalloc(n + 1, sizeof(*clean));
    _cleanup_free_ size_t *order = xcalloc(n + 1, sizeof(*order));
    _cleanup_json_ json_t *taken = json_object();
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        clean[i] = sg_path_clean(dest_of(json_array_get(own, i)));
    /* A later mount on the same destination replaces an earlier one (a bind of the user's on
     * /etc/hosts replaces ours, as in Docker); the rest keep their order, sorted (stably) by
     * depth so that /etc is mounted before /etc/hosts and cannot hide it. */
    for (size_t i = n; i-- > 0;) {
        if (json_object_get(taken, clean[i]))
            continue;
        json_object_set_new(taken, clean[i], json_true());
        order[kept++] = i;
    }
    for (size_t a = 0; a < kept / 2; a++) {
        size_t t = order[a];
        order[a] = order[kept - 1 - a];
        order[kept - 1 - a] = t;
    }
    for (size_t a = 1; a < kept; a++)
        for (size_t b = a; b > 0 && path_depth(clean[order[b - 1]]) > path_depth(clean[order[b]]);
             b--) {
            size_t t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }

    _cleanup_json_ json_t *defs = json_array();
    defaults(ctx, plan, defs);
    json_t *list = json_array();
    bool own_dev = json_object_get(taken, "/dev") != NULL;
    size_t i;
    json_t *m;
    json_array_foreach(defs, i, m)
    {
        const char *d = dest_of(m);
        if (json_object_get(taken, d) || (own_dev && strncmp(d, "/dev/", 5) == 0))
            continue;
        static const char *const stay_rw[] = {"/proc", "/dev/pts", "/dev/shm", "/dev/mqueue",
                                              "/dev"};
        bool rw = false;
        for (size_t k = 0; k < ARRAY_SIZE(stay_rw); k++)
            rw = rw || strcmp(d, stay_rw[k]) == 0;
        if (plan->readonly_rootfs && !rw && !has_option(m, "ro"))
            json_array_append_new(json_object_get(m, "options"), json_string("ro"));
        if (plan->privileged && strcmp(d, "/sys") == 0)
            drop_option(m, "ro");
        if (plan->writable_cgroups &&
            strcmp(json_string_value(json_object_get(m, "type")), "cgroup") == 0)
            drop_option(m, "ro");
        json_array_append(list, m);
    }
    for (size_t k = 0; k < kept; k++)
        json_array_append(list, json_array_get(own, order[k]));
    for (size_t k = 0; k < n; k++)
        free(clean[k]);
    *out = list;
    return 0;
}

/* ---- masked and read-only paths ---- */

json_t *sg_default_masked_paths(void)
{
    json_t *paths = json_pack(
        "[s,s,s,s,s,s,s,s,s,s,s,s]", "/proc/acpi", "/proc/asound", "/proc/interrupts",
        "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi",
        "/proc/timer_list", "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware");
    /* Per-CPU thermal_throttle counters leak what other tenants run (GHSA-6fw5-f8r9-fgfm);
     * Docker masks the ones this host has. */
    _cleanup_close_ int fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
    char buf[256];
    ssize_t len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (len <= 0)
        return paths;
    buf[len] = '\0';
    for (char *p = buf; *p && *p != '\n';) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (end == p)
            break;
        if (*end == '-')
            b = strtol(end + 1, &end, 10);
        for (long c = a; c <= b && c - a < 4096; c++) {
            _cleanup_free_ char *path =
                xasprintf("/sys/devices/system/cpu/cpu%ld/thermal_throttle", c);
            struct stat st;
            if (stat(path, &st) == 0)
                json_array_append_new(paths, json_string(path));
        }
        p = *end == ',' ? end + 1 : end;
        if (*end != ',')
            break;
    }
    return paths;
}

json_t *sg_default_readonly_paths(void)
{
    return json_pack("[s,s,s,s,s]", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                     "/proc/sysrq-trigger");
}
