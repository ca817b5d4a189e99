/* A container's mounts: Docker's parsers for Binds, Mounts, Tmpfs and VolumesFrom (one
 * validation path for all, as moby's linux parser has, so the same mistake gets the same
 * words), and their resolution against the volume store into OCI and inspect mounts. Every
 * mount is parsed and checked before anything is created; a failure while acting undoes what
 * this call did. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "volume/mountspec.h"
#include "volume/volume.h"

#define MOUNTS_MAX 4096

void vol_mount_clear(struct vol_mount *m)
{
    free(m->source);
    free(m->destination);
    free(m->mode);
    free(m->propagation);
    free(m->driver);
    json_decref(m->driver_opts);
    json_decref(m->labels);
    free(m->subpath);
    free(m->tmpfs_data);
    memset(m, 0, sizeof(*m));
}

/* ---- paths ---- */

/* Go's path.Clean: lexical, so "/a/../.." is "/" and "a/.." is ".". */
static char *clean_path(const char *p)
{
    if (*p == 0)
        return xstrdup(".");
    bool abs = p[0] == '/';
    size_t n = strlen(p);
    char *out = xmalloc(n + 2);
    size_t w = 0, dotdot = 0;
    if (abs) {
        out[w++] = '/';
        dotdot = 1;
    }
    for (size_t r = 0; r < n;) {
        if (p[r] == '/') {
            r++;
        } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
            r++;
        } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!abs) {
                if (w > 0)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((abs && w != 1) || (!abs && w != 0))
                out[w++] = '/';
            for (; r < n && p[r] != '/'; r++)
                out[w++] = p[r];
        }
    }
    if (w == 0)
        out[w++] = '.';
    out[w] = 0;
    return out;
}

/* Go's filepath.IsLocal: relative, and stays beneath its base after cleaning. */
static bool is_local(const char *p)
{
    if (*p == 0 || *p == '/')
        return false;
    _cleanup_free_ char *c = clean_path(p);
    return !(strcmp(c, "..") == 0 || strncmp(c, "../", 3) == 0);
}

static size_t path_depth(const char *p)
{
    size_t n = 0;
    for (; *p; p++)
        n += *p == '/';
    return n;
}

/* ---- modes ---- */

static const char *const rw_modes[] = {"rw", "ro", NULL};
static const char *const label_modes[] = {"z", "Z", NULL};
static const char *const propagations[] = {"private", "rprivate", "slave", "rslave",
                                           "shared",  "rshared",  NULL};
static const char *const copy_modes[] = {"nocopy", NULL};
static const char *const consistency_modes[] = {"consistent", "cached", "delegated", NULL};

static bool in(const char *const *set, const char *s)
{
    return strv_contains((char *const *)set, s);
}

/* mode's comma-separated tokens; empty ones are kept, as Docker counts them invalid. */
static char **mode_tokens(const char *mode)
{
    char **out = xzalloc(sizeof(char *));
    for (const char *s = mode;;) {
        size_t n = strcspn(s, ",");
        _cleanup_free_ char *tok = xstrndup(s, n);
        strv_append(&out, tok);
        if (s[n] == 0)
            return out;
        s += n + 1;
    }
}

/* The first token in set, or NULL. */
static const char *mode_find(char **toks, const char *const *set)
{
    for (char **t = toks; *t; t++)
        if (in(set, *t))
            return *t;
    return NULL;
}

/* Docker's rule: known tokens only, at most one of each kind. */
static bool valid_mode(const char *mode)
{
    if (*mode == 0)
        return true;
    static const char *const *const kinds[] = {rw_modes, label_modes, propagations, copy_modes,
                                               consistency_modes};
    int count[ARRAY_SIZE(kinds)] = {0};
    _cleanup_strv_ char **toks = mode_tokens(mode);
    for (char **t = toks; *t; t++) {
        size_t k;
        for (k = 0; k < ARRAY_SIZE(kinds) && !in(kinds[k], *t); k++)
            ;
        if (k == ARRAY_SIZE(kinds) || ++count[k] > 1)
            return false;
    }
    return true;
}

static bool mode_rw(const char *mode)
{
    static const char *const ro[] = {"ro", NULL};
    _cleanup_strv_ char **toks = mode_tokens(mode);
    return valid_mode(mode) && mode_find(toks, ro) == NULL;
}

/* ---- one spec, as moby's mount.Mount ---- */

struct mspec {
    const char *type, *source, *target;
    bool readonly;
    bool has_bind, has_volume, has_tmpfs, has_image, has_cluster;
    const char *propagation;
    bool non_recursive, create_mountpoint, ro_non_recursive, ro_force_recursive;
    bool nocopy;
    json_t *labels;
    const char *subpath, *driver;
    json_t *driver_opts;
    int64_t tmpfs_size;
    int64_t tmpfs_mode;
    json_t *tmpfs_options;
};

