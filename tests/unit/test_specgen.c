/* Unit tests for the container spec generator: Docker's Config merge, user lookup beneath a
 * rootfs (symlinks out of it included), capabilities, resources and their errors, mounts,
 * namespaces, tmpfs options, sysctls, seccomp (default, unconfined, inline) and rlimits; and,
 * when the runtime's parser and seccomp compiler are linked in, that they accept the result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "engine/specgen.h"
#include "engine/userdb.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"

/* Linked only when tests/meson.build gives this test runtime/spec.c and runtime/seccomp.c;
 * the checks that need them are skipped otherwise. */
#pragma weak rt_spec_parse
#pragma weak rt_spec_free
#pragma weak rt_seccomp_compile
#pragma weak rt_seccomp_free

static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static char tmp[64];
static char rootfs[128];
static int rootfs_fd = -1;

/* ---- helpers ---- */

static void write_text(const char *path, const char *text)
{
    struct berr *err = NULL;
    if (write_file_at(AT_FDCWD, path, text, strlen(text), 0644, &err) < 0)
        fail_msg("write %s: %s", path, err->msg);
}

static void mkdirs(const char *path)
{
    struct berr *err = NULL;
    if (mkdir_p(path, 0755, &err) < 0)
        fail_msg("mkdir %s: %s", path, err->msg);
}

static json_t *parse(const char *text)
{
    if (text == NULL)
        return NULL;
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (j == NULL)
        fail_msg("bad test JSON %s: %s", text, jerr.text);
    return j;
}

static struct eng_spec_ctx base_ctx(void)
{
    return (struct eng_spec_ctx){
        .id = id,
        .rootfs = rootfs,
        .rootfs_fd = rootfs_fd,
        .hostname = "0123456789ab",
        .init_path = "/usr/libexec/berth-init",
        .cgroup_mode = ENG_CGROUP_LEGACY,
    };
}

static json_t *gen_ctx(const char *config, const char *hc, const struct eng_spec_ctx *ctx,
                       struct berr **err)
{
    _cleanup_json_ json_t *c = parse(config ? config : "{\"Cmd\":[\"sh\"]}");
    _cleanup_json_ json_t *h = parse(hc);
    return eng_spec_generate(c, h, ctx, err);
}

static json_t *gen(const char *config, const char *hc)
{
    struct eng_spec_ctx ctx = base_ctx();
    struct berr *err = NULL;
    json_t *spec = gen_ctx(config, hc, &ctx, &err);
    if (spec == NULL)
        fail_msg("unexpected error: %s", err->msg);
    return spec;
}

static void gen_fails_ctx(const char *config, const char *hc, const struct eng_spec_ctx *ctx,
                          const char *want)
{
    struct berr *err = NULL;
    _cleanup_json_ json_t *spec = gen_ctx(config, hc, ctx, &err);
    if (spec != NULL)
        fail_msg("expected an error containing '%s'", want);
    if (strstr(err->msg, want) == NULL)
        fail_msg("error '%s' does not contain '%s'", err->msg, want);
    assert_int_equal(err->errnum, EINVAL);
    berr_free(err);
}

static void gen_fails(const char *config, const char *hc, const char *want)
{
    struct eng_spec_ctx ctx = base_ctx();
    gen_fails_ctx(config, hc, &ctx, want);
}

/* root."a"."b"... (dotted object keys). */
static json_t *at(json_t *root, const char *path)
{
    _cleanup_free_ char *copy = xstrdup(path);
    char *save = NULL;
    json_t *v = root;
    for (char *k = strtok_r(copy, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    return v;
}

static bool has_str(json_t *arr, const char *s)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
            return true;
    }
    return false;
}

static char *dump(json_t *j)
{
    return json_dumps(j, JSON_COMPACT);
}

static void assert_json(json_t *j, const char *want)
{
    _cleanup_free_ char *got = dump(j);
    assert_string_equal(got, want);
}

static json_t *find_mount(json_t *spec, const char *dest, size_t *index)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(spec, "mounts"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0) {
            if (index)
                *index = i;
            return m;
        }
    }
    return NULL;
}

static size_t count_mounts(json_t *spec, const char *dest)
{
    size_t n = 0, i;
    json_t *m;
    json_array_foreach(json_object_get(spec, "mounts"), i, m)
    {
        n += strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0;
    }
    return n;
}

static json_t *find_ns(json_t *spec, const char *type)
{
    size_t i;
    json_t *ns;
    json_array_foreach(at(spec, "linux.namespaces"), i, ns)
    {
        if (strcmp(json_string_value(json_object_get(ns, "type")), type) == 0)
            return ns;
    }
    return NULL;
}

/* The first seccomp rule naming `name` with `action` (and, when want_args is false, no args). */
static json_t *find_rule(json_t *spec, const char *name, const char *action, bool want_args)
{
    size_t i;
    json_t *r;
    json_array_foreach(at(spec, "linux.seccomp.syscalls"), i, r)
    {
        bool args = json_array_size(json_object_get(r, "args")) > 0;
        if (args == want_args && has_str(json_object_get(r, "names"), name) &&
            strcmp(json_string_value(json_object_get(r, "action")), action) == 0)
            return r;
    }
    return NULL;
}

static bool allowed(json_t *spec, const char *name)
{
    return find_rule(spec, name, "SCMP_ACT_ALLOW", false) != NULL;
}

static bool refused_eperm(json_t *spec, const char *name)
{
    json_t *r = find_rule(spec, name, "SCMP_ACT_ERRNO", false);
    return r && json_integer_value(json_object_get(r, "errnoRet")) == 1;
}

static json_t *rlimit(json_t *spec, const char *type)
{
    size_t i;
    json_t *r;
    json_array_foreach(at(spec, "process.rlimits"), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "type")), type) == 0)
            return r;
    }
    return NULL;
}

/* ---- fixture: a rootfs with passwd and group ---- */

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/sh\n"
                                  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                                  "app:x:1000:1001:App:/home/app:/bin/sh\n"
                                  "  \n"
                                  "nohome:x:1002:1002::\n";
static const char group_text[] = "# comment\n"
                                 "root:x:0:root\n"
                                 "wheel:x:10:root,app\n"
                                 "app:x:1001:\n"
                                 "staff:x:50:app\n"
                                 "big:x:3000000000:\n";

static int setup(void **state)
{
    snprintf(tmp, sizeof(tmp), "/tmp/specgen-test-XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return -1;
    snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmp);
    char path[256];
    snprintf(path, sizeof(path), "%s/etc", rootfs);
    mkdirs(path);
    snprintf(path, sizeof(path), "%s/etc/passwd", rootfs);
    write_text(path, passwd_text);
    snprintf(path, sizeof(path), "%s/etc/group", rootfs);
    write_text(path, group_text);
    rootfs_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return rootfs_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    close(rootfs_fd);
    rm_rf_at(AT_FDCWD, tmp, NULL);
    return 0;
}

/* ---- config merge ---- */

static json_t *merge(const char *image, const char *req, struct berr **err)
{
    _cleanup_json_ json_t *i = parse(image);
    _cleanup_json_ json_t *r = parse(req);
    return eng_config_merge(i, r, err);
}

static json_t *merge_ok(const char *image, const char *req)
{
    struct berr *err = NULL;
    json_t *m = merge(image, req, &err);
    if (m == NULL)
        fail_msg("merge: %s", err->msg);
    return m;
}

static void merge_fails(const char *image, const char *req, const char *want)
{
    struct berr *err = NULL;
    _cleanup_json_ json_t *m = merge(image, req, &err);
    assert_null(m);
    if (strstr(err->msg, want) == NULL)
        fail_msg("error '%s' does not contain '%s'", err->msg, want);
    assert_int_equal(err->errnum, EINVAL);
    berr_free(err);
}

static void test_merge_env(void **state)
{
    _cleanup_json_ json_t *m =
        merge_ok("{\"Env\":[\"PATH=/img\",\"A=1\",\"C=img\"],\"Cmd\":[\"sh\"]}",
                 "{\"Env\":[\"A=2\",\"B=3\"]}");
    /* Docker: the request's entries first, then the image's that it does not set. */
    assert_json(json_object_get(m, "Env"), "[\"A=2\",\"B=3\",\"PATH=/img\",\"C=img\"]");
    _cleanup_json_ json_t *m2 = merge_ok("{\"Env\":[\"PATH=/img\"],\"Cmd\":[\"sh\"]}", "{}");
    assert_json(json_object_get(m2, "Env"), "[\"PATH=/img\"]");
}

