/* The cgroup front end: discovers where each controller lives on this host (v1 mounts, the
 * v2 hierarchy, or both), resolves cgroupsPath as runc does, creates and removes the
 * container's directories, and routes each resource to the backend (cgroup_v1.c, cgroup_v2.c)
 * of the hierarchy that hosts its controller. linux.resources is parsed in cgroup_devices.c. */
#include "runtime/cgroup_internal.h"

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"
/* cgroup.procs of a big container; memory.stat and friends are far smaller. */
#define CG_READ_MAX (16u << 20)

/* ---- controller names ------------------------------------------------------------------- */

static const struct {
    const char *v1, *v2;
} ctrl_names[CG_NCTRL] = {
    [CG_CPU] = {"cpu", "cpu"},
    [CG_CPUACCT] = {"cpuacct", NULL},
    [CG_CPUSET] = {"cpuset", "cpuset"},
    [CG_MEMORY] = {"memory", "memory"},
    [CG_DEVICES] = {"devices", NULL},
    [CG_FREEZER] = {"freezer", NULL},
    [CG_BLKIO] = {"blkio", "io"},
    [CG_PIDS] = {"pids", "pids"},
    [CG_HUGETLB] = {"hugetlb", "hugetlb"},
    [CG_NET_CLS] = {"net_cls", NULL},
    [CG_NET_PRIO] = {"net_prio", NULL},
    [CG_RDMA] = {"rdma", "rdma"},
    [CG_MISC] = {"misc", "misc"},
    [CG_PERF_EVENT] = {"perf_event", NULL},
};

const char *cg_ctrl_v1_name(enum cg_ctrl c)
{
    return ctrl_names[c].v1;
}

const char *cg_ctrl_v2_name(enum cg_ctrl c)
{
    return ctrl_names[c].v2;
}

int cg_ctrl_from_v1_name(const char *name)
{
    for (int c = 0; c < CG_NCTRL; c++)
        if (strcmp(ctrl_names[c].v1, name) == 0)
            return c;
    return -1;
}

int cg_ctrl_from_v2_name(const char *name)
{
    for (int c = 0; c < CG_NCTRL; c++)
        if (ctrl_names[c].v2 && strcmp(ctrl_names[c].v2, name) == 0)
            return c;
    return -1;
}

/* ---- file helpers ----------------------------------------------------------------------- */

int cg_dir_fd(struct cg_dir *d, struct berr **err)
{
    if (d->fd >= 0)
        return d->fd;
    d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->fd < 0)
        return berr_sys(err, "open cgroup %s", d->path);
    return d->fd;
}

int cg_try_write(struct cg_dir *d, const char *file, const char *val)
{
    int dfd = cg_dir_fd(d, NULL);
    if (dfd < 0)
        return -errno;
    _cleanup_close_ int fd = openat(dfd, file, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (write_all(fd, val, strlen(val)) < 0)
        return -errno;
    return 0;
}

int cg_write(struct cg_dir *d, const char *file, const char *val, struct berr **err)
{
    int r = cg_try_write(d, file, val);
    /* On v2 a missing file usually means the parent did not delegate the controller. */
    if (r == -ENOENT && d->v2 && access(d->path, F_OK) == 0)
        return berr_set(err, ENOENT,
                        "write \"%s\" to %s/%s (is the controller enabled in the parent's "
                        "cgroup.subtree_control?)",
                        val, d->path, file);
    if (r < 0)
        return berr_set(err, -r, "write \"%s\" to %s/%s", val, d->path, file);
    return 0;
}

int cg_writef(struct cg_dir *d, const char *file, struct berr **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *val = xvasprintf(fmt, ap);
    va_end(ap);
    return cg_write(d, file, val, err);
}

char *cg_read(struct cg_dir *d, const char *file, struct berr **err)
{
    int dfd = cg_dir_fd(d, err);
    if (dfd < 0)
        return NULL;
    _cleanup_berr_ struct berr *e = NULL;
    char *s = read_file_at(dfd, file, CG_READ_MAX, NULL, &e);
    if (s == NULL) {
        berr_set(err, e->errnum, "read %s/%s", d->path, file);
        errno = e->errnum;
    }
    return s;
}

int cg_read_u64(struct cg_dir *d, const char *file, uint64_t *out, struct berr **err)
{
    _cleanup_free_ char *s = cg_read(d, file, err);
    if (s == NULL)
        return -1;
    s[strcspn(s, "\n")] = 0;
    if (strcmp(s, "max") == 0) {
        *out = UINT64_MAX;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != 0)
        return berr_set(err, EINVAL, "%s/%s: not a number: \"%s\"", d->path, file, s);
    *out = v;
    return 0;
}

bool cg_has_file(struct cg_dir *d, const char *file)
{
    int dfd = cg_dir_fd(d, NULL);
    return dfd >= 0 && faccessat(dfd, file, F_OK, 0) == 0;
}

int cg_write_rdma(struct cg_dir *d, const struct rt_resources *r, struct berr **err)
{
    for (size_t i = 0; i < r->n_rdma; i++) {
        const struct cg_rdma_limit *l = &r->rdma[i];
        char h[40] = "", o[40] = "";
        if (l->hca_handles.set)
            snprintf(h, sizeof(h), " hca_handle=%lld", (long long)l->hca_handles.v);
        if (l->hca_objects.set)
            snprintf(o, sizeof(o), " hca_object=%lld", (long long)l->hca_objects.v);
        if (cg_writef(d, "rdma.max", err, "%s%s%s", l->device, h, o) < 0)
            return -1;
    }
    return 0;
}

/* ---- host layout ------------------------------------------------------------------------ */

static void hier_free(struct cg_hier *h)
{
    free(h->mnt);
    free(h->root);
    free(h->name);
    free(h->ctrl_list);
    free(h->self);
}

void cg_layout_free(struct cg_layout *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        hier_free(&l->h[i]);
    free(l->h);
    free(l);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape_octal(const char *s)
{
    char *out = xmalloc(strlen(s) + 1), *o = out;
    while (*s) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 4;
        } else {
            *o++ = *s++;
        }
    }
    *o = 0;
    return out;
}

