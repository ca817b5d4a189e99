/* Docker's top, stats and update for the engine: a container's processes picked out of the
 * host's ps by its cgroup, usage samples read straight from its cgroup files (v1 controllers,
 * the unified hierarchy, or both as on hybrid hosts) in Docker's stats JSON, and new resource
 * limits checked as create checks them, recorded, then handed to `runtime update`. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/process.h"
#include "common/fsutil.h"
#include "common/jsonkind.h"
#include "common/strv.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "engine/engine_internal.h"
#include "engine/specgen_internal.h"
#include "engine/stats.h"

extern char **environ;

#define FILE_MAX      (4u << 20)
#define PS_OUTPUT_MAX (16u << 20)
#define PS_TIMEOUT_MS 30000
#define MAX_PIDS      (1u << 20)
#define CG_MAX_DEPTH  32
/* USER_HZ, the unit of /proc/stat and cpuacct.stat, is 100 on every Linux ABI. */
#define USER_HZ   100ULL
#define ZERO_TIME "0001-01-01T00:00:00Z"

/* ---- small parsing helpers ---- */

static json_t *json_u64(uint64_t v)
{
    return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* Digits from s up to end (or a NUL), surrounding blanks allowed; overflow saturates. */
static bool parse_u64(const char *s, const char *end, uint64_t *out)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    if (s >= end || *s < '0' || *s > '9')
        return false;
    uint64_t v = 0;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    if (s != end)
        return false;
    *out = v;
    return true;
}

static const char *line_end(const char *p)
{
    return strchrnul(p, '\n');
}

/* Splits [p, end) at blanks (and ':' when colon) into at most max words. */
static size_t split_words(const char *p, const char *end, bool colon, char words[][64], size_t max)
{
    size_t n = 0;
    while (p < end && n < max) {
        while (p < end && (*p == ' ' || *p == '\t' || (colon && *p == ':')))
            p++;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\t' && !(colon && *p == ':'))
            p++;
        if (p == w)
            break;
        size_t len = (size_t)(p - w) < 63 ? (size_t)(p - w) : 63;
        memcpy(words[n], w, len);
        words[n++][len] = '\0';
    }
    return n;
}

bool eng_stats_parse_value(const char *text, uint64_t *out)
{
    if (text == NULL)
        return false;
    const char *end = text + strlen(text);
    if (strncmp(text, "max", 3) == 0 && (text[3] == '\0' || text[3] == '\n')) {
        *out = UINT64_MAX;
        return true;
    }
    return parse_u64(text, end, out);
}

json_t *eng_stats_parse_keyed(const char *text)
{
    json_t *o = json_object();
    for (const char *p = text ? text : ""; *p;) {
        const char *eol = line_end(p);
        const char *sp = memchr(p, ' ', (size_t)(eol - p));
        uint64_t v;
        if (sp != NULL && sp > p && parse_u64(sp + 1, eol, &v)) {
            _cleanup_free_ char *key = xstrndup(p, (size_t)(sp - p));
            json_object_set_new(o, key, json_u64(v));
        }
        p = *eol ? eol + 1 : eol;
    }
    return o;
}

json_t *eng_stats_parse_numbers(const char *text)
{
    json_t *a = json_array();
    const char *p = text ? text : "";
    for (;;) {
        p += strspn(p, " \t\n");
        if (*p < '0' || *p > '9')
            return a;
        const char *w = p;
        p += strspn(p, "0123456789");
        uint64_t v;
        if (parse_u64(w, p, &v))
            json_array_append_new(a, json_u64(v));
    }
}

int eng_stats_parse_proc_stat(const char *text, uint64_t *total_ns, uint32_t *ncpus)
{
    bool found = false;
    *total_ns = 0;
    *ncpus = 0;
    /* the cpu lines come first (glibc assumes it too); the first other line ends them */
    for (const char *p = text; *p && strncmp(p, "cpu", 3) == 0;) {
        const char *eol = line_end(p);
        if (p[3] == ' ') {
            char w[9][64];
            size_t n = split_words(p, eol, false, w, 9);
            if (n < 8)
                return -1;
            uint64_t ticks = 0;
            for (size_t i = 1; i < 8; i++) {
                uint64_t v;
                if (!parse_u64(w[i], w[i] + strlen(w[i]), &v))
                    return -1;
                ticks += v;
            }
            *total_ns = ticks * (1000000000ULL / USER_HZ);
            found = true;
        } else if (p[3] >= '0' && p[3] <= '9') {
            (*ncpus)++;
        }
        p = *eol ? eol + 1 : eol;
    }
    return found ? 0 : -1;
}

uint64_t eng_stats_parse_meminfo_total(const char *text)
{
    for (const char *p = text ? text : ""; *p;) {
        const char *eol = line_end(p);
        if (strncmp(p, "MemTotal:", 9) == 0) {
            char w[3][64];
            size_t n = split_words(p + 9, eol, false, w, 3);
            uint64_t kb;
            if (n >= 1 && parse_u64(w[0], w[0] + strlen(w[0]), &kb))
                return n >= 2 && strcmp(w[1], "kB") == 0 ? kb * 1024 : kb;
        }
        p = *eol ? eol + 1 : eol;
    }
    return 0;
}

json_t *eng_stats_parse_blkio_v1(const char *text)
{
    json_t *a = json_array();
    for (const char *p = text ? text : ""; *p;) {
        const char *eol = line_end(p);
        char w[5][64];
        size_t n = split_words(p, eol, true, w, 5);
        uint64_t maj, min, v;
        /* "8:0 Read 4096", or "8:0 4096" in files without an operation (time, sectors) */
        if ((n == 3 || n == 4) && parse_u64(w[0], w[0] + strlen(w[0]), &maj) &&
            parse_u64(w[1], w[1] + strlen(w[1]), &min) &&
            parse_u64(w[n - 1], w[n - 1] + strlen(w[n - 1]), &v))
            json_array_append_new(a, json_pack("{s:o,s:o,s:s,s:o}", "major", json_u64(maj), "minor",
                                               json_u64(min), "op", n == 4 ? w[2] : "", "value",
                                               json_u64(v)));
        p = *eol ? eol + 1 : eol;
    }
    return a;
}

