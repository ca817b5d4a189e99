/* State directories, state.json, locking and status derivation. */
#include "runtime/state.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#define STATE_FILE "state.json"
#define STATE_MAX  (8u << 20)

int rt_state_check_id(const char *id, struct berr **err)
{
    size_t n = strlen(id);
    if (n == 0)
        return berr_set(err, EINVAL, "container id must not be empty");
    if (n > 1024)
        return berr_set(err, EINVAL, "container id is longer than 1024 characters");
    if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return berr_set(err, EINVAL, "invalid container id \"%s\"", id);
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_+-.", *p))
            return berr_set(err, EINVAL,
                            "invalid container id \"%s\": use letters, digits, and _ + - . only",
                            id);
    return 0;
}

static int open_root(const char *root, bool create, struct berr **err)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 || !create || errno != ENOENT) {
        if (fd < 0)
            return berr_sys(err, "open state root %s", root);
        return fd;
    }
    if (mkdir_p(root, 0700, err) < 0)
        return -1;
    fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(err, "open state root %s", root);
    return fd;
}

static struct rt_state *state_alloc(const char *root, const char *id)
{
    struct rt_state *st = xzalloc(sizeof(*st));
    st->root = xstrdup(root);
    st->id = xstrdup(id);
    st->dirfd = -1;
    return st;
}

struct rt_state *rt_state_new(const char *root, const char *id, struct berr **err)
{
    if (rt_state_check_id(id, err) < 0)
        return NULL;
    _cleanup_close_ int rfd = open_root(root, true, err);
    if (rfd < 0)
        return NULL;
    if (mkdirat(rfd, id, 0711) < 0) {
        if (errno == EEXIST)
            return berr_set(err, EEXIST, "container \"%s\" already exists", id), NULL;
        return berr_sys(err, "create state directory %s/%s", root, id), NULL;
    }
    _cleanup_(rt_state_freep) struct rt_state *st = state_alloc(root, id);
    st->dirfd = openat(rfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->dirfd < 0 || flock(st->dirfd, LOCK_EX) < 0) {
        berr_sys(err, "open state directory %s/%s", st->root, st->id);
        unlinkat(rfd, id, AT_REMOVEDIR);
        return NULL;
    }
    return steal_ptr(&st);
}

static char *dup_json_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? xstrdup(s) : NULL;
}

