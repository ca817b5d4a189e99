/* berth-testhelper: a static program that runs inside test containers and reports facts about
 * its own process (ids, capabilities, mounts, limits, namespaces, fds...) as one JSON object on
 * stdout, so integration tests assert on what the kernel says rather than on what a shell prints.
 * It also performs small actions (write a file, try a syscall, wait for a signal) and reports the
 * errno. Exit status: 0 when the report was printed, 2 on a usage error; `exit N` exits N. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* getresuid, O_PATH, utsname.domainname; meson passes it, cc alone not */
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- a minimal JSON writer: tracks whether a comma is due at each nesting level ---- */

static int depth;
static bool need_comma[64];

static void j_sep(void)
{
    if (need_comma[depth])
        putchar(',');
    need_comma[depth] = true;
}

static void j_raw_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void j_open(char c)
{
    j_sep();
    putchar(c);
    need_comma[++depth] = false;
}

static void j_close(char c)
{
    depth--;
    putchar(c);
}

/* A key inside an object; the value that follows must not emit another separator, and sets
 * need_comma again for the key after it. */
static void j_key(const char *k)
{
    j_sep();
    j_raw_str(k);
    putchar(':');
    need_comma[depth] = false;
}

static void j_str(const char *s)
{
    j_sep();
    if (s)
        j_raw_str(s);
    else
        fputs("null", stdout);
}

static void j_int(long long v)
{
    j_sep();
    printf("%lld", v);
}

static void j_uint(unsigned long long v)
{
    j_sep();
    printf("%llu", v);
}

static void j_bool(bool v)
{
    j_sep();
    fputs(v ? "true" : "false", stdout);
}

static void kv_str(const char *k, const char *v)
{
    j_key(k);
    j_str(v);
}

static void kv_int(const char *k, long long v)
{
    j_key(k);
    j_int(v);
}

static void kv_uint(const char *k, unsigned long long v)
{
    j_key(k);
    j_uint(v);
}

static void kv_bool(const char *k, bool v)
{
    j_key(k);
    j_bool(v);
}

static void obj_begin(const char *k)
{
    if (k)
        j_key(k);
    j_open('{');
}

static void obj_end(void)
{
    j_close('}');
}

static void arr_begin(const char *k)
{
    if (k)
        j_key(k);
    j_open('[');
}

static void arr_end(void)
{
    j_close(']');
}

/* ---- errno reporting ---- */

static const char *errno_name(int e)
{
    /* clang-format off */
#define E(x) {x, #x}
    static const struct {
        int e;
        const char *n;
    } names[] = {
        {0, "OK"}, E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG),
        E(ENOEXEC), E(EBADF), E(EAGAIN), E(ENOMEM), E(EACCES), E(EFAULT), E(EBUSY), E(EEXIST),
        E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL), E(ENFILE), E(EMFILE), E(ENOTTY),
        E(ETXTBSY), E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE), E(ERANGE),
        E(ENOSYS), E(ELOOP), E(ENAMETOOLONG), E(ENOTSUP), E(EAFNOSUPPORT), E(EDQUOT),
        E(ENOTEMPTY), E(ENODATA), E(EOVERFLOW),
    };
#undef E
    /* clang-format on */
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (names[i].e == e)
            return names[i].n;
    return "E?";
}

/* Reports {"ok":bool,"errno":N,"error":"ENAME"} fields into the current object. */
static void kv_result(int ret, int err)
{
    kv_bool("ok", ret >= 0);
    kv_int("errno", ret >= 0 ? 0 : err);
    kv_str("error", ret >= 0 ? NULL : errno_name(err));
}

/* ---- small file helpers ---- */

static char *read_file(const char *path, size_t cap, int *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    char *buf = malloc(cap + 1);
    size_t len = 0;
    if (!buf)
        abort();
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *err = errno;
            close(fd);
            free(buf);
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd);
    *err = 0;
    return buf;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* The value of "Key:" in /proc/self/status, or NULL. Returns a static buffer. */
static const char *status_field(const char *key)
{
    static char val[256];
    int err;
    char *st = read_file("/proc/self/status", 1 << 16, &err);
    if (!st)
        return NULL;
    size_t klen = strlen(key);
    const char *res = NULL;
    for (char *line = strtok(st, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            const char *v = line + klen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            snprintf(val, sizeof(val), "%s", v);
            res = val;
            break;
        }
    }
    free(st);
    return res;
}

