/* Unit tests for runtime/seccomp: profile validation (every bad field named in the message),
 * runc's compatibility rules, and real filters loaded in forked children, which report what
 * they saw through their exit status. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "runtime/seccomp.h"

static struct rt_seccomp *compile_text(const char *text, struct berr **err)
{
    json_error_t jerr;
    _cleanup_json_ json_t *j = json_loads(text, 0, &jerr);
    if (j == NULL)
        fail_msg("bad test JSON: %s: %s", jerr.text, text);
    return rt_seccomp_compile(j, "config.json", err);
}

static void test_null_is_no_filter(void **state)
{
    _cleanup_berr_ struct berr *err = NULL;
    assert_null(rt_seccomp_compile(NULL, "config.json", &err));
    assert_null(err);
    _cleanup_json_ json_t *jnull = json_null();
    assert_null(rt_seccomp_compile(jnull, "config.json", &err));
    assert_null(err);
    assert_int_equal(rt_seccomp_load(NULL, &err), 0);
}

static void test_valid_profiles_compile(void **state)
{
    static const char *const profiles[] = {
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}",
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
        "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\","
        "\"SCMP_ARCH_AARCH64\",\"SCMP_ARCH_ARM\"],"
        "\"flags\":[\"SECCOMP_FILTER_FLAG_TSYNC\",\"SECCOMP_FILTER_FLAG_LOG\","
        "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],"
        "\"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
        "{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,"
        "\"value\":2114060288,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
        "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
        "{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"},"
        "{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]},"
        "{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_TRAP\"},"
        "{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":1},"
        "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_LOG\"},"
        "{\"names\":[\"reboot\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"},"
        "{\"names\":[\"acct\"],\"action\":\"SCMP_ACT_KILL\"},"
        "{\"names\":[\"swapon\"],\"action\":\"SCMP_ACT_KILL_THREAD\"},"
        "{\"names\":[],\"action\":\"SCMP_ACT_ALLOW\"}]}",
        /* Every operator, valueTwo ignored where it means nothing. */
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpgid\"],"
        "\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
        "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_NE\"},"
        "{\"index\":1,\"value\":1,\"op\":\"SCMP_CMP_LT\"},"
        "{\"index\":2,\"value\":1,\"op\":\"SCMP_CMP_LE\"},"
        "{\"index\":3,\"value\":1,\"valueTwo\":9,\"op\":\"SCMP_CMP_GE\"},"
        "{\"index\":4,\"value\":1,\"op\":\"SCMP_CMP_GT\"},"
        "{\"index\":5,\"value\":255,\"valueTwo\":1,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}",
        /* An empty listenerPath means no listener. */
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"\"}",
        /* null optional fields read as absent, as runc (Go) reads them. */
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":null,\"flags\":null,"
        "\"architectures\":null,\"listenerPath\":null,\"syscalls\":[{\"names\":[\"read\"],"
        "\"action\":\"SCMP_ACT_ALLOW\",\"errnoRet\":null,\"args\":[{\"index\":1,\"value\":2,"
        "\"valueTwo\":null,\"op\":\"SCMP_CMP_EQ\"}]}]}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(profiles); i++) {
        _cleanup_berr_ struct berr *err = NULL;
        _cleanup_seccomp_ struct rt_seccomp *sc = compile_text(profiles[i], &err);
        if (sc == NULL)
            fail_msg("profile %zu: %s", i, err ? err->msg : "(no error)");
    }
}

