/* linux.resources as a value: parsing and validating every field (and `update`'s flags) into
 * struct rt_resources, for the cgroup backends to apply. */
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

/* ---- linux.resources ---------------------------------------------------------------------- */

bool cg_res_has_memory(const struct rt_resources *r)
{
    return r->memory.limit.set || r->memory.reservation.set || r->memory.swap.set ||
           r->memory.swappiness.set || r->memory.disable_oom_killer.set ||
           r->memory.use_hierarchy.set || r->memory.kernel_tcp.set;
}

bool cg_res_has_cpu(const struct rt_resources *r)
{
    return r->cpu.shares.set || r->cpu.quota.set || r->cpu.burst.set || r->cpu.period.set ||
           r->cpu.rt_runtime.set || r->cpu.rt_period.set || r->cpu.idle.set;
}

bool cg_res_has_cpuset(const struct rt_resources *r)
{
    return r->cpu.cpus || r->cpu.mems;
}

bool cg_res_has_blkio(const struct rt_resources *r)
{
    bool any = r->blkio.weight.set || r->blkio.leaf_weight.set || r->blkio.n_weight_devices;
    for (int k = 0; k < CG_THROTTLE_NKINDS; k++)
        any |= r->blkio.n_throttle[k] > 0;
    return any;
}

/* How a scalar field is validated; runc treats 0 as "not set" for most of them. */
enum scalar_kind {
    K_BYTES,      /* -1 unlimited, 0 not set, else positive */
    K_UNSET0,     /* unsigned, 0 not set */
    K_UINT,       /* unsigned, 0 is a value */
    K_QUOTA,      /* -1 unlimited, 0 not set, else positive */
    K_RT_RUNTIME, /* -1 unlimited, 0 not set */
    K_PIDS,       /* negative unlimited, 0 not set */
    K_WEIGHT,     /* 0 not set, else 10..1000 */
    K_SWAPPINESS, /* -1 not set, else 0..100 */
    K_IDLE,       /* 0 or 1 */
    K_U32,        /* 0 not set, else up to UINT32_MAX */
    K_BOOL,
    K_IGNORED, /* kernel memory: accepted and ignored, as modern runc does */
};

#define RES_OFF(field) offsetof(struct rt_resources, field)

static const struct scalar_field {
    const char *group, *key;
    const char *flag; /* the `update` flag setting it, or NULL */
    enum scalar_kind kind;
    size_t off;
} scalar_fields[] = {
    {"memory", "limit", "memory", K_BYTES, RES_OFF(memory.limit)},
    {"memory", "reservation", "memory-reservation", K_BYTES, RES_OFF(memory.reservation)},
    {"memory", "swap", "memory-swap", K_BYTES, RES_OFF(memory.swap)},
    {"memory", "kernel", "kernel-memory", K_IGNORED, 0},
    {"memory", "kernelTCP", "kernel-memory-tcp", K_BYTES, RES_OFF(memory.kernel_tcp)},
    {"memory", "swappiness", NULL, K_SWAPPINESS, RES_OFF(memory.swappiness)},
    {"memory", "disableOOMKiller", NULL, K_BOOL, RES_OFF(memory.disable_oom_killer)},
    {"memory", "useHierarchy", NULL, K_BOOL, RES_OFF(memory.use_hierarchy)},
    {"memory", "checkBeforeUpdate", NULL, K_BOOL, RES_OFF(memory.check_before_update)},
    {"cpu", "shares", "cpu-share", K_UNSET0, RES_OFF(cpu.shares)},
    {"cpu", "quota", "cpu-quota", K_QUOTA, RES_OFF(cpu.quota)},
    {"cpu", "burst", NULL, K_UINT, RES_OFF(cpu.burst)},
    {"cpu", "period", "cpu-period", K_UNSET0, RES_OFF(cpu.period)},
    {"cpu", "realtimeRuntime", "cpu-rt-runtime", K_RT_RUNTIME, RES_OFF(cpu.rt_runtime)},
    {"cpu", "realtimePeriod", "cpu-rt-period", K_UNSET0, RES_OFF(cpu.rt_period)},
    {"cpu", "idle", NULL, K_IDLE, RES_OFF(cpu.idle)},
    {"pids", "limit", "pids-limit", K_PIDS, RES_OFF(pids_limit)},
    {"blockIO", "weight", "blkio-weight", K_WEIGHT, RES_OFF(blkio.weight)},
    {"blockIO", "leafWeight", NULL, K_WEIGHT, RES_OFF(blkio.leaf_weight)},
    {"network", "classID", NULL, K_U32, RES_OFF(network.class_id)},
};

