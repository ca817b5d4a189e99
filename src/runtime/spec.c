/* config.json parsing: the whole document is read, every field type-checked and converted into
 * struct rt_spec before anything is created. Messages name the file and the field path. */
#include "runtime/spec.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>

#define SPEC_MAX_SIZE (16u << 20)

/* Field accessors. Each takes the parent object, the key and a path for messages; a missing
 * optional field leaves the output untouched and returns 0. */

static int type_error(struct berr **err, const char *where, const char *path, const char *want)
{
    return berr_set(err, EINVAL, "%s: %s: expected %s", where, path, want);
}

static int get_str(json_t *obj, const char *key, const char *where, const char *path, char **out,
                   bool required, struct berr **err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            return berr_set(err, EINVAL, "%s: %s is required", where, path);
        return 0;
    }
    if (!json_is_string(v))
        return type_error(err, where, path, "a string");
    free(*out);
    *out = xstrdup(json_string_value(v));
    return 0;
}

static int get_bool(json_t *obj, const char *key, const char *where, const char *path, bool *out,
                    struct berr **err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return type_error(err, where, path, "true or false");
    *out = json_is_true(v);
    return 0;
}

static int get_int(json_t *obj, const char *key, const char *where, const char *path,
                   int64_t min, int64_t max, int64_t *out, bool *present, struct berr **err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return type_error(err, where, path, "an integer");
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return berr_set(err, ERANGE, "%s: %s: %" JSON_INTEGER_FORMAT " is out of range", where,
                        path, n);
    *out = n;
    if (present)
        *present = true;
    return 0;
}

/* Unsigned 64-bit fields arrive folded into json_int_t by rt_json_loadb(): the cast restores
 * the exact value. */
static int get_u64(json_t *obj, const char *key, const char *where, const char *path,
                   uint64_t *out, struct berr **err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return berr_set(err, EINVAL, "%s: %s is required", where, path);
    if (!json_is_integer(v))
        return type_error(err, where, path, "an unsigned integer");
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* jansson keeps integers in int64_t and rejects larger literals, but the spec has uint64 fields
 * (rlimits, seccomp argument values) whose natural values reach 2^64-1. Rewrite each literal in
 * [2^63, 2^64) as its two's-complement negative (padded with spaces where shorter, so error
 * columns mostly stay put); a (uint64_t) cast of the parsed value gives the literal back. */
static char *fold_u64_literals(const char *text, size_t len, size_t *out_len)
{
    char *out = NULL;
    size_t olen = 0, copied = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
            continue;
        }
        /* Only a whole integer literal: not the digits of a fraction or an exponent, nor the
         * rest of a run whose start was already looked at. */
        if (c < '0' || c > '9' ||
            (i > 0 && ((text[i - 1] >= '0' && text[i - 1] <= '9') || strchr("-+.eE", text[i - 1]))))
            continue;
        size_t j = i;
        while (j < len && text[j] >= '0' && text[j] <= '9')
            j++;
        size_t n = j - i;
        bool plain = j == len || !strchr(".eE", text[j]);
        if (plain && (n == 19 || n == 20)) {
            char num[24];
            memcpy(num, text + i, n);
            num[n] = 0;
            errno = 0;
            unsigned long long v = strtoull(num, NULL, 10);
            if (errno == 0 && v > (unsigned long long)INT64_MAX) {
                /* Each rewrite grows the text by at most one byte. */
                if (out == NULL)
                    out = xmalloc(len + len / 19 + 2);
                memcpy(out + olen, text + copied, i - copied);
                olen += i - copied;
                int w = snprintf(num, sizeof(num), "%lld", (long long)v);
                memcpy(out + olen, num, (size_t)w);
                olen += (size_t)w;
                for (size_t pad = (size_t)w; pad < n; pad++)
                    out[olen++] = ' ';
                copied = j;
            }
        }
        i = j - 1;
    }
    if (out) {
        memcpy(out + olen, text + copied, len - copied);
        olen += len - copied;
        out[olen] = 0;
        *out_len = olen;
    }
    return out;
}

json_t *rt_json_loadb(const char *text, size_t len, json_error_t *jerr)
{
    size_t flen = 0;
    _cleanup_free_ char *folded = fold_u64_literals(text, len, &flen);
    if (folded)
        return json_loadb(folded, flen, JSON_REJECT_DUPLICATES, jerr);
    return json_loadb(text, len, JSON_REJECT_DUPLICATES, jerr);
}

