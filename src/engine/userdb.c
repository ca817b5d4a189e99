/* User and group resolution for a container: Docker's `User` and `GroupAdd` looked up in the
 * rootfs's /etc/passwd and /etc/group (parsed the way moby/sys/user parses them), with every
 * path opened beneath the rootfs so that an image's symlink cannot point us at a host file. */
#include "engine/userdb.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define MAX_SYMLINKS 40
#define MAX_DEPTH    256
/* passwd and group files of large directory-backed images run to a few MiB. */
#define MAX_DB_FILE (64u << 20)
#define MAX_ID      2147483647LL

static const char no_passwd_entries[] = "no matching entries in passwd file";
static const char no_group_entries[] = "no matching entries in group file";
static const char id_range[] = "uids and gids must be in range 0-2147483647";

/* ---- opening beneath a root ---- */

struct walk {
    int fds[MAX_DEPTH + 1]; /* fds[0] is the root; fds[depth] the current directory */
    int depth;
};

static void walk_unwind(struct walk *w, int to)
{
    while (w->depth > to) {
        close(w->fds[w->depth]);
        w->depth--;
    }
}

/* Replace *todo with target + "/" + rest (rest: what followed the symlink's name). */
static char *splice_link(const char *target, const char *rest)
{
    return xasprintf("%s/%s", target, rest);
}

static int walk_in_root(int root_fd, const char *path, int flags)
{
    struct walk w = {.depth = 0};
    w.fds[0] = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (w.fds[0] < 0)
        return -1;
    _cleanup_free_ char *todo = xstrdup(path);
    size_t pos = 0;
    int links = 0, ret = -1, saved = 0;

    for (;;) {
        while (todo[pos] == '/')
            pos++;
        if (todo[pos] == '\0') {
            /* The path named a directory reached by the walk itself ("/", "a/.."). */
            ret = openat(w.fds[w.depth], ".", flags | O_CLOEXEC);
            saved = errno;
            break;
        }
        size_t len = strcspn(todo + pos, "/");
        char comp[NAME_MAX + 1];
        if (len > NAME_MAX) {
            saved = ENAMETOOLONG;
            break;
        }
        memcpy(comp, todo + pos, len);
        comp[len] = '\0';
        pos += len;
        size_t after = pos;
        while (todo[after] == '/')
            after++;
        bool last = todo[after] == '\0';

        if (strcmp(comp, ".") == 0)
            continue;
        if (strcmp(comp, "..") == 0) {
            /* ".." at the root stays at the root, as it does for a chrooted process. */
            if (w.depth > 0)
                walk_unwind(&w, w.depth - 1);
            continue;
        }
        int fd = openat(w.fds[w.depth], comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            saved = errno;
            break;
        }
        struct stat st;
        if (fstat(fd, &st) < 0) {
            saved = errno;
            close(fd);
            break;
        }
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
            saved = errno;
            close(fd);
            if (n < 0)
                break;
            if (++links > MAX_SYMLINKS) {
                saved = ELOOP;
                break;
            }
            target[n] = '\0';
            if (target[0] == '/')
                walk_unwind(&w, 0);
            char *next = splice_link(target, todo + pos);
            free(todo);
            todo = next;
            pos = 0;
            continue;
        }
        if (last) {
            close(fd);
            /* O_NOFOLLOW: if the name became a symlink since we looked, fail rather than
             * follow it out of the root. */
            ret = openat(w.fds[w.depth], comp, flags | O_NOFOLLOW | O_CLOEXEC);
            saved = errno;
            break;
        }
        if (!S_ISDIR(st.st_mode)) {
            close(fd);
            saved = ENOTDIR;
            break;
        }
        if (w.depth == MAX_DEPTH) {
            close(fd);
            saved = ENAMETOOLONG;
            break;
        }
        w.fds[++w.depth] = fd;
    }
    walk_unwind(&w, 0);
    close(w.fds[0]);
    errno = saved;
    return ret;
}

int eng_open_in_root(int root_fd, const char *path, int flags, bool force_walk)
{
    if (!force_walk) {
        struct open_how how = {
            .flags = (uint64_t)(flags | O_CLOEXEC),
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        /* ENOSYS: an old kernel; EPERM: a seccomp filter of our own caller's that predates
         * openat2. Anything else is the real answer. */
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
            return fd;
    }
    return walk_in_root(root_fd, path, flags);
}

/* ---- reading the databases ---- */

/* The whole file, or NULL: with *err empty when the file is not there. */
static char *read_db(int root_fd, const char *path, struct berr **err)
{
    /* O_NONBLOCK: an image's /etc/passwd could be a FIFO, which would block the open. */
    _cleanup_close_ int fd =
        eng_open_in_root(root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, false);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return NULL;
        return berr_sys(err, "open %s in the container's rootfs", path), NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0)
        return berr_sys(err, "stat %s in the container's rootfs", path), NULL;
    if (!S_ISREG(st.st_mode))
        return berr_code(err, EINVAL, "%s in the container's rootfs is not a regular file", path),
               NULL;
    if ((uint64_t)st.st_size > MAX_DB_FILE)
        return berr_code(err, EFBIG, "%s in the container's rootfs is larger than %u bytes", path,
                         MAX_DB_FILE),
               NULL;
    size_t cap = (size_t)st.st_size + 1, n = 0;
    _cleanup_free_ char *buf = xmalloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_DB_FILE)
                return berr_code(err, EFBIG, "%s in the container's rootfs is larger than %u bytes",
                                 path, MAX_DB_FILE),
                       NULL;
            cap *= 2;
            buf = xrealloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return berr_sys(err, "read %s in the container's rootfs", path), NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return steal_ptr(&buf);
}

