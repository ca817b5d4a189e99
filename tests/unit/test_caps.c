/* Unit tests for runtime/caps: identities applied for real in forked children (we run as root),
 * checked through /proc/self/status and the id syscalls, and again after an execve for the
 * ambient set. Children report through their exit status; the parent asserts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "runtime/caps.h"

#define BIT(c) (UINT64_C(1) << (c))

/* A capability line of /proc/self/status ("CapEff"), or UINT64_MAX. */
static uint64_t status_caps(const char *key)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL)
        return UINT64_MAX;
    char line[256];
    size_t klen = strlen(key);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':')
            return strtoull(line + klen + 1, NULL, 16);
    return UINT64_MAX;
}

static bool caps_are(uint64_t bnd, uint64_t eff, uint64_t prm, uint64_t inh, uint64_t amb)
{
    return status_caps("CapBnd") == bnd && status_caps("CapEff") == eff &&
           status_caps("CapPrm") == prm && status_caps("CapInh") == inh &&
           status_caps("CapAmb") == amb;
}

static void require_root(void)
{
    if (geteuid() != 0 || status_caps("CapEff") == 0)
        skip();
}

static int in_child(int (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn());
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void assert_child_ok(int status)
{
    if (!WIFEXITED(status))
        fail_msg("child killed by signal %d", WTERMSIG(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("child failed check %d", WEXITSTATUS(status));
}

static struct rt_process base_process(void)
{
    return (struct rt_process){.uid = 0, .gid = 0, .has_caps = true};
}

/* ---- an unprivileged identity with a few capabilities, kept across execve by ambient ---- */

static const uint64_t ex_bounding =
    BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_AUDIT_WRITE);
static const uint64_t ex_effective = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE);
static const uint64_t ex_inheritable = BIT(CAP_NET_BIND_SERVICE);
static const uint64_t ex_ambient = BIT(CAP_NET_BIND_SERVICE);

static char *self_exe;

static int child_unprivileged(void)
{
    gid_t gids[] = {1000, 2000, 3000};
    struct rt_process p = base_process();
    p.uid = 1000;
    p.gid = 1000;
    p.additional_gids = gids;
    p.n_additional_gids = ARRAY_SIZE(gids);
    p.caps.sets[RT_CAP_BOUNDING] = ex_bounding;
    p.caps.sets[RT_CAP_EFFECTIVE] = ex_effective;
    p.caps.sets[RT_CAP_PERMITTED] = ex_effective;
    p.caps.sets[RT_CAP_INHERITABLE] = ex_inheritable;
    p.caps.sets[RT_CAP_AMBIENT] = ex_ambient;
    struct berr *err = NULL;
    if (rt_caps_apply_identity(&p, true, &err) < 0) {
        fprintf(stderr, "apply: %s\n", err->msg);
        return 1;
    }
    uid_t r, e, s;
    if (getresuid(&r, &e, &s) < 0 || r != 1000 || e != 1000 || s != 1000)
        return 2;
    gid_t rg, eg, sg;
    if (getresgid(&rg, &eg, &sg) < 0 || rg != 1000 || eg != 1000 || sg != 1000)
        return 3;
    gid_t got[16];
    int n = getgroups(16, got);
    if (n != 3 || got[0] != 1000 || got[1] != 2000 || got[2] != 3000)
        return 4;
    if (!caps_are(ex_bounding, ex_effective, ex_effective, ex_inheritable, ex_ambient))
        return 5;
    if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
        return 6;
    /* A non-root execve keeps only what is ambient. */
    char hex[32];
    snprintf(hex, sizeof(hex), "%" PRIx64, ex_ambient);
    execl(self_exe, self_exe, "--after-exec", hex, (char *)NULL);
    return 7;
}

static void test_unprivileged_identity(void **state)
{
    require_root();
    assert_child_ok(in_child(child_unprivileged));
}

/* Run by the execve above: effective, permitted and ambient are all the ambient set. */
static int after_exec(const char *hex)
{
    uint64_t amb = strtoull(hex, NULL, 16);
    if (getuid() != 1000 || geteuid() != 1000)
        return 20;
    if (!caps_are(ex_bounding, amb, amb, ex_inheritable, amb))
        return 21;
    return 0;
}

/* ---- capabilities the runtime lacks are left out, with one warning ---------------------- */

static char log_path[] = "/tmp/berth-test-caps-XXXXXX";

/* Make sure the runtime lacks CAP_SYS_RESOURCE, as on the VM this was written on. */
static int lose_sys_resource(void)
{
    if (prctl(PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0) < 0)
        return -1;
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &hdr, d) < 0)
        return -1;
    d[0].effective &= ~(1u << CAP_SYS_RESOURCE);
    d[0].permitted &= ~(1u << CAP_SYS_RESOURCE);
    return (int)syscall(SYS_capset, &hdr, d);
}