static int get_strv(json_t *obj, const char *key, const char *where, const char *path,
                    char ***out, struct berr **err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return type_error(err, where, path, "an array of strings");
    size_t n = json_array_size(v);
    char **r = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e)) {
            strv_free(r);
            return berr_set(err, EINVAL, "%s: %s[%zu]: expected a string", where, path, i);
        }
        r[i] = xstrdup(json_string_value(e));
    }
    strv_free(*out);
    *out = r;
    return 0;
}

static int get_object(json_t *obj, const char *key, const char *where, const char *path,
                      json_t **out, struct berr **err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return type_error(err, where, path, "an object");
    *out = v;
    return 0;
}

static int get_array(json_t *obj, const char *key, const char *where, const char *path,
                     json_t **out, struct berr **err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return type_error(err, where, path, "an array");
    *out = v;
    return 0;
}

static int parse_id_maps(json_t *parent, const char *key, const char *where, const char *path,
                         struct rt_id_map **out, size_t *n_out, struct berr **err)
{
    json_t *arr;
    if (get_array(parent, key, where, path, &arr, err) < 0)
        return -1;
    if (arr == NULL)
        return 0;
    size_t n = json_array_size(arr);
    struct rt_id_map *maps = xcalloc(n, sizeof(*maps));
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(arr, i);
        _cleanup_free_ char *p = xasprintf("%s[%zu]", path, i);
        int64_t c = 0, h = 0, s = 0;
        if (!json_is_object(m)) {
            free(maps);
            return type_error(err, where, p, "an object");
        }
        if (get_int(m, "containerID", where, p, 0, UINT32_MAX, &c, NULL, err) < 0 ||
            get_int(m, "hostID", where, p, 0, UINT32_MAX, &h, NULL, err) < 0 ||
            get_int(m, "size", where, p, 1, UINT32_MAX, &s, NULL, err) < 0) {
            free(maps);
            return -1;
        }
        if (s == 0) {
            free(maps);
            return berr_set(err, EINVAL, "%s: %s.size is required and must be at least 1", where,
                            p);
        }
        maps[i] = (struct rt_id_map){(uint32_t)c, (uint32_t)h, (uint32_t)s};
    }
    *out = maps;
    *n_out = n;
    return 0;
}

static int parse_caps(json_t *obj, const char *where, struct rt_caps *caps, struct berr **err)
{
    static const char *const names[RT_CAP_NSETS] = {"bounding", "effective", "inheritable",
                                                    "permitted", "ambient"};
    for (int s = 0; s < RT_CAP_NSETS; s++) {
        _cleanup_free_ char *path = xasprintf("process.capabilities.%s", names[s]);
        _cleanup_strv_ char **v = NULL;
        if (get_strv(obj, names[s], where, path, &v, err) < 0)
            return -1;
        for (size_t i = 0; v && v[i]; i++) {
            int c = rt_cap_from_name(v[i]);
            /* runc and crun skip names this kernel or libcap does not know (a newer engine
             * may list capabilities an older kernel lacks); so do we, saying so. */
            if (c < 0 || c > rt_cap_last_cap()) {
                log_warn("%s: %s[%zu]: ignoring unknown capability \"%s\"", where, path, i,
                         v[i]);
                continue;
            }
            caps->sets[s] |= 1ULL << c;
        }
    }
    return 0;
}

static int parse_rlimits(json_t *arr, const char *where, struct rt_process *p, struct berr **err)
{
    size_t n = json_array_size(arr);
    p->rlimits = xcalloc(n, sizeof(*p->rlimits));
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(arr, i);
        _cleanup_free_ char *path = xasprintf("process.rlimits[%zu]", i);
        _cleanup_free_ char *type = NULL;
        if (!json_is_object(r))
            return type_error(err, where, path, "an object");
        if (get_str(r, "type", where, path, &type, true, err) < 0)
            return -1;
        int res = rt_rlimit_from_name(type);
        if (res < 0)
            return berr_set(err, EINVAL, "%s: %s.type: unknown rlimit \"%s\"", where, path, type);
        for (size_t j = 0; j < p->n_rlimits; j++)
            if (p->rlimits[j].resource == res)
                return berr_set(err, EINVAL, "%s: %s.type: rlimit \"%s\" is given twice", where,
                                path, type);
        struct rt_rlimit *rl = &p->rlimits[p->n_rlimits];
        rl->resource = res;
        if (get_u64(r, "soft", where, path, &rl->soft, err) < 0 ||
            get_u64(r, "hard", where, path, &rl->hard, err) < 0)
            return -1;
        if (rl->soft > rl->hard)
            return berr_set(err, EINVAL, "%s: %s: soft limit is above the hard limit", where, path);
        p->n_rlimits++;
    }
    return 0;
}

