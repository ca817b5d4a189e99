"""How berthd runs the OCI runtime and removes containers: it executes a sealed in-memory copy
of the runtime (so berth-runc skips making its own, CVE-2019-5736) that follows the file at
--runtime when it is replaced, and it finishes a removal's file deletion after announcing it,
emptying at start whatever a crash left of one."""

import os

import pytest

from daemon import EXTERNAL, RUNC, Daemon, poll_until as wait_for, unique_name

pytestmark = pytest.mark.skipif(EXTERNAL is not None, reason="needs a berthd of its own")

WRAPPER = """#!/bin/sh
# a runtime that says how it was executed ($0: the file the kernel ran) and which version of
# this file ran, then hands over to the real runtime
echo "{tag} $0 $*" >> {log}
exec {runc} "$@"
"""


def write_wrapper(path, tag, log):
    tmp = path.with_suffix(".new")
    tmp.write_text(WRAPPER.format(tag=tag, log=log, runc=RUNC))
    tmp.chmod(0o755)
    os.rename(tmp, path)  # replaced as package managers do: a new file at the same path


@pytest.fixture
def wrapped(tmp_path):
    import ocimage
    rt = tmp_path / "runtime"
    log = tmp_path / "runtime.log"
    write_wrapper(rt, "v1", log)
    d = Daemon(extra_args=("--runtime", str(rt)))
    try:
        d.start()
        d.load_image(ocimage.busybox_image(), "busybox:latest")
        yield d, rt, log
    finally:
        d.cleanup()


def creates(log):
    return [line.split() for line in log.read_text().splitlines() if " create " in line]


def test_runtime_runs_from_the_daemons_sealed_copy_and_follows_a_replaced_file(wrapped):
    d, rt, log = wrapped
    assert d.docker("run", "--rm", "busybox", "echo", "one").stdout == "one\n"
    runs = creates(log)
    assert len(runs) == 1
    tag, exe = runs[0][0], runs[0][1]
    assert tag == "v1"
    # the monitor's create executed the daemon's copy, not the file at --runtime
    assert exe.startswith(f"/proc/{d.proc.pid}/fd/"), exe
    target = os.readlink(exe)
    assert target.startswith("/memfd:berth-runtime"), target
    # nothing can write the copy
    fd = os.open(exe, os.O_WRONLY)
    try:
        with pytest.raises(PermissionError):
            os.write(fd, b"#")
    finally:
        os.close(fd)

    # exec goes through the copy too
    n = unique_name("bt-rt-")
    d.docker("run", "-d", "--name", n, "busybox", "sleep", "300")
    d.docker("exec", n, "true")
    execs = [line.split() for line in log.read_text().splitlines() if " exec " in line]
    assert execs and execs[-1][1].startswith(f"/proc/{d.proc.pid}/fd/")

    # an upgraded runtime is used from the next command on
    write_wrapper(rt, "v2", log)
    d.docker("exec", n, "true")
    assert [line.split()[0] for line in log.read_text().splitlines() if " exec " in line][-1] \
        == "v2"
    d.docker("rm", "-f", n)
    assert d.docker("run", "--rm", "busybox", "true").returncode == 0
    assert creates(log)[-1][0] == "v2"


def test_removal_leaves_nothing_and_start_empties_an_interrupted_one(daemon):
    n = unique_name("bt-rm-")
    cid = daemon.docker("create", "--name", n, "-v", "/data", "busybox", "true").stdout.strip()
    ctr_dir = daemon.root / "containers"
    assert (ctr_dir / cid).is_dir()
    daemon.docker("rm", "-v", n)
    # the files go right after the removal is announced
    assert wait_for(lambda: not any(p.name.endswith(cid) for p in ctr_dir.iterdir()))

    # what a crash between the announcement and the deletion would leave
    left = ctr_dir / (".removing-" + "ab" * 32)
    (left / "fs" / "upper" / "etc").mkdir(parents=True)
    (left / "fs" / "upper" / "etc" / "hosts").write_text("x")
    locked = left / "fs" / "work" / "work"
    locked.mkdir(parents=True)
    locked.chmod(0)  # as overlayfs leaves its work directory
    daemon.restart()
    assert not left.exists()
    assert daemon.docker("run", "--rm", "busybox", "true").returncode == 0
