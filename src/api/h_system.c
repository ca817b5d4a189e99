/* System endpoints: /_ping and /version (what clients negotiate with), /info (from memory,
 * never a storage scan), /events (the bus, with Docker's filters) and /system/df. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/h_images.h"
#include "api/util.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "image/snapshot.h"
#include "volume/volume.h"

static void ping(struct api_req *r)
{
    api_add_header(r, "Builder-Version", "1");
    api_add_header(r, "Swarm", "inactive");
    api_add_header(r, "Cache-Control", "no-cache, no-store, must-revalidate");
    api_add_header(r, "Pragma", "no-cache");
    api_reply_text(r, 200, "text/plain; charset=utf-8", "OK", 2);
}

static void version(struct api_req *r)
{
    struct utsname u;
    uname(&u);
    char built[64];
    time_t t = time(NULL);
    strftime(built, sizeof(built), "%Y-%m-%dT%H:%M:%S.000000000+00:00", gmtime(&t));
    json_t *details =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ApiVersion",
                  API_VERSION_MAX_STR, "MinAPIVersion", API_VERSION_MIN_STR, "GitCommit", "berth",
                  "GoVersion", "none (C)", "Os", "linux", "Arch", api_go_arch(), "KernelVersion",
                  u.release, "BuildTime", built, "Experimental", "false");
    json_t *v = json_pack(
        "{s:{s:s}, s:[{s:s, s:s, s:o}], s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Platform",
        "Name", "berth", "Components", "Name", "Engine", "Version", BERTH_VERSION, "Details",
        details, "Version", BERTH_VERSION, "ApiVersion", API_VERSION_MAX_STR, "MinAPIVersion",
        API_VERSION_MIN_STR, "GitCommit", "berth", "GoVersion", "none (C)", "Os", "linux", "Arch",
        api_go_arch(), "KernelVersion", u.release, "BuildTime", built);
    api_reply_json(r, 200, v);
}

static void info(struct api_req *r)
{
    struct api_daemon *d = api_daemon(r);
    int total = 0, running = 0, paused = 0, stopped = 0;
    eng_counts(d->engine, &total, &running, &paused, &stopped);
    struct utsname u;
    uname(&u);
    struct sysinfo si;
    sysinfo(&si);
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    char now[64];
    time_format_rfc3339((int64_t)time(NULL) * 1000000000, now, sizeof(now));
    bool v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
    json_t *regs = json_object();
    json_t *cidrs = json_array();
    json_array_append_new(cidrs, json_string("127.0.0.0/8"));
    for (char **p = d->insecure_registries; p != NULL && *p != NULL; p++)
        json_object_set_new(
            regs, *p,
            json_pack("{s:s, s:[], s:b, s:b}", "Name", *p, "Mirrors", "Secure", 0, "Official", 0));
    json_t *v = json_pack(
        "{s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:s, s:[[s,s]], s:b, s:b, s:b, s:b, s:b, s:b, "
        "s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, "
        "s:i, s:I, s:s, s:s, s:s, s:s, s:{s:o, s:o, s:[], s:[]}}",
        "ID", "berth", "Containers", total, "ContainersRunning", running, "ContainersPaused",
        paused, "ContainersStopped", stopped, "Images", -1, "Driver",
        d->snap != NULL ? img_snap_driver(d->snap) : "overlay", "DockerRootDir", d->root,
        "DriverStatus", "Backing Filesystem", "extfs", "MemoryLimit", 1, "SwapLimit", 1,
        "KernelMemory", 0, "CpuCfsPeriod", 1, "CpuCfsQuota", 1, "CPUShares", 1, "CPUSet", 1,
        "PidsLimit", 1, "IPv4Forwarding", 1, "OomKillDisable", !v2, "NFd", 0, "NGoroutines", 0,
        "SystemTime", now, "LoggingDriver", "json-file", "CgroupDriver", "cgroupfs",
        "NEventsListener", 0, "KernelVersion", u.release, "OperatingSystem", "Linux", "OSType",
        "linux", "Architecture", u.machine, "IndexServerAddress", "https://index.docker.io/v1/",
        "CgroupVersion", v2 ? "2" : "1", "NCPU", (int)sysconf(_SC_NPROCESSORS_ONLN), "MemTotal",
        (json_int_t)si.totalram * si.mem_unit, "Name", host, "ServerVersion", BERTH_VERSION,
        "DefaultRuntime", "berth-runc", "InitBinary", "berth-init", "RegistryConfig",
        "IndexConfigs", regs, "InsecureRegistryCIDRs", cidrs, "Mirrors",
        "AllowNondistributableArtifactsCIDRs");
    json_object_set_new(v, "Runtimes", json_pack("{s:{s:s}}", "berth-runc", "path", "berth-runc"));
    json_object_set_new(v, "Swarm",
                        json_pack("{s:s, s:s, s:s, s:b, s:n}", "NodeID", "", "NodeAddr", "",
                                  "LocalNodeState", "inactive", "ControlAvailable", 0,
                                  "RemoteManagers"));
    json_object_set_new(v, "Labels", json_array());
    json_object_set_new(v, "SecurityOptions",
                        json_pack("[s, s]", "name=seccomp,profile=builtin", "name=cgroupns"));
    json_object_set_new(v, "Warnings", json_array());
    api_reply_json(r, 200, v);
}

/* ---- /events ---- */

