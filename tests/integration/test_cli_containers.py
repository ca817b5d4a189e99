"""The berth CLI driving containers through berthd's API: run (attached, detached, -i, -t on a
pseudo-terminal), logs, exec, ps and its formats and filters, inspect of containers and images,
the lifecycle verbs, docker's exit codes and messages, the same create request as the docker
CLI sends, and starting berthd on demand. The real `berth` binary talks to the module's daemon
through $BERTH_HOST."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from berthcli import Berth
from daemon import EXTERNAL, poll_until as wait_for, unique_name


def name():
    return unique_name("bc-")



@pytest.fixture(scope="module")
def berth(daemon):
    root = daemon.root or Path(tempfile.mkdtemp(prefix="berth-cli-"))
    return Berth(root).container_env(daemon.sock)


def status_of(berth, ref):
    return berth.ok("inspect", "--format", "{{.State.Status}}", ref).out.strip()


def test_run_prints_output_and_exits_with_the_status(berth):
    n = name()
    r = berth("run", "--rm", "--name", n, "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert r.rc == 3, r
    assert r.out == "out\n"
    assert "err\n" in r.err
    # --rm: the CLI returns once the container is gone
    assert n not in berth.ok("ps", "-a", "--format", "{{.Names}}").out.split()


def test_global_host_flag(daemon, berth):
    env = dict(berth.env)
    env.pop("BERTH_HOST", None)
    b = Berth(berth.root, env=env)
    b.env.pop("BERTH_HOST", None)
    r = b.ok("-H", f"unix://{daemon.sock}", "ps", "-a", "-q")
    assert r.out == berth.ok("ps", "-a", "-q").out


def test_logs_follow_since_until(berth):
    n = name()
    berth.ok("run", "-d", "--name", n, "busybox", "sh", "-c", "echo a; sleep 1; echo b >&2")
    try:
        r = berth.ok("logs", "-f", n, timeout=30)
        assert r.out == "a\n" and r.err == "b\n"
        assert berth.ok("logs", "--since", "1h", n).out == "a\n"
        assert berth.ok("logs", "--until", "1h", n).out == ""
        assert berth.ok("logs", "--tail", "0", n).out == ""
        assert berth("logs", "nope-" + n).rc == 1
    finally:
        berth("rm", "-f", n)


def test_attach_streams_output_and_exit_status(berth):
    n = name()
    berth.ok("run", "-d", "--name", n, "busybox", "sh", "-c",
             "sleep 1; echo tick; echo tock >&2; exit 9")
    try:
        r = berth("attach", n, timeout=30)
        assert r.rc == 9 and r.out == "tick\n" and r.err == "tock\n", r
        stopped = berth("attach", n)
        assert stopped.rc == 1
        assert stopped.err == "You cannot attach to a stopped container, start it first\n"
    finally:
        berth("rm", "-f", n)


def test_run_detached_logs_stop_rm(berth):
    n = name()
    r = berth.ok("run", "-d", "--name", n, "busybox", "sh", "-c",
                 "echo started; echo oops >&2; exec sleep 100")
    cid = r.out.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid), r
    assert wait_for(lambda: "started" in berth("logs", n).out)
    logs = berth.ok("logs", n)
    assert logs.out == "started\n" and logs.err == "oops\n"
    ts = berth.ok("logs", "-t", "--tail", "1", n)
    assert ts.err.endswith("oops\n") and "T" in ts.err.split()[0] and ts.out == ""
    assert status_of(berth, n) == "running"
    t0 = time.monotonic()
    assert berth.ok("stop", "-t", "1", n).out == f"{n}\n"
    assert time.monotonic() - t0 < 8
    assert status_of(berth, cid[:12]) == "exited"
    assert berth.ok("rm", n).out == f"{n}\n"
    assert n not in berth.ok("ps", "-a", "--format", "{{.Names}}").out


def test_ps_table_formats_quiet_and_filters(berth):
    up, made = name(), name()
    berth.ok("run", "-d", "--name", up, "-l", "tier=web", "busybox", "sleep", "100")
    berth.ok("create", "--name", made, "-l", "tier=db", "busybox", "echo", "hi")
    try:
        lines = berth.ok("ps").out.splitlines()
        assert lines[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                                    "PORTS", "NAMES"]
        assert any(line.endswith(up) and '"sleep 100"' in line and " Up " in line
                   for line in lines[1:])
        assert not any(line.endswith(made) for line in lines)
        rows = berth.ok("ps", "-a", "--format", "{{.Names}}\t{{.State}}\t{{.Labels}}").out
        assert f"{up}\trunning\ttier=web\n" in rows and f"{made}\tcreated\ttier=db\n" in rows
        table = berth.ok("ps", "-a", "--format", "table {{.Names}}\t{{.Status}}").out
        assert table.splitlines()[0].split() == ["NAMES", "STATUS"]
        quiet = berth.ok("ps", "-aq").out.split()
        assert all(len(i) == 12 for i in quiet) and len(quiet) >= 2
        full = berth.ok("ps", "-aq", "--no-trunc").out.split()
        assert all(len(i) == 64 for i in full) and [i[:12] for i in full] == quiet
        assert berth.ok("ps", "-a", "-f", "label=tier=db", "--format", "{{.Names}}").out == \
            f"{made}\n"
        assert berth.ok("ps", "-a", "-f", "status=created", "-f", f"name={made}",
                        "--format", "{{.Names}}").out == f"{made}\n"
        assert berth.ok("ps", "-n", "1", "--format", "{{.Names}}").out == f"{made}\n"
        assert berth.ok("ps", "-lq").out.strip() == quiet[0]
        js = [json.loads(line) for line in berth.ok("ps", "-a", "--format", "json").out.split("\n")
              if line]
        mine = next(j for j in js if j["Names"] == up)
        assert mine["State"] == "running" and mine["Command"] == '"sleep 100"'
        assert list(mine) == sorted(mine), "docker prints ps json keys sorted"
        warn = berth.ok("ps", "-q", "--format", "{{.Names}}")
        assert "WARNING: Ignoring custom format" in warn.err
    finally:
        berth("rm", "-f", up, made)


def test_exec_output_status_and_stdin(berth):
    n = name()
    berth.ok("run", "-d", "--name", n, "busybox", "sleep", "100")
    try:
        r = berth("exec", n, "sh", "-c", "echo in-exec; echo to-err >&2; exit 4")
        assert r.rc == 4 and r.out == "in-exec\n" and r.err == "to-err\n", r
        assert berth.ok("exec", "-i", n, "cat", input=b"piped\n").out == "piped\n"
        assert berth.ok("exec", "-u", "1000", "-w", "/tmp", "-e", "V=x", n,
                        "sh", "-c", 'echo $(id -u) $PWD $V').out == "1000 /tmp x\n"
        assert berth.ok("exec", "-d", n, "touch", "/tmp/detached").out == ""
        assert wait_for(lambda: berth("exec", n, "test", "-e", "/tmp/detached").rc == 0)
        missing = berth("exec", "nope-" + n, "true")
        assert missing.rc == 1 and \
            missing.err == f"Error response from daemon: No such container: nope-{n}\n"
    finally:
        berth("rm", "-f", n)


def test_run_interactive_with_piped_stdin(berth):
    r = berth.ok("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done",
                 input=b"one\ntwo\n")
    assert r.out == "one\ntwo\ndone\n"


def test_run_tty_on_a_pty(berth):
    rc, out = berth.pty("run", "-t", "--rm", "busybox", "sh", "-c", "echo tty-ok; tty; exit 6")
    assert rc == 6, out
    assert "tty-ok" in out and "/dev/pts/" in out
    rc, out = berth.pty("run", "-it", "--rm", "busybox", "sh",
                        script=[(b"# ", b"echo hi-$((6*7)); exit 5\r")])
    assert rc == 5, out
    assert "hi-42" in out


def test_tty_size_resize_and_terminal_restore(berth):
    rc, out = berth.pty("run", "-t", "--rm", "busybox", "stty", "size", size=(33, 101))
    assert rc == 0 and "33 101" in out, out
    rc, out = berth.pty("run", "-it", "--rm", "busybox", "sh", size=(33, 101),
                        script=[(b"# ", (40, 120)), (b"# ", b"stty size; exit\r")])
    assert rc == 0 and "40 120" in out, out
    # the local terminal is cooked again once berth is gone
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        argv = " ".join(f"'{a}'" for a in berth.argv("run", "-it", "--rm", "busybox", "true"))
        os.execve("/bin/sh", ["sh", "-c", f"{argv}; stty -a"], berth.env)
    out = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    os.waitpid(pid, 0)
    os.close(fd)
    modes = out.decode(errors="replace").split()
    assert "icanon" in modes and "echo" in modes and "isig" in modes, out


def test_exec_tty_on_a_pty(berth):
    n = name()
    berth.ok("run", "-d", "--name", n, "busybox", "sleep", "100")
    try:
        rc, out = berth.pty("exec", "-it", n, "sh", script=[(b"# ", b"tty; exit 3\r")])
        assert rc == 3 and "/dev/pts/" in out, out
    finally:
        berth("rm", "-f", n)


def test_start_attach_and_detach_keys_on_a_pty(berth):
    n = name()
    berth.ok("create", "--name", n, "busybox", "sh", "-c", "echo from-start; exit 2")
    r = berth("start", "-a", n)
    assert r.rc == 2 and r.out == "from-start\n", r
    d = name()
    try:
        rc, out = berth.pty("run", "-it", "--name", d, "busybox", "sh",
                            script=[(b"# ", b"echo before\r"), (b"before\r\n", b"\x10\x11")])
        assert rc == 0, out
        assert status_of(berth, d) == "running"
    finally:
        berth("rm", "-f", n, d)


def test_inspect_containers_then_images(berth):
    n = name()
    berth.ok("run", "-d", "--name", n, "busybox", "sleep", "100")
    try:
        assert status_of(berth, n) == "running"
        img = berth.ok("inspect", "--format", "{{.Id}}", "busybox").out.strip()
        assert img.startswith("sha256:")
        both = json.loads(berth.ok("inspect", n, "busybox").out)
        assert both[0]["Name"] == f"/{n}" and both[1]["Id"] == img
        typed = berth("inspect", "--type", "container", "busybox")
        assert typed.rc == 1 and "No such container: busybox" in typed.err
        assert berth.ok("container", "inspect", "-f", "{{.Config.Image}}", n).out == "busybox\n"
        none = berth("inspect", "nope-" + n)
        assert none.rc == 1 and none.out == "[]\n"
        assert none.err == f"Error: No such object: nope-{n}\n"
    finally:
        berth("rm", "-f", n)


def test_exit_codes_and_docker_messages(berth):
    r = berth("run", "--rm", "busybox", "no-such-command")
    assert r.rc == 127, r
    assert "berth: Error response from daemon:" in r.err and "executable file not found" in r.err
    assert "Run 'berth run --help' for more information" in r.err
    r = berth("run", "--rm", "busybox", "/etc")
    assert r.rc == 126, r
    r = berth("run", "--memory", "lots", "busybox", "true")
    assert r.rc == 125
    assert r.err.startswith('invalid argument "lots" for "-m, --memory" flag: invalid size')
    assert "Usage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]" in r.err
    r = berth("run", "--rm", "--restart", "always", "busybox", "true")
    assert r.rc == 125
    assert r.err.startswith("berth: conflicting options: cannot specify both --restart and --rm")
    r = berth("run", "--pull", "never", "no/such-image:1", "true")
    assert r.rc == 125 and "No such image" in r.err, r
    r = berth("run", "--pull", "sometimes", "busybox")
    assert r.rc == 125 and "invalid pull option: 'sometimes'" in r.err
    r = berth("run", "--no-such-flag", "busybox")
    assert r.rc == 125 and r.err.startswith("unknown flag: --no-such-flag")
    r = berth("start", "nope-x")
    assert r.rc == 1
    assert r.err == ("Error response from daemon: No such container: nope-x\n"
                     "Error: failed to start containers: nope-x\n")
    r = berth("stop", "nope-x")
    assert r.rc == 1 and r.err == "Error response from daemon: No such container: nope-x\n"
    r = berth("rm", "-f", "nope-x")
    assert r.rc == 0 and r.out == "" and r.err == ""


def test_rename_wait_kill_pause(berth):
    n, renamed = name(), name()
    berth.ok("run", "-d", "--name", n, "busybox", "sleep", "100")
    try:
        assert berth.ok("pause", n).out == f"{n}\n"
        assert status_of(berth, n) == "paused"
        assert berth.ok("unpause", n).out == f"{n}\n"
        assert status_of(berth, n) == "running"
        r = berth.ok("rename", n, renamed)
        assert r.out == "" and status_of(berth, renamed) == "running"
        assert berth("inspect", n).rc == 1
        waiter = berth.popen("wait", renamed, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.5)
        assert berth.ok("kill", "-s", "KILL", renamed).out == f"{renamed}\n"
        out, _ = waiter.communicate(timeout=30)
        assert waiter.returncode == 0 and out == b"137\n"
        assert berth.ok("wait", renamed).out == "137\n"
        bad = berth("rename", renamed, "")
        assert bad.rc == 1 and "Neither old nor new names may be empty" in bad.err
    finally:
        berth("rm", "-f", n, renamed)


def test_signals_are_forwarded_to_the_container(berth):
    p = berth.popen("run", "--rm", "busybox", "sh", "-c",
                    "trap 'echo got-term; exit 3' TERM; echo ready; "
                    "while true; do sleep 0.1; done",
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"ready\n"
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=30)
        assert p.returncode == 3 and out == b"got-term\n"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_container_prune(berth):
    keep, gone1, gone2 = name(), name(), name()
    berth.ok("run", "-d", "--name", keep, "busybox", "sleep", "100")
    ids = [berth.ok("create", "--name", g, "busybox", "true").out.strip() for g in (gone1, gone2)]
    try:
        r = berth.ok("container", "prune", "-f")
        assert r.out.startswith("Deleted Containers:\n")
        assert all(f"{i}\n" in r.out for i in ids)
        assert r.out.endswith("\nTotal reclaimed space: 0B\n") or "Total reclaimed space:" in r.out
        left = berth.ok("container", "ls", "-a", "--format", "{{.Names}}").out.split()
        assert keep in left and gone1 not in left and gone2 not in left
        again = berth.ok("container", "prune", "-f")
        assert again.out == "Total reclaimed space: 0B\n"
        no = berth("container", "prune", input=b"n\n")
        assert no.rc == 0 and "Are you sure you want to continue? [y/N]" in no.out
    finally:
        berth("rm", "-f", keep, gone1, gone2)


def test_same_create_request_as_docker(daemon, berth):
    """The options become the request docker's CLI sends: both containers inspect the same."""
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI")
    flags = ["-e", "A=1", "-l", "k=v", "-w", "/tmp", "-u", "1000", "--memory", "64m",
             "--memory-swap", "128m", "--cpus", "1.5", "--cpu-shares", "512", "--pids-limit",
             "50", "--ulimit", "nofile=100:200", "--cap-add", "net_admin", "--cap-drop", "MKNOD",
             "--read-only", "--tmpfs", "/run:size=1m", "--restart", "on-failure:3",
             "--stop-signal", "USR1", "--stop-timeout", "7", "--health-cmd", "true",
             "--health-interval", "5s", "--shm-size", "8m", "--init", "-h", "h1",
             "--group-add", "10", "--entrypoint", "/bin/sh", "--security-opt",
             "no-new-privileges", "--log-opt", "max-size=1m", "--device",
             "/dev/null:/dev/mynull:rw", "-v", "/tmp:/hosttmp:ro", "-v", "/anon", "--mount",
             "type=tmpfs,target=/t2,tmpfs-size=1m", "--cpuset-cpus", "0", "-p", "8080:80",
             "--expose", "90", "--ipc", "private", "--sysctl", "kernel.msgmax=8192"]
    a, b = name(), name()
    daemon.docker("create", "--name", a, *flags, "busybox", "-c", "echo hi")
    berth.ok("create", "--name", b, *flags, "busybox", "-c", "echo hi")
    try:
        da, db = json.loads(berth.ok("inspect", a, b).out)
        for section in ("Config", "HostConfig"):
            diff = {k: (da[section].get(k), db[section].get(k))
                    for k in set(da[section]) | set(db[section])
                    if da[section].get(k) != db[section].get(k)}
            assert not diff, f"{section} differs (docker, berth): {diff}"
    finally:
        berth("rm", "-f", a, b)