json_t *eng_stats_parse_io_stat(const char *text)
{
    json_t *a = json_array();
    for (const char *p = text ? text : ""; *p;) {
        const char *eol = line_end(p);
        char w[16][64];
        size_t n = split_words(p, eol, false, w, 16);
        unsigned maj, min;
        char tail;
        if (n >= 1 && sscanf(w[0], "%u:%u%c", &maj, &min, &tail) == 2) {
            uint64_t rbytes = 0, wbytes = 0;
            for (size_t i = 1; i < n; i++) {
                char *eq = strchr(w[i], '=');
                uint64_t v;
                if (eq == NULL || !parse_u64(eq + 1, eq + 1 + strlen(eq + 1), &v))
                    continue;
                if (strncmp(w[i], "rbytes=", 7) == 0)
                    rbytes = v;
                else if (strncmp(w[i], "wbytes=", 7) == 0)
                    wbytes = v;
            }
            json_array_append_new(a, json_pack("{s:i,s:i,s:s,s:o}", "major", (int)maj, "minor",
                                               (int)min, "op", "read", "value", json_u64(rbytes)));
            json_array_append_new(a, json_pack("{s:i,s:i,s:s,s:o}", "major", (int)maj, "minor",
                                               (int)min, "op", "write", "value", json_u64(wbytes)));
        }
        p = *eol ? eol + 1 : eol;
    }
    if (json_array_size(a) == 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

json_t *eng_stats_parse_net_dev(const char *text)
{
    static const struct {
        const char *key;
        int col;
    } cols[] = {{"rx_bytes", 0}, {"rx_packets", 1}, {"rx_errors", 2},  {"rx_dropped", 3},
                {"tx_bytes", 8}, {"tx_packets", 9}, {"tx_errors", 10}, {"tx_dropped", 11}};
    json_t *o = json_object();
    for (const char *p = text ? text : ""; *p;) {
        const char *eol = line_end(p);
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon != NULL && memchr(p, '|', (size_t)(eol - p)) == NULL) {
            const char *n0 = p + strspn(p, " \t");
            _cleanup_free_ char *name = xstrndup(n0, (size_t)(colon - n0));
            char w[17][64];
            size_t n = split_words(colon + 1, eol, false, w, 17);
            if (n >= 16 && *name != '\0' && strcmp(name, "lo") != 0) {
                json_t *st = json_object();
                for (size_t i = 0; i < ARRAY_SIZE(cols); i++) {
                    uint64_t v = 0;
                    const char *s = w[cols[i].col];
                    parse_u64(s, s + strlen(s), &v);
                    json_object_set_new(st, cols[i].key, json_u64(v));
                }
                json_object_set_new(o, name, st);
            }
        }
        p = *eol ? eol + 1 : eol;
    }
    return o;
}

/* ---- where a container's cgroups are ---- */

static const char *const ctrl_names[ENG_STATS_NCTRL] = {"cpu", "cpuacct", "memory", "pids",
                                                        "blkio"};

void eng_stats_cgroups_init(struct eng_stats_cgroups *cg)
{
    memset(cg, 0, sizeof(*cg));
}

void eng_stats_cgroups_free(struct eng_stats_cgroups *cg)
{
    for (size_t i = 0; i < ENG_STATS_NCTRL; i++)
        free(cg->v1[i]);
    free(cg->v2);
    eng_stats_cgroups_init(cg);
}

/* mountinfo escapes blanks and backslashes as \ooo. In place. */
static void unescape_octal(char *s)
{
    char *o = s;
    for (char *p = s; *p;) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 4;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
}

static bool has_token(const char *list, const char *tok)
{
    size_t len = strlen(tok);
    for (const char *p = list; p != NULL && *p;) {
        const char *comma = strchrnul(p, ',');
        if ((size_t)(comma - p) == len && strncmp(p, tok, len) == 0)
            return true;
        p = *comma ? comma + 1 : comma;
    }
    return false;
}

/* The directory of cgroup path (as /proc/<pid>/cgroup names it) under the first mount of
 * that hierarchy whose root holds it: v2 with ctrl NULL, else the v1 mount with ctrl. */
static char *dir_under_mount(const char *mountinfo, const char *ctrl, const char *path)
{
    for (const char *p = mountinfo; *p;) {
        const char *eol = line_end(p);
        _cleanup_free_ char *line = xstrndup(p, (size_t)(eol - p));
        p = *eol ? eol + 1 : eol;
        char *save = NULL, *f[6] = {0};
        size_t n = 0;
        while (n < 6 && (f[n] = strtok_r(n == 0 ? line : NULL, " ", &save)) != NULL)
            n++;
        if (n < 6)
            continue;
        char *fstype = NULL, *super = NULL;
        for (char *t = strtok_r(NULL, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
            if (strcmp(t, "-") == 0) {
                fstype = strtok_r(NULL, " ", &save);
                strtok_r(NULL, " ", &save); /* the source */
                super = strtok_r(NULL, " ", &save);
                break;
            }
        }
        if (fstype == NULL)
            continue;
        if (ctrl == NULL ? strcmp(fstype, "cgroup2") != 0
                         : strcmp(fstype, "cgroup") != 0 || !has_token(super, ctrl))
            continue;
        char *root = f[3], *mnt = f[4];
        unescape_octal(root);
        unescape_octal(mnt);
        const char *rel = path;
        if (strcmp(root, "/") != 0) {
            size_t rl = strlen(root);
            if (strncmp(path, root, rl) != 0 || (path[rl] != '\0' && path[rl] != '/'))
                continue;
            rel = path + rl;
        }
        if (strcmp(rel, "/") == 0)
            rel = "";
        return xasprintf("%s%s", mnt, rel);
    }
    return NULL;
}

int eng_stats_cgroup_dirs(const char *proc_cgroup, const char *mountinfo,
                          struct eng_stats_cgroups *cg, struct berr **err)
{
    bool any = false;
    for (const char *p = proc_cgroup; *p;) {
        const char *eol = line_end(p);
        _cleanup_free_ char *line = xstrndup(p, (size_t)(eol - p));
        p = *eol ? eol + 1 : eol;
        char *c1 = strchr(line, ':');
        char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c1 = *c2 = '\0';
        const char *ctrls = c1 + 1, *path = c2 + 1;
        if (strcmp(line, "0") == 0 && *ctrls == '\0') {
            if (cg->v2 == NULL && (cg->v2 = dir_under_mount(mountinfo, NULL, path)) != NULL)
                any = true;
            continue;
        }
        for (size_t i = 0; i < ENG_STATS_NCTRL; i++) {
            if (cg->v1[i] != NULL || !has_token(ctrls, ctrl_names[i]))
                continue;
            if ((cg->v1[i] = dir_under_mount(mountinfo, ctrl_names[i], path)) != NULL)
                any = true;
        }
    }
    if (!any)
        return berr_code(err, EINVAL, "none of the process's cgroups is mounted here");
    return 0;
}

/* ---- the container as these endpoints see it ---- */

struct view {
    char id[65];
    char *name;
    pid_t pid;
    bool running, restarting, host_net;
};

static void view_freep(struct view *v)
{
    free(v->name);
}

static int view_of(struct eng *e, const char *ref, struct view *v, struct berr **err)
{
    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    pthread_mutex_lock(&e->mu);
    memcpy(v->id, c->id, sizeof(v->id));
    v->name = xstrdup(ctr_name(c));
    const char *st = ctr_status(c);
    v->running = strcmp(st, "running") == 0 || strcmp(st, "paused") == 0;
    v->restarting = strcmp(st, "restarting") == 0;
    v->pid = (pid_t)json_integer_value(json_object_get(ctr_state(c), "Pid"));
    const char *nm =
        json_string_value(json_object_get(json_object_get(c->rec, "HostConfig"), "NetworkMode"));
    v->host_net = nm != NULL && strcmp(nm, "host") == 0;
    pthread_mutex_unlock(&e->mu);
    ctr_unref(e, c);
    return 0;
}

/* The cgroups of the container's process. ESRCH when it is gone, or when its pid now belongs
 * to a process outside the container (every cgroup path of ours ends in the container's id). */
static int locate(const struct view *v, struct eng_stats_cgroups *cg, struct berr **err)
{
    if (v->pid <= 0)
        return berr_code(err, ESRCH, "container %s has no process", v->id);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)v->pid);
    _cleanup_free_ char *pc = read_file_at(AT_FDCWD, path, FILE_MAX, NULL, NULL);
    if (pc == NULL || strstr(pc, v->id) == NULL)
        return berr_code(err, ESRCH, "container %s: its process %d is gone", v->id, (int)v->pid);
    _cleanup_free_ char *mi = read_file_at(AT_FDCWD, "/proc/self/mountinfo", FILE_MAX, NULL, err);
    if (mi == NULL)
        return -1;
    return eng_stats_cgroup_dirs(pc, mi, cg, err);
}

