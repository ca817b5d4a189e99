/* The container's Config as `docker inspect` shows it: the create request's Config completed
 * from the image's config by Docker's merge rules (daemon/commit.go's merge and create.go's
 * checks), every field type-checked first so that a bad request fails before anything is made. */
#include "engine/specgen.h"
#include "common/jsonkind.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

enum field_kind {
    F_STRING,
    F_BOOL,
    F_STRSLICE, /* a string (one element) or an array of strings; null */
    F_STRV,     /* an array of strings; null */
    F_SET,      /* an object whose values are objects ({"80/tcp": {}}); null */
    F_LABELS,   /* an object of strings; null */
    F_HEALTH,
    F_INT, /* an integer; null */
};

struct field {
    const char *name;
    enum field_kind kind;
    bool omit_empty; /* docker inspect leaves it out when empty */
};

/* In the order Docker's container.Config marshals them. */
static const struct field fields[] = {
    {"Hostname", F_STRING, false},
    {"Domainname", F_STRING, false},
    {"User", F_STRING, false},
    {"AttachStdin", F_BOOL, false},
    {"AttachStdout", F_BOOL, false},
    {"AttachStderr", F_BOOL, false},
    {"ExposedPorts", F_SET, true},
    {"Tty", F_BOOL, false},
    {"OpenStdin", F_BOOL, false},
    {"StdinOnce", F_BOOL, false},
    {"Env", F_STRV, false},
    {"Cmd", F_STRSLICE, false},
    {"Healthcheck", F_HEALTH, true},
    {"ArgsEscaped", F_BOOL, true},
    {"Image", F_STRING, false},
    {"Volumes", F_SET, false},
    {"WorkingDir", F_STRING, false},
    {"Entrypoint", F_STRSLICE, false},
    {"NetworkDisabled", F_BOOL, true},
    {"MacAddress", F_STRING, true},
    {"OnBuild", F_STRV, false},
    {"Labels", F_LABELS, false},
    {"StopSignal", F_STRING, true},
    {"StopTimeout", F_INT, true},
    {"Shell", F_STRSLICE, true},
};

static const char *const health_ints[] = {"Interval", "Timeout", "StartPeriod", "StartInterval",
                                          "Retries"};

static int type_error(struct berr **err, const char *where, const char *name, const char *want,
                      json_t *got)
{
    return berr_code(err, EINVAL, "%s.%s: expected %s, got %s", where, name, want, json_kind(got));
}

static int check_strings(json_t *arr, const char *where, const char *name, struct berr **err)
{
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s)
    {
        if (!json_is_string(s))
            return berr_code(err, EINVAL, "%s.%s[%zu]: expected a string, got %s", where, name, i,
                             json_kind(s));
    }
    return 0;
}

static int check_field(json_t *v, const struct field *f, const char *where, struct berr **err)
{
    if (json_is_null(v) && f->kind != F_STRING && f->kind != F_BOOL)
        return 0;
    switch (f->kind) {
    case F_STRING:
        return json_is_string(v) ? 0 : type_error(err, where, f->name, "a string", v);
    case F_BOOL:
        return json_is_boolean(v) ? 0 : type_error(err, where, f->name, "a boolean", v);
    case F_INT:
        return json_is_integer(v) ? 0 : type_error(err, where, f->name, "an integer", v);
    case F_STRSLICE:
        if (json_is_string(v))
            return 0;
        /* fallthrough */
    case F_STRV:
        if (!json_is_array(v))
            return type_error(err, where, f->name, "an array of strings", v);
        return check_strings(v, where, f->name, err);
    case F_SET:
    case F_LABELS: {
        if (!json_is_object(v))
            return type_error(err, where, f->name, "an object", v);
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
        {
            bool ok = f->kind == F_SET ? json_is_object(e) || json_is_null(e) : json_is_string(e);
            if (!ok)
                return berr_code(err, EINVAL, "%s.%s[\"%s\"]: expected %s, got %s", where, f->name,
                                 k, f->kind == F_SET ? "an object ({})" : "a string", json_kind(e));
        }
        return 0;
    }
    case F_HEALTH: {
        if (!json_is_object(v))
            return type_error(err, where, f->name, "an object", v);
        json_t *test = json_object_get(v, "Test");
        if (test && !json_is_null(test)) {
            if (!json_is_array(test))
                return type_error(err, where, "Healthcheck.Test", "an array of strings", test);
            if (check_strings(test, where, "Healthcheck.Test", err) < 0)
                return -1;
        }
        for (size_t i = 0; i < ARRAY_SIZE(health_ints); i++) {
            json_t *n = json_object_get(v, health_ints[i]);
            if (n && !json_is_null(n) && !json_is_integer(n)) {
                _cleanup_free_ char *name = xasprintf("Healthcheck.%s", health_ints[i]);
                return type_error(err, where, name, "an integer", n);
            }
        }
        return 0;
    }
    }
    return 0;
}

