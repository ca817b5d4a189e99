/* linux.seccomp: validate a runtime-spec profile and compile it with libseccomp in the parent,
 * then export it as plain BPF. The container child only hands that program to seccomp(2): no
 * libseccomp, no allocation and no work proportional to the profile after fork. Also the
 * "seccomp" object of `features`. */
#include "runtime/seccomp.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <stdio.h>
#include <unistd.h>

/* Older kernel headers lack the newer constants; the values are ABI. */
#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

/* Caps on what an untrusted config.json can make us do before the kernel's own limit on the
 * program (BPF_MAXINSNS) is reached. Docker's profile has ~60 entries and ~400 names. */
#define MAX_SYSCALL_ENTRIES 4096
#define MAX_NAMES_PER_ENTRY 4096
#define MAX_ARGS_PER_ENTRY  64
#define MAX_ARG_INDEX       5
#define DEFAULT_ERRNO       EPERM

struct rt_seccomp {
    struct sock_filter *insns;
    unsigned short n_insns;
    unsigned int flags; /* SECCOMP_FILTER_FLAG_* passed to seccomp(2) */
};

enum act_kind {
    ACT_KILL_THREAD,
    ACT_KILL_PROCESS,
    ACT_TRAP,
    ACT_ERRNO,
    ACT_TRACE,
    ACT_ALLOW,
    ACT_LOG,
    ACT_NOTIFY,
};

