"""A berthd for tests: its own data root, exec root and socket; the real docker CLI and
python3-docker pointed at it; and a cleanup that leaves no process, mount or file behind.

Set BERTH_API_SOCKET to run the API tests against another daemon's socket (e.g. Docker's
/var/run/docker.sock) to check that a test is right; then nothing is started or cleaned here.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from helpers import REPO, mounts_under

BUILD = Path(os.environ.get("BERTH_BUILD", REPO / "build"))
BERTHD = os.environ.get("BERTHD", str(BUILD / "src/daemon/berthd"))
MONITOR = os.environ.get("BERTH_MONITOR", str(BUILD / "src/monitor/berth-monitor"))
INIT = os.environ.get("BERTH_INIT", str(BUILD / "src/monitor/berth-init"))
RUNC = os.environ.get("BERTH_RUNC", str(BUILD / "src/runtime/cli/berth-runc"))
CLI = os.environ.get("BERTH_CLI", str(BUILD / "src/cli/berth"))
EXTERNAL = os.environ.get("BERTH_API_SOCKET")
DOCKER = shutil.which("docker") or "/usr/local/bin/docker"


def ping(sock, timeout=0.5):
    """True when something answers HTTP on the unix socket."""
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(str(sock))
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\r\n")
        data = s.recv(4096)
        s.close()
        return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class Daemon:
    def __init__(self, extra_args=()):
        self.external = EXTERNAL is not None
        self.proc = None
        self.extra_args = list(extra_args)
        if self.external:
            self.sock = Path(EXTERNAL)
            self.dir = None
            self.root = None
            self.exec_root = None
        else:
            # the exec root is short: monitor sockets live in it (108-byte sun_path)
            self.exec_root = Path(tempfile.mkdtemp(prefix="bt", dir="/run"))
            self.dir = Path(tempfile.mkdtemp(prefix="berthd-"))
            self.root = self.dir / "root"
            self.sock = self.exec_root / "berth.sock"
            self.log = self.dir / "berthd.log"
        self.env = dict(os.environ)
        self.env["DOCKER_HOST"] = f"unix://{self.sock}"
        self.env["DOCKER_CONFIG"] = str(Path(self.dir or tempfile.mkdtemp()) / "docker-config")
        self.env.pop("DOCKER_CONTEXT", None)
        self._client = None

    # ---- lifecycle ----
    def start(self, timeout=20):
        if self.external:
            return self
        args = [BERTHD, "--data-root", str(self.root), "--exec-root", str(self.exec_root),
                "-H", f"unix://{self.sock}", "--runtime", RUNC, "--monitor", MONITOR,
                "--init-path", INIT, "--log-level", "debug", *self.extra_args]
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(args, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"berthd exited with {self.proc.returncode}:\n"
                                   + self.log.read_text(errors="replace")[-4000:])
            if ping(self.sock):
                return self
            time.sleep(0.02)
        raise RuntimeError("berthd did not answer on its socket:\n"
                           + self.log.read_text(errors="replace")[-4000:])

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def monitors(self):
        """PIDs of the monitors of this daemon's containers."""
        out = []
        if self.exec_root is None:
            return out
        for p in Path("/proc").iterdir():
            if not p.name.isdigit():
                continue
            try:
                cmd = (p / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"berth-monitor") and \
                    str(self.exec_root).encode() in b" ".join(cmd):
                out.append(int(p.name))
        return out

    def cleanup(self):
        if self.external:
            return
        self.stop()
        # containers outlive the daemon by design: stop them here, by their monitors
        runtime_root = self.exec_root / "runtime"
        if runtime_root.exists():
            for d in runtime_root.iterdir():
                subprocess.run([RUNC, "--root", str(runtime_root), "delete", "--force", d.name],
                               capture_output=True)
        deadline = time.monotonic() + 10
        while self.monitors() and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in self.monitors():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for base in (self.dir, self.exec_root):
            for m in sorted((m[0] for m in mounts_under(str(base))), key=len, reverse=True):
                subprocess.run(["umount", "-l", m], capture_output=True)
        report = self.sanitizer_report()
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.exec_root, ignore_errors=True)
        if report:
            raise AssertionError(f"berthd's log holds a sanitizer report:\n{report}")

    SANITIZER_MARKS = ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer")

    def sanitizer_report(self):
        """The part of berthd's log from its first sanitizer report on (UBSan writes to stderr
        in the ASan build whatever UBSAN_OPTIONS says), or None."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return None
        at = min((i for i in (text.find(m) for m in self.SANITIZER_MARKS) if i >= 0),
                 default=-1)
        if at < 0:
            return None
        return text[max(0, text.rfind("\n", 0, at)):][:6000]

    def postmortem(self):
        """When berthd has died under a test: its exit status and the end of its log."""
        if self.external or self.proc is None or self.proc.poll() is None:
            return ""
        return (f"\nberthd exited with {self.proc.returncode}; the end of its log:\n"
                + self.log.read_text(errors="replace")[-4000:])

    # ---- clients ----
    def docker(self, *args, input=None, check=True, timeout=60):
        p = subprocess.run([DOCKER, *map(str, args)], input=input, capture_output=True,
                           text=isinstance(input, str) or input is None, env=self.env,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"docker {' '.join(map(str, args))} failed "
                                 f"({p.returncode}):\n{p.stdout}\n{p.stderr}"
                                 + self.postmortem())
        return p

    def berth(self, *args, input=None, check=True, timeout=60):
        """The berth CLI talking to this daemon (--root: its data root, for image mount)."""
        p = subprocess.run([CLI, "-H", f"unix://{self.sock}", "--root", str(self.root),
                            *map(str, args)], input=input, capture_output=True, env=self.env,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"berth {' '.join(map(str, args))} failed: {p.stderr}")
        return p

    @property
    def client(self):
        if self._client is None:
            import docker
            self._client = docker.APIClient(base_url=f"unix://{self.sock}", version="auto",
                                            timeout=60)
        return self._client

    def inspect(self, what):
        return json.loads(self.docker("inspect", what).stdout)[0]

    def load_image(self, image, tag):
        """Puts an ocimage.Image into the store under tag (through the running berthd)."""
        path = self.dir / f"img-{abs(hash(tag))}.tar"
        image.write_docker_archive(path, repo_tags=(tag,))
        if self.external:
            self.docker("load", "-i", path)
        else:
            self.berth("load", "-i", path)
        path.unlink()


def unique_name(prefix="bt-"):
    """A container or image name no other test uses."""
    import uuid
    return prefix + uuid.uuid4().hex[:10]


def poll_until(pred, timeout=10.0, step=0.05):
    """pred()'s first truthy value within timeout, else its last value (for the assert)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