/* ---- reports ---- */

/* Indexed by capability number (linux/capability.h). */
static const char *const cap_names[] = {
    /* clang-format off */
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
    /* clang-format on */
};

static void report_caps(void)
{
    static const struct {
        const char *field, *name;
    } sets[] = {
        {"CapInh", "inheritable"}, {"CapPrm", "permitted"}, {"CapEff", "effective"},
        {"CapBnd", "bounding"},    {"CapAmb", "ambient"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
        const char *hex = status_field(sets[i].field);
        unsigned long long mask = hex ? strtoull(hex, NULL, 16) : 0;
        char buf[32];
        snprintf(buf, sizeof(buf), "%016llx", mask);
        obj_begin(sets[i].name);
        kv_str("hex", hex ? buf : NULL);
        arr_begin("names");
        for (unsigned bit = 0; bit < 64; bit++) {
            if (!(mask & (1ULL << bit)))
                continue;
            if (bit < ARRAY_SIZE(cap_names)) {
                j_str(cap_names[bit]);
            } else {
                char unk[32];
                snprintf(unk, sizeof(unk), "CAP_%u", bit);
                j_str(unk);
            }
        }
        arr_end();
        obj_end();
    }
}

static void report_id(void)
{
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    kv_uint("uid", r);
    kv_uint("euid", e);
    kv_uint("suid", s);
    kv_uint("gid", gr);
    kv_uint("egid", ge);
    kv_uint("sgid", gs);
    gid_t groups[NGROUPS_MAX];
    int n = getgroups(NGROUPS_MAX, groups);
    arr_begin("groups");
    for (int i = 0; i < n; i++)
        j_uint(groups[i]);
    arr_end();
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && isdigit((unsigned char)r[1]) && isdigit((unsigned char)r[2]) &&
            isdigit((unsigned char)r[3])) {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static void str_list(const char *key, char *csv)
{
    arr_begin(key);
    for (char *save = NULL, *t = strtok_r(csv, ",", &save); t; t = strtok_r(NULL, ",", &save))
        j_str(t);
    arr_end();
}

static void report_mounts(void)
{
    int err;
    char *mi = read_file("/proc/self/mountinfo", 1 << 22, &err);
    arr_begin("mounts");
    char *save_line = NULL;
    for (char *line = mi ? strtok_r(mi, "\n", &save_line) : NULL; line;
         line = strtok_r(NULL, "\n", &save_line)) {
        char *f[64];
        int nf = 0;
        for (char *save = NULL, *t = strtok_r(line, " ", &save); t && nf < 64;
             t = strtok_r(NULL, " ", &save))
            f[nf++] = t;
        int sep = -1;
        for (int i = 6; i < nf; i++)
            if (strcmp(f[i], "-") == 0) {
                sep = i;
                break;
            }
        if (sep < 0 || sep + 3 > nf)
            continue;
        const char *prop = "private";
        for (int i = 6; i < sep; i++) {
            if (strncmp(f[i], "shared:", 7) == 0)
                prop = "shared";
            else if (strncmp(f[i], "master:", 7) == 0 && strcmp(prop, "shared") != 0)
                prop = "slave";
            else if (strcmp(f[i], "unbindable") == 0)
                prop = "unbindable";
        }
        unescape_octal(f[3]);
        unescape_octal(f[4]);
        unescape_octal(f[sep + 2]);
        obj_begin(NULL);
        kv_int("id", atoi(f[0]));
        kv_int("parent", atoi(f[1]));
        kv_str("dev", f[2]);
        kv_str("root", f[3]);
        kv_str("target", f[4]);
        kv_str("fstype", f[sep + 1]);
        kv_str("source", f[sep + 2]);
        str_list("options", f[5]);
        if (sep + 3 < nf)
            str_list("super_options", f[sep + 3]);
        kv_str("propagation", prop);
        arr_begin("optional");
        for (int i = 6; i < sep; i++)
            j_str(f[i]);
        arr_end();
        obj_end();
    }
    arr_end();
    if (!mi)
        kv_int("mounts_errno", err);
    free(mi);
}

/* clang-format off */
#define R(x) {x, #x}
static const struct {
    int res;
    const char *name;
} rlimits[] = {
    R(RLIMIT_AS), R(RLIMIT_CORE), R(RLIMIT_CPU), R(RLIMIT_DATA), R(RLIMIT_FSIZE),
    R(RLIMIT_LOCKS), R(RLIMIT_MEMLOCK), R(RLIMIT_MSGQUEUE), R(RLIMIT_NICE), R(RLIMIT_NOFILE),
    R(RLIMIT_NPROC), R(RLIMIT_RSS), R(RLIMIT_RTPRIO), R(RLIMIT_RTTIME), R(RLIMIT_SIGPENDING),
    R(RLIMIT_STACK),
};
#undef R
/* clang-format on */

/* Unlimited is reported as -1 rather than 2^64-1 so that tests compare against one sentinel. */
static void kv_rlim(const char *k, rlim_t v)
{
    if (v == RLIM_INFINITY)
        kv_int(k, -1);
    else
        kv_uint(k, (unsigned long long)v);
}

static void report_rlimits(void)
{
    obj_begin("rlimits");
    for (size_t i = 0; i < ARRAY_SIZE(rlimits); i++) {
        struct rlimit rl;
        if (getrlimit(rlimits[i].res, &rl) < 0)
            continue;
        obj_begin(rlimits[i].name);
        kv_rlim("soft", rl.rlim_cur);
        kv_rlim("hard", rl.rlim_max);
        obj_end();
    }
    obj_end();
}

static void report_cgroup(void)
{
    int err;
    char *cg = read_file("/proc/self/cgroup", 1 << 16, &err);
    arr_begin("cgroup");
    char *save_line = NULL;
    for (char *line = cg ? strtok_r(cg, "\n", &save_line) : NULL; line;
         line = strtok_r(NULL, "\n", &save_line)) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = '\0';
        obj_begin(NULL);
        kv_int("hierarchy", atoi(line));
        str_list("controllers", c1 + 1);
        kv_str("path", c2 + 1);
        obj_end();
    }
    arr_end();
    free(cg);
}

static void report_seccomp(void)
{
    const char *v = status_field("Seccomp");
    kv_int("seccomp", v ? atoi(v) : -1);
    v = status_field("Seccomp_filters");
    kv_int("seccomp_filters", v ? atoi(v) : -1);
    v = status_field("NoNewPrivs");
    kv_int("no_new_privs", v ? atoi(v) : -1);
}

static void report_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    arr_begin("fds");
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
            continue;
        char path[64], target[PATH_MAX];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", atoi(de->d_name));
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        target[n < 0 ? 0 : n] = '\0';
        int flags = fcntl(atoi(de->d_name), F_GETFD);
        obj_begin(NULL);
        kv_int("fd", atoi(de->d_name));
        kv_str("target", target);
        kv_bool("cloexec", flags >= 0 && (flags & FD_CLOEXEC));
        obj_end();
    }
    arr_end();
    if (d)
        closedir(d);
}

