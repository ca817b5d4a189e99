/* Seccomp for containers: Docker's default profile (moby/profiles default.json) rebuilt from our
 * own tables for the container's capabilities and this host, and Docker-format profiles (what
 * `--security-opt seccomp=FILE` sends) turned into the OCI form the runtime compiles. */
#include "engine/specgen_internal.h"
#include "common/jsonkind.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#define ERRNO_EPERM  1
#define ERRNO_ENOSYS 38

/* What Docker's profile allows whatever the capabilities. */
/* clang-format off */
static const char *const base_allowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
    "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
    "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
    "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
    "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old",
    "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
    "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
    "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
    "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64",
    "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
    "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
    "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid",
    "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername",
    "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
    "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage",
    "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday",
    "getuid", "getuid32", "getxattr", "getxattrat", "inotify_add_watch", "inotify_init",
    "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
    "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
    "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
    "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek",
    "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier",
    "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
    "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
    "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
    "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
    "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
    "restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
    "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
    "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
    "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
    "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
    "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr",
    "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
    "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
    "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
    "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
    "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
    "writev",
};

/* Every syscall name of the Linux ABIs we build for (x86_64, i386, x32, arm, arm64), newest
 * kernels included: those not allowed for a container are refused with EPERM, as Docker's
 * profile refuses them, so that only names unknown to us answer ENOSYS. The runtime skips names
 * its libseccomp does not know. */
static const char *const every_syscall[] = {
    "_llseek", "_newselect", "_sysctl", "accept", "accept4", "access", "acct", "add_key",
    "adjtimex", "afs_syscall", "alarm", "arch_prctl", "arm_fadvise64_64", "arm_sync_file_range",
    "bdflush", "bind", "bpf", "break", "breakpoint", "brk", "cacheflush", "cachestat", "capget",
    "capset", "chdir", "chmod", "chown", "chown32", "chroot", "clock_adjtime",
    "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "clock_settime",
    "clock_settime64", "clone", "clone3", "close", "close_range", "connect", "copy_file_range",
    "creat", "create_module", "delete_module", "dup", "dup2", "dup3", "epoll_create",
    "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
    "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_init",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32",
    "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "file_getattr", "file_setattr",
    "finit_module", "flistxattr", "flock", "fork", "fremovexattr", "fsconfig", "fsetxattr",
    "fsmount", "fsopen", "fspick", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
    "fsync", "ftime", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64",
    "futex_wait", "futex_waitv", "futex_wake", "futimesat", "get_kernel_syms", "get_mempolicy",
    "get_robust_list", "get_thread_area", "getcpu", "getcwd", "getdents", "getdents64",
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getpmsg",
    "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
    "getresuid32", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt", "gettid",
    "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat", "gtty", "idle",
    "init_module", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
    "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
    "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ioctl",
    "ioperm", "iopl", "ioprio_get", "ioprio_set", "ipc", "kcmp", "kexec_file_load",
    "kexec_load", "keyctl", "kill", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
    "listmount", "listxattr", "listxattrat", "llistxattr", "lock", "lookup_dcookie",
    "lremovexattr", "lseek", "lsetxattr", "lsm_get_self_attr", "lsm_list_modules",
    "lsm_set_self_attr", "lstat", "lstat64", "madvise", "map_shadow_stack", "mbind",
    "membarrier", "memfd_create", "memfd_secret", "migrate_pages", "mincore", "mkdir",
    "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "modify_ldt",
    "mount", "mount_setattr", "move_mount", "move_pages", "mprotect", "mpx", "mq_getsetattr",
    "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
    "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv",
    "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep",
    "newfstatat", "nfsservctl", "nice", "oldfstat", "oldlstat", "oldolduname", "oldstat",
    "olduname", "open", "open_by_handle_at", "open_tree", "open_tree_attr", "openat", "openat2",
    "pause", "perf_event_open", "personality", "pidfd_getfd", "pidfd_open", "pidfd_send_signal",
    "pipe", "pipe2", "pivot_root", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll",
    "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_madvise",
    "process_mrelease", "process_vm_readv", "process_vm_writev", "prof", "profil", "pselect6",
    "pselect6_time64", "ptrace", "putpmsg", "pwrite64", "pwritev", "pwritev2", "query_module",
    "quotactl", "quotactl_fd", "read", "readahead", "readdir", "readlink", "readlinkat",
    "readv", "reboot", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
    "request_key", "restart_syscall", "riscv_flush_icache", "riscv_hwprobe", "rmdir", "rseq",
    "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    "seccomp", "security", "select", "semctl", "semget", "semop", "semtimedop",
    "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
    "set_mempolicy", "set_mempolicy_home_node", "set_robust_list", "set_thread_area",
    "set_tid_address", "set_tls", "setdomainname", "setfsgid", "setfsgid32", "setfsuid",
    "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "sethostname", "setitimer",
    "setns", "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32",
    "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt",
    "settimeofday", "setuid", "setuid32", "setxattr", "setxattrat", "sgetmask", "shmat",
    "shmctl", "shmdt", "shmget", "shutdown", "sigaction", "sigaltstack", "signal", "signalfd",
    "signalfd4", "sigpending", "sigprocmask", "sigreturn", "sigsuspend", "socket", "socketcall",
    "socketpair", "splice", "ssetmask", "stat", "stat64", "statfs", "statfs64", "statmount",
    "statx", "stime", "stty", "swapcontext", "swapoff", "swapon", "symlink", "symlinkat",
    "sync", "sync_file_range", "sync_file_range2", "syncfs", "sysfs", "sysinfo", "syslog",
    "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
    "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
    "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
    "tkill", "truncate", "truncate64", "tuxcall", "ugetrlimit", "ulimit", "umask", "umount",
    "umount2", "uname", "unlink", "unlinkat", "unshare", "uretprobe", "uselib", "userfaultfd",
    "ustat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vhangup", "vm86",
    "vm86old", "vmsplice", "vserver", "wait4", "waitid", "waitpid", "write", "writev",
};
/* clang-format on */