static char *cg_read(const char *dir, const char *file)
{
    if (dir == NULL)
        return NULL;
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
    return read_file_at(AT_FDCWD, p, FILE_MAX, NULL, NULL);
}

static bool cg_u64(const char *dir, const char *file, uint64_t *out)
{
    _cleanup_free_ char *t = cg_read(dir, file);
    return eng_stats_parse_value(t, out);
}

static uint64_t keyed_u64(json_t *o, const char *key)
{
    return (uint64_t)json_integer_value(json_object_get(o, key));
}

/* ---- top ---- */

struct pid_set {
    pid_t *v;
    size_t n, cap;
};

static int collect_pids(int dfd, int depth, struct pid_set *ps, struct berr **err)
{
    _cleanup_free_ char *procs = read_file_at(dfd, "cgroup.procs", FILE_MAX, NULL, NULL);
    for (const char *p = procs ? procs : ""; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (ps->n == MAX_PIDS)
            return berr_code(err, E2BIG, "more than %u processes in the container", MAX_PIDS);
        if (ps->n == ps->cap) {
            ps->cap = ps->cap ? ps->cap * 2 : 64;
            ps->v = xreallocarray(ps->v, ps->cap, sizeof(*ps->v));
        }
        ps->v[ps->n++] = (pid_t)v;
        p = end + strspn(end, "\n");
    }
    if (depth >= CG_MAX_DEPTH)
        return 0;
    int sub = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sub < 0)
        return 0;
    _cleanup_(closedirp) DIR *d = fdopendir(sub);
    if (d == NULL) {
        close(sub);
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_close_ int child = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (child >= 0 && collect_pids(child, depth + 1, ps, err) < 0)
            return -1;
    }
    return 0;
}

int eng_top_check_ps_args(const char *ps_args, struct berr **err)
{
    /* "-o comm=PID" would relabel a column PID and defeat the filter on the PID column */
    for (const char *eq = strchr(ps_args, '='); eq != NULL; eq = strchr(eq + 1, '=')) {
        const char *k = eq;
        while (k > ps_args && !strchr(" \t\n\f\r", k[-1]))
            k--;
        if (k == ps_args)
            continue;
        const char *v = eq + 1;
        v += strspn(v, " \t\n\f\r");
        if (strncmp(v, "PID", 3) != 0)
            continue;
        size_t klen = (size_t)(eq - k), vlen = strcspn(v, " \t\n\f\r");
        if (klen == 3 && strncmp(k, "pid", 3) == 0)
            continue;
        return berr_code(err, EINVAL, "specifying \"%.*s=%.*s\" is not allowed", (int)klen, k,
                         (int)vlen, v);
    }
    return 0;
}

static const char *const blanks = " \t\n\f\r";

static json_t *words_of(const char *line)
{
    json_t *a = json_array();
    for (const char *p = line + strspn(line, blanks); *p; p += strspn(p, blanks)) {
        size_t len = strcspn(p, blanks);
        json_array_append_new(a, json_stringn(p, len));
        p += len;
    }
    return a;
}

/* A row as Docker shows it: as many cells as titles, the last one holding the rest. */
static json_t *row_of(json_t *words, size_t ntitles)
{
    if (json_array_size(words) <= ntitles)
        return json_incref(words);
    json_t *row = json_array();
    for (size_t i = 0; i + 1 < ntitles; i++)
        json_array_append(row, json_array_get(words, i));
    size_t cap = 1;
    for (size_t i = ntitles - 1; i < json_array_size(words); i++)
        cap += json_string_length(json_array_get(words, i)) + 1;
    _cleanup_free_ char *rest = xcalloc(1, cap);
    for (size_t i = ntitles - 1; i < json_array_size(words); i++) {
        if (i > ntitles - 1)
            strcat(rest, " ");
        strcat(rest, json_string_value(json_array_get(words, i)));
    }
    json_array_append_new(row, json_string(rest));
    return row;
}

json_t *eng_top_parse_ps(const char *output, const pid_t *pids, size_t n, struct berr **err)
{
    const char *eol = line_end(output);
    _cleanup_free_ char *first = xstrndup(output, (size_t)(eol - output));
    _cleanup_json_ json_t *titles = words_of(first);
    size_t pid_col = SIZE_MAX;
    for (size_t i = 0; i < json_array_size(titles); i++)
        if (strcmp(json_string_value(json_array_get(titles, i)), "PID") == 0) {
            pid_col = i;
            break;
        }
    if (pid_col == SIZE_MAX)
        return berr_code(err, EINVAL,
                         "Couldn't find PID field in ps output: give ps_args that print a PID "
                         "column (e.g. \"-ef\" or \"-o pid,comm\")"),
               NULL;
    _cleanup_json_ json_t *procs = json_array();
    bool kept_prev = false; /* thread rows (PID "-") belong to the process row above them */
    for (const char *p = *eol ? eol + 1 : eol; *p;) {
        const char *e2 = line_end(p);
        _cleanup_free_ char *line = xstrndup(p, (size_t)(e2 - p));
        p = *e2 ? e2 + 1 : e2;
        _cleanup_json_ json_t *words = words_of(line);
        if (json_array_size(words) <= pid_col)
            continue;
        const char *pid_s = json_string_value(json_array_get(words, pid_col));
        bool keep;
        if (strcmp(pid_s, "-") == 0) {
            keep = kept_prev;
        } else {
            char *end;
            errno = 0;
            long v = strtol(pid_s, &end, 10);
            if (*end != '\0' || errno != 0 || v <= 0)
                return berr_code(err, EINVAL, "Unexpected pid '%s' in ps output", pid_s), NULL;
            keep = false;
            for (size_t i = 0; i < n && !keep; i++)
                keep = pids[i] == (pid_t)v;
            kept_prev = keep;
        }
        if (keep)
            json_array_append_new(procs, row_of(words, json_array_size(titles)));
    }
    return json_pack("{s:O,s:O}", "Titles", titles, "Processes", procs);
}