/* Mount options of a v1 cgroup mount that are not controllers. */
static bool is_v1_option(const char *opt)
{
    static const char *const opts[] = {
        "rw", "ro", "noprefix", "xattr", "clone_children", "cpuset_v2_mode", "favordynmods"};
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
        if (strcmp(opt, opts[i]) == 0)
            return true;
    return strncmp(opt, "release_agent=", 14) == 0;
}

/* Whether two comma-separated controller lists name the same set. */
static bool same_ctrl_set(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    for (const char *p = a; *p; p++)
        na += *p == ',';
    for (const char *p = b; *p; p++)
        nb += *p == ',';
    if (na != nb)
        return false;
    _cleanup_free_ char *copy = xstrdup(a);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t len = strlen(tok);
        const char *p = b;
        bool found = false;
        while (*p) {
            size_t l = strcspn(p, ",");
            if (l == len && strncmp(p, tok, len) == 0)
                found = true;
            p += l + (p[l] == ',');
        }
        if (!found)
            return false;
    }
    return true;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void layout_add(struct cg_layout *l, struct cg_hier *h)
{
    l->h = xreallocarray(l->h, l->n + 1, sizeof(*l->h));
    l->h[l->n++] = *h;
}

/* One mountinfo line: "id parent maj:min root mnt opts [optional...] - fstype src superopts". */
static void layout_add_mountinfo_line(struct cg_layout *l, char *line)
{
    char *f[6], *save = NULL;
    size_t nf = 0;
    for (char *tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        f[nf++] = tok;
        if (nf == 6)
            break;
    }
    if (nf < 6)
        return;
    char *tok;
    while ((tok = strtok_r(NULL, " ", &save)) && strcmp(tok, "-") != 0)
        ;
    char *fstype = strtok_r(NULL, " ", &save);
    char *source = strtok_r(NULL, " ", &save);
    char *super = strtok_r(NULL, " ", &save);
    if (tok == NULL || fstype == NULL || source == NULL || super == NULL)
        return;
    bool v2 = strcmp(fstype, "cgroup2") == 0;
    if (!v2 && strcmp(fstype, "cgroup") != 0)
        return;

    struct cg_hier h = {.v2 = v2};
    if (v2) {
        if (l->v2 >= 0) {
            /* Several cgroup2 mounts: prefer the canonical places. */
            _cleanup_free_ char *mnt = unescape_octal(f[4]);
            if (strcmp(mnt, CGROUP_ROOT) != 0 && strcmp(mnt, CGROUP_ROOT "/unified") != 0)
                return;
            struct cg_hier *old = &l->h[l->v2];
            if (strcmp(old->mnt, CGROUP_ROOT) == 0 || strcmp(old->mnt, CGROUP_ROOT "/unified") == 0)
                return;
            free(old->mnt);
            free(old->root);
            free(old->name);
            old->mnt = steal_ptr(&mnt);
            old->root = unescape_octal(f[3]);
            old->name = xstrdup(base_name(old->mnt));
            return;
        }
        h.ctrl_list = xstrdup("");
    } else {
        /* The controllers (and name=X) from the super options, in their order. */
        size_t cap = strlen(super) + 1, len = 0;
        h.ctrl_list = xmalloc(cap);
        h.ctrl_list[0] = 0;
        char *s2 = NULL;
        for (char *o = strtok_r(super, ",", &s2); o; o = strtok_r(NULL, ",", &s2)) {
            if (is_v1_option(o))
                continue;
            len += (size_t)snprintf(h.ctrl_list + len, cap - len, "%s%s", len ? "," : "", o);
            int c = cg_ctrl_from_v1_name(o);
            if (c >= 0)
                h.ctrls |= 1u << c;
        }
        if (len == 0) {
            free(h.ctrl_list);
            return;
        }
        for (size_t i = 0; i < l->n; i++) {
            if (!l->h[i].v2 && strcmp(l->h[i].ctrl_list, h.ctrl_list) == 0) {
                free(h.ctrl_list); /* the same hierarchy mounted twice */
                return;
            }
        }
    }
    h.mnt = unescape_octal(f[4]);
    h.root = unescape_octal(f[3]);
    h.name = xstrdup(base_name(h.mnt));
    if (v2)
        l->v2 = (int)l->n;
    layout_add(l, &h);
}

static void layout_route(struct cg_layout *l)
{
    for (int c = 0; c < CG_NCTRL; c++) {
        l->route[c] = -1;
        for (size_t i = 0; i < l->n; i++) {
            if (!l->h[i].v2 && (l->h[i].ctrls & (1u << c))) {
                l->route[c] = (int)i;
                break;
            }
        }
        if (l->route[c] >= 0 || l->v2 < 0)
            continue;
        /* Not on v1: v2 hosts it if it is a v2 controller there, or if v2 has a stand-in
         * (the eBPF device filter, cgroup.freeze, the core cpu.stat). */
        bool core = c == CG_DEVICES || c == CG_FREEZER || c == CG_CPUACCT;
        if (core || (l->h[l->v2].ctrls & (1u << c)))
            l->route[c] = l->v2;
    }
    bool v1 = false;
    for (size_t i = 0; i < l->n; i++)
        v1 |= !l->h[i].v2;
    l->mode = v1 ? (l->v2 >= 0 ? RT_CGROUP_HYBRID : RT_CGROUP_V1) : RT_CGROUP_V2;
}