static void report_cwd(void)
{
    char buf[PATH_MAX];
    kv_str("cwd", getcwd(buf, sizeof(buf)));
    ssize_t n = readlink("/proc/self/cwd", buf, sizeof(buf) - 1);
    buf[n < 0 ? 0 : n] = '\0';
    kv_str("proc_cwd", buf);
    n = readlink("/proc/self/root", buf, sizeof(buf) - 1);
    buf[n < 0 ? 0 : n] = '\0';
    kv_str("proc_root", buf);
}

static void report_env(void)
{
    extern char **environ;
    arr_begin("env");
    for (char **e = environ; e && *e; e++)
        j_str(*e);
    arr_end();
}

static void report_uts(void)
{
    struct utsname u;
    uname(&u);
    kv_str("hostname", u.nodename);
    kv_str("domainname", u.domainname);
}

static void report_umask(void)
{
    mode_t m = umask(0);
    umask(m);
    char buf[8];
    snprintf(buf, sizeof(buf), "%04o", (unsigned)m);
    kv_str("umask", buf);
}

static void report_oom(void)
{
    int err;
    char *v = read_file("/proc/self/oom_score_adj", 64, &err);
    kv_int("oom_score_adj", v ? atoi(v) : 0);
    free(v);
}

static void report_ns(void)
{
    static const char *const kinds[] = {"cgroup",           "ipc",  "mnt",  "net", "pid",
                                        "pid_for_children", "time", "user", "uts"};
    obj_begin("ns");
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        char path[64], target[128];
        snprintf(path, sizeof(path), "/proc/self/ns/%s", kinds[i]);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n < 0) {
            kv_str(kinds[i], NULL);
            continue;
        }
        target[n] = '\0';
        kv_str(kinds[i], target);
    }
    obj_end();
}

