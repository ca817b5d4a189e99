/* cgroup v1: the files of each v1 controller (one directory per hierarchy), with runc's
 * write orders where the kernel checks one value against another (memory before or after
 * memsw, cfs period and quota), the freezer's state machine, v1 statistics, and the v1 view
 * of cgroups inside a container (a tmpfs with one bind mount per hierarchy). */
#include "runtime/cgroup_internal.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *num(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%lld", (long long)v);
    return buf;
}

/* ---- directory setup ---------------------------------------------------------------------- */

/* A new cpuset cgroup has no cpus and no mems, and nothing can join it until it has: copy
 * the parent's (filling the parent first if it is empty too), as runc does. */
static int cpuset_fill(const char *path, int depth, struct berr **err)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    _cleanup_free_ char *parent = xstrdup(path);
    char *slash = strrchr(parent, '/');
    if (slash == NULL || slash == parent)
        return 0;
    *slash = 0;
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        _cleanup_free_ char *own = xasprintf("%s/%s", path, files[i]);
        _cleanup_free_ char *cur = read_file_at(AT_FDCWD, own, 1 << 16, NULL, err);
        if (cur == NULL)
            return -1;
        if (cur[strspn(cur, " \n")] != 0)
            continue;
        _cleanup_free_ char *pf = xasprintf("%s/%s", parent, files[i]);
        _cleanup_free_ char *val = read_file_at(AT_FDCWD, pf, 1 << 16, NULL, err);
        if (val == NULL)
            return -1;
        if (val[strspn(val, " \n")] == 0 && depth < 32) {
            free(val);
            if (cpuset_fill(parent, depth + 1, err) < 0)
                return -1;
            val = read_file_at(AT_FDCWD, pf, 1 << 16, NULL, err);
            if (val == NULL)
                return -1;
        }
        if (write_file_at(AT_FDCWD, own, val, strlen(val), 0644, err) < 0)
            return berr_wrap(err, "initialise cpuset %s", path);
    }
    return 0;
}

static int v1_init_new_dir(const char *path, uint32_t ctrls, struct berr **err)
{
    if (!(ctrls & (1u << CG_CPUSET)))
        return 0;
    return cpuset_fill(path, 0, err);
}

/* ---- resources ---------------------------------------------------------------------------- */

static int set_mem_limit(struct cg_dir *d, int64_t v, struct berr **err)
{
    char buf[32];
    int r = cg_try_write(d, "memory.limit_in_bytes", num(buf, sizeof(buf), v));
    if (r == -EBUSY) {
        uint64_t usage = 0, peak = 0;
        cg_read_u64(d, "memory.usage_in_bytes", &usage, NULL);
        cg_read_u64(d, "memory.max_usage_in_bytes", &peak, NULL);
        return berr_set(err, EBUSY,
                        "unable to set memory limit to %lld (current usage: %llu, peak usage: "
                        "%llu)",
                        (long long)v, (unsigned long long)usage, (unsigned long long)peak);
    }
    if (r < 0)
        return berr_set(err, -r, "write \"%s\" to %s/memory.limit_in_bytes", buf, d->path);
    return 0;
}

static int set_memsw_limit(struct cg_dir *d, int64_t v, struct berr **err)
{
    char buf[32];
    return cg_write(d, "memory.memsw.limit_in_bytes", num(buf, sizeof(buf), v), err);
}

static int v1_set_memory(struct cg_dir *d, const struct rt_resources *r, bool update,
                         struct berr **err)
{
    int64_t limit = r->memory.limit.set ? r->memory.limit.v : 0;
    int64_t swap = r->memory.swap.set ? r->memory.swap.v : 0;
    char buf[32];
    if (swap != 0 || limit == -1) {
        bool memsw = cg_has_file(d, "memory.memsw.limit_in_bytes");
        /* Unlimited memory with swap unsaid means both unlimited (runc). */
        if (limit == -1 && swap == 0 && memsw)
            swap = -1;
        if (swap != 0 && !memsw) {
            if (swap != -1)
                return berr_set(err, EOPNOTSUPP,
                                "linux.resources.memory.swap: this kernel has no swap accounting "
                                "(%s/memory.memsw.limit_in_bytes is missing)",
                                d->path);
            swap = 0;
        }
    }
    /* The kernel wants memory <= memory+swap at every step, so raise memsw first when the
     * new memsw is above the current memory limit (runc's order). */
    bool swap_first = false;
    if (limit != 0 && swap != 0) {
        uint64_t cur;
        if (cg_read_u64(d, "memory.limit_in_bytes", &cur, err) < 0)
            return -1;
        swap_first = swap == -1 || cur < (uint64_t)swap;
    }
    if (swap_first && set_memsw_limit(d, swap, err) < 0)
        return -1;
    if (limit != 0 && set_mem_limit(d, limit, err) < 0)
        return -1;
    if (!swap_first && swap != 0 && set_memsw_limit(d, swap, err) < 0)
        return -1;

