#!/usr/bin/python3
"""Side-by-side benchmark of container engines: berthd, Docker (Debian's docker.io: dockerd and
its own containerd, with their own data root and socket) and podman, in one run.

Per engine: `run --rm busybox true`, `create` + `start`, `exec true` into a running container,
`ps` with 100 running containers, `/_ping` latency on the API socket, the daemon's idle RSS, and
the memory each idle container costs with many running. Clients: the docker 28 CLI for berthd and
dockerd, podman's own CLI for podman, and the `berth` CLI for berthd as well when it can run
containers. Every loop is bounded in count; every engine runs with `--network none` so that
networking setup (not yet in berth) is not measured. Prints medians and ratios against berth.

usage: sudo /usr/bin/python3 bench/daemon.py [--runs N] [--ps N] [--idle N] [--only berth,docker,podman]
Needs: apt-get install docker.io podman (dockerd is started here, never the system's service).
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests/integration"))
import ocimage  # noqa: E402  (the tests' offline busybox image)

BUILD = os.environ.get("BERTH_BUILD", os.path.join(REPO, "build"))
DOCKER_CLI = shutil.which("docker") or "/usr/local/bin/docker"
IMAGE = "busybox:latest"


def timed(argv, env=None, check=True):
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({p.returncode}): "
                           f"{p.stderr.decode(errors='replace').strip()}")
    return dt, p.stdout.decode(errors="replace")


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children_named(name):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/comm") as f:
                    if f.read().strip() == name:
                        out.append(int(p))
            except OSError:
                pass
    return out


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def wait_socket(path, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"daemon exited ({proc.returncode}) before {path} answered")
        try:
            if ping_once(path) is not None:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{path} did not answer in {timeout}s")


def ping_once(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(path)
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
        data = s.recv(4096)
        return data if data.startswith(b"HTTP/1.1 200") else None


def ping_latency(path, n):
    """Median of n `/_ping` round trips on one kept-alive connection, in seconds."""
    lat = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        req = b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n"
        for _ in range(n):
            t0 = time.perf_counter()
            s.sendall(req)
            buf = b""
            while not (b"\r\n\r\n" in buf and buf.endswith(b"OK")):
                chunk = s.recv(4096)
                if not chunk:
                    raise RuntimeError("ping: connection closed")
                buf += chunk
            lat.append(time.perf_counter() - t0)
    return statistics.median(lat)


class Engine:
    """A daemon (or none, for podman) and the client command line that drives it."""
    name = ""
    sock = None
    pids = ()

    def cli(self, *args):
        raise NotImplementedError

    def daemon_rss(self):
        return sum(rss_kib(p) for p in self.pids) if self.pids else None

    def stop(self):
        pass


class Berth(Engine):
    name = "berth"

    def setup(self, tmp):
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix="bench-berthd-", dir=tmp)
        self.exec_root = tempfile.mkdtemp(prefix="bb", dir="/run")
        self.sock = os.path.join(self.exec_root, "berth.sock")
        self.log = open(os.path.join(self.dir, "berthd.log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "src/daemon/berthd"), "--data-root", os.path.join(self.dir, "root"),
             "--exec-root", self.exec_root, "-H", f"unix://{self.sock}"],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        wait_socket(self.sock, self.proc)
        self.pids = (self.proc.pid,)
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}")

    def cli(self, *args):
        return [DOCKER_CLI, *args]

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        # containers outlive berthd by design; the bench removed its own before this
        for m in reversed(open("/proc/self/mounts").read().split("\n")):
            f = m.split()
            if len(f) > 1 and (f[1].startswith(self.dir) or f[1].startswith(self.exec_root)):
                subprocess.run(["umount", "-l", f[1]])
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.exec_root, ignore_errors=True)


class BerthCli(Berth):
    """berthd driven by berth's own CLI (C) instead of docker's (Go)."""
    name = "berth-cli"

    def setup(self, tmp):
        super().setup(tmp)
        self.env = dict(os.environ, BERTH_HOST=f"unix://{self.sock}")

    def cli(self, *args):
        return [os.path.join(BUILD, "src/cli/berth"), "--root", os.path.join(self.dir, "root"),
                *args]

    @staticmethod
    def usable():
        p = subprocess.run([os.path.join(BUILD, "src/cli/berth"), "run", "--help"],
                           capture_output=True)
        return p.returncode == 0


class Docker(Engine):
    name = "docker"

    def setup(self, tmp):
        self.proc = None
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            raise RuntimeError("dockerd not found: apt-get install docker.io")
        self.dir = tempfile.mkdtemp(prefix="bench-dockerd-", dir=tmp)
        self.exec_root = tempfile.mkdtemp(prefix="bd", dir="/run")
        self.sock = os.path.join(self.exec_root, "docker.sock")
        self.log = open(os.path.join(self.dir, "dockerd.log"), "w")
        self.proc = subprocess.Popen(
            [dockerd, "--data-root", os.path.join(self.dir, "root"), "--exec-root",
             self.exec_root, "-H", f"unix://{self.sock}", "--pidfile",
             os.path.join(self.exec_root, "dockerd.pid"), "--bridge", "none", "--iptables=false",
             "--ip-masq=false", "--storage-driver", "overlay2"],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, start_new_session=True)
        wait_socket(self.sock, self.proc)
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}")

    def cli(self, *args):
        return [DOCKER_CLI, *args]

    def daemon_rss(self):
        # dockerd and the containerd it started for itself
        own = [self.proc.pid] + [p for p in children_named("containerd")
                                 if _ppid(p) == self.proc.pid]
        return sum(rss_kib(p) for p in own)

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for m in reversed(open("/proc/self/mounts").read().split("\n")):
            f = m.split()
            if len(f) > 1 and (f[1].startswith(self.dir) or f[1].startswith(self.exec_root)):
                subprocess.run(["umount", "-l", f[1]])
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.exec_root, ignore_errors=True)


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def mount_v1_hugetlb():
    """crun 1.8.1 (podman's runtime here) refuses the v1/v2 hybrid layout unless hugetlb has a v1
    hierarchy. hugetlb can only move to v1 while no v2 cgroup uses it: berth's containers are
    gone by now, so its unified cgroups let go of it first. Returns the mount point to undo, or
    None."""
    path = "/sys/fs/cgroup/hugetlb"
    if os.path.ismount(path) or not os.path.ismount("/sys/fs/cgroup/unified"):
        return None
    for d in ("/sys/fs/cgroup/unified/berth", "/sys/fs/cgroup/unified"):
        try:
            with open(os.path.join(d, "cgroup.subtree_control"), "w") as f:
                f.write("-hugetlb")
        except OSError:
            pass
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"# podman: cannot mount a v1 hugetlb hierarchy for crun: {r.stderr.strip()}",
              file=sys.stderr)
        return None
    return path


class Podman(Engine):
    name = "podman"

    def setup(self, tmp):
        self.hugetlb = mount_v1_hugetlb()
        # podman refuses a runroot longer than 50 characters
        self.dir = tempfile.mkdtemp(prefix="bp", dir="/run")
        conf = os.path.join(self.dir, "containers.conf")
        # podman's default nofile (1048576) is above this VM's hard limit, and without
        # CAP_SYS_RESOURCE crun cannot set its nproc default either
        with open(conf, "w") as f:
            f.write('[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n')
        self.env = dict(os.environ, CONTAINERS_CONF=conf)
        # its own tmpdir too: the default, /run/libpod, is shared with every other podman
        self.base = ["podman", "--root", os.path.join(self.dir, "root"), "--runroot",
                     os.path.join(self.dir, "run"), "--tmpdir", os.path.join(self.dir, "tmp"),
                     "--storage-driver", "overlay"]

    def cli(self, *args):
        return [*self.base, *args]

    def stop(self):
        subprocess.run(self.cli("rm", "-af"), env=self.env, capture_output=True)
        subprocess.run(self.cli("rmi", "-af"), env=self.env, capture_output=True)
        if self.hugetlb:
            subprocess.run(["umount", self.hugetlb])
            try:
                os.rmdir(self.hugetlb)
            except OSError:
                pass
        for m in reversed(open("/proc/self/mounts").read().split("\n")):
            f = m.split()
            if len(f) > 1 and f[1].startswith(self.dir):
                subprocess.run(["umount", "-l", f[1]])
        shutil.rmtree(self.dir, ignore_errors=True)


def bench(e, runs, ps_n, idle, pings):
    env = e.env
    res = {}
    run = lambda *a: timed(e.cli(*a), env=env)  # noqa: E731
    run("run", "--rm", "--network", "none", IMAGE, "true")  # warm caches
    res["run --rm true"] = statistics.median(
        run("run", "--rm", "--network", "none", IMAGE, "true")[0] for _ in range(runs))

    cs = []
    for _ in range(runs):
        t1, out = run("create", "--network", "none", IMAGE, "sleep", "1000")
        cid = out.strip().split("\n")[-1]
        t2, _ = run("start", cid)
        cs.append(t1 + t2)
        run("rm", "-f", cid)
    res["create+start"] = statistics.median(cs)

    _, out = run("run", "-d", "--network", "none", IMAGE, "sleep", "1000")
    cid = out.strip().split("\n")[-1]
    res["exec true"] = statistics.median(run("exec", cid, "true")[0] for _ in range(runs))
    run("rm", "-f", cid)

    ids = []
    try:
        for i in range(ps_n):
            ids.append(run("run", "-d", "--network", "none", IMAGE, "sleep",
                           "1000")[1].strip().split("\n")[-1])
        res[f"ps ({ps_n} running)"] = statistics.median(run("ps")[0] for _ in range(runs))
    finally:
        for i in range(0, len(ids), 50):
            timed(e.cli("rm", "-f", *ids[i:i + 50]), env=env, check=False)

    if e.sock:
        res["/_ping ms"] = ping_latency(e.sock, pings) * 1000
    time.sleep(2)
    rss = e.daemon_rss()
    if rss is not None:
        res["daemon idle RSS kB"] = rss

    if idle:
        ids = []
        before = mem_available_kib()
        try:
            deadline = time.monotonic() + 1200
            for i in range(idle):
                if time.monotonic() > deadline:
                    print(f"# {e.name}: only {i} idle containers in 20 minutes", file=sys.stderr)
                    break
                ids.append(run("run", "-d", "--network", "none", IMAGE, "sleep",
                               "100000")[1].strip().split("\n")[-1])
            time.sleep(2)
            after = mem_available_kib()
            res[f"kB per idle container ({len(ids)})"] = (before - after) / max(1, len(ids))
        finally:
            for i in range(0, len(ids), 50):
                timed(e.cli("rm", "-f", *ids[i:i + 50]), env=env, check=False)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--ps", type=int, default=100)
    ap.add_argument("--idle", type=int, default=500)
    ap.add_argument("--pings", type=int, default=2000)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    only = [x for x in a.only.split(",") if x]
    tmp = tempfile.mkdtemp(prefix="bench-daemon-", dir="/var/tmp")
    archive = os.path.join(tmp, "busybox.tar")
    ocimage.busybox_image().write_docker_archive(archive, repo_tags=(IMAGE,))
    kinds = [Berth, Docker, Podman]
    if BerthCli.usable():
        kinds.insert(1, BerthCli)
    results = {}
    try:
        for kind in kinds:
            if only and kind.name not in only:
                continue
            print(f"# {kind.name} ...", file=sys.stderr)
            e = kind()
            try:
                e.setup(tmp)
                timed(e.cli("load", "-i", archive), env=e.env)
                results[kind.name] = bench(e, a.runs, a.ps, a.idle, a.pings)
            except (RuntimeError, OSError) as ex:
                print(f"# {kind.name}: failed: {ex}", file=sys.stderr)
            finally:
                e.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    names = list(results)
    keys = []
    for r in results.values():
        keys += [k for k in r if k not in keys]
    ref = results.get("berth", {})
    print(f"{'metric (median; s unless named)':<34}" + "".join(f"{n:>12}" for n in names) +
          "".join(f" {'berth/' + n:>16}" for n in names if n != "berth"))
    for k in keys:
        row = f"{k:<34}"
        for n in names:
            v = results[n].get(k)
            row += f"{'-':>12}" if v is None else (f"{v:>12.0f}" if "kB" in k else f"{v:>12.3f}")
        for n in names:
            if n == "berth":
                continue
            v, b = results[n].get(k), ref.get(k)
            row += f" {b / v:>16.2f}" if v and b else f" {'-':>16}"
        print(row)


if __name__ == "__main__":
    main()
