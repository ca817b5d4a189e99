/* Unit tests for the rootfs module: the mount option table and parser, validation messages,
 * resolution beneath a root against hostile symlinks (with openat2 and with the fallback walk),
 * and real mounts in forked children with their own mount namespace (and user namespace). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"
#include "runtime/rootfs.h"
#include "runtime/rootfs_internal.h"

/* ---- option parsing ---- */

static void test_option_table_sorted(void **state)
{
    size_t n;
    const struct rt_mount_opt_def *t = rt_mount_opt_table(&n);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(t[i - 1].name, t[i].name) >= 0)
            fail_msg("option table out of order at %s", t[i].name);
        assert_ptr_equal(rt_mount_opt_lookup(t[i].name), &t[i]);
    }
    json_t *feat = rt_mount_options_features();
    assert_int_equal(json_array_size(feat), n);
    assert_string_equal(json_string_value(json_array_get(feat, 0)), t[0].name);
    json_decref(feat);
    assert_null(rt_mount_opt_lookup("mode=755"));
    assert_null(rt_mount_opt_lookup(""));
}

struct parse_case {
    char *opts[8];
    unsigned long flags, clear;
    unsigned long prop0;
    size_t n_prop;
    uint64_t attr_set, attr_clr;
    const char *data;
};

static void test_option_parse(void **state)
{
    static const struct parse_case cases[] = {
        {{"defaults"}, 0, 0, 0, 0, 0, 0, NULL},
        {{"ro", "nosuid", "nodev", "noexec"},
         MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
         0,
         0,
         0,
         0,
         0,
         NULL},
        {{"rw"}, 0, MS_RDONLY, 0, 0, 0, 0, NULL},
        {{"ro", "rw"}, 0, MS_RDONLY, 0, 0, 0, 0, NULL},
        {{"rw", "ro"}, MS_RDONLY, 0, 0, 0, 0, 0, NULL},
        {{"suid", "dev", "exec", "atime"},
         0,
         MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME,
         0,
         0,
         0,
         0,
         NULL},
        {{"rbind", "rprivate"}, MS_BIND | MS_REC, 0, MS_PRIVATE | MS_REC, 1, 0, 0, NULL},
        {{"bind", "slave", "unbindable"}, MS_BIND, 0, MS_SLAVE, 2, 0, 0, NULL},
        {{"sync", "dirsync", "mand", "lazytime", "remount"},
         MS_SYNCHRONOUS | MS_DIRSYNC | MS_MANDLOCK | MS_LAZYTIME | MS_REMOUNT,
         0,
         0,
         0,
         0,
         0,
         NULL},
        {{"strictatime", "nodiratime", "relatime", "noatime"},
         MS_STRICTATIME | MS_NODIRATIME | MS_RELATIME | MS_NOATIME,
         0,
         0,
         0,
         0,
         0,
         NULL},
        {{"nosymfollow", "symfollow"}, 0, MS_NOSYMFOLLOW, 0, 0, 0, 0, NULL},
        {{"rro", "rnosuid", "rnodev", "rnoexec"},
         0,
         0,
         0,
         0,
         MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
         0,
         NULL},
        {{"rro", "rrw"}, 0, 0, 0, 0, 0, MOUNT_ATTR_RDONLY, NULL},
        {{"rsuid", "rdev", "rexec", "rdiratime", "rsymfollow"},
         0,
         0,
         0,
         0,
         0,
         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME |
             MOUNT_ATTR_NOSYMFOLLOW,
         NULL},
        /* atime is an enum: setting one needs all of MOUNT_ATTR__ATIME in attr_clr. */
        {{"rnoatime"}, 0, 0, 0, 0, MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME, NULL},
        {{"rnoatime", "rstrictatime"}, 0, 0, 0, 0, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME, NULL},
        {{"rnoatime", "ratime"}, 0, 0, 0, 0, 0, MOUNT_ATTR__ATIME, NULL},
        {{"rrelatime"}, 0, 0, 0, 0, MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME, NULL},
        {{"rnostrictatime"}, 0, 0, 0, 0, 0, MOUNT_ATTR__ATIME, NULL},
        {{"rnorelatime"}, 0, 0, 0, 0, 0, 0, NULL},
        {{"rnosymfollow", "rnodiratime"},
         0,
         0,
         0,
         0,
         MOUNT_ATTR_NOSYMFOLLOW | MOUNT_ATTR_NODIRATIME,
         0,
         NULL},
        {{"nosuid", "mode=755", "size=65536k", "", "newinstance"},
         MS_NOSUID,
         0,
         0,
         0,
         0,
         0,
         "mode=755,size=65536k,newinstance"},
        {{"context=\"system_u:object_r:x:s0\""},
         0,
         0,
         0,
         0,
         0,
         0,
         "context=\"system_u:object_r:x:s0\""},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct parse_case *c = &cases[i];
        struct rt_mount_opts o;
        struct berr *err = NULL;
        assert_int_equal(rt_mount_opts_parse((char *const *)c->opts, &o, &err), 0);
        if (o.flags != c->flags || o.clear != c->clear || o.n_propagation != c->n_prop ||
            (c->n_prop && o.propagation[0] != c->prop0) || o.attr_set != c->attr_set ||
            o.attr_clr != c->attr_clr)
            fail_msg("case %zu (%s...): flags %#lx clear %#lx nprop %zu set %#llx clr %#llx", i,
                     c->opts[0], o.flags, o.clear, o.n_propagation, (unsigned long long)o.attr_set,
                     (unsigned long long)o.attr_clr);
        if (c->data)
            assert_string_equal(o.data, c->data);
        else
            assert_null(o.data);
        rt_mount_opts_clear(&o);
    }

    struct rt_mount_opts o;
    struct berr *err = NULL;
    char *ext[] = {"tmpcopyup", "idmap", "ridmap", "noatime", NULL};
    assert_int_equal(rt_mount_opts_parse(ext, &o, &err), 0);
    assert_true(o.tmpcopyup && o.idmap && o.ridmap && o.atime_set);
    assert_null(o.data);
    rt_mount_opts_clear(&o);
    assert_int_equal(rt_mount_opts_parse(NULL, &o, &err), 0);
    assert_int_equal(o.flags, 0);

    char *many[] = {"private",    "shared",  "slave",       "rslave",  "rprivate",
                    "unbindable", "rshared", "runbindable", "private", NULL};
    assert_int_equal(rt_mount_opts_parse(many, &o, &err), -1);
    assert_non_null(strstr(err->msg, "propagation"));
    berr_free(err);
    err = NULL;

    _cleanup_free_ char *big = xmalloc(5000);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    char *toolong[] = {big, NULL};
    assert_int_equal(rt_mount_opts_parse(toolong, &o, &err), -1);
    assert_non_null(strstr(err->msg, "data"));
    berr_free(err);
}