/* Go's strconv.Atoi: optional sign, decimal digits, nothing else. 0 ok, -1 not a number,
 * -2 out of int64's range. */
static int go_atoi(const char *s, size_t n, long long *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return -1;
    unsigned long long v = 0;
    bool overflow = false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
    }
    if (overflow || v > (unsigned long long)LLONG_MAX + (neg ? 1 : 0))
        return -2;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 0;
}

/* A user or group argument: numeric when it reads as a number (then it must be in range). */
struct id_arg {
    const char *text; /* may be "" */
    bool numeric;
    long long id;
};

static int parse_id_arg(const char *text, struct id_arg *out, struct berr **err)
{
    out->text = text;
    out->numeric = false;
    out->id = 0;
    if (text[0] == '\0')
        return 0;
    long long v;
    int r = go_atoi(text, strlen(text), &v);
    if (r == -1)
        return 0;
    out->numeric = true;
    if (r == -2 || v < 0 || v > MAX_ID)
        return berr_code(err, EINVAL, "%s", id_range);
    out->id = v;
    return 0;
}

/* One line of a colon-separated database, split in place into at most max fields. */
static size_t split_fields(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *c = strchr(p, ':');
        if (c == NULL)
            break;
        *c = '\0';
        p = c + 1;
    }
    for (size_t i = n; i < max; i++)
        fields[i] = NULL;
    return n;
}

/* The numeric fields of passwd and group: conversion errors read as 0, as moby's parser does. */
static long long field_int(const char *f)
{
    long long v = 0;
    if (f == NULL || go_atoi(f, strlen(f), &v) < 0)
        return 0;
    return v;
}

/* Iterate over the trimmed, non-empty lines of buf (modified in place). */
static char *next_line(char **cursor)
{
    while (**cursor) {
        char *line = *cursor;
        char *nl = strchr(line, '\n');
        if (nl) {
            *nl = '\0';
            *cursor = nl + 1;
        } else {
            *cursor = line + strlen(line);
        }
        while (*line == ' ' || *line == '\t' || *line == '\r' || *line == '\v' || *line == '\f')
            line++;
        size_t len = strlen(line);
        while (len > 0 && strchr(" \t\r\v\f", line[len - 1]))
            line[--len] = '\0';
        if (len > 0)
            return line;
    }
    return NULL;
}

struct pw_entry {
    bool found;
    char *name;
    long long uid, gid;
    char *home;
};

static void find_user(char *passwd, const struct id_arg *user, struct pw_entry *out)
{
    char *cursor = passwd, *line;
    while ((line = next_line(&cursor)) != NULL) {
        char *f[7];
        split_fields(line, f, 7);
        long long uid = field_int(f[2]);
        bool match;
        if (user->text[0] == '\0')
            match = uid == 0;
        else if (user->numeric)
            match = uid == user->id;
        else
            match = strcmp(f[0], user->text) == 0;
        if (match) {
            out->found = true;
            out->name = xstrdup(f[0]);
            out->uid = uid;
            out->gid = field_int(f[3]);
            out->home = xstrdup(f[5] ? f[5] : "");
            return;
        }
    }
}

struct group_entry {
    char *name;
    long long gid;
    char *members; /* comma-separated */
};

/* Calls fn for each group line (comments skipped); stops when fn returns true. */
static void for_each_group(char *group, bool (*fn)(const struct group_entry *, void *), void *data)
{
    char *cursor = group, *line;
    while ((line = next_line(&cursor)) != NULL) {
        if (line[0] == '#')
            continue;
        char *f[4];
        split_fields(line, f, 4);
        struct group_entry g = {.name = f[0], .gid = field_int(f[2]), .members = f[3]};
        if (fn(&g, data))
            return;
    }
}

static bool has_member(const char *members, const char *name)
{
    if (members == NULL || members[0] == '\0')
        return false;
    size_t n = strlen(name);
    for (const char *p = members;;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        if (p[len] == '\0')
            return false;
        p += len + 1;
    }
}

static void add_gid(struct eng_user *u, long long gid)
{
    for (size_t i = 0; i < u->n_gids; i++)
        if (u->gids[i] == (uint32_t)gid)
            return;
    u->gids = xreallocarray(u->gids, u->n_gids + 1, sizeof(*u->gids));
    u->gids[u->n_gids++] = (uint32_t)gid;
}

