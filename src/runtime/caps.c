/* Identity and capabilities of the container process: bounding set, supplementary groups,
 * gid/uid, the effective/permitted/inheritable sets and ambient capabilities, in the order the
 * kernel needs. Runs in the container child after fork: raw syscalls, no /proc, and no heap
 * except for an error or a warning. Also the capability names for `features`. */
#include "runtime/caps.h"
#include "common/cleanup.h"
#include "common/log.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BIT(c) (UINT64_C(1) << (c))

/* The capabilities this build knows by name; [n] is capability n. */
static const char *const cap_names[] = {
    [CAP_CHOWN] = "CAP_CHOWN",
    [CAP_DAC_OVERRIDE] = "CAP_DAC_OVERRIDE",
    [CAP_DAC_READ_SEARCH] = "CAP_DAC_READ_SEARCH",
    [CAP_FOWNER] = "CAP_FOWNER",
    [CAP_FSETID] = "CAP_FSETID",
    [CAP_KILL] = "CAP_KILL",
    [CAP_SETGID] = "CAP_SETGID",
    [CAP_SETUID] = "CAP_SETUID",
    [CAP_SETPCAP] = "CAP_SETPCAP",
    [CAP_LINUX_IMMUTABLE] = "CAP_LINUX_IMMUTABLE",
    [CAP_NET_BIND_SERVICE] = "CAP_NET_BIND_SERVICE",
    [CAP_NET_BROADCAST] = "CAP_NET_BROADCAST",
    [CAP_NET_ADMIN] = "CAP_NET_ADMIN",
    [CAP_NET_RAW] = "CAP_NET_RAW",
    [CAP_IPC_LOCK] = "CAP_IPC_LOCK",
    [CAP_IPC_OWNER] = "CAP_IPC_OWNER",
    [CAP_SYS_MODULE] = "CAP_SYS_MODULE",
    [CAP_SYS_RAWIO] = "CAP_SYS_RAWIO",
    [CAP_SYS_CHROOT] = "CAP_SYS_CHROOT",
    [CAP_SYS_PTRACE] = "CAP_SYS_PTRACE",
    [CAP_SYS_PACCT] = "CAP_SYS_PACCT",
    [CAP_SYS_ADMIN] = "CAP_SYS_ADMIN",
    [CAP_SYS_BOOT] = "CAP_SYS_BOOT",
    [CAP_SYS_NICE] = "CAP_SYS_NICE",
    [CAP_SYS_RESOURCE] = "CAP_SYS_RESOURCE",
    [CAP_SYS_TIME] = "CAP_SYS_TIME",
    [CAP_SYS_TTY_CONFIG] = "CAP_SYS_TTY_CONFIG",
    [CAP_MKNOD] = "CAP_MKNOD",
    [CAP_LEASE] = "CAP_LEASE",
    [CAP_AUDIT_WRITE] = "CAP_AUDIT_WRITE",
    [CAP_AUDIT_CONTROL] = "CAP_AUDIT_CONTROL",
    [CAP_SETFCAP] = "CAP_SETFCAP",
    [CAP_MAC_OVERRIDE] = "CAP_MAC_OVERRIDE",
    [CAP_MAC_ADMIN] = "CAP_MAC_ADMIN",
    [CAP_SYSLOG] = "CAP_SYSLOG",
    [CAP_WAKE_ALARM] = "CAP_WAKE_ALARM",
    [CAP_BLOCK_SUSPEND] = "CAP_BLOCK_SUSPEND",
    [CAP_AUDIT_READ] = "CAP_AUDIT_READ",
#ifdef CAP_PERFMON
    [CAP_PERFMON] = "CAP_PERFMON",
#endif
#ifdef CAP_BPF
    [CAP_BPF] = "CAP_BPF",
#endif
#ifdef CAP_CHECKPOINT_RESTORE
    [CAP_CHECKPOINT_RESTORE] = "CAP_CHECKPOINT_RESTORE",
#endif
};

/* The kernel's last capability, found with PR_CAPBSET_READ (EINVAL past the end) rather than
 * /proc/sys/kernel/cap_last_cap, which after pivot_root may be missing or the container's. */
static int kernel_last_cap(void)
{
    static int last = -1;
    if (last >= 0)
        return last;
    for (last = 63; last > 0; last--)
        if (prctl(PR_CAPBSET_READ, last, 0, 0, 0) >= 0)
            break;
    return last;
}

static uint64_t mask_through(int last)
{
    return last >= 63 ? UINT64_MAX : BIT(last + 1) - 1;
}

