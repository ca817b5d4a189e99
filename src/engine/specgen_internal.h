/* Shared by the spec generator's files (specgen.c, specgen_resources.c, seccomp_default.c):
 * typed reads of request JSON and the capability name table. Not part of the engine's API. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* obj[key], NULL when obj is NULL or the member is absent or null. */
json_t *sg_get(json_t *obj, const char *key);
/* Typed members: absent or null leave *out as it is and return 0; another type is EINVAL naming
 * "<where>.<key>" and the type found. */
int sg_int(json_t *obj, const char *where, const char *key, int64_t *out, struct berr **err);
int sg_bool(json_t *obj, const char *where, const char *key, bool *out, struct berr **err);
int sg_str(json_t *obj, const char *where, const char *key, const char **out, struct berr **err);
int sg_array(json_t *obj, const char *where, const char *key, json_t **out, struct berr **err);
int sg_object(json_t *obj, const char *where, const char *key, json_t **out, struct berr **err);
/* An array whose elements are all strings. */
int sg_strv(json_t *obj, const char *where, const char *key, json_t **out, struct berr **err);
/* "a string", "an integer", ... for messages. */
/* Go's %q for plain text: the string in double quotes with \" \\ and control bytes escaped.
 * Returns a new string. */
char *sg_quote(const char *s);

/* Go's path.Clean: the shortest lexical equivalent ("/a//b/../c/" -> "/a/c"). New string. */
char *sg_path_clean(const char *p);

/* Capability numbers and Docker's names ("CAP_CHOWN"); NULL or -1 when unknown. */
const char *sg_cap_name(int cap);
int sg_cap_number(const char *name); /* exact, upper case, with the CAP_ prefix */
#define SG_CAP_MAX 40                /* CAP_CHECKPOINT_RESTORE: the last one we have a name for */

/* linux.resources (device rules, memory, cpu, pids, blockIO) and linux.devices from HostConfig,
 * with Docker's validation. linux is the spec's "linux" object, filled in place. */
int sg_resources(json_t *host_config, bool privileged, json_t *lx, struct berr **err);

/* Docker's default seccomp profile in OCI form for a container whose bounding set is caps.
 * Syscalls it does not know get ENOSYS (defaultErrnoRet 38); those Docker's profile refuses,
 * EPERM. */
json_t *sg_seccomp_default(uint64_t caps);
/* A Docker-format profile (the JSON text `--security-opt seccomp=FILE` sends) in OCI form, its
 * includes/excludes decided for this host and caps; NULL with *err empty when the profile
 * disables seccomp (no defaultAction and no syscalls). */
json_t *sg_seccomp_from_docker(const char *text, uint64_t caps, struct berr **err);

struct eng_spec_ctx;

/* What the mount list depends on, decided by specgen.c from HostConfig. */
struct sg_mount_plan {
    bool privileged, readonly_rootfs, writable_cgroups, init, ipc_none;
    int64_t shm_size;     /* bytes, 0: Docker's 64 MiB */
    const char *shm_bind; /* a host directory bound at /dev/shm, or NULL: a tmpfs */
    json_t *tmpfs;        /* HostConfig.Tmpfs, may be NULL */
};

/* The spec's mounts (specgen_mounts.c): Docker's defaults, then the container's own (shm bind,
 * /etc/resolv.conf, /etc/hostname, /etc/hosts, HostConfig.Tmpfs, ctx->mounts), later ones
 * replacing earlier ones with the same destination, the container's own ordered by depth. */
int sg_mounts(const struct eng_spec_ctx *ctx, const struct sg_mount_plan *plan, json_t **out,
              struct berr **err);
/* Docker's linux.maskedPaths (with the host's per-CPU thermal_throttle directories) and
 * linux.readonlyPaths. New references. */
json_t *sg_default_masked_paths(void);
json_t *sg_default_readonly_paths(void);
