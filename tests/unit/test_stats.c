/* Unit tests for the parsers behind top and stats: where a container's cgroups are on v1, v2
 * and hybrid hosts (from /proc/<pid>/cgroup and mountinfo), /proc/stat, meminfo, keyed cgroup
 * files, blkio (v1) and io.stat (v2), net/dev, and ps output with Docker's ps_args rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/cleanup.h"
#include "engine/stats.h"

#define ID "4ce0f7a5d4fbb1f8485438f4e232715c95a8efbb4df179e0201e1ff8f2224eab"

static const char hybrid_mountinfo[] =
    "21 26 0:20 / /proc rw,relatime - proc proc rw\n"
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char hybrid_proc[] = "12:hugetlb:/\n"
                                  "9:name=systemd:/berth/" ID "\n"
                                  "8:pids:/berth/" ID "\n"
                                  "7:blkio:/berth/" ID "\n"
                                  "4:memory:/berth/" ID "\n"
                                  "2:cpu,cpuacct:/berth/" ID "\n"
                                  "0::/berth/" ID "\n";

static void test_cgroup_dirs_hybrid(void **state)
{
    (void)state;
    struct eng_stats_cgroups cg;
    eng_stats_cgroups_init(&cg);
    assert_int_equal(eng_stats_cgroup_dirs(hybrid_proc, hybrid_mountinfo, &cg, NULL), 0);
    assert_string_equal(cg.v1[ENG_STATS_CPU], "/sys/fs/cgroup/cpu,cpuacct/berth/" ID);
    assert_string_equal(cg.v1[ENG_STATS_CPUACCT], "/sys/fs/cgroup/cpu,cpuacct/berth/" ID);
    assert_string_equal(cg.v1[ENG_STATS_MEMORY], "/sys/fs/cgroup/memory/berth/" ID);
    assert_string_equal(cg.v1[ENG_STATS_PIDS], "/sys/fs/cgroup/pids/berth/" ID);
    assert_string_equal(cg.v1[ENG_STATS_BLKIO], "/sys/fs/cgroup/blkio/berth/" ID);
    assert_string_equal(cg.v2, "/sys/fs/cgroup/unified/berth/" ID);
    eng_stats_cgroups_free(&cg);
}

static void test_cgroup_dirs_v2(void **state)
{
    (void)state;
    /* a mount root below / (the daemon itself in a cgroup namespace) and an escaped blank */
    const char mi[] = "25 1 0:22 / / rw - ext4 /dev/sda rw\n"
                      "30 25 0:27 /outer /sys/fs/cgroup\\040x rw,nosuid shared:4 - cgroup2 "
                      "cgroup2 rw,nsdelegate\n";
    struct eng_stats_cgroups cg;
    eng_stats_cgroups_init(&cg);
    assert_int_equal(eng_stats_cgroup_dirs("0::/outer/berth/" ID "\n", mi, &cg, NULL), 0);
    assert_string_equal(cg.v2, "/sys/fs/cgroup x/berth/" ID);
    for (int i = 0; i < ENG_STATS_NCTRL; i++)
        assert_null(cg.v1[i]);
    eng_stats_cgroups_free(&cg);

    /* a path outside the mount's root is not reachable through it */
    eng_stats_cgroups_init(&cg);
    struct berr *err = NULL;
    assert_int_equal(eng_stats_cgroup_dirs("0::/elsewhere/x\n", mi, &cg, &err), -1);
    assert_non_null(strstr(err->msg, "mounted"));
    berr_free(err);
    eng_stats_cgroups_free(&cg);
}

static void test_cgroup_dirs_v1_only(void **state)
{
    (void)state;
    const char mi[] = "34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
    struct eng_stats_cgroups cg;
    eng_stats_cgroups_init(&cg);
    assert_int_equal(eng_stats_cgroup_dirs("4:memory:/\n3:pids:/a\n", mi, &cg, NULL), 0);
    assert_string_equal(cg.v1[ENG_STATS_MEMORY], "/sys/fs/cgroup/memory");
    assert_null(cg.v1[ENG_STATS_PIDS]);
    assert_null(cg.v2);
    eng_stats_cgroups_free(&cg);
}

static void test_proc_stat(void **state)
{
    (void)state;
    const char text[] = "cpu  983693 0 914606 2434311 29946 0 15038 7 0 0\n"
                        "cpu0 473835 0 439226 1263061 5797 0 6594 0 0 0\n"
                        "cpu1 509858 0 475380 1171249 24148 0 8443 0 0 0\n"
                        "intr 1 2 3\n"
                        "cpu9 1 1 1 1 1 1 1\n";
    uint64_t ns;
    uint32_t n;
    assert_int_equal(eng_stats_parse_proc_stat(text, &ns, &n), 0);
    /* steal (the 8th value) is not counted, as in Docker */
    assert_int_equal(ns, (983693ULL + 914606 + 2434311 + 29946 + 15038) * 10000000ULL);
    assert_int_equal(n, 2);
    assert_int_equal(eng_stats_parse_proc_stat("intr 1\n", &ns, &n), -1);
    assert_int_equal(eng_stats_parse_proc_stat("cpu  1 2\n", &ns, &n), -1);
}