static void test_merge_entrypoint_cmd(void **state)
{
    const char *img = "{\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"img-cmd\"]}";
    _cleanup_json_ json_t *a = merge_ok(img, "{}");
    assert_json(json_object_get(a, "Entrypoint"), "[\"/ep\"]");
    assert_json(json_object_get(a, "Cmd"), "[\"img-cmd\"]");
    /* Our own Entrypoint: the image's Cmd was meant for another program. */
    _cleanup_json_ json_t *b = merge_ok(img, "{\"Entrypoint\":[\"/mine\"]}");
    assert_json(json_object_get(b, "Entrypoint"), "[\"/mine\"]");
    assert_true(json_is_null(json_object_get(b, "Cmd")));
    _cleanup_json_ json_t *c = merge_ok(img, "{\"Cmd\":[\"x\"]}");
    assert_json(json_object_get(c, "Entrypoint"), "[\"/ep\"]");
    assert_json(json_object_get(c, "Cmd"), "[\"x\"]");
    /* [""] resets the Entrypoint to nothing and drops the image's Cmd. */
    _cleanup_json_ json_t *d = merge_ok(img, "{\"Entrypoint\":[\"\"],\"Cmd\":[\"sh\"]}");
    assert_true(json_is_null(json_object_get(d, "Entrypoint")));
    assert_json(json_object_get(d, "Cmd"), "[\"sh\"]");
    merge_fails(img, "{\"Entrypoint\":[\"\"]}", "no command specified");
    /* An empty array is no Entrypoint of its own: the image's Cmd stays. */
    _cleanup_json_ json_t *e = merge_ok(img, "{\"Entrypoint\":[]}");
    assert_json(json_object_get(e, "Entrypoint"), "[]");
    assert_json(json_object_get(e, "Cmd"), "[\"img-cmd\"]");
    /* A lone string is one word (strslice). */
    _cleanup_json_ json_t *f = merge_ok(NULL, "{\"Cmd\":\"echo hi\"}");
    assert_json(json_object_get(f, "Cmd"), "[\"echo hi\"]");
    merge_fails(NULL, "{}", "no command specified");
}

static void test_merge_fields(void **state)
{
    const char *img =
        "{\"Cmd\":[\"sh\"],\"User\":\"app\",\"WorkingDir\":\"/srv\","
        "\"StopSignal\":\"SIGQUIT\",\"Labels\":{\"a\":\"img\",\"b\":\"img\"},"
        "\"ExposedPorts\":{\"80/tcp\":{}},\"Volumes\":{\"/data\":{}},"
        "\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":5000000000,\"Retries\":3}}";
    _cleanup_json_ json_t *m = merge_ok(
        img, "{\"Labels\":{\"b\":\"req\",\"c\":\"req\"},\"ExposedPorts\":{\"443/tcp\":{}},"
             "\"Volumes\":{\"/logs\":{}},\"Healthcheck\":{\"Retries\":7},\"Image\":\"x\"}");
    assert_string_equal(json_string_value(json_object_get(m, "User")), "app");
    assert_string_equal(json_string_value(json_object_get(m, "WorkingDir")), "/srv");
    assert_string_equal(json_string_value(json_object_get(m, "StopSignal")), "SIGQUIT");
    assert_string_equal(json_string_value(at(m, "Labels.a")), "img");
    assert_string_equal(json_string_value(at(m, "Labels.b")), "req");
    assert_string_equal(json_string_value(at(m, "Labels.c")), "req");
    assert_int_equal(json_object_size(json_object_get(m, "ExposedPorts")), 2);
    assert_int_equal(json_object_size(json_object_get(m, "Volumes")), 2);
    assert_json(at(m, "Healthcheck.Test"), "[\"CMD\",\"true\"]");
    assert_int_equal(json_integer_value(at(m, "Healthcheck.Interval")), 5000000000LL);
    assert_int_equal(json_integer_value(at(m, "Healthcheck.Retries")), 7);
    /* Request values win. */
    _cleanup_json_ json_t *n = merge_ok(img, "{\"User\":\"root\",\"WorkingDir\":\"/w\"}");
    assert_string_equal(json_string_value(json_object_get(n, "User")), "root");
    assert_string_equal(json_string_value(json_object_get(n, "WorkingDir")), "/w");
    /* Every key docker inspect shows, empty ones as Docker leaves them. */
    _cleanup_json_ json_t *o = merge_ok(NULL, "{\"Cmd\":[\"sh\"]}");
    assert_string_equal(json_string_value(json_object_get(o, "Hostname")), "");
    assert_true(json_is_false(json_object_get(o, "Tty")));
    assert_true(json_is_null(json_object_get(o, "Env")));
    assert_true(json_is_null(json_object_get(o, "Volumes")));
    assert_int_equal(json_object_size(json_object_get(o, "Labels")), 0);
    assert_null(json_object_get(o, "ExposedPorts"));
    assert_null(json_object_get(o, "Healthcheck"));
    assert_null(json_object_get(o, "StopSignal"));
}

static void test_merge_types(void **state)
{
    merge_fails(NULL, "{\"Cmd\":[\"sh\"],\"Env\":[\"A=1\",2]}", "Config.Env[1]: expected a string");
    merge_fails(NULL, "{\"Cmd\":{\"a\":1}}", "Config.Cmd: expected an array of strings");
    merge_fails(NULL, "{\"Cmd\":[\"sh\"],\"Labels\":{\"a\":1}}", "Config.Labels[\"a\"]");
    merge_fails(NULL, "{\"Cmd\":[\"sh\"],\"Tty\":\"yes\"}", "Config.Tty: expected a boolean");
    merge_fails("{\"Env\":\"A=1\"}", "{\"Cmd\":[\"sh\"]}", "image config.Env");
    merge_fails(NULL, "[]", "Config: expected an object");
    merge_fails(NULL, "{\"Cmd\":[\"sh\"],\"Healthcheck\":{\"Interval\":10}}",
                "Interval in Healthcheck cannot be less than 1ms");
    merge_fails(NULL, "{\"Cmd\":[\"sh\"],\"Healthcheck\":{\"Retries\":-1}}",
                "Retries in Healthcheck cannot be negative");
    merge_fails(NULL,
                "{\"Cmd\":[\"sh\"],\"Hostname\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaa\"}",
                "is too long (maximum 64 bytes)");
}

/* ---- users ---- */

static void resolve(const char *spec, const char *const *groups, uint32_t uid, uint32_t gid,
                    const char *gids, const char *home)
{
    struct eng_user u;
    struct berr *err = NULL;
    if (eng_user_resolve(rootfs_fd, spec, groups, &u, &err) < 0)
        fail_msg("resolve '%s': %s", spec, err->msg);
    assert_int_equal(u.uid, uid);
    assert_int_equal(u.gid, gid);
    char buf[256] = "";
    for (size_t i = 0; i < u.n_gids; i++)
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%u", i ? "," : "", u.gids[i]);
    assert_string_equal(buf, gids);
    assert_string_equal(u.home, home);
    eng_user_clear(&u);
}

static void resolve_fails_at(int fd, const char *spec, const char *const *groups, const char *want)
{
    struct eng_user u;
    struct berr *err = NULL;
    if (eng_user_resolve(fd, spec, groups, &u, &err) == 0)
        fail_msg("resolving '%s' should fail with '%s'", spec, want);
    if (strstr(err->msg, want) == NULL)
        fail_msg("error '%s' does not contain '%s'", err->msg, want);
    assert_null(u.gids);
    berr_free(err);
}

static void test_user_resolution(void **state)
{
    resolve("", NULL, 0, 0, "0,10", "/root");
    resolve("root", NULL, 0, 0, "0,10", "/root");
    resolve("app", NULL, 1000, 1001, "1001,10,50", "/home/app");
    resolve("1000", NULL, 1000, 1001, "1001,10,50", "/home/app");
    /* A uid not in passwd: gid 0 and HOME "/", as Docker. */
    resolve("4242", NULL, 4242, 0, "0", "/");
    resolve("nohome", NULL, 1002, 1002, "1002", "/");
    /* An explicit group: no supplementary groups from membership. */
    resolve("app:staff", NULL, 1000, 50, "50", "/home/app");
    resolve("app:777", NULL, 1000, 777, "777", "/home/app");
    resolve("4242:wheel", NULL, 4242, 10, "10", "/");
    resolve("daemon:root:extra", NULL, 1, 0, "0", "/usr/sbin");
    const char *add[] = {"staff", "999", "10", NULL};
    resolve("daemon", add, 1, 1, "1,50,999,10", "/usr/sbin");

    resolve_fails_at(rootfs_fd, "nobody", NULL,
                     "unable to find user nobody: no matching entries in passwd file");
    resolve_fails_at(rootfs_fd, "app:nogroup", NULL,
                     "unable to find group nogroup: no matching entries in group file");
    const char *bad_add[] = {"staff", "ghosts", NULL};
    resolve_fails_at(rootfs_fd, "app", bad_add,
                     "unable to find group ghosts: no matching entries in group file");
    const char *big[] = {"big", NULL};
    resolve_fails_at(rootfs_fd, "app", big, "uids and gids must be in range 0-2147483647");
    resolve_fails_at(rootfs_fd, "-1", NULL, "uids and gids must be in range");
    resolve_fails_at(rootfs_fd, "99999999999999999999", NULL, "uids and gids must be in range");
    resolve_fails_at(rootfs_fd, "app:3000000000", NULL, "uids and gids must be in range");
}