static int parse_io_priority(json_t *obj, const char *where, struct rt_process *p,
                             struct berr **err)
{
    _cleanup_free_ char *cls = NULL;
    int64_t prio = 0;
    if (get_str(obj, "class", where, "process.ioPriority.class", &cls, true, err) < 0 ||
        get_int(obj, "priority", where, "process.ioPriority.priority", 0, 7, &prio, NULL, err) < 0)
        return -1;
    if (strcmp(cls, "IOPRIO_CLASS_RT") == 0)
        p->io_priority_class = IOPRIO_CLASS_RT;
    else if (strcmp(cls, "IOPRIO_CLASS_BE") == 0)
        p->io_priority_class = IOPRIO_CLASS_BE;
    else if (strcmp(cls, "IOPRIO_CLASS_IDLE") == 0)
        p->io_priority_class = IOPRIO_CLASS_IDLE;
    else
        return berr_set(err, EINVAL, "%s: process.ioPriority.class: unknown class \"%s\"", where,
                        cls);
    p->io_priority = (int)prio;
    p->has_io_priority = true;
    return 0;
}

static int parse_scheduler(json_t *obj, const char *where, struct rt_process *p,
                           struct berr **err)
{
    static const struct {
        const char *name;
        int policy;
    } policies[] = {
        {"SCHED_OTHER", SCHED_OTHER}, {"SCHED_FIFO", SCHED_FIFO},   {"SCHED_RR", SCHED_RR},
        {"SCHED_BATCH", SCHED_BATCH}, {"SCHED_ISO", 4},             {"SCHED_IDLE", SCHED_IDLE},
        {"SCHED_DEADLINE", 6},
    };
    _cleanup_free_ char *policy = NULL;
    if (get_str(obj, "policy", where, "process.scheduler.policy", &policy, true, err) < 0)
        return -1;
    bool found = false;
    for (size_t i = 0; i < ARRAY_SIZE(policies); i++) {
        if (strcmp(policy, policies[i].name) == 0) {
            p->sched_policy = policies[i].policy;
            found = true;
        }
    }
    if (!found)
        return berr_set(err, EINVAL, "%s: process.scheduler.policy: unknown policy \"%s\"",
                        where, policy);
    int64_t v = 0;
    if (get_int(obj, "nice", where, "process.scheduler.nice", -20, 19, &v, NULL, err) < 0)
        return -1;
    p->sched_nice = (int)v;
    v = 0;
    if (get_int(obj, "priority", where, "process.scheduler.priority", 0, 99, &v, NULL, err) < 0)
        return -1;
    p->sched_priority = (int)v;
    v = 0;
    if (get_int(obj, "runtime", where, "process.scheduler.runtime", 0, INT64_MAX, &v, NULL, err) <
        0)
        return -1;
    p->sched_runtime = (uint64_t)v;
    v = 0;
    if (get_int(obj, "deadline", where, "process.scheduler.deadline", 0, INT64_MAX, &v, NULL,
                err) < 0)
        return -1;
    p->sched_deadline = (uint64_t)v;
    v = 0;
    if (get_int(obj, "period", where, "process.scheduler.period", 0, INT64_MAX, &v, NULL, err) <
        0)
        return -1;
    p->sched_period = (uint64_t)v;
    _cleanup_strv_ char **flags = NULL;
    if (get_strv(obj, "flags", where, "process.scheduler.flags", &flags, err) < 0)
        return -1;
    static const char *const flag_names[] = {
        "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",       "SCHED_FLAG_DL_OVERRUN",
        "SCHED_FLAG_KEEP_POLICY",   "SCHED_FLAG_KEEP_PARAMS",   "SCHED_FLAG_UTIL_CLAMP_MIN",
        "SCHED_FLAG_UTIL_CLAMP_MAX",
    };
    for (size_t i = 0; flags && flags[i]; i++) {
        size_t j;
        for (j = 0; j < ARRAY_SIZE(flag_names); j++)
            if (strcmp(flags[i], flag_names[j]) == 0)
                break;
        if (j == ARRAY_SIZE(flag_names))
            return berr_set(err, EINVAL, "%s: process.scheduler.flags[%zu]: unknown flag \"%s\"",
                            where, i, flags[i]);
        p->sched_flags |= 1ULL << j;
    }
    p->has_scheduler = true;
    return 0;
}