static void report_personality(void)
{
    int p = personality(0xffffffff);
    kv_int("personality", p);
    kv_str("personality_domain", (p & PER_MASK) == PER_LINUX32 ? "LINUX32"
                                 : (p & PER_MASK) == PER_LINUX ? "LINUX"
                                                               : "OTHER");
}

static const char *file_type(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFREG:
        return "file";
    case S_IFDIR:
        return "dir";
    case S_IFLNK:
        return "symlink";
    case S_IFCHR:
        return "char";
    case S_IFBLK:
        return "block";
    case S_IFIFO:
        return "fifo";
    case S_IFSOCK:
        return "socket";
    default:
        return "unknown";
    }
}

static void report_stat(const char *path)
{
    struct stat st;
    kv_str("path", path);
    int ret = lstat(path, &st);
    kv_result(ret, errno);
    if (ret < 0)
        return;
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
    kv_str("type", file_type(st.st_mode));
    kv_str("mode", mode);
    kv_uint("uid", st.st_uid);
    kv_uint("gid", st.st_gid);
    kv_uint("major", major(st.st_rdev));
    kv_uint("minor", minor(st.st_rdev));
    kv_uint("size", (unsigned long long)st.st_size);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        target[n < 0 ? 0 : n] = '\0';
        kv_str("link", target);
    }
}

static void report_tty(void)
{
    arr_begin("tty");
    for (int fd = 0; fd <= 2; fd++) {
        obj_begin(NULL);
        kv_int("fd", fd);
        kv_bool("isatty", isatty(fd));
        kv_str("ttyname", isatty(fd) ? ttyname(fd) : NULL);
        obj_end();
    }
    arr_end();
    struct winsize ws;
    int fd = isatty(0) ? 0 : isatty(1) ? 1 : isatty(2) ? 2 : -1;
    if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0) {
        kv_int("rows", ws.ws_row);
        kv_int("cols", ws.ws_col);
    }
    pid_t fg = fd >= 0 ? tcgetpgrp(fd) : -1;
    kv_int("foreground_pgrp", fg);
}

static void report_pid(void)
{
    kv_int("pid", getpid());
    kv_int("ppid", getppid());
    kv_int("pgid", getpgid(0));
    kv_int("sid", getsid(0));
}

/* ---- actions ---- */

static int do_write(char **args)
{
    const char *path = args[0], *data = args[1];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ret = fd, err = errno;
    if (fd >= 0) {
        size_t len = strlen(data);
        ret = write(fd, data, len) == (ssize_t)len ? 0 : -1;
        err = errno;
        if (close(fd) < 0 && ret == 0) {
            ret = -1;
            err = errno;
        }
    }
    kv_str("path", path);
    kv_result(ret, err);
    return 0;
}

static int do_read(char **args)
{
    const char *path = args[0];
    int err;
    char *data = read_file(path, 1 << 20, &err);
    kv_str("path", path);
    kv_result(data ? 0 : -1, err);
    kv_str("data", data);
    free(data);
    return 0;
}

static int parse_signal(const char *s)
{
    static const struct {
        const char *n;
        int sig;
    } sigs[] = {
        {"HUP", SIGHUP},     {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"USR1", SIGUSR1},
        {"USR2", SIGUSR2},   {"TERM", SIGTERM}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},
        {"WINCH", SIGWINCH}, {"ALRM", SIGALRM}, {"PIPE", SIGPIPE},
    };
    if (isdigit((unsigned char)s[0]))
        return atoi(s);
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
        if (strcmp(sigs[i].n, s) == 0)
            return sigs[i].sig;
    return -1;
}