struct events_ctx {
    struct ev_sub *sub;
    json_t *filters;
    int64_t until_ns; /* 0: none */
};

static void events_done(void *p)
{
    struct events_ctx *c = p;
    ev_unsubscribe(c->sub);
    json_decref(c->filters);
    free(c);
}

static bool filter_has(json_t *vals, const char *v)
{
    size_t i;
    json_t *x;
    json_array_foreach(vals, i, x)
    {
        if (v != NULL && strcmp(json_string_value(x), v) == 0)
            return true;
    }
    return false;
}

/* Docker's event filters: each key must match one of its values (keys are ANDed). */
static bool event_matches(json_t *filters, json_t *ev)
{
    const char *type = json_string_value(json_object_get(ev, "Type"));
    const char *action = json_string_value(json_object_get(ev, "Action"));
    json_t *actor = json_object_get(ev, "Actor");
    const char *id = json_string_value(json_object_get(actor, "ID"));
    json_t *attrs = json_object_get(actor, "Attributes");
    const char *name = json_string_value(json_object_get(attrs, "name"));
    const char *key;
    json_t *vals;
    json_object_foreach(filters, key, vals)
    {
        if (json_array_size(vals) == 0)
            continue;
        bool ok = false;
        if (strcmp(key, "type") == 0) {
            ok = filter_has(vals, type);
        } else if (strcmp(key, "event") == 0) {
            /* "exec_start" matches "exec_start: sh" */
            size_t i;
            json_t *x;
            json_array_foreach(vals, i, x)
            {
                const char *want = json_string_value(x);
                size_t wl = strlen(want);
                if (action != NULL && strncmp(action, want, wl) == 0 &&
                    (action[wl] == '\0' || action[wl] == ':'))
                    ok = true;
            }
        } else if (strcmp(key, "container") == 0 || strcmp(key, "image") == 0 ||
                   strcmp(key, "volume") == 0 || strcmp(key, "network") == 0) {
            if (strcmp(key, type) == 0 || strcmp(key, "image") == 0) {
                const char *img = json_string_value(json_object_get(attrs, "image"));
                size_t i;
                json_t *x;
                json_array_foreach(vals, i, x)
                {
                    const char *want = json_string_value(x);
                    if ((id != NULL && strncmp(id, want, strlen(want)) == 0) ||
                        (name != NULL && strcmp(name, want) == 0) ||
                        (strcmp(key, "image") == 0 && img != NULL && strcmp(img, want) == 0))
                        ok = true;
                }
            }
        } else if (strcmp(key, "label") == 0) {
            ok = true;
            size_t i;
            json_t *x;
            json_array_foreach(vals, i, x)
            {
                _cleanup_free_ char *kv = xstrdup(json_string_value(x));
                char *eq = strchr(kv, '=');
                if (eq != NULL)
                    *eq++ = '\0';
                const char *have = json_string_value(json_object_get(attrs, kv));
                if (have == NULL || (eq != NULL && strcmp(have, eq) != 0))
                    ok = false;
            }
        } else if (strcmp(key, "scope") == 0) {
            ok = filter_has(vals, "local");
        } else {
            ok = true; /* daemon, node, config...: nothing of those kinds is published */
        }
        if (!ok)
            return false;
    }
    return true;
}

