/* Noticing that a container was OOM-killed: its memory cgroup's kill counter ("oom_kill N" in
 * cgroup v2 memory.events or v1 memory.oom_control), read once the container exists and again
 * after it exits. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct mon_oom {
    char *file;     /* the counter's file; NULL when pid has no memory cgroup we can read */
    uint64_t start; /* the count when the container was created */
};

/* Find pid's memory cgroup (from /proc/PID/cgroup) and read its count. Best effort: without a
 * memory controller the container is simply never reported as OOM-killed. */
void mon_oom_init(struct mon_oom *o, pid_t pid);
/* Whether the count grew since mon_oom_init; call it before the cgroup is removed. */
bool mon_oom_killed(const struct mon_oom *o);
void mon_oom_free(struct mon_oom *o);
