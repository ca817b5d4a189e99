"""Shared machinery for the black-box OCI runtime tests.

Everything here drives the runtime binary under test ($BERTH_RUNC: berth-runc, runc or crun) as a
subprocess and inspects the host afterwards (state dirs, cgroups, mounts, processes). Tests import
from here; fixtures live in conftest.py.
"""

import hashlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[2]
RUNTIME = os.environ.get("BERTH_RUNC") or str(REPO / "build/src/runtime/cli/berth-runc")
RUNTIME_NAME = os.path.basename(os.path.realpath(RUNTIME)) if os.path.exists(RUNTIME) else ""
HELPER_IN_CTR = "/bin/berth-testhelper"
DEFAULT_TIMEOUT = 30

# Applets linked into the busybox rootfs (busybox-static has them all; these are what tests use).
BUSYBOX_APPLETS = """sh ash ls cat sleep echo true false id mount umount mkdir rmdir rm touch stat
    ps kill env pwd hostname readlink ln grep head tail wc test printf chmod chown sync dd uname
    whoami cp mv find sed awk seq yes nproc tty stty mknod sysctl ip dmesg nc""".split()


class Result(NamedTuple):
    rc: int
    out: str
    err: str

    def __str__(self):
        return f"rc={self.rc}\n--- stdout ---\n{self.out}\n--- stderr ---\n{self.err}"


def sh(*args, check=True, timeout=DEFAULT_TIMEOUT, **kw):
    """Runs a host command (not the runtime); returns Result."""
    p = subprocess.run([str(a) for a in args], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, errors="replace", timeout=timeout, **kw)
    r = Result(p.returncode, p.stdout, p.stderr)
    if check and r.rc != 0:
        raise AssertionError(f"{args} failed: {r}")
    return r


