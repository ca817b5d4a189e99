/* Unit tests for volumes: Docker's names, create/list/remove with filters, holds that block
 * removal and survive a reopen, prune rules, the Binds/Mounts/Tmpfs/VolumesFrom parsers and
 * their messages, and resolving a container's mounts (auto-created volumes, seeding from a fake
 * image root including a hostile symlink, tmpfs, rollback). Runs as root in a temporary data
 * root; the local-driver test mounts a tmpfs and unmounts it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "engine/events.h"
#include "volume/mountspec.h"
#include "volume/volume.h"

#define CID  "c0ffee00000000000000000000000000000000000000000000000000000000aa"
#define CID2 "beef0000000000000000000000000000000000000000000000000000000000bb"

static char root[64];
static char scratch[128]; /* host paths and fake image roots live here, outside the data root */
static struct vol_store *vs;
static json_t *events; /* what the stub bus below was given */
static int fake_bus;

/* The store publishes through the engine's bus; this test records instead (from several
 * threads in the concurrency test, and jansson arrays are not thread-safe). */
static pthread_mutex_t events_mu = PTHREAD_MUTEX_INITIALIZER;

void ev_publish(struct ev_bus *b, const char *type, const char *action, const char *id,
                json_t *attrs)
{
    pthread_mutex_lock(&events_mu);
    json_array_append_new(events, json_pack("{s:s, s:s, s:s, s:o*}", "type", type, "action", action,
                                            "id", id, "attrs", attrs));
    pthread_mutex_unlock(&events_mu);
}

static int setup(void **state)
{
    strcpy(root, "/tmp/berth-vol-XXXXXX");
    if (mkdtemp(root) == NULL)
        return -1;
    snprintf(scratch, sizeof(scratch), "%s-scratch", root);
    if (mkdir(scratch, 0755) < 0)
        return -1;
    events = json_array();
    struct berr *err = NULL;
    if (vol_store_open(root, (struct ev_bus *)&fake_bus, &vs, &err) < 0) {
        fprintf(stderr, "%s\n", err->msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    vol_store_freep(&vs);
    json_decref(events);
    rm_rf_at(AT_FDCWD, scratch, NULL);
    return rm_rf_at(AT_FDCWD, root, NULL);
}

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (j == NULL)
        fail_msg("bad test JSON %s: %s", text, je.text);
    return j;
}

static void expect_error(struct berr **err, int code, const char *msg)
{
    assert_non_null(*err);
    if (strcmp((*err)->msg, msg) != 0)
        fail_msg("message\n  got: %s\n want: %s", (*err)->msg, msg);
    assert_int_equal((*err)->errnum, code);
    berr_freep(err);
}

static json_t *create(const char *name, const char *opts, const char *labels)
{
    struct berr *err = NULL;
    _cleanup_json_ json_t *o = opts ? J(opts) : NULL, *l = labels ? J(labels) : NULL;
    json_t *v = vol_create(vs, name, NULL, o, l, NULL, NULL, &err);
    if (v == NULL)
        fail_msg("create %s: %s", name ? name : "(anonymous)", err->msg);
    return v;
}

static bool exists(const char *name)
{
    _cleanup_json_ json_t *v = vol_get(vs, name, false, NULL);
    return v != NULL;
}

static void write_text(const char *path, const char *text)
{
    struct berr *err = NULL;
    if (write_file_at(AT_FDCWD, path, text, strlen(text), 0644, &err) < 0)
        fail_msg("%s", err->msg);
}

static char *data_of(const char *name)
{
    return xasprintf("%s/volumes/%s/_data", root, name);
}

static size_t count_entries(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
             strcmp(de->d_name, ".lock") != 0;
    closedir(d);
    return n;
}

static const char *names_of(json_t *list, char *buf, size_t len)
{
    buf[0] = 0;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *n = json_string_value(json_object_get(v, "Name"));
        if (n == NULL)
            n = json_string_value(v);
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "," : "", n);
    }
    return buf;
}

/* ---- names, create, list, remove ---- */

static void test_names(void **state)
{
    struct berr *err = NULL;
    assert_int_equal(vol_validate_name("ab", &err), 0);
    assert_int_equal(vol_validate_name("my_vol.1-x", &err), 0);
    vol_validate_name("x/y", &err);
    expect_error(&err, EINVAL,
                 "create x/y: \"x/y\" includes invalid characters for a local volume name, only "
                 "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host "
                 "directory, use absolute path");
    vol_validate_name("a", &err);
    expect_error(&err, EINVAL,
                 "create a: volume name is too short, names should be at least two alphanumeric "
                 "characters");
    assert_int_equal(vol_validate_name("..", NULL), -1);
    assert_int_equal(vol_validate_name(".hidden", NULL), -1);
    assert_int_equal(vol_validate_name("_x", NULL), -1);
    assert_int_equal(vol_validate_name("a b", NULL), -1);
    /* A bad name never becomes a path. */
    _cleanup_json_ json_t *v = vol_get(vs, "../../etc", false, &err);
    assert_null(v);
    expect_error(&err, ENOENT, "get ../../etc: no such volume");
}