static const struct {
    const char *name;
    enum act_kind kind;
} action_table[] = {
    {"SCMP_ACT_KILL", ACT_KILL_THREAD}, /* the kernel's historical "kill" kills the thread */
    {"SCMP_ACT_KILL_PROCESS", ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", ACT_KILL_THREAD},
    {"SCMP_ACT_TRAP", ACT_TRAP},
    {"SCMP_ACT_ERRNO", ACT_ERRNO},
    {"SCMP_ACT_TRACE", ACT_TRACE},
    {"SCMP_ACT_ALLOW", ACT_ALLOW},
    {"SCMP_ACT_LOG", ACT_LOG},
    {"SCMP_ACT_NOTIFY", ACT_NOTIFY},
};

static const struct {
    const char *name;
    enum scmp_compare op;
} op_table[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* Spec names and libseccomp's names. Resolved at run time so that a newer libseccomp (2.6 adds
 * loongarch64, m68k, sh) is used without a rebuild; names it does not know are skipped. */
static const struct {
    const char *spec_name;
    const char *lib_name;
} arch_table[] = {
    {"SCMP_ARCH_X86", "x86"},
    {"SCMP_ARCH_X86_64", "x86_64"},
    {"SCMP_ARCH_X32", "x32"},
    {"SCMP_ARCH_ARM", "arm"},
    {"SCMP_ARCH_AARCH64", "aarch64"},
    {"SCMP_ARCH_MIPS", "mips"},
    {"SCMP_ARCH_MIPS64", "mips64"},
    {"SCMP_ARCH_MIPS64N32", "mips64n32"},
    {"SCMP_ARCH_MIPSEL", "mipsel"},
    {"SCMP_ARCH_MIPSEL64", "mipsel64"},
    {"SCMP_ARCH_MIPSEL64N32", "mipsel64n32"},
    {"SCMP_ARCH_PPC", "ppc"},
    {"SCMP_ARCH_PPC64", "ppc64"},
    {"SCMP_ARCH_PPC64LE", "ppc64le"},
    {"SCMP_ARCH_S390", "s390"},
    {"SCMP_ARCH_S390X", "s390x"},
    {"SCMP_ARCH_PARISC", "parisc"},
    {"SCMP_ARCH_PARISC64", "parisc64"},
    {"SCMP_ARCH_RISCV64", "riscv64"},
    {"SCMP_ARCH_LOONGARCH64", "loongarch64"},
    {"SCMP_ARCH_M68K", "m68k"},
    {"SCMP_ARCH_SH", "sh"},
    {"SCMP_ARCH_SHEB", "sheb"},
};

/* We load the exported BPF ourselves, so these are kernel flags passed straight to seccomp(2)
 * rather than libseccomp attributes (which only act when libseccomp loads the filter). */
static const struct {
    const char *name;
    unsigned int flag;
} flag_table[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    /* Only meaningful with a listener, which we refuse; the kernel rejects it without one. */
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

static const char notify_unsupported[] = "seccomp notify (listener) is not supported by berth-runc";

static void filter_ctx_freep(scmp_filter_ctx *ctx)
{
    if (*ctx)
        seccomp_release(*ctx);
    *ctx = NULL;
}

static long sys_seccomp(unsigned int op, unsigned int flags, void *args)
{
    return syscall(SYS_seccomp, op, flags, args);
}

/* The kernel checks the flags before it reads the program, so a NULL program fails with EFAULT
 * exactly when the flags are known (and EINVAL when not). */
static bool kernel_has_flag(unsigned int flag)
{
    if (flag == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
        return false;
    return sys_seccomp(SECCOMP_SET_MODE_FILTER, flag, NULL) < 0 && errno == EFAULT;
}

/* KILL_PROCESS and LOG came with Linux 4.14; everything else is older than seccomp(2). */
static bool kernel_has_action(enum act_kind kind)
{
    static signed char known[ACT_NOTIFY + 1]; /* 0: not asked yet, 1: yes, -1: no */
    uint32_t ret;
    if (known[kind] != 0)
        return known[kind] > 0;
    switch (kind) {
    case ACT_KILL_PROCESS:
        ret = SECCOMP_RET_KILL_PROCESS;
        break;
    case ACT_LOG:
        ret = SECCOMP_RET_LOG;
        break;
    case ACT_NOTIFY:
        return false;
    default:
        return true;
    }
    known[kind] = sys_seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &ret) == 0 ? 1 : -1;
    return known[kind] > 0;
}

/* Since Linux 5.11 the kernel works out, when a filter is attached, which syscalls it allows
 * whatever their arguments, and skips the filter for those. The other calls still run the
 * program: before 5.11, every call. There libseccomp's balanced tree (~log2(n) comparisons, not
 * a scan of a few hundred rules: about 90 ns saved per call here) is worth its compile time
 * (about +40%, 4 ms for Docker's profile on three ABIs); with the kernel's cache it is not. */
static bool kernel_caches_actions(void)
{
    struct utsname u;
    unsigned major = 0, minor = 0;
    if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
        return true;
    return major > 5 || (major == 5 && minor >= 11);
}

/* An optional field: absent or null (as Go's runc reads them) gives NULL. */
static json_t *get_optional(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

/* A uint64 field. The spec parser hands literals from 2^63 up to us as their two's-complement
 * negatives (jansson stops at INT64_MAX), so the cast gives the literal back. */
static bool get_u64(json_t *v, uint64_t *out)
{
    if (!json_is_integer(v))
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* Parse a non-negative JSON integer no greater than max. */
static bool get_uint(json_t *v, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* Turn an action name and optional errno into libseccomp's action value. field names the JSON
 * field of the action ("defaultAction", "syscalls[3].action"); errno_field that of the errno. */
static int resolve_action(json_t *jact, json_t *jerrno, const char *where, const char *field,
                          const char *errno_field, uint32_t *out, struct berr **err)
{
    if (jact == NULL)
        return berr_set(err, 0, "%s: linux.seccomp.%s: required", where, field);
    if (!json_is_string(jact))
        return berr_set(err, 0, "%s: linux.seccomp.%s: must be a string", where, field);
    const char *name = json_string_value(jact);
    size_t i;
    for (i = 0; i < ARRAY_SIZE(action_table); i++)
        if (strcmp(name, action_table[i].name) == 0)
            break;
    if (i == ARRAY_SIZE(action_table))
        return berr_set(err, 0, "%s: linux.seccomp.%s: unknown action \"%s\"", where, field, name);
    enum act_kind kind = action_table[i].kind;
    if (kind == ACT_NOTIFY)
        return berr_set(err, 0, "%s: linux.seccomp.%s: %s", where, field, notify_unsupported);
    if (!kernel_has_action(kind))
        return berr_set(err, 0, "%s: linux.seccomp.%s: %s is not supported by this kernel", where,
                        field, name);

    uint64_t errnum = DEFAULT_ERRNO;
    if (jerrno != NULL) {
        if (kind != ACT_ERRNO && kind != ACT_TRACE)
            return berr_set(err, 0,
                            "%s: linux.seccomp.%s: %s takes no errno (only SCMP_ACT_ERRNO "
                            "and SCMP_ACT_TRACE do)",
                            where, errno_field, name);
        /* The errno travels in the 16 data bits of the filter's return value. */
        if (!get_uint(jerrno, SECCOMP_RET_DATA, &errnum))
            return berr_set(err, 0, "%s: linux.seccomp.%s: must be an integer from 0 to %u", where,
                            errno_field, SECCOMP_RET_DATA);
    }

    switch (kind) {
    case ACT_KILL_THREAD:
        *out = SCMP_ACT_KILL_THREAD;
        break;
    case ACT_KILL_PROCESS:
        *out = SCMP_ACT_KILL_PROCESS;
        break;
    case ACT_TRAP:
        *out = SCMP_ACT_TRAP;
        break;
    case ACT_ERRNO:
        *out = SCMP_ACT_ERRNO((uint32_t)errnum);
        break;
    case ACT_TRACE:
        /* runc's default for TRACE too: without a tracer the call fails with ENOSYS anyway. */
        *out = SCMP_ACT_TRACE((uint32_t)errnum);
        break;
    case ACT_ALLOW:
        *out = SCMP_ACT_ALLOW;
        break;
    case ACT_LOG:
        *out = SCMP_ACT_LOG;
        break;
    case ACT_NOTIFY:
        break;
    }
    return 0;
}

/* Validate linux.seccomp.architectures; with a ctx, also add them to it. */
static int add_architectures(scmp_filter_ctx ctx, json_t *archs, const char *where,
                             struct berr **err)
{
    if (archs == NULL || json_is_null(archs))
        return 0;
    if (!json_is_array(archs))
        return berr_set(err, 0, "%s: linux.seccomp.architectures: must be an array", where);
    size_t i;
    json_t *a;
    json_array_foreach(archs, i, a)
    {
        if (!json_is_string(a))
            return berr_set(err, 0, "%s: linux.seccomp.architectures[%zu]: must be a string", where,
                            i);
        const char *name = json_string_value(a);
        size_t k;
        for (k = 0; k < ARRAY_SIZE(arch_table); k++)
            if (strcmp(name, arch_table[k].spec_name) == 0)
                break;
        if (k == ARRAY_SIZE(arch_table))
            return berr_set(err, 0,
                            "%s: linux.seccomp.architectures[%zu]: unknown architecture "
                            "\"%s\"",
                            where, i, name);
        if (ctx == NULL)
            continue;
        /* Skipping is safe: calls from an architecture missing from the filter get the bad-arch
         * action (kill), so the filter only gets stricter. */
        uint32_t token = seccomp_arch_resolve_name(arch_table[k].lib_name);
        if (token == 0) {
            log_warn("seccomp: architecture %s is unknown to libseccomp %u.%u.%u; skipped", name,
                     seccomp_version()->major, seccomp_version()->minor, seccomp_version()->micro);
            continue;
        }
        int rc = seccomp_arch_add(ctx, token);
        if (rc == -EEXIST)
            continue;
        /* EDOM: the other byte order, which can never run here (profiles list every arch). */
        if (rc == -EDOM)
            log_debug("seccomp: architecture %s cannot run on this host; skipped", name);
        else if (rc < 0)
            log_warn("seccomp: cannot add architecture %s (%s); skipped", name, strerror(-rc));
    }
    return 0;
}

static int parse_flags(json_t *flags, const char *where, unsigned int *out, struct berr **err)
{
    *out = 0;
    if (flags == NULL || json_is_null(flags))
        return 0;
    if (!json_is_array(flags))
        return berr_set(err, 0, "%s: linux.seccomp.flags: must be an array", where);
    size_t i;
    json_t *f;
    json_array_foreach(flags, i, f)
    {
        if (!json_is_string(f))
            return berr_set(err, 0, "%s: linux.seccomp.flags[%zu]: must be a string", where, i);
        const char *name = json_string_value(f);
        size_t k;
        for (k = 0; k < ARRAY_SIZE(flag_table); k++)
            if (strcmp(name, flag_table[k].name) == 0)
                break;
        if (k == ARRAY_SIZE(flag_table))
            return berr_set(err, 0, "%s: linux.seccomp.flags[%zu]: unknown flag \"%s\"", where, i,
                            name);
        if (flag_table[k].flag == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
            return berr_set(err, 0, "%s: linux.seccomp.flags[%zu]: %s: %s", where, i, name,
                            notify_unsupported);
        if (!kernel_has_flag(flag_table[k].flag))
            return berr_set(err, 0,
                            "%s: linux.seccomp.flags[%zu]: %s is not supported by this "
                            "kernel",
                            where, i, name);
        *out |= flag_table[k].flag;
    }
    return 0;
}

/* One entry's argument conditions, validated; `split` when an index repeats, in which case runc
 * adds each condition as a rule of its own (libseccomp would AND them, which for two EQ on one
 * argument can never match). */
struct arg_conds {
    struct scmp_arg_cmp cmp[MAX_ARGS_PER_ENTRY];
    unsigned n;
    bool split;
};

static int parse_args(json_t *args, const char *where, size_t entry, struct arg_conds *out,
                      struct berr **err)
{
    out->n = 0;
    out->split = false;
    if (args == NULL || json_is_null(args))
        return 0;
    if (!json_is_array(args))
        return berr_set(err, 0, "%s: linux.seccomp.syscalls[%zu].args: must be an array", where,
                        entry);
    if (json_array_size(args) > MAX_ARGS_PER_ENTRY)
        return berr_set(err, 0, "%s: linux.seccomp.syscalls[%zu].args: more than %d conditions",
                        where, entry, MAX_ARGS_PER_ENTRY);
    unsigned seen = 0;
    size_t i;
    json_t *a;
    json_array_foreach(args, i, a)
    {
        if (!json_is_object(a))
            return berr_set(err, 0, "%s: linux.seccomp.syscalls[%zu].args[%zu]: must be an object",
                            where, entry, i);
        uint64_t index, value, value_two = 0;
        json_t *j = json_object_get(a, "index");
        if (j == NULL)
            return berr_set(err, 0, "%s: linux.seccomp.syscalls[%zu].args[%zu].index: required",
                            where, entry, i);
        if (!get_uint(j, MAX_ARG_INDEX, &index))
            return berr_set(err, 0,
                            "%s: linux.seccomp.syscalls[%zu].args[%zu].index: must be "
                            "an integer from 0 to %d",
                            where, entry, i, MAX_ARG_INDEX);
        j = json_object_get(a, "value");
        if (j == NULL)
            return berr_set(err, 0, "%s: linux.seccomp.syscalls[%zu].args[%zu].value: required",
                            where, entry, i);
        if (!get_u64(j, &value))
            return berr_set(err, 0,
                            "%s: linux.seccomp.syscalls[%zu].args[%zu].value: must be an "
                            "unsigned integer",
                            where, entry, i);
        j = get_optional(a, "valueTwo");
        if (j != NULL && !get_u64(j, &value_two))
            return berr_set(err, 0,
                            "%s: linux.seccomp.syscalls[%zu].args[%zu].valueTwo: must be "
                            "an unsigned integer",
                            where, entry, i);
        j = json_object_get(a, "op");
        if (j == NULL)
            return berr_set(err, 0, "%s: linux.seccomp.syscalls[%zu].args[%zu].op: required", where,
                            entry, i);
        if (!json_is_string(j))
            return berr_set(err, 0,
                            "%s: linux.seccomp.syscalls[%zu].args[%zu].op: must be a "
                            "string",
                            where, entry, i);
        size_t k;
        for (k = 0; k < ARRAY_SIZE(op_table); k++)
            if (strcmp(json_string_value(j), op_table[k].name) == 0)
                break;
        if (k == ARRAY_SIZE(op_table))
            return berr_set(err, 0,
                            "%s: linux.seccomp.syscalls[%zu].args[%zu].op: unknown "
                            "operator \"%s\"",
                            where, entry, i, json_string_value(j));

        struct scmp_arg_cmp *c = &out->cmp[out->n++];
        c->arg = (unsigned)index;
        c->op = op_table[k].op;
        /* For MASKED_EQ the spec's value is the mask and valueTwo the datum, which is also
         * libseccomp's order; other operators ignore valueTwo. */
        c->datum_a = value;
        c->datum_b = c->op == SCMP_CMP_MASKED_EQ ? value_two : 0;
        if (seen & (1u << index))
            out->split = true;
        seen |= 1u << index;
    }
    return 0;
}

static int add_rule(scmp_filter_ctx ctx, int nr, uint32_t action, const struct arg_conds *conds,
                    const char *where, size_t entry, const char *name, struct berr **err)
{
    int rc = 0;
    if (conds->n == 0 || !conds->split) {
        rc = seccomp_rule_add_array(ctx, action, nr, conds->n, conds->cmp);
    } else {
        for (unsigned i = 0; i < conds->n && rc == 0; i++)
            rc = seccomp_rule_add_array(ctx, action, nr, 1, &conds->cmp[i]);
    }
    if (rc < 0)
        return berr_set(err, -rc, "%s: linux.seccomp.syscalls[%zu]: add rule for %s", where, entry,
                        name);
    return 0;
}

/* Validate linux.seccomp.syscalls; with a ctx, also add the rules to it. */
static int add_syscalls(scmp_filter_ctx ctx, json_t *syscalls, uint32_t default_action,
                        const char *where, struct berr **err)
{
    if (syscalls == NULL || json_is_null(syscalls))
        return 0;
    if (!json_is_array(syscalls))
        return berr_set(err, 0, "%s: linux.seccomp.syscalls: must be an array", where);
    if (json_array_size(syscalls) > MAX_SYSCALL_ENTRIES)
        return berr_set(err, 0, "%s: linux.seccomp.syscalls: more than %d entries", where,
                        MAX_SYSCALL_ENTRIES);
    size_t i;
    json_t *sc;
    json_array_foreach(syscalls, i, sc)
    {
        if (!json_is_object(sc))
            return berr_set(err, 0, "%s: linux.seccomp.syscalls[%zu]: must be an object", where, i);
        json_t *names = json_object_get(sc, "names");
        if (names == NULL)
            return berr_set(err, 0, "%s: linux.seccomp.syscalls[%zu].names: required", where, i);
        if (!json_is_array(names))
            return berr_set(err, 0, "%s: linux.seccomp.syscalls[%zu].names: must be an array",
                            where, i);
        if (json_array_size(names) > MAX_NAMES_PER_ENTRY)
            return berr_set(err, 0, "%s: linux.seccomp.syscalls[%zu].names: more than %d names",
                            where, i, MAX_NAMES_PER_ENTRY);

        char field[64], errno_field[64];
        snprintf(field, sizeof(field), "syscalls[%zu].action", i);
        snprintf(errno_field, sizeof(errno_field), "syscalls[%zu].errnoRet", i);
        uint32_t action;
        if (resolve_action(json_object_get(sc, "action"), get_optional(sc, "errnoRet"), where,
                           field, errno_field, &action, err) < 0)
            return -1;
        struct arg_conds conds;
        if (parse_args(json_object_get(sc, "args"), where, i, &conds, err) < 0)
            return -1;

        size_t k;
        json_t *n;
        json_array_foreach(names, k, n)
        {
            if (!json_is_string(n) || json_string_length(n) == 0)
                return berr_set(err, 0,
                                "%s: linux.seccomp.syscalls[%zu].names[%zu]: must be a "
                                "non-empty string",
                                where, i, k);
        }
        /* runc compares the whole action, errno included: ERRNO(ENOSYS) under a default of
         * ERRNO(EPERM) is a real rule. libseccomp refuses rules equal to the default. */
        if (ctx == NULL || action == default_action)
            continue;
        json_array_foreach(names, k, n)
        {
            const char *name = json_string_value(n);
            /* Profiles (Docker's) list calls newer than this libseccomp, or of other
             * architectures only; a name libseccomp cannot resolve cannot be filtered. */
            int nr = seccomp_syscall_resolve_name(name);
            if (nr == __NR_SCMP_ERROR) {
                log_debug("seccomp: unknown syscall \"%s\" ignored", name);
                continue;
            }
            if (add_rule(ctx, nr, action, &conds, where, i, name, err) < 0)
                return -1;
        }
    }
    return 0;
}

static int export_bpf(scmp_filter_ctx ctx, const char *where, struct rt_seccomp *sc,
                      struct berr **err)
{
    _cleanup_close_ int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return berr_sys(err, "%s: linux.seccomp: memfd_create", where);
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0)
        return berr_set(err, -rc, "%s: linux.seccomp: compile filter", where);
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0)
        return berr_sys(err, "%s: linux.seccomp: size of compiled filter", where);
    if (size == 0 || size % sizeof(struct sock_filter) != 0)
        return berr_set(err, 0, "%s: linux.seccomp: compiled filter has a bad size (%lld bytes)",
                        where, (long long)size);
    size_t n = (size_t)size / sizeof(struct sock_filter);
    if (n > BPF_MAXINSNS)
        return berr_set(err, 0,
                        "%s: linux.seccomp: profile compiles to %zu BPF instructions, "
                        "more than the kernel's limit of %d",
                        where, n, BPF_MAXINSNS);
    sc->insns = xmalloc((size_t)size);
    ssize_t got = pread(fd, sc->insns, (size_t)size, 0);
    if (got != size)
        return berr_set(err, got < 0 ? errno : EIO, "%s: linux.seccomp: read compiled filter",
                        where);
    sc->n_insns = (unsigned short)n;
    return 0;
}

/* A validated profile: what libseccomp needs, borrowed from the JSON. */
struct profile {
    uint32_t default_action;
    unsigned int flags;
    json_t *archs, *syscalls;
};

/* Everything that can be wrong with the profile is found here, before libseccomp is used. */
static int validate(json_t *seccomp, const char *where, struct profile *pr, struct berr **err)
{
    if (!json_is_object(seccomp))
        return berr_set(err, 0, "%s: linux.seccomp: must be an object", where);
    json_t *listener = get_optional(seccomp, "listenerPath");
    if (listener != NULL && !(json_is_string(listener) && json_string_length(listener) == 0))
        return berr_set(err, 0, "%s: linux.seccomp.listenerPath: %s", where, notify_unsupported);
    if (resolve_action(json_object_get(seccomp, "defaultAction"),
                       get_optional(seccomp, "defaultErrnoRet"), where, "defaultAction",
                       "defaultErrnoRet", &pr->default_action, err) < 0)
        return -1;
    if (parse_flags(json_object_get(seccomp, "flags"), where, &pr->flags, err) < 0)
        return -1;
    pr->archs = json_object_get(seccomp, "architectures");
    pr->syscalls = json_object_get(seccomp, "syscalls");
    if (add_architectures(NULL, pr->archs, where, err) < 0)
        return -1;
    return add_syscalls(NULL, pr->syscalls, pr->default_action, where, err);
}

/* libseccomp's optimisation level: see kernel_caches_actions(). */
static int optimize_level(void)
{
    return kernel_caches_actions() ? 1 : 2;
}

static struct rt_seccomp *build(const struct profile *pr, const char *where, struct berr **err)
{
    _cleanup_(filter_ctx_freep) scmp_filter_ctx ctx = seccomp_init(pr->default_action);
    if (ctx == NULL) {
        berr_set(err, 0, "%s: linux.seccomp.defaultAction: libseccomp refused the action", where);
        return NULL;
    }
    /* The core sets no_new_privs per process.noNewPrivileges; and as we load the exported BPF
     * ourselves, libseccomp's load-time attributes would not apply anyway. */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (rc == 0)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, (uint32_t)optimize_level());
    if (rc < 0) {
        berr_set(err, -rc, "%s: linux.seccomp: set libseccomp attribute", where);
        return NULL;
    }
    if (add_architectures(ctx, pr->archs, where, err) < 0 ||
        add_syscalls(ctx, pr->syscalls, pr->default_action, where, err) < 0)
        return NULL;

    _cleanup_seccomp_ struct rt_seccomp *sc = xzalloc(sizeof(*sc));
    sc->flags = pr->flags;
    if (export_bpf(ctx, where, sc, err) < 0)
        return NULL;
    return steal_ptr(&sc);
}

struct rt_seccomp *rt_seccomp_compile(json_t *seccomp, const char *where, struct berr **err)
{
    if (seccomp == NULL || json_is_null(seccomp))
        return NULL;
    if (where == NULL)
        where = "config.json";
    struct profile pr;
    if (validate(seccomp, where, &pr, err) < 0)
        return NULL;
    return build(&pr, where, err);
}

/* ---- the compiled-filter cache ----------------------------------------------------------
 * A file per profile: header, the profile as canonical JSON (compared byte for byte, so a hash
 * collision cannot hand out another profile's filter), then the BPF. Anything unexpected is a
 * miss. Files are written to a unique temporary name, fsynced and renamed, so concurrent
 * creates of the same profile never see a torn file; the checksum catches one left by a crash. */

#define CACHE_MAGIC       "BRTHSCF1"
#define CACHE_MAX_PROFILE (4u << 20)

struct cache_header {
    char magic[8];
    uint32_t lib_version; /* libseccomp major << 16 | minor << 8 | micro */
    uint32_t native_arch;
    uint32_t optimize;
    uint32_t flags;
    uint32_t profile_len; /* bytes of canonical JSON after the header */
    uint32_t n_insns;     /* BPF instructions after the JSON */
    uint64_t checksum;    /* FNV-1a of everything after the header */
};

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    return h;
}

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)

static void cache_header_init(struct cache_header *h, const struct rt_seccomp *sc,
                              size_t profile_len)
{
    const struct scmp_version *v = seccomp_version();
    memset(h, 0, sizeof(*h));
    memcpy(h->magic, CACHE_MAGIC, sizeof(h->magic));
    h->lib_version = v->major << 16 | v->minor << 8 | v->micro;
    h->native_arch = seccomp_arch_native();
    h->optimize = (uint32_t)optimize_level();
    h->flags = sc ? sc->flags : 0;
    h->profile_len = (uint32_t)profile_len;
    h->n_insns = sc ? sc->n_insns : 0;
}

static struct rt_seccomp *cache_lookup(int dirfd, const char *name, const char *profile,
                                       size_t profile_len, unsigned int flags)
{
    _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    /* The filter goes into containers: trust only our own, unshared files. */
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022) != 0)
        return NULL;
    size_t want = sizeof(struct cache_header) + profile_len;
    if ((uint64_t)st.st_size <= want ||
        (uint64_t)st.st_size > want + BPF_MAXINSNS * sizeof(struct sock_filter))
        return NULL;
    size_t size = (size_t)st.st_size;
    _cleanup_free_ char *buf = xmalloc(size);
    if (read_all(fd, buf, size) != (ssize_t)size)
        return NULL;

    struct cache_header h, expect;
    memcpy(&h, buf, sizeof(h));
    cache_header_init(&expect, NULL, profile_len);
    expect.flags = flags;
    if (memcmp(h.magic, expect.magic, sizeof(h.magic)) != 0 ||
        h.lib_version != expect.lib_version || h.native_arch != expect.native_arch ||
        h.optimize != expect.optimize || h.flags != flags || h.profile_len != profile_len ||
        h.n_insns == 0 || size != want + h.n_insns * sizeof(struct sock_filter) ||
        h.checksum != fnv1a(buf + sizeof(h), size - sizeof(h), FNV_OFFSET) ||
        memcmp(buf + sizeof(h), profile, profile_len) != 0)
        return NULL;

    struct rt_seccomp *sc = xzalloc(sizeof(*sc));
    sc->flags = flags;
    sc->n_insns = (unsigned short)h.n_insns;
    sc->insns = xmalloc(h.n_insns * sizeof(struct sock_filter));
    memcpy(sc->insns, buf + want, h.n_insns * sizeof(struct sock_filter));
    return sc;
}