static int layout_read_v2_controllers(struct cg_layout *l, struct berr **err)
{
    if (l->v2 < 0)
        return 0;
    struct cg_hier *h = &l->h[l->v2];
    _cleanup_free_ char *file = xasprintf("%s/cgroup.controllers", h->mnt);
    _cleanup_free_ char *s = read_file_at(AT_FDCWD, file, 4096, NULL, err);
    if (s == NULL)
        return -1;
    char *save = NULL;
    for (char *tok = strtok_r(s, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
        int c = cg_ctrl_from_v2_name(tok);
        if (c >= 0)
            h->ctrls |= 1u << c;
    }
    return 0;
}

int cg_layout_set_self(struct cg_layout *l, const char *text, struct berr **err)
{
    _cleanup_free_ char *own = NULL;
    if (text == NULL) {
        own = read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 20, NULL, err);
        if (own == NULL)
            return -1;
        text = own;
    }
    _cleanup_free_ char *copy = xstrdup(text);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c1 = *c2 = 0;
        const char *ctrls = c1 + 1, *path = c2 + 1;
        for (size_t i = 0; i < l->n; i++) {
            struct cg_hier *h = &l->h[i];
            bool match = h->v2 ? (strcmp(line, "0") == 0 && *ctrls == 0)
                               : same_ctrl_set(h->ctrl_list, ctrls);
            if (match && h->self == NULL)
                h->self = xstrdup(path);
        }
    }
    for (size_t i = 0; i < l->n; i++)
        if (l->h[i].self == NULL)
            l->h[i].self = xstrdup("/");
    l->self_known = true;
    return 0;
}

struct cg_layout *cg_layout_from_text(const char *mountinfo, const char *self_cgroup,
                                      struct berr **err)
{
    struct cg_layout *l = xzalloc(sizeof(*l));
    l->v2 = -1;
    _cleanup_free_ char *copy = xstrdup(mountinfo);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        layout_add_mountinfo_line(l, line);
    if (layout_read_v2_controllers(l, err) < 0 ||
        (self_cgroup && cg_layout_set_self(l, self_cgroup, err) < 0)) {
        cg_layout_free(l);
        return NULL;
    }
    layout_route(l);
    return l;
}

static struct cg_layout *host_layout;

void cg_layout_replace(struct cg_layout *l)
{
    cg_layout_free(host_layout);
    host_layout = l;
}