static int spec_error(const struct mspec *s, struct berr **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int spec_error(const struct mspec *s, struct berr **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    return berr_code(err, EINVAL, "invalid mount config for type \"%s\": %s", s->type, msg);
}

/* Docker's ConvertTmpfsOptions: TmpfsOptions as mount data. */
static char *tmpfs_data_of(const struct mspec *s, struct berr **err)
{
    _cleanup_strv_ char **opts = xzalloc(sizeof(char *));
    if (s->readonly)
        strv_append(&opts, "ro");
    if (s->tmpfs_mode) {
        _cleanup_free_ char *m = xasprintf("mode=%" PRIo64, (uint64_t)s->tmpfs_mode);
        strv_append(&opts, m);
    }
    if (s->tmpfs_size) {
        static const struct {
            const char *suffix;
            int64_t div;
        } units[] = {{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}};
        int64_t size = s->tmpfs_size;
        const char *suffix = "";
        for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
            if (size % units[i].div == 0) {
                size /= units[i].div;
                suffix = units[i].suffix;
                break;
            }
        }
        _cleanup_free_ char *o = xasprintf("size=%" PRId64 "%s", size, suffix);
        strv_append(&opts, o);
    }
    size_t i;
    json_t *o;
    json_array_foreach(s->tmpfs_options, i, o)
    {
        size_t n = json_array_size(o);
        if (!json_is_array(o) || n < 1 || n > 2)
            return berr_code(err, EINVAL, "invalid option array length"), NULL;
        const char *k = json_string_value(json_array_get(o, 0));
        const char *v = json_string_value(json_array_get(o, 1));
        if (k == NULL || (strcmp(k, "exec") != 0 && strcmp(k, "noexec") != 0))
            return berr_code(err, EINVAL, "invalid option: %s", k ? k : "(not a string)"), NULL;
        _cleanup_free_ char *kv = n == 2 ? xasprintf("%s=%s", k, v ? v : "") : xstrdup(k);
        strv_append(&opts, kv);
    }
    _cleanup_free_ char *out = xstrdup("");
    for (char **p = opts; *p; p++) {
        char *n = xasprintf("%s%s%s", out, *out ? "," : "", *p);
        free(out);
        out = n;
    }
    return steal_ptr(&out);
}

static int validate_spec(const struct mspec *s, bool check_source, struct berr **err)
{
    const char *t = s->type;
    static const struct {
        const char *type, *field;
        size_t off;
    } exclusive[] = {
        {"bind", "BindOptions", offsetof(struct mspec, has_bind)},
        {"volume", "VolumeOptions", offsetof(struct mspec, has_volume)},
        {"image", "ImageOptions", offsetof(struct mspec, has_image)},
        {"tmpfs", "TmpfsOptions", offsetof(struct mspec, has_tmpfs)},
        {"cluster", "ClusterOptions", offsetof(struct mspec, has_cluster)},
    };
    for (size_t i = 0; i < ARRAY_SIZE(exclusive); i++)
        if (strcmp(t, exclusive[i].type) != 0 &&
            *(const bool *)((const char *)s + exclusive[i].off))
            return spec_error(s, err, "field %s must not be specified", exclusive[i].field);
    if (s->target == NULL || *s->target == 0)
        return spec_error(s, err, "field Target must not be empty");
    _cleanup_free_ char *target = clean_path(s->target);
    if (strcmp(target, "/") == 0)
        return spec_error(s, err, "invalid specification: destination can't be '/'");
    if (s->target[0] != '/')
        return spec_error(s, err, "invalid mount path: '%s' mount path must be absolute",
                          s->target);
    if (strcmp(t, "bind") == 0) {
        if (s->source == NULL || *s->source == 0)
            return spec_error(s, err, "field Source must not be empty");
        if (s->propagation && *s->propagation && !in(propagations, s->propagation))
            return spec_error(s, err, "invalid propagation mode: %s", s->propagation);
        if (s->source[0] != '/')
            return spec_error(s, err, "invalid mount path: '%s' mount path must be absolute",
                              s->source);
        struct stat st;
        if (check_source && stat(s->source, &st) < 0) {
            if (errno != ENOENT)
                return spec_error(s, err, "stat %s: %s", s->source, strerror(errno));
            if (!s->create_mountpoint)
                return spec_error(s, err, "bind source path does not exist: %s", s->source);
        }
        if (s->ro_non_recursive && s->ro_force_recursive)
            return berr_code(err, EINVAL,
                             "mount options conflict: ReadOnlyNonRecursive && "
                             "BindOptions.ReadOnlyForceRecursive");
        if (!s->readonly && s->ro_non_recursive)
            return berr_code(err, EINVAL,
                             "mount options conflict: !ReadOnly && "
                             "BindOptions.ReadOnlyNonRecursive");
        if (!s->readonly && s->ro_force_recursive)
            return berr_code(err, EINVAL,
                             "mount options conflict: !ReadOnly && "
                             "BindOptions.ReadOnlyForceRecursive");
    } else if (strcmp(t, "volume") == 0) {
        bool anonymous = s->source == NULL || *s->source == 0;
        if (s->subpath && *s->subpath) {
            if (anonymous)
                return spec_error(s, err, "must not set Subpath when using anonymous volumes");
            if (!is_local(s->subpath))
                return spec_error(s, err, "subpath must be a relative path within the volume");
        }
    } else if (strcmp(t, "tmpfs") == 0) {
        if (s->source && *s->source)
            return spec_error(s, err, "field Source must not be specified");
        if (s->tmpfs_size < 0)
            return spec_error(s, err, "invalid size: %" PRId64, s->tmpfs_size);
        if (s->tmpfs_mode < 0 || s->tmpfs_mode > 07777)
            return spec_error(s, err, "invalid mode: %" PRIo64, (uint64_t)s->tmpfs_mode);
        _cleanup_berr_ struct berr *e = NULL;
        _cleanup_free_ char *data = tmpfs_data_of(s, &e);
        if (data == NULL)
            return spec_error(s, err, "%s", e->msg);
    } else if (strcmp(t, "image") == 0) {
        return spec_error(s, err, "image mounts are not supported by berthd");
    } else {
        return spec_error(s, err, "mount type unknown");
    }
    return 0;
}

