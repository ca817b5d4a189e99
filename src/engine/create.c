/* Container creation: validate the request fully (name, image, merged config, a trial spec),
 * then make the container's directory, writable layer, image hold and record. A failure at any
 * point leaves nothing behind; a crash leaves a directory without a record, which the next
 * start removes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "engine/engine_internal.h"
#include "engine/specgen.h"
#include "image/gc.h"
#include "image/imagedb.h"
#include "image/snapshot.h"
#include "image/store.h"
#include "volume/mountspec.h"
#include "volume/volume.h"

static const char *const name_left[] = {
    "amber",  "brisk", "calm",   "dapper", "eager",  "fabled", "gentle",  "hardy",
    "ironic", "jolly", "keen",   "lucid",  "mellow", "nimble", "orderly", "placid",
    "quiet",  "rapid", "serene", "tidy",   "upbeat", "vivid",  "wise",    "zesty",
};
static const char *const name_right[] = {
    "anchor", "beacon", "cabin",    "dock",   "estuary", "ferry",   "galley",  "harbor",
    "inlet",  "jetty",  "keel",     "lagoon", "mooring", "narrows", "outpost", "pier",
    "quay",   "rudder", "schooner", "tiller", "wharf",   "yawl",    "bollard", "slip",
};

static void random_hex(char *out, size_t nbytes)
{
    unsigned char buf[32];
    if (getrandom(buf, nbytes, 0) != (ssize_t)nbytes)
        abort();
    for (size_t i = 0; i < nbytes; i++)
        sprintf(out + 2 * i, "%02x", buf[i]);
}

static bool name_valid(const char *n)
{
    if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') ||
          (n[0] >= '0' && n[0] <= '9')))
        return false;
    if (n[1] == '\0')
        return false;
    for (const char *p = n + 1; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            return false;
    }
    return true;
}

/* Under e->mu: the container holding "/name", or NULL. */
static struct ctr *by_name(struct eng *e, const char *slash_name)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(ctr_name(e->ctrs[i]), slash_name) == 0)
            return e->ctrs[i];
    return NULL;
}

/* A free name as Docker makes them ("/adjective_surname", a number added after a few
 * collisions). Under e->mu. */
static char *random_name_locked(struct eng *e, struct berr **err)
{
    for (int tries = 0; tries < 64; tries++) {
        uint32_t r[3];
        if (getrandom(r, sizeof(r), 0) != sizeof(r))
            abort();
        const char *l = name_left[r[0] % ARRAY_SIZE(name_left)];
        const char *rt = name_right[r[1] % ARRAY_SIZE(name_right)];
        char *cand = tries < 16 ? xasprintf("/%s_%s", l, rt)
                                : xasprintf("/%s_%s%u", l, rt, (unsigned)(r[2] % 100));
        if (by_name(e, cand) == NULL)
            return cand;
        free(cand);
    }
    return berr_code(err, EEXIST, "could not find a free container name"), NULL;
}

/* Checks name (NULL: generate one) and returns "/name" reserved in the table under e->mu by
 * the caller adding its record before releasing; here only the check. */
static char *pick_name(struct eng *e, const char *name, struct berr **err)
{
    if (name != NULL && *name != '\0') {
        const char *n = name[0] == '/' ? name + 1 : name;
        if (!name_valid(n))
            return berr_code(err, EINVAL,
                             "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                             "allowed",
                             name),
                   NULL;
        return xasprintf("/%s", n);
    }
    pthread_mutex_lock(&e->mu);
    char *cand = random_name_locked(e, err);
    pthread_mutex_unlock(&e->mu);
    return cand;
}

/* The image's OCI config object ("config" of the config blob); NULL when it has none. */
static json_t *image_config(struct eng *e, const struct img_record *rec, struct berr **err)
{
    size_t len = 0;
    _cleanup_free_ char *blob = img_blob_read(e->store, rec->id, 16 << 20, &len, err);
    if (blob == NULL)
        return NULL;
    json_error_t je;
    _cleanup_json_ json_t *cfg = json_loadb(blob, len, 0, &je);
    if (cfg == NULL)
        return berr_code(err, EINVAL, "image %s: config: %s", rec->id, je.text), NULL;
    json_t *c = json_object_get(cfg, "config");
    return json_is_object(c) ? json_incref(c) : json_object();
}

static json_t *empty_state(void)
{
    return json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status", "created",
                     "Running", 0, "Paused", 0, "Restarting", 0, "OOMKilled", 0, "Dead", 0, "Pid",
                     0, "ExitCode", 0, "Error", "", "StartedAt", "0001-01-01T00:00:00Z",
                     "FinishedAt", "0001-01-01T00:00:00Z");
}

