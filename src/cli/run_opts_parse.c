/* The syntaxes of -v, --mount, --device, --ulimit and -p/--expose, into the HostConfig and
 * Config fields docker's CLI makes of them, with its messages for bad values. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/run_opts.h"
#include "cli/run_opts_internal.h"
#include "common/cleanup.h"
#include "common/human.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* ---- volumes, mounts, tmpfs ---- */

int cli_opts_volumes(struct cli *cli, json_t *config, json_t *hc, struct berr **err)
{
    char *const *vols = cli_list(cli, "volume");
    json_t *binds = json_array(), *anon = json_object();
    for (size_t i = 0; vols && vols[i]; i++) {
        const char *spec = vols[i];
        const char *colon = strchr(spec, ':');
        if (*spec == '\0' || (colon && colon == spec)) {
            json_decref(binds);
            json_decref(anon);
            return berr_code(err, EINVAL, "invalid spec: %s: empty section between colons", spec);
        }
        if (colon == NULL) {
            json_object_set_new(anon, spec, json_object());
            continue;
        }
        /* a relative host path ("./data") is taken from here, as docker does */
        if (spec[0] == '.') {
            char cwd[4096];
            if (getcwd(cwd, sizeof(cwd)) != NULL) {
                _cleanup_free_ char *src = xstrndup(spec, (size_t)(colon - spec));
                _cleanup_free_ char *abs = xasprintf("%s/%s%s", cwd, src, colon);
                json_array_append_new(binds, json_string(abs));
                continue;
            }
        }
        json_array_append_new(binds, json_string(spec));
    }
    if (json_array_size(binds))
        json_object_set(hc, "Binds", binds);
    if (json_object_size(anon))
        json_object_set(config, "Volumes", anon);
    json_decref(binds);
    json_decref(anon);
    return 0;
}

static int mount_bool(const char *v, bool *out)
{
    if (v == NULL) {
        *out = true;
        return 0;
    }
    return cli_parse_go_bool(v, out);
}