static void test_create_get_remove(void **state)
{
    _cleanup_json_ json_t *v = create("data1", NULL, "{\"a\":\"1\"}");
    assert_string_equal(json_string_value(json_object_get(v, "Name")), "data1");
    assert_string_equal(json_string_value(json_object_get(v, "Driver")), "local");
    assert_string_equal(json_string_value(json_object_get(v, "Scope")), "local");
    assert_true(json_is_null(json_object_get(v, "Options")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "Labels"), "a")), "1");
    _cleanup_free_ char *data = data_of("data1");
    assert_string_equal(json_string_value(json_object_get(v, "Mountpoint")), data);
    const char *created = json_string_value(json_object_get(v, "CreatedAt"));
    assert_int_equal(strlen(created), 20);
    assert_int_equal(created[19], 'Z');
    struct stat st;
    assert_int_equal(stat(data, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    _cleanup_free_ char *opts = xasprintf("%s/volumes/data1/opts.json", root);
    assert_int_equal(access(opts, F_OK), 0);

    /* A second create returns the first volume unchanged, and publishes nothing. */
    bool created_now = true;
    _cleanup_json_ json_t *labels = J("{\"b\":\"2\"}");
    _cleanup_json_ json_t *again =
        vol_create(vs, "data1", "local", NULL, labels, NULL, &created_now, NULL);
    assert_non_null(again);
    assert_false(created_now);
    assert_true(json_equal(again, v));

    struct berr *err = NULL;
    _cleanup_json_ json_t *got = vol_get(vs, "data1", true, &err);
    assert_non_null(got);
    json_t *usage = json_object_get(got, "UsageData");
    assert_int_equal(json_integer_value(json_object_get(usage, "Size")), 0);
    assert_int_equal(json_integer_value(json_object_get(usage, "RefCount")), 0);

    assert_int_equal(vol_remove(vs, "data1", false, &err), 0);
    assert_false(exists("data1"));
    vol_get(vs, "data1", false, &err);
    expect_error(&err, ENOENT, "get data1: no such volume");
    vol_remove(vs, "data1", false, &err);
    expect_error(&err, ENOENT, "get data1: no such volume");
    assert_int_equal(vol_remove(vs, "data1", true, &err), 0);

    char buf[256];
    assert_int_equal(json_array_size(events), 2);
    json_t *e0 = json_array_get(events, 0), *e1 = json_array_get(events, 1);
    assert_string_equal(json_string_value(json_object_get(e0, "action")), "create");
    assert_string_equal(json_string_value(json_object_get(e1, "action")), "destroy");
    assert_string_equal(json_string_value(json_object_get(e1, "id")), "data1");
    _cleanup_free_ char *attrs = json_dumps(json_object_get(e0, "attrs"), JSON_SORT_KEYS);
    assert_string_equal(attrs, "{\"driver\": \"local\"}");
    _cleanup_free_ char *vdir = xasprintf("%s/volumes", root);
    assert_int_equal(count_entries(vdir), 0);
    (void)buf;
}

static void test_create_errors(void **state)
{
    struct berr *err = NULL;
    assert_null(vol_create(vs, "v1", "nfsplug", NULL, NULL, NULL, NULL, &err));
    expect_error(&err, ENOENT,
                 "create v1: error looking up volume plugin nfsplug: plugin \"nfsplug\" not found");
    static const struct {
        const char *opts, *msg;
    } cases[] = {
        {"{\"bogus\":\"1\"}", "create v1: invalid option: \"bogus\""},
        {"{\"type\":\"tmpfs\"}", "create v1: missing required option: \"device\""},
        {"{\"device\":\"tmpfs\"}", "create v1: missing required option: \"type\""},
        {"{\"o\":\"size=1m\"}", "create v1: missing required option: \"device\""},
        {"{\"size\":\"10G\"}", "create v1: quota size requested but no quota support"},
        {"{\"type\":1}", "create v1: DriverOpts: the value of type must be a string"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        _cleanup_json_ json_t *o = J(cases[i].opts);
        assert_null(vol_create(vs, "v1", NULL, o, NULL, NULL, NULL, &err));
        expect_error(&err, EINVAL, cases[i].msg);
    }
    assert_null(vol_create(vs, "x", NULL, NULL, NULL, NULL, NULL, &err));
    assert_int_equal(err->errnum, EINVAL);
    berr_freep(&err);
    _cleanup_free_ char *vdir = xasprintf("%s/volumes", root);
    assert_int_equal(count_entries(vdir), 0);
    assert_int_equal(json_array_size(events), 0);
}

static void test_anonymous(void **state)
{
    _cleanup_json_ json_t *v = create(NULL, NULL, "{\"x\":\"y\"}");
    const char *name = json_string_value(json_object_get(v, "Name"));
    assert_int_equal(strlen(name), 64);
    assert_int_equal(strspn(name, "0123456789abcdef"), 64);
    json_t *labels = json_object_get(v, "Labels");
    assert_string_equal(json_string_value(json_object_get(labels, VOL_ANON_LABEL)), "");
    assert_string_equal(json_string_value(json_object_get(labels, "x")), "y");
}

static void list_expect(const char *filters, const char *want)
{
    struct berr *err = NULL;
    _cleanup_json_ json_t *f = filters ? J(filters) : NULL;
    _cleanup_json_ json_t *l = vol_list(vs, f, false, &err);
    if (l == NULL)
        fail_msg("list %s: %s", filters, err->msg);
    char buf[512];
    names_of(l, buf, sizeof(buf));
    if (strcmp(buf, want) != 0)
        fail_msg("list %s: got %s, want %s", filters ? filters : "", buf, want);
}

static void test_filters(void **state)
{
    json_decref(create("alpha", NULL, "{\"x\":\"1\"}"));
    json_decref(create("beta", NULL, "{\"x\":\"2\",\"y\":\"\"}"));
    json_decref(create("gamma", NULL, NULL));
    assert_int_equal(vol_hold(vs, "beta", CID, NULL), 1);
    list_expect(NULL, "alpha,beta,gamma");
    list_expect("{\"dangling\":[\"true\"]}", "alpha,gamma");
    list_expect("{\"dangling\":[\"0\"]}", "beta");
    list_expect("{\"label\":[\"x\"]}", "alpha,beta");
    list_expect("{\"label\":[\"x=2\"]}", "beta");
    list_expect("{\"label\":[\"x\",\"y\"]}", "beta");
    list_expect("{\"label\":[\"x=3\"]}", "");
    list_expect("{\"name\":[\"ta\"]}", "beta");
    list_expect("{\"name\":[\"^(al|ga)\"]}", "alpha,gamma");
    list_expect("{\"driver\":[\"local\"]}", "alpha,beta,gamma");
    list_expect("{\"driver\":[\"other\"]}", "");
    list_expect("{\"name\":[\"a\"],\"dangling\":[\"true\"],\"label\":[\"x\"]}", "alpha");

    struct berr *err = NULL;
    _cleanup_json_ json_t *bad = J("{\"foo\":[\"1\"]}");
    assert_null(vol_list(vs, bad, false, &err));
    expect_error(&err, EINVAL, "invalid filter 'foo'");
    _cleanup_json_ json_t *bad2 = J("{\"dangling\":[\"maybe\"]}");
    assert_null(vol_list(vs, bad2, false, &err));
    expect_error(&err, EINVAL, "invalid filter 'dangling=[maybe]'");
    _cleanup_json_ json_t *bad3 = J("{\"dangling\":[\"true\",\"false\"]}");
    assert_null(vol_list(vs, bad3, false, &err));
    expect_error(&err, EINVAL, "invalid filter 'dangling=[true false]'");
}

static void test_holds(void **state)
{
    json_decref(create("held", NULL, NULL));
    struct berr *err = NULL;
    assert_int_equal(vol_hold(vs, "held", CID2, &err), 1);
    assert_int_equal(vol_hold(vs, "held", CID, &err), 1);
    assert_int_equal(vol_hold(vs, "held", CID, &err), 0);
    assert_true(vol_held_by(vs, "held", CID));
    vol_hold(vs, "nope", CID, &err);
    expect_error(&err, ENOENT, "get nope: no such volume");
    vol_hold(vs, "held", "../x", &err);
    assert_int_equal(err->errnum, EINVAL);
    berr_freep(&err);

    vol_remove(vs, "held", false, &err);
    expect_error(&err, EBUSY, "remove held: volume is in use - [" CID2 ", " CID "]");
    vol_remove(vs, "held", true, &err);
    expect_error(&err, EBUSY, "remove held: volume is in use - [" CID2 ", " CID "]");

    /* Holds live on disk: a restarted daemon still refuses. */
    vol_store_freep(&vs);
    assert_int_equal(vol_store_open(root, NULL, &vs, &err), 0);
    _cleanup_strv_ char **h = vol_holders(vs, "held", &err);
    assert_int_equal(strv_length(h), 2);
    assert_string_equal(h[0], CID2);
    vol_remove(vs, "held", false, &err);
    assert_int_equal(err->errnum, EBUSY);
    berr_freep(&err);
    _cleanup_json_ json_t *usage = vol_get(vs, "held", true, &err);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(usage, "UsageData"), "RefCount")), 2);

    assert_int_equal(vol_release(vs, "held", CID, &err), 0);
    assert_int_equal(vol_release(vs, "held", CID, &err), 0);
    assert_int_equal(vol_release(vs, "held", CID2, &err), 0);
    assert_int_equal(vol_remove(vs, "held", false, &err), 0);
}