static const struct {
    const char *json;
    const char *msg; /* expected substring (the full message for the first one) */
} bad_profiles[] = {
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
     "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\"},"
     "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\"},"
     "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\"},"
     "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_FOO\"}]}",
     "config.json: linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\""},
    {"[]", "config.json: linux.seccomp: must be an object"},
    {"{}", "linux.seccomp.defaultAction: required"},
    {"{\"defaultAction\":1}", "linux.seccomp.defaultAction: must be a string"},
    {"{\"defaultAction\":\"SCMP_ACT_FOO\"}",
     "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\""},
    {"{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}",
     "linux.seccomp.defaultAction: seccomp notify (listener) is not supported by berth-runc"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":1}",
     "linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW takes no errno"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}",
     "linux.seccomp.defaultErrnoRet: must be an integer from 0 to 65535"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":65536}",
     "linux.seccomp.defaultErrnoRet: must be an integer"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":\"1\"}",
     "linux.seccomp.defaultErrnoRet: must be an integer"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/seccomp.sock\"}",
     "linux.seccomp.listenerPath: seccomp notify (listener) is not supported by berth-runc"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":\"SCMP_ARCH_X86\"}",
     "linux.seccomp.architectures: must be an array"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86\",\"x86_64\"]}",
     "linux.seccomp.architectures[1]: unknown architecture \"x86_64\""},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[7]}",
     "linux.seccomp.architectures[0]: must be a string"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":{}}",
     "linux.seccomp.flags: must be an array"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_TSYNC\","
     "\"SECCOMP_FILTER_FLAG_BOGUS\"]}",
     "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_BOGUS\""},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"]"
     "}",
     "linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: seccomp notify (listener) "
     "is not supported by berth-runc"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}",
     "linux.seccomp.syscalls: must be an array"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[\"read\"]}",
     "linux.seccomp.syscalls[0]: must be an object"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"SCMP_ACT_ERRNO\"}]}",
     "linux.seccomp.syscalls[0].names: required"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":\"read\","
     "\"action\":\"SCMP_ACT_ERRNO\"}]}",
     "linux.seccomp.syscalls[0].names: must be an array"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\",\"\"],"
     "\"action\":\"SCMP_ACT_ERRNO\"}]}",
     "linux.seccomp.syscalls[0].names[1]: must be a non-empty string"},
    /* Validated even when the rule would be skipped for equalling the default action. */
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\",5],"
     "\"action\":\"SCMP_ACT_ALLOW\"}]}",
     "linux.seccomp.syscalls[0].names[1]: must be a non-empty string"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"]}]}",
     "linux.seccomp.syscalls[0].action: required"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
     "linux.seccomp.syscalls[0].action: seccomp notify (listener) is not supported by berth-runc"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ALLOW\",\"errnoRet\":1}]}",
     "linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_ALLOW takes no errno"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":70000}]}",
     "linux.seccomp.syscalls[0].errnoRet: must be an integer from 0 to 65535"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":{}}]}",
     "linux.seccomp.syscalls[0].args: must be an array"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[3]}]}",
     "linux.seccomp.syscalls[0].args[0]: must be an object"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
     "{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
     "linux.seccomp.syscalls[0].args[1].index: must be an integer from 0 to 5"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
     "linux.seccomp.syscalls[0].args[0].index: required"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}",
     "linux.seccomp.syscalls[0].args[0].value: required"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1.5,\"op\":\"SCMP_CMP_EQ\"}]}]"
     "}",
     "linux.seccomp.syscalls[0].args[0].value: must be an unsigned integer"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"valueTwo\":\"x\","
     "\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}",
     "linux.seccomp.syscalls[0].args[0].valueTwo: must be an unsigned integer"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1}]}]}",
     "linux.seccomp.syscalls[0].args[0].op: required"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_XX\"}]}]}",
     "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_XX\""},
};

static void test_invalid_fields_are_named(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_profiles); i++) {
        _cleanup_berr_ struct berr *err = NULL;
        _cleanup_seccomp_ struct rt_seccomp *sc = compile_text(bad_profiles[i].json, &err);
        if (sc != NULL)
            fail_msg("profile %zu compiled but should not: %s", i, bad_profiles[i].json);
        if (err == NULL)
            fail_msg("profile %zu: no error", i);
        if (i == 0 ? strcmp(err->msg, bad_profiles[i].msg) != 0
                   : strstr(err->msg, bad_profiles[i].msg) == NULL)
            fail_msg("profile %zu: message \"%s\" lacks \"%s\"", i, err->msg, bad_profiles[i].msg);
    }
}