/* Docker's defaults for what the client left out, as inspect shows them. */
static json_t *normalize_host_config(json_t *hc_in, json_t *warnings)
{
    json_t *hc = json_is_object(hc_in) ? json_deep_copy(hc_in) : json_object();
    const char *nm = json_string_value(json_object_get(hc, "NetworkMode"));
    if (nm == NULL || *nm == '\0')
        json_object_set_new(hc, "NetworkMode", json_string("default"));
    nm = json_string_value(json_object_get(hc, "NetworkMode"));
    if (strcmp(nm, "default") == 0 || strcmp(nm, "bridge") == 0)
        json_array_append_new(warnings,
                              json_string("bridge networking is not available yet in berth: the "
                                          "container gets its own network namespace with only "
                                          "a loopback interface"));
    json_t *pb = json_object_get(hc, "PortBindings");
    bool publish = (json_is_object(pb) && json_object_size(pb) > 0) ||
                   json_is_true(json_object_get(hc, "PublishAllPorts"));
    if (publish && strcmp(nm, "host") == 0) {
        json_array_append_new(warnings, json_string("Published ports are discarded when using "
                                                    "host network mode"));
    } else if (publish) {
        _cleanup_free_ char *keys = NULL;
        const char *k;
        json_t *v;
        json_object_foreach(pb, k, v)
        {
            char *more = xasprintf("%s%s%s", keys ? keys : "", keys ? ", " : "", k);
            free(keys);
            keys = more;
        }
        _cleanup_free_ char *msg = xasprintf(
            "port publishing is not available yet in berth (it comes with bridge networking): "
            "%s %s not published on the host",
            keys ? keys : "the exposed ports", keys && !strchr(keys, ',') ? "is" : "are");
        json_array_append_new(warnings, json_string(msg));
    }
    json_t *lc = json_object_get(hc, "LogConfig");
    if (!json_is_object(lc)) {
        json_object_set_new(hc, "LogConfig",
                            json_pack("{s:s, s:{}}", "Type", "json-file", "Config"));
    } else if (!json_is_string(json_object_get(lc, "Type")) ||
               *json_string_value(json_object_get(lc, "Type")) == '\0') {
        json_object_set_new(lc, "Type", json_string("json-file"));
    }
    if (!json_is_object(json_object_get(json_object_get(hc, "LogConfig"), "Config")))
        json_object_set_new(json_object_get(hc, "LogConfig"), "Config", json_object());
    json_t *rp = json_object_get(hc, "RestartPolicy");
    if (!json_is_object(rp)) {
        json_object_set_new(hc, "RestartPolicy",
                            json_pack("{s:s, s:i}", "Name", "no", "MaximumRetryCount", 0));
    } else {
        const char *n = json_string_value(json_object_get(rp, "Name"));
        if (n == NULL || *n == '\0')
            json_object_set_new(rp, "Name", json_string("no"));
    }
    if (json_integer_value(json_object_get(hc, "ShmSize")) <= 0)
        json_object_set_new(hc, "ShmSize", json_integer(67108864));
    if (!json_is_string(json_object_get(hc, "IpcMode")) ||
        *json_string_value(json_object_get(hc, "IpcMode")) == '\0')
        json_object_set_new(hc, "IpcMode", json_string("private"));
    /* Docker's default: a private cgroup namespace on cgroup v2, the host's on v1 and hybrid */
    const char *cgns = json_string_value(json_object_get(hc, "CgroupnsMode"));
    if (cgns == NULL || *cgns == '\0')
        json_object_set_new(hc, "CgroupnsMode",
                            json_string(eng_cgroup_unified(NULL) ? "private" : "host"));
    return hc;
}

static int check_restart_policy(json_t *hc, struct berr **err)
{
    json_t *rp = json_object_get(hc, "RestartPolicy");
    const char *n = json_string_value(json_object_get(rp, "Name"));
    json_int_t max = json_integer_value(json_object_get(rp, "MaximumRetryCount"));
    if (strcmp(n, "no") != 0 && strcmp(n, "always") != 0 && strcmp(n, "unless-stopped") != 0 &&
        strcmp(n, "on-failure") != 0)
        return berr_code(err, EINVAL,
                         "invalid restart policy: unknown policy '%s'; use one of "
                         "'no', 'always', 'on-failure' or 'unless-stopped'",
                         n);
    if (max < 0)
        return berr_code(err, EINVAL,
                         "invalid restart policy: maximum retry count can't be "
                         "negative");
    if (max > 0 && strcmp(n, "on-failure") != 0)
        return berr_code(err, EINVAL,
                         "invalid restart policy: maximum retry count can only be "
                         "used with 'on-failure'");
    if (json_is_true(json_object_get(hc, "AutoRemove")) && strcmp(n, "no") != 0)
        return berr_code(err, EINVAL,
                         "conflicting options: cannot specify both --restart and "
                         "--rm");
    return 0;
}

