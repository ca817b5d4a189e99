/* linux.resources and linux.devices from HostConfig: memory, cpu, pids and block I/O limits with
 * Docker's checks and messages (daemon_unix.go's verifyPlatformContainerResources), the device
 * cgroup rules (deny all, then Docker's standard nodes), and devices mapped from the host. */
#include "engine/specgen_internal.h"
#include "common/jsonkind.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define LINUX_MIN_MEMORY 6291456LL
#define HC               "HostConfig"

struct resources {
    int64_t memory, reservation, swap, swappiness, nano_cpus, shares, period, quota, rt_period,
        rt_runtime, pids, blkio_weight, io_max_bw, io_max_iops;
    bool has_swappiness, has_oom_kill_disable, oom_kill_disable, has_pids;
    const char *cpus, *mems;
};

static int read_resources(json_t *hc, struct resources *r, struct berr **err)
{
    const struct {
        const char *key;
        int64_t *out;
    } ints[] = {
        {"Memory", &r->memory},
        {"MemoryReservation", &r->reservation},
        {"MemorySwap", &r->swap},
        {"NanoCpus", &r->nano_cpus},
        {"CpuShares", &r->shares},
        {"CpuPeriod", &r->period},
        {"CpuQuota", &r->quota},
        {"CpuRealtimePeriod", &r->rt_period},
        {"CpuRealtimeRuntime", &r->rt_runtime},
        {"BlkioWeight", &r->blkio_weight},
        {"IOMaximumBandwidth", &r->io_max_bw},
        {"IOMaximumIOps", &r->io_max_iops},
    };
    for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
        if (sg_int(hc, HC, ints[i].key, ints[i].out, err) < 0)
            return -1;
    r->has_swappiness = sg_get(hc, "MemorySwappiness") != NULL;
    r->has_oom_kill_disable = sg_get(hc, "OomKillDisable") != NULL;
    r->has_pids = sg_get(hc, "PidsLimit") != NULL;
    if (sg_int(hc, HC, "MemorySwappiness", &r->swappiness, err) < 0 ||
        sg_bool(hc, HC, "OomKillDisable", &r->oom_kill_disable, err) < 0 ||
        sg_int(hc, HC, "PidsLimit", &r->pids, err) < 0 ||
        sg_str(hc, HC, "CpusetCpus", &r->cpus, err) < 0 ||
        sg_str(hc, HC, "CpusetMems", &r->mems, err) < 0)
        return -1;
    /* -1 is how the API says "the kernel's default". */
    if (r->has_swappiness && r->swappiness == -1)
        r->has_swappiness = false;
    return 0;
}

static int online_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* A cpuset list ("0-3,8"): the highest number it names, or -1 with *why set. */
static long long list_max(const char *list, const char **why)
{
    long long max = -1;
    const char *p = list;
    if (*p == '\0')
        return -1;
    for (;;) {
        char *end;
        if (*p < '0' || *p > '9')
            return *why = "invalid format", -1;
        long long a = strtoll(p, &end, 10), b = a;
        if (*end == '-') {
            p = end + 1;
            if (*p < '0' || *p > '9')
                return *why = "invalid format", -1;
            b = strtoll(p, &end, 10);
            if (b < a)
                return *why = "invalid format", -1;
        }
        if (a > 65535 || b > 65535)
            return *why = "value out of range", -1;
        if (b > max)
            max = b;
        if (*end == '\0')
            return max;
        if (*end != ',')
            return *why = "invalid format", -1;
        p = end + 1;
    }
}

/* Whether every number of want is in have (both cpuset lists). */
static bool list_subset(const char *want, const char *have)
{
    for (const char *p = want; *p;) {
        char *end;
        long long a = strtoll(p, &end, 10), b = a;
        if (*end == '-')
            b = strtoll(end + 1, &end, 10);
        for (long long x = a; x <= b; x++) {
            bool found = false;
            for (const char *q = have; *q && !found;) {
                char *e2;
                long long c = strtoll(q, &e2, 10), d = c;
                if (*e2 == '-')
                    d = strtoll(e2 + 1, &e2, 10);
                found = x >= c && x <= d;
                q = *e2 == ',' ? e2 + 1 : e2 + strlen(e2);
            }
            if (!found)
                return false;
        }
        p = *end == ',' ? end + 1 : end + strlen(end);
    }
    return true;
}