static void test_unknown_syscall_and_default_action_rules_skipped(void **state)
{
    _cleanup_berr_ struct berr *err = NULL;
    /* libseccomp itself refuses a rule whose action is the default one (EACCES), and unknown
     * names cannot be resolved: both must be skipped, not fatal. */
    _cleanup_seccomp_ struct rt_seccomp *sc = compile_text(
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
        "{\"names\":[\"no_such_syscall_berth\",\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"},"
        "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\"},"
        "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]}",
        &err);
    if (sc == NULL)
        fail_msg("%s", err ? err->msg : "(no error)");
}

/* ---- filters loaded for real, in children ---------------------------------------------- */

/* Run fn in a child and return its wait status. The child exits with fn's result: 0 for
 * success, a small number naming the check that failed. */
static int in_child(int (*fn)(struct rt_seccomp *), struct rt_seccomp *sc)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(sc));
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

static int load_nnp(struct rt_seccomp *sc)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return 100;
    struct berr *err = NULL;
    if (rt_seccomp_load(sc, &err) < 0)
        return 101;
    return 0;
}

/* Raw syscalls so that nothing but the call under test reaches the filter. */
static bool fails_with(long r, int e)
{
    return r == -1 && errno == e;
}

static int child_getppid_errno(struct rt_seccomp *sc)
{
    int r = load_nnp(sc);
    if (r != 0)
        return r;
    if (!fails_with(syscall(SYS_getppid), 77))
        return 1;
    if (syscall(SYS_getpid) <= 0)
        return 2;
    return 0;
}

static void test_load_errno_rule(void **state)
{
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_seccomp_ struct rt_seccomp *sc =
        compile_text("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                     "[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":77}]}",
                     &err);
    assert_non_null(sc);
    assert_child_ok(in_child(child_getppid_errno, sc));
    /* The parent is untouched. */
    assert_true(syscall(SYS_getppid) > 0);
}

static int child_default_errno(struct rt_seccomp *sc)
{
    int r = load_nnp(sc);
    if (r != 0)
        return r;
    if (!fails_with(syscall(SYS_getppid), 55)) /* defaultErrnoRet */
        return 1;
    if (!fails_with(syscall(SYS_getuid), ENOSYS)) /* ERRNO rule under an ERRNO default */
        return 2;
    if (!fails_with(syscall(SYS_getgid), EPERM)) /* errnoRet defaults to EPERM */
        return 3;
    if (syscall(SYS_getpid) <= 0)
        return 4;
    return 0;
}

static void test_load_default_errno(void **state)
{
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_seccomp_ struct rt_seccomp *sc = compile_text(
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":55,"
        /* Beyond exit: what ASan/UBSan builds call (an allow list cannot hurt this test). */
        "\"syscalls\":[{\"names\":[\"exit\",\"exit_group\",\"getpid\",\"rt_sigreturn\","
        "\"write\",\"sigaltstack\",\"mmap\",\"munmap\",\"mprotect\",\"madvise\","
        "\"rt_sigprocmask\",\"gettid\",\"prctl\"],"
        "\"action\":\"SCMP_ACT_ALLOW\"},"
        "{\"names\":[\"getuid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38},"
        "{\"names\":[\"getgid\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
        &err);
    if (sc == NULL)
        fail_msg("%s", err->msg);
    assert_child_ok(in_child(child_default_errno, sc));
}

static int child_args(struct rt_seccomp *sc)
{
    int r = load_nnp(sc);
    if (r != 0)
        return r;
    /* Two conditions on index 0: one rule each (runc), so either value matches. */
    if (!fails_with(syscall(SYS_getpgid, 424241), 61))
        return 1;
    if (!fails_with(syscall(SYS_getpgid, 424242), 61))
        return 2;
    if (!fails_with(syscall(SYS_getpgid, 424243), ESRCH))
        return 3;
    /* MASKED_EQ: (arg & 0xff00) == 0x1200. */
    if (!fails_with(syscall(SYS_getpgid, 0x51234), 62))
        return 4;
    if (!fails_with(syscall(SYS_getpgid, 0x53434), ESRCH))
        return 5;
    /* Distinct indexes combine: which == PRIO_PROCESS and who == 424244. */
    if (!fails_with(syscall(SYS_getpriority, PRIO_PROCESS, 424244), 63))
        return 6;
    if (!fails_with(syscall(SYS_getpriority, PRIO_PGRP, 424244), ESRCH))
        return 7;
    if (!fails_with(syscall(SYS_getpriority, PRIO_PROCESS, 424245), ESRCH))
        return 8;
    /* 64-bit comparison: GT on the full argument. */
    if (!fails_with(syscall(SYS_getsid, 0x100000000L), 64))
        return 9;
    if (syscall(SYS_getsid, 0) < 0)
        return 10;
    /* A full 64-bit mask, written -1 (2^64-1 as the spec parser folds it). */
    if (!fails_with(syscall(SYS_getpgid, 0x424246), 65))
        return 11;
    if (!fails_with(syscall(SYS_getpgid, 0x10424246L), ESRCH))
        return 12;
    return 0;
}

static void test_load_arg_filters(void **state)
{
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_seccomp_ struct rt_seccomp *sc = compile_text(
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
        "{\"names\":[\"getpgid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":61,\"args\":["
        "{\"index\":0,\"value\":424241,\"op\":\"SCMP_CMP_EQ\"},"
        "{\"index\":0,\"value\":424242,\"op\":\"SCMP_CMP_EQ\"}]},"
        "{\"names\":[\"getpgid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":62,\"args\":["
        "{\"index\":0,\"value\":65280,\"valueTwo\":4608,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
        "{\"names\":[\"getpriority\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":63,\"args\":["
        "{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"},"
        "{\"index\":1,\"value\":424244,\"op\":\"SCMP_CMP_EQ\"}]},"
        "{\"names\":[\"getsid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":64,\"args\":["
        "{\"index\":0,\"value\":4294967295,\"op\":\"SCMP_CMP_GT\"}]},"
        "{\"names\":[\"getpgid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":65,\"args\":["
        "{\"index\":0,\"value\":-1,\"valueTwo\":4342342,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}",
        &err);
    if (sc == NULL)
        fail_msg("%s", err->msg);
    assert_child_ok(in_child(child_args, sc));
}