/* The native ABI as Docker's profiles name it (Go's arch names in "arches" filters), the
 * libseccomp name of it, and the ABIs a container of ours may use. */
#if defined(__x86_64__)
#define NATIVE_ARCH "amd64"
#define NATIVE_SCMP "SCMP_ARCH_X86_64"
static const char *const default_arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
#define NATIVE_ARCH "arm64"
#define NATIVE_SCMP "SCMP_ARCH_AARCH64"
static const char *const default_arches[] = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#elif defined(__i386__)
#define NATIVE_ARCH "x86"
#define NATIVE_SCMP "SCMP_ARCH_X86"
static const char *const default_arches[] = {"SCMP_ARCH_X86"};
#elif defined(__arm__)
#define NATIVE_ARCH "arm"
#define NATIVE_SCMP "SCMP_ARCH_ARM"
static const char *const default_arches[] = {"SCMP_ARCH_ARM"};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_ARCH "ppc64le"
#define NATIVE_SCMP "SCMP_ARCH_PPC64LE"
static const char *const default_arches[] = {"SCMP_ARCH_PPC64LE"};
#elif defined(__s390x__)
#define NATIVE_ARCH "s390x"
#define NATIVE_SCMP "SCMP_ARCH_S390X"
static const char *const default_arches[] = {"SCMP_ARCH_S390X", "SCMP_ARCH_S390"};
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH "riscv64"
#define NATIVE_SCMP "SCMP_ARCH_RISCV64"
static const char *const default_arches[] = {"SCMP_ARCH_RISCV64"};
#else
#error "seccomp_default.c: add this architecture's names"
#endif

struct arch_allow {
    const char *arches[3];
    const char *names[7];
};

static const struct arch_allow arch_allows[] = {
    {{"ppc64le"}, {"sync_file_range2", "swapcontext"}},
    {{"arm", "arm64"},
     {"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush",
      "set_tls"}},
    {{"amd64", "x32"}, {"arch_prctl"}},
    {{"amd64", "x32", "x86"}, {"modify_ldt"}},
    {{"s390", "s390x"}, {"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"}},
    {{"riscv64"}, {"riscv_flush_icache"}},
};