/* The mount a valid spec describes; mode is the Binds mode text ("" for Mounts). */
static int spec_to_mount(const struct mspec *s, const char *mode, bool from_binds,
                         struct vol_mount *out, struct berr **err)
{
    memset(out, 0, sizeof(*out));
    bool volume = strcmp(s->type, "volume") == 0, bind = strcmp(s->type, "bind") == 0;
    bool anonymous = s->source == NULL || *s->source == 0;
    /* Checked here rather than in validate_spec: Docker finds these when it creates the
     * volume, so their messages are not wrapped in "invalid volume specification". */
    if (volume && s->driver && *s->driver && strcmp(s->driver, "local") != 0)
        return berr_code(err, ENOENT,
                         "create %s: error looking up volume plugin %s: plugin \"%s\" not found",
                         anonymous ? "(anonymous volume)" : s->source, s->driver, s->driver);
    if (volume && !anonymous && vol_validate_name(s->source, err) < 0)
        return -1;
    _cleanup_free_ char *tmpfs_data = NULL;
    if (!volume && !bind && (tmpfs_data = tmpfs_data_of(s, err)) == NULL)
        return -1;
    out->destination = clean_path(s->target);
    out->rw = !s->readonly;
    out->mode = xstrdup(mode);
    if (bind) {
        out->type = VOL_MOUNT_BIND;
        out->source = clean_path(s->source);
        out->propagation = xstrdup(s->propagation && *s->propagation ? s->propagation : "rprivate");
        out->non_recursive = s->non_recursive;
        out->ro_non_recursive = s->ro_non_recursive;
        out->create_source = from_binds || s->create_mountpoint;
    } else if (volume) {
        out->type = VOL_MOUNT_VOLUME;
        out->source = anonymous ? NULL : xstrdup(s->source);
        out->copy_data = !s->nocopy;
        out->driver = s->driver && *s->driver ? xstrdup(s->driver) : NULL;
        out->driver_opts = json_is_object(s->driver_opts) ? json_deep_copy(s->driver_opts) : NULL;
        out->labels = json_is_object(s->labels) ? json_deep_copy(s->labels) : NULL;
        out->subpath = s->subpath && *s->subpath ? xstrdup(s->subpath) : NULL;
        if (*out->mode == 0) { /* Docker's setBindModeIfNull for local volumes */
            free(out->mode);
            out->mode = xstrdup("z");
        }
    } else {
        out->type = VOL_MOUNT_TMPFS;
        out->tmpfs_data = steal_ptr(&tmpfs_data);
    }
    return 0;
}

/* ---- the parsers ---- */

static int invalid_spec(const char *raw, struct berr **err)
{
    return berr_code(err, EINVAL, "invalid volume specification: '%s'", raw);
}

int vol_parse_bind(const char *spec, const char *volume_driver, struct vol_mount *out,
                   struct berr **err)
{
    memset(out, 0, sizeof(*out));
    _cleanup_free_ char *copy = xstrdup(spec);
    char *parts[4] = {copy, NULL, NULL, NULL};
    size_t n = 1;
    for (char *c = copy; n < 4 && (c = strchr(c, ':')) != NULL; n++) {
        *c++ = 0;
        parts[n] = c;
    }
    if (*parts[0] == 0)
        return invalid_spec(spec, err);
    struct mspec s = {.type = "volume"};
    const char *mode = "";
    if (n == 1) {
        s.target = parts[0];
    } else if (n == 2) {
        if (valid_mode(parts[1])) /* "/foo:rw": a destination and a mode but no source */
            return invalid_spec(spec, err);
        s.source = parts[0];
        s.target = parts[1];
    } else if (n == 3) {
        s.source = parts[0];
        s.target = parts[1];
        mode = parts[2];
    } else {
        return invalid_spec(spec, err);
    }
    if (!valid_mode(mode))
        return berr_code(err, EINVAL, "invalid mode: %s", mode);
    if (s.source && s.source[0] == '/')
        s.type = "bind";
    s.readonly = !mode_rw(mode);
    if (volume_driver && *volume_driver && strcmp(s.type, "volume") == 0) {
        s.has_volume = true;
        s.driver = volume_driver;
    }
    _cleanup_strv_ char **toks = mode_tokens(mode);
    if (mode_find(toks, copy_modes)) {
        s.has_volume = true;
        s.nocopy = true;
    }
    s.propagation = mode_find(toks, propagations);
    s.has_bind = s.propagation != NULL;
    _cleanup_berr_ struct berr *e = NULL;
    if (validate_spec(&s, false, &e) < 0) {
        int code = e->errnum;
        return berr_code(err, code, "invalid volume specification: '%s': %s", spec, e->msg);
    }
    return spec_to_mount(&s, mode, true, out, err);
}

