/* What the cgroup files share and nobody else sees: the parsed resources, the host layout
 * (which hierarchy hosts which controller), a container's directories, the v1/v2 ops tables
 * and the small file helpers. Only cgroup*.c and tests/unit/test_cgroup.c include this. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "runtime/cgroup.h"

/* Controllers we know by name. v2 spells blkio "io"; devices and freezer are not v2
 * controllers (an eBPF program and the core cgroup.freeze file stand in for them), nor is
 * cpuacct (the core cpu.stat file does). */
enum cg_ctrl {
    CG_CPU,
    CG_CPUACCT,
    CG_CPUSET,
    CG_MEMORY,
    CG_DEVICES,
    CG_FREEZER,
    CG_BLKIO,
    CG_PIDS,
    CG_HUGETLB,
    CG_NET_CLS,
    CG_NET_PRIO,
    CG_RDMA,
    CG_MISC,
    CG_PERF_EVENT,
    CG_NCTRL,
};

const char *cg_ctrl_v1_name(enum cg_ctrl c);
/* NULL when c has no v2 controller of its own. */
const char *cg_ctrl_v2_name(enum cg_ctrl c);
/* -1 when unknown. */
int cg_ctrl_from_v1_name(const char *name);
int cg_ctrl_from_v2_name(const char *name);

/* ---- resources ---------------------------------------------------------------------- */

/* An optional integer: set says whether the spec (or a flag) gave it. */
struct cg_val {
    bool set;
    int64_t v;
};

struct cg_weight_device {
    int64_t major, minor;
    struct cg_val weight, leaf_weight;
};

enum cg_throttle_kind {
    CG_THROTTLE_READ_BPS,
    CG_THROTTLE_WRITE_BPS,
    CG_THROTTLE_READ_IOPS,
    CG_THROTTLE_WRITE_IOPS,
    CG_THROTTLE_NKINDS,
};

struct cg_throttle_device {
    int64_t major, minor;
    uint64_t rate; /* 0 removes the limit */
};

struct cg_hugepage_limit {
    char *page_size; /* "2MB", validated: digits then KB/MB/GB/TB/PB */
    uint64_t limit;
};

struct cg_net_priority {
    char *name;
    uint32_t priority;
};

struct cg_rdma_limit {
    char *device;
    struct cg_val hca_handles, hca_objects;
};

struct cg_unified_entry {
    char *key; /* "memory.high": validated, never a path */
    char *value;
};

/* Device access bits, equal to the kernel's BPF_DEVCG_ACC_* so the eBPF program can use them
 * directly. */
enum {
    CG_ACC_MKNOD = 1,
    CG_ACC_READ = 2,
    CG_ACC_WRITE = 4,
    CG_ACC_ALL = 7,
};
#define CG_DEV_WILDCARD (-1)

struct cg_device_rule {
    bool allow;
    char type;            /* 'a', 'c' or 'b'; an 'a' rule covers every device and access */
    int64_t major, minor; /* CG_DEV_WILDCARD or 0..INT32_MAX */
    unsigned access;      /* CG_ACC_* bits, never 0 */
};

/* Values of 0 are "not set" where runc treats them so (memory.limit, cpu.shares, ...); those
 * fields have set == false after parsing. -1 means "unlimited" where the spec says so. */
struct rt_resources {
    struct {
        struct cg_val limit, reservation, swap, swappiness, kernel_tcp;
        struct cg_val disable_oom_killer, use_hierarchy, check_before_update;
    } memory;
    struct {
        struct cg_val shares, quota, burst, period, rt_runtime, rt_period, idle;
        char *cpus, *mems; /* NULL: not set */
    } cpu;
    struct cg_val pids_limit;
    struct {
        struct cg_val weight, leaf_weight;
        struct cg_weight_device *weight_devices;
        size_t n_weight_devices;
        struct cg_throttle_device *throttle[CG_THROTTLE_NKINDS];
        size_t n_throttle[CG_THROTTLE_NKINDS];
    } blkio;
    struct cg_hugepage_limit *hugepages;
    size_t n_hugepages;
    struct {
        struct cg_val class_id;
        struct cg_net_priority *priorities;
        size_t n_priorities;
    } network;
    struct cg_rdma_limit *rdma;
    size_t n_rdma;
    struct cg_unified_entry *unified;
    size_t n_unified;
    bool has_devices; /* false: leave the device cgroup alone */
    struct cg_device_rule *devices;
    size_t n_devices;
};