/* Runs argv (looked up in PATH), collecting its output and the first line of its errors. */
static int run_capture(char *const *argv, char **out, char **err_line, struct berr **err)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
        int saved = errno;
        closep(&po[0]);
        closep(&po[1]);
        errno = saved;
        return berr_sys(err, "pipe");
    }
    const int fds[3] = {-1, po[1], pe[1]};
    pid_t pid = spawn_process(argv, fds, 3, true, err);
    closep(&po[1]);
    closep(&pe[1]);
    _cleanup_close_ int ro = po[0], re = pe[0];
    if (pid < 0)
        return -1;
    size_t olen = 0, elen = 0, ocap = 8192;
    char ebuf[1024];
    *out = xmalloc(ocap);
    int64_t deadline = time_now_ns() + (int64_t)PS_TIMEOUT_MS * 1000000;
    bool too_big = false, timed_out = false;
    while (ro >= 0 || re >= 0) {
        struct pollfd pf[2] = {{.fd = ro, .events = POLLIN}, {.fd = re, .events = POLLIN}};
        int64_t left = (deadline - time_now_ns()) / 1000000;
        if (left <= 0) {
            timed_out = true;
            break;
        }
        if (poll(pf, 2, (int)left) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[0].revents) {
            if (olen + 4096 + 1 > ocap)
                *out = xrealloc(*out, ocap *= 2);
            ssize_t r = read(ro, *out + olen, ocap - olen - 1);
            if (r > 0 && (olen += (size_t)r) > PS_OUTPUT_MAX) {
                too_big = true;
                break;
            }
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
                closep(&ro);
        }
        if (pf[1].revents) {
            char tmp[4096];
            ssize_t r = read(re, tmp, sizeof(tmp));
            if (r > 0 && elen < sizeof(ebuf) - 1) {
                size_t take =
                    (size_t)r < sizeof(ebuf) - 1 - elen ? (size_t)r : sizeof(ebuf) - 1 - elen;
                memcpy(ebuf + elen, tmp, take);
                elen += take;
            }
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
                closep(&re);
        }
    }
    (*out)[olen] = '\0';
    ebuf[elen] = '\0';
    ebuf[strcspn(ebuf, "\n")] = '\0';
    *err_line = xstrdup(ebuf);
    if (too_big || timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (too_big)
        return berr_code(err, EFBIG, "%s printed more than %u bytes", argv[0], PS_OUTPUT_MAX);
    if (timed_out)
        return berr_code(err, ETIMEDOUT, "%s did not finish in %d s", argv[0],
                         PS_TIMEOUT_MS / 1000);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The pids of the container's processes, from one of its cgroups (and those below it). */
static int container_pids(const struct view *v, struct pid_set *ps, struct berr **err)
{
    struct eng_stats_cgroups cg;
    eng_stats_cgroups_init(&cg);
    if (!v->running || locate(v, &cg, NULL) < 0) {
        eng_stats_cgroups_free(&cg);
        return berr_code(err, EBUSY, "Container %s is not running", v->id);
    }
    static const enum eng_stats_ctrl prefer[] = {ENG_STATS_PIDS, ENG_STATS_MEMORY,
                                                 ENG_STATS_CPUACCT, ENG_STATS_CPU, ENG_STATS_BLKIO};
    const char *dir = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(prefer) && dir == NULL; i++)
        dir = cg.v1[prefer[i]];
    _cleanup_close_ int dfd = open(dir != NULL ? dir : cg.v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    eng_stats_cgroups_free(&cg);
    if (dfd < 0)
        return berr_code(err, EBUSY, "Container %s is not running", v->id);
    if (collect_pids(dfd, 0, ps, err) < 0)
        return -1;
    if (ps->n == 0)
        return berr_code(err, EBUSY, "Container %s is not running", v->id);
    return 0;
}

/* ps's output, as Docker runs it: told which pids to show (-q), or, for options that refuse
 * -q (f), of everything with our filter alone. */
static char *ps_output(const char *ps_args, const struct pid_set *ps, struct berr **err)
{
    _cleanup_strv_ char **argv = NULL;
    strv_append(&argv, "ps");
    _cleanup_free_ char *args = xstrdup(ps_args);
    char *save = NULL;
    for (char *t = strtok_r(args, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save))
        strv_append(&argv, t);
    size_t qcap = 3 + ps->n * 12;
    _cleanup_free_ char *q = xmalloc(qcap);
    size_t ql = (size_t)snprintf(q, qcap, "-q");
    for (size_t i = 0; i < ps->n; i++)
        ql += (size_t)snprintf(q + ql, qcap - ql, "%s%d", i ? "," : "", (int)ps->v[i]);
    strv_append(&argv, q);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (attempt == 1) {
            size_t last = strv_length(argv) - 1;
            free(argv[last]);
            argv[last] = NULL;
        }
        _cleanup_free_ char *out = NULL, *eline = NULL;
        int rc = run_capture(argv, &out, &eline, err);
        if (rc < 0)
            return NULL;
        if (rc == 0)
            return steal_ptr(&out);
        if (attempt == 1) {
            if (*eline != '\0')
                berr_code(err, EIO, "ps: %s", eline);
            else
                berr_code(err, EIO, "ps %s: exit status %d", ps_args, rc);
        }
    }
    return NULL;
}

json_t *eng_top(struct eng *e, const char *ref, const char *ps_args, struct berr **err)
{
    if (ps_args == NULL || *ps_args == '\0')
        ps_args = "-ef";
    if (eng_top_check_ps_args(ps_args, err) < 0)
        return NULL;
    _cleanup_(view_freep) struct view v = {0};
    if (view_of(e, ref, &v, err) < 0)
        return NULL;
    if (v.restarting)
        return berr_code(err, EBUSY,
                         "Container %s is restarting, wait until the container is running", v.id),
               NULL;
    struct pid_set ps = {0};
    _cleanup_free_ pid_t *pids = NULL;
    int rc = container_pids(&v, &ps, err);
    pids = ps.v;
    if (rc < 0)
        return NULL;
    _cleanup_free_ char *output = ps_output(ps_args, &ps, err);
    if (output == NULL)
        return NULL;
    json_t *out = eng_top_parse_ps(output, ps.v, ps.n, err);
    struct ctr *c = out != NULL ? eng_get(e, v.id, NULL) : NULL;
    if (c != NULL) {
        eng_event(e, c, "top", NULL);
        ctr_unref(e, c);
    }
    return out;
}

