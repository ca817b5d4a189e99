/* The volume store: one directory per volume under <root>/volumes, Docker's local driver
 * (names, options, mounting type/device/o on _data), holds as files, list filters and prune.
 * Every change happens under one lock (a mutex for this process, flock on volumes/.lock for
 * others); a volume appears by renaming a complete staging directory and goes by renaming it
 * away first, so lock-free readers never see half a volume. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/filters.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "engine/events.h"
#include "volume/volume.h"

#define OPTS_FILE    "opts.json"
#define SEEDED_FILE  "seeded"
#define OPTS_MAX     (1 << 20)
#define NAME_MAX_LEN 255
#define CID_MAX_LEN  128
#define STAGING_TMP  ".tmp-"
#define STAGING_RM   ".rm-"
#define NAME_CHARS   "[a-zA-Z0-9][a-zA-Z0-9_.-]"

struct vol_store {
    char *dir; /* <root>/volumes */
    int dir_fd;
    int lock_fd;
    pthread_mutex_t mu;
    atomic_bool pruning;
    struct ev_bus *events;
    vol_container_lookup_fn lookup;
    void *lookup_ctx;
};

/* ---- locking ---- */

static struct vol_store *store_lock(struct vol_store *vs)
{
    pthread_mutex_lock(&vs->mu);
    while (flock(vs->lock_fd, LOCK_EX) < 0 && errno == EINTR)
        ;
    return vs;
}

static void store_unlockp(struct vol_store **p)
{
    if (*p == NULL)
        return;
    flock((*p)->lock_fd, LOCK_UN);
    pthread_mutex_unlock(&(*p)->mu);
    *p = NULL;
}

#define STORE_LOCKED(vs) _cleanup_(store_unlockp) struct vol_store *locked_ = store_lock(vs)

/* ---- names ---- */

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Go's %q for the names Docker quotes in its messages. */
static char *go_quote(const char *s)
{
    size_t n = strlen(s);
    char *out = xmalloc(n * 4 + 3), *p = out;
    *p++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            p += sprintf(p, "\\%c", c);
        else if (c == '\n')
            p += sprintf(p, "\\n");
        else if (c == '\t')
            p += sprintf(p, "\\t");
        else if (c < 0x20 || c == 0x7f)
            p += sprintf(p, "\\x%02x", c);
        else
            *p++ = (char)c;
    }
    *p++ = '"';
    *p = 0;
    return out;
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n < 2 || n > NAME_MAX_LEN || !is_alnum(name[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_alnum(name[i]) && name[i] != '_' && name[i] != '.' && name[i] != '-')
            return false;
    return true;
}

int vol_validate_name(const char *name, struct berr **err)
{
    if (name_ok(name))
        return 0;
    if (strlen(name) == 1)
        return berr_code(err, EINVAL,
                         "create %s: volume name is too short, names should be at least two "
                         "alphanumeric characters",
                         name);
    if (strlen(name) > NAME_MAX_LEN)
        return berr_code(err, EINVAL, "create %.64s...: volume name is longer than %d characters",
                         name, NAME_MAX_LEN);
    _cleanup_free_ char *q = go_quote(name);
    return berr_code(err, EINVAL,
                     "create %s: %s includes invalid characters for a local volume name, only "
                     "\"" NAME_CHARS "\" are allowed. If you intended to pass a host directory, "
                     "use absolute path",
                     name, q);
}

/* Container ids name hold files: the same alphabet as volume names keeps them inside holds/. */
static int check_cid(const char *cid, struct berr **err)
{
    size_t n = strlen(cid);
    bool ok = n > 0 && n <= CID_MAX_LEN && is_alnum(cid[0]);
    for (size_t i = 1; ok && i < n; i++)
        ok = is_alnum(cid[i]) || cid[i] == '_' || cid[i] == '.' || cid[i] == '-';
    if (!ok)
        return berr_code(err, EINVAL, "invalid container id %s for a volume hold", cid);
    return 0;
}

static void random_hex(char *out, size_t bytes)
{
    unsigned char buf[64];
    size_t got = 0;
    while (got < bytes) {
        ssize_t r = getrandom(buf + got, bytes - got, 0);
        if (r < 0 && errno != EINTR)
            abort(); /* getrandom never fails on a kernel that has it, short of EINTR */
        if (r > 0)
            got += (size_t)r;
    }
    for (size_t i = 0; i < bytes; i++)
        sprintf(out + 2 * i, "%02x", buf[i]);
}

static int no_such_volume(const char *name, struct berr **err)
{
    return berr_code(err, ENOENT, "get %s: no such volume", name);
}

/* ---- open, sweep ---- */

static int open_subdir(int dirfd, const char *name)
{
    return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static DIR *open_dir_stream(int dirfd, const char *path)
{
    int fd = open_subdir(dirfd, path);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL && fd >= 0)
        close(fd);
    return d;
}