/* Blocks the signal, announces readiness on stderr (tests poll for it, so a signal sent early is
 * not lost to a default disposition), then waits for it. */
static int do_wait_signal(char **args)
{
    const char *name = args[0];
    int sig = parse_signal(name);
    if (sig <= 0 || sig >= NSIG) {
        fprintf(stderr, "unknown signal %s\n", name);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_BLOCK, &set, NULL);
    fprintf(stderr, "ready\n");
    fflush(stderr);
    int got = 0;
    while (sigwait(&set, &got) != 0)
        ;
    kv_int("signal", got);
    kv_str("name", strsignal(got));
    return 0;
}

/* Each probe issues the raw syscall (not a libc wrapper that might pick a sibling syscall), so a
 * seccomp rule on that name is what decides the result. ARG is a path or a number. */
static long probe(const char *name, const char *arg, bool *known)
{
    unsigned long num = arg ? strtoul(arg, NULL, 0) : 0;
    *known = true;
    if (strcmp(name, "mkdir") == 0) {
        const char *p = arg ? arg : "/tmp/.berth-probe";
        long r = syscall(SYS_mkdir, p, 0755);
        if (r == 0)
            rmdir(p);
        return r;
    }
    if (strcmp(name, "mkdirat") == 0) {
        const char *p = arg ? arg : "/tmp/.berth-probe";
        long r = syscall(SYS_mkdirat, AT_FDCWD, p, 0755);
        if (r == 0)
            rmdir(p);
        return r;
    }
    if (strcmp(name, "chmod") == 0)
        return syscall(SYS_chmod, arg ? arg : "/tmp", 01777);
    if (strcmp(name, "fchmodat") == 0)
        return syscall(SYS_fchmodat, AT_FDCWD, arg ? arg : "/tmp", 01777);
    if (strcmp(name, "getcwd") == 0) {
        char buf[PATH_MAX];
        return syscall(SYS_getcwd, buf, sizeof(buf));
    }
    if (strcmp(name, "getpid") == 0)
        return syscall(SYS_getpid);
    if (strcmp(name, "getppid") == 0)
        return syscall(SYS_getppid);
    if (strcmp(name, "uname") == 0) {
        struct utsname u;
        return syscall(SYS_uname, &u);
    }
    if (strcmp(name, "umask") == 0) {
        long old = syscall(SYS_umask, arg ? num : 022);
        if (old >= 0)
            umask((mode_t)old);
        return old;
    }
    if (strcmp(name, "personality") == 0) {
        long old = syscall(SYS_personality, arg ? num : 0xffffffffUL);
        if (old >= 0)
            personality((unsigned long)old);
        return old;
    }
    if (strcmp(name, "socket") == 0) {
        long fd = syscall(SYS_socket, arg ? (int)num : AF_UNIX, SOCK_STREAM, 0);
        if (fd >= 0)
            close((int)fd);
        return fd;
    }
    if (strcmp(name, "unshare") == 0)
        return syscall(SYS_unshare, arg ? num : 0);
    if (strcmp(name, "sethostname") == 0)
        return syscall(SYS_sethostname, arg ? arg : "probe", strlen(arg ? arg : "probe"));
    if (strcmp(name, "chdir") == 0)
        return syscall(SYS_chdir, arg ? arg : ".");
    *known = false;
    return -1;
}

static int do_try_syscalls(char **args)
{
    arr_begin("syscalls");
    for (char **argv = args; *argv; argv++) {
        char name[64];
        snprintf(name, sizeof(name), "%s", *argv);
        char *arg = strchr(name, ':');
        if (arg)
            *arg++ = '\0';
        bool known;
        errno = 0;
        long r = probe(name, arg, &known);
        int err = errno;
        obj_begin(NULL);
        kv_str("name", name);
        kv_str("arg", arg);
        kv_bool("known", known);
        kv_int("ret", r);
        kv_result(known ? (int)(r < 0 ? -1 : 0) : -1, known ? err : ENOSYS);
        obj_end();
    }
    arr_end();
    return 0;
}