    /* kernelTCP is a v1-only knob (v2 charges socket memory to memory.max); kernels that
     * dropped it lose nothing by its absence. */
    if (r->memory.kernel_tcp.set) {
        if (cg_has_file(d, "memory.kmem.tcp.limit_in_bytes")) {
            if (cg_write(d, "memory.kmem.tcp.limit_in_bytes",
                         num(buf, sizeof(buf), r->memory.kernel_tcp.v), err) < 0)
                return -1;
        } else {
            log_debug("%s: no memory.kmem.tcp.limit_in_bytes; kernelTCP ignored", d->path);
        }
    }
    if (r->memory.reservation.set &&
        cg_write(d, "memory.soft_limit_in_bytes", num(buf, sizeof(buf), r->memory.reservation.v),
                 err) < 0)
        return -1;
    if (r->memory.swappiness.set &&
        cg_write(d, "memory.swappiness", num(buf, sizeof(buf), r->memory.swappiness.v), err) < 0)
        return -1;
    if (r->memory.disable_oom_killer.set && r->memory.disable_oom_killer.v &&
        cg_write(d, "memory.oom_control", "1", err) < 0)
        return -1;
    if (r->memory.use_hierarchy.set) {
        int rc = cg_try_write(d, "memory.use_hierarchy", r->memory.use_hierarchy.v ? "1" : "0");
        /* Kernels since 5.x keep hierarchy on and refuse 0. */
        if (rc == -EINVAL && !r->memory.use_hierarchy.v)
            log_debug("%s: memory.use_hierarchy cannot be turned off on this kernel; ignored",
                      d->path);
        else if (rc < 0)
            return berr_set(err, -rc, "write to %s/memory.use_hierarchy", d->path);
    }
    (void)update;
    return 0;
}

static int v1_set_cpu(struct cg_dir *d, const struct rt_resources *r, bool update,
                      struct berr **err)
{
    char buf[32];
    if (r->cpu.shares.set) {
        if (cg_write(d, "cpu.shares", num(buf, sizeof(buf), r->cpu.shares.v), err) < 0)
            return -1;
        /* The kernel clamps out-of-range shares silently; say so instead. */
        uint64_t got;
        if (cg_read_u64(d, "cpu.shares", &got, err) < 0)
            return -1;
        if (got != (uint64_t)r->cpu.shares.v)
            return berr_set(
                err, ERANGE,
                "linux.resources.cpu.shares: %lld is out of range (the kernel set %llu)",
                (long long)r->cpu.shares.v, (unsigned long long)got);
    }
    /* A smaller period may be refused (EINVAL) while the old quota/new period exceeds the
     * parent's; when the quota is being set too, retry after it (runc's order). */
    bool period_later = false, burst_later = false;
    if (r->cpu.period.set) {
        int rc = cg_try_write(d, "cpu.cfs_period_us", num(buf, sizeof(buf), r->cpu.period.v));
        if (rc == -EINVAL && r->cpu.quota.set)
            period_later = true;
        else if (rc < 0)
            return berr_set(err, -rc, "write %lld to %s/cpu.cfs_period_us",
                            (long long)r->cpu.period.v, d->path);
    }
    if (r->cpu.burst.set) {
        int rc = cg_try_write(d, "cpu.cfs_burst_us", num(buf, sizeof(buf), r->cpu.burst.v));
        if (rc == -EINVAL && r->cpu.quota.set)
            burst_later = true;
        else if (rc < 0)
            return berr_set(err, -rc, "write %lld to %s/cpu.cfs_burst_us",
                            (long long)r->cpu.burst.v, d->path);
    }
    if (r->cpu.quota.set) {
        if (cg_write(d, "cpu.cfs_quota_us", num(buf, sizeof(buf), r->cpu.quota.v), err) < 0)
            return -1;
        if (period_later &&
            cg_write(d, "cpu.cfs_period_us", num(buf, sizeof(buf), r->cpu.period.v), err) < 0)
            return -1;
        if (burst_later &&
            cg_write(d, "cpu.cfs_burst_us", num(buf, sizeof(buf), r->cpu.burst.v), err) < 0)
            return -1;
    }
    if (r->cpu.idle.set && cg_write(d, "cpu.idle", num(buf, sizeof(buf), r->cpu.idle.v), err) < 0)
        return -1;
    if (r->cpu.rt_period.set &&
        cg_write(d, "cpu.rt_period_us", num(buf, sizeof(buf), r->cpu.rt_period.v), err) < 0)
        return -1;
    if (r->cpu.rt_runtime.set &&
        cg_write(d, "cpu.rt_runtime_us", num(buf, sizeof(buf), r->cpu.rt_runtime.v), err) < 0)
        return -1;
    (void)update;
    return 0;
}