static int make_rootfs(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", tmp, name);
    char etc[256];
    snprintf(etc, sizeof(etc), "%s/etc", out);
    mkdirs(etc);
    int fd = open(out, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

static void test_user_symlinks_stay_inside(void **state)
{
    char host_file[256], dir[256], link[300], inner[300];
    snprintf(host_file, sizeof(host_file), "%s/host-passwd", tmp);
    write_text(host_file, "evil:x:0:0::/evil:/bin/sh\n");

    /* Absolute: resolved as if the rootfs were "/", so it names <rootfs>/tmp/... */
    _cleanup_close_ int abs_fd = make_rootfs("abs", dir, sizeof(dir));
    snprintf(link, sizeof(link), "%s/etc/passwd", dir);
    assert_int_equal(symlink(host_file, link), 0);
    resolve_fails_at(abs_fd, "evil", NULL, "unable to find user evil");
    /* Relative, climbing out with "..": stops at the rootfs's root. */
    _cleanup_close_ int rel_fd = make_rootfs("rel", dir, sizeof(dir));
    snprintf(link, sizeof(link), "%s/etc/passwd", dir);
    assert_int_equal(symlink("../../../../../../host-passwd", link), 0);
    resolve_fails_at(rel_fd, "evil", NULL, "unable to find user evil");
    /* Numeric users need no passwd. */
    struct eng_user u;
    struct berr *err = NULL;
    assert_int_equal(eng_user_resolve(rel_fd, "5:6", NULL, &u, &err), 0);
    assert_int_equal(u.uid, 5);
    assert_int_equal(u.gid, 6);
    eng_user_clear(&u);

    /* The walk used without openat2 gives the same answers. */
    for (int walk = 0; walk < 2; walk++) {
        int fd = eng_open_in_root(abs_fd, "/etc/passwd", O_RDONLY, walk);
        assert_int_equal(fd, -1);
        assert_int_equal(errno, ENOENT);
        fd = eng_open_in_root(rel_fd, "etc/passwd", O_RDONLY, walk);
        assert_int_equal(fd, -1);
        assert_int_equal(errno, ENOENT);
    }

    /* A symlink that stays inside is followed, in both modes. */
    _cleanup_close_ int in_fd = make_rootfs("inner", dir, sizeof(dir));
    snprintf(inner, sizeof(inner), "%s/data", dir);
    mkdirs(inner);
    snprintf(inner, sizeof(inner), "%s/data/pw", dir);
    write_text(inner, "inner:x:77:78::/in:/bin/sh\n");
    snprintf(link, sizeof(link), "%s/etc/passwd", dir);
    assert_int_equal(symlink("/data/../data/./pw", link), 0);
    snprintf(link, sizeof(link), "%s/lnk", dir);
    assert_int_equal(symlink("etc", link), 0);
    for (int walk = 0; walk < 2; walk++) {
        _cleanup_close_ int fd = eng_open_in_root(in_fd, "/lnk/../lnk/passwd", O_RDONLY, walk);
        assert_true(fd >= 0);
        char buf[64] = "";
        assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
        assert_non_null(strstr(buf, "inner:"));
    }
    struct eng_user iu;
    assert_int_equal(eng_user_resolve(in_fd, "inner", NULL, &iu, &err), 0);
    assert_int_equal(iu.uid, 77);
    assert_string_equal(iu.home, "/in");
    eng_user_clear(&iu);

    /* A FIFO as /etc/passwd must not hang the daemon. */
    _cleanup_close_ int fifo_fd = make_rootfs("fifo", dir, sizeof(dir));
    snprintf(link, sizeof(link), "%s/etc/passwd", dir);
    assert_int_equal(mkfifo(link, 0644), 0);
    resolve_fails_at(fifo_fd, "app", NULL, "is not a regular file");
}

/* ---- the spec ---- */

static void test_default_spec(void **state)
{
    _cleanup_json_ json_t *s = gen("{\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"a\",\"b\"]}", NULL);
    assert_string_equal(json_string_value(at(s, "ociVersion")), "1.1.0");
    assert_json(at(s, "process.args"), "[\"/ep\",\"a\",\"b\"]");
    assert_json(at(s, "process.env"),
                "[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
                "\"HOSTNAME=0123456789ab\",\"HOME=/root\"]");
    assert_string_equal(json_string_value(at(s, "process.cwd")), "/");
    assert_true(json_is_false(at(s, "process.terminal")));
    assert_json(at(s, "process.user"), "{\"uid\":0,\"gid\":0,\"additionalGids\":[0,10]}");
    assert_json(at(s, "process.capabilities.bounding"),
                "[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\","
                "\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\","
                "\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\"]");
    assert_true(json_equal(at(s, "process.capabilities.bounding"),
                           at(s, "process.capabilities.effective")));
    assert_true(json_equal(at(s, "process.capabilities.bounding"),
                           at(s, "process.capabilities.permitted")));
    assert_null(at(s, "process.capabilities.inheritable"));
    assert_null(at(s, "process.noNewPrivileges"));
    assert_int_equal(json_integer_value(at(s, "process.oomScoreAdj")), 0);
    assert_string_equal(json_string_value(at(s, "root.path")), rootfs);
    assert_true(json_is_false(at(s, "root.readonly")));
    assert_string_equal(json_string_value(at(s, "hostname")), "0123456789ab");
    assert_null(at(s, "domainname"));

    const char *order[] = {"/proc",          "/dev",        "/dev/pts", "/sys",
                           "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"};
    json_t *mounts = json_object_get(s, "mounts");
    assert_int_equal(json_array_size(mounts), ARRAY_SIZE(order));
    for (size_t i = 0; i < ARRAY_SIZE(order); i++)
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(mounts, i), "destination")), order[i]);
    assert_json(find_mount(s, "/dev", NULL),
                "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":"
                "[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]}");
    assert_json(json_object_get(find_mount(s, "/dev/pts", NULL), "options"),
                "[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\","
                "\"gid=5\"]");
    assert_json(json_object_get(find_mount(s, "/sys", NULL), "options"),
                "[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]");
    assert_json(json_object_get(find_mount(s, "/sys/fs/cgroup", NULL), "options"),
                "[\"ro\",\"nosuid\",\"noexec\",\"nodev\"]");
    assert_json(find_mount(s, "/dev/shm", NULL),
                "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":"
                "[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=67108864\"]}");

    char cg[128];
    snprintf(cg, sizeof(cg), "/berth/%s", id);
    assert_string_equal(json_string_value(at(s, "linux.cgroupsPath")), cg);
    assert_json(at(s, "linux.namespaces"), "[{\"type\":\"mount\"},{\"type\":\"network\"},"
                                           "{\"type\":\"uts\"},{\"type\":\"pid\"},"
                                           "{\"type\":\"ipc\"}]");
    assert_true(has_str(at(s, "linux.maskedPaths"), "/proc/kcore"));
    assert_true(has_str(at(s, "linux.maskedPaths"), "/sys/firmware"));
    assert_json(at(s, "linux.readonlyPaths"), "[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\","
                                              "\"/proc/sys\",\"/proc/sysrq-trigger\"]");
    json_t *rules = at(s, "linux.resources.devices");
    assert_json(json_array_get(rules, 0), "{\"allow\":false,\"access\":\"rwm\"}");
    assert_json(json_array_get(rules, 7),
                "{\"allow\":false,\"type\":\"c\",\"major\":10,\"minor\":229,\"access\":\"rwm\"}");
    assert_int_equal(json_array_size(rules), 8);
    assert_json(at(s, "linux.devices"), "[]");
    assert_json(at(s, "linux.resources.memory"), "{\"disableOOMKiller\":false}");
    assert_null(at(s, "linux.resources.cpu"));
    assert_null(at(s, "linux.resources.pids"));
    assert_non_null(at(s, "linux.seccomp"));
    assert_true(json_is_object(at(s, "linux.sysctl")));
}

static void test_env_and_cwd(void **state)
{
    _cleanup_json_ json_t *s =
        gen("{\"Cmd\":[\"sh\"],\"Tty\":true,\"User\":\"app\",\"WorkingDir\":\"/srv/./x/\","
            "\"Env\":[\"PATH=/custom\",\"A=1\",\"HOSTNAME\",\"A=2\"]}",
            "{\"ConsoleSize\":[24,80]}");
    assert_json(at(s, "process.env"),
                "[\"PATH=/custom\",\"TERM=xterm\",\"A=1\",\"A=2\",\"HOME=/home/app\"]");
    assert_string_equal(json_string_value(at(s, "process.cwd")), "/srv/x");
    assert_true(json_is_true(at(s, "process.terminal")));
    assert_json(at(s, "process.consoleSize"), "{\"height\":24,\"width\":80}");
    assert_json(at(s, "process.user"), "{\"uid\":1000,\"gid\":1001,\"additionalGids\":"
                                       "[1001,10,50]}");
    _cleanup_json_ json_t *h =
        gen("{\"Cmd\":[\"sh\"],\"Env\":[\"HOME=/h\"]}", "{\"GroupAdd\":[\"staff\",\"4000\"]}");
    assert_true(has_str(at(h, "process.env"), "HOME=/h"));
    assert_int_equal(json_array_size(at(h, "process.env")), 3);
    assert_json(at(h, "process.user.additionalGids"), "[0,10,50,4000]");
    gen_fails("{\"Cmd\":[\"sh\"],\"WorkingDir\":\"rel\"}", NULL,
              "the working directory 'rel' is invalid, it needs to be an absolute path");
    gen_fails("{\"Cmd\":[\"sh\"],\"User\":\"ghost\"}", NULL,
              "unable to find user ghost: no matching entries in passwd file");
    gen_fails("{\"Cmd\":[]}", NULL, "no command specified");
    gen_fails("{\"Cmd\":[\"sh\"]}", "{\"Memory\":\"1g\"}",
              "HostConfig.Memory: expected an integer, got a string");
}

