"""berth-monitor and berth-init, black-box: the real monitor drives the real runtime
($BERTH_RUNC) the way berthd does (fd 3 for the creation result, `start` run by the caller),
and the tests check what berthd relies on: the json-file log, exit.json, the attach socket, the
monitor's survival and its footprint. berth-init runs as PID 1 of containers started this way.

Binaries: $BERTH_MONITOR (default build/src/monitor/berth-monitor) and $BERTH_INIT (default
build/src/monitor/berth-init).
"""

import ctypes
import fcntl
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from helpers import (HELPER_IN_CTR, REPO, cgroup_mounts, new_id, parse_json_output, pid_alive,
                     proc_status_field, wait_for)

MONITOR = os.environ.get("BERTH_MONITOR") or str(REPO / "build/src/monitor/berth-monitor")
INIT = os.environ.get("BERTH_INIT") or str(REPO / "build/src/monitor/berth-init")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
STDIN, STDOUT, STDERR, RESIZE, STDIN_END = 0, 1, 2, 3, 4
MiB = 1024 * 1024


@pytest.fixture(scope="module", autouse=True)
def binaries():
    for path, var in ((MONITOR, "BERTH_MONITOR"), (INIT, "BERTH_INIT")):
        if not os.path.exists(path):
            pytest.skip(f"{path} not found: build it (ninja -C build) or set {var}")


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture(autouse=True)
def subreaper():
    """Monitors detach (their first process exits); as a subreaper this test process gets them
    as children, so each test reaps what it started instead of leaving zombies on a PID 1 that
    may not reap. Turned off again so other test modules see the usual process tree."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    yield
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def spawn_with_sync_fd(argv, stderr_path):
    """Starts argv the way berthd does: stdin/stdout /dev/null, fd 3 the write end of a pipe.
    Returns (pid, read end)."""
    r, w0 = os.pipe()
    # Above the fds a file action targets: dup2 onto the same number would keep close-on-exec.
    w = fcntl.fcntl(w0, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(w0)
    err0 = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    err = fcntl.fcntl(err0, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(err0)
    try:
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, err, 2),
            (os.POSIX_SPAWN_DUP2, w, 3),
        ])
    finally:
        os.close(w)
        os.close(err)
    return pid, r


def read_line(fd, timeout=30):
    """Everything written to fd up to its first newline or EOF."""
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        assert left > 0, f"no line on the sync pipe after {timeout}s; got {buf!r}"
        if not select.select([fd], [], [], left)[0]:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    return buf


class Client:
    """An attach-socket client speaking the framed protocol."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(str(path))
        self.buf = b""
        self.frames = []
        self.eof = False

    def send(self, typ, data=b""):
        self.sock.sendall(struct.pack(">BxxxI", typ, len(data)) + data)

    def stdin(self, data):
        self.send(STDIN, data.encode() if isinstance(data, str) else data)

    def resize(self, rows, cols):
        self.send(RESIZE, struct.pack(">HH", rows, cols))

    def _parse(self):
        off = 0
        while len(self.buf) - off >= 8:
            typ, n = struct.unpack_from(">BxxxI", self.buf, off)
            if len(self.buf) - off < 8 + n:
                break
            self.frames.append((typ, self.buf[off + 8:off + 8 + n]))
            off += 8 + n
        self.buf = self.buf[off:]

    def pump(self, timeout):
        """Reads what arrives within timeout; returns False at EOF."""
        if self.eof:
            return False
        r, _, _ = select.select([self.sock], [], [], timeout)
        if r:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                self.eof = True
                return False
            self.buf += chunk
            self._parse()
        return True

    def text(self, typ=None):
        return b"".join(d for t, d in self.frames if typ is None or t == typ).decode(
            errors="replace")

    def read_until(self, needle, timeout=20):
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            assert time.monotonic() < deadline, f"{needle!r} not received; got {self.frames}"
            assert self.pump(0.2), f"EOF before {needle!r}; got {self.frames}"

    def read_to_eof(self, timeout=30):
        deadline = time.monotonic() + timeout
        while self.pump(0.2):
            assert time.monotonic() < deadline, f"no EOF after {timeout}s; got {self.frames}"
        return self.frames

    def close(self):
        self.sock.close()