static void sweep_staging(struct vol_store *vs)
{
    _cleanup_(closedirp) DIR *d = open_dir_stream(vs->dir_fd, ".");
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, STAGING_TMP, strlen(STAGING_TMP)) != 0 &&
            strncmp(de->d_name, STAGING_RM, strlen(STAGING_RM)) != 0)
            continue;
        _cleanup_berr_ struct berr *e = NULL;
        if (rm_rf_at(vs->dir_fd, de->d_name, &e) < 0)
            log_warn("volumes: cannot remove leftover %s/%s: %s", vs->dir, de->d_name, e->msg);
    }
}

int vol_store_open(const char *root, struct ev_bus *events, struct vol_store **out,
                   struct berr **err)
{
    _cleanup_free_ char *dir = xasprintf("%s/volumes", root);
    if (mkdir_p(dir, 0701, err) < 0)
        return berr_wrap(err, "volume store");
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return berr_sys(err, "volume store: open %s", dir);
    _cleanup_close_ int lfd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lfd < 0)
        return berr_sys(err, "volume store: open %s/.lock", dir);
    struct vol_store *vs = xzalloc(sizeof(*vs));
    vs->dir = steal_ptr(&dir);
    vs->dir_fd = steal_fd(&dfd);
    vs->lock_fd = steal_fd(&lfd);
    vs->events = events;
    pthread_mutex_init(&vs->mu, NULL);
    {
        STORE_LOCKED(vs);
        sweep_staging(vs);
    }
    *out = vs;
    return 0;
}

void vol_store_free(struct vol_store *vs)
{
    if (vs == NULL)
        return;
    close(vs->dir_fd);
    close(vs->lock_fd);
    pthread_mutex_destroy(&vs->mu);
    free(vs->dir);
    free(vs);
}

void vol_store_freep(struct vol_store **vs)
{
    vol_store_free(*vs);
    *vs = NULL;
}

void vol_store_set_container_lookup(struct vol_store *vs, vol_container_lookup_fn fn, void *ctx)
{
    vs->lookup = fn;
    vs->lookup_ctx = ctx;
}

int vol_lookup_container(struct vol_store *vs, const char *name_or_id, char **id, json_t **mounts,
                         struct berr **err)
{
    if (vs->lookup == NULL)
        return berr_code(err, EINVAL, "volumes-from %s: no container lookup configured",
                         name_or_id);
    return vs->lookup(vs->lookup_ctx, name_or_id, id, mounts, err);
}

/* ---- one volume on disk ---- */

/* The volume's directory, or -1 with ENOENT's message when there is no such volume. */
static int open_volume(struct vol_store *vs, const char *name, struct berr **err)
{
    if (!name_ok(name))
        return no_such_volume(name, err);
    int fd = open_subdir(vs->dir_fd, name);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return no_such_volume(name, err);
        return berr_sys(err, "get %s", name);
    }
    return fd;
}

static char *format_time(time_t t)
{
    struct tm tm;
    char buf[64];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return xstrdup(buf);
}

static char *data_path(struct vol_store *vs, const char *name)
{
    return xasprintf("%s/%s/_data", vs->dir, name);
}

/* opts.json; a directory with only _data (written by something else) reads as a plain local
 * volume created when the directory was. */
static json_t *load_meta(int vfd, const char *name, struct berr **err)
{
    _cleanup_berr_ struct berr *e = NULL;
    _cleanup_free_ char *buf = read_file_at(vfd, OPTS_FILE, OPTS_MAX, NULL, &e);
    if (buf == NULL) {
        struct stat st;
        if (e->errnum != ENOENT || fstatat(vfd, "_data", &st, AT_SYMLINK_NOFOLLOW) < 0)
            return berr_code(err, e->errnum ? e->errnum : EIO, "volume %s: %s", name, e->msg), NULL;
        if (fstat(vfd, &st) < 0)
            return berr_sys(err, "volume %s", name), NULL;
        _cleanup_free_ char *created = format_time(st.st_ctime);
        return json_pack("{s:s, s:n, s:n, s:s, s:b}", "Driver", "local", "DriverOpts", "Labels",
                         "CreatedAt", created, "Anonymous", 0);
    }
    json_error_t je;
    json_t *meta = json_loads(buf, 0, &je);
    if (meta == NULL)
        return berr_code(err, EIO, "volume %s: %s is corrupt: %s", name, OPTS_FILE, je.text), NULL;
    if (!json_is_object(meta)) {
        json_decref(meta);
        return berr_code(err, EIO, "volume %s: %s is not an object", name, OPTS_FILE), NULL;
    }
    return meta;
}

static json_t *meta_opts(json_t *meta)
{
    json_t *o = json_object_get(meta, "DriverOpts");
    return json_is_object(o) ? o : NULL;
}

/* Docker's local driver mounts only volumes created with a type or a device. */
static bool needs_mount(json_t *meta)
{
    json_t *o = meta_opts(meta);
    return o && (json_object_get(o, "type") || json_object_get(o, "device"));
}

