"""Escapes a runtime must not allow: leaked fds, a cwd outside the rootfs (CVE-2024-21626), a
writable runtime binary (CVE-2019-5736), symlinked mount or device paths that point out of the
rootfs, and host devices or mounts showing through."""

import os
import time

import pytest

from helpers import (HELPER_IN_CTR, RUNTIME, assert_no_leftovers, mounts_under,
                     parse_json_output, runtime_sha256, sh, wait_file_contains)


def fd_numbers(rep):
    return sorted(f["fd"] for f in rep["fds"])


def test_only_stdio_fds_in_container(rt, bundle, cid):
    rep = rt.run_helper(bundle, "fds", cid=cid)
    assert fd_numbers(rep) == [0, 1, 2], rep


def test_runtime_fds_do_not_leak_into_container(rt, bundle, cid, test_dir):
    f = test_dir / "secret"
    f.write_text("host secret")
    bundle.helper("fds")
    argv = ["/bin/sh", "-c", 'exec "$@" 3<"$0" 5<"$0" 9<"$0"', str(f)] + rt.argv(
        "run", "--bundle", bundle, cid)
    rep = parse_json_output(sh(*argv).out)
    assert fd_numbers(rep) == [0, 1, 2], rep


def test_preserve_fds(rt, bundle, cid, test_dir):
    f = test_dir / "passed"
    f.write_text("through")
    bundle.helper("fds")
    argv = ["/bin/sh", "-c", 'exec "$@" 3<"$0" 4<"$0" 5<"$0"', str(f)] + rt.argv(
        "run", "--preserve-fds", "2", "--bundle", bundle, cid)
    rep = parse_json_output(sh(*argv).out)
    assert fd_numbers(rep) == [0, 1, 2, 3, 4], rep
    assert {x["target"] for x in rep["fds"] if x["fd"] >= 3} == {str(f)}


def test_create_start_fds(rt, bundle, cid, test_dir):
    """The init waits between create and start; whatever the runtime used to make it wait must
    be gone by the time the user process runs."""
    out = test_dir / "out"
    bundle.helper("fds")
    with open(out, "w") as o:
        rt.ok("create", "--bundle", bundle, cid, stdout=o)
    rt.ok("start", cid)
    rt.wait_status(cid, "stopped")
    rep = parse_json_output(out.read_text())
    assert fd_numbers(rep) == [0, 1, 2], rep


def test_cwd_and_root_inside_container(rt, bundle, cid):
    bundle.process["cwd"] = "/tmp"
    rep = rt.run_helper(bundle, "cwd", cid=cid, cwd=str(bundle.path))
    assert rep["cwd"] == "/tmp" and rep["proc_cwd"] == "/tmp"
    assert rep["proc_root"] == "/"


