/* The /networks endpoints for the networks every berthd has: "host" (the host's network
 * namespace) and "none" (a namespace of the container's own with only loopback). List with
 * Docker's filters, inspect with the running containers attached, prune (only user-defined
 * networks are pruned, and there are none yet), and Docker's refusals for removing a
 * predefined network. Creating networks and connecting containers need drivers (bridge and
 * the rest), which come with berth's networking: those requests get a clear refusal.
 *
 * The two networks have IDs like any other, random, made at the first start and kept in
 * <root>/networks/builtin.json so that they stay the same across restarts. Containers of the
 * "default" and "bridge" modes run as "none" does until there is a bridge, and are shown on
 * "none". Also here: POST /build/prune, which `docker system prune` calls; berth has no build
 * cache yet, so there is nothing to delete. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "api/api.h"
#include "api/h_networks.h"
#include "api/util.h"
#include "common/cleanup.h"
#include "common/filters.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "engine/engine.h"

struct builtin_net {
    const char *name;
    const char *driver;
    char id[65];
    char created[40];
};

static struct builtin_net nets[] = {{"none", "null", "", ""}, {"host", "host", "", ""}};
#define N_NETS (sizeof(nets) / sizeof(nets[0]))

static pthread_mutex_t nets_mu = PTHREAD_MUTEX_INITIALIZER;
static bool nets_ready;

static bool hex64(const char *s)
{
    if (s == NULL || strlen(s) != 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* Reads the IDs kept from an earlier start; makes and keeps new ones for what is missing. */
static void load_builtins(struct api_daemon *d)
{
    pthread_mutex_lock(&nets_mu);
    if (nets_ready) {
        pthread_mutex_unlock(&nets_mu);
        return;
    }
    _cleanup_free_ char *dir = xasprintf("%s/networks", d->root);
    _cleanup_free_ char *path = xasprintf("%s/builtin.json", dir);
    _cleanup_free_ char *text = read_file_at(AT_FDCWD, path, 64 * 1024, NULL, NULL);
    _cleanup_json_ json_t *kept = text ? json_loads(text, 0, NULL) : NULL;
    bool changed = false;
    for (size_t i = 0; i < N_NETS; i++) {
        json_t *n = json_object_get(kept, nets[i].name);
        const char *id = json_string_value(json_object_get(n, "Id"));
        const char *created = json_string_value(json_object_get(n, "Created"));
        if (hex64(id) && created != NULL && strlen(created) < sizeof(nets[i].created)) {
            memcpy(nets[i].id, id, 65);
            strcpy(nets[i].created, created);
            continue;
        }
        unsigned char r[32];
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
            abort(); /* the kernel's generator does not fail for 32 bytes */
        for (size_t k = 0; k < sizeof(r); k++)
            snprintf(nets[i].id + 2 * k, 3, "%02x", r[k]);
        time_format_rfc3339(time_now_ns(), nets[i].created, sizeof(nets[i].created));
        changed = true;
    }
    if (changed) {
        _cleanup_json_ json_t *out = json_object();
        for (size_t i = 0; i < N_NETS; i++)
            json_object_set_new(
                out, nets[i].name,
                json_pack("{s:s, s:s}", "Id", nets[i].id, "Created", nets[i].created));
        _cleanup_free_ char *dump = json_dumps(out, JSON_SORT_KEYS | JSON_INDENT(1));
        struct berr *err = NULL;
        if (mkdir_p(dir, 0700, &err) < 0 ||
            write_file_atomic_at(AT_FDCWD, path, dump, strlen(dump), 0600, &err) < 0) {
            /* still served, with IDs that change at the next start */
            log_warn("keeping the IDs of the predefined networks: %s", err->msg);
            berr_free(err);
        }
    }
    nets_ready = true;
    pthread_mutex_unlock(&nets_mu);
}

/* Docker's lookup order: full ID, name, then a unique ID prefix. */
static struct builtin_net *find_net(struct api_daemon *d, const char *ref)
{
    load_builtins(d);
    for (size_t i = 0; i < N_NETS; i++)
        if (strcmp(nets[i].id, ref) == 0)
            return &nets[i];
    for (size_t i = 0; i < N_NETS; i++)
        if (strcmp(nets[i].name, ref) == 0)
            return &nets[i];
    struct builtin_net *found = NULL;
    size_t len = strlen(ref);
    for (size_t i = 0; len > 0 && i < N_NETS; i++) {
        if (strncmp(nets[i].id, ref, len) == 0) {
            if (found != NULL)
                return NULL;
            found = &nets[i];
        }
    }
    return found;
}

/* The network a container of this NetworkMode is on. */
static struct builtin_net *net_of_mode(const char *mode)
{
    if (mode == NULL || strcmp(mode, "none") == 0 || strcmp(mode, "default") == 0 ||
        strcmp(mode, "bridge") == 0)
        return &nets[0];
    if (strcmp(mode, "host") == 0)
        return &nets[1];
    return NULL; /* container:<id> shares another's namespace and has no network of its own */
}

