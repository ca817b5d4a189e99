/* Device rules: runc's defaults, the v1 "c 1:3 rwm" form, and for cgroup v2 an eBPF program
 * (BPF_PROG_TYPE_CGROUP_DEVICE) written instruction by instruction, loaded, and attached in
 * place of the previous one. */
#include "runtime/cgroup_internal.h"
#include "runtime/spec.h"

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- rules -------------------------------------------------------------------------------- */

/* Semantics: default deny; rules apply in order and, for each access bit requested (m, r, w),
 * the last rule that matches the device and carries that bit decides. A request is allowed
 * only if every requested bit is. A rule of type "a" stands for every device and every access
 * whatever its other fields say, as in the v1 kernel and runc. The eBPF program implements
 * exactly this. v1 gets "a" denied, then the rules written in order to devices.allow/deny; the
 * kernel's exception list agrees except where a deny overlaps an earlier allow without
 * naming the same type:major:minor (v1 cannot punch a hole in a wildcard allow, nor does a
 * wildcard deny remove a narrower allow). */

static int get_dev_number(json_t *obj, const char *key, const char *where, int64_t *out,
                          struct berr **err)
{
    json_t *v = json_object_get(obj, key);
    *out = CG_DEV_WILDCARD;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return berr_set(err, 0, "%s.%s: expected an integer", where, key);
    int64_t x = json_integer_value(v);
    /* Linux device numbers are 12 (major) and 20 (minor) bits; the eBPF program compares
     * them as signed 32-bit immediates. */
    if (x < -1 || x > INT32_MAX)
        return berr_set(err, 0, "%s.%s: %lld is not a device number (or -1 for any)", where, key,
                        (long long)x);
    *out = x;
    return 0;
}

int cg_device_rule_parse(json_t *obj, const char *where, struct cg_device_rule *out,
                         struct berr **err)
{
    if (!json_is_object(obj))
        return berr_set(err, 0, "%s: expected an object", where);
    json_t *allow = json_object_get(obj, "allow");
    if (allow == NULL)
        return berr_set(err, 0, "%s.allow: required", where);
    if (!json_is_boolean(allow))
        return berr_set(err, 0, "%s.allow: expected a boolean", where);
    out->allow = json_is_true(allow);

    json_t *type = json_object_get(obj, "type");
    out->type = 'a';
    if (type && !json_is_null(type)) {
        const char *t = json_string_value(type);
        if (t == NULL)
            return berr_set(err, 0, "%s.type: expected a string", where);
        if (strcmp(t, "a") != 0 && strcmp(t, "c") != 0 && strcmp(t, "b") != 0)
            return berr_set(err, 0, "%s.type: must be \"a\", \"c\" or \"b\" (got \"%s\")", where,
                            t);
        out->type = t[0];
    }
    if (get_dev_number(obj, "major", where, &out->major, err) < 0 ||
        get_dev_number(obj, "minor", where, &out->minor, err) < 0)
        return -1;

    json_t *access = json_object_get(obj, "access");
    out->access = 0;
    if (access && !json_is_null(access)) {
        const char *a = json_string_value(access);
        if (a == NULL)
            return berr_set(err, 0, "%s.access: expected a string", where);
        for (const char *p = a; *p; p++) {
            if (*p == 'r')
                out->access |= CG_ACC_READ;
            else if (*p == 'w')
                out->access |= CG_ACC_WRITE;
            else if (*p == 'm')
                out->access |= CG_ACC_MKNOD;
            else
                return berr_set(err, 0, "%s.access: invalid \"%s\" (only the letters r, w and m)",
                                where, a);
        }
    }
    /* No access given means all of it, as crun reads it. */
    if (out->access == 0)
        out->access = CG_ACC_ALL;
    if (out->type == 'a') {
        out->major = out->minor = CG_DEV_WILDCARD;
        out->access = CG_ACC_ALL;
    }
    return 0;
}