/* ---- stats ---- */

static json_t *zero_cpu_stats(void)
{
    return json_pack("{s:{s:i,s:i,s:i},s:{s:i,s:i,s:i}}", "cpu_usage", "total_usage", 0,
                     "usage_in_kernelmode", 0, "usage_in_usermode", 0, "throttling_data", "periods",
                     0, "throttled_periods", 0, "throttled_time", 0);
}

static const char *const blkio_keys[] = {
    "io_service_bytes_recursive", "io_serviced_recursive",  "io_queue_recursive",
    "io_service_time_recursive",  "io_wait_time_recursive", "io_merged_recursive",
    "io_time_recursive",          "sectors_recursive",
};

static json_t *null_blkio(void)
{
    json_t *b = json_object();
    for (size_t i = 0; i < ARRAY_SIZE(blkio_keys); i++)
        json_object_set_new(b, blkio_keys[i], json_null());
    return b;
}

static json_t *cpu_stats(const struct eng_stats_cgroups *cg)
{
    uint64_t total = 0, kernel = 0, user = 0;
    json_t *percpu = NULL;
    _cleanup_json_ json_t *throttle = NULL;
    if (cg->v1[ENG_STATS_CPUACCT] != NULL) {
        const char *d = cg->v1[ENG_STATS_CPUACCT];
        cg_u64(d, "cpuacct.usage", &total);
        _cleanup_free_ char *pc = cg_read(d, "cpuacct.usage_percpu");
        percpu = pc != NULL ? eng_stats_parse_numbers(pc) : NULL;
        _cleanup_free_ char *st = cg_read(d, "cpuacct.stat");
        _cleanup_json_ json_t *k = eng_stats_parse_keyed(st);
        user = keyed_u64(k, "user") * (1000000000ULL / USER_HZ);
        kernel = keyed_u64(k, "system") * (1000000000ULL / USER_HZ);
    } else if (cg->v2 != NULL) {
        _cleanup_free_ char *st = cg_read(cg->v2, "cpu.stat");
        _cleanup_json_ json_t *k = eng_stats_parse_keyed(st);
        total = keyed_u64(k, "usage_usec") * 1000;
        user = keyed_u64(k, "user_usec") * 1000;
        kernel = keyed_u64(k, "system_usec") * 1000;
    }
    uint64_t periods = 0, throttled = 0, throttled_ns = 0;
    if (cg->v1[ENG_STATS_CPU] != NULL) {
        _cleanup_free_ char *st = cg_read(cg->v1[ENG_STATS_CPU], "cpu.stat");
        throttle = eng_stats_parse_keyed(st);
        throttled_ns = keyed_u64(throttle, "throttled_time");
    } else if (cg->v2 != NULL) {
        _cleanup_free_ char *st = cg_read(cg->v2, "cpu.stat");
        throttle = eng_stats_parse_keyed(st);
        throttled_ns = keyed_u64(throttle, "throttled_usec") * 1000;
    }
    periods = keyed_u64(throttle, "nr_periods");
    throttled = keyed_u64(throttle, "nr_throttled");

    json_t *usage = json_object();
    json_object_set_new(usage, "total_usage", json_u64(total));
    if (json_array_size(percpu) > 0)
        json_object_set(usage, "percpu_usage", percpu);
    json_decref(percpu);
    json_object_set_new(usage, "usage_in_kernelmode", json_u64(kernel));
    json_object_set_new(usage, "usage_in_usermode", json_u64(user));
    json_t *out = json_object();
    json_object_set_new(out, "cpu_usage", usage);
    _cleanup_free_ char *ps = read_file_at(AT_FDCWD, "/proc/stat", FILE_MAX, NULL, NULL);
    uint64_t sys_ns;
    uint32_t ncpus;
    if (ps != NULL && eng_stats_parse_proc_stat(ps, &sys_ns, &ncpus) == 0) {
        json_object_set_new(out, "system_cpu_usage", json_u64(sys_ns));
        if (ncpus > 0)
            json_object_set_new(out, "online_cpus", json_integer(ncpus));
    }
    json_object_set_new(out, "throttling_data",
                        json_pack("{s:o,s:o,s:o}", "periods", json_u64(periods),
                                  "throttled_periods", json_u64(throttled), "throttled_time",
                                  json_u64(throttled_ns)));
    return out;
}

/* The memory.stat keys Docker reports (sorted, as Go writes a map), each present even when
 * the kernel has no such line. */
static const char mem_keys_v1[] =
    "active_anon active_file cache dirty hierarchical_memory_limit "
    "hierarchical_memsw_limit inactive_anon inactive_file mapped_file pgfault pgmajfault "
    "pgpgin pgpgout rss rss_huge total_active_anon total_active_file total_cache "
    "total_dirty total_inactive_anon total_inactive_file total_mapped_file total_pgfault "
    "total_pgmajfault total_pgpgin total_pgpgout total_rss total_rss_huge "
    "total_unevictable total_writeback unevictable writeback";
static const char mem_keys_v2[] =
    "active_anon active_file anon anon_thp file file_dirty file_mapped file_writeback "
    "inactive_anon inactive_file kernel_stack pgactivate pgdeactivate pgfault pglazyfree "
    "pglazyfreed pgmajfault pgrefill pgscan pgsteal shmem slab slab_reclaimable "
    "slab_unreclaimable sock thp_collapse_alloc thp_fault_alloc unevictable "
    "workingset_activate workingset_nodereclaim workingset_refault";

static json_t *pick_keys(json_t *all, const char *keys)
{
    json_t *o = json_object();
    for (const char *k = keys; *k; k += strspn(k, " ")) {
        _cleanup_free_ char *key = xstrndup(k, strcspn(k, " "));
        k += strlen(key);
        json_object_set_new(o, key, json_u64(keyed_u64(all, key)));
    }
    return o;
}

static void set_nonzero(json_t *o, const char *key, uint64_t v)
{
    if (v != 0)
        json_object_set_new(o, key, json_u64(v));
}