/* NULL and *out filled, or what is wrong with v. */
static const char *scalar_check(enum scalar_kind kind, int64_t v, struct cg_val *out)
{
    struct cg_val res = {v != 0, v};
    switch (kind) {
    case K_BYTES:
    case K_QUOTA:
    case K_RT_RUNTIME:
        if (v < -1)
            return "must be -1 (unlimited) or a positive number";
        break;
    case K_UNSET0:
        if (v < 0)
            return "must not be negative";
        break;
    case K_UINT:
        if (v < 0)
            return "must not be negative";
        res.set = true;
        break;
    case K_PIDS:
        if (v < 0)
            res.v = -1;
        break;
    case K_WEIGHT:
        if (v != 0 && (v < 10 || v > 1000))
            return "must be between 10 and 1000";
        break;
    case K_SWAPPINESS:
        if (v != -1 && (v < 0 || v > 100))
            return "must be between 0 and 100";
        res.set = v != -1;
        break;
    case K_IDLE:
        if (v != 0 && v != 1)
            return "must be 0 or 1";
        res.set = true;
        break;
    case K_U32:
        if (v < 0 || v > UINT32_MAX)
            return "must be between 0 and 4294967295";
        break;
    case K_BOOL:
        res.set = true;
        break;
    case K_IGNORED:
        res.set = false;
        break;
    }
    *out = res;
    return NULL;
}

static int parse_scalars(const char *where, const char *group, json_t *obj, struct rt_resources *r,
                         struct berr **err)
{
    for (size_t i = 0; i < ARRAY_SIZE(scalar_fields); i++) {
        const struct scalar_field *sf = &scalar_fields[i];
        if (strcmp(sf->group, group) != 0)
            continue;
        json_t *v = json_object_get(obj, sf->key);
        if (v == NULL || json_is_null(v))
            continue;
        int64_t x;
        if (sf->kind == K_BOOL) {
            if (!json_is_boolean(v))
                return berr_set(err, 0, "%s.%s.%s: expected a boolean", where, group, sf->key);
            x = json_is_true(v);
        } else {
            if (!json_is_integer(v))
                return berr_set(err, 0, "%s.%s.%s: expected an integer", where, group, sf->key);
            x = json_integer_value(v);
        }
        struct cg_val dummy, *out = sf->kind == K_IGNORED ? &dummy : (void *)((char *)r + sf->off);
        const char *problem = scalar_check(sf->kind, x, out);
        if (problem)
            return berr_set(err, 0, "%s.%s.%s: %s (got %lld)", where, group, sf->key, problem,
                            (long long)x);
        if (sf->kind == K_IGNORED)
            log_debug("%s.%s.%s ignored: kernel memory limits are not supported (as in runc)",
                      where, group, sf->key);
    }
    return 0;
}

/* obj[key]: NULL when absent or null; an error when it is not an object. */
static int get_object(json_t *obj, const char *key, const char *where, json_t **out,
                      struct berr **err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return berr_set(err, 0, "%s.%s: expected an object", where, key);
    *out = v;
    return 0;
}

