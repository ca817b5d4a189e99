"""`exec`: a new process in a running container's namespaces and cgroup, with the options
runc has (--process, --env, --cwd, --user, --cap, --tty, --detach, --pid-file)."""

import json
import os

import pytest

from helpers import (HELPER_IN_CTR, ConsoleSocket, assert_no_leftovers, parse_json_output,
                     pid_alive, sh, wait_for)


@pytest.fixture
def running(rt, bundle, cid):
    bundle.args("sleep", "60")
    bundle.env("FROM_CONFIG=1")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    return cid


def exec_helper(rt, cid, *args, opts=(), expect_rc=0):
    r = rt("exec", *opts, cid, HELPER_IN_CTR, *args)
    assert r.rc == expect_rc, r
    return parse_json_output(r.out)


def test_exec_args_and_exit_code(rt, running):
    r = rt("exec", running, "sh", "-c", 'printf "%s|" "$0" "$@"; exit 5', "x", "a b")
    assert r.rc == 5 and r.out == "x|a b|", r


def test_exec_joins_namespaces_and_cgroup(rt, running):
    init = rt.state(running)["pid"]
    rep = exec_helper(rt, running, "all")
    for ns in ("pid", "net", "ipc", "uts", "mnt"):
        assert rep["ns"][ns] == os.readlink(f"/proc/{init}/ns/{ns}"), ns
    init_cg = {line.split(":", 2)[1]: line.split(":", 2)[2]
               for line in open(f"/proc/{init}/cgroup").read().splitlines()}
    got_cg = {",".join(c["controllers"]): c["path"] for c in rep["cgroup"]}
    assert got_cg == init_cg
    assert rep["pid"] != 1


