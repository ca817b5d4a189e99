"""Default devices, linux.devices, the devices cgroup, and linux.sysctl."""

import os
from contextlib import contextmanager

import pytest

from helpers import assert_no_leftovers

# runtime-spec config-linux.md "Default Devices"
DEFAULT_DEVICES = {"/dev/null": (1, 3), "/dev/zero": (1, 5), "/dev/full": (1, 7),
                   "/dev/random": (1, 8), "/dev/urandom": (1, 9), "/dev/tty": (5, 0)}


def stat_in(rt, bundle, cid, path):
    return rt.run_helper(bundle, "stat", path, cid=cid)


@pytest.mark.parametrize("path", sorted(DEFAULT_DEVICES))
def test_default_device(rt, bundle, cid, path):
    st = stat_in(rt, bundle, cid, path)
    assert st["type"] == "char"
    assert (st["major"], st["minor"]) == DEFAULT_DEVICES[path]
    assert st["mode"] == "0666"


@pytest.mark.parametrize("path,target", [("/dev/fd", "/proc/self/fd"),
                                         ("/dev/stdin", "/proc/self/fd/0"),
                                         ("/dev/stdout", "/proc/self/fd/1"),
                                         ("/dev/stderr", "/proc/self/fd/2"),
                                         ("/dev/ptmx", "pts/ptmx")])
def test_default_symlinks(rt, bundle, cid, path, target):
    st = stat_in(rt, bundle, cid, path)
    assert st["type"] == "symlink" and st["link"] == target


def test_default_devices_usable(rt, bundle, cid):
    bundle.args("sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | wc -c && "
                "head -c 8 /dev/urandom | wc -c")
    assert rt.ok("run", "--bundle", bundle, cid).out.split() == ["4", "8"]


def test_no_host_devices_leak(rt, bundle, cid):
    bundle.args("ls", "/dev")
    names = set(rt.ok("run", "--bundle", bundle, cid).out.split())
    assert not names & {"vda", "sda", "kmsg", "mem", "kvm", "loop0"}, names


def test_linux_devices_created(rt, bundle, cid):
    bundle.linux["devices"] = [
        {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640,
         "uid": 1000, "gid": 1001},
        {"path": "/dev/myblk", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600,
         "uid": 0, "gid": 0},
        {"path": "/dev/sub/dir/myfifo", "type": "p", "fileMode": 0o644},
    ]
    st = stat_in(rt, bundle, cid, "/dev/mynull")
    assert (st["type"], st["major"], st["minor"]) == ("char", 1, 3)
    assert (st["mode"], st["uid"], st["gid"]) == ("0640", 1000, 1001)
    st = stat_in(rt, bundle, cid + "-b", "/dev/myblk")
    assert (st["type"], st["major"], st["minor"], st["mode"]) == ("block", 7, 200, "0600")
    st = stat_in(rt, bundle, cid + "-p", "/dev/sub/dir/myfifo")
    assert (st["type"], st["mode"]) == ("fifo", "0644")


# Major 42 is reserved for demos and has no driver: opening such a node fails with ENXIO once
# the devices cgroup lets it through, and with EPERM while the cgroup denies it.
MKNOD_AND_OPEN = "mknod /dev/nodrv c 42 42 && cat /dev/nodrv"


def test_devices_cgroup_denies_unlisted_device(rt, bundle, cid):
    bundle.resources()["devices"] = [{"allow": False, "access": "rwm"}]
    bundle.all_caps(["CAP_MKNOD"])
    bundle.args("sh", "-c", MKNOD_AND_OPEN)
    r = rt("run", "--bundle", bundle, cid)
    assert r.rc != 0 and "Operation not permitted" in r.err, r


def test_devices_cgroup_allow_rule(rt, bundle, cid):
    bundle.resources()["devices"] = [{"allow": False, "access": "rwm"},
                                     {"allow": True, "type": "c", "major": 42, "minor": 42,
                                      "access": "rwm"}]
    bundle.all_caps(["CAP_MKNOD"])
    bundle.args("sh", "-c", MKNOD_AND_OPEN)
    r = rt("run", "--bundle", bundle, cid)
    assert r.rc != 0 and "No such device or address" in r.err, r