static bool is_mountpoint(int vfd, const char *path)
{
    struct statx a, b;
    if (statx(vfd, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_MNT_ID, &a) < 0)
        return false;
    if (a.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
        return (a.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
    if (statx(vfd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_MNT_ID, &b) < 0)
        return false;
    if ((a.stx_mask & STATX_MNT_ID) && (b.stx_mask & STATX_MNT_ID))
        return a.stx_mnt_id != b.stx_mnt_id;
    return a.stx_dev_major != b.stx_dev_major || a.stx_dev_minor != b.stx_dev_minor;
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **list_holds(int vfd)
{
    char **out = xzalloc(sizeof(char *));
    _cleanup_(closedirp) DIR *d = open_dir_stream(vfd, "holds");
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            strv_append(&out, de->d_name);
    qsort(out, strv_length(out), sizeof(char *), cmp_strp);
    return out;
}

static int64_t data_size(int vfd)
{
    _cleanup_close_ int dfd = open_subdir(vfd, "_data");
    return dfd < 0 ? -1 : vol_tree_size(dfd);
}

static json_t *inspect_json(struct vol_store *vs, const char *name, int vfd, json_t *meta,
                            bool usage)
{
    json_t *labels = json_object_get(meta, "Labels");
    json_t *opts = json_object_get(meta, "DriverOpts");
    const char *created = json_string_value(json_object_get(meta, "CreatedAt"));
    _cleanup_free_ char *mountpoint = data_path(vs, name);
    json_t *v =
        json_pack("{s:s, s:s, s:O, s:s, s:s, s:O, s:s}", "CreatedAt", created ? created : "",
                  "Driver", "local", "Labels", labels ? labels : json_null(), "Mountpoint",
                  mountpoint, "Name", name, "Options", opts ? opts : json_null(), "Scope", "local");
    if (usage) {
        int64_t size = needs_mount(meta) ? -1 : data_size(vfd);
        _cleanup_strv_ char **holds = list_holds(vfd);
        json_object_set_new(v, "UsageData",
                            json_pack("{s:I, s:I}", "Size", (json_int_t)size, "RefCount",
                                      (json_int_t)strv_length(holds)));
    }
    return v;
}

/* ---- create ---- */

static int check_string_map(json_t *m, const char *what, struct berr **err)
{
    if (m == NULL || json_is_null(m))
        return 0;
    if (!json_is_object(m))
        return berr_code(err, EINVAL, "%s must be an object of strings", what);
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v)
    {
        if (!json_is_string(v))
            return berr_code(err, EINVAL, "%s: the value of %s must be a string", what, k);
    }
    return 0;
}

/* Docker's local driver: type, device, o (and size, which needs quota support we lack). */
static int check_local_opts(json_t *opts, struct berr **err)
{
    if (opts == NULL || json_object_size(opts) == 0)
        return 0;
    static const char *const known[] = {"type", "o", "device", "size", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(opts, k, v)
    {
        if (!strv_contains((char *const *)known, k)) {
            _cleanup_free_ char *q = go_quote(k);
            return berr_code(err, EINVAL, "invalid option: %s", q);
        }
    }
    const char *size = json_string_value(json_object_get(opts, "size"));
    if (size) {
        char *end = NULL;
        double n = strtod(size, &end);
        if (end == size || n < 0)
            return berr_code(err, EINVAL, "invalid size: '%s'", size);
        if (n > 0)
            return berr_code(err, EINVAL, "quota size requested but no quota support");
    }
    static const struct {
        const char *opt, *needs[2];
    } required[] = {
        {"device", {"type", NULL}},
        {"type", {"device", NULL}},
        {"o", {"device", "type"}},
    };
    for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
        if (!json_object_get(opts, required[i].opt))
            continue;
        for (size_t j = 0; j < 2 && required[i].needs[j]; j++)
            if (!json_object_get(opts, required[i].needs[j]))
                return berr_code(err, EINVAL, "missing required option: \"%s\"",
                                 required[i].needs[j]);
    }
    return 0;
}

static int write_hold(int vfd, const char *cid, struct berr **err)
{
    if (mkdirat(vfd, "holds", 0700) < 0 && errno != EEXIST)
        return berr_sys(err, "mkdir holds");
    _cleanup_close_ int hfd = open_subdir(vfd, "holds");
    if (hfd < 0)
        return berr_sys(err, "open holds");
    int fd = openat(hfd, cid, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : berr_sys(err, "hold %s", cid);
    fsync(fd);
    close(fd);
    fsync(hfd);
    return 1;
}

static json_t *create_locked(struct vol_store *vs, const char *name, json_t *opts, json_t *labels,
                             bool anonymous, const char *hold_for, bool *created, struct berr **err)
{
    if (vol_validate_name(name, err) < 0)
        return NULL;
    _cleanup_close_ int vfd = open_subdir(vs->dir_fd, name);
    if (vfd >= 0) {
        _cleanup_json_ json_t *meta = load_meta(vfd, name, err);
        if (meta == NULL)
            return berr_wrap(err, "create %s", name), NULL;
        if (hold_for && write_hold(vfd, hold_for, err) < 0)
            return berr_wrap(err, "create %s", name), NULL;
        return inspect_json(vs, name, vfd, meta, false);
    }
    if (check_local_opts(opts, err) < 0)
        return berr_wrap(err, "create %s", name), NULL;

    char staging[sizeof(STAGING_TMP) + 16];
    memcpy(staging, STAGING_TMP, sizeof(STAGING_TMP) - 1);
    random_hex(staging + sizeof(STAGING_TMP) - 1, 8);
    if (mkdirat(vs->dir_fd, staging, 0701) < 0)
        return berr_sys(err, "create %s: mkdir %s/%s", name, vs->dir, staging), NULL;
    _cleanup_close_ int sfd = open_subdir(vs->dir_fd, staging);
    _cleanup_free_ char *now = format_time(time(NULL));
    _cleanup_json_ json_t *meta = json_pack(
        "{s:s, s:O, s:O, s:s, s:b}", "Driver", "local", "DriverOpts", opts ? opts : json_null(),
        "Labels", labels ? labels : json_null(), "CreatedAt", now, "Anonymous", anonymous);
    _cleanup_free_ char *text = json_dumps(meta, JSON_SORT_KEYS);
    int r = -1;
    if (sfd < 0)
        berr_sys(err, "open %s", staging);
    else if (mkdirat(sfd, "_data", 0755) < 0 || fchmodat(sfd, "_data", 0755, 0) < 0)
        berr_sys(err, "mkdir _data");
    else if (mkdirat(sfd, "holds", 0700) < 0)
        berr_sys(err, "mkdir holds");
    else if (hold_for && write_hold(sfd, hold_for, err) < 0)
        ;
    else if (write_file_atomic_at(sfd, OPTS_FILE, text, strlen(text), 0600, err) < 0)
        ;
    else if (renameat2(vs->dir_fd, staging, vs->dir_fd, name, RENAME_NOREPLACE) < 0)
        berr_sys(err, "rename to %s/%s", vs->dir, name);
    else
        r = 0;
    if (r < 0) {
        rm_rf_at(vs->dir_fd, staging, NULL);
        return berr_wrap(err, "create %s", name), NULL;
    }
    fsync(vs->dir_fd);
    if (created)
        *created = true;
    return inspect_json(vs, name, sfd, meta, false);
}

static void publish(struct vol_store *vs, const char *action, const char *name, json_t *attrs)
{
    if (vs->events)
        ev_publish(vs->events, "volume", action, name, attrs);
    else
        json_decref(attrs);
}

json_t *vol_create(struct vol_store *vs, const char *name, const char *driver, json_t *driver_opts,
                   json_t *labels, const char *hold_for, bool *created, struct berr **err)
{
    char anon[65];
    bool anonymous = name == NULL || *name == 0;
    if (anonymous) {
        random_hex(anon, 32);
        name = anon;
    }
    if (created)
        *created = false;
    if (driver && *driver && strcmp(driver, "local") != 0)
        return berr_code(err, ENOENT,
                         "create %s: error looking up volume plugin %s: plugin \"%s\" not found",
                         name, driver, driver),
               NULL;
    if (check_string_map(driver_opts, "DriverOpts", err) < 0 ||
        check_string_map(labels, "Labels", err) < 0)
        return berr_wrap(err, "create %s", name), NULL;
    if (hold_for && check_cid(hold_for, err) < 0)
        return NULL;
    _cleanup_json_ json_t *lab = NULL;
    if (json_is_object(labels))
        lab = json_deep_copy(labels);
    if (anonymous) {
        if (lab == NULL)
            lab = json_object();
        json_object_set_new(lab, VOL_ANON_LABEL, json_string(""));
    }
    _cleanup_json_ json_t *opts = json_is_object(driver_opts) ? json_deep_copy(driver_opts) : NULL;
    bool is_new = false;
    json_t *v;
    {
        STORE_LOCKED(vs);
        v = create_locked(vs, name, opts, lab, anonymous, hold_for, &is_new, err);
    }
    if (v && is_new)
        publish(vs, "create", name, json_pack("{s:s}", "driver", "local"));
    if (created)
        *created = is_new;
    return v;
}

/* ---- get, list ---- */

json_t *vol_get(struct vol_store *vs, const char *name, bool usage, struct berr **err)
{
    _cleanup_close_ int vfd = open_volume(vs, name, err);
    if (vfd < 0)
        return NULL;
    _cleanup_json_ json_t *meta = load_meta(vfd, name, err);
    if (meta == NULL)
        return NULL;
    return inspect_json(vs, name, vfd, meta, usage);
}

/* Every volume name on disk, sorted. */
static char **volume_names(struct vol_store *vs)
{
    char **out = xzalloc(sizeof(char *));
    _cleanup_(closedirp) DIR *d = open_dir_stream(vs->dir_fd, ".");
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (name_ok(de->d_name) && (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN))
            strv_append(&out, de->d_name);
    qsort(out, strv_length(out), sizeof(char *), cmp_strp);
    return out;
}

static const char *const list_filters[] = {"dangling", "driver", "label", "name", NULL};
static const char *const prune_filters[] = {"label", "label!", "all", NULL};

static char *values_text(json_t *vals)
{
    _cleanup_free_ char *s = xstrdup("[");
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v)
    {
        char *n = xasprintf("%s%s%s", s, i ? " " : "", json_string_value(v));
        free(s);
        s = n;
    }
    return xasprintf("%s]", s);
}

static int check_filters(json_t *filters, const char *const *accepted, struct berr **err)
{
    if (filters == NULL)
        return 0;
    if (!json_is_object(filters))
        return berr_code(err, EINVAL, "invalid filter: filters must be an object");
    const char *k;
    json_t *vals;
    json_object_foreach(filters, k, vals)
    {
        if (!strv_contains((char *const *)accepted, k))
            return berr_code(err, EINVAL, "invalid filter '%s'", k);
        if (!json_is_array(vals))
            return berr_code(err, EINVAL, "invalid filter '%s': values must be strings", k);
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v)
        {
            if (!json_is_string(v))
                return berr_code(err, EINVAL, "invalid filter '%s': values must be strings", k);
        }
    }
    return 0;
}

/* Docker's GetBoolOrDefault: exactly one of the truthy or falsy spellings. */
static int bool_filter(json_t *filters, const char *key, int *out, struct berr **err)
{
    json_t *vals = json_object_get(filters, key);
    *out = -1;
    if (vals == NULL)
        return 0;
    bool f = filter_has(vals, "0") || filter_has(vals, "false");
    bool t = filter_has(vals, "1") || filter_has(vals, "true");
    if (f == t) {
        _cleanup_free_ char *txt = values_text(vals);
        return berr_code(err, EINVAL, "invalid filter '%s=%s'", key, txt);
    }
    *out = t;
    return 0;
}

/* Docker's MatchKVList: every key (or key=value) of the filter is among the labels. */
static bool labels_match_all(json_t *vals, json_t *labels)
{
    if (vals == NULL || json_array_size(vals) == 0)
        return true;
    if (!json_is_object(labels) || json_object_size(labels) == 0)
        return false;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v)
    {
        const char *f = json_string_value(v), *eq = strchr(f, '=');
        _cleanup_free_ char *key = eq ? xstrndup(f, (size_t)(eq - f)) : xstrdup(f);
        json_t *have = json_object_get(labels, key);
        if (have == NULL)
            return false;
        if (eq && strcmp(json_string_value(have) ? json_string_value(have) : "", eq + 1) != 0)
            return false;
    }
    return true;
}

