/* The spec's mounts: runc's option vocabulary parsed into flags, propagation, recursive
 * attributes and a data string; each mount validated before anything is done; then each kind
 * (bind, idmapped bind, proc, sysfs, tmpfs with copy-up, cgroup, anything else) mounted onto a
 * target resolved beneath the rootfs and addressed by fd, never by a path a symlink could bend. */
#include "runtime/rootfs_internal.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

/* Sorted by name for bsearch; the unit test checks every entry is found. */
static const struct rt_mount_opt_def opt_table[] = {
    {"acl", RT_OPT_FLAG, MS_POSIXACL},
    {"async", RT_OPT_CLEAR, MS_SYNCHRONOUS},
    {"atime", RT_OPT_CLEAR, MS_NOATIME},
    {"bind", RT_OPT_FLAG, MS_BIND},
    {"defaults", RT_OPT_FLAG, 0},
    {"dev", RT_OPT_CLEAR, MS_NODEV},
    {"diratime", RT_OPT_CLEAR, MS_NODIRATIME},
    {"dirsync", RT_OPT_FLAG, MS_DIRSYNC},
    {"exec", RT_OPT_CLEAR, MS_NOEXEC},
    {"idmap", RT_OPT_IDMAP, 0},
    {"iversion", RT_OPT_FLAG, MS_I_VERSION},
    {"lazytime", RT_OPT_FLAG, MS_LAZYTIME},
    {"loud", RT_OPT_CLEAR, MS_SILENT},
    {"mand", RT_OPT_FLAG, MS_MANDLOCK},
    {"noacl", RT_OPT_CLEAR, MS_POSIXACL},
    {"noatime", RT_OPT_FLAG, MS_NOATIME},
    {"nodev", RT_OPT_FLAG, MS_NODEV},
    {"nodiratime", RT_OPT_FLAG, MS_NODIRATIME},
    {"noexec", RT_OPT_FLAG, MS_NOEXEC},
    {"noiversion", RT_OPT_CLEAR, MS_I_VERSION},
    {"nolazytime", RT_OPT_CLEAR, MS_LAZYTIME},
    {"nomand", RT_OPT_CLEAR, MS_MANDLOCK},
    {"norelatime", RT_OPT_CLEAR, MS_RELATIME},
    {"nostrictatime", RT_OPT_CLEAR, MS_STRICTATIME},
    {"nosuid", RT_OPT_FLAG, MS_NOSUID},
    {"nosymfollow", RT_OPT_FLAG, MS_NOSYMFOLLOW},
    {"private", RT_OPT_PROP, MS_PRIVATE},
    {"ratime", RT_OPT_REC_CLEAR, MOUNT_ATTR_NOATIME},
    {"rbind", RT_OPT_FLAG, MS_BIND | MS_REC},
    {"rdev", RT_OPT_REC_CLEAR, MOUNT_ATTR_NODEV},
    {"rdiratime", RT_OPT_REC_CLEAR, MOUNT_ATTR_NODIRATIME},
    {"relatime", RT_OPT_FLAG, MS_RELATIME},
    {"remount", RT_OPT_FLAG, MS_REMOUNT},
    {"rexec", RT_OPT_REC_CLEAR, MOUNT_ATTR_NOEXEC},
    {"ridmap", RT_OPT_RIDMAP, 0},
    {"rnoatime", RT_OPT_REC_SET, MOUNT_ATTR_NOATIME},
    {"rnodev", RT_OPT_REC_SET, MOUNT_ATTR_NODEV},
    {"rnodiratime", RT_OPT_REC_SET, MOUNT_ATTR_NODIRATIME},
    {"rnoexec", RT_OPT_REC_SET, MOUNT_ATTR_NOEXEC},
    {"rnorelatime", RT_OPT_REC_CLEAR, MOUNT_ATTR_RELATIME},
    {"rnostrictatime", RT_OPT_REC_CLEAR, MOUNT_ATTR_STRICTATIME},
    {"rnosuid", RT_OPT_REC_SET, MOUNT_ATTR_NOSUID},
    {"rnosymfollow", RT_OPT_REC_SET, MOUNT_ATTR_NOSYMFOLLOW},
    {"ro", RT_OPT_FLAG, MS_RDONLY},
    {"rprivate", RT_OPT_PROP, MS_PRIVATE | MS_REC},
    {"rrelatime", RT_OPT_REC_SET, MOUNT_ATTR_RELATIME},
    {"rro", RT_OPT_REC_SET, MOUNT_ATTR_RDONLY},
    {"rrw", RT_OPT_REC_CLEAR, MOUNT_ATTR_RDONLY},
    {"rshared", RT_OPT_PROP, MS_SHARED | MS_REC},
    {"rslave", RT_OPT_PROP, MS_SLAVE | MS_REC},
    {"rstrictatime", RT_OPT_REC_SET, MOUNT_ATTR_STRICTATIME},
    {"rsuid", RT_OPT_REC_CLEAR, MOUNT_ATTR_NOSUID},
    {"rsymfollow", RT_OPT_REC_CLEAR, MOUNT_ATTR_NOSYMFOLLOW},
    {"runbindable", RT_OPT_PROP, MS_UNBINDABLE | MS_REC},
    {"rw", RT_OPT_CLEAR, MS_RDONLY},
    {"shared", RT_OPT_PROP, MS_SHARED},
    {"silent", RT_OPT_FLAG, MS_SILENT},
    {"slave", RT_OPT_PROP, MS_SLAVE},
    {"strictatime", RT_OPT_FLAG, MS_STRICTATIME},
    {"suid", RT_OPT_CLEAR, MS_NOSUID},
    {"symfollow", RT_OPT_CLEAR, MS_NOSYMFOLLOW},
    {"sync", RT_OPT_FLAG, MS_SYNCHRONOUS},
    {"tmpcopyup", RT_OPT_TMPCOPYUP, 0},
    {"unbindable", RT_OPT_PROP, MS_UNBINDABLE},
};