def parse_json_output(text):
    """The last line of `text` that is a JSON object or array (tests' helper prints one)."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{") or line.startswith("["):
            return json.loads(line)
    raise AssertionError(f"no JSON object in output:\n{text}")


def new_id(prefix="bt"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------------------------------------
# config.json

def default_spec(args=None, rootless=False):
    """The structure `runc spec` (1.1) writes, generated here, with terminal off so tests can
    capture output. `rootless` mirrors `runc spec --rootless`."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    spec = {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args) if args else ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": "/",
            "capabilities": {k: list(caps) for k in
                             ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }
    if rootless:
        spec["mounts"][2]["options"].remove("gid=5")
        spec["mounts"][5] = {"destination": "/sys", "type": "none", "source": "/sys",
                             "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}
        spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": os.getuid(), "size": 1}]
        spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": os.getgid(), "size": 1}]
        spec["linux"]["namespaces"] = [{"type": t} for t in
                                       ("pid", "ipc", "uts", "mount", "user")]
        del spec["linux"]["resources"]
    return spec


# ---------------------------------------------------------------------------------------------
# rootfs and bundles

def build_rootfs(dest, helper):
    """A minimal rootfs: busybox-static with applet links, the test helper, /etc files."""
    dest = Path(dest)
    for d in ("bin", "dev", "proc", "sys", "etc", "root", "tmp", "mnt", "run", "var", "home"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    shutil.copy2("/bin/busybox", dest / "bin/busybox")
    os.chmod(dest / "bin/busybox", 0o755)
    for applet in BUSYBOX_APPLETS:
        os.symlink("busybox", dest / "bin" / applet)
    shutil.copy2(helper, dest / "bin/berth-testhelper")
    os.chmod(dest / "bin/berth-testhelper", 0o755)
    (dest / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        "user:x:1000:1000:user:/home:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (dest / "etc/group").write_text(
        "root:x:0:\ntty:x:5:\nusers:x:100:user\nuser:x:1000:\nnogroup:x:65534:\n")
    (dest / "etc/hostname").write_text("rootfs\n")


class Bundle:
    """A bundle directory: rootfs/ plus a config dict written to config.json whenever the bundle
    is used as a path (os.fspath), so tests edit `config` freely before running."""

    def __init__(self, path, rootfs_template, args=None, rootless=False):
        self.path = Path(path)
        self.path.mkdir(parents=True)
        self.rootfs = self.path / "rootfs"
        shutil.copytree(rootfs_template, self.rootfs, symlinks=True)
        self.config = default_spec(args or [HELPER_IN_CTR, "pid"], rootless=rootless)
        self.token = None

    def __fspath__(self):
        self.write()
        return str(self.path)

    def __str__(self):
        return self.__fspath__()

    def write(self):
        (self.path / "config.json").write_text(json.dumps(self.config, indent=2))

    @property
    def process(self):
        return self.config["process"]

    @property
    def linux(self):
        return self.config.setdefault("linux", {})

    def args(self, *args):
        self.process["args"] = [str(a) for a in args]
        return self

    def helper(self, *args):
        return self.args(HELPER_IN_CTR, *args)

    def env(self, *kv):
        self.process["env"].extend(kv)
        return self

    def writable(self):
        self.config["root"]["readonly"] = False
        return self

    def add_mount(self, destination, type_, source, options=None):
        m = {"destination": destination, "type": type_, "source": str(source)}
        if options is not None:
            m["options"] = list(options)
        self.config["mounts"].append(m)
        return m

    def namespace(self, type_, path=None):
        nss = self.linux.setdefault("namespaces", [])
        nss[:] = [n for n in nss if n["type"] != type_]
        n = {"type": type_}
        if path:
            n["path"] = str(path)
        nss.append(n)
        return self

    def drop_namespace(self, type_):
        self.linux["namespaces"] = [n for n in self.linux.get("namespaces", [])
                                    if n["type"] != type_]
        return self

    def resources(self):
        return self.linux.setdefault("resources", {})

    def all_caps(self, caps):
        self.process["capabilities"] = {k: list(caps) for k in
                                        ("bounding", "effective", "permitted", "inheritable",
                                         "ambient")}
        return self


# ---------------------------------------------------------------------------------------------
# the runtime under test

class Runtime:
    """Runs the runtime binary with a private --root, so a test sees and cleans only its own
    containers."""

    def __init__(self, binary, root, log=None, log_format=None):
        self.binary = str(binary)
        self.root = Path(root)
        self.log = log
        self.log_format = log_format

    def argv(self, *args, global_args=()):
        g = ["--root", str(self.root)]
        if self.log:
            g += ["--log", str(self.log)]
        if self.log_format:
            g += ["--log-format", self.log_format]
        return [self.binary, *g, *global_args, *[os.fspath(a) if isinstance(a, os.PathLike)
                                                 else str(a) for a in args]]

    def __call__(self, *args, timeout=DEFAULT_TIMEOUT, stdin=subprocess.DEVNULL, input=None,
                 stdout=None, stderr=None, global_args=(), **kw):
        """Runs the runtime; returns Result. Output is captured through files, not pipes: after
        `create` or `run -d` the container holds the runtime's stdio, and a pipe would never
        reach EOF. Pass stdout/stderr (files) to give the container its own."""
        argv = self.argv(*args, global_args=global_args)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            if input is not None:
                stdin = tempfile.TemporaryFile()
                stdin.write(input.encode())
                stdin.seek(0)
            try:
                p = subprocess.run(argv, stdin=stdin, stdout=stdout or out, stderr=stderr or err,
                                   timeout=timeout, **kw)
            except subprocess.TimeoutExpired:
                out.seek(0)
                err.seek(0)
                raise AssertionError(f"{argv} timed out after {timeout}s; output so far:\n"
                                     f"{out.read().decode(errors='replace')}\n"
                                     f"{err.read().decode(errors='replace')}") from None
            finally:
                if input is not None:
                    stdin.close()
            out.seek(0)
            err.seek(0)
            return Result(p.returncode, out.read().decode(errors="replace"),
                          err.read().decode(errors="replace"))

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.rc == 0, f"{self.binary} {' '.join(map(str, args))} failed: {r}"
        return r

    def fails(self, *args, **kw):
        r = self(*args, **kw)
        assert r.rc != 0, f"{self.binary} {' '.join(map(str, args))} unexpectedly succeeded: {r}"
        assert r.err.strip(), f"failure without a message on stderr: {r}"
        return r

    def state(self, cid):
        return json.loads(self.ok("state", cid).out)

    def status(self, cid):
        r = self("state", cid)
        return json.loads(r.out)["status"] if r.rc == 0 else None

    def wait_status(self, cid, want, timeout=10):
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.status(cid)
            if st == want:
                return
            time.sleep(0.05)
        raise AssertionError(f"container {cid} status {st!r}, wanted {want!r}")

    def run_helper(self, bundle, *helper_args, cid=None, expect_rc=0, **kw):
        """Runs the test helper to completion in a new container and returns its report."""
        if helper_args:
            bundle.helper(*helper_args)
        cid = cid or new_id()
        r = self("run", "--bundle", bundle, cid, **kw)
        assert r.rc == expect_rc, f"run {cid}: {r}"
        return parse_json_output(r.out)

    def known_ids(self):
        ids = set()
        if self.root.is_dir():
            ids.update(p.name for p in self.root.iterdir()
                       if p.is_dir() and not p.name.startswith("."))
        r = self("list", "-q", timeout=10)
        if r.rc == 0:
            ids.update(r.out.split())
        return ids

    def force_cleanup(self):
        """Kills and deletes whatever this root still holds; returns the ids it found."""
        ids = self.known_ids()
        for cid in ids:
            self("kill", cid, "KILL", timeout=10)
            self("delete", "--force", cid, timeout=10)
        return ids


def runtime_sha256():
    with open(RUNTIME, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------------------------------------
# host inspection

def host_mounts():
    """(target, fstype, source) for every mount in this process's mount namespace."""
    res = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            target = fields[4].encode().decode("unicode_escape")
            res.append((target, fields[sep + 1], fields[sep + 2]))
    return res


def mounts_under(path):
    path = str(path).rstrip("/")
    return [m for m in host_mounts() if m[0] == path or m[0].startswith(path + "/")]


def cgroup_dirs_named(fragment, top="/sys/fs/cgroup"):
    """Directories under every cgroup hierarchy whose name contains `fragment`."""
    hits = []
    for dirpath, dirnames, _ in os.walk(top):
        for d in dirnames:
            if fragment in d:
                hits.append(os.path.join(dirpath, d))
    return hits


def cgroup_dir_count(top="/sys/fs/cgroup"):
    return sum(len(dirnames) for _, dirnames, _ in os.walk(top))


def pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def processes_of(cid=None, token=None, under=None):
    """Host pids that belong to a container: in a cgroup path naming `cid`, carrying `token` in
    their environment, or with their root or cwd inside `under`."""
    found = []
    me = os.getpid()
    for pid in pids():
        if pid == me:
            continue
        hit = False
        if cid:
            cg = _read(f"/proc/{pid}/cgroup") or ""
            hit = any(part == cid or part.endswith("-" + cid) or part.startswith(cid + ".")
                      for line in cg.splitlines() for part in line.split(":", 2)[-1].split("/"))
        if not hit and token:
            env = _read(f"/proc/{pid}/environ", "rb") or b""
            hit = token.encode() in env
        if not hit and under:
            for link in ("root", "cwd"):
                try:
                    t = os.readlink(f"/proc/{pid}/{link}")
                except OSError:
                    continue
                if t == str(under) or t.startswith(str(under) + "/"):
                    hit = True
        if hit:
            found.append(pid)
    return found


def proc_status_field(pid, key):
    for line in (_read(f"/proc/{pid}/status") or "").splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return None


def pid_alive(pid):
    st = proc_status_field(pid, "State")
    return st is not None and not st.startswith("Z")


def leftovers(rt, cid, bundle=None, token=None):
    """Everything a container may leave behind on the host; an empty dict means nothing."""
    left = {}
    state_entries = [p.name for p in rt.root.iterdir()] if rt.root.is_dir() else []
    state_entries = [n for n in state_entries if cid in n]
    if state_entries:
        left["state"] = state_entries
    if rt("state", cid, timeout=10).rc == 0:
        left["state_cmd"] = "state still answers"
    cg = cgroup_dirs_named(cid)
    if cg:
        left["cgroups"] = cg
    if bundle is not None:
        m = mounts_under(bundle.path)
        if m:
            left["mounts"] = m
    procs = processes_of(cid=cid, token=token, under=bundle.rootfs if bundle else None)
    if procs:
        left["processes"] = {p: (_read(f"/proc/{p}/cmdline", "rb") or b"").replace(b"\0", b" ")
                             for p in procs}
    return left


def assert_no_leftovers(rt, cid, bundle=None, token=None):
    left = leftovers(rt, cid, bundle, token)
    assert not left, f"container {cid} left things behind: {left}"


def wait_for(pred, timeout=10, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_file_contains(path, text, timeout=10):
    def check():
        try:
            return text in Path(path).read_text(errors="replace")
        except FileNotFoundError:
            return False
    wait_for(check, timeout, what=f"{text!r} in {path}")


# ---------------------------------------------------------------------------------------------
# cgroup values of a host pid (v1, v2 or hybrid)

V2_NAMES = {"memory.limit_in_bytes": "memory.max", "pids.max": "pids.max",
            "cpu.shares": "cpu.weight"}


def cgroup_mounts():
    """({v1 controller: mount point}, cgroup2 mount point or None) from this mount namespace."""
    v1, v2 = {}, None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, target = fields[sep + 1], fields[4]
            if fstype == "cgroup2" and v2 is None:
                v2 = target
            elif fstype == "cgroup":
                for opt in fields[sep + 3].split(","):
                    v1.setdefault(opt, target)
    return v1, v2


def cgroup_file_of(pid, controller, v1_file):
    """The host path of `v1_file` in `pid`'s cgroup for `controller`: in the v1 hierarchy when
    the controller is mounted there (v1 or hybrid), else the v2 equivalent file."""
    v1, v2 = cgroup_mounts()
    paths = {}
    for line in (_read(f"/proc/{pid}/cgroup") or "").splitlines():
        hid, ctrls, path = line.split(":", 2)
        if hid == "0":
            paths[""] = path
        for c in ctrls.split(","):
            if c:
                paths[c] = path
    if controller in v1 and controller in paths:
        return os.path.join(v1[controller], paths[controller].lstrip("/"), v1_file)
    if v2 and "" in paths:
        return os.path.join(v2, paths[""].lstrip("/"), V2_NAMES.get(v1_file, v1_file))
    return None


def read_cgroup_value(pid, controller, v1_file):
    path = cgroup_file_of(pid, controller, v1_file)
    assert path, f"no {controller} cgroup for pid {pid}"
    value = _read(path)
    assert value is not None, f"cannot read {path}"
    return value.strip()


# ---------------------------------------------------------------------------------------------
# console socket

class ConsoleSocket:
    """An AF_UNIX listener that receives the pty master the runtime sends with SCM_RIGHTS."""

    def __init__(self):
        # sun_path is limited to 108 bytes and test directories can be longer, hence /tmp.
        self.dir = tempfile.mkdtemp(prefix="bcs-", dir="/tmp")
        self.path = os.path.join(self.dir, "console.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.sock.settimeout(15)
        self.master = None

    def receive(self):
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(15)
            msg, fds, _, _ = socket.recv_fds(conn, 4096, 4)
        assert len(fds) == 1, f"expected one fd from the runtime, got {fds}"
        self.master = fds[0]
        return self.master

    def read_until(self, needle, timeout=10):
        """Reads from the pty master until `needle` appears (or EOF); returns all read text."""
        buf = b""
        deadline = time.monotonic() + timeout
        while needle.encode() not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{needle!r} not seen on the console; got {buf!r}")
            r, _, _ = select.select([self.master], [], [], left)
            if not r:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: the other side closed
                chunk = b""
            if not chunk:
                break
            buf += chunk
        return buf.decode(errors="replace")

    def read_all(self, timeout=10):
        """Reads until the container side closes the pty (EIO) or `timeout` passes."""
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.master], [], [], 0.2)
            if not r:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
        return buf.decode(errors="replace")

    def write(self, text):
        os.write(self.master, text.encode())

    def close(self):
        if self.master is not None:
            os.close(self.master)
            self.master = None
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def kill_pids(found):
    for p in found:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