struct rt_process *rt_process_parse(json_t *obj, const char *where, struct berr **err)
{
    struct rt_process *p = xzalloc(sizeof(*p));
    json_t *o = NULL;
    int64_t v;

    if (!json_is_object(obj)) {
        type_error(err, where, "process", "an object");
        goto fail;
    }
    if (get_bool(obj, "terminal", where, "process.terminal", &p->terminal, err) < 0 ||
        get_str(obj, "cwd", where, "process.cwd", &p->cwd, true, err) < 0 ||
        get_strv(obj, "args", where, "process.args", &p->args, err) < 0 ||
        get_strv(obj, "env", where, "process.env", &p->env, err) < 0 ||
        get_bool(obj, "noNewPrivileges", where, "process.noNewPrivileges", &p->no_new_privileges,
                 err) < 0 ||
        get_str(obj, "apparmorProfile", where, "process.apparmorProfile", &p->apparmor_profile,
                false, err) < 0 ||
        get_str(obj, "selinuxLabel", where, "process.selinuxLabel", &p->selinux_label, false,
                err) < 0)
        goto fail;
    if (p->args == NULL || p->args[0] == NULL) {
        berr_set(err, EINVAL, "%s: process.args must name at least the program to run", where);
        goto fail;
    }
    if (p->cwd[0] != '/') {
        berr_set(err, EINVAL, "%s: process.cwd \"%s\" must be an absolute path", where, p->cwd);
        goto fail;
    }
    if (p->env == NULL)
        p->env = xcalloc(1, sizeof(char *));

    if (get_object(obj, "consoleSize", where, "process.consoleSize", &o, err) < 0)
        goto fail;
    if (o) {
        v = 0;
        if (get_int(o, "height", where, "process.consoleSize.height", 0, UINT16_MAX, &v, NULL,
                    err) < 0)
            goto fail;
        p->console_height = (unsigned)v;
        v = 0;
        if (get_int(o, "width", where, "process.consoleSize.width", 0, UINT16_MAX, &v, NULL, err) <
            0)
            goto fail;
        p->console_width = (unsigned)v;
        p->has_console_size = true;
    }

    if (get_object(obj, "user", where, "process.user", &o, err) < 0)
        goto fail;
    if (o) {
        v = 0;
        if (get_int(o, "uid", where, "process.user.uid", 0, UINT32_MAX - 1, &v, NULL, err) < 0)
            goto fail;
        p->uid = (uid_t)v;
        v = 0;
        if (get_int(o, "gid", where, "process.user.gid", 0, UINT32_MAX - 1, &v, NULL, err) < 0)
            goto fail;
        p->gid = (gid_t)v;
        if (get_int(o, "umask", where, "process.user.umask", 0, 0777, &v, &p->has_umask, err) < 0)
            goto fail;
        if (p->has_umask)
            p->umask = (mode_t)v;
        json_t *gids;
        if (get_array(o, "additionalGids", where, "process.user.additionalGids", &gids, err) < 0)
            goto fail;
        if (gids) {
            p->n_additional_gids = json_array_size(gids);
            p->additional_gids = xcalloc(p->n_additional_gids, sizeof(gid_t));
            for (size_t i = 0; i < p->n_additional_gids; i++) {
                json_t *g = json_array_get(gids, i);
                if (!json_is_integer(g) || json_integer_value(g) < 0 ||
                    json_integer_value(g) >= UINT32_MAX) {
                    berr_set(err, EINVAL, "%s: process.user.additionalGids[%zu]: expected a gid",
                             where, i);
                    goto fail;
                }
                p->additional_gids[i] = (gid_t)json_integer_value(g);
            }
        }
        _cleanup_free_ char *username = NULL;
        if (get_str(o, "username", where, "process.user.username", &username, false, err) < 0)
            goto fail;
    }

    if (get_object(obj, "capabilities", where, "process.capabilities", &o, err) < 0)
        goto fail;
    if (o) {
        p->has_caps = true;
        if (parse_caps(o, where, &p->caps, err) < 0)
            goto fail;
    }

    if (get_int(obj, "oomScoreAdj", where, "process.oomScoreAdj", -1000, 1000, &v,
                &p->has_oom_score_adj, err) < 0)
        goto fail;
    if (p->has_oom_score_adj)
        p->oom_score_adj = (int)v;