#define MS_ATIME_FLAGS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)

static int opt_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct rt_mount_opt_def *)elem)->name);
}

const struct rt_mount_opt_def *rt_mount_opt_lookup(const char *name)
{
    return bsearch(name, opt_table, ARRAY_SIZE(opt_table), sizeof(opt_table[0]), opt_cmp);
}

const struct rt_mount_opt_def *rt_mount_opt_table(size_t *n)
{
    *n = ARRAY_SIZE(opt_table);
    return opt_table;
}

json_t *rt_mount_options_features(void)
{
    json_t *a = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(opt_table); i++)
        json_array_append_new(a, json_string(opt_table[i].name));
    return a;
}

void rt_mount_opts_clear(struct rt_mount_opts *o)
{
    free(o->data);
    o->data = NULL;
}

/* The atime setting of mount_setattr is an enum inside MOUNT_ATTR__ATIME, not a bit: setting one
 * takes MOUNT_ATTR__ATIME in attr_clr, and so does going back to the default (relatime). A
 * partial __ATIME in attr_clr is EINVAL, which runc's table produces for "ratime". */
static void rec_attr(struct rt_mount_opts *o, uint64_t v, bool set)
{
    bool atime = (v & ~(uint64_t)MOUNT_ATTR__ATIME) == 0;
    if (atime) {
        if (set) {
            o->attr_set = (o->attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | v;
            o->attr_clr |= MOUNT_ATTR__ATIME;
        } else if (v != MOUNT_ATTR_RELATIME) {
            /* "rnorelatime" has nothing to clear: relatime is the absence of the others. */
            if ((o->attr_set & MOUNT_ATTR__ATIME) == v)
                o->attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
            o->attr_clr |= MOUNT_ATTR__ATIME;
        }
        return;
    }
    if (set) {
        o->attr_set |= v;
        o->attr_clr &= ~v;
    } else {
        o->attr_set &= ~v;
        o->attr_clr |= v;
    }
}

int rt_mount_opts_parse(char *const *options, struct rt_mount_opts *o, struct berr **err)
{
    memset(o, 0, sizeof(*o));
    size_t dlen = 0;
    for (char *const *p = options; p && *p; p++) {
        const char *opt = *p;
        if (opt[0] == '\0')
            continue;
        const struct rt_mount_opt_def *d = rt_mount_opt_lookup(opt);
        if (d == NULL) {
            size_t n = strlen(opt);
            if (dlen + n + 1 > RT_MOUNT_MAX_DATA) {
                rt_mount_opts_clear(o);
                return berr_set(err, 0, "mount data longer than %d bytes", RT_MOUNT_MAX_DATA);
            }
            o->data = xrealloc(o->data, dlen + n + 2);
            if (dlen > 0)
                o->data[dlen++] = ',';
            memcpy(o->data + dlen, opt, n + 1);
            dlen += n;
            continue;
        }
        switch (d->kind) {
        case RT_OPT_FLAG:
            o->flags |= d->value;
            o->clear &= ~d->value;
            if (d->value & MS_ATIME_FLAGS)
                o->atime_set = true;
            break;
        case RT_OPT_CLEAR:
            o->flags &= ~d->value;
            o->clear |= d->value;
            if (d->value & MS_ATIME_FLAGS)
                o->atime_set = true;
            break;
        case RT_OPT_PROP:
            if (o->n_propagation == RT_MOUNT_MAX_PROPAGATION) {
                rt_mount_opts_clear(o);
                return berr_set(err, 0, "more than %d propagation options",
                                RT_MOUNT_MAX_PROPAGATION);
            }
            o->propagation[o->n_propagation++] = d->value;
            break;
        case RT_OPT_REC_SET:
        case RT_OPT_REC_CLEAR:
            rec_attr(o, d->value, d->kind == RT_OPT_REC_SET);
            break;
        case RT_OPT_TMPCOPYUP:
            o->tmpcopyup = true;
            break;
        case RT_OPT_IDMAP:
            o->idmap = true;
            break;
        case RT_OPT_RIDMAP:
            o->ridmap = true;
            break;
        }
    }
    return 0;
}

unsigned long rt_statfs_mount_flags(unsigned long f)
{
    unsigned long ms = 0;
    if (f & ST_RDONLY)
        ms |= MS_RDONLY;
    if (f & ST_NOSUID)
        ms |= MS_NOSUID;
    if (f & ST_NODEV)
        ms |= MS_NODEV;
    if (f & ST_NOEXEC)
        ms |= MS_NOEXEC;
    if (f & ST_NODIRATIME)
        ms |= MS_NODIRATIME;
    if (f & ST_NOSYMFOLLOW)
        ms |= MS_NOSYMFOLLOW;
    if (f & ST_NOATIME)
        ms |= MS_NOATIME;
    else if (f & ST_RELATIME)
        ms |= MS_RELATIME;
    else
        ms |= MS_STRICTATIME;
    return ms;
}

enum mount_kind { MK_BIND, MK_PROC, MK_SYSFS, MK_TMPFS, MK_CGROUP, MK_OTHER };

static bool type_is(const struct rt_mount *m, const char *t)
{
    return m->type && strcmp(m->type, t) == 0;
}

/* runc's rule: "bind" or "rbind" in the options makes a bind mount whatever the type says. */
static enum mount_kind mount_kind(const struct rt_mount *m, const struct rt_mount_opts *o)
{
    if ((o->flags & MS_BIND) || type_is(m, "bind"))
        return MK_BIND;
    if (type_is(m, "proc"))
        return MK_PROC;
    if (type_is(m, "sysfs"))
        return MK_SYSFS;
    if (type_is(m, "tmpfs"))
        return MK_TMPFS;
    if (type_is(m, "cgroup"))
        return MK_CGROUP;
    return MK_OTHER;
}

static bool is_idmapped(const struct rt_mount *m, const struct rt_mount_opts *o)
{
    return o->idmap || o->ridmap || m->n_uid_mappings > 0 || m->n_gid_mappings > 0;
}

/* The kernel refuses more lines than this in uid_map. */
#define MAX_ID_MAP_LINES 340

static int check_id_maps(const struct rt_id_map *maps, size_t n, const char *what,
                         struct berr **err)
{
    if (n > MAX_ID_MAP_LINES)
        return berr_set(err, 0, "%s: more than %d entries", what, MAX_ID_MAP_LINES);
    for (size_t i = 0; i < n; i++) {
        if (maps[i].size == 0 ||
            (uint64_t)maps[i].container_id + maps[i].size > (uint64_t)UINT32_MAX + 1 ||
            (uint64_t)maps[i].host_id + maps[i].size > (uint64_t)UINT32_MAX + 1)
            return berr_set(err, 0, "%s[%zu]: empty or out-of-range mapping", what, i);
    }
    return 0;
}

/* Host path of a bind source: relative ones are below the bundle (without one, the working
 * directory, as runc runs from the bundle). */
static char *source_path(const char *bundle, const char *source)
{
    if (source[0] == '/' || bundle == NULL)
        return xstrdup(source);
    return xasprintf("%s/%s", bundle, source);
}

static int validate_mount(const struct rt_spec *spec, const struct rt_mount *m, const char *bundle,
                          struct berr **err)
{
    if (m->destination == NULL || m->destination[0] == '\0')
        return berr_set(err, 0, "no destination");
    if (strlen(m->destination) >= PATH_MAX)
        return berr_set(err, ENAMETOOLONG, "destination too long");
    _cleanup_free_ char *dest = rt_path_clean(m->destination);
    if (strcmp(dest, "/") == 0)
        return berr_set(err, 0, "cannot mount over the root filesystem itself");

    struct rt_mount_opts o __attribute__((cleanup(rt_mount_opts_clear))) = {0};
    if (rt_mount_opts_parse(m->options, &o, err) < 0)
        return -1;
    enum mount_kind kind = mount_kind(m, &o);
    if (kind != MK_BIND && (m->type == NULL || m->type[0] == '\0'))
        return berr_set(err, 0, "no type, and not a bind mount (no \"bind\" or \"rbind\" option)");
    if (o.tmpcopyup && kind != MK_TMPFS)
        return berr_set(err, 0, "\"tmpcopyup\" is only for tmpfs mounts");
    if (is_idmapped(m, &o)) {
        if (kind != MK_BIND)
            return berr_set(err, 0, "id-mapped mounts must be bind mounts");
        if ((m->n_uid_mappings == 0) != (m->n_gid_mappings == 0))
            return berr_set(err, 0, "uidMappings and gidMappings must be given together");
        if (m->n_uid_mappings == 0 && (spec->n_uid_mappings == 0 || spec->n_gid_mappings == 0))
            return berr_set(err, 0,
                            "\"idmap\" needs uidMappings and gidMappings, on the mount or on "
                            "the container's user namespace");
        if (check_id_maps(m->uid_mappings, m->n_uid_mappings, "uidMappings", err) < 0 ||
            check_id_maps(m->gid_mappings, m->n_gid_mappings, "gidMappings", err) < 0)
            return -1;
    }
    if (kind == MK_BIND) {
        if (m->source == NULL || m->source[0] == '\0')
            return berr_set(err, 0, "bind mount without a source");
        _cleanup_free_ char *src = source_path(bundle, m->source);
        struct stat st;
        if ((src[0] == '/' || bundle) && stat(src, &st) < 0)
            return berr_sys(err, "bind source %s", src);
    }
    if (m->destination[0] != '/')
        log_warn("mount destination %s is not absolute; taken as relative to the "
                 "root filesystem",
                 m->destination);
    return 0;
}

int rt_mount_validate_one(const struct rt_spec *spec, size_t i, const char *bundle,
                          struct berr **err)
{
    const struct rt_mount *m = &spec->mounts[i];
    if (validate_mount(spec, m, bundle, err) < 0)
        return berr_wrap(err, "mounts[%zu] (%s)", i, m->destination ? m->destination : "");
    return 0;
}

/* ---- doing the mounts ---- */

struct mount_job {
    struct rt_rootfs_ctx *ctx;
    struct rt_rootfs_priv *priv;
    size_t index;
    const struct rt_mount *m;
    struct rt_mount_opts o;
    enum mount_kind kind;
    char *dest; /* cleaned, for messages and the /proc allow-list */
};

static int reopen_target(struct mount_job *j, struct berr **err)
{
    int fd = rt_resolve_beneath(j->priv->root_fd, j->m->destination, 0, NULL);
    if (fd < 0)
        return berr_set(err, -fd, "reopen %s after mounting", j->dest);
    return fd;
}

static unsigned long locked_flags(const struct statfs *sfs, const struct rt_mount_opts *o)
{
    unsigned long l = rt_statfs_mount_flags((unsigned long)sfs->f_flags);
    return o->atime_set ? l & ~MS_ATIME_FLAGS : l;
}

/* A bind mount takes the flags of its source; a MS_REMOUNT|MS_BIND sets exactly the flags it is
 * given. In a user namespace the flags the source had when the namespace was made are locked
 * (ro, nosuid, nodev, noexec, atime) and leaving one out is EPERM, so carry them over: up front
 * in a user namespace (except what the options clear explicitly), and on EPERM anywhere. */
static int bind_remount(struct mount_job *j, int top, unsigned long flags, struct berr **err)
{
    struct rt_fdpath fp;
    const char *target = rt_fdpath(&fp, top);
    unsigned long f = flags | MS_BIND | MS_REMOUNT;
    struct statfs sfs;
    bool have_statfs = false;

    if (j->ctx->userns) {
        if (fstatfs(top, &sfs) < 0)
            return berr_sys(err, "statfs %s", j->dest);
        have_statfs = true;
        f |= locked_flags(&sfs, &j->o) & ~j->o.clear;
    }
    if (mount(NULL, target, NULL, f, NULL) == 0)
        return 0;
    if (errno != EPERM)
        return berr_sys(err, "remount %s with its options", j->dest);
    if (!have_statfs && fstatfs(top, &sfs) < 0)
        return berr_sys(err, "statfs %s", j->dest);
    unsigned long all = f | locked_flags(&sfs, &j->o);
    if (all == f)
        return berr_set(err, EPERM, "remount %s with its options", j->dest);
    if (mount(NULL, target, NULL, all, NULL) < 0)
        return berr_sys(err, "remount %s with its options", j->dest);
    return 0;
}

/* What has to happen on the new mount itself (not on the directory under it, which is what the
 * target fd still names): the bind remount, propagation, recursive attributes. */
static int finish_mount(struct mount_job *j, unsigned long remount_flags, struct berr **err)
{
    bool attrs = j->o.attr_set || j->o.attr_clr;
    if (!remount_flags && j->o.n_propagation == 0 && !attrs)
        return 0;
    _cleanup_close_ int top = reopen_target(j, err);
    if (top < 0)
        return -1;
    if (remount_flags && bind_remount(j, top, remount_flags, err) < 0)
        return -1;
    struct rt_fdpath fp;
    for (size_t k = 0; k < j->o.n_propagation; k++)
        if (mount(NULL, rt_fdpath(&fp, top), NULL, j->o.propagation[k], NULL) < 0)
            return berr_sys(err, "set propagation of %s", j->dest);
    if (attrs) {
        struct mount_attr a = {.attr_set = j->o.attr_set, .attr_clr = j->o.attr_clr};
        if (rt_sys_mount_setattr(top, "", AT_EMPTY_PATH | AT_RECURSIVE, &a) < 0)
            return berr_sys(err, "set recursive options on %s%s", j->dest,
                            errno == ENOSYS ? " (needs Linux 5.12)" : "");
    }
    return 0;
}

/* Mounting over procfs could hide what masks and LSMs rely on (/proc/self/attr, sysrq-trigger
 * through a planted symlink, CVE-2019-19921 class). Refuse any target that lies on a procfs,
 * except the files lxcfs emulates, by their real (resolved) location. */
static int check_not_on_proc(struct mount_job *j, int target, struct berr **err)
{
    static const char *const allowed[] = {
        "/proc/cpuinfo",
        "/proc/diskstats",
        "/proc/meminfo",
        "/proc/stat",
        "/proc/swaps",
        "/proc/uptime",
        "/proc/loadavg",
        "/proc/slabinfo",
        "/proc/pressure/cpu",
        "/proc/pressure/io",
        "/proc/pressure/memory",
        "/proc/sys/kernel/ns_last_pid",
        "/proc/sys/kernel/shm_rmid_forced",
        "/proc/net/dev",
    };
    struct statfs sfs;
    if (fstatfs(target, &sfs) < 0)
        return berr_sys(err, "statfs %s", j->dest);
    if (sfs.f_type != PROC_SUPER_MAGIC)
        return 0;
    for (size_t k = 0; k < ARRAY_SIZE(allowed); k++)
        if (strcmp(j->dest, allowed[k]) == 0)
            return 0;
    return berr_set(err, 0, "%s is on a procfs: refusing to mount over it", j->dest);
}

/* proc and sysfs must land on a real directory: a symlink there could point the mount (and
 * with it the LSM's view of /proc) anywhere in the rootfs (CVE-2019-19921). */
static int resolve_plain_dir(struct mount_job *j, struct berr **err)
{
    /* The cleaned path: a trailing slash would make the kernel follow the last link. */
    int fd = rt_resolve_beneath(j->priv->root_fd, j->dest,
                                RT_RESOLVE_CREATE | RT_RESOLVE_NOFOLLOW_LAST, NULL);
    if (fd < 0)
        return berr_set(err, -fd, "resolve %s", j->dest);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        berr_sys(err, "stat %s", j->dest);
        close(fd);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        close(fd);
        return berr_set(err, 0, "%s must be mounted on a plain directory, and %s is a %s",
                        j->m->type, j->dest, S_ISLNK(st.st_mode) ? "symlink" : "non-directory");
    }
    return fd;
}