static bool name_matches(json_t *vals, const char *name)
{
    return vals == NULL || json_array_size(vals) == 0 || filter_any_regex(vals, name);
}

static bool has_holds(int vfd)
{
    _cleanup_strv_ char **h = list_holds(vfd);
    return h[0] != NULL;
}

json_t *vol_list(struct vol_store *vs, json_t *filters, bool usage, struct berr **err)
{
    int dangling;
    if (check_filters(filters, list_filters, err) < 0 ||
        bool_filter(filters, "dangling", &dangling, err) < 0)
        return NULL;
    json_t *drivers = json_object_get(filters, "driver");
    json_t *out = json_array();
    _cleanup_strv_ char **names = volume_names(vs);
    for (char **n = names; *n; n++) {
        if (!name_matches(json_object_get(filters, "name"), *n))
            continue;
        if (json_array_size(drivers) && !filter_has(drivers, "local"))
            continue;
        _cleanup_close_ int vfd = open_subdir(vs->dir_fd, *n);
        if (vfd < 0)
            continue; /* removed since the directory was read */
        _cleanup_json_ json_t *meta = load_meta(vfd, *n, NULL);
        if (meta == NULL)
            continue;
        if (!labels_match_all(json_object_get(filters, "label"), json_object_get(meta, "Labels")))
            continue;
        if (dangling >= 0 && has_holds(vfd) == (dangling == 1))
            continue;
        json_array_append_new(out, inspect_json(vs, *n, vfd, meta, usage));
    }
    return out;
}