static int child_unavailable_cap(void)
{
    if (lose_sys_resource() < 0)
        return 10;
    struct berr *err = NULL;
    if (blog_open(log_path, BLOG_TEXT, BLOG_WARN, &err) < 0)
        return 11;
    uint64_t want = BIT(CAP_CHOWN) | BIT(CAP_SYS_RESOURCE) | BIT(62); /* 62: beyond the kernel */
    struct rt_process p = base_process();
    for (int s = 0; s < RT_CAP_NSETS; s++)
        p.caps.sets[s] = want;
    if (rt_caps_apply_identity(&p, true, &err) < 0) {
        fprintf(stderr, "apply: %s\n", err->msg);
        return 1;
    }
    uint64_t got = BIT(CAP_CHOWN);
    if (!caps_are(got, got, got, got, got))
        return 2;
    /* Supplementary groups are dropped when none are asked for. */
    if (getgroups(0, NULL) != 0)
        return 3;
    return 0;
}

static void test_unavailable_cap_is_masked(void **state)
{
    require_root();
    _cleanup_close_ int fd = mkstemp(log_path);
    assert_true(fd >= 0);
    int status = in_child(child_unavailable_cap);
    _cleanup_free_ char *log = read_file_at(AT_FDCWD, log_path, 1 << 16, NULL, NULL);
    unlink(log_path);
    assert_child_ok(status);
    assert_non_null(log);
    const char *first = strstr(log, "CAP_SYS_RESOURCE");
    if (first == NULL)
        fail_msg("no warning naming CAP_SYS_RESOURCE in: %s", log);
    assert_null(strstr(first + 1, "CAP_SYS_RESOURCE")); /* once */
    assert_non_null(strstr(log, "level=warning"));
}

/* ---- no capabilities object: every set empty ------------------------------------------- */

static int child_no_caps(void)
{
    struct rt_process p = base_process();
    p.has_caps = false;
    p.caps.sets[RT_CAP_EFFECTIVE] = UINT64_MAX; /* ignored */
    struct berr *err = NULL;
    if (rt_caps_apply_identity(&p, true, &err) < 0)
        return 1;
    if (!caps_are(0, 0, 0, 0, 0))
        return 2;
    if (getuid() != 0)
        return 3;
    return 0;
}

static void test_no_capabilities_object(void **state)
{
    require_root();
    assert_child_ok(in_child(child_no_caps));
}

/* ---- setgroups denied (user namespace) ------------------------------------------------- */

static int child_setgroups_denied(void)
{
    gid_t before[64];
    int n_before = getgroups(64, before);
    gid_t extra[] = {5};
    struct rt_process p = base_process();
    p.uid = 1000;
    p.gid = 1000;
    p.additional_gids = extra;
    p.n_additional_gids = 1;
    struct berr *err = NULL;
    if (rt_caps_apply_identity(&p, false, &err) == 0)
        return 1;
    if (strstr(err->msg, "additionalGids") == NULL)
        return 2;
    berr_free(err);
    err = NULL;
    /* Without additionalGids the groups are left as they are. */
    p.n_additional_gids = 0;
    p.additional_gids = NULL;
    if (rt_caps_apply_identity(&p, false, &err) < 0)
        return 3;
    gid_t after[64];
    if (getgroups(64, after) != n_before || memcmp(before, after, n_before * sizeof(gid_t)) != 0)
        return 4;
    if (getuid() != 1000 || getgid() != 1000)
        return 5;
    return 0;
}

static void test_setgroups_denied(void **state)
{
    require_root();
    assert_child_ok(in_child(child_setgroups_denied));
}

/* ---- inconsistent sets ----------------------------------------------------------------- */

static int child_effective_not_permitted(void)
{
    struct rt_process p = base_process();
    p.caps.sets[RT_CAP_BOUNDING] = BIT(CAP_KILL) | BIT(CAP_CHOWN);
    p.caps.sets[RT_CAP_PERMITTED] = BIT(CAP_CHOWN);
    p.caps.sets[RT_CAP_EFFECTIVE] = BIT(CAP_CHOWN) | BIT(CAP_KILL);
    struct berr *err = NULL;
    if (rt_caps_apply_identity(&p, true, &err) == 0)
        return 1;
    if (strcmp(err->msg, "capabilities: effective CAP_KILL not in the permitted set") != 0)
        return 2;
    /* Nothing was changed before the error. */
    if (status_caps("CapBnd") == (BIT(CAP_KILL) | BIT(CAP_CHOWN)))
        return 3;
    return 0;
}

