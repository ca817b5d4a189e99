/* cgroup module tests: linux.resources parsing and its messages, update flags and sizes, v2
 * conversions, cgroupsPath rules, host layout discovery from mountinfo text, the eBPF device
 * program (run through a small interpreter against a model of the rules), state round trips,
 * and, when root on a host with writable cgroups, real containers' cgroups: create, enter,
 * limits read back, update, freeze, stats, device filtering, mount, kill, destroy. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/cgroup_internal.h"
#include "runtime/spec.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static json_t *json_of(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (j == NULL)
        fail_msg("bad test JSON %s: %s", text, je.text);
    return j;
}

static struct rt_resources *parse_ok(const char *text)
{
    _cleanup_json_ json_t *j = json_of(text);
    _cleanup_berr_ struct berr *err = NULL;
    struct rt_resources *r = rt_resources_parse(j, NULL, &err);
    if (r == NULL)
        fail_msg("parse %s: %s", text, err->msg);
    return r;
}

static void parse_fails(const char *text, const char *want)
{
    _cleanup_json_ json_t *j = json_of(text);
    _cleanup_berr_ struct berr *err = NULL;
    struct rt_resources *r = rt_resources_parse(j, NULL, &err);
    if (r != NULL) {
        rt_resources_free(r);
        fail_msg("parse %s: succeeded, wanted \"%s\"", text, want);
    }
    assert_non_null(err);
    if (strstr(err->msg, want) == NULL)
        fail_msg("parse %s: got \"%s\", wanted \"%s\"", text, err->msg, want);
}

static void resfreep(struct rt_resources **r)
{
    rt_resources_free(*r);
}
#define _cleanup_res_ _cleanup_(resfreep)

/* ---- parsing ------------------------------------------------------------------------------ */

static void test_parse_null(void **state)
{
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_res_ struct rt_resources *r = rt_resources_parse(NULL, NULL, &err);
    assert_non_null(r);
    assert_false(cg_res_has_memory(r) || cg_res_has_cpu(r) || cg_res_has_cpuset(r) ||
                 cg_res_has_blkio(r) || r->has_devices || r->pids_limit.set);
}

static void test_parse_full(void **state)
{
    _cleanup_res_ struct rt_resources *r = parse_ok(
        "{\"memory\":{\"limit\":536870912,\"reservation\":268435456,\"swap\":1073741824,"
        "\"kernel\":1,\"kernelTCP\":2,\"swappiness\":60,\"disableOOMKiller\":true,"
        "\"useHierarchy\":true,\"checkBeforeUpdate\":true},"
        "\"cpu\":{\"shares\":1024,\"quota\":50000,\"burst\":1000,\"period\":100000,"
        "\"realtimeRuntime\":950000,\"realtimePeriod\":1000000,\"cpus\":\"0-1\",\"mems\":\"0\","
        "\"idle\":1},"
        "\"pids\":{\"limit\":100},"
        "\"blockIO\":{\"weight\":500,\"leafWeight\":300,"
        "\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":600,\"leafWeight\":100}],"
        "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1048576}],"
        "\"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":16,\"rate\":2097152}],"
        "\"throttleReadIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":100}],"
        "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":0}]},"
        "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":209715200},"
        "{\"pageSize\":\"1GB\",\"limit\":0}],"
        "\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":500}]},"
        "\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3,\"hcaObjects\":10000},\"mlx4_0\":{}},"
        "\"unified\":{\"memory.high\":\"1073741824\",\"io.max\":\"8:0 rbps=max\"},"
        "\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
        "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rw\"},"
        "{\"allow\":true,\"type\":\"b\",\"major\":8,\"access\":\"m\"}],"
        "\"futureField\":{\"ignored\":true}}");
    assert_true(r->memory.limit.set);
    assert_int_equal(r->memory.limit.v, 536870912);
    assert_int_equal(r->memory.reservation.v, 268435456);
    assert_int_equal(r->memory.swap.v, 1073741824);
    assert_int_equal(r->memory.swappiness.v, 60);
    assert_true(r->memory.disable_oom_killer.set && r->memory.disable_oom_killer.v);
    assert_true(r->memory.use_hierarchy.v && r->memory.check_before_update.v);
    assert_int_equal(r->cpu.shares.v, 1024);
    assert_int_equal(r->cpu.quota.v, 50000);
    assert_int_equal(r->cpu.burst.v, 1000);
    assert_int_equal(r->cpu.period.v, 100000);
    assert_int_equal(r->cpu.rt_runtime.v, 950000);
    assert_int_equal(r->cpu.rt_period.v, 1000000);
    assert_true(r->cpu.idle.set && r->cpu.idle.v == 1);
    assert_string_equal(r->cpu.cpus, "0-1");
    assert_string_equal(r->cpu.mems, "0");
    assert_int_equal(r->pids_limit.v, 100);
    assert_int_equal(r->blkio.weight.v, 500);
    assert_int_equal(r->blkio.leaf_weight.v, 300);
    assert_int_equal(r->blkio.n_weight_devices, 1);
    assert_int_equal(r->blkio.weight_devices[0].major, 8);
    assert_int_equal(r->blkio.weight_devices[0].weight.v, 600);
    assert_int_equal(r->blkio.weight_devices[0].leaf_weight.v, 100);
    for (int k = 0; k < CG_THROTTLE_NKINDS; k++)
        assert_int_equal(r->blkio.n_throttle[k], 1);
    assert_int_equal(r->blkio.throttle[CG_THROTTLE_WRITE_BPS][0].minor, 16);
    assert_int_equal(r->blkio.throttle[CG_THROTTLE_READ_BPS][0].rate, 1048576);
    assert_int_equal(r->blkio.throttle[CG_THROTTLE_WRITE_IOPS][0].rate, 0);
    assert_int_equal(r->n_hugepages, 2);
    assert_string_equal(r->hugepages[0].page_size, "2MB");
    assert_int_equal(r->hugepages[0].limit, 209715200);
    assert_string_equal(r->hugepages[1].page_size, "1GB");
    assert_true(r->network.class_id.set);
    assert_int_equal(r->network.class_id.v, 1048577);
    assert_int_equal(r->network.n_priorities, 1);
    assert_string_equal(r->network.priorities[0].name, "eth0");
    assert_int_equal(r->network.priorities[0].priority, 500);
    /* "mlx4_0": {} sets nothing and is dropped. */
    assert_int_equal(r->n_rdma, 1);
    assert_string_equal(r->rdma[0].device, "mlx5_1");
    assert_int_equal(r->rdma[0].hca_handles.v, 3);
    assert_int_equal(r->rdma[0].hca_objects.v, 10000);
    assert_int_equal(r->n_unified, 2);
    assert_true(r->has_devices);
    assert_int_equal(r->n_devices, 3);
    assert_false(r->devices[0].allow);
    assert_int_equal(r->devices[0].type, 'a');
    assert_int_equal(r->devices[1].type, 'c');
    assert_int_equal(r->devices[1].access, CG_ACC_READ | CG_ACC_WRITE);
    assert_int_equal(r->devices[2].minor, CG_DEV_WILDCARD);
    assert_int_equal(r->devices[2].access, CG_ACC_MKNOD);
}

static void test_parse_unset_and_unlimited(void **state)
{
    /* runc's reading: 0 is "not set" for these; -1 is unlimited; negative pids is "max". */
    _cleanup_res_ struct rt_resources *r =
        parse_ok("{\"memory\":{\"limit\":0,\"swap\":-1,\"kernel\":100,\"swappiness\":-1},"
                 "\"cpu\":{\"shares\":0,\"quota\":-1,\"period\":0,\"burst\":0,\"cpus\":\"\"},"
                 "\"pids\":{\"limit\":-5},\"blockIO\":{\"weight\":0},\"network\":{\"classID\":0},"
                 "\"memory2\":null}");
    assert_false(r->memory.limit.set);
    assert_true(r->memory.swap.set);
    assert_int_equal(r->memory.swap.v, -1);
    assert_false(r->memory.swappiness.set);
    assert_false(r->cpu.shares.set);
    assert_true(r->cpu.quota.set);
    assert_int_equal(r->cpu.quota.v, -1);
    assert_false(r->cpu.period.set);
    assert_true(r->cpu.burst.set); /* 0 is a burst */
    assert_null(r->cpu.cpus);
    assert_true(r->pids_limit.set);
    assert_int_equal(r->pids_limit.v, -1);
    assert_false(r->blkio.weight.set);
    assert_false(r->network.class_id.set);
    assert_false(cg_res_has_blkio(r));
    /* kernel memory is accepted and ignored */
    assert_true(cg_res_has_memory(r));
}