static int v1_set_blkio(struct cg_dir *d, const struct rt_resources *r, struct berr **err)
{
    char buf[32];
    /* With CFQ gone (5.0), BFQ provides the weights under its own names. */
    bool cfq = (r->blkio.weight.set || r->blkio.n_weight_devices) && cg_has_file(d, "blkio.weight");
    if (r->blkio.weight.set && cg_write(d, cfq ? "blkio.weight" : "blkio.bfq.weight",
                                        num(buf, sizeof(buf), r->blkio.weight.v), err) < 0)
        return -1;
    if (r->blkio.leaf_weight.set &&
        cg_write(d, "blkio.leaf_weight", num(buf, sizeof(buf), r->blkio.leaf_weight.v), err) < 0)
        return -1;
    for (size_t i = 0; i < r->blkio.n_weight_devices; i++) {
        const struct cg_weight_device *wd = &r->blkio.weight_devices[i];
        if (wd->weight.set && cg_writef(d, cfq ? "blkio.weight_device" : "blkio.bfq.weight_device",
                                        err, "%lld:%lld %lld", (long long)wd->major,
                                        (long long)wd->minor, (long long)wd->weight.v) < 0)
            return -1;
        if (wd->leaf_weight.set &&
            cg_writef(d, "blkio.leaf_weight_device", err, "%lld:%lld %lld", (long long)wd->major,
                      (long long)wd->minor, (long long)wd->leaf_weight.v) < 0)
            return -1;
    }
    static const char *const files[CG_THROTTLE_NKINDS] = {
        "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
        "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
    for (int k = 0; k < CG_THROTTLE_NKINDS; k++) {
        for (size_t i = 0; i < r->blkio.n_throttle[k]; i++) {
            const struct cg_throttle_device *td = &r->blkio.throttle[k][i];
            if (cg_writef(d, files[k], err, "%lld:%lld %llu", (long long)td->major,
                          (long long)td->minor, (unsigned long long)td->rate) < 0)
                return -1;
        }
    }
    return 0;
}

static int v1_set_hugetlb(struct cg_dir *d, const struct rt_resources *r, struct berr **err)
{
    return cg_write_hugetlb(d, r, "limit_in_bytes", "rsvd.limit_in_bytes", err);
}

static int v1_set_net_cls(struct cg_dir *d, const struct rt_resources *r, struct berr **err)
{
    return cg_writef(d, "net_cls.classid", err, "%lld", (long long)r->network.class_id.v);
}

static int v1_set_net_prio(struct cg_dir *d, const struct rt_resources *r, struct berr **err)
{
    for (size_t i = 0; i < r->network.n_priorities; i++)
        if (cg_writef(d, "net_prio.ifpriomap", err, "%s %u", r->network.priorities[i].name,
                      r->network.priorities[i].priority) < 0)
            return -1;
    return 0;
}

static int v1_set_devices(struct cg_dir *d, const struct rt_resources *r, struct berr **err)
{
    /* Default deny, then each rule in order: the kernel's own v1 semantics. */
    if (cg_write(d, "devices.deny", "a", err) < 0)
        return -1;
    for (size_t i = 0; i < r->n_devices; i++) {
        _cleanup_free_ char *s = cg_device_rule_v1_string(&r->devices[i]);
        if (cg_write(d, r->devices[i].allow ? "devices.allow" : "devices.deny", s, err) < 0)
            return -1;
    }
    return 0;
}

static int v1_set_unified(struct cg_dir *d, const struct rt_resources *r, struct berr **err)
{
    return berr_set(err, EOPNOTSUPP, "linux.resources.unified: cannot be used with cgroup v1");
}

/* ---- freezer ------------------------------------------------------------------------------ */

static int v1_frozen_state(struct cg_dir *d, struct berr **err)
{
    _cleanup_free_ char *s = cg_read(d, "freezer.state", err);
    if (s == NULL)
        return -1;
    return strncmp(s, "FROZEN", 6) == 0;
}

static int v1_freeze(struct cg_dir *d, bool frozen, struct berr **err)
{
    const char *want = frozen ? "FROZEN" : "THAWED";
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long delay_us = 100;
    for (;;) {
        /* Written again on each round: a task forked while freezing can leave the cgroup
         * stuck in FREEZING until asked again. */
        if (cg_write(d, "freezer.state", want, err) < 0)
            return -1;
        _cleanup_free_ char *s = cg_read(d, "freezer.state", err);
        if (s == NULL)
            return -1;
        s[strcspn(s, "\n")] = 0;
        if (strcmp(s, want) == 0)
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (ms > 5000) {
            if (frozen)
                cg_try_write(d, "freezer.state", "THAWED");
            return berr_set(err, EBUSY, "cgroup %s: timed out waiting for freezer state %s (%s)",
                            d->path, want, s);
        }
        struct timespec ts = {0, delay_us * 1000};
        nanosleep(&ts, NULL);
        delay_us = delay_us * 2 > 10000 ? 10000 : delay_us * 2;
    }
}

static bool v1_oom_killed(struct cg_dir *d)
{
    _cleanup_free_ char *s = cg_read(d, "memory.oom_control", NULL);
    uint64_t n;
    return s && cg_keyed_u64(s, "oom_kill", &n) == 0 && n > 0;
}

/* ---- statistics --------------------------------------------------------------------------- */

static uint64_t read_u64_or_0(struct cg_dir *d, const char *file)
{
    uint64_t v = 0;
    if (cg_read_u64(d, file, &v, NULL) < 0)
        return 0;
    return v;
}

static json_t *numbers_to_json(const char *s)
{
    json_t *arr = json_array();
    for (const char *p = s; *p;) {
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p)
            break;
        json_array_append_new(arr, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v));
        p = end + strspn(end, " \n");
    }
    return arr;
}