static void test_path_clean(void **state)
{
    static const char *const cases[][2] = {
        {"/", "/"},
        {"", "/"},
        {"a/b", "/a/b"},
        {"//a//b/", "/a/b"},
        {"/a/./b", "/a/b"},
        {"/a/../b", "/b"},
        {"/../../etc", "/etc"},
        {"../x/..", "/"},
        {"/dev/../dev", "/dev"},
        {"/a/b/..", "/a"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        _cleanup_free_ char *c = rt_path_clean(cases[i][0]);
        assert_string_equal(c, cases[i][1]);
    }
    assert_int_equal(rt_propagation_flags("rslave"), MS_SLAVE | MS_REC);
    assert_int_equal(rt_propagation_flags("shared"), MS_SHARED);
    assert_int_equal(rt_propagation_flags("bogus"), 0);
}

/* ---- validation ---- */

static struct rt_mount mnt(char *dest, char *type, char *src, char **opts)
{
    return (struct rt_mount){.destination = dest, .type = type, .source = src, .options = opts};
}

static void expect_invalid(struct rt_spec *s, const char *needle1, const char *needle2)
{
    struct berr *err = NULL;
    assert_int_equal(rt_mounts_validate_bundle(s, "/", &err), -1);
    assert_non_null(err);
    if (strstr(err->msg, needle1) == NULL || (needle2 && strstr(err->msg, needle2) == NULL))
        fail_msg("error \"%s\" lacks \"%s\" / \"%s\"", err->msg, needle1, needle2 ? needle2 : "");
    berr_free(err);
}

static void test_validate(void **state)
{
    struct rt_id_map map = {0, 1000, 1};
    struct rt_mount ok[] = {
        mnt("/proc", "proc", "proc", NULL),
        mnt("/dev", "tmpfs", "tmpfs", (char *[]){"nosuid", "mode=755", NULL}),
        mnt("/data", NULL, "/tmp", (char *[]){"rbind", "rprivate", NULL}),
        mnt("relative/dir", "tmpfs", NULL, NULL),
        mnt("/b", "bind", "tmp", NULL), /* relative to the bundle "/" */
        mnt("/c", "tmpfs", NULL, (char *[]){"tmpcopyup", NULL}),
        mnt("/i", "none", "/tmp", (char *[]){"rbind", "ridmap", NULL}),
    };
    ok[6].uid_mappings = ok[6].gid_mappings = &map;
    ok[6].n_uid_mappings = ok[6].n_gid_mappings = 1;
    struct rt_device devs[] = {
        {.path = "/dev/fuse", .type = 'c', .major = 10, .minor = 229},
        {.path = "/dev/sub/fifo", .type = 'p'},
    };
    struct rt_spec s = {.mounts = ok,
                        .n_mounts = ARRAY_SIZE(ok),
                        .devices = devs,
                        .n_devices = ARRAY_SIZE(devs),
                        .rootfs_propagation = "rprivate"};
    struct berr *err = NULL;
    if (rt_mounts_validate_bundle(&s, "/", &err) < 0)
        fail_msg("%s", err->msg);
    assert_int_equal(rt_mounts_validate(&s, &err), 0);

    struct rt_mount bad[4];
    s.mounts = bad;
    s.n_mounts = 4;
    bad[0] = ok[0];
    bad[1] = ok[1];
    bad[2] = ok[2];

    bad[3] = mnt("/data", NULL, "/tmp", NULL);
    expect_invalid(&s, "mounts[3] (/data)", "no type");
    bad[3] = mnt("/data", NULL, NULL, (char *[]){"bind", NULL});
    expect_invalid(&s, "mounts[3] (/data)", "without a source");
    bad[3] = mnt("/data", NULL, "/nonexistent/berth", (char *[]){"bind", NULL});
    expect_invalid(&s, "mounts[3] (/data)", "/nonexistent/berth");
    bad[3] = mnt("/data", NULL, "nonexistent-berth", (char *[]){"bind", NULL});
    expect_invalid(&s, "mounts[3] (/data)", "nonexistent-berth");
    bad[3] = mnt("/data", NULL, "/tmp", (char *[]){"rbind", "tmpcopyup", NULL});
    expect_invalid(&s, "mounts[3] (/data)", "tmpcopyup");
    bad[3] = mnt("/data", "tmpfs", NULL, (char *[]){"idmap", NULL});
    expect_invalid(&s, "mounts[3] (/data)", "bind mounts");
    bad[3] = mnt("/data", NULL, "/tmp", (char *[]){"rbind", "idmap", NULL});
    expect_invalid(&s, "mounts[3] (/data)", "uidMappings");
    bad[3].uid_mappings = &map;
    bad[3].n_uid_mappings = 1;
    expect_invalid(&s, "mounts[3] (/data)", "together");
    struct rt_id_map empty = {0, 0, 0};
    bad[3].gid_mappings = &empty;
    bad[3].n_gid_mappings = 1;
    expect_invalid(&s, "mounts[3] (/data)", "gidMappings[0]");
    bad[3] = mnt("/a/..", "tmpfs", NULL, NULL);
    expect_invalid(&s, "mounts[3] (/a/..)", "root filesystem itself");
    char *toomany[] = {"private", "private", "private", "private", "private",
                       "private", "private", "private", "private", NULL};
    bad[3] = mnt("/data", "tmpfs", NULL, toomany);
    expect_invalid(&s, "mounts[3] (/data)", "propagation");

    /* The container's own mappings stand in for a mount's missing ones. */
    bad[3] = mnt("/data", NULL, "/tmp", (char *[]){"rbind", "idmap", NULL});
    s.uid_mappings = s.gid_mappings = &map;
    s.n_uid_mappings = s.n_gid_mappings = 1;
    assert_int_equal(rt_mounts_validate_bundle(&s, "/", &err), 0);

    bad[3] = ok[0];
    s.rootfs_propagation = "sideways";
    expect_invalid(&s, "rootfsPropagation", "sideways");
    s.rootfs_propagation = NULL;

    struct rt_device bad_devs[][1] = {
        {{.path = "/dev/x", .type = 'q'}},
        {{.path = "dev/x", .type = 'c'}},
        {{.path = "/", .type = 'c'}},
        {{.path = "/dev/..", .type = 'c'}},
        {{.path = "/dev/x", .type = 'b', .major = 5000}},
        {{.path = "/dev/x", .type = 'c', .minor = -1}},
    };
    /* Device paths need not be below /dev (runc accepts any), but must name a file. */
    static const char *const why[] = {"type", "absolute", "not /", "not /", "range", "range"};
    for (size_t i = 0; i < ARRAY_SIZE(bad_devs); i++) {
        s.devices = bad_devs[i];
        s.n_devices = 1;
        expect_invalid(&s, "linux.devices[0]", why[i]);
    }
}

/* ---- resolution beneath a root ---- */

struct tree {
    char base[64];
    char root[PATH_MAX];
    char outside[PATH_MAX];
};

static void tree_make(struct tree *t)
{
    strcpy(t->base, "/tmp/berth-rootfs-XXXXXX");
    assert_non_null(mkdtemp(t->base));
    snprintf(t->root, sizeof(t->root), "%s/bundle/rootfs", t->base);
    snprintf(t->outside, sizeof(t->outside), "%s/outside", t->base);
    _cleanup_free_ char *bundle = xasprintf("%s/bundle", t->base);
    assert_int_equal(mkdir(bundle, 0755), 0);
    assert_int_equal(mkdir(t->root, 0755), 0);
    assert_int_equal(mkdir(t->outside, 0755), 0);
}

static void tree_remove(struct tree *t)
{
    struct berr *err = NULL;
    if (rm_rf_at(AT_FDCWD, t->base, &err) < 0) {
        fprintf(stderr, "cleanup %s: %s\n", t->base, err->msg);
        berr_free(err);
    }
}

static void put(const char *dir, const char *rel, const char *kind, const char *arg)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
    int r;
    if (strcmp(kind, "dir") == 0) {
        r = mkdir(p, 0755);
    } else if (strcmp(kind, "link") == 0) {
        r = symlink(arg, p);
    } else {
        struct berr *err = NULL;
        r = write_file_at(AT_FDCWD, p, arg, strlen(arg), 0644, &err);
        berr_free(err);
    }
    if (r < 0)
        fail_msg("make %s: %s", p, strerror(errno));
}

