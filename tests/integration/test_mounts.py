"""`mounts`, root.readonly, maskedPaths, readonlyPaths and rootfsPropagation, checked through the
container's own /proc/self/mountinfo and by trying to write."""

import os
import shutil

import pytest

from helpers import assert_no_leftovers, mounts_under, parse_json_output, sh


def mounts_of(rt, bundle, cid):
    return rt.run_helper(bundle, "mounts", cid=cid)["mounts"]


def mount_at(mounts, target):
    """The top-most mount at `target` (the last one listed wins, as in path lookup)."""
    hits = [m for m in mounts if m["target"] == target]
    assert hits, f"nothing mounted at {target}: {[m['target'] for m in mounts]}"
    return hits[-1]


def helper_result(rt, bundle, cid, *args):
    return rt.run_helper(bundle, *args, cid=cid)


def test_default_mounts(rt, bundle, cid):
    mounts = mounts_of(rt, bundle, cid)
    assert mount_at(mounts, "/proc")["fstype"] == "proc"
    dev = mount_at(mounts, "/dev")
    assert dev["fstype"] == "tmpfs" and "nosuid" in dev["options"]
    assert "mode=755" in dev["super_options"]
    pts = mount_at(mounts, "/dev/pts")
    assert pts["fstype"] == "devpts"
    assert "ptmxmode=666" in pts["super_options"] and "mode=620" in pts["super_options"]
    assert "gid=5" in pts["super_options"]
    shm = mount_at(mounts, "/dev/shm")
    assert shm["fstype"] == "tmpfs"
    assert {"nosuid", "noexec", "nodev"} <= set(shm["options"])
    assert "size=65536k" in shm["super_options"]
    assert mount_at(mounts, "/dev/mqueue")["fstype"] == "mqueue"
    sysfs = mount_at(mounts, "/sys")
    assert sysfs["fstype"] == "sysfs" and "ro" in sysfs["options"]
    root = mount_at(mounts, "/")
    assert "ro" in root["options"]


def test_cgroup_mount_is_readonly_and_shows_own_cgroup(rt, bundle, cid):
    mounts = mounts_of(rt, bundle, cid)
    cg = [m for m in mounts if m["target"].startswith("/sys/fs/cgroup")
          and m["fstype"] in ("cgroup", "cgroup2")]
    assert cg, "no cgroup filesystem under /sys/fs/cgroup"
    for m in cg:
        assert "ro" in m["options"], m
        # The container sees its own cgroup, not the host's root hierarchy.
        assert m["root"] != "/" or m["fstype"] == "cgroup2", m
    bundle.helper("open-write", "/sys/fs/cgroup/pids/pids.max")
    if any(m["target"] == "/sys/fs/cgroup/pids" for m in cg):
        rep = rt.run_helper(bundle, cid=cid + "-w")
        assert rep["open"]["error"] == "EROFS"


@pytest.mark.known_failure("runc", "runc 1.1.5 chmods a tmpfs mount point back to the mode of "
                           "the directory under it (0755), overriding mode=")
def test_tmpfs_with_options(rt, bundle, cid):
    bundle.add_mount("/scratch", "tmpfs", "tmpfs",
                     ["nosuid", "noexec", "nodev", "size=1m", "mode=0700", "uid=1000",
                      "gid=1000"])
    m = mount_at(mounts_of(rt, bundle, cid), "/scratch")
    assert m["fstype"] == "tmpfs"
    assert {"nosuid", "noexec", "nodev"} <= set(m["options"])
    assert {"size=1024k", "mode=700", "uid=1000", "gid=1000"} <= set(m["super_options"])
    st = rt.run_helper(bundle, "stat", "/scratch", cid=cid + "-s")
    assert (st["mode"], st["uid"], st["gid"]) == ("0700", 1000, 1000)


def test_mount_destination_is_created(rt, bundle, cid):
    bundle.add_mount("/new/deep/dir", "tmpfs", "tmpfs", ["size=1m"])
    mount_at(mounts_of(rt, bundle, cid), "/new/deep/dir")
    assert (bundle.rootfs / "new/deep/dir").is_dir()


def test_bind_mount_readonly(rt, bundle, cid, test_dir):
    host = test_dir / "hostdata"
    host.mkdir()
    (host / "file").write_text("from-host")
    bundle.add_mount("/data", "bind", host, ["rbind", "ro"])
    rep = helper_result(rt, bundle, cid, "read", "/data/file")
    assert rep["data"] == "from-host"
    rep = helper_result(rt, bundle, cid + "-w", "write", "/data/file", "changed")
    assert rep["error"] == "EROFS"
    assert (host / "file").read_text() == "from-host"
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_bind_mount_readwrite(rt, bundle, cid, test_dir):
    host = test_dir / "hostdata"
    host.mkdir()
    bundle.add_mount("/data", "none", host, ["rbind", "rw"])
    rep = helper_result(rt, bundle, cid, "write", "/data/out", "from-container")
    assert rep["ok"] is True
    assert (host / "out").read_text() == "from-container"