char *cg_device_rule_v1_string(const struct cg_device_rule *r)
{
    if (r->type == 'a')
        return xstrdup("a");
    char major[24] = "*", minor[24] = "*", acc[4];
    size_t n = 0;
    if (r->major != CG_DEV_WILDCARD)
        snprintf(major, sizeof(major), "%lld", (long long)r->major);
    if (r->minor != CG_DEV_WILDCARD)
        snprintf(minor, sizeof(minor), "%lld", (long long)r->minor);
    if (r->access & CG_ACC_READ)
        acc[n++] = 'r';
    if (r->access & CG_ACC_WRITE)
        acc[n++] = 'w';
    if (r->access & CG_ACC_MKNOD)
        acc[n++] = 'm';
    acc[n] = 0;
    return xasprintf("%c %s:%s %s", r->type, major, minor, acc);
}

/* runc's AllowedDevices (libcontainer/specconv), in its order. */
static const struct {
    const char *path; /* a spec device at this path replaces the rule, as in runc */
    struct cg_device_rule rule;
} default_rules[] = {
    {NULL, {true, 'c', CG_DEV_WILDCARD, CG_DEV_WILDCARD, CG_ACC_MKNOD}},
    {NULL, {true, 'b', CG_DEV_WILDCARD, CG_DEV_WILDCARD, CG_ACC_MKNOD}},
    {"/dev/null", {true, 'c', 1, 3, CG_ACC_ALL}},
    {"/dev/random", {true, 'c', 1, 8, CG_ACC_ALL}},
    {"/dev/full", {true, 'c', 1, 7, CG_ACC_ALL}},
    {"/dev/tty", {true, 'c', 5, 0, CG_ACC_ALL}},
    {"/dev/zero", {true, 'c', 1, 5, CG_ACC_ALL}},
    {"/dev/urandom", {true, 'c', 1, 9, CG_ACC_ALL}},
    {NULL, {true, 'c', 136, CG_DEV_WILDCARD, CG_ACC_ALL}}, /* /dev/pts/N */
    {NULL, {true, 'c', 5, 2, CG_ACC_ALL}},                 /* /dev/ptmx */
    {NULL, {true, 'c', 10, 200, CG_ACC_ALL}},              /* /dev/net/tun */
};

void rt_resources_add_default_devices(struct rt_resources *r, const struct rt_device *devs,
                                      size_t n)
{
    r->devices = xreallocarray(r->devices, r->n_devices + ARRAY_SIZE(default_rules) + 1,
                               sizeof(*r->devices));
    for (size_t i = 0; i < ARRAY_SIZE(default_rules); i++) {
        bool replaced = false;
        for (size_t k = 0; default_rules[i].path && k < n; k++)
            replaced |= devs[k].path && strcmp(devs[k].path, default_rules[i].path) == 0;
        if (!replaced)
            r->devices[r->n_devices++] = default_rules[i].rule;
    }
    r->has_devices = true;
}

/* ---- the eBPF program ----------------------------------------------------------------------
 *
 * The context is struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } with
 * access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*. r1 holds the context throughout;
 * r2 and r3 are scratch. Layout:
 *
 *   for each access bit B in (mknod, read, write):           -- one "section"
 *       r3 = ctx->access_type; w3 >>= 16
 *       if (r3 & B) goto +1                                  -- B requested?
 *       goto next_section                                    -- no: nothing to decide
 *       for each rule carrying B, last rule first:
 *           r2 = ctx->access_type; w2 &= 0xffff; if r2 != TYPE goto next_rule   (not for "a")
 *           r2 = ctx->major; if r2 != MAJOR goto next_rule                       (not for *)
 *           r2 = ctx->minor; if r2 != MINOR goto next_rule                       (not for *)
 *           goto next_section (allow) | goto deny (deny)
 *       goto deny                                            -- no rule matched
 *   allow: r0 = 1; exit
 *   deny:  r0 = 0; exit                                      -- only if something jumps here
 *
 * Every check reloads its field from the context so that the verifier sees the same state
 * at each label and prunes: verification stays linear in the number of rules. A rule with
 * no checks matches everything: the section ends there (the verifier rejects unreachable
 * instructions). All jumps go forward, with 16-bit offsets, hence the size cap. */

