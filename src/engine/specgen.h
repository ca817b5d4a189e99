/* From a Docker container-create request to the OCI runtime spec (config.json) berth-runc runs:
 * the merged container Config, then Docker's defaults (oci/defaults.go, daemon/oci_linux.go)
 * adjusted by HostConfig. Everything is validated before anything is built, with Docker's
 * wording where Docker has some; nothing here touches the host beyond reading it. */
#pragma once

#include <stdbool.h>

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"

/* Merges an image's config (the OCI image config's "config" object: Env, Cmd, Entrypoint,
 * WorkingDir, User, ExposedPorts, Volumes, Labels, StopSignal, Healthcheck, OnBuild; may be NULL)
 * with a create request's Config (same names, Docker's casing) into the container's Config as
 * `docker inspect` shows it (every Config key, in Docker's order). Docker's rules: Env is the
 * request's, then the image's entries whose key the request does not set; an Entrypoint in the
 * request (even [""]) drops the image's Cmd unless Cmd is also given, while an absent or empty
 * one keeps the image's Entrypoint (absent) and Cmd; Entrypoint [""] then becomes null; Cmd,
 * WorkingDir, User, StopSignal from the request else the image; Healthcheck field by field;
 * ExposedPorts, Volumes, Labels unioned (request wins). A string Cmd/Entrypoint is one word.
 * Errors (EINVAL): wrong types ("Config.Env[1]: expected a string, got a number") and, as
 * Docker, "no command specified" when neither Entrypoint nor Cmd remains, Healthcheck durations
 * under 1ms, a Hostname over 64 bytes. Returns a new object. */
json_t *eng_config_merge(json_t *image_config, json_t *req_config, struct berr **err);

enum eng_cgroup_mode {
    ENG_CGROUP_DETECT = 0, /* look at /sys/fs/cgroup */
    ENG_CGROUP_UNIFIED,    /* pure cgroup v2: a private cgroup namespace by default */
    ENG_CGROUP_LEGACY,     /* v1 or hybrid: the host's cgroup namespace by default */
};

struct eng_spec_ctx {
    const char *id;       /* container id (64 hex) */
    const char *rootfs;   /* absolute path: root.path */
    int rootfs_fd;        /* an O_PATH fd of rootfs, for looking up users and groups beneath it;
                             -1: opened here from rootfs */
    const char *hostname; /* the container's hostname (NULL: Config.Hostname) */
    /* host files bound at /etc/resolv.conf, /etc/hostname, /etc/hosts; NULL: not bound */
    const char *etc_hosts, *etc_hostname, *etc_resolv;
    /* host path of berth-init, bound read-only at /sbin/docker-init for HostConfig.Init */
    const char *init_path;
    /* OCI mount objects made by the volume module (binds, volumes, tmpfs); borrowed. They come
     * after the defaults and replace any earlier mount with the same destination (a /dev mount
     * also drops the default /dev/...); all but the defaults are then ordered by depth. */
    json_t *mounts;
    /* namespaces to join, or NULL: required for the container:<id> modes (resolved by the
     * engine), and joined whenever given unless the mode is "host" (so that a network
     * namespace the engine made for a bridge network can be passed too) */
    const char *ipc_path, *pid_path, *net_path, *uts_path;
    /* a host dir to bind at /dev/shm (IpcMode shareable/container:<id>; for IpcMode host, NULL
     * means the host's /dev/shm), or NULL: a tmpfs of ShmSize (default 64 MiB) */
    const char *shm_path;
    /* the host's bounding set as a bit mask; 0: read it from /proc/self/status CapBnd */
    uint64_t cap_bounding;
    enum eng_cgroup_mode cgroup_mode;
};

/* config: the merged Config; host_config: the request's HostConfig (may be NULL). Returns the OCI
 * spec (ociVersion 1.1.0), a new object. Errors are EINVAL with Docker's wording where Docker
 * has one (e.g. "invalid CapAdd: unknown capability: \"CAP_FOO\"", "unable to find user foo: no
 * matching entries in passwd file", "invalid --security-opt 2: \"x\""), and name the field
 * otherwise ("HostConfig.Memory: expected an integer, got a string").
 *
 * What it holds beyond Docker's defaults: process.env gets HOME (the user's passwd home, else
 * "/") when the Config does not set it; RLIMIT_NOFILE defaults to 1048576 capped to this
 * process's hard limit unless HostConfig.Ulimits sets nofile; capabilities never exceed
 * cap_bounding; the default seccomp profile answers ENOSYS for syscalls it does not know and
 * EPERM for those Docker's profile refuses. Values of uint64 fields at or above 2^63 (an rlimit
 * of -1: unlimited) are stored as their int64 two's complement, as rt_json_loadb reads them. */
json_t *eng_spec_generate(json_t *config, json_t *host_config, const struct eng_spec_ctx *ctx,
                          struct berr **err);

/* Whether containers get pure cgroup v2 (ctx's mode, or /sys/fs/cgroup when ctx is NULL or
 * says detect): Docker then defaults to a private cgroup namespace. */
bool eng_cgroup_unified(const struct eng_spec_ctx *ctx);