/* The host path an fd names, which must lie in root. */
static void assert_inside(const struct tree *t, int fd, const char *want_rel)
{
    struct rt_fdpath fp;
    char buf[PATH_MAX];
    ssize_t n = readlink(rt_fdpath(&fp, fd), buf, sizeof(buf) - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    _cleanup_free_ char *want = xasprintf("%s%s", t->root, want_rel);
    if (strcmp(buf, want) != 0)
        fail_msg("resolved to %s, wanted %s", buf, want);
}

static void hostile_tree(struct tree *t)
{
    tree_make(t);
    put(t->root, "dir", "dir", NULL);
    put(t->root, "dir/file", "file", "x");
    put(t->root, "abs", "link", "/etc");
    put(t->root, "up", "link", "../../../../../..");
    put(t->root, "loop1", "link", "loop2");
    put(t->root, "loop2", "link", "loop1");
    put(t->root, "reldir", "link", "dir");
    put(t->root, "outlink", "link", t->outside);
    put(t->root, "parent", "link", "/dir/../..");
    put(t->root, "dangling", "link", "/made/by/walk");
    put(t->root, "dangdir", "link", "../nothere");
    put(t->root, "chain", "link", "reldir/../abs");
    put(t->outside, "secret", "file", "s");
}

static void resolve_cases(bool openat2)
{
    struct tree t;
    hostile_tree(&t);
    rt_resolve_use_openat2(openat2);
    _cleanup_close_ int root = open(t.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(root >= 0);
    struct berr *err = NULL;

    static const char *const found[][2] = {
        {"/dir/file", "/dir/file"},
        {"reldir/file", "/dir/file"},
        {"/up/dir", "/dir"},
        {"/up/up/up/dir/file", "/dir/file"},
        {"../../../../dir", "/dir"},
        {"/parent/dir", "/dir"},
        {"/", ""},
        {"", ""},
        {"/dir/..", ""},
    };
    for (size_t i = 0; i < ARRAY_SIZE(found); i++) {
        int fd = rt_open_beneath(root, found[i][0], false, false, &err);
        if (fd < 0)
            fail_msg("%s: %s", found[i][0], err->msg);
        assert_inside(&t, fd, found[i][1]);
        close(fd);
    }

    /* Links that point out of the root resolve inside it, or not at all. */
    static const char *const missing[] = {"/abs/passwd", "/outlink/secret", "/chain/passwd",
                                          "/up/etc/passwd", "/dangling"};
    for (size_t i = 0; i < ARRAY_SIZE(missing); i++) {
        int fd = rt_open_beneath(root, missing[i], false, false, &err);
        if (fd >= 0)
            fail_msg("%s resolved (to outside?)", missing[i]);
        assert_int_equal(err->errnum, ENOENT);
        berr_free(err);
        err = NULL;
    }
    assert_int_equal(rt_open_beneath(root, "/loop1/x", false, false, &err), -1);
    assert_int_equal(err->errnum, ELOOP);
    berr_free(err);
    err = NULL;
    assert_int_equal(rt_open_beneath(root, "/dir/file/x", true, false, &err), -1);
    assert_int_equal(err->errnum, ENOTDIR);
    berr_free(err);
    err = NULL;

    /* Creation follows the links inside the root too. */
    static const char *const created[][3] = {
        {"/abs/newdir", "/etc/newdir", "d"}, {"/outlink/x/y", "/" /* + outside */, "d"},
        {"/dangling", "/made/by/walk", "f"}, {"/dangdir/sub", "/nothere/sub", "d"},
        {"/up/up/top", "/top", "d"},         {"/reldir/newfile", "/dir/newfile", "f"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(created); i++) {
        bool file = created[i][2][0] == 'f';
        int fd = rt_open_beneath(root, created[i][0], true, file, &err);
        if (fd < 0)
            fail_msg("create %s: %s", created[i][0], err->msg);
        _cleanup_free_ char *want =
            i == 1 ? xasprintf("%s/x/y", t.outside) : xstrdup(created[i][1]);
        assert_inside(&t, fd, want);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        assert_true(file ? S_ISREG(st.st_mode) : S_ISDIR(st.st_mode));
        close(fd);
    }
    /* Nothing appeared outside. */
    _cleanup_free_ char *out = xasprintf("%s/x", t.outside);
    assert_int_equal(access(out, F_OK), -1);
    assert_int_equal(access("/etc/newdir", F_OK), -1);

    /* The last component as it is, when asked. */
    bool created_last;
    int fd = rt_resolve_beneath(root, "/abs", RT_RESOLVE_NOFOLLOW_LAST, &created_last);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    close(fd);
    fd = rt_resolve_beneath(root, "/fresh", RT_RESOLVE_CREATE, &created_last);
    assert_true(fd >= 0 && created_last);
    close(fd);
    fd = rt_resolve_beneath(root, "/fresh", RT_RESOLVE_CREATE, &created_last);
    assert_true(fd >= 0 && !created_last);
    close(fd);

    rt_resolve_use_openat2(true);
    tree_remove(&t);
}

static void test_resolve_openat2(void **state)
{
    resolve_cases(true);
}

static void test_resolve_walk(void **state)
{
    resolve_cases(false);
}

/* ---- real mounts, in children with their own mount namespace ---- */

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s (errno %s)\n", __FILE__, __LINE__, #c,        \
                    strerror(errno));                                                              \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

#define CHECK_OK(call, err)                                                                        \
    do {                                                                                           \
        if ((call) < 0) {                                                                          \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,                   \
                    (err) ? (err)->msg : "?");                                                     \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static void run_child(int (*fn)(void *), void *arg, int ns_flags)
{
    if (geteuid() != 0)
        skip();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (unshare(ns_flags) < 0)
            _exit(77);
        _exit(fn(arg));
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
}

struct mnt_info {
    char fstype[64];
    char opts[256];  /* per-mount options */
    char super[512]; /* filesystem options */
    int count;       /* mounts stacked at the point */
};

/* The top mount at path, from /proc/self/mountinfo; false if none. */
static bool find_mount(const char *path, struct mnt_info *mi)
{
    memset(mi, 0, sizeof(*mi));
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (f == NULL)
        return false;
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        char point[PATH_MAX], opts[256], fstype[64], super[512];
        const char *sep = strstr(line, " - ");
        if (sep == NULL || sscanf(line, "%*s %*s %*s %*s %4095s %255s", point, opts) != 2 ||
            sscanf(sep + 3, "%63s %*s %511s", fstype, super) != 2)
            continue;
        if (strcmp(point, path) != 0)
            continue;
        mi->count++;
        strcpy(mi->fstype, fstype);
        strcpy(mi->opts, opts);
        strcpy(mi->super, super);
    }
    fclose(f);
    return mi->count > 0;
}

static bool has_opt(const char *list, const char *opt)
{
    size_t n = strlen(opt);
    for (const char *p = list; (p = strstr(p, opt)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

static char *at(const struct tree *t, const char *rel)
{
    return xasprintf("%s%s", t->root, rel);
}

static int checked_mount(const struct tree *t, const char *rel, const char *fstype, const char *opt,
                         const char *super)
{
    _cleanup_free_ char *p = at(t, rel);
    struct mnt_info mi;
    if (!find_mount(p, &mi)) {
        fprintf(stderr, "no mount at %s\n", p);
        return 1;
    }
    if ((fstype && strcmp(mi.fstype, fstype) != 0) || (opt && !has_opt(mi.opts, opt)) ||
        (super && !has_opt(mi.super, super))) {
        fprintf(stderr, "mount at %s: %s %s %s; wanted %s %s %s\n", p, mi.fstype, mi.opts, mi.super,
                fstype ? fstype : "", opt ? opt : "", super ? super : "");
        return 1;
    }
    return 0;
}

static int full_sequence(void *arg)
{
    struct tree *t = arg;
    struct berr *err = NULL;
    char idsrc[PATH_MAX + 16];
    snprintf(idsrc, sizeof(idsrc), "%s/bundle/idsrc", t->base);
    _cleanup_free_ char *idfile = xasprintf("%s/file", idsrc);
    CHECK(chown(idfile, 0, 0) == 0);

    struct rt_id_map idmap = {0, 1000, 1};
    struct rt_mount mounts[] = {
        mnt("/proc", "proc", "proc", NULL),
        mnt("/dev", "tmpfs", "tmpfs", (char *[]){"nosuid", "strictatime", "mode=755", NULL}),
        mnt("/dev/pts", "devpts", "devpts",
            (char *[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL}),
        mnt("/tmpfs", "tmpfs", "tmpfs", (char *[]){"nosuid", "nodev", "mode=700", "size=1m", NULL}),
        mnt("/ro", NULL, "src", (char *[]){"rbind", "ro", "nosuid", "rprivate", NULL}),
        mnt("/evil/inner", "tmpfs", NULL, (char *[]){"size=1m", NULL}),
        mnt("/etc/newfile", NULL, "srcfile", (char *[]){"bind", "ro", NULL}),
        mnt("/copy", "tmpfs", NULL, (char *[]){"tmpcopyup", NULL}),
        mnt("/dev/mqueue", "mqueue", "mqueue", (char *[]){"nosuid", "nodev", "noexec", NULL}),
        mnt("/rro", NULL, "src", (char *[]){"rbind", "rro", NULL}),
        mnt("/idmapped", NULL, idsrc, (char *[]){"bind", "idmap", NULL}),
        mnt("/rotmp", "tmpfs", NULL, (char *[]){"ro", NULL}),
        mnt("relative/path", "tmpfs", NULL, NULL),
        mnt("/proc/cpuinfo", NULL, "srcfile", (char *[]){"bind", NULL}),
    };
    mounts[10].uid_mappings = mounts[10].gid_mappings = &idmap;
    mounts[10].n_uid_mappings = mounts[10].n_gid_mappings = 1;
    struct rt_device devs[] = {
        {.path = "/dev/mydev",
         .type = 'c',
         .major = 1,
         .minor = 3,
         .has_mode = true,
         .mode = 0600,
         .has_uid = true,
         .uid = 1000,
         .has_gid = true,
         .gid = 1001},
        {.path = "/dev/sub/fifo", .type = 'p'},
        {.path = "/dev/zero", .type = 'c', .major = 1, .minor = 5, .has_mode = true, .mode = 0640},
    };
    char *masked[] = {"/masked_dir", "/masked_file", "/masked_dir2", "/nonexistent", NULL};
    char *ro_paths[] = {"/ro_dir", "/missing", NULL};
    struct rt_spec spec = {.mounts = mounts,
                           .n_mounts = ARRAY_SIZE(mounts),
                           .devices = devs,
                           .n_devices = ARRAY_SIZE(devs),
                           .masked_paths = masked,
                           .readonly_paths = ro_paths,
                           .root_readonly = true};
    _cleanup_free_ char *bundle = xasprintf("%s/bundle", t->base);
    CHECK_OK(rt_mounts_validate_bundle(&spec, bundle, &err), err);

    struct rt_rootfs_ctx ctx = {.spec = &spec, .bundle = bundle, .rootfs = t->root};
    CHECK(rt_rootfs_fd(&ctx) == -1);
    CHECK_OK(rt_rootfs_prepare(&ctx, &err), err);
    int cwd_fd = rt_open_beneath(rt_rootfs_fd(&ctx), "/work/dir", true, false, &err);
    CHECK(cwd_fd >= 0);
    close(cwd_fd);

    /* Before pivot: what landed where. */
    if (checked_mount(t, "/proc", "proc", NULL, NULL) ||
        checked_mount(t, "/dev", "tmpfs", "nosuid", "mode=755") ||
        checked_mount(t, "/dev/pts", "devpts", "noexec", "ptmxmode=666") ||
        checked_mount(t, "/tmpfs", "tmpfs", "nodev", "mode=700") ||
        checked_mount(t, "/tmpfs", NULL, "nosuid", "size=1024k") ||
        checked_mount(t, "/ro", NULL, "ro", NULL) ||
        checked_mount(t, "/ro", NULL, "nosuid", NULL) ||
        checked_mount(t, "/etc/newfile", NULL, "ro", NULL) ||
        checked_mount(t, "/copy", "tmpfs", NULL, NULL) ||
        checked_mount(t, "/dev/mqueue", "mqueue", "noexec", NULL) ||
        checked_mount(t, "/rro", NULL, "ro", NULL) ||
        checked_mount(t, "/rro/sub", NULL, "ro", NULL) ||
        checked_mount(t, "/rotmp", "tmpfs", "rw", NULL) ||
        checked_mount(t, "/relative/path", "tmpfs", NULL, NULL) ||
        checked_mount(t, "/proc/cpuinfo", NULL, NULL, NULL))
        return 1;
    /* The symlinked destination stayed inside the rootfs. */
    _cleanup_free_ char *evil_in = xasprintf("%s%s/inner", t->root, t->outside);
    _cleanup_free_ char *evil_out = xasprintf("%s/inner", t->outside);
    struct mnt_info mi;
    CHECK(find_mount(evil_in, &mi) && strcmp(mi.fstype, "tmpfs") == 0);
    CHECK(!find_mount(evil_out, &mi));
    CHECK(access(evil_out, F_OK) < 0);
    /* A ro bind is not writable; the plain rbind of "src" kept its submount. */
    _cleanup_free_ char *rofile = at(t, "/ro/file");
    CHECK(open(rofile, O_WRONLY) < 0 && errno == EROFS);
    /* Copy-up brought the old contents. */
    _cleanup_free_ char *copied = at(t, "/copy/f");
    _cleanup_free_ char *text = read_file_at(AT_FDCWD, copied, 64, NULL, &err);
    CHECK(text && strcmp(text, "hello") == 0);
    struct stat st;
    _cleanup_free_ char *copied_link = at(t, "/copy/lnk");
    CHECK(lstat(copied_link, &st) == 0 && S_ISLNK(st.st_mode));
    _cleanup_free_ char *copied_sub = at(t, "/copy/sub/g");
    CHECK(stat(copied_sub, &st) == 0 && st.st_uid == 42 && (st.st_mode & 07777) == 0604);
    /* The id-mapped bind shows what is 0 on disk as 1000 (containerID -> hostID, as runc). */
    _cleanup_free_ char *mapped = at(t, "/idmapped/file");
    CHECK(stat(mapped, &st) == 0 && st.st_uid == 1000 && st.st_gid == 1000);
    CHECK(stat(idfile, &st) == 0 && st.st_uid == 0);
    /* Devices and links. */
    _cleanup_free_ char *null = at(t, "/dev/null");
    CHECK(stat(null, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3) &&
          (st.st_mode & 07777) == 0666);
    _cleanup_free_ char *mydev = at(t, "/dev/mydev");
    CHECK(stat(mydev, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & 07777) == 0600 &&
          st.st_uid == 1000 && st.st_gid == 1001);
    _cleanup_free_ char *zero = at(t, "/dev/zero");
    CHECK(stat(zero, &st) == 0 && (st.st_mode & 07777) == 0640);
    _cleanup_free_ char *fifo = at(t, "/dev/sub/fifo");
    CHECK(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    char link[64];
    _cleanup_free_ char *ptmx = at(t, "/dev/ptmx");
    ssize_t n = readlink(ptmx, link, sizeof(link) - 1);
    CHECK(n > 0 && (link[n] = '\0', strcmp(link, "pts/ptmx") == 0));
    _cleanup_free_ char *fdl = at(t, "/dev/fd");
    n = readlink(fdl, link, sizeof(link) - 1);
    CHECK(n > 0 && (link[n] = '\0', strcmp(link, "/proc/self/fd") == 0));
    _cleanup_free_ char *core = at(t, "/dev/core");
    CHECK((lstat(core, &st) == 0) == (access("/proc/kcore", F_OK) == 0));

    CHECK_OK(rt_rootfs_pivot(&ctx, &err), err);
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/") == 0);
    CHECK(access("/ro/file", F_OK) == 0);
    CHECK(access(t->root, F_OK) < 0); /* the host is gone */
    CHECK_OK(rt_rootfs_finalize(&ctx, &err), err);

    struct statvfs sv;
    CHECK(statvfs("/", &sv) == 0 && (sv.f_flag & ST_RDONLY));
    CHECK(mkdir("/newdir", 0755) < 0 && errno == EROFS);
    CHECK(statvfs("/tmpfs", &sv) == 0 && !(sv.f_flag & ST_RDONLY));
    CHECK(statvfs("/rotmp", &sv) == 0 && (sv.f_flag & ST_RDONLY));
    CHECK(statvfs("/dev", &sv) == 0 && !(sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID));
    CHECK(statvfs("/ro_dir", &sv) == 0 && (sv.f_flag & ST_RDONLY));
    CHECK(find_mount("/masked_dir", &mi) && strcmp(mi.fstype, "tmpfs") == 0 &&
          has_opt(mi.opts, "ro"));
    CHECK(find_mount("/masked_dir2", &mi) && strcmp(mi.fstype, "tmpfs") == 0);
    CHECK(access("/masked_dir/secret", F_OK) < 0);
    CHECK(stat("/masked_file", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
    rt_rootfs_ctx_clear(&ctx);
    return 0;
}

static void make_rootfs(struct tree *t)
{
    tree_make(t);
    put(t->root, "proc", "dir", NULL);
    put(t->root, "etc", "dir", NULL);
    put(t->root, "evil", "link", t->outside);
    put(t->root, "copy", "dir", NULL);
    put(t->root, "copy/f", "file", "hello");
    put(t->root, "copy/lnk", "link", "f");
    put(t->root, "copy/sub", "dir", NULL);
    put(t->root, "copy/sub/g", "file", "g");
    _cleanup_free_ char *g = xasprintf("%s/copy/sub/g", t->root);
    assert_int_equal(chown(g, 42, 42), 0);
    assert_int_equal(chmod(g, 0604), 0);
    put(t->root, "masked_dir", "dir", NULL);
    put(t->root, "masked_dir/secret", "file", "s");
    put(t->root, "masked_dir2", "dir", NULL);
    put(t->root, "masked_file", "file", "m");
    put(t->root, "ro_dir", "dir", NULL);
    _cleanup_free_ char *bundle = xasprintf("%s/bundle", t->base);
    put(bundle, "src", "dir", NULL);
    put(bundle, "src/file", "file", "f");
    put(bundle, "src/sub", "dir", NULL);
    put(bundle, "srcfile", "file", "sf");
    put(bundle, "idsrc", "dir", NULL);
    put(bundle, "idsrc/file", "file", "i");
}

/* "src/sub" carries its own mount, so rbind and rro have a child to act on. */
static int full_sequence_outer(void *arg)
{
    struct tree *t = arg;
    if (mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return 1;
    _cleanup_free_ char *sub = xasprintf("%s/bundle/src/sub", t->base);
    CHECK(mount("tmpfs", sub, "tmpfs", 0, "size=64k") == 0);
    return full_sequence(arg);
}

static void test_mount_sequence(void **state)
{
    struct tree t;
    make_rootfs(&t);
    run_child(full_sequence_outer, &t, CLONE_NEWNS);
    tree_remove(&t);
}

struct expect_fail {
    struct tree *t;
    struct rt_mount *mounts;
    size_t n;
    const char *needle;
};

static int prepare_fails(void *arg)
{
    struct expect_fail *x = arg;
    struct berr *err = NULL;
    struct rt_spec spec = {.mounts = x->mounts, .n_mounts = x->n};
    _cleanup_free_ char *bundle = xasprintf("%s/bundle", x->t->base);
    struct rt_rootfs_ctx ctx = {.spec = &spec, .bundle = bundle, .rootfs = x->t->root};
    if (rt_rootfs_prepare(&ctx, &err) == 0) {
        fprintf(stderr, "prepare succeeded; wanted an error about %s\n", x->needle);
        return 1;
    }
    if (strstr(err->msg, x->needle) == NULL) {
        fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err->msg, x->needle);
        return 1;
    }
    return 0;
}

static void test_mount_refusals(void **state)
{
    struct tree t;
    tree_make(&t);
    put(t.root, "proc", "link", "/etc");
    put(t.root, "etc", "dir", NULL);
    put(t.root, "sys", "dir", NULL);
    put(t.root, "sys/file", "file", "x");
    put(t.root, "realproc", "dir", NULL);
    _cleanup_free_ char *bundle = xasprintf("%s/bundle", t.base);
    put(bundle, "srcfile", "file", "sf");

    /* proc onto a symlink (CVE-2019-19921). */
    struct rt_mount m1[] = {mnt("/proc", "proc", "proc", NULL)};
    struct expect_fail x = {&t, m1, 1, "symlink"};
    run_child(prepare_fails, &x, CLONE_NEWNS);
    struct rt_mount m1b[] = {mnt("/proc/", "proc", "proc", NULL)};
    x = (struct expect_fail){&t, m1b, 1, "symlink"};
    run_child(prepare_fails, &x, CLONE_NEWNS);
    /* sysfs onto a file. */
    struct rt_mount m2[] = {mnt("/sys/file", "sysfs", "sysfs", NULL)};
    x = (struct expect_fail){&t, m2, 1, "plain directory"};
    run_child(prepare_fails, &x, CLONE_NEWNS);
    /* A bind over a procfs file outside the lxcfs allow-list. */
    struct rt_mount m3[] = {
        mnt("/realproc", "proc", "proc", NULL),
        mnt("/realproc/sys/kernel/hostname", NULL, "srcfile", (char *[]){"bind", NULL})};
    x = (struct expect_fail){&t, m3, 2, "procfs"};
    run_child(prepare_fails, &x, CLONE_NEWNS);
    /* A cgroup mount without a cgroup is refused rather than guessed. */
    struct rt_mount m4[] = {mnt("/sys/fs/cgroup", "cgroup", "cgroup", NULL)};
    x = (struct expect_fail){&t, m4, 1, "mounts[0] (/sys/fs/cgroup)"};
    run_child(prepare_fails, &x, CLONE_NEWNS);
    tree_remove(&t);
}

static int no_pivot_child(void *arg)
{
    struct tree *t = arg;
    struct berr *err = NULL;
    struct rt_mount mounts[] = {mnt("/proc", "proc", "proc", NULL)};
    struct rt_spec spec = {.mounts = mounts, .n_mounts = 1, .rootfs_propagation = "rprivate"};
    struct rt_rootfs_ctx ctx = {
        .spec = &spec, .bundle = t->base, .rootfs = t->root, .no_pivot = true};
    CHECK_OK(rt_rootfs_prepare(&ctx, &err), err);
    CHECK_OK(rt_rootfs_pivot(&ctx, &err), err);
    CHECK_OK(rt_rootfs_finalize(&ctx, &err), err);
    CHECK(access("/marker", F_OK) == 0);
    CHECK(access(t->root, F_OK) < 0);
    struct mnt_info mi;
    CHECK(find_mount("/proc", &mi) && strcmp(mi.fstype, "proc") == 0);
    return 0;
}

static void test_no_pivot(void **state)
{
    struct tree t;
    tree_make(&t);
    put(t.root, "proc", "dir", NULL);
    put(t.root, "marker", "file", "m");
    run_child(no_pivot_child, &t, CLONE_NEWNS);
    tree_remove(&t);
}

/* Our own uid and gid, mapped onto themselves: allowed without help from outside. */
static int enter_own_userns(void)
{
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
        return 77;
    struct berr *err = NULL;
    CHECK(write_file_at(AT_FDCWD, "/proc/self/setgroups", "deny", 4, 0, &err) == 0);
    CHECK(write_file_at(AT_FDCWD, "/proc/self/uid_map", "0 0 1", 5, 0, &err) == 0);
    CHECK(write_file_at(AT_FDCWD, "/proc/self/gid_map", "0 0 1", 5, 0, &err) == 0);
    return 0;
}

/* mqueue without our own IPC namespace is refused; runc then binds the host's /dev/mqueue,
 * which this host may not have: either way the fallback must have been taken. */
static int userns_mqueue_child(void *arg)
{
    struct tree *t = arg;
    struct berr *err = NULL;
    int r = enter_own_userns();
    if (r != 0)
        return r;
    struct rt_mount mounts[] = {
        mnt("/dev/mqueue", "mqueue", "mqueue", (char *[]){"nosuid", "nodev", "noexec", NULL}),
    };
    struct rt_spec spec = {.mounts = mounts, .n_mounts = 1};
    struct rt_rootfs_ctx ctx = {.spec = &spec, .rootfs = t->root, .userns = true};
    if (access("/dev/mqueue", F_OK) == 0) {
        CHECK_OK(rt_rootfs_prepare(&ctx, &err), err);
        return checked_mount(t, "/dev/mqueue", "mqueue", "noexec", NULL);
    }
    CHECK(rt_rootfs_prepare(&ctx, &err) < 0);
    CHECK(strstr(err->msg, "bind /dev/mqueue (mqueue itself was refused)") != NULL);
    return 0;
}

/* In a user namespace: sysfs falls back to binding the host's /sys, device nodes are host
 * binds, a bind remount keeps the flags the source had locked (nosuid, nodev), and an idmapped bind
 * of a host filesystem works when its tree was made before entering the namespace. */
static int userns_child(void *arg)
{
    struct tree *t = arg;
    struct berr *err = NULL;
    _cleanup_free_ char *locked = xasprintf("%s/locked", t->base);
    _cleanup_free_ char *idsrc = xasprintf("%s/idsrc", t->base);
    CHECK(mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    CHECK(mount("tmpfs", locked, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") == 0);

    /* No proc: the pid namespace is not ours. */
    struct rt_id_map idmap = {0, 1000, 1};
    struct rt_mount mounts[] = {
        mnt("/sys", "sysfs", "sysfs", (char *[]){"nosuid", "noexec", "nodev", "ro", NULL}),
        mnt("/dev", "tmpfs", "tmpfs", (char *[]){"nosuid", "mode=755", NULL}),
        mnt("/locked", NULL, locked, (char *[]){"rbind", "ro", NULL}),
        mnt("/idmapped", NULL, idsrc, (char *[]){"rbind", "ridmap", NULL}),
    };
    mounts[3].uid_mappings = mounts[3].gid_mappings = &idmap;
    mounts[3].n_uid_mappings = mounts[3].n_gid_mappings = 1;
    char *masked[] = {"/sys/firmware", "/sys/kernel/notes", NULL};
    struct rt_spec spec = {
        .mounts = mounts, .n_mounts = ARRAY_SIZE(mounts), .masked_paths = masked};
    struct rt_rootfs_ctx ctx = {
        .spec = &spec, .bundle = t->base, .rootfs = t->root, .userns = true};
    CHECK_OK(rt_rootfs_open_idmapped(&ctx, &err), err);

    int r = enter_own_userns();
    if (r != 0)
        return r;

    CHECK_OK(rt_rootfs_prepare(&ctx, &err), err);
    if (checked_mount(t, "/sys", "sysfs", "ro", NULL) ||
        checked_mount(t, "/locked", "tmpfs", "ro", NULL) ||
        checked_mount(t, "/locked", NULL, "nosuid", NULL) ||
        checked_mount(t, "/locked", NULL, "nodev", NULL) ||
        checked_mount(t, "/dev/null", "devtmpfs", NULL, NULL) ||
        checked_mount(t, "/idmapped", NULL, "idmapped", NULL))
        return 1;
    CHECK_OK(rt_rootfs_pivot(&ctx, &err), err);
    CHECK_OK(rt_rootfs_finalize(&ctx, &err), err);
    int fd = open("/dev/null", O_WRONLY);
    CHECK(fd >= 0 && write(fd, "x", 1) == 1);
    close(fd);
    struct statvfs sv;
    CHECK(statvfs("/sys/kernel", &sv) == 0 && (sv.f_flag & ST_RDONLY));
    struct stat st;
    struct statfs sfs;
    CHECK(stat("/sys/firmware", &st) < 0 ||
          (statfs("/sys/firmware", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC &&
           (sfs.f_flags & ST_RDONLY)));
    CHECK(stat("/sys/kernel/notes", &st) < 0 || S_ISCHR(st.st_mode));
    /* On disk 0, shown as host 1000 by the mount, which this namespace does not map. */
    CHECK(stat("/idmapped/file", &st) == 0 && st.st_uid == 65534);
    rt_rootfs_ctx_clear(&ctx);
    return 0;
}

static void test_userns(void **state)
{
    struct tree t;
    tree_make(&t);
    put(t.root, "proc", "dir", NULL);
    put(t.root, "sys", "dir", NULL);
    put(t.base, "locked", "dir", NULL);
    put(t.base, "idsrc", "dir", NULL);
    put(t.base, "idsrc/file", "file", "i");
    run_child(userns_child, &t, CLONE_NEWNS);
    run_child(userns_mqueue_child, &t, CLONE_NEWNS);
    tree_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_option_table_sorted),
        cmocka_unit_test(test_option_parse),
        cmocka_unit_test(test_path_clean),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_resolve_openat2),
        cmocka_unit_test(test_resolve_walk),
        cmocka_unit_test(test_mount_sequence),
        cmocka_unit_test(test_mount_refusals),
        cmocka_unit_test(test_no_pivot),
        cmocka_unit_test(test_userns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