#define INSN(c, d, s, o, i)                                                                        \
    ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(dst, src, off)       INSN(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU32_IMM(op, dst, imm)    INSN(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV64_IMM(dst, imm)        INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JMP_IMM(op, dst, imm, off) INSN(BPF_JMP | (op) | BPF_K, dst, 0, off, imm)
#define JA(off)                    INSN(BPF_JMP | BPF_JA, 0, 0, off, 0)
#define EXIT()                     INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

#define CTX_ACCESS_TYPE 0
#define CTX_MAJOR       4
#define CTX_MINOR       8
#define MAX_INSNS       32000

struct prog {
    struct bpf_insn *v;
    size_t n, cap;
    size_t *next_section, n_next_section; /* jumps waiting for the end of this section */
    size_t *deny, n_deny;                 /* jumps waiting for the deny block */
};

static void emit(struct prog *p, struct bpf_insn insn)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->v = xreallocarray(p->v, p->cap, sizeof(*p->v));
    }
    p->v[p->n++] = insn;
}

static void emit_pending(struct prog *p, struct bpf_insn insn, size_t **list, size_t *n)
{
    *list = xreallocarray(*list, *n + 1, sizeof(**list));
    (*list)[(*n)++] = p->n;
    emit(p, insn);
}

static void resolve(struct prog *p, size_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p->v[list[i]].off = (int16_t)(p->n - list[i] - 1);
}

/* Emit one rule's checks and action; false if it has no checks (it matches everything). */
static bool emit_rule(struct prog *p, const struct cg_device_rule *r)
{
    size_t start = p->n;
    if (r->type != 'a') {
        int t = r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
        emit(p, LDX_W(BPF_REG_2, BPF_REG_1, CTX_ACCESS_TYPE));
        emit(p, ALU32_IMM(BPF_AND, BPF_REG_2, 0xffff));
        emit(p, JMP_IMM(BPF_JNE, BPF_REG_2, t, 0));
        if (r->major != CG_DEV_WILDCARD) {
            emit(p, LDX_W(BPF_REG_2, BPF_REG_1, CTX_MAJOR));
            emit(p, JMP_IMM(BPF_JNE, BPF_REG_2, (int32_t)r->major, 0));
        }
        if (r->minor != CG_DEV_WILDCARD) {
            emit(p, LDX_W(BPF_REG_2, BPF_REG_1, CTX_MINOR));
            emit(p, JMP_IMM(BPF_JNE, BPF_REG_2, (int32_t)r->minor, 0));
        }
    }
    size_t action = p->n;
    /* A failed check goes to the instruction after the action: the next rule. */
    for (size_t i = start; i < action; i++)
        if (BPF_CLASS(p->v[i].code) == BPF_JMP)
            p->v[i].off = (int16_t)(action - i);
    if (r->allow)
        emit_pending(p, JA(0), &p->next_section, &p->n_next_section);
    else
        emit_pending(p, JA(0), &p->deny, &p->n_deny);
    return action != start;
}

struct bpf_insn *cg_devices_bpf_program(const struct cg_device_rule *rules, size_t n,
                                        size_t *n_insns, struct berr **err)
{
    static const unsigned bits[] = {CG_ACC_MKNOD, CG_ACC_READ, CG_ACC_WRITE};
    struct prog p = {0};
    for (size_t b = 0; b < ARRAY_SIZE(bits); b++) {
        p.n_next_section = 0;
        emit(&p, LDX_W(BPF_REG_3, BPF_REG_1, CTX_ACCESS_TYPE));
        emit(&p, ALU32_IMM(BPF_RSH, BPF_REG_3, 16));
        emit(&p, JMP_IMM(BPF_JSET, BPF_REG_3, (int32_t)bits[b], 1));
        emit_pending(&p, JA(0), &p.next_section, &p.n_next_section);
        bool open_ended = true;
        for (size_t i = n; i-- > 0;) {
            if (!(rules[i].access & bits[b]))
                continue;
            if (!emit_rule(&p, &rules[i])) {
                open_ended = false;
                break;
            }
            if (p.n > MAX_INSNS)
                break;
        }
        if (open_ended)
            emit_pending(&p, JA(0), &p.deny, &p.n_deny);
        if (p.n > MAX_INSNS) {
            free(p.v);
            free(p.next_section);
            free(p.deny);
            return berr_set(err, E2BIG, "device rules: too many for the eBPF device filter"), NULL;
        }
        resolve(&p, p.next_section, p.n_next_section);
    }
    emit(&p, MOV64_IMM(BPF_REG_0, 1));
    emit(&p, EXIT());
    if (p.n_deny) {
        resolve(&p, p.deny, p.n_deny);
        emit(&p, MOV64_IMM(BPF_REG_0, 0));
        emit(&p, EXIT());
    }
    free(p.next_section);
    free(p.deny);
    *n_insns = p.n;
    return p.v;
}

