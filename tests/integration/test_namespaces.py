"""linux.namespaces: new ones, absent ones, joined ones (by path), and user namespaces with
uid/gid mappings."""

import ctypes
import os

import pytest

from helpers import assert_no_leftovers, proc_status_field, sh, wait_for

# config.json type -> /proc/self/ns entry
NS_FILE = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt",
           "cgroup": "cgroup", "user": "user"}


def host_ns(kind):
    return os.readlink(f"/proc/self/ns/{kind}")


def test_default_namespaces_are_new(rt, bundle, cid):
    ns = rt.run_helper(bundle, "ns", cid=cid)["ns"]
    for t in ("pid", "network", "ipc", "uts", "mount"):
        assert ns[NS_FILE[t]] != host_ns(NS_FILE[t]), f"{t} namespace is the host's"
    # Not requested, so shared with the runtime's caller.
    assert ns["user"] == host_ns("user")
    assert ns["cgroup"] == host_ns("cgroup")


@pytest.mark.parametrize("kind", ["network", "ipc", "uts", "pid"])
def test_absent_namespace_is_shared_with_host(rt, bundle, cid, kind):
    bundle.drop_namespace(kind)
    if kind == "uts":
        bundle.config.pop("hostname", None)
    ns = rt.run_helper(bundle, "ns", cid=cid)["ns"]
    assert ns[NS_FILE[kind]] == host_ns(NS_FILE[kind])


def test_cgroup_namespace(rt, bundle, cid):
    bundle.namespace("cgroup")
    rep = rt.run_helper(bundle, "all", cid=cid)
    assert rep["ns"]["cgroup"] != host_ns("cgroup")
    # In its own cgroup namespace the container sees its cgroups as roots.
    assert all(c["path"] == "/" for c in rep["cgroup"]), rep["cgroup"]


def test_new_network_namespace_has_only_loopback(rt, bundle, cid):
    bundle.helper("read", "/proc/net/dev")
    data = rt.run_helper(bundle, cid=cid)["data"]
    ifaces = [line.split(":")[0].strip() for line in data.splitlines()[2:]]
    assert ifaces == ["lo"]


def test_join_network_namespace_by_path(rt, bundle, cid, netns):
    name, path = netns
    sh("ip", "netns", "exec", name, "ip", "link", "add", "berthdummy0", "type", "dummy",
       check=False)
    bundle.namespace("network", path)
    rep = rt.run_helper(bundle, "ns", cid=cid)
    assert rep["ns"]["net"] == f"net:[{os.stat(path).st_ino}]"
    bundle.helper("read", "/proc/net/dev")
    data = rt.run_helper(bundle, cid=cid + "-2")["data"]
    if sh("ip", "netns", "exec", name, "ip", "link", "show", "berthdummy0", check=False).rc == 0:
        assert "berthdummy0" in data


def test_join_namespace_of_another_container(rt, make_bundle, cid):
    first = make_bundle(["sleep", "60"])
    rt.ok("run", "-d", "--bundle", first, cid)
    pid = rt.state(cid)["pid"]
    second = make_bundle()
    second.namespace("ipc", f"/proc/{pid}/ns/ipc")
    second.namespace("uts", f"/proc/{pid}/ns/uts")
    second.config.pop("hostname", None)
    ns = rt.run_helper(second, "ns", cid=cid + "-b")["ns"]
    assert ns["ipc"] == os.readlink(f"/proc/{pid}/ns/ipc")
    assert ns["uts"] == os.readlink(f"/proc/{pid}/ns/uts")
    assert ns["net"] != os.readlink(f"/proc/{pid}/ns/net")


def test_join_pid_namespace_of_another_container(rt, make_bundle, cid):
    first = make_bundle(["sleep", "60"])
    rt.ok("run", "-d", "--bundle", first, cid)
    pid = rt.state(cid)["pid"]
    second = make_bundle()
    second.namespace("pid", f"/proc/{pid}/ns/pid")
    rep = rt.run_helper(second, "all", cid=cid + "-b")
    assert rep["ns"]["pid"] == os.readlink(f"/proc/{pid}/ns/pid")
    assert rep["pid"] != 1