static int cache_store(int dirfd, const char *name, const char *profile, size_t profile_len,
                       const struct rt_seccomp *sc)
{
    size_t bpf_len = sc->n_insns * sizeof(struct sock_filter);
    size_t size = sizeof(struct cache_header) + profile_len + bpf_len;
    _cleanup_free_ char *buf = xmalloc(size);
    struct cache_header h;
    cache_header_init(&h, sc, profile_len);
    memcpy(buf + sizeof(h), profile, profile_len);
    memcpy(buf + sizeof(h) + profile_len, sc->insns, bpf_len);
    h.checksum = fnv1a(buf + sizeof(h), size - sizeof(h), FNV_OFFSET);
    memcpy(buf, &h, sizeof(h));

    char tmp[96];
    snprintf(tmp, sizeof(tmp), "%s.%d.tmp", name, (int)getpid());
    _cleanup_close_ int fd =
        openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    if (write_all(fd, buf, size) < 0 || fsync(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
        unlinkat(dirfd, tmp, 0);
        return -1;
    }
    return 0;
}

struct rt_seccomp *rt_seccomp_compile_cached(json_t *seccomp, const char *where, int cache_dirfd,
                                             struct berr **err)
{
    if (seccomp == NULL || json_is_null(seccomp))
        return NULL;
    if (where == NULL)
        where = "config.json";
    struct profile pr;
    if (validate(seccomp, where, &pr, err) < 0)
        return NULL;
    if (cache_dirfd < 0)
        return build(&pr, where, err);

    _cleanup_free_ char *profile = json_dumps(seccomp, JSON_COMPACT | JSON_SORT_KEYS);
    size_t len = profile ? strlen(profile) : 0;
    if (profile == NULL || len > CACHE_MAX_PROFILE)
        return build(&pr, where, err);
    char name[64];
    snprintf(name, sizeof(name), "seccomp-%016" PRIx64 ".bpf", fnv1a(profile, len, FNV_OFFSET));

    struct rt_seccomp *sc = cache_lookup(cache_dirfd, name, profile, len, pr.flags);
    if (sc != NULL)
        return sc;
    sc = build(&pr, where, err);
    if (sc != NULL && cache_store(cache_dirfd, name, profile, len, sc) < 0)
        log_debug("seccomp: cannot cache the compiled filter as %s: %s", name, strerror(errno));
    return sc;
}

int rt_seccomp_load(struct rt_seccomp *sc, struct berr **err)
{
    if (sc == NULL)
        return 0;
    struct sock_fprog prog = {.len = sc->n_insns, .filter = sc->insns};
    long r = sys_seccomp(SECCOMP_SET_MODE_FILTER, sc->flags, &prog);
    /* Kernels before 3.17 have no seccomp(2); the prctl takes no flags. */
    if (r < 0 && errno == ENOSYS && sc->flags == 0)
        r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
    if (r > 0) /* TSYNC: the id of a thread that could not be synchronised */
        return berr_set(err, 0, "load seccomp filter: thread %ld cannot be synchronized", r);
    if (r < 0 && errno == EACCES)
        return berr_sys(err, "load seccomp filter (needs no_new_privs or CAP_SYS_ADMIN)");
    if (r < 0)
        return berr_sys(err, "load seccomp filter");
    return 0;
}

void rt_seccomp_free(struct rt_seccomp *sc)
{
    if (sc == NULL)
        return;
    free(sc->insns);
    free(sc);
}

void rt_seccomp_freep(struct rt_seccomp **sc)
{
    rt_seccomp_free(*sc);
    *sc = NULL;
}

json_t *rt_seccomp_features(void)
{
    json_t *actions = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(action_table); i++)
        /* NOTIFY is recognised only to be refused; advertising it would invite profiles that
         * then fail. */
        if (action_table[i].kind != ACT_NOTIFY)
            json_array_append_new(actions, json_string(action_table[i].name));
    json_t *operators = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(op_table); i++)
        json_array_append_new(operators, json_string(op_table[i].name));
    json_t *archs = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(arch_table); i++)
        if (seccomp_arch_resolve_name(arch_table[i].lib_name) != 0)
            json_array_append_new(archs, json_string(arch_table[i].spec_name));
    json_t *known = json_array();
    json_t *supported = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(flag_table); i++) {
        json_array_append_new(known, json_string(flag_table[i].name));
        if (kernel_has_flag(flag_table[i].flag))
            json_array_append_new(supported, json_string(flag_table[i].name));
    }
    return json_pack("{s:b,s:o,s:o,s:o,s:o,s:o}", "enabled", 1, "actions", actions, "operators",
                     operators, "archs", archs, "knownFlags", known, "supportedFlags", supported);
}