json_t *api_net_endpoints(struct api_daemon *d, const char *mode)
{
    load_builtins(d);
    struct builtin_net *n = net_of_mode(mode);
    json_t *out = json_object();
    if (n == NULL)
        return out;
    json_t *ep =
        json_pack("{s:n, s:n, s:n, s:s, s:n, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, "
                  "s:n}",
                  "IPAMConfig", "Links", "Aliases", "MacAddress", "", "DriverOpts", "NetworkID",
                  n->id, "EndpointID", "", "Gateway", "", "IPAddress", "", "IPPrefixLen", 0,
                  "IPv6Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "DNSNames");
    json_object_set_new(out, n->name, ep);
    return out;
}

void api_net_decorate(struct api_daemon *d, json_t *ctr)
{
    json_t *ns = json_object_get(ctr, "NetworkSettings");
    const char *mode =
        json_string_value(json_object_get(json_object_get(ctr, "HostConfig"), "NetworkMode"));
    if (json_is_object(ns))
        json_object_set_new(ns, "Networks", api_net_endpoints(d, mode));
}

const char *api_net_name(struct api_daemon *d, const char *ref)
{
    struct builtin_net *n = find_net(d, ref);
    return n ? n->name : NULL;
}

/* The running containers on n, as network inspect shows them. */
static json_t *attached(struct api_daemon *d, struct builtin_net *n)
{
    json_t *out = json_object();
    _cleanup_json_ json_t *ctrs = eng_list(d->engine, false, -1, false, NULL, NULL);
    size_t i;
    json_t *c;
    json_array_foreach(ctrs, i, c)
    {
        const char *mode =
            json_string_value(json_object_get(json_object_get(c, "HostConfig"), "NetworkMode"));
        if (net_of_mode(mode) != n)
            continue;
        const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
        json_object_set_new(out, json_string_value(json_object_get(c, "Id")),
                            json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name",
                                      name && name[0] == '/' ? name + 1
                                      : name                 ? name
                                                             : "",
                                      "EndpointID", "", "MacAddress", "", "IPv4Address", "",
                                      "IPv6Address", ""));
    }
    return out;
}

static json_t *net_json(struct builtin_net *n, json_t *containers)
{
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:n, s:[]}, s:b, s:b, s:b, "
                          "s:{s:s}, s:b, s:o, s:{}, s:{}}",
                          "Name", n->name, "Id", n->id, "Created", n->created, "Scope", "local",
                          "Driver", n->driver, "EnableIPv6", false, "IPAM", "Driver", "default",
                          "Options", "Config", "Internal", false, "Attachable", false, "Ingress",
                          false, "ConfigFrom", "Network", "", "ConfigOnly", false, "Containers",
                          containers ? containers : json_object(), "Options", "Labels");
    if (v == NULL)
        abort();
    return v;
}

/* the values of a filter, or true when it is not given */
static bool matches(json_t *vals, const char *s)
{
    return json_array_size(vals) == 0 || filter_any_regex(vals, s);
}

static bool exact(json_t *vals, const char *s)
{
    return json_array_size(vals) == 0 || filter_has(vals, s);
}

/* Docker's "invalid filter 'KEY'" (400) for a key not in keys. */
static bool filter_keys_ok(struct api_req *r, json_t *filters, const char *const *keys)
{
    _cleanup_berr_ struct berr *err = NULL;
    if (api_check_filter_keys(filters, keys, &err) == 0)
        return true;
    api_reply_error(r, 400, "%s", err->msg);
    return false;
}

static void networks_list(struct api_req *r)
{
    json_t *filters = api_filters(r);
    if (filters == NULL)
        return;
    static const char *const keys[] = {"dangling", "driver", "id",   "label",
                                       "name",     "scope",  "type", NULL};
    if (!filter_keys_ok(r, filters, keys))
        return;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(filters, "type"), i, v)
    {
        const char *t = json_string_value(v);
        if (strcmp(t, "custom") != 0 && strcmp(t, "builtin") != 0) {
            api_reply_error(r, 400, "invalid filter: 'type'='%s'", t);
            return;
        }
    }
    json_array_foreach(json_object_get(filters, "dangling"), i, v)
    {
        const char *t = json_string_value(v);
        if (strcmp(t, "true") != 0 && strcmp(t, "false") != 0 && strcmp(t, "1") != 0 &&
            strcmp(t, "0") != 0) {
            api_reply_error(r, 400, "invalid filter 'dangling=%s'", t);
            return;
        }
    }
    struct api_daemon *d = api_daemon(r);
    load_builtins(d);
    json_t *out = json_array();
    for (size_t n = 0; n < N_NETS; n++) {
        struct builtin_net *net = &nets[n];
        /* the predefined networks have no labels and are never dangling (Docker leaves them
         * out of dangling=true and keeps them under dangling=false) */
        bool keep = matches(json_object_get(filters, "name"), net->name) &&
                    matches(json_object_get(filters, "id"), net->id) &&
                    exact(json_object_get(filters, "driver"), net->driver) &&
                    exact(json_object_get(filters, "scope"), "local") &&
                    exact(json_object_get(filters, "type"), "builtin") &&
                    json_array_size(json_object_get(filters, "label")) == 0;
        json_array_foreach(json_object_get(filters, "dangling"), i, v)
        {
            const char *t = json_string_value(v);
            if (strcmp(t, "true") == 0 || strcmp(t, "1") == 0)
                keep = false;
        }
        if (keep)
            json_array_append_new(out, net_json(net, NULL));
    }
    api_reply_json(r, 200, out);
}

