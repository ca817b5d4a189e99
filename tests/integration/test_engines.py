"""Real engines driving the runtime unchanged: containerd 1.6 through its runc shim (with
BinaryName pointed at the runtime under test, i.e. `ctr --runc-binary`) and podman with
`--runtime`. Each engine runs from its own temporary root, socket and state, started here and
stopped by PID, so nothing on the host is touched; podman containers get --network none, so no
bridge or firewall rule is made on the host."""

import json
import os
import pty
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from helpers import RUNTIME, mounts_under, new_id, wait_for
from images import write_oci_archive

IMAGE = "localhost/berth-test:1"


def _need(tool):
    path = shutil.which(tool)
    if not path:
        pytest.skip(f"{tool} is not installed (apt-get install {tool})")
    return path


@pytest.fixture(scope="module")
def image_archive(work_dir, rootfs_template):
    return write_oci_archive(rootfs_template, work_dir / "berth-test-image.tar", IMAGE)


# ---------------------------------------------------------------------------------------------
# containerd

class Containerd:
    def __init__(self, base):
        self.base = Path(base)
        self.sock = self.base / "containerd.sock"
        self.runc_root = self.base / "runc-root"
        self.proc = None

    def start(self):
        self.base.mkdir(parents=True, exist_ok=True)
        cfg = self.base / "config.toml"
        cfg.write_text(f"""version = 2
root = "{self.base}/root"
state = "{self.base}/state"
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.base}/containerd.sock.ttrpc"
[debug]
  address = "{self.base}/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_cgroup = true
[plugins."io.containerd.internal.v1.opt"]
  path = "{self.base}/opt"
""")
        self.log = open(self.base / "containerd.log", "w")
        self.proc = subprocess.Popen(["containerd", "--config", str(cfg)], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: self.sock.exists() and self.ctr("version", check=False).returncode == 0,
                 timeout=20, what="containerd to answer")

    def ctr(self, *args, check=True, timeout=60, input=None):
        r = subprocess.run(["ctr", "-a", str(self.sock), "-n", "berth-test", *args],
                           capture_output=True, text=True, timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def containerd(work_dir, image_archive):
    _need("containerd")
    _need("ctr")
    c = Containerd(work_dir / "containerd")
    c.start()
    try:
        c.ctr("images", "import", str(image_archive))
        yield c
    finally:
        # Containers left by a failed test: kill their tasks, then stop containerd. Its shims
        # exit once their tasks are gone.
        for cid in c.ctr("containers", "ls", "-q", check=False).stdout.split():
            c.ctr("tasks", "kill", "-s", "SIGKILL", cid, check=False)
            c.ctr("tasks", "delete", "-f", cid, check=False)
            c.ctr("containers", "delete", cid, check=False)
        c.stop()
        for m in reversed(mounts_under(c.base)):
            subprocess.run(["umount", "-l", m], check=False)


def ctr_run_args(c, *extra):
    return ["run", "--runc-binary", RUNTIME, "--runc-root", str(c.runc_root), *extra]


def test_containerd_run_foreground(containerd):
    cid = new_id("ctd")
    r = containerd.ctr(*ctr_run_args(containerd, "--rm"), IMAGE, cid,
                       "/bin/berth-testhelper", "id")
    rep = json.loads(r.stdout)
    assert rep["uid"] == 0 and rep["gid"] == 0
    # ctr run --rm deleted the container: nothing of it is left in the runtime's root.
    assert not (containerd.runc_root / "berth-test" / cid).exists()


def test_containerd_exit_code(containerd):
    cid = new_id("ctd")
    r = containerd.ctr(*ctr_run_args(containerd, "--rm"), IMAGE, cid, "sh", "-c", "exit 7",
                       check=False)
    assert r.returncode == 7, r


def test_containerd_exec_pause_kill_delete(containerd):
    cid = new_id("ctd")
    containerd.ctr(*ctr_run_args(containerd, "-d"), IMAGE, cid, "sleep", "300")
    try:
        tasks = containerd.ctr("tasks", "ls").stdout
        assert cid in tasks and "RUNNING" in tasks
        r = containerd.ctr("tasks", "exec", "--exec-id", "e1", cid, "sh", "-c",
                           "echo exec-ok; cat /proc/1/cmdline | tr '\\0' ' '")
        assert "exec-ok" in r.stdout and "sleep 300" in r.stdout
        r = containerd.ctr("tasks", "exec", "--exec-id", "e2", cid, "sh", "-c", "exit 3",
                           check=False)
        assert r.returncode == 3, r
        ps = containerd.ctr("tasks", "ps", cid).stdout
        assert len(ps.strip().splitlines()) >= 2
        containerd.ctr("tasks", "pause", cid)
        assert "PAUSED" in containerd.ctr("tasks", "ls").stdout
        containerd.ctr("tasks", "resume", cid)
        assert "RUNNING" in containerd.ctr("tasks", "ls").stdout
        containerd.ctr("tasks", "kill", "-s", "SIGKILL", cid)
        wait_for(lambda: "STOPPED" in containerd.ctr("tasks", "ls").stdout, timeout=15,
                 what="the task to stop")
        containerd.ctr("tasks", "delete", cid)
    finally:
        containerd.ctr("tasks", "delete", "-f", cid, check=False)
        containerd.ctr("containers", "delete", cid, check=False)
    assert not (containerd.runc_root / "berth-test" / cid).exists()


def test_containerd_reports_runtime_errors(containerd):
    """A failing create must surface the runtime's own message through containerd (it reads
    the JSON log written with --log-format json)."""
    cid = new_id("ctd")
    r = containerd.ctr(*ctr_run_args(containerd, "--rm"), IMAGE, cid, "/no/such/program",
                       check=False)
    try:
        assert r.returncode != 0
        assert "/no/such/program" in r.stderr, r.stderr
    finally:
        containerd.ctr("containers", "delete", cid, check=False)


# ---------------------------------------------------------------------------------------------
# podman

@pytest.fixture(scope="module")
def podman(work_dir, image_archive):
    _need("podman")
    base = work_dir / "podman"
    base.mkdir(exist_ok=True)
    conf = base / "containers.conf"
    # This host's hard limits (nofile 20000, no CAP_SYS_RESOURCE) are below podman's default
    # ulimits; cgroupfs because no systemd runs here.
    conf.write_text('[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n'
                    '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
    env = dict(os.environ, CONTAINERS_CONF=str(conf))
    argv = ["podman", "--root", str(base / "root"), "--runroot", str(base / "runroot"),
            "--storage-driver", "vfs", "--runtime", RUNTIME]

    def run(*args, check=True, timeout=120):
        r = subprocess.run(argv + list(args), capture_output=True, text=True, env=env,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    run.argv = argv
    run.env = env
    run("load", "-i", str(image_archive))
    try:
        yield run
    finally:
        run("rm", "-a", "-f", "-t", "0", check=False)
        run("system", "reset", "-f", check=False, timeout=60)
        for m in reversed(mounts_under(base)):
            subprocess.run(["umount", "-l", m], check=False)


def test_podman_run(podman):
    r = podman("run", "--rm", "--network", "none", IMAGE, "/bin/berth-testhelper", "id")
    rep = json.loads(r.stdout)
    assert rep["uid"] == 0
    r = podman("run", "--rm", "--network", "none", IMAGE, "sh", "-c", "exit 5", check=False)
    assert r.returncode == 5


def test_podman_detached_exec_stop(podman):
    name = new_id("pm")
    podman("run", "-d", "--network", "none", "--name", name, IMAGE, "sleep", "300")
    try:
        r = podman("exec", name, "sh", "-c", "echo exec-ok; id -u")
        assert r.stdout.split() == ["exec-ok", "0"]
        r = podman("exec", "--user", "1000", name, "id", "-u")
        assert r.stdout.strip() == "1000"
        podman("pause", name)
        assert podman("inspect", "-f", "{{.State.Status}}", name).stdout.strip() == "paused"
        podman("unpause", name)
        podman("stop", "-t", "1", name)
        assert podman("inspect", "-f", "{{.State.Status}}", name).stdout.strip() == "exited"
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)


def _run_with_pty(argv, env, send, expect, timeout=30):
    """Run argv on a new pseudo-terminal, type `send`, return all output once `expect` shows
    or the process ends."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, env)
    out = b""
    deadline = time.monotonic() + timeout
    sent = False
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            # Type once the shell prompts (or after 3 s, should the prompt differ).
            if not sent and (b"# " in out or time.monotonic() > deadline - timeout + 3):
                os.write(fd, send.encode())
                sent = True
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    return out.decode(errors="replace")


def test_podman_interactive_terminal(podman):
    """`podman run -it`: conmon passes --console-socket; the runtime creates the pty inside
    the container and hands its master over."""
    out = _run_with_pty(podman.argv + ["run", "--rm", "-it", "--network", "none", IMAGE, "sh"],
                        podman.env,
                        "tty; echo marker-$((6*7)); exit\n", "marker-42")
    assert "marker-42" in out, out
    assert "/dev/pts/0" in out, out


def test_podman_exec_terminal(podman):
    name = new_id("pm")
    podman("run", "-d", "--network", "none", "--name", name, IMAGE, "sleep", "300")
    try:
        out = _run_with_pty(podman.argv + ["exec", "-it", name, "sh"], podman.env,
                            "tty; echo marker-$((6*7)); exit\n", "marker-42")
        assert "marker-42" in out, out
        assert "/dev/pts/" in out, out
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)