class Monitor:
    """One berth-monitor run for a bundle, with its own short directory under /tmp (unix socket
    paths must stay under 108 bytes)."""

    def __init__(self, rt, bundle, cid=None, *, tty=False, stdin=False, stdin_once=False,
                 log=True, max_size=None, max_file=None):
        self.rt, self.bundle, self.cid = rt, bundle, cid or new_id("mon")
        self.base = Path(tempfile.mkdtemp(prefix="bm-", dir="/tmp"))
        self.dir = self.base / "m"
        self.dir.mkdir(mode=0o700)
        self.log_path = self.base / "ctr.log" if log else None
        self.stderr_path = self.base / "monitor.err"
        self.opts = {"tty": tty, "stdin": stdin, "stdin_once": stdin_once,
                     "max_size": max_size, "max_file": max_file}
        self.pid = None
        self.first_rc = None
        self.sync = None

    def argv(self):
        o = self.opts
        a = [MONITOR, "--id", self.cid, "--bundle", os.fspath(self.bundle),
             "--runtime", self.rt.binary, "--runtime-root", str(self.rt.root),
             "--dir", str(self.dir)]
        if self.log_path:
            a += ["--log-path", str(self.log_path)]
        if o["max_size"] is not None:
            a += ["--log-max-size", str(o["max_size"])]
        if o["max_file"] is not None:
            a += ["--log-max-file", str(o["max_file"])]
        a += [f for f, on in (("--tty", o["tty"]), ("--stdin", o["stdin"]),
                              ("--stdin-once", o["stdin_once"])) if on]
        return a

    def create(self, expect_ok=True):
        first, r = spawn_with_sync_fd(self.argv(), self.stderr_path)
        try:
            _, status = os.waitpid(first, 0)
            self.first_rc = os.waitstatus_to_exitcode(status)
            line = read_line(r)
        finally:
            os.close(r)
        assert line.endswith(b"\n"), f"sync line {line!r}; monitor said: {self.stderr()}"
        self.sync = json.loads(line)
        try:
            self.pid = int((self.dir / "monitor.pid").read_text())
        except FileNotFoundError:  # a failed monitor removes it
            pass
        if expect_ok:
            assert self.first_rc == 0
            assert "pid" in self.sync, f"{self.sync}; monitor said: {self.stderr()}"
        return self.sync

    def start(self):
        self.rt.ok("start", self.cid)

    def run(self, **kw):
        """create + start; returns the container's pid."""
        self.create()
        self.start()
        return self.sync["pid"]

    def client(self):
        return Client(self.dir / "attach.sock")

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_exit(self, timeout=20):
        wait_for(lambda: (self.dir / "exit.json").exists() and not pid_alive(self.pid),
                 timeout, what=f"monitor {self.pid} to finish; it said: {self.stderr()}")
        reap(self.pid)
        return json.loads((self.dir / "exit.json").read_text())

    def entries(self, name=None):
        path = self.base / name if name else self.log_path
        return [json.loads(line) for line in path.read_text().splitlines()]

    def log_text(self, stream=None, name=None):
        return "".join(e["log"] for e in self.entries(name)
                       if stream is None or e["stream"] == stream)

    def cleanup(self):
        if self.pid and pid_alive(self.pid):
            os.kill(self.pid, signal.SIGKILL)
            wait_for(lambda: not pid_alive(self.pid), 10, what="monitor to die")
        if self.pid:
            reap(self.pid)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def monitors(rt):
    made = []

    def make(bundle, **kw):
        m = Monitor(rt, bundle, **kw)
        made.append(m)
        return m

    yield make
    for m in made:
        if m.pid and pid_alive(m.pid):
            rt("kill", m.cid, "KILL", timeout=10)
        m.cleanup()