static void test_meminfo(void **state)
{
    (void)state;
    assert_int_equal(eng_stats_parse_meminfo_total("MemFree: 5 kB\nMemTotal:   16318256 kB\n"),
                     16318256ULL * 1024);
    assert_int_equal(eng_stats_parse_meminfo_total("MemFree: 5 kB\n"), 0);
}

static void test_keyed_and_values(void **state)
{
    (void)state;
    _cleanup_json_ json_t *o =
        eng_stats_parse_keyed("cache 4096\nrss 53248\nbogus\nneg -1\n"
                              "hierarchical_memory_limit 9223372036854771712\n"
                              "huge 18446744073709551615\n");
    assert_int_equal(json_integer_value(json_object_get(o, "cache")), 4096);
    assert_int_equal(json_integer_value(json_object_get(o, "rss")), 53248);
    assert_int_equal(json_integer_value(json_object_get(o, "hierarchical_memory_limit")),
                     9223372036854771712LL);
    assert_int_equal(json_integer_value(json_object_get(o, "huge")), INT64_MAX);
    assert_null(json_object_get(o, "bogus"));
    assert_null(json_object_get(o, "neg"));

    uint64_t v;
    assert_true(eng_stats_parse_value("max\n", &v));
    assert_true(v == UINT64_MAX);
    assert_true(eng_stats_parse_value("67108864\n", &v));
    assert_int_equal(v, 67108864);
    assert_false(eng_stats_parse_value("12x\n", &v));
    assert_false(eng_stats_parse_value(NULL, &v));

    _cleanup_json_ json_t *a = eng_stats_parse_numbers("8739867 0 12 \n");
    assert_int_equal(json_array_size(a), 3);
    assert_int_equal(json_integer_value(json_array_get(a, 0)), 8739867);
    assert_int_equal(json_integer_value(json_array_get(a, 2)), 12);
}

static void test_blkio_v1(void **state)
{
    (void)state;
    _cleanup_json_ json_t *a = eng_stats_parse_blkio_v1("8:0 Read 4096\n8:0 Write 8192\n"
                                                        "8:0 Total 12288\n253:1 77\nTotal 12288\n");
    assert_int_equal(json_array_size(a), 4);
    json_t *w = json_array_get(a, 1);
    assert_int_equal(json_integer_value(json_object_get(w, "major")), 8);
    assert_int_equal(json_integer_value(json_object_get(w, "minor")), 0);
    assert_string_equal(json_string_value(json_object_get(w, "op")), "Write");
    assert_int_equal(json_integer_value(json_object_get(w, "value")), 8192);
    json_t *t = json_array_get(a, 3);
    assert_int_equal(json_integer_value(json_object_get(t, "major")), 253);
    assert_string_equal(json_string_value(json_object_get(t, "op")), "");
    assert_int_equal(json_integer_value(json_object_get(t, "value")), 77);
    _cleanup_json_ json_t *empty = eng_stats_parse_blkio_v1("Total 0\n");
    assert_int_equal(json_array_size(empty), 0);
}

static void test_io_stat(void **state)
{
    (void)state;
    _cleanup_json_ json_t *a = eng_stats_parse_io_stat(
        "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n"
        "253:0 wbytes=5\n");
    assert_int_equal(json_array_size(a), 4);
    json_t *r = json_array_get(a, 0), *w = json_array_get(a, 1), *w2 = json_array_get(a, 3);
    assert_int_equal(json_integer_value(json_object_get(r, "minor")), 16);
    assert_string_equal(json_string_value(json_object_get(r, "op")), "read");
    assert_int_equal(json_integer_value(json_object_get(r, "value")), 1459200);
    assert_string_equal(json_string_value(json_object_get(w, "op")), "write");
    assert_int_equal(json_integer_value(json_object_get(w, "value")), 314773504);
    assert_int_equal(json_integer_value(json_object_get(w2, "major")), 253);
    assert_int_equal(json_integer_value(json_object_get(w2, "value")), 5);
    assert_null(eng_stats_parse_io_stat(""));
}