/* Reads one optional field of a Mounts object, refusing a wrong JSON type. */
static int field(json_t *obj, const char *key, json_type type, json_t **out, const char *where,
                 struct berr **err)
{
    *out = json_object_get(obj, key);
    if (*out == NULL || json_is_null(*out)) {
        *out = NULL;
        return 0;
    }
    bool ok = type == JSON_TRUE ? json_is_boolean(*out) : json_typeof(*out) == type;
    if (type == JSON_INTEGER && json_is_real(*out))
        ok = false;
    if (!ok) {
        static const char *const names[] = {[JSON_OBJECT] = "an object",
                                            [JSON_ARRAY] = "an array",
                                            [JSON_STRING] = "a string",
                                            [JSON_INTEGER] = "an integer",
                                            [JSON_TRUE] = "a boolean"};
        return berr_code(err, EINVAL, "invalid mount config: %s%s must be %s", where, key,
                         names[type]);
    }
    return 0;
}

static const char *str_field(json_t *obj, const char *key, const char *where, int *rc,
                             struct berr **err)
{
    json_t *v;
    if (*rc == 0 && field(obj, key, JSON_STRING, &v, where, err) < 0)
        *rc = -1;
    return *rc == 0 && v ? json_string_value(v) : NULL;
}

static bool bool_field(json_t *obj, const char *key, const char *where, int *rc, struct berr **err)
{
    json_t *v;
    if (*rc == 0 && field(obj, key, JSON_TRUE, &v, where, err) < 0)
        *rc = -1;
    return *rc == 0 && json_is_true(v);
}

static json_t *sub_object(json_t *obj, const char *key, bool *present, int *rc, struct berr **err)
{
    json_t *v = NULL;
    if (*rc == 0 && field(obj, key, JSON_OBJECT, &v, "", err) < 0)
        *rc = -1;
    *present = *rc == 0 && v != NULL;
    return *present ? v : NULL;
}

int vol_parse_mount(json_t *spec, struct vol_mount *out, struct berr **err)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(spec))
        return berr_code(err, EINVAL, "invalid mount config: a mount must be an object");
    int rc = 0;
    struct mspec s = {0};
    s.type = str_field(spec, "Type", "", &rc, err);
    s.source = str_field(spec, "Source", "", &rc, err);
    s.target = str_field(spec, "Target", "", &rc, err);
    s.readonly = bool_field(spec, "ReadOnly", "", &rc, err);
    str_field(spec, "Consistency", "", &rc, err);
    json_t *b = sub_object(spec, "BindOptions", &s.has_bind, &rc, err);
    json_t *v = sub_object(spec, "VolumeOptions", &s.has_volume, &rc, err);
    json_t *t = sub_object(spec, "TmpfsOptions", &s.has_tmpfs, &rc, err);
    sub_object(spec, "ImageOptions", &s.has_image, &rc, err);
    sub_object(spec, "ClusterOptions", &s.has_cluster, &rc, err);
    if (b) {
        s.propagation = str_field(b, "Propagation", "BindOptions.", &rc, err);
        s.non_recursive = bool_field(b, "NonRecursive", "BindOptions.", &rc, err);
        s.create_mountpoint = bool_field(b, "CreateMountpoint", "BindOptions.", &rc, err);
        s.ro_non_recursive = bool_field(b, "ReadOnlyNonRecursive", "BindOptions.", &rc, err);
        s.ro_force_recursive = bool_field(b, "ReadOnlyForceRecursive", "BindOptions.", &rc, err);
    }
    if (v) {
        s.nocopy = bool_field(v, "NoCopy", "VolumeOptions.", &rc, err);
        s.subpath = str_field(v, "Subpath", "VolumeOptions.", &rc, err);
        if (rc == 0 && field(v, "Labels", JSON_OBJECT, &s.labels, "VolumeOptions.", err) < 0)
            rc = -1;
        json_t *dc = NULL;
        if (rc == 0 && field(v, "DriverConfig", JSON_OBJECT, &dc, "VolumeOptions.", err) < 0)
            rc = -1;
        if (dc) {
            s.driver = str_field(dc, "Name", "VolumeOptions.DriverConfig.", &rc, err);
            if (rc == 0 && field(dc, "Options", JSON_OBJECT, &s.driver_opts,
                                 "VolumeOptions.DriverConfig.", err) < 0)
                rc = -1;
        }
    }
    if (t) {
        json_t *size = NULL, *mode = NULL;
        if (rc == 0 &&
            (field(t, "SizeBytes", JSON_INTEGER, &size, "TmpfsOptions.", err) < 0 ||
             field(t, "Mode", JSON_INTEGER, &mode, "TmpfsOptions.", err) < 0 ||
             field(t, "Options", JSON_ARRAY, &s.tmpfs_options, "TmpfsOptions.", err) < 0))
            rc = -1;
        s.tmpfs_size = size ? json_integer_value(size) : 0;
        s.tmpfs_mode = mode ? json_integer_value(mode) : 0;
    }
    if (rc < 0)
        return -1;
    if (s.type == NULL)
        s.type = "";
    if (validate_spec(&s, true, err) < 0)
        return -1;
    return spec_to_mount(&s, "", false, out, err);
}