static char *read_list(const char *path)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return xstrdup(buf);
}

static int check_cpuset(const char *list, const char *what, const char *sysfile, struct berr **err)
{
    if (list == NULL || list[0] == '\0')
        return 0;
    const char *why = NULL;
    if (list_max(list, &why) < 0)
        return berr_code(err, EINVAL, "Invalid value %s for cpuset %s: %s", list, what, why);
    _cleanup_free_ char *have = read_list(sysfile);
    if (have && have[0] && !list_subset(list, have))
        return berr_code(err, EINVAL,
                         "Requested %s are not available - requested %s, available: %s",
                         strcmp(what, "cpus") == 0 ? "CPUs" : "memory nodes", list, have);
    return 0;
}

static int validate(const struct resources *r, struct berr **err)
{
    if (r->memory != 0 && r->memory < LINUX_MIN_MEMORY)
        return berr_code(err, EINVAL, "Minimum memory limit allowed is 6MB");
    if (r->memory > 0 && r->swap > 0 && r->swap < r->memory)
        return berr_code(err, EINVAL,
                         "Minimum memoryswap limit should be larger than memory limit, see usage");
    if (r->memory == 0 && r->swap > 0)
        return berr_code(err, EINVAL,
                         "You should always set the Memory limit when using Memoryswap limit, "
                         "see usage");
    if (r->has_swappiness && (r->swappiness < 0 || r->swappiness > 100))
        return berr_code(err, EINVAL, "Invalid value: %lld, valid memory swappiness range is 0-100",
                         (long long)r->swappiness);
    if (r->reservation > 0 && r->reservation < LINUX_MIN_MEMORY)
        return berr_code(err, EINVAL, "Minimum memory reservation allowed is 6MB");
    if (r->memory > 0 && r->reservation > 0 && r->memory < r->reservation)
        return berr_code(err, EINVAL,
                         "Minimum memory limit can not be less than memory reservation limit, "
                         "see usage");
    if (r->nano_cpus > 0 && r->period > 0)
        return berr_code(err, EINVAL,
                         "Conflicting options: Nano CPUs and CPU Period cannot both be set");
    if (r->nano_cpus > 0 && r->quota > 0)
        return berr_code(err, EINVAL,
                         "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    if (r->nano_cpus != 0) {
        int n = online_cpus();
        if (r->nano_cpus < 0 || r->nano_cpus > (int64_t)n * 1000000000LL)
            return berr_code(err, EINVAL,
                             "range of CPUs is from 0.01 to %d.00, as there are only %d CPUs "
                             "available",
                             n, n);
    }
    if (r->period != 0 && (r->period < 1000 || r->period > 1000000))
        return berr_code(err, EINVAL,
                         "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s "
                         "(i.e. 1000000)");
    if (r->quota > 0 && r->quota < 1000)
        return berr_code(err, EINVAL, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
    if (check_cpuset(r->cpus, "cpus", "/sys/devices/system/cpu/online", err) < 0 ||
        check_cpuset(r->mems, "mems", "/sys/devices/system/node/online", err) < 0)
        return -1;
    if (r->blkio_weight > 0 && (r->blkio_weight < 10 || r->blkio_weight > 1000))
        return berr_code(err, EINVAL, "Range of blkio weight is from 10 to 1000");
    if (r->io_max_bw != 0 || r->io_max_iops != 0)
        return berr_code(err, EINVAL,
                         "Invalid QoS settings: linux does not support Maximum IO Bandwidth or "
                         "Maximum IO IOps");
    if (r->shares < 0)
        return berr_code(err, EINVAL, "invalid CPU shares (%lld): value must be a positive integer",
                         (long long)r->shares);
    return 0;
}

static json_t *memory_object(const struct resources *r)
{
    json_t *m = json_object();
    if (r->memory > 0)
        json_object_set_new(m, "limit", json_integer(r->memory));
    if (r->reservation > 0)
        json_object_set_new(m, "reservation", json_integer(r->reservation));
    /* Docker's default swap is twice the memory limit (adaptContainerSettings); -1 leaves it
     * unlimited. */
    int64_t swap = r->memory > 0 && r->swap == 0 ? r->memory * 2 : r->swap;
    if (swap > 0)
        json_object_set_new(m, "swap", json_integer(swap));
    if (r->has_swappiness)
        json_object_set_new(m, "swappiness", json_integer(r->swappiness));
    json_object_set_new(m, "disableOOMKiller", json_boolean(r->oom_kill_disable));
    return m;
}

static json_t *cpu_object(const struct resources *r)
{
    json_t *c = json_object();
    if (r->shares != 0)
        json_object_set_new(c, "shares", json_integer(r->shares));
    if (r->nano_cpus > 0) {
        /* A quota over a 100 ms period (sched-bwc.txt), as Docker does. */
        const int64_t period = 100000;
        json_object_set_new(c, "quota", json_integer(r->nano_cpus * period / 1000000000LL));
        json_object_set_new(c, "period", json_integer(period));
    }
    if (r->period != 0)
        json_object_set_new(c, "period", json_integer(r->period));
    if (r->quota != 0)
        json_object_set_new(c, "quota", json_integer(r->quota));
    if (r->rt_period != 0)
        json_object_set_new(c, "realtimePeriod", json_integer(r->rt_period));
    if (r->rt_runtime != 0)
        json_object_set_new(c, "realtimeRuntime", json_integer(r->rt_runtime));
    if (r->cpus && r->cpus[0])
        json_object_set_new(c, "cpus", json_string(r->cpus));
    if (r->mems && r->mems[0])
        json_object_set_new(c, "mems", json_string(r->mems));
    if (json_object_size(c) == 0) {
        json_decref(c);
        return NULL;
    }
    return c;
}

/* BlkioWeightDevice and the throttle lists: [{Path, Weight|Rate}] with each path stat'ed (and
 * symlinks followed, as Docker does) for its major:minor. */
static int blkio_devices(json_t *hc, const char *key, const char *value_key, const char *oci_key,
                         json_t *blkio, struct berr **err)
{
    json_t *arr = NULL;
    if (sg_array(hc, HC, key, &arr, err) < 0)
        return -1;
    if (arr == NULL || json_array_size(arr) == 0)
        return 0;
    _cleanup_json_ json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        _cleanup_free_ char *where = xasprintf(HC ".%s[%zu]", key, i);
        if (!json_is_object(e))
            return berr_code(err, EINVAL, "%s: expected an object, got %s", where, json_kind(e));
        const char *path = NULL;
        int64_t value = 0;
        if (sg_str(e, where, "Path", &path, err) < 0 ||
            sg_int(e, where, value_key, &value, err) < 0)
            return -1;
        if (path == NULL || path[0] == '\0')
            return berr_code(err, EINVAL, "%s.Path: a device path is required", where);
        if (value < 0 || (strcmp(value_key, "Weight") == 0 && value > UINT16_MAX))
            return berr_code(err, EINVAL, "%s.%s: %lld is out of range", where, value_key,
                             (long long)value);
        struct stat st;
        if (stat(path, &st) < 0)
            return berr_code(err, EINVAL, "%s: stat %s: %s", where, path, strerror(errno));
        if (!S_ISBLK(st.st_mode))
            return berr_code(err, EINVAL, "%s: %s is not a block device", where, path);
        json_array_append_new(out,
                              json_pack("{s:I,s:I,s:I}", "major", (json_int_t)major(st.st_rdev),
                                        "minor", (json_int_t)minor(st.st_rdev),
                                        strcmp(value_key, "Weight") == 0 ? "weight" : "rate",
                                        (json_int_t)value));
    }
    json_object_set(blkio, oci_key, out);
    return 0;
}