static json_t *memory_stats(const struct eng_stats_cgroups *cg)
{
    json_t *m = json_object();
    uint64_t usage = 0, max_usage = 0, failcnt = 0, limit = 0;
    _cleanup_json_ json_t *stats = NULL;
    if (cg->v1[ENG_STATS_MEMORY] != NULL) {
        const char *d = cg->v1[ENG_STATS_MEMORY];
        _cleanup_free_ char *st = cg_read(d, "memory.stat");
        _cleanup_json_ json_t *all = eng_stats_parse_keyed(st);
        stats = pick_keys(all, mem_keys_v1);
        cg_u64(d, "memory.usage_in_bytes", &usage);
        cg_u64(d, "memory.max_usage_in_bytes", &max_usage);
        cg_u64(d, "memory.failcnt", &failcnt);
        cg_u64(d, "memory.limit_in_bytes", &limit);
    } else if (cg->v2 != NULL && cg_u64(cg->v2, "memory.current", &usage)) {
        _cleanup_free_ char *st = cg_read(cg->v2, "memory.stat");
        _cleanup_json_ json_t *all = eng_stats_parse_keyed(st);
        stats = pick_keys(all, mem_keys_v2);
        cg_u64(cg->v2, "memory.max", &limit);
        _cleanup_free_ char *ev = cg_read(cg->v2, "memory.events");
        _cleanup_json_ json_t *events = eng_stats_parse_keyed(ev);
        failcnt = keyed_u64(events, "oom");
    } else {
        return m;
    }
    /* no limit of its own: the machine's memory is the limit, as Docker reports it */
    _cleanup_free_ char *mi = read_file_at(AT_FDCWD, "/proc/meminfo", FILE_MAX, NULL, NULL);
    uint64_t machine = eng_stats_parse_meminfo_total(mi);
    if (machine > 0 && limit > machine)
        limit = machine;
    set_nonzero(m, "usage", usage);
    set_nonzero(m, "max_usage", max_usage);
    json_object_set(m, "stats", stats);
    set_nonzero(m, "failcnt", failcnt);
    set_nonzero(m, "limit", limit);
    return m;
}

static json_t *pids_stats(const struct eng_stats_cgroups *cg)
{
    const char *d = cg->v1[ENG_STATS_PIDS] != NULL ? cg->v1[ENG_STATS_PIDS] : cg->v2;
    uint64_t cur = 0, max = 0;
    json_t *p = json_object();
    if (d == NULL || !cg_u64(d, "pids.current", &cur))
        return p;
    set_nonzero(p, "current", cur);
    /* "max" (no limit) is left out: it is 2^64-1, beyond a JSON integer here */
    if (cg_u64(d, "pids.max", &max) && max != UINT64_MAX)
        set_nonzero(p, "limit", max);
    return p;
}

static json_t *blkio_stats(const struct eng_stats_cgroups *cg)
{
    json_t *b = null_blkio();
    const char *d = cg->v1[ENG_STATS_BLKIO];
    if (d == NULL) {
        _cleanup_free_ char *io = cg_read(cg->v2, "io.stat");
        json_t *entries = io != NULL ? eng_stats_parse_io_stat(io) : NULL;
        if (entries != NULL)
            json_object_set_new(b, "io_service_bytes_recursive", entries);
        return b;
    }
    /* containerd's order: the CFQ files when they say anything, else the throttle ones */
    static const char *const cfq[] = {
        "blkio.io_service_bytes_recursive",
        "blkio.io_serviced_recursive",
        "blkio.io_queued_recursive",
        "blkio.io_service_time_recursive",
        "blkio.io_wait_time_recursive",
        "blkio.io_merged_recursive",
        "blkio.time_recursive",
        "blkio.sectors_recursive",
    };
    size_t total = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cfq); i++) {
        _cleanup_free_ char *t = cg_read(d, cfq[i]);
        json_t *a = eng_stats_parse_blkio_v1(t);
        total += json_array_size(a);
        json_object_set_new(b, blkio_keys[i], a);
    }
    if (total == 0) {
        _cleanup_free_ char *bytes = cg_read(d, "blkio.throttle.io_service_bytes_recursive");
        _cleanup_free_ char *ios = cg_read(d, "blkio.throttle.io_serviced_recursive");
        json_object_set_new(b, blkio_keys[0], eng_stats_parse_blkio_v1(bytes));
        json_object_set_new(b, blkio_keys[1], eng_stats_parse_blkio_v1(ios));
    }
    return b;
}

static void set_pre(json_t *s, const json_t *prev)
{
    json_t *pr = prev != NULL ? json_object_get(prev, "read") : NULL;
    json_t *pc = prev != NULL ? json_object_get(prev, "cpu_stats") : NULL;
    json_object_set_new(s, "preread", json_is_string(pr) ? json_copy(pr) : json_string(ZERO_TIME));
    json_object_set_new(s, "precpu_stats",
                        json_is_object(pc) ? json_deep_copy(pc) : zero_cpu_stats());
}

/* The keys in API 1.47's order; set_pre and the caller fill in the rest. */
static json_t *sample_skeleton(const char *read, json_t *pids, json_t *blkio)
{
    json_t *s = json_object();
    json_object_set_new(s, "read", json_string(read));
    json_object_set_new(s, "preread", json_null());
    json_object_set_new(s, "pids_stats", pids);
    json_object_set_new(s, "blkio_stats", blkio);
    json_object_set_new(s, "num_procs", json_integer(0));
    json_object_set_new(s, "storage_stats", json_object());
    return s;
}

static json_t *zero_sample(const struct view *v, const json_t *prev)
{
    json_t *s = sample_skeleton(ZERO_TIME, json_object(), null_blkio());
    json_object_set_new(s, "cpu_stats", zero_cpu_stats());
    set_pre(s, prev);
    json_object_set_new(s, "memory_stats", json_object());
    json_object_set_new(s, "name", json_string(v->name));
    json_object_set_new(s, "id", json_string(v->id));
    return s;
}

json_t *eng_stats_sample(struct eng *e, const char *ref, const json_t *prev, bool *running,
                         struct berr **err)
{
    _cleanup_(view_freep) struct view v = {0};
    *running = false;
    if (view_of(e, ref, &v, err) < 0)
        return NULL;
    struct eng_stats_cgroups cg;
    eng_stats_cgroups_init(&cg);
    if (!v.running || locate(&v, &cg, NULL) < 0) {
        eng_stats_cgroups_free(&cg);
        return zero_sample(&v, prev);
    }
    char now[64];
    time_format_rfc3339(time_now_ns(), now, sizeof(now));
    json_t *s = sample_skeleton(now, pids_stats(&cg), blkio_stats(&cg));
    json_object_set_new(s, "cpu_stats", cpu_stats(&cg));
    set_pre(s, prev);
    json_object_set_new(s, "memory_stats", memory_stats(&cg));
    json_object_set_new(s, "name", json_string(v.name));
    json_object_set_new(s, "id", json_string(v.id));
    if (!v.host_net) {
        /* the interfaces of the container's own network namespace; none but lo (network
         * none, or no network yet) leaves the key out, as Docker does */
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)v.pid);
        _cleanup_free_ char *nd = read_file_at(AT_FDCWD, path, FILE_MAX, NULL, NULL);
        json_t *nets = eng_stats_parse_net_dev(nd);
        if (json_object_size(nets) > 0)
            json_object_set(s, "networks", nets);
        json_decref(nets);
    }
    eng_stats_cgroups_free(&cg);
    *running = true;
    return s;
}