/* Upper bound on every list in linux.resources (untrusted input). */
#define CG_MAX_LIST 1024

bool cg_res_has_memory(const struct rt_resources *r);
bool cg_res_has_cpu(const struct rt_resources *r);
bool cg_res_has_cpuset(const struct rt_resources *r);
bool cg_res_has_blkio(const struct rt_resources *r);

/* "10M", "512k", "1g", "1.5G", "4096", "-1" (binary units, case-insensitive, an optional
 * "b"/"ib" suffix as docker's RAMInBytes accepts). */
int cg_parse_size(const char *s, int64_t *out);

/* cgroup v1 values to v2 ones, as runc converts them. */
uint64_t cg_shares_to_weight(uint64_t shares);
uint64_t cg_blkio_weight_to_io_weight(uint64_t weight);
/* memory.swap.max from the spec's memory+swap value and the memory limit (either may be
 * unset: 0). *out is -1 for "max", *write false when nothing is to be written. */
int cg_v2_swap_value(int64_t swap, int64_t memory, int64_t *out, bool *write, struct berr **err);

/* Device rules: parse one linux.resources.devices[] entry; the v1 "c 1:3 rwm" form. */
int cg_device_rule_parse(json_t *obj, const char *where, struct cg_device_rule *out,
                         struct berr **err);
char *cg_device_rule_v1_string(const struct cg_device_rule *r);

/* The eBPF device filter: program text for rules (layout documented in cgroup_devices.c),
 * and loading + attaching it to a cgroup2 directory, replacing what we attached before. */
struct bpf_insn;
struct bpf_insn *cg_devices_bpf_program(const struct cg_device_rule *rules, size_t n,
                                        size_t *n_insns, struct berr **err);
int cg_devices_bpf_apply(int cgroup_dirfd, const struct cg_device_rule *rules, size_t n,
                         struct berr **err);
/* Ids of the BPF_CGROUP_DEVICE programs attached directly to a cgroup (for tests). */
int cg_devices_bpf_query(int cgroup_dirfd, uint32_t *ids, uint32_t *n, struct berr **err);

/* ---- host layout ------------------------------------------------------------------------ */

struct cg_hier {
    bool v2;
    char *mnt;       /* mount point */
    char *root;      /* the mount's root inside the hierarchy ("/" usually) */
    char *name;      /* basename of the mount point: "cpu,cpuacct", "systemd", "unified" */
    char *ctrl_list; /* v1: controllers (and name=X) as in the mount options; v2: "" */
    uint32_t ctrls;  /* bit per enum cg_ctrl hosted here */
    char *self;      /* this process's cgroup in the hierarchy (from /proc/self/cgroup) */
};

struct cg_layout {
    enum rt_cgroup_mode mode;
    struct cg_hier *h;
    size_t n;
    int v2;              /* index of the v2 hierarchy or -1 */
    int route[CG_NCTRL]; /* controller -> hierarchy index, -1 when unavailable */
    bool self_known;     /* /proc/self/cgroup has been read */
};

/* Build a layout from mountinfo text (and /proc/self/cgroup text; may be NULL to read it
 * later); v2 controllers are read from the real cgroup.controllers at the mount point. */
struct cg_layout *cg_layout_from_text(const char *mountinfo, const char *self_cgroup,
                                      struct berr **err);