def monitor_processes(marker):
    """Pids whose command line mentions marker (a monitor's directory)."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                if marker.encode() in f.read() and pid_alive(int(p)):
                    found.append(int(p))
        except OSError:
            pass
    return found


def is_static(path):
    with open(path, "rb") as f:
        head = f.read(64)
        phoff, = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return all(struct.unpack_from("<I", table, i * phentsize)[0] != 3 for i in range(phnum))


def with_init(bundle, *cmd):
    """Puts berth-init into the rootfs at /sbin/docker-init (where berthd mounts it) and runs
    cmd under it."""
    if not is_static(INIT):
        pytest.skip(f"{INIT} is not statically linked (a sanitizer build?) and cannot run in a "
                    "rootfs without libc; point BERTH_INIT at a static build")
    (bundle.rootfs / "sbin").mkdir(exist_ok=True)
    shutil.copy2(INIT, bundle.rootfs / "sbin/docker-init")
    return bundle.args("/sbin/docker-init", "--", *cmd)


# ---------------------------------------------------------------------------------------------
# log and exit status

def test_output_goes_to_log_and_exit_json(monitors, bundle):
    bundle.args("sh", "-c", "echo out1; echo err1 >&2; printf 'no newline'; sleep 0.3; "
                            "printf 'tab\\there \"q\" \\\\ \\001\\n'; exit 3")
    m = monitors(bundle)
    sync = m.create()
    assert sync["pid"] > 0
    assert m.pid and pid_alive(m.pid)
    assert {"attach.sock", "monitor.pid"} <= set(os.listdir(m.dir))
    assert os.stat(m.dir / "attach.sock").st_mode & 0o777 == 0o600
    before = time.time()
    m.start()
    ex = m.wait_exit()
    assert ex["exit_code"] == 3 and ex["oom_killed"] is False and ex["pid"] == sync["pid"]
    assert TIME_RE.match(ex["finished_at"]), ex
    assert set(ex) == {"exit_code", "oom_killed", "finished_at", "pid"}
    entries = m.entries()
    for e in entries:
        assert set(e) == {"log", "stream", "time"} and TIME_RE.match(e["time"]), e
    assert m.log_text("stdout") == "out1\nno newline" + 'tab\there "q" \\ \x01\n'
    assert m.log_text("stderr") == "err1\n"
    # The partial line was its own entry: the pipe went quiet before the newline came.
    assert any(e["log"] == "no newline" and e["stream"] == "stdout" for e in entries), entries
    raw = m.log_path.read_text()
    assert '\\u0009' in raw and '\\u0001' in raw and '\\"q\\"' in raw, raw
    # Clean end: the socket is gone, the container deleted.
    assert not (m.dir / "attach.sock").exists()
    assert m.rt("state", m.cid).rc != 0
    assert ex["finished_at"][:4] == time.strftime("%Y", time.gmtime(before))


def test_exit_by_signal_is_128_plus_signal(monitors, bundle):
    bundle.args("sleep", "100")
    m = monitors(bundle)
    m.run()
    m.rt.ok("kill", m.cid, "KILL")
    assert m.wait_exit()["exit_code"] == 128 + 9


def test_no_log_path_means_no_log(monitors, bundle):
    bundle.args("echo", "hi")
    m = monitors(bundle, log=False)
    m.run()
    assert m.wait_exit()["exit_code"] == 0
    assert sorted(p.name for p in m.base.iterdir()) == ["m", "monitor.err"]


def test_container_deleted_before_start(monitors, bundle):
    """berthd gives up on a created container: the init dies, the monitor still finishes."""
    bundle.args("echo", "never")
    m = monitors(bundle)
    pid = m.create()["pid"]
    m.rt.ok("delete", "--force", m.cid)
    ex = m.wait_exit()
    assert ex["pid"] == pid and ex["exit_code"] == 128 + 9
    assert m.log_text() == ""


# ---------------------------------------------------------------------------------------------
# creation failures and bad calls

@pytest.mark.parametrize("broken", ["missing-executable", "missing-rootfs"])
def test_create_failure_reports_error_and_leaves_nothing(monitors, bundle, broken):
    if broken == "missing-executable":
        bundle.args("/no/such/program")
        want = "/no/such/program"
    else:
        bundle.config["root"]["path"] = "no-such-rootfs"
        want = "no-such-rootfs"
    m = monitors(bundle)
    sync = m.create(expect_ok=False)
    assert m.first_rc == 0
    assert set(sync) == {"error"} and want in sync["error"], sync
    wait_for(lambda: not monitor_processes(str(m.dir)), 10, what="the monitor to exit")
    assert os.listdir(m.dir) == []
    assert not m.log_path.exists()
    assert m.rt.known_ids() == set()


def test_runtime_missing_is_reported(monitors, bundle, rt):
    m = monitors(bundle)
    m.rt = type(rt)("/no/such/runtime", rt.root)
    sync = m.create(expect_ok=False)
    assert "/no/such/runtime" in sync["error"] and m.first_rc == 2
    assert os.listdir(m.dir) == []


def test_unusable_log_path_is_reported(monitors, bundle):
    m = monitors(bundle)
    m.log_path = m.base / "no/such/dir/ctr.log"
    sync = m.create(expect_ok=False)
    assert str(m.log_path) in sync["error"] and "No such file" in sync["error"], sync
    wait_for(lambda: not monitor_processes(str(m.dir)), 10, what="the monitor to exit")
    assert os.listdir(m.dir) == []
    assert m.rt.known_ids() == set()


@pytest.mark.parametrize("args,want", [
    ([], "--id is required"),
    (["--log-max-file", "0"], "--log-max-file 0"),
    (["--log-max-size", "10m"], "--log-max-size 10m"),
    (["--frobnicate"], "unknown option --frobnicate"),
    (["extra"], "unexpected argument extra"),
])
def test_bad_arguments(test_dir, rt, bundle, args, want):
    d = Path(tempfile.mkdtemp(prefix="bm-", dir="/tmp"))
    try:
        base = ["--bundle", os.fspath(bundle), "--runtime", rt.binary,
                "--runtime-root", str(rt.root), "--dir", str(d)]
        if want != "--id is required":
            base = ["--id", new_id()] + base
        pid, r = spawn_with_sync_fd([MONITOR, *base, *args], d / "err")
        _, status = os.waitpid(pid, 0)
        line = read_line(r)
        os.close(r)
        assert os.waitstatus_to_exitcode(status) == 2
        assert want in json.loads(line)["error"], line
        assert want in (d / "err").read_text()
        assert os.listdir(d) == ["err"]
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# attach

def test_client_attached_before_start_gets_all_output(monitors, bundle):
    bundle.args("sh", "-c", "echo out1; sleep 0.1; echo err1 >&2; sleep 0.1; echo out2; "
                            "sleep 0.1; echo err2 >&2")
    m = monitors(bundle)
    m.create()
    c = m.client()
    m.start()
    frames = c.read_to_eof()
    assert c.text(STDOUT) == "out1\nout2\n" and c.text(STDERR) == "err1\nerr2\n", frames
    assert [d for _, d in frames] == [b"out1\n", b"err1\n", b"out2\n", b"err2\n"], frames
    assert [t for t, _ in frames] == [STDOUT, STDERR, STDOUT, STDERR]
    assert m.wait_exit()["exit_code"] == 0


def test_late_client_sees_no_replay_and_stdin_stays_open(monitors, bundle):
    """Without --stdin-once a client ending its stdin does not close the container's."""
    bundle.args("sh", "-c", "echo first; read a; echo got:$a; read b; echo got:$b")
    m = monitors(bundle, stdin=True)
    m.create()
    a = m.client()
    m.start()
    a.read_until("first")
    b = m.client()
    a.stdin("x\n")
    a.send(STDIN_END)
    b.read_until("got:x")
    a.close()
    b.stdin("y\n")
    b.read_to_eof()
    assert b.text(STDOUT) == "got:x\ngot:y\n"
    assert m.wait_exit()["exit_code"] == 0
    assert m.log_text("stdout") == "first\ngot:x\ngot:y\n"