static void test_parse_errors(void **state)
{
    static const char *const cases[][2] = {
        {"\"x\"", "linux.resources: expected an object"},
        {"{\"memory\":[]}", "linux.resources.memory: expected an object"},
        {"{\"memory\":{\"limit\":\"1G\"}}", "linux.resources.memory.limit: expected an integer"},
        {"{\"memory\":{\"limit\":1.5}}", "linux.resources.memory.limit: expected an integer"},
        {"{\"memory\":{\"limit\":-2}}", "linux.resources.memory.limit: must be -1"},
        {"{\"memory\":{\"reservation\":-7}}", "memory.reservation: must be -1"},
        {"{\"memory\":{\"limit\":4096,\"swap\":2048}}",
         "linux.resources.memory.swap: 2048 is below memory.limit 4096"},
        {"{\"memory\":{\"swappiness\":101}}", "memory.swappiness: must be between 0 and 100"},
        {"{\"memory\":{\"disableOOMKiller\":1}}", "memory.disableOOMKiller: expected a boolean"},
        {"{\"memory\":{\"kernel\":\"x\"}}", "memory.kernel: expected an integer"},
        {"{\"cpu\":{\"shares\":-1}}", "cpu.shares: must not be negative"},
        {"{\"cpu\":{\"quota\":-3}}", "cpu.quota: must be -1"},
        {"{\"cpu\":{\"idle\":2}}", "cpu.idle: must be 0 or 1"},
        {"{\"cpu\":{\"cpus\":\"0-3;rm\"}}", "linux.resources.cpu.cpus: invalid list"},
        {"{\"cpu\":{\"mems\":0}}", "linux.resources.cpu.mems: expected a string"},
        {"{\"pids\":{\"limit\":\"10\"}}", "linux.resources.pids.limit: expected an integer"},
        {"{\"blockIO\":{\"weight\":5}}", "blockIO.weight: must be between 10 and 1000"},
        {"{\"blockIO\":{\"leafWeight\":1001}}", "blockIO.leafWeight: must be between 10 and 1000"},
        {"{\"blockIO\":{\"weightDevice\":{}}}", "blockIO.weightDevice: expected an array"},
        {"{\"blockIO\":{\"weightDevice\":[{\"minor\":0}]}}",
         "blockIO.weightDevice[0].major: required"},
        {"{\"blockIO\":{\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":3}]}}",
         "weightDevice[0].weight: must be between 10 and 1000"},
        {"{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":-1}]}}",
         "blockIO.throttleReadBpsDevice[0].rate: -1 is out of range"},
        {"{\"blockIO\":{\"throttleWriteIOPSDevice\":[7]}}",
         "throttleWriteIOPSDevice[0]: expected an object"},
        {"{\"hugepageLimits\":[{\"pageSize\":\"2M\",\"limit\":1}]}",
         "hugepageLimits[0].pageSize: invalid page size \"2M\""},
        {"{\"hugepageLimits\":[{\"pageSize\":\"../2MB\",\"limit\":1}]}",
         "hugepageLimits[0].pageSize: invalid page size"},
        {"{\"hugepageLimits\":[{\"pageSize\":\"2MB\"}]}", "hugepageLimits[0].limit: required"},
        {"{\"network\":{\"classID\":-1}}", "network.classID: must be between 0 and 4294967295"},
        {"{\"network\":{\"priorities\":[{\"name\":\"eth 0\",\"priority\":1}]}}",
         "network.priorities[0].name: invalid interface name"},
        {"{\"network\":{\"priorities\":[{\"name\":\"eth0\"}]}}",
         "network.priorities[0].priority: required"},
        {"{\"rdma\":{\"mlx\":{\"hcaHandles\":\"x\"}}}", "rdma.mlx.hcaHandles: expected an integer"},
        {"{\"rdma\":{\"a b\":{\"hcaHandles\":1}}}", "rdma: invalid device name"},
        {"{\"unified\":{\"../../etc/passwd\":\"x\"}}", "unified: invalid key"},
        {"{\"unified\":{\"memoryhigh\":\"x\"}}", "unified: invalid key"},
        {"{\"unified\":{\"memory.high\":5}}", "unified.memory.high: expected a string"},
        {"{\"devices\":{}}", "linux.resources.devices: expected an array"},
        {"{\"devices\":[{\"access\":\"rwm\"}]}", "linux.resources.devices[0].allow: required"},
        {"{\"devices\":[{\"allow\":\"yes\"}]}", "devices[0].allow: expected a boolean"},
        {"{\"devices\":[{\"allow\":true,\"type\":\"u\"}]}", "devices[0].type: must be"},
        {"{\"devices\":[{\"allow\":true,\"type\":\"c\",\"access\":\"rwx\"}]}",
         "devices[0].access: invalid"},
        {"{\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":-2}]}",
         "devices[0].major: -2 is not a device number"},
        {"{\"devices\":[{\"allow\":true},{\"allow\":true,\"type\":\"b\",\"minor\":4294967296}]}",
         "devices[1].minor"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        parse_fails(cases[i][0], cases[i][1]);
}

static void test_parse_where(void **state)
{
    _cleanup_json_ json_t *j = json_of("{\"memory\":{\"limit\":true}}");
    _cleanup_berr_ struct berr *err = NULL;
    assert_null(rt_resources_parse(j, "update.json", &err));
    assert_string_equal(err->msg, "update.json: linux.resources.memory.limit: expected an integer");
}

static void test_parse_list_cap(void **state)
{
    _cleanup_json_ json_t *j = json_object();
    json_t *arr = json_array();
    for (int i = 0; i <= CG_MAX_LIST; i++)
        json_array_append_new(arr, json_pack("{s:b}", "allow", 1));
    json_object_set_new(j, "devices", arr);
    _cleanup_berr_ struct berr *err = NULL;
    assert_null(rt_resources_parse(j, NULL, &err));
    assert_non_null(strstr(err->msg, "more than"));
}

/* ---- sizes and update flags ----------------------------------------------------------------- */

static void test_parse_size(void **state)
{
    static const struct {
        const char *s;
        int64_t v;
    } good[] = {
        {"0", 0},
        {"4096", 4096},
        {"-1", -1},
        {"512k", 512 << 10},
        {"512K", 512 << 10},
        {"10M", 10 << 20},
        {"10m", 10 << 20},
        {"10MB", 10 << 20},
        {"10mib", 10 << 20},
        {"1g", 1ll << 30},
        {"1G", 1ll << 30},
        {"2t", 2ll << 40},
        {"1p", 1ll << 50},
        {"1.5g", 3ll << 29},
        {"100b", 100},
        {"8 M", 8 << 20},
    };
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        int64_t v = 12345;
        if (cg_parse_size(good[i].s, &v) < 0)
            fail_msg("size \"%s\" refused", good[i].s);
        if (v != good[i].v)
            fail_msg("size \"%s\": %lld, want %lld", good[i].s, (long long)v, (long long)good[i].v);
    }
    static const char *const bad[] = {"",         "M",     "-2",  "10x",  "1.g",
                                      "1e3",      "10MBs", "10i", "-10M", "9999999999999999999",
                                      "16777216t"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        int64_t v;
        if (cg_parse_size(bad[i], &v) == 0)
            fail_msg("size \"%s\" accepted as %lld", bad[i], (long long)v);
    }
}