/* The process to run: Entrypoint + Cmd. */
static int process_args(json_t *config, json_t **path, json_t **args, struct berr **err)
{
    json_t *all = json_array();
    json_t *ep = json_object_get(config, "Entrypoint"), *cmd = json_object_get(config, "Cmd");
    if (json_is_array(ep))
        json_array_extend(all, ep);
    if (json_is_array(cmd))
        json_array_extend(all, cmd);
    if (json_array_size(all) == 0) {
        json_decref(all);
        return berr_code(err, EINVAL, "no command specified");
    }
    *path = json_incref(json_array_get(all, 0));
    json_array_remove(all, 0);
    *args = all;
    return 0;
}

int eng_create(struct eng *e, const char *name, json_t *body, char *id_out, json_t *warnings,
               struct berr **err)
{
    if (!json_is_object(body))
        return berr_code(err, EINVAL, "config cannot be empty in order to create a container");
    const char *image = json_string_value(json_object_get(body, "Image"));
    if (image == NULL || *image == '\0')
        return berr_code(err, EINVAL, "No command specified");
    _cleanup_free_ char *slash_name = pick_name(e, name, err);
    if (slash_name == NULL)
        return -1;

    /* the image: resolved and held under a GC lease so its layers cannot go meanwhile */
    _cleanup_close_ int lease = img_gc_lease(e->store, err);
    if (lease < 0)
        return -1;
    _cleanup_(img_db_freep) struct img_db *db = NULL;
    if (img_db_load(e->store, &db, err) < 0)
        return -1;
    struct img_record *rec = NULL;
    if (img_db_resolve(db, image, &rec, err) < 0)
        return -1;
    _cleanup_json_ json_t *img_cfg = image_config(e, rec, err);
    if (img_cfg == NULL)
        return -1;
    _cleanup_json_ json_t *config = eng_config_merge(img_cfg, body, err);
    if (config == NULL)
        return -1;
    json_object_set_new(config, "Image", json_string(image));
    _cleanup_json_ json_t *hc =
        normalize_host_config(json_object_get(body, "HostConfig"), warnings);
    if (check_restart_policy(hc, err) < 0)
        return -1;
    json_t *path = NULL, *args = NULL;
    if (process_args(config, &path, &args, err) < 0)
        return -1;
    _cleanup_json_ json_t *path_ref = path, *args_ref = args;
    const char *chain = rec->n_layers > 0 ? rec->layers[rec->n_layers - 1].chain_id : NULL;

    char id[65];
    random_hex(id, 32);
    struct ctr *c = xcalloc(1, sizeof(*c));
    c->refs = 1;
    c->monitor_pidfd = -1;
    pthread_mutex_init(&c->op, NULL);
    memcpy(c->id, id, sizeof(id));
    _cleanup_free_ char *dir = ctr_path(e, c, NULL);
    _cleanup_free_ char *upper = xasprintf("%s/fs/upper", dir);
    _cleanup_free_ char *work = xasprintf("%s/fs/work", dir);
    _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
    _cleanup_free_ char *hold = xasprintf("ctr-%s", id);
    bool held = false, mounted = false, volumes = false;
    _cleanup_json_ json_t *oci_mounts = NULL, *inspect_mounts = NULL;