def test_container_group_help_and_aliases(berth):
    r = berth.ok("container", "--help")
    for cmd in ("attach", "create", "exec", "inspect", "kill", "logs", "ls", "pause", "port",
                "prune", "rename", "restart", "rm", "run", "start", "stop", "unpause", "wait"):
        assert re.search(rf"^  {cmd} ", r.out, re.M), cmd
    r = berth.ok("ps", "--help")
    assert "berth container ls, berth container list, berth container ps, berth ps" in r.out
    assert berth.ok("container", "ps", "-q").rc == 0
    assert berth.ok("container", "list", "-q").rc == 0


def berthd_pids(sockdir):
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"berthd") and str(sockdir).encode() in b" ".join(cmd):
            pids.append(int(p.name))
    return pids


@pytest.mark.skipif(EXTERNAL is not None, reason="starts a daemon of its own")
def test_autostart_starts_one_berthd():
    sockdir = Path(tempfile.mkdtemp(prefix="bta", dir="/run"))
    root = Path(tempfile.mkdtemp(prefix="berth-autostart-"))
    b = Berth(root).container_env(sockdir / "berth.sock")
    try:
        procs = [b.popen("ps", stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
        results = [p.communicate(timeout=30) for p in procs]
        for p, (out, err) in zip(procs, results):
            assert p.returncode == 0, err
            assert out.decode().split()[:2] == ["CONTAINER", "ID"]
        pid = int((sockdir / "berthd.pid").read_text())
        assert berthd_pids(sockdir) == [pid]
        assert (sockdir / "berthd.log").exists()
        # the daemon's fds: its own only, none of the CLI's
        fds = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        assert "/dev/null" in fds and str(sockdir / "berthd.log") in fds
        assert str(sockdir / "berthd-start.lock") not in fds, fds
        assert b.ok("ps", "-a").rc == 0
        assert berthd_pids(sockdir) == [pid]
    finally:
        for pid in berthd_pids(sockdir):
            os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: not berthd_pids(sockdir), timeout=15)
        shutil.rmtree(sockdir, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(EXTERNAL is not None, reason="starts a daemon of its own")
def test_unreachable_daemon_says_where_and_what_to_do(tmp_path):
    b = Berth(tmp_path / "root").container_env(tmp_path / "no" / "other.sock")
    r = b("ps")
    assert r.rc == 1
    assert f"Cannot connect to the berth daemon at unix://{tmp_path}/no/other.sock" in r.err
    assert "Is berthd running?" in r.err
    assert not (tmp_path / "no").exists()
    bad = Berth(tmp_path / "root", env={"BERTH_HOST": "tcp://127.0.0.1:2375"})("ps")
    assert bad.rc == 1 and "unix sockets only" in bad.err


def test_run_pulls_a_missing_image_with_stored_credentials(berth, tmp_path):
    """--pull missing: docker's "Unable to find image" line, a pull through the daemon with the
    credentials `berth login` stored, then the run; --pull never does not pull."""
    import ocimage
    from registry import Registry, require_tools
    require_tools("docker-registry", "skopeo")
    with Registry("basic") as reg:
        ocimage.busybox_image().push(reg, "cli/busybox", "1")
        ref = reg.image_ref("cli/busybox", "1")
        b = Berth(berth.root, config=tmp_path / "config").container_env(
            berth.env["BERTH_HOST"][len("unix://"):])
        assert b("run", "--pull", "never", "--rm", ref, "true").rc == 125
        denied = b("run", "--rm", ref, "true")
        assert denied.rc == 125 and f"Unable to find image '{ref}' locally" in denied.err
        b.ok("login", "-u", reg.user, "--password-stdin", reg.host,
             input=f"{reg.password}\n".encode())
        r = b("run", "--rm", ref, "echo", "pulled")
        assert r.rc == 0 and r.out == "pulled\n", r
        assert f"Unable to find image '{ref}' locally" in r.err
        again = b("run", "--rm", ref, "echo", "cached")
        assert again.out == "cached\n" and "Unable to find image" not in again.err
        berth("rmi", ref)