static void test_flags(void **state)
{
    char *const pairs[] = {"--memory",
                           "10M",
                           "memory-swap",
                           "-1",
                           "--memory-reservation",
                           "512k",
                           "--cpu-share",
                           "512",
                           "--cpu-quota",
                           "-1",
                           "--cpu-period",
                           "100000",
                           "--cpu-rt-period",
                           "1000000",
                           "--cpu-rt-runtime",
                           "950000",
                           "--cpuset-cpus",
                           "0-1",
                           "--cpuset-mems",
                           "0",
                           "--pids-limit",
                           "200",
                           "--blkio-weight",
                           "300",
                           "--kernel-memory",
                           "1g",
                           "--kernel-memory-tcp",
                           "1g",
                           NULL};
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_res_ struct rt_resources *r = rt_resources_from_flags(pairs, &err);
    if (r == NULL)
        fail_msg("%s", err->msg);
    assert_int_equal(r->memory.limit.v, 10 << 20);
    assert_int_equal(r->memory.swap.v, -1);
    assert_int_equal(r->memory.reservation.v, 512 << 10);
    assert_int_equal(r->cpu.shares.v, 512);
    assert_int_equal(r->cpu.quota.v, -1);
    assert_int_equal(r->cpu.period.v, 100000);
    assert_int_equal(r->cpu.rt_period.v, 1000000);
    assert_int_equal(r->cpu.rt_runtime.v, 950000);
    assert_string_equal(r->cpu.cpus, "0-1");
    assert_string_equal(r->cpu.mems, "0");
    assert_int_equal(r->pids_limit.v, 200);
    assert_int_equal(r->blkio.weight.v, 300);
    assert_false(r->cpu.burst.set);
    assert_false(r->has_devices);

    static const char *const bad[][3] = {
        {"--memory", "lots", "--memory: invalid size \"lots\""},
        {"--cpu-share", "1k", "--cpu-share: expected an integer, got \"1k\""},
        {"--cpu-share", "-5", "--cpu-share: must not be negative"},
        {"--blkio-weight", "5", "--blkio-weight: must be between 10 and 1000"},
        {"--cpuset-cpus", "a-b", "--cpuset-cpus: invalid list"},
        {"--cpu-burst", "1", "unknown update flag --cpu-burst"},
        {"--pids-limit", NULL, "--pids-limit: missing value"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char *const p[] = {(char *)bad[i][0], (char *)bad[i][1], NULL};
        _cleanup_berr_ struct berr *e = NULL;
        struct rt_resources *x = rt_resources_from_flags(p, &e);
        if (x) {
            rt_resources_free(x);
            fail_msg("flags %s %s accepted", bad[i][0], bad[i][1]);
        }
        if (strstr(e->msg, bad[i][2]) == NULL)
            fail_msg("flags %s: \"%s\", want \"%s\"", bad[i][0], e->msg, bad[i][2]);
    }
    char *const swap_below[] = {"--memory", "2M", "--memory-swap", "1M", NULL};
    _cleanup_berr_ struct berr *e2 = NULL;
    assert_null(rt_resources_from_flags(swap_below, &e2));
    assert_string_equal(e2->msg, "--memory-swap: 1048576 is below --memory 2097152 (swap is "
                                 "memory+swap)");
}

/* ---- conversions -------------------------------------------------------------------------- */

static void test_conversions(void **state)
{
    assert_int_equal(cg_shares_to_weight(0), 0);
    assert_int_equal(cg_shares_to_weight(2), 1);
    assert_int_equal(cg_shares_to_weight(1024), 39);
    assert_int_equal(cg_shares_to_weight(262144), 10000);
    assert_int_equal(cg_shares_to_weight(1), 1);           /* clamped, no wrap-around */
    assert_int_equal(cg_shares_to_weight(1000000), 10000); /* clamped */
    assert_int_equal(cg_blkio_weight_to_io_weight(0), 0);
    assert_int_equal(cg_blkio_weight_to_io_weight(10), 1);
    assert_int_equal(cg_blkio_weight_to_io_weight(500), 4950);
    assert_int_equal(cg_blkio_weight_to_io_weight(1000), 10000);

    int64_t v;
    bool w;
    _cleanup_berr_ struct berr *err = NULL;
    assert_int_equal(cg_v2_swap_value(0, 0, &v, &w, &err), 0);
    assert_false(w);
    assert_int_equal(cg_v2_swap_value(0, -1, &v, &w, &err), 0); /* both unlimited */
    assert_true(w);
    assert_int_equal(v, -1);
    assert_int_equal(cg_v2_swap_value(-1, 100, &v, &w, &err), 0);
    assert_int_equal(v, -1);
    assert_int_equal(cg_v2_swap_value(300, 100, &v, &w, &err), 0);
    assert_true(w);
    assert_int_equal(v, 200);
    assert_int_equal(cg_v2_swap_value(100, 100, &v, &w, &err), 0); /* no swap at all */
    assert_true(w);
    assert_int_equal(v, 0);
    assert_int_equal(cg_v2_swap_value(50, 100, &v, &w, &err), -1);
    assert_non_null(strstr(err->msg, "memory.swap"));
    berr_freep(&err);
    assert_int_equal(cg_v2_swap_value(300, 0, &v, &w, &err), -1);
    assert_non_null(strstr(err->msg, "needs a memory limit"));
}

/* ---- cgroupsPath -------------------------------------------------------------------------- */

static void test_clean_path(void **state)
{
    static const struct {
        const char *id, *path, *want;
        bool relative;
    } good[] = {
        {"c1", NULL, "c1", true},
        {"c1", "", "c1", true},
        {"c1", "/berth/c1", "/berth/c1", false},
        {"c1", "//berth///c1/", "/berth/c1", false},
        {"c1", "berth/c1", "berth/c1", true},
        {"c1", "./a/./b", "a/b", true},
        {"c1", "a/../b", "b", true},
        {"c1", "/a/b/../c", "/a/c", false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        bool rel;
        _cleanup_berr_ struct berr *err = NULL;
        _cleanup_free_ char *p = cg_clean_path(good[i].id, good[i].path, &rel, &err);
        if (p == NULL)
            fail_msg("%s: %s", good[i].path, err->msg);
        assert_string_equal(p, good[i].want);
        assert_int_equal(rel, good[i].relative);
    }
    static const struct {
        const char *id, *path, *want;
    } bad[] = {
        {"c1", "../c1", "escapes the current cgroup"},
        {"c1", "a/../../c1", "escapes"},
        {"c1", "/../c1", "escapes the hierarchy root"},
        {"c1", "/a/../..", "escapes"},
        {"c1", "/", "names the hierarchy root"},
        {"c1", "/a/..", "names the hierarchy root"},
        {"c1", ".", "names the current cgroup"},
        {"..", NULL, "cannot name a cgroup"},
        {"a/b", "", "cannot name a cgroup"},
        {"", NULL, "empty"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        bool rel;
        _cleanup_berr_ struct berr *err = NULL;
        char *p = cg_clean_path(bad[i].id, bad[i].path, &rel, &err);
        if (p) {
            fail_msg("\"%s\" accepted as \"%s\"", bad[i].path, p);
        }
        if (strstr(err->msg, bad[i].want) == NULL)
            fail_msg("\"%s\": \"%s\", want \"%s\"", bad[i].path, err->msg, bad[i].want);
    }
}

static void test_hier_dir(void **state)
{
    struct cg_hier h = {.mnt = "/sys/fs/cgroup/memory", .root = "/", .self = "/user/s1"};
    _cleanup_free_ char *a = cg_hier_dir(&h, "/berth/c1", false);
    assert_string_equal(a, "/sys/fs/cgroup/memory/berth/c1");
    _cleanup_free_ char *b = cg_hier_dir(&h, "c1", true);
    assert_string_equal(b, "/sys/fs/cgroup/memory/user/s1/c1");
    h.self = "/";
    _cleanup_free_ char *c = cg_hier_dir(&h, "c1", true);
    assert_string_equal(c, "/sys/fs/cgroup/memory/c1");
    /* The mount shows only /user: the process's /user/s1 is s1 below the mount point. */
    h.root = "/user";
    h.self = "/user/s1";
    _cleanup_free_ char *d = cg_hier_dir(&h, "c1", true);
    assert_string_equal(d, "/sys/fs/cgroup/memory/s1/c1");
}

/* ---- layout discovery --------------------------------------------------------------------- */

static char fake_v2[64];

static int make_fake_v2(const char *controllers)
{
    strcpy(fake_v2, "/tmp/berth-cg-fake-XXXXXX");
    if (mkdtemp(fake_v2) == NULL)
        return -1;
    _cleanup_free_ char *f = xasprintf("%s/cgroup.controllers", fake_v2);
    return write_file_at(AT_FDCWD, f, controllers, strlen(controllers), 0644, NULL);
}

static void remove_fake_v2(void)
{
    _cleanup_free_ char *f = xasprintf("%s/cgroup.controllers", fake_v2);
    unlink(f);
    rmdir(fake_v2);
}

static void test_layout_hybrid(void **state)
{
    assert_int_equal(make_fake_v2("hugetlb\n"), 0);
    _cleanup_free_ char *mi = xasprintf(
        "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        "33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children\n"
        "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
        "35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
        "36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
        "39 30 0:36 / /sys/fs/cgroup/systemd rw - cgroup cgroup "
        "rw,xattr,release_agent=/x,name=systemd\n"
        "40 30 0:37 / %s rw,relatime - cgroup2 cgroup2 rw\n"
        "41 22 0:31 / /mnt/mem\\040again rw - cgroup cgroup rw,memory\n",
        fake_v2);
    const char *self = "5:cpuacct,cpu:/a\n4:memory:/process/x\n9:name=systemd:/sys\n0::/u\n";
    _cleanup_berr_ struct berr *err = NULL;
    struct cg_layout *l = cg_layout_from_text(mi, self, &err);
    remove_fake_v2();
    if (l == NULL)
        fail_msg("%s", err->msg);
    assert_int_equal(l->mode, RT_CGROUP_HYBRID);
    assert_int_equal(l->n, 7); /* the second memory mount is the same hierarchy */
    assert_string_equal(l->h[0].name, "cpu,cpuacct");
    assert_string_equal(l->h[0].ctrl_list, "cpu,cpuacct");
    assert_string_equal(l->h[1].ctrl_list, "cpuset");
    assert_string_equal(l->h[5].name, "systemd");
    assert_string_equal(l->h[5].ctrl_list, "name=systemd");
    assert_true(l->h[6].v2);
    assert_int_equal(l->v2, 6);
    assert_int_equal(l->route[CG_CPU], 0);
    assert_int_equal(l->route[CG_CPUACCT], 0);
    assert_int_equal(l->route[CG_MEMORY], 2);
    assert_int_equal(l->route[CG_DEVICES], 3);
    assert_int_equal(l->route[CG_FREEZER], 4);
    assert_int_equal(l->route[CG_HUGETLB], 6); /* only on the unified hierarchy */
    assert_int_equal(l->route[CG_PIDS], -1);
    assert_int_equal(l->route[CG_NET_CLS], -1);
    assert_string_equal(l->h[0].self, "/a"); /* "cpuacct,cpu" is the same set */
    assert_string_equal(l->h[2].self, "/process/x");
    assert_string_equal(l->h[5].self, "/sys");
    assert_string_equal(l->h[6].self, "/u");
    assert_string_equal(l->h[1].self, "/"); /* not listed */
    cg_layout_free(l);
}

static void test_layout_v2_and_v1(void **state)
{
    assert_int_equal(make_fake_v2("cpuset cpu io memory hugetlb pids rdma misc\n"), 0);
    _cleanup_free_ char *mi = xasprintf("25 22 0:23 / %s rw,nosuid - cgroup2 cgroup2 "
                                        "rw,nsdelegate,memory_recursiveprot\n",
                                        fake_v2);
    _cleanup_berr_ struct berr *err = NULL;
    struct cg_layout *l = cg_layout_from_text(mi, "0::/user.slice/s.scope\n", &err);
    remove_fake_v2();
    if (l == NULL)
        fail_msg("%s", err->msg);
    assert_int_equal(l->mode, RT_CGROUP_V2);
    assert_int_equal(l->n, 1);
    for (int c = 0; c < CG_NCTRL; c++) {
        bool want = c != CG_NET_CLS && c != CG_NET_PRIO && c != CG_PERF_EVENT;
        if ((l->route[c] == 0) != want)
            fail_msg("controller %s routed to %d", cg_ctrl_v1_name(c), l->route[c]);
    }
    assert_string_equal(l->h[0].self, "/user.slice/s.scope");
    cg_layout_free(l);

    l = cg_layout_from_text(
        "1 0 0:1 / /cg/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio\n"
        "2 0 0:2 / /cg/pids rw - cgroup cgroup rw,pids\n"
        "3 0 0:3 / / rw - ext4 /dev/sda rw\n",
        NULL, &err);
    assert_non_null(l);
    assert_int_equal(l->mode, RT_CGROUP_V1);
    assert_int_equal(l->v2, -1);
    assert_int_equal(l->route[CG_NET_PRIO], 0);
    assert_int_equal(l->route[CG_PIDS], 1);
    assert_int_equal(l->route[CG_DEVICES], -1);
    assert_false(l->self_known);
    cg_layout_free(l);
}

/* ---- the eBPF device program -------------------------------------------------------------- */

/* Runs the subset of eBPF our generator emits; fails the test on anything else, on a
 * backward jump, or on running off the end. */
static int bpf_run(const struct bpf_insn *p, size_t n, uint32_t access_type, uint32_t major,
                   uint32_t minor)
{
    uint64_t r[11] = {0};
    const uint32_t ctx[3] = {access_type, major, minor};
    for (size_t pc = 0; pc < n; pc++) {
        const struct bpf_insn *i = &p[pc];
        uint64_t imm = (uint64_t)(int64_t)i->imm;
        if (BPF_CLASS(i->code) == BPF_JMP && i->off < 0)
            fail_msg("backward jump at %zu", pc);
        switch (i->code) {
        case BPF_LDX | BPF_MEM | BPF_W:
            assert_int_equal(i->src_reg, 1);
            assert_true(i->off >= 0 && i->off <= 8 && i->off % 4 == 0);
            r[i->dst_reg] = ctx[i->off / 4];
            break;
        case BPF_ALU | BPF_AND | BPF_K:
            r[i->dst_reg] = (uint32_t)r[i->dst_reg] & (uint32_t)i->imm;
            break;
        case BPF_ALU | BPF_RSH | BPF_K:
            r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm;
            break;
        case BPF_ALU64 | BPF_MOV | BPF_K:
            r[i->dst_reg] = imm;
            break;
        case BPF_JMP | BPF_JNE | BPF_K:
            if (r[i->dst_reg] != imm)
                pc += (size_t)i->off;
            break;
        case BPF_JMP | BPF_JSET | BPF_K:
            if (r[i->dst_reg] & imm)
                pc += (size_t)i->off;
            break;
        case BPF_JMP | BPF_JA:
            pc += (size_t)i->off;
            break;
        case BPF_JMP | BPF_EXIT:
            return (int)r[0];
        default:
            fail_msg("unexpected opcode 0x%x at %zu", i->code, pc);
        }
    }
    fail_msg("ran off the end of the program");
    return -1;
}

/* The documented semantics, written the obvious way. */
static bool model_allows(const struct cg_device_rule *rules, size_t n, char type, int64_t major,
                         int64_t minor, unsigned access)
{
    for (unsigned bit = 1; bit <= 4; bit <<= 1) {
        if (!(access & bit))
            continue;
        bool allowed = false;
        for (size_t i = 0; i < n; i++) {
            const struct cg_device_rule *r = &rules[i];
            bool dev = r->type == 'a' ||
                       (r->type == type && (r->major == CG_DEV_WILDCARD || r->major == major) &&
                        (r->minor == CG_DEV_WILDCARD || r->minor == minor));
            if (dev && (r->access & bit))
                allowed = r->allow;
        }
        if (!allowed)
            return false;
    }
    return true;
}

static bool prog_allows(const struct bpf_insn *p, size_t n, char type, int64_t major, int64_t minor,
                        unsigned access)
{
    uint32_t t = type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
    return bpf_run(p, n, (access << 16) | t, (uint32_t)major, (uint32_t)minor) == 1;
}

static void test_bpf_program_fixed(void **state)
{
    const struct cg_device_rule rules[] = {
        {false, 'a', -1, -1, CG_ACC_ALL},  {true, 'c', 1, 3, CG_ACC_ALL},
        {true, 'c', 1, 5, CG_ACC_READ},    {true, 'c', 136, -1, CG_ACC_READ | CG_ACC_WRITE},
        {true, 'b', -1, -1, CG_ACC_MKNOD}, {false, 'c', 136, 7, CG_ACC_WRITE},
    };
    size_t n;
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_free_ struct bpf_insn *p = cg_devices_bpf_program(rules, ARRAY_SIZE(rules), &n, &err);
    assert_non_null(p);
    assert_true(prog_allows(p, n, 'c', 1, 3, CG_ACC_READ | CG_ACC_WRITE));
    assert_true(prog_allows(p, n, 'c', 1, 5, CG_ACC_READ));
    assert_false(prog_allows(p, n, 'c', 1, 5, CG_ACC_READ | CG_ACC_WRITE));
    assert_false(prog_allows(p, n, 'c', 1, 7, CG_ACC_READ));
    assert_false(prog_allows(p, n, 'b', 1, 3, CG_ACC_READ));
    assert_true(prog_allows(p, n, 'b', 8, 0, CG_ACC_MKNOD));
    assert_true(prog_allows(p, n, 'c', 136, 2, CG_ACC_WRITE));
    assert_false(prog_allows(p, n, 'c', 136, 7, CG_ACC_WRITE)); /* later deny wins */
    assert_true(prog_allows(p, n, 'c', 136, 7, CG_ACC_READ));

    /* No rules: everything denied. Allow-all: everything allowed. */
    _cleanup_free_ struct bpf_insn *p0 = cg_devices_bpf_program(NULL, 0, &n, &err);
    assert_false(prog_allows(p0, n, 'c', 1, 3, CG_ACC_READ));
    const struct cg_device_rule all[] = {{true, 'a', -1, -1, CG_ACC_ALL}};
    _cleanup_free_ struct bpf_insn *p1 = cg_devices_bpf_program(all, 1, &n, &err);
    assert_true(prog_allows(p1, n, 'b', 8, 1, CG_ACC_ALL));
    /* The deny block is left out when nothing jumps there (the verifier rejects dead code). */
    assert_int_equal(p1[n - 1].code, BPF_JMP | BPF_EXIT);
    assert_int_equal(p1[n - 2].imm, 1);
}

static uint32_t rng_state = 12345;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) % n;
}

static void test_bpf_program_random(void **state)
{
    static const int64_t majors[] = {-1, 1, 5}, minors[] = {-1, 3, 5};
    static const char types[] = {'a', 'c', 'b', 'c'};
    for (int iter = 0; iter < 3000; iter++) {
        struct cg_device_rule rules[10];
        size_t n = rnd(10);
        for (size_t i = 0; i < n; i++) {
            rules[i] = (struct cg_device_rule){rnd(2), types[rnd(4)], majors[rnd(3)],
                                               minors[rnd(3)], 1 + rnd(7)};
            if (rules[i].type == 'a' && rnd(3)) /* keep "a" rules rarer */
                rules[i].type = 'c';
            if (rules[i].type == 'a') {
                rules[i].major = rules[i].minor = -1;
                rules[i].access = CG_ACC_ALL;
            }
        }
        size_t len;
        _cleanup_berr_ struct berr *err = NULL;
        _cleanup_free_ struct bpf_insn *p = cg_devices_bpf_program(rules, n, &len, &err);
        assert_non_null(p);
        for (int q = 0; q < 20; q++) {
            char t = rnd(2) ? 'c' : 'b';
            int64_t ma = 1 + 4 * rnd(2) + (rnd(4) == 0), mi = 3 + 2 * rnd(2) + (rnd(4) == 0);
            unsigned acc = 1 + rnd(7);
            bool want = model_allows(rules, n, t, ma, mi, acc);
            if (prog_allows(p, len, t, ma, mi, acc) != want)
                fail_msg("iteration %d: %c %lld:%lld access %u: program %s, model %s", iter, t,
                         (long long)ma, (long long)mi, acc, want ? "denies" : "allows",
                         want ? "allows" : "denies");
        }
    }
}

static void test_device_rules(void **state)
{
    static const struct {
        const char *json, *v1;
    } cases[] = {
        {"{\"allow\":false}", "a"},
        {"{\"allow\":true,\"type\":\"a\",\"major\":1,\"access\":\"r\"}", "a"},
        {"{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"mwr\"}", "c 1:3 rwm"},
        {"{\"allow\":true,\"type\":\"c\",\"major\":136}", "c 136:* rwm"},
        {"{\"allow\":true,\"type\":\"b\",\"major\":-1,\"minor\":-1,\"access\":\"m\"}", "b *:* m"},
        {"{\"allow\":true,\"type\":\"b\",\"major\":8,\"minor\":null,\"access\":\"\"}", "b 8:* rwm"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        _cleanup_json_ json_t *j = json_of(cases[i].json);
        struct cg_device_rule r;
        _cleanup_berr_ struct berr *err = NULL;
        assert_int_equal(cg_device_rule_parse(j, "d", &r, &err), 0);
        _cleanup_free_ char *s = cg_device_rule_v1_string(&r);
        assert_string_equal(s, cases[i].v1);
    }

    /* runc's default rules follow the spec's; a spec device at a default's path replaces
     * that default. */
    _cleanup_res_ struct rt_resources *r = parse_ok("{\"devices\":[{\"allow\":false}]}");
    struct rt_device devs[] = {{.path = "/dev/null", .type = 'c', .major = 1, .minor = 3},
                               {.path = "/dev/fuse", .type = 'c', .major = 10, .minor = 229}};
    rt_resources_add_default_devices(r, devs, 2);
    assert_int_equal(r->n_devices, 1 + 10);
    bool null_rule = false, tun = false;
    for (size_t i = 1; i < r->n_devices; i++) {
        assert_true(r->devices[i].allow);
        null_rule |= r->devices[i].major == 1 && r->devices[i].minor == 3;
        tun |= r->devices[i].major == 10 && r->devices[i].minor == 200;
    }
    assert_false(null_rule);
    assert_true(tun);
    _cleanup_res_ struct rt_resources *r2 = parse_ok("{}");
    rt_resources_add_default_devices(r2, NULL, 0);
    assert_true(r2->has_devices);
    assert_int_equal(r2->n_devices, 11);
    assert_int_equal(r2->devices[0].type, 'c');
    assert_int_equal(r2->devices[0].access, CG_ACC_MKNOD);
}

/* ---- state, features, stats helpers ------------------------------------------------------- */

static void test_save_load(void **state)
{
    _cleanup_json_ json_t *in = json_of(
        "{\"path\":\"/berth/c1\",\"mode\":\"hybrid\",\"dirs\":["
        "{\"name\":\"cpu,cpuacct\",\"path\":\"/sys/fs/cgroup/cpu,cpuacct/berth/c1\",\"v2\":false,"
        "\"controllers\":[\"cpu\",\"cpuacct\"]},"
        "{\"name\":\"memory\",\"path\":\"/sys/fs/cgroup/memory/berth/c1\",\"v2\":false,"
        "\"controllers\":[\"memory\"]},"
        "{\"name\":\"unified\",\"path\":\"/sys/fs/cgroup/unified/berth/c1\",\"v2\":true,"
        "\"controllers\":[\"hugetlb\"]}]}");
    _cleanup_berr_ struct berr *err = NULL;
    struct rt_cgroup *cg = rt_cgroup_load(in, &err);
    if (cg == NULL)
        fail_msg("%s", err->msg);
    assert_int_equal(cg->mode, RT_CGROUP_HYBRID);
    assert_int_equal(cg->v2, 2);
    assert_int_equal(cg->route[CG_CPUACCT], 0);
    assert_int_equal(cg->route[CG_MEMORY], 1);
    assert_int_equal(cg->route[CG_HUGETLB], 2);
    assert_int_equal(cg->route[CG_PIDS], -1);
    _cleanup_json_ json_t *out = rt_cgroup_save(cg);
    assert_true(json_equal(in, out));
    rt_cgroup_free(cg);

    static const char *const bad[] = {
        "{}",
        "[]",
        "{\"path\":\"x\",\"mode\":\"v3\",\"dirs\":[]}",
        "{\"path\":\"x\",\"mode\":\"v1\",\"dirs\":[{\"name\":\"m\",\"path\":\"rel\","
        "\"v2\":false,\"controllers\":[]}]}",
        "{\"path\":\"x\",\"mode\":\"v1\",\"dirs\":[{\"name\":\"m\",\"path\":\"/a/../b\","
        "\"v2\":false,\"controllers\":[]}]}",
        "{\"path\":\"x\",\"mode\":\"v1\",\"dirs\":[{\"name\":\"m\",\"path\":\"/a\","
        "\"v2\":false,\"controllers\":[\"bogus\"]}]}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        _cleanup_json_ json_t *j = json_of(bad[i]);
        _cleanup_berr_ struct berr *e = NULL;
        assert_null(rt_cgroup_load(j, &e));
        assert_non_null(strstr(e->msg, "saved cgroup state"));
    }
}

static void test_features(void **state)
{
    _cleanup_json_ json_t *linux_obj = json_object();
    rt_cgroup_features(linux_obj);
    _cleanup_json_ json_t *want =
        json_of("{\"cgroup\":{\"v1\":true,\"v2\":true,\"systemd\":false,\"systemdUser\":false,"
                "\"rdma\":true}}");
    assert_true(json_equal(linux_obj, want));
}

static void test_stats_helpers(void **state)
{
    uint64_t v;
    const char *text = "usage_usec 10\nuser_usec 7\nsystem_usec 3\nmax max\n";
    assert_int_equal(cg_keyed_u64(text, "user_usec", &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(cg_keyed_u64(text, "usage", &v), -1); /* prefix of a key */
    assert_int_equal(cg_keyed_u64(text, "max", &v), 0);
    assert_true(v == UINT64_MAX);
    _cleanup_json_ json_t *raw = cg_keyed_to_json("cache 4096\nrss 8192\n");
    assert_int_equal(json_integer_value(json_object_get(raw, "rss")), 8192);
    _cleanup_json_ json_t *cpus = cg_cpu_list_to_json("0-2,5\n");
    _cleanup_json_ json_t *want = json_of("[0,1,2,5]");
    assert_true(json_equal(cpus, want));
    _cleanup_json_ json_t *o = json_object();
    cg_json_u64(o, "a", 0, true);
    cg_json_u64(o, "b", 0, false);
    cg_json_u64(o, "c", UINT64_MAX, false);
    assert_null(json_object_get(o, "a"));
    assert_int_equal(json_integer_value(json_object_get(o, "b")), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "c")), INT64_MAX);
    for (char *const *sz = cg_hugepage_sizes(); *sz; sz++) {
        size_t d = strspn(*sz, "0123456789");
        assert_true(d > 0);
        assert_true(strcmp(*sz + d, "KB") == 0 || strcmp(*sz + d, "MB") == 0 ||
                    strcmp(*sz + d, "GB") == 0);
    }
    _cleanup_json_ json_t *arr = json_array();
    cg_blkio_entry(arr, 8, 0, "Read", 512);
    _cleanup_json_ json_t *want2 = json_of("[{\"major\":8,\"op\":\"Read\",\"value\":512}]");
    assert_true(json_equal(arr, want2));
}

/* ---- real cgroups --------------------------------------------------------------------------
 *
 * These run as root on a host whose cgroups we may write, under unique names below this
 * process's own cgroups, and skip otherwise. Each test's teardown kills only the children it
 * forked and destroys what it created, even when an assertion failed midway. */

struct real {
    struct rt_cgroup *cg;
    pid_t child;
    int go[2];       /* parent -> child: proceed */
    int out[2];      /* child -> parent: results */
    char *extra_dir; /* a directory to rmdir last, if any */
    bool rm_parents; /* also rmdir the parent of each container directory */
    bool replaced_layout;
};

static struct real R;

static int real_setup(void **state)
{
    memset(&R, 0, sizeof(R));
    R.go[0] = R.go[1] = R.out[0] = R.out[1] = -1;
    return 0;
}

static int real_teardown(void **state)
{
    if (R.child > 0) {
        kill(R.child, SIGKILL);
        waitpid(R.child, NULL, 0);
    }
    if (R.cg) {
        _cleanup_berr_ struct berr *err = NULL;
        if (rt_cgroup_destroy(R.cg, &err) < 0)
            print_error("teardown: %s\n", err->msg);
        for (size_t i = 0; R.rm_parents && i < R.cg->n; i++) {
            _cleanup_free_ char *pp = xstrdup(R.cg->dirs[i].path);
            *strrchr(pp, '/') = 0;
            if (rmdir(pp) < 0 && errno != ENOENT)
                print_error("teardown: rmdir %s: %s\n", pp, strerror(errno));
        }
        rt_cgroup_free(R.cg);
    }
    if (R.extra_dir) {
        rmdir(R.extra_dir);
        free(R.extra_dir);
    }
    for (int i = 0; i < 2; i++) {
        if (R.go[i] >= 0)
            close(R.go[i]);
        if (R.out[i] >= 0)
            close(R.out[i]);
    }
    if (R.replaced_layout)
        cg_layout_replace(NULL); /* back to the host's, discovered again */
    memset(&R, 0, sizeof(R));
    return 0;
}

static char *unique(const char *what)
{
    return xasprintf("berth-test-%d-%s", (int)getpid(), what);
}

/* Create or skip: not root, or cgroups we cannot write (a container without delegation). */
static struct rt_cgroup *create_or_skip(const char *id, const char *path,
                                        const struct rt_resources *res)
{
    if (geteuid() != 0) {
        print_message("not root: skipped\n");
        skip();
    }
    _cleanup_berr_ struct berr *err = NULL;
    struct rt_cgroup *cg = rt_cgroup_create(id, path, res, &err);
    if (cg == NULL) {
        if (err->errnum == EACCES || err->errnum == EROFS || err->errnum == EPERM) {
            print_message("cgroups not writable (%s): skipped\n", err->msg);
            skip();
        }
        fail_msg("create: %s", err->msg);
    }
    return cg;
}

/* A child that waits for "go", then runs fn (if any) and writes its result byte, or else
 * sleeps until killed. */
static void fork_child(int (*fn)(void))
{
    assert_int_equal(pipe2(R.go, O_CLOEXEC), 0);
    assert_int_equal(pipe2(R.out, O_CLOEXEC), 0);
    R.child = fork();
    assert_true(R.child >= 0);
    if (R.child == 0) {
        char c;
        if (read(R.go[0], &c, 1) != 1)
            _exit(99);
        if (fn) {
            char res = (char)fn();
            if (write(R.out[1], &res, 1) != 1)
                _exit(98);
            _exit(0);
        }
        for (;;)
            pause();
    }
    close(R.go[0]);
    close(R.out[1]);
    R.go[0] = R.out[1] = -1;
}

static void child_go(void)
{
    assert_int_equal(write(R.go[1], "g", 1), 1);
}

static int child_result(void)
{
    char c;
    assert_int_equal(read(R.out[0], &c, 1), 1);
    return c;
}

static char *read_cg_file(struct cg_dir *d, const char *file)
{
    _cleanup_berr_ struct berr *err = NULL;
    char *s = cg_read(d, file, &err);
    if (s == NULL)
        fail_msg("%s", err->msg);
    s[strcspn(s, "\n")] = 0;
    return s;
}

static bool pid_listed(struct rt_cgroup *cg, pid_t pid)
{
    _cleanup_free_ pid_t *pids = NULL;
    size_t n;
    _cleanup_berr_ struct berr *err = NULL;
    if (rt_cgroup_pids(cg, &pids, &n, &err) < 0)
        fail_msg("pids: %s", err->msg);
    for (size_t i = 0; i < n; i++)
        if (pids[i] == pid)
            return true;
    return false;
}

static void assert_all_gone(struct rt_cgroup *cg)
{
    for (size_t i = 0; i < cg->n; i++)
        if (access(cg->dirs[i].path, F_OK) == 0 || errno != ENOENT)
            fail_msg("%s is still there", cg->dirs[i].path);
}

static void test_real_lifecycle(void **state)
{
    _cleanup_free_ char *name = unique("life");
    _cleanup_res_ struct rt_resources *res =
        parse_ok("{\"memory\":{\"limit\":67108864,\"swap\":100663296,\"reservation\":33554432,"
                 "\"swappiness\":10},\"pids\":{\"limit\":32},"
                 "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000}}");
    R.cg = create_or_skip(name, NULL, res);
    struct rt_cgroup *cg = R.cg;
    assert_int_equal(cg->mode, rt_cgroup_detect_mode());
    fork_child(NULL);
    _cleanup_berr_ struct berr *err = NULL;
    if (rt_cgroup_enter(cg, R.child, &err) < 0)
        fail_msg("%s", err->msg);
    child_go();

    /* The child is in the container's cgroup in every hierarchy, unified included. */
    _cleanup_free_ char *pc = xasprintf("/proc/%d/cgroup", (int)R.child);
    _cleanup_free_ char *cgs = read_file_at(AT_FDCWD, pc, 1 << 16, NULL, NULL);
    assert_non_null(cgs);
    size_t nlines = 0, matched = 0;
    for (char *l = strtok(cgs, "\n"); l; l = strtok(NULL, "\n"), nlines++)
        matched += strstr(l, name) != NULL;
    assert_int_equal(matched, cg->n);
    assert_true(pid_listed(cg, R.child));

    struct cg_dir *mem = cg_route(cg, CG_MEMORY), *pids = cg_route(cg, CG_PIDS);
    if (mem) {
        _cleanup_free_ char *v =
            read_cg_file(mem, mem->v2 ? "memory.max" : "memory.limit_in_bytes");
        assert_string_equal(v, "67108864");
        _cleanup_free_ char *low =
            read_cg_file(mem, mem->v2 ? "memory.low" : "memory.soft_limit_in_bytes");
        assert_string_equal(low, "33554432");
        if (!mem->v2) {
            _cleanup_free_ char *sw = read_cg_file(mem, "memory.swappiness");
            assert_string_equal(sw, "10");
        }
        const char *swf = mem->v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
        if (cg_has_file(mem, swf)) {
            _cleanup_free_ char *sw = read_cg_file(mem, swf);
            assert_string_equal(sw, mem->v2 ? "33554432" : "100663296");
        }
    }
    if (pids) {
        _cleanup_free_ char *v = read_cg_file(pids, "pids.max");
        assert_string_equal(v, "32");
    }
    struct cg_dir *cpu = cg_route(cg, CG_CPU);
    if (cpu && !cpu->v2) {
        _cleanup_free_ char *q = read_cg_file(cpu, "cpu.cfs_quota_us");
        _cleanup_free_ char *s = read_cg_file(cpu, "cpu.shares");
        assert_string_equal(q, "50000");
        assert_string_equal(s, "512");
    } else if (cpu) {
        _cleanup_free_ char *m = read_cg_file(cpu, "cpu.max");
        _cleanup_free_ char *w = read_cg_file(cpu, "cpu.weight");
        assert_string_equal(m, "50000 100000");
        assert_string_equal(w, "20");
    }

    /* update, as `berth-runc update --memory 128M --pids-limit -1 --cpu-period 200000` */
    char *const flags[] = {"--memory", "128M",         "--memory-swap", "256M", "--pids-limit",
                           "-1",       "--cpu-period", "200000",        NULL};
    _cleanup_res_ struct rt_resources *upd = rt_resources_from_flags(flags, &err);
    assert_non_null(upd);
    if (rt_cgroup_update(cg, upd, &err) < 0)
        fail_msg("update: %s", err->msg);
    if (mem) {
        _cleanup_free_ char *v =
            read_cg_file(mem, mem->v2 ? "memory.max" : "memory.limit_in_bytes");
        assert_string_equal(v, "134217728");
    }
    if (pids) {
        _cleanup_free_ char *v = read_cg_file(pids, "pids.max");
        assert_string_equal(v, "max");
    }
    /* Lower both again: v1 wants the limit written before memory+swap this time. */
    char *const lower[] = {"--memory", "32M", "--memory-swap", "48M", NULL};
    _cleanup_res_ struct rt_resources *low = rt_resources_from_flags(lower, &err);
    assert_non_null(low);
    if (mem && rt_cgroup_update(cg, low, &err) < 0)
        fail_msg("update: %s", err->msg);
    if (mem && !mem->v2 && cg_has_file(mem, "memory.memsw.limit_in_bytes")) {
        _cleanup_free_ char *v = read_cg_file(mem, "memory.memsw.limit_in_bytes");
        assert_string_equal(v, "50331648");
    }
    char *const raise[] = {"--memory", "128M", "--memory-swap", "256M", NULL};
    _cleanup_res_ struct rt_resources *up = rt_resources_from_flags(raise, &err);
    if (mem && rt_cgroup_update(cg, up, &err) < 0)
        fail_msg("update: %s", err->msg);
    if (cpu) {
        _cleanup_free_ char *q = read_cg_file(cpu, cpu->v2 ? "cpu.max" : "cpu.cfs_quota_us");
        assert_string_equal(q, cpu->v2 ? "50000 200000" : "50000"); /* quota kept */
    }

    /* An update the kernel refuses names the file and leaves the limits in force: a cpu
     * period below the kernel's minimum (1ms). */
    _cleanup_res_ struct rt_resources *badres = parse_ok("{\"cpu\":{\"period\":10}}");
    if (cpu) {
        assert_int_equal(rt_cgroup_update(cg, badres, &err), -1);
        assert_non_null(strstr(err->msg, cpu->v2 ? "cpu.max" : "cpu.cfs_period_us"));
        berr_freep(&err);
    }
    if (mem) {
        _cleanup_free_ char *v =
            read_cg_file(mem, mem->v2 ? "memory.max" : "memory.limit_in_bytes");
        assert_string_equal(v, "134217728");
    }

    /* freeze / thaw */
    if (cg_route(cg, CG_FREEZER)) {
        if (rt_cgroup_freeze(cg, true, &err) < 0)
            fail_msg("freeze: %s", err->msg);
        assert_true(rt_cgroup_is_frozen(cg));
        if (rt_cgroup_freeze(cg, false, &err) < 0)
            fail_msg("thaw: %s", err->msg);
        assert_false(rt_cgroup_is_frozen(cg));
    }

    /* stats: runc's shape */
    _cleanup_json_ json_t *st = rt_cgroup_stats(cg, &err);
    if (st == NULL)
        fail_msg("stats: %s", err->msg);
    assert_non_null(json_object_get(json_object_get(st, "cpu"), "usage"));
    assert_non_null(json_object_get(json_object_get(st, "cpu"), "throttling"));
    assert_non_null(json_object_get(st, "memory"));
    assert_non_null(json_object_get(st, "pids"));
    assert_non_null(json_object_get(st, "blkio"));
    assert_non_null(json_object_get(st, "hugetlb"));
    if (mem) {
        json_t *usage = json_object_get(json_object_get(st, "memory"), "usage");
        assert_int_equal(json_integer_value(json_object_get(usage, "limit")), 134217728);
        assert_non_null(json_object_get(json_object_get(st, "memory"), "raw"));
        assert_non_null(json_object_get(usage, "failcnt"));
    }
    if (pids) {
        json_t *p = json_object_get(st, "pids");
        assert_int_equal(json_integer_value(json_object_get(p, "current")), 1);
        assert_null(json_object_get(p, "limit")); /* "max" reads as 0: left out */
    }
    if (cg_route(cg, CG_CPUACCT)) {
        json_t *u = json_object_get(json_object_get(st, "cpu"), "usage");
        assert_non_null(json_object_get(u, "kernel"));
        assert_non_null(json_object_get(u, "user"));
    }

    if (getenv("BERTH_TEST_VERBOSE")) {
        char *dump = json_dumps(st, JSON_INDENT(1));
        print_message("stats: %s\n", dump);
        free(dump);
    }

    /* save/load gives an equivalent handle */
    _cleanup_json_ json_t *saved = rt_cgroup_save(cg);
    struct rt_cgroup *again = rt_cgroup_load(saved, &err);
    assert_non_null(again);
    assert_true(pid_listed(again, R.child));
    rt_cgroup_free(again);

    /* kill --all, then destroy: nothing left */
    if (rt_cgroup_kill_all(cg, SIGKILL, &err) < 0)
        fail_msg("kill: %s", err->msg);
    int status;
    assert_int_equal(waitpid(R.child, &status, 0), R.child);
    R.child = 0;
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* cgroups the container made below its own go too, deepest first */
    for (size_t i = 0; i < cg->n; i++) {
        _cleanup_free_ char *n1 = xasprintf("%s/sub", cg->dirs[i].path);
        _cleanup_free_ char *n2 = xasprintf("%s/sub/deeper", cg->dirs[i].path);
        _cleanup_free_ char *n3 = xasprintf("%s/other", cg->dirs[i].path);
        assert_int_equal(mkdir(n1, 0755), 0);
        assert_int_equal(mkdir(n2, 0755), 0);
        assert_int_equal(mkdir(n3, 0755), 0);
    }
    if (rt_cgroup_destroy(cg, &err) < 0)
        fail_msg("destroy: %s", err->msg);
    assert_all_gone(cg);
    /* Destroying again is fine. */
    assert_int_equal(rt_cgroup_destroy(cg, &err), 0);
}

static void test_real_hugetlb(void **state)
{
    if (geteuid() != 0)
        skip();
    _cleanup_free_ char *name = unique("huge");
    _cleanup_res_ struct rt_resources *res =
        parse_ok("{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}]}");
    _cleanup_berr_ struct berr *err = NULL;
    struct cg_layout *l = cg_layout_get(&err);
    assert_non_null(l);
    if (l->route[CG_HUGETLB] < 0) {
        /* Not available here (it can also be bound to a v1 hierarchy mounted elsewhere):
         * the create fails naming the field, and leaves nothing behind. */
        assert_null(rt_cgroup_create(name, NULL, res, &err));
        assert_non_null(strstr(err->msg, "linux.resources.hugepageLimits"));
        if (!l->self_known)
            assert_int_equal(cg_layout_set_self(l, NULL, NULL), 0);
        for (size_t i = 0; i < l->n; i++) {
            _cleanup_free_ char *d = cg_hier_dir(&l->h[i], name, true);
            if (access(d, F_OK) == 0)
                fail_msg("%s left behind", d);
        }
        return;
    }
    bool has_2mb = false;
    for (char *const *sz = cg_hugepage_sizes(); *sz; sz++)
        has_2mb |= strcmp(*sz, "2MB") == 0;
    if (!has_2mb)
        skip();
    R.cg = create_or_skip(name, NULL, res);
    struct cg_dir *d = cg_route(R.cg, CG_HUGETLB);
    _cleanup_free_ char *v =
        read_cg_file(d, d->v2 ? "hugetlb.2MB.max" : "hugetlb.2MB.limit_in_bytes");
    assert_string_equal(v, "4194304");
    _cleanup_json_ json_t *st = rt_cgroup_stats(R.cg, &err);
    assert_non_null(json_object_get(json_object_get(st, "hugetlb"), "2MB"));
}

static void test_real_blkio(void **state)
{
    /* A real disk's numbers: throttling needs a whole disk, not a partition. */
    unsigned maj = 0, min = 0;
    bool found = false;
    static const char *const disks[] = {"vda", "sda", "nvme0n1", "xvda", "loop0"};
    for (size_t i = 0; i < ARRAY_SIZE(disks) && !found; i++) {
        _cleanup_free_ char *f = xasprintf("/sys/block/%s/dev", disks[i]);
        _cleanup_free_ char *v = read_file_at(AT_FDCWD, f, 64, NULL, NULL);
        found = v && sscanf(v, "%u:%u", &maj, &min) == 2;
    }
    if (!found)
        skip();
    _cleanup_free_ char *json =
        xasprintf("{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":%u,\"minor\":%u,"
                  "\"rate\":1048576}],\"throttleWriteIOPSDevice\":[{\"major\":%u,\"minor\":%u,"
                  "\"rate\":300}]}}",
                  maj, min, maj, min);
    _cleanup_res_ struct rt_resources *res = parse_ok(json);
    _cleanup_free_ char *name = unique("blkio");
    R.cg = create_or_skip(name, NULL, res);
    struct cg_dir *d = cg_route(R.cg, CG_BLKIO);
    if (d == NULL)
        skip();
    char want[64];
    if (d->v2) {
        _cleanup_free_ char *v = read_cg_file(d, "io.max");
        snprintf(want, sizeof(want), "%u:%u rbps=1048576 wbps=max riops=max wiops=300", maj, min);
        assert_string_equal(v, want);
    } else {
        _cleanup_free_ char *r = read_cg_file(d, "blkio.throttle.read_bps_device");
        _cleanup_free_ char *w = read_cg_file(d, "blkio.throttle.write_iops_device");
        snprintf(want, sizeof(want), "%u:%u 1048576", maj, min);
        assert_string_equal(r, want);
        snprintf(want, sizeof(want), "%u:%u 300", maj, min);
        assert_string_equal(w, want);
    }
    /* rate 0 removes the limit */
    _cleanup_free_ char *json0 = xasprintf(
        "{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":%u,\"minor\":%u,\"rate\":0}]}}", maj,
        min);
    _cleanup_res_ struct rt_resources *res0 = parse_ok(json0);
    _cleanup_berr_ struct berr *err = NULL;
    if (rt_cgroup_update(R.cg, res0, &err) < 0)
        fail_msg("%s", err->msg);
    if (!d->v2) {
        _cleanup_free_ char *r = read_cg_file(d, "blkio.throttle.read_bps_device");
        assert_string_equal(r, "");
    }
}

static void test_real_destroy_kills_frozen(void **state)
{
    _cleanup_free_ char *name = unique("frozen");
    R.cg = create_or_skip(name, NULL, NULL);
    if (cg_route(R.cg, CG_FREEZER) == NULL)
        skip();
    fork_child(NULL);
    _cleanup_berr_ struct berr *err = NULL;
    assert_int_equal(rt_cgroup_enter(R.cg, R.child, &err), 0);
    child_go();
    if (rt_cgroup_freeze(R.cg, true, &err) < 0)
        fail_msg("freeze: %s", err->msg);
    /* A non-fatal signal to all: delivered without thawing the container. */
    assert_int_equal(rt_cgroup_kill_all(R.cg, SIGCONT, &err), 0);
    assert_true(rt_cgroup_is_frozen(R.cg));
    if (rt_cgroup_destroy(R.cg, &err) < 0)
        fail_msg("destroy: %s", err->msg);
    int status;
    assert_int_equal(waitpid(R.child, &status, 0), R.child);
    R.child = 0;
    assert_true(WIFSIGNALED(status));
    assert_all_gone(R.cg);
}

static void test_real_rollback(void **state)
{
    if (geteuid() != 0)
        skip();
    _cleanup_free_ char *name = unique("rollback");
    _cleanup_free_ char *path = xasprintf("%s/nested/leaf", name);
    /* pids.max cannot take a value the parser let through only if pids is on a hierarchy
     * that refuses it; use a cpuset that does not exist instead, refused by the kernel. */
    _cleanup_res_ struct rt_resources *res = parse_ok("{\"cpu\":{\"cpus\":\"4096\"}}");
    _cleanup_berr_ struct berr *err = NULL;
    struct cg_layout *l = cg_layout_get(&err);
    assert_non_null(l);
    if (l->route[CG_CPUSET] < 0)
        skip();
    struct rt_cgroup *cg = rt_cgroup_create(name, path, res, &err);
    if (cg) {
        R.cg = cg;
        fail_msg("cpuset.cpus 4096 accepted");
    }
    assert_non_null(strstr(err->msg, "cpuset.cpus"));
    /* Nothing of name/nested/leaf remains in any hierarchy. */
    if (!l->self_known)
        assert_int_equal(cg_layout_set_self(l, NULL, NULL), 0);
    for (size_t i = 0; i < l->n; i++) {
        _cleanup_free_ char *d = cg_hier_dir(&l->h[i], name, true);
        if (access(d, F_OK) == 0)
            fail_msg("%s left behind", d);
    }
}

static void test_real_absolute(void **state)
{
    _cleanup_free_ char *name = unique("abs");
    _cleanup_free_ char *path = xasprintf("/%s/c1", name);
    R.cg = create_or_skip("c1", path, NULL);
    for (size_t i = 0; i < R.cg->n; i++) {
        const char *p = R.cg->dirs[i].path;
        assert_non_null(strstr(p, path));
        assert_int_equal(access(p, F_OK), 0);
    }
    /* destroy removes the container's directory; the parent this test made is the test's
     * to remove (runc leaves parents too), in teardown. */
    R.rm_parents = true;
    _cleanup_berr_ struct berr *err = NULL;
    assert_int_equal(rt_cgroup_destroy(R.cg, &err), 0);
    assert_all_gone(R.cg);
}

static int try_open(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return 1;
    }
    return errno == EPERM ? 0 : 2;
}

/* /dev/null rw allowed, /dev/zero read-only, /dev/full denied. */
static int device_probe(void)
{
    int bits = 0;
    bits |= try_open("/dev/null", O_RDWR) == 1 ? 1 : 0;
    bits |= try_open("/dev/zero", O_RDONLY) == 1 ? 2 : 0;
    bits |= try_open("/dev/zero", O_WRONLY) == 0 ? 4 : 0;
    bits |= try_open("/dev/full", O_RDONLY) == 0 ? 8 : 0;
    return bits;
}

static int device_probe_after_update(void)
{
    /* after the update: /dev/full readable, /dev/null denied */
    int bits = 0;
    bits |= try_open("/dev/full", O_RDONLY) == 1 ? 1 : 0;
    bits |= try_open("/dev/null", O_RDONLY) == 0 ? 2 : 0;
    return bits;
}

static const char *const devices_json =
    "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
    "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"},"
    "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"rw\"},"
    "{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"w\"}]}";