struct cg_layout *cg_layout_get(struct berr **err)
{
    if (host_layout)
        return host_layout;
    /* A pure v2 host needs no mountinfo scan: one statfs says it all (crun does the same). */
    struct statfs st;
    if (statfs(CGROUP_ROOT, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC) {
        struct cg_layout *l = xzalloc(sizeof(*l));
        struct cg_hier h = {.v2 = true,
                            .mnt = xstrdup(CGROUP_ROOT),
                            .root = xstrdup("/"),
                            .name = xstrdup("unified"),
                            .ctrl_list = xstrdup("")};
        layout_add(l, &h);
        l->v2 = 0;
        if (layout_read_v2_controllers(l, err) < 0) {
            cg_layout_free(l);
            return NULL;
        }
        layout_route(l);
        return host_layout = l;
    }
    _cleanup_free_ char *mi = read_file_at(AT_FDCWD, "/proc/self/mountinfo", 64u << 20, NULL, err);
    if (mi == NULL)
        return NULL;
    return host_layout = cg_layout_from_text(mi, NULL, err);
}

enum rt_cgroup_mode rt_cgroup_detect_mode(void)
{
    _cleanup_berr_ struct berr *e = NULL;
    struct cg_layout *l = cg_layout_get(&e);
    return l ? l->mode : RT_CGROUP_V1;
}

/* ---- cgroupsPath -------------------------------------------------------------------------- */

char *cg_clean_path(const char *id, const char *cgroups_path, bool *relative, struct berr **err)
{
    const char *p = cgroups_path && *cgroups_path ? cgroups_path : id;
    if (p == NULL || *p == 0)
        return berr_set(err, 0, "cgroupsPath: empty, and no container id"), NULL;
    if (cgroups_path == NULL || *cgroups_path == 0) {
        if (strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
            return berr_set(err, 0, "container id \"%s\" cannot name a cgroup", id), NULL;
    }
    *relative = p[0] != '/';
    size_t len = strlen(p);
    if (len > 4096)
        return berr_set(err, 0, "cgroupsPath: too long"), NULL;
    char *out = xmalloc(len + 2);
    size_t o = 0;
    for (const char *s = p; *s;) {
        size_t l = strcspn(s, "/");
        if (l == 0 || (l == 1 && s[0] == '.')) {
            /* empty or "." component */
        } else if (l == 2 && s[0] == '.' && s[1] == '.') {
            if (o == 0) {
                free(out);
                return berr_set(err, 0, "cgroupsPath \"%s\": \"..\" escapes the %s", p,
                                *relative ? "current cgroup" : "hierarchy root"),
                       NULL;
            }
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* the separator */
        } else {
            if (o > 0 || !*relative)
                out[o++] = '/';
            memcpy(out + o, s, l);
            o += l;
        }
        s += l;
        while (*s == '/')
            s++;
    }
    out[o] = 0;
    if (o == 0 || (!*relative && strcmp(out, "/") == 0)) {
        free(out);
        return berr_set(err, 0, "cgroupsPath \"%s\" names the %s itself", p,
                        *relative ? "current cgroup" : "hierarchy root"),
               NULL;
    }
    /* A relative path cleaned like "a/../b" may start with '/': never, by construction. */
    return out;
}

char *cg_hier_dir(const struct cg_hier *h, const char *clean, bool relative)
{
    if (!relative)
        return xasprintf("%s%s", h->mnt, clean);
    /* The process's cgroup is given relative to the hierarchy root; the mount may show only
     * a subtree of it (mount root != "/"), so strip that prefix. */
    const char *self = h->self ? h->self : "/";
    size_t rl = strlen(h->root);
    if (strcmp(h->root, "/") != 0 && strncmp(self, h->root, rl) == 0 &&
        (self[rl] == '/' || self[rl] == 0))
        self += rl;
    const char *sep = self[0] && self[strlen(self) - 1] == '/' ? "" : "/";
    return xasprintf("%s%s%s%s", h->mnt, self, sep, clean);
}

/* ---- a container's cgroup ----------------------------------------------------------------- */

void rt_cgroup_free(struct rt_cgroup *cg)
{
    if (cg == NULL)
        return;
    for (size_t i = 0; i < cg->n; i++) {
        free(cg->dirs[i].name);
        free(cg->dirs[i].path);
        closep(&cg->dirs[i].fd);
    }
    free(cg->dirs);
    free(cg->path);
    free(cg);
}

static void rt_cgroup_freep(struct rt_cgroup **cg)
{
    rt_cgroup_free(*cg);
    *cg = NULL;
}

static void compute_routes(struct rt_cgroup *cg)
{
    cg->v2 = -1;
    for (int c = 0; c < CG_NCTRL; c++)
        cg->route[c] = -1;
    for (size_t i = 0; i < cg->n; i++) {
        if (cg->dirs[i].v2 && cg->v2 < 0)
            cg->v2 = (int)i;
        for (int c = 0; c < CG_NCTRL; c++)
            if ((cg->dirs[i].ctrls & (1u << c)) && cg->route[c] < 0)
                cg->route[c] = (int)i;
    }
}

struct cg_dir *cg_primary_dir(struct rt_cgroup *cg)
{
    if (cg->v2 >= 0)
        return &cg->dirs[cg->v2];
    static const enum cg_ctrl prefer[] = {CG_FREEZER, CG_PIDS, CG_MEMORY, CG_DEVICES, CG_CPU};
    for (size_t i = 0; i < ARRAY_SIZE(prefer); i++)
        if (cg_route(cg, prefer[i]))
            return cg_route(cg, prefer[i]);
    return cg->n ? &cg->dirs[0] : NULL;
}

static int need_ctrl(struct rt_cgroup *cg, enum cg_ctrl c, const char *field, struct berr **err)
{
    if (cg_route(cg, c))
        return 0;
    return berr_set(err, EOPNOTSUPP, "linux.resources.%s: the %s controller is not available",
                    field, cg_ctrl_v1_name(c));
}

/* Every controller the resources need, before anything is written. */
static int check_routes(struct rt_cgroup *cg, const struct rt_resources *r, struct berr **err)
{
    if ((cg_res_has_cpuset(r) && need_ctrl(cg, CG_CPUSET, "cpu.cpus", err) < 0) ||
        (r->has_devices && need_ctrl(cg, CG_DEVICES, "devices", err) < 0) ||
        (cg_res_has_memory(r) && need_ctrl(cg, CG_MEMORY, "memory", err) < 0) ||
        (cg_res_has_cpu(r) && need_ctrl(cg, CG_CPU, "cpu", err) < 0) ||
        (r->pids_limit.set && need_ctrl(cg, CG_PIDS, "pids", err) < 0) ||
        (cg_res_has_blkio(r) && need_ctrl(cg, CG_BLKIO, "blockIO", err) < 0) ||
        (r->n_hugepages && need_ctrl(cg, CG_HUGETLB, "hugepageLimits", err) < 0) ||
        (r->n_rdma && need_ctrl(cg, CG_RDMA, "rdma", err) < 0))
        return -1;
    if ((r->cpu.rt_runtime.set || r->cpu.rt_period.set) && cg_route(cg, CG_CPU)->v2)
        return berr_set(err, EOPNOTSUPP,
                        "linux.resources.cpu.realtimeRuntime/realtimePeriod: real-time cpu "
                        "limits are not supported on cgroup v2");
    if (r->n_unified == 0)
        return 0;
    if (cg->v2 < 0)
        return berr_set(err, EOPNOTSUPP,
                        "linux.resources.unified: cannot be used with cgroup v1 (there is no "
                        "unified hierarchy on this host)");
    /* In hybrid mode only what the unified hierarchy hosts can be set through it. */
    for (size_t i = 0; i < r->n_unified; i++) {
        const char *key = r->unified[i].key;
        _cleanup_free_ char *ctrl = xstrndup(key, strcspn(key, "."));
        if (strcmp(ctrl, "cgroup") == 0)
            continue;
        int c = cg_ctrl_from_v2_name(ctrl);
        if (c < 0 || cg->route[c] != cg->v2)
            return berr_set(err, EOPNOTSUPP,
                            "linux.resources.unified: %s: the %s controller is not available on "
                            "the unified hierarchy%s",
                            key, ctrl,
                            cg->mode == RT_CGROUP_HYBRID && c >= 0 && cg->route[c] >= 0
                                ? " (it is on cgroup v1 here)"
                                : "");
    }
    return 0;
}

/* Route each requested resource to its hierarchy's backend, in runc's order (cpuset first
 * so memory nodes exist; unified last so it overrides). */
static int apply(struct rt_cgroup *cg, const struct rt_resources *r, bool update, struct berr **err)
{
    struct cg_dir *d;
    if (r == NULL)
        return 0;
    if (check_routes(cg, r, err) < 0)
        return -1;
    if (cg_res_has_cpuset(r) && (d = cg_route(cg, CG_CPUSET)) &&
        cg_dir_ops(d)->set_cpuset(d, r, err) < 0)
        return -1;
    if (r->has_devices && (d = cg_route(cg, CG_DEVICES)) &&
        cg_dir_ops(d)->set_devices(d, r, err) < 0)
        return -1;
    if (cg_res_has_memory(r) && (d = cg_route(cg, CG_MEMORY)) &&
        cg_dir_ops(d)->set_memory(d, r, update, err) < 0)
        return -1;
    if (cg_res_has_cpu(r) && (d = cg_route(cg, CG_CPU)) &&
        cg_dir_ops(d)->set_cpu(d, r, update, err) < 0)
        return -1;
    if (r->pids_limit.set && (d = cg_route(cg, CG_PIDS)) && cg_dir_ops(d)->set_pids(d, r, err) < 0)
        return -1;
    if (cg_res_has_blkio(r) && (d = cg_route(cg, CG_BLKIO)) &&
        cg_dir_ops(d)->set_blkio(d, r, err) < 0)
        return -1;
    if (r->n_hugepages && (d = cg_route(cg, CG_HUGETLB)) &&
        cg_dir_ops(d)->set_hugetlb(d, r, err) < 0)
        return -1;
    /* runc sets network limits only where net_cls / net_prio are mounted (never on v2). */
    if (r->network.class_id.set) {
        d = cg_route(cg, CG_NET_CLS);
        if (d == NULL || cg_dir_ops(d)->set_net_cls == NULL)
            log_debug("cgroup %s: net_cls is not mounted; network.classID ignored", cg->path);
        else if (cg_dir_ops(d)->set_net_cls(d, r, err) < 0)
            return -1;
    }
    if (r->network.n_priorities) {
        d = cg_route(cg, CG_NET_PRIO);
        if (d == NULL || cg_dir_ops(d)->set_net_prio == NULL)
            log_debug("cgroup %s: net_prio is not mounted; network.priorities ignored", cg->path);
        else if (cg_dir_ops(d)->set_net_prio(d, r, err) < 0)
            return -1;
    }
    if (r->n_rdma && (d = cg_route(cg, CG_RDMA)) && cg_dir_ops(d)->set_rdma(d, r, err) < 0)
        return -1;
    if (r->n_unified) {
        d = &cg->dirs[cg->v2];
        if (cg_dir_ops(d)->set_unified(d, r, err) < 0)
            return -1;
    }
    return 0;
}

struct created {
    char **paths;
    size_t n;
};

static void created_rollback(struct created *c)
{
    for (size_t i = c->n; i-- > 0;) {
        if (rmdir(c->paths[i]) < 0 && errno != ENOENT)
            log_warn("cleanup: rmdir %s: %s", c->paths[i], strerror(errno));
        free(c->paths[i]);
    }
    free(c->paths);
    c->paths = NULL;
    c->n = 0;
}

static void created_forget(struct created *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->paths[i]);
    free(c->paths);
    c->paths = NULL;
    c->n = 0;
}

/* mkdir each level below the mount point, letting the backend enable controllers in each
 * parent first (v2) and initialise each new directory (v1 cpuset). */
static int make_dir(const struct cg_hier *h, struct cg_dir *d, struct created *c, struct berr **err)
{
    const struct cg_ops *ops = cg_dir_ops(d);
    size_t ml = strlen(h->mnt);
    _cleanup_free_ char *p = xstrdup(d->path);
    char *s = p + ml;
    while (*s == '/')
        s++;
    for (;;) {
        char *slash = strchr(s, '/');
        if (slash)
            *slash = 0;
        if (ops->enable_children) {
            /* The parent is everything before this component. */
            char *sep = s - 1;
            char saved = *sep;
            *sep = 0;
            int r = ops->enable_children(p[0] ? p : "/", d->ctrls, err);
            *sep = saved;
            if (r < 0)
                return -1;
        }
        if (mkdir(p, 0755) == 0) {
            c->paths = xreallocarray(c->paths, c->n + 1, sizeof(char *));
            c->paths[c->n++] = xstrdup(p);
            if (ops->init_new_dir && ops->init_new_dir(p, d->ctrls, err) < 0)
                return -1;
        } else if (errno != EEXIST) {
            return berr_sys(err, "mkdir %s", p);
        }
        if (slash == NULL)
            break;
        *slash = '/';
        s = slash + 1;
    }
    return 0;
}

struct rt_cgroup *rt_cgroup_create(const char *id, const char *cgroups_path,
                                   const struct rt_resources *res, struct berr **err)
{
    struct cg_layout *l = cg_layout_get(err);
    if (l == NULL)
        return berr_wrap(err, "cgroups"), NULL;
    if (l->n == 0)
        return berr_set(err, ENOENT, "cgroups: no cgroup hierarchy is mounted"), NULL;
    bool relative;
    _cleanup_free_ char *clean = cg_clean_path(id, cgroups_path, &relative, err);
    if (clean == NULL)
        return NULL;
    if (relative && !l->self_known && cg_layout_set_self(l, NULL, err) < 0)
        return NULL;

    _cleanup_(rt_cgroup_freep) struct rt_cgroup *cg = xzalloc(sizeof(*cg));
    cg->path = steal_ptr(&clean);
    cg->mode = l->mode;
    cg->n = l->n;
    cg->dirs = xcalloc(l->n, sizeof(*cg->dirs));
    for (size_t i = 0; i < l->n; i++) {
        cg->dirs[i].fd = -1;
        cg->dirs[i].v2 = l->h[i].v2;
        cg->dirs[i].name = xstrdup(l->h[i].name);
        cg->dirs[i].path = cg_hier_dir(&l->h[i], cg->path, relative);
        for (int c = 0; c < CG_NCTRL; c++)
            if (l->route[c] == (int)i)
                cg->dirs[i].ctrls |= 1u << c;
    }
    compute_routes(cg);

    struct created c = {0};
    for (size_t i = 0; i < cg->n; i++) {
        if (make_dir(&l->h[i], &cg->dirs[i], &c, err) < 0) {
            created_rollback(&c);
            return NULL;
        }
    }
    if (apply(cg, res, false, err) < 0) {
        for (size_t i = 0; i < cg->n; i++)
            closep(&cg->dirs[i].fd);
        created_rollback(&c);
        return NULL;
    }
    created_forget(&c);
    log_debug("cgroup %s: created (%s)", cg->path,
              cg->mode == RT_CGROUP_V2       ? "v2"
              : cg->mode == RT_CGROUP_HYBRID ? "hybrid"
                                             : "v1");
    return steal_ptr(&cg);
}

int rt_cgroup_enter(struct rt_cgroup *cg, pid_t pid, struct berr **err)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    for (size_t i = 0; i < cg->n; i++)
        if (cg_write(&cg->dirs[i], "cgroup.procs", buf, err) < 0)
            return berr_wrap(err, "enter cgroup");
    return 0;
}

