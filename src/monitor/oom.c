/* OOM-kill detection by counter: the kernel counts kills per memory cgroup (and its ancestors),
 * so a kill of any process in the container shows as a larger count at exit. Counting beats
 * listening to events here: the monitor sleeps in one loop and the answer is needed only once. */
#include "monitor/oom.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool read_count(const char *file, uint64_t *count)
{
    _cleanup_free_ char *text = read_file_at(AT_FDCWD, file, 65536, NULL, NULL);
    if (text == NULL)
        return false;
    for (char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "oom_kill ", 9) == 0) {
            char *end;
            errno = 0;
            *count = strtoull(line + 9, &end, 10);
            return errno == 0 && end != line + 9;
        }
    }
    return false;
}

static bool try_file(struct mon_oom *o, char *file)
{
    uint64_t n;
    if (!read_count(file, &n)) {
        free(file);
        return false;
    }
    o->file = file;
    o->start = n;
    return true;
}

static bool has_controller(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

void mon_oom_init(struct mon_oom *o, pid_t pid)
{
    *o = (struct mon_oom){0};
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/%d/cgroup", (int)pid);
    _cleanup_free_ char *text = read_file_at(AT_FDCWD, proc, 65536, NULL, NULL);
    if (text == NULL)
        return;
    char *v1 = NULL, *v2 = NULL;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *ctrls = strchr(line, ':');
        char *path = ctrls ? strchr(ctrls + 1, ':') : NULL;
        if (path == NULL)
            continue;
        *ctrls++ = '\0';
        *path++ = '\0';
        if (has_controller(ctrls, "memory"))
            v1 = path;
        else if (strcmp(line, "0") == 0 && *ctrls == '\0')
            v2 = path;
    }
    /* A v1 memory hierarchy wins: on the hybrid layout the v2 tree has no memory controller. */
    if (v1 && try_file(o, xasprintf("/sys/fs/cgroup/memory%s/memory.oom_control", v1)))
        return;
    if (v2 && try_file(o, xasprintf("/sys/fs/cgroup%s/memory.events", v2)))
        return;
    if (v2)
        try_file(o, xasprintf("/sys/fs/cgroup/unified%s/memory.events", v2));
}

bool mon_oom_killed(const struct mon_oom *o)
{
    uint64_t n;
    return o->file && read_count(o->file, &n) && n > o->start;
}

void mon_oom_free(struct mon_oom *o)
{
    free(o->file);
    o->file = NULL;
}