static int get_array(json_t *obj, const char *key, const char *where, json_t **out,
                     struct berr **err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return berr_set(err, 0, "%s.%s: expected an array", where, key);
    if (json_array_size(v) > CG_MAX_LIST)
        return berr_set(err, 0, "%s.%s: more than %d entries", where, key, CG_MAX_LIST);
    *out = v;
    return 0;
}

/* A required (or, with !required, optional: *present tells) integer in [min, max]. */
static int get_int(json_t *obj, const char *key, const char *field, bool required, int64_t min,
                   int64_t max, int64_t *out, bool *present, struct berr **err)
{
    json_t *v = json_object_get(obj, key);
    if (present)
        *present = false;
    if (v == NULL || json_is_null(v)) {
        if (required)
            return berr_set(err, 0, "%s.%s: required", field, key);
        return 0;
    }
    if (!json_is_integer(v))
        return berr_set(err, 0, "%s.%s: expected an integer", field, key);
    int64_t x = json_integer_value(v);
    if (x < min || x > max)
        return berr_set(err, 0, "%s.%s: %lld is out of range (%lld to %lld)", field, key,
                        (long long)x, (long long)min, (long long)max);
    *out = x;
    if (present)
        *present = true;
    return 0;
}

static const char *get_string(json_t *obj, const char *key, const char *field, bool required,
                              struct berr **err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            berr_set(err, 0, "%s.%s: required", field, key);
        return NULL;
    }
    if (!json_is_string(v)) {
        berr_set(err, 0, "%s.%s: expected a string", field, key);
        return NULL;
    }
    return json_string_value(v);
}

/* "0-3,7": what cpuset.cpus and cpuset.mems accept. */
static bool valid_cpu_list(const char *s)
{
    if (strlen(s) > 4096)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || *s == ',' || *s == '-' || *s == ' ' || *s == '\n'))
            return false;
    return true;
}

static int parse_cpu_lists(const char *where, json_t *cpu, struct rt_resources *r,
                           struct berr **err)
{
    static const char *const keys[] = {"cpus", "mems"};
    char **outs[] = {&r->cpu.cpus, &r->cpu.mems};
    for (size_t i = 0; i < 2; i++) {
        _cleanup_free_ char *field = xasprintf("%s.cpu", where);
        json_t *v = json_object_get(cpu, keys[i]);
        if (v && !json_is_null(v) && !json_is_string(v))
            return berr_set(err, 0, "%s.%s: expected a string", field, keys[i]);
        const char *s = v ? json_string_value(v) : NULL;
        if (s == NULL || *s == 0)
            continue;
        if (!valid_cpu_list(s))
            return berr_set(err, 0, "%s.%s: invalid list \"%s\" (expected e.g. \"0-3,7\")", field,
                            keys[i], s);
        *outs[i] = xstrdup(s);
    }
    return 0;
}

