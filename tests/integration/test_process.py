"""The `process` section of config.json: args, env, cwd, user, umask, rlimits, noNewPrivileges,
capabilities, oomScoreAdj, and the uts fields hostname/domainname."""

import socket

import pytest

from helpers import HELPER_IN_CTR, assert_no_leftovers, parse_json_output


def test_args_passed_verbatim(rt, bundle, cid):
    bundle.args("sh", "-c", 'printf "%s|" "$0" "$@"', "zero", "a b", "", "c*", "$HOME")
    r = rt.ok("run", "--bundle", bundle, cid)
    assert r.out == "zero|a b||c*|$HOME|"


def test_args_path_lookup_uses_process_env(rt, bundle, cid):
    bundle.process["env"] = ["PATH=/bin", bundle.token]
    bundle.args("berth-testhelper", "exit", "9")
    assert rt("run", "--bundle", bundle, cid).rc == 9


def test_env_exact(rt, bundle, cid):
    env = ["PATH=/bin:/usr/bin", "A=1", "B=with space", "C=", "EQ=a=b", bundle.token]
    bundle.process["env"] = env
    rep = rt.run_helper(bundle, "env", cid=cid)
    got = rep["env"]
    assert got[:len(env)] == env
    # runc (and others) add HOME from /etc/passwd when the config does not set it.
    assert all(e.startswith("HOME=") for e in got[len(env):]), got


def test_env_home_not_overridden(rt, bundle, cid):
    bundle.env("HOME=/custom")
    rep = rt.run_helper(bundle, "env", cid=cid)
    assert [e for e in rep["env"] if e.startswith("HOME=")] == ["HOME=/custom"]


def test_cwd(rt, bundle, cid):
    bundle.process["cwd"] = "/tmp"
    rep = rt.run_helper(bundle, "cwd", cid=cid)
    assert rep["cwd"] == "/tmp"
    assert rep["proc_cwd"] == "/tmp"


def test_cwd_created_when_missing(rt, bundle, cid):
    bundle.writable()
    bundle.process["cwd"] = "/made/by/runtime"
    rep = rt.run_helper(bundle, "cwd", cid=cid)
    assert rep["cwd"] == "/made/by/runtime"
    assert (bundle.rootfs / "made/by/runtime").is_dir()