int rt_cgroup_update(struct rt_cgroup *cg, const struct rt_resources *res, struct berr **err)
{
    return apply(cg, res, true, err);
}

int rt_cgroup_freeze(struct rt_cgroup *cg, bool frozen, struct berr **err)
{
    struct cg_dir *d = cg_route(cg, CG_FREEZER);
    if (d == NULL)
        return berr_set(err, EOPNOTSUPP, "cgroup %s: no freezer is available", cg->path);
    return cg_dir_ops(d)->freeze(d, frozen, err);
}

bool rt_cgroup_is_frozen(struct rt_cgroup *cg)
{
    struct cg_dir *d = cg_route(cg, CG_FREEZER);
    _cleanup_berr_ struct berr *e = NULL;
    return d && cg_dir_ops(d)->frozen_state(d, &e) == 1;
}

struct pid_list {
    pid_t *v;
    size_t n, cap;
};

#define CG_MAX_DEPTH 64

/* Takes fd (an open directory). */
static int collect_pids(int fd, const char *path, int depth, struct pid_list *pl, struct berr **err)
{
    DIR *dir = fdopendir(fd);
    if (dir == NULL) {
        close(fd);
        return berr_sys(err, "opendir %s", path);
    }
    _cleanup_berr_ struct berr *e = NULL;
    _cleanup_free_ char *s = read_file_at(dirfd(dir), "cgroup.procs", CG_READ_MAX, NULL, &e);
    if (s == NULL) {
        closedir(dir);
        if (e->errnum == ENOENT || e->errnum == ENODEV)
            return 0; /* removed under us */
        return berr_set(err, e->errnum, "read %s/cgroup.procs", path);
    }
    for (char *p = s; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pl->n == pl->cap) {
            pl->cap = pl->cap ? pl->cap * 2 : 64;
            pl->v = xreallocarray(pl->v, pl->cap, sizeof(pid_t));
        }
        pl->v[pl->n++] = (pid_t)v;
        p = end + strspn(end, "\n");
    }
    struct dirent *de;
    int ret = 0;
    while (ret == 0 && depth < CG_MAX_DEPTH && (de = readdir(dir)) != NULL) {
        if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int sub = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sub < 0)
            continue;
        _cleanup_free_ char *subpath = xasprintf("%s/%s", path, de->d_name);
        ret = collect_pids(sub, subpath, depth + 1, pl, err);
    }
    closedir(dir);
    return ret;
}