    if (get_array(obj, "rlimits", where, "process.rlimits", &o, err) < 0)
        goto fail;
    if (o && parse_rlimits(o, where, p, err) < 0)
        goto fail;

    if (get_object(obj, "ioPriority", where, "process.ioPriority", &o, err) < 0)
        goto fail;
    if (o && parse_io_priority(o, where, p, err) < 0)
        goto fail;

    if (get_object(obj, "scheduler", where, "process.scheduler", &o, err) < 0)
        goto fail;
    if (o && parse_scheduler(o, where, p, err) < 0)
        goto fail;

    return p;
fail:
    rt_process_free(p);
    return NULL;
}

void rt_process_free(struct rt_process *p)
{
    if (p == NULL)
        return;
    free(p->cwd);
    strv_free(p->args);
    strv_free(p->env);
    free(p->additional_gids);
    free(p->rlimits);
    free(p->apparmor_profile);
    free(p->selinux_label);
    free(p);
}

static int parse_mounts(struct rt_spec *s, json_t *arr, const char *where, struct berr **err)
{
    size_t n = json_array_size(arr);
    s->mounts = xcalloc(n, sizeof(*s->mounts));
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(arr, i);
        _cleanup_free_ char *path = xasprintf("mounts[%zu]", i);
        struct rt_mount *mnt = &s->mounts[i];
        s->n_mounts = i + 1;
        if (!json_is_object(m))
            return type_error(err, where, path, "an object");
        if (get_str(m, "destination", where, path, &mnt->destination, true, err) < 0 ||
            get_str(m, "type", where, path, &mnt->type, false, err) < 0 ||
            get_str(m, "source", where, path, &mnt->source, false, err) < 0 ||
            get_strv(m, "options", where, path, &mnt->options, err) < 0 ||
            parse_id_maps(m, "uidMappings", where, path, &mnt->uid_mappings, &mnt->n_uid_mappings,
                          err) < 0 ||
            parse_id_maps(m, "gidMappings", where, path, &mnt->gid_mappings, &mnt->n_gid_mappings,
                          err) < 0)
            return -1;
        if (mnt->destination[0] == 0)
            return berr_set(err, EINVAL, "%s: %s.destination is empty", where, path);
    }
    return 0;
}

static int parse_hooks(struct rt_spec *s, json_t *hooks, const char *where, struct berr **err)
{
    static const char *const names[RT_HOOK_NKINDS] = {
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
    };
    for (int k = 0; k < RT_HOOK_NKINDS; k++) {
        json_t *arr;
        _cleanup_free_ char *kpath = xasprintf("hooks.%s", names[k]);
        if (get_array(hooks, names[k], where, kpath, &arr, err) < 0)
            return -1;
        if (arr == NULL)
            continue;
        size_t n = json_array_size(arr);
        s->hooks[k].hooks = xcalloc(n, sizeof(struct rt_hook));
        for (size_t i = 0; i < n; i++) {
            json_t *h = json_array_get(arr, i);
            struct rt_hook *hk = &s->hooks[k].hooks[i];
            _cleanup_free_ char *path = xasprintf("%s[%zu]", kpath, i);
            s->hooks[k].n = i + 1;
            int64_t t = 0;
            bool has_timeout = false;
            if (!json_is_object(h))
                return type_error(err, where, path, "an object");
            if (get_str(h, "path", where, path, &hk->path, true, err) < 0 ||
                get_strv(h, "args", where, path, &hk->args, err) < 0 ||
                get_strv(h, "env", where, path, &hk->env, err) < 0 ||
                get_int(h, "timeout", where, path, INT32_MIN, INT32_MAX, &t, &has_timeout, err) <
                    0)
                return -1;
            if (hk->path[0] != '/')
                return berr_set(err, EINVAL, "%s: %s.path \"%s\" must be absolute", where, path,
                                hk->path);
            if (has_timeout && t <= 0)
                return berr_set(err, EINVAL, "%s: %s.timeout must be greater than zero", where,
                                path);
            hk->timeout = (int)t;
        }
    }
    return 0;
}

static int parse_kv_object(json_t *obj, const char *where, const char *path, struct rt_kv **out,
                           size_t *n_out, struct berr **err)
{
    size_t n = json_object_size(obj), i = 0;
    const char *key;
    json_t *val;
    struct rt_kv *kv = xcalloc(n, sizeof(*kv));
    *out = kv;
    json_object_foreach(obj, key, val)
    {
        if (!json_is_string(val)) {
            *n_out = i;
            return berr_set(err, EINVAL, "%s: %s.%s: expected a string", where, path, key);
        }
        kv[i].key = xstrdup(key);
        kv[i].value = xstrdup(json_string_value(val));
        i++;
    }
    *n_out = i;
    return 0;
}