static int check_config(json_t *cfg, const char *where, struct berr **err)
{
    if (cfg == NULL || json_is_null(cfg))
        return 0;
    if (!json_is_object(cfg))
        return berr_code(err, EINVAL, "%s: expected an object, got %s", where, json_kind(cfg));
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        json_t *v = json_object_get(cfg, fields[i].name);
        if (v && check_field(v, &fields[i], where, err) < 0)
            return -1;
    }
    return 0;
}

/* A field's value, NULL when absent or null. */
static json_t *get(json_t *cfg, const char *name)
{
    json_t *v = cfg ? json_object_get(cfg, name) : NULL;
    return v && !json_is_null(v) ? v : NULL;
}

/* Cmd, Entrypoint and Shell as arrays: Docker's strslice takes a lone string as one word. */
static json_t *strslice(json_t *v)
{
    if (v == NULL)
        return NULL;
    if (json_is_string(v))
        return json_pack("[O]", v);
    return json_deep_copy(v);
}

static size_t len_of(json_t *v)
{
    if (v == NULL)
        return 0;
    if (json_is_string(v))
        return 1;
    return json_is_array(v) ? json_array_size(v) : json_object_size(v);
}

static bool str_empty(json_t *v)
{
    return v == NULL || json_string_length(v) == 0;
}

static size_t env_key_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}

static bool env_has_key(json_t *env, const char *kv)
{
    size_t n = env_key_len(kv), i;
    json_t *e;
    json_array_foreach(env, i, e)
    {
        const char *s = json_string_value(e);
        if (env_key_len(s) == n && strncmp(s, kv, n) == 0)
            return true;
    }
    return false;
}

static json_t *merge_env(json_t *req, json_t *img)
{
    if (len_of(req) == 0)
        return img ? json_deep_copy(img) : json_null();
    json_t *env = json_deep_copy(req);
    size_t i;
    json_t *e;
    json_array_foreach(img, i, e)
    {
        if (!env_has_key(req, json_string_value(e)))
            json_array_append(env, e);
    }
    return env;
}

/* Keys of add missing from base are copied in (base wins); both may be NULL. */
static json_t *union_objects(json_t *base, json_t *add, bool null_when_empty)
{
    json_t *out = base ? json_deep_copy(base) : json_object();
    const char *k;
    json_t *v;
    json_object_foreach(add, k, v)
    {
        if (json_object_get(out, k) == NULL)
            json_object_set_new(out, k, json_deep_copy(v));
    }
    if (null_when_empty && json_object_size(out) == 0) {
        json_decref(out);
        return json_null();
    }
    return out;
}

static json_t *merge_health(json_t *req, json_t *img)
{
    if (img == NULL)
        return req ? json_deep_copy(req) : NULL;
    if (req == NULL)
        return json_deep_copy(img);
    json_t *h = json_deep_copy(req);
    json_t *test = get(req, "Test");
    if (len_of(test) == 0 && get(img, "Test"))
        json_object_set_new(h, "Test", json_deep_copy(get(img, "Test")));
    for (size_t i = 0; i < ARRAY_SIZE(health_ints); i++) {
        json_t *n = get(req, health_ints[i]);
        json_t *from = get(img, health_ints[i]);
        if ((n == NULL || json_integer_value(n) == 0) && from)
            json_object_set_new(h, health_ints[i], json_deep_copy(from));
    }
    return h;
}

static json_t *default_value(const struct field *f)
{
    switch (f->kind) {
    case F_STRING:
        return json_string("");
    case F_BOOL:
        return json_false();
    default:
        return json_null();
    }
}