def test_exec_cwd_inside_container(rt, bundle, cid):
    bundle.args("sleep", "60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    rep = parse_json_output(rt.ok("exec", cid, HELPER_IN_CTR, "cwd", cwd="/etc").out)
    assert rep["cwd"] == "/" and rep["proc_cwd"] == "/" and rep["proc_root"] == "/"


@pytest.mark.parametrize("n", range(3, 10))
def test_cwd_via_leaked_fd_cve_2024_21626(rt, bundle, cid, n):
    """process.cwd = /proc/self/fd/N once let the container start in a host directory that the
    runtime held open. Either the runtime refuses, or the cwd is inside the container."""
    bundle.process["cwd"] = f"/proc/self/fd/{n}"
    bundle.helper("cwd")
    r = rt("run", "--bundle", bundle, cid)
    if r.rc != 0:
        return
    rep = parse_json_output(r.out)
    assert rep["cwd"] is not None, f"cwd is outside the container root: {rep}"
    assert not rep["proc_cwd"].startswith("(unreachable)"), rep


@pytest.mark.parametrize("n", range(3, 10))
def test_exec_cwd_via_leaked_fd(rt, bundle, cid, n):
    bundle.args("sleep", "60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    r = rt("exec", "--cwd", f"/proc/self/fd/{n}", cid, HELPER_IN_CTR, "cwd")
    if r.rc != 0:
        return
    rep = parse_json_output(r.out)
    assert rep["cwd"] is not None, f"cwd is outside the container root: {rep}"


def test_proc_self_exe_not_writable(rt, bundle, cid):
    before = runtime_sha256()
    bundle.args("sleep", "60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    rep = parse_json_output(rt.ok("exec", cid, HELPER_IN_CTR, "exec-self-exe").out)
    assert rep["self"]["ok"] is False and rep["init"]["ok"] is False, rep
    assert runtime_sha256() == before


@pytest.mark.time_limit(60)
def test_runtime_binary_not_writable_during_exec_cve_2019_5736(rt, bundle, cid, test_dir):
    """A watcher in the container grabs every foreign process that appears (the runtime
    entering for `exec`, and the runtime itself re-executed through a #!/proc/self/exe script)
    and tries to open its executable for writing, then again once it has exited. The host
    binary must never be writable from there, and must be unchanged."""
    host = os.stat(os.path.realpath(RUNTIME))
    before = runtime_sha256()
    (bundle.rootfs / "bin/selfexe").write_text("#!/proc/self/exe\n")
    os.chmod(bundle.rootfs / "bin/selfexe", 0o755)
    out, err = test_dir / "watch.out", test_dir / "watch.err"
    bundle.all_caps(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_DAC_OVERRIDE"])
    bundle.helper("watch-exe", "6")
    with open(out, "w") as o, open(err, "w") as e:
        rt.ok("run", "-d", "--bundle", bundle, cid, stdout=o, stderr=e)
    wait_file_contains(err, "ready")
    deadline = time.monotonic() + 4.5
    n = 0
    while time.monotonic() < deadline:
        rt("exec", cid, "/bin/selfexe", timeout=10)
        rt("exec", cid, "true", timeout=10)
        n += 1
    rt.wait_status(cid, "stopped", timeout=15)
    rep = parse_json_output(out.read_text())
    assert runtime_sha256() == before, "the runtime binary was modified"
    for s in rep["seen"]:
        is_host_binary = (s.get("dev"), s.get("ino")) == (host.st_dev, host.st_ino)
        assert not (s["open_write_ok"] and is_host_binary), s
        assert not (s.get("reopen_write_ok") and is_host_binary), s
    foreign = [s for s in rep["seen"] if s["readlink_errno"] or s["exe"] not in
               ("/bin/busybox", HELPER_IN_CTR)]
    if not foreign:
        pytest.skip(f"the watcher never caught the runtime inside the container ({n} execs, "
                    f"{rep['scans']} scans); only the checksum was checked")


def test_mount_destination_symlink_stays_inside_rootfs(rt, bundle, cid, test_dir):
    outside = test_dir / "outside"
    outside.mkdir()
    (outside / "sentinel").write_text("host")
    os.symlink(str(outside), bundle.rootfs / "evil")
    os.symlink("../../../../../../../../../../" + str(outside).lstrip("/"),
               bundle.rootfs / "evil-rel")
    bundle.add_mount("/evil", "tmpfs", "tmpfs", ["size=1m"])
    bundle.add_mount("/evil-rel", "tmpfs", "tmpfs", ["size=1m"])
    bundle.writable()
    r = rt("run", "--bundle", bundle, cid)
    # Whether the runtime refuses or mounts inside the rootfs, the host directory is untouched.
    assert mounts_under(outside) == [], mounts_under(outside)
    assert sorted(os.listdir(outside)) == ["sentinel"]
    if r.rc == 0:
        assert (bundle.rootfs / str(outside).lstrip("/")).is_dir(), \
            "the symlink target was not created inside the rootfs"
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_bind_mount_destination_symlink_stays_inside(rt, bundle, cid, test_dir):
    outside = test_dir / "outside"
    outside.mkdir()
    src = test_dir / "src"
    src.mkdir()
    (src / "payload").write_text("payload")
    os.symlink(str(outside), bundle.rootfs / "evil")
    bundle.add_mount("/evil", "bind", src, ["rbind"])
    bundle.helper("read", "/evil/payload")
    r = rt("run", "--bundle", bundle, cid)
    assert mounts_under(outside) == []
    assert os.listdir(outside) == []
    if r.rc == 0:
        assert parse_json_output(r.out)["data"] == "payload"


def test_device_path_symlink_outside_creates_nothing_outside(rt, bundle, cid, test_dir):
    outside = test_dir / "outside-dev"
    outside.mkdir()
    os.symlink(str(outside), bundle.rootfs / "devlink")
    bundle.writable()
    bundle.linux["devices"] = [{"path": "/devlink/mynull", "type": "c", "major": 1,
                                "minor": 3, "fileMode": 0o666}]
    rt("run", "--bundle", bundle, cid)
    assert os.listdir(outside) == [], "a device node was created outside the rootfs"
    assert mounts_under(outside) == []
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_device_path_dotdot_creates_nothing_outside(rt, bundle, cid, test_dir):
    bundle.writable()
    escape = "/dev/../../../../../../../.." + str(test_dir) + "/dotdot-node"
    bundle.linux["devices"] = [{"path": escape, "type": "c", "major": 1, "minor": 3,
                                "fileMode": 0o666}]
    rt("run", "--bundle", bundle, cid)
    assert not (test_dir / "dotdot-node").exists()


def test_masked_path_symlink_does_not_mask_host(rt, bundle, cid, test_dir):
    outside = test_dir / "outside-mask"
    outside.mkdir()
    (outside / "f").write_text("keep")
    os.symlink(str(outside), bundle.rootfs / "masklink")
    bundle.linux["maskedPaths"].append("/masklink")
    rt("run", "--bundle", bundle, cid)
    assert mounts_under(outside) == []
    assert (outside / "f").read_text() == "keep"


def test_container_cannot_see_host_processes(rt, bundle, cid):
    bundle.args("ls", "/proc")
    pids = [p for p in rt.ok("run", "--bundle", bundle, cid).out.split() if p.isdigit()]
    assert pids == ["1"], pids


def test_container_cannot_remount_root_rw(rt, bundle, cid):
    bundle.args("sh", "-c", "mount -o remount,rw / && echo REMOUNTED")
    r = rt("run", "--bundle", bundle, cid)
    assert "REMOUNTED" not in r.out


def test_host_root_not_reachable(rt, bundle, cid, test_dir):
    """After pivot_root the old root must be gone: the host's files are not reachable."""
    marker = test_dir / "host-marker"
    marker.write_text("host")
    bundle.args("sh", "-c", f"cat {marker} 2>/dev/null; ls /.pivot_root* /oldroot 2>/dev/null;"
                            "true")
    assert rt.ok("run", "--bundle", bundle, cid).out.strip() == ""
    mounts = rt.run_helper(bundle, "mounts", cid=cid + "-m")["mounts"]
    assert not [m for m in mounts if m["target"].startswith(str(test_dir))]


@pytest.mark.known_failure(["runc", "crun"], "their state files have other shapes; this test "
                           "edits berth-runc's")
def test_kill_never_signals_a_reused_pid(rt, bundle, cid, test_dir):
    """The container's pid now belongs to another process (simulated by pointing the state at
    a decoy that started later): the container counts as stopped and the decoy gets no
    signal, since signals go through a pidfd after the start time is checked."""
    import json
    import subprocess
    bundle.args("sleep", "60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    # Start times count clock ticks: the decoy must start at least a tick later, as a process
    # reusing the pid would.
    time.sleep(0.05)
    decoy = subprocess.Popen(["sleep", "60"])
    try:
        state_file = rt.root / cid / "state.json"
        st = json.loads(state_file.read_text())
        real_pid = st["pid"]
        st["pid"] = decoy.pid
        state_file.write_text(json.dumps(st))
        assert rt.state(cid)["status"] == "stopped"
        r = rt("kill", cid, "KILL")
        assert r.rc != 0 and "not running" in r.err
        time.sleep(0.1)
        assert decoy.poll() is None, "the decoy was signalled"
        # Put the real pid back so cleanup finds and kills the container.
        st["pid"] = real_pid
        state_file.write_text(json.dumps(st))
        rt.ok("kill", cid, "KILL")
        rt.wait_status(cid, "stopped")
        rt.ok("delete", cid)
    finally:
        decoy.kill()
        decoy.wait()