static void test_caps(void **state)
{
    _cleanup_json_ json_t *a =
        gen(NULL, "{\"CapAdd\":[\"NET_ADMIN\",\"cap_sys_ptrace\"],\"CapDrop\":[\"mknod\","
                  "\"CAP_KILL\"]}");
    json_t *b = at(a, "process.capabilities.bounding");
    assert_true(has_str(b, "CAP_NET_ADMIN"));
    assert_true(has_str(b, "CAP_SYS_PTRACE"));
    assert_false(has_str(b, "CAP_MKNOD"));
    assert_false(has_str(b, "CAP_KILL"));
    assert_int_equal(json_array_size(b), 14);
    _cleanup_json_ json_t *c = gen(NULL, "{\"CapDrop\":[\"ALL\"],\"CapAdd\":[\"chown\"]}");
    assert_json(at(c, "process.capabilities.bounding"), "[\"CAP_CHOWN\"]");
    _cleanup_json_ json_t *d = gen(NULL, "{\"CapDrop\":[\"all\"]}");
    assert_json(at(d, "process.capabilities.bounding"), "[]");

    struct eng_spec_ctx ctx = base_ctx();
    /* A bounding set without CAP_SYS_RESOURCE (24) and CAP_BPF (39), like these VMs'. */
    ctx.cap_bounding = ((1ULL << 41) - 1) & ~(1ULL << 24) & ~(1ULL << 39);
    struct berr *err = NULL;
    _cleanup_json_ json_t *all =
        gen_ctx(NULL, "{\"CapAdd\":[\"ALL\"],\"CapDrop\":[\"NET_RAW\"]}", &ctx, &err);
    assert_non_null(all);
    b = at(all, "process.capabilities.bounding");
    assert_int_equal(json_array_size(b), 38);
    assert_false(has_str(b, "CAP_SYS_RESOURCE"));
    assert_false(has_str(b, "CAP_NET_RAW"));
    assert_true(has_str(b, "CAP_SYS_ADMIN"));
    gen_fails_ctx(NULL, "{\"CapAdd\":[\"SYS_RESOURCE\"]}", &ctx,
                  "invalid CapAdd: capability not supported by your kernel or not available in "
                  "the current environment: \"CAP_SYS_RESOURCE\"");
    gen_fails(NULL, "{\"CapAdd\":[\"CAP_FOO\"]}",
              "invalid CapAdd: unknown capability: \"CAP_FOO\"");
    gen_fails(NULL, "{\"CapDrop\":[\"bar\"]}", "invalid CapDrop: unknown capability: \"CAP_BAR\"");
    gen_fails(NULL, "{\"CapAdd\":[1]}", "HostConfig.CapAdd[0]: expected a string");
}

static void test_privileged(void **state)
{
    struct eng_spec_ctx ctx = base_ctx();
    ctx.cap_bounding = ((1ULL << 41) - 1) & ~(1ULL << 24);
    struct berr *err = NULL;
    _cleanup_json_ json_t *s =
        gen_ctx(NULL, "{\"Privileged\":true,\"CapDrop\":[\"CHOWN\"]}", &ctx, &err);
    assert_non_null(s);
    json_t *b = at(s, "process.capabilities.bounding");
    assert_int_equal(json_array_size(b), 40);
    assert_false(has_str(b, "CAP_SYS_RESOURCE"));
    assert_true(has_str(b, "CAP_CHOWN"));
    assert_true(has_str(b, "CAP_CHECKPOINT_RESTORE"));
    assert_null(at(s, "linux.seccomp"));
    assert_json(at(s, "linux.maskedPaths"), "[]");
    assert_json(at(s, "linux.readonlyPaths"), "[]");
    assert_json(json_object_get(find_mount(s, "/sys", NULL), "options"),
                "[\"nosuid\",\"noexec\",\"nodev\"]");
    assert_json(json_object_get(find_mount(s, "/sys/fs/cgroup", NULL), "options"),
                "[\"nosuid\",\"noexec\",\"nodev\"]");
    /* The host's nodes, and a cgroup that allows everything after the defaults. */
    bool has_null = false;
    size_t i;
    json_t *d;
    json_array_foreach(at(s, "linux.devices"), i, d)
    {
        const char *p = json_string_value(json_object_get(d, "path"));
        has_null = has_null || strcmp(p, "/dev/null") == 0;
        assert_true(strncmp(p, "/dev/pts/", 9) != 0);
        assert_true(strcmp(p, "/dev/console") != 0);
    }
    assert_true(has_null);
    json_t *rules = at(s, "linux.resources.devices");
    assert_json(json_array_get(rules, json_array_size(rules) - 1),
                "{\"allow\":true,\"access\":\"rwm\"}");
    /* Asked for explicitly, the default profile applies even here. */
    _cleanup_json_ json_t *sc =
        gen_ctx(NULL, "{\"Privileged\":true,\"SecurityOpt\":[\"seccomp=builtin\"]}", &ctx, &err);
    assert_non_null(at(sc, "linux.seccomp"));
    assert_true(allowed(sc, "mount"));
    /* Cgroups writable on request without privileges. */
    _cleanup_json_ json_t *w = gen(NULL, "{\"SecurityOpt\":[\"writable-cgroups=true\"]}");
    assert_false(has_str(json_object_get(find_mount(w, "/sys/fs/cgroup", NULL), "options"), "ro"));
    assert_true(has_str(json_object_get(find_mount(w, "/sys", NULL), "options"), "ro"));
}

static void test_resources(void **state)
{
    _cleanup_json_ json_t *s =
        gen(NULL, "{\"Memory\":67108864,\"MemoryReservation\":33554432,\"MemorySwappiness\":10,"
                  "\"OomKillDisable\":true,\"NanoCpus\":1500000000,\"CpuShares\":512,"
                  "\"CpuRealtimePeriod\":1000000,\"CpuRealtimeRuntime\":950000,"
                  "\"CpusetCpus\":\"0\",\"CpusetMems\":\"0\",\"PidsLimit\":100,"
                  "\"BlkioWeight\":300}");
    assert_json(at(s, "linux.resources.memory"),
                "{\"limit\":67108864,\"reservation\":33554432,\"swap\":134217728,"
                "\"swappiness\":10,\"disableOOMKiller\":true}");
    assert_json(at(s, "linux.resources.cpu"),
                "{\"shares\":512,\"quota\":150000,\"period\":100000,\"realtimePeriod\":1000000,"
                "\"realtimeRuntime\":950000,\"cpus\":\"0\",\"mems\":\"0\"}");
    assert_json(at(s, "linux.resources.pids"), "{\"limit\":100}");
    assert_json(at(s, "linux.resources.blockIO"), "{\"weight\":300}");
    _cleanup_json_ json_t *t =
        gen(NULL, "{\"Memory\":67108864,\"MemorySwap\":-1,\"MemorySwappiness\":-1,"
                  "\"PidsLimit\":0,\"CpuPeriod\":50000,\"CpuQuota\":25000}");
    assert_json(at(t, "linux.resources.memory"), "{\"limit\":67108864,\"disableOOMKiller\":false}");
    assert_json(at(t, "linux.resources.pids"), "{\"limit\":-1}");
    assert_json(at(t, "linux.resources.cpu"), "{\"period\":50000,\"quota\":25000}");
    _cleanup_json_ json_t *u = gen(NULL, "{\"Memory\":67108864,\"MemorySwap\":100000000,"
                                         "\"PidsLimit\":-1}");
    assert_int_equal(json_integer_value(at(u, "linux.resources.memory.swap")), 100000000);
    assert_json(at(u, "linux.resources.pids"), "{\"limit\":-1}");
}