static int parse_namespaces(struct rt_spec *s, json_t *arr, const char *where, struct berr **err)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *ns = json_array_get(arr, i);
        _cleanup_free_ char *path = xasprintf("linux.namespaces[%zu]", i);
        _cleanup_free_ char *type = NULL;
        _cleanup_free_ char *nspath = NULL;
        if (!json_is_object(ns))
            return type_error(err, where, path, "an object");
        if (get_str(ns, "type", where, path, &type, true, err) < 0 ||
            get_str(ns, "path", where, path, &nspath, false, err) < 0)
            return -1;
        int t = rt_ns_from_name(type);
        if (t < 0)
            return berr_set(err, EINVAL,
                            "%s: %s.type: unknown namespace \"%s\" (expected one of pid, network, "
                            "mount, ipc, uts, user, cgroup, time)",
                            where, path, type);
        if (s->namespaces[t].present)
            return berr_set(err, EINVAL, "%s: %s: namespace \"%s\" is listed twice", where, path,
                            type);
        if (nspath && nspath[0] == 0) {
            free(nspath);
            nspath = NULL;
        }
        if (nspath && nspath[0] != '/')
            return berr_set(err, EINVAL, "%s: %s.path \"%s\" must be absolute", where, path,
                            nspath);
        s->namespaces[t].present = true;
        s->namespaces[t].path = steal_ptr(&nspath);
    }
    return 0;
}

static int parse_devices(struct rt_spec *s, json_t *arr, const char *where, struct berr **err)
{
    size_t n = json_array_size(arr);
    s->devices = xcalloc(n, sizeof(*s->devices));
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_array_get(arr, i);
        struct rt_device *dev = &s->devices[i];
        _cleanup_free_ char *path = xasprintf("linux.devices[%zu]", i);
        _cleanup_free_ char *type = NULL;
        int64_t v = 0;
        bool has;
        s->n_devices = i + 1;
        if (!json_is_object(d))
            return type_error(err, where, path, "an object");
        if (get_str(d, "path", where, path, &dev->path, true, err) < 0 ||
            get_str(d, "type", where, path, &type, true, err) < 0)
            return -1;
        if (strlen(type) != 1 || strchr("cbup", type[0]) == NULL)
            return berr_set(err, EINVAL, "%s: %s.type \"%s\" must be one of c, b, u, p", where,
                            path, type);
        dev->type = type[0];
        has = false;
        if (get_int(d, "major", where, path, -1, INT64_MAX, &dev->major, &has, err) < 0)
            return -1;
        if (!has && dev->type != 'p')
            return berr_set(err, EINVAL, "%s: %s.major is required for type %c", where, path,
                            dev->type);
        has = false;
        if (get_int(d, "minor", where, path, -1, INT64_MAX, &dev->minor, &has, err) < 0)
            return -1;
        if (!has && dev->type != 'p')
            return berr_set(err, EINVAL, "%s: %s.minor is required for type %c", where, path,
                            dev->type);
        if (get_int(d, "fileMode", where, path, 0, 07777, &v, &dev->has_mode, err) < 0)
            return -1;
        dev->mode = (mode_t)v;
        if (get_int(d, "uid", where, path, 0, UINT32_MAX - 1, &v, &dev->has_uid, err) < 0)
            return -1;
        dev->uid = (uid_t)v;
        if (get_int(d, "gid", where, path, 0, UINT32_MAX - 1, &v, &dev->has_gid, err) < 0)
            return -1;
        dev->gid = (gid_t)v;
    }
    return 0;
}

static int parse_time_offsets(struct rt_spec *s, json_t *obj, const char *where,
                              struct berr **err)
{
    static const char *const keys[] = {"monotonic", "boottime"};
    struct rt_time_offset *dst[] = {&s->time_monotonic, &s->time_boottime};
    for (size_t i = 0; i < 2; i++) {
        json_t *o;
        _cleanup_free_ char *path = xasprintf("linux.timeOffsets.%s", keys[i]);
        if (get_object(obj, keys[i], where, path, &o, err) < 0)
            return -1;
        if (o == NULL)
            continue;
        int64_t secs = 0, ns = 0;
        if (get_int(o, "secs", where, path, INT64_MIN, INT64_MAX, &secs, NULL, err) < 0 ||
            get_int(o, "nanosecs", where, path, 0, 999999999, &ns, NULL, err) < 0)
            return -1;
        *dst[i] = (struct rt_time_offset){true, secs, (uint32_t)ns};
    }
    return 0;
}