struct rt_state *rt_state_load(const char *root, const char *id, struct berr **err)
{
    if (rt_state_check_id(id, err) < 0)
        return NULL;
    _cleanup_close_ int rfd = open_root(root, false, err);
    if (rfd < 0) {
        if (err && *err && (*err)->errnum == ENOENT) {
            berr_freep(err);
            return berr_set(err, ENOENT, "container \"%s\" does not exist", id), NULL;
        }
        return NULL;
    }
    _cleanup_(rt_state_freep) struct rt_state *st = state_alloc(root, id);
    st->dirfd = openat(rfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (st->dirfd < 0) {
        if (errno == ENOENT)
            return berr_set(err, ENOENT, "container \"%s\" does not exist", id), NULL;
        return berr_sys(err, "open state of container \"%s\"", id), NULL;
    }
    if (flock(st->dirfd, LOCK_EX) < 0)
        return berr_sys(err, "lock state of container \"%s\"", id), NULL;
    size_t len;
    _cleanup_free_ char *text = read_file_at(st->dirfd, STATE_FILE, STATE_MAX, &len, err);
    if (text == NULL) {
        if (err && *err && (*err)->errnum == ENOENT) {
            /* Directory without a state file: a create that is still running, or one that
             * crashed half-way. Either way the container does not exist yet. */
            berr_freep(err);
            return berr_set(err, ENOENT, "container \"%s\" does not exist", id), NULL;
        }
        return NULL;
    }
    json_error_t jerr;
    _cleanup_json_ json_t *j = json_loadb(text, len, 0, &jerr);
    if (j == NULL)
        return berr_set(err, EINVAL, "state of container \"%s\" is corrupt: %s", id, jerr.text),
               NULL;
    st->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
    st->pid_start = (unsigned long long)json_integer_value(json_object_get(j, "pidStart"));
    st->bundle = dup_json_str(j, "bundle");
    st->rootfs = dup_json_str(j, "rootfs");
    st->created = dup_json_str(j, "created");
    st->owner = dup_json_str(j, "owner");
    st->init_pidns = json_is_true(json_object_get(j, "pidns"));
    st->config = json_incref(json_object_get(j, "config"));
    st->cgroup = json_incref(json_object_get(j, "cgroup"));
    return steal_ptr(&st);
}

int rt_state_save(struct rt_state *st, struct berr **err)
{
    _cleanup_json_ json_t *j = json_object();
    json_object_set_new(j, "id", json_string(st->id));
    json_object_set_new(j, "pid", json_integer(st->pid));
    json_object_set_new(j, "pidStart", json_integer((json_int_t)st->pid_start));
    json_object_set_new(j, "bundle", json_string(st->bundle ? st->bundle : ""));
    json_object_set_new(j, "rootfs", json_string(st->rootfs ? st->rootfs : ""));
    json_object_set_new(j, "created", json_string(st->created ? st->created : ""));
    json_object_set_new(j, "owner", json_string(st->owner ? st->owner : ""));
    json_object_set_new(j, "pidns", json_boolean(st->init_pidns));
    if (st->config)
        json_object_set(j, "config", st->config);
    if (st->cgroup)
        json_object_set(j, "cgroup", st->cgroup);
    _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
    if (text == NULL)
        return berr_set(err, ENOMEM, "encode state of container \"%s\"", st->id);
    /* /run is tmpfs: the rename alone makes the update atomic; fsync would only cost time. */
    _cleanup_free_ char *tmp = xasprintf("%s.tmp", STATE_FILE);
    if (write_file_at(st->dirfd, tmp, text, strlen(text), 0600, err) < 0)
        return -1;
    if (renameat(st->dirfd, tmp, st->dirfd, STATE_FILE) < 0)
        return berr_sys(err, "save state of container \"%s\"", st->id);
    return 0;
}

int rt_state_remove(struct rt_state *st, struct berr **err)
{
    _cleanup_close_ int rfd = open(st->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return berr_sys(err, "open state root %s", st->root);
    return rm_rf_at(rfd, st->id, err);
}

void rt_state_free(struct rt_state *st)
{
    if (st == NULL)
        return;
    if (st->dirfd >= 0)
        close(st->dirfd);
    free(st->root);
    free(st->id);
    free(st->bundle);
    free(st->rootfs);
    free(st->created);
    free(st->owner);
    json_decref(st->config);
    json_decref(st->cgroup);
    free(st);
}

void rt_state_freep(struct rt_state **st)
{
    rt_state_free(*st);
    *st = NULL;
}

const char *rt_status_name(enum rt_status s)
{
    static const char *const names[] = {"creating", "created", "running", "paused", "stopped"};
    return names[s];
}

unsigned long long rt_pid_start_time(pid_t pid, char *state_char)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* The command name may contain spaces and parentheses: fields restart after the last ')'. */
    char *p = strrchr(buf, ')');
    if (p == NULL || p[1] == 0)
        return 0;
    p += 2;
    if (state_char)
        *state_char = *p;
    unsigned long long start = 0;
    /* After the state come fields 4..21, then starttime (22). */
    int field = 3;
    for (char *s = p; *s; s++) {
        if (*s == ' ') {
            field++;
            if (field == 22) {
                start = strtoull(s + 1, NULL, 10);
                break;
            }
        }
    }
    return start;
}

bool rt_state_pid_alive(const struct rt_state *st)
{
    if (st->pid <= 0)
        return false;
    char c = 0;
    unsigned long long start = rt_pid_start_time(st->pid, &c);
    if (start == 0 || c == 'Z' || c == 'X')
        return false;
    return st->pid_start == 0 || start == st->pid_start;
}

enum rt_status rt_state_status(const struct rt_state *st, bool frozen)
{
    if (!rt_state_pid_alive(st))
        return RT_STATUS_STOPPED;
    if (frozen)
        return RT_STATUS_PAUSED;
    if (faccessat(st->dirfd, "exec.fifo", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return RT_STATUS_CREATED;
    return RT_STATUS_RUNNING;
}

json_t *rt_state_json(const struct rt_state *st, enum rt_status status)
{
    json_t *j = json_object();
    json_object_set_new(j, "ociVersion", json_string(RT_OCI_VERSION));
    json_object_set_new(j, "id", json_string(st->id));
    json_object_set_new(j, "status", json_string(rt_status_name(status)));
    if (status != RT_STATUS_STOPPED)
        json_object_set_new(j, "pid", json_integer(st->pid));
    else
        json_object_set_new(j, "pid", json_integer(0));
    json_object_set_new(j, "bundle", json_string(st->bundle ? st->bundle : ""));
    json_object_set_new(j, "rootfs", json_string(st->rootfs ? st->rootfs : ""));
    json_object_set_new(j, "created", json_string(st->created ? st->created : ""));
    json_object_set_new(j, "owner", json_string(st->owner ? st->owner : ""));
    json_t *ann = json_object_get(st->config, "annotations");
    if (json_is_object(ann) && json_object_size(ann) > 0)
        json_object_set(j, "annotations", ann);
    return j;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int rt_state_cache_dir(const char *root)
{
    _cleanup_close_ int rootfd = open_root(root, true, NULL);
    if (rootfd < 0)
        return -1;
    if (mkdirat(rootfd, ".cache", 0700) < 0 && errno != EEXIST)
        return -1;
    int fd = openat(rootfd, ".cache", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* What is read from here ends up in containers (compiled seccomp filters): a directory
     * anyone else could write to, or one another user made, is not used. */
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int rt_state_list(const char *root, char ***ids, struct berr **err)
{
    *ids = xcalloc(1, sizeof(char *));
    DIR *d = opendir(root);
    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        return berr_sys(err, "open state root %s", root);
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", de->d_name, STATE_FILE);
        if (faccessat(dirfd(d), path, F_OK, 0) == 0)
            strv_append(ids, de->d_name);
    }
    closedir(d);
    qsort(*ids, strv_length(*ids), sizeof(char *), cmp_str);
    return 0;
}