int rt_cgroup_pids(struct rt_cgroup *cg, pid_t **pids, size_t *n, struct berr **err)
{
    struct cg_dir *d = cg_primary_dir(cg);
    *pids = NULL;
    *n = 0;
    if (d == NULL)
        return 0;
    int dfd = cg_dir_fd(d, err);
    if (dfd < 0)
        return -1;
    /* A copy for readdir: the cached fd's offset stays where it is. */
    int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return berr_sys(err, "dup");
    struct pid_list pl = {0};
    if (collect_pids(fd, d->path, 0, &pl, err) < 0) {
        free(pl.v);
        return -1;
    }
    *pids = pl.v;
    *n = pl.n;
    return 0;
}

/* kill(2) each process, freezing first (when that is possible and not already the case) so
 * that nothing forks past the list, as runc does. */
static int kill_listed(struct rt_cgroup *cg, int sig, struct berr **err)
{
    struct cg_dir *fz = cg_route(cg, CG_FREEZER);
    bool froze = false;
    if (fz) {
        _cleanup_berr_ struct berr *e = NULL;
        if (cg_dir_ops(fz)->frozen_state(fz, &e) == 0) {
            if (cg_dir_ops(fz)->freeze(fz, true, &e) == 0)
                froze = true;
            else
                log_debug("cgroup %s: freeze before kill: %s", cg->path, e->msg);
        }
    }
    _cleanup_free_ pid_t *pids = NULL;
    size_t n;
    int r = rt_cgroup_pids(cg, &pids, &n, err);
    for (size_t i = 0; r == 0 && i < n; i++)
        if (kill(pids[i], sig) < 0 && errno != ESRCH)
            log_warn("cgroup %s: kill %d: %s", cg->path, (int)pids[i], strerror(errno));
    if (froze) {
        _cleanup_berr_ struct berr *e = NULL;
        if (cg_dir_ops(fz)->freeze(fz, false, &e) < 0)
            log_warn("cgroup %s: thaw after kill: %s", cg->path, e->msg);
    }
    return r;
}