def test_stdin_once_closes_stdin(monitors, bundle):
    bundle.args("cat")
    m = monitors(bundle, stdin=True, stdin_once=True)
    m.create()
    watcher = m.client()
    c = m.client()
    m.start()
    c.stdin("hello\n")
    c.stdin("world\n")
    c.read_until("world")
    c.send(STDIN_END)
    # cat saw EOF and exited: the container is done.
    watcher.read_to_eof()
    assert watcher.text(STDOUT) == "hello\nworld\n"
    assert m.wait_exit()["exit_code"] == 0


def test_stdin_once_on_disconnect(monitors, bundle):
    bundle.args("sh", "-c", "cat; echo stdin-closed")
    m = monitors(bundle, stdin=True, stdin_once=True)
    m.create()
    watcher = m.client()
    c = m.client()
    m.start()
    c.stdin("bye\n")
    watcher.read_until("bye")
    c.close()
    watcher.read_to_eof()
    assert watcher.text() == "bye\nstdin-closed\n"
    assert m.wait_exit()["exit_code"] == 0


def test_without_stdin_the_container_reads_dev_null(monitors, bundle):
    bundle.args("sh", "-c", "cat; echo eof")
    m = monitors(bundle)
    m.create()
    c = m.client()
    m.start()
    try:
        c.stdin("ignored\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the container may have read /dev/null, ended, and the monitor hung up already
    c.read_to_eof()
    assert c.text() == "eof\n"
    assert m.wait_exit()["exit_code"] == 0


def test_tty_output_stdin_and_resize(monitors, bundle):
    bundle.process["terminal"] = True
    bundle.args("sh", "-c", "read x; stty size; echo err >&2; echo done:$x")
    m = monitors(bundle, tty=True, stdin=True)
    m.create()
    assert not (m.dir / "console.sock").exists()
    c = m.client()
    m.start()
    c.resize(40, 123)
    c.stdin("go\n")
    c.read_to_eof()
    out = c.text().replace("\r", "")
    assert "40 123\n" in out and "err\n" in out and "done:go\n" in out, out
    assert {t for t, _ in c.frames} == {STDOUT}
    assert m.wait_exit()["exit_code"] == 0
    assert {e["stream"] for e in m.entries()} == {"stdout"}
    assert "40 123" in m.log_text()


def test_oversized_frame_drops_only_that_client(monitors, bundle):
    bundle.args("sh", "-c", "read x; echo got:$x")
    m = monitors(bundle, stdin=True)
    m.create()
    good = m.client()
    bad = m.client()
    m.start()
    bad.sock.sendall(struct.pack(">BxxxI", STDIN, 2 * MiB) + b"x" * 1024)
    bad.read_to_eof(10)
    good.stdin("ok\n")
    good.read_to_eof()
    assert good.text() == "got:ok\n"
    assert m.wait_exit()["exit_code"] == 0


@pytest.mark.time_limit(120)
def test_slow_client_pauses_output_without_loss(monitors, bundle):
    total = 8 * MiB
    bundle.args("sh", "-c", f"yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c {total}")
    m = monitors(bundle, max_size=MiB, max_file=2)
    m.create()
    c = m.client()
    m.start()
    time.sleep(2)
    # Neither the client's backlog nor the container ran away: the monitor stopped reading.
    assert not (m.dir / "exit.json").exists()
    if is_static(MONITOR):
        rss = int(proc_status_field(m.pid, "VmRSS").split()[0])
        assert rss < 8 * 1024, f"monitor RSS {rss} kB while a client lags"
    c.read_to_eof(90)
    data = b"".join(d for _, d in c.frames)
    assert len(data) == total
    line = b"0123456789abcdefghijklmnopqrstuvwxyz\n"
    assert data == (line * (total // len(line) + 1))[:total]
    assert m.wait_exit()["exit_code"] == 0
    assert m.log_path.stat().st_size <= MiB


# ---------------------------------------------------------------------------------------------
# rotation, OOM, footprint, robustness

@pytest.mark.parametrize("max_file", [1, 2, 3])
def test_log_rotation(monitors, bundle, max_file):
    bundle.args("sh", "-c", "for i in $(seq 1 300); do echo line$i; done")
    m = monitors(bundle, max_size=1000, max_file=max_file)
    m.run()
    assert m.wait_exit()["exit_code"] == 0
    names = sorted(p.name for p in m.base.iterdir() if p.name.startswith("ctr.log"))
    assert names == ["ctr.log"] + [f"ctr.log.{i}" for i in range(1, max_file)]
    text = ""
    for name in reversed(names):
        assert (m.base / name).stat().st_size <= 1000
        text += m.log_text(name=name)
    lines = text.splitlines()
    # The newest lines survive, in order, with nothing missing between them.
    assert lines[-1] == "line300" and len(lines) > 5
    first = int(lines[0][4:])
    assert lines == [f"line{i}" for i in range(first, 301)]


def memory_controller():
    v1, v2 = cgroup_mounts()
    if "memory" in v1:
        return "v1"
    if v2 and "memory" in Path(v2, "cgroup.controllers").read_text().split():
        return "v2"
    return None


@pytest.mark.time_limit(90)
def test_oom_kill_is_detected(monitors, bundle):
    if memory_controller() is None:
        pytest.skip("no memory cgroup controller on this host (neither v1 nor v2)")
    bundle.resources()["memory"] = {"limit": 32 * MiB, "swap": 32 * MiB}
    bundle.add_mount("/fill", "tmpfs", "tmpfs", ["size=256m"])
    # tmpfs pages are charged to the writer and cannot be reclaimed without swap.
    bundle.args("dd", "if=/dev/zero", "of=/fill/x", "bs=1M", "count=128")
    m = monitors(bundle)
    m.run()
    ex = m.wait_exit(60)
    assert ex["oom_killed"] is True and ex["exit_code"] == 137, ex


def test_plain_exit_is_not_oom(monitors, bundle):
    bundle.resources()["memory"] = {"limit": 32 * MiB}
    bundle.args("true")
    m = monitors(bundle)
    m.run()
    ex = m.wait_exit()
    assert ex["oom_killed"] is False and ex["exit_code"] == 0, ex


def test_idle_rss_under_one_megabyte(monitors, bundle):
    if not is_static(MONITOR):
        pytest.skip(f"{MONITOR} is not statically linked (a sanitizer build?): the 1 MB budget "
                    "is for the static build")
    bundle.args("sh", "-c", "echo started; read x; yes 0123456789 | head -c 4000000; "
                            "echo burst-done; sleep 100")
    m = monitors(bundle, stdin=True)
    m.create()
    c = m.client()
    m.start()
    c.read_until("started")
    time.sleep(0.5)
    rss = int(proc_status_field(m.pid, "VmRSS").split()[0])
    print(f"idle monitor VmRSS: {rss} kB")
    assert rss < 1024, f"idle monitor RSS is {rss} kB"
    # After a burst through the log and a client, the monitor settles back under the limit.
    c.stdin("go\n")
    c.read_until("burst-done", 30)
    time.sleep(4)
    rss = int(proc_status_field(m.pid, "VmRSS").split()[0])
    print(f"monitor VmRSS after a 4 MB burst: {rss} kB")
    assert rss < 1024, f"monitor RSS after a burst is {rss} kB"
    m.rt.ok("kill", m.cid, "KILL")
    m.wait_exit()


@pytest.mark.parametrize("tty", [False, True])
def test_no_fds_leak_into_the_container(monitors, bundle, tty):
    bundle.process["terminal"] = tty
    bundle.args(HELPER_IN_CTR, "fds")
    m = monitors(bundle, tty=tty)
    m.run()
    assert m.wait_exit()["exit_code"] == 0
    rep = parse_json_output(m.log_text().replace("\r", ""))
    assert [f["fd"] for f in rep["fds"]] == [0, 1, 2], rep


def test_monitor_survives_its_parent_and_ignores_term(monitors, bundle):
    """berthd may die or be restarted: the monitor is not its child and outlives it."""
    bundle.args("sh", "-c", "read x; echo after:$x")
    m = monitors(bundle, stdin=True)
    fake_berthd = textwrap.dedent("""
        import fcntl, os, sys, time
        r, w = os.pipe()
        w = fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 10)
        pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDWR, 0),
            (os.POSIX_SPAWN_DUP2, 0, 1), (os.POSIX_SPAWN_DUP2, 0, 2),
            (os.POSIX_SPAWN_DUP2, w, 3)])
        os.close(w)
        os.waitpid(pid, 0)
        sys.stdout.write(os.read(r, 4096).decode())
        sys.stdout.flush()
        time.sleep(1000)
    """)
    parent = subprocess.Popen([sys.executable, "-c", fake_berthd, *m.argv()],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert "pid" in json.loads(parent.stdout.readline())
        mon_pid = int((m.dir / "monitor.pid").read_text())
        m.pid = mon_pid
        assert int(proc_status_field(mon_pid, "PPid")) != parent.pid
        parent.kill()
        parent.wait()
    finally:
        parent.kill()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        os.kill(mon_pid, sig)
    time.sleep(0.3)
    assert pid_alive(mon_pid)
    c = m.client()
    m.start()
    c.stdin("hi\n")
    c.read_to_eof()
    assert c.text() == "after:hi\n"
    assert m.wait_exit()["exit_code"] == 0


# ---------------------------------------------------------------------------------------------
# berth-init

def test_init_returns_the_child_exit_code(monitors, bundle):
    with_init(bundle, "sh", "-c", "echo pid=$$ ppid=$PPID; exit 7")
    m = monitors(bundle)
    m.run()
    assert m.wait_exit()["exit_code"] == 7
    # The command is init's child, not PID 1.
    assert m.log_text() == "pid=2 ppid=1\n"


def test_init_forwards_sigterm(monitors, bundle):
    with_init(bundle, "sh", "-c", 'trap "echo got-TERM; exit 42" TERM; echo ready; '
                                  "while :; do sleep 0.05; done")
    m = monitors(bundle)
    m.create()
    c = m.client()
    m.start()
    c.read_until("ready")
    m.rt.ok("kill", m.cid, "TERM")
    assert m.wait_exit()["exit_code"] == 42
    assert m.log_text() == "ready\ngot-TERM\n"


def test_init_exit_by_forwarded_signal(monitors, bundle):
    with_init(bundle, "sleep", "100")
    m = monitors(bundle)
    m.run()
    time.sleep(0.3)
    m.rt.ok("kill", m.cid, "USR1")
    assert m.wait_exit()["exit_code"] == 128 + signal.SIGUSR1


def test_init_reaps_orphaned_zombies(monitors, bundle):
    # The subshell exits at once, orphaning its sleep, which then exits as a child of PID 1.
    with_init(bundle, "sh", "-c", "(sleep 0.2 &); sleep 1; "
                                  "for f in /proc/[0-9]*/stat; do cat $f; echo; done")
    m = monitors(bundle)
    m.run()
    assert m.wait_exit()["exit_code"] == 0
    stats = [line for line in m.log_text().splitlines() if line.strip()]
    states = {line.split(") ")[0] + ")": line.split(") ")[1].split()[0] for line in stats}
    assert "1 (docker-init)" in states, stats
    assert "Z" not in states.values(), stats


@pytest.mark.parametrize("cmd,code,msg", [
    ("/no/such/cmd", 127, "berth-init: exec /no/such/cmd: No such file or directory"),
    ("no-such-cmd-in-path", 127, "berth-init: exec no-such-cmd-in-path: No such file"),
    ("/etc/passwd", 126, "berth-init: exec /etc/passwd: Permission denied"),
])
def test_init_exec_failure(monitors, bundle, cmd, code, msg):
    with_init(bundle, cmd)
    m = monitors(bundle)
    m.run()
    assert m.wait_exit()["exit_code"] == code
    assert msg in m.log_text("stderr")


def test_init_tty_foreground_group(monitors, bundle):
    bundle.process["terminal"] = True
    with_init(bundle, HELPER_IN_CTR, "tty")
    m = monitors(bundle, tty=True)
    m.run()
    assert m.wait_exit()["exit_code"] == 0
    rep = parse_json_output(m.log_text().replace("\r", ""))
    # The command (pid 2) leads its own group, which owns the terminal.
    assert rep["foreground_pgrp"] == 2, rep