/* One --mount: comma-separated key=value fields, as docker's MountOpt reads them. */
static json_t *parse_mount(struct cli *cli, const char *spec, struct berr **err)
{
    _cleanup_json_ json_t *m = json_pack("{s:s}", "Type", "volume");
    json_t *bind = NULL, *vol = NULL, *tmpfs = NULL;
    _cleanup_free_ char *copy = xstrdup(spec);
    char *save = NULL;
    for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(f, '=');
        if (eq)
            *eq = '\0';
        const char *key = f, *val = eq ? eq + 1 : NULL;
        bool b;
        if (strcasecmp(key, "readonly") == 0 || strcasecmp(key, "ro") == 0) {
            if (mount_bool(val, &b) < 0)
                return cli_flag_value_error(cli, "mount", spec, err, "invalid value for %s: %s",
                                            key, val),
                       NULL;
            json_object_set_new(m, "ReadOnly", json_boolean(b));
            continue;
        }
        if (strcasecmp(key, "volume-nocopy") == 0 || strcasecmp(key, "bind-nonrecursive") == 0) {
            if (mount_bool(val, &b) < 0)
                return cli_flag_value_error(cli, "mount", spec, err, "invalid value for %s: %s",
                                            key, val),
                       NULL;
            json_t **holder = key[0] == 'v' ? &vol : &bind;
            if (*holder == NULL)
                *holder = json_object_get(m, key[0] == 'v' ? "VolumeOptions" : "BindOptions");
            if (*holder == NULL) {
                *holder = json_object();
                json_object_set_new(m, key[0] == 'v' ? "VolumeOptions" : "BindOptions", *holder);
            }
            json_object_set_new(*holder, key[0] == 'v' ? "NoCopy" : "NonRecursive",
                                json_boolean(b));
            continue;
        }
        if (val == NULL)
            return cli_flag_value_error(cli, "mount", spec, err,
                                        "invalid field '%s' must be a key=value pair", key),
                   NULL;
        if (strcasecmp(key, "type") == 0) {
            json_object_set_new(m, "Type", json_string(val));
        } else if (strcasecmp(key, "source") == 0 || strcasecmp(key, "src") == 0) {
            json_object_set_new(m, "Source", json_string(val));
        } else if (strcasecmp(key, "target") == 0 || strcasecmp(key, "destination") == 0 ||
                   strcasecmp(key, "dst") == 0) {
            json_object_set_new(m, "Target", json_string(val));
        } else if (strcasecmp(key, "consistency") == 0) {
            json_object_set_new(m, "Consistency", json_string(val));
        } else if (strcasecmp(key, "bind-propagation") == 0) {
            if (bind == NULL && (bind = json_object_get(m, "BindOptions")) == NULL) {
                bind = json_object();
                json_object_set_new(m, "BindOptions", bind);
            }
            json_object_set_new(bind, "Propagation", json_string(val));
        } else if (strncasecmp(key, "volume-", 7) == 0) {
            if (vol == NULL && (vol = json_object_get(m, "VolumeOptions")) == NULL) {
                vol = json_object();
                json_object_set_new(m, "VolumeOptions", vol);
            }
            const char *sub = key + 7;
            if (strcasecmp(sub, "subpath") == 0) {
                json_object_set_new(vol, "Subpath", json_string(val));
            } else if (strcasecmp(sub, "driver") == 0 || strcasecmp(sub, "opt") == 0) {
                json_t *dc = json_object_get(vol, "DriverConfig");
                if (dc == NULL) {
                    dc = json_object();
                    json_object_set_new(vol, "DriverConfig", dc);
                }
                if (strcasecmp(sub, "driver") == 0) {
                    json_object_set_new(dc, "Name", json_string(val));
                } else {
                    json_t *o = json_object_get(dc, "Options");
                    if (o == NULL) {
                        o = json_object();
                        json_object_set_new(dc, "Options", o);
                    }
                    char *const kv[] = {(char *)val, NULL};
                    _cleanup_json_ json_t *one = cli_kv_object(kv);
                    json_object_update(o, one);
                }
            } else if (strcasecmp(sub, "label") == 0) {
                json_t *o = json_object_get(vol, "Labels");
                if (o == NULL) {
                    o = json_object();
                    json_object_set_new(vol, "Labels", o);
                }
                char *const kv[] = {(char *)val, NULL};
                _cleanup_json_ json_t *one = cli_kv_object(kv);
                json_object_update(o, one);
            } else {
                return cli_flag_value_error(cli, "mount", spec, err, "unknown option '%s' in '%s'",
                                            key, f),
                       NULL;
            }
        } else if (strcasecmp(key, "tmpfs-size") == 0 || strcasecmp(key, "tmpfs-mode") == 0) {
            if (tmpfs == NULL) {
                tmpfs = json_object();
                json_object_set_new(m, "TmpfsOptions", tmpfs);
            }
            if (key[6] == 's' || key[6] == 'S') {
                int64_t n;
                if (human_parse_size(val, true, &n, NULL) < 0)
                    return cli_flag_value_error(cli, "mount", spec, err, "invalid value for %s: %s",
                                                key, val),
                           NULL;
                json_object_set_new(tmpfs, "SizeBytes", json_integer(n));
            } else {
                char *end = NULL;
                unsigned long mode = strtoul(val, &end, 8);
                if (end == val || *end)
                    return cli_flag_value_error(cli, "mount", spec, err, "invalid value for %s: %s",
                                                key, val),
                           NULL;
                json_object_set_new(tmpfs, "Mode", json_integer((json_int_t)mode));
            }
        } else {
            return cli_flag_value_error(cli, "mount", spec, err, "unknown option '%s' in '%s'", key,
                                        f),
                   NULL;
        }
    }
    if (json_object_get(m, "Target") == NULL)
        return cli_flag_value_error(cli, "mount", spec, err, "target is required"), NULL;
    return steal_ptr(&m);
}