static void test_net_dev(void **state)
{
    (void)state;
    const char text[] =
        "Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
        "errs drop fifo colls carrier compressed\n"
        "    lo: 2174 10    0    0    0     0          0         0 2174 10    0    0    0     0 "
        "      0          0\n"
        "  eth0: 88992589    3009    1    2    0     0          0         0   169450    2294    "
        "3    4    0     0       0          0\n"
        "veth1:1426 19 0 0 0 0 0 0 22454 267 0 0 0 0 0 0\n";
    _cleanup_json_ json_t *o = eng_stats_parse_net_dev(text);
    assert_int_equal(json_object_size(o), 2);
    assert_null(json_object_get(o, "lo"));
    json_t *e = json_object_get(o, "eth0");
    assert_int_equal(json_integer_value(json_object_get(e, "rx_bytes")), 88992589);
    assert_int_equal(json_integer_value(json_object_get(e, "rx_packets")), 3009);
    assert_int_equal(json_integer_value(json_object_get(e, "rx_errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(e, "rx_dropped")), 2);
    assert_int_equal(json_integer_value(json_object_get(e, "tx_bytes")), 169450);
    assert_int_equal(json_integer_value(json_object_get(e, "tx_packets")), 2294);
    assert_int_equal(json_integer_value(json_object_get(e, "tx_errors")), 3);
    assert_int_equal(json_integer_value(json_object_get(e, "tx_dropped")), 4);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "veth1"), "tx_bytes")),
                     22454);
    _cleanup_json_ json_t *only_lo =
        eng_stats_parse_net_dev("h|\nh|\n lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n");
    assert_int_equal(json_object_size(only_lo), 0);
}

static void test_ps_args(void **state)
{
    (void)state;
    assert_int_equal(eng_top_check_ps_args("-ef", NULL), 0);
    assert_int_equal(eng_top_check_ps_args("-o pid=PID,comm", NULL), 0);
    assert_int_equal(eng_top_check_ps_args("-o comm=CMD", NULL), 0);
    struct berr *err = NULL;
    assert_int_equal(eng_top_check_ps_args("-o comm=PID", &err), -1);
    assert_string_equal(err->msg, "specifying \"comm=PID\" is not allowed");
    berr_free(err);
    err = NULL;
    assert_int_equal(eng_top_check_ps_args("aux -o ppid= PIDX", &err), -1);
    assert_string_equal(err->msg, "specifying \"ppid=PIDX\" is not allowed");
    berr_free(err);
}

static void test_parse_ps(void **state)
{
    (void)state;
    const char out[] = "UID   PID  PPID  C STIME TTY TIME     CMD\n"
                       "root  1    0     0 10:00 ?   00:00:01 /sbin/init splash\n"
                       "root  42   1     0 10:00 ?   00:00:00 sleep 100\n"
                       "root  -    -     0 10:00 ?   00:00:00 -\n"
                       "root  43   1     0 10:00 ?   00:00:00 top\n"
                       "root  -    -     0 10:00 ?   00:00:00 -\n"
                       "\n";
    pid_t pids[] = {42, 7};
    _cleanup_json_ json_t *o = eng_top_parse_ps(out, pids, 2, NULL);
    assert_non_null(o);
    json_t *titles = json_object_get(o, "Titles"), *procs = json_object_get(o, "Processes");
    assert_int_equal(json_array_size(titles), 8);
    assert_string_equal(json_string_value(json_array_get(titles, 7)), "CMD");
    assert_int_equal(json_array_size(procs), 2);
    json_t *row = json_array_get(procs, 0);
    assert_int_equal(json_array_size(row), 8);
    assert_string_equal(json_string_value(json_array_get(row, 1)), "42");
    assert_string_equal(json_string_value(json_array_get(row, 7)), "sleep 100");
    assert_string_equal(json_string_value(json_array_get(json_array_get(procs, 1), 1)), "-");

    struct berr *err = NULL;
    assert_null(eng_top_parse_ps("COMMAND\nsleep\n", pids, 2, &err));
    assert_non_null(strstr(err->msg, "Couldn't find PID field in ps output"));
    berr_free(err);
    err = NULL;
    assert_null(eng_top_parse_ps("PID CMD\nabc x\n", pids, 2, &err));
    assert_non_null(strstr(err->msg, "Unexpected pid 'abc'"));
    berr_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cgroup_dirs_hybrid),
        cmocka_unit_test(test_cgroup_dirs_v2),
        cmocka_unit_test(test_cgroup_dirs_v1_only),
        cmocka_unit_test(test_proc_stat),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_keyed_and_values),
        cmocka_unit_test(test_blkio_v1),
        cmocka_unit_test(test_io_stat),
        cmocka_unit_test(test_net_dev),
        cmocka_unit_test(test_ps_args),
        cmocka_unit_test(test_parse_ps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