static void test_resource_errors(void **state)
{
    gen_fails(NULL, "{\"Memory\":1024}", "Minimum memory limit allowed is 6MB");
    gen_fails(NULL, "{\"Memory\":67108864,\"MemorySwap\":1000000}",
              "Minimum memoryswap limit should be larger than memory limit, see usage");
    gen_fails(NULL, "{\"MemorySwap\":67108864}",
              "You should always set the Memory limit when using Memoryswap limit, see usage");
    gen_fails(NULL, "{\"MemorySwappiness\":101}",
              "Invalid value: 101, valid memory swappiness range is 0-100");
    gen_fails(NULL, "{\"MemoryReservation\":1000}", "Minimum memory reservation allowed is 6MB");
    gen_fails(NULL, "{\"Memory\":7000000,\"MemoryReservation\":8000000}",
              "Minimum memory limit can not be less than memory reservation limit, see usage");
    gen_fails(NULL, "{\"NanoCpus\":1000000000,\"CpuPeriod\":100000}",
              "Conflicting options: Nano CPUs and CPU Period cannot both be set");
    gen_fails(NULL, "{\"NanoCpus\":1000000000,\"CpuQuota\":100000}",
              "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    gen_fails(NULL, "{\"NanoCpus\":100000000000000}", "range of CPUs is from 0.01 to ");
    gen_fails(NULL, "{\"NanoCpus\":-1}", "range of CPUs is from 0.01 to ");
    gen_fails(NULL, "{\"CpuPeriod\":999}",
              "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s "
              "(i.e. 1000000)");
    gen_fails(NULL, "{\"CpuQuota\":999}", "CPU cfs quota can not be less than 1ms (i.e. 1000)");
    gen_fails(NULL, "{\"CpuShares\":-2}",
              "invalid CPU shares (-2): value must be a positive integer");
    gen_fails(NULL, "{\"CpusetCpus\":\"0-x\"}", "Invalid value 0-x for cpuset cpus");
    gen_fails(NULL, "{\"CpusetCpus\":\"4000\"}",
              "Requested CPUs are not available - requested 4000");
    gen_fails(NULL, "{\"BlkioWeight\":5}", "Range of blkio weight is from 10 to 1000");
    gen_fails(NULL, "{\"IOMaximumIOps\":5}",
              "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO "
              "IOps");
    gen_fails(NULL, "{\"ShmSize\":-1}", "SHM size can not be less than 0");
    gen_fails(NULL, "{\"OomScoreAdj\":1001}",
              "Invalid value 1001, range for oom score adj is [-1000, 1000]");
    gen_fails(NULL, "{\"BlkioDeviceReadBps\":[{\"Path\":\"/nonexistent-dev\",\"Rate\":1}]}",
              "HostConfig.BlkioDeviceReadBps[0]: stat /nonexistent-dev");
    gen_fails(NULL, "{\"BlkioWeightDevice\":[{\"Path\":\"/dev/null\",\"Weight\":100}]}",
              "/dev/null is not a block device");
    _cleanup_json_ json_t *s = gen(NULL, "{\"OomScoreAdj\":-500}");
    assert_int_equal(json_integer_value(at(s, "process.oomScoreAdj")), -500);
}

/* A block device of this host, if it has one. */
static bool find_block_device(char *out, size_t n, struct stat *st)
{
    static const char *const candidates[] = {"/dev/loop0", "/dev/vda", "/dev/sda", "/dev/nvme0n1",
                                             "/dev/ram0"};
    for (size_t i = 0; i < ARRAY_SIZE(candidates); i++)
        if (stat(candidates[i], st) == 0 && S_ISBLK(st->st_mode)) {
            snprintf(out, n, "%s", candidates[i]);
            return true;
        }
    return false;
}

static void test_block_io_devices(void **state)
{
    char dev[64], hc[512], want[256];
    struct stat st;
    if (!find_block_device(dev, sizeof(dev), &st))
        skip();
    snprintf(hc, sizeof(hc),
             "{\"BlkioWeightDevice\":[{\"Path\":\"%s\",\"Weight\":200}],"
             "\"BlkioDeviceWriteIOps\":[{\"Path\":\"%s\",\"Rate\":1000}]}",
             dev, dev);
    _cleanup_json_ json_t *s = gen(NULL, hc);
    snprintf(want, sizeof(want),
             "{\"weightDevice\":[{\"major\":%u,\"minor\":%u,\"weight\":200}],"
             "\"throttleWriteIOPSDevice\":[{\"major\":%u,\"minor\":%u,\"rate\":1000}]}",
             major(st.st_rdev), minor(st.st_rdev), major(st.st_rdev), minor(st.st_rdev));
    assert_json(at(s, "linux.resources.blockIO"), want);
}

static void test_devices(void **state)
{
    char dir[256], node[300], hc[700];
    snprintf(dir, sizeof(dir), "%s/devdir/sub", tmp);
    mkdirs(dir);
    snprintf(node, sizeof(node), "%s/devdir/full", tmp);
    /* Making device nodes needs CAP_MKNOD. */
    if (mknod(node, S_IFCHR | 0640, makedev(1, 7)) < 0 && errno == EPERM)
        skip();
    snprintf(node, sizeof(node), "%s/devdir/sub/random", tmp);
    assert_int_equal(mknod(node, S_IFCHR | 0600, makedev(1, 8)), 0);
    snprintf(node, sizeof(node), "%s/devdir/plain", tmp);
    write_text(node, "not a device");
    snprintf(hc, sizeof(hc),
             "{\"Devices\":[{\"PathOnHost\":\"/dev/null\",\"PathInContainer\":\"/dev/mynull\","
             "\"CgroupPermissions\":\"rw\"},{\"PathOnHost\":\"%s/devdir\","
             "\"PathInContainer\":\"/dev/mine\",\"CgroupPermissions\":\"r\"}],"
             "\"DeviceCgroupRules\":[\"c 13:* rwm\",\"a *:* r\"]}",
             tmp);
    _cleanup_json_ json_t *s = gen(NULL, hc);
    json_t *devs = at(s, "linux.devices");
    assert_int_equal(json_array_size(devs), 3);
    assert_json(json_array_get(devs, 0),
                "{\"path\":\"/dev/mynull\",\"type\":\"c\",\"major\":1,\"minor\":3,"
                "\"fileMode\":438,\"uid\":0,\"gid\":0}");
    assert_string_equal(json_string_value(json_object_get(json_array_get(devs, 1), "path")),
                        "/dev/mine/full");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(devs, 1), "fileMode")),
                     0640);
    assert_string_equal(json_string_value(json_object_get(json_array_get(devs, 2), "path")),
                        "/dev/mine/sub/random");
    json_t *rules = at(s, "linux.resources.devices");
    assert_int_equal(json_array_size(rules), 8 + 3 + 2);
    assert_json(json_array_get(rules, 8),
                "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rw\"}");
    assert_json(json_array_get(rules, 11),
                "{\"allow\":true,\"type\":\"c\",\"major\":13,\"minor\":-1,\"access\":\"rwm\"}");
    assert_json(json_array_get(rules, 12),
                "{\"allow\":true,\"type\":\"a\",\"major\":-1,\"minor\":-1,\"access\":\"r\"}");

    snprintf(hc, sizeof(hc), "{\"Devices\":[{\"PathOnHost\":\"%s/devdir/plain\"}]}", tmp);
    gen_fails(NULL, hc, "error gathering device information while adding custom device");
    gen_fails(NULL, "{\"Devices\":[{\"PathOnHost\":\"/nonexistent\"}]}",
              "\"/nonexistent\": No such file or directory");
    gen_fails(NULL, "{\"DeviceCgroupRules\":[\"x 1:3 rwm\"]}",
              "invalid device cgroup rule format: 'x 1:3 rwm'");
    gen_fails(NULL, "{\"DeviceCgroupRules\":[\"c 1:3 rwx\"]}", "invalid device cgroup rule format");
    gen_fails(NULL, "{\"Devices\":[{\"PathOnHost\":\"/dev/null\",\"CgroupPermissions\":\"q\"}]}",
              "invalid device mode: q");
}