def test_bind_mount_single_file(rt, bundle, cid, test_dir):
    f = test_dir / "single"
    f.write_text("one file")
    bundle.add_mount("/etc/single", "bind", f, ["bind", "ro"])
    rep = helper_result(rt, bundle, cid, "read", "/etc/single")
    assert rep["data"] == "one file"
    st = helper_result(rt, bundle, cid + "-s", "stat", "/etc/single")
    assert st["type"] == "file"


def test_bind_mount_flags(rt, bundle, cid, test_dir):
    host = test_dir / "hostdata"
    host.mkdir()
    bundle.add_mount("/data", "bind", host, ["rbind", "nosuid", "nodev", "noexec"])
    m = mount_at(mounts_of(rt, bundle, cid), "/data")
    assert {"nosuid", "nodev", "noexec"} <= set(m["options"])


def test_bind_mount_missing_source_fails(rt, bundle, cid, test_dir):
    bundle.add_mount("/data", "bind", test_dir / "does-not-exist", ["rbind"])
    rt.fails("run", "--bundle", bundle, cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_nested_mounts_in_order(rt, bundle, cid):
    bundle.add_mount("/outer", "tmpfs", "tmpfs", ["size=1m"])
    bundle.add_mount("/outer/inner", "tmpfs", "tmpfs", ["size=2m"])
    mounts = mounts_of(rt, bundle, cid)
    outer, inner = mount_at(mounts, "/outer"), mount_at(mounts, "/outer/inner")
    assert inner["parent"] == outer["id"]
    assert "size=2048k" in inner["super_options"]


def test_proc_sysfs_mqueue_devpts_extra(rt, bundle, cid):
    bundle.add_mount("/proc2", "proc", "proc", ["nosuid", "noexec", "nodev"])
    bundle.add_mount("/mq2", "mqueue", "mqueue")
    mounts = mounts_of(rt, bundle, cid)
    assert mount_at(mounts, "/proc2")["fstype"] == "proc"
    assert mount_at(mounts, "/mq2")["fstype"] == "mqueue"


def test_readonly_root(rt, bundle, cid):
    rep = helper_result(rt, bundle, cid, "write", "/newfile", "x")
    assert rep["error"] == "EROFS"
    assert not (bundle.rootfs / "newfile").exists()


def test_writable_root(rt, bundle, cid):
    bundle.writable()
    rep = helper_result(rt, bundle, cid, "write", "/newfile", "x")
    assert rep["ok"] is True
    assert (bundle.rootfs / "newfile").read_text() == "x"
    m = mount_at(mounts_of(rt, bundle, cid + "-m"), "/")
    assert "rw" in m["options"]


def test_readonly_root_keeps_writable_mounts(rt, bundle, cid):
    bundle.add_mount("/tmp", "tmpfs", "tmpfs", ["size=1m"])
    rep = helper_result(rt, bundle, cid, "write", "/tmp/x", "x")
    assert rep["ok"] is True
    rep = helper_result(rt, bundle, cid + "-d", "write", "/dev/shm/x", "x")
    assert rep["ok"] is True


@pytest.mark.parametrize("path", ["/proc/kcore", "/proc/keys", "/proc/timer_list"])
def test_masked_file_reads_empty(rt, bundle, cid, path):
    if not os.path.exists(path):
        pytest.skip(f"this kernel has no {path}")
    st = helper_result(rt, bundle, cid, "stat", path)
    # A masked file is /dev/null bound over it.
    assert (st["type"], st["major"], st["minor"]) == ("char", 1, 3)
    assert helper_result(rt, bundle, cid + "-r", "read", path)["data"] == ""


def test_masked_directory_is_empty(rt, bundle, cid):
    m = mount_at(mounts_of(rt, bundle, cid), "/sys/firmware")
    assert "ro" in m["options"]
    bundle.args("ls", "-A", "/sys/firmware")
    assert rt.ok("run", "--bundle", bundle, cid + "-ls").out.strip() == ""


def test_custom_masked_paths(rt, bundle, cid):
    (bundle.rootfs / "etc/secret").write_text("s3cret")
    (bundle.rootfs / "secretdir").mkdir()
    (bundle.rootfs / "secretdir/inside").write_text("hidden")
    bundle.linux["maskedPaths"] += ["/etc/secret", "/secretdir", "/does/not/exist"]
    assert helper_result(rt, bundle, cid, "read", "/etc/secret")["data"] == ""
    rep = helper_result(rt, bundle, cid + "-d", "read", "/secretdir/inside")
    assert rep["error"] == "ENOENT"


def test_readonly_paths(rt, bundle, cid):
    rep = helper_result(rt, bundle, cid, "open-write", "/proc/sys/kernel/hostname")
    assert rep["open"]["error"] == "EROFS"
    m = mount_at(mounts_of(rt, bundle, cid + "-m"), "/proc/sys")
    assert "ro" in m["options"]


def test_custom_readonly_path_on_writable_root(rt, bundle, cid):
    bundle.writable()
    (bundle.rootfs / "rodir").mkdir()
    bundle.linux["readonlyPaths"].append("/rodir")
    rep = helper_result(rt, bundle, cid, "write", "/rodir/x", "x")
    assert rep["error"] == "EROFS"
    rep = helper_result(rt, bundle, cid + "-2", "write", "/elsewhere", "x")
    assert rep["ok"] is True


def test_without_masked_paths_keys_is_real(rt, bundle, cid):
    bundle.linux["maskedPaths"] = []
    st = helper_result(rt, bundle, cid, "stat", "/proc/keys")
    assert st["type"] == "file"


@pytest.fixture
def rootfs_on_shared_mount(bundle, test_dir):
    """The bundle's rootfs moved onto a host mount that is shared: propagation modes are only
    observable when the rootfs sits on a shared mount (making a private mount a slave leaves
    it private), and this host's / is private."""
    mnt = test_dir / "sharedmnt"
    mnt.mkdir()
    sh("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt)
    try:
        sh("mount", "--make-shared", mnt)
        shutil.copytree(bundle.rootfs, mnt / "rootfs", symlinks=True)
        bundle.config["root"]["path"] = str(mnt / "rootfs")
        yield bundle
    finally:
        sh("umount", "-l", mnt, check=False)


@pytest.mark.parametrize("prop", [
    "private",
    pytest.param("slave", marks=pytest.mark.known_failure(
        ["runc", "crun"], "the rootfs ends up private: its master is lost when the runtime makes "
        "the rootfs parent private for pivot_root")),
    pytest.param("shared", marks=pytest.mark.known_failure(
        "runc", "runc 1.1.5 leaves the container's / private whatever rootfsPropagation says")),
    pytest.param("unbindable", marks=pytest.mark.known_failure(
        "runc", "runc 1.1.5 leaves the container's / private whatever rootfsPropagation says")),
])
def test_rootfs_propagation(rt, rootfs_on_shared_mount, cid, prop):
    bundle = rootfs_on_shared_mount
    bundle.linux["rootfsPropagation"] = prop
    root = mount_at(mounts_of(rt, bundle, cid), "/")
    assert root["propagation"] == prop, root


def test_rootfs_default_propagation_is_not_shared_with_host(rt, rootfs_on_shared_mount, cid):
    bundle = rootfs_on_shared_mount
    root = mount_at(mounts_of(rt, bundle, cid), "/")
    assert root["propagation"] in ("private", "slave"), root


def test_default_rootfs_propagation_does_not_leak_to_host(rt, bundle, cid):
    """Mounts made inside the container must not appear on the host."""
    bundle.all_caps(["CAP_SYS_ADMIN"])
    bundle.process["noNewPrivileges"] = True
    bundle.args("sh", "-c", "mount -t tmpfs tmpfs /tmp && echo mounted")
    r = rt.ok("run", "--bundle", bundle, cid)
    assert "mounted" in r.out
    assert mounts_under(bundle.path) == []


def test_invalid_mount_type_fails(rt, bundle, cid):
    bundle.add_mount("/x", "no-such-filesystem", "none")
    rt.fails("run", "--bundle", bundle, cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_relative_mount_destination_is_rejected_or_rooted(rt, bundle, cid, test_dir):
    # runtime-spec: destination MUST be absolute; runc 1.1 still accepts a relative one and
    # takes it as relative to the rootfs, never to the runtime's cwd.
    cwd = test_dir / "runtime-cwd"
    (cwd / "relative").mkdir(parents=True)
    bundle.add_mount("relative", "tmpfs", "tmpfs", ["size=1m"])
    bundle.helper("mounts")
    r = rt("run", "--bundle", bundle, cid, cwd=str(cwd))
    assert mounts_under(cwd) == [] and mounts_under(bundle.path) == []
    if r.rc == 0:
        mounts = parse_json_output(r.out)["mounts"]
        assert mount_at(mounts, "/relative")["fstype"] == "tmpfs"


def test_no_mounts_left_on_host_after_run(rt, bundle, cid, test_dir):
    host = test_dir / "hostdata"
    host.mkdir()
    bundle.add_mount("/data", "bind", host, ["rbind"])
    bundle.add_mount("/t", "tmpfs", "tmpfs")
    rt.run_helper(bundle, "pid", cid=cid)
    assert mounts_under(test_dir) == []
    assert_no_leftovers(rt, cid, bundle, bundle.token)
