"""linux.seccomp: errno actions, errnoRet, argument filters, default actions, kill actions, and
the filter reaching processes started with `exec`. The helper issues raw syscalls, so the rule
on a name is what decides the result."""

import errno
import signal

import pytest

from helpers import HELPER_IN_CTR, parse_json_output

ARCHES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]

# What the helper (static glibc) and a runtime's last steps before execve need, for profiles
# whose default action denies. mkdir, mkdirat, chmod and fchmodat are deliberately absent.
ALLOWED = """accept4 access arch_prctl bind brk capget capset chdir clock_gettime clock_nanosleep
    clone clone3 close close_range connect dup dup2 dup3 epoll_create1 epoll_ctl epoll_pwait
    epoll_wait eventfd2 execve execveat exit exit_group faccessat faccessat2 fchdir fchown
    fcntl fstat fstatfs futex getcwd getdents64 getegid geteuid getgid getgroups getpgid
    getpgrp getpid getppid getpriority getrandom getresgid getresuid getrlimit getsid gettid
    gettimeofday getuid ioctl kill lseek lstat madvise mmap mprotect mremap munmap nanosleep
    newfstatat open openat pipe pipe2 poll ppoll prctl pread64 prlimit64 read readlink readlinkat
    readv rseq rt_sigaction rt_sigprocmask rt_sigreturn rt_sigtimedwait rt_sigsuspend
    sched_getaffinity sched_yield select set_robust_list set_tid_address setgid setgroups
    setresgid setresuid setsid setuid sigaltstack socket stat statfs statx sysinfo tgkill
    time tkill umask uname unlink unlinkat wait4 waitid write writev personality""".split()


def profile(default="SCMP_ACT_ALLOW", syscalls=(), **extra):
    p = {"defaultAction": default, "architectures": ARCHES, "syscalls": list(syscalls)}
    p.update(extra)
    return p


def probe(rt, bundle, cid, *calls):
    bundle.writable()
    res = rt.run_helper(bundle, "try-syscall", *calls, cid=cid)["syscalls"]
    return {c["name"] + (":" + c["arg"] if c["arg"] else ""): c for c in res}


def test_errno_action_default_eperm(rt, bundle, cid):
    bundle.linux["seccomp"] = profile(syscalls=[
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}])
    res = probe(rt, bundle, cid, "mkdir", "mkdirat", "getcwd", "chmod")
    assert res["mkdir"]["errno"] == errno.EPERM
    assert res["mkdirat"]["errno"] == errno.EPERM
    assert res["getcwd"]["ok"] is True
    assert res["chmod"]["ok"] is True


def test_without_seccomp_mkdir_works(rt, bundle, cid):
    res = probe(rt, bundle, cid, "mkdir")
    assert res["mkdir"]["ok"] is True


def test_seccomp_mode_reported(rt, bundle, cid):
    bundle.linux["seccomp"] = profile(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}])
    rep = rt.run_helper(bundle, "seccomp", cid=cid)
    assert rep["seccomp"] == 2 and rep["seccomp_filters"] >= 1


def test_no_seccomp_mode_zero(rt, bundle, cid):
    assert rt.run_helper(bundle, "seccomp", cid=cid)["seccomp"] == 0


def test_errno_ret(rt, bundle, cid):
    bundle.linux["seccomp"] = profile(syscalls=[
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV},
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSPC}])
    res = probe(rt, bundle, cid, "mkdir", "chmod")
    assert res["mkdir"]["error"] == "EXDEV"
    assert res["chmod"]["error"] == "ENOSPC"


def test_arg_filter_eq(rt, bundle, cid):
    bundle.linux["seccomp"] = profile(syscalls=[
        {"names": ["umask"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 0o77, "op": "SCMP_CMP_EQ"}]}])
    res = probe(rt, bundle, cid, "umask:077", "umask:022")
    assert res["umask:077"]["errno"] == errno.EPERM
    assert res["umask:022"]["ok"] is True


def test_arg_filter_masked_eq(rt, bundle, cid):
    # personality(0x0008 | anything in the low byte) is refused; the query value passes.
    bundle.linux["seccomp"] = profile(syscalls=[
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES,
         "args": [{"index": 0, "value": 0xff, "valueTwo": 0x08, "op": "SCMP_CMP_MASKED_EQ"}]}])
    res = probe(rt, bundle, cid, "personality:0x0008", "personality:0xffffffff",
                "personality:0")
    assert res["personality:0x0008"]["error"] == "EACCES"
    assert res["personality:0xffffffff"]["ok"] is True
    assert res["personality:0"]["ok"] is True