int vol_parse_tmpfs(const char *destination, const char *options, struct vol_mount *out,
                    struct berr **err)
{
    memset(out, 0, sizeof(*out));
    _cleanup_free_ char *d = clean_path(destination);
    if (strcmp(d, "/") == 0)
        return berr_code(err, EINVAL, "invalid specification: destination can't be '/'");
    if (destination[0] != '/')
        return berr_code(err, EINVAL, "invalid mount path: '%s' mount path must be absolute",
                         destination);
    _cleanup_json_ json_t *merged = vol_tmpfs_options(options ? options : "", err);
    if (merged == NULL)
        return -1;
    out->type = VOL_MOUNT_TMPFS;
    out->destination = steal_ptr(&d);
    out->mode = xstrdup("");
    out->tmpfs_data = xstrdup(options ? options : "");
    static const char *const ro[] = {"ro", NULL};
    _cleanup_strv_ char **toks = mode_tokens(out->tmpfs_data);
    out->rw = mode_find(toks, ro) == NULL;
    return 0;
}

int vol_parse_volumes_from(const char *spec, char **container, bool *rw, struct berr **err)
{
    if (spec == NULL || *spec == 0)
        return berr_code(err, EINVAL, "volumes-from specification cannot be an empty string");
    const char *colon = strchr(spec, ':');
    const char *mode = colon ? colon + 1 : "";
    _cleanup_strv_ char **toks = mode_tokens(mode);
    /* The other container's propagation and copy choices stay; only ro/rw may change. */
    if (*mode &&
        (!valid_mode(mode) || mode_find(toks, propagations) || mode_find(toks, copy_modes)))
        return berr_code(err, EINVAL, "invalid mode: %s", mode);
    *container = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
    *rw = mode_rw(mode);
    return 0;
}

/* One propagation (or bind) per mount: those flags are all of one kind. */
static unsigned long flag_kind(const struct vol_mount_flag *f)
{
    const unsigned long prop = MS_BIND | MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
    return f->flag & prop ? prop : f->flag;
}

/* moby's MergeTmpfsOptions: flags of one kind (ro/rw, exec/noexec, one propagation...) and
 * data keys keep their last occurrence, in the order of those occurrences. */
json_t *vol_tmpfs_options(const char *data, struct berr **err)
{
    static const char *const data_keys[] = {"size",      "mode",      "uid",  "gid",
                                            "nr_inodes", "nr_blocks", "mpol", NULL};
    _cleanup_free_ char *all =
        xasprintf("noexec,nosuid,nodev,rprivate%s%s", *data ? "," : "", data);
    _cleanup_strv_ char **opts = xzalloc(sizeof(char *));
    for (char *save = NULL, *tok = strtok_r(all, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (strcmp(tok, "defaults") != 0)
            strv_append(&opts, tok);
    size_t n = strv_length(opts);
    _cleanup_free_ bool *keep = xcalloc(n + 1, sizeof(bool));
    for (size_t i = n; i-- > 0;) {
        const char *o = opts[i];
        const struct vol_mount_flag *f = vol_mount_flag_find(o);
        size_t klen = strcspn(o, "=");
        if (f == NULL) {
            _cleanup_free_ char *k = xstrndup(o, klen);
            if (o[klen] != '=' || !in(data_keys, k))
                return berr_code(err, EINVAL, "invalid tmpfs option \"%s\"", k), NULL;
        }
        keep[i] = true;
        for (size_t j = i + 1; j < n && keep[i]; j++) {
            if (!keep[j])
                continue;
            const struct vol_mount_flag *g = vol_mount_flag_find(opts[j]);
            if (f)
                keep[i] = !(g && flag_kind(g) == flag_kind(f));
            else
                keep[i] = !(g == NULL && strncmp(opts[j], o, klen + 1) == 0);
        }
    }
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        if (keep[i])
            json_array_append_new(out, json_string(opts[i]));
    return out;
}

/* ---- resolution ---- */

struct entry {
    struct vol_mount m;
    bool from_other;   /* --volumes-from: the volume must exist; nothing is seeded */
    bool is_tmpfs_opt; /* HostConfig.Tmpfs: an OCI mount but no inspect entry */
    /* what acting did, for the undo */
    char *name;
    char *path;
    bool created, took_hold;
};

struct plan {
    struct entry *v;
    size_t n, cap;
    char **dests;        /* destinations of Binds, Mounts and Tmpfs, for duplicates */
    char **created_dirs; /* bind sources this call made, outermost first */
};

static void plan_clear(struct plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        vol_mount_clear(&p->v[i].m);
        free(p->v[i].name);
        free(p->v[i].path);
    }
    free(p->v);
    strv_free(p->dests);
    strv_free(p->created_dirs);
}

static struct entry *plan_find(struct plan *p, const char *dest)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].m.destination, dest) == 0)
            return &p->v[i];
    return NULL;
}