static void run_device_checks(void)
{
    _cleanup_berr_ struct berr *err = NULL;
    fork_child(device_probe);
    if (rt_cgroup_enter(R.cg, R.child, &err) < 0)
        fail_msg("%s", err->msg);
    child_go();
    int got = child_result();
    waitpid(R.child, NULL, 0);
    R.child = 0;
    assert_int_equal(got, 15);
    close(R.go[1]);
    close(R.out[0]);
    R.go[1] = R.out[0] = -1;

    _cleanup_res_ struct rt_resources *upd =
        parse_ok("{\"devices\":[{\"allow\":false},"
                 "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":7,\"access\":\"r\"}]}");
    if (rt_cgroup_update(R.cg, upd, &err) < 0)
        fail_msg("update devices: %s", err->msg);
    fork_child(device_probe_after_update);
    assert_int_equal(rt_cgroup_enter(R.cg, R.child, &err), 0);
    child_go();
    got = child_result();
    waitpid(R.child, NULL, 0);
    R.child = 0;
    assert_int_equal(got, 3);
}

static void test_real_devices(void **state)
{
    _cleanup_free_ char *name = unique("dev");
    _cleanup_res_ struct rt_resources *res = parse_ok(devices_json);
    R.cg = create_or_skip(name, NULL, res);
    if (cg_route(R.cg, CG_DEVICES) == NULL)
        skip();
    run_device_checks();
    struct cg_dir *d = cg_route(R.cg, CG_DEVICES);
    if (d->v2) {
        uint32_t ids[8], n = 8;
        assert_int_equal(cg_devices_bpf_query(cg_dir_fd(d, NULL), ids, &n, NULL), 0);
        assert_int_equal(n, 1); /* the update replaced the program */
    } else {
        _cleanup_free_ char *list = read_cg_file(d, "devices.list");
        assert_string_equal(list, "c 1:7 r");
    }
}