def test_join_namespace_bad_path_fails(rt, bundle, cid, test_dir):
    bundle.namespace("network", test_dir / "no-such-netns")
    rt.fails("run", "--bundle", bundle, cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_join_namespace_of_wrong_type_fails(rt, bundle, cid):
    # An ipc namespace file given as the network namespace: setns(2) refuses the type.
    bundle.namespace("network", "/proc/self/ns/ipc")
    rt.fails("run", "--bundle", bundle, cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def _userns_bundle(bundle, host_base=100000, size=65536):
    bundle.namespace("user")
    bundle.linux["uidMappings"] = [{"containerID": 0, "hostID": host_base, "size": size}]
    bundle.linux["gidMappings"] = [{"containerID": 0, "hostID": host_base, "size": size}]
    return bundle


def _userns_possible():
    libc = ctypes.CDLL(None, use_errno=True)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if libc.unshare(0x10000000) == 0 else 1)  # CLONE_NEWUSER
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


needs_userns = pytest.mark.skipif(not _userns_possible(),
                                  reason="the kernel refuses user namespaces here")


@needs_userns
def test_user_namespace_mappings(rt, bundle, cid):
    _userns_bundle(bundle)
    bundle.helper("read", "/proc/self/uid_map")
    rep = rt.run_helper(bundle, cid=cid)
    assert rep["data"].split() == ["0", "100000", "65536"]
    bundle.helper("read", "/proc/self/gid_map")
    rep = rt.run_helper(bundle, cid=cid + "-g")
    assert rep["data"].split() == ["0", "100000", "65536"]


@needs_userns
def test_user_namespace_ids_inside_and_outside(rt, bundle, cid):
    _userns_bundle(bundle)
    bundle.process["user"] = {"uid": 1000, "gid": 1000}
    bundle.args("sleep", "60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    pid = rt.state(cid)["pid"]
    assert proc_status_field(pid, "Uid").split()[0] == "101000"
    assert proc_status_field(pid, "Gid").split()[0] == "101000"
    assert os.readlink(f"/proc/{pid}/ns/user") != host_ns("user")
    rep = rt.run_helper(_userns_bundle(bundle), "id", cid=cid + "-id")
    assert (rep["uid"], rep["gid"]) == (1000, 1000)


@needs_userns
def test_user_namespace_root_has_full_caps_only_inside(rt, bundle, cid):
    _userns_bundle(bundle)
    bundle.all_caps(["CAP_SYS_ADMIN", "CAP_NET_ADMIN"])
    bundle.helper("try-syscall", "sethostname:inside")
    rep = rt.run_helper(bundle, cid=cid)
    assert rep["syscalls"][0]["ok"] is True


@needs_userns
def test_user_namespace_rootfs_owned_by_host_root_is_overflow(rt, bundle, cid):
    _userns_bundle(bundle)
    rep = rt.run_helper(bundle, "stat", "/bin/busybox", cid=cid)
    assert rep["uid"] == 65534 and rep["gid"] == 65534


@needs_userns
def test_user_namespace_cleanup(rt, bundle, cid):
    _userns_bundle(bundle)
    bundle.args("sleep", "60")
    rt.ok("run", "-d", "--bundle", bundle, cid)
    pid = rt.state(cid)["pid"]
    rt.ok("delete", "--force", cid)
    wait_for(lambda: proc_status_field(pid, "State") is None, what="init gone")
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_unknown_namespace_type_fails(rt, bundle, cid):
    bundle.linux["namespaces"].append({"type": "bogus"})
    rt.fails("run", "--bundle", bundle, cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)


@pytest.mark.known_failure("crun", "crun 1.8.1 accepts a namespace type listed twice")
def test_duplicate_namespace_fails(rt, bundle, cid):
    bundle.linux["namespaces"].append({"type": "pid"})
    rt.fails("run", "--bundle", bundle, cid)
    assert_no_leftovers(rt, cid, bundle, bundle.token)