/* Adds m (taking its strings), replacing a mount at the same destination: later sources win
 * (VolumesFrom, then Binds, then Mounts), as in Docker. */
static void plan_put(struct plan *p, struct vol_mount *m, bool from_other, bool tmpfs_opt)
{
    struct entry *e = plan_find(p, m->destination);
    if (e) {
        vol_mount_clear(&e->m);
    } else {
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 8;
            p->v = xreallocarray(p->v, p->cap, sizeof(*p->v));
        }
        e = &p->v[p->n++];
    }
    memset(e, 0, sizeof(*e));
    e->m = *m;
    e->from_other = from_other;
    e->is_tmpfs_opt = tmpfs_opt;
    memset(m, 0, sizeof(*m));
}

static int claim_dest(struct plan *p, const char *dest, const char *shown, struct berr **err)
{
    if (p->dests && strv_contains(p->dests, dest))
        return berr_code(err, EINVAL, "Duplicate mount point: %s", shown);
    strv_append(&p->dests, dest);
    return 0;
}

static int check_array(json_t *v, const char *what, struct berr **err)
{
    if (v && !json_is_null(v) && !json_is_array(v))
        return berr_code(err, EINVAL, "%s must be an array", what);
    if (json_array_size(v) > MOUNTS_MAX)
        return berr_code(err, EINVAL, "%s: more than %d entries", what, MOUNTS_MAX);
    return 0;
}

/* The other container's inspect Mounts as this container's (Docker copies them without
 * mode, seeding or their original spec). */
static int add_volumes_from(struct vol_store *vs, struct plan *p, const char *spec,
                            const char *self, struct berr **err)
{
    _cleanup_free_ char *name = NULL, *id = NULL;
    bool rw;
    _cleanup_json_ json_t *mounts = NULL;
    if (vol_parse_volumes_from(spec, &name, &rw, err) < 0)
        return -1;
    if (vol_lookup_container(vs, name, &id, &mounts, err) < 0) {
        if (err && *err)
            (*err)->errnum = EINVAL; /* Docker answers 400 for an unknown --volumes-from */
        return -1;
    }
    if (strcmp(id, self) == 0)
        return berr_code(err, EINVAL, "volumes-from %s: a container cannot take its own volumes",
                         name);
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m)
    {
        const char *type = json_string_value(json_object_get(m, "Type"));
        const char *dest = json_string_value(json_object_get(m, "Destination"));
        const char *src = json_string_value(json_object_get(m, "Source"));
        const char *vname = json_string_value(json_object_get(m, "Name"));
        const char *prop = json_string_value(json_object_get(m, "Propagation"));
        if (type == NULL || dest == NULL || dest[0] != '/')
            continue;
        struct vol_mount vm = {0};
        vm.destination = clean_path(dest);
        vm.mode = xstrdup("");
        vm.rw = rw && json_is_true(json_object_get(m, "RW"));
        if (strcmp(type, "volume") == 0 && vname && *vname) {
            vm.type = VOL_MOUNT_VOLUME;
            vm.source = xstrdup(vname);
        } else if (strcmp(type, "bind") == 0 && src && src[0] == '/') {
            vm.type = VOL_MOUNT_BIND;
            vm.source = xstrdup(src);
            vm.propagation = xstrdup(prop && *prop ? prop : "rprivate");
        } else if (strcmp(type, "tmpfs") == 0) {
            vm.type = VOL_MOUNT_TMPFS;
            vm.tmpfs_data = xstrdup(vm.rw ? "" : "ro");
        } else {
            vol_mount_clear(&vm);
            continue;
        }
        plan_put(p, &vm, true, false);
    }
    return 0;
}