static int blkio_object(json_t *hc, const struct resources *r, json_t **out, struct berr **err)
{
    _cleanup_json_ json_t *b = json_object();
    if (r->blkio_weight != 0)
        json_object_set_new(b, "weight", json_integer(r->blkio_weight));
    if (blkio_devices(hc, "BlkioWeightDevice", "Weight", "weightDevice", b, err) < 0 ||
        blkio_devices(hc, "BlkioDeviceReadBps", "Rate", "throttleReadBpsDevice", b, err) < 0 ||
        blkio_devices(hc, "BlkioDeviceWriteBps", "Rate", "throttleWriteBpsDevice", b, err) < 0 ||
        blkio_devices(hc, "BlkioDeviceReadIOps", "Rate", "throttleReadIOPSDevice", b, err) < 0 ||
        blkio_devices(hc, "BlkioDeviceWriteIOps", "Rate", "throttleWriteIOPSDevice", b, err) < 0)
        return -1;
    *out = steal_ptr(&b);
    return 0;
}

/* ---- devices ---- */

static json_t *dev_rule(bool allow, const char *type, int64_t maj, int64_t min, const char *access)
{
    json_t *r = json_pack("{s:b}", "allow", allow);
    if (type)
        json_object_set_new(r, "type", json_string(type));
    if (maj != INT64_MIN)
        json_object_set_new(r, "major", json_integer(maj));
    if (min != INT64_MIN)
        json_object_set_new(r, "minor", json_integer(min));
    json_object_set_new(r, "access", json_string(access));
    return r;
}