static void test_mounts(void **state)
{
    struct eng_spec_ctx ctx = base_ctx();
    ctx.etc_resolv = "/host/resolv.conf";
    ctx.etc_hostname = "/host/hostname";
    ctx.etc_hosts = "/host/hosts";
    _cleanup_json_ json_t *own = parse(
        "[{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/mine/hosts\","
        "\"options\":[\"rbind\"]},"
        "{\"destination\":\"/data/sub\",\"type\":\"bind\",\"source\":\"/v2\",\"options\":[]},"
        "{\"destination\":\"/etc\",\"type\":\"bind\",\"source\":\"/v1\",\"options\":[]},"
        "{\"destination\":\"/dev/shm/\",\"type\":\"bind\",\"source\":\"/myshm\",\"options\":[]},"
        "{\"destination\":\"/proc\",\"type\":\"bind\",\"source\":\"/fake\",\"options\":[]}]");
    ctx.mounts = own;
    struct berr *err = NULL;
    _cleanup_json_ json_t *s =
        gen_ctx(NULL, "{\"Tmpfs\":{\"/run\":\"size=1m\",\"/data\":\"\"}}", &ctx, &err);
    assert_non_null(s);
    const char *want[] = {
        "/dev",          "/dev/pts",   "/sys",      "/sys/fs/cgroup", "/dev/mqueue",
        "/data",         "/run",       "/etc",      "/proc",          "/etc/resolv.conf",
        "/etc/hostname", "/etc/hosts", "/data/sub", "/dev/shm/"};
    json_t *mounts = json_object_get(s, "mounts");
    for (size_t i = 0; i < ARRAY_SIZE(want) && i < json_array_size(mounts); i++)
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(mounts, i), "destination")), want[i]);
    assert_int_equal(json_array_size(mounts), ARRAY_SIZE(want));
    assert_string_equal(
        json_string_value(json_object_get(find_mount(s, "/etc/hosts", NULL), "source")),
        "/mine/hosts");
    assert_string_equal(json_string_value(json_object_get(find_mount(s, "/proc", NULL), "source")),
                        "/fake");
    assert_json(find_mount(s, "/etc/resolv.conf", NULL),
                "{\"destination\":\"/etc/resolv.conf\",\"type\":\"bind\",\"source\":"
                "\"/host/resolv.conf\",\"options\":[\"rbind\",\"rprivate\"]}");
    assert_int_equal(count_mounts(s, "/dev/shm"), 0);

    /* A /dev of the user's own drops every default beneath it. */
    _cleanup_json_ json_t *devm =
        parse("[{\"destination\":\"/dev\",\"type\":\"bind\",\"source\":\"/d\",\"options\":[]}]");
    ctx.mounts = devm;
    _cleanup_json_ json_t *d = gen_ctx(NULL, NULL, &ctx, &err);
    assert_null(find_mount(d, "/dev/pts", NULL));
    assert_null(find_mount(d, "/dev/shm", NULL));
    assert_null(find_mount(d, "/dev/mqueue", NULL));
    assert_string_equal(json_string_value(json_object_get(find_mount(d, "/dev", NULL), "source")),
                        "/d");

    ctx.mounts = NULL;
    _cleanup_json_ json_t *bad = parse("[{\"destination\":\"rel\"}]");
    ctx.mounts = bad;
    gen_fails_ctx(NULL, NULL, &ctx, "mounts[0]: a mount needs an absolute destination");
    ctx.mounts = NULL;

    /* Read-only rootfs: root.readonly, our binds read-only too. */
    _cleanup_json_ json_t *ro =
        gen_ctx(NULL, "{\"ReadonlyRootfs\":true,\"ShmSize\":1048576}", &ctx, &err);
    assert_true(json_is_true(at(ro, "root.readonly")));
    assert_json(json_object_get(find_mount(ro, "/etc/hosts", NULL), "options"),
                "[\"rbind\",\"ro\",\"rprivate\"]");
    assert_true(
        has_str(json_object_get(find_mount(ro, "/dev/shm", NULL), "options"), "size=1048576"));
    assert_false(has_str(json_object_get(find_mount(ro, "/dev", NULL), "options"), "ro"));

    /* --init */
    _cleanup_json_ json_t *in =
        gen("{\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"x\"]}", "{\"Init\":true}");
    assert_json(at(in, "process.args"), "[\"/sbin/docker-init\",\"--\",\"/ep\",\"x\"]");
    assert_json(find_mount(in, "/sbin/docker-init", NULL),
                "{\"destination\":\"/sbin/docker-init\",\"type\":\"bind\",\"source\":"
                "\"/usr/libexec/berth-init\",\"options\":[\"bind\",\"ro\"]}");
    _cleanup_json_ json_t *in_host = gen(NULL, "{\"Init\":true,\"PidMode\":\"host\"}");
    assert_json(at(in_host, "process.args"), "[\"sh\"]");
    ctx.init_path = NULL;
    gen_fails_ctx(NULL, "{\"Init\":true}", &ctx, "HostConfig.Init: no init binary");
}

static void test_tmpfs_options(void **state)
{
    _cleanup_json_ json_t *s =
        gen(NULL, "{\"Tmpfs\":{\"/a\":\"size=64m,exec\",\"/b\":\"\",\"/c\":\"rw,noexec,mode=1777,"
                  "size=1k,size=2k,shared,defaults\"}}");
    assert_json(json_object_get(find_mount(s, "/a", NULL), "options"),
                "[\"nosuid\",\"nodev\",\"rprivate\",\"size=64m\",\"exec\"]");
    assert_json(json_object_get(find_mount(s, "/b", NULL), "options"),
                "[\"noexec\",\"nosuid\",\"nodev\",\"rprivate\"]");
    assert_json(json_object_get(find_mount(s, "/c", NULL), "options"),
                "[\"nosuid\",\"nodev\",\"rw\",\"noexec\",\"mode=1777\",\"size=2k\",\"shared\"]");
    assert_string_equal(json_string_value(json_object_get(find_mount(s, "/a", NULL), "type")),
                        "tmpfs");
    gen_fails(NULL, "{\"Tmpfs\":{\"/a\":\"foo\"}}", "invalid tmpfs option \"foo\"");
    gen_fails(NULL, "{\"Tmpfs\":{\"/a\":\"bogus=1\"}}", "invalid tmpfs option \"bogus\"");
    gen_fails(NULL, "{\"Tmpfs\":{\"rel\":\"\"}}",
              "invalid mount path: 'rel' mount path must be absolute");
    gen_fails(NULL, "{\"Tmpfs\":{\"/..\":\"\"}}",
              "invalid specification: destination can't be '/'");
    gen_fails(NULL, "{\"Tmpfs\":{\"/a\":1}}", "HostConfig.Tmpfs[\"/a\"]: expected a string");
}

static void test_namespaces(void **state)
{
    struct eng_spec_ctx ctx = base_ctx();
    struct berr *err = NULL;
    _cleanup_json_ json_t *host =
        gen(NULL, "{\"NetworkMode\":\"host\",\"PidMode\":\"host\",\"IpcMode\":\"host\","
                  "\"UTSMode\":\"host\"}");
    assert_json(at(host, "linux.namespaces"), "[{\"type\":\"mount\"}]");
    assert_null(json_object_get(host, "hostname"));
    assert_json(find_mount(host, "/dev/shm", NULL),
                "{\"destination\":\"/dev/shm\",\"type\":\"bind\",\"source\":\"/dev/shm\","
                "\"options\":[\"rbind\",\"rprivate\"]}");
    assert_int_equal(count_mounts(host, "/dev/shm"), 1);

    _cleanup_json_ json_t *none = gen(NULL, "{\"NetworkMode\":\"none\",\"IpcMode\":\"none\"}");
    assert_non_null(find_ns(none, "network"));
    assert_non_null(find_ns(none, "ipc"));
    assert_null(find_mount(none, "/dev/shm", NULL));

    ctx.net_path = "/proc/42/ns/net";
    ctx.pid_path = "/proc/42/ns/pid";
    ctx.ipc_path = "/proc/42/ns/ipc";
    ctx.shm_path = "/var/lib/berth/containers/x/shm";
    _cleanup_json_ json_t *shared =
        gen_ctx(NULL,
                "{\"NetworkMode\":\"container:abc\",\"PidMode\":\"container:abc\","
                "\"IpcMode\":\"container:abc\",\"Init\":true}",
                &ctx, &err);
    assert_non_null(shared);
    assert_json(find_ns(shared, "network"), "{\"type\":\"network\",\"path\":\"/proc/42/ns/net\"}");
    assert_json(find_ns(shared, "pid"), "{\"type\":\"pid\",\"path\":\"/proc/42/ns/pid\"}");
    assert_json(find_ns(shared, "ipc"), "{\"type\":\"ipc\",\"path\":\"/proc/42/ns/ipc\"}");
    assert_string_equal(
        json_string_value(json_object_get(find_mount(shared, "/dev/shm", NULL), "source")),
        "/var/lib/berth/containers/x/shm");
    assert_json(at(shared, "process.args"), "[\"sh\"]");
    /* No default network sysctls in a namespace someone else made. */
    assert_null(json_object_get(at(shared, "linux.sysctl"), "net.ipv4.ip_unprivileged_port_start"));

    _cleanup_json_ json_t *shareable = gen_ctx(NULL, "{\"IpcMode\":\"shareable\"}", &ctx, &err);
    assert_string_equal(
        json_string_value(json_object_get(find_mount(shareable, "/dev/shm", NULL), "type")),
        "bind");
    _cleanup_json_ json_t *shareable2 = gen(NULL, "{\"IpcMode\":\"shareable\"}");
    assert_string_equal(
        json_string_value(json_object_get(find_mount(shareable2, "/dev/shm", NULL), "type")),
        "tmpfs");

    gen_fails(NULL, "{\"NetworkMode\":\"container:abc\"}", "NetworkMode container:abc");
    gen_fails(NULL, "{\"PidMode\":\"container:abc\"}", "PidMode container:abc");
    gen_fails(NULL, "{\"IpcMode\":\"container:abc\"}", "IpcMode container:abc");
    gen_fails(NULL, "{\"IpcMode\":\"bogus\"}", "invalid IPC mode: bogus");
    gen_fails(NULL, "{\"PidMode\":\"private\"}", "invalid PID mode: private");
    gen_fails(NULL, "{\"UTSMode\":\"x\"}", "invalid UTS mode: x");
    gen_fails(NULL, "{\"CgroupnsMode\":\"x\"}", "invalid cgroup namespace mode: x");
    gen_fails(NULL, "{\"IpcMode\":\"container:\"}", "invalid IPC mode: container:");

    /* The cgroup namespace: private by default on pure v2 only. */
    ctx = base_ctx();
    ctx.cgroup_mode = ENG_CGROUP_UNIFIED;
    _cleanup_json_ json_t *v2 = gen_ctx(NULL, NULL, &ctx, &err);
    assert_non_null(find_ns(v2, "cgroup"));
    _cleanup_json_ json_t *v2host = gen_ctx(NULL, "{\"CgroupnsMode\":\"host\"}", &ctx, &err);
    assert_null(find_ns(v2host, "cgroup"));
    _cleanup_json_ json_t *v1 = gen(NULL, NULL);
    assert_null(find_ns(v1, "cgroup"));
    _cleanup_json_ json_t *v1p = gen(NULL, "{\"CgroupnsMode\":\"private\"}");
    assert_non_null(find_ns(v1p, "cgroup"));

    _cleanup_json_ json_t *dn =
        gen("{\"Cmd\":[\"sh\"],\"Domainname\":\"example.org\"}", "{\"CgroupParent\":\"/custom/\"}");
    assert_string_equal(json_string_value(json_object_get(dn, "domainname")), "example.org");
    char cg[128];
    snprintf(cg, sizeof(cg), "/custom/%s", id);
    assert_string_equal(json_string_value(at(dn, "linux.cgroupsPath")), cg);
}