static bool selinux_enabled(void)
{
    static int state; /* 0 unknown, 1 yes, -1 no */
    if (state == 0) {
        struct statfs sfs;
        state = statfs("/sys/fs/selinux", &sfs) == 0 && sfs.f_type == (long)0xf97cff8c ? 1 : -1;
    }
    return state > 0;
}

/* runc labels the filesystems it mounts (except proc, sysfs, mqueue, cgroup and binds) with
 * linux.mountLabel through a context= option when SELinux is on. */
static char *labeled_data(const struct rt_spec *spec, const char *data)
{
    const char *label = spec->mount_label;
    if (label == NULL || label[0] == '\0' || !selinux_enabled())
        return data ? xstrdup(data) : NULL;
    return xasprintf("%s%scontext=\"%s\"", data ? data : "", data ? "," : "", label);
}

/* ---- tmpfs copy-up: the directory's old contents copied into the new tmpfs ---- */

#define MAX_COPY_DEPTH 128

static int copy_attrs(int dir, const char *name, const struct stat *st, struct berr **err)
{
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    if (fchownat(dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return berr_sys(err, "copy up: chown %s", name);
    /* After chown, which drops set-id bits. */
    if (!S_ISLNK(st->st_mode) && fchmodat(dir, name, st->st_mode & 07777, 0) < 0)
        return berr_sys(err, "copy up: chmod %s", name);
    if (utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return berr_sys(err, "copy up: times of %s", name);
    return 0;
}

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st, struct berr **err)
{
    _cleanup_close_ int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return berr_sys(err, "copy up: open %s", name);
    _cleanup_close_ int out =
        openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return berr_sys(err, "copy up: create %s", name);
    off_t left = st->st_size;
    while (left > 0) {
        ssize_t n = sendfile(out, in, NULL, left > (1 << 30) ? (1 << 30) : (size_t)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berr_sys(err, "copy up: copy %s", name);
        if (n == 0)
            break;
        left -= n;
    }
    return 0;
}

static int copy_tree(int sdir, int ddir, int depth, struct berr **err)
{
    if (depth > MAX_COPY_DEPTH)
        return berr_set(err, ELOOP, "copy up: deeper than %d directories", MAX_COPY_DEPTH);
    int lfd = openat(sdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lfd < 0)
        return berr_sys(err, "copy up: open directory");
    DIR *d = fdopendir(lfd);
    if (d == NULL) {
        close(lfd);
        return berr_sys(err, "copy up: read directory");
    }
    int ret = 0;
    struct dirent *de;
    while (ret == 0 && (errno = 0, de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            ret = berr_sys(err, "copy up: stat %s", name);
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            if (mkdirat(ddir, name, 0700) < 0) {
                ret = berr_sys(err, "copy up: mkdir %s", name);
                break;
            }
            _cleanup_close_ int s2 =
                openat(sdir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            _cleanup_close_ int d2 =
                openat(ddir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s2 < 0 || d2 < 0)
                ret = berr_sys(err, "copy up: open %s", name);
            else
                ret = copy_tree(s2, d2, depth + 1, err);
        } else if (S_ISREG(st.st_mode)) {
            ret = copy_file(sdir, ddir, name, &st, err);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
            if (n < 0 || (target[n] = '\0', symlinkat(target, ddir, name) < 0))
                ret = berr_sys(err, "copy up: symlink %s", name);
        } else if (mknodat(ddir, name, st.st_mode & (S_IFMT | 07777), st.st_rdev) < 0) {
            ret = berr_sys(err, "copy up: mknod %s", name);
        }
        if (ret == 0)
            ret = copy_attrs(ddir, name, &st, err);
    }
    if (ret == 0 && errno != 0)
        ret = berr_sys(err, "copy up: read directory");
    closedir(d);
    return ret;
}

/* ---- idmapped binds ---- */

static int write_id_map(pid_t pid, const char *file, const struct rt_id_map *maps, size_t n,
                        struct berr **err)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    /* 340 lines of three 10-digit numbers fit; the kernel wants the map in one write. */
    _cleanup_free_ char *buf = xmalloc(n * 34 + 1);
    size_t len = 0;
    for (size_t k = 0; k < n; k++)
        len += (size_t)sprintf(buf + len, "%u %u %u\n", maps[k].container_id, maps[k].host_id,
                               maps[k].size);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
        return berr_sys(err, "write %s", path);
    return 0;
}

/* A user namespace carrying the mount's mapping: a child is born in a new one (clone with
 * CLONE_NEWUSER, no exec, just blocked on a pipe), we write its maps and keep a handle to the
 * namespace, and let it go. The mapping lives on in the mount after the child is gone. */
static int make_userns(const struct rt_id_map *u, size_t nu, const struct rt_id_map *g, size_t ng,
                       struct berr **err)
{
    int sync[2];
    if (pipe2(sync, O_CLOEXEC) < 0)
        return berr_sys(err, "pipe");
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0) {
        berr_sys(err, "clone a user namespace for an id mapping");
        close(sync[0]);
        close(sync[1]);
        return -1;
    }
    if (pid == 0) {
        char c;
        close(sync[1]);
        while (read(sync[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(sync[0]);
    int nsfd = -1;
    if (write_id_map(pid, "uid_map", u, nu, err) == 0 &&
        write_id_map(pid, "gid_map", g, ng, err) == 0) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
        nsfd = open(path, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0)
            berr_sys(err, "open %s", path);
    }
    close(sync[1]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return nsfd;
}

/* A detached clone of the source with the id mapping attached, ready for move_mount. */
static int idmapped_tree(const struct rt_rootfs_ctx *ctx, const struct rt_mount *m,
                         const struct rt_mount_opts *o, struct berr **err)
{
    const struct rt_spec *spec = ctx->spec;
    _cleanup_free_ char *src = source_path(ctx->bundle, m->source);
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((o->flags & MS_REC) ? AT_RECURSIVE : 0);
    _cleanup_close_ int tree = rt_sys_open_tree(AT_FDCWD, src, flags);
    if (tree < 0)
        return berr_sys(err, "open_tree %s%s", src,
                        errno == ENOSYS ? " (id-mapped mounts need Linux 5.12)" : "");
    bool own = m->n_uid_mappings > 0;
    _cleanup_close_ int userns = make_userns(own ? m->uid_mappings : spec->uid_mappings,
                                             own ? m->n_uid_mappings : spec->n_uid_mappings,
                                             own ? m->gid_mappings : spec->gid_mappings,
                                             own ? m->n_gid_mappings : spec->n_gid_mappings, err);
    if (userns < 0)
        return -1;
    struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
    if (rt_sys_mount_setattr(tree, "", AT_EMPTY_PATH | (o->ridmap ? AT_RECURSIVE : 0), &a) < 0)
        return berr_sys(err, "id-map %s", src);
    return steal_fd(&tree);
}

int rt_mounts_open_idmapped(struct rt_rootfs_ctx *ctx, struct berr **err)
{
    const struct rt_spec *spec = ctx->spec;
    struct rt_rootfs_priv *priv = rt_rootfs_priv_get(ctx);
    for (size_t i = 0; i < spec->n_mounts; i++) {
        const struct rt_mount *m = &spec->mounts[i];
        struct rt_mount_opts o __attribute__((cleanup(rt_mount_opts_clear))) = {0};
        if (rt_mount_opts_parse(m->options, &o, err) < 0)
            return berr_wrap(err, "mounts[%zu] (%s)", i, m->destination);
        if (!is_idmapped(m, &o) || mount_kind(m, &o) != MK_BIND)
            continue;
        if (priv->idmap_fds == NULL) {
            priv->idmap_fds = xcalloc(spec->n_mounts, sizeof(int));
            for (size_t k = 0; k < spec->n_mounts; k++)
                priv->idmap_fds[k] = -1;
        }
        if (priv->idmap_fds[i] >= 0)
            continue;
        priv->idmap_fds[i] = idmapped_tree(ctx, m, &o, err);
        if (priv->idmap_fds[i] < 0)
            return berr_wrap(err, "mounts[%zu] (%s)", i, m->destination);
    }
    return 0;
}

/* ---- each kind ---- */

static int mount_bind(struct mount_job *j, struct berr **err)
{
    struct rt_rootfs_ctx *ctx = j->ctx;
    _cleanup_free_ char *src = source_path(ctx->bundle, j->m->source);
    int root = j->priv->root_fd;
    _cleanup_close_ int target = rt_resolve_beneath(root, j->m->destination, 0, NULL);
    if (target == -ENOENT) {
        /* Only a missing target needs to know what the source is. */
        struct stat st;
        if (stat(src, &st) < 0)
            return berr_sys(err, "bind source %s", src);
        target = rt_resolve_beneath(root, j->m->destination,
                                    RT_RESOLVE_CREATE | (S_ISDIR(st.st_mode) ? 0 : RT_RESOLVE_FILE),
                                    NULL);
    }
    if (target < 0)
        return berr_set(err, -target, "resolve %s", j->dest);
    if (check_not_on_proc(j, target, err) < 0)
        return -1;

    if (is_idmapped(j->m, &j->o)) {
        _cleanup_close_ int tree = -1;
        if (j->priv->idmap_fds && j->priv->idmap_fds[j->index] >= 0)
            tree = steal_fd(&j->priv->idmap_fds[j->index]);
        else
            tree = idmapped_tree(ctx, j->m, &j->o, err);
        if (tree < 0)
            return -1;
        if (rt_sys_move_mount(tree, "", target, "",
                              MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
            return berr_sys(err, "attach id-mapped %s", src);
    } else {
        struct rt_fdpath fp;
        if (mount(src, rt_fdpath(&fp, target), NULL, MS_BIND | (j->o.flags & MS_REC), NULL) < 0)
            return berr_sys(err, "bind %s", src);
    }
    /* runc remounts only when an option beyond bind/rbind asks for a flag. */
    unsigned long extra = j->o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    return finish_mount(j, extra ? j->o.flags : 0, err);
}

/* In a user namespace without its own network namespace, sysfs cannot be mounted (nor mqueue
 * without an IPC namespace); runc then binds the host's, read-only throughout if the mount
 * asked for ro. */
static int host_fallback(struct mount_job *j, int target, const char *host, struct berr **err)
{
    struct rt_fdpath fp;
    if (mount(host, rt_fdpath(&fp, target), NULL, MS_BIND | MS_REC, NULL) < 0)
        return berr_sys(err, "bind %s (%s itself was refused)", host, j->m->type);
    unsigned long keep = j->o.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (!keep)
        return 0;
    _cleanup_close_ int top = reopen_target(j, err);
    if (top < 0 || bind_remount(j, top, keep, err) < 0)
        return -1;
    if (keep & MS_RDONLY) {
        struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
        if (rt_sys_mount_setattr(top, "", AT_EMPTY_PATH | AT_RECURSIVE, &a) < 0 && errno != ENOSYS)
            return berr_sys(err, "make the %s bind read-only", host);
    }
    return 0;
}

static int mount_special(struct mount_job *j, struct berr **err)
{
    _cleanup_close_ int target = resolve_plain_dir(j, err);
    if (target < 0)
        return -1;
    if (j->kind == MK_SYSFS && check_not_on_proc(j, target, err) < 0)
        return -1;
    struct rt_fdpath fp;
    const char *src = j->m->source && j->m->source[0] ? j->m->source : j->m->type;
    if (mount(src, rt_fdpath(&fp, target), j->m->type, j->o.flags, j->o.data) < 0) {
        if (j->kind == MK_SYSFS && (errno == EPERM || errno == EBUSY)) {
            if (host_fallback(j, target, "/sys", err) < 0)
                return -1;
        } else {
            return berr_sys(err, "mount %s", j->m->type);
        }
    }
    return finish_mount(j, 0, err);
}

/* ro tmpfs (and anything mounted on /dev) stays writable until finalize: devices, the console
 * and copy-up still have to write there. runc does the same. */
static unsigned long delay_ro(struct mount_job *j, unsigned long flags)
{
    if (!(flags & MS_RDONLY) || !(j->kind == MK_TMPFS || strcmp(j->dest, "/dev") == 0))
        return flags;
    struct rt_rootfs_priv *p = j->priv;
    p->ro_later = xreallocarray(p->ro_later, p->n_ro_later + 1, sizeof(*p->ro_later));
    p->ro_later[p->n_ro_later++] = (struct rt_ro_later){.index = j->index, .flags = flags};
    return flags & ~MS_RDONLY;
}

static int mount_tmpfs(struct mount_job *j, struct berr **err)
{
    bool created;
    _cleanup_close_ int target =
        rt_resolve_beneath(j->priv->root_fd, j->m->destination, RT_RESOLVE_CREATE, &created);
    if (target < 0)
        return berr_set(err, -target, "resolve %s", j->dest);
    if (check_not_on_proc(j, target, err) < 0)
        return -1;
    /* Like runc: a tmpfs over an existing directory takes its mode unless mode= says else. */
    _cleanup_free_ char *base = NULL;
    if (!created) {
        struct stat st;
        if (fstat(target, &st) < 0)
            return berr_sys(err, "stat %s", j->dest);
        base = j->o.data ? xasprintf("mode=%04o,%s", st.st_mode & 07777, j->o.data)
                         : xasprintf("mode=%04o", st.st_mode & 07777);
    }
    _cleanup_free_ char *data = labeled_data(j->ctx->spec, base ? base : j->o.data);
    struct rt_fdpath fp;
    const char *src = j->m->source && j->m->source[0] ? j->m->source : "tmpfs";
    if (mount(src, rt_fdpath(&fp, target), "tmpfs", delay_ro(j, j->o.flags), data) < 0)
        return berr_sys(err, "mount tmpfs");
    if (j->o.tmpcopyup) {
        /* The target fd still names the directory under the new mount: read from it. */
        _cleanup_close_ int top = reopen_target(j, err);
        if (top < 0 || copy_tree(target, top, 0, err) < 0)
            return -1;
    }
    return finish_mount(j, 0, err);
}

/* rt_cgroup_mount takes a path, and may mount on it and then work below it (v1 mounts a tmpfs
 * and binds each hierarchy inside), which /proc/self/fd/N cannot serve: that name keeps leading
 * to the directory under a new mount. So hand it the resolved target's canonical host path,
 * checked to lie in the rootfs; nothing in it is a symlink. */
static int mount_cgroup(struct mount_job *j, struct berr **err)
{
    if (j->ctx->cgroup == NULL)
        return berr_set(err, 0, "a cgroup mount needs the container's cgroup");
    _cleanup_close_ int target =
        rt_resolve_beneath(j->priv->root_fd, j->m->destination, RT_RESOLVE_CREATE, NULL);
    if (target < 0)
        return berr_set(err, -target, "resolve %s", j->dest);
    if (check_not_on_proc(j, target, err) < 0)
        return -1;
    struct rt_fdpath fp;
    char real[PATH_MAX], root[PATH_MAX];
    ssize_t n = readlink(rt_fdpath(&fp, target), real, sizeof(real) - 1);
    ssize_t rl = readlink(rt_fdpath(&fp, j->priv->root_fd), root, sizeof(root) - 1);
    if (n < 0 || rl < 0)
        return berr_sys(err, "locate %s", j->dest);
    real[n] = '\0';
    if (n < rl || memcmp(real, root, (size_t)rl) != 0 || (real[rl] != '/' && real[rl] != '\0'))
        return berr_set(err, 0, "%s resolved to %s, outside the root filesystem", j->dest, real);
    unsigned long flags = j->o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (rt_cgroup_mount(j->ctx->cgroup, real, flags, j->ctx->cgroupns, err) < 0)
        return -1;
    return finish_mount(j, 0, err);
}

/* data with every comma-separated option starting with prefix removed. */
static char *without_option(const char *data, const char *prefix)
{
    size_t plen = strlen(prefix);
    char *out = xmalloc(strlen(data) + 1);
    size_t n = 0;
    for (const char *p = data; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (!(len >= plen && strncmp(p, prefix, plen) == 0)) {
            if (n)
                out[n++] = ',';
            memcpy(out + n, p, len);
            n += len;
        }
        p += len + (end != NULL);
    }
    out[n] = 0;
    return out;
}

static int mount_other(struct mount_job *j, struct berr **err)
{
    _cleanup_close_ int target =
        rt_resolve_beneath(j->priv->root_fd, j->m->destination, RT_RESOLVE_CREATE, NULL);
    if (target < 0)
        return berr_set(err, -target, "resolve %s", j->dest);
    if (check_not_on_proc(j, target, err) < 0)
        return -1;
    _cleanup_free_ char *data = type_is(j->m, "mqueue") ? (j->o.data ? xstrdup(j->o.data) : NULL)
                                                        : labeled_data(j->ctx->spec, j->o.data);
    const char *src = j->m->source && j->m->source[0] ? j->m->source : j->m->type;
    struct rt_fdpath fp;
    if (mount(src, rt_fdpath(&fp, target), j->m->type, delay_ro(j, j->o.flags), data) < 0) {
        if (errno == EINVAL && type_is(j->m, "devpts") && data && strstr(data, "gid=")) {
            /* A user namespace whose maps leave out the tty group (gid=5 in most specs) makes
             * devpts refuse the option; runc and crun then mount without it. */
            _cleanup_free_ char *nogid = without_option(data, "gid=");
            if (mount(src, rt_fdpath(&fp, target), j->m->type, delay_ro(j, j->o.flags), nogid) ==
                0)
                return finish_mount(j, 0, err);
            errno = EINVAL;
        }
        if (!(errno == EPERM && type_is(j->m, "mqueue")))
            return berr_sys(err, "mount %s", j->m->type);
        if (host_fallback(j, target, "/dev/mqueue", err) < 0)
            return -1;
    }
    return finish_mount(j, 0, err);
}

static int mount_one(struct rt_rootfs_ctx *ctx, size_t i, struct berr **err)
{
    struct mount_job j = {.ctx = ctx, .priv = ctx->priv, .index = i, .m = &ctx->spec->mounts[i]};
    if (rt_mount_opts_parse(j.m->options, &j.o, err) < 0)
        return -1;
    j.kind = mount_kind(j.m, &j.o);
    j.dest = rt_path_clean(j.m->destination);
    int r;
    switch (j.kind) {
    case MK_BIND:
        r = mount_bind(&j, err);
        break;
    case MK_PROC:
    case MK_SYSFS:
        r = mount_special(&j, err);
        break;
    case MK_TMPFS:
        r = mount_tmpfs(&j, err);
        break;
    case MK_CGROUP:
        r = mount_cgroup(&j, err);
        break;
    default:
        r = mount_other(&j, err);
        break;
    }
    rt_mount_opts_clear(&j.o);
    free(j.dest);
    return r;
}

int rt_mounts_apply(struct rt_rootfs_ctx *ctx, struct berr **err)
{
    const struct rt_spec *spec = ctx->spec;
    for (size_t i = 0; i < spec->n_mounts; i++)
        if (mount_one(ctx, i, err) < 0)
            return berr_wrap(err, "mounts[%zu] (%s)", i, spec->mounts[i].destination);
    return 0;
}