/* The host's cgroup2 mount, if any (on a hybrid host, /sys/fs/cgroup/unified). */
static bool use_v2_only_layout(void)
{
    _cleanup_berr_ struct berr *err = NULL;
    struct cg_layout *host = cg_layout_get(&err);
    if (host == NULL || host->v2 < 0)
        return false;
    _cleanup_free_ char *mi = xasprintf("1 0 0:1 %s %s rw - cgroup2 cgroup2 rw\n",
                                        host->h[host->v2].root, host->h[host->v2].mnt);
    _cleanup_free_ char *self = NULL;
    if (host->mode == RT_CGROUP_V2) {
        if (!host->self_known && cg_layout_set_self(host, NULL, &err) < 0)
            return false;
        self = xasprintf("0::%s\n", host->h[host->v2].self);
    }
    struct cg_layout *l = cg_layout_from_text(mi, self ? self : "0::/\n", &err);
    if (l == NULL)
        return false;
    cg_layout_replace(l);
    R.replaced_layout = true;
    return true;
}

/* On a hybrid host, the unified hierarchy alone behaves as a pure v2 host would for what it
 * has: the eBPF device filter, cgroup.freeze, cgroup.kill, pids, stats. */
static void test_real_v2_devices_freeze_kill(void **state)
{
    if (geteuid() != 0)
        skip();
    if (!use_v2_only_layout()) {
        print_message("no cgroup2 hierarchy: skipped\n");
        skip();
    }
    _cleanup_free_ char *name = unique("v2");
    _cleanup_res_ struct rt_resources *res = parse_ok(devices_json);
    R.cg = create_or_skip(name, NULL, res);
    assert_int_equal(R.cg->mode, RT_CGROUP_V2);
    assert_true(cg_route(R.cg, CG_DEVICES)->v2);
    run_device_checks();

    fork_child(NULL);
    _cleanup_berr_ struct berr *err = NULL;
    assert_int_equal(rt_cgroup_enter(R.cg, R.child, &err), 0);
    child_go();
    assert_true(pid_listed(R.cg, R.child));
    if (rt_cgroup_freeze(R.cg, true, &err) < 0)
        fail_msg("freeze: %s", err->msg);
    assert_true(rt_cgroup_is_frozen(R.cg));
    if (rt_cgroup_freeze(R.cg, false, &err) < 0)
        fail_msg("thaw: %s", err->msg);
    assert_false(rt_cgroup_is_frozen(R.cg));
    _cleanup_json_ json_t *st = rt_cgroup_stats(R.cg, &err);
    assert_non_null(st);
    assert_true(json_integer_value(json_object_get(
                    json_object_get(json_object_get(st, "cpu"), "usage"), "total")) >= 0);
    /* cgroup.kill */
    assert_int_equal(rt_cgroup_kill_all(R.cg, SIGKILL, &err), 0);
    int status;
    assert_int_equal(waitpid(R.child, &status, 0), R.child);
    R.child = 0;
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_int_equal(rt_cgroup_destroy(R.cg, &err), 0);
    assert_all_gone(R.cg);
}