def test_arg_filter_two_args_all_must_match(rt, bundle, cid):
    # socket(AF_UNIX=1, ...) denied only when also SOCK_STREAM (1); the helper uses
    # SOCK_STREAM, so AF_UNIX is refused and AF_INET (2) passes.
    bundle.linux["seccomp"] = profile(syscalls=[
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]}])
    res = probe(rt, bundle, cid, "socket:1", "socket:2")
    assert res["socket:1"]["errno"] == errno.EPERM
    assert res["socket:2"]["ok"] is True


def test_default_action_errno_with_allowlist(rt, bundle, cid):
    bundle.linux["seccomp"] = profile(default="SCMP_ACT_ERRNO", syscalls=[
        {"names": ALLOWED, "action": "SCMP_ACT_ALLOW"}])
    res = probe(rt, bundle, cid, "mkdir", "chmod", "getcwd", "umask:022")
    assert res["mkdir"]["errno"] == errno.EPERM
    assert res["chmod"]["errno"] == errno.EPERM
    assert res["getcwd"]["ok"] is True and res["umask:022"]["ok"] is True


def test_default_errno_ret(rt, bundle, cid):
    bundle.linux["seccomp"] = profile(default="SCMP_ACT_ERRNO", syscalls=[
        {"names": ALLOWED, "action": "SCMP_ACT_ALLOW"}], defaultErrnoRet=errno.ENOSYS)
    res = probe(rt, bundle, cid, "mkdir", "getcwd")
    assert res["mkdir"]["error"] == "ENOSYS"
    assert res["getcwd"]["ok"] is True


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS"])
def test_kill_action(rt, bundle, cid, action):
    bundle.writable()
    bundle.linux["seccomp"] = profile(syscalls=[{"names": ["mkdir"], "action": action}])
    bundle.helper("try-syscall", "getcwd", "mkdir")
    r = rt("run", "--bundle", bundle, cid)
    assert r.rc == 128 + signal.SIGSYS, r
    assert r.out.strip() == ""


def test_seccomp_without_no_new_privileges(rt, bundle, cid):
    bundle.process["noNewPrivileges"] = False
    bundle.linux["seccomp"] = profile(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}])
    res = probe(rt, bundle, cid, "mkdir")
    assert res["mkdir"]["errno"] == errno.EPERM


def test_seccomp_applies_to_exec(rt, bundle, cid):
    bundle.writable()
    bundle.linux["seccomp"] = profile(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                                                 "errnoRet": errno.EXDEV}])
    bundle.args("sleep", "60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    out = rt.ok("exec", cid, HELPER_IN_CTR, "try-syscall", "mkdir").out
    assert parse_json_output(out)["syscalls"][0]["error"] == "EXDEV"


def test_unknown_action_fails(rt, bundle, cid):
    bundle.linux["seccomp"] = profile(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}])
    rt.fails("run", "--bundle", bundle, cid)


def test_unknown_operator_fails(rt, bundle, cid):
    bundle.linux["seccomp"] = profile(syscalls=[
        {"names": ["umask"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BOGUS"}]}])
    rt.fails("run", "--bundle", bundle, cid)


@pytest.mark.known_failure(["runc", "crun"], "the compiled-filter cache is berth-runc's")
def test_compiled_filter_cache(rt, bundle, cid):
    """A profile is compiled once per runtime root and kept in <root>/.cache; a damaged cache
    file is never loaded (it is compiled again), and the cache directory is private."""
    bundle.linux["seccomp"] = profile(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}])
    assert probe(rt, bundle, cid, "mkdir")["mkdir"]["errno"] == errno.EPERM
    cache = rt.root / ".cache"
    assert cache.stat().st_mode & 0o777 == 0o700
    files = list(cache.glob("seccomp-*.bpf"))
    assert len(files) == 1 and files[0].stat().st_mode & 0o777 == 0o600
    rt("delete", "--force", cid)

    # the BPF sits at the end of the file: change its last instruction's operand; the
    # checksum no longer matches, so the profile is compiled afresh
    data = bytearray(files[0].read_bytes())
    data[-1] ^= 0x01
    files[0].write_bytes(bytes(data))
    res = probe(rt, bundle, cid, "mkdir", "getcwd")
    assert res["mkdir"]["errno"] == errno.EPERM and res["getcwd"]["ok"] is True
    assert files[0].read_bytes() != bytes(data)