static int parse_linux(struct rt_spec *s, json_t *lx, const char *where, struct berr **err)
{
    json_t *o;
    if (get_array(lx, "namespaces", where, "linux.namespaces", &o, err) < 0)
        return -1;
    if (o && parse_namespaces(s, o, where, err) < 0)
        return -1;
    if (parse_id_maps(lx, "uidMappings", where, "linux.uidMappings", &s->uid_mappings,
                      &s->n_uid_mappings, err) < 0 ||
        parse_id_maps(lx, "gidMappings", where, "linux.gidMappings", &s->gid_mappings,
                      &s->n_gid_mappings, err) < 0)
        return -1;
    if (get_array(lx, "devices", where, "linux.devices", &o, err) < 0)
        return -1;
    if (o && parse_devices(s, o, where, err) < 0)
        return -1;
    if (get_str(lx, "cgroupsPath", where, "linux.cgroupsPath", &s->cgroups_path, false, err) < 0 ||
        get_object(lx, "resources", where, "linux.resources", &s->resources, err) < 0 ||
        get_object(lx, "seccomp", where, "linux.seccomp", &s->seccomp, err) < 0 ||
        get_object(lx, "intelRdt", where, "linux.intelRdt", &s->intel_rdt, err) < 0 ||
        get_str(lx, "rootfsPropagation", where, "linux.rootfsPropagation",
                &s->rootfs_propagation, false, err) < 0 ||
        get_strv(lx, "maskedPaths", where, "linux.maskedPaths", &s->masked_paths, err) < 0 ||
        get_strv(lx, "readonlyPaths", where, "linux.readonlyPaths", &s->readonly_paths, err) < 0 ||
        get_str(lx, "mountLabel", where, "linux.mountLabel", &s->mount_label, false, err) < 0)
        return -1;
    if (get_object(lx, "sysctl", where, "linux.sysctl", &o, err) < 0)
        return -1;
    if (o && parse_kv_object(o, where, "linux.sysctl", &s->sysctl, &s->n_sysctl, err) < 0)
        return -1;
    if (get_object(lx, "personality", where, "linux.personality", &o, err) < 0)
        return -1;
    if (o) {
        _cleanup_free_ char *domain = NULL;
        if (get_str(o, "domain", where, "linux.personality.domain", &domain, true, err) < 0)
            return -1;
        if (strcmp(domain, "LINUX") == 0)
            s->personality = PER_LINUX;
        else if (strcmp(domain, "LINUX32") == 0)
            s->personality = PER_LINUX32;
        else
            return berr_set(err, EINVAL,
                            "%s: linux.personality.domain: unknown domain \"%s\" (LINUX or "
                            "LINUX32)",
                            where, domain);
        s->has_personality = true;
    }
    if (get_object(lx, "timeOffsets", where, "linux.timeOffsets", &o, err) < 0)
        return -1;
    if (o && parse_time_offsets(s, o, where, err) < 0)
        return -1;
    if ((s->n_uid_mappings || s->n_gid_mappings) && !s->namespaces[RT_NS_USER].present)
        return berr_set(err, EINVAL,
                        "%s: linux.uidMappings/gidMappings are set but there is no user "
                        "namespace in linux.namespaces",
                        where);
    if (s->namespaces[RT_NS_USER].present && !s->namespaces[RT_NS_USER].path &&
        (s->n_uid_mappings == 0 || s->n_gid_mappings == 0))
        return berr_set(err, EINVAL,
                        "%s: a new user namespace needs linux.uidMappings and linux.gidMappings",
                        where);
    if ((s->time_monotonic.present || s->time_boottime.present) &&
        (!s->namespaces[RT_NS_TIME].present || s->namespaces[RT_NS_TIME].path))
        return berr_set(err, EINVAL, "%s: linux.timeOffsets needs a new time namespace", where);
    return 0;
}

struct rt_spec *rt_spec_parse(const char *text, size_t len, const char *where, struct berr **err)
{
    json_error_t jerr;
    _cleanup_spec_ struct rt_spec *s = xzalloc(sizeof(*s));
    s->json = rt_json_loadb(text, len, &jerr);
    if (s->json == NULL)
        return berr_set(err, EINVAL, "%s: line %d, column %d: %s", where, jerr.line, jerr.column,
                        jerr.text),
               NULL;
    if (!json_is_object(s->json))
        return berr_set(err, EINVAL, "%s: the document must be a JSON object", where), NULL;