int cg_layout_set_self(struct cg_layout *l, const char *self_cgroup, struct berr **err);
void cg_layout_free(struct cg_layout *l);
/* The process-wide layout, discovered on first use. */
struct cg_layout *cg_layout_get(struct berr **err);
/* Replace the process-wide layout (tests simulate other hosts with it); takes ownership. */
void cg_layout_replace(struct cg_layout *l);

/* cgroupsPath rules: returns the cleaned path ("a/b" relative, "/a/b" absolute), refusing
 * ".." that climbs out of it and paths that name the hierarchy root. */
char *cg_clean_path(const char *id, const char *cgroups_path, bool *relative, struct berr **err);
/* The host directory of a cleaned path in hierarchy h. */
char *cg_hier_dir(const struct cg_hier *h, const char *clean, bool relative);

/* ---- a container's cgroup --------------------------------------------------------------- */

struct cg_dir {
    char *name; /* hierarchy name as in struct cg_hier */
    char *path; /* absolute host path of the container's directory */
    bool v2;
    uint32_t ctrls; /* controllers routed here */
    int fd;         /* O_DIRECTORY fd, opened on first use; -1 before */
};

struct rt_cgroup {
    char *path; /* the cleaned cgroupsPath, for messages and the state file */
    enum rt_cgroup_mode mode;
    struct cg_dir *dirs;
    size_t n;
    int v2;              /* index of the v2 directory or -1 */
    int route[CG_NCTRL]; /* controller -> dirs index, -1 when unavailable */
};