int cli_opts_mounts(struct cli *cli, json_t *hc, struct berr **err)
{
    char *const *specs = cli_list(cli, "mount");
    if (specs == NULL || specs[0] == NULL)
        return 0;
    _cleanup_json_ json_t *mounts = json_array();
    for (size_t i = 0; specs[i]; i++) {
        json_t *m = parse_mount(cli, specs[i], err);
        if (m == NULL)
            return -1;
        json_array_append_new(mounts, m);
    }
    json_object_set(hc, "Mounts", mounts);
    return 0;
}

/* ---- devices, ulimits, ports ---- */

static bool valid_device_mode(const char *m)
{
    if (*m == '\0' || strlen(m) > 3)
        return false;
    for (const char *c = m; *c; c++)
        if (!strchr("rwm", *c) || strchr(c + 1, *c))
            return false;
    return true;
}

int cli_opts_devices(struct cli *cli, json_t *hc, struct berr **err)
{
    char *const *devs = cli_list(cli, "device");
    if (devs == NULL || devs[0] == NULL)
        return 0;
    _cleanup_json_ json_t *out = json_array();
    for (size_t i = 0; devs[i]; i++) {
        _cleanup_strv_ char **parts = xcalloc(1, sizeof(char *));
        _cleanup_free_ char *copy = xstrdup(devs[i]);
        char *save = NULL;
        for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save))
            strv_append(&parts, t);
        size_t n = strv_length(parts);
        const char *host = n ? parts[0] : "", *ctr = host, *mode = "rwm";
        if (n == 2 && valid_device_mode(parts[1]))
            mode = parts[1];
        else if (n >= 2)
            ctr = parts[1];
        if (n == 3)
            mode = parts[2];
        if (n < 1 || n > 3 || !valid_device_mode(mode))
            return berr_code(err, EINVAL, "bad format for path: %s", devs[i]);
        if (host[0] != '/' || ctr[0] != '/')
            return berr_code(err, EINVAL, "%s is not an absolute path",
                             host[0] != '/' ? host : ctr);
        json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "PathOnHost", host,
                                             "PathInContainer", ctr, "CgroupPermissions", mode));
    }
    json_object_set(hc, "Devices", out);
    return 0;
}

int cli_opts_ulimits(struct cli *cli, json_t *hc, struct berr **err)
{
    static const char *const names[] = {"core",    "cpu",      "data",   "fsize",      "locks",
                                        "memlock", "msgqueue", "nice",   "nofile",     "nproc",
                                        "rss",     "rtprio",   "rttime", "sigpending", "stack"};
    char *const *items = cli_list(cli, "ulimit");
    if (items == NULL || items[0] == NULL)
        return 0;
    _cleanup_json_ json_t *out = json_array();
    for (size_t i = 0; items[i]; i++) {
        const char *u = items[i], *eq = strchr(u, '=');
        if (eq == NULL)
            return cli_flag_value_error(cli, "ulimit", u, err, "invalid ulimit argument: %s", u);
        _cleanup_free_ char *name = xstrndup(u, (size_t)(eq - u));
        bool known = false;
        for (size_t k = 0; k < ARRAY_SIZE(names); k++)
            known |= strcmp(names[k], name) == 0;
        if (!known)
            return cli_flag_value_error(cli, "ulimit", u, err, "invalid ulimit type: %s", name);
        const char *why = NULL;
        int64_t soft, hard;
        _cleanup_free_ char *sv = xstrdup(eq + 1);
        char *colon = strchr(sv, ':');
        if (colon)
            *colon = '\0';
        if (cli_parse_go_int(sv, &soft, &why) < 0 ||
            (colon && cli_parse_go_int(colon + 1, &hard, &why) < 0))
            return cli_flag_value_error(cli, "ulimit", u, err, "invalid ulimit argument: %s", u);
        if (!colon)
            hard = soft;
        if (soft > hard)
            return cli_flag_value_error(
                cli, "ulimit", u, err,
                "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
                (long long)soft, (long long)hard);
        json_array_append_new(out, json_pack("{s:s, s:I, s:I}", "Name", name, "Hard",
                                             (json_int_t)hard, "Soft", (json_int_t)soft));
    }
    json_object_set(hc, "Ulimits", out);
    return 0;
}