struct member_search {
    const char *name;
    struct eng_user *u;
};

static bool collect_member(const struct group_entry *g, void *data)
{
    struct member_search *s = data;
    if (has_member(g->members, s->name))
        add_gid(s->u, g->gid);
    return false;
}

struct group_search {
    const struct id_arg *arg;
    bool found;
    long long gid;
};

static bool match_group(const struct group_entry *g, void *data)
{
    struct group_search *s = data;
    bool match = s->arg->numeric ? g->gid == s->arg->id : strcmp(g->name, s->arg->text) == 0;
    if (match) {
        s->found = true;
        s->gid = g->gid;
    }
    return match;
}

/* group is modified by the search; callers pass a fresh copy each time. */
static int lookup_group(const char *group, const struct id_arg *arg, long long *gid,
                        struct berr **err)
{
    struct group_search s = {.arg = arg};
    if (group) {
        _cleanup_free_ char *copy = xstrdup(group);
        for_each_group(copy, match_group, &s);
    }
    if (s.found) {
        if (s.gid < 0 || s.gid > MAX_ID)
            return berr_code(err, EINVAL, "%s", id_range);
        *gid = s.gid;
        return 0;
    }
    if (!arg->numeric)
        return berr_code(err, EINVAL, "unable to find group %s: %s", arg->text, no_group_entries);
    *gid = arg->id;
    return 0;
}

void eng_user_clear(struct eng_user *u)
{
    free(u->gids);
    free(u->home);
    *u = (struct eng_user){0};
}

static void pw_entry_clear(struct pw_entry *e)
{
    free(e->name);
    free(e->home);
    *e = (struct pw_entry){0};
}

int eng_user_resolve(int rootfs_fd, const char *spec, const char *const *group_add,
                     struct eng_user *out, struct berr **err)
{
    *out = (struct eng_user){0};
    if (spec == NULL)
        spec = "";
    /* "user:group[:ignored...]", as moby splits it. */
    _cleanup_free_ char *user_text = xstrdup(spec);
    char *group_text = strchr(user_text, ':');
    if (group_text) {
        *group_text++ = '\0';
        char *extra = strchr(group_text, ':');
        if (extra)
            *extra = '\0';
    } else {
        group_text = user_text + strlen(user_text);
    }
    struct id_arg user, group;
    if (parse_id_arg(user_text, &user, err) < 0 || parse_id_arg(group_text, &group, err) < 0)
        return -1;

    _cleanup_free_ char *passwd = read_db(rootfs_fd, "/etc/passwd", err);
    if (passwd == NULL && *err)
        return -1;
    _cleanup_free_ char *groups = read_db(rootfs_fd, "/etc/group", err);
    if (groups == NULL && *err)
        return -1;

    _cleanup_(eng_user_clear) struct eng_user u = {0};
    _cleanup_(pw_entry_clear) struct pw_entry pw = {0};
    if (passwd) {
        _cleanup_free_ char *copy = xstrdup(passwd);
        find_user(copy, &user, &pw);
    }
    const char *matched_name = NULL;
    long long uid = 0, gid = 0;
    if (pw.found) {
        matched_name = pw.name;
        uid = pw.uid;
        gid = pw.gid;
        if (pw.home[0] != '\0')
            u.home = xstrdup(pw.home);
    } else if (user.text[0] != '\0') {
        if (!user.numeric)
            return berr_code(err, EINVAL, "unable to find user %s: %s", user.text,
                             no_passwd_entries);
        uid = user.id;
    }

    /* Supplementary groups come from membership only when no group was named. */
    _cleanup_(eng_user_clear) struct eng_user members = {0};
    if (group.text[0] != '\0') {
        if (lookup_group(groups, &group, &gid, err) < 0)
            return -1;
    } else if (matched_name && groups) {
        _cleanup_free_ char *copy = xstrdup(groups);
        struct member_search s = {.name = matched_name, .u = &members};
        for_each_group(copy, collect_member, &s);
    }
    if (uid < 0 || uid > MAX_ID || gid < 0 || gid > MAX_ID)
        return berr_code(err, EINVAL, "%s", id_range);

    u.uid = (uint32_t)uid;
    u.gid = (uint32_t)gid;
    add_gid(&u, gid);
    for (size_t i = 0; i < members.n_gids; i++)
        add_gid(&u, members.gids[i]);
    for (size_t i = 0; group_add && group_add[i]; i++) {
        struct id_arg a;
        long long g;
        if (parse_id_arg(group_add[i], &a, err) < 0 || lookup_group(groups, &a, &g, err) < 0)
            return -1;
        add_gid(&u, g);
    }
    if (u.home == NULL)
        u.home = xstrdup("/");
    *out = u;
    u = (struct eng_user){0};
    return 0;
}