/* ---- update ---- */

struct update_req {
    int64_t memory, reservation, swap, nano_cpus, shares, period, quota, rt_period, rt_runtime,
        blkio_weight, pids;
    bool has_pids;
    const char *cpus, *mems;
    const char *policy; /* NULL or "": unchanged */
    int64_t max_retry;
};

static const struct {
    const char *key;
    size_t off;
} update_ints[] = {
    {"Memory", offsetof(struct update_req, memory)},
    {"MemoryReservation", offsetof(struct update_req, reservation)},
    {"MemorySwap", offsetof(struct update_req, swap)},
    {"NanoCpus", offsetof(struct update_req, nano_cpus)},
    {"CpuShares", offsetof(struct update_req, shares)},
    {"CpuPeriod", offsetof(struct update_req, period)},
    {"CpuQuota", offsetof(struct update_req, quota)},
    {"CpuRealtimePeriod", offsetof(struct update_req, rt_period)},
    {"CpuRealtimeRuntime", offsetof(struct update_req, rt_runtime)},
    {"BlkioWeight", offsetof(struct update_req, blkio_weight)},
};

static int read_update(json_t *body, struct update_req *u, struct berr **err)
{
    if (!json_is_object(body))
        return berr_code(err, EINVAL, "invalid update request: expected a JSON object, got %s",
                         json_kind(body));
    for (size_t i = 0; i < ARRAY_SIZE(update_ints); i++)
        if (sg_int(body, "UpdateConfig", update_ints[i].key,
                   (int64_t *)((char *)u + update_ints[i].off), err) < 0)
            return -1;
    u->has_pids = sg_get(body, "PidsLimit") != NULL;
    json_t *rp = NULL;
    if (sg_int(body, "UpdateConfig", "PidsLimit", &u->pids, err) < 0 ||
        sg_str(body, "UpdateConfig", "CpusetCpus", &u->cpus, err) < 0 ||
        sg_str(body, "UpdateConfig", "CpusetMems", &u->mems, err) < 0 ||
        sg_object(body, "UpdateConfig", "RestartPolicy", &rp, err) < 0 ||
        sg_str(rp, "UpdateConfig.RestartPolicy", "Name", &u->policy, err) < 0 ||
        sg_int(rp, "UpdateConfig.RestartPolicy", "MaximumRetryCount", &u->max_retry, err) < 0)
        return -1;
    /* 0 and any negative value both mean "no limit" to the API */
    if (u->has_pids && u->pids < 0)
        u->pids = 0;
    return 0;
}

/* create's restart policy rules and wording */
static int check_policy(const char *name, int64_t max, struct berr **err)
{
    if (strcmp(name, "no") != 0 && strcmp(name, "always") != 0 &&
        strcmp(name, "unless-stopped") != 0 && strcmp(name, "on-failure") != 0)
        return berr_code(err, EINVAL,
                         "invalid restart policy: unknown policy '%s'; use one of 'no', 'always', "
                         "'on-failure' or 'unless-stopped'",
                         name);
    if (max < 0)
        return berr_code(err, EINVAL,
                         "invalid restart policy: maximum retry count can't be negative");
    if (max > 0 && strcmp(name, "on-failure") != 0)
        return berr_code(err, EINVAL,
                         "invalid restart policy: maximum retry count can only be used with "
                         "'on-failure'");
    return 0;
}

static const char *const resource_keys[] = {
    "Memory",     "MemoryReservation", "MemorySwap",  "MemorySwappiness",  "NanoCpus",
    "CpuShares",  "CpuPeriod",         "CpuQuota",    "CpuRealtimePeriod", "CpuRealtimeRuntime",
    "CpusetCpus", "CpusetMems",        "BlkioWeight", "PidsLimit",         "OomKillDisable",
};

/* create's resource checks (specgen) on the resource fields of hc alone. */
static int check_resources(json_t *hc, bool skip_swap_alone, struct berr **err)
{
    _cleanup_json_ json_t *sub = json_object();
    for (size_t i = 0; i < ARRAY_SIZE(resource_keys); i++) {
        json_t *v = json_object_get(hc, resource_keys[i]);
        if (v != NULL)
            json_object_set(sub, resource_keys[i], v);
    }
    /* an update may give a swap limit alone (Docker checks "swap needs memory" at create) */
    if (skip_swap_alone && json_integer_value(json_object_get(sub, "Memory")) == 0)
        json_object_del(sub, "MemorySwap");
    _cleanup_json_ json_t *lx = json_object();
    return sg_resources(sub, false, lx, err);
}

static int64_t hc_int(json_t *hc, const char *key)
{
    return json_integer_value(json_object_get(hc, key));
}

/* Docker's UpdateContainer: conflicts with what the container has, then the merge. */
static int merge_update(json_t *hc, const struct update_req *u, const char *id, struct berr **err)
{
    if (u->nano_cpus > 0 && hc_int(hc, "CpuPeriod") > 0)
        return berr_code(err, EBUSY,
                         "Cannot update container %s: Conflicting options: Nano CPUs cannot be "
                         "updated as CPU Period has already been set",
                         id);
    if (u->nano_cpus > 0 && hc_int(hc, "CpuQuota") > 0)
        return berr_code(err, EBUSY,
                         "Cannot update container %s: Conflicting options: Nano CPUs cannot be "
                         "updated as CPU Quota has already been set",
                         id);
    if (u->period > 0 && hc_int(hc, "NanoCpus") > 0)
        return berr_code(err, EBUSY,
                         "Cannot update container %s: Conflicting options: CPU Period cannot be "
                         "updated as NanoCPUs has already been set",
                         id);
    if (u->quota > 0 && hc_int(hc, "NanoCpus") > 0)
        return berr_code(err, EBUSY,
                         "Cannot update container %s: Conflicting options: CPU Quota cannot be "
                         "updated as NanoCPUs has already been set",
                         id);
    /* the swap limit in force: the record may hold 0 where create applied Docker's default of
     * twice the memory limit */
    int64_t cur_mem = hc_int(hc, "Memory"), cur_swap = hc_int(hc, "MemorySwap");
    if (cur_swap == 0 && cur_mem > 0)
        cur_swap = cur_mem * 2;
    if (u->memory != 0 && u->swap == 0 && cur_swap != -1 && u->memory > cur_swap)
        return berr_code(err, EBUSY,
                         "Cannot update container %s: Memory limit should be smaller than already "
                         "set memoryswap limit, update the memoryswap at the same time",
                         id);
    if (u->memory != 0 && hc_int(hc, "MemorySwap") == 0 && cur_swap != 0)
        json_object_set_new(hc, "MemorySwap", json_integer(cur_swap));
    for (size_t i = 0; i < ARRAY_SIZE(update_ints); i++) {
        int64_t v = *(const int64_t *)((const char *)u + update_ints[i].off);
        if (v != 0)
            json_object_set_new(hc, update_ints[i].key, json_integer(v));
    }
    if (u->cpus != NULL && *u->cpus != '\0')
        json_object_set_new(hc, "CpusetCpus", json_string(u->cpus));
    if (u->mems != NULL && *u->mems != '\0')
        json_object_set_new(hc, "CpusetMems", json_string(u->mems));
    if (u->has_pids)
        json_object_set_new(hc, "PidsLimit", json_integer(u->pids));
    if (u->policy != NULL && *u->policy != '\0') {
        if (json_is_true(json_object_get(hc, "AutoRemove")) && strcmp(u->policy, "no") != 0)
            return berr_code(err, EBUSY,
                             "Cannot update container %s: Restart policy cannot be updated "
                             "because AutoRemove is enabled for the container",
                             id);
        json_object_set_new(hc, "RestartPolicy",
                            json_pack("{s:s,s:I}", "Name", u->policy, "MaximumRetryCount",
                                      (json_int_t)u->max_retry));
    }
    return 0;
}