/* ---- holds and the local driver's mounts ---- */

/* moby's table; "defaults" sets nothing. */
const struct vol_mount_flag vol_mount_flags[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
    {"unbindable", false, MS_UNBINDABLE},
    {"runbindable", false, MS_UNBINDABLE | MS_REC},
    {"private", false, MS_PRIVATE},
    {"rprivate", false, MS_PRIVATE | MS_REC},
    {"shared", false, MS_SHARED},
    {"rshared", false, MS_SHARED | MS_REC},
    {"slave", false, MS_SLAVE},
    {"rslave", false, MS_SLAVE | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {NULL, false, 0},
};

const struct vol_mount_flag *vol_mount_flag_find(const char *name)
{
    for (const struct vol_mount_flag *f = vol_mount_flags; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* A password in the options must not reach an error message (cifs). */
static char *mask_password(const char *msg, const char *o)
{
    const char *p = o ? strstr(o, "password=") : NULL;
    if (p == NULL)
        return xstrdup(msg);
    p += strlen("password=");
    _cleanup_free_ char *pw = xstrndup(p, strcspn(p, ","));
    const char *at = *pw ? strstr(msg, pw) : NULL;
    if (at == NULL)
        return xstrdup(msg);
    return xasprintf("%.*s********%s", (int)(at - msg), msg, at + strlen(pw));
}

static int mount_volume(struct vol_store *vs, const char *name, json_t *meta, struct berr **err)
{
    json_t *o = meta_opts(meta);
    const char *type = json_string_value(json_object_get(o, "type"));
    const char *device = json_string_value(json_object_get(o, "device"));
    const char *opts = json_string_value(json_object_get(o, "o"));
    if (device == NULL || *device == 0)
        return berr_code(err, EINVAL, "mount %s: missing device in volume options", name);
    unsigned long flags = 0;
    _cleanup_free_ char *data = xstrdup("");
    _cleanup_free_ char *copy = xstrdup(opts ? opts : "");
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const struct vol_mount_flag *f = vol_mount_flag_find(tok);
        if (f) {
            if (f->clear)
                flags &= ~f->flag;
            else
                flags |= f->flag;
            continue;
        }
        char *n = xasprintf("%s%s%s", data, *data ? "," : "", tok);
        free(data);
        data = n;
    }
    _cleanup_free_ char *target = data_path(vs, name);
    const unsigned long prop = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
    unsigned long base = flags & ~prop;
    int r = 0;
    if (!(flags & MS_REMOUNT) || *data)
        r = mount(device, target, type, base, *data ? data : NULL);
    if (r == 0 && (flags & prop))
        r = mount("", target, "", flags & (prop | MS_REC | MS_SILENT), NULL);
    /* A bind mount ignores MS_RDONLY until remounted. */
    if (r == 0 && (base & (MS_BIND | MS_RDONLY)) == (MS_BIND | MS_RDONLY))
        r = mount("", target, "", base | MS_REMOUNT, NULL);
    if (r < 0) {
        int saved = errno;
        umount2(target, MNT_DETACH);
        _cleanup_berr_ struct berr *e = NULL;
        errno = saved;
        berr_sys(&e, "failed to mount local volume: mount %s:%s, flags: 0x%lx, data: %s", device,
                 target, flags, data);
        _cleanup_free_ char *msg = mask_password(e->msg, opts);
        return berr_code(err, saved, "%s", msg);
    }
    return 0;
}

static int unmount_volume(struct vol_store *vs, const char *name, int vfd, struct berr **err)
{
    if (!is_mountpoint(vfd, "_data"))
        return 0;
    _cleanup_free_ char *target = data_path(vs, name);
    if (umount2(target, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return berr_sys(err, "unmount volume %s", name);
    return 0;
}

int vol_hold(struct vol_store *vs, const char *name, const char *container_id, struct berr **err)
{
    if (check_cid(container_id, err) < 0)
        return -1;
    STORE_LOCKED(vs);
    _cleanup_close_ int vfd = open_volume(vs, name, err);
    if (vfd < 0)
        return -1;
    int r = write_hold(vfd, container_id, err);
    return r < 0 ? berr_wrap(err, "volume %s", name) : r;
}

bool vol_held_by(struct vol_store *vs, const char *name, const char *container_id)
{
    if (!name_ok(name) || check_cid(container_id, NULL) < 0)
        return false;
    _cleanup_free_ char *p = xasprintf("%s/holds/%s", name, container_id);
    return faccessat(vs->dir_fd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

char **vol_holders(struct vol_store *vs, const char *name, struct berr **err)
{
    _cleanup_close_ int vfd = open_volume(vs, name, err);
    if (vfd < 0)
        return NULL;
    return list_holds(vfd);
}

static int release_locked(struct vol_store *vs, const char *name, int vfd, const char *cid,
                          struct berr **err)
{
    _cleanup_free_ char *p = xasprintf("holds/%s", cid);
    if (unlinkat(vfd, p, 0) < 0 && errno != ENOENT)
        return berr_sys(err, "release volume %s", name);
    if (has_holds(vfd))
        return 0;
    _cleanup_json_ json_t *meta = load_meta(vfd, name, err);
    if (meta == NULL)
        return -1;
    return needs_mount(meta) ? unmount_volume(vs, name, vfd, err) : 0;
}

int vol_release(struct vol_store *vs, const char *name, const char *container_id, struct berr **err)
{
    if (check_cid(container_id, err) < 0)
        return -1;
    STORE_LOCKED(vs);
    _cleanup_close_ int vfd = open_volume(vs, name, err);
    if (vfd < 0)
        return -1;
    return release_locked(vs, name, vfd, container_id, err);
}

char *vol_mount_for(struct vol_store *vs, const char *name, const char *container_id,
                    struct berr **err)
{
    if (check_cid(container_id, err) < 0)
        return NULL;
    STORE_LOCKED(vs);
    _cleanup_close_ int vfd = open_volume(vs, name, err);
    if (vfd < 0)
        return NULL;
    _cleanup_json_ json_t *meta = load_meta(vfd, name, err);
    if (meta == NULL)
        return NULL;
    int held = write_hold(vfd, container_id, err);
    if (held < 0)
        return berr_wrap(err, "volume %s", name), NULL;
    if (needs_mount(meta) && !is_mountpoint(vfd, "_data") &&
        mount_volume(vs, name, meta, err) < 0) {
        if (held == 1)
            release_locked(vs, name, vfd, container_id, NULL);
        return NULL;
    }
    return data_path(vs, name);
}

/* ---- remove, prune ---- */

/* 1: removed; 0: there was none and force says that is fine. */
static int remove_locked(struct vol_store *vs, const char *name, bool force, struct berr **err)
{
    _cleanup_berr_ struct berr *e = NULL;
    _cleanup_close_ int vfd = open_volume(vs, name, &e);
    if (vfd < 0) {
        if (force && e->errnum == ENOENT)
            return 0;
        if (err && *err == NULL)
            *err = steal_ptr(&e);
        return -1;
    }
    _cleanup_strv_ char **holds = list_holds(vfd);
    if (holds[0]) {
        _cleanup_free_ char *ids = xstrdup("");
        for (char **h = holds; *h; h++) {
            char *n = xasprintf("%s%s%s", ids, h == holds ? "" : ", ", *h);
            free(ids);
            ids = n;
        }
        return berr_code(err, EBUSY, "remove %s: volume is in use - [%s]", name, ids);
    }
    if (unmount_volume(vs, name, vfd, err) < 0)
        return berr_wrap(err, "remove %s", name);
    /* Deleting through a mount would delete whatever is mounted there (a bind of host data). */
    if (is_mountpoint(vfd, "_data"))
        return berr_code(err, EBUSY, "remove %s: %s/%s/_data is still a mount point", name, vs->dir,
                         name);
    char gone[sizeof(STAGING_RM) + 16];
    memcpy(gone, STAGING_RM, sizeof(STAGING_RM) - 1);
    random_hex(gone + sizeof(STAGING_RM) - 1, 8);
    if (renameat(vs->dir_fd, name, vs->dir_fd, gone) < 0)
        return berr_sys(err, "remove %s", name);
    fsync(vs->dir_fd);
    _cleanup_berr_ struct berr *rm_err = NULL;
    if (rm_rf_at(vs->dir_fd, gone, &rm_err) < 0)
        log_warn("volume %s removed, but its data is left in %s/%s: %s", name, vs->dir, gone,
                 rm_err->msg);
    return 1;
}

int vol_remove(struct vol_store *vs, const char *name, bool force, struct berr **err)
{
    int r;
    {
        STORE_LOCKED(vs);
        r = remove_locked(vs, name, force, err);
    }
    if (r == 1)
        publish(vs, "destroy", name, json_pack("{s:s}", "driver", "local"));
    return r < 0 ? -1 : 0;
}

/* Docker parses "all" with Go's strconv.ParseBool. */
static int parse_go_bool(const char *s, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True", NULL};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False", NULL};
    if (strv_contains((char *const *)t, s))
        return *out = true, 0;
    if (strv_contains((char *const *)f, s))
        return *out = false, 0;
    return -1;
}

static void clear_pruning(struct vol_store **vs)
{
    if (*vs)
        atomic_store(&(*vs)->pruning, false);
}

json_t *vol_prune(struct vol_store *vs, json_t *filters, bool all_volumes, struct berr **err)
{
    if (check_filters(filters, prune_filters, err) < 0)
        return NULL;
    json_t *all = json_object_get(filters, "all");
    if (json_array_size(all) > 1) {
        _cleanup_free_ char *txt = values_text(all);
        return berr_code(err, EINVAL, "invalid filter 'all=%s': only one value is expected", txt),
               NULL;
    }
    if (json_array_size(all) == 1) {
        const char *s = json_string_value(json_array_get(all, 0));
        bool b;
        if (parse_go_bool(s, &b) < 0)
            return berr_code(err, EINVAL,
                             "invalid filter 'all': strconv.ParseBool: parsing \"%s\": invalid "
                             "syntax",
                             s),
                   NULL;
        all_volumes = all_volumes || b;
    }
    bool expected = false;
    if (!atomic_compare_exchange_strong(&vs->pruning, &expected, true))
        return berr_code(err, EBUSY, "a prune operation is already running"), NULL;
    _cleanup_(clear_pruning) struct vol_store *pruning = vs;

    json_t *keep = json_object_get(filters, "label"), *drop = json_object_get(filters, "label!");
    _cleanup_json_ json_t *deleted = json_array();
    int64_t reclaimed = 0;
    _cleanup_strv_ char **names = volume_names(vs);
    for (char **n = names; *n; n++) {
        _cleanup_close_ int vfd = open_subdir(vs->dir_fd, *n);
        if (vfd < 0)
            continue;
        _cleanup_json_ json_t *meta = load_meta(vfd, *n, NULL);
        if (meta == NULL || has_holds(vfd))
            continue;
        /* Volumes with mount options hold no local data to reclaim; Docker leaves them. */
        json_t *o = meta_opts(meta);
        if (o && json_object_size(o) > 0)
            continue;
        json_t *labels = json_object_get(meta, "Labels");
        if (!all_volumes && json_object_get(labels, VOL_ANON_LABEL) == NULL)
            continue;
        if (!labels_match_all(keep, labels))
            continue;
        if (json_array_size(drop) && labels_match_all(drop, labels))
            continue;
        int64_t size = data_size(vfd);
        int r;
        {
            STORE_LOCKED(vs);
            r = remove_locked(vs, *n, false, NULL);
        }
        if (r <= 0)
            continue; /* taken by a container meanwhile, or not removable: Docker skips it */
        publish(vs, "destroy", *n, json_pack("{s:s}", "driver", "local"));
        json_array_append_new(deleted, json_string(*n));
        reclaimed += size > 0 ? size : 0;
    }
    _cleanup_free_ char *bytes = xasprintf("%lld", (long long)reclaimed);
    publish(vs, "prune", "", json_pack("{s:s}", "reclaimed", bytes));
    return json_pack("{s:O, s:I}", "VolumesDeleted", deleted, "SpaceReclaimed",
                     (json_int_t)reclaimed);
}

/* ---- containers ---- */

int vol_release_container(struct vol_store *vs, const char *container_id, bool remove_anonymous,
                          struct berr **err)
{
    if (check_cid(container_id, err) < 0)
        return -1;
    int ret = 0;
    _cleanup_strv_ char **names = volume_names(vs);
    for (char **n = names; *n; n++) {
        if (!vol_held_by(vs, *n, container_id))
            continue;
        bool anonymous = false;
        {
            STORE_LOCKED(vs);
            _cleanup_close_ int vfd = open_volume(vs, *n, NULL);
            if (vfd < 0)
                continue;
            _cleanup_json_ json_t *meta = load_meta(vfd, *n, NULL);
            anonymous = json_is_true(json_object_get(meta, "Anonymous"));
            if (release_locked(vs, *n, vfd, container_id, err) < 0)
                ret = -1;
        }
        if (!remove_anonymous || !anonymous)
            continue;
        _cleanup_berr_ struct berr *e = NULL;
        if (vol_remove(vs, *n, false, &e) < 0 && e->errnum != EBUSY && e->errnum != ENOENT) {
            if (err && *err == NULL)
                *err = steal_ptr(&e);
            ret = -1;
        }
    }
    return ret;
}

int vol_seed(struct vol_store *vs, const char *name, int rootfs_fd, const char *path,
             struct berr **err)
{
    _cleanup_close_ int vfd = open_volume(vs, name, err);
    if (vfd < 0)
        return -1;
    /* Its own open file description: flock then serialises threads of this process too. */
    while (flock(vfd, LOCK_EX) < 0)
        if (errno != EINTR)
            return berr_sys(err, "seed volume %s: lock", name);
    if (faccessat(vfd, SEEDED_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    _cleanup_json_ json_t *meta = load_meta(vfd, name, err);
    if (meta == NULL)
        return -1;
    _cleanup_close_ int dfd = open_subdir(vfd, "_data");
    if (dfd < 0)
        return berr_sys(err, "seed volume %s: open _data", name);
    int empty = vol_dir_is_empty(dfd);
    if (empty <= 0)
        return empty < 0 ? berr_sys(err, "seed volume %s: read _data", name) : 0;
    int r = vol_copy_tree(rootfs_fd, path, dfd, err);
    if (r < 0) {
        vol_clear_dir(dfd, NULL);
        return berr_wrap(err, "seed volume %s from %s", name, path);
    }
    /* A volume mounted from elsewhere (tmpfs) loses its content on unmount: seed it again. */
    json_t *o = meta_opts(meta);
    if (r == 1 && (o == NULL || json_object_size(o) == 0))
        write_file_at(vfd, SEEDED_FILE, "", 0, 0600, NULL);
    return r;
}

void vol_publish_mount_events(struct vol_store *vs, const char *container_id,
                              json_t *inspect_mounts, bool mounted)
{
    size_t i;
    json_t *m;
    json_array_foreach(inspect_mounts, i, m)
    {
        const char *type = json_string_value(json_object_get(m, "Type"));
        const char *name = json_string_value(json_object_get(m, "Name"));
        if (type == NULL || strcmp(type, "volume") != 0 || name == NULL)
            continue;
        const char *driver = json_string_value(json_object_get(m, "Driver"));
        json_t *attrs;
        if (mounted) {
            const char *prop = json_string_value(json_object_get(m, "Propagation"));
            attrs =
                json_pack("{s:s, s:s, s:s, s:s, s:s}", "container", container_id, "destination",
                          json_string_value(json_object_get(m, "Destination")) ?: "", "driver",
                          driver ? driver : "local", "propagation", prop ? prop : "", "read/write",
                          json_is_true(json_object_get(m, "RW")) ? "true" : "false");
        } else {
            attrs = json_pack("{s:s, s:s}", "container", container_id, "driver",
                              driver ? driver : "local");
        }
        publish(vs, mounted ? "mount" : "unmount", name, attrs);
    }
}