/* File helpers on a container directory. Messages carry the full path. */
int cg_dir_fd(struct cg_dir *d, struct berr **err);
int cg_write(struct cg_dir *d, const char *file, const char *val, struct berr **err);
int cg_writef(struct cg_dir *d, const char *file, struct berr **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Like cg_write but returns -errno without building an error (for callers that tolerate
 * some failures). */
int cg_try_write(struct cg_dir *d, const char *file, const char *val);
char *cg_read(struct cg_dir *d, const char *file, struct berr **err);
/* Reads a single number; "max" reads as UINT64_MAX. */
int cg_read_u64(struct cg_dir *d, const char *file, uint64_t *out, struct berr **err);
bool cg_has_file(struct cg_dir *d, const char *file);
/* rdma.max lines ("mlx4_0 hca_handle=2 hca_object=2000"): the same in v1 and v2. */
int cg_write_rdma(struct cg_dir *d, const struct rt_resources *r, struct berr **err);

/* Flat-keyed files ("key value" lines): value of key, or -1 when absent. */
int cg_keyed_u64(const char *text, const char *key, uint64_t *out);
/* Set obj[key] = v; v above INT64_MAX (jansson integers are signed) is written as
 * INT64_MAX. With omitempty, 0 is left out (as runc's JSON does). */
void cg_json_u64(json_t *obj, const char *key, uint64_t v, bool omitempty);
/* The host's huge page sizes as runc names them ("2MB", "1GB"); cached. */
char *const *cg_hugepage_sizes(void);
/* Every "key value" line of a flat-keyed file as an object (memory.stat's "raw"). */
json_t *cg_keyed_to_json(const char *text);
/* "0-3,7" as [0,1,2,3,7]. */
json_t *cg_cpu_list_to_json(const char *list);
/* Append {"major","minor","op","value"} to arr (runc's BlkioEntry, zeros left out). */
void cg_blkio_entry(json_t *arr, uint64_t major, uint64_t minor, const char *op, uint64_t value);
/* Set obj[key] = arr unless arr is empty (runc's omitempty); takes arr. */
void cg_json_set_array(json_t *obj, const char *key, json_t *arr);

/* ---- backends --------------------------------------------------------------------------- */

struct cg_ops {
    const char *name;
    /* Directory preparation at creation: enable controllers for children of an existing
     * parent (v2 cgroup.subtree_control); initialise a directory we just made (v1 cpuset
     * needs cpus and mems copied from its parent before anything can join). */
    int (*enable_children)(const char *parent, uint32_t ctrls, struct berr **err);
    int (*init_new_dir)(const char *path, uint32_t ctrls, struct berr **err);
    /* Resource writers: each writes only the files for fields that are set. update is
     * false at creation. */
    int (*set_memory)(struct cg_dir *d, const struct rt_resources *r, bool update,
                      struct berr **err);
    int (*set_cpu)(struct cg_dir *d, const struct rt_resources *r, bool update, struct berr **err);
    int (*set_cpuset)(struct cg_dir *d, const struct rt_resources *r, struct berr **err);
    int (*set_pids)(struct cg_dir *d, const struct rt_resources *r, struct berr **err);
    int (*set_blkio)(struct cg_dir *d, const struct rt_resources *r, struct berr **err);
    int (*set_hugetlb)(struct cg_dir *d, const struct rt_resources *r, struct berr **err);
    int (*set_net_cls)(struct cg_dir *d, const struct rt_resources *r, struct berr **err);
    int (*set_net_prio)(struct cg_dir *d, const struct rt_resources *r, struct berr **err);
    int (*set_rdma)(struct cg_dir *d, const struct rt_resources *r, struct berr **err);
    int (*set_devices)(struct cg_dir *d, const struct rt_resources *r, struct berr **err);
    int (*set_unified)(struct cg_dir *d, const struct rt_resources *r, struct berr **err);
    /* Freezer: request and report. frozen_state: 1 frozen, 0 thawed, -1 with *err. */
    int (*freeze)(struct cg_dir *d, bool frozen, struct berr **err);
    int (*frozen_state)(struct cg_dir *d, struct berr **err);
    /* Whether the kernel's OOM killer has killed something in d. */
    bool (*oom_killed)(struct cg_dir *d);
    /* Statistics, filled into the runc-shaped objects. */
    void (*stats_cpu_usage)(struct cg_dir *d, json_t *usage);
    void (*stats_cpu_throttling)(struct cg_dir *d, json_t *throttling);
    void (*stats_cpuset)(struct cg_dir *d, json_t *cpuset);
    void (*stats_memory)(struct cg_dir *d, json_t *memory);
    void (*stats_pids)(struct cg_dir *d, json_t *pids);
    void (*stats_blkio)(struct cg_dir *d, json_t *blkio);
    void (*stats_hugetlb)(struct cg_dir *d, json_t *hugetlb);
    /* The container's view of cgroups at target (see rt_cgroup_mount). */
    int (*mount)(struct rt_cgroup *cg, const char *target, unsigned long flags, bool has_cgroupns,
                 struct berr **err);
};

extern const struct cg_ops cg_v1_ops;
extern const struct cg_ops cg_v2_ops;

static inline struct cg_dir *cg_route(struct rt_cgroup *cg, enum cg_ctrl c)
{
    return cg->route[c] >= 0 ? &cg->dirs[cg->route[c]] : NULL;
}

/* The directory whose cgroup.procs lists the container's processes (NULL: none). */
struct cg_dir *cg_primary_dir(struct rt_cgroup *cg);

static inline const struct cg_ops *cg_dir_ops(const struct cg_dir *d)
{
    return d->v2 ? &cg_v2_ops : &cg_v1_ops;
}

/* Mount helper shared by both backends: bind src on dst, then remount with flags (keeping
 * the flags the kernel locks on the source). */
int cg_bind_mount(const char *src, const char *dst, unsigned long flags, struct berr **err);

/* Write hugepageLimits: hugetlb.<size>.<limit_suffix> for each, and the reservation limit
 * (<rsvd_suffix>, kernels 5.7+) alongside where it exists. v1 and v2 differ only in names. */
int cg_write_hugetlb(struct cg_dir *d, const struct rt_resources *r, const char *limit_suffix,
                     const char *rsvd_suffix, struct berr **err);

/* cpuset.cpus/mems and pids.max have the same names and forms in v1 and v2. */
int cg_write_cpuset(struct cg_dir *d, const struct rt_resources *r, struct berr **err);
int cg_write_pids(struct cg_dir *d, const struct rt_resources *r, struct berr **err);
