/* The OCI runtime-spec config.json model: parsed and validated in full before anything is done
 * (bubblewrap's rule). Sub-objects owned by other modules (linux.resources, linux.seccomp,
 * mount options) are validated by those modules from spec_load(). Everything is owned by
 * struct rt_spec and freed by rt_spec_free(). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct rt_id_map {
    uint32_t container_id;
    uint32_t host_id;
    uint32_t size;
};

struct rt_mount {
    char *destination;
    char *type;          /* may be NULL (bind mounts) */
    char *source;        /* may be NULL */
    char **options;      /* NULL-terminated, raw as in config.json */
    struct rt_id_map *uid_mappings; /* idmapped mounts */
    size_t n_uid_mappings;
    struct rt_id_map *gid_mappings;
    size_t n_gid_mappings;
};

struct rt_rlimit {
    int resource; /* RLIMIT_* */
    uint64_t soft;
    uint64_t hard;
};

enum rt_cap_set {
    RT_CAP_BOUNDING,
    RT_CAP_EFFECTIVE,
    RT_CAP_INHERITABLE,
    RT_CAP_PERMITTED,
    RT_CAP_AMBIENT,
    RT_CAP_NSETS,
};

struct rt_caps {
    uint64_t sets[RT_CAP_NSETS]; /* bit n = capability n */
};

struct rt_process {
    bool terminal;
    bool has_console_size;
    unsigned console_height, console_width;
    char *cwd;
    char **args; /* NULL-terminated, at least one */
    char **env;  /* NULL-terminated, may be empty */
    uid_t uid;
    gid_t gid;
    bool has_umask;
    mode_t umask;
    gid_t *additional_gids;
    size_t n_additional_gids;
    bool has_caps; /* no "capabilities" object means: all sets empty */
    struct rt_caps caps;
    bool no_new_privileges;
    bool has_oom_score_adj;
    int oom_score_adj;
    struct rt_rlimit *rlimits;
    size_t n_rlimits;
    char *apparmor_profile;
    char *selinux_label;
    bool has_io_priority;
    int io_priority_class; /* IOPRIO_CLASS_* */
    int io_priority;
    bool has_scheduler;
    int sched_policy;
    int sched_nice;
    int sched_priority;
    uint64_t sched_flags;
    uint64_t sched_runtime, sched_deadline, sched_period;
};

enum rt_ns_type {
    RT_NS_PID,
    RT_NS_NET,
    RT_NS_MNT,
    RT_NS_IPC,
    RT_NS_UTS,
    RT_NS_USER,
    RT_NS_CGROUP,
    RT_NS_TIME,
    RT_NS_COUNT,
};

struct rt_namespace {
    bool present;
    char *path; /* NULL: create a new one */
};

struct rt_device {
    char *path;
    char type; /* 'c', 'b', 'u', 'p' */
    int64_t major, minor;
    bool has_mode;
    mode_t mode;
    bool has_uid, has_gid;
    uid_t uid;
    gid_t gid;
};

struct rt_hook {
    char *path;
    char **args; /* NULL-terminated; may be NULL */
    char **env;  /* NULL-terminated; may be NULL */
    int timeout; /* seconds; 0 = none */
};

enum rt_hook_kind {
    RT_HOOK_PRESTART,
    RT_HOOK_CREATE_RUNTIME,
    RT_HOOK_CREATE_CONTAINER,
    RT_HOOK_START_CONTAINER,
    RT_HOOK_POSTSTART,
    RT_HOOK_POSTSTOP,
    RT_HOOK_NKINDS,
};

struct rt_hook_list {
    struct rt_hook *hooks;
    size_t n;
};

struct rt_kv {
    char *key;
    char *value;
};

struct rt_time_offset {
    bool present;
    int64_t secs;
    uint32_t nanosecs;
};

struct rt_spec {
    json_t *json; /* the whole document, kept for round trips and annotations */
    char *oci_version;
    char *root_path; /* as written; relative to the bundle unless absolute */
    bool root_readonly;
    struct rt_process *process; /* may be NULL (only for create without start... rejected) */
    char *hostname;
    char *domainname;
    struct rt_mount *mounts;
    size_t n_mounts;
    struct rt_hook_list hooks[RT_HOOK_NKINDS];
    struct rt_kv *annotations;
    size_t n_annotations;

    /* linux */
    struct rt_namespace namespaces[RT_NS_COUNT];
    struct rt_id_map *uid_mappings;
    size_t n_uid_mappings;
    struct rt_id_map *gid_mappings;
    size_t n_gid_mappings;
    struct rt_device *devices;
    size_t n_devices;
    char *cgroups_path;   /* may be NULL */
    json_t *resources;    /* borrowed from json; may be NULL */
    json_t *seccomp;      /* borrowed from json; may be NULL */
    json_t *intel_rdt;    /* borrowed; may be NULL */
    struct rt_kv *sysctl;
    size_t n_sysctl;
    char *rootfs_propagation; /* may be NULL */
    char **masked_paths;      /* NULL-terminated; may be NULL */
    char **readonly_paths;    /* NULL-terminated; may be NULL */
    char *mount_label;
    bool has_personality;
    unsigned long personality; /* PER_LINUX / PER_LINUX32 */
    struct rt_time_offset time_monotonic, time_boottime;
};

/* Parse a config.json text. `where` names the file in messages. Syntax errors say line and
 * column; semantic errors say which field. Sub-objects are validated by their modules. */
struct rt_spec *rt_spec_parse(const char *text, size_t len, const char *where, struct berr **err);
/* Parse JSON from the user (config.json, process files, resources files). Duplicate keys are
 * refused; integer literals in [2^63, 2^64) are stored as their int64 two's complement, so
 * read uint64 fields as (uint64_t)json_integer_value(). */
json_t *rt_json_loadb(const char *text, size_t len, json_error_t *jerr);
/* Read and parse <bundle>/config.json. */
struct rt_spec *rt_spec_load(const char *bundle, struct berr **err);
void rt_spec_free(struct rt_spec *spec);
void rt_spec_freep(struct rt_spec **spec);

/* Parse a "process" object (also used by `exec --process`). */
struct rt_process *rt_process_parse(json_t *obj, const char *where, struct berr **err);
void rt_process_free(struct rt_process *p);

/* Names and clone flags of namespaces, indexed by enum rt_ns_type. */
const char *rt_ns_name(enum rt_ns_type t);         /* "pid", "network", ... (spec names) */
const char *rt_ns_proc_name(enum rt_ns_type t);    /* "pid", "net", ... (/proc/PID/ns names) */
int rt_ns_clone_flag(enum rt_ns_type t);
/* Map a spec namespace name to its type; -1 if unknown. */
int rt_ns_from_name(const char *name);

/* Map "CAP_SYS_ADMIN" to its number; -1 if unknown to this build. */
int rt_cap_from_name(const char *name);
/* The highest capability number the running kernel knows. */
int rt_cap_last_cap(void);
/* Map "RLIMIT_NOFILE" to RLIMIT_NOFILE; -1 if unknown. */
int rt_rlimit_from_name(const char *name);

#define _cleanup_spec_ __attribute__((cleanup(rt_spec_freep)))