/* Docker refuses an anonymous volume over a file of the image. */
static int check_not_file(int rootfs_fd, const char *dest, struct berr **err)
{
    if (rootfs_fd < 0)
        return 0;
    struct open_how how = {.flags = O_PATH | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    _cleanup_close_ int fd = (int)syscall(SYS_openat2, rootfs_fd, dest, &how, sizeof(how));
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
        return berr_code(err, EINVAL, "cannot mount volume over existing file, file exists %s",
                         dest);
    return 0;
}

static int build_plan(struct vol_store *vs, json_t *hc, json_t *config_volumes, int rootfs_fd,
                      const char *cid, struct plan *p, struct berr **err)
{
    json_t *binds = json_object_get(hc, "Binds"), *mounts = json_object_get(hc, "Mounts");
    json_t *tmpfs = json_object_get(hc, "Tmpfs"), *from = json_object_get(hc, "VolumesFrom");
    json_t *drv = json_object_get(hc, "VolumeDriver");
    if (check_array(binds, "HostConfig.Binds", err) < 0 ||
        check_array(mounts, "HostConfig.Mounts", err) < 0 ||
        check_array(from, "HostConfig.VolumesFrom", err) < 0)
        return -1;
    if (tmpfs && !json_is_null(tmpfs) && !json_is_object(tmpfs))
        return berr_code(err, EINVAL, "HostConfig.Tmpfs must be an object of strings");
    if (config_volumes && !json_is_null(config_volumes) && !json_is_object(config_volumes))
        return berr_code(err, EINVAL, "Config.Volumes must be an object");
    const char *volume_driver = json_string_value(drv);
    size_t i;
    json_t *v;
    json_array_foreach(from, i, v)
    {
        if (!json_is_string(v))
            return berr_code(err, EINVAL, "HostConfig.VolumesFrom must hold strings");
        if (add_volumes_from(vs, p, json_string_value(v), cid, err) < 0)
            return -1;
    }
    json_array_foreach(binds, i, v)
    {
        struct vol_mount m = {0};
        if (!json_is_string(v))
            return berr_code(err, EINVAL, "HostConfig.Binds must hold strings");
        if (vol_parse_bind(json_string_value(v), volume_driver, &m, err) < 0 ||
            claim_dest(p, m.destination, m.destination, err) < 0) {
            vol_mount_clear(&m);
            return -1;
        }
        plan_put(p, &m, false, false);
    }
    json_array_foreach(mounts, i, v)
    {
        struct vol_mount m = {0};
        if (vol_parse_mount(v, &m, err) < 0 ||
            claim_dest(p, m.destination, json_string_value(json_object_get(v, "Target")), err) <
                0) {
            vol_mount_clear(&m);
            return -1;
        }
        plan_put(p, &m, false, false);
    }
    const char *key;
    json_object_foreach(tmpfs, key, v)
    {
        struct vol_mount m = {0};
        if (!json_is_string(v))
            return berr_code(err, EINVAL, "HostConfig.Tmpfs: the options of %s must be a string",
                             key);
        if (vol_parse_tmpfs(key, json_string_value(v), &m, err) < 0 ||
            claim_dest(p, m.destination, m.destination, err) < 0) {
            vol_mount_clear(&m);
            return -1;
        }
        plan_put(p, &m, false, true);
    }
    json_object_foreach(config_volumes, key, v)
    {
        _cleanup_free_ char *dest = clean_path(key);
        if (strcmp(dest, "/") == 0 || key[0] != '/')
            return berr_code(err, EINVAL,
                             "invalid volume specification: '%s': mount path must be absolute "
                             "and not '/'",
                             key);
        if (plan_find(p, dest))
            continue;
        if (volume_driver && *volume_driver && strcmp(volume_driver, "local") != 0)
            return berr_code(err, ENOENT,
                             "create (anonymous volume): error looking up volume plugin %s: "
                             "plugin \"%s\" not found",
                             volume_driver, volume_driver);
        if (check_not_file(rootfs_fd, dest, err) < 0)
            return -1;
        struct vol_mount m = {.type = VOL_MOUNT_VOLUME, .rw = true, .copy_data = true};
        m.destination = steal_ptr(&dest);
        m.mode = xstrdup("");
        m.driver = volume_driver && *volume_driver ? xstrdup(volume_driver) : NULL;
        plan_put(p, &m, false, false);
    }
    return 0;
}

/* mkdir -p that remembers what it made, so a failed resolution can take it back. */
static int make_source_dir(struct plan *p, const char *path, struct berr **err)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return 0;
    _cleanup_free_ char *buf = xstrdup(path);
    for (char *s = buf + 1;; s++) {
        if (*s != '/' && *s != 0)
            continue;
        char saved = *s;
        *s = 0;
        if (mkdir(buf, 0755) == 0)
            strv_append(&p->created_dirs, buf);
        else if (errno != EEXIST)
            return berr_sys(err, "error while creating mount source path '%s'", path);
        *s = saved;
        if (saved == 0)
            return 0;
    }
}