static void test_sysctls(void **state)
{
    _cleanup_json_ json_t *s =
        gen(NULL, "{\"Sysctls\":{\"kernel.shmmax\":\"1000000\",\"net.core.somaxconn\":\"512\","
                  "\"fs.mqueue.msg_max\":\"20\",\"net.ipv4.ip_unprivileged_port_start\":\"80\"}}");
    json_t *sc = at(s, "linux.sysctl");
    assert_string_equal(json_string_value(json_object_get(sc, "kernel.shmmax")), "1000000");
    assert_string_equal(json_string_value(json_object_get(sc, "net.core.somaxconn")), "512");
    assert_string_equal(json_string_value(json_object_get(sc, "fs.mqueue.msg_max")), "20");
    if (access("/proc/sys/net/ipv4/ip_unprivileged_port_start", F_OK) == 0)
        assert_string_equal(
            json_string_value(json_object_get(sc, "net.ipv4.ip_unprivileged_port_start")), "80");
    _cleanup_json_ json_t *d = gen(NULL, NULL);
    if (access("/proc/sys/net/ipv4/ping_group_range", F_OK) == 0)
        assert_string_equal(
            json_string_value(json_object_get(at(d, "linux.sysctl"), "net.ipv4.ping_group_range")),
            "0 2147483647");
    _cleanup_json_ json_t *h = gen(NULL, "{\"NetworkMode\":\"host\"}");
    assert_int_equal(json_object_size(at(h, "linux.sysctl")), 0);

    gen_fails(NULL, "{\"NetworkMode\":\"host\",\"Sysctls\":{\"net.core.somaxconn\":\"1\"}}",
              "sysctl \"net.core.somaxconn\" is not allowed in the hosts network namespace");
    gen_fails(NULL, "{\"IpcMode\":\"host\",\"Sysctls\":{\"kernel.sem\":\"1 2 3 4\"}}",
              "sysctl \"kernel.sem\" is not allowed in the hosts ipc namespace");
    gen_fails(NULL, "{\"Sysctls\":{\"kernel.pid_max\":\"100\"}}",
              "sysctl \"kernel.pid_max\" is not in a separate kernel namespace");
    gen_fails(NULL, "{\"Sysctls\":{\"vm.swappiness\":\"1\"}}",
              "not in a separate kernel namespace");
    gen_fails(NULL, "{\"Sysctls\":{\"kernel.hostname\":\"x\"}}",
              "conflicts with the OCI \"hostname\" field");
    gen_fails(NULL, "{\"Sysctls\":{\"net.core.somaxconn\":512}}",
              "HostConfig.Sysctls[\"net.core.somaxconn\"]: expected a string");
}

static void test_security_opts(void **state)
{
    _cleanup_json_ json_t *a = gen(NULL, "{\"SecurityOpt\":[\"no-new-privileges\"]}");
    assert_true(json_is_true(at(a, "process.noNewPrivileges")));
    _cleanup_json_ json_t *b = gen(NULL, "{\"SecurityOpt\":[\"no-new-privileges:true\","
                                         "\"label=disable\",\"apparmor=unconfined\"]}");
    assert_true(json_is_true(at(b, "process.noNewPrivileges")));
    _cleanup_json_ json_t *c =
        gen(NULL, "{\"SecurityOpt\":[\"no-new-privileges\",\"no-new-privileges=false\"]}");
    assert_null(at(c, "process.noNewPrivileges"));
    gen_fails(NULL, "{\"SecurityOpt\":[\"x\"]}", "invalid --security-opt 1: \"x\"");
    gen_fails(NULL, "{\"SecurityOpt\":[\"foo=bar\"]}", "invalid --security-opt 2: \"foo=bar\"");
    gen_fails(NULL, "{\"SecurityOpt\":[\"no-new-privileges=maybe\"]}",
              "invalid --security-opt 2: \"no-new-privileges=maybe\"");
    gen_fails(NULL, "{\"SecurityOpt\":\"seccomp=unconfined\"}",
              "HostConfig.SecurityOpt: expected an array");
}

static void test_seccomp_default(void **state)
{
    _cleanup_json_ json_t *s = gen(NULL, NULL);
    assert_string_equal(json_string_value(at(s, "linux.seccomp.defaultAction")), "SCMP_ACT_ERRNO");
    assert_int_equal(json_integer_value(at(s, "linux.seccomp.defaultErrnoRet")), 38);
    assert_json(at(s, "linux.seccomp.architectures"),
                "[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]");
    const char *ok[] = {
        "read",       "write",  "openat", "execve",        "arch_prctl",
        "modify_ldt", "ptrace", "chroot", "io_uring_setup" /* checked below as refused */};
    for (size_t i = 0; i < ARRAY_SIZE(ok) - 1; i++)
        if (!allowed(s, ok[i]))
            fail_msg("%s should be allowed", ok[i]);
    const char *blocked[] = {"reboot",
                             "kexec_load",
                             "init_module",
                             "mount",
                             "umount2",
                             "bpf",
                             "unshare",
                             "setns",
                             "swapon",
                             "keyctl",
                             "settimeofday",
                             "acct",
                             "open_by_handle_at",
                             "io_uring_setup",
                             "userfaultfd",
                             "vm86",
                             "perf_event_open",
                             "add_key"};
    for (size_t i = 0; i < ARRAY_SIZE(blocked); i++) {
        if (allowed(s, blocked[i]))
            fail_msg("%s should not be allowed", blocked[i]);
        if (!refused_eperm(s, blocked[i]))
            fail_msg("%s should be refused with EPERM", blocked[i]);
    }
    /* Calls with argument filters are neither allowed nor refused outright. */
    assert_false(allowed(s, "socket"));
    assert_false(refused_eperm(s, "socket"));
    assert_non_null(find_rule(s, "socket", "SCMP_ACT_ALLOW", true));
    assert_non_null(find_rule(s, "socket", "SCMP_ACT_ERRNO", true));
    assert_non_null(find_rule(s, "personality", "SCMP_ACT_ALLOW", true));
    assert_non_null(find_rule(s, "personality", "SCMP_ACT_ERRNO", true));
    json_t *clone = find_rule(s, "clone", "SCMP_ACT_ALLOW", true);
    assert_non_null(clone);
    assert_json(json_object_get(clone, "args"),
                "[{\"index\":0,\"value\":2114060288,\"op\":\"SCMP_CMP_MASKED_EQ\"}]");
    json_t *clone3 = find_rule(s, "clone3", "SCMP_ACT_ERRNO", false);
    assert_int_equal(json_integer_value(json_object_get(clone3, "errnoRet")), 38);
    assert_false(refused_eperm(s, "clone"));

    /* The capability-conditional calls follow the container's capabilities. */
    _cleanup_json_ json_t *a =
        gen(NULL, "{\"CapAdd\":[\"SYS_ADMIN\",\"SYS_TIME\",\"SYS_MODULE\",\"SYS_BOOT\"],"
                  "\"CapDrop\":[\"SYS_CHROOT\"]}");
    const char *now_ok[] = {"mount",       "umount2", "unshare",    "setns",
                            "bpf",         "clone",   "clone3",     "settimeofday",
                            "init_module", "reboot",  "sethostname"};
    for (size_t i = 0; i < ARRAY_SIZE(now_ok); i++) {
        if (!allowed(a, now_ok[i]))
            fail_msg("%s should be allowed with the capability", now_ok[i]);
        assert_false(refused_eperm(a, now_ok[i]));
    }
    assert_true(refused_eperm(a, "chroot"));
    assert_null(find_rule(a, "clone", "SCMP_ACT_ALLOW", true));
    assert_null(find_rule(a, "clone3", "SCMP_ACT_ERRNO", false));
    assert_true(refused_eperm(a, "kexec_load"));
    _cleanup_json_ json_t *p = gen(NULL, "{\"CapAdd\":[\"SYS_PTRACE\",\"DAC_READ_SEARCH\"]}");
    assert_true(allowed(p, "process_madvise"));
    assert_true(allowed(p, "open_by_handle_at"));
    assert_true(refused_eperm(s, "process_madvise"));
}