/* ---- loading and attaching ---------------------------------------------------------------- */

static int sys_bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int prog_load(const struct bpf_insn *insns, size_t n, struct berr **err)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uintptr_t)insns;
    attr.insn_cnt = (uint32_t)n;
    attr.license = (uintptr_t) "Apache";
    int fd = sys_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0)
        return fd;
    int saved = errno;
    /* Load again with the verifier's log only to explain the failure. */
    size_t log_size = 1 << 16;
    _cleanup_free_ char *log = xzalloc(log_size);
    attr.log_buf = (uintptr_t)log;
    attr.log_size = (uint32_t)log_size;
    attr.log_level = 1;
    fd = sys_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0)
        return fd;
    char *end = log + strlen(log);
    while (end > log && end[-1] == '\n')
        *--end = 0;
    char *last = strrchr(log, '\n');
    last = last ? last + 1 : log;
    return berr_set(err, saved, "load eBPF device filter (%zu instructions)%s%s", n,
                    *last ? ": verifier: " : "", last);
}

int cg_devices_bpf_query(int dirfd, uint32_t *ids, uint32_t *n, struct berr **err)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = (uint32_t)dirfd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uintptr_t)ids;
    attr.query.prog_cnt = *n;
    if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
        return berr_sys(err, "query eBPF device filters");
    *n = attr.query.prog_cnt;
    return 0;
}

static void close_all(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

int cg_devices_bpf_apply(int dirfd, const struct cg_device_rule *rules, size_t n, struct berr **err)
{
    size_t n_insns;
    _cleanup_free_ struct bpf_insn *insns = cg_devices_bpf_program(rules, n, &n_insns, err);
    if (insns == NULL)
        return -1;
    _cleanup_close_ int prog = prog_load(insns, n_insns, err);
    if (prog < 0)
        return -1;

    uint32_t ids[64], n_old = ARRAY_SIZE(ids);
    if (cg_devices_bpf_query(dirfd, ids, &n_old, err) < 0)
        return -1;
    if (n_old > ARRAY_SIZE(ids))
        return berr_set(err, E2BIG, "%u eBPF device filters attached already", n_old);
    int old[ARRAY_SIZE(ids)];
    size_t k = 0;
    for (uint32_t i = 0; i < n_old; i++) {
        union bpf_attr a;
        memset(&a, 0, sizeof(a));
        a.prog_id = ids[i];
        int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
        if (fd >= 0)
            old[k++] = fd;
        else if (errno != ENOENT) /* detached meanwhile: fine */
            return close_all(old, k), berr_sys(err, "get eBPF program %u", ids[i]);
    }

    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)dirfd;
    attr.attach_bpf_fd = (uint32_t)prog;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (k == 1) {
        /* One old program: swap it atomically (5.6+), so no moment runs both or neither. */
        attr.attach_flags |= BPF_F_REPLACE;
        attr.replace_bpf_fd = (uint32_t)old[0];
        if (sys_bpf(BPF_PROG_ATTACH, &attr) == 0) {
            close_all(old, k);
            return 0;
        }
        if (errno != EINVAL) {
            close_all(old, k);
            return berr_sys(err, "replace eBPF device filter");
        }
        attr.attach_flags = BPF_F_ALLOW_MULTI;
        attr.replace_bpf_fd = 0;
    }
    if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0) {
        close_all(old, k);
        return berr_sys(err, "attach eBPF device filter");
    }
    /* Both run until the old ones go; a device is allowed only if both allow it. */
    int ret = 0;
    for (size_t i = 0; i < k; i++) {
        union bpf_attr d;
        memset(&d, 0, sizeof(d));
        d.target_fd = (uint32_t)dirfd;
        d.attach_bpf_fd = (uint32_t)old[i];
        d.attach_type = BPF_CGROUP_DEVICE;
        if (sys_bpf(BPF_PROG_DETACH, &d) < 0 && errno != ENOENT && ret == 0)
            ret = berr_sys(err, "detach the previous eBPF device filter");
    }
    close_all(old, k);
    return ret;
}