int rt_cgroup_kill_all(struct rt_cgroup *cg, int sig, struct berr **err)
{
    /* cgroup.kill (5.14+) kills atomically, even processes forking as it runs. It exists in
     * the unified hierarchy in hybrid mode too. */
    if (sig == SIGKILL && cg->v2 >= 0) {
        int r = cg_try_write(&cg->dirs[cg->v2], "cgroup.kill", "1");
        if (r == 0)
            return 0;
        if (r != -ENOENT)
            return berr_set(err, -r, "write 1 to %s/cgroup.kill", cg->dirs[cg->v2].path);
    }
    return kill_listed(cg, sig, err);
}

/* rmdir a cgroup directory, and first the ones below it if it has any (cgroupfs says EBUSY
 * for both children and processes; the walk happens only then). Returns 0 or -errno. */
static int remove_tree_at(int dfd, const char *name, int depth)
{
    if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
        return 0;
    if ((errno != EBUSY && errno != ENOTEMPTY) || depth >= CG_MAX_DEPTH)
        return -errno;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    DIR *dir = fdopendir(fd);
    if (dir == NULL) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct dirent *de;
    int r = 0;
    bool children = false;
    while (r == 0 && (de = readdir(dir)) != NULL) {
        if (de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            children = true;
            r = remove_tree_at(dirfd(dir), de->d_name, depth + 1);
        }
    }
    closedir(dir);
    if (r < 0)
        return r;
    if (!children)
        return -EBUSY; /* processes, not children */
    if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

static void kill_leftovers(struct rt_cgroup *cg)
{
    _cleanup_berr_ struct berr *e = NULL;
    if (rt_cgroup_kill_all(cg, SIGKILL, &e) < 0)
        log_debug("cgroup %s: kill leftovers: %s", cg->path, e->msg);
    /* v1-frozen tasks do not die until thawed. */
    struct cg_dir *fz = cg_route(cg, CG_FREEZER);
    _cleanup_berr_ struct berr *e2 = NULL;
    if (fz && cg_dir_ops(fz)->frozen_state(fz, &e2) == 1 &&
        cg_dir_ops(fz)->freeze(fz, false, &e2) < 0)
        log_debug("cgroup %s: thaw: %s", cg->path, e2->msg);
}

int rt_cgroup_destroy(struct rt_cgroup *cg, struct berr **err)
{
    /* The usual case, a container whose processes are gone, needs nothing but the rmdirs.
     * Otherwise kill what is left (thawing it) and retry while the kernel finishes tearing
     * the processes down (EBUSY), for about a second. */
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long delay_us = 1000;
    for (;;) {
        int r = 0;
        const char *failed = NULL;
        for (size_t i = 0; i < cg->n; i++) {
            closep(&cg->dirs[i].fd);
            int ri = remove_tree_at(AT_FDCWD, cg->dirs[i].path, 0);
            if (ri < 0 && r == 0) {
                r = ri;
                failed = cg->dirs[i].path;
            }
        }
        if (r == 0)
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed_ms =
            (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (r != -EBUSY || elapsed_ms > 1000)
            return berr_set(err, -r, "remove cgroup %s", failed);
        kill_leftovers(cg);
        struct timespec ts = {0, delay_us * 1000};
        nanosleep(&ts, NULL);
        delay_us = delay_us * 2 > 100000 ? 100000 : delay_us * 2;
    }
}

bool rt_cgroup_oom_killed(struct rt_cgroup *cg)
{
    struct cg_dir *d = cg_route(cg, CG_MEMORY);
    return d && cg_dir_ops(d)->oom_killed(d);
}

int rt_cgroup_mount(struct rt_cgroup *cg, const char *target, unsigned long flags,
                    bool has_cgroupns, struct berr **err)
{
    const struct cg_ops *ops = cg->mode == RT_CGROUP_V2 ? &cg_v2_ops : &cg_v1_ops;
    if (ops->mount(cg, target, flags, has_cgroupns, err) < 0)
        return berr_wrap(err, "mount cgroups on %s", target);
    return 0;
}

int cg_bind_mount(const char *src, const char *dst, unsigned long flags, struct berr **err)
{
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        return berr_sys(err, "bind mount %s on %s", src, dst);
    const unsigned long atime = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;
    unsigned long want = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | atime);
    if (want == 0)
        return 0;
    /* A remount may not clear flags the kernel locked on the source (in a user namespace it
     * fails with EPERM), so keep those. */
    struct statvfs sv;
    if (statvfs(dst, &sv) == 0) {
        if (sv.f_flag & ST_NOSUID)
            want |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV)
            want |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC)
            want |= MS_NOEXEC;
        if (sv.f_flag & ST_RDONLY)
            want |= MS_RDONLY;
        if (!(want & atime)) {
            if (sv.f_flag & ST_NOATIME)
                want |= MS_NOATIME;
            if (sv.f_flag & ST_NODIRATIME)
                want |= MS_NODIRATIME;
            if (sv.f_flag & ST_RELATIME)
                want |= MS_RELATIME;
        }
    }
    if (mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | want, NULL) < 0)
        return berr_sys(err, "remount %s", dst);
    return 0;
}

/* ---- state file --------------------------------------------------------------------------- */

static const char *const mode_names[] = {
    [RT_CGROUP_V1] = "v1",
    [RT_CGROUP_HYBRID] = "hybrid",
    [RT_CGROUP_V2] = "v2",
};