static int parse_block_io(const char *where, json_t *bio, struct rt_resources *r, struct berr **err)
{
    if (parse_scalars(where, "blockIO", bio, r, err) < 0)
        return -1;
    json_t *arr;
    _cleanup_free_ char *grp = xasprintf("%s.blockIO", where);
    if (get_array(bio, "weightDevice", grp, &arr, err) < 0)
        return -1;
    if (arr) {
        r->blkio.weight_devices =
            xcalloc(json_array_size(arr) + 1, sizeof(struct cg_weight_device));
        size_t i;
        json_t *e;
        json_array_foreach(arr, i, e)
        {
            _cleanup_free_ char *f = xasprintf("%s.blockIO.weightDevice[%zu]", where, i);
            if (!json_is_object(e))
                return berr_set(err, 0, "%s: expected an object", f);
            struct cg_weight_device *wd = &r->blkio.weight_devices[r->blkio.n_weight_devices++];
            int64_t w;
            bool present;
            if (get_int(e, "major", f, true, 0, INT32_MAX, &wd->major, NULL, err) < 0 ||
                get_int(e, "minor", f, true, 0, INT32_MAX, &wd->minor, NULL, err) < 0)
                return -1;
            if (get_int(e, "weight", f, false, 0, 1000, &w, &present, err) < 0)
                return -1;
            if (present && w != 0 && w < 10)
                return berr_set(err, 0, "%s.weight: must be between 10 and 1000", f);
            wd->weight = (struct cg_val){present, present ? w : 0};
            if (get_int(e, "leafWeight", f, false, 0, 1000, &w, &present, err) < 0)
                return -1;
            if (present && w != 0 && w < 10)
                return berr_set(err, 0, "%s.leafWeight: must be between 10 and 1000", f);
            wd->leaf_weight = (struct cg_val){present, present ? w : 0};
        }
    }
    static const char *const throttle_keys[CG_THROTTLE_NKINDS] = {
        "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice",
        "throttleWriteIOPSDevice"};
    for (int k = 0; k < CG_THROTTLE_NKINDS; k++) {
        if (get_array(bio, throttle_keys[k], grp, &arr, err) < 0)
            return -1;
        if (arr == NULL)
            continue;
        r->blkio.throttle[k] = xcalloc(json_array_size(arr) + 1, sizeof(struct cg_throttle_device));
        size_t i;
        json_t *e;
        json_array_foreach(arr, i, e)
        {
            _cleanup_free_ char *f = xasprintf("%s.blockIO.%s[%zu]", where, throttle_keys[k], i);
            if (!json_is_object(e))
                return berr_set(err, 0, "%s: expected an object", f);
            struct cg_throttle_device *td = &r->blkio.throttle[k][r->blkio.n_throttle[k]++];
            int64_t rate;
            if (get_int(e, "major", f, true, 0, INT32_MAX, &td->major, NULL, err) < 0 ||
                get_int(e, "minor", f, true, 0, INT32_MAX, &td->minor, NULL, err) < 0 ||
                get_int(e, "rate", f, true, 0, INT64_MAX, &rate, NULL, err) < 0)
                return -1;
            td->rate = (uint64_t)rate;
        }
    }
    return 0;
}

/* "2MB", "1GB", "64KB": what the kernel puts in hugetlb.<size>.* file names. */
static bool valid_page_size(const char *s)
{
    size_t d = strspn(s, "0123456789");
    if (d == 0 || d > 10 || s[0] == '0')
        return false;
    static const char *const units[] = {"KB", "MB", "GB", "TB", "PB"};
    for (size_t i = 0; i < ARRAY_SIZE(units); i++)
        if (strcmp(s + d, units[i]) == 0)
            return true;
    return false;
}

static int parse_hugepages(const char *where, json_t *arr, struct rt_resources *r,
                           struct berr **err)
{
    r->hugepages = xcalloc(json_array_size(arr) + 1, sizeof(struct cg_hugepage_limit));
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        _cleanup_free_ char *f = xasprintf("%s.hugepageLimits[%zu]", where, i);
        if (!json_is_object(e))
            return berr_set(err, 0, "%s: expected an object", f);
        const char *ps = get_string(e, "pageSize", f, true, err);
        if (ps == NULL)
            return -1;
        if (!valid_page_size(ps))
            return berr_set(err, 0,
                            "%s.pageSize: invalid page size \"%s\" (expected e.g. "
                            "\"2MB\" or \"1GB\")",
                            f, ps);
        int64_t limit;
        if (get_int(e, "limit", f, true, 0, INT64_MAX, &limit, NULL, err) < 0)
            return -1;
        struct cg_hugepage_limit *h = &r->hugepages[r->n_hugepages++];
        h->page_size = xstrdup(ps);
        h->limit = (uint64_t)limit;
    }
    return 0;
}

/* Names written into kernel files as "name value" lines: no blanks, no control characters. */
static bool valid_token(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return false;
    return true;
}