static json_t *prune(const char *filters, bool all)
{
    struct berr *err = NULL;
    _cleanup_json_ json_t *f = filters ? J(filters) : NULL;
    json_t *rep = vol_prune(vs, f, all, &err);
    if (rep == NULL)
        fail_msg("prune %s: %s", filters ? filters : "", err->msg);
    return rep;
}

static void test_prune(void **state)
{
    _cleanup_json_ json_t *a1 = create(NULL, NULL, NULL), *a2 = create(NULL, NULL, NULL);
    const char *anon1 = json_string_value(json_object_get(a1, "Name"));
    const char *anon2 = json_string_value(json_object_get(a2, "Name"));
    json_decref(create("named1", NULL, NULL));
    json_decref(create("named2", NULL, "{\"keep\":\"yes\"}"));
    json_decref(create("withopts", "{\"type\":\"tmpfs\",\"device\":\"tmpfs\"}", NULL));
    assert_int_equal(vol_hold(vs, anon2, CID, NULL), 1);
    _cleanup_free_ char *d1 = data_of(anon1);
    _cleanup_free_ char *f1 = xasprintf("%s/blob", d1);
    char kb[1001];
    memset(kb, 'x', 1000);
    kb[1000] = 0;
    write_text(f1, kb);
    _cleanup_free_ char *l1 = xasprintf("%s/blob-link", d1);
    assert_int_equal(link(f1, l1), 0);

    /* API >= 1.42 without all: anonymous unused volumes only. */
    _cleanup_json_ json_t *r1 = prune(NULL, false);
    char buf[512];
    assert_string_equal(names_of(json_object_get(r1, "VolumesDeleted"), buf, sizeof(buf)), anon1);
    assert_int_equal(json_integer_value(json_object_get(r1, "SpaceReclaimed")), 1000);
    assert_true(exists(anon2));
    assert_true(exists("named1"));

    /* all=true with label!: named1 goes, named2 (keep) and withopts (mount options) stay. */
    _cleanup_json_ json_t *r2 = prune("{\"all\":[\"true\"],\"label!\":[\"keep\"]}", false);
    assert_string_equal(names_of(json_object_get(r2, "VolumesDeleted"), buf, sizeof(buf)),
                        "named1");
    /* An older client's prune takes every unused volume; label filters still apply. */
    _cleanup_json_ json_t *r3 = prune("{\"label\":[\"keep=no\"]}", true);
    assert_int_equal(json_array_size(json_object_get(r3, "VolumesDeleted")), 0);
    _cleanup_json_ json_t *r4 = prune(NULL, true);
    assert_string_equal(names_of(json_object_get(r4, "VolumesDeleted"), buf, sizeof(buf)),
                        "named2");
    assert_true(exists(anon2));
    assert_true(exists("withopts"));

    struct berr *err = NULL;
    _cleanup_json_ json_t *bad = J("{\"all\":[\"maybe\"]}");
    assert_null(vol_prune(vs, bad, false, &err));
    expect_error(&err, EINVAL,
                 "invalid filter 'all': strconv.ParseBool: parsing \"maybe\": invalid syntax");
    _cleanup_json_ json_t *bad2 = J("{\"all\":[\"1\",\"0\"]}");
    assert_null(vol_prune(vs, bad2, false, &err));
    expect_error(&err, EINVAL, "invalid filter 'all=[1 0]': only one value is expected");
    _cleanup_json_ json_t *bad3 = J("{\"dangling\":[\"true\"]}");
    assert_null(vol_prune(vs, bad3, false, &err));
    expect_error(&err, EINVAL, "invalid filter 'dangling'");

    json_t *last = json_array_get(events, json_array_size(events) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "action")), "prune");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(last, "attrs"), "reclaimed")), "0");
}

/* ---- parsers ---- */