json_t *rt_cgroup_save(const struct rt_cgroup *cg)
{
    json_t *dirs = json_array();
    for (size_t i = 0; i < cg->n; i++) {
        const struct cg_dir *d = &cg->dirs[i];
        json_t *ctrls = json_array();
        for (int c = 0; c < CG_NCTRL; c++)
            if (d->ctrls & (1u << c))
                json_array_append_new(ctrls, json_string(cg_ctrl_v1_name(c)));
        json_array_append_new(dirs, json_pack("{s:s,s:s,s:b,s:o}", "name", d->name, "path", d->path,
                                              "v2", d->v2, "controllers", ctrls));
    }
    return json_pack("{s:s,s:s,s:o}", "path", cg->path, "mode", mode_names[cg->mode], "dirs", dirs);
}

static bool safe_abs_path(const char *p)
{
    if (p[0] != '/')
        return false;
    for (const char *s = p; (s = strstr(s, "/..")) != NULL; s += 3)
        if (s[3] == '/' || s[3] == 0)
            return false;
    return true;
}

struct rt_cgroup *rt_cgroup_load(json_t *saved, struct berr **err)
{
    const char *path = NULL, *mode = NULL;
    json_t *dirs = NULL;
    if (!json_is_object(saved) ||
        json_unpack(saved, "{s:s,s:s,s:o}", "path", &path, "mode", &mode, "dirs", &dirs) < 0 ||
        !json_is_array(dirs) || json_array_size(dirs) > 64)
        return berr_set(err, 0, "saved cgroup state: malformed"), NULL;
    _cleanup_(rt_cgroup_freep) struct rt_cgroup *cg = xzalloc(sizeof(*cg));
    cg->path = xstrdup(path);
    cg->mode = (enum rt_cgroup_mode) - 1;
    for (size_t m = 0; m < ARRAY_SIZE(mode_names); m++)
        if (strcmp(mode, mode_names[m]) == 0)
            cg->mode = (enum rt_cgroup_mode)m;
    if ((int)cg->mode < 0)
        return berr_set(err, 0, "saved cgroup state: unknown mode \"%s\"", mode), NULL;
    cg->dirs = xcalloc(json_array_size(dirs) + 1, sizeof(*cg->dirs));
    size_t i;
    json_t *jd;
    json_array_foreach(dirs, i, jd)
    {
        const char *name, *dpath;
        int v2;
        json_t *ctrls;
        if (json_unpack(jd, "{s:s,s:s,s:b,s:o}", "name", &name, "path", &dpath, "v2", &v2,
                        "controllers", &ctrls) < 0 ||
            !json_is_array(ctrls) || !safe_abs_path(dpath))
            return berr_set(err, 0, "saved cgroup state: dirs[%zu]: malformed", i), NULL;
        struct cg_dir *d = &cg->dirs[cg->n++];
        d->fd = -1;
        d->name = xstrdup(name);
        d->path = xstrdup(dpath);
        d->v2 = v2;
        size_t k;
        json_t *jc;
        json_array_foreach(ctrls, k, jc)
        {
            int c = json_is_string(jc) ? cg_ctrl_from_v1_name(json_string_value(jc)) : -1;
            if (c < 0)
                return berr_set(err, 0, "saved cgroup state: dirs[%zu]: bad controller", i), NULL;
            d->ctrls |= 1u << c;
        }
    }
    compute_routes(cg);
    return steal_ptr(&cg);
}

void rt_cgroup_features(json_t *linux_obj)
{
    json_object_set_new(linux_obj, "cgroup",
                        json_pack("{s:b,s:b,s:b,s:b,s:b}", "v1", 1, "v2", 1, "systemd", 0,
                                  "systemdUser", 0, "rdma", 1));
}

int cg_write_hugetlb(struct cg_dir *d, const struct rt_resources *r, const char *limit_suffix,
                     const char *rsvd_suffix, struct berr **err)
{
    for (size_t i = 0; i < r->n_hugepages; i++) {
        const struct cg_hugepage_limit *h = &r->hugepages[i];
        char file[64], val[32];
        snprintf(file, sizeof(file), "hugetlb.%s.%s", h->page_size, limit_suffix);
        snprintf(val, sizeof(val), "%llu", (unsigned long long)h->limit);
        int rc = cg_try_write(d, file, val);
        if (rc == -ENOENT)
            return berr_set(err, EINVAL,
                            "linux.resources.hugepageLimits: page size %s is not supported here",
                            h->page_size);
        if (rc < 0)
            return berr_set(err, -rc, "write \"%s\" to %s/%s", val, d->path, file);
        snprintf(file, sizeof(file), "hugetlb.%s.%s", h->page_size, rsvd_suffix);
        rc = cg_try_write(d, file, val);
        if (rc < 0 && rc != -ENOENT)
            return berr_set(err, -rc, "write \"%s\" to %s/%s", val, d->path, file);
    }
    return 0;
}

int cg_write_cpuset(struct cg_dir *d, const struct rt_resources *r, struct berr **err)
{
    if (r->cpu.cpus && cg_write(d, "cpuset.cpus", r->cpu.cpus, err) < 0)
        return -1;
    if (r->cpu.mems && cg_write(d, "cpuset.mems", r->cpu.mems, err) < 0)
        return -1;
    return 0;
}

int cg_write_pids(struct cg_dir *d, const struct rt_resources *r, struct berr **err)
{
    if (r->pids_limit.v < 0)
        return cg_write(d, "pids.max", "max", err);
    return cg_writef(d, "pids.max", err, "%lld", (long long)r->pids_limit.v);
}