static int child_kill_process(struct rt_seccomp *sc)
{
    int r = load_nnp(sc);
    if (r != 0)
        return r;
    syscall(SYS_getppid);
    return 1; /* not reached */
}

static void test_load_kill_process(void **state)
{
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_seccomp_ struct rt_seccomp *sc =
        compile_text("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":["
                     "\"SECCOMP_FILTER_FLAG_TSYNC\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],"
                     "\"syscalls\":[{\"names\":[\"getppid\"],"
                     "\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}",
                     &err);
    if (sc == NULL)
        fail_msg("%s", err->msg);
    int status = in_child(child_kill_process, sc);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
}

static int child_load_without_nnp(struct rt_seccomp *sc)
{
    struct berr *err = NULL;
    if (rt_seccomp_load(sc, &err) < 0)
        return 1;
    if (!fails_with(syscall(SYS_getppid), 77))
        return 2;
    return 0;
}

static void test_load_without_nnp_as_root(void **state)
{
    if (geteuid() != 0)
        skip();
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_seccomp_ struct rt_seccomp *sc =
        compile_text("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                     "[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":77}]}",
                     &err);
    assert_non_null(sc);
    assert_child_ok(in_child(child_load_without_nnp, sc));
}

/* ---- a Docker-default-sized profile ---------------------------------------------------- */

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Shaped like Docker's default: default ERRNO(EPERM) over three x86 ABIs, an allow list of
 * ~350 calls (every call libseccomp knows on this architecture, minus a deny list), and the
 * argument rules Docker adds (personality values, clone flags, socket families). */
static json_t *docker_sized_profile(size_t *n_allowed)
{
    static const char *const denied[] = {
        "getppid",
        "mount",
        "umount2",
        "unshare",
        "setns",
        "reboot",
        "swapon",
        "swapoff",
        "kexec_load",
        "init_module",
        "finit_module",
        "delete_module",
        "bpf",
        "perf_event_open",
        "ptrace",
        "personality",
        "clone",
        "clone3",
        "socket",
        "acct",
        "chroot",
        "pivot_root",
        "settimeofday",
        "clock_settime",
        "syslog",
        "open_by_handle_at",
        "name_to_handle_at",
        "keyctl",
        "add_key",
        "request_key",
        "quotactl",
        "userfaultfd",
        "vhangup",
        "iopl",
        "ioperm",
        "lookup_dcookie",
        "fsopen",
        "fsmount",
        "fspick",
        "move_mount",
        "open_tree",
        "mount_setattr",
    };
    json_t *names = json_array();
    uint32_t native = seccomp_arch_native();
    for (int nr = 0; nr < 1024; nr++) {
        _cleanup_free_ char *name = seccomp_syscall_resolve_num_arch(native, nr);
        if (name == NULL)
            continue;
        bool deny = false;
        for (size_t i = 0; i < ARRAY_SIZE(denied) && !deny; i++)
            deny = strcmp(name, denied[i]) == 0;
        if (!deny)
            json_array_append_new(names, json_string(name));
    }
    /* Names from other ABIs and newer kernels, which must be skipped or mapped. */
    static const char *const foreign[] = {"chown32",       "fcntl64",      "socketcall",
                                          "_llseek",       "futex_time64", "memfd_secret",
                                          "no_such_call_9"};
    for (size_t i = 0; i < ARRAY_SIZE(foreign); i++)
        json_array_append_new(names, json_string(foreign[i]));
    *n_allowed = json_array_size(names);

    json_t *syscalls = json_array();
    json_array_append_new(syscalls,
                          json_pack("{s:o,s:s}", "names", names, "action", "SCMP_ACT_ALLOW"));
    static const json_int_t personas[] = {0, 8, 131072, 131080, 4294967295};
    for (size_t i = 0; i < ARRAY_SIZE(personas); i++)
        json_array_append_new(syscalls,
                              json_pack("{s:[s],s:s,s:[{s:i,s:I,s:s}]}", "names", "personality",
                                        "action", "SCMP_ACT_ALLOW", "args", "index", 0, "value",
                                        personas[i], "op", "SCMP_CMP_EQ"));
    json_array_append_new(syscalls,
                          json_pack("{s:[s],s:s,s:[{s:i,s:I,s:s}]}", "names", "clone", "action",
                                    "SCMP_ACT_ALLOW", "args", "index", 0, "value",
                                    (json_int_t)2114060288, "op", "SCMP_CMP_MASKED_EQ"));
    json_array_append_new(syscalls, json_pack("{s:[s],s:s,s:[{s:i,s:i,s:s}]}", "names", "socket",
                                              "action", "SCMP_ACT_ALLOW", "args", "index", 0,
                                              "value", 40, "op", "SCMP_CMP_NE"));
    json_array_append_new(syscalls, json_pack("{s:[s],s:s,s:i}", "names", "clone3", "action",
                                              "SCMP_ACT_ERRNO", "errnoRet", ENOSYS));
    json_t *archs = json_array();
    if (native == SCMP_ARCH_X86_64) {
        json_array_append_new(archs, json_string("SCMP_ARCH_X86_64"));
        json_array_append_new(archs, json_string("SCMP_ARCH_X86"));
        json_array_append_new(archs, json_string("SCMP_ARCH_X32"));
    } else if (native == SCMP_ARCH_AARCH64) {
        json_array_append_new(archs, json_string("SCMP_ARCH_AARCH64"));
        json_array_append_new(archs, json_string("SCMP_ARCH_ARM"));
    }
    return json_pack("{s:s,s:i,s:o,s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet",
                     EPERM, "architectures", archs, "syscalls", syscalls);
}

static int load_pipe[2] = {-1, -1};

static int child_docker_profile(struct rt_seccomp *sc)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return 100;
    struct berr *err = NULL;
    double t0 = now_us();
    if (rt_seccomp_load(sc, &err) < 0)
        return 101;
    double dt = now_us() - t0;
    if (write(load_pipe[1], &dt, sizeof(dt)) != sizeof(dt))
        return 102;
    if (!fails_with(syscall(SYS_getppid), EPERM))
        return 1;
    if (syscall(SYS_getpid) <= 0)
        return 2;
    if (syscall(SYS_personality, 0xffffffffUL) < 0) /* query: allowed */
        return 3;
    if (!fails_with(syscall(SYS_personality, 0x0400000UL), EPERM))
        return 4;
    if (!fails_with(syscall(SYS_unshare, 0), EPERM))
        return 5;
#ifdef SYS_clone3
    if (!fails_with(syscall(SYS_clone3, NULL, 0), ENOSYS))
        return 6;
#endif
    if (!fails_with(syscall(SYS_socket, 40 /* AF_VSOCK */, 1, 0), EPERM))
        return 7;
    return 0;
}

static void test_docker_sized_profile_timing(void **state)
{
    size_t n_allowed;
    _cleanup_json_ json_t *profile = docker_sized_profile(&n_allowed);
    assert_true(n_allowed >= 300);

    enum { ROUNDS = 20 };
    double best = 1e18, total = 0;
    for (int i = 0; i < ROUNDS; i++) {
        _cleanup_berr_ struct berr *err = NULL;
        double t0 = now_us();
        struct rt_seccomp *sc = rt_seccomp_compile(profile, "config.json", &err);
        double dt = now_us() - t0;
        if (sc == NULL)
            fail_msg("%s", err->msg);
        rt_seccomp_free(sc);
        total += dt;
        if (dt < best)
            best = dt;
    }

    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_seccomp_ struct rt_seccomp *sc = rt_seccomp_compile(profile, "config.json", &err);
    assert_non_null(sc);
    assert_int_equal(pipe2(load_pipe, O_CLOEXEC), 0);
    int status = in_child(child_docker_profile, sc);
    double load_us = -1;
    if (read(load_pipe[0], &load_us, sizeof(load_us)) != sizeof(load_us))
        load_us = -1;
    close(load_pipe[0]);
    close(load_pipe[1]);
    assert_child_ok(status);
    char dir[] = "/tmp/berth-test-seccomp-XXXXXX";
    assert_non_null(mkdtemp(dir));
    _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rt_seccomp_free(rt_seccomp_compile_cached(profile, "config.json", dirfd, NULL));
    double hit_total = 0;
    for (int i = 0; i < ROUNDS; i++) {
        double t0 = now_us();
        struct rt_seccomp *cached = rt_seccomp_compile_cached(profile, "config.json", dirfd, NULL);
        hit_total += now_us() - t0;
        assert_non_null(cached);
        rt_seccomp_free(cached);
    }
    assert_int_equal(rm_rf_at(AT_FDCWD, dir, NULL), 0);
    print_message("docker-sized profile, cached: validate + read mean %.0f us\n",
                  hit_total / ROUNDS);
    print_message("docker-sized profile (%zu names allowed): compile mean %.0f us, best %.0f us "
                  "over %d runs; load in child %.0f us\n",
                  n_allowed, total / ROUNDS, best, ROUNDS, load_us);
}

/* ---- the compiled-filter cache --------------------------------------------------------- */

static const char errno77[] = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                              "[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":77}]}";