static void events_stream(struct api_stream *s, void *p)
{
    struct events_ctx *c = p;
    bool first = true;
    for (;;) {
        int64_t left_ms = -1;
        /* replayed events (since) go out before an until in the past ends the stream */
        if (c->until_ns > 0 && !first) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
            if (now >= c->until_ns)
                return;
            left_ms = (c->until_ns - now) / 1000000 + 1;
        }
        struct pollfd pf[2] = {{.fd = ev_sub_fd(c->sub), .events = POLLIN},
                               {.fd = api_stream_hangup_fd(s), .events = POLLIN}};
        int n = poll(pf, 2, first ? 0 : left_ms > INT32_MAX ? INT32_MAX : (int)left_ms);
        first = false;
        if (n < 0 && errno != EINTR)
            return;
        if (pf[1].revents != 0)
            return;
        json_t *ev;
        while ((ev = ev_next(c->sub, 0)) != NULL) {
            int64_t tn = json_integer_value(json_object_get(ev, "timeNano"));
            if (c->until_ns > 0 && tn > c->until_ns) {
                json_decref(ev);
                return;
            }
            if (!event_matches(c->filters, ev)) {
                json_decref(ev);
                continue;
            }
            if (api_stream_write_json_line(s, ev) < 0)
                return;
        }
    }
}

static void events(struct api_req *r)
{
    json_t *filters = api_filters(r);
    if (filters == NULL)
        return;
    int64_t since = 0, until = 0;
    const char *sv = api_query(r, "since"), *uv = api_query(r, "until");
    if ((sv != NULL && *sv != '\0' && time_parse_timestamp(sv, &since) < 0) ||
        (uv != NULL && *uv != '\0' && time_parse_timestamp(uv, &until) < 0)) {
        api_reply_error(r, 400, "invalid timestamp in since/until: %s",
                        sv != NULL && time_parse_timestamp(sv, &since) < 0 ? sv : uv);
        return;
    }
    struct events_ctx *c = xcalloc(1, sizeof(*c));
    c->sub = ev_subscribe(api_daemon(r)->events, since);
    c->filters = json_incref(filters);
    c->until_ns = until;
    api_reply_stream(r, 200, "application/json", events_stream, c, events_done);
}

static void system_df(struct api_req *r)
{
    struct api_daemon *d = api_daemon(r);
    _cleanup_berr_ struct berr *err = NULL;
    json_t *images = api_images_df(d, &err);
    if (images == NULL) {
        api_reply_berr(r, err);
        return;
    }
    json_t *ctrs = eng_list(d->engine, true, -1, true, NULL, &err);
    if (ctrs == NULL) {
        json_decref(images);
        api_reply_berr(r, err);
        return;
    }
    json_t *vols = vol_list(d->volumes, NULL, true, &err);
    if (vols == NULL) {
        json_decref(images);
        json_decref(ctrs);
        api_reply_berr(r, err);
        return;
    }
    json_object_set_new(images, "Containers", ctrs);
    json_object_set_new(images, "Volumes", vols);
    json_object_set_new(images, "BuildCache", json_array());
    api_reply_json(r, 200, images);
}

const struct api_route api_system_routes[] = {
    {"GET", "/_ping", ping, 0},    {"GET", "/version", version, 0},     {"GET", "/info", info, 0},
    {"GET", "/events", events, 0}, {"GET", "/system/df", system_df, 0}, {NULL, NULL, NULL, 0},
};