def test_device_path_outside_dev(rt, bundle, cid):
    bundle.writable()
    bundle.linux["devices"] = [{"path": "/opt/mydev", "type": "c", "major": 1, "minor": 3,
                                "fileMode": 0o600}]
    st = stat_in(rt, bundle, cid, "/opt/mydev")
    assert (st["type"], st["major"], st["minor"]) == ("char", 1, 3)


@pytest.mark.known_failure("crun", "crun 1.8.1 accepts a device of unknown type")
def test_device_invalid_type_fails(rt, bundle, cid):
    bundle.linux["devices"] = [{"path": "/dev/bad", "type": "x", "major": 1, "minor": 3}]
    rt.fails("run", "--bundle", bundle, cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def _host_sysctl(key):
    with open("/proc/sys/" + key.replace(".", "/")) as f:
        return f.read().strip()


@contextmanager
def host_keeps(requested):
    """Fails if a sysctl the container asked for shows up on the host, and puts the host's value
    back. Only a host value equal to the requested one counts (and is restored): the host is
    shared, and other software may change these settings meanwhile."""
    before = {k: _host_sysctl(k) for k in requested}
    try:
        yield
    finally:
        leaked = {}
        for k, v in requested.items():
            now = _host_sysctl(k)
            if now != before[k] and now == v:
                leaked[k] = (before[k], now)
                with open("/proc/sys/" + k.replace(".", "/"), "w") as f:
                    f.write(before[k])
        assert not leaked, f"container sysctls reached the host (restored): {leaked}"


def test_sysctl_in_new_network_namespace(rt, bundle, cid):
    want = {"net.ipv4.ip_default_ttl": "42", "net.ipv4.conf.all.rp_filter": "2"}
    bundle.linux["sysctl"] = want
    with host_keeps(want):
        bundle.helper("sysctl", "net.ipv4.ip_default_ttl")
        assert rt.run_helper(bundle, cid=cid)["value"] == "42"
        bundle.helper("sysctl", "net.ipv4.conf.all.rp_filter")
        assert rt.run_helper(bundle, cid=cid + "-2")["value"] == "2"


def test_sysctl_ipc_namespace(rt, bundle, cid):
    want = {"kernel.shm_rmid_forced": "0" if _host_sysctl("kernel.shm_rmid_forced") == "1"
            else "1", "kernel.msgmax": "4096"}
    bundle.linux["sysctl"] = want
    with host_keeps(want):
        bundle.helper("sysctl", "kernel.shm_rmid_forced")
        assert rt.run_helper(bundle, cid=cid)["value"] == want["kernel.shm_rmid_forced"]
        bundle.helper("sysctl", "kernel.msgmax")
        assert rt.run_helper(bundle, cid=cid + "-2")["value"] == "4096"


def test_sysctl_network_without_netns_fails(rt, bundle, cid):
    """net.* sysctls are only namespaced with a network namespace; the runtime must refuse to
    change the host's. The value asked for is the host's own, so a runtime that wrongly applies
    it changes nothing."""
    bundle.drop_namespace("network")
    bundle.linux["sysctl"] = {"net.ipv4.ip_forward": _host_sysctl("net.ipv4.ip_forward")}
    rt.fails("run", "--bundle", bundle, cid)


def test_sysctl_not_namespaced_fails(rt, bundle, cid):
    bundle.linux["sysctl"] = {"vm.swappiness": _host_sysctl("vm.swappiness")}
    rt.fails("run", "--bundle", bundle, cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_sysctl_unknown_key_fails(rt, bundle, cid):
    bundle.linux["sysctl"] = {"net.ipv4.not_a_key": "1"}
    rt.fails("run", "--bundle", bundle, cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_sysctl_path_traversal_refused(rt, bundle, cid):
    # A key with slashes or dots that climb out of /proc/sys must not write anywhere else.
    bundle.linux["sysctl"] = {"net/../../../proc/self/oom_score_adj": "500"}
    before = open("/proc/self/oom_score_adj").read()
    rt("run", "--bundle", bundle, cid)
    assert open("/proc/self/oom_score_adj").read() == before
    assert os.path.exists("/proc/sys/net")