static void try_open_write(const char *key, const char *path)
{
    obj_begin(key);
    kv_str("path", path);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    kv_result(fd, errno);
    if (fd >= 0)
        close(fd);
    obj_end();
}

/* Polls /proc for processes that run something other than busybox or this helper (that is, the
 * runtime entering the container during `exec`), and tries what CVE-2019-5736 did: open their
 * /proc/PID/exe for writing, and keep an O_PATH handle to reopen for writing once they exit.
 * Nothing is ever written; success of the open is the finding. */
#define MAX_SEEN 128
struct seen {
    int pid;
    int path_fd;
    char comm[32];
    char target[256];
    int readlink_errno, open_errno;
    bool open_ok;
    struct stat st;
    bool have_st;
};

static bool is_ours(const char *target)
{
    return strcmp(target, "/bin/busybox") == 0 || strcmp(target, "/bin/berth-testhelper") == 0;
}

static int do_watch_exe(char **args)
{
    double seconds = atof(args[0]);
    static struct seen seen[MAX_SEEN];
    int nseen = 0, scans = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    fprintf(stderr, "ready\n");
    fflush(stderr);
    do {
        DIR *d = opendir("/proc");
        for (struct dirent *de; d && (de = readdir(d));) {
            int pid = atoi(de->d_name);
            if (pid <= 0 || pid == getpid())
                continue;
            bool dup = false;
            for (int i = 0; i < nseen; i++)
                dup |= seen[i].pid == pid;
            if (dup || nseen >= MAX_SEEN)
                continue;
            struct seen *s = &seen[nseen];
            char path[64];
            memset(s, 0, sizeof(*s));
            s->pid = pid;
            s->path_fd = -1;
            snprintf(path, sizeof(path), "/proc/%d/exe", pid);
            ssize_t n = readlink(path, s->target, sizeof(s->target) - 1);
            s->readlink_errno = n < 0 ? errno : 0;
            s->target[n < 0 ? 0 : n] = '\0';
            if (n >= 0 && is_ours(s->target))
                continue;
            int fd = open(path, O_WRONLY | O_CLOEXEC);
            s->open_ok = fd >= 0;
            s->open_errno = fd < 0 ? errno : 0;
            if (fd >= 0)
                close(fd);
            s->path_fd = open(path, O_PATH | O_CLOEXEC);
            if (s->path_fd >= 0 && fstat(s->path_fd, &s->st) == 0)
                s->have_st = true;
            char cpath[64];
            snprintf(cpath, sizeof(cpath), "/proc/%d/comm", pid);
            int err;
            char *comm = read_file(cpath, sizeof(s->comm) - 1, &err);
            if (comm) {
                chomp(comm);
                snprintf(s->comm, sizeof(s->comm), "%s", comm);
                free(comm);
            }
            if (n >= 0 || s->path_fd >= 0 || s->comm[0])
                nseen++;
        }
        if (d)
            closedir(d);
        scans++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 <
             seconds);
    kv_int("scans", scans);
    arr_begin("seen");
    for (int i = 0; i < nseen; i++) {
        struct seen *s = &seen[i];
        obj_begin(NULL);
        kv_int("pid", s->pid);
        kv_str("comm", s->comm);
        kv_str("exe", s->target);
        kv_int("readlink_errno", s->readlink_errno);
        kv_bool("open_write_ok", s->open_ok);
        kv_str("open_write_error", s->open_ok ? NULL : errno_name(s->open_errno));
        kv_bool("have_handle", s->path_fd >= 0);
        if (s->have_st) {
            kv_uint("dev", (unsigned long long)s->st.st_dev);
            kv_uint("ino", (unsigned long long)s->st.st_ino);
        }
        if (s->path_fd >= 0) {
            char fdpath[64];
            snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", s->path_fd);
            int fd = open(fdpath, O_WRONLY | O_CLOEXEC);
            kv_bool("reopen_write_ok", fd >= 0);
            kv_str("reopen_write_error", fd >= 0 ? NULL : errno_name(errno));
            if (fd >= 0)
                close(fd);
        }
        obj_end();
    }
    arr_end();
    return 0;
}

/* ---- dispatch ---- */