struct cap_allow {
    const char *cap;
    const char *names[27];
};

/* What a capability makes safe to allow (the profile's "includes": {"caps": [...]}). */
static const struct cap_allow cap_allows[] = {
    {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
    {"CAP_SYS_ADMIN",
     {"bpf",
      "clone",
      "clone3",
      "fanotify_init",
      "fsconfig",
      "fsmount",
      "fsopen",
      "fspick",
      "lookup_dcookie",
      "lsm_get_self_attr",
      "lsm_list_modules",
      "lsm_set_self_attr",
      "mount",
      "mount_setattr",
      "move_mount",
      "open_tree",
      "perf_event_open",
      "quotactl",
      "quotactl_fd",
      "setdomainname",
      "sethostname",
      "setns",
      "syslog",
      "umount",
      "umount2",
      "unshare"}},
    {"CAP_SYS_BOOT", {"reboot"}},
    {"CAP_SYS_CHROOT", {"chroot"}},
    {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"}},
    {"CAP_SYS_PACCT", {"acct"}},
    {"CAP_SYS_PTRACE",
     {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}},
    {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
    {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
    {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
    {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
    {"CAP_SYSLOG", {"syslog"}},
    {"CAP_BPF", {"bpf"}},
    {"CAP_PERFMON", {"perf_event_open"}},
};

/* Allowed from 4.8 on, where ptrace can no longer be used to bypass seccomp. */
static const char *const ptrace_calls[] = {"process_vm_readv", "process_vm_writev", "ptrace"};

/* clone(2) flags that make new namespaces: without CAP_SYS_ADMIN, clone is allowed only when
 * none is set (the namespace flags mask Docker's profile uses). */
#define CLONE_NS_FLAGS 0x7E020000ULL

static bool has_cap(uint64_t caps, const char *name)
{
    int n = sg_cap_number(name);
    return n >= 0 && (caps >> n) & 1;
}

static bool kernel_at_least(unsigned want_major, unsigned want_minor)
{
    struct utsname u;
    unsigned major = 0, minor = 0;
    if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
        return true;
    return major > want_major || (major == want_major && minor >= want_minor);
}

static bool arch_listed(const char *const *arches, size_t n)
{
    for (size_t i = 0; i < n && arches[i]; i++)
        if (strcmp(arches[i], NATIVE_ARCH) == 0)
            return true;
    return false;
}

struct name_set {
    json_t *seen;  /* name -> true */
    json_t *names; /* in the order added */
};

static void allow(struct name_set *s, const char *name)
{
    if (json_object_get(s->seen, name))
        return;
    json_object_set_new(s->seen, name, json_true());
    json_array_append_new(s->names, json_string(name));
}

static json_t *arg(unsigned index, uint64_t value, uint64_t value_two, const char *op)
{
    json_t *a = json_pack("{s:I,s:I,s:s}", "index", (json_int_t)index, "value", (json_int_t)value,
                          "op", op);
    if (value_two)
        json_object_set_new(a, "valueTwo", json_integer((json_int_t)value_two));
    return a;
}

static json_t *rule(const char *name, const char *action, int errno_ret, json_t *arg_obj)
{
    json_t *r = json_pack("{s:[s],s:s}", "names", name, "action", action);
    if (errno_ret)
        json_object_set_new(r, "errnoRet", json_integer(errno_ret));
    if (arg_obj)
        json_object_set_new(r, "args", json_pack("[o]", arg_obj));
    return r;
}

json_t *sg_seccomp_default(uint64_t caps)
{
    struct name_set allowed = {json_object(), json_array()};
    for (size_t i = 0; i < ARRAY_SIZE(base_allowed); i++)
        allow(&allowed, base_allowed[i]);
    for (size_t i = 0; i < ARRAY_SIZE(arch_allows); i++)
        if (arch_listed(arch_allows[i].arches, ARRAY_SIZE(arch_allows[i].arches)))
            for (size_t k = 0; k < ARRAY_SIZE(arch_allows[i].names) && arch_allows[i].names[k]; k++)
                allow(&allowed, arch_allows[i].names[k]);
    if (kernel_at_least(4, 8))
        for (size_t i = 0; i < ARRAY_SIZE(ptrace_calls); i++)
            allow(&allowed, ptrace_calls[i]);
    for (size_t i = 0; i < ARRAY_SIZE(cap_allows); i++)
        if (has_cap(caps, cap_allows[i].cap))
            for (size_t k = 0; k < ARRAY_SIZE(cap_allows[i].names) && cap_allows[i].names[k]; k++)
                allow(&allowed, cap_allows[i].names[k]);
    bool sys_admin = has_cap(caps, "CAP_SYS_ADMIN");

    json_t *rules = json_array();
    json_array_append_new(
        rules, json_pack("{s:o,s:s}", "names", allowed.names, "action", "SCMP_ACT_ALLOW"));
    /* socket: every family but AF_ALG (38) and AF_VSOCK (40). */
    json_array_append_new(rules, rule("socket", "SCMP_ACT_ALLOW", 0, arg(0, 38, 0, "SCMP_CMP_LT")));
    json_array_append_new(rules, rule("socket", "SCMP_ACT_ALLOW", 0, arg(0, 39, 0, "SCMP_CMP_EQ")));
    json_array_append_new(rules, rule("socket", "SCMP_ACT_ALLOW", 0, arg(0, 40, 0, "SCMP_CMP_GT")));
    json_array_append_new(
        rules, rule("socket", "SCMP_ACT_ERRNO", ERRNO_EPERM, arg(0, 38, 0, "SCMP_CMP_EQ")));
    json_array_append_new(
        rules, rule("socket", "SCMP_ACT_ERRNO", ERRNO_EPERM, arg(0, 40, 0, "SCMP_CMP_EQ")));
    /* personality: PER_LINUX, PER_LINUX32, UNAME26 with either, and the query 0xffffffff. */
    static const uint64_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
    for (size_t i = 0; i < ARRAY_SIZE(personas); i++)
        json_array_append_new(
            rules, rule("personality", "SCMP_ACT_ALLOW", 0, arg(0, personas[i], 0, "SCMP_CMP_EQ")));
    /* The rest gets EPERM as in Docker, from rules that must not overlap the allowed values
     * (libseccomp cannot order overlapping rules): "bit i set, bit j clear" for a bit i no
     * allowed value but 0xffffffff has. A value outside the allowed set has such a bit set and,
     * not being all ones, a clear bit; walking up from it to the first clear bit, the last set
     * bit is i itself, or 3 or 17 (the allowed bits), whose lower neighbour is then set too:
     * so j = i + 1, plus j = i + 2 for i = 2 and 16, covers every such value. */
    for (unsigned bit = 0; bit < 32; bit++) {
        if (bit == 3 || bit == 17)
            continue;
        unsigned clear[2] = {(bit + 1) % 32, (bit + 2) % 32};
        for (int k = 0; k < (bit == 2 || bit == 16 ? 2 : 1); k++) {
            uint64_t set = 1ULL << bit, mask = set | (1ULL << clear[k]);
            json_array_append_new(rules, rule("personality", "SCMP_ACT_ERRNO", ERRNO_EPERM,
                                              arg(0, mask, set, "SCMP_CMP_MASKED_EQ")));
        }
    }
    if (!sys_admin) {
        json_array_append_new(rules, rule("clone", "SCMP_ACT_ALLOW", 0,
                                          arg(0, CLONE_NS_FLAGS, 0, "SCMP_CMP_MASKED_EQ")));
        /* One EPERM rule per namespace flag: the union is exactly what the allow rule leaves
         * out, and none overlaps it (libseccomp cannot order overlapping rules). */
        for (int bit = 0; bit < 32; bit++) {
            uint64_t flag = 1ULL << bit;
            if (CLONE_NS_FLAGS & flag)
                json_array_append_new(rules, rule("clone", "SCMP_ACT_ERRNO", ERRNO_EPERM,
                                                  arg(0, flag, flag, "SCMP_CMP_MASKED_EQ")));
        }
        /* ENOSYS makes the C library fall back to clone, whose flags can be checked. */
        json_array_append_new(rules, rule("clone3", "SCMP_ACT_ERRNO", ERRNO_ENOSYS, NULL));
    }

    json_t *blocked = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(every_syscall); i++) {
        const char *n = every_syscall[i];
        if (json_object_get(allowed.seen, n) || strcmp(n, "socket") == 0 ||
            strcmp(n, "personality") == 0 ||
            (!sys_admin && (strcmp(n, "clone") == 0 || strcmp(n, "clone3") == 0)))
            continue;
        json_array_append_new(blocked, json_string(n));
    }
    json_array_append_new(rules, json_pack("{s:o,s:s,s:i}", "names", blocked, "action",
                                           "SCMP_ACT_ERRNO", "errnoRet", ERRNO_EPERM));
    json_decref(allowed.seen);

    json_t *arches = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(default_arches); i++)
        json_array_append_new(arches, json_string(default_arches[i]));
    return json_pack("{s:s,s:i,s:o,s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet",
                     ERRNO_ENOSYS, "architectures", arches, "syscalls", rules);
}

/* ---- Docker-format profiles ---- */

#define DECODE "Decoding seccomp profile failed"

static int bad(struct berr **err, const char *field, const char *want, json_t *got)
{
    return berr_code(err, EINVAL, DECODE ": %s: expected %s, got %s", field, want, json_kind(got));
}

static json_t *member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v) ? v : NULL;
}

static int check_type(json_t *v, const char *field, json_type type, struct berr **err)
{
    static const char *const names[] = {
        [JSON_OBJECT] = "an object",   [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
        [JSON_INTEGER] = "an integer", [JSON_REAL] = "a number",  [JSON_TRUE] = "a boolean",
        [JSON_FALSE] = "a boolean",    [JSON_NULL] = "null"};
    if (v == NULL || json_typeof(v) == type)
        return 0;
    return bad(err, field, names[type], v);
}

static int check_strv(json_t *v, const char *field, struct berr **err)
{
    if (v == NULL)
        return 0;
    if (!json_is_array(v))
        return bad(err, field, "an array of strings", v);
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s)
    {
        if (!json_is_string(s)) {
            _cleanup_free_ char *f = xasprintf("%s[%zu]", field, i);
            return bad(err, f, "a string", s);
        }
    }
    return 0;
}

/* "<kernel>.<major>" (minKernel): whether this host's kernel is at least that. */
static int min_kernel_met(json_t *v, const char *field, bool *met, struct berr **err)
{
    if (!json_is_string(v))
        return bad(err, field, "a string", v);
    const char *s = json_string_value(v);
    unsigned a, b;
    char tail;
    if (strspn(s, "0123456789.") != strlen(s) || sscanf(s, "%u.%u%c", &a, &b, &tail) != 2 ||
        a > 255 || b > 255 || (a == 0 && b == 0))
        return berr_code(err, EINVAL,
                         DECODE ": %s: invalid kernel version: \"%s\", expected "
                                "\"<kernel>.<major>\"",
                         field, s);
    *met = kernel_at_least(a, b);
    return 0;
}

static bool strv_has(json_t *arr, const char *s)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (strcmp(json_string_value(e), s) == 0)
            return true;
    }
    return false;
}