static uint64_t read_bounding(int last)
{
    uint64_t set = 0;
    for (int c = 0; c <= last; c++)
        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0)
            set |= BIT(c);
    return set;
}

uint64_t rt_caps_host_bounding(void)
{
    return read_bounding(kernel_last_cap());
}

json_t *rt_caps_features(void)
{
    int last = kernel_last_cap();
    json_t *a = json_array();
    for (int c = 0; c <= last && c < (int)ARRAY_SIZE(cap_names); c++)
        if (cap_names[c] != NULL)
            json_array_append_new(a, json_string(cap_names[c]));
    return a;
}

/* "CAP_A, CAP_B" into a fixed buffer: used on the failure and warning paths of the child. */
static const char *format_caps(uint64_t set, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int c = 0; c < 64; c++) {
        if (!(set & BIT(c)))
            continue;
        int n;
        if (c < (int)ARRAY_SIZE(cap_names) && cap_names[c] != NULL)
            n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", cap_names[c]);
        else
            n = snprintf(buf + len, size - len, "%scapability %d", len ? ", " : "", c);
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
    return buf;
}

struct cap_sets {
    uint64_t bounding, effective, permitted, inheritable, ambient;
};

static int read_current(struct cap_sets *cur, int last, struct berr **err)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
    if (syscall(SYS_capget, &hdr, data) < 0)
        return berr_sys(err, "capget");
    cur->effective = data[0].effective | (uint64_t)data[1].effective << 32;
    cur->permitted = data[0].permitted | (uint64_t)data[1].permitted << 32;
    cur->inheritable = data[0].inheritable | (uint64_t)data[1].inheritable << 32;
    cur->bounding = read_bounding(last);
    cur->ambient = 0;
    return 0;
}

/* Work out the sets to apply before touching anything. Capabilities this kernel does not know
 * are dropped (runc does the same). Capabilities the runtime itself lacks are dropped too,
 * with one warning: a process cannot grant what it does not hold, and failing the container for
 * it is what no user wants when, say, a VM's bounding set lacks CAP_SYS_RESOURCE (crun in effect
 * does the same). Sets the kernel cannot represent together are an error. */
static int plan_sets(const struct rt_process *p, const struct cap_sets *cur, int last,
                     struct cap_sets *out, struct berr **err)
{
    *out = (struct cap_sets){0};
    if (!p->has_caps)
        return 0;
    uint64_t known = mask_through(last);
    const uint64_t *s = p->caps.sets;
    uint64_t requested = s[RT_CAP_BOUNDING] | s[RT_CAP_EFFECTIVE] | s[RT_CAP_PERMITTED] |
                         s[RT_CAP_INHERITABLE] | s[RT_CAP_AMBIENT];
    char names[1024];
    if (requested & ~known)
        log_debug("capabilities unknown to this kernel ignored: %s",
                  format_caps(requested & ~known, names, sizeof(names)));

    uint64_t held = cur->bounding & cur->permitted & known;
    uint64_t missing = requested & known & ~held;
    if (missing)
        log_warn("capabilities not available to the runtime (absent from its bounding or "
                 "permitted set) are left out of the container: %s",
                 format_caps(missing, names, sizeof(names)));

    out->bounding = s[RT_CAP_BOUNDING] & held;
    out->permitted = s[RT_CAP_PERMITTED] & held;
    out->effective = s[RT_CAP_EFFECTIVE] & held;
    out->inheritable = s[RT_CAP_INHERITABLE] & held;
    out->ambient = s[RT_CAP_AMBIENT] & held;

    if (out->effective & ~out->permitted)
        return berr_set(err, 0, "capabilities: effective %s not in the permitted set",
                        format_caps(out->effective & ~out->permitted, names, sizeof(names)));
    /* capset() keeps the inheritable set within the bounding set. */
    uint64_t bad = out->inheritable & ~out->bounding & ~cur->inheritable;
    if (bad)
        return berr_set(err, 0, "capabilities: inheritable %s not in the bounding set",
                        format_caps(bad, names, sizeof(names)));
    /* An ambient capability must be permitted and inheritable, or the kernel refuses to raise
     * it (and would drop it at once). crun ignores these silently; runc's own default spec
     * asks for them, so this is a debug note, not a warning on every run. */
    uint64_t orphan = out->ambient & ~(out->permitted & out->inheritable);
    if (orphan) {
        log_debug("ambient capabilities not both permitted and inheritable are ignored: %s",
                 format_caps(orphan, names, sizeof(names)));
        out->ambient &= ~orphan;
    }
    return 0;
}