static int parse_network(const char *where, json_t *net, struct rt_resources *r, struct berr **err)
{
    if (parse_scalars(where, "network", net, r, err) < 0)
        return -1;
    json_t *arr;
    _cleanup_free_ char *grp = xasprintf("%s.network", where);
    if (get_array(net, "priorities", grp, &arr, err) < 0)
        return -1;
    if (arr == NULL)
        return 0;
    r->network.priorities = xcalloc(json_array_size(arr) + 1, sizeof(struct cg_net_priority));
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        _cleanup_free_ char *f = xasprintf("%s.network.priorities[%zu]", where, i);
        if (!json_is_object(e))
            return berr_set(err, 0, "%s: expected an object", f);
        const char *name = get_string(e, "name", f, true, err);
        if (name == NULL)
            return -1;
        if (!valid_token(name, 15))
            return berr_set(err, 0, "%s.name: invalid interface name \"%s\"", f, name);
        int64_t prio;
        if (get_int(e, "priority", f, true, 0, UINT32_MAX, &prio, NULL, err) < 0)
            return -1;
        struct cg_net_priority *p = &r->network.priorities[r->network.n_priorities++];
        p->name = xstrdup(name);
        p->priority = (uint32_t)prio;
    }
    return 0;
}

static int parse_rdma(const char *where, json_t *obj, struct rt_resources *r, struct berr **err)
{
    if (json_object_size(obj) > CG_MAX_LIST)
        return berr_set(err, 0, "%s.rdma: more than %d entries", where, CG_MAX_LIST);
    r->rdma = xcalloc(json_object_size(obj) + 1, sizeof(struct cg_rdma_limit));
    const char *dev;
    json_t *e;
    json_object_foreach(obj, dev, e)
    {
        _cleanup_free_ char *f = xasprintf("%s.rdma.%s", where, dev);
        if (!valid_token(dev, 64))
            return berr_set(err, 0, "%s.rdma: invalid device name \"%s\"", where, dev);
        if (!json_is_object(e))
            return berr_set(err, 0, "%s: expected an object", f);
        struct cg_rdma_limit *l = &r->rdma[r->n_rdma];
        int64_t v;
        bool present;
        if (get_int(e, "hcaHandles", f, false, 0, UINT32_MAX, &v, &present, err) < 0)
            return -1;
        l->hca_handles = (struct cg_val){present, present ? v : 0};
        if (get_int(e, "hcaObjects", f, false, 0, UINT32_MAX, &v, &present, err) < 0)
            return -1;
        l->hca_objects = (struct cg_val){present, present ? v : 0};
        if (!l->hca_handles.set && !l->hca_objects.set)
            continue; /* nothing to write */
        l->device = xstrdup(dev);
        r->n_rdma++;
    }
    return 0;
}

static int parse_unified(const char *where, json_t *obj, struct rt_resources *r, struct berr **err)
{
    if (json_object_size(obj) > CG_MAX_LIST)
        return berr_set(err, 0, "%s.unified: more than %d entries", where, CG_MAX_LIST);
    r->unified = xcalloc(json_object_size(obj) + 1, sizeof(struct cg_unified_entry));
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        /* The key becomes a file name in the container's cgroup: never a path. */
        const char *dot = strchr(key, '.');
        if (!valid_token(key, 255) || strchr(key, '/') || dot == NULL || dot == key || dot[1] == 0)
            return berr_set(err, 0,
                            "%s.unified: invalid key \"%s\" (expected controller.file, e.g. "
                            "\"memory.high\")",
                            where, key);
        if (!json_is_string(v))
            return berr_set(err, 0, "%s.unified.%s: expected a string", where, key);
        if (strlen(json_string_value(v)) > 65536)
            return berr_set(err, 0, "%s.unified.%s: value too long", where, key);
        struct cg_unified_entry *u = &r->unified[r->n_unified++];
        u->key = xstrdup(key);
        u->value = xstrdup(json_string_value(v));
    }
    return 0;
}