static void report_all(void)
{
    obj_begin("caps");
    report_caps();
    obj_end();
    report_id();
    report_rlimits();
    report_cgroup();
    report_seccomp();
    report_fds();
    report_cwd();
    report_env();
    report_uts();
    report_umask();
    report_oom();
    report_ns();
    report_personality();
    report_tty();
    report_pid();
    report_mounts();
}

static int do_sysctl(char **args)
{
    char path[PATH_MAX] = "/proc/sys/";
    size_t off = strlen(path);
    for (const char *k = args[0]; *k && off < sizeof(path) - 1; k++)
        path[off++] = *k == '.' ? '/' : *k;
    path[off] = '\0';
    int err;
    char *v = read_file(path, 4096, &err);
    if (v)
        chomp(v);
    kv_str("key", args[0]);
    kv_result(v ? 0 : -1, err);
    kv_str("value", v);
    free(v);
    return 0;
}

static int do_stat(char **args)
{
    report_stat(args[0]);
    return 0;
}

static int do_open_write(char **args)
{
    try_open_write("open", args[0]);
    return 0;
}

static void report_self_exe(void)
{
    try_open_write("self", "/proc/self/exe");
    try_open_write("init", "/proc/1/exe");
}

/* A command either reports (no arguments) or acts on `nargs` arguments (at least; try-syscall
 * takes any number). */
static const struct command {
    const char *name;
    int nargs;
    void (*report)(void);
    int (*action)(char **args);
} commands[] = {
    {"caps", 0, report_caps, NULL},
    {"id", 0, report_id, NULL},
    {"mounts", 0, report_mounts, NULL},
    {"rlimits", 0, report_rlimits, NULL},
    {"cgroup", 0, report_cgroup, NULL},
    {"seccomp", 0, report_seccomp, NULL},
    {"fds", 0, report_fds, NULL},
    {"cwd", 0, report_cwd, NULL},
    {"env", 0, report_env, NULL},
    {"hostname", 0, report_uts, NULL},
    {"domainname", 0, report_uts, NULL},
    {"uts", 0, report_uts, NULL},
    {"umask", 0, report_umask, NULL},
    {"oom_score_adj", 0, report_oom, NULL},
    {"ns", 0, report_ns, NULL},
    {"personality", 0, report_personality, NULL},
    {"tty", 0, report_tty, NULL},
    {"pid", 0, report_pid, NULL},
    {"all", 0, report_all, NULL},
    {"exec-self-exe", 0, report_self_exe, NULL},
    {"sysctl", 1, NULL, do_sysctl},
    {"stat", 1, NULL, do_stat},
    {"write", 2, NULL, do_write},
    {"read", 1, NULL, do_read},
    {"wait-signal", 1, NULL, do_wait_signal},
    {"try-syscall", 0, NULL, do_try_syscalls},
    {"open-write", 1, NULL, do_open_write},
    {"watch-exe", 1, NULL, do_watch_exe},
};

static int usage(void)
{
    fputs("usage: berth-testhelper COMMAND [ARGS]\n"
          "reports: caps id mounts rlimits cgroup seccomp fds cwd env hostname domainname umask\n"
          "         oom_score_adj sysctl KEY ns personality stat PATH tty pid all\n"
          "actions: write PATH DATA | read PATH | sleep SECONDS | exit CODE | wait-signal SIG\n"
          "         try-syscall NAME[:ARG]... | open-write PATH | exec-self-exe\n"
          "         watch-exe SECONDS\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "exit") == 0)
        return argc > 2 ? atoi(argv[2]) : 0;
    if (strcmp(argv[1], "sleep") == 0) {
        double secs = argc > 2 ? atof(argv[2]) : 0;
        struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        return 0;
    }
    /* The report is assembled in stdout's buffer and flushed once, so a reader never sees half
     * an object from a process killed mid-way through a short report. */
    static char outbuf[1 << 20];
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
    const struct command *cmd = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i].name, argv[1]) == 0)
            cmd = &commands[i];
    if (!cmd || argc - 2 < cmd->nargs)
        return usage();
    j_open('{');
    int rc = 0;
    if (cmd->report)
        cmd->report();
    else
        rc = cmd->action(argv + 2);
    j_close('}');
    putchar('\n');
    fflush(stdout);
    return rc;
}