def test_user_uid_gid_additional_gids(rt, bundle, cid):
    bundle.process["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20, 30]}
    rep = rt.run_helper(bundle, "id", cid=cid)
    assert (rep["uid"], rep["euid"], rep["suid"]) == (1000, 1000, 1000)
    assert (rep["gid"], rep["egid"], rep["sgid"]) == (1001, 1001, 1001)
    assert sorted(rep["groups"]) == [10, 20, 30]


def test_user_without_additional_gids_has_no_groups(rt, bundle, cid):
    bundle.process["user"] = {"uid": 1000, "gid": 1000}
    rep = rt.run_helper(bundle, "id", cid=cid)
    assert rep["uid"] == 1000 and rep["gid"] == 1000
    assert rep["groups"] in ([], [1000])


def test_root_user_groups(rt, bundle, cid):
    rep = rt.run_helper(bundle, "id", cid=cid)
    assert (rep["uid"], rep["gid"]) == (0, 0)
    assert rep["groups"] in ([], [0])


@pytest.mark.parametrize("mask", ["0027", "0077", "0000"])
def test_umask(rt, bundle, cid, mask):
    bundle.process["user"]["umask"] = int(mask, 8)
    assert rt.run_helper(bundle, "umask", cid=cid)["umask"] == mask


def test_default_umask_is_0022(rt, bundle, cid):
    assert rt.run_helper(bundle, "umask", cid=cid)["umask"] == "0022"


def test_rlimits(rt, bundle, cid):
    bundle.process["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 2048},
        {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_MSGQUEUE", "soft": 4096, "hard": 8192},
    ]
    rl = rt.run_helper(bundle, "rlimits", cid=cid)["rlimits"]
    assert rl["RLIMIT_NOFILE"] == {"soft": 512, "hard": 2048}
    assert rl["RLIMIT_NPROC"] == {"soft": 300, "hard": 400}
    assert rl["RLIMIT_CORE"] == {"soft": 0, "hard": 0}
    assert rl["RLIMIT_MSGQUEUE"] == {"soft": 4096, "hard": 8192}


def test_rlimit_unknown_type_fails(rt, bundle, cid):
    bundle.process["rlimits"] = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]
    rt.fails("run", "--bundle", bundle, cid)


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(rt, bundle, cid, nnp):
    bundle.process["noNewPrivileges"] = nnp
    rep = rt.run_helper(bundle, "seccomp", cid=cid)
    assert rep["no_new_privs"] == (1 if nnp else 0)


def _names(rep, which):
    return sorted(rep[which]["names"])


def test_capabilities_root_default(rt, bundle, cid):
    rep = rt.run_helper(bundle, "caps", cid=cid)
    want = sorted(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    for s in ("bounding", "effective", "permitted"):
        assert _names(rep, s) == want, s
    # runc spec lists the three as ambient too, but a capability can only be ambient when it
    # is also inheritable (prctl(2) PR_CAP_AMBIENT_RAISE), and the default has no inheritable.
    assert _names(rep, "ambient") == []
    assert _names(rep, "inheritable") == []


@pytest.mark.parametrize("nnp", [True, False])
def test_capabilities_sets_for_root(rt, bundle, cid, nnp):
    bundle.process["noNewPrivileges"] = nnp
    bundle.process["capabilities"] = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
        "effective": ["CAP_CHOWN"],
        "permitted": ["CAP_CHOWN", "CAP_KILL"],
        "inheritable": [],
        "ambient": [],
    }
    rep = rt.run_helper(bundle, "caps", cid=cid)
    assert _names(rep, "bounding") == ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]
    # execve as uid 0 grants every bounding capability (capabilities(7), "Capabilities and
    # execution of programs by root"), unless no_new_privs caps the result at the permitted set
    # held before execve. Root's effective set follows its permitted set.
    want = ["CAP_CHOWN", "CAP_KILL"] if nnp else ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]
    assert _names(rep, "permitted") == want
    assert _names(rep, "effective") == want
    assert _names(rep, "inheritable") == []
    assert _names(rep, "ambient") == []


def test_capabilities_ambient_for_non_root(rt, bundle, cid):
    bundle.process["user"] = {"uid": 1000, "gid": 1000}
    bundle.process["capabilities"] = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"],
        "effective": ["CAP_NET_RAW", "CAP_CHOWN"],
        "permitted": ["CAP_NET_RAW", "CAP_CHOWN"],
        "inheritable": ["CAP_NET_RAW"],
        "ambient": ["CAP_NET_RAW"],
    }
    rep = rt.run_helper(bundle, "caps", cid=cid)
    # A non-root execve of a file without file capabilities keeps exactly the ambient set.
    assert _names(rep, "bounding") == ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"]
    assert _names(rep, "ambient") == ["CAP_NET_RAW"]
    assert _names(rep, "inheritable") == ["CAP_NET_RAW"]
    assert _names(rep, "permitted") == ["CAP_NET_RAW"]
    assert _names(rep, "effective") == ["CAP_NET_RAW"]


def test_capabilities_non_root_without_ambient_has_none(rt, bundle, cid):
    bundle.process["user"] = {"uid": 1000, "gid": 1000}
    bundle.process["capabilities"] = {k: ["CAP_CHOWN", "CAP_NET_RAW"] for k in
                                      ("bounding", "effective", "permitted")}
    rep = rt.run_helper(bundle, "caps", cid=cid)
    assert _names(rep, "bounding") == ["CAP_CHOWN", "CAP_NET_RAW"]
    assert _names(rep, "effective") == [] and _names(rep, "permitted") == []


def test_capabilities_empty(rt, bundle, cid):
    bundle.process["capabilities"] = {k: [] for k in
                                      ("bounding", "effective", "permitted", "inheritable",
                                       "ambient")}
    rep = rt.run_helper(bundle, "caps", cid=cid)
    for s in ("bounding", "effective", "permitted", "inheritable", "ambient"):
        assert rep[s]["hex"] == "0000000000000000", s