struct rt_resources *rt_resources_parse(json_t *resources, const char *file, struct berr **err)
{
    /* Fields are named from linux.resources, after the file when there is one. */
    _cleanup_free_ char *where =
        file ? xasprintf("%s: linux.resources", file) : xstrdup("linux.resources");
    struct rt_resources *r = xzalloc(sizeof(*r));
    if (resources == NULL || json_is_null(resources))
        return r;
    if (!json_is_object(resources)) {
        rt_resources_free(r);
        return berr_set(err, 0, "%s: expected an object", where), NULL;
    }
    static const char *const groups[] = {"memory", "cpu", "pids", "blockIO", "network"};
    json_t *g[ARRAY_SIZE(groups)];
    json_t *hp, *rdma, *unified, *devices;
    for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
        if (get_object(resources, groups[i], where, &g[i], err) < 0)
            goto fail;
    if (get_array(resources, "hugepageLimits", where, &hp, err) < 0 ||
        get_object(resources, "rdma", where, &rdma, err) < 0 ||
        get_object(resources, "unified", where, &unified, err) < 0 ||
        get_array(resources, "devices", where, &devices, err) < 0)
        goto fail;
    for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
        if (g[i] && strcmp(groups[i], "blockIO") != 0 && strcmp(groups[i], "network") != 0 &&
            parse_scalars(where, groups[i], g[i], r, err) < 0)
            goto fail;
    if (g[1] && parse_cpu_lists(where, g[1], r, err) < 0)
        goto fail;
    if (g[3] && parse_block_io(where, g[3], r, err) < 0)
        goto fail;
    if (g[4] && parse_network(where, g[4], r, err) < 0)
        goto fail;
    if (hp && parse_hugepages(where, hp, r, err) < 0)
        goto fail;
    if (rdma && parse_rdma(where, rdma, r, err) < 0)
        goto fail;
    if (unified && parse_unified(where, unified, r, err) < 0)
        goto fail;
    /* swap is memory+swap: below the limit the kernel refuses it, after the limit was
     * written on v1. Refuse it before acting. */
    if (r->memory.limit.v > 0 && r->memory.swap.v > 0 && r->memory.swap.v < r->memory.limit.v) {
        berr_set(err, 0, "%s.memory.swap: %lld is below memory.limit %lld (swap is memory+swap)",
                 where, (long long)r->memory.swap.v, (long long)r->memory.limit.v);
        goto fail;
    }
    if (devices) {
        r->has_devices = true;
        r->devices = xcalloc(json_array_size(devices) + 1, sizeof(struct cg_device_rule));
        size_t i;
        json_t *e;
        json_array_foreach(devices, i, e)
        {
            _cleanup_free_ char *f = xasprintf("%s.devices[%zu]", where, i);
            if (cg_device_rule_parse(e, f, &r->devices[r->n_devices++], err) < 0)
                goto fail;
        }
    }
    return r;
fail:
    rt_resources_free(r);
    return NULL;
}