@pytest.mark.known_failure("crun", "crun 1.8.1 exec does not apply the config's noNewPrivileges")
def test_exec_inherits_config_process_settings(rt, running):
    rep = exec_helper(rt, running, "all")
    assert "FROM_CONFIG=1" in rep["env"]
    assert rep["cwd"] == "/"
    assert rep["no_new_privs"] == 1
    assert sorted(rep["caps"]["bounding"]["names"]) == sorted(
        ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    assert rep["rlimits"]["RLIMIT_NOFILE"] == {"soft": 1024, "hard": 1024}


@pytest.mark.known_failure("crun", "crun 1.8.1 exec --env replaces the config's environment")
def test_exec_env(rt, running):
    rep = exec_helper(rt, running, "env", opts=("--env", "E1=one", "--env", "E2=two words"))
    assert "E1=one" in rep["env"] and "E2=two words" in rep["env"]
    assert "FROM_CONFIG=1" in rep["env"]


def test_exec_env_overrides_config(rt, running):
    rep = exec_helper(rt, running, "env", opts=("--env", "FROM_CONFIG=2"))
    assert [e for e in rep["env"] if e.startswith("FROM_CONFIG=")] == ["FROM_CONFIG=2"]


def test_exec_cwd(rt, running):
    rep = exec_helper(rt, running, "cwd", opts=("--cwd", "/tmp"))
    assert rep["cwd"] == "/tmp" and rep["proc_cwd"] == "/tmp"


def test_exec_user(rt, running):
    rep = exec_helper(rt, running, "id", opts=("--user", "1000:1001"))
    assert (rep["uid"], rep["euid"], rep["gid"], rep["egid"]) == (1000, 1000, 1001, 1001)


@pytest.mark.known_failure("crun", "crun 1.8.1 exec has no --additional-gids")
def test_exec_user_additional_gids(rt, running):
    rep = exec_helper(rt, running, "id", opts=("--user", "1000:1000",
                                               "--additional-gids", "10",
                                               "--additional-gids", "20"))
    assert sorted(rep["groups"]) == [10, 20]


def test_exec_cap(rt, running):
    rep = exec_helper(rt, running, "caps", opts=("--cap", "CAP_NET_RAW"))
    assert "CAP_NET_RAW" in rep["bounding"]["names"]
    assert "CAP_NET_RAW" in rep["effective"]["names"]
    rep = exec_helper(rt, running, "caps")
    assert "CAP_NET_RAW" not in rep["bounding"]["names"]


@pytest.mark.known_failure("runc", "runc 1.1.5 exec raises the RLIMIT_NOFILE soft limit to the "
                           "hard one (Go 1.19 runtime; fixed in 1.1.6)")
def test_exec_process_file(rt, running, test_dir):
    proc = {
        "terminal": False,
        "user": {"uid": 1000, "gid": 1000, "additionalGids": [30]},
        "args": [HELPER_IN_CTR, "all"],
        "env": ["PATH=/bin", "ONLY=process-file"],
        "cwd": "/tmp",
        "capabilities": {k: ["CAP_CHOWN"] for k in ("bounding", "effective", "permitted")},
        "noNewPrivileges": True,
        "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}],
    }
    f = test_dir / "process.json"
    f.write_text(json.dumps(proc))
    rep = parse_json_output(rt.ok("exec", "--process", f, running).out)
    assert (rep["uid"], rep["gid"]) == (1000, 1000) and rep["groups"] == [30]
    assert "ONLY=process-file" in rep["env"] and "FROM_CONFIG=1" not in rep["env"]
    assert rep["cwd"] == "/tmp"
    assert rep["caps"]["bounding"]["names"] == ["CAP_CHOWN"]
    assert rep["rlimits"]["RLIMIT_NOFILE"] == {"soft": 100, "hard": 200}


def test_exec_detach_pid_file(rt, running, test_dir):
    pidfile = test_dir / "exec.pid"
    rt.ok("exec", "--detach", "--pid-file", pidfile, running, "sleep", "30")
    pid = int(pidfile.read_text().strip())
    init = rt.state(running)["pid"]
    assert pid_alive(pid) and pid != init
    assert os.readlink(f"/proc/{pid}/ns/pid") == os.readlink(f"/proc/{init}/ns/pid")
    ps = json.loads(rt.ok("ps", "--format", "json", running).out)
    assert pid in ps


def test_exec_tty_console_socket(rt, running):
    console = ConsoleSocket()
    try:
        rt.ok("exec", "--tty", "--detach", "--console-socket", console.path, running,
              HELPER_IN_CTR, "tty")
        console.receive()
        rep = parse_json_output(console.read_all().replace("\r", ""))
        assert all(f["isatty"] for f in rep["tty"])
        assert rep["tty"][0]["ttyname"].startswith("/dev/pts/")
    finally:
        console.close()


def test_exec_tty_interactive(rt, running):
    console = ConsoleSocket()
    try:
        rt.ok("exec", "-t", "-d", "--console-socket", console.path, running, "sh")
        console.receive()
        console.write("echo exec-$((40+2))\n")
        console.read_until("exec-42")
        console.write("exit\n")
    finally:
        console.close()


def test_exec_in_stopped_container_fails(rt, bundle, cid):
    bundle.helper("exit", "0")
    rt.ok("create", "--bundle", bundle, cid)
    rt.ok("start", cid)
    rt.wait_status(cid, "stopped")
    rt.fails("exec", cid, "true")


def test_exec_unknown_container_fails(rt):
    rt.fails("exec", "no-such-container", "true")


def test_exec_missing_binary_fails(rt, running):
    r = rt.fails("exec", running, "/bin/not-here")
    assert "not-here" in r.err


def test_exec_paused_container_fails(rt, running):
    rt.ok("pause", running)
    try:
        rt.fails("exec", running, "true", timeout=15)
    finally:
        rt.ok("resume", running)


def test_exec_processes_are_killed_with_container(rt, bundle, cid):
    bundle.args("sleep", "60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    rt.ok("exec", "-d", cid, "sleep", "60")
    procs = wait_for(lambda: (lambda p: p if len(p) >= 2 else None)(
        json.loads(rt.ok("ps", "--format", "json", cid).out)), what="two processes")
    rt.ok("delete", "--force", cid)
    wait_for(lambda: not any(pid_alive(p) for p in procs), what="processes gone")
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_exec_preserve_fds(rt, running, test_dir):
    f = test_dir / "passed"
    f.write_text("through fd 3")
    # The shell opens fd 3 and execs the runtime with it.
    argv = ["/bin/sh", "-c", 'exec "$@" 3<"$0"', str(f)] + rt.argv(
        "exec", "--preserve-fds", "1", running, HELPER_IN_CTR, "fds")
    rep = parse_json_output(sh(*argv).out)
    assert sorted(x["fd"] for x in rep["fds"]) == [0, 1, 2, 3], rep
    assert [x["target"] for x in rep["fds"] if x["fd"] == 3] == [str(f)]


def test_exec_does_not_leak_fds(rt, running, test_dir):
    f = test_dir / "not-passed"
    f.write_text("x")
    argv = ["/bin/sh", "-c", 'exec "$@" 3<"$0" 4<"$0"', str(f)] + rt.argv(
        "exec", running, HELPER_IN_CTR, "fds")
    rep = parse_json_output(sh(*argv).out)
    assert sorted(x["fd"] for x in rep["fds"]) == [0, 1, 2], rep


def test_exec_into_paused_container_fails_clearly(rt, running):
    rt.ok("pause", running)
    try:
        r = rt.fails("exec", running, "true", timeout=10)
        assert "paused" in r.err, r
        r = rt.fails("exec", "--ignore-paused", running, "true", timeout=10)
        assert "paused" in r.err, r
    finally:
        rt.ok("resume", running)