/* Decide a rule's includes/excludes filter; *keep false drops the rule on this host. */
static int filter(json_t *f, const char *field, bool include, uint64_t caps, bool *keep,
                  struct berr **err)
{
    if (f == NULL)
        return 0;
    if (!json_is_object(f))
        return bad(err, field, "an object", f);
    _cleanup_free_ char *fa = xasprintf("%s.arches", field);
    _cleanup_free_ char *fc = xasprintf("%s.caps", field);
    _cleanup_free_ char *fk = xasprintf("%s.minKernel", field);
    json_t *arches = member(f, "arches"), *capv = member(f, "caps"), *mk = member(f, "minKernel");
    if (check_strv(arches, fa, err) < 0 || check_strv(capv, fc, err) < 0)
        return -1;
    bool kernel_ok = true;
    if (mk && min_kernel_met(mk, fk, &kernel_ok, err) < 0)
        return -1;
    size_t i;
    json_t *c;
    if (include) {
        if (json_array_size(arches) > 0 && !strv_has(arches, NATIVE_ARCH))
            *keep = false;
        json_array_foreach(capv, i, c)
        {
            if (!has_cap(caps, json_string_value(c)))
                *keep = false;
        }
        if (mk && !kernel_ok)
            *keep = false;
    } else {
        if (json_array_size(arches) > 0 && strv_has(arches, NATIVE_ARCH))
            *keep = false;
        json_array_foreach(capv, i, c)
        {
            if (has_cap(caps, json_string_value(c)))
                *keep = false;
        }
        if (mk && kernel_ok)
            *keep = false;
    }
    return 0;
}