def test_capability_enforced(rt, bundle, cid):
    """sethostname in the container's own uts namespace needs CAP_SYS_ADMIN: refused with the
    default set, allowed once the capability is granted."""
    bundle.helper("try-syscall", "sethostname:probe")
    rep = rt.run_helper(bundle, cid=cid)
    assert rep["syscalls"][0]["error"] == "EPERM"
    for s in ("bounding", "effective", "permitted"):
        bundle.process["capabilities"][s].append("CAP_SYS_ADMIN")
    rep = rt.run_helper(bundle, cid=cid + "-2")
    assert rep["syscalls"][0]["ok"] is True


@pytest.mark.known_failure("crun", "crun 1.8.1 drops an unknown capability without a warning")
def test_unknown_capability_is_a_warning(rt, bundle, cid):
    # runtime-spec 1.1 (config.md, capabilities): a capability that cannot be mapped to the
    # kernel MUST be logged as a warning, and runtimes SHOULD NOT fail.
    bundle.process["capabilities"]["bounding"].append("CAP_NOT_A_THING")
    bundle.helper("caps")
    r = rt.ok("run", "--bundle", bundle, cid)
    assert "CAP_NOT_A_THING" in r.err
    assert "CAP_NOT_A_THING" not in str(parse_json_output(r.out))


def _have_cap(bit):
    for line in open("/proc/self/status"):
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) & (1 << bit))
    return False


@pytest.mark.parametrize("adj", [500, -200, 0])
def test_oom_score_adj(rt, bundle, cid, adj):
    if adj < 0 and not _have_cap(24):
        pytest.skip("lowering oom_score_adj needs CAP_SYS_RESOURCE, which this host's root "
                    "lacks")
    bundle.process["oomScoreAdj"] = adj
    assert rt.run_helper(bundle, "oom_score_adj", cid=cid)["oom_score_adj"] == adj


def test_hostname(rt, bundle, cid):
    bundle.config["hostname"] = "berth-test"
    assert rt.run_helper(bundle, "uts", cid=cid)["hostname"] == "berth-test"


@pytest.mark.known_failure("runc", "runc 1.1.5 ignores domainname (support came in 1.2)")
def test_hostname_and_domainname(rt, bundle, cid):
    bundle.config["hostname"] = "berth-test"
    bundle.config["domainname"] = "example.org"
    rep = rt.run_helper(bundle, "uts", cid=cid)
    assert rep["hostname"] == "berth-test"
    assert rep["domainname"] == "example.org"


def test_hostname_without_uts_namespace_fails(rt, bundle, cid):
    # The host's own name, so that a runtime wrongly setting it changes nothing.
    bundle.drop_namespace("uts")
    bundle.config["hostname"] = socket.gethostname()
    rt.fails("run", "--bundle", bundle, cid)


def test_process_is_pid1_in_pid_namespace(rt, bundle, cid):
    rep = rt.run_helper(bundle, "pid", cid=cid)
    assert rep["pid"] == 1 and rep["ppid"] == 0
    # runc makes init a session leader (setsid) when it has no terminal.
    assert rep["sid"] == 1


def test_non_executable_args_fail_at_create_or_start(rt, bundle, cid):
    bundle.args("/etc/passwd")
    r = rt("run", "--bundle", bundle, cid)
    assert r.rc != 0


def test_missing_executable_fails_with_message(rt, bundle, cid):
    bundle.args("/bin/does-not-exist")
    r = rt.fails("run", "--bundle", bundle, cid)
    assert "does-not-exist" in r.err
    assert_no_leftovers(rt, cid, bundle, bundle.token)


def test_helper_runs_as_given_path(rt, bundle, cid):
    rep = rt.run_helper(bundle, "read", "/proc/self/cmdline", cid=cid)
    assert rep["data"].split("\0")[0] == HELPER_IN_CTR
