/* cgroup v2: one directory in the unified hierarchy. Converts the spec's v1-flavoured values
 * as runc does (shares to cpu.weight, blkio weight to io.weight, memory+swap to
 * memory.swap.max), enables controllers down the path, freezes through cgroup.freeze and
 * cgroup.events, reads v2 statistics, and mounts the container's view. Devices are an eBPF
 * program (cgroup_devices.c). */
#include "runtime/cgroup_internal.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

uint64_t cg_shares_to_weight(uint64_t shares)
{
    if (shares == 0)
        return 0;
    /* cpu.shares' range [2, 262144] maps onto cpu.weight's [1, 10000]. */
    if (shares < 2)
        shares = 2;
    if (shares > 262144)
        shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cg_blkio_weight_to_io_weight(uint64_t weight)
{
    if (weight == 0)
        return 0;
    /* blkio.weight's [10, 1000] onto io.weight's [1, 10000]. */
    if (weight < 10)
        weight = 10;
    if (weight > 1000)
        weight = 1000;
    return 1 + (weight - 10) * 9999 / 990;
}

int cg_v2_swap_value(int64_t swap, int64_t memory, int64_t *out, bool *write, struct berr **err)
{
    *write = true;
    /* Unlimited memory with swap unsaid: both unlimited, for compatibility with v1. */
    if (memory == -1 && swap == 0) {
        *out = -1;
        return 0;
    }
    if (swap == -1) {
        *out = -1;
        return 0;
    }
    if (swap == 0) {
        *write = false;
        return 0;
    }
    if (memory == 0 || memory == -1)
        return berr_set(err, 0, "linux.resources.memory.swap: a swap limit needs a memory limit");
    if (swap < memory)
        return berr_set(err, 0,
                        "linux.resources.memory.swap: %lld is below memory.limit %lld (swap is "
                        "memory+swap)",
                        (long long)swap, (long long)memory);
    *out = swap - memory;
    return 0;
}

static const char *num_or_max(char *buf, size_t len, int64_t v)
{
    if (v < 0)
        return "max";
    snprintf(buf, len, "%lld", (long long)v);
    return buf;
}

/* ---- directory setup ---------------------------------------------------------------------- */

static int v2_enable_children(const char *parent, uint32_t ctrls, struct berr **err)
{
    char list[256];
    size_t len = 0;
    for (int c = 0; c < CG_NCTRL; c++)
        if ((ctrls & (1u << c)) && cg_ctrl_v2_name(c))
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s+%s", len ? " " : "",
                                    cg_ctrl_v2_name(c));
    if (len == 0)
        return 0;
    _cleanup_free_ char *file = xasprintf("%s/cgroup.subtree_control", parent);
    _cleanup_close_ int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(err, "open %s", file);
    if (write_all(fd, list, len) == 0)
        return 0;
    /* One unavailable controller fails the whole write: enable the others one by one. A
     * parent holding processes refuses (EBUSY) whatever we do; setting limits will then say
     * which controller is missing. */
    if (errno != ENOENT && errno != EINVAL && errno != EOPNOTSUPP) {
        log_debug("%s: %s: %s", file, list, strerror(errno));
        return 0;
    }
    char *save = NULL;
    for (char *tok = strtok_r(list, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        if (write_all(fd, tok, strlen(tok)) < 0)
            log_debug("%s: %s: %s", file, tok, strerror(errno));
    return 0;
}

/* ---- resources ---------------------------------------------------------------------------- */

static int v2_set_memory(struct cg_dir *d, const struct rt_resources *r, bool update,
                         struct berr **err)
{
    char buf[32];
    int64_t limit = r->memory.limit.set ? r->memory.limit.v : 0;
    if (update && r->memory.check_before_update.set && r->memory.check_before_update.v &&
        limit > 0) {
        uint64_t cur;
        if (cg_read_u64(d, "memory.current", &cur, err) < 0)
            return -1;
        if (cur > (uint64_t)limit)
            return berr_set(err, EBUSY,
                            "unable to set memory limit to %lld (current usage: %llu is higher)",
                            (long long)limit, (unsigned long long)cur);
    }
    int64_t swap = r->memory.swap.set ? r->memory.swap.v : 0;
    int64_t mem_for_swap = limit;
    if (swap > 0 && limit == 0) {
        /* `update --memory-swap` alone: convert against the limit in force. */
        uint64_t cur;
        if (cg_read_u64(d, "memory.max", &cur, err) < 0)
            return -1;
        mem_for_swap = cur > INT64_MAX ? -1 : (int64_t)cur;
    }
    int64_t swap_max;
    bool write_swap;
    if (cg_v2_swap_value(swap, mem_for_swap, &swap_max, &write_swap, err) < 0)
        return -1;
    if (write_swap) {
        const char *v = num_or_max(buf, sizeof(buf), swap_max);
        int rc = cg_try_write(d, "memory.swap.max", v);
        /* No swap accounting: "max" and "0" are what we have anyway. */
        if (rc < 0 && !(rc == -ENOENT && (swap_max == -1 || swap_max == 0)))
            return berr_set(err, -rc, "write \"%s\" to %s/memory.swap.max", v, d->path);
    }
    if (limit != 0 && cg_write(d, "memory.max", num_or_max(buf, sizeof(buf), limit), err) < 0)
        return -1;
    if (r->memory.reservation.set &&
        cg_write(d, "memory.low", num_or_max(buf, sizeof(buf), r->memory.reservation.v), err) < 0)
        return -1;
    if (r->memory.swappiness.set)
        log_debug("%s: memory.swappiness has no cgroup v2 equivalent; ignored", d->path);
    if (r->memory.disable_oom_killer.set && r->memory.disable_oom_killer.v)
        log_debug("%s: disableOOMKiller has no cgroup v2 equivalent; ignored", d->path);
    return 0;
}

static int v2_set_cpu(struct cg_dir *d, const struct rt_resources *r, bool update,
                      struct berr **err)
{
    char buf[64];
    if (r->cpu.rt_runtime.set || r->cpu.rt_period.set)
        return berr_set(err, EOPNOTSUPP,
                        "linux.resources.cpu.realtimeRuntime/realtimePeriod: real-time cpu "
                        "limits are not supported on cgroup v2");
    if (r->cpu.shares.set &&
        cg_writef(d, "cpu.weight", err, "%llu",
                  (unsigned long long)cg_shares_to_weight((uint64_t)r->cpu.shares.v)) < 0)
        return -1;
    if (r->cpu.idle.set && cg_writef(d, "cpu.idle", err, "%lld", (long long)r->cpu.idle.v) < 0)
        return -1;
    /* The burst may not exceed the quota: when both change, retry it after cpu.max. */
    bool burst_later = false;
    if (r->cpu.burst.set) {
        snprintf(buf, sizeof(buf), "%lld", (long long)r->cpu.burst.v);
        int rc = cg_try_write(d, "cpu.max.burst", buf);
        if (rc == -EINVAL && (r->cpu.quota.set || r->cpu.period.set))
            burst_later = true;
        else if (rc < 0)
            return berr_set(err, -rc, "write \"%s\" to %s/cpu.max.burst", buf, d->path);
    }
    if (r->cpu.quota.set || r->cpu.period.set) {
        char quota[32] = "max";
        if (r->cpu.quota.set && r->cpu.quota.v > 0)
            snprintf(quota, sizeof(quota), "%lld", (long long)r->cpu.quota.v);
        if (!r->cpu.quota.set) {
            /* Only the period changes: keep the quota in force ("$MAX $PERIOD"). */
            _cleanup_free_ char *cur = cg_read(d, "cpu.max", err);
            if (cur == NULL)
                return -1;
            cur[strcspn(cur, " \n")] = 0;
            snprintf(quota, sizeof(quota), "%.31s", cur);
        }
        /* With the quota alone the kernel keeps the period in force. */
        if (r->cpu.period.set)
            snprintf(buf, sizeof(buf), "%s %lld", quota, (long long)r->cpu.period.v);
        else
            snprintf(buf, sizeof(buf), "%s", quota);
        if (cg_write(d, "cpu.max", buf, err) < 0)
            return -1;
        if (burst_later &&
            cg_writef(d, "cpu.max.burst", err, "%lld", (long long)r->cpu.burst.v) < 0)
            return -1;
    }
    (void)update;
    return 0;
}

static int v2_set_blkio(struct cg_dir *d, const struct rt_resources *r, struct berr **err)
{
    /* BFQ takes blkio-style weights as they are, and per device; otherwise io.weight with
     * runc's conversion, and per-device weights are dropped as runc drops them. */
    bool bfq =
        (r->blkio.weight.set || r->blkio.n_weight_devices) && cg_has_file(d, "io.bfq.weight");
    if (r->blkio.weight.set) {
        if (bfq) {
            if (cg_writef(d, "io.bfq.weight", err, "%lld", (long long)r->blkio.weight.v) < 0)
                return -1;
        } else if (cg_writef(d, "io.weight", err, "%llu",
                             (unsigned long long)cg_blkio_weight_to_io_weight(
                                 (uint64_t)r->blkio.weight.v)) < 0) {
            return -1;
        }
    }
    if (r->blkio.leaf_weight.set)
        log_debug("%s: blockIO.leafWeight has no cgroup v2 equivalent; ignored", d->path);
    for (size_t i = 0; i < r->blkio.n_weight_devices; i++) {
        const struct cg_weight_device *wd = &r->blkio.weight_devices[i];
        if (!wd->weight.set)
            continue;
        if (!bfq) {
            log_debug("%s: blockIO.weightDevice needs the BFQ scheduler; ignored", d->path);
            break;
        }
        if (cg_writef(d, "io.bfq.weight", err, "%lld:%lld %lld", (long long)wd->major,
                      (long long)wd->minor, (long long)wd->weight.v) < 0)
            return -1;
    }
    static const char *const keys[CG_THROTTLE_NKINDS] = {"rbps", "wbps", "riops", "wiops"};
    for (int k = 0; k < CG_THROTTLE_NKINDS; k++) {
        for (size_t i = 0; i < r->blkio.n_throttle[k]; i++) {
            const struct cg_throttle_device *td = &r->blkio.throttle[k][i];
            char rate[32] = "max"; /* v1's 0 ("no limit") */
            if (td->rate)
                snprintf(rate, sizeof(rate), "%llu", (unsigned long long)td->rate);
            if (cg_writef(d, "io.max", err, "%lld:%lld %s=%s", (long long)td->major,
                          (long long)td->minor, keys[k], rate) < 0)
                return -1;
        }
    }
    return 0;
}

static int v2_set_hugetlb(struct cg_dir *d, const struct rt_resources *r, struct berr **err)
{
    return cg_write_hugetlb(d, r, "max", "rsvd.max", err);
}

static int v2_set_devices(struct cg_dir *d, const struct rt_resources *r, struct berr **err)
{
    int fd = cg_dir_fd(d, err);
    if (fd < 0)
        return -1;
    if (cg_devices_bpf_apply(fd, r->devices, r->n_devices, err) < 0)
        return berr_wrap(err, "cgroup %s", d->path);
    return 0;
}

static int v2_set_unified(struct cg_dir *d, const struct rt_resources *r, struct berr **err)
{
    for (size_t i = 0; i < r->n_unified; i++) {
        const struct cg_unified_entry *u = &r->unified[i];
        int rc = cg_try_write(d, u->key, u->value);
        if (rc == -ENOENT)
            return berr_set(err, ENOENT,
                            "linux.resources.unified.%s: no such file in %s (is the controller "
                            "enabled?)",
                            u->key, d->path);
        if (rc < 0)
            return berr_set(err, -rc, "linux.resources.unified.%s: write \"%s\" to %s/%s", u->key,
                            u->value, d->path, u->key);
    }
    return 0;
}

/* ---- freezer ------------------------------------------------------------------------------ */

static int v2_frozen_state(struct cg_dir *d, struct berr **err)
{
    _cleanup_free_ char *s = cg_read(d, "cgroup.freeze", err);
    if (s == NULL)
        return -1;
    return s[0] == '1';
}

static int v2_freeze(struct cg_dir *d, bool frozen, struct berr **err)
{
    if (cg_write(d, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
        return -1;
    /* The freeze completes asynchronously; cgroup.events says when ("frozen 1"), and polling
     * it for POLLPRI wakes us on each change. */
    int dfd = cg_dir_fd(d, err);
    if (dfd < 0)
        return -1;
    _cleanup_close_ int fd = openat(dfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(err, "open %s/cgroup.events", d->path);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        char buf[256];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
            return berr_sys(err, "read %s/cgroup.events", d->path);
        buf[n] = 0;
        uint64_t state;
        if (cg_keyed_u64(buf, "frozen", &state) == 0 && (state != 0) == frozen)
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (ms > 5000) {
            if (frozen)
                cg_try_write(d, "cgroup.freeze", "0");
            return berr_set(err, ETIMEDOUT, "cgroup %s: timed out waiting to be %s", d->path,
                            frozen ? "frozen" : "thawed");
        }
        struct pollfd pfd = {.fd = fd, .events = POLLPRI};
        int wait = 5000 - (int)ms < 100 ? 5000 - (int)ms : 100;
        if (poll(&pfd, 1, wait) < 0 && errno != EINTR)
            return berr_sys(err, "poll %s/cgroup.events", d->path);
    }
}

static bool v2_oom_killed(struct cg_dir *d)
{
    _cleanup_free_ char *s = cg_read(d, "memory.events", NULL);
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

static uint64_t keyed_or_0(const char *text, const char *key)
{
    uint64_t v = 0;
    if (text)
        cg_keyed_u64(text, key, &v);
    return v;
}

static void v2_stats_cpu_usage(struct cg_dir *d, json_t *usage)
{
    _cleanup_free_ char *s = cg_read(d, "cpu.stat", NULL);
    cg_json_u64(usage, "total", keyed_or_0(s, "usage_usec") * 1000, true);
    cg_json_u64(usage, "kernel", keyed_or_0(s, "system_usec") * 1000, false);
    cg_json_u64(usage, "user", keyed_or_0(s, "user_usec") * 1000, false);
}

static void v2_stats_cpu_throttling(struct cg_dir *d, json_t *t)
{
    _cleanup_free_ char *s = cg_read(d, "cpu.stat", NULL);
    cg_json_u64(t, "periods", keyed_or_0(s, "nr_periods"), true);
    cg_json_u64(t, "throttledPeriods", keyed_or_0(s, "nr_throttled"), true);
    cg_json_u64(t, "throttledTime", keyed_or_0(s, "throttled_usec") * 1000, true);
}

static void v2_stats_cpuset(struct cg_dir *d, json_t *o)
{
    _cleanup_free_ char *cpus = cg_read(d, "cpuset.cpus.effective", NULL);
    _cleanup_free_ char *mems = cg_read(d, "cpuset.mems.effective", NULL);
    if (cpus)
        cg_json_set_array(o, "cpus", cg_cpu_list_to_json(cpus));
    if (mems)
        cg_json_set_array(o, "mems", cg_cpu_list_to_json(mems));
}

static json_t *mem_entry(uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt)
{
    json_t *e = json_object();
    cg_json_u64(e, "limit", limit, false);
    cg_json_u64(e, "usage", usage, true);
    cg_json_u64(e, "max", max, true);
    cg_json_u64(e, "failcnt", failcnt, false);
    return e;
}

static void v2_stats_memory(struct cg_dir *d, json_t *m)
{
    _cleanup_free_ char *stat = cg_read(d, "memory.stat", NULL);
    _cleanup_free_ char *events = cg_read(d, "memory.events", NULL);
    uint64_t usage = read_u64_or_0(d, "memory.current");
    uint64_t limit = read_u64_or_0(d, "memory.max");
    uint64_t swap = read_u64_or_0(d, "memory.swap.current");
    uint64_t swap_limit = read_u64_or_0(d, "memory.swap.max");
    cg_json_u64(m, "cache", keyed_or_0(stat, "file"), true);
    json_object_set_new(
        m, "usage",
        mem_entry(limit, usage, read_u64_or_0(d, "memory.peak"), keyed_or_0(events, "max")));
    /* v1 reports memory+swap; so does runc on v2. */
    uint64_t sw_limit =
        swap_limit == UINT64_MAX || limit == UINT64_MAX ? UINT64_MAX : swap_limit + limit;
    json_object_set_new(m, "swap", mem_entry(sw_limit, swap + usage, 0, 0));
    json_object_set_new(m, "kernel", mem_entry(0, 0, 0, 0));
    json_object_set_new(m, "kernelTCP", mem_entry(0, 0, 0, 0));
    if (stat) {
        json_t *raw = cg_keyed_to_json(stat);
        if (json_object_size(raw))
            json_object_set_new(m, "raw", raw);
        else
            json_decref(raw);
    }
}

static void v2_stats_pids(struct cg_dir *d, json_t *p)
{
    uint64_t max = read_u64_or_0(d, "pids.max");
    cg_json_u64(p, "current", read_u64_or_0(d, "pids.current"), true);
    cg_json_u64(p, "limit", max == UINT64_MAX ? 0 : max, true);
}

/* io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device. */
static void v2_stats_blkio(struct cg_dir *d, json_t *b)
{
    _cleanup_free_ char *s = cg_read(d, "io.stat", NULL);
    json_t *bytes = json_array(), *ios = json_array();
    char *save = NULL;
    for (char *line = s ? strtok_r(s, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        unsigned long long maj, min;
        int off;
        if (sscanf(line, "%llu:%llu%n", &maj, &min, &off) != 2)
            continue;
        char *save2 = NULL;
        for (char *kv = strtok_r(line + off, " ", &save2); kv; kv = strtok_r(NULL, " ", &save2)) {
            char *eq = strchr(kv, '=');
            if (eq == NULL)
                continue;
            *eq = 0;
            unsigned long long v = strtoull(eq + 1, NULL, 10);
            if (strcmp(kv, "rbytes") == 0)
                cg_blkio_entry(bytes, maj, min, "Read", v);
            else if (strcmp(kv, "wbytes") == 0)
                cg_blkio_entry(bytes, maj, min, "Write", v);
            else if (strcmp(kv, "rios") == 0)
                cg_blkio_entry(ios, maj, min, "Read", v);
            else if (strcmp(kv, "wios") == 0)
                cg_blkio_entry(ios, maj, min, "Write", v);
        }
    }
    cg_json_set_array(b, "ioServiceBytesRecursive", bytes);
    cg_json_set_array(b, "ioServicedRecursive", ios);
}

static void v2_stats_hugetlb(struct cg_dir *d, json_t *h)
{
    for (char *const *sz = cg_hugepage_sizes(); *sz; sz++) {
        char f[80];
        json_t *e = json_object();
        snprintf(f, sizeof(f), "hugetlb.%s.current", *sz);
        cg_json_u64(e, "usage", read_u64_or_0(d, f), true);
        snprintf(f, sizeof(f), "hugetlb.%s.events", *sz);
        _cleanup_free_ char *ev = cg_read(d, f, NULL);
        cg_json_u64(e, "failcnt", keyed_or_0(ev, "max"), false);
        json_object_set_new(h, *sz, e);
    }
}

/* ---- the container's view ----------------------------------------------------------------- */

/* With a cgroup namespace, a fresh cgroup2 mount shows the namespace root: the container's
 * own cgroup. Without one (or where the kernel refuses, as in a user namespace without
 * cgroupns) the container's directory is bound instead, so it still sees only itself. */
static int v2_mount(struct rt_cgroup *cg, const char *target, unsigned long flags,
                    bool has_cgroupns, struct berr **err)
{
    if (cg->v2 < 0)
        return berr_set(err, ENOENT, "no cgroup v2 directory");
    if (has_cgroupns) {
        const unsigned long keep = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                   MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;
        if (mount("cgroup2", target, "cgroup2", flags & keep, NULL) == 0)
            return 0;
        if (errno != EPERM && errno != EBUSY)
            return berr_sys(err, "mount cgroup2 on %s", target);
    }
    return cg_bind_mount(cg->dirs[cg->v2].path, target, flags, err);
}

const struct cg_ops cg_v2_ops = {
    .name = "v2",
    .enable_children = v2_enable_children,
    .init_new_dir = NULL,
    .set_memory = v2_set_memory,
    .set_cpu = v2_set_cpu,
    .set_cpuset = cg_write_cpuset,
    .set_pids = cg_write_pids,
    .set_blkio = v2_set_blkio,
    .set_hugetlb = v2_set_hugetlb,
    .set_net_cls = NULL, /* net_cls and net_prio do not exist on v2 */
    .set_net_prio = NULL,
    .set_rdma = cg_write_rdma,
    .set_devices = v2_set_devices,
    .set_unified = v2_set_unified,
    .freeze = v2_freeze,
    .frozen_state = v2_frozen_state,
    .oom_killed = v2_oom_killed,
    .stats_cpu_usage = v2_stats_cpu_usage,
    .stats_cpu_throttling = v2_stats_cpu_throttling,
    .stats_cpuset = v2_stats_cpuset,
    .stats_memory = v2_stats_memory,
    .stats_pids = v2_stats_pids,
    .stats_blkio = v2_stats_blkio,
    .stats_hugetlb = v2_stats_hugetlb,
    .mount = v2_mount,
};
