"""Driving the `berth` CLI in tests: each Berth has its own data root and client config dir, so
tests never share images or credentials. The CLI is an API client: a Berth made with
Berth.with_daemon() owns a berthd (daemon.py's Daemon) on its data root and sends every command
to it; records(), blobs(), snapshots() and scratch() read what that daemon wrote."""

import json
import os
import subprocess
from pathlib import Path

from daemon import Daemon
from helpers import REPO, Result, mounts_under

BUILD = Path(os.environ.get("BERTH_BUILD", REPO / "build"))
BERTH = os.environ.get("BERTH_CLI", str(BUILD / "src/cli/berth"))
DEFAULT_TIMEOUT = 120


class Berth:
    def __init__(self, root, config=None, env=None, driver=None):
        self.root = Path(root)
        self.config = Path(config) if config else self.root.parent / (self.root.name + "-config")
        self.env = dict(os.environ)
        self.env.pop("BERTH_STORAGE_DRIVER", None)
        if driver:
            self.env["BERTH_STORAGE_DRIVER"] = driver
        self.env.update(env or {})
        self.daemon = None

    @classmethod
    def with_daemon(cls, driver=None, env=None):
        """A Berth talking to a berthd of its own, started now on a fresh data root (with
        --storage-driver driver when given; berthd inherits this process's environment).
        close() stops it and fails when its log holds a sanitizer report."""
        d = Daemon(["--storage-driver", driver] if driver else [])
        try:
            d.start()
        except BaseException:
            d.cleanup()
            raise
        b = cls(d.root, config=d.dir / "berth-config", env=env)
        b.daemon = d
        return b.container_env(d.sock)

    def close(self):
        if self.daemon is not None:
            d, self.daemon = self.daemon, None
            d.cleanup()

    def argv(self, *args):
        return [BERTH, "--root", str(self.root), "--config", str(self.config), *map(str, args)]

    def __call__(self, *args, input=None, timeout=DEFAULT_TIMEOUT):
        p = subprocess.run(self.argv(*args), input=input, capture_output=True,
                           timeout=timeout, env=self.env)
        return Result(p.returncode, p.stdout.decode(errors="replace"),
                      p.stderr.decode(errors="replace"))

    def popen(self, *args, **kw):
        return subprocess.Popen(self.argv(*args), env=self.env, **kw)

    def pty(self, *args, script=(), timeout=30, size=None):
        """Runs berth on a new pseudo-terminal (of size (rows, cols) if given): script is
        (expected, reply) pairs, each reply typed once its expected bytes have appeared in the
        output; a reply (rows, cols) resizes the terminal instead. Returns (rc, output); a run
        past timeout is killed (rc -9)."""
        import fcntl
        import pty
        import select
        import struct
        import termios
        import time
        pid, fd = pty.fork()
        if pid == 0:
            try:
                if size:
                    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
                os.execve(BERTH, self.argv(*args), self.env)
            finally:
                os._exit(127)
        out, step = b"", 0
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if step < len(script) and script[step][0] in out:
                    time.sleep(0.2)
                    reply = script[step][1]
                    if isinstance(reply, tuple):
                        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", *reply, 0, 0))
                    else:
                        os.write(fd, reply)
                    step += 1
                ready, _, _ = select.select([fd], [], [], 0.1)
                if not ready:
                    continue
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                out += data
            else:
                os.kill(pid, 9)
            _, status = os.waitpid(pid, 0)
        finally:
            os.close(fd)
        return os.waitstatus_to_exitcode(status), out.decode(errors="replace")

    def container_env(self, sock):
        """This Berth pointed at a daemon's socket (BERTH_HOST)."""
        self.env["BERTH_HOST"] = f"unix://{sock}"
        return self

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.rc == 0, f"berth {' '.join(map(str, args))} failed: {r}"
        return r

    def fails(self, *args, **kw):
        r = self(*args, **kw)
        assert r.rc != 0, f"berth {' '.join(map(str, args))} unexpectedly succeeded: {r}"
        assert r.err.strip(), f"failure without a message on stderr: {r}"
        return r

    def images_json(self):
        """The images as `berth image inspect` reports them, for every image ID listed."""
        ids = self.ok("images", "-q", "--no-trunc").out.split()
        if not ids:
            return []
        return json.loads(self.ok("image", "inspect", *sorted(set(ids))).out)

    def records(self):
        p = self.root / "images/images.json"
        return json.loads(p.read_text())["images"] if p.exists() else []

    def blobs(self):
        d = self.root / "content/blobs/sha256"
        return {"sha256:" + p.name for p in d.iterdir()} if d.is_dir() else set()

    def snapshots(self):
        d = self.root / "snapshots"
        if not d.is_dir():
            return set()
        return {"sha256:" + p.name for p in d.iterdir()
                if len(p.name) == 64 and (p / "meta.json").exists()}

    def wait_collected(self, blob, timeout=10.0):
        """berthd frees what a removal left unused on a thread of its own, after answering: waits
        until blob is gone, then for that collection to end (it holds images/gc.lock
        exclusively while it runs)."""
        import fcntl
        import time
        deadline = time.monotonic() + timeout
        while blob in self.blobs():
            assert time.monotonic() < deadline, f"{blob} was not collected in {timeout} s"
            time.sleep(0.05)
        with open(self.root / "images/gc.lock", "rb") as f:
            fcntl.flock(f, fcntl.LOCK_SH)

    def scratch(self):
        """Work left in progress: scratch dirs and partial snapshots."""
        left = []
        for sub in ("tmp", "snapshots/tmp"):
            d = self.root / sub
            if d.is_dir():
                left += [str(p) for p in d.iterdir()]
        return left

    def mount(self, image):
        return Path(self.ok("image", "mount", image).out.strip())

    def unmount(self, image):
        info = json.loads(self.ok("image", "inspect", image).out)[0]
        self.ok("image", "unmount", image)
        mnt = self.root / "mounts" / info["Id"].split(":")[1]
        # os.path.ismount misses a bind mount from the same filesystem; mountinfo does not.
        assert not mounts_under(mnt), f"{mnt} is still mounted"


class Berths:
    """Berths with daemons of their own, made on demand (arguments as Berth.with_daemon) and
    all closed by close(): a fixture's way to give a test one or several."""

    def __init__(self):
        self.made = []

    def __call__(self, **kw):
        b = Berth.with_daemon(**kw)
        self.made.append(b)
        return b

    def close(self):
        errors = []
        for b in reversed(self.made):
            try:
                b.close()
            except AssertionError as e:
                errors.append(str(e))
        self.made = []
        if errors:
            raise AssertionError("\n".join(errors))


def check_rootfs(berth, ref, img):
    """Mounts the image and compares what it shows with what its layers say."""
    import ocimage
    mnt = berth.mount(ref)
    try:
        diffs = ocimage.compare_rootfs(mnt, img.flatten())
        assert not diffs, "\n".join(diffs[:20])
    finally:
        berth.unmount(ref)