static void test_parse_binds(void **state)
{
    struct vol_mount m;
    struct berr *err = NULL;
    assert_int_equal(vol_parse_bind("/src:/dst", NULL, &m, &err), 0);
    assert_int_equal(m.type, VOL_MOUNT_BIND);
    assert_string_equal(m.source, "/src");
    assert_string_equal(m.destination, "/dst");
    assert_string_equal(m.propagation, "rprivate");
    assert_string_equal(m.mode, "");
    assert_true(m.rw);
    assert_true(m.create_source);
    vol_mount_clear(&m);

    assert_int_equal(vol_parse_bind("/src/../x:/dst/./y/:ro,rshared,Z", NULL, &m, &err), 0);
    assert_string_equal(m.source, "/x");
    assert_string_equal(m.destination, "/dst/y");
    assert_string_equal(m.propagation, "rshared");
    assert_string_equal(m.mode, "ro,rshared,Z");
    assert_false(m.rw);
    vol_mount_clear(&m);

    assert_int_equal(vol_parse_bind("vol:/data", NULL, &m, &err), 0);
    assert_int_equal(m.type, VOL_MOUNT_VOLUME);
    assert_string_equal(m.source, "vol");
    assert_string_equal(m.mode, "z");
    assert_true(m.copy_data);
    vol_mount_clear(&m);

    assert_int_equal(vol_parse_bind("vol:/data:nocopy,ro", NULL, &m, &err), 0);
    assert_false(m.copy_data);
    assert_false(m.rw);
    assert_string_equal(m.mode, "nocopy,ro");
    vol_mount_clear(&m);

    assert_int_equal(vol_parse_bind("/data", "local", &m, &err), 0);
    assert_int_equal(m.type, VOL_MOUNT_VOLUME);
    assert_null(m.source);
    assert_string_equal(m.driver, "local");
    vol_mount_clear(&m);

    static const struct {
        const char *spec, *msg;
        int code;
    } bad[] = {
        {"/src:/dst:x", "invalid mode: x", EINVAL},
        {"/src:/dst:ro,rw", "invalid mode: ro,rw", EINVAL},
        {"/src:/dst:ro,", "invalid mode: ro,", EINVAL},
        {":/dst", "invalid volume specification: ':/dst'", EINVAL},
        {"/src:rw", "invalid volume specification: '/src:rw'", EINVAL},
        {"a:b:c:d", "invalid volume specification: 'a:b:c:d'", EINVAL},
        {"/src:relative",
         "invalid volume specification: '/src:relative': invalid mount config for type \"bind\": "
         "invalid mount path: 'relative' mount path must be absolute",
         EINVAL},
        {"/src:/",
         "invalid volume specification: '/src:/': invalid mount config for type \"bind\": invalid "
         "specification: destination can't be '/'",
         EINVAL},
        {"vol:/data:rshared",
         "invalid volume specification: 'vol:/data:rshared': invalid mount config for type "
         "\"volume\": field BindOptions must not be specified",
         EINVAL},
        {"/src:/dst:nocopy",
         "invalid volume specification: '/src:/dst:nocopy': invalid mount config for type "
         "\"bind\": field VolumeOptions must not be specified",
         EINVAL},
        {"x/y:/data",
         "create x/y: \"x/y\" includes invalid characters for a local volume name, only "
         "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, "
         "use absolute path",
         EINVAL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(vol_parse_bind(bad[i].spec, NULL, &m, &err), -1);
        expect_error(&err, bad[i].code, bad[i].msg);
    }
    assert_int_equal(vol_parse_bind("vol:/data", "nfsplug", &m, &err), -1);
    expect_error(&err, ENOENT,
                 "create vol: error looking up volume plugin nfsplug: plugin \"nfsplug\" not "
                 "found");
}

static void test_parse_mounts(void **state)
{
    struct vol_mount m;
    struct berr *err = NULL;
    _cleanup_free_ char *ok = xasprintf("{\"Type\":\"bind\",\"Source\":\"%s\",\"Target\":\"/x\","
                                        "\"ReadOnly\":true,\"BindOptions\":{\"NonRecursive\":"
                                        "true}}",
                                        scratch);
    _cleanup_json_ json_t *j = J(ok);
    assert_int_equal(vol_parse_mount(j, &m, &err), 0);
    assert_int_equal(m.type, VOL_MOUNT_BIND);
    assert_string_equal(m.source, scratch);
    assert_false(m.rw);
    assert_true(m.non_recursive);
    assert_false(m.create_source);
    assert_string_equal(m.propagation, "rprivate");
    assert_string_equal(m.mode, "");
    vol_mount_clear(&m);

    _cleanup_json_ json_t *create_mp = J("{\"Type\":\"bind\",\"Source\":\"/nonexistent/x\","
                                         "\"Target\":\"/x\",\"BindOptions\":{"
                                         "\"CreateMountpoint\":true}}");
    assert_int_equal(vol_parse_mount(create_mp, &m, &err), 0);
    assert_true(m.create_source);
    vol_mount_clear(&m);

    _cleanup_json_ json_t *tmpfs = J("{\"Type\":\"tmpfs\",\"Target\":\"/t\",\"TmpfsOptions\":{"
                                     "\"SizeBytes\":67108864,\"Mode\":1023,"
                                     "\"Options\":[[\"exec\"]]}}");
    assert_int_equal(vol_parse_mount(tmpfs, &m, &err), 0);
    assert_int_equal(m.type, VOL_MOUNT_TMPFS);
    assert_string_equal(m.tmpfs_data, "mode=1777,size=64m,exec");
    vol_mount_clear(&m);

    _cleanup_json_ json_t *vol = J("{\"Type\":\"volume\",\"Source\":\"v1\",\"Target\":\"/v\","
                                   "\"VolumeOptions\":{\"NoCopy\":true,\"Subpath\":\"a/b\","
                                   "\"Labels\":{\"l\":\"1\"},\"DriverConfig\":{\"Name\":"
                                   "\"local\",\"Options\":{\"type\":\"tmpfs\"}}}}");
    assert_int_equal(vol_parse_mount(vol, &m, &err), 0);
    assert_false(m.copy_data);
    assert_string_equal(m.subpath, "a/b");
    assert_string_equal(m.mode, "z");
    assert_non_null(json_object_get(m.labels, "l"));
    assert_non_null(json_object_get(m.driver_opts, "type"));
    vol_mount_clear(&m);

    static const struct {
        const char *spec, *msg;
        int code;
    } bad[] = {
        {"{\"Type\":\"bind\",\"Source\":\"/nonexistent/x\",\"Target\":\"/x\"}",
         "invalid mount config for type \"bind\": bind source path does not exist: "
         "/nonexistent/x",
         EINVAL},
        {"{\"Type\":\"bind\",\"Source\":\"rel\",\"Target\":\"/x\"}",
         "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be "
         "absolute",
         EINVAL},
        {"{\"Type\":\"bind\",\"Target\":\"/x\"}",
         "invalid mount config for type \"bind\": field Source must not be empty", EINVAL},
        {"{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Target\":\"/x\",\"BindOptions\":{"
         "\"Propagation\":\"bogus\"}}",
         "invalid mount config for type \"bind\": invalid propagation mode: bogus", EINVAL},
        {"{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Target\":\"/x\",\"VolumeOptions\":{}}",
         "invalid mount config for type \"bind\": field VolumeOptions must not be specified",
         EINVAL},
        {"{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Target\":\"/x\",\"BindOptions\":{"
         "\"ReadOnlyNonRecursive\":true}}",
         "mount options conflict: !ReadOnly && BindOptions.ReadOnlyNonRecursive", EINVAL},
        {"{\"Type\":\"volume\",\"Source\":\"v\"}",
         "invalid mount config for type \"volume\": field Target must not be empty", EINVAL},
        {"{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/\"}",
         "invalid mount config for type \"volume\": invalid specification: destination can't be "
         "'/'",
         EINVAL},
        {"{\"Type\":\"volume\",\"Target\":\"/x\",\"VolumeOptions\":{\"Subpath\":\"a\"}}",
         "invalid mount config for type \"volume\": must not set Subpath when using anonymous "
         "volumes",
         EINVAL},
        {"{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/x\",\"VolumeOptions\":{"
         "\"Subpath\":\"../a\"}}",
         "invalid mount config for type \"volume\": subpath must be a relative path within the "
         "volume",
         EINVAL},
        {"{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/x\",\"VolumeOptions\":{"
         "\"DriverConfig\":{\"Name\":\"nfsplug\"}}}",
         "create v: error looking up volume plugin nfsplug: plugin \"nfsplug\" not found", ENOENT},
        {"{\"Type\":\"tmpfs\",\"Source\":\"x\",\"Target\":\"/t\"}",
         "invalid mount config for type \"tmpfs\": field Source must not be specified", EINVAL},
        {"{\"Type\":\"tmpfs\",\"Target\":\"/t\",\"TmpfsOptions\":{\"Options\":[[\"uid\",\"0\"]]}}",
         "invalid mount config for type \"tmpfs\": invalid option: uid", EINVAL},
        {"{\"Type\":\"npipe\",\"Source\":\"x\",\"Target\":\"/t\"}",
         "invalid mount config for type \"npipe\": mount type unknown", EINVAL},
        {"{\"Source\":\"x\",\"Target\":\"/t\"}",
         "invalid mount config for type \"\": mount type unknown", EINVAL},
        {"{\"Type\":\"bind\",\"Source\":5,\"Target\":\"/t\"}",
         "invalid mount config: Source must be a string", EINVAL},
        {"{\"Type\":\"tmpfs\",\"Target\":\"/t\",\"TmpfsOptions\":{\"SizeBytes\":\"1\"}}",
         "invalid mount config: TmpfsOptions.SizeBytes must be an integer", EINVAL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        _cleanup_json_ json_t *b = J(bad[i].spec);
        assert_int_equal(vol_parse_mount(b, &m, &err), -1);
        expect_error(&err, bad[i].code, bad[i].msg);
    }
}

static void expect_options(const char *data, const char *want)
{
    struct berr *err = NULL;
    _cleanup_json_ json_t *o = vol_tmpfs_options(data, &err);
    if (o == NULL)
        fail_msg("%s: %s", data, err->msg);
    char buf[256];
    names_of(o, buf, sizeof(buf));
    if (strcmp(buf, want) != 0)
        fail_msg("options %s: got %s, want %s", data, buf, want);
}

static void test_tmpfs_and_volumes_from(void **state)
{
    expect_options("", "noexec,nosuid,nodev,rprivate");
    expect_options("size=64m,exec", "nosuid,nodev,rprivate,size=64m,exec");
    expect_options("rw,size=1m,mode=1777,size=2m,shared", "noexec,nosuid,nodev,rw,mode=1777,"
                                                          "size=2m,shared");
    struct berr *err = NULL;
    assert_null(vol_tmpfs_options("foo=1", &err));
    expect_error(&err, EINVAL, "invalid tmpfs option \"foo\"");
    struct vol_mount m;
    assert_int_equal(vol_parse_tmpfs("/run/", "ro,size=1m", &m, &err), 0);
    assert_string_equal(m.destination, "/run");
    assert_false(m.rw);
    vol_mount_clear(&m);
    vol_parse_tmpfs("/", "", &m, &err);
    expect_error(&err, EINVAL, "invalid specification: destination can't be '/'");
    vol_parse_tmpfs("run", "", &m, &err);
    expect_error(&err, EINVAL, "invalid mount path: 'run' mount path must be absolute");
    vol_parse_tmpfs("/run", "size=1m,bogus", &m, &err);
    expect_error(&err, EINVAL, "invalid tmpfs option \"bogus\"");

    char *c = NULL;
    bool rw = false;
    assert_int_equal(vol_parse_volumes_from("data", &c, &rw, &err), 0);
    assert_string_equal(c, "data");
    assert_true(rw);
    free(c);
    assert_int_equal(vol_parse_volumes_from("data:ro,z", &c, &rw, &err), 0);
    assert_string_equal(c, "data");
    assert_false(rw);
    free(c);
    static const char *const bad[][2] = {
        {"", "volumes-from specification cannot be an empty string"},
        {"data:x", "invalid mode: x"},
        {"data:rshared", "invalid mode: rshared"},
        {"data:nocopy", "invalid mode: nocopy"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(vol_parse_volumes_from(bad[i][0], &c, &rw, &err), -1);
        expect_error(&err, EINVAL, bad[i][1]);
    }
}

/* ---- resolving a container's mounts ---- */

/* A fake image root: /data owned 123:456 mode 0750 holding a file, a private directory, a
 * symlink to a host path (must stay a symlink) and a file capability xattr. */
static char *make_image(void)
{
    char *img = xasprintf("%s/image", scratch);
    _cleanup_free_ char *data = xasprintf("%s/data", img);
    _cleanup_free_ char *sub = xasprintf("%s/sub", data);
    _cleanup_free_ char *file = xasprintf("%s/file", data);
    _cleanup_free_ char *deep = xasprintf("%s/deep", sub);
    _cleanup_free_ char *lnk = xasprintf("%s/passwd-link", data);
    assert_int_equal(mkdir_p(sub, 0755, NULL), 0);
    write_text(file, "image content\n");
    write_text(deep, "deep\n");
    assert_int_equal(chown(file, 1000, 1001), 0);
    assert_int_equal(chmod(file, 0640), 0);
    assert_int_equal(chmod(sub, 0700), 0);
    assert_int_equal(symlink("/etc/passwd", lnk), 0);
    assert_int_equal(lsetxattr(file, "user.origin", "img", 3, 0), 0);
    assert_int_equal(chown(data, 123, 456), 0);
    assert_int_equal(chmod(data, 0750), 0);
    return img;
}

static int open_dir(const char *p)
{
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

/* The engine hands over its rootfs as an O_PATH directory fd. */
static int open_root(const char *p)
{
    int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

static int resolve(const char *hc_text, const char *cv_text, int rootfs, const char *cid,
                   json_t **oci, json_t **insp, struct berr **err)
{
    _cleanup_json_ json_t *hc = J(hc_text);
    _cleanup_json_ json_t *cv = cv_text ? J(cv_text) : NULL;
    return vol_resolve_mounts(vs, hc, cv, rootfs, cid, oci, insp, err);
}

static json_t *find_dest(json_t *arr, const char *key, const char *dest)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, key)), dest) == 0)
            return v;
    }
    fail_msg("no mount at %s", dest);
    return NULL;
}