/* "80", "8000-8010": first and last port; -1 when invalid. */
static int port_range(const char *s, int *first, int *last)
{
    char *end = NULL;
    long a = strtol(s, &end, 10), b = a;
    if (end == s)
        return -1;
    if (*end == '-') {
        const char *p = end + 1;
        b = strtol(p, &end, 10);
        if (end == p)
            return -1;
    }
    if (*end != '\0' || a < 0 || a > 65535 || b < a || b > 65535)
        return -1;
    *first = (int)a;
    *last = (int)b;
    return 0;
}

/* -p [ip:][hostPort:]containerPort[/proto] with ranges, and --expose. */
int cli_opts_ports(struct cli *cli, json_t *config, json_t *hc, struct berr **err)
{
    _cleanup_json_ json_t *exposed = json_object(), *bindings = json_object();
    char *const *pub = cli_list(cli, "publish");
    for (size_t i = 0; pub && pub[i]; i++) {
        _cleanup_free_ char *spec = xstrdup(pub[i]);
        const char *proto = "tcp";
        char *slash = strrchr(spec, '/');
        if (slash) {
            *slash = '\0';
            proto = slash + 1;
        }
        char *ip = NULL, *hostp = NULL, *ctrp = spec;
        bool bad = false;
        if (spec[0] == '[') {
            char *close = strchr(spec, ']');
            char *colon = close && close[1] == ':' ? strchr(close + 2, ':') : NULL;
            if (colon == NULL) {
                bad = true;
            } else {
                *close = '\0';
                *colon = '\0';
                ip = spec + 1;
                hostp = close + 2;
                ctrp = colon + 1;
            }
        } else {
            char *c1 = strchr(spec, ':');
            char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (c2 && strchr(c2 + 1, ':')) {
                bad = true;
            } else if (c2) {
                *c1 = *c2 = '\0';
                ip = spec;
                hostp = c1 + 1;
                ctrp = c2 + 1;
            } else if (c1) {
                *c1 = '\0';
                hostp = spec;
                ctrp = c1 + 1;
            }
        }
        int cf, cl, hf = 0, hl = 0;
        bool have_host = hostp && *hostp;
        if (bad || port_range(ctrp, &cf, &cl) < 0 ||
            (have_host && port_range(hostp, &hf, &hl) < 0) ||
            (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp")))
            return berr_code(err, EINVAL, "invalid port specification: \"%s\"", pub[i]);
        if (have_host && cl - cf != hl - hf && cf != cl)
            return berr_code(err, EINVAL,
                             "invalid ranges specified for container and host Ports: %s and %s",
                             ctrp, hostp);
        for (int p = cf; p <= cl; p++) {
            _cleanup_free_ char *key = xasprintf("%d/%s", p, proto);
            json_object_set_new(exposed, key, json_object());
            _cleanup_free_ char *hp = !have_host ? xstrdup("")
                                      : cf == cl ? xstrdup(hostp)
                                                 : xasprintf("%d", hf + (p - cf));
            json_t *list = json_object_get(bindings, key);
            if (list == NULL) {
                list = json_array();
                json_object_set_new(bindings, key, list);
            }
            json_array_append_new(list,
                                  json_pack("{s:s, s:s}", "HostIp", ip ? ip : "", "HostPort", hp));
        }
    }
    char *const *exp = cli_list(cli, "expose");
    for (size_t i = 0; exp && exp[i]; i++) {
        _cleanup_free_ char *spec = xstrdup(exp[i]);
        const char *proto = "tcp";
        char *slash = strchr(spec, '/');
        if (slash) {
            *slash = '\0';
            proto = slash + 1;
        }
        int f, l;
        if (port_range(spec, &f, &l) < 0)
            return berr_code(err, EINVAL, "invalid range format for --expose: %s", exp[i]);
        for (int p = f; p <= l; p++) {
            _cleanup_free_ char *key = xasprintf("%d/%s", p, proto);
            json_object_set_new(exposed, key, json_object());
        }
    }
    if (json_object_size(exposed))
        json_object_set(config, "ExposedPorts", exposed);
    if (json_object_size(bindings))
        json_object_set(hc, "PortBindings", bindings);
    return 0;
}
