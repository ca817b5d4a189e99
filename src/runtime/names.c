/* Name tables shared by the spec parser and the modules: namespaces, capabilities, rlimits. */
#include "runtime/spec.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>

static const struct {
    const char *spec_name;
    const char *proc_name;
    int flag;
} ns_table[RT_NS_COUNT] = {
    [RT_NS_PID] = {"pid", "pid", CLONE_NEWPID},
    [RT_NS_NET] = {"network", "net", CLONE_NEWNET},
    [RT_NS_MNT] = {"mount", "mnt", CLONE_NEWNS},
    [RT_NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
    [RT_NS_UTS] = {"uts", "uts", CLONE_NEWUTS},
    [RT_NS_USER] = {"user", "user", CLONE_NEWUSER},
    [RT_NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP},
    [RT_NS_TIME] = {"time", "time", 0x00000080 /* CLONE_NEWTIME */},
};

const char *rt_ns_name(enum rt_ns_type t)
{
    return ns_table[t].spec_name;
}

const char *rt_ns_proc_name(enum rt_ns_type t)
{
    return ns_table[t].proc_name;
}

int rt_ns_clone_flag(enum rt_ns_type t)
{
    return ns_table[t].flag;
}

int rt_ns_from_name(const char *name)
{
    for (int i = 0; i < RT_NS_COUNT; i++)
        if (strcmp(name, ns_table[i].spec_name) == 0)
            return i;
    return -1;
}

int rt_cap_from_name(const char *name)
{
    cap_value_t v;
    if (strncmp(name, "CAP_", 4) != 0)
        return -1;
    /* libcap knows names in lower case, with or without the prefix. */
    if (cap_from_name(name, &v) < 0)
        return -1;
    if (v < 0 || v > 63)
        return -1;
    return (int)v;
}

int rt_cap_last_cap(void)
{
    static int last = -1;
    if (last >= 0)
        return last;
    _cleanup_free_ char *s = read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 64, NULL, NULL);
    last = s ? atoi(s) : CAP_LAST_CAP;
    if (last < 0 || last > 63)
        last = CAP_LAST_CAP;
    return last;
}

static const struct {
    const char *name;
    int resource;
} rlimit_table[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

int rt_rlimit_from_name(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(rlimit_table); i++)
        if (strcmp(name, rlimit_table[i].name) == 0)
            return rlimit_table[i].resource;
    return -1;
}