static int check_args(json_t *args, const char *field, struct berr **err)
{
    if (args == NULL)
        return 0;
    if (!json_is_array(args))
        return bad(err, field, "an array", args);
    size_t i;
    json_t *a;
    json_array_foreach(args, i, a)
    {
        _cleanup_free_ char *f = xasprintf("%s[%zu]", field, i);
        _cleanup_free_ char *fi = xasprintf("%s.index", f);
        _cleanup_free_ char *fv = xasprintf("%s.value", f);
        _cleanup_free_ char *fv2 = xasprintf("%s.valueTwo", f);
        _cleanup_free_ char *fo = xasprintf("%s.op", f);
        if (!json_is_object(a))
            return bad(err, f, "an object", a);
        if (check_type(member(a, "index"), fi, JSON_INTEGER, err) < 0 ||
            check_type(member(a, "value"), fv, JSON_INTEGER, err) < 0 ||
            check_type(member(a, "valueTwo"), fv2, JSON_INTEGER, err) < 0 ||
            check_type(member(a, "op"), fo, JSON_STRING, err) < 0)
            return -1;
    }
    return 0;
}

/* One entry of "syscalls": the OCI rule, or NULL (with *err empty) when its filters drop it. */
static json_t *convert_rule(json_t *sc, size_t i, uint64_t caps, struct berr **err)
{
    _cleanup_free_ char *f = xasprintf("syscalls[%zu]", i);
    if (!json_is_object(sc))
        return bad(err, f, "an object", sc), NULL;
    json_t *name = member(sc, "name"), *names = member(sc, "names");
    _cleanup_free_ char *fn = xasprintf("%s.names", f);
    _cleanup_free_ char *fname = xasprintf("%s.name", f);
    _cleanup_free_ char *fact = xasprintf("%s.action", f);
    _cleanup_free_ char *ferr = xasprintf("%s.errnoRet", f);
    _cleanup_free_ char *fargs = xasprintf("%s.args", f);
    _cleanup_free_ char *finc = xasprintf("%s.includes", f);
    _cleanup_free_ char *fexc = xasprintf("%s.excludes", f);
    if (check_type(name, fname, JSON_STRING, err) < 0 || check_strv(names, fn, err) < 0 ||
        check_type(member(sc, "action"), fact, JSON_STRING, err) < 0 ||
        check_type(member(sc, "errnoRet"), ferr, JSON_INTEGER, err) < 0 ||
        check_args(member(sc, "args"), fargs, err) < 0)
        return NULL;
    if (name && json_array_size(names) > 0)
        return berr_code(err, EINVAL,
                         "both 'name' and 'names' are specified in the seccomp profile, use "
                         "either 'name' or 'names'"),
               NULL;
    bool keep = true;
    if (filter(member(sc, "excludes"), fexc, false, caps, &keep, err) < 0 ||
        filter(member(sc, "includes"), finc, true, caps, &keep, err) < 0)
        return NULL;
    if (!keep)
        return NULL;
    json_t *out = json_object();
    json_object_set_new(out, "names",
                        name    ? json_pack("[O]", name)
                        : names ? json_deep_copy(names)
                                : json_array());
    static const char *const copied[] = {"action", "errnoRet", "args"};
    for (size_t k = 0; k < ARRAY_SIZE(copied); k++)
        if (member(sc, copied[k]))
            json_object_set_new(out, copied[k], json_deep_copy(member(sc, copied[k])));
    return out;
}