static void test_effective_outside_permitted(void **state)
{
    require_root();
    assert_child_ok(in_child(child_effective_not_permitted));
}

static int child_ambient_not_inheritable(void)
{
    struct rt_process p = base_process();
    p.uid = 1000;
    p.caps.sets[RT_CAP_BOUNDING] = BIT(CAP_KILL);
    p.caps.sets[RT_CAP_PERMITTED] = BIT(CAP_KILL);
    p.caps.sets[RT_CAP_EFFECTIVE] = BIT(CAP_KILL);
    p.caps.sets[RT_CAP_AMBIENT] = BIT(CAP_KILL);
    struct berr *err = NULL;
    if (rt_caps_apply_identity(&p, true, &err) < 0)
        return 1;
    if (!caps_are(BIT(CAP_KILL), BIT(CAP_KILL), BIT(CAP_KILL), 0, 0))
        return 2;
    return 0;
}

static void test_ambient_not_inheritable_is_ignored(void **state)
{
    require_root();
    assert_child_ok(in_child(child_ambient_not_inheritable));
}

static void test_validate(void **state)
{
    struct rt_process p = base_process();
    p.caps.sets[RT_CAP_BOUNDING] = ex_bounding;
    p.caps.sets[RT_CAP_EFFECTIVE] = ex_effective;
    p.caps.sets[RT_CAP_PERMITTED] = ex_effective;
    p.caps.sets[RT_CAP_INHERITABLE] = ex_inheritable;
    _cleanup_berr_ struct berr *err = NULL;
    assert_int_equal(rt_caps_validate(&p, "config.json", &err), 0);

    p.caps.sets[RT_CAP_EFFECTIVE] |= BIT(CAP_SYS_ADMIN) | BIT(CAP_NET_RAW);
    assert_int_equal(rt_caps_validate(&p, "config.json", &err), -1);
    assert_string_equal(err->msg, "config.json: process.capabilities.effective: CAP_NET_RAW, "
                                  "CAP_SYS_ADMIN not in permitted");
    berr_freep(&err);

    p.caps.sets[RT_CAP_EFFECTIVE] = ex_effective;
    p.caps.sets[RT_CAP_INHERITABLE] |= BIT(CAP_MKNOD);
    assert_int_equal(rt_caps_validate(&p, "config.json", &err), -1);
    assert_string_equal(err->msg,
                        "config.json: process.capabilities.inheritable: CAP_MKNOD not in bounding");
    berr_freep(&err);

    p.has_caps = false;
    assert_int_equal(rt_caps_validate(&p, "config.json", &err), 0);
}

/* ---- features and the host bounding set ------------------------------------------------ */

static void test_features(void **state)
{
    _cleanup_json_ json_t *f = rt_caps_features();
    assert_true(json_is_array(f));
    int last = rt_cap_last_cap();
    size_t expect = (size_t)(last < CAP_LAST_CAP ? last : CAP_LAST_CAP) + 1;
    assert_int_equal(json_array_size(f), expect);
    size_t i;
    json_t *v;
    json_array_foreach(f, i, v)
    {
        assert_true(json_is_string(v));
        /* Every name round-trips through the spec parser's table. */
        assert_int_equal(rt_cap_from_name(json_string_value(v)), (int)i);
    }
    assert_string_equal(json_string_value(json_array_get(f, CAP_CHOWN)), "CAP_CHOWN");
    assert_string_equal(json_string_value(json_array_get(f, CAP_SYS_RESOURCE)), "CAP_SYS_RESOURCE");
}

static void test_host_bounding(void **state)
{
    assert_int_equal(rt_caps_host_bounding(), status_caps("CapBnd"));
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--after-exec") == 0)
        return after_exec(argv[2]);
    self_exe = realpath("/proc/self/exe", NULL);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unprivileged_identity),
        cmocka_unit_test(test_unavailable_cap_is_masked),
        cmocka_unit_test(test_no_capabilities_object),
        cmocka_unit_test(test_setgroups_denied),
        cmocka_unit_test(test_effective_outside_permitted),
        cmocka_unit_test(test_ambient_not_inheritable_is_ignored),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_host_bounding),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(self_exe);
    return rc;
}