static void v1_stats_cpu_usage(struct cg_dir *d, json_t *usage)
{
    cg_json_u64(usage, "total", read_u64_or_0(d, "cpuacct.usage"), true);
    _cleanup_free_ char *percpu = cg_read(d, "cpuacct.usage_percpu", NULL);
    if (percpu)
        cg_json_set_array(usage, "percpu", numbers_to_json(percpu));
    /* "cpu user system" then one line per cpu, in nanoseconds. */
    _cleanup_free_ char *all = cg_read(d, "cpuacct.usage_all", NULL);
    if (all) {
        json_t *kernel = json_array(), *user = json_array();
        const char *p = strchr(all, '\n');
        while (p && *++p) {
            unsigned cpu;
            unsigned long long u, s;
            if (sscanf(p, "%u %llu %llu", &cpu, &u, &s) == 3) {
                json_array_append_new(user,
                                      json_integer(u > INT64_MAX ? INT64_MAX : (json_int_t)u));
                json_array_append_new(kernel,
                                      json_integer(s > INT64_MAX ? INT64_MAX : (json_int_t)s));
            }
            p = strchr(p, '\n');
        }
        cg_json_set_array(usage, "percpu_kernel", kernel);
        cg_json_set_array(usage, "percpu_user", user);
    }
    /* cpuacct.stat counts USER_HZ ticks. */
    _cleanup_free_ char *stat = cg_read(d, "cpuacct.stat", NULL);
    uint64_t user = 0, sys = 0;
    long hz = sysconf(_SC_CLK_TCK);
    if (stat && hz > 0) {
        cg_keyed_u64(stat, "user", &user);
        cg_keyed_u64(stat, "system", &sys);
        user = user * (1000000000ull / (uint64_t)hz);
        sys = sys * (1000000000ull / (uint64_t)hz);
    }
    cg_json_u64(usage, "kernel", sys, false);
    cg_json_u64(usage, "user", user, false);
}