json_t *sg_seccomp_from_docker(const char *text, uint64_t caps, struct berr **err)
{
    json_error_t jerr;
    _cleanup_json_ json_t *p = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (p == NULL)
        return berr_code(err, EINVAL, DECODE ": line %d column %d: %s", jerr.line, jerr.column,
                         jerr.text),
               NULL;
    if (!json_is_object(p))
        return bad(err, "profile", "an object", p), NULL;
    json_t *syscalls = member(p, "syscalls"), *archs = member(p, "architectures"),
           *arch_map = member(p, "archMap");
    if (check_type(member(p, "defaultAction"), "defaultAction", JSON_STRING, err) < 0 ||
        check_type(member(p, "defaultErrnoRet"), "defaultErrnoRet", JSON_INTEGER, err) < 0 ||
        check_strv(archs, "architectures", err) < 0 ||
        check_strv(member(p, "flags"), "flags", err) < 0 ||
        check_type(member(p, "listenerPath"), "listenerPath", JSON_STRING, err) < 0 ||
        check_type(member(p, "listenerMetadata"), "listenerMetadata", JSON_STRING, err) < 0 ||
        check_type(syscalls, "syscalls", JSON_ARRAY, err) < 0 ||
        check_type(arch_map, "archMap", JSON_ARRAY, err) < 0)
        return NULL;
    if (member(p, "defaultAction") == NULL && json_array_size(syscalls) == 0)
        return NULL;
    if (json_array_size(archs) > 0 && json_array_size(arch_map) > 0)
        return berr_code(err, EINVAL,
                         "both 'architectures' and 'archMap' are specified in the seccomp "
                         "profile, use either 'architectures' or 'archMap'"),
               NULL;

    _cleanup_json_ json_t *out = json_object();
    static const char *const copied[] = {"defaultAction", "defaultErrnoRet", "architectures",
                                         "flags",         "listenerPath",    "listenerMetadata"};
    for (size_t k = 0; k < ARRAY_SIZE(copied); k++)
        if (member(p, copied[k]))
            json_object_set_new(out, copied[k], json_deep_copy(member(p, copied[k])));
    size_t i;
    json_t *e;
    json_array_foreach(arch_map, i, e)
    {
        _cleanup_free_ char *f = xasprintf("archMap[%zu]", i);
        _cleanup_free_ char *fa = xasprintf("%s.architecture", f);
        _cleanup_free_ char *fs = xasprintf("%s.subArchitectures", f);
        if (!json_is_object(e))
            return bad(err, f, "an object", e), NULL;
        json_t *a = member(e, "architecture"), *subs = member(e, "subArchitectures");
        if (check_type(a, fa, JSON_STRING, err) < 0 || check_strv(subs, fs, err) < 0)
            return NULL;
        if (a == NULL || strcmp(json_string_value(a), NATIVE_SCMP) != 0)
            continue;
        json_t *list = json_array();
        json_array_append(list, a);
        if (subs)
            json_array_extend(list, subs);
        json_object_set_new(out, "architectures", list);
        break;
    }
    json_t *rules = json_array();
    json_object_set_new(out, "syscalls", rules);
    json_array_foreach(syscalls, i, e)
    {
        json_t *r = convert_rule(e, i, caps, err);
        if (r == NULL && *err)
            return NULL;
        if (r)
            json_array_append_new(rules, r);
    }
    return steal_ptr(&out);
}