struct rt_resources *rt_resources_from_flags(char *const *pairs, struct berr **err)
{
    struct rt_resources *r = xzalloc(sizeof(*r));
    for (size_t i = 0; pairs && pairs[i]; i += 2) {
        const char *name = pairs[i], *val = pairs[i + 1];
        while (*name == '-')
            name++;
        if (val == NULL) {
            berr_set(err, 0, "--%s: missing value", name);
            goto fail;
        }
        if (strcmp(name, "cpuset-cpus") == 0 || strcmp(name, "cpuset-mems") == 0) {
            if (!valid_cpu_list(val)) {
                berr_set(err, 0, "--%s: invalid list \"%s\" (expected e.g. \"0-3,7\")", name, val);
                goto fail;
            }
            char **out = name[7] == 'c' ? &r->cpu.cpus : &r->cpu.mems;
            free(*out);
            *out = *val ? xstrdup(val) : NULL;
            continue;
        }
        const struct scalar_field *sf = NULL;
        for (size_t k = 0; k < ARRAY_SIZE(scalar_fields); k++)
            if (scalar_fields[k].flag && strcmp(scalar_fields[k].flag, name) == 0)
                sf = &scalar_fields[k];
        if (sf == NULL) {
            berr_set(err, 0, "unknown update flag --%s", name);
            goto fail;
        }
        int64_t x;
        if (sf->kind == K_BYTES || sf->kind == K_IGNORED) {
            if (cg_parse_size(val, &x) < 0) {
                berr_set(err, 0,
                         "--%s: invalid size \"%s\" (expected bytes, a size like 10M, or -1)", name,
                         val);
                goto fail;
            }
        } else {
            char *end;
            errno = 0;
            long long v = strtoll(val, &end, 10);
            if (errno != 0 || end == val || *end != 0) {
                berr_set(err, 0, "--%s: expected an integer, got \"%s\"", name, val);
                goto fail;
            }
            x = v;
        }
        struct cg_val dummy, *out = sf->kind == K_IGNORED ? &dummy : (void *)((char *)r + sf->off);
        const char *problem = scalar_check(sf->kind, x, out);
        if (problem) {
            berr_set(err, 0, "--%s: %s (got %s)", name, problem, val);
            goto fail;
        }
        if (sf->kind == K_IGNORED)
            log_debug("--%s ignored: kernel memory limits are not supported (as in runc)", name);
    }
    if (r->memory.limit.v > 0 && r->memory.swap.v > 0 && r->memory.swap.v < r->memory.limit.v) {
        berr_set(err, 0, "--memory-swap: %lld is below --memory %lld (swap is memory+swap)",
                 (long long)r->memory.swap.v, (long long)r->memory.limit.v);
        goto fail;
    }
    return r;
fail:
    rt_resources_free(r);
    return NULL;
}

int cg_parse_size(const char *s, int64_t *out)
{
    if (strcmp(s, "-1") == 0) {
        *out = -1;
        return 0;
    }
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -1;
    uint64_t ip = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (ip > (UINT64_MAX - 9) / 10)
            return -1;
        ip = ip * 10 + (uint64_t)(*p - '0');
    }
    double frac = 0, scale = 0.1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac += (*p - '0') * scale;
    }
    if (*p == ' ')
        p++;
    uint64_t mult = 1;
    switch (*p | 0x20) {
    case 'k':
        mult = 1ull << 10;
        break;
    case 'm':
        mult = 1ull << 20;
        break;
    case 'g':
        mult = 1ull << 30;
        break;
    case 't':
        mult = 1ull << 40;
        break;
    case 'p':
        mult = 1ull << 50;
        break;
    }
    if (mult > 1) {
        p++;
        if ((*p | 0x20) == 'i')
            p++;
    }
    if ((*p | 0x20) == 'b')
        p++;
    if (*p != 0 || ip > (uint64_t)INT64_MAX / mult)
        return -1;
    uint64_t v = ip * mult + (uint64_t)(frac * (double)mult);
    if (v > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

void rt_resources_free(struct rt_resources *r)
{
    if (r == NULL)
        return;
    free(r->cpu.cpus);
    free(r->cpu.mems);
    free(r->blkio.weight_devices);
    for (int k = 0; k < CG_THROTTLE_NKINDS; k++)
        free(r->blkio.throttle[k]);
    for (size_t i = 0; i < r->n_hugepages; i++)
        free(r->hugepages[i].page_size);
    free(r->hugepages);
    for (size_t i = 0; i < r->network.n_priorities; i++)
        free(r->network.priorities[i].name);
    free(r->network.priorities);
    for (size_t i = 0; i < r->n_rdma; i++)
        free(r->rdma[i].device);
    free(r->rdma);
    for (size_t i = 0; i < r->n_unified; i++) {
        free(r->unified[i].key);
        free(r->unified[i].value);
    }
    free(r->unified);
    free(r->devices);
    free(r);
}