static void v1_stats_cpu_throttling(struct cg_dir *d, json_t *t)
{
    _cleanup_free_ char *s = cg_read(d, "cpu.stat", NULL);
    uint64_t periods = 0, throttled = 0, time = 0;
    if (s) {
        cg_keyed_u64(s, "nr_periods", &periods);
        cg_keyed_u64(s, "nr_throttled", &throttled);
        cg_keyed_u64(s, "throttled_time", &time);
    }
    cg_json_u64(t, "periods", periods, true);
    cg_json_u64(t, "throttledPeriods", throttled, true);
    cg_json_u64(t, "throttledTime", time, true);
}

static void v1_stats_cpuset(struct cg_dir *d, json_t *o)
{
    _cleanup_free_ char *cpus = cg_read(d, "cpuset.cpus", NULL);
    _cleanup_free_ char *mems = cg_read(d, "cpuset.mems", NULL);
    if (cpus)
        cg_json_set_array(o, "cpus", cg_cpu_list_to_json(cpus));
    if (mems)
        cg_json_set_array(o, "mems", cg_cpu_list_to_json(mems));
}

static json_t *mem_entry(struct cg_dir *d, const char *prefix)
{
    char f[80];
    json_t *e = json_object();
    snprintf(f, sizeof(f), "%s.limit_in_bytes", prefix);
    cg_json_u64(e, "limit", read_u64_or_0(d, f), false);
    snprintf(f, sizeof(f), "%s.usage_in_bytes", prefix);
    cg_json_u64(e, "usage", read_u64_or_0(d, f), true);
    snprintf(f, sizeof(f), "%s.max_usage_in_bytes", prefix);
    cg_json_u64(e, "max", read_u64_or_0(d, f), true);
    snprintf(f, sizeof(f), "%s.failcnt", prefix);
    cg_json_u64(e, "failcnt", read_u64_or_0(d, f), false);
    return e;
}

static void v1_stats_memory(struct cg_dir *d, json_t *m)
{
    _cleanup_free_ char *stat = cg_read(d, "memory.stat", NULL);
    uint64_t cache = 0;
    if (stat)
        cg_keyed_u64(stat, "cache", &cache);
    cg_json_u64(m, "cache", cache, true);
    json_object_set_new(m, "usage", mem_entry(d, "memory"));
    json_object_set_new(m, "swap", mem_entry(d, "memory.memsw"));
    json_object_set_new(m, "kernel", mem_entry(d, "memory.kmem"));
    json_object_set_new(m, "kernelTCP", mem_entry(d, "memory.kmem.tcp"));
    if (stat) {
        json_t *raw = cg_keyed_to_json(stat);
        if (json_object_size(raw))
            json_object_set_new(m, "raw", raw);
        else
            json_decref(raw);
    }
}

static void v1_stats_pids(struct cg_dir *d, json_t *p)
{
    uint64_t max = read_u64_or_0(d, "pids.max");
    cg_json_u64(p, "current", read_u64_or_0(d, "pids.current"), true);
    cg_json_u64(p, "limit", max == UINT64_MAX ? 0 : max, true);
}

/* "8:0 Read 4096" lines; "Total N" is left out. */
static json_t *blkio_entries(struct cg_dir *d, const char *file)
{
    _cleanup_free_ char *s = cg_read(d, file, NULL);
    json_t *arr = json_array();
    if (s == NULL)
        return arr;
    _cleanup_free_ char *copy = xstrdup(s);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        unsigned long long maj, min, v;
        char op[16];
        if (sscanf(line, "%llu:%llu %15s %llu", &maj, &min, op, &v) == 4)
            cg_blkio_entry(arr, maj, min, op, v);
    }
    return arr;
}

static void v1_stats_blkio(struct cg_dir *d, json_t *b)
{
    /* BFQ's recursive counters when it runs; else the throttling layer's (runc's order). */
    json_t *bytes = blkio_entries(d, "blkio.bfq.io_service_bytes_recursive");
    json_t *ios;
    if (json_array_size(bytes)) {
        ios = blkio_entries(d, "blkio.bfq.io_serviced_recursive");
    } else {
        json_decref(bytes);
        bytes = blkio_entries(d, "blkio.throttle.io_service_bytes_recursive");
        ios = blkio_entries(d, "blkio.throttle.io_serviced_recursive");
    }
    cg_json_set_array(b, "ioServiceBytesRecursive", bytes);
    cg_json_set_array(b, "ioServicedRecursive", ios);
}

