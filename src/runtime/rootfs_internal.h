/* Private to the rootfs module (rootfs.c, mounts.c, devices.c, safepath.c) and its unit test:
 * parsed mount options, the resolver's flags, the state kept between prepare and finalize, and
 * thin wrappers for the mount syscalls glibc may lack. */
#pragma once

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/rootfs.h"

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif
#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

/* Most propagation options one mount may carry (each is a separate mount(2) call). */
#define RT_MOUNT_MAX_PROPAGATION 8
/* mount(2) copies at most one page of data. */
#define RT_MOUNT_MAX_DATA 4095

/* One mount's "options", sorted into what each syscall takes. */
struct rt_mount_opts {
    unsigned long flags; /* MS_* to set */
    unsigned long clear; /* MS_* the options cleared explicitly ("rw", "suid", ...) */
    unsigned long propagation[RT_MOUNT_MAX_PROPAGATION]; /* applied in order, after the mount */
    size_t n_propagation;
    uint64_t attr_set, attr_clr; /* MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE) */
    bool atime_set;              /* some atime option was given (remounts keep it) */
    bool tmpcopyup;
    bool idmap, ridmap;
    char *data; /* the options mount(2) does not know as flags, comma-joined; NULL if none */
};

/* Parse raw options (NULL-terminated, may be NULL). Unknown options go to o->data. Fails only
 * on limits (too many propagation options, data longer than a page). o->data is owned by o. */
int rt_mount_opts_parse(char *const *options, struct rt_mount_opts *o, struct berr **err);
void rt_mount_opts_clear(struct rt_mount_opts *o);

enum rt_mount_opt_kind {
    RT_OPT_FLAG,      /* set an MS_* flag */
    RT_OPT_CLEAR,     /* clear an MS_* flag */
    RT_OPT_PROP,      /* a propagation type */
    RT_OPT_REC_SET,   /* set a recursive MOUNT_ATTR_* */
    RT_OPT_REC_CLEAR, /* clear a recursive MOUNT_ATTR_* */
    RT_OPT_TMPCOPYUP,
    RT_OPT_IDMAP,
    RT_OPT_RIDMAP,
};

struct rt_mount_opt_def {
    const char *name;
    enum rt_mount_opt_kind kind;
    unsigned long value;
};

/* The known option of that name, or NULL (then it belongs in the data string). */
const struct rt_mount_opt_def *rt_mount_opt_lookup(const char *name);
/* The whole table, for tests. */
const struct rt_mount_opt_def *rt_mount_opt_table(size_t *n);

/* Propagation flags of a rootfsPropagation value ("rslave" -> MS_SLAVE|MS_REC); 0 if unknown. */
unsigned long rt_propagation_flags(const char *name);

/* Lexically clean an absolute or relative path into an absolute one: no "//", "." or "..";
 * ".." at the root stays at the root. Caller frees. */
char *rt_path_clean(const char *path);

/* Resolver flags for rt_resolve_beneath. */
enum {
    RT_RESOLVE_CREATE = 1 << 0,        /* create missing directories */
    RT_RESOLVE_FILE = 1 << 1,          /* ... and a missing last component as an empty file */
    RT_RESOLVE_NOFOLLOW_LAST = 1 << 2, /* a symlink as the last component is returned as such */
};

/* Resolve path beneath root (see rt_open_beneath). Returns an O_PATH fd or -errno, never
 * allocating an error, so callers can probe cheaply. *created (may be NULL) says whether the
 * last component was made by this call. */
int rt_resolve_beneath(int root, const char *path, unsigned flags, bool *created);

/* For tests: resolve with the component walk only, as on kernels without openat2. */
void rt_resolve_use_openat2(bool use);

/* "/proc/self/fd/N" for a mount(2) path argument. */
struct rt_fdpath {
    char s[32];
};
const char *rt_fdpath(struct rt_fdpath *p, int fd);

/* MS_* flags a bind remount must carry to keep what statfs reports (locked in a user
 * namespace: ro, nosuid, nodev, noexec, atime, nosymfollow). */
unsigned long rt_statfs_mount_flags(unsigned long f_flags);

/* What prepare leaves for pivot and finalize. */
struct rt_ro_later {
    size_t index;        /* spec mount made read-only only in finalize (tmpfs and /dev) */
    unsigned long flags; /* its MS_* flags, for the classic remount */
};

struct rt_rootfs_priv {
    int root_fd;    /* O_PATH of the rootfs bind mount, which becomes "/" */
    int *idmap_fds; /* per spec mount: a detached idmapped tree made early, or -1 */
    struct rt_ro_later *ro_later;
    size_t n_ro_later;
    bool dev_bound; /* /dev is a bind mount: no device nodes or links (runc's rule) */
    bool has_proc;  /* some spec mount is a proc */
};

struct rt_rootfs_priv *rt_rootfs_priv_get(struct rt_rootfs_ctx *ctx);

/* mounts.c: every spec mount, in order, beneath ctx's root fd. */
int rt_mounts_apply(struct rt_rootfs_ctx *ctx, struct berr **err);
/* mounts.c: check mount i ("config.json: mounts[i] (dest): ..." on failure). bundle may be
 * NULL (relative sources are checked against the working directory). */
int rt_mount_validate_one(const struct rt_spec *spec, size_t i, const char *bundle,
                          struct berr **err);
/* mounts.c: open the detached idmapped trees (see rt_rootfs_open_idmapped). */
int rt_mounts_open_idmapped(struct rt_rootfs_ctx *ctx, struct berr **err);

/* devices.c */
int rt_devices_validate(const struct rt_spec *spec, struct berr **err);
/* The default devices and linux.devices, then the /dev links. */
int rt_devices_create(struct rt_rootfs_ctx *ctx, struct berr **err);

/* Syscalls glibc may not wrap (or wrap only lately). */
static inline int rt_sys_open_tree(int dfd, const char *path, unsigned flags)
{
    return (int)syscall(SYS_open_tree, dfd, path, flags);
}

static inline int rt_sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to,
                                    unsigned flags)
{
    return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

static inline int rt_sys_mount_setattr(int dfd, const char *path, unsigned flags,
                                       struct mount_attr *attr)
{
    return (int)syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof(*attr));
}

static inline int rt_sys_fsopen(const char *fs, unsigned flags)
{
    return (int)syscall(SYS_fsopen, fs, flags);
}

static inline int rt_sys_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux)
{
    return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}

static inline int rt_sys_fsmount(int fd, unsigned flags, unsigned attr_flags)
{
    return (int)syscall(SYS_fsmount, fd, flags, attr_flags);
}