    if (mkdir(dir, 0710) < 0) {
        berr_sys(err, "create %s", dir);
        goto fail_free;
    }
    if (mkdir_p(upper, 0755, err) < 0 || mkdir_p(work, 0700, err) < 0 ||
        mkdir_p(rootfs, 0755, err) < 0)
        goto fail;
    if (img_hold_add(e->store, hold, rec->id, err) < 0)
        goto fail;
    held = true;
    /* a trial spec, so that a bad request fails at create as with Docker; it needs the root
     * filesystem for users and groups, and start will want it mounted anyway */
    if (img_snap_mount_rw(e->snap, chain, upper, work, rootfs, err) < 0)
        goto fail;
    mounted = true;
    {
        _cleanup_close_ int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0) {
            berr_sys(err, "open %s", rootfs);
            goto fail;
        }
        /* volumes are created, held and seeded now, as Docker does: `docker volume rm` of one
         * a created container names is refused, and the copy-up sees the image as it was */
        if (vol_resolve_mounts(e->volumes, hc, json_object_get(config, "Volumes"), rfd, id,
                               &oci_mounts, &inspect_mounts, err) < 0)
            goto fail;
        volumes = true;
        struct eng_spec_ctx sc = {.id = id,
                                  .rootfs = rootfs,
                                  .rootfs_fd = rfd,
                                  .hostname = id,
                                  .init_path = e->init,
                                  .mounts = oci_mounts};
        json_t *trial = eng_spec_generate(config, hc, &sc, err);
        if (trial == NULL)
            goto fail;
        json_decref(trial);
    }

    char now[64];
    time_format_rfc3339(time_now_ns(), now, sizeof(now));
    c->rec = json_pack(
        "{s:s, s:s, s:O, s:O, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, "
        "s:n, s:O, s:{s:{s:s, s:s, s:s}, s:s}, s:O, s:O, s:{s:s, s:s, s:{}, s:{}}, "
        "s:{s:s, s:i}}",
        "Id", id, "Created", now, "Path", path, "Args", args, "State", empty_state(), "Image",
        rec->id, "ResolvConfPath", "", "HostnamePath", "", "HostsPath", "", "LogPath", "", "Name",
        slash_name, "RestartCount", 0, "Driver", img_snap_driver(e->snap), "Platform", "linux",
        "MountLabel", "", "ProcessLabel", "", "AppArmorProfile", "", "ExecIDs", "HostConfig", hc,
        "GraphDriver", "Data", "LowerDir", "", "UpperDir", upper, "WorkDir", work, "Name",
        strcmp(img_snap_driver(e->snap), "overlay") == 0 ? "overlay2" : "vfs", "Mounts",
        inspect_mounts, "Config", config, "NetworkSettings", "Bridge", "", "SandboxID", "", "Ports",
        "Networks", "Berth", "ChainID", chain != NULL ? chain : "", "MonitorPid", 0);
    if (c->rec == NULL)
        abort();
    {
        _cleanup_free_ char *logp = xasprintf("%s/%s-json.log", dir, id);
        json_object_set_new(c->rec, "LogPath", json_string(logp));
    }
    /* the name is checked again and taken under the table's lock with the record saved */
    pthread_mutex_lock(&e->mu);
    struct ctr *holder = by_name(e, slash_name);
    if (holder != NULL && (name == NULL || *name == '\0')) {
        /* a generated name another create took meanwhile: generate again, as Docker retries */
        char *again = random_name_locked(e, err);
        if (again == NULL) {
            pthread_mutex_unlock(&e->mu);
            goto fail;
        }
        free(slash_name);
        slash_name = again;
        json_object_set_new(c->rec, "Name", json_string(slash_name));
        holder = NULL;
    }
    if (holder != NULL) {
        berr_code(err, EEXIST,
                  "Conflict. The container name \"%s\" is already in use by container \"%s\". "
                  "You have to remove (or rename) that container to be able to reuse that name.",
                  slash_name, holder->id);
        pthread_mutex_unlock(&e->mu);
        goto fail;
    }
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->ctrs = xrealloc(e->ctrs, e->cap * sizeof(*e->ctrs));
    }
    e->ctrs[e->n++] = c;
    c->refs++; /* ours, until the record is on disk */
    pthread_mutex_unlock(&e->mu);
    if (ctr_save(e, c, err) < 0) {
        eng_drop(e, c);
        ctr_unref(e, c);
        if (mounted)
            umount2(rootfs, MNT_DETACH);
        vol_release_container(e->volumes, id, true, NULL);
        img_hold_remove(e->store, hold, NULL);
        rm_rf_at(AT_FDCWD, dir, NULL);
        return -1;
    }
    ctr_unref(e, c);
    memcpy(id_out, id, 65);
    eng_event(e, c, "create", NULL);
    return 0;

fail:
    if (mounted)
        umount2(rootfs, MNT_DETACH);
    if (volumes)
        vol_release_container(e->volumes, id, true, NULL);
    if (held)
        img_hold_remove(e->store, hold, NULL);
    rm_rf_at(AT_FDCWD, dir, NULL);
fail_free:
    json_decref(c->rec);
    pthread_mutex_destroy(&c->op);
    free(c);
    return -1;
}