static void v1_stats_hugetlb(struct cg_dir *d, json_t *h)
{
    for (char *const *sz = cg_hugepage_sizes(); *sz; sz++) {
        char f[80];
        json_t *e = json_object();
        snprintf(f, sizeof(f), "hugetlb.%s.usage_in_bytes", *sz);
        cg_json_u64(e, "usage", read_u64_or_0(d, f), true);
        snprintf(f, sizeof(f), "hugetlb.%s.max_usage_in_bytes", *sz);
        cg_json_u64(e, "max", read_u64_or_0(d, f), true);
        snprintf(f, sizeof(f), "hugetlb.%s.failcnt", *sz);
        cg_json_u64(e, "failcnt", read_u64_or_0(d, f), false);
        json_object_set_new(h, *sz, e);
    }
}

/* ---- the container's view ----------------------------------------------------------------- */

/* A tmpfs at target holding, per hierarchy, a directory named as on the host ("cpu,cpuacct",
 * "systemd", "unified") onto which the container's own cgroup directory is bound, plus a
 * symlink per controller of a combined hierarchy ("cpu" -> "cpu,cpuacct"), as runc does. */
static int v1_mount(struct rt_cgroup *cg, const char *target, unsigned long flags,
                    bool has_cgroupns, struct berr **err)
{
    const unsigned long keep = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME |
                               MS_RELATIME | MS_STRICTATIME;
    unsigned long tmpfs_flags = (flags & keep) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (mount("tmpfs", target, "tmpfs", tmpfs_flags, "mode=755") < 0)
        return berr_sys(err, "mount tmpfs on %s", target);
    _cleanup_close_ int tfd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (tfd < 0) {
        berr_sys(err, "open %s", target);
        goto fail;
    }
    for (size_t i = 0; i < cg->n; i++) {
        const struct cg_dir *d = &cg->dirs[i];
        if (strchr(d->name, '/') || d->name[0] == '.' || d->name[0] == 0)
            continue;
        if (mkdirat(tfd, d->name, 0755) < 0 && errno != EEXIST) {
            berr_sys(err, "mkdir %s/%s", target, d->name);
            goto fail;
        }
        _cleanup_free_ char *dst = xasprintf("%s/%s", target, d->name);
        if (cg_bind_mount(d->path, dst, flags, err) < 0)
            goto fail;
        if (strchr(d->name, ',') == NULL)
            continue;
        _cleanup_free_ char *copy = xstrdup(d->name);
        char *save = NULL;
        for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
            if (symlinkat(d->name, tfd, c) < 0 && errno != EEXIST) {
                berr_sys(err, "symlink %s/%s", target, c);
                goto fail;
            }
        }
    }
    if ((flags & MS_RDONLY) &&
        mount("tmpfs", target, "tmpfs", MS_REMOUNT | MS_RDONLY | tmpfs_flags, "mode=755") < 0) {
        berr_sys(err, "remount %s read-only", target);
        goto fail;
    }
    (void)has_cgroupns;
    return 0;
fail:
    umount2(target, MNT_DETACH);
    return -1;
}

const struct cg_ops cg_v1_ops = {
    .name = "v1",
    .enable_children = NULL,
    .init_new_dir = v1_init_new_dir,
    .set_memory = v1_set_memory,
    .set_cpu = v1_set_cpu,
    .set_cpuset = cg_write_cpuset,
    .set_pids = cg_write_pids,
    .set_blkio = v1_set_blkio,
    .set_hugetlb = v1_set_hugetlb,
    .set_net_cls = v1_set_net_cls,
    .set_net_prio = v1_set_net_prio,
    .set_rdma = cg_write_rdma,
    .set_devices = v1_set_devices,
    .set_unified = v1_set_unified,
    .freeze = v1_freeze,
    .frozen_state = v1_frozen_state,
    .oom_killed = v1_oom_killed,
    .stats_cpu_usage = v1_stats_cpu_usage,
    .stats_cpu_throttling = v1_stats_cpu_throttling,
    .stats_cpuset = v1_stats_cpuset,
    .stats_memory = v1_stats_memory,
    .stats_pids = v1_stats_pids,
    .stats_blkio = v1_stats_blkio,
    .stats_hugetlb = v1_stats_hugetlb,
    .mount = v1_mount,
};