static void test_resolve_and_seed(void **state)
{
    _cleanup_free_ char *img = make_image();
    _cleanup_close_ int rootfs = open_root(img);
    _cleanup_free_ char *hostdir = xasprintf("%s/host/new/dir", scratch);
    _cleanup_free_ char *hc = xasprintf("{\"Binds\":[\"named1:/data\",\"%s:/srv/host:ro\"],"
                                        "\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"/scratch\"}],"
                                        "\"Tmpfs\":{\"/run\":\"size=1m\"}}",
                                        hostdir);
    json_t *oci = NULL, *insp = NULL;
    struct berr *err = NULL;
    if (resolve(hc, "{\"/anon\":{},\"/data\":{}}", rootfs, CID, &oci, &insp, &err) < 0)
        fail_msg("%s", err->msg);
    _cleanup_json_ json_t *o = oci, *in = insp;
    assert_int_equal(json_array_size(oci), 5);
    assert_int_equal(json_array_size(insp), 4);

    /* Parents first: every one-level destination before /srv/host. */
    json_t *last = json_array_get(oci, 4);
    assert_string_equal(json_string_value(json_object_get(last, "destination")), "/srv/host");
    _cleanup_free_ char *bind_opts = json_dumps(json_object_get(last, "options"), 0);
    assert_string_equal(bind_opts, "[\"rbind\", \"rro\", \"rprivate\"]");
    assert_string_equal(json_string_value(json_object_get(last, "source")), hostdir);
    struct stat st;
    assert_int_equal(stat(hostdir, &st), 0);

    json_t *run = find_dest(oci, "destination", "/run");
    _cleanup_free_ char *run_opts = json_dumps(json_object_get(run, "options"), 0);
    assert_string_equal(run_opts, "[\"noexec\", \"nosuid\", \"nodev\", \"rprivate\", \"size=1m\"]");
    assert_string_equal(json_string_value(json_object_get(run, "type")), "tmpfs");

    json_t *named = find_dest(insp, "Destination", "/data");
    assert_string_equal(json_string_value(json_object_get(named, "Name")), "named1");
    assert_string_equal(json_string_value(json_object_get(named, "Mode")), "z");
    assert_string_equal(json_string_value(json_object_get(named, "Driver")), "local");
    assert_string_equal(json_string_value(json_object_get(named, "Propagation")), "");
    assert_true(json_is_true(json_object_get(named, "RW")));
    json_t *anon = find_dest(insp, "Destination", "/anon");
    assert_string_equal(json_string_value(json_object_get(anon, "Mode")), "");
    const char *anon_name = json_string_value(json_object_get(anon, "Name"));
    assert_int_equal(strlen(anon_name), 64);
    json_t *tm = find_dest(insp, "Destination", "/scratch");
    assert_string_equal(json_string_value(json_object_get(tm, "Type")), "tmpfs");
    json_t *hb = find_dest(insp, "Destination", "/srv/host");
    assert_string_equal(json_string_value(json_object_get(hb, "Mode")), "ro");
    assert_string_equal(json_string_value(json_object_get(hb, "Propagation")), "rprivate");
    assert_true(vol_held_by(vs, "named1", CID));
    assert_true(vol_held_by(vs, anon_name, CID));

    /* The image content arrived with owners, modes, xattrs; the symlink is still one. */
    _cleanup_free_ char *data = data_of("named1");
    assert_int_equal(stat(data, &st), 0);
    assert_int_equal(st.st_uid, 123);
    assert_int_equal(st.st_gid, 456);
    assert_int_equal(st.st_mode & 07777, 0750);
    _cleanup_free_ char *file = xasprintf("%s/file", data);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_uid, 1000);
    assert_int_equal(st.st_gid, 1001);
    assert_int_equal(st.st_mode & 07777, 0640);
    char x[8] = {0};
    assert_int_equal(getxattr(file, "user.origin", x, sizeof(x)), 3);
    assert_string_equal(x, "img");
    _cleanup_free_ char *text = read_file_at(AT_FDCWD, file, 100, NULL, NULL);
    assert_string_equal(text, "image content\n");
    _cleanup_free_ char *lnk = xasprintf("%s/passwd-link", data);
    assert_int_equal(lstat(lnk, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    char target[64] = {0};
    assert_true(readlink(lnk, target, sizeof(target)) > 0);
    assert_string_equal(target, "/etc/passwd");
    _cleanup_free_ char *sub = xasprintf("%s/sub", data);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    _cleanup_free_ char *deep = xasprintf("%s/sub/deep", data);
    assert_int_equal(access(deep, F_OK), 0);

    /* Again for the same container (create, then start): same answer, nothing new. */
    json_t *oci2 = NULL, *insp2 = NULL;
    assert_int_equal(resolve(hc, NULL, rootfs, CID, &oci2, &insp2, &err), 0);
    json_decref(oci2);
    json_decref(insp2);

    size_t before = json_array_size(events);
    vol_publish_mount_events(vs, CID, insp, true);
    assert_int_equal(json_array_size(events), before + 2); /* the two volumes */
    json_t *ev = json_array_get(events, before);
    assert_string_equal(json_string_value(json_object_get(ev, "action")), "mount");
    assert_string_equal(json_string_value(json_object_get(ev, "id")), "named1");
    _cleanup_free_ char *attrs = json_dumps(json_object_get(ev, "attrs"), JSON_SORT_KEYS);
    assert_string_equal(attrs, "{\"container\": \"" CID "\", \"destination\": \"/data\", "
                               "\"driver\": \"local\", \"propagation\": \"\", \"read/write\": "
                               "\"true\"}");

    /* docker rm -v: anonymous volumes go, named ones stay. */
    _cleanup_free_ char *anon_copy = xstrdup(anon_name);
    assert_int_equal(vol_release_container(vs, CID, true, &err), 0);
    assert_false(exists(anon_copy));
    assert_true(exists("named1"));
    assert_false(vol_held_by(vs, "named1", CID));
}

static void test_seed_rules(void **state)
{
    _cleanup_free_ char *img = make_image();
    _cleanup_close_ int rootfs = open_dir(img);
    struct berr *err = NULL;
    json_t *oci = NULL, *insp = NULL;

    /* nocopy: nothing copied. */
    assert_int_equal(
        resolve("{\"Binds\":[\"nc:/data:nocopy\"]}", NULL, rootfs, CID, &oci, &insp, &err), 0);
    json_decref(oci);
    json_decref(insp);
    _cleanup_free_ char *nc = data_of("nc");
    assert_int_equal(count_entries(nc), 0);

    /* A volume with content keeps it. */
    json_decref(create("full", NULL, NULL));
    _cleanup_free_ char *full = data_of("full");
    _cleanup_free_ char *keep = xasprintf("%s/keep", full);
    write_text(keep, "mine");
    assert_int_equal(resolve("{\"Binds\":[\"full:/data\"]}", NULL, rootfs, CID, &oci, &insp, &err),
                     0);
    json_decref(oci);
    json_decref(insp);
    assert_int_equal(count_entries(full), 1);

    /* An existing empty volume never seeded is seeded once; emptied later, it stays empty. */
    json_decref(create("empty", NULL, NULL));
    assert_int_equal(resolve("{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"empty\","
                             "\"Target\":\"/data\"}]}",
                             NULL, rootfs, CID, &oci, &insp, &err),
                     0);
    json_decref(oci);
    json_decref(insp);
    _cleanup_free_ char *empty = data_of("empty");
    assert_int_equal(count_entries(empty), 3);
    _cleanup_close_ int efd = open_dir(empty);
    assert_int_equal(vol_clear_dir(efd, NULL), 0);
    assert_int_equal(
        resolve("{\"Binds\":[\"empty:/data\"]}", NULL, rootfs, CID2, &oci, &insp, &err), 0);
    json_decref(oci);
    json_decref(insp);
    assert_int_equal(count_entries(empty), 0);

    /* An anonymous volume over a file of the image is refused, before anything is made. */
    assert_int_equal(resolve("{\"Binds\":[\"fresh:/x\"]}", "{\"/data/file\":{}}", rootfs, CID, &oci,
                             &insp, &err),
                     -1);
    expect_error(&err, EINVAL, "cannot mount volume over existing file, file exists /data/file");
    assert_false(exists("fresh"));

    /* Nothing at the destination in the image: nothing to copy, not an error. */
    assert_int_equal(
        resolve("{\"Binds\":[\"other:/nothing/here\"]}", NULL, rootfs, CID, &oci, &insp, &err), 0);
    json_decref(oci);
    json_decref(insp);
    assert_int_equal(vol_release_container(vs, CID, true, NULL), 0);
    assert_int_equal(vol_release_container(vs, CID2, true, NULL), 0);
}

static void test_seed_hostile_symlink(void **state)
{
    /* The image's /data points at /etc: inside the image that is the image's own /etc. */
    _cleanup_free_ char *img = xasprintf("%s/evil", scratch);
    _cleanup_free_ char *etc = xasprintf("%s/etc", img);
    _cleanup_free_ char *marker = xasprintf("%s/etc/image-file", img);
    _cleanup_free_ char *lnk = xasprintf("%s/data", img);
    _cleanup_free_ char *lnk2 = xasprintf("%s/up", img);
    assert_int_equal(mkdir_p(etc, 0755, NULL), 0);
    write_text(marker, "from the image");
    assert_int_equal(symlink("/etc", lnk), 0);
    assert_int_equal(symlink("../../../../../../etc", lnk2), 0);
    _cleanup_close_ int rootfs = open_dir(img);
    struct berr *err = NULL;
    json_t *oci = NULL, *insp = NULL;
    assert_int_equal(resolve("{\"Binds\":[\"evil1:/data\",\"evil2:/up\"]}", NULL, rootfs, CID, &oci,
                             &insp, &err),
                     0);
    json_decref(oci);
    json_decref(insp);
    for (int i = 1; i <= 2; i++) {
        _cleanup_free_ char *name = xasprintf("evil%d", i);
        _cleanup_free_ char *d = data_of(name);
        _cleanup_free_ char *passwd = xasprintf("%s/passwd", d);
        _cleanup_free_ char *mine = xasprintf("%s/image-file", d);
        assert_int_equal(access(passwd, F_OK), -1);
        assert_int_equal(access(mine, F_OK), 0);
        assert_int_equal(count_entries(d), 1);
    }
    /* Without an image root nothing is seeded at all. */
    assert_int_equal(resolve("{\"Binds\":[\"noroot:/etc\"]}", NULL, -1, CID, &oci, &insp, &err), 0);
    json_decref(oci);
    json_decref(insp);
    _cleanup_free_ char *nr = data_of("noroot");
    assert_int_equal(count_entries(nr), 0);
    assert_int_equal(vol_release_container(vs, CID, false, NULL), 0);
}

static void test_resolve_rollback(void **state)
{
    json_decref(create("pre", NULL, NULL));
    _cleanup_free_ char *dir = xasprintf("%s/rb", scratch);
    _cleanup_free_ char *hc = xasprintf(
        "{\"Binds\":[\"rb0:/a\",\"%s/x/y:/b\",\"pre:/d\"],\"Mounts\":[{\"Type\":\"volume\","
        "\"Source\":\"rb1\",\"Target\":\"/c\",\"VolumeOptions\":{\"Subpath\":\"missing\"}}]}",
        dir);
    struct berr *err = NULL;
    json_t *oci = NULL, *insp = NULL;
    assert_int_equal(resolve(hc, "{\"/anon\":{}}", -1, CID, &oci, &insp, &err), -1);
    assert_non_null(strstr(err->msg, "subpath missing of volume rb1"));
    berr_freep(&err);
    assert_false(exists("rb0"));
    assert_false(exists("rb1"));
    assert_true(exists("pre"));
    assert_false(vol_held_by(vs, "pre", CID));
    assert_int_equal(access(dir, F_OK), -1);
    _cleanup_json_ json_t *all = vol_list(vs, NULL, false, NULL);
    assert_int_equal(json_array_size(all), 1);

    /* A hold the container had before the failed call survives it. */
    assert_int_equal(vol_hold(vs, "pre", CID, NULL), 1);
    assert_int_equal(resolve(hc, NULL, -1, CID, &oci, &insp, &err), -1);
    berr_freep(&err);
    assert_true(vol_held_by(vs, "pre", CID));
    assert_int_equal(vol_release(vs, "pre", CID, NULL), 0);

    /* Invalid input is caught before anything is made. */
    static const char *const bad[][2] = {
        {"{\"Binds\":[\"ok1:/a\",\"ok2:/a\"]}", "Duplicate mount point: /a"},
        {"{\"Binds\":[\"ok1:/a\"],\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"ok2\","
         "\"Target\":\"/a/\"}]}",
         "Duplicate mount point: /a/"},
        {"{\"Binds\":[\"ok1:/run\"],\"Tmpfs\":{\"/run\":\"\"}}", "Duplicate mount point: /run"},
        {"{\"Binds\":[\"ok1:/a\",\"/x:/b:bad\"]}", "invalid mode: bad"},
        {"{\"Binds\":[\"ok1:/a\"],\"VolumesFrom\":[\"other\"]}",
         "volumes-from other: no container lookup configured"},
        {"{\"Binds\":\"ok1:/a\"}", "HostConfig.Binds must be an array"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(resolve(bad[i][0], NULL, -1, CID, &oci, &insp, &err), -1);
        expect_error(&err, EINVAL, bad[i][1]);
    }
    assert_false(exists("ok1"));
}

static int lookup(void *ctx, const char *name, char **id, json_t **mounts, struct berr **err)
{
    if (strcmp(name, "donor") != 0)
        return berr_code(err, ENOENT, "No such container: %s", name);
    *id = xstrdup(CID2);
    *mounts = J("[{\"Type\":\"volume\",\"Name\":\"shared\",\"Source\":\"x\",\"Destination\":"
                "\"/shared\",\"Driver\":\"local\",\"Mode\":\"z\",\"RW\":true,\"Propagation\":\"\"},"
                "{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Destination\":\"/hosttmp\",\"Mode\":\"\","
                "\"RW\":true,\"Propagation\":\"rslave\"}]");
    return 0;
}

static void test_volumes_from_and_subpath(void **state)
{
    json_decref(create("shared", NULL, NULL));
    vol_store_set_container_lookup(vs, lookup, NULL);
    struct berr *err = NULL;
    json_t *oci = NULL, *insp = NULL;
    if (resolve("{\"VolumesFrom\":[\"donor:ro\"],\"Binds\":[\"/tmp:/hosttmp\"]}", NULL, -1, CID,
                &oci, &insp, &err) < 0)
        fail_msg("%s", err->msg);
    _cleanup_json_ json_t *o = oci, *in = insp;
    json_t *sh = find_dest(insp, "Destination", "/shared");
    assert_false(json_is_true(json_object_get(sh, "RW")));
    assert_string_equal(json_string_value(json_object_get(sh, "Mode")), "");
    json_t *ht = find_dest(insp, "Destination", "/hosttmp"); /* the Bind replaced it */
    assert_true(json_is_true(json_object_get(ht, "RW")));
    assert_string_equal(json_string_value(json_object_get(ht, "Propagation")), "rprivate");
    assert_true(vol_held_by(vs, "shared", CID));

    assert_int_equal(resolve("{\"VolumesFrom\":[\"ghost\"]}", NULL, -1, CID, &oci, &insp, &err),
                     -1);
    expect_error(&err, EINVAL, "No such container: ghost");

    /* A subpath binds a directory inside the volume. */
    _cleanup_free_ char *data = data_of("shared");
    _cleanup_free_ char *sub = xasprintf("%s/sub", data);
    assert_int_equal(mkdir(sub, 0755), 0);
    json_t *oci2 = NULL, *insp2 = NULL;
    if (resolve("{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"shared\",\"Target\":\"/s\","
                "\"VolumeOptions\":{\"Subpath\":\"sub\"}}]}",
                NULL, -1, CID, &oci2, &insp2, &err) < 0)
        fail_msg("%s", err->msg);
    _cleanup_json_ json_t *o2 = oci2, *in2 = insp2;
    assert_string_equal(json_string_value(json_object_get(json_array_get(oci2, 0), "source")), sub);
    assert_int_equal(vol_release_container(vs, CID, false, NULL), 0);
    vol_store_set_container_lookup(vs, NULL, NULL);
}

static void test_local_tmpfs_volume(void **state)
{
    json_decref(
        create("tv", "{\"type\":\"tmpfs\",\"device\":\"tmpfs\",\"o\":\"size=1m,uid=1000\"}", NULL));
    struct berr *err = NULL;
    _cleanup_free_ char *path = vol_mount_for(vs, "tv", CID, &err);
    if (path == NULL && err->errnum == EPERM)
        skip();
    if (path == NULL)
        fail_msg("%s", err->msg);
    struct statfs sf;
    assert_int_equal(statfs(path, &sf), 0);
    assert_int_equal(sf.f_type, TMPFS_MAGIC);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, 1000);
    _cleanup_free_ char *p2 = vol_mount_for(vs, "tv", CID2, &err);
    assert_non_null(p2);
    vol_remove(vs, "tv", false, &err);
    assert_int_equal(err->errnum, EBUSY);
    berr_freep(&err);
    assert_int_equal(vol_release(vs, "tv", CID, &err), 0);
    assert_int_equal(statfs(path, &sf), 0);
    assert_int_equal(sf.f_type, TMPFS_MAGIC);
    assert_int_equal(vol_release(vs, "tv", CID2, &err), 0);
    assert_int_equal(statfs(path, &sf), 0);
    assert_true(sf.f_type != TMPFS_MAGIC);
    assert_int_equal(vol_remove(vs, "tv", false, &err), 0);

    /* A mount that cannot be made leaves no hold behind. */
    json_decref(create("badmnt", "{\"type\":\"nosuchfs\",\"device\":\"x\"}", NULL));
    _cleanup_free_ char *p3 = vol_mount_for(vs, "badmnt", CID, &err);
    assert_null(p3);
    assert_non_null(strstr(err->msg, "failed to mount local volume"));
    berr_freep(&err);
    assert_false(vol_held_by(vs, "badmnt", CID));
}

/* Prune running beside creators: a volume created with a hold is never taken from its
 * creator, and nothing is left half made. */
static void *creator(void *arg)
{
    char cid[16];
    snprintf(cid, sizeof(cid), "ctr%ld", (long)(intptr_t)arg);
    for (int i = 0; i < 40; i++) {
        struct berr *err = NULL;
        json_t *v = vol_create(vs, NULL, NULL, NULL, NULL, cid, NULL, &err);
        if (v == NULL)
            return err;
        const char *name = json_string_value(json_object_get(v, "Name"));
        _cleanup_free_ char *path = vol_mount_for(vs, name, cid, &err);
        if (path == NULL || vol_release(vs, name, cid, &err) < 0) {
            json_decref(v);
            return err;
        }
        json_decref(v);
    }
    return NULL;
}

static void *pruner(void *arg)
{
    for (int i = 0; i < 40; i++) {
        struct berr *err = NULL;
        json_t *r = vol_prune(vs, NULL, false, &err);
        if (r == NULL && err->errnum != EBUSY)
            return err;
        berr_free(err);
        json_decref(r);
    }
    return NULL;
}

static void test_concurrent_prune(void **state)
{
    pthread_t t[5];
    for (long i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, creator, (void *)(intptr_t)i), 0);
    assert_int_equal(pthread_create(&t[4], NULL, pruner, NULL), 0);
    for (int i = 0; i < 5; i++) {
        struct berr *err = NULL;
        pthread_join(t[i], (void **)&err);
        if (err)
            fail_msg("thread %d: %s", i, err->msg);
    }
    _cleanup_json_ json_t *left = prune(NULL, false);
    _cleanup_json_ json_t *all = vol_list(vs, NULL, false, NULL);
    assert_int_equal(json_array_size(all), 0);
    _cleanup_free_ char *vdir = xasprintf("%s/volumes", root);
    assert_int_equal(count_entries(vdir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_get_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anonymous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_binds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_mounts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tmpfs_and_volumes_from, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_and_seed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_hostile_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volumes_from_and_subpath, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_tmpfs_volume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_prune, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