/* linux.resources for `runtime update`: only what the request changes (Docker's
 * toContainerdResources). NULL when there is nothing to apply. */
static json_t *live_resources(const struct update_req *u)
{
    json_t *res = json_object();
    json_t *mem = json_object();
    if (u->memory != 0)
        json_object_set_new(mem, "limit", json_integer(u->memory));
    if (u->reservation != 0)
        json_object_set_new(mem, "reservation", json_integer(u->reservation));
    if (u->swap != 0)
        json_object_set_new(mem, "swap", json_integer(u->swap));
    json_t *cpu = json_object();
    if (u->shares != 0)
        json_object_set_new(cpu, "shares", json_integer(u->shares));
    int64_t period = 0, quota = 0;
    if (u->nano_cpus != 0) {
        period = 100000; /* 100 ms, as Docker sets it */
        quota = u->nano_cpus * period / 1000000000LL;
    }
    if (quota == 0)
        quota = u->quota;
    if (period == 0)
        period = u->period;
    if (quota != 0)
        json_object_set_new(cpu, "quota", json_integer(quota));
    if (period != 0)
        json_object_set_new(cpu, "period", json_integer(period));
    if (u->cpus != NULL && *u->cpus != '\0')
        json_object_set_new(cpu, "cpus", json_string(u->cpus));
    if (u->mems != NULL && *u->mems != '\0')
        json_object_set_new(cpu, "mems", json_string(u->mems));
    if (json_object_size(mem) > 0)
        json_object_set(res, "memory", mem);
    if (json_object_size(cpu) > 0)
        json_object_set(res, "cpu", cpu);
    json_decref(mem);
    json_decref(cpu);
    if (u->has_pids)
        json_object_set_new(res, "pids",
                            json_pack("{s:I}", "limit", (json_int_t)(u->pids > 0 ? u->pids : -1)));
    if (u->blkio_weight != 0)
        json_object_set_new(res, "blockIO",
                            json_pack("{s:I}", "weight", (json_int_t)u->blkio_weight));
    if (json_object_size(res) == 0) {
        json_decref(res);
        return NULL;
    }
    return res;
}

static int apply_live(struct eng *e, struct ctr *c, json_t *res, struct berr **err)
{
    _cleanup_free_ char *path = ctr_run_path(e, c, "update-resources.json");
    _cleanup_free_ char *txt = json_dumps(res, JSON_COMPACT);
    if (txt == NULL)
        abort();
    if (write_file_at(AT_FDCWD, path, txt, strlen(txt), 0600, err) < 0)
        return -1;
    int rc = eng_runtime(e, err, "update", "--resources", path, c->id, NULL);
    unlink(path);
    return rc;
}

int eng_update(struct eng *e, const char *ref, json_t *update, json_t *warnings, struct berr **err)
{
    (void)warnings;
    struct update_req u = {0};
    if (read_update(update, &u, err) < 0)
        return -1;
    /* the request alone, with create's rules and wording (Docker's verifyContainerSettings) */
    {
        _cleanup_json_ json_t *alone = json_object();
        for (size_t i = 0; i < ARRAY_SIZE(resource_keys); i++) {
            json_t *v = json_object_get(update, resource_keys[i]);
            if (v != NULL && !json_is_null(v))
                json_object_set(alone, resource_keys[i], v);
        }
        if (u.has_pids)
            json_object_set_new(alone, "PidsLimit", json_integer(u.pids));
        if (check_resources(alone, true, err) < 0)
            return -1;
    }
    if (u.policy != NULL && *u.policy != '\0' && check_policy(u.policy, u.max_retry, err) < 0)
        return -1;

    struct ctr *c = eng_get(e, ref, err);
    if (c == NULL)
        return -1;
    int rc = -1;
    pthread_mutex_lock(&c->op);
    pthread_mutex_lock(&e->mu);
    const char *st = ctr_status(c);
    bool removing = c->removed || strcmp(st, "removing") == 0 || strcmp(st, "dead") == 0;
    bool live = strcmp(st, "running") == 0 || strcmp(st, "paused") == 0;
    _cleanup_json_ json_t *old_hc = json_deep_copy(json_object_get(c->rec, "HostConfig"));
    pthread_mutex_unlock(&e->mu);
    _cleanup_json_ json_t *hc = json_deep_copy(old_hc);
    _cleanup_json_ json_t *res = live ? live_resources(&u) : NULL;
    if (removing) {
        berr_code(err, EBUSY,
                  "Cannot update container %s: container is marked for removal and cannot be "
                  "\"update\"",
                  c->id);
        goto out;
    }
    if (merge_update(hc, &u, c->id, err) < 0)
        goto out;
    /* the merged limits must still make a container that can start */
    if (check_resources(hc, false, err) < 0) {
        berr_wrap(err, "Cannot update container %s", c->id);
        goto out;
    }
    pthread_mutex_lock(&e->mu);
    json_object_set(c->rec, "HostConfig", hc);
    pthread_mutex_unlock(&e->mu);
    if (ctr_save(e, c, err) < 0)
        goto restore;
    if (res != NULL && apply_live(e, c, res, err) < 0) {
        berr_wrap(err, "Cannot update container %s", c->id);
        goto restore;
    }
    rc = 0;
    goto out;
restore:
    pthread_mutex_lock(&e->mu);
    json_object_set(c->rec, "HostConfig", old_hc);
    pthread_mutex_unlock(&e->mu);
    ctr_save(e, c, NULL);
out:
    pthread_mutex_unlock(&c->op);
    if (rc == 0)
        eng_event(e, c, "update", NULL);
    ctr_unref(e, c);
    return rc;
}