/* The one cache file in dir: its inode, or 0 if there is not exactly one. */
static ino_t cache_file(const char *dir, char *path, size_t size)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    ino_t ino = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        n++;
        snprintf(path, size, "%s/%s", dir, e->d_name);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        ino = st.st_ino;
    }
    closedir(d);
    return n == 1 ? ino : 0;
}

static struct rt_seccomp *compile_cached(const char *text, int dirfd)
{
    _cleanup_json_ json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    _cleanup_berr_ struct berr *err = NULL;
    struct rt_seccomp *sc = rt_seccomp_compile_cached(j, "config.json", dirfd, &err);
    if (sc == NULL)
        fail_msg("%s", err ? err->msg : "(no error)");
    return sc;
}

static void test_cache(void **state)
{
    char dir[] = "/tmp/berth-test-seccomp-XXXXXX";
    assert_non_null(mkdtemp(dir));
    _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dirfd >= 0);
    char path[PATH_MAX];

    /* Miss: compiled and stored. */
    struct rt_seccomp *sc = compile_cached(errno77, dirfd);
    assert_child_ok(in_child(child_getppid_errno, sc));
    rt_seccomp_free(sc);
    ino_t ino = cache_file(dir, path, sizeof(path));
    assert_true(ino != 0);

    /* Hit: the same file, the same behaviour. */
    sc = compile_cached(errno77, dirfd);
    assert_child_ok(in_child(child_getppid_errno, sc));
    rt_seccomp_free(sc);
    assert_true(cache_file(dir, path, sizeof(path)) == ino);

    /* A damaged file is a miss, and is replaced. */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    off_t end = lseek(fd, 0, SEEK_END);
    char byte;
    assert_int_equal(pread(fd, &byte, 1, end - 1), 1);
    byte ^= 0x5a;
    assert_int_equal(pwrite(fd, &byte, 1, end - 1), 1);
    close(fd);
    sc = compile_cached(errno77, dirfd);
    assert_child_ok(in_child(child_getppid_errno, sc));
    rt_seccomp_free(sc);
    ino_t ino2 = cache_file(dir, path, sizeof(path));
    assert_true(ino2 != 0 && ino2 != ino);

    /* So is a file others could have written. */
    assert_int_equal(chmod(path, 0666), 0);
    sc = compile_cached(errno77, dirfd);
    rt_seccomp_free(sc);
    ino_t ino3 = cache_file(dir, path, sizeof(path));
    assert_true(ino3 != 0 && ino3 != ino2);

    /* Validation still runs on a cached profile's neighbours. */
    _cleanup_json_ json_t *bad = json_loads("{\"defaultAction\":\"SCMP_ACT_FOO\"}", 0, NULL);
    _cleanup_berr_ struct berr *err = NULL;
    assert_null(rt_seccomp_compile_cached(bad, "config.json", dirfd, &err));
    assert_non_null(err);

    /* A profile that differs in a single value gets its own filter. */
    sc = compile_cached("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                        "[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":78}]}",
                        dirfd);
    int status = in_child(child_getppid_errno, sc);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1); /* 78, not 77 */
    rt_seccomp_free(sc);

    assert_int_equal(rm_rf_at(AT_FDCWD, dir, NULL), 0);
}