int rt_caps_validate(const struct rt_process *p, const char *where, struct berr **err)
{
    if (!p->has_caps)
        return 0;
    const uint64_t *s = p->caps.sets;
    char names[1024];
    uint64_t bad = s[RT_CAP_EFFECTIVE] & ~s[RT_CAP_PERMITTED];
    if (bad)
        return berr_set(err, 0, "%s: process.capabilities.effective: %s not in permitted", where,
                        format_caps(bad, names, sizeof(names)));
    bad = s[RT_CAP_INHERITABLE] & ~s[RT_CAP_BOUNDING];
    if (bad)
        return berr_set(err, 0, "%s: process.capabilities.inheritable: %s not in bounding", where,
                        format_caps(bad, names, sizeof(names)));
    return 0;
}

static int drop_bounding(uint64_t current, uint64_t keep, int last, struct berr **err)
{
    char name[64];
    for (int c = 0; c <= last; c++) {
        if (!(current & BIT(c)) || (keep & BIT(c)))
            continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
            return berr_sys(err, "drop %s from the bounding set",
                            format_caps(BIT(c), name, sizeof(name)));
    }
    return 0;
}

static int set_ids(const struct rt_process *p, bool setgroups_allowed, struct berr **err)
{
    if (p->n_additional_gids > 0) {
        /* setgroups is denied in a user namespace written by an unprivileged user. */
        if (!setgroups_allowed)
            return berr_set(err, EPERM,
                            "cannot set additionalGids: setgroups is denied in this "
                            "user namespace");
        if (setgroups(p->n_additional_gids, p->additional_gids) < 0)
            return berr_sys(err, "setgroups (%zu additionalGids)", p->n_additional_gids);
    } else if (setgroups_allowed) {
        /* Otherwise the container keeps the runtime's own supplementary groups. */
        if (setgroups(0, NULL) < 0)
            return berr_sys(err, "setgroups (drop supplementary groups)");
    }
    /* In a user namespace whose maps leave root unmapped, the creator keeps its capabilities
     * under the overflow ids; uid/gid 0 then cannot be set (EINVAL) and the process runs as
     * it is, as with crun. Any other unmapped id is an error. */
    if (setresgid(p->gid, p->gid, p->gid) < 0 && !(errno == EINVAL && p->gid == 0))
        return berr_sys(err, "setresgid(%u)", (unsigned)p->gid);
    if (setresuid(p->uid, p->uid, p->uid) < 0 && !(errno == EINVAL && p->uid == 0))
        return berr_sys(err, "setresuid(%u)", (unsigned)p->uid);
    return 0;
}

static int set_caps(const struct cap_sets *want, struct berr **err)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
        data[i].effective = (uint32_t)(want->effective >> (32 * i));
        data[i].permitted = (uint32_t)(want->permitted >> (32 * i));
        data[i].inheritable = (uint32_t)(want->inheritable >> (32 * i));
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        return berr_sys(err, "capset");
    return 0;
}

static int set_ambient(uint64_t ambient, int last, struct berr **err)
{
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
        /* Linux < 4.3 has no ambient set: fine unless some were asked for. */
        if (errno == EINVAL && ambient == 0)
            return 0;
        return berr_sys(err, "clear ambient capabilities");
    }
    char name[64];
    for (int c = 0; c <= last; c++)
        if ((ambient & BIT(c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            return berr_sys(err, "raise ambient %s", format_caps(BIT(c), name, sizeof(name)));
    return 0;
}

int rt_caps_apply_identity(const struct rt_process *p, bool setgroups_allowed, struct berr **err)
{
    int last = kernel_last_cap();
    struct cap_sets cur, want;
    if (read_current(&cur, last, err) < 0 || plan_sets(p, &cur, last, &want, err) < 0)
        return -1;

    /* Keep the permitted set across the switch to a non-zero uid; the effective set is cleared
     * by it and restored by capset below. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return berr_sys(err, "prctl(PR_SET_KEEPCAPS, 1)");
    /* Dropping from the bounding set needs CAP_SETPCAP, which the uid switch takes away. */
    if (drop_bounding(cur.bounding, want.bounding, last, err) < 0)
        return -1;
    if (set_ids(p, setgroups_allowed, err) < 0)
        return -1;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return berr_sys(err, "prctl(PR_SET_KEEPCAPS, 0)");
    if (set_caps(&want, err) < 0)
        return -1;
    /* Ambient last: raising one needs it in the final permitted and inheritable sets. */
    return set_ambient(want.ambient, last, err);
}