    json_t *o;
    if (get_str(s->json, "ociVersion", where, "ociVersion", &s->oci_version, true, err) < 0)
        return NULL;
    if (get_object(s->json, "root", where, "root", &o, err) < 0)
        return NULL;
    if (o == NULL)
        return berr_set(err, EINVAL, "%s: root is required (root.path names the rootfs)", where),
               NULL;
    if (get_str(o, "path", where, "root.path", &s->root_path, true, err) < 0 ||
        get_bool(o, "readonly", where, "root.readonly", &s->root_readonly, err) < 0)
        return NULL;

    json_t *proc = json_object_get(s->json, "process");
    if (proc && !json_is_null(proc)) {
        s->process = rt_process_parse(proc, where, err);
        if (s->process == NULL)
            return NULL;
    }
    if (get_str(s->json, "hostname", where, "hostname", &s->hostname, false, err) < 0 ||
        get_str(s->json, "domainname", where, "domainname", &s->domainname, false, err) < 0)
        return NULL;
    if (get_array(s->json, "mounts", where, "mounts", &o, err) < 0)
        return NULL;
    if (o && parse_mounts(s, o, where, err) < 0)
        return NULL;
    if (get_object(s->json, "hooks", where, "hooks", &o, err) < 0)
        return NULL;
    if (o && parse_hooks(s, o, where, err) < 0)
        return NULL;
    if (get_object(s->json, "annotations", where, "annotations", &o, err) < 0)
        return NULL;
    if (o && parse_kv_object(o, where, "annotations", &s->annotations, &s->n_annotations, err) < 0)
        return NULL;
    if (get_object(s->json, "linux", where, "linux", &o, err) < 0)
        return NULL;
    if (o && parse_linux(s, o, where, err) < 0)
        return NULL;
    if ((s->hostname || s->domainname) && !s->namespaces[RT_NS_UTS].present)
        return berr_set(err, EINVAL,
                        "%s: hostname/domainname need a new uts namespace in linux.namespaces",
                        where),
               NULL;
    return steal_ptr(&s);
}

struct rt_spec *rt_spec_load(const char *bundle, struct berr **err)
{
    _cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
    size_t len;
    _cleanup_free_ char *text = read_file_at(AT_FDCWD, path, SPEC_MAX_SIZE, &len, err);
    if (text == NULL)
        return NULL;
    return rt_spec_parse(text, len, path, err);
}

void rt_spec_free(struct rt_spec *s)
{
    if (s == NULL)
        return;
    json_decref(s->json);
    free(s->oci_version);
    free(s->root_path);
    rt_process_free(s->process);
    free(s->hostname);
    free(s->domainname);
    for (size_t i = 0; i < s->n_mounts; i++) {
        free(s->mounts[i].destination);
        free(s->mounts[i].type);
        free(s->mounts[i].source);
        strv_free(s->mounts[i].options);
        free(s->mounts[i].uid_mappings);
        free(s->mounts[i].gid_mappings);
    }
    free(s->mounts);
    for (int k = 0; k < RT_HOOK_NKINDS; k++) {
        for (size_t i = 0; i < s->hooks[k].n; i++) {
            free(s->hooks[k].hooks[i].path);
            strv_free(s->hooks[k].hooks[i].args);
            strv_free(s->hooks[k].hooks[i].env);
        }
        free(s->hooks[k].hooks);
    }
    for (size_t i = 0; i < s->n_annotations; i++) {
        free(s->annotations[i].key);
        free(s->annotations[i].value);
    }
    free(s->annotations);
    for (int i = 0; i < RT_NS_COUNT; i++)
        free(s->namespaces[i].path);
    free(s->uid_mappings);
    free(s->gid_mappings);
    for (size_t i = 0; i < s->n_devices; i++)
        free(s->devices[i].path);
    free(s->devices);
    free(s->cgroups_path);
    for (size_t i = 0; i < s->n_sysctl; i++) {
        free(s->sysctl[i].key);
        free(s->sysctl[i].value);
    }
    free(s->sysctl);
    free(s->rootfs_propagation);
    strv_free(s->masked_paths);
    strv_free(s->readonly_paths);
    free(s->mount_label);
    free(s);
}

void rt_spec_freep(struct rt_spec **s)
{
    rt_spec_free(*s);
    *s = NULL;
}