/* The container's view of a v2 hierarchy: with a cgroup namespace a fresh cgroup2 mount,
 * without one a bind mount of its directory; either way its root is the container's cgroup. */
static void test_real_v2_mount(void **state)
{
    if (geteuid() != 0)
        skip();
    if (!use_v2_only_layout())
        skip();
    _cleanup_free_ char *name = unique("v2mnt");
    R.cg = create_or_skip(name, NULL, NULL);
    char target[] = "/tmp/berth-cg-mnt-XXXXXX";
    assert_non_null(mkdtemp(target));
    R.extra_dir = xstrdup(target);
    for (int cgroupns = 0; cgroupns <= 1; cgroupns++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            raise(SIGSTOP); /* until the parent has moved us into the cgroup */
            int flags = CLONE_NEWNS | (cgroupns ? CLONE_NEWCGROUP : 0);
            if (unshare(flags) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                _exit(2);
            struct berr *err = NULL;
            if (rt_cgroup_mount(R.cg, target, MS_NOSUID | MS_NODEV | MS_NOEXEC, cgroupns, &err) <
                0) {
                fprintf(stderr, "%s\n", err->msg);
                _exit(3);
            }
            _cleanup_free_ char *procs_file = xasprintf("%s/cgroup.procs", target);
            _cleanup_free_ char *procs = read_file_at(AT_FDCWD, procs_file, 4096, NULL, NULL);
            char me[32];
            snprintf(me, sizeof(me), "%d\n", (int)getpid());
            if (procs == NULL || strstr(procs, me) == NULL)
                _exit(4);
            /* cgroup.freeze exists in every cgroup but the root: this is not the root. */
            _cleanup_free_ char *fz = xasprintf("%s/cgroup.freeze", target);
            if (access(fz, F_OK) < 0)
                _exit(5);
            if (cgroupns) {
                _cleanup_free_ char *self =
                    read_file_at(AT_FDCWD, "/proc/self/cgroup", 4096, NULL, NULL);
                if (self == NULL || strstr(self, "0::/\n") == NULL)
                    _exit(6);
            }
            _exit(0);
        }
        R.child = pid; /* stopped until we continue it: teardown kills it if we fail */
        int status;
        assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
        _cleanup_berr_ struct berr *err = NULL;
        assert_int_equal(rt_cgroup_enter(R.cg, pid, &err), 0);
        kill(pid, SIGCONT);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        R.child = 0;
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) != 0)
            fail_msg("cgroupns=%d: child failed with %d", cgroupns, WEXITSTATUS(status));
    }
}