static void test_features(void **state)
{
    _cleanup_json_ json_t *f = rt_seccomp_features();
    assert_non_null(f);
    assert_true(json_is_true(json_object_get(f, "enabled")));
    static const char *const arrays[] = {"actions", "operators", "archs", "knownFlags",
                                         "supportedFlags"};
    for (size_t i = 0; i < ARRAY_SIZE(arrays); i++)
        assert_true(json_is_array(json_object_get(f, arrays[i])));

    bool allow = false, notify = false;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(f, "actions"), i, v)
    {
        allow |= strcmp(json_string_value(v), "SCMP_ACT_ALLOW") == 0;
        notify |= strcmp(json_string_value(v), "SCMP_ACT_NOTIFY") == 0;
    }
    assert_true(allow);
    assert_false(notify);
    assert_int_equal(json_array_size(json_object_get(f, "operators")), 7);
    assert_int_equal(json_array_size(json_object_get(f, "knownFlags")), 4);

    /* Every advertised arch and flag must be accepted by compile. */
    _cleanup_json_ json_t *profile =
        json_pack("{s:s,s:O,s:O}", "defaultAction", "SCMP_ACT_ALLOW", "architectures",
                  json_object_get(f, "archs"), "flags", json_object_get(f, "supportedFlags"));
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_seccomp_ struct rt_seccomp *sc = rt_seccomp_compile(profile, "config.json", &err);
    if (sc == NULL)
        fail_msg("%s", err->msg);
    if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
        bool x86_64 = false;
        json_array_foreach(json_object_get(f, "archs"), i, v)
        {
            x86_64 |= strcmp(json_string_value(v), "SCMP_ARCH_X86_64") == 0;
        }
        assert_true(x86_64);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_is_no_filter),
        cmocka_unit_test(test_valid_profiles_compile),
        cmocka_unit_test(test_invalid_fields_are_named),
        cmocka_unit_test(test_unknown_syscall_and_default_action_rules_skipped),
        cmocka_unit_test(test_load_errno_rule),
        cmocka_unit_test(test_load_default_errno),
        cmocka_unit_test(test_load_arg_filters),
        cmocka_unit_test(test_load_kill_process),
        cmocka_unit_test(test_load_without_nnp_as_root),
        cmocka_unit_test(test_docker_sized_profile_timing),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_features),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