/* A subpath of a volume, beneath its _data even through symlinks. */
static char *resolve_subpath(const char *data, const char *name, const char *subpath,
                             struct berr **err)
{
    _cleanup_close_ int dfd = open(data, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return berr_sys(err, "volume %s: open %s", name, data), NULL;
    struct open_how how = {.flags = O_PATH | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    _cleanup_close_ int fd = (int)syscall(SYS_openat2, dfd, subpath, &how, sizeof(how));
    if (fd < 0)
        return berr_sys(err, "invalid mount config for type \"volume\": subpath %s of volume %s",
                        subpath, name),
               NULL;
    char link[64], real[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, real, sizeof(real) - 1);
    if (n < 0)
        return berr_sys(err, "volume %s: subpath %s", name, subpath), NULL;
    real[n] = 0;
    size_t dl = strlen(data);
    if (strncmp(real, data, dl) != 0 || (real[dl] != '/' && real[dl] != 0))
        return berr_code(err, EINVAL, "volume %s: subpath %s leaves the volume", name, subpath),
               NULL;
    return xstrdup(real);
}

static int act_volume(struct vol_store *vs, struct entry *e, int rootfs_fd, const char *cid,
                      struct berr **err)
{
    struct vol_mount *m = &e->m;
    e->took_hold = !(m->source && vol_held_by(vs, m->source, cid));
    if (e->from_other) {
        e->name = xstrdup(m->source);
    } else {
        _cleanup_json_ json_t *v =
            vol_create(vs, m->source, m->driver, m->driver_opts, m->labels, cid, &e->created, err);
        if (v == NULL) {
            e->took_hold = false;
            return -1;
        }
        e->name = xstrdup(json_string_value(json_object_get(v, "Name")));
    }
    e->path = vol_mount_for(vs, e->name, cid, err);
    if (e->path == NULL)
        return -1;
    if (m->subpath) {
        char *sub = resolve_subpath(e->path, e->name, m->subpath, err);
        if (sub == NULL)
            return -1;
        free(m->subpath);
        m->subpath = sub; /* now the host path to bind */
        return 0;
    }
    if (m->copy_data && !e->from_other && rootfs_fd >= 0 &&
        vol_seed(vs, e->name, rootfs_fd, m->destination, err) < 0)
        return -1;
    return 0;
}

static void undo(struct vol_store *vs, struct plan *p, size_t acted, const char *cid)
{
    for (size_t i = acted; i-- > 0;) {
        struct entry *e = &p->v[i];
        if (e->name && e->took_hold)
            vol_release(vs, e->name, cid, NULL);
        if (e->name && e->created)
            vol_remove(vs, e->name, true, NULL);
    }
    for (size_t i = strv_length(p->created_dirs); i-- > 0;)
        rmdir(p->created_dirs[i]);
}

static json_t *oci_mount(const struct entry *e, struct berr **err)
{
    const struct vol_mount *m = &e->m;
    if (m->type == VOL_MOUNT_TMPFS) {
        json_t *opts = vol_tmpfs_options(m->tmpfs_data ? m->tmpfs_data : "", err);
        if (opts == NULL)
            return NULL;
        return json_pack("{s:s, s:s, s:s, s:o}", "destination", m->destination, "type", "tmpfs",
                         "source", "tmpfs", "options", opts);
    }
    json_t *opts = json_array();
    json_array_append_new(opts, json_string(m->non_recursive ? "bind" : "rbind"));
    if (!m->rw)
        json_array_append_new(opts,
                              json_string(m->ro_non_recursive || m->non_recursive ? "ro" : "rro"));
    json_array_append_new(opts, json_string(m->propagation ? m->propagation : "rprivate"));
    const char *src = m->type == VOL_MOUNT_BIND ? m->source : m->subpath ? m->subpath : e->path;
    return json_pack("{s:s, s:s, s:s, s:o}", "destination", m->destination, "type", "bind",
                     "source", src, "options", opts);
}

static json_t *inspect_mount(const struct entry *e)
{
    const struct vol_mount *m = &e->m;
    static const char *const types[] = {"bind", "volume", "tmpfs"};
    json_t *j = json_pack("{s:s}", "Type", types[m->type]);
    if (m->type == VOL_MOUNT_VOLUME)
        json_object_set_new(j, "Name", json_string(e->name));
    const char *src = m->type == VOL_MOUNT_BIND ? m->source : e->path ? e->path : "";
    json_object_set_new(j, "Source", json_string(src));
    json_object_set_new(j, "Destination", json_string(m->destination));
    if (m->type == VOL_MOUNT_VOLUME)
        json_object_set_new(j, "Driver", json_string("local"));
    json_object_set_new(j, "Mode", json_string(m->mode ? m->mode : ""));
    json_object_set_new(j, "RW", json_boolean(m->rw));
    json_object_set_new(j, "Propagation",
                        json_string(m->type == VOL_MOUNT_BIND ? m->propagation : ""));
    return j;
}

/* Parents before children, so /a is mounted before /a/b; otherwise the order given. */
static int cmp_depth(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
    size_t dx = path_depth(x->m.destination), dy = path_depth(y->m.destination);
    if (dx != dy)
        return dx < dy ? -1 : 1;
    return x < y ? -1 : x > y;
}

int vol_resolve_mounts(struct vol_store *vs, json_t *host_config, json_t *config_volumes,
                       int rootfs_fd, const char *container_id, json_t **oci_mounts,
                       json_t **inspect_mounts, struct berr **err)
{
    _cleanup_(plan_clear) struct plan p = {0};
    if (build_plan(vs, host_config, config_volumes, rootfs_fd, container_id, &p, err) < 0)
        return -1;
    size_t acted;
    for (acted = 0; acted < p.n; acted++) {
        struct entry *e = &p.v[acted];
        int r = 0;
        if (e->m.type == VOL_MOUNT_VOLUME)
            r = act_volume(vs, e, rootfs_fd, container_id, err);
        else if (e->m.type == VOL_MOUNT_BIND && e->m.create_source)
            r = make_source_dir(&p, e->m.source, err);
        if (r < 0) {
            undo(vs, &p, acted + 1, container_id);
            return -1;
        }
    }
    _cleanup_free_ struct entry **order = xcalloc(p.n + 1, sizeof(*order));
    for (size_t i = 0; i < p.n; i++)
        order[i] = &p.v[i];
    qsort(order, p.n, sizeof(*order), cmp_depth);
    _cleanup_json_ json_t *oci = json_array(), *insp = json_array();
    for (size_t i = 0; i < p.n; i++) {
        json_t *o = oci_mount(order[i], err);
        if (o == NULL) {
            undo(vs, &p, p.n, container_id);
            return -1;
        }
        json_array_append_new(oci, o);
        if (!order[i]->is_tmpfs_opt)
            json_array_append_new(insp, inspect_mount(order[i]));
    }
    *oci_mounts = steal_ptr(&oci);
    *inspect_mounts = steal_ptr(&insp);
    return 0;
}