static void test_seccomp_options(void **state)
{
    _cleanup_json_ json_t *u = gen(NULL, "{\"SecurityOpt\":[\"seccomp=unconfined\"]}");
    assert_null(at(u, "linux.seccomp"));
    _cleanup_json_ json_t *u2 = gen(NULL, "{\"SecurityOpt\":[\"seccomp:unconfined\"]}");
    assert_null(at(u2, "linux.seccomp"));

    /* The docker CLI sends the profile file's content inline. */
    const char *hc =
        "{\"CapAdd\":[\"SYS_ADMIN\"],\"SecurityOpt\":[\"seccomp={\\\"defaultAction\\\":"
        "\\\"SCMP_ACT_ERRNO\\\",\\\"defaultErrnoRet\\\":1,\\\"archMap\\\":[{\\\"architecture\\\":"
        "\\\"SCMP_ARCH_AARCH64\\\",\\\"subArchitectures\\\":[\\\"SCMP_ARCH_ARM\\\"]},"
        "{\\\"architecture\\\":\\\"SCMP_ARCH_X86_64\\\",\\\"subArchitectures\\\":"
        "[\\\"SCMP_ARCH_X86\\\"]}],\\\"syscalls\\\":[{\\\"names\\\":[\\\"read\\\",\\\"write\\\"],"
        "\\\"action\\\":\\\"SCMP_ACT_ALLOW\\\"},{\\\"name\\\":\\\"mount\\\",\\\"action\\\":"
        "\\\"SCMP_ACT_ALLOW\\\",\\\"includes\\\":{\\\"caps\\\":[\\\"CAP_SYS_ADMIN\\\"]}},"
        "{\\\"names\\\":[\\\"reboot\\\"],\\\"action\\\":\\\"SCMP_ACT_ALLOW\\\",\\\"includes\\\":"
        "{\\\"caps\\\":[\\\"CAP_SYS_BOOT\\\"]}},{\\\"names\\\":[\\\"arm_only\\\"],\\\"action\\\":"
        "\\\"SCMP_ACT_ALLOW\\\",\\\"includes\\\":{\\\"arches\\\":[\\\"arm64\\\"]}},"
        "{\\\"names\\\":[\\\"old\\\"],\\\"action\\\":\\\"SCMP_ACT_ALLOW\\\",\\\"excludes\\\":"
        "{\\\"minKernel\\\":\\\"3.0\\\"}},{\\\"names\\\":[\\\"socket\\\"],\\\"action\\\":"
        "\\\"SCMP_ACT_ALLOW\\\",\\\"args\\\":[{\\\"index\\\":0,\\\"value\\\":1,\\\"op\\\":"
        "\\\"SCMP_CMP_EQ\\\"}],\\\"comment\\\":\\\"x\\\"}]}\"]}";
    _cleanup_json_ json_t *s = gen(NULL, hc);
    assert_json(at(s, "linux.seccomp"),
                "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,\"architectures\":"
                "[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],\"syscalls\":[{\"names\":[\"read\","
                "\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"mount\"],\"action\":"
                "\"SCMP_ACT_ALLOW\"},{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\","
                "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}");
    /* A profile with neither a default nor rules turns seccomp off, as Docker's does. */
    _cleanup_json_ json_t *off = gen(NULL, "{\"SecurityOpt\":[\"seccomp={}\"]}");
    assert_null(at(off, "linux.seccomp"));

    gen_fails(NULL, "{\"SecurityOpt\":[\"seccomp={bad\"]}", "Decoding seccomp profile failed");
    gen_fails(NULL,
              "{\"SecurityOpt\":[\"seccomp={\\\"syscalls\\\":[{\\\"name\\\":\\\"a\\\","
              "\\\"names\\\":[\\\"b\\\"]}]}\"]}",
              "both 'name' and 'names' are specified in the seccomp profile");
    gen_fails(NULL,
              "{\"SecurityOpt\":[\"seccomp={\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\","
              "\\\"architectures\\\":[\\\"SCMP_ARCH_X86\\\"],\\\"archMap\\\":[{"
              "\\\"architecture\\\":\\\"SCMP_ARCH_X86_64\\\"}]}\"]}",
              "both 'architectures' and 'archMap' are specified");
    gen_fails(NULL, "{\"SecurityOpt\":[\"seccomp={\\\"defaultAction\\\":1}\"]}",
              "Decoding seccomp profile failed: defaultAction: expected a string");
    gen_fails(NULL,
              "{\"SecurityOpt\":[\"seccomp={\\\"syscalls\\\":[{\\\"names\\\":[\\\"a\\\"],"
              "\\\"includes\\\":{\\\"minKernel\\\":\\\"4\\\"}}]}\"]}",
              "invalid kernel version: \"4\"");
}

static void test_rlimits(void **state)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    uint64_t want = 1048576;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        want = rl.rlim_max;
    _cleanup_json_ json_t *d = gen(NULL, NULL);
    json_t *nofile = rlimit(d, "RLIMIT_NOFILE");
    assert_non_null(nofile);
    assert_int_equal(json_integer_value(json_object_get(nofile, "soft")), want);
    assert_int_equal(json_integer_value(json_object_get(nofile, "hard")), want);
    assert_int_equal(json_array_size(at(d, "process.rlimits")), 1);

    _cleanup_json_ json_t *s =
        gen(NULL, "{\"Ulimits\":[{\"Name\":\"nproc\",\"Soft\":100,\"Hard\":200},"
                  "{\"Name\":\"core\",\"Soft\":-1,\"Hard\":-1},"
                  "{\"Name\":\"nproc\",\"Soft\":300,\"Hard\":400},"
                  "{\"Name\":\"nofile\",\"Soft\":64,\"Hard\":128}]}");
    assert_json(at(s, "process.rlimits"), "[{\"type\":\"RLIMIT_NPROC\",\"hard\":400,\"soft\":300},"
                                          "{\"type\":\"RLIMIT_CORE\",\"hard\":-1,\"soft\":-1},"
                                          "{\"type\":\"RLIMIT_NOFILE\",\"hard\":128,\"soft\":64}]");
    gen_fails(NULL, "{\"Ulimits\":[{\"Name\":\"bogus\",\"Soft\":1,\"Hard\":1}]}",
              "invalid ulimit type: bogus");
    gen_fails(NULL, "{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":10,\"Hard\":5}]}",
              "ulimit soft limit must be less than or equal to hard limit: 10 > 5");
    gen_fails(NULL, "{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":-1,\"Hard\":5}]}",
              "soft: -1 (unlimited), hard: 5");
    gen_fails(NULL, "{\"Ulimits\":[\"nofile=1\"]}", "HostConfig.Ulimits[0]: expected an object");
}

static void test_annotations(void **state)
{
    _cleanup_json_ json_t *s = gen(NULL, "{\"Annotations\":{\"a\":\"b\"}}");
    assert_json(json_object_get(s, "annotations"), "{\"a\":\"b\"}");
    gen_fails(NULL, "{\"Annotations\":{\"\":\"b\"}}",
              "invalid Annotations: the empty string is not permitted as an annotation key");
    gen_fails(NULL, "[]", "HostConfig: expected an object");
}

/* The runtime's own parser and seccomp compiler take what we make (when linked in). */
static void test_runtime_accepts(void **state)
{
    if (rt_spec_parse == NULL || rt_seccomp_compile == NULL)
        skip();
    const char *hcs[] = {
        NULL,
        "{\"Privileged\":true,\"SecurityOpt\":[\"seccomp=builtin\"]}",
        "{\"CapAdd\":[\"ALL\"],\"Memory\":67108864,\"NanoCpus\":500000000,\"PidsLimit\":10,"
        "\"Tmpfs\":{\"/run\":\"size=1m\"},\"Ulimits\":[{\"Name\":\"core\",\"Soft\":-1,"
        "\"Hard\":-1}],\"DeviceCgroupRules\":[\"c *:* m\"],\"Sysctls\":{\"kernel.shmmax\":\"1\"}}",
        "{\"NetworkMode\":\"host\",\"IpcMode\":\"none\",\"ReadonlyRootfs\":true,\"Init\":true}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(hcs); i++) {
        _cleanup_json_ json_t *s = gen("{\"Cmd\":[\"sh\"],\"Tty\":true,\"User\":\"app\"}", hcs[i]);
        _cleanup_free_ char *text = json_dumps(s, JSON_COMPACT);
        struct berr *err = NULL;
        struct rt_spec *spec = rt_spec_parse(text, strlen(text), "generated", &err);
        if (spec == NULL)
            fail_msg("case %zu: runtime refuses the spec: %s", i, err->msg);
        assert_int_equal(spec->process->uid, 1000);
        rt_spec_free(spec);
        json_t *sc = at(s, "linux.seccomp");
        if (sc == NULL)
            continue;
        struct rt_seccomp *compiled = rt_seccomp_compile(sc, "generated", &err);
        if (compiled == NULL)
            fail_msg("case %zu: runtime cannot compile the profile: %s", i,
                     err ? err->msg : "no filter");
        rt_seccomp_free(compiled);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_env),
        cmocka_unit_test(test_merge_entrypoint_cmd),
        cmocka_unit_test(test_merge_fields),
        cmocka_unit_test(test_merge_types),
        cmocka_unit_test(test_user_resolution),
        cmocka_unit_test(test_user_symlinks_stay_inside),
        cmocka_unit_test(test_default_spec),
        cmocka_unit_test(test_env_and_cwd),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_privileged),
        cmocka_unit_test(test_resources),
        cmocka_unit_test(test_resource_errors),
        cmocka_unit_test(test_block_io_devices),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_mounts),
        cmocka_unit_test(test_tmpfs_options),
        cmocka_unit_test(test_namespaces),
        cmocka_unit_test(test_sysctls),
        cmocka_unit_test(test_security_opts),
        cmocka_unit_test(test_seccomp_default),
        cmocka_unit_test(test_seccomp_options),
        cmocka_unit_test(test_rlimits),
        cmocka_unit_test(test_annotations),
        cmocka_unit_test(test_runtime_accepts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