/* Docker's list (oci/defaults.go): deny everything, then the nodes every container gets, and
 * an explicit deny of /dev/fuse's 10:229. */
static json_t *default_device_rules(void)
{
    static const struct {
        bool allow;
        int maj, min;
    } nodes[] = {{true, 1, 5}, {true, 1, 3}, {true, 1, 9},    {true, 1, 8},
                 {true, 5, 0}, {true, 5, 1}, {false, 10, 229}};
    json_t *rules = json_array();
    json_array_append_new(rules, dev_rule(false, NULL, INT64_MIN, INT64_MIN, "rwm"));
    for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
        json_array_append_new(rules,
                              dev_rule(nodes[i].allow, "c", nodes[i].maj, nodes[i].min, "rwm"));
    return rules;
}

/* A device node as linux.devices holds it, or NULL (errno ENOTBLK) when path is no device. */
static json_t *device_from_path(const char *path, const char *container_path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return NULL;
    const char *type;
    if (S_ISBLK(st.st_mode))
        type = "b";
    else if (S_ISCHR(st.st_mode))
        type = "c";
    else if (S_ISFIFO(st.st_mode))
        type = "p";
    else
        return errno = ENOTBLK, NULL;
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "path", container_path, "type", type, "major",
                     (json_int_t)major(st.st_rdev), "minor", (json_int_t)minor(st.st_rdev),
                     "fileMode", (json_int_t)(st.st_mode & 07777), "uid", (json_int_t)st.st_uid,
                     "gid", (json_int_t)st.st_gid);
}

static void add_device(json_t *devices, json_t *rules, json_t *dev, const char *perms)
{
    const char *type = json_string_value(json_object_get(dev, "type"));
    /* The device cgroup has no rules for FIFOs. */
    if (rules && strcmp(type, "p") != 0)
        json_array_append_new(
            rules, dev_rule(true, type, json_integer_value(json_object_get(dev, "major")),
                            json_integer_value(json_object_get(dev, "minor")), perms));
    json_array_append_new(devices, dev);
}

static int strcmp_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#define MAX_WALK_DEPTH 16