static void test_real_bpf_many_rules(void **state)
{
    if (geteuid() != 0)
        skip();
    /* The verifier must accept the largest program the parser lets through. */
    struct cg_device_rule *rules = xcalloc(CG_MAX_LIST + 11, sizeof(*rules));
    for (size_t i = 0; i < CG_MAX_LIST + 11; i++)
        rules[i] = (struct cg_device_rule){i % 3 != 0, i % 2 ? 'c' : 'b', (int64_t)(i % 50),
                                           (int64_t)i, 1 + (unsigned)(i % 7)};
    size_t n;
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_free_ struct bpf_insn *p = cg_devices_bpf_program(rules, CG_MAX_LIST + 11, &n, &err);
    free(rules);
    assert_non_null(p);
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uintptr_t)p;
    attr.insn_cnt = (uint32_t)n;
    attr.license = (uintptr_t) "Apache";
    int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
    if (fd < 0 && (errno == EPERM || errno == ENOSYS))
        skip();
    if (fd < 0)
        fail_msg("load %zu instructions: %s", n, strerror(errno));
    close(fd);
}

static void test_real_mount(void **state)
{
    _cleanup_free_ char *name = unique("mnt");
    _cleanup_res_ struct rt_resources *res = parse_ok("{\"pids\":{\"limit\":7}}");
    R.cg = create_or_skip(name, NULL, res);
    char target[] = "/tmp/berth-cg-mnt-XXXXXX";
    assert_non_null(mkdtemp(target));
    R.extra_dir = xstrdup(target);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A private mount namespace: the mounts vanish with this child. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            _exit(2);
        struct berr *err = NULL;
        if (rt_cgroup_mount(R.cg, target, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, false,
                            &err) < 0) {
            fprintf(stderr, "%s\n", err->msg);
            _exit(3);
        }
        struct cg_dir *pd = cg_route(R.cg, CG_PIDS);
        if (pd) {
            _cleanup_free_ char *f =
                xasprintf("%s/%s/pids.max", target, R.cg->mode == RT_CGROUP_V2 ? "" : pd->name);
            _cleanup_free_ char *v = read_file_at(AT_FDCWD, f, 64, NULL, NULL);
            if (v == NULL || strcmp(v, "7\n") != 0)
                _exit(4);
            /* read-only: the container cannot raise its own limits */
            if (write_file_at(AT_FDCWD, f, "8", 1, 0644, NULL) == 0 || errno != EROFS)
                _exit(5);
        }
        if (R.cg->mode != RT_CGROUP_V2) {
            for (size_t i = 0; i < R.cg->n; i++) {
                _cleanup_free_ char *f =
                    xasprintf("%s/%s/cgroup.procs", target, R.cg->dirs[i].name);
                if (access(f, F_OK) < 0)
                    _exit(6);
            }
            _cleanup_free_ char *f = xasprintf("%s/newdir", target);
            if (mkdir(f, 0755) == 0 || errno != EROFS)
                _exit(7);
        }
        _exit(0);
    }
    R.child = pid;
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    R.child = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_real_oom(void **state)
{
    _cleanup_free_ char *name = unique("oom");
    _cleanup_res_ struct rt_resources *res =
        parse_ok("{\"memory\":{\"limit\":16777216,\"swap\":16777216}}");
    R.cg = create_or_skip(name, NULL, res);
    if (cg_route(R.cg, CG_MEMORY) == NULL)
        skip();
    assert_false(rt_cgroup_oom_killed(R.cg));
    R.child = fork();
    assert_true(R.child >= 0);
    if (R.child == 0) {
        raise(SIGSTOP);
        for (size_t total = 0; total < (256u << 20); total += 1 << 20) {
            char *p = malloc(1 << 20);
            if (p == NULL)
                _exit(1);
            memset(p, 1, 1 << 20);
        }
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(R.child, &status, WUNTRACED), R.child);
    _cleanup_berr_ struct berr *err = NULL;
    assert_int_equal(rt_cgroup_enter(R.cg, R.child, &err), 0);
    kill(R.child, SIGCONT);
    assert_int_equal(waitpid(R.child, &status, 0), R.child);
    R.child = 0;
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_true(rt_cgroup_oom_killed(R.cg));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_null),
        cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_parse_unset_and_unlimited),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_where),
        cmocka_unit_test(test_parse_list_cap),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_clean_path),
        cmocka_unit_test(test_hier_dir),
        cmocka_unit_test(test_layout_hybrid),
        cmocka_unit_test(test_layout_v2_and_v1),
        cmocka_unit_test(test_bpf_program_fixed),
        cmocka_unit_test(test_bpf_program_random),
        cmocka_unit_test(test_device_rules),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_stats_helpers),
        cmocka_unit_test_setup_teardown(test_real_lifecycle, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_real_hugetlb, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_real_blkio, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_real_destroy_kills_frozen, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_real_rollback, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_real_absolute, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_real_devices, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_real_v2_devices_freeze_kill, real_setup,
                                        real_teardown),
        cmocka_unit_test_setup_teardown(test_real_v2_mount, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_real_bpf_many_rules, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_real_mount, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_real_oom, real_setup, real_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