json_t *eng_config_merge(json_t *image_config, json_t *req_config, struct berr **err)
{
    if (check_config(image_config, "image config", err) < 0 ||
        check_config(req_config, "Config", err) < 0)
        return NULL;
    json_t *img = image_config && json_is_object(image_config) ? image_config : NULL;
    json_t *req = req_config && json_is_object(req_config) ? req_config : NULL;

    _cleanup_json_ json_t *out = json_object();
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        const struct field *f = &fields[i];
        json_t *v = get(req, f->name);
        json_t *value;
        if (v == NULL)
            value = default_value(f);
        else if (f->kind == F_STRSLICE)
            value = strslice(v);
        else
            value = json_deep_copy(v);
        json_object_set_new(out, f->name, value);
    }

    if (str_empty(get(req, "User")) && get(img, "User"))
        json_object_set(out, "User", get(img, "User"));
    json_object_set_new(out, "ExposedPorts",
                        union_objects(get(req, "ExposedPorts"), get(img, "ExposedPorts"), true));
    json_object_set_new(out, "Env", merge_env(get(req, "Env"), get(img, "Env")));
    json_object_set_new(out, "Labels",
                        union_objects(get(req, "Labels"), get(img, "Labels"), false));

    /* An Entrypoint of its own (even [""]) means the image's Cmd was written for a different
     * program; an empty or absent one keeps it. */
    json_t *req_ep = get(req, "Entrypoint");
    if (len_of(req_ep) == 0) {
        if (len_of(get(req, "Cmd")) == 0)
            json_object_set_new(out, "Cmd", strslice(get(img, "Cmd")) ?: json_null());
        if (req_ep == NULL)
            json_object_set_new(out, "Entrypoint", strslice(get(img, "Entrypoint")) ?: json_null());
    }
    json_t *health = merge_health(get(req, "Healthcheck"), get(img, "Healthcheck"));
    json_object_set_new(out, "Healthcheck", health ? health : json_null());
    if (str_empty(get(req, "WorkingDir")) && get(img, "WorkingDir"))
        json_object_set(out, "WorkingDir", get(img, "WorkingDir"));
    json_object_set_new(out, "Volumes",
                        union_objects(get(req, "Volumes"), get(img, "Volumes"), true));
    if (str_empty(get(req, "StopSignal")) && get(img, "StopSignal"))
        json_object_set(out, "StopSignal", get(img, "StopSignal"));

    /* validateHealthCheck: durations are nanoseconds, at least a millisecond when set. */
    json_t *hc = json_object_get(out, "Healthcheck");
    for (size_t i = 0; json_is_object(hc) && i < ARRAY_SIZE(health_ints); i++) {
        json_int_t v = json_integer_value(json_object_get(hc, health_ints[i]));
        if (strcmp(health_ints[i], "Retries") == 0 && v < 0)
            return berr_code(err, EINVAL, "Retries in Healthcheck cannot be negative"), NULL;
        if (strcmp(health_ints[i], "Retries") != 0 && v != 0 && v < 1000000)
            return berr_code(err, EINVAL, "%s in Healthcheck cannot be less than 1ms",
                             health_ints[i]),
                   NULL;
    }
    json_t *host = json_object_get(out, "Hostname");
    if (json_string_length(host) > 64)
        return berr_code(err, EINVAL, "hostname \"%s\" is too long (maximum 64 bytes)",
                         json_string_value(host)),
               NULL;

    json_t *ep = json_object_get(out, "Entrypoint");
    if (json_array_size(ep) == 1 && json_string_length(json_array_get(ep, 0)) == 0)
        json_object_set_new(out, "Entrypoint", json_null());
    if (json_array_size(json_object_get(out, "Entrypoint")) == 0 &&
        json_array_size(json_object_get(out, "Cmd")) == 0)
        return berr_code(err, EINVAL, "no command specified"), NULL;

    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        const struct field *f = &fields[i];
        json_t *v = json_object_get(out, f->name);
        bool empty = json_is_null(v) || json_is_false(v) ||
                     (json_is_string(v) && json_string_length(v) == 0) ||
                     ((json_is_array(v) || json_is_object(v)) && len_of(v) == 0);
        if (f->omit_empty && empty)
            json_object_del(out, f->name);
    }
    return steal_ptr(&out);
}