/* Every node beneath dir (host path) as container_dir/...; skip_special: the directories and
 * files that /dev itself holds but a privileged container must not get from the host (its own
 * pts, shm, mqueue, fd, console), and FIFOs. */
static int walk_devices(const char *dir, const char *container_dir, bool skip_special, int depth,
                        json_t *devices, json_t *rules, const char *perms, struct berr **err)
{
    if (depth > MAX_WALK_DEPTH)
        return 0;
    _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(err, "open %s", dir);
    DIR *d = fdopendir(fd);
    if (d == NULL)
        return berr_sys(err, "read %s", dir);
    fd = -1;
    /* Sorted, as Go's os.ReadDir gives them, so that the spec is the same every time. */
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        names = xreallocarray(names, n + 1, sizeof(*names));
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), strcmp_ptr);
    int ret = 0;
    for (size_t i = 0; i < n && ret == 0; i++) {
        _cleanup_free_ char *host = xasprintf("%s/%s", dir, names[i]);
        _cleanup_free_ char *inside = xasprintf("%s/%s", container_dir, names[i]);
        struct stat st;
        if (lstat(host, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            static const char *const skipped[] = {"pts",  "shm",         "fd",   "mqueue",
                                                  ".lxc", ".lxd-mounts", ".udev"};
            bool skip = false;
            for (size_t k = 0; skip_special && k < ARRAY_SIZE(skipped); k++)
                skip = skip || strcmp(names[i], skipped[k]) == 0;
            if (!skip)
                ret =
                    walk_devices(host, inside, skip_special, depth + 1, devices, rules, perms, err);
            continue;
        }
        if (skip_special && (strcmp(names[i], "console") == 0 || S_ISFIFO(st.st_mode)))
            continue;
        json_t *dev = device_from_path(host, inside);
        if (dev)
            add_device(devices, rules, dev, perms);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return ret;
}

static bool valid_perms(const char *p)
{
    size_t n = strlen(p);
    return n >= 1 && n <= 3 && strspn(p, "rwm") == n;
}

/* One HostConfig.Devices entry (DevicesFromPath): a node, or a directory whose nodes are all
 * mapped beneath PathInContainer. */
static int map_device(json_t *e, const char *where, bool privileged, json_t *devices, json_t *rules,
                      struct berr **err)
{
    if (!json_is_object(e))
        return berr_code(err, EINVAL, "%s: expected an object, got %s", where, json_kind(e));
    const char *host = NULL, *inside = NULL, *perms = NULL;
    if (sg_str(e, where, "PathOnHost", &host, err) < 0 ||
        sg_str(e, where, "PathInContainer", &inside, err) < 0 ||
        sg_str(e, where, "CgroupPermissions", &perms, err) < 0)
        return -1;
    if (host == NULL || host[0] == '\0')
        return berr_code(err, EINVAL, "%s.PathOnHost: a device path is required", where);
    if (inside == NULL || inside[0] == '\0')
        inside = host;
    if (perms == NULL || perms[0] == '\0')
        perms = "rwm";
    if (inside[0] != '/')
        return berr_code(err, EINVAL, "%s.PathInContainer: %s is not an absolute path", where,
                         inside);
    if (!valid_perms(perms))
        return berr_code(err, EINVAL, "invalid device mode: %s", perms);
    if (privileged) {
        /* Every host node is there already; only a second name for one needs adding, and the
         * cgroup allows everything. */
        if (strcmp(host, inside) == 0)
            return 0;
        perms = "rwm";
        rules = NULL;
    }

    _cleanup_free_ char *resolved = NULL;
    struct stat st;
    if (lstat(host, &st) == 0 && S_ISLNK(st.st_mode))
        resolved = realpath(host, NULL);
    const char *path = resolved ? resolved : host;
    json_t *dev = device_from_path(path, inside);
    if (dev) {
        add_device(devices, rules, dev, perms);
        return 0;
    }
    int saved = errno;
    if (saved == ENOTBLK && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t before = json_array_size(devices);
        if (walk_devices(path, inside, false, 0, devices, rules, perms, err) < 0)
            return -1;
        if (json_array_size(devices) > before)
            return 0;
    }
    return berr_code(err, EINVAL,
                     "error gathering device information while adding custom device \"%s\": %s",
                     host, saved == ENOTBLK ? "not a device node" : strerror(saved));
}

/* "c 1:3 rwm", "a *:* rwm" (DeviceCgroupRules). */
static int cgroup_rule(const char *rule, json_t *rules, struct berr **err)
{
    char type[2] = {rule[0], 0};
    const char *p = rule + 1;
    int64_t num[2];
    if (strchr("acb", type[0]) == NULL || type[0] == '\0' || *p++ != ' ')
        goto bad;
    for (int i = 0; i < 2; i++) {
        if (*p == '*') {
            num[i] = -1;
            p++;
        } else {
            if (*p < '0' || *p > '9')
                goto bad;
            errno = 0;
            char *end;
            long long v = strtoll(p, &end, 10);
            if (errno == ERANGE)
                return berr_code(err, EINVAL, "invalid %s value in device cgroup rule format: '%s'",
                                 i == 0 ? "major" : "minor", rule);
            num[i] = v;
            p = end;
        }
        if (*p++ != (i == 0 ? ':' : ' '))
            goto bad;
    }
    if (!valid_perms(p))
        goto bad;
    json_array_append_new(rules, dev_rule(true, type, num[0], num[1], p));
    return 0;
bad:
    return berr_code(err, EINVAL, "invalid device cgroup rule format: '%s'", rule);
}

static int device_mappings(json_t *hc, bool privileged, json_t *devices, json_t *rules,
                           struct berr **err)
{
    json_t *arr = NULL, *cg_rules = NULL;
    if (sg_array(hc, HC, "Devices", &arr, err) < 0 ||
        sg_strv(hc, HC, "DeviceCgroupRules", &cg_rules, err) < 0)
        return -1;
    if (privileged && walk_devices("/dev", "/dev", true, 0, devices, NULL, "rwm", err) < 0)
        return -1;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        _cleanup_free_ char *where = xasprintf(HC ".Devices[%zu]", i);
        if (map_device(e, where, privileged, devices, rules, err) < 0)
            return -1;
    }
    if (privileged) {
        json_array_append_new(rules, dev_rule(true, NULL, INT64_MIN, INT64_MIN, "rwm"));
        return 0;
    }
    json_array_foreach(cg_rules, i, e)
    {
        if (cgroup_rule(json_string_value(e), rules, err) < 0)
            return -1;
    }
    return 0;
}

int sg_resources(json_t *hc, bool privileged, json_t *lx, struct berr **err)
{
    struct resources r = {0};
    if (read_resources(hc, &r, err) < 0 || validate(&r, err) < 0)
        return -1;
    _cleanup_json_ json_t *res = json_object();
    _cleanup_json_ json_t *rules = default_device_rules();
    _cleanup_json_ json_t *devices = json_array();
    _cleanup_json_ json_t *blkio = NULL;
    if (device_mappings(hc, privileged, devices, rules, err) < 0 ||
        blkio_object(hc, &r, &blkio, err) < 0)
        return -1;
    json_object_set(res, "devices", rules);
    json_object_set_new(res, "memory", memory_object(&r));
    json_t *cpu = cpu_object(&r);
    if (cpu)
        json_object_set_new(res, "cpu", cpu);
    /* 0 and below mean "no limit" in the API; -1 is what the runtime takes for that. */
    if (r.has_pids)
        json_object_set_new(res, "pids",
                            json_pack("{s:I}", "limit", (json_int_t)(r.pids <= 0 ? -1 : r.pids)));
    json_object_set(res, "blockIO", blkio);
    json_object_set(lx, "devices", devices);
    json_object_set(lx, "resources", res);
    return 0;
}
