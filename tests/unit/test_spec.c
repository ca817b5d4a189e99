/* Unit tests for the config.json parser: valid documents, and each kind of bad input named
 * precisely in the error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include "common/cleanup.h"
#include "runtime/spec.h"

static const char *minimal =
    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
    "\"process\":{\"cwd\":\"/\",\"args\":[\"sh\"]},"
    "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}";

static struct rt_spec *parse(const char *text, struct berr **err)
{
    return rt_spec_parse(text, strlen(text), "config.json", err);
}

static void expect_error(const char *text, const char *needle)
{
    struct berr *err = NULL;
    struct rt_spec *s = parse(text, &err);
    assert_null(s);
    assert_non_null(err);
    if (strstr(err->msg, needle) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", err->msg, needle);
    berr_free(err);
}

static void test_minimal(void **state)
{
    struct berr *err = NULL;
    struct rt_spec *s = parse(minimal, &err);
    assert_non_null(s);
    assert_string_equal(s->root_path, "rootfs");
    assert_false(s->root_readonly);
    assert_string_equal(s->process->args[0], "sh");
    assert_non_null(s->process->env);
    assert_null(s->process->env[0]);
    assert_true(s->namespaces[RT_NS_MNT].present);
    assert_null(s->namespaces[RT_NS_MNT].path);
    assert_false(s->namespaces[RT_NS_PID].present);
    assert_false(s->process->has_caps);
    rt_spec_free(s);
}

static void test_full_process(void **state)
{
    const char *text =
        "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/r\",\"readonly\":true},"
        "\"hostname\":\"h\",\"process\":{\"terminal\":true,\"consoleSize\":{\"height\":24,"
        "\"width\":80},\"cwd\":\"/tmp\",\"args\":[\"a\",\"b\"],\"env\":[\"A=1\"],"
        "\"user\":{\"uid\":1000,\"gid\":100,\"umask\":18,\"additionalGids\":[5,6]},"
        "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_CHOWN\"],\"ambient\":[\"CAP_KILL\"]},"
        "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":100,\"hard\":200}],"
        "\"noNewPrivileges\":true,\"oomScoreAdj\":-500,"
        "\"ioPriority\":{\"class\":\"IOPRIO_CLASS_IDLE\",\"priority\":3}},"
        "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"uts\"},"
        "{\"type\":\"network\",\"path\":\"/var/run/netns/x\"}],"
        "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},\"personality\":{\"domain\":\"LINUX32\"},"
        "\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229,"
        "\"fileMode\":438}],\"maskedPaths\":[\"/proc/kcore\"]},"
        "\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\",\"args\":[\"true\"],\"timeout\":5}]},"
        "\"annotations\":{\"k\":\"v\"}}";
    struct berr *err = NULL;
    struct rt_spec *s = parse(text, &err);
    if (s == NULL)
        fail_msg("%s", err->msg);
    const struct rt_process *p = s->process;
    assert_true(p->terminal);
    assert_int_equal(p->console_height, 24);
    assert_int_equal(p->uid, 1000);
    assert_int_equal(p->gid, 100);
    assert_true(p->has_umask);
    assert_int_equal(p->umask, 18);
    assert_int_equal(p->n_additional_gids, 2);
    assert_int_equal(p->additional_gids[1], 6);
    assert_true(p->has_caps);
    assert_int_equal(p->caps.sets[RT_CAP_BOUNDING], (1ULL << 5) | (1ULL << 0));
    assert_int_equal(p->caps.sets[RT_CAP_AMBIENT], 1ULL << 5);
    assert_int_equal(p->caps.sets[RT_CAP_EFFECTIVE], 0);
    assert_int_equal(p->n_rlimits, 1);
    assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
    assert_int_equal(p->rlimits[0].hard, 200);
    assert_true(p->no_new_privileges);
    assert_int_equal(p->oom_score_adj, -500);
    assert_true(p->has_io_priority);
    assert_string_equal(s->namespaces[RT_NS_NET].path, "/var/run/netns/x");
    assert_int_equal(s->n_sysctl, 1);
    assert_int_equal(s->personality, PER_LINUX32);
    assert_int_equal(s->n_devices, 1);
    assert_int_equal(s->devices[0].mode, 0666);
    assert_int_equal(s->hooks[RT_HOOK_PRESTART].n, 1);
    assert_int_equal(s->hooks[RT_HOOK_PRESTART].hooks[0].timeout, 5);
    assert_int_equal(s->n_annotations, 1);
    rt_spec_free(s);
}

static void test_syntax_error_has_position(void **state)
{
    expect_error("{\n  \"ociVersion\": \"1.0\",\n  \"root\": {\"path\": }\n}", "line 3");
}

static void test_bad_inputs(void **state)
{
    expect_error("[]", "must be a JSON object");
    expect_error("{\"root\":{\"path\":\"r\"}}", "ociVersion is required");
    expect_error("{\"ociVersion\":\"1\"}", "root is required");
    expect_error("{\"ociVersion\":\"1\",\"root\":{\"path\":5}}", "root.path: expected a string");
    expect_error("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":"
                 "[{\"type\":\"bogus\"}]}}",
                 "unknown namespace \"bogus\"");
    expect_error("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":"
                 "[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}",
                 "listed twice");
    expect_error("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"process\":{\"cwd\":\"rel\","
                 "\"args\":[\"sh\"]}}",
                 "must be an absolute path");
    expect_error("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"process\":{\"cwd\":\"/\","
                 "\"args\":[]}}",
                 "process.args");
    expect_error("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"process\":{\"cwd\":\"/\","
                 "\"args\":[\"sh\"],\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"soft\":1,"
                 "\"hard\":1}]}}",
                 "unknown rlimit");
    expect_error("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"process\":{\"cwd\":\"/\","
                 "\"args\":[\"sh\"],\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":5,"
                 "\"hard\":1}]}}",
                 "soft limit is above the hard limit");
    expect_error("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"hostname\":\"x\"}",
                 "uts namespace");
    expect_error("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":"
                 "[{\"type\":\"user\"}]}}",
                 "needs linux.uidMappings");
    expect_error("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"linux\":{\"devices\":"
                 "[{\"path\":\"/dev/x\",\"type\":\"z\",\"major\":1,\"minor\":1}]}}",
                 "must be one of c, b, u, p");
    expect_error("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"hooks\":{\"poststop\":"
                 "[{\"path\":\"relative\"}]}}",
                 "must be absolute");
    expect_error("{\"ociVersion\":\"1\",\"ociVersion\":\"2\",\"root\":{\"path\":\"r\"}}",
                 "duplicate");
}

static void test_unknown_capability_is_skipped(void **state)
{
    const char *text = "{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"process\":{\"cwd\":\"/\","
                       "\"args\":[\"sh\"],\"capabilities\":{\"bounding\":[\"CAP_NOPE\","
                       "\"CAP_KILL\"]}}}";
    struct berr *err = NULL;
    struct rt_spec *s = parse(text, &err);
    if (s == NULL)
        fail_msg("%s", err->msg);
    assert_int_equal(s->process->caps.sets[RT_CAP_BOUNDING], 1ULL << 5);
    rt_spec_free(s);
}

static void test_rlimit_unlimited(void **state)
{
    const char *text =
        "{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"process\":{\"cwd\":\"/\","
        "\"args\":[\"sh\"],\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":18446744073709551615,"
        "\"hard\":18446744073709551615}]}}";
    struct berr *err = NULL;
    struct rt_spec *s = parse(text, &err);
    if (s == NULL)
        fail_msg("%s", err->msg);
    assert_true(s->process->rlimits[0].hard == UINT64_MAX);
    rt_spec_free(s);
}

static void test_u64_folding_keeps_bits(void **state)
{
    const char *text = "{\"a\": 9223372036854775808, \"b\": 18446744073709551615, \"c\": 5,"
                       " \"s\": \"18446744073709551615\", \"d\": -9223372036854775807}";
    json_error_t jerr;
    json_t *j = rt_json_loadb(text, strlen(text), &jerr);
    if (j == NULL)
        fail_msg("%s", jerr.text);
    assert_true((uint64_t)json_integer_value(json_object_get(j, "a")) == 9223372036854775808ULL);
    assert_true((uint64_t)json_integer_value(json_object_get(j, "b")) == UINT64_MAX);
    assert_int_equal(json_integer_value(json_object_get(j, "c")), 5);
    assert_string_equal(json_string_value(json_object_get(j, "s")), "18446744073709551615");
    assert_int_equal(json_integer_value(json_object_get(j, "d")), -9223372036854775807LL);
    json_decref(j);
    const char *too_big = "{\"a\": 18446744073709551616}";
    assert_null(rt_json_loadb(too_big, strlen(too_big), &jerr));
    /* Digits of a fraction or an exponent are not integers to fold (found by fuzz_spec). */
    const char *fraction = "{\"x\": 0.19223372036854775808}";
    j = rt_json_loadb(fraction, strlen(fraction), &jerr);
    assert_non_null(j);
    assert_true(json_is_real(json_object_get(j, "x")));
    json_decref(j);
    const char *exponent = "{\"x\": 1e9223372036854775808}";
    assert_null(rt_json_loadb(exponent, strlen(exponent), &jerr));
}

static void test_names(void **state)
{
    assert_int_equal(rt_ns_from_name("network"), RT_NS_NET);
    assert_int_equal(rt_ns_from_name("net"), -1);
    assert_string_equal(rt_ns_proc_name(RT_NS_NET), "net");
    assert_int_equal(rt_cap_from_name("CAP_SYS_ADMIN"), 21);
    assert_int_equal(rt_cap_from_name("SYS_ADMIN"), -1);
    assert_int_equal(rt_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
    assert_true(rt_cap_last_cap() >= 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_full_process),
        cmocka_unit_test(test_syntax_error_has_position),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_unknown_capability_is_skipped),
        cmocka_unit_test(test_rlimit_unlimited),
        cmocka_unit_test(test_u64_folding_keeps_bits),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