/* The network the request's {id} names, or NULL after Docker's 404. */
static struct builtin_net *net_of_request(struct api_req *r)
{
    const char *ref = api_param(r, "id");
    struct builtin_net *n = find_net(api_daemon(r), ref);
    if (n == NULL)
        api_reply_error(r, 404, "network %s not found", ref);
    return n;
}

static void networks_inspect(struct api_req *r)
{
    struct api_daemon *d = api_daemon(r);
    struct builtin_net *n = net_of_request(r);
    if (n == NULL)
        return;
    const char *scope = api_query(r, "scope");
    if (scope != NULL && *scope != '\0' && strcmp(scope, "local") != 0) {
        api_reply_error(r, 404, "network %s not found", api_param(r, "id"));
        return;
    }
    api_reply_json(r, 200, net_json(n, attached(d, n)));
}

static void networks_create(struct api_req *r)
{
    json_t *body = api_body_json(r);
    if (body == NULL)
        return;
    const char *name = json_string_value(json_object_get(body, "Name"));
    if (name == NULL || *name == '\0') {
        api_reply_error(r, 400, "network name is required");
        return;
    }
    static const char *const predefined[] = {"bridge", "host", "none", "default"};
    for (size_t i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++) {
        if (strcmp(name, predefined[i]) == 0) {
            api_reply_error(r, 403, "operation is not permitted on predefined %s network", name);
            return;
        }
    }
    api_reply_error(r, 501,
                    "cannot create network %s: berthd has no network drivers yet (bridge "
                    "networks are coming); run containers with --network none or --network host",
                    name);
}

static void networks_remove(struct api_req *r)
{
    struct builtin_net *n = net_of_request(r);
    if (n == NULL)
        return;
    api_reply_error(r, 403, "%s is a pre-defined network and cannot be removed", n->name);
}

static void networks_prune(struct api_req *r)
{
    json_t *filters = api_filters(r);
    if (filters == NULL)
        return;
    static const char *const keys[] = {"label", "label!", "until", NULL};
    if (!filter_keys_ok(r, filters, keys))
        return;
    json_t *until = json_array_get(json_object_get(filters, "until"), 0);
    int64_t t;
    if (until != NULL && time_parse_timestamp(json_string_value(until), &t) < 0) {
        api_reply_error(r, 400, "invalid filter 'until=%s': expected a unix or RFC 3339 time",
                        json_string_value(until));
        return;
    }
    /* only user-defined networks are ever pruned, and berthd cannot make any yet */
    api_reply_json(r, 200, json_pack("{s:n}", "NetworksDeleted"));
}

static void networks_connect(struct api_req *r)
{
    struct api_daemon *d = api_daemon(r);
    struct builtin_net *n = net_of_request(r);
    if (n == NULL)
        return;
    json_t *body = api_body_json(r);
    if (body == NULL)
        return;
    const char *ctr = json_string_value(json_object_get(body, "Container"));
    char id[65];
    _cleanup_berr_ struct berr *err = NULL;
    if (ctr == NULL || eng_resolve(d->engine, ctr, id, &err) < 0) {
        if (err != NULL)
            api_reply_berr(r, err);
        else
            api_reply_error(r, 400, "no container given to (dis)connect");
        return;
    }
    /* Docker's own rule: a container's host or none network is for its whole life */
    api_reply_error(r, 400,
                    "container cannot be disconnected from %s network or connected to %s network",
                    n->name, n->name);
}

static void build_prune(struct api_req *r)
{
    json_t *filters = api_filters(r);
    if (filters == NULL)
        return;
    /* berth has no builder yet, hence no build cache: nothing to delete */
    api_reply_json(r, 200, json_pack("{s:n, s:i}", "CachesDeleted", "SpaceReclaimed", 0));
}

const struct api_route api_network_routes[] = {
    {"GET", "/networks", networks_list, 0},
    {"POST", "/networks/create", networks_create, 0},
    {"POST", "/networks/prune", networks_prune, 0},
    {"GET", "/networks/{id}", networks_inspect, 0},
    {"DELETE", "/networks/{id}", networks_remove, 0},
    {"POST", "/networks/{id}/connect", networks_connect, 0},
    {"POST", "/networks/{id}/disconnect", networks_connect, 0},
    {"POST", "/build/prune", build_prune, 0},
    {NULL, NULL, NULL, 0},
};
