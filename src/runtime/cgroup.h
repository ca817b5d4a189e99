/* Container cgroups behind one interface for cgroup v1, v2 and the v1/v2 hybrid layout
 * (v1 controllers plus a cgroup2 mount at /sys/fs/cgroup/unified). The backend is chosen at
 * run time from what is mounted; v1 and v2 each live behind an ops table (cgroup_v1.c,
 * cgroup_v2.c); cgroup.c holds what is shared and dispatches. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

enum rt_cgroup_mode {
    RT_CGROUP_V1,     /* v1 controllers only */
    RT_CGROUP_HYBRID, /* v1 controllers, plus cgroup2 at /sys/fs/cgroup/unified */
    RT_CGROUP_V2,     /* pure unified hierarchy at /sys/fs/cgroup */
};

/* What the running host has. Cached after the first call. */
enum rt_cgroup_mode rt_cgroup_detect_mode(void);

/* linux.resources, parsed and validated. Opaque; owned by the caller. */
struct rt_resources;
/* Parse linux.resources (may be NULL: no limits; the result is never NULL then). Unknown
 * fields are ignored as runc does; wrong types or impossible values fail, naming the field:
 * "<where>: linux.resources.memory.limit: expected an integer" (where names the file; may be
 * NULL). Errors of validation carry errnum 0. */
struct rt_resources *rt_resources_parse(json_t *resources, const char *where, struct berr **err);
/* Parse the flags of `berth-runc update` (--memory 10M ...) into a resources object. Each
 * flag is a NULL-terminated pair list {name, value, name, value, ..., NULL}. */
struct rt_resources *rt_resources_from_flags(char *const *pairs, struct berr **err);
void rt_resources_free(struct rt_resources *r);
/* For create, as runc's specconv does: append runc's default device rules after
 * linux.resources.devices (mknod of any char/block device; rwm on /dev/null, zero, full,
 * random, urandom, tty, ptmx, pts/N, net/tun). A device in devs (linux.devices) at the path of
 * a default replaces that default, and, as in runc, linux.devices entries are not allowed by
 * themselves: the spec's linux.resources.devices must allow them. After this call the device
 * cgroup is always set up (default deny); without it, a spec with no linux.resources.devices
 * leaves device access as the parent cgroup has it. */
struct rt_device;
void rt_resources_add_default_devices(struct rt_resources *r, const struct rt_device *devs,
                                      size_t n);

/* A container's cgroup (one directory per v1 hierarchy, or one v2 directory). */
struct rt_cgroup;

/* Create the container's cgroup and apply res (may be NULL). cgroups_path follows runc:
 * absolute paths are below each hierarchy's root, relative ones below the cgroup of the
 * calling process (per hierarchy), NULL or "" means "<id>" below that cgroup, as runc does.
 * Nothing is left behind on failure. */
struct rt_cgroup *rt_cgroup_create(const char *id, const char *cgroups_path,
                                   const struct rt_resources *res, struct berr **err);
/* Move pid into the container's cgroup (every hierarchy). */
int rt_cgroup_enter(struct rt_cgroup *cg, pid_t pid, struct berr **err);
/* Apply new limits to a running container (`update`). */
int rt_cgroup_update(struct rt_cgroup *cg, const struct rt_resources *res, struct berr **err);
/* Freeze (pause) or thaw (resume); waits until the freezer reports the new state. */
int rt_cgroup_freeze(struct rt_cgroup *cg, bool frozen, struct berr **err);
/* Whether the cgroup is frozen now. */
bool rt_cgroup_is_frozen(struct rt_cgroup *cg);
/* All pids in the cgroup (and below). *pids is malloc'd. */
int rt_cgroup_pids(struct rt_cgroup *cg, pid_t **pids, size_t *n, struct berr **err);
/* Send sig to every process in the cgroup (`kill --all`). */
int rt_cgroup_kill_all(struct rt_cgroup *cg, int sig, struct berr **err);
/* Kill what is left, then remove the directories (retrying while the kernel finishes
 * tearing processes down). Missing directories are fine. */
int rt_cgroup_destroy(struct rt_cgroup *cg, struct berr **err);
/* Usage figures in the shape runc's `events --stats` prints under "data" (cpu, memory, pids,
 * blkio, hugetlb). */
json_t *rt_cgroup_stats(struct rt_cgroup *cg, struct berr **err);
/* Whether the container's cgroup saw an OOM kill (memory.events oom_kill or v1 oom_control). */
bool rt_cgroup_oom_killed(struct rt_cgroup *cg);

/* Mount the container's view of cgroups at target, an absolute host path to an existing
 * directory inside the rootfs (already resolved safely by the caller), from inside the
 * container's mount namespace before pivot_root. flags are MS_RDONLY etc. from the mount's
 * options. With a cgroup namespace, v2 mounts cgroup2 directly; otherwise (and on v1) the
 * container's own cgroup directories are bind-mounted so it sees only itself. */
int rt_cgroup_mount(struct rt_cgroup *cg, const char *target, unsigned long flags,
                    bool has_cgroupns, struct berr **err);

/* Persist and restore: the saved form goes into the container's state file. */
json_t *rt_cgroup_save(const struct rt_cgroup *cg);
struct rt_cgroup *rt_cgroup_load(json_t *saved, struct berr **err);
void rt_cgroup_free(struct rt_cgroup *cg);

/* For `features`: fill obj with the cgroup part of the features document. */
void rt_cgroup_features(json_t *linux_obj);
